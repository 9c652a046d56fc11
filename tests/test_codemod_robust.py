"""The codemod on real trees: one bad file never stops a run, writes, symlinks, notebooks, Ctrl-C, speed."""

from __future__ import annotations

import difflib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrate import codemod
from migrate.cli import main
from migrate.codemod import transform_source
from migrate.codemod.engine import process_file
from migrate.codemod.rules import RULES, Rule, rule_set

ROOT = Path(__file__).resolve().parent.parent
TF1 = "import tensorflow as tf\n\nx = tf.log(y)  # keep me\n"
TF2 = "import tensorflow as tf\n\nx = tf.math.log(y)  # keep me\n"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _explode(cm, original, call, name):
    """A rule with a bug: it raises on one file (the one that says BOOM)."""
    if "BOOM" in cm.full_source:
        raise RuntimeError("rule bug on purpose")
    return call


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_rule_leaves_its_file_alone_and_the_run_goes_on(tmp_path, monkeypatch, capsys, jobs):
    monkeypatch.setitem(RULES, "TFM999", Rule("TFM999", "explode", "raises on purpose", leave_call=_explode))
    src = tmp_path / "src"
    for i in range(12):  # >= MIN_FILES_FOR_POOL: the pool runs with jobs=2
        write(src / f"m{i:02d}.py", TF1 + ("# BOOM\n" if i == 5 else ""))
    bad = src / "m05.py"
    before = bad.read_bytes()
    report_path = tmp_path / "r.json"
    code = main(["codemod", str(src), "--write", "--jobs", str(jobs), "--extend-select", "TFM999",
                 "--json", str(report_path), "-v"])
    err = capsys.readouterr().err
    assert code == 1
    assert bad.read_bytes() == before
    assert all((src / f"m{i:02d}.py").read_text() == TF2 for i in range(12) if i != 5)
    assert f"{bad}: error: internal error in TFM999 (RuntimeError: rule bug on purpose); left unchanged" in err
    assert "Traceback (most recent call last)" in err  # -v shows it
    data = json.loads(report_path.read_text())
    assert (data["schema"], data["version"], data["exit_code"]) == ("tf-migrate/codemod-report", 2, 1)
    assert len(data["changed"]) == 11
    (error,) = data["errors"]
    assert (error["path"], error["rule"], error["cannot_write"]) == (str(bad), "TFM999", False)
    assert "RuntimeError: rule bug on purpose" in error["traceback"]


def test_the_dropout_call_that_crashed_libcst_is_rewritten():
    src = "import tensorflow as tf\nx = tf.log(v)\ny = tf.nn.dropout(x, keep_prob, **kwargs)\n"
    out, findings, _ = transform_source(src)
    assert out == "import tensorflow as tf\nx = tf.math.log(v)\ny = tf.nn.dropout(x, rate=1 - keep_prob, **kwargs)\n"
    assert findings == []


def test_an_unwritable_file_is_reported_exit_3_and_the_others_are_written(tmp_path, capsys):
    """Root can write anywhere, but not into an immutable directory (chattr +i; ext4 and most others)."""
    locked = write(tmp_path / "locked" / "a.py", TF1)
    free = write(tmp_path / "free" / "b.py", TF1)
    if subprocess.run(["chattr", "+i", str(locked.parent)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this file system")
    try:
        code = main(["codemod", str(tmp_path), "--write", "--json", str(tmp_path / "free" / "r.json")])
    finally:
        subprocess.run(["chattr", "-i", str(locked.parent)], check=True)
    err = capsys.readouterr().err
    assert code == 3
    assert locked.read_text() == TF1 and free.read_text() == TF2
    assert f"{locked}: error: cannot write it (Operation not permitted); left unchanged" in err
    data = json.loads((tmp_path / "free" / "r.json").read_text())
    assert data["errors"][0]["cannot_write"] is True and data["exit_code"] == 3


def test_a_file_that_turns_into_a_directory_mid_run_is_reported(tmp_path):
    """The run goes on when a file cannot be read (it was replaced after discovery)."""
    a, b, c = (write(tmp_path / f"{n}.py", TF1) for n in "abc")

    def replace_c(result):
        if result.path == str(a):
            c.unlink()
            c.mkdir()

    report = codemod.run([tmp_path], mode="write", jobs=1, progress=replace_c)
    assert [r.status for r in report.results] == ["changed", "changed", "error"]
    assert report.results[2].reason == "cannot read it (Is a directory)"
    assert b.read_text() == TF2 and report.exit_code() == 1


def test_symlinks_are_written_through_and_processed_once(tmp_path):
    target = write(tmp_path / "real" / "model.py", TF1)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "model.py").symlink_to(target)
    (tree / "again.py").symlink_to(target)
    assert codemod.run([tree, tmp_path / "real"], mode="check").changed == [str(target)]  # the file itself
    report = codemod.run([tree], mode="write", jobs=1)
    assert report.changed == [str(tree / "again.py")]  # one target, once, under its first link
    assert (tree / "model.py").is_symlink() and (tree / "again.py").is_symlink()
    assert target.read_text() == TF2


def test_python3_syntax_errors_are_named_as_such(tmp_path):
    path = write(tmp_path / "bad.py", "import tensorflow as tf\n\ndef f(:\n    return tf.log(1)\n")
    result = process_file(str(path), "diff", rule_set())
    assert result.status == "skipped"
    assert result.reason.startswith("syntax error (line 3, column 7: invalid syntax)")
    assert "Python 2" not in result.reason


def test_json_report_has_schema_and_version(tmp_path):
    path = write(tmp_path / "m.py", TF1)
    data = codemod.run([path], mode="check").to_json()
    assert data["schema"] == "tf-migrate/codemod-report" and data["version"] == 2
    assert data["errors"] == [] and data["changed"] == [str(path)]


# -- notebooks ------------------------------------------------------------------------------------
NOTEBOOK = {"cells": [
    {"cell_type": "markdown", "metadata": {}, "source": ["tf.log in markdown stays \u00e9\n"]},
    {"cell_type": "code", "execution_count": 1, "metadata": {},
     "outputs": [{"output_type": "stream", "name": "stdout", "text": ["caf\u00e9 \u2014 done\n"]}],
     "source": ["%matplotlib inline\n", "import tensorflow as tf\n", "a = 1  # \u00e9\n", "y = tf.log(x)\n",
                "z = 2"]},
], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}


@pytest.mark.parametrize("indent, ensure_ascii, final_newline", [(2, True, False), (1, False, True), (4, True, True)],
                         ids=["2-space-ascii", "nbformat", "4-space"])
def test_notebook_keeps_its_json_formatting(tmp_path, capsys, indent, ensure_ascii, final_newline):
    text = json.dumps(NOTEBOOK, indent=indent, ensure_ascii=ensure_ascii) + ("\n" if final_newline else "")
    path = write(tmp_path / "nb.ipynb", text)
    assert main(["codemod", str(path)]) == 0
    shown = capsys.readouterr().out
    assert main(["codemod", str(path), "--write"]) == 0
    new = path.read_text(encoding="utf-8")
    changed = [ln for ln in difflib.ndiff(text.splitlines(), new.splitlines()) if ln[:1] in "+-"]
    pad = " " * (indent * 4)
    assert changed == [f'- {pad}"y = tf.log(x)\\n",', f'+ {pad}"y = tf.math.log(x)\\n",']
    assert json.loads(new)["cells"][1]["source"][3] == "y = tf.math.log(x)\n"
    expected = "".join(difflib.unified_diff(text.splitlines(keepends=True), new.splitlines(keepends=True),
                                            f"a/{str(path).lstrip('/')}", f"b/{str(path).lstrip('/')}"))
    assert shown.replace("\\ No newline at end of file\n", "") == expected.replace("\\ No newline at end of file\n",
                                                                                   "")


# -- Ctrl-C ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_with_two_workers_exits_130_quietly(tmp_path):
    body = "".join(f"v{i} = tf.reduce_sum(tf.log(x{i}), keep_dims=True)\n" for i in range(400))
    for i in range(300):
        write(tmp_path / "src" / f"m{i:03d}.py", "import tensorflow as tf\n" + body)
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "codemod", str(tmp_path / "src"), "--check", "-j", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    assert proc.poll() is None, "the run finished before Ctrl-C: make the tree bigger"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert err.strip().splitlines()[-1].startswith("tf-migrate codemod: interrupted")


# -- linear time ----------------------------------------------------------------------------------
def _big(lines: int) -> str:
    """The TF 1 sample model's functions repeated below its imports: a realistic 50,000-line module."""
    sample = (ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text()
    head, _, body = sample.partition("from seq2seq_task import EOS_ID, PAD_ID, SOS_ID\n")
    return head + "from seq2seq_task import EOS_ID, PAD_ID, SOS_ID\n" + body * (lines // body.count("\n") + 1)


@pytest.mark.parametrize("mode", ["check", "write"])
def test_no_diff_is_computed_unless_it_is_printed(tmp_path, mode):
    """The unified diff was the quadratic step (a 50,000-line file: 205-262 s): --check / --write never
    compute it. The time itself is measured by benchmarks/bench_codemod_bigfile.py (CPU seconds for 5k ... 50k
    lines and their ratio), not by a timed test."""
    path = write(tmp_path / "big.py", _big(2_000))
    report = codemod.run([path], mode=mode, jobs=1)
    assert report.changed == [str(path)]
    assert report.results[0].diff == ""
