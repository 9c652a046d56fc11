"""The encoder: stacked recurrent cells, unidirectional or bidirectional, over embedded source ids."""

from __future__ import annotations

import keras
from keras import ops

from tf2.cells import make_cell, per_layer_states, stack_cells


@keras.saving.register_keras_serializable(package="tf2")
class Encoder(keras.layers.Layer):
    """Stacked RNN encoder reproducing TF1's `dynamic_rnn` / `bidirectional_dynamic_rnn`.

    `encoder_type="uni"` runs `num_layers` cells as one stack (TF1: `MultiRNNCell` in `dynamic_rnn`).
    `encoder_type="bi"` runs a forward stack and a backward stack of `num_layers` cells each, wrapped
    in `keras.layers.Bidirectional` (TF1: `bidirectional_dynamic_rnn` over two `MultiRNNCell`s; the
    backward layer `l` reads backward layer `l - 1`, there is no fw/bw interleaving). With a mask,
    Keras's backward pass reverses the padded sequence; the padded steps then come first and keep
    the zero initial state, which equals TF1 reversing each sequence within its length.

    Padded positions (mask False) hold zeros in the outputs (`zero_output_for_mask=True`, as
    `dynamic_rnn` emits) and the final states are the states at each sequence's last valid step.

    Args:
        cell_type: `"lstm"`, `"basic_lstm"` or `"gru"` (see `tf2.cells.CELL_TYPES`).
        num_units: units of every cell, per direction.
        num_layers: cells per stack.
        encoder_type: `"uni"` or `"bi"`.
        dropout: input dropout of every cell, applied in training only.
        seed: dropout seed.
        **kwargs: base `Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: float tensor `[B, S, E]`, the embedded source.
        mask: bool tensor `[B, S]`, True at real tokens.
        training: bool, enables dropout.

    Returns:
        A tuple `(outputs, states)`: `outputs` float `[B, S, num_units * directions]` (fw then bw
        along the last axis; zeros at padded positions), and `states`, one list per layer of that
        layer's final state tensors (`[h, c]` for LSTM, `[h]` for GRU), with forward and backward
        concatenated per tensor for `"bi"` (`h = concat(h_fw, h_bw)`, `c = concat(c_fw, c_bw)`).

    Example:

    >>> enc = Encoder("lstm", num_units=8, num_layers=2, encoder_type="bi")
    >>> x = keras.random.normal((3, 5, 4))
    >>> outputs, states = enc(x, mask=ops.ones((3, 5), "bool"))
    >>> tuple(outputs.shape), tuple(states[1][0].shape)
    ((3, 5, 16), (3, 16))
    """

    def __init__(self, cell_type="lstm", num_units=64, num_layers=1, encoder_type="uni", dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        if encoder_type not in ("uni", "bi"):
            raise ValueError(f"encoder_type={encoder_type!r}: expected 'uni' or 'bi'")
        self.cell_type = cell_type
        self.num_units = num_units
        self.num_layers = num_layers
        self.encoder_type = encoder_type
        self.dropout = dropout
        self.seed = seed
        cells = [make_cell(cell_type, num_units, dropout, seed, name=f"cell_{i}") for i in range(num_layers)]
        rnn = keras.layers.RNN(stack_cells(cells), return_sequences=True, return_state=True,
                               zero_output_for_mask=True, name="rnn")
        if encoder_type == "bi":
            self.rnn = keras.layers.Bidirectional(rnn, merge_mode="concat", name="bidirectional_rnn")
        else:
            self.rnn = rnn
        self.supports_masking = True

    @property
    def output_width(self):
        return self.num_units * (2 if self.encoder_type == "bi" else 1)

    @property
    def cells(self):
        """Per layer, a tuple: `(fw_cell,)` for "uni", `(fw_cell, bw_cell)` for "bi"."""
        if self.encoder_type == "bi":
            fw, bw = self.rnn.forward_layer.cell, self.rnn.backward_layer.cell
            fw = [fw] if self.num_layers == 1 else fw.cells
            bw = [bw] if self.num_layers == 1 else bw.cells
            return [(f, b) for f, b in zip(fw, bw)]
        cell = self.rnn.cell
        return [(c,) for c in ([cell] if self.num_layers == 1 else cell.cells)]

    def build(self, input_shape):
        self.rnn.build(tuple(input_shape))
        self.built = True

    def call(self, inputs, mask=None, training=False):
        out = self.rnn(inputs, mask=mask, training=training)
        outputs, flat = out[0], list(out[1:])
        if self.encoder_type == "uni":
            return outputs, per_layer_states(flat, self.num_layers)
        half = len(flat) // 2
        fw = per_layer_states(flat[:half], self.num_layers)
        bw = per_layer_states(flat[half:], self.num_layers)
        states = [[ops.concatenate([f, b], axis=-1) for f, b in zip(fl, bl)] for fl, bl in zip(fw, bw)]
        return outputs, states

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"cell_type": self.cell_type, "num_units": self.num_units, "num_layers": self.num_layers,
                       "encoder_type": self.encoder_type, "dropout": self.dropout, "seed": self.seed})
        return config
