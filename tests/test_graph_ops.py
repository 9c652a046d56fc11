"""Op-table entries for shapes known only at run time (`migrate/graph/ops/array.py`, `tf_migrate_runtime.layers.shape`):
shape arithmetic (`Shape` / `Size` / `Unpack` / `StridedSlice` / `Slice` / `Squeeze` / `ExpandDims` / `Mul` / `Add`
/ `Maximum` / `Prod` / `Pack` / `ConcatV2`) feeding `Reshape`, `Fill` (zeros / ones sized by an input's batch),
`Tile`, `BroadcastTo` and `Range`, plus a `PlaceholderWithDefault` whose default only fits another batch.

One TF1-style graph per module (tiny, random non-zero weights), converted once; the converted model must equal the
TF1 graph at batch sizes and lengths other than the ones the converter's parity used."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from real_corpus import bench, corpus_entry, real_tf1_dir

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

OUTPUTS = ["dense3d:0", "flat_back:0", "zero_state:0", "zero_state_concat:0", "zero_state_v09:0", "filled:0",
           "ones_v09:0", "tiled:0", "broadcast:0", "size_scaled:0", "positions:0", "shape_expr:0", "by_max_len:0"]


def _build(path: str) -> str:
    """A graph whose shapes come from the inputs at run time, in the forms TF 0.x-1.x code writes them."""
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_resource_variables()
    try:
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [None, None, 6], name="x")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            w = v1.get_variable("dense/kernel", [6, 4])
            b = v1.get_variable("dense/bias", [4])
            row = v1.get_variable("row", [1, 4])
            # tf.layers.dense on a 3-D input (TF 1.0): Shape -> Unpack -> Pack -> Reshape
            batch, steps, _ = tf.unstack(tf.shape(x))
            h = tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, 6]), w), b)
            h3 = tf.reshape(h, tf.stack([batch, steps, 4]), name="dense3d")
            # (batch * time, 4) and back, with -1 beside a run-time size
            flat = tf.reshape(h3, tf.stack([tf.shape(h3)[0] * tf.shape(h3)[1], 4]))
            tf.reshape(tf.tanh(flat), tf.stack([tf.shape(x)[0], -1, 4]), name="flat_back")
            # zero states sized by the batch: tf.zeros(tf.stack(...)), the _concat form of zero_state, TF 0.x Slice
            tf.zeros(tf.stack([tf.shape(x)[0], 5]), name="zero_state")
            tf.zeros(tf.concat([tf.expand_dims(tf.shape(x)[0], 0), [3]], 0), name="zero_state_concat")
            b09 = tf.squeeze(tf.slice(tf.shape(x), [0], [1]))
            tf.add(tf.fill(tf.stack([b09, 2]), 0.0), 0.5, name="zero_state_v09")
            # fill with a value computed by the model, ones_like as TF 0.9 wrote it (Fill(Shape(t), 1))
            tf.fill(tf.shape(x)[:2], tf.reduce_mean(x), name="filled")
            tf.fill(tf.shape(lens), 1, name="ones_v09")
            tf.tile(row, tf.stack([tf.shape(x)[0], 1]), name="tiled")
            tf.broadcast_to(b, tf.stack([tf.shape(x)[0], tf.shape(x)[1], 4]), name="broadcast")
            tf.multiply(tf.cast(tf.size(x), tf.float32), tf.reduce_sum(b), name="size_scaled")
            tf.range(tf.shape(x)[1], name="positions")
            tf.identity(tf.maximum(tf.shape(x)[1] // 2, 1) + tf.reduce_prod(tf.shape(x)[:2]),
                                     name="shape_expr")
            tf.zeros(tf.stack([tf.shape(x)[0], tf.reduce_max(lens)]), name="by_max_len")
            rng = np.random.RandomState(0)
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                for v in v1.global_variables():
                    s.run(v.assign(rng.normal(0, 0.5, v.shape.as_list()).astype("float32")))
                v1.train.Saver().save(s, os.path.join(path, "model.ckpt"))
        return os.path.join(path, "model.ckpt")
    finally:
        v1.enable_resource_variables()


def _build_default_state(path: str) -> str:
    """A sampling subgraph built for batch 1 whose initial state defaults to zeros sized for batch 4 (as
    tensorflow-char-rnn's 'evaluation' model): TF1 itself runs it only with the state fed."""
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_resource_variables()
    try:
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [1, 3], name="step_input")
            state = v1.placeholder_with_default(tf.zeros([4, 5]), [None, 5], name="initial_state")
            w = v1.get_variable("cell/kernel", [8, 5])
            out = tf.tanh(tf.matmul(tf.concat([x, state], 1), w), name="new_state")
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                s.run(w.assign(np.random.RandomState(1).normal(0, 0.5, (8, 5)).astype("float32")))
                v1.train.Saver().save(s, os.path.join(path, "model.ckpt"))
        return os.path.join(path, "model.ckpt"), out.name
    finally:
        v1.enable_resource_variables()


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from migrate.graph import convert_graph

    root = tmp_path_factory.mktemp("graph_ops")
    ckpt = _build(str(root / "tf1"))
    report = convert_graph(ckpt, str(root / "out"), outputs=OUTPUTS, log=lambda m: None)
    return ckpt, str(root / "out"), report


def test_shape_arithmetic_converts_with_parity(converted):
    _, out, report = converted
    rows = {r["graph"]: r for r in report["parity"]["outputs"]}
    assert set(rows) == set(OUTPUTS) and all(r["ok"] for r in rows.values()), rows
    for name in ("positions:0", "shape_expr:0", "ones_v09:0"):
        assert rows[name]["exact"], rows[name]
    source = open(os.path.join(out, "model.py")).read()
    for layer in ("tfm.DynamicReshape(", "tfm.Fill(", "tfm.Tile(", "tfm.BroadcastTo(", "tfm.ShapeVector(",
                  "tfm.Range("):
        assert layer in source, layer
    assert "'mul', [0, 0], [0, 1]" in source  # tf.shape(h)[0] * tf.shape(h)[1] kept as arithmetic, not a constant
    assert "import tensorflow" not in source
    assert {i["graph"] for i in report["graph"]["inputs"]} == {"x:0", "lengths:0"}


@pytest.mark.parametrize("batch,steps", [(7, 2), (1, 9)])
def test_converted_model_follows_other_batch_sizes_like_the_tf1_graph(converted, batch, steps):
    """The converter's parity ran at batch 3; the saved model.keras must equal the TF1 graph at other sizes."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.parity.tf1_graph import TF1Graph

    ckpt, out, report = converted
    rng = np.random.RandomState(batch)
    feed = {"x:0": rng.normal(0, 1, (batch, steps, 6)).astype("float32"),
            "lengths:0": rng.randint(1, 12, (batch,)).astype("int32")}
    with TF1Graph(ckpt) as g:
        ref = g.run(OUTPUTS, feed)
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    got = model({i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"]})
    for name, r, o in zip(OUTPUTS, ref, got):
        o = keras.ops.convert_to_numpy(o)
        assert o.shape == r.shape, (name, o.shape, r.shape)
        np.testing.assert_allclose(o, r, atol=1e-5, rtol=1e-5, err_msg=name)
    assert ref[OUTPUTS.index("zero_state:0")].shape == (batch, 5)
    assert ref[OUTPUTS.index("by_max_len:0")].shape == (batch, feed["lengths:0"].max())


@pytest.mark.slow
def test_runtime_shape_layers_run_on_jax(converted, tmp_path, backend_children):
    """The shape layers use keras.ops only: on JAX (sizes are Python ints there; the run's JAX child,
    tests/backend_children.py, TensorFlow blocked) the model gives the TF1 outputs."""
    pytest.importorskip("jax")
    from backend_children import Job
    from backend_jobs import JOBS

    from migrate.parity.tf1_graph import TF1Graph

    ckpt, out, report = converted
    rng = np.random.RandomState(3)
    feed = {"x:0": rng.normal(0, 1, (5, 3, 6)).astype("float32"), "lengths:0": np.array([2, 7, 1, 3, 3], "int32")}
    with TF1Graph(ckpt) as g:
        ref = g.run(OUTPUTS, feed)
    np.savez(tmp_path / "feed.npz", **{i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"]})
    job = Job("shape layers", JOBS, "call_model", dict(model=os.path.join(out, "model.keras"),
                                                        feed=str(tmp_path / "feed.npz")))
    reply = backend_children.run({"jax": [job]})["jax"]
    assert reply.tensorflow_imported is False
    got = reply.values(job.name)
    assert len(got) == len(OUTPUTS), sorted(got)
    for k, (name, r) in enumerate(zip(OUTPUTS, ref)):
        np.testing.assert_allclose(got[str(k)], r, atol=1e-5, rtol=1e-5, err_msg=name)


def test_default_that_only_fits_another_batch_becomes_an_input_as_given_and_when_fed(tmp_path):
    """TF1 fails on the concat with the default (batch 4 vs 1): as given, the PlaceholderWithDefault becomes a model
    input (said on the console), fed at the batch the concat fixes (1), and parity holds; with the state in --inputs
    too."""
    from migrate.graph import convert_graph

    ckpt, out_name = _build_default_state(str(tmp_path / "tf1"))
    lines = []
    report = convert_graph(ckpt, str(tmp_path / "given"), outputs=[out_name], log=lines.append)
    assert any(line.startswith("initial_state:0: its default value does not fit the other inputs") for line in lines)
    assert report["parity"]["ok"] and [i["graph"] for i in report["graph"]["inputs"]] == ["initial_state:0",
                                                                                         "step_input:0"]
    generated = next(line for line in lines if line.startswith("parity on generated inputs"))
    assert "initial_state:0 [1, 5]" in generated, generated

    npz = tmp_path / "feed.npz"
    np.savez(npz, **{"step_input:0": np.ones((1, 3), "float32"), "initial_state:0": np.ones((1, 5), "float32")})
    report = convert_graph(ckpt, str(tmp_path / "out"), outputs=[out_name], inputs_npz=str(npz), log=lambda m: None)
    assert report["parity"]["ok"] and len(report["parity"]["outputs"]) == 2
    assert [i["graph"] for i in report["graph"]["inputs"]] == ["initial_state:0", "step_input:0"]
    assert report["graph"]["inputs"][0]["shape"] == [None, 5]


def test_fill_of_a_shape_of_unknown_length_is_refused_naming_it(tmp_path):
    import tensorflow as tf

    from migrate.graph import convert_graph
    from migrate.graph.convert import GraphConvertError

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        dims = v1.placeholder(tf.int32, [None], name="dims")
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        v = v1.get_variable("v", [2], use_resource=False)
        y = tf.add(tf.reduce_sum(tf.fill(dims, 2.0)), tf.reduce_sum(x * v), name="y")
        with v1.Session() as s:
            s.run(v1.global_variables_initializer())
            v1.train.Saver().save(s, str(tmp_path / "model.ckpt"))
    with pytest.raises(GraphConvertError) as e:
        convert_graph(str(tmp_path / "model.ckpt"), str(tmp_path / "out"), outputs=[y.name], log=lambda m: None)
    assert "Fill x1 (first: Fill; Fill of a shape of unknown length)" in str(e.value)
    assert not (tmp_path / "out").exists()


def _build_more_ops(path: str) -> tuple[str, list[str]]:
    """Padding, batch norm (inference), depthwise conv, ShapeN, truncating integer division, a few unary ops."""
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_resource_variables()
    try:
        g = tf.Graph()
        with g.as_default():
            img = v1.placeholder(tf.float32, [None, 5, 5, 3], name="img")
            n = v1.placeholder(tf.int32, [None], name="n")
            dw = v1.get_variable("dw/depthwise_kernel", [3, 3, 3, 2])
            h = tf.nn.depthwise_conv2d(tf.pad(img, [[0, 0], [1, 1], [1, 1], [0, 0]]), dw, [1, 1, 1, 1], "VALID")
            h = v1.layers.batch_normalization(h, training=False, name="bn")
            h = tf.nn.leaky_relu(h, alpha=0.3)
            mirrored = tf.pad(h, [[0, 0], [2, 2], [0, 0], [0, 0]], mode="REFLECT", name="mirrored")
            sym = tf.pad(h, [[0, 0], [0, 0], [1, 1], [0, 0]], mode="SYMMETRIC", constant_values=0)
            padded = tf.pad(h, [[0, 0], [0, 1], [0, 0], [0, 0]], constant_values=0.5, name="padded_v2")
            s1, s2 = tf.shape_n([img, h])
            shape_n = tf.reshape(mirrored, tf.stack([s1[0], -1, s2[3]]), name="shape_n_reshape")
            trunc = tf.identity(tf.truncatediv(n - 4, 3) * 10 + tf.truncatemod(n - 4, 3), name="trunc")
            flat = tf.reshape(sym, [-1, 5 * 7 * 6])
            un = tf.debugging.check_numerics(tf.math.expm1(tf.tanh(flat)) + tf.atan(flat) + tf.tan(0.3 * flat), "bad")
            un = tf.add(un, tf.atan2(flat, 1.5 + flat * flat), name="unary")
            finite = tf.math.is_finite(tf.math.log(flat + 0.1), name="finite")
            l2 = tf.identity(tf.nn.l2_loss(padded), name="l2")
            rng = np.random.RandomState(2)
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                for v in v1.global_variables():
                    value = rng.normal(0, 0.5, v.shape.as_list()).astype("float32")
                    s.run(v.assign(np.abs(value) + 0.5 if "moving_variance" in v.name else value))
                v1.train.Saver().save(s, os.path.join(path, "model.ckpt"))
        return os.path.join(path, "model.ckpt"), [shape_n.name, padded.name, trunc.name, un.name, finite.name, l2.name]
    finally:
        v1.enable_resource_variables()


def test_more_op_table_entries_convert_with_parity(tmp_path):
    from migrate.graph import convert_graph

    ckpt, outs = _build_more_ops(str(tmp_path / "tf1"))
    report = convert_graph(ckpt, str(tmp_path / "out"), outputs=outs, log=lambda m: None)
    rows = {r["graph"]: r for r in report["parity"]["outputs"]}
    assert set(rows) == set(outs) and all(r["ok"] for r in rows.values()), rows
    assert rows["trunc:0"]["exact"] and rows["finite:0"]["exact"]
    ops = report["ops_translated"]
    for op_type in ("DepthwiseConv2dNative", "FusedBatchNormV3", "LeakyRelu", "Pad", "MirrorPad", "PadV2",
                    "TruncateDiv", "TruncateMod", "Expm1", "Atan", "Tan", "Atan2", "IsFinite", "L2Loss"):
        assert op_type in ops, (op_type, ops)
    assert "tfm.DynamicReshape([[0, 0], -1, 6]" in open(tmp_path / "out" / "model.py").read()  # ShapeN's sizes


# -- real TF1 checkpoints this path now converts (tests/real_corpus.py finds the data) ------------------------------

REAL = {  # name -> what made it convert
    "udacity_tvscript_wordlm_tf10": "tf.layers.dense on a 3-D RNN output: Shape/Unpack/Pack -> DynamicReshape",
    "charrnn_static_fb0_tf12": "PlaceholderWithDefault initial states fed in --inputs become inputs",
    "tflearn_legacy_attention_seq2seq_v1": "Fill with the batch of an input (zero states, ones_like)",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_tf1_checkpoint_converts_with_parity(name, tmp_path):
    prefix, entry = corpus_entry(name)
    row = bench().convert_one(entry, real_tf1_dir(), "fed", str(tmp_path))
    assert row["converted"] and row["parity_ok"], row
    report = json.loads(open(os.path.join(tmp_path, f"{name}_fed", "convert_report.json")).read())
    assert all(r["ok"] for r in report["parity"]["outputs"])
    assert max(r.get("max_abs", 0.0) for r in report["parity"]["outputs"]) < 1e-4
    if name in OTHER_SIZES:  # the saved model follows another batch / length, as the TF1 graph does
        import keras

        import tf_migrate_runtime.layers  # noqa: F401
        from migrate.parity.tf1_graph import TF1Graph

        feed = {k: np.random.RandomState(1).randint(0, high, shape).astype("int32")
                for k, (shape, high) in OTHER_SIZES[name].items()}
        with TF1Graph(prefix) as g:
            ref = g.run(entry["outputs"], feed)
        model = keras.saving.load_model(os.path.join(tmp_path, f"{name}_fed", "model.keras"))
        got = model({i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"]})
        for out, r, o in zip(entry["outputs"], ref, got):
            o = keras.ops.convert_to_numpy(o)
            assert o.shape == r.shape, (out, o.shape, r.shape)
            np.testing.assert_allclose(o, r, atol=1e-4 * max(1.0, float(np.abs(r).max())), err_msg=out)


OTHER_SIZES = {  # inputs at sizes other than the manifest's: {placeholder: (shape, id range)}
    "udacity_tvscript_wordlm_tf10": {"input:0": ((2, 7), 6780)},
    "tflearn_legacy_attention_seq2seq_v1": {"XY/X:0": ((2, 40), 10)},
}


def test_real_neuroner_refusal_says_tf1_cannot_restore_it_either(tmp_path):
    """NeuroNER saved a 1-row token embedding (its .meta declares [25008, 100]): TF1's own restore fails, so the
    refusal is honest and says what to do."""
    from migrate.errors import MigrateError
    from migrate.graph import convert_graph

    prefix, _ = corpus_entry("neuroner_bilstm_crf_tf10")
    with pytest.raises(MigrateError) as e:
        convert_graph(prefix, str(tmp_path / "out"), log=lambda m: None)
    msg = str(e.value)
    assert e.value.exit_code == 2
    assert "token_embedding/token_embedding_weights: graph [25008, 100], checkpoint [1, 100]" in msg
    assert "TensorFlow 1 cannot restore this pair either" in msg and "save a new checkpoint" in msg
    assert not (tmp_path / "out").exists()


def test_integer_div_in_shape_arithmetic_truncates_like_tf():
    """TF's integer `Div` rounds toward zero (-7 / 2 = -3), `FloorDiv` down (-4): both at conversion and at run time."""
    import keras

    from migrate.graph.ir import DIM_OPS
    from migrate.graph.ops.elementwise import SHAPE_ARITHMETIC
    from tf_migrate_runtime.layers.shape import evaluate

    assert SHAPE_ARITHMETIC["Div"] == "truncdiv" and SHAPE_ARITHMETIC["FloorDiv"] == "floordiv"
    assert [DIM_OPS["truncdiv"](a, b) for a, b in [(-7, 2), (7, 2), (7, -2), (-6, 3)]] == [-3, 3, -3, -2]
    assert evaluate(["truncdiv", -7, 2], []) == -3 and evaluate(["floordiv", -7, 2], []) == -4
    t = keras.ops.convert_to_tensor(-7)
    assert int(keras.ops.convert_to_numpy(evaluate(["truncdiv", ["value", 0], 2], [t]))) == -3
