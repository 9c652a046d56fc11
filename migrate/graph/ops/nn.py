"""Layers with weights and neural-network ops: `MatMul` (+ `BiasAdd`) -> `keras.layers.Dense`, `BiasAdd`,
`Softmax` / `LogSoftmax`, `BatchMatMul`, `Conv2D` / `MaxPool` / `AvgPool` (NHWC)."""

from __future__ import annotations

from migrate.checkpoint.tables import is_gradient
from migrate.graph.ir import Unsupported, py_literal
from migrate.graph.ops import Ctx, op

_WEIGHT_LEAVES = ("kernel", "weights", "Matrix", "W", "w", "weight")


def dense_scope(var_name: str) -> str:
    """`dense/kernel` -> `dense`; `inference/weight1` -> `inference/weight1`."""
    scope, _, leaf = var_name.rpartition("/")
    return scope if scope and leaf in _WEIGHT_LEAVES else var_name


def _bias_consumer(c: Ctx, units: int):
    """The single BiasAdd / Add consumer of this MatMul that adds a 1-D variable of `units` (fused into Dense)."""
    consumers = [o for o in c.consumers(0) if not is_gradient(o.name)]
    if len(consumers) != 1:
        return None, None
    nxt = consumers[0]
    if nxt.type not in ("BiasAdd", "Add", "AddV2") or nxt.inputs[0].name != c.op.outputs[0].name:
        return None, None
    var = c.graph.variable_of(nxt.inputs[1])
    if var is None:
        return None, None
    value = c.em.variable_values(var)
    if value.shape != (units,):
        return None, None
    return nxt, var


@op("MatMul")
def matmul(c: Ctx):
    ta, tb = bool(c.attr("transpose_a", False)), bool(c.attr("transpose_b", False))
    var = c.var_of(1)
    if var is not None and not ta:
        kernel = c.em.variable_values(var)
        if tb:
            kernel = kernel.T
        units = kernel.shape[1]
        bias_op, bias_var = _bias_consumer(c, units)
        if bias_op is not None:
            layer = c.em.shared_layer(("dense", var, bias_var, tb), dense_scope(var),
                                      lambda n: f"keras.layers.Dense({units}, name={n!r})",
                                      [kernel, c.em.variable_values(bias_var)], "keras.layers.Dense",
                                      f"tf.Variable {var} + {bias_var}",
                                      holds=[("dense_kernel", (var,)), ("dense_bias", (bias_var,))])
            c.em.constructs["MatMul + BiasAdd -> keras.layers.Dense"] += 1
            syms = c.em.emit(f"{layer}({c.v(0)})", bias_op.name,
                             shape=tuple(bias_op.outputs[0].shape.as_list()) if bias_op.outputs[0].shape.rank else None,
                             comment=f"MatMul {c.op.name} + {bias_op.type} {bias_op.name}")
            c.graph.alias(bias_op.outputs[0], syms[0])
            return syms
        layer = c.em.shared_layer(("dense", var, None, tb), dense_scope(var),
                                  lambda n: f"keras.layers.Dense({units}, use_bias=False, name={n!r})",
                                  [kernel], "keras.layers.Dense", f"tf.Variable {var}",
                                  holds=[("dense_kernel", (var,))])
        c.em.constructs["MatMul -> keras.layers.Dense(use_bias=False)"] += 1
        return c.out(f"{layer}({c.v(0)})")
    a, b = c.v(0), c.v(1)
    if ta:
        a = f"keras.ops.transpose({a})"
    if tb:
        b = f"keras.ops.transpose({b})"
    return c.out(f"keras.ops.matmul({a}, {b})")


@op("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def batch_matmul(c: Ctx):
    a, b = c.v(0), c.v(1)
    if c.attr("adj_x", False):
        a = f"keras.ops.swapaxes({a}, -1, -2)"
    if c.attr("adj_y", False):
        b = f"keras.ops.swapaxes({b}, -1, -2)"
    return c.out(f"keras.ops.matmul({a}, {b})")


@op("BiasAdd", "BiasAddV1")
def bias_add(c: Ctx):
    fmt = c.attr("data_format", b"NHWC")
    if fmt not in (b"NHWC", "NHWC", None):
        raise Unsupported("BiasAdd with data_format NCHW")
    var = c.var_of(1)
    if var is not None:
        value = c.em.variable_values(var)
        scope = var.rsplit("/", 1)[0] if var.rsplit("/", 1)[-1] in ("bias", "biases", "b") else var
        layer = c.em.shared_layer(("bias", var), scope, lambda n: f"tfm.BiasAdd({value.shape[0]}, name={n!r})",
                                  [value], "tfm.BiasAdd", f"tf.Variable {var}",
                                  holds=[("dense_bias", (var,))])   # a decoder's projection bias names it
        c.em.constructs["BiasAdd -> tfm.BiasAdd"] += 1
        return c.out(f"{layer}({c.v(0)})")
    return c.out(f"keras.ops.add({c.v(0)}, {c.v(1)})")


@op("Softmax")
def softmax(c: Ctx):
    return c.out(f"keras.ops.softmax({c.v(0)}, axis=-1)")


@op("LogSoftmax")
def log_softmax(c: Ctx):
    return c.out(f"keras.ops.log_softmax({c.v(0)}, axis=-1)")


def _nhwc(c: Ctx):
    fmt = c.attr("data_format", b"NHWC")
    if fmt not in (b"NHWC", "NHWC", b"NWC", "NWC"):
        raise Unsupported(f"{c.type} with data_format {fmt!r} (only NHWC is in the table)")


@op("Conv2D")
def conv2d(c: Ctx):
    _nhwc(c)
    strides = tuple(int(s) for s in c.attr("strides"))[1:3]
    dil = tuple(int(s) for s in (c.attr("dilations") or [1, 1, 1, 1]))[1:3]
    padding = c.attr("padding").decode().lower()
    if padding not in ("same", "valid"):
        raise Unsupported(f"Conv2D padding {padding}")
    return c.out(f"keras.ops.conv({c.v(0)}, {c.v(1)}, strides={strides!r}, padding={padding!r}, "
                 f"dilation_rate={dil!r})")


@op("DepthwiseConv2dNative")
def depthwise_conv2d(c: Ctx):
    _nhwc(c)
    strides = tuple(int(s) for s in c.attr("strides"))[1:3]
    dil = tuple(int(s) for s in (c.attr("dilations") or [1, 1, 1, 1]))[1:3]
    padding = c.attr("padding").decode().lower()
    if padding not in ("same", "valid"):
        raise Unsupported(f"DepthwiseConv2dNative padding {padding}")
    return c.out(f"keras.ops.depthwise_conv({c.v(0)}, {c.v(1)}, strides={strides!r}, padding={padding!r}, "
                 f"dilation_rate={dil!r})")


@op("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def fused_batch_norm(c: Ctx):
    """Inference form (`is_training=False`): the moving mean / variance the graph holds. Outputs 1-2 are those
    statistics again (what TF returns then); the reserve-space outputs are only read by gradients."""
    _nhwc(c)
    if c.attr("is_training", True):
        raise Unsupported("batch normalisation with is_training=True (batch statistics); build the graph for "
                          "inference (is_training=False) or feed the training flag as False")
    eps = float(c.attr("epsilon", 1e-3))
    y = c.em.emit(f"keras.ops.batch_normalization({c.v(0)}, {c.v(3)}, {c.v(4)}, axis=-1, offset={c.v(2)}, "
                  f"scale={c.v(1)}, epsilon={py_literal(eps)})", c.op.name, shape=c.out_shape(0), dtype=c.out_dtype(0),
                  comment=f"{c.type} {c.op.name}")[0]
    return [y, c.ins[3], c.ins[4]] + [c.ins[3]] * (len(c.op.outputs) - 3)


@op("MaxPool", "AvgPool")
def pool(c: Ctx):
    _nhwc(c)
    ks = tuple(int(s) for s in c.attr("ksize"))[1:3]
    st = tuple(int(s) for s in c.attr("strides"))[1:3]
    padding = c.attr("padding").decode().lower()
    fn = "keras.ops.max_pool" if c.type == "MaxPool" else "keras.ops.average_pool"
    return c.out(f"{fn}({c.v(0)}, {ks!r}, strides={st!r}, padding={padding!r})")


@op("Einsum")
def einsum(c: Ctx):
    eq = c.attr("equation").decode()
    return c.out(f"keras.ops.einsum({eq!r}, {', '.join(c.v(i) for i in range(len(c.ins)))})")


@op("RandomUniform")
def dropout_noise(c: Ctx):
    """The noise of a dropout (found by the ops around it, `convert._inference_constants`, or named `dropout`): at
    inference keep_prob is 1.0 (rate 0.0), floor(1.0 + u) = 1 and u >= 0.0 for every u in [0, 1), so zeros give the
    same result exactly. Random ops anywhere else are refused."""
    if "dropout" not in c.op.name and c.op.name not in getattr(c.graph, "dropout_draws", ()):
        raise Unsupported("random numbers outside a dropout")
    from migrate.graph.ir import Dim  # noqa: PLC0415

    dims = c.ins[0].parts if c.ins[0].parts is not None else [int(d) for d in c.const(0)]
    if all(isinstance(d, int) for d in dims):
        return c.out(f"keras.ops.zeros({tuple(dims)!r}, dtype={c.out_dtype()!r})")
    refs = {d.sym for d in dims if isinstance(d, Dim)} if all(isinstance(d, (int, Dim)) for d in dims) else set()
    if len(refs) == 1:
        ref = next(iter(refs))
        if all(isinstance(d, Dim) and d.axis == k for k, d in enumerate(dims)) or ref.shape is not None and \
                len(ref.shape) == len(dims):
            return c.out(f"keras.ops.zeros_like({c.em.value(ref)}, dtype={c.out_dtype()!r})")
    from migrate.graph.ir import shape_spec  # noqa: PLC0415

    spec, refs = shape_spec(dims)  # zeros of the run-time shape (see above)
    return c.out(f"tfm.Fill({spec!r}, value=0.0, dtype_name={c.out_dtype()!r}, name={c.em.layer_name(c.op.name)!r})"
                 f"({', '.join(c.em.value(r) for r in refs)})")
