"""How far two correct Adam runs may drift apart: the error model behind the "weights after K Adam steps" check.

Both sides start from the same weights `w0` with a fresh Adam state and take K steps on the same batches. Their
gradients differ by float32 noise (different kernels, summation orders), so even two correct implementations end
at different weights. How different follows from Adam's update. At step k (1-based), with the gradients
`g_1..g_k` Adam has seen (after clipping):

    m_k = sum_j a_kj g_j,  a_kj = (1 - b1) b1^(k-j)          v_k = sum_j c_kj g_j^2,  c_kj = (1 - b2) b2^(k-j)
    u_k = alpha_k m_k / (sqrt(v_k) + eps),                    alpha_k = lr sqrt(1 - b2^k) / (1 - b1^k)

(TF1's `AdamOptimizer` and Keras 3's `Adam` both compute exactly this.) Let the other side see `g'_j = g_j + d_j`
with `|d_j| <= delta_j` element-wise, and write `s_k = sqrt(v_k)`. Cauchy-Schwarz bounds Adam's ratio,
`|m_k| <= R_k s_k` with `R_k = (1 - b1) / sqrt(1 - b2) * sqrt(sum_{i<k} (b1^2 / b2)^i)` (R_1 = 1/sqrt(1 - b2)
* (1 - b1), so alpha_1 R_1 = lr: one step moves a weight by at most lr), and the triangle inequality for the
weighted norm gives `|s_k - s'_k| <= sqrt(sum_j c_kj delta_j^2)`. Hence, element by element and with no
linearisation,

    |u_k - u'_k| <= alpha_k * min( |m_k| / (s_k + eps) + R_k ,
                                   (sum_j a_kj delta_j + R_k sqrt(sum_j c_kj delta_j^2)) / (s_k + eps) )

and the weights after K steps differ by at most `B_K = sum_k |u_k - u'_k|` (plus float32 rounding of the
additions, the check's atol / rtol). Where a gradient is well above its noise (`|g| >> delta`) the bound is
`~ alpha_k delta / |g|`: tiny. Where it is within the noise (a converged model: gradients ~1e-9 on some
elements), the sign of the update can flip and the bound is the first term: up to ~2 lr per step, which is what
really happens (a 1e-9 gradient difference moves such a weight by up to lr). The bound needs only the legacy
side's gradients (`grads`) and the gap estimates (`gaps`); `migrate.parity.harness` measures those (the
gradients check's float32 noise, and how much the gradients move when the weights move by the bound so far).
Derivation and measurements: docs/parity.md, "Weights after K Adam steps".

Pure NumPy (float64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AdamSettings:
    """The optimizer both sides should run (the legacy graph's: `tf.compat.v1.train.AdamOptimizer(lr)`,
    beta1 0.9, beta2 0.999, epsilon 1e-8; `clip_by_global_norm(max_gradient_norm)`)."""

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    max_gradient_norm: float | None = None

    def alpha(self, k: int) -> float:
        """Bias-corrected step size of step k (1-based): lr sqrt(1 - b2^k) / (1 - b1^k)."""
        return self.learning_rate * math.sqrt(1.0 - self.beta2 ** k) / (1.0 - self.beta1 ** k)

    def ratio_bound(self, k: int) -> float:
        """R_k: the largest |m_k| / sqrt(v_k) any gradient sequence gives at step k (Cauchy-Schwarz)."""
        q = self.beta1 ** 2 / self.beta2
        return (1.0 - self.beta1) / math.sqrt(1.0 - self.beta2) * math.sqrt(sum(q ** i for i in range(k)))

    def clip_scale(self, global_norm: float) -> float:
        """TF1's `clip_by_global_norm` factor: max_norm / max(norm, max_norm) (1 without clipping)."""
        if self.max_gradient_norm is None:
            return 1.0
        return float(self.max_gradient_norm / max(float(global_norm), self.max_gradient_norm))


def step_bound(grads: Sequence[np.ndarray], gaps: Sequence[np.ndarray], settings: AdamSettings) -> np.ndarray:
    """Bound on |u_k - u'_k|, element-wise, for step k = len(grads).

    Args:
        grads: g_1..g_k, the (clipped) gradients one side's Adam saw, each of one variable's shape.
        gaps: delta_1..delta_k, element-wise bounds on |g'_j - g_j| (arrays or scalars that broadcast).
        settings: the optimizer.
    """
    k = len(grads)
    b1, b2, eps = settings.beta1, settings.beta2, settings.epsilon
    g = [np.asarray(x, np.float64) for x in grads]
    d = [np.broadcast_to(np.asarray(x, np.float64), g[0].shape) for x in gaps]
    m = sum((1 - b1) * b1 ** (k - j) * g[j - 1] for j in range(1, k + 1))
    s = np.sqrt(sum((1 - b2) * b2 ** (k - j) * g[j - 1] ** 2 for j in range(1, k + 1)))
    spread_m = sum((1 - b1) * b1 ** (k - j) * d[j - 1] for j in range(1, k + 1))
    spread_s = np.sqrt(sum((1 - b2) * b2 ** (k - j) * d[j - 1] ** 2 for j in range(1, k + 1)))
    r = settings.ratio_bound(k)
    flip = np.abs(m) / (s + eps) + r                     # the two updates point anywhere Adam allows
    near = (spread_m + r * spread_s) / (s + eps)         # the gradients' gap through m and sqrt(v)
    return settings.alpha(k) * np.minimum(flip, near)


def weight_bound(grads: Sequence[np.ndarray], gaps: Sequence[np.ndarray], settings: AdamSettings) -> np.ndarray:
    """B_K: bound on |w_K - w'_K| from the updates (sum over the K steps of `step_bound`)."""
    return sum(step_bound(grads[:k], gaps[:k], settings) for k in range(1, len(grads) + 1))


def signal_to_noise(grads: Sequence[np.ndarray], gaps: Sequence[np.ndarray]) -> np.ndarray:
    """Per element, the smallest |g_k| / delta_k over the steps (inf where every gap is 0). <= 1: the gradient was
    within its noise at some step, so the update's sign may flip there and the bound is up to ~2 lr per step."""
    out = np.full(np.shape(grads[0]), np.inf)
    for g, d in zip(grads, gaps):
        d = np.broadcast_to(np.asarray(d, np.float64), out.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(d > 0, np.abs(np.asarray(g, np.float64)) / d, np.inf)
        out = np.minimum(out, ratio)
    return out
