"""The reference side of parity for a SavedModel or a frozen GraphDef is TF 2.21's own loader for that form
(`migrate.parity.reference`): `tf.compat.v1.saved_model.loader.load` (main_op / legacy_init_op, tables, assets)
and `tf.compat.v1.import_graph_def` of the file. Tiny models, written TF1-style here."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tf1_models import session_config, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

A = np.array([[0.5, -1.0], [0.25, 2.0], [-0.75, 0.1]], "float32")     # what variables/ holds
B = np.array([[1.5, 0.3], [-0.2, 0.7], [0.9, -1.1]], "float32")       # what main_op assigns at load
BIAS = np.array([0.3, -0.6], "float32")


@pytest.fixture(scope="module")
def main_op_model(tmp_path_factory):
    """A SavedModel whose main_op assigns the kernel a value its variables/ checkpoint does not hold; and the same
    graph frozen (convert_variables_to_constants)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    root = str(tmp_path_factory.mktemp("main_op"))
    with tf1_style(), tf.Graph().as_default() as g:
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        w = v1.get_variable("dense/kernel", initializer=A)
        b = v1.get_variable("dense/bias", initializer=BIAS)
        y = tf.identity(tf.nn.bias_add(tf.matmul(x, w), b), name="y")
        with v1.Session(config=session_config()) as s:
            s.run(v1.global_variables_initializer())
            builder = v1.saved_model.builder.SavedModelBuilder(os.path.join(root, "sm"))
            sig = v1.saved_model.signature_def_utils.predict_signature_def({"features": x}, {"scores": y})
            builder.add_meta_graph_and_variables(s, ["serve"], signature_def_map={"serving_default": sig},
                                                 main_op=tf.group(v1.assign(w, B), name="main_op"))
            builder.save()
            frozen = v1.graph_util.convert_variables_to_constants(s, g.as_graph_def(), ["y"])
            tf.io.write_graph(frozen, root, "frozen.pb", as_text=False)
    return {"saved_model": os.path.join(root, "sm"), "frozen": os.path.join(root, "frozen.pb")}


def test_saved_model_reference_is_the_loader_and_sees_the_main_op(main_op_model, tmp_path):
    from migrate.graph import convert_graph
    from migrate.parity.tf1_graph import TF1Graph

    x = np.random.RandomState(0).normal(size=(4, 3)).astype("float32")
    with TF1Graph(main_op_model["saved_model"]) as g:
        got, = g.run(["y:0"], {"x:0": x})
        assert "saved_model.loader.load" in g.reference.how and g.reference.graph is not g.graph
        assert g.loaded_values == ["dense/kernel"]   # main_op changed it; the translation reads the loaded value
        np.testing.assert_array_equal(g.values(["dense/kernel"])["dense/kernel"], B)
    np.testing.assert_allclose(got, x @ B + BIAS, rtol=1e-6)
    assert not np.allclose(got, x @ A + BIAS)

    report = convert_graph(main_op_model["saved_model"], str(tmp_path / "k"), log=lambda m: None)
    assert report["parity"]["ok"]
    assert "loader.load" in report["source"]["reference"]
    assert report["source"]["loaded_values"] == ["dense/kernel"]
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    model = keras.models.load_model(str(tmp_path / "k" / "model.keras"))
    kernel = next(np.asarray(w) for w in model.weights if w.path.endswith("kernel"))
    np.testing.assert_array_equal(kernel, B)


def test_frozen_reference_is_the_files_graphdef_imported_unchanged(main_op_model):
    from migrate.parity.tf1_graph import TF1Graph

    x = np.random.RandomState(1).normal(size=(2, 3)).astype("float32")
    with TF1Graph(main_op_model["frozen"]) as g:
        got, = g.run(["y:0"], {"x:0": x})
        ref = g.reference
        assert "import_graph_def" in ref.how
        # the reference holds the file's constants; the translation's graph turned them into variables
        assert ref.graph.get_operation_by_name("dense/kernel").type == "Const"
        assert g.graph.get_operation_by_name("dense/kernel").type == "VariableV2"
    np.testing.assert_allclose(got, x @ A + BIAS, rtol=1e-6)


@pytest.fixture(scope="module")
def example_export(tmp_path_factory):
    """An Estimator-style PREDICT export written TF1-style (TF 2.21 has no tf.estimator): the signature takes
    serialized tf.Example (`examples` -> input_example_tensor -> tf.io.parse_example), as
    build_parsing_serving_input_receiver_fn builds it."""
    import tensorflow as tf

    v1 = tf.compat.v1
    root = str(tmp_path_factory.mktemp("example_export"))
    rng = np.random.RandomState(3)
    with tf1_style(), tf.Graph().as_default():
        serialized = v1.placeholder(tf.string, [None], name="input_example_tensor")
        spec = {"age": tf.io.FixedLenFeature([1], tf.float32),
                "ids": tf.io.FixedLenFeature([3], tf.int64, default_value=[1, 2, 3])}
        f = tf.io.parse_example(serialized, spec)
        emb = v1.get_variable("embedding", initializer=rng.normal(0, 0.5, (7, 4)).astype("float32"))
        pooled = tf.reduce_mean(tf.nn.embedding_lookup(emb, f["ids"]), axis=1)
        h = tf.concat([f["age"], pooled], axis=1)
        w = v1.get_variable("head/kernel", initializer=rng.normal(0, 0.5, (5, 2)).astype("float32"))
        b = v1.get_variable("head/bias", initializer=np.array([0.2, -0.4], "float32"))
        logits = tf.identity(tf.nn.bias_add(tf.matmul(h, w), b), name="logits")
        with v1.Session(config=session_config()) as s:
            s.run(v1.global_variables_initializer())
            sig = v1.saved_model.signature_def_utils.predict_signature_def({"examples": serialized},
                                                                           {"logits": logits})
            builder = v1.saved_model.builder.SavedModelBuilder(os.path.join(root, "export", "1700000000"))
            builder.add_meta_graph_and_variables(s, ["serve"], signature_def_map={"predict": sig})
            builder.save()
    return os.path.join(root, "export", "1700000000")


def test_an_example_parsing_export_takes_the_parsed_features_with_parity_on_serialized_examples(example_export,
                                                                                               tmp_path):
    from migrate.graph import convert_graph

    logs = []
    report = convert_graph(example_export, str(tmp_path / "k"), log=logs.append)
    assert report["parity"]["ok"], logs
    inputs = {i["keras"]: i for i in report["graph"]["inputs"]}
    assert {k: (i["dtype"], i["shape"]) for k, i in inputs.items()} == {"age": ("float32", [None, 1]),
                                                                          "ids": ("int64", [None, 3])}
    parse = report["source"]["signature"]["parse_example"]
    assert parse["input"] == "examples" and parse["tensor"] == "input_example_tensor:0"
    assert parse["op"] in ("ParseExample", "ParseExampleV2")
    assert parse["features"]["age"] == {"kind": "dense", "dtype": "float32", "shape": [1], "default": None,
                                        "tensor": inputs["age"]["graph"], "keras_input": "age"}
    assert parse["features"]["ids"]["default"] == [1, 2, 3] and parse["features"]["ids"]["keras_input"] == "ids"
    assert "signature_inputs_not_read" not in report["source"]
    # the reference was fed serialized examples, the first without `ids` (the parse filled in its default)
    assert any("ids: parsed feature int64 [3]" in m and "default" in m for m in logs), logs
    # parity --tf1 on the converted model: bound to the parsed features, the graph fed serialized examples
    from migrate.cli import main

    assert main(["parity", "--tf1", example_export, "--keras", str(tmp_path / "k" / "model.keras"),
                 "--json", str(tmp_path / "parity.json")]) == 0
    import json

    with open(tmp_path / "parity.json") as f:
        done = json.load(f)
    assert done["info"]["inputs"] == {"age": inputs["age"]["graph"], "ids": inputs["ids"]["graph"]}
    assert done["info"]["source"]["reference"].startswith("tf.compat.v1.saved_model.loader.load")


def test_serialized_examples_parse_back_to_the_features(example_export):
    """`serialize` writes what the export's own parse reads: the loader's graph parses them to the same arrays."""
    import tensorflow as tf

    from migrate.parity.examples import serialize
    from migrate.parity.forms import open_source

    src = open_source(example_export)
    parse = src.signature["parse_example"]
    age = np.array([[0.5], [-1.25]], "float32")
    ids = np.array([[4, 5, 6], [0, 1, 2]], "int64")
    data = serialize(parse, {"age": age, "ids": ids}, omit={"ids": {1}})
    with tf.Graph().as_default():
        got = tf.io.parse_example(data, {"age": tf.io.FixedLenFeature([1], tf.float32),
                                         "ids": tf.io.FixedLenFeature([3], tf.int64, default_value=[1, 2, 3])})
        with tf.compat.v1.Session() as s:
            out = s.run(got)
    np.testing.assert_array_equal(out["age"], age)
    np.testing.assert_array_equal(out["ids"], [[4, 5, 6], [1, 2, 3]])


VOCAB = ["the", "cat", "sat", "on", "mat"]


@pytest.fixture(scope="module")
def vocab_export(tmp_path_factory):
    """The common text-model export, TF1-style: a vocabulary file in assets/, index_table_from_file (HashTableV2 +
    InitializeTableFromTextFileV2 + LookupTableFindV2, unknown words -> an extra row), string inputs,
    SavedModelBuilder with assets_collection and legacy_init_op=tf.tables_initializer()."""
    import tensorflow as tf
    from tensorflow.python.ops import lookup_ops  # what tf.contrib.lookup.index_table_from_file was

    v1 = tf.compat.v1
    root = str(tmp_path_factory.mktemp("vocab_export"))
    vocab_file = os.path.join(root, "vocab.txt")
    with open(vocab_file, "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    rng = np.random.RandomState(5)
    with tf1_style(), tf.Graph().as_default():
        words = v1.placeholder(tf.string, [None, None], name="words")
        table = lookup_ops.index_table_from_file(tf.constant(vocab_file, name="vocab_path"),
                                                 default_value=len(VOCAB))
        ids = tf.identity(table.lookup(words), name="ids")
        emb = v1.get_variable("embedding", initializer=rng.normal(0, 0.5, (len(VOCAB) + 1, 3)).astype("float32"))
        pooled = tf.reduce_sum(tf.nn.embedding_lookup(emb, ids), axis=1)
        w = v1.get_variable("out/kernel", initializer=rng.normal(0, 0.5, (3, 2)).astype("float32"))
        b = v1.get_variable("out/bias", initializer=np.array([0.1, -0.3], "float32"))
        scores = tf.identity(tf.matmul(pooled, w) + b, name="scores")
        with v1.Session(config=session_config()) as s:
            s.run([v1.global_variables_initializer(), v1.tables_initializer()])
            sig = v1.saved_model.signature_def_utils.predict_signature_def({"words": words},
                                                                           {"ids": ids, "scores": scores})
            builder = v1.saved_model.builder.SavedModelBuilder(os.path.join(root, "sm"))
            builder.add_meta_graph_and_variables(
                s, ["serve"], signature_def_map={"serving_default": sig},
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS),
                legacy_init_op=v1.tables_initializer(name="legacy_init_op"))
            builder.save()
    os.remove(vocab_file)   # the SavedModel's assets/ copy is the one the loader reads
    return os.path.join(root, "sm")


def test_a_vocabulary_table_becomes_a_string_lookup_with_parity_on_string_inputs(vocab_export, tmp_path):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.graph import convert_graph

    assert os.listdir(os.path.join(vocab_export, "assets")) == ["vocab.txt"]
    logs = []
    report = convert_graph(vocab_export, str(tmp_path / "k"), log=logs.append)
    assert report["parity"]["ok"], logs
    assert {r["graph"] for r in report["parity"]["outputs"]} == {"ids:0", "scores:0"}
    assert report["graph"]["inputs"] == [{"keras": "words", "graph": "words:0", "shape": [None, None],
                                          "dtype": "string"}]
    assert report["translated"]["HashTable + LookupTableFindV2 -> keras.layers.StringLookup"] == 1
    assert report["source"]["signature"]["inputs"]["words"]["dtype"] == "string"
    assert any("vocabulary of the lookup table" in m for m in logs), logs
    model = keras.models.load_model(str(tmp_path / "k" / "model.keras"))
    lookup = next(layer for layer in model.layers if isinstance(layer, keras.layers.StringLookup))
    assert lookup.get_vocabulary()[1:] == VOCAB
    got = model.predict_on_batch({"words": np.array([[b"cat", b"dog", b"the"]], dtype=object)})
    ids = got[0] if np.asarray(got[0]).dtype.kind == "i" else got[1]
    np.testing.assert_array_equal(ids, [[1, len(VOCAB), 0]])   # an unknown word: the table's default


def test_a_saved_model_without_its_assets_exits_2_naming_the_file(vocab_export, tmp_path, capsys):
    import shutil

    from migrate.cli import main

    broken = tmp_path / "sm"
    shutil.copytree(vocab_export, broken)
    shutil.rmtree(broken / "assets")
    code = main(["convert", str(broken), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "vocab.txt" in err and "assets" in err and "SavedModel" in err, err
    assert not (tmp_path / "out").exists()


def test_an_integer_key_table_from_a_tensor_becomes_an_integer_lookup(tmp_path):
    """index_table_from_tensor over int64 keys (InitializeTableV2, filled by legacy_init_op), default -1."""
    import keras
    import tensorflow as tf
    from tensorflow.python.ops import lookup_ops

    from migrate.graph import convert_graph

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default():
        codes = v1.placeholder(tf.int64, [None, 4], name="codes")
        table = lookup_ops.index_table_from_tensor(tf.constant([70, 30, 90], tf.int64), dtype=tf.int64)
        ids = tf.identity(table.lookup(codes), name="ids")
        with v1.Session(config=session_config()) as s:
            s.run(v1.tables_initializer())
            builder = v1.saved_model.builder.SavedModelBuilder(str(tmp_path / "sm"))
            builder.add_meta_graph_and_variables(
                s, ["serve"], signature_def_map={"serving_default": v1.saved_model.signature_def_utils.
                                                 predict_signature_def({"codes": codes}, {"ids": ids})},
                legacy_init_op=v1.tables_initializer(name="legacy_init_op"))
            builder.save()
    report = convert_graph(str(tmp_path / "sm"), str(tmp_path / "k"), log=lambda m: None)
    assert report["parity"]["ok"]
    assert report["translated"]["HashTable + LookupTableFindV2 -> keras.layers.IntegerLookup"] == 1
    model = keras.models.load_model(str(tmp_path / "k" / "model.keras"))
    got = model.predict_on_batch({"codes": np.array([[30, 5, 90, 70]], "int64")})
    np.testing.assert_array_equal(got, [[1, -1, 2, 0]])
