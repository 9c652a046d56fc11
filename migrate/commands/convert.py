"""`tf-migrate convert`: a TF1 checkpoint -> the Keras 3 port's weights, and `--to tf1` back again."""

from __future__ import annotations

import argparse
import os

from migrate.commands._common import add_force, check_outputs_early, output_parents

EPILOG = """\
examples:
  tf-migrate convert runs/legacy --out model.keras --report convert.json
  tf-migrate convert runs/legacy/model.ckpt-2000 --out model.weights.h5 --hparams runs/legacy/hparams.json
  tf-migrate convert runs/legacy --out tf2_ckpt/model --with-optimizer      # TF2 object checkpoint + Adam state
  tf-migrate convert --to tf1 model.keras --out rollback/model.ckpt-2000     # back to a name-based TF1 checkpoint
  tf-migrate convert --to tf1 converted/ --out rollback/model.ckpt           # a --from-graph folder, back too

--out decides the format: *.keras, *.weights.h5, anything else = a TF2 object checkpoint prefix.
The forget bias comes from --forget-bias, else hparams, else the .meta graph; the report says which.
exit codes: 0 converted; 1 the checkpoint does not fit the model (missing / shape-mismatched variables,
trained weights the model would drop without --allow-unused, all listed); 2 unusable input (missing,
truncated or corrupt files, another architecture, float16/bfloat16 variables, no forget bias); 3 an
output cannot be written (unwritable directory, a parent that is a file, full disk) or exists without
--force; 130 interrupted. Missing folders of --out / --report are created (and removed again when the
command fails). Every output (--out, --report, hparams.json, vocabularies) is written together at the
end or not at all (docs/outputs.md).
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("convert", help="convert a TF1 checkpoint into Keras 3 weights (or back with --to tf1)",
                              description=__doc__, epilog=EPILOG)
    p.add_argument("source", metavar="CKPT", help="TF1 checkpoint prefix, directory or .index file; or (the graph "
                   "path) a TF1 SavedModel folder, a frozen GraphDef .pb / .pbtxt, an Estimator model_dir "
                   "(with --to tf1: the .keras / .weights.h5 file)")
    p.add_argument("--out", required=True, help="output: FILE.keras, FILE.weights.h5 or a TF2 checkpoint prefix "
                                                "(with --to tf1: the TF1 checkpoint prefix to write)")
    p.add_argument("--to", choices=("keras", "tf1"), default="keras", help="direction (default: keras)")
    p.add_argument("--hparams", metavar="FILE", help="hparams.json (default: the one beside the checkpoint, "
                                                     "else inferred from shapes)")
    p.add_argument("--strict", action="store_true", help="unexpected checkpoint weights are an error too")
    p.add_argument("--report", metavar="R.json", help="write the full conversion report as JSON")
    p.add_argument("--forget-bias", type=float, metavar="F", help="the LSTM forget bias the TF1 cells added")
    p.add_argument("--force-forget-bias", action="store_true",
                   help="use --forget-bias for every cell even where the .meta graph says another value")
    p.add_argument("--with-optimizer", action="store_true",
                   help="carry the optimizer's state (Adam's m, v and step; with --from-graph also Momentum, "
                        "RMSProp, Adagrad) into the Keras optimizer (and back with --to tf1)")
    p.add_argument("--step", type=int, metavar="N", help="with --with-optimizer: the number of updates the optimizer "
                   "made (Keras optimizer.iterations), where the checkpoint cannot tell it (no global_step, Adam's "
                   "beta powers underflowed) or should not")
    p.add_argument("--graph-source", metavar="SRC", help="with --to tf1 and a model folder of --from-graph: the "
                   "TF1 checkpoint / SavedModel it was converted from (default: the one convert_report.json records)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    add_force(p)
    p.add_argument("--allow-unused", action="store_true",
                   help="drop trained checkpoint weights the model does not use (default: exit 1, listing them)")
    g = p.add_argument_group("a whole TF1 graph (.meta) -> a Keras 3 model folder (docs/graph_convert.md)")
    g.add_argument("--from-graph", action="store_true", help="build the Keras model from the .meta graph; --out is "
                   "a DIR for model.keras, model.py, model.weights.h5, convert_report.json (chosen by itself when "
                   "the checkpoint has a .meta and is not a Seq2Seq)")
    g.add_argument("--outputs", metavar="T1:0,T2:0", help="the graph tensors the model returns (default: those the "
                   "loss is computed from; printed with the reason)")
    g.add_argument("--feed", action="append", metavar="NAME:0=VALUE", help="fix a placeholder at inference "
                   "(repeatable): a number, true / false (any case) or a list of them, e.g. keep_prob:0=1.0, "
                   "is_training:0=false")
    g.add_argument("--inputs", metavar="FEED.npz", help="example inputs (keys = placeholder names) for parity, "
                   "and the shapes of placeholders the graph leaves unknown")
    g.add_argument("--variable", action="append", metavar="NAME=FILE.npy", help="assign this variable the value "
                   "in FILE.npy (or NAME=zeros) instead of the checkpoint's, as a program that sets it when it "
                   "loads does (e.g. an embedding table stripped before saving); shape = the .meta's; repeatable")
    g.add_argument("--tag-set", metavar="TAGS", help="a SavedModel's graph to convert, by its tag set (default: "
                   "serve; comma-separated for several tags, e.g. serve,gpu)")
    g.add_argument("--signature", metavar="KEY", help="a SavedModel's signature whose inputs and outputs the Keras "
                   "model takes and returns, named after its keys (default: serving_default, else the only one)")
    g.add_argument("--export-saved-model", metavar="DIR", help="also write the converted model as a TF2 "
                   "SavedModel at DIR whose signature is the TF1 one (keys, dtypes, output names), so serving "
                   "clients work unchanged; the same as `tf-migrate export` afterwards (docs/serving.md)")
    g.add_argument("--no-recognisers", action="store_true", help="translate every loop with the generic tier "
                   "(tfm.WhileLoop, op by op) instead of recognising cells and decoders as Keras layers: the "
                   "fallback the recognisers upgrade, e.g. to compare the two")
    p.set_defaults(func=run, preflight=preflight)
    return p


KERAS_FILE_SUFFIXES = (".keras", ".weights.h5")   # --out FILE.keras / FILE.weights.h5: the Seq2Seq weights


def _out_kind(args) -> str | None:
    """What --out is, as far as the arguments tell before the checkpoint is read (None: it depends on the
    checkpoint - a TF2 checkpoint prefix for a Seq2Seq, a model folder for the graph path)."""
    if args.to == "tf1":
        return "prefix"
    from migrate.parity.forms import detect_form  # noqa: PLC0415 - from the path alone, no TensorFlow

    if args.from_graph or detect_form(args.source) != "checkpoint":
        return "dir"
    return "file" if args.out.endswith(KERAS_FILE_SUFFIXES) else None


def preflight(args) -> None:
    """Before TensorFlow is imported: every output this run will write can be written (exit 3 otherwise)."""
    kind = _out_kind(args)
    check_outputs_early([(args.out, kind or "prefix"), (args.report, "file"),
                         (getattr(args, "export_saved_model", None), "dir")], force=args.force)


def run(args) -> int:
    with output_parents([args.out, args.report, getattr(args, "export_saved_model", None)]):   # `mkdir -p` of their folders; removed again on failure
        return _run(args)


def _run(args) -> int:
    import sys  # noqa: PLC0415

    from migrate.checkpoint.convert import convert_checkpoint  # noqa: PLC0415
    from migrate.files import Outputs  # noqa: PLC0415

    if args.step is not None and not args.with_optimizer:
        from migrate.errors import InputError  # noqa: PLC0415

        raise InputError(f"--step {args.step}: the optimizer's step count, an option of --with-optimizer")
    from migrate.parity.forms import detect_form  # noqa: PLC0415

    form = detect_form(args.source) if args.to == "keras" else "checkpoint"
    if form != "checkpoint" and args.out.endswith(KERAS_FILE_SUFFIXES):
        from migrate.errors import InputError  # noqa: PLC0415

        raise InputError(f"{args.source}: a {form.replace('_', ' ')} converts from its graph into a model folder: "
                         f"--out DIR (model.keras, model.py, model.weights.h5, convert_report.json), not "
                         f"{args.out}")
    if args.to == "keras" and (args.from_graph or form != "checkpoint" or not args.out.endswith(KERAS_FILE_SUFFIXES)
                               and _wants_graph(args.source)):
        from migrate.graph.cli import run_from_graph  # noqa: PLC0415

        return run_from_graph(args)
    if getattr(args, "tag_set", None) or getattr(args, "signature", None):
        from migrate.errors import InputError  # noqa: PLC0415

        raise InputError("--tag-set / --signature: options of a TF1 SavedModel (its folder holds saved_model.pb), "
                         f"and {args.source} is a checkpoint; leave them out")
    if getattr(args, "export_saved_model", None):
        from migrate.errors import InputError  # noqa: PLC0415

        raise InputError(f"--export-saved-model: an option of the graph path (convert --from-graph); for this "
                         f"Seq2Seq port, export the converted file afterwards: tf-migrate export {args.out} --out "
                         f"{args.export_saved_model}")
    if getattr(args, "variable", None):
        from migrate.errors import InputError  # noqa: PLC0415

        raise InputError("--variable: an option of the graph path (convert --from-graph), which builds the model "
                         "from the .meta; this conversion maps checkpoint weights onto the Seq2Seq port")
    progress = False if args.no_progress else None
    with Outputs(force=args.force) as outputs:   # every output committed together, or none (exit 3 / 130)
        if args.to == "tf1" and _graph_folder(args.source):   # a model folder of `convert --from-graph`
            return _graph_to_tf1(args, outputs)
        if args.to == "tf1" and os.path.isdir(args.source):
            from migrate.errors import InputError  # noqa: PLC0415

            raise InputError(f"{args.source}: a folder without the convert_report.json `convert --from-graph` "
                             f"writes; --to tf1 takes such a model folder (model.keras + convert_report.json), or "
                             f"the Seq2Seq port's .keras / .weights.h5 file")
        if args.to == "tf1":
            from migrate.checkpoint.reverse import convert_to_tf1  # noqa: PLC0415

            report = convert_to_tf1(args.source, args.out, hparams_path=args.hparams,
                                    with_optimizer=args.with_optimizer, outputs=outputs, report_path=args.report)
        else:
            report = convert_checkpoint(args.source, args.out, hparams_path=args.hparams, strict=args.strict,
                                        report_path=args.report, forget_bias=args.forget_bias,
                                        force_forget_bias=args.force_forget_bias,
                                        with_optimizer=args.with_optimizer, progress=progress,
                                        allow_unused=args.allow_unused, outputs=outputs, step=args.step)
    if args.to == "tf1":
        print(f"wrote {report['output']['path']} ({report['counts']['tf1_variables']} TF1 variables from "
              f"{report['counts']['keras_weights']} Keras weights; forget bias {report['forget_bias']['value']} "
              f"subtracted)")
        return 0
    from migrate.checkpoint.summary import summary_lines  # noqa: PLC0415

    lines = summary_lines(report)
    print("\n".join(line for line in lines if not line.startswith("warning:")))
    for line in lines:                       # warnings go to stderr, never stdout
        if line.startswith("warning:"):
            print(line, file=sys.stderr)
    return 0


def _graph_folder(source: str) -> str | None:
    from migrate.graph.to_tf1 import model_folder  # noqa: PLC0415

    return model_folder(source)


def _graph_to_tf1(args, outputs) -> int:
    """`--to tf1` of a model folder `convert --from-graph` wrote (migrate/graph/to_tf1.py)."""
    from migrate.graph.to_tf1 import graph_model_to_tf1  # noqa: PLC0415

    if args.with_optimizer:
        from migrate.errors import InputError  # noqa: PLC0415

        raise InputError("--with-optimizer: a graph-converted model goes back without its Keras optimizer state "
                         "(the TF1 slots are copied from the source checkpoint unchanged); leave it out")
    report = graph_model_to_tf1(args.source, args.out, outputs=outputs, source=args.graph_source)
    if args.report:
        from migrate.checkpoint.writers import report_bytes  # noqa: PLC0415

        outputs.write_bytes(args.report, report_bytes(report))
    c = report["counts"]
    copied = report["copied_from_source"]
    listed = f" ({', '.join(copied[:4])}{' ...' if len(copied) > 4 else ''})" if copied else ""
    print(f"wrote {report['output']['path']} ({c['from_keras']} TF1 variables from the Keras model, "
          f"{len(report['changed'])} of them changed; {c['copied']} copied unchanged from {report['tf1_source']}"
          f"{listed}; the graph translated {c['translations']} times)")
    return 0


def _wants_graph(source: str) -> bool:
    from migrate.graph.cli import wants_graph  # noqa: PLC0415

    return wants_graph(source)
