"""contrib.seq2seq `ScheduledEmbeddingTrainingHelper` (scheduled sampling): teacher forcing where, with probability
`sampling_probability` per row and step (`RandomUniform < p`), the next input is the embedding of an id drawn from
the step's `softmax(logits)` (a stateful `Multinomial`) instead of the next decoder input."""

from __future__ import annotations

from migrate.graph.constructs.base import Helper
from migrate.graph.constructs.sample_embedding_helper import op_seeds, strip_identity
from migrate.graph.decoders import HelperMatch
from migrate.graph.ir import Unsupported
from migrate.graph.matching import (
    GATHER,
    ancestors,
    const_scalar,
    loop_var,
    max_iterations,
    step_lengths,
    through_cond,
    unstacked,
)
from migrate.graph.meta import GraphView

_UNIFORM_SCALING = ("Mul", "Add", "AddV2", "Identity")   # random_uniform(0, 1) = RandomUniform * 1 + 0


def uniform_of(t):
    """The `RandomUniform` a `random_uniform(...)` tensor is drawn from, else None."""
    frontier = [t]
    for _ in range(4):
        nxt = []
        for x in frontier:
            if x.op.type == "RandomUniform":
                return x.op
            if x.op.type in _UNIFORM_SCALING:
                nxt.extend(x.op.inputs)
        frontier = nxt
    return None


def match_scheduled_embedding_training_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """ScheduledEmbeddingTrainingHelper: sample ids = where(RandomUniform([B]) < p, reshape(Multinomial(outputs)),
    -1); next input = cond(all finished, base, embedding_lookup(embedding, sampled ids) scattered over the rows
    sampled + base over the others), base = TrainingHelper's next input (a `TensorArrayReadV3` of the unstacked
    decoder inputs)."""
    x_loop = loop_var(x)
    if x_loop is None:
        return None
    draws = [op for op in frame_ops if op.type == "Multinomial"]
    selects = [(op, u) for op in frame_ops if op.type == "Less" and (u := uniform_of(op.inputs[0])) is not None]
    if not draws or not selects:
        return None
    if len(draws) != 1 or len(selects) != 1:
        raise Unsupported(f"a scheduled-sampling decoder loop with {len(draws)} Multinomial and {len(selects)} "
                          f"uniform < p draws (ScheduledEmbeddingTrainingHelper has one of each)")
    draw, (less, uniform) = draws[0], selects[0]
    read = next((a.op for a in ancestors(x_loop.next, depth=16) if a.op.type == "TensorArrayReadV3"), None)
    seq = unstacked(view, read) if read is not None else None
    lengths = step_lengths(frame_ops)
    embeddings = {view.variable_of(through_cond(op.inputs[0])) for op in frame_ops if op.type in GATHER} - {None}
    if seq is None or lengths is None or len(embeddings) != 1:
        return None
    p = less.inputs[1]
    while p.op.type in ("Identity", "Enter"):
        p = p.op.inputs[0]
    if p.shape.rank != 0:
        raise Unsupported(f"{less.name}: a ScheduledEmbeddingTrainingHelper whose sampling_probability is not a "
                          f"scalar (tfm.ScheduledEmbeddingTrainingDecoder takes one probability)")
    logits = strip_identity(draw.inputs[0])
    if logits.op.type in ("RealDiv", "Div"):
        return None   # a temperature: not this helper
    return HelperMatch("ScheduledEmbeddingTrainingHelper", *seq, lengths, max_iterations(frame_ops),
                       next(iter(embeddings)),
                       sampler={"draw": draw.name, "seeds": op_seeds(draw), "scheduling_seeds": op_seeds(uniform),
                                "p": p, "p_value": const_scalar(view, p), "logits": logits})


HELPER = Helper(
    "ScheduledEmbeddingTrainingHelper", match_scheduled_embedding_training_helper,
    "`dynamic_decode(BasicDecoder(cell, ScheduledEmbeddingTrainingHelper(inputs, lengths, embedding, "
    "sampling_probability, seed, scheduling_seed), ...))` (the body's `RandomUniform < p` and `Multinomial` over the "
    "step's logits, their seeds read; `p` a constant or a model input)",
    "`tfm.TrimToMaxLength` -> one `tfm.ScheduledEmbeddingTrainingDecoder` (cells + embedding + output layer in a "
    "`keras.ops.while_loop` over `max(lengths)` steps, `sampling_probability` a number or the input it is fed "
    "from) returning the outputs, the sample ids (-1 where not sampled) and the final states; parity as "
    "`SampleEmbeddingHelper`'s")
