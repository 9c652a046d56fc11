"""`tf-migrate port train|decode`: train the Keras 3 port of the Seq2Seq, or decode with a `.keras` file."""

from __future__ import annotations

import argparse
import os
import sys

from migrate.commands._common import add_training_data, add_verbose
from migrate.exit_codes import BAD_INPUT, MISMATCH, CliError

EPILOG = """\
examples:
  tf-migrate port train --out runs/port --epochs 8 --set attention=luong
  tf-migrate port train --out runs/port2 --from-keras runs/port/model.keras --epochs 2   # continue training
  tf-migrate port train --out runs/tsv --data pairs.tsv --set num_units=128 --set encoder_type=bi
  tf-migrate port decode runs/port --input "sat 21 november 2026" --input "21/11/26"
  tf-migrate port decode converted.keras --input "may 1999" --beam-width 4
  printf '21/11/26\\nmay 1999\\n' | tf-migrate port decode runs/port/model.keras

train writes DIR/hparams.json, DIR/vocab.src.json, DIR/vocab.tgt.json and DIR/model.keras (best validation
loss, early stopping); --set takes any hparams.json field. decode takes a model directory or its .keras file
(the vocabularies are read from beside it). One summary line on success.
exit codes: 0 ok, 1 training diverged (loss not finite), 2 unusable input (bad --set, TSV or model file).
"""

# hparams fields that change the architecture: --from-keras keeps them (its weights fix them).
ARCHITECTURE_FIELDS = ("src_vocab_size", "tgt_vocab_size", "embedding_size", "share_embeddings", "num_units",
                       "cell_type", "num_layers", "encoder_type", "attention", "attention_layer_size",
                       "output_attention", "projection")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("port", help="train / decode the Keras 3 port (tf2) of the Seq2Seq",
                              description=__doc__, epilog=EPILOG)
    sub = p.add_subparsers(dest="port_command", metavar="{train,decode}", required=True)

    t = sub.add_parser("train", help="train with model.fit on the embedded date task or a TSV file",
                       description="Train the Keras 3 port; keeps the best model by validation loss.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--out", required=True, metavar="DIR", help="model directory to write (created)")
    t.add_argument("--from-keras", metavar="FILE", help="start from this .keras model (e.g. a converted one)")
    t.add_argument("--epochs", type=int, default=10, metavar="N", help="maximum epochs (default 10)")
    t.add_argument("--patience", type=int, default=2, metavar="N",
                   help="early stopping: epochs without a better validation loss (default 2)")
    add_training_data(t)
    t.add_argument("--no-jit", action="store_true", help="train without XLA (no fixed-shape padding)")
    add_verbose(t)
    t.set_defaults(func=run)

    d = sub.add_parser("decode", help="greedy (or beam) decode inputs with a .keras model",
                       description="Decode with a model directory or .keras file. Without --input: the lines "
                                   "of stdin, or 5 test examples when stdin is a terminal.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("model", metavar="FILE", help="model directory or its model.keras")
    d.add_argument("--input", action="append", default=[], metavar="TEXT", help="a source text (repeatable)")
    d.add_argument("--beam-width", type=int, default=1, metavar="K", help="beam search with K beams (default 1: greedy)")
    d.add_argument("--length-penalty", type=float, default=0.0, metavar="A",
                   help="GNMT length penalty alpha for beam search (default 0)")
    add_verbose(d)
    d.set_defaults(func=run)
    p.set_defaults(func=run)
    return p


def _import_tf2(verbose: bool):
    import tf2.training  # noqa: PLC0415
    from migrate.quiet import silence_after_import  # noqa: PLC0415

    if not verbose:
        silence_after_import()
    return tf2.training


def run(args) -> int:
    verbose = bool(getattr(args, "verbose", False))
    if args.port_command == "train":
        return _run_train(args, verbose)
    return _run_decode(args, verbose)


def _run_train(args, verbose: bool) -> int:
    import math  # noqa: PLC0415

    from seq2seq_task import DataError, HParams, HParamsError, load_task  # noqa: PLC0415

    if args.epochs < 1:
        raise CliError(f"--epochs {args.epochs}: expected a number of epochs >= 1", BAD_INPUT)
    try:
        task = load_task(tsv=args.data)
    except DataError as e:
        raise CliError(str(e), BAD_INPUT) from None
    training = _import_tf2(verbose)
    model = None
    try:
        if args.from_keras:
            model, src_vocab, tgt_vocab = _load(training, args.from_keras)
            if (src_vocab, tgt_vocab) != (task.src_vocab, task.tgt_vocab):
                raise CliError(f"{args.from_keras}: its vocabularies differ from the training data's "
                               f"({task.name}); train on the data it was built for", BAD_INPUT)
            hparams = model.hparams.with_overrides(args.overrides)
            changed = [k for k in ARCHITECTURE_FIELDS if getattr(hparams, k) != getattr(model.hparams, k)]
            if changed:
                raise CliError(f"--set {', '.join(changed)}: cannot change the architecture of {args.from_keras}; "
                               f"only training fields (learning_rate, batch_size, dropout, ...) may change", BAD_INPUT)
            if hparams != model.hparams:
                model = _rebuild(model, hparams)
        else:
            hparams = training.hparams_for_task(task, HParams()).with_overrides(args.overrides)
            hparams = hparams.replace(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size)
    except HParamsError as e:
        raise CliError(str(e), BAD_INPUT) from None
    result = training.train(hparams, task, out_dir=args.out, epochs=args.epochs, model=model,
                            patience=args.patience, jit_compile=not args.no_jit)
    loss = result.history["loss"][-1]
    if not math.isfinite(loss):
        print(f"tf-migrate port train: loss is {loss} after {result.epochs_run} epochs; lower learning_rate",
              file=sys.stderr)
        return MISMATCH
    print(f"trained {result.epochs_run} epochs in {result.wall_s:.0f}s: loss {loss:.4f}, "
          f"val_loss {result.history['val_loss'][-1]:.4f}, valid sequence accuracy {result.valid_accuracy:.3f}; "
          f"wrote {os.path.join(args.out, training.MODEL_FILE)}")
    return 0


def _rebuild(model, hparams):
    """A model with the new (training-only) hparams and the same weights."""
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    fresh = Seq2Seq(hparams)
    fresh.set_weights(model.get_weights())
    return fresh


def _load(training, path):
    try:
        return training.load_model_dir(path)
    except (FileNotFoundError, TypeError) as e:
        raise CliError(str(e), BAD_INPUT) from None
    except (ValueError, OSError) as e:
        raise CliError(f"{path}: not a readable .keras model ({str(e).splitlines()[0][:200]})", BAD_INPUT) from None


def _run_decode(args, verbose: bool) -> int:
    import numpy as np  # noqa: PLC0415

    from seq2seq_task import load_task  # noqa: PLC0415

    if args.beam_width < 1:
        raise CliError(f"--beam-width {args.beam_width}: expected an integer >= 1", BAD_INPUT)
    if not os.path.exists(args.model):
        raise CliError(f"{args.model}: no such file or directory; expected a model directory written by "
                       f"`tf-migrate port train` or its model.keras", BAD_INPUT)
    texts = list(args.input)
    if not texts:
        if sys.stdin.isatty():
            texts = [s for s, _ in load_task().test[:5]]
        else:
            texts = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise CliError("no input: give --input TEXT or pipe source lines on stdin", BAD_INPUT)
    training = _import_tf2(verbose)
    model, src_vocab, tgt_vocab = _load(training, args.model)
    ids = [src_vocab.encode(t)[: model.hparams.max_src_len] or [3] for t in texts]
    enc = np.zeros((len(ids), max(map(len, ids))), np.int32)
    for row, s in enumerate(ids):
        enc[row, : len(s)] = s
    if args.beam_width > 1:
        out = model.beam_search(enc, beam_width=args.beam_width, length_penalty=args.length_penalty)
    else:
        out = model.greedy_decode(enc)
    for text, row in zip(texts, out):
        print(f"{text}\t{tgt_vocab.decode(row)}")
    return 0
