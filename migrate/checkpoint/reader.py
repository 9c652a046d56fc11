"""Open a TF1 name-based checkpoint and read its tensors, with one clear message per unusable input.

`CKPT` may be a prefix (`model.ckpt-1000`), a directory (its `checkpoint` file names the latest prefix) or
one of the prefix's files (`.index`, `.meta`, `.data-00000-of-00001`). Reading goes through
`tf.train.load_checkpoint` (TensorFlow's own C++ reader); this module adds the checks it lacks at
open time: every data shard present, data files at least as long as the tensors the index promises, and each
tensor's declared shape x dtype equal to the bytes its index entry stores and inside its data file (a crafted
or corrupt index is an error naming the tensor, before anything is allocated). A tensor whose bytes do not
match the CRC32C its index holds is `corrupt_error`: exit 2 naming the data file and the tensor
(`migrate.checkpoint.stream.verify_tensors` checks any set of tensors without reading them into memory).
Both formats TF 2.x still reads are accepted: V2 bundles (`.index` + `.data-*`, TF >= 0.12's default) and
V1 checkpoints (`tf.train.Saver(write_version=V1)`, the default before TF 0.12: one table file named by the
prefix, or `PREFIX-NNNNN-of-NNNNN` shards; `Checkpoint.format` says which).
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from migrate.checkpoint.tables import REFUSED_DTYPES
from migrate.errors import InputError
from migrate.exit_codes import BAD_INPUT, MISMATCH
from migrate.files import CheckpointNotFound, checkpoint_format, find_meta, resolve_checkpoint, v1_files


class CheckpointError(InputError):
    """A checkpoint that cannot be used (exit code 2) or does not fit the model (exit code 1).

    A library error (`migrate.errors.MigrateError`), not the CLI's `CliError`; `migrate/cli.py` maps it.
    """

    def __init__(self, message: str, code: int = BAD_INPUT):
        super().__init__(message, code)


class MappingError(CheckpointError):
    """Missing / unexpected / shape-mismatched variables: exit code 1, nothing written."""

    def __init__(self, message: str):
        super().__init__(message, MISMATCH)


@dataclass(frozen=True)
class VariableInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        if self.dtype == "string":
            return 0
        return math.prod(int(d) for d in self.shape) * _itemsize(self.dtype)     # Python ints: no overflow

    def describe(self) -> str:
        return f"shape {list(self.shape)} {self.dtype} ({self.nbytes:,} bytes)"


def _itemsize(dtype: str) -> int:
    if dtype == "bfloat16":
        return 2
    return np.dtype(dtype).itemsize


_DATA_RE = re.compile(r"\.data-(\d{5})-of-(\d{5})$")


# dtypes whose bundle entry stores exactly shape x itemsize bytes (tensorflow/core/util/tensor_bundle: a
# tensor of a "simple" type is written as its raw buffer); strings, resources and variants are not.
_RAW_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                         "uint16", "uint32", "uint64", "bool", "complex64", "complex128"})


@dataclass(frozen=True)
class CorruptTensor:
    """A tensor whose bytes on disk do not match its checksum (or cannot be read): `verify_tensors`' answer."""
    name: str
    file: str          # the data file (V2 shard, V1 table file or .npz) that holds it
    why: str           # e.g. "does not match its checksum (CRC32C mismatch: the index holds 0x1234abcd, ...)"


def corrupt_error(prefix: str, corrupt: list[CorruptTensor]) -> CheckpointError:
    """The one message for damaged tensor bytes: the data file, the tensor(s), why, and the way out (exit 2)."""
    first = corrupt[0]
    more = f" (and {len(corrupt) - 1} more tensor(s): {', '.join(repr(c.name) for c in corrupt[1:4])}" \
           f"{' ...' if len(corrupt) > 4 else ''})" if len(corrupt) > 1 else ""
    return CheckpointError(f"{first.file}: the checkpoint {prefix} is corrupt: tensor {first.name!r} {first.why}"
                           f"{more}; its bytes changed after TensorFlow wrote them (a bad copy or disk). Use another "
                           f"copy of this checkpoint or an earlier checkpoint.")


def tensor_budget() -> int:
    """The most bytes one tensor may need to be read into memory: this machine's physical memory.

    A tensor's declared shape x dtype is checked against it (and against what its file can hold) before
    anything is allocated, so a crafted or corrupt header is an error naming the tensor, not a crash."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def resolve_prefix(path: str) -> str:
    """Turn a directory, prefix or prefix file into the checkpoint prefix (`migrate.files.resolve_checkpoint`)."""
    try:
        return resolve_checkpoint(path)
    except CheckpointNotFound as e:
        raise CheckpointError(str(e)) from None


@dataclass
class Checkpoint:
    """An opened checkpoint: variable metadata up front, tensors read on demand.

    Example:
    >>> ckpt = Checkpoint.open("../shared/fixtures/real_tf1_checkpoints/aplain_basiclstm_2017")
    >>> ckpt.variables["rnn/basic_lstm_cell/weights"].shape
    (160, 320)
    """

    prefix: str
    variables: dict[str, VariableInfo]
    data_files: list[str] = field(default_factory=list)
    _reader: object = None
    format: str = "V2"      # "V2" (.index + .data-*) or "V1" (table file(s) named by the prefix)

    is_bundle = True        # a TF V2 bundle (.index + .data-*); V1 checkpoints and TensorLayer's .npz files are not

    @classmethod
    def open(cls, path: str) -> Checkpoint:
        if cls is Checkpoint and os.fspath(path).endswith(".npz"):
            from migrate.checkpoint.tensorlayer import TensorLayerParams  # noqa: PLC0415

            return TensorLayerParams.open(path)
        prefix = resolve_prefix(path)
        import tensorflow as tf  # noqa: PLC0415

        from migrate.quiet import silence_after_import  # noqa: PLC0415

        silence_after_import()
        if checkpoint_format(prefix) == "V1":
            return cls._open_v1(prefix, tf)
        index = prefix + ".index"
        if os.path.getsize(index) == 0:
            raise CheckpointError(f"{index}: empty file; the checkpoint index is truncated. Restore it from a backup "
                                  f"or use an earlier checkpoint.")
        try:
            reader = tf.train.load_checkpoint(prefix)
            shapes = reader.get_variable_to_shape_map()
            dtypes = reader.get_variable_to_dtype_map()
        except Exception as e:  # tf.errors.* and the pybind reader's own errors
            raise CheckpointError(f"{index}: cannot read the checkpoint index ({_short(e)}); the file is truncated or "
                                  f"corrupt. Restore it from a backup or use an earlier checkpoint.") from None
        variables = {n: VariableInfo(n, tuple(int(d) for d in shapes[n]), dtypes[n].name) for n in sorted(shapes)}
        ckpt = cls(prefix=prefix, variables=variables, _reader=reader)
        from migrate.checkpoint.stream import bundle_entries  # noqa: PLC0415

        entries = bundle_entries(prefix) or {}
        ckpt._check_entries(entries)
        ckpt.data_files = ckpt._check_data_files(entries)
        return ckpt

    def _check_entries(self, entries: dict) -> None:
        """Each tensor's declared shape x dtype must be the bytes its index entry stores (else: crafted/corrupt)."""
        for name, v in self.variables.items():
            e = entries.get(name)
            if e is not None and v.dtype in _RAW_DTYPES and v.nbytes != e[2]:
                raise CheckpointError(
                    f"{self.prefix}.index: tensor {name!r} declares {v.describe()} but the index stores {e[2]:,} "
                    f"bytes for it: the index is corrupt or crafted; nothing was read. Use another copy of the "
                    f"checkpoint or an earlier one.")

    @classmethod
    def _open_v1(cls, prefix: str, tf) -> Checkpoint:
        """A V1 checkpoint through the same `tf.train.load_checkpoint` (its V1 table reader); tensors are
        read lazily, so a damaged tensor block is reported by `read` naming the file."""
        files = v1_files(prefix)
        try:
            reader = tf.train.load_checkpoint(prefix)
            shapes = reader.get_variable_to_shape_map()
            dtypes = reader.get_variable_to_dtype_map()
        except Exception as e:  # noqa: BLE001  (tf.errors.* and the pybind reader's own errors)
            raise CheckpointError(f"{prefix}: a V1 checkpoint TensorFlow cannot read ({_short(e)}); the file is "
                                  f"truncated or corrupt. Restore it from a backup or use an earlier "
                                  f"checkpoint.") from None
        shard = re.search(r"-(\d{5})-of-(\d{5})$", files[0]) if files else None
        if shard and len(files) != int(shard.group(2)):
            raise CheckpointError(f"{prefix}: {int(shard.group(2)) - len(files)} of {shard.group(2)} V1 checkpoint "
                                  f"shards missing; copy every {os.path.basename(prefix)}-NNNNN-of-{shard.group(2)} "
                                  f"file.")
        variables = {n: VariableInfo(n, tuple(int(d) for d in shapes[n]), dtypes[n].name) for n in sorted(shapes)}
        have = sum(os.path.getsize(f) for f in files)
        for v in variables.values():
            if v.nbytes > have:
                raise CheckpointError(f"{prefix}: tensor {v.name!r} declares {v.describe()} but the V1 checkpoint "
                                      f"file(s) hold {have:,} bytes: the checkpoint is corrupt or crafted; nothing was "
                                      f"read. Use another copy of the checkpoint or an earlier one.")
        ckpt = cls(prefix=prefix, variables=variables, data_files=files, _reader=reader, format="V1")
        ckpt.is_bundle = False      # RestoreV2 / the .index streamer do not apply: tensors go through `read`
        return ckpt

    def _check_data_files(self, entries: dict | None = None) -> list[str]:
        found = sorted(glob.glob(glob.escape(self.prefix) + ".data-*-of-*"))
        if not found:
            raise CheckpointError(f"{self.prefix}.data-00000-of-00001: missing; the index lists {len(self.variables)} "
                                  f"variables but no data file is beside it. Copy the .data-* file(s) too.")
        total = int(_DATA_RE.search(found[0]).group(2))
        expected = [f"{self.prefix}.data-{i:05d}-of-{total:05d}" for i in range(total)]
        missing = [f for f in expected if not os.path.exists(f)]
        if missing:
            raise CheckpointError(f"{missing[0]}: missing ({len(missing)} of {total} data shards absent); "
                                  f"copy every .data-*-of-{total:05d} file of the checkpoint.")
        sizes = [os.path.getsize(f) for f in expected]
        have = sum(sizes)
        need = sum(v.nbytes for v in self.variables.values())
        beyond = sorted((e[1] + e[2], n) for n, e in (entries or {}).items()
                        if e[0] < total and e[1] + e[2] > sizes[e[0]])
        if have < need or beyond:
            where = expected[-1] if total > 1 else expected[0]
            first = ""
            if beyond:
                name = beyond[0][1]
                shard, offset, size = entries[name][:3]
                where = expected[shard]
                first = (f"; the first tensor beyond its end is {name!r} ({self.variables[name].describe()}, bytes "
                         f"{offset:,}..{offset + size:,} of a {sizes[shard]:,}-byte file)" if name in self.variables
                         else "")
            raise CheckpointError(f"{where}: truncated: the data file(s) hold {have} bytes but the index describes "
                                  f"{need} bytes of tensors{first}. Copy the checkpoint again or use an earlier one.")
        return expected

    @property
    def index_path(self) -> str | None:
        """`PREFIX.index` for a V2 bundle; None for a V1 checkpoint (its tensors and index share one file)."""
        return self.prefix + ".index" if self.format == "V2" else None

    @property
    def meta_path(self) -> str | None:
        return find_meta(self.prefix)

    @property
    def directory(self) -> str:
        return os.path.dirname(os.path.abspath(self.prefix))

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.variables.values())

    def refuse_reduced_precision(self, names: list[str] | None = None) -> None:
        """Raise if any of `names` (default: all) is float16 / bfloat16; the message names the file and variables."""
        names = list(self.variables) if names is None else names
        bad = [n for n in names if self.variables[n].dtype in REFUSED_DTYPES]
        if bad:
            shown = ", ".join(f"{n} ({self.variables[n].dtype})" for n in bad[:5])
            raise CheckpointError(
                f"{self.index_path or self.prefix}: {len(bad)} variable(s) are stored in reduced precision: {shown}"
                f"{' ...' if len(bad) > 5 else ''}. The converter only reads float32/float64 weights; cast the "
                f"checkpoint to float32 first (load, tf.cast, save) and decide the mixed-precision policy in Keras.")

    def read(self, name: str) -> np.ndarray:
        """One tensor as a NumPy array; a data-file problem raises `CheckpointError` naming the file.

        A tensor larger than `tensor_budget()` is refused before anything is allocated; a CRC32C mismatch is
        `corrupt_error` (the data file and the tensor)."""
        if name not in self.variables:
            raise CheckpointError(f"{self.prefix}: no variable {name!r} in the checkpoint.")
        info = self.variables[name]
        budget = tensor_budget()
        if info.nbytes > budget:
            raise CheckpointError(f"{self.prefix}: tensor {name!r} ({info.describe()}) needs more than this machine's "
                                  f"memory ({budget:,} bytes); refused before reading it.")
        try:
            return np.asarray(self._reader.get_tensor(name))
        except Exception as e:
            if is_checksum_error(e):
                raise corrupt_error(self.prefix, [CorruptTensor(name, self.data_file_of(name), checksum_why(e))]) \
                    from None
            files = ", ".join(os.path.basename(f) for f in self.data_files)
            raise CheckpointError(f"{self.prefix} ({files}): cannot read {name!r} ({_short(e)}); the data file is "
                                  f"truncated or corrupt. Copy the checkpoint again or use an earlier one.") from None

    def data_file_of(self, name: str) -> str:
        """The data file that holds tensor `name` (its V2 shard from the index; the files themselves otherwise)."""
        if self.format == "V2" and len(self.data_files) > 1:
            from migrate.checkpoint.stream import bundle_entries  # noqa: PLC0415

            e = (bundle_entries(self.prefix) or {}).get(name)
            if e is not None and e[0] < len(self.data_files):
                return self.data_files[e[0]]
        return ", ".join(self.data_files) if self.data_files else self.prefix


def is_checksum_error(e: BaseException) -> bool:
    """TensorFlow's DataLoss for a tensor whose bytes fail their CRC32C (the bundle and V1 readers' wording)."""
    text = str(e)
    return "Checksum does not match" in text or "checksum mismatch" in text.lower() or \
        type(e).__name__ == "DataLossError" and "crc" in text.lower()


def checksum_why(e: BaseException) -> str:
    m = re.search(r"stored (\d+) vs\. calculated on the restored bytes (\d+)", str(e))
    if m:
        return (f"does not match its checksum (CRC32C mismatch: the index holds {int(m.group(1)):#010x}, the bytes "
                f"give {int(m.group(2)):#010x})")
    return f"does not match its checksum (CRC32C mismatch: {_short(e)})"


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]
