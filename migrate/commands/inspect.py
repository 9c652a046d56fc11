"""`tf-migrate inspect CKPT [--json]`: the variables of a TF1 checkpoint as a tree, and what was recognised."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  tf-migrate inspect runs/legacy/model.ckpt-1000
  tf-migrate inspect runs/legacy                 # the directory: its `checkpoint` file names the latest
  tf-migrate inspect runs/legacy --json | jq '.cells[] | {scope, kind, units}'

CKPT is a prefix, a directory or a .index path. A .meta graph beside it is read for recognition (embeddings,
dense layers, encoder/decoder roles, shared fw/bw cells, each cell's forget bias). --json prints the versioned
schema of docs/checkpoint.md. Every tensor's bytes are checked against the CRC32C its index holds (it reads
the data files once; --no-verify skips it; a TensorLayer .npz is listed from its headers alone). Names from the checkpoint are printed with control characters
escaped.
exit codes: 0 ok, 2 unusable input (missing / truncated / corrupt checkpoint: the file and tensor are named).
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("inspect", help="show what a TF1 checkpoint holds and what was recognised",
                              description=__doc__, epilog=EPILOG)
    p.add_argument("checkpoint", metavar="CKPT", help="checkpoint prefix, directory or .index file")
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
