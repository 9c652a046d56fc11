"""The op table: one entry per TensorFlow graph op type -> the `keras.ops` / Keras layer code it becomes.

Each entry is a function `(c: Ctx) -> list[Sym]` registered with `@op("TypeName", ...)`, flat like
`keras/src/ops`: `elementwise.py` (unary / binary / comparison tables), `array.py` (shapes, slicing,
concatenation), `nn.py` (MatMul -> Dense, Gather -> Embedding, softmax, conv / pooling), `reduce.py`.
Adding an op is one function in one of them. `SUPPORTED` lists every type the table knows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from migrate.graph.ir import Emitter, Sym, Unsupported, literal

OPS: dict[str, Callable] = {}


def op(*types: str):
    def register(fn):
        for t in types:
            OPS[t] = fn
        return fn
    return register


class Ctx:
    """What an op entry sees: the TF op, its input Syms, the emitter and graph helpers."""

    def __init__(self, em: Emitter, tf_op, ins: list[Sym], graph):
        self.em, self.op, self.ins, self.graph = em, tf_op, ins, graph

    @property
    def type(self) -> str:
        return self.op.type

    def attr(self, name, default=None):
        try:
            return self.op.get_attr(name)
        except (ValueError, KeyError):
            return default

    def const(self, i: int) -> np.ndarray:
        s = self.ins[i]
        if s.const is not None:
            return np.asarray(s.const)
        if s.parts is not None and all(isinstance(p, (int, np.integer)) for p in s.parts):
            return np.asarray(s.parts, dtype=np.int64).reshape(s.shape if s.shape is not None else -1)
        raise Unsupported(f"input {i} must be known when converting (it depends on the model's inputs)")

    def is_const(self, i: int) -> bool:
        s = self.ins[i]
        return s.const is not None or (s.parts is not None and all(isinstance(p, (int, np.integer)) for p in s.parts))

    def shape_parts(self, i: int) -> list | None:
        """Input `i` as shape entries (ints, `Dim`, `Val`, `DimExpr`) when it is a shape value: a vector (or
        scalar) from shape arithmetic, or an int constant of rank <= 1; else None."""
        s = self.ins[i]
        if s.parts is not None:
            return list(s.parts)
        if s.const is not None and np.asarray(s.const).dtype.kind in "iu" and np.asarray(s.const).ndim <= 1:
            return [int(x) for x in np.asarray(s.const).reshape(-1)]
        return None

    def v(self, i: int) -> str:
        return self.em.value(self.ins[i])

    def out_shape(self, k: int = 0):
        t = self.op.outputs[k]
        return None if t.shape.rank is None else tuple(t.shape.as_list())

    def out_dtype(self, k: int = 0) -> str:
        return np.dtype(self.op.outputs[k].dtype.base_dtype.as_numpy_dtype).name

    def out(self, expr: str, n_out: int | None = None) -> list[Sym]:
        n = len(self.op.outputs) if n_out is None else n_out
        syms = self.em.emit(expr, self.op.name, shape=self.out_shape(0), dtype=self.out_dtype(0), n_out=n,
                            comment=f"{self.op.type} {self.op.name}")
        for k, s in enumerate(syms):
            if k < len(self.op.outputs):
                s.shape, s.dtype = self.out_shape(k), self.out_dtype(k)
        return syms

    def var_of(self, i: int) -> str | None:
        """The TF variable op whose value input `i` reads, or None."""
        return self.ins[i].tf_var

    def consumers(self, k: int = 0):
        return [c for c in self.op.outputs[k].consumers()]


def literal_of(value) -> str:
    return literal(np.asarray(value))


def axis_of(c: Ctx, i: int, rank: int | None = None) -> int:
    a = int(c.const(i))
    return a


# Register every module's entries.
from migrate.graph.ops import array, elementwise, fused_rnn, lookup, nn, reduce  # noqa: E402,F401

SUPPORTED = frozenset(OPS)

__all__ = ["OPS", "SUPPORTED", "Ctx", "Unsupported", "op"]
