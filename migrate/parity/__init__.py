"""Prove that a Keras model computes what a TF1 model computed.

- `compare(expected, actual, mask=None, rtol=None, atol=None, name=..., logits=False)` ->
  `ParityResult` (truthy when within tolerance; `.message` in the style of
  `torch.testing.assert_close`); `assert_parity(...)` raises `ParityError` on failure.
- `default_tolerance(dtype)`, `DEFAULT_TOLERANCES`, `STEP_TOLERANCES`: the defaults and their sources.
- `migrate.parity.harness`: the one harness. `run_graph_parity(tf1, keras, mapping=...)`: any TF1 model's
  `.meta` graph vs the user's Keras model (`tf-migrate parity --tf1`); `run_parity(legacy, keras)`: this
  repo's legacy checkpoint vs its port (weights, logits, loss, gradients, weights after K Adam steps,
  greedy ids), `ParityPair`; both end in `run_checks` and a `ParityReport`. Imports TensorFlow.
- `migrate.parity.tf1_graph.TF1Graph`: a checkpoint's `.meta` graph, imported and restored (placeholders,
  id ranges, run). `migrate.parity.graph_inputs`: generated / `.npz` feeds. `migrate.parity.graph_spec`:
  the mapping file's `[parity]` section. `migrate.parity.keras_side`, `graph_pair`: the Keras side and the
  bindings. `legacy_side`, `port_side`, `batches`: the legacy pair's sides and batches.
- `migrate.parity.backend_side`: the Keras side on JAX / PyTorch, in a child process without TensorFlow
  (`--backend jax|torch`).
- `migrate.parity.checks`: one class per check (Pair style), each `compare()` -> tagged `ParityResult`s.
- `migrate.parity.report`: `ParityReport` (table, JSON with schema/version, JUnit XML).
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
