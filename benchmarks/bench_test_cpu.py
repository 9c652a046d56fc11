"""CPU seconds (user + sys of pytest and every child it starts) of test files / test ids, before and after a change.

    .venv/bin/python benchmarks/bench_test_cpu.py --before REV TARGET [TARGET ...] [--repeat 2]

Each TARGET is a test file or a test id (`tests/test_x.py::test_y`). For each repeat, interleaved, the target runs
as it is in the working tree ("after") and as the test file was at git revision REV ("before": the file's text at
REV is written beside it under a temporary name, run, then removed); `pytest -q -n 0 -p no:cacheprovider`, one
process each. CPU is read from `resource.getrusage(RUSAGE_CHILDREN)` around each run: the measure on a machine
shared with others, where wall time is not. Prints one row per run and the ratio of the means after / before.

    .venv/bin/python benchmarks/bench_test_cpu.py --before-tree TREE TARGET [TARGET ...] [--repeat 2]

For a change of the product rather than of the tests: "before" runs the same target in another checkout TREE (e.g.
`git worktree add --detach /tmp/base main`, with the venv linked as .venv), as it is there: its tests and its code.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_of(target: str, cwd: str = ROOT) -> tuple[float, bool]:
    """(user + sys seconds of the pytest run in `cwd` and its children, passed?)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-o",
                           "addopts=", target], cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode == 0


def old_copy(target: str, rev: str) -> tuple[str, str]:
    """Write the target's file as it was at `rev` beside it; returns (the target on that copy, the copy's path)."""
    path, _, test = target.partition("::")
    text = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    folder, name = os.path.split(path)
    copy = os.path.join(folder, f"test_zz_before_{name[:-3].removeprefix('test_')}.py")
    with open(os.path.join(ROOT, copy), "w", encoding="utf-8") as f:
        f.write(text)
    return (f"{copy}::{test}" if test else copy), copy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", metavar="TARGET")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--before", metavar="REV", help="git revision of the test files before")
    group.add_argument("--before-tree", metavar="TREE", help="another checkout: the target run there is `before`")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    ok = True
    for target in args.targets:
        runs: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            old, copy = (target, None) if args.before_tree else old_copy(target, args.before)
            try:
                for label, t, cwd in (("before", old, os.path.abspath(args.before_tree or ROOT)),
                                      ("after", target, ROOT)):
                    cpu, passed = cpu_of(t, cwd)
                    ok &= passed
                    runs[label].append(cpu)
                    print(f"{target}  {label:6s}  CPU {cpu:7.1f} s  {'passed' if passed else 'FAILED'}", flush=True)
            finally:
                if copy:
                    os.remove(os.path.join(ROOT, copy))
        b, a = (sum(runs[k]) / len(runs[k]) for k in ("before", "after"))
        print(f"{target}  mean before {b:.1f} s, after {a:.1f} s, after / before = {a / b:.2f}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
