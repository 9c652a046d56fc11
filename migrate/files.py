"""The one owner of a model folder's files: where a checkpoint is, and how every output is written.

Reading: `resolve_checkpoint(path)` is the only checkpoint resolver (convert, inspect, parity, apply_mapping
all call it), so no two commands disagree about where a checkpoint is.

Writing: every output of one command goes through one `Outputs`:

    with Outputs(force=args.force) as out:
        out.check(args.out); out.check(args.report)          # early: exit 3 before any work
        out.write_bytes(args.out, data)                        # staged in a temp beside the destination
        tmp = out.stage(args.report); write_somehow(tmp)      # or let any writer fill a staged temp
    # normal exit: commit() - fsync each temp, rename all into place, fsync the directories
    # exception / Ctrl-C: discard() - every temp removed, no destination touched

A temp is named `.{name}.tfm-tmp-{pid}-{rand}{suffix}` in the destination's own directory, so a rename is
atomic and a later run at the same destination removes the temps of a killed run (`clean_stale_temps`,
called by `stage`) once their pid is gone. New files follow the umask (0666 & ~umask; directories 0777 &
~umask), as `open()` would make them. `--force` replaces existing outputs; without it an existing output is
an `OutputError` (exit 3) before anything is written. A failing commit puts back what it had replaced and
leaves no temp behind.

One output, one writer: `check` takes the destination's lock `.{name}.tfm-lock` (beside it; `flock`, the pid
inside for the message) and holds it until commit / discard, so of two runs writing one destination at once
exactly one goes on and the other gets an `OutputError` (exit 3) naming the destination; a lock whose process
is gone (kill -9) is taken over. A new output is placed exclusively (`renameat2(RENAME_NOREPLACE)`, else
`link` + `unlink`): if the destination appeared meanwhile (a writer that takes no lock), the commit is an
`OutputError` and that file is left as it is. Only `--force` replaces.

JSON: every JSON output is strict JSON (RFC 8259): `to_json_text` writes a non-finite float as `null` and lists
it in the top-level `"non_finite"` member (JSON Pointer -> "NaN" / "Infinity" / "-Infinity"), docs/outputs.md.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import json
import math
import os
import re
import secrets
import shutil
import signal
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from migrate.errors import InputError, OutputError

__all__ = [
    "OutputError", "Outputs", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "checkpoint_format",
    "clean_stale_temps", "lock_path", "resolve_checkpoint", "temp_pattern", "to_json_text", "v1_files",
]

TEMP_TAG = ".tfm-tmp-"
LOCK_TAG = ".tfm-lock"
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.tfm-tmp-(?P<pid>\d+)-(?P<rand>[0-9a-f]{8})(?P<suffix>.*)$")
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
_PERM_ERRNOS = {errno.EACCES, errno.EPERM}
_DISK_ERRORS = tuple(os.strerror(e) for e in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS))


class CheckpointNotFound(InputError):
    """`resolve_checkpoint` found no checkpoint at the path (exit code 2)."""


# --------------------------------------------------------------------------------------------- reading

_DATA_RE = re.compile(r"\.data-(\d{5})-of-(\d{5})$")
_STATE_RE = re.compile(r'^\s*model_checkpoint_path:\s*"(.*)"\s*$', re.M)


# The last 8 bytes of a LevelDB-style table (TF's `table_builder.cc` kTableMagicNumber 0xdb4775248b80fb57,
# little-endian). A V2 bundle's `.index` is such a table; a V1 checkpoint (tf.train.Saver(write_version=V1), the
# default before TF 0.12) is one such table per shard holding the tensors themselves, named by the prefix
# (`model.ckpt`) or, sharded, `model.ckpt-00000-of-00002`.
TABLE_MAGIC = bytes.fromhex("57fb808b247547db")
_FOOTER_LEN = 48                                  # two block handles (padded to 40 bytes) + the magic
_V1_SHARD_RE = re.compile(r"-(\d{5})-of-(\d{5})$")
_NOT_V1 = (".index", ".meta", ".json", ".txt", ".md", ".pbtxt", ".pb", ".npz", ".h5", ".keras")


def is_table_file(path: str) -> bool:
    """True when `path` is a regular file ending with the table magic (a V1 checkpoint file or a V2 `.index`)."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) < _FOOTER_LEN:
            return False
        with open(path, "rb") as f:
            f.seek(-len(TABLE_MAGIC), os.SEEK_END)
            return f.read() == TABLE_MAGIC
    except OSError:
        return False


def v1_files(prefix: str) -> list[str]:
    """The files of the V1 checkpoint `prefix` (the prefix itself, or its `-NNNNN-of-NNNNN` shards); [] if none."""
    if not os.path.exists(prefix + ".index") and is_table_file(prefix):
        return [prefix]
    shards = sorted(glob.glob(glob.escape(prefix) + "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"))
    return [f for f in shards if is_table_file(f)]


def checkpoint_format(prefix: str) -> str:
    """"V2" (a bundle: `.index` + `.data-*`) or "V1" (table file(s) named by the prefix) for a resolved prefix."""
    return "V2" if os.path.exists(prefix + ".index") else "V1"


def find_meta(prefix: str) -> str | None:
    """The `.meta` graph of a checkpoint prefix: `PREFIX.meta`, else the one `.meta` beside it (a Saver called
    with `write_meta_graph=False` after the first save leaves `model.ckpt-1000` beside `model.ckpt-1.meta`)."""
    meta = prefix + ".meta"
    if os.path.isfile(meta):
        return meta
    folder = os.path.dirname(prefix) or "."
    metas = sorted(f for f in os.listdir(folder) if f.endswith(".meta")) if os.path.isdir(folder) else []
    return os.path.join(folder, metas[0]) if len(metas) == 1 else None


def resolve_checkpoint(path: str) -> str:
    """The checkpoint prefix that `path` names: a prefix, a directory, an `.index`, a `.meta` or a `.data-*` file.

    Both formats TF 2.x still reads: V2 bundles (`PREFIX.index` + `PREFIX.data-*`) and V1 checkpoints (one table
    file named by the prefix, e.g. `model.ckpt`, or its shards `model.ckpt-00000-of-00002`; a V1 file is told
    by its table magic, see `checkpoint_format`).
    A directory is resolved through its `checkpoint` state file (the latest checkpoint). `tf.train.Saver`
    writes absolute paths there, so a folder copied from another machine names paths that do not exist
    here: the file of the same name in THIS directory wins. A directory without a state file but exactly
    one `*.index` (or, with none, exactly one V1 checkpoint) resolves to that one. Raises `CheckpointNotFound`
    (exit 2) with what was found and what to pass instead.

    >>> resolve_checkpoint("../shared/fixtures/real_tf1_checkpoints/aplain_basiclstm_2017")  # doctest: +SKIP
    '../shared/fixtures/real_tf1_checkpoints/aplain_basiclstm_2017/model.ckpt-...'
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return _resolve_directory(path)
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    path = _DATA_RE.sub("", path)
    shard = _V1_SHARD_RE.search(path)
    if shard and is_table_file(path) and len(v1_files(path[: shard.start()])) > 0:
        return path[: shard.start()]          # one shard of a sharded V1 checkpoint named: its prefix
    if _exists(path):
        return path
    if os.path.isfile(path):
        raise CheckpointNotFound(
            f"{path}: not a TensorFlow checkpoint: no {os.path.basename(path)}.index beside it (a V2 checkpoint) and "
            f"not a V1 checkpoint file either (it does not end with the table magic: truncated, or another "
            f"format); expected a prefix such as model.ckpt-1000 with .index and .data-* files, or a V1 model.ckpt.")
    data = sorted(glob.glob(glob.escape(path) + ".data-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"))
    if data:   # a V2 bundle whose index was not copied: the data files alone cannot be read
        present = [os.path.basename(data[0]) + (f" (and {len(data) - 1} more data files)" if len(data) > 1 else "")]
        present += [os.path.basename(path) + ".meta"] if os.path.isfile(path + ".meta") else []
        raise CheckpointNotFound(
            f"{path}.index: no such file, though {' and '.join(present)} {'are' if len(present) > 1 else 'is'} "
            f"there: the index says where each "
            f"tensor lies in the data files, and without it they cannot be read. Copy {os.path.basename(path)}.index "
            f"from where the checkpoint was saved.")
    raise CheckpointNotFound(f"{path}: no such checkpoint (neither a directory nor a prefix with a .index file or "
                             f"a V1 checkpoint file).")


def _exists(prefix: str) -> bool:
    """A V2 bundle (`prefix.index`) or a V1 checkpoint is at `prefix`."""
    return os.path.exists(prefix + ".index") or bool(v1_files(prefix))


def _unquote(text: str) -> str:
    """A text-proto string's contents (`a\\"b` -> `a"b`): the state file escapes quotes, backslashes, newlines."""
    from google.protobuf import text_encoding  # noqa: PLC0415 - protobuf comes with TensorFlow

    try:
        return text_encoding.CUnescape(text).decode("utf-8", errors="replace")
    except ValueError:
        return text


def _resolve_directory(path: str) -> str:
    state = os.path.join(path, "checkpoint")
    if os.path.isfile(state):
        with open(state, encoding="utf-8", errors="replace") as f:
            m = _STATE_RE.search(f.read())
        if not m:
            raise CheckpointNotFound(
                f"{state}: no `model_checkpoint_path:` line; expected the `checkpoint` state file tf.train.Saver "
                f"writes. Pass the prefix instead (e.g. DIR/model.ckpt-1000).")
        prefix = _unquote(m.group(1))
        local = os.path.join(path, os.path.basename(prefix.replace("\\", "/")))
        if _exists(local):
            return local
        if not os.path.isabs(prefix):
            prefix = os.path.join(path, prefix)
        if not _exists(prefix):
            raise CheckpointNotFound(
                f"{state} names {prefix!r} as the latest checkpoint, but neither {prefix}.index nor a V1 checkpoint "
                f"file {prefix} exists; copy the checkpoint files or pass another prefix.")
        return prefix
    indexes = sorted(glob.glob(os.path.join(glob.escape(path), "*.index")))
    if len(indexes) == 1:
        return indexes[0][: -len(".index")]
    if not indexes:
        v1 = sorted({_V1_SHARD_RE.sub("", e.path) for e in os.scandir(path)
                     if not e.name.startswith(".") and not e.name.endswith(_NOT_V1) and not _DATA_RE.search(e.name)
                     and is_table_file(e.path)})
        if len(v1) == 1:
            return v1[0]
        if v1:
            raise CheckpointNotFound(f"{path}: no `checkpoint` state file and {len(v1)} V1 checkpoints "
                                     f"({', '.join(os.path.basename(p) for p in v1[:4])}); pass one prefix.")
        raise CheckpointNotFound(f"{path}: a directory with no `checkpoint` file, no *.index file and no V1 "
                                 f"checkpoint file; expected a TF1 checkpoint directory or prefix.")
    raise CheckpointNotFound(f"{path}: no `checkpoint` state file and {len(indexes)} checkpoints "
                             f"({', '.join(os.path.basename(i) for i in indexes[:4])}); pass one prefix.")


# --------------------------------------------------------------------------------------------- temps

def temp_pattern(dest_name: str) -> str:
    """The glob that matches every temp of destination `dest_name` (any pid)."""
    return "." + glob.escape(dest_name) + TEMP_TAG + "*"


def _temp_name(dest_name: str, suffix: str = "") -> str:
    return f".{dest_name}{TEMP_TAG}{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(directory: str, dest_name: str) -> list[str]:
    """Remove the temps an earlier, killed run left for destination `dest_name` in `directory`.

    Only names of our own form (`.{dest_name}.tfm-tmp-{pid}-{rand}...`) whose process no longer exists are
    removed; a concurrent run's temps (pid alive) are left alone. Returns the removed paths.
    """
    removed = []
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry)
        if not m or m.group("name") != dest_name or _pid_alive(int(m.group("pid"))):
            continue
        full = os.path.join(directory, entry)
        _remove(full)
        if not os.path.lexists(full):
            removed.append(full)
    return removed


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (thread-safe), else by set-and-restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:  # some filesystems refuse fsync on directories
        if e.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _write_all(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------- one writer

def lock_path(dest: str) -> str:
    """The lock file of destination `dest`: `.{name}.tfm-lock` in the destination's own directory."""
    directory, name = os.path.split(os.path.abspath(os.fspath(dest)))
    return os.path.join(directory, f".{name}{LOCK_TAG}")


@dataclass
class _Lock:
    path: str
    fd: int
    flock: bool       # held through flock (released by the kernel if we die); else an O_EXCL file holding our pid


def _read_pid(fd_or_path) -> int | None:
    try:
        if isinstance(fd_or_path, int):
            text = os.pread(fd_or_path, 32, 0)
        else:
            with open(fd_or_path, "rb") as f:
                text = f.read(32)
        return int(text.split()[0]) if text.split() else None
    except (OSError, ValueError):
        return None


def _busy(dest: str, pid: int | None) -> OutputError:
    who = "another writer in this process" if pid == os.getpid() else \
        f"another run (pid {pid})" if pid else "another run"
    return OutputError(f"{dest}: {who} is writing it (it holds {os.path.basename(lock_path(dest))}); nothing of this "
                       f"run's outputs was written; wait for that run to finish, or choose another output path.")


def _acquire(dest: str) -> _Lock:
    """Take the lock of `dest` or raise `OutputError` (exit 3) naming the run that holds it."""
    path = lock_path(dest)
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as e:
            raise OutputError(f"{dest}: cannot write (its lock {path}: {e.strerror or e}); nothing was written; "
                              f"choose another output path.") from None
        try:
            import fcntl  # noqa: PLC0415  (POSIX)

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (ImportError, OSError) as e:
            if isinstance(e, OSError) and e.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                pid = _read_pid(fd)
                for _ in range(50):            # the holder writes its pid just after taking the flock
                    if pid:
                        break
                    time.sleep(0.01)
                    pid = _read_pid(fd)
                os.close(fd)
                raise _busy(dest, pid) from None
            os.close(fd)                       # no flock here (some network file systems): a pid file instead
            return _acquire_exclusive(dest, path)
        try:                                   # still the file at `path`? (its holder may have removed it)
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return _Lock(path, fd, True)
    raise _busy(dest, None)


def _acquire_exclusive(dest: str, path: str) -> _Lock:
    """The lock as a file created with O_EXCL holding our pid; one whose pid is gone is taken over."""
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        except FileExistsError:
            pid = _read_pid(path)
            if pid is not None and _pid_alive(pid):
                raise _busy(dest, pid) from None
            stale = f"{path}.{os.getpid()}-{secrets.token_hex(4)}"
            try:
                os.rename(path, stale)         # one taker wins the rename; the file is then removed
                os.unlink(stale)
            except OSError:
                pass
            continue
        os.write(fd, f"{os.getpid()}\n".encode())
        return _Lock(path, fd, False)
    raise _busy(dest, _read_pid(path))


def _release(lock: _Lock) -> None:
    try:
        if os.path.samestat(os.fstat(lock.fd), os.stat(lock.path)):
            os.unlink(lock.path)               # removed while still held: a waiter re-checks the path
    except OSError:
        pass
    try:
        os.close(lock.fd)
    except OSError:
        pass


def _release_all(locks: dict) -> None:
    for lock in list(locks.values()):
        _release(lock)
    locks.clear()


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2_noreplace(src: str, dst: str) -> bool:
    """rename(src, dst) failing with FileExistsError if dst exists; False where the kernel/libc/fs lacks it."""
    fn = _libc_renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), dst)
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), dst)


_RENAMEAT2: list = []


def _libc_renameat2():
    if not _RENAMEAT2:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            fn.restype = ctypes.c_int
        except (AttributeError, OSError):
            fn = None
        _RENAMEAT2.append(fn)
    return _RENAMEAT2[0]


def _place_new(temp: str, dest: str) -> None:
    """Move `temp` to `dest` only if nothing is at `dest`; `FileExistsError` (and `temp` kept) otherwise."""
    if _renameat2_noreplace(temp, dest):
        return
    if not (os.path.isdir(temp) and not os.path.islink(temp)):
        try:
            os.link(temp, dest, follow_symlinks=False)     # fails with EEXIST if dest appeared
        except FileExistsError:
            raise
        except OSError:
            pass                                           # no hard links here: check, then rename
        else:
            os.unlink(temp)
            return
    if os.path.lexists(dest):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dest)
    os.rename(temp, dest)


@contextmanager
def _interrupts_deferred():
    """Hold SIGINT (Ctrl-C) back while the block runs (the renames of a commit); deliver it afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if got and callable(previous):
        previous(signal.SIGINT, None)
    elif got and previous == signal.SIG_DFL:
        raise KeyboardInterrupt


# What this process committed and left unwritten, for the CLI's one line on Ctrl-C (`migrate/cli.py`).
_SESSION: dict[str, list[str]] = {"committed": [], "not_written": []}


def reset_session() -> None:
    """Forget what earlier commands of this process wrote (the CLI calls it when a command starts)."""
    _SESSION["committed"].clear()
    _SESSION["not_written"].clear()


def session() -> dict[str, list[str]]:
    """{"committed": destinations committed since `reset_session`, "not_written": outputs discarded since}."""
    return {k: list(v) for k, v in _SESSION.items()}


# --------------------------------------------------------------------------------------------- Outputs

@dataclass
class _Staged:
    dest: str          # absolute destination (file, directory, or checkpoint prefix)
    temp: str          # temp file / temp directory beside it
    kind: str          # "file" | "dir" | "prefix"
    identical_ok: bool = False


@dataclass
class _Move:
    temp: str
    dest: str
    identical_ok: bool = False


class Outputs:
    """Every output of one command, staged beside its destination and committed together at the end.

    Args:
        force: replace outputs that already exist (`--force`). Without it an existing output raises
            `OutputError` (exit 3) at `check`/`stage` time, before any work.

    Use as a context manager: `commit()` on normal exit, `discard()` on any exception (Ctrl-C included).
    A write error of the disk kind (ENOSPC, EDQUOT, EFBIG, EROFS), or a permission error on a staged temp,
    raised inside the block becomes an `OutputError` naming the destination.
    `check` takes each destination's lock (`lock_path`) for this run; `commit` / `discard` release them.
    """

    def __init__(self, *, force: bool = False):
        self.force = force
        self._staged: list[_Staged] = []
        self._umask = current_umask()
        self.committed: list[str] = []
        self._planned: list[str] = []                  # every destination checked, in order (absolute)
        self._locks: dict[str, _Lock] = {}
        weakref.finalize(self, _release_all, self._locks)  # an Outputs dropped unused releases its locks

    # -- checks -------------------------------------------------------------------------------------
    def check(self, path: str, *, kind: str = "file", identical_ok: bool = False) -> None:
        """Raise `OutputError` unless `path` can be written: parent exists, is a directory, is writable,
        and `path` is absent (or `force`), and no other run is writing it (its lock is taken here and held
        until commit / discard). `kind="prefix"` checks a checkpoint prefix's `PREFIX.*` files.
        `identical_ok` outputs (side files that may already hold the same bytes) take no lock."""
        path = os.fspath(path)
        if not path:
            raise OutputError("an output path is empty; give a file name.")
        absolute = os.path.abspath(path)
        parent = os.path.dirname(absolute)
        if not os.path.lexists(parent):
            missing = parent
            while not os.path.lexists(os.path.dirname(missing)) and os.path.dirname(missing) != missing:
                missing = os.path.dirname(missing)
            if os.path.lexists(os.path.dirname(missing)) and not os.path.isdir(os.path.dirname(missing)):
                raise OutputError(f"{path}: cannot write: {os.path.dirname(missing)} is a file, not a directory; "
                                  f"choose another output path.")
            raise OutputError(f"{path}: cannot write: the directory {parent} does not exist; create it "
                              f"(mkdir -p {parent}) or choose another output path.")
        if not os.path.isdir(parent):
            raise OutputError(f"{path}: cannot write: {parent} is a file, not a directory; choose another output path.")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: cannot write: no permission to create files in {parent} (or it is on a "
                              f"read-only filesystem); choose another output path.")
        self._refuse_existing(path, absolute, kind, identical_ok)
        if any(s.dest == absolute for s in self._staged):
            raise OutputError(f"{path}: given twice as an output of this command; choose two different paths.")
        if absolute not in self._planned:
            self._planned.append(absolute)
        if identical_ok or absolute in self._locks:
            return
        self._locks[absolute] = _acquire(absolute)
        try:                                   # a run that committed just before we took the lock
            self._refuse_existing(path, absolute, kind, identical_ok)
        except OutputError:
            _release(self._locks.pop(absolute))
            raise

    def _refuse_existing(self, path: str, absolute: str, kind: str, identical_ok: bool) -> None:
        existing = self._existing(absolute, kind)
        if existing and kind == "file" and os.path.isdir(absolute):
            raise OutputError(f"{path}: cannot write: a directory of that name exists; choose a file name.")
        if existing and not self.force and not identical_ok:
            shown = existing[0] if len(existing) == 1 else f"{existing[0]} (and {len(existing) - 1} more)"
            raise OutputError(f"{shown}: already exists; pass --force to replace it, or choose another output path.")

    @staticmethod
    def _existing(absolute: str, kind: str) -> list[str]:
        if kind == "prefix":
            return sorted(glob.glob(glob.escape(absolute) + ".index") + glob.glob(glob.escape(absolute) + ".data-*"))
        return [absolute] if os.path.lexists(absolute) else []

    # -- staging ------------------------------------------------------------------------------------
    def stage(self, path: str, *, kind: str = "file", suffix: str = "", identical_ok: bool = False) -> str:
        """Check `path`, register it, and return a temp path in the same directory to write into.

        kind="file": a temp file path (not yet created; `suffix` is appended, e.g. ".keras" for writers
            that look at the extension). kind="dir": a created temp directory that replaces `path` as a whole.
        kind="prefix": a checkpoint written as a set of files `PREFIX.index`, `PREFIX.data-*`, ...: returns
            a prefix inside a created temp directory; every file written there is moved beside `path`.
        """
        if kind not in ("file", "dir", "prefix"):
            raise ValueError(f"kind must be 'file', 'dir' or 'prefix', not {kind!r}")
        self.check(path, kind=kind, identical_ok=identical_ok)
        absolute = os.path.abspath(os.fspath(path))
        directory, name = os.path.split(absolute)
        clean_stale_temps(directory, name)
        temp = os.path.join(directory, _temp_name(name, suffix if kind == "file" else ""))
        if kind in ("dir", "prefix"):
            os.mkdir(temp, 0o777)
        self._staged.append(_Staged(absolute, temp, kind, identical_ok))
        return os.path.join(temp, name) if kind == "prefix" else temp

    def write_bytes(self, path: str, data: bytes, *, identical_ok: bool = False) -> None:
        """Stage `data` for `path`. `identical_ok`: an existing file with exactly these bytes is not an error."""
        if identical_ok and not self.force and os.path.isfile(path) and not _same_content(path, bytes(data)):
            raise OutputError(f"{path}: already exists with other contents; pass --force to replace it, or choose "
                              f"another output path.")
        temp = self.stage(path, identical_ok=identical_ok)
        try:
            _write_all(temp, bytes(data))
        except OSError as e:
            raise self._as_output_error(e, path) from None

    def write_text(self, path: str, text: str, *, identical_ok: bool = False) -> None:
        self.write_bytes(path, text.encode("utf-8"), identical_ok=identical_ok)

    def write_json(self, path: str, obj: Any, *, identical_ok: bool = False) -> None:
        """Stage `obj` as strict JSON (`to_json_text`: non-finite floats as null, listed in `non_finite`)."""
        self.write_text(path, to_json_text(obj), identical_ok=identical_ok)

    @property
    def paths(self) -> list[str]:
        return [s.dest for s in self._staged]

    # -- commit / discard ---------------------------------------------------------------------------
    def commit(self) -> list[str]:
        """fsync every staged file, place all, fsync the directories. Returns the destinations.

        A new output is placed exclusively: one that appeared since `check` (written by something that
        takes no lock) is left as it is and the commit fails. On a failure, destinations already placed
        are put back as they were (replaced files restored, new files removed), every temp and backup is
        removed, the locks are released, and `OutputError` is raised. Ctrl-C waits until the placing is done.
        """
        try:
            moves = self._prepare()
        except OSError as e:
            self.discard()
            raise self._as_output_error(e, self._staged[0].dest if self._staged else "") from None
        except BaseException:
            self.discard()
            raise
        with _interrupts_deferred():
            done = self._place(moves)
            for s in self._staged:
                if s.kind == "prefix":
                    self._remove_old_shards(s, [d for d, _ in done])
                    _remove(s.temp)
            self.committed = [d for d, _ in done]
            self._staged = []
            _SESSION["committed"].extend(self.committed)
            _release_all(self._locks)
        for directory in sorted({os.path.dirname(d) for d, _ in done}):
            try:
                _fsync_path(directory)
            except OSError:
                pass
        return list(self.committed)

    def _place(self, moves: list[_Move]) -> list[tuple[str, tuple[str, str] | None]]:
        """Place every move; on any failure undo the ones done, discard, and raise. Returns (dest, backup)."""
        done: list[tuple[str, tuple[str, str] | None]] = []   # (dest, (backup path, "link"|"moved") or None)
        current = ""
        try:
            for m in moves:
                current = m.dest
                if not self.force:
                    try:
                        _place_new(m.temp, m.dest)
                    except FileExistsError:
                        if m.identical_ok and os.path.isfile(m.dest) and _same_bytes(m.temp, m.dest):
                            _remove(m.temp)
                            continue
                        raise OutputError(f"{m.dest}: another run wrote it first (it appeared after this run "
                                          f"checked it) and it was left as it is; nothing of this run's outputs "
                                          f"was written; choose another output path, or pass --force to "
                                          f"replace it.") from None
                    done.append((m.dest, None))
                    continue
                backup = self._backup(m.dest)
                try:
                    os.rename(m.temp, m.dest)
                except BaseException:
                    _restore(m.dest, backup, placed=False)
                    raise
                done.append((m.dest, backup))
        except BaseException as e:
            for dest, backup in reversed(done):
                _restore(dest, backup, placed=True)
            self.discard()
            if isinstance(e, OSError):
                raise self._as_output_error(e, current) from None
            raise
        for _dest, backup in done:
            if backup:
                _remove(backup[0])
        return done

    @staticmethod
    def _backup(dest: str) -> tuple[str, str] | None:
        """Keep an existing `dest` under a temp name, to put back if a later step fails. A file (or a
        symlink: the link itself, not its target) is hard-linked, so `dest` never disappears (the rename
        replaces it atomically); a directory, or a file system without links, is moved aside."""
        if not os.path.lexists(dest):
            return None
        backup = os.path.join(os.path.dirname(dest), _temp_name(os.path.basename(dest), ".old"))
        if not (os.path.isdir(dest) and not os.path.islink(dest)):
            try:
                os.link(dest, backup, follow_symlinks=False)
                return backup, "link"
            except OSError:
                pass
        os.rename(dest, backup)
        return backup, "moved"

    def _prepare(self) -> list[_Move]:
        """Check the staged temps exist, fix their modes to the umask, fsync them; the moves to make."""
        moves: list[_Move] = []
        file_mode, dir_mode = 0o666 & ~self._umask, 0o777 & ~self._umask
        for s in self._staged:
            if s.kind == "file":
                if not os.path.isfile(s.temp):
                    raise OutputError(f"{s.dest}: nothing was written to its staged file; the writer failed.")
                if s.identical_ok and os.path.isfile(s.dest) and _same_bytes(s.temp, s.dest):
                    _remove(s.temp)
                    continue
                if s.identical_ok and os.path.lexists(s.dest) and not self.force:
                    raise OutputError(f"{s.dest}: already exists with other contents; pass --force to replace it, "
                                      f"or choose another output path.")
                os.chmod(s.temp, file_mode)
                _fsync_path(s.temp)
                moves.append(_Move(s.temp, s.dest, s.identical_ok))
            elif s.kind == "dir":
                for root, dirs, files in os.walk(s.temp):
                    os.chmod(root, dir_mode)
                    for f in files:
                        os.chmod(os.path.join(root, f), file_mode)
                        _fsync_path(os.path.join(root, f))
                    for d in dirs:
                        _fsync_path(os.path.join(root, d))
                _fsync_path(s.temp)
                moves.append(_Move(s.temp, s.dest))
            else:  # prefix: every file in the temp dir goes beside the destination
                names = sorted(os.listdir(s.temp))
                if not names:
                    raise OutputError(f"{s.dest}: nothing was written to its staged checkpoint; the writer failed.")
                for n in names:
                    src = os.path.join(s.temp, n)
                    dest = os.path.join(os.path.dirname(s.dest), n)
                    if os.path.lexists(dest) and not self.force and not s.identical_ok:
                        raise OutputError(f"{dest}: already exists; pass --force to replace it, or choose another "
                                          f"output path.")
                    os.chmod(src, file_mode if os.path.isfile(src) else dir_mode)
                    _fsync_path(src)
                    moves.append(_Move(src, dest, s.identical_ok))
        return moves

    def _remove_old_shards(self, s: _Staged, placed: list[str]) -> None:
        """After `--force` over a prefix: remove data shards of the replaced checkpoint that the new one lacks."""
        for old in glob.glob(glob.escape(s.dest) + ".data-*-of-*"):
            if old not in placed:
                _remove(old)

    def discard(self) -> None:
        """Remove every staged temp (files and directories) and release the locks; destinations are not touched."""
        for s in self._staged:
            _remove(s.temp)
        self._staged = []
        _SESSION["not_written"].extend(d for d in self._planned if d not in _SESSION["not_written"])
        self._planned = []
        _release_all(self._locks)

    def _as_output_error(self, e: OSError, path: str) -> OutputError:
        why = e.strerror or str(e)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            what = "free some space or choose another output path"
        else:
            what = "choose another output path"
        where = path or (e.filename or "an output")
        return OutputError(f"{where}: cannot write ({why}); nothing was written; {what}.")

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.commit()
            return False
        staged = self._staged[0].dest if self._staged else ""
        temps = [(s.temp, s.dest) for s in self._staged]
        self.discard()
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            on_temp = bool(exc.filename) and any(str(exc.filename).startswith(t) for t, _ in temps)
            if exc.errno in _WRITE_ERRNOS or (exc.errno in _PERM_ERRNOS and on_temp):
                raise self._as_output_error(exc, staged) from None
        elif isinstance(exc, Exception):
            # Writers that are not Python file I/O (h5py's RuntimeError, TensorFlow's ResourceExhaustedError
            # from SaveV2) report a full disk in their message: when it names one of our staged temporaries
            # and a disk-side errno, it is an output that could not be written (exit 3), not a bug.
            text = str(exc)
            dest = next((d for t, d in temps if t in text), None)
            reason = next((r for r in _DISK_ERRORS if r in text), None)
            if dest is not None and reason is not None:
                what = "free some space or choose another output path" if reason in _DISK_ERRORS[:2] else \
                    "choose another output path"
                raise OutputError(f"{dest}: cannot write ({reason}); nothing was written; {what}.") from None
        return False


def _restore(dest: str, backup: tuple[str, str] | None, *, placed: bool) -> None:
    """Undo one placement (`placed`: our output is at `dest`) or a half-done one, leaving no temp behind."""
    try:
        if backup is None:
            if placed:
                _remove(dest)
            return
        path, how = backup
        if how == "link":
            if placed:
                os.rename(path, dest)          # the old inode back over ours, atomically
            else:
                os.unlink(path)                # dest was never replaced: the extra link goes
            return
        if placed:
            _remove(dest)
        os.rename(path, dest)
    except OSError:
        pass
    finally:                                   # a backup that is one more link to what `dest` holds goes
        if backup is not None and os.path.lexists(backup[0]) and os.path.lexists(dest):
            try:
                if os.path.samestat(os.lstat(backup[0]), os.lstat(dest)):
                    os.unlink(backup[0])
            except OSError:
                pass


def _same_content(path: str, data: bytes) -> bool:
    if os.path.getsize(path) != len(data):
        return False
    with open(path, "rb") as f:
        return f.read() == data


def _same_bytes(a: str, b: str) -> bool:
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


# --------------------------------------------------------------------------------------------- strict JSON

NON_FINITE_KEY = "non_finite"


def to_json_text(obj: Any, *, indent: int | None = 2, sort_keys: bool = False, default=None,
                 ensure_ascii: bool = True) -> str:
    """`obj` as strict JSON text (RFC 8259), ending with a newline: the one encoder of every JSON output.

    Python's `json` writes a non-finite float as the bare words `NaN` / `Infinity`, which no strict parser
    reads. Here each one becomes `null`, and the top-level object gets a member `"non_finite"` mapping the
    JSON Pointer (RFC 6901) of every replaced value to what it was ("NaN", "Infinity" or "-Infinity"):

    >>> print(to_json_text({"parity": {"max_abs": float("inf")}, "ok": False}, indent=None), end="")
    {"parity": {"max_abs": null}, "ok": false, "non_finite": {"/parity/max_abs": "Infinity"}}

    When the top level is an array, each object in it carries its own `non_finite` (pointers relative to it).
    NumPy scalars and arrays are written as numbers and lists; `default` converts any other object (as in
    `json.dumps`), and what it returns is cleaned the same way.
    """
    if isinstance(obj, (list, tuple)):
        clean = [_flagged(item, default) if isinstance(item, dict) else _finite(item, "", {}, default) for item in obj]
    else:
        clean = _flagged(obj, default)
    return json.dumps(clean, indent=indent, sort_keys=sort_keys, allow_nan=False, ensure_ascii=ensure_ascii) + "\n"


def _flagged(obj: Any, default) -> Any:
    found: dict[str, str] = {}
    clean = _finite(obj, "", found, default)
    if found and isinstance(clean, dict):
        earlier = clean.get(NON_FINITE_KEY)
        clean[NON_FINITE_KEY] = {**(earlier if isinstance(earlier, dict) else {}), **found}
    return clean


def _pointer_token(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _finite(obj: Any, path: str, found: dict[str, str], default) -> Any:
    """A copy of `obj` with every non-finite float replaced by None (its pointer recorded in `found`)."""
    if isinstance(obj, float) or _is_numpy_float(obj):
        value = float(obj)
        if math.isfinite(value):
            return value
        found[path or ""] = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
        return None
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, dict):
        return {_json_key(k): _finite(v, f"{path}/{_pointer_token(_json_key(k))}", found, default)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{path}/{i}", found, default) for i, v in enumerate(obj)]
    tolist = getattr(obj, "tolist", None)          # NumPy arrays and scalars (np.int64, np.bool_, ...)
    if tolist is not None and type(obj).__module__ == "numpy":
        return _finite(tolist(), path, found, default)
    if default is not None:
        return _finite(default(obj), path, found, default)
    return obj                                      # json.dumps raises its usual TypeError


def _is_numpy_float(obj: Any) -> bool:
    return type(obj).__module__ == "numpy" and hasattr(obj, "dtype") and getattr(obj.dtype, "kind", "") == "f" \
        and getattr(obj, "ndim", 1) == 0


def _json_key(key: Any) -> Any:
    if isinstance(key, float) or _is_numpy_float(key):
        return repr(float(key))                     # json.dumps would refuse a non-finite float key
    if type(key).__module__ == "numpy" and hasattr(key, "item"):
        return key.item()
    return key


# --------------------------------------------------------------------------------------------- one-file helpers

def atomic_write_bytes(path: str, data: bytes, *, force: bool = True) -> None:
    """Write one file atomically (staged temp, fsync, rename, fsync the directory). `force`: replace if present."""
    with Outputs(force=force) as out:
        out.write_bytes(path, data)


def atomic_write_text(path: str, text: str, *, force: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), force=force)


def atomic_write_json(path: str, obj: Any, *, force: bool = True, default=None) -> None:
    """Write `obj` as strict JSON (`to_json_text`) atomically."""
    atomic_write_bytes(path, to_json_text(obj, default=default).encode("utf-8"), force=force)
