"""TensorLayer 1.x parameter files read like a checkpoint; a pickle that is not NumPy array data is refused.

The files are written here exactly as TensorLayer 1.11's tensorlayer/files/utils.py writes them:
`save_npz_dict`: `np.savez(name, **{tensor.name: value})`; `save_npz`: `np.savez(name, params=values)` where
`values` is the list `sess.run(net.all_params)` (NumPy 1.x made a ragged list an object array, pickled in the
.npy; equal shapes are stacked into one plain array).
"""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from migrate.checkpoint import open_checkpoint, recognise
from migrate.checkpoint.reader import CheckpointError
from migrate.checkpoint.tensorlayer import TensorLayerParams, UnsafePickleError
from migrate.cli import main

RNG = np.random.RandomState(7)
# A TensorLayer 1.x model: an RNNLayer(BasicLSTMCell) over an EmbeddingInputlayer, then a DenseLayer.
PARAMS = {
    "model/embedding/embeddings:0": RNG.uniform(-1, 1, (11, 4)).astype(np.float32),
    "model/rnn/basic_lstm_cell/kernel:0": RNG.uniform(-1, 1, (4 + 5, 4 * 5)).astype(np.float32),
    "model/rnn/basic_lstm_cell/bias:0": RNG.uniform(-1, 1, (4 * 5,)).astype(np.float32),
    "model/output/W:0": RNG.uniform(-1, 1, (5, 11)).astype(np.float32),
    "model/output/b:0": RNG.uniform(-1, 1, (11,)).astype(np.float32),
}


def save_npz_dict(path, params):          # tl.files.save_npz_dict after sess.run
    np.savez(path, **params)


def save_npz(path, values):               # tl.files.save_npz: np.savez(name, params=save_list_var)
    if len({v.shape for v in values}) == 1:
        np.savez(path, params=values)     # equal shapes: NumPy stacks them into one plain array
    else:
        ragged = np.empty(len(values), dtype=object)   # what NumPy 1.x made of a ragged list
        for i, v in enumerate(values):
            ragged[i] = v
        np.savez(path, params=ragged)


def _npz_with_member(path, member, npy_bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, npy_bytes)


def _object_npy(pickled: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    return buf.getvalue() + pickled


def test_save_npz_dict_file_reads_like_a_checkpoint(tmp_path):
    path = str(tmp_path / "model.npz")
    save_npz_dict(path, PARAMS)
    ckpt = open_checkpoint(path)
    assert isinstance(ckpt, TensorLayerParams) and ckpt.format == "tl.files.save_npz_dict"
    assert sorted(ckpt.variables) == sorted(n[:-2] for n in PARAMS)
    assert ckpt.variables["model/rnn/basic_lstm_cell/kernel"].shape == (9, 20)
    assert ckpt.variables["model/output/b"].dtype == "float32"
    np.testing.assert_array_equal(ckpt.read("model/output/W"), PARAMS["model/output/W:0"])
    assert ckpt.original_names["model/output/W"] == "model/output/W:0"
    rec = recognise(ckpt.variables)
    assert [c.scope for c in rec.cells] == ["model/rnn/basic_lstm_cell"] and rec.cells[0].units == 5
    with pytest.raises(CheckpointError, match="no parameter 'nope'"):
        ckpt.read("nope")


def test_save_npz_object_array_file_is_read_without_np_load_pickle(tmp_path):
    path = str(tmp_path / "params.npz")
    values = list(PARAMS.values())
    save_npz(path, values)
    with np.load(path) as z, pytest.raises(ValueError, match="allow_pickle"):
        z["params"]                        # the file really is a pickled object array
    ckpt = open_checkpoint(path)
    assert ckpt.format == "tl.files.save_npz"
    assert list(ckpt.variables) == [f"params/{i:03d}" for i in range(5)]
    for i, v in enumerate(values):
        np.testing.assert_array_equal(ckpt.read(f"params/{i:03d}"), v)
        assert ckpt.variables[f"params/{i:03d}"].shape == v.shape


def test_numpy_1_pickles_are_read_too(tmp_path):
    values = [PARAMS["model/output/W:0"], PARAMS["model/output/b:0"]]
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = values
    pickled = pickle.dumps(ragged, protocol=3).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"cnumpy.core.multiarray\n_reconstruct" in pickled          # as NumPy 1.x wrote it
    path = str(tmp_path / "old.npz")
    _npz_with_member(path, "params.npy", _object_npy(pickled))
    ckpt = open_checkpoint(path)
    np.testing.assert_array_equal(ckpt.read("params/001"), values[1])


def test_equal_shapes_stacked_by_save_npz_are_split_again(tmp_path):
    path = str(tmp_path / "biases.npz")
    values = [RNG.uniform(-1, 1, (3,)).astype(np.float32) for _ in range(2)]
    save_npz(path, values)
    ckpt = open_checkpoint(path)
    assert [ckpt.variables[n].shape for n in ckpt.variables] == [(3,), (3,)]
    np.testing.assert_array_equal(ckpt.read("params/001"), values[1])


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {_Evil.marker}",))


def test_a_malicious_pickle_is_refused_without_running(tmp_path, capsys):
    _Evil.marker = str(tmp_path / "pwned")
    payload = np.empty(1, dtype=object)
    payload[0] = _Evil()
    path = str(tmp_path / "evil.npz")
    _npz_with_member(path, "params.npy", _object_npy(pickle.dumps(payload, protocol=3)))
    with pytest.raises(UnsafePickleError, match=r"reference (posix|os|nt)\.system, which is not NumPy array "
                                                r"data; refused without loading it"):
        open_checkpoint(path)
    assert not os.path.exists(_Evil.marker)
    assert main(["inspect", path]) == 2
    assert "refused without loading it" in capsys.readouterr().err
    assert not os.path.exists(_Evil.marker)


def test_inspect_and_apply_mapping_work_on_a_tensorlayer_file(tmp_path, capsys):
    import keras

    from migrate.checkpoint import Mapping, apply_mapping

    path = str(tmp_path / "model.npz")
    save_npz_dict(path, PARAMS)
    assert main(["inspect", path]) == 0
    assert "model/rnn/basic_lstm_cell" in capsys.readouterr().out
    (tmp_path / "map.toml").write_text('version = 1\nforget_bias = 1.0\n'
                                      '[[map]]\ncheckpoint = "model/embedding/embeddings"\nkeras = "emb/embeddings"\n'
                                      'transform = "identity"\n'
                                      '[[map]]\ncheckpoint = "model/rnn/basic_lstm_cell"\nkeras = "lstm"\n'
                                      'transform = "lstm"\n'
                                      '[[map]]\ncheckpoint = "model/output/W"\nkeras = "out/kernel"\n'
                                      'transform = "identity"\n'
                                      '[[map]]\ncheckpoint = "model/output/b"\nkeras = "out/bias"\n'
                                      'transform = "identity"\n')
    ids = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(11, 4, name="emb")(ids)
    x = keras.layers.LSTM(5, name="lstm")(x)
    model = keras.Model(ids, keras.layers.Dense(11, name="out")(x))
    report = apply_mapping(model, path, Mapping.load(str(tmp_path / "map.toml")))
    assert len(report["assigned"]) == 6
    np.testing.assert_array_equal(model.get_layer("out").kernel.numpy(), PARAMS["model/output/W:0"])
    np.testing.assert_array_equal(model.get_layer("emb").embeddings.numpy(), PARAMS["model/embedding/embeddings:0"])


# --------------------------------------------------------------------------------------------- bounded reading

def _header(shape, descr="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def _deflated_member(path, member, header: bytes, zero_bytes: int, mode="w"):
    """A member of `header` + `zero_bytes` zeros, deflated while written (a few KB per 64 MB: a zip bomb)."""
    with zipfile.ZipFile(path, mode, compression=zipfile.ZIP_DEFLATED) as z, \
            z.open(member, "w", force_zip64=True) as f:
        f.write(header)
        chunk = bytes(1 << 20)
        for _ in range(zero_bytes >> 20):
            f.write(chunk)
        f.write(bytes(zero_bytes & ((1 << 20) - 1)))


def test_a_member_declaring_a_huge_shape_is_exit_2_naming_it(tmp_path, capsys):
    path = str(tmp_path / "huge.npz")
    np.savez(path, **{"model/output/b:0": PARAMS["model/output/b:0"]})
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("model/output/W:0.npy", _header([2**31, 2**31]) + bytes(64))
    with pytest.raises(CheckpointError, match=r"member model/output/W:0\.npy declares shape \[2147483648, "
                                              r"2147483648\] float32 \(18,446,744,073,709,551,616 bytes\), but the "
                                              r"zip entry holds 64 bytes of data: the file is corrupt or crafted"):
        open_checkpoint(path)
    assert main(["inspect", path]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "huge.npz: member model/output/W:0.npy declares shape" in err


def test_listing_a_deflate_bomb_reads_only_the_headers(tmp_path):
    import tracemalloc

    path = str(tmp_path / "bomb.npz")
    _deflated_member(path, "embedding:0.npy", _header([16 << 20]), 64 << 20)     # 64 MB of float32 zeros
    assert os.path.getsize(path) < 200_000
    tracemalloc.start()
    try:
        ckpt = open_checkpoint(path)
        assert ckpt.variables["embedding"].shape == (16 << 20,) and ckpt.variables["embedding"].nbytes == 64 << 20
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak                         # the old reader decompressed the whole 64 MB member
    import tensorflow  # noqa: F401  (imported before measuring `inspect`, which imports it)

    tracemalloc.start()
    try:
        assert main(["inspect", path]) == 0             # inspect lists it the same way (no CRC pass over it)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak
    value = ckpt.read("embedding")                      # reading it for a conversion: exactly its declared bytes
    assert value.shape == (16 << 20,) and value.dtype == np.float32 and not value.any()


def test_a_member_holding_more_than_its_header_declares_stops_decompressing(tmp_path):
    import tracemalloc

    path = str(tmp_path / "liar.npz")
    _deflated_member(path, "w:0.npy", _header([4]), 64 << 20)   # declares 16 bytes, expands to 64 MB
    ckpt = open_checkpoint(path)
    assert ckpt.variables["w"].shape == (4,)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"liar\.npz: member w:0\.npy holds more data than its header "
                                                  r"declares \(shape \[4\] float32 \(16 bytes\)\)"):
            ckpt.read("w")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak


def test_a_member_shorter_than_its_header_is_refused_at_open(tmp_path):
    path = str(tmp_path / "short.npz")
    _npz_with_member(path, "w:0.npy", _header([1000]) + bytes(100))
    with pytest.raises(CheckpointError, match=r"declares shape \[1000\] float32 \(4,000 bytes\), but the zip entry "
                                              r"holds 100 bytes"):
        open_checkpoint(path)


def test_a_fortran_order_member_reads_as_numpy_does(tmp_path):
    path = str(tmp_path / "f.npz")
    a = np.asfortranarray(PARAMS["model/output/W:0"])
    np.savez_compressed(path, **{"w:0": a})
    np.testing.assert_array_equal(open_checkpoint(path).read("w"), a)
