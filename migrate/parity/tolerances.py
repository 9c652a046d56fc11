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
6.5e-5 = 1.1e-6 x scale). Checks after a backward pass use `STEP_TOLERANCES`. Weights after K Adam steps also get
`atol >= 0.03 * K * learning_rate` (`migrate.parity.checks.ADAM_LR_FRACTION`): Adam divides by
`sqrt(v) + 1e-8`, so where a gradient is near 0 the float32 gradient gap (~1e-8) moves a weight by up
to `lr`. Measured on a model trained 200 steps (K=3, docs/parity.md): correct port 0.0065 * K*lr;
Keras's default epsilon 1e-7: 0.93; beta2 0.99: 0.64; learning rate 1% off: 0.18.

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


def default_tolerance(dtype: object) -> tuple[float, float]:
    """`(rtol, atol)` for `dtype` (float32 when the dtype is not a float in the table)."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    return DEFAULT_TOLERANCES.get(name, DEFAULT_TOLERANCES["float32"])
