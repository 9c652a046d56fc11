"""The streamed writer (`migrate.checkpoint.stream`): its `.weights.h5` / `.keras` files are Keras's own layout,
load into the model bit-exactly, and a corrupt checkpoint still fails with nothing written."""

import json
import os
import zipfile
import zlib

import numpy as np
import pytest
from test_convert import _hparams, write_legacy

from migrate.cli import main
from seq2seq_task import HParams, load_task, make_batch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# A scalar weight (scaled Luong's attention_g), 2 layers, both directions, an attention layer: every
# kind of dataset the h5 layout has.
VARIANT = dict(cell_type="lstm", num_layers=2, encoder_type="bi", attention="scaled_luong", attention_layer_size=8,
               output_attention=False, forget_bias=0.8)


@pytest.fixture(scope="module")
def legacy_dir(tmp_path_factory):
    task = load_task(seed=3, train_size=16, valid_size=4, test_size=4)
    batch = make_batch(task.train[:4], task.src_vocab, task.tgt_vocab)
    d = str(tmp_path_factory.mktemp("stream") / "legacy")
    write_legacy(d, _hparams(task, **VARIANT), batch, seed=5, mode="eval")
    return d


def _expected(ckpt_dir):
    """Keras path -> the converted array, computed in memory from the checkpoint (no writer involved)."""
    from migrate.checkpoint.convert import plan_conversion
    from migrate.checkpoint.reader import Checkpoint

    ckpt = Checkpoint.open(ckpt_dir)
    model, _rec, plan, _report = plan_conversion(ckpt)
    return {w.path: np.asarray(v, dtype=str(w.dtype)) for b in plan.bindings
            for w, v in zip(b.keras_weights, b.to_keras([ckpt.read(n) for n in b.tf1_names]))}


def _h5_tree(f):
    """{path: (attrs, shape, dtype, bytes)} of every group and dataset of an h5 file."""
    import h5py

    tree = {}

    def visit(name, obj):
        attrs = {k: str(v) for k, v in obj.attrs.items()}
        if isinstance(obj, h5py.Dataset):
            tree[name] = (attrs, obj.shape, str(obj.dtype), np.asarray(obj[()]).tobytes())
        else:
            tree[name] = (attrs,)

    f.visititems(visit)
    return tree


def _assert_weights_equal(model, expected):
    got = {w.path: np.asarray(w.numpy()) for w in model.weights}
    assert set(got) == set(expected)
    for path, want in expected.items():
        assert got[path].dtype == want.dtype and got[path].shape == want.shape, path
        assert got[path].tobytes() == want.tobytes(), f"{path}: not bit-exact"


def test_streamed_weights_h5_is_keras_layout_and_loads_bit_exactly(legacy_dir, tmp_path):
    import h5py

    from tf2.seq2seq import Seq2Seq

    out = str(tmp_path / "model.weights.h5")
    assert main(["convert", legacy_dir, "--out", out, "--report", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["output"]["writer"].startswith("streamed, raw copies")
    expected = _expected(legacy_dir)
    model = Seq2Seq(HParams.load(os.path.join(legacy_dir, "hparams.json")))
    model.load_weights(out)
    _assert_weights_equal(model, expected)
    # Keras's own writer, given the loaded model, writes the same groups, attributes, datasets and bytes.
    model.save_weights(str(tmp_path / "keras_own.weights.h5"))
    with h5py.File(out, "r") as a, h5py.File(str(tmp_path / "keras_own.weights.h5"), "r") as b:
        assert _h5_tree(a) == _h5_tree(b)
    assert sorted(os.listdir(tmp_path)) == ["hparams.json", "keras_own.weights.h5", "model.weights.h5", "r.json"]


def test_streamed_keras_archive_loads_bit_exactly_with_valid_crcs(legacy_dir, tmp_path):
    import keras

    out = str(tmp_path / "model.keras")
    assert main(["convert", legacy_dir, "--out", out]) == 0
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None                                     # every member's CRC-32 checks
        assert [i.filename for i in z.infolist()] == ["metadata.json", "config.json", "model.weights.h5"]
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
        assert json.loads(z.read("metadata.json"))["keras_version"] == keras.__version__
    model = keras.saving.load_model(out)
    _assert_weights_equal(model, _expected(legacy_dir))


def _crc32c_reference(data, crc: int = 0) -> int:
    """Bitwise CRC32C (Castagnoli, reflected 0x82F63B78), extending `crc`: slow, independent of any package."""
    crc ^= 0xFFFFFFFF
    for byte in bytes(data):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


@pytest.mark.parametrize("verifier", ["tensorflow-reader", "crc32c-of-the-index"])
def test_a_corrupt_data_file_fails_the_raw_copy_and_writes_nothing(verifier, legacy_dir, tmp_path, monkeypatch):
    import shutil

    from migrate.checkpoint import stream

    # The raw copies are verified by TensorFlow's reader, or (when a CRC32C package is importable) against
    # the index's checksums: exercise both whatever is installed, the second with a bitwise reference.
    monkeypatch.setattr(stream, "_crc32c", None if verifier == "tensorflow-reader" else _crc32c_reference)
    d = tmp_path / "ckpt"
    shutil.copytree(legacy_dir, d)
    clean = tmp_path / "clean" / "model.weights.h5"
    clean.parent.mkdir()
    assert main(["convert", str(d), "--out", str(clean), "--report", str(tmp_path / "r.json")]) == 0
    writer = json.loads((tmp_path / "r.json").read_text())["output"]["writer"]
    assert ("TensorFlow's reader" if verifier == "tensorflow-reader" else "CRC32C of the index") in writer
    prefix = str(d / "model.ckpt-0")
    shard, offset, size, _dtype, _crc = stream.bundle_entries(prefix)["embeddings/encoder/embedding_encoder"]
    data = d / f"model.ckpt-0.data-{shard:05d}-of-00001"
    raw = bytearray(data.read_bytes())
    raw[offset + size // 2] ^= 0x40                         # one bit of an embedding that is copied raw
    data.write_bytes(bytes(raw))
    out = tmp_path / "out" / "model.weights.h5"
    out.parent.mkdir()
    assert main(["convert", str(d), "--out", str(out)]) == 2
    assert not out.parent.exists() or os.listdir(out.parent) == []


def test_bundle_entries_give_the_readers_bytes(legacy_dir):
    import tensorflow as tf

    from migrate.checkpoint.stream import bundle_entries

    prefix = os.path.join(legacy_dir, "model.ckpt-0")
    entries = bundle_entries(prefix)
    reader = tf.train.load_checkpoint(prefix)
    assert set(entries) == set(reader.get_variable_to_shape_map())
    with open(prefix + ".data-00000-of-00001", "rb") as f:
        data = f.read()
    for name, (shard, offset, size, dtype, _crc) in entries.items():
        value = reader.get_tensor(name)
        assert (shard, dtype) == (0, tf.as_dtype(value.dtype).as_datatype_enum), name
        assert data[offset: offset + size] == np.ascontiguousarray(value).tobytes(), name


def test_index_checksums_are_masked_crc32c_of_the_bytes(legacy_dir):
    from migrate.checkpoint.stream import _mask, bundle_entries

    prefix = os.path.join(legacy_dir, "model.ckpt-0")
    with open(prefix + ".data-00000-of-00001", "rb") as f:
        data = f.read()
    small = {n: e for n, e in bundle_entries(prefix).items() if e[2] <= 4096}
    assert len(small) >= 5
    for name, (_shard, offset, size, _dtype, masked) in small.items():
        assert _mask(_crc32c_reference(data[offset: offset + size])) == masked, name


@pytest.mark.parametrize("len_a,len_b", [(0, 5), (7, 0), (1, 1), (1000, 4097), (65536, 3)], ids=str)
def test_crc32_combine_matches_zlib(len_a, len_b):
    from migrate.checkpoint.stream import crc32_combine

    rng = np.random.default_rng(len_a + len_b)
    a, b = rng.bytes(len_a), rng.bytes(len_b)
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_raw_copy_and_read_paths_write_identical_files(legacy_dir, tmp_path):
    from migrate.checkpoint import stream
    from migrate.checkpoint.convert import plan_conversion
    from migrate.checkpoint.reader import Checkpoint

    ckpt = Checkpoint.open(legacy_dir)
    files = []
    for raw in (True, False):
        model, _rec, plan, _report = plan_conversion(ckpt)
        path = str(tmp_path / f"raw{raw}.weights.h5")
        layout = stream.h5_skeleton(model, path)
        crcs = stream.stream_bindings(path, layout, plan.bindings, ckpt, unbound_values=lambda w: w.numpy(),
                                      crcs=True, raw=raw)
        assert sorted(crcs) == sorted(o for _w, o, n in layout if n)
        with open(path, "rb") as f:
            data = f.read()
        assert all(crcs[o] == zlib.crc32(data[o: o + n]) for _w, o, n in layout if n)
        files.append(data)
    assert files[0] == files[1]
