"""The TF1 graph's training loss reproduced for `fit` (issue 12 point 3): each loss form built in TF1 style, its
Keras reproduction equal to the graph's loss tensor on the same batch, and `fit` on a converted model lowering it.

One TF1 graph holds every loss form (built and restored once per module); one graph with contrib's
`sequence_loss` over a `sequence_mask` and an optimizer is converted end to end."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

B, T, C = 3, 4, 7


def _sequence_loss(tf, logits, targets, weights):
    """contrib.seq2seq.sequence_loss as TF 1.x wrote it (contrib is gone from TF 2.21), both averages on."""
    with tf.name_scope("sequence_loss"):
        num_classes = tf.shape(logits)[2]
        logits_flat = tf.reshape(logits, [-1, num_classes])
        targets = tf.reshape(targets, [-1])
        crossent = tf.compat.v1.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits_flat)
        crossent *= tf.reshape(weights, [-1])
        crossent = tf.reduce_sum(crossent)
        total_size = tf.reduce_sum(weights)
        total_size += 1e-12
        return crossent / total_size


def _sequence_loss_113(tf, logits, targets, weights):
    """contrib.seq2seq.sequence_loss as TF 1.13-1.15 wrote it: div_no_nan instead of the 1e-12 guard."""
    with tf.name_scope("sequence_loss_113"):
        logits_flat = tf.reshape(logits, [-1, tf.shape(logits)[2]])
        crossent = tf.compat.v1.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(targets, [-1]),
                                                                            logits=logits_flat)
        crossent *= tf.reshape(weights, [-1])
        return tf.math.divide_no_nan(tf.reduce_sum(crossent), tf.reduce_sum(weights))


def _legacy_sequence_loss(tf, v1, logits, labels):
    """legacy_seq2seq.sequence_loss as TF 1.x wrote it: one kernel per step over unstacked logits and labels,
    weights all ones (TFLearn's seq2seq)."""
    steps = tf.unstack(logits, axis=1)
    targets = tf.unstack(labels, axis=1)
    weights = [tf.ones_like(t, dtype=tf.float32) for t in targets]
    with tf.name_scope("legacy_sequence_loss"):
        with tf.name_scope("sequence_loss_by_example"):
            log_perp_list = []
            for logit, target, weight in zip(steps, targets, weights):
                crossent = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(target, [-1]),
                                                                          logits=logit)
                log_perp_list.append(crossent * weight)
            log_perps = tf.add_n(log_perp_list)
            log_perps /= tf.add_n(weights) + 1e-12
        cost = tf.reduce_sum(log_perps)
        return cost / tf.cast(tf.shape(targets[0])[0], cost.dtype)


def _legacy_by_example_flat(tf, v1, flat, labels, ones, reduce):
    """legacy_seq2seq.sequence_loss_by_example over ONE flattened [B * T, C] logits, as the char-RNNs wrote it
    (sherjil's `cost = tf.reduce_sum(loss) / batch_size / seq_length`, weights `tf.ones([batch * length])`)."""
    with tf.name_scope(f"by_example_{reduce}"):
        with tf.name_scope("sequence_loss_by_example"):
            crossent = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.reshape(labels, [-1]), logits=flat)
            log_perps = tf.add_n([crossent * ones])
            log_perps /= tf.add_n([ones]) + 1e-12
        if reduce == "sum":
            return tf.reduce_sum(log_perps) / B / T
        return tf.reduce_mean(log_perps)


def _tf112_safe_mean(tf, losses):
    """tf.losses.compute_weighted_loss(losses) as TF 1.12 built it: weights 1.0, num_present counted from them,
    `_safe_mean` a division guarded by two `where`s (TF 1.13 made it div_no_nan)."""
    with tf.name_scope("tf112_loss"):
        weights = tf.constant(1.0)
        loss = tf.reduce_sum(tf.multiply(losses, weights))
        present = tf.where(tf.equal(weights, 0.0), tf.zeros_like(weights), tf.ones_like(weights))
        num_present = tf.reduce_sum(present * tf.ones_like(losses), name="num_present")
        return tf.compat.v1.where(tf.greater(num_present, 0), tf.math.divide(
            loss, tf.compat.v1.where(tf.equal(num_present, 0), tf.ones_like(num_present), num_present)),
            tf.zeros_like(loss), name="value")


def _model(tf, v1):
    ids = v1.placeholder(tf.int32, [None, None], name="ids")
    emb = v1.get_variable("embedding", [11, 6])
    h = tf.tanh(v1.layers.dense(tf.nn.embedding_lookup(emb, ids), 8, name="hidden"))
    return ids, v1.layers.dense(h, C, name="proj")


flat_logits: list = []   # the user's own flattened logits (a model output of the charrnn-style graph)
static_logits: list = []  # the logits with a static length (TFLearn's seq2seq style)


def _losses(tf, v1, logits):
    """name -> loss tensor, one per form."""
    labels = v1.placeholder(tf.int32, [None, None], name="labels")
    w = v1.placeholder(tf.float32, [None, None], name="weights")
    lens = v1.placeholder(tf.int32, [None], name="target_lengths")
    dense = v1.placeholder(tf.float32, [None, None, C], name="dense_labels")
    sparse_ce = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    mask = tf.sequence_mask(lens, tf.reduce_max(lens), dtype=tf.float32, name="masks")
    flat = tf.reshape(logits, [-1, C])   # charrnn style: one-hot labels reshaped to the flattened logits
    onehot = tf.reshape(tf.one_hot(labels, C), [-1, C])
    flat_logits.append(flat)
    static = tf.reshape(logits, [-1, T, C], name="static_logits")   # the per-step loss needs a known length
    static_logits.append(static)
    static_labels = v1.placeholder(tf.int32, [None, T], name="static_labels")
    return {
        "legacy_sequence_loss": _legacy_sequence_loss(tf, v1, static, static_labels),
        "legacy_by_example_sum": _legacy_by_example_flat(tf, v1, flat, labels, tf.ones([B * T]), "sum"),
        "legacy_by_example_mean": _legacy_by_example_flat(
            tf, v1, flat, labels, tf.ones_like(tf.reshape(labels, [-1]), dtype=tf.float32), "mean"),
        "sparse_mean": tf.reduce_mean(sparse_ce, name="sparse_mean"),
        "sparse_sum": tf.reduce_sum(sparse_ce, name="sparse_sum"),
        "sparse_weighted_mean": tf.reduce_mean(sparse_ce * w, name="sparse_weighted_mean"),
        "sparse_weighted_sum": tf.reduce_sum(sparse_ce * w, name="sparse_weighted_sum"),
        "softmax_v2_dense_sum": tf.reduce_sum(v1.nn.softmax_cross_entropy_with_logits_v2(labels=dense, logits=logits),
                                              name="softmax_v2_dense_sum"),
        "softmax_one_hot_mean": tf.reduce_mean(v1.nn.softmax_cross_entropy_with_logits_v2(labels=onehot,
                                                                                          logits=flat),
                                               name="softmax_one_hot_mean"),
        "sequence_loss_mask": _sequence_loss(tf, logits, labels, mask),
        "sequence_loss_weights": _sequence_loss(tf, logits, labels, w),
        # tf.losses' default reduction (SUM_BY_NONZERO_WEIGHTS): TF >= 1.13's div_no_nan, and TF < 1.13's safe
        # division written as TF 1.12 wrote it (where(n > 0, sum / where(n == 0, 1, n), 0))
        "tf_losses_default": v1.losses.sparse_softmax_cross_entropy(labels, logits),
        "tf_losses_dense_default": v1.losses.softmax_cross_entropy(tf.one_hot(labels, C), logits),
        "tf_losses_mask": v1.losses.sparse_softmax_cross_entropy(labels, logits, weights=mask),
        "tf_losses_112": _tf112_safe_mean(tf, sparse_ce),
        # TF >= 1.13, with the mask as nmt builds it: maxlen read from the targets' shape (no value read)
        "sequence_loss_113_mask": _sequence_loss_113(
            tf, logits, labels, tf.sequence_mask(lens, tf.shape(labels)[1], dtype=tf.float32)),
    }


@pytest.fixture(scope="module")
def graph():
    import tensorflow as tf

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1)
        _, logits = _model(tf, v1)
        losses = _losses(tf, v1, logits)
        sess = v1.Session(graph=g)
        sess.run(v1.global_variables_initializer())
        rng = np.random.RandomState(0)
        for v in v1.trainable_variables():   # non-zero biases
            sess.run(v.assign(rng.normal(0, 0.7, v.shape.as_list()).astype("float32")))
    yield g, sess, logits, losses
    sess.close()


def _batch(rng):
    lens = np.array([4, 2, 3], "int32")
    return {"ids:0": rng.randint(0, 11, (B, T)).astype("int32"),
            "labels:0": rng.randint(0, C, (B, T)).astype("int32"),
            "weights:0": rng.uniform(0, 1, (B, T)).astype("float32"),
            "target_lengths:0": lens,
            "static_labels:0": rng.randint(0, C, (B, T)).astype("int32"),
            "dense_labels:0": rng.dirichlet(np.ones(C), (B, T)).astype("float32")}


EXPECTED = {  # form -> (keras loss named in the report, reduction, weights kind)
    "sparse_mean": ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "mean", None),
    "sparse_sum": ("TF1CrossEntropy(sparse=True, reduction='sum')", "sum", None),
    "sparse_weighted_mean": ("TF1CrossEntropy(sparse=True, reduction='mean')", "mean", "placeholder"),
    "sparse_weighted_sum": ("TF1CrossEntropy(sparse=True, reduction='sum')", "sum", "placeholder"),
    "softmax_v2_dense_sum": ("TF1CrossEntropy(sparse=False, reduction='sum')", "sum", None),
    "softmax_one_hot_mean": ("TF1CrossEntropy(sparse=True, reduction='mean')", "mean", None),
    "sequence_loss_mask": ("TF1CrossEntropy(sparse=True, reduction='weighted_mean')", "weighted_mean",
                           "sequence_mask"),
    "sequence_loss_weights": ("TF1CrossEntropy(sparse=True, reduction='weighted_mean')", "weighted_mean",
                              "placeholder"),
    "legacy_sequence_loss": ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "mean", None),
    "legacy_by_example_sum": (f"TF1CrossEntropy(sparse=True, reduction='sum', scale={1 / B / T!r})", "sum", None),
    "legacy_by_example_mean": ("TF1CrossEntropy(sparse=True, reduction='mean')", "mean", None),
    "sequence_loss_113_mask": ("TF1CrossEntropy(sparse=True, reduction='weighted_mean_no_nan')",
                               "weighted_mean_no_nan", "sequence_mask"),
    "tf_losses_default": ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "mean", None),
    "tf_losses_dense_default": ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "mean", None),
    "tf_losses_mask": ("TF1CrossEntropy(sparse=True, reduction='weighted_mean_no_nan')", "weighted_mean_no_nan",
                       "sequence_mask"),
    "tf_losses_112": ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "mean", None),
}


@pytest.mark.parametrize("form", list(EXPECTED))
def test_keras_loss_equals_the_graphs_loss_tensor(graph, form):
    import keras

    import tf_migrate_runtime.losses as rl
    from migrate.graph.loss import recognise_loss

    g, sess, logits, losses = graph
    flat, static = flat_logits[-1], static_logits[-1]
    spec = recognise_loss(g, losses[form].name, [logits.name, flat.name, static.name])
    keras_name, reduction, wkind = EXPECTED[form]
    assert keras_name in spec.keras and spec.reduction == reduction
    assert spec.output == {"softmax_one_hot_mean": flat, "legacy_sequence_loss": static, "legacy_by_example_sum": flat,
                           "legacy_by_example_mean": flat}.get(form, logits).name
    assert (None if not spec.weights else next(iter(spec.weights))) == wkind
    feed = _batch(np.random.RandomState(5))
    ref, lg = sess.run([losses[form], g.get_tensor_by_name(spec.output)], feed)
    y = feed[spec.labels]
    sw = None
    if wkind == "sequence_mask":
        assert spec.weights["sequence_mask"] == "target_lengths:0"
        sw = rl.sequence_mask(feed["target_lengths:0"], y.shape[1])
    elif wkind == "placeholder":
        sw = feed[spec.weights["placeholder"]]
    loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if reduction == "mean" and not wkind
            and spec.sparse and not spec.label_reshape and spec.scale == 1.0
            else rl.TF1CrossEntropy(sparse=spec.sparse, reduction=reduction, scale=spec.scale))
    got = float(np.asarray(loss(y, lg, sw)))
    assert abs(got - float(ref)) <= 1e-6 * max(1.0, abs(float(ref))), (form, got, float(ref))
    # a loss ignoring the weights (or the mask) would be caught: they change the value
    if wkind:
        assert abs(float(np.asarray(loss(y, lg, None))) - float(ref)) > 1e-3


def test_a_loss_outside_the_forms_is_reported_not_guessed(graph):
    import tensorflow as tf

    from migrate.graph.loss import NotReproduced, recognise_loss

    g, _, logits, losses = graph
    with g.as_default():
        reg = tf.add(losses["sparse_mean"], 0.01 * tf.reduce_sum(tf.square(logits)), name="with_l2")
    with pytest.raises(NotReproduced, match="adds"):
        recognise_loss(g, reg.name, [logits.name])


def test_tf_losses_with_weights_other_than_0_or_1_is_reported_not_guessed(graph):
    """SUM_BY_NONZERO_WEIGHTS divides by the count of non-zero weights: with weights in (0, 1) that is not their
    weighted mean, so it is not reproduced, and the reason says so."""
    import tensorflow as tf

    from migrate.graph.loss import NotReproduced, recognise_loss

    g, _, logits, _ = graph
    with g.as_default():
        labels = g.get_tensor_by_name("labels:0")
        loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits, weights=g.get_tensor_by_name(
            "weights:0"))
    with pytest.raises(NotReproduced, match="SUM_BY_NONZERO_WEIGHTS with weights weights:0, which may be other"):
        recognise_loss(g, loss.name, [logits.name])


def test_runtime_loss_serializes():
    import keras

    import tf_migrate_runtime.losses as rl

    loss = rl.TF1CrossEntropy(sparse=False, reduction="weighted_mean")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, rl.TF1CrossEntropy) and again.tf1_reduction == "weighted_mean" and not again.sparse


def test_div_no_nan_reduction_is_zero_where_every_weight_is_zero():
    import tf_migrate_runtime.losses as rl

    y, logits = np.array([[1, 2]]), np.random.RandomState(0).normal(size=(1, 2, 3)).astype("float32")
    zero = np.zeros((1, 2), "float32")
    assert float(np.asarray(rl.TF1CrossEntropy(reduction="weighted_mean_no_nan")(y, logits, zero))) == 0.0
    half = np.array([[1.0, 0.0]], "float32")
    a = float(np.asarray(rl.TF1CrossEntropy(reduction="weighted_mean_no_nan")(y, logits, half)))
    b = float(np.asarray(rl.TF1CrossEntropy(reduction="weighted_mean")(y, logits, half)))
    assert a > 0.1 and abs(a - b) < 1e-6


# -- end to end: contrib sequence_loss over sequence_mask(target lengths), converted, fit lowers it ----------------

def _build_seq2seq_like(path):
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            ids = v1.placeholder(tf.int32, [None, None], name="ids")
            targets = v1.placeholder(tf.int32, [None, None], name="targets")
            tlen = v1.placeholder(tf.int32, [None], name="target_lengths")
            emb = v1.get_variable("embedding", [11, 6])
            cell = v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.6)
            out, _ = v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, ids), dtype=tf.float32)
            logits = tf.identity(v1.layers.dense(out, C, name="proj"), name="logits")
            tf.nn.softmax(logits, name="probs")
            mask = tf.sequence_mask(tlen, tf.reduce_max(tlen), dtype=tf.float32, name="masks")
            with tf.name_scope("optimization"):
                cost = _sequence_loss(tf, logits, targets, mask)
                v1.train.AdamOptimizer(0.01).minimize(cost)
            save_random_weights(path)
    return os.path.join(path, "model.ckpt")


@pytest.fixture(scope="module")
def converted_seq(tmp_path_factory):
    from migrate.graph import convert_graph

    ckpt = _build_seq2seq_like(str(tmp_path_factory.mktemp("seqloss")))
    out = str(tmp_path_factory.mktemp("seqloss_out") / "m")
    logs = []
    report = convert_graph(ckpt, out, log=logs.append)
    return report, out, logs


def test_auto_outputs_and_the_reproduced_sequence_loss_in_the_report(converted_seq):
    report, out, logs = converted_seq
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["logits:0", "probs:0"]
    assert "Softmax of logits:0" in report["graph"]["output_reasons"]["probs:0"]
    assert any("logits:0: the logits the loss optimization/sequence_loss/truediv:0" in m for m in logs)
    tl = report["training_loss"]
    assert tl["reproduced"] and tl["graph"] == "optimization/sequence_loss/truediv:0"
    assert tl["tf1"].startswith("contrib.seq2seq.sequence_loss")
    assert tl["keras"] == "tf_migrate_runtime.losses.TF1CrossEntropy(sparse=True, reduction='weighted_mean')"
    assert tl["y"] == "targets:0" and tl["labels"] == ["target_lengths", "targets"]
    assert tl["sample_weight"].startswith("sequence_mask(target_lengths:0")
    assert tl["parity"]["ok"] and tl["parity"]["abs_diff"] <= 1e-6 * max(1.0, tl["parity"]["tf1"])
    with open(os.path.join(out, "convert_report.json")) as f:
        assert json.load(f)["training_loss"]["keras"] == tl["keras"]


@pytest.mark.slow
def test_fit_with_the_compiled_tf1_loss_lowers_it(converted_seq):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    import tf_migrate_runtime.losses as rl

    _, out, _ = converted_seq
    src = open(os.path.join(out, "model.py")).read()
    assert "def compile_for_training(model" in src
    assert "loss=tf_migrate_runtime.losses.TF1CrossEntropy(sparse=True, reduction='weighted_mean')" in src
    ns: dict = {"__name__": "generated"}
    exec(compile(src, "model.py", "exec"), ns)  # noqa: S102 - the generated file
    model = ns["build_model"]()
    model.load_weights(os.path.join(out, "model.weights.h5"))
    train = ns["compile_for_training"](model, optimizer=keras.optimizers.Adam(0.05))
    rng = np.random.RandomState(1)
    x = {"ids": rng.randint(0, 11, (16, 5)).astype("int32")}
    y = x["ids"] % C                      # learn a copy: a loss that must fall
    lens = rng.randint(2, 6, (16,)).astype("int32")
    lens[0] = 5
    sw = np.asarray(rl.sequence_mask(lens, 5))
    before = float(train.evaluate(x, y, sample_weight=sw, verbose=0, batch_size=16))
    train.fit(x, y, sample_weight=sw, epochs=10, batch_size=16, verbose=0)
    after = float(train.evaluate(x, y, sample_weight=sw, verbose=0, batch_size=16))
    assert after < 0.8 * before, (before, after)
    # the value fit minimises is the TF1 formula: sum(ce * mask) / sum(mask)
    lg = np.asarray(train(x))
    logp = lg - np.log(np.exp(lg).sum(-1, keepdims=True))
    ce = -np.take_along_axis(logp, y[..., None], -1)[..., 0]
    assert abs(after - (ce * sw).sum() / sw.sum()) < 1e-4
