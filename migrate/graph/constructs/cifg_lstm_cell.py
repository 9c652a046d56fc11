"""contrib `CoupledInputForgetGateLSTMCell` (no peepholes / projection): a Keras LSTM whose input gate is `1 - f`."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import const_scalar, consumers, gate_split, only, other, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import CellStep


def match_cifg(view: GraphView, matmul) -> CellStep | None:
    """contrib.rnn.CoupledInputForgetGateLSTMCell (no peepholes / projection): concat([x, h]) @ W_0 + B -> split 3
    (j, f, o); f_act = sigmoid(f + forget_bias); c = f_act * c_prev + (1 - f_act) * tanh(j); h = sigmoid(o) *
    tanh(c). A Keras LSTM with the input gate -(f + forget_bias) computes exactly that (cell_layouts.cifg)."""
    found = gate_split(view, matmul, 3)
    if found is None:
        return None
    kernel, concat, bias_op, bias, split = found
    j, f, o = split.outputs
    fb, pre = 0.0, f
    add = only(consumers(f), ("Add", "AddV2"))
    if add is not None:
        fb, pre = const_scalar(view, other(add, f)), add.outputs[0]
    f_sig = only(consumers(pre), ("Sigmoid",))
    if fb is None or f_sig is None:
        return None
    mul_f, sub = only(consumers(f_sig.outputs[0]), ("Mul",)), only(consumers(f_sig.outputs[0]), ("Sub",))
    if mul_f is None or sub is None or sub.inputs[1] is not f_sig.outputs[0] or \
            const_scalar(view, sub.inputs[0]) != 1.0:
        return None
    new_c_op = only(consumers(mul_f.outputs[0]), ("Add", "AddV2"))
    tanh_c = only(consumers(new_c_op.outputs[0]), ("Tanh",)) if new_c_op is not None else None
    new_h_op = only(consumers(tanh_c.outputs[0]), ("Mul",)) if tanh_c is not None else None
    o_sig = only(consumers(o), ("Sigmoid",))
    tanh_j = only(consumers(j), ("Tanh",))
    if new_h_op is None or o_sig is None or tanh_j is None or o_sig.outputs[0] not in list(new_h_op.inputs):
        return None   # peepholes or a projection: not this plain form
    k = view.variable_values(kernel)
    units = k.shape[1] // 3
    return CellStep("lstm", kernel.rsplit("/", 1)[0], {"kernel": kernel, "bias": bias}, float(fb),
                    strip(concat.inputs[0]), concat.inputs[1], other(mul_f, f_sig.outputs[0]),
                    new_h_op.outputs[0], new_c_op.outputs[0], k.shape[0] - units, units,
                    tf1="CoupledInputForgetGateLSTMCell", layout="cifg")


CELL = Cell("cifg_lstm", "MatMul", match_cifg,
            "contrib `CoupledInputForgetGateLSTMCell` (no peepholes / projection)",
            "`tfm.LSTM`: the cell is a standard LSTM whose input gate is `1 - f`, i.e. the i block = "
            "`-(f + forget_bias)` (`cell_layouts/cifg.py`)")
