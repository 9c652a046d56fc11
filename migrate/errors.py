"""The library's own exceptions: what went wrong, and which exit code the CLI gives it.

Library code (`migrate.checkpoint`, `migrate.files`, `migrate.parity`, ...) raises these; it never raises the
CLI's `CliError`. `migrate/cli.py` prints any `MigrateError` as one line and exits with its `exit_code`
(table in `migrate/exit_codes.py`): 1 the input does not fit / a check failed, 2 unusable input, 3 an output
cannot be written.
"""

from __future__ import annotations

from migrate.exit_codes import BAD_INPUT, CANNOT_WRITE, MISMATCH


class MigrateError(Exception):
    """Base of every library error. `exit_code` is the CLI's exit code for it (class default or per instance)."""

    exit_code: int = BAD_INPUT
    # The CLI prints a message as one line, every non-printable character (a newline in a name taken from an
    # input included) escaped by `migrate.text.shown`; an error whose message is several lines by design (a
    # child process's output) sets this, and each of its lines is escaped instead.
    multiline: bool = False

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        if code is not None:
            self.exit_code = int(code)

    @property
    def code(self) -> int:  # the name CliError uses; kept so callers can treat both alike
        return self.exit_code


class InputError(MigrateError):
    """An input that cannot be used: missing, corrupt, wrong kind of file (exit code 2)."""

    exit_code = BAD_INPUT


class MismatchError(MigrateError):
    """The input is readable but does not fit: a check failed, variables missing or unused (exit code 1)."""

    exit_code = MISMATCH


class OutputError(MigrateError):
    """An output that cannot be written, or exists and `--force` was not given (exit code 3).

    The message names the path, says why, and what to do. Nothing of the command's outputs has been written.
    """

    exit_code = CANNOT_WRITE
