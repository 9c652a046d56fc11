"""TFM007 graph-mode (opt-in, `--graph-mode`): TF 1 graph-mode programs call disable_v2_behavior().

What it inserts, per case (docs/codemod.md lists them with examples; `tests/codemod_fixtures/TFM007_*`):

* an entry point (`tf.test.main()`, `tf.app.run()`, `if __name__ == "__main__":`) that imports
  `tensorflow as tf`: `tf.compat.v1.disable_v2_behavior()` after its last top-level import, once;
* one that imports `tensorflow.compat.v1 as tf` (and no `tensorflow` alias): `tf.disable_v2_behavior()`
  through that alias, no new import;
* one that imports `tensorflow` without an alias: `tensorflow.compat.v1.disable_v2_behavior()`;
* one with no module-level name for `tensorflow` it can use (`from tensorflow import x` only, a `try`
  import with a fallback): `import tensorflow` and `tensorflow.compat.v1.disable_v2_behavior()`;
* nothing in a module that already disables v2 behaviour or eager execution (idempotent), in a library
  module (not an entry point), and -- with a finding saying why -- in a module that chooses its mode
  itself: it branches on the TF version (`tf.__version__`, `tf.VERSION`, `tf.version.VERSION`, e.g.
  `LooseVersion(tf.__version__) >= "2"`), on eager mode (`tf.executing_eagerly()`, the `tf2.enabled()`
  probes), on a helper named like `is_tf2()` / `tf2_enabled()` / `in_eager_mode()` in a test, or
  switches eager execution / v2 behaviour on itself. Such code runs its own TF 1 or TF 2 branch;
  disabling v2 behaviour at import would send it down the TF 1 branch and skip its own set-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate.codemod.modes import (  # noqa: F401  (the tables are TFM007's: documented with it)
    ENABLERS,
    HELPER_NAME,
    MAIN_BLOCK,
    MODE_PROBES,
    SETUP,
    UNSET,
    VERSION_NAMES,
    mode_choice,
    setup_statement,
)
from migrate.codemod.rules import Rule

# Calls that make a module an entry point (canonical TF 1 spellings), besides `if __name__ == "__main__":`.
ENTRY_CALLS: frozenset[str] = frozenset({"tf.test.main", "tf.app.run", "tf.compat.v1.test.main",
                                         "tf.compat.v1.app.run"})
# A module that already calls one of these is left as it is (building a `tf.Graph()` is not enough: a
# test module that does so still runs its datasets and shapes with v2 behaviour).
DISABLERS: frozenset[str] = frozenset({SETUP, "tf.compat.v1.disable_eager_execution"})



@dataclass
class Seen:
    entry: bool = False         # tf.test.main() / tf.app.run() called
    v2_disabled: bool = False   # the file already calls disable_v2_behavior / disable_eager_execution
    declined: bool = False      # an entry point that chooses its mode itself (a finding says so)
    setup: object = UNSET      # setup_statement's answer, once computed


def note_call(cm, original, name: str | None) -> None:
    if name in ENTRY_CALLS:
        cm.state["TFM007"].entry = True


def note_reference(cm, node, final: str) -> None:
    if final in DISABLERS:
        cm.state["TFM007"].v2_disabled = True


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
        "disables v2 behaviour or eager execution is left as is (idempotent). A module that chooses between "
        "TF 1 and TF 2 itself (it compares or tests `tf.__version__`, `tf.VERSION`, `tf.executing_eagerly()`, "
        "a helper named like `is_tf2()`, or turns eager execution on) is never given the call: its TF 2 "
        "branch would not run and its own set-up (variable initialisation in the TF 1 branch) would be "
        "skipped; a finding at that test says so and what to do.",
    cases=(
        ("entry point importing `tensorflow as tf` (`TFM007_graph_mode`, `TFM007_graph_test`, "
         "`TFM007_prints_version`: printing the version is no choice)",
         "`tf.compat.v1.disable_v2_behavior()` after the last top-level import, once"),
        ("entry point importing only `tensorflow.compat.v1 as tf` (`TFM007_compat_v1`)",
         "`tf.disable_v2_behavior()` through that alias; no import added"),
        ("entry point importing `tensorflow` without an alias (`TFM007_plain_import`)",
         "`tensorflow.compat.v1.disable_v2_behavior()` after the last top-level import"),
        ("entry point with no module-level `tensorflow` name it can use (`from tensorflow import x` only, "
         "a `try:` import with a fallback)", "`import tensorflow` and `tensorflow.compat.v1.disable_v2_behavior()`"),
        ("a module that already calls `disable_v2_behavior()` / `disable_eager_execution()`; a library "
         "module (no `tf.test.main()`, `tf.app.run()` or `__main__` block)", "nothing"),
        ("branches on the version: `LooseVersion(tf.__version__) >= ...`, `tf.VERSION`, "
         "`tf.version.VERSION`, directly or through a name (`TFM007_version_branch`)",
         "nothing; a finding at the comparison"),
        ("branches on eager mode: `if not tf.executing_eagerly():`, `tf2.enabled()` (`TFM007_eager_probe`)",
         "nothing; a finding at the test"),
        ("calls a helper named like `is_tf2()`, `tf2_enabled()`, `in_eager_mode()` in a test "
         "(`TFM007_is_tf2_helper`)", "nothing; a finding at the call"),
        ("turns eager execution or v2 behaviour on itself: `tf.enable_eager_execution()` "
         "(`TFM007_enables_eager`)", "nothing; a finding at the call"),
    ),
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
