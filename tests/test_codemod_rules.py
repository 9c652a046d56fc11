"""The codemod's rules: before/after fixture pairs, the rename tables, name resolution."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.codemod import transform_source
from migrate.codemod.rules import RULES, select_rules
from migrate.codemod.tables import OVERRIDES, TABLES_PATH, tables

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).with_name("codemod_fixtures")
CASES = sorted(p.name.removesuffix(".before.py.txt") for p in FIXTURES.glob("*.before.py.txt"))


def _rules(name: str) -> frozenset[str]:
    """A fixture is named after its rule (`TFM007_graph_mode`); opt-in rules are switched on for theirs."""
    return select_rules(extend=name[:6]) if not RULES[name[:6]].default else select_rules()


def test_every_fixture_is_named_after_a_rule_and_every_rule_has_one():
    assert CASES and all(name[:6] in RULES and name[6] == "_" for name in CASES)
    assert {name[:6] for name in CASES} == set(RULES)


def _fixture(name: str) -> tuple[str, str, list[str]]:
    before = (FIXTURES / f"{name}.before.py.txt").read_text()
    after = (FIXTURES / f"{name}.after.py.txt").read_text()
    findings = (FIXTURES / f"{name}.findings.txt").read_text().split("\n")
    return before, after, [f for f in findings if f]


@pytest.mark.parametrize("name", CASES)
def test_fixture_pair(name):
    before, after, expected_findings = _fixture(name)
    out, findings, _ = transform_source(before, _rules(name))
    assert out == after
    assert [f"{f.line}:{f.column} {f.rule}" for f in findings] == expected_findings


@pytest.mark.parametrize("name", CASES)
def test_fast_resolver_agrees_with_scope_provider(name):
    before, _, _ = _fixture(name)
    assert transform_source(before, _rules(name))[:2] == transform_source(before, _rules(name), full_scope=True)[:2]


@pytest.mark.parametrize("name", CASES)
def test_second_pass_changes_nothing(name):
    """Idempotent, and the same findings (in source coordinates: the lines the output moved are mapped)."""
    _, after, expected_findings = _fixture(name)
    out, findings, _ = transform_source(after, _rules(name))
    assert out == after
    assert [f.rule for f in findings] == [f.split()[1] for f in expected_findings]


def test_shadowed_names_need_the_scope_resolver():
    before, _, _ = _fixture("TFM001_shadowing")
    assert transform_source(before)[2] == "scope"
    assert transform_source(_fixture("TFM001_rename")[0])[2] == "fast"


@pytest.mark.parametrize("source, expected", [
    ("import tensorflow as tf\nx = tf.log(1.0)\n", "import tensorflow as tf\nx = tf.math.log(1.0)\n"),
    ("import tensorflow as t\nx = t.random_normal([2])\n", "import tensorflow as t\nx = t.random.normal([2])\n"),
    ("import tensorflow.compat.v1 as tf\nx = tf.log(1.0)\n", "import tensorflow.compat.v1 as tf\nx = tf.log(1.0)\n"),
    ("from tensorflow import gfile\nimport tensorflow as tf\nok = gfile.Exists('a')\n",
     "import tensorflow as tf\nok = tf.io.gfile.exists('a')\n"),
    ("import tensorflow.contrib.slim as slim\nnet = slim.conv2d(x, 4, 3)\n",
     "import tf_slim as slim\nnet = slim.conv2d(x, 4, 3)\n"),
    ("import tensorflow as tf\ngfile = tf.gfile\nok = gfile.Exists('a')\n",
     "import tensorflow as tf\ngfile = tf.compat.v1.gfile\nok = gfile.Exists('a')\n"),
    ("import os\nx = os.path.join('a', 'b')  # tensorflow mentioned in a comment only\n",
     "import os\nx = os.path.join('a', 'b')  # tensorflow mentioned in a comment only\n"),
], ids=["import-as-tf", "other-alias", "compat-v1-left-alone", "from-import-module", "contrib-slim",
        "module-alias", "no-tensorflow"])
def test_name_resolution(source, expected):
    assert transform_source(source)[0] == expected


def test_from_import_kept_while_a_use_has_no_successor():
    src = ("from tensorflow.contrib import rnn\nimport tensorflow as tf\n"
           "a = rnn.LSTMCell(4)\nb = rnn.SRUCell(4)\n")
    out, findings, _ = transform_source(src)
    assert out == ("from tensorflow.contrib import rnn\nimport tensorflow as tf\n"
                   "a = tf.compat.v1.nn.rnn_cell.LSTMCell(4)\nb = rnn.SRUCell(4)\n")
    assert [(f.line, f.column, f.rule) for f in findings] == [(1, 1, "TFM004"), (3, 5, "TFM005"), (4, 5, "TFM003")]
    assert "`tensorflow.contrib.rnn` cannot be imported in TensorFlow 2.21" in findings[0].message


def test_contrib_finding_names_file_line_column_and_a_suggestion():
    out, findings, _ = transform_source("import tensorflow as tf\n\nif m == tf.contrib.learn.Experiment:\n  pass\n")
    (f,) = findings
    assert (f.line, f.column, f.rule) == (3, 9, "TFM003")
    assert "tf.contrib.learn.Experiment" in f.message and "tf.estimator is gone" in f.message
    assert f.format("m.py").startswith("m.py:3:9: TFM003 ")


def test_select_and_ignore():
    src = "import tensorflow as tf\ny = tf.reduce_sum(tf.log(x), keep_dims=True)\n"
    assert transform_source(src, rules=select_rules("TFM001"))[0] == \
        "import tensorflow as tf\ny = tf.reduce_sum(tf.math.log(x), keep_dims=True)\n"
    assert transform_source(src, rules=select_rules(None, "rename"))[0] == \
        "import tensorflow as tf\ny = tf.reduce_sum(tf.log(x), keepdims=True)\n"
    with pytest.raises(ValueError, match="unknown rule 'TFM999'; known rules: TFM001 \\(rename\\)"):
        select_rules("TFM999")
    assert set(RULES) == {"TFM001", "TFM002", "TFM003", "TFM004", "TFM005", "TFM006", "TFM007",
                          "TFM008", "TFM009", "TFM010", "TFM011"}
    assert "TFM007" not in select_rules() and "TFM007" in select_rules(extend="graph-mode")


# -- tables ---------------------------------------------------------------------------------------
def test_every_rename_target_exists_in_tf_2_21():
    """What the codemod writes resolves in TF 2.21: each of tf_upgrade_v2's 1,100 table entries."""
    t = tables()
    assert len(t.renames) > 1000
    bad = {}
    for old in t.renames:
        if not old.startswith("tf."):
            continue  # entries keyed on common aliases (`contrib_rnn.X`): we resolve names instead
        res = t.resolve(old)
        if res.target is not None and not t.exists(res.target):
            bad[old] = res.target
    assert bad == {}


@pytest.mark.parametrize("old, new", [
    ("tf.contrib.rnn.LSTMStateTuple", "tf.compat.v1.nn.rnn_cell.LSTMStateTuple"),  # TF's table: tf.nn.rnn_cell.
    ("tf.layers.dense", "tf.compat.v1.layers.dense"),                               # TF 2.21 table: left as is
    ("tf.summary.tensor_summary", "tf.compat.v1.summary.tensor_summary"),           # not in TF 2 (scalar: TFM008)
    ("tf.summary.merge_all", "tf.compat.v1.summary.merge_all"),
    ("tf.log", "tf.math.log"),
    ("tf.contrib.rnn.LSTMCell", "tf.compat.v1.nn.rnn_cell.LSTMCell"),
    ("tf.contrib.slim.arg_scope", "tf_slim.arg_scope"),
    ("tf.contrib.layers.fully_connected", "tf_slim.layers.fully_connected"),
    ("tf.contrib.seq2seq.sequence_loss", "tf_migrate_runtime.contrib.seq2seq.sequence_loss"),
    ("tf.contrib.training.HParams", "tf_migrate_runtime.contrib.training.HParams"),
    ("tf.contrib.learn.ModeKeys.TRAIN", "tf_migrate_runtime.contrib.learn.ModeKeys.TRAIN"),
    ("tf.contrib.slim.python.slim.data.tfexample_decoder", "tf_slim.data.tfexample_decoder"),
])
def test_known_regressions_are_corrected(old, new):
    assert tables().resolve(old).target == new


def test_tf_upgrade_v2_regressions_still_present_in_its_table():
    """If TensorFlow fixes these, the overrides can go: this test says so."""
    raw = tables().renames
    assert raw["tf.contrib.rnn.LSTMStateTuple"] == "tf.nn.rnn_cell.LSTMStateTuple"
    assert not tables().exists("tf.nn.rnn_cell.LSTMStateTuple")
    assert "tf.layers.dense" not in raw and "tf.summary.scalar" not in raw
    assert all(tables().exists(target) for target in OVERRIDES.values())


@pytest.mark.slow
def test_shipped_tables_match_the_installed_tensorflow():
    """Fails loudly when tensorflow/tools/compatibility or the TF API moves: regenerate and review."""
    proc = subprocess.run([sys.executable, "-m", "migrate.codemod.generate_tables", "--check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(TABLES_PATH.read_text())
    assert data["tensorflow_version"].startswith("2.21")


@pytest.mark.parametrize("source, expected", [
    ("import tensorflow as tf\nw = tf.get_variable('w', [3],\n                    initializer=None)\n",
     "import tensorflow as tf\nw = tf.compat.v1.get_variable('w', [3],\n"
     "                              initializer=None)\n"),
    ("import tensorflow as tf\ny = tf.log(a +\n           b)\n", "import tensorflow as tf\ny = tf.math.log(a +\n"
     "                b)\n"),
    ("import tensorflow as tf\ny = tf.to_float(\n    x)\n", "import tensorflow as tf\ny = tf.cast(\n"
     "    x, tf.float32)\n"),  # a hanging indent is not aligned to the paren: left alone
    ("import tensorflow as tf\ndef f():\n    return tf.log(a,\n                  b)\n",
     "import tensorflow as tf\ndef f():\n    return tf.math.log(a,\n                       b)\n"),
], ids=["visual-indent", "inside-an-operation", "hanging-indent", "in-a-block"])
def test_continuation_lines_stay_aligned(source, expected):
    assert transform_source(source)[0] == expected


def test_only_edited_lines_differ_on_the_sample():
    """Comments, blank lines and formatting elsewhere are byte-identical (the demo's sample file)."""
    import difflib

    src = (ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text()
    out = transform_source(src)[0]
    old, new = src.splitlines(keepends=True), out.splitlines(keepends=True)
    changed = [old[i] for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new).get_opcodes()
               if tag in ("replace", "delete") for i in range(i1, i2)]
    assert changed and all("tf." in line or line.strip().startswith(("initializer=", "sequence_length=", "dtype=",
                                                                     "initial_state=", "reduction_indices="))
                           for line in changed), changed
    assert sum(a == b for a, b in zip(old, new, strict=False)) < len(old)
    assert [ln for ln in old if ln.lstrip().startswith("#")] == [ln for ln in new if ln.lstrip().startswith("#")]


STRUCTURES = '''\
import tensorflow as tf
import functools


@functools.lru_cache()
def f(x, y=len("a")):
    a = 1; b = tf.log(x); c = max(a, b)
    if x: d = tf.to_float(y); e = 2
    elif y:
        pass
    else:
        if a:
            g = tf.random_normal([2])
    try:
        h = int("3")
    except ValueError as err:
        h = tf.placeholder(tf.float32)
    else:
        h = 4
    finally:
        i = [tf.log(v) for v in range(3)]
    for j in range(2):
        k = j
    else:
        k = tf.Session
    while False:
        pass
    with open(__file__) as fh:
        m = fh.read() if tf.log else None
    match x:
        case {"k": [1, *rest]}:
            n = tf.log(rest)
        case _:
            n = print(max(1, 2), min(3, 4))
    return lambda q: tf.log(q)


class C(object):
    z = tf.random_uniform([1])
'''


def test_statement_skipping_keeps_every_structure():
    """Python's `ast` and libcst statements pair up through every compound form (prune.py)."""
    import libcst as cst

    from migrate.codemod.prune import skippable

    module = cst.parse_module(STRUCTURES)
    skipped = skippable(module, STRUCTURES, frozenset({"tf"}))
    assert len(skipped) >= 6  # e.g. `import functools`, `h = int("3")`, the while loop, `case _:` body
    fast, findings, resolver = transform_source(STRUCTURES)
    assert resolver == "fast"
    assert (fast, findings) == transform_source(STRUCTURES, full_scope=True)[:2]
    for old, new in [("tf.log(x)", "tf.math.log(x)"), ("tf.to_float(y)", "tf.cast(y, tf.float32)"),
                     ("tf.random_normal", "tf.random.normal"), ("tf.placeholder", "tf.compat.v1.placeholder"),
                     ("tf.log(v)", "tf.math.log(v)"), ("k = tf.Session", "k = tf.compat.v1.Session"),
                     ("if tf.log else", "if tf.math.log else"), ("tf.log(rest)", "tf.math.log(rest)"),
                     ("lambda q: tf.log(q)", "lambda q: tf.math.log(q)"), ("tf.random_uniform", "tf.random.uniform")]:
        assert old in STRUCTURES and new in fast and old not in fast, old
    assert fast.count("\n") == STRUCTURES.count("\n")


def test_a_new_rule_is_one_object_whose_hooks_the_engine_calls(monkeypatch):
    """Adding a rule needs no engine change: its hooks (call rewrite, observation, module end, state) run."""
    from migrate.codemod.rules import Rule  # noqa: PLC0415

    def leave_call(cm, original, call, name):  # tf.add(a, b) -> tf.add(b, a): visible in the output
        if name == "tf.add" and len(call.args) == 2:
            a, b = call.args
            return call.with_changes(args=[b.with_changes(comma=a.comma), a.with_changes(comma=b.comma)])
        return call

    def note_call(cm, original, name):
        cm.state["TFM998"].append(name)

    def leave_module(cm, original):
        cm.report(original.body[-1], "TFM998", f"{len(cm.state['TFM998'])} TF calls")

    monkeypatch.setitem(RULES, "TFM998", Rule("TFM998", "demo", "a test rule", default=False, leave_call=leave_call,
                                              note_call=note_call, leave_module=leave_module, new_state=list))
    src = "import tensorflow as tf\n\nx = tf.add(1, 2)\ny = tf.log(tf.add(x, 3))\n"
    new, findings, _ = transform_source(src, rules=select_rules(extend="TFM998"))
    assert new == "import tensorflow as tf\n\nx = tf.add(2, 1)\ny = tf.math.log(tf.add(3, x))\n"
    assert [(f.line, f.column, f.rule, f.message) for f in findings] == [(4, 1, "TFM998", "3 TF calls")]
    new, findings, _ = transform_source(src)  # not selected: no rewrite, no finding
    assert new == src.replace("tf.log", "tf.math.log") and findings == []
