"""TFM001 rename: TF 1.x names -> their TF 2.21 name (the decision lives in `tables.Tables.resolve`)."""

from __future__ import annotations

import libcst as cst

from migrate.codemod.rules import Rule
from migrate.codemod.shared import import_moves, schedule_removal
from migrate.codemod.tables import MODULE_MOVES, PRIVATE_MODULES, PRIVATE_RENAMES, moved_name, private_modules
from migrate.codemod.textpath import NOT_TEXT, TextRef


def _dotted_expr(name: str) -> cst.BaseExpression:
    parts = name.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def leave_reference(cm, original, updated, root: cst.Name, parts: list[str]):
    """A reference to a TF binding (`tf.log`, `rnn.LSTMCell`, `gfile.Open`): the expression to write.

    The tables (`Tables.resolve`) say which rule owns the name (TFM001, or TFM003 for tf.contrib) and
    its target; the reference is rewritten only when that rule is selected.
    """
    base = cm.binding_of(root)
    if base is None:
        if root.value in cm.bindings.names:  # the name, bound to something else here: keep its import
            cm._uses_left[root.value] = cm._uses_left.get(root.value, 0) + 1
        return updated
    name = ".".join([base, *parts[1:]])
    if len(parts) > 1 and base.split(".")[1:2] and base.split(".")[1] in PRIVATE_MODULES and "TFM004" in cm.rules:
        return _private_member(cm, original, updated, root, base, parts)
    cm._canon[id(original)] = name
    cm.current_rule = "TFM001"
    res = cm.tables.resolve(name)
    cm.current_rule = res.rule
    target = res.target if res.rule in cm.rules else None
    if res.ambiguous and res.target is not None:
        cm.ambiguous_seen = True
        if not cm.assume_tf1:
            target = None
    elif res.target is not None or res.problem:
        cm.evidence = True  # a TF 1-only name (whether or not its rule is selected)
    if res.problem:
        cm.report(original, res.rule, res.problem)
    if target is not None and root.value in cm.bindings.aliases:
        target = _through_alias(cm, root.value, parts, target)
    cm.note_reference(original, target or name)
    if (target or name).startswith("tf.compat.v1."):
        cm.compat_seen = True
    cm.current_rule = "engine"
    moved = moved_name(base, cm.tables.importable) if "TFM004" in cm.rules and import_moves(cm, root.value) else None
    if target is None or (moved is not None and (target == moved or target.startswith(moved + "."))):
        # unchanged, or the rewritten import (`import tf_slim as slim`) covers it
        cm._uses_left[root.value] = cm._uses_left.get(root.value, 0) + 1
        return updated
    cm.mark_replaced(original)
    if target.startswith(root.value + ".") and root.value in cm.bindings.aliases:
        expr = _dotted_expr(target)  # written through the alias itself (`gfile.GFile`)
        if isinstance(original, cst.Attribute) and (original.lpar or original.rpar):
            expr = expr.with_changes(lpar=original.lpar, rpar=original.rpar)
        return expr
    return _expr_for(cm, original, root, base, target, res.module)


def text_reference(view, root: str, parts: list[str]):
    """`leave_reference` for the text path (`textpath.py`): the same decision where it is a plain rename
    written relative to the binding (`tf.log` -> `tf.math.log`), with no finding, no import to add or
    drop and no name TF 2 has with another meaning; `NOT_TEXT` for everything else."""
    base = view.bindings.names.get(root)
    if base is None or root in view.bindings.aliases:
        return NOT_TEXT
    if len(parts) > 1 and base.split(".")[1:2] and base.split(".")[1] in PRIVATE_MODULES:
        return NOT_TEXT
    if "TFM004" in view.rules and (import_moves(view, root) or base in MODULE_MOVES):
        return NOT_TEXT
    name = ".".join([base, *parts[1:]])
    res = view.tables.resolve(name)
    if res.problem:
        return NOT_TEXT
    target = res.target if res.rule in view.rules else None
    ambiguous = res.ambiguous and res.target is not None
    if ambiguous and not view.assume_tf1:
        target = None
    final = target or name
    if target is None:
        return TextRef(None, final, res.target is not None and not ambiguous, ambiguous)
    if not target.startswith("tf.") or not (base == "tf" or target.startswith(base + ".")):
        return NOT_TEXT  # written through an import of its own
    return TextRef(root + target[len(base):], final, not ambiguous, ambiguous)


def _private_member(cm, original, updated, root: cst.Name, base: str, parts: list[str]):
    """`nest.is_sequence` through `from tensorflow.python.util import nest`: a member TF 2.21's private
    module lacks is renamed (PRIVATE_RENAMES: `nest.is_nested`) or a finding (TFM004) with where the name
    is defined now. A module that is gone altogether is reported at its import, not at each use."""
    cm._uses_left[root.value] = cm._uses_left.get(root.value, 0) + 1
    table = private_modules()
    module = "tensorflow" + base[2:]
    member = f"{module}.{parts[1]}"
    if not table.exists(module) or table.exists(member):
        return updated
    renamed = PRIVATE_RENAMES.get(member)
    if renamed is not None:
        cm.mark_replaced(original)
        expr = _dotted_expr(".".join([root.value, renamed, *parts[2:]]))
        if isinstance(original, cst.Attribute) and (original.lpar or original.rpar):
            expr = expr.with_changes(lpar=original.lpar, rpar=original.rpar)
        return expr
    where = [m for m in table.definers(parts[1]) if m != module][:2]
    then = (f"`{parts[1]}` is defined in {' and '.join(f'`{w}`' for w in where)} (private: import it from there, "
            "or copy it)") if where else "no module of TensorFlow defines it now: copy the code you need from " \
                                         "TF 1.x, or port it by hand"
    cm.current_rule = "TFM004"
    cm.report(original, "TFM004", f"`{member}` does not exist in TensorFlow {table.version}: {then}")
    cm.current_rule = "engine"
    return updated


def _through_alias(cm, alias: str, parts: list[str], target: str) -> str | None:
    """A use of a module alias (`gfile = tf.gfile` ... `gfile.Open`): the alias definition itself is
    rewritten (`gfile = tf.compat.v1.gfile`), so a use stays as it is when the member exists under the
    alias's new value (None), or is written relative to the alias when the target lies under it
    (`gfile.GFile`); otherwise the full target."""
    alias_now = cm.state["TFM001"]
    now = alias_now.get(alias)
    if now is None:
        canon = cm.bindings.names[alias]
        res = cm.tables.resolve(canon)
        now = res.target if res.target and res.rule in cm.rules and (cm.assume_tf1 or not res.ambiguous) \
            else canon
        alias_now[alias] = now
    tail = "".join("." + p for p in parts[1:])
    if cm.tables.exists(now + tail) and not now.startswith("tf.contrib"):
        return None
    if target.startswith(now + "."):
        return alias + target[len(now):]
    return target


def _expr_for(cm, original, root: cst.Name, base: str, target: str,
              module: str | None = None) -> cst.BaseExpression:
    """An expression for `target`, reusing the local binding when it is a prefix of the target."""
    moved = next((m for old, m in MODULE_MOVES.items() if base == old), None)
    if moved and (target == moved or target.startswith(moved + ".")) and "TFM004" in cm.rules:
        expr = _dotted_expr(root.value + target[len(moved):])
    elif target.startswith("tf.") and (base == "tf" or target.startswith(base + ".")):
        expr = _dotted_expr(root.value + target[len(base):])
    else:
        expr = _dotted_expr(cm.import_for(target, original, module))
        schedule_removal(cm, root.value, base)
    if isinstance(original, cst.Attribute | cst.Name) and (original.lpar or original.rpar):
        expr = expr.with_changes(lpar=original.lpar, rpar=original.rpar)
    return expr


RULE = Rule(
    code="TFM001",
    name="rename",
    summary="TF 1.x names -> the native TF 2 name when the behaviour is the same (tf.log -> tf.math.log), "
            "else tf.compat.v1 (tf.placeholder, tf.Session, tf.layers.*); names that TF 2.21 also has with "
            "another meaning (tf.summary.scalar, tf.data.Iterator ...) only in files that are TF 1 "
            "code (calls whose meaning changed: TFM008); references with no successor are findings",
    why="TensorFlow 2 removed or moved about 1,100 TF 1 names; `tf_upgrade_v2`'s own table (frozen in "
        "`tf_tables.json`) says where each went, with our corrections in `tables.OVERRIDES`. A name that is "
        "valid TF 2.21 is never changed in a file that has no TF 1-only reference, so TF 2 code and the "
        "codemod's own output stay as they are (idempotent). Every name written is checked to exist in "
        "TF 2.21; a name with no successor is reported, never guessed.",
    before="import tensorflow as tf\n\nx = tf.placeholder(tf.float32, [None, 3])\ny = tf.log(x)\n"
           "tf.summary.scalar('y', tf.reduce_mean(y))\n",
    after="import tensorflow as tf\n\nx = tf.compat.v1.placeholder(tf.float32, [None, 3])\ny = tf.math.log(x)\n"
          "tf.compat.v1.summary.scalar('y', tf.reduce_mean(y))\n",
    leave_reference=leave_reference,
    text_reference=text_reference,
    new_state=dict,  # alias -> what its definition now names (`gfile` -> `tf.compat.v1.gfile`)
)
