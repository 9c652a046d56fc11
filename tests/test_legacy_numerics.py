"""The legacy graph's numbers against NumPy implementations of TF1's equations (TF1_FACTS.md, contrib sources).

Every check uses random NON-ZERO weights and biases and forget_bias=0.8: zeros would hide gate-order and
forget-bias bugs. What is checked:

* one cell of each type over padded sequences (dynamic_rnn: zeros past the length, state carried);
* whole models (encoder uni/bi, 1-2 layers, every attention type, both output_attention settings, with and
  without attention_layer_size): teacher-forced logits and greedy ids, from the checkpoint-style variable
  names alone. This is the reference the converter and the Keras port are held to.
"""

import numpy as np
import pytest
import tensorflow as tf

import legacy_tf1  # noqa: F401
from legacy_tf1 import model_helper
from seq2seq_task import EOS_ID, HParams, make_batch
from seq2seq_task.dates import SOURCE_VOCAB, TARGET_VOCAB
from tf_migrate_runtime.contrib.seq2seq import BasicDecoder, TrainingHelper, dynamic_decode

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FORGET_BIAS = 0.8
CELL_SCOPE = {"lstm": "lstm_cell", "basic_lstm": "basic_lstm_cell", "gru": "gru_cell"}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- NumPy cells (TF1_FACTS: LSTM gates i, j, f, o; GRU gates r, u, reset before the candidate matmul) --

def lstm_step(w, prefix, x, state, forget_bias=FORGET_BIAS):
    c, h = state
    z = np.concatenate([x, h], -1) @ w[prefix + "/kernel"] + w[prefix + "/bias"]
    i, j, f, o = np.split(z, 4, axis=-1)
    c = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
    h = sigmoid(o) * np.tanh(c)
    return h, (c, h)


def gru_step(w, prefix, x, h):
    gates = sigmoid(np.concatenate([x, h], -1) @ w[prefix + "/gates/kernel"] + w[prefix + "/gates/bias"])
    r, u = np.split(gates, 2, axis=-1)
    candidate = np.tanh(np.concatenate([x, r * h], -1) @ w[prefix + "/candidate/kernel"]
                        + w[prefix + "/candidate/bias"])
    h = u * h + (1 - u) * candidate
    return h, h


def cell_step(hp, w, prefix, x, state):
    prefix = f"{prefix}/{CELL_SCOPE[hp.cell_type]}"
    return gru_step(w, prefix, x, state) if hp.cell_type == "gru" else lstm_step(w, prefix, x, state, hp.forget_bias)


def zero_state(cell_type, batch, units):
    z = np.zeros((batch, units), np.float32)
    return z if cell_type == "gru" else (z, z)


def stack_step(hp, w, prefix, x, states):
    """MultiRNNCell semantics: layer i reads layer i-1's output; names multi_rnn_cell/cell_i when >= 2."""
    new_states = []
    for i, s in enumerate(states):
        p = f"{prefix}/multi_rnn_cell/cell_{i}" if hp.num_layers > 1 else prefix
        x, s = cell_step(hp, w, p, x, s)
        new_states.append(s)
    return x, new_states


def select(mask, new, old):
    """Row-wise: new where mask (shape [B]) else old, for arrays or (c, h) tuples."""
    if isinstance(new, tuple):
        return tuple(select(mask, n, o) for n, o in zip(new, old))
    return np.where(mask[:, None], new, old)


def run_rnn(hp, w, prefix, inputs, lengths, units):
    """dynamic_rnn: outputs zero at t >= length, final state = state at the last valid step."""
    b, t_max, _ = inputs.shape
    states = [zero_state(hp.cell_type, b, units) for _ in range(hp.num_layers)]
    outputs = np.zeros((b, t_max, units), np.float32)
    for t in range(t_max):
        valid = t < lengths
        out, new = stack_step(hp, w, prefix, inputs[:, t], states)
        outputs[:, t] = np.where(valid[:, None], out, 0.0)
        states = [select(valid, n, s) for n, s in zip(new, states)]
    return outputs, states


def reverse_within_length(x, lengths):
    out = np.zeros_like(x)
    for row, n in enumerate(lengths):
        out[row, :n] = x[row, :n][::-1]
    return out


def encode(hp, w, ids, lengths):
    emb = w["embeddings/embedding_share" if hp.share_embeddings else "embeddings/encoder/embedding_encoder"][ids]
    if hp.encoder_type == "uni":
        return run_rnn(hp, w, "dynamic_seq2seq/encoder/rnn", emb, lengths, hp.num_units)
    base = "dynamic_seq2seq/encoder/bidirectional_rnn"
    fw_out, fw_states = run_rnn(hp, w, base + "/fw", emb, lengths, hp.num_units)
    bw_out, bw_states = run_rnn(hp, w, base + "/bw", reverse_within_length(emb, lengths), lengths, hp.num_units)
    bw_out = reverse_within_length(bw_out, lengths)

    def cat(f, b):
        return tuple(np.concatenate(p, -1) for p in zip(f, b)) if isinstance(f, tuple) else np.concatenate([f, b], -1)

    return np.concatenate([fw_out, bw_out], -1), [cat(f, b) for f, b in zip(fw_states, bw_states)]


class NumpyAttention:
    """contrib LuongAttention / BahdanauAttention + AttentionWrapper's _compute_attention, one step."""

    def __init__(self, hp, w, memory, lengths):
        self.hp, self.w = hp, w
        mask = np.arange(memory.shape[1])[None, :] < lengths[:, None]
        self.mask = mask
        self.values = memory * mask[..., None]
        self.keys = self.values @ w["dynamic_seq2seq/decoder/memory_layer/kernel"]
        self.scope = "dynamic_seq2seq/decoder/rnn/attention_wrapper"

    def __call__(self, cell_output):
        hp, w, s = self.hp, self.w, self.scope
        if hp.attention in ("luong", "scaled_luong"):
            score = np.einsum("bd,btd->bt", cell_output, self.keys)
            if hp.attention == "scaled_luong":
                score = w[s + "/luong_attention/attention_g"] * score
        else:
            a = s + "/bahdanau_attention"
            query = cell_output @ w[a + "/query_layer/kernel"]
            v = w[a + "/attention_v"]
            inner = self.keys + query[:, None, :]
            if hp.attention == "normalized_bahdanau":
                v = w[a + "/attention_g"] * v / np.sqrt(np.sum(v * v))
                inner = inner + w[a + "/attention_b"]
            score = np.sum(v * np.tanh(inner), -1)
        score = np.where(self.mask, score, -np.inf)
        e = np.exp(score - score.max(-1, keepdims=True))
        alignments = e / e.sum(-1, keepdims=True)
        context = np.einsum("bt,btd->bd", alignments, self.values)
        if hp.attention_layer_size is not None:
            return np.concatenate([cell_output, context], -1) @ w[s + "/attention_layer/kernel"], alignments
        return context, alignments


def project(hp, w, x):
    p = "dynamic_seq2seq/decoder/output_projection/"
    if hp.projection == "slim":
        return x @ w[p + "weights"] + w[p + "biases"]
    return x @ w[p + "kernel"] + w[p + "bias"]


class NumpyDecoder:
    def __init__(self, hp, w, memory, enc_lengths, enc_states):
        self.hp, self.w = hp, w
        self.attention = NumpyAttention(hp, w, memory, enc_lengths) if hp.attention != "none" else None
        self.prefix = "dynamic_seq2seq/decoder/rnn" + ("/attention_wrapper" if self.attention else "")
        self.initial = (enc_states, np.zeros((memory.shape[0], self.attention_depth()), np.float32))

    def attention_depth(self):
        return self.hp.attention_layer_size or self.hp.decoder_units

    def step(self, x, state):
        states, prev_attention = state
        if self.attention is None:
            out, states = stack_step(self.hp, self.w, self.prefix, x, states)
            return out, (states, prev_attention)
        cell_out, states = stack_step(self.hp, self.w, self.prefix, np.concatenate([x, prev_attention], -1), states)
        attention, _ = self.attention(cell_out)
        return (attention if self.hp.output_attention else cell_out), (states, attention)


def embedding_decoder(hp, w):
    return w["embeddings/embedding_share" if hp.share_embeddings else "embeddings/decoder/embedding_decoder"]


def numpy_teacher_forced_logits(hp, w, batch):
    memory, enc_states = encode(hp, w, batch.encoder_ids, batch.encoder_lengths)
    dec = NumpyDecoder(hp, w, memory, batch.encoder_lengths, enc_states)
    emb = embedding_decoder(hp, w)[batch.decoder_input_ids]
    b, t_max = batch.decoder_input_ids.shape
    state = dec.initial
    outputs = []
    for t in range(t_max):
        valid = t < batch.target_lengths
        out, new = dec.step(emb[:, t], state)
        outputs.append(np.where(valid[:, None], out, 0.0))
        state = (
            [select(valid, n, s) for n, s in zip(new[0], state[0])],
            np.where(valid[:, None], new[1], state[1]),
        )
    return project(hp, w, np.stack(outputs, 1))


def numpy_first_step_logits(hp, w, batch):
    """Logits of the first greedy step (input <s>) for every row."""
    memory, enc_states = encode(hp, w, batch.encoder_ids, batch.encoder_lengths)
    dec = NumpyDecoder(hp, w, memory, batch.encoder_lengths, enc_states)
    start = embedding_decoder(hp, w)[np.ones(batch.encoder_ids.shape[0], np.int32)]
    out, _ = dec.step(start, dec.initial)
    return project(hp, w, out)


def numpy_greedy(hp, w, batch):
    """GreedyEmbeddingHelper + dynamic_decode(impute_finished=True): 0 after </s>, stop when all finished."""
    memory, enc_states = encode(hp, w, batch.encoder_ids, batch.encoder_lengths)
    dec = NumpyDecoder(hp, w, memory, batch.encoder_lengths, enc_states)
    emb = embedding_decoder(hp, w)
    b = batch.encoder_ids.shape[0]
    ids = np.zeros((b, hp.decode_max_steps), np.int32)
    finished = np.zeros(b, bool)
    x, state = emb[np.ones(b, np.int32)], dec.initial
    for t in range(hp.decode_max_steps):
        out, new = dec.step(x, state)
        sample = project(hp, w, out).argmax(-1)
        ids[:, t] = np.where(finished, 0, sample)
        keep = ~finished
        state = ([select(keep, n, s) for n, s in zip(new[0], state[0])], np.where(keep[:, None], new[1], state[1]))
        finished = finished | (sample == EOS_ID)
        x = emb[sample]
        if finished.all():
            break
    return ids


# -- fixtures ------------------------------------------------------------------------------------------

PAIRS = [("sat 21 november 2026", "2026-11-21"), ("21/11/26", "2026-11-21"), ("may 1999", "1999-05"),
         ("1.2.2003", "2003-02-01"), ("FRIDAY, MARCH 3 1961", "1961-03-03"), ("12-31-2049", "2049-12-31"),
         ("jan 05 50", "1950-01-05"), ("07/1977", "1977-07")]


def randomize(loaded, seed=0, scale=0.5):
    """Every variable of the model to random non-zero values; returns {name: array}."""
    rng = np.random.RandomState(seed)
    with loaded.graph.as_default():
        variables = [v for v in tf.compat.v1.global_variables() if v.dtype.base_dtype == tf.float32]
        values = {v.op.name: rng.uniform(-scale, scale, v.shape.as_list()).astype(np.float32) for v in variables}
        for v in variables:
            v.load(values[v.op.name], loaded.session)
    return values


def hparams(**kw):
    base = dict(src_vocab_size=SOURCE_VOCAB.size, tgt_vocab_size=TARGET_VOCAB.size, embedding_size=5, num_units=6,
                forget_bias=FORGET_BIAS, max_tgt_len=10)
    base.update(kw)
    return HParams(**base)


@pytest.fixture(scope="module")
def batch():
    return make_batch(PAIRS, SOURCE_VOCAB, TARGET_VOCAB)


# -- single cells ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell_type", ["lstm", "basic_lstm", "gru"])
def test_cell_matches_tf1_equations(cell_type):
    """dynamic_rnn over a cell from model_helper vs the NumPy equations, padded rows included."""
    units, depth = 5, 3
    rng = np.random.RandomState(1)
    x = rng.randn(3, 4, depth).astype(np.float32)
    lengths = np.array([4, 2, 1], np.int32)
    hp = hparams(cell_type=cell_type, num_units=units)
    g = tf.Graph()
    with g.as_default():
        cell = model_helper.single_cell(cell_type, units, FORGET_BIAS, 0.0, "eval")
        outputs, state = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=lengths, dtype=tf.float32)
        variables = tf.compat.v1.global_variables()
    with tf.compat.v1.Session(graph=g) as sess:
        w = {v.op.name: rng.uniform(-1, 1, v.shape.as_list()).astype(np.float32) for v in variables}
        for v in variables:
            v.load(w[v.op.name], sess)
        got_out, got_state = sess.run([outputs, state])
    expected_out, expected_states = run_rnn(hp, w, "rnn", x, lengths, units)
    np.testing.assert_allclose(got_out, expected_out, rtol=1e-5, atol=1e-6)
    assert np.all(got_out[1, 2:] == 0) and np.all(got_out[2, 1:] == 0)
    np.testing.assert_allclose(np.asarray(got_state), np.asarray(expected_states[0]), rtol=1e-5, atol=1e-6)
    if cell_type != "gru":  # forget_bias is applied at run time: without it the numbers clearly differ
        without, _ = run_rnn(hp.replace(forget_bias=0.0), w, "rnn", x, lengths, units)
        assert np.abs(without - got_out).max() > 1e-2


# -- whole models ---------------------------------------------------------------------------------------

MODELS = {
    "lstm-L2-bi-luong-layer": dict(cell_type="lstm", num_layers=2, encoder_type="bi", attention="luong",
                                   attention_layer_size=7),
    "basic_lstm-L1-uni-scaled_luong": dict(cell_type="basic_lstm", attention="scaled_luong"),
    "gru-L1-uni-normalized_bahdanau-cell_output": dict(cell_type="gru", attention="normalized_bahdanau",
                                                       output_attention=False),
    "lstm-L1-bi-bahdanau-layer-slim": dict(cell_type="lstm", encoder_type="bi", attention="bahdanau",
                                           attention_layer_size=4, projection="slim"),
    "gru-L2-bi-none-shared": dict(cell_type="gru", num_layers=2, encoder_type="bi", share_embeddings=True,
                                  tgt_vocab_size=SOURCE_VOCAB.size),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(MODELS), ids=list(MODELS))
def test_model_matches_numpy_reference(variant, batch):
    hp = hparams(**MODELS[variant])
    if hp.share_embeddings:
        b = make_batch(PAIRS, SOURCE_VOCAB, SOURCE_VOCAB)
    else:
        b = batch
    loaded = model_helper.create_model(hp, "eval")
    w = randomize(loaded)
    m = loaded.model
    logits, greedy = loaded.run([m.logits, m.greedy_ids], m.feed_dict(b))
    expected = numpy_teacher_forced_logits(hp, w, b)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
    # contract 7: at padded decoder steps the outputs are zeros, so logits equal the projection bias
    bias = w["dynamic_seq2seq/decoder/output_projection/" + ("biases" if hp.projection == "slim" else "bias")]
    row = int(np.argmin(b.target_lengths))
    np.testing.assert_allclose(logits[row, b.target_lengths[row]:], np.broadcast_to(bias, logits[row, b.target_lengths[row]:].shape), atol=1e-6)
    np.testing.assert_array_equal(greedy, numpy_greedy(hp, w, b))

    # Random weights rarely emit </s>: raise its bias so that half of the rows emit it at the first step and
    # the others go on, then compare the while_loop (finished rows emit 0 and keep their state, the loop
    # ends when all are done) with NumPy.
    bias_name = "dynamic_seq2seq/decoder/output_projection/" + ("biases" if hp.projection == "slim" else "bias")
    first = numpy_first_step_logits(hp, w, b)
    margins = np.sort(np.delete(first, EOS_ID, axis=1).max(1) - first[:, EOS_ID])
    half = len(margins) // 2
    offset = (margins[half - 1] + margins[half]) / 2
    w2 = dict(w, **{bias_name: w[bias_name] + offset * (np.arange(hp.tgt_vocab_size) == EOS_ID)})
    expected = numpy_greedy(hp, w2, b)
    stops = [int(np.argmax(row == EOS_ID)) if (row == EOS_ID).any() else -1 for row in expected]
    assert stops.count(0) == half and len(set(stops)) >= 2
    with loaded, loaded.graph.as_default():
        var = [v for v in tf.compat.v1.global_variables() if v.op.name == bias_name][0]
        var.load(w2[bias_name], loaded.session)
        got = loaded.run(m.greedy_ids, m.feed_dict(b, decoder=False))
    np.testing.assert_array_equal(got, expected)


def test_training_helper_decode_equals_dynamic_rnn():
    """contrib's TrainingHelper + BasicDecoder + dynamic_decode(impute_finished) = dynamic_rnn on valid steps."""
    rng = np.random.RandomState(3)
    x = rng.randn(3, 5, 4).astype(np.float32)
    lengths = np.array([5, 3, 1], np.int32)
    g = tf.Graph()
    with g.as_default():
        cell = model_helper.single_cell("lstm", 6, FORGET_BIAS, 0.0, "eval")
        rnn_out, _ = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=lengths, dtype=tf.float32)
        decoder = BasicDecoder(cell, TrainingHelper(tf.constant(x), lengths), cell.zero_state(3, tf.float32))
        outputs, _, decoded_lengths = dynamic_decode(decoder, impute_finished=True)
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=g) as sess:
        sess.run(init)
        expected, got, got_lengths = sess.run([rnn_out, outputs.rnn_output, decoded_lengths])
    np.testing.assert_array_equal(got_lengths, lengths)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)  # zeros past each length in both
