"""Sequence-length helpers: TF1 `sequence_mask` and `dynamic_rnn`'s zeroed outputs past each length."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class SequenceMask(keras.layers.Layer):
    """`tf.sequence_mask(lengths, maxlen=T)`: `[B]` lengths and a `[B, T, ...]` reference -> `[B, T]` booleans.

    Call arguments:
        lengths: int tensor `[B]`.
        reference: a tensor whose axis `time_axis` has the length T.

    Returns:
        bool tensor `[B, T]` (`[T, B]` when `time_major`): True where the step is inside the length.

    Example:
        >>> tuple(SequenceMask()(keras.ops.array([1, 3]), keras.ops.zeros((2, 3, 4))).shape)
        (2, 3)
    """

    def __init__(self, time_major=False, **kwargs):
        super().__init__(**kwargs)
        self.time_major = bool(time_major)

    def call(self, lengths, reference):
        axis = 0 if self.time_major else 1
        steps = keras.ops.arange(keras.ops.shape(reference)[axis])
        lengths = keras.ops.cast(lengths, "int32")
        mask = keras.ops.expand_dims(steps, 0) < keras.ops.expand_dims(lengths, 1)
        return keras.ops.transpose(mask) if self.time_major else mask

    def compute_output_spec(self, lengths, reference):
        b, t = (reference.shape[1], reference.shape[0]) if self.time_major else (reference.shape[0], reference.shape[1])
        shape = (t, b) if self.time_major else (b, t)
        return keras.KerasTensor(shape, dtype="bool")

    def get_config(self):
        config = super().get_config()
        config["time_major"] = self.time_major
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class ZeroPastLength(keras.layers.Layer):
    """Zeroes a batch-major `[B, T, ...]` sequence at the steps a `[B, T]` boolean `keep` marks False (TF1 `dynamic_rnn`
    writes zeros past `sequence_length`; Keras RNN layers repeat the last valid output there).

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 3, 2), "float32"); m = np.array([[True, True, False]])
        >>> keras.ops.convert_to_numpy(ZeroPastLength()(x, m))[0, :, 0].tolist()
        [1.0, 1.0, 0.0]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # consumes the RNN's mask: the zeros stand for it

    def compute_mask(self, sequence, keep=None, mask=None):
        return None

    def call(self, sequence, keep):
        m = keras.ops.cast(keep, sequence.dtype)
        while len(m.shape) < len(sequence.shape):
            m = keras.ops.expand_dims(m, -1)
        return sequence * m

    def compute_output_spec(self, sequence, keep):
        return keras.KerasTensor(sequence.shape, dtype=sequence.dtype)
