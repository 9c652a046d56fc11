"""Recurrent constructs of a TF1 graph -> Keras RNN layers.

Two recognisers, both built on one cell-step matcher per cell family (the table `CELL_MATCHERS`: LSTMCell /
BasicLSTMCell and GRUCell from their MatMul, contrib LSTMBlockCell / GRUBlockCell from their fused op):

- `dynamic_rnn` (and each direction of `bidirectional_dynamic_rnn`, and `MultiRNNCell` layers inside one
  loop): a control-flow-v1 while frame (`rnn/while/...`) whose body runs cell steps. Its input is the value
  `TensorArrayScatterV3` unstacks, its output the `TensorArrayGatherV3` of what the body wrote, its final states
  the `Exit`s of the state loop variables, its initial states the `Enter`s of them, `sequence_length` the tensor
  the body's `GreaterEqual(time, ...)` reads. It becomes one `keras.layers.LSTM` / `GRU(reset_after=False)` per
  layer with `return_sequences=True, return_state=True`, a mask from the lengths, and the outputs past each
  length zeroed as TF1 does (`tfm.ZeroPastLength`).
- `static_rnn` (unrolled): the same cell step repeated outside any loop, one step per time step, all reading one
  kernel; step k's state is step k-1's new state (directly, or via `concat([c, h])` / `split` when
  `state_is_tuple=False`). It becomes one Keras layer over `keras.ops.stack(steps, axis=1)`.

Weights go through the cell-layout registry (`migrate.checkpoint.cell_layouts`): gate order, the forget bias
(read from the graph's `add` Const of THIS cell) folded into the Keras bias. DropoutWrapper ops are identity at
inference (keep_prob fixed to 1.0) and are looked through.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from migrate.checkpoint.cell_layouts.gru import gru_to_keras
from migrate.checkpoint.cell_layouts.lstm import lstm_to_keras
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.meta import GraphView, is_gradient

_PASS = ("Identity", "Snapshot")


# ------------------------------------------------------------------------------------------------ helpers
def _consumers(t):
    return [c for c in t.consumers() if not is_gradient(c.name)]


def _strip(t, view: GraphView | None = None):
    """Look through Identity and DropoutWrapper (identity at inference) ops."""
    for _ in range(20):
        if t.op.type in _PASS and t.op.inputs:
            t = t.op.inputs[0]
            continue
        if "dropout" in t.op.name.rsplit("/", 1)[0].split("/")[-1] or "/dropout/" in t.op.name:
            inner = _dropout_input(t)
            if inner is not None:
                t = inner
                continue
        break
    return t


def _dropout_input(t):
    """The tensor a `tf.nn.dropout` subgraph (scope `.../dropout/`) was applied to."""
    scope = t.op.name[: t.op.name.rfind("dropout") + len("dropout")]
    stack, seen = [t.op], set()
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen.add(o.name)
        for i in o.inputs:
            if i.op.name.startswith(scope + "/") or i.op.name == scope:
                stack.append(i.op)
            elif i.dtype.is_floating and i.shape.rank not in (0,) and i.op.type not in ("Const", "Placeholder",
                                                                                      "PlaceholderWithDefault",
                                                                                      "Enter") or \
                    i.op.type == "Enter" and i.shape.rank not in (0, None) and i.dtype.is_floating and \
                    not i.op.inputs[0].op.type.startswith("Placeholder"):
                return i
    return None


def _other(op, t):
    """The input of a binary op that is not `t`."""
    a, b = op.inputs[0], op.inputs[1]
    return b if a.name == t.name else a


def _only(ops, types):
    got = [o for o in ops if o.type in types]
    return got[0] if len(got) == 1 else None


def _const_scalar(view, t):
    if view.foldable(t.op):
        v = np.asarray(view.fold(t))
        if v.size == 1:
            return float(v.reshape(()))
    return None


# ------------------------------------------------------------------------------------------------ cell steps
@dataclass
class CellStep:
    family: str                 # "lstm" | "gru"
    scope: str                  # the cell's variable scope (`rnn/lstm_cell`)
    variables: dict             # role -> variable op name
    forget_bias: float
    x: object                   # the step input (stripped)
    h_prev: object
    c_prev: object | None
    new_h: object
    new_c: object | None
    input_size: int
    units: int
    tf1: str = ""               # the TF1 class name when the matcher knows it exactly
    layout: str = ""            # "cifg": W_0/B are j, f, o (cell_layouts.cifg); "" the family's own layout


def _matmul_bias(view: GraphView, matmul):
    """`concat([x, h]) @ kernel + bias` on variables -> (kernel, concat op, the bias add op, bias) or None."""
    kernel = view.variable_of(matmul.inputs[1])
    concat = matmul.inputs[0].op
    if kernel is None or concat.type not in ("ConcatV2", "Concat") or len(concat.inputs) != 3:
        return None
    if concat.type == "Concat":  # TF < 1.0: Concat(axis, x, h); seen as its values [x, h] (ConcatV2 order)
        concat = SimpleNamespace(type="Concat", inputs=list(concat.inputs)[1:], outputs=concat.outputs)
    bias_op = _only(_consumers(matmul.outputs[0]), ("BiasAdd", "Add", "AddV2"))
    if bias_op is None:
        return None
    bias = view.variable_of(bias_op.inputs[1])
    if bias is None:
        return None
    return kernel, concat, bias_op, bias


def match_lstm(view: GraphView, matmul) -> CellStep | None:
    """LSTMCell / BasicLSTMCell: concat([x, h]) @ kernel + bias -> split 4 (i, j, f, o);
    c = c_prev * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j); h = tanh(c) * sigmoid(o)."""
    found = _matmul_bias(view, matmul)
    if found is None:
        return None
    kernel, concat, bias_op, bias = found
    split = _only(_consumers(bias_op.outputs[0]), ("Split",))
    if split is None or int(split.get_attr("num_split")) != 4:
        return None
    i, j, f, o = split.outputs
    fb, f_sig = 0.0, None
    for c in _consumers(f):
        if c.type in ("Add", "AddV2"):
            fb = _const_scalar(view, _other(c, f))
            sig = _only(_consumers(c.outputs[0]), ("Sigmoid",))
            if fb is None or sig is None:
                return None
            f_sig = sig
        elif c.type == "Sigmoid":
            f_sig = c
    if f_sig is None:
        return None
    mul_f = _only(_consumers(f_sig.outputs[0]), ("Mul",))
    if mul_f is None:
        return None
    c_prev = _other(mul_f, f_sig.outputs[0])
    new_c_op = _only(_consumers(mul_f.outputs[0]), ("Add", "AddV2"))
    if new_c_op is None:
        return None
    tanh_c = _only(_consumers(new_c_op.outputs[0]), ("Tanh",))
    if tanh_c is None:
        return None
    new_h_op = _only(_consumers(tanh_c.outputs[0]), ("Mul",))
    if new_h_op is None:
        return None
    k = view.variable_values(kernel)
    units = k.shape[1] // 4
    return CellStep("lstm", kernel.rsplit("/", 1)[0], {"kernel": kernel, "bias": bias}, float(fb),
                    _strip(concat.inputs[0]), concat.inputs[1], c_prev, new_h_op.outputs[0], new_c_op.outputs[0],
                    k.shape[0] - units, units)


def match_cifg(view: GraphView, matmul) -> CellStep | None:
    """contrib.rnn.CoupledInputForgetGateLSTMCell (no peepholes / projection): concat([x, h]) @ W_0 + B -> split 3
    (j, f, o); f_act = sigmoid(f + forget_bias); c = f_act * c_prev + (1 - f_act) * tanh(j); h = sigmoid(o) *
    tanh(c). A Keras LSTM with the input gate -(f + forget_bias) computes exactly that (cell_layouts.cifg)."""
    found = _matmul_bias(view, matmul)
    if found is None:
        return None
    kernel, concat, bias_op, bias = found
    split = _only(_consumers(bias_op.outputs[0]), ("Split",))
    if split is None or int(split.get_attr("num_split")) != 3:
        return None
    j, f, o = split.outputs
    fb, pre = 0.0, f
    add = _only(_consumers(f), ("Add", "AddV2"))
    if add is not None:
        fb, pre = _const_scalar(view, _other(add, f)), add.outputs[0]
    f_sig = _only(_consumers(pre), ("Sigmoid",))
    if fb is None or f_sig is None:
        return None
    mul_f, sub = _only(_consumers(f_sig.outputs[0]), ("Mul",)), _only(_consumers(f_sig.outputs[0]), ("Sub",))
    if mul_f is None or sub is None or sub.inputs[1] is not f_sig.outputs[0] or \
            _const_scalar(view, sub.inputs[0]) != 1.0:
        return None
    new_c_op = _only(_consumers(mul_f.outputs[0]), ("Add", "AddV2"))
    tanh_c = _only(_consumers(new_c_op.outputs[0]), ("Tanh",)) if new_c_op is not None else None
    new_h_op = _only(_consumers(tanh_c.outputs[0]), ("Mul",)) if tanh_c is not None else None
    o_sig = _only(_consumers(o), ("Sigmoid",))
    tanh_j = _only(_consumers(j), ("Tanh",))
    if new_h_op is None or o_sig is None or tanh_j is None or o_sig.outputs[0] not in list(new_h_op.inputs):
        return None   # peepholes or a projection: not this plain form
    k = view.variable_values(kernel)
    units = k.shape[1] // 3
    return CellStep("lstm", kernel.rsplit("/", 1)[0], {"kernel": kernel, "bias": bias}, float(fb),
                    _strip(concat.inputs[0]), concat.inputs[1], _other(mul_f, f_sig.outputs[0]),
                    new_h_op.outputs[0], new_c_op.outputs[0], k.shape[0] - units, units,
                    tf1="CoupledInputForgetGateLSTMCell", layout="cifg")


def match_gru(view: GraphView, matmul) -> CellStep | None:
    """GRUCell (TF >= 1.2): gates = sigmoid(concat([x, h]) @ gates/kernel + gates/bias) -> split 2 (r, u);
    c = tanh(concat([x, r * h]) @ candidate/kernel + candidate/bias); h = u * h_prev + (1 - u) * c."""
    found = _matmul_bias(view, matmul)
    if found is None:
        return None
    kernel, concat, bias_op, bias = found
    sig = _only(_consumers(bias_op.outputs[0]), ("Sigmoid",))
    if sig is None:
        return None
    split = _only(_consumers(sig.outputs[0]), ("Split",))
    if split is None or int(split.get_attr("num_split")) != 2:
        return None
    r, u = split.outputs
    h_prev = concat.inputs[1]
    r_h = _only(_consumers(r), ("Mul",))
    if r_h is None:
        return None
    concat2 = _only(_consumers(r_h.outputs[0]), ("ConcatV2", "Concat"))
    if concat2 is None:
        return None
    mm2 = _only(_consumers(concat2.outputs[0]), ("MatMul",))
    if mm2 is None:
        return None
    ckernel = view.variable_of(mm2.inputs[1])
    cb_op = _only(_consumers(mm2.outputs[0]), ("BiasAdd", "Add", "AddV2"))
    if ckernel is None or cb_op is None:
        return None
    cbias = view.variable_of(cb_op.inputs[1])
    tanh = _only(_consumers(cb_op.outputs[0]), ("Tanh",))
    if cbias is None or tanh is None:
        return None
    mul_c = _only(_consumers(tanh.outputs[0]), ("Mul",))
    new_h_op = _only(_consumers(mul_c.outputs[0]), ("Add", "AddV2")) if mul_c is not None else None
    if new_h_op is None:
        return None
    k = view.variable_values(kernel)
    units = k.shape[1] // 2
    scope = kernel.rsplit("/", 2)[0]
    return CellStep("gru", scope, {"gates_kernel": kernel, "gates_bias": bias, "candidate_kernel": ckernel,
                                   "candidate_bias": cbias}, 0.0, _strip(concat.inputs[0]), h_prev, None,
                    new_h_op.outputs[0], None, k.shape[0] - units, units)


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
    return CellStep("lstm", kernel.rsplit("/", 1)[0], {"kernel": kernel, "bias": bias},
                    float(op.get_attr("forget_bias")), _strip(op.inputs[0]), op.inputs[2], op.inputs[1],
                    op.outputs[6], op.outputs[1], k.shape[0] - units, units, tf1="LSTMBlockCell")


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
        ("gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias"), names)), 0.0, _strip(op.inputs[0]),
        op.inputs[1], None, op.outputs[3], None, k.shape[0] - units, units, tf1="GRUBlockCell")


CELL_MATCHERS = {  # the op a step is found from -> its matchers, one entry per cell family
    "MatMul": (match_lstm, match_gru, match_cifg),
    "LSTMBlockCell": (match_lstm_block,),
    "GRUBlockCell": (match_gru_block,),
}


def match_step(view, op) -> CellStep | None:
    for m in CELL_MATCHERS.get(op.type, ()):
        step = m(view, op)
        if step is not None:
            return step
    return None


def _weight_input(op):
    """The input through which a step op reads its kernel (MatMul: 1, LSTMBlockCell: w = 3, GRUBlockCell: 2)."""
    return op.inputs[_WEIGHT_INPUT.get(op.type, 1)]


_WEIGHT_INPUT = {"LSTMBlockCell": 3, "GRUBlockCell": 2}   # which input of a step op is its kernel


def keras_weights(view: GraphView, step: CellStep) -> list[np.ndarray]:
    v = {role: view.variable_values(name) for role, name in step.variables.items()}
    if step.layout == "cifg":
        from migrate.checkpoint.cell_layouts.cifg import cifg_to_lstm  # noqa: PLC0415

        v["kernel"], v["bias"] = cifg_to_lstm(v["kernel"], v["bias"], step.forget_bias)
    if step.family == "lstm":
        return list(lstm_to_keras(v["kernel"], v["bias"], step.input_size, step.forget_bias))
    return list(gru_to_keras(v["gates_kernel"], v["gates_bias"], v["candidate_kernel"], v["candidate_bias"],
                             step.input_size))


def layer_ctor(step: CellStep, name: str) -> str:
    if step.family == "lstm":
        return (f"keras.layers.LSTM({step.units}, return_sequences=True, return_state=True, name={name!r})")
    return (f"keras.layers.GRU({step.units}, reset_after=False, return_sequences=True, return_state=True, "
            f"name={name!r})")


def tf1_class(step: CellStep) -> str:
    return step.tf1 or {"lstm": "LSTMCell/BasicLSTMCell", "gru": "GRUCell"}[step.family]


# ------------------------------------------------------------------------------------------------ providers
class Provider:
    kind = "rnn"

    def __init__(self, name, inputs, provides):
        self.name, self.inputs, self.provides = name, inputs, provides


@dataclass
class _LoopVar:
    enter: object
    merge: object
    exit: object | None
    body: object          # the Identity inside the body (value at this step)
    next: object          # the NextIteration's input


def _loop_var_of(t) -> _LoopVar | None:
    """The loop variable whose body value `t` is (Identity(Switch:1) of Merge(Enter, NextIteration))."""
    t0 = t
    while t.op.type == "Identity" and t.op.inputs[0].op.type != "Switch":
        t = t.op.inputs[0]
    if t.op.type != "Identity" or t.op.inputs[0].op.type != "Switch":
        return None
    switch = t.op.inputs[0].op
    merge = switch.inputs[0].op
    if merge.type != "Merge":
        return None
    enter = next((i.op for i in merge.inputs if i.op.type == "Enter"), None)
    nxt = next((i.op for i in merge.inputs if i.op.type == "NextIteration"), None)
    if enter is None or nxt is None:
        return None
    exit_op = next((c for c in switch.outputs[0].consumers() if c.type == "Exit"), None)
    del t0
    return _LoopVar(enter, merge, exit_op, t, nxt.inputs[0])


def _strip_select(t):
    """`Select(time >= len, old, new)` -> (new, the length tensor's Enter input) ; else (t, None)."""
    if t.op.type in ("Select", "SelectV2"):
        cond = t.op.inputs[0].op
        if cond.type == "GreaterEqual":
            length = cond.inputs[1]
            if length.op.type == "Enter":
                return t.op.inputs[2], length.op.inputs[0]
    return t, None


def _is_zero_state(view, t) -> bool:
    """A `cell.zero_state(batch)` / `tf.zeros([batch, n])` tensor (dropped: Keras starts from zeros)."""
    o = t.op
    while o.type in _PASS:
        o = o.inputs[0].op
    if o.type == "Fill":
        v = _const_scalar(view, o.inputs[1])
        return v == 0.0
    if o.type in ("ZerosLike",):
        return True
    if view.foldable(o):
        return not np.any(view.fold(o.outputs[0]))
    return False


def initial_states(view, states, inputs: list) -> list[dict]:
    """Per layer {role: tensor} of the loop's non-zero initial states; each tensor is appended to `inputs`."""
    inits = []
    for st in states:
        init = {}
        for role in ("h", "c"):
            lv = st.get(role)
            if lv is not None and not _is_zero_state(view, lv.enter.inputs[0]):
                init[role] = lv.enter.inputs[0]
                inputs.append(lv.enter.inputs[0])
        inits.append(init)
    return inits


def final_state_names(states) -> list[str]:
    """The names of the loop's final states (the Exit of each state loop variable)."""
    return [lv.exit.outputs[0].name for st in states for lv in st.values() if lv is not None and lv.exit is not None]


def emit_rnn_layer(em: Emitter, view, step: CellStep, seq: str, init: dict, mask: str | None, construct: str):
    """One Keras LSTM/GRU layer for `step` run over `seq` -> (layer name, [seq, h(, c)] variables)."""
    lname = em.layer_name(step.scope)
    layer = em.new_ident(lname.replace("__", "_"))
    fb = f", forget bias {step.forget_bias:g} folded" if step.family == "lstm" else ""
    em.line(f"{layer} = {layer_ctor(step, lname)}", f"{tf1_class(step)} {step.scope}{fb}")
    em.weights[lname] = keras_weights(view, step)
    em.constructs[f"{construct} {tf1_class(step)} -> keras.layers.{step.family.upper()}"] += 1
    args = [seq]
    if mask is not None:
        args.append(f"mask={mask}")
    if init:
        if step.family == "lstm":
            h0 = em.value(init["h"]) if "h" in init else f"keras.ops.zeros_like({em.value(init['c'])})"
            c0 = em.value(init["c"]) if "c" in init else f"keras.ops.zeros_like({h0})"
            args.append(f"initial_state=[{h0}, {c0}]")
        else:
            args.append(f"initial_state=[{em.value(init['h'])}]")
    names = [em.new_ident(f"{lname}_seq"), em.new_ident(f"{lname}_h")]
    if step.family == "lstm":
        names.append(em.new_ident(f"{lname}_c"))
    em.lines.append(f"{', '.join(names)} = {layer}({', '.join(args)})")
    return lname, names


class WhileRNN(Provider):
    kind = "dynamic_rnn"

    def __init__(self, view, frame, layers, x_seq, x_batch_major, lengths, states, gather, gather_bm):
        self.view, self.frame, self.layers = view, frame, layers
        self.x_seq, self.x_batch_major, self.lengths = x_seq, x_batch_major, lengths
        self.states = states            # per layer: {"h": _LoopVar, "c": _LoopVar|None}
        self.gather, self.gather_bm = gather, gather_bm
        inputs = [x_seq] + ([lengths] if lengths is not None else [])
        self.init = initial_states(view, states, inputs)
        provides = []
        if gather is not None:
            provides.append(gather.name)
        if gather_bm is not None:
            provides.append(gather_bm.name)
        provides += final_state_names(states)
        super().__init__(frame.split("/while/")[0] if "/while/" in frame else frame, inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        x = next(it)
        lengths = next(it) if self.lengths is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        em.comment(f"tf.nn.dynamic_rnn (while loop {self.frame}): {len(self.layers)} layer(s) {kinds}"
                   + (" with sequence_length" if lengths is not None else "")
                   + (" (MultiRNNCell)" if len(self.layers) > 1 else ""))
        seq = em.value(x)
        if not self.x_batch_major:
            seq = em.emit(f"keras.ops.transpose({seq}, (1, 0, 2))", "time_major_to_batch")[0].var
        mask = None
        if lengths is not None:
            mname = em.layer_name(self.name + "/sequence_mask")
            mask = em.emit(f"tfm.SequenceMask(name={mname!r})({em.value(lengths)}, {seq})", "mask",
                           comment="sequence_length -> mask")[0].var
        out = {}
        for step, init, st in zip(self.layers, inits, self.states):
            _, names = emit_rnn_layer(em, self.view, step, seq, init, mask, "dynamic_rnn")
            seq = names[0]
            if st["h"].exit is not None:
                out[st["h"].exit.outputs[0].name] = Sym(var=names[1], dtype="float32",
                                                        shape=tuple(st["h"].exit.outputs[0].shape.as_list())
                                                        if st["h"].exit.outputs[0].shape.rank else None)
            if st.get("c") is not None and st["c"].exit is not None:
                out[st["c"].exit.outputs[0].name] = Sym(var=names[2], dtype="float32")
        if mask is not None:
            zname = em.layer_name(self.name + "/zero_past_length")
            seq = em.emit(f"tfm.ZeroPastLength(name={zname!r})({seq}, {mask})", "outputs",
                          comment="dynamic_rnn writes zeros past each length")[0].var
        final_seq = seq
        if self.gather is not None:
            out[self.gather.name] = Sym(lazy=lambda: em.emit(f"keras.ops.transpose({final_seq}, (1, 0, 2))",
                                                             "outputs_time_major")[0].var, dtype="float32")
        if self.gather_bm is not None:
            out[self.gather_bm.name] = Sym(var=final_seq, dtype="float32")
        em.lines.append("")
        return out


def recognise_while(view: GraphView, outputs) -> dict:
    """Every while frame whose body runs recognised cell steps -> a `WhileRNN` provider."""
    return recognise_frames(view, _while_provider)


def recognise_frames(view: GraphView, provider) -> dict:
    """The recognised cell steps grouped by the while frame their weights enter; `provider(view, frame, steps)`
    (None or `Unsupported`: not this kind of loop) -> {each name it provides: the provider}."""
    frames: dict[str, list] = {}
    for op in view.graph.get_operations():
        if op.type not in CELL_MATCHERS or is_gradient(op.name):
            continue
        enter = _weight_input(op).op
        if enter.type != "Enter":
            continue
        try:
            step = match_step(view, op)
        except Unsupported:
            continue
        if step is not None:
            frames.setdefault(enter.get_attr("frame_name").decode(), []).append(step)
    providers = {}
    for frame, steps in frames.items():
        try:
            p = provider(view, frame, steps)
        except Unsupported:
            p = None
        if p is not None:
            for name in p.provides:
                providers[name] = p
    return providers


def _while_provider(view, frame, steps):
    read = None
    by_x = {}
    for s in steps:
        if s.x.op.type == "TensorArrayReadV3":
            read = s.x.op
            first = s
        by_x[s.x.name] = s
    if read is None:
        return None
    layers = [first]
    while True:
        nxt = None
        top = layers[-1]
        for s in steps:
            if s is not top and _strip(s.x).name in (top.new_h.name, _strip(top.new_h).name):
                nxt = s
        if nxt is None:
            break
        layers.append(nxt)
    if len(layers) != len(steps):
        return None
    scatter_flow = read.inputs[2]
    if scatter_flow.op.type == "Enter":
        scatter_flow = scatter_flow.op.inputs[0]
    if scatter_flow.op.type != "TensorArrayScatterV3":
        return None
    x_seq = scatter_flow.op.inputs[2]
    batch_major = False
    if x_seq.op.type == "Transpose" and view.foldable(x_seq.op.inputs[1].op):
        perm = list(np.asarray(view.fold(x_seq.op.inputs[1])))
        if perm[:2] == [1, 0] and perm[2:] == list(range(2, len(perm))):
            x_seq, batch_major = x_seq.op.inputs[0], True
    lengths = None
    states = []
    for s in layers:
        st = {}
        for role, prev, new in (("h", s.h_prev, s.new_h), ("c", s.c_prev, s.new_c)):
            if prev is None:
                continue
            lv = _loop_var_of(prev)
            if lv is None:
                raise Unsupported(f"the {role} state of {s.scope} is not a loop variable")
            nxt, length = _strip_select(lv.next)
            if _strip(nxt).name != new.name:
                raise Unsupported(f"the next {role} state of {s.scope} is not the cell's new state")
            if length is not None:
                lengths = length
            st[role] = lv
        states.append(st)
    # the output TensorArray: written with the top layer's output
    top = layers[-1]
    gather = gather_bm = None
    for op in view.graph.get_operations():
        if op.type == "TensorArrayWriteV3" and not is_gradient(op.name):
            value, length = _strip_select(op.inputs[2])
            if length is not None and value.op.type in ("Select", "SelectV2"):
                value = value.op.inputs[2]
            if _strip(value).name in (top.new_h.name,):
                if length is not None:
                    lengths = length
                handle = op.inputs[0]
                ta = handle.op.inputs[0].op if handle.op.type == "Enter" else handle.op
                for c in ta.outputs[0].consumers():
                    if c.type == "TensorArrayGatherV3":
                        gather = c.outputs[0]
    if gather is not None:
        cons = [c for c in gather.consumers() if not is_gradient(c.name)]
        if len(cons) == 1 and cons[0].type == "Transpose" and view.foldable(cons[0].inputs[1].op):
            perm = list(np.asarray(view.fold(cons[0].inputs[1])))
            if perm[:2] == [1, 0]:
                gather_bm = cons[0].outputs[0]
    if lengths is not None:
        while lengths.op.type == "Identity" and lengths.op.inputs:  # CheckSeqLen / sequence_length Identities
            lengths = lengths.op.inputs[0]
    return WhileRNN(view, frame, layers, x_seq, batch_major, lengths, states, gather, gather_bm)


# ------------------------------------------------------------------------------------------------ static_rnn
class StaticRNN(Provider):
    kind = "static_rnn"

    def __init__(self, view, steps):
        self.view, self.steps = view, steps
        first = steps[0]
        self.init = {}
        inputs = [s.x for s in steps]
        for role, t in (("h", first.h_prev), ("c", first.c_prev)):
            if t is not None and not _is_zero_state(view, t):
                self.init[role] = t
                inputs.append(t)
        provides = [s.new_h.name for s in steps] + [steps[-1].new_c.name] if first.new_c is not None else \
            [s.new_h.name for s in steps]
        super().__init__(first.scope, inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        n = len(self.steps)
        xs, rest = syms[:n], syms[n:]
        init = dict(zip(self.init, rest))
        step = self.steps[0]
        em.comment(f"tf.nn.static_rnn (unrolled, {n} steps) of {tf1_class(step)} {step.scope}")
        seq = em.emit(f"keras.ops.stack([{', '.join(em.value(x) for x in xs)}], axis=1)", "steps")[0].var
        _, names = emit_rnn_layer(em, self.view, step, seq, init, None, "static_rnn")
        em.lines.append("")
        out = {}
        for k, s in enumerate(self.steps[:-1]):
            out[s.new_h.name] = Sym(lazy=(lambda k=k: em.emit(f"{names[0]}[:, {k}]", f"step_{k}_output")[0].var),
                                    dtype="float32")
        out[self.steps[-1].new_h.name] = Sym(var=names[1], dtype="float32")
        if step.family == "lstm":
            out[self.steps[-1].new_c.name] = Sym(var=names[2], dtype="float32")
        return out


def _resolve_state(t, role_index: int | None = None):
    """Look through Identity and `split(concat([c, h]))` (state_is_tuple=False) to the tensor a state came from."""
    t = _strip(t)
    if t.op.type == "Split" and int(t.op.get_attr("num_split")) == 2:
        src = t.op.inputs[1].op
        if src.type in ("ConcatV2", "Concat") and len(src.inputs) == 3:
            return _strip(src.inputs[t.value_index])
    return t


def recognise_static(view: GraphView, outputs) -> dict:
    by_kernel: dict[str, list] = {}
    for op in view.graph.get_operations():
        if op.type not in CELL_MATCHERS or is_gradient(op.name) or _weight_input(op).op.type == "Enter":
            continue
        try:
            step = match_step(view, op)
        except Unsupported:
            continue
        if step is not None:
            by_kernel.setdefault(step.variables.get("kernel") or step.variables["gates_kernel"], []).append(step)
    providers = {}
    for steps in by_kernel.values():
        if len(steps) < 2:
            continue
        by_new_h = {s.new_h.name: s for s in steps}
        prev_of = {}
        for s in steps:
            p = by_new_h.get(_resolve_state(s.h_prev).name)
            if p is not None:
                prev_of[id(s)] = p
        heads = [s for s in steps if id(s) not in prev_of]
        if len(heads) != 1:
            continue  # several chains (e.g. an encoder and a decoder sharing a cell): left op by op
        chain = [heads[0]]
        nxt_of = {id(p): s for s_id, p in prev_of.items() for s in steps if id(s) == s_id}
        while id(chain[-1]) in nxt_of:
            chain.append(nxt_of[id(chain[-1])])
        if len(chain) != len(steps):
            continue
        if chain[0].family == "lstm" and any(
                _resolve_state(s.c_prev).name != p.new_c.name for p, s in zip(chain, chain[1:])):
            continue
        p = StaticRNN(view, chain)
        for name in p.provides:
            providers[name] = p
    return providers


def recognise(view: GraphView, outputs) -> dict:
    providers = {}
    providers.update(recognise_static(view, outputs))
    providers.update(recognise_while(view, outputs))
    from migrate.graph.decoders import recognise_decoders  # noqa: PLC0415 - decoders builds on this module

    providers.update(recognise_decoders(view, outputs))
    from migrate.graph.legacy_seq2seq import recognise_legacy_decoders  # noqa: PLC0415 - builds on this module

    providers.update(recognise_legacy_decoders(view, outputs))
    return providers
