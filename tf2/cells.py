"""The recurrent cells of the port, and how their states are laid out.

One table maps `hparams.cell_type` to a Keras 3 cell. The converter reorders TF1's weights into these
layouts (see docs/tf2.md); the cells themselves never add a forget bias at run time.

| cell_type  | TF1 cell (contract item 4)    | Keras 3 cell                      | state per layer |
|------------|-------------------------------|-----------------------------------|-----------------|
| lstm       | LSTMCell(forget_bias)         | LSTMCell, gates i,f,c,o           | [h, c]          |
| basic_lstm | BasicLSTMCell(forget_bias)    | LSTMCell, gates i,f,c,o           | [h, c]          |
| gru        | GRUCell (reset before matmul) | GRUCell(reset_after=False), z,r,h | [h]             |

TF1's LSTM adds `forget_bias` to the `f` pre-activation at run time (it is in no variable);
Keras's LSTMCell has no such constant, so the converter adds `forget_bias` to the `f` slice of the
Keras bias once. `unit_forget_bias=True` only changes initialisation (a freshly trained port then
starts where a TF1 LSTM with forget_bias=1.0 starts).
"""

from __future__ import annotations

import keras

# cell_type -> (Keras class, constructor kwargs). Sources: keras/src/layers/rnn/lstm.py and gru.py
# (Keras 3.15), tensorflow/python/ops/rnn_cell_impl.py (TF 1.15) for the TF1 side.
CELL_TYPES = {
    "lstm": (keras.layers.LSTMCell, {"unit_forget_bias": True}),
    "basic_lstm": (keras.layers.LSTMCell, {"unit_forget_bias": True}),
    # reset_after=False: TF1's GRUCell multiplies h by r BEFORE the candidate matmul.
    "gru": (keras.layers.GRUCell, {"reset_after": False}),
}


def make_cell(cell_type: str, units: int, dropout: float = 0.0, seed: int | None = None,
              name: str | None = None) -> keras.layers.Layer:
    """A Keras RNN cell for `cell_type` (a key of `CELL_TYPES`) with input dropout `dropout`."""
    if cell_type not in CELL_TYPES:
        raise ValueError(f"cell_type={cell_type!r}: expected one of {', '.join(CELL_TYPES)}")
    cls, kwargs = CELL_TYPES[cell_type]
    return cls(units, dropout=dropout, seed=seed, name=name, **kwargs)


def stack_cells(cells: list[keras.layers.Layer]) -> keras.layers.Layer:
    """The cell `keras.layers.RNN` runs: the cell itself for one layer, else `StackedRNNCells`.

    (A one-cell `StackedRNNCells` unwraps its state list and breaks `RNN`'s loop structure, so a
    single layer runs its cell directly.)
    """
    return cells[0] if len(cells) == 1 else keras.layers.StackedRNNCells(cells, name="multi_rnn_cell")


def per_layer_states(states: list, num_layers: int) -> list[list]:
    """States as `RNN(stack_cells(...), return_state=True)` returns them -> one list per layer."""
    if num_layers == 1:
        return [list(states)]
    return [list(s) if isinstance(s, (list, tuple)) else [s] for s in states]


def stacked_states(states: list[list], num_layers: int) -> list:
    """The inverse of `per_layer_states`: the `initial_state` structure `RNN` expects."""
    return list(states[0]) if num_layers == 1 else [list(s) for s in states]
