"""A model that starts where its serving client feeds it, not at a placeholder (`TF1Graph.start_at`).

1. A TF1 SavedModel written by `SavedModelBuilder` from its training graph, as sertiscorp/thai-word-segmentation
   does: the data come from a `tf.data` pipeline (`make_one_shot_iterator` -> `string_handle` ->
   `Iterator.from_string_handle` -> `get_next`), so the signature's inputs are outputs 0 and 1 of one
   `IteratorGetNext` (output 2, the labels, feeds the loss only); one `GRUCell` object is given to both directions of
   a `bidirectional_dynamic_rnn`; the outputs are flat `boolean_mask`s (`Where`) of the predictions and the logits
   by a `sequence_mask`. `convert` starts the model at the signature's inputs without being told, the Keras inputs
   named after the signature's keys; the GRU is one Keras layer called twice; `--export-saved-model` serves the
   same keys and values as the TF1 SavedModel; `parity --tf1` of the SavedModel against it and `convert --to tf1` start there too.
2. A frozen graph started with `--inputs` at output 1 of a `tf.split` (the graph has a second split named `split_1`),
   the reference (the frozen graph's own import) fed `split:1` by name; its `boolean_mask` output runs on JAX and
   PyTorch (`tfm.Where`: `keras.ops.nonzero`), eagerly and through `predict_on_batch` on PyTorch; under `jax.jit`
   the layer refuses its data-dependent shape with a message naming the op and the way out.
Random non-zero weights and biases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from form_writers import save_predict_signature
from tf1_models import random_session, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@pytest.fixture(scope="module")
def pipeline_saved_model(tmp_path_factory):
    """A SavedModel whose signature starts inside the training graph's input pipeline."""
    import tensorflow as tf

    v1 = tf.compat.v1
    root = str(tmp_path_factory.mktemp("pipeline"))
    rng = np.random.RandomState(1)
    data = (np.array([5, 2, 4, 3], np.int64), rng.randint(1, 11, (4, 5)).astype(np.int64),
            rng.randint(0, 2, (4, 5)).astype(np.int64))
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            ds = tf.data.Dataset.from_tensor_slices(data).batch(2)
            train_handle = v1.data.make_one_shot_iterator(ds).string_handle()
            handle = v1.placeholder(tf.string, [], name="handle")
            it = v1.data.Iterator.from_string_handle(handle, v1.data.get_output_types(ds),
                                                     v1.data.get_output_shapes(ds))
            lengths, ids, labels = it.get_next()   # IteratorGetNext:0, :1, :2
            training = v1.placeholder_with_default(False, [], name="training")
            x = tf.nn.embedding_lookup(v1.get_variable("embedding", [11, 4]), ids)
            x = tf.cond(training, lambda: tf.nn.dropout(x, rate=0.5), lambda: x)
            cell = v1.nn.rnn_cell.GRUCell(5)   # one cell object: both directions read its variables
            (fw, bw), _ = v1.nn.bidirectional_dynamic_rnn(cell, cell, x, sequence_length=lengths, dtype=tf.float32)
            logits = v1.layers.dense(tf.concat([fw, bw], 2), 2)
            mask = tf.sequence_mask(lengths)
            pred = tf.boolean_mask(tf.argmax(logits, -1), mask)
            scores = tf.boolean_mask(logits, mask)
            v1.losses.sparse_softmax_cross_entropy(tf.boolean_mask(labels, mask), scores)
            with random_session(2) as s:
                s.run(train_handle)   # the pipeline works as written
                sm = os.path.join(root, "saved_model")
                save_predict_signature(v1, s, sm, {"inputs": ids, "lengths": lengths, "training": training},
                                       {"outputs": pred, "scores": scores})
    assert (ids.name, lengths.name) == ("IteratorGetNext:1", "IteratorGetNext:0")
    return sm


def _call(path, feed, tags=None):
    import tensorflow as tf

    fn = tf.saved_model.load(path, tags=tags).signatures["serving_default"]
    args = fn.structured_input_signature[1]
    names = {**{spec.name: arg for arg, spec in args.items()}, **{arg: arg for arg in args}}   # TF1: keys; TF2: names
    return {k: np.asarray(v) for k, v in fn(**{names[k]: tf.constant(v) for k, v in feed.items()}).items()}


def test_a_signature_starting_at_iterator_outputs_converts_and_serves_back(pipeline_saved_model, tmp_path):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.graph import convert_graph

    lines = []
    out, served = str(tmp_path / "port"), str(tmp_path / "served")
    report = convert_graph(pipeline_saved_model, out, log=lines.append, export_saved_model=served)
    started = [ln for ln in lines if ln.startswith("inputs: the model starts at")]
    signature = [ln for ln in started if "the signature's inputs" in ln]
    assert len(signature) == 1, lines
    assert "IteratorGetNext:1 is fed as placeholder IteratorGetNext_1:0" in signature[0]
    # the iterator's other output (the labels, read by the loss only) starts as the pipeline's batch
    assert [ln.split(" (")[0] for ln in started if ln not in signature] == \
        ["inputs: the model starts at IteratorGetNext:2"], lines
    assert report["parity"]["ok"] and all(r["max_abs"] < 1e-5 for r in report["parity"]["outputs"])
    assert {(i["graph"], i["keras"]) for i in report["graph"]["inputs"]} == \
        {("IteratorGetNext_1:0", "inputs"), ("IteratorGetNext_0:0", "lengths")}

    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    grus = [layer for layer in model.layers if isinstance(layer, keras.layers.GRU)]
    assert len(grus) == 1 and len(grus[0]._inbound_nodes) == 2   # one layer, both directions: the weights stay shared
    source = open(os.path.join(out, "model.py")).read()
    assert "IteratorFromStringHandle" not in source and "one cell shared, as in TF1" in source

    feed = {"inputs": np.array([[3, 7, 1, 9, 2], [4, 4, 8, 0, 0], [10, 5, 6, 2, 0]], np.int64),
            "lengths": np.array([5, 3, 4], np.int64), "training": np.array(False)}
    want, got = _call(pipeline_saved_model, feed, tags=["serve"]), _call(served, feed)
    assert sorted(got) == sorted(want) == ["outputs", "scores"]
    assert got["outputs"].shape == (12,) and got["scores"].shape == (12, 2)   # 5 + 3 + 4 positions kept
    np.testing.assert_array_equal(got["outputs"], want["outputs"])
    np.testing.assert_allclose(got["scores"], want["scores"], atol=1e-5)
    assert np.abs(want["scores"]).max() > 0.1
    report_inputs = {i["keras"]: i.get("starts_at") for i in report["graph"]["inputs"]}
    assert report_inputs == {"inputs": "IteratorGetNext:1", "lengths": "IteratorGetNext:0"}


def test_parity_tf1_of_the_savedmodel_starts_where_convert_did(pipeline_saved_model, tmp_path, capsys):
    from migrate.cli import main
    from migrate.graph import convert_graph

    out = str(tmp_path / "port")
    convert_graph(pipeline_saved_model, out, log=lambda m: None)
    code = main(["parity", "--tf1", pipeline_saved_model, "--keras", os.path.join(out, "model.keras")])
    text = capsys.readouterr()
    assert code == 0, text.out + text.err
    assert "input inputs -> IteratorGetNext_1:0" in text.out and "all 2 checks within tolerance" in text.out

    # and back into a TF1 checkpoint (`convert --to tf1`): the translation run again starts where convert did
    code = main(["convert", "--to", "tf1", os.path.join(out, "model.keras"), "--out", str(tmp_path / "ckpt" / "m")])
    text = capsys.readouterr()
    assert code == 0 and "7 TF1 variables from the Keras model, 0 of them changed" in text.out, text.out + text.err


@pytest.fixture(scope="module")
def frozen_split(tmp_path_factory):
    """A frozen graph: x -> split (2 halves) -> the second through a dense tanh -> boolean_mask of its positive values
    (`y`); a second `tf.split` (`split_1`) feeds another output."""
    import tensorflow as tf

    v1 = tf.compat.v1
    root = tmp_path_factory.mktemp("frozen_split")
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [None, 6], name="x")
            _, second = tf.split(x, 2, axis=1)                        # Split `split`
            h = tf.tanh(v1.layers.dense(second, 4, name="proj"))
            tf.boolean_mask(h, h > 0, name="y")
            left, _ = tf.split(x, [2, 4], axis=1)                     # SplitV `split_1`
            tf.reduce_sum(left, name="z")
            with random_session(3) as s:
                frozen = v1.graph_util.convert_variables_to_constants(s, g.as_graph_def(), ["y/GatherV2", "z"])
    path = str(root / "frozen.pb")
    with open(path, "wb") as f:
        f.write(frozen.SerializeToString())
    return path


def test_inputs_keyed_by_output_1_of_a_split_start_the_frozen_graph_there(frozen_split, tmp_path):
    from migrate.graph import convert_graph

    value = np.random.RandomState(4).normal(0, 1, (5, 3)).astype("float32")
    npz = str(tmp_path / "feed.npz")
    np.savez(npz, **{"split:1": value})
    lines, out = [], str(tmp_path / "port")
    report = convert_graph(frozen_split, out, outputs=["y/GatherV2:0"], inputs_npz=npz, log=lines.append)
    assert any("split:1 is fed as placeholder split_output_1:0" in ln for ln in lines), lines
    assert [(i["graph"], i["keras"]) for i in report["graph"]["inputs"]] == [("split_output_1:0", "split_output_1")]
    assert report["parity"]["ok"]
    assert all(r["ok"] for r in report["parity"]["outputs"])

    # the TF1 reference: the frozen graph fed split:1 by name
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef()
    with open(frozen_split, "rb") as f:
        gd.ParseFromString(f.read())
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=g) as s:
            want = s.run("y/GatherV2:0", {"split:1": value})
    assert want.ndim == 1 and 0 < want.size < value.shape[0] * 4   # some positions masked out, some kept

    child = (
        "import json, sys, numpy as np\n"
        "sys.path.insert(0, 'tf2'); import backend_runner; backend_runner.block_tensorflow()\n"
        "import keras, tf_migrate_runtime.layers\n"
        "m = keras.saving.load_model(sys.argv[1])\n"
        "x = np.load(sys.argv[2])['split:1']\n"
        "out = m({'split_output_1': x})\n"
        "eager = keras.ops.convert_to_numpy(out[0] if isinstance(out, (list, tuple)) else out).tolist()\n"
        "try:\n"
        "    m.predict_on_batch({'split_output_1': x}); traced = 'ran'\n"
        "except Exception as e:\n"
        "    traced = type(e).__name__ + ': ' + str(e)[:400]\n"
        "print(json.dumps({'eager': eager, 'traced': traced}))\n")
    procs = {b: subprocess.Popen([sys.executable, "-c", child, os.path.join(out, "model.keras"), npz], cwd=ROOT,
                                 env={**os.environ, "KERAS_BACKEND": b}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for b in ("jax", "torch")}   # both children at once
    for backend, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        got = json.loads(stdout.strip().splitlines()[-1])
        np.testing.assert_allclose(got["eager"], want, atol=1e-5, err_msg=backend)
        if backend == "jax":   # refused by the layer, naming the op and the way out
            assert got["traced"].startswith("ValueError: ") and "tf.where / tf.boolean_mask" in got["traced"] \
                and "call the model eagerly" in got["traced"], got["traced"]
        else:
            assert got["traced"] == "ran", got["traced"]


def test_an_output_past_the_op_s_outputs_is_refused_naming_them(frozen_split, tmp_path):
    from migrate.graph import convert_graph
    from migrate.parity.tf1_graph import TF1GraphError

    npz = str(tmp_path / "feed.npz")
    np.savez(npz, **{"split:2": np.zeros((2, 3), "float32")})
    with pytest.raises(TF1GraphError, match=r"split:2 names output 2 of Split split, which has 2 output\(s\) "
                                            r"\(split:0, split:1\)"):
        convert_graph(frozen_split, str(tmp_path / "port"), outputs=["y/GatherV2:0"], inputs_npz=npz,
                      log=lambda m: None)
    assert not os.path.exists(tmp_path / "port")
