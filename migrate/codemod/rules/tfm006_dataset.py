"""TFM006 dataset: the tf.data.Dataset methods and properties TF 2 removed."""

from __future__ import annotations

import libcst as cst

from migrate.codemod.rules import Rule

# Methods only TF 1's tf.data.Dataset has (checked against TF 2.21: `dir(tf.compat.v1.data.Dataset) -
# dir(tf.data.Dataset)`), whose names nothing else in TensorFlow uses: `ds.m(*a)` -> `tf.compat.v1.data.m(ds, *a)`
# (what tf_upgrade_v2 writes).
UNIQUE_METHODS: dict[str, str] = {
    "make_one_shot_iterator": "tf.compat.v1.data.make_one_shot_iterator",
    "make_initializable_iterator": "tf.compat.v1.data.make_initializable_iterator",
}
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
    from migrate.codemod.rules.tfm002_arguments import fix_commas  # noqa: PLC0415

    return call.with_changes(func=cst.parse_expression(target), args=fix_commas(args, call.args))


def leave_attribute(cm, original: cst.Attribute) -> None:
    hint = AMBIGUOUS.get(original.attr.value)
    if hint is not None:
        cm.report_if_tf1(original.attr, "TFM006",
                         f"`.{original.attr.value}` was removed from tf.data.Dataset in TF 2: if this is a dataset "
                         f"or iterator, use {hint}")


RULE = Rule(
    code="TFM006",
    name="dataset",
    summary="removed tf.data.Dataset methods: ds.make_one_shot_iterator() / ds.make_initializable_iterator() "
            "-> tf.compat.v1.data.make_..._iterator(ds); .output_types / .output_shapes / .output_classes / "
            "*_with_legacy_function (names other classes share) are findings in TF 1 files",
    why="TF 2's Dataset has no iterator factories nor output_* properties; the functions in "
        "tf.compat.v1.data take the dataset and keep the TF 1 behaviour. The receiver's type is unknown to a "
        "codemod, so only method names that nothing else uses are rewritten.",
    before="import tensorflow as tf\n\nit = tf.data.Dataset.range(3).batch(2).make_initializable_iterator()\n",
    after="import tensorflow as tf\n\nit = tf.compat.v1.data.make_initializable_iterator(tf.data.Dataset.range(3)"
          ".batch(2))\n",
    leave_call=leave_call,
    leave_attribute=leave_attribute,
    words=frozenset(UNIQUE_METHODS) | frozenset(AMBIGUOUS),
)
