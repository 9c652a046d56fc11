"""`LSTMCell` / `BasicLSTMCell` (no peepholes, no projection; any `activation` of `rnn.ACTIVATIONS`): one step
from the MatMul on its kernel."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.constructs.peephole_lstm_cell import projection_of
from migrate.graph.matching import const_scalar, consumers, gate_split, only, other, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import ACTIVATIONS, CellStep


def match_lstm(view: GraphView, matmul) -> CellStep | None:
    """LSTMCell / BasicLSTMCell: concat([x, h]) @ kernel + bias -> split 4 (i, j, f, o);
    c = c_prev * sigmoid(f + forget_bias) + sigmoid(i) * act(j); h = act(c) * sigmoid(o), `act` the cell's
    activation (tanh unless given), the same op on j and on c."""
    found = gate_split(view, matmul, 4)
    if found is None:
        return None
    kernel, concat, bias_op, bias, split = found
    i, j, f, o = split.outputs
    fb, f_sig = 0.0, None
    for c in consumers(f):
        if c.type in ("Add", "AddV2"):
            fb = const_scalar(view, other(c, f))
            sig = only(consumers(c.outputs[0]), ("Sigmoid",))
            if fb is None or sig is None:
                return None
            f_sig = sig
        elif c.type == "Sigmoid":
            f_sig = c
    if f_sig is None:
        return None
    mul_f = only(consumers(f_sig.outputs[0]), ("Mul",))
    if mul_f is None:
        return None
    c_prev = other(mul_f, f_sig.outputs[0])
    new_c_op = only(consumers(mul_f.outputs[0]), ("Add", "AddV2"))
    if new_c_op is None:
        return None
    act_c = only(consumers(new_c_op.outputs[0]), tuple(ACTIVATIONS))
    if act_c is None or only(consumers(j), (act_c.type,)) is None:
        return None
    new_h_op = only(consumers(act_c.outputs[0]), ("Mul",))
    if new_h_op is None or projection_of(view, new_h_op.outputs[0]) is not None:   # num_proj: peephole_lstm_cell
        return None
    k = view.variable_values(kernel)
    units = k.shape[1] // 4
    return CellStep("lstm", kernel.rsplit("/", 1)[0], {"kernel": kernel, "bias": bias}, float(fb),
                    strip(concat.inputs[0]), concat.inputs[1], c_prev, new_h_op.outputs[0], new_c_op.outputs[0],
                    k.shape[0] - units, units, activation=ACTIVATIONS[act_c.type])


CELL = Cell("lstm", "MatMul", match_lstm,
            "`LSTMCell` / `BasicLSTMCell` (`forget_bias` from the graph constant; `activation` tanh, sigmoid, relu, "
            "elu, selu, softsign, softplus, relu6)",
            "`tfm.LSTM(forget_bias=F, activation=...)`: the forget bias added at run time after the bias, in TF1's "
            "order (folded into the bias, the float32 sums round otherwise: 1.9e-5 on a 50-step char-RNN's softmax)")
