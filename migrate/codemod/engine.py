"""One file in, one result out: reading (encodings, BOM, CRLF, notebooks), the transform, atomic writes.

Nothing here imports or runs the code it rewrites; TensorFlow itself is never imported.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import gc
import io
import os
import re
import sys
import tempfile
import tokenize
import traceback
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst.codemod import CodemodContext

from migrate.codemod import batches, chunks, guard, textpath
from migrate.codemod import notebook as nbedit
from migrate.codemod.chunks import ChunkMismatch
from migrate.codemod.ruleset import RuleSet
from migrate.codemod.tables import tables
from migrate.codemod.transform import Finding, ModuleBindings, NeedsScope, TF2Codemod, TF2ScopeCodemod

BOM = b"\xef\xbb\xbf"
# A file that does not contain this byte string cannot refer to TensorFlow (every way to reach it names
# the package), so it is not parsed at all. Python source encodings are ASCII-compatible (PEP 263).
TF_MARKER = b"tensorflow"
CELL_MARKER = "# --- tf-migrate cell boundary 7f3a --- #"
MAGIC_PREFIX = "# tf-migrate magic 7f3a: "


@dataclass
class FileResult:
    """What happened to one file.

    Attributes:
        path: the file (as discovered; a symbolic link is written through to its target).
        status: "unchanged", "changed" (or would be, in --diff / --check), "skipped" (left byte-identical
            because it cannot be parsed: Python 2, a syntax error, an undecodable file; `reason` says
            why), or "error" (left byte-identical: an internal error of a rule, or the file could not
            be read or written; `reason` says which, `rule` names the rule, `traceback` has the details).
        findings: what is left for a human, with the line and column in the source file.
        diff: the unified diff (only when asked for: --diff).
        resolver: "fast" or "scope" (which name resolver the file needed), "" when not parsed.
        cannot_write: the error is a failed write (exit code 3).
    """

    path: str
    status: str = "unchanged"
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    diff: str = ""
    resolver: str = ""
    lines_changed: int = 0
    rule: str = ""
    traceback: str = ""
    cannot_write: bool = False


def transform_source(source: str, rules: RuleSet,
                     full_scope: bool = False) -> tuple[str, list[Finding], str]:
    """Apply the codemod to Python source text (`migrate.codemod.transform_source` takes rule codes).

    Args:
        source: the module's text (newlines as in the file).
        rules: the rules to apply (`migrate.codemod.rules.rule_set(codes)`).
        full_scope: always resolve names with libcst's ScopeProvider (the fast resolver is used
            otherwise whenever the file proves it is enough; both give the same result).

    Returns:
        `(new_source, findings, resolver)`; findings carry source (input) line numbers.

    Raises:
        libcst.ParserSyntaxError: the source does not parse (Python 2, syntax errors).
    """
    return _transform(source, rules, full_scope)[:3]


def _transform(source: str, rules: RuleSet, full_scope: bool,
               tree: ast.Module | None = None) -> tuple[str, list[Finding], str, bool]:
    """`transform_source`, plus whether the output was already checked to parse (the chunked pass).

    The first pass assumes TF 1 code. A name TF 2.21 also has with another meaning (`tf.summary.scalar`)
    is rewritten only when something else in the file is TF 1 code: otherwise the file is run again with
    such names left alone, so valid TF 2 code (and the codemod's own output) never changes.
    """
    out = _transform_once(source, rules, full_scope, tree, True)
    if out[4] and not out[5]:  # ambiguous names rewritten, no TF 1 evidence
        out = _transform_once(source, rules, full_scope, tree, False)
    return out[:4]


def _transform_once(source, rules, full_scope, tree, assume_tf1):
    """(code, findings, resolver, checked, ambiguous names seen, TF 1 evidence) of one pass."""
    classes = (TF2ScopeCodemod,) if full_scope else (TF2Codemod, TF2ScopeCodemod)
    flags: list[bool] = []
    if not full_scope:
        try:
            return (*_transform_chunks(source, rules, tree, assume_tf1, flags), True, *flags)
        except NeedsScope:
            classes = (TF2ScopeCodemod,)
        except (ChunkMismatch, cst.ParserSyntaxError, RecursionError):
            pass  # parse the whole file: same result
    flags.clear()
    return (*_transform_module(source, rules, classes, assume_tf1, flags, tree), False, *flags)


def _note(codemod, flags: list[bool] | None) -> None:
    if flags is not None:
        flags[:] = [codemod.ambiguous_seen, codemod.evidence]


def _transform_chunks(source: str, rules: RuleSet,
                      tree: ast.Module | None = None, assume_tf1: bool = True,
                      flags: list[bool] | None = None) -> tuple[str, list[Finding], str]:
    """The fast pass on the file's TF statements only (`chunks.py`, an optimisation: same result).

    Raises ChunkMismatch when the file does not fit (then the whole file is parsed), NeedsScope when
    a TF name is bound twice. When the output differs, the synthetic module's output is checked to
    parse with Python's own parser (the pieces put back are the same statements, same indentation).
    """
    plan = chunks.plan(source, tree, rules.words,
                       text=_text_planner(rules, assume_tf1) if textpath.enabled() else None)
    if plan is None:
        raise ChunkMismatch("no plan")
    codemod = TF2Codemod(CodemodContext(), rules=rules, source=plan.source, prune=False, full_source=source,
                         plan=plan, assume_tf1=assume_tf1)
    head = [line for line in _starts(plan.tree) if line <= plan.head]  # the head is the file's own lines
    new = codemod.transform_module(batches.parse(plan.source, head + _marker_lines(plan.source)))
    code, findings = codemod.finish(new, codemod.changed)
    _note(codemod, flags)
    if code is not None and code != source:
        try:  # the head and the pieces that changed, each a top-level statement of the synthetic module
            ast.parse(plan.rendered)
            if plan.edited is not None:  # and the statements the text path edited, as the chunks are cut
                ast.parse(_edited_pieces(plan))
        except SyntaxError as e:  # never expected: let the whole-file path and its check decide
            raise ChunkMismatch(f"the rewrite would not parse ({e})") from e
    return (source if code is None else code), findings, "fast"


def _text_planner(rules: RuleSet, assume_tf1: bool = True):
    """The factory `chunks.plan` calls for the file's `textpath.Planner` (None: no text path for it)."""
    def make(lines, names, head, tree):
        found = textpath.bindings_of(tree, head, names)
        if found is None:
            return None
        view = textpath.View(rules, tables(), ModuleBindings(found, set(), False), assume_tf1)
        return textpath.Planner(lines, found, view)
    return make


def _edited_pieces(plan: chunks.Plan) -> str:
    """The statements the text path changed, each under the wrapper its chunk would have had (a
    header with a `pass` body), as one module for Python's parser."""
    out = []
    for piece in plan.text:
        if not piece.lines:
            continue
        body = plan.edited[piece.start - 1:piece.end]
        indent = body[0][:len(body[0]) - len(body[0].lstrip(" \t"))]
        if indent:
            out.append("if 1:\n")
        out.extend(body)
        if not body[-1].endswith("\n"):
            out.append("\n")
        if piece.header:
            out.append(indent + " pass\n")
    return "".join(out)


def _starts(tree: ast.Module) -> list[int]:
    """1-based first lines (decorators included) of the module's top-level statements."""
    return [min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", ())]) for s in tree.body]


def _marker_lines(source: str) -> list[int]:
    """1-based lines of the chunk markers of a synthetic module (where it may be cut into batches)."""
    out, line, pos = [], 1, 0
    for m in chunks.MARK_RE.finditer(source):
        line += source.count("\n", pos, m.start())
        pos = m.start()
        out.append(line)
    return out


def _transform_module(source: str, rules: RuleSet,
                      classes: tuple[type[TF2Codemod], ...], assume_tf1: bool = True,
                      flags: list[bool] | None = None, tree: ast.Module | None = None) -> tuple[str, list[Finding], str]:
    module = batches.parse(source, _starts(tree) if tree is not None else [])
    for cls in classes:
        codemod = cls(CodemodContext(), rules=rules, source=source, assume_tf1=assume_tf1, source_tree=tree)
        try:
            new = codemod.transform_module(module)
        except NeedsScope:
            continue
        code, findings = codemod.finish(new, codemod.changed)
        _note(codemod, flags)
        return (source if code is None else code), findings, "scope" if cls is TF2ScopeCodemod else "fast"
    raise AssertionError("unreachable: the scope pass never raises NeedsScope")


def _read(path: str) -> bytes | None:
    """The file's bytes; None for a file over MAX_FILE_BYTES that does not mention TensorFlow.

    Only a regular file is opened (`os.stat` first, then `fstat` on the open descriptor: a FIFO swapped
    in between is not read either; it is opened non-blocking). Raises guard.TooBig (skip) or OSError.
    """
    guard.regular_file(os.stat(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        guard.regular_file(st)
        if st.st_size <= guard.MAX_FILE_BYTES:
            return f.read()
        tail = b""
        while block := f.read(1 << 20):  # a large file that never names TensorFlow is left alone, unread
            if TF_MARKER in tail + block:
                raise guard.too_large(st.st_size)
            tail = block[-len(TF_MARKER):]
        return None


def _decode(data: bytes) -> tuple[str, str, bool]:
    bom = data.startswith(BOM)
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    if bom:
        data = data[len(BOM):]
        encoding = "utf-8"
    return data.decode(encoding), encoding, bom


def _encode(text: str, encoding: str, bom: bool) -> bytes:
    return (BOM if bom else b"") + text.encode(encoding)


def atomic_write(path: str, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory, fsync and `os.replace`.

    An interruption leaves the old file or the new one, never a truncated one; the mode bits are kept.
    A symbolic link is written through: its target is replaced, the link stays.
    """
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else None
    prefix = f".{os.path.basename(path)[:100]}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tf-migrate.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # the rename itself is durable once the directory is synced (POSIX)
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _unified_diff(path: str, old: str, new: str) -> tuple[str, int]:
    name = path.lstrip("/")
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                      f"a/{name}", f"b/{name}"))
    changed = sum(1 for ln in lines if ln[:1] in "+-" and not ln.startswith(("+++", "---")))
    text = "".join(ln if ln.endswith(("\n", "\r")) else ln + "\n\\ No newline at end of file\n" for ln in lines)
    return text, changed


def _notebook_source(sources: list) -> str:
    """Code cells joined into one module (IPython magics commented out)."""
    parts = []
    for src in sources:
        text = "".join(src.value) if isinstance(src.value, list) else src.value
        lines = [MAGIC_PREFIX + ln if ln.lstrip().startswith(("%", "!")) else ln
                 for ln in text.splitlines(keepends=True)]
        text = "".join(lines)
        if text and not text.endswith("\n"):
            text += "\n"
        parts.append(text)
    return "".join(p + CELL_MARKER + "\n" for p in parts)


def _notebook_cells(source: str, count: int) -> list[str] | None:
    pieces = source.split(CELL_MARKER + "\n")
    if len(pieces) != count + 1:
        return None
    return ["".join(ln[len(MAGIC_PREFIX):] if ln.startswith(MAGIC_PREFIX) else ln
                    for ln in chunk.splitlines(keepends=True)) for chunk in pieces[:count]]


def _cell_findings(source: str, sources: list, findings: list) -> list:
    """Findings located in the joined cells (`_notebook_source`) -> cell (1-based, among all the
    notebook's cells) and line / column inside it."""
    starts, line = [], 1  # first line of each code cell in the joined module
    for chunk in source.split(CELL_MARKER + "\n")[:len(sources)]:
        starts.append(line)
        line += chunk.count("\n") + 1
    lines = source.splitlines()
    out = []
    for f in findings:
        k = max(bisect.bisect_right(starts, f.line) - 1, 0)
        column = f.column
        if 0 < f.line <= len(lines) and lines[f.line - 1].startswith(MAGIC_PREFIX) and column > len(MAGIC_PREFIX):
            column -= len(MAGIC_PREFIX)
        out.append(replace(f, cell=sources[k].index + 1, line=f.line - starts[k] + 1, column=column))
    return out


# Messages of Python 3's parser that mean Python 2 source, and Python 2 idioms seen in the text.
_PY2_MESSAGES = ("Missing parentheses in call to", "multiple exception types must be parenthesized",
                 "leading zeros in decimal integer literals", "invalid decimal literal")
_PY2_TEXT = re.compile(r"^[ \t]*(print[ \t]+[^\s(=.,)][^\n]*|exec[ \t]+[\"'\w][^\n]*)$|"
                       r"^[ \t]*except[ \t]+[\w.]+[ \t]*,[ \t]*\w+[ \t]*:|^[ \t]*raise[ \t]+[\w.]+[ \t]*,|`[^`\n]+`|<>",
                       re.MULTILINE)


def _syntax_reason(source: str, error: SyntaxError | None, cst_error: cst.ParserSyntaxError | None) -> str:
    """Why a file cannot be parsed: Python 2 code, or a Python 3 syntax error (with line and column)."""
    if error is not None:
        where = f"line {error.lineno}, column {error.offset or 1}"
        message = (error.msg or "").splitlines()[0] if error.msg else "invalid syntax"
        if any(m in message for m in _PY2_MESSAGES) or _PY2_TEXT.search(source):
            return f"Python 2 code ({where}: {message}); left byte-identical"
        return f"syntax error ({where}: {message}); left byte-identical"
    assert cst_error is not None
    return (f"libcst cannot parse it (line {cst_error.raw_line}, column {cst_error.raw_column + 1}: "
            f"{cst_error.message.splitlines()[0]}); left byte-identical")


def process_file(path: str, mode: str, rules: RuleSet, full_scope: bool = False) -> FileResult:
    """Codemod one file. `mode`: "diff" (compute a diff), "write" (rewrite atomically) or "check";
    `rules`: the rules to apply (`migrate.codemod.rules.rule_set(codes)`).

    Never raises for a problem with the file or an internal error of a rule: the file is left as it
    was and the result says why (`status` "skipped" or "error"). KeyboardInterrupt propagates.
    """
    result = FileResult(path)
    # The parsers and the pass allocate millions of objects that live until the file is done; the
    # cyclic garbage collector would rescan them over and over (40% of the CPU time of a 50,000-line
    # file). Trees hold no reference cycles that matter here: collection resumes after the file.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _process(result, mode, rules, full_scope)
    except MemoryError:  # the worker's address-space limit (workers.py): this file only
        result.status, result.rule, result.diff, result.findings = "skipped", "", "", []
        result.reason = (f"out of memory (a worker may use {guard.FILE_MEMORY_BYTES / 1024**3:g} GiB per file: "
                         "FILE_MEMORY_BYTES); left byte-identical; split the module, or port it by hand")
    except Exception as e:  # an internal error: this file only
        result.status = "error"
        result.rule = getattr(e, "tf_migrate_rule", "engine")
        result.reason = (f"internal error in {result.rule} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                         "left unchanged; please report it with the file")
        result.traceback = traceback.format_exc()
        result.diff, result.findings = "", []
    finally:
        if collecting:
            gc.enable()
    return result


def _process(result: FileResult, mode: str, rules: RuleSet, full_scope: bool) -> None:
    path = result.path
    try:
        data = _read(path)
    except guard.TooBig as e:
        result.status, result.reason = "skipped", str(e)
        return
    except OSError as e:
        result.status, result.reason = "error", f"cannot read it ({e.strerror})"
        return
    if data is None or TF_MARKER not in data:
        return
    notebook = path.endswith(".ipynb")
    try:
        if notebook:
            text = data.decode("utf-8")
            _, sources = nbedit.locate(text)
            old = _notebook_source(sources)
        else:
            old, encoding, bom = _decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError, ValueError) as e:
        result.status, result.reason = "skipped", f"cannot decode it ({e})"
        return
    tree, syntax_error, parsed = None, None, None
    try:  # what libcst's parser could not survive is skipped before it sees it (guard.py)
        lines = guard.check_lines(old)
        try:
            parsed = ast.parse(old)
        except SyntaxError as e:
            syntax_error = e
        except (ValueError, RecursionError):
            pass
        guard.check_nesting(old, parsed, lines)
    except guard.TooBig as e:
        result.status, result.reason = "skipped", str(e)
        return
    if notebook:  # the cells' own coordinates come from libcst's message
        syntax_error = None
    else:
        tree = parsed
    try:
        new, result.findings, result.resolver, checked = _transform(old, rules, full_scope, tree)
    except cst.ParserSyntaxError as e:
        result.status, result.reason = "skipped", _syntax_reason(old, syntax_error, e)
        return
    except RecursionError:
        result.status, result.reason = "skipped", (
            f"nested too deeply to parse (beyond Python's recursion limit of {sys.getrecursionlimit()} in "
            "libcst's tree walk); left byte-identical; split the deepest expression, or port this module by hand")
        return
    if notebook:
        result.findings = _cell_findings(old, sources, result.findings)
    if new == old:
        return
    if not notebook:
        # The rewrite must parse when the input does (syntax newer than this interpreter: libcst's parse
        # above is the check). The chunked pass already checked its own output.
        if not checked and syntax_error is None and tree is not None:
            try:
                ast.parse(new)
            except SyntaxError as e:  # never expected: a codemod bug; keep the file
                result.status, result.rule = "error", "engine"
                result.reason = f"internal error: the rewrite would not parse ({e}); left unchanged"
                return
        try:
            out = _encode(new, encoding, bom)
        except UnicodeEncodeError as e:
            result.status, result.reason = "skipped", f"the rewrite cannot be encoded as {encoding} ({e})"
            return
        before, after = old, new
    else:
        cells = _notebook_cells(new, len(sources))
        if cells is None:
            result.status, result.reason = "error", "notebook cell boundaries were lost; left unchanged"
            return
        new_texts = {}
        for src, cell_text in zip(sources, cells, strict=True):
            old_text = "".join(src.value) if isinstance(src.value, list) else src.value
            if not old_text.endswith("\n") and cell_text.endswith("\n"):
                cell_text = cell_text[:-1]  # we added one while joining
            new_texts[src.index] = cell_text
        before, after = text, nbedit.splice(text, sources, new_texts)
        out = after.encode("utf-8")
    result.status = "changed"
    if mode == "diff":  # the diff of exactly what --write writes (for a notebook: its JSON text)
        result.diff, result.lines_changed = _unified_diff(path, before, after)
    if mode == "write":
        try:
            atomic_write(path, out)
        except OSError as e:
            result.status, result.cannot_write = "error", True
            result.reason = f"cannot write it ({e.strerror or e}); left unchanged"
