"""Where each `tf.contrib` (and `tf.estimator`) name that migrated code may use lives now: one entry per
TF 1 dotted name.

`tf-migrate codemod` reads this table to rewrite contrib uses. Keys are the names as TF 1.15 code spells
them (`tf.contrib.training.HParams`); values are `Successor(target, note)`:

- `target` is a dotted name that resolves in the target environment (TF 2.21 + this distribution):
  either `tf_migrate_runtime.…` (the codemod adds the import) or `tf.…` when TensorFlow itself kept the
  same function under another name (no import needed). `tests/test_runtime_successors.py` imports and
  `getattr`s every target.
- `note` is one line: what the successor is and anything a user should know.

A key that names a module (`tf.contrib.seq2seq`) maps the module itself (`seq2seq = tf.contrib.seq2seq`);
only the members listed here exist in its successor, anything else under it is not provided (the codemod
reports it). Adding a successor is one entry here plus its implementation under
`tf_migrate_runtime/contrib/`. Pure data: importing this module loads no TensorFlow.
"""

from typing import NamedTuple

__all__ = ["SUCCESSORS", "Successor", "successor"]


class Successor(NamedTuple):
    target: str  # dotted name that resolves in TF 2.21 + tf_migrate_runtime
    note: str  # one line for the docs and the codemod's messages


_S2S = "tf_migrate_runtime.contrib.seq2seq"
_SAME = "same signature, variable names and math as TF 1.15 contrib, on tf.compat.v1"

SUCCESSORS: dict[str, Successor] = {
    # --- tf.contrib.seq2seq (re-implemented: tf_migrate_runtime/contrib/seq2seq/) ---
    "tf.contrib.seq2seq": Successor(_S2S, "the module; only the members listed below exist"),
    "tf.contrib.seq2seq.sequence_loss": Successor(f"{_S2S}.sequence_loss", _SAME),
    "tf.contrib.seq2seq.AttentionMechanism": Successor(f"{_S2S}.AttentionMechanism", "base class, " + _SAME),
    "tf.contrib.seq2seq.LuongAttention": Successor(f"{_S2S}.LuongAttention", _SAME),
    "tf.contrib.seq2seq.BahdanauAttention": Successor(f"{_S2S}.BahdanauAttention", _SAME),
    "tf.contrib.seq2seq.AttentionWrapper": Successor(f"{_S2S}.AttentionWrapper", _SAME),
    "tf.contrib.seq2seq.AttentionWrapperState": Successor(f"{_S2S}.AttentionWrapperState", "namedtuple, same fields"),
    "tf.contrib.seq2seq.Helper": Successor(f"{_S2S}.Helper", "abstract base class, same methods"),
    "tf.contrib.seq2seq.TrainingHelper": Successor(f"{_S2S}.TrainingHelper", _SAME),
    "tf.contrib.seq2seq.GreedyEmbeddingHelper": Successor(f"{_S2S}.GreedyEmbeddingHelper", _SAME),
    "tf.contrib.seq2seq.Decoder": Successor(f"{_S2S}.Decoder", "abstract base class, same methods"),
    "tf.contrib.seq2seq.BasicDecoder": Successor(f"{_S2S}.BasicDecoder", _SAME),
    "tf.contrib.seq2seq.BasicDecoderOutput": Successor(f"{_S2S}.BasicDecoderOutput", "namedtuple, same fields"),
    "tf.contrib.seq2seq.dynamic_decode": Successor(f"{_S2S}.dynamic_decode", _SAME),
    "tf.contrib.seq2seq.SampleEmbeddingHelper": Successor(f"{_S2S}.SampleEmbeddingHelper",
                                                          _SAME + " (tf.random.categorical draw)"),
    "tf.contrib.seq2seq.ScheduledEmbeddingTrainingHelper": Successor(
        f"{_S2S}.ScheduledEmbeddingTrainingHelper", _SAME + " (tf.random.uniform / tf.random.categorical draws)"),
    "tf.contrib.seq2seq.BeamSearchDecoder": Successor(f"{_S2S}.BeamSearchDecoder", _SAME),
    "tf.contrib.seq2seq.BeamSearchDecoderState": Successor(f"{_S2S}.BeamSearchDecoderState", "namedtuple, same fields"),
    "tf.contrib.seq2seq.BeamSearchDecoderOutput": Successor(f"{_S2S}.BeamSearchDecoderOutput",
                                                            "namedtuple, same fields"),
    "tf.contrib.seq2seq.FinalBeamSearchDecoderOutput": Successor(f"{_S2S}.FinalBeamSearchDecoderOutput",
                                                                 "namedtuple, same fields"),
    "tf.contrib.seq2seq.tile_batch": Successor(f"{_S2S}.tile_batch", _SAME),
    "tf.contrib.seq2seq.gather_tree": Successor(f"{_S2S}.gather_tree",
                                                "contrib's C++ kernel composed from core ops, same output"),
    # --- tf.contrib.training ---
    "tf.contrib.training": Successor("tf_migrate_runtime.contrib.training", "the module; only HParams, parse_values"),
    "tf.contrib.training.HParams": Successor(
        "tf_migrate_runtime.contrib.training.HParams",
        "pure Python, contrib's parse grammar and type checks; no HParamDef proto (to_proto/from_proto)"),
    "tf.contrib.training.parse_values": Successor("tf_migrate_runtime.contrib.training.parse_values",
                                                  "pure Python, contrib's grammar"),
    # --- tf.contrib.rnn: the cells TF 2 did not keep (the core ones are tf.compat.v1.nn.rnn_cell.*) ---
    "tf.contrib.rnn.LayerNormBasicLSTMCell": Successor("tf_migrate_runtime.contrib.rnn.LayerNormBasicLSTMCell",
                                                       _SAME + " (layer_norm via tf_slim)"),
    "tf.contrib.rnn.NASCell": Successor("tf_migrate_runtime.contrib.rnn.NASCell", _SAME),
    # --- tf.contrib.learn ---
    "tf.contrib.learn": Successor("tf_migrate_runtime.contrib.learn", "the module; only ModeKeys"),
    "tf.contrib.learn.ModeKeys": Successor("tf_migrate_runtime.contrib.learn.ModeKeys",
                                           "TRAIN='train', EVAL='eval', INFER='infer', as contrib"),
    # --- tf.estimator (gone since TF 2.16): only the mode keys; the rest is a finding with the Keras way
    # (migrate/codemod/tables.py ESTIMATOR_HINTS) ---
    "tf.estimator": Successor("tf_migrate_runtime.estimator", "the module; only ModeKeys"),
    "tf.estimator.ModeKeys": Successor("tf_migrate_runtime.estimator.ModeKeys",
                                       "TRAIN='train', EVAL='eval', PREDICT='infer', as tf.estimator"),
    # --- moved into TensorFlow itself (same function, new name; no runtime code needed) ---
    "tf.contrib.framework.nest": Successor("tf.nest", "the same module; is_sequence is called is_nested"),
    "tf.contrib.framework.nest.is_sequence": Successor("tf.nest.is_nested", "renamed, same result"),
    "tf.contrib.framework.nest.map_structure": Successor("tf.nest.map_structure", "same function"),
    "tf.contrib.framework.nest.assert_same_structure": Successor("tf.nest.assert_same_structure", "same function"),
    "tf.contrib.framework.nest.flatten": Successor("tf.nest.flatten", "same function"),
    "tf.contrib.framework.nest.pack_sequence_as": Successor("tf.nest.pack_sequence_as", "same function"),
    "tf.contrib.framework.list_variables": Successor("tf.train.list_variables", "same function"),
    "tf.contrib.framework.load_checkpoint": Successor("tf.train.load_checkpoint", "same function"),
    "tf.contrib.data.group_by_window": Successor("tf.data.experimental.group_by_window",
                                                 "same transformation (use with Dataset.apply)"),
}


def successor(contrib_name):
    """The `Successor` of `contrib_name` (`tf.contrib.…`), or None when this distribution provides none."""
    return SUCCESSORS.get(contrib_name)
