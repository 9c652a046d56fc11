"""Errors of the parity harness (no TensorFlow import)."""

from __future__ import annotations

from migrate.errors import InputError


class ParityInputError(InputError):
    """Unusable input to the harness (exit code 2): a missing file, another architecture, a bad option."""
