"""TFM011: `x.shape[i].value` (TF 1's Dimension) and its rewrite `tf.compat.dimension_value(x.shape[i])`
compute the same under TF 1's shapes and TF 2.21's, known and unknown sizes alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow as tf

from migrate.codemod import transform_source
from tf_migrate_runtime.testing import tf1_behaviour

FIXTURES = Path(__file__).with_name("codemod_fixtures")


def _sizes(source: str) -> tuple:
    """Run the fixture's functions on a placeholder of shape (4, None, 7) built in a legacy graph."""
    namespace: dict = {}
    exec(compile(source, "dimension.py", "exec"), namespace)  # noqa: S102  (our fixture)
    x = tf.compat.v1.placeholder(tf.float32, [4, None, 7])
    batch, last, unknown = namespace["num_units"](x)
    time = namespace["get_max_time"](x, time_major=False)
    return batch, last, unknown, isinstance(time, tf.Tensor), namespace["dims_stay"](x)


def test_before_under_tf1_shapes_equals_after_under_tf2_shapes():
    before = (FIXTURES / "TFM011_dimension.before.py.txt").read_text()
    after, findings, _ = transform_source(before)
    assert after.count("tf.compat.dimension_value(") == 4 and ".value or" not in after and not findings
    with tf1_behaviour():  # TF 1: shape elements are Dimensions
        expected = _sizes(before)
        assert _sizes(after) == expected  # the rewrite is right under TF 1's shapes too (tf1_graph_mode)
    assert expected == (4, 7, None, True, 4)
    with tf.Graph().as_default():  # TF 2.21's shapes (ints and None), graph building as in a tf.function
        assert isinstance(tf.TensorShape([4])[0], int)
        assert _sizes(after) == expected
        with pytest.raises(AttributeError, match="'int' object has no attribute 'value'"):
            _sizes(before)  # what TF 2.21 did with the original code


def test_unknown_receiver_is_a_finding_in_tf1_code_only():
    before = (FIXTURES / "TFM011_unknown.before.py.txt").read_text()
    out, findings, _ = transform_source(before)
    assert "dims[1].value" in out and [f.rule for f in findings if f.rule == "TFM011"] == ["TFM011"]
    tf2 = "import tensorflow as tf\n\n\ndef units(dims):\n    return dims[1].value, tf.zeros([2])\n"
    assert transform_source(tf2)[:2] == (tf2, [])
