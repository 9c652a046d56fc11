"""What differs between Keras backends, one table entry per backend; each framework is imported only when active.

The port computes with Keras layers and `keras.ops` only; what differs per backend:

- compiling a whole decoding loop into one program: TensorFlow `tf.function` (optionally XLA),
  JAX `jax.jit` of a stateless function (the weights are arguments, read through
  `keras.StatelessScope`, so a compiled decoder always sees the current weights), PyTorch eager
  under `torch.no_grad()` (`keras.ops.while_loop` is a Python loop there; `torch.compile` would
  break the graph at the data-dependent stop test);
- a differentiable loop over time that XLA can compile on TensorFlow: `keras.ops.scan` there is a
  `tf.while_loop` without `maximum_iterations`, whose gradient accumulators XLA refuses ("XLA
  compilation requires a fixed tensor list size") and which stacks only outputs shaped like the
  carry; `scan` below is, on TensorFlow, `keras.ops.while_loop` with `maximum_iterations` over a
  preallocated output written by `keras.ops.scatter_update` (keras.ops only, a fixed trip count XLA
  trains through, writing in place; without XLA each write copies the output: see docs/tf2.md) and
  `keras.ops.scan` on JAX (`lax.scan`) and PyTorch;
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


def _scan_fixed_trip(f, init, xs, y_shape):
    """`keras.ops.while_loop(maximum_iterations=len(xs))` over a preallocated `ys`, step `t` written by
    `keras.ops.scatter_update` (differentiable; `slice_update` is not, on TensorFlow). A fixed trip count is what
    XLA needs to compile the loop's gradient."""
    ops = keras.ops
    steps = ops.shape(xs)[0]
    dims = [ops.shape(xs)[1] if (k == 0 and d is None) else d for k, d in enumerate(y_shape)]
    if any(d is None for d in dims):
        raise ValueError(f"scan: y_shape {y_shape}: only the batch dimension may be unknown")
    ys = ops.zeros((steps, *dims), xs.dtype)

    def cond(t, carry, ys):
        return t < steps

    def body(t, carry, ys):
        carry, y = f(carry, xs[t])
        return t + 1, carry, ops.scatter_update(ys, ops.reshape(t, (1, 1)), ops.expand_dims(y, 0))

    _, carry, ys = ops.while_loop(cond, body, (ops.convert_to_tensor(0, "int32"), init, ys),
                                  maximum_iterations=steps)
    return carry, ys


# backend -> the differentiable loop over time (`scan` below); keras.ops only on every backend.
SCANS = {
    "tensorflow": _scan_fixed_trip,
    "jax": lambda f, init, xs, y_shape: keras.ops.scan(f, init, xs),
    "torch": lambda f, init, xs, y_shape: keras.ops.scan(f, init, xs),
}


def scan(f, init, xs, y_shape):
    """`carry, y = f(carry, x)` over the leading axis of `xs`: `(last carry, stacked ys)`; differentiable.

    `y_shape`: the shape of one `y` (None for the batch dimension), of the dtype of `xs`.
    TensorFlow: `keras.ops.while_loop(maximum_iterations=len)` over a preallocated output (XLA compiles its
    gradient; `keras.ops.scan` there cannot be XLA-trained); JAX (`lax.scan`, reverse-differentiable where a
    `while_loop` is not) and PyTorch: `keras.ops.scan`.
    """
    return SCANS.get(backend(), SCANS["torch"])(f, init, xs, y_shape)


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
