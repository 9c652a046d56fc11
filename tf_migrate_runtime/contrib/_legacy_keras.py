"""Route `tf.compat.v1.nn.rnn_cell` and `tf.compat.v1.layers` to `tf_keras` (TF 2.16+ with Keras 3).

TensorFlow reads `TF_USE_LEGACY_KERAS` when one of those attributes is first accessed, not at
`import tensorflow`, so every module of `tf_migrate_runtime.contrib` that touches them imports this one
first. `setdefault`: a value the user set explicitly wins.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
