"""Names from inputs, shown on a terminal: every character that is not printable escaped.

A checkpoint, a graph or a file name can hold any string: a variable named `"a\\x1b[2J\\nrecognised: fake"` would
clear the user's terminal and print a line of its own choosing if it reached the console raw. `shown(name)` is
the one function that makes such a string safe to print: each character `str.isprintable()` refuses (control
characters, ESC, newlines, U+2028, unassigned code points ...) becomes a Python-style escape (`\\n`, `\\x1b`,
`\\u2028`, `\\U000e0001`); every printable character, non-ASCII letters included, is kept, so ordinary names
read as they are. The result is printable and holds no line break; `shown(shown(x)) == shown(x)`.

Use it wherever a name from an input is printed or put in a message (`inspect`'s tree and its "recognised"
lines, the CLI's error line).
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(name: object) -> str:
    """`name` (any object, through `str`) with every non-printable character escaped; see the module doc.

    >>> shown("rnn/lstm_cell/kernel")
    'rnn/lstm_cell/kernel'
    >>> shown("a\\x1b[2J\\nrecognised: fake")
    'a\\\\x1b[2J\\\\nrecognised: fake'
    """
    text = str(name)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown_lines(text: str) -> str:
    """A multi-line text we composed (its own line breaks kept), every other non-printable character escaped."""
    return "\n".join(shown(line) for line in str(text).split("\n"))
