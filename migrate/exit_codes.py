"""Exit codes of every `tf-migrate` subcommand (documented in the README, table "Exit codes").

| code | name       | meaning                                                                  |
|------|------------|--------------------------------------------------------------------------|
| 0    | OK         | done; for checks, everything within tolerance / nothing left to change   |
| 1    | MISMATCH   | a check failed: parity outside tolerance, a mapping mismatch, `--check`  |
|      |            | found work, or a file could not be processed                             |
| 2    | BAD_INPUT  | unusable input: missing or corrupt file, wrong architecture, bad option  |
| 130  | INTERRUPTED| stopped with Ctrl-C; atomic writes leave every output old or new         |
"""

OK = 0
MISMATCH = 1
BAD_INPUT = 2
INTERRUPTED = 130


class CliError(Exception):
    """An error the CLI prints as one message (no traceback) and exits with `code`."""

    def __init__(self, message: str, code: int = BAD_INPUT):
        super().__init__(message)
        self.code = code
