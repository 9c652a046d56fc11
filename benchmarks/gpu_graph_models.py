"""Graph-converted models (`convert --from-graph`) on JAX and PyTorch on a GPU: outputs against the CPU, cuDNN use.

Two modes of one script, like `benchmarks/gpu_backends.py` (which checks this repository's own port):

1. `reference` (here, on the CPU, TensorFlow backend): convert checkpoints of a corpus (as
   `benchmarks/bench_graph_convert.py` does, with the manifest's outputs and feeds) and/or take folders
   written by `tf-migrate convert --from-graph` with their feed `.npz`; run each model on the CPU and save
   `NAME.keras` + `NAME.npz` (the Keras inputs and the CPU outputs) into `--out`.
2. `check` (on the GPU machine: JAX and PyTorch built for CUDA, no TensorFlow, Keras from the wheel in
   `.gpu_wheels/`): each model on each backend, in a child process with `import tensorflow` blocked; prints
   the device, max |output - CPU output| per output (floats; integer outputs must be identical) and how many
   `keras.layers.LSTM` / `GRU` calls ran a fused RNN kernel (`keras.src.backend.lstm` / `gru` returned:
   cuDNN on a CUDA device, PyTorch's own LSTM op on a CPU) against how many fell back to the generic loop (they raised `NotImplementedError`: a mask, a
   `reset_after=False` GRU, ...). Each backend runs at its default precision (TF32 on recent GPUs: JAX's
   matmuls, cuDNN's RNN kernels under PyTorch; reported, not judged) and at "highest" (full float32: JAX's
   `default_matmul_precision("highest")`, PyTorch with `cudnn.allow_tf32` and `matmul.allow_tf32` off; judged).

    python benchmarks/gpu_graph_models.py reference --corpus DIR --name udacity_charrnn_tf13 ... \
        [--dir NAME=CONVERTED_DIR:FEED.npz ...] --out .gpu_wheels/graph
    python benchmarks/gpu_graph_models.py check --models .gpu_wheels/graph [--backends jax torch]

Exit code: 0 when every judged run is on a GPU and within `1e-5 x max(1, max |reference|)` (integers
exact); 1 when a check failed; 2 when an input is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "@@GPU_GRAPH@@"

CHILD = r"""
import json, os, sys, time
sys.modules["tensorflow"] = None  # generated models never need it; the GPU machine has none
sys.path.insert(0, sys.argv[1])
import numpy as np
import keras
import tf_migrate_runtime.layers  # registers the generated models' layers
import keras.src.backend as kb  # only to count which RNN kernel ran (measurement, not product code)

backend = keras.backend.backend()
counts = {"cudnn": 0, "fallback": 0}


def counting(fn):
    def wrapped(*args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except NotImplementedError:
            counts["fallback"] += 1
            raise
        counts["cudnn"] += 1
        return out
    return wrapped


kb.lstm, kb.gru = counting(kb.lstm), counting(kb.gru)


def device():
    if backend == "jax":
        import jax
        return ", ".join(f"{d.platform}:{getattr(d, 'device_kind', d)}" for d in jax.devices()[:1])
    import torch
    return f"cuda:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"


def run(name, label):
    ref = np.load(os.path.join(sys.argv[2], name + ".npz"))
    meta = json.loads(str(ref["meta"]))
    feed = {k: ref["in__" + k] for k in meta["inputs"]}
    counts.update(cudnn=0, fallback=0)
    t = time.perf_counter()
    model = keras.saving.load_model(os.path.join(sys.argv[2], name + ".keras"))
    if os.environ.get("GPU_GRAPH_NO_CUDNN"):  # --no-cudnn: Keras' generic loop for every LSTM / GRU
        for layer in model.layers:
            if hasattr(layer, "use_cudnn"):
                layer.use_cudnn = False
    got = model(feed)
    got = got if isinstance(got, (list, tuple)) else [got]
    got = [np.asarray(keras.ops.convert_to_numpy(g)) for g in got]
    first = time.perf_counter() - t
    used = dict(counts)  # one forward pass
    times = []
    for _ in range(3):
        t = time.perf_counter()
        [keras.ops.convert_to_numpy(g) for g in keras.tree.flatten(model(feed))]
        times.append(time.perf_counter() - t)
    rows = []
    for k, out in enumerate(meta["outputs"]):
        r = ref[f"out__{k}"]
        if np.issubdtype(r.dtype, np.floating):
            d = float(np.abs(got[k].astype(np.float64) - r).max()) if r.size else 0.0
            rows.append({"output": out, "max_abs": d, "tol": 1e-5 * max(1.0, float(np.abs(r).max()) if r.size else 1.0),
                         "ok": d <= 1e-5 * max(1.0, float(np.abs(r).max()) if r.size else 1.0)})
        else:
            rows.append({"output": out, "identical": bool(np.array_equal(got[k], r)), "ok": bool(np.array_equal(got[k], r))})
    return {"model": name, "backend": backend, "precision": label, "device": device(), "outputs": rows,
            "rnn_calls_cudnn": used["cudnn"], "rnn_calls_fallback": used["fallback"],
            "load_and_first_call_s": round(first, 3), "call_best_s": round(min(times), 4),
            "tensorflow_loaded": any(m is not None and k.split(".")[0] == "tensorflow" for k, m in sys.modules.items())}


names = json.loads(sys.argv[3])
results = []
for name in names:
    results.append(run(name, "default"))
    if backend == "jax":
        import jax
        with jax.default_matmul_precision("highest"):
            results.append(run(name, "highest"))
    if backend == "torch":  # cuDNN's RNN kernels use TF32 by default (torch.backends.cudnn.allow_tf32)
        import torch
        before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        results.append(run(name, "highest"))
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
print(MARK + json.dumps(results), flush=True)
"""


def reference(args) -> int:
    os.makedirs(args.out, exist_ok=True)
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    cases = []  # (name, converted dir, {graph name: array})
    with tempfile.TemporaryDirectory() as work:
        if args.name:
            import bench_graph_convert as bench  # noqa: PLC0415

            entries = {e["name"]: e for e in bench.load_manifest(args.corpus)}
            for name in args.name:
                if name not in entries:
                    print(f"{name}: not in the manifest of {args.corpus}", file=sys.stderr)
                    return 2
                row = bench.convert_one(entries[name], args.corpus, "fed", work)
                if not row.get("parity_ok"):
                    print(f"{name}: did not convert with parity here: {row.get('why')}", file=sys.stderr)
                    return 1
                with np.load(os.path.join(work, f"{name}_fed.npz")) as f:
                    cases.append((name, os.path.join(work, f"{name}_fed"), {k: f[k] for k in f.files}))
        for spec in args.dir or []:
            name, rest = spec.split("=", 1)
            folder, npz = rest.rsplit(":", 1)
            with np.load(npz) as f:
                cases.append((name, folder, {k: f[k] for k in f.files}))
        for name, folder, arrays in cases:
            with open(os.path.join(folder, "convert_report.json")) as f:
                report = json.load(f)
            inputs = {i["keras"]: arrays[i["graph"]] for i in report["graph"]["inputs"]}
            model = keras.saving.load_model(os.path.join(folder, "model.keras"))
            got = model(inputs)
            got = got if isinstance(got, (list, tuple)) else [got]
            meta = {"inputs": sorted(inputs), "outputs": [o["graph"] for o in report["graph"]["outputs"]],
                    "translated": report.get("translated", {})}
            np.savez(os.path.join(args.out, name + ".npz"), meta=json.dumps(meta),
                     **{"in__" + k: v for k, v in inputs.items()},
                     **{f"out__{k}": np.asarray(keras.ops.convert_to_numpy(g)) for k, g in enumerate(got)})
            shutil.copyfile(os.path.join(folder, "model.keras"), os.path.join(args.out, name + ".keras"))
            print(f"{name}: {len(got)} output(s) on the CPU, constructs {meta['translated']}")
    return 0


def _child(backend, models, names, timeout, no_cudnn=False):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if no_cudnn:
        env["GPU_GRAPH_NO_CUDNN"] = "1"
    code = f"MARK = {MARK!r}\n" + CHILD
    proc = subprocess.run([sys.executable, "-c", code, ROOT, os.path.abspath(models), json.dumps(names)],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"KERAS_BACKEND={backend}: child exited {proc.returncode}\n{proc.stderr[-4000:]}")
    return json.loads(line[0][len(MARK):])


def check(args) -> int:
    if not os.path.isdir(args.models):
        print(f"{args.models}: no such folder; write it with `gpu_graph_models.py reference`", file=sys.stderr)
        return 2
    names = sorted(f[:-6] for f in os.listdir(args.models) if f.endswith(".keras"))
    if not names:
        print(f"{args.models}: no .keras models in it", file=sys.stderr)
        return 2
    ok, results = True, []
    for backend in args.backends:
        try:
            rows = _child(backend, args.models, names if not args.only else args.only, args.timeout, args.no_cudnn)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"{backend}: FAILED to run\n{exc}")
            ok = False
            continue
        for r in rows:
            judged = r["precision"] == "highest"  # TF32 (the GPU default of JAX and of cuDNN) is reported
            passed = all(o["ok"] for o in r["outputs"]) and "cpu" not in r["device"].lower()
            ok &= passed or not judged
            worst = max((o.get("max_abs", 0.0) for o in r["outputs"]), default=0.0)
            ints = [o["identical"] for o in r["outputs"] if "identical" in o]
            print(f"{r['model']:32s} {backend:5s} {r['precision']:8s} {r['device']:24s} max|d|={worst:.2e} "
                  f"ints {'identical' if all(ints) else 'DIFFER'}({len(ints)})  RNN layers fused kernel "
                  f"{r['rnn_calls_cudnn']} / generic loop {r['rnn_calls_fallback']}  call {r['call_best_s'] * 1e3:.1f} ms"
                  f"  TF loaded: {r['tensorflow_loaded']}  {'PASS' if passed else ('FAIL' if judged else 'info')}")
            results.append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("ALL PASS" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("reference", help="convert + CPU outputs -> --out (run where TensorFlow is)")
    r.add_argument("--corpus", help="corpus folder with its manifest (benchmarks/corpus.py)")
    r.add_argument("--name", nargs="*", default=[], help="corpus entries to convert")
    r.add_argument("--dir", nargs="*", help="NAME=CONVERTED_DIR:FEED.npz (FEED keyed by graph tensor names)")
    r.add_argument("--out", required=True)
    c = sub.add_parser("check", help="each model on each backend on the GPU against the CPU outputs")
    c.add_argument("--models", required=True)
    c.add_argument("--backends", nargs="+", default=["jax", "torch"], choices=["jax", "torch"])
    c.add_argument("--json")
    c.add_argument("--timeout", type=float, default=300)
    c.add_argument("--only", nargs="*", help="these models only")
    c.add_argument("--no-cudnn", action="store_true", help="use_cudnn=False on every LSTM / GRU (the generic loop)")
    args = p.parse_args(argv)
    if args.mode == "reference" and args.name and not args.corpus:
        p.error("--name needs --corpus")
    return reference(args) if args.mode == "reference" else check(args)


if __name__ == "__main__":
    sys.exit(main())
