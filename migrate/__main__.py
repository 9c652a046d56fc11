"""`python -m migrate`: the `tf-migrate` command line (`migrate.cli.main`).

A Ctrl-C while the command line itself is imported is one line and exit 130, like one during the run. Until the
import is done the SIGINT handler ends the process itself: a KeyboardInterrupt raised inside an extension module's
import does not always reach us as one (NumPy's `_core` import turns it into an ImportError with a traceback:
"PyCapsule_Import could not import module 'datetime'").
"""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):
    sys.stderr.write("tf-migrate: interrupted while starting; nothing was written.\n")
    sys.stderr.flush()
    os._exit(130)               # not sys.exit: see migrate.cli.exit_interrupted


signal.signal(signal.SIGINT, _interrupted_while_starting)
from migrate.cli import main  # noqa: E402 - imported under the handler above

signal.signal(signal.SIGINT, signal.default_int_handler)   # main() sets its own for the run

sys.exit(main())
