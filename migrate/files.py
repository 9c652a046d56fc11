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
an `OutputError` (exit 3) before anything is written. A failing commit puts back what it had replaced.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from typing import Any

from migrate.errors import InputError, OutputError

__all__ = [
    "OutputError", "Outputs", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "checkpoint_format",
    "clean_stale_temps", "resolve_checkpoint", "temp_pattern", "v1_files",
]

TEMP_TAG = ".tfm-tmp-"
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
    raise CheckpointNotFound(f"{path}: no such checkpoint (neither a directory nor a prefix with a .index file or "
                             f"a V1 checkpoint file).")


def _exists(prefix: str) -> bool:
    """A V2 bundle (`prefix.index`) or a V1 checkpoint is at `prefix`."""
    return os.path.exists(prefix + ".index") or bool(v1_files(prefix))


def _resolve_directory(path: str) -> str:
    state = os.path.join(path, "checkpoint")
    if os.path.isfile(state):
        with open(state, encoding="utf-8", errors="replace") as f:
            m = _STATE_RE.search(f.read())
        if not m:
            raise CheckpointNotFound(
                f"{state}: no `model_checkpoint_path:` line; expected the `checkpoint` state file tf.train.Saver "
                f"writes. Pass the prefix instead (e.g. DIR/model.ckpt-1000).")
        prefix = m.group(1)
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


# --------------------------------------------------------------------------------------------- Outputs

@dataclass
class _Staged:
    dest: str          # absolute destination (file, directory, or checkpoint prefix)
    temp: str          # temp file / temp directory beside it
    kind: str          # "file" | "dir" | "prefix"
    identical_ok: bool = False
    placed: list[tuple[str, str | None]] = field(default_factory=list)  # (dest, backup) after rename


class Outputs:
    """Every output of one command, staged beside its destination and committed together at the end.

    Args:
        force: replace outputs that already exist (`--force`). Without it an existing output raises
            `OutputError` (exit 3) at `check`/`stage` time, before any work.

    Use as a context manager: `commit()` on normal exit, `discard()` on any exception (Ctrl-C included).
    A write error of the disk kind (ENOSPC, EDQUOT, EFBIG, EROFS), or a permission error on a staged temp,
    raised inside the block becomes an `OutputError` naming the destination.
    """

    def __init__(self, *, force: bool = False):
        self.force = force
        self._staged: list[_Staged] = []
        self._umask = current_umask()
        self.committed: list[str] = []

    # -- checks -------------------------------------------------------------------------------------
    def check(self, path: str, *, kind: str = "file", identical_ok: bool = False) -> None:
        """Raise `OutputError` unless `path` can be written: parent exists, is a directory, is writable,
        and `path` is absent (or `force`). `kind="prefix"` checks a checkpoint prefix's `PREFIX.*` files."""
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
        existing = self._existing(absolute, kind)
        if existing and kind == "file" and os.path.isdir(absolute):
            raise OutputError(f"{path}: cannot write: a directory of that name exists; choose a file name.")
        if existing and not self.force and not identical_ok:
            shown = existing[0] if len(existing) == 1 else f"{existing[0]} (and {len(existing) - 1} more)"
            raise OutputError(f"{shown}: already exists; pass --force to replace it, or choose another output path.")
        if any(s.dest == absolute for s in self._staged):
            raise OutputError(f"{path}: given twice as an output of this command; choose two different paths.")

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
        self.check(path, kind=kind, identical_ok=identical_ok)
        absolute = os.path.abspath(os.fspath(path))
        directory, name = os.path.split(absolute)
        clean_stale_temps(directory, name)
        temp = os.path.join(directory, _temp_name(name, suffix if kind == "file" else ""))
        if kind in ("dir", "prefix"):
            os.mkdir(temp, 0o777)
        elif kind != "file":
            raise ValueError(f"kind must be 'file', 'dir' or 'prefix', not {kind!r}")
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
        self.write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n", identical_ok=identical_ok)

    @property
    def paths(self) -> list[str]:
        return [s.dest for s in self._staged]

    # -- commit / discard ---------------------------------------------------------------------------
    def commit(self) -> list[str]:
        """fsync every staged file, rename all into place, fsync the directories. Returns the destinations.

        On a failure, destinations already renamed are put back as they were (replaced files restored,
        new files removed), every temp is removed, and `OutputError` is raised.
        """
        try:
            moves = self._prepare()
        except OSError as e:
            self.discard()
            raise self._as_output_error(e, self._staged[0].dest if self._staged else "") from None
        except OutputError:
            self.discard()
            raise
        done: list[tuple[str, str, str | None]] = []  # (temp, dest, backup)
        try:
            for temp, dest in moves:
                backup = None
                if os.path.lexists(dest):
                    # Keep the old one under a temp name to put back if a later rename fails. A file is
                    # hard-linked, so `dest` never disappears (the rename below replaces it atomically);
                    # a directory (or a filesystem without links) is moved aside.
                    backup = os.path.join(os.path.dirname(dest), _temp_name(os.path.basename(dest), ".old"))
                    try:
                        if os.path.isdir(dest) and not os.path.islink(dest):
                            raise OSError(errno.EISDIR, "a directory")
                        os.link(dest, backup)
                    except OSError:
                        os.rename(dest, backup)
                try:
                    os.rename(temp, dest)
                except BaseException:
                    if backup:
                        os.rename(backup, dest)
                    raise
                done.append((temp, dest, backup))
        except BaseException as e:
            for _temp, dest, backup in reversed(done):
                try:
                    if os.path.isdir(dest) and not os.path.islink(dest):
                        shutil.rmtree(dest, ignore_errors=True)
                    else:
                        os.unlink(dest)
                    if backup:
                        os.rename(backup, dest)
                except OSError:
                    pass
            self.discard()
            if isinstance(e, OSError):
                raise self._as_output_error(e, moves[len(done)][1] if len(done) < len(moves) else "") from None
            raise
        for _, _, backup in done:
            if backup:
                _remove(backup)
        for s in self._staged:
            if s.kind == "prefix":
                self._remove_old_shards(s, [d for _, d, _ in done])
                _remove(s.temp)
        for directory in sorted({os.path.dirname(d) for _, d, _ in done}):
            try:
                _fsync_path(directory)
            except OSError:
                pass
        self.committed = [d for _, d, _ in done]
        self._staged = []
        return list(self.committed)

    def _prepare(self) -> list[tuple[str, str]]:
        """Check the staged temps exist, fix their modes to the umask, fsync them; the (temp, dest) moves."""
        moves: list[tuple[str, str]] = []
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
                moves.append((s.temp, s.dest))
            elif s.kind == "dir":
                for root, dirs, files in os.walk(s.temp):
                    os.chmod(root, dir_mode)
                    for f in files:
                        os.chmod(os.path.join(root, f), file_mode)
                        _fsync_path(os.path.join(root, f))
                    for d in dirs:
                        _fsync_path(os.path.join(root, d))
                _fsync_path(s.temp)
                moves.append((s.temp, s.dest))
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
                    moves.append((src, dest))
        return moves

    def _remove_old_shards(self, s: _Staged, placed: list[str]) -> None:
        """After `--force` over a prefix: remove data shards of the replaced checkpoint that the new one lacks."""
        for old in glob.glob(glob.escape(s.dest) + ".data-*-of-*"):
            if old not in placed:
                _remove(old)

    def discard(self) -> None:
        """Remove every staged temp (files and directories); destinations are not touched."""
        for s in self._staged:
            _remove(s.temp)
        self._staged = []

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


# --------------------------------------------------------------------------------------------- one-file helpers

def atomic_write_bytes(path: str, data: bytes, *, force: bool = True) -> None:
    """Write one file atomically (staged temp, fsync, rename, fsync the directory). `force`: replace if present."""
    with Outputs(force=force) as out:
        out.write_bytes(path, data)


def atomic_write_text(path: str, text: str, *, force: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), force=force)


def atomic_write_json(path: str, obj: Any, *, force: bool = True) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"), force=force)
