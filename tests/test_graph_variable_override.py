"""`--variable NAME=FILE.npy|zeros` (convert --from-graph, parity --tf1): a variable the program assigns itself
when it loads, not from the checkpoint.

The graph is saved exactly as NeuroNER saves its released models: the token embedding is resized with
`tf.assign(v, value, validate_shape=False)` to one row before `saver.save`, so the `.meta` declares [V, D] and the
checkpoint holds [1, D]; TF1's own `Saver.restore` fails on that pair. Built once per module (tiny sizes)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from real_corpus import corpus_entry

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

VOCAB, DIM, UNITS = 13, 4, 5
EMB = "token_embedding/token_embedding_weights"


@pytest.fixture(scope="module")
def resized(tmp_path_factory):
    """(checkpoint prefix, the full embedding the program would assign) of a TF1 tagger saved with a 1-row table."""
    import tensorflow as tf

    v1 = tf.compat.v1
    cf_v2 = v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()
    v1.disable_resource_variables()
    root = tmp_path_factory.mktemp("resized")
    rng = np.random.RandomState(3)
    try:
        g = tf.Graph()
        with g.as_default():
            ids = v1.placeholder(tf.int32, [None, None], name="input_token_indices")
            lens = v1.placeholder(tf.int32, [None], name="input_token_lengths")
            with v1.variable_scope("token_embedding"):
                emb = v1.get_variable("token_embedding_weights", [VOCAB, DIM])
            x = tf.nn.embedding_lookup(emb, ids)
            cell = v1.nn.rnn_cell.LSTMCell(UNITS, forget_bias=0.7)
            out, _ = v1.nn.dynamic_rnn(cell, x, sequence_length=lens, dtype=tf.float32, scope="token_lstm")
            w = v1.get_variable("feedforward/W", [UNITS, 6])
            b = v1.get_variable("feedforward/bias", [6])
            tf.tanh(tf.tensordot(out, w, 1) + b, name="feedforward/scores")
            saver = v1.train.Saver()
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                for v in v1.global_variables():   # random non-zero weights and biases
                    s.run(v.assign(rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32)))
                full = s.run(emb)
                # NeuroNER's trim_model_checkpoint: keep one row, resized past the declared shape, then save
                s.run(v1.assign(emb, full[:1], validate_shape=False))
                prefix = saver.save(s, str(root / "model.ckpt"))
    finally:
        if cf_v2:
            v1.enable_control_flow_v2()
        v1.enable_resource_variables()
    np.save(root / "glove.npy", full)
    np.save(root / "wrong.npy", full[:, :2])
    lengths = np.array([3, 1], np.int32)
    np.savez(root / "feed.npz", **{"input_token_indices:0": rng.randint(0, VOCAB, (2, 3)).astype(np.int32),
                                   "input_token_lengths:0": lengths})
    return prefix, full, root


def _cli(argv):
    from migrate.cli import main

    return main(argv)


def test_refused_without_the_option_names_it(resized, tmp_path, capsys):
    prefix, _, _ = resized
    out = tmp_path / "out"
    assert _cli(["convert", prefix, "--from-graph", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{EMB}: graph [{VOCAB}, {DIM}], checkpoint [1, {DIM}]" in err
    assert "TensorFlow 1 cannot restore this pair either" in err
    assert f"--variable {EMB}=FILE.npy" in err
    assert not out.exists()


def test_wrong_shape_is_exit_2_naming_both_shapes(resized, tmp_path, capsys):
    prefix, _, root = resized
    out = tmp_path / "out"
    assert _cli(["convert", prefix, "--from-graph", "--out", str(out),
                 "--variable", f"{EMB}={root / 'wrong.npy'}"]) == 2
    err = capsys.readouterr().err
    assert f"shape [{VOCAB}, 2]" in err and f"shape [{VOCAB}, {DIM}]" in err and EMB in err
    assert not out.exists()
    assert _cli(["convert", prefix, "--from-graph", "--out", str(out), "--variable", "no/such=zeros"]) == 2
    assert "declares no variable 'no/such'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def converted(resized):
    """convert --from-graph with --variable EMB=glove.npy: (exit code, stdout, out dir)."""
    import contextlib
    import io

    prefix, _, root = resized
    out = root / "converted"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = _cli(["convert", prefix, "--from-graph", "--out", str(out), "--outputs", "feedforward/scores:0",
                     "--inputs", str(root / "feed.npz"), "--variable", f"{EMB}={root / 'glove.npy'}"])
    return code, buf.getvalue(), out


def test_converts_with_parity_and_the_model_holds_the_value(resized, converted):
    import keras

    prefix, full, root = resized
    code, text, out = converted
    assert code == 0, text
    assert f"the model holds the value of --variable {EMB}={root / 'glove.npy'}, not the checkpoint's" in text
    report = json.loads((out / "convert_report.json").read_text())
    assert report["variables_not_from_checkpoint"] == [
        {"name": EMB, "source": str(root / "glove.npy"), "shape": [VOCAB, DIM], "checkpoint_shape": [1, DIM]}]
    assert report["parity"]["ok"] and {r["inputs"] for r in report["parity"]["outputs"]} == {"generated", "--inputs"}
    import tf_migrate_runtime.layers  # noqa: F401 - load_requires

    model = keras.saving.load_model(out / "model.keras")
    tables = [w for w in model.weights if tuple(w.shape) == (VOCAB, DIM)]
    assert len(tables) == 1
    np.testing.assert_array_equal(np.asarray(tables[0]), full)   # the given value, not the checkpoint's row
    # the value reaches the outputs: TF1 graph with the same value, fed the file's ids
    from migrate.parity.tf1_graph import TF1Graph

    feed = dict(np.load(root / "feed.npz"))
    with TF1Graph(prefix, variables={EMB: full}) as g:
        assert g.assigned[0]["source"] == "array" and EMB not in g.restored and EMB not in g.not_restored
        ref, = g.run(["feedforward/scores:0"], feed)
    got = model({i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"]})
    got = np.asarray(got[0] if isinstance(got, (list, tuple)) else got)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_parity_tf1_takes_the_same_option(resized, converted, tmp_path, capsys):
    """parity --tf1 on the converted model: within tolerance with the same value; zeros (another value than the
    model holds) fails the check (exit 1); no option: exit 2 naming it."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401 - the report's load_requires

    prefix, _, root = resized
    model_file = converted[2] / "model.keras"
    name = keras.saving.load_model(model_file).output_names[0]
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(f'[parity]\noutputs = {{ {name} = "feedforward/scores:0" }}\n')
    base = ["parity", "--tf1", prefix, "--keras", str(model_file), "--mapping", str(mapping)]
    capsys.readouterr()
    assert _cli(base + ["--variable", f"{EMB}={root / 'glove.npy'}", "--json", str(tmp_path / "p.json")]) == 0
    info = json.loads((tmp_path / "p.json").read_text())["info"]
    assert info["variables_not_from_checkpoint"][0]["name"] == EMB
    assert _cli(base + ["--variable", f"{EMB}=zeros"]) == 1
    capsys.readouterr()
    assert _cli(base) == 2
    assert f"--variable {EMB}=FILE.npy" in capsys.readouterr().err


def test_zeros_in_the_tf1_graph(resized):
    from migrate.parity.tf1_graph import TF1Graph, TF1GraphError, parse_variable_options

    prefix, _, root = resized
    given = parse_variable_options([f"{EMB}:0=zeros"])
    assert given == {EMB: "zeros"}
    with TF1Graph(prefix, variables=given) as g:
        np.testing.assert_array_equal(g.values([EMB])[EMB], np.zeros((VOCAB, DIM), np.float32))
        assert g.assigned == [{"name": EMB, "source": "zeros", "shape": [VOCAB, DIM], "checkpoint_shape": [1, DIM]}]
    with pytest.raises(TF1GraphError, match="no such file"):
        parse_variable_options([f"{EMB}={root / 'missing.npy'}"])
    with pytest.raises(TF1GraphError, match="expected NAME=FILE.npy or NAME=zeros"):
        parse_variable_options([EMB])


class _CIFGCell:
    """contrib.rnn.CoupledInputForgetGateLSTMCell (TF 1.0-1.15, use_peepholes=False, num_proj=None) op for op, as a
    TF1 RNNCell: tf.contrib is gone from TF 2.21, its __call__ is reproduced here (W_0 / B, split j, f, o)."""

    def __new__(cls, units, forget_bias):
        import tensorflow as tf

        v1 = tf.compat.v1

        class Cell(v1.nn.rnn_cell.RNNCell):
            @property
            def state_size(self):
                return v1.nn.rnn_cell.LSTMStateTuple(units, units)

            @property
            def output_size(self):
                return units

            def __call__(self, inputs, state, scope=None):
                c_prev, m_prev = state
                with v1.variable_scope(scope or "coupled_input_forget_gate_lstm_cell"):
                    w = v1.get_variable("W_0", [inputs.shape[-1] + units, 3 * units])
                    b = v1.get_variable("B", [3 * units], initializer=v1.zeros_initializer())
                    lstm_matrix = tf.nn.bias_add(tf.matmul(tf.concat([inputs, m_prev], 1), w), b)
                    j, f, o = tf.split(value=lstm_matrix, num_or_size_splits=3, axis=1)
                    f_act = tf.sigmoid(f + forget_bias)
                    c = f_act * c_prev + (1 - f_act) * tf.tanh(j)
                    m = tf.sigmoid(o) * tf.tanh(c)
                return m, v1.nn.rnn_cell.LSTMStateTuple(c, m)

        return Cell()


@pytest.fixture(scope="module")
def cifg(tmp_path_factory):
    """A NeuroNER-style BiLSTM of CoupledInputForgetGateLSTMCell(forget_bias=0.8) with sequence_length."""
    import tensorflow as tf

    v1 = tf.compat.v1
    cf_v2 = v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()
    v1.disable_resource_variables()
    root = tmp_path_factory.mktemp("cifg")
    rng = np.random.RandomState(5)
    try:
        with tf.Graph().as_default():
            ids = v1.placeholder(tf.int32, [None, None], name="ids")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            x = tf.nn.embedding_lookup(v1.get_variable("emb", [9, 3]), ids)
            (fw, bw), _ = v1.nn.bidirectional_dynamic_rnn(_CIFGCell(4, 0.8), _CIFGCell(4, 0.8), x,
                                                          sequence_length=lens, dtype=tf.float32)
            tf.identity(tf.concat([fw, bw], -1), name="scores")
            saver = v1.train.Saver()
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                for v in v1.global_variables():
                    s.run(v.assign(rng.uniform(-0.9, 0.9, v.shape.as_list()).astype(np.float32)))
                prefix = saver.save(s, str(root / "model.ckpt"))
    finally:
        if cf_v2:
            v1.enable_control_flow_v2()
        v1.enable_resource_variables()
    return prefix, root


def test_coupled_input_forget_gate_cell_becomes_a_keras_lstm(cifg):
    from migrate.graph import convert_graph

    prefix, root = cifg
    report = convert_graph(prefix, str(root / "out"), outputs=["scores:0"], log=lambda m: None)
    assert report["translated"]["dynamic_rnn CoupledInputForgetGateLSTMCell -> tfm.LSTM"] == 2
    row = report["parity"]["outputs"][0]
    assert report["parity"]["ok"] and 0 < row["max_abs"] < 1e-5
    assert "CoupledInputForgetGateLSTMCell" in (root / "out" / "model.py").read_text()


def test_cifg_weights_are_an_lstm_with_the_input_gate_coupled():
    """1 - sigmoid(f + fb) == sigmoid(-(f + fb)): the i columns are -f, its bias -(B_f + fb)."""
    from migrate.checkpoint.cell_layouts.cifg import cifg_to_lstm

    k = np.arange(12, dtype=np.float32).reshape(2, 6) + 1
    b = np.array([1, 2, 3, 4, 5, 6], np.float32)
    k4, b4 = cifg_to_lstm(k, b, 0.5)
    np.testing.assert_array_equal(k4, np.concatenate([-k[:, 2:4], k[:, 0:2], k[:, 2:4], k[:, 4:6]], 1))
    np.testing.assert_array_equal(b4, [-3.5, -4.5, 1, 2, 3, 4, 5, 6])


def test_real_neuroner_restores_with_restore_exclude_as_zeros():
    """NeuroNER's released model: refused without --variable; with the manifest's restore_exclude as zeros every
    other variable is restored and the manifest's outputs run, with the manifest's output shapes."""
    from migrate.parity.tf1_graph import TF1Graph, TF1GraphError

    prefix, entry = corpus_entry("neuroner_bilstm_crf_tf10")
    with pytest.raises(TF1GraphError, match="--variable token_embedding/token_embedding_weights=FILE.npy"):
        TF1Graph(prefix, outputs=entry["outputs"])   # the .meta is read at once; the import comes with the outputs
    rng = np.random.RandomState(0)
    feed = {}
    for k, spec in entry["feeds"].items():
        if not isinstance(spec, dict):
            feed[k] = np.float32(spec)
        elif spec["fill"] == "ids":
            feed[k] = rng.randint(spec["low"], spec["high"], spec["shape"]).astype(np.int32)
        else:
            feed[k] = np.full(spec["shape"], spec["value"], np.int32)
    with TF1Graph(prefix, variables={n: "zeros" for n in entry["restore_exclude"]}) as g:
        assert [a["name"] for a in g.assigned] == entry["restore_exclude"]
        assert len(g.restored) >= 10 and "crf/transitions" in g.restored
        outs = g.run(entry["outputs"], feed)
    for name, o in zip(entry["outputs"], outs):
        assert list(o.shape) == entry["output_shapes"][name] and np.isfinite(o).all()
    assert np.abs(outs[0]).max() > 0   # the character BiLSTM still reaches the scores with a zero token table


@pytest.mark.slow
@pytest.mark.parametrize("name", ["neuroner_bilstm_crf_tf10"])
def test_real_neuroner_converts_with_parity(name, tmp_path):
    """convert --from-graph --variable token_embedding/token_embedding_weights=zeros (the manifest's
    restore_exclude) + the manifest's outputs: char BiLSTM + token BiLSTM (CIFG cells) + CRF unary scores."""
    from migrate.graph import convert_graph

    prefix, entry = corpus_entry(name)
    report = convert_graph(prefix, str(tmp_path / "out"), outputs=entry["outputs"],
                           feeds={"dropout_keep_prob:0": 1.0}, log=lambda m: None,
                           variables={n: "zeros" for n in entry["restore_exclude"]})
    assert report["parity"]["ok"], report["parity"]
    assert report["translated"]["dynamic_rnn CoupledInputForgetGateLSTMCell -> tfm.LSTM"] == 4
    assert [v["name"] for v in report["variables_not_from_checkpoint"]] == entry["restore_exclude"]
