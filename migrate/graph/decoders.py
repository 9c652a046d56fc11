"""contrib.seq2seq decoders of a TF1 graph -> Keras layers.

`dynamic_decode` is a control-flow-v1 while frame (`decoder/while/...`) whose loop variables are the time, the
output TensorArrays (`rnn_output`, `sample_id`), the cell state, the next inputs, the finished flags and the
lengths. This module recognises it from the cell steps of its body (the `rnn.CELL_MATCHERS` table) and a helper
from the table `HELPERS` (one entry per helper: how the next input is produced):

- `TrainingHelper` (teacher forcing): the next input is a `TensorArrayReadV3` of the `TensorArrayScatterV3`
  that unstacked the decoder inputs; a row is finished when `time + 1 >= sequence_length` (the body's
  `GreaterEqual`). The loop runs `max(sequence_length)` steps.

- `GreedyEmbeddingHelper`: the next input is an embedding lookup of the step's `ArgMax` (inside a `tf.cond`), the
  first one the same embedding's lookup of `start_tokens`; finished on `Equal(sample, end_token)`; needs
  `maximum_iterations`.

TrainingHelper becomes `tfm.TrimToMaxLength` (the steps the loop runs) -> one `keras.layers.LSTM` / `GRU` per cell
layer (initial state = the decoder's initial state, e.g. the encoder's final state) -> the `BasicDecoder`
`output_layer` (a Dense: MatMul + BiasAdd on variables inside the body) as `keras.layers.Dense` ->
`tfm.SampleIds` (argmax). With `impute_finished=True` the layers get the length mask and the outputs past each
length are zeroed, as TF1 writes them; without it the cell runs over every step, as TF1 does.
An `AttentionWrapper` (recognised by its input feeding `concat([inputs, attention])` and its contrib variable
names, `_ATTENTION_VARIABLES`) makes the whole loop one `tfm.AttentionDecoder`; GreedyEmbeddingHelper one
`tfm.GreedyDecoder` / `tfm.GreedyAttentionDecoder` (a `keras.ops.while_loop`).

- `tf.nn.dynamic_rnn` over an `AttentionWrapper` (teacher forcing without a helper, as tensorflow/nmt-style code
  and this repo's legacy Seq2Seq write it): the step input is the input TensorArray's `read(time)`; the loop runs
  every input step and `sequence_length` copies states through and zeroes outputs past each length, i.e. the same
  `tfm.AttentionDecoder` with `sequence_lengths`, nothing trimmed. (A dynamic_rnn of plain cells is
  `rnn.WhileRNN`'s.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.meta import GraphView, is_gradient
from migrate.graph.rnn import (
    Provider,
    _is_zero_state,
    _loop_var_of,
    _strip,
    emit_rnn_layer,
    final_state_names,
    initial_states,
    keras_weights,
    recognise_frames,
)


def _ancestors(t, depth=8, through=("Merge", "Switch", "Identity", "Enter")):
    """Tensors `t` is computed from through cond plumbing (Merge / Switch / Identity), nearest first."""
    out, frontier = [], [t]
    for _ in range(depth):
        nxt = []
        for x in frontier:
            out.append(x)
            if x.op.type in through:
                nxt.extend(x.op.inputs)
        frontier = nxt
    return out


def _lv(t):
    """The loop variable whose body value `t` is (also when `t` was stripped down to its `Switch:1`)."""
    if t.op.type == "Switch":
        ident = next((c for c in t.consumers() if c.type == "Identity"), None)
        return _loop_var_of(ident.outputs[0]) if ident is not None else None
    return _loop_var_of(t)


def _strip_impute(t):
    """`where(finished, cur, new)` (impute_finished) -> (new, True); else (t, False)."""
    if t.op.type in ("Select", "SelectV2") and t.op.inputs[0].dtype.is_bool:
        return t.op.inputs[2], True
    return t, False


# ------------------------------------------------------------------------------------------------ helpers
@dataclass
class HelperMatch:
    name: str                 # the contrib class
    inputs: object            # the sequence the decoder reads (TrainingHelper)
    batch_major: bool
    lengths: object           # sequence_length
    max_iterations: object = None   # dynamic_decode's maximum_iterations (a scalar), if given
    embedding: str | None = None    # GreedyEmbeddingHelper: the embedding variable the next input is read from
    start_tokens: object = None
    end_token: object = None


def _unstacked(view: GraphView, read):
    """The sequence a `TensorArrayReadV3` reads steps of (`TensorArray.unstack(transpose(x, [1, 0, 2]))`) ->
    (x, batch major), or None."""
    flow = next((a for a in _ancestors(read.inputs[2]) if a.op.type == "TensorArrayScatterV3"), None)
    if flow is None:
        return None
    seq, batch_major = flow.op.inputs[2], False
    if seq.op.type == "Transpose" and view.foldable(seq.op.inputs[1].op):
        perm = list(np.asarray(view.fold(seq.op.inputs[1])))
        if perm[:2] == [1, 0] and perm[2:] == list(range(2, len(perm))):
            seq, batch_major = seq.op.inputs[0], True
    return seq, batch_major


def _step_lengths(frame_ops):
    """The `sequence_length` the body compares the time with (`GreaterEqual(time, lengths)`), or None."""
    lengths = None
    for op in frame_ops:
        if op.type == "GreaterEqual" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 1:
            lengths = op.inputs[1].op.inputs[0]
    while lengths is not None and lengths.op.type == "Identity" and lengths.op.inputs:
        lengths = lengths.op.inputs[0]
    return lengths


def match_training_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """TrainingHelper: next input = cond(all finished, zeros, inputs_ta.read(time + 1)), inputs_ta =
    TensorArray.unstack(transpose(inputs, [1, 0, 2]))."""
    x_loop = _lv(x)
    if x_loop is None:
        return None
    read = next((a.op for a in _ancestors(x_loop.next) if a.op.type == "TensorArrayReadV3"), None)
    unstacked = _unstacked(view, read) if read is not None else None
    lengths = _step_lengths(frame_ops)
    if unstacked is None or lengths is None:
        return None
    return HelperMatch("TrainingHelper", *unstacked, lengths, _max_iterations(frame_ops))


def match_dynamic_rnn_input(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """`tf.nn.dynamic_rnn(AttentionWrapper(...), inputs, sequence_length)` (teacher forcing without a helper): the
    step input is `input_ta.read(time)` itself, not a loop variable; the loop runs every input step, and with
    `sequence_length` a row's outputs are zeros and its state (attention included) is copied through past its
    length, as `impute_finished` does."""
    x = _strip(x)
    if x.op.type != "TensorArrayReadV3":
        return None
    unstacked = _unstacked(view, x.op)
    if unstacked is None:
        return None
    return HelperMatch("dynamic_rnn", *unstacked, _step_lengths(frame_ops))


def _max_iterations(frame_ops):
    """dynamic_decode's `time + 1 >= maximum_iterations` (a scalar Enter), else None."""
    for op in frame_ops:
        if op.type == "GreaterEqual" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 0 \
                and op.inputs[1].dtype.is_integer:
            return op.inputs[1].op.inputs[0]
    return None


_GATHER = ("GatherV2", "Gather", "ResourceGather")


def _through_cond(t):
    """Look through the `Switch` / `Identity` a `tf.cond` branch reads its outer values with."""
    while t.op.type in ("Switch", "Identity") and t.op.inputs:
        t = t.op.inputs[0]
    return t


def match_greedy_embedding_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """GreedyEmbeddingHelper: next input = cond(all finished, start_inputs, embedding_lookup(embedding,
    argmax(outputs))); start inputs = embedding_lookup(embedding, start_tokens); finished when argmax == end_token."""
    x_loop = _lv(x)
    if x_loop is None:
        return None
    gather = next((a.op for a in _ancestors(x_loop.next) if a.op.type in _GATHER), None)
    if gather is None:
        return None
    embedding = view.variable_of(_through_cond(gather.inputs[0]))
    ids = _through_cond(gather.inputs[1])
    while ids.op.type in ("Identity", "Cast"):
        ids = ids.op.inputs[0]
    if embedding is None or ids.op.type != "ArgMax":
        return None
    start = x_loop.enter.inputs[0]
    while start.op.type == "Identity":
        start = start.op.inputs[0]
    if start.op.type not in _GATHER or view.variable_of(start.op.inputs[0]) != embedding:
        return None
    end_token = None
    for op in frame_ops:
        if op.type == "Equal" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 0:
            end_token = op.inputs[1].op.inputs[0]
    max_iter = _max_iterations(frame_ops)
    if end_token is None or max_iter is None:
        raise Unsupported("a GreedyEmbeddingHelper decoder without maximum_iterations (its length is unbounded)")
    return HelperMatch("GreedyEmbeddingHelper", None, True, None, max_iter, embedding, start.op.inputs[1], end_token)


# One entry per way a decoder loop gets its step input: (view, the loop's ops, the cell's input) -> HelperMatch.
HELPERS = (match_training_helper, match_greedy_embedding_helper, match_dynamic_rnn_input)


# ------------------------------------------------------------------------------------------------ provider
class DynamicDecode(Provider):
    kind = "dynamic_decode"

    def __init__(self, view, frame, layers, states, helper, impute, dense, writes, lengths_exit):
        self.view, self.frame, self.layers, self.states = view, frame, layers, states
        self.helper, self.impute, self.dense, self.writes = helper, impute, dense, writes
        self.lengths_exit = lengths_exit
        inputs = [helper.inputs] + [t for t in (helper.lengths, helper.max_iterations) if t is not None]
        self.init = initial_states(view, states, inputs)
        provides = []
        for w in writes.values():
            provides += [t.name for t in w if t is not None]
        provides += final_state_names(states)
        if lengths_exit is not None:
            provides.append(lengths_exit.name)
        super().__init__(frame.split("/while")[0], inputs, provides)

    def _decoder_inputs(self, em: Emitter, x, lengths, max_iter, note_cap: bool):
        """TrainingHelper: the inputs batch major, cut to the steps the loop runs -> (inputs, lengths).
        dynamic_rnn runs every step of its inputs: nothing is cut."""
        seq = em.value(x)
        if not self.helper.batch_major:
            seq = em.emit(f"keras.ops.transpose({seq}, (1, 0, 2))", "time_major_to_batch")[0].var
        lens = em.value(lengths) if lengths is not None else None
        if self.helper.name == "dynamic_rnn":
            return seq, lens
        tname = em.layer_name(self.name + "/max_length")
        cap = f", maximum_iterations={em.value(max_iter)}" if max_iter is not None else ""
        seq = em.emit(f"tfm.TrimToMaxLength(name={tname!r})({seq}, {lens}{cap})", "decoder_inputs",
                      comment="the loop runs max(sequence_length) steps" + (", at most maximum_iterations"
                                                                            if cap and note_cap else ""))[0].var
        return seq, lens

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        x = next(it)
        lengths = next(it) if self.helper.lengths is not None else None
        max_iter = next(it) if self.helper.max_iterations is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        em.comment(f"contrib.seq2seq dynamic_decode (while loop {self.name}/while): BasicDecoder + {self.helper.name}, "
                   f"{len(self.layers)} layer(s) {kinds}" + (", impute_finished" if self.impute else "")
                   + (", output_layer Dense" if self.dense else ""))
        seq, lens = self._decoder_inputs(em, x, lengths, max_iter, note_cap=True)
        mask = None
        if self.impute:
            mname = em.layer_name(self.name + "/sequence_mask")
            mask = em.emit(f"tfm.SequenceMask(name={mname!r})({lens}, {seq})", "mask",
                           comment="impute_finished: finished rows keep their state")[0].var
        out = {}
        for step, init, st in zip(self.layers, inits, self.states):
            _, names = emit_rnn_layer(em, self.view, step, seq, init, mask,
                                      f"dynamic_decode BasicDecoder+{self.helper.name}")
            seq = names[0]
            if st["h"].exit is not None:
                out[st["h"].exit.outputs[0].name] = Sym(var=names[1], dtype="float32")
            if st.get("c") is not None and st["c"].exit is not None:
                out[st["c"].exit.outputs[0].name] = Sym(var=names[2], dtype="float32")
        if self.dense is not None:
            seq = _emit_dense(em, self.view, self.dense, seq)
        sample = None
        if "sample_id" in self.writes:
            sname = em.layer_name(self.name + "/sample_id")
            sample = em.emit(f"tfm.SampleIds(name={sname!r})({seq})", "sample_id",
                             comment=f"{self.helper.name}.sample: argmax", dtype="int32")[0].var
        if mask is not None:
            seq, sample = _zero_past_length(em, self.name, seq, sample, mask)
        _write_outputs(em, self.writes, (("rnn_output", seq), ("sample_id", sample)), out)
        if self.lengths_exit is not None:
            out[self.lengths_exit.name] = Sym(var=lens, dtype="int32")
        em.lines.append("")
        return out


def recognise_decoders(view: GraphView, outputs) -> dict:
    return recognise_frames(view, _decoder_provider)


def _frame_ops(view, frame):
    """The ops of one while frame: forward from its `Enter`s (frame_name attribute), up to its `Exit`s. (Ops of a
    second decoder reusing the first one's variable scope carry the first one's names: names cannot tell.)"""
    enters = [op for op in view.graph.get_operations()
              if op.type == "Enter" and op.get_attr("frame_name").decode() == frame]
    seen, stack = {}, list(enters)
    while stack:
        op = stack.pop()
        if op.name in seen or is_gradient(op.name):
            continue
        seen[op.name] = op
        if op.type == "Exit":
            continue
        for out in op.outputs:
            stack.extend(out.consumers())
    return list(seen.values())


def _decoder_provider(view, frame, steps):
    firsts = [s for s in steps if _lv(s.x) is not None or _attention_input(s.x) is not None]
    if len(firsts) != 1:
        return None
    layers = [firsts[0]]
    while True:
        top = layers[-1]
        nxt = next((s for s in steps if s is not top and _strip(s.x).name in (top.new_h.name, _strip(top.new_h).name)),
                   None)
        if nxt is None:
            break
        layers.append(nxt)
    if len(layers) != len(steps):
        return None
    frame_ops = _frame_ops(view, frame)
    att_in = _attention_input(layers[0].x)
    helper = None
    for m in HELPERS:
        helper = m(view, frame_ops, att_in[0] if att_in is not None else layers[0].x)
        if helper is not None:
            break
    if helper is None:
        return None
    states, impute = [], False
    for s in layers:
        st = {}
        for role, prev, new in (("h", s.h_prev, s.new_h), ("c", s.c_prev, s.new_c)):
            if prev is None:
                continue
            lv = _lv(prev)
            if lv is None:
                raise Unsupported(f"the {role} state of {s.scope} is not a loop variable")
            nxt, imp = _strip_impute(lv.next)
            impute = impute or imp
            if _strip(nxt).name != new.name:
                raise Unsupported(f"the next {role} state of {s.scope} is not the cell's new state")
            st[role] = lv
        states.append(st)
    top = layers[-1]
    attention = _match_attention(view, frame, frame_ops, layers, att_in) if att_in is not None else None
    writes, dense = {}, None
    for op in frame_ops:
        if op.type != "TensorArrayWriteV3":
            continue
        value, imp = _strip_impute(op.inputs[2])
        impute = impute or imp
        v = _strip(value)
        if value.dtype.is_integer:
            key = "sample_id"
        elif v.op.type == "Softmax" and attention is not None:
            key = "alignment_history"
        else:
            key = "rnn_output"
            outs = [top.new_h] if attention is None else [attention.attention_next, top.new_h]
            hit = next((o for o in outs if v.name == _strip(o).name), None)
            if hit is None:
                for o in outs:
                    dense = _match_dense(view, v, o)
                    if dense is not None:
                        hit = o
                        break
            if hit is None:
                return None
            if attention is not None:
                attention.output_attention = hit is attention.attention_next
        handle = op.inputs[0]
        ta = handle.op.inputs[0].op if handle.op.type == "Enter" else handle.op
        gather = next((c.outputs[0] for c in ta.outputs[0].consumers() if c.type == "TensorArrayGatherV3"), None)
        gather_bm = None
        if gather is not None:
            cons = [c for c in gather.consumers() if not is_gradient(c.name)]
            if len(cons) == 1 and cons[0].type == "Transpose" and view.foldable(cons[0].inputs[1].op):
                perm = list(np.asarray(view.fold(cons[0].inputs[1])))
                if perm[:2] == [1, 0]:
                    gather_bm = cons[0].outputs[0]
        writes[key] = (gather, gather_bm)
    if "rnn_output" not in writes:
        return None
    lengths_exit = None
    for op in frame_ops:  # the lengths loop variable: where(not finished, fill(time + 1), lengths)
        if op.type in ("Select", "SelectV2") and op.inputs[1].op.type == "Fill":
            lv = _loop_var_of(op.inputs[2])
            if lv is not None and lv.exit is not None:
                lengths_exit = lv.exit.outputs[0]
    if helper.name == "GreedyEmbeddingHelper":
        return GreedyDecode(view, frame, layers, states, helper, impute, dense, writes, None, attention)
    if attention is not None:
        return AttentionDecode(view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention)
    if helper.name == "dynamic_rnn":
        return None  # a dynamic_rnn of plain cells: rnn.WhileRNN's
    return DynamicDecode(view, frame, layers, states, helper, impute, dense, writes, lengths_exit)


def _attention_input(x):
    """AttentionWrapper's cell input `concat([inputs, attention], -1)` -> (inputs, attention). The attention is a
    loop variable; the inputs one too (`dynamic_decode`) or the step of the input TensorArray (`dynamic_rnn`)."""
    if x.op.type in ("ConcatV2", "Concat") and len(x.op.inputs) == 3:
        a, b = (x.op.inputs[0], x.op.inputs[1]) if x.op.type == "ConcatV2" else (x.op.inputs[1], x.op.inputs[2])
        if _lv(b) is not None and (_lv(a) is not None or _strip(a).op.type == "TensorArrayReadV3"):
            return a, b
    return None


@dataclass
class AttentionMatch:
    mechanism: str                  # "luong" | "bahdanau"
    variables: dict                 # role -> variable op name
    values: object                  # the (masked) memory the context is read from
    memory_lengths: object | None   # memory_sequence_length (scores past it are -inf)
    attention_next: object          # the attention this step computes (the loop variable's next value)
    attention_enter: object
    output_attention: bool = True
    scale: bool = False
    normalize: bool = False


_ATTENTION_VARIABLES = {  # role -> the end of the contrib variable name (one entry per variable)
    "query_layer": "bahdanau_attention/query_layer/kernel",
    "attention_v": "bahdanau_attention/attention_v",
    "bahdanau_g": "bahdanau_attention/attention_g",
    "attention_b": "bahdanau_attention/attention_b",
    "luong_g": "luong_attention/attention_g",
    "attention_layer": "attention_layer/kernel",
}


def _match_attention(view, frame, frame_ops, layers, att_in) -> AttentionMatch | None:
    """AttentionWrapper over the cells: its variables (read inside the body), the memory, the memory lengths."""
    read = {}
    for op in frame_ops:
        if op.type == "Enter":
            var = view.variable_of(op.outputs[0])
            if var is not None:
                for role, tail in _ATTENTION_VARIABLES.items():
                    if var.endswith("/" + tail) or var == tail:
                        read[role] = var
    values = None
    for op in frame_ops:  # context = expand_dims(softmax alignments, 1) @ values (Luong's score query @ keys^T too)
        if op.type in ("BatchMatMul", "BatchMatMulV2") and op.inputs[1].op.type == "Enter" and \
                op.inputs[0].op.type == "ExpandDims" and _strip(op.inputs[0].op.inputs[0]).op.type == "Softmax":
            values = op.inputs[1].op.inputs[0]
    if values is None:
        raise Unsupported("an AttentionWrapper whose context is not alignments . memory")
    wrapper = layers[0].scope.split("/attention_wrapper/")[0] if "/attention_wrapper/" in layers[0].scope else ""
    memory_kernels = [op.name for op in view.graph.get_operations()
                      if op.type in ("VariableV2", "Variable", "VarHandleOp") and op.name.endswith("memory_layer/kernel")]
    if not memory_kernels:
        raise Unsupported("an AttentionWrapper without memory_layer/kernel")
    read["memory_layer"] = max(memory_kernels, key=lambda n: len(_common_prefix(n, wrapper)))
    lengths = None
    for op in frame_ops:
        if op.type == "Enter" and op.inputs[0].dtype.is_integer and op.inputs[0].shape.rank == 1 and any(
                "equenceMask" in c.name or "sequence_mask" in c.name for c in op.outputs[0].consumers()):
            lengths = op.inputs[0]
            while lengths.op.type == "Identity" and lengths.op.inputs:
                lengths = lengths.op.inputs[0]
    att_lv = _lv(att_in[1])
    nxt, _ = _strip_impute(att_lv.next)
    if not _is_zero_state(view, att_lv.enter.inputs[0]):
        raise Unsupported("an AttentionWrapper with a non-zero initial attention")
    mech = "bahdanau" if "attention_v" in read else "luong"
    return AttentionMatch(mech, read, values, lengths, _strip(nxt), att_lv.enter,
                          scale="luong_g" in read, normalize="bahdanau_g" in read)


def _common_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


class AttentionDecode(DynamicDecode):
    kind = "dynamic_decode_attention"

    def __init__(self, view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention):
        super().__init__(view, frame, layers, states, helper, impute, dense, writes, lengths_exit)
        self.attention = attention
        self.inputs = self.inputs + [attention.values] + (
            [attention.memory_lengths] if attention.memory_lengths is not None else [])

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        a = self.attention
        it = iter(syms)
        x = next(it)
        lengths = next(it) if self.helper.lengths is not None else None
        max_iter = next(it) if self.helper.max_iterations is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        values = next(it)
        mem_len = next(it) if a.memory_lengths is not None else None
        v = {role: self.view.variable_values(name) for role, name in a.variables.items()}
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        mech = {("luong", False): "LuongAttention", ("luong", True): "LuongAttention(scale=True)",
                ("bahdanau", False): "BahdanauAttention", ("bahdanau", True): "BahdanauAttention(normalize=True)"}[
            (a.mechanism, a.scale or a.normalize)]
        att_size = v["attention_layer"].shape[1] if "attention_layer" in v else None
        wrapper = (f"AttentionWrapper({kinds}, {mech}, attention_layer_size={att_size}, "
                   f"output_attention={a.output_attention})")
        if self.helper.name == "dynamic_rnn":
            construct = f"dynamic_rnn(AttentionWrapper {mech})"
            em.comment(f"tf.nn.dynamic_rnn (while loop {self.frame}) of {wrapper}"
                       + (" with sequence_length" if self.impute else ""))
        else:
            construct = f"dynamic_decode BasicDecoder(AttentionWrapper {mech})+{self.helper.name}"
            em.comment(f"contrib.seq2seq dynamic_decode (while loop {self.name}/while): BasicDecoder({wrapper}) + "
                       f"{self.helper.name}" + (", output_layer Dense" if self.dense else ""))
        seq, lens = self._decoder_inputs(em, x, lengths, max_iter, note_cap=False)
        weights, families, units, flat_init = _stacked_cells(em, self.view, self.layers, inits,
                                                             "an AttentionWrapper whose initial cell state")
        weights, att_args = _attention_weights(self.view, a, weights, self.layers[0].input_size)
        lname = em.layer_name(self.layers[0].scope.rsplit("/", 1)[0])
        em.weights[lname] = weights
        att_width = att_size or v["memory_layer"].shape[0]
        input_dim = self.layers[0].input_size - att_width
        ctor = f"tfm.AttentionDecoder({families!r}, {units!r}, input_dim={input_dim}, {att_args}, name={lname!r})"
        args = [seq, em.value(values)]
        if mem_len is not None:
            args.append(f"memory_lengths={em.value(mem_len)}")
        if flat_init and flat_init[0] is not None:
            args.append(f"initial_state=[{', '.join(flat_init)}]")
        if self.impute:
            args.append(f"sequence_lengths={lens}")
        names = [em.new_ident("attention_outputs"), em.new_ident("alignments")]
        names += _state_idents(em, self.layers)
        em.line(f"{', '.join(names)} = {ctor}({', '.join(args)})", f"AttentionWrapper {lname}")
        em.constructs[f"{construct} -> tfm.AttentionDecoder"] += 1
        out = _final_states(self.states, names, 2)  # impute_finished: frozen at each length
        seq = names[0]
        if self.dense is not None:
            seq = _emit_dense(em, self.view, self.dense, seq)
        sample = None
        if "sample_id" in self.writes:
            sname = em.layer_name(self.name + "/sample_id")
            sample = em.emit(f"tfm.SampleIds(name={sname!r})({seq})", "sample_id", dtype="int32")[0].var
        if self.impute:
            mname = em.layer_name(self.name + "/sequence_mask")
            mask = em.emit(f"tfm.SequenceMask(name={mname!r})({lens}, {seq})", "mask")[0].var
            seq, sample = _zero_past_length(em, self.name, seq, sample, mask)
        _write_outputs(em, self.writes, (("rnn_output", seq), ("sample_id", sample), ("alignment_history", names[1])),
                       out)
        if self.lengths_exit is not None:
            out[self.lengths_exit.name] = Sym(var=lens, dtype="int32")
        em.lines.append("")
        return out


class GreedyDecode(DynamicDecode):
    kind = "dynamic_decode_greedy"

    def __init__(self, view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention=None):
        self.view, self.frame, self.layers, self.states = view, frame, layers, states
        self.helper, self.impute, self.dense, self.writes = helper, impute, dense, writes
        self.lengths_exit, self.attention = None, attention
        inputs = [helper.max_iterations, helper.start_tokens, helper.end_token]
        if attention is not None:
            inputs += [attention.values] + ([attention.memory_lengths] if attention.memory_lengths is not None else [])
        self.init = initial_states(view, states, inputs)
        provides = []
        for w in writes.values():
            provides += [t.name for t in w if t is not None]
        provides += final_state_names(states)
        Provider.__init__(self, frame.split("/while")[0], inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        max_iter, start, end = next(it), next(it), next(it)
        a = self.attention
        values = next(it) if a is not None else None
        mem_len = next(it) if a is not None and a.memory_lengths is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        weights, families, units, flat_init = _stacked_cells(em, self.view, self.layers, inits,
                                                             "a GreedyEmbeddingHelper decoder whose initial state")
        emb = self.view.variable_values(self.helper.embedding)
        att_args = ""
        if a is not None:
            weights, att_args = _attention_weights(self.view, a, weights, self.layers[0].input_size)
        weights.append(emb)
        out_size, use_bias = None, False
        if self.dense is not None:
            kernel, bias = self.dense
            k = self.view.variable_values(kernel)
            out_size, use_bias = k.shape[1], bool(bias)
            weights += [k] + ([self.view.variable_values(bias)] if bias else [])
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        em.comment(f"contrib.seq2seq dynamic_decode (while loop {self.name}/while): BasicDecoder + "
                   f"GreedyEmbeddingHelper(embedding {self.helper.embedding}), {kinds}"
                   + (", output_layer Dense" if self.dense else "") + ", maximum_iterations")
        lname = em.layer_name(self.name + "/greedy_decoder")
        em.weights[lname] = weights
        mi = em.value(max_iter)
        if max_iter.is_const:
            mi = f"keras.ops.convert_to_tensor({mi}, dtype='int32')"
        args = [mi, f"start_tokens={em.value(start)}", f"end_token={em.value(end)}"]
        if a is not None:
            args.append(f"memory={em.value(values)}")
            if mem_len is not None:
                args.append(f"memory_lengths={em.value(mem_len)}")
        if flat_init and flat_init[0] is not None:
            args.append(f"initial_state=[{', '.join(flat_init)}]")
        names = [em.new_ident("greedy_outputs"), em.new_ident("sample_id")]
        if a is not None:
            names.append(em.new_ident("alignments"))
        names += _state_idents(em, self.layers)
        if a is None:
            em.lines.append(f"{', '.join(names)} = tfm.GreedyDecoder({families!r}, {units!r}, "
                            f"vocab_size={emb.shape[0]}, embedding_dim={emb.shape[1]}, output_size={out_size}, "
                            f"use_bias={use_bias}, impute_finished={self.impute}, name={lname!r})({', '.join(args)})")
            em.constructs["dynamic_decode BasicDecoder+GreedyEmbeddingHelper -> tfm.GreedyDecoder"] += 1
        else:
            em.lines.append(f"{', '.join(names)} = tfm.GreedyAttentionDecoder({families!r}, {units!r}, "
                            f"input_dim={emb.shape[1]}, {att_args}, vocab_size={emb.shape[0]}, "
                            f"output_size={out_size}, use_bias={use_bias}, impute_finished={self.impute}, "
                            f"name={lname!r})({', '.join(args)})")
            em.constructs["dynamic_decode BasicDecoder(AttentionWrapper)+GreedyEmbeddingHelper -> "
                          "tfm.GreedyAttentionDecoder"] += 1
        out = _final_states(self.states, names, 2 if a is None else 3)  # names[k]: the first final state
        _write_outputs(em, self.writes, (("rnn_output", names[0]), ("sample_id", names[1]),
                                         ("alignment_history", names[2] if a is not None else None)), out)
        em.lines.append("")
        return out


def _stacked_cells(em: Emitter, view, layers, inits, what: str):
    """The cells of one stacked decoder layer -> (weights, families, units, flat initial state: all or none)."""
    weights, families, units, flat_init = [], [], [], []
    for step, init in zip(layers, inits):
        weights += keras_weights(view, step)
        families.append(step.family)
        units.append(step.units)
        roles = ("h", "c") if step.family == "lstm" else ("h",)
        flat_init += [em.value(init[role]) if role in init else None for role in roles]
    if any(i is None for i in flat_init) and any(i is not None for i in flat_init):
        raise Unsupported(f"{what} is partly zero")
    return weights, families, units, flat_init


def _state_idents(em: Emitter, layers) -> list[str]:
    """Variables for each cell's final state: `<cell>_h` (and `<cell>_c` for an LSTM)."""
    names = []
    for step in layers:
        names += [em.new_ident(f"{keras_name_short(step.scope)}_h")] + (
            [em.new_ident(f"{keras_name_short(step.scope)}_c")] if step.family == "lstm" else [])
    return names


def _final_states(states, names, k: int) -> dict:
    """The loop's final states -> Syms of `names[k:]` (one per h/c loop variable, in layer order)."""
    out = {}
    for st in states:
        for role in ("h", "c"):
            lv = st.get(role)
            if lv is not None:
                if lv.exit is not None:
                    out[lv.exit.outputs[0].name] = Sym(var=names[k], dtype="float32")
                k += 1
    return out


def _emit_dense(em: Emitter, view, dense, seq: str) -> str:
    """BasicDecoder's output_layer (MatMul + BiasAdd) -> a keras Dense applied to `seq`."""
    kernel, bias = dense
    k = view.variable_values(kernel)
    scope = kernel.rsplit("/", 1)[0]
    lname = em.layer_name(scope)
    em.weights[lname] = [k] + ([view.variable_values(bias)] if bias else [])
    seq = em.emit(f"keras.layers.Dense({k.shape[1]}, use_bias={bool(bias)}, name={lname!r})({seq})",
                  "rnn_output", comment=f"BasicDecoder output_layer {scope} (MatMul + BiasAdd)")[0].var
    em.constructs["BasicDecoder output_layer -> keras.layers.Dense"] += 1
    return seq


def _zero_past_length(em: Emitter, name: str, seq: str, sample: str | None, mask: str):
    """impute_finished: zeros past each length in the outputs (and the sample ids) -> (seq, sample)."""
    zname = em.layer_name(name + "/zero_past_length")
    seq = em.emit(f"tfm.ZeroPastLength(name={zname!r})({seq}, {mask})", "rnn_output",
                  comment="impute_finished writes zeros past each length")[0].var
    if sample is not None:
        zname = em.layer_name(name + "/zero_past_length_ids")
        sample = em.emit(f"tfm.ZeroPastLength(name={zname!r})({sample}, {mask})", "sample_id",
                         dtype="int32")[0].var
    return seq, sample


def _write_outputs(em: Emitter, writes, values, out: dict) -> None:
    """The TensorArrays the graph reads (`writes[key]` = (time-major gather, batch-major gather)) -> `out`."""
    for key, value in values:
        if key not in writes:
            continue
        gather, gather_bm = writes[key]
        if key == "alignment_history":  # final_state.alignment_history.stack() is time major
            gather_bm = None
        dtype = "int32" if key == "sample_id" else "float32"
        if gather_bm is not None:
            out[gather_bm.name] = Sym(var=value, dtype=dtype)
        if gather is not None:
            perm = "(1, 0)" if key == "sample_id" else "(1, 0, 2)"
            out[gather.name] = Sym(lazy=lambda v=value, p=perm, k=key: em.emit(
                f"keras.ops.transpose({v}, {p})", f"{k}_time_major")[0].var, dtype=dtype)


def _attention_weights(view, a, weights, cell_input_size):
    """Append the mechanism's weights (the `AttentionDecoder` order) -> (weights, constructor arguments)."""
    v = {role: view.variable_values(name) for role, name in a.variables.items()}
    weights = list(weights) + [v["memory_layer"]]
    if a.mechanism == "bahdanau":
        weights += [v["query_layer"], v["attention_v"]]
        if a.normalize:
            weights += [v["bahdanau_g"], v["attention_b"]]
    elif a.scale:
        weights.append(v["luong_g"])
    att_size = v["attention_layer"].shape[1] if "attention_layer" in v else None
    if att_size:
        weights.append(v["attention_layer"])
    args = (f"memory_dim={v['memory_layer'].shape[0]}, mechanism={a.mechanism!r}, "
            f"num_units={v['memory_layer'].shape[1]}, scale={a.scale}, normalize={a.normalize}, "
            f"attention_layer_size={att_size}, output_attention={a.output_attention}")
    return weights, args


def keras_name_short(scope: str) -> str:
    return scope.rsplit("/", 1)[-1]


def _match_dense(view, t, h):
    """`BiasAdd(MatMul(h, kernel), bias)` (or MatMul alone) on variables read inside the body -> (kernel, bias)."""
    bias = None
    if t.op.type in ("BiasAdd", "Add", "AddV2"):
        bias = view.variable_of(t.op.inputs[1])
        if bias is None:
            return None
        t = t.op.inputs[0]
    if t.op.type != "MatMul" or t.op.get_attr("transpose_a") or t.op.get_attr("transpose_b"):
        return None
    kernel = view.variable_of(t.op.inputs[1])
    if kernel is None or _strip(t.op.inputs[0]).name != h.name:
        return None
    return kernel, bias


__all__ = ["AttentionDecode", "DynamicDecode", "GreedyDecode", "HELPERS", "recognise_decoders"]
