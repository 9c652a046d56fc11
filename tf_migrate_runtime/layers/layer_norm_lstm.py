"""contrib's `LayerNormBasicLSTMCell` (layer-normalised gates and cell state) as a Keras recurrent layer."""

from __future__ import annotations

import keras

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "softsign", "softplus", "relu6")
_NORMS = ("input", "transform", "forget", "output", "state")   # TF1's scope names, in weight order


def _layer_norm(x, gamma, beta, epsilon):
    """contrib `layers.layer_norm` over the last axis, computed as `nn.batch_normalization` does."""
    ops = keras.ops
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    inv = ops.rsqrt(variance + epsilon) * gamma
    return x * inv + (beta - mean * inv)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class LayerNormLSTMCell(keras.layers.Layer):
    """One step of `tf.contrib.rnn.LayerNormBasicLSTMCell` (contrib/rnn/python/ops/rnn_cell.py, TF 1.15), weights in
    TF1's own layout and names:

        i, j, f, o = split(concat([x, h]) @ kernel, 4)               # TF1's gate order, no bias
        i, j, f, o = LN_input(i), LN_transform(j), LN_forget(f), LN_output(o)
        c' = LN_state(c * sigmoid(f + forget_bias) + sigmoid(i) * act(j))
        h' = act(c') * sigmoid(o)

    `LN_s(x) = (x - mean) / sqrt(variance + epsilon) * s/gamma + s/beta` over the units axis (contrib's
    `layers.layer_norm`, epsilon 1e-12). States `[h, c]` (Keras LSTM's order); the output is `h`.

    Args:
        units: the cell's `num_units`.
        forget_bias: added to the normalised forget gate at run time.
        activation: the cell's activation (a Keras activation name; TF1's default tanh).
        epsilon: the normalisations' variance epsilon.

    Weights: `kernel` `[input_dim + units, 4 * units]` (rows: the input, then h; columns i, j, f, o), then
    `input_gamma`, `input_beta`, `transform_gamma`, ..., `state_beta` (`[units]` each).
    """

    def __init__(self, units, forget_bias=1.0, activation="tanh", epsilon=1e-12, **kwargs):
        super().__init__(**kwargs)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: one of {', '.join(_ACTIVATIONS)}")
        self.units, self.forget_bias = int(units), float(forget_bias)
        self.activation, self.epsilon = activation, float(epsilon)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        n = self.units
        self.kernel = self.add_weight(shape=(int(input_shape[-1]) + n, 4 * n), name="kernel")
        self.norms = []
        for s in _NORMS:
            self.norms.append((self.add_weight(shape=(n,), initializer="ones", name=f"{s}_gamma"),
                               self.add_weight(shape=(n,), initializer="zeros", name=f"{s}_beta")))

    def call(self, inputs, states, training=None):
        ops, act = keras.ops, keras.activations.get(self.activation)
        h, c = states[0], states[1]
        z = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel)
        i, j, f, o = (_layer_norm(g, *norm, self.epsilon) for g, norm in zip(ops.split(z, 4, axis=-1), self.norms))
        c = _layer_norm(c * ops.sigmoid(f + self.forget_bias) + ops.sigmoid(i) * act(j), *self.norms[4], self.epsilon)
        h = act(c) * ops.sigmoid(o)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, forget_bias=self.forget_bias, activation=self.activation,
                      epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class LayerNormLSTM(keras.layers.RNN):
    """`tf.nn.dynamic_rnn(tf.contrib.rnn.LayerNormBasicLSTMCell(units, forget_bias=...), x)` as one layer: a
    `keras.layers.RNN` over `LayerNormLSTMCell` (see it for the equations and weights). Trainable; `keras.ops` only.

    Call arguments:
        inputs: `[B, T, input_dim]`; `mask` / `initial_state` (`[h, c]`) as for `keras.layers.LSTM`.

    Returns:
        the outputs `[B, T, units]` (`return_sequences=True`), then `h` and `c` (`return_state=True`).

    Example:
        >>> layer = LayerNormLSTM(4, forget_bias=0.5, return_sequences=True)
        >>> tuple(layer(keras.ops.zeros((3, 5, 6))).shape)
        (3, 5, 4)
    """

    def __init__(self, units, forget_bias=1.0, activation="tanh", epsilon=1e-12, return_sequences=False,
                 return_state=False, **kwargs):
        kwargs.pop("cell", None)
        cell = LayerNormLSTMCell(units, forget_bias=forget_bias, activation=activation, epsilon=epsilon,
                                 name="layer_norm_lstm_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("cell", None)
        config.update(units=self.cell.units, forget_bias=self.cell.forget_bias, activation=self.cell.activation,
                      epsilon=self.cell.epsilon)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["LayerNormLSTM", "LayerNormLSTMCell"]
