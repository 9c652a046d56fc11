"""Arguments several subcommands share (one definition, the same help everywhere), and how the commands that write
files check their outputs before TensorFlow is imported and create their missing folders."""

from __future__ import annotations

import argparse
import contextlib
import os
import time


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


# -- outputs: checked before TensorFlow is imported, parents created like `mkdir -p` -----------------------------
#
# A command that writes files sets `preflight=` (cli.main calls it before the ~10 s TensorFlow import) to a
# function that calls `check_outputs_early`, and runs its work inside `output_parents(...)`. Every write still goes
# through `migrate.files.Outputs` (staged beside the destination, committed together); these two only make the
# destination's missing folders, as `git`, `black` or `cp -r` users expect of `--out port/model.keras`, and take
# them away again when the command fails.

def _missing_parents(path: str) -> tuple[str | None, list[str]]:
    """(nearest existing ancestor of `path`'s folder, the folders to create under it, outermost first)."""
    folder = os.path.dirname(os.path.abspath(path))
    missing: list[str] = []
    while not os.path.lexists(folder):
        missing.append(folder)
        up = os.path.dirname(folder)
        if up == folder:
            return None, []
        folder = up
    return folder, list(reversed(missing))


def check_outputs_early(outputs, *, force: bool) -> None:
    """Raise `OutputError` (exit 3) for an output that cannot be written, before any work or heavy import.

    `outputs`: `(path, kind)` pairs (`kind` as in `Outputs.check`: "file", "dir", "prefix"; None paths skipped).
    A path whose folder exists gets `Outputs.check` itself (exists without --force, a directory in the way, no
    permission); a path whose folder is missing is fine when the folders can be created: the nearest existing
    ancestor is a writable directory.
    """
    from migrate.errors import OutputError  # noqa: PLC0415
    from migrate.files import Outputs  # noqa: PLC0415

    checker = Outputs(force=force)
    for path, kind in outputs:
        if not path:
            continue
        base, missing = _missing_parents(path)
        if not missing:
            checker.check(path, kind=kind)
            continue
        if base is None or not os.path.isdir(base):
            raise OutputError(f"{path}: cannot write: {base} is a file, not a directory; choose another output path.")
        if not os.access(base, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: cannot write: no permission to create {missing[0]} in {base} (or it is on a "
                              f"read-only filesystem); choose another output path.")


@contextlib.contextmanager
def output_parents(paths):
    """Create the missing folders of each output path (`mkdir -p`, new folders follow the umask); when the block
    raises (a failed check, exit 1 / 2 / 3, Ctrl-C), remove the folders it created that are still empty, innermost
    first, so a failed command leaves nothing behind. Folders that received committed outputs stay."""
    from migrate.errors import OutputError  # noqa: PLC0415

    created: list[str] = []
    try:
        for path in paths:
            if not path:
                continue
            for folder in _missing_parents(path)[1]:
                try:
                    os.mkdir(folder, 0o777)
                except FileExistsError:
                    if not os.path.isdir(folder):
                        raise OutputError(f"{path}: cannot write: {folder} is a file, not a directory; choose "
                                          f"another output path.") from None
                    continue   # made meanwhile by a concurrent run: theirs, not ours to remove
                except OSError as e:
                    raise OutputError(f"{path}: cannot write: cannot create the directory {folder} "
                                      f"({e.strerror or e}); choose another output path.") from None
                created.append(folder)
        yield created
    except BaseException:
        for folder in reversed(created):
            try:
                os.rmdir(folder)
            except OSError:
                pass   # not empty (outputs committed in it, or another run's) - it stays
        raise


def process_started() -> float | None:
    """The `time.perf_counter()` value at which this process started (Linux: its start time in /proc, 10 ms
    resolution), so a command's report can say how long start-up and imports took; None elsewhere."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()   # after "pid (comm)": state is field 3, starttime 22
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        age = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return time.perf_counter() - age if age >= 0 else None
