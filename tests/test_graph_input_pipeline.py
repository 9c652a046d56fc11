"""A model trained from an input pipeline, as an Estimator's model_dir or a training script's checkpoint holds it:
no placeholder, its batches handed out by a `tf.data` iterator (`IteratorGetNext`) or a queue (`QueueDequeueManyV2`),
labels included. `convert` starts the model at the tensors those ops hand out (`meta.INPUT_PIPELINE_OPS`): the
pipeline (which a Keras model cannot hold, and whose ops TF 2.21 may no longer register, as address-net 1.0's
`ExperimentalFunctionBufferingResourceGetNext` in benchmarks/corpus.py) is left out, the TF1 side is fed those
tensors, and `parity --tf1` starts the graph at the same place. Before: the graph imported its whole pipeline and ran
the iterator itself, or did not import at all.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tf1_models import random_session, tf1_style

from migrate.cli import main

pytestmark = pytest.mark.slow

T, V, B = 7, 30, 4


def _model(tf, v1, ids, lengths, labels):
    """Embedding -> dynamic_rnn(GRUCell) over the lengths -> dense -> sparse softmax loss -> Adam, as a training
    script wrote it."""
    emb = v1.get_variable("embedding", [V, 6])
    cell = v1.nn.rnn_cell.GRUCell(5)
    out, _ = v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, ids), sequence_length=lengths, dtype=tf.float32)
    logits = v1.layers.dense(out, 3, name="tagger")
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    v1.train.AdamOptimizer(0.01).minimize(loss, global_step=v1.train.get_or_create_global_step())


def _data(rng):
    ids = rng.randint(1, V, (16, T)).astype("int64")
    lengths = rng.randint(1, T + 1, 16).astype("int64")
    labels = rng.randint(0, 3, (16, T)).astype("int64")
    return ids, lengths, labels


def _from_tf_data(tf, v1):
    ids, lengths, labels = _data(np.random.RandomState(0))
    data = tf.data.Dataset.from_tensor_slices((ids, lengths, labels)).batch(B).repeat()
    _model(tf, v1, *v1.data.make_one_shot_iterator(data).get_next())


def _from_a_queue(tf, v1):
    ids, lengths, labels = _data(np.random.RandomState(1))
    queue = v1.FIFOQueue(64, [tf.int64, tf.int64, tf.int64], shapes=[[T], [], [T]])
    v1.add_to_collection("enqueue", queue.enqueue_many([ids, lengths, labels]))
    _model(tf, v1, *queue.dequeue_many(B))


def _model_dir(root: str, builder) -> str:
    """Checkpoint + `.meta` + graph.pbtxt, every variable random and non-zero (the GRU's biases included)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    os.makedirs(root)
    with tf1_style(), tf.Graph().as_default() as g:
        builder(tf, v1)
        with random_session(3) as s:
            v1.train.Saver().save(s, os.path.join(root, "model.ckpt"), global_step=7)
        tf.io.write_graph(g.as_graph_def(), root, "graph.pbtxt", as_text=True)
    return root


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    return {"tf_data": _model_dir(str(root / "tf_data"), _from_tf_data),
            "queue": _model_dir(str(root / "queue"), _from_a_queue)}


@pytest.mark.parametrize(("form", "op", "starts"), [
    ("tf_data", "IteratorGetNext", ["IteratorGetNext:0", "IteratorGetNext:1", "IteratorGetNext:2"]),
    ("queue", "QueueDequeueManyV2", ["fifo_queue_DequeueMany:0", "fifo_queue_DequeueMany:1",
                                     "fifo_queue_DequeueMany:2"]),
])
def test_the_model_starts_at_the_batches_the_pipeline_hands_out(model_dirs, tmp_path, capsys, form, op, starts):
    out_dir = tmp_path / "out"
    code = main(["convert", model_dirs[form], "--out", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"inputs: the model starts at {', '.join(starts)} (the batches its input pipeline hands out ({op})" in out
    report = json.loads((out_dir / "convert_report.json").read_text())
    assert report["parity"]["ok"] and all(o.get("max_abs", 0) <= 1e-5 for o in report["parity"]["outputs"])
    # the ids and the lengths are the model's inputs, in that order, started where the pipeline handed them out; the
    # labels (output 2) only the loss reads
    assert [i["starts_at"] for i in report["graph"]["inputs"]] == starts[:2]
    assert [lp["how"] for lp in report["loops"]] == ["recognised as dynamic_rnn"]
    assert "tfm.GRU(" in (out_dir / "model.py").read_text()
    # the labels the pipeline handed out are a placeholder the loss reads: tf.losses' default reduction is
    # reproduced and checked on generated labels
    assert report["training_loss"]["parity"]["ok"] and report["training_loss"]["parity"]["abs_diff"] <= 1e-5

    code = main(["parity", "--tf1", model_dirs[form], "--keras", str(out_dir / "model.keras")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "parity: all 1 checks within tolerance" in out
