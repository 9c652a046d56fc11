"""Shapes, slicing, joining: `Reshape`, `Transpose`, `ConcatV2`, `Split`, `StridedSlice`, `Pack`, ... -> keras.ops.

Shape arithmetic (`Shape` -> `StridedSlice` / `Unpack` / `Slice` -> `Mul` / `Add` ... -> `Pack` / `ConcatV2` ->
`Reshape` / `Fill` / `Tile` / `BroadcastTo`) is followed at conversion time: a `Shape` of a tensor with unknown
dimensions becomes a `Sym` with `parts`, one entry per element: an int, a `Dim` (a size of another tensor, known
only at run time), a `Val` (an int scalar tensor) or a `DimExpr` (arithmetic on those). An op that takes a shape
uses plain `keras.ops` when every entry is an int (or only one is not: it becomes -1 in a reshape), else a layer
of `tf_migrate_runtime.layers.shape` that evaluates the entries with `keras.ops.shape` when the model runs.
"""

from __future__ import annotations

import numpy as np

from migrate.graph.ir import (
    DefaultDoesNotFit,
    Dim,
    Sym,
    Unsupported,
    Val,
    defaults_upstream,
    dim_op,
    py_literal,
    shape_spec,
)
from migrate.graph.ops import Ctx, op


def _all_int(parts) -> bool:
    return all(isinstance(p, (int, np.integer)) for p in parts)


def _shape_sym(c: Ctx, parts, shape=None) -> Sym:
    """A shape value (the result of shape arithmetic): folded to a constant when every entry is known."""
    shape = (len(parts),) if shape is None else tuple(shape)
    if _all_int(parts):
        value = np.asarray([int(p) for p in parts], dtype=c.out_dtype()).reshape(shape)
        return Sym(const=value, shape=shape, dtype=c.out_dtype())
    return Sym(parts=list(parts), shape=shape, dtype=c.out_dtype())


def _runtime_shape(c: Ctx, i: int, what: str) -> list:
    """Input `i` (a shape) as entries; an int tensor that is no shape arithmetic becomes one `Val` per element."""
    parts = c.shape_parts(i)
    if parts is not None:
        if any(p is None for p in parts):
            raise Unsupported(f"{what} known only at run time that the converter could not follow")
        return parts
    s = c.ins[i]
    if s.shape is not None and len(s.shape) == 1 and s.shape[0] is not None and s.dtype.startswith("int"):
        v = c.v(i)  # an int vector computed from the model's values: each entry a scalar tensor
        return [Val(Sym(var=c.em.emit(f"{v}[{k}]", f"{c.op.name}_dim{k}", shape=(), dtype=s.dtype)[0].var,
                        shape=(), dtype=s.dtype)) for k in range(s.shape[0])]
    raise Unsupported(f"{what} of unknown length")


def _spec_call(c: Ctx, layer: str, parts, args: list[str], kwargs: str = "") -> list[Sym]:
    """`tfm.<layer>(spec, ...)(*args, *refs)`: a runtime-shape layer from `tf_migrate_runtime.layers.shape`."""
    spec, refs = shape_spec(parts)
    name = c.em.layer_name(c.op.name)
    call = ", ".join(args + [c.em.value(r) for r in refs])
    return c.out(f"tfm.{layer}({spec!r}{kwargs}, name={name!r})({call})")


@op("Shape")
def shape(c: Ctx):
    shp = c.ins[0].shape
    if shp is None:
        raise Unsupported("Shape of a tensor of unknown rank")
    src = c.ins[0]
    return [Sym(parts=[Dim(src, k) if d is None else int(d) for k, d in enumerate(shp)], shape=(len(shp),),
                dtype=c.out_dtype())]


@op("Size", "Rank")
def size(c: Ctx):
    shp = c.ins[0].shape
    if shp is not None and c.type == "Rank":
        return [Sym(const=np.asarray(len(shp), np.int32), shape=(), dtype="int32")]
    if shp is not None:  # the product of the sizes, followed like any shape arithmetic
        total = 1
        for k, d in enumerate(shp):
            total = dim_op("mul", total, Dim(c.ins[0], k) if d is None else int(d))
        return [_shape_sym(c, [total], shape=())]
    return c.out(f"keras.ops.cast(keras.ops.size({c.v(0)}), {c.out_dtype()!r})")


@op("Reshape")
def reshape(c: Ctx):
    src = c.ins[0]
    out_shape = c.out_shape()
    if src.parts is not None and out_shape is not None and len(out_shape) <= 1 and None not in out_shape and \
            int(np.prod(out_shape)) == len(src.parts):  # a shape vector <-> scalar: still shape arithmetic
        return [_shape_sym(c, src.parts, shape=out_shape)]
    if src.step_of is not None and src.shape is not None and len(src.shape) == 1 and out_shape is not None \
            and len(out_shape) == 1:   # reshape(ids_t, [-1]) of a step [B] (EmbeddingWrapper): the step itself
        return [src]
    if src.step_of is not None and src.shape is not None and len(src.shape) == 2 and out_shape is not None \
            and len(out_shape) == 3 and out_shape[1] == 1 and out_shape[2] == src.shape[1] is not None:
        # reshape(output_t, [-1, 1, H]) (legacy_seq2seq's attention states): step k with its time axis kept
        return [Sym(lazy=lambda: c.out(f"keras.ops.reshape({c.em.value(src)}, (-1, 1, {int(out_shape[2])}))")[0].var,
                    shape=out_shape, dtype=c.out_dtype(), piece_of=src.step_of, steps=src.steps)]
    dims = _runtime_shape(c, 1, "Reshape to a shape")
    unknown = [d for d in dims if not isinstance(d, (int, np.integer)) or d == -1]
    if len(unknown) <= 1:  # the one entry known only at run time is the one TF would infer: -1
        dims = [int(d) if isinstance(d, (int, np.integer)) else -1 for d in dims]
        return c.out(f"keras.ops.reshape({c.v(0)}, {tuple(dims)!r})")
    return _spec_call(c, "DynamicReshape", dims, [c.v(0)])


@op("ShapeN")
def shape_n(c: Ctx):
    out = []
    for _k, src in enumerate(c.ins):
        if src.shape is None:
            raise Unsupported("ShapeN of a tensor of unknown rank")
        out.append(_shape_sym(c, [Dim(src, a) if d is None else int(d) for a, d in enumerate(src.shape)]))
    return out


@op("Pad", "PadV2", "MirrorPad")
def pad(c: Ctx):
    widths = tuple(tuple(int(v) for v in row) for row in c.const(1).reshape(-1, 2))
    if c.type == "MirrorPad":
        mode = {b"REFLECT": "reflect", b"SYMMETRIC": "symmetric"}[c.attr("mode")]
        return c.out(f"keras.ops.pad({c.v(0)}, {widths!r}, mode={mode!r})")
    if c.type == "PadV2":
        if not c.is_const(2):
            raise Unsupported("PadV2 with a padding value known only at run time")
        return c.out(f"keras.ops.pad({c.v(0)}, {widths!r}, constant_values={py_literal(np.asarray(c.const(2)).item())})")
    return c.out(f"keras.ops.pad({c.v(0)}, {widths!r})")


@op("Transpose")
def transpose(c: Ctx):
    perm = tuple(int(p) for p in c.const(1))
    return c.out(f"keras.ops.transpose({c.v(0)}, {perm!r})")


@op("ConcatV2", "Concat")
def concat(c: Ctx):
    if c.type == "Concat":
        axis, vals = int(c.const(0)), range(1, len(c.ins))
    else:
        axis, vals = int(c.const(len(c.ins) - 1)), range(len(c.ins) - 1)
    if all(c.is_const(i) for i in vals):
        value = np.concatenate([c.const(i) for i in vals], axis=axis).astype(c.out_dtype())
        return [Sym(const=value, shape=value.shape, dtype=c.out_dtype())]
    if all(c.shape_parts(i) is not None for i in vals) and c.out_dtype().startswith("int") and \
            any(c.ins[i].parts is not None for i in vals) and all(c.ins[i].shape is not None and
                                                                 len(c.ins[i].shape) == 1 for i in vals):
        parts = []  # tf.concat([[tf.shape(x)[0]], [128]], 0): a shape
        for i in vals:
            parts += c.shape_parts(i)
        return [_shape_sym(c, parts)]
    _check_concat(c, vals, axis)
    vals = list(vals)
    shp = c.out_shape()
    if axis == 1 and _whole_sequence(c, vals, "piece_of") is not None:   # the pieces of a split, rejoined
        return [_whole_sequence(c, vals, "piece_of")]
    whole = _whole_sequence(c, vals, "step_of")
    if whole is not None and shp is not None and len(shp) == 2 and axis in (1, -1) and shp[1] is not None:
        # concat(outputs, 1) of a sequence's steps [B, H]: the sequence [B, T, H] as [B, T * H]
        return c.out(f"keras.ops.reshape({c.em.value(whole)}, (-1, {int(shp[1])}))")
    return c.out(f"keras.ops.concatenate([{', '.join(c.v(i) for i in vals)}], axis={axis})")


def _check_concat(c: Ctx, vals, axis: int) -> None:
    """Inputs whose known sizes differ off the concat axis: the TF1 graph fails here too (it can only run with
    other values fed); say so and name the placeholders with a default on the way, the usual cause."""
    shapes = [c.ins[i].shape for i in vals]
    if any(s is None for s in shapes) or len({len(s) for s in shapes}) != 1:
        return
    rank = len(shapes[0])
    ax = axis % rank if rank else 0
    for k in range(rank):
        sizes = {s[k] for s in shapes if s[k] is not None}
        if k != ax and len(sizes) > 1:
            defaults = defaults_upstream(c.op)
            hint = (f" The default value of {', '.join(defaults[:4])} is used here (a PlaceholderWithDefault not fed); "
                    f"the TF1 graph runs only when it is fed: pass a value of the right size in --inputs FEED.npz "
                    f"(key {defaults[0]}) and it becomes an input of the model." if defaults else "")
            message = (f"its inputs have shapes {', '.join(str(list(s)) for s in shapes)}, which differ on axis {k}: "
                       f"TensorFlow fails on this concatenation as well.{hint}")
            if defaults:
                raise DefaultDoesNotFit(message, [d.split(":")[0] for d in defaults])
            raise Unsupported(message)


@op("Pack")
def pack(c: Ctx):
    axis = int(c.attr("axis", 0))
    if all(c.is_const(i) for i in range(len(c.ins))):  # known once shape arithmetic is followed
        value = np.stack([c.const(i) for i in range(len(c.ins))], axis=axis).astype(c.out_dtype())
        return [Sym(const=value, shape=value.shape, dtype=c.out_dtype())]
    if axis in (0, -1) and all(s.shape == () for s in c.ins) and c.out_dtype().startswith("int") and \
            any(s.parts is not None for s in c.ins):  # tf.stack([tf.shape(x)[0], n, 7]): a shape
        parts = []
        for i, s in enumerate(c.ins):
            p = c.shape_parts(i)
            parts.append(p[0] if p is not None and len(p) == 1 else Val(s))
        return [_shape_sym(c, parts)]
    whole = _whole_sequence(c, range(len(c.ins)), "step_of")
    if whole is not None and axis in (1, 0):   # tf.stack(steps, axis=1): the sequence they were taken from
        if axis == 1:
            return [whole]
        rank = len(c.out_shape()) if c.out_shape() is not None else None
        if rank is not None:   # tf.stack(steps) (time-major): one transpose of the sequence
            perm = (1, 0) + tuple(range(2, rank))
            return c.out(f"keras.ops.transpose({c.em.value(whole)}, {perm!r})")
    return c.out(f"keras.ops.stack([{', '.join(c.v(i) for i in range(len(c.ins)))}], axis={axis})")


def _whole_sequence(c: Ctx, vals, kind: str) -> Sym | None:
    """When inputs `vals` are steps 0..n-1 (`kind` "step_of": `seq[:, k]`; "piece_of": `seq[:, k:k + 1]`) of one
    batch-major sequence of exactly n steps, in order: that sequence (a Sym of its variable), else None. The per-step
    round trip an unrolled RNN writes around itself (split / unstack -> steps -> stack / concat) is the sequence."""
    tags = [getattr(c.ins[i], kind) for i in vals]
    n = len(tags)
    if n < 2 or any(t is None for t in tags) or len({t[0] for t in tags}) != 1 \
            or [t[1] for t in tags] != list(range(n)) or any(c.ins[i].steps != n for i in vals):
        return None
    seq = tags[0][0]
    return Sym(lazy=lambda: c.em.sequence(seq), shape=None, dtype=c.ins[vals[0]].dtype)


def _deferred(c: Ctx, expr: str, n: int, kind: str | None = None, seq: str | None = None) -> list[Sym]:
    """The `n` outputs of `expr` (one line unpacking them), written only when one of them is first used; with
    `kind` ("step_of" / "piece_of"), each output k tagged as step k of the batch-major sequence `seq`."""
    syms: list[Sym] = []

    def write(k):
        if syms[k].var is None:
            made = c.out(expr, n_out=n)
            for s, m in zip(syms, made):
                s.var, s.lazy = m.var, None
        return syms[k].var

    for k in range(n):
        tag = {kind: (seq, k), "steps": n} if kind else {}
        syms.append(Sym(lazy=(lambda k=k: write(k)), shape=c.out_shape(k), dtype=c.out_dtype(k), **tag))
    return syms


def _time_steps(c: Ctx, i: int, axis: int, num: int) -> bool:
    """Whether input `i` is a batch-major sequence cut along its time axis (1) into `num` single steps."""
    shp = c.ins[i].shape
    return axis == 1 and shp is not None and len(shp) >= 2 and shp[1] == num and num >= 2


@op("Unpack")
def unpack(c: Ctx):
    axis, num = int(c.attr("axis", 0)), int(c.attr("num"))
    if c.ins[0].parts is not None and len(c.ins[0].parts) == num:  # tf.unstack(tf.shape(x)): its entries
        return [_shape_sym(c, [p], shape=()) for p in c.ins[0].parts]
    if num == 1:   # tf.unstack of a size-1 axis: one tensor, not a list of one
        return c.out(f"keras.ops.squeeze({c.v(0)}, axis={axis})")
    if _time_steps(c, 0, axis, num):   # written only if a step is used on its own (not by a stack / an RNN layer)
        return _deferred(c, f"keras.ops.unstack({c.v(0)}, num={num}, axis={axis})", num, "step_of", c.v(0))
    return c.out(f"keras.ops.unstack({c.v(0)}, num={num}, axis={axis})", n_out=num)


@op("Split")
def split(c: Ctx):
    axis, num = int(c.const(0)), int(c.attr("num_split"))
    if num == 1:
        return [c.ins[1]]
    if _time_steps(c, 1, axis, num):   # written only if a piece is used on its own (not by squeeze -> an RNN layer)
        return _deferred(c, f"keras.ops.split({c.v(1)}, {num}, axis={axis})", num, "piece_of", c.v(1))
    return c.out(f"keras.ops.split({c.v(1)}, {num}, axis={axis})", n_out=num)


@op("SplitV")
def split_v(c: Ctx):
    sizes = [int(s) for s in c.const(1)]
    axis = int(c.const(2))
    if -1 in sizes:
        raise Unsupported("SplitV with a -1 size")
    if len(sizes) == 1:   # one piece: the tensor itself
        return [c.ins[0]]
    cuts = list(np.cumsum(sizes)[:-1])
    return c.out(f"keras.ops.split({c.v(0)}, {[int(x) for x in cuts]!r}, axis={axis})", n_out=len(sizes))


# The masks of a `StridedSlice` (tf.Tensor.__getitem__), one bit per entry of `begin` / `end` / `strides`, in the
# order TensorFlow reads them: an entry that is the ellipsis is nothing else; a new axis ignores its begin, end and
# shrink bits; a shrunk axis is the index `begin` (its end and stride unused); else a slice whose begin / end bit
# says "from the start" / "to the end" (the begin / end value is then ignored, whatever it holds).
_FULL = slice(None, None, 1)


def _strided_keys(c: Ctx) -> list:
    """The Python index a `StridedSlice` is: a list of `...`, None, ints and slices (as numpy reads them)."""
    begin, end, strides = (c.const(i).reshape(-1).tolist() for i in (1, 2, 3))
    if not len(begin) == len(end) == len(strides):
        raise Unsupported(f"StridedSlice with begin, end and strides of lengths {len(begin)}, {len(end)}, "
                          f"{len(strides)} (TensorFlow requires one length)")
    bm, em_, elm, nam, sam = (int(c.attr(k, 0) or 0) for k in
                              ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"))
    keys: list = []
    for k in range(len(begin)):
        if elm >> k & 1:
            keys.append(Ellipsis)
        elif nam >> k & 1:
            keys.append(None)
        elif sam >> k & 1:
            keys.append(int(begin[k]))
        else:
            if int(strides[k]) == 0:
                raise Unsupported("StridedSlice with a stride of 0 (TensorFlow refuses it)")
            keys.append(slice(None if bm >> k & 1 else int(begin[k]), None if em_ >> k & 1 else int(end[k]),
                              int(strides[k])))
    if keys.count(Ellipsis) > 1:
        raise Unsupported("StridedSlice with two ellipses (TensorFlow refuses it)")
    return _implicit_dropped(keys)


def _implicit_dropped(keys: list) -> list:
    """Without the trailing full slices and ellipsis, implicit as in numpy (`x[1, :, ...]` is `x[1]`)."""
    keys = list(keys)
    while keys and (keys[-1] is Ellipsis or keys[-1] == _FULL):
        keys.pop()
    return keys


def _flips(keys: list) -> tuple[list, list[int]]:
    """Negative strides as a flip first (`torch` slices with positive steps only): `x[b:e:-s]` on axis `a` is
    `flip(x, a)[-1-b:-1-e:s]` (a missing bound stays missing), whatever the axis' length. Returns the keys with
    positive steps and the axes to flip (counted from the end after an ellipsis)."""
    out, axes = [], []
    after = keys.index(Ellipsis) if Ellipsis in keys else len(keys)
    dims_after = [k for k in keys[after + 1:] if k is not None]
    axis = 0
    for k in keys:
        if k is Ellipsis or k is None:
            out.append(k)
            if k is Ellipsis:
                axis = -len(dims_after)
            continue
        if isinstance(k, slice) and k.step < 0:
            axes.append(axis)
            k = slice(None if k.start is None else -1 - k.start, None if k.stop is None else -1 - k.stop, -k.step)
        out.append(k)
        axis += 1
    return out, axes


def _index_source(keys: list) -> str:
    def one(k) -> str:
        if k is Ellipsis:
            return "..."
        if k is None or isinstance(k, int):
            return str(k)
        text = f"{'' if k.start is None else k.start}:{'' if k.stop is None else k.stop}"
        return text + ("" if k.step == 1 else f":{k.step}")

    items = [one(k) for k in keys]
    if len(keys) == 1 and not isinstance(keys[0], int):   # Keras takes a tuple (or an int), never a bare slice
        items.append("...")
    return ", ".join(items)


@op("StridedSlice")
def strided_slice(c: Ctx):
    keys = _strided_keys(c)
    src = c.ins[0]
    if src.parts is not None:  # slicing a shape vector: the result stays shape arithmetic
        picked = [k for k in keys if k is not Ellipsis]
        if not picked:
            return [src]
        if len(picked) == 1 and picked[0] is not None:
            try:
                sel = src.parts[picked[0]]
            except IndexError:
                raise Unsupported(f"StridedSlice index {picked[0]} of a shape of {len(src.parts)} entries") from None
            if isinstance(sel, list):
                return [_shape_sym(c, sel)]
            return [_shape_sym(c, [sel], shape=())]
    if not keys:  # every entry a full slice: the value itself, like Identity
        return [src]
    keys, axes = _flips(keys)
    value = c.v(0)
    if axes:
        value = f"keras.ops.flip({value}, axis={axes[0] if len(axes) == 1 else tuple(axes)!r})"
    keys = _implicit_dropped(keys)
    return c.out(f"{value}[{_index_source(keys)}]" if keys else value)


@op("Slice")
def slice_(c: Ctx):
    begin = [int(b) for b in c.const(1)]
    size = [int(s) for s in c.const(2)]
    if c.ins[0].parts is not None and len(begin) == 1:  # a piece of a shape vector
        b = begin[0]
        picked = c.ins[0].parts[b:] if size[0] == -1 else c.ins[0].parts[b:b + size[0]]
        return [_shape_sym(c, picked)]
    items = [f"{b}:" if s == -1 else f"{b}:{b + s}" for b, s in zip(begin, size)]
    return c.out(f"{c.v(0)}[{', '.join(items)}]")


@op("ExpandDims")
def expand_dims(c: Ctx):
    if c.ins[0].parts is not None and c.ins[0].shape == ():  # a size made a 1-entry shape vector
        return [_shape_sym(c, c.ins[0].parts, shape=(1,))]
    src, axis = c.ins[0], int(c.const(1))
    if src.step_of is not None and axis == 1:   # step k back as `seq[:, k:k + 1]` (a concat of all: the sequence)
        return [Sym(lazy=lambda: c.out(f"keras.ops.expand_dims({c.em.value(src)}, 1)")[0].var, shape=c.out_shape(),
                    dtype=c.out_dtype(), piece_of=src.step_of, steps=src.steps)]
    return c.out(f"keras.ops.expand_dims({c.v(0)}, {axis})")


@op("Squeeze")
def squeeze(c: Ctx):
    if c.ins[0].parts is not None and len(c.ins[0].parts) == 1 and c.out_shape() == ():  # shape [1] -> a size
        return [_shape_sym(c, c.ins[0].parts, shape=())]
    dims = list(c.attr("squeeze_dims", []) or c.attr("axis", []) or [])
    src = c.ins[0]
    if src.piece_of is not None and [int(d) for d in dims] == [1]:   # the piece `seq[:, k:k + 1]` -> step k
        return [Sym(lazy=lambda: c.out(f"keras.ops.squeeze({c.em.value(src)}, axis=1)")[0].var, shape=c.out_shape(),
                    dtype=c.out_dtype(), step_of=src.piece_of, steps=src.steps)]
    if not dims:
        return c.out(f"keras.ops.squeeze({c.v(0)})")
    ax = int(dims[0]) if len(dims) == 1 else tuple(int(d) for d in dims)
    return c.out(f"keras.ops.squeeze({c.v(0)}, axis={ax!r})")


@op("Tile")
def tile(c: Ctx):
    reps = _runtime_shape(c, 1, "Tile by counts")
    if _all_int(reps):
        return c.out(f"keras.ops.tile({c.v(0)}, {tuple(int(r) for r in reps)!r})")
    return _spec_call(c, "Tile", reps, [c.v(0)])


@op("Fill")
def fill(c: Ctx):
    """`tf.fill` / `tf.zeros(shape)` / `tf.ones(shape)`; a shape known only at run time (a zero state sized by
    the batch of an input) -> `tfm.Fill`, whose fill value is a constant of its config or a scalar tensor."""
    dims = _runtime_shape(c, 0, "Fill of a shape")
    if _all_int(dims):
        return c.out(f"keras.ops.full({tuple(int(d) for d in dims)!r}, {c.v(1)}, dtype={c.out_dtype()!r})")
    value = c.ins[1]
    if value.const is not None and np.asarray(value.const).size == 1:
        v = np.asarray(value.const).reshape(()).item()
        return _spec_call(c, "Fill", dims, [], f", value={py_literal(v)}, dtype_name={c.out_dtype()!r}")
    spec, refs = shape_spec(dims)
    name = c.em.layer_name(c.op.name)
    return c.out(f"tfm.Fill({spec!r}, dtype_name={c.out_dtype()!r}, name={name!r})"
                 f"({', '.join(c.em.value(r) for r in refs)}, value={c.v(1)})")


@op("BroadcastTo")
def broadcast_to(c: Ctx):
    dims = _runtime_shape(c, 1, "BroadcastTo a shape")
    if _all_int(dims):
        return c.out(f"keras.ops.broadcast_to({c.v(0)}, {tuple(int(d) for d in dims)!r})")
    return _spec_call(c, "BroadcastTo", dims, [c.v(0)])


@op("Range")
def range_(c: Ctx):
    limit = c.shape_parts(1)
    if limit is not None and len(limit) == 1 and c.ins[1].shape == () and not c.is_const(1) and \
            c.is_const(0) and c.is_const(2):  # tf.range(tf.shape(x)[1]): the limit read as a size at run time
        spec, refs = shape_spec(limit)
        name = c.em.layer_name(c.op.name)
        start, delta = int(c.const(0)), int(c.const(2))
        return c.out(f"tfm.Range(dtype_name={c.out_dtype()!r}, limit={spec[0]!r}, name={name!r})"
                     f"({', '.join(c.em.value(r) for r in refs)}, start={start}, delta={delta})")
    if not all(c.is_const(i) for i in range(3)):  # bounds known only at run time: a layer
        name = c.em.layer_name(c.op.name)
        return c.out(f"tfm.Range(dtype_name={c.out_dtype()!r}, name={name!r})({c.v(1)}, start={c.v(0)}, "
                     f"delta={c.v(2)})")
    return c.out(f"keras.ops.arange({c.v(0)}, {c.v(1)}, {c.v(2)}, dtype={c.out_dtype()!r})")


@op("ReverseV2")
def reverse(c: Ctx):
    axes = [int(a) for a in c.const(1).reshape(-1)]
    return c.out(f"keras.ops.flip({c.v(0)}, axis={axes[0] if len(axes) == 1 else tuple(axes)!r})")


@op("ReverseSequence")
def reverse_sequence(c: Ctx):
    seq_axis, batch_axis = int(c.attr("seq_dim")), int(c.attr("batch_dim", 0))
    name = c.em.layer_name(c.op.name)
    return c.out(f"tfm.ReverseSequence(seq_axis={seq_axis}, batch_axis={batch_axis}, name={name!r})"
                 f"({c.v(0)}, {c.v(1)})")


@op("OneHot")
def one_hot(c: Ctx):
    depth = int(c.const(1))
    on, off = c.v(2), c.v(3)
    axis = int(c.attr("axis", -1))
    hot = f"keras.ops.one_hot({c.v(0)}, {depth}, axis={axis}, dtype='bool')"
    dt = c.out_dtype()
    if c.is_const(2) and c.is_const(3) and dt == "bool" and bool(c.const(2)) != bool(c.const(3)):
        return c.out(hot if bool(c.const(2)) else f"keras.ops.logical_not({hot})")
    if c.is_const(2) and c.is_const(3) and float(c.const(2)) == 1 and float(c.const(3)) == 0:
        return c.out(f"keras.ops.one_hot({c.v(0)}, {depth}, axis={axis}, dtype={dt!r})")
    # a where, not `hot * (on - off) + off`: beam search's off value is -inf (inf - inf would be NaN)
    return c.out(f"keras.ops.cast(keras.ops.where({hot}, {on}, {off}), {dt!r})")


def _batch_gather(c: Ctx, axis: int, batch_dims: int):
    """`GatherV2` with `batch_dims` = b: out[i_0..i_b-1, j...] = params[i_0..i_b-1, indices[i_0..i_b-1, j...]] along
    `axis`. When the indices have params' rank and `axis` is their last batch axis + 1 that is
    `take_along_axis`; other forms are not in the table."""
    pr = len(c.ins[0].shape) if c.ins[0].shape is not None else None
    ir = len(c.ins[1].shape) if c.ins[1].shape is not None else None
    if batch_dims < 0 and ir is not None:
        batch_dims += ir
    if axis < 0 and pr is not None:
        axis += pr
    if pr is None or ir is None or not (axis == batch_dims and ir == batch_dims + 1 and pr == axis + 1):
        raise Unsupported(f"GatherV2 with batch_dims={batch_dims}, axis={axis} on ranks {pr} / {ir}")
    return c.out(f"keras.ops.take_along_axis({c.v(0)}, keras.ops.cast({c.v(1)}, 'int32'), axis={axis})")


@op("GatherV2", "Gather", "ResourceGather")
def gather(c: Ctx):
    axis = int(c.const(2)) if c.type == "GatherV2" else 0
    batch_dims = int(c.attr("batch_dims", 0) or 0)
    if batch_dims:   # tf.gather(..., batch_dims=b): per batch row (beam search's parent pointers)
        return _batch_gather(c, axis, batch_dims)
    if c.ins[0].parts is not None and c.is_const(1) and axis == 0:  # picking dimensions of a shape
        idx = c.const(1)
        picked = [c.ins[0].parts[int(i)] for i in idx.reshape(-1)]
        return [Sym(parts=picked, shape=tuple(idx.shape), dtype=c.out_dtype())]
    params_var = c.var_of(0)
    if params_var is not None and axis == 0:
        value = c.em.variable_values(params_var)
        if value.ndim == 2:
            layer = c.em.shared_layer(("embedding", params_var), params_var,
                                      lambda n: f"keras.layers.Embedding({value.shape[0]}, {value.shape[1]}, name={n!r})",
                                      [value], "keras.layers.Embedding", f"tf.Variable {params_var}",
                                      holds=[("embedding", (params_var,))])
            c.em.constructs["embedding_lookup -> keras.layers.Embedding"] += 1
            ids = c.ins[1]
            if ids.step_of is not None and ids.steps and ids.shape is not None and len(ids.shape) == 1:
                return [_step_lookup(c, layer, ids)]
            return c.out(f"{layer}({c.v(1)})")
    return c.out(f"keras.ops.take({c.v(0)}, {c.v(1)}, axis={axis})")


def _step_lookup(c: Ctx, layer: str, ids: Sym) -> Sym:
    """Step k of one lookup of the whole id sequence (`layer(seq)` [B, T, E], written once, when first used) for
    the lookup of step k's ids: an unrolled model's per-step lookups of one embedding (legacy_seq2seq's
    `EmbeddingWrapper`, `embedding_attention_decoder`) become one, and a stack of them that sequence."""
    em, (seq, k) = c.em, ids.step_of
    key = ("step_lookup", layer, seq)
    whole = em._layers.get(key)
    if whole is None:
        whole = em.new_ident(f"{layer}_of_{seq}")
        em.pending[whole] = lambda: em.line(f"{whole} = {layer}({em.sequence(seq)})",
                                            "one lookup of every step's ids (the graph looks each step up alone)")
        em._layers[key] = whole
    return Sym(lazy=lambda: em.emit(f"{em.sequence(whole)}[:, {k}]", f"{c.op.name}")[0].var, shape=c.out_shape(),
               dtype=c.out_dtype(), step_of=(whole, k), steps=ids.steps)


@op("Where")
def where(c: Ctx):
    """`tf.where(condition)` (one argument; `boolean_mask`'s indices) -> `tfm.Where`: the coordinates of the true
    (non-zero) elements, int64 [N, rank], N known only at run time: runs on TensorFlow, PyTorch and eagerly on
    JAX; under `jax.jit` the layer refuses, naming the op (tf_migrate_runtime/layers/where.py)."""
    if len(c.ins) != 1:
        raise Unsupported("Where with more than one input (the select form is SelectV2)")
    if c.ins[0].shape is None:
        raise Unsupported("Where of a tensor of unknown rank (the rank is the width of its output)")
    return c.out(f"tfm.Where(name={c.em.layer_name(c.op.name)!r})({c.v(0)})")
