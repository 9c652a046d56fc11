"""The real TF1 checkpoints of tests/fixtures/real_tf1/manifest.json open, import and run as recorded.

Each checkpoint was written by a public project's own TF1 code (see the fixture's README.md). The data files
live outside this repository, in the steering repo's `shared/fixtures/real_tf1/<dir>/` (beside the checkout:
`../shared`), or wherever `$TF_MIGRATE_REAL_TF1` points (tests/real_corpus.py); `benchmarks/corpus.py --fixtures-only` recreates
them from git mirrors. Per fixture, one graph build: the checkpoint opens with this project's reader and lists
the variables the manifest names; its `.meta` imports under TF 2.21, restores, and the recorded feeds give
outputs of the recorded shapes, finite.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from real_corpus import corpus_entry

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "fixtures", "real_tf1")
MANIFEST = json.load(open(os.path.join(DOCS, "manifest.json")))


def _load_corpus():
    """benchmarks/corpus.py: the table the manifest is written from, and the graph runner both use."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("corpus", os.path.join(HERE, "..", "benchmarks", "corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CORPUS = _load_corpus()


def test_manifest_is_complete():
    names = [e["name"] for e in MANIFEST]
    assert len(names) == len(set(names)) >= 3
    for e in MANIFEST:
        assert e["licence"].split()[0] in ("MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause"), e["name"]
        assert set(e["output_shapes"]) == set(e["outputs"]), e["name"]
        assert os.path.exists(os.path.join(DOCS, e["dir"], "README.md")), e["name"]
        assert len(e["commit"]) == 40 and e["tf_version"].startswith(("0.", "1.")), e["name"]


def test_manifest_matches_the_corpus_table():
    """manifest.json is what `benchmarks/corpus.py --write-fixture-manifest` writes from its table: no drift."""
    assert MANIFEST == json.loads(json.dumps([CORPUS.record(e) for e in CORPUS.CORPUS if e.get("fixture")]))
    assert len(CORPUS.CORPUS) >= 12


@pytest.mark.parametrize("entry", [pytest.param(e, id=e["name"], marks=[pytest.mark.slow] if e["slow"] else [])
                                   for e in MANIFEST])
def test_fixture_opens_imports_and_runs(entry):
    prefix, _ = corpus_entry(entry["name"])
    import tensorflow as tf

    from migrate.checkpoint import open_checkpoint

    folder = os.path.dirname(prefix)
    assert sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f != "README.md") <= 5_000_000
    assert entry["opens_with_project_reader"], entry["name"]    # V1 (no .index) and V2 alike
    ckpt = open_checkpoint(folder)                                # the folder resolves to the prefix
    assert (ckpt.prefix, ckpt.format, ckpt.meta_path) == (prefix, entry["format"], prefix + ".meta")
    names = set(ckpt.variables)
    assert names == set(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())   # TF's own reader agrees
    for scope in entry["forget_bias"]:
        assert any(v.startswith(scope + "/") for v in names), (scope, sorted(names))

    if not entry["imports_under_tf221"]:
        with tf.Graph().as_default(), pytest.raises((KeyError, ValueError, tf.errors.OpError)):
            tf.compat.v1.train.import_meta_graph(prefix + ".meta", clear_devices=True)
        return
    out = CORPUS.run_graph(entry, prefix)
    for name, value in out.items():
        assert list(np.shape(value)) == entry["output_shapes"][name], name
        assert np.all(np.isfinite(value)), name
