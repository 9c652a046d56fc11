"""`tfm.SampleEmbeddingDecoder` and `tfm.ScheduledEmbeddingTrainingDecoder` against TF1-style contrib.seq2seq graphs
(`SampleEmbeddingHelper`, `ScheduledEmbeddingTrainingHelper` under `dynamic_decode`, built with
`tf_migrate_runtime.contrib.seq2seq`), given the graph's own weights (read through the converter's cell matchers).

What parity a seeded sampler allows (tf_migrate_runtime/layers/sampling.py): ids exact where the distribution is
degenerate (temperature 1e-4; scheduled sampling with probability 0, and 1 over logits scaled by 1e5), the
logits to float tolerance there; at temperature 1 the sampled frequencies match the softmax (statistically), and a
seed gives the same draws again. Random non-zero weights and biases, LSTM forget bias 0.7.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

SHARP = 1e5   # the scheduled decoder's output layer: a Dense whose logits are scaled (a near-degenerate softmax)
V, E, U = 11, 6, 5


def _sampling_graph(path: str) -> str:
    """`init_h` [B, 5] -> (a) GRU + Dense(11) under SampleEmbeddingHelper(embedding, start 1, end 2, temperature
    1e-4 / 1.0, seed 5), maximum_iterations 6 (the two share their variables); (b) LSTM(forget bias 0.7) + Dense(11)
    x SHARP under ScheduledEmbeddingTrainingHelper(embedding_lookup(tgt_in), tgt_len, embedding, p) with `p` a
    placeholder_with_default (a schedule feeds it)."""
    import tensorflow as tf

    from tf_migrate_runtime.contrib import seq2seq

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            v1.set_random_seed(11)
            init_h = v1.placeholder(tf.float32, [None, U], name="init_h")
            emb = v1.get_variable("embedding", [V, E])
            batch = tf.shape(init_h)[0]
            with v1.variable_scope("sample") as scope:
                cell = v1.nn.rnn_cell.GRUCell(U)
                proj = v1.layers.Dense(V, name="output_projection")
                for name, temperature in (("cold", 1e-4), ("warm", 1.0)):
                    helper = seq2seq.SampleEmbeddingHelper(emb, tf.fill([batch], 1), 2, softmax_temperature=temperature,
                                                           seed=5)
                    out, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(cell, helper, init_h, output_layer=proj),
                                                       maximum_iterations=6, scope=name)
                    tf.identity(out.rnn_output, name=f"{name}_logits")
                    tf.identity(out.sample_id, name=f"{name}_ids")
                    scope.reuse_variables()

            class Sharp(v1.layers.Dense):
                def call(self, x):
                    return super().call(x) * SHARP

            with v1.variable_scope("scheduled"):
                tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
                tgt_len = v1.placeholder(tf.int32, [None], name="tgt_len")
                p = v1.placeholder_with_default(0.0, [], name="p")
                cell = v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.7)
                helper = seq2seq.ScheduledEmbeddingTrainingHelper(tf.nn.embedding_lookup(emb, tgt_in), tgt_len, emb,
                                                                  p, seed=3, scheduling_seed=4)
                state = v1.nn.rnn_cell.LSTMStateTuple(tf.tanh(init_h), init_h)
                out, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(cell, helper, state,
                                                                        output_layer=Sharp(V, name="sharp")))
                tf.identity(out.rnn_output, name="logits")
                tf.identity(out.sample_id, name="ids")
            return save_random_weights(path)


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    """The graph, its weights per decoder in the runtime layers' order, and a run function (one session)."""
    from migrate.graph.constructs import REGISTRY
    from migrate.graph.meta import GraphView
    from migrate.graph.rnn import keras_weights
    from migrate.parity.tf1_graph import TF1Graph

    prefix = _sampling_graph(str(tmp_path_factory.mktemp("sampling")))
    with TF1Graph(prefix) as g:
        view = GraphView(g)
        steps = {s.scope.split("/")[0]: s for _, s in REGISTRY.steps(view, in_loops=True)}
        emb = view.variable_values("embedding")
        variables = [o.name for o in view.graph.get_operations() if o.type == "VariableV2"]

        def dense(layer):   # built inside dynamic_decode's scope: `sample/cold/output_projection/kernel`, ...
            return [view.variable_values(next(v for v in variables if v.endswith(f"{layer}/{n}")))
                    for n in ("kernel", "bias")]

        weights = {"sample": keras_weights(view, steps["sample"]) + [emb] + dense("output_projection"),
                   "scheduled": keras_weights(view, steps["scheduled"]) + [emb] + [SHARP * w for w in dense("sharp")]}
        assert (steps["sample"].family, steps["scheduled"].family, steps["scheduled"].forget_bias) == \
               ("gru", "lstm", pytest.approx(0.7))
        fetches = ["sample/cold_logits:0", "sample/cold_ids:0", "sample/warm_logits:0", "sample/warm_ids:0", "scheduled/logits:0",
                   "scheduled/ids:0"]
        g.focus(fetches)
        yield g, weights, emb


def _sample_layer(weights, temperature, seed=5):
    from tf_migrate_runtime.layers import SampleEmbeddingDecoder

    layer = SampleEmbeddingDecoder(["gru"], [U], vocab_size=V, embedding_dim=E, output_size=V,
                                   softmax_temperature=temperature, seed=seed)
    layer(np.array(6), start_tokens=np.ones(2, "int32"), end_token=2, initial_state=[np.zeros((2, U), "float32")])
    layer.set_weights(weights)
    return layer


def test_sample_embedding_decoder_is_the_graph_at_a_cold_temperature(graph):
    """Temperature 1e-4: every draw is the argmax on both sides, so the ids are exact and the logits match."""
    import keras

    g, weights, _ = graph
    init = np.random.RandomState(1).normal(0, 1, (4, U)).astype("float32")
    logits, ids = g.run(["sample/cold_logits:0", "sample/cold_ids:0"], {"init_h:0": init})
    layer = _sample_layer(weights["sample"], 1e-4)
    out = layer(np.array(6), start_tokens=np.ones(4, "int32"), end_token=2, initial_state=[init])
    got_logits, got_ids = keras.ops.convert_to_numpy(out[0]), keras.ops.convert_to_numpy(out[1])
    assert ids.shape[1] >= 2 and got_ids.shape == ids.shape
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_allclose(got_logits, logits, atol=1e-5)


def test_sample_embedding_decoder_draws_the_graphs_distribution_and_repeats_its_seed(graph):
    """Temperature 1 over 3000 identical rows: the first step's ids, TF1's and the layer's, are both distributed
    as the softmax of the graph's first logits (each frequency within 0.04); the same seed draws the same ids again
    in a fresh layer, and a second call of one layer draws new ones (a fresh draw per run, as a TF1 session)."""
    import keras

    g, weights, _ = graph
    rows = 3000
    init = np.tile(np.random.RandomState(2).normal(0, 1, (1, U)).astype("float32"), (rows, 1))
    logits, ids = g.run(["sample/warm_logits:0", "sample/warm_ids:0"], {"init_h:0": init})
    first = logits[0, 0] - logits[0, 0].max()
    probs = np.exp(first) / np.exp(first).sum()
    assert probs.max() < 0.9   # a real distribution, not a near-argmax
    layer = _sample_layer(weights["sample"], 1.0, seed=5)
    args = (np.array(6),)
    kw = {"start_tokens": np.ones(rows, "int32"), "end_token": 2, "initial_state": [init]}
    got = keras.ops.convert_to_numpy(layer(*args, **kw)[1])
    for sampled in (ids[:, 0], got[:, 0]):
        np.testing.assert_allclose(np.bincount(sampled, minlength=V) / rows, probs, atol=0.04)
    again = keras.ops.convert_to_numpy(_sample_layer(weights["sample"], 1.0, seed=5)(*args, **kw)[1])
    np.testing.assert_array_equal(again, got)
    assert not np.array_equal(keras.ops.convert_to_numpy(layer(*args, **kw)[1]), got)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_scheduled_embedding_training_decoder_at_probability_0_and_1(graph, p):
    """p = 0: teacher forcing, every sample id -1; p = 1: every step feeds back the embedding of a draw from
    logits scaled by 1e5 (the argmax on both sides). Ids exact, logits to float tolerance, max(lengths) steps."""
    import keras

    from tf_migrate_runtime.layers import ScheduledEmbeddingTrainingDecoder

    g, weights, emb = graph
    rng = np.random.RandomState(3)
    init = rng.normal(0, 1, (4, U)).astype("float32")
    tgt = rng.randint(0, V, (4, 7)).astype("int32")
    lengths = np.array([5, 3, 1, 4], "int32")
    logits, ids = g.run(["scheduled/logits:0", "scheduled/ids:0"],
                        {"init_h:0": init, "scheduled/tgt_in:0": tgt, "scheduled/tgt_len:0": lengths,
                         "scheduled/p:0": p})
    layer = ScheduledEmbeddingTrainingDecoder(["lstm"], [U], vocab_size=V, embedding_dim=E, output_size=V,
                                              sampling_probability=p, seed=3, scheduling_seed=4)
    inputs = emb[tgt]
    layer(inputs, lengths, initial_state=[init, np.tanh(init)])
    layer.set_weights(weights["scheduled"])
    out = layer(inputs, lengths, initial_state=[init, np.tanh(init)])     # [h, c]: TF1's LSTMStateTuple(c, h)
    got_logits, got_ids = keras.ops.convert_to_numpy(out[0]), keras.ops.convert_to_numpy(out[1])
    assert got_ids.shape == ids.shape == (4, 5)
    np.testing.assert_array_equal(got_ids, ids)
    if p == 0.0:
        assert (ids == -1).all()
    else:
        top2 = np.sort(logits, -1)[..., -2:]
        assert (top2[..., 1] - top2[..., 0]).min() > 40     # every draw degenerate: P(not the argmax) < e^-40
        np.testing.assert_array_equal(ids, logits.argmax(-1))
    np.testing.assert_allclose(got_logits, logits, atol=1e-5 * SHARP)


def test_sampling_layers_round_trip_their_config():
    from tf_migrate_runtime.layers import SampleEmbeddingDecoder, ScheduledEmbeddingTrainingDecoder

    a = SampleEmbeddingDecoder.from_config(SampleEmbeddingDecoder(["gru"], [4], vocab_size=7, embedding_dim=3,
                                                                  softmax_temperature=0.5, seed=9).get_config())
    assert (a.softmax_temperature, a.seed) == (0.5, 9)
    b = ScheduledEmbeddingTrainingDecoder.from_config(ScheduledEmbeddingTrainingDecoder(
        ["lstm"], [4], vocab_size=7, embedding_dim=3, sampling_probability=0.25, seed=1, scheduling_seed=2).get_config())
    assert (b.sampling_probability, b.seed, b.scheduling_seed) == (0.25, 1, 2)
    from tf_migrate_runtime.layers import SampleEmbeddingAttentionDecoder

    c = SampleEmbeddingAttentionDecoder(["gru"], [4], 3, 5, "bahdanau", 4, vocab_size=7, output_size=7,
                                        softmax_temperature=0.25, seed=3)
    c2 = SampleEmbeddingAttentionDecoder.from_config(c.get_config())
    assert (c2.softmax_temperature, c2.seed, c2.vocab_size, c2.output_size) == (0.25, 3, 7, 7)


def test_given_draws_make_a_sampling_layer_take_those_ids_and_then_draw_again():
    """`given_draws`: the named layer's ids are the given ones (its next inputs their embeddings), in a model called
    eagerly and through `predict` (both traced: the traces that read the old ids are dropped); `{}` draws again."""
    import keras

    from tf_migrate_runtime.layers import Model, SampleEmbeddingDecoder, given_draws

    start = keras.Input(batch_shape=(3,), dtype="int32", name="start")
    layer = SampleEmbeddingDecoder(["gru"], [U], vocab_size=V, embedding_dim=E, output_size=V, seed=1,
                                   name="sampler")
    out = layer(keras.ops.convert_to_tensor(4, dtype="int32"), start_tokens=start, end_token=V)  # never ends early
    model = Model(inputs=start, outputs=out[:2])
    x = np.ones(3, "int32")
    drawn = np.asarray(model.predict_on_batch(x)[1])
    ids = (drawn + 1) % V
    assert given_draws(model, {"sampler": ids}) == ["sampler"]
    for got in (model(x)[1], model.predict_on_batch(x)[1]):
        np.testing.assert_array_equal(np.asarray(got), ids)
    given_draws(model, {})
    assert not np.array_equal(np.asarray(model.predict_on_batch(x)[1]), ids)
