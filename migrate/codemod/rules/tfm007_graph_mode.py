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

import ast
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

# Names whose value is the TF version (canonical spellings; `tf.VERSION` is TF 1's).
VERSION_NAMES: frozenset[str] = frozenset({
    "tf.__version__", "tf.VERSION", "tf.GIT_VERSION", "tf.version.VERSION", "tf.version.GIT_VERSION",
    "tf.compat.v1.VERSION", "tf.compat.v1.GIT_VERSION", "tf.compat.v1.__version__", "tf.compat.v1.version.VERSION",
    "tf.compat.v2.__version__", "tf.compat.v2.version.VERSION",
})
# Calls that tell whether TF 2 behaviour / eager execution is on.
MODE_PROBES: frozenset[str] = frozenset({
    "tf.executing_eagerly", "tf.compat.v1.executing_eagerly", "tf.compat.v2.executing_eagerly",
    "tf.executing_eagerly_outside_functions", "tf.compat.v1.executing_eagerly_outside_functions",
    "tf.contrib.eager.in_eager_mode", "tf.contrib.eager.executing_eagerly",
    "tf.python.tf2.enabled", "tf.__internal__.tf2.enabled",
})
# Calls that switch eager execution / v2 behaviour on: the module has chosen TF 2 itself.
ENABLERS: frozenset[str] = frozenset({
    "tf.enable_eager_execution", "tf.compat.v1.enable_eager_execution", "tf.enable_v2_behavior",
    "tf.compat.v1.enable_v2_behavior", "tf.compat.v1.enable_v2_tensorshape", "tf.enable_v2_tensorshape",
})
# A project's own probe, called in a test: `is_tf2()`, `tf2_enabled()`, `utils.in_eager_mode()`.
HELPER_NAME = re.compile(r"(?i)(?<![a-z])tf_?v?2(?![0-9])|tensorflow_?2|eager")

_UNSET = object()


@dataclass
class Seen:
    entry: bool = False         # tf.test.main() / tf.app.run() called
    v2_disabled: bool = False   # the file already calls disable_v2_behavior / disable_eager_execution
    declined: bool = False      # an entry point that chooses its mode itself (a finding says so)
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
    choice = mode_choice(cm.full_source, cm.bindings.names)
    if choice is not None:
        seen.declined = True
        line, column, what = choice
        cm.report_at(line, column, "TFM007", (
            f"--graph-mode left this module alone: it chooses between TF 1 and TF 2 itself ({what}), and "
            f"{SETUP}() at import would send it down its TF 1 branch and skip its own set-up; if it must run "
            f"in graph mode, call {SETUP}() where it starts its TF 1 path, before it builds a graph"))
        return None
    cm.evidence = True
    v1 = _compat_v1_alias(cm)
    call = f"{v1}.disable_v2_behavior" if v1 is not None else cm.import_for(SETUP, module)
    return cst.parse_statement(call + "()\n")


def _compat_v1_alias(cm) -> str | None:
    """The module's own `import tensorflow.compat.v1 as tf` name, when it has no `tensorflow` alias."""
    names = cm.bindings
    if names.needs_scope or any(c == "tf" for c in names.names.values()):
        return None
    return next((n for n, c in sorted(names.names.items()) if c == "tf.compat.v1" and n not in names.aliases), None)


def mode_choice(source: str, bindings: dict[str, str]) -> tuple[int, int, str] | None:
    """Where the module decides between TF 1 and TF 2 itself: (line, 0-based column, what), or None.

    A decision is a TF version or mode probe (VERSION_NAMES, MODE_PROBES) read in a test (`if`, `while`,
    `assert`, a conditional expression), a comparison or a boolean operation -- directly or through a
    name assigned from it --, a call of a helper named like HELPER_NAME in a test, or an ENABLERS call.
    Printing the version is not a decision. `bindings`: the module's TF names (more are read from its
    imports, nested ones included).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = dict(bindings)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "tensorflow" or a.name.startswith("tensorflow."):
                    names.setdefault(a.asname or "tensorflow", "tf" + a.name[10:] if a.asname else "tf")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                (node.module == "tensorflow" or node.module.startswith("tensorflow.")):
            for a in node.names:
                names.setdefault(a.asname or a.name, f"tf{node.module[10:]}.{a.name}")

    def canonical(node: ast.AST) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in names:
            return None
        return ".".join([names[node.id], *reversed(parts)])

    def decides(node: ast.AST) -> bool:
        child, parent = node, parents.get(node)
        while parent is not None and not isinstance(parent, ast.stmt):
            if isinstance(parent, (ast.Compare, ast.BoolOp)) or (isinstance(parent, ast.UnaryOp)
                                                                  and isinstance(parent.op, ast.Not)):
                return True
            if isinstance(parent, ast.IfExp) and child is parent.test:
                return True
            if isinstance(parent, ast.Attribute) and parent.attr in ("startswith", "endswith"):
                return True
            child, parent = parent, parents.get(parent)
        return isinstance(parent, (ast.If, ast.While, ast.Assert)) and child is parent.test

    def assigned(node: ast.AST) -> list[str]:
        """Names (`eager`, `self.eager`) an assignment binds from the expression holding `node`."""
        while node in parents and not isinstance(node, ast.stmt):
            node = parents[node]
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        return [ast.unparse(t) for t in targets if isinstance(t, ast.Name | ast.Attribute)]

    found: list[tuple[int, int, str]] = []
    flags: dict[str, tuple[int, int, str]] = {}  # names assigned from a probe
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            name = canonical(node)
            call = isinstance(parents.get(node), ast.Call) and parents[node].func is node
            what = None
            spelled = ast.unparse(node)
            if name in VERSION_NAMES:
                what = f"`{spelled}`" + (f" ({name})" if spelled != name else "")
            elif call and name in MODE_PROBES:
                what = f"`{spelled}()`" + (f" ({name})" if spelled != name else "")
                node = parents[node]
            elif call and name in ENABLERS:
                found.append((node.lineno, node.col_offset, f"it calls `{ast.unparse(node)}()`"))
                continue
            elif call and name is None and HELPER_NAME.search(node.attr if isinstance(node, ast.Attribute)
                                                               else node.id):
                node = parents[node]
                if decides(node):
                    found.append((node.lineno, node.col_offset, f"`{ast.unparse(node.func)}()` in a test"))
                continue
            if what is None:
                continue
            if decides(node):
                found.append((node.lineno, node.col_offset, f"{what}, compared or tested"))
            else:
                for target in assigned(node):
                    flags.setdefault(target, (node.lineno, node.col_offset, what))
    if flags:
        last = {k.rpartition(".")[2] for k in flags}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load)):
                continue
            if (node.id if isinstance(node, ast.Name) else node.attr) not in last:
                continue
            spelled = ast.unparse(node)
            if spelled in flags and decides(node):
                line, column, what = flags[spelled]
                found.append((line, column, f"{what}, through `{spelled}`, tested"))
    if not found:
        return None
    line, column, what = min(found)
    text = source.splitlines()[line - 1] if 0 < line <= len(source.splitlines()) else ""
    column = len(text.encode("utf-8")[:column].decode("utf-8", errors="replace"))  # ast counts UTF-8 bytes
    return line, column, what


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
