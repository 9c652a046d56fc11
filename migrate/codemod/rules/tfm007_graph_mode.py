"""TFM007 graph-mode (opt-in, `--graph-mode`): TF 1 graph-mode programs call disable_v2_behavior()."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from migrate.codemod.rules import Rule

# Calls that make a module an entry point (canonical TF 1 spellings), besides `if __name__ == "__main__":`.
ENTRY_CALLS: frozenset[str] = frozenset({"tf.test.main", "tf.app.run", "tf.compat.v1.test.main",
                                         "tf.compat.v1.app.run"})
MAIN_BLOCK = re.compile(r"^if\s+(\(\s*)?__name__\s*==\s*['\"]__main__['\"]", re.MULTILINE)
SETUP = "tf.compat.v1.disable_v2_behavior"
# A module that already calls one of these is left as it is (building a `tf.Graph()` is not enough: a
# test module that does so still runs its datasets and shapes with v2 behaviour).
DISABLERS: frozenset[str] = frozenset({SETUP, "tf.compat.v1.disable_eager_execution"})

_UNSET = object()


@dataclass
class Seen:
    entry: bool = False         # tf.test.main() / tf.app.run() called
    v2_disabled: bool = False   # the file already calls disable_v2_behavior / disable_eager_execution
    setup: object = _UNSET      # setup_statement's answer, once computed


def note_call(cm, original, name: str | None) -> None:
    if name in ENTRY_CALLS:
        cm.state["TFM007"].entry = True


def note_reference(cm, node, final: str) -> None:
    if final in DISABLERS:
        cm.state["TFM007"].v2_disabled = True


def setup_statement(cm, module) -> cst.SimpleStatementLine | None:
    """The `tf.compat.v1.disable_v2_behavior()` statement for an entry point that has no setup yet
    (computed once per file: TFM005 asks too)."""
    seen = cm.state["TFM007"]
    if seen.setup is _UNSET:
        seen.setup = _setup_statement(cm, module, seen)
    return seen.setup


def _setup_statement(cm, module, seen: Seen) -> cst.SimpleStatementLine | None:
    if "TFM007" not in cm.rules or seen.v2_disabled:
        return None
    if not (seen.entry or MAIN_BLOCK.search(cm.full_source) is not None):
        return None
    cm.evidence = True
    return cst.parse_statement(cm.import_for(SETUP, module) + "()\n")


def leave_module(cm, original) -> None:
    cm.setup = setup_statement(cm, original)  # inserted after the imports by the engine


RULE = Rule(
    code="TFM007",
    name="graph-mode",
    summary="opt-in (--graph-mode): in entry points of TF 1 graph-mode programs (modules that call "
            "tf.test.main() or tf.app.run(), or have an `if __name__ == \"__main__\":` block), insert "
            "tf.compat.v1.disable_v2_behavior() after the imports (once)",
    why="The TF 2 migration guide's first step: TF 1 programs built around Session, placeholders and "
        "collections run unchanged under TF 2.21 with v2 behaviour disabled. Only entry points get the call, "
        "after their imports, so library modules stay importable from TF 2 code; a module that already "
        "disables v2 behaviour or eager execution is left as is (idempotent).",
    before="import tensorflow as tf\n\n\ndef main(_):\n    x = tf.placeholder(tf.float32)\n\n\n"
           "if __name__ == \"__main__\":\n    tf.app.run()\n",
    after="import tensorflow as tf\n\ntf.compat.v1.disable_v2_behavior()\n\n\ndef main(_):\n"
          "    x = tf.compat.v1.placeholder(tf.float32)\n\n\nif __name__ == \"__main__\":\n    tf.compat.v1.app.run()\n",
    default=False,
    note_call=note_call,
    note_reference=note_reference,
    leave_module=leave_module,
    new_state=Seen,
)
