"""`tf-migrate parity` end to end: legacy training -> `convert_checkpoint` -> parity, with reports and exit codes."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from parity_support import make_hparams

from migrate.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A legacy model trained 6 steps on the embedded task, and its conversion to model.keras."""
    from legacy_tf1.train import train  # noqa: PLC0415
    from migrate.checkpoint.convert import convert_checkpoint  # noqa: PLC0415

    root = tmp_path_factory.mktemp("parity_cli")
    legacy = str(root / "legacy")
    hp = make_hparams("lstm", 1, "bi", "luong", 0.8, src_vocab_size=0, tgt_vocab_size=0, batch_size=8)
    train(hp, legacy, steps=6)
    keras_file = str(root / "model.keras")
    convert_checkpoint(legacy, keras_file, progress=False)
    return legacy, keras_file, root


@pytest.mark.slow
def test_parity_passes_and_writes_reports(model_files, capsys):
    legacy, keras_file, root = model_files
    rj, rx = str(root / "r.json"), str(root / "r.xml")
    code = main(["parity", "--legacy", legacy, "--keras", keras_file, "--batches", "2", "--adam-steps", "2",
                 "--json", rj, "--junit", rx])
    out = capsys.readouterr().out
    assert code == 0, out
    for row in ("weights (port -> TF1 layout)", "logits at valid positions", "loss (sequence_loss)",
                "gradients, one step", "weights after K Adam steps", "greedy ids"):
        assert row in out
    assert "parity: all " in out and "checks within tolerance" in out
    report = json.load(open(rj))
    assert report["ok"] is True and report["info"]["batches"] == 2 and report["info"]["adam_steps"] == 2
    assert {r["name"].split(" ")[0] for r in report["results"]} == {"weight", "logits", "loss", "grad", "adam",
                                                                    "greedy"}
    suite = ET.parse(rx).getroot().find("testsuite")
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(report["results"])


@pytest.mark.slow
def test_mutated_port_exits_1_and_names_the_mistake(model_files, capsys):
    import keras  # noqa: PLC0415

    from migrate.parity.harness import bind, load_port, resolve_legacy  # noqa: PLC0415

    legacy, keras_file, root = model_files
    model = load_port(keras_file)
    li = resolve_legacy(legacy)
    for b in bind(model, li.prefix, li.hparams.forget_bias):
        if b.transform == "lstm":  # undo the fold: what a converter without it writes
            bias = np.array(b.keras_weights[2].numpy())
            units = bias.shape[0] // 4
            bias[units:2 * units] -= li.hparams.forget_bias
            b.keras_weights[2].assign(bias)
    bad = str(root / "no_fold.keras")
    model.save(bad)
    keras.backend.clear_session()
    rx = str(root / "bad.xml")
    code = main(["parity", "--legacy", legacy, "--keras", bad, "--checks", "weights,logits", "--junit", rx])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAIL" in captured.out
    assert "Likely cause: forget bias not folded" in captured.err
    assert "Parity check 'logits' failed" in captured.err
    assert int(ET.parse(rx).getroot().find("testsuite").get("failures")) >= 2


@pytest.mark.parametrize("args, words", [
    (["--keras", "missing.keras"], "missing.keras: no such file"),
    (["--checks", "logits,speed"], "unknown check(s) speed"),
], ids=["missing-keras", "unknown-check"])
def test_unusable_input_exits_2(model_files, capsys, args, words):
    legacy, _, _ = model_files
    assert main(["parity", "--legacy", legacy, *args]) == 2
    assert words in capsys.readouterr().err


def test_bad_option_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["parity", "--legacy", "x", "--batches", "0"])
    assert info.value.code == 2
    assert "--batches: expected an integer >= 1, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_other_architecture_exits_2_naming_the_field(model_files, tmp_path, capsys):
    legacy, _, _ = model_files
    from seq2seq_task import HParams  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    hp = HParams.load(legacy).replace(num_units=7)
    other = str(tmp_path / "other.keras")
    Seq2Seq(hp).save(other)
    assert main(["parity", "--legacy", legacy, "--keras", other]) == 2
    assert "num_units: legacy 6, port 7" in capsys.readouterr().err


def test_missing_legacy_checkpoint_exits_2(tmp_path, capsys):
    os.makedirs(tmp_path / "empty")
    assert main(["parity", "--legacy", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    # the one checkpoint resolver's message (migrate.files.resolve_checkpoint), as for convert and --tf1
    assert str(tmp_path / "empty") in err and "a directory with no `checkpoint` file" in err


@pytest.mark.slow
def test_pytest_fixture_check_models(model_files):
    from migrate.parity import ParityError  # noqa: PLC0415
    from migrate.parity.pytest_plugin import ParityChecker  # noqa: PLC0415

    legacy, keras_file, root = model_files
    checker = ParityChecker(nodeid="user_test")
    report = checker.check_models(legacy=legacy, keras=keras_file, batches=1, adam_steps=1,
                                  checks=["logits", "loss", "greedy"])
    assert report.ok and [r[0] for r in checker.records] == ["user_test"] * 3
    # Exact equality fails: the LSTM bias goes through (b + 0.8) - 0.8 in float32, which rounds.
    strict = ParityChecker(atol=0.0, rtol=0.0)
    with pytest.raises(ParityError, match=r"parity: \d+ of \d+ checks outside tolerance \(weights\)"):
        strict.check_models(legacy=legacy, keras=keras_file, batches=1, checks=["weights"])
