"""No file can kill or hang a run: files past the parser's limits are skipped with their reason, a worker
that crashes or runs out of time is replaced, and the run ends with its summary, report and exit code.

Each run is a subprocess with a timeout, so a regression fails the test instead of hanging or killing
the test session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.codemod import guard
from migrate.codemod.engine import process_file
from migrate.codemod.rules import rule_set

ROOT = Path(__file__).resolve().parent.parent
TF1 = "import tensorflow as tf\n\nx = tf.log(y)  # keep me\n"
TF2 = "import tensorflow as tf\n\nx = tf.math.log(y)  # keep me\n"
HEAD = "import tensorflow as tf\n\ny = tf.log(z)\n"
NORMAL = [f"m{i}.py" for i in range(8)]  # with the bad files: enough for two workers (MIN_FILES_FOR_POOL)


def _tree(root: Path, bad: dict[str, str]) -> dict[str, bytes]:
    for name in NORMAL:
        (root / name).write_text(TF1)
    for name, text in bad.items():
        (root / name).write_text(text)
    return {name: (root / name).read_bytes() for name in bad}


def _codemod(root: Path, jobs: int, patch: str = "", timeout: float = 120,
             extra: tuple[str, ...] = ()) -> tuple[int, str, dict]:
    """`tf-migrate codemod ROOT --write --json` in a fresh process (`patch`: Python run first, e.g. to lift
    a limit); (exit code, stderr, the JSON report)."""
    report = root.parent / f"report-{jobs}.json"
    argv = ["codemod", str(root), "--write", "--jobs", str(jobs), "--json", str(report), *extra]
    code = f"import sys\n{patch}\nfrom migrate.cli import main\nsys.exit(main({argv!r}))\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stderr, json.loads(report.read_text())


def _skipped(data: dict) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in data["skipped"]}


def _plain(root: Path, count: int) -> None:
    """Files that never mention TensorFlow (reported in batches, as a count): `a00.py`, ... sort first."""
    for i in range(count):
        (root / f"a{i:02d}.py").write_text(f"x = {i}\n")


def _assert_normal_files_done(root: Path, data: dict, err: str) -> None:
    assert all((root / name).read_text() == TF2 for name in NORMAL)
    assert sorted(Path(p).name for p in data["changed"]) == NORMAL
    assert err.strip().splitlines()[-1].startswith(f"tf-migrate codemod: {data['scanned']} files scanned, 8 changed")


@pytest.mark.parametrize("jobs", [1, 2], ids=["one-worker", "two-workers"])
def test_files_past_the_limits_are_skipped_with_their_reason(tmp_path, jobs):
    root = tmp_path / "src"
    root.mkdir()
    before = _tree(root, {
        "deep.py": HEAD + "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n",
        "chain.py": HEAD + "x = " + "+".join(["1"] * 8_000) + "\n",
        "chain_lines.py": HEAD + "x = (\n" + "    1 +\n" * 8_000 + "    1)\n",
    })
    (root / "huge.py").write_text(HEAD + "x = [" + "1," * 5_000_000 + "]\n")  # one 10 MB line
    os.mkfifo(root / "x.py")
    code, err, data = _codemod(root, jobs)
    assert code == 0  # skipped files are warnings
    _assert_normal_files_done(root, data, err)
    skipped = _skipped(data)
    assert skipped["x.py"] == "not a regular file (a FIFO); never opened; only regular files are read"
    assert skipped["huge.py"].startswith("too large to parse (10,000,0")
    assert "limit 8,000,000: MAX_FILE_BYTES); left byte-identical" in skipped["huge.py"]
    assert skipped["deep.py"].startswith("line too long to parse (line 4: 200,006 characters; limit 200,000")
    for name, line in [("chain.py", 4), ("chain_lines.py", 1_003)]:
        assert skipped[name].startswith(f"nested too deeply to parse (line {line}: an expression more than 1,000 "
                                        "levels deep"), skipped[name]
        assert "MAX_EXPRESSION_DEPTH); left byte-identical; build it from a list" in skipped[name]
    assert all((root / name).read_bytes() == data for name, data in before.items())
    assert f"{root / 'x.py'}: warning: skipped: not a regular file (a FIFO)" in err
    assert "5 skipped (1 line too long to parse, 2 nested too deeply to parse, 1 not a regular file, " \
           "1 too large to parse)" in err


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2], ids=["one-worker", "two-workers"])
def test_a_worker_that_crashes_or_runs_out_of_time_is_replaced(tmp_path, jobs):
    """With the nesting limits lifted, real deep nesting reaches libcst's native parser: 3,000 nested
    parentheses overflow its stack (SIGSEGV), 8,000 added terms take minutes (killed at 1 s of CPU). The
    40 files before them are sent in batches and reported as counts: none is lost or run twice."""
    root = tmp_path / "src"
    root.mkdir()
    _plain(root, 40)
    before = _tree(root, {
        "crash.py": HEAD + "x = " + "(" * 3_000 + "1" + ")" * 3_000 + "\n",
        "slow.py": HEAD + "x = " + "+".join(["1"] * 8_000) + "\n",
    })
    lift = ("from migrate.codemod import guard, workers\n"
            "guard.MAX_NESTING = guard.MAX_EXPRESSION_DEPTH = 10**9\nguard.FILE_CPU_SECONDS = 1\n"
            "workers.FILE_WALL_SECONDS_FACTOR = 600  # CPU time decides, however loaded the machine")
    code, err, data = _codemod(root, jobs, lift)
    assert code == 0
    _assert_normal_files_done(root, data, err)
    skipped = _skipped(data)
    assert skipped["crash.py"].startswith("parser crashed (SIGSEGV in its worker, which was replaced")
    assert skipped["slow.py"] == ("time limit exceeded (more than 1 s of CPU: FILE_CPU_SECONDS); left byte-identical; "
                                  "split the module, or port it by hand")
    assert all((root / name).read_bytes() == data for name, data in before.items())
    assert "2 skipped (1 parser crashed, 1 time limit exceeded)" in err
    assert "Traceback" not in err
    assert data["scanned"] == 50 and len({Path(p).name for p in data["changed"]}) == 8
    assert all((root / f"a{i:02d}.py").read_text() == f"x = {i}\n" for i in range(40))


@pytest.mark.slow
def test_a_worker_that_stops_answering_is_killed_at_the_wall_time_limit(tmp_path):
    """A file that keeps its worker busy without using CPU (here a rule that sleeps) is stopped after
    FILE_WALL_SECONDS_FACTOR x FILE_CPU_SECONDS of wall time."""
    root = tmp_path / "src"
    root.mkdir()
    _tree(root, {"stuck.py": HEAD + "# SLEEP\n"})
    patch = ("import time\nfrom migrate.codemod import guard, workers\n"
             "from migrate.codemod.rules import RULES, Rule\n"
             "def _sleep(cm, original, call, name):\n"
             "    if 'SLEEP' in cm.full_source:\n        time.sleep(600)\n    return call\n"
             "RULES['TFM998'] = Rule('TFM998', 'sleep', 'sleeps', leave_call=_sleep)\n"
             "guard.FILE_CPU_SECONDS = 4\nworkers.FILE_WALL_SECONDS_FACTOR = 2")
    code, err, data = _codemod(root, 1, patch, extra=("--extend-select", "TFM998"))
    assert code == 0
    _assert_normal_files_done(root, data, err)
    assert _skipped(data) == {"stuck.py": "time limit exceeded (no result after 8 s: 2 x FILE_CPU_SECONDS); "
                                          "left byte-identical; split the module, or port it by hand"}


def test_a_fifo_given_by_name_is_skipped_and_never_opened(tmp_path):
    fifo = tmp_path / "x.py"
    os.mkfifo(fifo)
    ok = tmp_path / "ok.py"
    ok.write_text(TF1)
    proc = subprocess.run([sys.executable, "-m", "migrate", "codemod", str(fifo), str(ok), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1  # --check: ok.py would change
    assert f"{fifo}: warning: skipped: not a regular file (a FIFO); never opened" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == ("tf-migrate codemod: 2 files scanned, 1 would change, 1 skipped "
                                                    "(1 not a regular file), 0 findings left for a human")


def test_a_long_line_is_skipped_before_any_parser_sees_it(tmp_path):
    path = tmp_path / "data.py"
    path.write_text(HEAD + "TABLE = [" + "1, " * 70_000 + "]\n")
    result = process_file(str(path), "diff", rule_set())
    assert (result.status, result.reason) == ("skipped", (
        "line too long to parse (line 4: 210,011 characters; limit 200,000: MAX_LINE_CHARS); left byte-identical; "
        "generated data belongs in a data file: move it there, or port this module by hand"))


def test_a_large_file_that_does_not_mention_tensorflow_is_left_alone_unparsed(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "MAX_FILE_BYTES", 1_000)
    plain = tmp_path / "plain.py"
    plain.write_text("x = 1\n" * 500_000)  # read in 1 MB blocks
    assert process_file(str(plain), "diff", rule_set()).status == "unchanged"
    tf = tmp_path / "tf.py"
    head = "# " + "a" * (2**20 - 8) + "\n"
    tf.write_text(head + "tensorflow = 1\n")  # the marker straddles two blocks
    assert tf.read_bytes().index(b"tensorflow") == 2**20 - 5
    result = process_file(str(tf), "diff", rule_set())
    assert (result.status, result.reason) == ("skipped", "too large to parse (1,048,586 bytes; limit 1,000: "
                                                         "MAX_FILE_BYTES); left byte-identical; split the module, "
                                                         "or port it by hand")


@pytest.mark.parametrize("source, line", [
    ("x = " + "(" * 300 + "1" + ")" * 300 + "\n", 1),                    # brackets: Python's own limit
    ("def f(a=" + "+".join(["1"] * 1_500) + "):\n    return a\n", 1),    # a compound statement's header
    ("@d(" + " and ".join(["y"] * 1_100) + ")\ndef f():\n    pass\n", 1),  # a decorator
    ("if x:\n    pass\nelse:\n    y = (" + "\n        'a'" * 1_200 + ")\n", 1_004),  # adjacent strings
    ("try:\n    pass\nexcept (" + "|".join(["E"] * 1_200) + "):\n    pass\n", 3),  # an except clause
])
def test_nesting_is_estimated_wherever_an_expression_can_be(source, line):
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError):
        tree = None
    with pytest.raises(guard.TooBig, match=rf"^nested too deeply to parse \(line {line}: "):
        guard.check_nesting(source, tree, guard.check_lines(source))


def test_ordinary_long_statements_pass_the_nesting_check():
    """Long data literals and method chains are wide, not deep: every comma starts a new operand."""
    import ast

    source = ("TABLE = {\n" + "".join(f"    'k{i}': [{i} + 1, {i} * 2, -{i}],\n" for i in range(3_000)) + "}\n"
              "ds = tf.data.Dataset.range(10)" + ".map(lambda x: x + 1).batch(2)" * 30 + "\n")
    guard.check_nesting(source, ast.parse(source), guard.check_lines(source))
