"""TFM011 dimension: `x.shape[i].value` (TF 1's `Dimension`) -> `tf.compat.dimension_value(x.shape[i])`.

In TF 1 an element of a static shape is a `tf.compat.v1.Dimension`, whose `.value` is an int or None; in
TF 2 (v2 `TensorShape`, the default) it is the int or None itself, so `.value` raises
`AttributeError: 'int' object has no attribute 'value'` on a known size and `'NoneType' object has no attribute
'value'` on an unknown one. `tf.compat.dimension_value(d)` returns `d.value` for a `Dimension` and `d`
otherwise (TF 1.13+ and TF 2.21, `tensorflow/python/framework/tensor_shape.py`): the same int or None under
both behaviours, which `tests/test_codemod_dimension.py` runs.

Cases (`RULE.cases`):

* the receiver is an element of a static shape by local inference: `X.shape[i]`, `X.get_shape()[i]`,
  `tf.TensorShape(...)[i]`, or `s[i]` where every binding of `s` in the file is one of `X.shape`,
  `X.get_shape()`, `tf.TensorShape(...)`: rewritten;
* `X.get_shape().dims[i].value` / `X.shape.dims[i].value`: nothing (`dims` holds `Dimension`s in TF 2 too);
* any other `s[i].value` in a file that is TF 1 code: a finding (it may be a shape element; the codemod
  cannot tell);
* a file that binds no TensorFlow name: nothing.
"""

from __future__ import annotations

import ast

import libcst as cst

from migrate.codemod.rules import Rule
from migrate.codemod.shared import file_ast

FUNCTION = "tf.compat.dimension_value"
# Methods / properties of a tensor, variable or shape whose result is a static shape (TensorShape).
SHAPE_ATTRIBUTES: frozenset[str] = frozenset({"shape"})
SHAPE_METHODS: frozenset[str] = frozenset({"get_shape"})
# TF names whose call is a static shape.
SHAPE_CALLS: frozenset[str] = frozenset({"tf.TensorShape", "tf.compat.v1.TensorShape"})


def _shape_expr(cm, node: ast.AST, names: frozenset[str]) -> bool:
    """An `ast` expression that is a static shape: `X.shape`, `X.get_shape()`, `tf.TensorShape(...)`, or a
    name every binding of which is one of those."""
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Attribute):
        return node.attr in SHAPE_ATTRIBUTES
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SHAPE_METHODS and not node.args:
            return True
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name) and func.id in cm.bindings.names:
            return ".".join([cm.bindings.names[func.id], *reversed(parts)]) in SHAPE_CALLS
    return False


def shape_names(cm) -> frozenset[str]:
    """Names that hold a static shape wherever the file binds them (`shape = x.get_shape()`; no other
    assignment, parameter, loop target or import of the name). Computed once per file with `ast`."""
    state = cm.state["TFM011"]
    if "names" in state:
        return state["names"]
    tree = file_ast(cm)
    if tree is None:
        state["names"] = frozenset()
        return state["names"]
    shapes: set[str] = set()
    other: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and _shape_expr(cm, node.value, frozenset()):
                    shapes.add(target.id)
                else:
                    other.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and isinstance(node.target, ast.Name):
            other.add(node.target.id)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension | ast.withitem):
            target = node.optional_vars if isinstance(node, ast.withitem) else node.target
            if target is not None:
                other.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            other.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            other.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            other.update(node.names)
    state["names"] = frozenset(shapes - other)
    return state["names"]


def _receiver(cm, receiver: cst.BaseExpression) -> str:
    """'shape' when `receiver` (the `R` of `R.value`) is an element of a static shape, 'dims' when it is
    an element of `.dims` (a Dimension in TF 2 too), 'unknown' for another subscript, '' otherwise."""
    if not isinstance(receiver, cst.Subscript):
        return ""
    code = cst.Module([]).code_for_node(receiver.with_changes(lpar=[], rpar=[]))
    try:
        node = ast.parse(code.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    if not isinstance(node, ast.Subscript) or isinstance(node.slice, ast.Slice):
        return ""
    if isinstance(node.value, ast.Attribute) and node.value.attr == "dims":
        return "dims"
    return "shape" if _shape_expr(cm, node.value, shape_names(cm)) else "unknown"


def leave_attribute(cm, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression | None:
    if original.attr.value != "value" or not cm.bindings.names:
        return None
    kind = _receiver(cm, original.value)
    if kind == "shape":
        cm.evidence = True  # `.value` on a shape element: TF 1 code
        func = cst.parse_expression(cm.import_for(FUNCTION, original))
        return cst.Call(func=func, args=[cst.Arg(updated.value.with_changes(lpar=[], rpar=[]))],
                        lpar=updated.lpar, rpar=updated.rpar)
    if kind == "unknown":
        shown = cst.Module([]).code_for_node(original.value)
        cm.report_if_tf1(original.attr, "TFM011", (
            f"`{shown}.value`: if `{shown}` is an element of a static shape (a Dimension in TF 1), TF 2.21 "
            f"gives the int or None itself and `.value` raises AttributeError; write `{FUNCTION}({shown})`, "
            "which is right under both"))
    return None


RULE = Rule(
    code="TFM011",
    name="dimension",
    summary="`x.shape[i].value` / `x.get_shape()[i].value` (TF 1's Dimension) -> "
            "`tf.compat.dimension_value(x.shape[i])` where the receiver is a static shape's element by local "
            "inference; another `s[i].value` in TF 1 code is a finding",
    why="TF 2's TensorShape holds ints and None, not `Dimension`s: `x.shape[0].value` raises AttributeError "
        "(`'NoneType' object has no attribute 'value'` for an unknown size) although every name exists, so "
        "no name table sees it. `tf.compat.dimension_value(d)` is `d.value` for a Dimension and `d` otherwise: "
        "the same int or None under TF 1 and TF 2 shapes (so code that runs in `tf1_graph_mode`, with v2 "
        "shapes off, keeps working). Rewritten where the receiver is `X.shape[i]`, `X.get_shape()[i]`, "
        "`tf.TensorShape(...)[i]` or `s[i]` with `s` only ever bound to one of those; `X.shape.dims[i].value` "
        "is left alone (`dims` holds Dimensions in TF 2 too).",
    cases=(
        ("`x.shape[i].value`, `x.get_shape()[-1].value`, `tf.TensorShape(...)[i].value`, `s[i].value` with "
         "`s = x.get_shape()` the file's only binding of `s` (`TFM011_dimension`)",
         "`tf.compat.dimension_value(...)` of the element"),
        ("`x.shape.dims[i].value`, `.value` of anything that is not a subscript (`summary.value`, "
         "`self.mean.value`)", "nothing"),
        ("`s[i].value` with `s` a parameter or bound to something else, in TF 1 code (`TFM011_unknown`)",
         "nothing; a finding naming `tf.compat.dimension_value`"),
    ),
    before="import tensorflow as tf\n\n\ndef max_time(tensor):\n    return tensor.shape[1].value or "
           "tf.shape(tensor)[1]\n",
    after="import tensorflow as tf\n\n\ndef max_time(tensor):\n    return tf.compat.dimension_value(tensor.shape[1]) "
          "or tf.shape(tensor)[1]\n",
    leave_attribute=leave_attribute,
    new_state=dict,  # "names": the file's shape names (`shape_names`), computed on first need
    words=frozenset({"value"}),
)
