"""Benchmark `tf-migrate codemod` against TensorFlow's own `tf_upgrade_v2` on copies of a directory.

    .venv/bin/python benchmarks/bench_codemod.py DIR [DIR...] [--copies N] [--jobs J] [--py2] [--json out.json]

For each DIR (e.g. a tensorflow/nmt checkout and a larger TF 1 codebase such as tensorflow/tensor2tensor;
the script fetches nothing), both tools run as subprocesses on fresh copies of it (replicated N times
for a larger tree), then:

* wall time and CPU time of each, and the ratios (tf_upgrade_v2 / ours), from the same run. Each tool
  is one fresh process started the same way (`subprocess.run`); CPU time is user + system time of its
  whole process tree (`getrusage(RUSAGE_CHILDREN)` before and after: worker processes included, as
  they are waited for), so start-up (TensorFlow's import for tf_upgrade_v2, libcst's for ours) counts;
* files changed;
* references left that do not resolve in TF 2.21, found by importing TensorFlow here and following
  every `tf.a.b.c` chain (and `import` / `from ... import` of tensorflow modules) with `getattr` --
  independent of both tools' tables -- and how many of those each tool reported (a finding on the
  same file and line);
* files lost or emptied (present and non-empty before, missing / empty / unparseable after);
* whether a second pass over each tool's output changes anything.

`--py2` adds one Python 2 file that uses TensorFlow to every copy (tf_upgrade_v2 writes such files out
empty). Nothing is downloaded; DIR is never modified.
"""

from __future__ import annotations

import argparse
import ast
import filecmp
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY2_SAMPLE = '''import tensorflow as tf

def main():
    x = tf.placeholder(tf.float32, [None, 3])
    print "shape", x.get_shape()
'''


def py_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


def make_tree(src: Path, dst: Path, copies: int, py2: bool) -> None:
    dst.mkdir(parents=True)
    for i in range(copies):
        target = dst / f"copy{i:03d}"
        shutil.copytree(src, target, ignore=shutil.ignore_patterns(".git", "__pycache__"))
        if py2:
            (target / "legacy_py2_tool.py").write_text(PY2_SAMPLE)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_tfu(tree: Path, out: Path, report: Path) -> tuple[float, float]:
    c, t = _cpu(), time.perf_counter()
    subprocess.run([str(BIN / "tf_upgrade_v2"), "--intree", str(tree), "--outtree", str(out),
                    "--reportfile", str(report)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return time.perf_counter() - t, _cpu() - c


def run_ours(tree: Path, report: Path, jobs: int) -> tuple[float, float]:
    c, t = _cpu(), time.perf_counter()
    # `python -m migrate` from this checkout (the installed `tf-migrate` script may import another copy)
    subprocess.run([sys.executable, "-m", "migrate", "codemod", str(tree), "--write", "--quiet", "--jobs", str(jobs),
                    "--json", str(report)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   cwd=ROOT)
    return time.perf_counter() - t, _cpu() - c


def changed_files(before: Path, after: Path) -> int:
    n = 0
    for p in py_files(before):
        q = after / p.relative_to(before)
        if not q.exists() or not filecmp.cmp(p, q, shallow=False):
            n += 1
    return n


def lost_files(before: Path, after: Path) -> list[str]:
    lost = []
    for p in py_files(before):
        q = after / p.relative_to(before)
        if p.stat().st_size and (not q.exists() or q.stat().st_size == 0):
            lost.append(str(p.relative_to(before)))
    return lost


class Resolver:
    """Follows dotted TensorFlow references with getattr on the real TF 2.21 package."""

    def __init__(self):
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers / rnn_cell resolve
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf  # noqa: PLC0415

        self.tf = tf
        self.cache: dict[str, bool] = {}

    def resolves(self, dotted: str) -> bool:
        if dotted not in self.cache and dotted.startswith("tensorflow.python."):
            import importlib  # noqa: PLC0415  (private modules are importable but not attributes)

            module, _, attr = dotted.rpartition(".")
            try:
                self.cache[dotted] = hasattr(importlib.import_module(module), attr) or bool(
                    importlib.util.find_spec(dotted))
            except Exception:
                self.cache[dotted] = False
        if dotted not in self.cache:
            parts = dotted.split(".")
            obj = self.tf
            ok = parts[0] == "tensorflow"
            for part in parts[1:]:
                if not ok:
                    break
                try:
                    obj = getattr(obj, part)
                except Exception:  # AttributeError, or a lazy loader that raises
                    ok = False
            self.cache[dotted] = ok
        return self.cache[dotted]


def unresolved_refs(path: Path, resolver: Resolver) -> list[tuple[int, str]]:
    """(line, dotted name) of every TensorFlow reference in `path` that TF 2.21 does not have."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return []
    bound: dict[str, str] = {}
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "tensorflow":
                    if not resolver.resolves(a.name):
                        out.append((node.lineno, a.name))
                    bound[a.asname or "tensorflow"] = a.name if a.asname else "tensorflow"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tensorflow":
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if not resolver.resolves(full):
                    out.append((node.lineno, full))
                bound[a.asname or a.name] = full
    inner: set[int] = set()
    for node in ast.walk(tree):  # breadth-first: an outer chain comes before the chains inside it
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        parts, cur = [], node
        while isinstance(cur, ast.Attribute):
            inner.add(id(cur))
            parts.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name) and cur.id in bound:
            full = ".".join([bound[cur.id], *reversed(parts)])
            if not resolver.resolves(full):
                out.append((node.lineno, full))
    return sorted(set(out))


def tfu_reported(report: Path) -> set[tuple[str, int]]:
    out = set()
    if report.exists():
        for m in re.finditer(r"^(.+?):(\d+):\d+: (?:ERROR|WARNING|INFO)", report.read_text(errors="replace"), re.M):
            out.add((os.path.realpath(m.group(1)), int(m.group(2))))
    return out


def ours_reported(report: Path) -> set[tuple[str, int]]:
    if not report.exists():
        return set()
    data = json.loads(report.read_text())
    return {(os.path.realpath(f["path"]), f["line"]) for f in data["findings"]}


def unresolved_summary(tree: Path, reported: set[tuple[str, int]], resolver: Resolver,
                       path_map=lambda p: p) -> tuple[int, int]:
    total = hit = 0
    for p in py_files(tree):
        for line, _ in unresolved_refs(p, resolver):
            total += 1
            hit += (os.path.realpath(path_map(p)), line) in reported
    return total, hit


def bench(src: Path, copies: int, jobs: int, py2: bool, keep: bool) -> dict:
    """Both tools on fresh copies of `src`; prints the table and returns the numbers."""
    work = Path(tempfile.mkdtemp(prefix="bench_codemod_"))
    try:
        orig = work / "orig"
        make_tree(src, orig, copies, py2)
        n_files = len(py_files(orig))
        n_lines = sum(p.read_bytes().count(b"\n") for p in py_files(orig))
        tfu_in, ours = work / "tfu_in", work / "ours"
        shutil.copytree(orig, tfu_in)
        shutil.copytree(orig, ours)
        tfu_out = work / "tfu_out"
        t_tfu, c_tfu = run_tfu(tfu_in, tfu_out, work / "tfu_report.txt")
        t_ours, c_ours = run_ours(ours, work / "ours_report.json", jobs)

        # second passes, on copies of each tool's output
        tfu2_out = work / "tfu2_out"
        run_tfu(tfu_out, tfu2_out, work / "tfu2_report.txt")
        ours2 = work / "ours2"
        shutil.copytree(ours, ours2)
        run_ours(ours2, work / "ours2_report.json", jobs)

        resolver = Resolver()
        before_total, _ = unresolved_summary(orig, set(), resolver)
        tfu_total, tfu_hit = unresolved_summary(
            tfu_out, tfu_reported(work / "tfu_report.txt"), resolver,
            path_map=lambda p: tfu_in / p.relative_to(tfu_out))
        ours_total, ours_hit = unresolved_summary(ours, ours_reported(work / "ours_report.json"), resolver)
        rows = {
            "wall time (s)": (t_tfu, t_ours),
            "CPU time, all processes (s)": (c_tfu, c_ours),
            "files changed": (changed_files(orig, tfu_out), changed_files(orig, ours)),
            "unresolvable refs left": (tfu_total, ours_total),
            "  of which reported": (tfu_hit, ours_hit),
            "files lost or emptied": (len(lost_files(orig, tfu_out)), len(lost_files(orig, ours))),
            "files a 2nd pass changes": (changed_files(tfu_out, tfu2_out), changed_files(ours, ours2)),
        }
        print(f"tree: {src} x{copies} = {n_files} .py files, {n_lines} lines "
              f"({before_total} references that TF 2.21 cannot resolve before); --jobs {jobs}, "
              f"{os.cpu_count()} CPUs")
        print(f"| {'':28} | tf_upgrade_v2 | tf-migrate codemod |")
        print(f"|{'-' * 30}|---------------|--------------------|")
        for name, (a, b) in rows.items():
            fa = f"{a:.1f}" if isinstance(a, float) else str(a)
            fb = f"{b:.1f}" if isinstance(b, float) else str(b)
            print(f"| {name:28} | {fa:>13} | {fb:>18} |")
        print(f"speed-up: {t_tfu / t_ours:.2f}x wall, {c_tfu / c_ours:.2f}x CPU "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n", flush=True)
        return {"dir": str(src), "files": n_files, "lines": n_lines, "copies": copies,
                "unresolvable_before": before_total, "speedup": t_tfu / t_ours, "cpu_ratio": c_tfu / c_ours,
                "rows": rows}
    finally:
        if keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="TF 1 source trees (each benchmarked)")
    ap.add_argument("--copies", type=int, default=1, help="replicate each DIR this many times (a larger tree)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--py2", action="store_true", help="add a Python 2 TF file to every copy")
    ap.add_argument("--json", type=Path, help="also write the numbers as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    args = ap.parse_args(argv)
    for d in args.dirs:
        if not d.is_dir():
            print(f"bench_codemod: {d} is not a directory", file=sys.stderr)
            return 2
    results = [bench(d, args.copies, args.jobs, args.py2, args.keep) for d in args.dirs]
    print("| tree | files | lines | speed-up (wall) | speed-up (CPU) |")
    print("|------|-------|-------|-----------------|----------------|")
    for r in results:
        print(f"| {r['dir']} | {r['files']} | {r['lines']} | {r['speedup']:.2f}x | {r['cpu_ratio']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
