"""`tf.contrib.seq2seq.sequence_loss`, as in TF 1.15's contrib/seq2seq/python/ops/loss.py.

Reductions (crossent = weighted per-token cross-entropy `[B, T]`), exactly contrib's branch order:

| average_across_timesteps | average_across_batch | sum_over_timesteps | sum_over_batch | result                                |
|--------------------------|----------------------|--------------------|----------------|---------------------------------------|
| True                     | True                 | -                  | -              | sum(crossent) / sum(w)          []    |
| False                    | False                | True               | True           | sum(crossent) / count_nonzero(w) []   |
| True                     | False                | any                | any            | sum_t(crossent) / sum_t(w)      [B]   |
| False                    | True                 | any                | any            | sum_b(crossent) / sum_b(w)      [T]   |
| False                    | False                | True               | False          | sum_t(crossent) / nnz_t(w)      [B]   |
| False                    | False                | False              | True           | sum_b(crossent) / nnz_b(w)      [T]   |
| False                    | False                | False              | False          | crossent                        [B,T] |

`average_*` and `sum_*` on the same axis raise `ValueError`; an `average_*` flag wins over a `sum_*` flag
on the other axis (contrib's `if average... elif sum...`). Divisions are `div_no_nan`.
"""

import tensorflow as tf

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)


def sequence_loss(logits, targets, weights, average_across_timesteps=True, average_across_batch=True,
                  sum_over_timesteps=False, sum_over_batch=False, softmax_loss_function=None, name=None):
    """Weighted cross-entropy loss for a sequence of logits.

    Args:
        logits: float Tensor `[batch_size, sequence_length, num_decoder_symbols]`.
        targets: int Tensor `[batch_size, sequence_length]`, the true class at each step.
        weights: float Tensor `[batch_size, sequence_length]`; 1 at valid steps and 0 at padding,
            e.g. `tf.sequence_mask(lengths, maxlen, tf.float32)`.
        average_across_timesteps: sum over the time axis and divide by the total weight there.
        average_across_batch: sum over the batch axis and divide by the total weight there.
        sum_over_timesteps: sum over the time axis and divide by the number of non-zero weights there.
        sum_over_batch: sum over the batch axis and divide by the number of non-zero weights there.
        softmax_loss_function: `fn(labels=..., logits=...)` used instead of
            `sparse_softmax_cross_entropy_with_logits`.
        name: name scope, default `"sequence_loss"`.

    Returns:
        A float Tensor of rank 0, 1 or 2 (see the module table); by default the mean cross-entropy
        over the valid tokens.

    Raises:
        ValueError: wrong ranks, or `average_*` and `sum_*` set for the same axis.
    """
    if len(logits.get_shape()) != 3:
        raise ValueError("Logits must be a [batch_size x sequence_length x logits] tensor")
    if len(targets.get_shape()) != 2:
        raise ValueError("Targets must be a [batch_size x sequence_length] tensor")
    if len(weights.get_shape()) != 2:
        raise ValueError("Weights must be a [batch_size x sequence_length] tensor")
    if average_across_timesteps and sum_over_timesteps:
        raise ValueError("average_across_timesteps and sum_over_timesteps cannot be set to True at same time.")
    if average_across_batch and sum_over_batch:
        raise ValueError("average_across_batch and sum_over_batch cannot be set to True at same time.")
    with tf.compat.v1.name_scope(name, "sequence_loss", [logits, targets, weights]):
        num_classes = tf.shape(logits)[2]
        logits_flat = tf.reshape(logits, [-1, num_classes])
        targets = tf.reshape(targets, [-1])
        if softmax_loss_function is None:
            crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits_flat)
        else:
            crossent = softmax_loss_function(labels=targets, logits=logits_flat)
        crossent *= tf.reshape(weights, [-1])
        if average_across_timesteps and average_across_batch:
            crossent = tf.reduce_sum(crossent)
            total_size = tf.reduce_sum(weights)
            crossent = tf.math.divide_no_nan(crossent, total_size)
        elif sum_over_timesteps and sum_over_batch:
            crossent = tf.reduce_sum(crossent)
            total_count = tf.cast(tf.math.count_nonzero(weights), crossent.dtype)
            crossent = tf.math.divide_no_nan(crossent, total_count)
        else:
            crossent = tf.reshape(crossent, tf.shape(logits)[0:2])
            if average_across_timesteps or average_across_batch:
                reduce_axis = [0] if average_across_batch else [1]
                crossent = tf.reduce_sum(crossent, axis=reduce_axis)
                total_size = tf.reduce_sum(weights, axis=reduce_axis)
                crossent = tf.math.divide_no_nan(crossent, total_size)
            elif sum_over_timesteps or sum_over_batch:
                reduce_axis = [0] if sum_over_batch else [1]
                crossent = tf.reduce_sum(crossent, axis=reduce_axis)
                total_count = tf.cast(tf.math.count_nonzero(weights, axis=reduce_axis), dtype=crossent.dtype)
                crossent = tf.math.divide_no_nan(crossent, total_count)
        return crossent
