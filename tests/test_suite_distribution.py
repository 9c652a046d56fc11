"""The suite's own distribution (conftest.py at the root): with `pytest -n 2` alone, every file goes to one worker
with its tests together, so a module-scoped fixture is built once in the run (plain `--dist load` built it once per
worker); files with a `slow` test are handed out first, then files sharing module fixtures, then the rest."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SLOW_LAST = """
import pytest
def test_quick():
    pass
@pytest.mark.slow
def test_slow():
    pass
"""
SHARED = """
import os, pytest
@pytest.fixture(scope="module")
def built():
    with open(os.environ["BUILDS"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    return 1
@pytest.mark.parametrize("i", range(8))
def test_uses_it(built, i):
    assert built == 1
def test_alone():
    pass
"""
PLAIN = "def test_one():\n    pass\ndef test_two():\n    pass\n"


@pytest.fixture
def suite(tmp_path):
    with open(os.path.join(ROOT, "conftest.py"), encoding="utf-8") as f:
        (tmp_path / "conftest.py").write_text(f.read(), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: slow\n", encoding="utf-8")
    (tmp_path / "test_a_plain.py").write_text(PLAIN, encoding="utf-8")
    (tmp_path / "test_b_shared.py").write_text(SHARED, encoding="utf-8")
    (tmp_path / "test_c_slow.py").write_text(SLOW_LAST, encoding="utf-8")
    return tmp_path


def _pytest(suite, *args):
    env = {**os.environ, "BUILDS": str(suite / "builds.txt")}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=suite, env=env,
                          capture_output=True, text=True, timeout=300)


def test_files_stay_together_slow_files_first_then_shared_fixtures(suite):
    proc = _pytest(suite, "--collect-only", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert ids == ["test_c_slow.py::test_quick", "test_c_slow.py::test_slow",
                   *[f"test_b_shared.py::test_uses_it[{i}]" for i in range(8)], "test_b_shared.py::test_alone",
                   "test_a_plain.py::test_one", "test_a_plain.py::test_two"]


def test_two_workers_build_a_module_fixture_once(suite):
    pytest.importorskip("xdist")
    proc = _pytest(suite, "-n", "2", "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "13 passed" in proc.stdout
    workers = {line.split()[0] for line in proc.stdout.splitlines()
               if line.startswith("[gw") and "test_b_shared.py::" in line}
    assert len(workers) == 1, proc.stdout          # [gw0] or [gw1]: the whole file on one worker
    assert len((suite / "builds.txt").read_text().split()) == 1
