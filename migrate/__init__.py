"""tf-migrate: move TF1 Seq2Seq models, checkpoints and code to TensorFlow 2 / Keras 3.

Subpackages: `migrate.checkpoint` (TF1 checkpoint -> Keras weights), `migrate.parity` (prove the
port computes what the legacy model computed), `migrate.codemod` (libcst codemod), and the
`tf-migrate` command line (`migrate.cli`).
"""

__version__ = "0.1.0"
