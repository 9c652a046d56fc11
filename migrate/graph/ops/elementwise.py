"""Elementwise ops: one table row per TF op type -> the `keras.ops` function (TF semantics noted where they differ)."""

from __future__ import annotations

from migrate.graph.ir import Sym, Val, dim_op, py_literal
from migrate.graph.ops import Ctx, op

UNARY = {
    "Identity": None, "StopGradient": None, "Snapshot": None, "PreventGradient": None,
    "Neg": "keras.ops.negative", "Abs": "keras.ops.abs", "Exp": "keras.ops.exp", "Log": "keras.ops.log",
    "Log1p": "keras.ops.log1p", "Sqrt": "keras.ops.sqrt", "Rsqrt": "keras.ops.rsqrt", "Square": "keras.ops.square",
    "Reciprocal": "keras.ops.reciprocal", "Inv": "keras.ops.reciprocal",
    "Tanh": "keras.ops.tanh", "Sigmoid": "keras.ops.sigmoid", "Relu": "keras.ops.relu", "Relu6": "keras.ops.relu6",
    "Elu": "keras.ops.elu", "Selu": "keras.ops.selu", "Softplus": "keras.ops.softplus",
    "Softsign": "keras.ops.soft_sign", "Floor": "keras.ops.floor", "Ceil": "keras.ops.ceil",
    "Round": "keras.ops.round", "Sign": "keras.ops.sign", "Sin": "keras.ops.sin", "Cos": "keras.ops.cos",
    "Erf": "keras.ops.erf", "LogicalNot": "keras.ops.logical_not", "IsNan": "keras.ops.isnan",
    "ZerosLike": "keras.ops.zeros_like", "OnesLike": "keras.ops.ones_like",
    "CheckNumerics": None, "EnsureShape": None,
    "Expm1": "keras.ops.expm1", "Tan": "keras.ops.tan", "Atan": "keras.ops.arctan", "Asin": "keras.ops.arcsin",
    "Acos": "keras.ops.arccos", "Sinh": "keras.ops.sinh", "Cosh": "keras.ops.cosh", "IsFinite": "keras.ops.isfinite",
    "IsInf": "keras.ops.isinf",
}

BINARY = {
    "Add": "keras.ops.add", "AddV2": "keras.ops.add", "Sub": "keras.ops.subtract", "Mul": "keras.ops.multiply",
    "RealDiv": "keras.ops.divide", "Div": "keras.ops.divide", "DivNoNan": "keras.ops.divide_no_nan",
    "FloorDiv": "keras.ops.floor_divide", "FloorMod": "keras.ops.mod", "Maximum": "keras.ops.maximum",
    "Minimum": "keras.ops.minimum", "Pow": "keras.ops.power",
    "Equal": "keras.ops.equal", "NotEqual": "keras.ops.not_equal", "Less": "keras.ops.less",
    "LessEqual": "keras.ops.less_equal", "Greater": "keras.ops.greater", "GreaterEqual": "keras.ops.greater_equal",
    "LogicalAnd": "keras.ops.logical_and", "LogicalOr": "keras.ops.logical_or",
    "Atan2": "keras.ops.arctan2", "Mod": "keras.ops.mod",
}


@op(*UNARY)
def unary(c: Ctx):
    fn = UNARY[c.type]
    if fn is None:  # Identity and friends: the same value, no line written
        return [c.ins[0]]
    return c.out(f"{fn}({c.v(0)})")


# Integer arithmetic on shape entries (`tf.shape(x)[0] * tf.shape(x)[1]`) stays shape arithmetic.
SHAPE_ARITHMETIC = {"Add": "add", "AddV2": "add", "Sub": "sub", "Mul": "mul", "FloorDiv": "floordiv",
                    "Div": "truncdiv", "TruncateDiv": "truncdiv", "FloorMod": "mod", "Maximum": "max", "Minimum": "min"}


def shape_arithmetic(c: Ctx):
    """Both inputs shape values (or int scalars / small int vectors) and at least one from shape arithmetic:
    the result as shape entries (broadcasting a scalar over a vector); else None."""
    if c.type not in SHAPE_ARITHMETIC or not c.out_dtype().startswith("int") or \
            not any(s.parts is not None for s in c.ins[:2]):
        return None
    sides = []
    for i in range(2):
        p = c.shape_parts(i)
        s = c.ins[i]
        if p is None and s.shape == ():
            p = [Val(s)]
        if p is None or s.shape is None or len(s.shape) > 1 or any(x is None for x in p):
            return None
        sides.append(p)
    a, b = sides
    n = max(len(a), len(b))
    if len(a) not in (1, n) or len(b) not in (1, n):
        return None
    parts = [dim_op(SHAPE_ARITHMETIC[c.type], a[k if len(a) > 1 else 0], b[k if len(b) > 1 else 0]) for k in range(n)]
    shape = () if all(s.shape == () for s in c.ins[:2]) else (n,)
    if all(isinstance(x, int) for x in parts):
        import numpy as np  # noqa: PLC0415

        value = np.asarray(parts, dtype=c.out_dtype()).reshape(shape)
        return [Sym(const=value, shape=shape, dtype=c.out_dtype())]
    return [Sym(parts=parts, shape=shape, dtype=c.out_dtype())]


@op(*BINARY)
def binary(c: Ctx):
    got = shape_arithmetic(c)
    if got is not None:
        return got
    a, b = c.v(0), c.v(1)
    if c.type == "Div" and c.out_dtype().startswith("int"):
        return c.out(f"keras.ops.floor_divide({a}, {b})")
    return c.out(f"{BINARY[c.type]}({a}, {b})")


@op("TruncateDiv", "TruncateMod")
def truncate_div(c: Ctx):
    """C-style integer division (rounds toward zero), unlike FloorDiv / FloorMod."""
    a, b = c.v(0), c.v(1)
    q = f"keras.ops.cast(keras.ops.trunc(keras.ops.divide({a}, {b})), {c.out_dtype()!r})"
    if c.type == "TruncateDiv":
        return c.out(q)
    return c.out(f"keras.ops.subtract({a}, keras.ops.multiply({q}, {b}))")


@op("LeakyRelu")
def leaky_relu(c: Ctx):
    return c.out(f"keras.ops.leaky_relu({c.v(0)}, negative_slope={py_literal(float(c.attr('alpha', 0.2)))})")


@op("L2Loss")
def l2_loss(c: Ctx):
    return c.out(f"keras.ops.divide(keras.ops.sum(keras.ops.square({c.v(0)})), 2.0)")


@op("SquaredDifference")
def squared_difference(c: Ctx):
    return c.out(f"keras.ops.square(keras.ops.subtract({c.v(0)}, {c.v(1)}))")


@op("AddN")
def add_n(c: Ctx):
    return c.out(" + ".join(f"{c.v(i)}" for i in range(len(c.ins))) if len(c.ins) > 1 else c.v(0))


@op("Cast")
def cast(c: Ctx):
    if c.ins[0].parts is not None and c.out_dtype().startswith("int"):  # int32 <-> int64 shape: still a shape
        return [Sym(parts=list(c.ins[0].parts), shape=c.ins[0].shape, dtype=c.out_dtype())]
    return c.out(f"keras.ops.cast({c.v(0)}, {c.out_dtype()!r})")


@op("Select", "SelectV2")
def select(c: Ctx):
    cond, a, b = c.v(0), c.v(1), c.v(2)
    s0, s1 = c.ins[0].shape, c.ins[1].shape
    if c.type == "Select" and s0 is not None and s1 is not None and len(s0) == 1 and len(s1) > 1:
        cond = f"keras.ops.reshape({cond}, (-1,{' 1,' * (len(s1) - 1)}))"  # TF1 Select: a [B] condition picks rows
    return c.out(f"keras.ops.where({cond}, {a}, {b})")


@op("ClipByValue")
def clip_by_value(c: Ctx):
    return c.out(f"keras.ops.clip({c.v(0)}, {c.v(1)}, {c.v(2)})")
