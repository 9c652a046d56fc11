"""A stack of `tfm.LSTM` / `GRU` / `SimpleRNN` layers run as one loop by `tfm.Model` (tf_migrate_runtime/layers/
stacked.py, `recurrent.stack_loop`): as TF1's `MultiRNNCell` ran in one `dynamic_rnn`, the same layers, weights and
results as one loop per layer; masks, initial states, gradients and `fit` through the loop; a TF1 `MultiRNNCell`
converted, with parity (also under XLA) and back to TF1; and where a stack stays layer by layer (a residual add between layers)."""

from __future__ import annotations

import numpy as np
import pytest
from tf1_models import save_random_weights, session_config, tf1_style


def _randomise(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0, 0.4, tuple(w.shape)).astype("float32"))


def _whiles(model, feeds, jit_compile: bool = False) -> int:
    """How many while loops the model's traced call holds (`jit_compile`: traced for XLA)."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), jit_compile=jit_compile).get_concrete_function(
        {k: tf.TensorSpec(v.shape, v.dtype) for k, v in feeds.items()})
    return sum(op.type in ("While", "StatelessWhile") for op in fn.graph.get_operations())


def _mixed_stack(mask: bool, zero_output_for_mask: bool = False, initial: bool = False):
    """x [B, 7, 3] -> LSTM(5) -> GRU(4, reset_after=False) -> SimpleRNN(6) (every output and state returned), with a
    mask from `lengths` and the LSTM's initial state from the inputs when asked."""
    import keras

    import tf_migrate_runtime.layers as tfm

    x = keras.Input((7, 3), name="x")
    inputs = {"x": x}
    kw = {}
    if mask:
        inputs["lengths"] = keras.Input((), dtype="int32", name="lengths")
        kw["mask"] = tfm.SequenceMask(name="mask")(inputs["lengths"], x)
    lstm_kw = dict(kw)
    if initial:
        inputs["h0"], inputs["c0"] = keras.Input((5,), name="h0"), keras.Input((5,), name="c0")
        lstm_kw["initial_state"] = [inputs["h0"], inputs["c0"]]
    z = dict(zero_output_for_mask=zero_output_for_mask)
    s0, h0, c0 = tfm.LSTM(5, return_sequences=True, return_state=True, name="cell_0", **z)(x, **lstm_kw)
    s1, h1 = tfm.GRU(4, reset_after=False, return_sequences=True, return_state=True, name="cell_1")(s0, **kw)
    s2, h2 = tfm.SimpleRNN(6, return_sequences=True, return_state=True, name="cell_2", **z)(s1, **kw)
    model = tfm.Model(inputs=inputs, outputs=[s2, h0, c0, h1, h2], name="stack")
    _randomise(model, 3)
    return model


def _feeds(mask: bool, initial: bool, batch: int = 4):
    rng = np.random.default_rng(11)
    feeds = {"x": rng.normal(size=(batch, 7, 3)).astype("float32")}
    if mask:
        feeds["lengths"] = np.array([7, 3, 5, 1][:batch], "int32")
    if initial:
        feeds["h0"], feeds["c0"] = (rng.normal(size=(batch, 5)).astype("float32") for _ in range(2))
    return feeds


def _both(model, feeds):
    """The model's outputs (NumPy) run as one loop and one loop per layer, each under tf.function."""
    import tensorflow as tf

    out = {}
    for fuse in (True, False):
        model.fuse_recurrent_stacks = fuse
        out[fuse] = [np.asarray(t) for t in tf.function(lambda x: model(x, training=False))(feeds)]
    model.fuse_recurrent_stacks = True
    return out[True], out[False]


@pytest.mark.parametrize("mask, zero_output_for_mask, initial",
                         [(False, False, False), (True, False, False), (True, True, True), (False, False, True)])
def test_one_loop_gives_the_per_layer_results(mask, zero_output_for_mask, initial):
    """Three layers of three kinds and widths: one while loop instead of three, every output and final state equal
    (masked steps keep the states and repeat, or zero, the output per layer, as Keras' layers do), and the stack
    called eagerly (`model(x)`, traced by `tfm.Model`) gives the same."""
    model = _mixed_stack(mask, zero_output_for_mask, initial)
    feeds = _feeds(mask, initial)
    assert _whiles(model, feeds) == 1
    model.fuse_recurrent_stacks = False
    assert _whiles(model, feeds) == 3
    model.fuse_recurrent_stacks = True
    fused, per_layer = _both(model, feeds)
    for a, b in zip(fused, per_layer):
        np.testing.assert_allclose(a, b, atol=1e-6)
    eager = [np.asarray(t) for t in model(feeds)]
    for a, b in zip(eager, per_layer):
        np.testing.assert_allclose(a, b, atol=1e-6)
    if mask:   # row 3 has length 1: its last output is its first step's (or zeros), its states those of step 1
        top = per_layer[0][3]
        assert np.abs(top[0]).min() > 0
        np.testing.assert_allclose(top[1:], 0 * top[1:] if zero_output_for_mask else np.repeat(top[:1], 6, 0))


def test_gradients_and_fit_through_the_one_loop():
    """The gradient of every layer's weights through the one loop equals the per-layer loops', and `fit` (its traced
    train step runs the one loop) lowers the loss and changes every layer's weights."""
    import keras
    import tensorflow as tf

    model = _mixed_stack(mask=True)
    feeds = _feeds(mask=True, initial=False)
    target = np.random.default_rng(2).normal(size=(4, 7, 6)).astype("float32")

    def grads(fuse):
        model.fuse_recurrent_stacks = fuse

        @tf.function
        def g(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(x, training=True)[0] - target) ** 2)
            return tape.gradient(loss, model.trainable_weights)
        return [np.asarray(t) for t in g(feeds)]

    fused, per_layer = grads(True), grads(False)
    assert len(fused) == 9 and all(np.abs(g).max() > 0 for g in fused)
    for a, b in zip(fused, per_layer):
        np.testing.assert_allclose(a, b, atol=1e-6)
    model.fuse_recurrent_stacks = True
    train = keras.Model(model.input, model.outputs[0])
    train.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    before = [np.asarray(w) for w in model.weights]
    history = train.fit(feeds, target, epochs=8, batch_size=4, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history
    assert all(not np.allclose(a, np.asarray(w)) for a, w in zip(before, model.weights))


def test_what_stays_layer_by_layer():
    """A layer whose output sequence something else reads (here a residual add, as ResidualWrapper converts), a
    layer with a mask of its own, and a Keras layer that is not a runtime one: no stack, one loop per layer."""
    import keras

    import tf_migrate_runtime.layers as tfm
    from tf_migrate_runtime.layers import stacked

    x = keras.Input((7, 5), name="x")
    lengths = keras.Input((), dtype="int32", name="lengths")
    s0 = tfm.LSTM(5, return_sequences=True, name="a")(x)
    s1 = tfm.LSTM(5, return_sequences=True, name="b")(s0)
    s1 = keras.ops.add(s1, s0)                                    # ResidualWrapper
    s2 = tfm.GRU(4, return_sequences=True, name="c")(s1)
    s3 = tfm.GRU(4, return_sequences=True, name="d")(s2, mask=tfm.SequenceMask(name="m")(lengths, s2))
    s4 = keras.layers.SimpleRNN(3, return_sequences=True, name="e")(s3)
    model = tfm.Model(inputs={"x": x, "lengths": lengths}, outputs=[s4], name="no_stack")
    assert stacked.plan(model) == {}
    feeds = {"x": np.ones((2, 7, 5), "float32"), "lengths": np.array([7, 2], "int32")}
    assert _whiles(model, feeds) == 5
    # the same layers with d's mask given to c too: c and d one stack (two loops fewer than one per layer)
    s2 = tfm.GRU(4, return_sequences=True, name="c2")(s1, mask=tfm.SequenceMask(name="m2")(lengths, s1))
    s3 = tfm.GRU(4, return_sequences=True, name="d2")(s2)   # the mask c2's output carries
    model = tfm.Model(inputs={"x": x, "lengths": lengths}, outputs=[s3], name="masked_stack")
    assert [[n.operation.name for n in c] for c in stacked.plan(model).values()] == [["c2", "d2"]]
    assert _whiles(model, feeds) == 3
    fused, per_layer = _both(model, feeds)
    np.testing.assert_allclose(fused[0], per_layer[0], atol=1e-6)


def _tf1_stack(tf, v1):
    """dynamic_rnn over MultiRNNCell([LSTMCell(6, forget_bias=0.3), GRUCell(4), BasicLSTMCell(5, forget_bias=0.7)])
    with sequence_length, its final states, and a dense layer on the outputs."""
    rc = v1.nn.rnn_cell
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    cell = rc.MultiRNNCell([rc.LSTMCell(6, forget_bias=0.3), rc.GRUCell(4), rc.BasicLSTMCell(5, forget_bias=0.7)])
    out, states = v1.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)
    tf.identity(v1.layers.dense(out, 3, name="proj"), name="logits")
    tf.identity(states[1], name="gru_state")
    tf.identity(states[2].c, name="top_c")


@pytest.fixture(scope="module")
def tf1_stack(tmp_path_factory):
    import tensorflow as tf

    root = tmp_path_factory.mktemp("stack")
    with tf1_style(), tf.Graph().as_default():
        _tf1_stack(tf, tf.compat.v1)
        prefix = save_random_weights(str(root / "src"), seed=4)
    from migrate.graph.convert import convert_graph

    lines = []
    report = convert_graph(prefix, str(root / "conv"), outputs=["logits:0", "gru_state:0", "top_c:0"],
                           log=lines.append)
    return root, prefix, report, lines


def _tf1_run(prefix, feeds):
    import tensorflow as tf

    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        tf.compat.v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
        return sess.run(["logits:0", "gru_state:0", "top_c:0"], {f"{k}:0": v for k, v in feeds.items()})


@pytest.mark.slow
def test_tf1_multirnncell_converts_into_one_loop_with_parity_and_back(tf1_stack):
    """The TF1 MultiRNNCell (random non-zero weights and biases, forget biases 0.3 and 0.7, lengths) becomes three
    named layers that run as one loop, equal to the TF1 graph on a fresh batch (lengths 6, 2, 4, 1); after a change
    of the Keras weights `convert --to tf1` writes a checkpoint the TF1 graph computes the same with."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.cli import main
    from tf_migrate_runtime.layers import stacked

    root, prefix, report, lines = tf1_stack
    assert report["parity"]["ok"], lines
    source = (root / "conv" / "model.py").read_text()
    for layer in ("tfm.LSTM(6, ", "tfm.GRU(4, reset_after=False", "tfm.LSTM(5, "):
        assert layer in source, source
    model = keras.saving.load_model(str(root / "conv" / "model.keras"))
    chains = [[n.operation.name for n in c] for c in stacked.plan(model).values()]
    assert chains == [["rnn__multi_rnn_cell__cell_0__lstm_cell", "rnn__multi_rnn_cell__cell_1__gru_cell",
                       "rnn__multi_rnn_cell__cell_2__basic_lstm_cell"]]
    rng = np.random.default_rng(9)
    feeds = {"x": rng.normal(size=(4, 6, 3)).astype("float32"), "lengths": np.array([6, 2, 4, 1], "int32")}
    assert _whiles(model, feeds) == 1
    want = _tf1_run(prefix, feeds)
    for got, w in zip(model(feeds), want):
        np.testing.assert_allclose(np.asarray(got), w, atol=1e-5)
    # under XLA too (narrow layers: their fused steps, one loop; `decoder.XLA_FUSED_MAX_WIDTH`)
    import tensorflow as tf

    assert _whiles(model, feeds, jit_compile=True) == 1
    for got, w in zip(tf.function(lambda x: model(x, training=False), jit_compile=True)(feeds), want):
        np.testing.assert_allclose(np.asarray(got), w, atol=1e-5)
    rng = np.random.default_rng(1)
    for w in model.trainable_weights:
        w.assign(np.asarray(w) + rng.normal(0, 0.3, tuple(w.shape)).astype("float32"))
    model.save(str(root / "conv" / "model.keras"))
    out = str(root / "back" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(root / "conv" / "model.keras"), "--out", out]) == 0
    for got, want in zip(model(feeds), _tf1_run(out, feeds)):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
