"""Recognise what a TF1 checkpoint holds, from its `.meta` graph where there is one and from names and shapes.

`recognise(variables, graph=None)` sorts every variable into exactly one bucket: a recurrent cell group (one of
the layouts of `cell_layouts`: LSTMCell, BasicLSTMCell, LSTMBlockCell, GRUCell, GRUBlockCell) with its units,
input size, layer, direction(s), role and forget bias; an embedding; a dense layer; an attention part; another
recognised part (legacy_seq2seq attention, CRF transitions); optimizer state (slots of any optimizer,
`beta1_power`, `global_step`); or the unrecognised rest. Nothing here reads tensor values: shapes are enough.

With `graph` (`graph_recognise.GraphFacts` from the checkpoint's `.meta`), usage decides over names: a variable
read by a Gather is an embedding, a MatMul + bias add pair is a dense layer, encoder / decoder roles follow the
dataflow between while loops, a cell read in an fw and a bw loop is shared by both directions, and each LSTM
cell gets its own forget bias. `recognise_checkpoint(ckpt)` does both for a `Checkpoint`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from migrate.checkpoint import cell_layouts
from migrate.checkpoint import tables as T
from migrate.checkpoint.reader import VariableInfo


@dataclass
class CellGroup:
    """One TF1 recurrent cell's variables, e.g. scope `encoder/rnn/multi_rnn_cell/cell_1/lstm_cell`."""

    scope: str
    kind: str                     # lstm, basic_lstm, gru (hparams.cell_type vocabulary)
    tf1_class: str
    family: str                   # lstm or gru: the Keras layer it becomes (`cell_layouts` family)
    era: str                      # "tf>=1.2" or "tf<=1.1"
    variables: dict[str, str]     # role (kernel, bias, gates_kernel, ...) -> checkpoint name
    units: int = 0
    input_size: int = 0
    layer: int | None = None      # index inside multi_rnn_cell/cell_N
    direction: str | None = None  # fw / bw inside bidirectional_rnn
    attention_wrapped: bool = False
    role: str | None = None       # encoder / decoder when the scope says so
    num_proj: int | None = None
    peepholes: bool = False
    problems: list[str] = field(default_factory=list)
    layout: str = ""              # `cell_layouts.REGISTRY` key: lstm, lstm_block, gru, gru_block
    directions: list[str] = field(default_factory=list)   # ["fw", "bw"] when one cell runs in both loops
    frames: list[str] = field(default_factory=list)       # while loops (graph) that run this cell
    role_source: str | None = None                        # "name ..." or "graph ..."
    forget_bias: dict | None = None                       # {"value": V, "source": "..."} (LSTM layouts)

    @property
    def cell_layout(self) -> cell_layouts.CellLayout:
        return cell_layouts.get(self.layout or self.family)

    @property
    def needs_forget_bias(self) -> bool:
        return self.cell_layout.folds_forget_bias

    def to_json(self) -> dict:
        return {"scope": self.scope, "kind": self.kind, "tf1_class": self.tf1_class, "family": self.family,
                "layout": self.layout, "era": self.era, "units": self.units, "input_size": self.input_size,
                "layer": self.layer, "direction": self.direction, "directions": list(self.directions),
                "attention_wrapped": self.attention_wrapped, "role": self.role, "role_source": self.role_source,
                "frames": list(self.frames), "num_proj": self.num_proj, "peepholes": self.peepholes,
                "forget_bias": self.forget_bias, "variables": dict(self.variables), "problems": list(self.problems)}


@dataclass
class Embedding:
    name: str
    vocab_size: int
    dim: int
    source: str = "name"          # "name" or "graph (read by Gather)"
    role: str | None = None       # graph: "source" (feeds the encoder), "target" (the decoder) or "shared" (both)

    def to_json(self) -> dict:
        return {"name": self.name, "vocab_size": self.vocab_size, "dim": self.dim, "source": self.source,
                "role": self.role}


@dataclass
class Part:
    """A recognised variable that is neither cell, embedding, dense nor contrib attention."""

    name: str
    kind: str                     # legacy_attention, crf_transitions, convolution
    part: str                     # attn_w, attn_v, attention_query, attn_output_projection, transitions
    shape: tuple[int, ...]
    note: str

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "part": self.part, "shape": list(self.shape), "note": self.note}


@dataclass
class DenseLayer:
    scope: str
    kernel: str
    bias: str | None
    input_size: int
    units: int
    naming: str                   # "kernel/bias", "weights/biases" (tf-slim, or TF <= 1.1), or "graph"
    source: str = "name"          # "name" or "graph (MatMul + bias add)"

    def to_json(self) -> dict:
        return {"scope": self.scope, "kernel": self.kernel, "bias": self.bias, "input_size": self.input_size,
                "units": self.units, "naming": self.naming, "source": self.source}


@dataclass
class OtherCell:
    """The variables of a recurrent cell no layout of `cell_layouts` matches (a BasicRNNCell, a peephole or custom
    cell, an LSTM with another activation...): what the `.meta` shows of it (the while loops whose recurrence reads
    them) and what is not known. Never a dense layer: its kernel is read inside the loop, step after step."""

    scope: str
    variables: list[str]
    shapes: dict[str, list[int]]
    loops: list[str]              # while loops (their name scopes) whose recurrence reads the variables
    tf1_class: str | None         # from the scope name (`basic_rnn_cell` -> BasicRNNCell), else None
    unknown: str                  # what is not known, e.g. "cell kind unknown: read inside rnn/while"

    def to_json(self) -> dict:
        return {"scope": self.scope, "variables": list(self.variables), "shapes": dict(self.shapes),
                "loops": list(self.loops), "tf1_class": self.tf1_class, "unknown": self.unknown}


@dataclass
class AttentionPart:
    name: str
    part: str                     # memory_layer, query_layer, attention_layer, attention_v, attention_g, attention_b
    scope: str                    # the scope holding it (mechanism or wrapper)
    shape: tuple[int, ...]
    note: str

    def to_json(self) -> dict:
        return {"name": self.name, "part": self.part, "scope": self.scope, "shape": list(self.shape), "note": self.note}


@dataclass
class Slot:
    name: str
    variable: str                 # the model variable it belongs to
    optimizer_name: str           # as written in the name: Adam, train_op, Momentum, ...
    index: int                    # 0 for `/Adam`, 1 for `/Adam_1`
    slot: str | None              # m, v, momentum, ... (None when the optimizer is unknown)
    prefix: str                   # name scope before the variable, e.g. "training/"


@dataclass
class OptimizerState:
    optimizer_name: str
    optimizer: str | None         # Adam, Momentum, ... or None if unknown
    inferred_from: str            # "slot name" or "beta1_power/beta2_power"
    slots: list[Slot] = field(default_factory=list)
    non_slots: dict[str, str] = field(default_factory=dict)   # name -> meaning

    def slots_of(self, variable: str) -> dict[str, str]:
        """{slot role: checkpoint name} for one model variable, e.g. {"m": "x/Adam", "v": "x/Adam_1"}."""
        return {s.slot or str(s.index): s.name for s in self.slots if s.variable == variable}

    def to_json(self) -> dict:
        return {"optimizer_name": self.optimizer_name, "optimizer": self.optimizer, "inferred_from": self.inferred_from,
                "slots": [{"name": s.name, "variable": s.variable, "slot": s.slot, "index": s.index,
                           "prefix": s.prefix} for s in self.slots],
                "non_slots": dict(self.non_slots)}


@dataclass
class Recognition:
    """Everything recognised in one checkpoint; every variable name is in exactly one bucket."""

    variables: dict[str, VariableInfo]
    cells: list[CellGroup] = field(default_factory=list)
    embeddings: list[Embedding] = field(default_factory=list)
    dense: list[DenseLayer] = field(default_factory=list)
    other_cells: list[OtherCell] = field(default_factory=list)   # cells of no known layout (read inside a loop)
    attention: list[AttentionPart] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    optimizers: list[OptimizerState] = field(default_factory=list)
    other_state: dict[str, str] = field(default_factory=dict)   # global_step etc: name -> meaning
    unrecognised: list[str] = field(default_factory=list)
    graph: object | None = None   # graph_recognise.GraphFacts when a .meta graph was read
    shared_cells: list[str] = field(default_factory=list)   # scopes of cells run by both fw and bw loops

    @property
    def eras(self) -> list[str]:
        return sorted({c.era for c in self.cells})

    def cell(self, scope: str) -> CellGroup:
        for c in self.cells:
            if c.scope == scope:
                return c
        raise KeyError(f"no cell group with scope {scope!r}; groups: {', '.join(c.scope for c in self.cells)}")

    def slot_names(self) -> set[str]:
        return {s.name for o in self.optimizers for s in o.slots}

    def model_variable_names(self) -> list[str]:
        """Variables that are weights (not optimizer state, not counters)."""
        skip = self.slot_names() | set(self.other_state) | {n for o in self.optimizers for n in o.non_slots}
        return [n for n in self.variables if n not in skip]

    def foreign_signatures(self) -> dict[str, int]:
        """Counts of other architectures' tell-tale scope names (FOREIGN_SIGNATURES) among model variables."""
        counts: dict[str, int] = defaultdict(int)
        for n in self.model_variable_names():
            for comp in n.split("/"):
                for key in T.FOREIGN_SIGNATURES:
                    if comp == key or comp.startswith(key + "_"):
                        counts[key] += 1
        return dict(counts)


_SLOT_RE = re.compile(r"^(?P<opt>[A-Za-z][A-Za-z0-9_]*?)(?:_(?P<idx>\d+))?$")
_EMBEDDING_RE = re.compile(T.EMBEDDING_NAME_RE, re.I)


def _find_slots(variables: Mapping[str, VariableInfo]) -> dict[str, tuple[str, str, int, str]]:
    """name -> (model variable, optimizer name, index, prefix) for every optimizer slot variable."""
    found = {}
    for name, info in variables.items():
        base, _, last = name.rpartition("/")
        m = _SLOT_RE.match(last)
        if not base or not m or last in T.NOT_SLOT_NAMES:
            continue
        comps = base.split("/")
        for i in range(len(comps)):  # `training/foo/kernel/Adam` belongs to `foo/kernel`
            cand = "/".join(comps[i:])
            if cand in variables and cand != name and variables[cand].shape == info.shape:
                found[name] = (cand, m.group("opt"), int(m.group("idx") or 0), "/".join(comps[:i]))
                break
    # A slot of a slot is impossible; drop bases that are themselves slots (e.g. `x/Adam/Adam`).
    return {n: v for n, v in found.items() if v[0] not in found}


def _cell_context(comps: list[str]) -> dict:
    ctx = {"layer": None, "direction": None, "attention_wrapped": False, "role": None}
    for i, c in enumerate(comps):
        prefix = T.MULTI_RNN_SCOPES.get(comps[i - 1]) if i else None
        if prefix and c.startswith(prefix) and c[len(prefix):].isdigit():
            ctx["layer"] = int(c[len(prefix):])
        dirs = T.BIDIRECTIONAL_SCOPES.get(comps[i - 1], {}) if i else {}
        if c in dirs:
            ctx["direction"] = dirs[c]
        if c == T.ATTENTION_WRAPPER_SCOPE:
            ctx["attention_wrapped"] = True
        if ctx["role"] is None and "encoder" in c.lower():
            ctx["role"] = "encoder"
        if ctx["role"] is None and "decoder" in c.lower():
            ctx["role"] = "decoder"
    if ctx["attention_wrapped"] and ctx["role"] is None:
        ctx["role"] = "decoder"
    return ctx


def _finish_cell(g: CellGroup, variables: Mapping[str, VariableInfo]) -> None:
    layout = g.cell_layout
    shape = {role: variables[name].shape for role, name in g.variables.items()}
    problems = layout.shape_problems(g.scope, shape)
    if any(r not in shape for r in layout.roles):
        g.problems.extend(problems)
        return
    g.units = layout.units(shape)
    g.peepholes = any(r.startswith("peephole_") for r in shape)
    if "projection" in shape:
        g.num_proj = shape["projection"][1]
    g.input_size = layout.input_size(shape)
    if not g.num_proj:
        g.problems.extend(problems)


_KIND_OF_SCOPE = {"basic_lstm_cell": "basic_lstm", "BasicLSTMCell": "basic_lstm"}   # hparams.cell_type; every other scope: the layout's family
_LEGACY_RE = [(re.compile(r"(^|/)" + pat + "$"), v) for pat, v in T.LEGACY_ATTENTION_PARTS.items()]


def _legacy_part(name: str, info: VariableInfo) -> Part | None:
    for rx, (part, note) in _LEGACY_RE:
        if rx.search(name):
            return Part(name, "legacy_attention", part, info.shape, note)
    last = name.rsplit("/", 1)[-1]
    if last in T.CRF_TRANSITION_NAMES and len(info.shape) == 2 and info.shape[0] == info.shape[1]:
        return Part(name, "crf_transitions", "transitions", info.shape,
                    "CRF transition scores [num_tags, num_tags] (crf_log_likelihood)")
    return None


def recognise(variables: Mapping[str, VariableInfo], graph=None) -> Recognition:
    """Sort every variable of a checkpoint into exactly one bucket (see `Recognition`).

    `graph`: `graph_recognise.GraphFacts` from the checkpoint's `.meta`; usage in the graph decides over names.
    """
    rec = Recognition(variables=dict(variables), graph=graph)
    slots = _find_slots(variables)
    scope_layouts = cell_layouts.scope_layouts()
    members = {lay.name: lay.member_table() for lays in scope_layouts.values() for lay in lays}
    graph_dense_biases = {b for b in (graph.dense.values() if graph else ()) if b}
    cells: dict[str, CellGroup] = {}
    dense_kernels: dict[str, str] = {}
    dense_biases: dict[str, str] = {}
    other: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)   # (cell scope, loops) -> variables
    non_slot_by_prefix: dict[str, dict[str, str]] = defaultdict(dict)
    keras_layers = _keras_recurrent_scopes(variables)

    for name, info in variables.items():
        if name in slots:
            continue
        comps = name.split("/")
        last = comps[-1]
        base_last = re.sub(r"_\d+$", "", last)
        if base_last in T.OPTIMIZER_NON_SLOTS:
            opt, meaning = T.OPTIMIZER_NON_SLOTS[base_last]
            if opt == "any":
                rec.other_state[name] = meaning
            else:
                non_slot_by_prefix[opt][name] = meaning
            continue
        if "/".join(comps[:-1]) in keras_layers:   # before the TF1 names: tf.keras 2.x's `lstm/lstm_cell/kernel`
            other[("/".join(comps[:-1]), tuple(graph.recurrent.get(name, ()) if graph else ()))].append(name)
            continue
        cell_at = max((i for i, c in enumerate(comps[:-1]) if c in scope_layouts), default=None)
        if cell_at is not None:
            member = "/".join(comps[cell_at + 1:])
            layout = next((lay for lay in scope_layouts[comps[cell_at]] if member in members[lay.name]), None)
            if layout is not None:
                role, era = members[layout.name][member]
                scope = "/".join(comps[: cell_at + 1])
                g = cells.get(scope)
                if g is None:
                    g = cells[scope] = CellGroup(
                        scope=scope, kind=_KIND_OF_SCOPE.get(comps[cell_at], layout.family),
                        tf1_class=layout.tf1_class(comps[cell_at]), family=layout.family, era=era, variables={},
                        layout=layout.name, **_cell_context(comps[:cell_at]))
                    g.role_source = f"name (scope {scope})" if g.role else None
                if role in layout.roles:
                    g.era = era
                g.variables[role] = name
                continue
        part = next((p for p in T.ATTENTION_PARTS if name == p or name.endswith("/" + p)), None)
        if part is not None:
            what, note = T.ATTENTION_PARTS[part]
            rec.attention.append(AttentionPart(name, what, name[: -len(part)].rstrip("/"), info.shape, note))
            continue
        legacy = _legacy_part(name, info)
        if legacy is not None:
            rec.parts.append(legacy)
            continue
        if graph is not None and (name in graph.conv or name in graph.conv_bias):
            what = "kernel" if name in graph.conv else f"bias (of {graph.conv_bias[name]})"
            rec.parts.append(Part(name, "convolution", what, info.shape, "graph: read by a Conv2D (or its bias add)"))
            continue
        if graph is not None and name in graph.gathered and len(info.shape) == 2:
            rec.embeddings.append(Embedding(name, info.shape[0], info.shape[1], "graph (read by Gather)"))
            continue
        unmapped = _unmapped_cell_scope(comps)
        if unmapped is not None or (graph is not None and name in graph.recurrent):
            other[(unmapped or "/".join(comps[:-1]) or name, tuple(graph.recurrent.get(name, ()) if graph else ()))
                  ].append(name)
            continue
        if graph is not None and len(info.shape) == 2 and name in graph.dense and name not in graph.gathered:
            dense_kernels["graph:" + name] = name
            continue
        if graph is not None and len(info.shape) == 1 and name in graph_dense_biases:
            continue      # taken with its kernel below
        if len(info.shape) == 2 and _EMBEDDING_RE.search(last) and (graph is None or name not in graph.dense):
            rec.embeddings.append(Embedding(name, info.shape[0], info.shape[1]))
            continue
        scope = "/".join(comps[:-1])
        if last in T.KERNEL_NAMES and len(info.shape) == 2:
            dense_kernels[scope] = name
            continue
        if last in T.BIAS_NAMES and len(info.shape) == 1:
            dense_biases[scope] = name
            continue
        rec.unrecognised.append(name)

    for scope, kernel in dense_kernels.items():
        kshape = variables[kernel].shape
        if scope.startswith("graph:"):
            bias = graph.dense.get(kernel)
            if bias is not None and (bias not in variables or variables[bias].shape != (kshape[1],)):
                bias = None
            scope = kernel.rpartition("/")[0] if kernel.rsplit("/", 1)[-1] in T.KERNEL_NAMES else kernel
            rec.dense.append(DenseLayer(scope or kernel, kernel, bias, kshape[0], kshape[1],
                                        _naming(kernel), "graph (MatMul + bias add)"))
            continue
        bias = dense_biases.pop(scope, None)
        if bias is not None and variables[bias].shape != (kshape[1],):
            rec.unrecognised.append(bias)
            bias = None
        rec.dense.append(DenseLayer(scope, kernel, bias, kshape[0], kshape[1], _naming(kernel)))
    taken = {d.bias for d in rec.dense if d.bias}
    rec.unrecognised.extend(b for b in dense_biases.values() if b not in taken)
    if graph is not None:
        in_cells = {n for g in cells.values() for n in g.variables.values()} | {n for ns in other.values() for n in ns}
        rec.unrecognised.extend(b for b in graph_dense_biases if b in variables and b not in taken and b not in slots
                                and b not in in_cells and b not in rec.unrecognised
                                and not any(b == p.name for p in rec.parts + rec.attention))
    rec.unrecognised.sort()
    rec.other_cells = [_other_cell(scope, loops, names, variables, graph is not None, keras_layers.get(scope))
                       for (scope, loops), names in sorted(other.items())]

    for g in cells.values():
        _finish_cell(g, variables)
    if graph is not None:
        from migrate.checkpoint.graph_recognise import apply_graph  # noqa: PLC0415

        apply_graph(rec, list(cells.values()), graph)
    rec.cells = sorted(cells.values(), key=lambda g: (g.role or "", g.direction or "", g.layer or 0, g.scope))

    by_opt: dict[str, OptimizerState] = {}
    for name, (var, opt_name, idx, prefix) in sorted(slots.items()):
        st = by_opt.get(opt_name)
        if st is None:
            if opt_name in T.OPTIMIZER_SLOTS:
                st = OptimizerState(opt_name, opt_name, "slot name")
            elif "Adam" in non_slot_by_prefix and len(non_slot_by_prefix["Adam"]) >= 2:
                st = OptimizerState(opt_name, "Adam", "beta1_power/beta2_power")
            else:
                st = OptimizerState(opt_name, None, "unknown optimizer: slot roles not assigned")
            by_opt[opt_name] = st
        roles = T.OPTIMIZER_SLOTS.get(st.optimizer or "", ())
        st.slots.append(Slot(name, var, opt_name, idx, roles[idx] if idx < len(roles) else None,
                             prefix + "/" if prefix else ""))
    for st in by_opt.values():   # an option that adds a slot (centered RMSProp's `mg`) shifts the roles after it
        per_var: dict[str, int] = {}
        for sl in st.slots:
            per_var[sl.variable] = max(per_var.get(sl.variable, 0), sl.index + 1)
        variant = T.OPTIMIZER_SLOTS_BY_COUNT.get((st.optimizer or "", max(per_var.values(), default=0)))
        if variant:
            st.slots = [replace(sl, slot=variant[sl.index] if sl.index < len(variant) else None)
                        for sl in st.slots]
    for opt, names in non_slot_by_prefix.items():
        target = next((o for o in by_opt.values() if o.optimizer == opt), None)
        if target is None:
            target = by_opt.setdefault(opt, OptimizerState(opt, opt, "non-slot variables only"))
        target.non_slots.update(names)
    rec.optimizers = list(by_opt.values())
    return rec


def _unmapped_cell_scope(comps: list[str]) -> str | None:
    """The scope of a cell TF1 names but no layout maps (`T.UNMAPPED_CELL_SCOPES`), else None."""
    at = max((i for i, c in enumerate(comps[:-1]) if c in T.UNMAPPED_CELL_SCOPES), default=None)
    if at is None and comps[-1] in T.UNMAPPED_CELL_VARIABLES:   # a layer's parameters in one variable
        return "/".join(comps)
    return None if at is None else "/".join(comps[: at + 1])


# A Keras 2 / tf.keras recurrent layer's weights: `kernel` [input, G * units], `recurrent_kernel` [units, G * units],
# `bias` [G * units] ([2, 3 * units]: GRU(reset_after=True)); G, the gates, tells the layer (keras/layers/recurrent.py)
KERAS_RECURRENT_GATES = {4: "Keras 2 LSTM", 3: "Keras 2 GRU", 1: "Keras 2 SimpleRNN"}


def _keras_recurrent_scopes(variables: Mapping[str, VariableInfo]) -> dict[str, str]:
    """scope -> the Keras 2 recurrent layer (`KERAS_RECURRENT_GATES`) of every scope holding its three weights."""
    out = {}
    for name, info in variables.items():
        scope, _, last = name.rpartition("/")
        kernel = variables.get(f"{scope}/kernel")
        if last != "recurrent_kernel" or kernel is None or len(info.shape) != 2 or len(kernel.shape) != 2:
            continue
        units, width = info.shape
        if units and width % units == 0 and width // units in KERAS_RECURRENT_GATES and kernel.shape[1] == width:
            out[scope] = KERAS_RECURRENT_GATES[width // units]
    return out


def _other_cell(scope: str, loops: tuple[str, ...], names: list[str], variables: Mapping[str, VariableInfo],
                has_graph: bool, keras_layer: str | None = None) -> OtherCell:
    last = scope.rsplit("/", 1)[-1]
    tf1_class = keras_layer or T.UNMAPPED_CELL_SCOPES.get(last) or T.UNMAPPED_CELL_VARIABLES.get(last)
    where = (f"read inside {', '.join(loops)}" if loops else "read by no while loop of the .meta graph (static_rnn, "
             "or one step)" if has_graph else "no .meta graph to show the loop that reads it")
    unknown = (f"no Keras layout for {tf1_class}: {where}" if tf1_class else f"cell kind unknown: {where}")
    if last in T.UNMAPPED_CELL_VARIABLES or last.startswith("cudnn_compatible_"):   # no loop: one cuDNN op
        unknown = tf1_class
    if keras_layer:   # its loop reads per-gate slices: the graph converter takes it (graph/constructs/keras2_rnn.py)
        unknown = (f"{keras_layer} layer's weights in Keras' own layout; `tf-migrate convert` makes the layer from "
                   f"the graph")
    names = sorted(names)
    return OtherCell(scope, names, {n: list(variables[n].shape) for n in names}, list(loops), tf1_class, unknown)


def _naming(kernel: str) -> str:
    last = kernel.rsplit("/", 1)[-1]
    return {"kernel": "kernel/bias", "weights": "weights/biases"}.get(last, "graph")


def recognise_checkpoint(ckpt, *, use_graph: bool = True) -> Recognition:
    """`recognise` for a `Checkpoint`, reading its `.meta` graph when there is one (cached on the object)."""
    cached = getattr(ckpt, "_recognition", None)
    if cached is not None and (cached.graph is not None or not use_graph or not ckpt.meta_path):
        return cached
    graph = None
    if use_graph and ckpt.meta_path:
        from migrate.checkpoint.graph_recognise import read_graph  # noqa: PLC0415

        graph = read_graph(ckpt.meta_path, set(ckpt.variables))
    rec = recognise(ckpt.variables, graph)
    try:
        ckpt._recognition = rec
    except AttributeError:      # a frozen / slotted Checkpoint: no cache
        pass
    return rec
