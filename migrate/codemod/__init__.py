"""`migrate.codemod`: a libcst codemod that moves TF 1.x source to TensorFlow 2.21.

Example:

```python
from migrate import codemod

report = codemod.run(["src/"], mode="diff", jobs=2)
print(report.summary())          # 12 files scanned, 9 changed, 1 skipped (...), 4 findings left ...
for path, finding in report.findings:
    print(finding.format(path))  # src/model.py:41:17: TFM003 `tf.contrib.seq2seq.BeamSearchDecoder` ...
```

Rules (codes or names for `select` / `ignore`): TFM001 rename, TFM002 arguments, TFM003 contrib,
TFM004 imports, TFM005 notices. See `docs/codemod.md`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from migrate.codemod.engine import FileResult, process_file, transform_source
from migrate.codemod.rules import RULES, select_rules
from migrate.codemod.tables import tables
from migrate.codemod.transform import Finding

__all__ = ["RULES", "FileResult", "Finding", "Report", "discover", "run", "transform_source"]

SUFFIXES = (".py", ".ipynb")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
                       ".pytest_cache", ".ipynb_checkpoints", "node_modules"})
# Below this many files the pool costs more than it saves (fork + pickling: ~30 ms).
MIN_FILES_FOR_POOL = 8


class CodemodInputError(ValueError):
    """A path given to `run` does not exist or is not a Python file / notebook."""


@dataclass
class Report:
    """The outcome of one `run`.

    Attributes:
        mode: "diff", "write" or "check".
        results: one `FileResult` per file scanned, sorted by path.
    """

    mode: str
    results: list[FileResult] = field(default_factory=list)

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
    def findings(self) -> list[tuple[str, Finding]]:
        return [(r.path, f) for r in self.results for f in r.findings]

    def exit_code(self) -> int:
        """0: done (or, for check, nothing to change); 1: check found work, or a file was skipped."""
        if self.skipped:
            return 1
        return 1 if self.mode == "check" and self.changed else 0

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
        return f"{self.scanned} files scanned, {len(self.changed)} {verb}, {skipped}, {findings}"

    def to_json(self) -> dict:
        return {
            "mode": self.mode,
            "scanned": self.scanned,
            "changed": self.changed,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "findings": [{"path": p, "line": f.line, "column": f.column, "rule": f.rule,
                          "name": RULES[f.rule].name, "message": f.message} for p, f in self.findings],
            "exit_code": self.exit_code(),
        }


def discover(paths: Iterable[str | os.PathLike]) -> list[str]:
    """The `.py` / `.ipynb` files under `paths` (directories recursively, hidden and cache dirs skipped)."""
    out: set[str] = set()
    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                out.update(os.path.join(root, f) for f in files if f.endswith(SUFFIXES))
        elif p.is_file():
            out.add(str(p))
        else:
            raise CodemodInputError(f"{p}: no such file or directory; give .py / .ipynb files or directories")
    return sorted(out)


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


def _work(args: tuple[str, str, frozenset[str], bool]) -> FileResult:
    return process_file(*args)


def run(paths: Iterable[str | os.PathLike], mode: str = "diff", jobs: int | None = None,
        select: str | list[str] | None = None, ignore: str | list[str] | None = None,
        full_scope: bool = False, progress: Callable[[FileResult], None] | None = None) -> Report:
    """Codemod files and directories.

    Args:
        paths: `.py` / `.ipynb` files and directories (searched recursively).
        mode: "diff" (compute diffs, write nothing), "write" (rewrite files atomically) or "check"
            (write nothing; `Report.exit_code()` is 1 when something would change).
        jobs: worker processes (default: the CPU count); 1 runs in this process.
        select: rule codes or names to apply (default: all), e.g. "TFM001,contrib".
        ignore: rule codes or names to leave out.
        full_scope: resolve every file with libcst's ScopeProvider (slower; same results).
        progress: called with each `FileResult` as it completes.

    Returns:
        A `Report`; `Report.results` are sorted by path.

    Raises:
        CodemodInputError: a path does not exist.
        ValueError: an unknown mode or rule.
    """
    if mode not in ("diff", "write", "check"):
        raise ValueError(f"mode must be 'diff', 'write' or 'check', not {mode!r}")
    rules = select_rules(select, ignore)
    files = discover(paths)
    jobs = max(1, jobs or os.cpu_count() or 1)
    tasks = [(f, mode, rules, full_scope) for f in files]
    results: list[FileResult] = []
    tables()  # load once here; forked workers inherit it
    with _fewer_collections():
        if jobs == 1 or len(files) < MIN_FILES_FOR_POOL:
            for task in tasks:
                results.append(_work(task))
                if progress:
                    progress(results[-1])
        else:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with ctx.Pool(min(jobs, len(files))) as pool:
                for res in pool.imap_unordered(_work, tasks, chunksize=max(1, len(tasks) // (jobs * 16))):
                    results.append(res)
                    if progress:
                        progress(res)
    results.sort(key=lambda r: r.path)
    return Report(mode, results)
