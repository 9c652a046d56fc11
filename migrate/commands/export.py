"""`tf-migrate export MODEL --out DIR`: a converted Keras model -> a TF2 SavedModel with the TF1 model's serving
signature (docs/serving.md)."""

from __future__ import annotations

import argparse

from migrate.commands._common import add_force, check_outputs_early, output_parents

EPILOG = """\
examples:
  tf-migrate export port/ --out serving/mymodel/1              # port/ = a `convert` folder (model.keras + report)
  tf-migrate export port/model.keras --out serving/mymodel/2 --inputs example.npz

The signature is the TF1 one the conversion read (convert_report.json `source.signature`: the same key, input keys,
dtypes, shapes, output keys); a model converted from a checkpoint (no TF1 signature) gets `serving_default` keyed by
its Keras input / output names (TensorFlow's saved_model_cli shows it). Before anything is written the SavedModel is loaded back and its signature called on
the same inputs as the Keras model (and as the TF1 SavedModel, when the source was one and is still on disk).
exit codes: 0 exported; 1 the exported signature does not serve what the model computes; 2 unusable input (no
model, an unreadable report, a signature the model cannot serve: each named); 3 DIR cannot be written or exists
without --force; 130 interrupted. Nothing is written unless the export succeeds.
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("export", help="write a converted model as a TF2 SavedModel with the TF1 serving "
                              "signature", description=__doc__, epilog=EPILOG)
    p.add_argument("source", metavar="MODEL", help="a folder written by `tf-migrate convert` (model.keras, "
                   "convert_report.json) or a .keras file")
    p.add_argument("--out", required=True, metavar="DIR", help="the SavedModel folder to write (for TF Serving: "
                   "MODEL_BASE/VERSION, e.g. serving/mymodel/1)")
    p.add_argument("--report", metavar="R.json", help="the conversion report (default: convert_report.json beside "
                   "the model)")
    p.add_argument("--signature-key", metavar="KEY", help="the signature's key (default: the TF1 signature's, else "
                   "serving_default)")
    p.add_argument("--no-tf1-signature", action="store_true", help="key the signature by the Keras model's own "
                   "input / output names, not by the TF1 signature")
    p.add_argument("--inputs", metavar="FEED.npz", help="example inputs for the check (keys: signature input keys "
                   "or TF1 tensor names; default: generated)")
    add_force(p)
    p.set_defaults(func=run, preflight=preflight)
    return p


def preflight(args) -> None:
    check_outputs_early([(args.out, "dir")], force=args.force)


def run(args) -> int:
    from migrate.export import export_saved_model  # noqa: PLC0415

    with output_parents([args.out]):
        export_saved_model(args.source, args.out, report_path=args.report, force=args.force,
                           key=args.signature_key, tf1_signature=not args.no_tf1_signature, inputs_npz=args.inputs)
    return 0
