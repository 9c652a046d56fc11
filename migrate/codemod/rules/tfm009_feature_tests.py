"""TFM009 feature-tests: `hasattr(tf.X, "name")` / `getattr(tf.X, "name", default)` evaluated on TF 2.21."""

from __future__ import annotations

import libcst as cst

from migrate.codemod.rules import Rule

# The builtins that test a TF module for a feature by name, and how many arguments make the test.
FEATURE_TESTS: dict[str, int] = {"hasattr": 2, "getattr": 3}


def _tf_module(cm, original: cst.BaseExpression, updated: cst.BaseExpression) -> str | None:
    """The canonical TF name (`tf.data`) the first argument names after this run: the engine's resolution
    of the input's reference, or what the codemod wrote for it (`tf.nn.rnn_cell` -> `tf.compat.v1...`)."""
    if cm._canon.get(id(original)) is None:
        return None
    parts = cm.dotted(updated)
    if parts and parts[0] in cm.bindings.names:
        return ".".join([cm.bindings.names[parts[0]], *parts[1:]])
    return cm._canon[id(original)]


def text_call(view, call) -> bool:
    """`leave_call` looks at the builtins `hasattr` / `getattr` only, never at a call of a TF name."""
    return True


def leave_call(cm, original: cst.Call, call: cst.Call, name: str | None) -> cst.BaseExpression:
    func = original.func
    if name is not None or not isinstance(func, cst.Name) or func.value not in FEATURE_TESTS:
        return call
    args = original.args
    if len(args) != FEATURE_TESTS[func.value] and not (func.value == "getattr" and len(args) == 2):
        return call
    if any(a.keyword is not None or a.star for a in args) or not isinstance(args[1].value, cst.SimpleString):
        return call
    module = _tf_module(cm, args[0].value, call.args[0].value)
    attr = args[1].value.evaluated_value
    if module is None or not isinstance(attr, str) or not attr.isidentifier():
        return call
    full = f"{module}.{attr}"
    there = cm.tables.exists(full)
    shown = f"{func.value}({cst.Module([]).code_for_node(args[0].value)}, {args[1].value.value}" \
            + (", ...)" if len(args) == 3 else ")")
    if func.value == "hasattr":
        outcome = (f"is True on TensorFlow {cm.tables.version} (`{full}` exists): the code it guards runs"
                   if there else
                   f"is False on TensorFlow {cm.tables.version} (`{full}` does not exist): the code it guards "
                   "does not run, its alternative does")
    elif len(args) == 3:
        outcome = (f"returns `{full}` on TensorFlow {cm.tables.version}" if there else
                   f"returns its default on TensorFlow {cm.tables.version} (`{full}` does not exist)")
    else:
        outcome = (f"returns `{full}` on TensorFlow {cm.tables.version}" if there else
                   f"raises AttributeError on TensorFlow {cm.tables.version} (`{full}` does not exist)")
    advice = "" if there else _advice(cm, full)
    cm.report(original, "TFM009", f"`{shown}` {outcome}; check that this branch is TF 2.21 code{advice}")
    return call


def _advice(cm, full: str) -> str:
    res = cm.tables.resolve(full)
    if res.target is not None:
        return f" (the TF 1 name is `{res.target}` now)"
    return ""


RULE = Rule(
    code="TFM009",
    name="feature-tests",
    summary="findings, no edits: hasattr(tf.X, 'name') / getattr(tf.X, 'name', default) with a literal name "
            "say what they evaluate to on TF 2.21, i.e. which branch runs",
    why="Code that supports TF 1 and TF 2 tests for features by name (`hasattr(tf.data, "
        "'get_output_shapes')`, `getattr(tf, 'contrib', None)`). After migration such a test can route TF "
        "2.21 into the TF 1 branch, where `dataset.output_shapes` fails at run time, or skip the set-up the "
        "other branch does. The codemod evaluates the test against TF 2.21's API (`tf_tables.json`) and "
        "says which branch runs, so the branch that does can be checked, and the dead one deleted.",
    before="import tensorflow as tf\n\nif hasattr(tf.data, 'get_output_shapes'):\n"
           "    shapes = tf.data.get_output_shapes(ds)\nelse:\n    shapes = ds.output_shapes\n",
    after="import tensorflow as tf\n\nif hasattr(tf.data, 'get_output_shapes'):\n"
          "    shapes = tf.compat.v1.data.get_output_shapes(ds)\nelse:\n    shapes = ds.output_shapes\n",
    leave_call=leave_call,
    text_call=text_call,
    words=frozenset(FEATURE_TESTS),
)
