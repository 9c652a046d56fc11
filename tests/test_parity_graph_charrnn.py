"""`tf-migrate parity --tf1` on a real TF 1.3 checkpoint from tests/fixtures/real_tf1 (manifest.json):
Udacity's char-RNN (czapol/Deep_Learning_Projects): one-hot characters -> 2 x BasicLSTMCell(128) in a MultiRNNCell
-> a dense softmax over 83 characters made of raw `tf.Variable`s, graph batch fixed at 10 x 50, `keep_prob` a
placeholder of unknown shape, predictions flattened to [500, 83].

Nothing is bound by hand: the Keras input `inputs` and output `predictions` carry the graph's names, the one-hot
depth gives the id range, and the Keras [10, 50, 83] output is compared in the graph's [500, 83]. But this graph
was saved with `DropoutWrapper(output_keep_prob=0.5)` as a CONSTANT inside the while loop (its `keep_prob`
placeholder is unused): two runs on the same inputs differ. Parity sets those constants to 1.0 before the import
(`migrate.parity.dropouts`, as `convert` does) and says so; a value set with `--feed` is kept, and then the
refusal (exit 2) names that dropout and its inference value.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from real_corpus import HOW, prefix_or_none

from migrate.cli import main

NAME = "udacity_charrnn_tf13"
PREFIX = prefix_or_none(NAME)
pytestmark = pytest.mark.skipif(PREFIX is None, reason=f"{NAME}: {HOW}")


def _keras_model(second_forget_bias: float = 1.0):
    import keras

    from migrate.checkpoint import cell_weights, open_checkpoint

    ckpt = open_checkpoint(PREFIX)
    chars = keras.Input((50,), dtype="int32", name="inputs")
    x = keras.layers.Embedding(83, 83, name="one_hot", trainable=False)(chars)    # identity rows = tf.one_hot
    h = keras.layers.LSTM(128, return_sequences=True, name="lstm_0")(x)
    h = keras.layers.LSTM(128, return_sequences=True, name="lstm_1")(h)
    model = keras.Model(chars, keras.layers.Dense(83, activation="softmax", name="predictions")(h))
    model.get_layer("one_hot").set_weights([np.eye(83, dtype=np.float32)])
    for i in range(2):
        k, r, b = cell_weights(ckpt, f"rnn/multi_rnn_cell/cell_{i}/basic_lstm_cell", forget_bias=1.0)
        if i == 1:
            b[128:256] += second_forget_bias - 1.0
        model.get_layer(f"lstm_{i}").set_weights([k, r, b])
    model.get_layer("predictions").set_weights([ckpt.read("softmax/Variable"), ckpt.read("softmax/Variable_1")])
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("charrnn")
    _keras_model().save(str(root / "charrnn.keras"))
    _keras_model(second_forget_bias=0.0).save(str(root / "unfolded.keras"))
    return root


KEEP = [f"--feed=rnn/while/rnn/multi_rnn_cell/cell_{i}/dropout/keep_prob=1.0" for i in range(2)]


@pytest.mark.slow
def test_dropout_baked_into_the_graph_is_switched_off_and_a_value_the_user_sets_is_kept(models, capsys):
    code = main(["parity", "--tf1", PREFIX, "--keras", str(models / "charrnn.keras")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert ("dropout with a constant keep probability switched off in the TF1 graph, as at inference (the Keras "
            "model runs without dropout): rnn/while/rnn/multi_rnn_cell/cell_0/dropout/keep_prob:0 = 1, "
            "rnn/while/rnn/multi_rnn_cell/cell_1/dropout/keep_prob:0 = 1") in out
    half = "--feed=rnn/while/rnn/multi_rnn_cell/cell_0/dropout/keep_prob=0.5"
    code = main(["parity", "--tf1", PREFIX, "--keras", str(models / "charrnn.keras"), half])
    err = capsys.readouterr().err
    assert code == 2
    assert "predictions:0 differs between two runs on the same inputs" in err
    assert "(rnn/while/rnn/multi_rnn_cell/cell_0/dropout/random_uniform/RandomUniform)" in err
    assert ("rnn/while/rnn/multi_rnn_cell/cell_0/dropout/keep_prob:0 is a dropout's, set with --feed: at inference "
            "it is 1") in err


@pytest.mark.slow
def test_charrnn_parity_with_the_dropout_constants_set_to_1(models, capsys, tmp_path):
    code = main(["parity", "--tf1", PREFIX, "--keras", str(models / "charrnn.keras"), *KEEP, "--json",
                 str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "output predictions = predictions:0 (by name)" in out and "input inputs -> inputs:0 (by name)" in out
    assert "set rnn/while/rnn/multi_rnn_cell/cell_1/dropout/keep_prob:0 = 1.0 (--feed) in the graph" in out
    assert "inputs:0: ids in [1, 83)" in out
    (r,) = json.loads((tmp_path / "r.json").read_text())["results"]
    assert r["shape"] == [500, 83] and r["ok"]
    assert any("compared in the graph's shape [500, 83]" in n for n in r["notes"])


@pytest.mark.slow
def test_charrnn_forget_bias_not_folded_exits_1(models, capsys):
    code = main(["parity", "--tf1", PREFIX, "--keras", str(models / "unfolded.keras"), *KEEP])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Parity check 'output predictions <- predictions:0' failed" in err
