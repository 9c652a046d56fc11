"""TF1 graphs of standalone Keras 2 (2.1 / 2.2) and tf.keras 1.x recurrent layers, written op for op as their
TensorFlow backend wrote them in graph mode (the form of the real Packt stock BiLSTM, benchmarks/corpus.py
`stock_bilstm_keras_frozen`).

`tf_keras` (Keras 2.x for TF 2) writes another form in a TF 2 process (the TF 2-era `standard_lstm` functions /
while_v2), so these builders write Keras 2.2.4's code itself on `tf.compat.v1` under `tf1_models.tf1_style()`
(control flow v1): the layer's weights `<layer>/kernel`, `<layer>/recurrent_kernel`, `<layer>/bias`
(`Bidirectional`: `<bidirectional>/forward_<layer>/...`, `backward_...`), the per-gate slices taken once in
`build` (implementation 1: `kernel[:, :units]` ... by StridedSlice) or of the step's one product (implementation 2),
`K.rnn`'s while loop over TensorArrays (time-major transpose, `reverse(x, 0)` for `go_backwards`, zero initial
states `tile(expand_dims(sum(zeros_like(x), (1, 2))), [1, units])`, the mask's `tf.where` per step), Keras 2's
`hard_sigmoid` `clip_by_value(0.2 * x + 0.5, 0, 1)`, and `Bidirectional`'s merge of `y` and `reverse(y_rev, 1)`.
"""

from __future__ import annotations


def hard_sigmoid(tf, x):   # keras/backend/tensorflow_backend.py (2.2.4)
    x = (0.2 * x) + 0.5
    return tf.clip_by_value(x, tf.constant(0.0), tf.constant(1.0))


class Cell:
    """Keras 2.2.4's LSTMCell / GRUCell / SimpleRNNCell `build` and `call` (keras/layers/recurrent.py)."""

    GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}

    def __init__(self, tf, v1, family, units, input_dim, recurrent_activation="hard_sigmoid", activation="tanh",
                 implementation=1, reset_after=False, use_bias=True):
        self.tf, self.family, self.units, self.impl, self.reset_after = tf, family, units, implementation, reset_after
        self.act = {"tanh": tf.tanh, "relu": tf.nn.relu}[activation]
        self.rec = {"hard_sigmoid": lambda x: hard_sigmoid(tf, x), "sigmoid": tf.sigmoid}[recurrent_activation]
        n = self.GATES[family] * units
        self.kernel = v1.get_variable("kernel", [input_dim, n])
        self.recurrent_kernel = v1.get_variable("recurrent_kernel", [units, n])
        bias = v1.get_variable("bias", [2, n] if reset_after else [n]) if use_bias else None
        if bias is None:   # use_bias=False: no bias add at all
            self.input_bias = self.recurrent_bias = None
        elif family == "gru" and reset_after:   # input_bias = K.flatten(self.bias[0]), recurrent_bias = ...[1]
            self.input_bias, self.recurrent_bias = tf.reshape(bias[0], [-1]), tf.reshape(bias[1], [-1])
        else:
            self.input_bias, self.recurrent_bias = bias, None
        u = units
        cols = [(k * u, (k + 1) * u if k + 1 < self.GATES[family] else None) for k in range(self.GATES[family])]
        self.k = [self.kernel[:, a:b] for a, b in cols]
        self.rk = [self.recurrent_kernel[:, a:b] for a, b in cols]
        self.b = [self.input_bias[a:b] if self.input_bias is not None else None for a, b in cols]
        self.rb = [self.recurrent_bias[a:b] for a, b in cols] if self.recurrent_bias is not None else [None] * len(cols)

    def state_count(self):
        return 2 if self.family == "lstm" else 1

    def call(self, x, states):
        tf, u = self.tf, self.units
        dot = tf.matmul

        def bias_add(v, b):   # Keras 2's `if self.use_bias: x = K.bias_add(x, b)`
            return v if b is None else tf.nn.bias_add(v, b)

        if self.impl == 0:   # Keras 2.0: x projected before the loop; `h_tm1 * rec_dp_mask[k]`, the masks 1.0
            return self.call_projected(x, states)
        if self.family == "simple_rnn":
            h = bias_add(dot(x, self.kernel), self.input_bias)
            out = self.act(h + dot(states[0], self.recurrent_kernel))
            return out, [out]
        if self.family == "lstm":
            h_tm1, c_tm1 = states
            if self.impl == 1:
                xs = [bias_add(dot(x, k), b) for k, b in zip(self.k, self.b)]
                i = self.rec(xs[0] + dot(h_tm1, self.rk[0]))
                f = self.rec(xs[1] + dot(h_tm1, self.rk[1]))
                c = f * c_tm1 + i * self.act(xs[2] + dot(h_tm1, self.rk[2]))
                o = self.rec(xs[3] + dot(h_tm1, self.rk[3]))
            else:
                z = dot(x, self.kernel)
                z += dot(h_tm1, self.recurrent_kernel)
                z = bias_add(z, self.input_bias)
                z0, z1, z2, z3 = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
                i, f = self.rec(z0), self.rec(z1)
                c = f * c_tm1 + i * self.act(z2)
                o = self.rec(z3)
            h = o * self.act(c)
            return h, [h, c]
        h_tm1 = states[0]   # GRU, implementation 1
        xs = [bias_add(dot(x, k), b) for k, b in zip(self.k, self.b)]
        rz, rr = dot(h_tm1, self.rk[0]), dot(h_tm1, self.rk[1])
        if self.reset_after:
            rz, rr = bias_add(rz, self.rb[0]), bias_add(rr, self.rb[1])
        z = self.rec(xs[0] + rz)
        r = self.rec(xs[1] + rr)
        if self.reset_after:
            rh = r * bias_add(dot(h_tm1, self.rk[2]), self.rb[2])
        else:
            rh = dot(r * h_tm1, self.rk[2])
        hh = self.act(xs[2] + rh)
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]


    def preprocess_input(self, x):
        """Keras 2.0's implementation 0: `concat([_time_distributed_dense(x, kernel_g, bias_g) ...], axis=2)`."""
        tf = self.tf
        steps = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]   # K.int_shape, else K.shape
        size = x.shape[2] if x.shape[2] is not None else tf.shape(x)[2]
        parts = []
        for k, b in zip(self.k, self.b):
            y = tf.matmul(tf.reshape(x, (-1, size)), k)
            y = tf.nn.bias_add(y, b) if b is not None else y
            parts.append(tf.reshape(y, tf.stack([-1, steps, self.units])))
        return tf.concat(parts, axis=2) if len(parts) > 1 else parts[0]

    def call_projected(self, inputs, states):
        u, rec, act, dot = self.units, self.rec, self.act, self.tf.matmul
        ones = [1.0] * 4   # get_constants' rec_dp_mask without recurrent dropout
        xs = [inputs[:, k * u:(k + 1) * u] for k in range(self.GATES[self.family])]
        if self.family == "simple_rnn":
            out = act(inputs + dot(states[0] * ones[0], self.recurrent_kernel))
            return out, [out]
        if self.family == "lstm":
            h_tm1, c_tm1 = states
            i = rec(xs[0] + dot(h_tm1 * ones[0], self.rk[0]))
            f = rec(xs[1] + dot(h_tm1 * ones[1], self.rk[1]))
            c = f * c_tm1 + i * act(xs[2] + dot(h_tm1 * ones[2], self.rk[2]))
            o = rec(xs[3] + dot(h_tm1 * ones[3], self.rk[3]))
            h = o * act(c)
            return h, [h, c]
        h_tm1 = states[0]
        z = rec(xs[0] + dot(h_tm1 * ones[0], self.rk[0]))
        r = rec(xs[1] + dot(h_tm1 * ones[1], self.rk[1]))
        hh = act(xs[2] + dot(r * h_tm1 * ones[2], self.rk[2]))
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]


def k_rnn(tf, v1, cell, inputs, go_backwards=False, mask=None):
    """Keras 2.2.4's `K.rnn` (not unrolled) with `RNN.get_initial_state`'s zero states -> (last, outputs, states)."""
    init = tf.reduce_sum(tf.zeros_like(inputs), axis=(1, 2))
    init = tf.expand_dims(init, -1)
    states = tuple(tf.tile(init, [1, cell.units]) for _ in range(cell.state_count()))
    inputs = tf.transpose(inputs, (1, 0, 2))
    if mask is not None:
        mask = tf.transpose(tf.expand_dims(tf.cast(mask, tf.bool), -1), (1, 0, 2))
    if go_backwards:
        inputs = tf.reverse(inputs, [0])
        if mask is not None:
            mask = tf.reverse(mask, [0])
    from tensorflow.python.ops import tensor_array_ops  # noqa: PLC0415 - what Keras 2's backend used

    time_steps = tf.shape(inputs)[0]
    output_ta = tensor_array_ops.TensorArray(dtype=inputs.dtype, size=time_steps, tensor_array_name="output_ta")
    input_ta = tensor_array_ops.TensorArray(dtype=inputs.dtype, size=time_steps, tensor_array_name="input_ta")
    input_ta = input_ta.unstack(inputs)
    time = tf.constant(0, dtype="int32", name="time")
    if mask is not None:
        mask_ta = tensor_array_ops.TensorArray(dtype=tf.bool, size=time_steps, tensor_array_name="mask_ta")
        mask_ta = mask_ta.unstack(mask)

    def _step(time, output_ta_t, *states):
        output, new_states = cell.call(input_ta.read(time), list(states))
        if mask is not None:
            mask_t = mask_ta.read(time)
            tiled = tf.tile(mask_t, tf.stack([1, tf.shape(output)[1]]))
            output = tf.where(tiled, output, states[0])
            new_states = [tf.where(tf.tile(mask_t, tf.stack([1, tf.shape(n)[1]])), n, s)
                          for n, s in zip(new_states, states)]
        for s, n in zip(states, new_states):
            n.set_shape(s.get_shape())
        return (time + 1, output_ta_t.write(time, output)) + tuple(new_states)

    final = v1.while_loop(cond=lambda time, *_: time < time_steps, body=_step, loop_vars=(time, output_ta) + states,
                          parallel_iterations=32, swap_memory=True)
    outputs = final[1].stack()
    last_output = final[1].read(final[0] - 1)
    return last_output, tf.transpose(outputs, (1, 0, 2)), list(final[2:])


def layer(tf, v1, family, name, x, units, return_sequences=True, go_backwards=False, mask=None, scoped=True,
          **cell_args):
    """One Keras 2 recurrent layer `name` over batch-major `x` -> (output, final states); `scoped=False`: its ops in
    the caller's name scope (`Bidirectional` runs its layers' `call`, not `__call__`: `bidirectional_1/while_1`)."""
    with v1.variable_scope(name, auxiliary_name_scope=scoped):
        cell = Cell(tf, v1, family, units, int(x.shape[-1]), **cell_args)
        if cell.impl == 0:
            x = cell.preprocess_input(x)
        last, outputs, states = k_rnn(tf, v1, cell, x, go_backwards, mask)
    return (outputs if return_sequences else last), states


def bidirectional(tf, v1, family, name, x, units, merge_mode="concat", return_sequences=True, **cell_args):
    """Keras 2.2.4's `Bidirectional(layer, merge_mode)`: `forward_<layer>` and `backward_<layer>` (go_backwards)."""
    inner = {"lstm": "lstm_1", "gru": "gru_1", "simple_rnn": "simple_rnn_1"}[family]
    with tf.name_scope(name + "/"):
        with v1.variable_scope(name, auxiliary_name_scope=False):
            y, _ = layer(tf, v1, family, f"forward_{inner}", x, units, return_sequences, scoped=False, **cell_args)
            y_rev, _ = layer(tf, v1, family, f"backward_{inner}", x, units, return_sequences, go_backwards=True,
                             scoped=False, **cell_args)
        if return_sequences:
            y_rev = tf.reverse(y_rev, [1])
        if merge_mode == "concat":
            return tf.concat([y, y_rev], axis=-1)
        if merge_mode == "sum":
            return y + y_rev
        if merge_mode == "ave":
            return (y + y_rev) / 2
        return y * y_rev


# ------------------------------------------------------------------------------------------------ the graphs
def k2_lstm(tf, v1):   # LSTM(6, return_sequences) with its final states (return_state)
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    y, (h, c) = layer(tf, v1, "lstm", "lstm_1", x, 6)
    tf.identity(y, name="outputs")
    tf.identity(h, name="final_h")
    tf.identity(c, name="final_c")


def k2_gru(tf, v1):   # GRU(5, use_bias=False) of Keras 2.2 (reset_after=False), its last output
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    y, _ = layer(tf, v1, "gru", "gru_1", x, 5, return_sequences=False, use_bias=False)
    tf.identity(y, name="outputs")


def k2_gru_reset_after(tf, v1):   # tf.keras's GRU(reset_after=True, recurrent_activation='sigmoid'), sequences
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    y, _ = layer(tf, v1, "gru", "gru_1", x, 5, reset_after=True, recurrent_activation="sigmoid")
    tf.identity(y, name="outputs")


def k2_simple_rnn_backwards(tf, v1):   # SimpleRNN(4, activation='relu', go_backwards=True)
    x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
    y, _ = layer(tf, v1, "simple_rnn", "simple_rnn_1", x, 4, go_backwards=True, activation="relu")
    tf.identity(y, name="outputs")


def k2_bilstm_stack(tf, v1):   # the Packt model's shape: Bidirectional(LSTM) concat -> LSTM -> LSTM(last) -> Dense
    x = v1.placeholder(tf.float32, [None, 7, 2], name="x")
    y = bidirectional(tf, v1, "lstm", "bidirectional_1", x, 5)
    y, _ = layer(tf, v1, "lstm", "lstm_2", y, 4)
    y, _ = layer(tf, v1, "lstm", "lstm_3", y, 4, return_sequences=False)
    w = v1.get_variable("dense_1/kernel", [4, 1])
    tf.identity(tf.matmul(y, w), name="outputs")


def k2_bigru_sum(tf, v1):   # Bidirectional(GRU, merge_mode='sum')
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    tf.identity(bidirectional(tf, v1, "gru", "bidirectional_1", x, 4, merge_mode="sum"), name="outputs")


def k2_lstm_impl2_masked(tf, v1):   # LSTM(implementation=2) after Masking(0.): one product per step, a mask
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    mask = tf.reduce_any(tf.not_equal(x, 0.0), axis=-1)   # keras.layers.Masking(mask_value=0.)'s compute_mask
    y, (h, _) = layer(tf, v1, "lstm", "lstm_1", x * tf.cast(tf.expand_dims(mask, -1), x.dtype), 5,
                      implementation=2, mask=mask)
    tf.identity(y, name="outputs")
    tf.identity(h, name="final_h")


def k20_impl0_stack(tf, v1):   # Keras 2.0's default implementation 0: LSTM(go_backwards) -> GRU -> SimpleRNN
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    y, _ = layer(tf, v1, "lstm", "lstm_1", x, 5, implementation=0, go_backwards=True)
    y, _ = layer(tf, v1, "gru", "gru_1", y, 4, implementation=0)
    y, _ = layer(tf, v1, "simple_rnn", "simple_rnn_1", y, 3, implementation=0, return_sequences=False)
    tf.identity(y, name="outputs")


def tf_keras_stack(tf, v1):
    """`tf_keras` (Keras 2.x) itself in a TF1-style graph: its v1 while loops, implementation 2 (`split` of one
    product), `sigmoid`, GRU `reset_after=True` (`unstack` of the bias), resource variables `lstm/lstm_cell/kernel`;
    LSTM -> Bidirectional(GRU, 'ave') -> SimpleRNN(go_backwards)."""
    import os  # noqa: PLC0415

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras  # noqa: PLC0415

    x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
    y = tf_keras.layers.LSTM(4, return_sequences=True)(x)
    y = tf_keras.layers.Bidirectional(tf_keras.layers.GRU(3, return_sequences=True), merge_mode="ave")(y)
    # (return_sequences=False writes one TensorArray slot at every step: a v1 TensorArray refuses that)
    y = tf_keras.layers.SimpleRNN(2, go_backwards=True, return_sequences=True)(y)
    tf.identity(y[:, -1], name="outputs")


BUILDERS = {f.__name__: f for f in (k2_lstm, k2_gru, k2_gru_reset_after, k2_simple_rnn_backwards, k2_bilstm_stack,
                                    k2_bigru_sum, k2_lstm_impl2_masked, k20_impl0_stack, tf_keras_stack)}


def build(name: str, root) -> str:
    """The checkpoint prefix of BUILDERS[name]'s graph saved under `root/name` (random non-zero weights)."""
    import os  # noqa: PLC0415

    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import save_random_weights, tf1_style  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        BUILDERS[name](tf, tf.compat.v1)
        os.makedirs(os.path.join(str(root), name), exist_ok=True)
        return save_random_weights(os.path.join(str(root), name), seed=11)
