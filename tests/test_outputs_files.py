"""`migrate.files`: every output staged beside its destination and committed together, or none at all.

Real files in tmp_path. Cases that must fail for root too (the tests run as root here, where chmod does not
stop writes) use a parent that is a file or a missing parent; the permission case runs only as non-root.
"""

import errno
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from migrate.errors import MigrateError, OutputError
from migrate.exit_codes import CANNOT_WRITE
from migrate.files import CheckpointNotFound, Outputs, atomic_write_bytes, clean_stale_temps, resolve_checkpoint


def _entries(d):
    return sorted(os.listdir(d))


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_output_error_is_a_library_error_with_exit_code_3():
    assert issubclass(OutputError, MigrateError) and OutputError("x").exit_code == CANNOT_WRITE == 3


def test_all_outputs_appear_together_at_commit(tmp_path):
    with Outputs() as out:
        out.write_bytes(str(tmp_path / "a.bin"), b"\x00\x01")
        out.write_json(str(tmp_path / "r.json"), {"k": 1})
        tmp = out.stage(str(tmp_path / "m.keras"), suffix=".keras")
        with open(tmp, "wb") as f:
            f.write(b"model")
        assert not any(n in ("a.bin", "r.json", "m.keras") for n in _entries(tmp_path))   # nothing in place yet
    assert _entries(tmp_path) == ["a.bin", "m.keras", "r.json"]
    assert (tmp_path / "m.keras").read_bytes() == b"model"
    assert (tmp_path / "r.json").read_text() == '{\n  "k": 1\n}\n'


def test_an_exception_inside_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with Outputs() as out:
            out.write_bytes(str(tmp_path / "a.bin"), b"1")
            out.stage(str(tmp_path / "ckpt"), kind="prefix")
            raise RuntimeError("writer failed")
    assert _entries(tmp_path) == []


def test_keyboard_interrupt_while_writing_a_checkpoint_set_leaves_no_temp(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with Outputs() as out:
            prefix = out.stage(str(tmp_path / "ckpt"), kind="prefix")     # a directory of files: no IsADirectoryError
            for name in (".index", ".data-00000-of-00001"):
                with open(prefix + name, "wb") as f:
                    f.write(b"partial")
            raise KeyboardInterrupt
    assert _entries(tmp_path) == []


def test_checkpoint_set_is_committed_as_its_files_beside_the_prefix(tmp_path):
    with Outputs() as out:
        prefix = out.stage(str(tmp_path / "model"), kind="prefix")
        for name in (".index", ".data-00000-of-00001"):
            with open(prefix + name, "wb") as f:
                f.write(name.encode())
    assert _entries(tmp_path) == ["model.data-00000-of-00001", "model.index"]
    with pytest.raises(OutputError, match=r"model\.(data|index).*already exists; pass --force"):
        Outputs().check(str(tmp_path / "model"), kind="prefix")


def test_missing_parent_is_refused_before_anything(tmp_path):
    out = Outputs()
    with pytest.raises(OutputError, match=r"the directory .*/nope does not exist; create it"):
        out.check(str(tmp_path / "nope" / "m.keras"))
    assert _entries(tmp_path) == []


def test_parent_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=r"afile is a file, not a directory"):
        Outputs().check(str(tmp_path / "afile" / "m.keras"))
    with pytest.raises(OutputError, match=r"afile is a file, not a directory"):
        Outputs().check(str(tmp_path / "afile" / "deeper" / "m.keras"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 directory anyway")
def test_unwritable_parent_is_refused(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="no permission to create files"):
            Outputs().check(str(d / "m.keras"))
    finally:
        d.chmod(0o755)


def test_existing_output_needs_force_and_force_replaces(tmp_path):
    target = tmp_path / "m.keras"
    target.write_bytes(b"old")
    with pytest.raises(OutputError, match=r"m\.keras: already exists; pass --force to replace it"):
        with Outputs() as out:
            out.write_bytes(str(target), b"new")
    assert target.read_bytes() == b"old" and _entries(tmp_path) == ["m.keras"]
    with Outputs(force=True) as out:
        out.write_bytes(str(target), b"new")
    assert target.read_bytes() == b"new" and _entries(tmp_path) == ["m.keras"]


def test_identical_side_file_is_fine_a_different_one_is_not(tmp_path):
    hp = tmp_path / "hparams.json"
    hp.write_text('{"num_layers": 2}\n')
    with Outputs() as out:
        out.write_text(str(hp), '{"num_layers": 2}\n', identical_ok=True)
    with pytest.raises(OutputError, match=r"hparams\.json: already exists with other contents"):
        with Outputs() as out:
            out.write_bytes(str(tmp_path / "m.keras"), b"model")
            out.write_text(str(hp), '{"num_layers": 1}\n', identical_ok=True)
    assert hp.read_text() == '{"num_layers": 2}\n' and _entries(tmp_path) == ["hparams.json"]


def test_full_disk_while_writing_is_exit_3_and_leaves_nothing(tmp_path, monkeypatch):
    real_write = os.write

    def full(fd, data):
        if len(data) > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    with pytest.raises(OutputError, match=r"r\.json: cannot write \(No space left on device\); nothing was written"):
        with Outputs() as out:
            out.write_bytes(str(tmp_path / "a.bin"), b"tiny")
            monkeypatch.setattr(os, "write", full)
            out.write_json(str(tmp_path / "r.json"), {"big": "x" * 100})
    monkeypatch.undo()
    assert _entries(tmp_path) == []


def test_a_failing_rename_puts_back_what_was_replaced(tmp_path, monkeypatch):
    (tmp_path / "a").write_bytes(b"old a")
    real_rename = os.rename

    def rename(src, dst):
        if os.path.basename(dst) == "b":
            raise OSError(errno.EIO, "Input/output error", dst)
        return real_rename(src, dst)

    with pytest.raises(OutputError, match="Input/output error"):
        with Outputs(force=True) as out:
            out.write_bytes(str(tmp_path / "a"), b"new a")
            out.write_bytes(str(tmp_path / "b"), b"new b")
            monkeypatch.setattr(os, "rename", rename)
    monkeypatch.undo()
    assert _entries(tmp_path) == ["a"] and (tmp_path / "a").read_bytes() == b"old a"


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with Outputs() as out:
            out.write_bytes(str(tmp_path / "f"), b"1")
            tmp = out.stage(str(tmp_path / "g"))
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600)   # a writer that creates 0600 (like mkstemp)
            os.close(fd)
            prefix = out.stage(str(tmp_path / "ck"), kind="prefix")
            open(prefix + ".index", "wb").close()
    finally:
        os.umask(old)
    for name in ("f", "g", "ck.index"):
        assert oct(os.stat(tmp_path / name).st_mode & 0o777) == oct(0o640), name


def test_stale_temps_of_a_killed_run_are_removed_live_ones_kept(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    stale_file = tmp_path / f".m.keras.tfm-tmp-{dead}-0123abcd.keras"
    stale_dir = tmp_path / f".m.keras.tfm-tmp-{dead}-89abcdef"
    live = tmp_path / f".m.keras.tfm-tmp-{alive}-0123abcd.keras"
    other = tmp_path / f".x.keras.tfm-tmp-{dead}-0123abcd"
    stale_file.write_bytes(b"x" * 1000)
    stale_dir.mkdir()
    (stale_dir / "ckpt.index").write_bytes(b"x")
    live.write_bytes(b"x")
    other.write_bytes(b"x")
    atomic_write_bytes(str(tmp_path / "m.keras"), b"model")     # a later run at the same destination
    assert _entries(tmp_path) == sorted(["m.keras", live.name, other.name])
    assert clean_stale_temps(str(tmp_path), "x.keras") == [str(other)]


def test_ctrl_c_in_a_real_process_exits_130_and_leaves_no_temp(tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        signal.signal(signal.SIGINT, signal.default_int_handler)   # as a shell starts it, whatever pytest's is
        sys.path.insert(0, {os.getcwd()!r})
        from migrate.files import Outputs
        try:
            with Outputs() as out:
                p = out.stage({str(tmp_path / "ck")!r}, kind="prefix")
                open(p + ".data-00000-of-00001", "wb").write(b"x" * 100000)
                print("staged", flush=True)
                time.sleep(30)
        except KeyboardInterrupt:
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "staged"
    assert any(".tfm-tmp-" in n for n in os.listdir(tmp_path))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    assert _entries(tmp_path) == []


def test_resolver_finds_a_copied_folder_whose_state_file_names_another_machine(tmp_path):
    for name in ("model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001", "model.ckpt-7.meta"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "/home/someone/runs/model.ckpt-7"\n'
                                         'all_model_checkpoint_paths: "/home/someone/runs/model.ckpt-7"\n')
    want = str(tmp_path / "model.ckpt-7")
    assert resolve_checkpoint(str(tmp_path)) == want
    assert resolve_checkpoint(want + ".index") == want == resolve_checkpoint(want + ".meta")
    assert resolve_checkpoint(want + ".data-00000-of-00001") == want
    with pytest.raises(CheckpointNotFound, match="no such checkpoint"):
        resolve_checkpoint(str(tmp_path / "model.ckpt-8"))


def test_a_library_writer_reporting_a_full_disk_is_an_output_error(tmp_path):
    # h5py / TensorFlow do not raise OSError: their message names the temp file and the errno's text.
    with pytest.raises(OutputError, match=r"ck: cannot write \(No space left on device\); nothing was written"):
        with Outputs() as out:
            prefix = out.stage(str(tmp_path / "ck"), kind="prefix")
            raise RuntimeError(f"SaveV2 failed: {prefix}.data-00000-of-00001.tempstate1; No space left on device")
    assert _entries(tmp_path) == []
    with pytest.raises(RuntimeError, match="a bug"):              # anything else stays what it is
        with Outputs() as out:
            out.stage(str(tmp_path / "m.keras"))
            raise RuntimeError("a bug")


def test_a_directory_output_is_replaced_whole_with_force(tmp_path):
    with Outputs() as out:
        d = out.stage(str(tmp_path / "model_dir"), kind="dir")
        (open(os.path.join(d, "a"), "w")).close()
    with pytest.raises(OutputError, match="model_dir: already exists"):
        Outputs().check(str(tmp_path / "model_dir"), kind="dir")
    with Outputs(force=True) as out:
        d = out.stage(str(tmp_path / "model_dir"), kind="dir")
        with open(os.path.join(d, "b"), "w") as f:
            f.write("new")
    assert _entries(tmp_path) == ["model_dir"] and _entries(tmp_path / "model_dir") == ["b"]
