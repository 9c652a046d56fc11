"""Every form a TF1 model ships in (`migrate.parity.forms`): a TF1 SavedModel (`SavedModelBuilder`, `simple_save`), a
frozen GraphDef (`.pb`, `.pbtxt`), an Estimator model_dir (checkpoints + `graph.pbtxt`, or its `export/`), each
written here in TF1 style from one recurrent model (tests/form_writers.py), goes through `convert`, `parity --tf1`
and `inspect` like a checkpoint with its `.meta`: the same translation, the same parity, and Keras weights equal to
the checkpoint's. Random non-zero weights and biases, forget bias 0.7."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from form_writers import write_forms

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

SIGNATURE_INPUTS = {"tokens": "ids:0", "lengths": "lengths:0"}
SIGNATURE_OUTPUTS = {"scores": "logits:0", "probabilities": "probs:0"}


def tagger(tf, v1):   # embedding -> dynamic_rnn(LSTMCell, forget_bias 0.7, sequence_length) -> dense -> softmax
    ids = v1.placeholder(tf.int32, [None, None], name="ids")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    x = tf.nn.embedding_lookup(v1.get_variable("embedding", [11, 4]), ids)
    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.7), x, sequence_length=n, dtype=tf.float32)
    logits = tf.identity(v1.layers.dense(out, 5, name="proj"), name="logits")
    tf.nn.softmax(logits, name="probs")


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    return write_forms(str(tmp_path_factory.mktemp("forms")), tagger, SIGNATURE_INPUTS, SIGNATURE_OUTPUTS)


@pytest.fixture(scope="module")
def converted(forms, tmp_path_factory):
    from migrate.graph import convert_graph

    out = tmp_path_factory.mktemp("converted")
    done = {}
    for form, path in forms.items():   # a form without a signature: the outputs named (`--outputs`)
        outputs = None if FORMS[form][2] else ["logits:0"]
        done[form] = (convert_graph(path, str(out / form), outputs=outputs, log=lambda m: None), str(out / form))
    return done


FORMS = {   # form written -> (the form told, the Keras input names, the Keras output names)
    "checkpoint": ("checkpoint", {"ids", "lengths"}, None),
    "saved_model": ("saved_model", {"tokens", "lengths"}, ["probabilities", "scores"]),
    "simple_save": ("saved_model", {"ids", "lengths"}, ["logits", "probs"]),
    "frozen_pb": ("frozen_graph", {"ids", "lengths"}, None),
    "frozen_pbtxt": ("frozen_graph", {"ids", "lengths"}, None),
    "model_dir": ("model_dir", {"ids", "lengths"}, None),
    "model_dir_export": ("model_dir", {"tokens", "lengths"}, ["probabilities", "scores"]),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_converts_with_parity_recognised_and_named(converted, form):
    told, keras_inputs, keras_outputs = FORMS[form]
    report, out = converted[form]
    assert report["source"]["form"] == told
    assert report["parity"]["ok"] and all(r["max_abs"] < 1e-5 for r in report["parity"]["outputs"])
    assert [lp["how"] for lp in report["loops"]] == ["recognised as dynamic_rnn"]
    assert {i["keras"] for i in report["graph"]["inputs"]} == keras_inputs
    if keras_outputs is not None:   # a signature: its outputs, named after its keys
        assert [o["keras"] for o in report["graph"]["outputs"]] == keras_outputs
    else:
        assert [o["graph"] for o in report["graph"]["outputs"]] == ["logits:0"]
    with open(os.path.join(out, "convert_report.json")) as f:
        assert json.load(f)["source"] == report["source"]


@pytest.mark.parametrize("form", ["saved_model", "frozen_pb", "model_dir", "model_dir_export"])
def test_keras_weights_of_every_form_are_the_checkpoints_trainable_and_named_after_the_scopes(converted, form):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    ref = keras.models.load_model(os.path.join(converted["checkpoint"][1], "model.keras"))
    got = keras.models.load_model(os.path.join(converted[form][1], "model.keras"))
    assert [w.path for w in got.trainable_weights] == [w.path for w in ref.trainable_weights]
    assert {"embedding", "rnn__lstm_cell", "proj"} <= {layer.name for layer in got.layers}
    for a, b in zip(got.trainable_weights, ref.trainable_weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert len(got.trainable_weights) == 6   # embedding, LSTM kernel / recurrent kernel / bias, dense kernel, bias


def test_signature_report_is_the_stable_source_object(converted, forms):
    src = converted["saved_model"][0]["source"]
    assert src["form"] == "saved_model" and src["path"] == forms["saved_model"]
    assert src["tag_set"] == ["serve"]
    assert src["signature"] == {
        "key": "serving_default", "method_name": "tensorflow/serving/predict",
        "inputs": {"lengths": {"tensor": "lengths:0", "dtype": "int32", "shape": [None]},
                   "tokens": {"tensor": "ids:0", "dtype": "int32", "shape": [None, None]}},
        "outputs": {"probabilities": {"tensor": "probs:0", "dtype": "float32", "shape": [None, None, 5]},
                    "scores": {"tensor": "logits:0", "dtype": "float32", "shape": [None, None, 5]}}}
    export = converted["model_dir_export"][0]["source"]
    assert export["signature"]["key"] == "predict" and "export/exporter/1700000000" in export["graph"]
    assert any("chosen over the training checkpoints" in n for n in export["notes"])
    frozen = converted["frozen_pb"][0]["source"]
    assert frozen["checkpoint"] is None and frozen["frozen_variables"] == 5 and frozen["signature"] is None
    md = converted["model_dir"][0]["source"]
    assert md["graph"].endswith("graph.pbtxt") and md["checkpoint"].endswith("model.ckpt-7")


def test_frozen_weights_are_found_by_use_and_a_dropped_read_keeps_the_variable_name(forms):
    from migrate.parity.forms import frozen_weights, read_graph_def, variable_name

    gd = read_graph_def(forms["frozen_pb"])
    found = frozen_weights(gd)
    assert sorted(found) == ["embedding", "proj/bias", "proj/kernel", "rnn/lstm_cell/bias", "rnn/lstm_cell/kernel"]
    assert found["embedding"][1].startswith("GatherV2 ")
    assert found["rnn/lstm_cell/kernel"][1].startswith("MatMul rnn/while/")
    consts = {n.name for n in gd.node if n.op == "Const"}
    assert len(consts) > 10 and not {"rnn/Const", "rnn/while/Less/Enter"} & set(found)   # shapes, not weights
    assert variable_name("rnn/lstm_cell/kernel/read", {"rnn/lstm_cell/kernel/read"}) == "rnn/lstm_cell/kernel"
    assert variable_name("rnn/lstm_cell/kernel/read", {"rnn/lstm_cell/kernel"}) == "rnn/lstm_cell/kernel/read"


def test_a_freezer_that_dropped_the_reads_gives_the_same_names(forms, tmp_path):
    """optimize_for_inference / transform_graph fold `kernel/read` into the constant, which keeps the read's name."""
    import tensorflow as tf

    from migrate.graph import convert_graph

    gd = tf.compat.v1.GraphDef()
    with open(forms["frozen_pb"], "rb") as f:
        gd.ParseFromString(f.read())
    consts = {n.name: n for n in gd.node if n.op == "Const"}
    keep = []
    for n in gd.node:
        if n.op == "Identity" and n.name.endswith("/read") and n.input[0] in consts:
            c = consts[n.input[0]]
            n.op = "Const"
            n.ClearField("input")
            n.attr.clear()
            n.attr["dtype"].CopyFrom(c.attr["dtype"])
            n.attr["value"].CopyFrom(c.attr["value"])
            c.name = "__dropped__"
        keep.append(n)
    del gd.node[:]
    gd.node.extend(n for n in keep if n.name != "__dropped__")
    path = tmp_path / "stripped.pb"
    path.write_bytes(gd.SerializeToString())
    report = convert_graph(str(path), str(tmp_path / "out"), outputs=["logits:0"], log=lambda m: None)
    assert report["parity"]["ok"] and report["source"]["frozen_variables"] == 5
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    model = keras.models.load_model(str(tmp_path / "out" / "model.keras"))
    assert {"embedding", "rnn__lstm_cell", "proj"} <= {layer.name for layer in model.layers}


def test_parity_tf1_and_inspect_take_every_form(converted, forms, capsys):
    from migrate.cli import main

    for form in ("saved_model", "frozen_pbtxt", "model_dir"):
        assert main(["parity", "--tf1", forms[form], "--keras",
                     os.path.join(converted[form][1], "model.keras")]) == 0, form
    assert "graph tensor vs Keras output" in capsys.readouterr().out
    assert main(["inspect", forms["frozen_pbtxt"], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"]["form"] == "frozen_graph"
    assert {v["name"]: v["kind"] for v in report["variables"]} == {
        "embedding": "embedding", "proj/bias": "dense", "proj/kernel": "dense", "rnn/lstm_cell/bias": "cell",
        "rnn/lstm_cell/kernel": "cell"}
    assert report["cells"][0]["forget_bias"]["value"] == pytest.approx(0.7)
    assert main(["inspect", forms["saved_model"]]) == 0
    text = capsys.readouterr().out
    assert "signature 'serving_default'" in text and "input tokens: ids:0 int32" in text
    assert "cell rnn/lstm_cell: LSTMCell" in text and "forget bias 0.7" in text and "tfm-inspect" not in text


def _exit(argv, capsys) -> tuple[int, str]:
    from migrate.cli import main

    code = main(argv)
    return code, " ".join(capsys.readouterr().err.split())


def test_unreadable_forms_exit_2_naming_the_form_what_is_missing_and_the_way_out(forms, tmp_path, capsys):
    code, err = _exit(["convert", forms["saved_model"], "--out", str(tmp_path / "a"), "--tag-set", "train"], capsys)
    assert code == 2 and "detected a TF1 SavedModel" in err and "its tag sets are serve" in err
    assert "--tag-set" in err and not (tmp_path / "a").exists()
    code, err = _exit(["convert", forms["saved_model"], "--out", str(tmp_path / "a"), "--signature", "nope"], capsys)
    assert code == 2 and "no signature 'nope'" in err and "serving_default" in err
    broken = tmp_path / "sm"
    shutil.copytree(forms["saved_model"], broken)
    shutil.rmtree(broken / "variables")
    code, err = _exit(["inspect", str(broken)], capsys)
    assert code == 2 and "variables/variables.index is missing" in err and "copy it too" in err
    (tmp_path / "junk.pb").write_bytes(b"\x00\x01not a graph" * 3)
    code, err = _exit(["convert", str(tmp_path / "junk.pb"), "--out", str(tmp_path / "b")], capsys)
    assert code == 2 and "detected a frozen GraphDef" in err and "reads as no GraphDef" in err
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(os.path.join(forms["model_dir"], "graph.pbtxt"), lonely / "graph.pbtxt")
    code, err = _exit(["convert", str(lonely / "graph.pbtxt"), "--out", str(tmp_path / "e")], capsys)
    assert code == 2 and "not a frozen one" in err and "no checkpoint is beside it" in err
    nograph = tmp_path / "md"
    shutil.copytree(forms["model_dir"], nograph)
    os.remove(nograph / "graph.pbtxt")
    os.makedirs(nograph / "export")   # still a model_dir by its export/ folder, which holds nothing
    code, err = _exit(["convert", str(nograph), "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and "Estimator model_dir" in err and "no .meta and there is no graph.pbtxt" in err
    code, err = _exit(["convert", forms["checkpoint"], "--out", str(tmp_path / "d"), "--tag-set", "serve"], capsys)
    assert code == 2 and "--tag-set" in err and "checkpoint" in err


def test_a_generic_tier_model_converts_frozen_and_saved(tmp_path):
    """A relu BasicRNNCell under a GRUCell, time major (construct_builders.time_major_stack): frozen and as a
    SavedModel, its loops go through the same tiers as from its checkpoint."""
    from construct_builders import time_major_stack

    from migrate.graph import convert_graph

    paths = write_forms(str(tmp_path / "f"), time_major_stack, {"x": "x:0"}, {"y": "outputs:0"})
    hows = {}
    for form in ("checkpoint", "frozen_pb", "saved_model"):
        report = convert_graph(paths[form], str(tmp_path / form), log=lambda m: None)
        assert report["parity"]["ok"], form
        hows[form] = [lp["how"] for lp in report["loops"]]
    assert hows["frozen_pb"] == hows["saved_model"] == hows["checkpoint"], hows
