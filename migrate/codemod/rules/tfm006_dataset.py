"""TFM006 dataset: the tf.data.Dataset methods and properties TF 2 removed."""

from __future__ import annotations

import ast

import libcst as cst

from migrate.codemod.rules import Rule
from migrate.codemod.shared import file_ast, fix_commas

# Methods only TF 1's tf.data.Dataset has (checked against TF 2.21: `dir(tf.compat.v1.data.Dataset) -
# dir(tf.data.Dataset)`), whose names nothing else in TensorFlow uses: `ds.m(*a)` -> `tf.compat.v1.data.m(ds, *a)`
# (what tf_upgrade_v2 writes).
UNIQUE_METHODS: dict[str, str] = {
    "make_one_shot_iterator": "tf.compat.v1.data.make_one_shot_iterator",
    "make_initializable_iterator": "tf.compat.v1.data.make_initializable_iterator",
}
# Properties TF 2 removed, and the tf.compat.v1.data function that takes the dataset (or iterator) and
# returns the same: `ds.output_shapes` -> `tf.compat.v1.data.get_output_shapes(ds)` when `ds` is a Dataset by
# local inference (`dataset_names`); otherwise a finding (Iterator and many user classes use the names).
PROPERTIES: dict[str, str] = {
    "output_types": "tf.compat.v1.data.get_output_types",
    "output_shapes": "tf.compat.v1.data.get_output_shapes",
    "output_classes": "tf.compat.v1.data.get_output_classes",
}
# TF 1.15 / TF 2.21 tf.data.Dataset methods that return a Dataset (a chain of them on a Dataset is one).
DATASET_METHODS: frozenset[str] = frozenset({
    "apply", "batch", "bucket_by_sequence_length", "cache", "concatenate", "enumerate", "filter",
    "filter_with_legacy_function", "flat_map", "group_by_window", "ignore_errors", "interleave", "map",
    "map_with_legacy_function", "padded_batch", "prefetch", "ragged_batch", "rebatch", "rejection_resample",
    "repeat", "scan", "shard", "shuffle", "skip", "snapshot", "sparse_batch", "take", "take_while", "unbatch",
    "unique", "with_options",
})
# TF names that make a Dataset: a call of one (or of its `tf.compat.v1.` twin) is a Dataset.
DATASET_SOURCES: frozenset[str] = frozenset({
    "tf.data.Dataset", "tf.data.TFRecordDataset", "tf.data.TextLineDataset", "tf.data.FixedLengthRecordDataset",
    "tf.data.Dataset.from_tensor_slices", "tf.data.Dataset.from_tensors", "tf.data.Dataset.from_generator",
    "tf.data.Dataset.range", "tf.data.Dataset.zip", "tf.data.Dataset.list_files", "tf.data.Dataset.counter",
    "tf.data.Dataset.choose_from_datasets", "tf.data.Dataset.sample_from_datasets", "tf.data.Dataset.random",
    "tf.data.Dataset.load", "tf.data.experimental.make_csv_dataset", "tf.data.experimental.CsvDataset",
    "tf.data.experimental.SqlDataset",
})
# Removed too, but the names are not unique (Iterator has them, and so do many user classes): findings,
# reported only in files that are TF 1 code (another reference needed a rewrite).
AMBIGUOUS: dict[str, str] = {
    "output_types": "tf.compat.v1.data.get_output_types(ds) (or ds.element_spec)",
    "output_shapes": "tf.compat.v1.data.get_output_shapes(ds) (or ds.element_spec)",
    "output_classes": "tf.compat.v1.data.get_output_classes(ds) (or ds.element_spec)",
    "filter_with_legacy_function": "ds.filter(...) (a tf.function), or tf.compat.v1.data.Dataset",
    "map_with_legacy_function": "ds.map(...) (a tf.function), or tf.compat.v1.data.Dataset",
}


def leave_call(cm, original: cst.Call, call: cst.Call, name: str | None) -> cst.BaseExpression:
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in UNIQUE_METHODS:
        return call
    if name is not None and cm.tables.exists(name):
        return call  # `tf.compat.v1.data.make_one_shot_iterator` itself, or a TF 2 name
    target = cm.import_for(UNIQUE_METHODS[func.attr.value], original)
    args = [cst.Arg(func.value), *call.args]
    return call.with_changes(func=cst.parse_expression(target), args=fix_commas(args, call.args))


def text_call(view, call) -> bool:
    """`leave_call` acts on the methods of UNIQUE_METHODS only (`textpath.py`)."""
    return call.name.rpartition(".")[2] not in UNIQUE_METHODS


def leave_attribute(cm, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression | None:
    function = PROPERTIES.get(original.attr.value)
    if function is not None and _is_dataset(cm, original.value):
        func = cst.parse_expression(cm.import_for(function, original))
        return cst.Call(func=func, args=[cst.Arg(updated.value.with_changes(lpar=[], rpar=[]))],
                        lpar=updated.lpar, rpar=updated.rpar)
    hint = AMBIGUOUS.get(original.attr.value)
    if hint is not None:
        cm.report_if_tf1(original.attr, "TFM006",
                         f"`.{original.attr.value}` was removed from tf.data.Dataset in TF 2: if this is a dataset "
                         f"or iterator, use {hint}")


def _tf_name(cm, node) -> str | None:
    """The canonical TF name of a dotted `ast` expression through the file's TF bindings, without
    `compat.v1.` (`tf.data.Dataset.range`), or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in cm.bindings.names:
        return None
    name = ".".join([cm.bindings.names[node.id], *reversed(parts)])
    return "tf." + name[len("tf.compat.v1."):] if name.startswith("tf.compat.v1.") else name


def _dataset_expr(cm, node, names: set[str]) -> bool:
    """An `ast` expression that is a tf.data Dataset: a call of a Dataset source, a Dataset method called on
    one, or a name known to hold one."""
    if isinstance(node, ast.Name):
        return node.id in names
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if _tf_name(cm, func) in DATASET_SOURCES:
        return True
    return isinstance(func, ast.Attribute) and func.attr in DATASET_METHODS and _dataset_expr(cm, func.value, names)


def dataset_names(cm) -> frozenset[str]:
    """Names that hold a Dataset wherever the file binds them: every binding is a Dataset expression
    (`ds = tf.data.TFRecordDataset(f)`, `ds = ds.map(parse)`) or a parameter annotated `tf.data.Dataset`,
    and nothing else binds the name (another assignment, an unannotated parameter, a loop target, an
    import...). Computed once per file from its whole text with `ast`."""
    state = cm.state["TFM006"]
    if "names" in state:
        return state["names"]
    tree = file_ast(cm)
    if tree is None:
        state["names"] = frozenset()
        return state["names"]
    bindings: dict[str, list] = {}  # name -> the values bound to it (a str marks a binding of another kind)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        bindings.setdefault(n.id, []).append(node.value if isinstance(target, ast.Name) else "other")
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(getattr(node, "value", None) or "other")
        elif isinstance(node, ast.arg):
            annotation = _tf_name(cm, node.annotation) if node.annotation is not None else None
            bindings.setdefault(node.arg, []).append("dataset" if annotation == "tf.data.Dataset" else "other")
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension | ast.withitem):
            target = node.optional_vars if isinstance(node, ast.withitem) else node.target
            for n in ast.walk(target) if target is not None else ():
                if isinstance(n, ast.Name):
                    bindings.setdefault(n.id, []).append("other")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bindings.setdefault((alias.asname or alias.name).split(".")[0], []).append("other")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bindings.setdefault(node.name, []).append("other")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                bindings.setdefault(name, []).append("other")
    names: set[str] = set()
    changed = True
    while changed:  # `ds = ds.map(f)` needs `ds` known: grow to a fixed point
        changed = False
        for name, values in bindings.items():
            if name in names or "other" in values:
                continue
            if all(v == "dataset" or (not isinstance(v, str) and _dataset_expr(cm, v, names | {name}))
                   for v in values) and any(v == "dataset" or not _self_only(v, name) for v in values):
                names.add(name)
                changed = True
    state["names"] = frozenset(names)
    return state["names"]


def _self_only(value, name: str) -> bool:
    """`ds = ds.map(f)`: a Dataset only if `ds` already was one (not a source by itself)."""
    node = value
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        node = node.func.value
    return isinstance(node, ast.Name) and node.id == name


def _is_dataset(cm, receiver: cst.BaseExpression) -> bool:
    """Whether a receiver (libcst) is a Dataset by local inference (`dataset_names`, a Dataset chain)."""
    code = cst.Module([]).code_for_node(receiver)
    try:
        node = ast.parse(code.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return False
    return _dataset_expr(cm, node, set(dataset_names(cm)))


RULE = Rule(
    code="TFM006",
    name="dataset",
    summary="removed tf.data.Dataset methods: ds.make_one_shot_iterator() / ds.make_initializable_iterator() "
            "-> tf.compat.v1.data.make_..._iterator(ds); ds.output_types / .output_shapes / .output_classes -> "
            "tf.compat.v1.data.get_output_...(ds) where ds is a Dataset by local inference, else findings in TF 1 "
            "files (names other classes share), as *_with_legacy_function",
    why="TF 2's Dataset has no iterator factories nor output_* properties (an AttributeError at run time, in "
        "TF 2 branches of feature tests too); the functions in tf.compat.v1.data take the dataset (or "
        "iterator) and return what TF 1 returned. The iterator factories' names are unique and always "
        "rewritten; output_* are rewritten where the receiver is a Dataset by local inference: a chain of "
        "Dataset methods on a tf.data source (`tf.data.TFRecordDataset(f).batch(2)`), or a name that every "
        "binding in the file makes a Dataset (assigned such a chain, `ds = ds.map(f)`, or a parameter "
        "annotated `tf.data.Dataset`).",
    before="import tensorflow as tf\n\nds = tf.data.Dataset.range(3).batch(2)\nit = ds.make_initializable_iterator()\n"
           "shapes = ds.output_shapes\n",
    after="import tensorflow as tf\n\nds = tf.data.Dataset.range(3).batch(2)\n"
          "it = tf.compat.v1.data.make_initializable_iterator(ds)\nshapes = tf.compat.v1.data.get_output_shapes(ds)\n",
    leave_call=leave_call,
    text_call=text_call,
    leave_attribute=leave_attribute,
    new_state=dict,  # "names": the file's Dataset names (`dataset_names`), computed on first need
    words=frozenset(UNIQUE_METHODS) | frozenset(AMBIGUOUS),
)
