"""`dynamic_decode` + `GreedyEmbeddingHelper` (with or without an `AttentionWrapper`) -> one `tfm.GreedyDecoder` /
`tfm.GreedyAttentionDecoder` (a `keras.ops.while_loop` feeding the argmax back through the embedding)."""

from __future__ import annotations

from migrate.graph.constructs.attention_wrapper import attention_slots, attention_weights
from migrate.graph.constructs.base import Construct
from migrate.graph.decoders import (
    DynamicDecode,
    decode_provides,
    embedding_decoder_slots,
    final_states,
    layer_weights,
    max_iterations_arg,
    output_layer_weights,
    shared_weights_arg,
    stacked_cells,
    state_idents,
    write_outputs,
)
from migrate.graph.ir import Emitter, Sym
from migrate.graph.matching import Provider
from migrate.graph.rnn import initial_states


class GreedyDecode(DynamicDecode):
    kind = "dynamic_decode_greedy"
    reads_shared_weights = True   # the training path's embedding / cells / projection / mechanism
    layer_suffix = "/greedy_decoder"
    outputs_ident = "greedy_outputs"
    layer_class = "tfm.GreedyDecoder"    # without an AttentionWrapper (a sampling helper's subclass: its layer)
    attention_layer_class = "tfm.GreedyAttentionDecoder"

    def folded_cells(self) -> list:   # its runtime layer's cells (`Provider.folded_cells`)
        return list(self.layers)

    def layer_kwargs(self) -> str:
        """Arguments the layer takes besides the greedy decoder's (a sampling helper's: its temperature, seed)."""
        return ""

    def __init__(self, view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention=None):
        self.view, self.frame, self.layers, self.states = view, frame, layers, states
        self.helper, self.impute, self.dense, self.writes = helper, impute, dense, writes
        self.lengths_exit, self.attention = None, attention
        inputs = [helper.max_iterations, helper.start_tokens, helper.end_token]
        if attention is not None:
            inputs += [attention.values] + ([attention.memory_lengths] if attention.memory_lengths is not None else [])
        self.init = initial_states(view, states, inputs)
        Provider.__init__(self, frame.split("/while")[0], inputs, decode_provides(writes, states))

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        max_iter, start, end = next(it), next(it), next(it)
        a = self.attention
        values = next(it) if a is not None else None
        mem_len = next(it) if a is not None and a.memory_lengths is not None else None
        inits = [{role: next(it) for role in init} for init in self.init]
        weights, families, units, flat_init = stacked_cells(em, self.view, self.layers, inits,
                                                             "a GreedyEmbeddingHelper decoder whose initial state")
        emb = self.view.variable_values(self.helper.embedding)
        att_args = ""
        if a is not None:
            weights, att_args = attention_weights(self.view, a, weights, self.layers[0].input_size)
        weights.append(emb)
        out_size, use_bias = output_layer_weights(self.view, self.dense, weights)
        kinds = ", ".join(f"{s.family.upper()}({s.units})" for s in self.layers)
        em.comment(f"contrib.seq2seq dynamic_decode (while loop {self.name}/while): BasicDecoder + "
                   f"{self.helper.name}(embedding {self.helper.embedding}), {kinds}"
                   + (", output_layer Dense" if self.dense else "") + ", maximum_iterations")
        lname = self.emitted_layer = em.layer_name(self.name + self.layer_suffix)
        # the weights the training path's layers already hold: named, not copied (issue 22)
        shared = layer_weights(em, lname, weights, embedding_decoder_slots(
            self.layers, self.helper.embedding, self.dense, attention_slots(a) if a is not None else ()))
        args = [max_iterations_arg(em, max_iter), f"start_tokens={em.value(start)}", f"end_token={em.value(end)}"]
        if a is not None:
            args.append(f"memory={em.value(values)}")
            if mem_len is not None:
                args.append(f"memory_lengths={em.value(mem_len)}")
        if flat_init and flat_init[0] is not None:
            args.append(f"initial_state=[{', '.join(flat_init)}]")
        names = [em.new_ident(self.outputs_ident), em.new_ident("sample_id")]
        if a is not None:
            names.append(em.new_ident("alignments"))
        names += state_idents(em, self.layers)
        if a is None:
            em.lines.append(f"{', '.join(names)} = {self.layer_class}({families!r}, {units!r}, "
                            f"vocab_size={emb.shape[0]}, embedding_dim={emb.shape[1]}, output_size={out_size}, "
                            f"use_bias={use_bias}, impute_finished={self.impute}{self.layer_kwargs()}"
                            f", name={lname!r}{shared_weights_arg(shared)})({', '.join(args)})")
            em.constructs[f"dynamic_decode BasicDecoder+{self.helper.name} -> {self.layer_class}"] += 1
        else:
            em.lines.append(f"{', '.join(names)} = {self.attention_layer_class}({families!r}, {units!r}, "
                            f"input_dim={emb.shape[1]}, {att_args}, vocab_size={emb.shape[0]}, "
                            f"output_size={out_size}, use_bias={use_bias}, impute_finished={self.impute}"
                            f"{self.layer_kwargs()}, name={lname!r}{shared_weights_arg(shared)})({', '.join(args)})")
            em.constructs[f"dynamic_decode BasicDecoder(AttentionWrapper)+{self.helper.name} -> "
                          f"{self.attention_layer_class}"] += 1
        out = final_states(self.states, names, 2 if a is None else 3)  # names[k]: the first final state
        write_outputs(em, self.writes, (("rnn_output", names[0]), ("sample_id", names[1]),
                                         ("alignment_history", names[2] if a is not None else None)), out)
        em.lines.append("")
        return out


CONSTRUCT = Construct(
    "greedy_decoder", None,
    "`dynamic_decode(BasicDecoder(..., GreedyEmbeddingHelper(...)))`, `AttentionWrapper` or not",
    "`tfm.GreedyDecoder` / `tfm.GreedyAttentionDecoder`")
