"""TF1 checkpoint -> `tf2.Seq2Seq` weights (`.keras`, `.weights.h5` or a TF2 object checkpoint), and back.

`convert_checkpoint` is what `tf-migrate convert` runs: open and recognise the checkpoint, decide the
hparams (file, or inferred from shapes, each field saying where it came from) and the forget bias, bind
every Keras weight (`bindings.bind_seq2seq`), refuse with one message listing every missing / unexpected /
mismatched variable, then read each tensor once, transform, assign, and write atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import fields

import numpy as np

from migrate.checkpoint.bindings import BindingPlan, bind_seq2seq, embedding_role
from migrate.checkpoint.forget_bias import ForgetBias, load_hparams_dict, resolve_forget_bias
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError
from migrate.checkpoint.recognise import Recognition, recognise
from migrate.checkpoint.tables import FOREIGN_SIGNATURES

CONVERT_SCHEMA = "tf-migrate/convert"
CONVERT_VERSION = 1
KERAS_SUFFIXES = (".keras", ".weights.h5")
# TF1 Adam's defaults (tf.compat.v1.train.AdamOptimizer), which the legacy graph uses (contract item 10).
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def output_format(out: str) -> str:
    """"keras", "weights.h5" or "tf-checkpoint" (any other path is a TF2 object checkpoint prefix)."""
    if out.endswith(".keras"):
        return "keras"
    if out.endswith(".weights.h5"):
        return "weights.h5"
    return "tf-checkpoint"


# -- refusing what is not a Seq2Seq RNN ------------------------------------------------------------
def refuse_without_cells(ckpt: Checkpoint, rec: Recognition) -> None:
    """Raise a `CheckpointError` naming what was found when the checkpoint has no encoder-decoder RNN."""
    if rec.cells and any(c.role for c in rec.cells):
        return
    model_vars = rec.model_variable_names()
    found = [f"{len(ckpt.variables)} variables ({len(model_vars)} weights, "
             f"{sum(len(o.slots) for o in rec.optimizers)} optimizer slots)"]
    sig = rec.foreign_signatures()
    if sig:
        found.append("scopes " + ", ".join(f"{k} x{n} ({FOREIGN_SIGNATURES[k]})" for k, n in sorted(sig.items())))
    if rec.dense:
        found.append(f"{len(rec.dense)} dense kernels (e.g. {rec.dense[0].kernel})")
    if rec.embeddings:
        found.append(f"embeddings {', '.join(e.name for e in rec.embeddings[:3])}")
    if rec.cells:
        found.append("cells " + ", ".join(f"{c.tf1_class} at {c.scope}" for c in rec.cells)
                     + " but no encoder/decoder scope")
        hint = ("Convert its cells with the Python API (migrate.checkpoint.cell_weights) or a TOML mapping file "
                "(migrate.checkpoint.apply_mapping).")
    else:
        hint = "It has no LSTMCell / BasicLSTMCell / GRUCell / LSTMBlockCell, so it cannot become a tf2.Seq2Seq."
    raise CheckpointError(f"{ckpt.prefix}: not a TF1 Seq2Seq RNN checkpoint: found {'; '.join(found)}. {hint} "
                          f"Nothing was written.")


# -- hparams ---------------------------------------------------------------------------------------
def infer_hparams(rec: Recognition) -> tuple[dict, dict[str, str]]:
    """Hparams a `tf2.Seq2Seq` needs, from shapes and names; returns (values, field -> how it was found)."""
    from seq2seq_task import HParams  # noqa: PLC0415

    values: dict = {}
    how: dict[str, str] = {}
    problems: list[str] = []
    enc = [c for c in rec.cells if c.role == "encoder"]
    dec = [c for c in rec.cells if c.role == "decoder"]
    kinds = sorted({c.kind for c in enc + dec})
    if len(kinds) != 1:
        problems.append(f"cell kinds differ between groups ({', '.join(kinds)})")
    values["cell_type"] = kinds[0] if kinds else "lstm"
    how["cell_type"] = f"cell scope {enc[0].scope if enc else '?'} ({', '.join(kinds)})"
    if enc:
        values["num_units"] = enc[0].units
        how["num_units"] = f"{enc[0].scope} bias shape"
        values["encoder_type"] = "bi" if any(c.direction for c in enc) else "uni"
        how["encoder_type"] = "bidirectional_rnn/fw|bw scopes" if values["encoder_type"] == "bi" else "no fw/bw scopes"
        values["num_layers"] = 1 + max(c.layer or 0 for c in enc)
        how["num_layers"] = "multi_rnn_cell/cell_N indices" if values["num_layers"] > 1 else "no multi_rnn_cell"
    else:
        problems.append("no encoder cell group (no scope containing 'encoder')")
    roles = {}
    for e in rec.embeddings:
        roles.setdefault(embedding_role(e.name) or "unknown", []).append(e)
    if len(rec.embeddings) == 1:
        e = rec.embeddings[0]
        values.update(share_embeddings=True, src_vocab_size=e.vocab_size, tgt_vocab_size=e.vocab_size,
                      embedding_size=e.dim)
        for k in ("share_embeddings", "src_vocab_size", "tgt_vocab_size", "embedding_size"):
            how[k] = f"one embedding {e.name} {[e.vocab_size, e.dim]}"
    elif len(roles.get("source", [])) == 1 and len(roles.get("target", [])) == 1:
        s, t = roles["source"][0], roles["target"][0]
        values.update(share_embeddings=False, src_vocab_size=s.vocab_size, tgt_vocab_size=t.vocab_size,
                      embedding_size=s.dim)
        how.update(share_embeddings="two embeddings", src_vocab_size=f"{s.name} shape",
                   tgt_vocab_size=f"{t.name} shape", embedding_size=f"{s.name} shape")
    else:
        problems.append(f"cannot tell source and target embeddings apart among "
                        f"{', '.join(e.name for e in rec.embeddings) or 'no embeddings'}")
    parts = {a.part: a for a in rec.attention}
    if not parts:
        values["attention"] = "none"
        how["attention"] = "no attention variables"
    elif "query_layer" in parts or "attention_v" in parts:
        values["attention"] = "normalized_bahdanau" if "attention_b" in parts else "bahdanau"
        how["attention"] = "query_layer / attention_v" + (" + attention_g/attention_b" if "attention_b" in parts else "")
    else:
        values["attention"] = "scaled_luong" if "attention_g" in parts else "luong"
        how["attention"] = "memory_layer only" + (" + luong_attention/attention_g" if "attention_g" in parts else "")
    if "attention_layer" in parts:
        values["attention_layer_size"] = int(parts["attention_layer"].shape[1])
        how["attention_layer_size"] = f"{parts['attention_layer'].name} shape"
    else:
        values["attention_layer_size"] = None
        how["attention_layer_size"] = "no attention_layer variable"
    tgt = values.get("tgt_vocab_size")
    proj = [d for d in rec.dense if d.bias and (tgt is None or d.units == tgt)]
    if len(proj) == 1:
        values["projection"] = "slim" if proj[0].naming == "weights/biases" else "dense"
        how["projection"] = f"{proj[0].scope} ({proj[0].naming})"
        if values["attention"] != "none" and "num_units" in values:
            dec_units = values["num_units"] * (2 if values.get("encoder_type") == "bi" else 1)
            att_width = values["attention_layer_size"] or dec_units
            rows = proj[0].input_size
            if rows == att_width and rows != dec_units:
                values["output_attention"], how["output_attention"] = True, "projection input = attention width"
            elif rows == dec_units and rows != att_width:
                values["output_attention"], how["output_attention"] = False, "projection input = decoder units"
            else:
                values["output_attention"] = True
                how["output_attention"] = ("ASSUMED True (TF1's default): attention width = decoder units, "
                                           "shapes cannot tell; pass --hparams if it was False")
    else:
        problems.append(f"no single output projection (dense with bias) among "
                        f"{', '.join(d.scope for d in rec.dense) or 'no dense layers'}")
    if problems:
        raise CheckpointError("cannot infer the hparams from the checkpoint: " + "; ".join(problems)
                              + ". Pass --hparams hparams.json (the file the TF1 training wrote).")
    for f in fields(HParams):
        if f.name not in values and f.name not in ("extra", "forget_bias"):
            how.setdefault(f.name, "default (not stored in a checkpoint)")
    return values, how


def decide_hparams(ckpt: Checkpoint, rec: Recognition, hparams_path: str | None) -> tuple[dict, dict, str | None]:
    """(hparams dict, field -> source, hparams file used or None)."""
    path = hparams_path
    if path is None:
        beside = os.path.join(ckpt.directory, "hparams.json")
        path = beside if os.path.isfile(beside) else None
    if path is not None:
        d = load_hparams_dict(path)
        return d, {k: f"hparams file {path}" for k in d}, path
    values, how = infer_hparams(rec)
    return values, how, None


# -- the optimizer ---------------------------------------------------------------------------------
def _adam_step(ckpt: Checkpoint, rec: Recognition) -> tuple[int, str]:
    beta1 = next((n for o in rec.optimizers for n in o.non_slots if n.rsplit("/", 1)[-1] == "beta1_power"), None)
    if beta1 is not None:
        p = float(ckpt.read(beta1))
        # TF1 Adam starts beta1_power at beta1 and multiplies after each update: beta1 ** (steps + 1).
        return int(round(math.log(p) / math.log(ADAM_BETA1))) - 1, f"{beta1} = {p:.6g} = 0.9^(steps+1)"
    step = next((n for n in rec.other_state if n.rsplit("/", 1)[-1] == "global_step"), None)
    if step is not None:
        return int(ckpt.read(step)), step
    raise CheckpointError(f"{ckpt.prefix}: --with-optimizer needs beta1_power or global_step to know the step; "
                          f"neither is in the checkpoint.")


def carry_adam(model, ckpt: Checkpoint, rec: Recognition, plan: BindingPlan, hp) -> tuple[object, dict]:
    """A built Keras Adam holding the checkpoint's m and v (permuted like their weights, no forget-bias add)."""
    adams = [o for o in rec.optimizers if o.optimizer == "Adam" and o.slots]
    if len(adams) != 1:
        found = ", ".join(f"{o.optimizer or '?'} (/{o.optimizer_name})" for o in rec.optimizers) or "no optimizer state"
        raise CheckpointError(f"{ckpt.prefix}: --with-optimizer carries Adam state; found {found}.")
    adam = adams[0]
    from tf2.training import make_optimizer  # noqa: PLC0415  (the port's own Adam: epsilon 1e-8, global_clipnorm)

    opt = make_optimizer(hp)
    opt.build(model.trainable_variables)
    missing = []
    carried = 0
    for b in plan.bindings:
        slots = [adam.slots_of(n) for n in b.tf1_names]
        if any(not {"m", "v"} <= set(s) for s in slots):
            missing.extend(n for n, s in zip(b.tf1_names, slots) if not {"m", "v"} <= set(s))
            continue
        for role, store in (("m", opt._momentums), ("v", opt._velocities)):
            arrays = [ckpt.read(s[role]).astype(np.float32) for s in slots]
            for w, value in zip(b.keras_weights, b.to_keras(arrays, linear=True)):
                store[opt._get_variable_index(w)].assign(value)
                carried += 1
    if missing:
        raise MappingError(f"{ckpt.prefix}: --with-optimizer: no Adam m/v slots for {', '.join(missing[:6])}"
                           f"{' ...' if len(missing) > 6 else ''}; convert without --with-optimizer.")
    step, step_source = _adam_step(ckpt, rec)
    opt.iterations.assign(step)
    for s in adam.slots:
        plan.ignored.pop(s.name, None)
    for n in adam.non_slots:
        plan.ignored[n] = "Adam bias-correction power: Keras recomputes it from optimizer.iterations"
    return opt, {"optimizer": "Adam", "slots_name": adam.optimizer_name, "keras_slot_arrays": carried,
                 "iterations": step, "iterations_from": step_source, "epsilon": ADAM_EPSILON,
                 "global_clipnorm": hp.max_gradient_norm}


# -- writing ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _weights_as_views():
    """While Keras writes an h5 file, hand it read-only views of the variables' buffers, not copies.

    Keras's `H5IOStore.__setitem__` calls `backend.convert_to_numpy(variable)`, which for TensorFlow is
    `np.array(variable)`: a full copy of each weight (a 2 GB embedding costs 2 GB more). The TensorFlow
    tensor read from a variable shares its buffer and `.numpy()` of a CPU tensor is a view, so h5py can
    write straight from the variable. Restored on exit; anything that is not a variable is unchanged.
    """
    from keras.src import backend  # noqa: PLC0415

    original = backend.convert_to_numpy

    def as_view(x):
        value = getattr(x, "value", None)           # a Keras variable -> its tf.Variable
        if value is not None and hasattr(value, "read_value"):
            return value.read_value().numpy()
        return original(x)

    backend.convert_to_numpy = as_view
    try:
        yield
    finally:
        backend.convert_to_numpy = original


def _atomic_keras_save(model, out: str, fmt: str) -> None:
    directory = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(directory, exist_ok=True)
    suffix = ".keras" if fmt == "keras" else ".weights.h5"
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=suffix, dir=directory)
    os.close(fd)
    os.unlink(tmp)
    try:
        with _weights_as_views():
            if fmt == "keras":
                model.save(tmp)
            else:
                model.save_weights(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


KERAS_SUFFIX_FORMATS = ("keras", "weights.h5")


def _raw_verify() -> str:
    from migrate.checkpoint.stream import raw_verify  # noqa: PLC0415

    return raw_verify()


def _forget_pending(model) -> None:
    """Take `model`'s variables off Keras's list of variables a StatelessScope's exit initialises."""
    from keras.src.backend.common import global_state  # noqa: PLC0415

    mine = {id(w) for w in model.weights}
    pending = global_state.get_global_attribute("uninitialized_variables") or []
    global_state.set_global_attribute("uninitialized_variables", [v for v in pending if id(v) not in mine])


def stream_keras_file(model, ckpt: Checkpoint, plan: BindingPlan, out: str, fmt: str, bar=None) -> list[str] | None:
    """Write `out` (`.weights.h5` or `.keras`) tensor by tensor (`migrate.checkpoint.stream`), atomically.

    The model's bound variables are never given values: each checkpoint tensor goes from the file,
    through its transform, into its byte range of the output, and is dropped. Returns the written paths,
    or None when Keras would save something other than plain variables (then the caller assigns and
    lets Keras write).
    """
    from migrate.checkpoint import stream  # noqa: PLC0415

    small = []
    if fmt == "keras":
        from keras.src.saving import saving_lib  # noqa: PLC0415

        if sum(int(np.prod(w.shape, dtype=np.int64)) * np.dtype(str(w.dtype)).itemsize
               for w in model.weights) > stream.ZIP32_LIMIT:
            return None                                   # a zip64 archive: Keras's writer
        config_json, metadata_json = saving_lib._serialize_model_as_json(model)
        small = [("metadata.json", metadata_json.encode()), ("config.json", config_json.encode())]
    userblock = stream.keras_userblock(small) if fmt == "keras" else 0
    directory = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        try:
            layout = stream.h5_skeleton(model, tmp, userblock)
        except ValueError:
            return None

        def unbound(w):
            if _uninitialised(w):
                w._deferred_initialize()
            return np.asarray(w.numpy())

        crcs = stream.stream_bindings(tmp, layout, plan.bindings, ckpt, unbound_values=unbound,
                                      crcs=fmt == "keras", bar=bar)
        if fmt == "keras":
            known = {offset: (nbytes, crcs[offset]) for _w, offset, nbytes in layout if nbytes}
            crc = stream.file_crc32(tmp, userblock, os.path.getsize(tmp), known)
            stream.write_keras_zip(tmp, userblock, small, crc)
        os.replace(tmp, out)
        return [out]
    finally:
        _forget_pending(model)
        if os.path.exists(tmp):
            os.unlink(tmp)


def _atomic_tf_checkpoint(objects: dict, out: str) -> list[str]:
    import tensorflow as tf  # noqa: PLC0415

    directory = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(directory, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".", dir=directory)
    try:
        written = tf.train.Checkpoint(**objects).write(os.path.join(tmpdir, "ckpt"))
        files = sorted(os.listdir(tmpdir))
        moved = []
        for f in sorted(files, key=lambda f: f.endswith(".index")):  # data first, the index last
            dst = out + f[len("ckpt"):]
            os.replace(os.path.join(tmpdir, f), dst)
            moved.append(dst)
        del written
        return moved
    finally:
        for f in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, f))
        os.rmdir(tmpdir)


VOCAB_FILES = ("vocab.src.json", "vocab.tgt.json")   # seq2seq_task contract item 12: a model directory's files


def copy_model_files(src_dir: str, out_path: str, hparams) -> list[str]:
    """Make the output's directory a model directory: hparams.json (+ the vocabularies found in `src_dir`).

    Nothing happens when the output sits in `src_dir` itself (its files are the source's own).
    """
    import shutil  # noqa: PLC0415

    out_dir = os.path.dirname(os.path.abspath(out_path))
    if os.path.abspath(src_dir) == out_dir:
        return []
    written = [os.path.join(out_dir, "hparams.json")]
    hparams.save(written[0])
    for name in VOCAB_FILES:
        src = os.path.join(src_dir, name)
        if os.path.isfile(src):
            fd, tmp = tempfile.mkstemp(prefix="." + name + ".", dir=out_dir)
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.replace(tmp, os.path.join(out_dir, name))
            written.append(os.path.join(out_dir, name))
    return written


def write_json_atomic(obj: dict, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def _progress(total: int, enabled: bool | None):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, unit="B", unit_scale=True, desc="converting", file=sys.stderr, leave=False)


# -- the conversion --------------------------------------------------------------------------------
def build_model(hparams: dict, forget_bias: ForgetBias):
    """A `tf2.Seq2Seq` whose hparams record the forget bias that was folded (the reverse needs it)."""
    from seq2seq_task import HParams, HParamsError  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    d = {k: v for k, v in hparams.items()}
    if forget_bias.value is not None:
        d["forget_bias"] = forget_bias.value
    try:
        hp = HParams.from_dict(d)
    except (HParamsError, TypeError) as e:
        raise CheckpointError(f"hparams: {e}") from None
    import keras  # noqa: PLC0415

    # Variables created in a StatelessScope are not initialised (no random init of a 2 GB embedding that
    # is overwritten anyway); `materialise` gives each its converted value, `finish_initialisation` the rest.
    with keras.StatelessScope(initialize_variables=False):
        return Seq2Seq(hp)


def _uninitialised(w) -> bool:
    return getattr(w, "_value", True) is None


def _adopt(w, value) -> None:
    """Give an uninitialised Keras variable `w` its first value (a NumPy array or a `tf.Variable`)."""
    if _uninitialised(w):
        if hasattr(value, "assign") and not isinstance(value, np.ndarray):
            w._initialize(value)                   # keras/src/backend/tensorflow/core.py: adopts a tf.Variable
        else:
            w._initializer = lambda shape, dtype=None: value
            w._deferred_initialize()
    else:
        w.assign(value)


def _direct(binding, ckpt: Checkpoint) -> bool:
    """Whether a binding's value can go from the file into its variable untouched (same dtype and shape)."""
    w, name = binding.keras_weights[0], binding.tf1_names[0]
    return (binding.transform == "identity" and _uninitialised(w) and ckpt.variables[name].dtype == w.dtype
            and tuple(ckpt.variables[name].shape) == tuple(w.shape))


def restore_direct(bindings, ckpt: Checkpoint) -> None:
    """Read identity-bound variables straight into new variables, in one `RestoreV2` inside one graph.

    Inside a `tf.function`, RestoreV2's output buffers are adopted by `AssignVariableOp`, not copied, so
    a tensor costs its own bytes once (a NumPy round trip would hold it twice) and nothing is re-read.
    """
    if not bindings:
        return
    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.python.ops.resource_variable_ops import UninitializedVariable  # noqa: PLC0415

    names = [b.tf1_names[0] for b in bindings]
    dtypes = [tf.as_dtype(ckpt.variables[n].dtype) for n in names]
    targets = [UninitializedVariable(shape=ckpt.variables[n].shape, dtype=d, name=b.keras_weights[0].name,
                                     trainable=b.keras_weights[0].trainable)
               for n, d, b in zip(names, dtypes, bindings)]

    @tf.function(autograph=False)
    def load():
        values = tf.raw_ops.RestoreV2(prefix=ckpt.prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                                      dtypes=dtypes)
        for var, value in zip(targets, values):
            var.assign(value)

    try:
        load()
    except Exception as e:
        files = ", ".join(os.path.basename(f) for f in ckpt.data_files)
        raise CheckpointError(f"{ckpt.prefix} ({files}): cannot read the checkpoint's tensors "
                              f"({str(e).splitlines()[0][:200]}); the data file is truncated or corrupt. Copy the "
                              f"checkpoint again or use an earlier one.") from None
    for b, var in zip(bindings, targets):
        _adopt(b.keras_weights[0], var)


def materialise(binding, ckpt: Checkpoint) -> None:
    """Read a binding's checkpoint variables, transform them, and make them the Keras weights' values."""
    arrays = [ckpt.read(n) for n in binding.tf1_names]
    for w, value in zip(binding.keras_weights, binding.to_keras(arrays)):
        _adopt(w, np.array(value, dtype=w.dtype, order="C"))   # (ascontiguousarray would make 0-d 1-d)


def finish_initialisation(model) -> None:
    """Run the ordinary initialisers of any weight no binding gave a value (none after a full plan)."""
    for w in model.weights:
        if _uninitialised(w):
            w._deferred_initialize()
    # Keras keeps the variables created in a StatelessScope in a global list that the next scope's exit
    # initialises; ours have values now, so they leave it (keras/src/backend/common/variables.py).
    from keras.src.backend.common import global_state  # noqa: PLC0415

    pending = global_state.get_global_attribute("uninitialized_variables") or []
    global_state.set_global_attribute("uninitialized_variables", [v for v in pending if _uninitialised(v)])


def plan_conversion(ckpt: Checkpoint, *, hparams_path: str | None = None, forget_bias: float | None = None):
    """Everything but the reading and writing: (model, recognition, plan, report). Raises when unusable."""
    rec = recognise(ckpt.variables)
    refuse_without_cells(ckpt, rec)
    hp_dict, hp_sources, hp_file = decide_hparams(ckpt, rec, hparams_path)
    needs_fb = any(c.family == "lstm" for c in rec.cells)
    fb, warnings = resolve_forget_bias(flag=forget_bias, hparams=hp_dict if hp_file else None,
                                       hparams_path=hp_file, meta_path=ckpt.meta_path, needed=needs_fb)
    model = build_model(hp_dict, fb)
    plan = bind_seq2seq(model, rec, fb.value)
    report = {
        "schema": CONVERT_SCHEMA, "version": CONVERT_VERSION,
        "checkpoint": ckpt.prefix,
        "hparams": model.hparams.to_dict(),
        "hparams_sources": hp_sources,
        "forget_bias": fb.to_json(),
        "warnings": warnings,
    }
    return model, rec, plan, report


def mismatch_message(ckpt: Checkpoint, plan: BindingPlan, strict: bool, hp_file_hint: str) -> str | None:
    problems = []
    if plan.missing:
        problems.append(f"missing ({len(plan.missing)}): Keras weights with nothing in the checkpoint:\n    "
                        + "\n    ".join(plan.missing))
    if plan.mismatched:
        problems.append(f"mismatched ({len(plan.mismatched)}):\n    " + "\n    ".join(plan.mismatched))
    if strict and plan.unexpected:
        problems.append(f"unexpected ({len(plan.unexpected)}, an error with --strict): checkpoint weights the model "
                        f"does not use:\n    " + "\n    ".join(plan.unexpected))
    if not problems:
        return None
    return (f"{ckpt.prefix} does not fit the tf2 model built from {hp_file_hint}; nothing was written.\n  "
            + "\n  ".join(problems)
            + "\n  What to do: pass --hparams with the hparams.json the TF1 model was trained with (or fix the one "
              "used); for a model that is not tf2.Seq2Seq use a TOML mapping file (docs/checkpoint.md).")


def convert_checkpoint(checkpoint: str, out: str, *, hparams_path: str | None = None, strict: bool = False,
                       report_path: str | None = None, forget_bias: float | None = None,
                       with_optimizer: bool = False, progress: bool | None = None) -> dict:
    """Convert a TF1 checkpoint into a `tf2.Seq2Seq` file; returns the report (also written to `report_path`).

    Raises `CheckpointError` (exit 2) for unusable input and `MappingError` (exit 1) when the checkpoint
    does not fit the model; nothing is written then.
    """
    fmt = output_format(out)
    if with_optimizer and fmt == "weights.h5":
        raise CheckpointError(f"{out}: a .weights.h5 file holds no optimizer; use .keras or a TF2 checkpoint "
                              f"prefix with --with-optimizer.")
    t0 = time.perf_counter()
    ckpt = Checkpoint.open(checkpoint)
    model, rec, plan, report = plan_conversion(ckpt, hparams_path=hparams_path, forget_bias=forget_bias)
    t1 = time.perf_counter()
    hint = next(iter(set(report["hparams_sources"].values())), "") if report["hparams_sources"] else ""
    hint = hint if hint.startswith("hparams file") else "hparams inferred from the checkpoint's shapes"
    msg = mismatch_message(ckpt, plan, strict, hint)
    if msg:
        raise MappingError(msg)
    ckpt.refuse_reduced_precision(sorted(plan.used()))

    bar = _progress(sum(ckpt.variables[n].nbytes for n in plan.used()), progress)
    if fmt in KERAS_SUFFIX_FORMATS and not with_optimizer:
        written = stream_keras_file(model, ckpt, plan, out, fmt, bar)
        if written is not None:
            if bar is not None:
                bar.close()
            t2 = t3 = time.perf_counter()
            written += copy_model_files(ckpt.directory, out, model.hparams)
            return _finish_report(report, out, fmt, written, plan, model, ckpt, None, report_path,
                                  {"open_plan_build_model": round(t1 - t0, 3),
                                   "stream_read_transform_write": round(t2 - t1, 3)}, streamed=True)
    direct = [b for b in plan.bindings if _direct(b, ckpt)]
    restore_direct(direct, ckpt)
    if bar is not None:
        bar.update(sum(ckpt.variables[b.tf1_names[0]].nbytes for b in direct))
    # Largest first: the peak is then the model plus one small transient, not a big one on top of everything.
    rest = [b for b in plan.bindings if all(b is not d for d in direct)]
    for b in sorted(rest, key=lambda b: -sum(ckpt.variables[n].nbytes for n in b.tf1_names)):
        materialise(b, ckpt)
        if bar is not None:
            bar.update(sum(ckpt.variables[n].nbytes for n in b.tf1_names))
    finish_initialisation(model)
    if bar is not None:
        bar.close()
    t2 = time.perf_counter()

    opt_report = None
    objects = {"model": model}
    if with_optimizer:
        opt, opt_report = carry_adam(model, ckpt, rec, plan, model.hparams)
        objects["optimizer"] = opt
        if fmt == "keras":
            from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

            model.compile(optimizer=opt, loss=SequenceLoss())  # as tf2.training.compile_model: fit() resumes
    if fmt == "tf-checkpoint":
        written = _atomic_tf_checkpoint(objects, out)
    else:
        _atomic_keras_save(model, out, fmt)
        written = [out]
    written += copy_model_files(ckpt.directory, out, model.hparams)
    t3 = time.perf_counter()
    return _finish_report(report, out, fmt, written, plan, model, ckpt, opt_report, report_path,
                          {"open_plan_build_model": round(t1 - t0, 3), "read_transform_assign": round(t2 - t1, 3),
                           "optimizer_and_write": round(t3 - t2, 3)}, streamed=False)


def _finish_report(report, out, fmt, written, plan, model, ckpt, opt_report, report_path, timings, *, streamed):
    for u in plan.unexpected:
        plan.ignored[u.split(" ")[0]] = "unexpected: not part of the tf2 model for these hparams (--strict refuses)"
    report.update({
        "output": {"path": out, "format": fmt, "files": written,
                   "writer": f"streamed, raw copies verified by {_raw_verify()}" if streamed else "keras"},
        "bindings": [{"what": b.what, "transform": b.transform, "tf1": list(b.tf1_names),
                      "keras": list(b.keras_paths), "input_size": b.input_size,
                      "forget_bias_folded": b.forget_bias if b.transform == "lstm" else None}
                     for b in plan.bindings],
        "counts": {"keras_weights": len(model.weights), "keras_weights_assigned": sum(len(b.keras_weights)
                                                                                      for b in plan.bindings),
                   "checkpoint_variables": len(ckpt.variables), "used": len(plan.used()),
                   "ignored": len(plan.ignored)},
        "ignored": dict(sorted(plan.ignored.items())),
        "unexpected": list(plan.unexpected),
        "optimizer": opt_report,
        "timings": timings,
    })
    if report_path:
        write_json_atomic(report, report_path)
    return report
