"""Cells and wrappers the construct registry turns into readable Keras layers (migrate/graph/constructs/): each built
with the real TF1 cell class (tests/construct_builders.py: random non-zero weights and biases, non-default forget
biases), converted by `convert --from-graph` with parity, trainable, and named by `inspect`."""

from __future__ import annotations

import numpy as np
import pytest
from construct_builders import build, converted_once

pytestmark = pytest.mark.slow

# builder -> (the loop's "how", what model.py constructs, the report's `translated` key)
CASES = {
    "basic_rnn": ("recognised as dynamic_rnn", ["tfm.SimpleRNN(6, return_sequences=True"],
                  "dynamic_rnn BasicRNNCell -> tfm.SimpleRNN"),
    "basic_rnn_relu_static": ("recognised as static_rnn", ["tfm.SimpleRNN(5, activation='relu'"],
                              "static_rnn BasicRNNCell(activation=relu) -> tfm.SimpleRNN"),
    "time_major_stack": ("recognised as dynamic_rnn", ["tfm.SimpleRNN(6, activation='relu'",
                                                       "tfm.GRU(3, reset_after=False"],
                         "dynamic_rnn BasicRNNCell(activation=relu) -> tfm.SimpleRNN"),
    "sigmoid_lstm_lengths": ("recognised as dynamic_rnn", ["tfm.LSTM(6, forget_bias=0.3, activation='sigmoid'"],
                             "dynamic_rnn LSTMCell/BasicLSTMCell(activation=sigmoid) -> tfm.LSTM"),
    "relu_basic_lstm": ("recognised as dynamic_rnn", ["tfm.LSTM(6, forget_bias=0.6, activation='relu'"],
                        "dynamic_rnn LSTMCell/BasicLSTMCell(activation=relu) -> tfm.LSTM"),
    "projection_wrapper_lengths": ("recognised as dynamic_rnn", [
        "tfm.LSTM(6, forget_bias=0.4, return_sequences=True",
        "keras.layers.Dense(3, use_bias=True, name='rnn__output_projection_wrapper')"],
        "dynamic_rnn OutputProjectionWrapper -> keras.layers.Dense"),
    "projection_wrapper_gru_stack": ("recognised as dynamic_rnn", [
        "tfm.GRU(4, reset_after=False",
        "keras.layers.Dense(3, activation='tanh', use_bias=True, name='rnn__output_projection_wrapper')"],
        "dynamic_rnn OutputProjectionWrapper -> keras.layers.Dense"),
    "peephole": ("recognised as dynamic_rnn", [
        "tfm.PeepholeLSTM(6, use_peepholes=True, forget_bias=0.7, return_sequences=True"],
        "dynamic_rnn LSTMCell -> tfm.PeepholeLSTM"),
    "peephole_projection": ("recognised as dynamic_rnn", [
        "tfm.PeepholeLSTM(6, use_peepholes=True, num_proj=3, cell_clip=0.8, forget_bias=0.3, return_sequences"],
        "dynamic_rnn LSTMCell -> tfm.PeepholeLSTM"),
    "projection_clip_stack": ("recognised as dynamic_rnn", [
        "tfm.PeepholeLSTM(6, use_peepholes=False, num_proj=4, proj_clip=0.3, forget_bias=0.2, return_sequences",
        "tfm.PeepholeLSTM(5, use_peepholes=True, forget_bias=0.9, activation='relu', return_sequences"],
        "dynamic_rnn LSTMCell(activation=relu) -> tfm.PeepholeLSTM"),
    "wrapped_stack": ("recognised as dynamic_rnn", [   # 3 layers: dropout, residual(dropout(GRU)), dropout(residual)
        "tfm.GRU(6, reset_after=False", "# ResidualWrapper around rnn/multi_rnn_cell/cell_1/gru_cell",
        "# ResidualWrapper around rnn/multi_rnn_cell/cell_2/lstm_cell"],
        "dynamic_rnn ResidualWrapper -> keras.ops.add"),
    "residual_first_layer": ("recognised as dynamic_rnn", [
        "tfm.LSTM(6, forget_bias=0.5, return_sequences=True", "# ResidualWrapper around rnn/multi_rnn_cell/cell_0/"],
        "dynamic_rnn ResidualWrapper -> keras.ops.add"),
    "layer_norm_lstm": ("recognised as dynamic_rnn", [
        "tfm.LayerNormLSTM(6, forget_bias=0.8, return_sequences=True, return_state=True"],
        "dynamic_rnn LayerNormBasicLSTMCell -> tfm.LayerNormLSTM"),
}


@pytest.fixture(scope="module")
def prefixes(tmp_path_factory):
    root = tmp_path_factory.mktemp("cells")
    return {name: build(name, root) for name in CASES}


@pytest.fixture(scope="module")
def converted(prefixes, tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph converted once."""
    return converted_once(tmp_path_factory.mktemp("cells_out"), prefixes.__getitem__)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cell_converts_to_its_keras_layer_with_parity(converted, name):
    how, ctors, key = CASES[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert [lp["how"] for lp in report["loops"]] == [how], report["loops"]
    assert report["translated"].get(key) == (2 if name == "wrapped_stack" else 1), report["translated"]
    source = (out / "model.py").read_text()
    assert all(c in source for c in ctors), source
    assert "tfm.WhileLoop" not in source


def test_simple_rnn_holds_the_tf1_kernel_and_trains(prefixes, converted):
    """The SimpleRNN's weights are BasicRNNCell's kernel split at the input size and its bias; all three are
    trainable and get non-zero gradients; model.keras reloads to the same outputs."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    model = keras.saving.load_model(str(converted("basic_rnn")[3] / "model.keras"))
    layer = next(la for la in model.layers if type(la) is tfm.SimpleRNN)   # the runtime subclass, reloaded as itself
    ckpt = Checkpoint.open(prefixes["basic_rnn"])
    kernel, bias = ckpt.read("rnn/basic_rnn_cell/kernel"), ckpt.read("rnn/basic_rnn_cell/bias")
    k, r, b = (np.asarray(w) for w in layer.get_weights())
    np.testing.assert_array_equal(k, kernel[:4])
    np.testing.assert_array_equal(r, kernel[4:])
    np.testing.assert_array_equal(b, bias)
    assert len(layer.trainable_weights) == 3
    x = {"x": np.random.default_rng(2).normal(size=(3, 5, 4)).astype("float32"),
         "lengths": np.array([5, 2, 4], "int32")}
    with tf.GradientTape() as tape:
        out = model(x)
        loss = tf.reduce_sum(tf.square(out[0] if isinstance(out, list | tuple) else out))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_peephole_lstm_holds_the_tf1_weights_and_trains(prefixes, converted):
    """tfm.PeepholeLSTM holds LSTMCell's kernel, bias, peephole vectors and projection as TF1 names and saves them
    (the forget bias stays a constant of the layer); every one is trainable and gets a gradient; model.keras
    reloads to the graph's outputs."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    model = keras.saving.load_model(str(converted("peephole_projection")[3] / "model.keras"))
    layer = next(la for la in model.layers if isinstance(la, tfm.PeepholeLSTM))
    names = [w.path.rsplit("/", 1)[-1] for w in layer.trainable_weights]
    assert names == ["kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag", "projection_kernel"]
    assert layer.cell.forget_bias == pytest.approx(0.3) and layer.cell.cell_clip == pytest.approx(0.8)
    ckpt = Checkpoint.open(prefixes["peephole_projection"])
    for w, tf1 in zip(layer.trainable_weights, ("kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag",
                                                "projection/kernel")):
        np.testing.assert_array_equal(np.asarray(w), ckpt.read(f"rnn/lstm_cell/{tf1}"))
    x = np.random.default_rng(3).normal(size=(2, 5, 4)).astype("float32")
    with tf.GradientTape() as tape:
        out = model({"x": x})
        loss = tf.reduce_sum(tf.square(out[0] if isinstance(out, list | tuple) else out))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_layer_norm_lstm_holds_the_tf1_weights(prefixes, converted):
    """tfm.LayerNormLSTM holds the cell's kernel and its five gamma / beta pairs as TF1 names them, all trainable;
    its outputs on a fresh batch equal the TF1 graph's."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import session_config  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    prefix = prefixes["layer_norm_lstm"]
    model = keras.saving.load_model(str(converted("layer_norm_lstm")[3] / "model.keras"))
    layer = next(la for la in model.layers if isinstance(la, tfm.LayerNormLSTM))
    ckpt = Checkpoint.open(prefix)
    tf1 = ["kernel"] + [f"{n}/{w}" for n in ("input", "transform", "forget", "output", "state") for w in ("gamma", "beta")]
    assert [w.path.rsplit("/", 1)[-1] for w in layer.trainable_weights] == [t.replace("/", "_") for t in tf1]
    for w, name in zip(layer.trainable_weights, tf1):
        np.testing.assert_array_equal(np.asarray(w), ckpt.read(f"rnn/layer_norm_basic_lstm_cell/{name}"))
    feed = {"x": np.random.default_rng(4).normal(size=(4, 5, 4)).astype("float32"),
            "lengths": np.array([5, 1, 3, 4], "int32")}
    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        tf.compat.v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
        want = sess.run("outputs:0", {"x:0": feed["x"], "lengths:0": feed["lengths"]})
    got = model(feed)
    got = np.asarray(got[0] if isinstance(got, list | tuple) else got)
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("name, scope, tf1_class", [
    ("basic_rnn", "rnn/basic_rnn_cell", "BasicRNNCell"),
    ("relu_basic_lstm", "rnn/basic_lstm_cell", None),
    ("peephole_projection", "rnn/lstm_cell", None),
])
def test_inspect_names_the_cell(prefixes, name, scope, tf1_class):
    """`inspect` calls the kernel a cell's (never a dense layer's)."""
    from migrate.checkpoint.inspection import inspect_json  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    rep = inspect_json(Checkpoint.open(prefixes[name]))
    assert not any(scope in str(d) for d in rep["dense"])
    cells = [c for c in rep["cells"] + rep["other_cells"] if c["scope"] == scope]
    assert len(cells) == 1, rep["cells"] + rep["other_cells"]
    if tf1_class:
        assert cells[0]["tf1_class"] == tf1_class
