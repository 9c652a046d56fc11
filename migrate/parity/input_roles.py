"""What each placeholder of a TF1 graph is, read from the ops that consume it, so that generated parity inputs fit
the graph: which values it may take, which axis is the batch and which is time, and one batch size and one sequence
length for every input.

Only op data is read (op types, attributes, small constant operands, static shapes; the imported `tf.Graph` or the
`.meta` read as data, `graph_def.ProtoGraph`, answer the same calls): nothing of the graph is run, and nothing read
from it reaches code.

```python
from migrate.parity.input_roles import analyse, choose_sizes

roles = analyse(graph.graph, ["ids", "lengths", "batch_size"])    # placeholder op names
roles["ids"]        # InputRole(kind="ids", vocab=11, time_axis=0, batch_axis=1, ...): time-major ids
roles["lengths"]    # InputRole(kind="lengths", ties={"frame rnn/while/while_context"}, ...)
sizes = choose_sizes(placeholders, roles, fixed={"batch_size:0": 2}, batch=3, steps=5)
sizes.batch, sizes.steps          # 2, 5: the fed batch size is the batch of every input
sizes.shape(ids_placeholder)      # (5, 2): [T, B] for a time-major input
sizes.length_bound("lengths")     # 5: the time axis of the sequences the lengths go with
```

How a placeholder's values flow is followed forward through the ops in `PASS` (each says how the axes of its input
become the axes of its output: a transpose permutes them, an embedding lookup keeps the ids' axes and adds one, an
`Enter` records the while loop it enters ...). Where the flow meets an op of `RULES`, that entry says what the
placeholder is (one entry per rule; `doc` says why):

- **ids**: the indices of a `Gather` / `GatherV2` / `ResourceGather` (`embedding_lookup`) on a table of N rows, or
  the indices of a `OneHot` of depth N: values in `[0, N)`.
- **time axis**: the value a `TensorArrayScatterV3` unstacks (`dynamic_rnn`, `raw_rnn`, `TrainingHelper`): its axis
  0 is time and axis 1 the batch; so a placeholder fed straight to it is time-major, one that passes a
  `Transpose [1, 0, 2]` first is batch-major. `Unpack` (`static_rnn`'s `tf.unstack(x, axis=1)`): its axis is time.
  `ReverseSequence`: its `seq_dim` / `batch_dim`. `BlockLSTM` (`LSTMBlockFusedCell`): its x is time-major.
- **lengths**: a rank-1 integer compared (`Less`, `GreaterEqual`, ...) with a loop counter, a `Range` or a step
  index (`dynamic_rnn`'s `time >= sequence_length`, `sequence_mask`), or the `seq_lengths` of a `ReverseSequence`,
  or the sequence lengths of a `CTCLoss`, or those whose maximum is a `BlockLSTM`'s `seq_len_max`: values in `[1, T]`, T the time axis of the sequences it goes with (those
  that meet it in the same while loop or `ReverseSequence`; else the shortest one).
- **batch_size**: an integer scalar that becomes the first entry of a shape (`Fill`'s dims, as `zero_state` builds
  them; `Reshape`, `BroadcastTo`, `Tile`, random ops): it must equal the batch of every other input.
- **steps**: an integer scalar that sizes a `TensorArrayV3` (the number of steps of a loop): the time length.
- **keep_prob** / **rate**: a float scalar added to, or compared with, a random uniform tensor (dropout): 1.0 /
  0.0, as at inference. **mode**: a bool scalar that is a `Switch` predicate (`tf.cond`): False.
- **batch axis** (a placeholder that is no sequence): the row axis of a rank-2 tensor concatenated with another
  along its last axis (a cell's `concat([x_t, h], 1)`) or multiplied on the left (`h @ U`): an initial state fed
  packed `[layers, B, units]` and sliced per layer has its batch on axis 1, not on its leading axis.
- **a fixed size**: a tensor concatenated (not along that axis) or combined elementwise with one whose size the
  graph fixes (`tf.fill([128, 1], GO)` before `targets[:, :-1]`, a batch given as a Python int): that axis of the
  placeholder has that size.

`choose_sizes` then picks one batch size B (a fed or defaulted batch-size placeholder, else a size the graph fixes
on a batch axis, in a constant or a declared shape, else the default) and one time length T (a fed step count,
else a time axis the graph fixes, else the default).

A batch made inside the graph (a sentence `expand_dims`'ed to a batch of one) leaves the placeholder's axes alone:
only a time axis whose batch is also an axis of the placeholder makes it a sequence.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

# Ops whose value is read through unchanged on the way back to a constant or a variable.
_THROUGH = ("Identity", "Enter", "Snapshot", "StopGradient", "Switch", "Merge", "ReadVariableOp", "Cast")
VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
RANDOM_OPS = ("RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal",
              "StatelessRandomUniform", "StatelessRandomUniformV2")
MAX_VISITS = 4000   # consumers followed per placeholder (a bound, whatever the graph holds)
MAX_FOLD = 64       # elements of a constant read to fold a permutation, an axis or a size


# -- the state of a value on its way from the placeholder ---------------------------------------------------------

@dataclass(frozen=True)
class Flow:
    """How a tensor on the way from the placeholder relates to it.

    Attributes:
        axes: for each axis of the tensor, the placeholder axis it is (None: an axis of its own); None when the rank
            is unknown.
        elem: for an integer scalar placeholder, its position in the shape vector it became (None: still a scalar).
        negated: passed through `1 - x` (a keep probability turned into a dropout rate).
        frame: the while loop (`Enter`'s `frame_name`) it entered last.
    """

    axes: tuple[int | None, ...] | None
    elem: int | None = None
    negated: bool = False
    frame: str | None = None


def _rank(t) -> int | None:
    try:
        return t.shape.rank
    except (AttributeError, ValueError):
        return None


def _fold(t, depth: int = 0) -> np.ndarray | None:
    """The value of a small integer tensor computed from constants and static shapes (a permutation, an axis, a
    shape), else None. Reads `Const` protos only when they hold at most `MAX_FOLD` elements."""
    if depth > 12:
        return None
    op = t.op
    kind = op.type
    try:
        if kind == "Const":
            proto = op.get_attr("value")
            if int(np.prod([d.size for d in proto.tensor_shape.dim])) > MAX_FOLD:
                return None
            import tensorflow as tf  # noqa: PLC0415

            return np.asarray(tf.make_ndarray(proto))
        if kind in ("Identity", "Enter", "Snapshot", "StopGradient") and op.inputs:
            return _fold(op.inputs[0], depth + 1)
        if kind == "Rank":
            r = _rank(op.inputs[0])
            return None if r is None else np.asarray(r, np.int32)
        if kind == "Shape":
            s = op.inputs[0].shape
            return np.asarray(s.as_list(), np.int32) if s.is_fully_defined() else None
        parts = [_fold(i, depth + 1) for i in op.inputs]
        if any(p is None for p in parts):
            return None
        if kind == "Range" and len(parts) == 3:
            out = np.arange(int(parts[0]), int(parts[1]), int(parts[2]))
            return out if out.size <= MAX_FOLD else None
        if kind == "ConcatV2":
            return np.concatenate([np.atleast_1d(p) for p in parts[:-1]], axis=int(parts[-1]))
        if kind == "Pack":
            return np.stack(parts, axis=int(op.get_attr("axis")))
        if kind in ("Add", "AddV2"):
            return parts[0] + parts[1]
        if kind == "Sub":
            return parts[0] - parts[1]
        if kind == "Mul":
            return parts[0] * parts[1]
        if kind == "Cast":
            return parts[0]
    except (ValueError, TypeError, IndexError, AttributeError):
        return None
    return None


def _normal_axis(axis: int, rank: int | None) -> int | None:
    if axis >= 0:
        return axis
    return None if rank is None else axis + rank


# -- PASS: how each op carries the placeholder's axes from an input to its outputs --------------------------------

def _same(op, i, f):
    return [(op.outputs[0], f)]


def _all_outputs(op, i, f):
    return [(t, f) for t in op.outputs] if i == 0 else []


def _first_input(op, i, f):
    return [(op.outputs[0], f)] if i == 0 else []


def _enter(op, i, f):
    try:
        frame = op.get_attr("frame_name")
    except ValueError:
        frame = None
    frame = frame.decode() if isinstance(frame, bytes) else frame
    return [(op.outputs[0], replace(f, frame=frame or f.frame))]


def _cast(op, i, f):
    return [(op.outputs[0], f)]


def _elementwise(op, i, f):
    """Broadcasting ops: the operands' axes line up from the right. An integer scalar stops here (`batch_size *
    beam_width` is no longer the batch); `1 - x` of a float scalar is recorded (a keep probability as a rate)."""
    if f.axes == () and f.elem is None:
        if op.inputs[i].dtype.is_integer:
            return []
        if op.type == "Sub" and i == 1:
            one = _fold(op.inputs[0])
            if one is not None and one.size == 1 and float(one) == 1.0:
                return [(op.outputs[0], replace(f, negated=not f.negated))]
        return [(op.outputs[0], f)]
    if f.elem is not None:
        return []
    out_rank = _rank(op.outputs[0])
    if f.axes is None or out_rank is None or out_rank < len(f.axes):
        return [(op.outputs[0], f)]
    return [(op.outputs[0], replace(f, axes=(None,) * (out_rank - len(f.axes)) + f.axes))]


def _gather(op, i, f):
    """`embedding_lookup`: the output's leading axes are the indices' axes (the table's row axis is gone)."""
    if i != 1 or f.axes is None:
        return []
    if op.type == "GatherV2":
        axis = _fold(op.inputs[2])
        if axis is None or int(axis) != 0:
            return []
    out_rank = _rank(op.outputs[0])
    extra = (out_rank - len(f.axes)) if out_rank is not None else 0
    return [(op.outputs[0], replace(f, axes=f.axes + (None,) * max(extra, 0)))]


def _transpose(op, i, f):
    if i != 0 or f.axes is None:
        return []
    perm = _fold(op.inputs[1])
    if perm is None or perm.ndim != 1 or sorted(perm.tolist()) != list(range(len(f.axes))):
        return []
    return [(op.outputs[0], replace(f, axes=tuple(f.axes[int(p)] for p in perm)))]


def _expand_dims(op, i, f):
    if i != 0:
        return []
    if f.axes == () and f.elem is None:        # a scalar becomes [x]: the first entry of a shape
        return [(op.outputs[0], replace(f, axes=(None,), elem=0))]
    if f.axes is None or f.elem is not None:
        return []
    axis = _fold(op.inputs[1])
    if axis is None:
        return []
    at = _normal_axis(int(axis), len(f.axes) + 1)
    if at is None or not 0 <= at <= len(f.axes):
        return []
    return [(op.outputs[0], replace(f, axes=f.axes[:at] + (None,) + f.axes[at:]))]


def _squeeze(op, i, f):
    if f.axes is None or f.elem is not None:
        return []
    try:
        dims = [int(d) for d in op.get_attr("squeeze_dims")]
    except ValueError:
        dims = []
    if not dims:
        return []
    drop = {_normal_axis(d, len(f.axes)) for d in dims}
    return [(op.outputs[0], replace(f, axes=tuple(a for k, a in enumerate(f.axes) if k not in drop)))]


def _pack(op, i, f):
    try:
        axis = int(op.get_attr("axis"))
    except ValueError:
        return []
    if f.axes == () and f.elem is None:        # scalars packed into a shape: position i
        return [(op.outputs[0], replace(f, axes=(None,), elem=i))] if axis == 0 else []
    if f.axes is None or f.elem is not None:
        return []
    at = _normal_axis(axis, len(f.axes) + 1)
    if at is None:
        return []
    return [(op.outputs[0], replace(f, axes=f.axes[:at] + (None,) + f.axes[at:]))]


def _concat(op, i, f):
    """A shape vector built in pieces (`zero_state`: concat([batch], [units])): the entry moves by the sizes of the
    pieces before it. A tensor concatenated along an axis keeps its other axes."""
    n = len(op.inputs) - 1
    if i >= n:
        return []
    if f.elem is not None:
        offset = 0
        for t in op.inputs[:i]:
            dims = t.shape.as_list() if _rank(t) == 1 else None
            if not dims or dims[0] is None:
                return []
            offset += dims[0]
        return [(op.outputs[0], replace(f, elem=f.elem + offset))]
    if f.axes is None:
        return []
    axis = _fold(op.inputs[n])
    if axis is None:
        return []
    at = _normal_axis(int(axis), len(f.axes))
    if at is None or not 0 <= at < len(f.axes):
        return []
    return [(op.outputs[0], replace(f, axes=f.axes[:at] + (None,) + f.axes[at + 1:]))]


def _strided_slice(op, i, f):
    """`x[:, :-1]`: an axis taken whole (or from its start to a constant end) keeps its meaning; one sliced otherwise
    is an axis of its own; an index removes it."""
    if i != 0 or f.axes is None or f.elem is not None:
        return []
    try:
        masks = {k: int(op.get_attr(k)) for k in ("begin_mask", "end_mask", "shrink_axis_mask", "new_axis_mask",
                                                  "ellipsis_mask")}
    except ValueError:
        return []
    begin, end, strides = (_fold(t) for t in op.inputs[1:4])
    if masks["new_axis_mask"] or masks["ellipsis_mask"] or strides is None or strides.ndim != 1:
        return []
    axes = []
    for k, a in enumerate(f.axes):
        bit = 1 << k
        if k >= strides.size:
            axes.append(a)
        elif masks["shrink_axis_mask"] & bit:
            continue
        elif strides[k] == 1 and (masks["begin_mask"] & bit or (begin is not None and begin[k] == 0)) \
                and (masks["end_mask"] & bit or (end is not None and end[k] > 0)):
            axes.append(a)        # whole, or its first rows (`x[:batch_size]`: all of them when that is the batch)
        else:
            axes.append(None)
    return [(op.outputs[0], replace(f, axes=tuple(axes)))]


def _reshape_to_vector(op, i, f):
    """`tf.reshape(batch_size, [1])` or `[-1]`: a scalar as the one entry of a shape vector."""
    if i == 0 and f.axes == () and f.elem is None and _rank(op.outputs[0]) == 1:
        return [(op.outputs[0], replace(f, axes=(None,), elem=0))]
    return []


UNARY = ("Tanh", "Sigmoid", "Relu", "Relu6", "Elu", "Selu", "Softplus", "Softsign", "Neg", "Abs", "Exp", "Log",
         "Log1p", "Sqrt", "Rsqrt", "Square", "Floor", "Ceil", "Round", "Sign", "Reciprocal", "Sin", "Cos",
         "LogicalNot", "Erf", "LeakyRelu", "Softmax", "LogSoftmax")
BINARY = ("Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "Maximum", "Minimum", "BiasAdd", "SquaredDifference",
          "LogicalAnd", "LogicalOr", "Pow", "FloorDiv", "FloorMod", "TruncateDiv")

PASS: dict[str, Any] = {
    **{k: _same for k in UNARY},
    **{k: _elementwise for k in BINARY},
    "Identity": _same, "Snapshot": _same, "StopGradient": _same, "PreventGradient": _same,
    "CheckNumerics": _same, "Cast": _cast, "Enter": _enter,
    "Max": lambda op, i, f: [(op.outputs[0], replace(f, axes=()))] if i == 0 and _rank(op.outputs[0]) == 0 else [],
    "Switch": _all_outputs, "Merge": _first_input,
    "ReverseSequence": _first_input, "ReverseV2": _first_input,
    "Gather": _gather, "GatherV2": _gather, "ResourceGather": _gather,
    "Transpose": _transpose, "ExpandDims": _expand_dims, "Squeeze": _squeeze, "Pack": _pack,
    "ConcatV2": _concat, "Reshape": _reshape_to_vector, "StridedSlice": _strided_slice,
    "Select": lambda op, i, f: [(op.outputs[0], f)] if i > 0 else [],
    "SelectV2": lambda op, i, f: [(op.outputs[0], f)] if i > 0 else [],
}


# -- RULES: what a placeholder is, from the op its values reach ----------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    kind: str                       # ids, time, lengths, batch_size, steps, keep_prob, rate, mode
    why: str
    vocab: int | None = None
    time_axis: int | None = None
    batch_axis: int | None = None
    ties: frozenset[str] = frozenset()
    bound: int | None = None
    sizes: tuple[tuple[int, int], ...] = ()    # (placeholder axis, the size the graph fixes it at)


@dataclass(frozen=True)
class Rule:
    """One way to tell what a placeholder is: `ops` (op types) reached at operand `operand` (None: any) by a
    placeholder of dtype kind in `dtypes` and rank `rank` (None: any); `check` reads the evidence (None: no match)."""

    name: str
    ops: tuple[str, ...]
    operand: int | None
    dtypes: str
    rank: int | None
    check: Any
    doc: str


def _table_rows(t) -> tuple[int, str] | None:
    """(rows, name) of the variable or constant table a Gather's params read, else None."""
    seen = 0
    while t.op.type in _THROUGH + ("ConcatV2", "Concat") and t.op.inputs and seen < 12:
        t, seen = t.op.inputs[0], seen + 1
    if t.op.type in VARIABLE_OPS:
        try:
            shape = t.op.get_attr("shape")
        except ValueError:
            return None
        if hasattr(shape, "dim"):          # a TensorShapeProto (tf.Graph) ...
            dims = None if shape.unknown_rank else [d.size for d in shape.dim]
        else:                              # ... or a TensorShape (graph_def.ProtoGraph)
            dims = shape.as_list() if shape.rank is not None else None
        return (int(dims[0]), t.op.name) if dims and dims[0] and dims[0] > 0 else None
    if t.op.type == "Const" and _rank(t) and t.shape.as_list()[0]:
        return int(t.shape.as_list()[0]), t.op.name
    return None


def _ids_gather(op, i, f, p):
    if op.type == "GatherV2":
        axis = _fold(op.inputs[2])
        if axis is None or int(axis) != 0:
            return None
    table = _table_rows(op.inputs[0])
    if table is None:
        return None
    rows, name = table
    return Evidence("ids", f"indexes the {rows} rows of {name} ({op.type} {op.name})", vocab=rows)


def _ids_one_hot(op, i, f, p):
    depth = _fold(op.inputs[1])
    if depth is None or depth.size != 1:
        return None
    return Evidence("ids", f"one-hot of depth {int(depth)} ({op.name})", vocab=int(depth))


def _frame_of_flow(op, f) -> frozenset[str]:
    """The while loops a TensorArray's flow (the scatter's output) enters, with the one the value entered."""
    frames = {f"frame {f.frame}"} if f.frame else set()
    for t in op.outputs:
        for c in t.consumers():
            if c.type == "Enter":
                try:
                    name = c.get_attr("frame_name")
                except ValueError:
                    continue
                frames.add(f"frame {name.decode() if isinstance(name, bytes) else name}")
    return frozenset(frames)


def _axis_evidence(f, time_at: int, batch_at: int | None, why: str, ties=frozenset()) -> Evidence | None:
    if f.axes is None or not 0 <= time_at < len(f.axes):
        return None
    t = f.axes[time_at]
    b = f.axes[batch_at] if batch_at is not None and 0 <= batch_at < len(f.axes) else None
    if t is None or b is None:   # the batch is made inside the graph (a sentence expand_dims'ed to a batch of
        return None              # one): its time axis is no sequence axis of the placeholder's own batch
    return Evidence("time", why, time_axis=t, batch_axis=b, ties=frozenset(ties))


def _time_scatter(op, i, f, p):
    return _axis_evidence(f, 0, 1, f"unstacked along its axis 0 over time by {op.type} {op.name}",
                          _frame_of_flow(op, f))


def _time_unpack(op, i, f, p):
    try:
        axis = int(op.get_attr("axis"))
    except ValueError:
        return None
    at = _normal_axis(axis, len(f.axes) if f.axes is not None else None)
    if at is None:
        return None
    batch_at = 0 if at != 0 else 1
    return _axis_evidence(f, at, batch_at, f"unstacked along axis {axis} into steps by Unpack {op.name}")


def _time_reverse(op, i, f, p):
    seq, batch = int(op.get_attr("seq_dim")), int(op.get_attr("batch_dim"))
    return _axis_evidence(f, seq, batch, f"reversed along its seq_dim {seq} by ReverseSequence {op.name}",
                          {f"op {op.name}"})


def _counter_like(t, depth: int = 0) -> str | None:
    """What a tensor compared with lengths is, when it counts steps: a while loop's counter (a `Merge` of the
    loop), a `Range` (`sequence_mask`), or a constant step index (an unrolled `static_rnn`)."""
    while t.op.type in ("Identity", "Switch", "Cast", "ExpandDims", "Enter", "Snapshot") and t.op.inputs:
        t = t.op.inputs[0]
    if t.op.type == "Merge":
        return "the loop counter"
    if t.op.type == "Range":
        return "a Range"
    if t.op.type == "Const" and _rank(t) == 0 and t.dtype.is_integer:
        return "a step index"
    return None


def _lengths_compare(op, i, f, p):
    if len(op.inputs) != 2:
        return None
    other = op.inputs[1 - i]
    what = _counter_like(other)
    if what is None:
        return None
    bound = None
    src = other
    while src.op.type in ("Identity", "Cast", "ExpandDims", "Enter") and src.op.inputs:
        src = src.op.inputs[0]
    if src.op.type == "Range":
        limit = _fold(src.op.inputs[1])
        bound = int(limit) if limit is not None and limit.size == 1 else None
    ties = {f"frame {f.frame}"} if f.frame else set()
    return Evidence("lengths", f"compared with {what} ({op.type} {op.name})", ties=frozenset(ties), bound=bound)


def _lengths_reverse(op, i, f, p):
    return Evidence("lengths", f"the seq_lengths of ReverseSequence {op.name}", ties=frozenset({f"op {op.name}"}))


def _time_block_lstm(op, i, f, p):
    return _axis_evidence(f, 0, 1, f"the time-major x of {op.type} {op.name} (LSTMBlockFusedCell)", {f"op {op.name}"})


def _lengths_block_lstm(op, i, f, p):
    if f.axes == ():   # their maximum, as LSTMBlockFusedCell computes seq_len_max
        return Evidence("lengths", f"their maximum is the seq_len_max of {op.type} {op.name}, which must not exceed "
                        f"its time axis", ties=frozenset({f"op {op.name}"}))
    return None


def _lengths_ctc(op, i, f, p):
    return Evidence("lengths", f"the sequence lengths of {op.type} {op.name}")


def _shape_entry(op, i, f, p):
    if f.elem == 0:
        return Evidence("batch_size", f"the first entry of the shape of {op.type} {op.name}")
    return None


def _steps_array(op, i, f, p):
    if f.elem is None and f.axes == ():
        return Evidence("steps", f"the size of TensorArrayV3 {op.name} (one entry per step)")
    return None


def _from_random(t, depth: int = 0) -> bool:
    """Whether a tensor is (a scaled / shifted) random uniform draw."""
    for _ in range(6):
        if t.op.type in RANDOM_OPS:
            return True
        if t.op.type in ("Identity", "Enter", "Add", "AddV2", "Mul", "Sub") and t.op.inputs:
            if any(x.op.type in RANDOM_OPS for x in t.op.inputs):
                return True
            t = t.op.inputs[0]
            continue
        return False
    return False


def _dropout_add(op, i, f, p):
    if _from_random(op.inputs[1 - i]):
        kind = "rate" if f.negated else "keep_prob"
        return Evidence(kind, f"added to a random uniform draw ({op.type} {op.name}): a dropout keep probability"
                        + (" turned into a rate" if f.negated else ""))
    return None


def _dropout_compare(op, i, f, p):
    if i == 1 and _from_random(op.inputs[0]):
        kind = "keep_prob" if f.negated else "rate"
        return Evidence(kind, f"compared with a random uniform draw ({op.type} {op.name}): a dropout "
                        + ("keep probability (as 1 - rate)" if f.negated else "rate"))
    return None


def _fixed_sizes(op, i, f, p):
    """A tensor concatenated with, or combined elementwise with, an operand whose size the graph fixes (a
    `tf.fill([128, 1], GO)` column, a constant, a batch-1 input's one-hot) must have that size on the same axis
    (not the concat axis; a size 1 counts only in a concat: elementwise it broadcasts)."""
    if f.axes is None or f.elem is not None or not any(a is not None for a in f.axes):
        return None
    n = len(op.inputs) - 1 if op.type == "ConcatV2" else len(op.inputs)
    skip = None
    if op.type == "ConcatV2":
        axis = _fold(op.inputs[n])
        if axis is None:
            return None
        skip = _normal_axis(int(axis), len(f.axes))
    sizes = {}
    for j, other in enumerate(op.inputs[:n]):
        if j == i or _rank(other) is None:
            continue
        dims = other.shape.as_list()
        if op.type != "ConcatV2":      # broadcasting: right-aligned
            dims = [None] * (len(f.axes) - len(dims)) + dims if len(dims) <= len(f.axes) else dims[-len(f.axes):]
        if len(dims) != len(f.axes):
            continue
        for k, (a, d) in enumerate(zip(f.axes, dims)):
            if a is not None and k != skip and d is not None and (d > 1 or op.type == "ConcatV2") and \
                    not _from_placeholder(other):   # a size 1 broadcasts in an elementwise op, not in a concat
                sizes.setdefault(a, d)
    if not sizes:
        return None
    said = ", ".join(f"axis {a} = {d}" for a, d in sorted(sizes.items()))
    return Evidence("size", f"{op.type} {op.name} joins it with a tensor of fixed size ({said})",
                    sizes=tuple(sorted(sizes.items())))


def _from_placeholder(t) -> bool:
    """Whether a tensor's static size could come from a placeholder's own declared shape (then it says nothing
    the placeholder's shape does not)."""
    return t.op.type in ("Placeholder", "PlaceholderV2", "PlaceholderWithDefault")


def _batch_rows(op, i, f, p):
    """A rank-2 tensor whose rows meet a cell's batch rows: concatenated with another tensor along its last axis
    (`concat([x_t, h])` in every TF1 cell) or the left operand of a MatMul (`h @ U`). Its row axis is the batch, so
    the placeholder axis it came from is the batch axis: an initial state fed packed `[layers, B, units]` and
    sliced per layer has its batch on axis 1, not on its leading (layer) axis."""
    if f.axes is None or f.elem is not None or len(f.axes) != 2 or f.axes[0] is None or _rank(op.outputs[0]) != 2:
        return None
    if op.type == "MatMul":
        try:
            if op.get_attr("transpose_a"):
                return None
        except ValueError:
            return None
        return Evidence("batch", f"its rows are the rows of MatMul {op.name}", batch_axis=f.axes[0])
    n = len(op.inputs) - 1
    axis = _fold(op.inputs[n])
    if n < 2 or axis is None or _normal_axis(int(axis), 2) != 1:
        return None
    if all(x.op.type == "Const" for k, x in enumerate(op.inputs[:n]) if k != i):
        return None
    return Evidence("batch", f"its rows meet the batch rows of the tensors concatenated with it ({op.type} {op.name}: "
                    f"a cell's [input, state])", batch_axis=f.axes[0])


def _mode_switch(op, i, f, p):
    return Evidence("mode", f"the predicate of Switch {op.name} (a tf.cond)")


SHAPE_OPERANDS = (("Fill", 0), ("Reshape", 1), ("BroadcastTo", 1), ("Tile", 1), ("RandomUniform", 0),
                  ("RandomStandardNormal", 0), ("TruncatedNormal", 0), ("Zeros", 0))

RULES: tuple[Rule, ...] = (
    Rule("ids of an embedding", ("Gather", "GatherV2", "ResourceGather"), 1, "iu", None, _ids_gather,
         "the indices of an embedding_lookup: values in [0, rows of the table)"),
    Rule("ids of a one-hot", ("OneHot",), 0, "iu", None, _ids_one_hot, "one_hot indices: values in [0, depth)"),
    Rule("time axis of a TensorArray", ("TensorArrayScatterV3", "TensorArrayScatter"), 2, "iufb", None,
         _time_scatter, "dynamic_rnn / raw_rnn unstack their inputs along axis 0: that axis is time"),
    Rule("time axis of an unstack", ("Unpack",), 0, "iufb", None, _time_unpack,
         "static_rnn's tf.unstack(x, axis): that axis is time"),
    Rule("time axis of a ReverseSequence", ("ReverseSequence",), 0, "iufb", None, _time_reverse,
         "a bidirectional rnn reverses each row along seq_dim"),
    Rule("lengths compared with steps", ("Less", "LessEqual", "Greater", "GreaterEqual"), None, "iu", 1,
         _lengths_compare, "dynamic_rnn's `time >= sequence_length`, sequence_mask's `range(T) < lengths`"),
    Rule("lengths of a ReverseSequence", ("ReverseSequence",), 1, "iu", 1, _lengths_reverse,
         "seq_lengths must not exceed the reversed axis"),
    Rule("time axis of a BlockLSTM", ("BlockLSTM", "BlockLSTMV2"), 1, "f", None, _time_block_lstm,
         "LSTMBlockFusedCell runs one op over a time-major [T, B, D] sequence"),
    Rule("lengths of a BlockLSTM", ("BlockLSTM", "BlockLSTMV2"), 0, "iu", 1, _lengths_block_lstm,
         "LSTMBlockFusedCell's seq_len_max = max(sequence_length); TensorFlow aborts when it exceeds T"),
    Rule("lengths of a CTC loss", ("CTCLoss", "CTCLossV2", "CTCGreedyDecoder", "CTCBeamSearchDecoder"), None,
         "iu", 1, _lengths_ctc, "sequence_length of ctc_loss / ctc decoders"),
    *(Rule(f"batch size of a {op} shape", (op,), k, "iu", 0, _shape_entry,
           "zero_state(batch_size) and tf.zeros([batch_size, ...]): the first entry of a shape is the batch")
      for op, k in SHAPE_OPERANDS),
    Rule("steps of a TensorArray", ("TensorArrayV3",), 0, "iu", 0, _steps_array,
         "a TensorArray sized by a scalar: one entry per step"),
    Rule("dropout keep probability", ("Add", "AddV2"), None, "f", 0, _dropout_add,
         "tf.nn.dropout (TF < 1.13): floor(keep_prob + uniform)"),
    Rule("dropout rate", ("GreaterEqual",), 1, "f", 0, _dropout_compare,
         "tf.nn.dropout (TF >= 1.13): uniform >= rate, rate = 1 - keep_prob"),
    Rule("batch rows of a cell", ("ConcatV2", "MatMul"), None, "f", None, _batch_rows,
         "a recurrent state (or any matrix) meets the step's input rows: concat([x_t, h], 1), h @ U; that axis is "
         "the batch"),
    Rule("tf.cond predicate", ("Switch",), 1, "b", 0, _mode_switch, "tf.cond on a training flag: False"),
    Rule("a size the graph fixes", ("ConcatV2", *BINARY), None, "iufb", None, _fixed_sizes,
         "concatenated with tf.fill([128, 1], GO) (a batch baked into the graph): the batch is 128"),
)
_BY_OP: dict[str, list[Rule]] = {}
for _rule in RULES:
    for _op in _rule.ops:
        _BY_OP.setdefault(_op, []).append(_rule)


# -- the analysis -------------------------------------------------------------------------------------------------

@dataclass
class InputRole:
    """What one placeholder is (see the module docstring).

    Attributes:
        name: the placeholder's op name.
        kind: "ids", "lengths", "batch_size", "steps", "keep_prob", "rate", "mode", or "" (nothing the rules know:
            float features, integers of their own).
        why: the evidence, in words, one entry per rule that matched.
        vocab: ids: the rows of the table they index (the smallest, when several).
        time_axis / batch_axis: a sequence's axes (None: no evidence; then axis 0 is the batch); batch_axis alone:
            a tensor whose rows meet a cell's batch rows (an initial state fed packed [layers, B, units]).
        ties: the while loops and ops through which it meets other inputs (to tie lengths to their sequences).
        bound: lengths: a constant they are compared against (values must not exceed it).
        default: a `PlaceholderWithDefault`'s constant default (else None).
    """

    name: str
    kind: str = ""
    why: list[str] = field(default_factory=list)
    vocab: int | None = None
    time_axis: int | None = None
    batch_axis: int | None = None
    ties: set[str] = field(default_factory=set)
    bound: int | None = None
    default: Any = None
    time_why: str = ""
    batch_why: str = ""
    sizes: dict[int, tuple[int, str]] = field(default_factory=dict)   # axis -> (size the graph fixes, why)

    @property
    def sequence(self) -> bool:
        return self.time_axis is not None

    def describe(self) -> str:
        axes = ""
        if self.sequence:
            axes = "time-major" if self.time_axis == 0 else f"batch axis {self.batch_axis}, time axis {self.time_axis}"
        elif self.batch_axis:
            axes = f"batch axis {self.batch_axis}"
        what = {"ids": f"ids in [0, {self.vocab})", "lengths": "sequence lengths", "batch_size": "the batch size",
                "steps": "the number of steps", "keep_prob": "a dropout keep probability", "rate": "a dropout rate",
                "mode": "a tf.cond predicate"}.get(self.kind, "")
        return ", ".join(x for x in (what, axes) if x)


_PRIORITY = ("ids", "lengths", "batch_size", "steps", "keep_prob", "rate", "mode")


def analyse(graph, names: list[str]) -> dict[str, InputRole]:
    """`{op name: InputRole}` for the placeholders named (op names, `:0` optional), read from `graph` (a
    `tf.Graph` or a `graph_def.ProtoGraph`)."""
    from migrate.checkpoint.tables import is_gradient  # noqa: PLC0415

    out = {}
    for raw in names:
        name = raw.split(":", 1)[0]
        try:
            op = graph.get_operation_by_name(name)
        except (KeyError, ValueError):
            continue
        t = op.outputs[0]
        role = InputRole(name)
        role.default = _default_of(op)
        rank = _rank(t)
        kind_of = t.dtype.base_dtype
        dkind = "f" if kind_of.is_floating else "b" if kind_of.is_bool else "iu" if kind_of.is_integer else "?"
        start = Flow(axes=tuple(range(rank)) if rank is not None else None)
        found: list[Evidence] = []
        seen: set[tuple] = set()
        queue = deque([(t, start)])
        visits = 0
        while queue and visits < MAX_VISITS:
            tensor, flow = queue.popleft()
            for consumer in tensor.consumers():
                if is_gradient(consumer.name):
                    continue
                for i, x in enumerate(consumer.inputs):
                    if x is not tensor and x.name != tensor.name:
                        continue
                    visits += 1
                    for rule in _BY_OP.get(consumer.type, ()):
                        if rule.operand is not None and rule.operand != i:
                            continue
                        if not any(c in rule.dtypes for c in dkind) or (rule.rank is not None and rule.rank != rank):
                            continue
                        ev = rule.check(consumer, i, flow, op)
                        if ev is not None:
                            found.append(ev)
                    step = PASS.get(consumer.type)
                    if step is None:
                        continue
                    for nxt, nflow in step(consumer, i, flow):
                        key = (nxt.name, nflow)
                        if key not in seen:
                            seen.add(key)
                            queue.append((nxt, nflow))
        _settle(role, found)
        out[name] = role
    return out


def _settle(role: InputRole, found: list[Evidence]) -> None:
    kinds = [e.kind for e in found if e.kind not in ("time", "size", "batch")]
    for e in found:
        for axis, size in e.sizes:
            role.sizes.setdefault(axis, (size, e.why))
    for k in _PRIORITY:
        if k in kinds:
            role.kind = k
            break
    vocabs = [e.vocab for e in found if e.kind == "ids" and e.vocab]
    role.vocab = min(vocabs) if vocabs else None
    times = Counter((e.time_axis, e.batch_axis) for e in found if e.kind == "time")
    if times:
        (role.time_axis, batch), _ = times.most_common(1)[0]
        role.time_why = next(e.why for e in found if e.kind == "time" and e.time_axis == role.time_axis)
        role.batch_axis = batch
    rows = Counter(e.batch_axis for e in found if e.kind == "batch")
    if not times and rows:   # no sequence: the batch axis is where its rows meet a cell's batch rows
        role.batch_axis = rows.most_common(1)[0][0]
        role.batch_why = next(e.why for e in found if e.kind == "batch" and e.batch_axis == role.batch_axis)
    for e in found:
        if e.kind in ("time", role.kind):
            role.ties |= set(e.ties)
    bounds = [e.bound for e in found if e.kind == "lengths" and e.bound]
    role.bound = min(bounds) if bounds else None
    seen_why = []
    for e in found:
        if e.kind == role.kind and role.kind and e.why not in seen_why:
            seen_why.append(e.why)
    role.why = seen_why[:4]


def _default_of(op) -> Any:
    if op.type != "PlaceholderWithDefault" or not op.inputs:
        return None
    value = _fold(op.inputs[0])
    return None if value is None else value


# -- one batch size and one time length for every input ----------------------------------------------------------

@dataclass
class Sizes:
    """The batch size B and time length T every generated input shares, and why (`notes`)."""

    batch: int
    steps: int
    roles: dict[str, InputRole]
    placeholders: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def axes(self, name: str) -> tuple[int, int | None]:
        """(batch axis, time axis) of a placeholder (op name): its sequence axes, else (0, None)."""
        role = self.roles.get(name.split(":", 1)[0])
        if role is not None and role.sequence:
            return (role.batch_axis if role.batch_axis is not None else 0), role.time_axis
        if role is not None and role.batch_axis is not None:
            return role.batch_axis, None
        return 0, None

    def shape(self, p, hint: tuple | None = None) -> tuple[int, ...] | None:
        """The shape generated for placeholder `p` (`PlaceholderInfo`): an axis whose size the graph fixes (the
        role's `sizes`: an initial state concatenated with a batch-1 input gets batch 1, whatever B is), else the
        batch axis B, the time axis T, other unknown axes T; `hint` (a Keras input's shape) fills what the graph
        leaves unknown. None: unknown rank."""
        if p.shape is None and hint is None:
            return None
        shape = list(p.shape if p.shape is not None else hint)
        if hint is not None and len(hint) == len(shape):
            shape = [h if d is None else d for d, h in zip(shape, hint)]
        b, _t = self.axes(p.name)
        role = self.roles.get(p.name.split(":", 1)[0])
        fixed = role.sizes if role is not None else {}
        return tuple((fixed[k][0] if k in fixed else self.batch if k == b else self.steps) if d is None else int(d)
                     for k, d in enumerate(shape))

    def time_of(self, name: str) -> int | None:
        """The time length of a sequence placeholder (its fixed time axis, else T); None when it is none."""
        role = self.roles.get(name.split(":", 1)[0])
        p = self.placeholders.get(name.split(":", 1)[0])
        if role is None or not role.sequence:
            return None
        if p is not None and p.shape is not None and role.time_axis < len(p.shape) and \
                p.shape[role.time_axis] is not None:
            return int(p.shape[role.time_axis])
        return self.steps

    def length_bound(self, name: str) -> int:
        """The largest length a lengths placeholder may take: the time axis of the sequences it meets (in a while
        loop or a ReverseSequence), else of the shortest sequence, else T; never over a constant it is compared
        with."""
        role = self.roles.get(name.split(":", 1)[0])
        seqs = {n: self.time_of(n) for n, r in self.roles.items() if r.sequence and n in self.placeholders}
        tied = [t for n, t in seqs.items() if role is not None and role.ties & self.roles[n].ties]
        bound = min(tied) if tied else min(seqs.values()) if seqs else self.steps
        if role is not None and role.bound:
            bound = min(bound, role.bound)
        return max(int(bound), 1)


def choose_sizes(placeholders: list, roles: dict[str, InputRole], fixed: dict[str, Any] | None = None,
                 batch: int = 3, steps: int = 5, hints: dict[str, tuple] | None = None,
                 fed_defaults: set[str] = frozenset()) -> Sizes:
    """B and T for `placeholders` (`PlaceholderInfo`s). `fixed`: `{tensor or op name: value}` the user (or an
    inference rule) gives; `fed_defaults`: `PlaceholderWithDefault`s that are fed (their default does not count).

    B: a fixed batch-size placeholder's value, else a defaulted one's default, else a batch axis the graph (or a
    Keras input's shape, `hints`) fixes, else `batch`. T: a fixed step count, else a time axis the graph fixes
    (the most common), else `steps`."""
    fixed = {k.split(":", 1)[0]: v for k, v in (fixed or {}).items()}
    hints = {k.split(":", 1)[0]: v for k, v in (hints or {}).items()}
    by_name = {p.name: p for p in placeholders}
    notes = []
    b_value, b_why = None, None
    for p in placeholders:
        role = roles.get(p.name)
        if role is None or role.kind != "batch_size":
            continue
        if p.name in fixed and np.size(fixed[p.name]) == 1:
            b_value, b_why = int(np.asarray(fixed[p.name]).reshape(())), f"{p.name}:0 = the batch size, as fed"
            break
        if role.default is not None and p.name not in fed_defaults and np.size(role.default) == 1:
            b_value = int(np.asarray(role.default).reshape(()))
            b_why = f"{p.name}:0 (the batch size) keeps its default"
    if b_value is None:   # a size the graph's own constants fix on an input's batch axis
        for p in placeholders:
            role = roles.get(p.name)
            if role is None or not role.sizes:
                continue
            b_ax = role.batch_axis if role.batch_axis is not None else 0
            if b_ax in role.sizes:
                b_value, why = role.sizes[b_ax]
                b_why = f"{p.name}:0's batch axis: {why}"
                break
    if b_value is None:
        for p in placeholders:
            role = roles.get(p.name)
            shape = p.shape if p.shape is not None else hints.get(p.name)
            if not shape or (role is not None and role.kind in ("batch_size", "steps", "keep_prob", "rate", "mode")):
                continue
            hint = hints.get(p.name)
            if hint is not None and len(hint) == len(shape):
                shape = [h if d is None else d for d, h in zip(shape, hint)]
            b_ax = role.batch_axis if role is not None and role.batch_axis is not None else 0
            if b_ax < len(shape) and shape[b_ax] is not None:
                b_value, b_why = int(shape[b_ax]), f"{p.name}:0 fixes its batch axis at {shape[b_ax]}"
                break
    t_value, t_why = None, None
    for p in placeholders:
        role = roles.get(p.name)
        if role is not None and role.kind == "steps" and p.name in fixed and np.size(fixed[p.name]) == 1:
            t_value, t_why = int(np.asarray(fixed[p.name]).reshape(())), f"{p.name}:0 = the number of steps, as fed"
            break
    if t_value is None:
        fixed_times = Counter()
        for p in placeholders:
            role = roles.get(p.name)
            if role is None or not role.sequence:
                continue
            shape = p.shape if p.shape is not None else hints.get(p.name)
            hint = hints.get(p.name)
            if shape is not None and hint is not None and len(hint) == len(shape):
                shape = [h if d is None else d for d, h in zip(shape, hint)]
            if shape is not None and role.time_axis < len(shape) and shape[role.time_axis] is not None:
                fixed_times[int(shape[role.time_axis])] += 1
            elif role.time_axis in role.sizes:
                fixed_times[role.sizes[role.time_axis][0]] += 1
        if fixed_times:
            t_value = sorted(fixed_times.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            t_why = f"the graph fixes a time axis at {t_value}"
    b = b_value if b_value is not None else batch
    t = t_value if t_value is not None else steps
    if b_why:
        notes.append(f"batch {b}: {b_why}")
    if t_why:
        notes.append(f"time steps {t}: {t_why}")
    for p in placeholders:
        role = roles.get(p.name)
        if role is not None and role.sequence:
            order = "time-major [T, B, ...]" if role.time_axis == 0 else "batch-major [B, T, ...]"
            notes.append(f"{p.name}:0: {order} ({role.time_why})")
        elif role is not None and role.batch_axis:
            notes.append(f"{p.name}:0: batch on axis {role.batch_axis} ({role.batch_why})")
    return Sizes(batch=b, steps=t, roles=roles, placeholders=by_name, notes=notes)
