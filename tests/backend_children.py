"""One long-lived child process per Keras backend (JAX, PyTorch) for the whole pytest process, shared by the tests
that run converted models there (tests/test_graph_backends.py, test_graph_convert.py, test_graph_generic.py,
test_graph_ops.py, test_graph_constructs_raw_rnn.py): the `backend_children` fixture (tests/conftest.py).

`KERAS_BACKEND` is read once, when Keras is imported, so each backend needs its own process. A fresh child per test
paid Python + Keras + JAX / torch (+ TensorFlow, which Keras imports whenever it is installed) again each time:
3-7 s of CPU before its first op, then XLA compiles again what an earlier child had compiled. Here each backend's
child starts on first use, imports once and serves every later request of the run (with `pytest -n N --dist
loadfile` each worker process has its own two).

A child makes `import tensorflow` fail before it imports Keras (`tf2.backend_runner.block_tensorflow`, as on a
machine without TensorFlow), as the product promises converted models run; every reply says whether a
`tensorflow` module got loaded anyway. A job is a function of a Python file (`Job(name, file, func, kwargs)`: JSON
kwargs, paths for arrays) that returns `{key: array-like}`; each job's result or traceback comes back separately
(one failing job never hides the others), named by the job's name and the backend. A child that dies (a crash, a
timeout) fails the request naming its jobs, exit code and stderr tail; the next request starts a new child.
`BACKEND_CHILDREN_LOG=FILE` appends each job's CPU and wall seconds in its child to FILE.

    with a request:   results = backend_children.run({"jax": [Job(...)], "torch": [Job(...)]})   # both at once
                      results["jax"].values("model_a")  -> {key: np.ndarray}  (AssertionError naming a failed job)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import select
import subprocess
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@dataclasses.dataclass(frozen=True)
class Job:
    """`func(**kwargs)` of the Python file `file`, run in a backend's child; `name` names it in every message."""
    name: str
    file: str
    func: str
    kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Reply:
    """One request's results on one backend: per job name {"ok", "error", "values", "seconds", "cpu": its CPU
    seconds in the child}."""
    backend: str
    keras_backend: str
    tensorflow_imported: bool
    jobs: dict

    def values(self, name: str) -> dict:
        """The job's returned arrays; AssertionError naming the job, the backend and the child's traceback."""
        job = self.jobs[name]
        assert job["ok"], f"{name} on {self.backend}: {job['error']}"
        return job["values"]

    def error(self, name: str) -> str | None:
        return self.jobs[name]["error"]


class BackendChildren:
    """The children of one pytest process; `run` starts a backend's child on first use."""

    def __init__(self, tmp_dir: str):
        self._tmp = tmp_dir
        self._procs: dict[str, tuple[subprocess.Popen, str]] = {}
        self._count = 0

    def _child(self, backend: str) -> tuple[subprocess.Popen, str]:
        entry = self._procs.get(backend)
        if entry is not None and entry[0].poll() is None:
            return entry
        log = os.path.join(self._tmp, f"{backend}_{len(self._procs)}_{time.monotonic_ns()}.log")
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu",
               "PYTHONPATH": os.pathsep.join(p for p in (ROOT, HERE, os.environ.get("PYTHONPATH")) if p)}
        with open(log, "w") as err:
            proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve"], env=env, cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        self._procs[backend] = (proc, log)
        return proc, log

    def run(self, requests: dict[str, list[Job]], timeout: float = 900) -> dict[str, Reply]:
        """Send each backend its jobs (the children work at once), then wait for every reply."""
        sent = {}
        for backend, jobs in requests.items():
            assert len({j.name for j in jobs}) == len(jobs), [j.name for j in jobs]
            self._count += 1
            out = os.path.join(self._tmp, f"reply_{self._count}_{backend}.npz")
            proc, log = self._child(backend)
            line = json.dumps({"out": out, "jobs": [dataclasses.asdict(j) for j in jobs]})
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except OSError:
                pass   # the child died: reported below with its stderr
            sent[backend] = (proc, log, out, jobs)
        deadline = time.monotonic() + timeout
        return {backend: self._reply(backend, *args, deadline) for backend, args in sent.items()}

    def _reply(self, backend, proc, log, out, jobs, deadline) -> Reply:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "done":
            if not ready:
                proc.kill()
            proc.wait()
            with open(log, errors="replace") as f:
                tail = f.read()[-4000:]
            names = ", ".join(j.name for j in jobs)
            why = "timed out" if not ready else f"exited {proc.returncode}"
            raise AssertionError(f"KERAS_BACKEND={backend}: the child {why} while running {names}:\n{tail}")
        with np.load(out) as data:
            meta = json.loads(str(data["meta"]))
            results = {}
            for k, (job, m) in enumerate(zip(jobs, meta["jobs"])):
                values = {key: data[f"{k}/{key}"] for key in m["keys"]}
                results[job.name] = {"ok": m["error"] is None, "error": m["error"], "values": values,
                                     "seconds": m["seconds"], "cpu": m["cpu"]}
        os.remove(out)
        if os.environ.get("BACKEND_CHILDREN_LOG"):   # where the children's CPU goes: one line per job
            with open(os.environ["BACKEND_CHILDREN_LOG"], "a") as f:
                f.writelines(f"{backend}\t{name}\tcpu {r['cpu']:.2f} s\twall {r['seconds']:.2f} s\n"
                             for name, r in results.items())
        return Reply(backend, meta["backend"], meta["tensorflow_imported"], results)

    def close(self):
        for proc, _ in self._procs.values():
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()


# -- the child --------------------------------------------------------------------------------------------------------
def _load(path: str, cache: dict):
    if path not in cache:
        spec = importlib.util.spec_from_file_location(f"_backend_job_{len(cache)}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cache[path] = module
    return cache[path]


def _serve() -> int:
    spec = importlib.util.spec_from_file_location("_backend_runner", os.path.join(ROOT, "tf2", "backend_runner.py"))
    runner = importlib.util.module_from_spec(spec)   # stdlib + NumPy: blocks TensorFlow before Keras is imported
    spec.loader.exec_module(runner)
    runner.block_tensorflow()
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)   # whatever a library prints goes to the log, never into the replies
    sys.stdout = sys.stderr
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    modules: dict = {}
    for line in sys.stdin:
        request = json.loads(line)
        arrays, meta = {}, []
        for k, job in enumerate(request["jobs"]):
            start, cpu, error, keys = time.perf_counter(), time.process_time(), None, []
            try:
                values = getattr(_load(job["file"], modules), job["func"])(**job["kwargs"])
                for key, value in values.items():
                    arrays[f"{k}/{key}"] = (value if isinstance(value, np.ndarray)
                                            else np.asarray(keras.ops.convert_to_numpy(value)))
                    keys.append(key)
            except Exception:  # noqa: BLE001 - reported to the parent, whose test fails naming the job
                error = traceback.format_exc()[-3000:]
                for key in keys:
                    arrays.pop(f"{k}/{key}")
                keys = []
            meta.append({"error": error, "keys": keys, "seconds": time.perf_counter() - start,
                         "cpu": time.process_time() - cpu})
        meta = {"jobs": meta, "backend": keras.backend.backend(), "tensorflow_imported": runner.tensorflow_loaded()}
        tmp = request["out"] + ".tmp.npz"
        np.savez(tmp, meta=json.dumps(meta), **arrays)
        os.replace(tmp, request["out"])
        replies.write("done\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(_serve())
    sys.exit("usage: backend_children.py --serve (started by tests/conftest.py's backend_children fixture)")
