"""`tf_migrate_runtime.contrib.rnn`: contrib's LayerNormBasicLSTMCell and NASCell, variable names and NumPy math.

One graph for the module: each cell runs 3 steps of `dynamic_rnn` on random inputs with random (non-default)
weights, gains, shifts and biases, and the outputs and final states are recomputed in NumPy from the formulas
of TF 1.15 contrib/rnn/python/ops/rnn_cell.py.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_migrate_runtime.contrib.rnn import LayerNormBasicLSTMCell, NASCell  # noqa: E402

B, T, IN, UNITS, PROJ = 2, 3, 3, 4, 3
RNG = np.random.default_rng(11)
X = RNG.normal(size=(B, T, IN)).astype(np.float32)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _layer_norm(x, gamma, beta):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * gamma + beta


@pytest.fixture(scope="module")
def run():
    with tf.Graph().as_default() as graph:
        with tf.compat.v1.variable_scope("ln"):
            ln_cell = LayerNormBasicLSTMCell(UNITS, forget_bias=0.4, norm_gain=0.7, norm_shift=0.2)
            ln_out, ln_state = tf.compat.v1.nn.dynamic_rnn(ln_cell, tf.constant(X), dtype=tf.float32)
        with tf.compat.v1.variable_scope("plain"):
            plain_cell = LayerNormBasicLSTMCell(UNITS, forget_bias=0.4, layer_norm=False)
            plain_out, _ = tf.compat.v1.nn.dynamic_rnn(plain_cell, tf.constant(X), dtype=tf.float32)
        with tf.compat.v1.variable_scope("nas"):
            nas_cell = NASCell(UNITS, num_proj=PROJ, use_bias=True)
            nas_out, nas_state = tf.compat.v1.nn.dynamic_rnn(nas_cell, tf.constant(X), dtype=tf.float32)
        variables = tf.compat.v1.global_variables()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for v in variables:  # random values everywhere, so no default hides a wrong formula
                sess.run(v.assign(RNG.normal(scale=0.5, size=v.shape.as_list()).astype(np.float32)))
            weights = {v.op.name: value for v, value in zip(variables, sess.run(variables))}
            outputs = sess.run({"ln": (ln_out, ln_state), "plain": plain_out, "nas": (nas_out, nas_state)})
    return weights, outputs


def test_variable_names_are_contribs(run):
    weights, _ = run
    shapes = {name: value.shape for name, value in weights.items()}
    ln = "ln/rnn/layer_norm_basic_lstm_cell"
    expected = {f"{ln}/kernel": (IN + UNITS, 4 * UNITS)}
    expected.update({f"{ln}/{part}/{p}": (UNITS,) for part in ("input", "transform", "forget", "output", "state")
                     for p in ("gamma", "beta")})
    expected.update({"plain/rnn/layer_norm_basic_lstm_cell/kernel": (IN + UNITS, 4 * UNITS),
                     "plain/rnn/layer_norm_basic_lstm_cell/bias": (4 * UNITS,),
                     "nas/rnn/nas_cell/kernel": (IN, 8 * UNITS), "nas/rnn/nas_cell/recurrent_kernel": (PROJ, 8 * UNITS),
                     "nas/rnn/nas_cell/bias": (8 * UNITS,), "nas/rnn/nas_cell/projection_weights": (UNITS, PROJ)})
    assert shapes == expected


def test_layer_norm_lstm_matches_numpy(run):
    weights, outputs = run
    w = {k.split("layer_norm_basic_lstm_cell/")[1]: v for k, v in weights.items() if k.startswith("ln/")}
    c, h = np.zeros((B, UNITS)), np.zeros((B, UNITS))
    expected = []
    for t in range(T):
        i, j, f, o = np.split(np.concatenate([X[:, t], h], 1) @ w["kernel"], 4, axis=1)
        i, j, f, o = (_layer_norm(g, w[f"{n}/gamma"], w[f"{n}/beta"])
                      for g, n in zip((i, j, f, o), ("input", "transform", "forget", "output")))
        c = _layer_norm(c * _sigmoid(f + 0.4) + _sigmoid(i) * np.tanh(j), w["state/gamma"], w["state/beta"])
        h = np.tanh(c) * _sigmoid(o)
        expected.append(h)
    out, state = outputs["ln"]
    np.testing.assert_allclose(out, np.stack(expected, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state.c, c, rtol=1e-4, atol=1e-5)


def test_without_layer_norm_it_is_a_biased_lstm(run):
    weights, outputs = run
    kernel = weights["plain/rnn/layer_norm_basic_lstm_cell/kernel"]
    bias = weights["plain/rnn/layer_norm_basic_lstm_cell/bias"]
    c, h = np.zeros((B, UNITS)), np.zeros((B, UNITS))
    for t in range(T):
        i, j, f, o = np.split(np.concatenate([X[:, t], h], 1) @ kernel + bias, 4, axis=1)
        c = c * _sigmoid(f + 0.4) + _sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * _sigmoid(o)
    np.testing.assert_allclose(outputs["plain"][:, -1], h, rtol=1e-4, atol=1e-5)


def test_nas_cell_matches_numpy(run):
    weights, outputs = run
    w = {k.split("nas_cell/")[1]: v for k, v in weights.items() if k.startswith("nas/")}
    c, m = np.zeros((B, UNITS)), np.zeros((B, PROJ))
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    expected = []
    for t in range(T):
        mm = np.split(m @ w["recurrent_kernel"] + w["bias"], 8, axis=1)
        xx = np.split(X[:, t] @ w["kernel"], 8, axis=1)
        l1 = [_sigmoid(xx[0] + mm[0]), relu(xx[1] + mm[1]), _sigmoid(xx[2] + mm[2]), relu(xx[3] * mm[3]),
              np.tanh(xx[4] + mm[4]), _sigmoid(xx[5] + mm[5]), np.tanh(xx[6] + mm[6]), _sigmoid(xx[7] + mm[7])]
        l2_0 = np.tanh(np.tanh(l1[0] * l1[1]) + c)
        c = l2_0 * np.tanh(l1[2] + l1[3])
        m = np.tanh(c * np.tanh(np.tanh(l1[4] * l1[5]) + _sigmoid(l1[6] + l1[7]))) @ w["projection_weights"]
        expected.append(m)
    out, state = outputs["nas"]
    np.testing.assert_allclose(out, np.stack(expected, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state.c, c, rtol=1e-4, atol=1e-5)
