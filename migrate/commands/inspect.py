"""`tf-migrate inspect CKPT [--json]`: the variables of a TF1 checkpoint as a tree, and what was recognised."""

from __future__ import annotations

import argparse
import os
import sys

EPILOG = """\
examples:
  tf-migrate inspect runs/legacy/model.ckpt-1000
  tf-migrate inspect runs/legacy                 # the directory: its `checkpoint` file names the latest
  tf-migrate inspect runs/legacy --json | jq '.cells[] | {scope, kind, units}'

CKPT is a prefix, a directory or a .index path; or a TF1 SavedModel folder (--tag-set, --signature), a frozen
GraphDef (.pb / .pbtxt: the constants its MatMul / Conv / cells / Gather read are listed as its variables) or an
Estimator model_dir (the newest export/, else the latest checkpoint with its .meta or graph.pbtxt). A .meta graph beside it is read for recognition (embeddings,
dense layers, encoder/decoder roles, shared fw/bw cells, each cell's forget bias). --json prints the versioned
schema of docs/checkpoint.md. Every tensor's bytes are checked against the CRC32C its index holds (it reads
the data files once; --no-verify skips it; a TensorLayer .npz is listed from its headers alone). Names from the checkpoint are printed with control characters
escaped.
exit codes: 0 ok, 2 unusable input (missing / truncated / corrupt checkpoint: the file and tensor are named).
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("inspect", help="show what a TF1 checkpoint holds and what was recognised",
                              description=__doc__, epilog=EPILOG)
    p.add_argument("checkpoint", metavar="CKPT", help="checkpoint prefix, directory or .index file; a SavedModel "
                   "folder, a frozen GraphDef .pb / .pbtxt, an Estimator model_dir")
    p.add_argument("--tag-set", metavar="TAGS", help="a SavedModel's graph by its tag set (default: serve)")
    p.add_argument("--signature", metavar="KEY", help="a SavedModel's signature (default: serving_default, else "
                   "the only one)")
    p.add_argument("--json", action="store_true", help="print the JSON report (schema tf-migrate/inspect v2)")
    p.add_argument("--slots", action="store_true", help="also list optimizer slot variables in the tree")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the CRC32C check of every tensor's bytes (it reads the data files once)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from migrate.checkpoint.inspection import inspect_json, inspect_text  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint, corrupt_error  # noqa: PLC0415
    from migrate.checkpoint.stream import verify_tensors  # noqa: PLC0415
    from migrate.files import to_json_text  # noqa: PLC0415
    from migrate.parity.forms import detect_form  # noqa: PLC0415

    if detect_form(args.checkpoint) != "checkpoint" or args.tag_set or args.signature:
        return _inspect_form(args)
    ckpt = Checkpoint.open(args.checkpoint)
    if not args.no_verify and getattr(ckpt, "format", "") in ("V1", "V2"):    # an .npz member's CRC-32 is
        bad = verify_tensors(ckpt)                            # checked when convert reads it, not by listing
        if bad:
            raise corrupt_error(ckpt.prefix, bad)
    report = inspect_json(ckpt)
    if args.json:
        sys.stdout.write(to_json_text(report))         # strict JSON: non-finite values as null + "non_finite"
    else:
        print(inspect_text(report, show_slots=args.slots))
    return 0


def _inspect_form(args) -> int:
    """A SavedModel, frozen graph or model_dir: its variables and graph laid out as a checkpoint + `.meta` in a
    temporary folder (links to its checkpoint files, or a frozen graph's weights saved), inspected like one, and
    the paths in the report put back to the model's own; `source` says the form (docs/outputs.md)."""
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from migrate.checkpoint.inspection import inspect_json, inspect_text  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint, corrupt_error  # noqa: PLC0415
    from migrate.checkpoint.stream import verify_tensors  # noqa: PLC0415
    from migrate.files import to_json_text  # noqa: PLC0415
    from migrate.parity.forms import open_source  # noqa: PLC0415

    src = open_source(args.checkpoint, tag_set=args.tag_set, signature=args.signature)
    tmp = tempfile.mkdtemp(prefix="tfm-inspect-")
    try:
        prefix = _as_checkpoint(src, os.path.join(tmp, "model"))
        ckpt = Checkpoint.open(prefix)
        if not args.no_verify and src.prefix is not None:
            bad = verify_tensors(ckpt)
            if bad:
                raise corrupt_error(src.prefix, bad)
        report = _put_back(inspect_json(ckpt), {prefix + ".meta": src.graph_file,
                                                prefix: src.prefix or src.graph_file, tmp: os.path.dirname(
                                                    src.prefix or src.graph_file)})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["source"] = src.report()
    if src.frozen:
        report["checkpoint"].update({"index": None, "data_files": []})
        for v in report["variables"]:
            v["read_by"] = src.frozen_uses.get(v["name"])
    if args.json:
        sys.stdout.write(to_json_text(report))
    else:
        print("\n".join(_source_lines(src)))
        print(inspect_text(report, show_slots=args.slots))
    return 0


def _as_checkpoint(src, prefix: str) -> str:
    """`prefix` made a checkpoint with its `.meta`: links to the form's checkpoint files, or (a frozen graph) its
    weights saved there; the `.meta` is the form's graph (a frozen graph's with its weights as variables)."""
    import glob  # noqa: PLC0415

    if src.meta_def is None:   # a model_dir's checkpoint with its own .meta
        return src.prefix
    if src.prefix is not None:
        for f in glob.glob(glob.escape(src.prefix) + ".*"):
            os.symlink(os.path.abspath(f), prefix + f[len(src.prefix):])
    else:
        from migrate.parity.tf1_graph import TF1Graph  # noqa: PLC0415

        with TF1Graph(src.path, source=src) as g:
            g.focus(None)
            import tensorflow as tf  # noqa: PLC0415

            with g.graph.as_default():
                saver = tf.compat.v1.train.Saver(var_list={n: g.variables[n] for n in g.restored})
                saver.save(g.session, prefix, write_meta_graph=False, write_state=False)
    with open(prefix + ".meta", "wb") as f:
        f.write(src.meta_def.SerializeToString())
    return prefix


def _put_back(value, paths: dict[str, str]):
    """Every string in `value` with the temporary paths replaced by the model's own (longest first)."""
    if isinstance(value, str):
        for old in sorted(paths, key=len, reverse=True):
            value = value.replace(old, paths[old])
        return value
    if isinstance(value, dict):
        return {k: _put_back(v, paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_put_back(v, paths) for v in value]
    return value


def _source_lines(src) -> list[str]:
    lines = [f"{src.path}: {src.form.replace('_', ' ')} (graph {src.graph_file}"
             + (f", variables {src.prefix}" if src.prefix else "") + ")"]
    if src.signature:
        sig = src.signature
        lines.append(f"  tag set {','.join(src.tag_set or [])}, signature {sig['key']!r} ({sig['method_name']})")
        for kind in ("inputs", "outputs"):
            for k, v in sig[kind].items():
                lines.append(f"    {kind[:-1]} {k}: {v['tensor']} {v['dtype']} {v['shape']}")
    lines.extend(f"  {note}" for note in src.notes)
    return lines
