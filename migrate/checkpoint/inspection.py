"""`tf-migrate inspect`: what a checkpoint holds, as a tree for people and a versioned JSON for machines.

The JSON schema (`"schema": "tf-migrate/inspect", "version": 1`) is documented in docs/checkpoint.md; fields
are only ever added within a version.
"""

from __future__ import annotations

import os

from migrate.checkpoint.forget_bias import ForgetBias, forget_biases_from_meta, load_hparams_dict
from migrate.checkpoint.reader import Checkpoint, CheckpointError
from migrate.checkpoint.recognise import Recognition, recognise
from migrate.checkpoint.tables import FOREIGN_SIGNATURES, REFUSED_DTYPES

INSPECT_SCHEMA = "tf-migrate/inspect"
INSPECT_VERSION = 1


def classify(rec: Recognition) -> dict[str, tuple[str, str | None]]:
    """name -> (kind, group) for every variable; kind is one of the `kind` values of the JSON schema."""
    out: dict[str, tuple[str, str | None]] = {}
    for c in rec.cells:
        for n in c.variables.values():
            out[n] = ("cell", c.scope)
    for e in rec.embeddings:
        out[e.name] = ("embedding", None)
    for d in rec.dense:
        out[d.kernel] = ("dense", d.scope)
        if d.bias:
            out[d.bias] = ("dense", d.scope)
    for a in rec.attention:
        out[a.name] = ("attention", a.part)
    for o in rec.optimizers:
        for s in o.slots:
            out[s.name] = ("optimizer_slot", s.variable)
        for n in o.non_slots:
            out[n] = ("optimizer_state", o.optimizer)
    for n in rec.other_state:
        out[n] = ("counter", None)
    for n in rec.unrecognised:
        out[n] = ("unrecognised", None)
    return out


def meta_forget_bias(ckpt: Checkpoint, needed: bool) -> ForgetBias | None:
    """The forget bias found without asking: hparams.json beside the checkpoint, else the .meta graph."""
    if not needed:
        return None
    hp = os.path.join(ckpt.directory, "hparams.json")
    if os.path.isfile(hp):
        try:
            d = load_hparams_dict(hp)
        except CheckpointError:
            d = {}
        if "forget_bias" in d:
            return ForgetBias(float(d["forget_bias"]), f"hparams ({hp})")
    if ckpt.meta_path:
        found = forget_biases_from_meta(ckpt.meta_path)
        values = sorted(set(found.values()))
        if len(values) == 1:
            return ForgetBias(values[0], f"meta graph ({ckpt.meta_path}: {sorted(found)[0]})")
    return None


def inspect_json(ckpt: Checkpoint) -> dict:
    rec = recognise(ckpt.variables)
    kinds = classify(rec)
    fb = meta_forget_bias(ckpt, any(c.family == "lstm" for c in rec.cells))
    problems = [p for c in rec.cells for p in c.problems]
    low = [n for n, v in ckpt.variables.items() if v.dtype in REFUSED_DTYPES]
    if low:
        problems.append(f"{len(low)} variable(s) in {'/'.join(REFUSED_DTYPES)} (convert refuses them): "
                        + ", ".join(low[:5]))
    return {
        "schema": INSPECT_SCHEMA,
        "version": INSPECT_VERSION,
        "checkpoint": {"prefix": ckpt.prefix, "index": ckpt.prefix + ".index", "data_files": ckpt.data_files,
                       "meta": ckpt.meta_path, "num_variables": len(ckpt.variables), "bytes": ckpt.nbytes},
        "variables": [{"name": v.name, "shape": list(v.shape), "dtype": v.dtype, "bytes": v.nbytes,
                       "kind": kinds[v.name][0], "group": kinds[v.name][1]} for v in ckpt.variables.values()],
        "naming_eras": rec.eras,
        "cells": [c.to_json() for c in rec.cells],
        "embeddings": [e.to_json() for e in rec.embeddings],
        "dense": [d.to_json() for d in rec.dense],
        "attention": [a.to_json() for a in rec.attention],
        "optimizers": [o.to_json() for o in rec.optimizers],
        "counters": dict(rec.other_state),
        "unrecognised": list(rec.unrecognised),
        "foreign_signatures": {k: {"count": n, "meaning": FOREIGN_SIGNATURES[k]}
                               for k, n in rec.foreign_signatures().items()},
        "forget_bias": fb.to_json() if fb else None,
        "problems": problems,
    }


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _tag(kind: str, group: str | None) -> str:
    return {"cell": "cell", "embedding": "embedding", "dense": "dense", "attention": f"attention {group}",
            "optimizer_slot": "optimizer slot", "optimizer_state": f"{group} state", "counter": "counter",
            "unrecognised": "UNRECOGNISED"}[kind]


def inspect_text(report: dict, show_slots: bool = False) -> str:
    """The human tree: one line per variable (slots folded unless `show_slots`), then what was recognised."""
    lines = []
    ck = report["checkpoint"]
    lines.append(f"{ck['prefix']}: {ck['num_variables']} variables, {_human(ck['bytes'])} "
                 f"({len(ck['data_files'])} data file(s){', .meta graph' if ck['meta'] else ''})")
    slot_count = sum(1 for v in report["variables"] if v["kind"] == "optimizer_slot")
    tree: dict = {}
    for v in report["variables"]:
        if v["kind"] == "optimizer_slot" and not show_slots:
            continue
        node = tree
        parts = v["name"].split("/")
        for p in parts[:-1]:
            node = node.setdefault(p + "/", {})
        node[parts[-1]] = v
    width = max((2 * v["name"].count("/") + 2 + len(v["name"].rsplit("/", 1)[-1]) for v in report["variables"]),
                default=10)

    def walk(node: dict, depth: int) -> None:
        for key in sorted(node):
            val = node[key]
            pad = "  " * depth
            if isinstance(val, dict) and "dtype" not in val:
                lines.append(f"{pad}{key}")
                walk(val, depth + 1)
            else:
                label = f"{pad}{key}"
                lines.append(f"{label:<{width}}  {str(val['shape']):<14} {val['dtype']:<8} {_human(val['bytes']):>10}"
                             f"  {_tag(val['kind'], val['group'])}")

    walk(tree, 1)
    if slot_count and not show_slots:
        lines.append(f"  ({slot_count} optimizer slot variables not shown; --slots shows them)")
    lines.append("recognised:")
    if report["naming_eras"]:
        lines.append(f"  naming era: {', '.join(report['naming_eras'])}")
    for c in report["cells"]:
        where = ", ".join(x for x in (
            c["role"], f"layer {c['layer']}" if c["layer"] is not None else None,
            f"direction {c['direction']}" if c["direction"] else None,
            "inside attention_wrapper" if c["attention_wrapped"] else None) if x)
        extra = "".join([", peepholes" if c["peepholes"] else "", f", projection {c['num_proj']}" if c["num_proj"] else ""])
        lines.append(f"  cell {c['scope']}: {c['tf1_class']}, units {c['units']}, input {c['input_size']}"
                     f"{extra}{' (' + where + ')' if where else ''}")
    for e in report["embeddings"]:
        lines.append(f"  embedding {e['name']}: vocab {e['vocab_size']} x dim {e['dim']}")
    for d in report["dense"]:
        lines.append(f"  dense {d['scope']}: {d['input_size']} -> {d['units']}"
                     f"{'' if d['bias'] else ' (no bias)'} [{d['naming']}]")
    for a in report["attention"]:
        lines.append(f"  attention {a['part']}: {a['name']} {a['shape']}")
    for o in report["optimizers"]:
        lines.append(f"  optimizer {o['optimizer'] or 'unknown'} (slots named /{o['optimizer_name']}, "
                     f"{len(o['slots'])} slots; {o['inferred_from']})"
                     f"{'; state ' + ', '.join(o['non_slots']) if o['non_slots'] else ''}")
    for n in report["counters"]:
        lines.append(f"  counter {n}")
    if report["forget_bias"]:
        fb = report["forget_bias"]
        lines.append(f"  forget bias {fb['value']} (from {fb['source']})")
    elif report["cells"] and any(c["family"] == "lstm" for c in report["cells"]):
        lines.append("  forget bias: not found (no hparams.json, no .meta graph); convert needs --forget-bias")
    if report["foreign_signatures"]:
        lines.append("  other architecture: " + ", ".join(
            f"{k} x{v['count']} ({v['meaning']})" for k, v in report["foreign_signatures"].items()))
    if report["unrecognised"]:
        lines.append(f"unrecognised ({len(report['unrecognised'])}): " + ", ".join(report["unrecognised"][:8])
                     + (" ..." if len(report["unrecognised"]) > 8 else ""))
    for p in report["problems"]:
        lines.append(f"problem: {p}")
    return "\n".join(lines)
