"""`LSTM`, `GRU`, `SimpleRNN`: `keras.layers.LSTM` / `GRU` / `SimpleRNN` with a faster loop on TensorFlow's CPU.

Drop-in subclasses: the same arguments, weights, config and results as the Keras layers they extend (a converted
model may name either; `model.keras` files round-trip). Only the TensorFlow backend without a GPU takes another
path (issue 22; `benchmarks/bench_converted_speed.py`, docs/performance.md):

- the input projection of every step is one matrix product before the loop (`x @ kernel + bias` over `[B, T]`),
  so a step is one product with the recurrent kernel and the gates (Keras runs two products, the bias and its
  cell's layer call per step): 25% less time under `tf.function` on a 2 x LSTM(128) char-RNN;
- called eagerly, the loop runs traced (`decoder.run_traced`: one `tf.function` per layer) instead of one Python
  iteration of eager ops per step: 30x faster for a notebook user's `model(x)`.

Everything else is Keras' own path: other backends, a GPU (cuDNN), a function XLA compiles (`jit_compile=True`:
XLA compiles Keras' loop better), `go_backwards`, `unroll`, and dropout while training. Masks follow Keras exactly: a masked step keeps the states and repeats the previous output (zeros with
`zero_output_for_mask`).
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.decoder import run_traced


def _fast_path(layer, training) -> bool:
    """Whether `layer` takes the loop below: TensorFlow without a visible GPU, outside an XLA compilation, forwards,
    not unrolled, and no dropout to apply."""
    if keras.backend.backend() != "tensorflow" or layer.go_backwards or layer.unroll:
        return False
    if training and (layer.cell.dropout or layer.cell.recurrent_dropout):
        return False
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    from tf_migrate_runtime._keras_internals import in_xla_compilation  # noqa: PLC0415

    if in_xla_compilation():   # XLA compiles Keras' own loop better (2 x LSTM(128): 15 ms vs 29 ms)
        return False
    return not tf.config.list_logical_devices("GPU")   # cuDNN there (Keras' own path)


def _loop(layer, sequences, initial_state, mask, project, step):
    """`backend.rnn`'s result `(last_output, outputs [B, T, U], new states)` of `step(xz_t, states) -> (output,
    states)` over `project(sequences)` (the inputs' projection, all steps at once), with Keras' mask rules."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    xz = project(tf.transpose(sequences, (1, 0, 2)))             # [T, B, G]: the narrower inputs transposed
    steps = xz.shape[0] if xz.shape[0] is not None else tf.shape(xz)[0]   # static when known (XLA: a fixed trip count)
    xs = tf.TensorArray(xz.dtype, size=steps).unstack(xz)
    masks = None
    if mask is not None:
        masks = tf.TensorArray(tf.bool, size=steps).unstack(tf.transpose(tf.cast(mask, tf.bool), (1, 0)))
    every = layer.return_sequences
    out_ta = tf.TensorArray(xz.dtype, size=steps if every else 1)
    states = [tf.convert_to_tensor(s) for s in initial_state]
    zero = tf.zeros_like(states[0])
    zero_for_mask = layer.zero_output_for_mask

    if masks is None:   # the fewest loop variables: each costs control-flow ops at every step
        def body(t, out_ta, *states):
            out, new = step(xs.read(t), list(states))
            return (t + 1, out_ta.write(t if every else 0, out), *new)

        res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), out_ta, *states),
                            maximum_iterations=steps)
        new_states = list(res[2:])
    else:
        def body(t, out_ta, prev, *states):
            out, new = step(xs.read(t), list(states))
            keep = tf.expand_dims(masks.read(t), -1)
            out = tf.where(keep, out, zero if zero_for_mask else prev)
            new = [tf.where(keep, n, s) for n, s in zip(new, states)]
            return (t + 1, out_ta.write(t if every else 0, out), out, *new)

        res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), out_ta, zero, *states),
                            maximum_iterations=steps)
        new_states = list(res[3:])
    outputs = tf.transpose(res[1].stack(), (1, 0, 2))
    return outputs[:, -1], outputs, new_states


def _inputs_projection(kernel, bias):
    def project(x):
        z = ops.matmul(x, kernel)
        return z + bias if bias is not None else z
    return project


class _FastLoop:
    """The `inner_loop` the three layers share: their own `_fast_loop` where `_fast_path` allows, Keras' otherwise."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, list | tuple):
            mask = mask[0]
        if not _fast_path(self, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        return run_traced(self, self._fast_loop, sequences, list(initial_state), mask)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class LSTM(_FastLoop, keras.layers.LSTM):
    """`keras.layers.LSTM` (same arguments, weights and results), with the faster CPU loop of this module.

    Example:
        >>> import numpy as np
        >>> layer = LSTM(4, return_sequences=True)
        >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
        (2, 3, 4)
    """

    def _fast_loop(self, sequences, initial_state, mask):
        cell = self.cell
        rk, act, rec = cell.recurrent_kernel, cell.activation, cell.recurrent_activation

        def step(z, states):
            h, c = states
            i, f, g, o = ops.split(z + ops.matmul(h, rk), 4, axis=-1)
            c = rec(f) * c + rec(i) * act(g)
            h = rec(o) * act(c)
            return h, [h, c]

        return _loop(self, sequences, initial_state, mask,
                     _inputs_projection(cell.kernel, cell.bias if cell.use_bias else None), step)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class GRU(_FastLoop, keras.layers.GRU):
    """`keras.layers.GRU` (same arguments, weights and results, `reset_after` either way), with the faster CPU loop
    of this module.

    Example:
        >>> import numpy as np
        >>> layer = GRU(4, reset_after=False)
        >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
        (2, 4)
    """

    def _fast_loop(self, sequences, initial_state, mask):
        cell = self.cell
        u, rk, act, rec = cell.units, cell.recurrent_kernel, cell.activation, cell.recurrent_activation
        bias = cell.bias if cell.use_bias else None
        if cell.reset_after:
            input_bias, recurrent_bias = (bias[0], bias[1]) if bias is not None else (None, None)

            def step(xz, states):
                (h,) = states
                inner = ops.matmul(h, rk)
                if recurrent_bias is not None:
                    inner = inner + recurrent_bias
                z = rec(xz[:, :u] + inner[:, :u])
                r = rec(xz[:, u:2 * u] + inner[:, u:2 * u])
                hh = act(xz[:, 2 * u:] + r * inner[:, 2 * u:])
                h = z * h + (1.0 - z) * hh
                return h, [h]

            return _loop(self, sequences, initial_state, mask, _inputs_projection(cell.kernel, input_bias), step)
        rk_zr, rk_h = rk[:, :2 * u], rk[:, 2 * u:]

        def step(xz, states):
            (h,) = states
            zr = ops.matmul(h, rk_zr)
            z = rec(xz[:, :u] + zr[:, :u])
            r = rec(xz[:, u:2 * u] + zr[:, u:])
            hh = act(xz[:, 2 * u:] + ops.matmul(r * h, rk_h))
            h = z * h + (1.0 - z) * hh
            return h, [h]

        return _loop(self, sequences, initial_state, mask, _inputs_projection(cell.kernel, bias), step)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class SimpleRNN(_FastLoop, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` (same arguments, weights and results), with the faster CPU loop of this module.

    Example:
        >>> import numpy as np
        >>> layer = SimpleRNN(4, return_sequences=True)
        >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
        (2, 3, 4)
    """

    def _fast_loop(self, sequences, initial_state, mask):
        cell = self.cell
        rk, act = cell.recurrent_kernel, cell.activation

        def step(xz, states):
            (h,) = states
            h = act(xz + ops.matmul(h, rk))
            return h, [h]

        return _loop(self, sequences, initial_state, mask,
                     _inputs_projection(cell.kernel, cell.bias if cell.use_bias else None), step)
