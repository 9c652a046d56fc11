"""A declarative mapping file (TOML) from a TF1 checkpoint to the weights of any Keras 3 model.

For whole custom models whose names the converter cannot know. Format (version 1):

```toml
version = 1
forget_bias = 0.8                       # used by "lstm" entries (or pass forget_bias= to apply_mapping)
ignore = ["re:.*/Adam(_1)?", "global_step"]   # checkpoint variables deliberately not loaded

[[map]]
checkpoint = "rnn/basic_lstm_cell"      # a cell group scope (as `tf-migrate inspect` shows it)
keras = "lstm"                          # a layer: all of its weights, in set_weights order
transform = "lstm"                      # lstm | gru | identity

[[map]]
checkpoint = "re:inference/weight(\\d)" # "re:" = a regular expression matched against whole names;
keras = "dense_{1}/kernel"              # {1} = its first group; "layer/weight" = one weight of a layer
transform = "identity"
```

Every Keras weight must be assigned exactly once and every checkpoint variable must be mapped or ignored;
all problems are reported in one `MappingError`, and nothing is assigned then.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

import numpy as np

from migrate.checkpoint.api import _recognition, open_checkpoint
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError

MAPPING_VERSION = 1
# transform name -> (what the checkpoint side names, what it does)
TRANSFORMS: dict[str, str] = {
    "identity": "one variable -> one Keras weight, same layout (dense kernels [in, out], biases, embeddings)",
    "lstm": "an LSTM cell group -> [kernel, recurrent_kernel, bias]: gates i,j,f,o -> i,f,c,o, forget bias folded",
    "gru": "a GRUCell group -> GRU(reset_after=False) [kernel, recurrent_kernel, bias]: (r,u)+candidate -> z,r,h",
}


@dataclass
class MappingEntry:
    checkpoint: str
    keras: str
    transform: str = "identity"

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
            if not {"checkpoint", "keras"} <= set(e) or set(e) - {"checkpoint", "keras", "transform"}:
                raise CheckpointError(f"{source}: [[map]] entry {i + 1} has keys {sorted(e)}; expected checkpoint, "
                                      f"keras and optionally transform.")
            entry = MappingEntry(**e)
            if entry.transform not in TRANSFORMS:
                raise CheckpointError(f"{source}: [[map]] entry {i + 1}: transform {entry.transform!r}; expected one "
                                      f"of {', '.join(TRANSFORMS)}.")
            entries.append(entry)
        fb = d.get("forget_bias")
        return cls(entries, list(d.get("ignore", [])), None if fb is None else float(fb), source)


def _keras_target(model, path: str):
    """A layer (for group transforms) or one weight of a layer, from "layer" or "layer/weight"."""
    layer_name, _, weight_name = path.partition("/")
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise KeyError(f"no Keras layer {layer_name!r} (layers: {names})") from None
    if not weight_name:
        return layer, list(layer.weights)
    hits = [w for w in layer.weights if w.name == weight_name or w.path.endswith("/" + weight_name)]
    if len(hits) != 1:
        raise KeyError(f"layer {layer_name!r} has {len(hits)} weights named {weight_name!r} "
                       f"(its weights: {', '.join(w.path for w in layer.weights)})")
    return layer, hits


def apply_mapping(model, ckpt: str | Checkpoint, mapping: Mapping | str, *,
                  forget_bias: float | None = None) -> dict:
    """Assign a built Keras `model`'s weights from `ckpt` as `mapping` says; returns a report dict.

    The report: {"assigned": {keras weight path: [checkpoint names]}, "ignored": [names], "forget_bias": F}.
    Raises `MappingError` (all problems in one message, nothing assigned) when a Keras weight is left
    unassigned or assigned twice, a checkpoint variable is neither mapped nor ignored, or shapes differ.
    """
    ckpt = open_checkpoint(ckpt)
    mapping = Mapping.load(mapping) if isinstance(mapping, str) else mapping
    rec = _recognition(ckpt)
    cells = {c.scope: c for c in rec.cells}
    fb = forget_bias if forget_bias is not None else mapping.forget_bias
    problems: list[str] = []
    plan: list[tuple[object, np.ndarray, list[str]]] = []   # (keras variable, value, checkpoint names)
    used: dict[str, str] = {}

    for entry in mapping.entries:
        if entry.transform in ("lstm", "gru"):
            targets = [(entry.checkpoint, None)] if entry.checkpoint in cells else [
                (s, m) for s in cells if (m := entry.matches(s))]
        else:
            targets = [(n, m) for n in ckpt.variables if (m := entry.matches(n))]
        if not targets:
            problems.append(f"{mapping.source}: {entry.checkpoint!r} matches no "
                            f"{'cell group' if entry.transform in ('lstm', 'gru') else 'checkpoint variable'}")
            continue
        for name, m in targets:
            keras_path = entry.keras.format(*((m.group(0),) + m.groups() if m else ()))
            try:
                _, weights = _keras_target(model, keras_path)
            except KeyError as e:
                problems.append(f"{mapping.source}: {entry.checkpoint!r} -> {keras_path!r}: {e.args[0]}")
                continue
            if entry.transform in ("lstm", "gru"):
                g = cells[name]
                if g.family != entry.transform:
                    problems.append(f"{name} is a {g.tf1_class}; the mapping says transform={entry.transform!r}")
                    continue
                if g.family == "lstm" and fb is None:
                    problems.append(f"{name}: an LSTM needs forget_bias (in the mapping file or forget_bias=)")
                    continue
                from migrate.checkpoint.api import cell_weights  # noqa: PLC0415

                values = cell_weights(ckpt, name, **({"forget_bias": fb} if g.family == "lstm" else {}))
                sources = list(g.variables.values())
            else:
                values = [ckpt.read(name)]
                sources = [name]
            if len(values) != len(weights):
                problems.append(f"{name} gives {len(values)} arrays but Keras {keras_path!r} has {len(weights)} "
                                f"weights ({', '.join(w.path for w in weights)})")
                continue
            for s in sources:
                if s in used:
                    problems.append(f"{s} is mapped twice ({used[s]} and {keras_path})")
                used[s] = keras_path
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
    return {"assigned": {w.path: s for w, _, s in plan}, "ignored": ignored, "forget_bias": fb}
