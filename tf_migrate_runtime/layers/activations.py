"""Activations of earlier Keras versions that Keras 3 defines differently, kept exact for converted models.

Registered with `keras.saving.register_keras_serializable(package="tf_migrate_runtime")`: a layer built with one
saves it by name and reloads it after `import tf_migrate_runtime.layers`. `tfm.LSTM` / `GRU` / `SimpleRNN` take it
by name too (`tfm.LSTM(..., recurrent_activation="keras2_hard_sigmoid")`, what converted models write).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
def keras2_hard_sigmoid(x):
    """Keras 2's (and tf.keras 1.x / 2.x's) `hard_sigmoid`: `clip(0.2 * x + 0.5, 0, 1)`.

    Keras 3's `keras.activations.hard_sigmoid` is another function, `relu6(x + 3) / 6` (slope 1/6, saturating at
    +-3 instead of +-2.5): a Keras 2 `LSTM` / `GRU` (whose default `recurrent_activation` this was) keeps its results
    only with this one. A TF1 graph computes it as `clip_by_value(0.2 * x + 0.5, 0., 1.)` (Keras 2's TensorFlow
    backend, `keras/backend/tensorflow_backend.py`).

    Args:
        x: a tensor.

    Returns:
        `clip(0.2 * x + 0.5, 0, 1)`, the dtype of `x`.

    Example:
        >>> import numpy as np
        >>> [round(float(v), 3) for v in keras2_hard_sigmoid(np.array([-3.0, 0.0, 1.0, 3.0], "float32"))]
        [0.0, 0.5, 0.7, 1.0]
    """
    x = keras.ops.convert_to_tensor(x)
    return keras.ops.clip(keras.ops.add(keras.ops.multiply(x, 0.2), 0.5), 0.0, 1.0)
