"""How long does `tf-migrate convert` take beside tf2onnx's whole conversion of the same checkpoint (issue 22, point 4)?

    .venv/bin/python benchmarks/bench_convert_time.py --corpus DIR [--name NAME ...] [--repeats N]
        [--baseline TREE] [--tf2onnx auto|yes|no] [--timeout S] [--json OUT.json]

Per checkpoint of the corpus (a folder written by `benchmarks/corpus.py`), each side is one whole process, timed
from its start to its exit (wall clock), the sides run one after another in an order rotated from model to model
and repeat to repeat, so that a shared machine's load falls on every side alike:

- `ours`: `python -m migrate convert CKPT --from-graph --out DIR --outputs <the manifest's outputs> --force` (plus
  `--variable NAME=zeros` for the manifest's `restore_exclude`), from this tree: the graph path (which `convert`
  takes by itself for a checkpoint with a .meta that is not a Seq2Seq; the contrib.seq2seq entries are one), its
  automatic parity check included (the TF1 graph and the Keras model run on generated inputs);
- `before` (with `--baseline TREE`, e.g. a `git worktree` of an older commit): the same command from that tree;
- `tf2onnx`: `python -m tf2onnx.convert --checkpoint CKPT.meta --inputs <the manifest's feeds> --outputs <its
  outputs> --output model.onnx` in tf2onnx's own venv (`bench_graph_convert.py --install-tf2onnx` makes it). It
  checks nothing: its time is conversion alone. Whether its `.onnx` is right is `bench_graph_convert.py`'s subject.

Where our time goes: `convert_report.json`'s `timings` (seconds per phase on the process's own clock: `start-up
and imports` from the process's start in /proc to the conversion's first step, then `read the .meta`, `select
outputs`, `import and restore`, `translate`, `build the Keras model`, `parity`, `write the files`) and `exit`, the
rest of the wall time (the last console line and the interpreter's exit). The parity phase part by part: the
report's `parity_timings` (the generated inputs, the TF1 graph's run and its loss in a thread beside the Keras
model's trace, the wait for them, the model's first call: TensorFlow's instantiation and Grappler's optimisation
of the traced graph and the run, the loss check's Keras half), printed under each model's row. tf2onnx's split from its own log lines,
timestamped as they arrive: `start-up` (to its first log line, written once TensorFlow and tf2onnx are imported),
`work` (to `ONNX model is saved`), `exit`.

Before timing, the trees' own Python files are compiled to bytecode (`compileall`), as `pip install` does for an
installed package (tf2onnx's venv and our site-packages have theirs): a checkout run with PYTHONDONTWRITEBYTECODE=1
would otherwise compile ~300 modules in every run. The table: per model, the median wall seconds of each side over
`--repeats`, `ours/tf2onnx`, then ours per phase; the closing lines give the medians over the models.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_graph_convert as bgc  # noqa: E402

# our phases as the table shows them: (column, the report's `timings` keys summed into it)
PHASES = (
    ("start", ("start-up and imports",)),
    ("meta+select", ("read the .meta", "select outputs (the .meta read as data)")),
    ("import", ("import and restore",)),
    ("translate", ("translate",)),
    ("build", ("build the Keras model",)),
    ("parity", ("parity (the TF1 graph and the Keras model on the same inputs)",)),
    ("write", ("write the files",)),
)
PACKAGES = ("migrate", "tf_migrate_runtime", "tf2", "legacy_tf1")


def compile_tree(tree: str) -> None:
    """Bytecode for the tree's packages (__pycache__, git-ignored), as an installed package has."""
    for pkg in PACKAGES:
        if os.path.isdir(os.path.join(tree, pkg)):
            compileall.compile_dir(os.path.join(tree, pkg), quiet=1, workers=1)


def timed_process(cmd: list[str], *, cwd: str, env: dict, timeout: float, log_path: str) -> dict:
    """Run `cmd` to its end; wall seconds from the spawn to the exit, and each output line with the second (from
    the spawn) it arrived at. Never raises: a timeout kills the process group and says so."""
    lines: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True)

    def read():
        for line in proc.stdout:
            lines.append((time.perf_counter() - t0, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        rc = "timeout"
    wall = time.perf_counter() - t0
    reader.join(5)
    with open(log_path, "w") as f:
        f.write("$ " + shlex.join(cmd) + "\n" + "".join(f"[{t:7.2f}] {ln}\n" for t, ln in lines)
                + f"exit {rc} after {wall:.2f} s\n")
    return {"rc": rc, "wall": round(wall, 2), "lines": lines}


def ours_one(entry: dict, corpus: str, tree: str, work: str, label: str, timeout: float,
             site: str | None = None) -> dict:
    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    out = os.path.join(work, f"{entry['name']}_{label}")
    cmd = [sys.executable, "-m", "migrate", "convert", prefix, "--from-graph", "--out", out,
           "--outputs", ",".join(entry["outputs"]), "--force"]
    for name in entry.get("restore_exclude", ()):
        cmd += ["--variable", f"{name}=zeros"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (site, tree) if p))
    r = timed_process(cmd, cwd=tree, env=env, timeout=timeout, log_path=out + ".log")
    row = {"name": entry["name"], "side": label, "wall": r["wall"], "rc": r["rc"],
           "status": {0: "ok", 1: "parity failed"}.get(r["rc"], f"exit {r['rc']}")}
    report_path = os.path.join(out, "convert_report.json")
    if r["rc"] in (0, 1) and os.path.isfile(report_path):
        with open(report_path) as f:
            report = json.load(f)
        timings = report.get("timings", {})
        row["timings"] = timings
        row["seconds_convert"] = report.get("seconds")
        if report.get("parity_timings"):   # the parity phase part by part (convert.py's `parity_timings`)
            row["parity_timings"] = report["parity_timings"]
        start = timings.get("start-up and imports")
        if start is not None and report.get("seconds") is not None:
            row["phases"] = {col: round(sum(timings.get(k, 0.0) for k in keys), 2) for col, keys in PHASES}
            row["phases"]["exit"] = round(max(0.0, r["wall"] - start - report["seconds"]), 2)
            if any(k.startswith("the conversion with recognised") for k in timings):
                row["phases"]["parity"] += timings["the conversion with recognised layers (parity failed)"]
        else:   # a tree whose report has no start-up time (an older one): start-up and exit together
            row["start+exit"] = round(r["wall"] - (report.get("seconds") or 0.0), 2)
    else:
        tail = [ln for _, ln in r["lines"] if ln.strip()]
        row["why"] = tail[-1][:200] if tail else "no output"
    return row


def tf2onnx_one(entry: dict, corpus: str, work: str, timeout: float) -> dict:
    from migrate.files import find_meta

    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    meta = find_meta(prefix) or prefix + ".meta"
    out = os.path.join(work, f"{entry['name']}_tf2onnx")
    os.makedirs(out, exist_ok=True)
    onnx = os.path.join(out, "model.onnx")
    if os.path.exists(onnx):
        os.remove(onnx)
    cmd = [bgc.venv_python(), "-m", "tf2onnx.convert", "--checkpoint", meta,
           "--inputs", ",".join(entry.get("feeds") or {}), "--outputs", ",".join(entry["outputs"]), "--output", onnx]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    r = timed_process(cmd, cwd=out, env=env, timeout=timeout, log_path=out + ".log")
    converted = r["rc"] == 0 and os.path.isfile(onnx)
    row = {"name": entry["name"], "side": "tf2onnx", "wall": r["wall"], "rc": r["rc"],
           "status": "ok" if converted else "timeout" if r["rc"] == "timeout" else "not converted"}
    logged = [(t, ln) for t, ln in r["lines"] if " - INFO - " in ln or " - ERROR - " in ln or " - WARNING - " in ln]
    saved = next((t for t, ln in r["lines"] if "ONNX model is saved" in ln), None)
    if logged:
        first = logged[0][0]
        end = saved if saved is not None else r["lines"][-1][0]
        row["phases"] = {"start": round(first, 2), "work": round(end - first, 2), "exit": round(r["wall"] - end, 2)}
    if not converted:
        tail = [ln for _, ln in r["lines"] if ln.strip()]
        row["why"] = tail[-1][:200] if tail else "no output"
    return row


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, width=7, digits=1):
    return f"{x:{width}.{digits}f}" if x is not None else f"{'-':>{width}s}"


def _parity_split(runs: list[dict]) -> dict:
    """The parity phase's parts (the report's `parity_timings`), the median over the runs of each part."""
    parts = list(dict.fromkeys(k for r in runs for k in r.get("parity_timings", {})))
    return {k: median([r["parity_timings"][k] for r in runs if k in r.get("parity_timings", {})]) for k in parts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="folder with the checkpoints and their manifest")
    ap.add_argument("--name", action="append", help="only these entries")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each side per model (default 1)")
    ap.add_argument("--baseline", metavar="TREE", help="also time this checkout's `python -m migrate convert` "
                                                       "(e.g. a git worktree of an older commit): `before`")
    ap.add_argument("--tf2onnx", choices=("auto", "yes", "no"), default="auto",
                    help="the tf2onnx side: auto = when benchmarks/.venv-tf2onnx exists (default)")
    ap.add_argument("--site", metavar="DIR", help="put DIR first on the `ours` side's PYTHONPATH: packages as "
                    "constraints.txt pins them where the venv has other versions (e.g. `pip install --no-deps "
                    "--target DIR ml_dtypes==0.6.0`)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per process (default 900)")
    ap.add_argument("--json", help="write the rows as JSON")
    args = ap.parse_args(argv)
    versions = bgc.tf2onnx_versions() if args.tf2onnx != "no" else None
    if versions is None and args.tf2onnx == "yes":
        print(f"--tf2onnx yes: {bgc.TF2ONNX_VENV} has no working tf2onnx; run bench_graph_convert.py "
              f"--install-tf2onnx first", file=sys.stderr)
        return 2
    entries = [e for e in bgc.load_manifest(args.corpus) if not args.name or e["name"] in args.name]
    entries = [e for e in entries if os.path.isdir(os.path.join(args.corpus, e["dir"]))]
    sides = [("ours", ROOT)] + ([("before", os.path.abspath(args.baseline))] if args.baseline else []) + (
        [("tf2onnx", None)] if versions else [])
    for _, tree in sides:
        if tree:
            compile_tree(tree)
    print(f"{len(entries)} checkpoints, {args.repeats} run(s) per side, sides: {', '.join(s for s, _ in sides)}"
          + (f"; tf2onnx {versions['tf2onnx']} with TensorFlow {versions['tensorflow-cpu']}" if versions else "")
          + (f"; ours with {args.site} first on its path" if args.site else "")
          + f"; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    cols = [s for s, _ in sides]
    print(f"{'checkpoint':34s} " + " ".join(f"{c:>8s}" for c in cols) + ("  ours/t2o" if versions else "")
          + "   ours: " + " ".join(f"{c:>7s}" for c, _ in PHASES) + f" {'exit':>7s}", flush=True)
    rows: list[dict] = []
    per_model: dict[str, dict[str, list[dict]]] = {}
    k = 0
    with tempfile.TemporaryDirectory(prefix="bench_convert_time_") as work:
        for e in entries:
            runs = per_model[e["name"]] = {s: [] for s in cols}
            for rep in range(args.repeats):
                order = sides[k % len(sides):] + sides[:k % len(sides)]   # rotated: model to model, run to run
                k += 1
                for label, tree in order:
                    r = (tf2onnx_one(e, args.corpus, work, args.timeout) if label == "tf2onnx"
                         else ours_one(e, args.corpus, tree, work, label, args.timeout,
                                       args.site if label == "ours" else None))
                    r["repeat"] = rep
                    r["load"] = round(os.getloadavg()[0], 1)
                    runs[label].append(r)
                    rows.append(r)
            walls = {s: median([r["wall"] for r in runs[s]]) for s in cols}
            ratio = walls["ours"] / walls["tf2onnx"] if versions and walls.get("tf2onnx") else None
            ph = {c: median([r.get("phases", {}).get(c) for r in runs["ours"]]) for c, _ in PHASES + (("exit", ()),)}
            print(f"{e['name'][:34]:34s} " + " ".join(fmt(walls[s], 8) for s in cols)
                  + (f"  {fmt(ratio, 8, 2)}" if versions else "") + "   " + " ".join(fmt(ph[c]) for c in ph), flush=True)
            split = _parity_split(runs["ours"])
            if split:
                print("    ours, the parity phase (s): " + "; ".join(f"{k} {fmt(v, 0)}" for k, v in split.items()),
                      flush=True)
            for label in cols:
                bad = [r for r in runs[label] if r["status"] != "ok"]
                if bad:
                    print(f"    {label}: {bad[0]['status']}" + (f": {bad[0].get('why', '')}" if bad[0].get("why")
                                                                  else ""), flush=True)
    print()
    names = list(per_model)

    def model_wall(name, side):
        return median([r["wall"] for r in per_model[name][side]])

    for side in cols:
        print(f"{side}: median {fmt(median([model_wall(n, side) for n in names]), 0)} s per model "
              f"(min {fmt(min(model_wall(n, side) for n in names), 0)}, max "
              f"{fmt(max(model_wall(n, side) for n in names), 0)}); "
              f"{sum(1 for n in names if all(r['status'] == 'ok' for r in per_model[n][side]))} / {len(names)} ok")
    if versions:
        ratios = {n: model_wall(n, "ours") / model_wall(n, "tf2onnx") for n in names}
        both = [n for n in names if all(r["status"] == "ok" for r in per_model[n]["ours"] + per_model[n]["tf2onnx"])]
        print(f"ours/tf2onnx per model: median {median(list(ratios.values())):.2f} over all {len(names)}, "
              f"{fmt(median([ratios[n] for n in both]), 0, 2)} over the {len(both)} both convert; ours no slower on "
              f"{sum(1 for r in ratios.values() if r <= 1.0)} / {len(names)}")
        if "before" in cols:
            before = [model_wall(n, "before") / model_wall(n, "tf2onnx") for n in names]
            print(f"before/tf2onnx per model: median {median(before):.2f}; ours/before median "
                  f"{median([model_wall(n, 'ours') / model_wall(n, 'before') for n in names]):.2f}")
        t2o_ph = {c: median([median([r.get("phases", {}).get(c) for r in per_model[n]["tf2onnx"]]) for n in names])
                  for c in ("start", "work", "exit")}
        print("tf2onnx, median per phase (s): " + ", ".join(f"{c} {fmt(v, 0)}" for c, v in t2o_ph.items()))
    ours_ph = {c: median([median([r.get("phases", {}).get(c) for r in per_model[n]["ours"]]) for n in names])
               for c, _ in PHASES + (("exit", ()),)}
    print("ours, median per phase (s): " + ", ".join(f"{c} {fmt(v, 0)}" for c, v in ours_ph.items()))
    splits = [_parity_split(per_model[n]["ours"]) for n in names]
    parts = list(dict.fromkeys(k for sp in splits for k in sp))
    if parts:
        print("ours, the parity phase, median over the models that have the part (s): " + "; ".join(
            f"{k} {fmt(median([sp[k] for sp in splits if k in sp]), 0)}" for k in parts))
    if "before" in cols:
        print("before, median (s): start-up + exit " + fmt(median([median([r.get("start+exit", r.get("phases", {})
              .get("start")) for r in per_model[n]["before"]]) for n in names]), 0) + ", the conversion itself "
              + fmt(median([median([r.get("seconds_convert") for r in per_model[n]["before"]]) for n in names]), 0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"versions": versions, "rows": [{k: v for k, v in r.items()} for r in rows]}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
