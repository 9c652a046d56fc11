"""TFM004 imports: import statements follow the references (rewritten in place, added, dropped)."""

from __future__ import annotations

import libcst as cst

from migrate.codemod.rules import Rule

# Whole modules that moved: imports of them are rewritten in place (`import tf_slim as slim`), longest
# prefix first. contrib's internal layout (`tensorflow/contrib/slim/python/slim/data/...`) maps onto
# tf-slim 1.1's (`tf_slim/data/...`); every result is checked to exist before it is written.
MODULE_MOVES: dict[str, str] = {
    "tf.contrib.slim.python.slim.nets": "tf_slim.nets",
    "tf.contrib.slim.python.slim": "tf_slim",
    "tf.contrib.slim.nets": "tf_slim.nets",
    "tf.contrib.slim": "tf_slim",
    "tf.contrib.layers.python.layers": "tf_slim.layers",
    "tf.contrib.framework.python.ops": "tf_slim.ops",
}


def _names():
    from migrate.codemod import transform  # noqa: PLC0415  (transform imports this module)

    return transform


def _private_modules() -> frozenset[str]:
    from migrate.codemod.tables import PRIVATE_MODULES  # noqa: PLC0415

    return PRIVATE_MODULES


def module_move(canon: str) -> str | None:
    """`tf.contrib.slim.python.slim.data` -> `tf_slim.data` (TFM004's MODULE_MOVES, longest prefix)."""
    for old in sorted(MODULE_MOVES, key=len, reverse=True):
        if canon == old or canon.startswith(old + "."):
            return MODULE_MOVES[old] + canon[len(old):]
    return None


def leave_import(cm, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
    if "TFM004" not in cm.rules:
        return updated_node
    names = []
    for alias in updated_node.names:
        full = cst.Module([]).code_for_node(alias.name)
        canon = _names().canonical(full) if full == "tensorflow" or full.startswith("tensorflow.") else None
        new = None
        if canon:
            moved = module_move(canon) if alias.asname is not None else None
            if moved is not None and cm.tables.exists(moved):
                new = moved
            elif moved is not None:
                cm.report(original_node, "TFM004", f"`{full}` has no counterpart `{moved}` in tf_slim: "
                                                     "port this import by hand")
            if new is None and canon.startswith("tf.contrib") and alias.asname is None:
                new = "tensorflow"  # `import tensorflow.contrib.rnn` binds `tensorflow`; contrib is gone
        names.append(alias.with_changes(name=_names().dotted_expr(new)) if new else alias)
        cm._imports_changed = cm._imports_changed or bool(new)
    return updated_node.with_changes(names=names)


def leave_import_from(cm, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
    if "TFM004" not in cm.rules or updated_node.relative or updated_node.module is None:
        return updated_node
    module = cst.Module([]).code_for_node(updated_node.module)
    if not (module == "tensorflow" or module.startswith("tensorflow.")) \
            or isinstance(updated_node.names, cst.ImportStar):
        return updated_node
    canon = _names().canonical(module)
    moved = module_move(canon)
    if moved is not None:
        missing = [a.name.value for a in updated_node.names if not cm.tables.exists(f"{moved}.{a.name.value}")]
        if missing:
            cm.report(original_node, "TFM004", f"`from {module} import {', '.join(missing)}`: tf_slim has no "
                                                 f"`{moved}.{missing[0]}`; port this import by hand")
            return updated_node
        cm._imports_changed = True
        return updated_node.with_changes(module=_names().dotted_expr(moved))
    if len(updated_node.names) == 1:
        alias = updated_node.names[0]
        moved = module_move(f"{canon}.{alias.name.value}")
        if moved is not None and cm.tables.exists(moved):
            # `from tensorflow.contrib import slim` -> `import tf_slim as slim`
            local = alias.asname.name.value if alias.asname else alias.name.value
            cm._imports_changed = True
            return cst.Import(names=[cst.ImportAlias(name=_names().dotted_expr(moved),
                                                     asname=cst.AsName(name=cst.Name(local)))])
    return updated_node


def import_moves(cm, local: str) -> bool:
    """`local` is bound by a module-level import that TFM004 rewrites in place (not an alias)."""
    return local not in cm.bindings.aliases and module_move(cm.bindings.names.get(local, "")) is not None


def schedule_removal(cm, local: str, base: str) -> None:
    """A use of the TF binding `local` (canonical `base`) was rewritten to another module: its import
    goes once no use is left (fast pass: counted by the engine; scope pass: libcst's RemoveImportsVisitor)."""
    if "TFM004" not in cm.rules or base in ("tf",):
        return
    cm._rewritten.add(local)
    if not cm.METADATA_DEPENDENCIES:
        return
    from libcst.codemod.visitors import RemoveImportsVisitor  # noqa: PLC0415

    module, _, obj = ("tensorflow" + base[2:]).rpartition(".")
    if local == obj:
        RemoveImportsVisitor.remove_unused_import(cm.context, module, obj)
    else:  # `from tensorflow.contrib import rnn as r` or `import tensorflow.contrib.rnn as rnn`
        RemoveImportsVisitor.remove_unused_import(cm.context, module, obj, local)
        RemoveImportsVisitor.remove_unused_import(cm.context, f"{module}.{obj}", None, local)


def stale_imports(cm, original=None) -> None:
    """Module-level TF imports that stay (still used, or unused but not ours to drop) and fail in TF 2."""
    if "TFM004" not in cm.rules:
        return
    for stmt in cm._import_stmts:
        for local, canon in (_names().import_bindings(stmt) or {}).items():
            moved = any(canon == m or canon.startswith(m + ".") for m in MODULE_MOVES)
            dropped = local in cm._rewritten and not cm._uses_left.get(local)
            if moved or dropped or canon in ("tf", "tf.compat.v1") or cm.tables.exists(canon) \
                    or canon.split(".")[1] in _private_modules():
                continue
            cm.report(stmt, "TFM004", f"`{'tensorflow' + canon[2:]}` cannot be imported in TensorFlow "
                                        f"{cm.tables.version}: this import fails until its remaining "
                                        "uses (reported above) are ported")


def insert(cm, original: cst.Module, module: cst.Module, setup: cst.CSTNode | None) -> cst.Module:
    """Add the imports the new code needs right after the file's first TensorFlow import (never above
    a statement that precedes it), and TFM007's setup call after the last top-level import."""
    body = list(module.body)
    present = _top_level_imports(body)
    anchor = next((i for i, st in enumerate(original.body) if _binds_tf(st, cm.bindings.nodes)), None)
    last = max((i for i, st in enumerate(body) if _is_import_line(st)), default=None)
    if anchor is None:
        anchor = last if last is not None else _preamble_end(body) - 1
    new = []
    for module_name, obj, asname in cm._needed:
        if (module_name, obj, asname) in present:
            continue
        if obj is None:
            code = f"import {module_name}" + (f" as {asname}" if asname else "")
        else:
            code = f"from {module_name} import {obj}" + (f" as {asname}" if asname else "")
        new.append(cst.parse_statement(code + "\n"))
    after = last if last is not None and last > anchor else anchor
    if setup is not None:
        setup = setup.with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(after + 1, setup)
    body[anchor + 1:anchor + 1] = new
    if new or setup is not None:
        cm._inserted = True
    return module.with_changes(body=body)


def _is_import_line(st: cst.CSTNode) -> bool:
    return isinstance(st, cst.SimpleStatementLine) and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in st.body)


def _binds_tf(st: cst.CSTNode, nodes: set[int]) -> bool:
    """A top-level statement holding one of the module's TF imports (also inside `try:` / `if`)."""
    if isinstance(st, cst.SimpleStatementLine):
        return any(id(x) in nodes and isinstance(x, (cst.Import, cst.ImportFrom)) for x in st.body)
    if isinstance(st, (cst.If, cst.Try)):
        inner = getattr(st.body, "body", ())
        return any(_binds_tf(x, nodes) for x in inner)
    return False


def _top_level_imports(body) -> set[tuple[str, str | None, str | None]]:
    out = set()
    for st in body:
        if not isinstance(st, cst.SimpleStatementLine):
            continue
        for x in st.body:
            if isinstance(x, cst.Import):
                for a in x.names:
                    out.add((cst.Module([]).code_for_node(a.name), None, a.asname.name.value if a.asname else None))
            elif isinstance(x, cst.ImportFrom) and x.module is not None and not x.relative \
                    and not isinstance(x.names, cst.ImportStar):
                mod = cst.Module([]).code_for_node(x.module)
                for a in x.names:
                    out.add((mod, a.name.value, a.asname.name.value if a.asname else None))
    return out


def _preamble_end(body) -> int:
    """Index of the first statement after the docstring and `from __future__` imports."""
    i = 0
    for i, st in enumerate(body):
        if isinstance(st, cst.SimpleStatementLine) and len(st.body) == 1:
            x = st.body[0]
            if isinstance(x, cst.Expr) and isinstance(x.value, cst.SimpleString) and i == 0:
                continue
            if isinstance(x, cst.ImportFrom) and x.module is not None and \
                    cst.Module([]).code_for_node(x.module) == "__future__":
                continue
        return i
    return len(body)


RULE = Rule(
    code="TFM004",
    name="imports",
    summary="import statements follow: `import tensorflow.contrib.slim as slim` -> `import tf_slim as "
            "slim`; imports the new code needs are added next to the file's tensorflow import, and TF 1 "
            "imports left unused are removed",
    why="A rewritten reference must be importable, and an import of a module TF 2 no longer has fails at "
        "start-up. Added imports go right after the file's own `import tensorflow` line, never above "
        "statements that precede it (`os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'` must run before TensorFlow "
        "is imported).",
    before="import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport tensorflow as tf\n"
           "from tensorflow.contrib.slim.python.slim.data import tfexample_decoder\n\n"
           "net = tf.contrib.layers.conv2d(x, 4, 3)\n",
    after="import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport tensorflow as tf\nimport tf_slim\n"
          "from tf_slim.data import tfexample_decoder\n\nnet = tf_slim.layers.conv2d(x, 4, 3)\n",
    leave_import=leave_import,
    leave_import_from=leave_import_from,
    leave_module=stale_imports,
)
