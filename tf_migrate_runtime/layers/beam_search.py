"""`BeamSearchDecoder`: contrib.seq2seq `dynamic_decode(BeamSearchDecoder(...), maximum_iterations=N)` as one layer
(keras.ops only: every backend), contrib's `_beam_search_step` in the same op order so that the ids match exactly.

Each step: the stacked cells on the `[B * beam]` rows, the output layer, `log_softmax`; a finished beam puts all its
mass on `end_token` (0 there, the dtype's minimum elsewhere); plus the beam's running log-probability; scores =
that / `((5 + length) / 6) ** length_penalty_weight` (not divided when the weight is 0); `top_k` over the flattened
`[B, beam * V]` scores: word = index mod V, parent = index // V; the log-probs, finished flags, lengths and cell
states are gathered from the parents. At step 0 only beam 0 is live (the others start finished at -inf). The loop
stops when every beam is finished or after `maximum_iterations` steps. Back-tracking (`gather_tree`) is
`tfm.GatherTree`, as contrib's `finalize` runs it after the loop.
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.decoder import (
    GreedyDecoder,
    decode_loop,
    dense_product,
    keep_steps,
    run_traced,
    stacked,
    static_steps,
    step_buffer,
    write_step,
)


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
        return run_traced(self, self._beam, maximum_iterations, start_tokens=start_tokens, end_token=end_token,
                          initial_state=initial_state)

    def _beam(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None):
        from tf_migrate_runtime.layers.attention import cell_step, loop_cells  # noqa: PLC0415

        k = self.beam_width
        start_tokens = ops.cast(start_tokens, "int32")
        if len(start_tokens.shape) == 2:   # the tiled [B, beam] tokens the TF1 loop starts from
            start_tokens = start_tokens[:, 0]
        end = ops.cast(end_token, "int32")
        batch = ops.shape(start_tokens)[0]
        steps_max = static_steps(maximum_iterations, "BeamSearchDecoder")
        vocab = self.output_size or self.units[-1]
        if initial_state is None:
            initial_state = []
            for fam, u in zip(self.families, self.units):
                initial_state += [ops.zeros((batch, k, u))] * (2 if fam == "lstm" else 1)
        states = list(initial_state)
        first = ops.arange(k)[None, :] == 0                                              # [1, beam]
        finished = ops.logical_not(first) | ops.zeros((batch, k), "bool")                 # beam 0 live
        log_probs = ops.where(first, 0.0, float("-inf")) + ops.zeros((batch, k))
        lengths = ops.zeros((batch, k), "int32")
        x = ops.take(self.embedding, ops.tile(start_tokens[:, None], (1, k)), axis=0)      # [B, beam, E]
        ids_buf, parents_buf = step_buffer(steps_max, (batch, k), "int32"), step_buffer(steps_max, (batch, k), "int32")
        scores_buf = step_buffer(steps_max, (batch, k))
        is_end = ops.equal(ops.arange(vocab, dtype="int32"), end)                          # [V]
        finished_row = ops.where(is_end, 0.0, -3.4028234663852886e38)   # float32's minimum, as contrib

        def merge(t):
            return ops.reshape(t, (-1,) + tuple(t.shape[2:]))

        def split(t):
            return ops.reshape(t, (batch, k) + tuple(t.shape[1:]))

        cells = loop_cells(self.families, self.cell_weights)

        def cond(t, x, finished, dd_finished, log_probs, lengths, ids_buf, parents_buf, scores_buf, *states):
            return ops.logical_and(t < steps_max, ops.logical_not(ops.all(dd_finished)))

        def body(t, x, finished, dd_finished, log_probs, lengths, ids_buf, parents_buf, scores_buf, *states):
            h, new, j = merge(x), [], 0
            for fam, w in zip(self.families, cells):
                n = 2 if fam == "lstm" else 1
                h, st = cell_step(fam, w, h, [merge(s) for s in states[j:j + n]])
                new += [split(s) for s in st]
                j += n
            logits = h
            if self.kernel is not None:
                logits = dense_product(logits, self.kernel, self.bias)
            step_log_probs = ops.log_softmax(split(logits), axis=-1)                        # [B, beam, V]
            step_log_probs = ops.where(finished[:, :, None], finished_row, step_log_probs)
            total = log_probs[:, :, None] + step_log_probs
            add = ops.where(is_end, 0, 1)[None, None, :] * ops.cast(ops.logical_not(finished), "int32")[:, :, None]
            scores = total
            if self.length_penalty_weight != 0.0:
                w = self.length_penalty_weight
                penalty = ops.divide((5.0 + ops.cast(lengths[:, :, None] + add, "float32")) ** w, 6.0 ** w)
                scores = total / penalty
            next_scores, index = ops.top_k(ops.reshape(scores, (batch, -1)), k)
            next_log_probs = ops.take_along_axis(ops.reshape(total, (batch, -1)), index, axis=1)
            word = ops.cast(index % vocab, "int32")
            parent = ops.cast(index // vocab, "int32")
            prev_finished = ops.take_along_axis(finished, parent, axis=1)
            next_finished = ops.logical_or(prev_finished, ops.equal(word, end))
            next_lengths = ops.take_along_axis(lengths, parent, axis=1) + ops.cast(
                ops.logical_not(prev_finished), "int32")
            new = [ops.take_along_axis(s, ops.broadcast_to(parent[:, :, None], ops.shape(s)), axis=1) for s in new]
            ids_buf = write_step(ids_buf, t, word)
            parents_buf = write_step(parents_buf, t, parent)
            scores_buf = write_step(scores_buf, t, next_scores)
            x = ops.take(self.embedding, word, axis=0)
            dd = ops.logical_or(next_finished, t + 1 >= steps_max)
            return (t + 1, x, next_finished, dd, next_log_probs, next_lengths, ids_buf, parents_buf, scores_buf,
                    *new)

        res = decode_loop(cond, body, (ops.convert_to_tensor(0, "int32"), x, finished, finished, log_probs, lengths,
                                       ids_buf, parents_buf, scores_buf, *states), steps_max)
        n = res[0]
        return [keep_steps(stacked(res[6]), n), keep_steps(stacked(res[7]), n), keep_steps(stacked(res[8]), n),
                res[5], res[4]]

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


__all__ = ["BeamSearchDecoder"]
