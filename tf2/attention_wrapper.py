"""One decoder time step with attention, as `tf.contrib.seq2seq.AttentionWrapper` computes it."""

from __future__ import annotations

import keras
from keras import ops

from tf2.bahdanau_attention import BahdanauAttention
from tf2.luong_attention import LuongAttention

# hparams.attention -> (mechanism class, kwargs). Source: tensorflow/contrib/seq2seq/python/ops/
# attention_wrapper.py (TF 1.15): LuongAttention(scale=...), BahdanauAttention(normalize=...).
ATTENTION_MECHANISMS = {
    "luong": (LuongAttention, {"scale": False}),
    "scaled_luong": (LuongAttention, {"scale": True}),
    "bahdanau": (BahdanauAttention, {"normalize": False}),
    "normalized_bahdanau": (BahdanauAttention, {"normalize": True}),
}


def make_attention_mechanism(attention: str, units: int) -> keras.layers.Layer:
    if attention not in ATTENTION_MECHANISMS:
        raise ValueError(f"attention={attention!r}: expected one of none, {', '.join(ATTENTION_MECHANISMS)}")
    cls, kwargs = ATTENTION_MECHANISMS[attention]
    return cls(units, name=f"{cls.__name__.replace('Attention', '').lower()}_attention", **kwargs)


def run_cells(cells, inputs, states, training=False):
    """One step through stacked cells: layer `l` reads layer `l - 1`'s output (TF1 `MultiRNNCell`).

    `states` is one list per layer; returns `(top_output, new_states)` in the same structure.
    """
    new_states = []
    x = inputs
    for cell, state in zip(cells, states):
        x, state = cell(x, list(state), training=training)
        new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
    return x, new_states


@keras.saving.register_keras_serializable(package="tf2")
class AttentionWrapperCell(keras.layers.Layer):
    """Stacked cells wrapped with attention and input feeding (contrib `AttentionWrapper`).

    One step: `cell_input = concat([inputs, previous_attention])` (input feeding); the stacked cells
    run and the top cell's output is the query; `alignments = mechanism(query, keys)`;
    `context = alignments . memory` (the un-projected memory); `attention =
    attention_layer(concat([cell_output, context]))` with `attention_layer` a Dense without bias
    (TF1 `attention_layer/kernel`, `[cell_units + memory_width, attention_layer_size]`), or just the
    context when `attention_layer_size` is None. Output: the attention if `output_attention`, else
    the cell output. The initial attention is zeros.

    Args:
        cells: list of Keras RNN cells, one per decoder layer.
        mechanism: a `LuongAttention` or `BahdanauAttention` layer.
        memory_width: last dimension of the memory (the encoder outputs).
        attention_layer_size: int or None.
        output_attention: bool.
        **kwargs: base `Layer` arguments.

    Call arguments:
        inputs: float `[B, E]`, the embedded decoder input of this step.
        states: tuple `(cell_states, attention)`: one state list per layer, and float `[B, A]`.
        memory: float `[B, S, memory_width]`, zeros at padded positions.
        keys: float `[B, S, units]`, `mechanism.process_memory(memory, memory_mask)`.
        memory_mask: bool `[B, S]`.
        training: bool, enables the cells' input dropout.

    Returns:
        `(output, (cell_states, attention), alignments)`; `alignments` is float `[B, S]`.

    Example:

    >>> cells = [keras.layers.LSTMCell(6)]
    >>> wrapper = AttentionWrapperCell(cells, LuongAttention(6), memory_width=6, attention_layer_size=5)
    >>> wrapper.build((None, 3))
    >>> memory, mask = keras.random.normal((2, 4, 6)), ops.ones((2, 4), "bool")
    >>> keys = wrapper.mechanism.process_memory(memory, mask)
    >>> states = ([[ops.zeros((2, 6)), ops.zeros((2, 6))]], ops.zeros((2, 5)))
    >>> out, states, alignments = wrapper(ops.ones((2, 3)), states, memory, keys, mask)
    >>> tuple(out.shape), tuple(alignments.shape)
    ((2, 5), (2, 4))
    """

    def __init__(self, cells, mechanism, memory_width, attention_layer_size=None, output_attention=True, **kwargs):
        super().__init__(**kwargs)
        self.cells = list(cells)
        self.mechanism = mechanism
        self.memory_width = memory_width
        self.attention_layer_size = attention_layer_size
        self.output_attention = output_attention
        self.attention_layer = (keras.layers.Dense(attention_layer_size, use_bias=False, name="attention_layer")
                                if attention_layer_size else None)

    @property
    def attention_width(self):
        return self.attention_layer_size or self.memory_width

    @property
    def cell_units(self):
        return self.cells[-1].units

    @property
    def output_size(self):
        return self.attention_width if self.output_attention else self.cell_units

    def build(self, input_shape):
        width = input_shape[-1] + self.attention_width
        for cell in self.cells:
            cell.build((None, width))
            width = cell.units
        self.mechanism.build((None, None, self.memory_width), query_shape=(None, self.cell_units))
        if self.attention_layer is not None:
            self.attention_layer.build((None, self.cell_units + self.memory_width))
        self.built = True

    def initial_attention(self, batch_size):
        return ops.zeros((batch_size, self.attention_width), dtype=self.compute_dtype)

    def call(self, inputs, states, memory, keys, memory_mask, training=False):
        cell_states, attention = states
        cell_output, cell_states = run_cells(self.cells, ops.concatenate([inputs, attention], axis=-1),
                                             cell_states, training=training)
        alignments = self.mechanism(cell_output, keys, memory_mask)
        context = ops.squeeze(ops.matmul(ops.expand_dims(alignments, 1), memory), 1)  # [B, memory_width]
        if self.attention_layer is not None:
            attention = self.attention_layer(ops.concatenate([cell_output, context], axis=-1))
        else:
            attention = context
        output = attention if self.output_attention else cell_output
        return output, (cell_states, attention), alignments

    def get_config(self):
        config = super().get_config()
        config.update({
            "cells": [keras.saving.serialize_keras_object(c) for c in self.cells],
            "mechanism": keras.saving.serialize_keras_object(self.mechanism),
            "memory_width": self.memory_width,
            "attention_layer_size": self.attention_layer_size,
            "output_attention": self.output_attention,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cells"] = [keras.saving.deserialize_keras_object(c) for c in config["cells"]]
        config["mechanism"] = keras.saving.deserialize_keras_object(config["mechanism"])
        return cls(**config)
