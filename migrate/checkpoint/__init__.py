"""TF1 checkpoints -> Keras 3 weights, and what exactly happened (docs/checkpoint.md).

Public API:

| name                                   | what                                                              |
|----------------------------------------|-------------------------------------------------------------------|
| `open_checkpoint(path)`                | a `Checkpoint` (prefix, directory or .index); clear errors, exit 2 |
| `recognise(ckpt.variables)`            | cells, embeddings, dense, attention, optimizer state, the rest     |
| `recognise_checkpoint(ckpt)`           | `recognise` plus the `.meta` graph's usage (roles, kinds, forget   |
|                                        | bias per cell) where the checkpoint has one                        |
| `cell_weights(ckpt, scope, forget_bias=)` | `[kernel, recurrent_kernel, bias]` for Keras LSTM / GRU        |
| `dense_weights`, `embedding_weights`   | `set_weights` arrays for Dense / Embedding                         |
| `Mapping`, `apply_mapping`             | TOML mapping file for whole custom models                          |
| `bind_seq2seq(model, rec, fb)`         | `Binding`s: TF1 names <-> Keras variables + transform + inverse    |
| `convert_checkpoint`, `convert_to_tf1` | what `tf-migrate convert` runs                                     |
| `layouts`                              | the pure NumPy transforms and their inverses                       |
| `cell_layouts`                         | the cell-layout registry (LSTM, LSTMBlock, GRU, GRUBlock)          |

Importing this package does not import TensorFlow; the functions do when they need it.
"""

from migrate.checkpoint import cell_layouts, layouts, tables
from migrate.checkpoint.api import cell_weights, dense_weights, embedding_weights, find_cell, open_checkpoint
from migrate.checkpoint.bindings import Binding, BindingPlan, bind_seq2seq
from migrate.checkpoint.convert import convert_checkpoint, infer_hparams
from migrate.checkpoint.forget_bias import ForgetBias, forget_biases_from_meta, resolve_forget_bias
from migrate.checkpoint.mapping import Mapping, apply_mapping
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError, VariableInfo, resolve_prefix
from migrate.checkpoint.recognise import CellGroup, Recognition, recognise, recognise_checkpoint


def convert_to_tf1(*args, **kwargs):
    """See `migrate.checkpoint.reverse.convert_to_tf1` (imported lazily: it builds the legacy graph)."""
    from migrate.checkpoint.reverse import convert_to_tf1 as _impl  # noqa: PLC0415

    return _impl(*args, **kwargs)


__all__ = [
    "Binding", "BindingPlan", "CellGroup", "Checkpoint", "CheckpointError", "ForgetBias", "Mapping", "MappingError",
    "Recognition", "VariableInfo", "apply_mapping", "bind_seq2seq", "cell_weights", "convert_checkpoint",
    "convert_to_tf1", "dense_weights", "embedding_weights", "find_cell", "forget_biases_from_meta", "infer_hparams",
    "cell_layouts", "layouts", "open_checkpoint", "recognise", "recognise_checkpoint", "resolve_forget_bias",
    "resolve_prefix", "tables",
]
