"""`tf-migrate legacy train|decode`: train the legacy TF1 Seq2Seq, or decode with its latest checkpoint."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from migrate.commands._common import add_training_data, add_verbose
from migrate.exit_codes import BAD_INPUT, MISMATCH, CliError

EPILOG = """\
examples:
  tf-migrate legacy train --out runs/legacy --steps 1500 --set attention=luong --eval
  tf-migrate legacy train --out runs/legacy --steps 500          # resumes: global step 1500 -> 2000
  tf-migrate legacy train --out runs/tsv --data pairs.tsv --set num_units=128 --set encoder_type=bi
  tf-migrate legacy decode runs/legacy --input "sat 21 november 2026" --input "21/11/26"
  printf '21/11/26\\nmay 1999\\n' | tf-migrate legacy decode runs/legacy

train writes DIR/hparams.json, DIR/vocab.src.json, DIR/vocab.tgt.json, DIR/checkpoint and DIR/model.ckpt-N.*;
--set takes any hparams.json field (docs/legacy_tf1.md). Progress bar on a terminal, one summary line otherwise.
exit codes: 0 ok, 1 training diverged (loss not finite), 2 unusable input (bad --set, TSV, or checkpoint).
"""


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("legacy", help="train / decode the legacy TF1 graph-mode Seq2Seq",
                              description=__doc__, epilog=EPILOG)
    sub = p.add_subparsers(dest="legacy_command", metavar="{train,decode}", required=True)

    t = sub.add_parser("train", help="train (or resume) on the embedded date task or a TSV file",
                       description="Train the legacy Seq2Seq; resumes from DIR's latest checkpoint.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--out", required=True, metavar="DIR", help="model directory (created; resumed if it has a checkpoint)")
    t.add_argument("--steps", type=int, default=1500, metavar="N", help="training steps to run now (default 1500)")
    add_training_data(t)
    t.add_argument("--eval", action="store_true", help="evaluate on the validation split afterwards")
    add_verbose(t)
    t.set_defaults(func=run)

    d = sub.add_parser("decode", help="greedy-decode inputs with the latest checkpoint of DIR",
                       description="Greedy decoding (in-graph while_loop) with DIR's latest checkpoint. Without "
                                   "--input: the lines of stdin, or 5 test examples when stdin is a terminal.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("model_dir", metavar="DIR", help="model directory or checkpoint prefix")
    d.add_argument("--input", action="append", default=[], metavar="TEXT", help="a source text (repeatable)")
    add_verbose(d)
    d.set_defaults(func=run)
    p.set_defaults(func=run)
    return p


def _import_legacy(verbose: bool):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before any tf.compat.v1.nn.rnn_cell access
    if not verbose:
        warnings.filterwarnings("ignore", category=UserWarning, module=r"legacy_tf1")
    from legacy_tf1 import inference, model_helper, train  # noqa: PLC0415
    from migrate.quiet import silence_after_import  # noqa: PLC0415

    if not verbose:
        silence_after_import()
    return inference, model_helper, train


def run(args) -> int:
    verbose = bool(getattr(args, "verbose", False))
    if args.legacy_command == "train":
        return _run_train(args, verbose)
    return _run_decode(args, verbose)


def _run_train(args, verbose: bool) -> int:
    from seq2seq_task import DataError, HParams, HParamsError  # noqa: PLC0415

    if args.steps < 0:
        raise CliError(f"--steps {args.steps}: expected a number of steps >= 0", BAD_INPUT)
    inference, model_helper, train = _import_legacy(verbose)
    try:
        saved = os.path.join(args.out, model_helper.HPARAMS_FILE)
        base = HParams.load(saved) if os.path.exists(saved) else HParams()
        hparams = base.with_overrides(args.overrides)
        task = train.load_data(args.data)
        metrics = train.train(hparams, args.out, args.steps, data=task, progress=sys.stderr.isatty())
    except (HParamsError, DataError, model_helper.CheckpointError) as e:
        raise CliError(str(e), BAD_INPUT) from None
    except FloatingPointError as e:
        raise CliError(str(e), MISMATCH) from None
    loss = ""
    if metrics["first_loss"] is not None:
        loss = f", loss {metrics['first_loss']:.4f} -> {metrics['last_loss']:.4f}"
    resumed = f" (resumed at step {metrics['global_step'] - metrics['steps']})" if metrics["resumed_from"] else ""
    print(f"legacy train: {metrics['steps']} steps{resumed} in {metrics['seconds']:.1f} s"
          f"{loss}; checkpoint {metrics['checkpoint']}")
    if args.eval:
        e = inference.evaluate(args.out, task.valid)
        print(f"legacy eval: {e['examples']} validation examples: loss {e['loss']:.4f}, "
              f"token accuracy {100 * e['token_accuracy']:.2f}%, sequence accuracy {100 * e['sequence_accuracy']:.2f}%")
    return 0


def _run_decode(args, verbose: bool) -> int:
    from seq2seq_task import HParamsError, load_task  # noqa: PLC0415

    inference, model_helper, _ = _import_legacy(verbose)
    try:
        model_helper.latest_checkpoint(args.model_dir)  # fail before reading stdin
    except model_helper.CheckpointError as e:
        raise CliError(str(e), BAD_INPUT) from None
    texts, expected = list(args.input), None
    if not texts and not sys.stdin.isatty():
        texts = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    if not texts:
        sample = load_task(train_size=10, valid_size=10, test_size=5).test
        texts, expected = [s for s, _ in sample], [t for _, t in sample]
    try:
        outputs = inference.decode(args.model_dir, texts)
    except (HParamsError, model_helper.CheckpointError) as e:
        raise CliError(str(e), BAD_INPUT) from None
    if expected is None:
        for out in outputs:
            print(out)
    else:
        for src, out, exp in zip(texts, outputs, expected):
            print(f"{src!r:32} -> {out!r:14} {'ok' if out == exp else f'expected {exp!r}'}")
    return 0
