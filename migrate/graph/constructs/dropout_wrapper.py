"""`DropoutWrapper(cell, input_keep_prob, output_keep_prob, state_keep_prob)` at any depth: identity at inference.

`convert` fixes each keep probability to 1.0 (a `placeholder_with_default`, a fed placeholder, a constant), so the
`tf.nn.dropout` subgraphs compute the identity; the recognisers look through them (`matching.strip`, which follows
a `.../dropout/` scope back to the tensor dropped)."""

from __future__ import annotations

from migrate.graph.constructs.base import Construct

CONSTRUCT = Construct(
    "dropout_wrapper", None,
    "`DropoutWrapper` at any depth (input, output and state dropout)",
    "identity at inference (looked through; the keep probabilities fixed to 1.0)")
