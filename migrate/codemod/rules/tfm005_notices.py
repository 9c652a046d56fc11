"""TFM005 notices: findings only (legacy Keras, graph mode)."""

import re
from dataclasses import dataclass

from migrate.codemod.modes import setup_statement
from migrate.codemod.rules import Rule
from migrate.codemod.shared import in_comment_or_string

# Targets that only work with legacy Keras under TF 2.16+ (tf_keras + TF_USE_LEGACY_KERAS=1).
LEGACY_KERAS_PREFIXES: tuple[str, ...] = ("tf.compat.v1.layers", "tf.compat.v1.nn.rnn_cell")
# The notice is silent once the file mentions this (the env line it asks for).
LEGACY_KERAS_SWITCH = "TF_USE_LEGACY_KERAS"
# References that mean "this script is built around graph mode / Session".
GRAPH_MODE_NAMES: frozenset[str] = frozenset({
    "tf.compat.v1.Session", "tf.compat.v1.InteractiveSession", "tf.compat.v1.placeholder",
    "tf.compat.v1.placeholder_with_default",
})
# ... unless the file already does one of these.
GRAPH_MODE_SETUP: frozenset[str] = frozenset({
    "tf.compat.v1.disable_eager_execution", "tf.compat.v1.disable_v2_behavior", "tf.Graph",
})

# A test module (a subclass of one of these) that uses one of the graph-only APIs below needs graph mode:
# under TF 2's eager default `self.test_session()` yields None (`sess.run` fails), `tf.gradients` raises,
# placeholders cannot be created, and a Dataset has no `make_initializable_iterator` (TF 2.21's
# tensorflow/python/framework/test_util.py and ops/gradients_impl.py).
TEST_CASES: frozenset[str] = frozenset({"tf.test.TestCase", "tf.compat.v1.test.TestCase"})
TEST_GRAPH_ONLY_NAMES: frozenset[str] = frozenset({
    "tf.gradients", "tf.compat.v1.gradients", "tf.compat.v1.placeholder", "tf.compat.v1.placeholder_with_default",
    "tf.compat.v1.data.make_initializable_iterator",
})
TEST_GRAPH_ONLY_CALLS = re.compile(r"\bself\.(test_session)\s*\(|\.(make_initializable_iterator)\s*\(")

LEGACY_KERAS_MESSAGE = (
    "tf.compat.v1.layers / tf.compat.v1.nn.rnn_cell need legacy Keras under TF 2.16+: install tf_keras and "
    "set TF_USE_LEGACY_KERAS=1 before the first use (e.g. os.environ.setdefault('TF_USE_LEGACY_KERAS', '1') "
    "at the top of the entry point)")
GRAPH_MODE_MESSAGE = (
    "this file is built around Session / placeholders, which need graph mode: build the graph inside "
    "`with tf.Graph().as_default():`, or run the codemod with --graph-mode (TFM007), which calls "
    "tf.compat.v1.disable_v2_behavior() in the program's entry points")

TEST_GRAPH_MODE_MESSAGE = (
    "this tf.test.TestCase module uses {what}, which need{s} graph mode: under TF 2.21's eager default "
    "self.test_session() yields None, tf.gradients raises and placeholders fail; run the codemod with "
    "--graph-mode (TFM007 calls tf.compat.v1.disable_v2_behavior() before tf.test.main()), or build each "
    "test's graph inside `with tf.Graph().as_default():`")


@dataclass
class Seen:
    """What the pass met (per file): the first reference needing legacy Keras / graph mode."""

    legacy_keras: object = None
    graph_mode: object = None
    graph_setup: bool = False
    test_case: bool = False          # a tf.test.TestCase subclass (or any reference to it)
    test_graph_only: object = None   # the first graph-only name it uses


def note_reference(cm, node, final: str) -> None:
    seen = cm.state["TFM005"]
    if seen.legacy_keras is None and final.startswith(LEGACY_KERAS_PREFIXES):
        seen.legacy_keras = node
    if seen.graph_mode is None and final in GRAPH_MODE_NAMES:
        seen.graph_mode = node
    if final in GRAPH_MODE_SETUP or final.startswith("tf.Graph."):
        seen.graph_setup = True
    if final in TEST_CASES:
        seen.test_case = True
    if seen.test_graph_only is None and final in TEST_GRAPH_ONLY_NAMES:
        seen.test_graph_only = (node, final)


def leave_module(cm, original) -> None:
    """At the end of the module: the legacy-Keras and graph-mode notices (none once the file has the
    switch they ask for, or when TFM007 inserts the graph-mode setup)."""
    seen = cm.state["TFM005"]
    if seen.legacy_keras is not None and LEGACY_KERAS_SWITCH not in cm.full_source:
        cm.report(seen.legacy_keras, "TFM005", LEGACY_KERAS_MESSAGE)
    if seen.graph_setup or setup_statement(cm, original) is not None or cm.state["TFM007"].declined:
        return  # graph mode already set up, or --graph-mode sets it up / declined (its own finding says why)
    if cm.state["TFM010"].decorated or cm.state["TFM010"].declined:
        return  # TFM010 runs the test classes in graph mode (or says why it did not)
    if seen.test_case:
        _test_notice(cm, seen)
    elif seen.graph_mode is not None:
        cm.report(seen.graph_mode, "TFM005", GRAPH_MODE_MESSAGE)


def _test_notice(cm, seen: Seen) -> None:
    """A tf.test.TestCase module that uses graph-only APIs: one notice at the first of them."""
    calls = [(m.start(), m.group(1) or m.group(2)) for m in TEST_GRAPH_ONLY_CALLS.finditer(cm.full_source)]
    calls = [(at, name) for at, name in calls if not in_comment_or_string(cm.full_source, at)]
    what = sorted({f"self.{n}()" if n == "test_session" else f".{n}()" for _, n in calls}
                  | ({seen.test_graph_only[1]} if seen.test_graph_only else set()))
    if not what:
        return
    listed = [f"`{w}`" for w in what]
    listed = ", ".join(listed[:-1]) + " and " + listed[-1] if len(listed) > 1 else listed[0]
    message = TEST_GRAPH_MODE_MESSAGE.format(what=listed, s="" if len(what) > 1 else "s")
    if seen.test_graph_only is not None:
        cm.report(seen.test_graph_only[0], "TFM005", message)
    else:
        at = calls[0][0]
        line = cm.full_source.count("\n", 0, at) + 1
        cm.report_at(line, at - (cm.full_source.rfind("\n", 0, at) + 1), "TFM005", message)


RULE = Rule(
    code="TFM005",
    name="notices",
    summary="findings, no edits: the result needs legacy Keras (tf.compat.v1.layers, rnn_cell; silent once "
            "the file mentions TF_USE_LEGACY_KERAS) or graph mode (a script built around Session / "
            "placeholders, unless it already disables v2 behaviour or builds a tf.Graph; a tf.test.TestCase "
            "module using self.test_session(), tf.gradients, placeholders or make_initializable_iterator)",
    why="Some TF 1 code runs under TF 2.21 only with a switch the codemod cannot set for you: legacy Keras "
        "(tf_keras) behind tf.compat.v1.layers and rnn_cell, and graph mode behind Session and placeholders. "
        "A TF 1 test module (a tf.test.TestCase) with `self.test_session()`, `tf.gradients`, placeholders or "
        "`make_initializable_iterator` fails under TF 2's eager default even though every name exists: the "
        "notice tells to run it with --graph-mode.",
    before="import tensorflow as tf\n\ncell = tf.nn.rnn_cell.LSTMCell(8)\n",
    after="import tensorflow as tf\n\ncell = tf.compat.v1.nn.rnn_cell.LSTMCell(8)\n",  # + a finding at 3:8
    note_reference=note_reference,
    leave_module=leave_module,
    new_state=Seen,
)
