"""The training loss: contrib `sequence_loss`'s default, as a Keras loss."""

from __future__ import annotations

import keras
from keras import ops

from tf2.backend import global_token_count


@keras.saving.register_keras_serializable(package="tf2")
class SequenceLoss(keras.losses.Loss):
    """Mean sparse cross-entropy over the valid target tokens (mask: `y_true != 0`).

    Equals `tf.contrib.seq2seq.sequence_loss(logits, targets, weights)` with its defaults
    (`average_across_timesteps=True, average_across_batch=True`) and `weights =
    tf.sequence_mask(target_lengths, T)`: `sum(xent * w) / sum(w)`.

    Under a `tf.distribute` strategy (TensorFlow backend) each replica returns `sum(xent * w)` of its shard divided by
    `sum(w)` over ALL replicas (an all-reduce), so the summed replica gradients are the gradients
    of the global mean and the logged loss equals the one-device loss on the same global batch.
    (The call returns a scalar, which Keras neither reduces nor rescales.)

    Args:
        name: loss name.
        reduction: kept for the `Loss` API; the call already returns the scalar mean.

    Call arguments:
        y_true: int `[B, T]`, target ids (`decoder_target_ids`), 0 at padding.
        y_pred: float `[B, T, V]`, logits.

    Returns:
        A float32 scalar.

    Example:

    >>> loss = SequenceLoss()
    >>> y_true = ops.array([[4, 2, 0]])
    >>> round(float(loss(y_true, ops.zeros((1, 3, 5)))), 4)  # log(5) over the 2 valid tokens
    1.6094
    """

    def __init__(self, name="sequence_loss", reduction="sum", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        weights = ops.cast(ops.not_equal(y_true, 0), "float32")
        xent = ops.sparse_categorical_crossentropy(y_true, ops.cast(y_pred, "float32"), from_logits=True)
        total = ops.sum(xent * weights)
        count = global_token_count(ops.sum(weights))
        return ops.divide_no_nan(total, count)
