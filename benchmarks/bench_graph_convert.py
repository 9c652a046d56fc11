"""Benchmark `tf-migrate convert --from-graph` over a corpus of real TF1 checkpoints (issue 12).

    .venv/bin/python benchmarks/bench_graph_convert.py --corpus DIR [--json out.json] [--name NAME ...]

DIR holds one folder per checkpoint and a manifest (`corpus_manifest.json` as written by `benchmarks/corpus.py`,
or `manifest.json` as in tests/fixtures/real_tf1/): per entry `dir`, `prefix`, `feeds` (a number = a fixed
scalar; a dict = generated: `{"fill": "ids", "low", "high"}`, `{"fill": "full", "value"}`, `{"fill": "normal"}`,
`{"fill": "zeros"}`, each with `"shape"`) and `outputs`. Every entry is converted twice, in this process:
- `auto`: no --outputs (the converter's own choice; the table says whether it picked the manifest's outputs),
- `given`: --outputs = the manifest's outputs,
with the manifest's feeds as `--inputs FEED.npz` / `--feed`. Per checkpoint the table prints: converted or not and
why (the first line of the error), parity max abs error, seconds (conversion + parity, TF already imported).

tf2onnx + onnxruntime on the same checkpoints: only when both import in THIS interpreter (install them into a
separate virtual environment for the benchmark, never into the project's); otherwise the column says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def load_manifest(corpus: str) -> list[dict]:
    for name in ("corpus_manifest.json", "manifest.json"):
        path = os.path.join(corpus, name)
        if os.path.isfile(path):
            with open(path) as f:
                data = json.load(f)
            return data["entries"] if isinstance(data, dict) and "entries" in data else data
    raise SystemExit(f"{corpus}: no corpus_manifest.json or manifest.json (write one with benchmarks/corpus.py)")


def make_feeds(entry: dict, seed: int = 0) -> tuple[dict, dict]:
    """(arrays for --inputs, scalars for --feed) from the manifest's feeds."""
    rng = np.random.RandomState(seed)
    arrays, scalars = {}, {}
    dtypes = {k + ":0": v.get("dtype") for k, v in (entry.get("placeholders") or {}).items() if isinstance(v, dict)}
    for name, spec in (entry.get("feeds") or {}).items():
        if not isinstance(spec, dict):
            scalars[name] = spec
            continue
        shape, fill = spec["shape"], spec.get("fill", "normal")
        dt = dtypes.get(name) or ("int32" if fill == "ids" else "float32")
        if fill == "ids":
            arrays[name] = rng.randint(spec["low"], spec["high"], size=shape).astype(dt)
        elif fill == "full":
            arrays[name] = np.full(shape, spec["value"], dtype=dt)
        elif fill == "zeros":
            arrays[name] = np.zeros(shape, dtype=dt)
        else:
            arrays[name] = rng.normal(0, 1, shape).astype(dt)
    return arrays, scalars


def convert_one(entry: dict, corpus: str, mode: str, work: str) -> dict:
    from migrate.errors import MigrateError
    from migrate.graph import convert_graph

    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    arrays, scalars = make_feeds(entry)
    npz = os.path.join(work, f"{entry['name']}_{mode}.npz")
    np.savez(npz, **arrays)
    out = os.path.join(work, f"{entry['name']}_{mode}")
    row = {"name": entry["name"], "mode": mode, "tf": entry.get("tf_version", "?")}
    t0 = time.perf_counter()
    try:
        report = convert_graph(prefix, out, outputs=entry["outputs"] if mode == "given" else None,
                               feeds=scalars, inputs_npz=npz if arrays else None, force=True, log=lambda m: None)
        row.update(converted=True, parity_ok=report["parity"]["ok"],
                   max_abs=max((r.get("max_abs", 0.0) for r in report["parity"]["outputs"]), default=0.0),
                   outputs=[o["graph"] for o in report["graph"]["outputs"]], translated=report["translated"])
    except MigrateError as e:
        ok_files = os.path.isfile(os.path.join(out, "convert_report.json"))
        row.update(converted=ok_files, parity_ok=False, why=str(e).splitlines()[0][:300], exit_code=e.exit_code)
    except Exception as e:  # noqa: BLE001 - a benchmark reports every failure and goes on
        row.update(converted=False, parity_ok=False, why=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}",
                   exit_code="crash")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    if mode == "auto" and row.get("outputs"):
        row["auto_matches_manifest"] = sorted(row["outputs"]) == sorted(entry["outputs"])
    return row


def tf2onnx_available() -> str | None:
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        return None
    return tf2onnx.__version__


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder with the checkpoints and their manifest")
    ap.add_argument("--json", help="write the rows as JSON")
    ap.add_argument("--name", action="append", help="only these entries")
    ap.add_argument("--modes", default="auto,given", help="auto,given (default both)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from migrate.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    entries = [e for e in load_manifest(args.corpus) if not args.name or e["name"] in args.name]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for e in entries:
            if not os.path.isdir(os.path.join(args.corpus, e["dir"])):
                rows.append({"name": e["name"], "mode": "-", "converted": False, "why": "not in the corpus folder"})
                continue
            for mode in args.modes.split(","):
                rows.append(convert_one(e, args.corpus, mode, work))
                r = rows[-1]
                status = ("ok" if r.get("parity_ok") else "PARITY FAILED" if r.get("converted") else "not converted")
                err = f"{r['max_abs']:.1e}" if "max_abs" in r else "-"
                print(f"{r['name']:34s} {mode:5s} TF {r.get('tf', '?'):6s} {status:14s} max abs {err:8s} "
                      f"{r.get('seconds', 0):6.2f} s  {r.get('why', '')[:150]}", flush=True)
    done = [r for r in rows if r.get("mode") == "given"]
    ok = sum(1 for r in done if r.get("parity_ok"))
    auto = [r for r in rows if r.get("mode") == "auto"]
    print(f"\n{ok} / {len(done)} checkpoints convert with parity (given outputs); auto outputs = the manifest's "
          f"for {sum(1 for r in auto if r.get('auto_matches_manifest'))} / {len(auto)}")
    version = tf2onnx_available()
    print(f"tf2onnx: {'version ' + version + ' (comparison not implemented in this run)' if version else 'not installed in this interpreter (install tf2onnx + onnxruntime into a separate venv to compare)'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
