"""contrib `CudnnCompatibleGRUCell` (tf.contrib.cudnn_rnn, TF 1.5 - 1.15): cuDNN's GRU step written as TF ops, the
cell a CPU graph uses to run CudnnGRU's canonical weights; Keras' `GRU(reset_after=True)`.

contrib's `call` (tensorflow/contrib/cudnn_rnn/python/ops/cudnn_rnn_ops.py r1.15):
`r, u = split(sigmoid([x, h] @ gates/kernel + gates/bias), 2)`;
`c = tanh(x @ candidate/input_projection/kernel + b_in + r * (h @ candidate/hidden_projection/kernel + b_hid))`;
`h' = (1 - u) * c + u * h`. The reset gate multiplies the projected state (after the matmul), as in cuDNN and Keras
`reset_after=True`, not the state (GRUCell): a different function, so `gru_cell` does not take it.
"""

from __future__ import annotations

from migrate.graph.constructs.base import Cell
from migrate.graph.matching import BIAS, consumers, matmul_bias, only, other, strip
from migrate.graph.meta import GraphView
from migrate.graph.rnn import CellStep


def _projection(view: GraphView, t):
    """`t` = `a @ kernel + bias` on variables -> (a, kernel, bias) or None."""
    add = t.op
    if add.type not in BIAS:
        return None
    for mm, b in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])):
        if mm.op.type != "MatMul" or mm.op.get_attr("transpose_a") or mm.op.get_attr("transpose_b"):
            continue
        kernel, bias = view.variable_of(mm.op.inputs[1]), view.variable_of(b)
        if kernel is not None and bias is not None:
            return mm.op.inputs[0], kernel, bias
    return None


def match_cudnn_compatible_gru(view: GraphView, matmul) -> CellStep | None:
    """From the MatMul on `gates/kernel`: sigmoid, split (r, u); `r * (h @ W_hid + b_hid)` added to
    `x @ W_in + b_in`, tanh; `(1 - u) * c + u * h`."""
    found = matmul_bias(view, matmul)
    if found is None:
        return None
    kernel, concat, bias_op, bias = found
    sig = only(consumers(bias_op.outputs[0]), ("Sigmoid",))
    split = only(consumers(sig.outputs[0]), ("Split",)) if sig is not None else None
    if split is None or int(split.get_attr("num_split")) != 2:
        return None
    r, u = split.outputs
    x, h_prev = concat.inputs[0], concat.inputs[1]
    r_hid = only(consumers(r), ("Mul",))
    if r_hid is None:
        return None
    hid = _projection(view, other(r_hid, r))
    add = only(consumers(r_hid.outputs[0]), ("Add", "AddV2"))
    if hid is None or add is None or strip(hid[0]).name != strip(h_prev).name:
        return None
    inp = _projection(view, other(add, r_hid.outputs[0]))
    tanh = only(consumers(add.outputs[0]), ("Tanh",))
    if inp is None or tanh is None or strip(inp[0]).name != strip(x).name:
        return None
    mul_c = only(consumers(tanh.outputs[0]), ("Mul",))
    if mul_c is None:
        return None
    one_minus_u = other(mul_c, tanh.outputs[0]).op
    new_h = only(consumers(mul_c.outputs[0]), ("Add", "AddV2"))
    if one_minus_u.type != "Sub" or one_minus_u.inputs[1].name != u.name or new_h is None:
        return None
    units = view.variable_values(kernel).shape[1] // 2
    input_size = view.variable_values(kernel).shape[0] - units
    return CellStep("gru", kernel.rsplit("/", 2)[0], {
        "gates_kernel": kernel, "gates_bias": bias, "input_kernel": inp[1], "input_bias": inp[2],
        "hidden_kernel": hid[1], "hidden_bias": hid[2]}, 0.0, strip(x), h_prev, None, new_h.outputs[0], None,
        input_size, units, tf1="CudnnCompatibleGRUCell", layout="cudnn_gru")


CELL = Cell("cudnn_compatible_gru", "MatMul", match_cudnn_compatible_gru,
            "contrib `CudnnCompatibleGRUCell` (CudnnGRU's canonical weights as TF ops)",
            "`tfm.GRU(reset_after=True)`: columns z (TF1's u), r, h; `gates/bias` the input bias row, the recurrent "
            "row's z, r blocks 0, the candidate's two biases one per row (`cudnn_params.tf_canonical_gru_to_keras`); in a "
            "decoder layer (greedy, beam search, attention, raw_rnn, legacy) its family `gru_reset_after`")
