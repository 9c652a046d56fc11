"""The automatic output choice skips what a loop's setup leaves unconsumed (session 11, helper N, item 2).

TF 2.21's `dynamic_rnn` with `sequence_length` computes `rnn/Min` (min(sequence_length)) that its loop no longer
reads, and the cell's `zero_state` leaves `rnn/GRUCellZeroState/ExpandDims_1` (the batch size as a shape): an
unfrozen inference .meta without a head and without `--outputs` used to return both as model outputs. Real
unconsumed results (computed with the weights) are still picked, and a graph without weights keeps its own."""

from __future__ import annotations

import os

import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _dynamic_rnn(tf, v1, extra: bool = False):
    x = v1.placeholder(tf.float32, [None, None, 3], name="x")
    lens = v1.placeholder(tf.int32, [None], name="lengths")
    cell = v1.nn.rnn_cell.GRUCell(4)
    out, state = v1.nn.dynamic_rnn(cell, x, sequence_length=lens, dtype=tf.float32)
    if extra:   # a real unconsumed result beside the outputs, auto-named, computed with the weights
        v1.layers.dense(state, 2)
    return out


def _graph(extra=False):
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            _dynamic_rnn(tf, v1, extra)
            v1.train.Saver()
    return g


def test_dynamic_rnn_setup_is_not_an_output():
    from migrate.graph.select import choose_outputs

    g = _graph()
    # the fault: these two are unconsumed, computed from the inputs
    assert not g.get_tensor_by_name("rnn/Min:0").consumers()
    assert not g.get_tensor_by_name("rnn/GRUCellZeroState/ExpandDims_1:0").consumers()
    sel = choose_outputs(g)
    assert sel.outputs == ["rnn/transpose_1:0"]
    assert "rnn/Min:0 (reads no weight: input bookkeeping" in sel.why
    assert "rnn/GRUCellZeroState/ExpandDims_1:0 (reads only the shape of an input" in sel.why


def test_a_real_unconsumed_result_is_still_picked():
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(_graph(extra=True))
    assert sel.outputs == ["rnn/transpose_1:0", "dense/BiasAdd:0"]
    assert "rnn/Min:0" not in sel.outputs


def test_a_graph_without_weights_keeps_its_weightless_results():
    """Nothing computed with weights to prefer: a parameter-free graph's unconsumed results are its results (only
    a pure size is left out)."""
    import tensorflow as tf

    from migrate.graph.select import choose_outputs

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 5], name="x")
        tf.reduce_min(x, axis=1)
        tf.shape(x)[0] + 1
    sel = choose_outputs(g)
    assert sel.outputs == ["Min:0"]
    assert "add:0 (reads only the shape of an input" in sel.why


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    import tensorflow as tf

    from migrate.graph import convert_graph

    v1 = tf.compat.v1
    path = str(tmp_path_factory.mktemp("dynrnn_meta"))
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            _dynamic_rnn(tf, v1)
            save_random_weights(path)
    out = str(tmp_path_factory.mktemp("dynrnn_out") / "m")
    logs = []
    report = convert_graph(os.path.join(path, "model.ckpt"), out, log=logs.append)
    return report, logs


def test_convert_without_outputs_returns_the_rnn_outputs_only(converted):
    report, logs = converted
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["rnn/transpose_1:0"]
    assert any(m.startswith("outputs: rnn/transpose_1:0 (") and "left out, unconsumed but no result: " in m
               and "rnn/Min:0" in m for m in logs)


def test_a_bidirectional_stacks_setup_is_left_out_in_groups():
    """The variant: bidirectional_dynamic_rnn over two MultiRNNCells of LSTMCells with sequence_length leaves ten
    such tensors (each zero state's batch size, each direction's Min); the output line groups them by reason."""
    import tensorflow as tf

    from migrate.graph.select import choose_outputs

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [None, None, 3], name="x")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            fw, bw = (v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.LSTMCell(4) for _ in range(2)]) for _ in range(2))
            (o1, o2), _ = v1.nn.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=lens, dtype=tf.float32)
            tf.concat([o1, o2], 2)
    sel = choose_outputs(g)
    assert sel.outputs == ["concat:0"]
    assert ("LSTMCellZeroState/ExpandDims_1:0, bidirectional_rnn/fw/fw/MultiRNNCellZeroState/LSTMCellZeroState/"
            "ExpandDims_3:0, bidirectional_rnn/fw/fw/MultiRNNCellZeroState/LSTMCellZeroState_1/ExpandDims_1:0 and 5 "
            "more (reads only the shape of an input") in sel.why
    assert "bidirectional_rnn/fw/fw/Min:0, bidirectional_rnn/bw/bw/Min:0 (reads no weight" in sel.why
