"""The private Keras and TensorFlow internals `tf_migrate_runtime` touches, in one place, with what happens without
them.

| internal                                               | used for                                   | without it            |
|--------------------------------------------------------|--------------------------------------------|-----------------------|
| `keras.src.backend.common.symbolic_scope.in_symbolic_scope` | a decoder layer knows it runs inside Keras' shape inference (on JAX / PyTorch Keras calls layers on tensors of ones to infer shapes) and keeps its static number of steps there | False: the eager rule applies (on PyTorch, `fit` on a decoder whose length comes from the data then fails at its shape inference) |
| `tensorflow.python.ops.control_flow_util.GraphOrParentsInXlaContext` | `tfm.LSTM` / `GRU` / `SimpleRNN` leave a loop that XLA compiles (`jit_compile=True`) to Keras' own path, which XLA compiles better than their graph-mode loop (2 x LSTM(128): 15 ms vs 29 ms) | False: their loop, XLA-compiled (same results, slower) |

Keras has no public "am I inferring shapes" test, TensorFlow none for "am I being compiled by XLA". Nothing else in this package may import `keras.src`
(tests/test_runtime_successors.py checks it).
"""

from __future__ import annotations


def in_symbolic_scope() -> bool:
    """True while Keras infers output shapes by running layers on symbolic (placeholder) tensors."""
    try:
        from keras.src.backend.common.symbolic_scope import in_symbolic_scope as private  # noqa: PLC0415
    except ImportError:  # a Keras that moved it: the eager rule (see the table above)
        return False
    return bool(private())


def in_xla_compilation() -> bool:
    """True while TensorFlow traces a function that XLA will compile (`tf.function(jit_compile=True)`, also
    nested in one); TensorFlow backend only."""
    try:
        import tensorflow as tf  # noqa: PLC0415
        from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext  # noqa: PLC0415
    except ImportError:  # a TensorFlow that moved it: the graph-mode loop (see the table above)
        return False
    return bool(GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))
