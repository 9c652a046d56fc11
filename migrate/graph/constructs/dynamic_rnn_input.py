"""`tf.nn.dynamic_rnn(AttentionWrapper(...), inputs, sequence_length)`: teacher forcing without a helper."""

from __future__ import annotations

from migrate.graph.constructs.base import Helper
from migrate.graph.decoders import HelperMatch
from migrate.graph.matching import step_lengths, strip, unstacked
from migrate.graph.meta import GraphView


def match_dynamic_rnn_input(view: GraphView, frame_ops, x) -> HelperMatch | None:
    """`tf.nn.dynamic_rnn(AttentionWrapper(...), inputs, sequence_length)` (teacher forcing without a helper): the
    step input is `input_ta.read(time)` itself, not a loop variable; the loop runs every input step, and with
    `sequence_length` a row's outputs are zeros and its state (attention included) is copied through past its
    length, as `impute_finished` does."""
    x = strip(x)
    if x.op.type != "TensorArrayReadV3":
        return None
    seq = unstacked(view, x.op)
    if seq is None:
        return None
    return HelperMatch("dynamic_rnn", *seq, step_lengths(frame_ops))


HELPER = Helper(
    "dynamic_rnn_input", match_dynamic_rnn_input,
    "`dynamic_rnn(AttentionWrapper(...), decoder_inputs, sequence_length)` (teacher forcing without a helper, as "
    "this repository's legacy model does)",
    "one `tfm.AttentionDecoder`, states frozen and outputs zeroed past each length")
