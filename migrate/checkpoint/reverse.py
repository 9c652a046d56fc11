"""Keras port -> a name-based TF1 checkpoint the legacy graph restores (rollback, serving by old systems).

The variable names are not guessed: the legacy graph (`legacy_tf1.model.Seq2SeqModel`) is built for the
model's hparams and its own variables are recognised and bound exactly as in the forward direction, then
every binding's inverse transform (`Binding.to_tf1`) produces the TF1 arrays. TF1 -> Keras -> TF1 is the
identity (tests/test_convert_roundtrip.py).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from google.protobuf import text_encoding

from migrate import _internals
from migrate.checkpoint.bindings import bind_seq2seq
from migrate.checkpoint.convert_report import CONVERT_SCHEMA, CONVERT_VERSION
from migrate.checkpoint.optimizer import ADAM_BETA1, ADAM_BETA2
from migrate.checkpoint.reader import CheckpointError, MappingError, VariableInfo
from migrate.checkpoint.recognise import recognise
from migrate.checkpoint.writers import VOCAB_FILES, hparams_bytes
from migrate.files import Outputs


def load_keras_model(path: str, hparams_path: str | None = None):
    """A `tf2.Seq2Seq` from a `.keras` file, or from `.weights.h5` plus its hparams.json."""
    import keras  # noqa: PLC0415

    import tf2.seq2seq  # noqa: F401, PLC0415  (registers the serializable classes)
    from seq2seq_task import HParams, HParamsError  # noqa: PLC0415

    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file; expected a .keras or .weights.h5 file written by the port.")
    try:
        if path.endswith(".keras"):
            return keras.saving.load_model(path)
        if path.endswith(".weights.h5"):
            if not hparams_path:
                raise CheckpointError(f"{path}: a .weights.h5 file has no hparams; pass --hparams hparams.json.")
            model = tf2.seq2seq.Seq2Seq(HParams.load(hparams_path))
            model.load_weights(path)
            return model
    except (HParamsError, ValueError, OSError) as e:
        raise CheckpointError(f"{path}: cannot load the Keras model ({str(e).splitlines()[0][:200]}).") from None
    raise CheckpointError(f"{path}: expected a .keras or .weights.h5 file.")


def legacy_variables(hp, with_optimizer: bool) -> dict[str, VariableInfo]:
    """Name -> shape/dtype of every variable the legacy graph creates for `hp` (train mode adds Adam)."""
    import tensorflow as tf  # noqa: PLC0415

    from legacy_tf1.model import Seq2SeqModel  # noqa: PLC0415

    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf_keras's deprecation notes on rnn_cell.*
        Seq2SeqModel(hp, "train" if with_optimizer else "infer")
        return {v.op.name: VariableInfo(v.op.name, tuple(v.shape.as_list()), v.dtype.base_dtype.name)
                for v in tf.compat.v1.global_variables()}


def stage_save_v2(arrays: dict[str, np.ndarray], prefix: str, outputs: Outputs) -> list[str]:
    """Stage a name-based TF1 checkpoint `prefix.index` + `prefix.data-00000-of-00001` (SaveV2)."""
    import tensorflow as tf  # noqa: PLC0415

    tmp_prefix = outputs.stage(prefix, kind="prefix")
    names = sorted(arrays)
    tf.raw_ops.SaveV2(prefix=tmp_prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(arrays[n]) for n in names])
    return [os.path.abspath(prefix) + f[len(os.path.basename(tmp_prefix)):]
            for f in sorted(os.listdir(os.path.dirname(tmp_prefix)))]


def convert_to_tf1(keras_path: str, out_prefix: str, *, hparams_path: str | None = None,
                   with_optimizer: bool = False, force: bool = False, outputs: Outputs | None = None,
                   report_path: str | None = None) -> dict:
    """Write the port's weights as a TF1 checkpoint `out_prefix` (+ `checkpoint` state file, hparams.json).

    With `with_optimizer`, the Keras Adam's m, v and iterations become the `/Adam`, `/Adam_1` slots,
    `beta1_power`, `beta2_power` and `global_step` a train-mode legacy graph restores. All files are staged
    in `outputs` (or an own `Outputs(force=force)` committed before returning); an existing checkpoint,
    `checkpoint` state file or different hparams.json is an `OutputError` (exit 3) unless `force`.
    """
    if outputs is None:
        with Outputs(force=force) as own:
            return convert_to_tf1(keras_path, out_prefix, hparams_path=hparams_path,
                                  with_optimizer=with_optimizer, outputs=own, report_path=report_path)
    outputs.check(out_prefix, kind="prefix")
    if report_path:
        outputs.check(report_path)
    model = load_keras_model(keras_path, hparams_path)
    hp = model.hparams
    variables = legacy_variables(hp, with_optimizer)
    rec = recognise(variables)
    plan = bind_seq2seq(model, rec, hp.forget_bias)
    if plan.missing or plan.mismatched or plan.unexpected:
        raise MappingError(f"{keras_path}: the legacy graph for these hparams does not match the Keras model: "
                           + "; ".join(plan.missing + plan.mismatched + plan.unexpected))
    arrays: dict[str, np.ndarray] = {}
    for b in plan.bindings:
        values = [np.asarray(w.numpy()) for w in b.keras_weights]
        shapes = [variables[n].shape for n in b.tf1_names]
        for n, a in zip(b.tf1_names, b.to_tf1(values, shapes=shapes)):
            arrays[n] = a.astype(np.float32)
    opt = getattr(model, "optimizer", None)
    step = int(opt.iterations.numpy()) if opt is not None and hasattr(opt, "iterations") else 0
    opt_report = None
    if with_optimizer:
        if not _internals.has_adam_slots(opt):
            raise CheckpointError(f"{keras_path}: --with-optimizer: the file holds no built Adam optimizer "
                                  f"(convert with --with-optimizer to .keras, or compile and train first).")
        adam = next(o for o in rec.optimizers if o.optimizer == "Adam")
        trainables = list(model.trainable_variables)
        for b in plan.bindings:
            for role_index, role in enumerate(("m", "v")):
                values = [np.asarray(_internals.adam_slots(opt, trainables, w)[role_index].numpy())
                          for w in b.keras_weights]
                shapes = [variables[n].shape for n in b.tf1_names]
                for n, a in zip(b.tf1_names, b.to_tf1(values, linear=True, shapes=shapes)):
                    arrays[adam.slots_of(n)[role]] = a.astype(np.float32)
        for n in adam.non_slots:
            base = n.rsplit("/", 1)[-1]
            beta = ADAM_BETA1 if base.startswith("beta1") else ADAM_BETA2
            arrays[n] = np.asarray(beta ** (step + 1), np.float32)
        opt_report = {"optimizer": "Adam", "iterations": step}
    for n in rec.other_state:
        arrays[n] = np.asarray(step, np.int64)
    left = sorted(set(variables) - set(arrays))
    if left:
        raise MappingError(f"{keras_path}: no value for legacy variable(s) {', '.join(left[:6])}; nothing written.")
    files = stage_save_v2(arrays, out_prefix, outputs)
    directory = os.path.dirname(os.path.abspath(out_prefix))
    name = os.path.basename(out_prefix)
    state = os.path.join(directory, "checkpoint")
    quoted = text_encoding.CEscape(name, as_utf8=True)   # the text-proto string form: a name is data, not lines
    outputs.write_text(state, f'model_checkpoint_path: "{quoted}"\nall_model_checkpoint_paths: "{quoted}"\n',
                       identical_ok=True)
    extra = [os.path.join(directory, "hparams.json")]
    outputs.write_bytes(extra[0], hparams_bytes(hp), identical_ok=True)
    for vocab in VOCAB_FILES:   # a legacy model directory also holds the vocabularies (contract item 12)
        src = os.path.join(os.path.dirname(os.path.abspath(keras_path)), vocab)
        if os.path.isfile(src) and os.path.dirname(src) != directory:
            with open(src, "rb") as f:
                outputs.write_bytes(os.path.join(directory, vocab), f.read(), identical_ok=True)
            extra.append(os.path.join(directory, vocab))
    report = {
        "schema": CONVERT_SCHEMA, "version": CONVERT_VERSION, "direction": "keras->tf1",
        "source": keras_path,
        "output": {"path": out_prefix, "format": "tf1-checkpoint", "files": files + [state] + extra},
        "forget_bias": {"value": hp.forget_bias, "source": f"{keras_path} hparams (subtracted from the LSTM bias)"},
        "counts": {"keras_weights": len(model.weights), "tf1_variables": len(arrays)},
        "bindings": [{"what": b.what, "transform": b.transform, "tf1": list(b.tf1_names),
                      "keras": list(b.keras_paths)} for b in plan.bindings],
        "optimizer": opt_report,
    }
    if report_path:
        from migrate.checkpoint.writers import report_bytes  # noqa: PLC0415

        outputs.write_bytes(report_path, report_bytes(report))
    return report
