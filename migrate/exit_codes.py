"""Exit codes of every `tf-migrate` subcommand (documented in the README, table "Exit codes").

| code | name       | meaning                                                                  |
|------|------------|--------------------------------------------------------------------------|
| 0    | OK         | done; for checks, everything within tolerance / nothing left to change   |
| 1    | MISMATCH   | a check failed: parity outside tolerance, a mapping mismatch, `--check`  |
|      |            | found work, or a file could not be processed                             |
| 2    | BAD_INPUT  | unusable input: missing or corrupt file, wrong architecture, bad option  |
| 3    | CANNOT_WRITE| an output cannot be written (missing/unwritable parent, full disk) or   |
|      |            | already exists without `--force`; nothing was written                    |
| 130  | INTERRUPTED| stopped with Ctrl-C; atomic writes leave every output old or new         |
"""

OK = 0
MISMATCH = 1
BAD_INPUT = 2
CANNOT_WRITE = 3
INTERRUPTED = 130


class CliError(Exception):
    """An error of the command line itself (a bad option): printed as one line, exit `code`.

    Library code raises `migrate.errors.MigrateError` subclasses instead; `migrate/cli.py` maps both.
    """

    def __init__(self, message: str, code: int = BAD_INPUT):
        super().__init__(message)
        self.code = code

    @property
    def exit_code(self) -> int:
        return self.code
