"""`tf-migrate convert`: a TF1 checkpoint -> the Keras 3 port's weights, and `--to tf1` back again."""

from __future__ import annotations

import argparse

EPILOG = """\
examples:
  tf-migrate convert runs/legacy --out model.keras --report convert.json
  tf-migrate convert runs/legacy/model.ckpt-2000 --out model.weights.h5 --hparams runs/legacy/hparams.json
  tf-migrate convert runs/legacy --out tf2_ckpt/model --with-optimizer      # TF2 object checkpoint + Adam state
  tf-migrate convert --to tf1 model.keras --out rollback/model.ckpt-2000     # back to a name-based TF1 checkpoint

--out decides the format: *.keras, *.weights.h5, anything else = a TF2 object checkpoint prefix.
The forget bias comes from --forget-bias, else hparams, else the .meta graph; the report says which.
exit codes: 0 converted; 1 the checkpoint does not fit the model (missing / unexpected with --strict /
shape-mismatched variables, all listed); 2 unusable input (missing, truncated or corrupt files, another
architecture, float16/bfloat16 variables, no forget bias). Nothing is written unless the exit code is 0.
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("convert", help="convert a TF1 checkpoint into Keras 3 weights (or back with --to tf1)",
                              description=__doc__, epilog=EPILOG)
    p.add_argument("source", metavar="CKPT", help="TF1 checkpoint prefix, directory or .index file "
                                                  "(with --to tf1: the .keras / .weights.h5 file)")
    p.add_argument("--out", required=True, help="output: FILE.keras, FILE.weights.h5 or a TF2 checkpoint prefix "
                                                "(with --to tf1: the TF1 checkpoint prefix to write)")
    p.add_argument("--to", choices=("keras", "tf1"), default="keras", help="direction (default: keras)")
    p.add_argument("--hparams", metavar="FILE", help="hparams.json (default: the one beside the checkpoint, "
                                                     "else inferred from shapes)")
    p.add_argument("--strict", action="store_true", help="unexpected checkpoint weights are an error too")
    p.add_argument("--report", metavar="R.json", help="write the full conversion report as JSON")
    p.add_argument("--forget-bias", type=float, metavar="F", help="the LSTM forget bias the TF1 cells added")
    p.add_argument("--with-optimizer", action="store_true",
                   help="carry Adam's m, v and step into the Keras optimizer (and back with --to tf1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from migrate.checkpoint.convert import convert_checkpoint, write_json_atomic  # noqa: PLC0415

    progress = False if args.no_progress else None
    if args.to == "tf1":
        from migrate.checkpoint.reverse import convert_to_tf1  # noqa: PLC0415

        report = convert_to_tf1(args.source, args.out, hparams_path=args.hparams,
                                with_optimizer=args.with_optimizer)
        if args.report:
            write_json_atomic(report, args.report)
        print(f"wrote {report['output']['path']} ({report['counts']['tf1_variables']} TF1 variables from "
              f"{report['counts']['keras_weights']} Keras weights; forget bias {report['forget_bias']['value']} "
              f"subtracted)")
        return 0
    report = convert_checkpoint(args.source, args.out, hparams_path=args.hparams, strict=args.strict,
                                report_path=args.report, forget_bias=args.forget_bias,
                                with_optimizer=args.with_optimizer, progress=progress)
    from migrate.checkpoint.summary import summary_lines  # noqa: PLC0415

    print("\n".join(summary_lines(report)))
    return 0
