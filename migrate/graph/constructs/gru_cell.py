"""`GRUCell` (TF >= 1.2 names: `gates/kernel`, `candidate/kernel`): one step from the MatMul on its gates kernel."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import consumers, matmul_bias, only, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import CellStep


def match_gru(view: GraphView, matmul) -> CellStep | None:
    """GRUCell (TF >= 1.2): gates = sigmoid(concat([x, h]) @ gates/kernel + gates/bias) -> split 2 (r, u);
    c = tanh(concat([x, r * h]) @ candidate/kernel + candidate/bias); h = u * h_prev + (1 - u) * c."""
    found = matmul_bias(view, matmul)
    if found is None:
        return None
    kernel, concat, bias_op, bias = found
    sig = only(consumers(bias_op.outputs[0]), ("Sigmoid",))
    if sig is None:
        return None
    split = only(consumers(sig.outputs[0]), ("Split",))
    if split is None or int(split.get_attr("num_split")) != 2:
        return None
    r, u = split.outputs
    h_prev = concat.inputs[1]
    r_h = only(consumers(r), ("Mul",))
    if r_h is None:
        return None
    concat2 = only(consumers(r_h.outputs[0]), ("ConcatV2", "Concat"))
    if concat2 is None:
        return None
    mm2 = only(consumers(concat2.outputs[0]), ("MatMul",))
    if mm2 is None:
        return None
    ckernel = view.variable_of(mm2.inputs[1])
    cb_op = only(consumers(mm2.outputs[0]), ("BiasAdd", "Add", "AddV2"))
    if ckernel is None or cb_op is None:
        return None
    cbias = view.variable_of(cb_op.inputs[1])
    tanh = only(consumers(cb_op.outputs[0]), ("Tanh",))
    if cbias is None or tanh is None:
        return None
    mul_c = only(consumers(tanh.outputs[0]), ("Mul",))
    new_h_op = only(consumers(mul_c.outputs[0]), ("Add", "AddV2")) if mul_c is not None else None
    if new_h_op is None:
        return None
    k = view.variable_values(kernel)
    units = k.shape[1] // 2
    scope = kernel.rsplit("/", 2)[0]
    return CellStep("gru", scope, {"gates_kernel": kernel, "gates_bias": bias, "candidate_kernel": ckernel,
                                   "candidate_bias": cbias}, 0.0, strip(concat.inputs[0]), h_prev, None,
                    new_h_op.outputs[0], None, k.shape[0] - units, units)


CELL = Cell("gru", "MatMul", match_gru, "`GRUCell`", "`tfm.GRU(reset_after=False)`")
