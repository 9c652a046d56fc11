"""Hostile or damaged inputs (issue 20, point 4): names shown escaped, Ctrl-C is one line, CRC mismatches and
impossible shapes are exit 2 naming the file and the tensor before anything is allocated.

Checkpoints are written here with `tf.raw_ops.SaveV2` (its tensor names may hold any bytes, which TF op names
cannot) or patched byte by byte, as a damaged or crafted file would be.
"""

import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from migrate.checkpoint.reader import Checkpoint, CheckpointError
from migrate.cli import error_text, main
from migrate.errors import InputError
from migrate.text import shown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = os.path.join(ROOT, "..", "shared", "fixtures", "real_tf1_checkpoints", "aplain_basiclstm_2017")
EVIL = "a\x1b[2J\nrecognised: fake"


def _save(prefix, tensors: dict):
    import tensorflow as tf

    names = list(tensors)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tensors[n] for n in names])
    return prefix


# --------------------------------------------------------------------------------------------- names shown escaped

def test_shown_escapes_every_control_character_and_keeps_names_readable():
    assert shown("dynamic_seq2seq/encoder/rnn/lstm_cell/kernel") == "dynamic_seq2seq/encoder/rnn/lstm_cell/kernel"
    assert shown("été/嵌入") == "été/嵌入"
    assert shown(EVIL) == "a\\x1b[2J\\nrecognised: fake"
    assert shown("x\u2028y\r\t\x7f\x9b\U000e0001") == "x\\u2028y\\r\\t\\x7f\\x9b\\U000e0001"
    assert shown(shown(EVIL)) == shown(EVIL) and shown(EVIL).isprintable()


def test_inspect_prints_a_hostile_variable_name_escaped(tmp_path, capsys):
    prefix = _save(str(tmp_path / "model.ckpt"), {
        EVIL: np.ones((2,), np.float32), "rnn/basic_lstm_cell/kernel": np.ones((9, 20), np.float32),
        "rnn/basic_lstm_cell/bias": np.ones((20,), np.float32), "x\u2028y/\x07bell": np.zeros((1,), np.float32)})
    assert main(["inspect", prefix]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u2028" not in out
    assert not any(line.startswith("recognised: fake") for line in out.splitlines())
    assert [line for line in out.splitlines() if line.startswith("recognised")] == ["recognised:"]
    assert "  a\\x1b[2J\\nrecognised: fake  [2]" in out and "\\x07bell" in out
    assert "unrecognised (2): a\\x1b[2J\\nrecognised: fake, x\\u2028y/\\x07bell" in out


def test_an_error_naming_a_hostile_name_is_one_escaped_line():
    e = InputError(f"{EVIL}: no such variable")
    assert error_text(e) == "a\\x1b[2J\\nrecognised: fake: no such variable"
    e.multiline = True                                   # a child's stderr tail keeps its lines
    assert error_text(e) == "a\\x1b[2J\nrecognised: fake: no such variable"


# --------------------------------------------------------------------------------------------- Ctrl-C

CONSOLE_SCRIPT = ["-c", "import sys; from migrate.__main__ import run; sys.exit(run())"]   # what pip's wrapper runs


def _interrupt_after(args, delay, *, wait_for=None, launcher=("-m", "migrate")):
    """(exit code, stdout, stderr) of `python -m migrate ARGS` (or `launcher`) sent SIGINT `delay` s after its start
    (or once a stdout line holds `wait_for`). A SIGINT that lands in the interpreter's own start-up (its `site` import, or
    runpy finding the `migrate` package), before any code of this project runs, is sent again on a new run:
    nothing in the project can handle it (about 40 ms on an idle machine, more on a loaded one)."""
    for _ in range(4):
        p = subprocess.Popen([sys.executable, *launcher, *args], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ROOT})
        if wait_for is not None:
            line = p.stdout.readline()
            assert wait_for in line, line
        else:
            time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        in_interpreter_start = "init_import_site" in err or (
            ('File "<frozen runpy>", line' in err or 'File "<string>", line 1' in err)
            and "migrate/" not in err.replace("migrate/__init__", ""))
        if not in_interpreter_start:
            return p.returncode, out, err
    raise AssertionError(f"every SIGINT after {delay} s landed in the interpreter's start-up: {err}")


def _one_interrupted_line(code, err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 130 or (code == 0 and not lines), (code, err)
    assert "Traceback" not in err and len(lines) <= 2, err
    if code == 130:
        assert len(lines) == 1 and "interrupted" in lines[0], lines


@pytest.mark.slow
def test_ctrl_c_during_inspect_at_any_moment_is_one_line_and_130(tmp_path):
    for delay in (0.2, 1.0, 3.0, 6.0):                   # start-up, the TensorFlow import, the reading
        code, _, err = _interrupt_after(["inspect", REAL], delay)
        _one_interrupted_line(code, err)


def test_the_console_script_starts_under_the_start_up_guard():
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="tf-migrate")
    assert script.value == "migrate.__main__:run"       # not migrate.cli:main, which imports NumPy unguarded
    for delay in (0.2, 0.6):                             # inside the imports of migrate.cli (NumPy, ...)
        code, _, err = _interrupt_after(["inspect", REAL], delay, launcher=CONSOLE_SCRIPT)
        _one_interrupted_line(code, err)


@pytest.mark.slow
def test_ctrl_c_during_convert_is_130_and_after_its_commit_0(tmp_path):
    from seq2seq_task import HParams, load_task, make_batch
    from tests.test_convert import write_legacy

    task = load_task(seed=3, train_size=16, valid_size=4, test_size=4)
    hp = HParams(embedding_size=6, num_units=8, cell_type="gru", num_layers=1, src_vocab_size=task.src_vocab.size,
                 tgt_vocab_size=task.tgt_vocab.size)
    ckpt = str(tmp_path / "ckpt")
    write_legacy(ckpt, hp, make_batch(task.train[:4], task.src_vocab, task.tgt_vocab), mode="eval")
    out = tmp_path / "out"
    out.mkdir()
    for delay in (0.2, 1.0, 3.0):
        code, _, err = _interrupt_after(["convert", ckpt, "--out", str(out / "m.keras")], delay)
        _one_interrupted_line(code, err)
        assert sorted(os.listdir(out)) == ([] if code == 130 else ["hparams.json", "m.keras"])
        if code == 0:
            break
    for f in os.listdir(out):
        os.unlink(out / f)
    # After the commit ("wrote" is printed after it): the outputs stand and the exit code is convert's own.
    code, stdout, err = _interrupt_after(["convert", ckpt, "--out", str(out / "m.keras")], 0, wait_for="wrote")
    assert code == 0 and "Traceback" not in err, (code, err)
    assert sorted(os.listdir(out)) == ["hparams.json", "m.keras"]


def test_ctrl_c_after_the_outputs_were_checked_names_what_was_not_written(tmp_path, capsys, monkeypatch):
    import migrate.checkpoint.convert as convert_module

    prefix = _save(str(tmp_path / "model.ckpt"), {"w": np.ones((2,), np.float32)})

    def ctrl_c(*args, **kwargs):                           # the user presses Ctrl-C while the checkpoint is read
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
        raise AssertionError("SIGINT was not delivered")

    monkeypatch.setattr(convert_module.Checkpoint, "open", ctrl_c)
    before = signal.getsignal(signal.SIGINT)
    assert main(["convert", prefix, "--out", str(tmp_path / "m.keras"), "--report", str(tmp_path / "r.json")]) == 130
    err = capsys.readouterr().err
    assert err == (f"tf-migrate convert: interrupted; not written: {tmp_path / 'm.keras'}, {tmp_path / 'r.json'}.\n")
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt.data-00000-of-00001", "model.ckpt.index"]
    assert signal.getsignal(signal.SIGINT) is before          # the caller's (pytest's) handler is back


# --------------------------------------------------------------------------------------------- damaged bytes

def _flip(prefix, name, bit=0x40):
    """Flip one bit in the middle of tensor `name`'s bytes in its data file (a bad copy / a bad disk)."""
    from migrate.checkpoint.stream import bundle_entries

    shard, offset, size, _dtype, _crc = bundle_entries(prefix)[name]
    path = f"{prefix}.data-{shard:05d}-of-00001"
    with open(path, "r+b") as f:
        f.seek(offset + size // 2)
        byte = f.read(1)[0]
        f.seek(offset + size // 2)
        f.write(bytes([byte ^ bit]))
    return path


@pytest.fixture
def damaged(tmp_path):
    rng = np.random.default_rng(5)
    prefix = _save(str(tmp_path / "model.ckpt-7"), {
        "embeddings/encoder/embedding_encoder": rng.standard_normal((50, 16)).astype(np.float32),
        "rnn/lstm_cell/kernel": rng.standard_normal((24, 32)).astype(np.float32),
        "rnn/lstm_cell/bias": rng.standard_normal((32,)).astype(np.float32)})
    return prefix, _flip(prefix, "rnn/lstm_cell/kernel")


@pytest.mark.parametrize("verifier", ["crc32c-of-the-index", "tensorflow-reader"])
def test_verify_tensors_names_the_damaged_tensor_and_its_file(damaged, verifier, monkeypatch):
    from migrate.checkpoint import stream
    from migrate.checkpoint.reader import CorruptTensor
    from tests.test_convert_stream import _crc32c_reference

    monkeypatch.setattr(stream, "_crc32c", _crc32c_reference if verifier == "crc32c-of-the-index" else None)
    prefix, data = damaged
    bad = stream.verify_tensors(prefix)
    assert [(b.name, b.file) for b in bad] == [("rnn/lstm_cell/kernel", data)]
    assert isinstance(bad[0], CorruptTensor) and "CRC32C mismatch" in bad[0].why
    assert stream.verify_tensors(prefix, ["rnn/lstm_cell/bias", "embeddings/encoder/embedding_encoder"]) == []


def test_inspect_and_read_of_a_flipped_byte_name_file_tensor_and_way_out(damaged, capsys):
    prefix, data = damaged
    assert main(["inspect", prefix]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"tf-migrate inspect: error: {data}: the checkpoint {prefix} is corrupt: tensor "
                          f"'rnn/lstm_cell/kernel' does not match its checksum (CRC32C mismatch: ")
    assert "Use another copy of this checkpoint or an earlier checkpoint." in err
    assert main(["inspect", prefix, "--no-verify"]) == 0
    capsys.readouterr()
    with pytest.raises(CheckpointError, match=r"is corrupt: tensor 'rnn/lstm_cell/kernel' .*CRC32C mismatch: the "
                                              r"index holds 0x[0-9a-f]{8}, the bytes give 0x[0-9a-f]{8}\)"):
        Checkpoint.open(prefix).read("rnn/lstm_cell/kernel")        # TensorFlow's reader (convert's transforms)


def test_restore_direct_names_the_damaged_tensor(damaged):
    import keras

    from migrate.checkpoint.bindings import Binding
    from migrate.checkpoint.materialise import restore_direct

    prefix, data = damaged
    ckpt = Checkpoint.open(prefix)
    layer = keras.layers.Dense(32)
    layer.build((None, 24))
    binding = Binding(("rnn/lstm_cell/kernel",), (layer.kernel,), "identity", "a dense kernel")
    with pytest.raises(CheckpointError, match=rf"{data}: .* corrupt: tensor 'rnn/lstm_cell/kernel' .*CRC32C mismatch"):
        restore_direct([binding], ckpt)


def _patch_index(prefix, old: bytes, new: bytes):
    """Replace `old` by `new` (same length) in the index's data block and fix the block's CRC32C, as a crafted
    file would: TensorFlow's table reader checks that CRC, not what the entries say."""
    from migrate.checkpoint.stream import _block, _entries, _mask, _varint
    from tests.test_convert_stream import _crc32c_reference

    assert len(old) == len(new)
    with open(prefix + ".index", "rb") as f:
        data = bytearray(f.read())
    footer = bytes(data[-48:])
    _meta, pos = _block(bytes(data), footer, 0)
    index_block, _ = _block(bytes(data), footer, pos)
    for _key, handle in _entries(index_block):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        block = bytes(data[offset: offset + size])
        if old in block:
            assert block.count(old) == 1
            data[offset: offset + size] = block.replace(old, new)
            data[offset + size + 1: offset + size + 5] = struct.pack(
                "<I", _mask(_crc32c_reference(data[offset: offset + size + 1])))
            with open(prefix + ".index", "wb") as f:
                f.write(data)
            return
    raise AssertionError("pattern not found in the index")


def test_a_crafted_shape_is_refused_naming_the_tensor_before_any_allocation(tmp_path, capsys):
    from tensorflow.core.framework import tensor_shape_pb2

    def shape(*dims):
        return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]) \
            .SerializeToString()

    prefix = _save(str(tmp_path / "model.ckpt"), {"dense/kernel": np.ones((16384, 1, 1), np.float32),
                                                  "dense/bias": np.ones((3,), np.float32)})
    _patch_index(prefix, shape(16384, 1, 1), shape(2097151, 127, 127))
    with pytest.raises(CheckpointError, match=r"model\.ckpt\.index: tensor 'dense/kernel' declares shape \[2097151, "
                                              r"127, 127\] float32 \(135,299,793,916 bytes\) but the index stores "
                                              r"65,536 bytes for it: the index is corrupt or crafted; nothing was read"):
        Checkpoint.open(prefix)
    assert main(["inspect", prefix]) == 2
    assert "tensor 'dense/kernel' declares shape [2097151, 127, 127]" in capsys.readouterr().err
