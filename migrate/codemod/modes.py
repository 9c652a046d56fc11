"""Graph mode, shared by the rules that decide it (TFM007 inserts `disable_v2_behavior()`, TFM005 stays silent
when it does, TFM010 decorates test classes): where a module chooses between TF 1 and TF 2 itself
(`mode_choice`), and the setup statement an entry point gets (`setup_statement`, computed once per file in
TFM007's state). No rule imports another rule: they all import this module.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

MAIN_BLOCK = re.compile(r"^if\s+(\(\s*)?__name__\s*==\s*['\"]__main__['\"]", re.MULTILINE)
SETUP = "tf.compat.v1.disable_v2_behavior"
UNSET = object()  # TFM007's state before `setup_statement` has run

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


def setup_statement(cm, module) -> cst.SimpleStatementLine | None:
    """The `tf.compat.v1.disable_v2_behavior()` statement for an entry point that has no setup yet
    (computed once per file: TFM005 asks too)."""
    seen = cm.state["TFM007"]
    if seen.setup is UNSET:
        seen.setup = _setup_statement(cm, module, seen)
    return seen.setup


def _setup_statement(cm, module, seen) -> cst.SimpleStatementLine | None:
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
