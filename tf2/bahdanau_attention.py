"""Bahdanau's additive attention, as `tf.contrib.seq2seq.BahdanauAttention` computes it."""

from __future__ import annotations

import math

import keras
from keras import ops

from tf2.luong_attention import NEG_INF


@keras.saving.register_keras_serializable(package="tf2")
class BahdanauAttention(keras.layers.Layer):
    """Bahdanau attention: `score = sum(v * tanh(keys + query_layer(query)))`, masked softmax.

    TF1 counterpart: `tf.contrib.seq2seq.BahdanauAttention(num_units, memory,
    memory_sequence_length, normalize)`. Weights and their TF1 variables (same layouts):
    `query_layer` Dense without bias (`bahdanau_attention/query_layer/kernel`, `[query_width,
    units]`), `memory_layer` Dense without bias (`memory_layer/kernel`, `[memory_width, units]`),
    `attention_v` `[units]` (`bahdanau_attention/attention_v`). With `normalize=True`
    ("normalized_bahdanau", weight normalisation): scalar `attention_g` (init `sqrt(1/units)`) and
    `attention_b` `[units]` (init 0), and the score is
    `sum(g * v / ||v|| * tanh(keys + processed_query + b))`.

    Args:
        units: depth of keys and processed query (the mechanism's `num_units`).
        normalize: weight-normalised variant.
        **kwargs: base `Layer` arguments.

    Call arguments:
        query: float `[B, query_width]`.
        keys: float `[B, S, units]`, from `process_memory`.
        memory_mask: bool `[B, S]`, True at real memory positions.

    Returns:
        Alignments, float `[B, S]`, rows summing to 1, exactly 0 at padded positions.

    Example:

    >>> att = BahdanauAttention(4, normalize=True)
    >>> att.build((None, None, 6), query_shape=(None, 5))
    >>> keys = att.process_memory(keras.random.normal((2, 3, 6)), ops.ones((2, 3), "bool"))
    >>> tuple(att(keras.random.normal((2, 5)), keys, ops.ones((2, 3), "bool")).shape)
    (2, 3)
    """

    def __init__(self, units, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.normalize = normalize
        self.memory_layer = keras.layers.Dense(units, use_bias=False, name="memory_layer")
        self.query_layer = keras.layers.Dense(units, use_bias=False, name="query_layer")
        self.attention_g = None
        self.attention_b = None

    def build(self, memory_shape, query_shape=None):
        self.memory_layer.build(tuple(memory_shape))
        self.query_layer.build(tuple(query_shape) if query_shape else (None, self.units))
        self.attention_v = self.add_weight(name="attention_v", shape=(self.units,), initializer="glorot_uniform")
        if self.normalize:
            self.attention_g = self.add_weight(
                name="attention_g", shape=(), initializer=keras.initializers.Constant(math.sqrt(1.0 / self.units)))
            self.attention_b = self.add_weight(name="attention_b", shape=(self.units,), initializer="zeros")
        self.built = True

    def process_memory(self, memory, memory_mask):
        """The keys: `memory_layer(memory)`, zeroed at padded positions."""
        return self.memory_layer(memory) * ops.expand_dims(ops.cast(memory_mask, memory.dtype), -1)

    def score(self, query, keys):
        processed = ops.expand_dims(self.query_layer(query), 1)
        if self.normalize:
            v = self.attention_g * self.attention_v * ops.rsqrt(ops.sum(ops.square(self.attention_v)))
            return ops.sum(v * ops.tanh(keys + processed + self.attention_b), axis=-1)
        return ops.sum(self.attention_v * ops.tanh(keys + processed), axis=-1)

    def call(self, query, keys, memory_mask):
        score = ops.where(memory_mask, self.score(query, keys), NEG_INF)
        return ops.softmax(score, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "normalize": self.normalize})
        return config
