"""TFM004 imports: import statements follow the references (rewritten in place, added, dropped)."""

from __future__ import annotations

import libcst as cst

from migrate.codemod import transform
from migrate.codemod.rules import Rule
from migrate.codemod.tables import MODULE_MOVES, PRIVATE_MODULES, module_move


def leave_import(cm, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
    if "TFM004" not in cm.rules:
        return updated_node
    names = []
    for alias in updated_node.names:
        full = cst.Module([]).code_for_node(alias.name)
        canon = transform.canonical(full) if full == "tensorflow" or full.startswith("tensorflow.") else None
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
        names.append(alias.with_changes(name=transform.dotted_expr(new)) if new else alias)
        cm._imports_changed = cm._imports_changed or bool(new)
    return updated_node.with_changes(names=names)


def leave_import_from(cm, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
    if "TFM004" not in cm.rules or updated_node.relative or updated_node.module is None:
        return updated_node
    module = cst.Module([]).code_for_node(updated_node.module)
    if not (module == "tensorflow" or module.startswith("tensorflow.")) \
            or isinstance(updated_node.names, cst.ImportStar):
        return updated_node
    canon = transform.canonical(module)
    moved = module_move(canon)
    if moved is not None:
        missing = [a.name.value for a in updated_node.names if not cm.tables.exists(f"{moved}.{a.name.value}")]
        if missing:
            cm.report(original_node, "TFM004", f"`from {module} import {', '.join(missing)}`: tf_slim has no "
                                                 f"`{moved}.{missing[0]}`; port this import by hand")
            return updated_node
        cm._imports_changed = True
        return updated_node.with_changes(module=transform.dotted_expr(moved))
    if len(updated_node.names) == 1:
        alias = updated_node.names[0]
        moved = module_move(f"{canon}.{alias.name.value}")
        if moved is not None and cm.tables.exists(moved):
            # `from tensorflow.contrib import slim` -> `import tf_slim as slim`
            local = alias.asname.name.value if alias.asname else alias.name.value
            cm._imports_changed = True
            return cst.Import(names=[cst.ImportAlias(name=transform.dotted_expr(moved),
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
        for local, canon in (transform.import_bindings(stmt) or {}).items():
            moved = any(canon == m or canon.startswith(m + ".") for m in MODULE_MOVES)
            dropped = local in cm._rewritten and not cm._uses_left.get(local)
            if moved or dropped or canon in ("tf", "tf.compat.v1") or cm.tables.exists(canon) \
                    or canon.split(".")[1] in PRIVATE_MODULES:
                continue
            cm.report(stmt, "TFM004", f"`{'tensorflow' + canon[2:]}` cannot be imported in TensorFlow "
                                        f"{cm.tables.version}: this import fails until its remaining "
                                        "uses (reported above) are ported")


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
