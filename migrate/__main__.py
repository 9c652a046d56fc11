"""`python -m migrate` and the `tf-migrate` console script: the command line (`migrate.cli.main`).

A Ctrl-C while the command line itself is imported is one line and exit 130, like one during the run. Until the
import is done the SIGINT handler ends the process itself: a KeyboardInterrupt raised inside an extension module's
import does not always reach us as one (NumPy's `_core` import turns it into an ImportError with a traceback:
"PyCapsule_Import could not import module 'datetime'"). pip's `tf-migrate` wrapper calls `run` (pyproject.toml), so
both ways in start under the guard; a program that imports `migrate.cli` itself keeps its own SIGINT handling.
"""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    sys.stderr.write("tf-migrate: interrupted while starting; nothing was written.\n")
    sys.stderr.flush()
    os._exit(130)               # not sys.exit: see migrate.cli.exit_interrupted


def run() -> int:
    """Import the command line under the start-up guard, then run it (`main()` sets its own handler)."""
    signal.signal(signal.SIGINT, _interrupted_while_starting)
    from migrate.cli import main  # noqa: PLC0415 - imported under the handler above

    signal.signal(signal.SIGINT, signal.default_int_handler)
    return main()


if __name__ == "__main__":
    sys.exit(run())
