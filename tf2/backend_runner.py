"""Run saved `.keras` port models on another Keras backend, in a fresh process, and get NumPy back.

`KERAS_BACKEND` is read once, when Keras is imported, so a process runs one backend. The parity
harness (TensorFlow side in the parent) calls `run_on_backend` / `run_jobs` to compute the port's
logits and greedy ids under JAX or PyTorch in a child process:

>>> out = run_on_backend("model.keras", "jax", encoder_ids, decoder_ids)   # doctest: +SKIP
>>> out["logits"].shape, out["greedy_ids"].shape                          # doctest: +SKIP
((B, T, V), (B, decode_max_steps))

On a non-TensorFlow backend the child first makes `import tensorflow` fail (`block_tensorflow`, as on
a machine without TensorFlow): Keras 3.15 imports TensorFlow opportunistically whenever it is
installed (e.g. `serialization_lib.serialize_keras_object` tests `tf.available`, which imports it),
so only a blocked import shows that the port itself never needs it; every result carries
`tensorflow_imported` (False there: no `tensorflow` module object was ever loaded).

Command line (what the child runs; also usable by hand):

    python -m tf2.backend_runner --backend jax --jobs jobs.json --out results.npz
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")   # the KERAS_BACKEND values tf2 runs on: the one list of them
ALIASES = {"tf": "tensorflow"}               # what a user may type instead
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BackendRunError(RuntimeError):
    """The child process failed; the message names the backend, the exit code and the end of its stderr."""


def backend_choices() -> str:
    """What a user may type, for messages: "tf, jax, torch"."""
    short = {v: k for k, v in ALIASES.items()}
    return ", ".join(short.get(b, b) for b in BACKENDS)


def normalize_backend(name: str) -> str:
    """"tf" / "tensorflow" / "jax" / "torch" (any case) -> the KERAS_BACKEND value; ValueError otherwise."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in BACKENDS:
        raise ValueError(f"backend {name!r}: expected one of {backend_choices()}")
    return key


def short_backend(name: str) -> str:
    """The name users type for a backend: "tf", "jax", "torch"."""
    key = normalize_backend(name)
    return next((alias for alias, full in ALIASES.items() if full == key), key)


def run_jobs(jobs, backend: str, timeout: float = 900, env: dict | None = None) -> list[dict]:
    """Run several models in ONE child process on `backend` (one start-up for a whole parity suite).

    Args:
        jobs: list of dicts: `model` (path of a `.keras` holding a `tf2.Seq2Seq`), `encoder_ids` int
            `[B, S]`, optional `decoder_ids` int `[B, T]` (logits are computed when given), optional
            `greedy` (default True), `max_steps` (default `hparams.decode_max_steps`), `beam_width`
            (also return the best beams, with `length_penalty`, default 0.0), and `fit`: a dict with
            `encoder_ids`, `decoder_ids`, `target_ids` (one batch, int) and `epochs` (default 3),
            optional `learning_rate` and `return_weights`: after the outputs above, `fit` takes one Adam step per epoch on that batch with
            the port's own optimizer and loss (`tf2.training.compile_model`; XLA where the backend
            compiles) and reports the losses.
        backend: "tf"/"tensorflow", "jax" or "torch".
        timeout: seconds for the whole child.
        env: extra environment variables for the child (e.g. `{"JAX_PLATFORMS": "cpu"}`).

    Returns:
        One dict per job: `logits` float32 `[B, T, V]` (if decoder_ids given), `greedy_ids` int32
        `[B, N]` (if greedy), `beam_ids` int32 `[B, N]` (if beam_width), `fit_losses` float64
        `[epochs + 1]` (if fit: the loss before each of the `epochs` Adam steps, then after the last), `seconds` (load +
        compute), `backend`, `tensorflow_imported`, and with `fit.return_weights` `weights`: {Keras weight
        path (`w.path`, the same on every backend): value after training}.

    Raises:
        BackendRunError: the child failed (the message holds its stderr tail).
    """
    backend = normalize_backend(backend)
    with tempfile.TemporaryDirectory(prefix="tf2_backend_") as tmp:
        spec = []
        arrays = {}
        for i, job in enumerate(jobs):
            path = os.path.abspath(job["model"])
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path}: no such .keras file")
            arrays[f"{i}/encoder_ids"] = np.asarray(job["encoder_ids"], np.int32)
            if job.get("decoder_ids") is not None:
                arrays[f"{i}/decoder_ids"] = np.asarray(job["decoder_ids"], np.int32)
            fit = job.get("fit")
            if fit is not None:
                for key in ("encoder_ids", "decoder_ids", "target_ids"):
                    arrays[f"{i}/fit_{key}"] = np.asarray(fit[key], np.int32)
                fit = {"epochs": int(fit.get("epochs", 3)), "learning_rate": fit.get("learning_rate"),
                       "return_weights": bool(fit.get("return_weights", False))}
            spec.append({"model": path, "greedy": bool(job.get("greedy", True)), "max_steps": job.get("max_steps"),
                         "beam_width": job.get("beam_width"), "length_penalty": float(job.get("length_penalty", 0.0)),
                         "fit": fit})
        jobs_file, inputs_file, out_file = (os.path.join(tmp, n) for n in ("jobs.json", "inputs.npz", "out.npz"))
        np.savez(inputs_file, **arrays)
        with open(jobs_file, "w") as f:
            json.dump({"inputs": inputs_file, "jobs": spec}, f)
        child_env = {**os.environ, **(env or {}), "KERAS_BACKEND": backend}
        child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, child_env.get("PYTHONPATH")) if p)
        # run this file as a script: importing the `tf2` package would import Keras before the blocker
        code = "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')"
        proc = subprocess.run([sys.executable, "-c", code, os.path.abspath(__file__), "--backend", backend,
                               "--jobs", jobs_file, "--out", out_file],
                              capture_output=True, text=True, env=child_env, timeout=timeout, cwd=ROOT)
        if proc.returncode != 0 or not os.path.isfile(out_file):
            raise BackendRunError(f"KERAS_BACKEND={backend}: child exited {proc.returncode}:\n"
                                  f"{proc.stderr[-4000:]}")
        with np.load(out_file) as data:
            meta = json.loads(str(data["meta"]))
            results = []
            for i, m in enumerate(meta["jobs"]):
                r = {"backend": backend, "tensorflow_imported": meta["tensorflow_imported"], "seconds": m["seconds"]}
                for key in ("logits", "greedy_ids", "beam_ids", "fit_losses"):
                    if f"{i}/{key}" in data:
                        r[key] = data[f"{i}/{key}"]
                if m.get("weights"):
                    r["weights"] = {name: data[f"{i}/weight/{j}"] for j, name in enumerate(m["weights"])}
                results.append(r)
    return results


def run_on_backend(model_path: str, backend: str, encoder_ids, decoder_ids=None, greedy: bool = True,
                   max_steps: int | None = None, timeout: float = 900) -> dict:
    """One model on `backend` in a child process -> `{"logits", "greedy_ids", ...}` (see `run_jobs`)."""
    return run_jobs([{"model": model_path, "encoder_ids": encoder_ids, "decoder_ids": decoder_ids,
                      "greedy": greedy, "max_steps": max_steps}], backend, timeout=timeout)[0]


# -- the child -----------------------------------------------------------------------------------
def block_tensorflow():
    """Make every later `import tensorflow` fail in this process, as on a machine without TensorFlow.

    Python's own idiom: `sys.modules["tensorflow"] = None` (import raises ModuleNotFoundError,
    `importlib.util.find_spec` answers None, so libraries probing for TensorFlow see it absent).
    Call before Keras is imported.
    """
    if tensorflow_loaded():
        raise RuntimeError("block_tensorflow(): tensorflow is already imported")
    sys.modules["tensorflow"] = None


def tensorflow_loaded() -> bool:
    """Whether a `tensorflow` module (or any submodule) is loaded in this process."""
    return any(m is not None and (k == "tensorflow" or k.startswith("tensorflow.")) for k, m in sys.modules.items())


def _child(args) -> int:
    if os.environ.get("KERAS_BACKEND") != args.backend:
        raise SystemExit(f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND')!r} but --backend {args.backend}")
    if args.backend != "tensorflow":
        block_tensorflow()
    import keras  # noqa: PLC0415

    import tf2  # noqa: PLC0415, F401  (registers the port's classes for load_model)
    from tf2.decoding import beam_search, greedy_fn  # noqa: PLC0415
    from tf2.training import compile_model  # noqa: PLC0415

    with open(args.jobs) as f:
        spec = json.load(f)
    out, meta = {}, []
    with np.load(spec["inputs"]) as inputs:
        for i, job in enumerate(spec["jobs"]):
            start, names = time.perf_counter(), None
            model = keras.saving.load_model(job["model"])
            enc = inputs[f"{i}/encoder_ids"]
            if f"{i}/decoder_ids" in inputs:
                logits = model({"encoder_ids": enc, "decoder_ids": inputs[f"{i}/decoder_ids"]})
                out[f"{i}/logits"] = np.asarray(keras.ops.convert_to_numpy(logits), np.float32)
            if job["greedy"]:
                ids = greedy_fn(model, job["max_steps"])(enc)
                out[f"{i}/greedy_ids"] = np.asarray(keras.ops.convert_to_numpy(ids), np.int32)
            if job["beam_width"]:
                out[f"{i}/beam_ids"] = beam_search(model, enc, job["beam_width"], job["length_penalty"], job["max_steps"])
            if job["fit"]:
                hp = model.hparams
                if job["fit"]["learning_rate"] is not None:
                    hp = hp.replace(learning_rate=float(job["fit"]["learning_rate"]))
                compile_model(model, hp, jit_compile=args.backend != "torch")
                x = {"encoder_ids": inputs[f"{i}/fit_encoder_ids"], "decoder_ids": inputs[f"{i}/fit_decoder_ids"]}
                y = inputs[f"{i}/fit_target_ids"]
                losses = model.fit(x, y, batch_size=len(y), epochs=job["fit"]["epochs"], shuffle=False,
                                   verbose=0).history["loss"]  # one step per epoch: the loss before it
                losses.append(model.evaluate(x, y, batch_size=len(y), verbose=0))
                out[f"{i}/fit_losses"] = np.asarray(losses, np.float64)
                if job["fit"]["return_weights"]:
                    names = [w.path for w in model.weights]
                    for j, w in enumerate(model.weights):
                        out[f"{i}/weight/{j}"] = np.asarray(keras.ops.convert_to_numpy(w.value))
            meta.append({"seconds": time.perf_counter() - start, "weights": names})
    meta = {"jobs": meta, "tensorflow_imported": tensorflow_loaded(), "backend": keras.backend.backend()}
    tmp = args.out + ".tmp.npz"
    np.savez(tmp, meta=json.dumps(meta), **out)
    os.replace(tmp, args.out)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Run .keras port models on one Keras backend (child of run_jobs).")
    p.add_argument("--backend", required=True, type=normalize_backend)
    p.add_argument("--jobs", required=True, help="jobs.json written by run_jobs")
    p.add_argument("--out", required=True, help="results .npz")
    return _child(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
