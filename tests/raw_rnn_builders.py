"""TF1-style `tf.nn.raw_rnn` builders (migrate/graph/constructs/raw_rnn.py), the way TF 1.x code wrote them before
contrib.seq2seq: a greedy decoder whose `loop_fn` feeds back `embedding_lookup(argmax(output @ W + b))` (the
"seq2seq with raw_rnn" tutorials), and an encoder-like raw_rnn over a TensorArray of inputs (TF 1.15's own
raw_rnn docstring example). Control flow v1, real `tf.compat.v1.nn.rnn_cell` cells, non-default forget biases;
`build(name, root, **options)` saves one with random non-zero weights and biases and returns the checkpoint prefix.
"""

from __future__ import annotations

import os

from tf1_models import save_random_weights, tf1_style

EOS, START, VOCAB, EMB, UNITS = 2, 1, 11, 6, 5


def _cell(v1, kind: str, units: int = UNITS):
    rc = v1.nn.rnn_cell
    if kind == "gru":
        return rc.GRUCell(units)
    if kind == "basic_lstm":
        return rc.BasicLSTMCell(units, forget_bias=0.4)
    if kind == "multi":   # MultiRNNCell([LSTMCell(forget_bias=0.7), GRUCell])
        return rc.MultiRNNCell([rc.LSTMCell(units, forget_bias=0.7), rc.GRUCell(units)])
    return rc.LSTMCell(units, forget_bias=0.7)


def greedy(tf, v1, cell: str = "lstm", stop: str = "eos_or_length", emit: str = "output", cond: bool = False,
           encoder: bool = True, dense: bool = False, max_len: int = 7):
    """src ids -> embedding -> dynamic_rnn encoder (its final state starts the decoder unless `encoder=False`: zero
    state) -> a greedy `raw_rnn` decoder: the next input `embedding_lookup(embedding, argmax(output @ W + b))`, the
    first one the start token's. `stop`: "eos_or_length" (EOS emitted or `time >= max_len`, a `[]` placeholder with
    default `max_len`), "length" (`time >= 6`), "lengths" (per row: `time >= dec_len`, a `[B]` placeholder, as ematvey's
    tutorial), "eos" (no bound: never run here, its loop may not end). `emit`: "output" (the cell output; the
    logits computed after the loop) or "logits" (its structure given at time 0). `cond`: the next
    input under `tf.cond(all finished, pad embedding, lookup)` as the tutorial writes it. `dense`: the projection a
    `tf.layers.Dense` (MatMul + BiasAdd) instead of `tf.add(tf.matmul(output, W), b)`.
    Names: `outputs` (batch major), `logits`, `ids`, `final_h` (and `final_c`)."""
    src = v1.placeholder(tf.int32, [None, None], name="src")
    emb = v1.get_variable("embedding", [VOCAB, EMB])
    batch = tf.shape(src)[0]
    kind = "lstm" if cell == "multi" else cell
    with v1.variable_scope("encoder"):
        _, enc_state = v1.nn.dynamic_rnn(_cell(v1, kind), tf.nn.embedding_lookup(emb, src), dtype=tf.float32)
    with v1.variable_scope("decoder"):
        dec_cell = _cell(v1, cell)
        init = dec_cell.zero_state(batch, tf.float32)
        if encoder:
            init = (enc_state, init[1]) if cell == "multi" else enc_state
        w = v1.get_variable("W", [UNITS, VOCAB])
        b = v1.get_variable("b", [VOCAB])
        max_len = v1.placeholder_with_default(max_len, [], name="max_len")
        dec_len = v1.placeholder(tf.int32, [None], name="dec_len") if stop == "lengths" else None
        start = tf.nn.embedding_lookup(emb, tf.ones([batch], tf.int32) * START)
        pad = tf.zeros([batch, EMB])
        proj = v1.layers.Dense(VOCAB, name="output_projection") if dense else None

        def done(time, ids):
            if stop == "length":
                return time >= 6
            if stop == "lengths":
                return time >= dec_len
            if stop == "eos":
                return tf.equal(ids, EOS)
            return tf.logical_or(time >= max_len, tf.equal(ids, EOS))

        def loop_fn(time, output, state, loop_state):
            if output is None:   # time 0
                first = tf.zeros([batch], tf.bool) if stop != "lengths" else 0 >= dec_len
                return first, start, init, None if emit == "output" else tf.zeros([VOCAB]), None
            logits = proj(output) if dense else tf.add(tf.matmul(output, w), b)
            ids = tf.argmax(logits, axis=-1, output_type=tf.int32)
            finished = done(time, ids)
            if cond:
                nxt = tf.cond(tf.reduce_all(finished), lambda: pad, lambda: tf.nn.embedding_lookup(emb, ids))
            else:
                nxt = tf.nn.embedding_lookup(emb, ids)
            return finished, nxt, state, output if emit == "output" else logits, None

        outs_ta, final, _ = v1.nn.raw_rnn(dec_cell, loop_fn)
        outs = tf.transpose(outs_ta.stack(), [1, 0, 2])
    tf.identity(outs, name="outputs")
    logits = outs if emit == "logits" else proj(outs) if dense else tf.tensordot(outs, w, 1) + b
    tf.identity(logits, name="logits")
    tf.identity(tf.argmax(logits, -1, output_type=tf.int32), name="ids")
    top = final[-1] if cell == "multi" else final
    if isinstance(top, tuple):
        tf.identity(top.c, name="final_c")
        tf.identity(top.h, name="final_h")
    else:
        tf.identity(top, name="final_h")


def encoder(tf, v1, cell: str = "lstm", given_state: bool = False):
    """An encoder-like raw_rnn over `x` [B, 6, 4] read from a TensorArray until `time >= lengths` (TF 1.15's raw_rnn
    docstring: the next input `tf.cond(all finished, zeros, inputs_ta.read(time))`); `given_state`: from `h0`.
    Names: `outputs` (batch major), `final_h` (and `final_c`)."""
    x = v1.placeholder(tf.float32, [None, 6, 4], name="x")
    lengths = v1.placeholder(tf.int32, [None], name="lengths")
    batch = tf.shape(x)[0]
    inputs_ta = tf.TensorArray(tf.float32, size=6).unstack(tf.transpose(x, [1, 0, 2]))
    c = _cell(v1, cell)
    h0 = v1.placeholder(tf.float32, [None, UNITS], name="h0") if given_state else None

    def loop_fn(time, output, state, loop_state):
        if output is None:
            if h0 is None:
                state = c.zero_state(batch, tf.float32)
            else:
                state = v1.nn.rnn_cell.LSTMStateTuple(h0 * 0.5, h0) if cell == "lstm" else h0
        finished = time >= lengths
        nxt = tf.cond(tf.reduce_all(finished), lambda: tf.zeros([batch, 4]), lambda: inputs_ta.read(time))
        return finished, nxt, state, output, None

    outs_ta, final, _ = v1.nn.raw_rnn(c, loop_fn)
    tf.identity(tf.transpose(outs_ta.stack(), [1, 0, 2]), name="outputs")
    final = final[-1] if cell == "multi" else final
    if isinstance(final, tuple):
        tf.identity(final.c, name="final_c")
        tf.identity(final.h, name="final_h")
    else:
        tf.identity(final, name="final_h")


def build(builder, root, name: str, seed: int = 3, eos_bias: float = 0.0, **options) -> str:
    """The checkpoint prefix of `builder(tf, v1, **options)`'s graph saved under `root/name` with random weights;
    `eos_bias` is added to the EOS entry of the greedy decoder's output bias `decoder/b` (random weights alone make
    a greedy loop settle on one token: with it some rows emit EOS, at different steps)."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default() as g:
        builder(tf, v1, **options)
        path = os.path.join(str(root), name)
        os.makedirs(path, exist_ok=True)
        prefix = save_random_weights(path, seed=seed)
        if eos_bias:
            with v1.Session(graph=g) as s:
                saver = v1.train.Saver()
                saver.restore(s, prefix)
                b = g.get_tensor_by_name("decoder/b:0")
                value = s.run(b)
                value[EOS] += eos_bias
                s.run(v1.assign(b, value))
                saver.save(s, prefix)
        return prefix
