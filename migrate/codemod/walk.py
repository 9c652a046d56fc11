"""The pass's tree walk: libcst's `CSTNode.visit` semantics, without rebuilding what did not change.

libcst's transformer rebuilds every node it descends into (`_visit_and_replace_children` calls each
node class's constructor, which validates the node) and routes each child through generator helpers
(`visit_sequence`, `visit_required` ...) and two no-op callbacks per field: a third of the pass on
dense TF 1 code. `walk` calls the same `on_visit` / `on_leave` of the transformer, in the same order
(each field in the order libcst's own `_visit_and_replace_children` visits it: source order), and
hands `on_leave` the original node itself when none of its children changed (a rebuilt node
otherwise, built and validated as libcst builds it), so untouched subtrees are neither copied nor
re-validated. `on_visit_attribute` / `on_leave_attribute` are not called (the pass has none).

The field order is read once per node class from libcst's own `_visit_and_replace_children` (its
`return Cls(field=visit_xxx(self, "field", self.field, visitor), ...)`, or `return self` for a leaf); a class whose method does
not have that shape is walked by libcst itself (same result, slower; its rebuilt node is dropped for the
original when every field is the same object). `tests/test_codemod_speed.py`
checks the order against libcst's for every node class. This module is the one place that reads that
libcst internal.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap

import libcst as cst

_ONE, _OPTIONAL, _SENTINEL, _SEQUENCE, _BODY, _EITHER = range(6)
_HELPERS = {"visit_required": _ONE, "visit_optional": _OPTIONAL, "visit_sentinel": _SENTINEL,
            "visit_sequence": _SEQUENCE, "visit_body_sequence": _BODY}
_FIELDS: dict[type, tuple[tuple[str, int], ...] | None] = {}
_NAMES: dict[type, tuple[str, ...]] = {}


def fields(cls: type) -> tuple[tuple[str, int], ...] | None:
    """(field, kind) in libcst's visiting order for node class `cls`; None when its
    `_visit_and_replace_children` is not the plain constructor call `walk` knows."""
    try:
        return _FIELDS[cls]
    except KeyError:
        pass
    spec = None
    try:
        source = textwrap.dedent(inspect.getsource(cls._visit_and_replace_children))
        spec = _spec(ast.parse(source).body[0], cls)
    except (OSError, TypeError, SyntaxError, IndexError):
        spec = None
    _FIELDS[cls] = spec
    return spec


def _spec(func: ast.AST, cls: type) -> tuple[tuple[str, int], ...] | None:
    body = [s for s in getattr(func, "body", ()) if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            and not _local_copy(s)]  # `names = self.names` before the return
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    ctor = body[0].value
    if isinstance(ctor, ast.Name) and ctor.id == "self":
        return ()  # a leaf (`return self`)
    if not isinstance(ctor, ast.Call) or ctor.args:
        return None
    by_name = isinstance(ctor.func, ast.Name) and ctor.func.id == cls.__name__
    by_class = isinstance(ctor.func, ast.Attribute) and ctor.func.attr == "__class__" and \
        isinstance(ctor.func.value, ast.Name) and ctor.func.value.id == "self"
    if not (by_name or by_class):
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    out, seen = [], set()
    for kw in ctor.keywords:
        if kw.arg is None or kw.arg not in names:
            return None
        seen.add(kw.arg)
        value = kw.value
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self" \
                and value.attr == kw.arg:
            continue  # a plain value (`value=self.value`): not visited
        if isinstance(value, ast.IfExp):  # `visit_sequence(...) if <it is a sequence> else visit_required(...)`
            if not all(_helper(v, kw.arg) is not None or (isinstance(v, ast.Constant) and v.value is None)
                       for v in (value.body, value.orelse)):
                return None
            out.append((kw.arg, _EITHER))
            continue
        kind = _helper(value, kw.arg)
        if kind is None:
            return None
        out.append((kw.arg, kind))
    if seen != names:
        return None  # a field the constructor call leaves to its default: not the shape we know
    return tuple(out)


def _local_copy(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
        and isinstance(stmt.value, ast.Attribute) and isinstance(stmt.value.value, ast.Name) \
        and stmt.value.value.id == "self" and stmt.value.attr == stmt.targets[0].id


def _helper(value: ast.AST, name: str) -> int | None:
    """The kind of a `visit_xxx(self, "name", ..., visitor)` call, None for anything else."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in _HELPERS \
            and len(value.args) == 4 and isinstance(value.args[1], ast.Constant) and value.args[1].value == name:
        return _HELPERS[value.func.id]
    return None


def walk(visitor, node: cst.CSTNode):
    """`node.visit(visitor)` for a transformer whose on_visit_attribute / on_leave_attribute do nothing."""
    if not visitor.on_visit(node):
        updated = node
    else:
        spec = _FIELDS.get(type(node), False)
        if spec is False:
            spec = fields(type(node))
        if spec is None:  # libcst's own method: it rebuilds the node; keep the original if nothing changed
            updated = node._visit_and_replace_children(visitor)
            if _same(node, updated):
                updated = node
        else:
            updated = _children(visitor, node, spec)
    result = visitor.on_leave(node, updated)
    if not isinstance(result, (cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel)):
        raise cst.CSTValidationError("Expected a node of type CSTNode or a RemovalSentinel, "
                                     f"but got a return value of {type(result).__name__}")
    return result


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _same(a: cst.CSTNode, b: cst.CSTNode) -> bool:
    """`b` holds the very field values of `a` (sequences item by item)."""
    for name in _names(type(a)):
        x, y = getattr(a, name), getattr(b, name)
        if x is not y and not (type(x) in (tuple, list) and type(y) in (tuple, list) and len(x) == len(y)
                               and all(p is q for p, q in zip(x, y, strict=True))):
            return False
    return True


def _children(visitor, node: cst.CSTNode, spec) -> cst.CSTNode:
    changes = None
    for name, kind in spec:
        value = getattr(node, name)
        if kind == _EITHER:  # a field that holds a node or a sequence of them (ImportFrom.names)
            kind = _SEQUENCE if type(value) in (tuple, list) else _OPTIONAL
        if kind <= _SENTINEL:
            if not isinstance(value, cst.CSTNode):  # None, MaybeSentinel.DEFAULT
                continue
            new = walk(visitor, value)
            if isinstance(new, cst.FlattenSentinel) or (kind == _ONE and isinstance(new, cst.RemovalSentinel)):
                raise TypeError(f"We got a {type(new).__name__} while visiting a {type(value).__name__}. This "
                                "node's parent does not allow it.")
            if isinstance(new, cst.RemovalSentinel):
                new = None if kind == _OPTIONAL else cst.MaybeSentinel.DEFAULT
        else:
            new = _sequence(visitor, value, kind == _BODY)
        if new is not value:
            if changes is None:
                changes = {}
            changes[name] = new
    if changes is None:
        return node
    # libcst's `_visit_and_replace_children` passes every field: the same constructor, the same validation
    return type(node)(**{name: changes[name] if name in changes else getattr(node, name) for name in _names(type(node))})


def _sequence(visitor, items, body: bool):
    out, same = [], True
    for child in items:
        new = walk(visitor, child)
        if new is child:
            out.append(new)
            continue
        same = False
        if isinstance(new, cst.RemovalSentinel):
            continue
        for item in (new if isinstance(new, cst.FlattenSentinel) else (new,)):
            if body and not child._is_removable() and item._is_removable():
                continue  # visit_body_iterable: a statement emptied by a removal goes too
            out.append(item)
    return items if same else tuple(out)
