"""Where every test finds the real TF1 checkpoints (tests/fixtures/real_tf1/README.md): this module, only.

The data live outside this repository: in `$TF_MIGRATE_REAL_TF1` when it is set, else in the steering repo's
`shared/fixtures/real_tf1/` beside the checkout (`<repo>/../shared/fixtures/real_tf1`). That folder holds one
sub-folder per checkpoint and `corpus_manifest.json`, both written by `benchmarks/corpus.py` from git mirrors;
every entry's record is that script's table (`CORPUS`, of which `tests/fixtures/real_tf1/manifest.json` is the
fixture part). A test asks for an entry by name and is skipped, with the way to get the data, only when its files
are absent; a name the table lacks fails the test.

    from real_corpus import corpus_entry
    prefix, entry = corpus_entry("udacity_charrnn_tf13")   # the checkpoint prefix and its manifest record
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS_PY = os.path.join(REPO, "benchmarks", "corpus.py")
ENV = "TF_MIGRATE_REAL_TF1"
DEFAULT = os.path.join(REPO, "..", "shared", "fixtures", "real_tf1")
HOW = (f"no data under ${ENV} or ../shared/fixtures/real_tf1 (recreate it with benchmarks/corpus.py --mirrors DIR "
       f"--out DIR; tests/fixtures/real_tf1/README.md)")


def real_tf1_dir() -> str | None:
    """`$TF_MIGRATE_REAL_TF1` when set, else `<repo>/../shared/fixtures/real_tf1`; None when that is no folder."""
    root = os.environ.get(ENV) or DEFAULT
    return os.path.abspath(root) if os.path.isdir(root) else None


def _module(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _manifest(root: str | None) -> tuple[dict, ...]:
    entries = {}
    if root and os.path.isfile(os.path.join(root, "corpus_manifest.json")):
        with open(os.path.join(root, "corpus_manifest.json"), encoding="utf-8") as f:
            entries = {e["name"]: e for e in json.load(f)}
    corpus = _module("corpus", CORPUS_PY)
    entries.update({e["name"]: corpus.record(e) for e in corpus.CORPUS})   # the table wins: it is the code's
    return tuple(entries.values())


@functools.cache
def fixture_names() -> frozenset[str]:
    """The entries that are test fixtures (benchmarks/corpus.py `fixture=True`: <= 5 MB, in shared/)."""
    return frozenset(e["name"] for e in _module("corpus", CORPUS_PY).CORPUS if e.get("fixture"))


def manifest() -> list[dict]:
    """Every entry of benchmarks/corpus.py's table as its manifest record (what `corpus_manifest.json` holds),
    and any other entry the data folder's own `corpus_manifest.json` records."""
    return list(_manifest(real_tf1_dir()))


def _present(root: str, entry: dict) -> bool:
    first = entry["prefix"] + ("" if entry.get("format") == "V1" else ".index")
    return os.path.exists(os.path.join(root, entry["dir"], first))


def prefix_or_none(name: str) -> str | None:
    """The checkpoint prefix of entry `name` when its files are there, else None (for a module-level skipif)."""
    root = real_tf1_dir()
    entry = next((e for e in manifest() if e["name"] == name), None)
    return os.path.join(root, entry["dir"], entry["prefix"]) if root and entry and _present(root, entry) else None


def corpus_entry(name: str) -> tuple[str, dict]:
    """(the checkpoint prefix, its manifest record) of the entry `name`; skips the calling test when its files are
    not there, fails when no manifest names it (a typo is a bug, not missing data)."""
    root = real_tf1_dir()
    entry = next((e for e in manifest() if e["name"] == name), None)
    if entry is None:
        if root is None:
            pytest.skip(f"{name}: {HOW}")
        pytest.fail(f"{name}: no such entry in benchmarks/corpus.py's CORPUS or {root}/corpus_manifest.json")
    if root is None or not _present(root, entry):
        pytest.skip(f"{name}: {HOW}")
    return os.path.join(root, entry["dir"], entry["prefix"]), entry


def corpus_root(name: str) -> str:
    """The data folder that holds entry `name` (the `corpus` argument of benchmarks/bench_graph_convert.py)."""
    corpus_entry(name)
    return real_tf1_dir()


def present_entries(fixtures_only: bool = False) -> list[dict]:
    """The manifest entries whose files are in the data folder ([] without one); only the fixtures' with
    `fixtures_only` (what shared/ holds: a full corpus in $TF_MIGRATE_REAL_TF1 then changes nothing)."""
    root = real_tf1_dir()
    return [e for e in manifest() if root and _present(root, e) and (not fixtures_only or e["name"] in fixture_names())]


@functools.cache
def bench():
    """benchmarks/bench_graph_convert.py as a module (its feeds and its `convert_one`, as the benchmark runs them)."""
    return _module("bench_graph_convert", os.path.join(REPO, "benchmarks", "bench_graph_convert.py"))
