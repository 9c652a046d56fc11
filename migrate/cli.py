"""`tf-migrate`: the command line. Each subcommand lives in `migrate/commands/<name>.py`.

A command module defines `register(subparsers) -> argparse.ArgumentParser` (adds its parser, with
an example in its epilog, and sets `func=run`, optionally `preflight=`: cheap checks run before TensorFlow is
imported, e.g. that the outputs can be written) and `run(args) -> int`. Registration must not import
TensorFlow, so `tf-migrate --help` stays fast; `run` imports what it needs.

Errors are one line on stderr, every name in them escaped (`migrate.text.shown`). Ctrl-C at any moment, the
TensorFlow import and start-up included, is one line ("interrupted" and what was not written) and exit 130;
the first Ctrl-C stops the run, further ones are ignored while it cleans up (a third one stops it anyway).
A command whose outputs are written by one commit at its end (`DONE_AT_COMMIT`) ignores Ctrl-C once that
commit is done: the outputs stand and the command's own exit code is returned.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import threading

from migrate import __version__
from migrate.commands._common import add_verbose, process_started
from migrate.errors import MigrateError, OutputError
from migrate.exit_codes import BAD_INPUT, CANNOT_WRITE, INTERRUPTED, CliError
from migrate.quiet import import_tensorflow_quietly, optional_imports_skipped, quiet_tensorflow
from migrate.text import shown, shown_lines

# Order shown in `tf-migrate --help`.
COMMANDS = ("legacy", "port", "inspect", "convert", "export", "parity", "codemod", "demo")
COMMANDS_WITHOUT_TENSORFLOW = ("codemod",)  # it never imports the code it rewrites, nor TensorFlow
# Commands whose outputs are committed together by one `migrate.files.Outputs` at the end of the work; after that
# commit only their summary is left, so a Ctrl-C no longer stops them (their outputs are complete).
DONE_AT_COMMIT = ("convert", "export", "parity")

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


class CtrlC:
    """The CLI's SIGINT handler: the first Ctrl-C raises KeyboardInterrupt, the second is ignored (the run is
    removing its temporaries and printing its one line), a third raises again; ignored altogether once the
    command (`command`, set after parsing) is in `DONE_AT_COMMIT` and has committed its outputs."""

    def __init__(self):
        self.count = 0
        self.command: str | None = None
        self.finished = False

    def __call__(self, signum, frame):
        self.count += 1
        if self.finished or self.outputs_committed():
            return
        if self.count != 2:
            raise KeyboardInterrupt

    def outputs_committed(self) -> bool:
        if self.command not in DONE_AT_COMMIT:
            return False
        files = sys.modules.get("migrate.files")
        return bool(files is not None and files.session()["committed"])


def install_ctrl_c() -> tuple[CtrlC, object]:
    """Install a fresh `CtrlC` (main thread only); returns it and the handler it replaced (None: not installed)."""
    handler = CtrlC()
    if threading.current_thread() is not threading.main_thread():
        return handler, None
    try:
        return handler, signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):
        return handler, None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit code. Called as the program (`argv` None), the process ends here
    (`exit_now`: its output flushed, exit handlers run, TensorFlow's seconds-long teardown skipped) and Ctrl-C is
    ignored from the end of the command until then; called with `argv` (in-process) the code is returned and the
    caller's handler is restored."""
    handler, previous = install_ctrl_c()
    try:
        code = _main(argv, handler)
        if code == INTERRUPTED and argv is None:
            exit_interrupted()
    finally:
        handler.finished = True            # the exit code is decided: a late Ctrl-C changes nothing
        if previous is not None:
            try:                           # an in-process caller (a test) gets its handler back; the program
                signal.signal(signal.SIGINT, previous if argv is not None else signal.SIG_IGN)  # exits ignoring it
            except (ValueError, OSError):  # (SIG_IGN survives interpreter shutdown, which resets a handler)
                pass
    if argv is None:
        exit_now(code)
    return code


def _main(argv: list[str] | None, handler: CtrlC) -> int:
    command, program = "tf-migrate", argv is None
    try:
        from migrate import files  # noqa: PLC0415

        files.reset_session()
        argv = list(sys.argv[1:] if argv is None else argv)
        verbose = "-v" in argv or "--verbose" in argv
        quiet_tensorflow(verbose=verbose)
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return BAD_INPUT if argv else 0
        command = f"tf-migrate {args.command}"
        handler.command = args.command
        args.process_started = process_started() if program else None   # a report's start-up time (convert)
        return _run(args, verbose)
    except KeyboardInterrupt:
        return _interrupted(command)


def exit_interrupted() -> None:
    """End the program with 130 now. CPython marks a KeyboardInterrupt that passed through a `exec` of a string
    (a dataclass or namedtuple being created when Ctrl-C came) as unhandled, and then kills itself with SIGINT
    at exit whatever `sys.exit` said; the temporaries are gone already, so the process ends here."""
    import os  # noqa: PLC0415

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(INTERRUPTED)


def exit_now(code: int) -> None:
    """End the program with `code` now: stdout and stderr flushed, the `atexit` handlers run (logging's flush,
    `weakref.finalize`), then `os._exit`. What it skips is the interpreter's teardown: freeing every module and
    object, and with TensorFlow loaded its C++ destructors, 3 - 18 s of a conversion's wall time on a loaded machine
    (docs/performance.md), after every output is written. Returns (the usual exit then) when a flush fails (a
    closed pipe: Python's own exit reports it) or another non-daemon thread still runs (the usual exit waits)."""
    import atexit  # noqa: PLC0415
    import os  # noqa: PLC0415

    if any(not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)   # CPython's; elsewhere the usual exit
    if run_exit_handlers is None:
        return
    run_exit_handlers()   # the handlers the usual exit would run; os._exit runs none
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def _run(args, verbose: bool) -> int:
    try:
        if getattr(args, "preflight", None):   # cheap checks (outputs writable) before the ~10 s TensorFlow import
            args.preflight(args)
        if args.command not in COMMANDS_WITHOUT_TENSORFLOW:   # TensorFlow and Keras, without the optional
            if verbose:                                         # packages they would load (quiet.OPTIONAL_IMPORTS)
                with optional_imports_skipped():
                    import keras  # noqa: F401, PLC0415
                    import tensorflow  # noqa: F401, PLC0415
            else:
                import_tensorflow_quietly(skip_optional=True)
        return int(args.func(args) or 0)
    except (CliError, MigrateError) as e:
        print(f"tf-migrate {args.command}: error: {error_text(e)}", file=sys.stderr)
        return int(e.exit_code)
    except OSError as e:
        code = exit_code_for_os_error(e)
        if code is None:
            raise
        print(f"tf-migrate {args.command}: error: {shown(e.filename or '')}{': ' if e.filename else ''}"
              f"cannot write ({e.strerror or e}); nothing of this command's outputs was kept.", file=sys.stderr)
        return code


def _interrupted(command: str) -> int:
    """The one line of a Ctrl-C: what was written before it (a multi-step command) and what was not."""
    from migrate.files import session  # noqa: PLC0415

    done = session()
    if done["committed"] and command.split()[-1] in DONE_AT_COMMIT and not done["not_written"]:
        return 0                                   # the commit was done: the outputs stand (see CtrlC)
    parts = [f"{command}: interrupted"]
    parts.append(f"not written: {', '.join(shown(p) for p in done['not_written'])}" if done["not_written"]
                 else "nothing was written" if not done["committed"] else "nothing else was written")
    if done["committed"]:
        parts.append(f"written before the interrupt: {', '.join(shown(p) for p in done['committed'])}")
    print("; ".join(parts) + ".", file=sys.stderr)
    return INTERRUPTED


def error_text(e: BaseException) -> str:
    """An error's message for the console: one line (unless the error is `multiline`), names escaped."""
    if getattr(e, "multiline", False):
        return shown_lines(str(e))
    return shown(_one_line(e) if isinstance(e, OutputError) else str(e))


# OSErrors that escape a command and can only mean "an output cannot be written" (exit 3). Reads that
# fail raise the library's InputError (exit 2) before this point; anything else is a bug: a traceback.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def exit_code_for_os_error(e: OSError) -> int | None:
    return CANNOT_WRITE if e.errno in _WRITE_ERRNOS else None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split("\n")).strip()
