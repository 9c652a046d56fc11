"""`LSTM`, `GRU`, `SimpleRNN`: `keras.layers.LSTM` / `GRU` / `SimpleRNN` with a faster loop on TensorFlow's CPU.

Drop-in subclasses: the same arguments, weights, config and results as the Keras layers they extend (a converted
model names these: `tf-migrate convert` writes `tfm.LSTM(...)`; `model.keras` files round-trip), and `LSTM`'s
`forget_bias` (0.0: Keras' LSTM), which adds TF1's forget bias at run time after the bias, in TF1's order of the two
float32 sums (folded into the bias they round differently). Only the TensorFlow backend without a GPU takes another
path (issue 22; `benchmarks/bench_converted_speed.py`, docs/performance.md):

- a step is TF1's own: one product `concat([x_t, h]) @ concat([kernel, recurrent_kernel])` with the bias added to
  it, which TensorFlow's graph optimiser fuses into one `_FusedMatMul` (Keras runs two unfused products, a bias
  add and its cell's layer call per step): 3x faster at batch 1, 1.0x - 1.3x at batch 64 under `tf.function`;
- called eagerly, the loop runs traced (`decoder.run_traced`: one `tf.function` per layer) instead of one Python
  iteration of eager ops per step: 30x faster for a notebook user's `model(x)`.

Everything else is Keras' own path: other backends, a GPU (cuDNN), a function XLA compiles (`jit_compile=True`)
where the fused product is wide (XLA runs Keras' two products faster there: `decoder.XLA_FUSED_MAX_WIDTH`), `go_backwards`,
`unroll`, and dropout while training. Masks follow Keras exactly:
a masked step keeps the states and repeats the previous output (zeros with `zero_output_for_mask`).
"""

from __future__ import annotations

import keras

from tf_migrate_runtime.layers.activations import keras2_hard_sigmoid
from tf_migrate_runtime.layers.decoder import fused_step_form, lstm_gates, run_traced

# activations a converted model names that Keras 3 has under no name (or defines differently) -> the function
RUNTIME_ACTIVATIONS = {"keras2_hard_sigmoid": keras2_hard_sigmoid}


def _fast_path(layer, training) -> bool:
    """Whether `layer` takes the loop below: TensorFlow without a visible GPU, forwards, not unrolled, no dropout to
    apply, and outside an XLA compilation unless its step is one fused product at most `decoder.XLA_FUSED_MAX_WIDTH`
    wide (`decoder.fused_step_form`; the masked 2 x LSTM(25) encoder of ptrnet_lstm_bahdanau_tf16 under XLA: 1.5x
    less CPU than Keras' loop)."""
    if keras.backend.backend() != "tensorflow" or layer.go_backwards or layer.unroll:
        return False
    if training and (layer.cell.dropout or layer.cell.recurrent_dropout):
        return False
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    cell = layer.cell
    # under XLA a GRU(reset_after=True) step has Keras' two products anyway: Keras' loop
    width = cell.kernel.shape[0] + cell.units if not getattr(cell, "reset_after", False) else float("inf")
    if not fused_step_form(width):   # XLA and a wide product: Keras' loop
        return False
    return not tf.config.list_logical_devices("GPU")   # cuDNN there (Keras' own path)


def _loop(layer, sequences, initial_state, mask, step):
    """`backend.rnn`'s result `(last_output, outputs [B, T, U], new states)` of `step(x_t, states) -> (output,
    states)` over the time steps of `sequences` `[B, T, I]`, with Keras' mask rules."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    xt = tf.transpose(sequences, (1, 0, 2))                       # [T, B, I]
    steps = xt.shape[0] if xt.shape[0] is not None else tf.shape(xt)[0]   # static when known (a fixed trip count)
    xs = tf.TensorArray(xt.dtype, size=steps).unstack(xt)
    masks = None
    if mask is not None:
        masks = tf.TensorArray(tf.bool, size=steps).unstack(tf.transpose(tf.cast(mask, tf.bool), (1, 0)))
    every = layer.return_sequences
    states = [tf.convert_to_tensor(s) for s in initial_state]
    out_ta = tf.TensorArray(states[0].dtype, size=steps if every else 1)
    zero = tf.zeros_like(states[0])
    zero_for_mask = layer.zero_output_for_mask

    # the loops' condition is their trip count: no `maximum_iterations` (a loop variable, an `AddV2`, a `Less` and a
    # `LogicalAnd` more per step; docs/performance.md). Each loop variable costs control-flow ops at every step.
    if masks is None:
        def body(t, out_ta, *states):
            out, new = step(xs.read(t), list(states))
            return (t + 1, out_ta.write(t if every else 0, out), *new)

        res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), out_ta, *states))
        new_states = list(res[2:])
    elif zero_for_mask:   # a masked step writes zeros: no previous output to carry
        def body(t, out_ta, *states):
            out, new = step(xs.read(t), list(states))
            keep = masks.read(t)
            new = [_select_rows(keep, n, s) for n, s in zip(new, states)]
            return (t + 1, out_ta.write(t if every else 0, _select_rows(keep, out, zero)), *new)

        res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), out_ta, *states))
        new_states = list(res[2:])
    else:
        def body(t, out_ta, prev, *states):
            out, new = step(xs.read(t), list(states))
            keep = masks.read(t)
            out = _select_rows(keep, out, prev)
            new = [_select_rows(keep, n, s) for n, s in zip(new, states)]
            return (t + 1, out_ta.write(t if every else 0, out), out, *new)

        res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), out_ta, zero, *states))
        new_states = list(res[3:])
    outputs = tf.transpose(res[1].stack(), (1, 0, 2))
    return outputs[:, -1], outputs, new_states


def stack_loop(layers, sequences, initial_states, mask):
    """One `tf.while_loop` over the time steps of `sequences` `[B, T, I]` for a stack of these layers (each one's
    input the output sequence of the one before, as TF1's `MultiRNNCell` in one `dynamic_rnn`): at step t every
    layer's fused TF1 step runs before step t + 1, with Keras' mask rules per layer (a masked step keeps its states
    and feeds the layer above its previous output, or zeros with `zero_output_for_mask`), each layer's own weights.
    -> per layer `(last_output, outputs [B, T, U] or None, states)`: the output sequence of the top layer only (the
    ones below it feed the next layer inside the loop). A converted char-RNN's two LSTM(128) layers: 1.5x less CPU
    per call than a loop per layer; `parallel_iterations=32` (TF1's `dynamic_rnn`'s, against the default 10: the
    lower layer's next step may start beside the upper layer's step) 3% less again (docs/performance.md).
    `tfm.Model` runs stacks so (`layers/stacked.py`)."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    xt = tf.transpose(sequences, (1, 0, 2))                       # [T, B, I]
    steps = xt.shape[0] if xt.shape[0] is not None else tf.shape(xt)[0]
    xs = tf.TensorArray(xt.dtype, size=steps).unstack(xt)
    masks = None
    if mask is not None:
        masks = tf.TensorArray(tf.bool, size=steps).unstack(tf.transpose(tf.cast(mask, tf.bool), (1, 0)))
    fns = [layer._fast_step() for layer in layers]
    states = [[tf.convert_to_tensor(s) for s in init] for init in initial_states]
    sizes = [len(st) for st in states]
    every = layers[-1].return_sequences
    out_ta = tf.TensorArray(states[-1][0].dtype, size=steps if every else 1)
    # the previous output, carried for the top layer only: below it a masked step's output only feeds the layer
    # above, whose states the same mask keeps and whose output it replaces, so it is never read (one `Select` and
    # one loop variable less per step and layer; the same results)
    top = len(layers) - 1
    carry = [masks is not None and not layers[k].zero_output_for_mask and k == top for k in range(len(layers))]
    zeros = [tf.zeros_like(st[0]) for st in states]

    def body(t, out_ta, *flat):
        it = iter(flat)
        st = [[next(it) for _ in range(n)] for n in sizes]
        prev = [next(it) if c else None for c in carry]
        x = xs.read(t)
        keep = masks.read(t) if masks is not None else None
        new_states, new_prev = [], []
        for k, fn in enumerate(fns):
            x, new = fn(x, st[k])
            if keep is not None:
                new = [_select_rows(keep, n, s) for n, s in zip(new, st[k])]
                if k == top:
                    x = _select_rows(keep, x, prev[k] if carry[k] else zeros[k])
                if carry[k]:
                    new_prev.append(x)
            new_states += new
        return (t + 1, out_ta.write(t if every else 0, x), *new_states, *new_prev)

    init = [s for st in states for s in st] + [z for z, c in zip(zeros, carry) if c]
    res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), out_ta, *init),
                        parallel_iterations=32)   # TF1 dynamic_rnn's: layer k of step t + 1 beside layer k + 1 of t
    flat = iter(res[2:])
    finals = [[next(flat) for _ in range(n)] for n in sizes]
    outputs = tf.transpose(res[1].stack(), (1, 0, 2))
    return [(None, None, f) for f in finals[:-1]] + [(outputs[:, -1], outputs, finals[-1])]


def _select_rows(keep, a, b):
    """`where(keep[:, None], a, b)` for a bool `[B]` `keep` and `a`, `b` `[B, U]`: TF1's `Select` of whole rows
    (what `dynamic_rnn` ran for `sequence_length`), about half the time of a broadcasting `SelectV2` per call at
    batch 100 (docs/performance.md)."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    return tf.raw_ops.Select(condition=keep, x=a, y=b)


def _fused(kernel, recurrent_kernel, bias):
    """`z(x_t, h) = concat([x_t, h]) @ concat([kernel, recurrent_kernel]) + bias`: TF1's own form of a cell step,
    one matrix product whose bias TensorFlow's graph optimiser fuses into it (`_FusedMatMul`). Faster than Keras'
    `x @ kernel + h @ recurrent_kernel + bias` (unfused products: about 3x at batch 1) and than projecting every
    step's input before the loop (about 1.4x at batch 64, where the projected inputs are 4 units wide);
    docs/performance.md."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    w = tf.concat([kernel, recurrent_kernel], 0)

    def z(x, h):
        y = tf.matmul(tf.concat([x, h], 1), w)
        return tf.nn.bias_add(y, bias) if bias is not None else y
    return z


class _FastLoop:
    """The `inner_loop` the three layers share: their own `_fast_loop` where `_fast_path` allows, Keras' otherwise;
    and the activations of `RUNTIME_ACTIVATIONS` by name (`recurrent_activation="keras2_hard_sigmoid"`)."""

    def __init__(self, *args, **kwargs):
        for key in ("activation", "recurrent_activation"):
            if isinstance(kwargs.get(key), str) and kwargs[key] in RUNTIME_ACTIVATIONS:
                kwargs[key] = RUNTIME_ACTIVATIONS[kwargs[key]]
        super().__init__(*args, **kwargs)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, list | tuple):
            mask = mask[0]
        if not _fast_path(self, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        return run_traced(self, self._fast_loop, sequences, list(initial_state), mask)

    def _fast_loop(self, sequences, initial_state, mask):
        return _loop(self, sequences, initial_state, mask, self._fast_step())


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class LSTM(_FastLoop, keras.layers.LSTM):
    """`keras.layers.LSTM` (same arguments, weights and results), with the faster CPU loop of this module, and TF1's
    run-time forget bias.

    Args (besides Keras' own):
        forget_bias: added to the forget gate's pre-activation at every step, after the bias, as TF1's
            `LSTMCell` / `BasicLSTMCell` add their `forget_bias` (`sigmoid((z + bias) + forget_bias)`); 0.0 (the
            default) is Keras' LSTM. Folded into the bias instead (`sigmoid(z + (bias + forget_bias))`) a float32
            sum rounds differently at each step: 1.9e-5 on a converted char-RNN's softmax over 50 steps, against
            0.0 this way (docs/graph_convert.md). Keras' own path (a GPU, other backends, XLA) reads the bias with
            the forget bias folded in.

    Example:
        >>> import numpy as np
        >>> layer = LSTM(4, forget_bias=1.0, return_sequences=True)
        >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
        (2, 3, 4)
    """

    def __init__(self, units, forget_bias=0.0, **kwargs):
        super().__init__(units, **kwargs)
        self.forget_bias = float(forget_bias)
        if self.forget_bias and not self.cell.use_bias:
            raise ValueError(f"forget_bias={forget_bias} needs use_bias=True (TF1's LSTM cells have a bias)")

    def get_config(self):
        return {**super().get_config(), "forget_bias": self.forget_bias}

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.forget_bias or _fast_path(self, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        from tf_migrate_runtime._keras_internals import cell_bias_as  # noqa: PLC0415

        bias, u = self.cell.bias, self.cell.units
        folded = keras.ops.concatenate([bias[:u], bias[u:2 * u] + self.forget_bias, bias[2 * u:]])
        with cell_bias_as(self.cell, folded):   # Keras' loop (and cuDNN) read the folded sum while traced
            return super().inner_loop(sequences, initial_state, mask, training=training)

    def _fast_step(self):
        cell = self.cell
        act, rec = cell.activation, cell.recurrent_activation
        z = _fused(cell.kernel, cell.recurrent_kernel, cell.bias if cell.use_bias else None)

        fb = self.forget_bias

        def step(x, states):
            h, c = states
            i, f, g, o = lstm_gates(z(x, h), rec, act, fb)   # fb after the bias: TF1's own order
            c = f * c + i * g
            h = o * act(c)
            return h, [h, c]

        return step


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

    def _fast_step(self):
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        cell = self.cell
        u, k, rk, act, rec = cell.units, cell.kernel, cell.recurrent_kernel, cell.activation, cell.recurrent_activation
        bias = cell.bias if cell.use_bias else None
        if cell.reset_after:   # the candidate's recurrent product is taken before the reset gate: one product per step
            input_bias, recurrent_bias = (bias[0], bias[1]) if bias is not None else (None, None)

            def step(x, states):
                (h,) = states
                xz = tf.matmul(x, k)
                xz = tf.nn.bias_add(xz, input_bias) if input_bias is not None else xz
                inner = tf.matmul(h, rk)
                inner = tf.nn.bias_add(inner, recurrent_bias) if recurrent_bias is not None else inner
                z = rec(xz[:, :u] + inner[:, :u])
                r = rec(xz[:, u:2 * u] + inner[:, u:2 * u])
                hh = act(xz[:, 2 * u:] + r * inner[:, 2 * u:])
                h = z * h + (1.0 - z) * hh
                return h, [h]

            return step
        # reset_after=False (TF1's GRUCell): the gates' product on [x, h], the candidate's on [x, r * h], as TF1
        gates = _fused(k[:, :2 * u], rk[:, :2 * u], bias[:2 * u] if bias is not None else None)
        candidate = _fused(k[:, 2 * u:], rk[:, 2 * u:], bias[2 * u:] if bias is not None else None)

        def step(x, states):
            (h,) = states
            z, r = tf.split(rec(gates(x, h)), 2, axis=-1)
            hh = act(candidate(x, r * h))
            h = z * h + (1.0 - z) * hh
            return h, [h]

        return step


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class SimpleRNN(_FastLoop, keras.layers.SimpleRNN):
    """`keras.layers.SimpleRNN` (same arguments, weights and results), with the faster CPU loop of this module.

    Example:
        >>> import numpy as np
        >>> layer = SimpleRNN(4, return_sequences=True)
        >>> tuple(layer(np.ones((2, 3, 5), "float32")).shape)
        (2, 3, 4)
    """

    def _fast_step(self):
        cell = self.cell
        act = cell.activation
        z = _fused(cell.kernel, cell.recurrent_kernel, cell.bias if cell.use_bias else None)

        def step(x, states):
            (h,) = states
            h = act(z(x, h))
            return h, [h]

        return step
