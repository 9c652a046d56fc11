"""`OutputProjectionWrapper(cell, output_size[, activation])` around a `dynamic_rnn`'s cell (stack): each step's
output is `act(h @ kernel + bias)` (contrib `core_rnn_cell._Linear`: `<wrapper scope>/kernel`, `bias`), the state
stays the cell's. It becomes a `keras.layers.Dense` applied to every step of the recurrent layer's outputs."""

from __future__ import annotations

from dataclasses import dataclass

from migrate.graph.constructs.base import Construct
from migrate.graph.ir import Emitter
from migrate.graph.matching import match_dense, strip
from migrate.graph.rnn import ACTIVATIONS


@dataclass
class Projection:
    kernel: str                 # variable names
    bias: str | None
    activation: str             # a Keras activation name, "linear" without one


def match_output_projection(view, value, h) -> Projection | None:
    """`value` (what the loop writes as its output) = `[act](BiasAdd(MatMul(h, kernel), bias))` on variables ->
    a `Projection`, else None."""
    value, activation = strip(value), "linear"
    if value.op.type in ACTIVATIONS:
        value, activation = value.op.inputs[0], ACTIVATIONS[value.op.type]
    found = match_dense(view, value, h)
    if found is None:
        found = match_dense(view, value, strip(h))
    if found is None:
        return None
    return Projection(found[0], found[1], activation)


def emit_projection(em: Emitter, view, p: Projection, seq: str, construct: str) -> str:
    """The projection as a `keras.layers.Dense` applied to `seq` (every step) -> the projected sequence."""
    k = view.variable_values(p.kernel)
    scope = p.kernel.rsplit("/", 1)[0]
    lname = em.layer_name(scope)
    em.weights[lname] = [k] + ([view.variable_values(p.bias)] if p.bias else [])
    em.hold(lname, 0, "dense_kernel", (p.kernel,))   # a decoder over the same cell names it (issue 22)
    if p.bias:
        em.hold(lname, 1, "dense_bias", (p.bias,))
    act = f", activation={p.activation!r}" if p.activation != "linear" else ""
    seq = em.emit(f"keras.layers.Dense({k.shape[1]}{act}, use_bias={bool(p.bias)}, name={lname!r})({seq})",
                  "projected", comment=f"OutputProjectionWrapper {scope}: every step's output projected")[0].var
    em.constructs[f"{construct} OutputProjectionWrapper -> keras.layers.Dense"] += 1
    return seq


CONSTRUCT = Construct(
    "output_projection_wrapper", None,
    "`OutputProjectionWrapper(cell, n[, activation])` around a `dynamic_rnn`'s cell or `MultiRNNCell`",
    "the cell's layer(s), then `keras.layers.Dense(n[, activation])` on every step (before the zeros past each "
    "length, as TF1 writes them)")
