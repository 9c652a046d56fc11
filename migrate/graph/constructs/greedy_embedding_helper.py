"""contrib.seq2seq `GreedyEmbeddingHelper`: the next input is the embedding of the step's argmax."""

from __future__ import annotations

from migrate.graph.constructs.base import Helper
from migrate.graph.decoders import HelperMatch
from migrate.graph.ir import Unsupported
from migrate.graph.matching import embedding_feedback, end_token_check, max_iterations
from migrate.graph.meta import GraphView


def match_greedy_embedding_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """GreedyEmbeddingHelper: next input = cond(all finished, start_inputs, embedding_lookup(embedding,
    argmax(outputs))); start inputs = embedding_lookup(embedding, start_tokens); finished when argmax == end_token."""
    fed = embedding_feedback(view, x)
    if fed is None:
        return None
    ids = fed.ids
    while ids.op.type in ("Identity", "Cast"):
        ids = ids.op.inputs[0]
    if ids.op.type != "ArgMax":
        return None
    end, max_iter = end_token_check(frame_ops), max_iterations(frame_ops)
    if end is None or max_iter is None:
        raise Unsupported("a GreedyEmbeddingHelper decoder without maximum_iterations (its length is unbounded)")
    return HelperMatch("GreedyEmbeddingHelper", None, True, None, max_iter, fed.embedding, fed.start_tokens, end[1])


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
