"""contrib `LayerNormBasicLSTMCell` (`layer_norm=True`): each gate block and the new cell state layer-normalised
(contrib `layers.layer_norm`: `<cell>/{input,transform,forget,output,state}/gamma`, `beta`), no bias. It becomes a
`tfm.LayerNormLSTM` (tf_migrate_runtime/layers/layer_norm_lstm.py), weights TF1's own."""

from __future__ import annotations

import numpy as np

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import const_scalar, consumers, matmul_concat, only, other, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import ACTIVATIONS, CellStep

_ADD = ("Add", "AddV2")
NORMS = ("input", "transform", "forget", "output", "state")   # contrib's scopes, in the layer's weight order


def layer_norm(view, t):
    """`t` normalised over its last axis as contrib `layers.layer_norm` writes it (`nn.moments` then
    `nn.batch_normalization`: mean, SquaredDifference, variance + epsilon, Rsqrt, * gamma, t * inv + (beta -
    mean * inv)) -> (the output, gamma, beta variable names, epsilon), else None."""
    mean = only(consumers(t), ("Mean",))
    sqd = only(consumers(t), ("SquaredDifference",))
    if mean is None or sqd is None or not view.foldable(mean.inputs[1].op) or \
            [int(a) for a in np.ravel(view.fold(mean.inputs[1]))] not in \
            ([t.shape.rank - 1] if t.shape.rank is not None else [1], [-1]):   # a graph without shapes: a cell's [B, n]
        return None
    var = only(consumers(sqd.outputs[0]), ("Mean",))
    add = only(consumers(var.outputs[0]), _ADD) if var is not None else None
    eps = const_scalar(view, other(add, var.outputs[0])) if add is not None else None
    rsqrt = only(consumers(add.outputs[0]), ("Rsqrt",)) if eps is not None else None
    mul = only(consumers(rsqrt.outputs[0]), ("Mul",)) if rsqrt is not None else None
    if mul is None:
        return None
    gamma = view.variable_of(other(mul, rsqrt.outputs[0]))
    scaled = next((c for c in consumers(mul.outputs[0]) if c.type == "Mul" and
                   other(c, mul.outputs[0]).name == t.name), None)
    out = only(consumers(scaled.outputs[0]), _ADD) if scaled is not None else None
    if gamma is None or out is None:
        return None
    sub = other(out, scaled.outputs[0]).op
    beta = view.variable_of(sub.inputs[0]) if sub.type == "Sub" else None
    if beta is None:
        return None
    return out.outputs[0], gamma, beta, eps


def match_layer_norm_lstm(view: GraphView, matmul) -> CellStep | None:
    """LayerNormBasicLSTMCell: concat([x, h]) @ kernel -> split 4 (i, j, f, o), each layer-normalised;
    c = LN_state(c_prev * sigmoid(f + forget_bias) + sigmoid(i) * act(j)); h = act(c) * sigmoid(o)."""
    found = matmul_concat(view, matmul)
    if found is None:
        return None
    kernel, concat = found
    split = only(consumers(matmul.outputs[0]), ("Split",))
    if split is None or int(split.get_attr("num_split")) != 4:
        return None
    norms = [layer_norm(view, t) for t in split.outputs]
    if None in norms:
        return None
    (i, *_), (j, *_), (f, *_), (o, *_) = norms
    act_j = only(consumers(j), tuple(ACTIVATIONS))
    f_add = only(consumers(f), _ADD)
    fb = const_scalar(view, other(f_add, f)) if f_add is not None else None
    sig_f = only(consumers(f_add.outputs[0]), ("Sigmoid",)) if fb is not None else None
    sig_i, sig_o = only(consumers(i), ("Sigmoid",)), only(consumers(o), ("Sigmoid",))
    if act_j is None or sig_f is None or sig_i is None or sig_o is None:
        return None
    mul_f = only(consumers(sig_f.outputs[0]), ("Mul",))
    mul_i = only(consumers(sig_i.outputs[0]), ("Mul",))
    if mul_f is None or mul_i is None or strip(other(mul_i, sig_i.outputs[0])).name != act_j.outputs[0].name:
        return None   # (a recurrent dropout on act(j) with keep 1.0 is looked through)
    c_prev = other(mul_f, sig_f.outputs[0])
    raw_c = only(consumers(mul_f.outputs[0]), _ADD)
    state = layer_norm(view, raw_c.outputs[0]) if raw_c is not None else None
    if state is None:
        return None
    new_c = state[0]
    act_c = only(consumers(new_c), (act_j.type,))
    new_h_op = only(consumers(act_c.outputs[0]), ("Mul",)) if act_c is not None else None
    if new_h_op is None or other(new_h_op, act_c.outputs[0]).name != sig_o.outputs[0].name:
        return None
    variables = {"kernel": kernel}
    for name, (_, gamma, beta, _) in zip(NORMS, [*norms, state]):
        variables[f"{name}_gamma"], variables[f"{name}_beta"] = gamma, beta
    k = view.variable_values(kernel)
    units = k.shape[1] // 4
    return CellStep("lstm", kernel.rsplit("/", 1)[0], variables, float(fb), strip(concat.inputs[0]),
                    concat.inputs[1], c_prev, new_h_op.outputs[0], new_c, k.shape[0] - units, units,
                    tf1="LayerNormBasicLSTMCell", layout="layer_norm_lstm", activation=ACTIVATIONS[act_j.type],
                    options={"epsilon": state[3]})


CELL = Cell("layer_norm_lstm", "MatMul", match_layer_norm_lstm,
            "contrib `LayerNormBasicLSTMCell` (`layer_norm=True`; `layer_norm=False` is the `BasicLSTMCell` row)",
            "`tfm.LayerNormLSTM` (a `keras.layers.RNN` over contrib's equations; weights TF1's own: `kernel`, "
            "`{input,transform,forget,output,state}_gamma` / `_beta`; the forget bias added at run time)")
