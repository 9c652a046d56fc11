"""Which statements the fast pass may skip: those that do not mention a TensorFlow name at all.

Python's own parser (`ast`, in C: 40 ms for tensorflow/nmt's 7,000 lines against 400 ms for libcst's)
reads the module once more; its statements are paired one to one with libcst's (same grammar, same
order: a libcst `SimpleStatementLine` holds as many small statements as `ast` has statements on that
line). A statement none of whose identifiers (names, attributes, parameters, keywords, import names,
`global` names, ...) is a TensorFlow binding of the module, and that imports nothing from tensorflow,
can neither use nor rebind one, so visiting it cannot change the output. When the pairing fails in any
way, nothing is skipped.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst


@dataclass
class Skip:
    """A libcst statement the pass may skip, and how many calls (in source order) it contains."""

    calls: int


class _Mismatch(Exception):
    pass


def _identifiers(node: ast.AST):
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.keyword):
        if node.arg:
            yield node.arg
    elif isinstance(node, ast.alias):
        yield node.name.split(".")[0]
        if node.asname:
            yield node.asname
        if node.name == "*":
            yield "*"
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield node.name
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        yield from node.names
    elif isinstance(node, ast.ExceptHandler):
        if node.name:
            yield node.name
    elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
        if node.name:
            yield node.name
    elif isinstance(node, ast.MatchMapping):
        if node.rest:
            yield node.rest
    elif isinstance(node, ast.ImportFrom):
        yield "tensorflow" if (node.module or "").split(".")[0] == "tensorflow" else ""


_NAMED = frozenset({ast.arg, ast.keyword, ast.alias, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                    ast.Global, ast.Nonlocal, ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping,
                    ast.ImportFrom})


def _stats(tree: ast.Module, names: frozenset[str]) -> dict[int, tuple[bool, int]]:
    """id(ast statement) -> (mentions a TF name, number of calls inside), in one post-order pass."""
    stats: dict[int, tuple[bool, int]] = {}

    def visit(node: ast.AST) -> tuple[bool, int]:
        kind = type(node)
        if kind is ast.Name:
            relevant = node.id in names
        elif kind is ast.Attribute:
            relevant = node.attr in names
        elif kind in _NAMED:
            relevant = any(i in names for i in _identifiers(node))
        else:
            relevant = False
        calls = kind is ast.Call
        for child in ast.iter_child_nodes(node):
            r, c = visit(child)
            relevant = relevant or r
            calls += c
        if isinstance(node, ast.stmt):
            stats[id(node)] = (relevant, calls)
        return relevant, calls

    visit(tree)
    return stats


def skippable(module: cst.Module, source: str, names: frozenset[str]) -> dict[int, Skip]:
    """id(libcst statement) -> Skip, for the statements that cannot matter; {} when unsure."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    try:
        stats = _stats(tree, names | {"tensorflow", "*"})
        out: dict[int, Skip] = {}
        _pair(list(module.body), tree.body, stats, out)
    except (_Mismatch, IndexError, AttributeError, RecursionError):
        return {}
    return out


def _block(body) -> list:
    if isinstance(body, cst.IndentedBlock):
        return list(body.body)
    return [body]  # SimpleStatementSuite: all its small statements, on the header's line


def _pair(cst_stmts: list, ast_stmts: list, stats: dict, out: dict[int, Skip]) -> None:
    i = 0
    for st in cst_stmts:
        if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            group = ast_stmts[i:i + len(st.body)]
            if len(group) != len(st.body) or any(isinstance(a, _COMPOUND) for a in group):
                raise _Mismatch
            i += len(group)
            scans = [stats[id(a)] for a in group]
            if not any(r for r, _ in scans):
                out[id(st)] = Skip(sum(c for _, c in scans))
            continue
        a = ast_stmts[i]
        i += 1
        _compound(st, a, stats, out)
    if i != len(ast_stmts):
        raise _Mismatch


_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
             ast.AsyncFunctionDef, ast.ClassDef, ast.Match) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


def _compound(st, a, stats: dict, out: dict[int, Skip]) -> None:
    relevant, calls = stats[id(a)]
    if not relevant:  # nothing inside mentions TF: skip the whole statement
        out[id(st)] = Skip(calls)
        return
    if isinstance(st, cst.If):
        _expect(a, ast.If)
        _pair(_block(st.body), a.body, stats, out)
        if isinstance(st.orelse, cst.If):
            if len(a.orelse) != 1:
                raise _Mismatch
            _compound(st.orelse, a.orelse[0], stats, out)
        elif st.orelse is not None:
            _pair(_block(st.orelse.body), a.orelse, stats, out)
        elif a.orelse:
            raise _Mismatch
    elif isinstance(st, (cst.For, cst.While)):
        _expect(a, (ast.For, ast.AsyncFor, ast.While))
        _pair(_block(st.body), a.body, stats, out)
        _pair(_block(st.orelse.body) if st.orelse else [], a.orelse, stats, out)
    elif isinstance(st, (cst.With, cst.FunctionDef, cst.ClassDef)):
        _expect(a, (ast.With, ast.AsyncWith, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        _pair(_block(st.body), a.body, stats, out)
    elif isinstance(st, (cst.Try, cst.TryStar)):
        _expect(a, _COMPOUND)
        _pair(_block(st.body), a.body, stats, out)
        if len(st.handlers) != len(a.handlers):
            raise _Mismatch
        for h, ah in zip(st.handlers, a.handlers, strict=True):
            _pair(_block(h.body), ah.body, stats, out)
        _pair(_block(st.orelse.body) if st.orelse else [], a.orelse, stats, out)
        _pair(_block(st.finalbody.body) if st.finalbody else [], a.finalbody, stats, out)
    elif isinstance(st, cst.Match):
        _expect(a, ast.Match)
        if len(st.cases) != len(a.cases):
            raise _Mismatch
        for case, acase in zip(st.cases, a.cases, strict=True):
            _pair(_block(case.body), acase.body, stats, out)
    else:
        raise _Mismatch


def _expect(a, kinds) -> None:
    if not isinstance(a, kinds):
        raise _Mismatch
