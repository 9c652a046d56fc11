"""TF1 training losses as Keras 3 losses (keras.ops only, any backend), for models `convert --from-graph` generates.

`TF1CrossEntropy` reproduces a TF1 graph's softmax cross-entropy loss exactly, reductions included:

    reduction="mean"           tf.reduce_mean(ce * w)                 (w = 1 without weights)
    reduction="sum"            tf.reduce_sum(ce * w)
    reduction="weighted_mean"  tf.reduce_sum(ce * w) / (tf.reduce_sum(w) + 1e-12)
                               = contrib.seq2seq.sequence_loss (average_across_timesteps and _batch), TF <= 1.12
    reduction="weighted_mean_no_nan"
                               tf.div_no_nan(tf.reduce_sum(ce * w), tf.reduce_sum(w))
                               = the same sequence_loss from TF 1.13 on (0 when every weight is 0)

`scale` multiplies the reduced loss by a constant, as a TF1 graph that trained on `tf.losses.*(...) * 0.5` or
`2.0 * tf.reduce_mean(...)` did (its gradients, and so each optimizer step, are scaled the same way).

`ce` is the per-element cross-entropy of `y_pred` (logits, classes on the last axis) against `y_true` (ids when
`sparse`, else probabilities on the last axis); `w` is the `sample_weight` given to `fit` / `__call__` (e.g.
`sequence_mask(target_lengths, time_steps)`). Both are flattened, so labels `[batch, time]` against logits
`[batch * time, classes]` (a graph that reshaped the logits before the loss) work as in TF1.

    model.compile(optimizer="adam", loss=TF1CrossEntropy(sparse=True, reduction="weighted_mean"))
    model.fit(x, targets, sample_weight=sequence_mask(target_lengths, targets.shape[1]))
"""

from __future__ import annotations

import math

import keras
from keras import ops

REDUCTIONS = ("mean", "sum", "weighted_mean", "weighted_mean_no_nan")
EPSILON = 1e-12   # contrib.seq2seq.sequence_loss's guard on the weight sum


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TF1CrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy from logits with TF1's reduction (see the module docstring).

    Args:
        sparse: `y_true` holds class ids (`sparse_softmax_cross_entropy_with_logits`, or a one-hot of ids) rather
            than a distribution over the last axis (`softmax_cross_entropy_with_logits(_v2)`).
        reduction: "mean", "sum", "weighted_mean" or "weighted_mean_no_nan".
        scale: a constant factor on the reduced loss (1.0: none).
        name: the loss name.

    Example:
        >>> loss = TF1CrossEntropy(sparse=True, reduction="weighted_mean")
        >>> float(loss(ops.array([[1, 0]]), ops.zeros((1, 2, 3)), ops.array([[1.0, 0.0]])))  # doctest: +ELLIPSIS
        1.0986...
    """

    def __init__(self, sparse: bool = True, reduction: str = "mean", scale: float = 1.0,
                 name: str = "tf1_cross_entropy", **kwargs):
        if reduction not in REDUCTIONS:
            raise ValueError(f"TF1CrossEntropy: reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}")
        if not math.isfinite(float(scale)):
            raise ValueError(f"TF1CrossEntropy: scale {scale!r}; expected a finite number")
        kwargs.pop("dtype", None)
        super().__init__(name=name, reduction=None)
        self.sparse = bool(sparse)
        self.tf1_reduction = reduction
        self.scale = float(scale)

    def per_element(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        classes = logits.shape[-1]
        logits = ops.reshape(logits, (-1, classes))
        log_p = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
        if self.sparse:
            ids = ops.reshape(ops.cast(y_true, "int32"), (-1,))
            return -ops.sum(ops.one_hot(ids, classes, dtype=log_p.dtype) * log_p, axis=-1)
        labels = ops.reshape(ops.cast(y_true, "float32"), (-1, classes))
        return -ops.sum(labels * log_p, axis=-1)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.call(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred, sample_weight=None):
        value = self.reduced(y_true, y_pred, sample_weight)
        return value if self.scale == 1.0 else value * ops.cast(self.scale, value.dtype)

    def reduced(self, y_true, y_pred, sample_weight=None):
        """The cross-entropy with TF1's reduction, before `scale`."""
        ce = self.per_element(y_true, y_pred)
        if sample_weight is None:
            w = None
        else:
            w = ops.reshape(ops.cast(sample_weight, ce.dtype), (-1,))
        total = ops.sum(ce if w is None else ce * w)
        if self.tf1_reduction == "sum":
            return total
        if self.tf1_reduction == "mean":
            return total / ops.cast(ops.shape(ce)[0], ce.dtype)
        weight_sum = ops.cast(ops.shape(ce)[0], ce.dtype) if w is None else ops.sum(w)
        if self.tf1_reduction == "weighted_mean_no_nan":
            safe = ops.where(ops.equal(weight_sum, 0), ops.ones_like(weight_sum), weight_sum)
            return ops.where(ops.equal(weight_sum, 0), ops.zeros_like(total), total / safe)
        return total / (weight_sum + EPSILON)

    def get_config(self):
        config = {"name": self.name, "sparse": self.sparse, "reduction": self.tf1_reduction}
        if self.scale != 1.0:
            config["scale"] = self.scale
        return config


def sequence_mask(lengths, maxlen, dtype="float32"):
    """`tf.sequence_mask(lengths, maxlen, dtype)`: `[batch, maxlen]`, 1 where the step is inside the length."""
    steps = ops.arange(int(maxlen))
    return ops.cast(ops.expand_dims(steps, 0) < ops.expand_dims(ops.cast(lengths, "int32"), 1), dtype)
