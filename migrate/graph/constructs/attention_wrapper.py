"""contrib.seq2seq `AttentionWrapper` decoders (under `dynamic_decode` + TrainingHelper, or `dynamic_rnn`) -> one
`tfm.AttentionDecoder`.

Recognised by its input feeding (`concat([inputs, attention])` of two loop variables) and its variables
(`ATTENTION_VARIABLES`: contrib's `bahdanau_attention/attention_v`, `query_layer`, `attention_g`, `attention_b`,
`luong_attention/attention_g`, `attention_layer/kernel`, and the `memory_layer/kernel` outside the loop).
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate.graph.constructs.base import Construct
from migrate.graph.decoders import (
    DynamicDecode,
    cell_slots,
    emit_dense,
    final_states,
    layer_weights,
    shared_weights_arg,
    stacked_cells,
    state_idents,
    write_outputs,
    zero_past_length,
)
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import is_zero_state, loop_var, strip, strip_impute


def attention_input(x):
    """AttentionWrapper's cell input `concat([inputs, attention], -1)` -> (inputs, attention). The attention is a
    loop variable; the inputs one too (`dynamic_decode`) or the step of the input TensorArray (`dynamic_rnn`)."""
    if x.op.type in ("ConcatV2", "Concat") and len(x.op.inputs) == 3:
        a, b = (x.op.inputs[0], x.op.inputs[1]) if x.op.type == "ConcatV2" else (x.op.inputs[1], x.op.inputs[2])
        if loop_var(b) is not None and (loop_var(a) is not None or strip(a).op.type == "TensorArrayReadV3"):
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


ATTENTION_VARIABLES = {  # role -> the end of the contrib variable name (one entry per variable)
    "query_layer": "bahdanau_attention/query_layer/kernel",
    "attention_v": "bahdanau_attention/attention_v",
    "bahdanau_g": "bahdanau_attention/attention_g",
    "attention_b": "bahdanau_attention/attention_b",
    "luong_g": "luong_attention/attention_g",
    "attention_layer": "attention_layer/kernel",
}


def match_attention(view, frame, frame_ops, layers, att_in) -> AttentionMatch | None:
    """AttentionWrapper over the cells: its variables (read inside the body), the memory, the memory lengths."""
    read = {}
    for op in frame_ops:
        if op.type == "Enter":
            var = view.variable_of(op.outputs[0])
            if var is not None:
                for role, tail in ATTENTION_VARIABLES.items():
                    if var.endswith("/" + tail) or var == tail:
                        read[role] = var
    values = None
    for op in frame_ops:  # context = expand_dims(softmax alignments, 1) @ values (Luong's score query @ keys^T too)
        if op.type in ("BatchMatMul", "BatchMatMulV2") and op.inputs[1].op.type == "Enter" and \
                op.inputs[0].op.type == "ExpandDims" and strip(op.inputs[0].op.inputs[0]).op.type == "Softmax":
            values = op.inputs[1].op.inputs[0]
    if values is None:
        raise Unsupported("an AttentionWrapper whose context is not alignments . memory")
    wrapper = layers[0].scope.split("/attention_wrapper/")[0] if "/attention_wrapper/" in layers[0].scope else ""
    memory_kernels = [op.name for op in view.graph.get_operations()
                      if op.type in ("VariableV2", "Variable", "VarHandleOp") and op.name.endswith("memory_layer/kernel")]
    if not memory_kernels:
        raise Unsupported("an AttentionWrapper without memory_layer/kernel")
    read["memory_layer"] = max(memory_kernels, key=lambda n: len(common_prefix(n, wrapper)))
    lengths = None
    for op in frame_ops:
        if op.type == "Enter" and op.inputs[0].dtype.is_integer and op.inputs[0].shape.rank == 1 and any(
                "equenceMask" in c.name or "sequence_mask" in c.name for c in op.outputs[0].consumers()):
            lengths = op.inputs[0]
            while lengths.op.type == "Identity" and lengths.op.inputs:
                lengths = lengths.op.inputs[0]
    att_lv = loop_var(att_in[1])
    nxt, _ = strip_impute(att_lv.next)
    init = att_lv.enter.inputs[0]
    while init.op.type == "Reshape":   # a beam loop's split [B, beam, ...] of zero_state(B * beam)
        init = init.op.inputs[0]
    if not is_zero_state(view, init):
        raise Unsupported("an AttentionWrapper with a non-zero initial attention")
    mech = "bahdanau" if "attention_v" in read else "luong"
    return AttentionMatch(mech, read, values, lengths, strip(nxt), att_lv.enter,
                          scale="luong_g" in read, normalize="bahdanau_g" in read)


def common_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def attention_weights(view, a, weights, cell_input_size):
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


# the mechanism's weights in `attention_weights`' (and `tfm.AttentionDecoder`'s) order: (the layer's weight name,
# the ATTENTION_VARIABLES role / "memory_layer", when it is there)
MECHANISM_SLOTS = (("memory_layer", "memory_layer", lambda a: True),
                   ("query_layer", "query_layer", lambda a: a.mechanism == "bahdanau"),
                   ("attention_v", "attention_v", lambda a: a.mechanism == "bahdanau"),
                   ("attention_g", "bahdanau_g", lambda a: a.mechanism == "bahdanau" and a.normalize),
                   ("attention_b", "attention_b", lambda a: a.mechanism == "bahdanau" and a.normalize),
                   ("attention_g", "luong_g", lambda a: a.mechanism == "luong" and a.scale),
                   ("attention_layer", "attention_layer", lambda a: "attention_layer" in a.variables))


def attention_slots(a: AttentionMatch) -> list[tuple]:
    """The mechanism's weights (`attention_weights`' order) as (weight name, role, TF1 variables) for
    `decoders.share_weights`: a decoder over the same AttentionWrapper variables names them (issue 22)."""
    return [(slot, f"attention:{role}", (a.variables[role],)) for slot, role, present in MECHANISM_SLOTS if present(a)]


class AttentionDecode(DynamicDecode):
    kind = "dynamic_decode_attention"

    def folded_cells(self) -> list:   # its runtime layer's cells (`Provider.folded_cells`)
        return list(self.layers)

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
        weights, families, units, flat_init = stacked_cells(em, self.view, self.layers, inits,
                                                             "an AttentionWrapper whose initial cell state")
        weights, att_args = attention_weights(self.view, a, weights, self.layers[0].input_size)
        lname = em.layer_name(self.layers[0].scope.rsplit("/", 1)[0])
        # held here for the inference decoders over the same variables, or named when another layer holds them
        shared = layer_weights(em, lname, weights, cell_slots(self.layers) + attention_slots(a))
        att_width = att_size or v["memory_layer"].shape[0]
        input_dim = self.layers[0].input_size - att_width
        ctor = (f"tfm.AttentionDecoder({families!r}, {units!r}, input_dim={input_dim}, {att_args}, name={lname!r}"
                f"{shared_weights_arg(shared)})")
        args = [seq, em.value(values)]
        if mem_len is not None:
            args.append(f"memory_lengths={em.value(mem_len)}")
        if flat_init and flat_init[0] is not None:
            args.append(f"initial_state=[{', '.join(flat_init)}]")
        if self.impute:
            args.append(f"sequence_lengths={lens}")
        names = [em.new_ident("attention_outputs"), em.new_ident("alignments")]
        names += state_idents(em, self.layers)
        em.line(f"{', '.join(names)} = {ctor}({', '.join(args)})", f"AttentionWrapper {lname}")
        em.constructs[f"{construct} -> tfm.AttentionDecoder"] += 1
        out = final_states(self.states, names, 2)  # impute_finished: frozen at each length
        seq = names[0]
        if self.dense is not None:
            seq = emit_dense(em, self.view, self.dense, seq)
        sample = None
        if "sample_id" in self.writes:
            sname = em.layer_name(self.name + "/sample_id")
            sample = em.emit(f"tfm.SampleIds(name={sname!r})({seq})", "sample_id", dtype="int32")[0].var
        if self.impute:
            mname = em.layer_name(self.name + "/sequence_mask")
            mask = em.emit(f"tfm.SequenceMask(name={mname!r})({lens}, {seq})", "mask")[0].var
            seq, sample = zero_past_length(em, self.name, seq, sample, mask)
        write_outputs(em, self.writes, (("rnn_output", seq), ("sample_id", sample), ("alignment_history", names[1])),
                       out)
        if self.lengths_exit is not None:
            out[self.lengths_exit.name] = Sym(var=lens, dtype="int32")
        em.lines.append("")
        return out


CONSTRUCT = Construct(
    "attention_wrapper", None,
    "the same over `AttentionWrapper(cells, LuongAttention / BahdanauAttention, ...)` (scale / normalize, "
    "attention layer or none, `output_attention` either way, `alignment_history`, `memory_sequence_length`)",
    "one `tfm.AttentionDecoder` layer (stacked cells + mechanism + attention layer, `keras.ops.scan` over the "
    "steps) returning the outputs, the alignments (`final_state.alignment_history.stack()`) and the final cell "
    "states; with `GreedyEmbeddingHelper`: `tfm.GreedyAttentionDecoder` (also under an `OutputProjectionWrapper`)")
