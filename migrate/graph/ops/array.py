"""Shapes, slicing, joining: `Reshape`, `Transpose`, `ConcatV2`, `Split`, `StridedSlice`, `Pack`, ... -> keras.ops.

Shape arithmetic (`Shape` -> `StridedSlice` -> `Pack` -> `Reshape`) is followed at conversion time: a `Shape` of
a tensor with unknown dimensions becomes a `Sym` with `parts` (None = known only at run time), and `Reshape` /
`Fill` / `Tile` accept such a vector when at most one entry is unknown (it becomes -1) or it is a batch size.
"""

from __future__ import annotations

import numpy as np

from migrate.graph.ir import Dim, Sym, Unsupported
from migrate.graph.ops import Ctx, op


def _parts(c: Ctx, i: int) -> list:
    s = c.ins[i]
    if s.parts is not None:
        return list(s.parts)
    return [int(x) for x in c.const(i).reshape(-1)]


def _known_parts(c: Ctx, i: int, what: str) -> list:
    """`_parts` where every part must be known when converting; else `Unsupported("<what> known only at run time")`."""
    parts = _parts(c, i)
    if any(p is None for p in parts):
        raise Unsupported(f"{what} known only at run time")
    return parts


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
    return c.out(f"keras.ops.cast(keras.ops.size({c.v(0)}), {c.out_dtype()!r})")


@op("Reshape")
def reshape(c: Ctx):
    dims = _parts(c, 1)
    unknown = [d for d in dims if not isinstance(d, int) or d == -1]
    if len(unknown) <= 1:
        dims = [d if isinstance(d, int) else -1 for d in dims]
        return c.out(f"keras.ops.reshape({c.v(0)}, {tuple(dims)!r})")
    if any(d is None for d in unknown) or -1 in dims and len(unknown) > 2:
        raise Unsupported("Reshape to a shape with more than one dimension known only at run time")
    refs, spec = [], []
    for d in dims:
        if isinstance(d, Dim):
            if d.sym not in refs:
                refs.append(d.sym)
            spec.append([refs.index(d.sym), d.axis])
        else:
            spec.append(int(d))
    name = c.em.layer_name(c.op.name)
    return c.out(f"tfm.DynamicReshape({spec!r}, name={name!r})({c.v(0)}, {', '.join(c.em.value(r) for r in refs)})")


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
    if all(c.ins[i].parts is not None or c.ins[i].const is not None for i in vals) and c.out_shape() is not None \
            and len(c.out_shape()) == 1 and c.out_dtype().startswith("int") and any(c.ins[i].parts is not None
                                                                                   for i in vals):
        parts = []
        for i in vals:
            parts += _parts(c, i)
        return [Sym(parts=parts, shape=(len(parts),), dtype=c.out_dtype())]
    return c.out(f"keras.ops.concatenate([{', '.join(c.v(i) for i in vals)}], axis={axis})")


@op("Pack")
def pack(c: Ctx):
    axis = int(c.attr("axis", 0))
    if all(c.is_const(i) for i in range(len(c.ins))):  # known once shape arithmetic is followed
        value = np.stack([c.const(i) for i in range(len(c.ins))], axis=axis).astype(c.out_dtype())
        return [Sym(const=value, shape=value.shape, dtype=c.out_dtype())]
    if axis == 0 and all(s.shape == () for s in c.ins) and c.out_dtype().startswith("int") and \
            any(s.parts is not None for s in c.ins):
        parts = []
        for s in c.ins:
            if s.const is not None:
                parts.append(int(s.const))
            elif s.parts is not None and len(s.parts) == 1 and s.shape in ((), None):
                parts.append(s.parts[0])
            else:
                parts.append(None)
        return [Sym(parts=parts, shape=(len(parts),), dtype=c.out_dtype())]
    return c.out(f"keras.ops.stack([{', '.join(c.v(i) for i in range(len(c.ins)))}], axis={axis})")


@op("Unpack")
def unpack(c: Ctx):
    axis, num = int(c.attr("axis", 0)), int(c.attr("num"))
    return c.out(f"keras.ops.unstack({c.v(0)}, num={num}, axis={axis})", n_out=num)


@op("Split")
def split(c: Ctx):
    axis, num = int(c.const(0)), int(c.attr("num_split"))
    if num == 1:
        return [c.ins[1]]
    return c.out(f"keras.ops.split({c.v(1)}, {num}, axis={axis})", n_out=num)


@op("SplitV")
def split_v(c: Ctx):
    sizes = [int(s) for s in c.const(1)]
    axis = int(c.const(2))
    if -1 in sizes:
        raise Unsupported("SplitV with a -1 size")
    cuts = list(np.cumsum(sizes)[:-1])
    return c.out(f"keras.ops.split({c.v(0)}, {[int(x) for x in cuts]!r}, axis={axis})", n_out=len(sizes))


def _slice_parts_of_shape(c: Ctx, begin, end, strides):
    """StridedSlice / Slice on a shape vector: stay in `parts`."""
    src = c.ins[0].parts
    return src[slice(begin, end, strides)]


@op("StridedSlice")
def strided_slice(c: Ctx):
    begin, end, strides = (c.const(i).reshape(-1).tolist() for i in (1, 2, 3))
    bm, em_, elm, nam, sam = (int(c.attr(k, 0)) for k in
                              ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"))
    items = []
    for k in range(len(begin)):
        if elm >> k & 1:
            items.append("...")
        elif nam >> k & 1:
            items.append("None")
        elif sam >> k & 1:
            items.append(str(int(begin[k])))
        else:
            b = "" if bm >> k & 1 else str(int(begin[k]))
            e = "" if em_ >> k & 1 else str(int(end[k]))
            s = "" if int(strides[k]) == 1 else f":{int(strides[k])}"
            items.append(f"{b}:{e}{s}")
    src = c.ins[0]
    if src.parts is not None and len(items) == 1:  # slicing a shape vector
        sel = eval(f"src.parts[{items[0]}]", {"src": src})  # noqa: S307 - items built above from ints only
        if isinstance(sel, list):
            return [Sym(parts=sel, shape=(len(sel),), dtype=c.out_dtype())]
        if not isinstance(sel, int):
            return [Sym(parts=[sel], shape=(), dtype=c.out_dtype())]
        return [Sym(const=np.asarray(sel, dtype=c.out_dtype()), shape=(), dtype=c.out_dtype())]
    return c.out(f"{c.v(0)}[{', '.join(items)}]")


@op("Slice")
def slice_(c: Ctx):
    begin = [int(b) for b in c.const(1)]
    size = [int(s) for s in c.const(2)]
    items = [f"{b}:" if s == -1 else f"{b}:{b + s}" for b, s in zip(begin, size)]
    return c.out(f"{c.v(0)}[{', '.join(items)}]")


@op("ExpandDims")
def expand_dims(c: Ctx):
    return c.out(f"keras.ops.expand_dims({c.v(0)}, {int(c.const(1))})")


@op("Squeeze")
def squeeze(c: Ctx):
    dims = list(c.attr("squeeze_dims", []) or c.attr("axis", []) or [])
    if not dims:
        return c.out(f"keras.ops.squeeze({c.v(0)})")
    ax = int(dims[0]) if len(dims) == 1 else tuple(int(d) for d in dims)
    return c.out(f"keras.ops.squeeze({c.v(0)}, axis={ax!r})")


@op("Tile")
def tile(c: Ctx):
    reps = _known_parts(c, 1, "Tile by a count")
    return c.out(f"keras.ops.tile({c.v(0)}, {tuple(reps)!r})")


@op("Fill")
def fill(c: Ctx):
    dims = _known_parts(c, 0, "Fill of a shape")
    return c.out(f"keras.ops.full({tuple(dims)!r}, {c.v(1)}, dtype={c.out_dtype()!r})")


@op("BroadcastTo")
def broadcast_to(c: Ctx):
    dims = _known_parts(c, 1, "BroadcastTo a shape")
    return c.out(f"keras.ops.broadcast_to({c.v(0)}, {tuple(dims)!r})")


@op("Range")
def range_(c: Ctx):
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
    return c.out(f"keras.ops.one_hot({c.v(0)}, {depth}, axis={axis}, dtype={c.out_dtype()!r}) * ({on} - {off}) + {off}")


@op("GatherV2", "Gather", "ResourceGather")
def gather(c: Ctx):
    axis = int(c.const(2)) if c.type == "GatherV2" else 0
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
                                      [value], "keras.layers.Embedding", f"tf.Variable {params_var}")
            c.em.constructs["embedding_lookup -> keras.layers.Embedding"] += 1
            return c.out(f"{layer}({c.v(1)})")
    return c.out(f"keras.ops.take({c.v(0)}, {c.v(1)}, axis={axis})")
