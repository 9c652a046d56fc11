"""tf.estimator (gone since TF 2.16): ModeKeys -> `tf_migrate_runtime.estimator.ModeKeys`; every other
Estimator API is a finding with the Keras way (`tables.ESTIMATOR_HINTS`, one entry each)."""

from __future__ import annotations

import pytest

from migrate.codemod import transform_source
from migrate.codemod.tables import ESTIMATOR_HINTS, tables

# TF 1.15's `tf.estimator.ModeKeys` (tensorflow_estimator/python/estimator/mode_keys.py).
TF1_MODE_KEYS = {"TRAIN": "train", "EVAL": "eval", "PREDICT": "infer"}

SPELLINGS = [
    "import tensorflow as tf\nkeys = tf.estimator.ModeKeys\n",
    "import tensorflow as tf\nkeys = tf.compat.v1.estimator.ModeKeys\n",
    "import tensorflow.compat.v1 as tf\nkeys = tf.estimator.ModeKeys\n",
    "from tensorflow.estimator import ModeKeys\nkeys = ModeKeys\n",
    "from tensorflow.compat.v1.estimator import ModeKeys as keys\n",
]


@pytest.mark.parametrize("source", SPELLINGS)
def test_rewritten_mode_keys_import_and_equal_the_tf1_strings(source):
    source += "train, evaluate, predict = keys.TRAIN, keys.EVAL, keys.PREDICT\n"
    out, findings, _ = transform_source(source)
    assert "tf_migrate_runtime" in out and "tf.estimator" not in out and "tensorflow.estimator" not in out \
        and "v1.estimator" not in out, out
    assert findings == []
    scope: dict = {}
    exec(compile(out, "<migrated>", "exec"), scope)  # noqa: S102  (the codemod's output of our own source)
    assert (scope["train"], scope["evaluate"], scope["predict"]) == tuple(TF1_MODE_KEYS.values())
    assert transform_source(out)[0] == out


def test_a_model_fn_branching_on_the_mode_keeps_working():
    source = ("import tensorflow as tf\n\n\ndef model_fn(features, mode):\n"
              "    if mode == tf.estimator.ModeKeys.TRAIN:\n        return 'dropout on'\n"
              "    return 'dropout off'\n")
    out, findings, _ = transform_source(source)
    assert "from tf_migrate_runtime import estimator" in out and findings == []
    scope: dict = {}
    exec(compile(out, "<migrated>", "exec"), scope)  # noqa: S102
    assert scope["model_fn"](None, "train") == "dropout on"
    assert scope["model_fn"](None, "infer") == "dropout off"


def test_a_local_name_estimator_is_not_shadowed():
    source = ("import tensorflow as tf\nestimator = make()\nm = tf.estimator.ModeKeys.EVAL\n")
    out, _, _ = transform_source(source)
    assert "estimator = make()" in out and "tf_migrate_runtime.estimator.ModeKeys.EVAL" in out, out


@pytest.mark.parametrize("name", sorted(ESTIMATOR_HINTS))
def test_every_other_estimator_api_is_a_finding_with_the_keras_way(name):
    ref = name if name != "tf.estimator" else "tf.estimator.NoSuchThing"
    out, findings, _ = transform_source(f"import tensorflow as tf\nx = {ref}\n")
    assert out == f"import tensorflow as tf\nx = {ref}\n"
    assert len(findings) == 1 and findings[0].rule == "TFM001"
    assert f"`{ref}`" in findings[0].message and "TF 2.16" in findings[0].message
    assert ESTIMATOR_HINTS[name] in findings[0].message


def test_the_successor_is_a_tf1_estimator_name_missing_from_tf_2_21():
    t = tables()
    assert not t.exists("tf.estimator.ModeKeys")
    assert t.resolve("tf.estimator.ModeKeys").target == "tf_migrate_runtime.estimator.ModeKeys"
    from tf_migrate_runtime.contrib.learn import ModeKeys as ContribKeys  # noqa: PLC0415
    from tf_migrate_runtime.estimator import ModeKeys  # noqa: PLC0415

    assert {k: getattr(ModeKeys, k) for k in TF1_MODE_KEYS} == TF1_MODE_KEYS
    assert ModeKeys.PREDICT == ContribKeys.INFER


@pytest.mark.parametrize("module", ["tensorflow.python.estimator.model_fn", "tensorflow.python.estimator.mode_keys"])
def test_a_private_mode_keys_import_is_a_finding_naming_the_successor(module):
    source = f"from {module} import ModeKeys\n"
    out, findings, _ = transform_source(source)
    assert out == source and [f.rule for f in findings] == ["TFM004"]
    assert "from tf_migrate_runtime.estimator import ModeKeys" in findings[0].message
