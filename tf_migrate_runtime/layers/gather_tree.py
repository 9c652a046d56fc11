"""`gather_tree` / `GatherTree`: contrib.seq2seq's beam back-tracking op (`GatherTree`, TF 1.3-1.15
`contrib/seq2seq/kernels/beam_search_ops.cc`), which TensorFlow 2.21 no longer registers, in `keras.ops`.

Kernel semantics (TF 1.15, CPU and GPU alike), per batch row `b` and final beam `k`, with
`L = min(max_time, max_sequence_lengths[b])`:

- every step starts as `end_token`; a row with `L <= 0` stays so;
- `beams[L-1, b, k] = step_ids[L-1, b, k]`, then back along the parent pointers:
  `parent = parent_ids[t+1, b, parent]`, `beams[t, b, k] = step_ids[t, b, parent]` for t = L-2 .. 0;
- every step after the first `end_token` of a hypothesis is `end_token` ("a possibly broken trajectory").

The same function builds the graph `migrate` imports in place of a real `GatherTree` node (TF 2.21 cannot import
the node) and is what a converted model calls, on any Keras backend. (TF 1.3/1.4's kernel wrote -1 where TF 1.5+
writes `end_token`; 1.15's semantics are kept.)
"""

from __future__ import annotations

import keras
from keras import ops


def gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token):
    """Back-tracks beam search: `step_ids`, `parent_ids` int `[T, B, beam]`, `max_sequence_lengths` int `[B]`,
    `end_token` an int scalar -> int32 `[T, B, beam]`, each final beam's whole hypothesis (see the module doc).

    Example:
        >>> import numpy as np
        >>> ids = np.array([[[2, 5]], [[6, 3]], [[4, 7]]], "int32")       # [T=3, B=1, beam=2]
        >>> parents = np.array([[[0, 0]], [[1, 0]], [[0, 1]]], "int32")
        >>> ops.convert_to_numpy(gather_tree(ids, parents, np.array([3]), 9))[:, 0].T.tolist()
        [[5, 6, 4], [2, 3, 7]]
    """
    step_ids = ops.cast(step_ids, "int32")
    parent_ids = ops.cast(parent_ids, "int32")
    end = ops.cast(end_token, "int32")
    shape = ops.shape(step_ids)
    max_time, beam_width = shape[0], shape[2]
    lengths = ops.minimum(ops.cast(max_sequence_lengths, "int32"), max_time)[:, None]     # [B, 1]
    beams = ops.zeros_like(step_ids[0]) + ops.arange(beam_width, dtype="int32")[None, :]  # [B, beam]
    parent_ids = ops.clip(parent_ids, 0, beam_width - 1)   # the kernel refuses others; a valid tree never has them

    steps = ops.arange(max_time, dtype="int32")[:, None, None]                                # [T, 1, 1]

    def back(i, carry):   # t = T-1 .. 0; keras.ops.scan needs a static T on TensorFlow, a decode has none
        beam, out = carry
        t = max_time - 1 - i
        live = t < lengths
        ids_t = ops.take_along_axis(ops.take(step_ids, t, axis=0), beam, axis=1)
        out = ops.where(ops.equal(steps, t), ops.where(live, ids_t, end)[None], out)
        beam = ops.where(live, ops.take_along_axis(ops.take(parent_ids, t, axis=0), beam, axis=1), beam)
        return beam, out

    _, ids = ops.fori_loop(0, max_time, back, (beams, ops.zeros_like(step_ids) + end))
    ended = ops.cumsum(ops.cast(ops.equal(ids, end), "int32"), axis=0) - ops.cast(ops.equal(ids, end), "int32")
    return ops.where(ended > 0, end, ids)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class GatherTree(keras.layers.Layer):
    """contrib.seq2seq `gather_tree` (the `GatherTree` op) as a layer: `gather_tree(...)` above.

    Call arguments:
        step_ids, parent_ids: int `[T, B, beam]`. max_sequence_lengths: int `[B]`. end_token: int scalar.

    Returns:
        int32 `[T, B, beam]`: the back-tracked hypotheses.
    """

    def call(self, step_ids, parent_ids, max_sequence_lengths, end_token):
        from tf_migrate_runtime.layers.decoder import run_traced  # noqa: PLC0415

        return run_traced(self, gather_tree, step_ids, parent_ids, max_sequence_lengths, end_token)

    def compute_output_spec(self, step_ids, parent_ids, max_sequence_lengths, end_token):
        return keras.KerasTensor(step_ids.shape, dtype="int32")


__all__ = ["GatherTree", "gather_tree"]
