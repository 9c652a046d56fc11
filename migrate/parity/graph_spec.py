"""Which Keras input feeds which placeholder, which Keras output is which graph tensor, and the derived feeds.

Declared in a `[parity]` section of the TOML mapping file (the rest of that file is `migrate.checkpoint.mapping`'s;
docs/checkpoint.md), or with `--feed NAME=VALUE`; what is not declared is inferred by name:

```toml
[parity]
inputs  = { ids = "encoder/ids:0" }             # Keras input name -> placeholder
outputs = { logits = "decoder/logits:0" }       # Keras output name -> graph tensor
feeds   = { "keep_prob:0" = 1.0,                # a constant (scalar, bool or list)
            "is_training:0" = false,
            "lengths:0" = { length_of = "encoder/ids:0" },   # lengths of the padded ids (ids past it are 0)
            "istate:0" = 0.0 }                  # a scalar for a [B, 160] placeholder: filled to its shape
```

`--feed keep_prob=1.0`, `--feed is_training=false`, `--feed lengths=length_of:ids` on the command line do the same
and win over the file. Names may leave out `:0`.

Inferred when not declared (each one is listed in the report's notes):
- a Keras input whose name equals a placeholder's op name, normalised (lower case, `/`, `:` and `-` -> `_`), or
  the last part of it; with one Keras input and one placeholder left, those two;
- a Keras output named like a graph op (same normalisation);
- scalar placeholders named like `keep_prob` -> 1.0, `dropout` / `drop_rate` -> 0.0, a bool scalar or one named
  like `is_training` / `training` / `train_phase` -> False;
- a rank-1 integer placeholder named like `*len*` -> `length_of` the one rank-2 integer placeholder.
`PlaceholderWithDefault`s are not fed unless declared.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from migrate.parity.errors import ParityInputError


def normalise(name: str) -> str:
    """`"Encoder/IDs:0"` -> `"encoder_ids"` (how Keras and TF1 names are matched)."""
    name = name.split(":", 1)[0] if re.search(r":\d+$", name) else name
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def tensor_key(name: str) -> str:
    return name if re.search(r":\d+$", name) else name + ":0"


@dataclass(frozen=True)
class FeedRule:
    """How one placeholder is fed when it is not a Keras input.

    Attributes:
        placeholder: the tensor name (`"keep_prob:0"`).
        value: a constant (broadcast to the placeholder's shape), or None for `length_of`.
        length_of: the id placeholder whose padded rows these lengths describe.
        source: where the rule comes from (`"mapping.toml [parity]"`, `"--feed"`, `"by name"`).
    """

    placeholder: str
    value: Any = None
    length_of: str | None = None
    source: str = "declared"

    def describe(self) -> str:
        what = f"lengths of {self.length_of}" if self.length_of else repr(self.value)
        return f"{self.placeholder} = {what} ({self.source})"


@dataclass
class ParitySpec:
    """The `[parity]` section: `inputs` {Keras input: placeholder}, `outputs` {Keras output: tensor}, `feeds`."""

    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, FeedRule] = field(default_factory=dict)
    source: str = ""
    # sampling layers of a converted model (convert_report.json's `parity.given_draws`): Keras layer -> (the graph
    # tensor of the ids its loop draws, time major?); parity feeds the graph's draws to them (tfm.given_draws)
    draws: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, section: dict, source: str = "[parity]") -> ParitySpec:
        unknown = set(section) - {"inputs", "outputs", "feeds"}
        if unknown:
            raise ParityInputError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} in [parity]; expected "
                                   f"inputs = {{keras_name = \"placeholder:0\"}}, outputs = {{keras_name = "
                                   f"\"tensor:0\"}}, feeds = {{\"keep_prob:0\" = 1.0}}")
        spec = cls(source=source)
        for key in ("inputs", "outputs"):
            table = section.get(key, {})
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise ParityInputError(f"{source}: [parity] {key} must be a table of strings, e.g. "
                                       f"{key} = {{ids = \"encoder/ids:0\"}}; got {table!r}")
            getattr(spec, key).update({k: tensor_key(v) for k, v in table.items()})
        feeds = section.get("feeds", {})
        if not isinstance(feeds, dict):
            raise ParityInputError(f"{source}: [parity] feeds must be a table, e.g. feeds = {{\"keep_prob:0\" = 1.0}}")
        for name, value in feeds.items():
            spec.feeds[tensor_key(name)] = _rule(tensor_key(name), value, source)
        return spec

    @classmethod
    def from_convert_report(cls, keras_path: str) -> ParitySpec | None:
        """The bindings `tf-migrate convert --from-graph` wrote beside its `model.keras` / `model.weights.h5`
        (`convert_report.json`: `graph.inputs` / `graph.outputs`), or None when there is no such report."""
        import json  # noqa: PLC0415

        report = os.path.join(os.path.dirname(os.path.abspath(keras_path)), "convert_report.json")
        try:
            with open(report) as f:
                data = json.load(f)
            graph = data.get("graph") or {}
        except (OSError, ValueError, AttributeError):
            return None
        entries = (graph.get("inputs") or []) + (graph.get("outputs") or [])
        if not graph.get("inputs") or not graph.get("outputs") or \
                not all(isinstance(e, dict) and {"keras", "graph"} <= set(e) for e in entries):
            return None
        spec = cls(source=report)
        # an input that starts at an output of a multi-output op (`TF1Graph.start_at`) is bound to that output
        spec.inputs.update({i["keras"]: tensor_key(i.get("starts_at") or i["graph"]) for i in graph["inputs"]})
        spec.outputs.update({o["keras"]: tensor_key(o["graph"]) for o in graph["outputs"]})
        given = (data.get("parity") or {}).get("given_draws") or {}
        spec.draws.update({layer: (tensor_key(g["ids"]), bool(g.get("time_major"))) for layer, g in given.items()
                           if isinstance(g, dict) and isinstance(g.get("ids"), str)})
        return spec

    @classmethod
    def from_file(cls, path: str) -> ParitySpec:
        """The `[parity]` section of a TOML mapping file (an empty spec when the file has none)."""
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ParityInputError(f"{path}: no such file; expected the TOML mapping file (docs/checkpoint.md) "
                                   f"with a [parity] section") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ParityInputError(f"{path}: not valid TOML ({e})") from None
        except OSError as e:
            raise ParityInputError(f"{path}: cannot read ({e.strerror})") from None
        section = data.get("parity", {})
        if not isinstance(section, dict):
            raise ParityInputError(f"{path}: 'parity' must be a table ([parity])")
        return cls.from_dict(section, f"{os.path.basename(path)} [parity]")

    def add_cli_feeds(self, items: list[str]) -> None:
        """`--feed NAME=VALUE` (VALUE: a number, true/false, or length_of:IDS); wins over the file."""
        for item in items:
            name, sep, raw = item.partition("=")
            if not sep or not name.strip():
                raise ParityInputError(f"--feed {item!r}: expected NAME=VALUE, e.g. --feed keep_prob=1.0 or "
                                       f"--feed lengths=length_of:ids")
            raw = raw.strip()
            if raw.startswith("length_of:"):
                value: Any = {"length_of": raw[len("length_of:"):]}
            elif raw.lower() in ("true", "false"):
                value = raw.lower() == "true"
            else:
                try:
                    value = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
                except ValueError:
                    raise ParityInputError(f"--feed {item!r}: {raw!r} is not a number, true/false or "
                                           f"length_of:PLACEHOLDER") from None
            key = tensor_key(name.strip())
            self.feeds[key] = _rule(key, value, "--feed")


def _rule(name: str, value: Any, source: str) -> FeedRule:
    if isinstance(value, dict):
        if set(value) != {"length_of"} or not isinstance(value["length_of"], str):
            raise ParityInputError(f"{source}: feed {name}: expected a number, a bool, a list or "
                                   f"{{length_of = \"ids:0\"}}; got {value!r}")
        return FeedRule(name, length_of=tensor_key(value["length_of"]), source=source)
    if isinstance(value, bool | int | float | list):
        return FeedRule(name, value=value, source=source)
    raise ParityInputError(f"{source}: feed {name}: expected a number, a bool, a list or {{length_of = \"ids:0\"}}; "
                           f"got {value!r}")


# Scalar placeholders fed by name when not declared: (pattern on the normalised op name, dtype kind, value).
# One entry per convention; the report lists every feed chosen this way.
NAMED_FEEDS: tuple[tuple[str, str, Any], ...] = (
    (r"(^|_)keep_?prob", "f", 1.0),                       # tf.nn.dropout(x, keep_prob)
    (r"(^|_)(dropout|drop_rate|dropout_rate)$", "f", 0.0),  # tf.layers.dropout(rate=...)
    (r"(^|_)(is_training|training|is_train|train_phase|phase_train|train_mode)$", "b", False),
)
LENGTH_NAME = re.compile(r"(^|_)(seq_?)?len(gth)?s?($|_)|lengths?$")
