"""contrib `LSTMBlockCell`: the fused op (forget bias an attribute of the op)."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.ir import Unsupported
from migrate.graph.matching import strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import CellStep


def match_lstm_block(view: GraphView, op) -> CellStep | None:
    """contrib `LSTMBlockCell` (one fused op: x, cs_prev, h_prev, w, wci, wcf, wco, b; outputs i, cs, f, o, ci, co,
    h): the same kernel / bias layout and gate order as LSTMCell, the forget bias an attribute of the op."""
    if op.type != "LSTMBlockCell":
        return None
    if op.get_attr("use_peephole"):
        raise Unsupported(f"{op.name}: LSTMBlockCell with peepholes (Keras LSTM has none)")
    if op.get_attr("cell_clip") > 0:
        raise Unsupported(f"{op.name}: LSTMBlockCell with cell_clip")
    kernel, bias = view.variable_of(op.inputs[3]), view.variable_of(op.inputs[7])
    if kernel is None or bias is None:
        return None
    k = view.variable_values(kernel)
    units = k.shape[1] // 4
    scope = kernel.rsplit("/", 1)[0]
    # contrib.cudnn_rnn's CudnnCompatibleLSTMCell is an LSTMBlockCell(forget_bias=0, no peepholes, no clip) named
    # `cudnn_compatible_lstm_cell`: the same op, told apart by its scope
    tf1 = "CudnnCompatibleLSTMCell" if scope.rsplit("/", 1)[-1] == "cudnn_compatible_lstm_cell" else "LSTMBlockCell"
    return CellStep("lstm", scope, {"kernel": kernel, "bias": bias},
                    float(op.get_attr("forget_bias")), strip(op.inputs[0]), op.inputs[2], op.inputs[1],
                    op.outputs[6], op.outputs[1], k.shape[0] - units, units, tf1=tf1)


CELL = Cell("lstm_block", "LSTMBlockCell", match_lstm_block,
            "contrib `LSTMBlockCell`, `CudnnCompatibleLSTMCell` (the fused op; forget bias from the op attribute)",
            "`tfm.LSTM(forget_bias=F)`", weight_input=3)
