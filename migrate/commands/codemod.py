"""`tf-migrate codemod`: move TF 1.x source to TensorFlow 2.21 (a libcst codemod; see docs/codemod.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from migrate.exit_codes import BAD_INPUT, CliError

EPILOG = """\
examples:
  tf-migrate codemod src/                      # show the diff, change nothing
  tf-migrate codemod src/ --write --jobs 2     # rewrite in place (atomic per file)
  tf-migrate codemod src/ --check              # CI: exit 1 when something would change
  tf-migrate codemod nb.ipynb --select TFM001,contrib --json report.json

rules: TFM001 rename, TFM002 arguments, TFM003 contrib, TFM004 imports, TFM005 notices
exit codes: 0 done / nothing to change; 1 --check found work, or a file was skipped (cannot be
parsed, e.g. Python 2; left byte-identical); 2 unusable input (missing path, unknown rule).
Findings (line:column, rule, what to do) are printed to stderr and never change the exit code.
"""


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "codemod", help="rewrite TF 1.x source for TensorFlow 2.21 (diff, write or check)",
        description="Rewrite TF 1.x Python files and notebooks for TensorFlow 2.21: renames, argument "
                    "changes, tf.contrib successors, imports; what cannot be rewritten is reported with "
                    "file:line:column. Formatting and comments outside the edits stay byte-identical.",
        epilog=EPILOG)
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".py / .ipynb files or directories")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--diff", dest="mode", action="store_const", const="diff",
                      help="print a unified diff (default)")
    what.add_argument("--write", dest="mode", action="store_const", const="write", help="rewrite in place")
    what.add_argument("--check", dest="mode", action="store_const", const="check",
                      help="exit 1 when anything would change (for CI)")
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                        help="worker processes (default: CPU count)")
    parser.add_argument("--json", metavar="R.json", help="also write the report as JSON")
    parser.add_argument("--select", metavar="RULES", help="comma-separated rule codes or names to apply")
    parser.add_argument("--ignore", metavar="RULES", help="comma-separated rule codes or names to leave out")
    parser.add_argument("--full-scope", action="store_true",
                        help="resolve every file with libcst's ScopeProvider (slower, same result)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary line")
    parser.set_defaults(func=run, mode="diff")
    return parser


def run(args: argparse.Namespace) -> int:
    from migrate import codemod  # noqa: PLC0415  (keeps `tf-migrate --help` fast)
    from migrate.codemod.engine import atomic_write  # noqa: PLC0415

    if args.jobs is not None and args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, not {args.jobs}", BAD_INPUT)
    try:
        report = codemod.run(args.paths, mode=args.mode, jobs=args.jobs, select=args.select,
                             ignore=args.ignore, full_scope=args.full_scope)
    except (codemod.CodemodInputError, ValueError) as e:
        raise CliError(str(e), BAD_INPUT) from e
    out = sys.stdout
    if args.mode == "diff" and not args.quiet:
        for r in report.results:
            if r.diff:
                out.write(r.diff)
    if not args.quiet:
        for path, reason in report.skipped:
            print(f"{path}: skipped: {reason}", file=sys.stderr)
        for path, finding in report.findings:
            print(finding.format(path), file=sys.stderr)
        if args.mode == "check":
            for path in report.changed:
                print(f"would change: {path}", file=sys.stderr)
    print(f"tf-migrate codemod: {report.summary()}", file=sys.stderr)
    if args.json:
        data = (json.dumps(report.to_json(), indent=2) + "\n").encode("utf-8")
        try:
            if not os.path.exists(args.json):
                open(args.json, "wb").close()
            atomic_write(args.json, data)
        except OSError as e:
            raise CliError(f"--json {args.json}: cannot write the report ({e.strerror})", BAD_INPUT) from e
    return report.exit_code()
