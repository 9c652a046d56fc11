"""The contrib-op registry: ops that TF 1.x graphs hold and TensorFlow 2.21 no longer registers, each with a proven
TF 2.21 equivalent (one module per op, `OP = ContribOp(...)`, listed in `MODULES`).

A real `.meta` holding such a node does not import (`import_graph_def`: "Op type not registered"). The equivalent
is used twice:

- (a) on the TF1 side (`import_graph_def` below, which `migrate.parity.tf1_graph.TF1Graph` imports through): the
  GraphDef is imported in stages, the nodes the contrib nodes do not depend on first, then each contrib node is
  built as its equivalent from the imported inputs (an `Identity` under the node's own name carries the result),
  then the rest with `input_map` onto those; so the original graph runs, and parity has a reference;
- (b) as its translation: `providers(view)` hands the converter one provider per replaced node that emits the
  runtime call (`tfm.GatherTree`), never the equivalent's internal loop op by op.

Which contrib ops (TF 1.15 `REGISTER_OP` lists, checked against TF 2.21's op registry):
- contrib/seq2seq: `GatherTree` only: handled (`gather_tree.py`); the TF 1.1/1.2 three-input form
  (`sequence_length [B, beam]`, no end token) is refused with a message.
- contrib/rnn: `LSTMBlockCell`, `BlockLSTM`, `GRUBlockCell` (and their gradients) and contrib/cudnn_rnn's `CudnnRNN*`
  are registered in TF 2.21 (core raw ops): nothing to do (the op table translates them).
- contrib/crf: pure Python (no op of its own). contrib/layers: `SparseFeatureCross(V2)` (feature crosses of sparse
  columns; no recurrent graph of our kind holds it): not handled, reported as below.
- The development corpus (31 real checkpoints, benchmarks/corpus.py) holds no unregistered op at all.

Adding one: a module here defining `OP = ContribOp(...)`, listed in `MODULES`, plus its test (the equivalent
against a NumPy port of the TF 1.15 kernel, and a GraphDef holding the real NodeDef converted with parity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ContribOp:
    op: str                      # the op type TF 1.x wrote
    tf1: str                     # where TF 1.x defined it (python API and kernel)
    build: Callable              # (tf inputs, NodeDef) -> the equivalent's output tensor (TF side, in a tf.Graph)
    emit: Callable               # (Emitter, input Syms, node name) -> the translation's expression (keras / tfm)
    layer: str                   # docs: what a converted model calls
    refuse: Callable | None = None   # NodeDef -> why this form is not handled (None: handled)


from migrate.contrib_ops import gather_tree  # noqa: E402 - the entries use ContribOp

MODULES = (gather_tree,)
REGISTRY: dict[str, ContribOp] = {m.OP.op: m.OP for m in MODULES}


class ContribOpError(ValueError):
    """A contrib node this registry cannot stand in for (an unknown form, or one inside a cycle)."""


def _registered(op_type: str) -> bool:
    from migrate._internals import op_registered  # noqa: PLC0415

    return op_registered(op_type)


def missing(graph_def) -> list:
    """The nodes of `graph_def` whose op this TensorFlow lacks and this registry replaces."""
    return [n for n in graph_def.node if n.op in REGISTRY and not _registered(n.op)]


def _source(inp: str) -> tuple[str, str]:
    """A NodeDef input -> (the node it reads, the tensor or `^node` it names)."""
    if inp.startswith("^"):
        return inp[1:], inp
    name, _, idx = inp.partition(":")
    return name, f"{name}:{idx or 0}"


def import_graph_def(tf, graph_def, producer_op_list=None) -> dict:
    """`tf.graph_util.import_graph_def(graph_def, name="")` into the default graph, with each registered contrib
    node built as its TF 2.21 equivalent (see the module doc) -> {node name: (its op type, [its input tensor
    names])} of the nodes replaced (empty when there is none: a plain import)."""
    todo = {n.name: n for n in missing(graph_def)}
    if not todo:
        tf.graph_util.import_graph_def(graph_def, name="", producer_op_list=producer_op_list)
        return {}
    for n in todo.values():
        why = REGISTRY[n.op].refuse(n) if REGISTRY[n.op].refuse else None
        if why:
            raise ContribOpError(f"node {n.name} ({n.op}): {why}")
    graph = tf.compat.v1.get_default_graph()
    rest = [n for n in graph_def.node if n.name not in todo]
    done: set[str] = set()
    replaced: dict[str, tuple[str, list[str]]] = {}
    while rest or todo:
        blocked = set(todo)   # what reads a contrib node not built yet, directly or not
        grew = True
        while grew:
            grew = False
            for n in rest:
                if n.name not in blocked and any(_source(i)[0] in blocked for i in n.input):
                    blocked.add(n.name)
                    grew = True
        batch = [n for n in rest if n.name not in blocked]
        if batch:
            _import_part(tf, graph, graph_def, batch, done)
            done.update(n.name for n in batch)
        rest = [n for n in rest if n.name in blocked]
        ready = [n for n in todo.values() if all(_source(i)[0] in done for i in n.input)]
        if not ready and not batch:
            raise ContribOpError(f"node {next(iter(todo))} ({todo[next(iter(todo))].op}) reads its own result "
                                 f"(a cycle through it): its TF 2.21 equivalent cannot be built before it")
        for n in ready:
            ins = [_source(i)[1] for i in n.input if not i.startswith("^")]
            controls = [graph.get_operation_by_name(i[1:]) for i in n.input if i.startswith("^")]
            with graph.control_dependencies(controls):
                with graph.name_scope(n.name + "_equivalent/"):   # an absolute scope
                    out = REGISTRY[n.op].build([graph.get_tensor_by_name(t) for t in ins], n)
                result = tf.identity(out, name=n.name)
            if result.op.name != n.name:
                raise ContribOpError(f"node {n.name} ({n.op}): its name is taken in the imported graph")
            replaced[n.name] = (n.op, ins)
            done.add(n.name)
            del todo[n.name]
    return replaced


def _import_part(tf, graph, graph_def, nodes, done) -> None:
    """Import `nodes`, their inputs from earlier stages (`done`) mapped onto the graph's tensors."""
    from tensorflow.core.framework import graph_pb2  # noqa: PLC0415

    part = graph_pb2.GraphDef()
    part.versions.CopyFrom(graph_def.versions)
    part.library.CopyFrom(graph_def.library)
    names = {n.name for n in nodes}
    input_map = {}
    for n in nodes:
        node = part.node.add()
        node.CopyFrom(n)
        for inp in n.input:
            src, key = _source(inp)
            if src in done:
                input_map[key] = (graph.get_operation_by_name(src) if key.startswith("^")
                                  else graph.get_tensor_by_name(key))
        if "_class" in node.attr:   # colocation with a node of another stage: dropped (devices are cleared anyway)
            keep = [s for s in node.attr["_class"].list.s if s.decode("utf-8", "replace")[5:] in names]
            del node.attr["_class"].list.s[:]
            node.attr["_class"].list.s.extend(keep)
            if not keep:
                del node.attr["_class"]
    tf.graph_util.import_graph_def(part, input_map=input_map or None, name="")


def providers(view) -> dict:
    """{tensor name: provider} for every contrib node the view's graph was imported with an equivalent for."""
    out = {}
    for name, (op_type, ins) in getattr(view.tf1, "replaced", {}).items():
        p = ContribProvider(view, name, op_type, ins)
        out[p.provides[0]] = p
    return out


class ContribProvider:
    """One replaced contrib node: reads its original inputs, emits its registry entry's translation."""

    kind = "contrib op"
    loop = False   # not a loop: left out of the report's loops

    def __init__(self, view, name: str, op_type: str, ins: list[str]):
        self.name, self.op = name, op_type
        self.inputs = [view.graph.get_tensor_by_name(t) for t in ins]
        self.provides = [f"{name}:0"]

    def emit(self, em, syms) -> dict:
        from migrate.graph.ir import Sym  # noqa: PLC0415

        expr = REGISTRY[self.op].emit(em, syms, self.name)
        em.constructs[f"{self.op} (contrib, not in TF 2.21) -> {REGISTRY[self.op].layer}"] += 1
        sym = em.emit(expr, self.name, dtype="int32", comment=f"{self.op} {self.name}: {REGISTRY[self.op].tf1}")[0]
        return {self.provides[0]: Sym(var=sym.var, dtype=sym.dtype, shape=sym.shape)}


__all__ = ["MODULES", "REGISTRY", "ContribOp", "ContribOpError", "ContribProvider", "import_graph_def", "missing",
           "providers"]
