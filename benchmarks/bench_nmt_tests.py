"""tensorflow/nmt's own test suite on TF 2.21: as it is, after `tf_upgrade_v2`, after `tf-migrate codemod`.

    .venv/bin/python benchmarks/bench_nmt_tests.py NMT_CHECKOUT [--only original,tf_upgrade_v2,tf-migrate]
                                                   [--timeout 1800] [--keep DIR] [--json out.json]

NMT_CHECKOUT is a checkout of github.com/tensorflow/nmt (the folder holding `nmt/`); nothing is fetched and
the checkout is never modified. Each variant is a fresh copy in a temporary folder:

| variant        | what is done to the copy                                                      |
|----------------|-------------------------------------------------------------------------------|
| original       | nothing                                                                       |
| tf_upgrade_v2  | `tf_upgrade_v2 --intree nmt --outtree nmt` (TensorFlow's own, ships with TF)  |
| tf-migrate     | `tf-migrate codemod nmt --write --graph-mode`                                 |

then, from the copy's root, with `TF_USE_LEGACY_KERAS=1` (what `tf.compat.v1.nn.rnn_cell` needs on TF 2.16+):

    python -m pytest nmt/model_test.py nmt/inference_test.py nmt/nmt_test.py nmt/utils

The suite itself needs `portpicker` (tf.test.create_local_cluster); install it in the environment first
(`pip install portpicker`): without it this script exits 2 instead of counting 9 spurious failures.
Counts come from pytest's JUnit XML (passed / failed / errors / skipped; a test module that cannot be
imported counts as one error, `--continue-on-collection-errors` keeps the others running), and the first
line of every failure is listed with `-v`. Exit codes: 0 done, 1 a tool changed nothing (not working), 2 unusable input,
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TESTS = ["nmt/model_test.py", "nmt/inference_test.py", "nmt/nmt_test.py", "nmt/utils"]
VARIANTS = ["original", "tf_upgrade_v2", "tf-migrate"]


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def transform(variant: str, copy: Path) -> tuple[float, str]:
    """Apply `variant` to the copy in place; (seconds, the tool's last output line)."""
    start = time.perf_counter()
    if variant == "original":
        return 0.0, ""
    if variant == "tf_upgrade_v2":
        out = copy / "nmt_upgraded"
        cmd = [_tool("tf_upgrade_v2"), "--intree", str(copy / "nmt"), "--outtree", str(out),
               "--reportfile", str(copy.parent / f"{copy.name}_report.txt")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        shutil.rmtree(copy / "nmt")
        out.rename(copy / "nmt")
    else:
        cmd = [sys.executable, "-m", "migrate", "codemod", str(copy / "nmt"), "--write", "--graph-mode", "-q"]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"error: {variant} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    return time.perf_counter() - start, tail[-1] if tail else ""


def _changed_files(before: Path, after: Path) -> int:
    """How many .py files differ between the checkout's nmt/ and the copy's."""
    names = {p.relative_to(before) for p in before.rglob("*.py")} | {p.relative_to(after) for p in after.rglob("*.py")}
    return sum(1 for n in names if not ((before / n).is_file() and (after / n).is_file()
                                        and (before / n).read_bytes() == (after / n).read_bytes()))


def run_suite(copy: Path, timeout: float) -> dict:
    """Run nmt's tests in `copy`; counts and failures from the JUnit XML."""
    xml = copy.parent / f"{copy.name}_junit.xml"
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", *TESTS, "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
           "-o", "addopts=", "--rootdir", str(copy), "--continue-on-collection-errors"]
    start = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    seconds = time.perf_counter() - start
    if not xml.exists():
        return {"error": "pytest wrote no report"}
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failures = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "errors", "skipped": "skipped"}[child.tag]
                if outcome != "skipped":
                    message = (child.get("message") or child.text or "").strip().splitlines()
                    failures.append(f"{case.get('classname')}.{case.get('name')}: {message[0][:160] if message else ''}")
        counts[outcome] += 1
    return {**counts, "seconds": round(seconds, 1), "failures": failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a tensorflow/nmt checkout (the folder holding nmt/)")
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants to run")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per test run (default 1800)")
    parser.add_argument("--keep", type=Path, help="keep the transformed copies under this folder")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failing test")
    args = parser.parse_args(argv)

    if not (args.checkout / "nmt" / "model_test.py").is_file():
        print(f"error: {args.checkout} is not a tensorflow/nmt checkout (no nmt/model_test.py); "
              "pass the folder that holds nmt/", file=sys.stderr)
        return 2
    variants = [v for v in args.only.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        print(f"error: unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    if importlib.util.find_spec("portpicker") is None:
        print("error: the nmt suite needs portpicker (tf.test.create_local_cluster): pip install portpicker",
              file=sys.stderr)
        return 2

    results = {}
    work = Path(tempfile.mkdtemp(prefix="bench_nmt_")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        for variant in variants:
            copy = work / variant.replace("-", "_")
            if copy.exists():
                shutil.rmtree(copy)
            shutil.copytree(args.checkout, copy, ignore=shutil.ignore_patterns(".git", "__pycache__"))
            seconds, summary = transform(variant, copy)
            changed = _changed_files(args.checkout / "nmt", copy / "nmt")
            if variant != "original" and not changed:
                print(f"error: {variant} changed no file; is it installed and working?", file=sys.stderr)
                return 1
            result = run_suite(copy, args.timeout)
            result.update(transform_seconds=round(seconds, 1), tool_summary=summary, files_changed=changed)
            results[variant] = result
            print(f"{variant:14} " + (result["error"] if "error" in result else
                  f"passed {result['passed']:3}  failed {result['failed'] + result['errors']:3}  "
                  f"skipped {result['skipped']:3}  ({result['seconds']:.0f} s; {changed} files changed)"),
                  flush=True)
            if args.verbose:
                for line in result.get("failures", []):
                    print(f"    {line}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
