"""contrib LSTMBlockCell / LSTMBlockFusedCell: same variables and columns as LSTMCell ("consistent with
rnn_cell.LSTMCell"), computed by one `LSTMBlockCell` (or `BlockLSTM`) op whose `forget_bias` attr is added to f.

By name alone it cannot be told from an LSTMCell (same `lstm_cell/kernel`), so name recognition calls it `lstm`;
the `.meta` graph tells (its op type). LSTMBlockFusedCell opens `lstm_fused_cell`.
Source: tensorflow/contrib/rnn/python/ops/lstm_ops.py, tensorflow/contrib/rnn/ops/lstm_ops.cc (r1.15).
"""

from __future__ import annotations

from migrate.checkpoint.cell_layouts.lstm import LAYOUT as _LSTM
from migrate.checkpoint.cell_layouts.lstm import TF1_GATES, _LSTMFamily, _members

LAYOUT = _LSTMFamily(
    name="lstm_block", family="lstm",
    tf1_classes=("contrib LSTMBlockCell", "contrib LSTMBlockFusedCell"),
    scopes=("lstm_fused_cell",),            # LSTMBlockCell itself opens `lstm_cell`, like LSTMCell
    members={"tf>=1.2": _members("kernel", "bias"), "tf<=1.1": _members("weights", "biases")},
    roles=("kernel", "bias"), optional_roles=_LSTM.optional_roles,
    tf1_gates=TF1_GATES, keras_gates=("i", "f", "c", "o"),
    graph_ops=("LSTMBlockCell", "BlockLSTM", "BlockLSTMV2"),
    folds_forget_bias=True,
    forget_bias_rule="the `forget_bias` attr of the LSTMBlockCell / BlockLSTM op reading the kernel",
    source="tensorflow/contrib/rnn/python/ops/lstm_ops.py",
    scope_classes=(("lstm_fused_cell", "contrib LSTMBlockFusedCell"),),
)
