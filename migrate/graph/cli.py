"""The `convert --from-graph` side of `tf-migrate convert` (arguments are declared in migrate/commands/convert.py)."""

from __future__ import annotations

import os
import re

import numpy as np


def wants_graph(source: str) -> bool:
    """`convert` without --from-graph takes the graph path when the checkpoint has a `.meta` and is not a
    `tf2.Seq2Seq` (the Seq2Seq recognition would refuse it), and --out names a folder (not FILE.keras /
    FILE.weights.h5, which ask for the Seq2Seq weights: those keep its refusal)."""
    from migrate.checkpoint.reader import Checkpoint, CheckpointError  # noqa: PLC0415
    from migrate.checkpoint.recognise import recognise_checkpoint  # noqa: PLC0415
    from migrate.checkpoint.refusal import refuse_without_cells  # noqa: PLC0415
    from migrate.graph.meta import has_meta  # noqa: PLC0415

    try:
        ckpt = Checkpoint.open(source)
    except CheckpointError:
        return False  # let the usual path report the unusable checkpoint
    if not has_meta(ckpt.prefix):
        return False
    try:
        refuse_without_cells(ckpt, recognise_checkpoint(ckpt))   # the same recognition convert uses (.meta too)
    except CheckpointError:
        return True
    return False


_BOOL_WORD = re.compile(r"\b(true|false)\b", re.I)


def _feed_literal(value: str):
    """A --feed VALUE: a Python literal (1.0, False, [1, 2], 'text'), where a boolean may be written in any case
    (`false`, `TRUE`, as a shell user or a JSON / YAML config writes it)."""
    import ast  # noqa: PLC0415

    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        if not _BOOL_WORD.search(value):
            raise
    return ast.literal_eval(_BOOL_WORD.sub(lambda m: m.group(1).capitalize(), value))


def parse_feed(items: list[str] | None) -> dict:
    """`--feed NAME:0=VALUE` (repeatable): VALUE is a number, a boolean (true / false, any case), a list of them or
    a quoted string (1.0, false, [1, 2])."""

    from migrate.graph.convert import GraphConvertError  # noqa: PLC0415

    feeds = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise GraphConvertError(f"--feed {item!r}: expected NAME:0=VALUE, e.g. --feed keep_prob:0=1.0")
        try:
            feeds[name.strip()] = np.asarray(_feed_literal(value.strip()))
        except (ValueError, SyntaxError):
            raise GraphConvertError(f"--feed {item!r}: {value!r} is not a number, boolean or list; write a number "
                                    f"(1.0, 0), a boolean (true or false, any case), a list of them ([1, 2], "
                                    f"[true, false]) or a quoted string ('text')") from None
    return feeds


def run_from_graph(args) -> int:
    from migrate.graph.convert import GraphConvertError, convert_graph  # noqa: PLC0415

    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()] if getattr(args, "outputs", None) else None
    inputs_npz = getattr(args, "inputs", None)
    if inputs_npz and not os.path.isfile(inputs_npz):
        raise GraphConvertError(f"--inputs {inputs_npz}: no such file; expected an .npz with one array per "
                                f"placeholder (keys like input:0).")
    from migrate.parity.tf1_graph import parse_variable_options  # noqa: PLC0415

    convert_graph(args.source, args.out, outputs=outputs, feeds=parse_feed(getattr(args, "feed", None)),
                  inputs_npz=inputs_npz, force=getattr(args, "force", False),
                  variables=parse_variable_options(getattr(args, "variable", None)),
                  with_optimizer=getattr(args, "with_optimizer", False), step=getattr(args, "step", None),
                  recognise_rnns=not getattr(args, "no_recognisers", False),
                  tag_set=getattr(args, "tag_set", None), signature=getattr(args, "signature", None),
                  export_saved_model=getattr(args, "export_saved_model", None),
                  started=getattr(args, "process_started", None))
    return 0
