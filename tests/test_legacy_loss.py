"""`tf_migrate_runtime.contrib.seq2seq.sequence_loss` against a NumPy hand computation, every flag combination.

The reference below is written from contrib's documentation and TF 1.15 source (loss.py): weighted
per-token cross-entropy, then the reduction chosen by the four flags, with padded (weight 0) positions.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf

import legacy_tf1  # noqa: F401  (TF_USE_LEGACY_KERAS before tf.compat.v1 layers are touched)
from tf_migrate_runtime.contrib.seq2seq import sequence_loss

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

B, T, V = 3, 5, 7
LENGTHS = np.array([5, 2, 0])  # a full row, a padded row, an all-padding row (weights 0 -> div_no_nan)


def _numpy_sequence_loss(logits, targets, weights, avg_t, avg_b, sum_t, sum_b):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    xent = -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0] * weights  # [B, T]

    def div(a, b):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))

    if avg_t and avg_b:
        return div(xent.sum(), weights.sum())
    if sum_t and sum_b:
        return div(xent.sum(), np.count_nonzero(weights))
    if avg_t or avg_b:  # an average flag wins over a sum flag on the other axis (contrib's if/elif)
        axis = 0 if avg_b else 1
        return div(xent.sum(axis), weights.sum(axis))
    if sum_t or sum_b:
        axis = 0 if sum_b else 1
        return div(xent.sum(axis), np.count_nonzero(weights, axis=axis))
    return xent


FLAGS = list(itertools.product([True, False], repeat=4))
VALID = [f for f in FLAGS if not (f[0] and f[2]) and not (f[1] and f[3])]
INVALID = [f for f in FLAGS if f not in VALID]


def _flag_id(f):
    names = ("avg_t", "avg_b", "sum_t", "sum_b")
    return "+".join(n for n, on in zip(names, f) if on) or "none"


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    logits = rng.randn(B, T, V).astype(np.float32) * 2
    targets = rng.randint(0, V, size=(B, T)).astype(np.int32)
    weights = (np.arange(T)[None, :] < LENGTHS[:, None]).astype(np.float32)
    return logits, targets, weights


@pytest.fixture(scope="module")
def graph_run(data):
    """One graph with one loss tensor per valid flag combination, run once."""
    logits, targets, weights = data
    g = tf.Graph()
    with g.as_default():
        lt, tt = tf.constant(logits), tf.constant(targets)
        wt = tf.sequence_mask(tf.constant(LENGTHS), T, dtype=tf.float32)  # weights as the model builds them
        losses = {f: sequence_loss(lt, tt, wt, *f) for f in VALID}
    with tf.compat.v1.Session(graph=g) as sess:
        return sess.run(losses)


@pytest.mark.parametrize("flags", VALID, ids=[_flag_id(f) for f in VALID])
def test_matches_numpy(flags, data, graph_run):
    expected = _numpy_sequence_loss(*data, *flags)
    got = graph_run[flags]
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_default_is_mean_over_valid_tokens(data, graph_run):
    logits, targets, weights = data
    xent = -np.log(np.exp(logits) / np.exp(logits).sum(-1, keepdims=True))
    per_token = np.take_along_axis(xent, targets[..., None], -1)[..., 0]
    valid = weights > 0
    assert valid.sum() == 7
    np.testing.assert_allclose(graph_run[(True, True, False, False)], per_token[valid].mean(), rtol=1e-5)


@pytest.mark.parametrize("flags", INVALID, ids=[_flag_id(f) for f in INVALID])
def test_average_and_sum_on_one_axis_raise(flags, data):
    logits, targets, weights = data
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="cannot be set to True at same time"):
            sequence_loss(tf.constant(logits), tf.constant(targets), tf.constant(weights), *flags)


def test_wrong_ranks_raise(data):
    logits, targets, weights = data
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Logits must be"):
            sequence_loss(tf.constant(logits[0]), tf.constant(targets), tf.constant(weights))
        with pytest.raises(ValueError, match="Targets must be"):
            sequence_loss(tf.constant(logits), tf.constant(targets[0]), tf.constant(weights))


def test_softmax_loss_function_is_called_with_named_arguments(data):
    logits, targets, weights = data
    seen = {}

    def loss_fn(labels, logits):
        seen["shapes"] = (labels.shape.as_list(), logits.shape.as_list())
        return tf.ones_like(tf.cast(labels, tf.float32)) * 2.0

    g = tf.Graph()
    with g.as_default():
        loss = sequence_loss(tf.constant(logits), tf.constant(targets), tf.constant(weights),
                             average_across_timesteps=False, average_across_batch=False,
                             softmax_loss_function=loss_fn)
    with tf.compat.v1.Session(graph=g) as sess:
        np.testing.assert_allclose(sess.run(loss), 2.0 * weights)
    assert seen["shapes"][1][-1] is None or seen["shapes"][1][-1] == V
