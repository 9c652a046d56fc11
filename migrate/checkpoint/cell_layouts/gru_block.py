"""contrib GRUBlockCell (TF 1.0-1.15): the GRU equations in one `GRUBlockCell` op, variables `w_ru`, `b_ru`,
`w_c`, `b_c` (r1.15 scope `gru_cell`; r1.0-1.3 scope `GRUBlockCell`). Same columns as GRUCell (r, u; candidate).

GRUBlockCellV2 writes GRUCell's names (`gates/kernel`, ...), so name recognition calls it `gru`.
Source: tensorflow/contrib/rnn/python/ops/gru_ops.py (r1.15: `add_variable("w_ru", [input + cell, 2 * cell])`,
`"b_ru"` init 1.0, `"w_c"`, `"b_c"` init 0.0; op inputs x, h_prev, w_ru, w_c, b_ru, b_c).
"""

from __future__ import annotations

from migrate.checkpoint.cell_layouts.gru import KERAS_GATES, ROLES, TF1_GATES, _GRUFamily

_MEMBERS = {"w_ru": "gates_kernel", "b_ru": "gates_bias", "w_c": "candidate_kernel", "b_c": "candidate_bias"}

LAYOUT = _GRUFamily(
    name="gru_block", family="gru",
    tf1_classes=("contrib GRUBlockCell",),
    scopes=("gru_cell", "GRUBlockCell", "gru_block_cell"),
    members={"contrib-block": _MEMBERS},
    roles=ROLES, optional_roles=(),
    tf1_gates=TF1_GATES, keras_gates=KERAS_GATES,
    graph_ops=("GRUBlockCell",),
    folds_forget_bias=False,
    forget_bias_rule="none: a GRU has no forget bias",
    source="tensorflow/contrib/rnn/python/ops/gru_ops.py",
)
