"""Layout transforms TF1 <-> Keras: laws (transform then inverse = identity) and hand-checked gate placement."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.checkpoint import layouts

sizes = st.tuples(st.integers(1, 6), st.integers(1, 5))   # (input_size, units)
seeds = st.integers(0, 2**31 - 1)


def _rand(rng, *shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(sizes, seeds, st.sampled_from([0.0, 0.8, 1.0]))
def test_lstm_inverse_is_identity(size, seed, forget_bias):
    n_in, u = size
    rng = np.random.RandomState(seed)
    kernel, bias = _rand(rng, n_in + u, 4 * u), _rand(rng, 4 * u)
    k, rk, b = layouts.lstm_to_keras(kernel, bias, n_in, forget_bias)
    assert k.shape == (n_in, 4 * u) and rk.shape == (u, 4 * u) and b.shape == (4 * u,)
    kernel2, bias2 = layouts.keras_to_lstm(k, rk, b, forget_bias)
    np.testing.assert_array_equal(kernel2, kernel)   # permutations and splits are exact
    np.testing.assert_allclose(bias2, bias, rtol=0, atol=2.4e-7)  # +F then -F in float32: 2 roundings


@settings(max_examples=60, deadline=None)
@given(sizes, seeds)
def test_gru_inverse_is_identity(size, seed):
    n_in, u = size
    rng = np.random.RandomState(seed)
    arrays = (_rand(rng, n_in + u, 2 * u), _rand(rng, 2 * u), _rand(rng, n_in + u, u), _rand(rng, u))
    k, rk, b = layouts.gru_to_keras(*arrays, n_in)
    assert k.shape == (n_in, 3 * u) and rk.shape == (u, 3 * u) and b.shape == (3 * u,)
    for got, want in zip(layouts.keras_to_gru(k, rk, b), arrays):
        np.testing.assert_array_equal(got, want)


@settings(max_examples=40, deadline=None)
@given(sizes, seeds)
def test_keras_to_tf1_then_back_is_identity_too(size, seed):
    n_in, u = size
    rng = np.random.RandomState(seed)
    k, rk, b = _rand(rng, n_in, 4 * u), _rand(rng, u, 4 * u), _rand(rng, 4 * u)
    kernel, bias = layouts.keras_to_lstm(k, rk, b, forget_bias=0.0)
    for got, want in zip(layouts.lstm_to_keras(kernel, bias, n_in, 0.0), (k, rk, b)):
        np.testing.assert_array_equal(got, want)


def test_lstm_gate_blocks_land_where_keras_reads_them():
    u = 2
    bias = np.concatenate([np.full(u, g, np.float32) for g in (1, 2, 3, 4)])  # TF1 i=1, j=2, f=3, o=4
    kernel = np.tile(bias, (3, 1))                                           # input 1 row + 2 recurrent rows
    k, rk, b = layouts.lstm_to_keras(kernel, bias, input_size=1, forget_bias=0.5)
    # Keras i, f, c, o  <-  TF1 i, f (+ forget bias), j, o
    np.testing.assert_array_equal(b, [1, 1, 3.5, 3.5, 2, 2, 4, 4])
    np.testing.assert_array_equal(k[0], [1, 1, 3, 3, 2, 2, 4, 4])
    assert rk.shape == (2, 8) and k.shape == (1, 8)


def test_slots_get_the_permutation_but_not_the_forget_bias():
    bias = np.arange(8, dtype=np.float32)
    _, _, as_weight = layouts.lstm_to_keras(np.zeros((3, 8), np.float32), bias, 1, forget_bias=0.8)
    _, _, as_slot = layouts.lstm_to_keras(np.zeros((3, 8), np.float32), bias, 1, forget_bias=0.0)
    np.testing.assert_array_equal(as_slot, [0, 1, 4, 5, 2, 3, 6, 7])
    np.testing.assert_allclose(as_weight - as_slot, [0, 0, 0.8, 0.8, 0, 0, 0, 0], atol=1e-6)


def test_gru_columns_are_update_reset_candidate():
    u = 1
    gates_k = np.array([[10, 20]], np.float32).repeat(2, 0)   # r=10, u=20; 1 input row + 1 recurrent row
    cand_k = np.array([[30]], np.float32).repeat(2, 0)
    k, rk, b = layouts.gru_to_keras(gates_k, np.array([1, 2], np.float32), cand_k, np.array([3], np.float32), 1)
    np.testing.assert_array_equal(k, [[20, 10, 30]])      # Keras z (= TF1 u), r, h
    np.testing.assert_array_equal(b, [2, 1, 3])
    assert rk.shape == (u, 3)


def test_reset_after_true_bias_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="reset_after=True"):
        layouts.keras_to_gru(np.zeros((2, 3)), np.zeros((1, 3)), np.zeros((2, 3)))
