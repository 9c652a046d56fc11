"""`python -m migrate`: the `tf-migrate` command line (`migrate.cli.main`).

A Ctrl-C while the command line itself is imported is one line and exit 130, like one during the run.
"""

import sys

try:
    from migrate.cli import main
except KeyboardInterrupt:
    sys.stderr.write("tf-migrate: interrupted while starting; nothing was written.\n")
    sys.exit(130)

sys.exit(main())
