"""A training loss scaled by a constant (address-net's `tf.losses.softmax_cross_entropy(...) * 0.5`) reproduced with
its scale, so `fit` on the converted model follows the gradients TF1 followed (session 11, helper N, item 1).

Each form is built in TF1 style in one graph; its Keras reproduction equals the graph's loss tensor on the same
batch, and would not without the scale. One graph with address-net's loss (tf.losses over a sequence mask, times
0.5, Adam) is converted end to end: the report's loss check compares the scaled values."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

B, T, C = 3, 4, 7


def _forms(tf, v1, logits):
    labels = v1.placeholder(tf.int32, [None, None], name="labels")
    lens = v1.placeholder(tf.int32, [None], name="target_lengths")
    ce = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    mask = tf.sequence_mask(lens, tf.shape(labels)[1], dtype=tf.float32)
    return {  # name -> (loss tensor, the scale, reduction, weights kind)
        "tf_losses_times_half": (v1.losses.sparse_softmax_cross_entropy(labels, logits) * 0.5, 0.5, "mean", None),
        "two_times_reduce_mean": (2.0 * tf.reduce_mean(ce), 2.0, "mean", None),
        "reduce_sum_over_four": (tf.reduce_sum(ce) / 4.0, 0.25, "sum", None),
        # address-net: one-hot labels, a sequence-mask weight, SUM_BY_NONZERO_WEIGHTS, times 0.5
        "addressnet_form": (v1.losses.softmax_cross_entropy(tf.one_hot(labels, C), logits, weights=mask) * 0.5,
                            0.5, "weighted_mean_no_nan", "sequence_mask"),
        # variants: a constant weight inside the reduction, tf.losses' scalar weights, nested factors, a negation
        "reduce_mean_of_ce_times_tenth": (tf.reduce_mean(ce * 0.1), 0.1, "mean", None),
        "tf_losses_weights_3": (v1.losses.sparse_softmax_cross_entropy(labels, logits, weights=3.0), 3.0, "mean",
                                None),
        "nested_factors": (0.5 * (tf.reduce_mean(ce) * 3.0) / 2.0, 0.75, "mean", None),
        "negated": (-tf.reduce_sum(ce), -1.0, "sum", None),
    }


@pytest.fixture(scope="module")
def graph():
    import tensorflow as tf

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        ids = v1.placeholder(tf.int32, [None, None], name="ids")
        emb = v1.get_variable("embedding", [11, 6])
        h = tf.tanh(v1.layers.dense(tf.nn.embedding_lookup(emb, ids), 8, name="hidden"))
        logits = v1.layers.dense(h, C, name="proj")
        forms = _forms(tf, v1, logits)
        sess = v1.Session(graph=g)
        sess.run(v1.global_variables_initializer())
        rng = np.random.RandomState(0)
        for v in v1.trainable_variables():   # non-zero biases
            sess.run(v.assign(rng.normal(0, 0.7, v.shape.as_list()).astype("float32")))
    yield g, sess, logits, forms
    sess.close()


@pytest.mark.parametrize("form", ["tf_losses_times_half", "two_times_reduce_mean", "reduce_sum_over_four",
                                  "addressnet_form", "reduce_mean_of_ce_times_tenth", "tf_losses_weights_3",
                                  "nested_factors", "negated"])
def test_scaled_loss_is_reproduced_with_its_scale(graph, form):
    import tf_migrate_runtime.losses as rl
    from migrate.graph.loss import recognise_loss

    g, sess, logits, forms = graph
    loss_t, scale, reduction, wkind = forms[form]
    spec = recognise_loss(g, loss_t.name, [logits.name])
    assert spec.scale == pytest.approx(scale) and spec.reduction == reduction
    assert (None if not spec.weights else next(iter(spec.weights))) == wkind
    assert f"scale={scale!r}" in spec.keras and spec.tf1.startswith(f"{scale:g} * ")
    rng = np.random.RandomState(3)
    feed = {"ids:0": rng.randint(0, 11, (B, T)).astype("int32"), "labels:0": rng.randint(0, C, (B, T)).astype("int32"),
            "target_lengths:0": np.array([4, 1, 3], "int32")}
    ref, lg = sess.run([loss_t, logits], feed)
    sw = rl.sequence_mask(feed["target_lengths:0"], T) if wkind else None
    loss = spec.loss_object()
    got = float(np.asarray(loss(feed["labels:0"], lg, sw)))
    assert abs(got - float(ref)) <= 1e-6 * max(1.0, abs(float(ref))), (form, got, float(ref))
    unscaled = float(np.asarray(loss.reduced(feed["labels:0"], lg, sw)))
    assert abs(unscaled - float(ref)) > 0.05 * abs(float(ref))   # without the scale it would not match
    again = type(loss).from_config(loss.get_config())   # as saved with a compiled model
    assert float(np.asarray(again(feed["labels:0"], lg, sw))) == pytest.approx(got, rel=1e-6)


def test_a_zero_scale_is_reported_not_reproduced(graph):
    from migrate.graph.loss import NotReproduced, recognise_loss

    g, _, logits, forms = graph
    import tensorflow as tf

    with g.as_default():
        zero = tf.multiply(forms["two_times_reduce_mean"][0], 0.0, name="times_zero")
    with pytest.raises(NotReproduced, match=r"scales the cross-entropy by 0.0 .*trains nothing"):
        recognise_loss(g, zero.name, [logits.name])


def test_a_regularisation_term_beside_the_scaled_loss_is_read_as_weight_penalties(graph):
    """A term added to the scaled loss is not a factor: `0.5 * xent + 1e-3 * add_n(l2_loss(v) for every variable)`
    is the cross-entropy at scale 0.5 plus one L2 penalty of 5e-4 per variable (the term's own factors only);
    a term of the weights alone that is no penalty is still reported for what it is."""
    import tensorflow as tf

    from migrate.graph.loss import NotReproduced, recognise_loss

    g, _, logits, forms = graph
    with g.as_default():
        l2 = tf.add_n([tf.nn.l2_loss(v) for v in tf.compat.v1.trainable_variables()])
        total = tf.add(forms["tf_losses_times_half"][0], 1e-3 * l2, name="with_l2_scaled")
        (kernel,) = [v for v in tf.compat.v1.trainable_variables() if v.op.name == "hidden/kernel"]
        mean_w = tf.add(forms["tf_losses_times_half"][0], tf.reduce_mean(kernel), name="with_mean_weight")
    spec = recognise_loss(g, total.name, [logits.name])
    assert spec.scale == 0.5 and spec.reduction == "mean"
    assert sorted((p.variable, p.kind, round(p.coefficient, 12)) for p in spec.penalties) == [
        (v, "L2", 5e-4) for v in ("embedding", "hidden/bias", "hidden/kernel", "proj/bias", "proj/kernel")]
    assert spec.tf1.endswith("and 2 more)") and " + 5 weight penalties (" in spec.tf1
    with pytest.raises(NotReproduced, match=r"adds Mean_\d+:0, computed from the weights alone \(hidden/kernel\), "
                                            r"which is no weight penalty carried into fit \(Mean .*"):
        recognise_loss(g, mean_w.name, [logits.name])


def test_get_total_loss_with_a_regularizer_reads_the_collected_penalty():
    """tf.losses.get_total_loss() = add_n([the loss, the layers' regularisation losses]): the collected
    `1e-3 * l2_loss(kernel)` is an L2 penalty of 5e-4 on proj/kernel beside the cross-entropy."""
    import tensorflow as tf

    from migrate.graph.loss import recognise_loss

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        ids = v1.placeholder(tf.int32, [None, None], name="ids")
        labels = v1.placeholder(tf.int32, [None, None], name="labels")
        emb = v1.get_variable("embedding", [11, 6])
        logits = v1.layers.dense(tf.nn.embedding_lookup(emb, ids), C, name="proj",
                                 kernel_regularizer=lambda w: 1e-3 * tf.nn.l2_loss(w))
        v1.losses.sparse_softmax_cross_entropy(labels, logits)
        total = v1.losses.get_total_loss()
    assert total.op.type == "AddN"
    spec = recognise_loss(g, total.name, [logits.name])
    assert [(p.variable, p.kind, p.coefficient, p.keras) for p in spec.penalties] == [
        ("proj/kernel", "L2", 5e-4, "keras.regularizers.L2(0.0005)")]
    assert spec.scale == 1.0 and spec.reduction == "mean"


# -- end to end: address-net's loss form, converted; the report's loss check compares the scaled values -----------

def _build_addressnet_like(path):
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            ids = v1.placeholder(tf.int32, [None, None], name="ids")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            labels = v1.placeholder(tf.int32, [None, None], name="labels")
            emb = v1.get_variable("embedding", [11, 6])
            cell = v1.nn.rnn_cell.GRUCell(5)
            out, _ = v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, ids), sequence_length=lens,
                                       dtype=tf.float32)
            logits = v1.layers.dense(out, C, activation=tf.nn.elu, name="dense")
            tf.argmax(logits, axis=2)
            mask = tf.sequence_mask(lens, tf.shape(ids)[1])
            loss = v1.losses.softmax_cross_entropy(tf.one_hot(labels, C), logits, weights=mask) * 0.5
            v1.train.AdamOptimizer(0.01).minimize(loss)
            save_random_weights(path)
    return os.path.join(path, "model.ckpt")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from migrate.graph import convert_graph

    ckpt = _build_addressnet_like(str(tmp_path_factory.mktemp("scaled")))
    out = str(tmp_path_factory.mktemp("scaled_out") / "m")
    logs = []
    report = convert_graph(ckpt, out, log=logs.append)
    return report, out, logs


def test_addressnet_loss_is_reproduced_and_checked_with_its_scale(converted):
    report, out, logs = converted
    tl = report["training_loss"]
    assert tl["reproduced"], tl
    assert tl["scale"] == 0.5 and tl["keras"] == ("tf_migrate_runtime.losses.TF1CrossEntropy(sparse=True, "
                                                 "reduction='weighted_mean_no_nan', scale=0.5)")
    assert tl["tf1"].startswith("0.5 * tf.losses' SUM_BY_NONZERO_WEIGHTS over SoftmaxCrossEntropyWithLogits")
    assert tl["sample_weight"].startswith("sequence_mask(lengths:0")
    lp = tl["parity"]
    assert lp["ok"] is True and lp["abs_diff"] <= 1e-5 * max(1.0, lp["tf1"]) and lp["tf1"] > 0.05
    src = open(os.path.join(out, "model.py")).read()
    assert "loss=tf_migrate_runtime.losses.TF1CrossEntropy(sparse=True, reduction='weighted_mean_no_nan', " \
           "scale=0.5)" in src
    assert "= 0.5 * tf.losses' SUM_BY_NONZERO_WEIGHTS" in src
    assert any(m.startswith("training loss: mul:0 (0.5 * tf.losses'") and "FAILED" not in m for m in logs)
