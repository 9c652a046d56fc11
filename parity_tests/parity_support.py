"""Helpers of the parity suite: the embedded task, tiny hparams, one `ParityPair` per variant.

Building a legacy graph pair (train + infer) and a port costs seconds, so every variant is built once
per process (`pair_for`) and shared by the matrix, the trained-weights run and the mutation tests;
tests that change a port's weights restore them (`ParityPair.set_legacy_weights`).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from migrate.quiet import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

from seq2seq_task import HParams, load_task  # noqa: E402

# Tiny and all different, so a transposed or mis-split matrix cannot fit by accident.
EMBEDDING, UNITS, ATTENTION_LAYER = 5, 6, 7
BATCH_ROWS = 6

_TASK = None
_PAIRS: dict = {}      # insertion order = least recently used first
MAX_PAIRS = 4          # live pairs (each holds two graphs, two sessions and a port); older ones are closed


def task():
    global _TASK
    if _TASK is None:
        _TASK = load_task(train_size=400, valid_size=20, test_size=100)
    return _TASK


def make_hparams(cell: str, layers: int, encoder: str, attention: str, forget_bias: float, **extra) -> HParams:
    t = task()
    values = dict(src_vocab_size=t.src_vocab.size, tgt_vocab_size=t.tgt_vocab.size, embedding_size=EMBEDDING,
                  num_units=UNITS, cell_type=cell, num_layers=layers, encoder_type=encoder, attention=attention,
                  attention_layer_size=ATTENTION_LAYER, forget_bias=forget_bias, batch_size=BATCH_ROWS,
                  max_src_len=t.max_src_len, max_tgt_len=t.max_tgt_len, learning_rate=0.02,
                  max_gradient_norm=1.0)  # small enough that clipping is active on random weights
    values.update(extra)
    return HParams(**values)


def pair_for(hparams: HParams, greedy: bool = True):
    """The process-wide `ParityPair` of `hparams` (built on first use; the least recently used of more
    than `MAX_PAIRS` is closed)."""
    from migrate.parity.harness import ParityPair  # noqa: PLC0415

    key = (repr(sorted(hparams.to_dict().items(), key=lambda kv: kv[0])), greedy)
    if key in _PAIRS:
        _PAIRS[key] = _PAIRS.pop(key)  # most recently used last
    else:
        while len(_PAIRS) >= MAX_PAIRS:
            _PAIRS.pop(next(iter(_PAIRS))).close()
        _PAIRS[key] = ParityPair(hparams, greedy=greedy)
    return _PAIRS[key]


# (cell, layers, encoder, attention, forget_bias): an all-pairs covering array of the factors of
# parity_tests/test_matrix.py (checked there); one row per (cell, attention).
MATRIX = [
    ("lstm", 2, "bi", "none", 1.0),
    ("basic_lstm", 2, "uni", "none", 0.8),
    ("gru", 1, "uni", "none", 0.8),
    ("lstm", 1, "uni", "luong", 1.0),
    ("basic_lstm", 1, "bi", "luong", 0.8),
    ("gru", 2, "uni", "luong", 0.8),
    ("lstm", 2, "bi", "scaled_luong", 0.8),
    ("basic_lstm", 1, "uni", "scaled_luong", 0.8),
    ("gru", 2, "uni", "scaled_luong", 1.0),
    ("lstm", 1, "bi", "bahdanau", 0.8),
    ("basic_lstm", 2, "bi", "bahdanau", 1.0),
    ("gru", 2, "uni", "bahdanau", 1.0),
    ("lstm", 2, "uni", "normalized_bahdanau", 1.0),
    ("basic_lstm", 2, "bi", "normalized_bahdanau", 0.8),
    ("gru", 1, "bi", "normalized_bahdanau", 1.0),
]


def row_id(row) -> str:
    cell, layers, encoder, attention, fb = row
    return f"{cell}-L{layers}-{encoder}-{attention}-fb{fb}"


def hparams_of(row) -> HParams:
    """A matrix row's hparams; the row index also varies the wrapper options and the projection."""
    i = MATRIX.index(row)
    extra = {"attention_layer_size": None if i % 3 == 0 else ATTENTION_LAYER, "output_attention": i % 4 != 1,
             "projection": "slim" if i % 5 == 2 else "dense"}
    return make_hparams(*row, **extra)


def batches_for(hparams: HParams, n: int = 2, seed: int = 0):
    """Task batches and random-id batches alternating; variable lengths, a length-1 source row."""
    from migrate.parity.harness import parity_batches  # noqa: PLC0415

    t = task()
    return parity_batches(hparams, n, seed, BATCH_ROWS, t.src_vocab, t.tgt_vocab)


