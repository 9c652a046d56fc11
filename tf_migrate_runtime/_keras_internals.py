"""The private Keras and TensorFlow internals `tf_migrate_runtime` touches, in one place, with what happens without
them.

| internal                                               | used for                                   | without it            |
|--------------------------------------------------------|--------------------------------------------|-----------------------|
| `keras.src.backend.common.symbolic_scope.in_symbolic_scope` | a decoder layer knows it runs inside Keras' shape inference (on JAX / PyTorch Keras calls layers on tensors of ones to infer shapes) and keeps its static number of steps there | False: the eager rule applies (on PyTorch, `fit` on a decoder whose length comes from the data then fails at its shape inference) |
| `tensorflow.python.ops.control_flow_util.GraphOrParentsInXlaContext` | `tfm.LSTM` / `GRU` / `SimpleRNN` choose their loop inside a function XLA compiles (`jit_compile=True`): their fused step, its LSTM gates activated as one array, where the product is at most `decoder.XLA_FUSED_MAX_WIDTH` wide (a 2 x LSTM(25) encoder: 1.5x less CPU than Keras' loop), Keras' own loop above it (2 x LSTM(128) on 128-wide inputs: Keras' two products 1.8x faster); the decoders' TensorFlow forms (`decoder.tf_outside_xla`, `step_product`) are left for the portable ones there | False: the graph-mode forms, XLA-compiled (same results; wide layers slower) |
| `keras.src.backend.common.global_state.get_global_attribute("current_call_ctx")` | `tfm.Model` runs an eager call as one `tf.function` without Keras' `Layer.__call__` (2x - 4x the traced call itself at batch 1) only when it is called at the top, where no outer layer's call gives it a `training` value | True: every eager call goes through `Layer.__call__` first, then traced (slower, the same results) |
| `keras.src.backend.get_keras_mask` | the same bypass is left when an input carries a Keras mask (`Layer.__call__` passes it on) | the tensor's `_keras_mask` attribute, where Keras keeps it |
| `keras.src.backend.set_keras_mask`; the functional model's `_run_through_graph(inputs, operation_fn, call_fn)`, `_nodes_by_depth`, `_outputs_struct`, `Node.arguments` (`args`, `kwargs`, `fill_in`) | `tfm.Model` walks its graph as Keras does, running a stack of `tfm.LSTM` / `GRU` / `SimpleRNN` layers as one loop (`layers/stacked.py`: 1.5x less CPU per call on a 2-layer char-RNN) and giving its outputs the mask Keras' `__call__` would | the mask: the tensor's `_keras_mask` attribute; a Keras without that method or attributes: `tfm.Model.fuse_recurrent_stacks = False` (one loop per layer, the same results) |
| `tensorflow.python.eager.polymorphic_function.function_type_utils.canonicalize_function_inputs`, `ConcreteFunction.function_type.unpack_inputs`, `ConcreteFunction._call_flat`, `tensorflow.python.framework.ops.EagerTensor` (`_shape_tuple`) | `tfm.Model` calls the concrete function its `tf.function` traced for a call's signature with the call's flat tensors, as the `tf.function` itself ends up doing, without the `tf.function`'s per-call dispatch (binding the arguments, its trace-cache lookup: 0.65 ms of a 1.2 ms call at batch 1, docs/performance.md); the binding is checked once per signature to flatten the inputs as these would | every eager call through the `tf.function` (slower, the same results) |
| `tensorflow.python.framework.ops.EagerTensor(array, device, None)` | `tfm.Model` turns a call's NumPy inputs into tensors with the constructor `tf.constant` ends with, without its Python checks around it (half the time of `tf.constant` per input) | `tf.constant` |
| `keras.layers.LSTM.inner_loop` reads `self.cell.bias` while it runs (its cuDNN call, `LSTMCell.call`), an attribute set past Keras' tracking (`object.__setattr__`) | `tfm.LSTM(forget_bias=F)` on Keras' own path (a GPU, other backends, XLA) runs with the forget bias folded into the bias it reads, the variable given back after (`cell_bias_as`) | - (tests/test_runtime_speed_layers.py checks that path against Keras' LSTM with the bias folded) |
| `tensorflow.python.eager.context.context().functions_run_eagerly()` (public as `tf.config.functions_run_eagerly`) | the direct call is left when functions run eagerly (debugging) | - |

Keras has no public "am I inferring shapes" test, TensorFlow none for "am I being compiled by XLA". Nothing else in this package may import `keras.src`
(tests/test_runtime_successors.py checks it).
"""

from __future__ import annotations

import contextlib
import functools


def in_symbolic_scope() -> bool:
    """True while Keras infers output shapes by running layers on symbolic (placeholder) tensors."""
    try:
        from keras.src.backend.common.symbolic_scope import in_symbolic_scope as private  # noqa: PLC0415
    except ImportError:  # a Keras that moved it: the eager rule (see the table above)
        return False
    return bool(private())


@contextlib.contextmanager
def cell_bias_as(cell, value):
    """`cell.bias` is `value` (a tensor) inside the block, the cell's variable again after: what a Keras recurrent
    layer's own loop reads while it is traced. Set past Keras' attribute tracking (a tensor has nothing to track)."""
    bias = cell.bias
    object.__setattr__(cell, "bias", value)
    try:
        yield
    finally:
        object.__setattr__(cell, "bias", bias)


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


def set_keras_mask(x, mask) -> None:
    """Give a tensor the Keras mask `mask` (as a layer's `__call__` does for its outputs)."""
    try:
        from keras.src.backend import set_keras_mask as private  # noqa: PLC0415
    except ImportError:  # a Keras that moved it: its attribute (see the table above)
        x._keras_mask = mask
        return
    private(x, mask)


def eager_tensor_signature(values) -> tuple | None:
    """((dtype, shape), ...) of eager tensors (TensorFlow), None when one of `values` is anything else."""
    try:
        from tensorflow.python.framework.ops import EagerTensor  # noqa: PLC0415
    except ImportError:  # a TensorFlow that moved it: no direct call (see the table above)
        return None
    out = []
    for v in values:
        if type(v) is not EagerTensor:
            return None
        out.append((v.dtype, v._shape_tuple()))  # noqa: SLF001 - the C-level shape, no TensorShape per call
    return tuple(out)


def binds_as_flattened(concrete, args: tuple, flat: list) -> bool:
    """True when `concrete`'s structured call on `args` would pass it exactly the tensors `flat`, in that order."""
    try:
        from tensorflow.python.eager.polymorphic_function import function_type_utils  # noqa: PLC0415

        bound = function_type_utils.canonicalize_function_inputs(args, {}, concrete.function_type)
        expected = concrete.function_type.unpack_inputs(bound)
        concrete._call_flat  # noqa: B018, SLF001 - present in this TensorFlow
    except Exception:  # noqa: BLE001 - a TensorFlow that moved any of it, or a binding it refuses: no direct call
        return False
    return len(expected) == len(flat) and all(a is b for a, b in zip(expected, flat))


def call_concrete(concrete, flat: list):
    """`concrete(...)` on its flat tensor inputs (what its structured call ends with): the structured outputs."""
    return concrete._call_flat(flat, concrete.captured_inputs)  # noqa: SLF001


def functions_run_eagerly() -> bool:
    import tensorflow as tf  # noqa: PLC0415

    return bool(tf.config.functions_run_eagerly())


@functools.cache
def numpy_to_tensor():
    """A function: a NumPy array -> an eager tensor of its dtype on the current device (`tf.constant(x)`)."""
    import tensorflow as tf  # noqa: PLC0415

    try:
        from tensorflow.python.eager import context  # noqa: PLC0415
        from tensorflow.python.framework.ops import EagerTensor  # noqa: PLC0415
    except ImportError:  # a TensorFlow that moved them: tf.constant (see the table above)
        return tf.constant

    # The constructor needs the eager context made: in a process whose first TensorFlow operation is this call (a
    # model with no weights called on NumPy first) it is not yet, and EagerTensor fails ("Was eager Context
    # initialized?"); tf.constant makes it itself.
    context.ensure_initialized()

    def tensor(x):
        return EagerTensor(x, context.context().device_name, None)

    return tensor
