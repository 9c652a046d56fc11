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


def test_a_beam_loop_over_an_attention_wrapper_says_why_it_stays_generic(tmp_path):
    """The reason a loop is left to the generic tier is the construct's own (here: an AttentionWrapper cell in the
    beam), not the body-shape guess ("its body multiplies no variable") the beam loop used to get."""
    from migrate.graph.constructs import REGISTRY
    from migrate.graph.loops import why_not_recognised
    from migrate.graph.meta import GraphView
    from migrate.parity.tf1_graph import TF1Graph

    prefix = beam_graph(str(tmp_path / "luong"), attention="luong", train=False)
    with TF1Graph(prefix) as g:
        view = GraphView(g)
        kinds = {p.kind for p in REGISTRY.recognise(view, []).values()}
        why = why_not_recognised(view, "decoder/beam/while/while_context")
    assert "beam_search_decoder" not in kinds
    assert why.startswith("a BeamSearchDecoder over an AttentionWrapper cell"), why
