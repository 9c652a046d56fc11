"""The worked example of docs/parity.md, end to end: a user's own TF1 model (own scopes, a 2-layer MultiRNNCell
encoder with per-layer forget biases, a hand-written `tf.matmul` dot attention over the encoder outputs, a
hand-written output projection), saved with `tf.train.Saver` (checkpoint + .meta); the Keras model written by hand
with `migrate.checkpoint.cell_weights`; `tf-migrate parity --tf1 ... --keras ...` through the CLI.
"""

from __future__ import annotations

import json
import os
import textwrap

import numpy as np
import pytest

from migrate.cli import main

VOCAB, EMBED, UNITS, TAGS = 30, 8, 16, 5
FORGET_BIASES = (0.7, 0.3)          # one per encoder layer, not TF1's default 1.0


def build_tf1_model(prefix: str, seed: int = 0) -> None:
    """The user's TF1 code (2018 style), trained by nobody: every variable gets random values, biases included."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        with v1.variable_scope("inputs"):
            ids = v1.placeholder(tf.int32, [None, None], name="ids")            # [B, T], 0 = padding
            lengths = v1.placeholder(tf.int32, [None], name="lengths")          # [B]
            keep_prob = v1.placeholder(tf.float32, [], name="keep_prob")
        with v1.variable_scope("my_tagger"):
            word_matrix = v1.get_variable("word_matrix", [VOCAB, EMBED])
            x = tf.nn.embedding_lookup(word_matrix, ids)
            x = tf.nn.dropout(x, rate=1.0 - keep_prob)
            cells = [v1.nn.rnn_cell.LSTMCell(UNITS, forget_bias=fb) for fb in FORGET_BIASES]
            enc, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.MultiRNNCell(cells), x, sequence_length=lengths,
                                       dtype=tf.float32, scope="encoder")
            with v1.variable_scope("attend"):                                     # hand-written dot attention
                w_query = v1.get_variable("w_query", [UNITS, UNITS])
                query = tf.reshape(tf.matmul(tf.reshape(enc, [-1, UNITS]), w_query), tf.shape(enc))
                scores = tf.matmul(query, enc, transpose_b=True)                  # [B, T, T]
                valid = tf.sequence_mask(lengths, tf.shape(ids)[1], dtype=tf.float32)
                scores += (1.0 - valid[:, None, :]) * -1e9
                context = tf.matmul(tf.nn.softmax(scores), enc)                   # [B, T, UNITS]
            with v1.variable_scope("project"):
                w_out = v1.get_variable("w_out", [2 * UNITS, TAGS])
                b_out = v1.get_variable("b_out", [TAGS])
                features = tf.concat([enc, context], -1)
                logits = tf.tensordot(features, w_out, 1) + b_out
        tf.identity(logits, name="logits")
        rng = np.random.RandomState(seed)
        assigns = [v.assign(rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32))
                   for v in v1.global_variables()]
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(assigns)
            v1.train.Saver().save(sess, prefix)          # writes PREFIX.index, .data-*, .meta


KERAS_MODULE = textwrap.dedent('''\
    """The user's Keras 3 model, written by hand (docs/parity.md)."""
    import keras

    VOCAB, EMBED, UNITS, TAGS = 30, 8, 16, 5


    def build():
        tokens = keras.Input((None,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True, name="embedding")(tokens)
        h = keras.layers.LSTM(UNITS, return_sequences=True, name="encoder_0")(x)
        h = keras.layers.LSTM(UNITS, return_sequences=True, name="encoder_1")(h)
        query = keras.layers.Dense(UNITS, use_bias=False, name="query")(h)
        context = keras.layers.Attention(score_mode="dot", name="attend")([query, h])
        features = keras.layers.Concatenate()([h, context])
        return keras.Model(tokens, keras.layers.Dense(TAGS, name="tag_logits")(features))


    def load_tf1_weights(model, ckpt):
        from migrate.checkpoint import cell_weights, open_checkpoint

        ckpt = open_checkpoint(ckpt)
        cells = "my_tagger/encoder/multi_rnn_cell/cell_{}/lstm_cell"
        model.get_layer("embedding").set_weights([ckpt.read("my_tagger/word_matrix")])
        for i, forget_bias in enumerate((0.7, 0.3)):   # each TF1 cell's own forget bias, folded into its bias
            model.get_layer(f"encoder_{i}").set_weights(cell_weights(ckpt, cells.format(i), forget_bias=forget_bias))
        model.get_layer("query").set_weights([ckpt.read("my_tagger/attend/w_query")])
        model.get_layer("tag_logits").set_weights([ckpt.read("my_tagger/project/w_out"),
                                                   ckpt.read("my_tagger/project/b_out")])
        return model
''')

MAPPING = textwrap.dedent('''\
    [parity]
    inputs  = { tokens = "inputs/ids:0" }
    outputs = { tag_logits = "logits:0" }
    feeds   = { "inputs/keep_prob:0" = 1.0, "inputs/lengths:0" = { length_of = "inputs/ids:0" } }
''')


@pytest.fixture(scope="module")
def user_model(tmp_path_factory):
    """The TF1 checkpoint + .meta, the Keras model as .keras and as .weights.h5 + module, the mapping."""
    import importlib.util

    root = tmp_path_factory.mktemp("user_model")
    prefix = str(root / "tf1" / "model.ckpt")
    os.makedirs(os.path.dirname(prefix))
    build_tf1_model(prefix)
    module_path = root / "my_tagger.py"
    module_path.write_text(KERAS_MODULE)
    spec = importlib.util.spec_from_file_location("my_tagger_under_test", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_tf1_weights(module.build(), prefix)
    model.save(str(root / "tagger.keras"))
    model.save_weights(str(root / "tagger.weights.h5"))
    (root / "mapping.toml").write_text(MAPPING)
    # the same model with the forget bias most ports get wrong: TF1's default 1.0 folded into layer 1
    layer = model.get_layer("encoder_1")
    k, r, b = layer.get_weights()
    b[UNITS:2 * UNITS] += 1.0 - FORGET_BIASES[1]          # Keras gate order i, f, c, o
    layer.set_weights([k, r, b])
    model.save(str(root / "wrong_forget_bias.keras"))
    return root, prefix, module


def _parity(capsys, *args):
    code = main(["parity", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_worked_example_passes_through_the_cli(user_model, capsys):
    root, prefix, _ = user_model
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.keras"),
                             "--mapping", str(root / "mapping.toml"), "--json", str(root / "parity.json"))
    assert code == 0, out + err
    assert "graph tensor vs Keras output" in out and "ok" in out
    report = json.loads((root / "parity.json").read_text())
    assert report["schema"] == "tf-migrate/parity" and report["version"] == 1 and report["ok"] is True
    (r,) = report["results"]
    assert r["check"] == "output" and r["subject"] == "tag_logits <- logits:0"
    assert r["shape"] == [8, 6, TAGS]
    assert r["max_abs"] < 1e-5 < r["atol"] + 1e-12 or r["max_abs"] < r["atol"]
    # valid positions only: lengths drawn per row (row 0 full, row 1 one token), ids past them 0
    assert r["mask_positions"][1] == 48 and 6 < r["mask_positions"][0] < 48
    assert report["info"]["inputs"] == {"tokens": "inputs/ids:0"}
    assert report["info"]["feeds"]["inputs/keep_prob:0"] == 1.0


@pytest.mark.slow
def test_weights_file_and_build_function_give_the_same_verdict(user_model, capsys):
    root, prefix, _ = user_model
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.weights.h5"),
                             "--build", f"{root / 'my_tagger.py'}:build", "--mapping", str(root / "mapping.toml"))
    assert code == 0, out + err


@pytest.mark.slow
def test_a_wrong_forget_bias_in_one_layer_fails_with_exit_1(user_model, capsys):
    root, prefix, _ = user_model
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "wrong_forget_bias.keras"),
                             "--mapping", str(root / "mapping.toml"))
    assert code == 1
    assert "FAIL" in out
    assert "Parity check 'output tag_logits <- logits:0' failed" in err
    assert "Mismatched elements:" in err and "first over tolerance: t0" in err


def test_without_the_mapping_the_output_must_be_declared(user_model, capsys):
    root, prefix, _ = user_model
    code, _, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.keras"))
    assert code == 2
    assert "no graph tensor is named like the Keras output(s) tag_logits" in err
    assert '[parity] outputs = {tag_logits = "TENSOR:0"}' in err


def test_feeds_inferred_by_name_when_only_the_output_is_declared(user_model, capsys, tmp_path):
    root, prefix, _ = user_model
    mapping = tmp_path / "m.toml"
    mapping.write_text('[parity]\noutputs = { tag_logits = "logits:0" }\n')
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.keras"), "--mapping",
                             str(mapping))
    assert code == 0, out + err
    assert "input tokens -> inputs/ids:0 (the only Keras input and placeholder left)" in out
    assert "fed inputs/keep_prob:0 = 1.0 (by name)" in out
    assert "fed inputs/lengths:0 = lengths of inputs/ids:0 (by name)" in out


def test_users_own_batch_from_npz(user_model, capsys, tmp_path):
    root, prefix, _ = user_model
    ids = np.array([[3, 4, 5, 0, 0], [7, 1, 2, 9, 29]], np.int32)
    np.savez(tmp_path / "batch.npz", **{"inputs/ids": ids})
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.keras"), "--mapping",
                             str(root / "mapping.toml"), "--inputs", str(tmp_path / "batch.npz"),
                             "--json", str(tmp_path / "r.json"))
    assert code == 0, out + err
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["results"][0]["shape"] == [2, 5, TAGS]
    assert r["results"][0]["mask_positions"] == [8, 10]       # lengths 3 and 5 derived from the non-zero ids
    assert "fed inputs/lengths:0 = lengths of inputs/ids:0 (" in out and "[3, 5]" in out


def test_npz_with_a_wrong_dtype_exits_2(user_model, capsys, tmp_path):
    root, prefix, _ = user_model
    np.savez(tmp_path / "batch.npz", **{"inputs/ids": np.ones((2, 3), np.float32)})
    code, _, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.keras"), "--mapping",
                           str(root / "mapping.toml"), "--inputs", str(tmp_path / "batch.npz"))
    assert code == 2
    assert "inputs/ids:0 has dtype float32, the placeholder expects int32" in err


def test_cell_weights_reads_each_cells_forget_bias_from_a_control_flow_v2_graph(user_model):
    """The user's graph was built by TF 2.x in compat.v1 style: its while loop is a function whose nodes are
    named relative to the loop (`encoder/multi_rnn_cell/cell_0/lstm_cell/add`, no `my_tagger/`). Each cell
    must still get its own constant (0.7, 0.3), not an error saying there is no graph."""
    from migrate.checkpoint import cell_weights, open_checkpoint, recognise_checkpoint

    _, prefix, _ = user_model
    ckpt = open_checkpoint(prefix)
    found = {c.scope: c.forget_bias["value"] for c in recognise_checkpoint(ckpt).cells}
    cells = "my_tagger/encoder/multi_rnn_cell/cell_{}/lstm_cell"
    assert found == {cells.format(0): 0.7, cells.format(1): 0.3}
    for i, fb in enumerate(FORGET_BIASES):
        read = cell_weights(ckpt, cells.format(i))
        given = cell_weights(ckpt, cells.format(i), forget_bias=fb)
        np.testing.assert_array_equal(read[2], given[2])
