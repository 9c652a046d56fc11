"""`tf.data` pipelines of padded batches for `model.fit`, from the shared embedded task."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seq2seq_task import Batch, Vocab, iterate_batches


def pad_to(ids: np.ndarray, length: int | None) -> np.ndarray:
    """Zero-pad `ids` `[B, n]` on the right to `[B, length]` (no-op for None or n >= length)."""
    if length is None or ids.shape[1] >= length:
        return ids
    return np.pad(ids, ((0, 0), (0, length - ids.shape[1])))


def batch_to_inputs(batch: Batch, fixed_shape: tuple[int, int] | None = None):
    """A `seq2seq_task.Batch` -> `(x, y)` for the port: x = {"encoder_ids", "decoder_ids"}, y = targets.

    `fixed_shape=(S, T)` pads sources to S and decoder ids / targets to T columns. Extra padding
    changes no valid logit and no loss (masks come from `ids != 0`); it gives XLA one shape to
    compile instead of one per batch.
    """
    s_len, t_len = fixed_shape or (None, None)
    return ({"encoder_ids": pad_to(batch.encoder_ids, s_len), "decoder_ids": pad_to(batch.decoder_input_ids, t_len)},
            pad_to(batch.decoder_target_ids, t_len))


def make_dataset(pairs, src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int, shuffle: bool = False,
                 seed: int = 0, max_src_len: int | None = None, max_tgt_len: int | None = None,
                 drop_remainder: bool = False, fixed_shape: tuple[int, int] | None = None) -> tf.data.Dataset:
    """Padded batches (0 = padding) of `pairs`, exactly the `seq2seq_task.iterate_batches` batches.

    The legacy trainer feeds `iterate_batches` through placeholders; this feeds the same
    arrays through `tf.data.Dataset.from_generator`, so both see identical batches for a seed.
    With `shuffle=True` the order is redrawn every epoch (seed + epoch), like the legacy loop.
    `fixed_shape=(S, T)`: every batch padded to S source / T target columns (see `batch_to_inputs`).

    Returns:
        A dataset of `({"encoder_ids": int32 [B, S], "decoder_ids": int32 [B, T]}, int32 [B, T])`.
    """
    epoch = {"n": 0}

    def gen():
        s = seed + epoch["n"]
        epoch["n"] += 1
        for batch in iterate_batches(pairs, src_vocab, tgt_vocab, batch_size, shuffle=shuffle, seed=s,
                                     drop_remainder=drop_remainder, max_src_len=max_src_len,
                                     max_tgt_len=max_tgt_len):
            yield batch_to_inputs(batch, fixed_shape)

    spec = ({"encoder_ids": tf.TensorSpec([None, None], tf.int32),
             "decoder_ids": tf.TensorSpec([None, None], tf.int32)}, tf.TensorSpec([None, None], tf.int32))
    return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(2)


def sequence_accuracy(predictions: np.ndarray, pairs, tgt_vocab: Vocab) -> float:
    """Share of rows whose decoded string equals the reference target exactly."""
    hits = sum(tgt_vocab.decode(row) == target for row, (_, target) in zip(predictions, pairs))
    return hits / max(1, len(pairs))
