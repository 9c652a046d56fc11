"""Default output selection of `convert --from-graph` (migrate.graph.select.choose_outputs, issue 12 point 1):
what the loss is computed from, the inference heads computed from it, the graph's other named results; never
the training machinery or auto-named internals. TF1-style graphs built here (graph construction only, no
session), and the real corpus (found by tests/real_corpus.py) pinned model by model."""

from __future__ import annotations

import os

import pytest
from real_corpus import corpus_entry
from tf1_models import tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _graph(body):
    """A TF1 graph (control flow v1, ref variables) built by body(tf, v1)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            body(tf, v1)
        return g


def _encoder(tf, v1, name="ids"):
    ids = v1.placeholder(tf.int32, [None, None], name=name)
    emb = v1.get_variable("embedding", [11, 6])
    cell = v1.nn.rnn_cell.LSTMCell(5)
    out, state = v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, ids), dtype=tf.float32)
    return ids, out, state


def _classifier(tf, v1):
    _, out, state = _encoder(tf, v1)
    labels = v1.placeholder(tf.int32, [None, None], name="labels")
    logits = v1.layers.dense(out, 7, name="proj")
    probs = tf.nn.softmax(logits)
    tf.argmax(tf.squeeze(probs), -1)
    tf.identity(state.h, name="final_state")           # exposed by name: chosen
    tf.identity(state.c * 2.0, name="output")          # the node a TF1 user names for freeze_graph: chosen
    tf.zeros_like(state.c, name="zero_state")          # no variable: not chosen
    loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    opt = v1.train.AdamOptimizer(0.1)
    grads = opt.compute_gradients(loss)
    opt.apply_gradients([(tf.clip_by_value(gr, -1.0, 1.0, name="clipped"), v) for gr, v in grads])


def _pointer(tf, v1):
    _, out, _ = _encoder(tf, v1)
    targets = v1.placeholder(tf.int32, [None], name="targets")
    scores = tf.reshape(v1.layers.dense(out, 1, name="score"), [2, -1, 3], name="pointer_scores")
    tf.argmax(scores, -1, name="pointers")
    loss = tf.add_n([v1.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=s)
                     for s in tf.unstack(scores)])
    v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(loss))


def _twins(tf, v1):
    """A training and an inference subgraph sharing variables (TrainingHelper / GreedyEmbeddingHelper style)."""
    with v1.variable_scope("model"):
        _, out, _ = _encoder(tf, v1, "train_ids")
        logits = tf.identity(v1.layers.dense(out, 7, name="proj"), name="logits")
    with v1.variable_scope("model", reuse=True):
        _, out2, _ = _encoder(tf, v1, "infer_ids")
        greedy = v1.layers.dense(out2, 7, name="proj")
    tf.identity(tf.argmax(greedy, -1, output_type=tf.int32), name="predictions")
    tf.transpose(greedy, [1, 0, 2])                     # auto-named internal: not chosen
    targets = v1.placeholder(tf.int32, [None, None], name="targets")
    lens = v1.placeholder(tf.int32, [None], name="target_lengths")
    with tf.name_scope("optimization"):
        mask = tf.sequence_mask(lens, tf.reduce_max(lens), dtype=tf.float32)
        ce = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        cost = tf.reduce_sum(ce * mask) / (tf.reduce_sum(mask) + 1e-12)
        v1.train.AdamOptimizer(0.1).minimize(cost)


def _regression(tf, v1):
    """A loss without a known kernel: the frontier where the model's output meets the label."""
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    y = v1.placeholder(tf.float32, [None, 1], name="y")
    pred = v1.layers.dense(tf.tanh(v1.layers.dense(x, 5, name="h")), 1, name="out")
    v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(tf.square(pred - y)))


def _no_loss(tf, v1):
    _, out, _ = _encoder(tf, v1)
    tf.nn.softmax(v1.layers.dense(out, 7, name="proj"), name="output_probs")


def _evaluation(tf, v1):
    """An evaluation / inference graph: the loss is built but nothing differentiates it; a dangling
    `IsVariableInitialized` (as `VarIsInitializedOp` of resource variables) is never an output."""
    ids, out, _ = _encoder(tf, v1)
    targets = v1.placeholder(tf.int32, [None, None], name="targets")
    lengths = v1.placeholder(tf.int32, [None], name="target_lengths")
    logits = v1.layers.dense(out, 7, name="output_projection")
    ce = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    w = tf.sequence_mask(lengths, tf.shape(targets)[1], dtype=tf.float32)
    tf.math.divide_no_nan(tf.reduce_sum(ce * w), tf.reduce_sum(w), name="eval_metric")
    tf.argmax(logits, -1)
    v1.is_variable_initialized(v1.trainable_variables()[0])


@pytest.fixture(scope="module")
def graphs():
    return {name: _graph(body) for name, body in
            {"classifier": _classifier, "pointer": _pointer, "twins": _twins, "regression": _regression,
             "no_loss": _no_loss, "evaluation": _evaluation}.items()}


def test_logits_then_heads_then_named_results(graphs):
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(graphs["classifier"])
    assert sel.outputs == ["proj/BiasAdd:0", "Softmax:0", "ArgMax:0", "final_state:0", "output:0"]
    assert sel.labels == ["labels"]
    assert "the logits the loss" in sel.reasons["proj/BiasAdd:0"] and "SparseSoftmaxCrossEntropyWithLogits" in \
        sel.reasons["proj/BiasAdd:0"]
    assert sel.reasons["Softmax:0"] == "Softmax of proj/BiasAdd:0"
    assert sel.reasons["ArgMax:0"] == "ArgMax of Softmax:0"     # through the squeeze
    assert "named by the graph's author" in sel.reasons["final_state:0"]
    assert "named by the graph's author" in sel.reasons["output:0"]
    assert [line.split(":")[0] for line in sel.explain()] == ["proj/BiasAdd", "Softmax", "ArgMax", "final_state",
                                                              "output"]


def test_loss_only_finds_the_same_loss_without_heads_or_named_results(graphs):
    """`convert --outputs` asks only for the loss: the same loss and logits, none of the walks for the rest."""
    from migrate.graph.select import choose_outputs

    for name in ("classifier", "pointer", "regression", "no_loss"):
        full, lean = choose_outputs(graphs[name]), choose_outputs(graphs[name], loss_only=True)
        assert (lean.loss, lean.labels, lean.primary) == (full.loss, full.labels, full.primary), name
    lean = choose_outputs(graphs["classifier"], loss_only=True)
    assert lean.outputs == ["proj/BiasAdd:0"] and lean.loss is not None


def test_per_step_losses_over_unstack_give_the_stacked_tensor(graphs):
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(graphs["pointer"])
    assert sel.outputs == ["pointer_scores:0", "pointers:0"]
    assert sel.labels == ["targets"]


def test_the_inference_twin_sharing_variables_is_chosen_by_its_name(graphs):
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(graphs["twins"])
    assert sel.outputs == ["model/logits:0", "predictions:0"]
    assert sel.labels == ["target_lengths", "targets"]


def test_a_loss_without_a_kernel_takes_the_tensor_meeting_the_label(graphs):
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(graphs["regression"])
    assert sel.outputs == ["out/BiasAdd:0"] and sel.labels == ["y"]
    assert "no known loss kernel" in sel.reasons["out/BiasAdd:0"]


def test_a_graph_without_a_loss_takes_its_named_sinks(graphs):
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(graphs["no_loss"])
    assert sel.outputs == ["output_probs:0"] and sel.loss is None


def test_an_evaluation_graph_takes_what_its_unoptimised_loss_reads(graphs):
    from migrate.graph.select import choose_outputs

    sel = choose_outputs(graphs["evaluation"])
    assert sel.loss == "eval_metric:0" and "computed from a loss kernel" in sel.why
    assert sel.outputs == ["output_projection/BiasAdd:0", "ArgMax:0"]
    assert sel.labels == ["target_lengths", "targets"]


# -- the real corpus ------------------------------------------------------------------------------------------------

REAL_AUTO = {  # model -> the auto choice; the manifest's outputs are commented where they differ
    "udacity_charrnn_tf13": ["add:0", "predictions:0"],                  # manifest: predictions:0 (+ the logits)
    "udacity_seq2seq_contrib_tf12": ["logits:0", "predictions:0"],
    "ctc_conv_lstm_tf11": ["transpose_1:0"],
    "udacity_translation_contrib_tf11": ["logits:0", "predictions:0"],
    "ptrnet_lstm_bahdanau_tf16": ["pointers/Reshape:0", "pointers/ArgMax:0"],
    "ptrnet_gru_bahdanau_tf15": ["pointers/Reshape:0", "pointers/ArgMax:0"],
    # manifest: feedforward_before_crf/scores:0 + crf/unary_scores_expanded:0 (the CRF input, padded scores)
    "neuroner_bilstm_crf_tf10": ["crf/unary_scores_expanded:0", "feedforward_before_crf/predictions:0"],
    "hcn_shared_layer_lstm_tf18": ["add_1:0", "Softmax:0", "ArgMax:0"],
    "hcn_static_bigru_tf18": ["add_1:0", "Softmax:0", "ArgMax:0"],
    "tflearn_legacy_attention_seq2seq_v1": ["pack:0", "ArgMax:0"],
    "udacity_tvscript_wordlm_tf10": ["dense/Reshape_1:0", "probs:0", "final_state:0"],  # manifest: + the logits
    # manifest: training/softmax/add:0 + evaluation/softmax/Softmax:0 (+ the training and validation heads)
    "charrnn_static_fb0_tf12": ["training/softmax/add:0", "training/softmax/Softmax:0",
                                "validation/softmax/Softmax:0", "evaluation/softmax/Softmax:0"],
}


def _import_graph(prefix):
    """The .meta imported (no restore: selection reads the graph only)."""
    import tensorflow as tf

    from migrate.parity.tf1_graph import _prune_collections, meta_path_of

    md = tf.compat.v1.MetaGraphDef()
    with open(meta_path_of(prefix), "rb") as f:
        md.ParseFromString(f.read())
    _prune_collections(md)
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.train.import_meta_graph(md, clear_devices=True)
    return g


@pytest.mark.parametrize("name", sorted(REAL_AUTO))
def test_real_corpus_auto_choice(name):
    from migrate.graph.select import choose_outputs

    prefix, entry = corpus_entry(name)
    sel = choose_outputs(_import_graph(prefix))
    assert sel.outputs == REAL_AUTO[name]
    assert set(sel.reasons) >= set(sel.outputs)
    manifest = set(entry["outputs"])
    assert manifest & set(sel.outputs), "the auto choice shares at least one output with the project's own"


def test_inference_values_take_dropout_rates_not_the_learning_rate():
    """A scalar placeholder is fixed for inference only when its name says it is a mode switch: `rate` and
    `dropout_rate` -> 0.0, `keep_prob` -> 1.0, `is_training` -> False; `learning_rate` stays a real input."""
    import tensorflow as tf

    from migrate.graph.select import inference_value

    g = tf.Graph()
    with g.as_default():
        names = {"learning_rate": tf.float32, "rate": tf.float32, "dropout_rate": tf.float32,
                 "keep_prob": tf.float32, "is_training": tf.bool}
        ops = {n: tf.compat.v1.placeholder(dt, [], name=n).op for n, dt in names.items()}
    got = {n: inference_value(op) for n, op in ops.items()}
    assert got == {"learning_rate": None, "rate": 0.0, "dropout_rate": 0.0, "keep_prob": 1.0, "is_training": False}
