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
