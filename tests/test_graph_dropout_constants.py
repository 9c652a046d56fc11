"""Dropout built with a constant keep probability (a Python float) keeps dropping at inference in TF1, so the graph
is not deterministic: `convert --from-graph` finds such dropouts by the ops around the random draw, whatever their
names, switches them off on the TF1 side of parity, and the Keras model has none. Three forms: TF 2.21's
`DropoutWrapper(output_keep_prob=0.8)` inside `dynamic_rnn` (`uniform >= rate` in the while loop, through the
recogniser and through the generic tier), `tf.nn.dropout(rate=0.3)` after it, and the TF < 1.13 form
`x / keep_prob * floor(keep_prob + uniform)` written out by hand, in constants named nothing like `keep_prob`.
"""

from __future__ import annotations

import time

import pytest
from tf1_models import save_random_weights, tf1_style

pytestmark = pytest.mark.slow


def _build(tf, v1):
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cell = v1.nn.rnn_cell.DropoutWrapper(v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.7), output_keep_prob=0.8)
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    h = tf.nn.dropout(out[:, -1], rate=0.3)
    keep = tf.constant(0.75, name="p")   # TF 1.12's nn.dropout, by hand
    mask = tf.floor(keep + v1.random_uniform(tf.shape(h)))
    h = tf.math.divide(h, keep) * mask
    tf.identity(v1.layers.dense(h, 3), name="logits")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    import tensorflow as tf  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        _build(tf, tf.compat.v1)
        return save_random_weights(str(tmp_path_factory.mktemp("dropout") / "m"), seed=4)


@pytest.mark.parametrize("recognise", [True, False], ids=["recognisers", "generic"])
def test_constant_dropout_is_off_on_both_sides(prefix, tmp_path, recognise):
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    lines = []
    started = time.perf_counter() - 5.0   # as the CLI passes its process's start
    report = convert_graph(prefix, str(tmp_path / "out"), outputs=["logits:0"], log=lines.append,
                           recognise_rnns=recognise, started=started)
    rows = report["parity"]["outputs"]
    assert report["parity"]["ok"] and rows[0]["max_abs"] <= 1e-5, lines
    said = next(line for line in lines if line.startswith("dropout with a constant keep probability"))
    assert "5 constant(s) set" in said, said   # the loop's rate and scale, the outer rate and scale, and p
    timings = report["timings"]   # where the conversion's time went, phase by phase, within its seconds
    assert [k.split(" ")[0] for k in timings] == ["start-up", "read", "select", "import", "translate", "build",
                                                  "parity", "write"]
    assert all(v >= 0 for v in timings.values()) and timings["start-up and imports"] >= 5.0
    assert sum(timings.values()) - timings["start-up and imports"] <= report["seconds"]
    source = (tmp_path / "out" / "model.py").read_text()
    assert "keras.random" not in source and "# RandomUniform random_uniform/RandomUniform" in source, source


def _build_placeholders(tf, v1):
    """Keep probabilities fed through placeholders with TF's own names (`Placeholder_1`, no shape, as TF 1.6 wrote
    a `tf.placeholder(tf.float32)`): one in TF < 1.13's form inside the `dynamic_rnn` loop (`floor(keep + uniform)`,
    the uniform's range `max - min` an op, not a constant), one as `tf.nn.dropout(keep_prob=p)` writes it in TF 2.21
    (`uniform >= 1 - p`). Found by use, never by name, and fed 1.0."""
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    keep_loop, keep_out = v1.placeholder(tf.float32), v1.placeholder(tf.float32)

    class Dropped(v1.nn.rnn_cell.GRUCell):
        def call(self, inputs, state):
            u = v1.random_uniform(tf.shape(inputs)) * (tf.constant(1.0) - tf.constant(0.0)) + tf.constant(0.0)
            return super().call(tf.math.divide(inputs, keep_loop) * tf.floor(keep_loop + u), state)

    out, _ = v1.nn.dynamic_rnn(Dropped(6), x, dtype=tf.float32)
    h = v1.nn.dropout(out[:, -1], keep_prob=keep_out)
    tf.identity(v1.layers.dense(h, 3), name="logits")


def test_keep_probability_placeholders_named_by_tf_are_found_by_use(tmp_path):
    import tensorflow as tf  # noqa: PLC0415

    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        _build_placeholders(tf, tf.compat.v1)
        prefix = save_random_weights(str(tmp_path / "m"), seed=5)
    lines = []
    report = convert_graph(prefix, str(tmp_path / "out"), outputs=["logits:0"], log=lines.append)
    said = next(line for line in lines if line.startswith("dropout probabilities fed as at inference"))
    assert said.endswith("Placeholder:0 = 1, Placeholder_1:0 = 1"), said
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5, lines


def _build_hand_loop(tf, v1):
    """A hand-written `tf.while_loop` whose body drops its state with TF < 1.13's `floor(keep + uniform)` and a
    keep probability 0.6 written as a Python float."""
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.get_variable("w", [4, 4])

    def body(i, h):
        dropped = tf.math.divide(h, 0.6) * tf.floor(0.6 + v1.random_uniform(tf.shape(h)))
        return i + 1, tf.tanh(tf.matmul(dropped, w))

    _, h = tf.while_loop(lambda i, h: i < 3, body, [tf.constant(0), x])
    tf.identity(v1.layers.dense(h, 3), name="logits")


@pytest.mark.parametrize(("build", "count"), [(_build, 5), (_build_hand_loop, 1)], ids=["dynamic_rnn", "hand_loop"])
def test_dropout_inside_a_control_flow_v2_loop_is_off_too(tmp_path, build, count):
    """TF1 code run under TF 2.x's `tf.compat.v1` without `disable_v2_behavior()` saves a functional `While`: its
    dropout lives in the body's library function, where `set_constants` does not reach. Found there and set in the
    function before the import (before: parity FAILED, max abs 0.29, on the TF1 graph's own dropout)."""
    import tensorflow as tf  # noqa: PLC0415

    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    v1 = tf.compat.v1
    assert v1.control_flow_v2_enabled()
    with tf.Graph().as_default():
        build(tf, v1)
        prefix = save_random_weights(str(tmp_path / "m"), seed=6)
    lines = []
    report = convert_graph(prefix, str(tmp_path / "out"), outputs=["logits:0"], log=lines.append)
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5, lines
    said = next(line for line in lines if line.startswith("dropout with a constant keep probability"))
    assert f"{count} constant(s) set" in said, said   # the body's rate and scale among them (dynamic_rnn)
    if count == 1:
        assert "e.g. while_body_" in said and "/add/x = 1.0" in said, said   # `FUNCTION/NODE`
