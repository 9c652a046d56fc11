"""TensorFlow's fused `BlockLSTM` op (contrib `LSTMBlockFusedCell`: every step of a time-major sequence in one op) as
a Keras layer: the same LSTM step, run with `keras.ops.scan`, on every backend."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class BlockLSTM(keras.layers.Layer):
    """`BlockLSTM(seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b)` -> `(i, cs, f, o, ci, co, h)`, each
    `[T, B, units]`.

    Per step t (`xh = [x[t], h]`, `z = xh . w + b`, its columns in `gate_order`: "icfo" for TF 1's `BlockLSTM`,
    "ifco" for `BlockLSTMV2`): `i = sigmoid(z_i + cs * wci)`, `f = sigmoid(z_f + forget_bias + cs * wcf)`,
    `ci = tanh(z_ci)`, `cs = clip(ci * i + cs * f, cell_clip)` (when cell_clip > 0), `o = sigmoid(z_o + cs * wco)`,
    `co = tanh(cs)`, `h = co * o` (peephole terms only with `use_peephole`). Steps at or past `seq_len_max` are not
    run by TensorFlow, which leaves zeros in `cs` and `h` there: so does this layer (and in the gates).

    The weights are inputs (the model's variables, read by `tfm.Variable` layers), so they train where they live.

    Example:
        >>> import numpy as np
        >>> T, B, D, U = 3, 2, 4, 5
        >>> outs = BlockLSTM()([np.int64(2), np.ones((T, B, D), "float32"), np.zeros((B, U), "float32"),
        ...     np.zeros((B, U), "float32"), np.full((D + U, 4 * U), 0.1, "float32"), np.zeros(U, "float32"),
        ...     np.zeros(U, "float32"), np.zeros(U, "float32"), np.zeros(4 * U, "float32")])
        >>> [tuple(o.shape) for o in outs][6], float(keras.ops.convert_to_numpy(outs[6])[2].sum())
        ((3, 2, 5), 0.0)
    """

    def __init__(self, forget_bias=1.0, cell_clip=-1.0, use_peephole=False, gate_order="icfo", **kwargs):
        super().__init__(**kwargs)
        if sorted(gate_order) != sorted("icfo"):
            raise ValueError(f"gate_order must order the letters i, c, f, o; got {gate_order!r}")
        self.forget_bias, self.cell_clip = float(forget_bias), float(cell_clip)
        self.use_peephole, self.gate_order = bool(use_peephole), str(gate_order)

    def call(self, inputs):
        from tf_migrate_runtime.layers.decoder import run_traced  # noqa: PLC0415

        return run_traced(self, self._run, list(inputs))   # eagerly on TensorFlow: the loop traced, once

    def _run(self, inputs):
        seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b = inputs
        x = keras.ops.convert_to_tensor(x)
        steps = keras.ops.arange(keras.ops.shape(x)[0], dtype="int32")
        limit = keras.ops.cast(seq_len_max, "int32")
        where = {g: k for k, g in enumerate(self.gate_order)}

        def step(carry, xs):   # carry: the last step's [i, cs, f, o, ci, co, h], [7, B, U] (what it returns)
            cs, h = carry[1], carry[6]
            xt, t = xs
            z = keras.ops.matmul(keras.ops.concatenate([xt, h], axis=1), w) + b
            parts = keras.ops.split(z, 4, axis=1)
            zi, zc, zf, zo = (parts[where[g]] for g in "icfo")
            if self.use_peephole:
                zi, zf = zi + cs * wci, zf + cs * wcf
            i = keras.ops.sigmoid(zi)
            f = keras.ops.sigmoid(zf + self.forget_bias)
            ci = keras.ops.tanh(zc)
            new_cs = ci * i + cs * f
            if self.cell_clip > 0:
                new_cs = keras.ops.clip(new_cs, -self.cell_clip, self.cell_clip)
            o = keras.ops.sigmoid(zo + new_cs * wco if self.use_peephole else zo)
            co = keras.ops.tanh(new_cs)
            new_h = co * o
            live = keras.ops.cast(t < limit, new_h.dtype)
            out = keras.ops.stack([i, new_cs, f, o, ci, co, new_h]) * live
            return out, out   # Keras' TensorFlow scan wants each step's output shaped as its carry

        cs_prev, h_prev = keras.ops.convert_to_tensor(cs_prev), keras.ops.convert_to_tensor(h_prev)
        zero = keras.ops.zeros_like(cs_prev)
        _, outs = keras.ops.scan(step, keras.ops.stack([zero, cs_prev, zero, zero, zero, zero, h_prev]), (x, steps))
        return [outs[:, k] for k in range(7)]

    def compute_output_spec(self, inputs):
        x, w = inputs[1], inputs[4]
        units = w.shape[1] // 4 if w.shape[1] is not None else None
        return [keras.KerasTensor((x.shape[0], x.shape[1], units), dtype=x.dtype) for _ in range(7)]

    def get_config(self):
        config = super().get_config()
        config.update(forget_bias=self.forget_bias, cell_clip=self.cell_clip, use_peephole=self.use_peephole,
                      gate_order=self.gate_order)
        return config
