"""The reference side of parity for a model that shipped as a SavedModel or a frozen GraphDef: the original artefact,
loaded by TF 2.21's own `tf.compat.v1` loader for that form, in its own `tf.Graph()` and session.

| form                                | loaded by                                                              |
|-------------------------------------|------------------------------------------------------------------------|
| `saved_model`, `model_dir` (export) | `tf.compat.v1.saved_model.loader.load(sess, tags, dir)`: the MetaGraphDef of the tag set, its variables restored by the SavedModel's own Saver, then its `main_op` / `legacy_init_op` run with the assets fed (table initialisers, a `main_op` that assigns) |
| `frozen_graph`                      | `tf.compat.v1.import_graph_def` of the file's GraphDef, as read        |

What the converter translates is another graph (`TF1Graph`): the same GraphDef imported as data, its variables
restored by name, a frozen graph's weight constants turned into variables (`migrate.parity.forms`). Parity runs
the outputs on the loader's graph, so a difference between what the form computes when it is loaded and what the
translation read shows up as a parity failure, never as agreement of the translation with itself.

The one edit: the `Const` nodes `TF1Graph.set_constants` changed (dropout built with a constant keep probability,
switched off as at inference; the report lists them under `constants`) carry the same value here, set in the
loader's MetaGraphDef (`SavedModelLoader`, what `loader.load` calls) or in the GraphDef before the import.

`LoaderReference.open(source, constants) -> LoaderReference | None` (None: a checkpoint or a model_dir without an
export, whose reference is the `.meta` / `graph.pbtxt` graph restored by name: TF1Graph itself).
`.graph`, `.session`, `.values(names)`, `.table_contents(table_op_name)`, `.close()`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from migrate.parity.errors import ParityInputError


class ReferenceLoadError(ParityInputError):
    """The original artefact does not load with TensorFlow's own loader for its form (exit 2)."""


class LoaderReference:
    """The original artefact loaded by TF 2.21's `tf.compat.v1` loader for its form (module docstring)."""

    def __init__(self, source, graph, session, how: str):
        self.source, self.graph, self.session, self.how = source, graph, session, how

    @classmethod
    def open(cls, source, constants: dict[str, Any] | None = None) -> LoaderReference | None:
        if source.form in ("saved_model", "model_dir") and source.tag_set is not None:
            return cls._saved_model(source, constants or {})
        if source.form == "frozen_graph":
            return cls._frozen(source, constants or {})
        return None

    @classmethod
    def _saved_model(cls, source, constants) -> LoaderReference:
        import tensorflow as tf  # noqa: PLC0415

        from migrate.parity.tf1_graph import _session_config, describe_op_error  # noqa: PLC0415

        folder = os.path.dirname(source.graph_file)
        missing = [f for f in asset_files(source.meta_def) if not os.path.isfile(os.path.join(folder, "assets", f))]
        if missing:
            raise ReferenceLoadError(
                f"{source.graph_file}: detected a TF1 SavedModel (tag set {','.join(source.tag_set)}) whose graph "
                f"reads {len(missing)} asset file(s) that are not in {os.path.join(folder, 'assets')}: "
                f"{', '.join(missing[:5])} (a vocabulary a lookup table is filled from when the model loads). Copy "
                f"the assets/ folder SavedModelBuilder wrote beside saved_model.pb, then convert again.")
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph, config=_session_config(tf))
        try:
            with graph.as_default():
                if constants:   # loader.load is SavedModelLoader(dir).load: the same, with the constants set
                    from migrate._internals import saved_model_loader  # noqa: PLC0415

                    loader = saved_model_loader(folder)
                    _set_constants(loader.get_meta_graph_def_from_tags(source.tag_set).graph_def, constants)
                    loader.load(session, source.tag_set)
                else:
                    tf.compat.v1.saved_model.loader.load(session, source.tag_set, folder)
        except (tf.errors.OpError, ValueError, RuntimeError, KeyError, TypeError) as e:
            session.close()
            text = describe_op_error(e) if isinstance(e, tf.errors.OpError) else " ".join(str(e).split())[:600]
            raise ReferenceLoadError(
                f"{source.graph_file}: detected a TF1 SavedModel (tag set {','.join(source.tag_set)}), but TensorFlow "
                f"{tf.__version__}'s own loader (tf.compat.v1.saved_model.loader.load, what parity runs as the "
                f"reference) fails on it: {text}. The folder is incomplete (variables/ or assets/ not copied with "
                f"saved_model.pb) or uses an op this TensorFlow lacks; copy the whole export folder, or convert "
                f"from the checkpoint it was exported from.") from None
        return cls(source, graph, session, "tf.compat.v1.saved_model.loader.load(sess, "
                                           f"{list(source.tag_set)!r}, {folder!r})")

    @classmethod
    def _frozen(cls, source, constants) -> LoaderReference:
        import tensorflow as tf  # noqa: PLC0415

        from migrate.parity.forms import read_graph_def  # noqa: PLC0415
        from migrate.parity.tf1_graph import _session_config, describe_op_error  # noqa: PLC0415

        gd = read_graph_def(source.graph_file)   # the file's GraphDef as written
        _set_constants(gd, constants)
        how = f"tf.compat.v1.import_graph_def({os.path.basename(source.graph_file)})"
        dropped = 0
        for attempt in range(2):
            graph = tf.Graph()
            try:
                with graph.as_default():
                    tf.compat.v1.import_graph_def(gd, name="")
                break
            except (tf.errors.OpError, ValueError, KeyError, TypeError) as e:
                if attempt == 0 and "colocated with unknown node" in str(e):
                    # a tool that removed nodes left `_class: loc:@NODE` hints naming them: placement hints only
                    dropped = _drop_dangling_colocation(gd)
                    if dropped:
                        continue
                text = describe_op_error(e) if isinstance(e, tf.errors.OpError) else " ".join(str(e).split())[:600]
                raise ReferenceLoadError(f"{source.graph_file}: detected a frozen GraphDef, but "
                                         f"tf.compat.v1.import_graph_def fails on it under TensorFlow "
                                         f"{tf.__version__}: {text}; an op from tf.contrib or a custom op, or a "
                                         f"damaged file") from None
        if dropped:
            how += f", its {dropped} colocation hint(s) naming removed nodes dropped"
        session = tf.compat.v1.Session(graph=graph, config=_session_config(tf))
        return cls(source, graph, session, how)

    def has_tensor(self, name: str) -> bool:
        try:
            self.graph.get_tensor_by_name(name if ":" in name else name + ":0")
        except (KeyError, ValueError):
            return False
        return True

    def values(self, names: list[str]) -> dict[str, np.ndarray]:
        """Variables' values after the loader ran (its restore, then its main_op / legacy_init_op)."""
        import tensorflow as tf  # noqa: PLC0415

        reads = []
        with self.graph.as_default():
            for n in names:
                op = self.graph.get_operation_by_name(n)
                reads.append(tf.raw_ops.ReadVariableOp(resource=op.outputs[0], dtype=op.get_attr("dtype"))
                             if op.type == "VarHandleOp" else op.outputs[0])
        return dict(zip(names, self.session.run(reads)))

    def table_contents(self, table: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(keys, values) of the lookup table op `table` as the loader initialised it (its legacy_init_op / main_op
        ran the table initialisers with the assets fed); None when this graph has no such table."""
        import tensorflow as tf  # noqa: PLC0415

        try:
            op = self.graph.get_operation_by_name(table)
        except (KeyError, ValueError):
            return None
        kd, vd = op.get_attr("key_dtype"), op.get_attr("value_dtype")
        with self.graph.as_default():
            keys, values = tf.raw_ops.LookupTableExportV2(table_handle=op.outputs[0], Tkeys=kd, Tvalues=vd)
        try:
            return tuple(np.asarray(a) for a in self.session.run([keys, values]))
        except tf.errors.OpError:
            return None

    def close(self) -> None:
        self.session.close()


def asset_files(meta_def) -> list[str]:
    """The asset file names a MetaGraphDef reads from `assets/` (`asset_file_def`, or the `saved_model_assets`
    collection older TF 1.x wrote)."""
    from tensorflow.core.protobuf import meta_graph_pb2  # noqa: PLC0415

    names = [a.filename for a in meta_def.asset_file_def]
    col = meta_def.collection_def.get("saved_model_assets")
    if col is not None and col.WhichOneof("kind") == "any_list":
        for item in col.any_list.value:
            a = meta_graph_pb2.AssetFileDef()
            if item.Unpack(a):
                names.append(a.filename)
    return sorted(set(names))


def _drop_dangling_colocation(graph_def) -> int:
    """Remove `_class: loc:@NODE` entries naming nodes the GraphDef does not have; how many were removed."""
    names = {n.name for n in graph_def.node}
    dropped = 0
    for n in graph_def.node:
        if "_class" not in n.attr:
            continue
        values = list(n.attr["_class"].list.s)
        keep = [v for v in values if not v.startswith(b"loc:@") or v[5:].decode("utf-8", "replace") in names]
        if len(keep) != len(values):
            dropped += len(values) - len(keep)
            if keep:
                del n.attr["_class"].list.s[:]
                n.attr["_class"].list.s.extend(keep)
            else:
                del n.attr["_class"]
    return dropped


def _set_constants(graph_def, constants: dict[str, Any]) -> None:
    import tensorflow as tf  # noqa: PLC0415

    wanted = {k.split(":")[0]: v for k, v in constants.items()}
    for node in graph_def.node:
        if node.op == "Const" and node.name in wanted:
            old = tf.make_ndarray(node.attr["value"].tensor)
            new = np.broadcast_to(np.asarray(wanted[node.name], dtype=old.dtype), old.shape).copy()
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(new))


def reference_report(tf1) -> dict:
    """`source.reference`: how the reference side of parity loaded the model (the form's own loader, or the graph
    restored by name); `source.loaded_values`: the SavedModel variables its main_op / legacy_init_op changed at load
    (the translation, and so the Keras model, holds the loaded values)."""
    ref = tf1.reference
    out = {"reference": ref.how if ref is not None else
           "the graph imported and its variables restored by name (tf.compat.v1.train.Saver)"}
    if getattr(tf1, "loaded_values", None):
        out["loaded_values"] = list(tf1.loaded_values)
    return out
