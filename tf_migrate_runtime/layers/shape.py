"""Shapes known only at run time: a dimension of a tensor (`DimOf`), shape arithmetic as a tensor
(`ShapeVector`), and the ops that take such a shape: `DynamicReshape`, `Fill`, `Tile`, `BroadcastTo`, `Range`.
Functional Keras models are traced with unknown batch / time sizes; these layers read them when the model runs
(`keras.ops.shape`, so the sizes stay Python ints on JAX / PyTorch and inside `jit`). A shape is a `spec`: one
entry per axis, see `evaluate`."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class DimOf(keras.layers.Layer):
    """`tf.shape(x)[axis]`: an int32 scalar.

    Example:
        >>> int(DimOf(1)(keras.ops.zeros((2, 7))))
        7
    """

    def __init__(self, axis, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, x):
        return keras.ops.cast(keras.ops.shape(x)[self.axis], "int32")

    def compute_output_spec(self, x):
        return keras.KerasTensor((), dtype="int32")

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def _truncdiv(a, b):
    """TF's integer `Div` / `TruncateDiv`: rounds toward zero (`-7 / 2 = -3`), unlike `//`."""
    if _known(a) and _known(b):
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q
    q = keras.ops.floor_divide(keras.ops.abs(a), keras.ops.abs(b))
    return keras.ops.where(keras.ops.equal(a >= 0, b > 0), q, -q)


_DIM_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
            "floordiv": lambda a, b: a // b, "truncdiv": _truncdiv, "mod": lambda a, b: a % b}


def _known(x) -> bool:
    return isinstance(x, int)


def _combine(op, a, b):
    if op in ("max", "min"):
        if _known(a) and _known(b):
            return max(a, b) if op == "max" else min(a, b)
        return keras.ops.maximum(a, b) if op == "max" else keras.ops.minimum(a, b)
    return _DIM_OPS[op](a, b)


def evaluate(entry, refs):
    """One shape entry at run time: `keras.ops.shape` of the references (a Python int on JAX / PyTorch and for
    static dimensions, a scalar tensor on TensorFlow otherwise), combined with Python arithmetic.

    Entries: an int; `[k, axis]` = dimension `axis` of `refs[k]`; `["value", k]` = the int scalar `refs[k]`;
    `[op, a, b]` with op in add / sub / mul / floordiv / truncdiv / mod / max / min."""
    if isinstance(entry, int):
        return entry
    if isinstance(entry[0], str):
        if entry[0] == "value":
            return keras.ops.cast(refs[entry[1]], "int32")
        return _combine(entry[0], evaluate(entry[1], refs), evaluate(entry[2], refs))
    return keras.ops.shape(refs[entry[0]])[entry[1]]


def evaluate_static(entry, refs):
    """The same entry from the references' static shapes: an int, or None when known only at run time."""
    if isinstance(entry, int):
        return None if entry == -1 else entry
    if isinstance(entry[0], str):
        if entry[0] == "value":
            return None
        a, b = evaluate_static(entry[1], refs), evaluate_static(entry[2], refs)
        return None if a is None or b is None else _combine(entry[0], a, b)
    d = refs[entry[0]].shape[entry[1]]
    return None if d is None else int(d)


def _spec(spec):
    return [s if isinstance(s, int) else _entry(s) for s in spec]


def _entry(s):
    if isinstance(s, int):
        return s
    return [s[0]] + [_entry(a) for a in s[1:]] if isinstance(s[0], str) else [int(s[0]), int(s[1])]


class _ShapeLayer(keras.layers.Layer):
    """A layer parametrised by a shape spec (see `evaluate`)."""

    def __init__(self, spec, **kwargs):
        super().__init__(**kwargs)
        self.spec = _spec(spec) if isinstance(spec, (list, tuple)) and not (spec and isinstance(spec[0], str)) \
            else _entry(spec)

    def shape_of(self, refs):
        return [evaluate(s, refs) for s in self.spec]

    def static_shape_of(self, refs):
        return tuple(evaluate_static(s, refs) for s in self.spec)

    def get_config(self):
        config = super().get_config()
        config["spec"] = self.spec
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class DynamicReshape(_ShapeLayer):
    """Reshape to a shape whose entries are ints or run-time sizes of other tensors (`tf.reshape(x,
    tf.stack([tf.shape(y)[0], tf.shape(y)[1], 7]))`).

    Args:
        spec: one entry per output axis (see `evaluate`): an int, `[k, axis]` = dimension `axis` of the k-th
            reference, or arithmetic on entries such as `["mul", [0, 0], [0, 1]]`.

    Call arguments:
        inputs: the tensor to reshape. *refs: the reference tensors.

    Example:
        >>> x = keras.ops.zeros((2, 3, 4)); y = DynamicReshape([[0, 0], [0, 1], 2, 2])(x, x)
        >>> tuple(y.shape)
        (2, 3, 2, 2)
    """

    def call(self, inputs, *refs):
        return keras.ops.reshape(inputs, self.shape_of(refs))

    def compute_output_spec(self, inputs, *refs):
        return keras.KerasTensor(self.static_shape_of(refs), dtype=inputs.dtype)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class ShapeVector(_ShapeLayer):
    """A shape computed at run time as an int tensor (`tf.shape(x)[:2]`, `tf.shape(x)[0] * 4`): a vector for a
    list spec, a scalar for a single entry.

    Example:
        >>> keras.ops.convert_to_numpy(ShapeVector([[0, 1], ["mul", [0, 0], 4]])(keras.ops.zeros((2, 3)))).tolist()
        [3, 8]
    """

    def __init__(self, spec, dtype_name="int32", **kwargs):
        super().__init__(spec, **kwargs)
        self.dtype_name = dtype_name

    def _scalar(self):
        return not isinstance(self.spec, list) or bool(self.spec) and isinstance(self.spec[0], str)

    def call(self, *refs):
        if self._scalar():
            return keras.ops.cast(evaluate(self.spec, refs), self.dtype_name)
        return keras.ops.stack([keras.ops.cast(v, self.dtype_name) for v in self.shape_of(refs)])

    def compute_output_spec(self, *refs):
        return keras.KerasTensor(() if self._scalar() else (len(self.spec),), dtype=self.dtype_name)

    def get_config(self):
        config = super().get_config()
        config["dtype_name"] = self.dtype_name
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Fill(_ShapeLayer):
    """`tf.fill(shape, value)` / `tf.zeros(shape)` / `tf.ones(shape)` whose shape is known only at run time
    (a zero initial state sized by the batch of an input: `cell.zero_state(tf.shape(x)[0], tf.float32)`).

    Args:
        spec: the shape (see `evaluate`). value: the fill value when it is a constant. dtype_name: the dtype.

    Call arguments:
        *refs: the reference tensors. value: the fill value as a scalar tensor (overrides the constant).

    Example:
        >>> tuple(Fill([[0, 0], 4], value=0.0)(keras.ops.zeros((3, 7))).shape)
        (3, 4)
    """

    def __init__(self, spec, value=0.0, dtype_name="float32", **kwargs):
        super().__init__(spec, **kwargs)
        self.value, self.dtype_name = value, dtype_name

    def call(self, *refs, value=None):
        fill = self.value if value is None else keras.ops.cast(value, self.dtype_name)
        return keras.ops.full(self.shape_of(refs), fill, dtype=self.dtype_name)

    def compute_output_spec(self, *refs, value=None):
        return keras.KerasTensor(self.static_shape_of(refs), dtype=self.dtype_name)

    def get_config(self):
        config = super().get_config()
        config.update(value=self.value, dtype_name=self.dtype_name)
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Tile(_ShapeLayer):
    """`tf.tile(x, multiples)` whose multiples are known only at run time (`tf.tile(x, [tf.shape(y)[0], 1])`).

    Example:
        >>> tuple(Tile([[0, 0], 1])(keras.ops.zeros((1, 4)), keras.ops.zeros((3, 2))).shape)
        (3, 4)
    """

    def call(self, inputs, *refs):
        return keras.ops.tile(inputs, self.shape_of(refs))

    def compute_output_spec(self, inputs, *refs):
        reps = self.static_shape_of(refs)
        return keras.KerasTensor(tuple(None if d is None or r is None else d * r for d, r in zip(inputs.shape, reps)),
                                 dtype=inputs.dtype)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class BroadcastTo(_ShapeLayer):
    """`tf.broadcast_to(x, shape)` whose shape is known only at run time.

    Example:
        >>> tuple(BroadcastTo([[0, 0], 4])(keras.ops.zeros((1, 4)), keras.ops.zeros((3, 2))).shape)
        (3, 4)
    """

    def call(self, inputs, *refs):
        return keras.ops.broadcast_to(inputs, self.shape_of(refs))

    def compute_output_spec(self, inputs, *refs):
        return keras.KerasTensor(self.static_shape_of(refs), dtype=inputs.dtype)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Range(keras.layers.Layer):
    """`tf.range(start, limit, delta)` whose bounds are known only at run time (e.g. `sequence_mask(lengths,
    tf.shape(logits)[1])`): `keras.ops.arange` inside a layer so the functional model can hold it.

    Args:
        dtype_name: the dtype. limit: a shape entry (see `evaluate`) when the limit is a size of the references
            (`tf.range(tf.shape(x)[1])`): read with `keras.ops.shape`, so it stays a Python int under `jax.jit`,
            where `arange` needs a concrete bound. Without it, the first call argument is the limit tensor.

    Example:
        >>> keras.ops.convert_to_numpy(Range(dtype_name="int32")(keras.ops.array(3), start=0, delta=1)).tolist()
        [0, 1, 2]
        >>> tuple(Range(limit=[0, 1])(keras.ops.zeros((2, 4))).shape)
        (4,)
    """

    def __init__(self, dtype_name="int32", limit=None, **kwargs):
        super().__init__(**kwargs)
        self.dtype_name = dtype_name
        self.limit = None if limit is None else _entry(limit)

    def call(self, *args, start=0, delta=1):
        limit = args[0] if self.limit is None else evaluate(self.limit, args)
        return keras.ops.arange(start, limit, delta, dtype=self.dtype_name)

    def compute_output_spec(self, *args, start=0, delta=1):
        n = None
        if self.limit is not None and isinstance(start, int) and isinstance(delta, int) and delta > 0:
            stop = evaluate_static(self.limit, args)
            n = None if stop is None else max(0, -(-(stop - start) // delta))
        return keras.KerasTensor((n,), dtype=self.dtype_name)

    def get_config(self):
        config = super().get_config()
        config["dtype_name"] = self.dtype_name
        if self.limit is not None:
            config["limit"] = self.limit
        return config
