"""Elementwise ops: one table row per TF op type -> the `keras.ops` function (TF semantics noted where they differ)."""

from __future__ import annotations

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
}

BINARY = {
    "Add": "keras.ops.add", "AddV2": "keras.ops.add", "Sub": "keras.ops.subtract", "Mul": "keras.ops.multiply",
    "RealDiv": "keras.ops.divide", "Div": "keras.ops.divide", "DivNoNan": "keras.ops.divide_no_nan",
    "FloorDiv": "keras.ops.floor_divide", "FloorMod": "keras.ops.mod", "Maximum": "keras.ops.maximum",
    "Minimum": "keras.ops.minimum", "Pow": "keras.ops.power",
    "Equal": "keras.ops.equal", "NotEqual": "keras.ops.not_equal", "Less": "keras.ops.less",
    "LessEqual": "keras.ops.less_equal", "Greater": "keras.ops.greater", "GreaterEqual": "keras.ops.greater_equal",
    "LogicalAnd": "keras.ops.logical_and", "LogicalOr": "keras.ops.logical_or",
}


@op(*UNARY)
def unary(c: Ctx):
    fn = UNARY[c.type]
    if fn is None:  # Identity and friends: the same value, no line written
        return [c.ins[0]]
    return c.out(f"{fn}({c.v(0)})")


@op(*BINARY)
def binary(c: Ctx):
    a, b = c.v(0), c.v(1)
    if c.type == "Div" and c.out_dtype().startswith("int"):
        return c.out(f"keras.ops.floor_divide({a}, {b})")
    return c.out(f"{BINARY[c.type]}({a}, {b})")


@op("SquaredDifference")
def squared_difference(c: Ctx):
    return c.out(f"keras.ops.square(keras.ops.subtract({c.v(0)}, {c.v(1)}))")


@op("AddN")
def add_n(c: Ctx):
    return c.out(" + ".join(f"{c.v(i)}" for i in range(len(c.ins))) if len(c.ins) > 1 else c.v(0))


@op("Cast")
def cast(c: Ctx):
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
