"""contrib.seq2seq `dynamic_decode` while loops -> `DynamicDecode` / `AttentionDecode` / `GreedyDecode` providers.

The frame's cell steps (the registry's cells), stacked, and the helper (the registry's helpers: how the next input
is produced) identify the decoder; an `AttentionWrapper` (`constructs/attention_wrapper.py`) or a
`GreedyEmbeddingHelper` pick the provider; a sampling helper's is `constructs/sampling_decoder.py`'s. A `dynamic_rnn` of plain cells is `constructs/dynamic_rnn.py`'s.
"""

from __future__ import annotations

from migrate.graph.constructs.attention_wrapper import AttentionDecode, attention_input, match_attention
from migrate.graph.constructs.base import Construct
from migrate.graph.constructs.greedy_decoder import GreedyDecode
from migrate.graph.constructs.residual_wrapper import is_residual
from migrate.graph.constructs.sampling_decoder import sampling_provider
from migrate.graph.decoders import DynamicDecode
from migrate.graph.ir import Unsupported
from migrate.graph.matching import (
    batch_major_gather,
    frame_ops,
    loop_var,
    loop_var_of,
    match_dense,
    strip,
    strip_impute,
)
from migrate.graph.meta import GraphView


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every while frame that is a `dynamic_decode` (or a `dynamic_rnn` over an AttentionWrapper) -> its provider."""
    return registry.frames(view, lambda v, frame, steps: decoder_provider(v, frame, steps, registry.helpers))


def decoder_provider(view, frame, steps, helpers):
    """The steps of one while frame and the registered helpers -> a decoder provider, or None."""
    firsts = [s for s in steps if loop_var(s.x) is not None or attention_input(s.x) is not None]
    if len(firsts) != 1:
        return None
    layers, residual = [firsts[0]], []
    while True:
        top = layers[-1]
        nxt = next((s for s in steps if s is not top and strip(s.x).name in (top.new_h.name, strip(top.new_h).name)),
                   None)
        res = False
        if nxt is None:   # a ResidualWrapper around the cell below: the next cell reads its input + its output
            nxt = next((s for s in steps if s is not top and is_residual(s.x, top)), None)
            res = nxt is not None
        if nxt is None:
            break
        layers.append(nxt)
        residual.append(res)
    if len(layers) != len(steps):
        return None
    ops = frame_ops(view, frame)
    att_in = attention_input(layers[0].x)
    helper = None
    for h in helpers:
        helper = h.match(view, ops, att_in[0] if att_in is not None else layers[0].x)
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
            lv = loop_var(prev)
            if lv is None:
                raise Unsupported(f"the {role} state of {s.scope} is not a loop variable")
            nxt, imp = strip_impute(lv.next)
            impute = impute or imp
            if strip(nxt).name != new.name:
                raise Unsupported(f"the next {role} state of {s.scope} is not the cell's new state")
            st[role] = lv
        states.append(st)
    top = layers[-1]
    top_residual = next((op.outputs[0] for op in ops if op.type in ("Add", "AddV2")
                         and is_residual(op.outputs[0], top)), None)
    attention = match_attention(view, frame, ops, layers, att_in) if att_in is not None else None
    writes, dense, top_res, rnn_value = {}, None, False, None
    for op in ops:
        if op.type != "TensorArrayWriteV3":
            continue
        value, imp = strip_impute(op.inputs[2])
        if imp and op.inputs[2].op.inputs[0].op.type == "Less" and helper.name == "ScheduledEmbeddingTrainingHelper":
            value, imp = op.inputs[2], False   # its sample ids where(uniform < p, draw, -1), not impute_finished's
        impute = impute or imp
        v = strip(value)
        if value.dtype.is_integer:
            key = "sample_id"
        elif v.op.type == "Softmax" and attention is not None:
            key = "alignment_history"
        else:
            key, rnn_value = "rnn_output", v
            outs = [top.new_h] if attention is None else [attention.attention_next, top.new_h]
            if top_residual is not None and attention is None:
                outs.append(top_residual)
            hit = next((o for o in outs if v.name == strip(o).name), None)
            if hit is None:
                for o in outs:
                    dense = match_dense(view, v, o)
                    if dense is not None:
                        hit = o
                        break
            if hit is None:
                return None
            if attention is not None:
                attention.output_attention = hit is attention.attention_next
            top_res = hit is top_residual
        handle = op.inputs[0]
        ta = handle.op.inputs[0].op if handle.op.type == "Enter" else handle.op
        gather = next((c.outputs[0] for c in ta.outputs[0].consumers() if c.type == "TensorArrayGatherV3"), None)
        gather_bm = batch_major_gather(view, gather) if gather is not None else None
        writes[key] = (gather, gather_bm)
    if "rnn_output" not in writes:
        return None
    lengths_exit = None
    for op in ops:  # the lengths loop variable: where(not finished, fill(time + 1), lengths)
        if op.type in ("Select", "SelectV2") and op.inputs[1].op.type == "Fill":
            lv = loop_var_of(op.inputs[2])
            if lv is not None and lv.exit is not None:
                lengths_exit = lv.exit.outputs[0]
    residual = residual + [top_res]
    sampling = sampling_provider(view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention,
                                 residual, rnn_value)
    if sampling is not None:
        return sampling
    if any(residual) and (helper.name == "GreedyEmbeddingHelper" or attention is not None):
        raise Unsupported(f"{frame}: a ResidualWrapper inside the cells of a runtime decoder layer "
                          f"(tfm.GreedyDecoder / AttentionDecoder run plain cells)")
    if helper.name == "GreedyEmbeddingHelper":
        return GreedyDecode(view, frame, layers, states, helper, impute, dense, writes, None, attention)
    if attention is not None:
        return AttentionDecode(view, frame, layers, states, helper, impute, dense, writes, lengths_exit, attention)
    if helper.name == "dynamic_rnn":
        return None  # a dynamic_rnn of plain cells: rnn.WhileRNN's
    return DynamicDecode(view, frame, layers, states, helper, impute, dense, writes, lengths_exit, residual)


CONSTRUCT = Construct(
    "dynamic_decode", recognise,
    "contrib.seq2seq `dynamic_decode(BasicDecoder(...))` while loop (a helper below gives its step input; "
    "`output_layer`: MatMul + BiasAdd on variables inside the body; `DropoutWrapper` / `ResidualWrapper` around its "
    "cells with `TrainingHelper`)",
    "the helper's layers; the `output_layer` a `keras.layers.Dense`")
