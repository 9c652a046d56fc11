"""TFM006 (Dataset properties and iterator factories) and TFM009 (feature tests by name), run on TF 2.21."""

from __future__ import annotations

import numpy as np
import pytest

from migrate.codemod import transform_source

tf = pytest.importorskip("tensorflow")

TF1_INPUT_PIPELINE = '''\
import tensorflow as tf


def make_input(values, batch_size):
    dataset = tf.data.Dataset.from_tensor_slices(values)
    dataset = dataset.map(lambda v: v * 2).batch(batch_size)
    iterator = dataset.make_initializable_iterator()
    return iterator, dataset.output_types, dataset.output_shapes


def first(ds: tf.data.Dataset):
    return ds.make_one_shot_iterator().get_next(), ds.output_classes


iterator, types, shapes = make_input(np.arange(6, dtype=np.float32), 4)
batch = iterator.get_next()
element, classes = first(tf.data.Dataset.range(5).skip(2))
'''


def test_the_rewritten_input_pipeline_runs_on_tf_2_21():
    out, findings, _ = transform_source(TF1_INPUT_PIPELINE)
    assert "s.output_" not in out and "t.make_" not in out and "s.make_" not in out, out
    assert "tf.compat.v1.data.get_output_shapes(dataset)" in out and "tf.compat.v1.data.get_output_classes(ds)" in out
    assert [f.rule for f in findings] == []
    with tf.Graph().as_default():
        scope = {"np": np}
        exec(compile(out, "<migrated>", "exec"), scope)  # noqa: S102  (the codemod's output of our own source)
        assert scope["types"] == tf.float32
        assert scope["shapes"].as_list() == [None]
        assert scope["classes"] is tf.Tensor
        with tf.compat.v1.Session() as sess:
            sess.run(scope["iterator"].initializer)
            np.testing.assert_array_equal(sess.run(scope["batch"]), [0.0, 2.0, 4.0, 6.0])
            np.testing.assert_array_equal(sess.run(scope["batch"]), [8.0, 10.0])
            assert sess.run(scope["element"]) == 2
    # The unmigrated pipeline fails on TF 2.21: the properties and factories are gone.
    with tf.Graph().as_default(), pytest.raises(AttributeError):
        exec(compile(TF1_INPUT_PIPELINE, "<tf1>", "exec"), {"np": np})  # noqa: S102


@pytest.mark.parametrize(("source", "dataset"), [
    ("ds = tf.data.TFRecordDataset(f)\nx = ds.output_shapes\n", True),
    ("ds = tf.data.TFRecordDataset(f).map(p).prefetch(1)\nx = ds.output_shapes\n", True),
    ("ds = tf.compat.v1.data.TextLineDataset(f)\nds = ds.repeat()\nx = ds.output_types\n", True),
    ("def f(ds: tf.data.Dataset):\n    return ds.output_types\n", True),
    ("x = tf.data.Dataset.zip((a, b)).batch(2).output_classes\n", True),
    # Not provably a Dataset: another binding, an unannotated parameter, an iterator, an unknown call.
    ("ds = tf.data.TFRecordDataset(f)\nds = load()\nx = ds.output_shapes\n", False),
    ("ds = tf.data.TFRecordDataset(f)\n\n\ndef g(ds):\n    return ds.output_shapes\n", False),
    ("it = iterator_for(f)\nx = it.output_shapes\n", False),
    ("x = make().output_shapes\n", False),
])
def test_output_properties_are_rewritten_only_on_a_dataset_by_local_inference(source, dataset):
    out, _, _ = transform_source("import tensorflow as tf\n" + source)
    assert ("tf.compat.v1.data.get_output_" in out) == dataset, out
    assert (".output_" in out) != dataset, out


@pytest.mark.parametrize(("test", "module", "attr"), [
    ("hasattr(tf.data, 'get_output_shapes')", "tf.data", "get_output_shapes"),
    ("hasattr(tf.compat.v1.data, 'get_output_shapes')", "tf.compat.v1.data", "get_output_shapes"),
    ("hasattr(tf, 'contrib')", "tf", "contrib"),
    ("hasattr(tf, 'function')", "tf", "function"),
    ("hasattr(tf.train, 'Saver')", "tf.train", "Saver"),
    ("getattr(tf.random, 'categorical', None)", "tf.random", "categorical"),
    ("getattr(tf, 'estimator', None)", "tf", "estimator"),
])
def test_a_feature_test_is_a_finding_that_says_what_tf_2_21_answers(test, module, attr):
    out, findings, _ = transform_source(f"import tensorflow as tf\nok = {test}\n")
    assert [f.rule for f in findings] == ["TFM009"]
    real = hasattr(eval(module, {"tf": tf}), attr)  # noqa: S307  (a module path from this test)
    message = findings[0].message
    if test.startswith("hasattr"):
        assert ("is True on TensorFlow" in message) == real, message
    else:
        assert ("returns its default" in message) == (not real), message
