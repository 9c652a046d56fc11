"""What migrated user code and converted models import at run time.

`tf-migrate codemod` rewrites `tf.contrib` uses that have no TensorFlow 2 home to the successors kept here
(`tf_migrate_runtime.contrib...`), and `tf-migrate convert --from-graph` builds Keras 3 models from the layers
kept here (`tf_migrate_runtime.layers`). User code never imports this project's demo model packages
(`legacy_tf1`, `tf2`); it imports this package. Submodules are imported on use: importing the package
itself loads neither TensorFlow nor Keras.
"""
