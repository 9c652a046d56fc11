"""Weight layout transforms TF1 <-> Keras 3 (pure NumPy, exact inverses): the names older code imports.

The knowledge lives in the cell-layout registry, `migrate.checkpoint.cell_layouts` (one module per layout:
LSTM, LSTMBlock, GRU, GRUBlock, each with its TF1 names, shapes, to_keras / to_tf1, gate tables and forget-bias
rule). This module re-exports the LSTM / GRU functions and tables under their historical names and holds the
two layout-free transforms (`identity`, `reshape_to`).

TF1 applies one kernel to `concat([x, h])`, so its rows split at `input_size` into Keras's `kernel` (x rows)
and `recurrent_kernel` (h rows). TF1 adds `forget_bias` at run time; Keras has no such term, so the
converter adds it to the `f` slice of the bias. Optimizer slots and gradients are linear in the weights: they
get the same permutation and split but NOT the forget-bias add (`forget_bias=0.0`).
"""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.cell_layouts import gru as _gru
from migrate.checkpoint.cell_layouts import lstm as _lstm
from migrate.checkpoint.cell_layouts.base import blocks as _blocks
from migrate.checkpoint.cell_layouts.base import permute_gates

LSTM_TF1_GATES = _lstm.TF1_GATES
LSTM_KERAS_GATES = _lstm.KERAS_GATES
LSTM_TF1_TO_KERAS = _lstm.TF1_TO_KERAS
LSTM_KERAS_TO_TF1 = _lstm.KERAS_TO_TF1
LSTM_FORGET_BLOCK_KERAS = _lstm.FORGET_BLOCK_KERAS
GRU_TF1_GATES = _gru.TF1_GATES
GRU_KERAS_GATES = _gru.KERAS_GATES

lstm_to_keras = _lstm.lstm_to_keras
keras_to_lstm = _lstm.keras_to_lstm
gru_to_keras = _gru.gru_to_keras
keras_to_gru = _gru.keras_to_gru


def identity(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dense kernels `[in, out]`, biases and embeddings `[vocab, dim]` have the same layout in TF1 and Keras."""
    return tuple(np.asarray(a) for a in arrays)


def reshape_to(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Scalars such as `attention_g` are `[]` in TF1 and may be `(1,)` in a Keras layer; same element count."""
    a = np.asarray(array)
    if a.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"cannot reshape {list(a.shape)} to {list(shape)}")
    return a.reshape(shape)


__all__ = ["GRU_KERAS_GATES", "GRU_TF1_GATES", "LSTM_FORGET_BLOCK_KERAS", "LSTM_KERAS_GATES", "LSTM_KERAS_TO_TF1",
           "LSTM_TF1_GATES", "LSTM_TF1_TO_KERAS", "_blocks", "gru_to_keras", "identity", "keras_to_gru",
           "keras_to_lstm", "lstm_to_keras", "permute_gates", "reshape_to"]
