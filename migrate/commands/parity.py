"""`tf-migrate parity`: prove a Keras model computes what a TF1 model computed.

`--tf1 CKPT --keras MODEL`: any TF1 model, through the graph in its checkpoint's `.meta` (no legacy code needed).
`--legacy DIR [--keras MODEL]`: this repo's legacy model against its `tf2` port (weights, logits, loss, gradients,
Adam steps, greedy ids). Both run through the same harness and report (`migrate.parity.harness`).
"""

from __future__ import annotations

import argparse
import sys

from migrate.commands._common import check_outputs_early, output_parents

EPILOG = """\
examples:
  tf-migrate parity --tf1 runs/tagger/model.ckpt-2000 --keras tagger.keras
  tf-migrate parity --tf1 ckpt/ --keras model.weights.h5 --build my_models:build_tagger --mapping mapping.toml
  tf-migrate parity --tf1 ckpt/ --keras model.keras --inputs batch.npz --feed keep_prob=1.0 --json parity.json
  tf-migrate parity --legacy runs/legacy --keras runs/port/model.keras
  tf-migrate parity --legacy runs/legacy --keras runs/port/model.keras --backend jax   # the port on JAX
  tf-migrate parity --legacy runs/legacy/model.ckpt-1000 --keras model.keras --batches 4 --seed 7 \\
      --json parity.json --junit parity.xml                  # CI: reports for machines and dashboards

--tf1 (docs/parity.md): the graph in CKPT.meta is imported and restored; each Keras output is compared with
the graph tensor bound to it (by name, or [parity] outputs in the --mapping file), on one batch fed to both
(generated: ids within the embedding's rows, lengths consistent with padding; or --inputs FEED.npz).
Tolerance: rtol 1e-6, atol max(1e-5, 1e-5 x max |TF1 output|); integer outputs exact; an output with a NaN or
an Inf on either side fails. Only what the bound outputs need is imported and restored; an output that reads a
variable the checkpoint lacks is refused (exit 1) unless --variable NAME=FILE.npy|zeros gives it a value.
--legacy checks: weights (port mapped back to TF1 layout), logits at valid positions, loss, gradients of
one step for every weight, weights after K Adam steps, greedy-decoded ids (exact). Tolerance per element:
|port - legacy| <= atol + rtol * |legacy|. Defaults: atol 1e-5, rtol 1e-6 forward; rtol 1e-5 for gradients;
weights after K Adam steps atol 1e-5, rtol 1e-5 plus a per-element bound on the drift float32 noise in the
gradients can cause (up to ~2 x lr per step where a gradient is within that noise; docs/parity.md).
--backend jax|torch: the Keras model runs on that Keras backend in a child process that never imports
TensorFlow (KERAS_BACKEND set before Keras is imported; needs the backends extra); the TF1 side stays on
TensorFlow in this process. Same checks, tolerances, report and exit codes; the report names the backend.
exit codes: 0 every check within tolerance, 1 a check outside tolerance, 2 unusable input,
3 a --json / --junit output cannot be written (or exists, without --force): nothing is written.
Missing folders of --json / --junit are created (and removed again when the command fails).
"""

# Options of the legacy pair only (the graph pair has one forward batch and no training).
LEGACY_ONLY = {"hparams": "--hparams", "batches": "--batches", "adam_steps": "--adam-steps", "checks": "--checks"}
GRAPH_ONLY = {"build": "--build", "mapping": "--mapping", "inputs": "--inputs", "feeds": "--feed",
              "time_steps": "--time-steps", "variables": "--variable",
              "tag_set": "--tag-set", "signature": "--signature"}


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


def _backend(text: str) -> str:
    from tf2.backend_runner import backend_choices, short_backend  # noqa: PLC0415

    try:
        return short_backend(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected one of {backend_choices()}, got {text!r}") from None


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("parity", help="compare a TF1 model (checkpoint + .meta) with a Keras model",
                              description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    side = p.add_mutually_exclusive_group(required=True)
    side.add_argument("--tf1", metavar="CKPT",
                      help="a TF1 checkpoint prefix or directory with its .meta graph (any model); or a TF1 "
                           "SavedModel folder, a frozen GraphDef .pb / .pbtxt, an Estimator model_dir")
    side.add_argument("--legacy", metavar="CKPT",
                      help="this repo's legacy model directory (hparams.json beside the checkpoint) or prefix")
    p.add_argument("--keras", metavar="MODEL", default=None,
                   help="the Keras model: a .keras file, or a .weights.h5 file with --build (--legacy: default "
                        "converts the checkpoint on the fly)")
    p.add_argument("--build", metavar="MODULE:FUNCTION", default=None,
                   help="--tf1: a function returning the Keras model (for .weights.h5; MODULE may be FILE.py)")
    p.add_argument("--tag-set", metavar="TAGS", default=None,
                   help="--tf1 SavedModel: the graph's tag set (default serve; serve,gpu for several)")
    p.add_argument("--signature", metavar="KEY", default=None,
                   help="--tf1 SavedModel: the signature (default serving_default, else the only one)")
    p.add_argument("--mapping", metavar="MAPPING.toml", default=None,
                   help="--tf1: the mapping file whose [parity] section binds inputs, outputs and feeds")
    p.add_argument("--inputs", metavar="FEED.npz", default=None,
                   help="--tf1: your own batch, arrays keyed by placeholder name (default: generated)")
    p.add_argument("--feed", action="append", default=[], metavar="NAME=VALUE", dest="feeds",
                   help="--tf1: feed a placeholder: keep_prob=1.0, is_training=false, lengths=length_of:ids; "
                        "naming a constant replaces its value in the graph (repeatable)")
    p.add_argument("--variable", action="append", default=[], metavar="NAME=FILE.npy", dest="variables",
                   help="--tf1: assign this graph variable FILE.npy's value (or NAME=zeros), not the checkpoint's")
    p.add_argument("--time-steps", type=_positive, default=None, metavar="T",
                   help="--tf1: length of generated sequences (default 6)")
    p.add_argument("--hparams", metavar="FILE", default=None,
                   help="--legacy: the hparams.json when it is not beside the checkpoint")
    p.add_argument("--batches", type=_positive, default=None, metavar="N",
                   help="--legacy: padded batches to compare (default 2)")
    p.add_argument("--batch-size", type=_positive, default=None, metavar="B",
                   help="rows per batch (--tf1 default 8; --legacy default min(hparams.batch_size, 8))")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="which batches (default 0)")
    p.add_argument("--adam-steps", type=int, default=None, metavar="K",
                   help="--legacy: K for 'weights after K Adam steps' (default 3; 0 skips)")
    p.add_argument("--rtol", type=_non_negative_float, default=None, metavar="R",
                   help="relative tolerance for every float check")
    p.add_argument("--atol", type=_non_negative_float, default=None, metavar="A",
                   help="absolute tolerance for every float check")
    p.add_argument("--checks", default=None, metavar="LIST",
                   help="--legacy: comma-separated subset of weights,logits,loss,gradients,adam,greedy (default all)")
    # default None, not "tf": argparse runs `type` on a string default, and `_backend` imports tf2 (Keras, so
    # TensorFlow) - parsing the default case must stay TensorFlow-free (outputs are checked before the import)
    p.add_argument("--backend", default=None, metavar="{tf,jax,torch}", type=_backend,
                   help="Keras backend the Keras model runs on (default tf, in this process; jax / torch: in a "
                        "child process without TensorFlow)")
    p.add_argument("--json", metavar="R.json", default=None, help="write the full report as JSON")
    p.add_argument("--junit", metavar="R.xml", default=None, help="write a JUnit XML report")
    p.add_argument("--force", action="store_true", help="replace existing --json / --junit files")
    p.set_defaults(func=run, preflight=preflight)
    return p


def preflight(args) -> None:
    """Before TensorFlow is imported: --json / --junit can be written (exit 3 otherwise)."""
    check_outputs_early([(args.json, "file"), (args.junit, "file")], force=args.force)


def _refuse_foreign_options(args, options: dict[str, str], mode: str) -> None:
    from migrate.parity.errors import ParityInputError  # noqa: PLC0415

    given = [flag for attr, flag in options.items() if getattr(args, attr, None) not in (None, [], False)]
    if given:
        raise ParityInputError(f"{', '.join(given)}: not an option of parity {mode}; see tf-migrate parity --help")


def _run_legacy(args):
    from migrate.parity.errors import ParityInputError  # noqa: PLC0415
    from migrate.parity.harness import CHECKS, run_parity  # noqa: PLC0415

    _refuse_foreign_options(args, GRAPH_ONLY, "--legacy")
    checks = None
    if args.checks:
        checks = [c.strip() for c in args.checks.split(",") if c.strip()]
        unknown = [c for c in checks if c not in CHECKS]
        if unknown:
            raise ParityInputError(f"--checks: unknown check(s) {', '.join(unknown)}; expected some of "
                                   f"{', '.join(CHECKS)}")
    adam_steps = 3 if args.adam_steps is None else args.adam_steps
    if adam_steps < 0:
        raise ParityInputError(f"--adam-steps {adam_steps}: expected 0 or more")
    return run_parity(args.legacy, args.keras, batches=args.batches or 2, seed=args.seed,
                      batch_size=args.batch_size, adam_steps=adam_steps, rtol=args.rtol, atol=args.atol,
                      checks=checks, hparams=args.hparams, backend=args.backend)


def _run_graph(args):
    from migrate.parity.errors import ParityInputError  # noqa: PLC0415
    from migrate.parity.harness import run_graph_parity  # noqa: PLC0415

    _refuse_foreign_options(args, LEGACY_ONLY, "--tf1")
    if args.keras is None:
        raise ParityInputError("--tf1 needs --keras MODEL: the .keras file (or .weights.h5 with --build) to compare")
    return run_graph_parity(args.tf1, args.keras, mapping=args.mapping, build=args.build, inputs=args.inputs,
                            feeds=args.feeds, batch_size=args.batch_size or 8, time_steps=args.time_steps or 6,
                            seed=args.seed, rtol=args.rtol, atol=args.atol, backend=args.backend,
                            variables=args.variables, tag_set=args.tag_set, signature=args.signature)


def run(args) -> int:
    with output_parents([args.json, args.junit]):   # `mkdir -p` of their folders; removed again on failure
        return _run(args)


def _run(args) -> int:
    import warnings  # noqa: PLC0415

    from migrate.exit_codes import MISMATCH, OK  # noqa: PLC0415
    from migrate.files import Outputs  # noqa: PLC0415

    if args.backend is None:
        args.backend = "tf"
    if not getattr(args, "verbose", False):  # the TF1 graph's own deprecation notices
        warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed", category=UserWarning)
    with Outputs(force=args.force) as out:
        for path in (args.json, args.junit):
            if path:
                out.check(path)  # exit 3 before any work
        report = _run_graph(args) if args.tf1 is not None else _run_legacy(args)
        if args.backend != "tf":
            print(f"Keras model on KERAS_BACKEND={report.info.get('backend')} (child process, TensorFlow not "
                  f"imported: {not report.info.get('keras_process', {}).get('tensorflow_imported', True)}); "
                  f"TF1 side on TensorFlow")
        print(report.table())
        if not report.ok:
            print()
            print(report.failure_message(), file=sys.stderr)
        else:
            print(report.summary_line())
            for note in report.notes:
                print(note)
        if args.json:
            out.write_text(args.json, report.json_text())
        if args.junit:
            out.write_text(args.junit, report.junit_text())
    return OK if report.ok else MISMATCH
