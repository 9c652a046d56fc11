"""contrib.seq2seq `dynamic_decode` loops: what the decoder constructs share.

`dynamic_decode` is a control-flow-v1 while frame (`decoder/while/...`) whose loop variables are the time, the
output TensorArrays (`rnn_output`, `sample_id`), the cell state, the next inputs, the finished flags and the
lengths. The recogniser (`constructs/dynamic_decode.py`) finds it from the cell steps of its body and a helper
(`constructs/*_helper.py`: how the next input is produced) and builds one of the providers: `DynamicDecode` here
(TrainingHelper: `tfm.TrimToMaxLength` -> one `tfm.LSTM` / `GRU` per cell layer with the decoder's initial
state -> the `BasicDecoder` `output_layer` as `keras.layers.Dense` -> `tfm.SampleIds`; with `impute_finished=True`
the layers get the length mask and the outputs past each length are zeroed, as TF1 writes them),
`constructs/attention_wrapper.AttentionDecode`, `constructs/greedy_decoder.GreedyDecode`. This module holds
`HelperMatch` (what a helper matcher returns), `DynamicDecode` and the emission pieces they share.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate.graph.ir import Emitter, Sym, Unsupported, py_literal
from migrate.graph.matching import Provider
from migrate.graph.rnn import (
    cell_role,
    cell_variables,
    cell_weights,
    emit_rnn_layer,
    final_state_names,
    initial_states,
    layer_class,
    runtime_cell,
    runtime_family,
)


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
    sampler: dict | None = None     # SampleEmbedding / ScheduledEmbeddingTraining helpers: what their draws read


def decode_provides(writes: dict, states, lengths_exit=None) -> list[str]:
    """The tensors a decoder loop's provider computes: what its output TensorArrays gather (`writes`: key ->
    tensors, None where not read), its cells' final states, and the final lengths' `Exit` when read."""
    provides = [t.name for w in writes.values() for t in w if t is not None] + final_state_names(states)
    return provides + ([lengths_exit.name] if lengths_exit is not None else [])


class DynamicDecode(Provider):
    kind = "dynamic_decode"

    def __init__(self, view, frame, layers, states, helper, impute, dense, writes, lengths_exit, residual=None):
        self.view, self.frame, self.layers, self.states = view, frame, layers, states
        self.residual = residual or [False] * len(layers)   # per layer: a ResidualWrapper adds its input
        self.helper, self.impute, self.dense, self.writes = helper, impute, dense, writes
        self.lengths_exit = lengths_exit
        inputs = [helper.inputs] + [t for t in (helper.lengths, helper.max_iterations) if t is not None]
        self.init = initial_states(view, states, inputs)
        super().__init__(frame.split("/while")[0], inputs, decode_provides(writes, states, lengths_exit))

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
        kinds = ", ".join(f"{layer_class(s).rsplit('.', 1)[-1]}({s.units})" for s in self.layers)
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
        for step, init, st, res in zip(self.layers, inits, self.states, self.residual):
            _, names = emit_rnn_layer(em, self.view, step, seq, init, mask,
                                      f"dynamic_decode BasicDecoder+{self.helper.name}")
            if res:   # ResidualWrapper: the cell's output + its input
                seq = em.emit(f"keras.ops.add({names[0]}, {seq})", "residual",
                              comment=f"ResidualWrapper around {step.scope}: output + input")[0].var
                em.constructs["dynamic_decode ResidualWrapper -> keras.ops.add"] += 1
            else:
                seq = names[0]
            if st["h"].exit is not None:
                out[st["h"].exit.outputs[0].name] = Sym(var=names[1], dtype="float32")
            if st.get("c") is not None and st["c"].exit is not None:
                out[st["c"].exit.outputs[0].name] = Sym(var=names[2], dtype="float32")
        if self.dense is not None:
            seq = emit_dense(em, self.view, self.dense, seq)
        sample = None
        if "sample_id" in self.writes:
            sname = em.layer_name(self.name + "/sample_id")
            sample = em.emit(f"tfm.SampleIds(name={sname!r})({seq})", "sample_id",
                             comment=f"{self.helper.name}.sample: argmax", dtype="int32")[0].var
        if mask is not None:
            seq, sample = zero_past_length(em, self.name, seq, sample, mask)
        write_outputs(em, self.writes, (("rnn_output", seq), ("sample_id", sample)), out)
        if self.lengths_exit is not None:
            out[self.lengths_exit.name] = Sym(var=lens, dtype="int32")
        em.lines.append("")
        return out


def stacked_cells(em: Emitter, view, layers, inits, what: str):
    """The cells of one stacked decoder layer -> (weights, families, units, flat initial state: all or none)."""
    weights, families, units, flat_init = [], [], [], []
    for step in layers:
        runtime_cell(step, what)
    for step, init in zip(layers, inits):
        weights += cell_weights(em, view, step)
        families.append(runtime_family(step))
        units.append(step.units)
        roles = ("h", "c") if step.family == "lstm" else ("h",)
        flat_init += [em.value(init[role]) if role in init else None for role in roles]
    if any(i is None for i in flat_init) and any(i is not None for i in flat_init):
        raise Unsupported(f"{what} is partly zero")
    return weights, families, units, flat_init


def output_layer_weights(view, dense, weights: list) -> tuple[int | None, bool]:
    """A decoder's `output_layer` (`(kernel, bias or None)` or None): its arrays appended to the layer's `weights`;
    -> (units, use_bias), (None, False) without one."""
    if dense is None:
        return None, False
    kernel, bias = dense
    k = view.variable_values(kernel)
    weights += [k] + ([view.variable_values(bias)] if bias else [])
    return k.shape[1], bool(bias)


def cell_slots(layers) -> list[tuple]:
    """Per weight of a decoder layer's stacked cells (`decoder.add_cell_weights`: `cell_<k>_kernel`,
    `_recurrent_kernel`, `_bias`): (its weight name, role, TF1 variables) for `share_weights`."""
    slots = []
    for k, step in enumerate(layers):
        for i, n in enumerate(("kernel", "recurrent_kernel", "bias")):
            slots.append((f"cell_{k}_{n}", cell_role(step, i), cell_variables(step)))
    return slots


def output_slots(dense, prefix: str = "output") -> list[tuple]:
    """The output layer's `(kernel, bias or None)` (or None: no slots) as `<prefix>_kernel` / `<prefix>_bias`, the
    roles of the training path's `keras.layers.Dense` (`emit_dense`, the op table's MatMul + BiasAdd)."""
    if dense is None:
        return []
    slots = [(f"{prefix}_kernel", "dense_kernel", (dense[0],))]
    if dense[1]:
        slots.append((f"{prefix}_bias", "dense_bias", (dense[1],)))
    return slots


def embedding_decoder_slots(layers, embedding: str, dense, mechanism: list = ()) -> list[tuple]:
    """Per weight of an embedding decoder layer (`tfm.GreedyDecoder` and the sampling decoders, in the order of
    `decoder.build_embedding_decoder`: the cells', the embedding, the output layer's; with an attention
    `mechanism`'s slots (`constructs/attention_wrapper.attention_slots`), `tfm.GreedyAttentionDecoder` /
    `BeamSearchAttentionDecoder`'s: the cells', the mechanism's, the embedding, the output layer's): (its weight
    name, role, TF1 variables) for `share_weights`."""
    return cell_slots(layers) + list(mechanism) + [("embedding", "embedding", (embedding,))] + output_slots(dense)


def share_weights(em: Emitter, weights: list, slots: list[tuple]) -> tuple[list, dict]:
    """A decoder layer's weights -> (those it holds itself, `shared_weights`: weight name -> [layer name, index]
    of the weight another layer already holds for the same TF1 variables with the same values). TF1 read one
    variable in the training path and in the inference loop; the model holds it once (issue 22)."""
    own, shared = [], {}
    for w, (slot, role, tf_vars) in zip(weights, slots, strict=True):
        at = em.holder(role, tf_vars, w)
        if at is None:
            own.append(w)
        else:
            shared[slot] = [at[0], at[1]]
    return own, shared


def layer_weights(em: Emitter, lname: str, weights: list, slots: list[tuple]) -> dict:
    """A decoder layer's weights (in its creation order, `slots` naming each): those another layer already holds
    are named (`share_weights`), the others go to the layer (`em.weights[lname]`) and are held by it for the layers
    emitted after it (`em.hold`) -> its `shared_weights`."""
    own, shared = share_weights(em, weights, slots)
    index = 0
    for slot, role, tf_vars in slots:
        if slot not in shared:
            em.hold(lname, index, role, tf_vars)
            index += 1
    if own:   # every weight shared: the layer holds none
        em.weights[lname] = own
    return shared


def shared_weights_arg(shared: dict) -> str:
    """`, shared_weights={...}` for a decoder layer's constructor (names quoted: data), or ""."""
    return f", shared_weights={py_literal(shared)}" if shared else ""


def max_iterations_arg(em: Emitter, max_iter) -> str:
    """`maximum_iterations` as the decoder layer's first argument: a constant one as an int32 tensor."""
    mi = em.value(max_iter)
    return f"keras.ops.convert_to_tensor({mi}, dtype='int32')" if max_iter.is_const else mi


def state_idents(em: Emitter, layers) -> list[str]:
    """Variables for each cell's final state: `<cell>_h` (and `<cell>_c` for an LSTM)."""
    names = []
    for step in layers:
        names += [em.new_ident(f"{keras_name_short(step.scope)}_h")] + (
            [em.new_ident(f"{keras_name_short(step.scope)}_c")] if step.family == "lstm" else [])
    return names


def final_states(states, names, k: int) -> dict:
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


def emit_dense(em: Emitter, view, dense, seq: str) -> str:
    """BasicDecoder's output_layer (MatMul + BiasAdd) -> a keras Dense applied to `seq`."""
    kernel, bias = dense
    k = view.variable_values(kernel)
    scope = kernel.rsplit("/", 1)[0]
    lname = em.layer_name(scope)
    em.weights[lname] = [k] + ([view.variable_values(bias)] if bias else [])
    em.hold(lname, 0, "dense_kernel", (kernel,))
    if bias:
        em.hold(lname, 1, "dense_bias", (bias,))
    seq = em.emit(f"keras.layers.Dense({k.shape[1]}, use_bias={bool(bias)}, name={lname!r})({seq})",
                  "rnn_output", comment=f"BasicDecoder output_layer {scope} (MatMul + BiasAdd)")[0].var
    em.constructs["BasicDecoder output_layer -> keras.layers.Dense"] += 1
    return seq


def zero_past_length(em: Emitter, name: str, seq: str, sample: str | None, mask: str):
    """impute_finished: zeros past each length in the outputs (and the sample ids) -> (seq, sample)."""
    zname = em.layer_name(name + "/zero_past_length")
    seq = em.emit(f"tfm.ZeroPastLength(name={zname!r})({seq}, {mask})", "rnn_output",
                  comment="impute_finished writes zeros past each length")[0].var
    if sample is not None:
        zname = em.layer_name(name + "/zero_past_length_ids")
        sample = em.emit(f"tfm.ZeroPastLength(name={zname!r})({sample}, {mask})", "sample_id",
                         dtype="int32")[0].var
    return seq, sample


def write_outputs(em: Emitter, writes, values, out: dict) -> None:
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


def keras_name_short(scope: str) -> str:
    return scope.rsplit("/", 1)[-1]


__all__ = ["DynamicDecode", "HelperMatch", "cell_slots", "decode_provides", "embedding_decoder_slots", "emit_dense",
           "layer_weights", "output_slots", "share_weights",
           "shared_weights_arg", "final_states", "keras_name_short", "stacked_cells",
           "state_idents", "write_outputs", "zero_past_length"]
