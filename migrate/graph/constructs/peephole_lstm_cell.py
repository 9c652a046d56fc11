"""`LSTMCell` with what a Keras LSTM lacks: peepholes (`use_peepholes=True`), a projection (`num_proj`,
`proj_clip`), `cell_clip`. One step from the MatMul on its kernel; it becomes a `tfm.PeepholeLSTM`
(tf_migrate_runtime/layers/peephole_lstm.py), its weights TF1's own (`kernel`, `bias`, `w_f_diag`, `w_i_diag`,
`w_o_diag`, `projection/kernel`), the forget bias added at run time as TF1 does."""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import const_scalar, consumers, gate_split, only, other, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import ACTIVATIONS, CellStep

_ADD = ("Add", "AddV2")


def _gate(view, t):
    """A split block `t` -> `sigmoid(t [+ const] [+ w_diag * s])`: (the Sigmoid op, the constant, the w_diag
    variable or None, the tensor `s` it multiplies), else None."""
    const, peep, peep_of = 0.0, None, None
    for _ in range(3):
        nxt = only(consumers(t), (*_ADD, "Sigmoid"))
        if nxt is None:
            return None
        if nxt.type == "Sigmoid":
            return nxt, const, peep, peep_of
        o = other(nxt, t)
        v = const_scalar(view, o)
        if v is not None:
            const += v
        elif o.op.type == "Mul" and peep is None:
            a, b = o.op.inputs
            if view.variable_of(a) is None:
                a, b = b, a
            peep, peep_of = view.variable_of(a), b
            if peep is None:
                return None
        else:
            return None
        t = nxt.outputs[0]
    return None


def _clip(view, t):
    """`clip_by_value(t, -k, k)` (`Maximum(Minimum(t, k), -k)`, or one `ClipByValue`) -> (its output, k), else
    (t, None)."""
    cons = consumers(t)
    if len(cons) >= 1:
        mn = only(cons, ("Minimum",))
        if mn is not None:
            k = const_scalar(view, other(mn, t))
            mx = only(consumers(mn.outputs[0]), ("Maximum",))
            if k is not None and mx is not None and const_scalar(view, other(mx, mn.outputs[0])) == -k:
                return mx.outputs[0], k
        cl = only(cons, ("ClipByValue",))
        if cl is not None:
            lo, hi = const_scalar(view, cl.inputs[1]), const_scalar(view, cl.inputs[2])
            if hi is not None and lo == -hi:
                return cl.outputs[0], hi
    return t, None


def projection_of(view, m):
    """`m @ <cell>/projection/kernel` (LSTMCell's `num_proj`) -> (the MatMul op, the kernel), else None."""
    for c in consumers(m):
        if c.type == "MatMul" and c.inputs[0].name == m.name and not c.get_attr("transpose_a") and \
                not c.get_attr("transpose_b"):
            kernel = view.variable_of(c.inputs[1])
            if kernel is not None and kernel.endswith("/projection/kernel"):
                return c, kernel
    return None


def match_peephole_lstm(view: GraphView, matmul) -> CellStep | None:
    """LSTMCell (rnn_cell_impl.py) with peepholes, a cell clip or a projection: concat([x, m]) @ kernel + bias ->
    split 4 (i, j, f, o); c = sigmoid(f + forget_bias [+ w_f_diag * c_prev]) * c_prev + sigmoid(i [+ w_i_diag *
    c_prev]) * act(j) [clipped]; m = sigmoid(o [+ w_o_diag * c]) * act(c) [@ projection/kernel [clipped]]."""
    found = gate_split(view, matmul, 4)
    if found is None:
        return None
    kernel, concat, bias_op, bias, split = found
    i, j, f, o = split.outputs
    gates = [_gate(view, t) for t in (i, f, o)]
    if None in gates:
        return None
    (sig_i, ci, w_i, pi), (sig_f, fb, w_f, pf), (sig_o, co, w_o, po) = gates
    peepholes = [w is not None for w in (w_i, w_f, w_o)]
    if ci != 0.0 or co != 0.0 or any(peepholes) and not all(peepholes):
        return None
    act_j = only(consumers(j), tuple(ACTIVATIONS))
    mul_f = only(consumers(sig_f.outputs[0]), ("Mul",))
    mul_i = only(consumers(sig_i.outputs[0]), ("Mul",))
    if act_j is None or mul_f is None or mul_i is None or act_j.outputs[0].name != other(mul_i, sig_i.outputs[0]).name:
        return None
    c_prev = other(mul_f, sig_f.outputs[0])
    new_c_op = only(consumers(mul_f.outputs[0]), _ADD)
    if new_c_op is None or mul_i.outputs[0].name != other(new_c_op, mul_f.outputs[0]).name:
        return None
    new_c, cell_clip = _clip(view, new_c_op.outputs[0])
    if all(peepholes) and not (strip(pf).name == strip(pi).name == strip(c_prev).name and po.name == new_c.name):
        return None
    act_c = only(consumers(new_c), (act_j.type,))
    m_op = only(consumers(act_c.outputs[0]), ("Mul",)) if act_c is not None else None
    if m_op is None or sig_o.outputs[0].name != other(m_op, act_c.outputs[0]).name:
        return None
    new_h, proj, proj_clip = m_op.outputs[0], None, None
    found_proj = projection_of(view, new_h)
    if found_proj is not None:
        proj = found_proj[1]
        new_h, proj_clip = _clip(view, found_proj[0].outputs[0])
    if not any(peepholes) and cell_clip is None and proj is None:
        return None   # the plain form: constructs/lstm_cell.py's
    k = view.variable_values(kernel)
    units = k.shape[1] // 4
    out_units = view.variable_values(proj).shape[1] if proj else units
    variables = {"kernel": kernel, "bias": bias}
    if all(peepholes):
        variables.update(w_f_diag=w_f, w_i_diag=w_i, w_o_diag=w_o)
    if proj:
        variables["projection"] = proj
    return CellStep("lstm", kernel.rsplit("/", 1)[0], variables, float(fb), strip(concat.inputs[0]),
                    concat.inputs[1], c_prev, new_h, new_c, k.shape[0] - out_units, units, tf1="LSTMCell",
                    layout="tf1_lstm", activation=ACTIVATIONS[act_j.type],
                    options={"use_peepholes": all(peepholes), "num_proj": out_units if proj else None,
                             "cell_clip": cell_clip, "proj_clip": proj_clip})


CELL = Cell("peephole_lstm", "MatMul", match_peephole_lstm,
            "`LSTMCell(use_peepholes=True)`, `LSTMCell(num_proj=..., proj_clip=...)`, `LSTMCell(cell_clip=...)` (any "
            "mix, any `activation` of the LSTM row)",
            "`tfm.PeepholeLSTM` (a `keras.layers.RNN` over TF1's LSTMCell equations; weights TF1's own: `kernel`, "
            "`bias`, `w_f_diag`, `w_i_diag`, `w_o_diag`, `projection_kernel`; the forget bias added at run time)")
