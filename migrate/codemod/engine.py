"""One file in, one result out: reading (encodings, BOM, CRLF, notebooks), the transform, atomic writes.

Nothing here imports or runs the code it rewrites; TensorFlow itself is never imported.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import os
import tempfile
import tokenize
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext

from migrate.codemod import chunks
from migrate.codemod.chunks import ChunkMismatch
from migrate.codemod.transform import Finding, NeedsScope, TF2Codemod, TF2ScopeCodemod

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
        path: the file.
        status: "unchanged", "changed" (or would be, in --diff / --check), or "skipped" (left
            byte-identical because it could not be processed; `reason` says why).
        findings: what is left for a human, with line and column.
        diff: the unified diff (in --diff mode).
        resolver: "fast" or "scope" (which name resolver the file needed), "" when not parsed.
    """

    path: str
    status: str = "unchanged"
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    diff: str = ""
    resolver: str = ""
    lines_changed: int = 0


def transform_source(source: str, rules: frozenset[str] | None = None,
                     full_scope: bool = False) -> tuple[str, list[Finding], str]:
    """Apply the codemod to Python source text.

    Args:
        source: the module's text (newlines as in the file).
        rules: rule codes to apply (default: all).
        full_scope: always resolve names with libcst's ScopeProvider (the fast resolver is used
            otherwise whenever the file proves it is enough; both give the same result).

    Returns:
        `(new_source, findings, resolver)`.

    Raises:
        libcst.ParserSyntaxError: the source does not parse (Python 2, syntax errors).
    """
    return _transform(source, rules, full_scope)[:3]


def _transform(source: str, rules: frozenset[str] | None, full_scope: bool,
               tree: ast.Module | None = None) -> tuple[str, list[Finding], str, bool]:
    """`transform_source`, plus whether the output was already checked to parse (the chunked pass)."""
    classes = (TF2ScopeCodemod,) if full_scope else (TF2Codemod, TF2ScopeCodemod)
    if not full_scope:
        try:
            return (*_transform_chunks(source, rules, tree), True)
        except NeedsScope:
            classes = (TF2ScopeCodemod,)
        except (ChunkMismatch, cst.ParserSyntaxError, RecursionError):
            pass  # parse the whole file: same result
    return (*_transform_module(source, rules, classes), False)


def _transform_chunks(source: str, rules: frozenset[str] | None,
                      tree: ast.Module | None = None) -> tuple[str, list[Finding], str]:
    """The fast pass on the file's TF statements only (`chunks.py`).

    Raises ChunkMismatch when the file does not fit (then the whole file is parsed), NeedsScope when
    a TF name is bound twice. When the output differs, the synthetic module's output is checked to
    parse with Python's own parser (the pieces put back are the same statements, same indentation).
    """
    plan = chunks.plan(source, tree)
    if plan is None:
        raise ChunkMismatch("no plan")
    codemod = TF2Codemod(CodemodContext(), rules=rules, source=plan.source, prune=False, full_source=source,
                         plan=plan)
    new = codemod.transform_module(cst.parse_module(plan.source))
    code, findings = codemod.finish(new, codemod.changed)
    if code is not None and code != source:
        try:  # the head and the pieces that changed, each a top-level statement of the synthetic module
            ast.parse(plan.rendered)
        except SyntaxError as e:  # never expected: let the whole-file path and its check decide
            raise ChunkMismatch(f"the rewrite would not parse ({e})") from e
    return (source if code is None else code), findings, "fast"


def _transform_module(source: str, rules: frozenset[str] | None,
                      classes: tuple[type[TF2Codemod], ...]) -> tuple[str, list[Finding], str]:
    module = cst.parse_module(source)
    for cls in classes:
        codemod = cls(CodemodContext(), rules=rules, source=source)
        try:
            new = codemod.transform_module(module)
        except NeedsScope:
            continue
        code, findings = codemod.finish(new, codemod.changed)
        return (source if code is None else code), findings, "scope" if cls is TF2ScopeCodemod else "fast"
    raise AssertionError("unreachable: the scope pass never raises NeedsScope")


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
    """Write `data` to `path` via a temporary file in the same directory and `os.replace`.

    An interruption leaves the old file or the new one, never a truncated one; the mode bits are kept.
    """
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tf-migrate.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _unified_diff(path: str, old: str, new: str) -> tuple[str, int]:
    name = path.lstrip("/")
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                      f"a/{name}", f"b/{name}"))
    changed = sum(1 for ln in lines if ln[:1] in "+-" and not ln.startswith(("+++", "---")))
    text = "".join(ln if ln.endswith(("\n", "\r")) else ln + "\n\\ No newline at end of file\n" for ln in lines)
    return text, changed


def _notebook_source(cells: list[dict]) -> tuple[str, list[int]]:
    """Code cells joined into one module (IPython magics commented out), and their indices."""
    parts, index = [], []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        lines = [MAGIC_PREFIX + ln if ln.lstrip().startswith(("%", "!")) else ln
                 for ln in src.splitlines(keepends=True)]
        text = "".join(lines)
        if text and not text.endswith("\n"):
            text += "\n"
        parts.append(text)
        index.append(i)
    return "".join(p + CELL_MARKER + "\n" for p in parts), index


def _notebook_cells(source: str, count: int) -> list[str] | None:
    chunks = source.split(CELL_MARKER + "\n")
    if len(chunks) != count + 1:
        return None
    return ["".join(ln[len(MAGIC_PREFIX):] if ln.startswith(MAGIC_PREFIX) else ln
                    for ln in chunk.splitlines(keepends=True)) for chunk in chunks[:count]]


def process_file(path: str, mode: str = "diff", rules: frozenset[str] | None = None,
                 full_scope: bool = False) -> FileResult:
    """Codemod one file. `mode`: "diff" (compute a diff), "write" (rewrite atomically) or "check"."""
    result = FileResult(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        result.status, result.reason = "skipped", f"cannot read it ({e.strerror})"
        return result
    if TF_MARKER not in data:
        return result
    notebook = path.endswith(".ipynb")
    try:
        if notebook:
            nb = json.loads(data.decode("utf-8"))
            old, index = _notebook_source(nb.get("cells", []))
        else:
            old, encoding, bom = _decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError, ValueError) as e:
        result.status, result.reason = "skipped", f"cannot decode it ({e})"
        return result
    tree = None
    if not notebook and not full_scope:
        try:
            tree = ast.parse(old)
        except (SyntaxError, ValueError, RecursionError):
            pass
    try:
        new, result.findings, result.resolver, checked = _transform(old, rules, full_scope, tree)
    except cst.ParserSyntaxError as e:
        result.status = "skipped"
        result.reason = (f"libcst cannot parse it (line {e.raw_line}, column {e.raw_column + 1}: "
                         f"{e.message.splitlines()[0]}); Python 2 code? left byte-identical")
        return result
    except RecursionError:
        result.status, result.reason = "skipped", "too deeply nested for the parser; left byte-identical"
        return result
    if new == old:
        return result
    if not notebook:
        # The rewrite must parse when the input does (syntax newer than this interpreter: libcst's parse
        # above is the check). The chunked pass already checked its own output.
        if not checked and _parses(old):
            try:
                ast.parse(new)
            except SyntaxError as e:  # never expected: a codemod bug; keep the file
                result.status, result.reason = "skipped", f"the rewrite would not parse ({e}); left unchanged"
                return result
        try:
            out = _encode(new, encoding, bom)
        except UnicodeEncodeError as e:
            result.status, result.reason = "skipped", f"the rewrite cannot be encoded as {encoding} ({e})"
            return result
    else:
        cells = _notebook_cells(new, len(index))
        if cells is None:
            result.status, result.reason = "skipped", "notebook cell boundaries were lost; left unchanged"
            return result
        for i, text in zip(index, cells, strict=True):
            cell = nb["cells"][i]
            if isinstance(cell.get("source"), list):
                cell["source"] = text.splitlines(keepends=True)
            else:
                cell["source"] = text
        _strip_added_newlines(nb, index, data)
        out = (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    result.status = "changed"
    if notebook:  # show cells as `# In[k]` blocks, magics as written
        old, new = _readable(old), _readable(new)
    result.diff, result.lines_changed = _unified_diff(path, old, new)
    if mode == "write":
        atomic_write(path, out)
    return result


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def _readable(joined: str) -> str:
    chunks = joined.split(CELL_MARKER + "\n")
    return "".join(f"# In[{k}]\n" + chunk.replace(MAGIC_PREFIX, "")
                   for k, chunk in enumerate(chunks[:-1], start=1))


def _strip_added_newlines(nb: dict, index: list[int], data: bytes) -> None:
    """Cells whose source did not end with a newline get none back (we add one while joining)."""
    original = json.loads(data.decode("utf-8"))["cells"]
    for i in index:
        src = original[i].get("source", "")
        old_text = "".join(src) if isinstance(src, list) else src
        cell = nb["cells"][i]
        new = cell["source"]
        text = "".join(new) if isinstance(new, list) else new
        if not old_text.endswith("\n") and text.endswith("\n"):
            text = text[:-1]
            cell["source"] = text.splitlines(keepends=True) if isinstance(new, list) else text
