"""The one private Keras internal `tf_migrate_runtime` touches, in one place, with what happens without it.

| internal                                               | used for                                   | without it            |
|--------------------------------------------------------|--------------------------------------------|-----------------------|
| `keras.src.backend.common.symbolic_scope.in_symbolic_scope` | a decoder layer knows it runs inside Keras' shape inference (on JAX / PyTorch Keras calls layers on tensors of ones to infer shapes) and keeps its static number of steps there | False: the eager rule applies (on PyTorch, `fit` on a decoder whose length comes from the data then fails at its shape inference) |

Keras has no public "am I inferring shapes" test. Nothing else in this package may import `keras.src`
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
