"""Tiny TF1-style models built the way eight public projects built theirs, saved WITH their `.meta` graphs.

Used by tests/test_recognise_graph.py, test_refusals.py and test_forget_bias_per_cell.py. Each builder runs
once per pytest process (`build_all` caches), inside its own `tf.Graph()`; eager execution stays on.
Biases are random and non-zero; forget biases are non-default.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import warnings

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

V, E, U, T, B = 11, 6, 5, 4, 3    # vocab, embedding, units, time steps, batch


@contextlib.contextmanager
def tf1_style():
    """Build graphs as TF 1.x did: control flow v1 (`Enter` / `Exit` frames) and reference variables (`VariableV2`);
    the process's own settings come back afterwards, whatever happens inside."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    cf_v2 = v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()
    v1.disable_resource_variables()
    try:
        yield
    finally:
        if cf_v2:
            v1.enable_control_flow_v2()
        v1.enable_resource_variables()


def session_config():
    """The tests' own TF1 sessions run their graphs as written, as the toolkit's sessions do
    (`migrate.parity.tf1_graph`, `legacy_side`): Grappler off, so the first run of each new fetch starts at once
    instead of after ~1 s of graph optimisation on a seq2seq graph (0.5 s instead of 2.1 s of CPU for a legacy train
    graph's gradients, one Adam step and a save). What the tests check does not depend on it."""
    import tensorflow as tf  # noqa: PLC0415

    config = tf.compat.v1.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def save_random_weights(path: str, seed: int = 0, scale: float = 0.5) -> str:
    """The default graph's variables initialised, every trainable one (biases included) set to N(0, scale) values,
    saved as `path/model.ckpt` with its `.meta`; the checkpoint prefix."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    rng = np.random.RandomState(seed)
    with v1.Session(config=session_config()) as s:
        s.run(v1.global_variables_initializer())
        for v in v1.trainable_variables():
            s.run(v.assign(rng.normal(0, scale, v.shape.as_list()).astype("float32")))
        return v1.train.Saver().save(s, os.path.join(path, "model.ckpt"))


def _save(tf, sess, out: str) -> str:
    os.makedirs(out, exist_ok=True)
    sess.run(tf.compat.v1.global_variables_initializer())
    rng = np.random.RandomState(7)
    for v in tf.compat.v1.global_variables():       # random non-zero values everywhere, biases included
        shape = v.shape.as_list()
        v.load(rng.uniform(-0.5, 0.5, shape).astype(np.float32), sess)
    return tf.compat.v1.train.Saver().save(sess, os.path.join(out, "model.ckpt"))


def _cells(tf):
    return tf.compat.v1.nn.rnn_cell


def char_rnn(tf, out):
    """sherjilozair/char-rnn-tensorflow style: embedding, 2 x BasicLSTMCell in MultiRNNCell, softmax_w/b."""
    rc = _cells(tf)
    x = tf.compat.v1.placeholder(tf.int32, [B, T], "input_data")
    with tf.compat.v1.variable_scope("rnnlm"):
        softmax_w = tf.compat.v1.get_variable("softmax_w", [U, V])
        softmax_b = tf.compat.v1.get_variable("softmax_b", [V])
    embedding = tf.compat.v1.get_variable("embedding", [V, E])
    inputs = tf.nn.embedding_lookup(embedding, x)
    cell = rc.MultiRNNCell([rc.BasicLSTMCell(U, forget_bias=1.0) for _ in range(2)])
    outputs, _ = tf.compat.v1.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
    tf.matmul(tf.reshape(outputs, [-1, U]), softmax_w) + softmax_b
    return x


def knowledge_tracing(tf, out):
    """DKT style: one-hot inputs (no embedding), resource variables, LSTMCell, a dense `Weight` / `Bias`."""
    rc = _cells(tf)
    x = tf.compat.v1.placeholder(tf.float32, [B, T, 2 * V], "inputs")
    with tf.compat.v1.variable_scope("kt", use_resource=True):
        cell = rc.LSTMCell(U, forget_bias=0.8)
        outputs, _ = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        w = tf.compat.v1.get_variable("Weight", [U, V])
        b = tf.compat.v1.get_variable("Bias", [V])
    tf.nn.sigmoid(tf.matmul(tf.reshape(outputs, [-1, U]), w) + b)
    return x


def bilstm_crf(tf, out):
    """guillaumegenthial/sequence_tagging style: embedding `word_matrix`, fw/bw LSTMCell, proj W/b, CRF transitions."""
    rc = _cells(tf)
    ids = tf.compat.v1.placeholder(tf.int32, [B, T], "word_ids")
    tags = tf.compat.v1.placeholder(tf.int32, [B, T], "labels")
    word_matrix = tf.compat.v1.get_variable("words/word_matrix", [V, E])
    emb = tf.nn.embedding_lookup(word_matrix, ids)
    with tf.compat.v1.variable_scope("bi-lstm"):
        (fw, bw), _ = tf.compat.v1.nn.bidirectional_dynamic_rnn(rc.LSTMCell(U, forget_bias=1.0),
                                                                rc.LSTMCell(U, forget_bias=1.0), emb, dtype=tf.float32)
    with tf.compat.v1.variable_scope("proj"):
        w = tf.compat.v1.get_variable("W", [2 * U, 4])
        b = tf.compat.v1.get_variable("b", [4])
    scores = tf.reshape(tf.matmul(tf.reshape(tf.concat([fw, bw], -1), [-1, 2 * U]), w) + b, [B, T, 4])
    transitions = tf.compat.v1.get_variable("transitions", [4, 4])
    flat = tf.reshape(transitions, [-1])          # crf_binary_score's gather on the flattened matrix
    pair = tags[:, :-1] * 4 + tags[:, 1:]
    tf.reduce_sum(tf.gather(flat, pair)) + tf.reduce_sum(scores)
    return ids


def pointer_net(tf, out):
    """A pointer network: GRU encoder, GRU decoder whose cell does Bahdanau attention over the encoder outputs.

    Scopes say neither encoder nor decoder (`ptr/enc_rnn`, `ptr/dec_rnn`): only the dataflow tells.
    """
    rc = _cells(tf)
    x = tf.compat.v1.placeholder(tf.float32, [B, T, 2], "points")
    with tf.compat.v1.variable_scope("ptr"):
        enc_out, enc_state = tf.compat.v1.nn.dynamic_rnn(rc.GRUCell(U), x, dtype=tf.float32, scope="enc_rnn")
        w1 = tf.compat.v1.get_variable("W_ref", [U, U])
        w2 = tf.compat.v1.get_variable("W_q", [U, U])
        v = tf.compat.v1.get_variable("v", [U])
        keys = tf.tensordot(enc_out, w1, 1)

        class Attn(rc.RNNCell):
            def __init__(self):
                super().__init__()
                self.cell = rc.GRUCell(U)

            @property
            def state_size(self):
                return U

            @property
            def output_size(self):
                return T

            def call(self, inp, state):
                out, st = self.cell(inp, state)
                score = tf.reduce_sum(v * tf.tanh(keys + tf.expand_dims(tf.matmul(out, w2), 1)), -1)
                return score, st

        tf.compat.v1.nn.dynamic_rnn(Attn(), x, initial_state=enc_state, scope="dec_rnn")
    return x


def shared_fw_bw(tf, out):
    """One LSTMCell object passed as both cell_fw and cell_bw: its variables live under fw, bw reads them too."""
    rc = _cells(tf)
    ids = tf.compat.v1.placeholder(tf.int32, [B, T], "ids")
    emb = tf.compat.v1.get_variable("Variable", [V, E])       # an embedding named `Variable`
    cell = rc.LSTMCell(U, forget_bias=1.0)
    with tf.compat.v1.variable_scope("encoder"):
        (fw, bw), _ = tf.compat.v1.nn.bidirectional_dynamic_rnn(cell, cell, tf.nn.embedding_lookup(emb, ids),
                                                                dtype=tf.float32)
    tf.compat.v1.layers.dense(tf.concat([fw, bw], -1), V, name="logits")
    return ids


def training_helper(tf, out):
    """contrib.seq2seq BasicDecoder + TrainingHelper layout: `decoder/` loop, output layer run inside the loop."""
    rc = _cells(tf)
    src = tf.compat.v1.placeholder(tf.int32, [B, T], "source")
    tgt = tf.compat.v1.placeholder(tf.int32, [B, T], "target_in")
    emb = tf.compat.v1.get_variable("EmbedSequence/embeddings", [V, E])
    with tf.compat.v1.variable_scope("encode"):
        _, state = tf.compat.v1.nn.dynamic_rnn(rc.BasicLSTMCell(U, forget_bias=1.0), tf.nn.embedding_lookup(emb, src),
                                               dtype=tf.float32)
    dense = tf.compat.v1.layers.Dense(7, name="dense")

    class Out(rc.RNNCell):
        def __init__(self):
            super().__init__()
            self.cell = rc.BasicLSTMCell(U, forget_bias=1.0)

        @property
        def state_size(self):
            return self.cell.state_size

        @property
        def output_size(self):
            return 7

        def call(self, inp, st):
            o, s = self.cell(inp, st)
            return dense(o), s

    dec_emb = tf.compat.v1.get_variable("decoder/embedding", [7, E])
    tf.compat.v1.nn.dynamic_rnn(Out(), tf.nn.embedding_lookup(dec_emb, tgt), initial_state=state, scope="decoder")
    return src


def _linear(tf, x, n, scope):
    """rnn_cell_impl._linear's variables: `<scope>/kernel`, `<scope>/bias` (TF >= 1.2)."""
    with tf.compat.v1.variable_scope(scope or tf.compat.v1.get_variable_scope()):
        w = tf.compat.v1.get_variable("kernel", [x.shape[-1], n])
        b = tf.compat.v1.get_variable("bias", [n])
    return tf.nn.bias_add(tf.matmul(x, w), b)


def legacy_attention(tf, out):
    """legacy_seq2seq.embedding_attention_seq2seq's variables and ops, unrolled (static_rnn; no while loop)."""
    rc = _cells(tf)
    enc = [tf.compat.v1.placeholder(tf.int32, [B], f"encoder{i}") for i in range(T)]
    dec = [tf.compat.v1.placeholder(tf.int32, [B], f"decoder{i}") for i in range(T)]
    with tf.compat.v1.variable_scope("embedding_attention_seq2seq"):
        with tf.compat.v1.variable_scope("rnn/embedding_wrapper"):
            e_emb = tf.compat.v1.get_variable("embedding", [V, E])
        enc_out, enc_state = tf.compat.v1.nn.static_rnn(rc.GRUCell(U), [tf.nn.embedding_lookup(e_emb, i) for i in enc],
                                                        dtype=tf.float32)
        top = tf.reshape(tf.concat([tf.reshape(o, [-1, 1, U]) for o in enc_out], 1), [-1, T, 1, U])
        with tf.compat.v1.variable_scope("embedding_attention_decoder"):
            d_emb = tf.compat.v1.get_variable("embedding", [V, E])
            with tf.compat.v1.variable_scope("attention_decoder"):
                k = tf.compat.v1.get_variable("AttnW_0", [1, 1, U, U])
                hidden = tf.nn.conv2d(top, k, [1, 1, 1, 1], "SAME")
                v = tf.compat.v1.get_variable("AttnV_0", [U])
                cell = rc.GRUCell(U)
                state, attn = enc_state, tf.zeros([B, U])
                for i, d in enumerate(dec):
                    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=i > 0):
                        inp = _linear(tf, tf.concat([tf.nn.embedding_lookup(d_emb, d), attn], 1), E, None)
                        out_, state = cell(inp, state)
                        y = _linear(tf, state, U, "Attention_0")
                        s = tf.reduce_sum(v * tf.tanh(hidden + tf.reshape(y, [-1, 1, 1, U])), [2, 3])
                        attn = tf.reduce_sum(tf.reshape(tf.nn.softmax(s), [-1, T, 1, 1]) * top, [1, 2])
                        _linear(tf, tf.concat([out_, attn], 1), U, "AttnOutputProjection")
    return enc[0]


def two_one(tf, out):
    """tensorflow/nmt style names, 2-layer encoder and 1-layer decoder (tf2.Seq2Seq needs equal depths)."""
    rc = _cells(tf)
    src = tf.compat.v1.placeholder(tf.int32, [B, T], "src")
    tgt = tf.compat.v1.placeholder(tf.int32, [B, T], "tgt")
    with tf.compat.v1.variable_scope("embeddings"):
        es = tf.compat.v1.get_variable("embedding_encoder", [V, E])
        ed = tf.compat.v1.get_variable("embedding_decoder", [V, E])
    with tf.compat.v1.variable_scope("encoder"):
        _, st = tf.compat.v1.nn.dynamic_rnn(rc.MultiRNNCell([rc.BasicLSTMCell(U, forget_bias=1.0) for _ in range(2)]),
                                            tf.nn.embedding_lookup(es, src), dtype=tf.float32)
    with tf.compat.v1.variable_scope("decoder"):
        o, _ = tf.compat.v1.nn.dynamic_rnn(rc.BasicLSTMCell(U, forget_bias=1.0), tf.nn.embedding_lookup(ed, tgt),
                                           initial_state=st[-1])
        tf.compat.v1.layers.dense(o, V, name="output_projection")
    return src


def encdec_fb(tf, out):
    """An encoder cell with forget_bias 1.0 and a decoder cell with 0.5, in the user's own scopes; keeps logits."""
    rc = _cells(tf)
    src = tf.compat.v1.placeholder(tf.int32, [B, T], "src")
    tgt = tf.compat.v1.placeholder(tf.int32, [B, T], "tgt")
    emb = tf.compat.v1.get_variable("my_model/word_matrix", [V, E])
    with tf.compat.v1.variable_scope("my_model/reader"):
        _, st = tf.compat.v1.nn.dynamic_rnn(rc.BasicLSTMCell(U, forget_bias=1.0), tf.nn.embedding_lookup(emb, src),
                                            dtype=tf.float32)
    with tf.compat.v1.variable_scope("my_model/writer"):
        o, _ = tf.compat.v1.nn.dynamic_rnn(rc.BasicLSTMCell(U, forget_bias=0.5), tf.nn.embedding_lookup(emb, tgt),
                                           initial_state=st)
        w = tf.compat.v1.get_variable("out_w", [U, V])
        b = tf.compat.v1.get_variable("out_b", [V])
    logits = tf.tensordot(o, w, 1) + b
    return (src, tgt, logits)


def block_cells(tf, out):
    """contrib LSTMBlockCell (forget_bias 0.7 as an op attr) and GRUBlockCell (`w_ru`, ...), two static steps each."""
    x = tf.compat.v1.placeholder(tf.float32, [B, E], "x")
    with tf.compat.v1.variable_scope("lm/lstm_cell"):
        w = tf.compat.v1.get_variable("kernel", [E + U, 4 * U])
        b = tf.compat.v1.get_variable("bias", [4 * U])
    zeros = tf.zeros([U])
    h = c = tf.zeros([B, U])
    for _ in range(2):
        _, c, _, _, _, _, h = tf.raw_ops.LSTMBlockCell(x=x, cs_prev=c, h_prev=h, w=w, wci=zeros, wcf=zeros, wco=zeros,
                                                       b=b, forget_bias=0.7, cell_clip=-1.0, use_peephole=False)
    with tf.compat.v1.variable_scope("tagger/gru_cell"):
        w_ru = tf.compat.v1.get_variable("w_ru", [E + U, 2 * U])
        b_ru = tf.compat.v1.get_variable("b_ru", [2 * U])
        w_c = tf.compat.v1.get_variable("w_c", [E + U, U])
        b_c = tf.compat.v1.get_variable("b_c", [U])
    g = tf.zeros([B, U])
    for _ in range(2):
        g = tf.raw_ops.GRUBlockCell(x=x, h_prev=g, w_ru=w_ru, w_c=w_c, b_ru=b_ru, b_c=b_c)[3]
    return x


BUILDERS = {"char_rnn": char_rnn, "knowledge_tracing": knowledge_tracing, "bilstm_crf": bilstm_crf,
            "pointer_net": pointer_net, "shared_fw_bw": shared_fw_bw, "training_helper": training_helper,
            "legacy_attention": legacy_attention, "two_one": two_one, "encdec_fb": encdec_fb,
            "block_cells": block_cells}


@functools.lru_cache(maxsize=1)
def build_all() -> dict:
    """{model name: checkpoint prefix} (+ "encdec_fb_io": (src, tgt, logits) arrays); built once per process."""
    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.python.ops import control_flow_util  # noqa: PLC0415

    root = tempfile.mkdtemp(prefix="tf1_models_")
    out = {}
    saved = control_flow_util.ENABLE_CONTROL_FLOW_V2
    control_flow_util.ENABLE_CONTROL_FLOW_V2 = False     # TF 1.x graphs: Enter / Exit while loops
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _build(tf, root, out)
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved
    return out


def _build(tf, root: str, out: dict) -> None:
    for name, build in BUILDERS.items():
        g = tf.Graph()
        with g.as_default(), tf.compat.v1.Session(graph=g, config=session_config()) as sess:
            ret = build(tf, os.path.join(root, name))
            out[name] = _save(tf, sess, os.path.join(root, name))
            if name == "encdec_fb":
                src, tgt, logits = ret
                rng = np.random.RandomState(3)
                s, t = rng.randint(1, V, (B, T)), rng.randint(1, V, (B, T))   # no id 0: tf2 masks it
                out["encdec_fb_io"] = (s, t, sess.run(logits, {src: s, tgt: t}))
