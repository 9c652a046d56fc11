"""This repo's legacy TF1 Seq2Seq converts by `convert --from-graph`, its logits matching the legacy graph.

The 60 variants (cell x layers x encoder x attention) take about 3.5 s of CPU each, too much for CI: CI runs an
all-pairs subset (every pair of values of the four options appears in some row, so every value, and every value
of the options that follow them: attention_layer_size with 2 layers, output_attention=False with GRU, appears
too); `benchmarks/graph_convert_legacy_variants.py` runs all 60. Each variant is built by `legacy_tf1` (TF 1.x
control flow), given random N(0, 0.5) weights and biases with forget bias 0.6, saved by the legacy Saver with its
`.meta`; the conversion's own parity compares the logits of the teacher-forced decoder (train graphs: the default
outputs) or the logits and greedy ids (infer graphs).
"""

from __future__ import annotations

import importlib.util
import itertools
import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

HERE = os.path.dirname(os.path.abspath(__file__))

# (cell, layers, encoder, attention, graph mode): all pairs of the four options; three rows (one per cell, both
# encoders, three mechanisms) save the infer graph, so the greedy decoder is compared too.
PAIRWISE = [
    ("lstm", 1, "bi", "none", "train"),
    ("basic_lstm", 2, "uni", "none", "infer"),
    ("gru", 1, "uni", "none", "train"),
    ("lstm", 1, "uni", "luong", "train"),
    ("basic_lstm", 2, "uni", "luong", "train"),
    ("gru", 2, "bi", "luong", "infer"),
    ("lstm", 1, "uni", "scaled_luong", "train"),
    ("basic_lstm", 2, "uni", "scaled_luong", "train"),
    ("gru", 2, "bi", "scaled_luong", "train"),
    ("lstm", 2, "uni", "bahdanau", "train"),
    ("basic_lstm", 1, "bi", "bahdanau", "train"),
    ("gru", 2, "bi", "bahdanau", "train"),
    ("lstm", 2, "bi", "normalized_bahdanau", "infer"),
    ("basic_lstm", 2, "uni", "normalized_bahdanau", "train"),
    ("gru", 1, "uni", "normalized_bahdanau", "train"),
]

MECHANISM = {"luong": "LuongAttention", "scaled_luong": "LuongAttention(scale=True)", "bahdanau": "BahdanauAttention",
             "normalized_bahdanau": "BahdanauAttention(normalize=True)"}


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "graph_convert_legacy_variants", os.path.join(HERE, "..", "benchmarks", "graph_convert_legacy_variants.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("legacy_variants"))


def test_the_subset_holds_every_pair_of_option_values(bench):
    values = [sorted(set(v[k] for v in bench.VARIANTS), key=str) for k in range(4)]
    for i, j in itertools.combinations(range(4), 2):
        missing = set(itertools.product(values[i], values[j])) - {(r[i], r[j]) for r in PAIRWISE}
        assert not missing, (i, j, missing)
    assert {r[4] for r in PAIRWISE if r[3] != "none"} == {"train", "infer"}


@pytest.mark.slow
@pytest.mark.parametrize("row", PAIRWISE, ids=lambda r: "-".join(map(str, r)))
def test_legacy_variant_converts_with_logits_parity(bench, root, row):
    cell, layers, encoder, attention, mode = row
    result = bench.run_one((cell, layers, encoder, attention), os.path.join(root, mode), mode)
    assert result["converted"] and result["parity_ok"], result
    assert result["logits"] == "dynamic_seq2seq/decoder/output_projection/BiasAdd:0"
    assert result["max_abs"][result["logits"]] < 1e-5  # parity's own tolerance scales with the logits' magnitude
    if mode == "infer":
        assert result["max_abs"][result["greedy_ids"]] == 0 and result["greedy_ids"] in result["integer"]
    translated = result["translated"]
    layer = "tfm.GRU" if cell == "gru" else "tfm.LSTM"
    encoder_layers = layers * (2 if encoder == "bi" else 1)  # one Keras layer per cell per direction
    assert sum(n for k, n in translated.items() if k.startswith("dynamic_rnn") and k.endswith(layer)) == \
        encoder_layers + (layers if attention == "none" else 0), translated
    if attention != "none":  # the teacher-forced decoder: dynamic_rnn over an AttentionWrapper
        assert translated.get(f"dynamic_rnn(AttentionWrapper {MECHANISM[attention]}) -> tfm.AttentionDecoder") == 1, \
            translated
    if mode == "infer":
        greedy = "tfm.GreedyDecoder" if attention == "none" else "tfm.GreedyAttentionDecoder"
        assert sum(n for k, n in translated.items() if k.endswith(greedy)) == 1, translated


def test_legacy_graph_is_built_with_tf1_control_flow(bench, tmp_path):
    """The .meta holds TF 1.x while frames (Enter / Exit / NextIteration), no functional While; the process-wide
    control flow setting is what it was before the build."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    before = tf.compat.v1.control_flow_v2_enabled()
    built = bench.build(("gru", 1, "uni", "luong"), str(tmp_path), "infer")
    assert tf.compat.v1.control_flow_v2_enabled() == before
    meta = meta_graph_pb2.MetaGraphDef()
    with open(built["prefix"] + ".meta", "rb") as f:
        meta.ParseFromString(f.read())
    types = {n.op for n in meta.graph_def.node}
    assert {"Enter", "Exit", "NextIteration", "TensorArrayScatterV3"} <= types
    assert not types & {"While", "StatelessWhile", "TensorListFromTensor"}
    frames = {n.attr["frame_name"].s.decode() for n in meta.graph_def.node if n.op == "Enter"}
    assert {f.split("/while")[0] for f in frames} == {
        "dynamic_seq2seq/encoder/rnn", "dynamic_seq2seq/decoder/rnn", "dynamic_seq2seq/decoder/decoder"}
