"""Padded batches for `model.fit` from the shared embedded task: a `keras.utils.PyDataset` of NumPy arrays.

The same batches feed every Keras backend: JAX and PyTorch read the PyDataset; on TensorFlow
`make_dataset` passes its batches through `tf2.backend.fit_data` (a generator `tf.data` pipeline with
open shapes). No framework is imported here.
"""

from __future__ import annotations

import keras
import numpy as np

from seq2seq_task import Batch, Vocab, iterate_batches
from tf2.backend import fit_data


def pad_to(ids: np.ndarray, length: int | None) -> np.ndarray:
    """Zero-pad `ids` `[B, n]` on the right to `[B, length]` (no-op for None or n >= length)."""
    if length is None or ids.shape[1] >= length:
        return ids
    return np.pad(ids, ((0, 0), (0, length - ids.shape[1])))


def batch_to_inputs(batch: Batch, fixed_shape: tuple[int, int] | None = None):
    """A `seq2seq_task.Batch` -> `(x, y)` for the port: x = {"encoder_ids", "decoder_ids"}, y = targets.

    `fixed_shape=(S, T)` pads sources to S and decoder ids / targets to T columns. Extra padding
    changes no valid logit and no loss (masks come from `ids != 0`); it gives XLA (TensorFlow with
    `jit_compile`, and JAX always) one shape to compile instead of one per batch.
    """
    s_len, t_len = fixed_shape or (None, None)
    return ({"encoder_ids": pad_to(batch.encoder_ids, s_len), "decoder_ids": pad_to(batch.decoder_input_ids, t_len)},
            pad_to(batch.decoder_target_ids, t_len))


class TaskBatches(keras.utils.PyDataset):
    """The `seq2seq_task.iterate_batches` batches of `pairs`, epoch after epoch, as `(x, y)` NumPy pairs.

    Epoch `e` is shuffled with `seed + e` (when `shuffle`), exactly as the legacy training loop draws
    it; the dataset owns that order, so `Seq2Seq.fit` does not reshuffle it (it passes
    `shuffle=False` for a `TaskBatches`; pass it yourself to other models' `fit`). With
    `repeat=True` the epochs run on without end (`num_batches` None; give `fit` a `steps_per_epoch`).
    """

    keeps_order = True

    def __init__(self, pairs, src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int, shuffle: bool = False,
                 seed: int = 0, max_src_len: int | None = None, max_tgt_len: int | None = None,
                 drop_remainder: bool = False, fixed_shape: tuple[int, int] | None = None, repeat: bool = False):
        super().__init__()
        self._args = (pairs, src_vocab, tgt_vocab, batch_size)
        self._kwargs = dict(shuffle=shuffle, drop_remainder=drop_remainder, max_src_len=max_src_len,
                            max_tgt_len=max_tgt_len)
        self.seed, self.fixed_shape, self.repeat = seed, fixed_shape, repeat
        self.epoch = 0
        self._batches = self._epoch_batches(0)
        if not self._batches:
            raise ValueError(f"{len(pairs)} pairs make no batch of {batch_size} (drop_remainder={drop_remainder})")

    def _epoch_batches(self, epoch):
        self._built_epoch = epoch
        return [batch_to_inputs(b, self.fixed_shape)
                for b in iterate_batches(*self._args, seed=self.seed + epoch, **self._kwargs)]

    @property
    def num_batches(self):
        return None if self.repeat else len(self._batches)

    def __len__(self):
        return len(self._batches)

    def __getitem__(self, index):
        if not self.repeat:
            return self._batches[index]
        epoch, index = divmod(index, len(self._batches))
        if epoch != self._built_epoch and self._kwargs["shuffle"]:
            self._batches = self._epoch_batches(epoch)
        return self._batches[index]

    def on_epoch_end(self):
        if not self.repeat and self._kwargs["shuffle"]:
            self.epoch += 1
            self._batches = self._epoch_batches(self.epoch)


def make_dataset(pairs, src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int, shuffle: bool = False,
                 seed: int = 0, max_src_len: int | None = None, max_tgt_len: int | None = None,
                 drop_remainder: bool = False, fixed_shape: tuple[int, int] | None = None,
                 repeat: bool = False):
    """Padded batches (0 = padding) of `pairs`, exactly the `seq2seq_task.iterate_batches` batches.

    The legacy trainer feeds `iterate_batches` through placeholders; this feeds the same arrays to
    `model.fit` on any backend, so both see identical batches for a seed. With `shuffle=True` the
    order is redrawn every epoch (seed + epoch), like the legacy loop. `fixed_shape=(S, T)`: every
    batch padded to S source / T target columns (see `batch_to_inputs`).

    Returns:
        Batches `({"encoder_ids": int32 [B, S], "decoder_ids": int32 [B, T]}, int32 [B, T])`: the
        `TaskBatches` on JAX and PyTorch, a `tf.data.Dataset` of its batches on TensorFlow
        (`tf2.backend.fit_data`).
    """
    return fit_data(TaskBatches(pairs, src_vocab, tgt_vocab, batch_size, shuffle=shuffle, seed=seed, max_src_len=max_src_len,
                       max_tgt_len=max_tgt_len, drop_remainder=drop_remainder, fixed_shape=fixed_shape, repeat=repeat))


def sequence_accuracy(predictions: np.ndarray, pairs, tgt_vocab: Vocab) -> float:
    """Share of rows whose decoded string equals the reference target exactly."""
    hits = sum(tgt_vocab.decode(row) == target for row, (_, target) in zip(predictions, pairs))
    return hits / max(1, len(pairs))
