"""contrib `GRUBlockCell`: the fused op, GRUCell's equations and layout."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import CellStep


def match_gru_block(view: GraphView, op) -> CellStep | None:
    """contrib `GRUBlockCell` (one op: x, h_prev, w_ru, w_c, b_ru, b_c; outputs r, u, c, h): GRUCell's equations
    and layout (`w_ru` columns r, u; `w_c` the candidate), so the GRU layout converts its weights."""
    if op.type != "GRUBlockCell":
        return None
    names = [view.variable_of(op.inputs[k]) for k in (2, 4, 3, 5)]
    if any(n is None for n in names):
        return None
    k = view.variable_values(names[0])
    units = k.shape[1] // 2
    return CellStep("gru", names[0].rsplit("/", 1)[0], dict(zip(
        ("gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias"), names)), 0.0, strip(op.inputs[0]),
        op.inputs[1], None, op.outputs[3], None, k.shape[0] - units, units, tf1="GRUBlockCell")


CELL = Cell("gru_block", "GRUBlockCell", match_gru_block, "contrib `GRUBlockCell` (the fused op)",
            "`tfm.GRU(reset_after=False)`", weight_input=2)
