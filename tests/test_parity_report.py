"""`migrate.parity.report` (table, JSON, JUnit) and the `tf-migrate parity` parser, without TensorFlow."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from migrate.parity import compare
from migrate.parity.compare import format_difference, relative_difference
from migrate.parity.report import ParityReport


def _report(fail: bool) -> ParityReport:
    e = np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4)
    a = e.copy()
    if fail:
        a[1, 2, 3] += 1e-2
    ids = np.array([[5, 6, 2], [7, 2, 0]])
    results = [
        compare(np.float32(0.5), np.float32(0.5), name="weight enc/kernel", time_axis=None),
        compare(e, a, np.ones((2, 3), bool), name="logits", logits=True),
        compare(np.array([1.25]), np.array([1.25]), name="loss", time_axis=None),
        compare(e, e, name="grad enc/kernel", time_axis=None),
        compare(e, a, name="grad dec/kernel", time_axis=None),
        compare(ids, ids, name="greedy ids"),
    ]
    return ParityReport(results=results, info={"seconds": 1.5})


def test_table_has_one_row_per_check_with_worst_numbers():
    lines = _report(fail=True).table().splitlines()
    assert lines[0].split() == ["check", "compared", "max", "abs", "max", "rel", "tolerance", "result"]
    rows = {line.split("  ")[0]: line for line in lines[2:]}
    assert set(rows) == {"weights (port -> TF1 layout)", "logits at valid positions", "loss (sequence_loss)",
                         "gradients, one step", "greedy ids"}
    assert rows["logits at valid positions"].rstrip().endswith("FAIL") and "1.0e-02" in rows["logits at valid positions"]
    assert rows["gradients, one step"].rstrip().endswith("FAIL (1)")
    assert "6/6 ids equal" in rows["greedy ids"] and rows["greedy ids"].rstrip().endswith("ok")
    assert "exact" in rows["greedy ids"]


def test_summary_and_failure_message_name_failing_checks():
    r = _report(fail=True)
    assert not r.ok
    assert r.summary_line() == "parity: 2 of 6 checks outside tolerance (gradients, logits) in 1.5s"
    msg = r.failure_message()
    assert "Parity check 'logits' failed" in msg and "Parity check 'grad dec/kernel' failed" in msg
    ok = _report(fail=False)
    assert ok.ok and ok.summary_line() == "parity: all 6 checks within tolerance in 1.5s"


def test_json_and_junit_are_written_atomically_and_complete(tmp_path):
    r = _report(fail=True)
    rj, rx = tmp_path / "r.json", tmp_path / "r.xml"
    r.write_json(str(rj))
    r.write_junit(str(rx))
    assert not list(tmp_path.glob("*.tmp"))
    d = json.loads(rj.read_text())
    assert d["ok"] is False and len(d["results"]) == 6
    assert d["results"][1]["max_abs_index"] == [1, 2, 3] and d["results"][1]["message"].startswith("Parity check")
    suite = ET.parse(rx).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("6", "2")
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["logits", "grad dec/kernel"]
    assert suite.find("testcase[@name='logits']/failure").get("message").startswith("Mismatched elements: 1 / 24")


def test_parser_has_the_documented_options_and_example():
    from migrate.commands import parity  # noqa: PLC0415

    sub = argparse.ArgumentParser().add_subparsers()
    p = parity.register(sub)
    args = p.parse_args(["--legacy", "d", "--keras", "m.keras", "--batches", "3", "--seed", "7", "--rtol", "1e-5",
                         "--atol", "1e-4", "--json", "r.json", "--junit", "r.xml"])
    assert (args.legacy, args.keras, args.batches, args.seed, args.rtol, args.atol, args.json, args.junit) == (
        "d", "m.keras", 3, 7, 1e-5, 1e-4, "r.json", "r.xml")
    assert args.func is parity.run
    assert "tf-migrate parity --legacy" in p.epilog and "exit codes: 0" in p.epilog


def test_registering_the_command_does_not_import_tensorflow():
    code = ("import sys, argparse; from migrate.commands import parity; "
            "parity.register(argparse.ArgumentParser().add_subparsers()); import migrate.parity.pytest_plugin; "
            "import migrate.parity; print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_rows_and_per_timestep_for_the_demo_report():
    r = _report(fail=True)
    rows = {row["check"]: row for row in r.rows()}
    assert rows["logits at valid positions"]["mismatched"] == "1 / 24" and rows["logits at valid positions"]["ok"] is False
    assert rows["gradients, one step"]["mismatched"] == "1 / 48"
    assert rows["greedy ids"]["tolerance"] == "exact" and rows["greedy ids"]["ok"] is True
    steps = r.per_timestep("logits")
    assert len(steps) == 3 and steps[0] == 0.0 and steps[2] == pytest.approx(1e-2, rel=1e-3)
    assert r.per_timestep("missing") == []


def test_nan_shows_as_nan_in_the_table_and_rows():
    e = np.ones((2, 3, 4), np.float32)
    a = e.copy()
    a[0, 1, 2] = np.nan
    from migrate.parity.checks import OutputTensorCheck  # noqa: PLC0415

    results = OutputTensorCheck("logits <- logits:0", e, a).compare()
    r = ParityReport(results=results)
    (row,) = r.table().splitlines()[2:]
    assert row.split()[-1] == "FAIL" and "NaN" in row.split() and "0.0e+00" not in row
    assert np.isnan(r.rows()[0]["max_abs"])
    assert "NaN 1" in results[0].summary() and "NaN in actual: 1 element(s), first at index (0, 1, 2)" in \
        results[0].message


def test_json_carries_schema_version_and_structured_identity():
    from migrate.parity.checks import WeightsCheck  # noqa: PLC0415

    w = {"enc/kernel": np.ones((2, 2), np.float32)}
    results = WeightsCheck(w, {"enc/kernel": np.zeros((2, 2), np.float32)}, ["enc/kernel"]).compare()
    d = ParityReport(results=results).to_dict()
    assert d["schema"] == "tf-migrate/parity" and d["version"] == 1
    assert (d["results"][0]["check"], d["results"][0]["subject"]) == ("weights", "enc/kernel")


def _parity_args(argv):
    from migrate.commands import parity  # noqa: PLC0415

    return parity, parity.register(argparse.ArgumentParser().add_subparsers()).parse_args(argv)


@pytest.mark.parametrize("where", ["parent-is-a-file", "exists"])   # a missing folder is created (docs/outputs.md)
def test_unwritable_json_or_junit_exits_3_before_any_work(tmp_path, where):
    from migrate.errors import OutputError  # noqa: PLC0415

    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = {"missing-dir": tmp_path / "no" / "r.json", "parent-is-a-file": blocker / "r.json",
              "exists": blocker}[where]
    flag = "--junit" if where == "exists" else "--json"
    # the checkpoint does not exist either: the output is checked first, so the answer is 3, not 2
    parity, args = _parity_args(["--tf1", str(tmp_path / "nothing"), "--keras", "m.keras", flag, str(target)])
    with pytest.raises(OutputError) as e:
        parity.run(args)
    assert e.value.exit_code == 3
    assert str(target) in str(e.value) and len(str(e.value).splitlines()) == 1
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_graph_only_and_legacy_only_options_are_refused_across_modes():
    from migrate.parity.errors import ParityInputError  # noqa: PLC0415

    parity, args = _parity_args(["--tf1", "x", "--keras", "m.keras", "--adam-steps", "2"])
    with pytest.raises(ParityInputError, match="--adam-steps: not an option of parity --tf1"):
        parity.run(args)
    parity, args = _parity_args(["--legacy", "x", "--mapping", "m.toml"])
    with pytest.raises(ParityInputError, match="--mapping: not an option of parity --legacy") as e:
        parity.run(args)
    assert e.value.exit_code == 2


def _two_tensor_weights_check() -> ParityReport:
    """One check, two tensors where the old definitions of "max rel" disagree: the tensor with the greatest absolute
    difference (and the only failure) has a small relative one; the other has the greatest relative difference."""
    from migrate.parity.checks import WeightsCheck  # noqa: PLC0415

    big = np.full((3, 4), 10.0, np.float32)
    small = np.full(5, 1e-3, np.float32)
    port_big, port_small = big.copy(), small.copy()
    port_big[1, 2] += 2e-3       # abs 2e-3 (outside atol 1e-5), rel 2e-4
    port_small[4] += 5e-6        # abs 5e-6 (inside), rel 5e-3: the greatest relative difference of the check
    results = WeightsCheck({"a/kernel": big, "b/bias": small}, {"a/kernel": port_big, "b/bias": port_small},
                           ["a/kernel", "b/bias"]).compare()
    return ParityReport(results=results)


def test_max_rel_has_one_definition_in_the_table_the_rows_and_the_json():
    r = _two_tensor_weights_check()
    kernel, bias = r.results
    assert kernel.max_abs > bias.max_abs and bias.max_rel > kernel.max_rel and not kernel.ok and bias.ok
    (line,) = r.table().splitlines()[2:]
    (row,) = r.rows()
    assert row["max_rel"] == bias.max_rel == pytest.approx(5e-3, rel=1e-2)     # the greatest over every element
    assert row["max_abs"] == kernel.max_abs == pytest.approx(2e-3, rel=1e-2)
    assert re.split(r"\s{2,}", line)[2:4] == [format_difference(row["max_abs"]), format_difference(row["max_rel"])]
    assert r.to_dict()["checks"][0]["max_rel"] == row["max_rel"]
    assert relative_difference(np.float32(1e-3), np.float32(1e-3) + np.float32(5e-6)) == pytest.approx(5e-3,
                                                                                                             rel=1e-2)
    assert relative_difference(0.0, 0.0) == 0.0 and relative_difference(0.0, 1e-9) == np.inf


def test_a_failing_check_says_which_tensor_which_element_both_values_and_why():
    (row,) = _two_tensor_weights_check().rows()
    assert row["ok"] is False and row["margin"] > 1
    lines = row["failure"].splitlines()
    assert lines[0] == "weight a/kernel: 1 of 12 elements outside tolerance"
    assert lines[1].startswith("worst at index (1, 2): legacy 10, port 10.002") and lines[1].endswith("allowed 2.00e-05 (100 x the tolerance)")
