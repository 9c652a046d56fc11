"""Real TF1 models in the other forms they ship in: a frozen GraphDef and a TF1 SavedModel written by onnx/tensorflow-onnx's
own scripts (tests/fixtures/real_forms, Apache-2.0; the rest of benchmarks/corpus.py's FORMS is recreated from git
mirrors and measured by benchmarks/bench_graph_convert.py --forms)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
from real_corpus import CORPUS_PY, _module

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "real_forms")
COMMITTED = ("tf2onnx_lstm_frozen", "tf2onnx_regression_saved_model")


def _corpus():
    return _module("corpus", CORPUS_PY)


def _entry(name: str) -> dict:
    (entry,) = [e for e in _corpus().FORMS if e["name"] == name]
    return entry


def test_the_forms_table_records_real_recurrent_models_of_each_form():
    forms = _corpus().FORMS
    frozen = [e for e in forms if e["form"] == "frozen_graph"]
    saved = [e for e in forms if e["form"] == "saved_model"]
    assert len(frozen) >= 3 and len(saved) >= 3
    assert all(any(c in " ".join(e["constructs"]) for c in ("LSTM", "GRU", "BasicRNNCell")) for e in frozen)
    for e in forms:   # where each came from, pinned, with its licence and its bytes
        assert len(e["commit"]) == 40 and e["licence"].split()[0] in ("MIT", "Apache-2.0") and e["files"]
        assert e.get("needs_full_clone") or set(e["sha256"]) == set(e["files"])


@pytest.mark.parametrize("name", COMMITTED)
def test_the_committed_fixtures_are_the_recorded_bytes(name):
    entry = _entry(name)
    for local, digest in entry["sha256"].items():
        with open(os.path.join(FIXTURES, name, local), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, local


@pytest.mark.parametrize("name", COMMITTED)
def test_tf_2_21_loads_and_runs_each_fixture_as_recorded(name):
    entry = _entry(name)
    got = _corpus().run_form(entry, os.path.join(FIXTURES, name))
    for out, shape in entry["output_shapes"].items():
        assert list(np.shape(got[out])) == shape and np.all(np.isfinite(got[out]))
    assert np.abs(next(iter(got.values()))).max() > 0


@pytest.mark.parametrize("name", COMMITTED)
def test_a_real_model_converted_from_its_form_is_served_back_unchanged(name, tmp_path):
    """convert FORM --export-saved-model: parity with the TF1 model, and the served signature called beside the
    original's (a SavedModel: its own signature, the same keys and values; a frozen graph: the Keras names).
    Needs the SavedModel / frozen-graph input forms (migrate.parity.forms)."""
    pytest.importorskip("migrate.parity.forms", reason="the SavedModel / frozen graph input forms are not here")
    from migrate.graph import convert_graph

    entry = _entry(name)
    path = os.path.normpath(os.path.join(FIXTURES, name, entry["path"]))
    served = str(tmp_path / "serving" / "1")
    os.makedirs(os.path.dirname(served))
    if entry["form"] == "frozen_graph":
        kw = {"outputs": entry["outputs"], "feeds": {"keep_prob:0": 1.0}}
    else:   # X has no rank in the graph (TF 1.11's unknown shape): an example gives it one
        np.savez(str(tmp_path / "x.npz"), **{"X:0": np.random.RandomState(0).normal(size=4).astype("float32")})
        kw = {"inputs_npz": str(tmp_path / "x.npz")}
    report = convert_graph(path, str(tmp_path / "port"), export_saved_model=served, log=lambda m: None, **kw)
    assert report["parity"]["ok"] and report["export"]["check"]["ok"]
    sig = report["export"]["signature"]
    if entry["form"] == "saved_model":
        assert report["export"]["check"]["original"]["ok"]
        assert sig["key"] == "serving_default" and list(sig["inputs"]) == ["X"] and list(sig["outputs"]) == ["pred"]
        assert sig["inputs"]["X"]["dtype"] == "float32"
    else:
        assert sig["key"] == "serving_default" and list(sig["inputs"]) == ["X"]
