"""TF1's `LSTMCell` in full (peepholes, a projection, cell and projection clipping) as a Keras recurrent layer."""

from __future__ import annotations

import keras

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "softsign", "softplus", "relu6")


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class PeepholeLSTMCell(keras.layers.Layer):
    """One step of TF1's `tf.nn.rnn_cell.LSTMCell` (rnn_cell_impl.py), weights in TF1's own layout and names.

    With `h` the previous output (`m`, the projection when `num_proj` is set) and `c` the previous cell state:

        i, j, f, o = split(concat([x, h]) @ kernel + bias, 4)          # TF1's gate order
        c' = sigmoid(f + forget_bias + w_f_diag * c) * c + sigmoid(i + w_i_diag * c) * act(j)
        c' = clip(c', -cell_clip, cell_clip)                               # when cell_clip
        m = sigmoid(o + w_o_diag * c') * act(c')
        m = clip(m @ projection_kernel, -proj_clip, proj_clip)            # when num_proj (clip when proj_clip)

    The peephole terms are left out with `use_peepholes=False`. The states are `[m, c']` (Keras LSTM's `[h, c]`
    order); the output is `m`.

    Args:
        units: the cell's `num_units`.
        use_peepholes: the diagonal peephole weights `w_f_diag`, `w_i_diag`, `w_o_diag` (`[units]` each).
        num_proj: the projection's size (`projection_kernel` `[units, num_proj]`, no bias), or None.
        cell_clip / proj_clip: the clipping bounds, or None.
        forget_bias: added to the forget gate at run time (not folded into `bias`, as TF1 keeps it).
        activation: the cell's activation (a Keras activation name; TF1's default tanh).

    Weights: `kernel` `[input_dim + output size, 4 * units]` (rows: the input, then the previous output; columns
    i, j, f, o), `bias` `[4 * units]`, then `w_f_diag`, `w_i_diag`, `w_o_diag`, then `projection_kernel`.
    """

    def __init__(self, units, use_peepholes=True, num_proj=None, cell_clip=None, proj_clip=None, forget_bias=1.0,
                 activation="tanh", **kwargs):
        super().__init__(**kwargs)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: one of {', '.join(_ACTIVATIONS)}")
        self.units, self.use_peepholes = int(units), bool(use_peepholes)
        self.num_proj = None if num_proj is None else int(num_proj)
        self.cell_clip = None if cell_clip is None else float(cell_clip)
        self.proj_clip = None if proj_clip is None else float(proj_clip)
        self.forget_bias, self.activation = float(forget_bias), activation
        self.output_units = self.num_proj or self.units
        self.state_size = [self.output_units, self.units]
        self.output_size = self.output_units

    def build(self, input_shape):
        n = self.units
        self.kernel = self.add_weight(shape=(int(input_shape[-1]) + self.output_units, 4 * n), name="kernel")
        self.bias = self.add_weight(shape=(4 * n,), initializer="zeros", name="bias")
        if self.use_peepholes:
            self.w_f_diag = self.add_weight(shape=(n,), name="w_f_diag")
            self.w_i_diag = self.add_weight(shape=(n,), name="w_i_diag")
            self.w_o_diag = self.add_weight(shape=(n,), name="w_o_diag")
        if self.num_proj is not None:
            self.projection_kernel = self.add_weight(shape=(n, self.num_proj), name="projection_kernel")

    def call(self, inputs, states, training=None):
        ops, act = keras.ops, keras.activations.get(self.activation)
        h, c = states[0], states[1]
        z = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel) + self.bias
        i, j, f, o = ops.split(z, 4, axis=-1)
        f = f + self.forget_bias
        if self.use_peepholes:
            f, i = f + self.w_f_diag * c, i + self.w_i_diag * c
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * act(j)
        if self.cell_clip is not None:
            c = ops.clip(c, -self.cell_clip, self.cell_clip)
        if self.use_peepholes:
            o = o + self.w_o_diag * c
        m = ops.sigmoid(o) * act(c)
        if self.num_proj is not None:
            m = ops.matmul(m, self.projection_kernel)
            if self.proj_clip is not None:
                m = ops.clip(m, -self.proj_clip, self.proj_clip)
        return m, [m, c]

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, use_peepholes=self.use_peepholes, num_proj=self.num_proj,
                      cell_clip=self.cell_clip, proj_clip=self.proj_clip, forget_bias=self.forget_bias,
                      activation=self.activation)
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class PeepholeLSTM(keras.layers.RNN):
    """`tf.nn.dynamic_rnn(tf.nn.rnn_cell.LSTMCell(units, use_peepholes=..., num_proj=..., cell_clip=...), x)` as
    one layer: a `keras.layers.RNN` over `PeepholeLSTMCell` (the same arguments; see it for the equations and
    weights). Trainable like any Keras RNN; runs on every backend (`keras.ops` only).

    Call arguments:
        inputs: `[B, T, input_dim]`; `mask` / `initial_state` (`[h, c]`) as for `keras.layers.LSTM`.

    Returns:
        the outputs `[B, T, num_proj or units]` (`return_sequences=True`), then `h` and `c` (`return_state=True`).

    Example:
        >>> layer = PeepholeLSTM(4, num_proj=2, cell_clip=1.0, forget_bias=0.5, return_sequences=True)
        >>> tuple(layer(keras.ops.zeros((3, 5, 6))).shape)
        (3, 5, 2)
    """

    def __init__(self, units, use_peepholes=True, num_proj=None, cell_clip=None, proj_clip=None, forget_bias=1.0,
                 activation="tanh", return_sequences=False, return_state=False, **kwargs):
        kwargs.pop("cell", None)
        cell = PeepholeLSTMCell(units, use_peepholes=use_peepholes, num_proj=num_proj, cell_clip=cell_clip,
                                proj_clip=proj_clip, forget_bias=forget_bias, activation=activation,
                                name="peephole_lstm_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("cell", None)
        cell = self.cell
        config.update(units=cell.units, use_peepholes=cell.use_peepholes, num_proj=cell.num_proj,
                      cell_clip=cell.cell_clip, proj_clip=cell.proj_clip, forget_bias=cell.forget_bias,
                      activation=cell.activation)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["PeepholeLSTM", "PeepholeLSTMCell"]
