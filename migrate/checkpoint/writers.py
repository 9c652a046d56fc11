"""The converter's writers. Each fills a path staged by `migrate.files.Outputs`; none renames anything.

| writer               | output                                   | how                                             |
|----------------------|------------------------------------------|-------------------------------------------------|
| `stream_keras_file`  | `.weights.h5` / `.keras`                 | tensor by tensor (`stream.py`), no model copy   |
| `keras_save`         | `.weights.h5` / `.keras`                 | Keras's own `save_weights` / `save` (fallback,  |
|                      |                                          | `--with-optimizer`, public-API path)            |
| `tf_checkpoint`      | TF2 object checkpoint `PREFIX.index/...` | `tf.train.Checkpoint.write` into a staged set   |
| `model_folder_files` | `hparams.json`, `vocab.*.json` beside    | bytes; an existing file with other contents is  |
|                      | the output                               | an error unless `--force`                       |

Everything a command writes is committed together by its `Outputs` (docs/outputs.md).
"""

from __future__ import annotations

import os

import numpy as np

from migrate import _internals
from migrate.checkpoint.reader import Checkpoint
from migrate.files import Outputs, to_json_text

KERAS_SUFFIXES = (".keras", ".weights.h5")
KERAS_SUFFIX_FORMATS = ("keras", "weights.h5")
VOCAB_FILES = ("vocab.src.json", "vocab.tgt.json")   # seq2seq_task contract item 12: a model directory's files


def output_format(out: str) -> str:
    """"keras", "weights.h5" or "tf-checkpoint" (any other path is a TF2 object checkpoint prefix)."""
    if out.endswith(".keras"):
        return "keras"
    if out.endswith(".weights.h5"):
        return "weights.h5"
    return "tf-checkpoint"


def staged_suffix(fmt: str) -> str:
    return ".keras" if fmt == "keras" else ".weights.h5"


def stream_keras_file(model, ckpt: Checkpoint, plan, tmp: str, fmt: str, bar=None) -> bool:
    """Write the staged file `tmp` (`.weights.h5` or `.keras`) tensor by tensor (`migrate.checkpoint.stream`).

    The model's bound variables are never given values: each checkpoint tensor goes from the file,
    through its transform, into its byte range of the output, and is dropped. Returns False (and leaves
    `tmp` to be overwritten) when the streamed writer cannot produce the file: Keras would save something
    other than plain variables, the archive needs zip64, or the private Keras internals are unavailable.
    """
    from migrate.checkpoint import stream  # noqa: PLC0415
    from migrate.checkpoint.materialise import unbound_value  # noqa: PLC0415

    if not _internals.private_ok():
        return False
    small = []
    if fmt == "keras":
        if sum(int(np.prod(w.shape, dtype=np.int64)) * np.dtype(str(w.dtype)).itemsize
               for w in model.weights) > stream.ZIP32_LIMIT:
            return False                                  # a zip64 archive: Keras's writer
        config_json, metadata_json = _internals.model_json(model)
        small = [("metadata.json", metadata_json.encode()), ("config.json", config_json.encode())]
    userblock = stream.keras_userblock(small) if fmt == "keras" else 0
    try:
        try:
            layout = stream.h5_skeleton(model, tmp, userblock)
        except ValueError:
            return False
        crcs = stream.stream_bindings(tmp, layout, plan.bindings, ckpt, unbound_values=unbound_value,
                                      crcs=fmt == "keras", bar=bar)
        if fmt == "keras":
            known = {offset: (nbytes, crcs[offset]) for _w, offset, nbytes in layout if nbytes}
            crc = stream.file_crc32(tmp, userblock, os.path.getsize(tmp), known)
            stream.write_keras_zip(tmp, userblock, small, crc)
        return True
    finally:
        _internals.forget_pending(model.weights)


def keras_save(model, tmp: str, fmt: str) -> None:
    """Keras's own writer into the staged `tmp` (whose name ends in `.keras` / `.weights.h5`)."""
    with _internals.weights_as_views():
        if fmt == "keras":
            model.save(tmp)
        else:
            model.save_weights(tmp)


def tf_checkpoint(objects: dict, out: str, outputs: Outputs) -> None:
    """Stage a TF2 object checkpoint `out.index`, `out.data-*` (written together, committed as a set)."""
    import tensorflow as tf  # noqa: PLC0415

    tmp_prefix = outputs.stage(out, kind="prefix")
    tf.train.Checkpoint(**objects).write(tmp_prefix)


def hparams_bytes(hparams) -> bytes:
    """hparams.json exactly as `HParams.save` writes it."""
    return to_json_text(hparams.to_dict(), sort_keys=True).encode("utf-8")


def model_folder_files(src_dir: str, out_path: str, hparams, outputs: Outputs) -> list[str]:
    """Make the output's directory a model directory: hparams.json (+ the vocabularies found in `src_dir`).

    Nothing happens when the output sits in `src_dir` itself (its files are the source's own). A file of
    the same name already there with the same bytes is fine; with other bytes it is an `OutputError`
    (exit 3) unless `--force`: an unrelated hparams.json is never overwritten silently.
    """
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if os.path.abspath(src_dir) == out_dir:
        return []
    written = [os.path.join(out_dir, "hparams.json")]
    outputs.write_bytes(written[0], hparams_bytes(hparams), identical_ok=True)
    for name in VOCAB_FILES:
        src = os.path.join(src_dir, name)
        if os.path.isfile(src):
            with open(src, "rb") as f:
                outputs.write_bytes(os.path.join(out_dir, name), f.read(), identical_ok=True)
            written.append(os.path.join(out_dir, name))
    return written


def report_bytes(report: dict) -> bytes:
    return to_json_text(report).encode("utf-8")
