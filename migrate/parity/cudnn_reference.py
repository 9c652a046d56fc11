"""An independent NumPy reference of the `CudnnRNN` / `CudnnRNNV2` / `CudnnRNNV3` ops, which have no CPU kernel in
TensorFlow: the TF1 side of a parity check runs the graph with each such op's outputs computed here and fed
(`TF1Graph.run`). Written from cuDNN's equations (the cuDNN user guide; `migrate.checkpoint.cudnn_params` for the
buffer layout), float64, one time step at a time, sharing nothing with the Keras layers it checks.

Semantics of the op (tensorflow/core/kernels/cudnn_rnn_ops.cc): input `[T, B, I]` (V3 with `time_major=False`:
`[B, T, I]`), `input_h` / `input_c` `[layers * directions, B, units]` in pseudo-layer order, output
`[T, B, directions * units]` (forward then backward units); V3's `sequence_lengths`: each row runs its first `n`
steps (the backward direction from step `n - 1` down), outputs past `n` are zeros and the final states are those at
the row's last valid step. Dropout (between layers, training only) is not applied: the reference is inference.
"""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.cudnn_params import CudnnSpec, num_layers_of, opaque_to_canonical

CUDNN_OPS = ("CudnnRNN", "CudnnRNNV2", "CudnnRNNV3")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _step(mode, ws, bs, x, h, c):
    n = len(ws) // 2
    if mode == "lstm":
        g = [x @ ws[k].T + h @ ws[n + k].T + bs[k] + bs[n + k] for k in range(4)]
        i, f, o = _sigmoid(g[0]), _sigmoid(g[1]), _sigmoid(g[3])
        c = f * c + i * np.tanh(g[2])
        return o * np.tanh(c), c
    if mode == "gru":
        r = _sigmoid(x @ ws[0].T + bs[0] + h @ ws[3].T + bs[3])
        z = _sigmoid(x @ ws[1].T + bs[1] + h @ ws[4].T + bs[4])
        hh = np.tanh(x @ ws[2].T + bs[2] + r * (h @ ws[5].T + bs[5]))
        return (1 - z) * hh + z * h, c
    pre = x @ ws[0].T + h @ ws[1].T + bs[0] + bs[1]
    return (np.tanh(pre) if mode == "rnn_tanh" else np.maximum(pre, 0.0)), c


def cudnn_rnn(x, h0, c0, buffer, mode: str, bidirectional: bool, lengths=None, time_major: bool = True):
    """(output, output_h, output_c) of the op, float32 (computed in float64)."""
    x = np.asarray(x, np.float64)
    if not time_major:
        x = x.transpose(1, 0, 2)
    t_len, batch, input_size = x.shape
    d = 2 if bidirectional else 1
    h0 = np.asarray(h0, np.float64)
    units = h0.shape[-1]
    spec = CudnnSpec(mode, num_layers_of(np.size(buffer), mode, units, input_size, d), units, input_size, d)
    params = opaque_to_canonical(np.asarray(buffer, np.float64), spec)
    c0 = np.asarray(c0, np.float64) if mode == "lstm" else np.zeros_like(h0)
    n = np.full(batch, t_len) if lengths is None else np.minimum(np.asarray(lengths).reshape(-1), t_len)
    hs, cs = np.zeros_like(h0), np.zeros_like(c0)
    seq = x
    for layer in range(spec.num_layers):
        outs = []
        for k in range(d):
            p = layer * d + k
            ws, bs = params[p]
            h, c = h0[p].copy(), c0[p].copy()
            out = np.zeros((t_len, batch, units))
            for b in range(batch):
                hb, cb = h[b:b + 1], c[b:b + 1]
                steps = range(n[b]) if k == 0 else range(n[b] - 1, -1, -1)
                for t in steps:
                    hb, cb = _step(mode, ws, bs, seq[t, b:b + 1], hb, cb)
                    out[t, b] = hb[0]
                h[b], c[b] = hb[0], cb[0]
            hs[p], cs[p] = h, c
            outs.append(out)
        seq = np.concatenate(outs, axis=-1)
    if not time_major:
        seq = seq.transpose(1, 0, 2)
    f32 = np.float32
    return seq.astype(f32), hs.astype(f32), (cs if mode == "lstm" else np.zeros((0,))).astype(f32)


def reference_outputs(op, values: list) -> dict[int, np.ndarray]:
    """{output index: value} of a `CUDNN_OPS` op (a `tf.Operation`) given its input values: output, output_h and
    (LSTM) output_c; the reserve spaces are read only by the gradient ops."""
    attr = {a: op.get_attr(a) for a in ("rnn_mode", "input_mode", "direction")}
    attr = {a: v.decode() if isinstance(v, bytes) else v for a, v in attr.items()}
    if attr["input_mode"] == "skip_input" or attr["input_mode"] == "auto_select" and \
            np.shape(values[0])[-1] == np.shape(values[1])[-1]:
        raise ValueError(f"{op.name}: input_mode {attr['input_mode']} (no input matrices) has no reference here")
    time_major = op.type != "CudnnRNNV3" or bool(op.get_attr("time_major"))
    lengths = values[4] if op.type == "CudnnRNNV3" else None
    out, h, c = cudnn_rnn(values[0], values[1], values[2], values[3], attr["rnn_mode"],
                          attr["direction"] == "bidirectional", lengths, time_major)
    return {0: out, 1: h, 2: c} if attr["rnn_mode"] == "lstm" else {0: out, 1: h}
