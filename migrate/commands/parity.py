"""`tf-migrate parity --legacy CKPT [--keras FILE]`: prove the Keras port computes what the legacy model computed."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  tf-migrate parity --legacy runs/legacy --keras runs/port/model.keras
  tf-migrate parity --legacy runs/legacy                       # convert the checkpoint on the fly
  tf-migrate parity --legacy runs/legacy/model.ckpt-1000 --keras model.keras --batches 4 --seed 7 \\
      --json parity.json --junit parity.xml                  # CI: reports for machines and dashboards

Checks (docs/parity.md): weights (port mapped back to TF1 layout), logits at valid positions, loss,
gradients of one step for every weight, weights after K Adam steps, greedy-decoded ids (exact).
Tolerance per element: |port - legacy| <= atol + rtol * |legacy|. Defaults: atol 1e-5, rtol 1e-6
forward; rtol 1e-5 for gradients; weights after K Adam steps atol max(1e-5, 0.03 * K * lr).
exit codes: 0 every check within tolerance, 1 a check outside tolerance, 2 unusable input.
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("parity", help="compare a legacy TF1 checkpoint with its Keras port",
                              description=__doc__, epilog=EPILOG)
    p.add_argument("--legacy", required=True, metavar="CKPT",
                   help="legacy model directory (hparams.json beside the checkpoint) or checkpoint prefix")
    p.add_argument("--keras", metavar="FILE", default=None,
                   help="the port's .keras file (default: convert the checkpoint on the fly)")
    p.add_argument("--hparams", metavar="FILE", default=None,
                   help="the legacy hparams.json when it is not beside the checkpoint")
    p.add_argument("--batches", type=_positive, default=2, metavar="N", help="padded batches to compare (default 2)")
    p.add_argument("--batch-size", type=_positive, default=None, metavar="B",
                   help="rows per batch (default min(hparams.batch_size, 8))")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="which batches (default 0)")
    p.add_argument("--adam-steps", type=int, default=3, metavar="K",
                   help="K for 'weights after K Adam steps' (default 3; 0 skips)")
    p.add_argument("--rtol", type=_non_negative_float, default=None, metavar="R",
                   help="relative tolerance for every float check")
    p.add_argument("--atol", type=_non_negative_float, default=None, metavar="A",
                   help="absolute tolerance for every float check")
    p.add_argument("--checks", default=None, metavar="LIST",
                   help="comma-separated subset of weights,logits,loss,gradients,adam,greedy (default all)")
    p.add_argument("--json", metavar="R.json", default=None, help="write the full report as JSON (atomic)")
    p.add_argument("--junit", metavar="R.xml", default=None, help="write a JUnit XML report (atomic)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import warnings  # noqa: PLC0415

    from migrate.exit_codes import MISMATCH, OK, CliError  # noqa: PLC0415

    if not getattr(args, "verbose", False):  # the legacy graph's own TF1 deprecation notices
        warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed", category=UserWarning)
    from migrate.parity.harness import CHECKS, run_parity  # noqa: PLC0415

    checks = None
    if args.checks:
        checks = [c.strip() for c in args.checks.split(",") if c.strip()]
        unknown = [c for c in checks if c not in CHECKS]
        if unknown:
            raise CliError(f"--checks: unknown check(s) {', '.join(unknown)}; expected some of {', '.join(CHECKS)}")
    if args.adam_steps < 0:
        raise CliError(f"--adam-steps {args.adam_steps}: expected 0 or more")
    report = run_parity(args.legacy, args.keras, batches=args.batches, seed=args.seed, batch_size=args.batch_size,
                        adam_steps=args.adam_steps, rtol=args.rtol, atol=args.atol, checks=checks,
                        hparams=args.hparams)
    print(report.table())
    if not report.ok:
        print()
        print(report.failure_message(), file=sys.stderr)
    else:
        print(report.summary_line())
    for note in report.notes if report.ok else ():
        print(note)
    if args.json:
        report.write_json(args.json)
    if args.junit:
        report.write_junit(args.junit)
    return OK if report.ok else MISMATCH
