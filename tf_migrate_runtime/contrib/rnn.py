"""The `tf.contrib.rnn` cells that TensorFlow 2 did not keep (TF 1.15 `contrib/rnn/python/ops/rnn_cell.py`).

The core cells (`BasicLSTMCell`, `GRUCell`, `MultiRNNCell`, `DropoutWrapper`, `ResidualWrapper`, `DeviceWrapper`,
...) live on as `tf.compat.v1.nn.rnn_cell.*`; these two did not. Same constructor arguments, the same variable
names (so TF1 checkpoints load) and the same math, as `tf.compat.v1.nn.rnn_cell.RNNCell`s:

| cell                     | variables under the cell's scope                                      |
|--------------------------|-----------------------------------------------------------------------|
| `LayerNormBasicLSTMCell` | `kernel [in+units, 4*units]`; with `layer_norm`: `{input,transform,forget,output,state}/{gamma,beta} [units]`, no bias; without: `bias [4*units]` |
| `NASCell`                | `kernel [in, 8*units]`, `recurrent_kernel [proj or units, 8*units]`, `bias` (use_bias), `projection_weights` (num_proj) |

`LayerNormBasicLSTMCell`: gates i, j, f, o (that order) each layer-normalised (`tf_slim.layers.layer_norm`, the
very code contrib.layers had: epsilon 1e-12 over the last axis), `g = activation(j)` with recurrent dropout
(`dropout_keep_prob`, `dropout_prob_seed`), `c' = c * sigmoid(f + forget_bias) + sigmoid(i) * g`, normalised,
`h' = activation(c') * sigmoid(o)`. `NASCell`: Zoph & Le's NAS cell, as contrib wrote it.
"""

import tensorflow as tf
import tf_slim

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)

__all__ = ["LayerNormBasicLSTMCell", "NASCell"]

_RNNCell = tf.compat.v1.nn.rnn_cell.RNNCell
_LSTMStateTuple = tf.compat.v1.nn.rnn_cell.LSTMStateTuple


class LayerNormBasicLSTMCell(_RNNCell):
    """LSTM with layer normalisation and recurrent dropout (`tf.contrib.rnn.LayerNormBasicLSTMCell`).

    Args:
        num_units: int, units of the cell.
        forget_bias: float added to the forget gate.
        input_size: deprecated and unused (contrib logged a warning).
        activation: activation of the inner states (default tanh).
        layer_norm: apply layer normalisation (then the linear map has no bias).
        norm_gain: initial gamma of the normalisations.
        norm_shift: initial beta of the normalisations.
        dropout_keep_prob: float or scalar tensor, recurrent dropout keep probability on `g` (1.0: none).
        dropout_prob_seed: op seed of that dropout.
        reuse: reuse the variables of an existing scope.
    """

    def __init__(self, num_units, forget_bias=1.0, input_size=None, activation=tf.tanh, layer_norm=True,
                 norm_gain=1.0, norm_shift=0.0, dropout_keep_prob=1.0, dropout_prob_seed=None, reuse=None):
        super().__init__(_reuse=reuse)
        if input_size is not None:
            tf.compat.v1.logging.warn("%s: The input_size parameter is deprecated.", self)
        self._num_units = num_units
        self._activation = activation
        self._forget_bias = forget_bias
        self._keep_prob = dropout_keep_prob
        self._seed = dropout_prob_seed
        self._layer_norm = layer_norm
        self._norm_gain = norm_gain
        self._norm_shift = norm_shift

    @property
    def state_size(self):
        return _LSTMStateTuple(self._num_units, self._num_units)

    @property
    def output_size(self):
        return self._num_units

    def _norm(self, inp, scope, dtype=tf.float32):
        shape = inp.get_shape()[-1:]
        with tf.compat.v1.variable_scope(scope):  # contrib creates gamma/beta first, then layer_norm reuses them
            tf.compat.v1.get_variable("gamma", shape=shape, dtype=dtype,
                                      initializer=tf.compat.v1.constant_initializer(self._norm_gain))
            tf.compat.v1.get_variable("beta", shape=shape, dtype=dtype,
                                      initializer=tf.compat.v1.constant_initializer(self._norm_shift))
        return tf_slim.layers.layer_norm(inp, reuse=True, scope=scope)

    def _linear(self, args):
        out_size = 4 * self._num_units
        weights = tf.compat.v1.get_variable("kernel", [args.get_shape()[-1], out_size], dtype=args.dtype)
        out = tf.matmul(args, weights)
        if not self._layer_norm:
            bias = tf.compat.v1.get_variable("bias", [out_size], dtype=args.dtype)
            out = tf.nn.bias_add(out, bias)
        return out

    def call(self, inputs, state):
        c, h = state
        args = tf.concat([inputs, h], 1)
        concat = self._linear(args)
        dtype = args.dtype
        i, j, f, o = tf.split(value=concat, num_or_size_splits=4, axis=1)
        if self._layer_norm:
            i = self._norm(i, "input", dtype=dtype)
            j = self._norm(j, "transform", dtype=dtype)
            f = self._norm(f, "forget", dtype=dtype)
            o = self._norm(o, "output", dtype=dtype)
        g = self._activation(j)
        if (not isinstance(self._keep_prob, float)) or self._keep_prob < 1:
            g = tf.compat.v1.nn.dropout(g, keep_prob=self._keep_prob, seed=self._seed)
        new_c = c * tf.sigmoid(f + self._forget_bias) + tf.sigmoid(i) * g
        if self._layer_norm:
            new_c = self._norm(new_c, "state", dtype=dtype)
        new_h = self._activation(new_c) * tf.sigmoid(o)
        return new_h, _LSTMStateTuple(new_c, new_h)


class NASCell(_RNNCell):
    """The Neural Architecture Search cell (`tf.contrib.rnn.NASCell`, Zoph & Le, ICLR 2017).

    Args:
        num_units: int, units of the cell.
        num_proj: optional int, output size of a projection of the output.
        use_bias: add a (zero-initialised) bias to the recurrent branch.
        reuse: reuse the variables of an existing scope.
    """

    _NAS_BASE = 8

    def __init__(self, num_units, num_proj=None, use_bias=False, reuse=None, **kwargs):
        super().__init__(_reuse=reuse, **kwargs)
        self._num_units = num_units
        self._num_proj = num_proj
        self._use_bias = use_bias
        if num_proj is not None:
            self._state_size = _LSTMStateTuple(num_units, num_proj)
            self._output_size = num_proj
        else:
            self._state_size = _LSTMStateTuple(num_units, num_units)
            self._output_size = num_units

    @property
    def state_size(self):
        return self._state_size

    @property
    def output_size(self):
        return self._output_size

    def build(self, inputs_shape):
        input_size = tf.compat.dimension_value(tf.TensorShape(inputs_shape).with_rank(2)[1])
        if input_size is None:
            raise ValueError("Could not infer input size from inputs.get_shape()[-1]")
        num_proj = self._num_units if self._num_proj is None else self._num_proj
        width = self._NAS_BASE * self._num_units
        self.recurrent_kernel = self.add_weight("recurrent_kernel", [num_proj, width])
        self.kernel = self.add_weight("kernel", [input_size, width])
        if self._use_bias:
            self.bias = self.add_weight("bias", shape=[width], initializer=tf.compat.v1.zeros_initializer)
        if self._num_proj is not None:
            self.projection_weights = self.add_weight("projection_weights", [self._num_units, self._num_proj])
        self.built = True

    def call(self, inputs, state):
        sigmoid, tanh, relu = tf.sigmoid, tf.tanh, tf.nn.relu
        c_prev, m_prev = state
        m_matrix = tf.matmul(m_prev, self.recurrent_kernel)
        inputs_matrix = tf.matmul(inputs, self.kernel)
        if self._use_bias:
            m_matrix = tf.nn.bias_add(m_matrix, self.bias)
        m = tf.split(axis=1, num_or_size_splits=self._NAS_BASE, value=m_matrix)
        x = tf.split(axis=1, num_or_size_splits=self._NAS_BASE, value=inputs_matrix)
        layer1 = [sigmoid(x[0] + m[0]), relu(x[1] + m[1]), sigmoid(x[2] + m[2]), relu(x[3] * m[3]),
                  tanh(x[4] + m[4]), sigmoid(x[5] + m[5]), tanh(x[6] + m[6]), sigmoid(x[7] + m[7])]
        l2_0 = tanh(layer1[0] * layer1[1])
        l2_1 = tanh(layer1[2] + layer1[3])
        l2_2 = tanh(layer1[4] * layer1[5])
        l2_3 = sigmoid(layer1[6] + layer1[7])
        l2_0 = tanh(l2_0 + c_prev)  # inject the cell
        new_c = l2_0 * l2_1
        l3_1 = tanh(l2_2 + l2_3)
        new_m = tanh(new_c * l3_1)
        if self._num_proj is not None:
            new_m = tf.matmul(new_m, self.projection_weights)
        return new_m, _LSTMStateTuple(new_c, new_m)
