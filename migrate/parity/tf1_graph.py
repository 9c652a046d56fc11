"""A TF1 model's own graph, imported from its checkpoint's `.meta` and restored: the reference side of parity.

No legacy Python code is needed: the `.meta` file written by `tf.train.Saver` (TF 1.0 - 1.15) holds the
graph, the checkpoint holds the weights.

API (what `tf-migrate parity --tf1`, the pytest fixture and the graph -> Keras converter use):

```python
from migrate.parity.tf1_graph import TF1Graph

with TF1Graph("runs/model/model.ckpt-1000") as g:       # a prefix, a directory, or PREFIX.meta
    g.focus(["decoder/logits:0"])   # import and restore only what these tensors need (else: all, on first use)
    g.placeholders        # [PlaceholderInfo(name="ids", dtype=int32, shape=(None, None), has_default=False), ...]
    g.restored            # TF1 names of the variables restored from the checkpoint
    g.not_restored        # imported variables the checkpoint lacks (never read by what is run: see below)
    g.id_range("ids")     # 30: the first dimension of the embedding the placeholder's ids index (or None)
    logits, = g.run(["decoder/logits:0"], {"ids:0": ids, "keep_prob": 1.0})
```

- `TF1Graph(checkpoint, meta=None)`: reads `meta` (default `PREFIX.meta`) as data (`.proto`, a
  `migrate.parity.graph_def.ProtoGraph`: names, types, dtypes and shapes of every node, nothing imported).
  `.focus(fetches, extra=())` imports into its own `tf.Graph()` only the nodes those tensors need (inputs, control
  inputs, whole while loops; devices cleared), then restores the imported variables the checkpoint holds (a
  `Saver` over them) and assigns the `variables` values. Nothing is ever initialised: a variable the checkpoint
  lacks stays uninitialised, and `focus` / `run` refuse (`VariablesNotInCheckpoint`, exit code 1, naming them)
  any fetch that reads one, so no result ever comes from a random initial value. Without `focus`, the first use
  imports the whole graph. Grappler is off: the graph runs as written.
- `.placeholders`: `PlaceholderInfo(name, dtype, shape, has_default)` of the imported part (`.all_placeholders`:
  the whole `.meta`'s); `shape` is a tuple with None for unknown dimensions, or None when even the rank is
  unknown (TF 1.0 placeholders written with an empty shape attr); `has_default` for `PlaceholderWithDefault`
  (not fed unless asked).
- `TF1Graph(..., constants={"scope/dropout/keep_prob:0": 1.0})` (or `.set_constants(...)` before the import):
  `Const` nodes given another value before the import (`.overridden`), for constants inside while loops that no
  feed can replace.
- `TF1Graph(..., variables={"token_embedding/token_embedding_weights": "zeros"})` (`--variable NAME=FILE.npy`
  / `NAME=zeros`): those variables are not restored from the checkpoint but assigned the given value (a NumPy
  array, a `.npy` path or `"zeros"`; its shape must be the `.meta`'s declared one), as a program that assigns a
  variable itself when it loads (NeuroNER's GloVe table) does. `.assigned` lists those the imported part holds:
  `[{"name", "source", "shape", "checkpoint_shape"}]` (`.unused_given`: the others).
  `parse_variable_options(["NAME=FILE.npy", ...])` reads the command-line form.
- `.missing_variables(fetches)`: the variables they read that have no value (what `focus` refuses).
- `.needed(fetches) -> list[PlaceholderInfo]`: the placeholders those tensors depend on.
- `.run(fetches, feed) -> list[np.ndarray]`: names with or without `:0`; feed keys likewise. TensorFlow's refusal
  of the feed is a `GraphRunError` (a `TF1GraphError`) whose message is `describe_op_error`'s and whose `.kind`,
  `.node`, `.op_type`, `.text` keep the parts apart.
- `.id_range(placeholder) -> int | None`: follows the placeholder's consumers in the GraphDef to a
  `Gather` / `GatherV2` / `ResourceGather` (`embedding_lookup`) whose params are a variable and returns that
  variable's first dimension (a `OneHot`'s depth counts too); None when the ids index no embedding.
- `.values(names=None) -> {name: array}`: variables' current values (default: the restored ones).
- `.tensor(name)`, `.has_tensor(name)` (the whole `.meta`), `.graph`, `.session`, `.close()`; a context manager.
- Other forms (`migrate.parity.forms`: `TF1Graph(path, tag_set=, signature=)`): `.run` runs the original artefact
  as its own loader loads it (`.reference`, `migrate.parity.reference`: a SavedModel through
  `tf.compat.v1.saved_model.loader.load`, a frozen graph's file through `import_graph_def`), while `.graph` /
  `.session` stay what the translation reads; `.loaded_values` names the SavedModel variables its main_op /
  legacy_init_op changed at load (this graph takes the loaded values); `.string_vocabulary(placeholder)` the keys
  of the lookup table its strings reach.

Raises `TF1GraphError` (a `ParityInputError`, exit code 2) for a missing `.meta`, a graph that does not import
(an op unknown to this TensorFlow, e.g. from `tf.contrib`), a variable whose shape differs from the
checkpoint's, corrupt checkpoint data (naming the file and the tensor), a constant declared larger than
`graph_def.MAX_TENSOR_BYTES` that the `.meta` does not hold, or an unknown tensor name; TensorFlow's own error
text is kept whole (`describe_op_error`).
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from migrate.errors import MismatchError
from migrate.parity.errors import ParityInputError
from migrate.parity.graph_def import (
    MAX_TENSOR_BYTES,
    PLACEHOLDER_OPS,
    VARIABLE_OPS,
    ProtoGraph,
    human_bytes,
    read_meta,
    shape_bytes,
)

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


RUN_SECONDS_ENV = "TF_MIGRATE_RUN_SECONDS"
RUN_SECONDS = 300.0   # one TF1 run of the parity inputs: a loop that never stops is an error, not a hang


def run_seconds() -> float:
    """The limit on one TF1 run (`$TF_MIGRATE_RUN_SECONDS`, default 300 s)."""
    try:
        return max(0.001, float(os.environ.get(RUN_SECONDS_ENV, RUN_SECONDS)))
    except ValueError:
        return RUN_SECONDS


class GraphRunError(TF1GraphError):
    """TensorFlow refused to run the graph on the feed given (exit code 2). The message is TensorFlow's own
    (`describe_op_error`); the parts stay apart for the caller that explains what to feed instead.

    Attributes:
        fetches: the tensors asked for.
        kind: the `OpError` class name (`"InvalidArgumentError"`).
        node: the node that failed (None when TensorFlow names none).
        op_type: its op type (`"Assert"`, `"ConcatV2"`; None when unknown).
        text: TensorFlow's error text, without the "Graph execution error:" header and stack traces.
    """

    def __init__(self, message: str, fetches: list[str], kind: str, node: str | None, op_type: str | None,
                 text: str):
        super().__init__(message)
        self.fetches, self.kind, self.node, self.op_type, self.text = fetches, kind, node, op_type, text


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


class VariablesNotInCheckpoint(MismatchError):
    """The tensors asked for read variables the checkpoint does not hold (exit code 1): the graph would run, and a
    converted model would hold, made-up values. `.names` lists them."""

    def __init__(self, message: str, names: list[str]):
        super().__init__(message)
        self.names = names


class TF1Graph:
    """A checkpoint's `.meta` graph, restored in its own `tf.Graph` and session; only what the outputs need.

    Args:
        checkpoint: a checkpoint prefix, its directory, or its `.index` / `.meta` file.
        meta: the `.meta` file when it is not `PREFIX.meta`.
        constants: `{tensor name: value}`: `Const` nodes given another value before the import (e.g. a dropout
            keep probability built into a while loop as a constant, which no feed can replace); names that
            are not a `Const` are ignored here (they are fed). `.overridden` lists those replaced.
        variables: `{variable name: array | "FILE.npy" | "zeros"}`: variables assigned that value instead of the
            checkpoint's (shape = the `.meta`'s declared shape, else TF1GraphError). `.assigned` lists them.
        outputs: the tensors that will be run (`focus(outputs)` at once); default: import on first use, the whole
            graph unless `focus` was called.
    """

    def __init__(self, checkpoint: str, meta: str | None = None, constants: dict[str, Any] | None = None,
                 variables: dict[str, Any] | None = None, outputs: list[str] | None = None,
                 tag_set: str | None = None, signature: str | None = None, source: Any = None):
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # graphs that use tf.compat.v1.nn.rnn_cell
        from migrate.quiet import silence_after_import  # noqa: PLC0415

        silence_after_import()
        import tensorflow as tf  # noqa: PLC0415

        from migrate.parity.forms import ModelSource, open_source  # noqa: PLC0415

        self.tf = tf
        if source is None:   # the form told from the path (migrate.parity.forms): checkpoint, SavedModel, ...
            source = ModelSource("checkpoint", os.fspath(checkpoint), "") if meta is not None else \
                open_source(checkpoint, tag_set=tag_set, signature=signature)
        self.source = source
        self._frozen: dict[str, np.ndarray] = dict(source.frozen)
        if source.meta_def is None:   # a checkpoint and its .meta
            self.prefix = resolve_checkpoint(source.prefix or checkpoint)
            self.meta = meta or meta_path_of(self.prefix)
            try:
                self.meta_def = read_meta(self.meta)
            except ValueError as e:
                raise TF1GraphError(f"{self.meta}: {e}") from None
            source.prefix, source.graph_file = self.prefix, self.meta
        else:                         # a SavedModel's graph, a (frozen) GraphDef: read by migrate.parity.forms
            self.prefix = source.prefix
            self.meta = source.graph_file
            self.meta_def = type(source.meta_def)()
            self.meta_def.CopyFrom(source.meta_def)   # set_constants edits nodes: the source stays as read
        self.pruned_collections = _prune_collections(self.meta_def)
        self.proto = ProtoGraph(self.meta_def)
        self.overridden: dict[str, Any] = {}
        self.set_constants(constants or {})
        self._given = _variable_values(variables or {})
        self._shapes = self._checkpoint_variables()
        self.assembled = self._cudnn_buffers()   # opaque cuDNN buffers made from TF1's canonical variables
        self._graph = None
        self._checked: dict[tuple, None] = {}
        self.references_used: dict[str, str] = {}   # op name -> what computed it instead (`_feed_references`)
        self.kept: int | None = None   # nodes imported (None: not yet)
        self.renamed: dict[str, str] = {}   # a placeholder `start_at` added -> the tensor it stands for
        if outputs is not None:
            self.focus(outputs)

    # -- before the import -------------------------------------------------------------------------

    def set_constants(self, constants: dict[str, Any]) -> None:
        """Give `Const` nodes another value before the import (see `constants`); other names are ignored."""
        if self._imported():
            raise TF1GraphError(f"{self.meta}: constants are set before the graph is imported")
        tf = self.tf
        nodes = self.meta_def.graph_def.node
        for key, value in constants.items():
            if not (key.endswith(":0") or ":" not in key):
                continue
            i = self.proto.index.get(op_name(key))
            if i is None or self.proto.types[i] != "Const":
                continue
            node = nodes[i]
            if self.proto.oversized_constant(i) is not None:
                self._refuse_constant(i)
            old = tf.make_ndarray(node.attr["value"].tensor)
            try:
                new = np.broadcast_to(np.asarray(value, dtype=old.dtype), old.shape).copy()
            except (ValueError, TypeError):
                raise TF1GraphError(f"{self.meta}: constant {node.name}:0 has shape {list(old.shape)} and dtype "
                                    f"{old.dtype}; {value!r} does not fit it") from None
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(new))
            self.overridden[node.name + ":0"] = new.tolist()

    def start_at(self, values: dict[str, Any], shapes: dict[str, Any] | None = None) -> dict[str, str]:
        """Make the named tensors inputs, where a serving client feeds them: each key of `values` (`Mfcc:0`, fed by
        the user's `--inputs` batch; `IteratorGetNext:1`, a SavedModel signature's input) that is not a placeholder's
        output becomes a `Placeholder` of its dtype and shape (the graph's declared shape, else `shapes[key]` (a
        signature's), else the value's with a free first axis), so what computed it (an audio or image decoding
        front-end, a `tf.data` iterator) is left out of the import with whatever only it needed. The only output
        of an op: the op itself becomes the placeholder (same name). Any output of a multi-output op
        (`IteratorGetNext:1`, `split:1`): a new placeholder (`IteratorGetNext_1`, else `split_output_1` where the graph has a `split_1`)
        that the op's consumers of that output read instead; `.renamed` maps it back to the original tensor, which
        is what the reference is fed (a TF1 session feeds any tensor). Before the import. Returns {key: the
        placeholder tensor now standing for it}."""
        if self._imported():
            raise TF1GraphError(f"{self.meta}: inputs are chosen before the graph is imported")
        tf = self.tf
        from migrate.graph.meta import PLACEHOLDER_OPS  # noqa: PLC0415

        shapes = shapes or {}
        nodes, made, rewire = self.meta_def.graph_def.node, {}, {}
        for key, value in values.items():
            name, _, port = key.partition(":")
            port = int(port) if port.isdigit() else 0
            i = self.proto.index.get(name)
            if i is None or self.proto.types[i] in PLACEHOLDER_OPS:
                continue   # not in the graph (the caller names it), or a placeholder already
            n_out = self.proto.num_outputs(i)
            if port >= n_out:
                raise TF1GraphError(f"{self.meta}: {key} names output {port} of {self.proto.types[i]} {name}, which "
                                    f"has {n_out} output(s) ({', '.join(f'{name}:{k}' for k in range(n_out))})")
            dtype = self.proto.output_dtypes(i)[port]
            declared = self.proto.output_shape(i, port)
            if declared.rank is None and shapes.get(key) is not None:
                declared = tf.TensorShape(shapes[key])
            if declared.rank is None and value is not None:
                declared = tf.TensorShape([None, *np.asarray(value).shape[1:]])
            if n_out == 1:
                node = nodes[i]
                node.op = "Placeholder"
                node.ClearField("attr")
                del node.input[:]
                made[key] = f"{name}:0"
            else:   # a new placeholder; the op stays for the outputs nobody started at (dropped when none is read)
                taken = set(self.proto.index) | set(rewire.values())
                new = f"{name}_{port}"
                if new in taken:   # a second tf.split is `split_1`
                    new = f"{name}_output_{port}"
                while new in taken:
                    new += "_"
                node = nodes.add()
                node.name, node.op = new, "Placeholder"
                rewire[(name, port)] = new
                made[key] = f"{new}:0"
                self.renamed[f"{new}:0"] = f"{name}:{port}"
            node.attr["dtype"].type = dtype.base_dtype.as_datatype_enum
            node.attr["shape"].shape.CopyFrom(declared.as_proto())
        if rewire:   # the consumers of a started output read its placeholder
            from migrate.parity.graph_def import split_input  # noqa: PLC0415

            for node in nodes:
                for j, text in enumerate(node.input):
                    src, k = split_input(text)
                    if (src, k) in rewire:
                        node.input[j] = rewire[(src, k)]
        if made:
            self.proto = ProtoGraph(self.meta_def)
            self.started_at = {**getattr(self, "started_at", {}), **made}
        return made

    def _checkpoint_variables(self) -> dict[str, list[int]]:
        """The checkpoint's variables and shapes, its data files checked against its index (a tensor the index
        declares larger than the data files hold is refused before anything is allocated)."""
        from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
        from migrate.errors import MigrateError  # noqa: PLC0415

        shapes = {n: list(v.shape) for n, v in self._frozen.items()}   # a frozen graph's weights
        if self.prefix is None:
            return shapes
        try:
            ckpt = Checkpoint.open(self.prefix)
        except MigrateError as e:
            raise TF1GraphError(str(e)) from None
        return {**{n: list(v.shape) for n, v in ckpt.variables.items()}, **shapes}

    def _cudnn_buffers(self) -> dict[str, str]:
        """A `CudnnRNN*` op's opaque parameter variable the checkpoint lacks, where the checkpoint holds the canonical
        variables contrib's saveable writes instead (`cudnn_compatible_lstm_cell/kernel`, ...): the buffer is assembled
        from them (`migrate.checkpoint.cudnn_params`) and given like `--variable`. -> {variable: where from}."""
        from migrate.checkpoint.cudnn_params import CudnnParamsError, buffer_from_tf_canonical, canonical_groups  # noqa: PLC0415
        from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
        from migrate.parity.cudnn_reference import CUDNN_OPS  # noqa: PLC0415

        g, done = self.proto, {}
        nodes = g.nodes_of_type(CUDNN_OPS)
        if not nodes:
            return done
        groups = canonical_groups(self._shapes)
        for i in nodes:
            j = g.inputs_of(i)[3][0]
            while g.types[j] in ("Identity", "ReadVariableOp", "Enter", "Snapshot") and g.inputs_of(j):
                j = g.inputs_of(j)[0][0]
            name = g.names[j]
            if g.types[j] not in VARIABLE_OPS or name in self._shapes or name in self._given or name in done:
                continue
            mode = g.op(i).get_attr("rnn_mode")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            fits = sorted(((scope, grp) for (scope, m), grp in groups.items() if m == mode and name.startswith(scope)),
                          key=lambda sg: -len(sg[0]))
            if not fits and sum(m == mode for _, m in groups) == 1:
                fits = [(scope, grp) for (scope, m), grp in groups.items() if m == mode]
            if not fits:
                continue   # the usual refusal: the checkpoint lacks the variable
            scope, grp = fits[0]
            ckpt = Checkpoint.open(self.prefix)
            try:
                buffer, spec = buffer_from_tf_canonical(ckpt.read, grp, mode, scope)
            except CudnnParamsError as e:
                raise TF1GraphError(f"{self.prefix}: {name} ({g.types[i]}'s parameters): {e}") from None
            source = (f"assembled from the canonical cuDNN variables {scope}{'stack_bidirectional_rnn' if spec.directions == 2 else 'rnn/multi_rnn_cell'}"
                      f"/cell_*/cudnn_compatible_{mode}_cell/* ({spec.num_layers} layer(s), {spec.units} units)")
            self._given[name] = (source, buffer.astype(np.float32))
            done[name] = source
        return done

    def focus(self, fetches: list[str] | None, extra: list[str] = (), fed: list[str] = (),
              choose: str | None = None) -> None:
        """Import and restore only what `fetches` (and `extra`, e.g. the training loss) need: their inputs, control
        inputs and whole while loops; parts of the graph they do not need are never imported, restored or run.
        Every variable `fetches` read (transitively; `fed` tensors cut the walk) must come from the checkpoint or
        from `variables`, else `VariablesNotInCheckpoint` (exit 1) naming them; `choose` is how the caller's user
        picks other outputs (for that message). `fetches=None`: the whole graph."""
        if self._imported():   # imported already (the whole graph): the same refusal, nothing imported again
            if fetches is not None:
                self.check_runnable(list(fetches), fed, choose=choose)
            return
        if fetches is None:
            keep = range(len(self.proto))
        else:
            roots = [self._node(f) for f in list(fetches) + list(extra)]
            self.check_runnable(fetches, fed, choose=choose)
            keep = self.proto.closure(roots)
        self._import(keep)

    def _node(self, name: str) -> int:
        i = self.proto.index.get(op_name(name))
        if i is None or (":" in name and not name.rpartition(":")[2].isdigit()):
            raise TF1GraphError(f"{self.meta}: no tensor {tensor_name(name)!r} in the graph")
        return i

    def has_tensor(self, name: str) -> bool:
        """Whether the `.meta` graph (all of it, imported or not) has this tensor."""
        try:
            self.proto.get_tensor_by_name(tensor_name(name))
        except (KeyError, ValueError):
            return False
        return True

    def missing_variables(self, fetches: list[str], fed: list[str] = ()) -> list[str]:
        """Variables `fetches` read (transitively, stopping at `fed` tensors) that neither the checkpoint nor
        `variables` gives a value."""
        stop = {(self._node(f), int(tensor_name(f).rpartition(":")[2])) for f in fed if self.has_tensor(f)}
        need = self.proto.closure([self._node(f) for f in fetches], stop=stop, loops=False)
        names = self.proto.names
        return sorted(names[i] for i in need if self.proto.types[i] in VARIABLE_OPS
                      and names[i] not in self._shapes and names[i] not in self._given)

    def check_runnable(self, fetches: list[str], fed: list[str] = (), choose: str | None = None) -> None:
        """Refuse to run `fetches` when they read a variable with no value from the checkpoint or `variables` (exit
        1), or a constant declared larger than `MAX_TENSOR_BYTES` that the `.meta` does not hold (exit 2)."""
        key = (tuple(fetches), tuple(sorted(fed)))
        if key in self._checked:
            return
        missing = self.missing_variables(fetches, fed)
        if missing:
            raise VariablesNotInCheckpoint(self._missing_message(fetches, missing, choose), missing)
        stop = {(self._node(f), int(tensor_name(f).rpartition(":")[2])) for f in fed if self.has_tensor(f)}
        for i in self.proto.closure([self._node(f) for f in fetches], stop=stop, loops=False):
            if self.proto.types[i] == "Const" and self.proto.oversized_constant(i) is not None:
                self._refuse_constant(i)
        self._checked[key] = None

    def _missing_message(self, fetches, missing, choose) -> str:
        shown = ", ".join(missing[:5]) + (f" (and {len(missing) - 5} more)" if len(missing) > 5 else "")
        first = missing[0]
        outs = ", ".join(tensor_name(f) for f in fetches[:4]) + (" ..." if len(fetches) > 4 else "")
        declared = self.proto.declared_shape(self.proto.index[first])
        return (f"{self.prefix or self.meta}: the checkpoint lacks {len(missing)} variable(s) that {outs} read: {shown}. "
                f"{os.path.basename(self.meta)} declares them, but their values are not in the checkpoint, so the "
                f"model would run with made-up (randomly initialised) values and no check could tell. If the "
                f"program sets them itself when it loads (an embedding table from a file, say), pass that value: "
                f"--variable {first}=FILE.npy (shape {declared}; --variable {first}=zeros when the value does not "
                f"matter for the check), once per variable; or {choose or 'choose outputs that do not read them'}; "
                f"or use the checkpoint saved with this .meta (one whose Saver held every variable).")

    def _refuse_constant(self, i: int) -> None:
        dims, nbytes = self.proto.oversized_constant(i)
        raise TF1GraphError(f"{self.meta}: the graph constant {self.proto.names[i]}:0 is declared with shape {dims} "
                            f"({human_bytes(nbytes)} once expanded) but the .meta holds only a few of its values; that "
                            f"is over the {human_bytes(MAX_TENSOR_BYTES)} budget for one tensor, so it is refused "
                            f"before anything is allocated. The file is damaged or crafted: use the .meta "
                            f"tf.train.Saver wrote, or choose outputs that do not read this constant.")

    # -- the import ----------------------------------------------------------------------------------

    def _imported(self) -> bool:
        return getattr(self, "_graph", None) is not None

    def _ensure(self) -> None:
        if not self._imported():
            self.focus(None)

    def _import(self, keep) -> None:
        tf = self.tf
        self._check_values(keep)
        graph_def = self.proto.subgraph(keep)
        self.kept = len(graph_def.node)
        graph = tf.Graph()
        with graph.as_default():
            from migrate.contrib_ops import REGISTRY, ContribOpError, import_graph_def  # noqa: PLC0415

            try:   # contrib ops TF 2.21 lacks (GatherTree) are built as their TF 2.21 equivalents (migrate.contrib_ops)
                self.replaced = import_graph_def(tf, graph_def, self.meta_def.meta_info_def.stripped_op_list)
            except ContribOpError as e:
                raise TF1GraphError(f"{self.meta}: the graph does not import into TensorFlow {tf.__version__}: "
                                    f"{e}.") from None
            except (ValueError, KeyError, tf.errors.OpError, TypeError) as e:
                text = describe_op_error(e) if isinstance(e, tf.errors.OpError) else _first_lines(str(e))
                why = (f"an op from tf.contrib or a custom op has no kernel here (of tf.contrib's, only "
                       f"{', '.join(sorted(REGISTRY))} can be stood in for: migrate/contrib_ops). Compare against "
                       f"your own tensors with migrate.parity.compare instead" if "not registered" in str(e) else
                       "the .meta is damaged, or was edited after tf.train.Saver wrote it (its nodes do not fit the "
                       "ops they name, or each other). Use the .meta saved with this checkpoint")
                raise TF1GraphError(f"{self.meta}: the graph does not import into TensorFlow {tf.__version__} "
                                    f"({text}); {why}.") from None
            self._n_imported = len(graph.get_operations())
            restore = self._build_restore(graph)
        self._graph = graph
        from migrate.parity.cudnn_reference import CUDNN_OPS  # noqa: PLC0415

        no_cpu_kernel = any(op.type in CUDNN_OPS for op in graph.get_operations())
        self.session = tf.compat.v1.Session(graph=graph, config=_session_config(tf, place_pruned=no_cpu_kernel))
        with graph.as_default():
            self._restore(*restore)
        self.placeholders = self._placeholders()

    @property
    def graph(self):
        self._ensure()
        return self._graph

    def __getattr__(self, name: str):
        # what the import sets (session, placeholders, restored, not_restored, assigned, variables): import first
        if name in ("session", "placeholders", "restored", "not_restored", "assigned", "variables", "unused_given",
                    "loaded_values", "replaced") \
                and not self._imported():
            self._ensure()
            return getattr(self, name)
        raise AttributeError(name)

    # -- restore -----------------------------------------------------------------------------------

    def _check_values(self, keep) -> None:
        """Before the import, on the `.meta` as data: every `variables` value against its variable's declared shape
        and dtype (`zeros` within `MAX_TENSOR_BYTES`), and every variable of `keep` the checkpoint holds against the
        checkpoint's shape (a `.meta` declaring `[2**31, 2**31]` is refused here, before anything is allocated)."""
        g, shapes = self.proto, self._shapes
        self._values: dict[str, tuple[str, np.ndarray]] = {}
        for name, (source, value) in self._given.items():
            i = g.index.get(name)
            if i is None or g.types[i] not in VARIABLE_OPS:
                declared_vars = [n for n, t in zip(g.names, g.types) if t in VARIABLE_OPS]
                near = sorted(n for n in declared_vars if name.rsplit("/", 1)[-1] in n)[:5] or sorted(declared_vars)[:5]
                raise TF1GraphError(f"--variable {name}={source}: {self.meta} declares no variable {name!r} "
                                    f"(e.g. {', '.join(near) or 'none'})")
            declared = g.declared_shape(i)
            dtype = g.declared_dtype(i)
            if value is None:  # zeros
                if declared is None or None in declared:
                    raise TF1GraphError(f"--variable {name}=zeros: {self.meta} declares it with shape "
                                        f"{declared} (not fully known); pass --variable {name}=FILE.npy instead")
                nbytes = shape_bytes(declared, dtype.itemsize)
                if nbytes > MAX_TENSOR_BYTES:
                    raise TF1GraphError(f"--variable {name}=zeros: {self.meta} declares it with shape {declared} "
                                        f"({human_bytes(nbytes)}), over the {human_bytes(MAX_TENSOR_BYTES)} budget "
                                        f"for one tensor; pass --variable {name}=FILE.npy with the value the program "
                                        f"uses")
                value = np.zeros(declared, dtype)
            elif name not in self.assembled and (declared is None or len(declared) != value.ndim or any(
                    d is not None and d != s for d, s in zip(declared, value.shape))):
                raise TF1GraphError(f"--variable {name}={source}: the value has shape {list(value.shape)} but "
                                    f"{self.meta} declares {name} with shape {declared}; pass an array of shape "
                                    f"{declared}")
            else:
                try:
                    value = value.astype(dtype, casting="same_kind")
                except TypeError:
                    raise TF1GraphError(f"--variable {name}={source}: dtype {value.dtype} does not fit the "
                                        f"variable's {dtype}") from None
            self._values[name] = (source, value)
        problems = []
        for i in keep:
            n = g.names[i]
            hazard = g.import_hazard(i)
            if hazard is not None:
                raise TF1GraphError(f"{self.meta}: node {n} ({g.types[i]}) holds {hazard}, which TensorFlow "
                                    f"{self.tf.__version__} cannot import (its shape function would abort the "
                                    f"process); the .meta is damaged, or was edited after tf.train.Saver wrote it. "
                                    f"Use the .meta saved with this checkpoint.")
            if g.types[i] in VARIABLE_OPS and n in shapes and n not in self._given:
                declared = g.declared_shape(i)
                if declared is not None and None not in declared and declared != list(shapes[n]):
                    problems.append((n, declared, list(shapes[n])))
        if problems:
            problems.sort()
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

    def _build_restore(self, graph):
        """(saver, assignments): a Saver over the imported variables the checkpoint holds, and the `variables`
        values to assign. Nothing else is initialised: a variable with no value stays uninitialised, and
        `check_runnable` refuses any fetch that reads one, so no run ever reads a random initial value."""
        tf = self.tf
        variables = {op.name: op for op in graph.get_operations() if op.type in VARIABLE_OPS}
        present = {n: op for n, op in variables.items() if n in self._shapes and n not in self._values}
        self.assigned: list[dict[str, Any]] = []
        self.unused_given: list[str] = []
        given = []
        for name, (source, value) in self._values.items():
            op = variables.get(name)
            if op is None:  # declared, but not in what the outputs need
                self.unused_given.append(name)
                continue
            ph = tf.compat.v1.placeholder(op.outputs[0].dtype.base_dtype, shape=value.shape)
            if op.type == "VarHandleOp":
                assign = tf.raw_ops.AssignVariableOp(resource=op.outputs[0], value=ph)
            else:
                assign = tf.compat.v1.assign(op.outputs[0], ph, validate_shape=False)
            given.append((assign, ph, value))
            self.assigned.append({"name": name, "source": source, "shape": list(value.shape),
                                  "checkpoint_shape": list(self._shapes[name]) if name in self._shapes else None})
        for name in sorted(set(present) & set(self._frozen)):   # a frozen graph's weights: their constant's value
            op = present[name]
            value = self._frozen[name]
            ph = tf.compat.v1.placeholder(op.outputs[0].dtype.base_dtype, shape=value.shape)
            given.append((tf.compat.v1.assign(op.outputs[0], ph, validate_shape=False), ph, value))
        self.variables = {n: op.outputs[0] for n, op in variables.items()}
        self.restored = sorted(present)
        self.not_restored = sorted(set(variables) - set(present) - set(self._values))
        # a resource variable is saved and restored through a read of its handle (what a Saver's dict form takes)
        saveable = {n: op.outputs[0] if op.type != "VarHandleOp" else
                    tf.raw_ops.ReadVariableOp(resource=op.outputs[0], dtype=op.get_attr("dtype"))
                    for n, op in present.items() if n not in self._frozen}
        present = saveable
        saver = tf.compat.v1.train.Saver(var_list=saveable, reshape=False, name="tfm_restore") if present else None
        return saver, given

    def _restore(self, saver, given) -> None:
        tf = self.tf
        if saver is not None:
            try:
                saver.restore(self.session, self.prefix)
            except tf.errors.OpError as e:
                self._corrupt_tensor()
                raise TF1GraphError(f"{self.prefix}: cannot restore the graph's variables "
                                    f"({describe_op_error(e)})") from None
        for assign, ph, value in given:
            self.session.run(assign, {ph: value})
        self.loaded_values = self._take_loaded_values()

    def _take_loaded_values(self) -> list[str]:
        """A SavedModel's variables as its loader leaves them: the values `variables/` holds, then what its main_op /
        legacy_init_op assigned at load (what TF Serving computes with). Variables whose loaded value differs from
        `variables/` take the loaded one here too, so the translation reads what the served model runs; returns
        their names."""
        if self.source.tag_set is None or not self.restored:
            return []
        ref = self.reference
        loaded = ref.values([n for n in self.restored if n not in self._frozen and ref.has_tensor(n)
                             and ref.graph.get_operation_by_name(n).type in VARIABLE_OPS])
        mine = self.values(list(loaded))
        changed = sorted(n for n in loaded if np.shape(loaded[n]) != np.shape(mine[n]) or
                         not np.array_equal(loaded[n], mine[n]))
        tf = self.tf
        with self._graph.as_default():
            for n in changed:
                t = self.variables[n]
                ph = tf.compat.v1.placeholder(t.dtype.base_dtype, shape=np.shape(loaded[n]))
                assign = tf.raw_ops.AssignVariableOp(resource=t, value=ph) if t.op.type == "VarHandleOp" else \
                    tf.compat.v1.assign(t, ph, validate_shape=False)
                self.session.run(assign, {ph: loaded[n]})
        return changed

    def _corrupt_tensor(self) -> None:
        """After a failed restore: read the restored tensors one by one through the checkpoint reader (its CRC32C
        check) and raise naming the file and the first tensor that fails; return when every one reads."""
        from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
        from migrate.errors import MigrateError  # noqa: PLC0415

        if self.prefix is None:
            return
        try:
            ckpt = Checkpoint.open(self.prefix)
            for name in self.restored:
                if name in self._frozen:
                    continue
                ckpt.read(name)
        except MigrateError as e:
            raise TF1GraphError(f"corrupt checkpoint data: "
                                f"{e}") from None

    # -- inputs ------------------------------------------------------------------------------------

    def _placeholders(self) -> list[PlaceholderInfo]:
        out = []
        ops = self._graph.get_operations()[:self._n_imported]   # not the placeholders the restore added
        saver_scopes = {op.name.rsplit("/", 1)[0] for op in ops if op.type in SAVER_OPS and "/" in op.name}
        for op in ops:
            if op.type not in PLACEHOLDER_OPS:
                continue
            if "/" in op.name and op.name.rsplit("/", 1)[0] in saver_scopes:
                continue  # a Saver's filename input, not a model input
            t = op.outputs[0]
            shape = None if t.shape.rank is None else tuple(t.shape.as_list())
            out.append(PlaceholderInfo(op.name, np.dtype(t.dtype.base_dtype.as_numpy_dtype), shape,
                                       op.type == "PlaceholderWithDefault"))
        return out

    @property
    def all_placeholders(self) -> list[PlaceholderInfo]:
        """Every placeholder of the `.meta` graph, also those the outputs do not need (read without importing)."""
        g, out = self.proto, []
        imported = {p.name: p for p in self.placeholders} if self._imported() else {}
        saver_scopes = {n.rsplit("/", 1)[0] for n, t in zip(g.names, g.types) if t in SAVER_OPS and "/" in n}
        for i in g.nodes_of_type(PLACEHOLDER_OPS):
            name = g.names[i]
            if "/" in name and name.rsplit("/", 1)[0] in saver_scopes:
                continue
            if name in imported:   # TensorFlow's own reading of what was imported
                out.append(imported[name])
                continue
            t = g.op(i).outputs[0]
            shape = None if t.shape.rank is None else tuple(t.shape.as_list())
            out.append(PlaceholderInfo(name, np.dtype(t.dtype.base_dtype.as_numpy_dtype), shape,
                                       g.types[i] == "PlaceholderWithDefault"))
        return out

    def placeholder(self, name: str) -> PlaceholderInfo:
        want = op_name(name)
        for p in self.placeholders if self._imported() else []:
            if p.name == want:
                return p
        every = self.all_placeholders
        for p in every:
            if p.name == want:
                return p
        raise TF1GraphError(f"{self.meta}: no placeholder {name!r}; the graph's placeholders are "
                            f"{', '.join(p.tensor for p in every) or 'none'}")

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
            where = " (it is in the .meta, but the outputs do not need it)" if self.has_tensor(name) else ""
            raise TF1GraphError(f"{self.meta}: no tensor {tensor_name(name)!r} in the graph{where}") from None

    def id_range(self, placeholder: str) -> int | None:
        """The vocabulary size the ids fed to `placeholder` index, from the embedding they reach; None if none."""
        start = self.graph.get_operation_by_name(op_name(placeholder))
        first = [self.graph.get_tensor_by_name(placeholder)] if ":" in placeholder and len(start.outputs) > 1 \
            else start.outputs   # one output of a multi-output op (a parsed feature): its own consumers
        seen = {start.name}
        queue = deque([start])
        sizes: list[int] = []
        while queue:
            op = queue.popleft()
            for out in first if op is start else op.outputs:
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

    def string_vocabulary(self, placeholder: str) -> list[bytes] | None:
        """The keys of the lookup table the strings fed to `placeholder` are looked up in (`LookupTableFindV2`, as the
        form's loader filled it: `reference.table_contents`), in value order; None when they reach no such table."""
        ref = self.reference
        if ref is None:
            return None
        start = self.graph.get_operation_by_name(op_name(placeholder))
        seen, queue = {start.name}, deque([start])
        while queue:
            op = queue.popleft()
            for out in op.outputs:
                for consumer in out.consumers():
                    if consumer.type in ("LookupTableFindV2", "LookupTableFind") and consumer.inputs[1] is out:
                        t = consumer.inputs[0]
                        while t.op.type == "Identity":
                            t = t.op.inputs[0]
                        got = ref.table_contents(t.op.name)
                        if got is not None and len(got[0]):
                            keys, values = got
                            order = np.argsort(values, kind="stable") if np.asarray(values).dtype.kind in "iu" \
                                else np.arange(len(keys))
                            return [k if isinstance(k, bytes) else str(k).encode() for k in np.asarray(keys)[order]]
                    if consumer.type in _ID_PASSTHROUGH and consumer.name not in seen:
                        seen.add(consumer.name)
                        queue.append(consumer)
        return None

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
        """Fetch tensors by name, feeding placeholders by name (`"ids"` or `"ids:0"`). Feeds of tensors the imported
        part does not hold (the outputs do not need them) are left out. Refuses (`check_runnable`) fetches that
        read a variable with no value."""
        tf = self.tf
        graph = self.graph
        names = {}
        for k in feed:
            if not self.has_tensor(k):
                self.tensor(k)   # TF1GraphError naming it
            try:
                names[k] = graph.get_tensor_by_name(tensor_name(k))
            except (KeyError, ValueError):
                continue         # pruned: nothing fetched reads it
        self.check_runnable(list(fetches), [tensor_name(k) for k in names])
        targets = [self.tensor(f) for f in fetches]
        session = self.session
        ref = self.reference
        if ref is not None:   # the form's own loader ran the original artefact: the fetches run there
            graph, session = ref.graph, ref.session
            try:
                targets = [graph.get_tensor_by_name(t.name) for t in targets]
                names = {k: graph.get_tensor_by_name(self.renamed.get(t.name, t.name)) for k, t in names.items()}
            except (KeyError, ValueError) as e:
                raise TF1GraphError(f"{self.meta}: {e}: the tensor is in the graph the translation read but not in "
                                    f"the one {ref.how} loaded") from None
        feed_dict = {names[k]: np.asarray(v) for k, v in feed.items() if k in names}
        limit = run_seconds()
        try:
            self._feed_references(targets, feed_dict, session)
            values = session.run(targets, feed_dict,
                                 options=tf.compat.v1.RunOptions(timeout_in_ms=int(limit * 1000)))
        except tf.errors.DeadlineExceededError:
            why = (f"did not finish in {limit:g} s on these inputs: a while loop that stops on the model's own "
                   f"outputs (a greedy decoder without maximum_iterations, waiting for an end token that drawn inputs "
                   f"may never produce) can run for ever; give inputs it stops on, or --outputs before the loop "
                   f"(${RUN_SECONDS_ENV} sets the limit)")
            raise GraphRunError(f"{self.meta}: running {', '.join(tensor_name(f) for f in fetches)} {why}.",
                                [tensor_name(f) for f in fetches], "DeadlineExceededError", None, None, why) \
                from None
        except tf.errors.OpError as e:
            kind, node, op_type, text = op_error_parts(e, graph)
            raise GraphRunError(f"{self.meta}: running {', '.join(tensor_name(f) for f in fetches)} failed: "
                                f"{describe_op_error(e, graph)}", [tensor_name(f) for f in fetches], kind, node,
                                op_type, text) from None
        return [np.asarray(v) for v in values]

    @property
    def reference(self):
        """The original artefact loaded by TF 2.21's own loader for its form (`migrate.parity.reference`): what `run`
        runs for a SavedModel (`tf.compat.v1.saved_model.loader.load`: main_op / legacy_init_op, tables, assets)
        and a frozen GraphDef (`tf.compat.v1.import_graph_def` of the file); None for a checkpoint's `.meta` and a
        model_dir's graph.pbtxt, whose reference is this graph restored by name. Opened on first use, after
        `set_constants` (the same constants are set there)."""
        if "_reference" not in self.__dict__:
            from migrate.parity.reference import LoaderReference  # noqa: PLC0415

            self._reference = LoaderReference.open(self.source, {k: v for k, v in self.overridden.items()})
        return self._reference

    def _feed_references(self, targets, feed_dict, session) -> None:
        """Ops with no CPU kernel that `targets` need (`cudnn_reference.CUDNN_OPS`): their inputs are run, their
        outputs computed by the NumPy reference and added to `feed_dict` (so the op itself never runs), inner ones
        first. `references_used` names each op and what stood in for it."""
        from migrate.parity.cudnn_reference import CUDNN_OPS, reference_outputs  # noqa: PLC0415

        fed = set(feed_dict)
        order, seen, stack = [], set(), [(t.op, False) for t in targets]
        while stack:   # post-order: an op after the ops it reads
            op, done = stack.pop()
            if done:
                if op.type in CUDNN_OPS:
                    order.append(op)
                continue
            if op.name in seen:
                continue
            seen.add(op.name)
            stack.append((op, True))
            stack.extend((i.op, False) for i in list(op.inputs) if i not in fed)
            stack.extend((c, False) for c in op.control_inputs)
        for op in order:
            n_in = 5 if op.type == "CudnnRNNV3" else 4
            values = session.run(list(op.inputs[:n_in]), feed_dict)
            try:
                outs = reference_outputs(op, values)
            except ValueError as e:
                raise TF1GraphError(f"{self.meta}: {op.name} ({op.type}) has no CPU kernel in TensorFlow "
                                    f"{self.tf.__version__} and {e}; check parity on a GPU machine") from None
            for k, v in outs.items():
                feed_dict[op.outputs[k]] = v
            self.references_used[op.name] = (f"{op.type} has no CPU kernel: its outputs come from a NumPy "
                                              f"reference of cuDNN's equations (migrate/parity/cudnn_reference.py)")

    def values(self, names: list[str] | None = None) -> dict[str, np.ndarray]:
        """The current values of variables by TF1 name (default: every restored one)."""
        names = self.restored if names is None else names
        unknown = [n for n in names if n not in self.variables]
        if unknown:
            raise TF1GraphError(f"{self.meta}: no variable {', '.join(unknown)}")
        unset = sorted(set(names) - set(self.restored) - {a["name"] for a in self.assigned})
        if unset:
            raise TF1GraphError(f"{self.meta}: variable(s) {', '.join(unset)} have no value: the checkpoint lacks "
                                f"them and no --variable gives one")
        reads = []
        with self.graph.as_default():
            for n in names:
                t = self.variables[n]
                if t.op.type == "VarHandleOp":
                    t = self.tf.raw_ops.ReadVariableOp(resource=t, dtype=t.op.get_attr("dtype"))
                reads.append(t)
            return dict(zip(names, self.session.run(reads)))

    def close(self) -> None:
        if self._imported():
            self.session.close()
        if self.__dict__.get("_reference") is not None:
            self._reference.close()

    def __enter__(self) -> TF1Graph:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def describe_op_error(e: BaseException, graph=None) -> str:
    """A TensorFlow `OpError` as one message: its kind, the node and its op type, and TensorFlow's own text (the
    lines after "Graph execution error:" and the "defined at" trace, up to the stack trace), never cut to its first
    line. `graph`: where to look the node's op type up when the error does not carry its op."""
    kind, node, op_type, body = op_error_parts(e, graph)
    where = f" at node {node}" + (f" ({op_type})" if op_type else "") if node else ""
    return f"{kind}{where}: {body}"


def op_error_parts(e: BaseException, graph=None) -> tuple[str, str | None, str | None, str]:
    """(error class name, node name or None, op type or None, TensorFlow's text) of an `OpError`."""
    text = getattr(e, "message", None) or str(e)
    op = getattr(e, "op", None)
    node = getattr(op, "name", None)
    lines, skipping = [], False
    for raw in text.splitlines():
        s = raw.strip()
        if s.startswith("Original stack trace"):
            break
        if s.startswith("Detected at node"):
            skipping = True
            continue
        if s.startswith("Node: "):
            node = node or s[len("Node: "):].strip("'\"")
            skipping = False
            continue
        if skipping or not s or s == "Graph execution error:" or s.startswith(("[[", "File \"")):
            continue
        lines.append(s)
    body = "; ".join(lines)[:2000] or _first_lines(str(e)) or type(e).__name__
    op_type = getattr(op, "type", None)
    if op_type is None and node and graph is not None:
        try:
            op_type = graph.get_operation_by_name(node).type
        except (KeyError, ValueError):
            op_type = None
    return type(e).__name__, node, op_type, body


def _first_lines(text: str, n: int = 3) -> str:
    return "; ".join(s.strip() for s in text.strip().splitlines()[:n] if s.strip())[:1000]


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


def _session_config(tf, place_pruned: bool = False):
    """Grappler off: the graph runs as written (no constant folding / arithmetic rewrites). `place_pruned`: only the
    part each run needs is placed (a graph holding an op with no CPU kernel, whose outputs a run feeds)."""
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    config.graph_options.place_pruned_graph = place_pruned
    return config
