"""`tf.nn.raw_rnn(cell, loop_fn)` while loops -> `tfm.RawRNNGreedyDecoder` (a greedy `loop_fn`) or plain recurrent
layers (a `loop_fn` reading its inputs from a TensorArray).

raw_rnn (TF 1.15 `tensorflow/python/ops/rnn.py`) is a control-flow-v1 while frame (`<scope>/rnn/while/...`) whose
condition is `not all(elements_finished)` and whose loop variables are exactly: the time (from 0, `+ 1`), the
finished flags (`finished | next_finished`), the next input, one emit TensorArray flow per emitted tensor (written
`where(finished, zeros, emit)`), the cell states (`where(finished, state, next_state)`: finished rows keep theirs)
and the loop state (a constant 0 passed through when `loop_fn` keeps none). `loop_fn` at `time + 1` gives
`next_finished`, the next input and the emit. Two `loop_fn`s are recognised, from the frame's ops:

- greedy decoding: next input `embedding_lookup(embedding, argmax(output [@ W [+ b]]))` (optionally under
  `tf.cond(reduce_all(finished), pad, lookup)`), the first one the same embedding's lookup of start ids; finished
  `time >= length` (a scalar or one per row) and / or `equal(ids, EOS)`; emit the cell output or the logits; the
  cell state passed on unchanged -> one `tfm.RawRNNGreedyDecoder`. A loop stopped by EOS alone has no bound: generic.
- an encoder-like loop: next input `inputs_ta.read(time)` of an unstacked sequence (optionally under
  `tf.cond(reduce_all(finished), zeros, read)`), finished `time >= lengths` (`0 >= lengths` at time 0), emit the
  cell output -> `tfm.TrimToMaxLength` (the loop runs `max(lengths)` steps) -> per cell layer `tfm.LSTM` / `GRU`
  with the length mask (finished rows keep their state) -> `tfm.ZeroPastLength` (raw_rnn emits zeros there).

Anything else in `loop_fn` (another loop state, another feedback such as a pointer network's, a state it changes,
several emits) is not matched: the loop stays the generic tier's, exactly as before.
"""

from __future__ import annotations

import numpy as np

from migrate.graph.constructs.base import Construct
from migrate.graph.decoders import (
    embedding_decoder_slots,
    final_states,
    layer_weights,
    output_layer_weights,
    shared_weights_arg,
    stacked_cells,
    state_idents,
    write_outputs,
)
from migrate.graph.ir import Emitter, Sym, Unsupported, literal
from migrate.graph.matching import (
    GATHER,
    LoopVar,
    Provider,
    ancestors,
    batch_major_gather,
    frame_ops,
    match_dense,
    strip,
    through_cond,
    unstacked,
    unwrap,
)
from migrate.graph.meta import GraphView
from migrate.graph.rnn import emit_rnn_layer, final_state_names, initial_states, layer_class


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every while frame that is a recognised `raw_rnn` -> its provider."""
    return registry.frames(view, raw_rnn_provider)


# ------------------------------------------------------------------------------------------------ the loop
def frame_loop_vars(ops) -> list[LoopVar]:
    """Every loop variable of a while frame (a `Merge(Enter, NextIteration)` of its ops), in op order."""
    found = []
    for m in ops:
        if m.type != "Merge":
            continue
        enter = next((i.op for i in m.inputs if i.op.type == "Enter"), None)
        nxt = next((i.op for i in m.inputs if i.op.type == "NextIteration"), None)
        switch = next((c for c in m.outputs[0].consumers() if c.type == "Switch"), None)
        if enter is None or nxt is None or switch is None:
            continue
        body = next((c.outputs[0] for c in switch.outputs[1].consumers() if c.type == "Identity"), None)
        exit_op = next((c for c in switch.outputs[0].consumers() if c.type == "Exit"), None)
        found.append(LoopVar(enter, m, exit_op, body, nxt.inputs[0]))
    return found


def is_const(view, t, value=None) -> bool:
    """`t` known at conversion time (and equal to `value` everywhere, when given)."""
    if t.op.type != "Const" and not view.foldable(t.op):
        return False
    return value is None or bool(np.all(np.asarray(view.fold(t)) == value))


def no_row(view, t) -> bool:
    """`t` is False everywhere: a constant, or `tf.zeros([batch], tf.bool)` (a `Fill` of False)."""
    t = unwrap(t)
    if t.op.type == "Fill":
        return is_const(view, t.op.inputs[1], False)
    return t.op.type == "ZerosLike" or is_const(view, t, False)


def or_terms(t) -> list:
    """The operands of a tree of `LogicalOr`s."""
    t = unwrap(t)
    if t.op.type == "LogicalOr":
        return or_terms(t.op.inputs[0]) + or_terms(t.op.inputs[1])
    return [t]


def same(a, b) -> bool:
    """The same tensor, seen through Identity / Cast / StopGradient (and DropoutWrapper, identity at inference)."""
    return strip(unwrap(a)).name == strip(unwrap(b)).name


def outer(t):
    """A loop-invariant value: the tensor outside the frame an `Enter` reads, else `t` (a constant inside)."""
    t = unwrap(t)
    return t.op.inputs[0] if t.op.type == "Enter" else t


def after_cond(view, t, next_finished, finished):
    """The next input under `tf.cond(reduce_all(next_finished | finished), pad, value)`: the branch `other` picks
    -> the tensors of both branches; the input itself -> [t]. None: a cond on anything else (its pad branch would
    matter)."""
    t = strip(t)
    if t.op.type != "Merge":
        return [t]
    switch, frontier = None, [i.op for i in t.op.inputs]
    for _ in range(6):   # the branches read their outer values through the cond's Switches
        switch = next((o for o in frontier if o.type == "Switch"), None)
        if switch is not None:
            break
        frontier = [i.op for o in frontier for i in o.inputs]
    if switch is None:
        return None
    pred = unwrap(switch.inputs[1])
    if pred.op.type != "All" or not (same(pred.op.inputs[0], next_finished) or same(pred.op.inputs[0], finished.next)):
        return None   # when every row is finished the loop ends: the pad branch is never read
    return [strip(i) for i in t.op.inputs]


def raw_rnn_provider(view: GraphView, frame: str, steps):
    """One while frame's cell steps -> a raw_rnn provider, None (not a raw_rnn loop), or `Unsupported` (a raw_rnn
    this module sees but cannot take, with why)."""
    ops = frame_ops(view, frame)
    loop_cond = next((o for o in ops if o.type == "LoopCond"), None)
    if loop_cond is None or not steps:
        return None
    notall = unwrap(loop_cond.inputs[0])
    if notall.op.type != "LogicalNot" or unwrap(notall.op.inputs[0]).op.type != "All":
        return None
    lvs = frame_loop_vars(ops)
    if any(lv.body is None for lv in lvs):
        return None
    by_merge = {lv.merge.name: lv for lv in lvs}
    finished = by_merge.get(unwrap(notall.op.inputs[0]).op.inputs[0].op.name)
    if finished is None or not finished.body.dtype.is_bool:
        return None
    time = next((lv for lv in lvs if lv.body.dtype.is_integer and lv.body.shape.rank == 0
                 and is_const(view, lv.enter.inputs[0], 0) and lv.next.op.type in ("Add", "AddV2")
                 and any(same(lv.body, i) for i in lv.next.op.inputs)
                 and any(is_const(view, i, 1) for i in lv.next.op.inputs)), None)
    if time is None:
        return None
    fin_next = unwrap(finished.next)
    if fin_next.op.type != "LogicalOr" or not any(same(i, finished.body) for i in fin_next.op.inputs):
        return None
    next_finished = next(i for i in fin_next.op.inputs if not same(i, finished.body))

    if any(lv.body.dtype.is_integer and lv.body.shape.rank == 1 for lv in lvs):
        return None   # a sequence-lengths loop variable: a contrib.seq2seq dynamic_decode, not a raw_rnn

    def decline(why: str) -> Unsupported:
        return Unsupported(f"a tf.nn.raw_rnn whose loop_fn constructs/raw_rnn.py does not take: {why}")

    layers = stack_layers(steps)
    if layers is None:
        raise decline("its cells are not one stack (a MultiRNNCell) fed by the loop's input")
    top = layers[-1]
    x = next((lv for lv in lvs if same(lv.body, layers[0].x)), None)
    if x is None:
        raise decline("the bottom cell does not read the loop's next input")
    states = []
    for s in layers:     # raw_rnn: next state = where(finished, state, loop_fn's next_state = the cell's new state)
        st = {}
        for role, prev, new in (("h", s.h_prev, s.new_h), ("c", s.c_prev, s.new_c)):
            if prev is None:
                continue
            lv = next((v for v in lvs if same(v.body, prev)), None)
            if lv is None or not copied_through(lv.next, finished, lv.body, new):
                raise decline(f"the {role} state of {s.scope} is not the cell's new state passed on")
            st[role] = lv
        states.append(st)
    writes, emits = {}, []
    for op in ops:
        if op.type != "TensorArrayWriteV3":
            continue
        value = unwrap(op.inputs[2])
        if not same(op.inputs[1], time.body) or value.op.type not in ("Select", "SelectV2") \
                or not same(value.op.inputs[0], finished.body):
            raise decline("a TensorArray written other than raw_rnn's emit (a loop state holding a TensorArray)")
        emits.append((op, strip(value.op.inputs[2])))
    flows = {lv.merge.name for lv in lvs if lv.next.op.type == "TensorArrayWriteV3"}
    used = {time.merge.name, finished.merge.name, x.merge.name} | flows | {
        lv.merge.name for st in states for lv in st.values()}
    for lv in lvs:   # the loop state raw_rnn keeps when loop_fn gives none (a constant passed through)
        if lv.merge.name not in used and not same(lv.next, lv.body):
            raise decline("its loop_fn keeps a loop state")
    if len(emits) != 1 or len(flows) != 1:
        raise decline(f"{len(emits)} emitted tensors (one is taken)")
    write, emit = emits[0]
    handle = write.inputs[0]
    ta = handle.op.inputs[0].op if handle.op.type == "Enter" else handle.op
    gather = next((c.outputs[0] for c in ta.outputs[0].consumers() if c.type == "TensorArrayGatherV3"), None)
    writes["rnn_output"] = (gather, batch_major_gather(view, gather) if gather is not None else None)

    inputs = after_cond(view, x.next, next_finished, finished)
    if inputs is None:
        raise decline("its next input is a tf.cond on something else than every row being finished")
    terms = or_terms(next_finished)
    greedy = greedy_feedback(view, inputs, x, top)
    if greedy is not None:
        embedding, ids, dense, start_ids = greedy
        lengths, end_token = None, None
        for term in terms:
            if term.op.type == "GreaterEqual" and same(term.op.inputs[0], time.next):
                lengths = outer(term.op.inputs[1])
            elif term.op.type == "Equal" and any(same(i, ids) for i in term.op.inputs):
                end_token = outer(next(i for i in term.op.inputs if not same(i, ids)))
                if end_token.shape.rank != 0:
                    raise decline("its end token is not a scalar")
            else:
                raise decline(f"its elements_finished reads {term.op.type} {term.op.name} (taken: time >= length, "
                              f"equal(ids, EOS))")
        inside = {o.name for o in ops}
        if any(t is not None and t.op.name in inside and not is_const(view, t) for t in (lengths, end_token)):
            raise decline("its length or end token is computed inside the loop body")
        if lengths is None:
            raise Unsupported("a greedy raw_rnn stopped only when every row emits its end token has no bound on its "
                              "length (no `time >= length` in its loop_fn)")
        if same(emit, top.new_h):
            kind = "output"
        elif dense is not None and same(emit, dense[2]):
            kind = "logits"
        else:
            raise decline("it emits neither the cell output nor the logits it feeds back")
        return RawRNNGreedy(view, frame, layers, states, writes, embedding, dense, start_ids, lengths, end_token,
                            finished.enter.inputs[0], kind)
    seq = sequence_read(view, inputs, x, time)
    if seq is None:
        raise decline("its next input is neither embedding_lookup(argmax(output [@ W + b])) with the first input "
                      "the same embedding's lookup, nor inputs_ta.read(time) of an unstacked sequence")
    if len(terms) != 1 or terms[0].op.type != "GreaterEqual" or not same(terms[0].op.inputs[0], time.next):
        raise decline("it reads a TensorArray but is not finished exactly at time >= lengths")
    lengths = outer(terms[0].op.inputs[1])
    first = unwrap(finished.enter.inputs[0])   # loop_fn(0): 0 >= lengths
    if lengths.shape.rank != 1 or first.op.type != "GreaterEqual" or not is_const(view, first.op.inputs[0], 0) \
            or not same(first.op.inputs[1], lengths):
        raise decline("it reads a TensorArray, but its lengths are not one per row with 0 >= lengths at time 0")
    if not same(emit, top.new_h):
        raise decline("it reads a TensorArray but emits something else than the cell output")
    return RawRNNSequence(view, frame, layers, states, writes, seq[0], seq[1], lengths)


def stack_layers(steps):
    """The cell steps of one frame stacked (a MultiRNNCell: each cell reads the one below's output), bottom first,
    else None."""
    firsts = [s for s in steps if not any(same(s.x, o.new_h) for o in steps)]
    if len(firsts) != 1:
        return None
    layers = [firsts[0]]
    while True:
        top = layers[-1]
        nxt = [s for s in steps if s is not top and same(s.x, top.new_h)]
        if len(nxt) != 1:
            break
        layers.append(nxt[0])
    return layers if len(layers) == len(steps) else None


def copied_through(t, finished: LoopVar, body, new) -> bool:
    """`t` = `where(finished, body, new)`: raw_rnn's copy of a finished row's state."""
    t = unwrap(t)
    return t.op.type in ("Select", "SelectV2") and same(t.op.inputs[0], finished.body) \
        and same(t.op.inputs[1], body) and same(t.op.inputs[2], new)


def greedy_feedback(view, inputs, x: LoopVar, top):
    """The next input `embedding_lookup(embedding, argmax(logits))`, logits `top.new_h [@ W [+ b]]`, the first input
    the same embedding's lookup -> (embedding, the ArgMax tensor, (kernel, bias, logits) or None, start ids);
    else None."""
    gather = next((a.op for t in inputs for a in ancestors(t, depth=6) if a.op.type in GATHER), None)
    if gather is None:
        return None
    embedding = view.variable_of(through_cond(gather.inputs[0]))
    ids = unwrap(through_cond(gather.inputs[1]))
    if embedding is None or ids.op.type != "ArgMax":
        return None
    logits = unwrap(ids.op.inputs[0])
    dense = None
    if not same(logits, top.new_h):
        found = match_dense(view, logits, strip(top.new_h))
        if found is None:
            return None
        dense = (*found, logits)
    start = strip(x.enter.inputs[0])
    if start.op.type not in GATHER or view.variable_of(start.op.inputs[0]) != embedding:
        return None
    return embedding, ids, dense, start.op.inputs[1]


def sequence_read(view, inputs, x: LoopVar, time: LoopVar):
    """The next input `inputs_ta.read(time + 1)` of an unstacked sequence, the first input its read at 0 ->
    (the sequence, batch major); else None."""
    read = next((a.op for t in inputs for a in ancestors(t, depth=6) if a.op.type == "TensorArrayReadV3"), None)
    if read is None or not same(through_cond(read.inputs[1]), time.next):
        return None
    seq = unstacked(view, read)
    first = next((a.op for a in ancestors(x.enter.inputs[0], depth=8) if a.op.type == "TensorArrayReadV3"), None)
    if seq is None or first is None or not is_const(view, through_cond(first.inputs[1]), 0):
        return None
    again = unstacked(view, first)
    if again is None or again[0].name != seq[0].name:
        return None
    return seq


# ------------------------------------------------------------------------------------------------ providers
class RawRNNGreedy(Provider):
    kind = "raw_rnn_greedy"
    reads_shared_weights = True   # the training path's embedding / cells / projection

    def folded_cells(self) -> list:   # its runtime layer's cells (`Provider.folded_cells`)
        return list(self.layers)

    def __init__(self, view, frame, layers, states, writes, embedding, dense, start_ids, lengths, end_token,
                 first_finished, emit_kind):
        self.view, self.frame, self.layers, self.states, self.writes = view, frame, layers, states, writes
        self.embedding, self.dense, self.emit_kind = embedding, dense, emit_kind
        self.consts = {}      # argument -> a literal (a value known at conversion time)
        inputs, self.slots = [start_ids], ["start_tokens"]
        for arg, t in (("lengths", lengths), ("end_token", end_token)):
            if t is None:
                continue
            if is_const(view, t):
                self.consts[arg] = literal(np.asarray(view.fold(t)))
            else:
                inputs.append(t)
                self.slots.append(arg)
        if not no_row(view, first_finished):
            inputs.append(first_finished)
            self.slots.append("initial_finished")
        self.init = initial_states(view, states, inputs)
        provides = [t.name for w in writes.values() for t in w if t is not None] + final_state_names(states)
        Provider.__init__(self, frame.split("/while")[0], inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        args = {slot: em.value(next(it)) for slot in self.slots}
        args.update(self.consts)
        inits = [{role: next(it) for role in init} for init in self.init]
        weights, families, units, flat_init = stacked_cells(em, self.view, self.layers, inits,
                                                            "a raw_rnn greedy decoder whose initial state")
        emb = self.view.variable_values(self.embedding)
        weights.append(emb)
        out_size, use_bias = output_layer_weights(self.view, self.dense[:2] if self.dense else None, weights)
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        stops = " or ".join(w for w, a in (("time >= length", "lengths"), ("EOS", "end_token")) if a in args)
        proj = f" @ {self.dense[0]}" + (f" + {self.dense[1]}" if self.dense[1] else "") if self.dense else ""
        em.comment(f"tf.nn.raw_rnn (while loop {self.name}/while), a greedy loop_fn: {kinds}, next input "
                   f"embedding_lookup({self.embedding}, argmax(output{proj})), finished at {stops}, emits the "
                   + ("cell output" if self.emit_kind == "output" else "logits"))
        lname = em.layer_name(self.name + "/greedy_decoder")
        # the embedding / cells / projection the training path's layers already hold: named, not copied (issue 22)
        shared = layer_weights(em, lname, weights, embedding_decoder_slots(
            self.layers, self.embedding, self.dense[:2] if self.dense else None))
        call = [args["start_tokens"]] + [f"{k}={args[k]}" for k in ("lengths", "end_token", "initial_finished")
                                         if k in args]
        if flat_init and flat_init[0] is not None:
            call.append(f"initial_state=[{', '.join(flat_init)}]")
        names = [em.new_ident("raw_rnn_outputs")] + state_idents(em, self.layers)
        em.lines.append(f"{', '.join(names)} = tfm.RawRNNGreedyDecoder({families!r}, {units!r}, "
                        f"vocab_size={emb.shape[0]}, embedding_dim={emb.shape[1]}, output_size={out_size}, "
                        f"use_bias={use_bias}, emit={self.emit_kind!r}, name={lname!r}{shared_weights_arg(shared)})"
                        f"({', '.join(call)})")
        em.constructs["raw_rnn greedy loop_fn -> tfm.RawRNNGreedyDecoder"] += 1
        out = final_states(self.states, names, 1)
        write_outputs(em, self.writes, (("rnn_output", names[0]),), out)
        em.lines.append("")
        return out


class RawRNNSequence(Provider):
    kind = "raw_rnn"

    def __init__(self, view, frame, layers, states, writes, seq, batch_major, lengths):
        self.view, self.frame, self.layers, self.states, self.writes = view, frame, layers, states, writes
        self.batch_major = batch_major
        inputs = [seq, lengths]
        self.init = initial_states(view, states, inputs)
        provides = [t.name for w in writes.values() for t in w if t is not None] + final_state_names(states)
        super().__init__(frame.split("/while")[0], inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        x, lengths = em.value(next(it)), em.value(next(it))
        inits = [{role: next(it) for role in init} for init in self.init]
        kinds = ", ".join(f"{layer_class(s).rsplit('.', 1)[-1]}({s.units})" for s in self.layers)
        em.comment(f"tf.nn.raw_rnn (while loop {self.name}/while), a loop_fn reading its inputs from a TensorArray "
                   f"until time >= lengths: {len(self.layers)} layer(s) {kinds}; finished rows keep their state and "
                   f"emit zeros")
        if not self.batch_major:
            x = em.emit(f"keras.ops.transpose({x}, (1, 0, 2))", "time_major_to_batch")[0].var
        tname = em.layer_name(self.name + "/max_length")
        seq = em.emit(f"tfm.TrimToMaxLength(name={tname!r})({x}, {lengths})", "raw_rnn_inputs",
                      comment="the loop runs max(lengths) steps")[0].var
        mname = em.layer_name(self.name + "/sequence_mask")
        mask = em.emit(f"tfm.SequenceMask(name={mname!r})({lengths}, {seq})", "mask")[0].var
        out = {}
        for step, init, st in zip(self.layers, inits, self.states):
            _, names = emit_rnn_layer(em, self.view, step, seq, init, mask, "raw_rnn")
            seq = names[0]
            for k, role in ((1, "h"), (2, "c")):
                lv = st.get(role)
                if lv is not None and lv.exit is not None:
                    out[lv.exit.outputs[0].name] = Sym(var=names[k], dtype="float32")
        zname = em.layer_name(self.name + "/zero_past_length")
        seq = em.emit(f"tfm.ZeroPastLength(name={zname!r})({seq}, {mask})", "raw_rnn_outputs",
                      comment="raw_rnn emits zeros for finished rows")[0].var
        write_outputs(em, self.writes, (("rnn_output", seq),), out)
        em.lines.append("")
        return out


CONSTRUCT = Construct(
    "raw_rnn", recognise,
    "`tf.nn.raw_rnn(cell, loop_fn)` (LSTM / GRU / `MultiRNNCell`): a greedy `loop_fn` (next input "
    "`embedding_lookup(embedding, argmax(output [@ W + b]))`, optionally under `tf.cond(reduce_all(finished), ...)`; "
    "finished at `time >= length` (scalar or per row) and / or `equal(ids, EOS)`; emit the cell output or the "
    "logits), or one reading its inputs from a TensorArray until `time >= lengths`; any other `loop_fn` stays generic",
    "greedy: one `tfm.RawRNNGreedyDecoder` (finished rows emit zeros and keep their state, as raw_rnn copies them "
    "through) returning the emits and the final states; over a TensorArray: `tfm.TrimToMaxLength` -> `tfm.LSTM` / "
    "`GRU` per cell with the length mask -> `tfm.ZeroPastLength`")
