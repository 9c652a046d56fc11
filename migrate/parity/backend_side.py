"""The Keras side of a parity run on another Keras backend (JAX, PyTorch): a child process serves it.

`KERAS_BACKEND` is read once, when Keras is imported, and the TF1 side needs TensorFlow in this process, so
the Keras side runs in a child: `KERAS_BACKEND=jax|torch`, `import tensorflow` blocked before Keras is
imported (as on a machine without TensorFlow; `tf2.backend_runner.block_tensorflow`). The TF1 side stays in
this process; the child sends NumPy back and the same checks and report compare both (`harness`).

```python
from migrate.parity.backend_side import BackendWorker, RemotePortRunner

with BackendWorker("jax") as worker:            # one child for many models: one JAX / torch start-up
    port = RemotePortRunner(worker, batches, hparams=hp, values=tf1_values, checks=("logits", "loss"))
    port.forward(batches[0])                    # (logits, loss), as `port_side.PortRunner`
```

| job       | the child builds                                              | and returns                      |
|-----------|---------------------------------------------------------------|----------------------------------|
| `seq2seq` | `tf2.Seq2Seq`: from hparams + the TF1 values sent (through the | weights, logits, loss, gradients,|
|           | converter's bindings), or a `.keras` bound to those variables  | weights after K Adam steps,      |
|           |                                                                | greedy ids: all in TF1 layout    |
| `keras`   | the user's `.keras` / `.weights.h5` (`keras_side.KerasSide`)   | its outputs on a feed            |

How each backend computes (`COMPUTE`): logits and loss by `model.stateless_call` compiled with `jax.jit`
(JAX) or an eager call under `torch.no_grad` (PyTorch); gradients by `jax.value_and_grad` / `loss.backward()`
of the port's own loss (`tf2.SequenceLoss`); Adam steps by the port's own optimizer
(`tf2.training.make_optimizer`, `optimizer.apply`); greedy ids by `tf2.decoding` (`jax.jit` / eager).
`eager=True` runs JAX's logits, loss and greedy ids op by op (the same `keras.ops`, no XLA compile; for a
one-off evaluation of a small model about 2-4x cheaper than compiling it: what the CI set uses); gradients and
Adam steps are always compiled (`jax.jit(jax.value_and_grad)`: op by op the backward pass costs more than the
compile, 4.5-15 s against ~5 s CPU measured on the CI set's models).

Protocol: one JSON line per job on the child's stdin (arrays in an `.npz` beside it), one line
`@@tf-migrate {"id": ..., "ok"|"error"...}` per job on its stdout; the results in an `.npz`. An unusable
input in the child (a `.keras` that does not load, a model that does not bind) comes back as
`ParityInputError` (exit 2), any other failure as `BackendError` with the child's stderr tail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from migrate.errors import MigrateError
from migrate.parity.errors import ParityInputError
from seq2seq_task import Batch, HParams

# KERAS_BACKEND -> what a child needs importable (the `backends` extra; `migrate.install` says how to add it)
MODULES = {"jax": "jax", "torch": "torch"}
REPLY = "@@tf-migrate "
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class BackendError(MigrateError):
    """The child process failed or hung (not the user's input): the message names the backend and its stderr tail.
    Exit code 2 in the CLI: the Keras side could not be run, so there is no parity result (never a 1)."""

    multiline = True        # the child's stderr tail is shown as its lines


def normalize_backend(name: str) -> str:
    """"tf" / "tensorflow" / "jax" / "torch" -> the KERAS_BACKEND value (`tf2.backend_runner`'s table);
    `ParityInputError` otherwise."""
    from tf2.backend_runner import backend_choices  # noqa: PLC0415
    from tf2.backend_runner import normalize_backend as keras_backend  # noqa: PLC0415

    try:
        return keras_backend(name)
    except ValueError:
        raise ParityInputError(f"--backend {name!r}: expected one of {backend_choices()}") from None


def backend_available(backend: str) -> str | None:
    """None when the child can run `backend`; else why not (the module it needs is not installed)."""
    import importlib.util  # noqa: PLC0415

    from migrate.install import install_extra_command  # noqa: PLC0415

    module = MODULES.get(normalize_backend(backend))
    if module and importlib.util.find_spec(module) is None:
        return (f"KERAS_BACKEND={backend} needs the {module} package, which is not installed; install the "
                f"backends extra: {install_extra_command('backends')}")
    return None


# -- parent: one child process per backend, many jobs ------------------------------------------------------


class BackendWorker:
    """A child process running Keras on `backend` (without TensorFlow); `submit` jobs, then `result` them.

    Jobs run one after another in the child, while this process goes on (e.g. building the TF1 side).

    Args:
        backend: "jax" or "torch" ("tensorflow" works too: a child on the TF backend).
        env: extra environment variables for the child.
        timeout: seconds to wait for any one result.
    """

    def __init__(self, backend: str, env: dict[str, str] | None = None, timeout: float = 900):
        self.backend = normalize_backend(backend)
        why = backend_available(self.backend)
        if why:
            raise ParityInputError(why)
        self.timeout = timeout
        self._tmp = tempfile.TemporaryDirectory(prefix=f"tf_migrate_{self.backend}_")
        self._stderr = open(os.path.join(self._tmp.name, "stderr.txt"), "w+")  # noqa: SIM115  (closed in close())
        child_env = {**os.environ, **(env or {}), "KERAS_BACKEND": self.backend}
        child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.getcwd(), child_env.get("PYTHONPATH")) if p)
        block = "sys.modules['tensorflow'] = None; " if self.backend != "tensorflow" else ""
        code = (f"import sys; {block}import runpy; "
                f"runpy.run_module('migrate.parity.backend_side', run_name='__main__', alter_sys=True)")
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, text=True, env=child_env, bufsize=1)
        import queue  # noqa: PLC0415

        self._lines: queue.Queue[str] = queue.Queue()

        def read_lines():  # "" marks the end of the child's output
            try:
                for out_line in self._proc.stdout:
                    self._lines.put(out_line)
            except (OSError, ValueError):  # closed by close()
                pass
            self._lines.put("")

        threading.Thread(target=read_lines, daemon=True).start()
        self._next = 0
        self._done: dict[int, dict] = {}
        self._lock = threading.Lock()
        self.started = time.time()

    def __enter__(self) -> BackendWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def submit(self, job: dict[str, Any], arrays: dict[str, np.ndarray]) -> int:
        """Queue one job (`kind` "seq2seq" or "keras"); its id."""
        jid = self._next
        self._next += 1
        path = os.path.join(self._tmp.name, f"job{jid}")
        np.savez(path + ".in.npz", **arrays)
        line = json.dumps({**job, "id": jid, "inputs": path + ".in.npz", "out": path + ".out.npz"})
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._failure("the child exited before it got a job") from None
        return jid

    def result(self, jid: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Wait for job `jid`: (its JSON reply, its arrays); raises `ParityInputError` / `BackendError`."""
        import queue  # noqa: PLC0415

        with self._lock:
            while jid not in self._done:
                try:  # the child's next line (read by a thread), waiting at most `timeout`
                    line = self._lines.get(timeout=self.timeout)
                except queue.Empty:
                    self._proc.kill()
                    raise self._failure(f"no reply to job {jid} within {self.timeout:.0f} s; the child was "
                                        f"stopped") from None
                if not line:
                    raise self._failure(f"the child exited before job {jid} finished")
                if line.startswith(REPLY):
                    reply = json.loads(line[len(REPLY):])
                    self._done[reply["id"]] = reply
        reply = self._done.pop(jid)
        if "input_error" in reply:
            raise ParityInputError(reply["input_error"])
        if "error" in reply:
            raise BackendError(f"KERAS_BACKEND={self.backend}: {reply['error']}")
        with np.load(reply["out"], allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        os.remove(reply["out"])
        return reply, arrays

    def _failure(self, what: str) -> BackendError:
        code = self._proc.poll()
        self._stderr.flush()
        self._stderr.seek(0)
        tail = self._stderr.read()[-4000:]
        return BackendError(f"KERAS_BACKEND={self.backend}: {what} (exit code {code}):\n{tail}")

    def close(self) -> None:
        try:
            self._proc.stdin.close()  # the child's loop ends at EOF
        except OSError:
            pass
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for f in (self._proc.stdout, self._stderr):
            f.close()
        self._tmp.cleanup()


# -- parent: the port side, computed in the child ------------------------------------------------------------


@dataclass(frozen=True)
class BindingInfo:
    """A `migrate.checkpoint.bindings.Binding` without its Keras variables (what the checks' notes need)."""

    tf1_names: tuple[str, ...]
    transform: str
    what: str
    input_size: int | None
    forget_bias: float
    layout: str | None


def _fields(batch: Batch) -> list[np.ndarray]:
    return [np.asarray(batch.encoder_ids, np.int32), np.asarray(batch.encoder_lengths, np.int32),
            np.asarray(batch.decoder_input_ids, np.int32), np.asarray(batch.decoder_target_ids, np.int32),
            np.asarray(batch.target_lengths, np.int32)]


class RemotePortRunner:
    """`port_side.PortRunner`'s interface (bindings, weights, forward, gradients, adam_steps, greedy) served by a
    `BackendWorker`: the whole job is submitted at construction, the answers fetched on first use.

    `values` (TF1 name -> array, e.g. the legacy graph's restored variables: the child cannot read a checkpoint
    without TensorFlow) are what the port binds to (the converter's `bind_seq2seq`); without `keras` a fresh
    `tf2.Seq2Seq(hparams)` gets them (converted on the fly, as `ParityPair.set_legacy_weights`), with `keras`
    (a `.keras` file) the loaded model keeps its own weights. `prefix` only names the checkpoint in messages.

    Args:
        worker: the child process.
        batches: the batches `forward` / `greedy` will be asked about (by identity); gradients use the first,
            Adam steps cycle through them.
        hparams: the legacy model's hparams (dropout set to 0; a `.keras` built from other hparams is refused).
        checks: which of `harness.CHECKS` to compute.
        adam_steps: K for the adam check.
        eager: JAX op by op (no XLA compile) instead of `jax.jit` (see the module docstring).
    """

    def __init__(self, worker: BackendWorker, batches: Sequence[Batch], *, hparams: HParams,
                 values: dict[str, np.ndarray], keras: str | None = None, prefix: str | None = None,
                 checks: Sequence[str] = ("weights", "logits", "loss", "gradients", "adam", "greedy"),
                 adam_steps: int = 3, eager: bool = False):
        self.worker = worker
        self.backend = worker.backend
        self.batches = list(batches)
        arrays: dict[str, np.ndarray] = {}
        for i, b in enumerate(self.batches):
            for name, a in zip(Batch.__dataclass_fields__, _fields(b)):
                arrays[f"batch{i}/{name}"] = a
        arrays.update({f"value/{n}": np.asarray(v, np.float32) for n, v in values.items()})
        job = {"kind": "seq2seq", "hparams": hparams.to_dict(), "batches": len(self.batches),
               "source": "keras" if keras else "values",
               "keras": os.path.abspath(keras) if keras else None, "prefix": prefix, "checks": list(checks),
               "adam_steps": int(adam_steps), "eager": bool(eager)}
        self._jid = worker.submit(job, arrays)
        self._reply: dict[str, Any] | None = None
        self._arrays: dict[str, np.ndarray] = {}

    def _get(self) -> dict[str, np.ndarray]:
        if self._reply is None:
            self._reply, self._arrays = self.worker.result(self._jid)
            self._bindings = [BindingInfo(tuple(b["tf1_names"]), b["transform"], b["what"], b["input_size"],
                                          b["forget_bias"], b["layout"])
                              for b in json.loads(str(self._arrays.pop("bindings.json")))]
        return self._arrays

    def _tf1(self, prefix: str) -> dict[str, np.ndarray]:
        arrays = self._get()
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}

    @property
    def bindings(self) -> list[BindingInfo]:
        self._get()
        return self._bindings

    @property
    def info(self) -> dict[str, Any]:
        """What the child says about its run: backend, tensorflow_imported, seconds, keras version."""
        self._get()
        return {k: self._reply[k] for k in ("backend", "tensorflow_imported", "seconds", "keras", "eager")}

    def _index(self, batch: Batch) -> int:
        for i, b in enumerate(self.batches):
            if b is batch:
                return i
        raise ValueError("RemotePortRunner: a batch it was not built with")

    def weights(self) -> dict[str, np.ndarray]:
        return self._tf1("weights/")

    def forward(self, batch: Batch) -> tuple[np.ndarray, float]:
        i = self._index(batch)
        arrays = self._get()
        return arrays[f"logits/{i}"], float(arrays[f"loss/{i}"])

    def gradients(self, batch: Batch) -> dict[str, np.ndarray]:
        if self._index(batch) != 0:
            raise ValueError("RemotePortRunner: gradients are computed on the first batch")
        return self._tf1("gradients/")

    def adam_steps(self, batches: Sequence[Batch], steps: int, hparams: HParams) -> dict[str, np.ndarray]:
        return self._tf1("adam/")

    def greedy(self, batch: Batch) -> np.ndarray:
        return self._get()[f"greedy/{self._index(batch)}"]


class RemoteKerasSide:
    """`keras_side.KerasSide` whose `run` happens in the child: names, shapes and dtypes come from `local`
    (the same file loaded here), outputs from the model loaded on the worker's backend."""

    def __init__(self, local: Any, worker: BackendWorker, path: str, build: str | None = None):
        self.__dict__.update({k: v for k, v in vars(local).items() if k != "model"})
        self.worker, self.path, self.build = worker, os.path.abspath(path), build
        self.backend = worker.backend
        self.info: dict[str, Any] = {}

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(inputs)
        arrays = {f"input/{i}": np.asarray(inputs[k], dtype=self.input_dtypes.get(k, None)) for i, k in enumerate(names)}
        jid = self.worker.submit({"kind": "keras", "keras": self.path, "build": self.build, "inputs_names": names,
                                  "cwd": os.getcwd()}, arrays)
        reply, out = self.worker.result(jid)
        self.info = {k: reply[k] for k in ("backend", "tensorflow_imported", "seconds", "keras")}
        return {name: out[f"output/{i}"] for i, name in enumerate(reply["outputs"])}


# -- child: Keras on one backend, no TensorFlow -----------------------------------------------------------------


def _jax_compute(model, eager):
    """(forward, value_and_grad) for JAX: `stateless_call` under `jax.jit` (or op by op when `eager`)."""
    import jax  # noqa: PLC0415

    from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

    def loss_and_logits(trainable, non_trainable, enc, dec, tgt):
        logits, _ = model.stateless_call(trainable, non_trainable, {"encoder_ids": enc, "decoder_ids": dec},
                                         training=False)
        return SequenceLoss()(tgt, logits), logits

    fwd = loss_and_logits if eager else jax.jit(loss_and_logits)
    vg = jax.jit(jax.value_and_grad(loss_and_logits, has_aux=True))  # op by op, backward costs more than a compile

    def values():
        return ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables])

    def forward(enc, dec, tgt):
        loss, logits = fwd(*values(), enc, dec, tgt)
        return logits, loss

    def value_and_grad(enc, dec, tgt):
        (loss, logits), grads = vg(*values(), enc, dec, tgt)
        return logits, loss, list(grads)

    return forward, value_and_grad


def _torch_compute(model, eager):
    """(forward, value_and_grad) for PyTorch: eager calls; gradients by autograd (`loss.backward()`)."""
    import torch  # noqa: PLC0415

    from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

    def call(enc, dec, tgt):
        logits = model({"encoder_ids": enc, "decoder_ids": dec}, training=False)
        return logits, SequenceLoss()(tgt, logits)

    def forward(enc, dec, tgt):
        with torch.no_grad():
            return call(enc, dec, tgt)

    def value_and_grad(enc, dec, tgt):
        variables = model.trainable_variables
        for v in variables:
            v.value.grad = None
        logits, loss = call(enc, dec, tgt)
        loss.backward()
        grads = [v.value.grad if v.value.grad is not None else torch.zeros_like(v.value) for v in variables]
        return logits.detach(), loss.detach(), grads

    return forward, value_and_grad


def _tensorflow_compute(model, eager):
    import tensorflow as tf  # noqa: PLC0415

    from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

    def forward(enc, dec, tgt):
        logits = model({"encoder_ids": enc, "decoder_ids": dec}, training=False)
        return logits, SequenceLoss()(tgt, logits)

    def value_and_grad(enc, dec, tgt):
        with tf.GradientTape() as tape:
            logits, loss = forward(enc, dec, tgt)
        grads = tape.gradient(loss, model.trainable_variables)
        return logits, loss, [g if g is not None else tf.zeros_like(v) for g, v in zip(grads, model.trainable_variables)]

    return forward, value_and_grad


# KERAS_BACKEND -> how the child computes the port's loss and its gradients (one entry per backend).
COMPUTE = {"jax": _jax_compute, "torch": _torch_compute, "tensorflow": _tensorflow_compute}


def _numpy(x) -> np.ndarray:
    import keras  # noqa: PLC0415

    return np.asarray(keras.ops.convert_to_numpy(x))


def _seq2seq_port(job, inputs, hparams):
    """The port model and its bindings to the TF1 variables sent along (the converter's `bind_seq2seq`): a
    `.keras` keeps its own weights (the weights check compares them), a fresh `tf2.Seq2Seq` gets the values."""
    from migrate.checkpoint.bindings import bind_seq2seq  # noqa: PLC0415
    from migrate.checkpoint.reader import VariableInfo  # noqa: PLC0415
    from migrate.checkpoint.recognise import recognise  # noqa: PLC0415
    from migrate.parity.legacy_side import check_architecture  # noqa: PLC0415
    from migrate.parity.port_side import load_port  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    values = {k[len("value/"):]: inputs[k] for k in inputs.files if k.startswith("value/")}
    if job["source"] == "keras":
        model = load_port(job["keras"])
        check_architecture(hparams, model)
    else:
        model = Seq2Seq(hparams.replace(dropout=0.0))
    variables = {n: VariableInfo(n, tuple(int(d) for d in v.shape), "float32") for n, v in values.items()}
    plan = bind_seq2seq(model, recognise(variables), hparams.forget_bias)
    problems = plan.missing + plan.mismatched + [f"unused checkpoint variable {u}" for u in plan.unexpected]
    if problems:
        raise ParityInputError(f"{job.get('prefix') or 'the legacy graph'}: the Keras model and the checkpoint do "
                               f"not map onto each other ({len(problems)} problem(s)):\n  - " + "\n  - ".join(problems))
    if job["source"] == "values":
        for b in plan.bindings:
            for w, v in zip(b.keras_weights, b.to_keras([values[n] for n in b.tf1_names])):
                w.assign(np.asarray(v, np.float32))
    return model, plan.bindings


def _to_tf1(bindings, arrays: dict[int, np.ndarray], linear: bool) -> dict[str, np.ndarray]:
    from migrate.parity.port_side import _UnmappableError  # noqa: PLC0415

    out = {}
    for b in bindings:
        try:
            back = b.to_tf1([arrays[id(w)] for w in b.keras_weights], linear=linear)
        except ValueError as e:
            raise _UnmappableError(b, str(e)) from None
        out.update(zip(b.tf1_names, back))
    return out


def _run_seq2seq(job, inputs, out: dict[str, np.ndarray], reply: dict[str, Any]) -> None:
    import keras  # noqa: PLC0415

    from migrate.parity.port_side import port_optimizer  # noqa: PLC0415

    hparams = HParams.from_dict(job["hparams"])
    model, bindings = _seq2seq_port(job, inputs, hparams)
    # in the result file, not the reply line: a pipe holds 64 KiB, and replies wait there until the parent reads
    out["bindings.json"] = np.array(json.dumps([{"tf1_names": list(b.tf1_names), "transform": b.transform,
                                                  "what": b.what, "input_size": b.input_size,
                                                  "forget_bias": b.forget_bias, "layout": b.layout}
                                                 for b in bindings]))
    backend = keras.backend.backend()
    eager = bool(job["eager"]) and backend == "jax"
    forward, value_and_grad = COMPUTE[backend](model, eager)
    checks = set(job["checks"])
    batches = [[inputs[f"batch{i}/{k}"] for k in ("encoder_ids", "decoder_input_ids", "decoder_target_ids")]
               for i in range(job["batches"])]
    trainable = model.trainable_variables

    def put(prefix: str, tf1: dict[str, np.ndarray]) -> None:
        out.update({f"{prefix}/{n}": np.asarray(v, np.float32) for n, v in tf1.items()})

    if "weights" in checks:
        put("weights", _to_tf1(bindings, {id(w): _numpy(w.value) for w in trainable}, linear=False))
    first = first_grads = None
    if checks & {"gradients", "adam"}:
        logits, loss, grads = value_and_grad(*batches[0])
        first, first_grads = (logits, loss), grads
        put("gradients", _to_tf1(bindings, {id(w): _numpy(g) for w, g in zip(trainable, grads)}, linear=True))
    if first is not None and backend == "jax" and not eager:
        forward = lambda *b: value_and_grad(*b)[:2]  # noqa: E731  (compiled already for batches of that shape)
    if checks & {"logits", "loss"}:
        for i, b in enumerate(batches):
            logits, loss = first if (i == 0 and first is not None) else forward(*b)
            out[f"logits/{i}"] = _numpy(logits).astype(np.float32)
            out[f"loss/{i}"] = np.float64(_numpy(loss))
    if "adam" in checks and job["adam_steps"] > 0:
        before = [_numpy(w.value) for w in trainable]
        opt = port_optimizer(hparams)
        for k in range(job["adam_steps"]):   # step 1: the gradients above (same weights, same batch)
            grads = first_grads if k == 0 else value_and_grad(*batches[k % len(batches)])[2]
            opt.apply(grads, trainable)
        put("adam", _to_tf1(bindings, {id(w): _numpy(w.value) for w in trainable}, linear=False))
        for w, v in zip(trainable, before):
            w.assign(v)
    if "greedy" in checks:
        with _no_jit() if eager else _null():
            for i, b in enumerate(batches):
                out[f"greedy/{i}"] = _numpy(model.greedy_decode(b[0])).astype(np.int32)
    reply["eager"] = eager


def _run_keras(job, inputs, out: dict[str, np.ndarray], reply: dict[str, Any]) -> None:
    from migrate.parity.keras_side import KerasSide  # noqa: PLC0415

    if job.get("cwd") and job["cwd"] not in sys.path:
        sys.path.insert(0, job["cwd"])
    side = _KERAS_CACHE.get((job["keras"], job["build"]))
    if side is None:
        side = _KERAS_CACHE[(job["keras"], job["build"])] = KerasSide.load(job["keras"], job["build"])
    feed = {name: inputs[f"input/{i}"] for i, name in enumerate(job["inputs_names"])}
    result = side.run(feed)
    reply["outputs"] = list(result)
    for i, v in enumerate(result.values()):
        out[f"output/{i}"] = _numpy(v)


_KERAS_CACHE: dict = {}
JOBS = {"seq2seq": _run_seq2seq, "keras": _run_keras}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _no_jit():
    import jax  # noqa: PLC0415

    return jax.disable_jit()


def _serve() -> int:
    """The child's loop: one job per stdin line until EOF (see the module docstring)."""
    import traceback  # noqa: PLC0415

    import keras  # noqa: PLC0415

    import tf2  # noqa: F401, PLC0415  (registers the port's classes for load_model)
    import tf_migrate_runtime.layers  # noqa: F401, PLC0415  (and those of `convert --from-graph` models)
    import tf_migrate_runtime.losses  # noqa: F401, PLC0415
    from migrate.parity.port_side import _UnmappableError  # noqa: PLC0415

    def tf_loaded() -> bool:
        return any(m is not None and (k == "tensorflow" or k.startswith("tensorflow.")) for k, m in sys.modules.items())

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        start = time.perf_counter()
        reply: dict[str, Any] = {"id": job["id"], "out": job["out"], "backend": keras.backend.backend(),
                                 "keras": keras.__version__}
        out: dict[str, np.ndarray] = {}
        try:
            with np.load(job["inputs"], allow_pickle=False) as inputs:
                JOBS[job["kind"]](job, inputs, out, reply)
            np.savez(job["out"], **out)
        except ParityInputError as e:
            reply["input_error"] = str(e)
        except _UnmappableError as e:
            reply["error"] = f"cannot map the port's {e.binding.what} back to TF1 layout: {e}"
        except Exception:  # the child reports every failure to the parent, which raises it
            reply["error"] = traceback.format_exc()[-4000:]
        reply["seconds"] = round(time.perf_counter() - start, 3)
        reply["tensorflow_imported"] = tf_loaded()
        sys.stdout.write(REPLY + json.dumps(reply) + "\n")
        sys.stdout.flush()
        os.remove(job["inputs"])
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
