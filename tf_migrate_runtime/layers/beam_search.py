"""`BeamSearchDecoder`: contrib.seq2seq `dynamic_decode(BeamSearchDecoder(...), maximum_iterations=N)` as one layer
(keras.ops only: every backend), contrib's `_beam_search_step` in the same op order so that the ids match exactly.

Each step: the stacked cells on the `[B * beam]` rows, the output layer, `log_softmax`; a finished beam puts all its
mass on `end_token` (0 there, the dtype's minimum elsewhere); plus the beam's running log-probability; scores =
that / `((5 + length) / 6) ** length_penalty_weight` (not divided when the weight is 0); `top_k` over the flattened
`[B, beam * V]` scores: word = index mod V, parent = index // V; the log-probs, finished flags, lengths and cell
states are gathered from the parents. At step 0 only beam 0 is live (the others start finished at -inf). The loop
stops when every beam is finished or after `maximum_iterations` steps. Back-tracking (`gather_tree`) is
`tfm.GatherTree`, as contrib's `finalize` runs it after the loop.

`BeamSearchAttentionDecoder`: the same loop (`beam_loop`) around an `AttentionWrapper` step (`AttentionDecoder`'s
mechanism over the tiled memory), its attention vector reordered by the parents like the cell states, and TF
1.13+'s coverage penalty: `coverage_penalty_weight * sum(log(min(accumulated alignments, 1)))` added to the
scores of the beams that were already finished.
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.attention import GreedyAttentionDecoder, loop_cells
from tf_migrate_runtime.layers.decoder import (
    GreedyDecoder,
    decode_loop,
    dense_product,
    embed_ids,
    keep_steps,
    run_traced,
    stacked,
    static_steps,
    step_buffer,
    write_step,
)
from tf_migrate_runtime.layers.shared import check_bound

FLOAT32_MIN = -3.4028234663852886e38   # float32's minimum: a finished beam's log-probability off end_token


def merge_beams(t):
    """`[B, beam, ...]` -> `[B * beam, ...]` (contrib's `_merge_batch_beams`)."""
    return ops.reshape(t, (-1,) + tuple(t.shape[2:]))


def beam_loop(layer, maximum_iterations, start_tokens, end_token, initial_state, step, output, vocab,
              initial_extra=(), memory_steps=None):
    """contrib's `dynamic_decode(BeamSearchDecoder)` loop for `layer` (its `embedding`, `beam_width`,
    `length_penalty_weight`, `coverage_penalty_weight`, `families` / `units`); `output`: the output layer's
    `(kernel, bias or None)` or None; `vocab`: the logits' width.

    `step(x [B * beam, E], states, extra)` runs the cell on the merged rows: `states` the cells' flat states and
    `extra` (an attention wrapper's attention vector), merged `[B * beam, ...]` -> (cell output, new states, new
    extra, this step's alignments `[B * beam, S]` or None). Every state and extra tensor is reordered by the
    parent beams after `top_k`, as contrib's `_maybe_tensor_gather_helper` gathers every cell-state tensor of rank
    >= 2; with a coverage penalty the accumulated attention probabilities (`memory_steps` wide) too."""
    k = layer.beam_width
    start_tokens = ops.cast(start_tokens, "int32")
    if len(start_tokens.shape) == 2:   # the tiled [B, beam] tokens the TF1 loop starts from
        start_tokens = start_tokens[:, 0]
    end = ops.cast(end_token, "int32")
    batch = ops.shape(start_tokens)[0]
    steps_max = static_steps(maximum_iterations, type(layer).__name__)
    if initial_state is None:
        initial_state = []
        for fam, u in zip(layer.families, layer.units):
            initial_state += [ops.zeros((batch, k, u))] * (2 if fam == "lstm" else 1)
    # the loop carries every per-beam state merged, [B * beam, ...], as the cells read it; the reorder by parents
    # is one gather of rows (`+ b * beam`), as contrib's `_tensor_gather_helper` does it
    states = [merge_beams(s) for s in initial_state]
    states += [ops.zeros((batch * k, w)) for w in initial_extra]
    n_cell, n_extra = len(initial_state), len(initial_extra)
    coverage = float(getattr(layer, "coverage_penalty_weight", 0.0))
    if coverage != 0.0:   # initialize(): the initial cell state's alignments (zeros)
        states.append(ops.zeros((batch * k, memory_steps)))
    first = ops.arange(k)[None, :] == 0                                              # [1, beam]
    finished = ops.logical_not(first) | ops.zeros((batch, k), "bool")                 # beam 0 live
    log_probs = ops.where(first, 0.0, float("-inf")) + ops.zeros((batch, k))
    lengths = ops.zeros((batch, k), "int32")
    x = embed_ids(layer.embedding, ops.reshape(ops.tile(start_tokens[:, None], (1, k)), (-1,)))   # [B * beam, E]
    ids_buf, parents_buf = step_buffer(steps_max, (batch, k), "int32"), step_buffer(steps_max, (batch, k), "int32")
    scores_buf = step_buffer(steps_max, (batch, k))
    is_end = ops.equal(ops.arange(vocab, dtype="int32"), end)                          # [V]
    finished_row = ops.where(is_end, 0.0, FLOAT32_MIN)
    offsets = ops.expand_dims(ops.arange(batch, dtype="int32") * k, 1)                # [B, 1]: row b's first beam

    def split(t):
        return ops.reshape(t, (batch, k) + tuple(t.shape[1:]))

    def rows(t, parent):
        """A merged `[B * beam, ...]` state reordered by `parent` `[B, beam]`."""
        return embed_ids(t, ops.reshape(parent + offsets, (-1,)))

    def beams(t, parent):
        """A `[B, beam]` tensor reordered by `parent`."""
        return ops.reshape(rows(ops.reshape(t, (-1,)), parent), (batch, k))

    def cond(t, x, finished, dd_finished, log_probs, lengths, ids_buf, parents_buf, scores_buf, *states):
        return ops.logical_and(t < steps_max, ops.logical_not(ops.all(dd_finished)))

    def body(t, x, finished, dd_finished, log_probs, lengths, ids_buf, parents_buf, scores_buf, *states):
        h, new, extra, alignments = step(x, list(states[:n_cell]), list(states[n_cell:n_cell + n_extra]))
        new = list(new) + list(extra)
        logits = h
        if output is not None:
            logits = dense_product(logits, *output)
        step_log_probs = ops.log_softmax(split(logits), axis=-1)                        # [B, beam, V]
        step_log_probs = ops.where(finished[:, :, None], finished_row, step_log_probs)
        total = log_probs[:, :, None] + step_log_probs
        not_finished = ops.logical_not(finished)
        scores = total
        if layer.length_penalty_weight != 0.0:
            add = ops.where(is_end, 0, 1)[None, None, :] * ops.cast(not_finished, "int32")[:, :, None]
            w = layer.length_penalty_weight
            penalty = ops.divide((5.0 + ops.cast(lengths[:, :, None] + add, "float32")) ** w, 6.0 ** w)
            scores = total / penalty
        if coverage != 0.0:   # _get_scores: sum(log(min(accumulated, 1))) (0 read as 1) of finished beams
            accumulated = states[-1] + alignments * ops.reshape(ops.cast(not_finished, "float32"), (-1, 1))
            new.append(accumulated)
            acc = ops.where(ops.equal(accumulated, 0.0), ops.ones_like(accumulated), accumulated)
            penalty = split(ops.sum(ops.log(ops.minimum(acc, 1.0)), axis=1)) * ops.cast(finished, "float32")
            scores = scores + ops.expand_dims(penalty * coverage, 2)
        next_scores, index = ops.top_k(ops.reshape(scores, (batch, -1)), k)
        index = ops.cast(index, "int32")
        next_log_probs = ops.reshape(embed_ids(ops.reshape(total, (-1,)), ops.reshape(index + offsets * vocab, (-1,))),
                                     (batch, k))
        word = index % vocab
        parent = index // vocab
        prev_finished = beams(finished, parent)
        next_finished = ops.logical_or(prev_finished, ops.equal(word, end))
        next_lengths = beams(lengths, parent) + ops.cast(ops.logical_not(prev_finished), "int32")
        new = [rows(s, parent) for s in new]
        ids_buf = write_step(ids_buf, t, word)
        parents_buf = write_step(parents_buf, t, parent)
        scores_buf = write_step(scores_buf, t, next_scores)
        x = embed_ids(layer.embedding, ops.reshape(word, (-1,)))
        dd = ops.logical_or(next_finished, t + 1 >= steps_max)
        return (t + 1, x, next_finished, dd, next_log_probs, next_lengths, ids_buf, parents_buf, scores_buf, *new)

    res = decode_loop(cond, body, (ops.convert_to_tensor(0, "int32"), x, finished, finished, log_probs, lengths,
                                   ids_buf, parents_buf, scores_buf, *states), steps_max)
    n = res[0]
    return [keep_steps(stacked(res[6]), n), keep_steps(stacked(res[7]), n), keep_steps(stacked(res[8]), n),
            res[5], res[4]]


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class BeamSearchDecoder(GreedyDecoder):
    """contrib.seq2seq `BeamSearchDecoder(cells, embedding, start_tokens, end_token, tile_batch(state), beam_width,
    output_layer, length_penalty_weight)` under `dynamic_decode(maximum_iterations=N)`.

    Args:
        families / units / vocab_size / embedding_dim / output_size / use_bias: as `GreedyDecoder` (same weights).
        beam_width: hypotheses kept per row.
        length_penalty_weight: float (0: none).

    Call arguments:
        maximum_iterations: int scalar. start_tokens: int `[B]`. end_token: int scalar.
        initial_state: flat list of the cells' states per beam, `[B, beam, units]` each (`tile_batch`ed and split,
            as the TF1 loop starts with them), or None (zeros).

    Returns:
        `[step_ids [T, B, beam] int32, parent_ids [T, B, beam] int32, scores [T, B, beam], lengths [B, beam] int32,
        log_probs [B, beam]]`: time major, as `dynamic_decode` stacks them before `finalize`; `tfm.gather_tree(
        step_ids, parent_ids, max(lengths, axis=1), end_token)` gives the hypotheses.

    Example:
        >>> import numpy as np
        >>> layer = BeamSearchDecoder(["gru"], [4], vocab_size=7, embedding_dim=3, output_size=7, beam_width=2)
        >>> ids, parents, scores, lengths, _ = layer(np.array(5), start_tokens=np.array([1, 1]), end_token=2)
        >>> tuple(ids.shape)[1:], tuple(lengths.shape)
        ((2, 2), (2, 2))
    """

    def __init__(self, families, units, vocab_size, embedding_dim, output_size=None, use_bias=True, beam_width=1,
                 length_penalty_weight=0.0, **kwargs):
        kwargs.pop("impute_finished", None)
        super().__init__(families, units, vocab_size, embedding_dim, output_size, use_bias, False, **kwargs)
        self.beam_width, self.length_penalty_weight = int(beam_width), float(length_penalty_weight)

    def call(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None, training=False):
        check_bound(self)
        return run_traced(self, self._beam, maximum_iterations, start_tokens=start_tokens, end_token=end_token,
                          initial_state=initial_state)

    def _beam(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None):
        from tf_migrate_runtime.layers.attention import cell_step  # noqa: PLC0415

        cells = loop_cells(self.families, self.cell_weights)

        def step(x, states, extra):
            h, new, j = x, [], 0
            for fam, w in zip(self.families, cells):
                n = 2 if fam == "lstm" else 1
                h, st = cell_step(fam, w, h, states[j:j + n])
                new += st
                j += n
            return h, new, [], None

        output = (self.kernel, self.bias) if self.kernel is not None else None
        return beam_loop(self, maximum_iterations, start_tokens, end_token, initial_state, step, output,
                         self.output_size or self.units[-1])

    def compute_output_spec(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None,
                            training=False):
        b = start_tokens.shape[0] if start_tokens is not None and hasattr(start_tokens, "shape") else None
        k = self.beam_width
        return [keras.KerasTensor((None, b, k), "int32"), keras.KerasTensor((None, b, k), "int32"),
                keras.KerasTensor((None, b, k)), keras.KerasTensor((b, k), "int32"), keras.KerasTensor((b, k))]

    def get_config(self):
        config = super().get_config()
        config.pop("impute_finished", None)
        config.update(beam_width=self.beam_width, length_penalty_weight=self.length_penalty_weight)
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class BeamSearchAttentionDecoder(GreedyAttentionDecoder):
    """contrib.seq2seq `BeamSearchDecoder(AttentionWrapper(cells, LuongAttention / BahdanauAttention, ...),
    embedding, start_tokens, end_token, tile_batch(state) as the wrapper's cell state, beam_width, output_layer,
    length_penalty_weight, coverage_penalty_weight)` under `dynamic_decode(maximum_iterations=N)`.

    The beam step of `BeamSearchDecoder` around the `AttentionDecoder` step: the cells read `concat([embedded
    word, attention])`, the mechanism scores the top cell's output over the (tiled) memory, and the attention
    vector is a per-beam state reordered by the parent beams after `top_k` like the cell states (contrib's
    `_maybe_tensor_gather_helper`). With `coverage_penalty_weight` (TF 1.13+), each beam accumulates its
    alignments while unfinished (reordered by parent too), and a finished beam's score gains
    `coverage_penalty_weight * sum(log(min(accumulated, 1)))` (an entry never attended, 0, counts as 1).

    Args (besides `GreedyAttentionDecoder`'s, same weights in the same order):
        beam_width: hypotheses kept per row.  length_penalty_weight: float (0: none).
        coverage_penalty_weight: float (0: none).

    Call arguments:
        maximum_iterations: int scalar. start_tokens: int `[B]`. end_token: int scalar.
        memory: `[B * beam, S, memory_dim]` and memory_lengths: int `[B * beam]` or None: `tile_batch`ed, as the
            TF1 mechanism holds them.
        initial_state: flat list of the cells' states per beam, `[B, beam, units]` each, or None (zeros).

    Returns:
        As `BeamSearchDecoder`: `[step_ids [T, B, beam], parent_ids [T, B, beam], scores [T, B, beam], lengths
        [B, beam], log_probs [B, beam]]`; `tfm.gather_tree` back-tracks them.

    Example:
        >>> import numpy as np
        >>> layer = BeamSearchAttentionDecoder(["lstm"], [4], 3, 5, "luong", 4, vocab_size=7, output_size=7,
        ...                                    beam_width=2, coverage_penalty_weight=0.2)
        >>> memory = np.ones((2 * 2, 6, 5), "float32")
        >>> ids, parents, scores, lengths, _ = layer(np.array(5), start_tokens=np.array([1, 1]), end_token=2,
        ...                                          memory=memory, memory_lengths=np.array([6, 6, 3, 3]))
        >>> tuple(ids.shape)[1:], tuple(lengths.shape)
        ((2, 2), (2, 2))
    """

    def __init__(self, *args, beam_width=1, length_penalty_weight=0.0, coverage_penalty_weight=0.0, **kwargs):
        kwargs.pop("impute_finished", None)
        super().__init__(*args, **kwargs)
        self.beam_width, self.length_penalty_weight = int(beam_width), float(length_penalty_weight)
        self.coverage_penalty_weight = float(coverage_penalty_weight)

    def call(self, maximum_iterations, start_tokens=None, end_token=None, memory=None, memory_lengths=None,
             initial_state=None, training=False):
        check_bound(self)
        return run_traced(self, self._beam, maximum_iterations, start_tokens=start_tokens, end_token=end_token,
                          memory=memory, memory_lengths=memory_lengths, initial_state=initial_state)

    def _beam(self, maximum_iterations, start_tokens=None, end_token=None, memory=None, memory_lengths=None,
              initial_state=None):
        smask, values, keys = self._memory(memory, memory_lengths)
        cells = loop_cells(self.families, self.cell_weights)

        def step(x, states, extra):
            h, new, alignments, attention = self._attend(x, extra[0], states, keys, values, smask, cells)
            return (attention if self.output_attention else h), new, [attention], alignments

        width = self.attention_width if self.output_attention else self.units[-1]
        output = (self.out_kernel, self.out_bias) if self.out_kernel is not None else None
        return beam_loop(self, maximum_iterations, start_tokens, end_token, initial_state, step, output,
                         self.output_size or width, initial_extra=(self.attention_width,),
                         memory_steps=ops.shape(memory)[1])

    def compute_output_spec(self, maximum_iterations, start_tokens=None, end_token=None, memory=None,
                            memory_lengths=None, initial_state=None, training=False):
        b = start_tokens.shape[0] if start_tokens is not None and hasattr(start_tokens, "shape") else None
        k = self.beam_width
        return [keras.KerasTensor((None, b, k), "int32"), keras.KerasTensor((None, b, k), "int32"),
                keras.KerasTensor((None, b, k)), keras.KerasTensor((b, k), "int32"), keras.KerasTensor((b, k))]

    def get_config(self):
        config = super().get_config()
        config.pop("impute_finished", None)
        config.update(beam_width=self.beam_width, length_penalty_weight=self.length_penalty_weight,
                      coverage_penalty_weight=self.coverage_penalty_weight)
        return config


__all__ = ["BeamSearchAttentionDecoder", "BeamSearchDecoder", "beam_loop"]
