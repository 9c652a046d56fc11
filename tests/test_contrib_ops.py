"""The contrib-op registry (migrate/contrib_ops): ops TF 2.21 no longer registers, each stood in for by a TF 2.21
equivalent when a real graph is imported, and translated to the same runtime call.

GatherTree: the equivalent (`tfm.gather_tree`, keras.ops) against a NumPy port of TF 1.15's kernel
(contrib/seq2seq/kernels/beam_search_ops.cc), then a beam-search graph whose back-tracking is a real `GatherTree`
NodeDef converted with parity."""

from __future__ import annotations

import os

import numpy as np
import pytest
from beam_models import beam_graph

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def gather_tree_kernel(step_ids, parent_ids, max_sequence_lengths, end_token):
    """TF 1.15's CPU kernel, line for line."""
    max_time, batch_size, beam_width = parent_ids.shape
    beams = np.full(step_ids.shape, end_token, np.int32)
    for batch in range(batch_size):
        for beam in range(beam_width):
            max_seq_len_b = min(max_time, max_sequence_lengths[batch])
            if max_seq_len_b <= 0:
                continue
            beams[max_seq_len_b - 1, batch, beam] = step_ids[max_seq_len_b - 1, batch, beam]
            parent = parent_ids[max_seq_len_b - 1, batch, beam]
            for level in range(max_seq_len_b - 2, -1, -1):
                beams[level, batch, beam] = step_ids[level, batch, parent]
                parent = parent_ids[level, batch, parent]
            finished = False
            for time in range(max_seq_len_b):
                if finished:
                    beams[time, batch, beam] = end_token
                elif beams[time, batch, beam] == end_token:
                    finished = True
    return beams


@pytest.mark.parametrize("seed", range(6))
def test_gather_tree_equals_the_tf115_kernel(seed):
    """Random trees (ids 0..5, end token 2 drawn often: broken trajectories with ids after an end token), lengths
    0 (nothing back-tracked), shorter than, equal to and longer than max_time."""
    from keras import ops

    from tf_migrate_runtime.layers import gather_tree

    rng = np.random.RandomState(seed)
    t, b, k = rng.randint(1, 7), 4, rng.randint(1, 5)
    ids = rng.randint(0, 6, (t, b, k)).astype("int32")
    parents = rng.randint(0, k, (t, b, k)).astype("int32")
    lengths = np.array([0, t, max(t - 2, 1), t + 3], "int32")
    want = gather_tree_kernel(ids, parents, lengths, 2)
    got = ops.convert_to_numpy(gather_tree(ids, parents, lengths, 2))
    np.testing.assert_array_equal(got, want)
    assert (got[:, 0] == 2).all()   # length 0: all end_token


def test_gather_tree_follows_the_parents():
    """The hand-checked case: beam 0 ends in 4 <- 6 (beam 0 at t=1, whose parent is beam 1) <- 5."""
    from keras import ops

    from tf_migrate_runtime.layers import gather_tree

    ids = np.array([[[2, 5]], [[6, 3]], [[4, 7]]], "int32")
    parents = np.array([[[0, 0]], [[1, 0]], [[0, 1]]], "int32")
    got = ops.convert_to_numpy(gather_tree(ids, parents, np.array([3]), 9))
    assert got[:, 0].T.tolist() == [[5, 6, 4], [2, 3, 7]]


@pytest.fixture(scope="module")
def real_gather_tree(tmp_path_factory):
    return beam_graph(str(tmp_path_factory.mktemp("beam_gt") / "ckpt"), real_gather_tree=True, train=False)


def test_a_graph_with_a_real_gather_tree_node_loads_and_converts_with_parity(real_gather_tree, tmp_path):
    """The `.meta` holds `GatherTree` as TF 1.x wrote it (TF 2.21 cannot import it): the TF1 side runs with the
    equivalent in its place, the model calls `tfm.GatherTree`, and the predicted ids match exactly."""
    from tensorflow.core.protobuf import meta_graph_pb2

    from migrate.graph.convert import convert_graph

    md = meta_graph_pb2.MetaGraphDef()
    with open(real_gather_tree + ".meta", "rb") as f:
        md.ParseFromString(f.read())
    assert [n.op for n in md.graph_def.node if n.name == "decoder/beam/GatherTree"] == ["GatherTree"]
    report = convert_graph(real_gather_tree, str(tmp_path / "out"), outputs=["decoder/predicted_ids:0"],
                           log=lambda m: None)
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["exact"], report["parity"]
    assert report["translated"]["GatherTree (contrib, not in TF 2.21) -> tfm.GatherTree"] == 1
    source = (tmp_path / "out" / "model.py").read_text()
    assert "tfm.GatherTree(name='decoder__beam__GatherTree')" in source


def test_the_tf1_side_runs_the_real_graph(real_gather_tree):
    """The graph as imported: `decoder/beam/GatherTree` is the equivalent's result under the node's own name; its
    hypotheses end in end_token 2 once they emitted it."""
    from migrate.parity.tf1_graph import TF1Graph

    with TF1Graph(real_gather_tree) as g:
        g.focus(["decoder/predicted_ids:0"])
        assert g.replaced["decoder/beam/GatherTree"][0] == "GatherTree"
        ids, = g.run(["decoder/predicted_ids:0"], {"src:0": np.array([[3, 4, 5], [6, 7, 1]], "int32"),
                                                   "src_len:0": np.array([3, 2], "int32")})
    assert ids.shape[0] == 2 and ids.shape[2] == 3
    for row in ids.transpose(0, 2, 1).reshape(-1, ids.shape[1]):
        ended = np.cumsum(row == 2) - (row == 2) > 0
        assert (row[ended] == 2).all()


def test_an_old_three_input_gather_tree_is_refused_by_name(tmp_path):
    """TF 1.1/1.2's GatherTree(step_ids, parent_ids, sequence_length) has other semantics: one message naming the
    node and the way out, nothing imported."""
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2

    from migrate.contrib_ops import ContribOpError, import_graph_def

    gd = graph_pb2.GraphDef()
    for name in ("a", "b", "c"):
        n = gd.node.add(name=name, op="Placeholder")
        n.attr["dtype"].type = tf.int32.as_datatype_enum
    n = gd.node.add(name="decoder/GatherTree", op="GatherTree", input=["a", "b", "c"])
    n.attr["T"].type = tf.int32.as_datatype_enum
    with tf.Graph().as_default(), pytest.raises(ContribOpError, match="decoder/GatherTree .*3 inputs.*TF 1.3"):
        import_graph_def(tf, gd)
