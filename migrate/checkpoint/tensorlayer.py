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

Bounded reading (an `.npz` is a zip: a small file can declare any shape, and a deflate "bomb" of a few MB can
expand to GBs): opening lists each plain member from its `.npy` header alone (`read_magic` +
`read_array_header_*`, a few hundred bytes decompressed), and refuses, before anything is allocated, a header
whose shape x dtype needs more bytes than the zip entry declares it holds (exit 2 naming the file, member, shape
and bytes). A member is read only when `read` asks for it: its size is checked against `reader.tensor_budget()`,
the array is allocated from the header's shape and filled by reading exactly that many bytes (decompression
stops there), and a member that holds more or fewer bytes than its header declares is refused. A pickled
`save_npz` member holds its shapes inside the pickle, so it is read at open, bounded by its declared size.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass

import numpy as np

from migrate.checkpoint.reader import Checkpoint, CheckpointError, VariableInfo, tensor_budget

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


@dataclass(frozen=True)
class _Member:
    """One `.npy` member as its header declares it (nothing of its data read)."""
    name: str
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    header: int            # bytes of the .npy magic + header
    declared: int          # the zip entry's uncompressed size

    @property
    def nbytes(self) -> int:
        return _prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        return f"shape {list(self.shape)} {self.dtype.name} ({self.nbytes:,} bytes)"


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _member_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> _Member:
    """The header of one `.npy` member, read alone (at most the header's own bytes are decompressed)."""
    with z.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        except ValueError as e:
            raise CheckpointError(f"{source}: member {info.filename} is not a NumPy .npy array ({e}).") from None
        member = _Member(info.filename, tuple(int(d) for d in shape), bool(fortran), dtype, f.tell(), info.file_size)
    if any(d < 0 for d in member.shape):
        raise CheckpointError(f"{source}: member {info.filename} declares a negative dimension {list(member.shape)}; "
                              f"the file is corrupt.")
    if not dtype.hasobject and member.header + member.nbytes > member.declared:
        raise CheckpointError(
            f"{source}: member {info.filename} declares {member.describe()}, but the zip entry holds "
            f"{max(member.declared - member.header, 0):,} bytes of data: the file is corrupt or crafted; nothing of "
            f"it was read. Re-save the parameters (tl.files.save_npz_dict or np.savez) from the model.")
    return member


def _refuse_over_budget(source: str, what: str, nbytes: int) -> None:
    budget = tensor_budget()
    if nbytes > budget:
        raise CheckpointError(f"{source}: {what} needs {nbytes:,} bytes, more than this machine's memory "
                              f"({budget:,} bytes); refused before reading it. A real parameter of that size needs "
                              f"a bigger machine; otherwise the file is corrupt or crafted.")


def _read_plain(z: zipfile.ZipFile, info: zipfile.ZipInfo, m: _Member, source: str) -> np.ndarray:
    """The array of a plain member: allocated from its header's shape, filled by reading exactly its bytes."""
    _refuse_over_budget(source, f"member {m.name} ({m.describe()})", m.nbytes)
    try:
        flat = np.empty(_prod(m.shape), dtype=m.dtype)
    except MemoryError:
        raise CheckpointError(f"{source}: member {m.name} ({m.describe()}) does not fit in memory.") from None
    view = memoryview(flat.view(np.uint8).reshape(-1))
    with z.open(info) as f:
        f.read(m.header)
        got = 0
        while got < m.nbytes:
            n = f.readinto(view[got: got + (16 << 20)])
            if not n:
                raise CheckpointError(f"{source}: member {m.name} ends after {got:,} of the {m.nbytes:,} bytes its "
                                      f"header declares; the file is truncated or corrupt.")
            got += n
        if f.read(1):                         # decompression stops here: one byte beyond is enough to know
            raise CheckpointError(f"{source}: member {m.name} holds more data than its header declares "
                                  f"({m.describe()}); the file is corrupt or crafted.")
    return flat.reshape(m.shape[::-1]).T if m.fortran else flat.reshape(m.shape)


def _read_pickled(z: zipfile.ZipFile, info: zipfile.ZipInfo, m: _Member, source: str) -> np.ndarray:
    """A pickled (object) member through `RestrictedUnpickler`, bounded by the entry's declared size."""
    _refuse_over_budget(source, f"member {m.name} (a pickle of {m.declared:,} bytes)", m.declared)
    with z.open(info) as f:
        f.read(m.header)
        try:
            value = RestrictedUnpickler(f, source=f"{source} ({m.name})").load()
        except UnsafePickleError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError):
            raise
        except Exception as e:  # a truncated or corrupt pickle
            raise CheckpointError(f"{source}: member {m.name} is a corrupt pickle ({type(e).__name__}: {e}).") from None
    if not isinstance(value, np.ndarray):
        raise CheckpointError(f"{source}: member {m.name} holds {type(value).__name__}, not an array.")
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

    Opening reads only the `.npy` headers of plain members (see the module doc); `read` reads one member.

    Example:
    >>> ckpt = open_checkpoint("model.npz")                              # doctest: +SKIP
    >>> ckpt.format, sorted(ckpt.variables)[:2]                          # doctest: +SKIP
    ('tl.files.save_npz_dict', ['dense1/W', 'dense1/b'])
    """

    format: str = ""
    original_names: dict[str, str] | None = None
    _arrays: dict[str, np.ndarray] | None = None        # the arrays of a pickled save_npz file (read at open)
    _members: dict[str, tuple[_Member, int | None]] | None = None   # name -> (member, item of a stacked array)
    _stacked: tuple[str, np.ndarray] | None = None      # the stacked save_npz array last read

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
            infos = [i for i in z.infolist() if i.filename.endswith(".npy")]
            if not infos:
                raise CheckpointError(f"{path}: an .npz with no .npy arrays; nothing to read.")
            try:
                headers = {i.filename[: -len(".npy")]: _member_header(z, i, path) for i in infos}
                pickled = {key: _read_pickled(z, z.getinfo(m.name), m, path)
                           for key, m in headers.items() if m.dtype.hasobject}
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
                raise CheckpointError(f"{path}: truncated or corrupt .npz ({e}).") from None
        members: dict[str, tuple[_Member, int | None]] = {}
        arrays: dict[str, np.ndarray] = {}
        if list(headers) == [SAVE_NPZ_KEY]:
            fmt = "tl.files.save_npz"
            m = headers[SAVE_NPZ_KEY]
            if m.dtype.hasobject:
                arrays = {f"params/{i:03d}": a for i, a in enumerate(_flatten_params(pickled[SAVE_NPZ_KEY], path))}
                shapes = {n: (tuple(int(d) for d in a.shape), a.dtype.name) for n, a in arrays.items()}
            elif m.shape:                     # equal shapes, stacked into one plain array by np.savez
                members = {f"params/{i:03d}": (m, i) for i in range(m.shape[0])}
                shapes = {n: (m.shape[1:], m.dtype.name) for n in members}
            else:
                members = {"params/000": (m, None)}
                shapes = {"params/000": (m.shape, m.dtype.name)}
            original = {n: f"params[{i}]" for i, n in enumerate(shapes)}
        else:
            fmt = "tl.files.save_npz_dict"
            shapes, original = {}, {}
            for key, m in headers.items():
                if m.dtype.hasobject:
                    raise CheckpointError(f"{path}: member {key} holds Python objects, not a numeric array.")
                name = tensor_name_to_variable(key)
                if name in shapes:
                    raise CheckpointError(f"{path}: {key} and {original[name]} both name variable {name}.")
                members[name], shapes[name], original[name] = (m, None), (m.shape, m.dtype.name), key
        variables = {n: VariableInfo(n, shape, dtype) for n, (shape, dtype) in sorted(shapes.items())}
        return cls(prefix=path, variables=variables, data_files=[path], format=fmt, original_names=original,
                   _arrays=arrays, _members=members)

    @property
    def meta_path(self) -> str | None:
        return None

    def read(self, name: str) -> np.ndarray:
        if name not in self.variables:
            raise CheckpointError(f"{self.prefix}: no parameter {name!r} in the file.")
        if name in self._arrays:
            return np.array(self._arrays[name])
        member, item = self._members[name]
        cached = self._stacked if self._stacked and self._stacked[0] == member.name else None
        if cached is not None:
            value = cached[1]
        else:
            try:
                with zipfile.ZipFile(self.prefix) as z:
                    value = _read_plain(z, z.getinfo(member.name), member, self.prefix)
            except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
                raise CheckpointError(f"{self.prefix}: cannot read member {member.name} for {name!r} ({e}); the file "
                                      f"is truncated or corrupt (or changed since it was opened).") from None
            if item is not None:              # save_npz's stacked array: its items are read one after another
                self._stacked = (member.name, value)
        return np.array(value[item]) if item is not None else value
