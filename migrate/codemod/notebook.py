"""Notebooks edited in place: only the changed lines of code cells' `source` differ on disk.

A notebook is JSON, and every tool writes it its own way (nbformat: 1-space indent, `ensure_ascii=False`;
others: 2 spaces, escaped non-ASCII, no final newline ...). Re-serialising it would rewrite every line.
Instead, `locate` finds where each code cell's `source` value sits in the file's text (a small scanner:
Python's `json` does not report positions), and `splice` replaces, inside that value, only the string
elements whose line changed; everything else is the file's own bytes.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class NotebookFormatError(ValueError):
    """The file is not a notebook this module can edit in place."""


@dataclass
class Source:
    """A code cell's `source`: its span in the text, and the spans of its elements (a list) or None."""

    index: int                      # the cell's position in `cells`
    start: int
    end: int
    elements: list[tuple[int, int]] | None  # None: `source` is one string
    value: list[str] | str


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()


def _value(text: str, i: int, want: bool = False):
    """Parse the JSON value at `i` -> (value, end, child spans). Child spans only when `want`."""
    c = text[i]
    if c == '"':
        s, end = scanstring(text, i + 1)
        return s, end, None
    if c == "{":
        out, spans = {}, {}
        i = _skip(text, i + 1)
        if text[i] == "}":
            return out, i + 1, spans
        while True:
            if text[i] != '"':
                raise NotebookFormatError(f"expected a key at offset {i}")
            key, i = scanstring(text, i + 1)
            i = _skip(text, i)
            if text[i] != ":":
                raise NotebookFormatError(f"expected ':' at offset {i}")
            i = _skip(text, i + 1)
            start = i
            value, i, _ = _value(text, i)
            out[key] = value
            spans[key] = (start, i)
            i = _skip(text, i)
            if text[i] == ",":
                i = _skip(text, i + 1)
                continue
            if text[i] == "}":
                return out, i + 1, spans
            raise NotebookFormatError(f"expected ',' or '}}' at offset {i}")
    if c == "[":
        out, spans = [], []
        i = _skip(text, i + 1)
        if text[i] == "]":
            return out, i + 1, spans
        while True:
            start = i
            value, i, _ = _value(text, i)
            out.append(value)
            spans.append((start, i))
            i = _skip(text, i)
            if text[i] == ",":
                i = _skip(text, i + 1)
                continue
            if text[i] == "]":
                return out, i + 1, spans
            raise NotebookFormatError(f"expected ',' or ']' at offset {i}")
    for word, value in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, i):
            return value, i + len(word), None
    m = _NUMBER.match(text, i)
    if m:
        return json.loads(m.group()), m.end(), None
    raise NotebookFormatError(f"unexpected {c!r} at offset {i}")


def locate(text: str) -> tuple[dict, list[Source]]:
    """The notebook (as `json.loads` would give it) and where its code cells' sources are."""
    try:
        nb, end, spans = _value(text, _skip(text, 0))
    except (IndexError, ValueError) as e:
        raise NotebookFormatError(str(e)) from e
    if not isinstance(nb, dict) or _skip(text, end) != len(text):
        raise NotebookFormatError("not a JSON object")
    cells_span = spans.get("cells")
    if cells_span is None:
        return nb, []
    _, _, cell_spans = _value(text, cells_span[0])
    out = []
    for k, (start, _) in enumerate(cell_spans):
        cell, _, keys = _value(text, start)
        if not isinstance(cell, dict) or cell.get("cell_type") != "code" or "source" not in keys:
            continue
        s, e = keys["source"]
        value, _, elements = _value(text, s)
        out.append(Source(k, s, e, elements if isinstance(value, list) else None, value))
    return nb, out


def splice(text: str, sources: list[Source], new_texts: dict[int, str]) -> str:
    """`text` with the sources of the cells in `new_texts` (cell index -> new source) replaced.

    A list source keeps the raw text of every element whose line is unchanged and its separators;
    a new line is written as `json.dumps` writes it, escaping non-ASCII only if the file does.
    """
    ascii_only = text.isascii()
    out, pos = [], 0
    for src in sources:
        if src.index not in new_texts:
            continue
        new = new_texts[src.index]
        old = "".join(src.value) if isinstance(src.value, list) else src.value
        if new == old:
            continue
        out.append(text[pos:src.start])
        if src.elements is None:
            out.append(json.dumps(new, ensure_ascii=ascii_only))
        else:
            out.append(_list(text, src, new.splitlines(keepends=True), ascii_only))
        pos = src.end
    out.append(text[pos:])
    return "".join(out)


def _list(text: str, src: Source, new_lines: list[str], ascii_only: bool) -> str:
    old_lines = list(src.value)
    raw = [text[a:b] for a, b in src.elements]
    if len(src.elements) >= 2:
        sep = text[src.elements[0][1]:src.elements[1][0]]
    elif src.elements:
        sep = "," + text[src.start + 1:src.elements[0][0]]
    else:
        sep = ", "
    items = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            items.extend(raw[i1:i2])
        else:
            items.extend(json.dumps(line, ensure_ascii=ascii_only) for line in new_lines[j1:j2])
    if not src.elements:
        return json.dumps(new_lines, ensure_ascii=ascii_only)
    head = text[src.start:src.elements[0][0]]
    tail = text[src.elements[-1][1]:src.end]
    return head + sep.join(items) + tail
