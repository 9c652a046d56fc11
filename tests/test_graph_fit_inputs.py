"""Generated parity inputs fit the graph they are fed to (`migrate.parity.input_roles`): time-major inputs get
`[T, B, ...]`, lengths never exceed the time axis they index (whatever the placeholder is called), one batch size
for every input and every fed or defaulted batch-size placeholder, ids inside the table each one indexes. A graph
that refuses every generated batch gets TensorFlow's own error (op, node, text) and the way out (`--inputs`).

Each graph is built here in TF1 style (control flow v1, ref variables, saved with its .meta), with random non-zero
weights and biases and a non-default forget bias, and converted as given through `tf-migrate convert --from-graph`.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

D, U = 3, 5   # features, units


def _graph(build, path: str) -> str:
    import tensorflow as tf

    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            build(tf, tf.compat.v1)
            save_random_weights(path)
    return path


def time_major_lstm(tf, v1):
    """(1) dynamic_rnn(time_major=True): x is [T, B, D], its lengths [B]."""
    x = v1.placeholder(tf.float32, [None, None, D], name="x")
    lengths = v1.placeholder(tf.int32, [None], name="lengths")
    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.7), x, sequence_length=lengths,
                               dtype=tf.float32, time_major=True)
    v1.layers.dense(out, 4, name="logits")


def generic_lengths_bidi(tf, v1):
    """(2) lengths in a placeholder called `Placeholder_4`, a time axis fixed at 5; the backward direction's
    ReverseSequence refuses any length over 5."""
    x = v1.placeholder(tf.float32, [None, 5, D])
    for _ in range(3):
        v1.placeholder(tf.float32, [None])                   # Placeholder_1 .. _3: not needed by the outputs
    lengths = v1.placeholder(tf.int32, [None])
    assert lengths.name == "Placeholder_4:0"
    (fw, bw), _ = v1.nn.bidirectional_dynamic_rnn(v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.6),
                                                  v1.nn.rnn_cell.LSTMCell(U, forget_bias=1.4), x,
                                                  sequence_length=lengths, dtype=tf.float32)
    v1.layers.dense(tf.concat([fw, bw], -1), 4, name="logits")


def zero_state_batch(tf, v1):
    """(3) the zero state sized by a batch_size placeholder."""
    batch_size = v1.placeholder(tf.int32, [], name="batch_size")
    x = v1.placeholder(tf.float32, [None, None, D], name="x")
    cell = v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.8)
    out, _ = v1.nn.dynamic_rnn(cell, x, initial_state=cell.zero_state(batch_size, tf.float32), dtype=tf.float32)
    v1.layers.dense(out, 4, name="logits")


def two_tables(tf, v1):
    """(4) two generic id inputs into tables of 7 and 4 rows."""
    words = v1.placeholder(tf.int32, [None, None])
    tags = v1.placeholder(tf.int32, [None, None])
    x = tf.concat([tf.nn.embedding_lookup(v1.get_variable("words", [7, 4]), words),
                   tf.nn.embedding_lookup(v1.get_variable("tags", [4, 2]), tags)], -1)
    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.GRUCell(U), x, dtype=tf.float32)
    v1.layers.dense(out, 4, name="logits")


def time_major_bidi_default_batch(tf, v1):
    """(5) time-major ids [T, B] with lengths into a bidirectional GRU whose initial states are zero states of a
    batch-size placeholder_with_default(4): every input's batch must be 4."""
    ids = v1.placeholder(tf.int32, [None, None], name="Placeholder")
    lengths = v1.placeholder(tf.int32, [None], name="Placeholder_1")
    batch = v1.placeholder_with_default(4, [], name="bs")
    x = tf.nn.embedding_lookup(v1.get_variable("embedding", [9, 4]), ids)
    fw, bw = v1.nn.rnn_cell.GRUCell(U), v1.nn.rnn_cell.GRUCell(U)
    (ofw, obw), _ = v1.nn.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=lengths, time_major=True,
                                                    initial_state_fw=fw.zero_state(batch, tf.float32),
                                                    initial_state_bw=bw.zero_state(batch, tf.float32))
    v1.layers.dense(tf.concat([ofw, obw], -1), 4, name="logits")


def baked_batch(tf, v1):
    """(7) a decoder input built as in the Udacity seq2seq projects: a <GO> column tf.fill([4, 1], 1) (the batch
    a Python int) before targets[:4, :-1]: the graph fixes the batch at 4 in a constant."""
    targets = v1.placeholder(tf.int32, [None, None], name="targets")
    sliced = tf.strided_slice(targets, [0, 0], [4, -1], [1, 1])
    dec_input = tf.concat([tf.fill([4, 1], 1), sliced], 1)
    x = tf.nn.embedding_lookup(v1.get_variable("embedding", [6, 3]), dec_input)
    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.9), x, dtype=tf.float32)
    v1.layers.dense(out, 4, name="logits")


def rejects_everything(tf, v1):
    """(6) a graph that asserts its features are over 100: no generated batch passes."""
    x = v1.placeholder(tf.float32, [None, 4], name="features")
    check = tf.debugging.assert_greater(tf.reduce_min(x), 100.0, message="features must be over 100")
    with tf.control_dependencies([check]):
        v1.layers.dense(x, 3, name="logits")


def sampling_state_default(tf, v1):
    """(8) as the char-RNN projects that share one graph between training and sampling: a sampling input of batch
    1 (declared [1, 1]) beside an initial state placeholder_with_default(zeros of the training batch 20), read by
    a static_rnn of BasicLSTMCell(forget_bias=0.0). The graph cannot run on its defaults (ConcatOp: [1, D] vs
    [20, U]): the state h must be fed; its c default broadcasts and may stay."""
    ids = v1.placeholder(tf.int64, [1, 1], name="sample_ids")
    x = tf.one_hot(ids, D, dtype=tf.float32)
    cell = v1.nn.rnn_cell.BasicLSTMCell(U, forget_bias=0.0)
    c = v1.placeholder_with_default(tf.zeros([20, U]), [None, U], name="state_c")
    h = v1.placeholder_with_default(tf.zeros([20, U]), [None, U], name="state_h")
    out, _ = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), initial_state=v1.nn.rnn_cell.LSTMStateTuple(c, h))
    v1.layers.dense(out[-1], 4, name="logits")


def time_major_state_default(tf, v1):
    """(9) the variant: a time-major [T, 2, D] input and a hand-written step whose state placeholder_with_default
    has batch 4, joined on the last axis of a rank-3 concat with the batch on axis 1."""
    x = v1.placeholder(tf.float32, [3, 2, D], name="x")
    s = v1.placeholder_with_default(tf.ones([1, 4, U]) * 0.5, [1, None, U], name="state")
    joined = tf.concat([x[:1], s], axis=2)                                    # [1, B, D + U]
    w = v1.get_variable("w", [D + U, 4])
    v1.layers.dense(tf.tanh(tf.tensordot(joined, w, 1))[0], 4, name="logits")


BUILDERS = {"time_major_lstm": time_major_lstm, "generic_lengths_bidi": generic_lengths_bidi,
            "zero_state_batch": zero_state_batch, "two_tables": two_tables,
            "time_major_bidi_default_batch": time_major_bidi_default_batch, "baked_batch": baked_batch,
            "rejects_everything": rejects_everything, "sampling_state_default": sampling_state_default,
            "time_major_state_default": time_major_state_default}


class _Graphs(dict):
    """Each graph built when a test first asks for it (a test pays for its own graphs only)."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def __missing__(self, name):
        self[name] = _graph(BUILDERS[name], str(self.root / name))
        return self[name]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    return _Graphs(tmp_path_factory.mktemp("fit"))


def _cli(argv, capsys):
    from migrate.cli import main

    rc = main(argv)
    printed = capsys.readouterr()
    return rc, printed.out, printed.err


def _convert(graphs, name, tmp_path, capsys, *extra):
    out = tmp_path / name
    rc, stdout, err = _cli(["convert", "--from-graph", graphs[name], "--out", str(out), "--outputs",
                            "logits/BiasAdd:0", *extra], capsys)
    report = json.loads((out / "convert_report.json").read_text()) if rc == 0 else None
    return rc, stdout, err, report, out


def _generated(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("parity on generated inputs"))


def _roles(prefix, outputs=("logits/BiasAdd:0",)):
    from migrate.parity.input_roles import analyse
    from migrate.parity.tf1_graph import TF1Graph

    with TF1Graph(prefix, outputs=list(outputs)) as g:
        return analyse(g.graph, [p.name for p in g.placeholders]), g.placeholders


def test_a_time_major_rnn_is_fed_time_major_sequences(graphs, tmp_path, capsys):
    roles, _ = _roles(graphs["time_major_lstm"])
    assert (roles["x"].time_axis, roles["x"].batch_axis) == (0, 1)
    assert roles["lengths"].kind == "lengths" and roles["lengths"].ties & roles["x"].ties
    rc, stdout, err, report, out = _convert(graphs, "time_major_lstm", tmp_path, capsys)
    assert rc == 0, err
    assert "x:0 [5, 3, 3]" in _generated(stdout) and "lengths:0 [3]" in _generated(stdout)
    assert "x:0: time-major [T, B, ...]" in stdout
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5
    # parity --tf1 on the converted model: the same fitted inputs (its own defaults: batch 8, 6 steps)
    rc, stdout, err = _cli(["parity", "--tf1", graphs["time_major_lstm"], "--keras", str(out / "model.keras")],
                           capsys)
    assert rc == 0, stdout + err


def test_lengths_in_a_generic_placeholder_stay_within_the_fixed_time_axis(graphs, tmp_path, capsys):
    from migrate.parity.graph_inputs import generate_feed, infer_rules
    from migrate.parity.tf1_graph import TF1Graph

    roles, _ = _roles(graphs["generic_lengths_bidi"])
    assert roles["Placeholder_4"].kind == "lengths" and roles["Placeholder"].time_axis == 1
    with TF1Graph(graphs["generic_lengths_bidi"], outputs=["logits/BiasAdd:0"]) as g:
        needed = g.needed(["logits/BiasAdd:0"])
        feed = generate_feed(g, needed, infer_rules(g, needed), batch_size=8, time_steps=6, seed=1)
        lengths = feed.values["Placeholder_4:0"]
        assert feed.values["Placeholder:0"].shape == (8, 5, D)    # the graph's 5 steps, not the default 6
        assert lengths.max() == 5 and lengths.min() >= 1 and lengths.shape == (8,)
        g.run(["logits/BiasAdd:0"], feed.values)                  # the ReverseSequence takes them
    rc, stdout, err, report, _ = _convert(graphs, "generic_lengths_bidi", tmp_path, capsys)
    assert rc == 0, err
    assert "Placeholder_4:0: lengths in [1, 5]" in stdout and report["parity"]["ok"]


def test_a_fed_batch_size_is_the_batch_of_every_input(graphs, tmp_path, capsys):
    rc, stdout, err, report, _ = _convert(graphs, "zero_state_batch", tmp_path, capsys, "--feed", "batch_size:0=2")
    assert rc == 0, err
    assert "x:0 [2, 5, 3]" in _generated(stdout) and "batch 2: batch_size:0 = the batch size, as fed" in stdout
    assert report["parity"]["ok"] and report["graph"]["fixed_at_inference"] == {"batch_size:0": 2}
    # not fed: the placeholder the recognised LSTM does not need is still fed to the graph, with the batch used
    rc, stdout, err, report, out = _convert(graphs, "zero_state_batch", tmp_path / "free", capsys)
    assert rc == 0, err
    assert "batch_size:0 = 3: the batch size" in stdout and "x:0 [3, 5, 3]" in _generated(stdout)
    # parity --tf1 against that model derives it too (batch 8 here): no binding or --feed asked for
    rc, stdout, err = _cli(["parity", "--tf1", graphs["zero_state_batch"], "--keras", str(out / "model.keras"),
                            "--json", str(tmp_path / "p.json")], capsys)
    assert rc == 0, stdout + err
    assert json.loads((tmp_path / "p.json").read_text())["info"]["feeds"]["batch_size:0"] == 8


def test_ids_stay_within_the_table_each_one_indexes(graphs, tmp_path, capsys):
    from migrate.parity.graph_inputs import generate_feed, infer_rules
    from migrate.parity.tf1_graph import TF1Graph

    roles, _ = _roles(graphs["two_tables"])
    assert (roles["Placeholder"].kind, roles["Placeholder"].vocab) == ("ids", 7)
    assert (roles["Placeholder_1"].kind, roles["Placeholder_1"].vocab) == ("ids", 4)
    with TF1Graph(graphs["two_tables"], outputs=["logits/BiasAdd:0"]) as g:
        needed = g.needed(["logits/BiasAdd:0"])
        feed = generate_feed(g, needed, infer_rules(g, needed), batch_size=40, time_steps=30, seed=2)
    words, tags = feed.values["Placeholder:0"], feed.values["Placeholder_1:0"]
    assert words.max() == 6 and words.min() >= 0 and tags.max() == 3 and tags.min() >= 0
    rc, stdout, err, report, _ = _convert(graphs, "two_tables", tmp_path, capsys)
    assert rc == 0 and report["parity"]["ok"], err


def test_time_major_bidirectional_with_a_defaulted_batch_size(graphs, tmp_path, capsys):
    roles, _ = _roles(graphs["time_major_bidi_default_batch"])
    assert (roles["Placeholder"].time_axis, roles["Placeholder"].batch_axis, roles["Placeholder"].vocab) == (0, 1, 9)
    assert roles["bs"].kind == "batch_size" and int(roles["bs"].default) == 4
    assert roles["Placeholder_1"].kind == "lengths"
    rc, stdout, err, report, out = _convert(graphs, "time_major_bidi_default_batch", tmp_path, capsys)
    assert rc == 0, err
    line = _generated(stdout)
    assert "Placeholder:0 [5, 4]" in line and "Placeholder_1:0 [4]" in line, line
    assert "batch 4: bs:0 (the batch size) keeps its default" in stdout
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5
    # parity --tf1: the same batch of 4 (not its default 8), [T, B] ids padded past the lengths the graph ties to
    # them, outputs compared at the valid [T, B] positions
    rc, stdout, err = _cli(["parity", "--tf1", graphs["time_major_bidi_default_batch"], "--keras",
                            str(out / "model.keras"), "--json", str(tmp_path / "p.json")], capsys)
    assert rc == 0, stdout + err
    info = json.loads((tmp_path / "p.json").read_text())["info"]
    assert info["batch"]["rows"] == 4 and info["batch"]["time_steps"] == 6 and "bs:0" not in info["feeds"], info
    assert "fed Placeholder_1:0 = lengths of Placeholder:0 (from the graph: " in stdout and "past each length" in stdout


def test_a_batch_the_graph_bakes_into_a_constant_is_the_batch(graphs, tmp_path, capsys):
    roles, _ = _roles(graphs["baked_batch"])
    assert roles["targets"].sizes[0][0] == 4 and roles["targets"].vocab == 6
    rc, stdout, err, report, _ = _convert(graphs, "baked_batch", tmp_path, capsys)
    assert rc == 0, err
    assert "targets:0 [4, 5]" in _generated(stdout) and "batch 4: targets:0's batch axis: ConcatV2 concat" in stdout
    assert report["parity"]["ok"]


@pytest.mark.parametrize("name, fed, shape", [("sampling_state_default", "state_h", [1, U]),
                                               ("time_major_state_default", "state", [1, 2, U])])
def test_a_default_that_does_not_fit_becomes_an_input_of_the_fitting_batch(graphs, tmp_path, capsys, name, fed,
                                                                          shape):
    """A placeholder_with_default whose default cannot meet the other inputs (the TF1 graph fails there on its
    defaults) becomes a Keras input, fed at the batch the graph fixes for it (a concat with a batch-1 / batch-2
    input), not at its default's batch; the rest keeps its default. Converted as given, with parity."""
    rc, stdout, err, report, out = _convert(graphs, name, tmp_path, capsys)
    assert rc == 0, err
    assert f"{fed}:0: its default value does not fit the other inputs where it is used" in stdout
    assert f"{fed}:0 {shape}" in _generated(stdout)
    assert [i["graph"] for i in report["graph"]["inputs"] if i["graph"].startswith("state")] == [f"{fed}:0"]
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5
    source = (out / "model.py").read_text()
    assert f"tf.placeholder_with_default (fed, so an input) {fed}:0" in source


def test_a_graph_that_rejects_the_generated_inputs_says_why_and_what_to_pass(graphs, tmp_path, capsys):
    rc, stdout, err, _, out = _convert(graphs, "rejects_everything", tmp_path, capsys)
    assert rc == 2 and not out.exists()
    assert "Traceback" not in err and "Graph execution error" not in err and len(err.strip().splitlines()) == 1
    assert "the TF1 graph rejects the parity inputs generated for it: InvalidArgumentError at node " in err
    assert "(Assert): assertion failed: [features must be over 100]" in err
    assert "--inputs FEED.npz" in err
    assert "np.savez('feed.npz', **{'features:0': np.zeros((3, 4), 'float32')})" in err
    # the way out works: a batch the graph accepts
    np.savez(tmp_path / "feed.npz", **{"features:0": np.random.RandomState(0).uniform(101, 102, (2, 4))
                                       .astype("float32")})
    rc, stdout, err, report, out = _convert(graphs, "rejects_everything", tmp_path / "own", capsys, "--inputs",
                                            str(tmp_path / "feed.npz"))
    assert rc == 0, err
    assert report["parity"]["ok"] and "--inputs" in {r["inputs"] for r in report["parity"]["outputs"]}


def test_parity_tf1_names_tensorflows_reason_and_the_inputs_option(graphs, tmp_path, capsys):
    import keras

    features = keras.Input((4,), name="features")
    model = keras.Model(features, keras.layers.Dense(3, name="logits")(features))
    model.save(tmp_path / "m.keras")
    rc, stdout, err = _cli(["parity", "--tf1", graphs["rejects_everything"], "--keras", str(tmp_path / "m.keras"),
                            "--mapping", _mapping(tmp_path)], capsys)
    assert rc == 2 and "Traceback" not in err
    assert "(Assert): assertion failed: [features must be over 100]" in err and "--inputs FEED.npz" in err
    assert "np.savez('feed.npz', **{'features:0': np.zeros((8, 4), 'float32')})" in err


def _mapping(tmp_path) -> str:
    path = tmp_path / "mapping.toml"
    path.write_text('[parity]\ninputs = { features = "features:0" }\noutputs = { logits = "logits/BiasAdd:0" }\n')
    return str(path)


def test_each_role_rule_on_a_graph_and_on_its_meta_read_as_data():
    """One graph, every placeholder generic: the RULES entries for a keep probability (dropout, as TF 2's compat
    dropout rewrites it to 1 - rate), a rate, a tf.cond predicate, a TensorArray's size, static_rnn's unstack
    axis, sequence_mask's lengths (bounded by its constant maxlen) and one_hot ids; the same on the imported graph
    and on the .meta read as data (`graph_def.ProtoGraph`)."""
    import tensorflow as tf

    from migrate.parity.graph_def import ProtoGraph
    from migrate.parity.input_roles import analyse

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            keep, rate = v1.placeholder(tf.float32, []), v1.placeholder(tf.float32, [])
            flag, steps = v1.placeholder(tf.bool, []), v1.placeholder(tf.int32, [])
            x = v1.placeholder(tf.float32, [None, 4, D])
            lengths, classes = v1.placeholder(tf.int32, [None]), v1.placeholder(tf.int32, [None])
            h = v1.nn.dropout(v1.nn.dropout(x, keep_prob=keep), rate=rate)
            h = tf.cond(flag, lambda: h * 2.0, lambda: h)
            v1.nn.static_rnn(v1.nn.rnn_cell.BasicRNNCell(U), tf.unstack(h, axis=1), dtype=tf.float32)
            tf.sequence_mask(lengths, 4)
            tf.TensorArray(tf.float32, size=steps)
            tf.one_hot(classes, 6)
            proto = ProtoGraph(v1.train.export_meta_graph(graph=g))
    names = [f"Placeholder{'_' + str(k) if k else ''}" for k in range(7)]
    want = {"Placeholder": ("keep_prob", None, None, None), "Placeholder_1": ("rate", None, None, None),
            "Placeholder_2": ("mode", None, None, None), "Placeholder_3": ("steps", None, None, None),
            "Placeholder_4": ("", None, 1, None), "Placeholder_5": ("lengths", None, None, 4),
            "Placeholder_6": ("ids", 6, None, None)}
    for graph in (g, proto):
        got = {n: (r.kind, r.vocab, r.time_axis, r.bound) for n, r in analyse(graph, names).items()}
        assert got == want, type(graph).__name__
