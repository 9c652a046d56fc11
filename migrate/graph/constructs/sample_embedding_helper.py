"""contrib.seq2seq `SampleEmbeddingHelper`: the next input is the embedding of an id drawn from the step's
`softmax(logits / softmax_temperature)` (a stateful `Multinomial`)."""

from __future__ import annotations

import numpy as np

from migrate.graph.constructs.base import Helper
from migrate.graph.decoders import HelperMatch
from migrate.graph.ir import Unsupported
from migrate.graph.matching import const_scalar, embedding_feedback, end_token_check, max_iterations
from migrate.graph.meta import GraphView

_ID_PLUMBING = ("Identity", "Cast", "Reshape", "Squeeze", "Transpose")   # contrib's Categorical.sample around it


def draw_of(ids):
    """The `Multinomial` a step's sampled ids come from (through Reshape / Squeeze / Cast), else None."""
    while ids.op.type in _ID_PLUMBING and ids.op.inputs:
        ids = ids.op.inputs[0]
    return ids.op if ids.op.type == "Multinomial" else None


def strip_identity(t):
    """Look through Identity ops (contrib's distributions keep their parameters as `identity(...)`)."""
    while t.op.type == "Identity" and t.op.inputs:
        t = t.op.inputs[0]
    return t


def op_seeds(op) -> tuple[int, int]:
    """A stateful random op's (graph seed, op seed) attributes: TF1 sets (87654321, op seed) for an op seed without a
    graph seed, (0, 0) for none."""
    return int(op.get_attr("seed")), int(op.get_attr("seed2"))


def layer_seed(seeds: tuple[int, int]) -> int | None:
    """The runtime layer's seed for a TF1 op's (seed, seed2): the op seed, None when TF1 drew unseeded."""
    return None if seeds == (0, 0) else seeds[1]


def match_sample_embedding_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """SampleEmbeddingHelper: next input = cond(all finished, start_inputs, embedding_lookup(embedding, ids)), ids =
    reshape(Multinomial(outputs [/ softmax_temperature], 1)); start inputs = embedding_lookup(embedding,
    start_tokens); finished when ids == end_token."""
    fed = embedding_feedback(view, x)
    if fed is None:
        return None
    draw = draw_of(fed.ids)
    if draw is None:
        return None
    logits, temperature = strip_identity(draw.inputs[0]), None
    if logits.op.type in ("RealDiv", "Div"):
        t = logits.op.inputs[1]
        while t.op.type in ("Identity", "Enter"):
            t = t.op.inputs[0]
        temperature = const_scalar(view, t)
        if temperature is not None and t.dtype.name == "float32":   # its float32 value, shortest: 0.8, not 0.800000011
            temperature = float(str(np.float32(temperature)))
        if temperature is None:
            raise Unsupported(f"{draw.name}: a SampleEmbeddingHelper whose softmax_temperature ({t.name}) is not a "
                              f"constant (tfm.SampleEmbeddingDecoder takes a number)")
        logits = strip_identity(logits.op.inputs[0])
    end, max_iter = end_token_check(frame_ops), max_iterations(frame_ops)
    if end is None or max_iter is None:
        raise Unsupported("a SampleEmbeddingHelper decoder without maximum_iterations (its length is unbounded)")
    return HelperMatch("SampleEmbeddingHelper", None, True, None, max_iter, fed.embedding, fed.start_tokens, end[1],
                       sampler={"draw": draw.name, "seeds": op_seeds(draw), "temperature": temperature,
                                "logits": logits})


HELPER = Helper(
    "SampleEmbeddingHelper", match_sample_embedding_helper,
    "`dynamic_decode(BasicDecoder(cell, SampleEmbeddingHelper(embedding, start_tokens, end_token, "
    "softmax_temperature, seed), ...), maximum_iterations=N)` (the next input an embedding lookup of the step's "
    "`Multinomial` draw over `logits / softmax_temperature`, a constant; its `seed` / `seed2` attributes read)",
    "one `tfm.SampleEmbeddingDecoder` / over an `AttentionWrapper` `tfm.SampleEmbeddingAttentionDecoder` (the "
    "`tfm.GreedyDecoder` / `GreedyAttentionDecoder` loop drawing each id from "
    "`softmax(logits / softmax_temperature)`, seeded with the op seed; its draws are not TF1's, so parity feeds "
    "the graph's draws to the layer and compares the rest: **Sampling decoders** below)")
