"""Default tolerances of `migrate.parity.compare`, per dtype, with where each number comes from.

An element passes when `|actual - expected| <= atol + rtol * |expected|`.

| dtype    | rtol | atol | source / measurement                                                     |
|----------|------|------|--------------------------------------------------------------------------|
| float64  | 1e-7 | 1e-7 | torch.testing.assert_close's float64 default                             |
| float32  | 1e-6 | 1e-5 | TF migration guide ("validate_correctness": rtol=1e-6, atol=1e-5);        |
|          |      |      | measured legacy-vs-port logits gap on CPU: <= 1.9e-6 over 200 random     |
|          |      |      | recurrences, 2.9e-6 on a trained 32-unit model; smallest bug 1.7e-2       |
| float16  | 1e-3 | 1e-5 | torch.testing's float16 default (10-bit mantissa, eps 9.8e-4)             |
| bfloat16 | 1.6e-2 | 1e-5 | torch.testing's bfloat16 default (7-bit mantissa, eps 7.8e-3)           |

Logits from the harness get `atol >= 1e-5 * max |legacy logit|` at valid positions
(`OUTPUT_SCALE_FRACTION`; the graph path's output tensors get the same): float32 error is relative to the size of what is
accumulated, and a trained model's logits reach 50+ (measured: the demo's model, max |logit| 57.5, gap
6.5e-5 = 1.1e-6 x scale). Checks after a backward pass use `STEP_TOLERANCES`. Weights after K Adam steps also get, per element, the Adam
error bound (`migrate.parity.adam_bound`, derived in docs/parity.md): how far two correct runs drift apart when
their gradients differ by float32 noise. Its measured inputs are scaled by safety factors: the port's gradient
noise measured element by element at the legacy's weights of each step (x `ADAM_NOISE_FACTOR`, floored at
`ADAM_NOISE_FLOOR` x the variable's largest) and the gradient change a drift of the bound's size causes, measured
on the legacy graph along random signs (x `ADAM_PROPAGATION_FACTOR`). With 4 / 4, correct ports reached 0.08-0.21
of the bound on the converged model of tests/fixtures/converged_seq2seq (5 parity seeds) and at most 0.47 on 10
fresh demo models (0.48 a sign flip at its cap), while every optimizer mistake landed 5-600x outside it (a learning
rate 1% off: 61-205x).
8 / 8 did not lower the demo models' worst margins (sign flips, at the bound's cap) and cost power.

GPU: TensorFloat-32 (on by default for float32 matmuls on Ampere and later) rounds inputs to a 10-bit
mantissa: expect ~1e-3 relative error. Run parity with
`tf.config.experimental.enable_tensor_float_32_execution(False)`, or pass `rtol=1e-3, atol=1e-3`
(`GPU_TF32_TOLERANCE`). cuDNN RNN kernels sum in another order: float32 stays within the defaults.
"""

from __future__ import annotations

import numpy as np

# dtype name -> (rtol, atol). See the module table for the source of every number.
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-7, 1e-7),
    "float32": (1e-6, 1e-5),
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
}

# Per check of the harness (float32): (rtol, atol). Forward values use the float32 default; checks
# after a backward pass or K optimizer steps get the headroom measured in docs/parity.md.
STEP_TOLERANCES: dict[str, tuple[float, float]] = {
    "logits": (1e-6, 1e-5),
    "loss": (1e-6, 1e-5),
    "gradients": (1e-5, 1e-5),
    "adam": (1e-5, 1e-5),
}

# TF32 matmuls on an Ampere+ GPU (10-bit mantissa): the tolerance to use when TF32 stays on.
# Output tensors (graph path) and logits: atol is at least this share of the largest |expected| value
# compared (float32 error is relative to the magnitude accumulated; see LOGIT_SCALE_FRACTION in
# migrate.parity.checks for the measurement). Integer outputs are compared exactly.
OUTPUT_SCALE_FRACTION = 1e-5

GPU_TF32_TOLERANCE: tuple[float, float] = (1e-3, 1e-3)

# float32 machine epsilon: the smallest relative gradient noise the Adam error model assumes.
EPS_FLOAT32 = float(np.finfo(np.float32).eps)
# The Adam error bound's safety factors on its two measured inputs, and the noise floor (a share of the largest
# noise measured in the variable: one measurement of an element's noise can be 0 by chance). Measurements: the
# module docstring and docs/parity.md.
ADAM_NOISE_FACTOR = 4.0
ADAM_PROPAGATION_FACTOR = 4.0
ADAM_NOISE_FLOOR = 0.01


def default_tolerance(dtype: object) -> tuple[float, float]:
    """`(rtol, atol)` for `dtype` (float32 when the dtype is not a float in the table)."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    return DEFAULT_TOLERANCES.get(name, DEFAULT_TOLERANCES["float32"])
