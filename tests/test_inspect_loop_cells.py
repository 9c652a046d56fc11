"""`tf-migrate inspect` never calls a recurrent cell's kernel "dense".

A variable that a while loop's recurrence reads (its value reaches the loop's `NextIteration` along values) is part of
that loop's cell, whatever the cell: a cell no layout matches (BasicRNNCell, a cell under a name of the user's
own) is listed under `other_cells` with the loop that reads it and what is unknown; a peephole LSTMCell stays an
LSTM cell. A dense layer applied inside a loop whose result reaches the next step only as ids (a greedy decoder's
projection -> ArgMax -> embedding row) is still a dense layer. TF1-style graphs (control flow v1, ref variables),
random non-zero weights, built once per module."""

from __future__ import annotations

import contextlib
import io
import json
import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")


def _save(path: str, build) -> str:
    import tensorflow as tf
    from tf1_models import save_random_weights, tf1_style

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            build(tf, v1)
            return save_random_weights(path)


def _tagger(cell_fn):
    def build(tf, v1):
        ids = v1.placeholder(tf.int32, [None, None], name="ids")
        x = tf.nn.embedding_lookup(v1.get_variable("embedding", [11, 6]), ids)
        out, _ = v1.nn.dynamic_rnn(cell_fn(v1), x, dtype=tf.float32)
        v1.layers.dense(out, 11, name="proj")
    return build


def _greedy(tf, v1):
    """A hand-written greedy decoder: h = tanh([x, h] W + b); logits = dense(h); the next input is the embedding row
    of argmax(logits). W and b are the loop's cell; the projection is a dense layer the step applies."""
    emb = v1.get_variable("embedding", [11, 6])
    w = v1.get_variable("step/W", [6 + 5, 5])
    b = v1.get_variable("step/b", [5])
    h0 = v1.placeholder(tf.float32, [None, 5], name="h0")
    x0 = tf.nn.embedding_lookup(emb, tf.zeros_like(h0[:, 0], dtype=tf.int32))

    def body(i, x, h, ta):
        h = tf.tanh(tf.matmul(tf.concat([x, h], 1), w) + b)
        logits = v1.layers.dense(h, 11, name="proj", reuse=v1.AUTO_REUSE)
        x = tf.nn.embedding_lookup(emb, tf.argmax(logits, -1, output_type=tf.int32))
        return i + 1, x, h, ta.write(i, logits)

    ta = tf.TensorArray(tf.float32, size=4)
    _, _, _, ta = v1.while_loop(lambda i, *_: i < 4, body, [tf.constant(0), x0, h0, ta], name="decode")
    tf.identity(ta.stack(), name="logits")


BUILDS = {
    "basic_rnn": _tagger(lambda v1: v1.nn.rnn_cell.BasicRNNCell(5)),
    "own_name": _tagger(lambda v1: v1.nn.rnn_cell.BasicRNNCell(5, name="my_step")),
    "peephole_lstm": _tagger(lambda v1: v1.nn.rnn_cell.LSTMCell(5, use_peepholes=True, forget_bias=0.7)),
    "greedy": _greedy,
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("loop_cells")
    return {name: _save(str(root / name), build) for name, build in BUILDS.items()}


def _inspect(prefix: str, *extra: str) -> str:
    from migrate.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["inspect", prefix, *extra]) == 0
    return out.getvalue()


def _report(prefix: str) -> dict:
    return json.loads(_inspect(prefix, "--json"))


def _kinds(report: dict) -> dict[str, tuple[str, str | None]]:
    return {v["name"]: (v["kind"], v["group"]) for v in report["variables"]}


def test_a_basic_rnn_cell_is_its_loop_cell_not_a_dense_layer(models):
    report = _report(models["basic_rnn"])
    kinds = _kinds(report)
    assert kinds["rnn/basic_rnn_cell/kernel"] == ("cell", "rnn/basic_rnn_cell")
    assert kinds["rnn/basic_rnn_cell/bias"] == ("cell", "rnn/basic_rnn_cell")
    assert [d["scope"] for d in report["dense"]] == ["proj"]
    assert report["other_cells"] == [{
        "scope": "rnn/basic_rnn_cell", "variables": ["rnn/basic_rnn_cell/bias", "rnn/basic_rnn_cell/kernel"],
        "shapes": {"rnn/basic_rnn_cell/bias": [5], "rnn/basic_rnn_cell/kernel": [11, 5]}, "loops": ["rnn/while"],
        "tf1_class": "BasicRNNCell", "unknown": "no Keras layout for BasicRNNCell: read inside rnn/while"}]
    text = _inspect(models["basic_rnn"])
    assert ("  cell rnn/basic_rnn_cell: no Keras layout for BasicRNNCell: read inside rnn/while "
            "(bias [5], kernel [11, 5])") in text
    assert "dense rnn/basic_rnn_cell" not in text


def test_a_cell_under_a_name_of_its_own_is_known_by_its_loop(models):
    """No name table knows `my_step`: the graph alone says the loop's recurrence reads it."""
    report = _report(models["own_name"])
    (cell,) = report["other_cells"]
    assert cell["scope"] == "rnn/my_step" and cell["loops"] == ["rnn/while"] and cell["tf1_class"] is None
    assert cell["unknown"] == "cell kind unknown: read inside rnn/while"
    assert _kinds(report)["rnn/my_step/kernel"] == ("cell", "rnn/my_step")
    assert [d["scope"] for d in report["dense"]] == ["proj"]


def test_a_peephole_lstm_cell_stays_an_lstm_cell(models):
    report = _report(models["peephole_lstm"])
    (cell,) = report["cells"]
    assert cell["scope"] == "rnn/lstm_cell" and cell["peepholes"] and cell["units"] == 5
    assert cell["forget_bias"]["value"] == 0.7
    assert report["other_cells"] == []
    kinds = _kinds(report)
    for v in ("kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag"):
        assert kinds[f"rnn/lstm_cell/{v}"] == ("cell", "rnn/lstm_cell"), v
    assert [d["scope"] for d in report["dense"]] == ["proj"]


def test_a_greedy_decoders_projection_stays_dense_and_its_step_weights_are_the_cell(models):
    report = _report(models["greedy"])
    assert [(d["scope"], d["units"]) for d in report["dense"]] == [("proj", 11)]
    (cell,) = report["other_cells"]
    assert cell["scope"] == "step" and cell["variables"] == ["step/W", "step/b"] and cell["loops"] == ["decode"]
    assert [e["name"] for e in report["embeddings"]] == ["embedding"]
