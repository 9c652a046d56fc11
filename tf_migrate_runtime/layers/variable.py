"""`Variable`: a TF1 variable (or a large constant) that a graph uses other than as a Dense / Embedding weight."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Variable(keras.layers.Layer):
    """Holds one weight and returns it; the TF1 `tf.Variable` read (`<var>/read`) of a converted graph.

    A functional model needs an input for every layer call: the layer is called on any model tensor
    (the "anchor"), which it ignores.

    Args:
        shape: the weight's shape.
        dtype_name: its dtype (`"float32"`, `"int32"`, ...).
        trainable: False for a constant folded from the graph.

    Call arguments:
        anchor: any tensor of the model (ignored).

    Returns:
        The weight's value.

    Example:
        >>> v = Variable((3,), name="attention_v")
        >>> tuple(v(keras.ops.zeros((2, 5))).shape)
        (3,)
    """

    def __init__(self, shape, dtype_name="float32", trainable=True, **kwargs):
        super().__init__(trainable=trainable, **kwargs)
        self.value_shape = tuple(int(d) for d in shape)
        self.dtype_name = dtype_name
        self.value = self.add_weight(name="value", shape=self.value_shape, dtype=dtype_name, trainable=trainable,
                                     initializer="zeros")
        self.built = True

    def call(self, anchor):
        return keras.ops.convert_to_tensor(self.value)

    def compute_output_spec(self, anchor):
        return keras.KerasTensor(self.value_shape, dtype=self.dtype_name)

    def get_config(self):
        config = super().get_config()
        config.update({"shape": list(self.value_shape), "dtype_name": self.dtype_name})
        return config
