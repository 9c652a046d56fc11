"""The legacy system: a TF1 graph-mode Seq2Seq written the way TensorFlow 1 code was (tensorflow/nmt).

Everything here runs on `tf.compat.v1` inside `with tf.Graph().as_default():` and a
`tf.compat.v1.Session(graph=g)`; eager execution is never disabled globally, so Keras 3 can run in the
same process. `tf.compat.v1.nn.rnn_cell.*` and `tf.compat.v1.layers.*` only exist under TF 2.16+ with
`tf_keras` installed and `TF_USE_LEGACY_KERAS=1` (read when the attribute is accessed), so this package
sets that variable before any of its modules touches them.

Modules (nmt's layout):

| module                     | content                                                             |
|----------------------------|---------------------------------------------------------------------|
| `model`                    | `Seq2SeqModel(hparams, mode)`: placeholders, graph, loss, train_op  |
| `model_helper`             | cells, sessions, checkpoints (`create_model`, `load_model`)          |
| `train`                    | `train(hparams, out_dir, steps)`: Adam, Saver, resumable            |
| `inference`                | `evaluate(...)`, `decode(...)`                                      |

`tf.contrib.seq2seq` comes from `tf_migrate_runtime.contrib.seq2seq` (the one copy, shared with migrated
user code). `legacy_tf1` imports neither `tf2` nor `migrate`; it may import `seq2seq_task` and
`tf_migrate_runtime`.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # same as legacy_tf1._legacy_keras

