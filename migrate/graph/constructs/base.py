"""The construct protocol: what one recognised TF1 construct (a cell, a decoder helper, a loop or unrolled
construct) declares, and the `Registry` that runs them.

A construct is one module of this package defining one of:

- `CELL = Cell(...)`: a cell step matcher (`match(view, op) -> rnn.CellStep | None`) found from one op type (the
  `MatMul` on its kernel, or a fused op), with the input through which that op reads its kernel;
- `HELPER = Helper(...)`: how a decoder loop gets its step input (`match(view, frame_ops, x) -> HelperMatch`);
- `CONSTRUCT = Construct(...)`: a recogniser (`recognise(view, outputs, registry) -> {tensor name: Provider}`)
  or, with `recognise=None`, a form another construct's recogniser emits (e.g. the attention decoder that the
  `dynamic_decode` recogniser builds).

Each declares its docs line (`tf1`, `keras`: the row of the table in docs/graph_convert.md, generated from the
registry by `constructs.docs_table()`). Adding one is one module here, listed in `constructs/__init__.py`, plus its TF1-style
builder test (convert + parity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from migrate.graph.ir import Unsupported
from migrate.graph.meta import is_gradient


@dataclass(frozen=True)
class Cell:
    name: str                  # registry key (`lstm`, `gru`, ...)
    op_type: str               # the op a step is found from: "MatMul" (its kernel) or a fused op type
    match: Callable            # (view, op) -> CellStep | None; raises Unsupported for a form it knows it cannot take
    tf1: str                   # docs: the TF1 classes
    keras: str                 # docs: what they become
    weight_input: int = 1      # which input of `op_type` reads the kernel (MatMul: 1)


@dataclass(frozen=True)
class Helper:
    name: str                  # the contrib helper class (or the loop form) it matches
    match: Callable            # (view, frame_ops, x) -> HelperMatch | None
    tf1: str
    keras: str


@dataclass(frozen=True)
class Construct:
    name: str
    recognise: Callable | None     # (view, outputs, registry) -> {tensor name: Provider}; None: emitted by another
    tf1: str
    keras: str


def add_provider(providers: dict, make: Callable) -> None:
    """`make()` -> a provider, None or `Unsupported` (not this construct); a provider is entered under each name it
    provides."""
    try:
        p = make()
    except Unsupported:
        return
    if p is not None:
        for name in p.provides:
            providers[name] = p


DECLINED = ("its cells ({}) are recognised, but no construct takes the loop around them: its step input comes from "
            "no registered decoder helper (TrainingHelper, GreedyEmbeddingHelper, a dynamic_rnn's input) and it is no "
            "BeamSearchDecoder loop")


class Registry:
    """The registered cells, helpers and constructs, in matching order (an earlier cell matcher of one op type is
    tried first; a later construct's providers replace an earlier one's for the same tensor)."""

    def __init__(self, cells, helpers, constructs):
        self.cells: tuple[Cell, ...] = tuple(cells)
        self.helpers: tuple[Helper, ...] = tuple(helpers)
        self.constructs: tuple[Construct, ...] = tuple(constructs)
        self.by_op: dict[str, tuple[Cell, ...]] = {}
        for c in self.cells:
            self.by_op[c.op_type] = self.by_op.get(c.op_type, ()) + (c,)

    def weight_input(self, op):
        """The input through which a step op reads its kernel."""
        return op.inputs[self.by_op[op.type][0].weight_input]

    def weight_enter(self, op):
        """The Enter op through which a step op in a while loop reads its kernel (a ref variable's Enter, or a
        resource variable's `ReadVariableOp(Enter(handle))` as TF >= 1.14 writes it), else None."""
        t = self.weight_input(op)
        for _ in range(4):
            if t.op.type == "Enter":
                return t.op
            if t.op.type not in ("ReadVariableOp", "Identity") or not t.op.inputs:
                return None
            t = t.op.inputs[0]
        return None

    def match_step(self, view, op):
        """The first registered cell matching `op` -> its CellStep, else None (`Unsupported` passes through)."""
        for cell in self.by_op.get(op.type, ()):
            step = cell.match(view, op)
            if step is not None:
                return step
        return None

    def steps(self, view, in_loops: bool):
        """Every cell step of the graph (gradients excluded) whose kernel enters a while frame (`in_loops`) or not
        -> [(the step op, CellStep)]; a step a matcher refuses is left out."""
        found = []
        for op in view.graph.get_operations():
            if op.type not in self.by_op or is_gradient(op.name):
                continue
            if (self.weight_enter(op) is not None) != in_loops:
                continue
            try:
                step = self.match_step(view, op)
            except Unsupported:
                continue
            if step is not None:
                found.append((op, step))
        return found

    def frames(self, view, provider) -> dict:
        """The recognised cell steps grouped by the while frame their weights enter; `provider(view, frame, steps)`
        (None or `Unsupported`: not this kind of loop) -> {each name it provides: the provider}. A frame a provider
        declines is noted in `view.declined_frames` (frame -> the `Unsupported` reason, else DECLINED): the reason
        `loops.why_not_recognised` gives when no construct took the loop."""
        frames: dict[str, list] = {}
        for op, step in self.steps(view, in_loops=True):
            frames.setdefault(self.weight_enter(op).get_attr("frame_name").decode(), []).append(step)
        providers = {}
        declined = view.__dict__.setdefault("declined_frames", {})
        for frame, steps in frames.items():
            try:
                p = provider(view, frame, steps)
            except Unsupported as e:
                declined[frame] = str(e)
                continue
            if p is None:
                declined.setdefault(frame, None if not steps else DECLINED.format(
                    ", ".join(sorted({f"{s.family.upper()} {s.scope}" for s in steps}))))
                continue
            for name in p.provides:
                providers[name] = p
        return providers

    def recognise(self, view, outputs) -> dict:
        """Every construct's providers: {tensor name: Provider}."""
        providers = {}
        for c in self.constructs:
            if c.recognise is not None:
                providers.update(c.recognise(view, outputs, self))
        return providers


__all__ = ["DECLINED", "Cell", "Construct", "Helper", "Registry"]
