"""Walk the graph from the chosen outputs back to its placeholders and translate every op on the way.

Units of work: a graph op (translated by its op-table entry, or folded to a constant when nothing it depends
on is a model input / variable), or a recognised construct (`rnn.py`: a while-loop RNN or an unrolled
`static_rnn` that becomes one Keras RNN layer and provides several graph tensors at once).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from migrate.graph import ops as op_table
from migrate.graph.ir import Emitter, Sym, Unsupported, keras_name
from migrate.graph.meta import PLACEHOLDER_OPS, VARIABLE_OPS, GraphView


@dataclass
class Translation:
    emitter: Emitter
    inputs: list[dict]            # [{"keras", "graph", "shape", "dtype", "var"}]
    outputs: list[Sym]
    unsupported: list[tuple[str, str, str]] = field(default_factory=list)  # (type, node, reason)
    loops: list[dict] = field(default_factory=list)   # per loop / construct: {"loop", "how", "why"}

    def unsupported_summary(self) -> str:
        """One line: each untranslated loop once (with the TensorArrays made or read around it, and for a decoder
        the loops of its own scope, as beam search's GatherTree), told for what it is (`loop_hint`), then the other
        ops by type."""
        by_type: dict[str, list] = {}
        frames: dict[str, list] = {}      # a while frame (`decoder/decoder/while`, `dec/while_1`) -> its op names
        around, v2_loops, v2_lists = [], [], []
        generic = []
        for t, n, why in self.unsupported:
            frame = _FRAME.search(n)
            if t == GENERIC_LOOP:   # `why` names the op that stops it and the way out (`loops.stopped_at`)
                generic.append(f"the while loop {_FRAME_TITLE.sub('', n)}, which the generic tier could not "
                               f"translate: {why}")
            elif t in V2_LOOP_OPS:
                v2_loops.append(n)
            elif t.startswith(V2_LIST_OPS):
                v2_lists.append((t, n, why))
            elif frame:
                frames.setdefault(n[:frame.end() - 1], []).append(n)
            elif t in _LOOP_OPS:
                around.append((t, n, why))
            else:
                by_type.setdefault(t, []).append((n, why))
        groups: dict[str, list] = {}      # a loop -> the loops it owns: a decoder's, in its own scope
        for f in sorted(frames, key=len):
            owner = next((g for g in groups if loop_kind(frames[g]) and _scope(f).startswith(_scope(g) + "/")), f)
            groups.setdefault(owner, []).append(f)
        outside: dict[str, Counter] = {g: Counter() for g in groups}
        for t, n, why in around:   # to the loop whose scope it shares (`decoder/TensorArrayStack` -> `decoder/rnn`)
            owner = max(groups, key=lambda g: _shared_scopes(_scope(g), n), default=None)
            if owner is None or _shared_scopes(_scope(owner), n) < max(1, _scope(owner).count("/")):
                by_type.setdefault(t, []).append((n, why))
            else:
                outside[owner]["TensorArray" if t.startswith("TensorArray") else "loop"] += 1
        parts = list(generic)
        if v2_loops:
            shown = ", ".join(v2_loops[:3]) + (f" and {len(v2_loops) - 3} more" if len(v2_loops) > 3 else "")
            them = "them" if len(v2_loops) > 1 else "it"
            lists = f", with {len(v2_lists)} TensorList ops around {them}" if v2_lists else ""
            parts.append(f"control-flow-v2 while loop{'s' if len(v2_loops) > 1 else ''} {shown}{lists}: {V2_HINT}")
        else:
            for t, n, why in v2_lists:
                by_type.setdefault(t, []).append((n, why))
        for g, owned in groups.items():
            more = [f"{len(frames[f])} in {f}" for f in owned[1:]]
            more += [f"{k} {kind} op{'s' if k > 1 else ''} around it" for kind, k in sorted(outside[g].items())]
            extra = f", with {', '.join(more)}" if more else ""
            parts.append(f"a while loop no recogniser took: {g} ({len(frames[g])} ops{extra}; {loop_hint(frames[g])})")
        for t, items in sorted(by_type.items(), key=lambda kv: -len(kv[1])):
            first = ", ".join(n for n, _ in items[:3])
            why = items[0][1]
            parts.append(f"{t} x{len(items)} (first: {first}{'; ' + why if why else ''})")
        return "; ".join(parts)


    def outside_loops(self) -> bool:
        """Whether an op the table lacks stands outside every while loop (a front-end the model could start
        after), not only in loops the generic tier declined (whose reasons carry their own way out)."""
        return any(t != GENERIC_LOOP for t, _, _ in self.unsupported)


GENERIC_LOOP = "while loop (generic)"   # `loops.WhileLoopProvider.kind`
_FRAME_TITLE = re.compile(r"/while_context$")   # a frame's name -> its scope (`rnn/while/while_context`)
_FRAME = re.compile(r"(?:^|/)while(?:_\d+)?/")   # a TF 1.x while frame's scope: `while/`, `rnn/while/`, `while_1/`


def _scope(frame: str) -> str:
    """The scope a while frame was built in: `decoder/decoder/while` -> `decoder/decoder`, `while` -> ``."""
    return frame.rsplit("/", 1)[0] if "/" in frame else ""


def _shared_scopes(scope: str, name: str) -> int:
    """How many leading name scopes an op name shares with a loop's scope."""
    k = 0
    for a, b in zip(scope.split("/"), name.split("/")[:-1]):
        if a != b:
            break
        k += 1
    return k


_LOOP_OPS = ("Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond", "TensorArrayReadV3",
             "TensorArrayWriteV3", "TensorArrayGatherV3", "TensorArrayScatterV3", "TensorArraySizeV3", "TensorArrayV3")


# Control flow v2: a functional `While` whose body is a library function, with TensorLists for its sequences.
V2_LOOP_OPS = ("While", "StatelessWhile")
V2_LIST_OPS = ("TensorList", "EmptyTensorList")   # prefixes of the op types
V2_HINT = ("a control-flow-v2 loop whose ops the generic tier met outside its While op (a TensorList made or "
           "read where no functional While carries it); name --outputs before it, or write the graph with "
           "tf.compat.v1.disable_control_flow_v2() and tf.compat.v1.train.export_meta_graph(PREFIX + '.meta')")


# What an unrecognised while loop is, told from the name scopes its step ops carry (first match wins):
# (scope in an op name, what the loop is and the way out).
LOOP_KINDS = (
    ("/BeamSearchDecoderStep/", "a contrib.seq2seq dynamic_decode with BeamSearchDecoder, which this version does "
     "not translate: convert the graph's training decoder (TrainingHelper) or a greedy one (GreedyEmbeddingHelper "
     "with maximum_iterations) of the same checkpoint"),
    ("/BasicDecoderStep/", "a contrib.seq2seq dynamic_decode that is not BasicDecoder + TrainingHelper / "
     "GreedyEmbeddingHelper with maximum_iterations (optionally over one AttentionWrapper): e.g. a sampling or "
     "custom helper, not in this version's recognisers"),
)
OTHER_LOOP = ("ops of a while frame met outside the loop that holds them (the generic tier translates a loop from "
              "its Exit values); name --outputs computed from the loop's results")


def loop_kind(names) -> str | None:
    """The `LOOP_KINDS` hint of the while loop holding these op names, None for none of them."""
    return next((hint for scope, hint in LOOP_KINDS if any(scope in n for n in names)), None)


def loop_hint(names) -> str:
    """What the while loop holding these op names is, and the way out."""
    return loop_kind(names) or OTHER_LOOP


class _Provider:
    """A recognised construct: `inputs` it needs, `emit(em, syms) -> {tensor name: Sym}`."""

    inputs: list
    provides: list


def needed_placeholders(view: GraphView, outputs, providers, fed=()) -> list:
    """The placeholders the outputs depend on: every `Placeholder` without an inference value, and a
    `PlaceholderWithDefault` when the user feeds it (named in `fed`, e.g. an initial state given in
    `--inputs FEED.npz`): TF1 then uses the fed value, not the default, so it becomes an input."""
    return [t.op for t in needed_inputs(view, outputs, providers, fed) if t.name not in view.cut_inputs]


def needed_inputs(view: GraphView, outputs, providers, fed=()) -> list:
    """The tensors that become the model's inputs: the outputs of `needed_placeholders`, and the tensors of
    `view.cut_inputs` the outputs read (an Estimator export's parsed features: the walk stops there), by name."""
    seen, found, stack = set(), [], [view.graph.get_tensor_by_name(o) for o in outputs]
    cut: list = []
    while stack:
        t = stack.pop()
        if t.name in seen:
            continue
        seen.add(t.name)
        if t.name in view.cut_inputs:
            cut.append(t)
            continue
        if t.name in providers:
            stack.extend(providers[t.name].inputs)
            continue
        o = t.op
        if o.type in PLACEHOLDER_OPS and o.name not in view.inference_values and \
                (o.type != "PlaceholderWithDefault" or o.name in fed):
            if o not in found:
                found.append(o)
            continue
        if view.foldable(o) or o.type in VARIABLE_OPS:
            continue
        stack.extend(o.inputs)
    return sorted([o.outputs[0] for o in found] + cut, key=lambda t: t.name)


def translate(view: GraphView, outputs: list[str], input_shapes: dict[str, tuple] | None = None,
              providers: dict | None = None, recognised: bool = True) -> Translation:
    """`providers`: the recognised constructs (`rnn.recognise`); every while loop the outputs need that none of
    them provides is translated by the generic tier (`loops.generic_loops`). `recognised`: False when the
    recognisers were switched off (said in each generic loop's reason)."""
    from migrate.contrib_ops import providers as contrib_ops  # noqa: PLC0415
    from migrate.graph.loops import NO_RECOGNISER, RECOGNISERS_OFF, generic_loops  # noqa: PLC0415

    providers = {**contrib_ops(view), **(providers or {})}   # contrib ops TF 2.21 lacks: their runtime call
    view._aliases.clear()   # aliases name the variables of one translation's source (Dense = MatMul + BiasAdd)
    view.set_fed(input_shapes or ())
    providers.update(generic_loops(view, outputs, providers, why=NO_RECOGNISER if recognised else RECOGNISERS_OFF))
    em = Emitter(variable_values=view.variable_values)
    from migrate.graph.rnn import cell_variables  # noqa: PLC0415

    em.folded_cells = {cell_variables(s) for p in {id(p): p for p in providers.values()}.values()
                       for s in getattr(p, "folded_cells", list)()}
    syms: dict[str, Sym] = {}
    unsupported: list[tuple[str, str, str]] = []
    inputs = []
    for t in needed_inputs(view, outputs, providers, fed=view.fed):
        ph = t.op
        shape = (input_shapes or {}).get(ph.name) if t.shape.rank is None else None
        if shape is not None and len(shape) > 0:
            shape = (None,) + tuple(shape[1:])  # an example fixes the rank and sizes; the batch stays free
        if shape is None:
            if t.shape.rank is None:
                raise UnknownRank(ph.name)
            shape = tuple(t.shape.as_list())
        shape = tuple(shape)  # the graph's own static dims (a graph built for batch 1 stays batch 1)
        dtype = "string" if t.dtype.base_dtype.name == "string" else np.dtype(t.dtype.as_numpy_dtype).name
        if t.name in view.cut_inputs:   # a parsed feature: named after its key
            kname = keras_name(view.cut_inputs[t.name])
            what = f"tf.io.parse_example feature {view.cut_inputs[t.name]!r}"
        else:
            kname = keras_name(getattr(view, "input_names", {}).get(ph.name, ph.name))   # a signature key, else the name
            what = "tf.placeholder_with_default (fed, so an input)" if ph.type == "PlaceholderWithDefault" else \
                "tf.placeholder"
        var = em.new_ident(ph.name if t.name not in view.cut_inputs else kname)
        em.line(f"{var} = keras.Input(batch_shape={tuple(shape)!r}, dtype={dtype!r}, name={kname!r})",
                f"{what} {t.name}")
        syms[t.name] = Sym(var=var, shape=tuple(shape), dtype=dtype)
        inputs.append({"keras": kname, "graph": t.name, "shape": list(shape), "dtype": dtype, "var": var})
    em.anchor = inputs[0]["var"] if inputs else None
    if em.anchor is None:
        raise Unsupported("the outputs depend on no placeholder")
    em.lines.append("")

    walk(view, em, holders_first(view, outputs, providers), syms, providers, unsupported)
    out_syms = [syms[n] for n in outputs]
    loops, seen = [], set()
    for p in providers.values():   # each construct once, in the order met: how it was translated
        if id(p) in seen or not any(n in syms for n in p.provides) or getattr(p, "loop", True) is False:
            continue
        seen.add(id(p))
        generic = getattr(p, "kind", "") == GENERIC_LOOP
        loops.append({"loop": getattr(p, "title", p.name), "how": "translated generically" if generic else
                      f"recognised as {p.kind}", **({"why": p.why} if generic else {})})
    return Translation(em, inputs, out_syms, _dedupe(unsupported), loops)


def holders_first(view: GraphView, outputs: list[str], providers: dict) -> list[str]:
    """The outputs in the order the walk writes them: first those it reaches without an inference loop over shared
    variables (a provider's `reads_shared_weights`: a greedy / sampling / beam search decoder, a raw_rnn or
    feed_previous decoder), then the others, each group in the given order. So the training path's layers
    (`keras.layers.Embedding`, `Dense`, `tfm.LSTM` / `GRU`, `tfm.AttentionDecoder`) come first in model.py and
    hold the TF1 variables, and the loop's layer names them (`shared_weights`, issue 22); the model's outputs keep
    their order."""
    if len(outputs) < 2 or not any(getattr(p, "reads_shared_weights", False) for p in providers.values()):
        return list(outputs)

    def reads_shared(root: str) -> bool:
        seen, stack = set(), [view.graph.get_tensor_by_name(root)]
        while stack:
            t = stack.pop()
            if t.name in seen:
                continue
            seen.add(t.name)
            p = providers.get(t.name)
            if p is not None:
                if getattr(p, "reads_shared_weights", False):
                    return True
                stack.extend(p.inputs)
                continue
            if view.foldable(t.op) or t.op.type in VARIABLE_OPS:
                continue
            stack.extend(t.op.inputs)
        return False

    return sorted(outputs, key=reads_shared)


def walk(view: GraphView, em: Emitter, roots, syms: dict, providers: dict, unsupported: list,
         eager_variables: bool = False) -> None:
    """Translate every op the `roots` (tensor names) depend on, depth first, into `em`'s lines; `syms` holds what
    is known already (the model's inputs, a loop function's parameters) and receives every tensor's Sym.
    `eager_variables`: a variable read becomes `em.variable(...)` at once (a loop function's parameter), not a
    deferred read the op entries may fuse into a layer (Dense, Embedding)."""
    from migrate.graph.loops import CONTROL_ENTRIES, live_inputs  # noqa: PLC0415 - loops builds on this module

    done_providers = set()

    def ready(t) -> bool:
        return t.name in syms or view.aliased(t) is not None

    def deps(t):
        if t.name in providers:
            return [d for d in providers[t.name].inputs]
        o = t.op
        if view.foldable(o) or o.type in VARIABLE_OPS:
            return []
        if o.type == "Merge":   # a tf.cond whose predicate is known: its live branch only
            return live_inputs(view, o)
        return list(o.inputs)

    def run_unit(t):
        if view.aliased(t) is not None:
            syms[t.name] = view.aliased(t)
            return
        if t.name in providers:
            p = providers[t.name]
            if id(p) in done_providers:
                return
            done_providers.add(id(p))
            try:
                got = p.emit(em, [syms[d.name] for d in p.inputs])
            except Unsupported as e:
                declined = view.__dict__.get("declined_frames", {}).get(p.name) if p.kind == GENERIC_LOOP else None
                why = f"{e} (no recogniser took it: {declined})" if declined else str(e)   # the first reason too
                unsupported.append((p.kind, p.name, why))
                em.defaults_to_feed.update(getattr(e, "placeholders", ()))   # DefaultDoesNotFit: fed, then again
                got = {n: Sym(var="__unsupported__") for n in p.provides}
            for name, sym in got.items():
                t2 = view.graph.get_tensor_by_name(name)
                if sym.shape is None and t2.shape.rank is not None:
                    sym.shape = tuple(t2.shape.as_list())
            syms.update(got)
            return
        o = t.op
        if o.type in VARIABLE_OPS or view.variable_of(t) is not None and o.type in ("Identity", "ReadVariableOp"):
            var = view.variable_of(t)
            if eager_variables:
                syms[t.name] = em.variable(var)
                return
            value = view.variable_values(var)
            syms[t.name] = Sym(tf_var=var, shape=tuple(value.shape), dtype=str(value.dtype))
            return
        if view.foldable(o):
            value = view.fold(t)
            syms[t.name] = Sym(const=value, shape=value.shape, dtype=str(value.dtype))
            return
        entry = op_table.OPS.get(o.type) or CONTROL_ENTRIES.get(o.type)
        if entry is None:
            unsupported.append((o.type, o.name, ""))
            for out in o.outputs:
                syms[out.name] = Sym(var="__unsupported__")
            return
        ins = [syms[i.name] if i.name in syms or o.type != "Merge" else Sym(var=DEAD) for i in o.inputs]
        if any(s.var == DEAD for s in ins) and o.type != "Merge":   # the untaken branch of a folded tf.cond
            for out in o.outputs:
                syms[out.name] = Sym(var=DEAD)
            return
        if any(s.var == "__unsupported__" for s in ins):
            for out in o.outputs:
                syms[out.name] = Sym(var="__unsupported__")
            return
        try:
            ctx = op_table.Ctx(em, o, ins, view)
            ctx.syms = syms
            got = entry(ctx)
        except Unsupported as e:
            unsupported.append((o.type, o.name, str(e)))
            em.defaults_to_feed.update(getattr(e, "placeholders", ()))
            got = [Sym(var="__unsupported__") for _ in o.outputs]
        for out, s in zip(o.outputs, got):
            syms.setdefault(out.name, s)

    for name in roots:
        root = view.graph.get_tensor_by_name(name)
        stack = [root]
        visiting = set()
        while stack:
            t = stack[-1]
            if ready(t):
                if t.name not in syms:
                    syms[t.name] = view.aliased(t)
                stack.pop()
                continue
            pending = [d for d in deps(t) if not ready(d)]
            if pending:
                if t.name in visiting:
                    unsupported.append((t.op.type, t.op.name, "part of a loop no recogniser took"))
                    syms[t.name] = Sym(var="__unsupported__")
                    stack.pop()
                    continue
                visiting.add(t.name)
                # an op's other outputs come with it: push the op's inputs
                stack.extend(pending)
                continue
            run_unit(t)
            if t.name not in syms:  # multi-output op: run_unit filled all outputs of t.op
                syms[t.name] = Sym(var="__unsupported__")
            stack.pop()


DEAD = "__dead__"   # the Sym var of a tensor on the untaken branch of a tf.cond folded at conversion time


class UnknownRank(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _batch_first(ph) -> bool:
    return True


def _dedupe(items):
    seen, out = set(), []
    for it in items:
        if (it[0], it[1]) not in seen:
            seen.add((it[0], it[1]))
            out.append(it)
    return out


__all__ = ["Translation", "translate", "needed_placeholders", "UnknownRank", "Counter"]
