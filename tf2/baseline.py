"""The seed's simple baseline: a `keras.Sequential` encoder-decoder (no legacy counterpart).

    ids [B, S] -> Embedding(mask_zero) -> LSTM (final state) -> RepeatVector(decode_max_steps)
               -> LSTM(return_sequences) -> TimeDistributed(Dense(tgt_vocab_size)) -> logits [B, N, V]

The decoder sees only the repeated sentence vector (no teacher forcing, no attention), so it
trains on `decoder_target_ids` padded to `N = hparams.decode_max_steps` with the same
`SequenceLoss`, and decodes with one forward pass and an argmax per position. It exists as the
smallest working Keras 3 reference; the `Seq2Seq` model is the port of the legacy graph.
"""

from __future__ import annotations

import keras
import numpy as np

from seq2seq_task import EOS_ID, PAD_ID, HParams


def build_baseline(hparams: HParams) -> keras.Sequential:
    """The Sequential baseline for `hparams` (uses vocab sizes, embedding_size, num_units).

    Example:

    >>> hp = HParams(src_vocab_size=20, tgt_vocab_size=15, embedding_size=8, num_units=8)
    >>> tuple(build_baseline(hp)(np.ones((2, 6), "int32")).shape)
    (2, 13, 15)
    """
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32", name="encoder_ids"),
        keras.layers.Embedding(hparams.src_vocab_size, hparams.embedding_size, mask_zero=True, name="embedding"),
        keras.layers.LSTM(hparams.num_units, name="encoder"),
        keras.layers.RepeatVector(hparams.decode_max_steps, name="repeat"),
        keras.layers.LSTM(hparams.num_units, return_sequences=True, name="decoder"),
        keras.layers.TimeDistributed(keras.layers.Dense(hparams.tgt_vocab_size), name="projection"),
    ], name="baseline")


def pad_targets(target_ids: np.ndarray, steps: int) -> np.ndarray:
    """`decoder_target_ids` `[B, T]` -> `[B, steps]` (zero-padded or truncated)."""
    out = np.zeros((target_ids.shape[0], steps), np.int32)
    n = min(steps, target_ids.shape[1])
    out[:, :n] = target_ids[:, :n]
    return out


def baseline_decode(model: keras.Model, encoder_ids: np.ndarray) -> np.ndarray:
    """Argmax ids `[B, N]` in the greedy format: up to and including the first `</s>`, then 0."""
    ids = np.argmax(model.predict(encoder_ids, verbose=0), axis=-1).astype(np.int32)
    done = np.cumsum(ids == EOS_ID, axis=1) - (ids == EOS_ID) > 0  # True after the first </s>
    ids[done] = PAD_ID
    return ids
