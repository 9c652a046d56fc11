"""Can TensorFlow 2.21, outside a TF1 session, reproduce a TF1 session's stateful draws (`Multinomial`, as contrib's
`SampleEmbeddingHelper` / `ScheduledEmbeddingTrainingHelper` sample, and `RandomUniform`, their `Bernoulli`)?

A control-flow-v1 while loop drawing from the same logits every step, graph seed 11 and op seed 5 (the op's
`seed=11, seed2=5` attributes, as TF 1.x writes them), run twice in one `tf.compat.v1.Session` and once in a fresh
one; against the same op (`tf.raw_ops.Multinomial` / `RandomUniform` with those attributes) in a `tf.while_loop`
under `tf.function` (two calls, and a second function), called eagerly, and under XLA.

    python benchmarks/check_tf1_draws.py     # one line per question, `True` / `False`; exit 0

What it shows on TF 2.21 (CPU, 2026-12-07): a fresh session's first run repeats; a traced function holding the same
op with the same attributes draws exactly the session's ids, run after run (its kernel keeps its stream as a
session's does; a new function starts again as a new session does); the same op called eagerly does not, nor under
XLA. So a layer could give TF1's own ids only on TensorFlow, traced, without XLA, with bitwise-equal logits and the
same kernel history on both sides; the runtime sampling layers draw by inverse CDF on `keras.random` uniforms
instead (every backend, XLA), and `convert`'s parity feeds them the graph's draws (docs/graph_convert.md).
"""

from __future__ import annotations

import numpy as np

STEPS = 5


def main() -> int:
    import tensorflow as tf

    v1 = tf.compat.v1
    logits = np.random.RandomState(0).normal(0, 1, (4, 11)).astype("float32")

    def loop(draw, dtype):
        def body(t, acc):
            return t + 1, acc.write(t, draw(tf.constant(logits)))
        _, acc = tf.while_loop(lambda t, a: t < STEPS, body, (tf.constant(0), tf.TensorArray(dtype, STEPS)))
        return acc.stack()

    sessions = {}
    cf_v2 = v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()   # TF1's while loop: Enter / Exit frames
    try:
        for kind in ("Multinomial", "RandomUniform"):
            g = tf.Graph()
            with g.as_default():
                v1.set_random_seed(11)
                if kind == "Multinomial":
                    out = loop(lambda x: tf.random.categorical(x, 1, seed=5), tf.int64)
                else:
                    out = loop(lambda x: tf.random.uniform([tf.shape(x)[0]], seed=5), tf.float32)
                op = next(o for o in g.get_operations() if o.type == kind)
                seeds = (op.get_attr("seed"), op.get_attr("seed2"))
                with v1.Session(graph=g) as s:
                    first, second = s.run(out), s.run(out)
                with v1.Session(graph=g) as s:
                    fresh = s.run(out)
            sessions[kind] = (seeds, first, second, fresh)
    finally:
        if cf_v2:
            v1.enable_control_flow_v2()

    for kind, (seeds, first, second, fresh) in sessions.items():
        if kind == "Multinomial":
            def raw(x, s=seeds):
                return tf.raw_ops.Multinomial(logits=x, num_samples=1, seed=s[0], seed2=s[1])
            dtype = tf.int64
        else:
            def raw(x, s=seeds):
                return tf.raw_ops.RandomUniform(shape=[tf.shape(x)[0]], dtype=tf.float32, seed=s[0], seed2=s[1])
            dtype = tf.float32
        print(f"{kind} seed={seeds[0]} seed2={seeds[1]}:")
        print(f"  TF1 session: a fresh session's first run repeats: {np.array_equal(first, fresh)}; "
              f"the second run draws anew: {not np.array_equal(first, second)}")
        f = tf.function(lambda r=raw, d=dtype: loop(r, d))
        a, b = f().numpy(), f().numpy()
        print(f"  tf.function, same op and attributes: call 1 == run 1: {np.array_equal(a, first)}, "
              f"call 2 == run 2: {np.array_equal(b, second)}; a new function's call 1 == run 1: "
              f"{np.array_equal(tf.function(lambda r=raw, d=dtype: loop(r, d))().numpy(), first)}")
        eager = np.stack([raw(tf.constant(logits)).numpy() for _ in range(STEPS)])
        print(f"  eager, same op and attributes: == run 1: {np.array_equal(eager, first)}")
        try:
            xla = tf.function(lambda r=raw, d=dtype: loop(r, d), jit_compile=True)().numpy()
            print(f"  XLA (jit_compile=True): == run 1: {np.array_equal(xla, first)}")
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            print(f"  XLA (jit_compile=True): does not compile ({type(e).__name__})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
