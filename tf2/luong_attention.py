"""Luong's multiplicative attention, as `tf.contrib.seq2seq.LuongAttention` computes it."""

from __future__ import annotations

import keras
from keras import ops

# Score of padded memory positions before the softmax (contrib's default `score_mask_value`).
NEG_INF = float("-inf")


@keras.saving.register_keras_serializable(package="tf2")
class LuongAttention(keras.layers.Layer):
    """Luong attention: `score = g * (query . keys^T)`, alignments = masked softmax of the scores.

    TF1 counterpart: `tf.contrib.seq2seq.LuongAttention(num_units, memory, memory_sequence_length,
    scale)`. `keys = memory_layer(memory)` with `memory_layer` a Dense without bias (TF1 variable
    `memory_layer/kernel`, layout `[memory_width, units]`, same as Keras). `scale=True` adds the
    scalar `attention_g` (TF1 `luong_attention/attention_g`, init 1.0). The query is the decoder's
    top cell output, used as is (Luong has no query layer), so its width must equal `units`.

    Args:
        units: depth of the keys (the mechanism's `num_units`).
        scale: whether to learn the scalar `attention_g` ("scaled_luong").
        **kwargs: base `Layer` arguments.

    Call arguments:
        query: float `[B, units]`.
        keys: float `[B, S, units]`, from `process_memory`.
        memory_mask: bool `[B, S]`, True at real memory positions.

    Returns:
        Alignments, float `[B, S]`, rows summing to 1, exactly 0 at padded positions.

    Example:

    >>> att = LuongAttention(4, scale=True)
    >>> att.build((None, None, 6))
    >>> keys = att.process_memory(keras.random.normal((2, 3, 6)), ops.ones((2, 3), "bool"))
    >>> tuple(att(keras.random.normal((2, 4)), keys, ops.ones((2, 3), "bool")).shape)
    (2, 3)
    """

    def __init__(self, units, scale=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale
        self.memory_layer = keras.layers.Dense(units, use_bias=False, name="memory_layer")
        self.query_layer = None
        self.attention_g = None

    def build(self, memory_shape, query_shape=None):
        self.memory_layer.build(tuple(memory_shape))
        if self.scale:
            self.attention_g = self.add_weight(name="attention_g", shape=(), initializer="ones")
        self.built = True

    def process_memory(self, memory, memory_mask):
        """The keys: `memory_layer(memory)`, zeroed at padded positions."""
        return self.memory_layer(memory) * ops.expand_dims(ops.cast(memory_mask, memory.dtype), -1)

    def score(self, query, keys):
        score = ops.squeeze(ops.matmul(keys, ops.expand_dims(query, -1)), -1)  # [B, S]
        if self.scale:
            score = self.attention_g * score
        return score

    def call(self, query, keys, memory_mask):
        score = ops.where(memory_mask, self.score(query, keys), NEG_INF)
        return ops.softmax(score, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "scale": self.scale})
        return config
