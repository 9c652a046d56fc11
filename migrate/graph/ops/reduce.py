"""Reductions (`Sum`, `Mean`, ...), `ArgMax` / `ArgMin`, `TopKV2`, `Cumsum`."""

from __future__ import annotations

import numpy as np

from migrate.graph.ir import Sym, dim_op
from migrate.graph.ops import Ctx, op

REDUCE = {"Sum": "keras.ops.sum", "Mean": "keras.ops.mean", "Max": "keras.ops.max", "Min": "keras.ops.min",
          "Prod": "keras.ops.prod", "All": "keras.ops.all", "Any": "keras.ops.any"}


_SHAPE_REDUCE = {"Prod": "mul", "Sum": "add", "Max": "max", "Min": "min"}


@op(*REDUCE)
def reduction(c: Ctx):
    if c.type in _SHAPE_REDUCE and c.ins[0].parts is not None and c.ins[0].shape is not None and \
            len(c.ins[0].shape) == 1 and c.is_const(1) and [int(a) for a in c.const(1).reshape(-1)] in ([0], [-1]) \
            and not c.attr("keep_dims", c.attr("keepdims", False)):  # e.g. the product of sizes (Tensordot's reshape)
        parts = list(c.ins[0].parts)
        total = parts[0]
        for p in parts[1:]:
            total = dim_op(_SHAPE_REDUCE[c.type], total, p)
        if isinstance(total, int):
            return [Sym(const=np.asarray(total, dtype=c.out_dtype()), shape=(), dtype=c.out_dtype())]
        return [Sym(parts=[total], shape=(), dtype=c.out_dtype())]
    axes = c.const(1)
    axis = tuple(int(a) for a in axes.reshape(-1))
    keep = bool(c.attr("keep_dims", c.attr("keepdims", False)))
    ax = repr(axis[0]) if len(axis) == 1 else repr(axis)
    return c.out(f"{REDUCE[c.type]}({c.v(0)}, axis={ax}, keepdims={keep})")


@op("ArgMax", "ArgMin")
def argmax(c: Ctx):
    fn = "keras.ops.argmax" if c.type == "ArgMax" else "keras.ops.argmin"
    return c.out(f"keras.ops.cast({fn}({c.v(0)}, axis={int(c.const(1))}), {c.out_dtype()!r})")


@op("TopKV2")
def top_k(c: Ctx):
    k = int(c.const(1))
    syms = c.out(f"keras.ops.top_k({c.v(0)}, k={k}, sorted={bool(c.attr('sorted', True))})", n_out=2)
    return syms


@op("Cumsum")
def cumsum(c: Ctx):
    """`tf.cumsum(x, axis, exclusive, reverse)`: reverse sums from the end (flip, sum, flip back); exclusive leaves
    each element out of its own sum (the inclusive sum minus the element, as TF1 does it on floats and ints)."""
    axis = int(c.const(1))
    x = c.v(0)
    expr = f"keras.ops.flip({x}, axis={axis})" if c.attr("reverse") else x
    expr = f"keras.ops.cumsum({expr}, axis={axis})"
    if c.attr("exclusive"):
        expr = f"keras.ops.subtract({expr}, {f'keras.ops.flip({x}, axis={axis})' if c.attr('reverse') else x})"
    if c.attr("reverse"):
        expr = f"keras.ops.flip({expr}, axis={axis})"
    return c.out(expr)
