"""How fast is a greedy `tf.nn.raw_rnn` decoder converted as `tfm.RawRNNGreedyDecoder` (migrate/graph/constructs/
raw_rnn.py), beside the TF1 graph and beside the generic tier's `tfm.WhileLoop` translation of the same loop?

    .venv/bin/python benchmarks/bench_raw_rnn.py [--runs N] [--warmup N] [--batches 1,64] [--steps N]

The graph is tests/raw_rnn_builders.py's `greedy` (an LSTM encoder, a greedy raw_rnn decoder: LSTMCell(5,
forget_bias 0.7), feedback `embedding_lookup(argmax(output @ W + b))`, stopped at EOS or `time >= max_len`), with
random weights; `--steps` is its `max_len` (default 20; EOS never fires on these weights, so every call runs that
many steps). It is converted twice in this process: recognised (`RawRNNGreedyDecoder`) and with
`recognise_rnns=False` (`tfm.WhileLoop`, what every raw_rnn became before). Sides, interleaved run by run (order
rotated each run), median of `--runs` after `--warmup`: `tf1` (the graph in a `tf.compat.v1.Session`), then per
conversion `eager` (`model(inputs)`), `compiled` (`tf.function(model)`) and `xla` (`jit_compile=True`). Each cell: ms per call and the speed
against `tf1` (`2.0x` = twice as fast); the outputs of every side are compared with `tf1`'s once (`max|d|`).
No corpus model uses raw_rnn (none of the 31 .meta files holds raw_rnn's `rnn_output_0` TensorArray), so this is
a built graph, not a real one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args(argv)

    import keras  # noqa: PLC0415
    import raw_rnn_builders as rb  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import tf1_style  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    root = tempfile.mkdtemp(prefix="bench_raw_rnn_")
    prefix = rb.build(rb.greedy, root, "greedy", seed=3, max_len=args.steps)
    fetch = ["outputs:0", "final_h:0", "final_c:0"]
    models = {}
    for label, recognise in (("recognised", True), ("generic", False)):
        t0 = time.perf_counter()
        convert_graph(prefix, os.path.join(root, label), outputs=fetch, recognise_rnns=recognise, log=lambda m: None)
        models[label] = keras.saving.load_model(os.path.join(root, label, "model.keras"))
        print(f"converted {label} in {time.perf_counter() - t0:.1f} s")
    v1 = tf.compat.v1
    with tf1_style():
        graph = tf.Graph()
        with graph.as_default():
            sess = v1.Session()
            v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
    rng = np.random.RandomState(0)
    print(f"greedy raw_rnn decoder, {args.steps} steps; median of {args.runs} runs after {args.warmup}; "
          f"ms per call (speed against tf1)")
    for batch in [int(b) for b in args.batches.split(",")]:
        src = rng.randint(0, 11, (batch, 5)).astype("int32")
        sides = {"tf1": lambda x=src: sess.run(fetch, {"src:0": x})}
        for label, model in models.items():
            inputs, fn, xla = {"src": src}, tf.function(model), tf.function(model, jit_compile=True)
            sides[f"{label} eager"] = lambda m=model, x=inputs: [np.asarray(o) for o in m(x)]
            sides[f"{label} compiled"] = lambda g=fn, x=inputs: [np.asarray(o) for o in g(x)]
            sides[f"{label} xla"] = lambda g=xla, x=inputs: [np.asarray(o) for o in g(x)]
        ref = sides["tf1"]()
        diffs, failed = {}, []
        for name, run in list(sides.items()):
            try:
                out = run()
            except Exception as e:  # noqa: BLE001 - the generic loop's growing TensorArray does not compile in XLA
                failed.append(f"{name}: {type(e).__name__}")
                del sides[name]
                continue
            same = len(out) == len(ref) and all(o.shape == r.shape for o, r in zip(out, ref))
            diffs[name] = max(float(np.abs(o - r).max()) for o, r in zip(out, ref)) if same else float("nan")
        for _ in range(args.warmup):
            for run in sides.values():
                run()
        times = {name: [] for name in sides}
        names = list(sides)
        for k in range(args.runs):
            for name in names[k % len(names):] + names[:k % len(names)]:
                t0 = time.perf_counter()
                sides[name]()
                times[name].append(time.perf_counter() - t0)
        base = statistics.median(times["tf1"])
        cells = [f"{name} {1e3 * statistics.median(ts):.2f} ms ({base / statistics.median(ts):.2f}x, "
                 f"max|d| {diffs[name]:.1e})" for name, ts in times.items()]
        print(f"batch {batch}: " + "; ".join(cells) + "".join(f"; {f} (not timed)" for f in failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
