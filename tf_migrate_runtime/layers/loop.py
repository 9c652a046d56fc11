"""`WhileLoop`: a TF1 while loop that no recogniser took, run op by op with `keras.ops.while_loop`.

The generic tier of `tf-migrate convert --from-graph`: a `tf.while_loop` (a `dynamic_rnn` over any cell, `raw_rnn`,
a decoder loop, a hand-written loop) becomes this layer. Its condition and body are generated functions, one line
per TF1 op, that `model.py` shows; the layer carries their source text in its config and interprets it with the
whitelist interpreter of `tf_migrate_runtime.program` (nothing generated is executed). The TF1 variables the loop
reads are the layer's weights (trainable; gradients flow through the loop on the TensorFlow backend).

TensorArrays are dense tensors: an array of `size` elements is a `[size, *element]` buffer; one that grows
(`dynamic_size=True`: a decoder's outputs) is appended to, one element per write. The element shape comes from
the array's `element_shape` when TF1 knew it in full, else from running the body once on the initial values
(at trace time only under `tf.function` / `jit`). A growing array needs a backend that allows a loop variable to
change size (TensorFlow, PyTorch); JAX does not.

Keras 3 and `keras.ops`; on the TensorFlow backend only, `tf.while_loop` itself (imported there) for its shape
invariants.
"""

from __future__ import annotations

import inspect
import textwrap

import keras

from tf_migrate_runtime.program import LoopFunction, ProgramError, runtime_callables


class _Shape:
    """What a growing or not yet allocated TensorArray records when the body is run once to learn shapes."""

    def __init__(self):
        self.shape, self.dtype = None, None


def array_read(buffer, index):
    """`TensorArrayReadV3`: element `index` of the array. An index past the end reads the last element: TF1 fails
    there, and such a read only happens on the untaken branch of a tf.cond, whose value `Merge` drops (both
    branches of a cond translated as `keras.ops.where` are computed)."""
    if isinstance(buffer, _Shape):
        raise ProgramError("a TensorArray is read in the loop that writes it before its element shape is known")
    if isinstance(buffer, keras.KerasTensor):   # in a functional model (after the loop)
        return keras.ops.take(buffer, keras.ops.cast(index, "int32"), axis=0)
    last = keras.ops.shape(buffer)[0] - 1
    index = keras.ops.clip(keras.ops.cast(index, "int32"), 0, keras.ops.maximum(keras.ops.cast(last, "int32"), 0))
    return keras.ops.take(buffer, index, axis=0)


def array_write(buffer, index, value):
    """`TensorArrayWriteV3` on an array of fixed size: element `index` replaced by `value`."""
    if isinstance(buffer, _Shape):
        buffer.shape, buffer.dtype = tuple(keras.ops.shape(value)), keras.ops.dtype(value)
        return buffer
    value = keras.ops.cast(value, keras.ops.dtype(buffer))
    # a scatter (differentiable on every backend; TensorFlow has no gradient for slice_update's XLA op)
    at = keras.ops.reshape(keras.ops.cast(index, "int32"), (1, 1))
    return keras.ops.scatter_update(buffer, at, keras.ops.expand_dims(value, 0))


def array_append(buffer, index, value):
    """`TensorArrayWriteV3` on an array that grows (`dynamic_size=True`): `value` appended (the TF1 loops that
    grow an array write element `index` = the number written so far)."""
    if isinstance(buffer, _Shape):
        return array_write(buffer, index, value)
    value = keras.ops.cast(value, keras.ops.dtype(buffer))
    return keras.ops.concatenate([buffer, keras.ops.expand_dims(value, 0)], axis=0)


def array_gather(buffer, indices):
    """`TensorArrayGatherV3`: the elements at `indices`, stacked."""
    return keras.ops.take(buffer, keras.ops.cast(indices, "int32"), axis=0)


def array_size(buffer):
    """`TensorArraySizeV3`: the number of elements."""
    if isinstance(buffer, keras.KerasTensor):   # in a functional model (after the loop): a layer
        from tf_migrate_runtime.layers.shape import DimOf  # noqa: PLC0415

        return DimOf(0)(buffer)
    return keras.ops.cast(keras.ops.shape(buffer)[0], "int32")


def nested_loop(k, args):
    """`tfm.nested_loop(k, [args])`: in the body of a `WhileLoop`, its nested loop `k` on `args` (each loop binds
    its own; this one is what the whitelist sees)."""
    raise ProgramError("tfm.nested_loop is called only inside the body of a WhileLoop")


# The functions generated loop bodies call (`tfm.array_read(...)`), beside keras.ops and the runtime layers.
LOOP_HELPERS = ("array_read", "array_write", "array_append", "array_gather", "array_size", "nested_loop")


def _source(fn) -> str:
    """The source text of a loop function: given as text (a config, `convert`), or a function of `model.py`
    run as Python (its source is read back, and interpreted like the text)."""
    if isinstance(fn, str):
        return fn
    if isinstance(fn, dict) and isinstance(fn.get("source"), str):
        return fn["source"]
    if inspect.isfunction(fn):
        return textwrap.dedent(inspect.getsource(fn))
    raise ProgramError(f"WhileLoop: a loop function must be a function of model.py or its source text, "
                       f"not a {type(fn).__name__}")


class _Loop:
    """One loop of a `WhileLoop` layer (the layer's own, or one nested in its body: `tfm.nested_loop(k, args)`
    runs child `k`): its spec, its condition and body interpreted from source, its nested loops."""

    def __init__(self, spec: dict, callables: dict, name: str):
        self.name = name
        self.cond_source, self.body_source = _source(spec["cond"]), _source(spec["body"])
        self.loop_vars = [dict(v) for v in spec.get("loop_vars", ())]
        self.arrays = [dict(a) for a in spec.get("arrays", ())]
        self.invariants = [dict(v) for v in spec.get("invariants", ())]
        self.outputs = [dict(o) for o in spec.get("outputs", ())]
        self.children = [_Loop(child, callables, f"{name}/nested_{k}") for k, child in enumerate(spec.get("nested", ()))]
        own = dict(callables)
        own["tfm.nested_loop"] = self.run_child
        self.cond = LoopFunction(self.cond_source, keras, own)
        self.body = LoopFunction(self.body_source, keras, own)
        n = len(self.loop_vars) + len(self.invariants)
        for fn in (self.cond, self.body):
            if len(fn.params) != n:
                raise ProgramError(f"WhileLoop {name}: {fn.name}() takes {len(fn.params)} values, the loop passes {n} "
                                   f"({len(self.loop_vars)} loop vars + {len(self.invariants)} invariants)")

    def run_child(self, k, args):
        """`tfm.nested_loop(k, [args])` in a body: nested loop `k` on those values; its outputs."""
        if not isinstance(k, int) or not 0 <= k < len(self.children):
            raise ProgramError(f"WhileLoop {self.name}: tfm.nested_loop({k!r}): no such nested loop")
        return self.children[k].run(list(args))

    def config(self) -> dict:
        return {"cond": self.cond_source, "body": self.body_source, "loop_vars": self.loop_vars,
                "arrays": self.arrays, "invariants": self.invariants, "outputs": self.outputs,
                **({"nested": [c.config() for c in self.children]} if self.children else {})}

    # -- the arrays --------------------------------------------------------------------------------------
    def _element_shape(self, spec):
        shape = spec.get("element_shape")
        if shape is not None and all(d is not None and d >= 0 for d in shape):
            return tuple(int(d) for d in shape)
        return None

    def _made_array(self, j, args):
        """A read-only array: filled before the loop (a scatter / unstack), or its `size` zeros."""
        spec = self.arrays[j]
        init = spec.get("init")
        if init is not None:
            value = keras.ops.cast(args[init["value"]], spec["dtype"])
            if init.get("indices") is None:
                return value
            indices = keras.ops.cast(args[init["indices"]], "int32")
            size = args[spec["size"]] if spec.get("size") is not None else keras.ops.max(indices) + 1
            zeros = keras.ops.zeros(_concat_shape(size, keras.ops.shape(value)[1:]), spec["dtype"])
            return keras.ops.scatter_update(zeros, keras.ops.expand_dims(indices, -1), value)
        raise ProgramError(f"WhileLoop {self.name}: TensorArray {spec.get('name')!r} is read in the loop but "
                           f"never filled")

    def _initial(self, args, weights):
        invariants = []
        for inv in self.invariants:
            if inv["kind"] == "input":
                invariants.append(args[inv["arg"]])
            elif inv["kind"] == "array":
                invariants.append(self._made_array(inv["array"], args))
            else:
                invariants.append(keras.ops.convert_to_tensor(weights[inv["weight"]]))
        loop, probe = [], False
        for v in self.loop_vars:
            if v["kind"] == "tensor":
                loop.append(args[v["init"]] if "init" in v else
                            keras.ops.convert_to_tensor(v["value"], dtype=v.get("dtype", "float32")))
            else:
                spec = self.arrays[v["array"]]
                if spec.get("init") is not None:
                    loop.append(self._made_array(v["array"], args))
                elif self._element_shape(spec) is not None:
                    loop.append(self._empty(spec, args, self._element_shape(spec)))
                else:
                    loop.append(_Shape())
                    probe = True
        if probe:   # the body once on the initial values: the shapes of what it writes
            self.body(*loop, *invariants)
            loop = [self._empty(self.arrays[v["array"]], args, x.shape) if isinstance(x, _Shape) else x
                    for v, x in zip(self.loop_vars, loop)]
        return loop, invariants

    def _empty(self, spec, args, element_shape):
        if spec.get("dynamic_size") or spec.get("size") is None and spec.get("size_value") is None:
            if keras.backend.backend() == "jax":
                raise ProgramError(f"WhileLoop {self.name}: TensorArray {spec.get('name')!r} grows in the loop "
                                   f"(dynamic_size=True), which the JAX backend cannot run (a loop variable "
                                   f"changes size); use the TensorFlow or PyTorch backend")
            return keras.ops.zeros(_concat_shape(0, element_shape), spec["dtype"])   # no element yet
        size = spec["size_value"] if "size_value" in spec else args[spec["size"]]
        return keras.ops.zeros(_concat_shape(size, element_shape), spec["dtype"])

    # -- the loop ----------------------------------------------------------------------------------------
    def run(self, args, weights=(), shapes_only=False):
        """The loop on the input tensors `args` (and the layer's `weights`): its `outputs`. `shapes_only` (Keras'
        shape inference on TensorFlow, `WhileLoop.call`): the loop itself is not built; its final values are
        placeholders of the shapes `tf.while_loop` gives them (their shape invariants) and of their dtypes."""
        args = list(args)
        loop, invariants = self._initial(args, weights)
        n = len(loop)

        def cond(*vars_):
            return keras.ops.cast(self.cond(*vars_[:n], *invariants), "bool")

        def body(*vars_):
            out = self.body(*vars_[:n], *invariants)
            out = out if isinstance(out, (list, tuple)) else (out,)
            return tuple(keras.ops.cast(o, keras.ops.dtype(v)) for o, v in zip(out, vars_))

        if keras.backend.backend() == "tensorflow":
            # tf.while_loop keeps a loop variable's static shape unless told otherwise: a zero state built for a
            # known batch of 1 may come back with an unknown batch, a growing array grows. Every axis but a
            # known last one (the features) may change; the rank may not.
            import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

            invariants_ = tuple(_invariant(tf, x) for x in loop)
            if shapes_only:
                final = [tf.compat.v1.placeholder(x.dtype, shape) for x, shape in zip(loop, invariants_)]
            else:
                final = tf.while_loop(cond, body, tuple(loop), shape_invariants=invariants_)
        else:
            final = keras.ops.while_loop(cond, body, tuple(loop))
        final = list(final) if isinstance(final, (list, tuple)) else [final]
        outs = []
        for o in self.outputs:
            x = _with_static_shape(final[o["var"]], o.get("shape"))
            kind = o["kind"]
            if kind in ("var", "stack"):
                outs.append(x)
            elif kind == "gather":
                outs.append(array_gather(x, args[o["indices"]]))
            elif kind == "read":
                outs.append(array_read(x, args[o["index"]]))
            elif kind == "size":
                outs.append(array_size(x))
            else:
                raise ProgramError(f"WhileLoop {self.name}: an output of kind {kind!r}")
        return outs


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class WhileLoop(keras.layers.Layer):
    """A TF1 while loop: `while cond(*vars, *invariants): vars = body(*vars, *invariants)`.

    Args:
        cond: the loop condition, a function of `model.py` (or its source text): `(*loop vars, *invariants)`
            -> a boolean scalar.
        body: the loop body, likewise: -> the new loop vars, as a tuple.
        loop_vars: one entry per loop variable: `{"name", "kind": "tensor", "init": k}` (the initial value is
            the call's input `k`), `{"name", "kind": "tensor", "value": v, "dtype"}` (a constant) or `{"name", "kind": "array", "array": j}` (TensorArray `j`, written in the body).
        arrays: one entry per TensorArray: `{"name", "dtype", "size": k or None, "dynamic_size": bool,
            "element_shape": list or None, "init": None or {"value": k, "indices": k or None}}` (an array made
            before the loop, filled by a scatter / unstack of input `value`).
        invariants: the values the functions read besides the loop vars, in their order after them:
            `{"kind": "input", "arg": k}`, `{"kind": "array", "array": j}` (a read-only TensorArray) or
            `{"kind": "weight", "weight": w}`.
        weights_spec: one entry per TF1 variable the loop reads: `{"name", "shape", "dtype", "trainable"}`.
        outputs: what the layer returns: `{"kind": "var", "var": i}` (a loop variable's final value, with
            `"shape"`: the static shape TF1 knew, None for an unknown size),
            `{"kind": "stack", "var": i}` (a TensorArray loop variable, stacked), `{"kind": "gather", "var": i,
            "indices": k}`, `{"kind": "read", "var": i, "index": k}` or `{"kind": "size", "var": i}`.

    Call arguments:
        args: the list of input tensors the entries above index (`init`, `arg`, `size`, `value`, ...).

    Returns:
        The list of `outputs`.
    """

    loops_over_time = True   # steps through Python per iteration when called eagerly: run it traced

    def __init__(self, cond, body, loop_vars, arrays=(), invariants=(), weights_spec=(), outputs=(), nested=(),
                 **kwargs):
        super().__init__(**kwargs)
        import tf_migrate_runtime.layers as tfm  # noqa: PLC0415 - the runtime's callables

        self._loop = _Loop({"cond": cond, "body": body, "loop_vars": loop_vars, "arrays": arrays,
                            "invariants": invariants, "outputs": outputs, "nested": nested},
                           runtime_callables(keras, tfm), self.name)
        self.weights_spec = [dict(w) for w in weights_spec]
        self._weights = [self.add_weight(name=w["name"], shape=tuple(w["shape"]), dtype=w.get("dtype", "float32"),
                                         trainable=bool(w.get("trainable", True)), initializer="zeros")
                         for w in self.weights_spec]
        self.built = True

    def call(self, args):
        from tf_migrate_runtime._keras_internals import in_symbolic_scope  # noqa: PLC0415
        from tf_migrate_runtime.layers.decoder import run_traced  # noqa: PLC0415

        if keras.backend.backend() == "tensorflow" and in_symbolic_scope():
            # Keras' shape inference (a functional build, a `.keras` load): the output shapes and dtypes without
            # tracing the body, which the model's own trace does again (the generic-tier loops of
            # tests/test_graph_decoders.py: 4.3 of its 110 s under cProfile; docs/performance.md)
            return self._loop.run(list(args), self._weights, shapes_only=True)
        return run_traced(self, self._run, list(args))

    def _run(self, args):
        return self._loop.run(args, self._weights)

    def get_config(self):
        config = super().get_config()
        config.update(self._loop.config())
        config["weights_spec"] = self.weights_spec
        return config


def _concat_shape(first, rest):
    """`(first, *rest)` as a shape argument: plain ints when all are known, else a tensor vector."""
    rest = [_int_or_tensor(d) for d in rest]
    first = _int_or_tensor(first)
    if not any(keras.ops.is_tensor(d) for d in (first, *rest)):   # ints, or JAX's symbolic dimensions
        return (first, *rest)
    if isinstance(first, int) and all(isinstance(d, int) for d in rest):
        return (first, *rest)
    parts = [keras.ops.reshape(keras.ops.cast(first, "int32"), (1,))]
    parts += [keras.ops.reshape(keras.ops.cast(d, "int32"), (1,)) for d in rest]
    return keras.ops.concatenate(parts, axis=0)


def _with_static_shape(x, shape):
    """A loop's final value with the static shape TF1 knew (`shape`, None = unknown): the loop keeps only ranks on
    TensorFlow, and a functional model needs, e.g., the batch of 1 it squeezes."""
    if shape is None or keras.backend.backend() != "tensorflow" or len(x.shape) != len(shape):
        return x
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    return tf.ensure_shape(x, [None if d is None else int(d) for d in shape])


def _invariant(tf, x):
    """The shape a loop variable keeps through `tf.while_loop`: its rank, and its last axis when known (rank >= 2)."""
    shape = x.shape
    if len(shape) == 0:
        return tf.TensorShape([])
    last = shape[-1] if len(shape) >= 2 and isinstance(shape[-1], int) else None
    return tf.TensorShape([None] * (len(shape) - 1) + [last])


def _int_or_tensor(d):
    """A size as a Python int when its value is known here (a constant, an eager tensor), else the tensor."""
    if isinstance(d, int) or d is None:
        return d
    try:
        return int(keras.ops.convert_to_numpy(d))
    except Exception:  # noqa: BLE001 - a symbolic size (tf.function, jit): only known at run time
        return d
