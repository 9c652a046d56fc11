"""The task and the hparams contract shared by `legacy_tf1` and `tf2` (pure Python + NumPy, no TensorFlow).

Neither model package may import the other, so what both must agree on lives here: the embedded
date-normalisation task, its vocabularies and padded batches, and the `hparams.json` schema.
"""

from seq2seq_task.batching import Batch, DataError, iterate_batches, make_batch, read_tsv
from seq2seq_task.hparams import ATTENTION_TYPES, CELL_TYPES, ENCODER_TYPES, HParams, HParamsError
from seq2seq_task.task import TaskData, load_task
from seq2seq_task.vocab import EOS_ID, PAD_ID, SOS_ID, UNK_ID, Vocab

__all__ = [
    "ATTENTION_TYPES", "Batch", "CELL_TYPES", "DataError", "ENCODER_TYPES", "EOS_ID", "HParams",
    "HParamsError", "PAD_ID", "SOS_ID", "TaskData", "UNK_ID", "Vocab", "iterate_batches", "load_task",
    "make_batch", "read_tsv",
]
