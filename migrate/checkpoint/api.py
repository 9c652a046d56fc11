"""Arrays for users' own Keras models: any recognised group of any checkpoint, in `set_weights` order.

Example (the real 2017 checkpoint in the fixtures, a BasicLSTMCell(80, forget_bias=0.8)):

```python
from migrate.checkpoint import open_checkpoint, cell_weights

ckpt = open_checkpoint("model_dir")                     # prefix, directory or .index path
lstm = keras.layers.LSTM(80)
lstm.build((None, 10, 80))
lstm.set_weights(cell_weights(ckpt, "rnn/basic_lstm_cell", forget_bias=0.8))
```

With a `.meta` graph beside the checkpoint each LSTM cell's own forget-bias constant is read from it, so
`forget_bias=` can be left out; a value that disagrees with the graph is an error unless `force_forget_bias=True`.
"""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.forget_bias import cell_forget_bias
from migrate.checkpoint.reader import Checkpoint, CheckpointError
from migrate.checkpoint.recognise import CellGroup, Recognition, recognise_checkpoint

_MISSING = object()


def open_checkpoint(path: str | Checkpoint) -> Checkpoint:
    """A `Checkpoint` from a prefix, directory or `.index` path (or the object itself)."""
    return path if isinstance(path, Checkpoint) else Checkpoint.open(path)


def _recognition(ckpt: Checkpoint) -> Recognition:
    """The checkpoint's recognition, from its `.meta` graph when there is one (cached on the object)."""
    return recognise_checkpoint(ckpt)


def find_cell(ckpt: Checkpoint, scope: str | None = None) -> CellGroup:
    """The cell group at `scope` (or the only one when `scope` is None)."""
    rec = _recognition(ckpt)
    if scope is None:
        if len(rec.cells) != 1:
            raise CheckpointError(f"{ckpt.prefix}: {len(rec.cells)} cell groups "
                                  f"({', '.join(c.scope for c in rec.cells) or 'none'}); name one: cell_weights(ckpt, scope=...).")
        return rec.cells[0]
    try:
        return rec.cell(scope)
    except KeyError as e:
        raise CheckpointError(f"{ckpt.prefix}: {e.args[0]}") from None


def cell_weights(ckpt: str | Checkpoint, scope: str | None = None, *,
                 forget_bias: float | None | object = _MISSING, force_forget_bias: bool = False) -> list[np.ndarray]:
    """`[kernel, recurrent_kernel, bias]` for `keras.layers.LSTM` / `keras.layers.GRU(reset_after=False)`.

    Args:
        ckpt: a checkpoint path or `Checkpoint`.
        scope: the cell group's scope as `tf-migrate inspect` shows it, e.g.
            `encoder/rnn/multi_rnn_cell/cell_0/lstm_cell`; None when the checkpoint has one group.
        forget_bias: for LSTM groups, the value the TF1 cell added at run time (it is in no checkpoint
            variable), folded into the bias. Read from the `.meta` graph (this cell's own constant) when left
            out; required without a graph. Must be left out for GRU groups.
        force_forget_bias: use `forget_bias` even where the graph says another value.

    Returns:
        Three float32 arrays in the order `set_weights` expects.
    """
    ckpt = open_checkpoint(ckpt)
    g = find_cell(ckpt, scope)
    if g.problems:
        raise CheckpointError("; ".join(g.problems))
    ckpt.refuse_reduced_precision(list(g.variables.values()))
    layout = g.cell_layout
    unsupported = [r for r in g.variables if r in layout.optional_roles]
    if unsupported:
        raise CheckpointError(f"{g.scope}: {', '.join(g.variables[r] for r in unsupported)} (peepholes / projection) "
                              f"have no place in keras.layers.LSTM; write a custom Keras cell for them.")
    if not layout.folds_forget_bias and forget_bias is not _MISSING:
        raise CheckpointError(f"{g.scope} is a {g.tf1_class}: it has no forget bias; leave forget_bias out.")
    given = None if forget_bias is _MISSING else forget_bias
    fb = cell_forget_bias(g, given, force=force_forget_bias)
    read = {role: ckpt.read(name).astype(np.float32) for role, name in g.variables.items()}
    return layout.to_keras(read, g.input_size, fb.value or 0.0)


def dense_weights(ckpt: str | Checkpoint, scope: str) -> list[np.ndarray]:
    """`[kernel]` or `[kernel, bias]` of the dense layer at `scope` for `keras.layers.Dense.set_weights`."""
    ckpt = open_checkpoint(ckpt)
    rec = _recognition(ckpt)
    d = next((d for d in rec.dense if d.scope == scope), None)
    if d is None:
        raise CheckpointError(f"{ckpt.prefix}: no dense layer {scope!r}; dense layers: "
                              f"{', '.join(x.scope for x in rec.dense) or 'none'}")
    names = [d.kernel] + ([d.bias] if d.bias else [])
    ckpt.refuse_reduced_precision(names)
    return [ckpt.read(n).astype(np.float32) for n in names]


def embedding_weights(ckpt: str | Checkpoint, name: str | None = None) -> list[np.ndarray]:
    """`[matrix]` for `keras.layers.Embedding.set_weights` (the only embedding when `name` is None)."""
    ckpt = open_checkpoint(ckpt)
    rec = _recognition(ckpt)
    if name is None:
        if len(rec.embeddings) != 1:
            raise CheckpointError(f"{ckpt.prefix}: {len(rec.embeddings)} embeddings "
                                  f"({', '.join(e.name for e in rec.embeddings) or 'none'}); name one.")
        name = rec.embeddings[0].name
    if name not in ckpt.variables:
        raise CheckpointError(f"{ckpt.prefix}: no variable {name!r}")
    ckpt.refuse_reduced_precision([name])
    return [ckpt.read(name).astype(np.float32)]
