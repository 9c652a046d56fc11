"""Benchmark `tf-migrate convert --from-graph` over a corpus of real TF1 checkpoints, beside tf2onnx (issues 12, 21).

    .venv/bin/python benchmarks/bench_graph_convert.py --install-tf2onnx          # once: benchmarks/.venv-tf2onnx
    .venv/bin/python benchmarks/bench_graph_convert.py --corpus DIR [--json out.json] [--name NAME ...]
        [--modes as-given,fed,auto] [--recognisers on|off]
    .venv/bin/python benchmarks/bench_graph_convert.py --forms FORMS_DIR     # SavedModels and frozen graphs

DIR holds one folder per checkpoint and a manifest (`corpus_manifest.json` as written by `benchmarks/corpus.py`,
or `manifest.json` as in tests/fixtures/real_tf1/): per entry `dir`, `prefix`, `feeds` (a number = a fixed
scalar; a dict = generated: `{"fill": "ids", "low", "high"}`, `{"fill": "full", "value"}`, `{"fill": "normal"}`,
`{"fill": "zeros"}`, each with `"shape"`) and `outputs`. Every entry is converted in this process, in each mode:
- `as-given` (the default, issue 21's measure): `--outputs` = the manifest's outputs and nothing else: no
  `--inputs`, no `--feed`; the converter derives its own parity inputs from the graph, as for a new user,
- `fed`: the manifest's outputs and its feeds as `--inputs FEED.npz` / `--feed` (what the tests pin),
- `auto`: nothing given (the converter picks the outputs too; the table says whether it picked the manifest's).
In every mode the manifest's `restore_exclude` variables are `--variable NAME=zeros` (checkpoints TF1 itself
cannot restore whole). `--recognisers off` converts with every recogniser switched off (`recognise_rnns=False`).
Per checkpoint and mode the table prints one verdict: `ok` (converted with parity), `PARITY FAILED` (written,
parity off), `refused` (a MigrateError: its exit code and the first line of its message) or `CRASH` (any other
exception: what the CLI would show as a traceback), with the parity max abs error and the seconds (conversion +
parity, TF already imported).

tf2onnx column (when `benchmarks/.venv-tf2onnx` exists, or `--tf2onnx yes`): tf2onnx + onnxruntime live in that
virtual environment only (`--install-tf2onnx` makes it with the versions pinned in TF2ONNX_PINS; they are never a
dependency of this project). Per checkpoint, what a user runs: `python -m tf2onnx.convert --checkpoint X.meta
--inputs <every manifest feed> --outputs <the manifest's outputs>` (the names typed by hand are counted), as given,
with no hand fixes; then the `.onnx` in onnxruntime on the SAME feed as the Keras side's `--inputs`, compared with
the TF1 graph run here (the graph restored as our parity restores it) by our parity rule (atol 1e-5 x max(1,
max |ref|), integers exact). `benchmarks/tf2onnx_side.py` runs in that venv, one process per checkpoint under a
timeout; a crash or a timeout is a row. Its seconds = tf2onnx.convert + onnxruntime (TensorFlow already imported)
+ running the TF1 graph for the comparison (the work our own parity does); convert-only is in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TF2ONNX_VENV = os.path.join(ROOT, "benchmarks", ".venv-tf2onnx")
TF2ONNX_SIDE = os.path.join(ROOT, "benchmarks", "tf2onnx_side.py")
# tf2onnx 1.17 is tested on Python 3.10-3.12 with TensorFlow 2.13-2.15 (its README's matrix): the newest of those.
TF2ONNX_PINS = ("tf2onnx==1.17.0", "tensorflow-cpu==2.15.1", "onnx==1.17.0", "onnxruntime==1.20.1",
                "numpy==1.26.4", "protobuf==4.25.9")


def load_manifest(corpus: str) -> list[dict]:
    for name in ("corpus_manifest.json", "manifest.json"):
        path = os.path.join(corpus, name)
        if os.path.isfile(path):
            with open(path) as f:
                data = json.load(f)
            return data["entries"] if isinstance(data, dict) and "entries" in data else data
    raise SystemExit(f"{corpus}: no corpus_manifest.json or manifest.json (write one with benchmarks/corpus.py)")


def make_feeds(entry: dict, seed: int = 0) -> tuple[dict, dict]:
    """(arrays for --inputs, scalars for --feed) from the manifest's feeds."""
    rng = np.random.RandomState(seed)
    arrays, scalars = {}, {}
    dtypes = {k + ":0": v.get("dtype") for k, v in (entry.get("placeholders") or {}).items() if isinstance(v, dict)}
    for name, spec in (entry.get("feeds") or {}).items():
        if not isinstance(spec, dict):
            scalars[name] = spec
            continue
        shape, fill = spec["shape"], spec.get("fill", "normal")
        dt = dtypes.get(name) or ("int32" if fill == "ids" else "float32")
        if fill == "ids":
            arrays[name] = rng.randint(spec["low"], spec["high"], size=shape).astype(dt)
        elif fill == "full":
            arrays[name] = np.full(shape, spec["value"], dtype=dt)
        elif fill == "zeros":
            arrays[name] = np.zeros(shape, dtype=dt)
        else:
            arrays[name] = rng.normal(0, 1, shape).astype(dt)
    return arrays, scalars


# mode -> (the manifest's outputs given?, the manifest's feeds given as --inputs / --feed?)
MODES = {"as-given": (True, False), "fed": (True, True), "auto": (False, False)}


def first_line(e: BaseException) -> str:
    """The first non-empty line of an exception's message (a MigrateError's reason; its hint follows)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


def convert_one(entry: dict, corpus: str, mode: str, work: str, recognise_rnns: bool = True) -> dict:
    """One conversion of `entry` in `mode` (MODES). Never raises: the row's `status` is ok / parity failed /
    refused (with `exit_code` and `why`, the message's first line) / crash (`why` = the exception)."""
    from migrate.errors import MigrateError
    from migrate.graph import convert_graph

    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
    outputs_given, feeds_given = MODES[mode]
    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    arrays, scalars = make_feeds(entry) if feeds_given else ({}, {})
    npz = os.path.join(work, f"{entry['name']}_{mode}.npz")
    if arrays:
        np.savez(npz, **arrays)
    out = os.path.join(work, f"{entry['name']}_{mode}")
    row = {"name": entry["name"], "mode": mode, "tf": entry.get("tf_version", "?")}
    t0 = time.perf_counter()
    try:
        report = convert_graph(prefix, out, outputs=entry["outputs"] if outputs_given else None,
                               feeds=scalars, inputs_npz=npz if arrays else None, force=True, log=lambda m: None,
                               recognise_rnns=recognise_rnns,
                               variables={n: "zeros" for n in entry.get("restore_exclude", ())})  # --variable N=zeros
        row.update(converted=True, parity_ok=report["parity"]["ok"],
                   status="ok" if report["parity"]["ok"] else "parity failed",
                   max_abs=max((r.get("max_abs", 0.0) for r in report["parity"]["outputs"]), default=0.0),
                   outputs=[o["graph"] for o in report["graph"]["outputs"]], translated=report["translated"])
    except MigrateError as e:
        report_path = os.path.join(out, "convert_report.json")
        row.update(converted=False, parity_ok=False, status="refused",
                   why=first_line(e).replace(work + os.sep, "").replace(corpus + os.sep, "")[:300],
                   exit_code=e.exit_code)
        if os.path.isfile(report_path):   # ParityFailed: written, parity off; say where and how much
            with open(report_path) as f:
                parity_rows = json.load(f)["parity"]["outputs"]
            bad = [r for r in parity_rows if not r.get("ok")]
            row.update(converted=True, status="parity failed",
                       max_abs=max((r.get("max_abs", 0.0) for r in parity_rows), default=0.0),
                       why="parity: " + "; ".join(f"{r['graph']} max abs {r.get('max_abs', float('nan')):.2e} > "
                                                   f"{r.get('tolerance', float('nan')):.2e}" for r in bad)[:300])
    except Exception as e:  # noqa: BLE001 - a benchmark reports every failure and goes on
        row.update(converted=False, parity_ok=False, status="crash",
                   why=f"{type(e).__name__}: {first_line(e)[:300]}", exit_code="crash")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    if mode == "auto" and row.get("outputs"):
        row["auto_matches_manifest"] = sorted(row["outputs"]) == sorted(entry["outputs"])
    return row


# -- tf2onnx, in its own virtual environment -------------------------------------------------------------------

def venv_python(venv: str = TF2ONNX_VENV) -> str:
    return os.path.join(venv, "bin", "python")


def install_tf2onnx(venv: str = TF2ONNX_VENV, python: str | None = None) -> int:
    """Create `venv` (python -m venv) and pip-install TF2ONNX_PINS from PyPI into it. Returns an exit code."""
    python = python or sys.executable
    if not os.path.isfile(venv_python(venv)):
        print(f"creating {venv} with {python} -m venv", flush=True)
        if subprocess.call([python, "-m", "venv", venv]) != 0:
            print(f"{venv}: `{python} -m venv` failed; pass --venv-python PATH (a Python 3.10-3.12)", file=sys.stderr)
            return 1
    v = subprocess.run([venv_python(venv), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                       text=True).stdout.strip()
    if v not in ("(3, 10)", "(3, 11)", "(3, 12)"):
        print(f"{venv}: Python {v}; tf2onnx 1.17 and TensorFlow 2.15 need 3.10-3.12 (remove the folder and pass "
              f"--venv-python PATH)", file=sys.stderr)
        return 1
    cmd = [venv_python(venv), "-m", "pip", "install", "--disable-pip-version-check", *TF2ONNX_PINS]
    print("$ " + shlex.join(cmd), flush=True)
    if subprocess.call(cmd) != 0:
        print(f"{venv}: pip install failed (see above); nothing in the project's own environment was changed",
              file=sys.stderr)
        return 1
    return 0


def tf2onnx_versions(venv: str = TF2ONNX_VENV) -> dict | None:
    if not os.path.isfile(venv_python(venv)):
        return None
    code = ("import importlib.metadata as m, json, sys; print(json.dumps({p: m.version(p) for p in "
            "('tf2onnx', 'tensorflow-cpu', 'onnx', 'onnxruntime', 'numpy')} | {'python': sys.version.split()[0]}))")
    try:
        r = subprocess.run([venv_python(venv), "-c", code], capture_output=True, text=True, timeout=120)
        return json.loads(r.stdout) if r.returncode == 0 else None
    except (subprocess.SubprocessError, ValueError):
        return None


def tf1_reference(entry: dict, corpus: str) -> dict:
    """The manifest's outputs computed by the TF1 graph (restored as `convert --from-graph` restores it for its
    parity: constant dropout keep probabilities set to 1) on the benchmark's feed. Returns feed, ref (None when
    the graph does not run here), why, seconds."""
    from migrate.graph.convert import _inference_constants
    from migrate.graph.meta import TF1Graph

    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    arrays, scalars = make_feeds(entry)
    feed = dict(arrays)
    feed.update({k: np.asarray(v, dtype=np.float32 if isinstance(v, float) else None) for k, v in scalars.items()})
    t0 = time.perf_counter()
    dropout = []
    try:
        with TF1Graph(prefix, variables={n: "zeros" for n in entry.get("restore_exclude", ())}) as tf1:
            dropout = _inference_constants(tf1)   # constant keep probabilities -> 1.0 before the import
            for k, v in scalars.items():
                feed[k] = np.asarray(v, dtype=tf1.placeholder(k).dtype)
            ref = tf1.run(entry["outputs"], feed)
        why = None
    except Exception as e:  # noqa: BLE001 - the row says why there is no reference
        ref, why = None, f"{type(e).__name__}: {first_line(e)[:200]}"
    return {"feed": feed, "ref": ref, "why": why, "seconds": round(time.perf_counter() - t0, 3), "dropout": dropout}


def hand_fixed_meta(prefix: str, meta: str, folder: str) -> tuple[str, list[str]]:
    """The cheap hand fixes a tf2onnx user makes to a `.meta`, done here the way a user would: constant dropout
    keep probabilities set to 1 (the graph drops out at inference otherwise) and collection entries naming ops the
    graph lacks removed (TFLearn's `Adam`); written as PREFIX.meta in `folder` beside links to the checkpoint's
    files (tf2onnx restores from the .meta path minus `.meta`). Returns (the .meta to use, the fixes made)."""
    from migrate.graph.convert import _inference_constants
    from migrate.graph.meta import TF1Graph

    tf1 = TF1Graph(prefix, meta=meta)            # the .meta read as data; nothing is imported here
    dropout = _inference_constants(tf1)          # sets those constants to 1.0 in tf1.meta_def
    m = tf1.meta_def                             # collections naming absent ops already pruned
    dropped = tf1.pruned_collections
    fixes = ([f"dropout keep_prob constants set to 1 ({len(dropout)})"] if dropout else []) + (
        [f"collection entries naming absent ops removed ({sum(dropped.values())})"] if dropped else [])
    if not fixes:
        return meta, []
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(prefix)
    src = os.path.dirname(prefix)
    for f in os.listdir(src):
        if f.startswith(base) and not f.endswith(".meta"):
            os.symlink(os.path.join(src, f), os.path.join(folder, f))
    out = os.path.join(folder, base + ".meta")
    with open(out, "wb") as f:
        f.write(m.SerializeToString())
    return out, fixes


def tf2onnx_one(entry: dict, corpus: str, work: str, reference: dict, timeout: float,
                hand_fixes: bool = False) -> dict:
    """A user's first try with tf2onnx (as given), or with `hand_fixes` a second try after the cheap hand fixes
    (`hand_fixed_meta` + every input's shape in --inputs, as `X:0[10,50]`); then onnxruntime on the same feed,
    compared with the TF1 graph. Never raises: a failure, a crash of the venv's process or a timeout is a row."""
    from migrate.files import find_meta
    from migrate.graph import parity

    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    meta = find_meta(prefix) or prefix + ".meta"
    d = os.path.join(work, f"{entry['name']}_tf2onnx" + ("_fixed" if hand_fixes else ""))
    os.makedirs(d, exist_ok=True)
    feed = reference["feed"]
    np.savez(os.path.join(d, "feed.npz"), **feed)
    inputs, outputs = list(feed), list(entry["outputs"])
    inputs_arg, fixes = ",".join(inputs), []
    if hand_fixes:
        try:
            meta, fixes = hand_fixed_meta(prefix, meta, os.path.join(d, "checkpoint"))
        except Exception as e:  # noqa: BLE001 - the .meta as given then
            fixes = [f"(the .meta could not be fixed: {type(e).__name__})"]
        shaped = ",".join(f"{k}[{','.join(str(n) for n in np.shape(v))}]" if np.ndim(v) else k
                          for k, v in feed.items())
        if shaped != inputs_arg:
            inputs_arg = shaped
            fixes.append("input shapes in --inputs")
    user_args = ["--checkpoint", meta, "--inputs", inputs_arg, "--outputs", ",".join(outputs),
                 "--output", os.path.join(d, "model.onnx")]
    row = {"name": entry["name"], "mode": "tf2onnx+fixes" if hand_fixes else "tf2onnx",
           "tf": entry.get("tf_version", "?"), "converted": False, "parity_ok": False,
           "names_typed": len(inputs) + len(outputs), "hand_fixes": fixes,
           "command": "python -m tf2onnx.convert " + shlex.join(user_args[:-1] + ["model.onnx"])}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    t0 = time.perf_counter()
    with open(os.path.join(d, "log.txt"), "w") as log:
        proc = subprocess.Popen([venv_python(), TF2ONNX_SIDE, "--work", d, "--", *user_args], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=d, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            rc = "timeout"
    row["wall_seconds"] = round(time.perf_counter() - t0, 2)
    result_path = os.path.join(d, "result.json")
    res = None
    if os.path.isfile(result_path):
        with open(result_path) as f:
            res = json.load(f)
    if rc == "timeout":
        row["why"] = f"timeout after {timeout:.0f} s (tf2onnx.convert + onnxruntime, one process)"
        row["timed_out"] = True
        return row
    if res is None:
        with open(os.path.join(d, "log.txt"), errors="replace") as f:
            tail = [ln.strip() for ln in f if ln.strip()]
        row["why"] = f"crash in the tf2onnx venv (exit {rc}): {tail[-1][:200] if tail else 'no output'}"
        return row
    row.update(converted=res["converted"], exit=res.get("exit"), logged_errors=res.get("logged_errors", []),
               seconds_import=res.get("seconds_import"), seconds_convert=res.get("seconds_convert"),
               seconds_ort=res.get("seconds_ort", 0.0), seconds_tf1_reference=reference["seconds"])
    if res.get("why"):
        row["why"] = res["why"].replace(d + os.sep, "")
    if res["converted"]:
        got = np.load(os.path.join(d, "outputs.npz"))
        got = [got[f"out_{k}"] for k in range(len(got.files))]
        if reference["ref"] is None:
            row["why"] = f"converted, but no TF1 reference to compare with ({reference['why']})"
        elif len(got) != len(outputs):
            row["why"] = f"the .onnx file gives {len(got)} outputs, not {len(outputs)}"
        else:
            rows = [parity.compare(n, r, o) for n, r, o in zip(outputs, reference["ref"], got)]
            row.update(parity=rows, parity_ok=all(r["ok"] for r in rows),
                       max_abs=max((r.get("max_abs", float("inf")) for r in rows), default=0.0))
            bad = [r for r in rows if not r["ok"]]
            if bad:
                row["why"] = "parity: " + "; ".join(parity.line(r).strip() for r in bad)[:300]
                if reference.get("dropout") and not hand_fixes:
                    row["why"] += (f" (the graph drops out at inference: {len(reference['dropout'])} constant "
                                   f"keep_prob < 1, e.g. {next(iter(reference['dropout']))}; the .onnx keeps that dropout)")
    # like ours: conversion + parity (TensorFlow imported), parity = the .onnx run + the TF1 graph run
    row["seconds"] = round(row["seconds_convert"] + row["seconds_ort"] + reference["seconds"], 2)
    return row


# -- the other forms: TF1 SavedModels and frozen GraphDefs (issue 24) -------------------------------------------
#
# `--forms DIR`: DIR as written by `benchmarks/corpus.py --forms others` (`forms_manifest.json`, one folder per
# entry). Per entry: what it holds (read as data: nodes, the recurrent / convolution ops, the signature), ours
# (`convert_graph` on the SavedModel folder or the `.pb`, the entry's feeds as --inputs / --feed, a frozen graph's
# outputs as --outputs; a SavedModel's outputs are its signature's, and it is exported back with
# --export-saved-model and called through both signatures) and tf2onnx on the same files (`--saved-model DIR --tag
# serve --signature_def KEY`, or `--graphdef X.pb --inputs ... --outputs ...`), compared with TF 2.21's own loader
# of the form (`corpus.run_form`) on the same feed.

RECURRENT_OPS = ("Enter", "TensorArrayV3", "While", "StatelessWhile", "LSTMBlockCell", "GRUBlockCell", "BlockLSTM",
                 "BlockLSTMV2", "CudnnRNN", "CudnnRNNV3")
CONV_OPS = ("Conv2D", "Conv1D", "DepthwiseConv2dNative", "Conv3D")
FORMS_COLUMNS = ("saved_model", "frozen_graph", "model_dir")


def describe_form(entry: dict, folder: str) -> dict:
    """What a SavedModel or frozen graph holds, read as data (nothing imported): nodes, the most used ops, loops and
    fused cells, convolutions, constants' bytes (a frozen graph's former variables) and the signature."""
    import collections

    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.normpath(os.path.join(folder, entry["path"]))
    if entry["form"] == "saved_model":
        sm = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            sm.ParseFromString(f.read())
        mg = next(m for m in sm.meta_graphs if sorted(m.meta_info_def.tags) == sorted(entry.get("tag_set", ["serve"])))
        nodes, version = mg.graph_def.node, mg.meta_info_def.tensorflow_version
        sig = mg.signature_def[entry["signature"]["key"]]
        signature = (f"{entry['signature']['key']}: " + ", ".join(sorted(sig.inputs)) + " -> "
                     + ", ".join(sorted(sig.outputs)))
    elif entry["form"] == "model_dir":   # the .meta of the checkpoint its `checkpoint` file names
        from tensorflow.core.protobuf import meta_graph_pb2

        prefix = tf.train.get_checkpoint_state(path).model_checkpoint_path
        with open(os.path.join(path, os.path.basename(prefix)) + ".meta", "rb") as f:
            mg = meta_graph_pb2.MetaGraphDef.FromString(f.read())
        nodes, version, signature = mg.graph_def.node, mg.meta_info_def.tensorflow_version, None
    else:
        gd = tf.compat.v1.GraphDef()
        with open(path, "rb") as f:
            gd.ParseFromString(f.read())
        nodes, version, signature = gd.node, f"producer {gd.versions.producer}", None
    ops = collections.Counter(n.op for n in nodes)
    const_bytes = sum(len(n.attr["value"].tensor.tensor_content) for n in nodes if n.op == "Const")
    steps = ops.get("MatMul", 0)
    return {"nodes": len(nodes), "tf": version, "top_ops": dict(ops.most_common(6)),
            "loops_and_fused_cells": {o: ops[o] for o in RECURRENT_OPS if ops.get(o)},
            "convolutions": {o: ops[o] for o in CONV_OPS if ops.get(o)}, "matmul": steps,
            "const_bytes": const_bytes, "signature": signature,
            "placeholders": sorted(n.name for n in nodes if n.op in ("Placeholder", "PlaceholderWithDefault"))}


def _form_feed(entry: dict, seed: int = 0) -> dict:
    """{graph tensor: array} from the entry's feeds (a SavedModel's are keyed by signature input key)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from corpus import make_feed

    rng = np.random.default_rng(seed)
    feed = {}
    for k, spec in entry["feeds"].items():
        if entry["form"] == "saved_model":
            info = entry["signature"]["inputs"][k]
            feed[info["tensor"]] = make_feed(spec, info["dtype"], rng)
        elif entry["form"] == "model_dir":   # keyed by the tensors the model starts at (the pipeline's)
            feed[k] = make_feed(spec, entry["starts"][k]["dtype"], rng)
        else:
            feed[k] = make_feed(spec, entry["inputs"][k]["dtype"], rng)
    return feed


def convert_form(entry: dict, folder: str, work: str, recognise_rnns: bool = True) -> dict:
    """Ours on one form: `convert_graph(PATH, ...)` with the entry's feeds; a SavedModel also exported
    (`export_saved_model`) and its served signature compared with the TF1 SavedModel's. Never raises."""
    import inspect

    from migrate.errors import MigrateError
    from migrate.graph import convert_graph

    path = os.path.normpath(os.path.join(folder, entry["path"]))
    feed = _form_feed(entry)
    arrays = {k: v for k, v in feed.items() if np.ndim(v)}
    scalars = {k: v.item() for k, v in feed.items() if not np.ndim(v)}
    npz = os.path.join(work, f"{entry['name']}_form.npz")
    if arrays:
        np.savez(npz, **arrays)
    out = os.path.join(work, f"{entry['name']}_form")
    kw = {"feeds": scalars, "inputs_npz": npz if arrays else None, "force": True, "log": lambda m: None,
          "recognise_rnns": recognise_rnns}
    accepted = inspect.signature(convert_graph).parameters
    kw["export_saved_model"] = os.path.join(work, f"{entry['name']}_served")   # back into serving, every form
    if entry["form"] == "saved_model":
        kw.update(signature=entry["signature"]["key"], tag_set=",".join(entry.get("tag_set", ["serve"])))
    else:
        kw["outputs"] = entry["outputs"]
    missing = [k for k in ("signature", "tag_set", "export_saved_model") if k in kw and k not in accepted]
    row = {"name": entry["name"], "form": entry["form"], "mode": "ours"}
    t0 = time.perf_counter()
    try:
        if missing:   # this checkout's convert has no such option: the form is not read here
            raise TypeError(f"convert_graph has no {', '.join(missing)} (the SavedModel input form is not in this "
                            f"checkout)")
        report = convert_graph(path, out, **kw)
        row.update(converted=True, parity_ok=report["parity"]["ok"], status="ok" if report["parity"]["ok"] else
                   "parity failed", max_abs=max((r.get("max_abs", 0.0) for r in report["parity"]["outputs"]),
                                                default=0.0), translated=report.get("translated"))
        exported = report.get("export")
        if exported:
            check = exported.get("check") or {}
            original = check.get("original") or {}
            against = original if original else {"ok": check.get("ok"), "outputs": check.get("outputs", [])}
            row["served"] = {"written": exported.get("written"), "ok": against.get("ok"),
                             "against": "the TF1 SavedModel's signature" if original else "the Keras model",
                             "signature": (exported.get("signature") or {}).get("key"),
                             "max_abs": max((r.get("max_abs") or 0.0 for r in against.get("outputs", [])),
                                            default=None)}
            if not against.get("ok"):
                row.update(parity_ok=False, status="parity failed",
                           why=f"served signature vs {row['served']['against']}: {against}"[:300])
    except MigrateError as e:
        row.update(converted=False, parity_ok=False, status="refused", exit_code=e.exit_code,
                   why=first_line(e).replace(work + os.sep, "").replace(folder + os.sep, "")[:300])
        if os.path.isfile(os.path.join(out, "convert_report.json")):
            row.update(converted=True, status="parity failed")
    except Exception as e:  # noqa: BLE001 - a benchmark reports every failure and goes on
        row.update(converted=False, parity_ok=False, status="crash", exit_code="crash",
                   why=f"{type(e).__name__}: {first_line(e)[:300]}")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def form_reference(entry: dict, folder: str) -> dict:
    """The entry's outputs by TF 2.21's loader of its form (`corpus.run_form`) on the benchmark's feed, keyed by
    graph tensor name."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from corpus import run_form

    t0 = time.perf_counter()
    try:
        got = run_form(entry, folder)
        if entry["form"] == "saved_model":
            got = {entry["signature"]["outputs"][k]["tensor"]: v for k, v in got.items()}
        return {"ref": got, "why": None, "seconds": round(time.perf_counter() - t0, 3), "feed": _form_feed(entry)}
    except Exception as e:  # noqa: BLE001 - the row says why there is no reference
        return {"ref": None, "why": f"{type(e).__name__}: {first_line(e)[:200]}", "seconds": 0.0,
                "feed": _form_feed(entry)}


def tf2onnx_form(entry: dict, folder: str, work: str, reference: dict, timeout: float) -> dict:
    """tf2onnx on the same file, as its README says for the form; onnxruntime on the same feed, compared with TF
    2.21's loader of the form. Never raises."""
    from migrate.graph import parity

    path = os.path.normpath(os.path.join(folder, entry["path"]))
    d = os.path.join(work, f"{entry['name']}_form_tf2onnx")
    os.makedirs(d, exist_ok=True)
    feed = reference["feed"]
    aliases = {}   # from a SavedModel tf2onnx names the .onnx inputs / outputs after the signature's keys
    if entry["form"] == "saved_model":
        for k, v in entry["signature"]["inputs"].items():
            aliases.update({k: feed[v["tensor"]], k.lower(): feed[v["tensor"]]})
    np.savez(os.path.join(d, "feed.npz"), **feed, **{k: v for k, v in aliases.items() if k not in feed})
    keys = {}
    if entry["form"] == "saved_model":
        user_args = ["--saved-model", path, "--tag", ",".join(entry.get("tag_set", ["serve"])),
                     "--signature_def", entry["signature"]["key"]]
        outputs, typed = [v["tensor"] for v in entry["signature"]["outputs"].values()], 0
        keys = {v["tensor"]: k for k, v in entry["signature"]["outputs"].items()}
    else:
        outputs = list(entry["outputs"])
        given = path
        if entry["form"] == "model_dir":   # tf2onnx takes a checkpoint's .meta (--checkpoint)
            import tensorflow as tf

            given = os.path.join(path, os.path.basename(tf.train.get_checkpoint_state(path).model_checkpoint_path))
        user_args = ["--checkpoint" if entry["form"] == "model_dir" else "--graphdef",
                     given + (".meta" if entry["form"] == "model_dir" else ""),
                     "--inputs", ",".join(feed), "--outputs", ",".join(outputs)]
        typed = len(feed) + len(outputs)
    user_args += ["--output", os.path.join(d, "model.onnx")]
    row = {"name": entry["name"], "form": entry["form"], "mode": "tf2onnx", "converted": False, "parity_ok": False,
           "names_typed": typed, "command": "python -m tf2onnx.convert " + shlex.join(user_args[:-1] + ["model.onnx"])}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    t0 = time.perf_counter()
    with open(os.path.join(d, "log.txt"), "w") as log:
        proc = subprocess.Popen([venv_python(), TF2ONNX_SIDE, "--work", d, "--", *user_args], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=d, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            row.update(timed_out=True, why=f"timeout after {timeout:.0f} s")
            return row
    row["wall_seconds"] = round(time.perf_counter() - t0, 2)
    try:
        with open(os.path.join(d, "result.json")) as f:
            res = json.load(f)
    except OSError:
        row["why"] = f"crash in the tf2onnx venv (exit {rc})"
        return row
    row.update(converted=res["converted"], why=res.get("why"), seconds_convert=res.get("seconds_convert"),
               seconds_ort=res.get("seconds_ort", 0.0))
    if res["converted"]:
        got = np.load(os.path.join(d, "outputs.npz"))
        by_name = dict(zip(res.get("onnx_outputs", []), (got[f"out_{k}"] for k in range(len(got.files)))))
        if reference["ref"] is None:
            row["why"] = f"converted, but no reference ({reference['why']})"
        else:
            for n in outputs:   # an output named after its signature key
                if n not in by_name and keys.get(n) in by_name:
                    by_name[n] = by_name[keys[n]]
            rows = [parity.compare(n, reference["ref"][n], by_name[n]) for n in outputs if n in by_name]
            row.update(parity=rows, parity_ok=len(rows) == len(outputs) and all(r["ok"] for r in rows),
                       max_abs=max((r.get("max_abs", float("inf")) for r in rows), default=float("inf")))
            if len(rows) != len(outputs):
                row["why"] = f"the .onnx outputs {sorted(by_name)} are not {outputs}"
    row["seconds"] = round((row.get("seconds_convert") or 0) + (row.get("seconds_ort") or 0)
                           + reference["seconds"], 2)
    return row


def forms_table(forms: str, names: list[str] | None, versions: dict | None, timeout: float,
                recognise_rnns: bool = True) -> list[dict]:
    """The forms benchmark: one line per entry, a column per form (SavedModel / frozen graph: ours) and tf2onnx."""
    with open(os.path.join(forms, "forms_manifest.json")) as f:
        entries = [e for e in json.load(f) if not names or e["name"] in names]
    rows = []
    print(f"{'model (form)':46s} {'holds':44s} " + " ".join(f"{'ours ' + f:31s}" for f in FORMS_COLUMNS) + " "
          + (f"{'tf2onnx ' + versions['tf2onnx']:31s}" if versions else ""), flush=True)
    with tempfile.TemporaryDirectory() as work:
        for e in entries:
            folder = os.path.join(forms, e["dir"])
            what = describe_form(e, folder)
            loops = ",".join(f"{k} {v}" for k, v in what["loops_and_fused_cells"].items()) or "no loop"
            conv = ",".join(f"{k} {v}" for k, v in what["convolutions"].items())
            holds = f"{what['nodes']} nodes, MatMul {what['matmul']}, {loops}" + (f", {conv}" if conv else "")
            ours = convert_form(e, folder, work, recognise_rnns)
            ours["holds"] = what
            rows.append(ours)
            t = None
            if versions:
                t = tf2onnx_form(e, folder, work, form_reference(e, folder), timeout)
                rows.append(t)
            cols = [cell(ours) if e["form"] == f else f"{'':31s}" for f in FORMS_COLUMNS]
            print(f"{e['name'] + ' (' + e['form'] + ')':46s} {holds[:44]:44s} {' '.join(cols)} "
                  + (cell(t) if versions else ""), flush=True)
            if what["signature"]:
                print(f"    signature {what['signature']}", flush=True)
            for label, r in (("ours", ours), ("tf2onnx", t)):
                if r and r.get("why") and not r.get("parity_ok"):
                    print(f"    {label}: {r['why'][:200]}", flush=True)
            if ours.get("served"):
                print(f"    served back (--export-saved-model): {ours['served']}", flush=True)
    ok = [r for r in rows if r["mode"] == "ours" and r.get("parity_ok")]
    n = sum(1 for r in rows if r["mode"] == "ours")
    print(f"\nours: {len(ok)} / {n} convert with parity (" + ", ".join(
        f"{form} {sum(1 for r in ok if r['form'] == form)} / {sum(1 for r in rows if r['mode'] == 'ours' and r['form'] == form)}"
        for form in FORMS_COLUMNS if any(r["form"] == form for r in rows)) + ")")
    if versions:
        t_ok = [r for r in rows if r["mode"] == "tf2onnx" and r.get("parity_ok")]
        print(f"tf2onnx: {len(t_ok)} / {n} convert with parity (names typed by hand: "
              f"{sum(r['names_typed'] for r in rows if r['mode'] == 'tf2onnx')})")
    return rows


# -- the table -------------------------------------------------------------------------------------------------

def status(r: dict | None) -> str:
    """One verdict per row: ours ok / PARITY FAILED / refused N (exit code) / CRASH; tf2onnx's the same, with
    `not converted` for a failed tf2onnx.convert and `timeout`."""
    if r is None:
        return "-"
    if r.get("timed_out"):
        return "timeout"
    if "status" in r:   # ours
        return {"ok": "ok", "parity failed": "PARITY FAILED", "crash": "CRASH"}.get(
            r["status"], f"refused {r.get('exit_code', '?')}")
    return "ok" if r.get("parity_ok") else "PARITY FAILED" if r.get("converted") else "not converted"


def cell(r: dict | None) -> str:
    if r is None:
        return f"{'-':14s} {'':8s} {'':7s}"
    err = f"{r['max_abs']:.1e}" if "max_abs" in r else "-"
    secs = f"{r['seconds']:6.2f}s" if r.get("seconds") is not None else "      -"
    return f"{status(r):14s} {err:8s} {secs}"


def median(xs):
    return statistics.median(xs) if xs else float("nan")


WHAT_IS_GIVEN = {"as-given": "the manifest's outputs only, no --inputs / --feed",
                 "fed": "the manifest's outputs and feeds (--inputs / --feed)", "auto": "nothing: outputs chosen too"}


def summary(ours: dict, t2o: dict, names: list[str], t2o_fixed: dict | None = None,
            modes: tuple[str, ...] = ("as-given",)) -> list[str]:
    """The closing lines: per mode, how many convert with parity / fail parity / are refused / crash; then
    tf2onnx against the first mode."""
    lines = []
    for mode in modes:
        rows = [ours[(n, mode)] for n in names if (n, mode) in ours]
        if not rows:
            continue
        count = {k: sum(1 for r in rows if r["status"] == k) for k in ("ok", "parity failed", "refused", "crash")}
        line = (f"ours {mode} ({WHAT_IS_GIVEN[mode]}): {count['ok']} / {len(rows)} convert with parity "
                f"({100.0 * count['ok'] / len(rows):.0f}%), {count['parity failed']} fail parity, "
                f"{count['refused']} refused, {count['crash']} crash")
        if mode == "auto":
            line += f"; auto outputs = the manifest's for {sum(1 for r in rows if r.get('auto_matches_manifest'))}"
        lines.append(line)
    primary = modes[0]
    ok = {n for n in names if ours.get((n, primary), {}).get("parity_ok")}
    if not t2o:
        return lines
    rows = [t2o[n] for n in names if n in t2o]
    t_ok = {r["name"] for r in rows if r.get("parity_ok")}
    conv = [r for r in rows if r.get("converted")]
    lines.append(f"tf2onnx (as given, no hand fixes): {len(t_ok)} / {len(rows)} convert with parity; "
                 f"{len(conv) - len(t_ok)} run in onnxruntime but fail parity; {len(rows) - len(conv)} give no "
                 f"runnable .onnx ({sum(1 for r in rows if r.get('timed_out'))} timed out); names typed by hand: {sum(r['names_typed'] for r in rows)} in all "
                 f"(median {median([r['names_typed'] for r in rows]):g} per model)")
    fixed_ok = {n for n, r in (t2o_fixed or {}).items() if r.get("parity_ok")}
    if t2o_fixed:
        lines.append(f"tf2onnx, 2nd try after cheap hand fixes (fixed .meta / input shapes) where the 1st failed: "
                     f"{len(fixed_ok)} / {len(t2o_fixed)} more with parity"
                     + (f" ({', '.join(sorted(fixed_ok))})" if fixed_ok else "")
                     + f"; {len(t_ok | fixed_ok)} / {len(rows)} in all")
    lines.append(f"tf2onnx does, we don't ({primary}): " + (", ".join(sorted(t_ok - ok)) or "none")
                 + " as given; " + (", ".join(sorted(fixed_ok - ok)) or "none") + " after hand fixes")
    lines.append(f"we do ({primary}), tf2onnx doesn't (as given): " + (", ".join(sorted(ok - t_ok)) or "none"))
    both = [n for n in names if n in ok and n in t_ok]
    ratios = {n: ours[(n, primary)]["seconds"] / t2o[n]["seconds"] for n in both if t2o[n]["seconds"]}
    conv_only = {n: ours[(n, primary)]["seconds"] / (t2o[n]["seconds_convert"] + t2o[n]["seconds_ort"])
                 for n in both if t2o[n]["seconds_convert"]}
    lines.append("time ours/tf2onnx where both convert with parity: "
                 + (", ".join(f"{n} {r:.2f}" for n, r in ratios.items()) or "-")
                 + f"; median {median(list(ratios.values())):.2f} (vs tf2onnx convert + onnxruntime only, without "
                 f"the TF1 run a parity check needs: median {median(list(conv_only.values())):.2f})")
    fixed_both = [n for n in names if n in ok and n in fixed_ok]
    if fixed_both:
        more = {n: ours[(n, primary)]["seconds"] / t2o_fixed[n]["seconds"] for n in fixed_both}
        lines.append("time ours/tf2onnx after hand fixes: " + ", ".join(f"{n} {r:.2f}" for n, r in more.items())
                     + f"; median over both lists {median(list(ratios.values()) + list(more.values())):.2f}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="folder with the checkpoints and their manifest")
    ap.add_argument("--json", help="write the rows as JSON")
    ap.add_argument("--name", action="append", help="only these entries")
    ap.add_argument("--modes", default="as-given",
                    help=f"comma-separated, from {', '.join(MODES)} (default as-given; the first one is compared "
                         f"with tf2onnx)")
    ap.add_argument("--recognisers", choices=("on", "off"), default="on",
                    help="off: convert with every recogniser switched off (the generic tier alone)")
    ap.add_argument("--tf2onnx", choices=("auto", "yes", "no"), default="auto",
                    help=f"the tf2onnx column: auto = when {os.path.relpath(TF2ONNX_VENV, ROOT)} exists (default)")
    ap.add_argument("--install-tf2onnx", action="store_true",
                    help=f"create {os.path.relpath(TF2ONNX_VENV, ROOT)} with {' '.join(TF2ONNX_PINS)} first")
    ap.add_argument("--venv-python", help="the Python (3.10-3.12) that creates that venv (default: this one)")
    ap.add_argument("--tf2onnx-timeout", type=float, default=600.0, help="seconds per checkpoint (default 600)")
    ap.add_argument("--tf2onnx-hand-fixes", action=argparse.BooleanOptionalAction, default=True,
                    help="where tf2onnx's first try fails, a second try after cheap hand fixes (default on)")
    ap.add_argument("--forms", metavar="DIR", help="also (or only, without --corpus) the TF1 SavedModels and "
                    "frozen graphs of DIR/forms_manifest.json (benchmarks/corpus.py --forms others)")
    args = ap.parse_args(argv)
    if args.install_tf2onnx:
        code = install_tf2onnx(python=args.venv_python)
        if code or not (args.corpus or args.forms):
            return code
    if not args.corpus and not args.forms:
        ap.error("--corpus or --forms is required (unless --install-tf2onnx alone)")
    versions = None
    if args.tf2onnx != "no":
        versions = tf2onnx_versions()
        if versions is None and args.tf2onnx == "yes":
            print(f"--tf2onnx yes: {TF2ONNX_VENV} has no working tf2onnx; run with --install-tf2onnx first",
                  file=sys.stderr)
            return 2
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    from migrate.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    if args.forms:
        form_rows = forms_table(args.forms, args.name, versions, args.tf2onnx_timeout,
                                recognise_rnns=args.recognisers == "on")
        if not args.corpus:
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(form_rows, f, indent=2, default=float)
            return 0
        print()
    entries = [e for e in load_manifest(args.corpus) if not args.name or e["name"] in args.name]
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        ap.error(f"--modes {args.modes}: each one of {', '.join(MODES)}")
    rows, ours, t2o, t2o_fixed = [], {}, {}, {}
    print(f"{'checkpoint':34s} {'TF':6s} " + " ".join(f"{'ours ' + m:31s}" for m in modes)
          + (f" {'tf2onnx ' + versions['tf2onnx']:31s} names  ours/t2o" if versions else ""), flush=True)
    with tempfile.TemporaryDirectory() as work:
        for e in entries:
            if not os.path.isdir(os.path.join(args.corpus, e["dir"])):
                rows.append({"name": e["name"], "mode": "-", "converted": False, "why": "not in the corpus folder"})
                print(f"{e['name']:34s} not in the corpus folder", flush=True)
                continue
            for mode in modes:
                ours[(e["name"], mode)] = r = convert_one(e, args.corpus, mode, work,
                                                          recognise_rnns=args.recognisers == "on")
                rows.append(r)
            t = fixed = None
            if versions:
                reference = tf1_reference(e, args.corpus)
                t = t2o[e["name"]] = tf2onnx_one(e, args.corpus, work, reference, args.tf2onnx_timeout)
                rows.append(t)
                if args.tf2onnx_hand_fixes and not t.get("parity_ok"):
                    fixed = t2o_fixed[e["name"]] = tf2onnx_one(e, args.corpus, work, reference,
                                                               args.tf2onnx_timeout, hand_fixes=True)
                    rows.append(fixed)
            mine = ours.get((e["name"], modes[0]))
            ratio = (f"{mine['seconds'] / t['seconds']:.2f}" if t and mine and t.get("parity_ok")
                     and mine.get("parity_ok") and t.get("seconds") else "-")
            line = f"{e['name']:34s} {str(e.get('tf_version', '?'))[:6]:6s} " + " ".join(
                cell(ours[(e['name'], m)]) for m in modes)
            if versions:
                line += f" {cell(t)} {t['names_typed']:5d}  {ratio}"
            print(line, flush=True)
            for label, r in [(f"ours {m}", ours[(e["name"], m)]) for m in modes] + [("tf2onnx", t)]:
                if r and r.get("why") and not r.get("parity_ok"):
                    print(f"    {label}: {r['why'][:200]}", flush=True)
            if fixed:
                print(f"    tf2onnx 2nd try, hand fixes ({'; '.join(fixed['hand_fixes']) or 'none apply'}): "
                      f"{cell(fixed)}" + (f"  {fixed['why'][:150]}" if fixed.get("why") else ""), flush=True)
    names = [e["name"] for e in entries]
    print()
    for line in summary(ours, t2o, names, t2o_fixed, modes):
        print(line)
    if versions:
        print("tf2onnx side: " + ", ".join(f"{k} {v}" for k, v in versions.items())
              + f" in {os.path.relpath(TF2ONNX_VENV, ROOT)}; command per checkpoint: `python -m tf2onnx.convert "
              f"--checkpoint X.meta --inputs <manifest feeds> --outputs <manifest outputs> --output model.onnx`")
    else:
        print("tf2onnx: not run (" + ("--tf2onnx no" if args.tf2onnx == "no" else
              f"no {os.path.relpath(TF2ONNX_VENV, ROOT)}: run with --install-tf2onnx to add the column") + ")")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
