"""What the runtime's recurrent steps give under XLA (`jit_compile=True`) against the forms they replaced (issue 22
point 3, the XLA column; docs/performance.md, "XLA").

    .venv/bin/python benchmarks/bench_xla_forms.py --corpus DIR --name NAME [--name ...] [--batch 1]
        [--runs 40] [--warmup 5] [--json OUT.json]

Per corpus model (`benchmarks/corpus.py`'s folder), converted here with `migrate.graph.convert_graph`, in ONE
process, the sides interleaved call by call (order rotated), the median CPU time (`time.process_time`: every thread
of the process) and wall time of `--runs` calls:

- `tf1`: the graph in a `tf.compat.v1.Session`, TensorFlow's default options (`bench_converted_speed.py`'s side);
- `xla`: `tf.function(lambda x: model(x, training=False), jit_compile=True)` on the NumPy feeds, as now:
  `tfm.LSTM` / `GRU` / `SimpleRNN` and the decoders' cells in TF1's fused form where the product is at most
  `decoder.XLA_FUSED_MAX_WIDTH` wide (an LSTM's gates activated as one array), stacks of those as one loop;
- `xla keras loops`: the same, traced with `XLA_FUSED_MAX_WIDTH = 0`: every recurrent layer Keras' own loop (one
  loop per layer) and every decoder cell the plain sum `x @ kernel + h @ recurrent + bias`, as before session 12;
- `xla wide fused`: traced with no width limit: every layer and cell in the fused form, however wide (what the
  limit avoids: a product of 256 or more XLA runs at about half the speed of Keras' two);
- `xla again`: `xla` once more, traced last (the noise of the comparison: the same function, compiled later).

The trace of each side is taken once, with its setting; the calls after it run the compiled function. Every side's
outputs are checked against `tf1`'s (`max|d|`; a pointer network's `ArgMax` over equal alignments may pick another
of the tied positions: 1.0 there). Each cell: the median and the TF1 Session's median / the side's.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_converted_speed as bcs  # noqa: E402 - benchmarks/ is on the path now
import bench_graph_runtime as bgr  # noqa: E402 - the timing, command line and table it shares

# side -> the `decoder.XLA_FUSED_MAX_WIDTH` its trace runs with (None: as the runtime has it); traced in this order.
# `xla again` is `xla` traced last: the spread between the two is the comparison's own noise (on the shared 2-core
# machine the first of the timed XLA functions ran 0% - 18% slower than the same function compiled last, also after
# an untimed XLA compilation of the model first: not the order of compilation; cause not found)
SIDES = {"tf1": None, "xla": None, "xla keras loops": 0, "xla wide fused": 1 << 30, "xla again": None}


def traced_side(model, feed: dict, width: int | None):
    """`model` under `tf.function(jit_compile=True)`, traced and compiled now with `XLA_FUSED_MAX_WIDTH = width`
    (the runtime's own value restored after) -> a call returning the outputs as NumPy."""
    import tensorflow as tf  # noqa: PLC0415

    from tf_migrate_runtime.layers import decoder  # noqa: PLC0415

    fn = tf.function(lambda x: model(x, training=False), jit_compile=True)
    kept = decoder.XLA_FUSED_MAX_WIDTH
    if width is not None:
        decoder.XLA_FUSED_MAX_WIDTH = width
    try:
        fn(feed)
    finally:
        decoder.XLA_FUSED_MAX_WIDTH = kept
    return lambda: [o.numpy() for o in tf.nest.flatten(fn(feed))]


def bench(entry: dict, corpus: str, work: str, args) -> dict:
    res, model, tf1, state = bgr.model_beside_tf1(entry, corpus, work, args.batch)
    if state is None:
        return res
    sides = {"tf1": tf1}
    sides.update({s: traced_side(model, state["keras_feed"], w) for s, w in SIDES.items() if s != "tf1"})
    res["max_diff"] = max(bcs.max_diff(state["ref"], sides[s]()) for s in sides if s != "tf1")
    res["sides"] = bgr.interleaved(sides, list(SIDES), args.runs, args.warmup)
    tf1.tf1.close()
    return res


def main(argv=None) -> int:
    args = bgr.arguments(__doc__, argv, runs=40)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    results = bgr.run_named(args, bench)
    if results is None:
        return 2
    bgr.print_table(results, tuple(SIDES), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
