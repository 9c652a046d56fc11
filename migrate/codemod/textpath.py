"""The text path: statements whose rewrite is a text substitution are edited without libcst.

libcst's parse, walk and printing cost ~0.5 s per 1,000 lines of dense TF 1 code, Python's own parser
(`ast`, in C) a twentieth of that. For each statement the chunk planner cuts out (`chunks.py`), this
module decides from its `ast` whether every rule would only rename references, make a call edit a rule
gives as text (`TextCall`: a new callee, text inserted before or after an argument, a keyword renamed) and
realign the continuation lines of a call whose callee changed length; such a statement is edited in its
text (right to left on each line: every other byte stays) and never reaches libcst. Everything else,
or anything this module cannot prove, stays a chunk of the libcst pass:

* which references and calls are text-safe is the rules' data: the rule owning references gives its
  decision as `Rule.text_reference` (TFM001: the tables' target, written relative to the binding), each
  rule with a `leave_call` hook says with `Rule.text_call` for which calls that hook does nothing; a rule
  with a hook and no such declaration keeps every statement its hook could see in the libcst pass;
* a statement goes to libcst when it binds a name the file binds to TensorFlow, mentions a word a rule
  watches (`Rule.words`), holds a lambda, comprehension, f-string, a string over several lines, a
  backslash continuation, a tab in a realigned line, a reference written with spaces, comments or
  parentheses around it, or an import, a `def` or a `class` (their hooks read more than the statement);
* what the rules observe (`note_reference`, `note_call`, TF 1 evidence, which imports stay used) is
  replayed into the libcst pass in source order (`TF2Codemod.replay`), with `TextNode`s standing for the
  nodes (their findings are located where the node starts, as `Layout.positions` would locate them).

`TF_MIGRATE_CODEMOD_TEXT=0` in the environment turns the text path off (every TF statement through
libcst: `tests/test_codemod_textpath.py` compares both on every fixture, the golden files and the sample).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import NamedTuple

NOT_TEXT = object()  # what a rule's text_reference returns where only the libcst pass can tell
ENV = "TF_MIGRATE_CODEMOD_TEXT"


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


class TextRef(NamedTuple):
    """A rule's decision on one reference (`Rule.text_reference`).

    Attributes:
        target: the text written instead of the reference (`tf.math.log`), or None: unchanged.
        final: the canonical name the reference now stands for (what `note_reference` hooks see).
        evidence: the name is TF 1-only (the file is TF 1 code).
    """

    target: str | None
    final: str
    evidence: bool
    ambiguous: bool = False  # a name TF 2 has with another meaning, rewritten because the pass assumes TF 1


class Arg(NamedTuple):
    """One argument of a call, in source order: its keyword (None: positional), its `ast` value, and
    whether the value is written in parentheses of its own (`f((x))`)."""

    keyword: str | None
    value: ast.expr
    wrapped: bool


class CallShape(NamedTuple):
    """What a rule's `text_call` sees of a call of the TF name `name`."""

    name: str
    positional: int
    keywords: frozenset[str]
    star: bool                  # `*args` or `**kwargs`
    args: tuple[Arg, ...]
    root: str                   # the callee's first name (`tf`)
    callee: tuple[str, ...]     # the callee's dotted parts as written
    closed: bool                # the last argument is followed by the call's `)` itself (no comma, space)


class TextCall(NamedTuple):
    """A rule's text edit of a call (`Rule.text_call`), what its `leave_call` would write:

    Attributes:
        func: the new callee (None: as it is).
        before: (argument index, text) inserted before an argument (`rate=1 - `; a keyword argument's own
            keyword is then replaced by `keyword`).
        keyword: (argument index, new keyword) for keyword arguments renamed.
        after: (argument index, text) inserted right after an argument's value (`, tf.float32`, `)`).
        evidence / ambiguous: what the hook notes (TF 1-only form / a rewrite kept only in TF 1 code).
    """

    func: str | None = None
    before: tuple[tuple[int, str], ...] = ()
    keyword: tuple[tuple[int, str], ...] = ()
    after: tuple[tuple[int, str], ...] = ()
    evidence: bool = False
    ambiguous: bool = False


class TextNode:
    """Stands for a node the text path handled, for the rules' observations and findings: `line` (1-based)
    and `column` (0-based, in characters) where it starts in the source file; `func` for a call."""

    __slots__ = ("line", "column", "func")

    def __init__(self, line: int, column: int, func: TextNode | None = None):
        self.line, self.column, self.func = line, column, func


@dataclass
class View:
    """What the rules' text hooks may read (the same names as on `TF2Codemod`)."""

    rules: object              # RuleSet
    tables: object             # tables.Tables
    bindings: object           # transform.ModuleBindings (module-level TF imports only)
    assume_tf1: bool = True    # the pass's assumption (`TF2Codemod.assume_tf1`)

    @property
    def tf_alias(self) -> str | None:
        """The file's name for `tensorflow` (`TF2Codemod._tf_alias`)."""
        return next((n for n, c in self.bindings.names.items() if c == "tf"), None)


@dataclass
class Piece:
    """One statement (or statement group / compound header) done on the text path."""

    start: int                                  # first original line (1-based)
    end: int
    lines: dict[int, str]                       # line (1-based) -> its new text, for the lines that change
    # ("ref", node, root, final, changed, evidence), ("call", node, name), ("flags", evidence, ambiguous)
    events: list[tuple] = field(default_factory=list)
    header: bool = False                        # a compound statement's header (given a `pass` body when parsed)


# Statements handled here (their hooks read nothing beyond them); compound statements by their header.
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Assert, ast.Raise, ast.Pass)
_HEADERS = (ast.With, ast.If, ast.While, ast.For)
# Expressions that bind names or whose positions `ast` gives differently from libcst.
_REJECT = (ast.Lambda, ast.NamedExpr, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.JoinedStr,
           ast.Starred)


class _No(Exception):
    """This statement goes to the libcst pass."""


class Planner:
    """Decides and edits statements for one file (`chunks.plan` asks it about each cut it makes)."""

    def __init__(self, lines: list[str], names: dict[str, str], view: View):
        self.lines = lines
        self.names = names
        self.view = view
        self.words = view.rules.words
        reference = [r.text_reference for _, r in view.rules.known.items() if r.leave_reference is not None]
        self.reference = reference[0] if len(reference) == 1 else None
        self.calls = [(code, view.rules.rule(code).text_call) for code, _ in view.rules.hooks("leave_call")]
        self._refs: dict[tuple[str, ...], object] = {}

    def piece(self, stmts: list[ast.stmt], start: int, end: int, header: bool) -> Piece | None:
        """The text edit of lines start..end (the statements `stmts`, or a compound statement's header),
        or None: the libcst pass does them."""
        if self.reference is None:
            return None
        try:
            return self._piece(stmts, start, end, header)
        except _No:
            return None

    # -- deciding -----------------------------------------------------------------------------------
    def _piece(self, stmts, start, end, header) -> Piece:
        exprs: list[ast.AST] = []
        if header:
            (s,) = stmts
            if not isinstance(s, _HEADERS):
                raise _No
            if isinstance(s, ast.With):
                for item in s.items:
                    exprs.append(item.context_expr)
                    if item.optional_vars is not None:
                        exprs.append(item.optional_vars)
            elif isinstance(s, ast.For):
                exprs += [s.target, s.iter]
            else:
                exprs.append(s.test)
        else:
            for s in stmts:
                if not isinstance(s, _SIMPLE):
                    raise _No
                exprs.append(s)
        for ln in range(start, end + 1):
            text = self.lines[ln - 1]
            if text.rstrip("\r\n").endswith("\\"):
                raise _No  # a backslash continuation (or a comment ending in one)
        refs, calls = [], []
        for e in exprs:
            self._scan(e, refs, calls)
        indent = self.lines[start - 1]
        indent = indent[:len(indent) - len(indent.lstrip(" \t"))]
        piece = Piece(start, end, {}, header=header)
        edits: dict[int, list[tuple[int, int, str]]] = {}  # line -> [(start col, end col, text)]
        written: dict[int, tuple[int, str]] = {}           # id(ref node) -> (delta, old text)
        nodes: dict[int, TextNode] = {}
        for node, root, parts in refs:
            decision = self._decide(root, parts)
            line = node.lineno
            text = self.lines[line - 1]
            col, end_col = _chars(text, node.col_offset), _chars(text, node.end_col_offset)
            old = ".".join(parts)
            if node.end_lineno != line or text[col:end_col] != old:
                raise _No  # spaces, comments or a line break inside the dotted name
            self._unparenthesized(node, text, col, end_col)
            proxy = nodes[id(node)] = TextNode(line, col)
            changed = decision.target is not None
            if changed:
                edits.setdefault(line, []).append((col, end_col, decision.target))
                written[id(node)] = (len(decision.target) - len(old), old)
            piece.events.append(("ref", proxy, root, decision.final, changed, decision.evidence))
            if decision.ambiguous:
                piece.events.append(("flags", False, True))
        for call, name in calls:
            if name is None:
                continue
            shape = self._shape(call, name)
            done = None
            # `TF2Codemod.leave_Call`: a call of a TF 2 name is TF 1 code only if the file is (the rerun skips
            # its hooks) unless its meaning changed; a rewrite notes TF 1 evidence or an ambiguous rewrite.
            tables = self.view.tables
            tf2_name = not name.startswith("tf.compat.") and tables.exists(name)
            meaning = tf2_name and name in tables.meaning_changed
            for _, decide in (() if tf2_name and not self.view.assume_tf1 and not meaning else self.calls):
                out = decide(self.view, shape) if decide is not None else False
                if out is True:
                    continue
                if out is False or done is not None:
                    raise _No  # libcst decides, or two rules edit one call
                done = out
            piece.events.append(("call", TextNode(call.lineno, 0, nodes[id(call.func)]), name))
            if done is not None:
                done = done._replace(evidence=done.evidence or not tf2_name,
                                     ambiguous=done.ambiguous or (tf2_name and not meaning))
                self._call_edits(call, shape, done, edits, written, piece)
        shifts = self._realign(calls, written, indent, start, end)
        for line in set(edits) | set(shifts):
            text = self.lines[line - 1]
            spans = sorted(edits.get(line, ()), key=lambda e: (e[0], e[1] > e[0]), reverse=True)
            for k in range(1, len(spans)):  # overlapping edits: cannot be proven equivalent
                if spans[k][1] > spans[k - 1][0] or (spans[k][:2] == spans[k - 1][:2] and spans[k][0] != spans[k][1]):
                    raise _No
            for col, end_col, new in spans:
                text = text[:col] + new + text[end_col:]
            if line in shifts:
                stripped = text.lstrip(" ")
                text = " " * shifts[line] + stripped
            piece.lines[line] = text
        return piece

    def _shape(self, call: ast.Call, name: str) -> CallShape:
        items = sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))
        args = []
        for i, a in enumerate(items):
            if type(a) is ast.keyword:
                if a.arg is None:
                    args.append(Arg(None, a.value, False))
                    continue
                args.append(Arg(a.arg, a.value, self._char_before(a.value) != "="))
            else:
                value = a.value if type(a) is ast.Starred else a
                before = self._char_before(value)
                args.append(Arg(None, value, before != "," and not (i == 0 and before == "(")))
        star = any(type(a) is ast.Starred for a in call.args) or any(k.arg is None for k in call.keywords)
        closed = False
        if items:
            last = items[-1].value if type(items[-1]) is ast.keyword else items[-1]
            closed = (last.end_lineno == call.end_lineno and last.end_col_offset == call.end_col_offset - 1)
        parts = _dotted(call.func)
        return CallShape(name, sum(1 for a in call.args if type(a) is not ast.Starred),
                         frozenset(k.arg for k in call.keywords if k.arg is not None), star, tuple(args),
                         parts[0], parts, closed)

    def _char_before(self, node: ast.expr) -> str:
        """The last character before `node` that is not a space (on its line; "" at the line's start)."""
        text = self.lines[node.lineno - 1]
        before = text[:_chars(text, node.col_offset)].rstrip(" ")
        return before[-1:] if before else ""

    def _call_edits(self, call, shape: CallShape, edit: TextCall, edits, written, piece) -> None:
        """A rule's TextCall as edits of lines (insertions and replacements at original columns)."""
        def at(line: int, col: int, end: int, text: str) -> None:
            edits.setdefault(line, []).append((col, end, text))

        if edit.func is not None:
            func = call.func
            line = func.lineno
            text = self.lines[line - 1]
            col, end = _chars(text, func.col_offset), _chars(text, func.end_col_offset)
            old = ".".join(shape.callee)
            lst = edits.get(line, [])
            edits[line] = [e for e in lst if not (e[0] == col and e[1] == end)]  # the reference's own rename
            at(line, col, end, edit.func)
            written[id(func)] = (len(edit.func) - len(old), old)
        before = dict(edit.before)
        for i, keyword in edit.keyword:
            if i in before:
                raise _No
            node = shape.args[i].value
            kw = next(k for k in call.keywords if k.value is node)
            text = self.lines[kw.lineno - 1]
            col = _chars(text, kw.col_offset)
            if text[col:col + len(kw.arg)] != kw.arg:
                raise _No
            at(kw.lineno, col, col + len(kw.arg), keyword)
        for i, text_before in before.items():
            arg = shape.args[i]
            node = arg.value
            line = self.lines[node.lineno - 1]
            col = _chars(line, node.col_offset)
            if arg.keyword is not None:  # `keep_prob=x` -> `rate=1 - x`: the keyword is replaced too
                kw = next(k for k in call.keywords if k.value is node)
                kline = self.lines[kw.lineno - 1]
                kcol = _chars(kline, kw.col_offset)
                if kw.lineno != node.lineno or kline[kcol:kcol + len(kw.arg)] != kw.arg:
                    raise _No
                eq_end = kcol + len(kw.arg)
                at(node.lineno, kcol, eq_end, text_before.split("=", 1)[0])
                at(node.lineno, col, col, text_before.split("=", 1)[1])
            else:
                at(node.lineno, col, col, text_before)
        for i, text_after in edit.after:
            node = shape.args[i].value
            line = self.lines[node.end_lineno - 1]
            at(node.end_lineno, _chars(line, node.end_col_offset), _chars(line, node.end_col_offset), text_after)
        piece.events.append(("flags", edit.evidence, edit.ambiguous))

    def _decide(self, root: str, parts: tuple[str, ...]):
        decision = self._refs.get(parts)
        if decision is None:
            decision = self._refs[parts] = self.reference(self.view, root, list(parts))
        if decision is NOT_TEXT:
            raise _No
        return decision

    def _scan(self, node: ast.AST, refs: list, calls: list) -> None:
        """The references (pure dotted chains rooted at a TF binding, and bare TF names) and calls in
        `node`; raises _No for anything the text path does not handle."""
        names, words = self.names, self.words
        stack = [node]
        while stack:
            n = stack.pop()
            kind = type(n)
            if kind is ast.Attribute:
                if n.attr in words:
                    raise _No
                parts = _dotted(n)
                if parts is not None:
                    if parts[0] in names:
                        if type(n.ctx) is not ast.Load:
                            raise _No
                        refs.append((n, parts[0], parts))
                    elif any(p in words for p in parts):
                        raise _No
                    continue
                stack.append(n.value)
                continue
            if kind is ast.Name:
                if n.id in words:
                    raise _No
                if n.id in names:
                    if type(n.ctx) is not ast.Load:
                        raise _No  # rebinding a TF name: the libcst pass switches to ScopeProvider
                    refs.append((n, n.id, (n.id,)))
                continue
            if kind is ast.Constant:
                if n.end_lineno != n.lineno:
                    raise _No  # a string over several lines: its lines are not continuation lines
                continue
            if kind in _REJECT:
                raise _No
            if kind is ast.Call:
                func = n.func
                parts = _dotted(func) if type(func) in (ast.Attribute, ast.Name) else None
                name = None
                if parts is not None and parts[0] in names:
                    base = self.view.bindings.names[parts[0]]
                    name = ".".join([base, *parts[1:]])
                calls.append((n, name))
            elif kind is ast.keyword and n.arg is not None and n.arg in words:
                raise _No
            for child in ast.iter_child_nodes(n):
                stack.append(child)
        refs.sort(key=lambda r: (r[0].lineno, r[0].col_offset))

    def _unparenthesized(self, node: ast.expr, text: str, col: int, end_col: int) -> None:
        """libcst locates a parenthesized reference at its `(`, and `ast` at the name: leave those to it."""
        after = text[end_col:].lstrip(" ")
        if not after.startswith(")"):
            return
        before = text[:col].rstrip(" ")
        if not before or before.endswith("("):
            raise _No  # `(tf.x)`, or `f(tf.x)`: told apart by the libcst pass

    def _realign(self, calls, written, indent: str, start: int, end: int) -> dict[int, int]:
        """New widths of the continuation lines of the calls whose callee changed length
        (`Layout._realign`: lines aligned at or right of the `(` move by the difference), innermost first."""
        shifts: dict[int, int] = {}
        todo = [(c, written[id(c.func)]) for c, name in calls if name is not None and id(c.func) in written]
        if not todo:
            return shifts
        if "\t" in indent:
            raise _No
        block = len(indent)
        todo.sort(key=lambda t: (t[0].end_lineno - t[0].lineno, t[0].end_col_offset - t[0].col_offset))
        for call, (delta, old) in todo:
            if delta == 0 or call.end_lineno == call.lineno:
                continue
            line = call.func.lineno
            text = self.lines[line - 1]
            fcol = _chars(text, call.func.col_offset)
            if text[fcol + len(old):fcol + len(old) + 1] != "(":
                raise _No  # space or a line break before the `(`
            column = fcol + len(old) + 1
            for ln in range(line + 1, call.end_lineno + 1):
                raw = self.lines[ln - 1]
                body = raw.lstrip(" \t")
                if not body.strip() or body.startswith("#"):
                    continue  # blank and comment lines keep their indentation
                ws = raw[:len(raw) - len(body)]
                if "\t" in ws:
                    raise _No
                width = shifts.get(ln, len(ws))
                base = block if width >= block else 0
                if width < column or width + delta < base:
                    continue
                shifts[ln] = width + delta
        return shifts


def _dotted(node: ast.expr) -> tuple[str, ...] | None:
    parts = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def _chars(text: str, byte_offset: int) -> int:
    """`ast`'s UTF-8 byte offset on a line -> a character offset."""
    if text.isascii():
        return byte_offset
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


def bindings_of(tree: ast.Module, head: int, names: frozenset[str]) -> dict[str, str] | None:
    """Local name -> canonical TF name of the module-level TensorFlow imports in the head (lines 1..head),
    as `transform.module_bindings` reads them; None when the file binds TF names any other way (an
    alias `x = tf.y`, an import in a block, a name bound twice): the text path is off for it."""
    out: dict[str, str] = {}
    for s in tree.body:
        if s.lineno > head:
            break
        if type(s) is ast.Import:
            for a in s.names:
                if a.name == "tensorflow" or a.name.startswith("tensorflow."):
                    local = a.asname or "tensorflow"
                    canon = "tf" + a.name[len("tensorflow"):] if a.asname else "tf"
                    if local in out:
                        return None
                    out[local] = canon
        elif type(s) is ast.ImportFrom and s.level == 0 and s.module and \
                (s.module == "tensorflow" or s.module.startswith("tensorflow.")):
            for a in s.names:
                if a.name == "*":
                    return None
                local = a.asname or a.name
                if local in out:
                    return None
                out[local] = "tf" + f"{s.module}.{a.name}"[len("tensorflow"):]
    if set(out) != set(names):
        return None
    return out
