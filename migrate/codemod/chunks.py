"""Parse only what can change: the fast pass runs on a small module made of the file's TF statements.

libcst builds a Python object per token (0.39 s for tensorflow/nmt's 7,000 lines, 40% of a run) and
renders the whole module back, although most statements of a TF 1 file mention no TensorFlow name.
Python's own parser (`ast`, in C: 0.06 s for the same lines) finds the statements whose lines do; they
are cut out as whole lines and put, in source order, into one synthetic module (38% of nmt's lines):

* the head: every line up to the last top-level import, as is (the imports the pass adds, removes or
  rewrites live there, and `AddImportsVisitor` sees exactly what it sees in the real module);
* each later group of statements that mentions a TF name, as whole lines with their own indentation,
  under a wrapper line: none at top level, `if 1:` where `module_bindings` treats the code as module
  scope (bodies of module-level `if` / `try` / `with`), a `def` everywhere else;
* for a compound statement whose first header mentions TF (`with tf.variable_scope(...):`,
  `def f(dtype=tf.float32):`) only its header lines, with a `pass` body; its body's statements are
  cut out on their own.

Each cut is preceded by a marker comment, so the rendered output splits back into pieces that replace
the original lines; everything else stays byte-identical without being parsed. Columns are unchanged
(lines keep their indentation), line numbers are mapped back. Anything unexpected (a one-line
`if x: y = tf.z` suite is taken whole; a lone CR, a form feed, a TF import below the head, a marker
that does not come back) returns None / raises `ChunkMismatch`, and the caller parses the whole file
instead: same output, slower.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from migrate.codemod.prune import _NAMED, _identifiers

MARK = "# tf-migrate chunk 5c1e "
MARK_RE = re.compile(r"^# tf-migrate chunk 5c1e (\d+)(\r\n|\n)", re.M)
WRAP_SCOPE = "if 1:"                        # module_bindings walks module-level `if` bodies
WRAP_LOCAL = "def __tf_migrate_chunk__():"  # ... and never function bodies
_NEWLINE = re.compile(r"[^\n]*\n|[^\n]+")

# Statements with bodies. `ast.TryStar` exists from Python 3.11.
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
             ast.AsyncFunctionDef, ast.ClassDef, ast.Match) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())


class _Func(NamedTuple):
    lineno: int
    col_offset: int


class _Call(NamedTuple):
    """The parts of an `ast.Call` that `TF2Codemod._call_span` reads (a tuple: cheap to build)."""

    lineno: int
    col_offset: int
    end_lineno: int
    end_col_offset: int
    func: _Func


class ChunkMismatch(Exception):
    """The synthetic module did not map back cleanly: parse the whole file instead."""


class _Whole(Exception):
    """A statement cannot be cut out on its own lines: the enclosing compound statement is taken whole."""


@dataclass
class Chunk:
    start: int     # first original line (1-based)
    end: int       # last original line (inclusive)
    wrapper: str   # "", WRAP_SCOPE or WRAP_LOCAL
    tail: str      # "" or the `pass` line given to a header cut out without its body
    stmts: tuple = ()  # its `ast` statements (a header's: the compound statement)


@dataclass
class Plan:
    """The synthetic module for one file, and how to put its output back."""

    source: str                  # the synthetic module
    names: frozenset[str]        # every name that may be bound to TensorFlow (a superset)
    lines: list[str]             # the original lines, newlines kept
    head: int                    # lines 1..head are copied as is
    chunks: list[Chunk]
    newline: str
    in_segments: list[tuple[int, int, int]] = field(default_factory=list)  # (synthetic line, count, line)
    rendered: str = ""           # the output's changed top-level statements (set by `splice`): to check
    tree: ast.Module | None = None  # the file's `ast`
    text: list = field(default_factory=list)  # statements done on the text path (`textpath.Piece`)
    edited: list[str] | None = None  # the lines with the text path's edits (None: none)
    text_bindings: dict[str, str] | None = None  # the TF bindings the text path assumed (checked by pass 1)

    def calls(self) -> list[_Call]:
        """The calls on the synthetic module's lines, from the file's `ast`, in synthetic coordinates.

        Sorted in source order, as `TF2Codemod._call_span` wants them (the synthetic module holds the
        same text on those lines, so its own parse would give the same calls).
        """
        to_syn = {}
        for syn, count, line in self.in_segments:
            for k in range(count):
                to_syn[line + k] = syn + k
        kept = [0]  # running count of the original lines the synthetic module holds
        for line in range(1, len(self.lines) + 1):
            kept.append(kept[-1] + (line in to_syn))
        out, stack = [], [self.tree]
        stmt, call, node_type, lst = ast.stmt, ast.Call, ast.AST, list
        while stack:  # ast.iter_child_nodes, inlined (this walk is most of the cost)
            node = stack.pop()
            if isinstance(node, stmt) and kept[node.end_lineno] == kept[node.lineno - 1]:
                continue
            if type(node) is call and node.lineno in to_syn:
                func = node.func
                out.append(_Call(to_syn[node.lineno], node.col_offset, to_syn[node.end_lineno],
                                 node.end_col_offset, _Func(to_syn[func.lineno], func.col_offset)))
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, node_type):
                    stack.append(value)
                elif type(value) is lst:
                    stack.extend(v for v in value if isinstance(v, node_type))
        out.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
        return out

    def piece(self, k: int) -> str:
        """The text of chunk `k` in the synthetic module: its marker line, wrapper line, lines and tail line."""
        chunk, nl = self.chunks[k], self.newline
        return "".join((f"{MARK}{k}{nl}", chunk.wrapper + nl if chunk.wrapper else "",
                        *self.lines[chunk.start - 1:chunk.end], chunk.tail + nl if chunk.tail else ""))

    def map_in(self, pos: tuple[int, int]) -> tuple[int, int]:
        """(line, column) in the synthetic input -> in the original file."""
        return _map(self.in_segments, pos)

    def splice(self, code: str) -> tuple[str, list[tuple[int, int, int]]]:
        """The rendered synthetic module -> (the new file, segments mapping its lines back)."""
        marks = list(MARK_RE.finditer(code))
        source_lines = self.lines if self.edited is None else self.edited  # between the chunks
        if [int(m.group(1)) for m in marks] != list(range(len(self.chunks))):
            raise ChunkMismatch("a marker was lost or moved")
        head_end = marks[0].start() if marks else len(code)
        out = [code[:head_end]]
        changed = [out[0]] if out[0] != "".join(self.lines[:self.head]) else []
        line = code[:head_end].count("\n") + 1   # next line of the new file
        segments = [(1, line - 1, 1)]
        pos = self.head                         # next original line index (0-based)
        counted_line, counted_pos = 0, 0         # newlines in code[:counted_pos]
        for k, (chunk, mark) in enumerate(zip(self.chunks, marks, strict=True)):
            piece = code[mark.end():marks[k + 1].start() if k + 1 < len(marks) else len(code)]
            counted_line += code.count("\n", counted_pos, mark.end())  # incremental: linear in the file
            counted_pos = mark.end()
            syn_line = counted_line + 1
            if chunk.wrapper:
                first = chunk.wrapper + mark.group(2)
                if not piece.startswith(first):
                    raise ChunkMismatch("a wrapper line changed")
                piece = piece[len(first):]
                syn_line += 1
            if chunk.tail:
                last = chunk.tail + self.newline
                if not piece.endswith(last):
                    raise ChunkMismatch("a header's body changed")
                piece = piece[:-len(last)]
            if piece != "".join(self.lines[chunk.start - 1:chunk.end]):
                changed.append(code[mark.start():marks[k + 1].start() if k + 1 < len(marks) else len(code)])
            gap = "".join(source_lines[pos:chunk.start - 1])
            out.append(gap)
            line += gap.count("\n")
            out.append(piece)
            segments.append((syn_line, piece.count("\n") + (not piece.endswith("\n")), line))
            line += piece.count("\n")
            pos = chunk.end
        out.append("".join(source_lines[pos:]))
        self.rendered = "".join(changed)
        return "".join(out), segments


_STARTS: dict[int, tuple[list, list[int]]] = {}


def _map(segments: list[tuple[int, int, int]], pos: tuple[int, int]) -> tuple[int, int]:
    line, column = pos
    cached = _STARTS.get(id(segments))
    if cached is None or cached[0] is not segments:  # segments are sorted by their synthetic line
        cached = _STARTS[id(segments)] = (segments, [s for s, _, _ in segments])
        if len(_STARTS) > 64:
            _STARTS.clear()
            _STARTS[id(segments)] = cached
    k = bisect.bisect_right(cached[1], line) - 1
    if k >= 0:
        start, count, target = segments[k]
        if start <= line < start + count:
            return target + line - start, column
    raise ChunkMismatch(f"synthetic line {line} belongs to no piece")


def split_lines(source: str) -> list[str]:
    return _NEWLINE.findall(source)


def _statements(body: list[ast.stmt]):
    """Every statement, nested ones included (expressions hold no statements)."""
    for st in body:
        yield st
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(st, name, None)
            if inner:
                yield from _statements(inner)
        for h in getattr(st, "handlers", ()):
            yield from _statements(h.body)
        for case in getattr(st, "cases", ()):
            yield from _statements(case.body)


def tf_names(tree: ast.Module) -> frozenset[str] | None:
    """Names that may be bound to TensorFlow anywhere (imports, `alias = tf.x.y` chains).

    None for a star import of TensorFlow, a star import below the top level, or a TensorFlow import
    below the top level (pass 1 may or may not count them: the whole file is parsed then).
    """
    names: set[str] = set()
    assigns: list[tuple[str, ast.expr]] = []
    top = {id(s) for s in tree.body}
    for node in _statements(tree.body):
        kind = type(node)
        if kind is ast.Import:
            for a in node.names:
                if a.name == "tensorflow" or a.name.startswith("tensorflow."):
                    if id(node) not in top:
                        return None
                    names.add(a.asname or "tensorflow")
        elif kind is ast.ImportFrom:
            if id(node) not in top and any(a.name == "*" for a in node.names):
                return None  # `from x import *` in a block could rebind anything: pass 1 wants ScopeProvider
            if node.level == 0 and node.module and node.module.split(".")[0] == "tensorflow":
                if id(node) not in top:
                    return None
                for a in node.names:
                    if a.name == "*":
                        return None
                    names.add(a.asname or a.name)
        elif kind is ast.Assign and len(node.targets) == 1 and type(node.targets[0]) is ast.Name:
            assigns.append((node.targets[0].id, node.value))
    grew = True
    while grew:  # aliases of aliases, in any order
        grew = False
        for target, value in assigns:
            root = value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in names and target not in names:
                names.add(target)
                grew = True
    return frozenset(names)


def hit_lines(source: str, lines: list[str], tree: ast.Module, names: frozenset[str]) -> list[int]:
    """Running count of the lines that may mention a name of `names` or `tensorflow` (index: line).

    A statement that mentions one (as a name, attribute, parameter, keyword, import, `global` ...)
    has the identifier on one of its lines. ASCII sources: a regular expression over the text (it
    also matches in strings and comments: more lines than needed, never fewer). Otherwise identifiers
    may be NFKC-normalised, and the lines come from `ast` (`prune._identifiers`).
    """
    words = names | {"tensorflow"}
    hits = bytearray(len(lines) + 2)
    if source.isascii():
        starts = [0]
        for ln in lines:
            starts.append(starts[-1] + len(ln))
        pattern = re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![A-Za-z0-9_])")
        for m in pattern.finditer(source):
            hits[bisect.bisect_right(starts, m.start())] = 1
    else:
        for node in ast.walk(tree):
            kind = type(node)
            if kind is ast.Name:
                found = node.id in words
            elif kind is ast.Attribute:
                found = node.attr in words
            elif kind in _NAMED:
                found = any(i in words for i in _identifiers(node))
            else:
                continue
            if found:
                last = node.lineno if kind in _HEADED else node.end_lineno
                for line in range(node.lineno, last + 1):
                    hits[line] = 1
    out = [0]
    for line in range(1, len(lines) + 1):
        out.append(out[-1] + hits[line])
    return out


# Named nodes whose identifier sits on their first line (their range spans a body).
_HEADED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)


def _first_line(s: ast.stmt) -> int:
    return min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", ())])


class _Planner:
    def __init__(self, lines: list[str], hits: list[int]):
        self.lines, self.hits = lines, hits

    def mentions(self, first: int, last: int) -> bool:
        """Whether lines first..last may mention a TF name."""
        return self.hits[max(first, last)] > self.hits[first - 1]

    def indent_ok(self, node: ast.stmt, start: int) -> bool:
        """The statement starts its line (only whitespace before it)."""
        text = self.lines[start - 1]
        if start != node.lineno:  # a decorator starts the statement
            return text.lstrip(" \t").startswith("@")
        return len(text) - len(text.lstrip(" \t")) == node.col_offset

    def body(self, stmts: list[ast.stmt], wrapper: str) -> list[Chunk]:
        out: list[Chunk] = []
        i = 0
        while i < len(stmts):
            s = stmts[i]
            if not isinstance(s, _COMPOUND):
                j = i
                while j + 1 < len(stmts) and stmts[j + 1].lineno <= stmts[j].end_lineno:
                    j += 1
                group = stmts[i:j + 1]
                if any(isinstance(g, _COMPOUND) for g in group) or not self.indent_ok(s, s.lineno):
                    raise _Whole
                if self.mentions(s.lineno, group[-1].end_lineno):
                    out.append(Chunk(s.lineno, group[-1].end_lineno, wrapper, "", tuple(group)))
                i = j + 1
                continue
            i += 1
            if i < len(stmts) and stmts[i].lineno <= s.end_lineno:
                raise _Whole
            if self.mentions(_first_line(s), s.end_lineno):
                out.extend(self.compound(s, wrapper))
        return out

    def compound(self, s: ast.stmt, wrapper: str) -> list[Chunk]:
        start = _first_line(s)
        if not self.indent_ok(s, start):
            raise _Whole
        whole = [Chunk(start, s.end_lineno, wrapper, "", (s,))]
        if not isinstance(s, _SPLIT):  # match, try/except*: taken whole
            return whole
        body_start = _first_line(s.body[0])
        if body_start <= _header_end(s):
            return whole
        inner = WRAP_SCOPE if wrapper != WRAP_LOCAL and isinstance(s, _SCOPE_WALKED) else WRAP_LOCAL
        clauses: list[tuple[list[ast.stmt], str]] = [(s.body, inner)]
        if isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            clauses.append((s.orelse, WRAP_LOCAL))
        elif isinstance(s, ast.If):
            orelse = s.orelse
            if len(orelse) == 1 and isinstance(orelse[0], ast.If) and \
                    self.lines[orelse[0].lineno - 1].lstrip().startswith("elif"):
                # module_bindings walks the first `elif` body as module scope, not the ones below it
                scope = inner
                while len(orelse) == 1 and isinstance(orelse[0], ast.If) and \
                        self.lines[orelse[0].lineno - 1].lstrip().startswith("elif"):
                    elif_ = orelse[0]
                    if self.mentions(elif_.lineno, _first_line(elif_.body[0]) - 1):
                        return whole
                    clauses.append((elif_.body, scope))
                    scope = WRAP_LOCAL
                    orelse = elif_.orelse
                clauses.append((orelse, WRAP_LOCAL))
            else:
                clauses.append((orelse, inner))
        elif isinstance(s, ast.Try):  # handlers' types and names can mention TF: then take it whole
            if any(self.mentions(h.lineno, _first_line(h.body[0]) - 1) for h in s.handlers):
                return whole
            clauses += [(h.body, inner) for h in s.handlers]
            clauses += [(s.orelse, inner), (s.finalbody, WRAP_LOCAL)]
        out: list[Chunk] = []
        if not isinstance(s, ast.Try) and self.mentions(start, body_start - 1):
            indent = self.lines[body_start - 1]
            indent = indent[:len(indent) - len(indent.lstrip(" \t"))]
            if not indent:
                return whole
            out.append(Chunk(start, body_start - 1, wrapper, indent + "pass", (s,)))
        try:
            for stmts, wrap in clauses:
                out.extend(self.body(stmts, wrap))
        except _Whole:
            return whole
        return out


# Compound statements cut into header + body statements (Match and TryStar are taken whole).
_SPLIT = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
          ast.AsyncFunctionDef, ast.ClassDef)
# Compound statements whose bodies `transform.module_bindings` walks as module scope (cst.If / Try / With).
_SCOPE_WALKED = (ast.If, ast.Try, ast.With, ast.AsyncWith)


def _header_end(s: ast.stmt) -> int:
    """Last line of the first header (before the body): the line of the last header expression."""
    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts = [s.args, s.returns]
    elif isinstance(s, ast.ClassDef):
        parts = [*s.bases, *s.keywords]
    elif isinstance(s, (ast.With, ast.AsyncWith)):
        parts = [i.optional_vars or i.context_expr for i in s.items]
    elif isinstance(s, (ast.For, ast.AsyncFor)):
        parts = [s.iter]
    elif isinstance(s, (ast.If, ast.While)):
        parts = [s.test]
    else:
        parts = []
    return max([s.lineno] + [getattr(p, "end_lineno", None) or s.lineno for p in parts if p is not None])


def plan(source: str, tree: ast.Module | None = None, extra: frozenset[str] = frozenset(),
         text=None) -> Plan | None:
    """The synthetic module for `source`, or None when the file is better parsed whole.

    `text(lines, names, head, tree)`: a `textpath.Planner` for the file, or None; the statements it
    edits are left out of the synthetic module (`Plan.text`, `Plan.edited`)."""
    if "\x0c" in source or "\r" in source.replace("\r\n", ""):
        return None
    try:
        tree = tree or ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    names = tf_names(tree)
    if not names:
        return None
    body = tree.body
    imports = [i for i, s in enumerate(body) if isinstance(s, (ast.Import, ast.ImportFrom))]
    if not imports:
        return None
    last = imports[-1]
    while last + 1 < len(body) and body[last + 1].lineno <= body[last].end_lineno:
        last += 1  # `import x; y = 1`
    head_end = body[last].end_lineno
    lines = split_lines(source)
    planner = _Planner(lines, hit_lines(source, lines, tree, names | extra))
    try:
        chunks = planner.body(body[last + 1:], "")
    except _Whole:
        return None
    if not chunks:
        return None
    pieces, edited = [], None
    texter = text(lines, names, head_end, tree) if text is not None else None
    if texter is not None:
        kept = []
        for c in chunks:
            piece = texter.piece(list(c.stmts), c.start, c.end, bool(c.tail)) if c.stmts else None
            if piece is None:
                kept.append(c)
                continue
            pieces.append(piece)
            if piece.lines:
                if edited is None:
                    edited = list(lines)
                for ln, new in piece.lines.items():
                    edited[ln - 1] = new
        chunks = kept
    if chunks:
        chunks = _merge(chunks, lines)
    newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
    out = Plan("", names, lines, head_end, chunks, newline, [(1, head_end, 1)], tree=tree, text=pieces,
               edited=edited, text_bindings=texter.names if pieces else None)
    parts = ["".join(lines[:head_end])]
    line = head_end + 1
    for k, chunk in enumerate(chunks):
        if not lines[chunk.end - 1].endswith("\n") and (chunk.tail or k + 1 < len(chunks)):
            return None
        parts.append(out.piece(k))
        line += 1 + bool(chunk.wrapper)  # the marker and the wrapper lines
        out.in_segments.append((line, chunk.end - chunk.start + 1, chunk.start))
        line += chunk.end - chunk.start + 1 + bool(chunk.tail)
    out.source = "".join(parts)
    return out


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


def _merge(chunks: list[Chunk], lines: list[str]) -> list[Chunk]:
    """Join neighbours (same wrapper, same indentation) when only blank or comment lines separate them."""
    out = [chunks[0]]
    for c in chunks[1:]:
        prev = out[-1]
        if not prev.tail and not c.tail and prev.wrapper == c.wrapper and \
                _indent(lines[prev.start - 1]) == _indent(lines[c.start - 1]) and all(
                not ln.strip() or ln.lstrip().startswith("#") for ln in lines[prev.end:c.start - 1]):
            out[-1] = Chunk(prev.start, c.end, c.wrapper, "")
        else:
            out.append(c)
    return out
