"""TFM010 graph-tests: TF 1 test classes run each test in TF 1's graph mode, and nothing else does.

A `tf.test.TestCase` class of a module that uses graph-only test APIs (`self.test_session()`,
`self.session()`, placeholders, `tf.gradients`, `tf.Session`, `make_initializable_iterator`) gets the
class decorator `tf_migrate_runtime.testing.tf1_graph_mode`: each of its tests (setUp, the test,
tearDown) runs in graph mode with TF 1's variables, control flow and shapes, and the process is put back
afterwards, so the other test modules of the same pytest run keep TF 2's behaviour (which
`--graph-mode`'s process-wide `disable_v2_behavior()` cannot promise). Cases: see `RULE.cases`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import libcst as cst

from migrate.codemod.modes import mode_choice
from migrate.codemod.rules import Rule
from migrate.codemod.shared import in_comment_or_string

DECORATOR = "tf_migrate_runtime.testing.tf1_graph_mode"
DECORATOR_MODULE = "tf_migrate_runtime.testing"
# Base classes that make a class a TF test case (canonical spellings).
TEST_CASES: frozenset[str] = frozenset({"tf.test.TestCase", "tf.compat.v1.test.TestCase"})
# ... and the test cases of unittest / absl that TF 1 projects' tests derive from (as spelled; their run()
# is what the decorator wraps too).
OTHER_TEST_CASES: frozenset[str] = frozenset({"unittest.TestCase", "absltest.TestCase", "parameterized.TestCase",
                                              "googletest.TestCase"})
# References that only work in graph mode: their TF 1 spelling and their tf.compat.v1 one (TF 2.21's
# test_util.py: test_session() / session() yield None or a warner in eager mode; gradients_impl.py:
# tf.gradients raises; placeholders and Session cannot be used eagerly).
_GRAPH_ONLY = ("placeholder", "placeholder_with_default", "Session", "InteractiveSession", "gradients",
               "data.make_initializable_iterator")
GRAPH_ONLY_NAMES: frozenset[str] = frozenset(f"tf.{n}" for n in _GRAPH_ONLY) | frozenset(
    f"tf.compat.v1.{n}" for n in _GRAPH_ONLY)
# Method calls that only work in graph mode (`self.cached_session()` works eagerly: not listed).
GRAPH_ONLY_METHODS = re.compile(r"\bself\.(test_session|session)\s*\(|\.(make_initializable_iterator)\s*\(")
# Class decorators that already choose graph mode (TF's test_util, or ours): the class is left alone.
GRAPH_DECORATORS: frozenset[str] = frozenset({
    "tf1_graph_mode", "run_deprecated_v1", "deprecated_graph_mode_only", "run_v1_only",
    "run_all_in_deprecated_graph_mode_only", "run_all_in_graph_and_eager_modes"})
# A module that switches v2 behaviour off itself needs no decorator.
DISABLES = re.compile(r"\b(disable_v2_behavior|disable_eager_execution)\s*\(")


@dataclass
class Seen:
    bases: set[int] = field(default_factory=set)  # ids of references to a TEST_CASES class
    uses: list[str] | None = None                 # the graph-only APIs the module uses (computed once)
    declined: bool = False                        # the module chooses its mode itself (a finding says so)
    decorated: bool = False                       # a class was given the decorator (TFM005 stays silent)


def note_reference(cm, node, final: str) -> None:
    if final in TEST_CASES:
        cm.state["TFM010"].bases.add(id(node))


def graph_only_uses(source: str, bindings: dict[str, str], tables=None) -> list[str]:
    """The graph-only test APIs `source` uses (`self.test_session()`, `tf.placeholder`, ...), sorted;
    with `tables`, also `tf.Graph` when the module builds its own graphs and uses a TF 1-only name
    (`with tf.Graph().as_default(): ... tf.train.AdamOptimizer(...)`: TF 1 test code).

    `bindings`: the module's TF names (local name -> canonical, `tf` -> `tf`)."""
    found = {f"self.{m.group(1)}()" if m.group(1) else f".{m.group(2)}()"
             for m in GRAPH_ONLY_METHODS.finditer(source) if not in_comment_or_string(source, m.start())}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return sorted(found)
    graphs = tf1_only = False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parts, inner = [node.attr], node.value
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and inner.id in bindings:
            name = ".".join([bindings[inner.id], *reversed(parts)])
            if name in GRAPH_ONLY_NAMES:
                found.add(name)
            elif name == "tf.Graph":
                graphs = True
            elif tables is not None and not tf1_only and name.startswith("tf."):
                res = tables.resolve(name)
                tf1_only = res.target is not None and not res.ambiguous
    if graphs and tf1_only:
        found.add("tf.Graph")
    return sorted(found)


def graph_modules_imported(source: str, project: dict[str, str]) -> list[str]:
    """The run's own graph-mode TF 1 modules (`project.graph_modules`: `tflearn`, whose files open Sessions;
    `nmt.inference`) that `source` imports at its top level, as `tflearn (tflearn/helpers/trainer.py:120
    Session)`: `import tflearn`, `from tflearn.layers import x`, or, in a package, `from . import inference`
    (a module of that name in one of the run's packages); empty when `project` is."""
    if not project:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        elif isinstance(node, ast.ImportFrom):  # relative: a sibling module (or one below it)
            tails = [node.module] if node.module else [a.name for a in node.names]
            names = [key for key in project for tail in tails if key.endswith("." + tail)]
        else:
            continue
        found.update(f"{name} ({project[name]})" for name in names if name in project)
    return sorted(found)


def _decorated(node: cst.ClassDef) -> bool:
    for d in node.decorators:
        expr = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        last = expr.attr.value if isinstance(expr, cst.Attribute) else expr.value if isinstance(expr, cst.Name) \
            else None
        if last in GRAPH_DECORATORS:
            return True
    return False


def leave_class(cm, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
    seen = cm.state["TFM010"]
    if not any(id(arg.value) in seen.bases or ".".join(cm.dotted(arg.value) or ()) in OTHER_TEST_CASES
               for arg in original.bases):
        return updated
    if _decorated(original):
        seen.decorated = True  # graph mode chosen already (a second run over our output): no notice either
        return updated
    if DISABLES.search(cm.full_source):
        return updated
    if seen.uses is None:
        seen.uses = graph_only_uses(cm.full_source, cm.bindings.names, cm.tables) \
            or graph_modules_imported(cm.full_source, getattr(cm.rules, "project", {}))
        choice = mode_choice(cm.full_source, cm.bindings.names) if seen.uses else None
        if choice is not None:
            seen.declined = True
            line, column, what = choice
            cm.report_at(line, column, "TFM010", (
                f"the tf.test.TestCase classes of this module use {', '.join(f'`{u}`' for u in seen.uses)} "
                f"(graph mode) but the module chooses between TF 1 and TF 2 itself ({what}): left without "
                f"the @{DECORATOR} decorator; decorate the classes or tests that must run in graph mode"))
    if not seen.uses or seen.declined:
        return updated
    name = cm.import_for(DECORATOR, original, module=DECORATOR_MODULE)
    decorator = cst.Decorator(decorator=cst.parse_expression(name))
    cm.mark_replaced(original)
    cm.evidence = True  # graph-only test APIs: TF 1 code
    seen.decorated = True
    return updated.with_changes(decorators=[decorator, *updated.decorators])


RULE = Rule(
    code="TFM010",
    name="graph-tests",
    summary="tf.test.TestCase classes of a module that uses graph-only test APIs (self.test_session(), "
            "self.session(), placeholders, tf.gradients, tf.Session, make_initializable_iterator) get "
            "@tf_migrate_runtime.testing.tf1_graph_mode: each test runs in TF 1's graph mode, the rest of the "
            "process keeps TF 2's behaviour",
    why="TF 1 test classes build graphs: under TF 2.21's eager default `self.test_session()` yields None, "
        "placeholders fail and tf.gradients raises, although every name exists. "
        "`tf.compat.v1.disable_v2_behavior()` (--graph-mode) switches the whole process, so every module a "
        "pytest run imports after it runs in graph mode too. The decorator (from the runtime package, like "
        "TF's own `test_util.deprecated_graph_mode_only`) runs each test of the class -- setUp, the test, "
        "tearDown -- inside `tf.Graph().as_default()` with TF 1's reference variables, control flow v1, "
        "`Dimension` shapes and identity-hashed tensors, and restores all four after it. A module that "
        "chooses between TF 1 and TF 2 itself (`tf.executing_eagerly()`, `tf.__version__`, ...) is left "
        "alone with a finding, as under --graph-mode.",
    cases=(
        ("a `tf.test.TestCase` subclass in a module that uses a graph-only test API (`TFM010_test_session`, "
         "`TFM010_placeholder`)", "`@testing.tf1_graph_mode` above the class (outermost) and "
         "`from tf_migrate_runtime import testing`"),
        ("a subclass of such a class, or a class whose base is not `tf.test.TestCase` itself",
         "nothing: the decorated base's `run` is inherited"),
        ("a module whose tests use none of those APIs (eager-style TF 2 tests, `self.evaluate`, "
         "`self.cached_session()`)", "nothing"),
        ("a class already decorated with `tf1_graph_mode` or TF's `run_deprecated_v1` / "
         "`deprecated_graph_mode_only` / `run_v1_only`; a module that calls `disable_v2_behavior()` or "
         "`disable_eager_execution()` (`TFM010_disabled`)", "nothing"),
        ("a module that chooses its mode itself: the version or eager probes of TFM007 "
         "(`TFM010_eager_probe`)", "nothing; a finding at the test"),
    ),
    before="import tensorflow as tf\n\n\nclass SquareTest(tf.test.TestCase):\n\n    def test_square(self):\n"
           "        x = tf.placeholder(tf.float32, [2])\n        with self.test_session() as sess:\n"
           "            self.assertAllEqual(sess.run(x * x, {x: [2, 3]}), [4, 9])\n",
    after="import tensorflow as tf\nfrom tf_migrate_runtime import testing\n\n\n@testing.tf1_graph_mode\n"
          "class SquareTest(tf.test.TestCase):\n\n    def test_square(self):\n"
          "        x = tf.compat.v1.placeholder(tf.float32, [2])\n        with self.test_session() as sess:\n"
          "            self.assertAllEqual(sess.run(x * x, {x: [2, 3]}), [4, 9])\n",
    note_reference=note_reference,
    leave_class=leave_class,
    words=frozenset({"TestCase"}),  # unittest.TestCase headers mention no TF name: the fast pass keeps them
    new_state=Seen,
)
