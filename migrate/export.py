"""`tf-migrate export` and `convert --export-saved-model`: a converted Keras model -> a TF2 SavedModel served exactly
as the TF1 model was (docs/serving.md).

    from migrate.export import export_saved_model
    report = export_saved_model("port/", "serving/mymodel/1")      # port/ = a `convert --from-graph` folder

The SavedModel is `tf.saved_model.save` of a `tf.Module` holding the Keras model and one `tf.function` per signature
with explicit `tf.TensorSpec`s, so TF Serving, `saved_model_cli run` and `tf.saved_model.load(...).signatures[KEY]`
see what they saw before:

- the signature (`Signature`) is the TF1 one the converter read (`convert_report.json` `source.signature`: key,
  method name, input and output keys with their TF1 tensors, dtypes and shapes): the same keys, the same input
  dtypes and shapes (the Keras model's own dtype is cast to inside), the same output keys and dtypes;
- a model converted from a checkpoint (no TF1 signature) gets `serving_default`, keyed by the Keras model's own
  input and output names;
- a signature input the Keras model does not read (a `keep_prob` fixed at inference) is still accepted, so clients
  that send it keep working; it is listed in the report as accepted, not used.

Before anything is written the exported SavedModel is loaded back and its signature called on the same inputs as the
Keras model (and, when the source was a TF1 SavedModel still on disk, as that SavedModel's own signature, loaded by
`tf.saved_model.load`): outputs within the parity tolerance, keys and dtypes equal. A failure is exit 1 and nothing
is written. Exit 2: a model or report that cannot be read, a signature the Keras model cannot serve (an output it
does not compute, an input it needs that the signature lacks, a `classify` / `regress` signature), each named.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field

import numpy as np

from migrate.errors import InputError, MigrateError
from migrate.exit_codes import MISMATCH

EXPORT_VERSION = 1
DEFAULT_SIGNATURE_KEY = "serving_default"       # tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY
PREDICT_METHOD = "tensorflow/serving/predict"   # the only method a tf.function signature has in TF2
DEFAULT_TAGS = ("serve",)
# A signature input becomes a placeholder op of that name in the exported graph (`tf.saved_model.save` keeps the
# key as the op's name), so a key must be a valid TF op name (tensorflow/core/graph/graph.cc's node name rule).
_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")
ATOL = 1e-5    # migrate.graph.parity's rule: max abs <= ATOL * max(1, max |reference|); integers exact


class ExportError(InputError):
    """The model or its signature cannot be exported (exit 2)."""


class ServingMismatch(MigrateError):
    """The exported SavedModel does not serve what the Keras model (or the TF1 SavedModel) computes (exit 1)."""

    exit_code = MISMATCH


@dataclass
class Port:
    """One signature input or output: its key, the dtype and shape clients see, what it is in the Keras model
    (`keras`: the input's name, or the output's index) and in the TF1 graph (`tensor`)."""

    key: str
    dtype: str                       # a tf.DType name: "float32", "int64", ...
    shape: list | None               # None: unknown rank; None / -1 entries: any size
    keras: str | int | None = None   # None: an input the Keras model does not read
    tensor: str | None = None
    fixed: object = None             # an input not read: the value the conversion fixed it to (keep_prob 1.0)


@dataclass
class Signature:
    key: str
    method_name: str
    inputs: list[Port]
    outputs: list[Port]
    origin: str                      # where it came from, for the report and the log
    unused: list[str] = field(default_factory=list)   # input keys the Keras model does not read

    def as_json(self) -> dict:
        return {"key": self.key, "method_name": self.method_name, "from": self.origin,
                "inputs": {p.key: {"dtype": p.dtype, "shape": p.shape, "keras": p.keras, "tensor": p.tensor}
                           for p in self.inputs},
                "outputs": {p.key: {"dtype": p.dtype, "shape": p.shape, "keras": p.keras, "tensor": p.tensor}
                            for p in self.outputs},
                # the value the conversion fixed each to (None: the outputs do not read it)
                "inputs_accepted_not_used": {p.key: p.fixed for p in self.inputs if p.key in self.unused}}


# -- reading the model and its report --------------------------------------------------------------------------------

def locate(path: str, report_path: str | None = None) -> tuple[str, str | None]:
    """(the `.keras` file, its conversion report or None): a `convert --from-graph` folder (`model.keras`,
    `convert_report.json`), or a `.keras` file (the report: `--report`, else `convert_report.json` beside it)."""
    if os.path.isdir(path):
        model = os.path.join(path, "model.keras")
        if not os.path.isfile(model):
            raise ExportError(f"{path}: no model.keras in this folder; expected a folder written by `tf-migrate "
                              f"convert` (model.keras, convert_report.json) or a .keras file.")
        beside = os.path.join(path, "convert_report.json")
    elif os.path.isfile(path):
        if not path.endswith(".keras"):
            raise ExportError(f"{path}: not a .keras file nor a converted model folder; export the model.keras "
                              f"that `tf-migrate convert` wrote (or its folder).")
        model, beside = path, os.path.join(os.path.dirname(os.path.abspath(path)), "convert_report.json")
    else:
        raise ExportError(f"{path}: no such file or folder; expected a converted model folder or a .keras file.")
    if report_path is not None:
        if not os.path.isfile(report_path):
            raise ExportError(f"--report {report_path}: no such file; expected the convert report JSON of {model}.")
        return model, report_path
    return model, beside if os.path.isfile(beside) else None


def read_report(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: cannot read the conversion report ({type(e).__name__}: {e}); rerun `tf-migrate "
                          f"convert`, or export the .keras file alone (the signature is then the Keras names).") \
            from None
    if not isinstance(report, dict):
        raise ExportError(f"{path}: not a conversion report (a JSON object was expected).")
    return report


# Modules a model may need imported before it loads (their layers register with Keras). A report names them in
# `load_requires`; anything outside these packages is never imported (a report is data, not code).
_LOADABLE_PACKAGES = ("tf_migrate_runtime", "tf2")


def load_model(model_path: str, report: dict):
    import importlib  # noqa: PLC0415

    import keras  # noqa: PLC0415

    for name in ["tf_migrate_runtime.layers", "tf2", *report.get("load_requires", [])]:
        if isinstance(name, str) and name.split(".")[0] in _LOADABLE_PACKAGES:
            importlib.import_module(name)
    try:
        return keras.saving.load_model(model_path, compile=False)
    except Exception as e:   # noqa: BLE001 - Keras' own error text, one line
        first = " ".join(str(e).split())[:500]
        raise ExportError(f"{model_path}: Keras cannot load it ({type(e).__name__}: {first}); export a model "
                          f"written by `tf-migrate convert` with this version of tf-migrate.") from None


# -- the signature -----------------------------------------------------------------------------------------------------

def dtype_name(dtype) -> str:
    """"DT_FLOAT" / "float32" / 1 / tf.float32 -> "float32"."""
    import tensorflow as tf  # noqa: PLC0415

    if isinstance(dtype, str) and dtype.upper().startswith("DT_"):
        from tensorflow.core.framework import types_pb2  # noqa: PLC0415

        return tf.dtypes.as_dtype(types_pb2.DataType.Value(dtype.upper())).name
    if dtype in ("object", "bytes", "str"):   # NumPy's name of a TF string tensor (the report's dtype is NumPy's)
        return "string"
    return tf.dtypes.as_dtype(dtype).name


def _shape(shape) -> list | None:
    if shape is None:
        return None
    return [None if d is None or int(d) < 0 else int(d) for d in shape]


def signature_for(model, report: dict, key: str | None = None) -> Signature:
    """The signature to export: the TF1 one of the report (`source.signature`, joined with `graph.inputs` /
    `graph.outputs` through the TF1 tensor names), else `serving_default` over the Keras model's own names.
    `key` renames the signature (`--signature-key`)."""
    src = (report.get("source") or {}).get("signature")
    sig = _from_tf1(model, report, src) if src else _from_keras(model, report)
    if key:
        sig.key = key
    bad = [p.key for p in sig.inputs if not _OP_NAME.match(p.key)]
    if bad:
        raise ExportError(f"signature {sig.key!r}: input key(s) {', '.join(map(repr, bad))} cannot name an input of "
                          f"a TF2 SavedModel (tf.saved_model.save makes each key a graph op name: letters, digits, "
                          f"'.', '_', '-', '/'); clients must use other keys for this model.")
    return sig


def _keras_inputs(model) -> dict[str, tuple[str, list]]:
    """Keras input name -> (dtype, shape with None for free sizes)."""
    inputs = getattr(model, "inputs", None)
    if inputs:
        return {t.name: (dtype_name(t.dtype), list(t.shape)) for t in inputs}
    declared = getattr(model, "serving_inputs", None)   # a subclassed model that declares them (tf2.Seq2Seq)
    if declared:
        return {k: (dtype_name(d), list(s)) for k, (d, s) in declared.items()}
    raise ExportError(f"{model.name}: a subclassed Keras model that declares no inputs (no `model.inputs`, no "
                      f"`serving_inputs`); export a model written by `tf-migrate convert`, or save yours as a "
                      f"functional model.")


def _keras_outputs(model) -> list[str]:
    names = list(getattr(model, "output_names", None) or [])
    if not names:
        names = list(getattr(model, "serving_outputs", None) or ["output_0"])
    return names


def _from_keras(model, report: dict) -> Signature:
    """No TF1 signature (a model converted from a checkpoint): `serving_default` keyed by the Keras names; output
    dtypes are those the model computes (filled in by tracing)."""
    ins = [Port(k, d, s, keras=k, tensor=_graph_name(report, "inputs", k)) for k, (d, s) in _keras_inputs(model).items()]
    outs = [Port(k, "", None, keras=i, tensor=_graph_name(report, "outputs", k))
            for i, k in enumerate(_keras_outputs(model))]
    return Signature(DEFAULT_SIGNATURE_KEY, PREDICT_METHOD, ins, outs, origin="the Keras model's input / output names "
                     "(no TF1 signature: a model converted from a checkpoint)")


def _graph_name(report: dict, side: str, keras_name: str) -> str | None:
    for row in (report.get("graph") or {}).get(side, []):
        if row.get("keras") == keras_name:
            return row.get("graph")
    return None


def _tensor(name: str | None) -> str | None:
    return None if not name else name if ":" in name else name + ":0"


def _from_tf1(model, report: dict, src: dict) -> Signature:
    method = src.get("method_name") or PREDICT_METHOD
    key = src.get("key") or DEFAULT_SIGNATURE_KEY
    if method != PREDICT_METHOD:
        raise ExportError(f"signature {key!r}: method {method!r} takes serialized tf.Examples, which a TF2 "
                          f"signature (a function of tensors, method {PREDICT_METHOD}) cannot take; re-convert the "
                          f"SavedModel choosing one of its predict signatures, and move the clients of TF Serving's "
                          f"Classify / Regress API to Predict.")
    keras_inputs = _keras_inputs(model)
    by_tensor = {_tensor(r.get("graph")): r.get("keras") for r in (report.get("graph") or {}).get("inputs", [])}
    inputs, unused = [], []
    for k, info in (src.get("inputs") or {}).items():
        t = _tensor(info.get("tensor"))
        kname = by_tensor.get(t) if t in by_tensor else (k if k in keras_inputs else None)
        if kname is not None and kname not in keras_inputs:
            kname = None
        fixed = ((report.get("graph") or {}).get("fixed_at_inference") or {}).get(t) if kname is None else None
        inputs.append(Port(k, dtype_name(info.get("dtype", "float32")), _shape(info.get("shape")), keras=kname,
                           tensor=t, fixed=fixed))
        if kname is None:
            unused.append(k)
    served = {p.keras for p in inputs}
    lacking = [n for n in keras_inputs if n not in served]
    if lacking:
        raise ExportError(f"signature {key!r}: the Keras model needs input(s) {', '.join(lacking)} (TF1 "
                          f"{', '.join(str(_graph_for(report, n)) for n in lacking)}), which the signature's inputs "
                          f"({', '.join(src.get('inputs') or {})}) do not give; re-convert with the signature's "
                          f"outputs only (the default), or export with --no-tf1-signature (Keras names).")
    out_names = _keras_outputs(model)
    by_out = {_tensor(r.get("graph")): r.get("keras") for r in (report.get("graph") or {}).get("outputs", [])}
    outputs = []
    for k, info in (src.get("outputs") or {}).items():
        t = _tensor(info.get("tensor"))
        kname = by_out.get(t) if t in by_out else (k if k in out_names else None)
        if kname not in out_names:
            raise ExportError(f"signature {key!r}: output {k!r} (TF1 {t}) is not an output of the Keras model "
                              f"(outputs: {', '.join(out_names)}); re-convert with the signature's outputs (the "
                              f"default for a SavedModel), or export with --no-tf1-signature (Keras names).")
        outputs.append(Port(k, dtype_name(info.get("dtype", "float32")), _shape(info.get("shape")),
                            keras=out_names.index(kname), tensor=t))
    return Signature(key, method, inputs, outputs, origin=f"the TF1 signature {key!r} of {report['source'].get('path')}",
                     unused=unused)


def _graph_for(report, keras_name):
    return _graph_name(report, "inputs", keras_name) or keras_name


# -- the SavedModel ---------------------------------------------------------------------------------------------------

def _spec_shape(port: Port, keras_shape):
    """The TensorSpec shape: the signature's; where it says nothing (unknown rank) the Keras input's."""
    if port.shape is not None:
        return port.shape
    return keras_shape


def serving_module(model, sig: Signature):
    """A `tf.Module` holding `model` (its variables) and the signature's `tf.function`: one dict argument keyed by
    the signature's input keys (each `TensorSpec` named after its key), returning a dict keyed by its output keys.
    Inputs are cast to the Keras model's dtypes, outputs to the signature's."""
    import tensorflow as tf  # noqa: PLC0415

    keras_inputs = _keras_inputs(model)
    specs = {p.key: tf.TensorSpec(_spec_shape(p, keras_inputs[p.keras][1] if p.keras else None),
                                  tf.dtypes.as_dtype(p.dtype), name=p.key) for p in sig.inputs}
    served = [p for p in sig.inputs if p.keras is not None]
    n_outputs = len(_keras_outputs(model))

    def serve(feed):
        x = {p.keras: tf.cast(feed[p.key], keras_inputs[p.keras][0]) for p in served}
        out = model(x, training=False)
        if isinstance(out, dict):
            out = [out[k] for k in _keras_outputs(model)]
        elif not isinstance(out, (list, tuple)):
            out = [out]
        if len(out) != n_outputs:
            raise ExportError(f"{model.name}: returns {len(out)} outputs, its output names are {n_outputs}")
        return {p.key: tf.cast(out[p.keras], p.dtype) if p.dtype else out[p.keras] for p in sig.outputs}

    module = tf.Module()
    module.model = model
    module.serve = tf.function(serve, input_signature=[specs])
    concrete = module.serve.get_concrete_function()
    for p in sig.outputs:   # a Keras-named signature takes the dtypes the model computes
        if not p.dtype:
            p.dtype = concrete.structured_outputs[p.key].dtype.name
            p.shape = concrete.structured_outputs[p.key].shape.as_list() \
                if concrete.structured_outputs[p.key].shape.rank is not None else None
    return module, concrete


def write_saved_model(model, sig: Signature, path: str) -> None:
    import tensorflow as tf  # noqa: PLC0415

    module, concrete = serving_module(model, sig)
    tf.saved_model.save(module, path, signatures={sig.key: concrete})


# -- the check: the exported signature against the Keras model (and the TF1 SavedModel) -----------------------------

def example_feed(sig: Signature, keras_inputs: dict, npz: dict | None = None, seed: int = 0,
                 batch: int = 2, steps: int = 3) -> dict:
    """One value per signature input: the user's (`--inputs`, keyed by signature key or TF1 tensor), else
    generated: floats N(0, 1), integers 1 (a valid id of any table and a valid length of any sequence), booleans
    False; free sizes: `batch` for the first axis, `steps` for the others."""
    rng = np.random.RandomState(seed)
    feed = {}
    for p in sig.inputs:
        given = None if npz is None else npz.get(p.key, npz.get(p.tensor) if p.tensor else None)
        if given is not None:
            feed[p.key] = np.asarray(given).astype(p.dtype)
            continue
        shape = _spec_shape(p, keras_inputs[p.keras][1] if p.keras else [])
        dims = [d if d is not None else (batch if i == 0 else steps) for i, d in enumerate(shape or [])]
        if p.fixed is not None:   # what the conversion fixed it to, as the clients of an inference model send it
            feed[p.key] = np.broadcast_to(np.asarray(p.fixed, dtype=p.dtype), dims).copy()
            continue
        kind = np.dtype(p.dtype).kind if p.dtype != "string" else "S"
        if kind == "f":
            feed[p.key] = rng.normal(0, 1, dims).astype(p.dtype)
        elif kind in "iu":
            feed[p.key] = np.ones(dims, dtype=p.dtype)
        elif kind == "b":
            feed[p.key] = np.zeros(dims, dtype=bool)
        else:
            raise ExportError(f"signature {sig.key!r}: input {p.key!r} is {p.dtype}; give an example with --inputs "
                              f"FEED.npz (key {p.key!r}) for the serving check.")
    return feed


def _compare(key: str, ref, got) -> dict:
    ref, got = np.asarray(ref), np.asarray(got)
    row = {"output": key, "shape": list(ref.shape), "dtype": str(got.dtype)}
    if ref.shape != got.shape:
        return {**row, "ok": False, "problem": f"shape {list(got.shape)}, expected {list(ref.shape)}"}
    if ref.dtype.kind in "iub" or ref.dtype.kind in "SUO":
        diff = float(np.sum(ref != got))
        return {**row, "ok": diff == 0, "max_abs": diff and float(np.max(np.abs(ref.astype(float) - got.astype(float))))
                if ref.dtype.kind in "iub" else diff, "rule": "exact"}
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(got))):
        same = np.array_equal(np.isnan(ref), np.isnan(got)) and np.array_equal(ref[~np.isnan(ref)], got[~np.isnan(got)])
        return {**row, "ok": bool(same), "max_abs": None}
    err = float(np.max(np.abs(ref.astype(np.float64) - got))) if ref.size else 0.0
    tol = ATOL * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    return {**row, "ok": err <= tol, "max_abs": err, "tolerance": tol}


def check_served(path: str, sig: Signature, model, feed: dict, original: dict | None = None) -> dict:
    """Load the written SavedModel, check its signature's keys and dtypes, call it on `feed` and compare with the
    Keras model; with `original` ({path, tag_set} of a TF1 SavedModel) also with that SavedModel's signature."""
    import tensorflow as tf  # noqa: PLC0415

    loaded = tf.saved_model.load(path)
    fn = loaded.signatures[sig.key]
    args = fn.structured_input_signature[1]
    got_inputs = {p.key: args[_arg(args, p.key)].dtype.name for p in sig.inputs if _arg(args, p.key) in args}
    want_inputs = {p.key: p.dtype for p in sig.inputs}
    problems = []
    if got_inputs != want_inputs:
        problems.append(f"inputs {got_inputs}, expected {want_inputs}")
    shapes = ", ".join(f"{k} {list(np.shape(v))}" for k, v in feed.items())
    try:
        served = {k: np.asarray(v) for k, v in fn(**{_arg(args, k): tf.constant(v) for k, v in feed.items()}).items()}
    except tf.errors.OpError as e:
        why = " ".join(str(e.message).split())[:400]
        raise ExportError(f"{path}: the serving check could not run the exported signature {sig.key!r} on the example "
                          f"inputs ({shapes}): {why}. Give inputs the model takes (e.g. the batch size the graph "
                          f"fixes) with --inputs FEED.npz, keyed by signature input or placeholder name.") from None
    want_outputs = {p.key: p.dtype for p in sig.outputs}
    if {k: v.dtype.name if v.dtype.kind != "S" else "string" for k, v in served.items()} != want_outputs:
        problems.append(f"outputs {sorted(served)} of dtypes {[str(v.dtype) for v in served.values()]}, expected "
                        f"{want_outputs}")
    keras_inputs = _keras_inputs(model)
    x = {p.keras: np.asarray(feed[p.key]).astype(keras_inputs[p.keras][0]) for p in sig.inputs if p.keras}
    out = model(x, training=False)
    if isinstance(out, dict):
        out = [out[k] for k in _keras_outputs(model)]
    elif not isinstance(out, (list, tuple)):
        out = [out]
    rows = [{**_compare(p.key, np.asarray(out[p.keras]).astype(p.dtype), served.get(p.key)), "against": "keras"}
            for p in sig.outputs if p.key in served]
    result = {"inputs": {k: list(np.shape(v)) for k, v in feed.items()}, "outputs": rows, "problems": problems}
    if original:
        result["original"] = _check_original(original, sig, feed, served, rows)
    result["ok"] = not problems and all(r["ok"] for r in rows)
    return result


def _arg(args: dict, key: str) -> str:
    """The keyword a loaded signature function takes for input `key`: the key itself (a TF1 SavedModel's, whose
    TensorSpec names are lower-cased), else the one whose TensorSpec is named `key` (a TF2 SavedModel's: the
    keyword is the key made a Python name, '/' -> '_')."""
    if key in args:
        return key
    for name, spec in args.items():
        if spec.name == key:
            return name
    return key


def _check_original(original: dict, sig: Signature, feed: dict, served: dict, rows: list) -> dict:
    """The TF1 SavedModel's own signature (`tf.saved_model.load`, TF 2.21's loader of TF1 SavedModels) on the same
    feed: the same keys, dtypes and values (within tolerance) as the exported one."""
    import tensorflow as tf  # noqa: PLC0415

    if "skip" in original:
        return {"compared": False, "why": original["skip"]}
    path, tags = original.get("path"), original.get("tag_set") or list(DEFAULT_TAGS)
    if not path or not os.path.isdir(path):
        return {"compared": False, "why": f"{path}: not on disk any more"}
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t]
    tf1 = tf.saved_model.load(path, tags=tags)
    fn = tf1.signatures[original.get("key") or sig.key]
    args = fn.structured_input_signature[1]
    given = {_arg(args, k): tf.constant(v) for k, v in feed.items()}
    ref = {k: np.asarray(v) for k, v in fn(**given).items()}
    problems = []
    if sorted(ref) != sorted(served):
        problems.append(f"output keys {sorted(served)}, the TF1 SavedModel's {sorted(ref)}")
    if {_arg(args, p.key): p.dtype for p in sig.inputs} != {k: s.dtype.name for k, s in args.items()}:
        problems.append("input keys or dtypes differ from the TF1 SavedModel's")
    compared = []
    for k in sorted(set(ref) & set(served)):
        row = {**_compare(k, ref[k], served[k]), "against": "tf1 saved_model"}
        if ref[k].dtype != served[k].dtype:
            row["ok"], row["problem"] = False, f"dtype {served[k].dtype}, the TF1 SavedModel's {ref[k].dtype}"
        compared.append(row)
        rows.append(row)
    return {"compared": True, "path": path, "tag_set": tags, "problems": problems, "outputs": compared,
            "ok": not problems and all(r["ok"] for r in compared)}


def placeholder_defaults(path: str, tags, tensors: list[str]) -> tuple[dict, set]:
    """({tensor: value} for the tensors of a TF1 SavedModel that are `placeholder_with_default`s of a constant (a
    `keep_prob` defaulting to 1.0), {every one of `tensors` that is a placeholder_with_default}): read from
    `saved_model.pb` as data, nothing imported or run."""
    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.core.protobuf import saved_model_pb2  # noqa: PLC0415

    sm = saved_model_pb2.SavedModel()
    try:
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            sm.ParseFromString(f.read())
    except (OSError, ValueError):
        return {}, set()
    want = sorted([tags] if isinstance(tags, str) else tags or DEFAULT_TAGS)
    graphs = [m.graph_def for m in sm.meta_graphs if sorted(m.meta_info_def.tags) == want]
    if not graphs:
        return {}, set()
    nodes = {n.name: n for n in graphs[0].node}
    found, with_default = {}, set()
    for t in tensors:
        node = nodes.get(t.split(":")[0])
        if node is None or node.op != "PlaceholderWithDefault" or not node.input:
            continue
        with_default.add(t)
        src = nodes.get(node.input[0].split(":")[0].lstrip("^"))
        while src is not None and src.op == "Identity" and src.input:
            src = nodes.get(src.input[0].split(":")[0])
        if src is not None and src.op == "Const":
            found[t] = tf.make_ndarray(src.attr["value"].tensor).tolist()
    return found, with_default


def _original(report: dict) -> dict | None:
    src = report.get("source") or {}
    if src.get("form") != "saved_model" or not src.get("signature"):
        return None
    return {"path": src.get("path"), "tag_set": src.get("tag_set"), "key": src["signature"].get("key")}


# -- the whole export --------------------------------------------------------------------------------------------------

def export_model(model, report: dict, path: str, *, key: str | None = None, tf1_signature: bool = True,
                 npz: dict | None = None, log=print) -> dict:
    """Write the SavedModel of `model` at `path` (a new or empty folder) and check it; the export report.
    Raises `ExportError` (exit 2) or `ServingMismatch` (exit 1)."""
    t0 = time.perf_counter()
    sig = signature_for(model, report if tf1_signature else {k: v for k, v in report.items() if k != "source"}, key)
    write_saved_model(model, sig, path)
    original = _original(report) if tf1_signature else None
    # An input the Keras model does not read is one the conversion fixed (report: fixed_at_inference), a
    # placeholder_with_default that kept its default, or one the outputs do not read at all (any value will do).
    with_default = set()
    if original and any(p.keras is None and p.fixed is None for p in sig.inputs):
        defaults, with_default = placeholder_defaults(original["path"], original["tag_set"],
                                                      [p.tensor for p in sig.inputs if p.tensor])
        for p in sig.inputs:
            if p.keras is None and p.fixed is None and p.tensor in defaults:
                p.fixed = defaults[p.tensor]
    feed = example_feed(sig, _keras_inputs(model), npz)
    unknown = [p.key for p in sig.inputs if p.keras is None and p.fixed is None and p.tensor in with_default
               and not (npz and p.key in npz)]
    if original and unknown:   # the TF1 model reads them; their value at inference is not known here
        original = {"skip": f"the value of input(s) {', '.join(unknown)} at inference is not known (the Keras model "
                            f"does not read them); give it with --inputs FEED.npz"}
    check = check_served(path, sig, model, feed, original=original)
    result = {"tool": "tf-migrate export", "version": EXPORT_VERSION, "signature": sig.as_json(),
              "tags": list(DEFAULT_TAGS), "check": check, "seconds": round(time.perf_counter() - t0, 3)}
    log(f"signature {sig.key!r} ({sig.origin}): inputs "
        + ", ".join(f"{p.key} {p.dtype} {_shown(p.shape)}" for p in sig.inputs) + "; outputs "
        + ", ".join(f"{p.key} {p.dtype}" for p in sig.outputs))
    if sig.unused:
        log("accepted, not used by the Keras model: " + ", ".join(
            f"{p.key} ({'fixed to ' + str(p.fixed) + ' at inference' if p.fixed is not None else 'not read by the outputs'})"
            for p in sig.inputs if p.key in sig.unused))
    for r in check["outputs"]:
        log(f"  {r['output']}: served vs {r['against']}: "
            + (f"max abs {r['max_abs']:.2g}" if isinstance(r.get("max_abs"), float) else r.get("rule", ""))
            + ("" if r["ok"] else f" FAILED {r.get('problem', '')}"))
    if check.get("original") and not check["original"].get("compared"):
        log(f"  the TF1 SavedModel was not compared: {check['original']['why']}")
    if not check["ok"]:
        bad = [f"{r['output']} vs {r['against']}: " + (r.get("problem") or f"max abs {r.get('max_abs')} (up to "
               f"{r.get('tolerance', 0):.2g} allowed)") for r in check["outputs"] if not r["ok"]] + check["problems"] + \
            (check.get("original") or {}).get("problems", [])
        raise ServingMismatch(f"{path}: the exported SavedModel does not serve what it should ({'; '.join(bad)}); "
                              f"nothing was written. This is a bug of the exporter for this model: please report it "
                              f"with the convert_report.json.")
    return result


def _shown(shape):
    return "unknown rank" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def export_saved_model(source: str, out_dir: str, *, report_path: str | None = None, force: bool = False,
                       key: str | None = None, tf1_signature: bool = True, inputs_npz: str | None = None,
                       log=print) -> dict:
    """`tf-migrate export SOURCE --out DIR`: the converted model SOURCE (folder or .keras) as a SavedModel at DIR,
    written atomically through `migrate.files.Outputs` (nothing when any check fails)."""
    from migrate.files import Outputs  # noqa: PLC0415

    model_path, report_file = locate(source, report_path)
    npz = _read_npz(inputs_npz) if inputs_npz else None
    with Outputs(force=force) as out:
        out.check(out_dir, kind="dir")
        report = read_report(report_file)
        model = load_model(model_path, report)
        tmp = out.stage(out_dir, kind="dir")
        result = export_model(model, report, tmp, key=key, tf1_signature=tf1_signature, npz=npz, log=log)
        result.update({"model": model_path, "report": report_file, "out": out_dir})
    log(f"wrote {out_dir}/ (a TF2 SavedModel, tag-set serve, signature {result['signature']['key']!r}) in "
        f"{result['seconds']:.1f} s")
    return result


def _read_npz(path: str) -> dict:
    import zipfile  # noqa: PLC0415

    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ExportError(f"--inputs {path}: cannot read it as a .npz of arrays ({type(e).__name__}: {e}); write "
                          f"it with numpy.savez(path, **{{'input_key': array}}).") from None
