"""A checkpoint callback whose writes are atomic (temporary file + `os.replace`)."""

from __future__ import annotations

import os

import keras


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """Save the whole model to `filepath` (a `.keras` file) when `monitor` improves.

    Like `keras.callbacks.ModelCheckpoint(save_best_only=True)`, but the file is written beside the
    target and renamed over it, so an interrupted save leaves the previous checkpoint intact.

    Args:
        filepath: the `.keras` file to keep up to date.
        monitor: metric to watch (`"val_loss"`; falls back to `"loss"` without validation data).
        mode: `"min"` or `"max"`.

    Example:

    >>> cb = AtomicModelCheckpoint("out/model.keras")
    >>> # model.fit(train, validation_data=valid, callbacks=[cb])
    """

    def __init__(self, filepath, monitor="val_loss", mode="min"):
        super().__init__()
        if not filepath.endswith(".keras"):
            raise ValueError(f"filepath={filepath!r}: expected a path ending in .keras")
        self.filepath = filepath
        self.monitor = monitor
        self.sign = 1.0 if mode == "min" else -1.0
        self.best = None
        self.saved_epochs = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor, logs.get("loss"))
        if value is None:
            return
        if self.best is not None and self.sign * value >= self.sign * self.best:
            return
        self.best = value
        tmp = self.filepath[: -len(".keras")] + ".tmp.keras"
        self.model.save(tmp)
        os.replace(tmp, self.filepath)
        self.saved_epochs.append(epoch)
