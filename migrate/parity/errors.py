"""Errors of the parity harness (no TensorFlow import)."""

from __future__ import annotations

from migrate.errors import InputError


class ParityInputError(InputError):
    """Unusable input to the harness (exit code 2): a missing file, another architecture, a bad option."""


class InputsRejected(ParityInputError):
    """The TF1 graph itself refused the batch it was fed (exit code 2; `graph_inputs.rejected` words it).
    `generated`: the batch was generated, not the user's, so another generated batch may be tried."""

    def __init__(self, message: str, generated: bool):
        super().__init__(message)
        self.generated = generated
