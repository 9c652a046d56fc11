"""`migrate.codemod`: a libcst codemod that moves TF 1.x source to TensorFlow 2.21.

Example:

```python
from migrate import codemod

report = codemod.run(["src/"], mode="diff", jobs=2)
print(report.summary())          # 12 files scanned, 9 changed, 1 skipped (...), 4 findings left ...
for path, finding in report.findings:
    print(finding.format(path))  # src/model.py:41:17: TFM003 `tf.contrib.seq2seq.BeamSearchDecoder` ...
```

Rules (codes or names for `select` / `ignore`): `migrate/codemod/rules/` (one file per rule);
`docs/codemod.md` is generated from them.
"""

from __future__ import annotations

import gc
import os
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from migrate.codemod import engine
from migrate.codemod.engine import FileResult
from migrate.codemod.project import graph_modules
from migrate.codemod.rules import RULES, RuleSet, rule_set, select_rules
from migrate.codemod.tables import tables
from migrate.codemod.transform import Finding
from migrate.codemod.workers import process_files
from migrate.exit_codes import CANNOT_WRITE, MISMATCH, OK

__all__ = ["RULES", "FileResult", "Finding", "Report", "discover", "run", "transform_source"]

REPORT_SCHEMA = "tf-migrate/codemod-report"
REPORT_VERSION = 2  # 2: `schema`, `version`, `errors`, `strict`; findings in source coordinates

SUFFIXES = (".py", ".ipynb")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
                       ".pytest_cache", ".ipynb_checkpoints", "node_modules"})
# Below this many files one worker does them all (starting more costs more than it saves).
MIN_FILES_FOR_POOL = 8


class CodemodInputError(ValueError):
    """A path given to `run` does not exist or is not a Python file / notebook."""


@dataclass
class Report:
    """The outcome of one `run`.

    Attributes:
        mode: "diff", "write" or "check".
        results: one `FileResult` per file scanned, sorted by path.
        strict: skipped files (Python 2, syntax errors) fail the run (exit 1) instead of a warning.
    """

    mode: str
    results: list[FileResult] = field(default_factory=list)
    strict: bool = False

    @property
    def scanned(self) -> int:
        return len(self.results)

    @property
    def changed(self) -> list[str]:
        return [r.path for r in self.results if r.status == "changed"]

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [(r.path, r.reason) for r in self.results if r.status == "skipped"]

    @property
    def errors(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "error"]

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        return [(r.path, f) for r in self.results for f in r.findings]

    def exit_code(self) -> int:
        """3: a file could not be written; 1: an internal error or unreadable file, `--check` found
        work, or (with `strict`) a file was skipped; 0 otherwise. Findings never change it."""
        if any(r.cannot_write for r in self.errors):
            return CANNOT_WRITE
        if self.errors or (self.strict and self.skipped):
            return MISMATCH
        return MISMATCH if self.mode == "check" and self.changed else OK

    def summary(self) -> str:
        verb = {"diff": "would change", "check": "would change", "write": "changed"}[self.mode]
        reasons = Counter(reason.split(" (")[0].split(";")[0] for _, reason in self.skipped)
        skipped = f"{len(self.skipped)} skipped"
        if reasons:
            skipped += " (" + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())) + ")"
        rules = Counter(f.rule for _, f in self.findings)
        findings = f"{len(self.findings)} findings left for a human"
        if rules:
            findings += " (" + ", ".join(f"{code} {RULES[code].name}: {n}" for code, n in sorted(rules.items())) + ")"
        errors = f", {len(self.errors)} errors (left unchanged)" if self.errors else ""
        return f"{self.scanned} files scanned, {len(self.changed)} {verb}, {skipped}{errors}, {findings}"

    def to_json(self) -> dict:
        from migrate import __version__  # noqa: PLC0415

        return {
            "schema": REPORT_SCHEMA,
            "version": REPORT_VERSION,
            "tool_version": __version__,
            "mode": self.mode,
            "strict": self.strict,
            "scanned": self.scanned,
            "changed": self.changed,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "errors": [{"path": r.path, "rule": r.rule, "reason": r.reason, "cannot_write": r.cannot_write,
                        "traceback": r.traceback} for r in self.errors],
            "findings": [{"path": p, "line": f.line, "column": f.column, "rule": f.rule,
                          "name": RULES[f.rule].name, "message": f.message}
                         | ({"cell": f.cell} if f.cell is not None else {}) for p, f in self.findings],
            "exit_code": self.exit_code(),
        }


def discover(paths: Iterable[str | os.PathLike]) -> list[str]:
    """The `.py` / `.ipynb` files under `paths` (directories recursively, hidden and cache dirs skipped).

    Every directory entry with such a name is listed, a FIFO or a socket too: `process_file` reads only
    regular files and reports the others as skipped.

    A symbolic link to a file is kept (it is written through to its target), but a target reached
    twice is processed once: under its own path when that is scanned too, else under the first link
    in sorted order. Links to directories are not followed.
    """
    out: set[str] = set()
    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                out.update(os.path.join(root, f) for f in files if f.endswith(SUFFIXES))
        elif p.exists():  # a FIFO or a device given by name is reported as skipped, never opened
            out.add(str(p))
        else:
            raise CodemodInputError(f"{p}: no such file or directory; give .py / .ipynb files or directories")
    seen: set[str] = set()
    unique = []
    for f in sorted(out, key=lambda f: (os.path.islink(f), f)):  # the files themselves first
        real = os.path.realpath(f)
        if real in seen:
            continue
        seen.add(real)
        unique.append(f)
    return sorted(unique)


def transform_source(source: str, rules: RuleSet | Iterable[str] | None = None,
                     full_scope: bool = False) -> tuple[str, list[Finding], str]:
    """Apply the codemod to Python source text: `(new_source, findings, resolver)`.

    `rules`: rule codes (default: the default rules; add "TFM007" for --graph-mode) or a `RuleSet`.
    Raises libcst.ParserSyntaxError when the source does not parse. See `engine.transform_source`.
    """
    chosen = rules if isinstance(rules, RuleSet) else rule_set(None if rules is None else frozenset(rules))
    return engine.transform_source(source, chosen, full_scope)


@contextmanager
def _fewer_collections():
    """Run the cyclic garbage collector less often while files are transformed (restored afterwards).

    libcst allocates about ten objects per token and frees them by reference counting (syntax trees
    hold no cycles), yet every 700 allocations trigger a collection that walks the young objects, and
    every few a walk of everything: 12% of a run. Objects that exist before the run (modules, the
    tables) are frozen out of the walks, which also keeps forked workers from copying their pages.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def run(paths: Iterable[str | os.PathLike], mode: str = "diff", jobs: int | None = None,
        select: str | list[str] | None = None, ignore: str | list[str] | None = None,
        full_scope: bool = False, progress: Callable[[FileResult], None] | None = None,
        graph_mode: bool = False, strict: bool = False, extend_select: str | list[str] | None = None) -> Report:
    """Codemod files and directories.

    Args:
        paths: `.py` / `.ipynb` files and directories (searched recursively).
        mode: "diff" (compute diffs, write nothing), "write" (rewrite files atomically) or "check"
            (write nothing; `Report.exit_code()` is 1 when something would change).
        jobs: worker processes (default: the CPU count; one below `MIN_FILES_FOR_POOL` files). Every file
            is processed in a worker (`workers.py`), never in this process, so that a file that crashes
            the parser or exceeds its time or memory limit only costs that worker (it is replaced).
        select: rule codes or names to apply (default: the default rules), e.g. "TFM001,contrib".
        ignore: rule codes or names to leave out.
        full_scope: resolve every file with libcst's ScopeProvider (slower; same results).
        progress: called with each `FileResult` as it completes.
        graph_mode: also apply the opt-in rule TFM007 (disable_v2_behavior() in entry points).
        strict: a skipped file (Python 2, syntax error) makes `Report.exit_code()` 1.
        extend_select: rules to apply on top of `select` (e.g. an opt-in rule).

    Returns:
        A `Report`; `Report.results` are sorted by path. A file whose processing fails (a rule's
        internal error, an unreadable or unwritable file) is left unchanged and reported; the run goes on.
        A file past the parser's limits (`guard.py`: not a regular file, too large, a line too long, nested
        too deeply; its worker crashed, ran out of time or memory) is skipped with the reason.

    Raises:
        CodemodInputError: a path does not exist.
        ValueError: an unknown mode or rule.
        KeyboardInterrupt: Ctrl-C (workers are stopped; every file is old or new, never partial).
    """
    if mode not in ("diff", "write", "check"):
        raise ValueError(f"mode must be 'diff', 'write' or 'check', not {mode!r}")
    extend = [extend_select] if isinstance(extend_select, str) else list(extend_select or [])
    rules = rule_set(select_rules(select, ignore, extend=extend + (["TFM007"] if graph_mode else [])))
    files = discover(paths)
    rules = rules.with_project(graph_modules(files))  # read before any file is rewritten (project.py)
    jobs = max(1, jobs or os.cpu_count() or 1)
    if len(files) < MIN_FILES_FOR_POOL:
        jobs = 1
    tables()  # load once here; forked workers inherit it
    with _fewer_collections():
        results = process_files(files, (mode, rules, full_scope), jobs, progress)
    results.sort(key=lambda r: r.path)
    return Report(mode, results, strict)
