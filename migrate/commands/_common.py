"""Arguments several subcommands share (one definition, the same help everywhere)."""

from __future__ import annotations

import argparse


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's own logs and warnings")


def add_training_data(parser: argparse.ArgumentParser) -> None:
    """`--set KEY=VALUE` (repeatable, into `args.overrides`) and `--data FILE.tsv`."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override an hparams field, e.g. --set attention=luong (repeatable)")
    parser.add_argument("--data", metavar="FILE.tsv", help="source<TAB>target pairs instead of the embedded date task")


def add_force(parser: argparse.ArgumentParser) -> None:
    """`--force`: replace outputs that already exist (without it: exit 3, nothing written; docs/outputs.md)."""
    parser.add_argument("--force", action="store_true",
                        help="replace outputs that already exist (default: exit 3 and write nothing)")
