"""`tf-migrate parity --tf1` on TF1 graphs whose dropout keeps dropping at inference: a keep probability saved as a
constant (`tf.nn.dropout(h, 0.6)`, `DropoutWrapper(output_keep_prob=0.5)` inside `dynamic_rnn`'s while loop) makes
two runs of the graph differ. Parity sets those constants to their inference values before the import, as
`convert` does (`migrate.parity.dropouts`), says so in the report, and keeps a value the user sets with `--feed`;
a graph that samples for another reason (`tf.random.categorical`) is still refused, naming the random op.
The real TF 1.3 form (`floor(keep_prob + uniform)`) is tests/test_parity_graph_charrnn.py's.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from migrate.cli import main

UNITS, FEATURES, STEPS = 6, 4, 5


def _save(prefix: str, *, sample: bool = False) -> None:
    """x [B, T, 4] -> LSTMCell(6, forget_bias=0.4) with DropoutWrapper(output_keep_prob=0.5) in dynamic_rnn -> the
    last step -> `tf.nn.dropout(h, 0.6)` -> a dense layer of raw variables -> logits (or a categorical sample)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    from tf1_models import tf1_style

    v1 = tf.compat.v1
    g = tf.Graph()
    with tf1_style(), g.as_default():   # control flow v1: the loop's dropout in the graph, as TF 1.x wrote it
        x = v1.placeholder(tf.float32, [None, STEPS, FEATURES], name="x")
        cell = v1.nn.rnn_cell.DropoutWrapper(v1.nn.rnn_cell.LSTMCell(UNITS, forget_bias=0.4), output_keep_prob=0.5)
        outs, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32, scope="encoder")
        h = v1.nn.dropout(outs[:, -1], keep_prob=0.6)
        w = v1.get_variable("out/w", [UNITS, 3])
        b = v1.get_variable("out/b", [3])
        logits = tf.identity(tf.matmul(h, w) + b, name="logits")
        if sample:
            tf.identity(tf.random.categorical(logits, 1), name="sampled")
        rng = np.random.RandomState(3)
        assigns = [v.assign(rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32))
                   for v in v1.global_variables()]
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(assigns)
            v1.train.Saver().save(sess, prefix)


def _keras(prefix: str, path: str) -> None:
    """The user's port: LSTM(6) on the last step, Dense(3); the TF1 weights read with `cell_weights`."""
    import keras

    from migrate.checkpoint import cell_weights, open_checkpoint

    ckpt = open_checkpoint(prefix)
    x = keras.Input((STEPS, FEATURES), name="x")
    h = keras.layers.LSTM(UNITS, name="encoder")(x)
    model = keras.Model(x, keras.layers.Dense(3, name="logits")(h))
    model.get_layer("encoder").set_weights(cell_weights(ckpt, "encoder/lstm_cell", forget_bias=0.4))
    model.get_layer("logits").set_weights([ckpt.read("out/w"), ckpt.read("out/b")])
    model.save(path)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("dropout")
    _save(str(root / "model"))
    _save(str(root / "sampling"), sample=True)
    _keras(str(root / "model"), str(root / "port.keras"))
    return root


def test_constant_dropouts_are_switched_off_and_reported(saved, capsys, tmp_path):
    code = main(["parity", "--tf1", str(saved / "model"), "--keras", str(saved / "port.keras"), "--json",
                 str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    report = json.loads((tmp_path / "r.json").read_text())
    constants = report["info"]["constants"]
    # the while loop's DropoutWrapper (TF >= 1.13 form: uniform >= rate, then x * 1 / (1 - rate)) and the
    # tf.nn.dropout after it: their rates -> 0, their scales -> 1
    assert sorted(v for v in constants.values()) == [0.0, 0.0, 1.0, 1.0]
    assert any("encoder/while/dropout" in k for k in constants)
    assert "dropout with a constant keep probability switched off in the TF1 graph" in out
    (r,) = report["results"]
    assert r["ok"] and r["max_abs"] < 1e-5


def test_a_keep_probability_set_with_feed_is_kept(saved, capsys):
    """`--feed` on the tf.nn.dropout's rate (TF 2.21 names it `dropout/GreaterEqual/y`) keeps the user's value and
    that dropout's scale: it drops, so parity refuses (exit 2), naming it."""
    code = main(["parity", "--tf1", str(saved / "model"), "--keras", str(saved / "port.keras"),
                 "--feed=dropout/GreaterEqual/y:0=0.4"])
    err = capsys.readouterr().err
    assert code == 2
    assert "logits:0 differs between two runs on the same inputs" in err
    assert "(dropout/random_uniform/RandomUniform)" in err   # the loop's dropout, switched off, is not named
    assert "dropout/GreaterEqual/y:0 is a dropout's, set with --feed: at inference it is 0" in err


def test_a_graph_that_samples_is_still_refused(saved, capsys, tmp_path):
    (tmp_path / "m.toml").write_text('[parity]\noutputs = { logits = "sampled:0" }\n')
    code = main(["parity", "--tf1", str(saved / "sampling"), "--keras", str(saved / "port.keras"), "--mapping",
                 str(tmp_path / "m.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "sampled:0 differs between two runs on the same inputs" in err
    assert "Multinomial" in err or "categorical" in err
