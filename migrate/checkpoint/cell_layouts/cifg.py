"""contrib.rnn CoupledInputForgetGateLSTMCell (TF 1.0-1.15, no peepholes, no projection) as a plain LSTM.

The cell (tensorflow/contrib/rnn/python/ops/rnn_cell.py): `W_0 [input + units, 3u]`, `B [3u]`, columns j, f, o;
`f_act = sigmoid(f + forget_bias)`, `c = f_act * c_prev + (1 - f_act) * tanh(j)`, `h = sigmoid(o) * tanh(c)`.
Since `1 - sigmoid(x) = sigmoid(-x)`, that is exactly an LSTM whose input gate is `-(f + forget_bias)`: TF1 LSTM
columns i, j, f, o = -f, j, f, o with the bias of i = -(B_f + forget_bias). `cifg_to_lstm` builds that 4-gate
TF1 layout; `lstm.lstm_to_keras(..., forget_bias)` then makes the Keras LSTM weights (forget bias folded into f).

Not a registered `CellLayout` (`_MODULES`): the map goes one way only (a Keras LSTM's free input gate has no
CIFG form), so it has no inverse for the registry's round-trip property; the graph converter
(`migrate.graph.constructs.cifg_lstm_cell`) uses it directly.
"""

from __future__ import annotations

import numpy as np


def cifg_to_lstm(kernel: np.ndarray, bias: np.ndarray, forget_bias: float) -> tuple[np.ndarray, np.ndarray]:
    """CIFG `W_0 [n, 3u]` (j, f, o), `B [3u]` -> TF1 LSTM `kernel [n, 4u]`, `bias [4u]` (i, j, f, o) with
    `i = -(f + forget_bias)`; pass the same `forget_bias` to `lstm_to_keras`."""
    units = kernel.shape[-1] // 3
    kj, kf, ko = (kernel[..., g * units:(g + 1) * units] for g in range(3))
    bj, bf, bo = (bias[..., g * units:(g + 1) * units] for g in range(3))
    k4 = np.concatenate([-kf, kj, kf, ko], axis=-1)
    b4 = np.concatenate([-(bf + np.asarray(forget_bias, bias.dtype)), bj, bf, bo], axis=-1)
    return k4, b4
