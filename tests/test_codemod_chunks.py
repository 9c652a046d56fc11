"""The chunked fast pass (`migrate/codemod/chunks.py`) gives byte-identical output and the same findings
(line and column) as parsing the whole file."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

import pytest
from libcst.matchers import _visitors as matcher_visitors

from migrate import codemod
from migrate.codemod import chunks, transform_source
from migrate.codemod.engine import _transform_chunks, _transform_module
from migrate.codemod.rules import rule_set
from migrate.codemod.transform import NeedsScope, TF2Codemod, TF2ScopeCodemod

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "codemod_fixtures"

EDGES = '''\
"""Docstring."""
from __future__ import annotations
import os
import tensorflow as tf
from tensorflow.contrib import rnn
FLAGS = tf.flags.FLAGS


def plain(a):
    return a + 1


@tf.contrib.framework.add_arg_scope
def header(x,
           dtype=tf.float32, keep_dims=True):
    """No TF in here."""
    y = os.path.join("a", "b")
    # a comment between statements
    z = tf.reduce_sum(x, reduction_indices=[1],  # a comment inside the call
                      keep_dims=keep_dims)
    return z


class Model(tf.layers.Layer):
    n = 3

    def call(self, x):
        if x: y = tf.log(x); w = 2
        a = 1; b = tf.to_float(a); c = max(a, b)
        with tf.variable_scope("s"):
            h = tf.contrib.rnn.LSTMCell(8)
            for i in range(3):
                h = tf.nn.dropout(h, 0.5)
        try:
            v = tf.Session()
        except tf.errors.OutOfRangeError:
            v = None
        if a:
            pass
        elif tf.executing_eagerly():
            v = 2
        else:
            v = tf.random_normal([2])
        return rnn.GRUCell(4), tf.contrib.learn.Experiment


if __name__ == "__main__":
\tcell = rnn.BasicLSTMCell(3)
\tloss = tf.contrib.seq2seq.sequence_loss(
\t    cell, cell,
\t    cell)
\ttf.app.run()'''


# Where pass 1 (`module_bindings`) looks for module-level aliases: bodies of module-level if (and its first
# elif) / try (body, handlers, else) / with, not for / while / finally / later elifs. The wrappers of the
# synthetic module must keep each statement on the same side.
SCOPES = '''\
import tensorflow as tf
if True:
    g1 = tf.gfile
elif tf:
    pass
if False:
    pass
elif True:
    g2 = tf.gfile
elif None:
    g3 = tf.gfile
else:
    g4 = tf.gfile
for _ in range(1):
    opt = tf.train
else:
    g5 = tf.gfile
try:
    sess = tf.Session
except ImportError:
    g6 = tf.gfile
finally:
    g7 = tf.gfile
with open(__file__):
    g8 = tf.gfile
x = [g.Open("f") for g in (g1, g2, g3, g4, g5, g6, g7, g8)] + [opt.AdamOptimizer(1), sess()]


@tf.function  # a decorator on TF
async def f(a: tf.Tensor = tf.zeros([1])) -> tf.Tensor:
    async with a:
        b = await tf.log(a)
    match b:
        case [1, *rest]:
            return tf.to_float(rest)
    return lambda: tf.random_normal([1])
'''


def whole(source: str):
    """The whole-file pass (what the chunked pass stands in for)."""
    return _transform_module(source, rule_set(), (TF2Codemod, TF2ScopeCodemod))


def sources():
    out = {p.name: p.read_text() for p in sorted(FIXTURES.glob("*.before.py.txt"))}
    out["sample"] = (ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text()
    out["edges"] = EDGES
    out["scopes"] = SCOPES
    out["edges_crlf"] = EDGES.replace("\n", "\r\n")
    out["edges_trailing_newline"] = EDGES + "\n"
    return out


@pytest.mark.parametrize("name", sorted(sources()))
def test_chunked_pass_equals_whole_file_pass(name):
    source = sources()[name]
    for assume_tf1 in (True, False):  # the first pass, and the rerun that TF 2 code gets
        try:
            fast = _transform_chunks(source, rule_set(), assume_tf1=assume_tf1)
        except (chunks.ChunkMismatch, NeedsScope):
            continue  # no chunked plan for this file: transform_source parses it whole
        assert fast[:2] == _transform_module(source, rule_set(), (TF2Codemod, TF2ScopeCodemod), assume_tf1=assume_tf1)[:2]


def test_edges_take_the_chunked_path_and_parse_less():
    plan = chunks.plan(EDGES)
    assert plan is not None
    body = plan.source.split(chunks.MARK, 1)[1]
    assert "def plain" not in plan.source and "y = os.path.join" not in plan.source
    assert "    pass\n" in body  # `def header(...)` and `with tf.variable_scope` cut out without bodies
    new, findings, resolver = _transform_chunks(EDGES, rule_set())
    assert resolver == "fast"
    for old, after in [("tf.layers.Layer", "tf.compat.v1.layers.Layer"), ("tf.log(x)", "tf.math.log(x)"),
                       ("reduction_indices=[1]", "axis=[1]"), ("tf.to_float(a)", "tf.cast(a, tf.float32)"),
                       ("keep_dims=keep_dims", "keepdims=keep_dims"),
                       ("\tcell = rnn.BasicLSTMCell(3)", "\tcell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(3)"),
                       ("tf.contrib.seq2seq.sequence_loss(", "seq2seq.sequence_loss(")]:
        assert old in EDGES and after in new, old
    assert "from tensorflow.contrib import rnn" not in new
    assert "from tf_migrate_runtime.contrib import seq2seq\n" in new
    # Findings are in source coordinates, although the added imports moved the lines below them.
    experiment = next(f for f in findings if "Experiment" in f.message)
    line = EDGES.splitlines().index("        return rnn.GRUCell(4), tf.contrib.learn.Experiment")
    assert new.count("\n") > EDGES.count("\n") and experiment.line == line + 1
    assert EDGES.splitlines()[experiment.line - 1][experiment.column - 1:].startswith("tf.contrib.learn.Experiment")


def test_module_scope_follows_pass_1():
    new, _, resolver = _transform_chunks(SCOPES, rule_set())  # the chunked path, not a fallback
    assert resolver == "fast" and (new, _) == whole(SCOPES)[:2]
    # g1, g2, g6, g8 are module-level aliases for pass 1 (their definitions are rewritten, their uses
    # stay); g3, g4, g5, g7 and opt are not, and all definitions are rewritten as references.
    assert "(g1, g2, g3, g4, g5, g6, g7, g8)] + [opt.AdamOptimizer(1), sess()]" in new
    for line in ["    g1 = tf.compat.v1.gfile", "    opt = tf.train", "    g7 = tf.compat.v1.gfile",
                 "        b = await tf.math.log(a)", "            return tf.cast(rest, tf.float32)"]:
        assert line in new, line


def test_text_that_looks_like_a_marker_falls_back_to_the_whole_file():
    source = EDGES.replace('"""No TF in here."""', f'"""\n{chunks.MARK}0\n"""')
    assert transform_source(source) == whole(source)


@pytest.mark.parametrize("source", [
    "import tensorflow as tf\ndef f():\n    import tensorflow.contrib.slim as slim\n    return slim\n",
    "from tensorflow import *\nx = placeholder(1)\n",
    "import tensorflow as tf\ndef f(tf):\n    return tf.log(1)\nx = tf.log(2)\n",
    "import tensorflow as tf\ntry:\n    from numpy import *\nexcept ImportError:\n    pass\nx = tf.log(2)\n",
], ids=["nested-import", "star-import", "shadowed", "nested-star-import"])
def test_files_the_planner_declines_still_get_the_same_result(source):
    assert transform_source(source) == whole(source)


@pytest.mark.parametrize("name", ["edges", "scopes", "sample"])
def test_call_spans_from_the_file_parse_match_the_synthetic_module(name):
    """`Plan.calls` (the file's own `ast`, moved) is what parsing the synthetic module would give."""
    plan = chunks.plan(sources()[name])
    calls = [n for n in ast.walk(ast.parse(plan.source)) if isinstance(n, ast.Call)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))

    def spans(cs):
        return [(c.lineno, c.col_offset, c.end_lineno, c.end_col_offset, c.func.lineno, c.func.col_offset)
                for c in cs]

    assert len(calls) >= 5 and spans(plan.calls()) == spans(calls)


def test_import_passes_restore_libcst_and_run_restores_the_collector(tmp_path):
    scans = [getattr(matcher_visitors, n) for n in ("_gather_constructed_visit_funcs",
                                                      "_gather_constructed_leave_funcs", "_gather_matchers")]
    threshold = gc.get_threshold()
    (tmp_path / "m.py").write_text(EDGES)
    report = codemod.run([tmp_path], mode="diff", jobs=1)
    assert "+from tf_migrate_runtime.contrib import seq2seq" in report.results[0].diff  # the import was added
    assert [getattr(matcher_visitors, n) for n in ("_gather_constructed_visit_funcs",
                                                     "_gather_constructed_leave_funcs", "_gather_matchers")] == scans
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == 0
