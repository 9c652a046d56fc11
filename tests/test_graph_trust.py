"""Trust on the graph path (issue 20, points 2 and 4): `convert --from-graph` and `parity --tf1` never compare or
convert an unrestored random value, work on the subgraph the outputs need only, refuse declared sizes over the
budget before allocating, name a corrupt tensor, and fail outputs that are not finite.

Graphs are built here in TF1 style (control flow v1, ref variables), tiny, once per module; weights and biases are
random and non-zero."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from tf1_models import tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _model(path, *, extra=False, omit=(), twin=False, log0=False, x_shape=(None, 4), bomb=False):
    """x -> dense(tanh) -> dense logits (+ `extra`, a variable the Saver leaves out with `omit`) -> sparse softmax
    cross-entropy + Adam. `twin`: after the save, an inference twin reading the model's hidden layer and a new
    variable (initialised from a placeholder) is added to the .meta. `log0`: the logits are log(0) = -inf.
    `bomb`: the logits add the sum of a constant the test then declares [2**31, 2**31]."""
    import tensorflow as tf

    v1 = tf.compat.v1
    os.makedirs(path, exist_ok=True)
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, list(x_shape), name="x")
            y = v1.placeholder(tf.int32, [None], name="y")
            inp = tf.reduce_mean(x, axis=1, keepdims=True) if x_shape[1] != 4 else x
            h = v1.layers.dense(inp, 5, activation=tf.tanh, name="hidden")
            if extra:
                h = h + v1.get_variable("extra", [5], initializer=v1.random_normal_initializer())
            logits = v1.layers.dense(h, 3, name="logits")
            if log0:
                logits = tf.math.log(logits * 0.0, name="logzero")
            if bomb:
                logits = tf.add(logits, tf.reduce_sum(tf.constant(1.0, shape=[2, 2], name="bomb")), name="scores")
            loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits),
                                  name="loss")
            v1.train.AdamOptimizer(0.1).minimize(loss)
            rng = np.random.RandomState(0)
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                for v in v1.trainable_variables():
                    s.run(v.assign(rng.normal(0, 0.5, v.shape.as_list()).astype("float32")))
                keep = [v for v in v1.global_variables() if v.op.name not in omit]
                prefix = v1.train.Saver(var_list=keep).save(s, os.path.join(path, "model.ckpt"),
                                                            write_meta_graph=not twin)
            if twin:
                init = v1.placeholder(tf.float32, [5, 3], name="twin_init")
                with v1.variable_scope("twin"):
                    w = v1.Variable(init, name="w")
                    tf.identity(tf.matmul(h, w), name="predictions")
                v1.train.export_meta_graph(prefix + ".meta")
    return prefix


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    return {
        "plain": _model(str(root / "plain")),
        "missing": _model(str(root / "missing"), extra=True, omit=("extra",)),
        "twin": _model(str(root / "twin"), twin=True),
        "log0": _model(str(root / "log0"), log0=True),
        "hugeph": _model(str(root / "hugeph"), x_shape=(None, 2**31)),
        "bomb": _model(str(root / "bomb"), bomb=True),
    }


def _cli(argv):
    from migrate.cli import main

    return main(argv)


def _copy(prefix, dst):
    os.makedirs(dst, exist_ok=True)
    folder, base = os.path.split(prefix)
    for f in os.listdir(folder):
        if f.startswith(base):
            shutil.copy(os.path.join(folder, f), dst)
    return os.path.join(dst, base)


def _meta(prefix):
    import tensorflow as tf

    meta = tf.compat.v1.MetaGraphDef()
    with open(prefix + ".meta", "rb") as f:
        meta.ParseFromString(f.read())
    return meta


# -- point 2: never a silent wrong model --------------------------------------------------------------------------


def test_an_output_reading_a_variable_the_checkpoint_lacks_is_refused_naming_it(models, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", "--from-graph", models["missing"], "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "the checkpoint lacks 1 variable(s) that logits/BiasAdd:0 read: extra." in err
    assert "--variable extra=FILE.npy (shape [5]; --variable extra=zeros" in err
    assert "choose --outputs that do not read them" in err and "Traceback" not in err
    assert not out.exists()


def test_the_variable_option_gives_it_a_value_and_the_report_says_so(models, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", "--from-graph", models["missing"], "--out", str(out), "--variable", "extra=zeros"]) == 0
    report = json.loads((out / "convert_report.json").read_text())
    assert report["variables_not_from_checkpoint"] == [
        {"name": "extra", "source": "zeros", "shape": [5], "checkpoint_shape": None}]
    assert report["parity"]["ok"]
    # parity --tf1 on that model: the same refusal without the option, within tolerance with it
    import tf_migrate_runtime.layers  # noqa: F401 - the report's load_requires

    capsys.readouterr()
    base = ["parity", "--tf1", models["missing"], "--keras", str(out / "model.keras")]
    assert _cli(base) == 1
    err = capsys.readouterr().err
    assert "the checkpoint lacks 1 variable(s) that logits/BiasAdd:0 read: extra." in err
    assert "[parity] outputs in --mapping" in err
    assert _cli(base + ["--variable", "extra=zeros"]) == 0


def test_nothing_is_initialised_so_no_run_reads_a_random_value(models):
    """By construction: the TF1 side restores from the checkpoint and --variable only; a fetch that reads anything
    else is refused (exit 1), imported whole or focused."""
    from migrate.parity.tf1_graph import TF1Graph, VariablesNotInCheckpoint

    feed = {"x:0": np.ones((2, 4), np.float32)}
    with TF1Graph(models["missing"]) as g:       # no focus: the whole graph on first use
        assert g.missing_variables(["logits/BiasAdd:0"]) == ["extra"]
        assert "extra" in g.not_restored and "extra" not in g.restored
        with pytest.raises(VariablesNotInCheckpoint, match="read: extra") as e:
            g.run(["logits/BiasAdd:0"], feed)
        assert e.value.exit_code == 1
        (hidden,) = g.run(["hidden/Tanh:0"], feed)   # what does not read it runs
    assert np.isfinite(hidden).all()
    with pytest.raises(VariablesNotInCheckpoint):
        TF1Graph(models["missing"], outputs=["logits/BiasAdd:0"])
    with TF1Graph(models["missing"], variables={"extra": "zeros"}, outputs=["logits/BiasAdd:0"]) as g:
        assert g.assigned[0]["name"] == "extra" and g.not_restored == []


# -- point 4: only the subgraph the outputs need -------------------------------------------------------------------


def test_a_twin_whose_variables_the_checkpoint_lacks_is_never_imported(models, tmp_path, capsys):
    """An inference twin added after the save (sharing the hidden layer, reading a new variable initialised from a
    placeholder): before, it was chosen as a named result and the run failed (uninitialized value, traceback).
    Now it is not chosen, never imported, and the model converts."""
    out = tmp_path / "out"
    assert _cli(["convert", "--from-graph", models["twin"], "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "not chosen: twin/predictions:0" in text and "reads twin/w, which the checkpoint lacks" in text
    report = json.loads((out / "convert_report.json").read_text())
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["logits/BiasAdd:0"]
    from migrate.parity.tf1_graph import TF1Graph

    with TF1Graph(models["twin"], outputs=["logits/BiasAdd:0"]) as g:
        names = {op.name for op in g.graph.get_operations()}
    assert "twin/w" not in names and "twin/predictions" not in names and not any("Adam" in n for n in names)
    assert report["graph"]["nodes"]["imported"] < report["graph"]["nodes"]["meta"] / 5


def _with_unused_chain(prefix, dst, n):
    """The model's .meta plus a chain of n Add / Identity ops on a constant that no output needs (written with the
    protobuf directly)."""
    from tensorflow.core.framework import types_pb2

    new = _copy(prefix, dst)
    meta = _meta(prefix)
    nodes = meta.graph_def.node
    c = nodes.add(name="unused/c", op="Const")
    c.attr["dtype"].type = types_pb2.DT_FLOAT
    c.attr["value"].tensor.dtype = types_pb2.DT_FLOAT
    c.attr["value"].tensor.float_val.append(1.0)
    c.attr["value"].tensor.tensor_shape.SetInParent()
    prev = "unused/c"
    for i in range(n):
        node = nodes.add(name=f"unused/n{i}", op="Identity" if i % 2 else "Add")
        node.input.extend([prev] if i % 2 else [prev, "unused/c"])
        node.attr["T"].type = types_pb2.DT_FLOAT
        prev = node.name
    with open(new + ".meta", "wb") as f:
        f.write(meta.SerializeToString())
    return new


def test_a_large_unused_graph_is_never_imported_nor_translated(models, tmp_path):
    from migrate.graph import convert_graph

    plain = convert_graph(models["plain"], str(tmp_path / "plain"), log=lambda m: None)
    big_prefix = _with_unused_chain(models["plain"], str(tmp_path / "big"), 100_000)
    big = convert_graph(big_prefix, str(tmp_path / "out"), log=lambda m: None)
    assert big["graph"]["nodes"]["meta"] == plain["graph"]["nodes"]["meta"] + 100_001
    assert big["graph"]["nodes"]["imported"] == plain["graph"]["nodes"]["imported"] < 40
    assert big["ops_translated"] == plain["ops_translated"] and big["parity"]["ok"]
    assert big["graph"]["outputs"] == plain["graph"]["outputs"]


def test_selection_reads_the_meta_as_data_and_chooses_what_the_imported_graph_would(models):
    import tensorflow as tf

    from migrate.graph.select import choose_outputs
    from migrate.parity.graph_def import ProtoGraph

    for name in ("plain", "twin", "log0"):
        meta = _meta(models[name])
        g = tf.Graph()
        with g.as_default():
            tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        a, b = choose_outputs(ProtoGraph(meta)), choose_outputs(g)
        assert (a.outputs, a.reasons, a.loss, a.labels, a.primary) == (b.outputs, b.reasons, b.loss, b.labels,
                                                                        b.primary), name
        t, pt = g.get_tensor_by_name("logits/BiasAdd:0"), ProtoGraph(meta).get_tensor_by_name("logits/BiasAdd:0")
        assert (pt.dtype, pt.shape.as_list(), sorted(c.name for c in pt.consumers())) == \
            (t.dtype, t.shape.as_list(), sorted(c.name for c in t.consumers()))


# -- point 4: bounded and explained bad input ---------------------------------------------------------------------


def test_a_placeholder_declared_huge_is_refused_before_allocation(models, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", "--from-graph", models["hugeph"], "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "placeholder x:0 is declared with shape [None, 2147483648] (float32)" in err
    assert "[3, 2147483648] would take 24.0 GiB" in err and "256.0 MiB" in err and "--inputs FEED.npz" in err
    assert not out.exists()
    # an example batch that leaves it out: the generated rest is bounded alike
    np.savez(tmp_path / "feed.npz", **{"y:0": np.zeros(3, np.int32)})
    assert _cli(["convert", "--from-graph", models["hugeph"], "--out", str(out), "--inputs",
                 str(tmp_path / "feed.npz")]) == 2
    assert "placeholder x:0 is declared with shape [None, 2147483648] (float32)" in capsys.readouterr().err
    assert not out.exists()


def test_the_generated_batch_has_a_total_budget(models, monkeypatch):
    """Every input under one input's budget, the batch over the batch's: refused naming the input that crosses it
    (the budget made small here, so that nothing large is allocated either way)."""
    from migrate.parity import graph_inputs
    from migrate.parity.errors import ParityInputError
    from migrate.parity.tf1_graph import PlaceholderInfo, TF1Graph

    monkeypatch.setattr(graph_inputs, "MAX_FEED_BYTES", 5000)
    inputs = [PlaceholderInfo(f"x{k}", np.dtype("float32"), (None, 100)) for k in range(5)]   # 1200 bytes each
    with TF1Graph(models["plain"]) as g:
        assert len(graph_inputs.generate_feed(g, inputs[:4], {}, batch_size=3).values) == 4
        with pytest.raises(ParityInputError, match=r"placeholder x4:0 .* \[3, 100\] would take 1\.2 KiB; the "
                                                   r"batch would take 5\.9 KiB, over the 4\.9 KiB budget"):
            graph_inputs.generate_feed(g, inputs, {}, batch_size=3)


def test_a_constant_declared_huge_is_refused_before_allocation(models, tmp_path, capsys):
    prefix = _copy(models["bomb"], str(tmp_path / "bomb"))
    meta = _meta(prefix)
    node = next(n for n in meta.graph_def.node if n.name == "bomb")
    for d in node.attr["value"].tensor.tensor_shape.dim:
        d.size = 2**31
    with open(prefix + ".meta", "wb") as f:
        f.write(meta.SerializeToString())
    assert _cli(["convert", "--from-graph", prefix, "--out", str(tmp_path / "out"), "--outputs", "scores:0"]) == 2
    err = capsys.readouterr().err
    assert "the graph constant bomb:0 is declared with shape [2147483648, 2147483648] (16.0 EiB" in err
    assert not (tmp_path / "out").exists()


def _declare(prefix, dst, variable, dims):
    """A copy of the checkpoint whose .meta declares `variable` with shape `dims` (its _output_shapes too)."""
    new = _copy(prefix, dst)
    meta = _meta(prefix)
    for node in meta.graph_def.node:
        if node.name == variable:
            shapes = [node.attr["shape"].shape, *node.attr["_output_shapes"].list.shape]
            for shape in shapes:
                del shape.dim[:]
                for d in dims:
                    shape.dim.add(size=d)
    with open(new + ".meta", "wb") as f:
        f.write(meta.SerializeToString())
    return new


def test_a_variable_declared_huge_is_refused_before_allocation(models, tmp_path, capsys):
    """Declared [2**31, 2**31] in the .meta: against the checkpoint's [5, 3], the shape mismatch (exit 2); missing
    from the checkpoint and given as --variable NAME=zeros, over the budget (exit 2); nothing allocated."""
    prefix = _declare(models["plain"], str(tmp_path / "a"), "logits/kernel", [2**31, 2**31])
    assert _cli(["convert", "--from-graph", prefix, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "logits/kernel: graph [2147483648, 2147483648], checkpoint [5, 3]" in err
    prefix = _declare(models["missing"], str(tmp_path / "b"), "extra", [2**31, 2**31])
    assert _cli(["convert", "--from-graph", prefix, "--out", str(tmp_path / "out"), "--variable",
                 "extra=zeros"]) == 2
    err = capsys.readouterr().err
    assert "--variable extra=zeros: " in err and "shape [2147483648, 2147483648] (16.0 EiB), over the 256.0 MiB" in err
    assert not (tmp_path / "out").exists()


def _flip(prefix, dst, tensor):
    from migrate.checkpoint.stream import bundle_entries

    new = _copy(prefix, dst)
    _, offset, _, _, _ = bundle_entries(new)[tensor]
    data = new + ".data-00000-of-00001"
    with open(data, "r+b") as f:
        f.seek(offset + 2)
        b = f.read(1)
        f.seek(offset + 2)
        f.write(bytes([b[0] ^ 0x10]))
    return new


def test_a_flipped_byte_names_the_file_and_the_tensor(models, tmp_path, capsys):
    prefix = _flip(models["plain"], str(tmp_path / "flip"), "logits/kernel")
    assert _cli(["convert", "--from-graph", prefix, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "corrupt checkpoint data" in err and "model.ckpt.data-00000-of-00001" in err
    assert "'logits/kernel'" in err and "CRC32C mismatch" in err and "Graph execution error" not in err
    # a flipped byte in what the outputs do not need (an Adam slot) is never read
    prefix = _flip(models["plain"], str(tmp_path / "flip_slot"), "logits/kernel/Adam")
    assert _cli(["convert", "--from-graph", prefix, "--out", str(tmp_path / "out2")]) == 0


def test_tensorflow_error_text_is_kept_whole():
    import tensorflow as tf

    from migrate.parity.tf1_graph import describe_op_error

    text = ("Graph execution error:\n\nDetected at node 'save/RestoreV2' defined at (most recent call last):\n"
            "    File \"x.py\", line 3, in <module>\nNode: 'save/RestoreV2'\nTensorBundle at m.ckpt shard 0 (20 bytes): "
            "Checksum does not match: stored 1 vs. calculated on the restored bytes 2\n\t [[{{node save/RestoreV2}}]]"
            "\n\nOriginal stack trace for 'save/RestoreV2':\n  File \"x.py\", line 3, in <module>\n")
    said = describe_op_error(tf.errors.DataLossError(None, None, text))
    assert said == ("DataLossError at node save/RestoreV2: TensorBundle at m.ckpt shard 0 (20 bytes): Checksum does "
                    "not match: stored 1 vs. calculated on the restored bytes 2")


# -- point 4: non-finite outputs never pass --------------------------------------------------------------------------


def test_non_finite_outputs_fail_convert_and_parity(models, tmp_path, capsys):
    out = tmp_path / "out"
    assert _cli(["convert", "--from-graph", models["log0"], "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "logzero:0: FAILED, non-finite values (the TF1 graph: 9 of 9 (9 -inf); the Keras model: 9 of 9 " \
           "(9 -inf)): parity on non-finite values proves nothing" in text
    report = json.loads((out / "convert_report.json").read_text())
    assert not report["parity"]["ok"] and report["parity"]["outputs"][0]["nonfinite"]
    import tf_migrate_runtime.layers  # noqa: F401 - the report's load_requires

    capsys.readouterr()
    assert _cli(["parity", "--tf1", models["log0"], "--keras", str(out / "model.keras")]) == 1
    captured = capsys.readouterr()
    assert "non-finite values (the TF1 graph: 24 of 24 (24 -inf); the Keras model: 24 of 24 (24 -inf))" in \
        captured.out + captured.err


def test_nonfinite_problem_counts_each_side_within_the_mask():
    from migrate.parity.graph_pair import nonfinite_problem

    a = np.array([[1.0, np.inf], [np.nan, 2.0]], np.float32)
    assert nonfinite_problem(np.ones((2, 2)), np.ones((2, 2))) is None
    said = nonfinite_problem(a, a)
    assert "the TF1 graph: 2 of 4 (1 NaN, 1 +inf); the Keras model: 2 of 4 (1 NaN, 1 +inf)" in said
    assert nonfinite_problem(a, a, mask=np.array([True, False])) .startswith(
        "non-finite values (the TF1 graph: 1 of 2 (1 +inf)")
    assert nonfinite_problem(np.array([[1.0, np.inf]]), np.array([[1.0, np.inf]]),
                             mask=np.array([[True, False]])) is None
