"""LSTMCell / BasicLSTMCell (tf.nn.rnn_cell, TF 1.0-1.15): one kernel `[input + units, 4u]`, columns i, j, f, o.

Source: tensorflow/python/ops/rnn_cell_impl.py (`i, j, f, o = array_ops.split(..., 4)`; BasicLSTMCell adds
`forget_bias` to `f` with `math_ops.add(f, forget_bias_tensor)`, LSTMCell with `f + self._forget_bias`);
keras/src/layers/rnn/lstm.py (columns i, f, c, o). TF <= 1.1 wrote `weights` / `biases`, TF 1.2 renamed them
`kernel` / `bias` (RELEASE.md 1.2.0).
"""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.cell_layouts.base import CellLayout, permute_gates

TF1_GATES = ("i", "j", "f", "o")                 # j = the candidate
KERAS_GATES = ("i", "f", "j", "o")               # Keras names them i, f, c, o; c is TF1's j
TF1_TO_KERAS = tuple(TF1_GATES.index(g) for g in KERAS_GATES)   # (0, 2, 1, 3)
KERAS_TO_TF1 = tuple(KERAS_GATES.index(g) for g in TF1_GATES)   # (0, 2, 1, 3): a swap
FORGET_BLOCK_KERAS = KERAS_GATES.index("f")                    # 1
FORGET_BLOCK_TF1 = TF1_GATES.index("f")                        # 2: the `Split` output TF1 adds forget_bias to


def _members(kernel: str, bias: str) -> dict[str, str]:
    return {kernel: "kernel", bias: "bias",            # [input + h, 4u], [4u]
            "w_i_diag": "peephole_i", "w_f_diag": "peephole_f", "w_o_diag": "peephole_o",   # use_peepholes=True
            f"projection/{kernel}": "projection"}      # LSTMCell(num_proj=P): [units, P]


def lstm_to_keras(kernel: np.ndarray, bias: np.ndarray, input_size: int,
                  forget_bias: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TF1 LSTM `kernel [input + units, 4u]`, `bias [4u]` -> Keras `(kernel, recurrent_kernel, bias)`.

    `forget_bias` is added to the forget block of the bias (the value the TF1 cell added at run time);
    pass 0.0 for optimizer slots and gradients (they are linear in the weights).
    """
    k = permute_gates(kernel, TF1_TO_KERAS)
    b = permute_gates(bias, TF1_TO_KERAS).copy()
    units = b.shape[-1] // 4
    if forget_bias:
        b[FORGET_BLOCK_KERAS * units:(FORGET_BLOCK_KERAS + 1) * units] += np.asarray(forget_bias, b.dtype)
    return k[:input_size], k[input_size:], b


def keras_to_lstm(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray,
                  forget_bias: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `lstm_to_keras`: Keras `(kernel, recurrent_kernel, bias)` -> TF1 `(kernel, bias)`."""
    b = np.array(bias, copy=True)
    units = b.shape[-1] // 4
    if forget_bias:
        b[FORGET_BLOCK_KERAS * units:(FORGET_BLOCK_KERAS + 1) * units] -= np.asarray(forget_bias, b.dtype)
    k = np.concatenate([kernel, recurrent_kernel], axis=0)
    return permute_gates(k, KERAS_TO_TF1), permute_gates(b, KERAS_TO_TF1)


class _LSTMFamily(CellLayout):
    def units(self, shapes) -> int:
        return shapes["bias"][0] // 4

    def input_size(self, shapes) -> int:
        proj = shapes.get("projection")
        return shapes["kernel"][0] - (proj[1] if proj else self.units(shapes))

    def tf1_shapes(self, input_size: int, units: int) -> dict:
        return {"kernel": (input_size + units, 4 * units), "bias": (4 * units,)}

    def to_keras(self, arrays, input_size, forget_bias=0.0):
        return list(lstm_to_keras(arrays["kernel"], arrays["bias"], input_size, forget_bias))

    def to_tf1(self, keras, forget_bias=0.0):
        k, b = keras_to_lstm(*keras, forget_bias=forget_bias)
        return {"kernel": k, "bias": b}


LAYOUT = _LSTMFamily(
    name="lstm", family="lstm",
    tf1_classes=("LSTMCell", "BasicLSTMCell"),
    scopes=("lstm_cell", "basic_lstm_cell", "BasicLSTMCell", "LSTMCell"),
    # TF <= 0.12 (tf.nn.rnn_cell before 1.0): BasicLSTMCell's `_linear` wrote Linear/Matrix, Linear/Bias; LSTMCell
    # wrote W_0 (its one shard) and B, with the same i, j, f, o columns.
    members={"tf>=1.2": _members("kernel", "bias"), "tf<=1.1": _members("weights", "biases"),
             "tf<=0.12": {"Linear/Matrix": "kernel", "Linear/Bias": "bias", "W_0": "kernel", "B": "bias",
                          "W_I_diag": "peephole_i", "W_F_diag": "peephole_f", "W_O_diag": "peephole_o"}},
    roles=("kernel", "bias"), optional_roles=("peephole_i", "peephole_f", "peephole_o", "projection"),
    tf1_gates=TF1_GATES, keras_gates=("i", "f", "c", "o"),
    graph_ops=(),
    folds_forget_bias=True,
    forget_bias_rule="a scalar Const added to output 2 (f) of the 4-way Split of the cell's gates "
                     "(BasicLSTMCell `add/y` or `Const`, LSTMCell `add/y`), one per time step in static_rnn graphs",
    source="tensorflow/python/ops/rnn_cell_impl.py",
    scope_classes=(("basic_lstm_cell", "BasicLSTMCell"), ("BasicLSTMCell", "BasicLSTMCell"), ("LSTMCell", "LSTMCell")),
    default_class="LSTMCell (or contrib LSTMBlockCell, same names)",   # `lstm_cell`: names alone cannot tell
)
