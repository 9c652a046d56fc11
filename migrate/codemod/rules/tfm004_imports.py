"""TFM004 imports: import statements follow the references (rewritten in place, added, dropped)."""

from __future__ import annotations

import libcst as cst

from migrate.codemod import transform
from migrate.codemod.rules import Rule
from migrate.codemod.shared import import_moves, schedule_removal  # noqa: F401  (shared with TFM001)
from migrate.codemod.tables import (
    MODULE_MOVES,
    PRIVATE_MODULES,
    PRIVATE_RENAMES,
    import_move,
    module_move,
    private_modules,
)


def _private(dotted: str) -> bool:
    parts = dotted.split(".")
    return len(parts) > 1 and parts[0] == "tensorflow" and parts[1] in PRIVATE_MODULES


def _missing_private(cm, node, module: str | None, names: list[str]) -> None:
    """A finding for an import of a private TF module (`import tensorflow.python.x`: `module` None, `names`
    the dotted modules; `from tensorflow.python.x import a, b`: `module` and the names) that TF 2.21 lacks,
    with where the names went."""
    table = private_modules()
    if module is not None and not table.exists(module):
        missing = [module]
        gone = [f"{module}.{n}" for n in names]
    else:
        gone = [d for d in ((f"{module}.{n}" for n in names) if module is not None else names) if not table.exists(d)]
        missing = gone
    if not missing:
        return
    what = ", ".join(f"`{m}`" for m in missing)
    notes = []
    hint = table.hint(missing[0])
    if hint:
        notes.append(hint)
    for dotted in gone:
        own = table.hint(dotted)  # a name with its own successor (`...model_fn.ModeKeys`)
        if own and own not in notes:
            notes.append(own)
        name = dotted.rpartition(".")[2]
        where = [m for m in table.definers(name) if m != dotted.rpartition(".")[0]][:2]
        if where:
            notes.append(f"`{name}` is defined in {' and '.join(f'`{w}`' for w in where)} (private: import it from "
                         "there, or copy it)")
    if not notes:
        notes.append("no module of TensorFlow defines it now: copy the code you need from TF 1.x, or port it by hand")
    cm.report(node, "TFM004", f"{what} does not exist in TensorFlow {table.version}: this import fails; "
                              + "; ".join(notes))


def leave_import(cm, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
    if "TFM004" not in cm.rules:
        return updated_node
    private = [d for d in (cst.Module([]).code_for_node(a.name) for a in original_node.names) if _private(d)]
    if private:
        _missing_private(cm, original_node, None, private)
    names = []
    for alias in updated_node.names:
        full = cst.Module([]).code_for_node(alias.name)
        canon = transform.canonical(full) if full == "tensorflow" or full.startswith("tensorflow.") else None
        new = None
        if canon:
            moved = module_move(canon) if alias.asname is not None else None
            if moved is not None and (cm.tables.exists(moved) or moved in cm.tables.slim_modules):
                new = moved
            elif moved is not None:
                cm.report(original_node, "TFM004", f"`{full}` has no counterpart `{moved}` in tf_slim: "
                                                     "port this import by hand")
            if new is None and canon.startswith("tf.contrib") and alias.asname is None:
                new = "tensorflow"  # `import tensorflow.contrib.rnn` binds `tensorflow`; contrib is gone
        names.append(alias.with_changes(name=transform.dotted_expr(_importable(new))) if new else alias)
        cm._imports_changed = cm._imports_changed or bool(new)
    return updated_node.with_changes(names=names)


def leave_import_from(cm, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
    if "TFM004" not in cm.rules or updated_node.relative or updated_node.module is None:
        return updated_node
    module = cst.Module([]).code_for_node(updated_node.module)
    if not (module == "tensorflow" or module.startswith("tensorflow.")) \
            or isinstance(updated_node.names, cst.ImportStar):
        return updated_node
    if _private(module) or module == "tensorflow":
        names = [a.name.value for a in original_node.names]
        if module == "tensorflow":  # `from tensorflow import python` is an import of a private package
            names = [f"tensorflow.{n}" for n in names if n in PRIVATE_MODULES]
            if names:
                _missing_private(cm, original_node, None, names)
        else:
            renamed = {a.name.value: PRIVATE_RENAMES.get(f"{module}.{a.name.value}") for a in updated_node.names}
            if any(renamed.values()):
                # `from tensorflow.python.util.nest import is_sequence` -> `... import is_nested as is_sequence`
                cm._imports_changed = True
                updated_node = updated_node.with_changes(names=[
                    a.with_changes(name=cst.Name(renamed[a.name.value]),
                                   asname=a.asname or cst.AsName(name=cst.Name(a.name.value)))
                    if renamed[a.name.value] else a for a in updated_node.names])
                names = [n for n in names if not renamed.get(n)]
            if names:
                _missing_private(cm, original_node, module, names)
    canon = transform.canonical(module)
    moved = module_move(canon)
    if moved is not None:
        homes = {a.name.value: import_move(canon, a.name.value, cm.tables.importable) for a in updated_node.names}
        missing = [n for n, home in homes.items() if home is None]
        if missing:
            cm.report(original_node, "TFM004", f"`from {module} import {', '.join(missing)}`: "
                                                 f"{moved.split('.')[0]} has no `{moved}.{missing[0]}`; "
                                                 "port this import by hand")
            return updated_node
        if len(set(homes.values())) > 1:
            cm.report(original_node, "TFM004", f"`from {module} import ...`: the names now live in "
                      + " and ".join(f"`{h}` ({', '.join(n for n in homes if homes[n] == h)})"
                                     for h in dict.fromkeys(homes.values()))
                      + ": split this import in two")
            return updated_node
        cm._imports_changed = True
        return updated_node.with_changes(module=transform.dotted_expr(_importable(next(iter(homes.values())))))
    if len(updated_node.names) == 1:
        alias = updated_node.names[0]
        moved = module_move(f"{canon}.{alias.name.value}")
        if moved is not None and (cm.tables.exists(moved) or moved in cm.tables.slim_modules):
            # `from tensorflow.contrib import slim` -> `import tf_slim as slim`
            local = alias.asname.name.value if alias.asname else alias.name.value
            cm._imports_changed = True
            if moved.startswith("tf."):  # an attribute of the TF API, not always a module: from-import it
                package, _, member = _importable(moved).rpartition(".")
                return updated_node.with_changes(
                    module=transform.dotted_expr(package),
                    names=[cst.ImportAlias(name=cst.Name(member),
                                           asname=None if member == local else cst.AsName(name=cst.Name(local)))])
            return cst.Import(names=[cst.ImportAlias(name=transform.dotted_expr(moved),
                                                     asname=cst.AsName(name=cst.Name(local)))])
    return updated_node


def _importable(dotted: str) -> str:
    """The module path to write in an import: `tf.compat.v1.nn` -> `tensorflow.compat.v1.nn`."""
    return "tensorflow" + dotted[2:] if dotted == "tf" or dotted.startswith("tf.") else dotted


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
            res = cm.tables.resolve(canon)
            if res.target:
                then = f"; its successor is `{'tensorflow' + res.target[2:] if res.target.startswith('tf.') else res.target}`"
            else:
                then = f"; {res.problem}" if res.problem else ""
            cm.report(stmt, "TFM004", f"`{'tensorflow' + canon[2:]}` cannot be imported in TensorFlow "
                                        f"{cm.tables.version}: this import fails until its remaining "
                                        f"uses (reported above) are ported{then}")


RULE = Rule(
    code="TFM004",
    name="imports",
    summary="import statements follow: `import tensorflow.contrib.slim as slim` -> `import tf_slim as "
            "slim`; imports the new code needs are added next to the file's tensorflow import, and TF 1 "
            "imports left unused are removed",
    why="A rewritten reference must be importable, and an import of a module TF 2 no longer has fails at "
        "start-up. Added imports go right after the file's own `import tensorflow` line, never above "
        "statements that precede it (`os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'` must run before TensorFlow "
        "is imported). An import that still fails in TF 2.21 is a finding with its successor: a tf.contrib "
        "name (the successor the tables know, or why there is none) and a private module or name "
        "(`from tensorflow.python.estimator.util import fn_args`), checked against the modules and top-level "
        "names TF 2.21's private packages hold (`tf_private_modules.json`, generated from the installed "
        "TensorFlow), with the modules that define the name now. contrib's private layout maps onto its "
        "successors' (`MODULE_MOVES`: `tensorflow.contrib.rnn.python.ops.core_rnn` -> "
        "`tensorflow.compat.v1.nn`, `...framework.python.ops` -> `tf_slim.ops`, or `tf_slim` for the names "
        "the old package re-exported); a private name TF 2 renamed is imported under its old name "
        "(`from tensorflow.python.util.nest import is_nested as is_sequence`) and renamed where it is used "
        "through its module (`nest.is_sequence` -> `nest.is_nested`); any other use of a member the private "
        "module no longer has (`rnn_cell_impl._linear`) is a finding.",
    before="import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport tensorflow as tf\n"
           "from tensorflow.contrib.slim.python.slim.data import tfexample_decoder\n\n"
           "net = tf.contrib.layers.conv2d(x, 4, 3)\n",
    after="import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport tensorflow as tf\nimport tf_slim\n"
          "from tf_slim.data import tfexample_decoder\n\nnet = tf_slim.layers.conv2d(x, 4, 3)\n",
    leave_import=leave_import,
    leave_import_from=leave_import_from,
    leave_module=stale_imports,
)
