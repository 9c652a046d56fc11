"""Output safety of `tf-migrate convert`, one test per case of issue 11 point 5, through the CLI.

Every output that cannot be written, or exists without --force: exit 3, one stderr line, NOTHING written
(--out, --report, hparams.json). Ctrl-C: exit 130, no temp. Stale temps of a killed run are removed. A
dropped trained layer is exit 1 unless --allow-unused; warnings go to stderr.
"""

import errno
import json
import os
import subprocess
import sys

import pytest

from migrate.cli import main
from seq2seq_task import HParams, load_task, make_batch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A 2-layer GRU legacy checkpoint (random non-zero weights and biases) in its own directory."""
    from tests.test_convert import write_legacy

    task = load_task(seed=3, train_size=16, valid_size=4, test_size=4)
    hp = HParams(embedding_size=6, num_units=8, cell_type="gru", num_layers=2, src_vocab_size=task.src_vocab.size,
                 tgt_vocab_size=task.tgt_vocab.size)
    d = tmp_path_factory.mktemp("ckpt")
    write_legacy(str(d), hp, make_batch(task.train[:4], task.src_vocab, task.tgt_vocab), mode="eval")
    return str(d)


def _ls(d):
    return sorted(os.listdir(d))


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_unwritable_report_leaves_neither_model_nor_hparams(ckpt, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "o"
    out.mkdir()
    code = main(["convert", ckpt, "--out", str(out / "m.keras"), "--report", str(tmp_path / "afile" / "r.json")])
    assert code == 3
    line = _one_error_line(capsys.readouterr().err)
    assert "afile/r.json: cannot write:" in line and "is a file, not a directory" in line
    assert _ls(out) == []


def test_missing_out_directories_are_made_and_removed_again_when_the_command_fails(ckpt, tmp_path, capsys):
    assert main(["convert", ckpt, "--out", str(tmp_path / "no" / "m.keras"),
                 "--report", str(tmp_path / "r" / "deep" / "r.json")]) == 0        # like `mkdir -p`
    assert _ls(tmp_path / "no") == ["hparams.json", "m.keras"] and _ls(tmp_path / "r" / "deep") == ["r.json"]
    hp = json.loads(open(os.path.join(ckpt, "hparams.json")).read())
    hp["num_layers"] = 1
    (tmp_path / "hp1.json").write_text(json.dumps(hp))
    assert main(["convert", ckpt, "--out", str(tmp_path / "new" / "sub" / "m.keras"),
                 "--hparams", str(tmp_path / "hp1.json")]) == 1                  # does not fit: exit 1
    capsys.readouterr()
    assert _ls(tmp_path) == ["hp1.json", "no", "r"]                               # new/sub/ removed again


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 directory anyway")
def test_unwritable_out_directory_is_exit_3(ckpt, tmp_path, capsys):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        assert main(["convert", ckpt, "--out", str(d / "m.keras")]) == 3
        assert "no permission" in _one_error_line(capsys.readouterr().err)
    finally:
        d.chmod(0o755)


def test_existing_output_needs_force_then_force_replaces(ckpt, tmp_path, capsys):
    target = tmp_path / "m.weights.h5"
    target.write_bytes(b"precious")
    assert main(["convert", ckpt, "--out", str(target)]) == 3
    assert "m.weights.h5: already exists; pass --force" in _one_error_line(capsys.readouterr().err)
    assert target.read_bytes() == b"precious" and _ls(tmp_path) == ["m.weights.h5"]
    assert main(["convert", ckpt, "--out", str(target), "--force"]) == 0
    assert target.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert _ls(tmp_path) == ["hparams.json", "m.weights.h5"]


def test_unrelated_hparams_beside_the_output_is_not_overwritten(ckpt, tmp_path, capsys):
    (tmp_path / "hparams.json").write_text('{"mine": true}\n')
    assert main(["convert", ckpt, "--out", str(tmp_path / "m.weights.h5")]) == 3
    assert "hparams.json: already exists with other contents" in _one_error_line(capsys.readouterr().err)
    assert _ls(tmp_path) == ["hparams.json"] and (tmp_path / "hparams.json").read_text() == '{"mine": true}\n'


def test_full_disk_is_exit_3_and_nothing_written(ckpt, tmp_path, capsys, monkeypatch):
    real_write = os.write

    def full(fd, data):                 # the disk fills while the report is written (the last output)
        if b'"schema"' in bytes(data[:64]):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    code = main(["convert", ckpt, "--out", str(tmp_path / "m.keras"), "--report", str(tmp_path / "r.json")])
    monkeypatch.undo()
    assert code == 3
    assert "r.json: cannot write (No space left on device)" in _one_error_line(capsys.readouterr().err)
    assert _ls(tmp_path) == []


def test_ctrl_c_while_writing_a_tf2_checkpoint_is_130_and_no_temp(ckpt, tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    real = tf.train.Checkpoint.write

    def interrupted(self, prefix, *a, **k):
        real(self, prefix, *a, **k)     # the files are there, half-committed from the user's point of view
        raise KeyboardInterrupt

    monkeypatch.setattr(tf.train.Checkpoint, "write", interrupted)
    assert main(["convert", ckpt, "--out", str(tmp_path / "model")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert _ls(tmp_path) == []


def test_stale_temps_of_a_killed_run_are_removed(ckpt, tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    stale = tmp_path / f".m.keras.tfm-tmp-{p.pid}-0badc0de.keras"
    stale.write_bytes(b"\0" * 4096)
    assert main(["convert", ckpt, "--out", str(tmp_path / "m.keras")]) == 0
    assert _ls(tmp_path) == ["hparams.json", "m.keras"]


def test_dropping_a_trained_layer_is_exit_1_unless_allow_unused(ckpt, tmp_path, capsys):
    hp = json.loads(open(os.path.join(ckpt, "hparams.json")).read())
    hp["num_layers"] = 1
    (tmp_path / "hp1.json").write_text(json.dumps(hp))
    out = tmp_path / "o"
    out.mkdir()
    args = ["convert", ckpt, "--out", str(out / "m.keras"), "--hparams", str(tmp_path / "hp1.json")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "trained checkpoint weight(s) would be dropped" in err and "--allow-unused" in err
    assert _ls(out) == []
    assert main(args + ["--allow-unused"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("wrote ") and "warning" not in captured.out
    assert "unexpected checkpoint weight(s) not converted" in captured.err
