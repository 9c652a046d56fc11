"""The engine's layout services: where nodes of the original module are (findings, calls), and keeping
continuation lines aligned when a rule changes a callee's length (`TF2Codemod` mixes `Layout` in)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

import libcst as cst
from libcst._nodes.internal import CodegenState


class _NoPosition:
    """A reusable, do-nothing context manager (`_Render.record_syntactic_position`)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> bool:
        return False


_NO_POSITION = _NoPosition()


class _Render(CodegenState):
    """libcst's CodegenState minus the generator-based context manager that every expression and
    statement enters (`record_syntactic_position`, a no-op unless positions are tracked): a quarter of
    the code generation."""

    __slots__ = ()

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        return _NO_POSITION


def render(module: cst.Module) -> str:
    """`module.code`, byte for byte (tests/test_codemod_speed.py), faster."""
    state = _Render(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return "".join(state.tokens)


_MARK_VALUE = re.compile(r"# tf-migrate chunk 5c1e (\d+)")  # chunks.MARK as a libcst Comment's value


def _groups(body) -> list[list[cst.CSTNode]] | None:
    """A synthetic module's top-level statements: [the head's, chunk 0's, chunk 1's, ...], each chunk's
    first statement carrying its marker as its first leading line; None otherwise."""
    groups: list[list[cst.CSTNode]] = [[]]
    for stmt in body:
        for i, line in enumerate(getattr(stmt, "leading_lines", ())):
            m = line.comment is not None and _MARK_VALUE.fullmatch(line.comment.value)
            if m:
                if i != 0 or int(m.group(1)) != len(groups) - 1:
                    return None
                groups.append([])
        groups[-1].append(stmt)
    return groups


def render_plan(module: cst.Module, original: cst.Module, plan) -> str:
    """`render(module)` for the pass's output on a synthetic module (`chunks.Plan`): a chunk whose
    statements are all the very nodes of the input (nothing in it changed) is its input text as is,
    without code generation; anything unexpected renders the whole module."""
    new, old = _groups(module.body), _groups(original.body)
    if new is None or old is None or not len(new) == len(old) == len(plan.chunks) + 1 \
            or not module.has_trailing_newline:
        return render(module)
    state = _Render(default_indent=module.default_indent, default_newline=module.default_newline)
    for node in (*module.header, *new[0]):
        node._codegen(state)
    for k, (ours, theirs) in enumerate(zip(new[1:], old[1:], strict=True)):
        if len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs, strict=True)):
            state.add_token(plan.piece(k))
        else:
            for node in ours:
                node._codegen(state)
    for node in module.footer:
        node._codegen(state)
    return "".join(state.tokens)


class Layout:
    """Mixed into `TF2Codemod`: uses its `_root`, `source`, `plan`, `_indents` and the caches it sets up."""

    def positions(self, nodes: list[cst.CSTNode], calls: bool = False) -> dict[int, tuple[int, int]]:
        """(line, 0-based column) where each node of the original module starts.

        One code-generation pass that notes where the wanted nodes begin: ~50x cheaper than resolving
        libcst's PositionProvider for the whole module, which matters because most files have findings.
        """
        want = {id(n) for n in nodes} - set(self._positions)
        calls = calls and not self._calls_located
        if want or calls:
            self._calls_located = self._calls_located or calls
            state = _Locator(default_indent=self._root.default_indent,
                             default_newline=self._root.default_newline, wanted=want, calls=calls)
            try:
                self._root._codegen(state)
            except _AllFound:
                pass  # the rest of the module holds none of the wanted nodes
            self._positions.update(state.found)
            self._call_end.update(state.call_end)
        return self._positions

    def _call_span(self, call: cst.Call) -> tuple[int, int, int] | None:
        """(line, column of the callee, last line) of an original call, from Python's own parser.

        `ast` (C) lists the calls in the same order libcst visits them, so the k-th call visited is
        the k-th in source order; this saves a code-generation pass with position tracking per file.
        None when the two disagree (then the slow path locates it).
        """
        if self._ast_calls is None and self.plan is not None:
            self._ast_calls = self.plan.calls()  # the file's own parse, moved to the synthetic lines
        if self._ast_calls is None:
            import ast  # noqa: PLC0415

            try:  # the engine's own parse of the file when it has one (`source_tree`)
                tree = self.source_tree if self.source_tree is not None else ast.parse(self.source)
            except (SyntaxError, ValueError):
                self._ast_calls = []
                return None
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
            calls.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
            self._ast_calls = calls
        index = self._call_index.get(id(call))
        if index is None or index >= len(self._ast_calls) or not self.source:
            return None
        node = self._ast_calls[index]
        func = node.func
        if self._lines is None:
            self._lines = self.source.splitlines(keepends=True)
        text = self._lines[func.lineno - 1]
        column = len(text.encode("utf-8")[:func.col_offset].decode("utf-8", errors="replace"))
        return func.lineno, column, node.end_lineno

    def _realign(self, original: cst.Call, call: cst.Call) -> cst.Call:
        """Keep continuation lines aligned to the call's `(` when the callee's length changed."""
        old = _flat_code(original.func)
        if old is None:
            old = self._root.code_for_node(original.func)
        new = _flat_code(call.func)
        delta = len(new if new is not None else cst.Module([]).code_for_node(call.func)) - len(old)
        if delta == 0 or "\n" in old:
            return call
        span = self._call_span(original)
        if span is not None and self._lines[span[0] - 1][span[1]:span[1] + len(old)] != old:
            span = None  # the two parsers disagree on this call: locate it the slow way
            line, start = self.positions([original.func], calls=True)[id(original.func)]
            end = self._call_end.get(id(original), line)
        else:
            line, start, end = span
        if end == line:
            return call  # a one-line call: nothing to align
        column = start + len(old) + 1  # first column after `(`

        block = sum(len(i) for i in self._indents)  # what `indent=True` continuation lines start with
        shifter = _Shift(column, delta, block)
        args = [shifter.shift(arg) for arg in call.args]
        return call.with_changes(args=args, whitespace_before_args=shifter.shift(call.whitespace_before_args))


def _no_space(ws: cst.CSTNode) -> bool:
    return type(ws) is cst.SimpleWhitespace and ws.value == ""


def _flat_code(node: cst.BaseExpression) -> str | None:
    """The code of a plain dotted name (`tf.compat.v1.placeholder`: no parentheses, no whitespace around
    the dots), without a code-generation pass; None for anything else."""
    parts = []
    while type(node) is cst.Attribute:
        dot = node.dot
        if node.lpar or node.rpar or type(dot) is not cst.Dot or not _no_space(dot.whitespace_before) \
                or not _no_space(dot.whitespace_after) or type(node.attr) is not cst.Name or node.attr.lpar \
                or node.attr.rpar:
            return None
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name or node.lpar or node.rpar:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class _AllFound(Exception):
    """_Locator: every wanted node is located; the code generation can stop."""


@dataclass
class _Locator(CodegenState):
    """A CodegenState that records the (line, column) where the wanted nodes start.

    With `calls`, it also records where the callee of every call starts and the line each call ends on.
    """

    wanted: set[int] = field(default_factory=set)
    found: dict[int, tuple[int, int]] = field(default_factory=dict)
    calls: bool = False
    call_end: dict[int, int] = field(default_factory=dict)
    _line: int = 1
    _column: int = 0
    _seen: int = 0

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        return _NO_POSITION  # as CodegenState's: this locator notes starts in before_codegen

    def _advance(self) -> None:
        for token in self.tokens[self._seen:]:
            newlines = token.count("\n")
            if newlines:
                self._line += newlines
                self._column = len(token) - token.rfind("\n") - 1
            else:
                self._column += len(token)
        self._seen = len(self.tokens)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if self.calls and type(node) is cst.Call:
            self.wanted.add(id(node.func))
        if id(node) in self.wanted:
            self._advance()
            self.found[id(node)] = (self._line, self._column)
            if not self.calls and len(self.found) == len(self.wanted):
                raise _AllFound

    def after_codegen(self, node: cst.CSTNode) -> None:
        if self.calls and type(node) is cst.Call:
            self._advance()
            self.call_end[id(node)] = self._line


# The fields of each node class (dataclass fields: children, sequences of children, plain values).
_FIELDS: dict[type, tuple[str, ...]] = {}


class _Shift:
    """Move continuation lines aligned at or right of `column` (visual indents of an edited call) by `delta`.

    Hanging indents (left of the call's `(`) are left alone, as pycodestyle tells them apart. Only the
    nodes on the way to a moved `ParenthesizedWhitespace` are rebuilt (a `CSTTransformer` would rebuild
    every node of the arguments: 8% of a run on dense TF 1 code); the others are kept as they are.
    """

    def __init__(self, column: int, delta: int, block: int):
        self.column, self.delta, self.block = column, delta, block

    def moved(self, ws: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
        base = self.block if ws.indent else 0
        width = base + len(ws.last_line.value)
        if width < self.column or width + self.delta < base:
            return ws
        return ws.with_changes(last_line=cst.SimpleWhitespace(" " * (width + self.delta - base)))

    def shift(self, node: cst.CSTNode) -> cst.CSTNode:
        """`node` with its continuation lines moved (the same object when none moves)."""
        kind = type(node)
        if kind is cst.ParenthesizedWhitespace:
            return self.moved(node)
        names = _FIELDS.get(kind)
        if names is None:
            names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
        changes = None
        for name in names:
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                new = self.shift(value)
            elif type(value) in (list, tuple) and value:
                items = [self.shift(v) if isinstance(v, cst.CSTNode) else v for v in value]
                new = value if all(a is b for a, b in zip(items, value, strict=True)) else type(value)(items)
            else:
                continue
            if new is not value:
                if changes is None:
                    changes = {}
                changes[name] = new
        return node if changes is None else node.with_changes(**changes)
