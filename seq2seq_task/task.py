"""One entry point for the data every trainer, the demo and the parity suite use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seq2seq_task import dates
from seq2seq_task.batching import read_tsv
from seq2seq_task.vocab import Vocab


@dataclass(frozen=True)
class TaskData:
    """Splits plus the vocabularies that encode them."""

    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    test: list[tuple[str, str]]
    src_vocab: Vocab
    tgt_vocab: Vocab
    name: str

    @property
    def max_src_len(self) -> int:
        return max(len(s) for s, _ in self.train + self.valid + self.test)

    @property
    def max_tgt_len(self) -> int:
        return max(len(t) for _, t in self.train + self.valid + self.test)


def load_task(tsv: str | None = None, seed: int = 1234, train_size: int = 20000,
              valid_size: int = 1000, test_size: int = 1000) -> TaskData:
    """The embedded date task, or the pairs of a TSV file split 90/5/5 with `seed`."""
    if tsv is None:
        s = dates.make_splits(seed, train_size, valid_size, test_size)
        return TaskData(s.train, s.valid, s.test, dates.SOURCE_VOCAB, dates.TARGET_VOCAB, "dates")
    pairs = read_tsv(tsv)
    order = np.random.RandomState(seed).permutation(len(pairs))
    pairs = [pairs[i] for i in order]
    n_eval = max(1, len(pairs) // 20) if len(pairs) >= 3 else 0
    test = pairs[:n_eval]
    valid = pairs[n_eval:2 * n_eval]
    train = pairs[2 * n_eval:]
    return TaskData(train, valid or train, test or train,
                    Vocab.from_texts(s for s, _ in pairs), Vocab.from_texts(t for _, t in pairs), tsv)
