"""The cell-layout registry: every layout round-trips TF1 -> Keras -> TF1 exactly, and each knows its names."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.checkpoint import cell_layouts
from migrate.checkpoint.reader import VariableInfo
from migrate.checkpoint.recognise import recognise


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(cell_layouts.REGISTRY)), units=st.integers(1, 6), inp=st.integers(1, 5),
       fb=st.sampled_from([0.0, 0.5, 1.0, -0.3]), seed=st.integers(0, 2**16))
def test_to_keras_then_to_tf1_is_the_identity(name, units, inp, fb, seed):
    lay = cell_layouts.REGISTRY[name]
    rng = np.random.RandomState(seed)
    tf1 = {r: rng.uniform(-1, 1, s).astype(np.float32) for r, s in lay.tf1_shapes(inp, units).items()}
    keras = lay.to_keras(tf1, inp, fb)
    assert [k.shape for k in keras] == [(inp, (4 if lay.family == "lstm" else 3) * units),
                                        (units, (4 if lay.family == "lstm" else 3) * units),
                                        ((4 if lay.family == "lstm" else 3) * units,)]
    back = lay.to_tf1(keras, fb)
    for r in lay.roles:
        np.testing.assert_allclose(back[r], tf1[r], rtol=0, atol=1e-6)


def test_lstm_folds_the_forget_bias_into_keras_f_block_only():
    lay = cell_layouts.get("lstm")
    tf1 = {"kernel": np.zeros((3, 8), np.float32), "bias": np.arange(8, dtype=np.float32)}
    _, _, b = lay.to_keras(tf1, 1, 0.5)
    # TF1 blocks i=[0,1] j=[2,3] f=[4,5] o=[6,7] -> Keras i, f(+0.5), c, o
    np.testing.assert_array_equal(b, [0, 1, 4.5, 5.5, 2, 3, 6, 7])
    assert cell_layouts.get("gru").folds_forget_bias is False
    assert cell_layouts.get("lstm_block").folds_forget_bias is True


def test_registry_knows_four_layouts_and_their_fused_ops():
    assert set(cell_layouts.REGISTRY) == {"lstm", "lstm_block", "gru", "gru_block"}
    assert cell_layouts.by_graph_op("LSTMBlockCell").name == "lstm_block"
    assert cell_layouts.by_graph_op("GRUBlockCell").name == "gru_block"
    assert cell_layouts.by_graph_op("MatMul") is None
    with pytest.raises(KeyError, match="registered: lstm, lstm_block, gru, gru_block"):
        cell_layouts.get("rnn")


@pytest.mark.parametrize("names,layout,era", [
    ({"a/lstm_cell/kernel": (9, 16), "a/lstm_cell/bias": (16,)}, "lstm", "tf>=1.2"),
    ({"a/basic_lstm_cell/weights": (9, 16), "a/basic_lstm_cell/biases": (16,)}, "lstm", "tf<=1.1"),
    ({"a/gru_cell/gates/kernel": (9, 8), "a/gru_cell/gates/bias": (8,), "a/gru_cell/candidate/kernel": (9, 4),
      "a/gru_cell/candidate/bias": (4,)}, "gru", "tf>=1.2"),
    ({"a/gru_cell/w_ru": (9, 8), "a/gru_cell/b_ru": (8,), "a/gru_cell/w_c": (9, 4), "a/gru_cell/b_c": (4,)},
     "gru_block", "contrib-block"),
    ({"a/GRUBlockCell/w_ru": (9, 8), "a/GRUBlockCell/b_ru": (8,), "a/GRUBlockCell/w_c": (9, 4),
      "a/GRUBlockCell/b_c": (4,)}, "gru_block", "contrib-block"),
    ({"a/lstm_fused_cell/kernel": (9, 16), "a/lstm_fused_cell/bias": (16,)}, "lstm_block", "tf>=1.2"),
])
def test_names_recognise_each_layout(names, layout, era):
    rec = recognise({n: VariableInfo(n, s, "float32") for n, s in names.items()})
    (cell,) = rec.cells
    assert (cell.layout, cell.era, cell.units, cell.input_size, cell.problems) == (layout, era, 4, 5, [])
    assert rec.unrecognised == []
