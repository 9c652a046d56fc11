"""GRUCell (tf.nn.rnn_cell, TF 1.0-1.15) and contrib GRUBlockCellV2 (same names): gates `[input + u, 2u]` with
columns r, u and a separate candidate kernel `[input + u, u]`.

TF1: `r, u = sigmoid([x, h] @ gates + b)`; `c = tanh([x, r * h] @ candidate + b_c)`; `h' = u * h + (1 - u) * c`.
Keras `GRU(reset_after=False)` computes the same with columns z, r, h (z = TF1's u). No forget bias.
Source: tensorflow/python/ops/rnn_cell_impl.py GRUCell; keras/src/layers/rnn/gru.py.
"""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.cell_layouts.base import CellLayout, blocks

TF1_GATES = ("r", "u")                  # gates/kernel columns; the candidate has its own kernel
KERAS_GATES = ("z", "r", "h")           # z is TF1's u; h is TF1's candidate


def gru_to_keras(gates_kernel: np.ndarray, gates_bias: np.ndarray, candidate_kernel: np.ndarray,
                 candidate_bias: np.ndarray, input_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TF1 GRU variables -> Keras `GRU(reset_after=False)` `(kernel, recurrent_kernel, bias)`."""
    r_k, u_k = blocks(gates_kernel, 2)
    r_b, u_b = blocks(gates_bias, 2)
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
    z_k, r_k, h_k = blocks(k, 3)
    z_b, r_b, h_b = blocks(bias, 3)
    return (np.concatenate([r_k, z_k], axis=-1), np.concatenate([r_b, z_b], axis=-1), h_k, h_b)


class _GRUFamily(CellLayout):
    def units(self, shapes) -> int:
        return shapes["candidate_bias"][0]

    def input_size(self, shapes) -> int:
        return shapes["candidate_kernel"][0] - self.units(shapes)

    def tf1_shapes(self, input_size: int, units: int) -> dict:
        return {"gates_kernel": (input_size + units, 2 * units), "gates_bias": (2 * units,),
                "candidate_kernel": (input_size + units, units), "candidate_bias": (units,)}

    def to_keras(self, arrays, input_size, forget_bias=0.0):
        return list(gru_to_keras(*(arrays[r] for r in self.roles), input_size))

    def to_tf1(self, keras, forget_bias=0.0):
        return dict(zip(self.roles, keras_to_gru(*keras)))


ROLES = ("gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias")


def _members(kernel: str, bias: str) -> dict[str, str]:
    return {f"gates/{kernel}": "gates_kernel", f"gates/{bias}": "gates_bias",
            f"candidate/{kernel}": "candidate_kernel", f"candidate/{bias}": "candidate_bias"}


LAYOUT = _GRUFamily(
    name="gru", family="gru",
    tf1_classes=("GRUCell", "contrib GRUBlockCellV2"),
    scopes=("gru_cell", "GRUCell"),
    members={"tf>=1.2": _members("kernel", "bias"), "tf<=1.1": _members("weights", "biases"),
             "tf<=0.12": {"Gates/Linear/Matrix": "gates_kernel", "Gates/Linear/Bias": "gates_bias",
                          "Candidate/Linear/Matrix": "candidate_kernel", "Candidate/Linear/Bias": "candidate_bias"}},
    roles=ROLES, optional_roles=(),
    tf1_gates=TF1_GATES, keras_gates=KERAS_GATES,
    graph_ops=(),
    folds_forget_bias=False,
    forget_bias_rule="none: a GRU has no forget bias",
    source="tensorflow/python/ops/rnn_cell_impl.py",
)
