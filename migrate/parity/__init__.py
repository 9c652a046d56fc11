"""Prove that the Keras port computes what the legacy TF1 model computed.

- `compare(expected, actual, mask=None, rtol=None, atol=None, name=..., logits=False)` ->
  `ParityResult` (truthy when within tolerance; `.message` in the style of
  `torch.testing.assert_close`); `assert_parity(...)` raises `ParityError` on failure.
- `default_tolerance(dtype)`, `DEFAULT_TOLERANCES`, `STEP_TOLERANCES`: the defaults and their sources.
- `migrate.parity.harness`: legacy checkpoint vs Keras model on the same batches (weights, logits, loss,
  gradients, weights after K Adam steps, greedy ids): `run_parity`, `ParityPair`; imports TensorFlow.
- `migrate.parity.report`: `ParityReport` (table, JSON, JUnit XML).
- `migrate.parity.diagnose`: names the known conversion mistake behind a weight mismatch.
- `migrate.parity.mutations`: those mistakes, injectable, for proving a check bites.
- `migrate.parity.pytest_plugin`: the `parity` fixture for users' own CI.
- `python -m migrate.parity.measure_tolerances`: the measurement behind the default tolerances.

Importing this package does not import TensorFlow.
"""

from migrate.parity.compare import NonFinite, ParityError, ParityResult, assert_parity, compare, format_result
from migrate.parity.tolerances import (
    DEFAULT_TOLERANCES,
    GPU_TF32_TOLERANCE,
    STEP_TOLERANCES,
    default_tolerance,
)

__all__ = [
    "DEFAULT_TOLERANCES", "GPU_TF32_TOLERANCE", "NonFinite", "ParityError", "ParityResult", "STEP_TOLERANCES",
    "assert_parity", "compare", "default_tolerance", "format_result",
]
