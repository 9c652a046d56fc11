"""Recognise what a TF1 checkpoint holds from its variable names and shapes, driven by `tables`.

`recognise(variables)` sorts every variable into exactly one bucket: a recurrent cell group (LSTMCell,
BasicLSTMCell, GRUCell, LSTMBlockCell) with its units, input size, layer and direction; an embedding; a
dense layer; an attention part; optimizer state (slots of any optimizer, `beta1_power`, `global_step`);
or the unrecognised rest. Nothing here reads tensor values: shapes are enough.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from migrate.checkpoint import tables as T
from migrate.checkpoint.reader import VariableInfo


@dataclass
class CellGroup:
    """One TF1 recurrent cell's variables, e.g. scope `encoder/rnn/multi_rnn_cell/cell_1/lstm_cell`."""

    scope: str
    kind: str                     # lstm, basic_lstm, gru (hparams.cell_type vocabulary)
    tf1_class: str
    family: str                   # lstm or gru (layout)
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

    def to_json(self) -> dict:
        return {"scope": self.scope, "kind": self.kind, "tf1_class": self.tf1_class, "family": self.family,
                "era": self.era, "units": self.units, "input_size": self.input_size, "layer": self.layer,
                "direction": self.direction, "attention_wrapped": self.attention_wrapped, "role": self.role,
                "num_proj": self.num_proj, "peepholes": self.peepholes, "variables": dict(self.variables),
                "problems": list(self.problems)}


@dataclass
class Embedding:
    name: str
    vocab_size: int
    dim: int

    def to_json(self) -> dict:
        return {"name": self.name, "vocab_size": self.vocab_size, "dim": self.dim}


@dataclass
class DenseLayer:
    scope: str
    kernel: str
    bias: str | None
    input_size: int
    units: int
    naming: str                   # "kernel/bias" or "weights/biases" (tf-slim, or TF <= 1.1)

    def to_json(self) -> dict:
        return {"scope": self.scope, "kernel": self.kernel, "bias": self.bias, "input_size": self.input_size,
                "units": self.units, "naming": self.naming}


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
    attention: list[AttentionPart] = field(default_factory=list)
    optimizers: list[OptimizerState] = field(default_factory=list)
    other_state: dict[str, str] = field(default_factory=dict)   # global_step etc: name -> meaning
    unrecognised: list[str] = field(default_factory=list)

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
        if c.startswith(T.LAYER_PREFIX) and c[len(T.LAYER_PREFIX):].isdigit() and i and comps[i - 1] == T.MULTI_RNN_SCOPE:
            ctx["layer"] = int(c[len(T.LAYER_PREFIX):])
        if c in T.DIRECTIONS and i and comps[i - 1] == T.BIDIRECTIONAL_SCOPE:
            ctx["direction"] = c
        if c == T.ATTENTION_WRAPPER_SCOPE:
            ctx["attention_wrapped"] = True
        if ctx["role"] is None and "encoder" in c.lower():
            ctx["role"] = "encoder"
        if ctx["role"] is None and "decoder" in c.lower():
            ctx["role"] = "decoder"
    if ctx["attention_wrapped"] and ctx["role"] is None:
        ctx["role"] = "decoder"
    return ctx


def _member_table(family: str) -> dict[str, tuple[str, str]]:
    """member path (e.g. "gates/weights") -> (role, era)."""
    out = {}
    for era, names in T.NAMING_ERAS.items():
        for pattern, role in T.CELL_MEMBERS[family].items():
            out[pattern.format(**names)] = (role, era)
    return out


def _finish_cell(g: CellGroup, variables: Mapping[str, VariableInfo]) -> None:
    shape = {role: variables[name].shape for role, name in g.variables.items()}
    if g.family == "lstm":
        if "kernel" not in shape or "bias" not in shape:
            g.problems.append(f"{g.scope}: expected both a kernel and a bias, found {sorted(shape)}")
            return
        g.units = shape["bias"][0] // 4
        g.peepholes = any(r.startswith("peephole_") for r in shape)
        if "projection" in shape:
            g.num_proj = shape["projection"][1]
        g.input_size = shape["kernel"][0] - (g.num_proj or g.units)
        if shape["kernel"][1] != 4 * g.units or shape["bias"][0] % 4:
            g.problems.append(f"{g.scope}: kernel {list(shape['kernel'])} and bias {list(shape['bias'])} are not "
                              f"[input + units, 4 * units] and [4 * units]")
    else:
        need = ("gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias")
        if any(r not in shape for r in need):
            g.problems.append(f"{g.scope}: a GRUCell needs {', '.join(need)}; found {sorted(shape)}")
            return
        g.units = shape["candidate_bias"][0]
        g.input_size = shape["candidate_kernel"][0] - g.units
        if shape["gates_kernel"] != (g.input_size + g.units, 2 * g.units):
            g.problems.append(f"{g.scope}: gates kernel {list(shape['gates_kernel'])} is not [input + units, 2 * units]")


def recognise(variables: Mapping[str, VariableInfo]) -> Recognition:
    """Sort every variable of a checkpoint into exactly one bucket (see `Recognition`)."""
    rec = Recognition(variables=dict(variables))
    slots = _find_slots(variables)
    members = {fam: _member_table(fam) for fam in T.CELL_MEMBERS}
    cells: dict[str, CellGroup] = {}
    dense_kernels: dict[str, str] = {}
    dense_biases: dict[str, str] = {}
    non_slot_by_prefix: dict[str, dict[str, str]] = defaultdict(dict)

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
        cell_at = max((i for i, c in enumerate(comps[:-1]) if c in T.CELL_SCOPES), default=None)
        if cell_at is not None:
            kind = T.CELL_SCOPES[comps[cell_at]]
            member = "/".join(comps[cell_at + 1:])
            if member in members[kind.family]:
                role, era = members[kind.family][member]
                scope = "/".join(comps[: cell_at + 1])
                g = cells.get(scope)
                if g is None:
                    g = cells[scope] = CellGroup(scope=scope, kind=kind.kind, tf1_class=kind.tf1_class,
                                                 family=kind.family, era=era, variables={},
                                                 **_cell_context(comps[:cell_at]))
                if role in ("kernel", "bias", "gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias"):
                    g.era = era
                g.variables[role] = name
                continue
        part = next((p for p in T.ATTENTION_PARTS if name == p or name.endswith("/" + p)), None)
        if part is not None:
            what, note = T.ATTENTION_PARTS[part]
            rec.attention.append(AttentionPart(name, what, name[: -len(part)].rstrip("/"), info.shape, note))
            continue
        if len(info.shape) == 2 and _EMBEDDING_RE.search(last):
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
        bias = dense_biases.pop(scope, None)
        kshape = variables[kernel].shape
        if bias is not None and variables[bias].shape != (kshape[1],):
            rec.unrecognised.append(bias)
            bias = None
        rec.dense.append(DenseLayer(scope, kernel, bias, kshape[0], kshape[1],
                                    "kernel/bias" if kernel.endswith("/kernel") else "weights/biases"))
    rec.unrecognised.extend(dense_biases.values())
    rec.unrecognised.sort()

    for g in cells.values():
        _finish_cell(g, variables)
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
    for opt, names in non_slot_by_prefix.items():
        target = next((o for o in by_opt.values() if o.optimizer == opt), None)
        if target is None:
            target = by_opt.setdefault(opt, OptimizerState(opt, opt, "non-slot variables only"))
        target.non_slots.update(names)
    rec.optimizers = list(by_opt.values())
    return rec
