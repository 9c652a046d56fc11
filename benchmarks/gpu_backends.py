"""The converted demo model on JAX and PyTorch on a GPU, against logits and greedy ids computed on the CPU.

Two modes of one self-contained script (stdlib + NumPy in this process; each backend runs in a child
process with `KERAS_BACKEND` set and `import tensorflow` blocked, as on a machine without it):

1. `reference` (here, on the CPU, TensorFlow backend by default): load a `.keras` from
   `tf-migrate convert`, take `--rows` test sources of the embedded task (and their teacher-forced
   decoder inputs, padded), compute logits and greedy ids, and save inputs + outputs as one `.npz`.
2. `check` (on the GPU machine: JAX and PyTorch built for CUDA, no TensorFlow, Keras installed from
   the wheel in `.gpu_wheels/`): for each of `--backends`, load the same `.keras` on that backend,
   run it on the GPU and print the device, max |logits - CPU logits| (all positions, padding
   included; and at valid positions), whether greedy ids are identical, and timings. JAX runs twice:
   default matmul precision (TF32 on Ampere and newer GPUs) and "highest" (full float32).

    python benchmarks/gpu_backends.py reference --model model.keras --out .gpu_wheels/reference.npz
    python benchmarks/gpu_backends.py check --model .gpu_wheels/demo_model.keras \
        --reference .gpu_wheels/reference.npz [--backends jax torch] [--json out.json]

Exit code: 0 when every backend ran on a GPU, greedy ids are identical and logits are within
`--atol` (default: the parity tolerance max(1e-5, 1e-5 x max |logit|), at "highest" precision for
JAX); 1 when a check failed; 2 when an input is missing or unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "@@GPU_BACKENDS@@"

CHILD = r"""
import json, os, sys, time
if os.environ["KERAS_BACKEND"] != "tensorflow":
    sys.modules["tensorflow"] = None  # the port never needs it; the GPU machine has none
sys.path.insert(0, sys.argv[1])
import numpy as np
import keras
import tf2  # registers the port's classes
from tf2.decoding import greedy_fn

backend = keras.backend.backend()
ref = np.load(sys.argv[3])
enc, dec = ref["encoder_ids"], ref["decoder_ids"]


def device():
    if backend == "jax":
        import jax
        return ", ".join(f"{d.platform}:{getattr(d, 'device_kind', d)}" for d in jax.devices()[:1])
    if backend == "torch":
        import torch
        return f"cuda:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"
    return "cpu"


def run(label):
    start = time.perf_counter()
    model = keras.saving.load_model(sys.argv[2])
    logits = np.asarray(keras.ops.convert_to_numpy(model({"encoder_ids": enc, "decoder_ids": dec})), np.float32)
    decode = greedy_fn(model)
    ids = np.asarray(keras.ops.convert_to_numpy(decode(enc)))
    first = time.perf_counter() - start
    times = []
    for _ in range(3):
        t = time.perf_counter()
        keras.ops.convert_to_numpy(decode(enc))
        times.append(time.perf_counter() - t)
    valid = (dec != 0)[..., None]
    diff = np.abs(logits - ref["logits"])
    return {"backend": backend, "precision": label, "device": device(),
            "max_abs_diff": float(diff.max()), "max_abs_diff_valid": float((diff * valid).max()),
            "greedy_identical": bool(np.array_equal(ids, ref["greedy_ids"])),
            "greedy_rows_differ": int((ids != ref["greedy_ids"]).any(axis=1).sum()),
            "load_and_first_call_s": round(first, 3), "greedy_best_s": round(min(times), 4),
            "greedy_tokens_per_s": round(float((ids != 0).sum()) / min(times), 1),
            "tensorflow_loaded": any(m is not None and k.split(".")[0] == "tensorflow" for k, m in sys.modules.items())}


results = [run("default")]
if backend == "jax":
    import jax
    with jax.default_matmul_precision("highest"):
        results.append(run("highest"))
if backend == "torch":
    import torch
    results[0]["precision"] = f"default (allow_tf32={torch.backends.cuda.matmul.allow_tf32})"
print(MARK + json.dumps(results), flush=True)
"""


def parity_atol(logits):
    return max(1e-5, 1e-5 * float(np.abs(logits).max()))


def reference(args) -> int:
    """CPU logits and greedy ids of `--model` on `--rows` test sources, saved with the inputs."""
    if not os.path.isfile(args.model):
        print(f"{args.model}: no such .keras file; make one with `tf-migrate convert CHECKPOINT --out "
              f"model.keras`", file=sys.stderr)
        return 2
    sys.path.insert(0, ROOT)
    from seq2seq_task import load_task, make_batch  # noqa: PLC0415

    task = load_task()
    batch = make_batch(task.test[:args.rows], task.src_vocab, task.tgt_vocab)
    inputs = os.path.abspath(args.out) + ".inputs.tmp.npz"
    np.savez(inputs, encoder_ids=batch.encoder_ids, decoder_ids=batch.decoder_input_ids,
             logits=np.zeros((1, 1, 1), np.float32), greedy_ids=np.zeros((1, 1), np.int32))
    try:
        res = _child(args.backend, args.model, inputs, args.timeout, raw=True)
    finally:
        os.remove(inputs)
    tmp = os.path.abspath(args.out) + ".tmp.npz"
    np.savez(tmp, encoder_ids=batch.encoder_ids, decoder_ids=batch.decoder_input_ids, logits=res["logits"],
             greedy_ids=res["greedy_ids"], backend=args.backend, model=os.path.basename(args.model))
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {len(batch.encoder_ids)} rows, logits {res['logits'].shape} and greedy ids "
          f"{res['greedy_ids'].shape} from KERAS_BACKEND={args.backend} on the CPU")
    return 0


def _child(backend, model, reference_npz, timeout, raw=False):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_USE_LEGACY_KERAS", None)
    if raw:  # reference mode: on the CPU, return the arrays themselves
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["JAX_PLATFORMS"] = "cpu"
        code = CHILD.replace('print(MARK + json.dumps(results), flush=True)', (
            'm = keras.saving.load_model(sys.argv[2])\n'
            'lg = keras.ops.convert_to_numpy(m({"encoder_ids": enc, "decoder_ids": dec}))\n'
            'ids = keras.ops.convert_to_numpy(greedy_fn(m)(enc))\n'
            'np.savez(sys.argv[3] + ".out.npz", logits=np.asarray(lg, np.float32), greedy_ids=np.asarray(ids))\n'
            'print(MARK + "[]", flush=True)')).replace("results = [run(\"default\")]", "results = []")
    else:
        code = CHILD
    code = f"MARK = {MARK!r}\n" + code
    proc = subprocess.run([sys.executable, "-c", code, ROOT, os.path.abspath(model), os.path.abspath(reference_npz)],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"KERAS_BACKEND={backend}: child exited {proc.returncode}\n{proc.stderr[-4000:]}")
    if raw:
        out = reference_npz + ".out.npz"
        with np.load(out) as data:
            arrays = {k: data[k] for k in data.files}
        os.remove(out)
        return arrays
    return json.loads(line[0][len(MARK):])


def check(args) -> int:
    for path in (args.model, args.reference):
        if not os.path.isfile(path):
            print(f"{path}: no such file; produce it with `gpu_backends.py reference` on the CPU machine",
                  file=sys.stderr)
            return 2
    with np.load(args.reference) as ref:
        atol = args.atol if args.atol is not None else parity_atol(ref["logits"])
        rows = len(ref["encoder_ids"])
        print(f"reference: {args.reference} ({rows} rows, computed on the CPU with KERAS_BACKEND="
              f"{ref['backend'] if 'backend' in ref else '?'}); pass: greedy identical and max |diff| <= {atol:.2e}")
    all_results, ok = [], True
    for backend in args.backends:
        try:
            results = _child(backend, args.model, args.reference, args.timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"{backend}: FAILED to run\n{exc}")
            ok = False
            continue
        for r in results:
            judged = backend != "jax" or r["precision"] == "highest"  # TF32 is reported, not judged
            passed = r["greedy_identical"] and r["max_abs_diff"] <= atol and "cpu" not in r["device"].lower()
            r["judged"], r["passed"] = judged, passed
            ok &= passed or not judged
            print(f"{backend:6s} {r['precision']:34s} device={r['device']}  max|dlogits|={r['max_abs_diff']:.3e} "
                  f"(valid {r['max_abs_diff_valid']:.3e})  greedy {'identical' if r['greedy_identical'] else 'DIFFER'}"
                  f" ({r['greedy_rows_differ']} rows)  greedy {r['greedy_best_s'] * 1e3:.1f} ms = "
                  f"{r['greedy_tokens_per_s']:.0f} tok/s  load+first {r['load_and_first_call_s']:.1f} s  "
                  f"tensorflow loaded: {r['tensorflow_loaded']}  {'PASS' if passed else ('FAIL' if judged else 'info')}")
            all_results.append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"atol": atol, "rows": rows, "results": all_results}, f, indent=1)
    print("ALL PASS" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("reference", help="CPU logits and greedy ids -> .npz (run where the model was converted)")
    r.add_argument("--model", required=True, help="the .keras from tf-migrate convert")
    r.add_argument("--out", required=True, help="the reference .npz to write")
    r.add_argument("--rows", type=int, default=256, help="test sources (default 256)")
    r.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax", "torch"])
    c = sub.add_parser("check", help="run the model on each backend on the GPU against the reference")
    c.add_argument("--model", required=True)
    c.add_argument("--reference", required=True)
    c.add_argument("--backends", nargs="+", default=["jax", "torch"], choices=["jax", "torch", "tensorflow"])
    c.add_argument("--atol", type=float, default=None, help="logits tolerance (default: the parity tolerance)")
    c.add_argument("--json", help="also write the results here")
    for sp in (r, c):
        sp.add_argument("--timeout", type=float, default=240, help="seconds per backend child (default 240)")
    args = p.parse_args(argv)
    return reference(args) if args.mode == "reference" else check(args)


if __name__ == "__main__":
    sys.exit(main())
