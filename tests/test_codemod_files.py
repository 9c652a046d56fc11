"""The codemod on files: encodings, Python 2, atomic writes, notebooks, the CLI, the standard library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from migrate import codemod
from migrate.cli import main
from migrate.codemod import engine, transform_source
from migrate.codemod.engine import process_file
from migrate.codemod.rules import rule_set

ROOT = Path(__file__).resolve().parent.parent
TF1 = "import tensorflow as tf\n\nx = tf.log(y)  # keep me\n"
TF2 = "import tensorflow as tf\n\nx = tf.math.log(y)  # keep me\n"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize("data, expected", [
    (b"\xef\xbb\xbf" + TF1.encode(), b"\xef\xbb\xbf" + TF2.encode()),
    (TF1.replace("\n", "\r\n").encode(), TF2.replace("\n", "\r\n").encode()),
    (("# -*- coding: latin-1 -*-\n" + TF1 + "s = 'caf\xe9'\n").encode("latin-1"),
     ("# -*- coding: latin-1 -*-\n" + TF2 + "s = 'caf\xe9'\n").encode("latin-1")),
    (TF1.rstrip("\n").encode(), TF2.rstrip("\n").encode()),
], ids=["bom", "crlf", "latin-1", "no-final-newline"])
def test_encodings_bom_and_newlines_are_kept(tmp_path, data, expected):
    path = write(tmp_path / "m.py", data)
    result = process_file(str(path), "write", rule_set())
    assert result.status == "changed"
    assert path.read_bytes() == expected


def test_python2_file_is_skipped_reported_and_left_byte_identical(tmp_path, capsys):
    src = b'import tensorflow as tf\n\ndef main():\n    print "loss", tf.log(2.0)\n'
    path = write(tmp_path / "py2.py", src)
    write(tmp_path / "ok.py", TF1)
    code = main(["codemod", str(tmp_path), "--write"])
    err = capsys.readouterr().err
    assert code == 0  # a warning (pre-commit must not fail forever on one Python 2 file) ...
    assert path.read_bytes() == src
    assert (tmp_path / "ok.py").read_text() == TF2
    assert f"{path}: warning: skipped: Python 2 code (line 4, column 5: Missing parentheses in call to 'print'" in err
    assert "2 files scanned, 1 changed, 1 skipped (1 Python 2 code)" in err
    assert main(["codemod", str(tmp_path), "--check", "--strict"]) == 1  # ... unless --strict
    assert f"{path}: error: skipped: Python 2 code" in capsys.readouterr().err


def test_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = write(tmp_path / "m.py", TF1)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        process_file(str(path), "write", rule_set())
    assert path.read_text() == TF1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]  # no temporary file left behind


def test_write_keeps_the_file_mode(tmp_path):
    path = write(tmp_path / "tool.py", TF1)
    path.chmod(0o754)
    process_file(str(path), "write", rule_set())
    assert path.read_text() == TF2 and (path.stat().st_mode & 0o777) == 0o754


def test_notebook_code_cells_only(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["Uses tf.log (markdown: untouched)\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {"tags": ["x"]},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["tf.log\n"]}],
         "source": ["%matplotlib inline\n", "import tensorflow as tf"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": ["!pip list\n", "y = tf.log(x)\n", "z = tf.reduce_sum(y, keep_dims=True)"]},
    ], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    path = write(tmp_path / "nb.ipynb", json.dumps(nb, indent=1))
    assert process_file(str(path), "write", rule_set()).status == "changed"
    out = json.loads(path.read_text())
    assert out["cells"][0] == nb["cells"][0]
    assert out["cells"][1] == nb["cells"][1]
    assert out["cells"][2]["source"] == ["!pip list\n", "y = tf.math.log(x)\n", "z = tf.reduce_sum(y, keepdims=True)"]
    assert out["metadata"] == nb["metadata"] and out["cells"][2]["outputs"] == []


def test_notebook_findings_point_at_the_cell(tmp_path):
    """Findings in a notebook name the cell (1-based, markdown cells counted) and the line inside it."""
    nb = {"cells": [
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["import tensorflow as tf\n", "x = tf.log(1.0)"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["tf.contrib.distributions here is prose\n"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": ["%time 1\n", "\n", "d = tf.contrib.distributions.Normal\n", "  # end"]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = write(tmp_path / "nb.ipynb", json.dumps(nb, indent=2))
    report = codemod.run([path], mode="check")
    (p, finding), = report.findings
    assert (finding.cell, finding.line, finding.column, finding.rule) == (3, 3, 5, "TFM003")
    assert finding.format(p).startswith(f"{path}:cell 3:line 3:col 5: TFM003 ")
    assert report.to_json()["findings"][0]["cell"] == 3


def test_cli_modes_exit_codes_and_json(tmp_path, capsys):
    path = write(tmp_path / "src" / "m.py", TF1)
    write(tmp_path / "src" / "clean.py", TF2)
    assert main(["codemod", str(tmp_path / "src")]) == 0  # --diff is the default
    out, err = capsys.readouterr()
    assert "-x = tf.log(y)  # keep me\n+x = tf.math.log(y)  # keep me\n" in out
    assert err.endswith("tf-migrate codemod: 2 files scanned, 1 would change, 0 skipped, "
                        "0 findings left for a human\n")
    assert path.read_text() == TF1
    assert main(["codemod", str(path), "--check"]) == 1
    report = tmp_path / "r.json"
    assert main(["codemod", str(path), "--write", "--json", str(report)]) == 0
    assert path.read_text() == TF2
    data = json.loads(report.read_text())
    assert (data["scanned"], data["changed"], data["exit_code"]) == (1, [str(path)], 0)
    assert main(["codemod", str(path), "--check"]) == 0
    capsys.readouterr()
    assert main(["codemod", str(tmp_path / "missing")]) == 2
    assert "missing: no such file or directory" in capsys.readouterr().err
    assert main(["codemod", str(path), "--select", "bogus"]) == 2
    assert "unknown rule 'bogus'" in capsys.readouterr().err


def test_findings_in_json_have_file_line_column(tmp_path):
    path = write(tmp_path / "m.py", "import tensorflow as tf\n\nd = tf.contrib.distributions.Normal\n")
    report = codemod.run([path], mode="check")
    assert report.to_json()["findings"][0] | {"message": ""} == {
        "path": str(path), "line": 3, "column": 5, "rule": "TFM003", "name": "contrib", "message": ""}
    assert report.exit_code() == 0  # findings alone never fail a run


def test_pool_gives_the_same_report_as_one_process(tmp_path):
    for i in range(10):
        write(tmp_path / f"m{i}.py", TF1 + f"v{i} = tf.placeholder(tf.float32)\n")
    one = codemod.run([tmp_path], mode="diff", jobs=1)
    two = codemod.run([tmp_path], mode="diff", jobs=2)
    assert [(r.path, r.diff, r.findings) for r in one.results] == [(r.path, r.diff, r.findings) for r in two.results]
    assert len(two.changed) == 10


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


@pytest.mark.slow
def test_stdlib_check_changes_nothing():
    """`--check` over the interpreter's whole standard library: zero changes, zero crashes."""
    proc = subprocess.run([sys.executable, "-m", "migrate", "codemod", str(_stdlib()), "--check", "--jobs", "2"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stderr.strip().splitlines()[-1]
    scanned = int(summary.split(": ")[1].split()[0])
    assert scanned > 1000
    assert f"{scanned} files scanned, 0 would change, 0 skipped, 0 findings" in summary


@pytest.mark.slow
def test_stdlib_sources_parse_and_come_back_unchanged():
    """The full transform (no prefilter) on 150 standard-library modules returns each one unchanged."""
    files = sorted(p for p in _stdlib().rglob("*.py")
                   if "site-packages" not in p.parts and p.stat().st_size < 40_000)[::12][:150]
    unchanged = parsed = 0
    for p in files:
        text = p.read_bytes().decode("utf-8", errors="surrogateescape")
        try:
            out, findings, _ = transform_source(text)
        except Exception as e:  # only libcst's parse errors (Python 2 test data) are allowed
            assert type(e).__name__ == "ParserSyntaxError", (p, e)
            continue
        parsed += 1
        unchanged += out == text and not findings
    assert parsed > 130 and unchanged == parsed


def test_pre_commit_hook_is_declared():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: tf-migrate-codemod" in text and "entry: tf-migrate codemod --check" in text
    assert "types_or: [python, jupyter]" in text


def test_module_cli_runs_without_tensorflow_import(tmp_path):
    path = write(tmp_path / "m.py", TF1)
    code = ("import sys; from migrate.cli import main; rc = main(['codemod', sys.argv[1], '-q']); "
            "assert 'tensorflow' not in sys.modules, 'the codemod imported TensorFlow'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
