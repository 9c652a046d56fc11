"""`tf2`: the Keras 3 port of the legacy TF1 Seq2Seq (`import keras`; TensorFlow, JAX or PyTorch backend).

One concept per module: `cells` (cell table), `encoder`, `luong_attention`, `bahdanau_attention`,
`attention_wrapper`, `decoder`, `seq2seq` (the model), `sequence_loss`, `decoding` (greedy and
beam search loops), `data` (PyDataset batches), `training` (fit, model directories), `callbacks`,
`backend` (what differs per Keras backend), `backend_runner` (run a `.keras` on another backend in a
child process), `export` (TensorFlow SavedModel; not imported here), `baseline` (the Sequential
baseline). See docs/tf2.md.
"""

from tf2.attention_wrapper import AttentionWrapperCell
from tf2.bahdanau_attention import BahdanauAttention
from tf2.baseline import build_baseline
from tf2.decoder import Decoder
from tf2.decoding import attention_alignments, beam_search, greedy_decode
from tf2.encoder import Encoder
from tf2.luong_attention import LuongAttention
from tf2.seq2seq import Seq2Seq
from tf2.sequence_loss import SequenceLoss

__all__ = [
    "AttentionWrapperCell", "BahdanauAttention", "Decoder", "Encoder", "LuongAttention", "Seq2Seq", "SequenceLoss",
    "attention_alignments", "beam_search", "build_baseline", "greedy_decode",
]
