"""Weight layout transforms TF1 <-> Keras 3, as pure NumPy functions with exact inverses.

Gate orders (the knowledge, as tables):

| layer             | TF1 columns                          | Keras 3 columns         | source                              |
|-------------------|--------------------------------------|-------------------------|-------------------------------------|
| LSTM (all kinds)  | i, j, f, o  (j = candidate)          | i, f, c, o              | rnn_cell_impl.LSTMCell.call;         |
|                   |                                      |                         | keras/src/layers/rnn/lstm.py         |
| GRU               | gates r, u + candidate (own kernel)  | z, r, h (z = u)         | rnn_cell_impl.GRUCell.call;          |
|                   |                                      |  reset_after=False      | keras/src/layers/rnn/gru.py          |

TF1 applies one kernel to `concat([x, h])`, so its rows split at `input_size` into Keras's `kernel` (x rows)
and `recurrent_kernel` (h rows). TF1 adds `forget_bias` at run time; Keras has no such term, so the
converter adds it to the `f` slice of the bias (`fold_forget_bias`). Optimizer slots and gradients are
linear in the weights: they get the same permutation and split but NOT the forget-bias add
(`forget_bias=0.0`), which is the bug OpenNMT-tf's V1 upgrader had.
"""

from __future__ import annotations

import numpy as np

# Column blocks: where each Keras gate block comes from in the TF1 layout (and back).
LSTM_TF1_GATES = ("i", "j", "f", "o")
LSTM_KERAS_GATES = ("i", "f", "j", "o")        # Keras names them i, f, c, o; c is TF1's j
LSTM_TF1_TO_KERAS = tuple(LSTM_TF1_GATES.index(g) for g in LSTM_KERAS_GATES)   # (0, 2, 1, 3)
LSTM_KERAS_TO_TF1 = tuple(LSTM_KERAS_GATES.index(g) for g in LSTM_TF1_GATES)   # (0, 2, 1, 3): a swap
LSTM_FORGET_BLOCK_KERAS = LSTM_KERAS_GATES.index("f")                          # 1

GRU_TF1_GATES = ("r", "u")                     # gates/kernel columns
GRU_KERAS_GATES = ("z", "r", "h")              # z is TF1's u; h is TF1's candidate


def _blocks(a: np.ndarray, n: int) -> list[np.ndarray]:
    if a.shape[-1] % n:
        raise ValueError(f"last axis {a.shape[-1]} is not divisible into {n} gate blocks (shape {list(a.shape)})")
    return np.split(a, n, axis=-1)


def permute_gates(a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Reorder the gate blocks along the last axis: block k of the result is block order[k] of `a`."""
    blocks = _blocks(a, len(order))
    return np.concatenate([blocks[k] for k in order], axis=-1)


def lstm_to_keras(kernel: np.ndarray, bias: np.ndarray, input_size: int,
                  forget_bias: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TF1 LSTM `kernel [input + units, 4u]`, `bias [4u]` -> Keras `[kernel, recurrent_kernel, bias]`.

    Args:
        kernel: TF1 kernel, rows `[x | h]`, columns `i, j, f, o`.
        bias: TF1 bias `[4 * units]`.
        input_size: rows of `kernel` that multiply the input.
        forget_bias: added to the forget block of the bias (the value the TF1 cell added at run
            time). Pass 0.0 for optimizer slots and gradients.

    Returns:
        `(kernel [input, 4u], recurrent_kernel [units, 4u], bias [4u])`, columns `i, f, c, o`, in the order
        `keras.layers.LSTM.set_weights` expects.
    """
    k = permute_gates(kernel, LSTM_TF1_TO_KERAS)
    b = permute_gates(bias, LSTM_TF1_TO_KERAS).copy()
    units = b.shape[-1] // 4
    if forget_bias:
        b[LSTM_FORGET_BLOCK_KERAS * units:(LSTM_FORGET_BLOCK_KERAS + 1) * units] += np.asarray(forget_bias, b.dtype)
    return k[:input_size], k[input_size:], b


def keras_to_lstm(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray,
                  forget_bias: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `lstm_to_keras`: Keras `[kernel, recurrent_kernel, bias]` -> TF1 `(kernel, bias)`."""
    b = np.array(bias, copy=True)
    units = b.shape[-1] // 4
    if forget_bias:
        b[LSTM_FORGET_BLOCK_KERAS * units:(LSTM_FORGET_BLOCK_KERAS + 1) * units] -= np.asarray(forget_bias, b.dtype)
    k = np.concatenate([kernel, recurrent_kernel], axis=0)
    return permute_gates(k, LSTM_KERAS_TO_TF1), permute_gates(b, LSTM_KERAS_TO_TF1)


def gru_to_keras(gates_kernel: np.ndarray, gates_bias: np.ndarray, candidate_kernel: np.ndarray,
                 candidate_bias: np.ndarray, input_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TF1 GRUCell variables -> Keras `GRU(reset_after=False)` `[kernel, recurrent_kernel, bias]`.

    TF1: `r, u = sigmoid([x, h] @ gates_kernel + gates_bias)`; `c = tanh([x, r * h] @ candidate_kernel + b)`;
    `h' = u * h + (1 - u) * c`. Keras (reset_after=False) computes the same with columns `z, r, h` (z = u).
    """
    r_k, u_k = _blocks(gates_kernel, 2)
    r_b, u_b = _blocks(gates_bias, 2)
    k = np.concatenate([u_k, r_k, candidate_kernel], axis=-1)
    b = np.concatenate([u_b, r_b, candidate_bias], axis=-1)
    return k[:input_size], k[input_size:], b


def keras_to_gru(kernel: np.ndarray, recurrent_kernel: np.ndarray,
                 bias: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of `gru_to_keras`: -> `(gates_kernel, gates_bias, candidate_kernel, candidate_bias)`."""
    if np.ndim(bias) != 1:
        raise ValueError(f"GRU bias of shape {list(np.shape(bias))}: expected [3 * units] (reset_after=False); "
                         f"a [2, 3 * units] bias is reset_after=True, which TF1's GRUCell does not compute")
    k = np.concatenate([kernel, recurrent_kernel], axis=0)
    z_k, r_k, h_k = _blocks(k, 3)
    z_b, r_b, h_b = _blocks(bias, 3)
    return (np.concatenate([r_k, z_k], axis=-1), np.concatenate([r_b, z_b], axis=-1), h_k, h_b)


def identity(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dense kernels `[in, out]`, biases and embeddings `[vocab, dim]` have the same layout in TF1 and Keras."""
    return tuple(np.asarray(a) for a in arrays)


def reshape_to(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Scalars such as `attention_g` are `[]` in TF1 and may be `(1,)` in a Keras layer; same element count."""
    a = np.asarray(array)
    if a.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"cannot reshape {list(a.shape)} to {list(shape)}")
    return a.reshape(shape)
