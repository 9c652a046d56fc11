"""contrib.seq2seq `TrainingHelper` (teacher forcing): the next input is the unstacked decoder inputs' next step."""

from __future__ import annotations

from migrate.graph.constructs.base import Helper
from migrate.graph.decoders import HelperMatch
from migrate.graph.matching import ancestors, loop_var, max_iterations, step_lengths, unstacked
from migrate.graph.meta import GraphView


def match_training_helper(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """TrainingHelper: next input = cond(all finished, zeros, inputs_ta.read(time + 1)), inputs_ta =
    TensorArray.unstack(transpose(inputs, [1, 0, 2]))."""
    x_loop = loop_var(x)
    if x_loop is None or any(op.type == "Multinomial" for op in frame_ops):   # a sampling helper's loop
        return None
    read = next((a.op for a in ancestors(x_loop.next) if a.op.type == "TensorArrayReadV3"), None)
    seq = unstacked(view, read) if read is not None else None
    lengths = step_lengths(frame_ops)
    if seq is None or lengths is None:
        return None
    return HelperMatch("TrainingHelper", *seq, lengths, max_iterations(frame_ops))


HELPER = Helper(
    "TrainingHelper", match_training_helper,
    "contrib.seq2seq `dynamic_decode(BasicDecoder(cell, TrainingHelper(inputs, lengths), initial_state, "
    "output_layer))`: the next input is a `TensorArrayReadV3` of the unstacked decoder inputs, a row is finished "
    "when `time + 1 >= sequence_length`",
    "`tfm.TrimToMaxLength` (the loop runs `max(lengths)` steps, at most `maximum_iterations`) -> `LSTM` / `GRU` "
    "per cell with the given initial state -> `Dense` (the `output_layer`) -> `tfm.SampleIds` (argmax); "
    "`impute_finished=True`: a length mask and `tfm.ZeroPastLength`, as TF1 writes zeros and freezes states")
