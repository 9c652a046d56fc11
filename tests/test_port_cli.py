"""`tf-migrate port train|decode`: files written, one summary line, clean errors with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")
from migrate.cli import main  # noqa: E402
from seq2seq_task.dates import generate_pairs  # noqa: E402


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in generate_pairs(120, seed=9)), encoding="utf-8")
    return str(path)


def _cli(*argv: str) -> subprocess.CompletedProcess:
    """`tf-migrate ...` in a fresh process, as a user runs it (XLA compiles in a clean process)."""
    return subprocess.run([sys.executable, "-m", "migrate", *argv], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_then_decode_then_continue(tmp_path, tsv, capsys):
    """Training with XLA in a fresh process, as a user runs it; decoding, continuing without XLA and the refused
    architecture change in this one (`main`, what the script calls): one TensorFlow start-up instead of four."""
    out = str(tmp_path / "run")
    tiny = ["--set", "num_units=8", "--set", "embedding_size=8", "--set", "batch_size=16", "--set", "attention=luong"]
    proc = _cli("port", "train", "--out", out, "--epochs", "1", "--data", tsv, *tiny)  # default: XLA
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("trained 1 epochs in ") and "model.keras" in summary[0]
    assert sorted(os.listdir(out)) == ["hparams.json", "model.keras", "vocab.src.json", "vocab.tgt.json"]

    capsys.readouterr()
    assert main(["port", "decode", out, "--input", "21/11/26", "--input", "may 1999"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["21/11/26", "may 1999"]

    model_file = os.path.join(out, "model.keras")
    assert main(["port", "train", "--out", str(tmp_path / "more"), "--from-keras", model_file, "--epochs", "1",
                 "--data", tsv, "--no-jit", "--set", "learning_rate=0.001"]) == 0
    assert sorted(os.listdir(tmp_path / "more")) == ["hparams.json", "model.keras", "vocab.src.json", "vocab.tgt.json"]
    assert main(["port", "train", "--out", str(tmp_path / "bad"), "--from-keras", model_file, "--data", tsv,
                 "--set", "num_units=16"]) == 2
    err = capsys.readouterr().err
    assert "num_units" in err and "cannot change the architecture" in err
    assert not os.path.exists(tmp_path / "bad")


@pytest.mark.parametrize("argv,needle", [
    (["port", "train", "--out", "x", "--set", "cell_type=rnn"], "cell_type='rnn'"),
    (["port", "train", "--out", "x", "--set", "colour=blue"], "--set 'colour=blue'"),
    (["port", "train", "--out", "x", "--data", "/no/such.tsv"], "/no/such.tsv: no such file"),
    (["port", "decode", "/no/such/model.keras", "--input", "x"], "/no/such/model.keras: no such file"),
], ids=["bad-cell", "unknown-field", "missing-tsv", "missing-model"])
def test_bad_input_is_one_message_and_exit_2(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tf-migrate port: error: ") and needle in err and "Traceback" not in err
