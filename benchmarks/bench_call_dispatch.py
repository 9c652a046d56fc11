"""Where a converted model's call spends its time beyond the graph: TensorFlow's dispatch of a `tf.function`, the
NumPy inputs, and what `tfm.Model` skips (issue 22 point 3; docs/performance.md, "Where a `tf.function` call's
time goes").

    .venv/bin/python benchmarks/bench_call_dispatch.py --corpus DIR --name NAME [--name ...] [--batch 1]
        [--runs 60] [--warmup 5] [--json OUT.json]

Per corpus model (`benchmarks/corpus.py`'s folder), converted here with `migrate.graph.convert_graph`, in ONE
process, the sides interleaved call by call (order rotated), the median of `--runs` calls of CPU time
(`time.process_time`: every thread of the process; it moves little with a shared machine's load) and of wall time:

- `tf1`: the graph restored in a `tf.compat.v1.Session` with TensorFlow's default options, `session.run` on the
  NumPy feeds (`bench_converted_speed.py`'s `tf1` side);
- `tf.function numpy`: `tf.function(lambda x: model(x, training=False))` on the NumPy feeds (the `compiled` side);
- `tf.function tensors`: the same `tf.function` on tensors made once (no conversion per call);
- `concrete`: the concrete function it traced, called with its structured signature on those tensors;
- `call_flat`: the same concrete function's flat call (`_call_flat`): the graph and TensorFlow's C++ call of it,
  with the least Python around them;
- `eager before`: `model(x)` as a `tfm.Model` ran it before session 10 (NumPy through `tf.convert_to_tensor`, then
  the model's `tf.function`), rebuilt here on the same model;
- `eager`: `model(x)` on the NumPy feeds (a `tfm.Model`: the concrete function of its signature, directly);
- `predict_on_batch`: `model.predict_on_batch(feeds)`.

Every side's outputs are checked against `tf1`'s first (`max|d|`). Each cell: the median and the TF1 Session's
median / the side's.
"""

from __future__ import annotations

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_converted_speed as bcs  # noqa: E402 - benchmarks/ is on the path now
import bench_graph_runtime as bgr  # noqa: E402 - the timing, command line and table it shares

SIDES = ("tf1", "tf.function numpy", "tf.function tensors", "concrete", "call_flat", "eager before", "eager",
         "predict_on_batch")


def _numpy(out) -> list:
    import tensorflow as tf  # noqa: PLC0415

    return [np.asarray(o) for o in tf.nest.flatten(out)]


def sides_of(model, tf1, feed: dict) -> dict:
    """name -> a call returning the outputs (flat, as NumPy or tensors)."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    tensors = {k: tf.constant(v) for k, v in feed.items()}
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(tensors)
    flat = tf.nest.flatten(tensors)
    captured = list(concrete.captured_inputs)
    traced = model._traced_holder().fn if hasattr(model, "_traced_holder") else None  # noqa: SLF001

    def eager_before():
        inputs = keras.tree.map_structure(lambda x: tf.convert_to_tensor(x) if isinstance(x, np.ndarray) else x,
                                          feed)
        return [o.numpy() for o in tf.nest.flatten(traced(inputs, False, None))]

    out = {
        "tf1": tf1,
        "tf.function numpy": lambda: [o.numpy() for o in tf.nest.flatten(fn(feed))],
        "tf.function tensors": lambda: [o.numpy() for o in tf.nest.flatten(fn(tensors))],
        "concrete": lambda: [o.numpy() for o in tf.nest.flatten(concrete(tensors))],
        "call_flat": lambda: [o.numpy() for o in tf.nest.flatten(concrete._call_flat(flat, captured))],  # noqa: SLF001
        "eager": lambda: [o.numpy() for o in tf.nest.flatten(model(feed, training=False))],
        "predict_on_batch": lambda: tf.nest.flatten(model.predict_on_batch(feed)),
    }
    if traced is not None:   # a tfm.Model (a model converted before tfm.Model has no traced call to rebuild)
        out["eager before"] = eager_before
    return out


def bench(entry: dict, corpus: str, work: str, args) -> dict:
    res, model, tf1, state = bgr.model_beside_tf1(entry, corpus, work, args.batch)
    if state is None:
        return res
    sides = sides_of(model, tf1, state["keras_feed"])
    res["max_diff"] = max(bcs.max_diff(state["ref"], _numpy(sides[s]())) for s in sides if s != "tf1")
    res["sides"] = bgr.interleaved(sides, [s for s in SIDES if s in sides], args.runs, args.warmup)
    tf1.tf1.close()
    return res


def main(argv=None) -> int:
    args = bgr.arguments(__doc__, argv, runs=60)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    results = bgr.run_named(args, bench)
    if results is None:
        return 2
    bgr.print_table(results, SIDES, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
