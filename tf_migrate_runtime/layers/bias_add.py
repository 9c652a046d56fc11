"""`BiasAdd`: TF1's `tf.nn.bias_add` with its own bias variable (a bias not folded into a Dense)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class BiasAdd(keras.layers.Layer):
    """Adds a trainable bias along the last axis.

    Args:
        units: the bias length (the input's last dimension).

    Call arguments:
        inputs: a tensor `[..., units]`.

    Returns:
        `inputs + bias`.

    Example:
        >>> tuple(BiasAdd(4)(keras.ops.zeros((2, 4))).shape)
        (2, 4)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.built = True

    def call(self, inputs):
        return inputs + self.bias

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config
