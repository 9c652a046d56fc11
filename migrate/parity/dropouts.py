"""Dropout that keeps dropping at inference, found by use: the constants and placeholders of a TF1 graph's dropouts.

A TF1 graph saved with `DropoutWrapper(output_keep_prob=0.5)` or `tf.nn.dropout(x, 0.8)` (a Python float) holds
its keep probability as a `Const`, often inside a while loop where no feed reaches it: two runs of the graph on the
same inputs differ. `convert` (the TF1 side of its automatic parity, `convert --to tf1`) and `parity --tf1` both
set those constants to their inference values before the graph is imported, so the TF1 side computes what the
Keras model computes at inference (no dropout); `tf-migrate parity --tf1 ... --feed NAME=VALUE` keeps a value the
user chose.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

_DROPOUT_KEEP = ("dropout/keep_prob",)
_RANDOM_SCALING = ("Mul", "Add", "AddV2", "Sub")   # random_uniform(minval, maxval) = RandomUniform * range + min


def inference_constants(tf1, keep: Collection[str] = ()) -> dict[str, float]:
    """Dropout built with a constant keep probability (a DropoutWrapper's or `tf.nn.dropout`'s Python float, also
    inside a while loop) keeps dropping at inference: the graph is not deterministic. Such constants are found by
    the ops around the random draw, whatever their names, and set before the graph is imported (the TF1 side of
    parity; `TF1Graph.set_constants`); the Keras model has no dropout:

    - TF < 1.13 `floor(keep_prob + uniform)`: the keep_prob constant < 1 (shared with `x / keep_prob`) -> 1.0;
    - TF >= 1.13 `uniform >= rate` then `x * (1 / (1 - rate))`: the rate constant -> 0.0 and the scale constant of
      that dropout's scope -> 1.0;
    - a constant named `.../dropout/keep_prob` < 1 (either form) -> 1.0.
    Returns {constant name: its new value}; `tf1.dropout_draws` names every dropout's RandomUniform, and
    `tf1.dropout_placeholders` the placeholders that are a dropout's keep probability (-> 1.0) or rate (-> 0.0) by
    the same ops, whatever their names (`Placeholder_4` fed as `dropout_pkeep` in a signature).
    `keep`: constants (tensor names) the user set (`--feed`): their dropout is left as it is
    (`tf1.dropouts_user_set`: draw -> (that constant, its inference value)); `tf1.dropouts_off` the draws switched
    off. Control flow v2 loops (TF1 code run under TF 2.x's `tf.compat.v1`: a `While` whose body is a library
    function) are searched too: their constants are set in the function before the import, named
    `FUNCTION/NODE` in the result and in `tf1.overridden`."""
    found = _scan(tf1.proto, tf1.meta_def.graph_def.node, keep)
    tf1.set_constants({name + ":0": v for name, v in found.changed.items()})
    changed = dict(found.changed)
    for fdef in tf1.meta_def.graph_def.library.function:   # While / If bodies of control flow v2
        fg = FunctionNodes(fdef)
        if not fg.nodes_of_type(("RandomUniform",)):
            continue
        inner = _scan(fg, fdef.node_def, keep)
        for name, v in inner.changed.items():
            _set_scalar(fdef.node_def[fg.index[name]], v)
            changed[f"{fdef.signature.name}/{name}"] = v
            tf1.overridden[f"{fdef.signature.name}/{name}:0"] = v
        found.draws |= inner.draws   # op names inside the body: the translation reads them there
        found.off |= inner.off
        found.user_set.update(inner.user_set)
    tf1.dropout_draws = frozenset(found.draws)   # the translation gives them zeros (ops/nn.py RandomUniform)
    tf1.dropouts_off = frozenset(found.off)      # parity's refusal names the random ops that are still random
    tf1.dropouts_user_set = found.user_set
    tf1.dropout_placeholders = dict(sorted(found.fed.items()))   # fed their inference value unless --feed says so
    return dict(sorted(changed.items()))


@dataclass
class _Found:
    changed: dict[str, float] = field(default_factory=dict)   # constant -> its inference value
    draws: set[str] = field(default_factory=set)              # every dropout's RandomUniform
    off: set[str] = field(default_factory=set)                # draws whose dropout is switched off
    user_set: dict[str, tuple[str, float]] = field(default_factory=dict)   # draw -> (constant set by the user, value)
    fed: dict[str, float] = field(default_factory=dict)       # placeholders: a keep probability (rate) by use


def _scan(g, nodes, keep: Collection[str]) -> _Found:
    """The dropouts of one graph (`ProtoGraph`, or `FunctionNodes` of a library function) and their nodes."""
    import tensorflow as tf  # noqa: PLC0415

    from migrate.checkpoint.tables import is_gradient  # noqa: PLC0415

    def scalar(i):
        if g.types[i] != "Const":
            return None
        tensor = nodes[i].attr["value"].tensor
        if any(d.size != 1 for d in tensor.tensor_shape.dim):   # a scalar (or [1]): read it, nothing larger
            return None
        value = tf.make_ndarray(tensor)
        return float(value.reshape(-1)[0]) if value.size == 1 and value.dtype.kind == "f" else None

    def folded(i, depth=2):   # a scalar Const, or `max - min` of two (random_uniform's range in TF < 1.13 graphs)
        value = scalar(i)
        if value is None and depth and g.types[i] in ("Sub", "Add", "AddV2", "Mul"):
            a, b = (folded(src, depth - 1) for src, _ in g.inputs_of(i)[:2])
            if a is not None and b is not None:
                value = {"Sub": a - b, "Mul": a * b}.get(g.types[i], a + b)
        return value

    def scaling_operand(i, other):   # the operand of a scaling op i besides `other`, if it is known at conversion
        return next((folded(src) for src, port in g.inputs_of(i) if port >= 0 and src != other), None)

    def const_input(i, other):   # the constant operand of a binary op i whose other operand is `other`
        for src, port in g.inputs_of(i):
            if port >= 0 and src != other:
                src = next((s for s, p in g.inputs_of(src) if p >= 0), src) if g.types[src] == "Identity" else src
                return src, scalar(src)
        return None, None

    def placeholder_input(i, other):   # a placeholder operand of binary op i (through reads, Enter, 1 - p)
        for src, port in g.inputs_of(i):
            if port < 0 or src == other:
                continue
            flip = False
            for _ in range(4):
                if g.types[src] in ("Identity", "Enter", "Cast"):
                    src = next((s for s, p in g.inputs_of(src) if p >= 0), src)
                elif g.types[src] == "Sub" and scalar(g.inputs_of(src)[0][0]) == 1.0 and not flip:
                    src, flip = g.inputs_of(src)[1][0], True   # rate = 1 - keep_prob
                else:
                    break
            if g.types[src] in ("Placeholder", "PlaceholderV2"):
                return src, flip
        return None, False

    def kept(name):
        return name in keep or name + ":0" in keep

    found = _Found()
    changed, draws, off, user_set, fed = found.changed, found.draws, found.off, found.user_set, found.fed
    for i in g.nodes_of_type(("Const",)):
        name = g.names[i]
        if name.endswith(_DROPOUT_KEEP) and not is_gradient(name) and not kept(name) and \
                (v := scalar(i)) is not None and v < 1.0:
            changed[name] = 1.0
    for r in g.nodes_of_type(("RandomUniform",)):
        if is_gradient(g.names[r]):
            continue
        drawn, frontier = {r}, [r]
        for _ in range(3):   # the uniform draw scaled into [min, max)
            frontier = [c for f in frontier for c, _ in g.consumers_of(f) if g.types[c] in _RANDOM_SCALING
                        and c not in drawn and scaling_operand(c, f) is not None]
            drawn.update(frontier)
        for d in drawn:
            for c, _ in g.consumers_of(d):
                if g.types[c] == "GreaterEqual" or g.types[c] in ("Add", "AddV2") and \
                        any(g.types[f] == "Floor" for f, _ in g.consumers_of(c)):
                    draws.add(g.names[r])   # a dropout's draw, whatever its keep probability is
                k, value = const_input(c, d)
                floored = g.types[c] in ("Add", "AddV2") and any(g.types[f] == "Floor" for f, _ in g.consumers_of(c))
                if value is None and (floored or g.types[c] == "GreaterEqual"):
                    ph, flip = placeholder_input(c, d)
                    if ph is not None:   # keep_prob + uniform: 1.0; uniform >= rate: 0.0, or 1.0 where rate = 1 - p
                        fed[g.names[ph]] = 1.0 if floored or flip else 0.0
                if k is None or value is None or not 0.0 < value < 1.0:
                    continue
                if kept(g.names[k]):   # a dropout whose keep probability or rate the user set is left whole
                    user_set[g.names[r]] = (g.names[k], 1.0 if g.types[c] != "GreaterEqual" else 0.0)
                    continue
                off.add(g.names[r])
                if g.types[c] in ("Add", "AddV2") and any(g.types[f] == "Floor" for f, _ in g.consumers_of(c)):
                    changed[g.names[k]] = 1.0                      # keep_prob + uniform, floored
                elif g.types[c] == "GreaterEqual":
                    changed[g.names[k]] = 0.0                      # uniform >= rate
                    scope = g.names[c].rsplit("/", 1)[0] + "/"
                    scale = 1.0 / (1.0 - value)
                    for m in g.nodes_of_type(("Mul",)):
                        if g.names[m].startswith(scope) and g.names[m].count("/") == g.names[c].count("/"):
                            for src, port in g.inputs_of(m):
                                sv = scalar(src) if port >= 0 else None
                                if sv is not None and abs(sv - scale) <= 1e-4 * scale:
                                    changed[g.names[src]] = 1.0    # x * 1 / (1 - rate)
    return found


def _set_scalar(node, value: float) -> None:
    """A scalar float `Const` node given another value (in a library function, where `set_constants` does not
    reach)."""
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    old = tf.make_ndarray(node.attr["value"].tensor)
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.full(old.shape, value, dtype=old.dtype)))


class FunctionNodes:
    """The nodes of one library function (`FunctionDef.node_def`) with the lookups of `ProtoGraph` that `_scan`
    uses: `names`, `types`, `index`, `inputs_of`, `consumers_of`, `nodes_of_type`. Inputs name `node:output:k`
    (or a function argument, which is not a node: left out)."""

    def __init__(self, fdef):
        self.names = [n.name for n in fdef.node_def]
        self.types = [n.op for n in fdef.node_def]
        self.index = {name: i for i, name in enumerate(self.names)}
        self._inputs: list[list[tuple[int, int]]] = []
        self._consumers: list[list[tuple[int, int]]] = [[] for _ in self.names]
        for i, n in enumerate(fdef.node_def):
            row = []
            for text in n.input:
                control = text.startswith("^")
                name, _, rest = text.lstrip("^").partition(":")
                j = self.index.get(name)
                if j is None:
                    continue
                port = -1 if control else int(rest.rsplit(":", 1)[-1]) if rest[-1:].isdigit() else 0
                row.append((j, port))
                if port >= 0:
                    self._consumers[j].append((i, port))
            self._inputs.append(row)

    def inputs_of(self, i: int) -> list[tuple[int, int]]:
        return self._inputs[i]

    def consumers_of(self, i: int) -> list[tuple[int, int]]:
        return self._consumers[i]

    def nodes_of_type(self, types) -> list[int]:
        want = set(types)
        return [i for i, t in enumerate(self.types) if t in want]
