"""contrib.seq2seq beam search (TF 1.15 `beam_search_decoder.py` and `beam_search_ops.gather_tree`).

`BeamSearchDecoder` keeps `beam_width` hypotheses per batch row. Each step (contrib's `_beam_search_step`):

1. `log_softmax` of the logits `[B, beam, V]`; a finished beam puts all its mass on `end_token` (0 there,
   the dtype's minimum elsewhere); add the beam's running log-probability.
2. scores = log-probs / length penalty `((5 + len) / 6) ** length_penalty_weight` (1 when the weight is 0),
   plus, with `coverage_penalty_weight`, the weighted sum of `log(min(accumulated attention, 1))` for
   finished beams.
3. `top_k` over the flattened `[B, beam * V]` scores: word id = index mod V, parent beam = index / V;
   gather the log-probs, `finished`, lengths and every cell-state tensor of rank >= 2 from the parents.
   A beam is finished once it emits `end_token`; lengths grow by 1 while a beam is unfinished.

At step 0 only beam 0 is live (the others start at -inf). `finalize` back-tracks the parent pointers with
`gather_tree`, so `predicted_ids` are whole hypotheses, best first; `TensorArray`s in the cell state
(e.g. an alignment history) are re-ordered the same way when `reorder_tensor_arrays`.

`gather_tree` was a C++ kernel of contrib; TF 2.21 has no such op, so it is composed here from core ops
(a reversed `tf.scan`) with the kernel's semantics: steps at or past a row's `max_sequence_lengths` are
`end_token`, and every step after the first `end_token` of a hypothesis is `end_token` too.
"""

import collections

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import rnn_cell_impl
from tensorflow.python.platform import tf_logging
from tensorflow.python.util import nest

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from tf_migrate_runtime.contrib.seq2seq.attention_wrapper import AttentionWrapperState
from tf_migrate_runtime.contrib.seq2seq.decoder import Decoder

__all__ = ["BeamSearchDecoder", "BeamSearchDecoderOutput", "BeamSearchDecoderState",
           "FinalBeamSearchDecoderOutput", "gather_tree", "tile_batch"]


class BeamSearchDecoderState(collections.namedtuple(
        "BeamSearchDecoderState", ("cell_state", "log_probs", "finished", "lengths",
                                   "accumulated_attention_probs"))):
    """The loop state: the cell's state per beam, running log-probs, finished flags, lengths (int64)."""


class BeamSearchDecoderOutput(collections.namedtuple("BeamSearchDecoderOutput",
                                                     ("scores", "predicted_ids", "parent_ids"))):
    """One step, `[B, beam]` each: the chosen scores, word ids and the beams they extend."""


class FinalBeamSearchDecoderOutput(collections.namedtuple("FinalBeamDecoderOutput",
                                                          ["predicted_ids", "beam_search_decoder_output"])):
    """`predicted_ids` `[B, T, beam]` (whole hypotheses, best first) and the per-step outputs."""


def _tile_one(t, multiplier):
    t = tf.convert_to_tensor(t, name="t")
    if t.shape.ndims is None or t.shape.ndims < 1:
        raise ValueError("t must have statically known rank")
    shape_t = tf.shape(t)
    tiling = [1] * (t.shape.ndims + 1)
    tiling[1] = multiplier
    static_batch = tf.compat.dimension_value(t.shape[0])
    tiled = tf.tile(tf.expand_dims(t, 1), tiling)
    tiled = tf.reshape(tiled, tf.concat(([shape_t[0] * multiplier], shape_t[1:]), 0))
    tiled.set_shape(tf.TensorShape([static_batch * multiplier if static_batch is not None else None])
                    .concatenate(t.shape[1:]))
    return tiled


def tile_batch(t, multiplier, name=None):
    """Repeat each batch entry `multiplier` times: `[a, b]` -> `[a, a, ..., b, b, ...]` (nested structures too).

    Raises:
        ValueError: a tensor of unknown rank or rank 0.
    """
    flat_t = nest.flatten(t)
    with tf.compat.v1.name_scope(name, "tile_batch", flat_t + [multiplier]):
        return nest.map_structure(lambda t_: _tile_one(t_, multiplier), t)


def gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token, name=None):
    """Back-track beam search: full hypotheses from per-step ids and parent pointers.

    Args:
        step_ids: int32 `[max_time, batch_size, beam_width]`, the id chosen at each step.
        parent_ids: int32 `[max_time, batch_size, beam_width]`, the beam each step extended.
        max_sequence_lengths: int32 `[batch_size]`, steps to back-track per row.
        end_token: int32 scalar.

    Returns:
        int32 `[max_time, batch_size, beam_width]`: the ids of each final beam's hypothesis; steps at or past
        the row's length, and every step after the first `end_token`, are `end_token`.
    """
    with tf.compat.v1.name_scope(name, "GatherTree", [step_ids, parent_ids, max_sequence_lengths, end_token]):
        step_ids = tf.convert_to_tensor(step_ids, name="step_ids")
        parent_ids = tf.convert_to_tensor(parent_ids, dtype=step_ids.dtype, name="parent_ids")
        end_token = tf.cast(tf.convert_to_tensor(end_token, name="end_token"), step_ids.dtype)
        shape = tf.shape(step_ids)
        max_time, batch_size, beam_width = shape[0], shape[1], shape[2]
        lengths = tf.minimum(tf.cast(max_sequence_lengths, tf.int32), max_time)  # [B]
        beams = tf.tile(tf.expand_dims(tf.range(beam_width, dtype=step_ids.dtype), 0), [batch_size, 1])

        def back(carry, elems):
            beam, _ = carry  # [B, beam]: which beam of this step each final hypothesis passes through
            ids_t, parents_t, t = elems
            live = tf.expand_dims(t < lengths, 1)  # [B, 1]
            out = tf.where(live, tf.gather(ids_t, beam, batch_dims=1), tf.fill(tf.shape(beam), end_token))
            beam = tf.where(live, tf.gather(parents_t, beam, batch_dims=1), beam)
            return beam, out

        _, ids = tf.scan(back, (step_ids, parent_ids, tf.range(max_time)),
                         initializer=(beams, tf.zeros_like(beams)), reverse=True)
        # Everything after a hypothesis' first end_token is end_token.
        ended = tf.cumsum(tf.cast(tf.equal(ids, end_token), tf.int32), axis=0, exclusive=True) > 0
        ids = tf.where(ended, tf.fill(tf.shape(ids), end_token), ids)
        ids.set_shape(step_ids.shape)
        return ids


def _gather_tree_from_array(t, parent_ids, sequence_length):
    """Re-order a stacked TensorArray `[T, B*beam or B, beam, ...]` along the back-tracked beams."""
    max_time = tf.shape(parent_ids)[0]
    batch_size = tf.shape(parent_ids)[1]
    beam_width = tf.compat.dimension_value(parent_ids.shape[2]) or tf.shape(parent_ids)[2]
    beam_ids = tf.tile(tf.expand_dims(tf.expand_dims(tf.range(beam_width), 0), 0), [max_time, batch_size, 1])
    max_sequence_lengths = tf.cast(tf.reduce_max(sequence_length, axis=1), tf.int32)
    sorted_beam_ids = gather_tree(beam_ids, parent_ids, max_sequence_lengths, end_token=beam_width + 1)
    in_bound_steps = tf.transpose(tf.sequence_mask(sequence_length, maxlen=max_time), perm=[2, 0, 1])
    sorted_beam_ids = tf.where(in_bound_steps, sorted_beam_ids, beam_ids)
    time_ind = tf.tile(tf.reshape(tf.range(max_time), [-1, 1, 1]), [1, batch_size, beam_width])
    batch_ind = tf.transpose(tf.tile(tf.reshape(tf.range(batch_size), [-1, 1, 1]), [1, max_time, beam_width]),
                             perm=[1, 0, 2])
    indices = tf.stack([time_ind, batch_ind, sorted_beam_ids], -1)
    final_shape = tf.shape(t)
    ordered = tf.gather_nd(tf.reshape(t, [max_time, batch_size, beam_width, -1]), indices)
    return tf.reshape(ordered, final_shape)


def _check_ndims(t):
    if t.shape.ndims is None:
        raise ValueError(f"Expected tensor ({t}) to have known rank, but ndims == None.")


def _length_penalty(sequence_lengths, penalty_factor):
    penalty_factor = tf.convert_to_tensor(penalty_factor, name="penalty_factor")
    penalty_factor.set_shape(())
    static_penalty = tf.get_static_value(penalty_factor)
    if static_penalty is not None and static_penalty == 0:
        return 1.0
    return tf.math.divide((5.0 + tf.cast(sequence_lengths, tf.float32)) ** penalty_factor,
                          (5.0 + 1.0) ** penalty_factor)


def _attention_probs_from_attn_state(attention_state):
    probs = attention_state.alignments
    if isinstance(probs, tuple):
        probs = tf.reduce_mean(tf.concat([tf.expand_dims(p, -1) for p in probs], -1), -1)
    return probs


def _get_attention_probs(next_cell_state, coverage_penalty_weight):
    if coverage_penalty_weight == 0.0:
        return None
    per_layer = []
    if isinstance(next_cell_state, AttentionWrapperState):
        per_layer = [_attention_probs_from_attn_state(next_cell_state)]
    elif isinstance(next_cell_state, tuple):
        per_layer = [_attention_probs_from_attn_state(s) for s in next_cell_state
                     if isinstance(s, AttentionWrapperState)]
    if not per_layer:
        raise ValueError("coverage_penalty_weight must be 0.0 if no cell is attentional.")
    if len(per_layer) == 1:
        return per_layer[0]
    return tf.reduce_mean(tf.concat([tf.expand_dims(p, -1) for p in per_layer], -1), -1)


def _get_scores(log_probs, sequence_lengths, length_penalty_weight, coverage_penalty_weight, finished,
                accumulated_attention_probs):
    length_penalty = tf.cast(_length_penalty(sequence_lengths, length_penalty_weight), dtype=log_probs.dtype)
    scores = log_probs / length_penalty
    coverage_penalty_weight = tf.convert_to_tensor(coverage_penalty_weight, name="coverage_penalty_weight")
    if coverage_penalty_weight.shape.ndims != 0:
        raise ValueError(f"coverage_penalty_weight should be a scalar, but saw shape: "
                         f"{coverage_penalty_weight.shape}")
    if tf.get_static_value(coverage_penalty_weight) == 0.0:
        return scores
    if accumulated_attention_probs is None:
        raise ValueError("accumulated_attention_probs can be None only if coverage penalty is disabled.")
    accumulated = tf.where(tf.equal(accumulated_attention_probs, 0.0),
                           tf.ones_like(accumulated_attention_probs), accumulated_attention_probs)
    coverage_penalty = tf.reduce_sum(tf.math.log(tf.minimum(accumulated, 1.0)), 2)
    coverage_penalty *= tf.cast(finished, tf.float32)
    return scores + tf.expand_dims(coverage_penalty * coverage_penalty_weight, 2)


def _mask_probs(probs, eos_token, finished):
    """Finished beams put all probability on `eos_token`; the others are unchanged."""
    vocab_size = tf.shape(probs)[2]
    finished_row = tf.one_hot(eos_token, vocab_size, dtype=probs.dtype,
                              on_value=tf.convert_to_tensor(0.0, dtype=probs.dtype), off_value=probs.dtype.min)
    finished_probs = tf.tile(tf.reshape(finished_row, [1, 1, -1]), tf.concat([tf.shape(finished), [1]], 0))
    finished_mask = tf.tile(tf.expand_dims(finished, 2), [1, 1, vocab_size])
    return tf.where(finished_mask, finished_probs, probs)


def _tensor_gather_helper(gather_indices, gather_from, batch_size, range_size, gather_shape, name=None):
    with tf.compat.v1.name_scope(name, "tensor_gather_helper"):
        range_ = tf.expand_dims(tf.range(batch_size) * range_size, 1)
        gather_indices = tf.reshape(gather_indices + range_, [-1])
        output = tf.gather(tf.reshape(gather_from, gather_shape), gather_indices)
        final_shape = tf.shape(gather_from)[:1 + len(gather_shape)]
        static_batch_size = tf.get_static_value(batch_size)
        final_static_shape = tf.TensorShape([static_batch_size]).concatenate(
            gather_from.shape[1:1 + len(gather_shape)])
        output = tf.reshape(output, final_shape, name="output")
        output.set_shape(final_static_shape)
        return output


def _maybe_tensor_gather_helper(gather_indices, gather_from, batch_size, range_size, gather_shape):
    if isinstance(gather_from, tf.TensorArray):
        return gather_from
    _check_ndims(gather_from)
    if gather_from.shape.ndims >= len(gather_shape):
        return _tensor_gather_helper(gather_indices, gather_from, batch_size, range_size, gather_shape)
    return gather_from


def _beam_search_step(time, logits, next_cell_state, beam_state, batch_size, beam_width, end_token,
                      length_penalty_weight, coverage_penalty_weight):
    """One step of beam search: contrib's `_beam_search_step`, same op order."""
    static_batch_size = tf.get_static_value(batch_size)
    prediction_lengths = beam_state.lengths
    previously_finished = beam_state.finished
    not_finished = tf.logical_not(previously_finished)

    step_log_probs = tf.nn.log_softmax(logits)
    step_log_probs = _mask_probs(step_log_probs, end_token, previously_finished)
    total_probs = tf.expand_dims(beam_state.log_probs, 2) + step_log_probs

    vocab_size = tf.compat.dimension_value(logits.shape[-1]) or tf.shape(logits)[-1]
    lengths_to_add = tf.one_hot(indices=tf.fill([batch_size, beam_width], end_token), depth=vocab_size,
                                on_value=tf.constant(0, tf.int64), off_value=tf.constant(1, tf.int64),
                                dtype=tf.int64)
    lengths_to_add *= tf.expand_dims(tf.cast(not_finished, tf.int64), 2)
    new_prediction_lengths = lengths_to_add + tf.expand_dims(prediction_lengths, 2)

    accumulated_attention_probs = None
    attention_probs = _get_attention_probs(next_cell_state, coverage_penalty_weight)
    if attention_probs is not None:
        attention_probs *= tf.expand_dims(tf.cast(not_finished, tf.float32), 2)
        accumulated_attention_probs = beam_state.accumulated_attention_probs + attention_probs

    scores = _get_scores(total_probs, new_prediction_lengths, length_penalty_weight, coverage_penalty_weight,
                         previously_finished, accumulated_attention_probs)

    time = tf.convert_to_tensor(time, name="time")
    scores_flat = tf.reshape(scores, [batch_size, -1])
    next_beam_size = tf.convert_to_tensor(beam_width, dtype=tf.int32, name="beam_width")
    next_beam_scores, word_indices = tf.nn.top_k(scores_flat, k=next_beam_size)
    next_beam_scores.set_shape([static_batch_size, beam_width])
    word_indices.set_shape([static_batch_size, beam_width])

    next_beam_probs = _tensor_gather_helper(word_indices, total_probs, batch_size, beam_width * vocab_size,
                                            [-1], name="next_beam_probs")
    raw_next_word_ids = tf.math.floormod(word_indices, vocab_size, name="next_beam_word_ids")
    next_word_ids = tf.cast(raw_next_word_ids, tf.int32)
    next_beam_ids = tf.cast(word_indices / vocab_size, tf.int32, name="next_beam_parent_ids")

    previously_finished = _tensor_gather_helper(next_beam_ids, previously_finished, batch_size, beam_width, [-1])
    next_finished = tf.logical_or(previously_finished, tf.equal(next_word_ids, end_token),
                                  name="next_beam_finished")
    lengths_to_add = tf.cast(tf.logical_not(previously_finished), tf.int64)
    next_prediction_len = _tensor_gather_helper(next_beam_ids, beam_state.lengths, batch_size, beam_width, [-1])
    next_prediction_len += lengths_to_add
    next_accumulated_attention_probs = ()
    if accumulated_attention_probs is not None:
        next_accumulated_attention_probs = _tensor_gather_helper(
            next_beam_ids, accumulated_attention_probs, batch_size, beam_width, [batch_size * beam_width, -1],
            name="next_accumulated_attention_probs")

    next_cell_state = nest.map_structure(
        lambda gather_from: _maybe_tensor_gather_helper(next_beam_ids, gather_from, batch_size, beam_width,
                                                        [batch_size * beam_width, -1]),
        next_cell_state)

    next_state = BeamSearchDecoderState(cell_state=next_cell_state, log_probs=next_beam_probs,
                                        lengths=next_prediction_len, finished=next_finished,
                                        accumulated_attention_probs=next_accumulated_attention_probs)
    output = BeamSearchDecoderOutput(scores=next_beam_scores, predicted_ids=next_word_ids,
                                     parent_ids=next_beam_ids)
    return output, next_state


class BeamSearchDecoder(Decoder):
    """Beam search decoder (`tf.contrib.seq2seq.BeamSearchDecoder`), run by `dynamic_decode`.

    With an `AttentionWrapper` cell, tile the memory, its lengths and the encoder state with `tile_batch`
    and call `zero_state(batch_size * beam_width)`, as contrib requires.

    Args:
        cell: an `RNNCell`.
        embedding: the embedding matrix, or a callable `ids -> vectors`.
        start_tokens: int32 vector `[batch_size]`.
        end_token: int32 scalar.
        initial_state: the cell's initial state for `batch_size * beam_width` rows.
        beam_width: Python int.
        output_layer: optional layer applied to the cell output (e.g. the vocabulary projection).
        length_penalty_weight: float, 0 disables the length penalty.
        coverage_penalty_weight: float, 0 disables the coverage penalty (needs an attentional cell).
        reorder_tensor_arrays: re-order `TensorArray`s in the final cell state along the chosen beams.

    Returns (through `dynamic_decode`):
        `FinalBeamSearchDecoderOutput` and the final `BeamSearchDecoderState`.
    """

    def __init__(self, cell, embedding, start_tokens, end_token, initial_state, beam_width, output_layer=None,
                 length_penalty_weight=0.0, coverage_penalty_weight=0.0, reorder_tensor_arrays=True):
        rnn_cell_impl.assert_like_rnncell("cell", cell)
        if output_layer is not None and not callable(output_layer):
            raise TypeError(f"output_layer must be a Layer, received: {type(output_layer)}")
        self._cell = cell
        self._output_layer = output_layer
        self._reorder_tensor_arrays = reorder_tensor_arrays
        self._beam_width = beam_width
        self._length_penalty_weight = length_penalty_weight
        self._coverage_penalty_weight = coverage_penalty_weight
        if callable(embedding):
            self._embedding_fn = embedding
        else:
            self._embedding_fn = lambda ids: tf.nn.embedding_lookup(embedding, ids)
        self._start_tokens = tf.convert_to_tensor(start_tokens, dtype=tf.int32, name="start_tokens")
        if self._start_tokens.get_shape().ndims != 1:
            raise ValueError("start_tokens must be a vector")
        self._end_token = tf.convert_to_tensor(end_token, dtype=tf.int32, name="end_token")
        if self._end_token.get_shape().ndims != 0:
            raise ValueError("end_token must be a scalar")
        self._batch_size = tf.size(start_tokens)
        self._initial_cell_state = nest.map_structure(self._maybe_split_batch_beams, initial_state,
                                                      self._cell.state_size)
        self._start_tokens = tf.tile(tf.expand_dims(self._start_tokens, 1), [1, self._beam_width])
        self._start_inputs = self._embedding_fn(self._start_tokens)
        self._finished = tf.one_hot(tf.zeros([self._batch_size], dtype=tf.int32), depth=self._beam_width,
                                    on_value=False, off_value=True, dtype=tf.bool)

    @property
    def batch_size(self):
        return self._batch_size

    def _rnn_output_size(self):
        size = self._cell.output_size
        if self._output_layer is None:
            return size
        with_unknown_batch = nest.map_structure(lambda s: tf.TensorShape([None]).concatenate(s), size)
        layer_output_shape = self._output_layer.compute_output_shape(with_unknown_batch)
        return nest.map_structure(lambda s: s[1:], layer_output_shape)

    @property
    def tracks_own_finished(self):
        """Beams are re-shuffled each step, so `dynamic_decode` must not track `finished` itself."""
        return True

    @property
    def output_size(self):
        return BeamSearchDecoderOutput(scores=tf.TensorShape([self._beam_width]),
                                       predicted_ids=tf.TensorShape([self._beam_width]),
                                       parent_ids=tf.TensorShape([self._beam_width]))

    @property
    def output_dtype(self):
        dtype = nest.flatten(self._initial_cell_state)[0].dtype
        return BeamSearchDecoderOutput(scores=nest.map_structure(lambda _: dtype, self._rnn_output_size()),
                                       predicted_ids=tf.int32, parent_ids=tf.int32)

    def initialize(self, name=None):
        """`(finished, start_inputs, initial BeamSearchDecoderState)`; only beam 0 is live (others -inf)."""
        finished, start_inputs = self._finished, self._start_inputs
        dtype = nest.flatten(self._initial_cell_state)[0].dtype
        log_probs = tf.one_hot(tf.zeros([self._batch_size], dtype=tf.int32), depth=self._beam_width,
                               on_value=tf.convert_to_tensor(0.0, dtype=dtype),
                               off_value=tf.convert_to_tensor(-np.inf, dtype=dtype), dtype=dtype)
        init_attention_probs = _get_attention_probs(self._initial_cell_state, self._coverage_penalty_weight)
        if init_attention_probs is None:
            init_attention_probs = ()
        initial_state = BeamSearchDecoderState(
            cell_state=self._initial_cell_state, log_probs=log_probs, finished=finished,
            lengths=tf.zeros([self._batch_size, self._beam_width], dtype=tf.int64),
            accumulated_attention_probs=init_attention_probs)
        return finished, start_inputs, initial_state

    def finalize(self, outputs, final_state, sequence_lengths):
        """Back-track the beams: `(FinalBeamSearchDecoderOutput, final_state)`; `sequence_lengths` is unused."""
        del sequence_lengths  # the lengths that count are final_state.lengths
        max_sequence_lengths = tf.cast(tf.reduce_max(final_state.lengths, axis=1), tf.int32)
        predicted_ids = gather_tree(outputs.predicted_ids, outputs.parent_ids,
                                    max_sequence_lengths=max_sequence_lengths, end_token=self._end_token)
        if self._reorder_tensor_arrays:
            final_state = final_state._replace(cell_state=nest.map_structure(
                lambda t: self._maybe_sort_array_beams(t, outputs.parent_ids, final_state.lengths),
                final_state.cell_state))
        return FinalBeamSearchDecoderOutput(beam_search_decoder_output=outputs,
                                            predicted_ids=predicted_ids), final_state

    def _merge_batch_beams(self, t, s=None):
        """`[B, beam, s...]` -> `[B * beam, s...]`."""
        s = tf.TensorShape(tf.get_static_value(s)) if isinstance(s, tf.Tensor) else tf.TensorShape(s)
        t_shape = tf.shape(t)
        static_batch_size = tf.get_static_value(self._batch_size)
        batch_beam = None if static_batch_size is None else static_batch_size * self._beam_width
        reshaped = tf.reshape(t, tf.concat(([self._batch_size * self._beam_width], t_shape[2:]), 0))
        reshaped.set_shape(tf.TensorShape([batch_beam]).concatenate(s))
        return reshaped

    def _split_batch_beams(self, t, s=None):
        """`[B * beam, s...]` -> `[B, beam, s...]`; `ValueError` when the static shapes disagree."""
        s = tf.TensorShape(tf.get_static_value(s)) if isinstance(s, tf.Tensor) else tf.TensorShape(s)
        t_shape = tf.shape(t)
        reshaped = tf.reshape(t, tf.concat(([self._batch_size, self._beam_width], t_shape[1:]), 0))
        static_batch_size = tf.get_static_value(self._batch_size)
        expected = tf.TensorShape([static_batch_size, self._beam_width]).concatenate(s)
        if not reshaped.shape.is_compatible_with(expected):
            raise ValueError(f"Unexpected behavior when reshaping between beam width and batch size. The reshaped "
                             f"tensor has shape: {reshaped.shape}. We expected it to have shape (batch_size, "
                             f"beam_width, depth) == {expected}. Perhaps you forgot to create a zero_state with "
                             f"batch_size=encoder_batch_size * beam_width?")
        reshaped.set_shape(expected)
        return reshaped

    def _maybe_split_batch_beams(self, t, s):
        if isinstance(t, tf.TensorArray):
            return t
        _check_ndims(t)
        return self._split_batch_beams(t, s) if t.shape.ndims >= 1 else t

    def _maybe_merge_batch_beams(self, t, s):
        if isinstance(t, tf.TensorArray):
            return t
        _check_ndims(t)
        return self._merge_batch_beams(t, s) if t.shape.ndims >= 2 else t

    def _maybe_sort_array_beams(self, t, parent_ids, sequence_length):
        if not isinstance(t, tf.TensorArray):
            return t
        if t.element_shape.ndims is None or t.element_shape.ndims < 1:
            tf_logging.warn(f"The TensorArray {t.handle.name} in the cell state is not amenable to sorting based on "
                            f"the beam search result (element shape {t.element_shape}).")
            return t
        shape = [tf.compat.dimension_value(d) for d in t.element_shape]
        batch_size = tf.get_static_value(self._batch_size)
        if (batch_size is not None and shape[0] is not None
                and (shape[0] != batch_size * self._beam_width
                     or (len(shape) >= 2 and shape[1] is not None
                         and (shape[0] != batch_size or shape[1] != self._beam_width)))):
            tf_logging.warn(f"TensorArray reordering expects elements to be reshapable to [{batch_size}, "
                            f"{self._beam_width}, None], not {shape}: set reorder_tensor_arrays=False.")
            return t
        return _gather_tree_from_array(t.stack(), parent_ids, sequence_length)

    def step(self, time, inputs, state, name=None):
        """`(BeamSearchDecoderOutput, BeamSearchDecoderState, next_inputs, finished)` for one step."""
        with tf.compat.v1.name_scope(name, "BeamSearchDecoderStep", (time, inputs, state)):
            cell_state = state.cell_state
            inputs = nest.map_structure(lambda inp: self._merge_batch_beams(inp, s=inp.shape[2:]), inputs)
            cell_state = nest.map_structure(self._maybe_merge_batch_beams, cell_state, self._cell.state_size)
            cell_outputs, next_cell_state = self._cell(inputs, cell_state)
            cell_outputs = nest.map_structure(lambda out: self._split_batch_beams(out, out.shape[1:]), cell_outputs)
            next_cell_state = nest.map_structure(self._maybe_split_batch_beams, next_cell_state,
                                                 self._cell.state_size)
            if self._output_layer is not None:
                cell_outputs = self._output_layer(cell_outputs)
            beam_search_output, beam_search_state = _beam_search_step(
                time=time, logits=cell_outputs, next_cell_state=next_cell_state, beam_state=state,
                batch_size=self._batch_size, beam_width=self._beam_width, end_token=self._end_token,
                length_penalty_weight=self._length_penalty_weight,
                coverage_penalty_weight=self._coverage_penalty_weight)
            finished = beam_search_state.finished
            sample_ids = beam_search_output.predicted_ids
            next_inputs = tf.cond(tf.reduce_all(finished), lambda: self._start_inputs,
                                  lambda: self._embedding_fn(sample_ids))
        return beam_search_output, beam_search_state, next_inputs, finished
