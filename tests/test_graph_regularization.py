"""Issue 22, point 2: a TF1 loss's weight penalties are carried into the converted model's `fit`.

`xent + c * tf.nn.l2_loss(w)`, `tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()]) * c`, a layer's
`kernel_regularizer` collected in REGULARIZATION_LOSSES and summed by `tf.losses.get_total_loss()`, and
`c * reduce_sum(abs(w))` become Keras regularizers on the weights holding those variables (`kernel_regularizer=`,
`recurrent_regularizer=` for the second half of a TF1 LSTM kernel, `embeddings_regularizer=`, ...), so the training
objective is TF1's total loss: the convert-time loss check compares the totals, and one SGD step of
`compile_for_training(model)` moves every weight as the graph's own `GradientDescentOptimizer` step does. A penalty
on a weight the translation folds a constant into (an LSTM bias with its forget bias) is stated, not dropped.

Small graphs built in TF1 style, random non-zero weights and biases, LSTM forget bias 0.7; one conversion each."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

C, B, LR = 5, 4, 0.5


def _built(path: str, ids: bool, model) -> str:
    """One TF1-style graph: input `x` [B, 8] floats (or `ids` [B, 6] ints), labels `y` [B]; `model(tf, v1, x, y)`
    returns the total loss, which SGD(0.5) minimises (`train_step`, the step the tests compare); random non-zero
    weights saved. -> the checkpoint prefix."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.int32, [None, 6], name="ids") if ids else \
                v1.placeholder(tf.float32, [None, 8], name="x")
            y = v1.placeholder(tf.int32, [None], name="y")
            total = tf.identity(model(tf, v1, x, y), name="total_loss")
            v1.train.GradientDescentOptimizer(LR).minimize(total, name="train_step")
            save_random_weights(path)
    return os.path.join(path, "model.ckpt")


def _mean_xent(tf, v1, y, logits):
    return tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))


def _dense(path: str, loss: str) -> str:
    """x -> dense(16, tanh) -> dense(5) logits -> sparse softmax cross-entropy; `loss`: "collection"
    (tf.losses.sparse_softmax_cross_entropy + the first layer's kernel_regularizer 0.003 * l2_loss, summed by
    tf.losses.get_total_loss()) or "all_trainable" (tf.reduce_mean(xent) + tf.add_n(l2_loss of every trainable
    variable, biases too) * 1e-2)."""
    def model(tf, v1, x, y):
        reg = (lambda w: 0.003 * tf.nn.l2_loss(w)) if loss == "collection" else None
        logits = v1.layers.dense(v1.layers.dense(x, 16, tf.tanh, kernel_regularizer=reg, name="hidden"), C,
                                 name="logits")
        if loss == "collection":
            v1.losses.sparse_softmax_cross_entropy(y, logits)
            return v1.losses.get_total_loss()
        return _mean_xent(tf, v1, y, logits) + tf.add_n([tf.nn.l2_loss(v) for v in v1.trainable_variables()]) * 1e-2

    return _built(path, False, model)


def _rnn(path: str, cell: str = "lstm", bias: str = "l2") -> str:
    """ids -> embedding [11, 4] -> dynamic_rnn -> last output -> dense(5). `cell` "lstm": LSTMCell(6,
    forget_bias=0.7), loss = mean xent + 0.02 * l2_loss(cell kernel) + 1e-3 * reduce_sum(abs(embedding)) (tf.keras'
    l1 form) + a penalty on the cell bias (tfm.LSTM holds TF1's, its forget bias added at run time): `bias` "l2"
    0.05 * l2_loss(bias), "l1" 0.01 * reduce_sum(abs(bias)). `cell` "gru": GRUCell(6), loss = mean xent + 1e-2 *
    add_n(l2_loss) over every trainable variable (a Keras GRU kernel holds TF1's gates AND candidate kernels)."""
    def model(tf, v1, ids, y):
        emb = v1.get_variable("embedding", [11, 4])
        rnn_cell = v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.7) if cell == "lstm" else v1.nn.rnn_cell.GRUCell(6)
        out, _ = v1.nn.dynamic_rnn(rnn_cell, tf.nn.embedding_lookup(emb, ids), dtype=tf.float32)
        xent = _mean_xent(tf, v1, y, v1.layers.dense(out[:, -1], C, name="proj"))
        if cell == "gru":
            return xent + tf.add_n([tf.nn.l2_loss(v) for v in v1.trainable_variables()]) * 1e-2
        kernel, b = rnn_cell.weights
        total = xent + 0.02 * tf.nn.l2_loss(kernel) + 1e-3 * tf.reduce_sum(tf.abs(emb))
        return total + (0.05 * tf.nn.l2_loss(b) if bias == "l2" else 0.01 * tf.reduce_sum(tf.abs(b)))

    return _built(path, True, model)


def _conv(path: str) -> str:
    """x -> conv1d(kernel [3, 1, 2], SAME) (no Keras layer: a `tfm.Variable` and keras.ops) -> [B, 16] ->
    hand-written `tf.matmul(h, w) + b` -> logits; loss = mean xent + 0.01 * (l2_loss(conv kernel) + l2_loss(w))."""
    def model(tf, v1, x, y):
        k = v1.get_variable("conv_kernel", [3, 1, 2])
        w, b = v1.get_variable("w", [16, C]), v1.get_variable("b", [C])
        h = tf.reshape(tf.nn.conv1d(tf.expand_dims(x, -1), k, 1, "SAME"), [-1, 16])
        return _mean_xent(tf, v1, y, tf.matmul(h, w) + b) + 0.01 * (tf.nn.l2_loss(k) + tf.nn.l2_loss(w))

    return _built(path, False, model)


def _convert(prefix, out, **kw):
    from migrate.graph import convert_graph  # noqa: PLC0415

    logs = []
    report = convert_graph(prefix, str(out), log=logs.append, **kw)
    return report, logs


def _feed(kind: str):
    rng = np.random.RandomState(4)
    x = {"x": rng.normal(0, 1, (B, 8)).astype("float32")} if kind == "dense" else \
        {"ids": rng.randint(0, 11, (B, 6)).astype("int32")}
    return x, rng.randint(0, C, (B,)).astype("int32")


def _tf1_step(prefix, x, y):
    """The graph's own step: (its total loss before the step, every trainable variable after it)."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default(), v1.Session(graph=g) as s:
        saver = v1.train.import_meta_graph(prefix + ".meta")
        saver.restore(s, prefix)
        feed = {f"{k}:0": v for k, v in x.items()} | {"y:0": y}
        loss, _ = s.run(["total_loss:0", "train_step"], feed)
        return float(loss), {v.op.name: s.run(v) for v in v1.trainable_variables()}


def _keras_step(folder, x, y):
    """compile_for_training(model, SGD(0.5)) from the written model.py, one train_on_batch: (its loss, the model)."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    spec = importlib.util.spec_from_file_location("converted_model", os.path.join(folder, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)   # our own generated source, in a test
    model = keras.saving.load_model(os.path.join(folder, "model.keras"), compile=False)
    train = module.compile_for_training(model, optimizer=keras.optimizers.SGD(LR))
    loss = float(train.train_on_batch(x, y, return_dict=True)["loss"])
    return loss, model


@pytest.fixture(scope="module")
def dense_collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("reg_dense")
    prefix = _dense(str(root / "src"), "collection")
    return (root, prefix, *_convert(prefix, root / "conv"))


def test_collected_kernel_regularizer_is_the_layers_kernel_regularizer(dense_collection):
    root, prefix, report, logs = dense_collection
    loss = report["training_loss"]
    assert report["parity"]["ok"] and loss["reproduced"], loss
    assert loss["parity"]["ok"] and loss["parity"]["compared"] == "the totals, regularisation included", loss
    assert loss["parity"]["regularization"] > 0 and "not_carried" not in loss["parity"]
    (entry,) = loss["regularization"]
    assert entry["variable"] == "hidden/kernel" and entry["keras"] == "keras.regularizers.L2(0.0015)"
    assert entry["keras_weights"] == ["hidden(kernel_regularizer=...)"]
    source = (root / "conv" / "model.py").read_text()
    assert "keras.layers.Dense(16, kernel_regularizer=keras.regularizers.L2(0.0015), name='hidden')" in source
    assert "keras.layers.Dense(5, name='logits')" in source   # the unpenalised layer unchanged
    assert "1 weight penalty" in loss["tf1"] and "1 of 1 weight penalties carried" in "\n".join(logs)


def test_one_sgd_step_moves_the_weights_as_tf1s_step(dense_collection):
    root, prefix, _, _ = dense_collection
    x, y = _feed("dense")
    tf1_loss, tf1_after = _tf1_step(prefix, x, y)
    loss, model = _keras_step(str(root / "conv"), x, y)
    assert loss == pytest.approx(tf1_loss, rel=1e-5)   # the total: cross-entropy + 0.003 * l2_loss(kernel)
    np.testing.assert_allclose(model.get_layer("hidden").kernel.numpy(), tf1_after["hidden/kernel"], atol=2e-6)
    np.testing.assert_allclose(model.get_layer("logits").kernel.numpy(), tf1_after["logits/kernel"], atol=2e-6)


def test_a_penalty_on_every_trainable_variable_regularises_every_weight(tmp_path):
    prefix = _dense(str(tmp_path / "src"), "all_trainable")
    report, _ = _convert(prefix, tmp_path / "conv")
    loss = report["training_loss"]
    assert loss["parity"]["ok"], loss
    assert sorted(e["variable"] for e in loss["regularization"]) == ["hidden/bias", "hidden/kernel", "logits/bias",
                                                                     "logits/kernel"]
    assert {e["keras"] for e in loss["regularization"]} == {"keras.regularizers.L2(0.005)"}
    source = (tmp_path / "conv" / "model.py").read_text()
    assert "keras.layers.Dense(5, bias_regularizer=keras.regularizers.L2(0.005), " \
           "kernel_regularizer=keras.regularizers.L2(0.005), name='logits')" in source
    x, y = _feed("dense")
    tf1_loss, tf1_after = _tf1_step(prefix, x, y)
    got, model = _keras_step(str(tmp_path / "conv"), x, y)
    assert got == pytest.approx(tf1_loss, rel=1e-5)
    for layer in ("hidden", "logits"):
        np.testing.assert_allclose(model.get_layer(layer).bias.numpy(), tf1_after[f"{layer}/bias"], atol=2e-6)


@pytest.fixture(scope="module")
def lstm(tmp_path_factory):
    root = tmp_path_factory.mktemp("reg_lstm")
    prefix = _rnn(str(root / "src"))
    return (root, prefix, *_convert(prefix, root / "conv"))


def test_an_lstm_cell_kernel_penalty_is_keras_kernel_and_recurrent_kernel(lstm):
    from migrate.checkpoint.cell_layouts.lstm import lstm_to_keras  # noqa: PLC0415

    root, prefix, report, _ = lstm
    loss = report["training_loss"]
    assert loss["parity"]["ok"], loss
    by_var = {e["variable"]: e for e in loss["regularization"]}
    assert by_var["rnn/lstm_cell/kernel"]["keras"] == "keras.regularizers.L2(0.01)"
    assert by_var["embedding"]["keras"] == "keras.regularizers.L1(0.001)"
    assert by_var["embedding"]["keras_weights"] == ["embedding(embeddings_regularizer=...)"]
    source = (root / "conv" / "model.py").read_text()
    # the bias: TF1's own (tfm.LSTM adds the forget bias 0.7 at run time), so TF1's L2 is Keras' L2 on it
    assert "tfm.LSTM(6, forget_bias=0.7, return_sequences=True, return_state=True, " \
           "bias_regularizer=keras.regularizers.L2(0.025), " \
           "kernel_regularizer=keras.regularizers.L2(0.01), " \
           "recurrent_regularizer=keras.regularizers.L2(0.01), name='rnn__lstm_cell')" in source
    x, y = _feed("lstm")
    tf1_loss, tf1_after = _tf1_step(prefix, x, y)
    got, model = _keras_step(str(root / "conv"), x, y)
    assert got == pytest.approx(tf1_loss, rel=1e-5)
    k, rk, b = lstm_to_keras(tf1_after["rnn/lstm_cell/kernel"], tf1_after["rnn/lstm_cell/bias"], 4, 0.0)
    layer = model.get_layer("rnn__lstm_cell")
    for want, have in zip((k, rk, b), layer.weights):
        np.testing.assert_allclose(have.numpy(), want, atol=2e-6)
    np.testing.assert_allclose(model.get_layer("embedding").weights[0].numpy(), tf1_after["embedding"], atol=2e-6)


def test_an_l1_penalty_on_an_lstm_bias_is_carried_as_tf1s(tmp_path):
    """The variant: L1 on the LSTM bias. tfm.LSTM holds TF1's bias (the forget bias 0.7 added at run time), so the
    penalty is Keras' L1 on it, carried with the other two, and the loss with regularisation matches TF1's (before,
    with the forget bias folded into the bias, no L1 took the shift: it was stated and not carried)."""
    prefix = _rnn(str(tmp_path / "src"), bias="l1")
    report, _ = _convert(prefix, tmp_path / "conv")
    loss = report["training_loss"]
    by_var = {e["variable"]: e for e in loss["regularization"]}
    assert by_var["rnn/lstm_cell/bias"]["keras"] == "keras.regularizers.L1(0.01)"
    assert not any("not_carried" in e for e in loss["regularization"]), loss["regularization"]
    assert loss["parity"]["ok"] and loss["parity"]["abs_diff"] < 1e-5, loss["parity"]
    assert "bias_regularizer=keras.regularizers.L1(0.01)" in (tmp_path / "conv" / "model.py").read_text()


def test_weight_regularizers_on_a_layer_without_the_argument_survive_save_and_load(tmp_path):
    """tfm.Model's `weight_regularizers` (a weight no layer argument takes: a tfm.BiasAdd's): on the variable, in
    `model.losses` and in a model built on its layers, and back after a `.keras` round trip."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415

    x = keras.Input((3,), name="x")
    out = tfm.BiasAdd(3, name="b")(x)
    model = tfm.Model(inputs={"x": x}, outputs=[out], name="m",
                      weight_regularizers=[["b", 0, keras.regularizers.L2(0.25)]])
    model.get_layer("b").weights[0].assign(np.array([1.0, 2.0, -2.0], "float32"))
    assert [float(v) for v in model.losses] == [pytest.approx(2.25)]
    assert [float(v) for v in keras.Model(model.input, model.outputs).losses] == [pytest.approx(2.25)]
    model.save(str(tmp_path / "m.keras"))
    back = keras.saving.load_model(str(tmp_path / "m.keras"))
    assert [float(v) for v in back.losses] == [pytest.approx(2.25)]
    with pytest.raises(ValueError, match="names weight 1 of layer 'b', which has 1 weights"):
        tfm.Model(inputs={"x": x}, outputs=[out], weight_regularizers=[["b", 1, keras.regularizers.L2(0.1)]])


def test_a_gru_penalised_over_every_variable_takes_it_on_kernels_made_of_two_variables(tmp_path):
    """The variant: a Keras GRU kernel / recurrent kernel / bias each hold TF1's gates AND candidate variables
    (reordered, split): with the same penalty on both, each takes it; one SGD step equals TF1's."""
    from migrate.checkpoint.cell_layouts.gru import gru_to_keras  # noqa: PLC0415

    prefix = _rnn(str(tmp_path / "src"), cell="gru")
    report, _ = _convert(prefix, tmp_path / "conv")
    loss = report["training_loss"]
    assert loss["parity"]["ok"], loss
    by_var = {e["variable"]: e["keras_weights"] for e in loss["regularization"]}
    assert by_var["rnn/gru_cell/gates/kernel"] == by_var["rnn/gru_cell/candidate/kernel"] == [
        "rnn__gru_cell(kernel_regularizer=...)", "rnn__gru_cell(recurrent_regularizer=...)"]
    assert "tfm.GRU(6, reset_after=False, return_sequences=True, return_state=True, " \
           "bias_regularizer=keras.regularizers.L2(0.005), kernel_regularizer=keras.regularizers.L2(0.005), " \
           "recurrent_regularizer=keras.regularizers.L2(0.005), " in (tmp_path / "conv" / "model.py").read_text()
    x, y = _feed("lstm")
    tf1_loss, after = _tf1_step(prefix, x, y)
    got, model = _keras_step(str(tmp_path / "conv"), x, y)
    assert got == pytest.approx(tf1_loss, rel=1e-5)
    cell = "rnn/gru_cell/"
    want = gru_to_keras(after[cell + "gates/kernel"], after[cell + "gates/bias"], after[cell + "candidate/kernel"],
                        after[cell + "candidate/bias"], 4)
    for w, have in zip(want, model.get_layer("rnn__gru_cell").weights):
        np.testing.assert_allclose(have.numpy(), w, atol=2e-6)


def test_a_penalty_on_a_weight_no_layer_argument_takes_goes_to_the_models_weight_regularizers(tmp_path):
    """A conv1d kernel is a `tfm.Variable` read by keras.ops: its penalty is `tfm.Model(weight_regularizers=...)`,
    on the variable itself: `compile_for_training`'s model trains with it (one SGD step equals TF1's) and the
    trained model's `.keras` file keeps it."""
    import keras  # noqa: PLC0415

    prefix = _conv(str(tmp_path / "src"))
    report, _ = _convert(prefix, tmp_path / "conv")
    loss = report["training_loss"]
    assert loss["parity"]["ok"], loss
    assert [e["keras_weights"] for e in loss["regularization"]] == [
        ["conv_kernel[0] (tfm.Model weight_regularizers)"], ["w(kernel_regularizer=...)"]]
    assert "name='converted', weight_regularizers=[['conv_kernel', 0, keras.regularizers.L2(0.005)]])" in \
        (tmp_path / "conv" / "model.py").read_text()
    x, y = _feed("dense")
    tf1_loss, after = _tf1_step(prefix, x, y)
    got, model = _keras_step(str(tmp_path / "conv"), x, y)
    assert got == pytest.approx(tf1_loss, rel=1e-5)
    np.testing.assert_allclose(model.get_layer("conv_kernel").weights[0].numpy(), after["conv_kernel"], atol=2e-6)
    model.save(str(tmp_path / "trained.keras"))
    back = keras.saving.load_model(str(tmp_path / "trained.keras"))
    assert sorted(float(v) for v in back.losses) == pytest.approx(sorted(float(v) for v in model.losses))
    assert back.get_layer("conv_kernel").weights[0].regularizer.get_config() == {"l2": 0.005}


def test_a_penalty_on_weights_a_decoder_layer_holds_goes_to_the_models_weight_regularizers(tmp_path):
    """Scheduled sampling (p 0.5) over LSTMCell(5, forget_bias=0.7) + Dense(11), loss + 0.01 * l2_loss of the
    decoder cell kernel and the output kernel: `tfm.ScheduledEmbeddingTrainingDecoder` holds both itself (no
    regulariser argument), so `tfm.Model(weight_regularizers=...)` names its weights 0 and 1 (TF1's kernel is
    Keras' kernel + recurrent kernel) and 3 (output_kernel); `model.losses` is TF1's penalty on the checkpoint."""
    import keras  # noqa: PLC0415
    from test_graph_sampling_helpers import _build  # noqa: PLC0415
    from test_graph_to_tf1 import _read  # noqa: PLC0415

    src = _build(str(tmp_path / "src"), kind="lstm", helper="scheduled", penalty=0.01)
    report, _ = _convert(os.path.join(src, "model.ckpt"), tmp_path / "conv", outputs=["logits:0", "ids:0"])
    loss = report["training_loss"]
    assert report["parity"]["ok"] and loss["reproduced"] and loss["parity"]["ok"] is None   # the graph samples: its loss is not compared
    lname = "decoder__decoder__scheduled_decoder"
    assert {e["variable"]: e["keras_weights"] for e in loss["regularization"]} == {
        "decoder/decoder/lstm_cell/kernel": [f"{lname}[0] (tfm.Model weight_regularizers)",
                                             f"{lname}[1] (tfm.Model weight_regularizers)"],
        "decoder/decoder/output_projection/kernel": [f"{lname}[3] (tfm.Model weight_regularizers)"]}
    model = keras.saving.load_model(str(tmp_path / "conv" / "model.keras"))
    ckpt = _read(os.path.join(src, "model.ckpt"))
    want = 0.005 * sum(float(np.sum(ckpt[v].astype("float64") ** 2)) for v in (
        "decoder/decoder/lstm_cell/kernel", "decoder/decoder/output_projection/kernel"))
    assert sum(float(v) for v in model.losses) == pytest.approx(want, rel=1e-5)
