"""How fast does a converted model run beside the TF1 graph it came from (issue 22, points 3 and 4)?

    .venv/bin/python benchmarks/bench_converted_speed.py [--corpus DIR] [--name NAME ...] [--quick]
        [--runs N] [--warmup N] [--batches 1,64] [--sides tf1,eager,eager_untraced,compiled,compiled_per_layer,predict,xla,onnx]
        [--json OUT.json]
        [--recurrent as-converted|keras|runtime] [--stacks one-loop|per-layer]

Per model of the development corpus (default: the real fixtures, `tests/real_corpus.py`'s folder, plus
`../shared/fixtures/real_tf1_checkpoints/aplain_basiclstm_2017`; `--corpus DIR`: a folder written by
`benchmarks/corpus.py`, e.g. the 31-entry corpus), in ONE process:

1. **Conversion**: `python -m migrate convert --from-graph CKPT --out DIR --outputs <the manifest's outputs>` in a
   child process (`--variable NAME=zeros` for the manifest's `restore_exclude`), its console lines timestamped as
   they arrive, which says where the conversion's time goes (point 4, from what `convert` already logs; no hook):
   `imports` (Python, TensorFlow, Keras and the CLI imported: the process's time before `convert_graph` starts its
   own clock, read back from the `wrote ... in N s` line), `start` (the .meta read, the `TF1Graph`, the output
   selection, up to the `outputs:` line), `graph`
   (the needed subgraph imported and restored: `graph:`), `translate` (recognisers + op table: the `loop ...`
   lines; 0 when the graph has no loop, then it counts in the next phase), `build+tf1` (the Keras model built, its
   weights set, the parity feed generated, the TF1 graph run: up to `parity on`), `keras run` (the model on that
   feed: the parity rows), `loss` (the training loss checked), `save` (files written: `wrote ... in`), `exit`.
   With tf2onnx's venv (see `bench_graph_convert.py --install-tf2onnx`), tf2onnx.convert's own time beside it.
2. **Speed**, in three rotations (`ROTATIONS`): the compiled sides (`compiled`, `xla`, `onnx`) with the TF1 graph,
   then `eager` with the TF1 graph again, then `eager_untraced` with it, every batch's compiled rotation before any
   eager one (after an untraced eager call whatever is timed next runs slower for a while, the graph included:
   batch-1 figures were wrong when the eager side shared the compiled sides' rotation). In a rotation the sides are interleaved run by run (order
   rotated each run, so that a shared machine's load falls on every side alike), the median of `--runs` after
   `--warmup` calls; each side's speed is against the graph's median in its own rotation. At each batch of
   `--batches` (1: latency; 64: throughput, items/s) where the graph takes that batch (a graph that fixes its batch
   runs at its own; the row says which). With several models, each runs in a process of its own (`in_child`).
   The sides:
   - `tf1`: the graph restored in a `tf.compat.v1.Session` with TensorFlow's default session options (Grappler on,
     as a TF1 program ran it; the parity harness's `TF1Graph` switches it off) and dropout constants set to 1
     as convert does; `session.run(fetches, feed_dict)`;
   - `eager`: `model(inputs)` on the loaded `model.keras` (outputs to NumPy), what a notebook user first does (a
     `tfm.Model` runs it as one traced graph, `tf_migrate_runtime/layers/model.py`);
   - `eager_untraced` (not in the default `--sides`): the same call with `model.trace_eager_calls = False`, Keras'
     functional call layer by layer (the runtime layers' loops still traced): how a model converted before
     `tfm.Model` runs, and the `eager` side's "before";
   - `compiled`: `tf.function(lambda x: model(x, training=False))` called with the NumPy feeds, as a user's
     TF2 program calls a model (TensorFlow's dispatch of that polymorphic `tf.function` included);
   - `predict`: `model.predict_on_batch(feeds)` (a `tfm.Model` runs its traced call directly, Keras' predict
     machinery otherwise); not in the default `--sides`;
   - `xla`: the same with `jit_compile=True`;
   - `compiled_per_layer` (not in the default `--sides`): `compiled` with a `tfm.Model`'s stacks of recurrent
     layers run one loop per layer (`fuse_recurrent_stacks = False` while it traces): the one loop's "before",
     in the same rotation;
   - `onnx`: ONNX Runtime (CPU) on tf2onnx's `.onnx` of the same checkpoint and outputs (converted as
     `bench_graph_convert.py` does, in tf2onnx's own venv; timed in a child process by `ort_timer.py`).
   Each cell: the median (ms at batch 1, items/s above) and the speed against `tf1` (`2.0x` = twice as fast);
   a second table: the process's CPU seconds per call (`time.process_time`, all its threads; ONNX Runtime's from
   its own process), median, and the TF1 graph's / the side's in the same rotation (on a loaded machine the wall
   clock of a few-ms call measures the scheduler; the CPU time reproduces).
   The first call of `compiled` / `xla` (trace + compile) is in the JSON. The outputs of every side are
   compared with `tf1`'s once per batch (`max|d|`, the largest difference over all outputs and sides).
   The goals of issue 22 (compiled >= 1.0x, xla >= 1.5x, eager >= 0.25x, compiled >= onnx) are checked per row.

`--recurrent keras`: the loaded model's `tfm.LSTM` / `GRU` / `SimpleRNN` (what `convert` emits) rebuilt as the
`keras.layers` classes they extend (same config and weights): Keras' own loop, what the converter emitted before
issue 22, to measure what the runtime layers give. `--recurrent runtime`: the other way, for a model written by an
older converter (`keras.layers.LSTM` -> `tfm.LSTM`).

`--quick`: two models (a plain recurrent one and a decoder) unless `--name` says, 5 runs after 2 warm-ups, batch 1
and 64, no ONNX. `--convert-in-process`: convert with `migrate.graph.convert_graph` in this process (no second
TensorFlow start-up: `start` is then the in-process part only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_graph_convert as bgc  # noqa: E402 - benchmarks/ is on the path now

SIDES = ("tf1", "eager", "eager_untraced", "compiled", "compiled_per_layer", "predict", "xla", "onnx")
DEFAULT_SIDES = ("tf1", "eager", "compiled", "xla", "onnx")
KERAS_SIDES = ("eager", "eager_untraced", "compiled", "compiled_per_layer", "predict", "xla")
QUICK_NAMES = ("udacity_charrnn_tf13", "ptrnet_gru_bahdanau_tf15")
ORT_TIMER = os.path.join(ROOT, "benchmarks", "ort_timer.py")
# a real checkpoint beside the corpus fixtures (../shared/fixtures/real_tf1_checkpoints/README.md)
APLAIN = {"name": "aplain_basiclstm_2017", "dir": "aplain_basiclstm_2017", "prefix": "model.ckpt",
          "tf_version": "1.1", "outputs": ["inference/add_1:0"],
          "feeds": {"input:0": {"fill": "normal", "shape": [4, 10, 1]},
                    "istate:0": {"fill": "zeros", "shape": [4, 160]}}}
# the goals of issue 22: side -> the least speed against the TF1 graph
GOALS = {"compiled": 1.0, "xla": 1.5, "eager": 0.25}

# convert's console lines -> the phase that ends when the line arrives (the first pattern that matches wins; a
# phase seen again extends to the later line)
PHASES = (("start", re.compile(r"^outputs: ")), ("graph", re.compile(r"^graph: ")),
          ("translate", re.compile(r"^(loop |a recogniser matched)")),
          ("build+tf1", re.compile(r"^parity on ")), ("keras run", re.compile(r"^  \S+: (max abs|exact|FAILED|the)")),
          ("loss", re.compile(r"^training loss")), ("save", re.compile(r"^wrote ")))


# -- the corpus --------------------------------------------------------------------------------------------------

def default_entries() -> list[tuple[dict, str]]:
    """(entry, corpus folder) for the real fixtures present (tests/real_corpus.py) and aplain_basiclstm_2017."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import real_corpus  # noqa: PLC0415

    root = real_corpus.real_tf1_dir()
    out = [(e, root) for e in real_corpus.present_entries(fixtures_only=True)] if root else []
    checkpoints = os.path.join(ROOT, "..", "shared", "fixtures", "real_tf1_checkpoints")
    if os.path.isfile(os.path.join(checkpoints, APLAIN["dir"], APLAIN["prefix"] + ".index")):
        out.append((APLAIN, os.path.abspath(checkpoints)))
    return out


def scaled(entry: dict, batch: int | None) -> dict:
    """`entry` with its array feeds at batch `batch` (axis 0, where it equals the manifest's batch: the most common
    first size of its array feeds); None: as given."""
    feeds = entry.get("feeds") or {}
    firsts = [v["shape"][0] for v in feeds.values() if isinstance(v, dict) and v.get("shape")]
    if batch is None or not firsts:
        return entry
    manifest_batch = max(set(firsts), key=firsts.count)
    new = {k: (dict(v, shape=[batch] + list(v["shape"][1:])) if isinstance(v, dict) and v.get("shape")
               and v["shape"][0] == manifest_batch else v) for k, v in feeds.items()}
    return dict(entry, feeds=new)


# -- conversion (point 4) ----------------------------------------------------------------------------------------

def phases_of(lines: list[tuple[float, str]], end: float) -> dict:
    """{phase: seconds} from timestamped console lines (seconds since the start) and the end time."""
    marks = {}
    for t, line in lines:
        for phase, pattern in PHASES:
            if pattern.search(line):
                marks[phase] = t
                break
    out, prev = {}, 0.0
    wrote = next((float(m.group(1)) for t, ln in lines if (m := re.search(r"^wrote .* in ([0-9.]+) s$", ln))), None)
    if wrote is not None and "save" in marks and marks.get("start", 0.0) > marks["save"] - wrote:
        # convert_graph's own clock starts after the interpreter, TensorFlow and the CLI are imported
        prev = max(marks["save"] - wrote, 0.0)
        out["imports"] = round(prev, 2)
    else:
        out["imports"] = 0.0
    for phase, _ in PHASES:
        if phase in marks:
            out[phase] = round(max(marks[phase] - prev, 0.0), 2)
            prev = marks[phase]
        else:
            out[phase] = 0.0
    out["exit"] = round(max(end - prev, 0.0), 2)
    return out


def convert(entry: dict, corpus: str, out: str, in_process: bool = False) -> dict:
    """Convert `entry` into `out` with the manifest's outputs, and its feeds as `--inputs FEED.npz` / `--feed`
    (`bench_graph_convert.make_feeds`): what the TF1 side is fed is what the model takes (a `PlaceholderWithDefault`
    the manifest feeds, an initial state, is an input of the model only when given; kept at its default the two
    sides compute different things). Returns {ok, seconds, phases, why, lines}."""
    prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
    variables = list(entry.get("restore_exclude") or ())
    arrays, scalars = bgc.make_feeds(entry)
    npz = out.rstrip(os.sep) + "_feed.npz" if arrays else None
    if npz:
        np.savez(npz, **arrays)
    lines: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    if in_process:
        from migrate.errors import MigrateError  # noqa: PLC0415
        from migrate.graph import convert_graph  # noqa: PLC0415

        try:
            convert_graph(prefix, out, outputs=entry["outputs"], force=True, variables={n: "zeros" for n in variables},
                          inputs_npz=npz, feeds=scalars, log=lambda m: lines.append((time.perf_counter() - t0, m)))
            ok, why = True, None
        except MigrateError as e:
            ok, why = False, bgc.first_line(e)
    else:
        cmd = [sys.executable, "-m", "migrate", "convert", "--from-graph", prefix, "--out", out, "--force",
               "--no-progress", "--outputs", ",".join(entry["outputs"])]
        if npz:
            cmd += ["--inputs", npz]
        for k, v in scalars.items():
            cmd += ["--feed", f"{k}={json.dumps(v)}"]
        for n in variables:
            cmd += ["--variable", f"{n}=zeros"]
        env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
        for line in proc.stdout:
            lines.append((time.perf_counter() - t0, line.rstrip("\n")))
        rc = proc.wait()
        ok = rc == 0
        why = None if ok else f"exit {rc}: " + next((ln for _, ln in reversed(lines) if ln.strip()), "no output")
    end = time.perf_counter() - t0
    return {"ok": ok, "why": why, "seconds": round(end, 2), "phases": phases_of(lines, end),
            "lines": [f"{t:7.2f} {ln}" for t, ln in lines]}



def converted(entry: dict, corpus: str, out: str, in_process: bool = False) -> tuple[dict, dict | None, object]:
    """`convert` into `out`, then its report read and its `model.keras` loaded (the runtime's layers imported: the
    report's load_requires) -> (the convert row, the report, the model); (the row, None, None) when it failed."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    row = convert(entry, corpus, out, in_process=in_process)
    if not row["ok"]:
        return row, None, None
    with open(os.path.join(out, "convert_report.json")) as f:
        report = json.load(f)
    return row, report, keras.saving.load_model(os.path.join(out, "model.keras"))

# -- the sides ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def tf1_default_session_options():
    """TF1Graph's session with TensorFlow's default options (Grappler on) instead of the parity harness's (off)."""
    from migrate.parity import tf1_graph  # noqa: PLC0415

    saved = tf1_graph._session_config
    def default_options(tf, place_pruned: bool = False):
        config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
        config.graph_options.place_pruned_graph = place_pruned   # a cuDNN op with no CPU kernel: place what runs
        return config

    tf1_graph._session_config = default_options
    try:
        yield
    finally:
        tf1_graph._session_config = saved


class Tf1Side:
    """The TF1 graph in a Session: restored once, `session.run(fetches, feed_dict)` per call."""

    def __init__(self, entry: dict, corpus: str):
        from migrate.graph.convert import _inference_constants  # noqa: PLC0415
        from migrate.graph.meta import TF1Graph  # noqa: PLC0415

        prefix = os.path.join(corpus, entry["dir"], entry["prefix"])
        with tf1_default_session_options():
            self.tf1 = TF1Graph(prefix, variables={n: "zeros" for n in entry.get("restore_exclude") or ()})
            _inference_constants(self.tf1)
            self.tf1.focus(list(entry["outputs"]))
            self.session = self.tf1.session
        self.fetches = [self.tf1.tensor(o) for o in entry["outputs"]]
        self.feed_dict = None

    def free_batch(self, name: str) -> bool:
        p = self.tf1.placeholder(name)
        return not p.shape or p.shape[0] is None

    def set_feed(self, feed: dict) -> None:
        g = self.tf1.graph
        names = {}
        for k in feed:
            try:
                names[k] = g.get_tensor_by_name(k if ":" in k else k + ":0")
            except (KeyError, ValueError):
                continue   # not needed by the outputs
        self.feed_dict = {names[k]: v for k, v in feed.items() if k in names}

    def __call__(self):
        return self.session.run(self.fetches, self.feed_dict)


class KerasSide:
    """The loaded `model.keras`, called eagerly, under `tf.function`, or under `tf.function(jit_compile=True)`."""

    def __init__(self, model, kind: str):
        import tensorflow as tf  # noqa: PLC0415

        self.model, self.kind, self.inputs = model, kind, None
        # a tfm.Model runs an eager call traced; eager_untraced: Keras' functional call, layer by layer (as a model
        # converted before tfm.Model, a plain keras.Model, runs its eager calls)
        self.traced = {"eager": True, "eager_untraced": False}.get(kind)
        if self.traced is not None:
            self.fn = lambda x: model(x, training=False)
        elif kind == "predict":
            self.fn = model.predict_on_batch
        elif kind == "compiled_per_layer":   # `compiled` with a tfm.Model's recurrent stacks one loop per layer
            def per_layer(x):
                fuse = getattr(model, "fuse_recurrent_stacks", None)
                model.fuse_recurrent_stacks = False   # read while tracing (layers/stacked.py)
                try:
                    return model(x, training=False)
                finally:
                    model.fuse_recurrent_stacks = fuse
            self.fn = tf.function(per_layer)
        else:
            self.fn = tf.function(lambda x: model(x, training=False), jit_compile=kind == "xla")
        self.first_call = None

    def set_feed(self, feed: dict) -> None:
        self.inputs = feed

    def __call__(self):
        import keras  # noqa: PLC0415

        if self.traced is not None and hasattr(self.model, "trace_eager_calls"):
            self.model.trace_eager_calls = self.traced
        out = self.fn(self.inputs)
        out = out if isinstance(out, list | tuple) else [out]
        return [keras.ops.convert_to_numpy(o) for o in out]


class OnnxSide:
    """ONNX Runtime on tf2onnx's `.onnx`, in tf2onnx's venv (`ort_timer.py`); the time is measured there."""

    def __init__(self, onnx_path: str, work: str):
        env = dict(os.environ, PYTHONPATH="", CUDA_VISIBLE_DEVICES="")
        self.proc = subprocess.Popen([bgc.venv_python(), ORT_TIMER, onnx_path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=work)
        self.work = work
        self.n = 0
        self.last_cpu = None

    def _ask(self, cmd: dict) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("ort_timer.py ended")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def set_feed(self, feed: dict) -> None:
        self.n += 1
        path = os.path.join(self.work, f"ort_feed_{self.n}.npz")
        np.savez(path, **feed)
        self._ask({"feed": path})

    def timed(self) -> float:
        reply = self._ask({"run": True})
        self.last_cpu = reply.get("cpu_seconds")   # ort_timer.py's process: ONNX Runtime's threads, no Python around
        return reply["seconds"]

    def outputs(self) -> list:
        path = os.path.join(self.work, f"ort_out_{self.n}.npz")
        self._ask({"save": path})
        got = np.load(path)
        return [got[f"out_{k}"] for k in range(len(got.files))]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


RECURRENT = ("LSTM", "GRU", "SimpleRNN")
# --recurrent -> (the module of the classes a config names now, the module and registered name they become)
RECURRENT_SWAPS = {"runtime": ("keras.layers", "tf_migrate_runtime.layers.recurrent", "tf_migrate_runtime>{}"),
                   "keras": ("tf_migrate_runtime.layers.recurrent", "keras.layers", None)}


def _swap_recurrent(config, how: str):
    """A model config with every recurrent layer of `RECURRENT` (also inside a wrapper such as `Bidirectional`)
    moved to the other module of `RECURRENT_SWAPS[how]`: `keras.layers.LSTM` <-> `tf_migrate_runtime.layers.LSTM`
    (the subclass: the same arguments and weights)."""
    if isinstance(config, dict):
        src, dst, registered = RECURRENT_SWAPS[how]
        if config.get("class_name") in RECURRENT and config.get("module") == src:
            config = dict(config, module=dst,
                          registered_name=registered.format(config["class_name"]) if registered else None)
            if how == "keras":   # Keras' LSTM has no forget_bias: `with_recurrent` folds it into the bias
                config["config"] = {k: v for k, v in config["config"].items() if k != "forget_bias"}
        return {k: _swap_recurrent(v, how) for k, v in config.items()}
    if isinstance(config, list):
        return [_swap_recurrent(v, how) for v in config]
    return config


def with_recurrent(model, how: str):
    """`model` rebuilt with its recurrent layers as `how` says (`--recurrent keras`: `tfm.LSTM` -> Keras' own
    `keras.layers.LSTM`; `runtime`: the reverse); the same weights. Returns (model, layers swapped)."""
    config = model.get_config()
    new_config = _swap_recurrent(config, how)
    if new_config == config:
        return model, 0
    new = type(model).from_config(new_config)   # a tfm.Model stays one
    new.set_weights(model.get_weights())
    for layer in model._flatten_layers():   # a tfm.LSTM's run-time forget bias, folded for Keras' LSTM
        fb = getattr(layer, "forget_bias", 0.0) if type(layer).__name__ == "LSTM" else 0.0
        if fb and how == "keras":
            bias, u = layer.cell.bias.numpy().copy(), layer.cell.units
            bias[u:2 * u] += np.float32(fb)
            next(x for x in new._flatten_layers() if x.name == layer.name).cell.bias.assign(bias)
    ours = "tf_migrate_runtime.layers.recurrent"
    n = sum(1 for layer in model._flatten_layers()
            if type(layer).__name__ in RECURRENT and (type(layer).__module__ == ours) == (how == "keras"))
    return new, n


def shape_problem(ref: list, got: list) -> str | None:
    """The first output whose shape is not the TF1 graph's, said (`max_diff` has no number for it), else None."""
    for k, (r, o) in enumerate(zip(ref, got)):
        if np.shape(r) != np.shape(o):
            return f"output {k}: shape {list(np.shape(o))}, the TF1 graph's {list(np.shape(r))}"
    return None


def max_diff(ref: list, got: list) -> float:
    d = 0.0
    for r, o in zip(ref, got):
        r, o = np.asarray(r), np.asarray(o)
        if r.shape != o.shape:   # `shape_problem` says which
            return float("inf")
        if r.size:
            d = max(d, float(np.max(np.abs(r.astype(np.float64) - o.astype(np.float64)))))
    return d


# The sides are timed in rotations of their own, each interleaved run by run with the TF1 graph, and each side's
# speed is against the graph's median in its own rotation; every batch's compiled rotation first, then every batch's
# eager one, then the untraced eager one. On TensorFlow's CPU whatever is timed after an untraced eager call (Keras'
# functional call, one eager op per operation) runs slower for a while, the TF1 graph included: in one shared rotation
# the graph's batch-1 median went from 0.87 ms to 7.5 ms (hcn_shared_layer_lstm_tf18), which put that slowdown on
# every side of the row.
ROTATIONS = (("compiled", "compiled_per_layer", "predict", "xla", "onnx"), ("eager",), ("eager_untraced",))


def prepare_batch(entry: dict, batch: int | None, tf1: Tf1Side, report: dict) -> tuple[dict, dict | None]:
    """A row for batch `batch` (None: the manifest's) and what its rotations need: the feeds and the graph's
    outputs (None when the graph does not run: the row says why). Never raises."""
    row = {"batch": batch, "sides": {}, "errors": {}, "max_diff": {}}
    feed_entry = scaled(entry, batch)
    fixed = [k for k, v in (entry.get("feeds") or {}).items() if isinstance(v, dict) and v.get("shape")
             and feed_entry["feeds"][k]["shape"] != v["shape"] and not tf1.free_batch(k.split(":")[0])]
    if fixed:   # the graph fixes the batch of this placeholder: its own batch
        feed_entry = entry
    arrays, scalars = bgc.make_feeds(feed_entry)
    feed = dict(arrays)
    feed.update({k: np.asarray(v, dtype=np.float32 if isinstance(v, float) else None) for k, v in scalars.items()})
    try:
        tf1.set_feed(feed)
        ref = tf1()
    except Exception as e:  # noqa: BLE001 - a graph that fixes its batch elsewhere (a concat): its own batch
        if feed_entry is entry:
            row["errors"]["tf1"] = bgc.first_line(e)[:200]
            return row, None
        feed_entry = entry
        arrays, scalars = bgc.make_feeds(entry)
        feed = dict(arrays)
        feed.update({k: np.asarray(v, dtype=np.float32 if isinstance(v, float) else None) for k, v in scalars.items()})
        tf1.set_feed(feed)
        ref = tf1()
    sizes = [v.shape[0] for v in arrays.values() if v.ndim]
    row["batch"] = max(set(sizes), key=sizes.count) if sizes else 1
    row["batch_fixed_by_graph"] = feed_entry is entry and batch is not None and row["batch"] != batch
    keras_feed = {i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"] if i["graph"] in feed}
    lacking = [i["graph"] for i in report["graph"]["inputs"] if i["graph"] not in feed]
    if lacking:
        row["errors"]["keras"] = f"the manifest's feeds lack the model's inputs {lacking}"
    return row, {"feed": feed, "keras_feed": None if lacking else keras_feed, "ref": ref}


def time_rotation(row: dict, state: dict, group: tuple[str, ...], tf1: Tf1Side, keras_sides: dict,
                  onnx: OnnxSide | None, runs: int, warmup: int) -> None:
    """The sides of `group` present here, each called once (its outputs against the graph's: `max_diff`), then
    timed with the TF1 graph, interleaved run by run in an order rotated each run; medians into `row`. Never
    raises (a side that fails is an error of the row)."""
    callers = {}
    tf1.set_feed(state["feed"])
    for name in group:
        if name == "onnx":
            if onnx is None:
                continue
            try:
                onnx.set_feed(state["feed"])
                row["sides"].setdefault("onnx", {})["first_call_s"] = round(onnx.timed(), 3)
                row["max_diff"]["onnx"] = max_diff(state["ref"], onnx.outputs())
                callers["onnx"] = onnx
            except Exception as e:  # noqa: BLE001
                row["errors"]["onnx"] = bgc.first_line(e)[:200]
            continue
        side = keras_sides.get(name)
        if side is None or state["keras_feed"] is None:
            continue
        side.set_feed(state["keras_feed"])
        t0 = time.perf_counter()
        try:
            got = side()
        except Exception as e:  # noqa: BLE001 - XLA refuses a graph, a layer fails: the row says so
            row["errors"][name] = bgc.first_line(e)[:200]
            continue
        row["sides"].setdefault(name, {})["first_call_s"] = round(time.perf_counter() - t0, 3)
        row["max_diff"][name] = max_diff(state["ref"], got)
        if shape_problem(state["ref"], got):
            row["errors"][name] = shape_problem(state["ref"], got)
        callers[name] = side
    if not callers:
        return
    callers = {"tf1": tf1, **callers}
    times = {n: [] for n in callers}
    cpu = {n: [] for n in callers}
    order = list(callers)
    for r in range(warmup + runs):
        turn = order[r % len(order):] + order[:r % len(order)]
        for name in turn:
            side = callers[name]
            if name == "onnx":
                s = side.timed()
                c = side.last_cpu
            else:
                c0, t0 = time.process_time(), time.perf_counter()
                side()
                s, c = time.perf_counter() - t0, time.process_time() - c0
            if r >= warmup:
                times[name].append(s)
                if c is not None:
                    cpu[name].append(c)
    base = statistics.median(times.pop("tf1"))
    cpu_base = statistics.median(cpu.pop("tf1"))
    rotation = row.setdefault("tf1_by_rotation", {})
    rotation[",".join(times)] = base
    row.setdefault("tf1_cpu_by_rotation", {})[",".join(times)] = cpu_base
    tf1_side = row["sides"].setdefault("tf1", {})
    if "median_s" not in tf1_side:   # the table's TF1 column: its first rotation (the compiled sides')
        tf1_side.update(median_s=base, items_per_s=row["batch"] / base, runs=runs, cpu_s=cpu_base)
    for name, ts in times.items():
        med = statistics.median(ts)
        row["sides"][name].update(median_s=med, items_per_s=row["batch"] / med, runs=len(ts),
                                  tf1_median_s=base, vs_tf1=round(base / med, 3))
        if cpu[name]:   # process CPU seconds per call (every thread of the process: the load barely moves it)
            c = statistics.median(cpu[name])
            row["sides"][name].update(cpu_s=c, tf1_cpu_s=cpu_base, cpu_vs_tf1=round(cpu_base / c, 3) if c else None)


def finish_row(row: dict) -> dict:
    if "median_s" in row["sides"].get("tf1", {}):
        row["sides"]["tf1"]["vs_tf1"] = 1.0
    row["goals"] = goals(row)
    return row


def time_batch(entry: dict, batch: int | None, tf1: Tf1Side, keras_sides: dict, onnx: OnnxSide | None,
               report: dict, runs: int, warmup: int) -> dict:
    """One row: every side at batch `batch` (None: the manifest's), rotation by rotation. Never raises."""
    row, state = prepare_batch(entry, batch, tf1, report)
    if state is not None:
        for group in ROTATIONS:
            time_rotation(row, state, group, tf1, keras_sides, onnx, runs, warmup)
    return finish_row(row)


def goals(row: dict) -> dict:
    """Issue 22's goals on one row: {goal: True / False / None (no figure)}."""
    s = row["sides"]
    out = {f"{side} >= {least}x": (s[side]["vs_tf1"] >= least if "vs_tf1" in s.get(side, {}) else None)
           for side, least in GOALS.items()}
    if "vs_tf1" in s.get("onnx", {}) and "vs_tf1" in s.get("compiled", {}):
        out["compiled >= onnx"] = s["compiled"]["vs_tf1"] >= s["onnx"]["vs_tf1"]
    return out


# -- one model ---------------------------------------------------------------------------------------------------

def bench_model(entry: dict, corpus: str, work: str, args) -> dict:
    res = {"name": entry["name"], "tf": entry.get("tf_version", "?")}
    res["convert"], report, model = converted(entry, corpus, os.path.join(work, entry["name"]),
                                              in_process=args.convert_in_process)
    if model is None:
        res["why"] = res["convert"]["why"]
        return res
    if args.recurrent != "as-converted":
        model, res["recurrent_layers_swapped"] = with_recurrent(model, args.recurrent)
    if args.stacks == "per-layer":   # the tfm.Model's stacks of recurrent layers one loop each, as before session 10
        model.fuse_recurrent_stacks = False
    if hasattr(model, "fuse_recurrent_stacks"):   # the stacks a tfm.Model runs as one loop each (layers/stacked.py)
        from tf_migrate_runtime.layers import stacked  # noqa: PLC0415

        res["stacks"] = [[n.operation.name for n in chain] for chain in stacked.plan(model).values()]
    keras_sides = {k: KerasSide(model, k) for k in KERAS_SIDES if k in args.sides}
    tf1 = Tf1Side(entry, corpus)
    onnx = None
    if "onnx" in args.sides and os.path.isfile(bgc.venv_python()):
        reference = bgc.tf1_reference(entry, corpus)
        t = bgc.tf2onnx_one(entry, corpus, work, reference, args.tf2onnx_timeout)
        res["tf2onnx"] = {k: t.get(k) for k in ("converted", "parity_ok", "why", "seconds_import", "seconds_convert",
                                                "seconds_ort", "wall_seconds")}
        path = os.path.join(work, f"{entry['name']}_tf2onnx", "model.onnx")
        if t.get("converted") and os.path.isfile(path):
            onnx = OnnxSide(path, os.path.dirname(path))
    try:
        prepared = []
        for b in args.batches:
            row, state = prepare_batch(entry, b, tf1, report)
            if all(r["batch"] != row["batch"] for r, _ in prepared):   # a graph that fixes its batch: one row
                prepared.append((row, state))
        for group in ROTATIONS:   # every batch's compiled rotation, then every batch's eager ones (ROTATIONS)
            for row, state in prepared:
                if state is not None:
                    time_rotation(row, state, group, tf1, keras_sides, onnx, args.runs, args.warmup)
        res["rows"] = [finish_row(row) for row, _ in prepared]
    finally:
        if onnx is not None:
            onnx.close()
        tf1.tf1.close()
    return res


# -- the tables --------------------------------------------------------------------------------------------------

def cell(row: dict, side: str) -> str:
    s = row["sides"].get(side, {})
    if "median_s" not in s:
        return "n/a" if side in row["errors"] else "-"
    value = f"{s['median_s'] * 1000:.2f}ms" if row["batch"] == 1 else f"{s['items_per_s']:.0f}/s"
    return value if side == "tf1" else f"{value} {s['vs_tf1']:.2f}x"


def cpu_cell(row: dict, side: str) -> str:
    s = row["sides"].get(side, {})
    if "cpu_s" not in s:
        return "n/a" if side in row["errors"] else "-"
    value = f"{s['cpu_s'] * 1000:.2f}ms"
    return value if side == "tf1" or s.get("cpu_vs_tf1") is None else f"{value} {s['cpu_vs_tf1']:.2f}x"


def cpu_table(results: list[dict], sides: tuple[str, ...]) -> list[str]:
    """Process CPU time per call (`time.process_time` around the call: every thread of this process; ONNX Runtime:
    its own process's), median, and its ratio to the TF1 graph's in the same rotation: on a shared machine the
    figure that reproduces (a side's CPU time moves little with the load, its wall time doubles)."""
    head = f"{'model':34s} {'batch':>5s} " + " ".join(f"{s:>17s}" for s in sides)
    lines = [head, "-" * len(head)]
    for res in results:
        for row in res.get("rows", ()):
            batch = f"{row['batch']}{'*' if row.get('batch_fixed_by_graph') else ''}"
            lines.append(f"{res['name']:34s} {batch:>5s} " + " ".join(f"{cpu_cell(row, s):>17s}" for s in sides))
    lines.append("ms = median CPU seconds per call of the whole process (batch as above); Nx = the TF1 graph's CPU "
                 "time per call in the same rotation / the side's")
    return lines


def speed_table(results: list[dict], sides: tuple[str, ...]) -> list[str]:
    head = f"{'model':34s} {'batch':>5s} " + " ".join(f"{s:>17s}" for s in sides) + "  max|d|    goals missed"
    lines = [head, "-" * len(head)]
    for res in results:
        if "rows" not in res:
            lines.append(f"{res['name']:34s} not converted: {res.get('why', '?')[:150]}")
            continue
        for row in res["rows"]:
            missed = [g for g, ok in row.get("goals", {}).items() if ok is False]
            d = max(row.get("max_diff", {}).values(), default=float("nan"))
            batch = f"{row['batch']}{'*' if row.get('batch_fixed_by_graph') else ''}"
            lines.append(f"{res['name']:34s} {batch:>5s} " + " ".join(f"{cell(row, s):>17s}" for s in sides)
                         + f"  {d:8.1e}  {', '.join(missed) or 'none'}")
            for side, why in row["errors"].items():
                lines.append(f"{'':41s}{side}: {why}")
    lines.append("ms = median latency (batch 1), /s = items per second (larger batches); Nx = speed against the TF1 "
                 "graph timed in the same rotation (its time there / the side's; the tf1 column: the first "
                 "rotation's); * = the graph fixes its batch")
    return lines


def convert_table(results: list[dict]) -> list[str]:
    names = ["imports"] + [p for p, _ in PHASES] + ["exit"]
    head = f"{'model':34s} {'total s':>8s} " + " ".join(f"{n:>9s}" for n in names) + "   tf2onnx s (import+convert)"
    lines = [head, "-" * len(head)]
    for res in results:
        c = res.get("convert")
        if not c:
            continue
        t = res.get("tf2onnx") or {}
        t2o = (f"{(t.get('seconds_import') or 0) + (t.get('seconds_convert') or 0):.1f}"
               if t.get("seconds_convert") is not None else "-")
        lines.append(f"{res['name']:34s} {c['seconds']:8.1f} " + " ".join(f"{c['phases'].get(n, 0.0):9.1f}"
                                                                         for n in names) + f"   {t2o}")
    return lines


def compare_table(before: dict, after: dict) -> list[str]:
    """Two `--json` results side by side (e.g. before / after a runtime change): per model and batch, each side's
    speed against the TF1 graph in each run, `before -> after`."""
    sides = [s for s in after["sides"] if s != "tf1" and s in before["sides"]]
    rows_before = {(r["name"], row["batch"]): row for r in before["results"] for row in r.get("rows", ())}
    head = (f"{'model':34s} {'batch':>5s} " + " ".join(f"{s + ' x':>15s}" for s in sides) + "   cpu "
            + " ".join(f"{s + ' x':>15s}" for s in sides))
    lines = [head, "-" * len(head)]
    for res in after["results"]:
        for row in res.get("rows", ()):
            old = rows_before.get((res["name"], row["batch"]), {"sides": {}})

            def x(r, side, key):
                v = r["sides"].get(side, {}).get(key)
                return "n/a" if v is None else f"{v:.2f}"
            lines.append(f"{res['name']:34s} {row['batch']:>5d} "
                         + " ".join(f"{x(old, s, 'vs_tf1') + ' -> ' + x(row, s, 'vs_tf1'):>15s}" for s in sides)
                         + "   cpu " + " ".join(f"{x(old, s, 'cpu_vs_tf1') + ' -> ' + x(row, s, 'cpu_vs_tf1'):>15s}"
                                                for s in sides))
    return lines


def in_child(argv: list[str], name: str, work: str) -> dict:
    """This benchmark on the one model `name`, in a child process with the same options; its result."""
    keep, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--name", "--json"):
            skip = True
        elif not a.startswith(("--name=", "--json=")):
            keep.append(a)
    out = os.path.join(work, f"{name}.result.json")
    cmd = [sys.executable, os.path.abspath(__file__), *keep, "--name", name, "--json", out, "--child"]
    rc = subprocess.call(cmd, cwd=ROOT)
    try:
        with open(out) as f:
            return json.load(f)["results"][0]
    except (OSError, ValueError, IndexError, KeyError):
        return {"name": name, "why": f"its process ended with exit {rc} and no result"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="a folder written by benchmarks/corpus.py (default: the real fixtures)")
    ap.add_argument("--name", action="append", help="only these entries")
    ap.add_argument("--quick", action="store_true", help="two models, 5 runs after 2 warm-ups, no ONNX")
    ap.add_argument("--runs", type=int, help="timed calls per side and batch (default 20; --quick 5)")
    ap.add_argument("--warmup", type=int, help="untimed calls first (default 3; --quick 2)")
    ap.add_argument("--batches", default="1,64", help="comma-separated batch sizes (default 1,64)")
    ap.add_argument("--sides", default=",".join(DEFAULT_SIDES),
                    help=f"comma-separated, from {', '.join(SIDES)} (default {','.join(DEFAULT_SIDES)})")
    ap.add_argument("--tf2onnx-timeout", type=float, default=600.0, help="seconds per checkpoint (default 600)")
    ap.add_argument("--convert-in-process", action="store_true",
                    help="convert in this process (no second TensorFlow start-up)")
    ap.add_argument("--recurrent", choices=("as-converted", "keras", "runtime"), default="as-converted",
                    help="keras: the model's tfm.LSTM / GRU / SimpleRNN run as the keras.layers classes they extend "
                         "(Keras' own loop); runtime: the reverse, for a model of an older converter")
    ap.add_argument("--stacks", choices=("one-loop", "per-layer"), default="one-loop",
                    help="per-layer: a tfm.Model's stacks of tfm.LSTM / GRU / SimpleRNN layers run one loop per layer "
                         "(tfm.Model.fuse_recurrent_stacks = False) instead of one loop for the stack")
    ap.add_argument("--json", help="write the results as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)   # in_child: one model, JSON only
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE.json", "AFTER.json"),
                    help="print two --json results side by side and exit (nothing is run)")
    args = ap.parse_args(argv)
    if args.compare:
        with open(args.compare[0]) as f, open(args.compare[1]) as g:
            print("\n".join(compare_table(json.load(f), json.load(g))))
        return 0
    args.sides = tuple(s.strip() for s in args.sides.split(",") if s.strip())
    if "tf1" not in args.sides or any(s not in SIDES for s in args.sides):
        ap.error(f"--sides {','.join(args.sides)}: tf1 and any of {', '.join(SIDES[1:])}")
    if args.quick:
        args.sides = tuple(s for s in args.sides if s != "onnx")
    args.runs = args.runs or (5 if args.quick else 20)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 3)
    args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from migrate.quiet import import_tensorflow_quietly  # noqa: PLC0415

    import_tensorflow_quietly()
    if args.corpus:
        entries = [(e, args.corpus) for e in bgc.load_manifest(args.corpus)]
    else:
        entries = default_entries()
    wanted = args.name or (QUICK_NAMES if args.quick else None)
    if wanted:
        entries = [(e, c) for e, c in entries if e["name"] in wanted]
    if not entries:
        print("no model to run (check --corpus / --name)", file=sys.stderr)
        return 2
    if "onnx" in args.sides and not os.path.isfile(bgc.venv_python()):
        print(f"(no ONNX side: {bgc.TF2ONNX_VENV} does not exist; bench_graph_convert.py --install-tf2onnx)",
              flush=True)
    results = []
    with tempfile.TemporaryDirectory() as work:
        for entry, corpus in entries:
            if not args.child:
                print(f"{entry['name']} ...", flush=True)
            if len(entries) > 1:   # one process per model: no model's state (threads, caches, memory) in another's
                res = in_child(argv, entry["name"], work)
                results.append(res)
                continue
            try:
                res = bench_model(entry, corpus, work, args)
            except Exception as e:  # noqa: BLE001 - one model's failure is a row, the others go on
                res = {"name": entry["name"], "why": f"{type(e).__name__}: {bgc.first_line(e)[:200]}"}
            results.append(res)
    shown = tuple(s for s in SIDES if s in args.sides)
    if args.child:
        with open(args.json, "w") as f:
            json.dump({"results": results}, f)
        return 0
    print()
    print(f"speed, {args.runs} runs after {args.warmup} warm-ups, each side interleaved run by run with the TF1 graph "
          f"in its rotation ({' | '.join(','.join(g) for g in ROTATIONS)}; CPU); recurrent layers {args.recurrent}, "
          f"stacks {args.stacks}")
    print("\n".join(speed_table(results, shown)))
    print()
    print("CPU time per call, the same runs")
    print("\n".join(cpu_table(results, shown)))
    print()
    print("conversion: seconds per phase, from convert's console lines as they arrive")
    print("\n".join(convert_table(results)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": args.runs, "warmup": args.warmup, "sides": shown, "recurrent": args.recurrent,
                       "stacks": args.stacks, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
