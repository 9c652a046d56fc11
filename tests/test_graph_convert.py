"""`tf-migrate convert --from-graph`: TF1 graphs built here in TF1 style (control flow v1, ref variables, saved with
their .meta), converted to Keras 3 models, parity checked against the restored graph.

Every graph has random non-zero weights and biases and a non-default forget bias, so gate-order and forget-bias
mistakes show. Graphs are built once per module (tiny sizes)."""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np
import pytest
from construct_builders import lstm_block_cell
from real_corpus import bench, corpus_entry, real_tf1_dir
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

APLAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "fixtures", "real_tf1_checkpoints",
                      "aplain_basiclstm_2017")


def _build(path: str, kind: str = "lstm", layers: int = 1, seqlen: bool = True, time_major: bool = False,
           init_state: bool = False, dropout: bool = False, bidi: bool = False, static: bool = False,
           extra_op: str | None = None, shared: bool = False, scope: str | None = None, style=tf1_style,
           save: bool = True) -> str:
    """A TF1-style tagger: ids -> embedding -> RNN -> dense logits -> sparse softmax cross-entropy + Adam, inside the
    user's own variable `scope` when one is given, built under `style()` (TF 1.x control flow and variables by
    default); saved with random weights, or with `save=False` only its graph written over `path/model.ckpt.meta`."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with style():
        g = tf.Graph()
        with g.as_default(), (v1.variable_scope(scope) if scope else contextlib.nullcontext()):
            ids = v1.placeholder(tf.int32, [None, None if not static else 4], name="ids")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            labels = v1.placeholder(tf.int32, [None, None], name="labels")
            keep = v1.placeholder_with_default(1.0, [], name="keep_prob") if dropout else None
            emb = v1.get_variable("embedding", [11, 6])
            x = tf.nn.embedding_lookup(emb, ids)

            def cell(units=5):
                c = {"block": lambda: lstm_block_cell(tf, v1, units, 0.6),
                     "gru_block": lambda: _gru_block_cell(units),
                     "lstm": lambda: v1.nn.rnn_cell.LSTMCell(units, forget_bias=0.7),
                     "basic": lambda: v1.nn.rnn_cell.BasicLSTMCell(units, forget_bias=1.3),
                     "gru": lambda: v1.nn.rnn_cell.GRUCell(units)}[kind]()
                if dropout:
                    c = v1.nn.rnn_cell.DropoutWrapper(c, input_keep_prob=keep, output_keep_prob=keep)
                return c

            cells = cell() if layers == 1 else v1.nn.rnn_cell.MultiRNNCell([cell() for _ in range(layers)])
            kw = {"sequence_length": lens} if seqlen else {}
            if static:
                steps = tf.unstack(x, axis=1)
                outs, _ = v1.nn.static_rnn(cells, steps, dtype=tf.float32)
                out = tf.stack(outs, axis=1)
            elif bidi:
                fw = cell()
                bw = fw if shared else cell()   # one cell object for both directions: one set of weights (TF >= 1.4)
                (ofw, obw), _ = v1.nn.bidirectional_dynamic_rnn(fw, bw, x, dtype=tf.float32, **kw)
                out = tf.concat([ofw, obw], -1)
            else:
                xin = tf.transpose(x, [1, 0, 2]) if time_major else x
                init = None
                if init_state:
                    h0 = v1.placeholder(tf.float32, [None, 5], name="h0")
                    init = h0 if kind == "gru" else v1.nn.rnn_cell.LSTMStateTuple(tf.tanh(h0), h0)
                out, _ = v1.nn.dynamic_rnn(cells, xin, initial_state=init, dtype=tf.float32, time_major=time_major,
                                           **kw)
                if time_major:
                    out = tf.transpose(out, [1, 0, 2])
            if extra_op == "lgamma":
                out = tf.math.lgamma(tf.abs(out) + 1.0)
            logits = v1.layers.dense(out, 11, name="proj")
            loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                                  name="loss")
            if kind not in ("block", "gru_block"):  # TF 2.21 has no gradient for the fused op (contrib registered it)
                v1.train.AdamOptimizer(0.1).minimize(loss)
            if save:
                save_random_weights(path)
            else:
                v1.train.export_meta_graph(os.path.join(path, "model.ckpt.meta"))
    return path


def _gru_block_cell(units: int):
    """contrib.rnn.GRUBlockCell as TF 1.x wrote it: `gru_cell/w_ru`, `b_ru`, `w_c`, `b_c`, one `GRUBlockCell` op."""
    import tensorflow as tf

    v1 = tf.compat.v1

    class GRUBlockCell(v1.nn.rnn_cell.RNNCell):
        state_size = units
        output_size = units

        def __call__(self, x, h, scope=None):
            with v1.variable_scope(scope or "gru_cell", reuse=v1.AUTO_REUSE):
                n = int(x.shape[-1]) + units
                w_ru, w_c = v1.get_variable("w_ru", [n, 2 * units]), v1.get_variable("w_c", [n, units])
                b_ru, b_c = v1.get_variable("b_ru", [2 * units]), v1.get_variable("b_c", [units])
                out = tf.raw_ops.GRUBlockCell(x=x, h_prev=h, w_ru=w_ru, w_c=w_c, b_ru=b_ru, b_c=b_c)
                return out[3], out[3]

    return GRUBlockCell()


CASES = {  # id -> (builder kwargs, construct expected in the report)
    "dynamic_gru_block_cell": (dict(kind="gru_block"), "dynamic_rnn GRUBlockCell -> tfm.GRU"),
    "dynamic_lstm_block_cell": (dict(kind="block"), "dynamic_rnn LSTMBlockCell -> tfm.LSTM"),
    "dynamic_lstm_seqlen": (dict(kind="lstm"), "dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"),
    "dynamic_gru_time_major_initial_state": (dict(kind="gru", time_major=True, init_state=True),
                                             "dynamic_rnn GRUCell -> tfm.GRU"),
    "multi_basic_lstm_dropout": (dict(kind="basic", layers=2, dropout=True, seqlen=False),
                                 "dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"),
    "bidirectional_lstm": (dict(kind="lstm", bidi=True), "dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"),
    "bidirectional_gru_one_shared_cell": (dict(kind="gru", bidi=True, shared=True),
                                          "dynamic_rnn GRUCell -> tfm.GRU"),
    "static_rnn_basic_lstm": (dict(kind="basic", static=True, seqlen=False),
                              "static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("graphs")
    return {name: _build(str(root / name), **kw) for name, (kw, _) in CASES.items()}


@pytest.fixture(scope="module")
def converted(built, tmp_path_factory):
    from migrate.graph import convert_graph

    out = tmp_path_factory.mktemp("converted")
    reports = {}
    for name, path in built.items():
        reports[name] = (convert_graph(path, str(out / name), log=lambda m: None), str(out / name))
    return reports


@pytest.mark.parametrize("case", list(CASES))
def test_construct_converts_with_parity(converted, case):
    report, _ = converted[case]
    assert report["parity"]["ok"], report["parity"]
    row = report["parity"]["outputs"][0]
    assert row["graph"] == "proj/BiasAdd:0"          # the logits the loss is computed from, chosen by itself
    assert row["max_abs"] <= 1e-5
    assert CASES[case][1] in report["translated"]
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["proj/BiasAdd:0"]


def test_a_user_scope_named_like_gradients_is_the_model_not_the_backward_pass(tmp_path):
    """Only scopes `tf.gradients` made (`gradients/`, `gradients_1/`, `train/gradients/`) are the backward pass: a
    model built under `policy_gradients/` (trained by Adam, so its real gradients are in the graph too) converts
    with its LSTM recognised and parity."""
    from migrate.graph import convert_graph
    from migrate.graph.meta import is_gradient

    assert is_gradient("gradients/rnn/while/mul_grad/Mul") and is_gradient("train/gradients_1/proj/MatMul_grad/x")
    assert not is_gradient("policy_gradients/rnn/while/lstm_cell/MatMul")
    path = _build(str(tmp_path / "ckpt"), kind="lstm", scope="policy_gradients")
    import tensorflow as tf

    from migrate.checkpoint.graph_recognise import _is_training
    from migrate.graph.select import find_loss

    assert not _is_training("gradients_penalty/dense/MatMul") and _is_training("policy_gradients/gradients/x")
    with tf.Graph().as_default() as g:
        tf.compat.v1.train.import_meta_graph(os.path.join(path, "model.ckpt.meta"))
        loss, why = find_loss(g)
    assert loss.name == "policy_gradients/loss:0" and "tf.gradients differentiates" in why, why
    report = convert_graph(path, str(tmp_path / "out"), log=lambda m: None)
    assert "dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM" in report["translated"]
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["policy_gradients/proj/BiasAdd:0"]
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5, report["parity"]


def test_a_control_flow_v2_graph_converts_generically_and_its_v1_twin_is_recognised(tmp_path):
    """TF1 code run under TF 2.x's tf.compat.v1 without disable_v2_behavior() writes a `StatelessWhile` + TensorList
    loop: the generic tier converts it with parity (no refusal); the same graph code under control flow v1 gives
    the recognised tfm.LSTM for the SAME checkpoint, with parity too."""
    import tensorflow as tf

    from migrate.graph import convert_graph

    v1 = tf.compat.v1

    @contextlib.contextmanager
    def control_flow_v1():   # TF 1.x control flow, the user's (resource) variables as they were
        v1.disable_control_flow_v2()
        try:
            yield
        finally:
            v1.enable_control_flow_v2()

    assert v1.control_flow_v2_enabled()
    path = _build(str(tmp_path / "ckpt"), kind="lstm", style=contextlib.nullcontext)   # TF 2.x's defaults
    prefix = os.path.join(path, "model.ckpt")
    report = convert_graph(prefix, str(tmp_path / "out"), log=lambda m: None)
    assert [lp["how"] for lp in report["loops"]] == ["translated generically"], report["loops"]
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5, report["parity"]

    _build(path, kind="lstm", style=control_flow_v1, save=False)
    report = convert_graph(prefix, str(tmp_path / "out1"), log=lambda m: None)
    assert "dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM" in report["translated"]
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5, report["parity"]


def test_report_output_names_are_the_models_and_parity_tf1_binds_by_the_report(converted, built, capsys):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.cli import main

    report, out = converted["dynamic_lstm_seqlen"]
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    assert [o["keras"] for o in report["graph"]["outputs"]] == list(model.output_names)
    # no mapping: the report beside model.keras says which placeholder and tensor each input and output is
    rc = main(["parity", "--tf1", built["dynamic_lstm_seqlen"], "--keras", os.path.join(out, "model.keras")])
    printed = capsys.readouterr()
    assert rc == 0, printed
    assert "convert_report.json" in printed.out + printed.err


def test_one_cell_shared_by_both_directions_gives_one_layer_called_twice(converted, built):
    import keras
    import tensorflow as tf

    import tf_migrate_runtime.layers  # noqa: F401

    names = [n for n, _ in tf.train.list_variables(os.path.join(built["bidirectional_gru_one_shared_cell"],
                                                                "model.ckpt"))]
    assert not any("/bw/" in n for n in names)          # TF1 wrote one set of weights, under fw
    report, _ = converted["bidirectional_gru_one_shared_cell"]
    assert report["translated"]["dynamic_rnn GRUCell -> tfm.GRU"] == 2 and report["parity"]["ok"]   # 2 loops
    model = keras.saving.load_model(os.path.join(converted["bidirectional_gru_one_shared_cell"][1], "model.keras"))
    grus = [layer for layer in model.layers if isinstance(layer, keras.layers.GRU)]
    assert len(grus) == 1 and len(grus[0]._inbound_nodes) == 2   # the weights stay one set, as TF1's


def test_report_inputs_and_layers(converted):
    report, out = converted["multi_basic_lstm_dropout"]
    # keep_prob has a default and labels feed only the loss: neither is an input
    assert report["graph"]["inputs"] == [{"keras": "ids", "graph": "ids:0", "shape": [None, None], "dtype": "int32"}]
    assert report["translated"]["dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"] == 2
    src = open(os.path.join(out, "model.py")).read()
    assert "name='rnn__multi_rnn_cell__cell_1__basic_lstm_cell'" in src   # layers named after the TF1 scopes
    assert "forget bias 1.3 added at run time" in src                   # the TF1 construct named per block
    report2, _ = converted["dynamic_gru_time_major_initial_state"]
    assert [i["graph"] for i in report2["graph"]["inputs"]] == ["h0:0", "ids:0", "lengths:0"]


def test_model_keras_and_model_py_give_the_same_outputs(converted):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401 - load_requires
    from migrate.graph.program import build_model

    report, out = converted["dynamic_lstm_seqlen"]
    assert report["load_requires"] == ["tf_migrate_runtime.layers"]
    rng = np.random.RandomState(3)
    feed = {"ids": rng.randint(0, 11, (2, 4)).astype("int32"), "lengths": np.array([4, 2], "int32")}
    loaded = keras.saving.load_model(os.path.join(out, "model.keras"))
    model = build_model(open(os.path.join(out, "model.py")).read())
    model.load_weights(os.path.join(out, "model.weights.h5"))
    a = np.asarray(loaded(feed))       # one output: a tensor (several: a list in graph.outputs order)
    b = np.asarray(model(feed))
    assert a.shape == (2, 4, 11)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[1, 2:] == a[1, 2:][0])   # past the length the RNN output is zero, so logits = the bias


def test_real_aplain_static_rnn_fixture(tmp_path):
    """Aplain/rnnRepo (TF ~1.1): unknown-shape placeholders, static_rnn BasicLSTMCell(forget_bias=0.8)."""
    from migrate.graph import convert_graph

    feed = tmp_path / "feed.npz"
    rng = np.random.RandomState(1)
    np.savez(feed, **{"input:0": rng.randint(0, 2, (4, 10, 1)).astype("float32"),
                      "istate:0": rng.normal(0, 0.3, (4, 160)).astype("float32")})
    report = convert_graph(APLAIN, str(tmp_path / "out"), inputs_npz=str(feed), log=lambda m: None)
    assert report["tf_version"] == "1.1.0"
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["inference/add_1:0"]
    assert report["translated"]["static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"] == 1
    assert all(r["ok"] and r["max_abs"] < 5e-6 for r in report["parity"]["outputs"])
    assert len(report["parity"]["outputs"]) == 2        # generated inputs and --inputs
    saved = json.loads((tmp_path / "out" / "convert_report.json").read_text())
    assert saved["graph"]["inputs"][0] == {"keras": "input", "graph": "input:0", "shape": [None, 10, 1],
                                           "dtype": "float32"}


def test_op_outside_the_table_exits_2_and_writes_nothing(tmp_path):
    from migrate.graph import GraphConvertError, convert_graph

    path = _build(str(tmp_path / "g"), kind="gru", extra_op="lgamma")
    with pytest.raises(GraphConvertError) as e:
        convert_graph(path, str(tmp_path / "out"), log=lambda m: None)
    assert e.value.exit_code == 2
    assert "Lgamma x1 (first: Lgamma" in str(e.value)
    assert not (tmp_path / "out").exists()


def test_checkpoint_without_meta_exits_2_naming_the_other_path(tmp_path, built):
    import shutil

    from migrate.graph import GraphConvertError, convert_graph

    src = built["dynamic_lstm_seqlen"]
    for f in os.listdir(src):
        if not f.endswith(".meta"):
            shutil.copy(os.path.join(src, f), tmp_path / f)
    with pytest.raises(GraphConvertError) as e:
        convert_graph(str(tmp_path / "model.ckpt"), str(tmp_path / "out"), log=lambda m: None)
    assert e.value.exit_code == 2
    assert ".meta" in str(e.value) and "migrate.checkpoint.cell_weights" in str(e.value)


def test_cli_chooses_the_graph_path_for_a_non_seq2seq_checkpoint(tmp_path, built, capsys):
    from migrate.cli import main

    out = tmp_path / "cli_out"
    rc = main(["convert", built["dynamic_gru_time_major_initial_state"], "--out", str(out),
               "--outputs", "proj/BiasAdd:0"])
    assert rc == 0
    assert sorted(os.listdir(out)) == ["convert_report.json", "model.keras", "model.py", "model.weights.h5"]
    printed = capsys.readouterr().out
    assert "proj/BiasAdd:0 (named by --outputs)" in printed and "ok" in printed
    assert main(["convert", built["dynamic_gru_time_major_initial_state"], "--out", str(out)]) == 3  # exists


@pytest.mark.slow
def test_fit_trains_the_generated_model_with_the_graphs_loss(converted):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    report, out = converted["dynamic_lstm_seqlen"]
    assert report["training_loss"]["keras"] == "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    assert report["training_loss"]["labels"] == ["labels"]
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    rng = np.random.RandomState(0)
    x = {"ids": rng.randint(0, 11, (16, 4)).astype("int32"), "lengths": np.full((16,), 4, "int32")}
    y = x["ids"]  # learn to copy: a loss that must fall
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.85 * losses[0] and all(b < a for a, b in zip(losses, losses[1:])), losses


REAL_CONVERTS = {  # real TF1 checkpoints (tests/fixtures/real_tf1) this path converts with parity, given outputs
    "udacity_charrnn_tf13", "ctc_conv_lstm_tf11", "hcn_shared_layer_lstm_tf18", "hcn_static_bigru_tf18",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_CONVERTS))
def test_real_tf1_fixture_converts_with_parity(name, tmp_path):
    _, entry = corpus_entry(name)
    row = bench().convert_one(entry, real_tf1_dir(), "fed", str(tmp_path))
    assert row["converted"] and row["parity_ok"], row
    assert row["outputs"] == entry["outputs"]


def _build_ops_graph(path: str) -> tuple[str, list[str]]:
    """One graph exercising many op-table entries outside any RNN."""
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_resource_variables()
    try:
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [None, 6, 6, 2], name="images")
            ids = v1.placeholder(tf.int32, [None, 4], name="ids")
            w = v1.get_variable("conv/kernel", [3, 3, 2, 4])
            b = v1.get_variable("conv/bias", [4])
            h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), b))
            p = tf.nn.max_pool2d(h, 2, 2, "VALID") + tf.nn.avg_pool2d(h, 2, 2, "VALID")
            flat = tf.reshape(p, [-1, 36])
            logits = v1.layers.dense(flat, 5, name="head")
            probs = tf.nn.softmax(logits, name="probs")
            top_v, top_i = tf.nn.top_k(logits, k=2, name="top")
            sl = tf.reduce_sum(x[:, 1:5:2, ::-1, 0], axis=[1, 2], keepdims=False, name="sliced_sum")
            oh = tf.one_hot(ids, 7, on_value=2.0, off_value=-1.0)
            tiled = tf.tile(tf.expand_dims(tf.reduce_max(oh, axis=1), 1), [1, 2, 1])
            parts = tf.split(tiled, [3, 4], axis=2)
            picked = tf.where(tf.greater(parts[0], 0.0), parts[0] * 3.0, tf.cast(tf.ones_like(parts[0]), tf.float32))
            mixed = tf.concat([tf.squeeze(picked[:, :1], 1), tf.nn.log_softmax(parts[1][:, 0])], axis=-1,
                              name="mixed")
            am = tf.argmax(logits, axis=-1, name="predictions")
            seq = v1.placeholder(tf.float32, [None, 8, 3], name="frames")  # Conv1D = ExpandDims + Conv2D + Squeeze
            w1 = v1.get_variable("conv1d/kernel", [3, 3, 5])
            c1 = tf.nn.relu(tf.nn.conv1d(seq, w1, stride=2, padding="SAME") + v1.get_variable("conv1d/bias", [5]))
            pooled1d = tf.identity(tf.nn.max_pool1d(c1, 2, 2, "VALID"), name="conv1d_pooled")
            labels = v1.placeholder(tf.int32, [None], name="labels")
            v1.losses.sparse_softmax_cross_entropy(labels, logits)
            save_random_weights(path)
        return path, [probs.name, top_v.name, top_i.name, sl.name, mixed.name, am.name, pooled1d.name]
    finally:
        v1.enable_resource_variables()


def test_op_table_entries_convert_with_parity(tmp_path):
    from migrate.graph import convert_graph

    path, outs = _build_ops_graph(str(tmp_path / "ops"))
    report = convert_graph(path, str(tmp_path / "out"), outputs=outs, log=lambda m: None)
    rows = {r["graph"]: r for r in report["parity"]["outputs"]}
    assert all(r["ok"] for r in rows.values()), rows
    assert rows["predictions:0"]["exact"] and rows["top:1"]["exact"]     # integer outputs compared exactly
    ops = report["ops_translated"]
    for op_type in ("Conv2D", "MaxPool", "AvgPool", "TopKV2", "StridedSlice", "OneHot", "Tile", "SplitV", "SelectV2",
                    "LogSoftmax", "ArgMax", "Softmax"):
        assert op_type in ops, (op_type, ops)
    assert rows["conv1d_pooled:0"]["ok"] and report["parity"]["outputs"][-1]["graph"] == "conv1d_pooled:0"
    assert report["graph"]["inputs"] == [
        {"keras": "frames", "graph": "frames:0", "shape": [None, 8, 3], "dtype": "float32"},
        {"keras": "ids", "graph": "ids:0", "shape": [None, 4], "dtype": "int32"},
        {"keras": "images", "graph": "images:0", "shape": [None, 6, 6, 2], "dtype": "float32"}]


@pytest.mark.slow
def test_converted_model_runs_on_other_backends(converted, tmp_path, backend_children):
    """Generated models use only Keras layers, keras.ops and tf_migrate_runtime.layers: on JAX and PyTorch (the run's
    children, tests/backend_children.py, TensorFlow blocked there) the outputs of the TensorFlow backend."""
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    import keras
    from backend_children import Job
    from backend_jobs import JOBS

    import tf_migrate_runtime.layers  # noqa: F401

    _, out = converted["bidirectional_lstm"]
    rng = np.random.RandomState(5)
    feed = {"ids": rng.randint(0, 11, (3, 5)).astype("int32"), "lengths": np.array([5, 2, 4], "int32")}
    np.savez(tmp_path / "feed.npz", **feed)
    ref = np.asarray(keras.saving.load_model(os.path.join(out, "model.keras"))(feed))
    job = Job("bidirectional_lstm", JOBS, "call_model", dict(model=os.path.join(out, "model.keras"),
                                                             feed=str(tmp_path / "feed.npz")))
    for backend, reply in backend_children.run({"jax": [job], "torch": [job]}).items():
        assert reply.tensorflow_imported is False, backend
        got = reply.values(job.name)
        assert list(got) == ["0"], (backend, list(got))
        np.testing.assert_allclose(got["0"], ref, atol=2e-6, err_msg=backend)


def test_parity_beyond_tolerance_exits_1_keeping_the_files_marked_failed(built, tmp_path, capsys):
    """--feed keep_prob:0=0.5 makes the TF1 graph drop units while the Keras model (dropout off) does not."""
    from migrate.cli import main

    out = tmp_path / "failed"
    assert main(["convert", built["multi_basic_lstm_dropout"], "--from-graph", "--out", str(out),
                 "--feed", "keep_prob:0=0.5"]) == 1
    report = json.loads((out / "convert_report.json").read_text())
    assert report["parity"]["ok"] is False and report["graph"]["fixed_at_inference"] == {"keep_prob:0": 0.5}
    assert (out / "model.keras").is_file() and (out / "model.py").is_file()
    assert "parity FAILED for proj/BiasAdd:0" in capsys.readouterr().err


def test_bad_feed_is_exit_2(built, tmp_path):
    from migrate.cli import main

    assert main(["convert", built["dynamic_lstm_seqlen"], "--from-graph", "--out", str(tmp_path / "o"),
                 "--feed", "keep_prob"]) == 2
    assert main(["convert", built["dynamic_lstm_seqlen"], "--from-graph", "--out", str(tmp_path / "o"),
                 "--feed", "nope:0=1.0"]) == 2
    assert not (tmp_path / "o").exists()


def test_a_meta_not_named_after_the_prefix_is_found_by_every_path(tmp_path):
    """`Saver.save(..., write_meta_graph=False)` after the first save leaves `model.ckpt-5` beside
    `model.ckpt.meta`: inspect (Checkpoint.meta_path), graph conversion and TF1Graph all take the one `.meta`
    there (migrate.files.find_meta), not just `PREFIX.meta`."""
    import shutil

    from migrate.checkpoint import open_checkpoint
    from migrate.graph import convert_graph

    for f in os.listdir(APLAIN):
        if f.startswith("model.ckpt.") and not f.endswith(".meta"):
            shutil.copy(os.path.join(APLAIN, f), tmp_path / f.replace("model.ckpt", "model.ckpt-5"))
    shutil.copy(os.path.join(APLAIN, "model.ckpt.meta"), tmp_path / "model.ckpt.meta")
    prefix = str(tmp_path / "model.ckpt-5")
    assert open_checkpoint(prefix).meta_path == str(tmp_path / "model.ckpt.meta")
    report = convert_graph(prefix, str(tmp_path / "out"), log=lambda m: None)
    assert report["meta"] == str(tmp_path / "model.ckpt.meta")
    assert all(r["ok"] for r in report["parity"]["outputs"])
