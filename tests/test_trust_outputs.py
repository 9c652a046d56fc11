"""One output, one writer (issue 20, point 3): concurrent runs to one destination, exactly one wins.

Two real processes (started together on a file barrier) commit to one destination: one succeeds, the other gets
`OutputError` (exit 3) naming the destination, and the destination holds the winner's bytes. A destination that
appears while a run works is never replaced without --force. A failed --force onto a file, a symlink or a
directory leaves the original intact and no `.tfm-tmp` / `.tfm-lock` file behind. Plus strict JSON outputs.
"""

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from test_outputs_files import _dead_pid, _entries  # the helpers of the older output tests

from migrate.errors import OutputError
from migrate.files import Outputs, atomic_write_json, lock_path, to_json_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# A writer process: waits for the barrier file, then writes `tag` to `dest` through one Outputs (kind file, dir
# or prefix). Staged, it holds its output until the other writer has given up (its marker `done-OTHER`, at most
# 20 s), so the two really overlap however the machine schedules them. Exit 0 written, 3 OutputError.
WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    from migrate.errors import OutputError
    from migrate.files import Outputs
    dest, tag, other, kind, force, barrier = sys.argv[1:7]
    done = os.path.join(os.path.dirname(barrier), "done-")
    print("ready", flush=True)
    while not os.path.exists(barrier):
        time.sleep(0.001)
    try:
        with Outputs(force=force == "1") as out:
            if kind == "file":
                out.write_bytes(dest, tag.encode())
            elif kind == "dir":
                d = out.stage(dest, kind="dir")
                open(os.path.join(d, "model.bin"), "w").write(tag)
            else:
                p = out.stage(dest, kind="prefix")
                open(p + ".index", "w").write(tag)
            t0 = time.time()
            while not os.path.exists(done + other) and time.time() - t0 < 20:
                time.sleep(0.01)
    except OutputError as e:
        print(e, file=sys.stderr)
        open(done + tag, "w").close()
        sys.exit(3)
""").format(root=ROOT)


def _race(tmp_path, dest, kind="file", force=False):
    """Start two writers of `dest`, release them together; [(exit code, tag, stderr)]."""
    barrier = tmp_path / "go"
    procs = []
    for tag, other in (("first", "second"), ("second", "first")):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(dest), tag, other, kind, "1" if force else "0",
                              str(barrier)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        procs.append((p, tag))
    barrier.write_text("")
    out = []
    for p, tag in procs:
        _, err = p.communicate(timeout=60)
        out.append((p.returncode, tag, err))
    return out


@pytest.mark.parametrize("force", [False, True], ids=["new", "force"])
def test_two_processes_one_file_exactly_one_wins(tmp_path, force):
    outdir = tmp_path / "out"
    outdir.mkdir()
    dest = outdir / "m.keras"
    if force:
        dest.write_bytes(b"old")
    results = _race(tmp_path, dest, force=force)
    assert sorted(code for code, _, _ in results) == [0, 3], results
    winner = next(tag for code, tag, _ in results if code == 0)
    loser_err = next(err for code, _, err in results if code == 3)
    assert f"{dest}: another run (pid " in loser_err and "is writing it" in loser_err, loser_err
    assert dest.read_bytes() == winner.encode()
    assert _entries(outdir) == ["m.keras"]                      # no temp, no lock left by either


@pytest.mark.parametrize("kind", ["dir", "prefix"])
def test_two_processes_one_folder_or_checkpoint_exactly_one_wins(tmp_path, kind):
    outdir = tmp_path / "out"
    outdir.mkdir()
    dest = outdir / "converted"
    results = _race(tmp_path, dest, kind=kind)
    assert sorted(code for code, _, _ in results) == [0, 3], results
    winner = next(tag for code, tag, _ in results if code == 0)
    if kind == "dir":
        assert _entries(outdir) == ["converted"] and (dest / "model.bin").read_text() == winner
    else:
        assert _entries(outdir) == ["converted.index"] and (outdir / "converted.index").read_text() == winner


def test_a_destination_that_appears_meanwhile_is_never_replaced(tmp_path):
    dest = tmp_path / "m.keras"
    with pytest.raises(OutputError, match=r"m\.keras: another run wrote it first .* left as it is; nothing"):
        with Outputs() as out:
            out.write_bytes(str(dest), b"mine")
            out.write_bytes(str(tmp_path / "r.json"), b"{}")
            dest.write_bytes(b"theirs")                # a writer that takes no lock finishes first
    assert dest.read_bytes() == b"theirs" and _entries(tmp_path) == ["m.keras"]   # r.json rolled back too


def test_a_folder_that_appears_meanwhile_is_never_replaced(tmp_path):
    dest = tmp_path / "converted"
    with pytest.raises(OutputError, match="another run wrote it first"):
        with Outputs() as out:
            d = out.stage(str(dest), kind="dir")
            open(os.path.join(d, "a"), "w").close()
            dest.mkdir()                               # even empty: rename(2) would silently replace it
    assert _entries(tmp_path) == ["converted"] and _entries(dest) == []


def test_a_live_lock_names_its_process_and_a_dead_ones_is_taken_over(tmp_path):
    dest = tmp_path / "m.keras"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {ROOT!r})
        from migrate.files import Outputs
        out = Outputs()
        out.check({str(dest)!r})
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match=rf"m\.keras: another run \(pid {holder.pid}\) is writing it"):
            Outputs(force=True).check(str(dest))
    finally:
        holder.kill()
        holder.wait()
    assert os.path.exists(lock_path(str(dest)))        # kill -9 left its lock behind
    with open(lock_path(str(dest)), "w") as f:         # (and a lock file written by a dead pid)
        f.write(f"{_dead_pid()}\n")
    with Outputs() as out:
        out.write_bytes(str(dest), b"new")
    assert dest.read_bytes() == b"new" and _entries(tmp_path) == ["m.keras"]


def test_the_lock_is_per_destination_and_released_by_discard(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    first = Outputs()
    first.check(a)
    Outputs().check(b)                                 # another destination: no conflict
    with pytest.raises(OutputError, match="another writer in this process"):
        Outputs().check(a)
    first.discard()
    with Outputs() as out:
        out.write_bytes(a, b"1")
    assert _entries(tmp_path) == ["a"]


def _failing_rename(monkeypatch, name):
    real = os.rename

    def rename(src, dst):
        if os.path.basename(dst) == name and ".tfm-tmp-" in os.path.basename(src) and not src.endswith(".old"):
            raise OSError(errno.EIO, "Input/output error", dst)
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)


@pytest.mark.parametrize("what", ["file", "symlink", "dangling symlink", "directory"])
def test_a_failed_force_leaves_the_original_and_nothing_else(tmp_path, monkeypatch, what):
    target = tmp_path / "target.bin"
    target.write_bytes(b"target")
    dest = tmp_path / "m.keras"
    if what == "file":
        dest.write_bytes(b"old")
    elif what == "symlink":
        dest.symlink_to(target)
    elif what == "dangling symlink":
        dest.symlink_to(tmp_path / "nowhere")
    else:
        dest.mkdir()
        (dest / "x").write_bytes(b"old")
    before = _entries(tmp_path)
    _failing_rename(monkeypatch, "m.keras")
    with pytest.raises(OutputError, match=r"m\.keras: cannot write \(Input/output error\); nothing was written"):
        with Outputs(force=True) as out:
            if what == "directory":
                d = out.stage(str(dest), kind="dir")
                open(os.path.join(d, "y"), "w").close()
            else:
                out.write_bytes(str(dest), b"new")
            out.write_bytes(str(tmp_path / "r.json"), b"{}")
    monkeypatch.undo()
    assert _entries(tmp_path) == before                 # no .tfm-tmp-...old, no temp, no lock
    if what == "file":
        assert dest.read_bytes() == b"old" and not dest.is_symlink()
    elif what == "symlink":
        assert dest.is_symlink() and os.readlink(dest) == str(target) and target.read_bytes() == b"target"
    elif what == "dangling symlink":
        assert dest.is_symlink() and os.readlink(dest) == str(tmp_path / "nowhere")
    else:
        assert _entries(dest) == ["x"]


def test_a_failure_after_a_forced_replace_puts_the_symlink_back(tmp_path, monkeypatch):
    target = tmp_path / "target.bin"
    target.write_bytes(b"target")
    (tmp_path / "a").symlink_to(target)
    _failing_rename(monkeypatch, "b")                   # a is replaced first, then b fails: a is undone
    with pytest.raises(OutputError, match="Input/output error"):
        with Outputs(force=True) as out:
            out.write_bytes(str(tmp_path / "a"), b"new a")
            out.write_bytes(str(tmp_path / "b"), b"new b")
    monkeypatch.undo()
    assert _entries(tmp_path) == ["a", "target.bin"]
    assert os.readlink(tmp_path / "a") == str(target) and target.read_bytes() == b"target"


# --------------------------------------------------------------------------------------------- strict JSON

def _strict(text):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_values_become_null_and_are_listed(tmp_path):
    report = {"parity": {"max_abs": float("inf"), "max_rel": float("nan"), "ok": False},
              "per_tensor": [{"name": "dec/kernel", "value": np.float32("-inf")}, {"name": "b", "value": 0.5}],
              "weights/emb": np.array([1.0, np.nan], dtype=np.float32)}
    path = str(tmp_path / "report.json")
    atomic_write_json(path, report)
    back = _strict(open(path).read())
    assert back["parity"] == {"max_abs": None, "max_rel": None, "ok": False}
    assert back["per_tensor"][0]["value"] is None and back["per_tensor"][1]["value"] == 0.5
    assert back["non_finite"] == {"/parity/max_abs": "Infinity", "/parity/max_rel": "NaN",
                                  "/per_tensor/0/value": "-Infinity", "/weights~1emb/1": "NaN"}
    with Outputs() as out:
        out.write_json(str(tmp_path / "o.json"), {"loss": float("nan")})
    assert _strict((tmp_path / "o.json").read_text()) == {"loss": None, "non_finite": {"/loss": "NaN"}}


def test_finite_json_is_unchanged_and_arrays_of_records_flag_each_record():
    assert to_json_text({"k": 1, "x": 0.25}) == json.dumps({"k": 1, "x": 0.25}, indent=2) + "\n"
    assert _strict(to_json_text([{"a": float("inf")}, {"a": 1.0}])) == [
        {"a": None, "non_finite": {"/a": "Infinity"}}, {"a": 1.0}]


def test_inspect_json_is_strict(tmp_path, capsys):
    from migrate.cli import main

    path = str(tmp_path / "m.npz")
    np.savez(path, **{"dense/W:0": np.zeros((2, 3), np.float32)})
    assert main(["inspect", path, "--json"]) == 0
    assert _strict(capsys.readouterr().out)["variables"][0]["name"] == "dense/W"


# --------------------------------------------------------------------------------------------- the real CLI

def _second_checkpoint(src, dst):
    """A copy of the legacy checkpoint `src` with every float tensor changed (same names, shapes, graph)."""
    import shutil

    import tensorflow as tf

    shutil.copytree(src, dst)
    prefix = tf.train.latest_checkpoint(src)
    reader = tf.train.load_checkpoint(prefix)
    names = sorted(reader.get_variable_to_shape_map())
    values = [reader.get_tensor(n) for n in names]
    values = [v + 0.25 if v.dtype == np.float32 else v for v in values]
    for f in os.listdir(dst):
        if ".data-" in f or f.endswith(".index"):
            os.unlink(os.path.join(dst, f))
    tf.raw_ops.SaveV2(prefix=os.path.join(dst, os.path.basename(prefix)), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=values)
    return {n: v for n, v in zip(names, values)}


def _keras_arrays(path):
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
        found = []
        h5.visititems(lambda _n, o: found.append(np.array(o)) if isinstance(o, h5py.Dataset) else None)
    return found


@pytest.mark.slow
def test_two_real_convert_runs_to_one_out_one_wins(tmp_path, capsys):
    """`python -m migrate convert` twice at once to one --out (two checkpoints with different weights): one
    exits 0, the other 3 with one line naming the --out; the model holds the winner's weights. Meanwhile a
    convert to an --out whose lock is held elsewhere is refused (exit 3), writing nothing."""
    import tensorflow as tf

    from migrate.cli import main
    from seq2seq_task import HParams, load_task, make_batch
    from tests.test_convert import write_legacy

    task = load_task(seed=3, train_size=16, valid_size=4, test_size=4)
    hp = HParams(embedding_size=6, num_units=8, cell_type="gru", num_layers=1, src_vocab_size=task.src_vocab.size,
                 tgt_vocab_size=task.tgt_vocab.size)
    a = str(tmp_path / "a")
    write_legacy(a, hp, make_batch(task.train[:4], task.src_vocab, task.tgt_vocab), mode="eval")
    name = "embeddings/encoder/embedding_encoder"
    embedding = {"b": _second_checkpoint(a, str(tmp_path / "b"))[name],
                 "a": tf.train.load_checkpoint(tf.train.latest_checkpoint(a)).get_tensor(name)}
    out, held_out = tmp_path / "port", tmp_path / "held"
    out.mkdir()
    held_out.mkdir()
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = {k: subprocess.Popen([sys.executable, "-m", "migrate", "convert", str(tmp_path / k), "--out",
                                  str(out / "model.keras"), "--report", str(out / f"report_{k}.json")],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in ("a", "b")}
    held = Outputs(force=True)
    held.check(str(held_out / "model.keras"))          # meanwhile: a run to an --out another writer holds
    try:
        assert main(["convert", a, "--out", str(held_out / "model.keras"), "--force"]) == 3
    finally:
        held.discard()
    assert f"{held_out / 'model.keras'}: another writer in this process is writing it" in capsys.readouterr().err
    assert os.listdir(held_out) == []
    results = {k: (*p.communicate(timeout=300), p.returncode) for k, p in procs.items()}
    assert sorted(results[k][2] for k in ("a", "b")) == [0, 3], results
    winner = next(k for k in ("a", "b") if results[k][2] == 0)
    loser = "b" if winner == "a" else "a"
    err = [line for line in results[loser][1].splitlines() if line.strip()]
    assert len(err) == 1 and f"{out / 'model.keras'}: " in err[0] and (
        "is writing it" in err[0] or "already exists" in err[0] or "wrote it first" in err[0]), err
    assert "wrote" not in results[loser][0]
    assert sorted(os.listdir(out)) == ["hparams.json", "model.keras", f"report_{winner}.json"]
    arrays = _keras_arrays(str(out / "model.keras"))
    assert any(x.shape == embedding[winner].shape and np.array_equal(x, embedding[winner]) for x in arrays)
    assert not any(x.shape == embedding[loser].shape and np.array_equal(x, embedding[loser]) for x in arrays)
