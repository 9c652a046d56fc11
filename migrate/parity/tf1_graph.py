"""A TF1 model's own graph, imported from its checkpoint's `.meta` and restored: the reference side of parity.

No legacy Python code is needed: the `.meta` file written by `tf.train.Saver` (TF 1.0 - 1.15) holds the
graph, the checkpoint holds the weights.

API (what `tf-migrate parity --tf1`, the pytest fixture and the graph -> Keras converter use):

```python
from migrate.parity.tf1_graph import TF1Graph

with TF1Graph("runs/model/model.ckpt-1000") as g:       # a prefix, a directory, or PREFIX.meta
    g.placeholders        # [PlaceholderInfo(name="ids", dtype=int32, shape=(None, None), has_default=False), ...]
    g.restored            # TF1 names of the variables restored from the checkpoint
    g.not_restored        # variables the .meta declares but the checkpoint lacks (e.g. optimizer slots)
    g.id_range("ids")     # 30: the first dimension of the embedding the placeholder's ids index (or None)
    logits, = g.run(["decoder/logits:0"], {"ids:0": ids, "keep_prob": 1.0})
```

- `TF1Graph(checkpoint, meta=None)`: imports `meta` (default `PREFIX.meta`) with
  `tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)` inside its own `tf.Graph()`, then restores
  every variable the checkpoint holds (a `Saver` over the intersection of the graph's variables and the
  checkpoint's; the rest are initialised when they have an initializer). Grappler is off: the graph runs as
  written.
- `.placeholders`: `PlaceholderInfo(name, dtype, shape, has_default)`; `shape` is a tuple with None for
  unknown dimensions, or None when even the rank is unknown (TF 1.0 placeholders written with an empty shape
  attr); `has_default` for `PlaceholderWithDefault` (not fed unless asked).
- `TF1Graph(..., constants={"scope/dropout/keep_prob:0": 1.0})`: `Const` nodes given another value before the
  import (`.overridden`), for constants inside while loops that no feed can replace.
- `TF1Graph(..., variables={"token_embedding/token_embedding_weights": "zeros"})` (`--variable NAME=FILE.npy`
  / `NAME=zeros`): those variables are not restored from the checkpoint but assigned the given value (a NumPy
  array, a `.npy` path or `"zeros"`; its shape must be the `.meta`'s declared one), as a program that assigns a
  variable itself when it loads (NeuroNER's GloVe table) does. `.assigned` lists them:
  `[{"name", "source", "shape"}]`. `parse_variable_options(["NAME=FILE.npy", ...])` reads the command-line form.
- `.needed(fetches) -> list[PlaceholderInfo]`: the placeholders those tensors depend on.
- `.run(fetches, feed) -> list[np.ndarray]`: names with or without `:0`; feed keys likewise.
- `.id_range(placeholder) -> int | None`: follows the placeholder's consumers in the GraphDef to a
  `Gather` / `GatherV2` / `ResourceGather` (`embedding_lookup`) whose params are a variable and returns that
  variable's first dimension (a `OneHot`'s depth counts too); None when the ids index no embedding.
- `.values(names=None) -> {name: array}`: variables' current values (default: the restored ones).
- `.tensor(name)`, `.graph`, `.session`, `.close()`; a context manager.

Raises `TF1GraphError` (a `ParityInputError`, exit code 2) for a missing `.meta`, a graph that does not import
(an op unknown to this TensorFlow, e.g. from `tf.contrib`), a variable whose shape differs from the
checkpoint's, or an unknown tensor name.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from migrate.parity.errors import ParityInputError

PLACEHOLDER_OPS = ("Placeholder", "PlaceholderV2", "PlaceholderWithDefault")
VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
SAVER_OPS = ("SaveV2", "Save", "SaveSlices", "RestoreV2", "Restore", "RestoreSlice", "MergeV2Checkpoints")
GATHER_OPS = ("Gather", "GatherV2", "ResourceGather")
# Ops an id tensor passes through unchanged on its way to an embedding lookup.
_ID_PASSTHROUGH = ("Identity", "Cast", "Reshape", "ExpandDims", "Squeeze", "Transpose", "StridedSlice", "Slice",
                   "Unpack", "Split", "SplitV", "TensorArrayScatterV3", "TensorArrayReadV3", "Enter", "Merge",
                   "Switch", "Pack", "ConcatV2", "Concat", "Tile", "GatherV2", "Gather", "ReverseSequence",
                   "ReverseV2", "Where", "Select", "SelectV2", "TensorArrayGatherV3")
# Ops between a variable and the params input of a Gather.
_READ_OPS = ("Identity", "Enter", "ReadVariableOp", "Switch", "ConcatV2", "Concat")


class TF1GraphError(ParityInputError):
    """The `.meta` graph cannot be imported, restored or run as asked (exit code 2)."""


@dataclass(frozen=True)
class PlaceholderInfo:
    """One input of the graph.

    Attributes:
        name: the op name (`"encoder/ids"`); the tensor is `name + ":0"`.
        dtype: a NumPy dtype (`np.int32`, `np.float32`, `np.bool_`, ...).
        shape: dimensions with None where unknown, or None when the rank itself is unknown.
        has_default: a `PlaceholderWithDefault` (runs without a feed).
    """

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...] | None
    has_default: bool = False

    @property
    def tensor(self) -> str:
        return self.name + ":0"


def tensor_name(name: str) -> str:
    """`"x"` -> `"x:0"`; `"x:1"` unchanged."""
    return name if ":" in name else name + ":0"


def op_name(name: str) -> str:
    """`"x:0"` / `"^x"` -> `"x"`."""
    return name.lstrip("^").split(":", 1)[0]


def meta_path_of(prefix: str) -> str:
    """The `.meta` file of a checkpoint prefix (`migrate.files.find_meta`); TF1GraphError when there is none."""
    from migrate.files import find_meta  # noqa: PLC0415

    found_meta = find_meta(prefix)
    if found_meta is not None:
        return found_meta
    meta = prefix + ".meta"
    folder = os.path.dirname(prefix) or "."
    metas = sorted(f for f in os.listdir(folder) if f.endswith(".meta")) if os.path.isdir(folder) else []
    found = f" ({len(metas)} .meta files there: {', '.join(metas[:4])})" if metas else ""
    raise TF1GraphError(f"{meta}: no such file{found}; parity --tf1 needs the graph tf.train.Saver wrote beside the "
                        f"checkpoint (PREFIX.meta). Pass the prefix whose .meta exists.")


def resolve_checkpoint(path: str) -> str:
    """A directory, prefix, `.index` or `.meta` path -> the checkpoint prefix (exit 2 when there is none)."""
    from migrate.errors import InputError  # noqa: PLC0415
    from migrate.files import resolve_checkpoint as resolve  # noqa: PLC0415

    try:
        return resolve(path)
    except InputError as e:
        raise TF1GraphError(str(e)) from None


class TF1Graph:
    """A checkpoint's `.meta` graph, imported into its own `tf.Graph` and restored in its own session.

    Args:
        checkpoint: a checkpoint prefix, its directory, or its `.index` / `.meta` file.
        meta: the `.meta` file when it is not `PREFIX.meta`.
        constants: `{tensor name: value}`: `Const` nodes given another value before the import (e.g. a dropout
            keep probability built into a while loop as a constant, which no feed can replace); names that
            are not a `Const` are ignored here (they are fed). `.overridden` lists those replaced.
        variables: `{variable name: array | "FILE.npy" | "zeros"}`: variables assigned that value instead of the
            checkpoint's (shape = the `.meta`'s declared shape, else TF1GraphError). `.assigned` lists them.
    """

    def __init__(self, checkpoint: str, meta: str | None = None, constants: dict[str, Any] | None = None,
                 variables: dict[str, Any] | None = None):
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # graphs that use tf.compat.v1.nn.rnn_cell
        from migrate.quiet import silence_after_import  # noqa: PLC0415

        silence_after_import()
        import tensorflow as tf  # noqa: PLC0415

        self.tf = tf
        self.prefix = resolve_checkpoint(checkpoint)
        self.meta = meta or meta_path_of(self.prefix)
        self.graph = tf.Graph()
        with self.graph.as_default():
            try:
                saver = tf.compat.v1.train.import_meta_graph(self._meta_def(constants or {}), clear_devices=True)
            except (ValueError, KeyError, tf.errors.OpError, TypeError) as e:
                first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
                why = ("an op from tf.contrib or a custom op has no kernel here" if "not registered" in str(e)
                       else "the MetaGraphDef does not fit the graph it holds")
                raise TF1GraphError(f"{self.meta}: the graph does not import into TensorFlow {tf.__version__} "
                                    f"({first}); {why}. "
                                    f"Compare against your own tensors with migrate.parity.compare instead.") from None
            del saver  # its SaverDef restores every declared variable; ours restores those present
            self._restore_ops = self._build_restore(_variable_values(variables or {}))
        self.session = tf.compat.v1.Session(graph=self.graph, config=_session_config(tf))
        with self.graph.as_default():
            self._restore()
        self.placeholders = self._placeholders()

    def _meta_def(self, constants: dict[str, Any]):
        tf = self.tf
        meta_def = tf.compat.v1.MetaGraphDef()
        try:
            with open(self.meta, "rb") as f:
                meta_def.ParseFromString(f.read())
        except OSError as e:
            raise TF1GraphError(f"{self.meta}: cannot read ({e.strerror})") from None
        except Exception as e:  # a protobuf DecodeError: not a MetaGraphDef
            raise TF1GraphError(f"{self.meta}: not a MetaGraphDef written by tf.train.Saver ({e})") from None
        self.pruned_collections = _prune_collections(meta_def)
        wanted = {op_name(k): v for k, v in constants.items() if k.endswith(":0") or ":" not in k}
        self.overridden: dict[str, Any] = {}
        for node in meta_def.graph_def.node:
            if node.op == "Const" and node.name in wanted:
                old = tf.make_ndarray(node.attr["value"].tensor)
                try:
                    new = np.broadcast_to(np.asarray(wanted[node.name], dtype=old.dtype), old.shape).copy()
                except (ValueError, TypeError):
                    raise TF1GraphError(f"{self.meta}: constant {node.name}:0 has shape {list(old.shape)} and dtype "
                                        f"{old.dtype}; {wanted[node.name]!r} does not fit it") from None
                node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(new))
                self.overridden[node.name + ":0"] = new.tolist()
        return meta_def

    # -- restore -----------------------------------------------------------------------------------

    def _build_restore(self, given: dict[str, tuple[str, np.ndarray | None]]):
        tf = self.tf
        reader = tf.compat.v1.train.NewCheckpointReader(self.prefix)
        shapes = reader.get_variable_to_shape_map()
        variables: dict[str, Any] = {}
        for v in tf.compat.v1.global_variables() + tf.compat.v1.local_variables():
            variables.setdefault(v.op.name, v)
        self._assign_given = self._given_values(given, variables, shapes)
        present = {n: v for n, v in variables.items() if n in shapes and n not in given}
        problems = [(n, v.shape.as_list(), list(shapes[n])) for n, v in sorted(present.items())
                    if v.shape.is_fully_defined() and v.shape.as_list() != list(shapes[n])]
        if problems:
            first = problems[0][0]
            raise TF1GraphError(
                f"{self.prefix}: {len(problems)} variable(s) of {self.meta} have another shape in the checkpoint "
                f"({'; '.join(f'{n}: graph {g}, checkpoint {c}' for n, g, c in problems[:5])}). TensorFlow 1 "
                f"cannot restore this pair either: tf.train.Saver.restore fails with 'Assign requires shapes of "
                f"both tensors to match'. Usually the program resized the variable while it ran (tf.assign(v, "
                f"value, validate_shape=False)) before saving, so the .meta keeps the declared shape and the values "
                f"the model runs with are not in the checkpoint (NeuroNER, for one, saves a 1-row token embedding "
                f"and rebuilds the table from GloVe when it loads). Do what the program does when it loads: pass "
                f"--variable {first}=FILE.npy with the value it assigns (shape {problems[0][1]}; "
                f"--variable {first}=zeros when the value does not matter for the check), once per variable; "
                f"the converted model then holds that value, not the checkpoint's. Or restore it the way the "
                f"program does, assign the full value, save a new checkpoint with tf.train.Saver and use that one.")
        self.variables = variables
        self.restored = sorted(present)
        self.not_restored = sorted(set(variables) - set(present) - set(given))
        # Variables in no collection (hand-built graphs): assign them from the checkpoint directly.
        known = set(variables)
        self._loose: list[tuple[Any, Any, str]] = []
        for op in self.graph.get_operations():
            if op.type in ("VariableV2", "Variable") and op.name not in known and op.name in shapes:
                ph = tf.compat.v1.placeholder(op.outputs[0].dtype.base_dtype, name=None)
                self._loose.append((tf.compat.v1.assign(op.outputs[0], ph), ph, op.name))
                self.restored.append(op.name)
        saver = tf.compat.v1.train.Saver(var_list=present, reshape=False) if present else None
        init = [variables[n].initializer for n in self.not_restored if getattr(variables[n], "initializer", None)]
        return saver, init, reader

    def _given_values(self, given, variables, shapes) -> list[tuple[Any, Any, np.ndarray]]:
        """Checks `--variable` values against the .meta's declared shapes; returns (assign op, placeholder, value)."""
        tf = self.tf
        self.assigned: list[dict[str, Any]] = []
        out = []
        for name, (source, value) in given.items():
            var = variables.get(name)
            if var is None:
                near = sorted(n for n in variables if name.rsplit("/", 1)[-1] in n)[:5] or sorted(variables)[:5]
                raise TF1GraphError(f"--variable {name}={source}: {self.meta} declares no variable {name!r} "
                                    f"(e.g. {', '.join(near) or 'none'})")
            declared = var.shape.as_list() if var.shape.rank is not None else None
            dtype = np.dtype(var.dtype.base_dtype.as_numpy_dtype)
            if value is None:  # zeros
                if declared is None or None in declared:
                    raise TF1GraphError(f"--variable {name}=zeros: {self.meta} declares it with shape "
                                        f"{declared} (not fully known); pass --variable {name}=FILE.npy instead")
                value = np.zeros(declared, dtype)
            elif declared is None or len(declared) != value.ndim or any(
                    d is not None and d != s for d, s in zip(declared, value.shape)):
                raise TF1GraphError(f"--variable {name}={source}: the value has shape {list(value.shape)} but "
                                    f"{self.meta} declares {name} with shape {declared}; pass an array of shape "
                                    f"{declared}")
            else:
                try:
                    value = value.astype(dtype, casting="same_kind")
                except TypeError:
                    raise TF1GraphError(f"--variable {name}={source}: dtype {value.dtype} does not fit the "
                                        f"variable's {dtype}") from None
            ph = tf.compat.v1.placeholder(var.dtype.base_dtype, shape=value.shape)
            out.append((tf.compat.v1.assign(var, ph, validate_shape=False), ph, value))
            self.assigned.append({"name": name, "source": source, "shape": list(value.shape),
                                  "checkpoint_shape": list(shapes[name]) if name in shapes else None})
        return out

    def _restore(self) -> None:
        saver, init, reader = self._restore_ops
        tf = self.tf
        if init:
            try:
                self.session.run(init)
            except tf.errors.OpError:
                pass  # an initializer that needs a feed: that variable stays uninitialised (never read forward)
        if saver is not None:
            try:
                saver.restore(self.session, self.prefix)
            except tf.errors.OpError as e:
                raise TF1GraphError(f"{self.prefix}: cannot restore the graph's variables "
                                    f"({str(e).splitlines()[0][:300]})") from None
        for assign, ph, name in self._loose:
            self.session.run(assign, {ph: reader.get_tensor(name)})
        for assign, ph, value in self._assign_given:
            self.session.run(assign, {ph: value})

    # -- inputs ------------------------------------------------------------------------------------

    def _placeholders(self) -> list[PlaceholderInfo]:
        out = []
        loose_phs = {ph.op.name for _, ph, _ in self._loose + self._assign_given}
        ops = self.graph.get_operations()
        saver_scopes = {op.name.rsplit("/", 1)[0] for op in ops if op.type in SAVER_OPS and "/" in op.name}
        for op in ops:
            if op.type not in PLACEHOLDER_OPS or op.name in loose_phs:
                continue
            if "/" in op.name and op.name.rsplit("/", 1)[0] in saver_scopes:
                continue  # a Saver's filename input, not a model input
            t = op.outputs[0]
            shape = None if t.shape.rank is None else tuple(t.shape.as_list())
            out.append(PlaceholderInfo(op.name, np.dtype(t.dtype.base_dtype.as_numpy_dtype), shape,
                                       op.type == "PlaceholderWithDefault"))
        return out

    def placeholder(self, name: str) -> PlaceholderInfo:
        want = op_name(name)
        for p in self.placeholders:
            if p.name == want:
                return p
        raise TF1GraphError(f"{self.meta}: no placeholder {name!r}; the graph's placeholders are "
                            f"{', '.join(p.tensor for p in self.placeholders) or 'none'}")

    def needed(self, fetches: list[str]) -> list[PlaceholderInfo]:
        """The placeholders the `fetches` depend on (data and control inputs), in graph order."""
        seen: set[str] = set()
        stack = [self.tensor(f).op for f in fetches]
        while stack:
            op = stack.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
        return [p for p in self.placeholders if p.name in seen]

    @property
    def graph_def(self):
        return self.graph.as_graph_def()

    def tensor(self, name: str):
        try:
            return self.graph.get_tensor_by_name(tensor_name(name))
        except (KeyError, ValueError):
            raise TF1GraphError(f"{self.meta}: no tensor {tensor_name(name)!r} in the graph") from None

    def id_range(self, placeholder: str) -> int | None:
        """The vocabulary size the ids fed to `placeholder` index, from the embedding they reach; None if none."""
        start = self.graph.get_operation_by_name(op_name(placeholder))
        seen = {start.name}
        queue = deque([start])
        sizes: list[int] = []
        while queue:
            op = queue.popleft()
            for out in op.outputs:
                for consumer in out.consumers():
                    if consumer.type in GATHER_OPS and len(consumer.inputs) > 1 and consumer.inputs[1] is out:
                        n = self._variable_rows(consumer.inputs[0])
                        if n is not None:
                            sizes.append(n)
                            continue
                    if consumer.type == "OneHot" and consumer.inputs[0] is out:
                        depth = _const_value(consumer.inputs[1])
                        if depth is not None:
                            sizes.append(int(depth))
                            continue
                    if consumer.type in _ID_PASSTHROUGH and consumer.name not in seen:
                        seen.add(consumer.name)
                        queue.append(consumer)
        return min(sizes) if sizes else None

    def _variable_rows(self, t) -> int | None:
        seen = set()
        while t.op.type in _READ_OPS and t.op.inputs and t.op.name not in seen:
            seen.add(t.op.name)
            t = t.op.inputs[0]
        if t.op.type in VARIABLE_OPS:
            shape = t.op.get_attr("shape")
            dims = [d.size for d in shape.dim] if hasattr(shape, "dim") else list(shape)
            if dims and dims[0] and dims[0] > 0:
                return int(dims[0])
        elif t.shape.rank and t.shape[0] is not None:  # a constant embedding
            return int(t.shape[0])
        return None

    # -- running -----------------------------------------------------------------------------------

    def run(self, fetches: list[str], feed: dict[str, Any]) -> list[np.ndarray]:
        """Fetch tensors by name, feeding placeholders by name (`"ids"` or `"ids:0"`)."""
        tf = self.tf
        targets = [self.tensor(f) for f in fetches]
        feed_dict = {self.tensor(k): np.asarray(v) for k, v in feed.items()}
        try:
            values = self.session.run(targets, feed_dict)
        except tf.errors.OpError as e:
            raise TF1GraphError(f"{self.meta}: running {', '.join(tensor_name(f) for f in fetches)} failed: "
                                f"{type(e).__name__}: {str(e).splitlines()[0][:400]}") from None
        return [np.asarray(v) for v in values]

    def values(self, names: list[str] | None = None) -> dict[str, np.ndarray]:
        """The current values of variables by TF1 name (default: every restored one)."""
        names = self.restored if names is None else names
        unknown = [n for n in names if n not in self.variables]
        if unknown:
            raise TF1GraphError(f"{self.meta}: no variable {', '.join(unknown)}")
        with self.graph.as_default():
            return dict(zip(names, self.session.run([self.variables[n] for n in names])))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> TF1Graph:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_variable_options(items: list[str] | None) -> dict[str, str]:
    """`--variable NAME=FILE.npy` / `NAME=zeros` (repeatable) -> `{NAME: "FILE.npy" | "zeros"}` (TF1GraphError
    for a malformed item, a missing file or a name given twice)."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, source = item.partition("=")
        name, source = op_name(name.strip()), source.strip()
        if not sep or not name or not source:
            raise TF1GraphError(f"--variable {item!r}: expected NAME=FILE.npy or NAME=zeros, e.g. --variable "
                                f"token_embedding/token_embedding_weights=zeros")
        if name in out:
            raise TF1GraphError(f"--variable {name}: given twice ({out[name]}, {source})")
        if source != "zeros" and not os.path.isfile(source):
            raise TF1GraphError(f"--variable {item}: {source}: no such file; expected a .npy file (numpy.save) "
                                f"holding the variable's value, or zeros")
        out[name] = source
    return out


def _variable_values(variables: dict[str, Any]) -> dict[str, tuple[str, np.ndarray | None]]:
    """`{name: array | path | "zeros"}` -> `{name: (source, array or None for zeros)}`."""
    out = {}
    for raw, value in variables.items():
        name = op_name(raw)
        if isinstance(value, str | os.PathLike) and os.fspath(value) == "zeros":
            out[name] = ("zeros", None)
        elif isinstance(value, str | os.PathLike):
            path = os.fspath(value)
            try:
                array = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise TF1GraphError(f"--variable {name}={path}: cannot read a .npy array ({e})") from None
            if not isinstance(array, np.ndarray):
                array.close()
                raise TF1GraphError(f"--variable {name}={path}: an .npz archive; expected one array (numpy.save)")
            out[name] = (path, array)
        else:
            out[name] = ("array", np.asarray(value))
    return out


def _prune_collections(meta_def) -> dict[str, int]:
    """Drop collection entries that name nodes the graph does not have ({collection: entries dropped}).

    Libraries of the TF 1.0 era (TFLearn, e.g.) saved collections pointing at ops they built outside the
    saved graph (a training op `Adam`); `import_meta_graph` then fails on an entry nothing here needs."""
    nodes = {n.name for n in meta_def.graph_def.node}
    dropped: dict[str, int] = {}
    for key in list(meta_def.collection_def):
        col = meta_def.collection_def[key]
        if col.WhichOneof("kind") != "node_list":
            continue
        keep = [v for v in col.node_list.value if op_name(v.lstrip("^")) in nodes]
        if len(keep) != len(col.node_list.value):
            dropped[key] = len(col.node_list.value) - len(keep)
            del col.node_list.value[:]
            col.node_list.value.extend(keep)
    return dropped


def _const_value(t) -> Any:
    if t.op.type != "Const":
        return None
    import tensorflow as tf  # noqa: PLC0415

    return tf.make_ndarray(t.op.get_attr("value"))


def _session_config(tf):
    """Grappler off: the graph runs as written (no constant folding / arithmetic rewrites)."""
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config
