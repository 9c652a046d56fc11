"""benchmarks/bench_graph_convert.py's conversion side (issue 21's measure): the `as-given` mode gives the converter
the manifest's outputs and nothing else, and every row carries one verdict (ok / parity failed / refused / crash)."""

from __future__ import annotations

import json
import os

import pytest
from real_corpus import bench, corpus_entry, real_tf1_dir

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def test_as_given_converts_a_real_fixture_from_its_outputs_alone(tmp_path):
    """hcn_static_bigru_tf18 (static_bidirectional_rnn of GRUCells, one step): no --inputs, no --feed; the
    converter generates its own parity inputs and the row says ok."""
    _, entry = corpus_entry("hcn_static_bigru_tf18")
    row = bench().convert_one(entry, real_tf1_dir(), "as-given", str(tmp_path))
    assert (row["status"], row["parity_ok"], row["outputs"]) == ("ok", True, entry["outputs"]), row
    assert not (tmp_path / "hcn_static_bigru_tf18_as-given.npz").exists()     # no --inputs file was written
    report = json.loads((tmp_path / "hcn_static_bigru_tf18_as-given" / "convert_report.json").read_text())
    assert {r["inputs"] for r in report["parity"]["outputs"]} == {"generated"}
    assert [o["graph"] for o in report["graph"]["outputs"]] == entry["outputs"]


def test_a_refusal_is_a_row_with_its_exit_code_and_first_line(tmp_path):
    """A manifest entry whose folder holds no checkpoint: `refused`, exit 2, the reason's first line names the
    path; the benchmark goes on (no exception)."""
    entry = {"name": "missing", "dir": "missing", "prefix": "model.ckpt", "outputs": ["y:0"], "feeds": {}}
    (tmp_path / "corpus" / "missing").mkdir(parents=True)
    row = bench().convert_one(entry, str(tmp_path / "corpus"), "as-given", str(tmp_path))
    assert (row["status"], row["exit_code"], row["converted"]) == ("refused", 2, False), row
    assert "model.ckpt" in row["why"] and "\n" not in row["why"]
    assert bench().status(row) == "refused 2"


def test_modes_are_a_closed_table():
    assert bench().MODES == {"as-given": (True, False), "fed": (True, True), "auto": (False, False)}
    with pytest.raises(ValueError, match="as-given, fed, auto"):
        bench().convert_one({"name": "x", "dir": "x", "prefix": "p"}, "/nonexistent", "given", "/nonexistent")
