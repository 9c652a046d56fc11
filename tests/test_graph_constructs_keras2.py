"""Keras 2 / tf.keras 1.x recurrent layers in TF1 graphs (migrate/graph/constructs/keras2_rnn.py): each graph
written op for op as Keras 2.2's TensorFlow backend wrote it (tests/keras2_builders.py: `K.rnn`'s while loop over the
gate-sliced weights, Keras 2's hard_sigmoid, random non-zero weights and biases), converted by `convert` with parity
into `tfm.LSTM` / `GRU` / `SimpleRNN` layers named after the Keras 2 layers, trainable."""

from __future__ import annotations

import numpy as np
import pytest
from construct_builders import converted_once
from keras2_builders import build

pytestmark = pytest.mark.slow

HS = "recurrent_activation='keras2_hard_sigmoid'"
# builder -> (the loops, what model.py constructs, the report's `translated` counts)
CASES = {
    "k2_lstm": (["lstm_1/while"], [f"tfm.LSTM(6, {HS}, return_sequences=True, return_state=True, name='lstm_1')"],
                {"keras2_rnn Keras 2 LSTM -> tfm.LSTM": 1}),
    "k2_gru": (["gru_1/while"], [f"tfm.GRU(5, {HS}, use_bias=False, reset_after=False, return_sequences=True"],
               {"keras2_rnn Keras 2 GRU -> tfm.GRU": 1}),
    "k2_gru_reset_after": (["gru_1/while"], ["tfm.GRU(5, reset_after=True, return_sequences=True"],
                           {"keras2_rnn Keras 2 GRU -> tfm.GRU": 1}),
    "k2_simple_rnn_backwards": (["simple_rnn_1/while"], [
        "tfm.SimpleRNN(4, activation='relu', go_backwards=True, return_sequences=True"],
        {"keras2_rnn Keras 2 SimpleRNN -> tfm.SimpleRNN": 1}),
    "k2_bilstm_stack": (["bidirectional_1/while", "bidirectional_1/while_1", "lstm_2/while", "lstm_3/while"], [
        f"tfm.LSTM(5, {HS}, go_backwards=True, return_sequences=True, return_state=True, "
        f"name='bidirectional_1__backward_lstm_1')",
        f"tfm.LSTM(5, {HS}, return_sequences=True, return_state=True, name='bidirectional_1__forward_lstm_1')",
        "keras.ops.flip(bidirectional_1__backward_lstm_1_seq, axis=1)", "keras.ops.concatenate(",
        f"tfm.LSTM(4, {HS}, return_sequences=True, return_state=True, name='lstm_3')"],
        {"keras2_rnn Keras 2 LSTM -> tfm.LSTM": 4}),
    "k2_bigru_sum": (["bidirectional_1/while", "bidirectional_1/while_1"], [
        f"tfm.GRU(4, {HS}, reset_after=False, go_backwards=True", "keras.ops.flip("],
        {"keras2_rnn Keras 2 GRU -> tfm.GRU": 2}),
    "k20_impl0_stack": (["gru_1/while", "lstm_1/while", "simple_rnn_1/while"], [
        f"tfm.LSTM(5, {HS}, go_backwards=True, return_sequences=True, return_state=True, name='lstm_1')",
        f"tfm.GRU(4, {HS}, reset_after=False", "tfm.SimpleRNN(3, return_sequences=True"],
        {"keras2_rnn Keras 2 LSTM -> tfm.LSTM": 1, "keras2_rnn Keras 2 GRU -> tfm.GRU": 1,
         "keras2_rnn Keras 2 SimpleRNN -> tfm.SimpleRNN": 1}),
    "tf_keras_stack": (["bidirectional/backward_gru_1/while", "bidirectional/forward_gru_1/while", "lstm/while",
                        "simple_rnn/while"], [
        "tfm.LSTM(4, return_sequences=True, return_state=True, name='lstm')",
        "tfm.GRU(3, reset_after=True, go_backwards=True", "keras.ops.divide(",
        "tfm.SimpleRNN(2, go_backwards=True, return_sequences=True, return_state=True, name='simple_rnn')"],
        {"keras2_rnn Keras 2 LSTM -> tfm.LSTM": 1, "keras2_rnn Keras 2 GRU -> tfm.GRU": 2,
         "keras2_rnn Keras 2 SimpleRNN -> tfm.SimpleRNN": 1}),
    "k2_lstm_impl2_masked": (["lstm_1/while"], [f"tfm.LSTM(5, {HS}, return_sequences=True", "mask="],
                             {"keras2_rnn Keras 2 LSTM -> tfm.LSTM": 1}),
}


# the final states too (return_state): the loop's Exits
OUTPUTS = {"k2_lstm": ["outputs:0", "final_h:0", "final_c:0"], "k2_lstm_impl2_masked": ["outputs:0", "final_h:0"]}


@pytest.fixture(scope="module")
def prefixes(tmp_path_factory):
    root = tmp_path_factory.mktemp("keras2")
    return {name: build(name, root) for name in CASES}


@pytest.fixture(scope="module")
def converted(prefixes, tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph converted once."""
    return converted_once(tmp_path_factory.mktemp("keras2_out"), prefixes.__getitem__,
                          lambda name: OUTPUTS.get(name, ["outputs:0"]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras2_layer_converts_to_its_keras_layer_with_parity(converted, name):
    loops, ctors, translated = CASES[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert len(report["parity"]["outputs"]) == len(OUTPUTS.get(name, ["outputs:0"]))
    assert sorted((lp["loop"], lp["how"]) for lp in report["loops"]) == [(lp, "recognised as keras2_rnn")
                                                                        for lp in loops], report["loops"]
    assert {k: v for k, v in report["translated"].items() if k.startswith("keras2_rnn")} == translated
    source = (out / "model.py").read_text()
    assert all(c in source for c in ctors), source
    assert "tfm.WhileLoop" not in source


def test_lstm_holds_the_keras2_weights_trains_and_reloads(prefixes, converted):
    """The tfm.LSTM holds Keras 2's own kernel, recurrent_kernel and bias (one gate order, i f c o, in both), all
    trainable with non-zero gradients; model.keras reloads with Keras 2's hard_sigmoid and the graph's outputs
    (Keras 3's own hard_sigmoid, relu6(x + 3) / 6, would not give them)."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import session_config  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    prefix = prefixes["k2_lstm"]
    model = keras.saving.load_model(str(converted("k2_lstm")[3] / "model.keras"))
    layer = next(la for la in model.layers if type(la) is tfm.LSTM)
    assert layer.name == "lstm_1" and layer.cell.recurrent_activation is tfm.keras2_hard_sigmoid
    ckpt = Checkpoint.open(prefix)
    for w, name in zip(layer.get_weights(), ("kernel", "recurrent_kernel", "bias")):
        np.testing.assert_array_equal(np.asarray(w), ckpt.read(f"lstm_1/{name}"))
    x = np.random.default_rng(4).normal(size=(3, 5, 4)).astype("float32") * 3   # past hard_sigmoid's +-2.5
    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        tf.compat.v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
        want = sess.run("outputs:0", {"x:0": x})
    got = model({"x": x})
    got = np.asarray(got[0] if isinstance(got, list | tuple) else got)
    np.testing.assert_allclose(got, want, atol=1e-5)
    keras3 = keras.layers.LSTM(6, recurrent_activation="hard_sigmoid", return_sequences=True)   # Keras 3's own
    keras3.build((None, 5, 4))
    keras3.set_weights(layer.get_weights())
    assert np.abs(np.asarray(keras3(x)) - want).max() > 1e-3
    assert len(layer.trainable_weights) == 3
    with tf.GradientTape() as tape:
        out = model({"x": x})
        loss = tf.reduce_sum(tf.square(out[0] if isinstance(out, list | tuple) else out))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_gru_reset_after_keeps_the_two_bias_rows(prefixes, converted):
    """`reset_after=True`: the Keras 3 GRU's bias is Keras 2's `[2, 3 * units]` itself (input row, recurrent row)."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    model = keras.saving.load_model(str(converted("k2_gru_reset_after")[3] / "model.keras"))
    layer = next(la for la in model.layers if type(la) is tfm.GRU)
    assert layer.cell.reset_after
    np.testing.assert_array_equal(np.asarray(layer.get_weights()[2]),
                                  Checkpoint.open(prefixes["k2_gru_reset_after"]).read("gru_1/bias"))


def test_keras2_hard_sigmoid_is_keras2s():
    """clip(0.2 x + 0.5, 0, 1), and not Keras 3's hard_sigmoid; the runtime layers take it by name."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415

    x = np.array([-3.0, -2.5, -1.0, 0.0, 1.0, 2.0, 2.5, 3.0], "float32")
    np.testing.assert_allclose(np.asarray(tfm.keras2_hard_sigmoid(x)), np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7)
    assert np.abs(np.asarray(keras.activations.hard_sigmoid(x)) - np.clip(0.2 * x + 0.5, 0, 1)).max() > 0.03
    assert tfm.GRU(3, recurrent_activation="keras2_hard_sigmoid").cell.recurrent_activation is tfm.keras2_hard_sigmoid


@pytest.mark.parametrize("name, scope, layer", [
    ("k2_bilstm_stack", "bidirectional_1/forward_lstm_1", "Keras 2 LSTM"),
    ("k2_gru_reset_after", "gru_1", "Keras 2 GRU"),
    ("k2_simple_rnn_backwards", "simple_rnn_1", "Keras 2 SimpleRNN"),
])
def test_inspect_names_the_keras2_layer(prefixes, name, scope, layer):
    """`inspect` calls a Keras 2 layer's kernel, recurrent kernel and bias a cell's (never a dense layer's)."""
    from migrate.checkpoint.inspection import inspect_json  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    rep = inspect_json(Checkpoint.open(prefixes[name]))
    assert not any(scope in str(d) for d in rep["dense"])
    cells = [c for c in rep["other_cells"] if c["scope"] == scope]
    assert len(cells) == 1 and cells[0]["tf1_class"] == layer, rep["other_cells"]
    assert sorted(cells[0]["variables"]) == [f"{scope}/{w}" for w in ("bias", "kernel", "recurrent_kernel")]


@pytest.mark.parametrize("name, layer", [("k20_impl0_stack", "lstm_1"), ("k20_impl0_stack", "gru_1"),
                                         ("k2_lstm_impl2_masked", "lstm_1"), ("tf_keras_stack", "lstm")])
def test_every_implementation_gives_the_layers_own_weights(prefixes, converted, name, layer):
    """Implementation 0 (the input projected before the loop), 2 (one product, sliced) and tf.keras's split: the
    Keras 3 layer holds the Keras 2 layer's kernel, recurrent kernel and bias exactly."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    model = keras.saving.load_model(str(converted(name)[3] / "model.keras"))
    got = next(la for la in model.layers if la.name == layer).get_weights()
    ckpt = Checkpoint.open(prefixes[name])
    scope = f"{layer}/{layer}_cell" if name == "tf_keras_stack" else layer
    for w, role in zip(got, ("kernel", "recurrent_kernel", "bias")):
        np.testing.assert_array_equal(np.asarray(w), ckpt.read(f"{scope}/{role}"))
