"""Measure the float32 gap that parity tolerances must admit: TF1 cells vs Keras 3 layers vs float64.

    .venv/bin/python -m migrate.parity.measure_tolerances --configs 60

For random configurations (cell, units, input size, time steps, batch, forget bias, random NON-zero
biases, padded lengths) it runs the same recurrence three ways on the same weights:

- legacy: `tf.compat.v1.nn.dynamic_rnn` over `LSTMCell` / `BasicLSTMCell` / `GRUCell`, float32, graph mode;
- port: Keras 3 `LSTM` / `GRU(reset_after=False)` with the converted weights (rows split at the input
  size, gates i,j,f,o -> i,f,c,o, forget bias folded; GRU r,u -> z,r,h), float32, masked;
- reference: the TF1 equations in NumPy float64.

and a Dense projection to 15 logits (the date task's target vocabulary) on top of each, then prints the
greatest absolute / relative difference of the logits over valid positions for each pair. The numbers
in docs/parity.md and `migrate.parity.tolerances` come from this script.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.nn.rnn_cell under Keras 3

# TF1 LSTM gate column blocks (i, j, f, o) -> Keras order (i, f, c=j, o). Source: rnn_cell_impl.py
# (`i, j, f, o = array_ops.split(...)`) and keras/src/layers/rnn/lstm.py (`z0..z3` = i, f, c, o).
LSTM_TF1_TO_KERAS = (0, 2, 1, 3)
# TF1 GRUCell gates/kernel columns (r, u) + candidate -> Keras GRU (z=u, r, h). Source: rnn_cell_impl.py
# GRUCell.call and keras/src/layers/rnn/gru.py.
GRU_TF1_TO_KERAS = (1, 0)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference(cell: str, x: np.ndarray, lengths: np.ndarray, w: dict, units: int, forget_bias: float) -> np.ndarray:
    """The TF1 recurrence in float64; zeros at padded steps (dynamic_rnn)."""
    b, t_max, _ = x.shape
    h = np.zeros((b, units))
    c = np.zeros((b, units))
    out = np.zeros((b, t_max, units))
    for t in range(t_max):
        valid = (t < lengths)[:, None]
        xh = np.concatenate([x[:, t], h], axis=1)
        if cell == "gru":
            r, u = np.split(_sig(xh @ w["gates/kernel"] + w["gates/bias"]), 2, axis=1)
            cand = np.tanh(np.concatenate([x[:, t], r * h], axis=1) @ w["candidate/kernel"] + w["candidate/bias"])
            new_h = u * h + (1 - u) * cand
            new_c = c
        else:
            i, j, f, o = np.split(xh @ w["kernel"] + w["bias"], 4, axis=1)
            new_c = _sig(f + forget_bias) * c + _sig(i) * np.tanh(j)
            new_h = _sig(o) * np.tanh(new_c)
        h = np.where(valid, new_h, h)
        c = np.where(valid, new_c, c)
        out[:, t] = np.where(valid, new_h, 0.0)
    return out


def to_keras(cell: str, w: dict, input_size: int, units: int, forget_bias: float) -> list[np.ndarray]:
    """Converted weights for keras.layers.LSTM / GRU(reset_after=False), in `layer.set_weights` order."""
    if cell == "gru":
        gk, gb = w["gates/kernel"], w["gates/bias"]
        ck, cb = w["candidate/kernel"], w["candidate/bias"]
        blocks = np.split(gk, 2, axis=1)
        k = np.concatenate([blocks[i] for i in GRU_TF1_TO_KERAS] + [ck], axis=1)
        bb = np.split(gb, 2)
        bias = np.concatenate([bb[i] for i in GRU_TF1_TO_KERAS] + [cb])
        return [k[:input_size], k[input_size:], bias]
    k, bias = w["kernel"], w["bias"].copy()
    blocks = np.split(k, 4, axis=1)
    k = np.concatenate([blocks[i] for i in LSTM_TF1_TO_KERAS], axis=1)
    bb = np.split(bias, 4)
    bias = np.concatenate([bb[i] for i in LSTM_TF1_TO_KERAS])
    bias[units:2 * units] += forget_bias
    return [k[:input_size], k[input_size:], bias]


def run_config(rng: np.random.RandomState, cell: str, units: int, input_size: int, t_max: int, batch: int,
               forget_bias: float, vocab: int = 15) -> dict[str, float]:
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    scale = 1.0 / np.sqrt(input_size + units)
    if cell == "gru":
        w = {"gates/kernel": rng.uniform(-2, 2, (input_size + units, 2 * units)) * scale,
             "gates/bias": rng.uniform(-1, 1, 2 * units) + 1.0,
             "candidate/kernel": rng.uniform(-2, 2, (input_size + units, units)) * scale,
             "candidate/bias": rng.uniform(-1, 1, units)}
    else:
        w = {"kernel": rng.uniform(-2, 2, (input_size + units, 4 * units)) * scale,
             "bias": rng.uniform(-1, 1, 4 * units)}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    proj_k = rng.uniform(-1, 1, (units, vocab)).astype(np.float32)
    proj_b = rng.uniform(-1, 1, vocab).astype(np.float32)
    x = rng.uniform(-1, 1, (batch, t_max, input_size)).astype(np.float32)
    lengths = rng.randint(1, t_max + 1, batch).astype(np.int32)
    lengths[0] = t_max

    # legacy TF1, float32, graph mode
    g = tf.Graph()
    with g.as_default():
        cells = tf.compat.v1.nn.rnn_cell
        if cell == "lstm":
            c = cells.LSTMCell(units, forget_bias=forget_bias)
        elif cell == "basic_lstm":
            c = cells.BasicLSTMCell(units, forget_bias=forget_bias)
        else:
            c = cells.GRUCell(units)
        xp = tf.compat.v1.placeholder(tf.float32, [None, None, input_size])
        lp = tf.compat.v1.placeholder(tf.int32, [None])
        out, _ = tf.compat.v1.nn.dynamic_rnn(c, xp, sequence_length=lp, dtype=tf.float32)
        logits = tf.tensordot(out, proj_k, 1) + proj_b
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for v in tf.compat.v1.global_variables():
                key = v.op.name.split("/", 2)[-1]  # rnn/<cell>/kernel -> kernel, gates/kernel, ...
                v.load(w[key], sess)
            legacy = sess.run(logits, {xp: x, lp: lengths})

    # port, Keras 3, float32 (mask from the lengths; padded outputs zeroed as the port does)
    layer_cls = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
    kwargs = {"reset_after": False} if cell == "gru" else {}
    layer = layer_cls(units, return_sequences=True, **kwargs)
    mask = np.arange(t_max)[None, :] < lengths[:, None]
    layer.build((batch, t_max, input_size))
    layer.set_weights(to_keras(cell, w, input_size, units, forget_bias))
    seq = np.asarray(layer(x, mask=mask)) * mask[..., None]
    port = seq @ proj_k + proj_b

    # the same port with one known mistake each: how far outside tolerance does a bug land?
    mutated = {}
    right = to_keras(cell, w, input_size, units, forget_bias)
    if cell == "gru":
        bad = keras.layers.GRU(units, return_sequences=True, reset_after=True)
        bad.build((batch, t_max, input_size))
        bad.set_weights(right[:2] + [np.stack([right[2], np.zeros_like(right[2])])])
        mutated["bug_reset_after_abs"] = bad
    else:
        swap = [np.concatenate([np.split(v, 4, axis=-1)[i] for i in (0, 2, 1, 3)], axis=-1) for v in right]
        mutated["bug_no_reorder_abs"] = swap
        if forget_bias:
            nofold = [right[0], right[1], right[2].copy()]
            nofold[2][units:2 * units] -= forget_bias
            mutated["bug_no_fold_abs"] = nofold
    bug_gaps = {}
    for key, m in mutated.items():
        if isinstance(m, list):
            layer.set_weights(m)
            m = layer
        bad_logits = (np.asarray(m(x, mask=mask)) * mask[..., None]) @ proj_k + proj_b
        bug_gaps[key] = float(np.abs(bad_logits - legacy)[np.broadcast_to(mask[..., None], legacy.shape)].max())

    ref = reference(cell, x.astype(np.float64), lengths, {k: v.astype(np.float64) for k, v in w.items()},
                    units, forget_bias) @ proj_k.astype(np.float64) + proj_b.astype(np.float64)
    valid = mask[..., None]

    def gap(a, b):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))[np.broadcast_to(valid, a.shape)]
        r = d / np.maximum(np.abs(b.astype(np.float64)), 1e-30)[np.broadcast_to(valid, a.shape)]
        return float(d.max()), float(r.max())

    out = {}
    for name, (a, b) in {"legacy_vs_port": (port, legacy), "legacy_vs_f64": (legacy, ref),
                         "port_vs_f64": (port, ref)}.items():
        out[name + "_abs"], out[name + "_rel"] = gap(a, b)
    out["max_abs_logit"] = float(np.abs(ref).max())
    out.update(bug_gaps)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from migrate.quiet import quiet_tensorflow, silence_after_import  # noqa: PLC0415

    quiet_tensorflow()
    silence_after_import()
    warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed")
    rng = np.random.RandomState(args.seed)
    rows = []
    start = time.time()
    for _ in range(args.configs):
        cfg = {"cell": ["lstm", "basic_lstm", "gru"][rng.randint(3)], "units": int(rng.choice([8, 16, 32, 64])),
               "input_size": int(rng.choice([8, 16, 32])), "t_max": int(rng.randint(2, 41)),
               "batch": int(rng.randint(1, 9)), "forget_bias": float(rng.choice([1.0, 0.8, 0.0]))}
        rows.append((cfg, run_config(rng, **cfg)))
    keys = [k for k in rows[0][1] if k.endswith(("_abs", "_rel")) and not k.startswith("bug_")]
    print(f"{len(rows)} configs in {time.time() - start:.0f}s; greatest over configs (valid positions):")
    for k in keys:
        vals = np.array([r[k] for _, r in rows])
        worst = rows[int(vals.argmax())][0]
        print(f"  {k:22s} max {vals.max():.2e}  median {np.median(vals):.2e}  worst config {worst}")
    print("smallest logit error a known mistake causes (must stay far above atol):")
    for k in ("bug_no_fold_abs", "bug_no_reorder_abs", "bug_reset_after_abs"):
        vals = np.array([r[k] for _, r in rows if k in r])
        if vals.size:
            print(f"  {k:22s} min {vals.min():.2e}  median {np.median(vals):.2e}  over {vals.size} configs")
    print(f"  |logits| up to {max(r['max_abs_logit'] for _, r in rows):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
