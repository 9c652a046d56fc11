"""Training the port with `model.fit`, and the files of a trained model directory.

A model directory (contract item 12) holds `hparams.json`, `vocab.src.json`, `vocab.tgt.json`
and `model.keras`. Optimiser (contract item 10): Adam with TF1's epsilon 1e-8 (Keras's default is
1e-7) and `global_clipnorm = max_gradient_norm` (= `clip_by_global_norm`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from seq2seq_task import HParams, TaskData, Vocab
from tf2.callbacks import AtomicModelCheckpoint
from tf2.data import make_dataset, sequence_accuracy
from tf2.decoding import greedy_fn
from tf2.seq2seq import Seq2Seq
from tf2.sequence_loss import SequenceLoss

MODEL_FILE = "model.keras"
HPARAMS_FILE = "hparams.json"
SRC_VOCAB_FILE = "vocab.src.json"
TGT_VOCAB_FILE = "vocab.tgt.json"


def make_optimizer(hparams: HParams) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate=hparams.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                                 global_clipnorm=hparams.max_gradient_norm)


def compile_model(model: keras.Model, hparams: HParams, jit_compile: bool | str = False,
                  steps_per_execution: int = 1) -> keras.Model:
    """Adam (contract item 10) + `SequenceLoss`; `jit_compile` / `steps_per_execution` as in `Model.compile`.

    Measured on the 2-core CPU (lstm, luong, 64 units, batch 64): with batches padded to their own
    longest sequence, `jit_compile=True` is 30x SLOWER (2.3 vs 78 steps/s with no attention: one
    XLA compile per new shape); with every batch padded to one fixed shape (`fixed_shape` of
    `tf2.data.make_dataset`) XLA compiles once (about 12 s) and then runs about 1.5-2.5x faster than
    without. `steps_per_execution=10` (several steps per `tf.function` call) gives about 1.3-1.8x.
    """
    if keras.backend.backend() == "torch":  # eager: torch.compile needs a C++ toolchain; Keras-on-torch runs
        jit_compile, steps_per_execution = False, 1  # one step per call (it refuses steps_per_execution > 1)
    model.compile(optimizer=make_optimizer(hparams), loss=SequenceLoss(), jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    return model


def hparams_for_task(task: TaskData, base: HParams | None = None) -> HParams:
    """`base` (default `HParams()`) with the vocabulary sizes and lengths of `task`."""
    base = base or HParams()
    return base.replace(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size,
                        max_src_len=task.max_src_len, max_tgt_len=task.max_tgt_len)


@dataclass
class TrainResult:
    model: Seq2Seq
    history: dict
    epochs_run: int
    wall_s: float
    valid_accuracy: float


def save_model_dir(out_dir: str, model: Seq2Seq, src_vocab: Vocab, tgt_vocab: Vocab) -> str:
    """Write `hparams.json`, both vocabularies and `model.keras` (each atomically)."""
    os.makedirs(out_dir, exist_ok=True)
    model.hparams.save(os.path.join(out_dir, HPARAMS_FILE))
    src_vocab.save(os.path.join(out_dir, SRC_VOCAB_FILE))
    tgt_vocab.save(os.path.join(out_dir, TGT_VOCAB_FILE))
    path = os.path.join(out_dir, MODEL_FILE)
    tmp = os.path.join(out_dir, "model.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)
    return path


def load_model_dir(path: str) -> tuple[Seq2Seq, Vocab, Vocab]:
    """A model directory (or its `model.keras`) -> `(model, src_vocab, tgt_vocab)`."""
    model_dir = os.path.dirname(path) if path.endswith(".keras") else path
    model_file = path if path.endswith(".keras") else os.path.join(path, MODEL_FILE)
    for p in (model_file, os.path.join(model_dir, SRC_VOCAB_FILE), os.path.join(model_dir, TGT_VOCAB_FILE)):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p}: no such file; expected a model directory written by `tf-migrate port train`")
    model = keras.saving.load_model(model_file)
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"{model_file}: holds a {type(model).__name__}, expected a tf2 Seq2Seq")
    return (model, Vocab.load(os.path.join(model_dir, SRC_VOCAB_FILE)),
            Vocab.load(os.path.join(model_dir, TGT_VOCAB_FILE)))


def evaluate_accuracy(model: Seq2Seq, pairs, src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int = 256) -> float:
    """Greedy sequence accuracy (exact string match) on `pairs`."""
    decode = greedy_fn(model)
    preds = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        ids = [src_vocab.encode(s)[: model.hparams.max_src_len] for s, _ in chunk]
        enc = np.zeros((len(ids), max(map(len, ids))), np.int32)
        for row, s in enumerate(ids):
            enc[row, : len(s)] = s
        preds.append(ops.convert_to_numpy(decode(enc)))
    return sequence_accuracy(np.concatenate(preds), pairs, tgt_vocab)


def train(hparams: HParams, task: TaskData, out_dir: str | None = None, epochs: int = 10,
          model: Seq2Seq | None = None, patience: int = 3, jit_compile: bool = True,
          steps_per_epoch: int | None = None, verbose: int = 0, eval_size: int = 1000,
          steps_per_execution: int = 10) -> TrainResult:
    """Train with `model.fit` on padded batches (`tf2.data.TaskBatches`); keep the best model by validation loss.

    Callbacks: `AtomicModelCheckpoint` (`out_dir/model.keras`, best `val_loss`) and
    `EarlyStopping(patience, restore_best_weights=True)`. Data order follows `hparams.seed`.
    With `jit_compile` (default) every batch is padded to `(max_src_len, decode_max_steps)` so XLA
    compiles one shape (see `compile_model` for the measurements).
    """
    keras.utils.set_random_seed(hparams.seed)
    model = model or Seq2Seq(hparams)
    compile_model(model, hparams, jit_compile, steps_per_execution)
    xla = bool(jit_compile) or keras.backend.backend() == "jax"  # JAX compiles every step with XLA
    fixed = (hparams.max_src_len, hparams.decode_max_steps) if xla else None
    train_ds = make_dataset(task.train, task.src_vocab, task.tgt_vocab, hparams.batch_size, shuffle=True,
                            seed=hparams.seed, max_src_len=hparams.max_src_len, max_tgt_len=hparams.max_tgt_len,
                            fixed_shape=fixed, drop_remainder=xla, repeat=bool(steps_per_epoch))
    valid_ds = make_dataset(task.valid, task.src_vocab, task.tgt_vocab, 256, max_src_len=hparams.max_src_len,
                            max_tgt_len=hparams.max_tgt_len, fixed_shape=fixed)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)]
    if out_dir:
        save_model_dir(out_dir, model, task.src_vocab, task.tgt_vocab)
        callbacks.append(AtomicModelCheckpoint(os.path.join(out_dir, MODEL_FILE)))
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=valid_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=callbacks, verbose=verbose, shuffle=False)  # the data keeps the legacy order
    wall = time.perf_counter() - start
    if out_dir:  # early stopping restored the best weights; the file holds the same model
        save_model_dir(out_dir, model, task.src_vocab, task.tgt_vocab)
    acc = evaluate_accuracy(model, task.valid[:eval_size], task.src_vocab, task.tgt_vocab)
    return TrainResult(model, history.history, len(history.history.get("loss", [])), wall, acc)
