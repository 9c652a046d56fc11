"""A serving artifact (TensorFlow SavedModel) of the port, with a token-id decode signature.

The one TensorFlow-only module of `tf2`: nothing else imports it (`import tf2` does not), so the
port runs on JAX and PyTorch without TensorFlow installed. It needs `KERAS_BACKEND=tensorflow`.
"""

from __future__ import annotations

import os
import shutil

import keras
import tensorflow as tf

from tf2.decoding import greedy_fn


def export_serving(model, path: str) -> str:
    """Export `model` as a SavedModel with two endpoints, both taking token ids.

    - `decode(encoder_ids int32 [B, S]) -> int32 [B, decode_max_steps]`: greedy ids (contract item
      11), the compiled `tf.while_loop` of `tf2.decoding`.
    - `serve(encoder_ids int32 [B, S], decoder_ids int32 [B, T]) -> float32 [B, T, V]`: the logits.

    The directory is written beside `path` and renamed over it, so a failed export leaves the old
    artifact. Load it with `tf.saved_model.load(path)` (no Python model code needed).

    Example:

    >>> export_serving(model, "served")
    >>> tf.saved_model.load("served").decode(tf.constant([[5, 6, 7]]))
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"export_serving writes a TensorFlow SavedModel; KERAS_BACKEND is "
                           f"{keras.backend.backend()!r}: rerun with KERAS_BACKEND=tensorflow")
    archive = keras.export.ExportArchive()
    archive.track(model)
    decode = greedy_fn(model)
    archive.add_endpoint(
        "decode", lambda encoder_ids: decode(encoder_ids),
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="encoder_ids")])
    archive.add_endpoint(
        "serve", lambda encoder_ids, decoder_ids: model({"encoder_ids": encoder_ids, "decoder_ids": decoder_ids}),
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="encoder_ids"),
                         tf.TensorSpec([None, None], tf.int32, name="decoder_ids")])
    tmp = path.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    archive.write_out(tmp, verbose=False)
    if os.path.exists(path):
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path
