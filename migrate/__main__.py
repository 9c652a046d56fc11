"""`python -m migrate`: the `tf-migrate` command line (`migrate.cli.main`).

A Ctrl-C while the command line itself is imported is one line and exit 130, like one during the run.
"""

import sys

try:
    from migrate.cli import main
except KeyboardInterrupt:
    import os

    sys.stderr.write("tf-migrate: interrupted while starting; nothing was written.\n")
    sys.stderr.flush()
    os._exit(130)               # not sys.exit: see migrate.cli.exit_interrupted

sys.exit(main())
