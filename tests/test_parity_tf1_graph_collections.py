"""TF1Graph imports a .meta whose collections name ops the saved graph lacks (TFLearn 0.x saved its training op
`Adam` in a `trainops` collection, outside the graph): the dangling entries are dropped, not fatal."""

import os

import numpy as np

from migrate.parity.tf1_graph import TF1Graph


def _save_with_dangling_collection(prefix: str) -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        w = v1.get_variable("w", initializer=np.arange(6, dtype=np.float32).reshape(3, 2))
        tf.identity(tf.matmul(x, w), name="y")
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            v1.train.Saver().save(sess, prefix)
    meta = v1.MetaGraphDef()
    with open(prefix + ".meta", "rb") as f:
        meta.ParseFromString(f.read())
    meta.collection_def["trainops"].node_list.value.extend(["Adam", "y:0"])   # Adam is not in the graph
    with open(prefix + ".meta", "wb") as f:
        f.write(meta.SerializeToString())


def test_dangling_collection_entries_are_dropped_and_the_graph_runs(tmp_path):
    prefix = str(tmp_path / "model.ckpt")
    _save_with_dangling_collection(prefix)
    with TF1Graph(prefix) as g:
        assert g.pruned_collections == {"trainops": 1}
        (y,) = g.run(["y:0"], {"x:0": np.ones((2, 3), np.float32)})
    np.testing.assert_array_equal(y, [[6.0, 9.0], [6.0, 9.0]])
