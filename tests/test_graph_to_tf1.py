"""`convert --to tf1 DIR` for a model `convert --from-graph` made (migrate/graph/to_tf1.py): TF1 graph -> Keras ->
weights changed -> TF1 checkpoint -> restored into the ORIGINAL graph, which then computes what the changed Keras
model computes; an unchanged round trip is exact, variables the Keras model lacks are copied."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from construct_builders import build_cudnn, build_cudnn_canonical
from tf1_models import save_random_weights, tf1_style


def _lstm_gru(tf, v1):   # embedding -> LSTMCell(forget_bias=0.7) -> GRUCell -> dense, plus a global_step
    ids = v1.placeholder(tf.int32, [None, 4], name="ids")
    emb = v1.get_variable("embedding", [9, 5])
    x = tf.nn.embedding_lookup(emb, ids)
    cell = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.7),
                                        v1.nn.rnn_cell.GRUCell(4)])
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    logits = v1.layers.dense(out, 3, name="proj")
    tf.identity(logits, name="logits")
    v1.train.get_or_create_global_step()


def _build(root, builder) -> str:
    import tensorflow as tf  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        builder(tf, tf.compat.v1)
        os.makedirs(root, exist_ok=True)
        return save_random_weights(str(root), seed=3)


def _convert(prefix, out, outputs):
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    convert_graph(prefix, str(out), outputs=outputs, log=lambda m: None)
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    return keras.saving.load_model(str(out / "model.keras"), compile=False)


def _perturb(model, seed=1):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.trainable:
            w.assign(np.asarray(w.numpy()) + rng.normal(0, 0.3, tuple(w.shape)).astype(np.float32))


def _tf1_outputs(prefix, outputs, feed, meta=None):
    from migrate.parity.tf1_graph import TF1Graph  # noqa: PLC0415

    tf1 = TF1Graph(prefix, meta=meta)
    try:
        tf1.focus(outputs)
        return tf1.run(outputs, feed)
    finally:
        tf1.close()


def _read(prefix):
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    ck = Checkpoint.open(prefix)
    return {n: np.asarray(ck.read(n)) for n in ck.variables}


@pytest.fixture(scope="module")
def lstm_gru(tmp_path_factory):
    root = tmp_path_factory.mktemp("to_tf1")
    prefix = _build(root / "src", _lstm_gru)
    return root, prefix, _convert(prefix, root / "conv", ["logits:0"])


def test_unchanged_round_trip_is_exact(lstm_gru):
    from migrate.cli import main  # noqa: PLC0415

    root, prefix, _model = lstm_gru
    out = str(root / "same" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(root / "conv"), "--out", out, "--report", str(root / "r.json")]) == 0
    got, want = _read(out), _read(prefix)
    assert sorted(got) == sorted(want)
    for n in want:
        np.testing.assert_array_equal(got[n], want[n], err_msg=n)
    report = json.loads((root / "r.json").read_text())
    assert report["changed"] == [] and "global_step" in report["copied_from_source"]
    assert os.path.isfile(out + ".meta")


def test_changed_weights_restore_into_the_original_graph(lstm_gru):
    """LSTM gate order and the 0.7 forget bias, the GRU's gates / candidate split, embedding and dense: the original
    graph restored from the written checkpoint computes what the perturbed Keras model computes."""
    from migrate.cli import main  # noqa: PLC0415

    root, prefix, model = lstm_gru
    _perturb(model)
    model.save(str(root / "conv" / "model.keras"))
    out = str(root / "changed" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(root / "conv" / "model.keras"), "--out", out]) == 0
    ids = np.random.default_rng(0).integers(0, 9, (3, 4)).astype(np.int32)
    (tf1_logits,) = _tf1_outputs(out, ["logits:0"], {"ids:0": ids})
    keras_logits = np.asarray(model(ids))
    np.testing.assert_allclose(tf1_logits, keras_logits, atol=1e-5)
    before, after = _read(prefix), _read(out)
    assert after["global_step"] == before["global_step"]
    kernel = "rnn/multi_rnn_cell/cell_0/lstm_cell/bias"
    assert not np.allclose(after[kernel], before[kernel])


def test_cudnn_lstm_buffer_reassembled(tmp_path):
    """A CudnnLSTM(2, 4, bidirectional) with sequence lengths: the opaque buffer is re-assembled from the changed
    Keras layers (each input + recurrent bias sum: the input bias takes the change); the TF1 side (cuDNN's equations
    in NumPy, the op has no CPU kernel) restored from it computes the changed Keras outputs; unchanged it is exact."""
    from migrate.cli import main  # noqa: PLC0415

    prefix = build_cudnn("cudnn_lstm_lengths", tmp_path)
    model = _convert(prefix, tmp_path / "conv", ["outputs:0", "final_h:0"])
    same = str(tmp_path / "same" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(tmp_path / "conv"), "--out", same]) == 0
    np.testing.assert_array_equal(_read(same)["cudnn_lstm/opaque_kernel"], _read(prefix)["cudnn_lstm/opaque_kernel"])
    _perturb(model, seed=2)
    model.save(str(tmp_path / "conv" / "model.keras"))
    out = str(tmp_path / "changed" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(tmp_path / "conv"), "--out", out]) == 0
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 3)).astype(np.float32)
    n = np.array([6, 3], np.int32)
    got = _tf1_outputs(out, ["outputs:0", "final_h:0"], {"x:0": x, "lengths:0": n})
    want = model({"x": x, "lengths": n})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), atol=1e-5)


def test_cudnn_canonical_checkpoint_restores_into_the_cpu_twin(tmp_path):
    """A CudnnLSTM(2, 6) checkpoint of TF1's canonical variables only: the changed model goes back as those
    canonical variables (and the buffer), which contrib's CPU graph of CudnnCompatibleLSTMCells restores and runs
    (real TF1 kernels, no reference) to the changed Keras model's outputs."""
    from migrate.cli import main  # noqa: PLC0415

    prefix, compat = build_cudnn_canonical(tmp_path)
    model = _convert(prefix, tmp_path / "conv", ["outputs:0"])
    _perturb(model, seed=3)
    model.save(str(tmp_path / "conv" / "model.keras"))
    out = str(tmp_path / "back" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(tmp_path / "conv"), "--out", out]) == 0
    written = _read(out)
    assert set(_read(prefix)) <= set(written) and "cudnn_lstm/opaque_kernel" in written
    x = np.random.default_rng(5).normal(size=(2, 5, 4)).astype(np.float32)
    (got,) = _tf1_outputs(out, ["outputs:0"], {"x:0": x}, meta=compat + ".meta")
    np.testing.assert_allclose(got, np.asarray(model(x)), atol=1e-5)


def test_not_a_converted_folder_exit_2(tmp_path, capsys):
    from migrate.cli import main  # noqa: PLC0415

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "convert_report.json").write_text(json.dumps({"tool": "tf-migrate convert --from-graph"}))
    out = tmp_path / "o" / "model.ckpt"
    assert main(["convert", "--to", "tf1", str(tmp_path / "m"), "--out", str(out)]) == 2
    assert "to_tf1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_folder_without_a_report_exit_2(tmp_path, capsys):
    from migrate.cli import main  # noqa: PLC0415

    (tmp_path / "m").mkdir()
    assert main(["convert", "--to", "tf1", str(tmp_path / "m"), "--out", str(tmp_path / "o" / "model.ckpt")]) == 2
    assert "convert_report.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
