"""Wrappers inside `static_rnn` and `static_bidirectional_rnn` (migrate/graph/constructs/static_rnn.py,
static_bidirectional_rnn.py): each built with the real TF1 classes (tests/construct_builders.py), converted with
parity to whole-sequence Keras layers and ops (no per-step op left in model.py), trainable."""

from __future__ import annotations

import numpy as np
import pytest
from construct_builders import build, converted_once
from real_corpus import bench, corpus_entry

pytestmark = pytest.mark.slow

# builder -> (the report's `translated`, lines model.py must hold, the loops' "how")
CASES = {
    "static_projection": (
        {"static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 1,
         "static_rnn OutputProjectionWrapper -> keras.layers.Dense": 1},
        ["keras.layers.Dense(2, activation='tanh', use_bias=True, name='rnn__output_projection_wrapper')(rnn__"],
        ["recognised as static_rnn"]),
    "static_residual_dropout": (
        {"static_rnn GRUCell -> tfm.GRU": 2, "static_rnn ResidualWrapper -> keras.ops.add": 1},
        ["= keras.ops.add(rnn__multi_rnn_cell__cell_1__gru_cell_seq, rnn__multi_rnn_cell__cell_0__gru_cell_seq)"],
        ["recognised as static_rnn"] * 2),
    "static_bidi": (
        {"static_bidirectional_rnn -> keras.ops.concatenate": 1, "static_rnn GRUCell -> tfm.GRU": 1,
         "static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 1},
        ["steps_reversed = keras.ops.flip(x, axis=1)",
         "keras.ops.concatenate([bidirectional_rnn__fw__lstm_cell_seq, backward_in_time_order], axis=-1)"],
        ["recognised as static_rnn"] * 2 + ["recognised as static_bidirectional_rnn"]),
    "static_bidi_wrapped": (
        {"static_bidirectional_rnn -> keras.ops.concatenate": 1, "static_rnn GRUCell -> tfm.GRU": 1,
         "static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 2, "static_rnn ResidualWrapper -> keras.ops.add": 1},
        ["keras.ops.concatenate([residual, backward_in_time_order], axis=-1)"],
        ["recognised as static_rnn"] * 3 + ["recognised as static_bidirectional_rnn"]),
}


# builder -> the outputs converted (the others: the ones the converter chooses)
OUTPUTS = {"static_shared_train_sample": ["outputs:0", "sample_output:0", "sample_h:0"],
           "static_fed_back_decoder": ["decoded:0"]}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph built and converted once."""
    root = tmp_path_factory.mktemp("static")
    return converted_once(root, lambda name: build(name, root), OUTPUTS.get)


@pytest.mark.parametrize("name", sorted(CASES))
def test_static_wrappers_become_sequence_layers_with_parity(converted, name):
    translated, lines_in, hows = CASES[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert report["translated"] == translated, report["translated"]
    assert sorted(lp["how"] for lp in report["loops"]) == sorted(hows), report["loops"]
    source = (out / "model.py").read_text()
    assert all(line in source for line in lines_in), source
    # no step-by-step leftovers: no slice of a layer's output, no per-step dropout, concat or stack
    assert "[:, 0]" not in source and "RandomUniform" not in source and "# ConcatV2" not in source, source
    assert "# Pack" not in source, source


def test_static_bidirectional_layers_train(converted):
    """Every weight of the three layers gets a gradient through the joined sequence."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415

    model = keras.saving.load_model(str(converted("static_bidi_wrapped")[3] / "model.keras"))
    rnns = [la for la in model.layers if isinstance(la, keras.layers.LSTM | keras.layers.GRU)]
    assert len(rnns) == 3
    weights = [w for la in rnns for w in la.trainable_weights]
    x = np.random.default_rng(3).normal(size=(2, 4, 5)).astype("float32")
    with tf.GradientTape() as tape:
        out = model({"x": x})
        loss = tf.reduce_sum(tf.square(out[0] if isinstance(out, list | tuple) else out))
    grads = tape.gradient(loss, weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


# the char-RNN of sherjilozair/char-rnn-tensorflow as TF 1.15 wrote it (legacy_seq2seq.rnn_decoder: the cell called
# once a step on the squeezed splits of the embedded ids) -> (what the report translates, the layer line model.py
# holds, the largest difference of the probabilities allowed)
CHAR_LM = {
    # LSTMCell(forget_bias=2.5): the layer adds it at run time, after the bias, as TF1 did. Folded into the bias
    # (the converter before) the probabilities were 2.1e-7 off after 12 steps (1.9e-5 on the corpus' char-RNN of TF
    # 1.0 after 50, past parity's 1e-5); this way the sums are TF1's own, in its order
    "char_lm_lstm_stack": ({"static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 2},
                           "tfm.LSTM(16, forget_bias=2.5, return_sequences=True", 1e-7),
    # BasicLSTMCell(forget_bias=0.0): nothing to add, Keras' own LSTM arguments
    "char_lm_basic_lstm_fb0": ({"static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 2},
                               "tfm.LSTM(16, return_sequences=True", 1e-7),
    # LSTMCell(num_proj=6, forget_bias=1.7): TF1's own weights in tfm.PeepholeLSTM
    "char_lm_lstm_projection": ({"static_rnn LSTMCell -> tfm.PeepholeLSTM": 2},
                                "tfm.PeepholeLSTM(16, use_peepholes=False, num_proj=6, forget_bias=1.7", 1e-6),
}


@pytest.mark.parametrize("name", sorted(CHAR_LM))
def test_char_lm_of_tf115_is_two_lstm_layers_with_parity(converted, name):
    translated, layer, atol = CHAR_LM[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"] and "recognisers_declined" not in report, lines
    assert {k: v for k, v in report["translated"].items() if k.startswith("static_rnn")} == translated
    assert [lp["how"] for lp in report["loops"]] == ["recognised as static_rnn"] * 2, report["loops"]
    (probs,) = report["parity"]["outputs"]
    assert probs["graph"] == "probs:0" and probs["max_abs"] < atol, probs
    source = (out / "model.py").read_text()
    assert source.count(layer) == 2, source
    assert "keras.ops.squeeze" not in source and "[:, 0]" not in source, source   # no per-step round trip


def test_one_cell_in_a_training_and_a_sampling_static_rnn_is_one_layer_called_twice(converted):
    """Two chains of steps over one cell's variables (the 5-step training graph, the 1-step sampling graph from fed
    states): each layer of the stack is one tfm.LSTM, called on the training sequence and again on the sampling
    step with the fed states; before, two chains of one kernel were left op by op (201 lines, 12 Dense)."""
    _, report, lines, out = converted("static_shared_train_sample")
    assert report["parity"]["ok"] and all(r["max_abs"] < 1e-6 for r in report["parity"]["outputs"]), lines
    assert report["translated"] == {"static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 4}, report["translated"]
    source = (out / "model.py").read_text()
    assert source.count("= tfm.LSTM(6, forget_bias=0.3, return_sequences=True") == 2, source
    assert source.count("so that layer is called again") == 2, source
    assert "initial_state=[h0, c0])" in source and "initial_state=[h1, c1])" in source, source
    assert "tf.nn.static_rnn (unrolled, 1 step) of" in source, source


def test_a_decoder_fed_its_own_outputs_is_left_to_the_generic_tier(converted):
    """legacy_seq2seq's encoder-decoder over one cell with a loop_function: the decoder's inputs are computed from its
    own outputs, so no layer runs over them; translated op by op with parity (before: refused, exit 2)."""
    _, report, lines, out = converted("static_fed_back_decoder")
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] < 1e-6, lines
    assert not any(k.startswith("static_rnn") for k in report["translated"]), report["translated"]
    assert "tfm.GRU" not in (out / "model.py").read_text()


@pytest.mark.parametrize("mode", ["as-given", "fed"])
def test_real_char_rnn_of_one_cell_in_a_training_and_a_sampling_graph(tmp_path, mode):
    """charrnn_static_fb0_tf12 (crazydonkey200/tensorflow-char-rnn, TF 1.2): one MultiRNNCell(2 x BasicLSTMCell,
    forget_bias 0.0) in a 10-step training static_rnn and a 1-step sampling one whose initial states are
    PlaceholderWithDefaults with a default of batch 20 (the project's bug). Fed (the manifest's feeds as --inputs),
    every chain is a call of its layer: 4 tfm.LSTM calls (before: 24 Dense, op by op). As given (nothing fed), the
    sampling graph's first h cannot join its batch-1 input (TF1 fails too): fed, an input of the model; its c, which
    TF1 broadcasts against the batch-1 step, leaves that one chain op by op; the other three are layers."""
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    prefix, entry = corpus_entry("charrnn_static_fb0_tf12")
    npz = None
    if mode == "fed":
        npz = str(tmp_path / "feed.npz")
        np.savez(npz, **bench().make_feeds(entry)[0])
    lines = []
    report = convert_graph(prefix, str(tmp_path / "out"), outputs=entry["outputs"], inputs_npz=npz, log=lines.append)
    assert report["parity"]["ok"] and max(r["max_abs"] for r in report["parity"]["outputs"]) < 1e-6, lines
    layers = 4 if mode == "fed" else 3
    assert report["translated"]["static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"] == layers, report["translated"]
    assert report["translated"].get("MatMul + BiasAdd -> keras.layers.Dense") == (2 if mode == "fed" else 3)
    inputs = sorted(i["graph"] for i in report["graph"]["inputs"] if "initial_state" in i["graph"])
    fed = [f"evaluation/initial_state/PlaceholderWithDefault{k}:0" for k in ("", "_1", "_2", "_3")]
    assert inputs == (fed if mode == "fed" else fed[1:2]), inputs
    if mode == "as-given":
        assert any("the initial c evaluation/initial_state/PlaceholderWithDefault:0 of rnn/multi_rnn_cell/cell_0/"
                   "basic_lstm_cell has batch 20, its steps' inputs 1" in ln for ln in lines), lines
