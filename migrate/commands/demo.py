"""`tf-migrate demo`: train legacy -> inspect + convert -> parity -> side-by-side decode -> codemod -> report."""

from __future__ import annotations

import argparse

EPILOG = """\
example:
  tf-migrate demo --out demo_out             # about 4-6 minutes on 2 CPU cores
  tf-migrate demo --out demo_out --fresh     # start over instead of reusing demo_out/legacy, demo_out/port
  tf-migrate demo --out demo_7 --seed 7      # another training seed (initial weights, data order, parity batches)
  open demo_out/report.html

Steps: 1 train the legacy TF1 model (LSTM + scaled Luong attention, forget bias 0.8) for --minutes;
2 inspect and convert its checkpoint to .keras; 3 parity (logits, loss, gradients, Adam steps, greedy
ids); 4 decode test inputs with both models side by side; 5 codemod a TF 1.x sample file (diff);
6 write OUT/report.html with the parity table, the per-timestep logit difference, attention heatmaps
of both models and the training curve. Exit code 0 when parity passed, 1 when it failed; a failed check
is explained under the table and in report.html (the tensor, the element most outside its tolerance, its gate
for LSTM weights, both values, the likely cause).
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("demo", help="the three jobs end to end on the embedded task, with a report",
                              description=__doc__, epilog=EPILOG)
    p.add_argument("--out", default="demo_out", help="output directory (default: demo_out)")
    p.add_argument("--minutes", type=float, default=2.0,
                   help="legacy training budget in minutes (default: 2)")
    p.add_argument("--fresh", action="store_true", help="retrain and reconvert instead of reusing OUT's files")
    p.add_argument("--fast", action="store_true", help="tiny model and a 15 s budget (for tests; accuracy is low)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the legacy model's initial weights and data order, and of the parity batches "
                        "(default: 1)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from migrate.demo.pipeline import DemoOptions, run_demo  # noqa: PLC0415
    from migrate.exit_codes import CliError  # noqa: PLC0415

    if args.minutes <= 0:
        raise CliError(f"--minutes {args.minutes}: expected a positive number of minutes")
    return run_demo(DemoOptions(out=args.out, minutes=args.minutes, fast=args.fast, fresh=args.fresh,
                                progress=False if args.no_progress else None, seed=args.seed))
