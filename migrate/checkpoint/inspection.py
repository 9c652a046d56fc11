"""`tf-migrate inspect`: what a checkpoint holds, as a tree for people and a versioned JSON for machines.

The JSON schema (`"schema": "tf-migrate/inspect", "version": 2`) is documented in docs/checkpoint.md; fields
are only ever added within a version. Version 2 (recognition from the `.meta` graph): `cells[].forget_bias`
(`{"value", "source"}` per cell, or null), `cells[].layout`, `cells[].directions` (both for one cell shared by
fw and bw), `cells[].role_source`, `cells[].frames`, `embeddings[].source`, `dense[].source`, `parts` (legacy_seq2seq
attention, CRF transitions; variable kind `part`), `shared_cells`, `graph` (null, or the .meta facts used),
`other_cells` (cells no layout matches: the loops that read them and what is unknown; variable kind `cell`).
"""

from __future__ import annotations

import os

from migrate.checkpoint import cell_layouts
from migrate.checkpoint.forget_bias import ForgetBias, forget_biases_from_meta, load_hparams_dict
from migrate.checkpoint.reader import Checkpoint, CheckpointError
from migrate.checkpoint.recognise import Recognition, recognise_checkpoint
from migrate.checkpoint.tables import FOREIGN_SIGNATURES, REFUSED_DTYPES
from migrate.text import shown

INSPECT_SCHEMA = "tf-migrate/inspect"
INSPECT_VERSION = 2


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
    for o in rec.other_cells:
        for n in o.variables:
            out[n] = ("cell", o.scope)
    for a in rec.attention:
        out[a.name] = ("attention", a.part)
    for p in rec.parts:
        out[p.name] = ("part", f"{p.kind} {p.part}")
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


def meta_forget_bias(ckpt: Checkpoint, needed: bool, rec: Recognition | None = None) -> ForgetBias | None:
    """The one forget bias found without asking (hparams.json beside the checkpoint, else the .meta graph);
    None when there is none or the cells differ (then `cells[].forget_bias` says each)."""
    if not needed:
        return None
    per_cell = [c.forget_bias for c in (rec.cells if rec else []) if c.forget_bias is not None]
    hp = os.path.join(ckpt.directory, "hparams.json")
    if os.path.isfile(hp):
        try:
            d = load_hparams_dict(hp)
        except CheckpointError:
            d = {}
        if "forget_bias" in d:
            return ForgetBias(float(d["forget_bias"]), f"hparams ({hp})")
    if per_cell:
        values = sorted({fb["value"] for fb in per_cell})
        return ForgetBias(values[0], per_cell[0]["source"]) if len(values) == 1 else None
    if ckpt.meta_path:
        found = forget_biases_from_meta(ckpt.meta_path)
        values = sorted(set(found.values()))
        if len(values) == 1:
            return ForgetBias(values[0], f"meta graph ({ckpt.meta_path}: {sorted(found)[0]})")
    return None


def inspect_json(ckpt: Checkpoint) -> dict:
    rec = recognise_checkpoint(ckpt)
    kinds = classify(rec)
    fb = meta_forget_bias(ckpt, any(c.needs_forget_bias for c in rec.cells), rec)
    problems = [p for c in rec.cells for p in c.problems]
    low = [n for n, v in ckpt.variables.items() if v.dtype in REFUSED_DTYPES]
    if low:
        problems.append(f"{len(low)} variable(s) in {'/'.join(REFUSED_DTYPES)} (convert refuses them): "
                        + ", ".join(low[:5]))
    return {
        "schema": INSPECT_SCHEMA,
        "version": INSPECT_VERSION,
        "checkpoint": {"prefix": ckpt.prefix, "format": getattr(ckpt, "format", "V2"),
                       "index": getattr(ckpt, "index_path", None), "data_files": ckpt.data_files,
                       "meta": ckpt.meta_path, "num_variables": len(ckpt.variables), "bytes": ckpt.nbytes},
        "variables": [{"name": v.name, "shape": list(v.shape), "dtype": v.dtype, "bytes": v.nbytes,
                       "kind": kinds[v.name][0], "group": kinds[v.name][1]} for v in ckpt.variables.values()],
        "naming_eras": rec.eras,
        "cells": [c.to_json() for c in rec.cells],
        "embeddings": [e.to_json() for e in rec.embeddings],
        "dense": [d.to_json() for d in rec.dense],
        "other_cells": [o.to_json() for o in rec.other_cells],
        "attention": [a.to_json() for a in rec.attention],
        "parts": [p.to_json() for p in rec.parts],
        "shared_cells": list(rec.shared_cells),
        "graph": None if rec.graph is None else {"meta": rec.graph.meta_path, "tensorflow_version": rec.graph.tf_version,
                                                 "while_loops": sorted({f for c in rec.cells for f in c.frames}),
                                                 "beam_search_loops": [
                                                     {"loop": scope, "beam_width": k, "cells": sorted(
                                                         c.scope for c in rec.cells
                                                         if any(rec.graph.loop_names.get(f) == scope
                                                                for f in c.frames))}
                                                     for scope, k in sorted(rec.graph.beam_loops.items())]},
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
            "part": str(group),
            "optimizer_slot": "optimizer slot", "optimizer_state": f"{group} state", "counter": "counter",
            "unrecognised": "UNRECOGNISED"}[kind]


def inspect_text(report: dict, show_slots: bool = False) -> str:
    """The human tree: one line per variable (slots folded unless `show_slots`), then what was recognised.

    Every name from the checkpoint is printed through `migrate.text.shown` (control characters escaped), so a
    variable named `"a\\x1b[2J\\nrecognised: ..."` can neither drive the terminal nor forge a line."""
    lines = []
    ck = report["checkpoint"]
    lines.append(f"{ck['prefix']}: {ck['num_variables']} variables, {_human(ck['bytes'])} "
                 f"({'a V1 checkpoint, ' if ck.get('format') == 'V1' else ''}{len(ck['data_files'])} data file(s)"
                 f"{', .meta graph' if ck['meta'] else ''})")
    slot_count = sum(1 for v in report["variables"] if v["kind"] == "optimizer_slot")
    tree: dict = {}
    for v in report["variables"]:
        if v["kind"] == "optimizer_slot" and not show_slots:
            continue
        node = tree
        parts = [shown(p) for p in v["name"].split("/")]
        for p in parts[:-1]:
            node = node.setdefault(p + "/", {})
        node[parts[-1]] = v
    width = max((2 * v["name"].count("/") + 2 + len(shown(v["name"].rsplit("/", 1)[-1])) for v in report["variables"]),
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
            c["role"] and f"{c['role']} ({c['role_source']})", f"layer {c['layer']}" if c["layer"] is not None else None,
            f"SHARED by directions {' and '.join(c['directions'])}: map it onto both Bidirectional halves"
            if c["directions"] else (f"direction {c['direction']}" if c["direction"] else None),
            "inside attention_wrapper" if c["attention_wrapped"] else None) if x)
        extra = "".join([", peepholes" if c["peepholes"] else "", f", projection {c['num_proj']}" if c["num_proj"] else ""])
        fbc = c["forget_bias"]
        extra += f", forget bias {fbc['value']:g} (from {fbc['source']})" if fbc else ""
        lines.append(f"  cell {c['scope']}: {c['tf1_class']}, units {c['units']}, input {c['input_size']}"
                     f"{extra}{' (' + where + ')' if where else ''}")
    for b in (report.get("graph") or {}).get("beam_search_loops", []):
        width = f", beam width {b['beam_width']}" if b["beam_width"] is not None else ""
        wrapped = any(c["attention_wrapped"] for c in report["cells"] if c["scope"] in b["cells"])
        layer = "tfm.BeamSearchAttentionDecoder" if wrapped else "tfm.BeamSearchDecoder"
        lines.append(f"  loop {b['loop']}: BeamSearchDecoder{width} (cells {', '.join(b['cells']) or 'none recognised'};"
                     f"{' over an AttentionWrapper;' if wrapped else ''} convert: {layer})")
    for o in report.get("other_cells", []):
        shapes = ", ".join(f"{n.rsplit('/', 1)[-1]} {o['shapes'][n]}" for n in o["variables"])
        lines.append(f"  cell {o['scope']}: {o['unknown']} ({shapes})")
    for e in report["embeddings"]:
        lines.append(f"  embedding {e['name']}: vocab {e['vocab_size']} x dim {e['dim']}")
    for d in report["dense"]:
        lines.append(f"  dense {d['scope']}: {d['input_size']} -> {d['units']}"
                     f"{'' if d['bias'] else ' (no bias)'} [{d['naming']}]")
    for a in report["attention"]:
        lines.append(f"  attention {a['part']}: {a['name']} {a['shape']}")
    for p in report["parts"]:
        lines.append(f"  {p['kind']} {p['part']}: {p['name']} {p['shape']}")
    for o in report["optimizers"]:
        lines.append(f"  optimizer {o['optimizer'] or 'unknown'} (slots named /{o['optimizer_name']}, "
                     f"{len(o['slots'])} slots; {o['inferred_from']})"
                     f"{'; state ' + ', '.join(o['non_slots']) if o['non_slots'] else ''}")
    for n in report["counters"]:
        lines.append(f"  counter {n}")
    lstm_cells = [c for c in report["cells"]             # the layouts that fold a forget bias (LSTM, LSTMBlock)
                  if cell_layouts.get(c.get("layout") or c["family"]).folds_forget_bias]
    if report["forget_bias"] and not any(c["forget_bias"] for c in lstm_cells):
        fb = report["forget_bias"]
        lines.append(f"  forget bias {fb['value']} (from {fb['source']})")
    elif lstm_cells and not report["forget_bias"] and not all(c["forget_bias"] for c in lstm_cells):
        why = ("the .meta graph holds no forget-bias constant for "
               + ", ".join(c["scope"] for c in lstm_cells if not c["forget_bias"])) if ck["meta"] else \
            "no hparams.json, no .meta graph"
        lines.append(f"  forget bias: not found ({why}); convert needs --forget-bias")
    if report["foreign_signatures"]:
        lines.append("  other architecture: " + ", ".join(
            f"{k} x{v['count']} ({v['meaning']})" for k, v in report["foreign_signatures"].items()))
    if report["unrecognised"]:
        lines.append(f"unrecognised ({len(report['unrecognised'])}): " + ", ".join(report["unrecognised"][:8])
                     + (" ..." if len(report["unrecognised"]) > 8 else ""))
    for p in report["problems"]:
        lines.append(f"problem: {p}")
    return "\n".join(shown(line) for line in lines)      # each entry is one line: no name can add another
