"""What the codemod writes exists, valid TF 2 code never changes, the docs and rule list come from the rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.cli import main
from migrate.codemod import docs, transform_source
from migrate.codemod.engine import _transform_chunks, _transform_module
from migrate.codemod.rules import RULES, rule_set, select_rules
from migrate.codemod.tables import (
    CONTRIB_MODULES,
    CONTRIB_RENAMES,
    CONTRIB_REORDERS,
    OVERRIDES,
    PRIVATE_RENAMES,
    private_modules,
    tables,
)
from migrate.codemod.transform import TF2Codemod, TF2ScopeCodemod

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def test_docs_page_is_generated_from_the_rules():
    assert docs.PAGE.read_text(encoding="utf-8") == docs.render(), "run `python -m migrate.codemod.docs`"
    for rule in RULES.values():
        assert f"### {rule.code} `{rule.name}`" in docs.render()


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rule_example_is_what_the_codemod_does(code):
    rule = RULES[code]
    assert rule.before and rule.why and transform_source(rule.before, select_rules(extend=code))[0] == rule.after


def test_list_rules(capsys):
    assert main(["codemod", "--list-rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == sorted(RULES)
    assert out[6].startswith("TFM007  graph-mode") and out[6].endswith("(opt-in)")


# -- every target resolves ------------------------------------------------------------------------
def _written_names() -> dict[str, tuple[str, str | None]]:
    """Every TF 1 name the tables know -> (the name written, the module imported for it)."""
    t = tables()
    names = [n for n in t.renames if n.startswith("tf.")] + list(OVERRIDES) + list(t.successors)
    names += [f"{prefix}.{member.rsplit('.', 1)[1]}" for prefix, targets in CONTRIB_MODULES.items()
              for member in t.slim if member.startswith(targets[0] + ".") and member.count(".") == targets[0].count(".") + 1]
    names += list(CONTRIB_RENAMES) + ["tf.contrib.framework.python.ops.add_arg_scope",
                                      "tf.contrib.slim.python.slim.nets.inception_v3.inception_v3_base",
                                      "tf.contrib.rnn.python.ops.core_rnn.static_bidirectional_rnn",
                                      "tf.contrib.rnn.python.ops.core_rnn_cell.GRUCell"]
    names += ["tf.contrib.slim.python.slim.data.tfexample_decoder", "tf.contrib.slim.nets.vgg",
              "tf.contrib.layers.python.layers.layers.conv2d", "tf.contrib.learn.ModeKeys.TRAIN"]
    out = {}
    for name in names:
        res = t.resolve(name)
        if res.target is not None:
            out[name] = (res.target, res.module)
    return out


# One child process (one TensorFlow import) answers both questions about the installed TF 2.21: which of the
# private-module statements import (first, on a fresh `import tensorflow`, as a user's file would), then
# whether every target the tables write resolves. The statements import only `tensorflow.python.*` and
# `tensorflow.core.*` modules, and no written target starts with `tf.python.` or `tf.core.`, so the first part
# cannot make a target of the second resolve.
INSTALLED = r'''
import importlib, json, os, sys
asked = json.load(sys.stdin)
import tensorflow
private = {}
for s in asked["private"]:
    try:
        exec(s, {})
        private[s] = True
    except ImportError:
        private[s] = False
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf, tf_slim
bad = {}
for name, (target, module) in asked["written"].items():
    try:
        if target.startswith("tf."):
            obj, parts = tf, target.split(".")[1:]
        elif module and "." in module:   # from package import module: written as module.rest
            obj, parts = importlib.import_module(module), target[len(module):].split(".")[1:]
        else:                           # import tf_slim: written in full
            obj, parts = importlib.import_module(target.split(".")[0]), target.split(".")[1:]
        for p in parts:
            obj = getattr(obj, p)
    except Exception as e:
        bad[name] = f"{target}: {type(e).__name__}: {e}"
print(json.dumps({"private": private, "bad": bad}))
'''


@pytest.fixture(scope="module")
def installed():
    """{"written": the names -> (target, module), "private": statement -> imports, "bad": unresolved targets}."""
    written = _written_names()
    assert not [t for t, _ in written.values() if t.startswith(("tf.python.", "tf.core."))]
    asked = {"private": [s for s, _ in PRIVATE_IMPORTS], "written": written}
    proc = subprocess.run([sys.executable, "-c", INSTALLED], input=json.dumps(asked), capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"written": written, **json.loads(proc.stdout.strip().splitlines()[-1])}


@pytest.mark.slow
def test_every_target_of_the_whole_table_resolves_by_import_and_getattr(installed):
    """tf_upgrade_v2's 1,100 entries, our overrides, contrib module moves (tf_slim listed by attribute) and
    the runtime package's successors: each target the codemod would write is imported and getattr'd."""
    assert len(installed["written"]) > 1200
    assert installed["bad"] == {}


def test_an_unresolvable_target_is_a_finding_on_every_run():
    src = "import tensorflow as tf\nact = tf.contrib.layers.summaries.summarize_activation\n"
    for _ in range(2):
        out, findings, _ = transform_source(src)
        assert out == src
        assert [(f.line, f.column, f.rule) for f in findings] == [(2, 7, "TFM003")]
        src = out


# -- valid TF 2 code never changes ----------------------------------------------------------------
def _tf2_sources(step: int) -> list[Path]:
    roots = [SITE / "keras" / "src", SITE / "tf_keras"]
    files = sorted(p for root in roots for p in root.rglob("*.py") if "tensorflow" in p.read_text(errors="ignore"))
    return files[::step]


@pytest.mark.slow
def test_keras_and_tf_keras_sources_come_back_unchanged():
    """Real TF 2 code (Keras 3's TF backend, tf_keras), every 6th file that mentions tensorflow (95 files),
    comes back unchanged but for tf.where (TFM008)."""
    files = _tf2_sources(6)
    assert len(files) > 90
    changed = []
    for p in files:
        text = p.read_text(encoding="utf-8")
        out, _, _ = transform_source(text)
        if _but_where(out) != _but_where(text):
            changed.append(str(p))
    assert changed == []


def _but_where(text: str) -> str:
    """The text with TFM008's one rewrite in every file undone: `tf.where(c, x, y)` keeps TF 1's meaning
    (tf.compat.v1.where) wherever its operands are not provably of one shape, TF 2 code included."""
    return text.replace("tf.compat.v1.where(", "tf.where(")


@pytest.mark.parametrize("name", ["tf_keras/src/layers/rnn/lstm.py", "tf_keras/src/engine/training.py",
                                  "tf_keras/src/backend.py", "keras/src/backend/tensorflow/core.py"])
def test_chunked_path_equals_the_full_path_on_real_files(name):
    """The chunked fast path is an optimisation: same output and findings as parsing the whole file.

    `transform_source` is these two chunked passes (the rerun kept when the first saw ambiguous names and no
    TF 1 evidence, `engine._transform`), so the file coming back unchanged is checked on the pass it keeps
    rather than by running both again; `test_keras_and_tf_keras_sources_come_back_unchanged` checks
    `transform_source` itself on real files."""
    text = (SITE / name).read_text(encoding="utf-8")
    passes = {}
    for assume_tf1 in (True, False):  # the first pass, and the rerun for TF 2 code
        flags: list[bool] = []
        fast = _transform_chunks(text, rule_set(), assume_tf1=assume_tf1, flags=flags)
        whole = _transform_module(text, rule_set(), (TF2Codemod, TF2ScopeCodemod), assume_tf1=assume_tf1)
        assert fast[:2] == whole[:2]
        passes[assume_tf1] = fast[0], flags
    out, (ambiguous, evidence) = passes[True]
    kept = passes[False][0] if ambiguous and not evidence else out
    assert _but_where(kept) == _but_where(text)


def test_codemod_output_is_a_fixed_point_on_the_sample():
    src = (ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text()
    rules = select_rules(extend="TFM007")
    once, findings, _ = transform_source(src, rules)
    twice, again, _ = transform_source(once, rules)
    assert once != src and twice == once
    assert [f.rule for f in again] == [f.rule for f in findings]


# -- private modules (tf_private_modules.json) ----------------------------------------------------
PRIVATE_IMPORTS = [  # (statement, whether TF 2.21 can import it: what the table must say)
    ("from tensorflow.python.estimator.util import fn_args", False),
    ("import tensorflow.python.estimator.estimator as estimator_lib", False),
    ("from tensorflow.python.ops.rnn_cell_impl import _linear", False),
    ("from tensorflow.python.ops.rnn_cell_impl import LSTMCell", True),
    ("from tensorflow.python.ops import lookup_ops", True),
    ("from tensorflow.python.platform import tf_logging as logging", True),
    ("from tensorflow.python.util.function_utils import fn_args", True),
    ("from tensorflow.core.protobuf import config_pb2", True),
    ("from tensorflow.python import pywrap_tensorflow", True),
    ("import tensorflow.python.ops.lookup_ops", True),
    ("from tensorflow.python.framework import ops, tensor_util", True),
    ("from tensorflow.python.training import queue_runner_impl", True),
    ("from tensorflow.python.ops import variables", True),
    ("from tensorflow.python.training import training_ops", False),
    ("from tensorflow.python.ops import gen_training_ops", True),
]


@pytest.mark.parametrize("statement, importable", PRIVATE_IMPORTS, ids=[s for s, _ in PRIVATE_IMPORTS])
def test_an_import_of_a_private_module_tf_lacks_is_a_finding(statement, importable):
    src = f"import tensorflow as tf\n{statement}\nx = tf.log(y)\n"
    out, findings, _ = transform_source(src)
    assert out == src.replace("tf.log", "tf.math.log")
    assert [(f.line, f.rule) for f in findings] == ([] if importable else [(2, "TFM004")])


def test_a_private_module_tf_moved_names_its_new_home():
    (finding,) = transform_source("from tensorflow.python.training import training_ops\n")[1]
    assert "`from tensorflow.python.ops import gen_training_ops as training_ops`" in finding.message


def test_a_missing_private_name_is_traced_to_where_it_is_defined_now():
    _, findings, _ = transform_source("from tensorflow.python.estimator.util import fn_args\n")
    (finding,) = findings
    assert finding.message.startswith("`tensorflow.python.estimator.util` does not exist in TensorFlow 2.21")
    assert "tf.estimator (and the `tensorflow_estimator` package) is gone since TF 2.16" in finding.message
    assert "`fn_args` is defined in `tensorflow.python.util.function_utils`" in finding.message


@pytest.mark.slow
def test_the_private_module_table_says_what_tensorflow_imports(installed):
    """Each statement above, run on the installed TF 2.21: it imports exactly when the table says so."""
    assert installed["private"] == dict(PRIVATE_IMPORTS)


# -- tf.contrib names TF 2.21 has under another name (CONTRIB_RENAMES, CONTRIB_REORDERS) -------------
def test_contrib_renames_name_existing_targets_and_reorders_name_their_parameters():
    t = tables()
    for old, new in CONTRIB_RENAMES.items():
        assert not t.exists(old) and t.exists(new), old
        assert t.resolve(old).target == new
    assert set(CONTRIB_REORDERS) <= set(CONTRIB_RENAMES)
    for old, order in CONTRIB_REORDERS.items():  # every TF 1 parameter is a keyword of the TF 2 target
        assert order[:2] == ["predictions", "labels"] and len(set(order)) == len(order), old


METRICS = """import tensorflow as tf
tf.compat.v1.disable_eager_execution()
p = tf.constant([True, True, False, False])
l = tf.constant([True, False, True, True])
prec, prec_up = tf.contrib.metrics.streaming_precision(p, l)
rec, rec_up = tf.contrib.metrics.streaming_recall(p, l, None)
err, err_up = tf.contrib.metrics.streaming_mean_relative_error([2.0, 4.0], [1.0, 2.0], [1.0, 4.0])
mean, mean_up = tf.contrib.metrics.streaming_mean([1.0, 2.0, 6.0], [1.0, 1.0, 0.0])
table = tf.contrib.lookup.HashTable(tf.contrib.lookup.KeyValueTensorInitializer(["a", "b"], [1, 2]), -1)
looked = table.lookup(tf.constant(["b", "z"]))
with tf.compat.v1.Session() as sess:
    sess.run([tf.compat.v1.local_variables_initializer(), tf.compat.v1.tables_initializer()])
    sess.run([prec_up, rec_up, err_up, mean_up])
    print([round(float(v), 4) for v in sess.run([prec, rec, err, mean])] + [int(v) for v in sess.run(looked)])
"""


@pytest.mark.slow
def test_renamed_contrib_metrics_and_tables_keep_their_tf1_meaning(rewritten_runs):
    """The rewritten calls run on TF 2.21 with TF 1.15's contrib results: precision(predictions=[1,1,0,0],
    labels=[1,0,1,1]) is 1/2 (1/3 had the positional order not been kept), recall 1/3, the relative error
    mean(|p - l| / normalizer) = (1/1 + 2/4) / 2, the weighted mean 1.5, the hash table's default -1."""
    out, findings, printed = rewritten_runs["metrics"]
    assert findings == [] and "contrib" not in out
    assert "precision(predictions=p, labels=l)" in out
    assert printed.strip().splitlines()[-1] == "[0.5, 0.3333, 0.75, 1.5, 2, -1]"


def test_a_renamed_private_name_is_imported_under_its_old_name():
    t = private_modules()
    for old, new in PRIVATE_RENAMES.items():
        module = old.rpartition(".")[0]
        assert not t.exists(old) and t.exists(f"{module}.{new}")
    src = "from tensorflow.python.util.nest import is_sequence, flatten\nok = is_sequence([1])\n"
    out, findings, _ = transform_source(src)
    assert out == src.replace("import is_sequence,", "import is_nested as is_sequence,")
    assert findings == []


MOVED_IMPORTS = """import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
from tensorflow.contrib.framework.python.ops import add_arg_scope
from tensorflow.contrib.framework.python.ops import arg_scope as arg_scope_lib
from tensorflow.contrib.slim.python.slim.nets.inception_v3 import inception_v3_base
from tensorflow.contrib.rnn.python.ops import core_rnn_cell
from tensorflow.contrib.rnn.python.ops.core_rnn import static_rnn, static_bidirectional_rnn
from tensorflow.python.util.nest import is_sequence
from tensorflow.python.util import nest
print(add_arg_scope.__module__, arg_scope_lib.__name__, inception_v3_base.__module__, static_rnn.__name__,
      static_bidirectional_rnn.__name__, core_rnn_cell.GRUCell.__name__, is_sequence([1]), is_sequence(1),
      nest.is_sequence((1,)))
"""


# The two rewritten programs above run one after the other in one child process (one TensorFlow import):
# the moved imports first (their TF_USE_LEGACY_KERAS is set before TensorFlow is imported, as in their own
# process), then the metrics program, whose graph-mode session results do not depend on what was imported.
RUN_PROGRAMS = r'''
import json, sys
for name, source in json.load(sys.stdin):
    print(f"=== {name}", flush=True)
    exec(compile(source, f"<rewritten {name}>", "exec"), {"__name__": "__main__"})
    sys.stdout.flush()
'''


@pytest.fixture(scope="module")
def rewritten_runs():
    """name -> (the codemod's output, its findings, what the output printed when run on TF 2.21)."""
    rewritten = {name: transform_source(src)[:2] for name, src in (("moved", MOVED_IMPORTS), ("metrics", METRICS))}
    proc = subprocess.run([sys.executable, "-c", RUN_PROGRAMS], input=json.dumps([(n, out) for n, (out, _) in
                          rewritten.items()]), capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = dict(part.split("\n", 1) for part in proc.stdout.split("=== ")[1:])
    return {name: (out, findings, printed[name]) for name, (out, findings) in rewritten.items()}


@pytest.mark.slow
def test_moved_contrib_and_private_imports_import_on_tf_2_21(rewritten_runs):
    out, findings, printed = rewritten_runs["moved"]
    assert "contrib" not in out and [f.rule for f in findings] == []
    assert printed.split() == ["tf_slim.ops.arg_scope", "tf_slim.ops.arg_scope", "tf_slim.nets.inception_v3",
                               "static_rnn", "static_bidirectional_rnn", "GRUCell", "True", "False", "True"]
