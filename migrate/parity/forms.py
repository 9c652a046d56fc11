"""Every form a TF1 model ships in, told from the path and opened as one thing: a `MetaGraphDef` plus where its
variables' values come from. `TF1Graph` (the reference side of parity and the graph the converter translates) is
built on it, so `inspect`, `convert` and `parity --tf1` take every form alike.

| form           | what the path is                                              | graph                     | values                         |
|----------------|---------------------------------------------------------------|---------------------------|--------------------------------|
| `checkpoint`   | a prefix / `.index` / folder with a `checkpoint` file         | `PREFIX.meta`             | the checkpoint                 |
| `saved_model`  | a folder with `saved_model.pb` (`SavedModelBuilder`, `simple_save`, `Estimator.export_savedmodel`) | the MetaGraphDef of `--tag-set` | `variables/variables` |
| `frozen_graph` | a GraphDef file, `.pb` (binary) or `.pbtxt` (`convert_variables_to_constants`) | the GraphDef   | its constants that were variables |
| `model_dir`    | an Estimator folder: checkpoints and `graph.pbtxt` (or `export/`)   | the newest export's PREDICT graph, else the latest checkpoint's `.meta`, else `graph.pbtxt` | the export's / the latest checkpoint |

A frozen graph has no variables: the constants that were variables are found by USE (`WEIGHT_INPUTS`: the
weights a MatMul / Conv / fused cell reads, the bias a BiasAdd adds, an embedding a Gather reads, a float
constant added to a MatMul's result), never by size or name, and become variables named after the original
variable (`.../kernel/read` -> `.../kernel`) holding the constant's value: the converter then makes them
trainable Keras weights exactly as it does for a checkpoint's variables, and the graph computes what it computed.

`open_source(path, tag_set=None, signature=None) -> ModelSource`. A form that cannot be read is a `FormError`
(exit 2) saying which form was detected, what is missing and the way out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from migrate.parity.errors import ParityInputError

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
GRAPHDEF_SUFFIXES = (".pb", ".pbtxt", ".pbtext")
DEFAULT_TAG_SET = ("serve",)
DEFAULT_SIGNATURE = "serving_default"
INIT_OP_SIGNATURE = "__saved_model_init_op"
VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")

# Where a frozen graph's weights are read: op type -> the input positions that hold a weight (TF 1.15's op
# definitions, tensorflow/core/ops/{math,nn,array,rnn}_ops.cc and contrib/rnn/ops/{lstm,gru}_ops.cc). A float
# constant reaching one of these inputs (through Identity / Enter / Switch, as a variable's read does, and through a
# slice of it: `PART_OF`) was a variable before freezing.
WEIGHT_INPUTS: dict[str, tuple[int, ...]] = {
    "MatMul": (0, 1), "BatchMatMul": (0, 1), "BatchMatMulV2": (0, 1), "BatchMatMulV3": (0, 1),
    "Conv1D": (1,), "Conv2D": (1,), "Conv3D": (1,), "DepthwiseConv2dNative": (1,), "Conv2DBackpropInput": (1,),
    "Conv3DBackpropInputV2": (1,),
    "BiasAdd": (1,), "BiasAddV1": (1,),
    "Gather": (0,), "GatherV2": (0,), "ResourceGather": (0,),   # an embedding table
    "LSTMBlockCell": (3, 4, 5, 6, 7),                           # w, wci, wcf, wco, b
    "BlockLSTM": (4, 5, 6, 7, 8), "BlockLSTMV2": (4, 5, 6, 7, 8),
    "GRUBlockCell": (2, 3, 4, 5),                               # w_ru, w_c, b_ru, b_c
    "FusedBatchNorm": (1, 2, 3, 4), "FusedBatchNormV2": (1, 2, 3, 4), "FusedBatchNormV3": (1, 2, 3, 4),
}
# A bias added by hand (`tf.matmul(x, w) + b`, TF 1.0 era code): a float constant added to one of these ops' output.
BIAS_AFTER = ("MatMul", "BatchMatMul", "BatchMatMulV2", "Conv2D", "Conv1D", "Conv3D", "DepthwiseConv2dNative")
# Ops a variable's value passes through on its way to its use (its read, a while loop's Enter, a cond's Switch).
PASSTHROUGH = ("Identity", "Enter", "Switch", "Snapshot", "ReadVariableOp", "RefIdentity")
# Ops that take part of a weight, or the weight in another layout, before its use: op type -> the input holding the
# weight (standalone Keras 2's LSTM slices its kernel into the four gates' columns with StridedSlice outside the
# loop, then each enters the loop: `kernel/read -> strided_slice -> while/MatMul/Enter -> while/MatMul`).
PART_OF = {"StridedSlice": 0, "Slice": 0, "Split": 1, "SplitV": 0, "Transpose": 0, "Reshape": 0}


class FormError(ParityInputError):
    """The model's form was told, but it cannot be read (exit 2): the message names the form, what is missing and
    the way out."""


@dataclass
class ModelSource:
    """One TF1 model, whatever form it shipped in.

    Attributes:
        form: `"checkpoint"`, `"saved_model"`, `"frozen_graph"` or `"model_dir"`.
        path: what the user named.
        graph_file: the file the graph was read from (PREFIX.meta, saved_model.pb, the frozen .pb, graph.pbtxt).
        meta_def: the `MetaGraphDef` (a GraphDef form: wrapped in one; None: the checkpoint's `.meta`, read by
            `TF1Graph` itself).
        prefix: the checkpoint the variables are restored from (None: a frozen graph).
        frozen: `{variable name: value}`: a frozen graph's constants that were variables (now variables).
        frozen_uses: `{variable name: "MatMul rnn/while/.../MatMul"}`: the use that told each one.
        tag_set: the SavedModel tag set used; signature: the signature used (`signature_info`), else None.
        notes: what was chosen and why (printed, and in the report's `source.notes`).
    """

    form: str
    path: str
    graph_file: str
    meta_def: Any = None
    prefix: str | None = None
    frozen: dict[str, np.ndarray] = field(default_factory=dict)
    frozen_uses: dict[str, str] = field(default_factory=dict)
    tag_set: list[str] | None = None
    signature: dict | None = None
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict:
        """The `source` object of convert_report.json / parity.json / inspect --json (docs/outputs.md)."""
        out = {"form": self.form, "path": self.path, "graph": self.graph_file, "checkpoint": self.prefix,
               "tag_set": self.tag_set, "signature": self.signature}
        if self.frozen:
            out["frozen_variables"] = len(self.frozen)
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @property
    def signature_inputs(self) -> dict[str, str]:
        """{signature key: graph tensor} (empty without a signature)."""
        return {k: v["tensor"] for k, v in (self.signature or {}).get("inputs", {}).items()}

    @property
    def signature_outputs(self) -> dict[str, str]:
        return {k: v["tensor"] for k, v in (self.signature or {}).get("outputs", {}).items()}


# -- telling the form ----------------------------------------------------------------------------------


def detect_form(path: str) -> str:
    """The form `path` is in, from the path alone (nothing parsed): see the module table."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if any(os.path.isfile(os.path.join(path, f)) for f in SAVED_MODEL_FILES):
            return "saved_model"
        if os.path.isfile(os.path.join(path, "graph.pbtxt")) or os.path.isdir(os.path.join(path, "export")):
            return "model_dir"
        return "checkpoint"
    if os.path.basename(path) in SAVED_MODEL_FILES:
        return "saved_model"
    if path.endswith(GRAPHDEF_SUFFIXES) and os.path.isfile(path):
        return "frozen_graph"
    return "checkpoint"


def open_source(path: str, tag_set: str | list[str] | None = None, signature: str | None = None) -> ModelSource:
    """Read `path` in the form it is in (`detect_form`); `tag_set` ("serve" or "serve,gpu") and `signature` apply
    to a SavedModel (also a model_dir's export). A checkpoint comes back with `meta_def=None`."""
    path = os.fspath(path)
    form = detect_form(path)
    if form == "saved_model":
        folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
        return _saved_model(folder, path, tag_set, signature)
    if (tag_set is not None or signature is not None) and form != "model_dir":
        raise FormError(f"{path}: --tag-set / --signature choose a graph of a SavedModel, and this is a "
                        f"{form.replace('_', ' ')} (no saved_model.pb); leave them out")
    if form == "frozen_graph":
        return _graphdef_file(path)
    if form == "model_dir":
        return _model_dir(path, tag_set, signature)
    return ModelSource("checkpoint", path, graph_file="")


# -- SavedModel --------------------------------------------------------------------------------------


def _read_saved_model(folder: str):
    from tensorflow.core.protobuf import saved_model_pb2  # noqa: PLC0415

    sm = saved_model_pb2.SavedModel()
    pb, pbtxt = (os.path.join(folder, f) for f in SAVED_MODEL_FILES)
    try:
        if os.path.isfile(pb):
            with open(pb, "rb") as f:
                sm.ParseFromString(f.read())
            return sm, pb
        from google.protobuf import text_format  # noqa: PLC0415

        with open(pbtxt, encoding="utf-8") as f:
            text_format.Parse(f.read(), sm)
        return sm, pbtxt
    except OSError as e:
        raise FormError(f"{folder}: a SavedModel folder whose graph file cannot be read ({e.strerror})") from None
    except Exception as e:  # noqa: BLE001 - a protobuf DecodeError / ParseError: not a SavedModel
        raise FormError(f"{pb if os.path.isfile(pb) else pbtxt}: detected a TF1 SavedModel (saved_model.pb), but "
                        f"the file is not one: truncated, corrupt or another kind of file "
                        f"({' '.join(str(e).split())[:300]}); copy the folder again from where "
                        f"SavedModelBuilder / simple_save wrote it") from None


def _tags(mg) -> list[str]:
    return sorted(mg.meta_info_def.tags)


def _parse_tags(tag_set) -> tuple[str, ...] | None:
    if tag_set is None:
        return None
    items = tag_set.split(",") if isinstance(tag_set, str) else list(tag_set)
    return tuple(sorted(t.strip() for t in items if t.strip()))


def _saved_model(folder: str, path: str, tag_set, signature, *, form: str = "saved_model",
                 notes: list[str] | None = None) -> ModelSource:
    sm, graph_file = _read_saved_model(folder)
    notes = list(notes or [])
    have = [_tags(mg) for mg in sm.meta_graphs]
    shown = "; ".join(",".join(t) or "(no tags)" for t in have) or "none"
    wanted = _parse_tags(tag_set)
    chosen = [mg for mg in sm.meta_graphs if tuple(_tags(mg)) == (wanted or DEFAULT_TAG_SET)]
    if not chosen:
        if wanted is None and len(sm.meta_graphs) == 1:
            chosen = list(sm.meta_graphs)
            notes.append(f"tag set {','.join(have[0]) or '(none)'}: the SavedModel's only graph (it has no "
                         f"'{','.join(DEFAULT_TAG_SET)}' tag set)")
        else:
            asked = f"--tag-set {','.join(wanted)}" if wanted else f"the default tag set '{','.join(DEFAULT_TAG_SET)}'"
            raise FormError(f"{graph_file}: detected a TF1 SavedModel; it has no graph for {asked}: its tag sets "
                            f"are {shown}. Pass --tag-set with one of them (e.g. --tag-set "
                            f"{','.join(have[0]) if have else 'serve'}).")
    mg = chosen[0]
    tags = _tags(mg)
    sigs = {k: s for k, s in mg.signature_def.items() if k != INIT_OP_SIGNATURE}
    if signature is not None:
        key = signature
        if key not in sigs:
            raise FormError(f"{graph_file}: detected a TF1 SavedModel (tag set {','.join(tags)}); it has no "
                            f"signature {key!r}: its signatures are {', '.join(sorted(sigs)) or 'none'}. Pass "
                            f"--signature with one of them.")
    elif DEFAULT_SIGNATURE in sigs:
        key = DEFAULT_SIGNATURE
    elif len(sigs) == 1:
        key = next(iter(sigs))
        notes.append(f"signature {key!r}: the only one of tag set {','.join(tags)} (no {DEFAULT_SIGNATURE!r})")
    elif not sigs:
        raise FormError(f"{graph_file}: detected a TF1 SavedModel (tag set {','.join(tags)}) with no signature, so "
                        f"its inputs and outputs are not named; convert it with --outputs T:0,... naming the tensors, "
                        f"from a checkpoint of the same model, or export it again with signature_def_map")
    else:
        raise FormError(f"{graph_file}: detected a TF1 SavedModel (tag set {','.join(tags)}) with "
                        f"{len(sigs)} signatures and no {DEFAULT_SIGNATURE!r}: {', '.join(sorted(sigs))}. Pass "
                        f"--signature with the one to convert.")
    sig = signature_info(key, sigs[key], graph_file)
    from migrate.parity.examples import parse_spec  # noqa: PLC0415

    parse = parse_spec(mg.graph_def, sig)
    if parse is not None:   # an Estimator-style export taking serialized tf.Example: the features become inputs
        sig["parse_example"] = parse
        notes.append(f"signature input {parse['input']!r} takes serialized tf.Example protos ({parse['op']} "
                     f"{parse['node']}): the Keras model takes the parsed features "
                     f"({', '.join(k for k, f in parse['features'].items() if f['kind'] == 'dense')})")
    variables = os.path.join(folder, "variables", "variables")
    has_vars = any(n.op in VARIABLE_OPS for n in mg.graph_def.node)
    if has_vars and not (os.path.isfile(variables + ".index") or os.path.isfile(variables)):
        raise FormError(f"{graph_file}: detected a TF1 SavedModel whose graph has variables, but "
                        f"{os.path.join(folder, 'variables', 'variables.index')} is missing: the values are in the "
                        f"variables/ folder SavedModelBuilder wrote beside saved_model.pb; copy it too")
    from tensorflow.core.protobuf import meta_graph_pb2  # noqa: PLC0415

    meta = meta_graph_pb2.MetaGraphDef()
    meta.CopyFrom(mg)
    src = ModelSource(form, path, graph_file=graph_file, meta_def=meta, prefix=variables if has_vars else None,
                      tag_set=tags, signature=sig, notes=notes)
    if not has_vars:   # a frozen graph saved as a SavedModel: its weights are constants
        _unfreeze(src, graph_file)
    _check_signature_tensors(src)
    return src


def signature_info(key: str, sig, where: str) -> dict:
    """`{"key", "method_name", "inputs": {KEY: {"tensor", "dtype", "shape"}}, "outputs": {...}}` of a SignatureDef
    (shape: a list with None for unknown sizes, or None for an unknown rank; dtype: NumPy's name, "string" for
    strings)."""
    from tensorflow import dtypes  # noqa: PLC0415  (the public tf.dtypes)

    def one(kind, k, info):
        if info.WhichOneof("encoding") != "name":
            raise FormError(f"{where}: signature {key!r} {kind} {k!r} is a {info.WhichOneof('encoding')} tensor "
                            f"(sparse or composite); only dense tensors can be a Keras model's {kind}: convert with "
                            f"--outputs naming dense tensors, or export a signature of dense tensors")
        shape = None if info.tensor_shape.unknown_rank else \
            [d.size if d.size >= 0 else None for d in info.tensor_shape.dim]
        try:
            dtype = "string" if dtypes.as_dtype(info.dtype) == dtypes.string else \
                np.dtype(dtypes.as_dtype(info.dtype).as_numpy_dtype).name
        except TypeError:
            dtype = dtypes.as_dtype(info.dtype).name
        return {"tensor": info.name, "dtype": dtype, "shape": shape}

    return {"key": key, "method_name": sig.method_name,
            "inputs": {k: one("input", k, v) for k, v in sorted(sig.inputs.items())},
            "outputs": {k: one("output", k, v) for k, v in sorted(sig.outputs.items())}}


def _check_signature_tensors(src: ModelSource) -> None:
    names = {n.name for n in src.meta_def.graph_def.node}
    for kind, tensors in (("input", src.signature_inputs), ("output", src.signature_outputs)):
        for k, t in tensors.items():
            if t.split(":")[0] not in names:
                raise FormError(f"{src.graph_file}: signature {src.signature['key']!r} names {kind} {k!r} = {t}, "
                                f"which the graph does not have: the SavedModel is damaged; export it again")


def _exports(folder: str) -> list[str]:
    """SavedModels under `folder/export/` (an Estimator's exporters: export/NAME/TIMESTAMP/saved_model.pb)."""
    root = os.path.join(folder, "export")
    found = []
    if os.path.isdir(root):
        for dirpath, _, files in os.walk(root):
            if any(f in files for f in SAVED_MODEL_FILES):
                found.append(dirpath)
    return found


# -- GraphDef files (frozen graphs, graph.pbtxt) -------------------------------------------------------


def read_graph_def(path: str, what: str = "a frozen GraphDef"):
    """A GraphDef from a binary `.pb` or a text `.pbtxt` (told by its content, whatever its suffix)."""
    from google.protobuf import text_format  # noqa: PLC0415
    from tensorflow.core.framework import graph_pb2  # noqa: PLC0415

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FormError(f"{path}: detected {what} ({os.path.splitext(path)[1]} file); cannot read it "
                        f"({e.strerror})") from None
    gd = graph_pb2.GraphDef()
    errors = []
    for how in ("text", "binary") if path.endswith((".pbtxt", ".pbtext")) else ("binary", "text"):
        try:
            if how == "binary":
                gd.ParseFromString(data)
            else:
                text_format.Parse(data.decode("utf-8"), gd)
            if len(gd.node):
                return gd
            errors.append(f"{how}: no nodes")
        except Exception as e:  # noqa: BLE001 - DecodeError / ParseError / UnicodeDecodeError: try the other
            errors.append(f"{how}: {' '.join(str(e).split())[:160]}")
        gd.Clear()
    raise FormError(f"{path}: detected {what} (a {os.path.splitext(path)[1]} file), but it reads as no GraphDef "
                    f"({'; '.join(errors)}): truncated, corrupt, or another protobuf (a SavedModel's "
                    f"saved_model.pb: pass its folder; a .meta: pass the checkpoint prefix).")


def _wrap(graph_def):
    from tensorflow.core.protobuf import meta_graph_pb2  # noqa: PLC0415

    meta = meta_graph_pb2.MetaGraphDef()
    meta.graph_def.CopyFrom(graph_def)
    loop_shapes(meta.graph_def)
    return meta


def loop_shapes(graph_def) -> int:
    """Give a GraphDef written without `_output_shapes` (`sess.graph_def`, `convert_variables_to_constants`: most
    frozen graphs, graph.pbtxt) static shapes for its while loops' state: each loop Merge gets what the value
    entering the loop and the value the body passes back both say of their shape (the importer cannot infer it
    through the back edge; TF1's `while_loop` had set it from its shape invariant, and a .meta keeps it). Without
    them a loop's state has no static shape and the recognisers cannot read a cell's sizes from it.
    Returns how many Merges were given a shape."""
    import tensorflow as tf  # noqa: PLC0415

    if any("_output_shapes" in n.attr for n in graph_def.node):
        return 0
    by_name = {n.name: n for n in graph_def.node}
    merges = []
    for n in graph_def.node:
        data = [x.split(":")[0] for x in n.input if not x.startswith("^")]
        if n.op == "Merge" and len(data) == 2 and {by_name[d].op for d in data if d in by_name} == \
                {"Enter", "NextIteration"}:
            merges.append((n, next(d for d in data if by_name[d].op == "Enter"),
                           next(d for d in data if by_name[d].op == "NextIteration")))
    if not merges:
        return 0

    def imported():
        g = tf.Graph()
        with g.as_default():
            tf.graph_util.import_graph_def(graph_def, name="")
        return g

    given = 0
    try:
        for _ in range(2):   # a shape given to one loop's state can refine another's (a stack of cells)
            g = imported()
            given = 0
            for n, enter, nxt in merges:
                a = g.get_tensor_by_name(enter + ":0").shape
                b = g.get_tensor_by_name(nxt + ":0").shape
                if not a.is_compatible_with(b):
                    continue
                shape = a.merge_with(b)   # both are sound claims about what the Merge passes on
                if shape.rank is None:
                    continue
                n.attr["_output_shapes"].list.Clear()
                n.attr["_output_shapes"].list.shape.add().CopyFrom(shape.as_proto())
                n.attr["_output_shapes"].list.shape.add().CopyFrom(tf.TensorShape([]).as_proto())
                given += 1
        return given
    except (ValueError, TypeError, tf.errors.OpError):   # the import names the problem later, with its context
        for n, _, _ in merges:
            if "_output_shapes" in n.attr:
                del n.attr["_output_shapes"]
        return 0


def _graphdef_file(path: str) -> ModelSource:
    gd = read_graph_def(path)
    variables = [n.name for n in gd.node if n.op in VARIABLE_OPS]
    if variables:   # a graph with variables (graph.pbtxt of a model_dir, tf.io.write_graph): values from a checkpoint
        folder = os.path.dirname(path) or "."
        if os.path.isfile(os.path.join(folder, "checkpoint")) or any(f.endswith(".index") for f in os.listdir(folder)):
            src = _model_dir(folder, None, None, graph_pbtxt=path)
            return src
        raise FormError(f"{path}: detected a GraphDef file, but not a frozen one: it holds {len(variables)} "
                        f"variable(s) ({', '.join(variables[:3])}{' ...' if len(variables) > 3 else ''}) and no "
                        f"checkpoint is beside it to give their values. Put it in the folder of its checkpoints "
                        f"(an Estimator model_dir: `checkpoint`, model.ckpt-N.*) and pass that folder, or freeze it "
                        f"(convert_variables_to_constants).")
    src = ModelSource("frozen_graph", path, graph_file=path, meta_def=_wrap(gd))
    _unfreeze(src, path)
    return src


def frozen_weights(graph_def) -> dict[str, tuple[int, str]]:
    """The constants of a frozen graph that were variables, found by use: {const node name: (node index, the use
    that told it, "MatMul rnn/while/lstm_cell/MatMul")}. See `WEIGHT_INPUTS` / `BIAS_AFTER` / `PART_OF`; and a
    constant `X` read by an Identity `X/read` (`convert_variables_to_constants` turns a variable into a `Const` of
    its name and keeps its read: a peephole vector read by a Mul, which no op table names, is found so)."""
    from tensorflow import dtypes  # noqa: PLC0415  (the public tf.dtypes)

    nodes = graph_def.node
    index = {n.name: i for i, n in enumerate(nodes)}

    def source_const(inp: str) -> int | None:
        seen = 0
        name = inp.lstrip("^").split(":")[0]
        while seen < 8:
            i = index.get(name)
            if i is None:
                return None
            n = nodes[i]
            if n.op == "Const":
                return i
            k = 0 if n.op in PASSTHROUGH else PART_OF.get(n.op)
            if k is None or len(n.input) <= k:
                return None
            name, seen = n.input[k].split(":")[0], seen + 1
        return None

    def is_weight(i: int) -> bool:
        value = nodes[i].attr["value"].tensor
        try:
            floating = dtypes.as_dtype(value.dtype).is_floating
        except TypeError:
            floating = False
        return floating and len(value.tensor_shape.dim) >= 1   # a weight, never a scalar or a shape

    found: dict[str, tuple[int, str]] = {}
    producer = {n.name: n.op for n in nodes}
    for n in nodes:
        positions = WEIGHT_INPUTS.get(n.op, ())
        data = [x for x in n.input if not x.startswith("^")]
        if n.op in ("Add", "AddV2") and len(data) == 2:   # tf.matmul(x, w) + b
            ops = [producer.get(x.split(":")[0]) for x in data]
            positions = tuple(k for k in (0, 1) if ops[1 - k] in BIAS_AFTER)
        for k in positions:
            if k < len(data):
                c = source_const(data[k])
                if c is not None and is_weight(c) and nodes[c].name not in found:
                    if n.op in ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3") and \
                            all(source_const(x) is not None for x in data[:2]):
                        continue   # constant times constant: folded arithmetic, not a layer
                    found[nodes[c].name] = (c, f"{n.op} {n.name}")
    for i, n in enumerate(nodes):   # `X` read by an Identity `X/read`: how the freezer leaves every variable
        read = index.get(f"{n.name}/read")
        if n.op == "Const" and n.name not in found and read is not None and nodes[read].op == "Identity" and \
                is_weight(i):
            found[n.name] = (i, f"Identity {n.name}/read, a variable's read")   # peepholes, gains: read by a Mul
    return found


def variable_name(const_name: str, taken: set[str]) -> str:
    """The variable a frozen constant was: `scope/kernel/read` -> `scope/kernel` (a freezer that dropped the read
    Identity kept its name), else its own name."""
    m = re.fullmatch(r"(.+)/read(?:_\d+)?", const_name)
    if m and m.group(1) not in taken:
        return m.group(1)
    return const_name


def _unfreeze(src: ModelSource, where: str) -> None:
    """Turn the frozen weights of `src.meta_def` into variables holding their values (`src.frozen`)."""
    import tensorflow as tf  # noqa: PLC0415

    gd = src.meta_def.graph_def
    found = frozen_weights(gd)
    if not found:
        src.notes.append(f"{where}: no constant is read as a weight (by a MatMul, Conv, fused cell, BiasAdd or "
                         f"Gather): the model has no trainable weights")
        return
    taken = {n.name for n in gd.node}
    for const, (i, use) in sorted(found.items()):
        node = gd.node[i]
        value = tf.make_ndarray(node.attr["value"].tensor)
        dtype = node.attr["dtype"].type
        name = variable_name(const, taken)
        var = gd.node.add() if name != const else node
        if name != const:   # the const keeps its name as the read of the new variable
            taken.add(name)
            node.op = "Identity"
            node.ClearField("attr")
            node.attr["T"].type = dtype
            del node.input[:]
            node.input.append(name)
        else:
            var.ClearField("attr")
        var.name, var.op = name, "VariableV2"
        var.device = ""
        del var.input[:]
        var.attr["dtype"].type = dtype
        var.attr["shape"].shape.CopyFrom(tf.TensorShape(value.shape).as_proto())
        var.attr["container"].s = b""
        var.attr["shared_name"].s = b""
        src.frozen[name] = value
        src.frozen_uses[name] = use
    src.notes.append(f"{len(found)} constant(s) read as weights became variables (trainable Keras weights), e.g. "
                     f"{next(iter(sorted(src.frozen)))} (read by {src.frozen_uses[next(iter(sorted(src.frozen)))]})")


# -- Estimator model_dir ---------------------------------------------------------------------------------


def _model_dir(folder: str, tag_set, signature, graph_pbtxt: str | None = None) -> ModelSource:
    from migrate.files import find_meta, resolve_checkpoint  # noqa: PLC0415

    exports = [] if graph_pbtxt else _exports(folder)
    if exports:
        newest = max(exports, key=lambda d: (os.path.basename(d).isdigit(), os.path.basename(d),
                                             os.path.getmtime(d)))
        why = (f"the model_dir has {len(exports)} export(s) under export/; the newest, "
               f"{os.path.relpath(newest, folder)}, is the PREDICT graph the model serves (its signature names the "
               f"inputs and outputs), chosen over the training checkpoints")
        return _saved_model(newest, folder, tag_set, signature, form="model_dir", notes=[why])
    if tag_set is not None or signature is not None:
        raise FormError(f"{folder}: detected an Estimator model_dir with no export/ SavedModel; --tag-set / "
                        f"--signature choose a SavedModel's graph: leave them out, or pass the export's folder")
    try:
        prefix = resolve_checkpoint(folder)
    except ParityInputError:
        raise
    except Exception as e:  # noqa: BLE001 - CheckpointNotFound: say the form too
        raise FormError(f"{folder}: detected an Estimator model_dir (graph.pbtxt), but no checkpoint in it: {e}") \
            from None
    meta = find_meta(prefix)
    if meta is not None and graph_pbtxt is None:
        return ModelSource("model_dir", folder, graph_file=meta, prefix=prefix,
                           notes=[f"the latest checkpoint {os.path.basename(prefix)} (from `checkpoint`) with its "
                                  f"{os.path.basename(meta)}"])
    pbtxt = graph_pbtxt or os.path.join(folder, "graph.pbtxt")
    if not os.path.isfile(pbtxt):
        raise FormError(f"{folder}: detected an Estimator model_dir; its latest checkpoint "
                        f"{os.path.basename(prefix)} has no .meta and there is no graph.pbtxt, so there is no graph "
                        f"to convert. Copy graph.pbtxt (the Estimator writes it into model_dir) or a .meta beside "
                        f"the checkpoint.")
    gd = read_graph_def(pbtxt, what="an Estimator model_dir's graph.pbtxt")
    return ModelSource("model_dir", folder, graph_file=pbtxt, meta_def=_wrap(gd), prefix=prefix,
                       notes=[f"the latest checkpoint {os.path.basename(prefix)} (from `checkpoint`) with "
                              f"{os.path.basename(pbtxt)} (no .meta beside it): variables restored by name"])
