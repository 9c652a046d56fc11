"""`BasicRNNCell` (`rnn_cell.BasicRNNCell`, a plain `RNNCell`): `h = act(concat([x, h_prev]) @ kernel + bias)`."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import consumers, matmul_bias, only, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import ACTIVATIONS, CellStep

# What reads a BasicRNNCell's output besides the loop / the next layer: a DropoutWrapper's dropout (its ops in a
# `dropout` scope). A `Mul` or `Split` elsewhere means another cell (GRUCell's candidate is `act(...) * (1 - u)`).
_NOT_AFTER = ("Mul", "Split", "SplitV")


def match_basic_rnn(view: GraphView, matmul) -> CellStep | None:
    """BasicRNNCell: gate_inputs = concat([x, h]) @ kernel + bias; output = new state = act(gate_inputs), `kernel`
    [input + units, units] (one block: no gates), `act` its activation (tanh unless given)."""
    found = matmul_bias(view, matmul)
    if found is None:
        return None
    kernel, concat, bias_op, bias = found
    if len(consumers(bias_op.outputs[0])) != 1:
        return None
    act = only(consumers(bias_op.outputs[0]), tuple(ACTIVATIONS))
    if act is None:
        return None
    k = view.variable_values(kernel)
    units = k.shape[1]
    h_prev = concat.inputs[1]
    if k.shape[0] <= units or h_prev.shape.rank != 2 or h_prev.shape[-1] not in (None, units):
        return None
    if strip(h_prev).op.type == "Mul":   # GRUCell's candidate reads concat([x, r * h])
        return None
    out = act.outputs[0]
    if any(c.type in _NOT_AFTER and "dropout" not in c.name for c in consumers(out)):
        return None
    return CellStep("simple_rnn", kernel.rsplit("/", 1)[0], {"kernel": kernel, "bias": bias}, 0.0,
                    strip(concat.inputs[0]), h_prev, None, out, None, k.shape[0] - units, units, tf1="BasicRNNCell",
                    activation=ACTIVATIONS[act.type])


CELL = Cell("basic_rnn", "MatMul", match_basic_rnn,
            "`BasicRNNCell` (any `activation` of the LSTM row)", "`tfm.SimpleRNN(activation=...)`")
