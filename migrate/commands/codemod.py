"""`tf-migrate codemod`: move TF 1.x source to TensorFlow 2.21 (a libcst codemod; see docs/codemod.md)."""

from __future__ import annotations

import argparse
import os
import sys

from migrate.commands._common import check_outputs_early, output_parents
from migrate.exit_codes import BAD_INPUT, CANNOT_WRITE, CliError

EPILOG = """\
examples:
  tf-migrate codemod src/                      # show the diff, change nothing
  tf-migrate codemod src/ --write --jobs 2     # rewrite in place (atomic per file)
  tf-migrate codemod src/ --write --graph-mode # + disable_v2_behavior() in entry points (TF 1 programs)
  tf-migrate codemod src/ --check              # CI / pre-commit: exit 1 when something would change
  tf-migrate codemod nb.ipynb --select TFM001,contrib --json report.json
  tf-migrate codemod --list-rules

exit codes: 0 done / nothing to change; 1 --check found work, a file hit an internal error or could
not be read (left unchanged, reported with the rule; -v or --json for the traceback), or --strict and
a file was skipped; 3 a file could not be written (left unchanged; the others are done);
2 unusable input (missing path, unknown rule); 130 interrupted (every file old or new).
Skipped files (left byte-identical: Python 2, syntax errors, or past the parser's limits: not a
regular file, too large, nested too deeply, a worker that crashed or ran out of time; see
docs/codemod.md, "Limits") are warnings unless --strict. Every file is processed in a worker process.
Findings (file:line:column in the source, rule, what to do) go to stderr and never change the exit code.
Symbolic links are written through: the target is rewritten, the link stays.
"""


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "codemod", help="rewrite TF 1.x source for TensorFlow 2.21 (diff, write or check)",
        description="Rewrite TF 1.x Python files and notebooks for TensorFlow 2.21: renames, argument "
                    "changes, tf.contrib successors, imports; what cannot be rewritten is reported with "
                    "file:line:column. Formatting and comments outside the edits stay byte-identical; "
                    "valid TF 2.21 code is left as it is.",
        epilog=EPILOG)
    parser.add_argument("paths", nargs="*", metavar="PATH", help=".py / .ipynb files or directories")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--diff", dest="mode", action="store_const", const="diff",
                      help="print a unified diff of what --write would write (default)")
    what.add_argument("--write", dest="mode", action="store_const", const="write", help="rewrite in place")
    what.add_argument("--check", dest="mode", action="store_const", const="check",
                      help="exit 1 when anything would change (for CI and pre-commit)")
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="worker processes (default: CPU count)")
    parser.add_argument("--json", metavar="R.json", help="also write the report as JSON (schema in docs/codemod.md)")
    parser.add_argument("--select", metavar="RULES", help="comma-separated rule codes or names to apply")
    parser.add_argument("--extend-select", metavar="RULES", help="rules to apply on top of --select (opt-in rules)")
    parser.add_argument("--ignore", metavar="RULES", help="comma-separated rule codes or names to leave out")
    parser.add_argument("--graph-mode", action="store_true",
                        help="TF 1 graph-mode programs: call tf.compat.v1.disable_v2_behavior() after the "
                             "imports of entry points (rule TFM007); never in a module that chooses its mode "
                             "itself (it tests tf.__version__, tf.executing_eagerly(), is_tf2()...): a finding")
    parser.add_argument("--strict", action="store_true",
                        help="a skipped file (Python 2, syntax error, past a limit) fails the run (exit 1)")
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    parser.add_argument("--full-scope", action="store_true",
                        help="resolve every file with libcst's ScopeProvider (slower, same result)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary line")
    parser.set_defaults(func=run, mode="diff", preflight=preflight)
    return parser


def preflight(args: argparse.Namespace) -> None:
    """Before any file is rewritten: --json can be written (exit 3 otherwise; an existing report is replaced)."""
    check_outputs_early([(args.json, "file")], force=True)


def run(args: argparse.Namespace) -> int:
    with output_parents([args.json]):   # `mkdir -p` of its folder; removed again on failure
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from migrate import codemod  # noqa: PLC0415  (keeps `tf-migrate --help` fast)
    from migrate.codemod.engine import atomic_write  # noqa: PLC0415
    from migrate.codemod.rules import list_rules  # noqa: PLC0415

    if args.list_rules:
        sys.stdout.write(list_rules())
        return 0
    if not args.paths:
        raise CliError("give at least one PATH (.py / .ipynb file or directory), or --list-rules", BAD_INPUT)
    if args.jobs is not None and args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {args.jobs}", BAD_INPUT)
    verbose = getattr(args, "verbose", False)
    progress, bar = None, None
    try:
        files = codemod.discover(args.paths)
    except codemod.CodemodInputError as e:
        raise CliError(str(e), BAD_INPUT) from e
    if not args.quiet and sys.stderr.isatty() and len(files) >= 20:
        from tqdm import tqdm  # noqa: PLC0415

        bar = tqdm(total=len(files), unit="file", desc="codemod", leave=False, file=sys.stderr)
        progress = lambda _result: bar.update(1)  # noqa: E731
    try:
        report = codemod.run(args.paths, mode=args.mode, jobs=args.jobs, select=args.select,
                             ignore=args.ignore, full_scope=args.full_scope, progress=progress,
                             graph_mode=args.graph_mode, strict=args.strict, extend_select=args.extend_select)
    except (codemod.CodemodInputError, ValueError) as e:
        raise CliError(str(e), BAD_INPUT) from e
    finally:
        if bar is not None:
            bar.close()
    out = sys.stdout
    if args.mode == "diff" and not args.quiet:
        for r in report.results:
            if r.diff:
                out.write(r.diff)
    for r in report.errors:  # always shown, even with --quiet
        print(f"{r.path}: error: {r.reason}", file=sys.stderr)
        if verbose and r.traceback:
            sys.stderr.write(r.traceback)
    if not args.quiet:
        kind = "error" if args.strict else "warning"
        for r in report.results:
            if r.status == "skipped":
                print(f"{r.path}: {kind}: skipped: {r.reason}", file=sys.stderr)
                if verbose and r.traceback:  # what a crashed worker printed
                    sys.stderr.write(r.traceback.rstrip("\n") + "\n")
        for path, finding in report.findings:
            print(finding.format(path), file=sys.stderr)
        if args.mode == "check":
            for path in report.changed:
                print(f"would change: {path}", file=sys.stderr)
    print(f"tf-migrate codemod: {report.summary()}", file=sys.stderr)
    if args.json:
        from migrate.files import to_json_text  # noqa: PLC0415

        data = to_json_text(report.to_json()).encode("utf-8")
        made = not os.path.exists(args.json)
        try:
            if made:
                open(args.json, "wb").close()
            atomic_write(args.json, data)
        except OSError as e:
            if made and os.path.isfile(args.json) and os.path.getsize(args.json) == 0:
                os.unlink(args.json)    # the empty placeholder made just above: nothing left behind
            raise CliError(f"--json {args.json}: cannot write the report ({e.strerror})", CANNOT_WRITE) from e
    return report.exit_code()
