"""On a GPU machine: check `migrate.checkpoint.cudnn_params` (the opaque cuDNN buffer layout) and
`migrate.parity.cudnn_reference` (cuDNN's equations in NumPy) against cuDNN itself.

The CudnnRNN ops have no CPU kernel, so the test suite checks the layout only against contrib's CPU twin
(`CudnnCompatibleLSTMCell`, tests/test_graph_constructs_cudnn.py). Here, for LSTM / GRU / tanh / relu, uni- and
bidirectional, 1 and 2 layers: a random buffer is split by `tf.raw_ops.CudnnRNNParamsToCanonical` and by
`opaque_to_canonical` (must be equal), assembled back by `tf.raw_ops.CudnnRNNCanonicalToParams` from our canonical
weights (must be the buffer), and `tf.raw_ops.CudnnRNN` is run and compared with the NumPy reference.

    python benchmarks/check_cudnn_layout.py        # exit 0: every case agrees; 1: a case differs; 2: no GPU

Prints one line per case: the largest differences (buffer split, buffer assembly, outputs / final states).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np


def main() -> int:
    import tensorflow as tf

    from migrate.checkpoint.cudnn_params import CudnnSpec, canonical_to_opaque, opaque_to_canonical
    from migrate.parity.cudnn_reference import cudnn_rnn

    if not tf.config.list_physical_devices("GPU"):
        print("no GPU: the CudnnRNN ops run only there (nothing checked)")
        return 2
    rng = np.random.default_rng(0)
    worst_ok = True
    for mode, d, layers in itertools.product(("lstm", "gru", "rnn_tanh", "rnn_relu"), (1, 2), (1, 2)):
        spec = CudnnSpec(mode, layers, 6, 4, d)
        direction = "bidirectional" if d == 2 else "unidirectional"
        n_params = {"lstm": 8, "gru": 6}.get(mode, 2) * layers * d
        size = int(tf.raw_ops.CudnnRNNParamsSize(num_layers=layers, num_units=6, input_size=4, T=tf.float32,
                                                 S=tf.int32, rnn_mode=mode, direction=direction))
        if size != spec.size():
            print(f"{mode} d={d} L={layers}: cuDNN's buffer holds {size} floats, ours {spec.size()}: DIFFERENT")
            worst_ok = False
            continue
        buf = rng.normal(0, 0.5, size).astype(np.float32)
        ws, bs = tf.raw_ops.CudnnRNNParamsToCanonical(num_layers=layers, num_units=6, input_size=4, params=buf,
                                                      num_params=n_params, rnn_mode=mode, direction=direction)
        ours = opaque_to_canonical(buf, spec)
        half = n_params // (layers * d)
        split = max(float(np.abs(np.asarray(w).reshape(-1) - o.reshape(-1)).max())
                    for (ow, ob), p in zip(ours, range(layers * d))
                    for w, o in zip(list(ws[p * half:(p + 1) * half]) + list(bs[p * half:(p + 1) * half]), ow + ob))
        back = tf.raw_ops.CudnnRNNCanonicalToParams(
            num_layers=layers, num_units=6, input_size=4,
            weights=[w.reshape(-1) for ow, _ in ours for w in ow], biases=[b for _, ob in ours for b in ob],
            rnn_mode=mode, direction=direction)
        assembled = float(np.abs(np.asarray(back) - canonical_to_opaque(ours, spec)).max())
        x = rng.normal(size=(5, 3, 4)).astype(np.float32)
        h0 = rng.normal(size=(layers * d, 3, 6)).astype(np.float32)
        c0 = rng.normal(size=(layers * d, 3, 6)).astype(np.float32)
        out = tf.raw_ops.CudnnRNN(input=x, input_h=h0, input_c=c0, params=buf, rnn_mode=mode, direction=direction,
                                  is_training=False)
        ref = cudnn_rnn(x, h0, c0, buf, mode, d == 2)
        run = max(float(np.abs(np.asarray(out[0]) - ref[0]).max()), float(np.abs(np.asarray(out[1]) - ref[1]).max()))
        ok = split == 0.0 and assembled == 0.0 and run < 1e-4
        worst_ok = worst_ok and ok
        print(f"{mode:8s} {direction:14s} {layers} layer(s): split {split:.1e}, assembly {assembled:.1e}, "
              f"outputs {run:.1e} {'ok' if ok else 'DIFFERENT'}")
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
