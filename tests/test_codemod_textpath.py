"""The text path (`migrate/codemod/textpath.py`) gives byte-identical output and the same findings (rule,
line, column, message) as the libcst-only pass, which `TF_MIGRATE_CODEMOD_TEXT=0` forces: on every rule
fixture, the golden files, the sample model, issue 23's dense blocks and edge cases of its own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from migrate.codemod import chunks, textpath, transform_source
from migrate.codemod.engine import _text_planner
from migrate.codemod.rules import rule_set

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "codemod_fixtures"
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_codemod_bigfile import DENSE_BLOCK, dense  # noqa: E402

EDGES = '''\
import os
import tensorflow as tf


def f(x, keep_prob):
    a = tf.log(x)  # a rename
    b = tf.get_variable("w", [3, 3],
                        initializer=tf.truncated_normal_initializer(stddev=0.1))  # realigned
    c = tf.layers.dense(tf.matmul(a, b),
                        10,
                        # a comment line stays where it is
                        name="d")
    d = (tf.log)(x)  # parenthesized: libcst decides
    e = tf . log(x)  # spaces in the name: libcst
    g = tf.reduce_sum(x, 1, keep_dims=True)  # an argument change: libcst
    h = tf.nn.dropout(x, keep_prob)
    s = """a string
over lines""" + str(tf.log(x))
    t = tf.Session()
    u = lambda y: tf.log(y)
    with tf.variable_scope("v"):
        w = tf.placeholder(tf.float32, [None,
                                        3])
    for tf_x in [tf.log(x)]:
        pass
    return tf.layers.dense(x, 3,
        name="hanging")


k = tf.contrib.layers.xavier_initializer()
m = tf.to_float(k)
n = tf.to_float(k, name="n")  # a name: libcst
o = tf.to_float(k,)
p = tf.nn.dropout(k, keep_prob = 0.5 + k)
q = tf.nn.dropout(k, -0.5, None, 3)
r = tf.nn.dropout(k, (m))  # parenthesized: libcst
v = tf.summary.scalar("v", tf.nn.dropout(m, keep_prob=k[0]))
x = tf.nn.dropout(m, 0.5, name="x")
'''

# TF 2 code but for names whose TF 1 meaning differs (a rerun with assume_tf1=False reports them)
TF2_FILE = '''\
import tensorflow as tf


def g(h, keep_prob):
    a = tf.nn.dropout(h, keep_prob)
    tf.summary.scalar("a", tf.reduce_mean(a))
    return tf.math.log(a)
'''


def _cases():
    out = [pytest.param(p.read_text(), id=p.name.split(".")[0]) for p in sorted(FIXTURES.glob("*.before.py.txt"))]
    out.append(pytest.param((ROOT / "tests" / "codemod_golden" / "dense.before.py.txt").read_text(), id="golden-dense"))
    out.append(pytest.param((ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text(),
                            id="sample-model"))
    out.append(pytest.param(dense(200), id="dense-blocks"))
    out.append(pytest.param(EDGES, id="edges"))
    out.append(pytest.param(EDGES.replace("import tensorflow as tf", "import tensorflow.compat.v1 as tf"), id="compat-v1"))
    out.append(pytest.param(EDGES.replace("\n", "\r\n"), id="crlf"))
    out.append(pytest.param(TF2_FILE, id="tf2-file"))
    out.append(pytest.param(TF2_FILE.replace("tf.math.log", "tf.log"), id="tf1-by-one-name"))
    return out


def _both(source: str, monkeypatch) -> tuple[tuple, tuple]:
    rules = rule_set(None)
    monkeypatch.setenv(textpath.ENV, "0")
    off = transform_source(source, rules)
    monkeypatch.setenv(textpath.ENV, "1")
    on = transform_source(source, rules)
    return on, off


@pytest.mark.parametrize("source", _cases())
def test_text_path_matches_the_libcst_pass(source, monkeypatch):
    (new_on, findings_on, resolver_on), (new_off, findings_off, resolver_off) = _both(source, monkeypatch)
    assert new_on == new_off
    assert findings_on == findings_off
    assert resolver_on == resolver_off


def test_text_path_takes_the_plain_renames_and_leaves_the_rest():
    rules = rule_set(None)
    plan = chunks.plan(EDGES, None, rules.words, text=_text_planner(rules))
    lines = EDGES.splitlines()
    texted = {lines[p.start - 1].strip().split(" ")[0] for p in plan.text}
    libcst = {lines[ln - 1].strip().split(" ")[0] for c in plan.chunks for ln in range(c.start, c.end + 1)}
    assert {"a", "b", "c", "t", "with", "w", "for"} <= texted
    assert {"d", "e", "g", "s", "u", "k", "n", "o", "r"} <= libcst  # k: contrib, an import of its own
    # the realigned continuation lines (callee 12 characters longer: tf.compat.v1.get_variable)
    assert plan.edited[7] == " " * 34 + "initializer=tf.compat.v1.truncated_normal_initializer(stddev=0.1))  # realigned\n"
    assert plan.edited[10] == "                        # a comment line stays where it is\n"


def test_dense_block_statements_mostly_skip_libcst():
    rules = rule_set(None)
    source = dense(1400)
    plan = chunks.plan(source, None, rules.words, text=_text_planner(rules))
    blocks = source.count("def block_")
    assert blocks == -(-1397 // DENSE_BLOCK.count("\n"))
    # every statement of the block: with, w, h, h (dropout), logits, loss, summary.scalar, penalty
    assert len(plan.text) == 8 * blocks
    assert plan.chunks == []


def test_switch_turns_it_off(monkeypatch):
    monkeypatch.setenv(textpath.ENV, "0")
    assert not textpath.enabled()
    monkeypatch.setenv(textpath.ENV, "1")
    assert textpath.enabled()
