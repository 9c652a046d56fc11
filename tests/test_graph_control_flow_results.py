"""A frozen GRU segmenter as cutkum 2.4 ships it (benchmarks/corpus.py FORMS `cutkum_thai_gru_frozen`), built
TF1-style here at a small size:

- time-major inputs [T, B, D] -> dynamic_rnn of MultiRNNCell(GRUCell x 2) whose initial state is fed packed in one
  placeholder (`[layers, B, units]`, `[1, B, layers * units]` as cutkum does, or `[B, layers * units]`) and sliced
  per layer -> `tf.map_fn` of a dense layer over the time axis, in a scope named `logits` -> `probs` = softmax.

The automatic output choice never takes a control-flow op's spare output (a Merge's value_index, the Switch branch
nobody takes, in a `map_fn` loop or a `tf.cond`) nor anything inside a loop frame (`select.py`); the parity batch
of a packed state is read from where its rows meet the cell's batch rows, not from its leading axis
(`input_roles.py`, rule "batch rows of a cell"); the map_fn loop is named as what it is, not as a recurrence.
"""

from __future__ import annotations

import json
import os

import pytest
from tf1_models import random_session, tf1_style

from migrate.cli import main

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

UNITS, LAYERS, FEATURES, CLASSES = 5, 2, 4, 3


def _segmenter(tf, v1, packing: str = "layers"):
    """cutkum's ck_model.py at a small size; `packing`: how the initial state is fed."""
    x = v1.placeholder(tf.float32, [None, None, FEATURES], name="placeholder/inputs")    # time-major
    lengths = v1.placeholder(tf.int32, [None], name="placeholder/seq_lengths")
    if packing == "layers":      # [layers, B, units]: state[k] is layer k's
        state = v1.placeholder(tf.float32, [LAYERS, None, UNITS], name="placeholder/fw_state")
        init = tuple(state[k] for k in range(LAYERS))
    elif packing == "cutkum":    # [1, B, layers * units]: the layers side by side after a leading axis of 1
        state = v1.placeholder(tf.float32, [1, None, LAYERS * UNITS], name="placeholder/fw_state")
        init = tuple(state[0, :, k * UNITS:(k + 1) * UNITS] for k in range(LAYERS))
    else:                        # [B, layers * units]
        state = v1.placeholder(tf.float32, [None, LAYERS * UNITS], name="placeholder/fw_state")
        init = tuple(state[:, k * UNITS:(k + 1) * UNITS] for k in range(LAYERS))
    cells = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.GRUCell(UNITS) for _ in range(LAYERS)])
    out, _ = v1.nn.dynamic_rnn(cells, x, sequence_length=lengths, initial_state=init, time_major=True)
    w = v1.get_variable("fully_connected/weights", [UNITS, CLASSES])
    b = v1.get_variable("fully_connected/biases", [CLASSES])
    logits = tf.map_fn(lambda step: tf.sigmoid(tf.matmul(step, w) + b), out, name="logits")
    tf.nn.softmax(logits, name="probs")


def _graph(body):
    import tensorflow as tf

    with tf1_style(), tf.Graph().as_default() as g:
        body(tf, tf.compat.v1)
    return g


def _frozen(packing: str = "layers"):
    """The segmenter frozen as cutkum's freeze_graph.py does (random non-zero weights and biases: gate-order bugs
    show): a GraphDef keeping only what `probs` needs."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default() as g:
        _segmenter(tf, v1, packing)
        with random_session(3) as s:
            return v1.graph_util.convert_variables_to_constants(s, g.as_graph_def(), ["probs"])


# -- output choice ------------------------------------------------------------------------------------------------

def test_a_map_fn_loops_spare_merge_and_switch_outputs_are_not_results():
    import tensorflow as tf

    from migrate.graph.select import choose_outputs

    with tf.Graph().as_default() as g:
        tf.graph_util.import_graph_def(_frozen(), name="")
    spare = [t.name for o in g.get_operations() if o.name.startswith("logits/while/") and
             o.type in ("Merge", "Switch") for t in o.outputs if not t.consumers()]
    assert "logits/while/Merge:1" in spare   # named like an output, unconsumed (a Merge's value_index)
    sel = choose_outputs(g)
    assert sel.outputs == ["probs:0"], sel.why


def test_a_cond_leaving_an_untaken_switch_branch_is_not_a_result():
    """Nobody asked: a tf.cond in an `output` scope whose else-branch ignores x: x's Switch:0 and the cond's
    Merge:1 are unconsumed and named like an output."""
    from migrate.graph.select import choose_outputs

    def body(tf, v1):
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        flag = v1.placeholder_with_default(True, [], name="use_features")
        w = v1.get_variable("w", [3, 2])
        with tf.name_scope("output"):
            y = v1.cond(flag, lambda: tf.matmul(x, w), lambda: tf.zeros([1, 2]))
        tf.nn.softmax(y, name="probs")

    g = _graph(body)
    spare = sorted(t.name for o in g.get_operations() if o.type in ("Merge", "Switch") for t in o.outputs
                   if not t.consumers())
    assert any(n.startswith("output/cond/") and "Switch" in n and n.endswith(":0") for n in spare) and \
        "output/cond/Merge:1" in spare, spare
    assert choose_outputs(g).outputs == ["probs:0"]


# -- the batch axis of a packed initial state ---------------------------------------------------------------------

@pytest.mark.parametrize(("packing", "batch_axis"), [("layers", 1), ("cutkum", 1), ("flat", 0)])
def test_a_packed_state_takes_its_batch_axis_from_the_cells_rows(packing, batch_axis):
    from migrate.parity.input_roles import analyse, choose_sizes

    g = _graph(lambda tf, v1: _segmenter(tf, v1, packing))
    names = ["placeholder/inputs", "placeholder/seq_lengths", "placeholder/fw_state"]
    roles = analyse(g, names)
    assert (roles["placeholder/inputs"].time_axis, roles["placeholder/inputs"].batch_axis) == (0, 1)
    state = roles["placeholder/fw_state"]
    assert not state.sequence and state.batch_axis == batch_axis, state
    assert "gru_cell" in state.batch_why

    class P:   # what choose_sizes reads of a placeholder
        def __init__(self, name):
            self.name = name
            self.shape = tuple(g.get_operation_by_name(name).outputs[0].shape.as_list())

    sizes = choose_sizes([P(n) for n in names], roles, batch=3, steps=7)
    inputs, state_shape = sizes.shape(P(names[0])), sizes.shape(P(names[2]))
    assert inputs == (7, 3, FEATURES)
    assert state_shape == {"layers": (LAYERS, 3, UNITS), "cutkum": (1, 3, LAYERS * UNITS),
                           "flat": (3, LAYERS * UNITS)}[packing]


# -- the whole frozen model, converted without --inputs or --outputs -----------------------------------------------

@pytest.mark.slow
def test_the_frozen_segmenter_converts_with_its_packed_state_and_map_fn(tmp_path, capsys):
    import tensorflow as tf

    tf.io.write_graph(_frozen(), str(tmp_path), "frozen_model.pb", as_text=False)

    code = main(["convert", str(tmp_path / "frozen_model.pb"), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "outputs: probs:0 (" in out
    assert "placeholder/fw_state:0: batch on axis 1 (" in out
    assert "loop logits/while: translated generically (no recogniser took it: a map_fn-style loop, not a " \
           "recurrence: its loop variables are the step counter logits/while/iteration_counter, the step counter " \
           "logits/Const and the TensorArray logits/TensorArray_1; each step computes element i from element i " \
           "alone and carries no state to the next" in out
    report = json.loads((tmp_path / "out" / "convert_report.json").read_text())
    assert report["parity"]["ok"] and all(o["max_abs"] <= 1e-5 for o in report["parity"]["outputs"])
    assert "placeholder/fw_state:0 [2, 3, 5]" in out and "placeholder/inputs:0 [5, 3, 4]" in out, out
    assert (tmp_path / "out" / "model.py").read_text().count("tfm.GRU(") == LAYERS


# -- --feed booleans ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [("false", False), ("TRUE", True), ("False", False),
                                             ("[true, false]", [True, False]), ("'false'", "false")])
def test_feed_takes_booleans_in_any_case(text, value):
    from migrate.graph.cli import parse_feed

    assert parse_feed([f"Placeholder_1:0={text}"])["Placeholder_1:0"].tolist() == value


def test_feed_refusal_names_the_accepted_forms():
    from migrate.graph.cli import parse_feed
    from migrate.graph.convert import GraphConvertError

    with pytest.raises(GraphConvertError, match=r"'maybe' is not a number, boolean or list; write a number \(1.0, "
                                                r"0\), a boolean \(true or false, any case\)"):
        parse_feed(["Placeholder_1:0=maybe"])
