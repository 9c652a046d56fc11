"""Parse a long module in batches of top-level statements (an optimisation: the same tree).

libcst's parser costs more per line the longer the module (tensorflow/nmt concatenated: 0.095 ms per
line at 7,000 lines, 0.165 ms at 50,000), so a long module is cut at top-level statement boundaries into
pieces of about `BATCH_LINES` lines, each parsed on its own, and their statements joined into one
`cst.Module`: a piece's trailing blank and comment lines (its module footer) become leading lines of
the next piece's first statement, exactly where a whole-module parse puts them. Each later piece is
parsed behind a dummy `if 1:` block indented like the first piece, so that libcst infers the same
indentation unit as for the whole module (failing that, the module is parsed whole). `tests/test_codemod_chunks.py` checks that the
joined tree renders byte-identically.

The parser's nodes are built without libcst's per-node validation (`CSTNode.__post_init__` runs
`_validate()` for each of them: 45% of the parse, and the native parser only builds nodes of valid
source). Nodes built later, by the pass and the rules, are validated as usual. This is the one place
that touches that libcst internal; `_unvalidated` checks it is what it expects and otherwise validates.
"""

from __future__ import annotations

import bisect
import contextlib

import libcst as cst
from libcst._nodes.base import CSTNode

BATCH_LINES = 600

# libcst's own `CSTNode.__post_init__` (libcst 1.x: `self._validate()`, nothing else).
_POST_INIT = CSTNode.__dict__.get("__post_init__")
_POST_INIT_OK = _POST_INIT is not None and _POST_INIT.__code__.co_names == ("_validate",)


def _no_validation(self) -> None:
    pass


@contextlib.contextmanager
def _unvalidated():
    """Nodes built inside skip libcst's validation (restored on exit, exceptions included)."""
    if not _POST_INIT_OK or CSTNode.__dict__.get("__post_init__") is not _POST_INIT:
        yield  # another libcst, or already inside: validate as usual
        return
    CSTNode.__post_init__ = _no_validation
    try:
        yield
    finally:
        CSTNode.__post_init__ = _POST_INIT


def parse(source: str, starts: list[int]) -> cst.Module:
    """`cst.parse_module(source)`, in batches cut before the 1-based lines in `starts` (sorted
    top-level statement starts, comments and decorators included or not: any line where a top-level
    statement begins or a top-level comment precedes one)."""
    lines = source.splitlines(keepends=True)
    if len(lines) <= 2 * BATCH_LINES or not starts:
        return cst.parse_module(source)
    cuts, last = [], 1
    while True:
        k = bisect.bisect_left(starts, last + BATCH_LINES)
        if k >= len(starts) or len(lines) - starts[k] < BATCH_LINES // 2:
            break
        cuts.append(starts[k])
        last = starts[k]
    if not cuts:
        return cst.parse_module(source)
    bounds = [1, *cuts, len(lines) + 1]
    pieces = ["".join(lines[a - 1:b - 1]) for a, b in zip(bounds, bounds[1:], strict=False)]
    first = cst.parse_module(pieces[0])
    # libcst infers the indentation unit from the first indented line: a dummy first statement gives
    # every later piece the first piece's unit (its blocks keep `indent=None` where the whole parse would).
    nl, unit = first.default_newline, first.default_indent
    dummy = f"if 1:{nl}{unit}pass{nl}"
    body = list(first.body)
    carry = list(first.footer)
    last = first
    for piece in pieces[1:]:
        m = cst.parse_module(dummy + piece)
        if m.default_indent != unit or m.default_newline != nl or len(m.body) < 2:
            return cst.parse_module(source)
        head = m.body[1]
        body.append(head.with_changes(leading_lines=[*carry, *head.leading_lines]))
        body.extend(m.body[2:])
        carry = list(m.footer)
        last = m
    return first.with_changes(body=body, footer=carry, has_trailing_newline=last.has_trailing_newline)
