"""The speed paths of `tf_migrate_runtime.layers` (issue 22) give the results of the paths they replace.

- `tfm.LSTM` / `GRU` (`reset_after` both ways) / `SimpleRNN` against the `keras.layers` class they extend, with the
  same random weights: with and without a mask (rows of different lengths), `zero_output_for_mask`, given initial
  states, `return_sequences` both ways; eagerly, under `tf.function` and under XLA (where a narrow layer keeps its
  own step and a wide one Keras' loop); their gradients; a `.keras` round trip.
- an eager call runs the loop traced (`decoder.run_traced`): the layer's `tf.function` is kept, and the result is
  the one a traced call gives; a decoder's `tf.TensorArray` buffers give the dense buffers' results (the greedy
  decoder's outputs, ids and states against the same step run by hand in NumPy).
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import tf_migrate_runtime.layers as tfm  # noqa: E402
from tf_migrate_runtime.layers import decoder  # noqa: E402

RNG = np.random.default_rng(22)
B, T, IN, UNITS = 3, 6, 5, 4
X = RNG.normal(size=(B, T, IN)).astype("float32")
MASK = np.array([[True] * 6, [True] * 3 + [False] * 3, [True] + [False] * 5])
CASES = {"lstm": (keras.layers.LSTM, tfm.LSTM, {}),
         "gru": (keras.layers.GRU, tfm.GRU, {"reset_after": False}),
         "gru_reset_after": (keras.layers.GRU, tfm.GRU, {"reset_after": True}),
         "simple_rnn": (keras.layers.SimpleRNN, tfm.SimpleRNN, {"activation": "relu"})}


def _pair(case, **kwargs):
    """The Keras layer and ours, built, with the same random non-zero weights (biases included)."""
    base, ours, extra = CASES[case]
    a, b = base(UNITS, return_state=True, **extra, **kwargs), ours(UNITS, return_state=True, **extra, **kwargs)
    a(X)
    b(X)
    weights = [RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in a.get_weights()]
    a.set_weights(weights)
    b.set_weights(weights)
    return a, b


def _close(got, want, atol=2e-6):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=atol, rtol=0)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
def test_recurrent_layer_matches_the_keras_layer(case, masked, sequences):
    a, b = _pair(case, return_sequences=sequences, zero_output_for_mask=masked and sequences)
    mask = MASK if masked else None
    want = a(X, mask=mask)
    _close(b(X, mask=mask), want)                                          # eagerly (traced inside)
    _close(tf.function(lambda x: b(x, mask=mask))(X), want)                 # under tf.function
    if masked:   # a row past its length keeps its state: the shortest row's final state is its first step's
        first = a(X[:, :1])
        np.testing.assert_allclose(np.asarray(want[1])[2], np.asarray(first[1])[2], atol=2e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_recurrent_layer_under_xla_matches_the_keras_layer(case):
    """Under `jit_compile=True` a narrow layer runs its own fused step (the LSTM's gates activated as one array), a
    GRU(reset_after=True) and a layer wider than `decoder.XLA_FUSED_MAX_WIDTH` Keras' loop; the results are the
    Keras layer's, masked."""
    from tf_migrate_runtime.layers import recurrent

    a, b = _pair(case, return_sequences=True)
    wide = CASES[case][1](decoder.XLA_FUSED_MAX_WIDTH, **CASES[case][2])
    wide.build((B, T, IN))
    paths = []

    def run(x):
        paths.append((recurrent._fast_path(b, False), recurrent._fast_path(wide, False)))
        return b(x, mask=MASK)

    got = tf.function(run, jit_compile=True)(X)
    assert paths == [(case != "gru_reset_after", False)]
    _close(got, a(X, mask=MASK))


@pytest.mark.parametrize("case", list(CASES))
def test_recurrent_layer_takes_initial_states_and_gradients(case):
    a, b = _pair(case, return_sequences=True)
    n_states = 2 if case == "lstm" else 1
    init = [RNG.normal(size=(B, UNITS)).astype("float32") for _ in range(n_states)]
    _close(b(X, initial_state=init), a(X, initial_state=init))
    grads = []
    for layer in (a, b):
        with tf.GradientTape() as tape:
            out = layer(X, initial_state=init, mask=MASK)
            loss = tf.reduce_sum(out[0] * np.linspace(-1, 1, UNITS).astype("float32")) + tf.reduce_sum(out[1])
        grads.append(tape.gradient(loss, layer.trainable_weights))
    _close(grads[1], grads[0], atol=1e-5)


def test_recurrent_layer_round_trips_through_a_keras_file(tmp_path):
    inputs = keras.Input((T, IN))
    model = keras.Model(inputs, tfm.GRU(UNITS, reset_after=False, return_sequences=True, name="gru")(inputs))
    model.get_layer("gru").set_weights([RNG.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    want = model(X)   # an eager call first: the layer keeps its tf.function, which saving must ignore
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("gru")) is tfm.GRU
    assert loaded.get_layer("gru").get_config()["reset_after"] is False
    _close([loaded(X)], [want], atol=0)


def test_an_eager_decoder_call_runs_traced_and_matches_numpy():
    """GreedyDecoder (one GRU cell, output layer, impute_finished): called eagerly, its loop is a kept
    tf.function; outputs, ids and final state equal the TF1 decode loop computed step by step in NumPy."""
    layer = tfm.GreedyDecoder(["gru"], [UNITS], vocab_size=7, embedding_dim=3, output_size=7, impute_finished=True)
    start = np.array([1, 2, 3])
    layer(np.array(5), start_tokens=start, end_token=2)
    weights = [RNG.normal(scale=0.8, size=w.shape).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    out, ids, state = layer(np.array(5), start_tokens=start, end_token=2)
    assert layer.__dict__.get(decoder._TRACED) is not None   # the eager call went through the layer's tf.function
    kernel, recurrent, bias, embedding, out_kernel, out_bias = weights

    def sig(v):
        return 1 / (1 + np.exp(-v))

    h, x, finished = np.zeros((B, UNITS), "float32"), embedding[start], np.zeros(B, bool)
    want_out, want_ids = [], []
    for _ in range(5):
        xz = x @ kernel + bias
        z = sig(xz[:, :UNITS] + h @ recurrent[:, :UNITS])
        r = sig(xz[:, UNITS:2 * UNITS] + h @ recurrent[:, UNITS:2 * UNITS])
        hh = np.tanh(xz[:, 2 * UNITS:] + (r * h) @ recurrent[:, 2 * UNITS:])
        new_h = z * h + (1 - z) * hh
        logits = new_h @ out_kernel + out_bias
        sample = logits.argmax(-1)
        want_out.append(np.where(finished[:, None], 0, logits))
        want_ids.append(np.where(finished, 0, sample))
        h = np.where(finished[:, None], h, new_h)
        finished = finished | (sample == 2)
        x = embedding[sample]
        if finished.all():
            break
    np.testing.assert_allclose(np.asarray(out), np.stack(want_out, 1), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(ids), np.stack(want_ids, 1))
    np.testing.assert_allclose(np.asarray(state), h, atol=1e-5)
    traced = tf.function(lambda: layer(np.array(5), start_tokens=start, end_token=2))()
    _close(traced, [out, ids, state], atol=1e-6)


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_decoder_cell_step_in_tf1_form_matches_numpy(family):
    """`attention.cell_step` (the decoders' cells) runs `decoder.step_product`: on TensorFlow TF1's fused
    `concat([x, h]) @ concat([kernel, recurrent]) + bias`, under XLA the plain sum, and the fused form again for a
    loop's narrow cells (`loop_cells`); all equal the cell in NumPy."""
    from tf_migrate_runtime.layers.attention import cell_step, loop_cells  # noqa: PLC0415

    gates = 4 if family == "lstm" else 3
    kernel, recurrent = (RNG.normal(scale=0.5, size=(n, gates * UNITS)).astype("float32") for n in (IN, UNITS))
    bias = RNG.normal(size=gates * UNITS).astype("float32")
    x, h, c = X[:, 0], RNG.normal(size=(B, UNITS)).astype("float32"), RNG.normal(size=(B, UNITS)).astype("float32")
    state = [h, c] if family == "lstm" else [h]

    def sig(v):
        return 1 / (1 + np.exp(-v))

    u = UNITS
    if family == "lstm":
        z = x @ kernel + h @ recurrent + bias
        want_c = sig(z[:, u:2 * u]) * c + sig(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
        want = [sig(z[:, 3 * u:]) * np.tanh(want_c), want_c]
    else:
        xz = x @ kernel + bias
        zg, r = sig(xz[:, :u] + h @ recurrent[:, :u]), sig(xz[:, u:2 * u] + h @ recurrent[:, u:2 * u])
        want = [zg * h + (1 - zg) * np.tanh(xz[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])]
    weights = (tf.constant(kernel), tf.constant(recurrent), tf.constant(bias))
    for jit in (False, True):
        fn = tf.function(lambda x, s: cell_step(family, weights, x, s)[1], jit_compile=jit)
        if not jit:   # the TF1 form: one product with the bias fused, no unfused product of the recurrent kernel
            ops = {op.type for op in fn.get_concrete_function(x, state).graph.get_operations()}
            assert "BiasAdd" in ops and "ConcatV2" in ops
        _close(fn(x, state), want, atol=5e-6)
    # a decode loop's cells (`loop_cells`, joined before the loop): the fused form under XLA too while the product is
    # at most `decoder.XLA_FUSED_MAX_WIDTH` wide, the plain weights above it
    wide = [np.zeros((decoder.XLA_FUSED_MAX_WIDTH, gates * UNITS), "float32"), recurrent, bias]
    kinds = []

    def loop_step(x, s):
        cells = loop_cells([family, family], [weights, wide])
        kinds.extend(type(c).__name__ for c in cells)
        return cell_step(family, cells[0], x, s)[1]

    _close(tf.function(loop_step, jit_compile=True)(x, state), want, atol=5e-6)
    assert kinds == ["FusedCell", "list"]


@pytest.mark.parametrize("batch_axis", [0, 1])
def test_reverse_sequence_runs_tf1_op_and_matches_the_portable_path(batch_axis, monkeypatch):
    """`tfm.ReverseSequence` on TensorFlow is `tf.reverse_sequence` itself (one op, fast eagerly); it equals the
    portable `take_along_axis` path the other backends run, and NumPy: the first `lengths[b]` steps reversed."""
    lengths = np.array([6, 3, 1])
    x = X if batch_axis == 0 else np.transpose(X, (1, 0, 2))
    layer = tfm.ReverseSequence(seq_axis=1 - batch_axis, batch_axis=batch_axis)
    want = X.copy()
    for b, n in enumerate(lengths):
        want[b, :n] = X[b, :n][::-1]
    want = want if batch_axis == 0 else np.transpose(want, (1, 0, 2))
    fn = tf.function(lambda x: layer(x, lengths))
    assert "ReverseSequence" in {op.type for op in fn.get_concrete_function(x).graph.get_operations()}
    np.testing.assert_array_equal(np.asarray(layer(x, lengths)), want)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")   # the portable path, still on TF tensors
    portable = tf.function(lambda x: layer(x, lengths))
    assert "ReverseSequence" not in {op.type for op in portable.get_concrete_function(x).graph.get_operations()}
    np.testing.assert_array_equal(np.asarray(portable(x)), want)


def test_where_rows_is_tf1s_row_select_and_keras_where_under_xla():
    """`decoder.where_rows` (the decoders' impute_finished, session 11): on TensorFlow TF1's `Select` of whole rows
    (no broadcasting `SelectV2`), under XLA `keras.ops.where`; both give `np.where(cond[:, None], a, b)`, for
    `[B, U]` states and `[B]` ids."""
    cond = np.array([True, False, True])
    a, b = RNG.normal(size=(B, UNITS)).astype("float32"), RNG.normal(size=(B, UNITS)).astype("float32")
    ids_a, ids_b = np.array([4, 5, 6], "int32"), np.array([7, 8, 9], "int32")
    want = [np.where(cond[:, None], a, b), np.where(cond, ids_a, ids_b)]
    fn = tf.function(lambda c, x, y, i, j: [decoder.where_rows(c, x, y), decoder.where_rows(c, i, j)])
    ops_run = {n.type for n in fn.get_concrete_function(cond, a, b, ids_a, ids_b).graph.get_operations()}
    assert "Select" in ops_run and "SelectV2" not in ops_run
    _close(fn(cond, a, b, ids_a, ids_b), want, atol=0)
    xla = tf.function(lambda c, x, y, i, j: [decoder.where_rows(c, x, y), decoder.where_rows(c, i, j)],
                      jit_compile=True)
    _close(xla(cond, a, b, ids_a, ids_b), want, atol=0)


def test_lstm_forget_bias_is_added_at_run_time_on_both_paths(tmp_path):
    """`tfm.LSTM(forget_bias=0.7)` with TF1's unfolded bias computes Keras' LSTM with the forget bias folded into its
    bias: on the fast loop, on Keras' own (`unroll=True`), after a `.keras` round trip; gradients reach the bias."""
    keras_layer, ours = _pair("lstm", return_sequences=True)
    weights = ours.get_weights()
    folded = [w.copy() for w in weights]
    folded[2][UNITS:2 * UNITS] += np.float32(0.7)
    keras_layer.set_weights(folded)
    want = keras_layer(X, mask=MASK)[0]
    inputs = keras.Input((T, IN))
    model = keras.Model(inputs, tfm.LSTM(UNITS, forget_bias=0.7, return_sequences=True, name="lstm")(inputs))
    model.get_layer("lstm").set_weights(weights)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras").get_layer("lstm")
    assert loaded.forget_bias == np.float32(0.7) and loaded.get_config()["forget_bias"] == np.float32(0.7)
    unrolled = tfm.LSTM(UNITS, forget_bias=0.7, return_sequences=True, unroll=True)
    unrolled(X)
    unrolled.set_weights(weights)
    for layer in (loaded, unrolled):
        _close([layer(X, mask=MASK)], [want])
    assert unrolled.cell.bias is unrolled.cell.trainable_weights[2]   # Keras' path gives the variable back
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(unrolled(X)) + tf.reduce_sum(loaded(X))
    grads = tape.gradient(loss, [unrolled.cell.bias, loaded.cell.bias])
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    with pytest.raises(ValueError, match="needs use_bias=True"):
        tfm.LSTM(UNITS, forget_bias=1.0, use_bias=False)
