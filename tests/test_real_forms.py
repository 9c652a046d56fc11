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
    for e in forms:   # where each came from, pinned (a commit, or a PyPI archive), with its licence and its bytes
        pinned = len(e["pypi"]["sha256"]) == 64 and e["pypi"]["version"] if "pypi" in e else len(e["commit"]) == 40
        assert pinned and e["licence"].split()[0] in ("MIT", "Apache-2.0") and e["files"]
        assert e.get("needs_full_clone") or set(e["sha256"]) == set(e["files"])


def _sdist(folder, member: str, data: bytes) -> tuple[str, str]:
    """A .tar.gz holding one file (what an sdist is), and its sha256."""
    import io
    import tarfile

    path = os.path.join(folder, "pkg-1.0.tar.gz")
    with tarfile.open(path, "w:gz") as t:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    with open(path, "rb") as f:
        return path, hashlib.sha256(f.read()).hexdigest()


def test_an_entry_from_pypi_is_read_out_of_its_pinned_archive(tmp_path):
    """A `pypi` entry's files come out of the archive by their paths inside it; the archive already in OUT/.pypi
    is not downloaded again, and one whose sha256 is not the recorded one is refused, named (no test downloads)."""
    corpus = _corpus()
    out = tmp_path / "out"
    (out / ".pypi").mkdir(parents=True)
    data = b"a frozen GraphDef's bytes"
    archive, digest = _sdist(str(out / ".pypi"), "pkg-1.0/pkg/model.pb", data)
    entry = {"name": "pkg_frozen", "form": "frozen_graph", "path": "model.pb", "licence": "MIT",
             "pypi": {"package": "pkg", "version": "1.0", "archive": "pkg-1.0.tar.gz", "sha256": digest},
             "files": {"model.pb": "pkg-1.0/pkg/model.pb"},
             "sha256": {"model.pb": hashlib.sha256(data).hexdigest()}}
    rec = corpus.extract(entry, None, str(out))
    assert (out / "pkg_frozen" / "model.pb").read_bytes() == data
    assert rec["bytes"] == len(data) and rec["pypi"]["package"] == "pkg" and corpus.source(entry) == "pypi:pkg==1.0"

    missing = {**entry, "files": {"model.pb": "pkg-1.0/pkg/other.pb"}}
    with pytest.raises(FileNotFoundError, match="no pkg-1.0/pkg/other.pb inside"):
        corpus.extract(missing, None, str(out))
    other = {**entry, "pypi": {**entry["pypi"], "sha256": "0" * 64}}
    with pytest.raises(FileNotFoundError, match="not the 000000000000... recorded"):
        corpus.extract(other, None, str(out))
    assert os.path.exists(archive)   # the cache is left as it was


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
