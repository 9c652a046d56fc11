"""`dynamic_decode` + `SampleEmbeddingHelper` (with or without an `AttentionWrapper`) /
`ScheduledEmbeddingTrainingHelper` -> one `tfm.SampleEmbeddingDecoder` / `tfm.SampleEmbeddingAttentionDecoder` /
`tfm.ScheduledEmbeddingTrainingDecoder`.

Their draws are random: TF1's stateful `Multinomial` / `RandomUniform` (Philox streams keyed by the `seed` / `seed2`
attributes, advanced per kernel call in one session) are reproduced only by the same TensorFlow op traced, without
XLA (benchmarks/check_tf1_draws.py), which a backend-neutral Keras layer does not run (tf_migrate_runtime/layers/
sampling.py): the layer is seeded with the op seed and its draws are its own. Each provider records the
layer and the graph tensors of its sample ids in `Emitter.draws`: parity (convert.py) feeds the graph's draws to the
layer (`tfm.given_draws`) and compares everything they determine (the logits, the final states, the lengths).
"""

from __future__ import annotations

from migrate.graph.constructs.base import Construct
from migrate.graph.constructs.greedy_decoder import GreedyDecode
from migrate.graph.constructs.sample_embedding_helper import layer_seed
from migrate.graph.decoders import (
    DynamicDecode,
    decode_provides,
    embedding_decoder_slots,
    final_states,
    layer_weights,
    output_layer_weights,
    shared_weights_arg,
    stacked_cells,
    state_idents,
    write_outputs,
)
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import Provider, strip
from migrate.graph.rnn import initial_states


def record_draws(em: Emitter, layer: str, helper, writes) -> None:
    """`em.draws[layer]`: the Multinomial and the graph tensors of the ids the layer draws."""
    gather, gather_bm = writes.get("sample_id", (None, None))
    em.draws[layer] = (helper.sampler["draw"], [t.name if t is not None else None for t in (gather_bm, gather)])


def seeds_comment(name: str, seeds: tuple[int, int]) -> str:
    return f"{name} seed={seeds[0]}, seed2={seeds[1]}" if seeds != (0, 0) else f"{name} unseeded"


class SampleDecode(GreedyDecode):
    kind = "dynamic_decode_sample"
    layer_suffix = "/sample_decoder"
    outputs_ident = "sampled_outputs"
    layer_class = "tfm.SampleEmbeddingDecoder"
    attention_layer_class = "tfm.SampleEmbeddingAttentionDecoder"

    def layer_kwargs(self) -> str:
        s = self.helper.sampler
        return f", softmax_temperature={s['temperature']!r}, seed={layer_seed(s['seeds'])!r}"

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        s = self.helper.sampler
        em.comment(f"SampleEmbeddingHelper: {seeds_comment(s['draw'], s['seeds'])}; the layer draws its own ids "
                   f"(by inverse CDF on keras.random uniforms, not TF1's stream)")
        out = super().emit(em, syms)
        record_draws(em, self.emitted_layer, self.helper, self.writes)
        return out


class ScheduledDecode(DynamicDecode):
    kind = "dynamic_decode_scheduled"

    def folded_cells(self) -> list:   # its runtime layer's cells (`Provider.folded_cells`)
        return list(self.layers)

    def __init__(self, view, frame, layers, states, helper, impute, dense, writes, lengths_exit):
        self.view, self.frame, self.layers, self.states = view, frame, layers, states
        self.helper, self.impute, self.dense, self.writes = helper, impute, dense, writes
        self.lengths_exit, self.residual = lengths_exit, [False] * len(layers)
        s = helper.sampler
        self.p_input = s["p"] if s["p_value"] is None else None
        inputs = [helper.inputs, helper.lengths] + [t for t in (helper.max_iterations, self.p_input) if t is not None]
        self.init = initial_states(view, states, inputs)
        Provider.__init__(self, frame.split("/while")[0], inputs, decode_provides(writes, states, lengths_exit))

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        x, lengths = next(it), next(it)
        max_iter = next(it) if self.helper.max_iterations is not None else None
        p = next(it) if self.p_input is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        s = self.helper.sampler
        weights, families, units, flat_init = stacked_cells(em, self.view, self.layers, inits,
                                                            "a ScheduledEmbeddingTrainingHelper decoder whose initial "
                                                            "state")
        emb = self.view.variable_values(self.helper.embedding)
        weights.append(emb)
        out_size, use_bias = output_layer_weights(self.view, self.dense, weights)
        kinds = ", ".join(f"{st.family.upper()}({st.units})" for st in self.layers)
        em.comment(f"contrib.seq2seq dynamic_decode (while loop {self.name}/while): BasicDecoder + "
                   f"ScheduledEmbeddingTrainingHelper(embedding {self.helper.embedding}), {kinds}"
                   + (", output_layer Dense" if self.dense else "") + f"; {seeds_comment(s['draw'], s['seeds'])}, "
                   f"sample-or-not {seeds_comment('RandomUniform', s['scheduling_seeds'])}; the layer draws its own")
        seq, lens = self._decoder_inputs(em, x, lengths, max_iter, note_cap=True)
        lname = em.layer_name(self.name + "/scheduled_decoder")
        # the embedding the decoder inputs' `Embedding` holds (and the cells / projection of a decoder emitted
        # before): named, not copied; what it holds itself an inference loop emitted after names (issue 22)
        shared = layer_weights(em, lname, weights, embedding_decoder_slots(self.layers, self.helper.embedding,
                                                                           self.dense))
        args = [seq, lens]
        if flat_init and flat_init[0] is not None:
            args.append(f"initial_state=[{', '.join(flat_init)}]")
        if p is not None:
            args.append(f"sampling_probability={em.value(p)}")
        names = [em.new_ident("scheduled_outputs"), em.new_ident("sample_id")] + state_idents(em, self.layers)
        p_value = s["p_value"] if s["p_value"] is not None else 0.0
        em.lines.append(f"{', '.join(names)} = tfm.ScheduledEmbeddingTrainingDecoder({families!r}, {units!r}, "
                        f"vocab_size={emb.shape[0]}, embedding_dim={emb.shape[1]}, output_size={out_size}, "
                        f"use_bias={use_bias}, sampling_probability={p_value!r}, "
                        f"seed={layer_seed(s['seeds'])!r}, scheduling_seed={layer_seed(s['scheduling_seeds'])!r}, "
                        f"name={lname!r}{shared_weights_arg(shared)})({', '.join(args)})")
        em.constructs["dynamic_decode BasicDecoder+ScheduledEmbeddingTrainingHelper -> "
                      "tfm.ScheduledEmbeddingTrainingDecoder"] += 1
        out = final_states(self.states, names, 2)
        write_outputs(em, self.writes, (("rnn_output", names[0]), ("sample_id", names[1])), out)
        if self.lengths_exit is not None:
            out[self.lengths_exit.name] = Sym(var=lens, dtype="int32")
        record_draws(em, lname, self.helper, self.writes)
        em.lines.append("")
        return out


def sampling_provider(view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention, residual,
                      rnn_output):
    """The provider of a `dynamic_decode` loop over a sampling helper (`rnn_output`: the step output the body writes,
    which its draws must read), else None (another helper)."""
    if helper.name not in ("SampleEmbeddingHelper", "ScheduledEmbeddingTrainingHelper"):
        return None
    logits = helper.sampler["logits"]
    if rnn_output is None or strip(logits).name != strip(rnn_output).name:
        raise Unsupported(f"{frame}: its {helper.name} draws ({helper.sampler['draw']}) from {logits.name}, not from "
                          f"the step output the decoder writes ({rnn_output.name if rnn_output is not None else 'none'})")
    if any(residual):
        raise Unsupported(f"{frame}: a ResidualWrapper inside the cells of a {helper.name} decoder")
    if helper.name == "SampleEmbeddingHelper":
        return SampleDecode(view, frame, layers, states, helper, impute, dense, writes, None, attention)
    if attention is not None:
        raise Unsupported(f"{frame}: an AttentionWrapper under a ScheduledEmbeddingTrainingHelper (no runtime layer "
                          f"samples a teacher-forced attention decoder)")
    if impute:
        raise Unsupported(f"{frame}: a ScheduledEmbeddingTrainingHelper decoder with dynamic_decode(..., impute_finished=True) "
                          f"(tfm.ScheduledEmbeddingTrainingDecoder does not freeze finished rows)")
    return ScheduledDecode(view, frame, layers, states, helper, impute, dense, writes, lengths_exit)


CONSTRUCT = Construct(
    "sampling_decoder", None,
    "`dynamic_decode(BasicDecoder(..., SampleEmbeddingHelper(...)))`, `AttentionWrapper` or not, and "
    "`dynamic_decode(BasicDecoder(..., ScheduledEmbeddingTrainingHelper(...)))` over stacked plain cells",
    "`tfm.SampleEmbeddingDecoder` / `tfm.SampleEmbeddingAttentionDecoder` / `tfm.ScheduledEmbeddingTrainingDecoder` "
    "(parity: the graph's draws fed to the layer, `tfm.given_draws`)")
