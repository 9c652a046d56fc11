"""benchmarks/bench_suites.py: its input checks and its file accounting (the suites themselves run by hand:
they need the projects' checkouts and minutes of CPU)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_suites", ROOT / "benchmarks" / "bench_suites.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_suites"] = module
    spec.loader.exec_module(module)
    return module


def test_unknown_suite_and_wrong_checkout_are_refused_with_the_way_out(tmp_path, capsys):
    bench = _bench()
    assert bench.main(["nope=" + str(tmp_path)]) == 2
    assert "expected SUITE=CHECKOUT with SUITE one of nmt, bert, bilm, tflearn" in capsys.readouterr().err
    assert bench.main(["bert=" + str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a google-research/bert checkout (no modeling_test.py)" in err
    assert "git archive eedf5716ce12" in err
    (tmp_path / "modeling_test.py").write_text("")
    assert bench.main(["bert=" + str(tmp_path), "--only", "original,magic"]) == 2
    assert "unknown variant(s) magic" in capsys.readouterr().err


def test_changed_files_counts_only_the_suites_python_files(tmp_path):
    bench = _bench()
    suite = bench.SUITES["nmt"]
    before, after = tmp_path / "a", tmp_path / "b"
    for root in (before, after):
        (root / "nmt" / "utils").mkdir(parents=True)
        (root / "nmt" / "x.py").write_text("import tensorflow as tf\n")
        (root / "nmt" / "utils" / "t_test.py").write_text("x = 1\n")
        (root / "setup.py").write_text("a = 1\n")
    (after / "nmt" / "x.py").write_text("import tensorflow as tf  # changed\n")
    (after / "setup.py").write_text("a = 2\n")  # outside the suite's folders: not counted
    (after / "nmt" / "new.py").write_text("")
    assert bench.changed_files(before, after, suite) == 2
    root_suite = bench.SUITES["bert"]  # "." means the checkout's own top-level files only
    assert bench.changed_files(before, after, root_suite) == 1
