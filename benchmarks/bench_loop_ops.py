"""What runs per call on each side, op type by op type: the TF1 graph in a Session against the converted model
under a user's `tf.function` (issue 22 point 3: the loop models' compiled gap, docs/performance.md).

    .venv/bin/python benchmarks/bench_loop_ops.py --corpus /tmp/corpus_d --name NAME [--batch 64] [--runs 5]
        [--out DIR] [--top 25] [--json OUT.json]

For one corpus model, in one process: the checkpoint converted (`convert_graph`, into `--out`, reused when
`model.keras` is there), then both sides called with the same feeds (`bench_converted_speed.py`'s):

- `tf1`: `Session.run` (TensorFlow's default session options, Grappler on);
- `converted`: `tf.function(lambda x: model(x, training=False))`.

Two tables. (1) Kernel executions per call and their self time per call, per op type, from TensorFlow's profiler
(`tf.profiler.experimental`, `framework_op_stats` of its trace) over `--runs` calls of each side: loop iterations
count once each. The profiler does not record the ops the executor runs inline (the control flow: `Enter`,
`Merge`, `Switch`, `NextIteration`; many cheap element-wise ops at small sizes), and it slows every op: read the
figures against each other, per op type, not as the call's time (`bench_converted_speed.py` times calls). (2) The
nodes per op type of the graphs each side runs after Grappler (the Session's partition graphs, the function's
optimised graphs from `context.enable_run_metadata()`): a loop body's nodes run once per step, and the control-flow
nodes say how many loop variables each side's loops carry (one `Merge`, `Switch`, `NextIteration`, `Exit` per
loop variable; a TF2 loop makes every tensor it reads from outside a loop variable, TF1's a constant `Enter`).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

def profiled(call, runs: int, folder: str) -> dict:
    """{op type: [executions, self microseconds]} summed over `runs` calls of `call` under TensorFlow's profiler
    (`framework_op_stats` of its trace). The executor does not trace the inline control-flow ops (`Switch`, `Merge`,
    `Enter`, `NextIteration`, ...): `graph_ops` counts those."""
    import glob  # noqa: PLC0415

    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin  # noqa: PLC0415

    tf.profiler.experimental.start(folder, options=tf.profiler.experimental.ProfilerOptions(host_tracer_level=3,
                                                                                          python_tracer_level=0))
    try:
        for _ in range(runs):
            call()
    finally:
        tf.profiler.experimental.stop()
    paths = sorted(glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    data, ok = plugin.xspace_to_tools_data(paths[-1:], "framework_op_stats")
    if not ok:
        raise RuntimeError(data.decode(errors="replace")[:200])
    sheet = json.loads(data)[0]
    cols = [c["id"] for c in sheet["cols"]]
    out: dict = {}
    for r in sheet["rows"]:
        v = {c: (x or {}).get("v") for c, x in zip(cols, r["c"])}
        if v["type"] == "IDLE":
            continue
        c = out.setdefault(v["type"], [0, 0.0])
        c[0] += int(v["occurrences"] or 0)
        c[1] += float(v["total_self_time"] or 0.0)
    return out


def graph_ops(graphs) -> dict:
    """{op type: nodes} over optimised `GraphDef`s (a Session's partition graphs, a function's): the ops of the
    graph each side runs, after Grappler, control flow included (`Enter` ... per loop variable)."""
    out: dict = collections.Counter()
    for g in graphs:
        for n in g.node:
            out[n.op] += 1
        for f in g.library.function:
            for n in f.node_def:
                out[n.op] += 1
    return dict(out)


def tf1_graphs(tf1) -> list:
    import tensorflow as tf  # noqa: PLC0415

    md = tf.compat.v1.RunMetadata()
    tf1.session.run(tf1.fetches, tf1.feed_dict, options=tf.compat.v1.RunOptions(output_partition_graphs=True),
                    run_metadata=md)
    return list(md.partition_graphs)


def function_graphs(model, feed) -> tuple:
    """A fresh `tf.function` around the model, traced and run once under `context.enable_run_metadata()`: (the
    function, its optimised partition graphs)."""
    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.python.eager import context  # noqa: PLC0415

    fn = tf.function(lambda x: model(x, training=False))
    context.enable_run_metadata()
    try:
        fn(feed)
        md = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    return fn, [p for fg in md.function_graphs for p in fg.partition_graphs]


def table(a: dict, b: dict, runs: int, top: int, what: str) -> list[str]:
    """Markdown rows per op type, the largest first: `a` and `b` {type: [count, us]} (or {type: count})."""
    def get(d, k):
        v = d.get(k, 0)
        return (v[0] / runs, v[1] / runs) if isinstance(v, list) else (v, 0.0)
    keys = sorted(set(a) | set(b), key=lambda k: (-max(get(a, k)[1], get(b, k)[1]), -max(get(a, k)[0], get(b, k)[0])))
    lines = [f"| op type | TF1: {what} | us | converted: {what} | us | us: converted - TF1 |", "|---|---|---|---|---|---|"]
    for k in keys[:top]:
        (ca, ua), (cb, ub) = get(a, k), get(b, k)
        lines.append(f"| {k} | {ca:.0f} | {ua:.0f} | {cb:.0f} | {ub:.0f} | {ub - ua:+.0f} |")
    sa = [sum(get(a, k)[i] for k in a) for i in (0, 1)]
    sb = [sum(get(b, k)[i] for k in b) for i in (0, 1)]
    lines.append(f"| all | {sa[0]:.0f} | {sa[1]:.0f} | {sb[0]:.0f} | {sb[1]:.0f} | {sb[1] - sa[1]:+.0f} |")
    return lines


def model_and_feed(corpus: str, name: str, out: str | None, batch: int | None, prefix: str):
    """The corpus entry `name` converted into `out` (a new temporary folder when None; a folder already holding a
    model.keras is reused), its model loaded, its TF1 side and the feeds at `batch` (the manifest's when None) -> a
    namespace (entry, model, tf1: the TF1 side, feed: the Keras feed, ref: the TF1 outputs on it, batch, report), or
    the exit code after saying why on stderr."""
    import tempfile  # noqa: PLC0415
    import types  # noqa: PLC0415

    import bench_converted_speed as bcs  # noqa: PLC0415
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    with open(os.path.join(corpus, "corpus_manifest.json")) as f:
        manifest = json.load(f)
    entries = manifest["entries"] if isinstance(manifest, dict) else manifest
    entry = next((e for e in entries if e["name"] == name), None)
    if entry is None:
        print(f"no entry {name!r} in {corpus}/corpus_manifest.json", file=sys.stderr)
        return 2
    out = out or tempfile.mkdtemp(prefix=prefix)
    if not os.path.isfile(os.path.join(out, "model.keras")):
        conv = bcs.convert(entry, corpus, out, in_process=True)
        if not conv["ok"]:
            print(f"{name}: convert failed: {conv['why']}", file=sys.stderr)
            return 1
    with open(os.path.join(out, "convert_report.json")) as f:
        report = json.load(f)
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    tf1 = bcs.Tf1Side(entry, corpus)
    row, state = bcs.prepare_batch(entry, batch, tf1, report)
    if state is None or state["keras_feed"] is None:
        print(f"{name}: no feed: {row['errors']}", file=sys.stderr)
        return 1
    return types.SimpleNamespace(entry=entry, model=model, tf1=tf1, feed=state["keras_feed"], ref=state["ref"],
                                 batch=row["batch"], report=report)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--batch", type=int, default=None, help="the feeds' batch (default: the manifest's)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--out", default=None, help="where the converted model is written (default: a temporary folder)")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import tempfile  # noqa: PLC0415

    import bench_converted_speed as bcs  # noqa: PLC0415
    import keras  # noqa: PLC0415

    m = model_and_feed(args.corpus, args.name, args.out, args.batch, "loop_ops_")
    if isinstance(m, int):
        return m
    model, tf1, feed = m.model, m.tf1, m.feed
    fn, fgraphs = function_graphs(model, feed)
    for _ in range(args.warmup):
        tf1()
        fn(feed)
    got = fn(feed)
    got = got if isinstance(got, list | tuple) else [got]
    diff = bcs.max_diff(m.ref, [keras.ops.convert_to_numpy(o) for o in got])
    work = tempfile.mkdtemp(prefix="loop_ops_trace_")
    a = profiled(tf1, args.runs, os.path.join(work, "tf1"))
    b = profiled(lambda: fn(feed), args.runs, os.path.join(work, "converted"))
    ga, gb = graph_ops(tf1_graphs(tf1)), graph_ops(fgraphs)
    print(f"{args.name} batch {m.batch} (max|d| {diff:.1e}): kernel executions and their self time per call "
          f"(TensorFlow's profiler, {args.runs} calls each)")
    print("\n".join(table(a, b, args.runs, args.top, "runs per call")))
    print("\nnodes of the optimised graphs (after Grappler; loop bodies run theirs once per step)")
    print("\n".join(table(ga, gb, 1, args.top, "nodes")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"name": args.name, "batch": m.batch, "runs": args.runs, "tf1": a, "converted": b,
                       "tf1_nodes": ga, "converted_nodes": gb}, f)
    tf1.tf1.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
