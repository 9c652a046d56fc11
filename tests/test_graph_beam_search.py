"""contrib.seq2seq `BeamSearchDecoder` as `tfm.BeamSearchDecoder` (keras.ops): given the TF1 graph's own weights
(read through the converter's cell matchers and weight layouts) and the loop's initial state, its step ids,
parents and lengths, back-tracked by `tfm.gather_tree`, are the graph's `predicted_ids` exactly and its scores
match, with a length penalty or without, GRU and LSTM (forget bias 0.7); random non-zero weights and biases."""

from __future__ import annotations

import os

import numpy as np
import pytest
from beam_models import beam_graph

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

VARIANTS = {"gru_length_penalty": {"kind": "gru", "length_penalty": 0.6},
            "lstm_no_penalty": {"kind": "lstm", "length_penalty": 0.0}}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    root = tmp_path_factory.mktemp("beam")
    return {n: beam_graph(str(root / n), train=False, **kw) for n, kw in VARIANTS.items()}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_beam_search_decoder_layer_matches_the_graph(graphs, name):
    import keras

    from migrate.graph.constructs import REGISTRY
    from migrate.graph.meta import GraphView
    from migrate.graph.rnn import keras_weights
    from migrate.parity.tf1_graph import TF1Graph
    from tf_migrate_runtime.layers import BeamSearchDecoder, gather_tree

    kind, penalty = VARIANTS[name]["kind"], VARIANTS[name]["length_penalty"]
    rng = np.random.RandomState(3)
    feed = {"src:0": rng.randint(0, 11, (4, 5)).astype("int32"), "src_len:0": np.array([5, 3, 1, 4], "int32")}
    enc_final = ["encoder/rnn/while/Exit_3:0"] + (["encoder/rnn/while/Exit_4:0"] if kind == "lstm" else [])
    with TF1Graph(graphs[name]) as g:
        g.focus(["decoder/predicted_ids:0", "decoder/beam_scores:0"] + enc_final)
        ids, scores, *enc = g.run(["decoder/predicted_ids:0", "decoder/beam_scores:0"] + enc_final, feed)
        view = GraphView(g)
        (step,) = [s for _, s in REGISTRY.steps(view, in_loops=True) if s.scope.startswith("decoder/")]
        weights = keras_weights(view, step) + [view.variable_values("embedding")] + [
            view.variable_values(f"decoder/beam/output_projection/{n}") for n in ("kernel", "bias")]
    init = [np.repeat(e[:, None, :], 3, axis=1) for e in enc]       # tile_batch, split to [B, beam, units]
    if kind == "lstm":
        init = init[::-1]                                             # TF1 LSTMStateTuple (c, h) -> [h, c]
    layer = BeamSearchDecoder([step.family], [step.units], vocab_size=11, embedding_dim=6, output_size=11,
                              beam_width=3, length_penalty_weight=penalty)
    layer(np.array(6), start_tokens=np.ones(4, "int32"), end_token=2, initial_state=init)
    layer.set_weights(weights)
    step_ids, parents, step_scores, lengths, _ = (keras.ops.convert_to_numpy(o) for o in layer(
        np.array(6), start_tokens=np.ones(4, "int32"), end_token=2, initial_state=init))
    got = keras.ops.convert_to_numpy(gather_tree(step_ids, parents, lengths.max(1), 2)).transpose(1, 0, 2)
    assert got.shape == ids.shape and ids.shape[1] >= 2
    np.testing.assert_array_equal(got, ids)
    np.testing.assert_allclose(step_scores.transpose(1, 0, 2), scores, atol=1e-5)


def test_beam_search_decoder_round_trips_its_config():
    """A `.keras` file keeps beam width and length penalty (the variant: two stacked cells, no output layer)."""
    import keras

    from tf_migrate_runtime.layers import BeamSearchDecoder

    layer = BeamSearchDecoder(["lstm", "gru"], [4, 7], vocab_size=7, embedding_dim=3, beam_width=2,
                              length_penalty_weight=1.0)
    ids, parents, scores, lengths, log_probs = layer(np.array(4), start_tokens=np.array([1, 1, 1]), end_token=2)
    assert tuple(ids.shape)[1:] == (3, 2) and tuple(lengths.shape) == (3, 2)
    again = BeamSearchDecoder.from_config(layer.get_config())
    assert (again.beam_width, again.length_penalty_weight, again.units) == (2, 1.0, [4, 7])
    assert keras.ops.convert_to_numpy(log_probs).shape == (3, 2)


# ------------------------------------------------------------------------------------ the recogniser (convert)
CONVERTED = {  # one conversion each, shared by the tests below
    "gru_penalty_train": {"kind": "gru", "length_penalty": 0.6, "train": True},
    # a variant nobody asked for: two stacked LSTMs (forget bias 0.7, a MultiRNNCell) without an output layer (vocab
    # = the top cell's 5 units), beam width 2, maximum_iterations 4
    "stacked_lstm_no_output_layer": {"kind": "lstm", "length_penalty": 0.0, "train": False, "output_layer": False,
                                     "beam": 2, "max_iterations": 4, "layers": 2},
}
BEAM_OUTPUTS = ["decoder/predicted_ids:0", "decoder/beam_scores:0"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Each variant's graph (a real `GatherTree` NodeDef, as TF 1.x saved it) converted -> (report, model.py)."""
    from migrate.graph import convert_graph

    root = tmp_path_factory.mktemp("beam_convert")
    out = {}
    for name, kw in CONVERTED.items():
        prefix = beam_graph(str(root / name), real_gather_tree=True, **kw)
        outputs = BEAM_OUTPUTS + (["decoder/train_logits:0"] if kw["train"] else [])
        report = convert_graph(prefix, str(root / f"{name}_out"), log=lambda m: None, outputs=outputs)
        out[name] = report, (root / f"{name}_out" / "model.py").read_text(), prefix
    return out


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_beam_search_loop_converts_to_one_beam_search_decoder_layer(converted, name):
    """The beam loop is recognised (not translated op by op): one `tfm.BeamSearchDecoder` with the graph's beam
    width, length penalty, maximum_iterations and output layer (or none), its back-tracking `tfm.GatherTree`; predicted ids exact, scores within
    tolerance; with `train`, the training decoder sharing its variables converts beside it with parity."""
    report, source, _ = converted[name]
    kw = CONVERTED[name]
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][0]["exact"]
    assert report["translated"]["dynamic_decode BeamSearchDecoder -> tfm.BeamSearchDecoder"] == 1
    assert report["translated"]["GatherTree (contrib, not in TF 2.21) -> tfm.GatherTree"] == 1
    assert not any("generic" in k for k in report["translated"]), report["translated"]
    assert {lp["loop"]: lp["how"] for lp in report["loops"]}["decoder/beam"] == "recognised as beam_search_decoder"
    dense = kw.get("output_layer", True)
    n = kw.get("layers", 1)
    assert f"tfm.BeamSearchDecoder({[kw['kind']] * n!r}, {[5] * n!r}, vocab_size=11, embedding_dim=6, " \
           f"output_size={11 if dense else None}, use_bias={dense}, beam_width={kw.get('beam', 3)}, " \
           f"length_penalty_weight=" in source
    assert f"keras.ops.convert_to_tensor({kw.get('max_iterations', 6)}, dtype='int32')" in source
    assert f"length_penalty_weight={kw['length_penalty']!r}, name=" in source   # the float32 constant as written
    assert ("dynamic_decode BasicDecoder+TrainingHelper" in " ".join(report["translated"])) == kw["train"]


def test_inspect_names_the_beam_loop_and_its_output_layer(converted):
    """`inspect`: the loop is a BeamSearchDecoder (beam width 3, the decoder cell it runs); the output layer the
    beam's log-softmax reads is a dense layer (it used to be 'cell kind unknown: read inside decoder/beam/while')."""
    from migrate.checkpoint.inspection import inspect_json, inspect_text
    from migrate.checkpoint.reader import Checkpoint

    rep = inspect_json(Checkpoint.open(converted["gru_penalty_train"][2]))
    assert rep["graph"]["beam_search_loops"] == [{"loop": "decoder/beam/while", "beam_width": 3,
                                                  "cells": ["decoder/decoder/gru_cell"]}]
    assert [d["scope"] for d in rep["dense"]] == ["decoder/decoder/output_projection"] and not rep["other_cells"]
    assert "loop decoder/beam/while: BeamSearchDecoder, beam width 3" in inspect_text(rep)


# ------------------------------------------------------- BeamSearchDecoder over an AttentionWrapper (issue 22)
ATTENTION_CONVERTED = {  # one conversion each; every variant with the successor's TF 1.15 coverage / length penalty
    # Luong (scale=True) over a GRU, attention layer 6, output_attention, length penalty 0.6 + coverage 0.4; end
    # token 9, a word these random weights pick often enough that beams finish early (the coverage penalty scores
    # finished beams only)
    "luong_gru_coverage": {"attention": "luong", "length_penalty": 0.6, "coverage_penalty": 0.4, "end_token": 9},
    # Bahdanau (normalize=True) over two stacked LSTMs (forget bias 0.7), no attention layer, the top cell's output
    # (output_attention=False), alignment_history on, beam 4, length penalty 1.0 + coverage 0.3
    "bahdanau_stacked_lstm": {"attention": "bahdanau", "kind": "lstm", "layers": 2, "attention_layer_size": None,
                              "output_attention": False, "alignment_history": True, "beam": 4,
                              "length_penalty": 1.0, "coverage_penalty": 0.3},
    # a variant nobody asked for: the vocabulary projection is an OutputProjectionWrapper around the
    # AttentionWrapper (inside the cell, before the beam split), not the decoder's output_layer; no penalty
    "luong_projection_wrapper": {"attention": "luong", "projection_wrapper": True},
}
ATTENTION_OUTPUTS = BEAM_OUTPUTS + ["decoder/step_ids:0", "decoder/parent_ids:0", "decoder/lengths:0"]
FEED = {"src:0": np.random.RandomState(4).randint(0, 11, (4, 5)).astype("int32"),
        "src_len:0": np.array([5, 3, 1, 4], "int32")}   # batch 4, unequal memory lengths


@pytest.fixture(scope="module")
def attention_converted(tmp_path_factory):
    """Each attention variant (a real `GatherTree` NodeDef) converted -> (report, model.py, prefix, out dir)."""
    from migrate.graph import convert_graph

    root = tmp_path_factory.mktemp("beam_attention")
    out = {}
    for name, kw in ATTENTION_CONVERTED.items():
        prefix = beam_graph(str(root / name), real_gather_tree=True, train=False, **kw)
        report = convert_graph(prefix, str(root / f"{name}_out"), log=lambda m: None, outputs=ATTENTION_OUTPUTS)
        out[name] = report, (root / f"{name}_out" / "model.py").read_text(), prefix, root / f"{name}_out"
    return out


@pytest.mark.parametrize("name", sorted(ATTENTION_CONVERTED))
def test_a_beam_loop_over_an_attention_wrapper_converts_to_one_layer(attention_converted, name):
    """The beam loop over an AttentionWrapper is recognised: one `tfm.BeamSearchAttentionDecoder` with the
    graph's mechanism, attention layer, output_attention, beam width and both penalties; predicted ids (after
    `GatherTree`), step ids, parent ids and lengths exact, scores within tolerance (the harness' batch of 3 with
    unequal source lengths)."""
    report, source, _, _ = attention_converted[name]
    kw = ATTENTION_CONVERTED[name]
    assert report["parity"]["ok"], report["parity"]
    exact = {o["graph"]: o.get("exact") for o in report["parity"]["outputs"]}
    assert all(exact[n] for n in ATTENTION_OUTPUTS if n != "decoder/beam_scores:0"), exact
    assert report["translated"]["dynamic_decode BeamSearchDecoder(AttentionWrapper) -> "
                                "tfm.BeamSearchAttentionDecoder"] == 1
    assert report["translated"]["GatherTree (contrib, not in TF 2.21) -> tfm.GatherTree"] == 1
    assert not any("generic" in k for k in report["translated"]), report["translated"]
    assert {lp["loop"]: lp["how"] for lp in report["loops"]}["decoder/beam"] == "recognised as beam_search_decoder"
    n = kw.get("layers", 1)
    bahdanau = kw["attention"] == "bahdanau"
    assert (f"tfm.BeamSearchAttentionDecoder({[kw.get('kind', 'gru')] * n!r}, {[5] * n!r}, input_dim=6, "
            f"memory_dim=5, mechanism={kw['attention']!r}, num_units={4 if bahdanau else 5}, "
            f"scale={not bahdanau}, normalize={bahdanau}, attention_layer_size={kw.get('attention_layer_size', 6)}, "
            f"output_attention={kw.get('output_attention', True)}, vocab_size=11, output_size=11, use_bias=True, "
            f"beam_width={kw.get('beam', 3)}, length_penalty_weight={kw.get('length_penalty', 0.0)!r}, "
            f"coverage_penalty_weight={kw.get('coverage_penalty', 0.0)!r}, name=") in source
    assert "memory_lengths=" in source


def test_the_coverage_penalty_is_what_makes_the_scores_match(attention_converted):
    """On a batch of 4 with unequal source lengths the converted model's ids and scores are the graph's; the same
    model with `coverage_penalty_weight=0.0` is not (the penalty changes the finished beams' scores): the parity
    above checks the coverage penalty, not a beam search that ignores it."""
    from migrate.graph.program import build_model
    from migrate.parity.tf1_graph import TF1Graph

    _, source, prefix, out = attention_converted["luong_gru_coverage"]
    with TF1Graph(prefix) as g:
        g.focus(ATTENTION_OUTPUTS)
        want = g.run(ATTENTION_OUTPUTS, FEED)
    feed = {"src": FEED["src:0"], "src_len": FEED["src_len:0"]}
    got = {}
    for weight in ("0.4", "0.0"):
        model = build_model(source.replace("coverage_penalty_weight=0.4,", f"coverage_penalty_weight={weight},"))
        model.load_weights(str(out / "model.weights.h5"))
        got[weight] = [np.asarray(o) for o in model(feed)]
    assert want[0].shape[0] == 4 and want[0].shape[1] >= 2
    np.testing.assert_array_equal(got["0.4"][0], want[0])
    np.testing.assert_allclose(got["0.4"][1], want[1], atol=1e-5)
    for k in (2, 3, 4):                                     # step ids, parent ids, lengths
        np.testing.assert_array_equal(got["0.4"][k], want[k])
    assert np.abs(got["0.0"][1] - want[1]).max() > 1e-2     # without the penalty the scores are not the graph's


def test_inspect_names_the_attention_beam_loop_and_its_layer(attention_converted):
    """`inspect` on a beam search over an AttentionWrapper: the loop, its wrapped cell and the layer it converts to."""
    from migrate.checkpoint.inspection import inspect_json, inspect_text
    from migrate.checkpoint.reader import Checkpoint

    rep = inspect_json(Checkpoint.open(attention_converted["luong_gru_coverage"][2]))
    assert rep["graph"]["beam_search_loops"] == [{"loop": "decoder/beam/while", "beam_width": 3,
                                                  "cells": ["decoder/beam/attention_wrapper/gru_cell"]}]
    assert ("loop decoder/beam/while: BeamSearchDecoder, beam width 3 (cells decoder/beam/attention_wrapper/gru_cell;"
            " over an AttentionWrapper; convert: tfm.BeamSearchAttentionDecoder)") in inspect_text(rep)


def test_beam_search_attention_decoder_round_trips_its_config():
    """A `.keras` file keeps the mechanism, beam width and both penalties; a call on tiled memory returns time-major
    step ids and per-beam lengths."""
    from tf_migrate_runtime.layers import BeamSearchAttentionDecoder

    layer = BeamSearchAttentionDecoder(["gru", "lstm"], [4, 3], 3, 5, "bahdanau", 4, normalize=True,
                                       attention_layer_size=None, output_attention=False, vocab_size=7,
                                       output_size=7, beam_width=2, length_penalty_weight=0.5,
                                       coverage_penalty_weight=0.2)
    memory = np.random.RandomState(0).normal(0, 1, (3 * 2, 6, 5)).astype("float32")
    ids, parents, scores, lengths, _ = layer(np.array(4), start_tokens=np.array([1, 1, 1]), end_token=2,
                                             memory=memory, memory_lengths=np.repeat([6, 2, 4], 2))
    assert tuple(ids.shape)[1:] == (3, 2) and tuple(lengths.shape) == (3, 2)
    again = BeamSearchAttentionDecoder.from_config(layer.get_config())
    assert (again.beam_width, again.length_penalty_weight, again.coverage_penalty_weight, again.mechanism,
            again.normalize, again.output_attention) == (2, 0.5, 0.2, "bahdanau", True, False)
