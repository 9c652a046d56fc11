"""A converted loop model part by part, and the runtime's loops before / after a change, in ONE process (issue 22
point 3; docs/performance.md, "The loop models op by op").

    .venv/bin/python benchmarks/bench_loop_parts.py --corpus /tmp/corpus_d --name NAME [--batch 64] [--runs 40]
        [--part LABEL=TF1_TENSOR,...=LAYER[:K],...] [--base TREE] [--tensors] [--out DIR]

For one corpus model (converted with `convert_graph` into `--out`, reused when `model.keras` is there), each
`--part` (default: the whole model, `all`) is timed as two or more sides, interleaved call by call (order rotated),
CPU time per call (`time.process_time`: every thread of the process) and wall time, median of `--runs` after 3:

- `tf1`: `Session.run` of the part's TF1 tensors (TensorFlow's default options, Grappler on; the Session prunes the
  graph to them);
- `after`: the converted model cut at the part's layers (`LAYER` = the layer's output, `LAYER:K` its K-th output,
  `LAYER@` its input), under `tf.function` with the NumPy feeds (the `compiled` column);
- `before` (with `--base TREE`, a checkout of an older commit, e.g. `git worktree add /tmp/base COMMIT`): the same,
  traced with that tree's loop functions (`recurrent.stack_loop` / `_loop`, `decoder.scan_steps`, the decoders'
  `_decode` / `_greedy`) patched in while it traces: the change's before and after in one process;
- `before_model` (with `--before-model DIR`: a folder holding the same checkpoint converted by an older tree, e.g.
  its `--out`): that model.py's model, loaded and traced here with this tree's runtime: a CONVERTER change's before
  and after in one process (what the converter writes, the runtime layers the same);
- `after_tensors`, `after_model` (with `--tensors`): the `tf.function` called with tensors (no NumPy conversion), and
  a `tfm.Model`'s own traced call on tensors (`model(x)`: no `tf.function` dispatch).

Set `TF_NUM_INTRAOP_THREADS=1` to take the intra-op pool's spinning out of the CPU figures (it is most of their
noise on a loaded machine). Each side's ratio is the `tf1` side's CPU time over its own.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# (module, attribute) of the runtime's loop code that `--base` swaps in while tracing `before`
LOOP_CODE = [("recurrent", None, "stack_loop"), ("recurrent", None, "_loop"), ("legacy_seq2seq", None, "scan_steps"),
             ("attention", None, "scan_steps"), ("decoder", "GreedyDecoder", "_decode"),
             ("attention", "AttentionDecoder", "_decode"), ("attention", "GreedyAttentionDecoder", "_greedy")]
BASE_SOURCES = {"recurrent": "recurrent", "legacy_seq2seq": "decoder", "attention": "attention", "decoder": "decoder"}


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def base_patches(tree: str) -> list:
    """[(object, attribute, the base tree's value)] for `LOOP_CODE`: the older tree's modules loaded beside ours."""
    import importlib  # noqa: PLC0415

    mods, classes = {}, {}   # the base tree's modules; its classes, before ours replace them there
    out = []
    for mod, cls, attr in LOOP_CODE:
        src = BASE_SOURCES[mod] if cls is None else mod
        if src not in mods:
            mods[src] = _load(os.path.join(tree, "tf_migrate_runtime", "layers", f"{src}.py"), f"_base_{src}")
            same = importlib.import_module(f"tf_migrate_runtime.layers.{src}")
            for name, value in list(vars(mods[src]).items()):   # our classes (`isinstance` checks across modules)
                if isinstance(value, type) and isinstance(getattr(same, name, None), type):
                    classes[(src, name)] = value
                    setattr(mods[src], name, getattr(same, name))
        ours = importlib.import_module(f"tf_migrate_runtime.layers.{mod}")
        if cls is None:
            out.append((ours, attr, getattr(mods[src], attr)))
        else:
            out.append((getattr(ours, cls), attr, vars(classes[(src, cls)])[attr]))
    return out


def cut(model, spec: str):
    """The `tfm.Model` from `model`'s inputs to the outputs `spec` names (`LAYER`, `LAYER:K`, `LAYER@`)."""
    from tf_migrate_runtime.layers import Model  # noqa: PLC0415

    outs = []
    for k in spec.split(","):
        name, _, idx = k.partition(":")
        layer = model.get_layer(name.rstrip("@"))
        o = layer.input if name.endswith("@") else layer.output
        outs.append(o[int(idx)] if idx else o)
    return Model(inputs=model.inputs, outputs=outs)


def traced(sub, feed, patches=()):
    """A `tf.function` around `sub`, traced once on `feed` with `patches` applied (then undone)."""
    import tensorflow as tf  # noqa: PLC0415

    fn = tf.function(lambda x: sub(x, training=False))
    saved = [(obj, attr, obj.__dict__.get(attr) if isinstance(obj, type) else getattr(obj, attr))
             for obj, attr, _ in patches]
    try:
        for obj, attr, value in patches:
            setattr(obj, attr, value)
        fn(feed)
    finally:
        for obj, attr, value in saved:
            if value is None and isinstance(obj, type):
                delattr(obj, attr)
            else:
                setattr(obj, attr, value)
    return fn


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--part", action="append", default=[], help="LABEL=TF1_TENSOR,...=LAYER[:K],... (repeatable)")
    p.add_argument("--base", default=None, help="a checkout of an older commit: its loop code is the `before` side")
    p.add_argument("--before-model", default=None,
                   help="a folder with model.keras converted by an older tree: timed beside this tree's conversion")
    p.add_argument("--tensors", action="store_true", help="add the sides called with tensors")
    p.add_argument("--out", default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import keras  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from bench_loop_ops import model_and_feed  # noqa: PLC0415

    m = model_and_feed(args.corpus, args.name, args.out, args.batch, "loop_parts_")
    if isinstance(m, int):
        return m
    model, tf1, feed = m.model, m.tf1, m.feed
    patches = base_patches(args.base) if args.base else None
    old_model = keras.saving.load_model(os.path.join(args.before_model, "model.keras")) if args.before_model else None

    sides = {}
    for spec in args.part or ["all=*=*"]:
        label, t1_names, layers = spec.split("=")
        if t1_names == "*":
            fetches, sub = tf1.fetches, model
        else:
            fetches = [tf1.tf1.graph.get_tensor_by_name(n) for n in t1_names.split(",")]
            sub = cut(model, layers)
        sides[f"{label}/tf1"] = lambda f=fetches: tf1.session.run(f, tf1.feed_dict)
        if patches:
            before = traced(sub, feed, patches)
            sides[f"{label}/before"] = lambda fn=before: fn(feed)
        if old_model is not None:
            before_model = traced(old_model if t1_names == "*" else cut(old_model, layers), feed)
            sides[f"{label}/before_model"] = lambda fn=before_model: fn(feed)
        after = traced(sub, feed)
        sides[f"{label}/after"] = lambda fn=after: fn(feed)
        if args.tensors:
            tfeed = {k: tf.constant(v) for k, v in feed.items()}
            after(tfeed)
            sides[f"{label}/after_tensors"] = lambda fn=after, x=tfeed: fn(x)
            sides[f"{label}/after_model"] = lambda m=sub, x=tfeed: m(x, training=False)
    for call in sides.values():
        for _ in range(3):
            call()
    keys = list(sides)
    cpu = {k: [] for k in keys}
    wall = {k: [] for k in keys}
    for r in range(args.runs):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            t, w = time.process_time(), time.perf_counter()
            sides[k]()
            cpu[k].append(time.process_time() - t)
            wall[k].append(time.perf_counter() - w)
    print(f"{args.name} batch {m.batch}: CPU and wall time per call, median of {args.runs}, interleaved")
    res = {}
    for k in keys:
        ref = float(np.median(cpu[k.split("/")[0] + "/tf1"]))
        c, w = float(np.median(cpu[k])), float(np.median(wall[k]))
        res[k] = {"cpu_ms": c * 1e3, "wall_ms": w * 1e3, "cpu_x": ref / c}
        print(f"{k:32s} cpu {c * 1e3:8.2f} ms  {ref / c:5.2f}x   wall {w * 1e3:8.2f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"name": args.name, "batch": m.batch, "runs": args.runs, "sides": res}, f, indent=1)
    tf1.tf1.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
