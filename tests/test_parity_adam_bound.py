"""`migrate.parity.adam_bound`: the Adam error model holds for every gradient sequence and is tight where it matters.

An exact float64 Adam (the update TF1's AdamOptimizer and Keras 3's Adam compute) runs on gradients g and on
g + d with |d| <= delta; the weights after K steps must differ by at most `weight_bound`, the bound must be
reached (within a few %) by some sequence, a gradient well above its noise must get a bound far below lr, and one
within its noise up to ~2 lr per step.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.parity.adam_bound import AdamSettings, signal_to_noise, step_bound, weight_bound

ADAM = AdamSettings(learning_rate=0.005, max_gradient_norm=5.0)


def _adam(grads: list[np.ndarray], s: AdamSettings = ADAM) -> np.ndarray:
    """K steps of Adam from w = 0 with a fresh state, float64: the weights after."""
    m = v = w = 0.0
    for k, g in enumerate(grads, 1):
        m = s.beta1 * m + (1 - s.beta1) * g
        v = s.beta2 * v + (1 - s.beta2) * g * g
        w = w - s.alpha(k) * m / (np.sqrt(v) + s.epsilon)
    return w


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1), st.floats(-12, -1), st.floats(-13, -3))
def test_two_runs_whose_gradients_differ_within_delta_end_within_the_bound(steps, seed, log_g, log_d):
    rng = np.random.RandomState(seed)
    grads = [rng.randn(400) * 10.0 ** rng.uniform(log_g - 3, log_g, 400) for _ in range(steps)]
    gaps = [10.0 ** rng.uniform(log_d - 2, log_d, 400) for _ in range(steps)]
    other = [g + d * rng.uniform(-1, 1, 400) for g, d in zip(grads, gaps)]
    drift = np.abs(_adam(grads) - _adam(other))
    assert np.all(drift <= weight_bound(grads, gaps, ADAM) * (1 + 1e-9) + 1e-18)


def test_the_bound_is_reached_where_the_sign_flips_and_is_at_most_lr_per_step_per_side():
    g, d = np.array([1e-5]), np.array([2e-5])             # a gradient within its noise (and above eps / sqrt(1-b2))
    bound = step_bound([g], [d], ADAM)
    flipped = abs(_adam([g]) - _adam([g - d]))             # the other side sees -1e-5: the move flips sign
    assert flipped[0] <= bound[0] < 1.02 * flipped[0] and flipped[0] > 1.9 * ADAM.learning_rate
    assert bound[0] <= 2 * ADAM.learning_rate
    # below eps / sqrt(1 - b2) = 3.2e-7 the update is linear in g: a flip there moves a weight by far less
    tiny = abs(_adam([np.array([1e-9])]) - _adam([np.array([-1e-9])]))
    assert tiny[0] <= step_bound([np.array([1e-9])], [np.array([2e-9])], ADAM)[0] < 0.02 * ADAM.learning_rate
    # one step moves a weight by at most lr (alpha_1 R_1 = lr); after K steps at most ~K lr on each side
    assert ADAM.alpha(1) * ADAM.ratio_bound(1) == pytest.approx(ADAM.learning_rate)
    assert weight_bound([g] * 3, [d] * 3, ADAM)[0] <= 2 * 3 * ADAM.learning_rate * 1.01


def test_a_gradient_far_above_its_noise_gets_a_bound_far_below_lr():
    g = [np.array([1e-3]), np.array([-2e-3]), np.array([5e-4])]
    d = [np.array([1e-9])] * 3                             # float32 noise of a gradient of that size
    bound = weight_bound(g, d, ADAM)
    assert bound[0] < 1e-5 * ADAM.learning_rate
    worst = max(abs(_adam(g) - _adam([x + s * 1e-9 for x, s in zip(g, signs)]))[0]
                for signs in np.array(np.meshgrid(*[[-1, 1]] * 3)).T.reshape(-1, 3))
    assert worst <= bound[0] and worst > 0.2 * bound[0]   # tight to a small factor


def test_a_wrong_epsilon_moves_weights_far_outside_the_bound_of_float32_noise():
    """Keras's default epsilon 1e-7 against TF1's 1e-8, on gradients ~1e-6 (a converged model): the same gradients,
    yet the weights differ by far more than float32 noise in the gradients (1e-12) could explain."""
    rng = np.random.RandomState(0)
    grads = [rng.randn(1000) * 1e-6 for _ in range(3)]
    wrong = AdamSettings(learning_rate=0.005, epsilon=1e-7)
    drift = np.abs(_adam(grads) - _adam(grads, wrong))
    bound = weight_bound(grads, [np.full(1000, 1e-12)] * 3, ADAM)
    assert np.median(drift / bound) > 100


def test_signal_to_noise_is_the_smallest_ratio_over_the_steps():
    snr = signal_to_noise([np.array([1.0, 1e-9, 0.0]), np.array([0.5, 1.0, 0.0])],
                          [np.array([1e-3, 1e-8, 0.0]), np.array([1e-2, 1e-3, 0.0])])
    assert snr[0] == pytest.approx(50.0) and snr[1] == pytest.approx(0.1) and snr[2] == np.inf


def test_clip_scale_is_tf1_clip_by_global_norm():
    assert ADAM.clip_scale(2.0) == 1.0 and ADAM.clip_scale(20.0) == pytest.approx(0.25)
    assert AdamSettings(0.1).clip_scale(1e9) == 1.0
