"""Training the legacy Seq2Seq: Adam, clip_by_global_norm, `global_step`, a name-based `Saver` (nmt's `train.py`).

A model directory after `train(hparams, out_dir, steps)`:

| file                              | written by                                         |
|-----------------------------------|----------------------------------------------------|
| hparams.json                      | `HParams.save` (atomic), before the first step     |
| vocab.src.json, vocab.tgt.json    | `Vocab.save` (atomic)                              |
| checkpoint                        | `Saver.save`: names the latest `model.ckpt-N`      |
| model.ckpt-N.index, .data-*       | `Saver.save`, every `save_every` steps and at the end (5 kept) |

Training resumes from the latest checkpoint of `out_dir`. Batches are a pure function of the global step
(epoch e is `iterate_batches(shuffle=True, seed=hparams.seed + e, drop_remainder=True)`), so a resumed run
sees exactly the batches an uninterrupted one would have.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

import legacy_tf1._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from legacy_tf1 import model_helper
from legacy_tf1.model_helper import TRAIN
from seq2seq_task import HParams, HParamsError, TaskData, load_task, make_batch

# Fields that may change when training resumes from an existing directory; any other difference from
# the saved hparams.json means a different graph (or data), which the checkpoint cannot restore.
RESUMABLE_CHANGES = ("learning_rate", "max_gradient_norm", "batch_size", "dropout")


def load_data(data: str | TaskData | None) -> TaskData:
    """`None`: the embedded date task; a path: that TSV file (split 90/5/5); a `TaskData`: itself."""
    if isinstance(data, TaskData):
        return data
    return load_task(tsv=data)


def complete_hparams(hparams: HParams, task: TaskData) -> HParams:
    """Fill the vocabulary sizes (when 0) from `task`; check them (and the lengths) otherwise."""
    changes = {}
    for field, vocab in (("src_vocab_size", task.src_vocab), ("tgt_vocab_size", task.tgt_vocab)):
        given = getattr(hparams, field)
        if given == 0:
            changes[field] = vocab.size
        elif given != vocab.size:
            raise HParamsError(f"hparams {field}={given}, but the data's vocabulary has {vocab.size} tokens; "
                               f"leave {field} at 0 to take it from the data")
    if hparams.share_embeddings and task.src_vocab != task.tgt_vocab:
        raise HParamsError("hparams share_embeddings=true needs one vocabulary for source and target; "
                           f"the data ({task.name}) has different ones")
    return hparams.replace(**changes) if changes else hparams


def _check_resumable(saved: HParams, given: HParams, out_dir: str) -> None:
    diffs = [f"{k}: saved {getattr(saved, k)!r}, given {getattr(given, k)!r}"
             for k in saved.to_dict() if k not in RESUMABLE_CHANGES and getattr(saved, k) != getattr(given, k)]
    if diffs:
        raise HParamsError(f"{out_dir} holds a checkpoint trained with other hparams ({'; '.join(diffs)}); "
                           "use a new --out directory or the same settings")


class BatchSchedule:
    """The training batch of every global step, deterministic in (pairs, hparams.seed, step)."""

    def __init__(self, task: TaskData, hparams: HParams):
        self.task, self.hparams = task, hparams
        self.batch_size = min(hparams.batch_size, len(task.train))
        self.per_epoch = max(1, len(task.train) // self.batch_size)
        self._epoch, self._order = -1, None

    def batch(self, step: int):
        epoch, index = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self._epoch = epoch
            self._order = np.random.RandomState(self.hparams.seed + epoch).permutation(len(self.task.train))
        idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        hp = self.hparams
        return make_batch([self.task.train[i] for i in idx], self.task.src_vocab, self.task.tgt_vocab,
                          hp.max_src_len, hp.max_tgt_len)


def train(hparams: HParams, out_dir: str, steps: int, data: str | TaskData | None = None,
          progress: bool = False, save_every: int = 1000, max_seconds: float | None = None) -> dict:
    """Train `steps` more steps in `out_dir` (resuming from its latest checkpoint) and save.

    Args:
        hparams: the model; `src_vocab_size` / `tgt_vocab_size` 0 means "take them from the data".
        out_dir: model directory (created); see the module table for what is written.
        steps: number of steps to run in this call (the global step continues from the checkpoint).
        data: None (embedded date task), a TSV path, or a `TaskData`.
        progress: show a tqdm progress bar (loss in the postfix).
        save_every: also save every this many global steps.
        max_seconds: stop early (and save) once this much wall time has passed; None = no limit.

    Returns:
        dict: `global_step`, `steps` (run in this call), `losses` (one per step run), `first_loss`,
        `last_loss` (mean of the last 10 steps),
        `seconds`, `steps_per_second`, `checkpoint` (the prefix written), `resumed_from` (or None),
        `hparams` (as completed from the data).
    """
    if steps < 0:
        raise ValueError(f"steps={steps}: expected >= 0")
    task = load_data(data)
    hparams = complete_hparams(hparams, task)
    resumed_from = None
    if os.path.isdir(out_dir) and os.path.exists(os.path.join(out_dir, "checkpoint")):
        resumed_from = model_helper.latest_checkpoint(out_dir)
        _check_resumable(HParams.load(out_dir), hparams, out_dir)
    model_helper.save_model_files(out_dir, hparams, task.src_vocab, task.tgt_vocab)

    loaded = model_helper.create_model(hparams, TRAIN, checkpoint=resumed_from)
    sess, model = loaded.session, loaded.model
    schedule = BatchSchedule(task, hparams)
    start_step = int(sess.run(model.global_step))
    losses: list[float] = []
    bar = None
    if progress:
        from tqdm import tqdm  # noqa: PLC0415

        bar = tqdm(total=steps, desc=f"legacy train {os.path.basename(os.path.abspath(out_dir))}", unit="step")
    prefix = os.path.join(out_dir, model_helper.CHECKPOINT_BASENAME)
    checkpoint = resumed_from
    t0 = time.time()
    try:
        for i in range(steps):
            batch = schedule.batch(start_step + i)
            loss, _, global_step = sess.run([model.loss, model.train_op, model.global_step],
                                            model.feed_dict(batch))
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at global step {global_step}; "
                                         "lower --set learning_rate or max_gradient_norm")
            losses.append(float(loss))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")
            if save_every and global_step % save_every == 0 and i + 1 < steps:
                checkpoint = loaded.save(prefix, int(global_step))
            if max_seconds is not None and time.time() - t0 >= max_seconds:
                break
        global_step = int(sess.run(model.global_step))
        if steps > 0 or checkpoint is None:
            checkpoint = loaded.save(prefix, global_step)
    finally:
        if bar is not None:
            bar.close()
        loaded.close()
    seconds = time.time() - t0
    return {
        "global_step": global_step,
        "steps": len(losses),
        "losses": losses,
        "first_loss": losses[0] if losses else None,
        "last_loss": float(np.mean(losses[-10:])) if losses else None,
        "seconds": seconds,
        "steps_per_second": len(losses) / seconds if seconds > 0 else 0.0,
        "checkpoint": checkpoint,
        "resumed_from": resumed_from,
        "hparams": hparams,
    }
