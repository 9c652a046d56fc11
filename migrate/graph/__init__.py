"""TF1 graph (`.meta` + checkpoint) -> a Keras 3 model the team owns, with parity checked on the spot.

Modules: `meta` (import + restore, graph lookups), `select` (which outputs, which inputs), `ops/` (the op table),
`rnn` (while-loop and unrolled RNNs -> Keras RNN layers), `translate` (the walk), `codegen` (model.py), `program`
(model.py -> the model, interpreted, never executed), `convert` (orchestration, parity, files). Entry point:
`convert_graph`.
"""

from migrate.graph.convert import GraphConvertError, ParityFailed, convert_graph

__all__ = ["GraphConvertError", "ParityFailed", "convert_graph"]
