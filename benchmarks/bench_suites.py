"""Real TF 1 projects' own test suites on TF 2.21: as they are, after `tf_upgrade_v2`, after `tf-migrate codemod`.

    .venv/bin/python benchmarks/bench_suites.py SUITE=CHECKOUT [SUITE=CHECKOUT ...]
                     [--only original,tf_upgrade_v2,tf-migrate,tf-migrate-graph] [--timeout 1800]
                     [--keep DIR] [--json out.json] [-v]

Each SUITE is a public TF 1 project pinned to a commit (`SUITES` below); CHECKOUT is a folder holding that
commit's files. Nothing is fetched or committed here; recreate a checkout from a mirror with e.g.

    git --git-dir MIRROR/.git archive COMMIT | tar -x -C /tmp/suites/bert

(`fetch github:google-research/bert`, then the commit below; likewise tensorflow/nmt, tflearn/tflearn and
allenai/bilm-tf). The checkout is never modified. Each variant
is a fresh copy in a temporary folder:

| variant          | what is done to the copy                                                   |
|------------------|----------------------------------------------------------------------------|
| original         | nothing                                                                    |
| tf_upgrade_v2    | `tf_upgrade_v2 --intree D --outtree D'` on each of the suite's folders     |
| tf-migrate       | `tf-migrate codemod D... --write` (the default rules)                      |
| tf-migrate-graph | `tf-migrate codemod D... --write --graph-mode`                             |

then the suite's tests run from the copy's root with pytest, one process, `TF_USE_LEGACY_KERAS=1` (what
`tf.compat.v1.layers` / `rnn_cell` need on TF 2.16+). Counts come from pytest's JUnit XML (passed / failed
/ errors / skipped; a test module that cannot be imported counts as one error and
`--continue-on-collection-errors` keeps the others running); `-v` lists the first line of every failure.
What a suite's own environment needs (`Suite.needs`: portpicker for nmt, Pillow < 10 for tflearn) and this one
lacks is installed from the package index into a folder of the run (`pip install --target`), first on the
tests' PYTHONPATH; this environment is never changed.
The goal (issue 23): on every suite more tests pass after the codemod than after tf_upgrade_v2, and
`--graph-mode` never lowers the count. Measured in one run of all four suites (2026-12-07, `-v`; table and
causes: docs/codemod.md, "Real test suites"), tests passed, original / tf_upgrade_v2 / codemod / --graph-mode:

| suite   | original | tf_upgrade_v2 | codemod | --graph-mode |
|---------|----------|---------------|---------|--------------|
| nmt     | 2        | 6             | 34      | 34           |
| bert    | 9        | 10            | 12      | 12           |
| tflearn | 0        | 0             | 18      | 18           |
| bilm    | 13       | 14            | 20      | 20           |

google/seq2seq is no longer a suite: 0 for every tool, since its package imports tf.contrib.learn Estimator
APIs (Experiment, MetricSpec, RunConfig) and tf.contrib.distributions, which have no TF 2.21 successor;
allenai/bilm-tf replaces it. Exit codes: 0 done, 1 a tool changed nothing, 2 unusable input,
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VARIANTS = ["original", "tf_upgrade_v2", "tf-migrate", "tf-migrate-graph"]


@dataclass(frozen=True)
class Suite:
    """One real project: where it comes from, what the tools rewrite, what runs."""

    repo: str                  # github owner/name
    commit: str                # the pinned commit (TF 1 code)
    dirs: tuple[str, ...]      # folders the tools rewrite ("." = the checkout's root files)
    tests: tuple[str, ...]     # what pytest runs, relative to the checkout
    marker: str                # a file that identifies a checkout of it
    needs: tuple[str, ...] = ()  # pip requirements of the suite's own environment (installed per run, below)
    note: str = ""


SUITES: dict[str, Suite] = {
    "nmt": Suite(
        "tensorflow/nmt", "0be864257a76c151eef20ea689755f08bc1faf4e", ("nmt",),
        ("nmt/model_test.py", "nmt/inference_test.py", "nmt/nmt_test.py", "nmt/utils"),
        "nmt/model_test.py", ("portpicker",),
        "seq2seq NMT (TF 1.12 era): tf.contrib.seq2seq, rnn_cell, Session-based tests"),
    "bert": Suite(
        "google-research/bert", "eedf5716ce1268e56f0a50264a88cafad334ac61", (".",),
        ("modeling_test.py", "optimization_test.py", "tokenization_test.py"),
        "modeling_test.py", ("six",),
        "BERT (TF 1.11 era): tf.layers, tf.contrib.layers.layer_norm, tf.train.Optimizer, tf.gfile"),
    "bilm": Suite(
        "allenai/bilm-tf", "7cffee2b0986be51f5e2a747244836e1047657f4", ("bilm", "tests"),
        ("tests",),
        "bilm/training.py", ("h5py",),
        "ELMo biLM (TF 1.2-1.11 era, Apache-2.0): LSTMCell with projection, dynamic_rnn, placeholders, "
        "Session-based unittest tests over committed hdf5 fixtures; replaces google/seq2seq, which cannot "
        "count (its package __init__ imports tf.contrib.learn.Experiment / MetricSpec and "
        "tf.contrib.distributions: no TF 2.21 successor)"),
    "tflearn": Suite(
        "tflearn/tflearn", "17cee59d4999f7a43cb6a21bf02661b0d4e9139b", ("tflearn", "tests"),
        ("tests/test_layers.py", "tests/test_models.py", "tests/test_metrics.py", "tests/test_objectives.py",
         "tests/test_inputs.py", "tests/test_helpers.py", "tests/test_validation_monitors.py",
         "tests/test_models_loading_scope.py"),
        "tflearn/layers/core.py", ("six", "Pillow<10"),  # PIL.Image.ANTIALIAS: gone in Pillow 10
        "TFLearn 0.3.2 (2017): a Keras-like library on TF 1 graphs, Session-based training"),
}


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def transform(suite: Suite, variant: str, copy: Path) -> tuple[float, str]:
    """Apply `variant` to the copy in place; (seconds, the tool's last output line)."""
    start = time.perf_counter()
    if variant == "original":
        return 0.0, ""
    tail = ""
    if variant == "tf_upgrade_v2":
        for d in suite.dirs:
            src = copy / d
            out = copy.parent / f"{copy.name}_upgraded"
            cmd = [_tool("tf_upgrade_v2"), "--intree", str(src), "--outtree", str(out),
                   "--reportfile", str(copy.parent / f"{copy.name}_{d.strip('./') or 'root'}_report.txt")]
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
            if proc.returncode != 0:
                raise SystemExit(f"error: tf_upgrade_v2 failed on {d} (exit {proc.returncode}): "
                                 f"{proc.stderr.strip()[-2000:]}")
            for p in out.rglob("*.py"):  # write back the .py files it produced (the rest is copied as is)
                target = src / p.relative_to(out)
                target.write_bytes(p.read_bytes())
            shutil.rmtree(out)
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
            tail = tail[0]
    else:
        targets = [str(copy / d) for d in suite.dirs]
        extra = ["--graph-mode"] if variant == "tf-migrate-graph" else []
        cmd = [sys.executable, "-m", "migrate", "codemod", *targets, "--write", "-q", *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"error: {variant} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        tail = lines[-1] if lines else ""
    return time.perf_counter() - start, tail


def _py_files(root: Path, suite: Suite) -> dict[Path, bytes]:
    out = {}
    for d in suite.dirs:
        base = root / d
        files = base.glob("*.py") if d == "." else base.rglob("*.py")
        for p in files:
            out[p.relative_to(root)] = p.read_bytes()
    return out


def changed_files(checkout: Path, copy: Path, suite: Suite) -> int:
    before, after = _py_files(checkout, suite), _py_files(copy, suite)
    return sum(1 for n in set(before) | set(after) if before.get(n) != after.get(n))


def unsatisfied(requirements: tuple[str, ...]) -> list[str]:
    """The requirements this interpreter's environment does not meet (missing, or another version)."""
    out = []
    for text in requirements:
        req = Requirement(text)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(text)
    return out


def install_needs(name: str, suite: Suite, work: Path) -> Path | None | str:
    """Install what the suite's environment needs and ours lacks into a folder of its own (`pip install --target`,
    from the package index); its tests get it first on PYTHONPATH. Our environment is never changed."""
    missing = unsatisfied(suite.needs)
    if not missing:
        return None
    target = work / "_needs" / name
    done = target / ".installed"
    if done.exists() and done.read_text() == "\n".join(missing):  # a --keep folder reused
        return target
    shutil.rmtree(target, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "--target", str(target), *missing], capture_output=True, text=True)
    if proc.returncode != 0:
        return (f"error: the {name} suite needs {', '.join(missing)}; pip could not install it into {target} "
                f"(exit {proc.returncode}: {proc.stderr.strip()[-500:]}); install it into this environment or "
                f"put it on PYTHONPATH")
    done.write_text("\n".join(missing))
    return target


def _runtime_path(work: Path) -> Path:
    """A folder holding only this checkout's runtime package (what rewritten code imports), first on the tests'
    PYTHONPATH: the environment may have another checkout's installed (an editable install elsewhere)."""
    folder = work / "_runtime"
    folder.mkdir(exist_ok=True)
    link = folder / "tf_migrate_runtime"
    if not link.exists():
        link.symlink_to(ROOT / "tf_migrate_runtime", target_is_directory=True)
    return folder


def run_suite(suite: Suite, copy: Path, timeout: float, needs: list[Path] = ()) -> dict:
    """Run the suite's tests in `copy`; counts and failures from the JUnit XML."""
    xml = copy.parent / f"{copy.name}_junit.xml"
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1",
               CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join([str(copy), *map(str, needs),
                                         *filter(None, [os.environ.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "pytest", *suite.tests, "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
           "-o", "addopts=", "--rootdir", str(copy), "--continue-on-collection-errors", "-p", "no:xdist",
           "-p", "no:randomly"]
    start = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    seconds = time.perf_counter() - start
    if not xml.exists():
        return {"error": "pytest wrote no report"}
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failures, passed = [], []
    for case in ET.parse(xml).getroot().iter("testcase"):
        outcome = "passed"
        name = f"{case.get('classname')}.{case.get('name')}"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "errors", "skipped": "skipped"}[child.tag]
                if outcome != "skipped":
                    message = (child.get("message") or child.text or "").strip().splitlines()
                    failures.append(f"{name}: {message[0][:200] if message else ''}")
        counts[outcome] += 1
        if outcome == "passed":
            passed.append(name)
    return {**counts, "seconds": round(seconds, 1), "failures": failures, "passed_tests": passed}


def _parse_suites(specs: list[str]) -> list[tuple[str, Path]] | str:
    out = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or name not in SUITES:
            return (f"error: {spec!r}: expected SUITE=CHECKOUT with SUITE one of {', '.join(SUITES)}")
        checkout = Path(path)
        if not (checkout / SUITES[name].marker).is_file():
            suite = SUITES[name]
            return (f"error: {checkout} is not a {suite.repo} checkout (no {suite.marker}); export commit "
                    f"{suite.commit[:12]} there (git archive {suite.commit[:12]} | tar -x -C {checkout})")
        out.append((name, checkout))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="+", metavar="SUITE=CHECKOUT",
                        help=f"suites to run: {', '.join(f'{k} ({s.repo})' for k, s in SUITES.items())}")
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants to run")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per test run (default 1800)")
    parser.add_argument("--keep", type=Path, help="keep the transformed copies under this folder")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failing test")
    args = parser.parse_args(argv)

    suites = _parse_suites(args.suites)
    if isinstance(suites, str):
        print(suites, file=sys.stderr)
        return 2
    variants = [v for v in args.only.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        print(f"error: unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    work = Path(tempfile.mkdtemp(prefix="bench_suites_")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    runtime = _runtime_path(work)
    try:
        for name, checkout in suites:
            suite = SUITES[name]
            results[name] = {}
            needs = install_needs(name, suite, work)
            if isinstance(needs, str):
                print(needs, file=sys.stderr)
                return 2
            needs = [p for p in (needs, runtime) if p is not None]
            print(f"{name}: {suite.repo}@{suite.commit[:12]} ({suite.note})", flush=True)
            for variant in variants:
                copy = work / name / variant.replace("-", "_")
                if copy.exists():
                    shutil.rmtree(copy)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns(".git", "__pycache__"))
                seconds, summary = transform(suite, variant, copy)
                changed = changed_files(checkout, copy, suite)
                if variant != "original" and not changed:
                    print(f"error: {variant} changed no file of {name}; is it installed and working?", file=sys.stderr)
                    return 1
                result = run_suite(suite, copy, args.timeout, needs)
                result.update(transform_seconds=round(seconds, 1), tool_summary=summary, files_changed=changed)
                results[name][variant] = result
                print(f"  {variant:16} " + (result["error"] if "error" in result else
                      f"passed {result['passed']:3}  failed {result['failed'] + result['errors']:3}  "
                      f"skipped {result['skipped']:3}  ({result['seconds']:.0f} s; {changed} files changed)"),
                      flush=True)
                if args.verbose:
                    for line in result.get("failures", []):
                        print(f"      {line}")
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
