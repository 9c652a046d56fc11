"""Limits on what is handed to libcst's parser: files that would crash it, hang it or exhaust memory are
skipped before they are parsed, with the line and the limit.

libcst's native parser recurses once per nesting level and overflows its stack (SIGSEGV: the whole
process dies) past about 1,000 nested brackets; its time grows quadratically with the length of an
operator chain (`1+1+...+1`: 0.3 s for 1,000 terms, 12 s for 5,000), and its Python tree walk exceeds
the interpreter's recursion limit at about 320 nested operators. It needs about 2 KB of memory per
token (a 2.6 MB, 50,000-line module: 1.3 GB; a 10 MB line of `1,1,...`: over 20 GB).

The checks, cheapest first (each a named limit below; docs/codemod.md lists them):

* `regular_file`: only regular files are read (a FIFO, socket or device named `x.py` is never opened);
* `MAX_FILE_BYTES`: checked on the file's size before it is read (a larger file that does not mention
  TensorFlow is read in blocks and left alone, as any such file);
* `check_lines`, `MAX_LINE_CHARS`: the longest line;
* `check_nesting`, `MAX_NESTING` (brackets) and `MAX_EXPRESSION_DEPTH` (operators, attribute and call chains, brackets:
  how deep the parser nests the expression), estimated with `tokenize` on the statements that could
  exceed them: a statement shorter than `MAX_EXPRESSION_DEPTH` characters cannot, and Python's own
  parser (`ast`, already run on every file) gives the statements' extents. A file `ast` cannot parse is
  tokenized whole.

What gets past them is still contained: each file is processed in a worker process with a CPU-time and
an address-space limit (`FILE_CPU_SECONDS`, `FILE_MEMORY_BYTES`, applied by `workers.py`); a worker that
crashes or runs out of time is replaced and its file reported as skipped.
"""

from __future__ import annotations

import ast
import errno
import io
import itertools
import os
import stat
import tokenize

# Files larger than this are not parsed (libcst: about 500 bytes of memory per byte of source; the
# largest hand-written modules are about 1 MB, and the 50,000-line benchmark module is 2.6 MB).
MAX_FILE_BYTES = 8_000_000
# Longer lines are generated data, not code a person migrates (the longest line in the Python
# packages of this project's environment: 73,000 characters).
MAX_LINE_CHARS = 200_000
# Brackets nested deeper than this are refused by Python's own tokenizer (CPython's MAXLEVEL), so no
# valid module has them; libcst's native parser would overflow its stack on them.
MAX_NESTING = 200
# An expression nested deeper than this (estimated: every operator, `.`, bracket, keyword operator and
# adjacent string literal of one comma-separated operand counts one level) is not parsed: libcst's
# parse time grows with its square and its tree walk fails past about 320 real levels anyway.
MAX_EXPRESSION_DEPTH = 1_000
# Per file, in the worker process (see workers.py): CPU seconds and address space beyond the worker's own.
FILE_CPU_SECONDS = 120
FILE_MEMORY_BYTES = 6 * 1024**3

# The limits as docs/codemod.md lists them: (constant, unit, what happens past it).
LIMITS: tuple[tuple[str, str, str], ...] = (
    ("MAX_FILE_BYTES", "bytes", "file size: not read (a larger file that does not mention TensorFlow is "
                                "scanned in blocks and left alone, as any such file)"),
    ("MAX_LINE_CHARS", "characters", "longest line: not parsed (generated data)"),
    ("MAX_NESTING", "brackets", "bracket nesting: not parsed (Python's own limit; deeper crashes libcst's "
                                "native parser)"),
    ("MAX_EXPRESSION_DEPTH", "levels", "estimated expression depth (operators, `.`, calls, subscripts, "
                                       "keyword operators, adjacent strings of one operand): not parsed"),
    ("FILE_CPU_SECONDS", "s of CPU", "per file, in its worker (RLIMIT_CPU): the worker is stopped and "
                                     "replaced; ten times as much wall time is the outer bound"),
    ("FILE_MEMORY_BYTES", "bytes", "per file, address space beyond the worker's own (RLIMIT_AS): "
                                   "MemoryError or a failed allocation, the file is skipped"),
)

_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
# Tokens that end an operand: the next token starts a sibling, not a deeper level.
_RESET = frozenset({",", ";", "=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "**=", ">>=", "<<=", "&=",
                    "|=", "^=", ":="})
_KEYWORD_OPS = frozenset({"and", "or", "not", "if", "else", "lambda", "await", "in", "is", "for"})
_IGNORED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
                      tokenize.ENDMARKER})
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}


class TooBig(Exception):
    """A file exceeds one of the limits: `str(e)` is the skip reason (what, where, the limit, what to do)."""


def regular_file(st: os.stat_result) -> None:
    """TooBig unless `st` (from `os.stat` / `os.fstat`) is a regular file (directories: IsADirectoryError)."""
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise TooBig(f"not a regular file ({kind}); never opened; only regular files are read")


def too_large(size: int) -> TooBig:
    return TooBig(f"too large to parse ({size:,} bytes; limit {MAX_FILE_BYTES:,}: MAX_FILE_BYTES); left "
                  "byte-identical; split the module, or port it by hand")


def check_lines(source: str) -> list[str]:
    """The lines of `source` (newlines kept); TooBig when one is longer than MAX_LINE_CHARS (checked
    before Python's own parser sees the text: `ast` needs about 100 bytes per token too)."""
    lines = source.splitlines(keepends=True)
    longest = max(map(len, lines), default=0)
    if longest > MAX_LINE_CHARS:
        line = next(i for i, ln in enumerate(lines, 1) if len(ln) == longest)
        raise TooBig(f"line too long to parse (line {line}: {longest:,} characters; limit {MAX_LINE_CHARS:,}: "
                     "MAX_LINE_CHARS); left byte-identical; generated data belongs in a data file: move it "
                     "there, or port this module by hand")
    return lines


def check_nesting(source: str, tree: ast.Module | None, lines: list[str]) -> None:
    """TooBig when `source` nests brackets deeper than MAX_NESTING or an expression deeper than
    MAX_EXPRESSION_DEPTH.

    `tree`: the module's `ast` (its statements' extents narrow the search to the statements long enough
    to exceed the limits), or None when Python's own parser failed (then the whole text is tokenized).
    `lines`: `check_lines(source)`.
    """
    if tree is None:
        _check_tokens(source, 1)
        return
    if len(source) <= MAX_EXPRESSION_DEPTH:
        return
    offsets = [0, *itertools.accumulate(map(len, lines))]
    for first, last in _long_spans(tree.body, offsets):
        _check_tokens("".join(lines[first - 1:last]), first)


def _long_spans(body: list[ast.stmt], offsets: list[int]):
    """(first line, last line) of each simple statement or compound statement header (decorators and
    clause headers included) longer than MAX_EXPRESSION_DEPTH characters."""
    limit = MAX_EXPRESSION_DEPTH

    def long(stmts):  # a list comprehension: most statements stop here (a decorator may be the long part)
        return [s for s in stmts if offsets[s.end_lineno] - offsets[s.lineno - 1] > limit
                or (type(s) in _DECORATED and s.decorator_list)]

    stack = long(body)
    pop, extend = stack.pop, stack.extend
    while stack:
        s = pop()
        first = s.lineno
        if type(s) in _DECORATED and s.decorator_list:
            first = s.decorator_list[0].lineno
        if offsets[s.end_lineno] - offsets[first - 1] <= limit:
            continue
        if type(s) not in _COMPOUND:
            yield first, s.end_lineno
            continue
        inner = [*s.body, *getattr(s, "orelse", ()), *getattr(s, "finalbody", ())]
        clauses = [*getattr(s, "handlers", ()), *getattr(s, "cases", ())]
        starts = [b.lineno for b in inner] + [getattr(c, "lineno", None) or c.pattern.lineno for c in clauses]
        header_end = min(starts) - 1
        if header_end >= first and offsets[header_end] - offsets[first - 1] > limit:
            yield first, header_end
        for c in clauses:  # `except (A, B) as e:` / `case [x, y] if guard:` headers
            start = getattr(c, "lineno", None) or c.pattern.lineno
            end = c.body[0].lineno - 1
            if end >= start and offsets[end] - offsets[start - 1] > limit:
                yield start, end
            extend(long(c.body))
        extend(long(inner))


_DECORATED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMPOUND = frozenset({ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.FunctionDef,
                       ast.AsyncFunctionDef, ast.ClassDef, ast.Match} | ({ast.TryStar} if hasattr(ast, "TryStar") else set()))


def _check_tokens(text: str, first_line: int) -> None:
    """Estimate bracket nesting and expression depth with `tokenize` (an upper bound of the parser's).

    Each operand (between commas, `=`, `;` and statement ends) counts its operators, `.`, keyword
    operators, brackets and adjacent string literals; a bracket's content starts one level below the
    operand that holds it.
    """
    stack: list[tuple[int, int]] = []  # (base, count) of the enclosing operands
    base = count = 0
    deepest_brackets, deepest = (0, 0), (0, 0)  # (value, line)
    previous = None
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    try:
        for tok in tokens:
            kind, value = tok.type, tok.string
            if kind in _IGNORED:
                continue
            if kind == tokenize.OP:
                if value in _OPEN:
                    count += 1
                    stack.append((base, count))
                    base, count = base + count + 1, 0
                    if len(stack) > deepest_brackets[0]:
                        deepest_brackets = (len(stack), tok.start[0])
                        if len(stack) > MAX_NESTING:
                            break
                elif value in _CLOSE:
                    if stack:
                        base, count = stack.pop()
                elif value in _RESET:
                    count = 0
                else:
                    count += 1
            elif kind == tokenize.NAME and value in _KEYWORD_OPS:
                count += 1
            elif kind == tokenize.STRING and previous == tokenize.STRING:
                count += 1
            elif kind == tokenize.NEWLINE:
                stack.clear()
                base = count = 0
            previous = kind
            if base + count > deepest[0]:
                deepest = (base + count, tok.start[0])
                if deepest[0] > MAX_EXPRESSION_DEPTH:
                    break
    except (tokenize.TokenError, SyntaxError):
        pass  # a syntax error: libcst reports it; what was read so far is within the limits
    if deepest_brackets[0] > MAX_NESTING:
        raise TooBig(f"nested too deeply to parse (line {deepest_brackets[1] + first_line - 1}: brackets nested "
                     f"more than {MAX_NESTING} deep; limit {MAX_NESTING}: MAX_NESTING, Python's own); left "
                     "byte-identical; not valid Python: fix or remove that expression")
    if deepest[0] > MAX_EXPRESSION_DEPTH:
        raise TooBig(f"nested too deeply to parse (line {deepest[1] + first_line - 1}: an expression more than "
                     f"{MAX_EXPRESSION_DEPTH:,} levels deep, e.g. a long `a + b + ...` chain; limit "
                     f"{MAX_EXPRESSION_DEPTH:,}: MAX_EXPRESSION_DEPTH); left byte-identical; build it from a "
                     "list (`sum(...)`, a loop), or port this module by hand")
