"""contrib.cudnn_rnn's CPU cells in dynamic_rnn (migrate/graph/constructs/cudnn_compatible_gru_cell.py,
lstm_block_cell.py): `CudnnCompatibleGRUCell` -> `tfm.GRU(reset_after=True)` with its six variables rearranged
exactly, `CudnnCompatibleLSTMCell` (an LSTMBlockCell op) -> `tfm.LSTM`; parity, trainable, `inspect` names them,
`convert --to tf1` writes them back. The builders (tests/construct_builders.py) write contrib's ops op for op."""

from __future__ import annotations

import numpy as np
import pytest
from construct_builders import build, converted_once

# builder -> (outputs, what model.py constructs, {the report's `translated` key: count})
CASES = {
    "cudnn_compatible_gru_bidi": (
        ["outputs:0", "final_h:0"],
        ["tfm.GRU(5, reset_after=True, return_sequences=True, return_state=True, "
         "name='bidirectional_rnn__fw__multi_rnn_cell__cell_1__cudnn_compatible_gru_cell')", "tfm.SequenceMask("],
        {"dynamic_rnn CudnnCompatibleGRUCell -> tfm.GRU": 4}),
    "cudnn_compatible_dropout_time_major": (
        ["outputs:0", "final_c:0"],
        ["tfm.GRU(5, reset_after=True", "tfm.LSTM(4, return_sequences=True", "initial_state=[h0]"],
        {"dynamic_rnn CudnnCompatibleGRUCell -> tfm.GRU": 1, "dynamic_rnn CudnnCompatibleLSTMCell -> tfm.LSTM": 1}),
    "cudnn_compatible_gru_resource": (
        ["outputs:0", "final_h:0"], ["tfm.GRU(6, reset_after=True", "name='enc__rnn__cudnn_compatible_gru_cell'"],
        {"dynamic_rnn CudnnCompatibleGRUCell -> tfm.GRU": 1}),
}
GRU = "bidirectional_rnn/fw/multi_rnn_cell/cell_0/cudnn_compatible_gru_cell"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph built and converted once."""
    root = tmp_path_factory.mktemp("cudnn_compatible")
    return converted_once(root, lambda name: build(name, root), lambda name: CASES[name][0])


def _load(out):
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    return keras.saving.load_model(str(out / "model.keras"), compile=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_converts_to_keras_layers_with_parity(converted, name):
    _, report, _, out = converted(name)
    assert report["parity"]["ok"], report["parity"]
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert {lp["how"] for lp in report["loops"]} == {"recognised as dynamic_rnn"}, report["loops"]
    assert {k: v for k, v in report["translated"].items() if k.startswith("dynamic_rnn")} == CASES[name][2]
    source = (out / "model.py").read_text()
    assert all(c in source for c in CASES[name][1]), source
    assert "tfm.WhileLoop" not in source and "reset_after=False" not in source


def test_gru_weights_are_contribs_rearranged_and_train(converted):
    """kernel = [x rows of gates/kernel's u, r blocks | input_projection/kernel]; recurrent = [h rows of u, r |
    hidden_projection/kernel]; bias rows [gates/bias u, r | input bias], [0, 0 | hidden bias]; all trainable, each with
    a non-zero gradient; the TF1 graph's outputs on a fresh batch."""
    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import session_config  # noqa: PLC0415

    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    prefix, _, _, out = converted("cudnn_compatible_gru_bidi")
    model = _load(out)
    layer = model.get_layer(GRU.replace("/", "__"))
    assert layer.cell.reset_after and len(layer.trainable_weights) == 3
    ck = Checkpoint.open(prefix)
    v = {r: np.asarray(ck.read(f"{GRU}/{r}")) for r in ("gates/kernel", "gates/bias", "candidate/input_projection/kernel",
                                                       "candidate/input_projection/bias",
                                                       "candidate/hidden_projection/kernel",
                                                       "candidate/hidden_projection/bias")}
    gk, gb = v["gates/kernel"], v["gates/bias"]
    kernel, rec, bias = (np.asarray(w) for w in layer.get_weights())
    np.testing.assert_array_equal(kernel, np.concatenate([gk[:4, 5:], gk[:4, :5], v["candidate/input_projection/kernel"]], 1))
    np.testing.assert_array_equal(rec, np.concatenate([gk[4:, 5:], gk[4:, :5], v["candidate/hidden_projection/kernel"]], 1))
    np.testing.assert_array_equal(bias[0], np.concatenate([gb[5:], gb[:5], v["candidate/input_projection/bias"]]))
    np.testing.assert_array_equal(bias[1], np.concatenate([np.zeros(10), v["candidate/hidden_projection/bias"]]))
    assert np.abs(v["candidate/hidden_projection/bias"]).min() > 0   # random non-zero biases
    feed = {"x": np.random.default_rng(7).normal(size=(4, 6, 4)).astype("float32"),
            "lengths": np.array([6, 1, 3, 5], "int32")}
    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        tf.compat.v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
        want = sess.run("outputs:0", {"x:0": feed["x"], "lengths:0": feed["lengths"]})
    with tf.GradientTape() as tape:
        got = model(feed)
        got = got[0] if isinstance(got, list | tuple) else got
        loss = tf.reduce_sum(tf.square(got))
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


@pytest.mark.parametrize("name, scope, tf1_class", [
    ("cudnn_compatible_gru_bidi", GRU, "contrib CudnnCompatibleGRUCell"),
    ("cudnn_compatible_dropout_time_major", "rnn/multi_rnn_cell/cell_1/cudnn_compatible_lstm_cell",
     "contrib CudnnCompatibleLSTMCell"),
])
def test_inspect_names_the_cell(converted, name, scope, tf1_class):
    """`inspect` files the cell's variables as that contrib cell (never a dense layer)."""
    from migrate.checkpoint.inspection import inspect_json  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    rep = inspect_json(Checkpoint.open(converted(name)[0]))
    assert not any(scope in str(d) for d in rep["dense"])
    cells = [c for c in rep["cells"] + rep["other_cells"] if c["scope"] == scope]
    assert len(cells) == 1, rep["cells"] + rep["other_cells"]
    assert cells[0]["tf1_class"].startswith(tf1_class)


def test_back_to_tf1(converted, tmp_path):
    """Unchanged: the checkpoint comes back exactly. Changed (every weight TF1 holds): the original graph restored
    from the written checkpoint computes the changed Keras model; a change to the recurrent z, r bias (which no
    CudnnCompatibleGRUCell variable holds) is refused with exit 1 and nothing written."""
    from test_graph_to_tf1 import _read, _tf1_outputs  # noqa: PLC0415

    from migrate.cli import main  # noqa: PLC0415

    prefix, _, _, out = converted("cudnn_compatible_gru_bidi")
    same = str(tmp_path / "same" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(out), "--out", same]) == 0
    got, want = _read(same), _read(prefix)
    assert sorted(got) == sorted(want)
    for n in want:
        np.testing.assert_array_equal(got[n], want[n], err_msg=n)
    model = _load(out)
    rng = np.random.default_rng(1)
    for w in model.trainable_weights:
        delta = rng.normal(0, 0.3, tuple(w.shape)).astype(np.float32)
        if tuple(w.shape) == (2, 15):   # the GRU's bias: its recurrent row's z, r blocks are no TF1 variable's
            delta[1, :10] = 0
        w.assign(np.asarray(w) + delta)
    model.save(str(out / "model.keras"))
    changed = str(tmp_path / "changed" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(out), "--out", changed]) == 0
    feed = {"x": rng.normal(size=(3, 6, 4)).astype(np.float32), "lengths": np.array([6, 2, 4], np.int32)}
    got = _tf1_outputs(changed, ["outputs:0", "final_h:0"], {"x:0": feed["x"], "lengths:0": feed["lengths"]})
    keras_out = model(feed)
    for g, w in zip(got, keras_out):
        np.testing.assert_allclose(g, np.asarray(w), atol=1e-5)
    gru = model.get_layer(GRU.replace("/", "__")).cell.bias
    gru.assign(np.asarray(gru) + np.eye(2, 15, 1, np.float32))   # recurrent row, z block
    model.save(str(out / "model.keras"))
    refused = tmp_path / "refused" / "model.ckpt"
    assert main(["convert", "--to", "tf1", str(out), "--out", str(refused)]) == 1
    assert not refused.parent.exists() or not any(refused.parent.iterdir())


def test_canonical_gru_layout_agrees_with_cudnns():
    """`tf_canonical_gru_to_keras` is the cuDNN path's function (`from_tf_canonical` -> `to_keras`: same kernels, the
    same z, r bias sums, the same candidate bias rows) and `keras_to_tf_canonical_gru` undoes it exactly."""
    from migrate.checkpoint import cudnn_params as cp  # noqa: PLC0415

    rng = np.random.default_rng(0)
    d, u = 3, 4
    shapes = {"gates/kernel": (d + u, 2 * u), "gates/bias": (2 * u,), "candidate/input_projection/kernel": (d, u),
              "candidate/hidden_projection/kernel": (u, u), "candidate/input_projection/bias": (u,),
              "candidate/hidden_projection/bias": (u,)}
    v = {r: rng.normal(size=s).astype(np.float32) for r, s in shapes.items()}
    kernel, rec, bias = cp.tf_canonical_gru_to_keras(v, d)
    k2, r2, b2 = cp.to_keras(*cp.from_tf_canonical(v, "gru", d), "gru")
    np.testing.assert_array_equal(kernel, k2)
    np.testing.assert_array_equal(rec, r2)
    np.testing.assert_allclose(bias[:, :2 * u].sum(0), b2[:, :2 * u].sum(0), rtol=1e-6)
    np.testing.assert_array_equal(bias[:, 2 * u:], b2[:, 2 * u:])
    np.testing.assert_array_equal(bias[1, :2 * u], 0)
    back = cp.keras_to_tf_canonical_gru([kernel, rec, bias])
    assert sorted(back) == sorted(v)
    for r in v:
        np.testing.assert_array_equal(back[r], v[r], err_msg=r)
