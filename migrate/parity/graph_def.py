"""A `.meta` graph read as data, without importing it: names, op types, edges, dtypes and shapes of every node.

Importing a GraphDef into a `tf.Graph` builds a Python `Operation` per node (about 200 us and 9 KB each: a `.meta`
with a million nodes the outputs never use took 225 s and 9.2 GB). Reading the protobuf costs a few microseconds
per node. So everything that looks at the whole graph runs here (output selection, `--outputs` and `--feed`
name checks, the "likely outputs" hint), and only the subgraph the chosen outputs need is imported
(`ProtoGraph.closure` -> `ProtoGraph.subgraph` -> `TF1Graph.focus`).

```python
from migrate.parity.graph_def import ProtoGraph, read_meta

g = ProtoGraph(read_meta("runs/model.ckpt-1000.meta"))
g.get_tensor_by_name("logits/BiasAdd:0").shape      # TensorShape([None, 3]), from the node's _output_shapes
keep = g.closure([g.index["logits/BiasAdd"]])       # what the tensor needs (inputs, control inputs, whole loops)
graph_def = g.subgraph(keep)                        # those nodes, in graph order, devices cleared
```

`ProtoGraph` answers the part of the `tf.Graph` API that `migrate.graph.select` and the parity hints use
(`get_operations`, `get_operation_by_name`, `get_tensor_by_name`, `get_collection`; ops with `name`, `type`,
`inputs`, `outputs`, `control_inputs`, `get_attr`; tensors with `name`, `op`, `dtype`, `shape`, `consumers()`), so
the same code runs on either. Dtypes come from the OpDefs the `.meta` carries (`meta_info_def.stripped_op_list`,
else this TensorFlow's registry through the public `export_meta_graph`); shapes from the `_output_shapes` attribute
`tf.train.Saver` writes (else a placeholder's, variable's or constant's declared shape; else unknown).

Size budgets for what a run would allocate from declared shapes alone (a placeholder `[None, 2**31]`, a constant
declared `[2**31, 2**31]` with one value): `MAX_TENSOR_BYTES` per tensor, `MAX_FEED_BYTES` for one generated batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from migrate.checkpoint.tables import is_gradient

# One generated parity input, one `--variable NAME=zeros`, one graph constant expanded from a short proto:
MAX_TENSOR_BYTES = 256 << 20
# Every generated parity input of one batch together:
MAX_FEED_BYTES = 1 << 30

# More outputs than this from one node's count attribute (`num_split`, `num`, `N`) is a damaged `.meta`: the view
# counts the outputs the graph uses instead (the import refuses the node).
MAX_OUTPUTS = 1 << 16

PLACEHOLDER_OPS = ("Placeholder", "PlaceholderV2", "PlaceholderWithDefault")
VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
_CONTROL = -1   # the port of a control input (`^name`)
_LOC = re.compile(r"^loc:@(.*)$")


def read_meta(path: str):
    """The `MetaGraphDef` in `path`; `ValueError` with a sentence when it is unreadable or not one."""
    from tensorflow.core.protobuf import meta_graph_pb2  # noqa: PLC0415

    meta = meta_graph_pb2.MetaGraphDef()
    try:
        with open(path, "rb") as f:
            meta.ParseFromString(f.read())
    except OSError as e:
        raise ValueError(f"cannot read ({e.strerror})") from None
    except Exception as e:  # noqa: BLE001 - a protobuf DecodeError: not a MetaGraphDef
        raise ValueError(f"cannot be read as the MetaGraphDef tf.train.Saver writes: truncated, corrupt or another "
                         f"kind of file ({e}); use the .meta saved with this checkpoint") from None
    return meta


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def shape_bytes(shape: Iterable[int], itemsize: int) -> int:
    """Bytes of an array of this shape (Python integers: no overflow for absurd declared shapes)."""
    n = itemsize
    for d in shape:
        n *= max(int(d), 0)
    return n


def split_input(text: str) -> tuple[str, int]:
    """`"^a"` -> ("a", -1) (a control input); `"a:2"` -> ("a", 2); `"a"` -> ("a", 0)."""
    if text.startswith("^"):
        return text[1:], _CONTROL
    name, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return text, 0


class ProtoGraph:
    """The nodes of a `MetaGraphDef` as lookups (see the module docstring). Built in one pass over the nodes."""

    def __init__(self, meta_def):
        self.meta_def = meta_def
        self.graph_def = meta_def.graph_def
        nodes = self.graph_def.node
        names: list[str] = []
        types: list[str] = []
        raw: list[tuple[str, ...]] = []
        for n in nodes:
            names.append(n.name)
            types.append(n.op)
            raw.append(tuple(n.input))
        self.names, self.types = names, types
        self.index = {name: i for i, name in enumerate(names)}
        # inputs of node i: src[start[i]:start[i + 1]] (port -1: a control input); unknown names are dropped here
        # (the import names them)
        start, src, port = [0], [], []
        get = self.index.get
        for ins in raw:
            for text in ins:
                j = get(text)           # most inputs are a plain op name (output 0)
                if j is not None:
                    src.append(j)
                    port.append(0)
                    continue
                name, k = split_input(text)
                j = get(name)
                if j is not None:
                    src.append(j)
                    port.append(k)
            start.append(len(src))
        del raw
        self._start = np.asarray(start, dtype=np.int64)
        self._src = np.asarray(src, dtype=np.int64)
        self._port = np.asarray(port, dtype=np.int64)
        self._consumers = None   # built on first use (consumers() / frames)
        self._ops: list = [None] * len(names)
        self._op_defs: dict | None = None
        self._plans: dict[str, tuple] = {}
        self._frames: dict[str, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.names)

    # -- structure (node indices) -----------------------------------------------------------------

    def inputs_of(self, i: int) -> list[tuple[int, int]]:
        """(producer, port) of node i's inputs in order; port -1 for a control input."""
        a, b = int(self._start[i]), int(self._start[i + 1])
        return list(zip(self._src[a:b].tolist(), self._port[a:b].tolist()))

    def consumers_of(self, i: int) -> list[tuple[int, int]]:
        """(consumer, port of node i it reads) for every data edge out of node i."""
        if self._consumers is None:
            self._build_consumers()
        order, cstart, dst = self._consumers
        a, b = int(cstart[i]), int(cstart[i + 1])
        rows = order[a:b]
        return list(zip(dst[rows].tolist(), self._port[rows].tolist()))

    def _build_consumers(self) -> None:
        data = np.nonzero(self._port >= 0)[0]
        dst = np.repeat(np.arange(len(self.names), dtype=np.int64), np.diff(self._start))
        order = data[np.argsort(self._src[data], kind="stable")]
        counts = np.bincount(self._src[data], minlength=len(self.names))
        cstart = np.concatenate([[0], np.cumsum(counts)])
        self._consumers = (order, cstart, dst)

    def frames(self) -> dict[str, list[int]]:
        """while-loop frame name -> its `Enter` nodes."""
        if self._frames is None:
            self._frames = {}
            nodes = self.graph_def.node
            for i, t in enumerate(self.types):
                if t in ("Enter", "RefEnter"):
                    frame = nodes[i].attr["frame_name"].s.decode("utf-8", "replace")
                    self._frames.setdefault(frame, []).append(i)
        return self._frames

    def closure(self, roots: Iterable[int], stop: Iterable[tuple[int, int]] = (), loops: bool = True) -> set[int]:
        """The nodes `roots` need: their inputs and control inputs, transitively. `stop`: (node, port) tensors
        that are fed (what computes them is not needed). `loops`: a while loop needed at all is taken whole (every
        op its `Enter`s reach up to its `Exit`s: the recognisers read a loop's structure, not only the path)."""
        stop = set(stop)
        seen: set[int] = set()
        stack = list(roots)
        frames_done: set[str] = set()
        start, src, port = self._start, self._src, self._port
        frame_of_enter = None
        while stack:
            while stack:
                i = stack.pop()
                if i in seen:
                    continue
                seen.add(i)
                a, b = int(start[i]), int(start[i + 1])
                for j, k in zip(src[a:b].tolist(), port[a:b].tolist()):
                    if j not in seen and (j, k) not in stop:
                        stack.append(j)
            if not loops:
                break
            if frame_of_enter is None:
                frame_of_enter = {e: f for f, es in self.frames().items() for e in es}
            for f in {frame_of_enter[i] for i in seen if i in frame_of_enter} - frames_done:
                frames_done.add(f)
                stack.extend(self._frame_nodes(self.frames()[f], forward=not is_gradient(f)))
        return seen

    def _frame_nodes(self, enters: list[int], forward: bool = True) -> list[int]:
        """The ops a loop's `Enter`s reach up to its `Exit`s. In a forward loop, not what `tf.gradients` added to it
        (its iteration counter `gradients/f_count`, the stacks that keep each step's values for the backward pass):
        the backward pass is no part of the loop's result, and is taken only where the roots themselves need it."""
        out, seen, stack = [], set(), list(enters)
        names = self.names
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            if forward and is_gradient(names[i]):
                continue
            out.append(i)
            if self.types[i] in ("Exit", "RefExit"):
                continue
            stack.extend(j for j, _ in self.consumers_of(i))
        return out

    def subgraph(self, keep: Iterable[int]):
        """A `GraphDef` of the nodes `keep` (graph order), devices cleared, colocation with dropped nodes removed."""
        from tensorflow.core.framework import graph_pb2  # noqa: PLC0415

        keep = sorted(set(keep))
        kept_names = {self.names[i] for i in keep}
        out = graph_pb2.GraphDef()
        out.versions.CopyFrom(self.graph_def.versions)
        out.library.CopyFrom(self.graph_def.library)
        nodes = self.graph_def.node
        for i in keep:
            node = out.node.add()
            node.CopyFrom(nodes[i])
            node.device = ""
            if "_class" in node.attr:
                locs = [s for s in node.attr["_class"].list.s
                        if not (m := _LOC.match(s.decode("utf-8", "replace"))) or m.group(1) in kept_names]
                if locs:
                    del node.attr["_class"].list.s[:]
                    node.attr["_class"].list.s.extend(locs)
                else:
                    del node.attr["_class"]
        return out

    def import_hazard(self, i: int) -> str | None:
        """Why importing node i would abort the process (`IMPORT_HAZARDS`), else None."""
        check = IMPORT_HAZARDS.get(self.types[i])
        return check(self, i) if check is not None else None

    def nodes_of_type(self, types: Iterable[str]) -> list[int]:
        want = set(types)
        return [i for i, t in enumerate(self.types) if t in want]

    # -- dtypes and shapes ------------------------------------------------------------------------

    def op_def(self, op_type: str):
        if self._op_defs is None:
            self._op_defs = {o.name: o for o in self.meta_def.meta_info_def.stripped_op_list.op}
            missing = set(self.types) - set(self._op_defs)
            if missing:
                self._op_defs.update(_registered_op_defs(missing))
        return self._op_defs.get(op_type)

    def _plan(self, op_type: str):
        """Per op type: (fixed output count or None, [(type enum | type attr | list attr, number attr, is_ref)],
        attr defaults), so a node's outputs cost a few attribute reads."""
        plan = self._plans.get(op_type)
        if plan is None:
            op_def = self.op_def(op_type)
            if op_def is None:
                plan = (None, None, {})
            else:
                args = [(arg.type or arg.type_attr or ("list", arg.type_list_attr), arg.number_attr, arg.is_ref)
                        for arg in op_def.output_arg]
                fixed = len(args) if not any(n or isinstance(t, tuple) for t, n, _ in args) else None
                plan = (fixed, args, {a.name: a.default_value for a in op_def.attr})
            self._plans[op_type] = plan
        return plan

    def num_outputs(self, i: int) -> int:
        fixed, args, _ = self._plan(self.types[i])
        if fixed is not None:
            return fixed
        return len(self.output_dtypes(i)) if args is not None else self._fallback_outputs(i)

    def output_dtypes(self, i: int) -> list:
        """The dtypes of node i's outputs (`tf.DType`, ref dtypes for a `VariableV2`); from its OpDef."""
        import tensorflow as tf  # noqa: PLC0415

        _, args, defaults = self._plan(self.types[i])
        if args is None:
            return [tf.float32] * self._fallback_outputs(i)
        attrs = self.graph_def.node[i].attr

        def attr(name):
            return attrs[name] if name in attrs else defaults.get(name)

        out = []
        for kind, number, is_ref in args:
            if isinstance(kind, tuple):
                a = attr(kind[1])
                types = list(a.list.type) if a is not None else []
            else:
                if isinstance(kind, int):
                    enum = kind
                else:
                    a = attr(kind)
                    enum = a.type if a is not None else 1
                n = 1
                if number:
                    a = attr(number)
                    n = int(a.i) if a is not None else 1
                    if not 0 <= n <= MAX_OUTPUTS:   # a damaged count (num_split = 2**40): what the graph uses
                        n = self._fallback_outputs(i)
                types = [enum] * n
            for enum in types:
                dt = _dtype_or_none(enum) or tf.float32   # an attr the node lacks or a damaged enum: the import
                out.append(dt._as_ref if is_ref else dt)  # noqa: SLF001 - DType's public ref form; (it refuses)
        return out

    def _fallback_outputs(self, i: int) -> int:
        node = self.graph_def.node[i]
        n = len(node.attr["_output_shapes"].list.shape) if "_output_shapes" in node.attr else 0
        used = [k for _, k in self.consumers_of(i)]
        return max([n, *(k + 1 for k in used)] or [1])

    def output_shape(self, i: int, k: int):
        import tensorflow as tf  # noqa: PLC0415

        node = self.graph_def.node[i]
        if "_output_shapes" in node.attr:
            shapes = node.attr["_output_shapes"].list.shape
            if k < len(shapes):
                return tf.TensorShape(shapes[k])
        t = self.types[i]
        if k == 0 and t in ("Placeholder", "PlaceholderV2") and "shape" in node.attr:
            shape = node.attr["shape"].shape
            if self.graph_def.versions.producer < 21 and not shape.dim and not shape.unknown_rank:
                return tf.TensorShape(None)   # TF <= 1.0 wrote an unknown shape as an empty one (what import reads)
            return tf.TensorShape(shape)
        if k == 0 and t in ("VariableV2", "Variable") and "shape" in node.attr:
            return tf.TensorShape(node.attr["shape"].shape)
        if k == 0 and t == "Const":
            return tf.TensorShape(node.attr["value"].tensor.tensor_shape)
        if t == "VarHandleOp":
            return tf.TensorShape([])
        return tf.TensorShape(None)

    def declared_shape(self, i: int) -> list[int | None] | None:
        """A placeholder's / variable's / constant's declared shape (None: unknown rank)."""
        node = self.graph_def.node[i]
        proto = node.attr["value"].tensor.tensor_shape if self.types[i] == "Const" else node.attr["shape"].shape
        if proto.unknown_rank:
            return None
        return [d.size if d.size >= 0 else None for d in proto.dim]

    def declared_dtype(self, i: int) -> np.dtype:
        import tensorflow as tf  # noqa: PLC0415

        node = self.graph_def.node[i]
        attr = node.attr["dtype"].type if "dtype" in node.attr else node.attr["value"].tensor.dtype
        return np.dtype((_dtype_or_none(attr) or tf.float32).as_numpy_dtype)

    def oversized_constant(self, i: int) -> tuple[list[int], int] | None:
        """(declared shape, bytes) of a `Const` whose value the proto does not hold in full (a short list of values
        TensorFlow broadcasts) and that would take more than `MAX_TENSOR_BYTES`; None otherwise."""
        tensor = self.graph_def.node[i].attr["value"].tensor
        dims = [d.size for d in tensor.tensor_shape.dim]
        try:
            itemsize = np.dtype(_numpy_dtype(tensor.dtype)).itemsize
        except TypeError:
            return None
        declared = shape_bytes(dims, itemsize)
        if declared <= MAX_TENSOR_BYTES:
            return None
        return (dims, declared) if len(tensor.tensor_content) < declared else None

    # -- the tf.Graph-like view (what migrate.graph.select reads) ----------------------------------

    def op(self, i: int) -> ProtoOp:
        o = self._ops[i]
        if o is None:
            o = self._ops[i] = ProtoOp(self, i)
        return o

    def get_operations(self) -> list[ProtoOp]:
        return [self.op(i) for i in range(len(self.names))]

    def get_operation_by_name(self, name: str) -> ProtoOp:
        i = self.index.get(name)
        if i is None:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
        return self.op(i)

    def get_tensor_by_name(self, name: str) -> ProtoTensor:
        op_name, sep, port = name.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"The name {name!r} looks like an (invalid) Operation name, not a Tensor.")
        op = self.get_operation_by_name(op_name)
        k = int(port)
        if k >= len(op.outputs):
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist: the operation "
                           f"{op_name!r} has {len(op.outputs)} output(s).")
        return op.outputs[k]

    def get_collection(self, key: str) -> list:
        """The ops / tensors a `node_list` collection of the `.meta` names (entries naming no node are skipped)."""
        if key not in self.meta_def.collection_def:
            return []
        col = self.meta_def.collection_def[key]
        if col.WhichOneof("kind") != "node_list":
            return []
        out = []
        for entry in col.node_list.value:
            name, k = split_input(entry)
            i = self.index.get(name)
            if i is None:
                continue
            op = self.op(i)
            if ":" in entry and k < len(op.outputs):
                out.append(op.outputs[k])
            elif ":" not in entry:
                out.append(op)
        return out


class ProtoOp:
    """One node of a `ProtoGraph`, read like a `tf.Operation`."""

    __slots__ = ("graph", "index", "_outputs")

    def __init__(self, graph: ProtoGraph, i: int):
        self.graph, self.index, self._outputs = graph, i, None

    @property
    def name(self) -> str:
        return self.graph.names[self.index]

    @property
    def type(self) -> str:
        return self.graph.types[self.index]

    @property
    def node_def(self):
        return self.graph.graph_def.node[self.index]

    @property
    def outputs(self) -> list[ProtoTensor]:
        if self._outputs is None:
            self._outputs = [ProtoTensor(self, k) for k in range(self.graph.num_outputs(self.index))]
        return self._outputs

    @property
    def inputs(self) -> list[ProtoTensor]:
        g = self.graph
        out = []
        for j, k in g.inputs_of(self.index):
            if k >= 0:
                outs = g.op(j).outputs
                out.append(outs[k] if k < len(outs) else ProtoTensor(g.op(j), k))
        return out

    @property
    def control_inputs(self) -> list[ProtoOp]:
        return [self.graph.op(j) for j, k in self.graph.inputs_of(self.index) if k < 0]

    def get_attr(self, name: str):
        import tensorflow as tf  # noqa: PLC0415

        node = self.node_def
        if name not in node.attr:
            raise ValueError(f"Operation {self.name!r} has no attr named {name!r}.")
        a = node.attr[name]
        kind = a.WhichOneof("value")
        if kind == "type":
            dt = _dtype_or_none(a.type)
            if dt is None:
                raise ValueError(f"Operation {self.name!r} has attr {name!r} = {a.type}, which is no dtype.")
            return dt
        if kind == "shape":
            return tf.TensorShape(a.shape)
        if kind == "list":
            lst = a.list
            for field in ("s", "i", "f", "b"):
                if len(getattr(lst, field)):
                    return list(getattr(lst, field))
            if len(lst.type):
                types = [_dtype_or_none(t) for t in lst.type]
                if None in types:
                    raise ValueError(f"Operation {self.name!r} has attr {name!r} = {list(lst.type)}, not all dtypes.")
                return types
            if len(lst.shape):
                return [tf.TensorShape(s) for s in lst.shape]
            return []
        return getattr(a, kind) if kind else None

    def __repr__(self) -> str:
        return f"<ProtoOp {self.name!r} type={self.type}>"


class ProtoTensor:
    """One output of a `ProtoOp`, read like a `tf.Tensor`."""

    __slots__ = ("op", "value_index", "_dtype", "_shape")

    def __init__(self, op: ProtoOp, k: int):
        self.op, self.value_index, self._dtype, self._shape = op, k, None, None

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> ProtoGraph:
        return self.op.graph

    @property
    def dtype(self):
        if self._dtype is None:
            dtypes = self.op.graph.output_dtypes(self.op.index)
            if self.value_index < len(dtypes):
                self._dtype = dtypes[self.value_index]
            else:
                import tensorflow as tf  # noqa: PLC0415

                self._dtype = tf.float32
        return self._dtype

    @property
    def shape(self):
        if self._shape is None:
            self._shape = self.op.graph.output_shape(self.op.index, self.value_index)
        return self._shape

    def get_shape(self):
        return self.shape

    def consumers(self) -> list[ProtoOp]:
        g = self.op.graph
        return [g.op(j) for j, k in g.consumers_of(self.op.index) if k == self.value_index]

    def __repr__(self) -> str:
        return f"<ProtoTensor {self.name!r}>"


def _gather_batch_dims(g: ProtoGraph, i: int) -> str | None:
    """GatherV2 / ResourceGather `batch_dims`: within [-rank(indices), rank(indices)] and under rank(params) once
    made non-negative (ranks as the `.meta` records them); anything but 0 where it records no rank."""
    attrs = g.graph_def.node[i].attr
    b = int(attrs["batch_dims"].i) if "batch_dims" in attrs else 0
    if b == 0:
        return None
    data = [(j, k) for j, k in g.inputs_of(i) if k >= 0]
    if len(data) < 2:
        return None     # the import refuses the node itself
    params, indices = (g.output_shape(j, k).rank for j, k in data[:2])
    if g.types[i] == "ResourceGather":
        params = None if indices is None else max(params or 0, abs(b) + 1)   # a handle: its value's rank unknown
    if params is None or indices is None:
        return f"batch_dims {b} on inputs of unknown rank"
    if not -indices <= b <= indices or (b + indices if b < 0 else b) > params - 1:
        return f"batch_dims {b} on indices of rank {indices} and params of rank {params}"
    return None


# Attribute values TensorFlow's shape functions use without checking them: importing a node that holds one aborts the
# whole process (a C++ CHECK failure, no Python exception), so `TF1Graph` refuses it on the `.meta` as data first.
# One entry per op type (found by tests/test_graph_fuzz.py): op type -> check(graph, node) -> why, or None.
IMPORT_HAZARDS = {"GatherV2": _gather_batch_dims, "ResourceGather": _gather_batch_dims}


def _dtype_or_none(enum: int):
    """`tf.as_dtype(enum)`, or None for a value that is no dtype (0 = DT_INVALID: the attr is missing or damaged)."""
    import tensorflow as tf  # noqa: PLC0415

    try:
        return tf.as_dtype(enum)
    except TypeError:
        return None


def _numpy_dtype(enum: int):
    import tensorflow as tf  # noqa: PLC0415

    return tf.as_dtype(enum).as_numpy_dtype


def _registered_op_defs(op_types: set[str]) -> dict:
    """OpDefs of this TensorFlow for op types the `.meta`'s own op list lacks (a hand-written GraphDef), through the
    public `export_meta_graph` (it strips the registry down to the op types of the graph it is given)."""
    import tensorflow as tf  # noqa: PLC0415

    gd = tf.compat.v1.GraphDef()
    for t in sorted(op_types):
        node = gd.node.add()
        node.name, node.op = f"n{len(gd.node)}", t
    try:
        with tf.Graph().as_default():
            meta = tf.compat.v1.train.export_meta_graph(graph_def=gd, collection_list=[])
    except Exception:  # noqa: BLE001 - dtypes fall back to float32, shapes to unknown
        return {}
    return {o.name: o for o in meta.meta_info_def.stripped_op_list.op}
