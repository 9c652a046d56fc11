"""The `parity` pytest fixture, exercised in a separate pytest run the way a user's CI would use it."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import numpy as np

def test_close(parity):
    e = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    parity.assert_close(e, e + 1e-7, mask=np.ones((1, 3), bool), name="logits", logits=True)

def test_far(parity):
    e = np.zeros((2, 3, 4), np.float32)
    a = e.copy()
    a[1, 2, 3] = 2e-3
    parity.assert_close(e, a, name="logits")
'''


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=USER_TESTS)
    # `no:` keeps the installed entry point (when present) from loading it twice.
    return pytester.runpytest_subprocess("-p", "no:tf_migrate_parity", "-p", "migrate.parity.pytest_plugin",
                                         "-p", "no:cacheprovider", *args)


@pytest.mark.slow
def test_fixture_passes_and_fails_with_message_and_summary(pytester: pytest.Pytester):
    out = pytester.path / "parity.json"
    result = _run(pytester, f"--parity-json={out}")
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert "Mismatched elements: 1 / 24 (4.2%)" in text
    assert "Greatest absolute difference: 2.0e-03 at index (1, 2, 3) (up to 1e-05 allowed)" in text
    assert "= parity =" in text.replace("==", "=")
    result.stdout.re_match_lines([r"ok  logits  max abs \S+  max rel \S+  mismatched 0/12  \[test_user.py::test_close\]",
                                  r"FAIL  logits  max abs 2.0e-03 .* mismatched 1/24  \[test_user.py::test_far\]"])
    records = json.loads(out.read_text())
    assert [(r["test"], r["ok"]) for r in records] == [("test_user.py::test_close", True),
                                                       ("test_user.py::test_far", False)]
    assert records[1]["max_abs_index"] == [1, 2, 3]


@pytest.mark.slow
def test_command_line_tolerance_applies_to_every_check(pytester: pytest.Pytester):
    _run(pytester, "--parity-atol=1e-2").assert_outcomes(passed=2)
    pytester.makeini("[pytest]\nparity_atol = 1e-2\n")
    _run(pytester).assert_outcomes(passed=2)
