"""Open a TF1 name-based checkpoint and read its tensors, with one clear message per unusable input.

`CKPT` may be a prefix (`model.ckpt-1000`), a directory (its `checkpoint` file names the latest prefix) or
one of the prefix's files (`.index`, `.meta`, `.data-00000-of-00001`). Reading goes through
`tf.train.load_checkpoint` (TensorFlow's own C++ bundle reader); this module adds the checks it lacks at
open time: every data shard present, and data files at least as long as the tensors the index promises.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

import numpy as np

from migrate.checkpoint.tables import REFUSED_DTYPES
from migrate.exit_codes import BAD_INPUT, MISMATCH, CliError


class CheckpointError(CliError):
    """A checkpoint that cannot be used (exit code 2) or does not fit the model (exit code 1)."""

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
        return int(np.prod(self.shape, dtype=np.int64)) * _itemsize(self.dtype)


def _itemsize(dtype: str) -> int:
    if dtype == "bfloat16":
        return 2
    return np.dtype(dtype).itemsize


_DATA_RE = re.compile(r"\.data-(\d{5})-of-(\d{5})$")
_STATE_RE = re.compile(r'^\s*model_checkpoint_path:\s*"(.*)"\s*$', re.M)


def resolve_prefix(path: str) -> str:
    """Turn a directory, prefix or prefix file into the checkpoint prefix; raise `CheckpointError` if none."""
    path = os.fspath(path)
    if os.path.isdir(path):
        state = os.path.join(path, "checkpoint")
        if os.path.isfile(state):
            with open(state, encoding="utf-8", errors="replace") as f:
                m = _STATE_RE.search(f.read())
            if not m:
                raise CheckpointError(f"{state}: no `model_checkpoint_path:` line; expected the `checkpoint` "
                                      f"state file tf.train.Saver writes. Pass the prefix instead (e.g. DIR/model.ckpt-1000).")
            prefix = m.group(1)
            # Prefer the file of that name in THIS directory: Saver writes absolute paths, and a copied
            # directory's state file still points at the original location.
            local = os.path.join(path, os.path.basename(prefix))
            if os.path.exists(local + ".index"):
                return local
            if not os.path.isabs(prefix):
                prefix = os.path.join(path, prefix)
            if not os.path.exists(prefix + ".index"):
                raise CheckpointError(f"{state} names {prefix!r} as the latest checkpoint, but "
                                      f"{prefix}.index does not exist; copy the checkpoint files or pass another prefix.")
            return prefix
        indexes = sorted(glob.glob(os.path.join(glob.escape(path), "*.index")))
        if len(indexes) == 1:
            return indexes[0][: -len(".index")]
        if not indexes:
            raise CheckpointError(f"{path}: a directory with no `checkpoint` file and no *.index file; "
                                  f"expected a TF1 checkpoint directory or prefix.")
        raise CheckpointError(f"{path}: no `checkpoint` state file and {len(indexes)} checkpoints "
                              f"({', '.join(os.path.basename(i) for i in indexes[:4])}); pass one prefix.")
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    path = _DATA_RE.sub("", path)
    if not os.path.exists(path + ".index"):
        if os.path.isfile(path):
            raise CheckpointError(f"{path}: not a TF2-era bundle checkpoint (no {os.path.basename(path)}.index beside it); "
                                  f"expected a prefix such as model.ckpt-1000 with .index and .data-* files.")
        raise CheckpointError(f"{path}: no such checkpoint (neither a directory nor a prefix with a .index file).")
    return path


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

    @classmethod
    def open(cls, path: str) -> Checkpoint:
        prefix = resolve_prefix(path)
        index = prefix + ".index"
        import tensorflow as tf  # noqa: PLC0415

        from migrate.quiet import silence_after_import  # noqa: PLC0415

        silence_after_import()
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
        ckpt.data_files = ckpt._check_data_files()
        return ckpt

    def _check_data_files(self) -> list[str]:
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
        have = sum(os.path.getsize(f) for f in expected)
        need = sum(v.nbytes for v in self.variables.values())
        if have < need:
            raise CheckpointError(f"{expected[-1] if total > 1 else expected[0]}: truncated: the data file(s) hold "
                                  f"{have} bytes but the index describes {need} bytes of tensors. Copy the "
                                  f"checkpoint again or use an earlier one.")
        return expected

    @property
    def meta_path(self) -> str | None:
        p = self.prefix + ".meta"
        return p if os.path.isfile(p) else None

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
                f"{self.prefix}.index: {len(bad)} variable(s) are stored in reduced precision: {shown}"
                f"{' ...' if len(bad) > 5 else ''}. The converter only reads float32/float64 weights; cast the "
                f"checkpoint to float32 first (load, tf.cast, save) and decide the mixed-precision policy in Keras.")

    def read(self, name: str) -> np.ndarray:
        """One tensor as a NumPy array; a data-file problem raises `CheckpointError` naming the file."""
        if name not in self.variables:
            raise CheckpointError(f"{self.prefix}: no variable {name!r} in the checkpoint.")
        try:
            return np.asarray(self._reader.get_tensor(name))
        except Exception as e:
            files = ", ".join(os.path.basename(f) for f in self.data_files)
            raise CheckpointError(f"{self.prefix} ({files}): cannot read {name!r} ({_short(e)}); the data file is "
                                  f"truncated or corrupt. Copy the checkpoint again or use an earlier one.") from None


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]
