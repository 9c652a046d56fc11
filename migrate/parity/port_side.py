"""The port side of the legacy/port pair: a `tf2.Seq2Seq` (or any model with its call and `greedy_decode`),
its weights mapped to and from TF1 layout by the converter's bindings (`migrate.checkpoint.bindings`).

`PortRunner` runs logits, loss, gradients, K optimizer steps and greedy ids; `load_port`, `bind` and
`convert_on_the_fly` load or build it. A user's own Keras model goes through `migrate.parity.keras_side`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from migrate.parity.errors import ParityInputError
from seq2seq_task import Batch, HParams


def port_loss(model: Any, batch: Batch, training: bool = False):
    """The port's own training loss on `batch`: `tf2.SequenceLoss()(decoder_target_ids, logits)`."""
    from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

    logits = model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}, training=training)
    return SequenceLoss()(batch.decoder_target_ids, logits)


def port_optimizer(hparams: HParams) -> Any:
    """The port's own optimizer (`tf2.training.make_optimizer`: Adam, epsilon 1e-8, global_clipnorm)."""
    from tf2.training import make_optimizer  # noqa: PLC0415

    return make_optimizer(hparams)


class PortRunner:
    """The Keras port: logits, loss, gradients, K Adam steps and greedy ids, all mapped through `bindings`.

    The forward pass runs as a `tf.function` with a `[None, None]` input signature, traced once per
    runner (the port's decoder loops are `tf.while_loop`s; eagerly they run step by step).

    Args:
        model: a `tf2.Seq2Seq` (or any model with the same call, handles and `greedy_decode`).
        bindings: the converter's `Binding`s for this model.
        loss_fn: `loss_fn(model, batch) -> scalar` (default `port_loss`); it gets a `Batch` of tensors.
        optimizer_fn: `optimizer_fn(hparams) -> keras optimizer` (default `port_optimizer`), fresh per run.
    """

    def __init__(self, model: Any, bindings: Sequence[Any], loss_fn: Callable | None = None,
                 optimizer_fn: Callable | None = None):
        import tensorflow as tf  # noqa: PLC0415

        self.tf = tf
        self.model = model
        self.bindings = list(bindings)
        self.loss_fn = loss_fn or port_loss
        self.optimizer_fn = optimizer_fn or port_optimizer
        self.variables = [w for b in self.bindings for w in b.keras_weights]
        # The raw gradients of the last `gradients(batch)`, with the weights they were taken at: the first of
        # `adam_steps` (same batch, same weights: the harness's gradients check comes first) reuses them.
        self._last_gradients: tuple[Batch, list[np.ndarray], list] | None = None
        ids = tf.TensorSpec([None, None], tf.int32)
        lengths = tf.TensorSpec([None], tf.int32)
        signature = [ids, lengths, ids, ids, lengths]

        @tf.function(input_signature=signature)
        def forward(*fields):
            batch = Batch(*fields)
            logits = model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}, training=False)
            if self.loss_fn is port_loss:  # the same loss on the logits at hand: one forward pass, not two
                from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

                return logits, SequenceLoss()(batch.decoder_target_ids, logits)
            return logits, self.loss_fn(model, batch)

        self._forward = forward

    @staticmethod
    def _fields(batch: Batch) -> list[np.ndarray]:
        return [np.asarray(batch.encoder_ids, np.int32), np.asarray(batch.encoder_lengths, np.int32),
                np.asarray(batch.decoder_input_ids, np.int32), np.asarray(batch.decoder_target_ids, np.int32),
                np.asarray(batch.target_lengths, np.int32)]

    def forward(self, batch: Batch) -> tuple[np.ndarray, float]:
        logits, loss = self._forward(*self._fields(batch))
        return np.asarray(logits), float(loss)

    def to_tf1(self, arrays: dict[int, np.ndarray], linear: bool) -> dict[str, np.ndarray]:
        """{id(keras variable): array} -> {TF1 name: array} through every binding's inverse."""
        out = {}
        for b in self.bindings:
            try:
                back = b.to_tf1([arrays[id(w)] for w in b.keras_weights], linear=linear)
            except ValueError as e:
                raise _UnmappableError(b, str(e)) from None
            out.update(zip(b.tf1_names, back))
        return out

    def weights(self) -> dict[str, np.ndarray]:
        return self.to_tf1({id(w): np.asarray(w.numpy()) for w in self.variables}, linear=False)

    def _grads(self, batch: Batch) -> list:
        # Eager: tracing the gradient of the decoder's while_loop costs more (7.7 s measured, 2-layer bi
        # attention) than the few backward passes a parity run makes (1.2 s each).
        tf = self.tf
        with tf.GradientTape() as tape:
            loss = self.loss_fn(self.model, Batch(*(tf.constant(f) for f in self._fields(batch))))
        return tape.gradient(loss, self.variables)

    def _reusable(self, batch: Batch) -> list | None:
        """The last `gradients(batch)`'s raw gradients if they were taken on this batch at the current weights."""
        if self._last_gradients is None or self._last_gradients[0] is not batch:
            return None
        _, at, grads = self._last_gradients
        if all(np.array_equal(w.numpy(), v) for w, v in zip(self.variables, at)):
            return grads
        return None

    def gradients(self, batch: Batch) -> dict[str, np.ndarray]:
        grads = self._grads(batch)
        self._last_gradients = (batch, [np.array(w.numpy()) for w in self.variables], grads)
        dense = {id(w): np.asarray(self.tf.convert_to_tensor(g)) if g is not None else np.zeros(w.shape, np.float32)
                 for w, g in zip(self.variables, grads)}
        return self.to_tf1(dense, linear=True)

    def gradients_at(self, values: dict[str, np.ndarray], batch: Batch) -> dict[str, np.ndarray]:
        """The gradients at other weights given in TF1 layout ({TF1 name: array}, converted by the bindings as
        `tf-migrate convert` does); the current weights are restored after. The Adam error model measures the
        float32 noise of each step's gradients with it (`harness.adam_error_bound`)."""
        before = [np.asarray(w.numpy()) for w in self.variables]
        try:
            for b in self.bindings:
                for w, v in zip(b.keras_weights, b.to_keras([values[n] for n in b.tf1_names])):
                    w.assign(np.asarray(v, np.float32))
            return self.gradients(batch)
        finally:
            for w, v in zip(self.variables, before):
                w.assign(v)

    def adam_steps(self, batches: Sequence[Batch], steps: int, hparams: HParams) -> dict[str, np.ndarray]:
        """K steps of the port's optimizer (fresh) from the current weights; the weights after (then restored).
        Step 1's gradients are those of the last `gradients(batches[0])` when taken at these weights (one backward
        pass fewer per parity run: `compare_sides` checks the gradients on batches[0] first)."""
        before = [np.asarray(w.numpy()) for w in self.variables]
        opt = self.optimizer_fn(hparams)
        for k in range(steps):
            batch = batches[k % len(batches)]
            grads = (self._reusable(batch) if k == 0 else None) or self._grads(batch)
            opt.apply_gradients(list(zip(grads, self.variables)))
        after = self.to_tf1({id(w): np.asarray(w.numpy()) for w in self.variables}, linear=False)
        for w, v in zip(self.variables, before):
            w.assign(v)
        return after

    def greedy(self, batch: Batch) -> np.ndarray:
        return np.asarray(self.model.greedy_decode(np.asarray(batch.encoder_ids, np.int32)))


class _UnmappableError(Exception):
    def __init__(self, binding: Any, why: str):
        super().__init__(why)
        self.binding = binding


def load_port(keras_model: Any) -> Any:
    """A `.keras` file path -> the loaded `tf2.Seq2Seq` (or the model object itself)."""
    if not isinstance(keras_model, str | os.PathLike):
        return keras_model
    path = os.fspath(keras_model)
    if not os.path.isfile(path):
        raise ParityInputError(f"{path}: no such file; expected a .keras file written by `tf-migrate convert` "
                               f"(or leave --keras out to convert the checkpoint on the fly)")
    import keras  # noqa: PLC0415

    import tf2.seq2seq  # noqa: F401, PLC0415  (registers tf2>Seq2Seq for deserialisation)

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # zip / h5 / config errors all mean the same to the user
        raise ParityInputError(f"{path}: cannot load as a Keras model ({type(e).__name__}: {str(e)[:200]}); "
                               f"expected a .keras file of a tf2.Seq2Seq") from None


def bind(model: Any, prefix: str, forget_bias: float) -> list[Any]:
    """The converter's bindings of `model` to the checkpoint at `prefix`; a clear error when incomplete."""
    from migrate.checkpoint.bindings import bind_seq2seq  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
    from migrate.checkpoint.recognise import recognise  # noqa: PLC0415

    plan = bind_seq2seq(model, recognise(Checkpoint.open(prefix).variables), forget_bias)
    problems = plan.missing + plan.mismatched + [f"unused checkpoint variable {u}" for u in plan.unexpected]
    if problems:
        raise ParityInputError(f"{prefix}: the Keras model and the checkpoint do not map onto each other "
                               f"({len(problems)} problem(s)):\n  - " + "\n  - ".join(problems))
    return plan.bindings


def convert_on_the_fly(hparams: HParams, prefix: str) -> Any:
    """A fresh `tf2.Seq2Seq(hparams)` with the checkpoint's weights, through the converter's bindings."""
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    model = Seq2Seq(hparams)
    ckpt = Checkpoint.open(prefix)
    for b in bind(model, prefix, hparams.forget_bias):
        for w, v in zip(b.keras_weights, b.to_keras([ckpt.read(n) for n in b.tf1_names])):
            w.assign(np.asarray(v, dtype=np.float32))
    return model
