"""Linear time of `tf-migrate codemod` on one large file: CPU seconds for --check and --write, against the goal.

    .venv/bin/python benchmarks/bench_codemod_bigfile.py [--shape dense|sample] [--lines 50000]
                                                         [--mode check,write] [--goal 10]

Two shapes of file, both TF 1 code from top to bottom:

* `dense` (the default; issue 23's file): `import tensorflow as tf`, then one 14-line function repeated,
  each a block of `tf.variable_scope`, `tf.get_variable` with an initializer, `tf.layers.dense`,
  `tf.nn.dropout(h, keep_prob)`, `softmax_cross_entropy_with_logits_v2`, `tf.summary.scalar` and
  `tf.log(tf.to_float(...))`: nearly every line is rewritten.
* `sample`: the TF 1 sample model (migrate/codemod/samples/legacy_seq2seq.py.txt) with its functions
  repeated below its imports.

Each size and mode runs in a fresh `tf-migrate codemod --jobs 1` process on a fresh copy of the file;
CPU time is user + system of that process and its worker (a shared machine inflates wall time, not
this). Prints seconds per size, seconds per 10,000 lines (a linear tool keeps that column flat) and
whether the goal (issue 23: 50,000 dense lines in <= 10 s for --check and for --write) is met; a
last row times libcst alone parsing and printing the same file (one process, same moment), the floor
for any libcst-based tool, which shows how loaded the machine is.
`dense(n)` and `DENSE_BLOCK` are also what tests/test_codemod_golden.py rewrites (a few blocks).
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

DENSE_HEAD = "import tensorflow as tf\n\n\n"
DENSE_BLOCK = '''\
def block_{i}(x, labels, keep_prob, units=64):
    """Block {i}: a dense layer, dropout, a loss and its summary."""
    with tf.variable_scope("block_{i}"):
        w = tf.get_variable("w", [units, units],
                            initializer=tf.truncated_normal_initializer(stddev=0.1))
        h = tf.layers.dense(x, units, activation=tf.nn.relu, name="dense")
        h = tf.nn.dropout(h, keep_prob)
        logits = tf.layers.dense(tf.matmul(h, w), 10, name="logits")
        loss = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits))
        tf.summary.scalar("loss_{i}", loss)
        penalty = tf.log(tf.to_float(tf.shape(x)[0]) + 1.0)
    return loss + penalty


'''


def dense(lines: int) -> str:
    """At least `lines` lines of dense TF 1 code (issue 23): the block above, numbered, repeated."""
    per = DENSE_BLOCK.count("\n")
    count = max(1, -(-(lines - DENSE_HEAD.count("\n")) // per))
    return DENSE_HEAD + "".join(DENSE_BLOCK.replace("{i}", str(i)) for i in range(count))


def sample(lines: int) -> str:
    """The sample model with its functions repeated to at least `lines` lines."""
    text = (ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt").read_text()
    marker = "from seq2seq_task import EOS_ID, PAD_ID, SOS_ID\n"
    head, _, body = text.partition(marker)
    return head + marker + body * (lines // body.count("\n") + 1)


SHAPES = {"dense": dense, "sample": sample}
FLOOR = "import sys, libcst; libcst.parse_module(open(sys.argv[1]).read()).code"


def cpu_of(cmd: list[str]) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="dense")
    ap.add_argument("--lines", default="50000", help="comma-separated sizes (default 50000)")
    ap.add_argument("--mode", default="check,write", help="comma-separated: check, write, diff")
    ap.add_argument("--goal", type=float, default=10.0, help="CPU seconds allowed for 50,000 lines")
    args = ap.parse_args(argv)
    modes = args.mode.split(",")
    if not set(modes) <= {"check", "write", "diff"}:
        ap.error(f"--mode: expected check, write or diff, got {args.mode!r}")
    print(f"| shape | lines | mode | CPU s | CPU s per 10k lines | goal: <= {args.goal:g} s per 50k lines |")
    print("|-------|-------|------|-------|---------------------|----------------------------|")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.lines.split(",")):
            text = SHAPES[args.shape](n)
            real = text.count("\n")
            for mode in modes:
                path = os.path.join(tmp, f"big_{n}_{mode}.py")
                Path(path).write_text(text)  # --write rewrites it: a fresh copy per run
                exe = [sys.executable, "-m", "migrate", "codemod", f"--{mode}", "--jobs", "1", "--quiet", path]
                cpu, rc = cpu_of(exe)
                if rc not in (0, 1):
                    print(f"codemod exited {rc} on {real} lines", file=sys.stderr)
                    return 1
                if mode == "write" and Path(path).read_text() == text:
                    print(f"codemod --write left the {real}-line file unchanged", file=sys.stderr)
                    return 1
                allowed = args.goal * real / 50_000
                met = cpu <= allowed
                failed |= not met
                print(f"| {args.shape} | {real} | {mode} | {cpu:.1f} | {cpu / real * 10_000:.2f} | "
                      f"{'met' if met else 'NOT met'} ({allowed:.1f} s allowed) |")
            # The floor on this machine now: libcst alone parsing and printing the same file once.
            path = os.path.join(tmp, f"big_{n}_libcst.py")
            Path(path).write_text(text)
            cpu, rc = cpu_of([sys.executable, "-c", FLOOR, path])
            print(f"| {args.shape} | {real} | libcst parse + print alone | {cpu:.1f} | {cpu / real * 10_000:.2f} | "
                  "(the floor for a libcst tool) |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
