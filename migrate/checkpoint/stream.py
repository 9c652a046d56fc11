"""Stream a converted checkpoint into `.weights.h5` / `.keras` files without holding the model's weights.

Keras's own writers need every weight in a variable first and then copy it again while saving (the
converter then holds the checkpoint twice and writes it after reading it). This module writes the same
files tensor by tensor:

1. `h5_skeleton` runs Keras's own traversal (`saving_lib._save_state`, via `migrate._internals`) on the built, *uninitialised*
   model with a `H5IOStore` whose `__setitem__` creates an empty dataset of the variable's shape and
   dtype instead of writing a value. The groups, attributes and dataset names are therefore exactly
   what `model.save_weights` writes (`layers/<name>/cell/vars/0`, ...); nothing is typed by hand. The
   datasets are contiguous with their file space allocated at creation (`H5D_ALLOC_TIME_EARLY`, no fill),
   so each has a fixed byte offset once the skeleton file is closed.
2. `stream_bindings` fills those byte ranges with `os.pwrite`. A tensor whose Keras value is its
   checkpoint bytes unchanged (an `identity` binding of float32 -> float32: the embeddings, the output
   projection) is copied file to file in the kernel (`os.copy_file_range`) by a second thread, while
   the main thread reads the same tensor through TensorFlow's reader, whose CRC32C check still guards
   against a corrupt data file (the conversion fails and nothing is renamed into place). Tensors that
   need a layout transform (LSTM / GRU kernels) are read, transformed and written one at a time.
3. `write_keras_zip` turns the file into a `.keras` archive in place: the h5 data sits after a
   userblock that holds the zip's local headers (`metadata.json`, `config.json` from Keras's own
   `_serialize_model_as_json`, and the weights member's header padded to end exactly at the
   userblock), and the central directory is appended at the end. Members are ZIP_STORED as Keras
   writes them; the weights member's CRC-32 is combined from per-tensor CRCs computed while streaming.

The byte ranges come from the checkpoint's own `.index` (a TF table of `BundleEntryProto`s, parsed by
`bundle_entries`); anything unusual there (compression, slices, other dtypes) just disables the raw copy.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib

import numpy as np


# Optional accelerators, used when importable (neither is a dependency): with a hardware CRC32C the raw
# copies are verified against the checksums in the checkpoint's index straight from the page cache
# (0.2 s for 1.8 GB) instead of by reading each tensor again through TensorFlow (1.4-2.8 s); ISA-L's
# zlib-compatible crc32 makes the `.keras` member CRC 6x cheaper than zlib's (0.08 s vs 0.44 s).
def _hardware_crc32c():
    """(crc32c(buffer, crc) -> crc, package name) from `crc32c` (releases the GIL) or `google-crc32c`."""
    try:
        import crc32c  # noqa: PLC0415

        if getattr(crc32c, "hardware_based", False):
            return (lambda view, crc: crc32c.crc32c(view, crc)), "crc32c"
    except ImportError:
        pass
    try:
        import google_crc32c  # noqa: PLC0415

        if google_crc32c.implementation == "c":
            return (lambda view, crc: google_crc32c.extend(crc, np.frombuffer(view, np.uint8))), "google-crc32c"
    except ImportError:
        pass
    return None, None


_crc32c, _CRC32C_PACKAGE = _hardware_crc32c()
try:
    from isal import isal_zlib as _zlib
except ImportError:
    _zlib = zlib


def raw_verify() -> str:
    """How the raw copies are verified in this process (the report's `output.writer` says it)."""
    return f"CRC32C of the index ({_CRC32C_PACKAGE or 'a CRC32C function'})" if _crc32c else \
        "TensorFlow's reader (its CRC32C check)"


_WINDOW = 16 << 20         # bytes mapped at a time while checksumming (fits the L3 cache; keeps RSS low)

# tensorflow/core/lib/io/format.h: a table ends in a 48-byte footer (two varint BlockHandles padded to
# 40 bytes + this magic); every block is followed by 1 byte of compression type + 4 bytes of CRC.
_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
_BLOCK_TRAILER = 5
_DT_FLOAT = 1   # tensorflow/core/framework/types.proto
_COPY_CHUNK = 64 << 20


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _block(data: bytes, handle: bytes, pos: int = 0) -> tuple[bytes, int]:
    """The block a varint BlockHandle at `handle[pos:]` points to in `data`, and the position after it."""
    offset, pos = _varint(handle, pos)
    size, pos = _varint(handle, pos)
    if data[offset + size] != 0:          # compressed block: TF's BundleWriter never writes one
        raise ValueError("compressed table block")
    return data[offset: offset + size], pos


def _entries(block: bytes):
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit, pos, key = len(block) - 4 * (restarts + 1), 0, b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos: pos + unshared]
        pos += unshared
        yield key, block[pos: pos + vlen]
        pos += vlen


def bundle_entries(prefix: str) -> dict[str, tuple[int, int, int, int, int]] | None:
    """name -> (shard, offset, size, dtype enum, masked crc32c) per whole tensor in `prefix.index`; None if unreadable."""
    from tensorflow.core.protobuf import tensor_bundle_pb2  # noqa: PLC0415

    try:
        with open(prefix + ".index", "rb") as f:
            data = f.read()
        footer = data[-_FOOTER_LEN:]
        if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
            return None
        _meta, pos = _block(data, footer, 0)
        index_block, _ = _block(data, footer, pos)
        out = {}
        for _key, handle in _entries(index_block):
            block, _ = _block(data, handle)
            for key, value in _entries(block):
                if not key:
                    continue                                   # the BundleHeaderProto
                e = tensor_bundle_pb2.BundleEntryProto.FromString(value)
                if not e.slices:
                    out[key.decode("utf-8")] = (e.shard_id, e.offset, e.size, e.dtype, e.crc32c)
        return out
    except (OSError, ValueError, IndexError, struct.error):
        return None


# -- the h5 skeleton ---------------------------------------------------------------------------------
def _skeleton_store_class():
    import h5py  # noqa: PLC0415

    from migrate import _internals  # noqa: PLC0415

    H5IOStore = _internals.h5_store_base()  # noqa: N806
    if H5IOStore is None:
        raise ValueError("the streamed writer needs Keras's H5IOStore (private API unavailable)")

    class SkeletonStore(H5IOStore):
        """A write-mode `H5IOStore` that records which variable goes where instead of writing values."""

        def __init__(self, path: str, userblock_size: int = 0):
            import pathlib  # noqa: PLC0415

            self.path_or_io, self.mode, self.archive, self.io_file = pathlib.Path(path), "w", None, None
            self.h5_file = h5py.File(path, "w", userblock_size=userblock_size or None)
            self._h5_entry_path, self._h5_entry_group = None, {}
            self._h5_entry_metadata, self._h5_entry_initialized = None, False
            self.slots: list[tuple[object, object]] = []        # (value given by Keras, h5py dataset)

        def __setitem__(self, key, value):
            if not self._h5_entry_initialized:
                self._create_h5_group(self._h5_entry_path)
            dtype = _internals.standardize_dtype(value.dtype)
            if dtype == "bfloat16":
                raise ValueError("bfloat16 weights are written by Keras's own writer")
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
            ds = self._h5_entry_group.create_dataset(key, shape=tuple(int(d) for d in value.shape), dtype=dtype,
                                                     dcpl=dcpl, fill_time="never")
            self.slots.append((value, ds))

    return SkeletonStore


def h5_skeleton(model, path: str, userblock_size: int = 0) -> list[tuple[object, int, int]]:
    """Write `model`'s `.weights.h5` layout with empty datasets; returns (variable, byte offset, nbytes).

    The offsets are absolute file offsets (the userblock included). Raises `ValueError` when Keras hands
    the store something that is not one of the model's variables (a LoRA-merged or quantised weight):
    then only Keras's own writer can produce the file.
    """
    from migrate import _internals  # noqa: PLC0415

    store = _skeleton_store_class()(path, userblock_size)
    try:
        _internals.save_state(model, store)
        by_id = {id(w): w for w in model.weights}
        out = []
        for value, ds in store.slots:
            if id(value) not in by_id:
                raise ValueError(f"{ds.name}: Keras saves a computed value, not a variable")
            nbytes = int(np.prod(ds.shape, dtype=np.int64)) * ds.dtype.itemsize
            if not nbytes:
                continue
            offset = ds.id.get_offset()       # absolute (userblock included); HADDR_UNDEF + userblock when
            if offset is None or offset < userblock_size:   # HDF5 deferred a scalar's space anyway:
                ds[...] = np.zeros(ds.shape, ds.dtype)        # writing once allocates it
                offset = ds.id.get_offset()
            out.append((by_id[id(value)], offset, nbytes))
    finally:
        store.h5_file.close()
    size, end = os.path.getsize(path), userblock_size
    for _w, offset, nbytes in sorted(out, key=lambda x: x[1]):
        if offset is None or offset < end or offset + nbytes > size:
            raise ValueError(f"{path}: dataset byte ranges overlap or lie outside the file")
        end = offset + nbytes
    return out


# -- streaming the values ----------------------------------------------------------------------------
def _pwrite_all(fd: int, buf, offset: int) -> None:
    view = memoryview(buf).cast("B")
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _copy_range(src: str, src_offset: int, dst_fd: int, dst_offset: int, size: int) -> None:
    """Copy `size` bytes file to file in the kernel (`copy_file_range`), or through a bounded buffer."""
    with open(src, "rb", buffering=0) as f:
        fd = f.fileno()
        while size:
            try:
                n = os.copy_file_range(fd, dst_fd, min(size, 1 << 30), src_offset, dst_offset)
            except OSError:                       # EXDEV / ENOSYS / EINVAL: another file system or kernel
                n = 0
            if n <= 0:
                chunk = os.pread(fd, min(size, _COPY_CHUNK), src_offset)
                if not chunk:
                    raise OSError(f"{src}: ended {size} bytes early")
                _pwrite_all(dst_fd, chunk, dst_offset)
                n = len(chunk)
            src_offset, dst_offset, size = src_offset + n, dst_offset + n, size - n


def _raw_source(binding, ckpt, entries) -> tuple[str, int, int] | None:
    """(data file, offset, masked crc32c) when the Keras value of `binding` is exactly the checkpoint's bytes."""
    if entries is None or binding.transform != "identity":
        return None
    name, w = binding.tf1_names[0], binding.keras_weights[0]
    e = entries.get(name)
    info = ckpt.variables[name]
    if (e is None or e[3] != _DT_FLOAT or str(w.dtype) != "float32" or e[2] != info.nbytes
            or int(np.prod(w.shape, dtype=np.int64)) != int(np.prod(info.shape, dtype=np.int64))):
        return None
    shard = [f for f in ckpt.data_files if f.endswith(f".data-{e[0]:05d}-of-{len(ckpt.data_files):05d}")]
    return (shard[0], e[1], e[4]) if len(shard) == 1 else None


def stream_bindings(path: str, layout, bindings, ckpt, *, unbound_values, crcs: bool = False,
                    bar=None, raw: bool = True) -> dict[int, int]:
    """Fill the skeleton at `path`: every bound variable from the checkpoint, the rest from `unbound_values`.

    `layout` is `h5_skeleton`'s list; `unbound_values(variable)` returns the array of a variable no binding
    feeds. Returns {offset: crc32 of its bytes} when `crcs` (for the `.keras` archive), else {}.
    """
    where = {id(w): (offset, nbytes) for w, offset, nbytes in layout}
    entries = ckpt_entries(ckpt) if raw else None
    copies, reads = [], []
    for b in bindings:
        src = _raw_source(b, ckpt, entries)
        (copies if src else reads).append((b, src))
    by_size = lambda job: -sum(ckpt.variables[n].nbytes for n in job[0].tf1_names)  # noqa: E731
    copies.sort(key=by_size)
    reads.sort(key=by_size)
    crc_of: dict[int, int] = {}
    failure: list[BaseException] = []
    stop = threading.Event()           # the main thread failed: the helpers stop after their current tensor
    fd = os.open(path, os.O_WRONLY)
    try:
        def copier():
            try:
                for b, (src, src_offset, _crc) in copies:
                    if stop.is_set():
                        return
                    offset, nbytes = where[id(b.keras_weights[0])]
                    _copy_range(src, src_offset, fd, offset, nbytes)
                    if bar is not None:
                        bar.update(nbytes // 2)
            except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
                failure.append(e)

        def summer():       # checksums of the copied bytes, from the checkpoint's pages, in small windows
            try:
                for b, (src, src_offset, masked) in copies:
                    if stop.is_set():
                        return
                    offset, nbytes = where[id(b.keras_weights[0])]
                    zip_crc, castagnoli = _range_checksums(src, src_offset, nbytes, zip_crc=crcs,
                                                           crc32c=_crc32c is not None)
                    if crcs:
                        crc_of[offset] = zip_crc
                    if _crc32c is not None:
                        if _mask(castagnoli) != masked:
                            raise _corrupt(ckpt, b.tf1_names[0], _mismatch(masked, castagnoli))
                        if bar is not None:
                            bar.update(nbytes - nbytes // 2)
            except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
                failure.append(e)

        threads = [threading.Thread(target=copier, name="tf-migrate-copy", daemon=True)]
        if crcs or _crc32c is not None:
            threads.append(threading.Thread(target=summer, name="tf-migrate-checksum", daemon=True))
        for t in threads:
            t.start()
        try:
            # The same tensors through TensorFlow's reader: its CRC32C check fails on a corrupt data file.
            for b, _src in (copies if _crc32c is None else []):
                value = ckpt.read(b.tf1_names[0])
                offset, nbytes = where[id(b.keras_weights[0])]
                del value
                if bar is not None:
                    bar.update(nbytes - nbytes // 2)
                if failure:
                    break
            for b, _src in reads:
                if failure:
                    break
                arrays = [ckpt.read(n) for n in b.tf1_names]
                values = b.to_keras(arrays)
                del arrays
                for w, value in zip(b.keras_weights, values):
                    _write_value(fd, where.get(id(w)), np.asarray(value, dtype=str(w.dtype)), crc_of if crcs else None)
                del values
                if bar is not None:
                    bar.update(sum(ckpt.variables[n].nbytes for n in b.tf1_names))
            bound = {id(w) for b in bindings for w in b.keras_weights}
            for w, offset, nbytes in layout:
                if id(w) not in bound:
                    _write_value(fd, (offset, nbytes), np.asarray(unbound_values(w), dtype=str(w.dtype)),
                                 crc_of if crcs else None)
        except BaseException:
            stop.set()
            raise
        finally:
            for t in threads:
                t.join()
        if failure:
            raise failure[0]
    finally:
        os.close(fd)
    return crc_of


def _mask(crc: int) -> int:
    """TF's masked CRC32C (tensorflow/core/lib/hash/crc32c.h `Mask`), as stored in a BundleEntryProto."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _corrupt(ckpt, name: str, why: str):
    from migrate.checkpoint.reader import CorruptTensor, corrupt_error  # noqa: PLC0415

    return corrupt_error(ckpt.prefix, [CorruptTensor(name, ckpt.data_file_of(name), why)])


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def _mismatch(masked: int, actual: int) -> str:
    """The reason of a CRC32C mismatch, in TensorFlow's terms (the unmasked checksums, as its DataLoss says)."""
    return (f"does not match its checksum (CRC32C mismatch: the index holds {_unmask(masked):#010x}, the bytes "
            f"give {actual:#010x})")


def verify_tensors(checkpoint, names=None) -> list:
    """The tensors among `names` (default: all) whose bytes on disk do not match their checksum: a list of
    `migrate.checkpoint.reader.CorruptTensor` (name, data file, why), empty when every one is intact.

    `checkpoint` is an opened `Checkpoint` or anything `Checkpoint.open` takes (a prefix, a directory, ...).
    A V2 bundle's tensors are checked against the CRC32C in its `.index` straight from the data file through
    small read-only maps (nothing is allocated per tensor) when a hardware CRC32C is importable (`crc32c` or
    `google-crc32c`, see `raw_verify`); otherwise, and for V1 checkpoints and `.npz` files, each tensor is read
    once through its reader, which checks its checksum. Raise the answer with `reader.corrupt_error(prefix, bad)`.

    >>> bad = verify_tensors("runs/model.ckpt-1000", ["embedding", "rnn/lstm_cell/kernel"])   # doctest: +SKIP
    >>> if bad: raise corrupt_error("runs/model.ckpt-1000", bad)                              # doctest: +SKIP
    """
    from migrate.checkpoint.reader import Checkpoint, CheckpointError, CorruptTensor  # noqa: PLC0415

    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.open(checkpoint)
    names = list(ckpt.variables) if names is None else [n for n in names if n in ckpt.variables]
    entries = ckpt_entries(ckpt) if getattr(ckpt, "format", "V2") == "V2" else None
    bad = []
    for name in names:
        e = entries.get(name) if entries else None
        if e is not None and _crc32c is not None and e[0] < len(ckpt.data_files):
            path = ckpt.data_files[e[0]]
            if e[1] + e[2] > os.path.getsize(path):
                bad.append(CorruptTensor(name, path, "lies beyond the end of the data file (truncated)"))
                continue
            crc = _range_checksums(path, e[1], e[2], zip_crc=False, crc32c=True)[1]
            if _mask(crc) != e[4]:
                bad.append(CorruptTensor(name, path, _mismatch(e[4], crc)))
            continue
        try:
            ckpt.read(name)
        except CheckpointError as err:
            text = str(err)
            why = text.split(f"tensor {name!r} ", 1)[1].split(";", 1)[0] if f"tensor {name!r} " in text else text
            bad.append(CorruptTensor(name, ckpt.data_file_of(name), why))
    return bad


def _range_checksums(path: str, offset: int, size: int, *, zip_crc: bool, crc32c: bool,
                     window: int = _WINDOW) -> tuple[int, int]:
    """(zlib CRC-32, CRC32C) of `size` bytes of `path` at `offset`, through small read-only maps (no copy)."""
    import mmap  # noqa: PLC0415

    z = c = 0
    with open(path, "rb", buffering=0) as f:
        while size:
            start = offset - offset % mmap.ALLOCATIONGRANULARITY
            length = min(window, offset + size - start)
            with mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=start) as m:
                view = memoryview(m)[offset - start:]
                if zip_crc:
                    z = _zlib.crc32(view, z)
                if crc32c:
                    c = _crc32c(view, c)
                view.release()
            size -= length - (offset - start)
            offset = start + length
    return z, c


def _file_range_crc32(path: str, offset: int, size: int, window: int = _WINDOW) -> int:
    """zlib CRC-32 of `size` bytes of `path` at `offset`."""
    return _range_checksums(path, offset, size, zip_crc=True, crc32c=False, window=window)[0]


def _write_value(fd: int, where: tuple[int, int] | None, value: np.ndarray, crc_of: dict | None) -> None:
    data = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
    if where is None and not data.nbytes:
        return                                            # an empty weight has no dataset bytes
    offset, nbytes = where
    if data.nbytes != nbytes:
        raise ValueError(f"value of {data.nbytes} bytes for a dataset of {nbytes}")
    _pwrite_all(fd, data, offset)
    if crc_of is not None:
        crc_of[offset] = _zlib.crc32(data)


def ckpt_entries(ckpt):
    return bundle_entries(ckpt.prefix) if getattr(ckpt, "is_bundle", True) else None


# -- the .keras archive ------------------------------------------------------------------------------
def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from crc(A), crc(B) and len(B) (zlib's crc32_combine, GF(2) matrix powers)."""
    def times(mat, vec):
        s, i = 0, 0
        while vec:
            if vec & 1:
                s ^= mat[i]
            vec >>= 1
            i += 1
        return s

    def square(mat):
        return [times(mat, mat[n]) for n in range(32)]

    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]     # the operator for one zero bit
    even = square(odd)                                   # two zero bits
    odd = square(even)                                   # four zero bits
    while True:
        even = square(odd)
        if len2 & 1:
            crc1 = times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = square(even)
        if len2 & 1:
            crc1 = times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def file_crc32(path: str, start: int, end: int, known: dict[int, tuple[int, int]]) -> int:
    """CRC-32 of bytes [start, end) of `path`; `known` maps offset -> (nbytes, crc) of ranges not re-read."""
    crc, pos = 0, start
    with open(path, "rb", buffering=0) as f:
        for offset in sorted(o for o in known if start <= o < end):
            nbytes, part = known[offset]
            while pos < offset:
                chunk = os.pread(f.fileno(), min(offset - pos, _COPY_CHUNK), pos)
                crc = _zlib.crc32(chunk, crc)
                pos += len(chunk)
            crc = crc32_combine(crc, part, nbytes)
            pos = offset + nbytes
        while pos < end:
            chunk = os.pread(f.fileno(), min(end - pos, _COPY_CHUNK), pos)
            if not chunk:
                raise OSError(f"{path}: shorter than expected")
            crc = _zlib.crc32(chunk, crc)
            pos += len(chunk)
    return crc


_WEIGHTS_MEMBER = "model.weights.h5"
_ZIP_VERSION = 20          # 2.0: what zipfile writes for stored members without zip64
_DOS_DATE_TIME = (0, 0x21)  # 1980-01-01 00:00 (no timestamp: the output is reproducible)
_PAD_EXTRA_ID = 0xD935     # an alignment-padding extra field (Android's zipalign uses the same id)


def _local_header(name: bytes, crc: int, size: int, extra: bytes = b"") -> bytes:
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, _ZIP_VERSION, 0, 0, _DOS_DATE_TIME[0], _DOS_DATE_TIME[1], crc,
                       size, size, len(name), len(extra)) + name + extra


def _central_header(name: bytes, crc: int, size: int, offset: int) -> bytes:
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _ZIP_VERSION, _ZIP_VERSION, 0, 0, _DOS_DATE_TIME[0],
                       _DOS_DATE_TIME[1], crc, size, size, len(name), 0, 0, 0, 0, 0o100644 << 16, offset) + name


def keras_userblock(small_members: list[tuple[str, bytes]]) -> int:
    """The h5 userblock size (a power of two >= 512) that holds the small members and the weights header."""
    need = sum(30 + len(n.encode()) + len(d) for n, d in small_members) + 30 + len(_WEIGHTS_MEMBER) + 4
    size = 512
    while size < need:
        size *= 2
    return size


ZIP32_LIMIT = 0xFFFFFFFF - (1 << 20)   # above this a member or the archive needs zip64: left to Keras


def write_keras_zip(path: str, userblock: int, small_members: list[tuple[str, bytes]], weights_crc: int) -> None:
    """Make the streamed h5 at `path` (data after `userblock`) a `.keras` zip: headers in, directory appended."""
    h5_size = os.path.getsize(path) - userblock
    head, central, pos = b"", b"", 0
    for name, data in small_members:
        n, crc = name.encode(), zlib.crc32(data)
        central += _central_header(n, crc, len(data), pos)
        block = _local_header(n, crc, len(data)) + data
        head += block
        pos += len(block)
    n = _WEIGHTS_MEMBER.encode()
    pad = userblock - pos - 30 - len(n)
    if pad < 4:
        raise ValueError("userblock too small for the zip headers")
    head += _local_header(n, weights_crc, h5_size, struct.pack("<HH", _PAD_EXTRA_ID, pad - 4) + b"\0" * (pad - 4))
    central += _central_header(n, weights_crc, h5_size, pos)
    assert len(head) == userblock
    count = len(small_members) + 1
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), userblock + h5_size, 0)
    fd = os.open(path, os.O_WRONLY)
    try:
        _pwrite_all(fd, head, 0)
        _pwrite_all(fd, central + end, userblock + h5_size)
    finally:
        os.close(fd)
