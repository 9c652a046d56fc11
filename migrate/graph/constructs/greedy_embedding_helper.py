"""contrib.seq2seq `GreedyEmbeddingHelper`: the next input is the embedding of the step's argmax."""

from __future__ import annotations

from migrate.graph.constructs.base import Helper
from migrate.graph.decoders import HelperMatch
from migrate.graph.ir import Unsupported
from migrate.graph.matching import GATHER, ancestors, loop_var, max_iterations, through_cond
from migrate.graph.meta import GraphView


def match_greedy_embedding_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """GreedyEmbeddingHelper: next input = cond(all finished, start_inputs, embedding_lookup(embedding,
    argmax(outputs))); start inputs = embedding_lookup(embedding, start_tokens); finished when argmax == end_token."""
    x_loop = loop_var(x)
    if x_loop is None:
        return None
    gather = next((a.op for a in ancestors(x_loop.next) if a.op.type in GATHER), None)
    if gather is None:
        return None
    embedding = view.variable_of(through_cond(gather.inputs[0]))
    ids = through_cond(gather.inputs[1])
    while ids.op.type in ("Identity", "Cast"):
        ids = ids.op.inputs[0]
    if embedding is None or ids.op.type != "ArgMax":
        return None
    start = x_loop.enter.inputs[0]
    while start.op.type == "Identity":
        start = start.op.inputs[0]
    if start.op.type not in GATHER or view.variable_of(start.op.inputs[0]) != embedding:
        return None
    end_token = None
    for op in frame_ops:
        if op.type == "Equal" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 0:
            end_token = op.inputs[1].op.inputs[0]
    max_iter = max_iterations(frame_ops)
    if end_token is None or max_iter is None:
        raise Unsupported("a GreedyEmbeddingHelper decoder without maximum_iterations (its length is unbounded)")
    return HelperMatch("GreedyEmbeddingHelper", None, True, None, max_iter, embedding, start.op.inputs[1], end_token)


# One entry per way a decoder loop gets its step input: (view, the loop's ops, the cell's input) -> HelperMatch.

HELPER = Helper(
    "GreedyEmbeddingHelper", match_greedy_embedding_helper,
    "`dynamic_decode(BasicDecoder(cell, GreedyEmbeddingHelper(embedding, start_tokens, end_token), ...), "
    "maximum_iterations=N)` (the next input an embedding lookup of the step's `ArgMax`, the start inputs the same "
    "embedding's lookup of `start_tokens`, `end_token` the body's `Equal`; without `maximum_iterations` refused, "
    "its length being unbounded)",
    "one `tfm.GreedyDecoder` (cells + embedding + output layer in a `keras.ops.while_loop`: the argmax fed back "
    "through the embedding until every row emitted `end_token` or N steps) returning the outputs, the sample ids "
    "and the final states")
