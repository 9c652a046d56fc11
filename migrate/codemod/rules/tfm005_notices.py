"""TFM005 notices: findings only (legacy Keras, graph mode)."""

from dataclasses import dataclass

from migrate.codemod.rules import Rule

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

LEGACY_KERAS_MESSAGE = (
    "tf.compat.v1.layers / tf.compat.v1.nn.rnn_cell need legacy Keras under TF 2.16+: install tf_keras and "
    "set TF_USE_LEGACY_KERAS=1 before the first use (e.g. os.environ.setdefault('TF_USE_LEGACY_KERAS', '1') "
    "at the top of the entry point)")
GRAPH_MODE_MESSAGE = (
    "this file is built around Session / placeholders, which need graph mode: build the graph inside "
    "`with tf.Graph().as_default():`, or run the codemod with --graph-mode (TFM007), which calls "
    "tf.compat.v1.disable_v2_behavior() in the program's entry points")

@dataclass
class Seen:
    """What the pass met (per file): the first reference needing legacy Keras / graph mode."""

    legacy_keras: object = None
    graph_mode: object = None
    graph_setup: bool = False


def note_reference(cm, node, final: str) -> None:
    seen = cm.state["TFM005"]
    if seen.legacy_keras is None and final.startswith(LEGACY_KERAS_PREFIXES):
        seen.legacy_keras = node
    if seen.graph_mode is None and final in GRAPH_MODE_NAMES:
        seen.graph_mode = node
    if final in GRAPH_MODE_SETUP or final.startswith("tf.Graph."):
        seen.graph_setup = True


def leave_module(cm, original) -> None:
    """At the end of the module: the legacy-Keras and graph-mode notices (none once the file has the
    switch they ask for, or when TFM007 inserts the graph-mode setup)."""
    from migrate.codemod.rules.tfm007_graph_mode import setup_statement  # noqa: PLC0415

    seen = cm.state["TFM005"]
    if seen.legacy_keras is not None and LEGACY_KERAS_SWITCH not in cm.full_source:
        cm.report(seen.legacy_keras, "TFM005", LEGACY_KERAS_MESSAGE)
    if seen.graph_mode is not None and not seen.graph_setup and setup_statement(cm, original) is None \
            and not cm.state["TFM007"].declined:  # --graph-mode declined: its own finding says what to do
        cm.report(seen.graph_mode, "TFM005", GRAPH_MODE_MESSAGE)


RULE = Rule(
    code="TFM005",
    name="notices",
    summary="findings, no edits: the result needs legacy Keras (tf.compat.v1.layers, rnn_cell; silent once "
            "the file mentions TF_USE_LEGACY_KERAS) or graph mode (a script built around Session / "
            "placeholders, unless it already disables v2 behaviour or builds a tf.Graph)",
    why="Some TF 1 code runs under TF 2.21 only with a switch the codemod cannot set for you: legacy Keras "
        "(tf_keras) behind tf.compat.v1.layers and rnn_cell, and graph mode behind Session and placeholders.",
    before="import tensorflow as tf\n\ncell = tf.nn.rnn_cell.LSTMCell(8)\n",
    after="import tensorflow as tf\n\ncell = tf.compat.v1.nn.rnn_cell.LSTMCell(8)\n",  # + a finding at 3:8
    note_reference=note_reference,
    leave_module=leave_module,
    new_state=Seen,
)
