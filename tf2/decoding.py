"""Greedy decoding and beam search as compiled `keras.ops.while_loop`s, on every Keras backend.

Each loop runs the encoder once, then one `Decoder.step` per output position inside a single
`keras.ops.while_loop`, batched over rows (and beams); no Python loop of model calls. The loop is
compiled as one program by `tf2.backend.compile_function` (TensorFlow: `tf.function`, XLA with
`jit_compile=True`; JAX: `jax.jit`; PyTorch: eager under `no_grad`). Compiled functions are cached
per model and `max_steps` (and beam settings), traced once per input signature.

Greedy output format (contract item 11): int32 `[B, max_steps]`; row `b` holds its ids up to and
including the first `</s>` (id 2), then 0 to the end; decoding stops once every row has emitted
`</s>` or after `max_steps` (default `hparams.decode_max_steps`) steps.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
from keras import ops

from seq2seq_task import EOS_ID, PAD_ID, SOS_ID
from tf2.backend import backend, compile_function

# (model) -> {key: compiled function}; weak so that a dropped model frees its traces.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(model, key, make):
    fns = _CACHE.setdefault(model, {})
    if key not in fns:
        fns[key] = make()
    return fns[key]


def _compile_ids_fn(model, fn, jit_compile=False):
    """`fn(encoder_ids int32 [B, S])` compiled (`compile_function`). On TensorFlow it is traced once, for every batch
    size and source length (`[None, None]`): a trace costs about a second of CPU, and a shape-specific first trace
    made the second batch shape trace again (`reduce_retracing`). JAX traces per shape whatever we do."""
    compiled = compile_function(fn, model.variables, jit_compile)
    if backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415  (only on the TensorFlow backend)

        compiled.get_concrete_function(tf.TensorSpec([None, None], tf.int32))
    return compiled


def _max_steps(model, max_steps):
    return int(max_steps or model.hparams.decode_max_steps)


def _ids(encoder_ids):
    """Token ids as an int32 NumPy array (accepts lists, NumPy arrays and backend tensors)."""
    if not isinstance(encoder_ids, (list, tuple, np.ndarray)):
        encoder_ids = ops.convert_to_numpy(encoder_ids)
    return np.asarray(encoder_ids, np.int32)


def best_token(logits):
    """`argmax(logits, -1)` as int32, the first index on ties (as TF1's `tf.argmax`).

    TensorFlow / JAX: `top_k(logits, 1)` (lower index first on ties): `keras.ops.argmax` adds a
    flush-to-zero fix-up (several element-wise ops per step) that cost about 20% of the XLA greedy
    loop's time on the 2-core CPU. PyTorch: `ops.argmax` (`torch.topk` does not promise the order of ties).
    """
    if backend() == "torch":
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    return ops.cast(ops.top_k(logits, 1)[1][:, 0], "int32")


def _greedy_loop(model, steps, alignments):
    def decode(encoder_ids):
        encoder_ids = ops.cast(encoder_ids, "int32")
        memory, memory_mask, states = model.encode(encoder_ids)
        dec = model.decoder
        keys = dec.process_memory(memory, memory_mask)
        batch, src_len = ops.shape(encoder_ids)[0], ops.shape(encoder_ids)[1]
        onehot_t = ops.eye(steps, dtype="int32")

        def body(t, ids, finished, state, out, align):
            output, state, step_align = dec.step(model.target_embedding(ids), state, memory, keys, memory_mask)
            next_ids = best_token(model.projection(output))
            next_ids = ops.where(finished, ops.zeros_like(next_ids), next_ids)  # PAD_ID after </s>
            row_t = ops.take(onehot_t, t, axis=0)
            out = out + ops.expand_dims(next_ids, 1) * ops.expand_dims(row_t, 0)
            if alignments:
                live = ops.cast(ops.logical_not(finished), "float32")[:, None, None]
                align = align + live * ops.expand_dims(ops.cast(step_align, "float32"), 1) * \
                    ops.cast(row_t, "float32")[None, :, None]
            return t + 1, next_ids, ops.logical_or(finished, ops.equal(next_ids, EOS_ID)), state, out, align

        def cond(t, ids, finished, *_):
            return ops.logical_and(t < steps, ops.logical_not(ops.all(finished)))

        loop = (ops.convert_to_tensor(0, "int32"), ops.full((batch,), SOS_ID, "int32"), ops.zeros((batch,), "bool"),
                dec.initial_loop_state(states), ops.zeros((batch, steps), "int32"),
                ops.zeros((batch, steps, src_len if alignments else 0), "float32"))
        _, _, _, _, out, align = ops.while_loop(cond, body, loop)
        return (out, align) if alignments else out

    return decode


def greedy_fn(model, max_steps=None, alignments=False, jit_compile=False):
    """The compiled greedy decoder: `fn(encoder_ids int32 [B, S]) -> ids int32 [B, max_steps]` (backend tensor).

    With `alignments=True` it returns `(ids, alignments float32 [B, max_steps, S])`, the attention
    weights of every emitted step (zeros after a row finished); attention models only.
    `jit_compile` selects XLA on the TensorFlow backend (JAX always compiles with XLA).
    """
    steps = _max_steps(model, max_steps)
    if alignments and model.attention is None:
        raise ValueError(f"alignments need an attention model; hparams.attention={model.hparams.attention!r}")
    return _cached(model, ("greedy", steps, alignments, bool(jit_compile)),
                   lambda: _compile_ids_fn(model, _greedy_loop(model, steps, alignments), jit_compile))


def greedy_decode(model, encoder_ids, max_steps=None):
    """Greedy ids, int32 `[B, max_steps]` as a NumPy array (see the module docstring)."""
    return np.asarray(ops.convert_to_numpy(greedy_fn(model, max_steps)(_ids(encoder_ids))))


def attention_alignments(model, encoder_ids, max_steps=None):
    """Greedy ids and attention weights of one example, for a heatmap.

    Args:
        model: an attention `Seq2Seq`.
        encoder_ids: int `[S]` (one source, no padding needed).

    Returns:
        `(ids [n], alignments float32 [n, S])`, `n` = emitted ids up to and including `</s>`.
    """
    ids, align = greedy_fn(model, max_steps, alignments=True)(_ids([list(encoder_ids)]))
    ids, align = ops.convert_to_numpy(ids)[0], ops.convert_to_numpy(align)[0]
    n = int((ids != PAD_ID).sum())
    return ids[:n], align[:n]


def length_penalty(lengths, alpha):
    """GNMT length penalty `((5 + length) / 6) ** alpha` (contrib BeamSearchDecoder's)."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, alpha)


def _gather_beams(x, parent):
    """`x[b, parent[b, j], ...]` for `x` `[B, K, ...]` and `parent` int `[B, K]` (tf.gather with batch_dims=1)."""
    index = ops.reshape(parent, tuple(ops.shape(parent)) + (1,) * (len(x.shape) - 2))
    return ops.take_along_axis(x, ops.broadcast_to(index, ops.shape(x)) if len(x.shape) > 2 else index, axis=1)


def _stable_descending_order(scores, k):
    """Per row, the indices of `scores` `[B, K]` sorted descending, ties in index order (same on every backend)."""
    a, b = ops.expand_dims(scores, 2), ops.expand_dims(scores, 1)  # a[i] vs b[j]
    j_lt_i = ops.expand_dims(ops.arange(k)[None, :] < ops.arange(k)[:, None], 0)
    before = ops.logical_or(b > a, ops.logical_and(ops.equal(b, a), j_lt_i))
    rank = ops.sum(ops.cast(before, "int32"), axis=2)  # [B, K], a permutation of 0..K-1 per row
    hit = ops.equal(ops.expand_dims(rank, 1), ops.arange(k)[None, :, None])  # [B, r, i]
    return ops.cast(ops.argmax(ops.cast(hit, "int32"), axis=2), "int32")


def _beam_loop(model, steps, k, alpha):
    vocab = model.hparams.tgt_vocab_size

    def search(encoder_ids):
        encoder_ids = ops.cast(encoder_ids, "int32")
        batch = ops.shape(encoder_ids)[0]
        tiled = ops.repeat(encoder_ids, k, axis=0)  # row b*k + j is beam j of example b
        memory, memory_mask, states = model.encode(tiled)
        dec = model.decoder
        keys = dec.process_memory(memory, memory_mask)
        eos_only = ops.where(ops.equal(ops.arange(vocab), EOS_ID), 0.0, float("-inf"))
        onehot_t = ops.eye(steps, dtype="int32")

        def body(t, ids, log_probs, lengths, finished, state, seqs):
            output, state, _ = dec.step(model.target_embedding(ids), state, memory, keys, memory_mask)
            step_lp = ops.log_softmax(ops.cast(model.projection(output), "float32"), axis=-1)
            step_lp = ops.reshape(step_lp, (batch, k, vocab))
            step_lp = ops.where(ops.expand_dims(finished, 2), eos_only[None, None, :], step_lp)
            total = ops.expand_dims(log_probs, 2) + step_lp
            live = ops.cast(ops.logical_not(finished), "int32")
            new_len = lengths + live  # a finished beam keeps its length
            scores = total / ops.expand_dims(length_penalty(new_len, alpha), 2)
            _, flat_idx = ops.top_k(ops.reshape(scores, (batch, k * vocab)), k=k)
            flat_idx = ops.cast(flat_idx, "int32")
            parent, token = ops.floor_divide(flat_idx, vocab), ops.mod(flat_idx, vocab)
            log_probs = ops.take_along_axis(ops.reshape(total, (batch, k * vocab)), flat_idx, axis=1)
            was_finished = _gather_beams(finished, parent)
            lengths = _gather_beams(lengths, parent) + ops.cast(ops.logical_not(was_finished), "int32")
            token = ops.where(was_finished, ops.zeros_like(token), token)  # PAD_ID after </s>
            row_t = ops.take(onehot_t, t, axis=0)
            seqs = _gather_beams(seqs, parent) + ops.expand_dims(token, 2) * row_t[None, None, :]
            rows = ops.reshape(parent + k * ops.arange(batch, dtype="int32")[:, None], (-1,))
            state = keras.tree.map_structure(lambda s: ops.take(s, rows, axis=0), state)
            finished = ops.logical_or(was_finished, ops.equal(token, EOS_ID))
            return t + 1, ops.reshape(token, (-1,)), log_probs, lengths, finished, state, seqs

        def cond(t, ids, log_probs, lengths, finished, *_):
            return ops.logical_and(t < steps, ops.logical_not(ops.all(finished)))

        first = ops.where(ops.equal(ops.arange(k), 0), 0.0, float("-inf"))  # only beam 0 is live at t=0
        loop = (ops.convert_to_tensor(0, "int32"), ops.full((batch * k,), SOS_ID, "int32"),
                ops.tile(first[None, :], (batch, 1)), ops.zeros((batch, k), "int32"), ops.zeros((batch, k), "bool"),
                dec.initial_loop_state(states), ops.zeros((batch, k, steps), "int32"))
        _, _, log_probs, lengths, _, _, seqs = ops.while_loop(cond, body, loop)
        scores = log_probs / length_penalty(lengths, alpha)
        order = _stable_descending_order(scores, k)
        return _gather_beams(seqs, order), ops.take_along_axis(scores, order, axis=1)

    return search


def beam_fn(model, beam_width=4, alpha=0.0, max_steps=None):
    """The compiled beam search: `fn(encoder_ids [B, S]) -> (ids [B, K, max_steps], scores [B, K])`.

    Beams are sorted best first by `log_prob / length_penalty(length, alpha)` (ties in beam order);
    a beam's length counts its ids up to and including `</s>`; finished beams only extend with `</s>`
    at no cost (contrib `BeamSearchDecoder` semantics). Ids after `</s>` are 0.
    """
    steps, k = _max_steps(model, max_steps), int(beam_width)
    return _cached(model, ("beam", steps, k, float(alpha)),
                   lambda: _compile_ids_fn(model, _beam_loop(model, steps, k, float(alpha))))


def beam_search(model, encoder_ids, beam_width=4, length_penalty=0.0, max_steps=None):
    """The best beam per row, int32 `[B, max_steps]` as a NumPy array (greedy's format)."""
    seqs, _ = beam_fn(model, beam_width, length_penalty, max_steps)(_ids(encoder_ids))
    return np.asarray(ops.convert_to_numpy(seqs))[:, 0, :]
