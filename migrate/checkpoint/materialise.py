"""Give a freshly built `tf2.Seq2Seq` its converted weights, holding each tensor as few times as possible.

`build_model` creates the variables without values (private path of `migrate._internals`: no random
initialisation of a 2 GB embedding that is overwritten anyway); `restore_direct` reads identity-bound
tensors straight into new variables with one RestoreV2; `materialise` reads, transforms and assigns the
rest; `finish_initialisation` runs the ordinary initialisers of anything left. On the public-API path the
same functions build normally and `assign`.
"""

from __future__ import annotations

import os

import numpy as np

from migrate import _internals
from migrate.checkpoint.forget_bias import ForgetBias
from migrate.checkpoint.reader import Checkpoint, CheckpointError


def build_model(hparams: dict, forget_bias: ForgetBias):
    """A `tf2.Seq2Seq` whose hparams record the forget bias that was folded (the reverse needs it)."""
    from seq2seq_task import HParams, HParamsError  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    d = dict(hparams)
    if forget_bias.value is not None:
        d["forget_bias"] = forget_bias.value
    try:
        hp = HParams.from_dict(d)
    except (HParamsError, TypeError) as e:
        raise CheckpointError(f"hparams: {e}") from None
    with _internals.deferred_variables():
        return Seq2Seq(hp)


def is_direct(binding, ckpt: Checkpoint) -> bool:
    """Whether a binding's value can go from the file into its variable untouched (same dtype and shape)."""
    w, name = binding.keras_weights[0], binding.tf1_names[0]
    return (getattr(ckpt, "is_bundle", True) and binding.transform == "identity" and _internals.is_uninitialised(w)
            and ckpt.variables[name].dtype == w.dtype and tuple(ckpt.variables[name].shape) == tuple(w.shape))


def restore_direct(bindings, ckpt: Checkpoint) -> None:
    """Read identity-bound variables straight into new variables, in one `RestoreV2` inside one graph.

    Inside a `tf.function`, RestoreV2's output buffers are adopted by `AssignVariableOp`, not copied, so
    a tensor costs its own bytes once (a NumPy round trip would hold it twice) and nothing is re-read.
    """
    if not bindings:
        return
    import tensorflow as tf  # noqa: PLC0415

    names = [b.tf1_names[0] for b in bindings]
    dtypes = [tf.as_dtype(ckpt.variables[n].dtype) for n in names]
    targets = [_internals.uninitialized_tf_variable(ckpt.variables[n].shape, d, b.keras_weights[0].name,
                                                    b.keras_weights[0].trainable)
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
        from migrate.checkpoint.reader import corrupt_error, is_checksum_error  # noqa: PLC0415
        from migrate.checkpoint.stream import verify_tensors  # noqa: PLC0415

        bad = verify_tensors(ckpt, names) if is_checksum_error(e) else []
        if bad:                                # RestoreV2 names no tensor: find the damaged one(s)
            raise corrupt_error(ckpt.prefix, bad) from None
        files = ", ".join(os.path.basename(f) for f in ckpt.data_files)
        raise CheckpointError(f"{ckpt.prefix} ({files}): cannot read the checkpoint's tensors "
                              f"({str(e).splitlines()[0][:200]}); the data file is truncated or corrupt. Copy the "
                              f"checkpoint again or use an earlier one.") from None
    for b, var in zip(bindings, targets):
        _internals.adopt(b.keras_weights[0], var)


def materialise(binding, ckpt: Checkpoint) -> None:
    """Read a binding's checkpoint variables, transform them, and make them the Keras weights' values."""
    arrays = [ckpt.read(n) for n in binding.tf1_names]
    for w, value in zip(binding.keras_weights, binding.to_keras(arrays)):
        _internals.adopt(w, np.array(value, dtype=w.dtype, order="C"))   # (ascontiguousarray makes 0-d 1-d)


def finish_initialisation(model) -> None:
    """Run the ordinary initialisers of any weight no binding gave a value (none after a full plan)."""
    for w in model.weights:
        _internals.initialise(w)
    _internals.forget_pending(model.weights)


def unbound_value(w) -> np.ndarray:
    """The value of a weight no binding feeds (its own initialiser's), for the streamed writer."""
    _internals.initialise(w)
    return np.asarray(w.numpy())
