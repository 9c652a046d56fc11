"""The codemod's text path against its libcst-only pass on real trees: byte-identical output, same report.

    .venv/bin/python benchmarks/compare_codemod_textpath.py TREE [TREE ...] [--jobs 1]

Each TREE (a checkout of a real TF 1 project, recreated from a public repository, e.g.
`git -C MIRROR archive COMMIT | tar -x -C /tmp/trees/nmt`; the suites' commits are in bench_suites.py)
is copied twice; `tf-migrate codemod --write --json` rewrites one copy as it runs by default (text path
on) and the other with `TF_MIGRATE_CODEMOD_TEXT=0` (every TF statement through libcst). Every file of the
two copies must be byte-identical and the two `--json` reports equal (changed, skipped, errors,
findings with rule, line, column and message, exit code). Prints the files compared, the differences
(none expected) and the CPU seconds of each run. Exit 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def run(tree: Path, report: Path, text: bool, jobs: int) -> tuple[float, int]:
    env = dict(os.environ, TF_MIGRATE_CODEMOD_TEXT="1" if text else "0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "migrate", "codemod", "--write", "--quiet", "--jobs", str(jobs),
                           "--json", str(report), str(tree)], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def normalized(report: Path, root: Path) -> dict:
    data = json.loads(report.read_text())
    text = json.dumps(data)
    return json.loads(text.replace(str(root), "ROOT"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        copies = {}
        for variant in ("text", "libcst"):
            root = Path(tmp) / variant
            for tree in args.trees:
                shutil.copytree(tree, root / tree.name, symlinks=True)
            copies[variant] = root
        cpu = {}
        for variant, root in copies.items():
            cpu[variant], rc = run(root, Path(tmp) / f"{variant}.json", variant == "text", args.jobs)
            if rc not in (0, 1):
                print(f"{variant}: codemod exited {rc}", file=sys.stderr)
        files = sorted(p.relative_to(copies["text"]) for p in copies["text"].rglob("*") if p.is_file())
        for rel in files:
            if (copies["text"] / rel).read_bytes() != (copies["libcst"] / rel).read_bytes():
                differences += 1
                print(f"differs: {rel}")
        reports = {v: normalized(Path(tmp) / f"{v}.json", copies[v]) for v in copies}
        for key in sorted(set(reports["text"]) | set(reports["libcst"])):
            if reports["text"].get(key) != reports["libcst"].get(key):
                differences += 1
                print(f"report field {key!r} differs")
        changed = len(reports["text"].get("changed", []))
        findings = len(reports["text"].get("findings", []))
        print(f"{len(files)} files ({sum(1 for f in files if f.suffix == '.py')} .py), {changed} changed, "
              f"{findings} findings: {differences} differences; CPU s: text path {cpu['text']:.1f}, "
              f"libcst only {cpu['libcst']:.1f}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
