"""Successors of the `tf.contrib` pieces that TensorFlow 2 dropped, with TF 1.15's semantics.

| module                                   | was                                  |
|------------------------------------------|--------------------------------------|
| `tf_migrate_runtime.contrib.seq2seq`     | `tf.contrib.seq2seq`                 |
| `tf_migrate_runtime.contrib.training`    | `tf.contrib.training.HParams`        |
| `tf_migrate_runtime.contrib.learn`       | `tf.contrib.learn.ModeKeys`          |
| `tf_migrate_runtime.contrib.rnn`         | `tf.contrib.rnn.{LayerNormBasicLSTMCell, NASCell}` |

The full name-by-name table is `tf_migrate_runtime.successors.SUCCESSORS`. Graph-mode pieces
(`seq2seq`, `rnn`) are built on `tf.compat.v1`; importing this package loads nothing.
"""
