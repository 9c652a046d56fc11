"""The decoder: stacked cells, optionally wrapped with attention, over embedded target ids."""

from __future__ import annotations

import keras
from keras import ops

from tf2.attention_wrapper import AttentionWrapperCell, make_attention_mechanism, run_cells
from tf2.backend import scan
from tf2.cells import make_cell, stack_cells, stacked_states


@keras.saving.register_keras_serializable(package="tf2")
class Decoder(keras.layers.Layer):
    """Teacher-forced decoder over time, plus the single `step` the decoding loops call.

    Without attention, the cells run in a `keras.layers.RNN` (TF1: `dynamic_rnn` over the
    `MultiRNNCell`). With attention, each step is an `AttentionWrapperCell` and the time loop is
    `tf2.backend.scan` (Keras 3's `RNN` cannot pass the memory to its cell): `keras.ops.scan`
    (`jax.lax.scan` on JAX, a Python loop on PyTorch), and on TensorFlow a `keras.ops.while_loop` with
    `maximum_iterations` over a preallocated output, which XLA can differentiate (Keras's TF `scan` has
    none). Both start from the encoder-derived state per layer.

    Padded steps (`mask` False, i.e. decoder id 0): the outputs there are zeros, as TF1's
    `dynamic_rnn` emits, so the projection yields exactly its bias there (contract item 7).

    Args:
        cell_type: `"lstm"`, `"basic_lstm"` or `"gru"`.
        units: units of every decoder cell (`hparams.decoder_units`).
        num_layers: stacked cells.
        attention: `"none"` or a key of `tf2.attention_wrapper.ATTENTION_MECHANISMS`.
        attention_layer_size: int or None (AttentionWrapper's `attention_layer_size`).
        output_attention: bool (AttentionWrapper's `output_attention`).
        dropout: input dropout of every cell, training only.
        seed: dropout seed.
        **kwargs: base `Layer` arguments.

    Call arguments:
        inputs: float `[B, T, E]`, the embedded decoder inputs (`<s>`-prefixed targets).
        initial_state: one state list per layer (`[h, c]` or `[h]`), each `[B, units]`.
        memory: float `[B, S, units]`, the encoder outputs (attention only).
        memory_mask: bool `[B, S]` (attention only).
        mask: bool `[B, T]`, True at real decoder inputs.
        training: bool.

    Returns:
        Float `[B, T, output_size]`, zeros at padded steps.

    Example:

    >>> dec = Decoder("gru", units=8, num_layers=2, attention="bahdanau", attention_layer_size=6)
    >>> dec.build((None, None, 4))
    >>> state = [[ops.zeros((3, 8))], [ops.zeros((3, 8))]]
    >>> memory, mm = keras.random.normal((3, 5, 8)), ops.ones((3, 5), "bool")
    >>> out = dec(keras.random.normal((3, 7, 4)), state, memory, mm, mask=ops.ones((3, 7), "bool"))
    >>> tuple(out.shape)
    (3, 7, 6)
    """

    def __init__(self, cell_type="lstm", units=64, num_layers=1, attention="none", attention_layer_size=None,
                 output_attention=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.cell_type = cell_type
        self.units = units
        self.num_layers = num_layers
        self.attention = attention
        self.attention_layer_size = attention_layer_size
        self.output_attention = output_attention
        self.dropout = dropout
        self.seed = seed
        cells = [make_cell(cell_type, units, dropout, seed, name=f"cell_{i}") for i in range(num_layers)]
        if attention == "none":
            self.rnn = keras.layers.RNN(stack_cells(cells), return_sequences=True, zero_output_for_mask=True,
                                        name="rnn")
            self.attention_cell = None
        else:
            self.rnn = None
            self.attention_cell = AttentionWrapperCell(
                cells, make_attention_mechanism(attention, units), memory_width=units,
                attention_layer_size=attention_layer_size, output_attention=output_attention,
                name="attention_wrapper")

    @property
    def cells(self):
        """The decoder cells, one per layer (bottom first)."""
        if self.attention_cell is not None:
            return self.attention_cell.cells
        return [self.rnn.cell] if self.num_layers == 1 else list(self.rnn.cell.cells)

    @property
    def output_size(self):
        return self.attention_cell.output_size if self.attention_cell is not None else self.units

    def build(self, input_shape):
        if self.attention_cell is not None:
            self.attention_cell.build((None, input_shape[-1]))
        else:
            self.rnn.build(tuple(input_shape))
        self.built = True

    # The loop state: per-layer cell states for "none"; `(cell_states, attention)` with attention.
    def initial_loop_state(self, initial_state):
        states = [list(s) for s in initial_state]
        if self.attention_cell is None:
            return states
        return states, self.attention_cell.initial_attention(ops.shape(states[0][0])[0])

    def process_memory(self, memory, memory_mask):
        """Attention keys for `step` (None without attention)."""
        if self.attention_cell is None:
            return None
        return self.attention_cell.mechanism.process_memory(memory, memory_mask)

    def step(self, inputs, loop_state, memory=None, keys=None, memory_mask=None, training=False):
        """One time step: `inputs` `[B, E]` -> `(output, loop_state, alignments or None)`."""
        if self.attention_cell is None:
            output, states = run_cells(self.cells, inputs, loop_state, training=training)
            return output, states, None
        return self.attention_cell(inputs, loop_state, memory, keys, memory_mask, training=training)

    def call(self, inputs, initial_state, memory=None, memory_mask=None, mask=None, training=False):
        if self.attention_cell is None:
            outputs = self.rnn(inputs, initial_state=stacked_states(initial_state, self.num_layers), mask=mask,
                               training=training)
        else:
            outputs = self._attention_over_time(inputs, initial_state, memory, memory_mask, training)
        if mask is not None:
            outputs = outputs * ops.expand_dims(ops.cast(mask, outputs.dtype), -1)
        return outputs

    def _attention_over_time(self, inputs, initial_state, memory, memory_mask, training):
        keys = self.process_memory(memory, memory_mask)
        loop_state = self.initial_loop_state(initial_state)
        primed = training and self.dropout > 0
        if primed:  # one input-dropout mask per sequence and cell, as keras.layers.RNN does
            width = inputs.shape[-1] + self.attention_cell.attention_width
            for cell in self.cells:
                cell.get_dropout_mask(ops.zeros((ops.shape(inputs)[0], width), inputs.dtype))
                width = cell.units

        def step(state, x):
            output, state, _ = self.step(x, state, memory, keys, memory_mask, training=training)
            return state, output

        _, outputs = scan(step, loop_state, ops.transpose(inputs, (1, 0, 2)), (inputs.shape[0], self.output_size))
        if primed:
            for cell in self.cells:
                cell.reset_dropout_mask()
        return ops.transpose(outputs, (1, 0, 2))

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"cell_type": self.cell_type, "units": self.units, "num_layers": self.num_layers,
                       "attention": self.attention, "attention_layer_size": self.attention_layer_size,
                       "output_attention": self.output_attention, "dropout": self.dropout, "seed": self.seed})
        return config


