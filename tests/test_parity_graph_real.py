"""`tf-migrate parity --tf1` on a real third-party checkpoint: Aplain/rnnRepo's 2017 bit-counting LSTM
(TF ~1.1, `BasicLSTMCell(80, forget_bias=0.8)`, pre-1.2 `weights/biases` names; ../shared/fixtures/real_tf1_checkpoints).

Its graph takes `input:0 [B, 10, 1]` and an initial state `istate:0 [B, 160]` (fed zeros, declared in the
mapping) and gives `inference/add_1:0 [B, 1]`. The Keras model is rebuilt as in the README: Dense -> LSTM -> Dense
with `cell_weights`.
"""

from __future__ import annotations

import json
import os

import pytest

from migrate.cli import main

APLAIN = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures",
                                      "real_tf1_checkpoints", "aplain_basiclstm_2017"))
MAPPING = """\
[parity]
outputs = { count = "inference/add_1:0" }
feeds = { "istate:0" = 0.0 }
"""

pytestmark = pytest.mark.skipif(not os.path.isdir(APLAIN), reason="shared real checkpoints not present")


def _keras_model(folded_forget_bias: float):
    import keras

    from migrate.checkpoint import cell_weights, open_checkpoint

    inputs = keras.Input((10, 1), name="bits")
    h = keras.layers.Dense(80, name="dense_1")(inputs)
    h = keras.layers.LSTM(80, name="lstm")(h)
    model = keras.Model(inputs, keras.layers.Dense(1, name="count")(h))
    ckpt = open_checkpoint(APLAIN)
    kernel, recurrent, bias = cell_weights(ckpt, "rnn/basic_lstm_cell", forget_bias=0.8)
    bias[80:160] += folded_forget_bias - 0.8           # Keras gates i, f, c, o: the forget block
    model.get_layer("lstm").set_weights([kernel, recurrent, bias])
    model.get_layer("dense_1").set_weights([ckpt.read("inference/weight1"), ckpt.read("inference/bias1")])
    model.get_layer("count").set_weights([ckpt.read("inference/weight2"), ckpt.read("inference/bias2")])
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("aplain")
    _keras_model(0.8).save(str(root / "right.keras"))
    _keras_model(1.0).save(str(root / "default_forget_bias.keras"))
    (root / "mapping.toml").write_text(MAPPING)
    return root


def _run(capsys, *args):
    code = main(["parity", "--tf1", APLAIN, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_right_forget_bias_exits_0(files, capsys):
    code, out, err = _run(capsys, "--keras", str(files / "right.keras"), "--mapping", str(files / "mapping.toml"),
                          "--json", str(files / "ok.json"))
    assert code == 0, out + err
    assert "input bits -> input:0" in out and "fed istate:0 = 0.0" in out
    (r,) = json.loads((files / "ok.json").read_text())["results"]
    assert r["ok"] and r["shape"] == [8, 1] and r["max_abs"] < 1e-5


@pytest.mark.slow
def test_default_forget_bias_exits_1_with_the_size_of_the_error(files, capsys):
    code, out, err = _run(capsys, "--keras", str(files / "default_forget_bias.keras"),
                          "--mapping", str(files / "mapping.toml"))
    assert code == 1
    assert "FAIL" in out
    assert "Parity check 'output count <- inference/add_1:0' failed" in err
    line = next(x for x in err.splitlines() if x.startswith("Greatest absolute difference:"))
    assert float(line.split()[3]) > 0.1                  # ~0.8: a count off by most of one bit


def test_undeclared_state_placeholder_exits_2_and_says_how_to_feed_it(files, capsys, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[parity]\noutputs = { count = "inference/add_1:0" }\n')
    code, _, err = _run(capsys, "--keras", str(files / "right.keras"), "--mapping", str(mapping))
    assert code == 2
    assert "input:0 (float32, shape [?, 10, 1]), istate:0 (float32, shape [?, 160])" in err
    assert '[parity] inputs = {bits = "input:0"}' in err and 'feeds = {"istate:0" = 0.0}' in err


def test_without_a_mapping_the_likely_output_is_named(files, capsys):
    code, _, err = _run(capsys, "--keras", str(files / "right.keras"), "--feed", "istate=0")
    assert code == 2
    assert "Likely outputs, as `tf-migrate convert --from-graph` picks them (the loss is loss/Mean:0 " in err
    assert "labels: supervisor): inference/add_1:0 (computed from the model's variables and no label" in err


def test_feed_on_the_command_line_replaces_the_mapping_feed(files, capsys, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[parity]\noutputs = { count = "inference/add_1:0" }\n')
    code, out, err = _run(capsys, "--keras", str(files / "right.keras"), "--mapping", str(mapping),
                          "--feed", "istate=0")
    assert code == 0, out + err
    assert "fed istate:0 = 0 (--feed)" in out


@pytest.mark.slow
def test_pytest_fixture_check_graph(files):
    from migrate.parity import ParityError
    from migrate.parity.pytest_plugin import ParityChecker

    checker = ParityChecker(nodeid="test_user")
    report = checker.check_graph(APLAIN, str(files / "right.keras"), mapping=str(files / "mapping.toml"))
    assert report.ok and checker.records[0][1].startswith("ok  output count <- inference/add_1:0")
    with pytest.raises(ParityError, match="Parity check 'output count <- inference/add_1:0' failed"):
        checker.check_graph(APLAIN, str(files / "default_forget_bias.keras"), feeds=["istate=0"],
                            mapping=str(files / "mapping.toml"))
