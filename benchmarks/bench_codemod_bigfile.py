"""Linear time of `tf-migrate codemod` on one large file: CPU seconds for 5,000 ... 50,000 lines.

    .venv/bin/python benchmarks/bench_codemod_bigfile.py [--lines 5000,10000,25000,50000] [--mode check|write|diff]

The file is the TF 1 sample model (migrate/codemod/samples/legacy_seq2seq.py.txt) with its functions repeated
below its imports. Each size runs in a fresh `tf-migrate codemod` process; CPU time is user + system of that
process (a shared machine inflates wall time). Prints seconds per size and seconds per 10,000 lines: a linear
tool keeps the last column flat. Target: 50,000 lines in <= 10 s for --check and --write.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def big(lines: int) -> str:
    sample = (ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text()
    marker = "from seq2seq_task import EOS_ID, PAD_ID, SOS_ID\n"
    head, _, body = sample.partition(marker)
    return head + marker + body * (lines // body.count("\n") + 1)


def cpu_of(cmd: list[str]) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", default="5000,10000,25000,50000")
    ap.add_argument("--mode", choices=["check", "write", "diff"], default="check")
    args = ap.parse_args(argv)
    exe = [sys.executable, "-m", "migrate", "codemod", f"--{args.mode}", "--jobs", "1", "--quiet"]
    print(f"| lines | CPU s ({args.mode}) | CPU s per 10k lines |")
    print("|-------|------------|---------------------|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.lines.split(",")):
            path = os.path.join(tmp, f"big_{n}.py")
            Path(path).write_text(big(n))
            real = Path(path).read_text().count("\n")
            cpu, rc = cpu_of(exe + [path])
            if rc not in (0, 1):
                print(f"codemod exited {rc} on {real} lines", file=sys.stderr)
                return 1
            print(f"| {real} | {cpu:.1f} | {cpu / real * 10_000:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
