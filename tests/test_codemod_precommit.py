"""pre-commit runs the hook exactly as `.pre-commit-hooks.yaml` declares it (offline: `language: system`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([PRE_COMMIT, "try-repo", str(ROOT), "tf-migrate-codemod", "--all-files"], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=180)


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (pip install -e .[dev])")
def test_pre_commit_hook_on_a_scratch_repository(tmp_path):
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "tf2.py").write_text("import tensorflow as tf\n\nd = tf.contrib.distributions.Normal\n")
    (repo / "py2.py").write_text("import tensorflow as tf\nprint 'hello', tf.__version__\n")
    _git(repo, "add", ".")
    ok = _try_repo(repo, home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout
    assert "tf2.py:3:5: TFM003 `tf.contrib.distributions.Normal`" in ok.stdout  # findings show on a pass
    assert "py2.py: warning: skipped: Python 2 code" in ok.stdout               # a warning, not a failure
    (repo / "tf1.py").write_text("import tensorflow as tf\n\nx = tf.log(2.0)\n")
    _git(repo, "add", ".")
    bad = _try_repo(repo, home)
    assert bad.returncode == 1 and "Failed" in bad.stdout
    assert "would change:" in bad.stdout and "tf1.py" in bad.stdout
    assert (repo / "tf1.py").read_text() == "import tensorflow as tf\n\nx = tf.log(2.0)\n"  # --check writes nothing
