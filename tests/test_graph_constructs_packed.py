"""`dynamic_rnn` over states packed in one tensor (`state_is_tuple=False`, migrate/graph/constructs/packed_state.py):
`MultiRNNCell(..., state_is_tuple=False)` of GRU / LSTM / BasicRNN cells, LSTM cells packing `[c, h]` themselves,
alone or as layers, a `zero_state` or a fed initial state, bidirectional. Each built with the real TF1 cell classes
(tests/construct_builders.py: random non-zero weights and biases, non-default forget biases), converted with parity
into the same stacked `tfm.LSTM` / `GRU` / `SimpleRNN` layers as the tuple case, the packed final state a
`keras.ops.concatenate` of the layers' final states in TF1's order; never the generic tier's `tfm.WhileLoop`."""

from __future__ import annotations

import os

import numpy as np
import pytest
from construct_builders import build, converted_once, packed_gru_dropout

pytestmark = pytest.mark.slow

# builder -> (the outputs converted, what model.py holds, {translated key: count})
CASES = {
    "packed_lstm_stack": (["outputs:0", "final_state:0"], [
        "tfm.LSTM(4, forget_bias=0.3, return_sequences=True", "tfm.LSTM(5, forget_bias=0.6, return_sequences=True",
        "final_state = keras.ops.concatenate([rnn__multi_rnn_cell__cell_0__lstm_cell_c, "
        "rnn__multi_rnn_cell__cell_0__lstm_cell_h, rnn__multi_rnn_cell__cell_1__basic_lstm_cell_c, "
        "rnn__multi_rnn_cell__cell_1__basic_lstm_cell_h], axis=-1)"],
        {"dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 2}),
    "packed_mixed_fed": (["outputs:0", "final_state:0"], [
        "initial_c = state0[:, 0:4]", "initial_h = state0[:, 4:8]", "initial_h_2 = state0[:, 8:13]",
        "initial_h_3 = state0[:, 13:16]", "initial_state=[initial_h, initial_c]", "initial_state=[initial_h_2]",
        "tfm.GRU(5, reset_after=False", "tfm.SimpleRNN(3, return_sequences=True"],
        {"dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 1, "dynamic_rnn GRUCell -> tfm.GRU": 1,
         "dynamic_rnn BasicRNNCell -> tfm.SimpleRNN": 1}),
    "packed_single_lstm": (["outputs:0", "final_state:0"], [
        "initial_c = state0[:, 0:5]", "initial_h = state0[:, 5:10]",
        "final_state = keras.ops.concatenate([rnn__lstm_cell_c, rnn__lstm_cell_h], axis=-1)"],
        {"dynamic_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM": 1}),
    "packed_bidi": (["outputs:0", "final_fw:0", "final_bw:0"], [
        "tfm.PeepholeLSTM(4, use_peepholes=True, num_proj=3, forget_bias=0.2",
        "final_state = keras.ops.concatenate([bidirectional_rnn__fw__lstm_cell_c, bidirectional_rnn__fw__lstm_cell_h]"],
        {"dynamic_rnn LSTMCell -> tfm.PeepholeLSTM": 1, "dynamic_rnn GRUCell -> tfm.GRU": 1}),
}


@pytest.fixture(scope="module")
def prefixes(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    return {name: build(name, root) for name in CASES}


@pytest.fixture(scope="module")
def converted(prefixes, tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph converted once."""
    return converted_once(tmp_path_factory.mktemp("packed_out"), prefixes.__getitem__, lambda name: CASES[name][0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_packed_state_loop_becomes_stacked_layers_with_parity(converted, name):
    outputs, source_has, translated = CASES[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"], lines
    assert [r["graph"] for r in report["parity"]["outputs"]] == outputs
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert {lp["how"] for lp in report["loops"]} == {"recognised as dynamic_rnn"}, report["loops"]
    assert {k: v for k, v in report["translated"].items() if k.startswith("dynamic_rnn")} == translated
    source = (out / "model.py").read_text()
    missing = [s for s in source_has if s not in source]
    assert not missing, (missing, source)
    assert "tfm.WhileLoop" not in source and "with the states packed in one tensor (state_is_tuple=False)" in source


def test_fed_packed_state_reaches_every_layer(prefixes, converted):
    """On a fresh batch (lengths 5, 2, 4, 1), a non-zero fed state: model.keras's outputs and packed final state equal
    the TF1 graph's; a different fed state changes every layer's part of the final state (each layer reads its own
    columns); lengths 2 and 1 check the final state is the state at each row's length, as TF1's Select keeps it."""
    import keras
    import tensorflow as tf
    from tf1_models import session_config

    import tf_migrate_runtime.layers  # noqa: F401

    prefix = prefixes["packed_mixed_fed"]
    model = keras.saving.load_model(str(converted("packed_mixed_fed")[3] / "model.keras"))
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 4, 3)).astype("float32")
    n = np.array([5, 2, 4, 1], "int32")
    states = [rng.normal(size=(4, 16)).astype("float32") for _ in range(2)]
    with tf.Graph().as_default(), tf.compat.v1.Session(config=session_config()) as sess:
        tf.compat.v1.train.import_meta_graph(prefix + ".meta").restore(sess, prefix)
        want = [sess.run(["outputs:0", "final_state:0"], {"x:0": x, "lengths:0": n, "state0:0": s}) for s in states]
    for s, (w_out, w_state) in zip(states, want):
        got_out, got_state = (np.asarray(t) for t in model({"x": x, "lengths": n, "state0": s}))
        np.testing.assert_allclose(got_out, w_out, atol=1e-5)
        np.testing.assert_allclose(got_state, w_state, atol=1e-5)
    diff = np.abs(want[0][1] - want[1][1])
    assert all(diff[:, a:b].min() > 0 for a, b in ((0, 4), (4, 8), (8, 13), (13, 16)))
    assert np.abs(want[0][0][2:, 1]).max() == 0.0 < np.abs(want[0][0][:2, 1]).min()   # time major; row 1: length 2


@pytest.fixture(scope="module")
def temperatures(tmp_path_factory):
    """The temperatures predictor's shape (construct_builders.packed_gru_dropout) written as tensorflow-without-a-phd
    did, `tf.saved_model.simple_save` (TF 1.6's), and frozen (`convert_variables_to_constants`)."""
    import tensorflow as tf
    from tf1_models import random_session, tf1_style

    v1 = tf.compat.v1
    root = str(tmp_path_factory.mktemp("temperatures"))
    with tf1_style(), tf.Graph().as_default() as g:
        packed_gru_dropout(tf, v1)
        with random_session(3) as s:
            v1.saved_model.simple_save(s, os.path.join(root, "saved_model"),
                                       inputs={k: g.get_tensor_by_name(k + ":0") for k in ("features", "Hin", "pkeep")},
                                       outputs={k: g.get_tensor_by_name(k + ":0") for k in ("Yout", "H")})
            frozen = v1.graph_util.convert_variables_to_constants(s, g.as_graph_def(), ["H", "Yout"])
            tf.io.write_graph(frozen, root, "frozen.pb", as_text=False)
    return root


@pytest.mark.parametrize("form", ["saved_model", "frozen.pb"])
def test_temperatures_shape_converts_into_gru_layers(temperatures, form, tmp_path):
    """2 x DropoutWrapper(GRUCell) in MultiRNNCell(state_is_tuple=False) from the fed Hin, as the real SavedModel:
    two tfm.GRU layers started from Hin's halves, H their final states concatenated, with parity; the dropout's
    keep probability placeholder fixed to 1.0; the signature's keys name the Keras inputs and outputs."""
    from migrate.graph.convert import convert_graph

    lines = []
    report = convert_graph(os.path.join(temperatures, form), str(tmp_path / "out"),
                           outputs=None if form == "saved_model" else ["H:0", "Yout:0"], log=lines.append)
    assert report["parity"]["ok"] and all(r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), lines
    assert [lp["how"] for lp in report["loops"]] == ["recognised as dynamic_rnn"], report["loops"]
    assert report["translated"]["dynamic_rnn GRUCell -> tfm.GRU"] == 2
    source = (tmp_path / "out" / "model.py").read_text()
    for line in ("initial_h = hin[:, 0:6]", "initial_h_2 = hin[:, 6:12]",
                 "tfm.GRU(6, reset_after=False, return_sequences=True, return_state=True, "
                 "name='rnn__multi_rnn_cell__cell_0__gru_cell')",
                 "final_state = keras.ops.concatenate([rnn__multi_rnn_cell__cell_0__gru_cell_h, "
                 "rnn__multi_rnn_cell__cell_1__gru_cell_h], axis=-1)"):
        assert line in source, (line, source)
    assert "tfm.WhileLoop" not in source
    if form == "saved_model":
        assert {i["keras"] for i in report["graph"]["inputs"]} == {"features", "Hin"}
        assert sorted(o["keras"] for o in report["graph"]["outputs"]) == ["H", "Yout"]


def test_a_packed_state_in_another_order_is_left_to_the_generic_tier(tmp_path):
    """Two GRUCells reading their columns of a packed state as MultiRNNCell does, but packing the new states layer
    1 first (construct_builders.packed_swapped): stacked layers would return the final state in the wrong order, so
    the recogniser declines, says why, and the generic tier converts it with parity."""
    from migrate.graph.convert import convert_graph

    lines = []
    report = convert_graph(build("packed_swapped", tmp_path), str(tmp_path / "out"),
                           outputs=["outputs:0", "final_state:0"], log=lines.append)
    assert report["parity"]["ok"] and all(r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), lines
    assert [lp["how"] for lp in report["loops"]] == ["translated generically"]
    assert "is not the cells' new states concatenated in the order they read them" in report["loops"][0]["why"]


def test_static_rnn_over_packed_states_becomes_stacked_layers(tmp_path):
    """static_rnn (unrolled) over MultiRNNCell([LSTMCell(state_is_tuple=False), GRUCell], state_is_tuple=False) from
    a fed state: each step's state is columns of the step before's packed concat (`matching.resolve_state`), so the
    steps chain into one tfm.LSTM and one tfm.GRU started from the fed state's columns; no cell kernel is left as a
    Dense layer; the packed final state with parity."""
    from migrate.graph.convert import convert_graph

    lines = []
    report = convert_graph(build("packed_static", tmp_path), str(tmp_path / "out"),
                           outputs=["outputs:0", "final_state:0"], log=lines.append)
    assert report["parity"]["ok"] and all(r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), lines
    assert report["translated"].get("static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM") == 1, report["translated"]
    assert report["translated"].get("static_rnn GRUCell -> tfm.GRU") == 1, report["translated"]
    assert not any("Dense" in k for k in report["translated"]), report["translated"]
