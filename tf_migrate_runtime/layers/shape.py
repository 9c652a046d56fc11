"""Shapes known only at run time: a dimension of a tensor (`DimOf`) and a reshape to such a shape
(`DynamicReshape`). Functional Keras models are traced with unknown batch / time sizes; these layers read them
when the model runs."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class DimOf(keras.layers.Layer):
    """`tf.shape(x)[axis]`: an int32 scalar.

    Example:
        >>> int(DimOf(1)(keras.ops.zeros((2, 7))))
        7
    """

    def __init__(self, axis, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, x):
        return keras.ops.cast(keras.ops.shape(x)[self.axis], "int32")

    def compute_output_spec(self, x):
        return keras.KerasTensor((), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class DynamicReshape(keras.layers.Layer):
    """Reshape to a shape whose entries are ints or dimensions of other tensors.

    Args:
        spec: one entry per output axis: an int, or `[k, axis]` = dimension `axis` of the k-th reference.

    Call arguments:
        inputs: the tensor to reshape. *refs: the reference tensors.

    Example:
        >>> x = keras.ops.zeros((2, 3, 4)); y = DynamicReshape([[0, 0], [0, 1], 2, 2])(x, x)
        >>> tuple(y.shape)
        (2, 3, 2, 2)
    """

    def __init__(self, spec, **kwargs):
        super().__init__(**kwargs)
        self.spec = [list(s) if isinstance(s, (list, tuple)) else int(s) for s in spec]

    def call(self, inputs, *refs):
        shape = [keras.ops.shape(refs[s[0]])[s[1]] if isinstance(s, list) else s for s in self.spec]
        return keras.ops.reshape(inputs, shape)

    def compute_output_spec(self, inputs, *refs):
        shape = tuple(refs[s[0]].shape[s[1]] if isinstance(s, list) else (None if s == -1 else s) for s in self.spec)
        return keras.KerasTensor(shape, dtype=inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["spec"] = self.spec
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Range(keras.layers.Layer):
    """`tf.range(start, limit, delta)` whose bounds are known only at run time (e.g. `sequence_mask(lengths,
    tf.shape(logits)[1])`): `keras.ops.arange` on tensors, inside a layer so the functional model can hold it.

    Example:
        >>> keras.ops.convert_to_numpy(Range(dtype_name="int32")(keras.ops.array(3), start=0, delta=1)).tolist()
        [0, 1, 2]
    """

    def __init__(self, dtype_name="int32", **kwargs):
        super().__init__(**kwargs)
        self.dtype_name = dtype_name

    def call(self, limit, start=0, delta=1):
        return keras.ops.arange(start, limit, delta, dtype=self.dtype_name)

    def compute_output_spec(self, limit, start=0, delta=1):
        return keras.KerasTensor((None,), dtype=self.dtype_name)

    def get_config(self):
        config = super().get_config()
        config["dtype_name"] = self.dtype_name
        return config
