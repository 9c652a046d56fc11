"""`tf.contrib.seq2seq` (TF 1.15), re-implemented on `tf.compat.v1` because contrib is gone in TF 2.

Same public signatures and the same variable names as contrib, so migrated user code can write

    from tf_migrate_runtime.contrib import seq2seq   # was: seq2seq = tf.contrib.seq2seq

and keep loading its old checkpoints. Source of truth for every behaviour here:
tensorflow/contrib/seq2seq/python/ops/{loss,attention_wrapper,helper,basic_decoder,decoder}.py at r1.15.

Provided (what this repository's legacy Seq2Seq and tensorflow/nmt use): `sequence_loss`, `LuongAttention`,
`BahdanauAttention`, `AttentionWrapper`, `AttentionWrapperState`, `TrainingHelper`, `GreedyEmbeddingHelper`,
`SampleEmbeddingHelper`, `ScheduledEmbeddingTrainingHelper`, `BasicDecoder`, `BasicDecoderOutput`, `BeamSearchDecoder` (+ its state and output
tuples), `tile_batch`, `gather_tree` (contrib's C++ kernel, composed from core ops), `dynamic_decode`.
The name-by-name table is `tf_migrate_runtime.successors.SUCCESSORS`.
"""

from tf_migrate_runtime.contrib.seq2seq.attention_wrapper import (
    AttentionMechanism,
    AttentionWrapper,
    AttentionWrapperState,
    BahdanauAttention,
    LuongAttention,
)
from tf_migrate_runtime.contrib.seq2seq.basic_decoder import BasicDecoder, BasicDecoderOutput
from tf_migrate_runtime.contrib.seq2seq.beam_search_decoder import (
    BeamSearchDecoder,
    BeamSearchDecoderOutput,
    BeamSearchDecoderState,
    FinalBeamSearchDecoderOutput,
    gather_tree,
    tile_batch,
)
from tf_migrate_runtime.contrib.seq2seq.decoder import Decoder, dynamic_decode
from tf_migrate_runtime.contrib.seq2seq.helper import (
    GreedyEmbeddingHelper,
    Helper,
    SampleEmbeddingHelper,
    ScheduledEmbeddingTrainingHelper,
    TrainingHelper,
)
from tf_migrate_runtime.contrib.seq2seq.loss import sequence_loss

__all__ = [
    "AttentionMechanism", "AttentionWrapper", "AttentionWrapperState", "BahdanauAttention", "BasicDecoder",
    "BasicDecoderOutput", "BeamSearchDecoder", "BeamSearchDecoderOutput", "BeamSearchDecoderState", "Decoder",
    "FinalBeamSearchDecoderOutput", "GreedyEmbeddingHelper", "Helper", "LuongAttention", "SampleEmbeddingHelper",
    "ScheduledEmbeddingTrainingHelper", "TrainingHelper", "dynamic_decode", "gather_tree", "sequence_loss", "tile_batch",
]
