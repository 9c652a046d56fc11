"""contrib.cudnn_rnn (`CudnnLSTM` / `CudnnGRU` / `CudnnRNNRelu`): the opaque buffer split into Keras layers
(migrate/graph/constructs/cudnn_rnn.py, migrate/checkpoint/cudnn_params.py).

The CudnnRNN ops have no CPU kernel, so the TF1 side of `convert`'s parity is the graph with each op's outputs from
a NumPy reference of cuDNN's equations (migrate/parity/cudnn_reference.py). What that cannot check (the layout
shared by the reference and the converter) is checked here against graphs that do run on CPU: a checkpoint of the
canonical variables (`cudnn_compatible_lstm_cell/kernel`, what contrib's saveable writes) converts through the
CudnnRNN graph to outputs equal to those of contrib's CPU twin, `CudnnCompatibleLSTMCell`s in a MultiRNNCell."""

from __future__ import annotations

import numpy as np
import pytest
from construct_builders import build_cudnn, build_cudnn_canonical, converted_once

from migrate.checkpoint import cudnn_params as cp

# builder -> (outputs, what model.py constructs, the report's `translated` key and count)
CASES = {
    "cudnn_lstm": (["outputs:0", "final_h:0", "final_c:0"],
                   ["keras.layers.LSTM(6, return_sequences=True, return_state=True, name='cudnn_lstm__cell_0')"],
                   "cudnn_rnn CudnnLSTM -> keras.layers.LSTM", 1),
    "cudnn_gru_bidi": (["outputs:0", "final_h:0"],
                       ["keras.layers.GRU(5, reset_after=True, go_backwards=True, return_sequences=True",
                        "initial_state=[h0[3]]", "keras.ops.flip("],
                       "cudnn_rnn CudnnGRU -> keras.layers.GRU", 4),
    "cudnn_lstm_lengths": (["outputs:0", "final_h:0", "final_c:0"],
                           ["tfm.SequenceMask(", "tfm.ZeroPastLength(", "name='cudnn_lstm__cell_1__bw'"],
                           "cudnn_rnn CudnnLSTM -> keras.layers.LSTM", 4),
    "cudnn_relu_rnn": (["outputs:0", "final_h:0"], ["keras.layers.SimpleRNN(5, activation='relu'"],
                       "cudnn_rnn CudnnRNNRelu -> keras.layers.SimpleRNN", 2),
}


# ------------------------------------------------------------------------------------------------ the layout
SPECS = [cp.CudnnSpec("lstm", 2, 3, 4, 2), cp.CudnnSpec("gru", 3, 4, 2, 1), cp.CudnnSpec("rnn_tanh", 2, 3, 5, 2),
         cp.CudnnSpec("lstm", 1, 5, 5, 1)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.mode}-{s.num_layers}x{s.units}-d{s.directions}")
def test_buffer_round_trips_through_canonical_and_keras(spec):
    """buffer -> canonical -> buffer is the identity; Keras -> buffer -> Keras is exact (an LSTM's two biases come
    back as halves of their sum, as TF1's saveable restores them, so its buffer round trip keeps the sums); the layer
    count is recovered from the buffer's size."""
    rng = np.random.default_rng(0)
    buf = rng.normal(size=spec.size()).astype(np.float32)
    assert cp.num_layers_of(buf.size, spec.mode, spec.units, spec.input_size, spec.directions) == spec.num_layers
    params = cp.opaque_to_canonical(buf, spec)
    np.testing.assert_array_equal(cp.canonical_to_opaque(params, spec), buf)
    keras_w = [cp.to_keras(ws, bs, spec.mode) for ws, bs in params]
    again = cp.opaque_to_canonical(cp.canonical_to_opaque([cp.from_keras(w, spec.mode) for w in keras_w], spec), spec)
    for a, b in zip(keras_w, [cp.to_keras(ws, bs, spec.mode) for ws, bs in again]):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    if spec.mode == "gru":   # Keras' GRU keeps both biases: the buffer itself comes back
        np.testing.assert_array_equal(
            cp.canonical_to_opaque([cp.from_keras(w, spec.mode) for w in keras_w], spec), buf)
    first = keras_w[0]
    gates = cp.MODES[spec.mode][0] // 2
    assert first[0].shape == (spec.input_size, gates * spec.units)
    assert first[1].shape == (spec.units, gates * spec.units)


def test_tf1_canonical_variables_are_the_saveables():
    """The canonical variables of a 2-layer bidirectional LSTM and GRU: TF1's names and shapes, and the buffer
    assembled from them runs the same function (per gate, W and R and the summed biases)."""
    for mode in ("lstm", "gru"):
        spec = cp.CudnnSpec(mode, 2, 3, 4, 2)
        buf = np.random.default_rng(1).normal(size=spec.size()).astype(np.float32)
        params = cp.opaque_to_canonical(buf, spec)
        tf1 = cp.keras_to_tf1([cp.to_keras(ws, bs, mode) for ws, bs in params], spec, scope="enc/cudnn/")
        cell = f"enc/cudnn/stack_bidirectional_rnn/cell_1/bidirectional_rnn/bw/cudnn_compatible_{mode}_cell"
        if mode == "lstm":
            assert tf1[f"{cell}/kernel"].shape == (6 + 3, 12) and tf1[f"{cell}/bias"].shape == (12,)
        else:
            assert tf1[f"{cell}/gates/kernel"].shape == (9, 6)
            assert tf1[f"{cell}/candidate/hidden_projection/kernel"].shape == (3, 3)
        groups = cp.canonical_groups(tf1)
        (scope, got_mode), = groups
        assert (scope, got_mode) == ("enc/cudnn/", mode) and groups[(scope, mode)]["layers"] == 2
        assembled, got = cp.buffer_from_tf_canonical(tf1.__getitem__, groups[(scope, mode)], mode, scope)
        assert got == spec
        for (ws, bs), (ws2, bs2) in zip(params, cp.opaque_to_canonical(assembled, spec)):
            for w, w2 in zip(ws, ws2):
                np.testing.assert_array_equal(w, w2)
            half = len(bs) // 2
            for k in range(half):
                np.testing.assert_allclose(bs[k] + bs[half + k], bs2[k] + bs2[half + k], rtol=1e-6)
        np.testing.assert_array_equal(tf1["enc/cudnn/opaque_kernel"],
                                      cp.canonical_to_opaque([cp.from_keras(cp.to_keras(ws, bs, mode), mode)
                                                              for ws, bs in params], spec))


def test_a_buffer_of_the_wrong_size_is_named():
    with pytest.raises(cp.CudnnParamsError, match="no whole number of layers"):
        cp.num_layers_of(cp.CudnnSpec("lstm", 2, 3, 4).size() + 1, "lstm", 3, 4, 1)


# ------------------------------------------------------------------------------------------------ convert
@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph built and converted once."""
    root = tmp_path_factory.mktemp("cudnn")
    return converted_once(root, lambda name: build_cudnn(name, root), lambda name: CASES[name][0])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_cudnn_layer_converts_to_keras_layers_with_parity(converted, name):
    _, ctors, key, count = CASES[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert report["translated"] == {key: count}, report["translated"]
    ref = report["parity"]["reference"]
    assert len(ref) == 1 and "NumPy reference of cuDNN's equations" in next(iter(ref.values()))
    assert any(line.startswith("parity reference for CudnnRNN") for line in lines), lines
    source = (out / "model.py").read_text()
    assert all(c in source for c in ctors), source
    assert "tfm.WhileLoop" not in source


@pytest.mark.slow
def test_keras_layers_hold_the_split_buffer_and_train(converted):
    """The bidirectional LSTM with lengths: each Keras layer holds its pseudo-layer of the buffer (cuDNN's order:
    layer 0 fw, layer 0 bw, layer 1 fw, ...), every weight gets a non-zero gradient, and the weights written back
    give the checkpoint's buffer up to the LSTM's bias split (the same sums)."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    prefix, _, _, out = converted("cudnn_lstm_lengths")
    model = keras.saving.load_model(str(out / "model.keras"))
    buf = Checkpoint.open(prefix).read("cudnn_lstm/opaque_kernel")
    spec = cp.CudnnSpec("lstm", 2, 4, 3, 2)
    names = ["cudnn_lstm__cell_0__fw", "cudnn_lstm__cell_0__bw", "cudnn_lstm__cell_1__fw", "cudnn_lstm__cell_1__bw"]
    layers = [model.get_layer(n) for n in names]
    assert all(isinstance(la, keras.layers.LSTM) for la in layers)
    assert [la.go_backwards for la in layers] == [False, True, False, True]
    for la, (ws, bs) in zip(layers, cp.opaque_to_canonical(buf, spec)):
        for got, want in zip(la.get_weights(), cp.to_keras(ws, bs, "lstm")):
            np.testing.assert_array_equal(got, want)
    back = cp.keras_to_tf1([la.get_weights() for la in layers], spec, scope="cudnn_lstm/")["cudnn_lstm/opaque_kernel"]
    for (ws, bs), (ws2, bs2) in zip(cp.opaque_to_canonical(buf, spec), cp.opaque_to_canonical(back, spec)):
        for w, w2 in zip(ws, ws2):
            np.testing.assert_array_equal(w, w2)
        np.testing.assert_allclose(np.add(bs[:4], bs[4:]), np.add(bs2[:4], bs2[4:]), rtol=1e-6)
    feed = {"x": np.random.default_rng(2).normal(size=(3, 6, 3)).astype("float32"),
            "lengths": np.array([6, 2, 4], "int32")}
    weights = [w for la in layers for w in la.trainable_weights]
    assert len(weights) == 12
    with tf.GradientTape() as tape:
        outs = model(feed)
        loss = tf.reduce_sum(tf.square(outs[0])) + tf.reduce_sum(outs[1])
    grads = tape.gradient(loss, weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    np.testing.assert_array_equal(np.asarray(outs[0])[1, 2:], 0.0)   # past row 1's length: zeros, as cuDNN writes


@pytest.mark.slow
def test_canonical_checkpoint_matches_the_cpu_twin(tmp_path):
    """A CudnnLSTM(2, 6) checkpoint holding only the canonical variables contrib's saveable writes: the buffer is
    assembled (the log says from what), and the converted model computes what contrib's CPU twin
    (`CudnnCompatibleLSTMCell`s in a MultiRNNCell, restored from the same checkpoint) computes."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import session_config  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    prefix, compat = build_cudnn_canonical(tmp_path)
    lines = []
    report = convert_graph(prefix, str(tmp_path / "out"), log=lines.append)
    assert report["parity"]["ok"] and report["translated"] == {"cudnn_rnn CudnnLSTM -> keras.layers.LSTM": 2}
    assert any("cudnn_lstm/opaque_kernel [624]: not in the checkpoint; assembled from the canonical cuDNN variables "
               "cudnn_lstm/rnn/multi_rnn_cell/cell_*/cudnn_compatible_lstm_cell/*" in line for line in lines), lines
    model = keras.saving.load_model(str(tmp_path / "out" / "model.keras"))
    x = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")
    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        tf.compat.v1.train.import_meta_graph(compat + ".meta").restore(sess, compat)
        want = sess.run("outputs:0", {"x:0": x})
    got = np.asarray(model({"x": x}))
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow
def test_inspect_names_the_cudnn_parameters(converted, tmp_path):
    """`inspect` files the opaque buffer and the canonical variables as cells (never dense, never unrecognised)."""
    from migrate.checkpoint.inspection import inspect_json  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    rep = inspect_json(Checkpoint.open(converted("cudnn_gru_bidi")[0]))
    assert rep["unrecognised"] == []
    cells = [c for c in rep["other_cells"] if c["scope"] == "cudnn_gru/opaque_kernel"]
    assert len(cells) == 1 and "opaque cuDNN parameter buffer" in cells[0]["tf1_class"], rep["other_cells"]
    prefix, _ = build_cudnn_canonical(tmp_path)
    rep = inspect_json(Checkpoint.open(prefix))
    assert rep["dense"] == []
    scopes = sorted(c["scope"] for c in rep["other_cells"])
    assert scopes == [f"cudnn_lstm/rnn/multi_rnn_cell/cell_{k}/cudnn_compatible_lstm_cell" for k in (0, 1)]
    assert all(c["tf1_class"].startswith("contrib CudnnCompatibleLSTMCell") for c in rep["other_cells"])


@pytest.mark.slow
def test_parity_command_says_what_stood_in_for_the_op(converted):
    """`parity --tf1` on the converted model (run_graph_parity, bound by convert_report.json): within tolerance, and
    its notes and info name the NumPy reference that computed the CudnnRNNV3 op's outputs."""
    from migrate.parity.harness import run_graph_parity  # noqa: PLC0415

    prefix, _, _, out = converted("cudnn_lstm_lengths")
    report = run_graph_parity(prefix, str(out / "model.keras"))
    assert all(r.ok for r in report.results), report.results
    assert list(report.info["tf1_references"]) == ["CudnnRNNV3"]
    assert any(n.startswith("TF1 side, CudnnRNNV3: CudnnRNNV3 has no CPU kernel") for n in report.notes), report.notes
