"""What differs between Keras backends, one table entry per backend; each framework is imported only when active.

The port computes with Keras layers and `keras.ops` only. Two things have no `keras.ops` form:

- compiling a whole decoding loop into one program: TensorFlow `tf.function` (optionally XLA),
  JAX `jax.jit` of a stateless function (the weights are arguments, read through
  `keras.StatelessScope`, so a compiled decoder always sees the current weights), PyTorch eager
  under `torch.no_grad()` (`keras.ops.while_loop` is a Python loop there; `torch.compile` would
  break the graph at the data-dependent stop test);
- a differentiable loop over time that XLA can compile on TensorFlow: `keras.ops.scan` there is a
  `tf.while_loop` without `maximum_iterations`, whose gradient accumulators XLA refuses ("XLA
  compilation requires a fixed tensor list size") and which stacks only outputs shaped like the
  carry; `scan` below runs that loop with `maximum_iterations` on TensorFlow (the `tf.while_loop` +
  `TensorArray` the port always used) and is `keras.ops.scan` on JAX (`lax.scan`) and PyTorch;
- feeding variable-length NumPy batches to `fit` on TensorFlow: Keras turns a `PyDataset` into a
  `tf.data` pipeline whose shapes it guesses from the first two batches (a time dimension both
  share becomes fixed, and a later batch of another length fails), so `fit_data` hands TensorFlow
  the same batches through a generator with every dimension left open;
- the replica context of a `tf.distribute` strategy (TensorFlow only; other backends shard with
  `keras.distribution`, where the loss needs no all-reduce of its own).

`import tf2` under `KERAS_BACKEND=jax` or `torch` never imports `tensorflow`
(tests/test_backends.py checks it in a fresh process).
"""

from __future__ import annotations

import keras


def backend() -> str:
    """The active Keras backend: "tensorflow", "jax", "torch" (or "numpy")."""
    return keras.backend.backend()


def _compile_tensorflow(fn, variables, jit_compile):
    import tensorflow as tf  # noqa: PLC0415  (only on the TensorFlow backend)

    return tf.function(fn, jit_compile=bool(jit_compile), reduce_retracing=True)


def _compile_jax(fn, variables, jit_compile):
    import jax  # noqa: PLC0415

    variables = list(variables)

    def stateless(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(*args)

    jitted = jax.jit(stateless)
    return lambda *args: jitted([v.value for v in variables], *args)


def _compile_torch(fn, variables, jit_compile):
    import torch  # noqa: PLC0415

    def run(*args):
        with torch.no_grad():
            return fn(*args)

    return run


def _compile_eager(fn, variables, jit_compile):
    return fn


# backend -> how a pure keras.ops function of tensors becomes one compiled callable.
COMPILERS = {
    "tensorflow": _compile_tensorflow,
    "jax": _compile_jax,
    "torch": _compile_torch,
    "numpy": _compile_eager,
}


def compile_function(fn, variables, jit_compile=False):
    """`fn(*tensors) -> tensors` (keras.ops only, reads `variables`) compiled for the active backend.

    `jit_compile` selects XLA on TensorFlow; JAX always compiles with XLA; PyTorch runs eagerly.
    """
    name = backend()
    if name not in COMPILERS:
        raise ValueError(f"KERAS_BACKEND={name!r}: tf2 runs on {', '.join(COMPILERS)}")
    return COMPILERS[name](fn, variables, jit_compile)


def _scan_tensorflow(f, init, xs, y_shape):
    import tensorflow as tf  # noqa: PLC0415

    steps = tf.shape(xs)[0]
    xs_ta = tf.TensorArray(xs.dtype, size=steps, element_shape=xs.shape[1:]).unstack(xs)
    ys_ta = tf.TensorArray(xs.dtype, size=steps)

    def body(t, carry, ys_ta):
        carry, y = f(carry, xs_ta.read(t))
        return t + 1, carry, ys_ta.write(t, y)

    _, carry, ys_ta = tf.while_loop(lambda t, *_: t < steps, body, (0, init, ys_ta), maximum_iterations=steps)
    ys = ys_ta.stack()
    ys.set_shape((xs.shape[0],) + tuple(y_shape))
    return carry, ys


def scan(f, init, xs, y_shape):
    """`carry, y = f(carry, x)` over the leading axis of `xs`: `(last carry, stacked ys)`; differentiable.

    `y_shape`: the shape of one `y` (None for unknown dimensions), of the dtype of `xs`.
    TensorFlow: `tf.while_loop(maximum_iterations=len)` + `TensorArray` (XLA compiles its gradient);
    other backends: `keras.ops.scan`.
    """
    if backend() == "tensorflow":
        return _scan_tensorflow(f, init, xs, y_shape)
    return keras.ops.scan(f, init, xs)


def fit_data(dataset):
    """What `model.fit` gets for a `tf2.data.TaskBatches` on the active backend.

    JAX / PyTorch: the PyDataset itself. TensorFlow: a `tf.data.Dataset` of the same batches in the
    same order (epoch `e` = the dataset's epoch `e`; endless when `dataset.num_batches` is None), with
    open dimensions (see the module docstring).
    """
    if backend() != "tensorflow":
        return dataset
    import tensorflow as tf  # noqa: PLC0415

    def gen():
        if dataset.num_batches is None:
            index = 0
            while True:
                yield dataset[index]
                index += 1
        for index in range(len(dataset)):
            yield dataset[index]
        dataset.on_epoch_end()

    spec = keras.tree.map_structure(lambda a: tf.TensorSpec([None] * a.ndim, tf.as_dtype(a.dtype)), dataset[0])
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
    if dataset.num_batches is not None:  # Keras then knows the steps per epoch
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(dataset)))
    return ds.prefetch(2)


def global_token_count(count):
    """`count` summed over the replicas of a running `tf.distribute` strategy (TensorFlow backend), else as is."""
    if backend() != "tensorflow":
        return count
    import tensorflow as tf  # noqa: PLC0415

    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return context.all_reduce(tf.distribute.ReduceOp.SUM, count)
    return count
