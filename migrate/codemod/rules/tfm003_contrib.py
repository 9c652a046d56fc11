"""TFM003 contrib: tf.contrib successors (tables: `CONTRIB_MODULES`, the runtime package's `successors.py`)."""

from migrate.codemod.rules import Rule

RULE = Rule(
    code="TFM003",
    name="contrib",
    summary="tf.contrib: slim -> tf_slim, layers -> tf_slim.layers, rnn -> tf.compat.v1.nn.rnn_cell, "
            "lookup.HashTable -> tf.lookup.StaticHashTable, metrics.streaming_* -> tf.compat.v1.metrics.*, "
            "seq2seq / training.HParams / learn.ModeKeys -> tf_migrate_runtime.contrib (this distribution's "
            "runtime package); the rest are findings that name the way out",
    why="`tf.contrib` is gone from TensorFlow 2. Where a maintained successor with the same behaviour and "
        "variable names exists (tf-slim 1.1, tf.compat.v1, the runtime package `tf_migrate_runtime` shipped "
        "with this tool), the reference is rewritten and the import added; each target is checked to exist. "
        "Contrib names TF 2 kept under another name are in `CONTRIB_RENAMES` (the streaming metrics took "
        "(predictions, labels), TF 2's take (labels, predictions): their positional arguments are passed by "
        "keyword, `CONTRIB_REORDERS`). Everything else is reported with a suggestion.",
    before="import tensorflow as tf\n\nnet = tf.contrib.layers.fully_connected(x, 10)\n"
           "hp = tf.contrib.training.HParams(units=32)\n",
    after="import tensorflow as tf\nimport tf_slim\nfrom tf_migrate_runtime.contrib import training\n\n"
          "net = tf_slim.layers.fully_connected(x, 10)\nhp = training.HParams(units=32)\n",
)
