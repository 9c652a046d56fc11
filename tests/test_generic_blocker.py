"""A loop the generic tier cannot translate is explained by the op that stops it (session 11, helper N, item 3).

The custom cell's first MatMul (concat([x, h]) @ kernel, split 4 ways, as an LSTM's) translates; the op that stops
the loop is an `Lgamma` after it. The message names that op, what was expected, and the way out that fits: `--feed`
when a mode placeholder selects the branch holding it, else `--outputs` before the loop or an issue naming the op
type; never the front-end advice (`--inputs`) meant for ops outside loops."""

from __future__ import annotations

import os

import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _cell_class(tf, v1, switched: bool, translatable: bool = False):
    class OddCell(v1.nn.rnn_cell.RNNCell):
        """An LSTM-like step whose cell input goes through lgamma (with `switched`: only when `special` is on)."""

        def __init__(self, n, special=None):
            super().__init__()
            self.n, self.special = n, special

        @property
        def state_size(self):
            return self.n

        @property
        def output_size(self):
            return self.n

        def build(self, shape):
            self.kernel = self.add_weight("kernel", [shape[-1] + self.n, 4 * self.n])
            self.bias = self.add_weight("bias", [4 * self.n])
            self.built = True

        def call(self, x, h):
            z = tf.nn.bias_add(tf.matmul(tf.concat([x, h], 1), self.kernel), self.bias)
            i, j, f, o = tf.split(z, 4, axis=1)
            odd = lambda: tf.nn.softplus(j) if translatable else tf.math.lgamma(tf.nn.softplus(j) + 1.0)  # noqa: E731
            g = v1.cond(self.special, odd, lambda: tf.tanh(j)) if switched else odd()
            h = tf.tanh(tf.sigmoid(f + 0.7) * h + tf.sigmoid(i) * g) * tf.sigmoid(o)
            return h, h

    return OddCell


def _build(path, switched=False, translatable=False):
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
            special = v1.placeholder(tf.bool, [], name="use_special") if switched else None
            out, _ = v1.nn.dynamic_rnn(_cell_class(tf, v1, switched, translatable)(4, special), x, dtype=tf.float32)
            tf.identity(out, name="ys")
            save_random_weights(path)
    return os.path.join(path, "model.ckpt")


def test_the_message_names_the_op_that_stops_the_loop_not_its_first_matmul(tmp_path):
    from migrate.graph import GraphConvertError, convert_graph

    ckpt = _build(str(tmp_path / "ckpt"))
    with pytest.raises(GraphConvertError) as e:
        convert_graph(ckpt, str(tmp_path / "out"), outputs=["ys:0"], log=lambda m: None)
    msg = str(e.value)
    assert ("the while loop rnn/while, which the generic tier could not translate: its body stops at Lgamma "
            "rnn/while/rnn/odd_cell/Lgamma: no translation for the op type Lgamma (expected: an op of the op table, "
            "migrate/graph/ops)") in msg, msg
    assert "more op(s) of the body fail after it" not in msg   # what depends on it is not listed as a blocker
    assert ("Way out: name --outputs computed before the loop rnn/while (the model then ends there), or open an "
            "issue naming the op type Lgamma") in msg
    assert "MatMul" not in msg and "--inputs" not in msg and "front-end" not in msg
    assert not os.path.exists(tmp_path / "out")


def test_a_blocker_in_a_branch_a_mode_placeholder_selects_says_feed_it(tmp_path):
    """The variant: the lgamma sits in a tf.cond branch chosen by a scalar placeholder: the way out is `--feed`
    (which folds the branch away), and with it the loop converts."""
    from migrate.graph import GraphConvertError, convert_graph

    ckpt = _build(str(tmp_path / "ckpt"), switched=True)
    with pytest.raises(GraphConvertError) as e:
        convert_graph(ckpt, str(tmp_path / "out"), outputs=["ys:0"], log=lambda m: None)
    msg = str(e.value)
    assert "its body stops at Lgamma rnn/while/rnn/odd_cell/cond/Lgamma: no translation" in msg, msg
    assert ("Way out: if use_special:0 is a mode setting fixed at inference (a training flag, a keep probability), "
            "pass --feed use_special:0=VALUE so the branch holding rnn/while/rnn/odd_cell/cond/Lgamma folds away"
            ) in msg
    report = convert_graph(ckpt, str(tmp_path / "out"), outputs=["ys:0"], feeds={"use_special:0": False},
                           log=lambda m: None)
    assert report["graph"]["outputs"][0]["graph"] == "ys:0"
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["graph"] == "ys:0"


def test_a_generic_loop_is_explained_by_what_sets_its_cell_apart_not_its_first_matmul(tmp_path):
    """The generic tier takes the loop (softplus translates); the report's reason names the op no registered cell
    has, not the first kernel's gate split."""
    from migrate.graph import convert_graph

    ckpt = _build(str(tmp_path / "ckpt"), translatable=True)
    report = convert_graph(ckpt, str(tmp_path / "out"), outputs=["ys:0"], log=lambda m: None)
    loop = report["loops"][0]
    assert loop["how"] == "translated generically"
    assert loop["why"] == ("no recogniser took it: an LSTM-like step on rnn/odd_cell/kernel that also applies Softplus "
                           "(rnn/while/rnn/odd_cell/Softplus), an op no registered cell's step has"), loop
    assert report["parity"]["ok"]
