"""`tf.where(condition)` with one argument (the indices `tf.boolean_mask` gathers): `Where`."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Where(keras.layers.Layer):
    """The coordinates of the true (non-zero) elements of `inputs`, int64 `[N, rank]` in row-major order, as TF1's
    `Where` op: `keras.ops.nonzero` stacked (a tuple per axis on TensorFlow / JAX, a `[rank, N]` tensor on PyTorch).

    N depends on the values, so the output's shape does too: the layer runs on TensorFlow (eagerly and in a
    `tf.function`), on PyTorch, and eagerly on JAX; under `jax.jit` (`predict`, `fit` on JAX) JAX cannot give an
    array a size it learns only at run time, and the layer refuses with a `ValueError` saying so (JAX's own error
    for it does not name the op).

    Example:
        >>> import numpy as np
        >>> keras.ops.convert_to_numpy(Where()(np.array([[True, False], [False, True]]))).tolist()
        [[0, 0], [1, 1]]
    """

    def call(self, inputs):
        if keras.backend.backend() == "jax":
            import jax  # noqa: PLC0415 - the JAX backend only

            if isinstance(inputs, jax.core.Tracer):
                raise ValueError(
                    f"{self.name}: tf.where / tf.boolean_mask (TF1's Where op) returns as many rows as its input has "
                    f"true elements, a size known only from the values; jax.jit (what predict / fit run on JAX) "
                    f"needs every size before the values: call the model eagerly on JAX (model(inputs)), or run it "
                    f"on the TensorFlow or PyTorch backend")
        rows = keras.ops.nonzero(inputs)
        return keras.ops.cast(keras.ops.stack(rows, axis=1), "int64")

    def compute_output_spec(self, inputs):
        rank = len(inputs.shape)
        return keras.KerasTensor((None, rank), dtype="int64")
