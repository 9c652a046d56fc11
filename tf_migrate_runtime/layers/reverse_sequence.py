"""`ReverseSequence`: TF1 `tf.reverse_sequence` (what `bidirectional_dynamic_rnn` runs its backward cell on).

On TensorFlow the op itself; elsewhere a `keras.ops.take_along_axis` of the reversed indices (same result)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class ReverseSequence(keras.layers.Layer):
    """Reverses the first `lengths[b]` steps of each batch entry along `seq_axis`; later steps stay in place.

    Args:
        seq_axis: the time axis. batch_axis: the batch axis (0 or 1).

    Call arguments:
        inputs: the sequence. lengths: int tensor `[B]`.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4, dtype="float32").reshape(1, 4)
        >>> keras.ops.convert_to_numpy(ReverseSequence(1, 0)(x, np.array([3]))).tolist()
        [[2.0, 1.0, 0.0, 3.0]]
    """

    def __init__(self, seq_axis=1, batch_axis=0, **kwargs):
        super().__init__(**kwargs)
        self.seq_axis, self.batch_axis = int(seq_axis), int(batch_axis)

    def call(self, inputs, lengths):
        if keras.backend.backend() == "tensorflow":
            # TF1's own kernel, one op; the take_along_axis below is many small ops (80 ms a call eagerly, issue 22)
            import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

            return tf.reverse_sequence(inputs, keras.ops.cast(lengths, "int64"), seq_axis=self.seq_axis,
                                       batch_axis=self.batch_axis)
        x = inputs
        if (self.batch_axis, self.seq_axis) != (0, 1):
            x = keras.ops.moveaxis(x, (self.batch_axis, self.seq_axis), (0, 1))
        steps = keras.ops.arange(keras.ops.shape(x)[1])[None, :]
        lengths = keras.ops.cast(lengths, "int32")[:, None]
        idx = keras.ops.where(steps < lengths, lengths - 1 - steps, steps)
        while len(idx.shape) < len(x.shape):
            idx = keras.ops.expand_dims(idx, -1)
        y = keras.ops.take_along_axis(x, keras.ops.broadcast_to(idx, keras.ops.shape(x)), axis=1)
        if (self.batch_axis, self.seq_axis) != (0, 1):
            y = keras.ops.moveaxis(y, (0, 1), (self.batch_axis, self.seq_axis))
        return y

    def compute_output_spec(self, inputs, lengths):
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"seq_axis": self.seq_axis, "batch_axis": self.batch_axis})
        return config
