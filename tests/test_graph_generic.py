"""The generic tier (migrate/graph/loops.py, tf_migrate_runtime/layers/loop.py): TF1 control flow no recogniser
takes converts op by op with parity, as a trainable `tfm.WhileLoop` that model.py shows, and recognised constructs
convert through it too when the recognisers are switched off.

Each graph is built here the way TF 1.x built it (control flow v1, reference variables; tests/tf1_models.py),
with random non-zero weights and biases and a non-default forget bias.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

pytestmark = pytest.mark.slow


def _basic_rnn(tf, v1):
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.BasicRNNCell(6), x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _peephole(tf, v1):
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cell = v1.nn.rnn_cell.LSTMCell(6, use_peepholes=True, forget_bias=0.7)
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _peephole_projection(tf, v1):   # a variant nobody asked for: peepholes, a projection and a cell clip
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cell = v1.nn.rnn_cell.LSTMCell(6, use_peepholes=True, num_proj=3, cell_clip=0.8, forget_bias=0.3)
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _layer_norm_lstm(tf, v1):   # contrib's LayerNormBasicLSTMCell (its TF1 ops, from the runtime's successor)
    from tf_migrate_runtime.contrib.rnn import LayerNormBasicLSTMCell

    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, _ = v1.nn.dynamic_rnn(LayerNormBasicLSTMCell(6, forget_bias=0.8), x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _projection_wrapper(tf, v1):   # TF 1.x's OutputProjectionWrapper (rnn_cell_impl), inside dynamic_rnn
    class OutputProjectionWrapper(v1.nn.rnn_cell.RNNCell):
        def __init__(self, cell, output_size):
            super().__init__()
            self._cell, self._output_size = cell, output_size

        @property
        def state_size(self):
            return self._cell.state_size

        @property
        def output_size(self):
            return self._output_size

        def call(self, inputs, state):
            output, new_state = self._cell(inputs, state)
            with v1.variable_scope("output_projection_wrapper"):
                w = v1.get_variable("kernel", [self._cell.output_size, self._output_size])
                b = v1.get_variable("bias", [self._output_size])
            return tf.matmul(output, w) + b, new_state

    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, _ = v1.nn.dynamic_rnn(OutputProjectionWrapper(v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.4), 3), x,
                               dtype=tf.float32)
    tf.identity(out, name="logits")


def _dropout_before_dense(tf, v1):   # a DropoutWrapper between the cell and the output layer
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    keep = v1.placeholder_with_default(1.0, [], name="keep_prob")
    cell = v1.nn.rnn_cell.DropoutWrapper(v1.nn.rnn_cell.GRUCell(6), output_keep_prob=keep)
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    tf.identity(v1.layers.dense(out, 3), name="logits")


def _sigmoid_lstm_lengths(tf, v1):
    x = v1.placeholder(tf.float32, [None, None, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    cell = v1.nn.rnn_cell.LSTMCell(6, activation=tf.nn.sigmoid, forget_bias=0.3)
    out, _ = v1.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _time_major_stack(tf, v1):   # time-major, a relu BasicRNNCell under a GRUCell in one MultiRNNCell
    x = v1.placeholder(tf.float32, [5, None, 4], name="x")
    cell = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.BasicRNNCell(6, activation=tf.nn.relu),
                                        v1.nn.rnn_cell.GRUCell(3)])
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32, time_major=True)
    tf.identity(out, name="outputs")


def _raw_rnn(tf, v1):   # raw_rnn: a growing TensorArray, a tf.cond inside the loop and one outside
    x = v1.placeholder(tf.float32, [None, 6, 4], name="x")
    lengths = v1.placeholder(tf.int32, [None], name="lengths")
    ta = tf.TensorArray(tf.float32, size=6).unstack(tf.transpose(x, [1, 0, 2]))
    cell = v1.nn.rnn_cell.GRUCell(5)

    def loop_fn(time, cell_output, cell_state, loop_state):
        state = cell.zero_state(tf.shape(x)[0], tf.float32) if cell_output is None else cell_state
        finished = time >= lengths
        nxt = tf.cond(tf.reduce_all(finished), lambda: tf.zeros([tf.shape(x)[0], 4]), lambda: ta.read(time))
        return finished, nxt, state, cell_output, None

    outs, final, _ = v1.nn.raw_rnn(cell, loop_fn)
    tf.identity(tf.transpose(outs.stack(), [1, 0, 2]), name="outputs")
    tf.identity(final, name="final_state")


def _hand_loop(tf, v1):   # a hand-written tf.while_loop, not an RNN; its trip count a placeholder_with_default
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.get_variable("w", [4, 4])
    n = v1.placeholder_with_default(3, [], name="steps")

    def body(i, h, acc):
        h2 = tf.tanh(tf.matmul(h, w)) + x
        return i + 1, h2, acc + tf.reduce_sum(h2, axis=1)

    _, h, acc = tf.while_loop(lambda i, h, a: i < n, body, [tf.constant(0), x, tf.zeros_like(x[:, 0])])
    tf.identity(h, name="h_out")
    tf.identity(acc, name="acc_out")


def _cond_fed(tf, v1):   # a tf.cond on a fed bool: both branches computed, Merge -> keras.ops.where
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    flag = v1.placeholder(tf.bool, [], name="use_a")
    w, u = v1.get_variable("w", [4, 3]), v1.get_variable("u", [4, 3])
    tf.identity(tf.cond(flag, lambda: tf.matmul(x, w), lambda: tf.nn.relu(tf.matmul(x, u))), name="y_out")


def _cond_default(tf, v1):   # tf.layers.dropout(training=<placeholder_with_default False>): folded
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    training = v1.placeholder_with_default(False, [], name="training")
    h = v1.layers.dropout(v1.layers.dense(x, 6, activation=tf.nn.tanh), 0.5, training=training)
    tf.identity(v1.layers.dense(h, 3), name="logits")


def _nested(tf, v1):   # a while loop in the body of a while loop, both reading the same variables
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w, u = v1.get_variable("w", [4, 4]), v1.get_variable("u", [4])

    def outer(i, h):
        def inner(j, g):
            return j + 1, tf.tanh(tf.matmul(g, w) + u)

        _, g = tf.while_loop(lambda j, g: j < i + 1, inner, [tf.constant(0), h])
        return i + 1, g + x

    _, h = tf.while_loop(lambda i, h: i < 3, outer, [tf.constant(0), x])
    tf.identity(h, name="h_out")


def _v2_lstm_lengths_cond(tf, v1):   # TF 2's compat.v1: StatelessWhile, TensorLists, StatelessIf, resource vars
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(6, use_peepholes=True, forget_bias=0.6), x,
                               sequence_length=n, dtype=tf.float32)
    flag = v1.placeholder_with_default(True, [], name="flag")
    tf.identity(tf.cond(flag, lambda: out * 2.0, lambda: out), name="outputs")


def _v2_hand_loop_cond_fed(tf, v1):   # a functional While around a hand-written body, an If on a fed bool
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.get_variable("w", [4, 4])
    flag = v1.placeholder(tf.bool, [], name="use_tanh")

    def body(i, h):
        h2 = tf.cond(flag, lambda: tf.tanh(tf.matmul(h, w)), lambda: tf.nn.relu(tf.matmul(h, w)))
        return i + 1, h2 + x

    _, h = tf.while_loop(lambda i, h: i < 3, body, [tf.constant(0), x])
    tf.identity(h, name="h_out")


def _v2_nested(tf, v1):   # control flow v2: a functional While in the body of a functional While
    _nested(tf, v1)


V2 = {"v2_lstm_lengths_cond", "v2_hand_loop_cond_fed", "v2_nested"}   # built with TF 2's defaults, not TF 1.x's


BUILDERS = {"layer_norm_lstm": _layer_norm_lstm, "projection_wrapper": _projection_wrapper,
            "dropout_before_dense": _dropout_before_dense, "basic_rnn": _basic_rnn, "peephole": _peephole, "peephole_projection": _peephole_projection,
            "sigmoid_lstm_lengths": _sigmoid_lstm_lengths, "time_major_stack": _time_major_stack,
            "raw_rnn": _raw_rnn, "hand_loop": _hand_loop, "cond_fed": _cond_fed, "cond_default": _cond_default, "nested": _nested,
            "v2_lstm_lengths_cond": _v2_lstm_lengths_cond, "v2_hand_loop_cond_fed": _v2_hand_loop_cond_fed,
            "v2_nested": _v2_nested}
OUTPUTS = {"hand_loop": ["h_out:0", "acc_out:0"], "cond_fed": ["y_out:0"], "nested": ["h_out:0"], "v2_nested": ["h_out:0"],
           "v2_hand_loop_cond_fed": ["h_out:0"]}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    import tensorflow as tf  # noqa: PLC0415

    root = tmp_path_factory.mktemp("generic")
    out = {}
    for name, build in BUILDERS.items():
        with contextlib.nullcontext() if name in V2 else tf1_style(), tf.Graph().as_default():
            build(tf, tf.compat.v1)
            out[name] = save_random_weights(str(root / name), seed=3)
            if name in V2:
                assert {"StatelessWhile", "While"} & {o.type for o in tf.compat.v1.get_default_graph()
                                                      .get_operations()}
    return out


def _convert(prefix, out, recognise=True, outputs=None):
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    lines = []
    report = convert_graph(prefix, str(out), outputs=outputs, log=lines.append, recognise_rnns=recognise)
    return report, lines


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_generic_tier_converts_with_parity(graphs, tmp_path, name):
    report, lines = _convert(graphs[name], tmp_path / "out", recognise=False, outputs=OUTPUTS.get(name))
    assert report["parity"]["ok"], lines
    rows = report["parity"]["outputs"]
    assert rows and all(r["ok"] for r in rows)
    loops = report["loops"]
    if name.startswith("cond"):
        assert loops == []
    else:
        assert loops and all(lp["how"] == "translated generically" for lp in loops), loops
        assert all("--no-recognisers" in lp["why"] for lp in loops)
        assert any(line.startswith("loop ") and "translated generically" in line for line in lines)
        source = (tmp_path / "out" / "model.py").read_text()
        assert "tfm.WhileLoop(cond=" in source and "_body(" in source and "_cond(" in source
    if name == "nested":
        assert "tfm.nested_loop(0, [" in source and "nested=[{'cond': while_while_cond" in source, source
    if name == "v2_nested":   # the inner While is a function of the outer body's library function
        assert "tfm.nested_loop(0, [" in source and "nested=[{'cond': while__2_cond" in source, source


def test_loop_layer_is_trainable_saved_and_shown(graphs, tmp_path):
    """The peephole LSTM through the generic tier: the loop's kernel, bias and the three peephole vectors are the
    layer's trainable weights, gradients reach them, model.keras reloads to the same outputs, and model.py shows
    the body one TF1 op per line."""
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415

    report, _ = _convert(graphs["peephole"], tmp_path / "out", recognise=False)   # recognised: tfm.PeepholeLSTM
    assert report["loops"][0]["how"] == "translated generically"
    assert "--no-recognisers" in report["loops"][0]["why"]
    model = keras.saving.load_model(str(tmp_path / "out" / "model.keras"))
    loop = next(layer for layer in model.layers if type(layer).__name__ == "WhileLoop")
    names = sorted(w.path.rsplit("/", 1)[-1] for w in loop.trainable_weights)
    assert len(names) == 5 and any("w_f_diag" in n for n in names), names
    x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model({"x": x})[0] if isinstance(model({"x": x}), list) else model({"x": x}))
    grads = tape.gradient(loss, loop.trainable_weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    source = (tmp_path / "out" / "model.py").read_text()
    body = source[source.index("_body("):source.index("def build_model")]
    assert "# MatMul rnn/while/lstm_cell/MatMul" in body and "keras.ops.sigmoid(" in body
    assert "tfm.array_write(" in body and "tfm.array_read(" in body
    from migrate.graph.program import build_model  # noqa: PLC0415

    rebuilt = build_model(source)
    rebuilt.load_weights(str(tmp_path / "out" / "model.weights.h5"))
    a, b = model({"x": x}), rebuilt({"x": x})
    a, b = (a[0] if isinstance(a, list) else a), (b[0] if isinstance(b, list) else b)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


@pytest.mark.parametrize("name, why", [   # the RNN cells of BUILDERS are all recognised now
    ("hand_loop", "the kernel w feeds Tanh with no gate split"),   # (tests/test_graph_constructs_cells.py)
])
def test_the_loop_says_why_no_recogniser_took_it(graphs, tmp_path, name, why):
    report, lines = _convert(graphs[name], tmp_path / "out", outputs=OUTPUTS.get(name))
    assert report["parity"]["ok"]
    assert why in report["loops"][0]["why"], report["loops"]
    loop = report["loops"][0]["loop"]
    assert any(line.startswith(f"loop {loop}: translated generically (no recogniser took it: ") for line in lines)


def test_recognised_lstm_and_its_generic_translation_agree(tmp_path):
    """A recognised construct (char-rnn: 2 x BasicLSTMCell in MultiRNNCell) converts with parity both ways: as a
    tfm.LSTM stack, and op by op with the recognisers off."""
    import tf1_models  # noqa: PLC0415

    prefix = tf1_models.build_all()["char_rnn"]
    on, _ = _convert(prefix, tmp_path / "on", outputs=["add:0"])   # the logits (matmul + softmax_b)
    off, _ = _convert(prefix, tmp_path / "off", recognise=False, outputs=["add:0"])
    assert on["parity"]["ok"] and off["parity"]["ok"]
    assert any(lp["how"].startswith("recognised as") for lp in on["loops"])
    assert [lp["how"] for lp in off["loops"]] == ["translated generically"]
    assert "tfm.LSTM(" in (tmp_path / "on" / "model.py").read_text()
    assert "tfm.LSTM(" not in (tmp_path / "off" / "model.py").read_text()


def test_a_recognised_layer_that_fails_parity_gives_way_to_the_generic_tier(tmp_path, monkeypatch):
    """When the recognised layers miss parity (here: the LSTM weights a recogniser hands over are off by 0.05, a
    wrong layout in miniature), the loop is converted again op by op; that translation holds parity and is what is
    written, and the report says why."""
    import tf1_models  # noqa: PLC0415

    from migrate.graph import rnn  # noqa: PLC0415

    real = rnn.keras_weights
    monkeypatch.setattr(rnn, "keras_weights", lambda *a, **kw: [w + 0.05 for w in real(*a, **kw)])
    report, lines = _convert(tf1_models.build_all()["char_rnn"], tmp_path / "out", outputs=["add:0"])
    assert report["parity"]["ok"]
    assert report["recognisers_declined"]["why"] == "parity" and report["recognisers_declined"]["max_abs"] > 1e-3
    assert [lp["how"] for lp in report["loops"]] == ["translated generically"]
    assert any("parity failed with the recognised layers" in line for line in lines)
    assert "tfm.LSTM(" not in (tmp_path / "out" / "model.py").read_text()


def test_a_loop_layer_config_is_data_never_code(tmp_path):
    """A model.keras whose WhileLoop body was edited to call something outside the whitelist loads to a refusal
    naming the form; nothing of it runs."""

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415
    from tf_migrate_runtime.program import ProgramError  # noqa: PLC0415

    canary = tmp_path / "canary"
    cond = "def c(t, x):\n    return keras.ops.less(t, 3)\n"
    for body in (f"def b(t, x):\n    y = open({str(canary)!r}, 'w')\n    return (t + 1, x)\n",
                 "def b(t, x):\n    import os\n    return (t + 1, x)\n",
                 "def b(t, x):\n    y = keras.ops.add.__globals__\n    return (t + 1, x)\n",
                 "def b(t, x):\n    return (t + 1, [v for v in x])\n"):
        with pytest.raises(ProgramError, match="outside the forms"):
            tfm.WhileLoop(cond=cond, body=body, loop_vars=[{"name": "t", "kind": "tensor", "value": 0,
                                                            "dtype": "int32"},
                                                           {"name": "x", "kind": "tensor", "init": 0}])
    assert not canary.exists()
    layer = tfm.WhileLoop(cond=cond, body="def b(t, x):\n    return (t + 1, keras.ops.tanh(x))\n",
                          loop_vars=[{"name": "t", "kind": "tensor", "value": 0, "dtype": "int32"},
                                     {"name": "x", "kind": "tensor", "init": 0}],
                          outputs=[{"kind": "var", "var": 1}])
    config = json.loads(json.dumps(layer.get_config()))
    again = tfm.WhileLoop.from_config(config)
    x = np.full((2, 3), 0.5, "float32")
    np.testing.assert_allclose(np.asarray(again([x])[0]), np.tanh(np.tanh(np.tanh(x))), rtol=1e-6)


def test_a_loop_layer_in_a_functional_build_gets_the_shapes_its_traced_loop_has():
    """Keras' shape inference of a WhileLoop (a functional build, a `.keras` load) does not trace the body on
    TensorFlow: its outputs are the loop's shape invariants. They must be what the traced loop gives: a var of known
    features, an array that grows (unknown length), its size; and the model then computes the loop's values."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415

    layer = tfm.WhileLoop(
        cond="def c(t, x, ta):\n    return keras.ops.less(t, 3)\n",
        body="def b(t, x, ta):\n    y = keras.ops.tanh(x)\n    return (t + 1, y, tfm.array_append(ta, t, y))\n",
        loop_vars=[{"name": "t", "kind": "tensor", "value": 0, "dtype": "int32"}, {"name": "x", "kind": "tensor",
                   "init": 0}, {"name": "ta", "kind": "array", "array": 0}],
        arrays=[{"name": "ta", "dtype": "float32", "size": None, "dynamic_size": True, "element_shape": [-1, 4]}],
        outputs=[{"kind": "var", "var": 1}, {"kind": "stack", "var": 2}, {"kind": "size", "var": 2}], name="loop")
    inp = keras.Input((4,), name="x")
    outs = layer([inp])
    model = tfm.Model(inputs={"x": inp}, outputs=outs)
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    got = model({"x": keras.ops.convert_to_tensor(x)})
    assert [tuple(o.shape) for o in outs] == [(None, 4), (None, None, 4), ()]
    assert [tuple(g.shape) for g in got] == [(2, 4), (3, 2, 4), ()]
    steps = [np.tanh(x)]
    for _ in range(2):
        steps.append(np.tanh(steps[-1]))
    np.testing.assert_allclose(np.asarray(got[0]), steps[-1], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(got[1]), np.stack(steps), rtol=1e-6)
    assert int(got[2]) == 3


def test_model_py_with_a_foreign_loop_function_is_refused(graphs, tmp_path):
    from migrate.graph.program import ProgramError, build_model  # noqa: PLC0415

    _convert(graphs["basic_rnn"], tmp_path / "out")
    source = (tmp_path / "out" / "model.py").read_text()
    bad = source.replace("def build_model():", "def helper(a):\n    return __import__('os')\n\n\ndef build_model():")
    with pytest.raises(ProgramError, match="model.py line"):
        build_model(bad)


# Real checkpoints of the development corpus converted with every recogniser off: an LSTM encoder with
# contrib.seq2seq TrainingHelper and GreedyEmbeddingHelper decoders (three loops), a GRU pointer network with
# Bahdanau attention, a word LM returning its final state, a CTC conv-LSTM. (`benchmarks/bench_graph_convert.py
# --no-recognisers` runs the whole corpus.)
REAL_GENERIC = ("udacity_seq2seq_contrib_tf12", "ptrnet_gru_bahdanau_tf15", "udacity_tvscript_wordlm_tf10",
                "ctc_conv_lstm_tf11")


@pytest.mark.parametrize("name", REAL_GENERIC)
def test_real_checkpoint_converts_with_the_recognisers_off(name, tmp_path):
    import importlib.util  # noqa: PLC0415
    import os  # noqa: PLC0415

    from real_corpus import corpus_entry  # noqa: PLC0415

    prefix, entry = corpus_entry(name)
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("bench_graph_convert",
                                                  os.path.join(here, "..", "benchmarks", "bench_graph_convert.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    arrays, scalars = bench.make_feeds(entry)
    npz = tmp_path / "feed.npz"
    np.savez(npz, **arrays)
    report, lines = _convert_with(prefix, tmp_path / "out", outputs=entry["outputs"], feeds=scalars,
                                  inputs_npz=str(npz) if arrays else None)
    assert report["parity"]["ok"], lines
    assert report["loops"] and all(lp["how"] == "translated generically" for lp in report["loops"])
    assert "tfm.LSTM(" not in (tmp_path / "out" / "model.py").read_text()


def _convert_with(prefix, out, **kw):
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    lines = []
    report = convert_graph(prefix, str(out), log=lines.append, recognise_rnns=False, **kw)
    return report, lines


def test_generic_loops_run_on_jax_and_pytorch(graphs, tmp_path, backend_children):
    """model.keras of a generic loop runs on the other backends (the run's children, tests/backend_children.py,
    TensorFlow blocked) with the TensorFlow outputs: a fixed-size TensorArray (peephole LSTM) everywhere; a growing
    one (raw_rnn) on PyTorch, and on JAX, which cannot grow a loop variable, a refusal that says so."""
    import keras  # noqa: PLC0415
    from backend_children import Job  # noqa: PLC0415
    from backend_jobs import JOBS  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415

    x = np.random.default_rng(2).normal(size=(2, 5, 4)).astype("float32")
    jobs, refs = [], {}
    for name in ("peephole", "raw_rnn"):
        _convert(graphs[name], tmp_path / name, recognise=False)
        model = keras.saving.load_model(str(tmp_path / name / "model.keras"))
        feed = {"x": x if name == "peephole" else np.concatenate([x, x[:, :1]], axis=1)}
        if name == "raw_rnn":
            feed["lengths"] = np.array([6, 3], "int32")
        y = model(feed)
        refs[name] = np.asarray(y[0] if isinstance(y, list) else y)
        np.savez(tmp_path / f"{name}.npz", **feed)
        jobs.append(Job(name, JOBS, "call_model", dict(model=str(tmp_path / name / "model.keras"),
                                                       feed=str(tmp_path / f"{name}.npz"), first_only=True)))
    replies = backend_children.run({"jax": jobs, "torch": jobs})
    for backend, reply in replies.items():
        assert reply.tensorflow_imported is False, backend
        np.testing.assert_allclose(reply.values("peephole")["0"], refs["peephole"], atol=1e-5,
                                   err_msg=f"peephole on {backend}")
    np.testing.assert_allclose(replies["torch"].values("raw_rnn")["0"], refs["raw_rnn"], atol=1e-5,
                               err_msg="raw_rnn on torch")
    why = replies["jax"].error("raw_rnn") or ""
    assert "grows in the loop (dynamic_size=True), which the JAX backend cannot run" in " ".join(why.split()), why
