"""The `CellLayout` protocol: everything the converter knows about one TF1 recurrent cell's weights.

A layout is one object (one module in this package): its TF1 classes and scope names, its members per naming
era, shapes, the transforms to Keras and back (exact inverses), its gate tables and its forget-bias rule.
Adding a layout is one module plus its tests; `migrate.checkpoint.cell_layouts.REGISTRY` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

KERAS_WEIGHTS = ("kernel", "recurrent_kernel", "bias")   # keras.layers.LSTM / GRU set_weights order


def blocks(a: np.ndarray, n: int) -> list[np.ndarray]:
    """Split the last axis into `n` equal gate blocks (clear error when it does not divide)."""
    if a.shape[-1] % n:
        raise ValueError(f"last axis {a.shape[-1]} is not divisible into {n} gate blocks (shape {list(a.shape)})")
    return np.split(a, n, axis=-1)


def permute_gates(a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Reorder the gate blocks along the last axis: block k of the result is block order[k] of `a`."""
    bs = blocks(a, len(order))
    return np.concatenate([bs[k] for k in order], axis=-1)


@dataclass(frozen=True)
class CellLayout:
    """One TF1 cell layout. Subclasses implement `units`, `tf1_shapes`, `to_keras`, `to_tf1`."""

    name: str                              # registry key: lstm, lstm_block, gru, gru_block
    family: str                            # Keras target: "lstm" -> keras.layers.LSTM, "gru" -> GRU(reset_after=False)
    tf1_classes: tuple[str, ...]           # what a user would recognise
    scopes: tuple[str, ...]                # the variable scope(s) the TF1 cell opens (its `name=` default)
    members: Mapping[str, Mapping[str, str]]   # era -> {member path under the scope: role}
    roles: tuple[str, ...]                 # required TF1 roles, in to_keras argument order
    optional_roles: tuple[str, ...]        # roles Keras cannot hold (peepholes, projection): refused when present
    tf1_gates: tuple[str, ...]             # column blocks of the TF1 (gates) kernel
    keras_gates: tuple[str, ...]           # column blocks of the Keras kernel
    graph_ops: tuple[str, ...]             # op types that run this layout in a graph ("" = plain MatMul/Split ops)
    folds_forget_bias: bool                # True: TF1 adds forget_bias at run time; Keras gets it folded into the bias
    forget_bias_rule: str                  # where the run-time constant lives in a graph
    source: str                            # the TF1 source file this is read from

    keras_weights: tuple[str, ...] = KERAS_WEIGHTS
    scope_classes: tuple[tuple[str, str], ...] = ()   # scope name -> the TF1 class that opens it (default below)
    default_class: str = ""                # what a scope not in scope_classes is called ("": tf1_classes[0])

    def tf1_class(self, scope_name: str) -> str:
        """The TF1 class a cell scope named `scope_name` (`basic_lstm_cell`, `lstm_fused_cell`, ...) came from."""
        return dict(self.scope_classes).get(scope_name, self.default_class or self.tf1_classes[0])

    # -- per-layout arithmetic ------------------------------------------------------------------
    def units(self, shapes: Mapping[str, tuple[int, ...]]) -> int:
        raise NotImplementedError

    def input_size(self, shapes: Mapping[str, tuple[int, ...]]) -> int:
        raise NotImplementedError

    def tf1_shapes(self, input_size: int, units: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def to_keras(self, arrays: Mapping[str, np.ndarray], input_size: int,
                 forget_bias: float = 0.0) -> list[np.ndarray]:
        """TF1 arrays by role -> Keras `[kernel, recurrent_kernel, bias]` (`forget_bias` folded when it applies)."""
        raise NotImplementedError

    def to_tf1(self, keras: list[np.ndarray], forget_bias: float = 0.0) -> dict[str, np.ndarray]:
        """The exact inverse of `to_keras`."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------
    def member_table(self) -> dict[str, tuple[str, str]]:
        """member path (e.g. "gates/weights") -> (role, era)."""
        return {path: (role, era) for era, table in self.members.items() for path, role in table.items()}

    def shape_problems(self, scope: str, shapes: Mapping[str, tuple[int, ...]]) -> list[str]:
        """[] when every required role is present with consistent shapes; else one message per problem."""
        missing = [r for r in self.roles if r not in shapes]
        if missing:
            return [f"{scope}: a {self.tf1_classes[0]} needs {', '.join(self.roles)}; found {sorted(shapes)}"]
        try:
            units, inp = self.units(shapes), self.input_size(shapes)
        except (IndexError, ValueError) as e:
            return [f"{scope}: shapes {dict(shapes)} do not fit a {self.tf1_classes[0]} ({e})"]
        want = self.tf1_shapes(inp, units)
        bad = [f"{r} {list(shapes[r])} (expected {list(want[r])})" for r in self.roles if tuple(shapes[r]) != want[r]]
        return [f"{scope}: {', '.join(bad)}"] if bad else []

    def gate_roles(self) -> tuple[str, ...]:
        """The TF1 roles whose columns are the `tf1_gates` blocks (LSTM kernel, bias; GRU gates_kernel, gates_bias)."""
        shapes = self.tf1_shapes(1, 1)
        return tuple(r for r in self.roles if shapes[r][-1] == len(self.tf1_gates))

    def keras_gate_order(self) -> tuple[int | None, ...]:
        """Per Keras column block, the TF1 gate block it holds (None: not a gate block, e.g. GRU's candidate).

        LSTM (0, 2, 1, 3): Keras i, f, c, o hold TF1 i, f, j; GRU (1, 0, None): Keras z, r hold TF1 u, r. Read off
        this layout's own `to_keras` on labelled columns, so the permutation is stated once, in `to_keras`.
        """
        shapes = self.tf1_shapes(1, 1)
        bias_role = next(r for r in self.gate_roles() if len(shapes[r]) == 1)
        arrays = {r: np.zeros(shapes[r], np.float64) for r in self.roles}
        arrays[bias_role] = np.arange(1.0, len(self.tf1_gates) + 1)
        bias = np.asarray(self.to_keras(arrays, 1, 0.0)[-1], np.float64).reshape(-1)
        return tuple(int(v) - 1 if v else None for v in bias)

    def to_json(self) -> dict:
        return {"name": self.name, "family": self.family, "tf1_classes": list(self.tf1_classes),
                "tf1_gates": list(self.tf1_gates), "keras_gates": list(self.keras_gates),
                "folds_forget_bias": self.folds_forget_bias}
