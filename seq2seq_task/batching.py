"""Padded batches with real variable lengths, the feed both the legacy graph and the port consume.

Layout of one batch (padding id 0, see `seq2seq_task.vocab`):

| field               | shape  | content                                            |
|---------------------|--------|----------------------------------------------------|
| encoder_ids         | [B, S] | source ids, 0-padded; S = longest source in batch   |
| encoder_lengths     | [B]    | number of real source ids                           |
| decoder_input_ids   | [B, T] | `<s>` + target ids, 0-padded                        |
| decoder_target_ids  | [B, T] | target ids + `</s>`, 0-padded                       |
| target_lengths      | [B]    | len(target) + 1 (= count of non-zero decoder ids)   |
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from seq2seq_task.vocab import EOS_ID, SOS_ID, Vocab


@dataclass(frozen=True)
class Batch:
    encoder_ids: np.ndarray
    encoder_lengths: np.ndarray
    decoder_input_ids: np.ndarray
    decoder_target_ids: np.ndarray
    target_lengths: np.ndarray

    @property
    def size(self) -> int:
        return int(self.encoder_ids.shape[0])


def _pad(seqs: Sequence[Sequence[int]]) -> np.ndarray:
    out = np.zeros((len(seqs), max(len(s) for s in seqs)), dtype=np.int32)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = s
    return out


def make_batch(pairs: Sequence[tuple[str, str]], src_vocab: Vocab, tgt_vocab: Vocab,
               max_src_len: int | None = None, max_tgt_len: int | None = None) -> Batch:
    """Encode and pad `pairs`; sources / targets longer than the maxima are truncated."""
    src = [src_vocab.encode(s)[:max_src_len] for s, _ in pairs]
    tgt = [tgt_vocab.encode(t)[:max_tgt_len] for _, t in pairs]
    return Batch(
        encoder_ids=_pad(src),
        encoder_lengths=np.array([len(s) for s in src], dtype=np.int32),
        decoder_input_ids=_pad([[SOS_ID] + t for t in tgt]),
        decoder_target_ids=_pad([t + [EOS_ID] for t in tgt]),
        target_lengths=np.array([len(t) + 1 for t in tgt], dtype=np.int32),
    )


def iterate_batches(pairs: Sequence[tuple[str, str]], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int,
                    shuffle: bool = False, seed: int = 0, drop_remainder: bool = False,
                    max_src_len: int | None = None, max_tgt_len: int | None = None) -> Iterator[Batch]:
    """One pass over `pairs` in batches; `shuffle` uses `seed`, so the same seed gives the same batches."""
    order = np.arange(len(pairs))
    if shuffle:
        np.random.RandomState(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        if drop_remainder and len(idx) < batch_size:
            return
        yield make_batch([pairs[i] for i in idx], src_vocab, tgt_vocab, max_src_len, max_tgt_len)


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and line."""


def read_tsv(path: str) -> list[tuple[str, str]]:
    """Read `source<TAB>target` lines; blank lines are skipped; anything else is an error naming the line."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file; expected a tab-separated file of source<TAB>target lines")
    pairs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise DataError(
                    f"{path}:{lineno}: expected 'source<TAB>target' (two non-empty fields), "
                    f"got {len(parts)} field(s): {line[:60]!r}")
            pairs.append((parts[0], parts[1]))
    if not pairs:
        raise DataError(f"{path}: no source<TAB>target pairs found")
    return pairs
