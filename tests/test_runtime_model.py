"""`tfm.Model` (tf_migrate_runtime/layers/model.py): a converted model called eagerly runs as one traced graph.

A TF1 tagger (ids -> embedding -> dynamic_rnn LSTMCell with forget_bias 0.7 and lengths -> a gate of small ops the
op table writes one by one -> dense logits, sparse softmax cross-entropy), random non-zero weights and biases,
converted by `convert_graph`: its `model.py` returns `tfm.Model(...)`, the `.keras` file loads as one, an eager call
runs the traced forward pass (one trace per signature) with the untraced path's values and gradients, and the
debugging switch, an outer `tf.function`, `fit` and an older `keras.Model` model.py behave as the module says.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

V, E, U, T = 11, 6, 5, 4      # vocab, embedding, units, time steps
TRACED = "_tfm_traced_call"


def _build(path: str) -> str:
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            ids = v1.placeholder(tf.int32, [None, None], name="ids")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            labels = v1.placeholder(tf.int32, [None, None], name="labels")
            x = tf.nn.embedding_lookup(v1.get_variable("embedding", [V, E]), ids)
            out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.7), x, sequence_length=lens,
                                       dtype=tf.float32)
            gate = v1.get_variable("gate", [U])
            out = tf.tanh(out) * tf.sigmoid(out + gate) + 0.5 * out   # op by op in model.py
            logits = v1.layers.dense(out, V, name="proj")
            tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
            save_random_weights(path)
    return path


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from migrate.graph import convert_graph

    root = tmp_path_factory.mktemp("tfm_model")
    out = str(root / "out")
    report = convert_graph(_build(str(root / "ckpt")), out, log=lambda m: None)
    assert report["parity"]["ok"], report["parity"]
    return out


def _load(out: str):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    return keras.saving.load_model(os.path.join(out, "model.keras"))


def _feed(batch: int, steps: int = T, seed: int = 0) -> dict:
    rng = np.random.RandomState(seed)
    return {"ids": rng.randint(0, V, (batch, steps)).astype("int32"),
            "lengths": rng.randint(1, steps + 1, (batch,)).astype("int32")}


def _outputs(model, x, **kw) -> list:
    out = model(x, **kw)
    return [np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out])]


def test_model_py_returns_a_tfm_model_and_the_keras_file_loads_as_one(converted):
    import tf_migrate_runtime.layers as tfm

    with open(os.path.join(converted, "model.py")) as f:
        source = f.read()
    assert "    return tfm.Model(inputs={" in source and "return keras.Model(" not in source
    assert "model.trace_eager_calls = False" in source        # the header says how to debug it
    model = _load(converted)
    assert type(model) is tfm.Model and model.get_config()["name"] == "converted"


def test_an_eager_call_runs_traced_with_the_untraced_values(converted):
    model = _load(converted)
    x = _feed(3)
    traced = _outputs(model, x)
    fn = model.__dict__[TRACED].fn
    _outputs(model, _feed(3, seed=1))                          # same signature: no new trace
    assert fn.experimental_get_tracing_count() == 1
    model.trace_eager_calls = False                            # Keras' own functional call, layer by layer
    plain = _outputs(model, x)
    assert len(traced) == len(plain) >= 1
    for a, b in zip(traced, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert np.abs(plain[0]).max() > 0.1                        # the logits are not zeros
    model.trace_eager_calls = True
    other = _feed(7, steps=6, seed=2)                          # a new batch and length: traced again, still right
    got = _outputs(model, other)
    model.trace_eager_calls = False
    for a, b in zip(got, _outputs(model, other)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert 2 <= fn.experimental_get_tracing_count() <= 3


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
def test_gradients_through_the_traced_call_are_the_untraced_ones(converted, training):
    import tensorflow as tf

    model = _load(converted)
    x = {k: tf.constant(v) for k, v in _feed(4).items()}
    grads = {}
    for traced in (True, False):
        model.trace_eager_calls = traced
        with tf.GradientTape() as tape:
            logits = model(x, training=training)
            logits = logits[0] if isinstance(logits, list | tuple) else logits
            loss = tf.reduce_sum(tf.square(logits))
        grads[traced] = [np.asarray(tf.convert_to_tensor(g)) for g in tape.gradient(loss, model.trainable_variables)]
    assert (TRACED in model.__dict__) and len(grads[True]) == len(model.trainable_variables) >= 5
    for v, a, b in zip(model.trainable_variables, grads[True], grads[False]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=v.path)
    assert all(np.abs(g).max() > 0 for g in grads[True])      # every weight (the gate, the cell's bias) reached


def test_under_an_outer_tf_function_the_model_is_keras_functional_call(converted):
    import tensorflow as tf

    model = _load(converted)
    x = _feed(2)
    got = tf.function(lambda inp: model(inp, training=False))(x)
    assert TRACED not in model.__dict__                        # no tf.function of its own inside another
    got = [np.asarray(o) for o in (got if isinstance(got, list | tuple) else [got])]
    for a, b in zip(got, _outputs(model, x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fit_run_eagerly_trains_through_the_traced_call(converted):
    import keras

    model = _load(converted)
    x = _feed(16, seed=3)
    x["lengths"] = np.full((16,), T, "int32")
    y = x["ids"]                                               # learn to copy: a loss that must fall
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), run_eagerly=True)
    losses = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert TRACED in model.__dict__                            # fit's eager steps called the traced forward pass
    assert losses[-1] < 0.85 * losses[0] and all(b < a for a, b in zip(losses, losses[1:])), losses


def test_an_older_keras_model_py_still_builds_and_can_be_wrapped(converted):
    import keras

    import tf_migrate_runtime.layers as tfm
    from migrate.graph.program import build_model

    with open(os.path.join(converted, "model.py")) as f:
        source = f.read().replace("    return tfm.Model(inputs={", "    return keras.Model(inputs={")
    old = build_model(source)                                  # what convert wrote before tfm.Model
    assert type(old).__name__ == "Functional" and not isinstance(old, tfm.Model)
    old.load_weights(os.path.join(converted, "model.weights.h5"))
    wrapped = tfm.Model(inputs=old.inputs, outputs=old.outputs, name=old.name)   # the module doc's way
    x = _feed(3)
    for a, b in zip(_outputs(wrapped, x), _outputs(old, x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert TRACED in wrapped.__dict__ and isinstance(wrapped, keras.Model)


def test_a_saved_and_reloaded_model_keeps_the_class_and_the_outputs(converted, tmp_path):
    import keras

    import tf_migrate_runtime.layers as tfm

    model = _load(converted)
    x = _feed(3)
    before = _outputs(model, x)                                # the holder is not saved with the model
    path = str(tmp_path / "again.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    assert type(again) is tfm.Model
    for a, b in zip(before, _outputs(again, x)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_inside_a_users_model_it_builds_symbolically_and_runs_traced_with_the_outer_training(converted):
    import keras

    model = _load(converted)
    ids = keras.Input((None,), dtype="int32", name="ids")
    lengths = keras.Input((), dtype="int32", name="lengths")
    logits = model({"ids": ids, "lengths": lengths})           # a symbolic build: Keras' own __call__
    logits = logits[0] if isinstance(logits, list | tuple) else logits
    outer = keras.Model({"ids": ids, "lengths": lengths}, keras.layers.Dense(2, name="head")(logits))
    assert TRACED not in model.__dict__
    x = _feed(3)
    got = np.asarray(outer(x, training=True))                  # eager, inside outer's call: traced, training=True
    fn = model.__dict__[TRACED].fn
    model.trace_eager_calls = False
    np.testing.assert_allclose(got, np.asarray(outer(x, training=True)), rtol=1e-5, atol=1e-6)
    assert fn.experimental_get_tracing_count() == 1


def test_an_eager_call_goes_straight_to_the_concrete_function_of_its_signature(converted):
    import tensorflow as tf

    model = _load(converted)
    x = _feed(3)
    first = _outputs(model, x)
    holder = model.__dict__[TRACED]
    assert len(holder.concrete) == 1 and None not in holder.concrete.values()   # the direct call is taken
    reordered = {"lengths": x["lengths"], "ids": x["ids"]}                      # keys in another order: same binding
    for a, b in zip(first, _outputs(model, reordered)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    swapped = _outputs(model, _feed(3, seed=5))                                 # new values, same concrete function
    assert len(holder.concrete) == 1 and not np.allclose(swapped[0], first[0])
    model.trace_eager_calls = False
    for a, b in zip(swapped, _outputs(model, _feed(3, seed=5))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    model.trace_eager_calls = True
    tf.config.run_functions_eagerly(True)                                       # debugging: the Python runs
    try:
        calls = []
        model.layers[-1].call = (lambda f: lambda *a, **k: calls.append(1) or f(*a, **k))(model.layers[-1].call)
        _outputs(model, x)
        assert calls                                                            # not the cached concrete function
    finally:
        tf.config.run_functions_eagerly(False)


def test_predict_on_batch_runs_the_traced_call_with_keras_outputs(converted):
    model = _load(converted)
    x = _feed(5, seed=4)
    got = model.predict_on_batch(x)
    assert TRACED in model.__dict__ and model.predict_function is None         # not Keras' predict machinery
    model.trace_eager_calls = False
    want = model.predict_on_batch(x)                                            # Keras' own
    assert model.predict_function is not None
    assert type(got) is type(want) and len(got) == len(want)
    for a, b in zip(got, want):
        assert isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_numpy_call_as_the_process_first_tensorflow_operation():
    """A model with no weights called on NumPy before any other TensorFlow operation: the eager call's NumPy -> tensor
    fast path needs the eager context, which nothing has made yet in that process (it failed: "Was eager Context
    initialized?", then a SystemError)."""
    import subprocess
    import sys

    code = ("import json, numpy as np, keras\n"
            "import tf_migrate_runtime.layers as tfm\n"
            "x = keras.Input((3,), dtype='float32')\n"
            "m = tfm.Model(inputs=x, outputs=keras.layers.Activation('tanh')(x))\n"
            "print(json.dumps(np.asarray(m(np.full((2, 3), 0.5, np.float32))).tolist()))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    got = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, np.full((2, 3), np.tanh(0.5)), rtol=1e-6)
