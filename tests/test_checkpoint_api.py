"""The Python API and the TOML mapping on the real 2017 checkpoint, checked against its own .meta graph."""

import os

import numpy as np
import pytest

from migrate.checkpoint import CheckpointError, Mapping, MappingError, apply_mapping, cell_weights, open_checkpoint

APLAIN = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures",
                                      "real_tf1_checkpoints", "aplain_basiclstm_2017"))

MAPPING_TOML = """\
version = 1
forget_bias = 0.8

[[map]]
checkpoint = "rnn/basic_lstm_cell"
keras = "lstm"
transform = "lstm"

[[map]]
checkpoint = "re:inference/weight(\\\\d)"
keras = "dense_{1}/kernel"

[[map]]
checkpoint = "re:inference/bias(\\\\d)"
keras = "dense_{1}/bias"
"""


@pytest.fixture(scope="module")
def oracle():
    """The 2017 graph itself, imported from model.ckpt.meta and run on random bit strings."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    x = np.random.RandomState(0).randint(0, 2, (6, 10, 1)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        saver = tf.compat.v1.train.import_meta_graph(os.path.join(APLAIN, "model.ckpt.meta"))
        with tf.compat.v1.Session(graph=g) as sess:
            saver.restore(sess, os.path.join(APLAIN, "model.ckpt"))
            y = sess.run("inference/add_1:0", {"input:0": x, "istate:0": np.zeros((6, 160), np.float32)})
    return x, y


def _keras_model():
    import keras

    inputs = keras.Input((10, 1))
    h = keras.layers.Dense(80, name="dense_1")(inputs)
    h = keras.layers.LSTM(80, name="lstm")(h)
    return keras.Model(inputs, keras.layers.Dense(1, name="dense_2")(h))


def test_rebuilt_keras_model_reproduces_the_meta_graph(oracle):
    x, want = oracle
    model = _keras_model()
    ckpt = open_checkpoint(APLAIN)
    model.get_layer("lstm").set_weights(cell_weights(ckpt, "rnn/basic_lstm_cell", forget_bias=0.8))
    model.get_layer("dense_1").set_weights([ckpt.read("inference/weight1"), ckpt.read("inference/bias1")])
    model.get_layer("dense_2").set_weights([ckpt.read("inference/weight2"), ckpt.read("inference/bias2")])
    got = np.asarray(model(x))
    assert np.abs(got - want).max() < 1e-5
    assert 2.5 < float(want.mean()) < 7.5          # it counts ones in 10 bits: a real, trained model


def test_folding_the_default_forget_bias_instead_is_visibly_wrong(oracle):
    x, want = oracle
    model = _keras_model()
    ckpt = open_checkpoint(APLAIN)
    with pytest.raises(CheckpointError, match=r"forget_bias= 1 disagrees with the .meta graph, which adds 0.8"):
        cell_weights(ckpt, forget_bias=1.0)          # the graph's own constant wins unless forced
    model.get_layer("lstm").set_weights(cell_weights(ckpt, forget_bias=1.0, force_forget_bias=True))
    model.get_layer("dense_1").set_weights([ckpt.read("inference/weight1"), ckpt.read("inference/bias1")])
    model.get_layer("dense_2").set_weights([ckpt.read("inference/weight2"), ckpt.read("inference/bias2")])
    assert np.abs(np.asarray(model(x)) - want).max() > 0.1


def test_toml_mapping_rebuilds_the_whole_model(oracle, tmp_path):
    x, want = oracle
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING_TOML)
    model = _keras_model()
    report = apply_mapping(model, APLAIN, str(path))
    assert report["assigned"]["dense_1/kernel"] == ["inference/weight1"]
    assert report["forget_bias"] == 0.8
    assert np.abs(np.asarray(model(x)) - want).max() < 1e-5


def test_mapping_problems_come_all_at_once_and_nothing_is_assigned():
    model = _keras_model()
    before = [w.numpy().copy() for w in model.weights]
    mapping = Mapping.from_dict({"forget_bias": 0.8, "map": [
        {"checkpoint": "rnn/basic_lstm_cell", "keras": "lstm", "transform": "lstm"},
        {"checkpoint": "inference/weight2", "keras": "dense_1/kernel"},     # [80, 1] into [1, 80]
    ]})
    with pytest.raises(MappingError) as e:
        apply_mapping(model, APLAIN, mapping)
    msg = str(e.value)
    assert e.value.code == 1
    assert "inference/weight2 -> dense_1/kernel: checkpoint gives shape [80, 1], Keras expects [1, 80]" in msg
    assert "checkpoint variable inference/bias1 [80] is neither mapped nor ignored" in msg
    assert "Keras weight dense_2/kernel [80, 1] is assigned 0 times" in msg
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)


def test_lstm_forget_bias_comes_from_the_graph_or_must_be_given(tmp_path):
    from_graph = cell_weights(APLAIN)                  # the .meta graph's own constant, 0.8
    for a, b in zip(from_graph, cell_weights(APLAIN, forget_bias=0.8)):
        np.testing.assert_array_equal(a, b)
    prefix = open_checkpoint(APLAIN).prefix
    for f in os.listdir(os.path.dirname(prefix)):     # the same checkpoint without its .meta
        if f.startswith(os.path.basename(prefix)) and not f.endswith(".meta"):
            with open(os.path.join(os.path.dirname(prefix), f), "rb") as src:
                (tmp_path / f).write_bytes(src.read())
    with pytest.raises(CheckpointError, match=r"BasicLSTMCell: pass cell_weights\(\.\.\., forget_bias=F\)"):
        cell_weights(str(tmp_path / os.path.basename(prefix)))
