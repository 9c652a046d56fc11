"""`tf.contrib.seq2seq` (TF 1.15), re-implemented on `tf.compat.v1` because contrib is gone in TF 2.

Same public signatures and the same variable names as contrib, so migrated user code can write

    from legacy_tf1 import contrib_seq2seq as seq2seq   # was: seq2seq = tf.contrib.seq2seq

and keep loading its old checkpoints. Source of truth for every behaviour here:
tensorflow/contrib/seq2seq/python/ops/{loss,attention_wrapper,helper,basic_decoder,decoder}.py at r1.15.

Only what the legacy Seq2Seq uses is provided: `sequence_loss`, `LuongAttention`, `BahdanauAttention`,
`AttentionWrapper`, `AttentionWrapperState`, `GreedyEmbeddingHelper`, `TrainingHelper`, `BasicDecoder`,
`BasicDecoderOutput`, `dynamic_decode`.
"""

# The parent package `legacy_tf1` is imported first and sets TF_USE_LEGACY_KERAS=1.
from legacy_tf1.contrib_seq2seq.attention_wrapper import (
    AttentionMechanism,
    AttentionWrapper,
    AttentionWrapperState,
    BahdanauAttention,
    LuongAttention,
)
from legacy_tf1.contrib_seq2seq.basic_decoder import BasicDecoder, BasicDecoderOutput
from legacy_tf1.contrib_seq2seq.decoder import Decoder, dynamic_decode
from legacy_tf1.contrib_seq2seq.helper import GreedyEmbeddingHelper, Helper, TrainingHelper
from legacy_tf1.contrib_seq2seq.loss import sequence_loss

__all__ = [
    "AttentionMechanism", "AttentionWrapper", "AttentionWrapperState", "BahdanauAttention", "BasicDecoder",
    "BasicDecoderOutput", "Decoder", "GreedyEmbeddingHelper", "Helper", "LuongAttention", "TrainingHelper",
    "dynamic_decode", "sequence_loss",
]
