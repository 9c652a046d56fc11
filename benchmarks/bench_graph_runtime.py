"""How much of a converted model's gap to the TF1 graph is TensorFlow's function runtime, not the model (issue 22)?

    .venv/bin/python benchmarks/bench_graph_runtime.py --corpus DIR --name NAME [--name ...] [--batch 1]
        [--runs 40] [--warmup 5] [--json OUT.json]

Per corpus model (`benchmarks/corpus.py`'s folder), converted here with `migrate.graph.convert_graph` (its parity
check included), in ONE process, four sides interleaved run by run (order rotated), median of `--runs`:

- `tf1`: the graph restored in a `tf.compat.v1.Session` with TensorFlow's default options (Grappler on), as
  `bench_converted_speed.py` runs it;
- `frozen session`: the same graph with its variables frozen to constants (`convert_variables_to_constants`),
  in a Session: what freezing alone changes;
- `frozen tf.function`: that frozen graph run by TF2's function runtime (`tf.compat.v1.wrap_function` pruned to
  the feeds and fetches, called through a `tf.function` with the NumPy feeds): the TF1 graph itself, op for op,
  called the way a TF2 program calls a model;
- `compiled`: the converted `model.keras` under `tf.function` (the `compiled` column of
  `bench_converted_speed.py`);
- `eager`: the converted model called as `model(feeds)` (a `tfm.Model` goes straight to the concrete function of
  its traced forward pass: no `tf.function` dispatch per call).

`frozen tf.function` against `tf1` is what the runtime costs any graph; `compiled` against `frozen tf.function`
is what the converted model's own ops cost beside the TF1 graph's, under the same runtime (docs/performance.md).
Each cell: the median in ms and the speed against `tf1`, on the wall clock and in CPU time (`time.process_time`:
every thread of the process; on a machine shared beyond its cores the wall clock of a few-ms call measures the
scheduler more than the graph, the CPU time what the graph costs, and it compares across runs); `max|d|` the
largest difference from `tf1`'s outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_converted_speed as bcs  # noqa: E402 - benchmarks/ is on the path now
import bench_graph_convert as bgc  # noqa: E402

SIDES = ("tf1", "frozen session", "frozen tf.function", "compiled", "eager")


def feeds_of(entry: dict, batch: int | None) -> dict:
    arrays, scalars = bgc.make_feeds(bcs.scaled(entry, batch))
    feed = dict(arrays)
    feed.update({k: np.asarray(v, dtype=np.float32 if isinstance(v, float) else None) for k, v in scalars.items()})
    return feed


def sides_of(entry: dict, corpus: str, report: dict, model, batch: int | None) -> tuple[dict, list]:
    """name -> callable returning the outputs as NumPy, and the TF1 Session's outputs."""
    import tensorflow as tf  # noqa: PLC0415

    tf1 = bcs.Tf1Side(entry, corpus)
    feed = feeds_of(entry, batch)
    try:
        tf1.set_feed(feed)
        ref = tf1()
    except Exception:  # noqa: BLE001 - a graph that fixes its batch: its own
        feed = feeds_of(entry, None)
        tf1.set_feed(feed)
        ref = tf1()
    outs = [t.name for t in tf1.fetches]
    frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
        tf1.session, tf1.tf1.graph.as_graph_def(), sorted({o.split(":")[0] for o in outs}))
    names = [t.name for t in tf1.feed_dict]
    values = list(tf1.feed_dict.values())

    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(frozen, name=""), [])
    pruned = wrapped.prune([wrapped.graph.get_tensor_by_name(n) for n in names],
                           [wrapped.graph.get_tensor_by_name(o) for o in outs])
    # called through a tf.function of its own, with the NumPy feeds, as the `compiled` side calls the model: a pruned
    # function called directly has no structured signature, and its call first fails to bind the arguments, with
    # an error message that formats every input as text (`repr` of the tensors: 0.3 ms a call at batch 1), before
    # it falls back to the flat call; that cost was in this side's figures before (docs/performance.md)
    frozen_fn = tf.function(lambda *args: pruned(*args))
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(frozen, name="")
    session = tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(allow_soft_placement=True))
    frozen_feed = {graph.get_tensor_by_name(n): v for n, v in zip(names, values)}
    frozen_fetches = [graph.get_tensor_by_name(o) for o in outs]
    keras_feed = {i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"] if i["graph"] in feed}
    compiled = bcs.KerasSide(model, "compiled")
    compiled.set_feed(keras_feed)
    eager = bcs.KerasSide(model, "eager")
    eager.set_feed(keras_feed)
    return {
        "tf1": tf1,
        "frozen session": lambda: session.run(frozen_fetches, frozen_feed),
        "frozen tf.function": lambda: [o.numpy() for o in frozen_fn(*values)],
        "compiled": compiled,
        "eager": eager,
    }, ref


def bench(entry: dict, corpus: str, work: str, args) -> dict:
    res = {"name": entry["name"], "batch": args.batch}
    res["convert"], report, model = bcs.converted(entry, corpus, os.path.join(work, entry["name"]), in_process=True)
    if model is None:
        res["why"] = res["convert"]["why"]
        return res
    sides, ref = sides_of(entry, corpus, report, model, args.batch)
    diffs = {}
    for s in SIDES[1:]:
        try:
            diffs[s] = bcs.max_diff(ref, sides[s]())
        except Exception as e:  # noqa: BLE001 - a graph the freezing misses (pre-1.0 `Variable` ops): the row says so
            res.setdefault("errors", {})[s] = bgc.first_line(e)[:200]
            del sides[s]
    res["max_diff"] = max(diffs.values())
    res["sides"] = interleaved(sides, [s for s in SIDES if s in sides], args.runs, args.warmup)
    return res


def model_beside_tf1(entry: dict, corpus: str, work: str, batch: int | None) -> tuple[dict, object, object, dict]:
    """`entry` converted here (in process) and loaded, and the TF1 graph's Session side fed at `batch` (None: the
    manifest's) -> (the result row so far: name, convert, batch; the model; the `Tf1Side`; `prepare_batch`'s state).
    The state is None where the model cannot run beside the graph, and the row's `why` says why."""
    res = {"name": entry["name"]}
    res["convert"], report, model = bcs.converted(entry, corpus, os.path.join(work, entry["name"]), in_process=True)
    if model is None:
        res["why"] = res["convert"]["why"]
        return res, None, None, None
    tf1 = bcs.Tf1Side(entry, corpus)
    row, state = bcs.prepare_batch(entry, batch, tf1, report)
    res["batch"] = row["batch"]
    if state is None or state["keras_feed"] is None:
        res["why"] = "; ".join(f"{k}: {v}" for k, v in row["errors"].items()) or "no feed for the model"
        tf1.tf1.close()
        return res, model, None, None
    tf1.set_feed(state["feed"])
    return res, model, tf1, state


def interleaved(sides: dict, names: list[str], runs: int, warmup: int) -> dict:
    """Every side of `names` called in turn, `warmup + runs` times, the order rotated each time, the first `warmup`
    not counted -> side -> the median wall and CPU time of a call (`time.process_time`: every thread of the
    process) in ms, and the `tf1` side's median over the side's (`vs_tf1`, `cpu_vs_tf1`)."""
    wall = {s: [] for s in names}
    cpu = {s: [] for s in names}
    for r in range(warmup + runs):
        k = r % len(names)
        for s in names[k:] + names[:k]:
            c0, t0 = time.process_time(), time.perf_counter()
            sides[s]()
            if r >= warmup:
                wall[s].append(time.perf_counter() - t0)
                cpu[s].append(time.process_time() - c0)
    base, cpu_base = statistics.median(wall["tf1"]), statistics.median(cpu["tf1"])
    return {s: {"median_ms": statistics.median(wall[s]) * 1e3, "vs_tf1": base / statistics.median(wall[s]),
                "cpu_ms": statistics.median(cpu[s]) * 1e3, "cpu_vs_tf1": cpu_base / statistics.median(cpu[s])}
            for s in names}


def arguments(doc: str, argv, runs: int):
    """The command line these per-model benchmarks share (`--corpus`, `--name` ..., `--batch`, `--runs`, `--warmup`,
    `--json`)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="a folder written by benchmarks/corpus.py")
    ap.add_argument("--name", action="append", required=True, help="a corpus entry (repeatable)")
    ap.add_argument("--batch", type=int, default=None, help="the batch (default: the manifest's)")
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", help="write the results here")
    return ap.parse_args(argv)


def run_named(args, bench) -> list[dict] | None:
    """`bench(entry, corpus, work, args)` for each `--name`, in a temporary folder, a model's failure its row (`why`);
    None (said on stderr) when a name is not in the corpus."""
    entries = {e["name"]: e for e in bgc.load_manifest(args.corpus)}
    missing = [n for n in args.name if n not in entries]
    if missing:
        print(f"not in {args.corpus}/corpus_manifest.json: {', '.join(missing)}", file=sys.stderr)
        return None
    results = []
    with tempfile.TemporaryDirectory() as work:
        for n in args.name:
            try:
                results.append(bench(entries[n], args.corpus, work, args))
            except Exception as e:  # noqa: BLE001 - one model's failure is a row, the others go on
                results.append({"name": n, "why": f"{type(e).__name__}: {bgc.first_line(e)[:200]}"})
    return results


def print_table(results: list[dict], sides: tuple[str, ...], args) -> None:
    """Two rows a model, CPU time then wall time: each side's median per call and the TF1 Session's median over it,
    the largest difference from the TF1 outputs; `--json` written."""
    print(f"{'model':38s} {'batch':>5s} {'clock':5s} " + " ".join(f"{s:>22s}" for s in sides) + "   max|d|")
    for r in results:
        if "sides" not in r:
            print(f"{r['name']:38s} not run: {r.get('why')}")
            continue
        for clock, ms, vs in (("cpu", "cpu_ms", "cpu_vs_tf1"), ("wall", "median_ms", "vs_tf1")):
            cells = " ".join((f"{r['sides'][s][ms]:10.3f} ms {r['sides'][s][vs]:5.2f}x" if s in r["sides"] else "-")
                             .rjust(22) for s in sides)
            print(f"{r['name']:38s} {str(r['batch'] or '-'):>5s} {clock:5s} {cells}   {r['max_diff']:.1e}")
        for side, why in (r.get("errors") or {}).items():
            print(f"    {side}: {why}")
    print("ms = median per call; Nx = the TF1 Session's median / the side's (CPU: process CPU seconds per call)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def main(argv=None) -> int:
    args = arguments(__doc__, argv, runs=40)
    results = run_named(args, bench)
    if results is None:
        return 2
    print_table(results, SIDES, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
