"""A declarative mapping file (TOML) from a TF1 checkpoint to the weights of any Keras 3 model.

For whole custom models whose names the converter cannot know. Format (version 1):

```toml
version = 1
forget_bias = 0.8                       # optional with a .meta graph (each cell's own constant is read from it)
ignore = ["re:.*/Adam(_1)?", "global_step"]   # checkpoint variables deliberately not loaded

[[map]]
checkpoint = "rnn/basic_lstm_cell"      # a cell group scope (as `tf-migrate inspect` shows it)
keras = "lstm"                          # a layer: all of its weights, in set_weights order
transform = "lstm"                      # lstm | gru | lstm_block | gru_block | identity

[[map]]                                 # the halves of a keras.layers.Bidirectional: "<layer>/<forward or
checkpoint = "encoder/bidirectional_rnn/fw/lstm_cell"   # backward sublayer name>" (forward_lstm, backward_lstm)
keras = "bidirectional/forward_lstm"
transform = "lstm"
forget_bias = 1.0                       # per entry, over the file's

[[map]]
checkpoint = "re:inference/weight(\\d)" # "re:" = a regular expression matched against whole names;
keras = "dense_{1}/kernel"              # {1} = its first group; "layer/weight" = one weight of a layer
transform = "identity"
```

Every Keras weight must be assigned exactly once and every checkpoint variable must be mapped or ignored
(a cell that TF1 ran in both directions, one cell object passed as cell_fw and cell_bw, may be mapped onto both
halves of a Bidirectional); all problems are reported in one `MappingError`, and nothing is assigned then.
Forget biases: each LSTM cell's own constant from the `.meta` graph; a given value (the file's `forget_bias`,
an entry's, or `forget_bias=`) that disagrees with the graph is an error unless `force_forget_bias=True`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

import numpy as np

from migrate.checkpoint import cell_layouts
from migrate.checkpoint.api import _recognition, open_checkpoint
from migrate.checkpoint.forget_bias import cell_forget_bias
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError

MAPPING_VERSION = 1
# transform name -> what it does. Cell transforms come from the cell-layout registry (a family name such as
# "lstm" accepts every layout of that family).
TRANSFORMS: dict[str, str] = {
    "identity": "one variable -> one Keras weight, same layout (dense kernels [in, out], biases, embeddings)",
    **{fam: f"a {fam.upper()} cell group (any {fam} layout) -> Keras [kernel, recurrent_kernel, bias]"
       for fam in cell_layouts.FAMILIES},
    **{name: f"a {', '.join(lay.tf1_classes)} group: TF1 columns {','.join(lay.tf1_gates)} -> Keras "
             f"{','.join(lay.keras_gates)}{', forget bias folded' if lay.folds_forget_bias else ''}"
       for name, lay in cell_layouts.REGISTRY.items() if name not in cell_layouts.FAMILIES},
}


@dataclass
class MappingEntry:
    checkpoint: str
    keras: str
    transform: str = "identity"
    forget_bias: float | None = None

    def matches(self, name: str) -> re.Match | None:
        if self.checkpoint.startswith("re:"):
            return re.fullmatch(self.checkpoint[3:], name)
        return re.fullmatch(re.escape(self.checkpoint), name)


@dataclass
class Mapping:
    entries: list[MappingEntry]
    ignore: list[str] = field(default_factory=list)
    forget_bias: float | None = None
    source: str = "<mapping>"

    @classmethod
    def load(cls, path: str) -> Mapping:
        try:
            with open(path, "rb") as f:
                d = tomllib.load(f)
        except FileNotFoundError:
            raise CheckpointError(f"{path}: no such mapping file.") from None
        except tomllib.TOMLDecodeError as e:
            raise CheckpointError(f"{path}: not valid TOML ({e}).") from None
        return cls.from_dict(d, source=path)

    @classmethod
    def from_dict(cls, d: dict, source: str = "<mapping>") -> Mapping:
        if d.get("version", MAPPING_VERSION) != MAPPING_VERSION:
            raise CheckpointError(f"{source}: version {d.get('version')!r}; this tool reads version {MAPPING_VERSION}.")
        unknown = sorted(set(d) - {"version", "forget_bias", "ignore", "map"})
        if unknown:
            raise CheckpointError(f"{source}: unknown key(s) {', '.join(unknown)}; expected version, forget_bias, "
                                  f"ignore, [[map]].")
        entries = []
        for i, e in enumerate(d.get("map", [])):
            if not {"checkpoint", "keras"} <= set(e) or set(e) - {"checkpoint", "keras", "transform", "forget_bias"}:
                raise CheckpointError(f"{source}: [[map]] entry {i + 1} has keys {sorted(e)}; expected checkpoint, "
                                      f"keras and optionally transform, forget_bias.")
            entry = MappingEntry(**e)
            if entry.transform not in TRANSFORMS:
                raise CheckpointError(f"{source}: [[map]] entry {i + 1}: transform {entry.transform!r}; expected one "
                                      f"of {', '.join(TRANSFORMS)}.")
            entries.append(entry)
        fb = d.get("forget_bias")
        return cls(entries, list(d.get("ignore", [])), None if fb is None else float(fb), source)


def _sublayers(layer) -> dict:
    """Named parts of a wrapper layer a mapping may target: a Bidirectional's forward / backward halves."""
    out = {}
    for attr, alias in (("forward_layer", "forward"), ("backward_layer", "backward")):
        sub = getattr(layer, attr, None)
        if sub is not None:
            out[sub.name] = sub
            out[alias] = sub
    return out


def _keras_target(model, path: str):
    """A layer (for group transforms) or one weight of a layer, from "layer", "layer/weight" or, for a
    Bidirectional, "bidirectional/forward_lstm" (a half) and "bidirectional/forward_lstm/kernel"."""
    layer_name, _, weight_name = path.partition("/")
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise KeyError(f"no Keras layer {layer_name!r} (layers: {names})") from None
    subs = _sublayers(layer)
    head, _, rest = weight_name.partition("/")
    if head in subs:
        layer, weight_name = subs[head], rest
    elif subs and not weight_name:
        halves = ", ".join(f"{layer_name}/{n}" for n in subs if n not in ("forward", "backward"))
        raise KeyError(f"{layer_name!r} is a {type(layer).__name__}: target one half ({halves})")
    if not weight_name:
        return layer, list(layer.weights)
    hits = [w for w in layer.weights if w.name == weight_name or w.path.endswith("/" + weight_name)]
    if len(hits) != 1:
        raise KeyError(f"layer {layer_name!r} has {len(hits)} weights named {weight_name!r} "
                       f"(its weights: {', '.join(w.path for w in layer.weights)})")
    return layer, hits


def apply_mapping(model, ckpt: str | Checkpoint, mapping: Mapping | str, *,
                  forget_bias: float | None = None, force_forget_bias: bool = False) -> dict:
    """Assign a built Keras `model`'s weights from `ckpt` as `mapping` says; returns a report dict.

    The report: {"assigned": {keras weight path: [checkpoint names]}, "ignored": [names], "forget_bias": F (the
    value given, if any), "forget_biases": {cell scope: {"value", "source"}} (what each LSTM cell got)}.
    Raises `MappingError` (all problems in one message, nothing assigned) when a Keras weight is left
    unassigned or assigned twice, a checkpoint variable is neither mapped nor ignored, or shapes differ.
    """
    ckpt = open_checkpoint(ckpt)
    mapping = Mapping.load(mapping) if isinstance(mapping, str) else mapping
    rec = _recognition(ckpt)
    cells = {c.scope: c for c in rec.cells}
    fb = forget_bias if forget_bias is not None else mapping.forget_bias
    fb_source = "forget_bias=" if forget_bias is not None else f"forget_bias in {mapping.source}"
    problems: list[str] = []
    plan: list[tuple[object, np.ndarray, list[str]]] = []   # (keras variable, value, checkpoint names)
    used: dict[str, list[str]] = {}
    per_cell: dict[str, dict] = {}

    for entry in mapping.entries:
        is_cell = cell_layouts.is_cell_transform(entry.transform)
        if is_cell:
            targets = [(entry.checkpoint, None)] if entry.checkpoint in cells else [
                (s, m) for s in cells if (m := entry.matches(s))]
        else:
            targets = [(n, m) for n in ckpt.variables if (m := entry.matches(n))]
        if not targets:
            problems.append(f"{mapping.source}: {entry.checkpoint!r} matches no "
                            f"{'cell group' if is_cell else 'checkpoint variable'}")
            continue
        for name, m in targets:
            keras_path = entry.keras.format(*((m.group(0),) + m.groups() if m else ()))
            try:
                _, weights = _keras_target(model, keras_path)
            except KeyError as e:
                problems.append(f"{mapping.source}: {entry.checkpoint!r} -> {keras_path!r}: {e.args[0]}")
                continue
            if is_cell:
                g = cells[name]
                want = cell_layouts.get(entry.transform)
                if want.family != g.family or (entry.transform in cell_layouts.REGISTRY
                                               and entry.transform not in cell_layouts.FAMILIES
                                               and entry.transform != g.layout):
                    problems.append(f"{name} is a {g.tf1_class} (layout {g.layout}); the mapping says "
                                    f"transform={entry.transform!r}")
                    continue
                given, src = (entry.forget_bias, f"forget_bias of the [[map]] entry for {entry.checkpoint!r}") \
                    if entry.forget_bias is not None else (fb, fb_source)
                try:
                    cfb = cell_forget_bias(g, given if g.needs_forget_bias else None, force=force_forget_bias,
                                           given_source=src)
                except CheckpointError as e:
                    problems.append(str(e))
                    continue
                from migrate.checkpoint.api import cell_weights  # noqa: PLC0415

                kw = {"forget_bias": cfb.value, "force_forget_bias": True} if g.needs_forget_bias else {}
                values = cell_weights(ckpt, name, **kw)
                if g.needs_forget_bias:
                    per_cell[name] = cfb.to_json()
                sources = list(g.variables.values())
            else:
                values = [ckpt.read(name)]
                sources = [name]
            if len(values) != len(weights):
                problems.append(f"{name} gives {len(values)} arrays but Keras {keras_path!r} has {len(weights)} "
                                f"weights ({', '.join(w.path for w in weights)})")
                continue
            shared = is_cell and name in rec.shared_cells
            for s in sources:
                if s in used and not (shared and len(used[s]) < 2):
                    problems.append(f"{s} is mapped twice ({used[s][0]} and {keras_path})")
                used.setdefault(s, []).append(keras_path)
            for w, v in zip(weights, values):
                if tuple(w.shape) != tuple(v.shape):
                    problems.append(f"{name} -> {w.path}: checkpoint gives shape {list(v.shape)}, Keras expects "
                                    f"{list(w.shape)}")
                plan.append((w, v, sources))

    ignored = [n for n in ckpt.variables if n not in used and any(
        MappingEntry(p, "").matches(n) for p in mapping.ignore)]
    for n in ckpt.variables:
        if n not in used and n not in ignored:
            problems.append(f"checkpoint variable {n} {list(ckpt.variables[n].shape)} is neither mapped nor ignored")
    counts: dict[str, int] = {}
    for w, _, _ in plan:
        counts[w.path] = counts.get(w.path, 0) + 1
    for w in model.weights:
        n = counts.get(w.path, 0)
        if n != 1:
            problems.append(f"Keras weight {w.path} {list(w.shape)} is assigned {n} times (expected exactly once)")
    if problems:
        raise MappingError(f"{len(problems)} problem(s) mapping {ckpt.prefix} onto the Keras model; nothing was "
                           f"assigned. Fix the mapping file ({mapping.source}):\n  - " + "\n  - ".join(problems))
    for w, v, _ in plan:
        w.assign(v.astype(w.dtype))
    return {"assigned": {w.path: s for w, _, s in plan}, "ignored": ignored, "forget_bias": fb,
            "forget_biases": per_cell}
