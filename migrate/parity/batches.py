"""Batches for the legacy/port pair: padded random ids or the embedded task's test split (inputs generation).

`random_batch` draws ids in [4, vocab) with variable lengths (row 0 full, row 1 short); `parity_batches` mixes
task batches and random ones. The graph path's inputs come from `migrate.parity.graph_inputs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from migrate.parity.checks import stack_padded  # noqa: F401  (re-exported: one definition)
from seq2seq_task import EOS_ID, SOS_ID, Batch, HParams, Vocab, load_task, make_batch


def _pad(rows: Sequence[Sequence[int]]) -> np.ndarray:
    out = np.zeros((len(rows), max(1, max(len(r) for r in rows))), np.int32)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def random_batch(rng: np.random.RandomState, hparams: HParams, batch_size: int, src_len: int | None = None,
                 tgt_len: int | None = None, src_lengths: Sequence[int] | None = None,
                 tgt_lengths: Sequence[int] | None = None) -> Batch:
    """A padded batch of random ids (4 .. vocab-1) with variable lengths; row 0 is full-length, row 1 short.

    Explicit `src_lengths` (>= 1) / `tgt_lengths` (target tokens without `</s>`, >= 0) override the draw.
    """
    s_max = src_len or hparams.max_src_len
    t_max = tgt_len or hparams.max_tgt_len
    if src_lengths is None:
        src_lengths = rng.randint(1, s_max + 1, batch_size)
        src_lengths[0] = s_max
        if batch_size > 1:
            src_lengths[1] = 1
    if tgt_lengths is None:
        tgt_lengths = rng.randint(0, t_max + 1, batch_size)
        tgt_lengths[0] = t_max
        if batch_size > 1:
            tgt_lengths[1] = 0
    if min(src_lengths) < 1:
        raise ValueError(f"source lengths {list(src_lengths)}: every source needs at least 1 token")
    src = [list(rng.randint(4, hparams.src_vocab_size, int(n))) for n in src_lengths]
    tgt = [list(rng.randint(4, hparams.tgt_vocab_size, int(n))) for n in tgt_lengths]
    return Batch(encoder_ids=_pad(src), encoder_lengths=np.array([len(x) for x in src], np.int32),
                 decoder_input_ids=_pad([[SOS_ID] + t for t in tgt]),
                 decoder_target_ids=_pad([t + [EOS_ID] for t in tgt]),
                 target_lengths=np.array([len(t) + 1 for t in tgt], np.int32))


def parity_batches(hparams: HParams, n: int, seed: int = 0, batch_size: int | None = None,
                   src_vocab: Vocab | None = None, tgt_vocab: Vocab | None = None) -> list[Batch]:
    """`n` padded batches: from the embedded task's test split when the model's vocabularies are given
    (every second batch then random ids), else random ids; variable lengths in every batch."""
    rng = np.random.RandomState(seed)
    size = int(batch_size or min(hparams.batch_size, 8))
    out: list[Batch] = []
    pairs = None
    if src_vocab is not None and tgt_vocab is not None:
        pairs = load_task(seed=1234, train_size=1, valid_size=1, test_size=max(64, n * size)).test
    for i in range(n):
        if pairs is not None and i % 2 == 0:
            idx = rng.choice(len(pairs), size, replace=False)
            out.append(make_batch([pairs[j] for j in idx], src_vocab, tgt_vocab, hparams.max_src_len,
                                  hparams.max_tgt_len))
        else:
            out.append(random_batch(rng, hparams, size))
    return out
