"""`tf.nn.dynamic_rnn` (and each direction of `bidirectional_dynamic_rnn`, and `MultiRNNCell` layers inside one
loop) -> one `tfm.LSTM` / `GRU` (`keras.layers.LSTM` / `GRU` subclasses) per layer.

A control-flow-v1 while frame (`rnn/while/...`) whose body runs cell steps. Its input is the value
`TensorArrayScatterV3` unstacks, its output the `TensorArrayGatherV3` of what the body wrote, its final states the
`Exit`s of the state loop variables, its initial states the `Enter`s of them, `sequence_length` the tensor the
body's `GreaterEqual(time, ...)` reads. Each layer gets `return_sequences=True, return_state=True`, a mask from the
lengths, and the outputs past each length zeroed as TF1 does (`tfm.ZeroPastLength`).
"""

from __future__ import annotations

from migrate.graph.constructs.base import Construct
from migrate.graph.constructs.output_projection_wrapper import emit_projection, match_output_projection
from migrate.graph.constructs.packed_state import (
    emit_initial_slices,
    final_names,
    final_packed,
    packed_inputs,
    packed_states,
    state_slot,
)
from migrate.graph.constructs.residual_wrapper import emit_residual, is_residual
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import (
    Provider,
    batch_major_gather,
    batch_major_perm,
    loop_var_of,
    strip,
    strip_select,
)
from migrate.graph.meta import GraphView, is_gradient
from migrate.graph.rnn import emit_rnn_layer, final_state_names, initial_states, layer_class


class WhileRNN(Provider):
    kind = "dynamic_rnn"

    def __init__(self, view, frame, layers, x_seq, x_batch_major, lengths, states, gather, gather_bm,
                 projection=None, residual=None, packed=()):
        self.view, self.frame, self.layers, self.projection = view, frame, layers, projection
        self.packed = list(packed)      # state_is_tuple=False: loop variables holding several states (packed_state)
        self.residual = residual or [False] * len(layers)   # per layer: a ResidualWrapper adds its input
        self.x_seq, self.x_batch_major, self.lengths = x_seq, x_batch_major, lengths
        self.states = states            # per layer: {"h": _LoopVar, "c": _LoopVar|None}
        self.gather, self.gather_bm = gather, gather_bm
        inputs = [x_seq] + ([lengths] if lengths is not None else [])
        self.init = initial_states(view, states, inputs)
        packed_inputs(self.packed, inputs)
        provides = []
        if gather is not None:
            provides.append(gather.name)
        if gather_bm is not None:
            provides.append(gather_bm.name)
        provides += final_state_names(states) + final_names(self.packed)
        super().__init__(frame.split("/while/")[0] if "/while/" in frame else frame, inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        x = next(it)
        lengths = next(it) if self.lengths is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        kinds = ", ".join(f"{layer_class(s).rsplit('.', 1)[-1]}({s.units})" for s in self.layers)
        em.comment(f"tf.nn.dynamic_rnn (while loop {self.frame}): {len(self.layers)} layer(s) {kinds}"
                   + (" with sequence_length" if lengths is not None else "")
                   + (" (MultiRNNCell)" if len(self.layers) > 1 else "")
                   + (" with the states packed in one tensor (state_is_tuple=False)" if self.packed else "")
                   + (" in an OutputProjectionWrapper" if self.projection is not None else ""))
        seq = em.value(x)
        if not self.x_batch_major:
            seq = em.emit(f"keras.ops.transpose({seq}, (1, 0, 2))", "time_major_to_batch")[0].var
        mask = None
        if lengths is not None:
            mname = em.layer_name(self.name + "/sequence_mask")
            mask = em.emit(f"tfm.SequenceMask(name={mname!r})({em.value(lengths)}, {seq})", "mask",
                           comment="sequence_length -> mask")[0].var
        emit_initial_slices(em, self.packed, it, inits, [s.scope for s in self.layers])
        out, finals = {}, []
        for step, init, st, res in zip(self.layers, inits, self.states, self.residual):
            _, names = emit_rnn_layer(em, self.view, step, seq, init, mask, "dynamic_rnn")
            seq = emit_residual(em, names[0], seq, step.scope) if res else names[0]
            if res:
                em.constructs["dynamic_rnn ResidualWrapper -> keras.ops.add"] += 1
            finals.append({"h": names[1], "c": names[2] if len(names) > 2 else None})
            if st.get("h") is not None and st["h"].exit is not None:
                out[st["h"].exit.outputs[0].name] = Sym(var=names[1], dtype="float32",
                                                        shape=tuple(st["h"].exit.outputs[0].shape.as_list())
                                                        if st["h"].exit.outputs[0].shape.rank else None)
            if st.get("c") is not None and st["c"].exit is not None:
                out[st["c"].exit.outputs[0].name] = Sym(var=names[2], dtype="float32")
        out.update(final_packed(em, self.packed, finals))
        if self.projection is not None:
            seq = emit_projection(em, self.view, self.projection, seq, "dynamic_rnn")
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


def while_provider(view, frame, steps):
    """The steps of one while frame -> a `WhileRNN`, or None when they are not one dynamic_rnn's layers."""
    read = None
    by_x = {}
    for s in steps:
        if s.x.op.type == "TensorArrayReadV3":
            read = s.x.op
            first = s
        by_x[s.x.name] = s
    if read is None:
        return None
    layers, residual = [first], []
    while True:
        nxt, res = None, False
        top = layers[-1]
        for s in steps:
            if s is not top and strip(s.x).name in (top.new_h.name, strip(top.new_h).name):
                nxt = s
            elif s is not top and is_residual(s.x, top):
                nxt, res = s, True
        if nxt is None:
            break
        layers.append(nxt)
        residual.append(res)
    if len(layers) != len(steps):
        return None
    scatter_flow = read.inputs[2]
    if scatter_flow.op.type == "Enter":
        scatter_flow = scatter_flow.op.inputs[0]
    if scatter_flow.op.type != "TensorArrayScatterV3":
        return None
    x_seq = scatter_flow.op.inputs[2]
    batch_major = batch_major_perm(view, x_seq)
    if batch_major:
        x_seq = x_seq.op.inputs[0]
    lengths = None
    states, slots = [], []
    for k, s in enumerate(layers):
        st = {}
        for role, prev, new in (("h", s.h_prev, s.new_h), ("c", s.c_prev, s.new_c)):
            if prev is None:
                continue
            lv = loop_var_of(prev)
            if lv is None:
                slot = state_slot(view, prev)   # state_is_tuple=False: columns of one packed loop variable
                if slot is None:
                    raise Unsupported(f"the {role} state of {s.scope} is not a loop variable (nor columns of one: "
                                      f"MultiRNNCell(..., state_is_tuple=False))")
                slots.append((*slot, k, role, new))
                continue
            nxt, length = strip_select(lv.next)
            if strip(nxt).name != new.name:
                raise Unsupported(f"the next {role} state of {s.scope} is not the cell's new state")
            if length is not None:
                lengths = length
            st[role] = lv
        states.append(st)
    packed, length = packed_states(view, slots)
    if length is not None:
        lengths = length
    # the output TensorArray: written with the top layer's output
    top = layers[-1]
    gather = gather_bm = projection = None
    top_residual = False
    for op in view.graph.get_operations():
        if op.type == "TensorArrayWriteV3" and not is_gradient(op.name):
            value, length = strip_select(op.inputs[2])
            if length is not None and value.op.type in ("Select", "SelectV2"):
                value = value.op.inputs[2]
            res = is_residual(value, top)
            proj = None if strip(value).name == top.new_h.name or res else \
                match_output_projection(view, value, top.new_h)
            if strip(value).name == top.new_h.name or res or proj is not None:
                projection, top_residual = proj, res
                if length is not None:
                    lengths = length
                handle = op.inputs[0]
                ta = handle.op.inputs[0].op if handle.op.type == "Enter" else handle.op
                for c in ta.outputs[0].consumers():
                    if c.type == "TensorArrayGatherV3":
                        gather = c.outputs[0]
    if gather is not None:
        gather_bm = batch_major_gather(view, gather)
    if lengths is not None:
        while lengths.op.type == "Identity" and lengths.op.inputs:  # CheckSeqLen / sequence_length Identities
            lengths = lengths.op.inputs[0]
    return WhileRNN(view, frame, layers, x_seq, batch_major, lengths, states, gather, gather_bm, projection,
                    residual + [top_residual], packed)


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every while frame whose body runs recognised cell steps -> a `WhileRNN` provider."""
    return registry.frames(view, while_provider)


CONSTRUCT = Construct(
    "dynamic_rnn", recognise,
    "`dynamic_rnn` while loop (`MultiRNNCell`: one layer per cell, stacked; `time_major=True`: a transpose into the "
    "batch-major layer; given initial states: `initial_state=[h, c]`, a `zero_state` dropped; "
    "`bidirectional_dynamic_rnn`: two layers, the backward one between `tfm.ReverseSequence` ops, exactly as TF1 "
    "runs it; one cell object given to both directions: one layer called twice, its weights shared)",
    "the cell's layer with `return_sequences=True, return_state=True`; `sequence_length`: `tfm.SequenceMask` -> "
    "`mask=`, outputs past the length zeroed (`tfm.ZeroPastLength`) as TF1 does")
