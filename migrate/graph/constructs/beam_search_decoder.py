"""contrib.seq2seq `dynamic_decode(BeamSearchDecoder(...), maximum_iterations=N)` -> one `tfm.BeamSearchDecoder`, or
over an `AttentionWrapper` cell one `tfm.BeamSearchAttentionDecoder`.

A beam loop is a while frame holding a `TopKV2` (over the flattened `[B, beam * V]` scores; its `k` is the beam
width) and a `LogSoftmax` of the step's logits, around recognised cell steps run on the merged `[B * beam]` rows
(each state loop variable `[B, beam, units]`, read through a `Reshape`). Read from the graph: the embedding (the
`GatherV2` of the next inputs, whose start value is the same embedding's lookup of the tiled start tokens),
`end_token` (the `Equal` of the step's word ids with an `Enter`), `maximum_iterations`, the length penalty (the
`Pow` exponent, a constant; no `Pow`: 0), the output layer (MatMul / tensordot + BiasAdd on variables between the
decoder cell's output and the `LogSoftmax`, the decoder's `output_layer` or an `OutputProjectionWrapper` around
the cell) and the initial states (each state loop variable's `Enter` input). Provided: the `TensorArrayGatherV3`s
of the step ids, the parent ids and the scores (time major, as `dynamic_decode` stacks them; the transposes after
them stay ops), and the lengths / log-probs `Exit`s; `finalize`'s back-tracking (`GatherTree`, `migrate/contrib_ops`)
reads them, translated op by op to `tfm.GatherTree`.

An `AttentionWrapper` cell (tensorflow/nmt with `beam_width > 0`, OpenNMT-tf 1.x): the first cell reads
`concat([inputs, attention])` of two merged loop variables; the mechanism is matched as for the other decoders
(`attention_wrapper.match_attention`: Luong / Bahdanau, scale / normalize, attention layer or none, the tiled
memory and `memory_sequence_length`), `output_attention` from which of the attention and the top cell's output the
logits read; the attention loop variable's next value is the step's attention reordered by the parents
(`_maybe_tensor_gather_helper`), which the layer does too. `alignment_history=True` is accepted while no output
reads it (the history `finalize` re-sorts is not provided). The coverage penalty (TF 1.13+ `_get_scores`:
`sum(log(min(accumulated attention, 1))) * finished * weight`) is read from its `Log(Minimum(...))` and the
constant weight it is multiplied by.

Not taken (the loop stays generic, with that reason): an output layer that is not a Dense, a coverage penalty
whose weight is not a constant or without an attention cell.
"""

from __future__ import annotations

import numpy as np

from migrate.graph.constructs.attention_wrapper import attention_slots, attention_weights, match_attention
from migrate.graph.constructs.base import Construct
from migrate.graph.decoders import (
    embedding_decoder_slots,
    layer_weights,
    max_iterations_arg,
    output_layer_weights,
    shared_weights_arg,
    stacked_cells,
)
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import (
    BIAS,
    GATHER,
    Provider,
    ancestors,
    const_scalar,
    end_token_check,
    frame_ops,
    loop_var,
    max_iterations,
    start_lookup,
    strip,
    through_cond,
)
from migrate.graph.meta import GraphView
from migrate.graph.rnn import initial_states

RESHAPES = ("Reshape", "Identity")


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every while frame that is a `BeamSearchDecoder` loop -> its provider."""
    return registry.frames(view, lambda v, frame, steps: beam_provider(v, frame, steps))


def merged(t):
    """A beam loop's `_merge_batch_beams` (Reshape [B, beam, ...] -> [B * beam, ...]) -> the loop variable, else None."""
    t = strip(t)
    while t.op.type in RESHAPES and t.op.inputs:
        lv = loop_var(t)
        if lv is not None:
            return lv
        t = t.op.inputs[0]
    return loop_var(t)


def beam_provider(view: GraphView, frame: str, steps):
    ops = frame_ops(view, frame)
    topk = [o for o in ops if o.type in ("TopKV2", "TopK")]
    log_softmax = [o for o in ops if o.type == "LogSoftmax"]
    if len(topk) != 1 or len(log_softmax) != 1:
        return None
    topk, log_softmax = topk[0], log_softmax[0]
    firsts = [s for s in steps if merged(s.x) is not None or beam_attention_input(s.x) is not None]
    if len(firsts) != 1:
        return None
    layers = [firsts[0]]
    while True:
        top = layers[-1]
        nxt = next((s for s in steps if s is not top and strip(s.x).name in (top.new_h.name, strip(top.new_h).name)),
                   None)
        if nxt is None:
            break
        layers.append(nxt)
    if len(layers) != len(steps):
        return None
    att_in = beam_attention_input(layers[0].x)
    attention = None
    if att_in is not None:   # AttentionWrapper: the cell reads concat([merged inputs, merged attention])
        x_lv, att_lv = merged(att_in[0]), merged(att_in[1])
        attention = match_attention(view, frame, ops, layers, (x_lv.body, att_lv.body))
        attention.attention_next = unbeam(att_lv.next)
    else:
        x_lv = merged(layers[0].x)
    coverage = coverage_penalty(view, ops, frame)
    if coverage and attention is None:
        raise Unsupported(f"{frame}: a coverage penalty without an AttentionWrapper cell")
    states = []
    for s in layers:
        st = {}
        for role, prev in (("h", s.h_prev), ("c", s.c_prev)):
            if prev is None:
                continue
            lv = merged(prev)
            if lv is None:
                raise Unsupported(f"the {role} state of {s.scope} in the beam loop {frame} is not a loop variable")
            st[role] = lv
        states.append(st)
    # the embedding the next inputs are read from; the start inputs its lookup of the tiled start tokens
    gather = next((a.op for a in ancestors(x_lv.next, depth=12) if a.op.type in GATHER
                   and view.variable_of(through_cond(a.op.inputs[0])) is not None), None)
    if gather is None:
        return None
    embedding = view.variable_of(through_cond(gather.inputs[0]))
    start_tokens = start_lookup(view, x_lv, embedding)
    if start_tokens is None:
        return None
    end, max_iter = end_token_check(ops), max_iterations(ops)
    if end is None:
        return None
    word_ids, end_token = end   # the step's word ids, compared with end_token
    if max_iter is None:
        raise Unsupported("a BeamSearchDecoder without maximum_iterations (its length is unbounded)")
    width = const_scalar(view, topk.inputs[1])
    if width is None:
        raise Unsupported(f"the beam width of {frame} (TopKV2's k) is not a constant")
    pows = [o for o in ops if o.type == "Pow"]
    penalty = 0.0
    if pows:
        penalty = const_scalar(view, pows[0].inputs[1])
        if penalty is None or len({o.inputs[1].name for o in pows}) > 1:
            raise Unsupported(f"the length penalty of {frame} is not one constant")
    tops = [layers[-1].new_h] if attention is None else [attention.attention_next, layers[-1].new_h]
    dense, top = output_layer(view, log_softmax.inputs[0], tops)
    if attention is not None:
        attention.output_attention = top is attention.attention_next
    # the TensorArrays written each step: scores (TopKV2's values), word ids (what `Equal` compares), parents
    writes = {}
    for op in ops:
        if op.type != "TensorArrayWriteV3":
            continue
        value = strip(op.inputs[2])
        if value.dtype.is_floating and value.op is not topk:   # alignment_history=True: its TensorArray
            continue                                             # (read, reordered, by no output taken here)
        key = "scores" if value.op is topk else "ids" if value.name == strip(word_ids).name else "parents"
        handle = op.inputs[0]
        ta = handle.op.inputs[0].op if handle.op.type == "Enter" else handle.op
        writes[key] = next((c.outputs[0] for c in ta.outputs[0].consumers() if c.type == "TensorArrayGatherV3"),
                           None)
    if set(writes) != {"scores", "ids", "parents"}:
        return None
    exits = {}
    for op in ops:   # the BeamSearchDecoderState's lengths (int) and log_probs (float) loop variables [B, beam]
        if op.type != "Exit" or op.outputs[0].shape.rank != 2 or op.outputs[0].shape[1] != int(width):
            continue
        dtype, merge = op.outputs[0].dtype, op.inputs[0].op.inputs[0].op
        nxt = next((i.op.inputs[0] for i in merge.inputs if i.op.type == "NextIteration"), None)
        if nxt is None:
            continue
        if dtype.is_integer and strip(nxt).op.type in ("Add", "AddV2"):   # gathered lengths + lengths_to_add (not
            exits["lengths"] = op.outputs[0]                              # dynamic_decode's where(..., time + 1))
        elif dtype.is_floating:
            exits["log_probs"] = op.outputs[0]
    return BeamSearchDecode(view, frame, layers, states, embedding, start_tokens, end_token, max_iter,
                            int(width), as_written(penalty), dense, writes, exits, attention, as_written(coverage))


def as_written(x: float) -> float:
    """A float32 graph constant as the Python float the user wrote (0.6, not 0.6000000238418579)."""
    return float(str(np.float32(x)))


def beam_attention_input(x):
    """An AttentionWrapper's cell input in a beam loop, `concat([inputs, attention], -1)` of two merged
    (`[B, beam, ...]` -> `[B * beam, ...]`) loop variables -> (inputs, attention), else None."""
    if x.op.type == "ConcatV2" and len(x.op.inputs) == 3:
        a, b = x.op.inputs[0], x.op.inputs[1]
        if merged(a) is not None and merged(b) is not None:
            return a, b
    return None


def unbeam(t):
    """A per-beam state's next value, reordered by the parents (contrib's `_tensor_gather_helper`: Reshape ->
    GatherV2 -> Reshape of the split `[B, beam, ...]` value) -> the `[B * beam, ...]` value the step computed."""
    t = strip(t)
    for _ in range(8):
        if t.op.type not in RESHAPES + GATHER or not t.op.inputs:
            break
        t = strip(t.op.inputs[0])
    return t


def coverage_penalty(view, ops, frame) -> float:
    """TF 1.13+ `_get_scores`' coverage penalty: `sum(log(min(accumulated, 1))) * finished * weight` -> the
    weight (a constant), 0.0 without one."""
    logs = [o for o in ops if o.type == "Log" and o.inputs[0].op.type == "Minimum"]
    if not logs:
        return 0.0
    frontier = [logs[0].outputs[0]]
    for _ in range(4):
        nxt = []
        for t in frontier:
            for c in t.consumers():
                if c.type == "Mul":
                    for i in c.inputs:
                        w = const_scalar(view, i)
                        if w is not None:
                            return w
                nxt += c.outputs
        frontier = nxt
    raise Unsupported(f"the coverage penalty weight of {frame} is not a constant")


def output_layer(view, logits, tops):
    """The Dense (`tensordot(x, kernel) + bias` on `[B, beam, units]`, or MatMul + BiasAdd) between the decoder
    cell's output (one of `tops`: the top cell's output, or an AttentionWrapper's attention) and the `LogSoftmax`
    -> ((kernel, bias or None) or None when the logits are that output, the top it reads)."""
    t, bias = logits, None
    while t.op.type in RESHAPES and t.op.inputs:   # an OutputProjectionWrapper's: split after the bias
        t = t.op.inputs[0]
    if t.op.type in BIAS and view.variable_of(t.op.inputs[1]) is not None:
        bias = view.variable_of(t.op.inputs[1])
        t = t.op.inputs[0]
    top = next((top for top in tops if merged_output(t, top)), None)
    if bias is None and top is not None:   # no output layer (an attention layer's MatMul is the output's own)
        return None, top
    matmul = next((a.op for a in ancestors(t, depth=4, through=("Reshape", "Identity")) if a.op.type == "MatMul"),
                  None)
    if matmul is None:
        raise Unsupported("the BeamSearchDecoder's output layer is not a Dense (MatMul + BiasAdd)")
    kernel = view.variable_of(matmul.inputs[1])
    top = next((top for top in tops if merged_output(matmul.inputs[0], top)), None)
    if kernel is None or matmul.get_attr("transpose_a") or matmul.get_attr("transpose_b") or top is None:
        raise Unsupported("the BeamSearchDecoder's output layer is not a Dense on the decoder cell's output")
    return (kernel, bias), top


def merged_output(t, top_h) -> bool:
    """`t` is the top cell's output, through the `_split_batch_beams` / tensordot reshapes."""
    for _ in range(6):
        if strip(t).name in (top_h.name, strip(top_h).name):
            return True
        if t.op.type not in RESHAPES + ("Transpose",) or not t.op.inputs:
            return False
        t = t.op.inputs[0]
    return False


class BeamSearchDecode(Provider):
    reads_shared_weights = True   # the training path's embedding / cells / projection / mechanism
    kind = "beam_search_decoder"

    def folded_cells(self) -> list:   # its runtime layer's cells (`Provider.folded_cells`)
        return list(self.layers)

    def __init__(self, view, frame, layers, states, embedding, start_tokens, end_token, max_iter, width, penalty,
                 dense, writes, exits, attention=None, coverage=0.0):
        self.view, self.frame, self.layers, self.states = view, frame, layers, states
        self.embedding, self.width, self.penalty, self.dense = embedding, width, penalty, dense
        self.writes, self.exits, self.attention, self.coverage = writes, exits, attention, coverage
        inputs = [max_iter, start_tokens, end_token]
        if attention is not None:   # the tiled memory (masked, as the mechanism holds it) and its lengths
            inputs += [attention.values] + ([attention.memory_lengths] if attention.memory_lengths is not None else [])
        self.init = initial_states(view, states, inputs)
        provides = [t.name for t in writes.values() if t is not None] + [t.name for t in exits.values()]
        super().__init__(frame.split("/while")[0], inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        max_iter, start, end = next(it), next(it), next(it)
        a = self.attention
        values = next(it) if a is not None else None
        mem_len = next(it) if a is not None and a.memory_lengths is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        weights, families, units, flat_init = stacked_cells(em, self.view, self.layers, inits,
                                                             "a BeamSearchDecoder whose initial state")
        emb = self.view.variable_values(self.embedding)
        att_args = ""
        if a is not None:
            weights, att_args = attention_weights(self.view, a, weights, self.layers[0].input_size)
        weights.append(emb)
        out_size, use_bias = output_layer_weights(self.view, self.dense, weights)
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        cell = kinds if a is None else f"AttentionWrapper({kinds}, {a.mechanism})"
        em.comment(f"contrib.seq2seq dynamic_decode (while loop {self.name}/while): BeamSearchDecoder({cell}, "
                   f"embedding {self.embedding}, beam_width={self.width}, length_penalty_weight={self.penalty:g}"
                   + (f", coverage_penalty_weight={self.coverage:g}" if self.coverage else "") + ")"
                   + (", output_layer Dense" if self.dense else "") + ", maximum_iterations")
        lname = em.layer_name(self.name + "/beam_search_decoder")
        # the weights the training path's layers already hold: named, not copied (issue 22)
        shared = layer_weights(em, lname, weights, embedding_decoder_slots(
            self.layers, self.embedding, self.dense, attention_slots(a) if a is not None else ()))
        args = [max_iterations_arg(em, max_iter), f"start_tokens={em.value(start)}", f"end_token={em.value(end)}"]
        if a is not None:
            args.append(f"memory={em.value(values)}")
            if mem_len is not None:
                args.append(f"memory_lengths={em.value(mem_len)}")
        if flat_init and flat_init[0] is not None:
            args.append(f"initial_state=[{', '.join(flat_init)}]")
        names = [em.new_ident(n) for n in ("beam_step_ids", "beam_parent_ids", "beam_scores", "beam_lengths",
                                           "beam_log_probs")]
        if a is None:
            em.lines.append(f"{', '.join(names)} = tfm.BeamSearchDecoder({families!r}, {units!r}, "
                            f"vocab_size={emb.shape[0]}, embedding_dim={emb.shape[1]}, output_size={out_size}, "
                            f"use_bias={use_bias}, beam_width={self.width}, "
                            f"length_penalty_weight={self.penalty!r}, name={lname!r}{shared_weights_arg(shared)})"
                            f"({', '.join(args)})")
            em.constructs["dynamic_decode BeamSearchDecoder -> tfm.BeamSearchDecoder"] += 1
        else:
            em.lines.append(f"{', '.join(names)} = tfm.BeamSearchAttentionDecoder({families!r}, {units!r}, "
                            f"input_dim={emb.shape[1]}, {att_args}, vocab_size={emb.shape[0]}, "
                            f"output_size={out_size}, use_bias={use_bias}, beam_width={self.width}, "
                            f"length_penalty_weight={self.penalty!r}, coverage_penalty_weight={self.coverage!r}, "
                            f"name={lname!r}{shared_weights_arg(shared)})({', '.join(args)})")
            em.constructs["dynamic_decode BeamSearchDecoder(AttentionWrapper) -> tfm.BeamSearchAttentionDecoder"] += 1
        out = {}
        for key, var, dtype in (("ids", names[0], "int32"), ("parents", names[1], "int32"),
                                ("scores", names[2], "float32")):
            if self.writes.get(key) is not None:
                out[self.writes[key].name] = Sym(var=var, dtype=dtype)
        for key, var, dtype in (("lengths", names[3], "int32"), ("log_probs", names[4], "float32")):
            t = self.exits.get(key)
            if t is not None:
                if t.dtype.name == "int64":   # TF1's BeamSearchDecoderState.lengths
                    var, dtype = em.emit(f"keras.ops.cast({var}, 'int64')", "beam_lengths", dtype="int64")[0].var, \
                        "int64"
                out[t.name] = Sym(var=var, dtype=dtype)
        em.lines.append("")
        return out


CONSTRUCT = Construct(
    "beam_search_decoder", recognise,
    "contrib.seq2seq `dynamic_decode(BeamSearchDecoder(cell, embedding, start_tokens, end_token, "
    "tile_batch(state), beam_width, output_layer, length_penalty_weight, coverage_penalty_weight), "
    "maximum_iterations=N)` (a while loop holding `TopKV2` + `LogSoftmax` around stacked LSTM / GRU steps; the "
    "cell also an `AttentionWrapper` over `tile_batch`ed memory, lengths and state: Luong / Bahdanau, scale / "
    "normalize, attention layer or none, `output_attention` either way, `alignment_history`; an "
    "`OutputProjectionWrapper` around it; `GatherTree` after it)",
    "one `tfm.BeamSearchDecoder` (contrib's beam step in a `keras.ops.while_loop`), over an `AttentionWrapper` "
    "one `tfm.BeamSearchAttentionDecoder` (the attention vector a per-beam state reordered by the parents, the "
    "coverage penalty's accumulated alignments too), returning the step ids, parents, scores and lengths; "
    "`finalize`'s `GatherTree` -> `tfm.GatherTree`")
