"""`tf-migrate`: the command line. Each subcommand lives in `migrate/commands/<name>.py`.

A command module defines `register(subparsers) -> argparse.ArgumentParser` (adds its parser, with
an example in its epilog, and sets `func=run`, optionally `preflight=`: cheap checks run before TensorFlow is
imported, e.g. that the outputs can be written) and `run(args) -> int`. Registration must not import
TensorFlow, so `tf-migrate --help` stays fast; `run` imports what it needs.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from migrate import __version__
from migrate.commands._common import add_verbose
from migrate.errors import MigrateError, OutputError
from migrate.exit_codes import BAD_INPUT, CANNOT_WRITE, INTERRUPTED, CliError
from migrate.quiet import import_tensorflow_quietly, quiet_tensorflow

# Order shown in `tf-migrate --help`.
COMMANDS = ("legacy", "port", "inspect", "convert", "parity", "codemod", "demo")
COMMANDS_WITHOUT_TENSORFLOW = ("codemod",)  # it never imports the code it rewrites, nor TensorFlow

EPILOG = """\
examples:
  tf-migrate demo --out demo_out                 # the whole story in a few minutes
  tf-migrate inspect path/to/model.ckpt-1000     # what is in a TF1 checkpoint
  tf-migrate convert path/to/ckpt_dir --out model.keras
  tf-migrate parity --legacy ckpt_dir --keras model.keras
  tf-migrate codemod src/ --diff

exit codes: 0 ok, 1 check failed / mismatch, 2 unusable input, 3 cannot write output
(nothing written; --force replaces existing outputs), 130 interrupted (no temp left).
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tf-migrate",
        description="Move TF1 Seq2Seq models to TensorFlow 2 / Keras 3: convert checkpoints, "
                    "prove parity, codemod the source.",
        epilog=EPILOG, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"tf-migrate {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's own logs and warnings (hidden by default)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"migrate.commands.{name}")
        sub = module.register(subparsers)
        sub.formatter_class = _Formatter
        add_verbose(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in argv or "--verbose" in argv
    quiet_tensorflow(verbose=verbose)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return BAD_INPUT if argv else 0
    try:
        if getattr(args, "preflight", None):   # cheap checks (outputs writable) before the ~10 s TensorFlow import
            args.preflight(args)
        if not verbose and args.command not in COMMANDS_WITHOUT_TENSORFLOW:
            import_tensorflow_quietly()
        return int(args.func(args) or 0)
    except (CliError, MigrateError) as e:
        print(f"tf-migrate {args.command}: error: {_one_line(e) if isinstance(e, OutputError) else e}", file=sys.stderr)
        return int(e.exit_code)
    except KeyboardInterrupt:
        print(f"tf-migrate {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except OSError as e:
        code = exit_code_for_os_error(e)
        if code is None:
            raise
        print(f"tf-migrate {args.command}: error: {e.filename or ''}{': ' if e.filename else ''}"
              f"cannot write ({e.strerror or e}); nothing of this command's outputs was kept.", file=sys.stderr)
        return code


# OSErrors that escape a command and can only mean "an output cannot be written" (exit 3). Reads that
# fail raise the library's InputError (exit 2) before this point; anything else is a bug: a traceback.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def exit_code_for_os_error(e: OSError) -> int | None:
    return CANNOT_WRITE if e.errno in _WRITE_ERRNOS else None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split("\n")).strip()
