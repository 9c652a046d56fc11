"""What the converter writes around an unrolled RNN (issue 22 point 3): the per-step round trips a static graph makes
around its cells (split / unstack -> squeeze -> the steps -> stack / concat / expand_dims, one embedding lookup per
step) come out as the sequence itself, one reshape / transpose of it, or one lookup of the stacked ids
(migrate/graph/ops/array.py `_whole_sequence`, `_step_lookup`; `Emitter.stack_steps`), with parity."""

from __future__ import annotations

import os

import pytest
from construct_builders import converted_once
from tf1_models import save_random_weights, tf1_style

pytestmark = pytest.mark.slow


def split_squeeze_stack(tf, v1):   # sherjil's char-RNN form: split along time, squeeze, static_rnn, concat, reshape
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    rc = v1.nn.rnn_cell
    steps = [tf.squeeze(s, [1]) for s in tf.split(x, 6, axis=1)]
    cell = rc.MultiRNNCell([rc.LSTMCell(5, forget_bias=0.7), rc.LSTMCell(5, forget_bias=0.3)])
    outs, _ = v1.nn.static_rnn(cell, steps, dtype=tf.float32)
    tf.identity(tf.reshape(tf.concat(outs, 1), [-1, 5]), name="outputs")


def bidi_step_lookups(tf, v1):   # per-step lookups of one embedding over unstacked ids, static_bidirectional_rnn
    ids = v1.placeholder(tf.int32, [None, 5], name="ids")
    emb = v1.get_variable("embedding", [7, 3])
    steps = [tf.nn.embedding_lookup(emb, tf.reshape(t, [-1])) for t in tf.unstack(ids, axis=1)]
    rc = v1.nn.rnn_cell
    outs, _, _ = v1.nn.static_bidirectional_rnn(rc.LSTMCell(4, forget_bias=0.6), rc.GRUCell(3), steps,
                                                dtype=tf.float32)
    tf.identity(tf.concat([tf.reshape(o, [-1, 1, 7]) for o in outs], 1), name="outputs")
    tf.identity(tf.stack(outs), name="time_major")


BUILDERS = {f.__name__: f for f in (split_squeeze_stack, bidi_step_lookups)}


def build(name, root) -> str:
    import tensorflow as tf  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        BUILDERS[name](tf, tf.compat.v1)
        os.makedirs(os.path.join(str(root), name), exist_ok=True)
        return save_random_weights(os.path.join(str(root), name), seed=7)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("round_trips")
    return converted_once(root, lambda name: build(name, root),
                          lambda name: ["outputs:0", "time_major:0"] if name == "bidi_step_lookups" else None)


def _parity(report, lines):
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]


def test_split_squeeze_concat_around_static_rnn_is_the_sequence(converted):
    _, report, lines, out = converted("split_squeeze_stack")
    _parity(report, lines)
    source = (out / "model.py").read_text()
    # the layers run over x itself, the second over the first's sequence; the outputs one reshape of it
    assert "= rnn_multi_rnn_cell_cell_0_lstm_cell(x)" in source, source
    assert "keras.ops.reshape(rnn__multi_rnn_cell__cell_1__lstm_cell_seq, (-1, 30))" in source, source
    for per_step in ("keras.ops.split(", "keras.ops.squeeze(", "keras.ops.stack(", "keras.ops.concatenate(", "[:, 0]"):
        assert per_step not in source, (per_step, source)


def test_per_step_lookups_become_one_lookup_of_the_ids(converted):
    _, report, lines, out = converted("bidi_step_lookups")
    _parity(report, lines)
    source = (out / "model.py").read_text()
    call = [ln for ln in source.splitlines() if "one lookup of every step's ids" in ln]
    assert len(call) == 1 and call[0].strip().endswith("= embedding(ids)  # one lookup of every step's ids "
                                                       "(the graph looks each step up alone)"), source
    assert source.count("embedding(") == 1, source   # the layer called once, not once per step
    # both directions over that lookup (the backward one flipped, not restacked); the outputs the joined sequence,
    # the time-major stack one transpose of it
    assert "steps_reversed = keras.ops.flip(embedding_of_ids, axis=1)" in source, source
    assert "keras.ops.transpose(bidirectional_outputs, (1, 0, 2))" in source, source
    for per_step in ("keras.ops.unstack(", "keras.ops.stack(", "keras.ops.reshape(", "[:, 0]"):
        assert per_step not in source, (per_step, source)
