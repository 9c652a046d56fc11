"""Greedy decoding and beam search as compiled TensorFlow loops (`tf.function` + `tf.while_loop`).

Each loop runs the encoder once, then one `Decoder.step` per output position inside a single
`tf.while_loop`, batched over rows (and beams); no Python loop of model calls. Compiled functions
are cached per model and `max_steps` (and beam settings), traced once per input signature.

Greedy output format (contract item 11): int32 `[B, max_steps]`; row `b` holds its ids up to and
including the first `</s>` (id 2), then 0 to the end; decoding stops once every row has emitted
`</s>` or after `max_steps` (default `hparams.decode_max_steps`) steps.
"""

from __future__ import annotations

import weakref

import tensorflow as tf

from seq2seq_task import EOS_ID, PAD_ID, SOS_ID

# (model) -> {key: tf.function}; weak so that a dropped model frees its traces.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(model, key, make):
    fns = _CACHE.setdefault(model, {})
    if key not in fns:
        fns[key] = make()
    return fns[key]


def _max_steps(model, max_steps):
    return int(max_steps or model.hparams.decode_max_steps)


def greedy_fn(model, max_steps=None, alignments=False, jit_compile=False):
    """The compiled greedy decoder: `fn(encoder_ids int32 [B, S]) -> ids int32 [B, max_steps]`.

    With `alignments=True` it returns `(ids, alignments float32 [B, max_steps, S])`, the attention
    weights of every emitted step (zeros after a row finished); attention models only.
    """
    steps = _max_steps(model, max_steps)
    if alignments and model.attention is None:
        raise ValueError(f"alignments need an attention model; hparams.attention={model.hparams.attention!r}")

    def make():
        @tf.function(jit_compile=jit_compile, reduce_retracing=True)
        def decode(encoder_ids):
            encoder_ids = tf.cast(encoder_ids, tf.int32)
            memory, memory_mask, states = model.encode(encoder_ids)
            dec = model.decoder
            keys = dec.process_memory(memory, memory_mask)
            batch, src_len = tf.shape(encoder_ids)[0], tf.shape(encoder_ids)[1]
            onehot_t = tf.eye(steps, dtype=tf.int32)

            def body(t, ids, finished, state, out, align):
                output, state, step_align = dec.step(model.target_embedding(ids), state, memory, keys, memory_mask)
                next_ids = tf.argmax(model.projection(output), axis=-1, output_type=tf.int32)
                next_ids = tf.where(finished, PAD_ID, next_ids)
                out += next_ids[:, None] * onehot_t[t][None, :]
                if alignments:
                    live = tf.cast(~finished, tf.float32)[:, None, None]
                    align += live * step_align[:, None, :] * tf.cast(onehot_t[t], tf.float32)[None, :, None]
                return t + 1, next_ids, finished | tf.equal(next_ids, EOS_ID), state, out, align

            def cond(t, ids, finished, *_):
                return tf.logical_and(t < steps, tf.logical_not(tf.reduce_all(finished)))

            loop = (tf.constant(0), tf.fill([batch], SOS_ID), tf.zeros([batch], tf.bool),
                    dec.initial_loop_state(states), tf.zeros([batch, steps], tf.int32),
                    tf.zeros([batch, steps, src_len if alignments else 0], tf.float32))
            _, _, _, _, out, align = tf.while_loop(cond, body, loop)
            return (out, align) if alignments else out

        return decode

    return _cached(model, ("greedy", steps, alignments, jit_compile), make)


def greedy_decode(model, encoder_ids, max_steps=None):
    """Greedy ids, int32 `[B, max_steps]` as a NumPy array (see the module docstring)."""
    return greedy_fn(model, max_steps)(tf.convert_to_tensor(encoder_ids, tf.int32)).numpy()


def attention_alignments(model, encoder_ids, max_steps=None):
    """Greedy ids and attention weights of one example, for a heatmap.

    Args:
        model: an attention `Seq2Seq`.
        encoder_ids: int `[S]` (one source, no padding needed).

    Returns:
        `(ids [n], alignments float32 [n, S])`, `n` = emitted ids up to and including `</s>`.
    """
    ids, align = greedy_fn(model, max_steps, alignments=True)(tf.convert_to_tensor([encoder_ids], tf.int32))
    ids, align = ids.numpy()[0], align.numpy()[0]
    n = int((ids != PAD_ID).sum())
    return ids[:n], align[:n]


def length_penalty(lengths, alpha):
    """GNMT length penalty `((5 + length) / 6) ** alpha` (contrib BeamSearchDecoder's)."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def beam_fn(model, beam_width=4, alpha=0.0, max_steps=None):
    """The compiled beam search: `fn(encoder_ids [B, S]) -> (ids [B, K, max_steps], scores [B, K])`.

    Beams are sorted best first by `log_prob / length_penalty(length, alpha)`; a beam's length
    counts its ids up to and including `</s>`; finished beams only extend with `</s>` at no cost
    (contrib `BeamSearchDecoder` semantics). Ids after `</s>` are 0.
    """
    steps, k = _max_steps(model, max_steps), int(beam_width)

    def make():
        @tf.function(reduce_retracing=True)
        def search(encoder_ids):
            encoder_ids = tf.cast(encoder_ids, tf.int32)
            batch = tf.shape(encoder_ids)[0]
            tiled = tf.repeat(encoder_ids, k, axis=0)  # row b*k + j is beam j of example b
            memory, memory_mask, states = model.encode(tiled)
            dec = model.decoder
            keys = dec.process_memory(memory, memory_mask)
            vocab = model.hparams.tgt_vocab_size
            eos_only = tf.where(tf.range(vocab) == EOS_ID, 0.0, float("-inf"))
            onehot_t = tf.eye(steps, dtype=tf.int32)

            def body(t, ids, log_probs, lengths, finished, state, seqs):
                output, state, _ = dec.step(model.target_embedding(ids), state, memory, keys, memory_mask)
                step_lp = tf.nn.log_softmax(tf.cast(model.projection(output), tf.float32))
                step_lp = tf.reshape(step_lp, [batch, k, vocab])
                step_lp = tf.where(finished[:, :, None], eos_only[None, None, :], step_lp)
                total = log_probs[:, :, None] + step_lp
                new_len = lengths + tf.cast(~finished, tf.int32)  # a finished beam keeps its length
                scores = total / length_penalty(new_len, alpha)[:, :, None]
                _, flat_idx = tf.math.top_k(tf.reshape(scores, [batch, k * vocab]), k=k)
                parent, token = flat_idx // vocab, flat_idx % vocab
                log_probs = tf.gather(tf.reshape(total, [batch, k * vocab]), flat_idx, batch_dims=1)
                was_finished = tf.gather(finished, parent, batch_dims=1)
                lengths = tf.gather(lengths, parent, batch_dims=1) + tf.cast(~was_finished, tf.int32)
                token = tf.where(was_finished, PAD_ID, token)
                seqs = tf.gather(seqs, parent, batch_dims=1) + token[:, :, None] * onehot_t[t][None, None, :]
                rows = tf.reshape(parent + k * tf.range(batch)[:, None], [-1])
                state = tf.nest.map_structure(lambda s: tf.ensure_shape(tf.gather(s, rows), s.shape), state)
                finished = was_finished | tf.equal(token, EOS_ID)
                return t + 1, tf.reshape(token, [-1]), log_probs, lengths, finished, state, seqs

            def cond(t, ids, log_probs, lengths, finished, *_):
                return tf.logical_and(t < steps, tf.logical_not(tf.reduce_all(finished)))

            first = tf.concat([[0.0], tf.fill([k - 1], float("-inf"))], 0)  # only beam 0 is live at t=0
            loop = (tf.constant(0), tf.fill([batch * k], SOS_ID), tf.tile(first[None, :], [batch, 1]),
                    tf.zeros([batch, k], tf.int32), tf.zeros([batch, k], tf.bool),
                    dec.initial_loop_state(states), tf.zeros([batch, k, steps], tf.int32))
            _, _, log_probs, lengths, _, _, seqs = tf.while_loop(cond, body, loop)
            scores = log_probs / length_penalty(lengths, alpha)
            order = tf.argsort(scores, axis=-1, direction="DESCENDING", stable=True)
            return tf.gather(seqs, order, batch_dims=1), tf.gather(scores, order, batch_dims=1)

        return search

    return _cached(model, ("beam", steps, k, float(alpha)), make)


def beam_search(model, encoder_ids, beam_width=4, length_penalty=0.0, max_steps=None):
    """The best beam per row, int32 `[B, max_steps]` as a NumPy array (greedy's format)."""
    seqs, _ = beam_fn(model, beam_width, length_penalty, max_steps)(tf.convert_to_tensor(encoder_ids, tf.int32))
    return seqs.numpy()[:, 0, :]
