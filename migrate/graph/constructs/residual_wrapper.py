"""`ResidualWrapper(cell)` at any depth of a `dynamic_rnn`'s `MultiRNNCell`: the cell's output plus its input
(`inputs + outputs`), the state the cell's own. The layer's outputs get the layer's inputs added
(`keras.ops.add`)."""

from __future__ import annotations

from migrate.graph.constructs.base import Construct
from migrate.graph.matching import strip


def is_residual(t, step) -> bool:
    """`t` (what the next layer reads, or what the loop writes) = `step`'s input + `step`'s output."""
    t = strip(t)
    if t.op.type not in ("Add", "AddV2"):
        return False
    got = {strip(i).name for i in t.op.inputs}
    return got == {strip(step.new_h).name, step.x.name}


def emit_residual(em, seq_out: str, seq_in: str, scope: str) -> str:
    """`seq_out + seq_in` -> the sum's variable."""
    return em.emit(f"keras.ops.add({seq_out}, {seq_in})", "residual",
                   comment=f"ResidualWrapper around {scope}: output + input")[0].var


CONSTRUCT = Construct(
    "residual_wrapper", None,
    "`ResidualWrapper(cell)` at any depth of a `dynamic_rnn`'s `MultiRNNCell` (inside or around a `DropoutWrapper`)",
    "the cell's layer, then `keras.ops.add(outputs, inputs)`")
