"""TensorLayer 1.x parameter files (`.npz`) read like a TF1 checkpoint: names, shapes, dtypes, `read`.

TensorLayer 1.x (tensorlayer/files/utils.py, 1.11) writes two formats:

| writer                                        | file                                          | names               |
|-----------------------------------------------|-----------------------------------------------|---------------------|
| `tl.files.save_npz_dict(net.all_params, ...)` | `np.savez(name, **{tensor.name: value})`:     | the tensors' names, |
|                                               | one `.npy` per parameter, plain arrays        | e.g. `dense1/W:0`   |
| `tl.files.save_npz(net.all_params, ...)`      | `np.savez(name, params=[values])`: ONE member | none: the order of  |
|                                               | `params.npy`; a pickled object array when the | `net.all_params`    |
|                                               | shapes differ, a stacked array when equal     | (`params/000`, ...) |

A pickled member is read by `RestrictedUnpickler`, which admits only the callables NumPy's array pickles
use (`numpy.core.multiarray._reconstruct` / `numpy._core.multiarray._reconstruct`, `numpy.ndarray`,
`numpy.dtype`) and refuses anything else before it is called. `np.load(allow_pickle=True)` is never used:
a pickle can run any code while it loads.

Names: a trailing `:0` (TensorFlow's output index) is dropped, so `encoder/rnn/lstm_cell/kernel:0` reads
as the checkpoint variable `encoder/rnn/lstm_cell/kernel` and the checkpoint recognisers, `inspect` and
`apply_mapping` work unchanged.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from dataclasses import dataclass

import numpy as np

from migrate.checkpoint.reader import Checkpoint, CheckpointError, VariableInfo

SAVE_NPZ_KEY = "params"          # np.savez(name, params=save_list_var) in tl.files.save_npz
REFUSED_DTYPES_TL = ("float16",)


def _allowed_callables() -> dict[tuple[str, str], object]:
    try:
        from numpy._core.multiarray import _reconstruct  # noqa: PLC0415  (NumPy >= 2)
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct  # noqa: PLC0415
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,     # files written by NumPy 1.x
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,    # files written by NumPy 2.x
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class UnsafePickleError(CheckpointError):
    """A pickled member names something other than NumPy's array reconstruction (exit code 2)."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays (and object arrays of arrays) only; any other global is refused unloaded."""

    def __init__(self, file, *, source: str):
        super().__init__(file, encoding="latin1")   # Python 2 era pickles of arrays need latin1 (as np.load)
        self.source = source
        self._allowed = _allowed_callables()

    def find_class(self, module: str, name: str):
        found = self._allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"{self.source}: the pickled parameters reference {module}.{name}, which is not NumPy array data; "
                f"refused without loading it (a pickle can run code). Only numpy arrays are read from "
                f"tl.files.save_npz files. If the file is yours, re-save it with tl.files.save_npz_dict or "
                f"np.savez(name, **arrays).")
        return found

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.source}: the pickled parameters use persistent ids; refused.")


def _read_npy_member(z: zipfile.ZipFile, member: str, source: str) -> np.ndarray:
    """One `.npy` member; a pickled (object) one through `RestrictedUnpickler`."""
    with z.open(member) as f:
        data = f.read()
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except ValueError as e:
        raise CheckpointError(f"{source}: member {member} is not a NumPy .npy array ({e}).") from None
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    try:
        value = RestrictedUnpickler(fp, source=f"{source} ({member})").load()
    except UnsafePickleError:
        raise
    except Exception as e:  # a truncated or corrupt pickle
        raise CheckpointError(f"{source}: member {member} is a corrupt pickle ({type(e).__name__}: {e}).") from None
    if not isinstance(value, np.ndarray):
        raise CheckpointError(f"{source}: member {member} holds {type(value).__name__}, not an array.")
    return value


def _flatten_params(value: np.ndarray, source: str) -> list[np.ndarray]:
    """`save_npz`'s `params`: an object array of arrays, or (all shapes equal) one stacked array."""
    if value.dtype.hasobject:
        out = []
        for i, item in enumerate(value.reshape(-1)):
            if not isinstance(item, np.ndarray) or item.dtype.hasobject:
                raise CheckpointError(f"{source}: params[{i}] is {type(item).__name__}, not a numeric array.")
            out.append(item)
        return out
    return [np.asarray(value[i]) for i in range(value.shape[0])] if value.ndim else [value]


def tensor_name_to_variable(name: str) -> str:
    """`dense1/W:0` -> `dense1/W` (a checkpoint variable's name); other names unchanged."""
    return name[:-2] if name.endswith(":0") else name


def is_tensorlayer_file(path: str) -> bool:
    return str(path).endswith(".npz") and os.path.isfile(path)


@dataclass
class TensorLayerParams(Checkpoint):
    """A TensorLayer 1.x `.npz` read through the `Checkpoint` interface (`variables`, `read`, `prefix`).

    Example:
    >>> ckpt = open_checkpoint("model.npz")                              # doctest: +SKIP
    >>> ckpt.format, sorted(ckpt.variables)[:2]                          # doctest: +SKIP
    ('tl.files.save_npz_dict', ['dense1/W', 'dense1/b'])
    """

    format: str = ""
    original_names: dict[str, str] | None = None
    _arrays: dict[str, np.ndarray] | None = None

    is_bundle = False      # no .index/.data files: TensorFlow's bundle reader and RestoreV2 do not apply

    @classmethod
    def open(cls, path: str) -> TensorLayerParams:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise CheckpointError(f"{path}: no such file; expected a TensorLayer .npz parameter file.")
        try:
            z = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as e:
            raise CheckpointError(f"{path}: not a readable .npz (zip) file ({e}); expected a file written by "
                                  f"tl.files.save_npz / save_npz_dict or np.savez.") from None
        with z:
            members = [m for m in z.namelist() if m.endswith(".npy")]
            if not members:
                raise CheckpointError(f"{path}: an .npz with no .npy arrays; nothing to read.")
            try:
                raw = {m[: -len(".npy")]: _read_npy_member(z, m, path) for m in members}
            except (zipfile.BadZipFile, EOFError, OSError) as e:
                raise CheckpointError(f"{path}: truncated or corrupt .npz ({e}).") from None
        if list(raw) == [SAVE_NPZ_KEY]:
            fmt = "tl.files.save_npz"
            arrays = {f"params/{i:03d}": a for i, a in enumerate(_flatten_params(raw[SAVE_NPZ_KEY], path))}
            original = {n: f"params[{i}]" for i, n in enumerate(arrays)}
        else:
            fmt = "tl.files.save_npz_dict"
            arrays, original = {}, {}
            for key, a in raw.items():
                if a.dtype.hasobject:
                    raise CheckpointError(f"{path}: member {key} holds Python objects, not a numeric array.")
                name = tensor_name_to_variable(key)
                if name in arrays:
                    raise CheckpointError(f"{path}: {key} and {original[name]} both name variable {name}.")
                arrays[name], original[name] = a, key
        variables = {n: VariableInfo(n, tuple(int(d) for d in a.shape), a.dtype.name) for n, a in sorted(arrays.items())}
        return cls(prefix=path, variables=variables, data_files=[path], format=fmt, original_names=original,
                   _arrays=arrays)

    @property
    def meta_path(self) -> str | None:
        return None

    def read(self, name: str) -> np.ndarray:
        if name not in self.variables:
            raise CheckpointError(f"{self.prefix}: no parameter {name!r} in the file.")
        return np.array(self._arrays[name])
