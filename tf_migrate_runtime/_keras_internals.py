"""The private Keras and TensorFlow internals `tf_migrate_runtime` touches, in one place, with what happens without
them.

| internal                                               | used for                                   | without it            |
|--------------------------------------------------------|--------------------------------------------|-----------------------|
| `keras.src.backend.common.symbolic_scope.in_symbolic_scope` | a decoder layer knows it runs inside Keras' shape inference (on JAX / PyTorch Keras calls layers on tensors of ones to infer shapes) and keeps its static number of steps there | False: the eager rule applies (on PyTorch, `fit` on a decoder whose length comes from the data then fails at its shape inference) |
| `tensorflow.python.ops.control_flow_util.GraphOrParentsInXlaContext` | `tfm.LSTM` / `GRU` / `SimpleRNN` leave a loop that XLA compiles (`jit_compile=True`) to Keras' own path, which XLA compiles better than their graph-mode loop (2 x LSTM(128): 15 ms vs 29 ms) | False: their loop, XLA-compiled (same results, slower) |
| `keras.src.backend.common.global_state.get_global_attribute("current_call_ctx")` | `tfm.Model` runs an eager call as one `tf.function` without Keras' `Layer.__call__` (2x - 4x the traced call itself at batch 1) only when it is called at the top, where no outer layer's call gives it a `training` value | True: every eager call goes through `Layer.__call__` first, then traced (slower, the same results) |
| `keras.src.backend.get_keras_mask` | the same bypass is left when an input carries a Keras mask (`Layer.__call__` passes it on) | the tensor's `_keras_mask` attribute, where Keras keeps it |

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


def in_keras_call() -> bool:
    """True while a Keras layer's `__call__` runs (a call context is open: an outer layer's `training` applies)."""
    try:
        from keras.src.backend.common import global_state  # noqa: PLC0415
    except ImportError:  # a Keras that moved it: as if inside one (see the table above)
        return True
    return global_state.get_global_attribute("current_call_ctx") is not None


def keras_mask(x):
    """The Keras mask a tensor carries (None: none)."""
    try:
        from keras.src.backend import get_keras_mask  # noqa: PLC0415
    except ImportError:  # a Keras that moved it: its attribute (see the table above)
        return getattr(x, "_keras_mask", None)
    return get_keras_mask(x)
