"""TFM008 meaning: calls of names TF 2.21 kept with another meaning keep their TF 1 meaning.

The table is data (`migrate/codemod/semantics.py`, one entry per name with its doc); this rule applies
the entries whose fix is not an argument change (TFM002 makes those): the tf.compat.v1 twin, dropout's
keep_prob, the gradient into softmax_cross_entropy_with_logits' labels.
"""

from __future__ import annotations

import ast

import libcst as cst

from migrate.codemod.rules import Rule
from migrate.codemod.semantics import COMPAT, DROPOUT, LABELS_STOP_GRADIENT
from migrate.codemod.shared import DROPOUT_TF1_SIGNATURE, dropout_keep_prob
from migrate.codemod.textpath import TextCall

# Calls whose result has the shape of their (first) argument: `tf.where(tf.is_nan(x), tf.zeros_like(x),
# x)` has condition, x and y of one shape, where TF 1's and TF 2's tf.where agree (no rewrite needed).
SHAPE_PRESERVING: frozenset[str] = frozenset({
    "tf.zeros_like", "tf.ones_like", "tf.math.is_nan", "tf.is_nan", "tf.math.is_inf", "tf.is_inf",
    "tf.math.is_finite", "tf.is_finite", "tf.math.logical_not", "tf.logical_not", "tf.identity",
    "tf.stop_gradient", "tf.abs", "tf.math.abs", "tf.math.negative", "tf.negative", "tf.math.sign", "tf.sign",
})
# What the finding in a file that may be TF 2 code asks for, per fix.
FIXES: dict[str, str] = {
    COMPAT: "`{compat}(...)`",
    DROPOUT: "`rate=1 - keep_prob`",
    LABELS_STOP_GRADIENT: "`labels=tf.stop_gradient(labels)`",
}
# Label expressions that carry no gradient (TF 1's stop_gradient is a no-op on them): no rewrite needed.
NO_GRADIENT: frozenset[str] = frozenset({"tf.stop_gradient", "tf.one_hot"})


def _callee(cm, node: cst.BaseExpression) -> str | None:
    """The canonical TF name a callee of the input refers to (`tf.zeros_like`; the engine's resolution of
    the reference, so both resolvers agree), or None."""
    name = cm._canon.get(id(node))
    if name is not None and name.startswith("tf.compat.v1."):
        return "tf." + name[len("tf.compat.v1."):]
    return name


def _base(cm, expr: cst.BaseExpression) -> str | None:
    """The source of the tensor whose shape `expr` has, through shape-preserving calls and comparisons
    with a number; None when that cannot be told."""
    while True:
        if isinstance(expr, cst.Call) and _callee(cm, expr.func) in SHAPE_PRESERVING and expr.args \
                and expr.args[0].keyword is None and not expr.args[0].star:
            expr = expr.args[0].value
        elif isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1 \
                and isinstance(expr.comparisons[0].comparator, cst.Integer | cst.Float):
            expr = expr.left
        elif isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.BitInvert | cst.Minus):
            expr = expr.expression
        else:
            break
    if isinstance(expr, cst.Name | cst.Attribute | cst.Subscript):
        return cst.Module([]).code_for_node(expr.with_changes(lpar=[], rpar=[]))
    return None


def _number(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus | cst.Plus):
        expr = expr.expression
    return isinstance(expr, cst.Integer | cst.Float)


def _where_means_the_same(cm, args: list[cst.Arg]) -> bool:
    """`tf.where(c, x, y)` that TF 1 and TF 2 compute alike: its three operands provably have one shape;
    or x or y is a number, which TF 1's tf.where rejects unless the condition is a scalar too (TF 2 code,
    `tf.where(x > 0, x, 0.)`, whose meaning TF 1 never had)."""
    if len(args) != 3 or any(a.keyword is not None or a.star for a in args):
        return False
    if _number(args[1].value) or _number(args[2].value):
        return True
    bases = {_base(cm, a.value) for a in args}
    return len(bases) == 1 and None not in bases


def leave_call(cm, original: cst.Call, call: cst.Call, name: str | None) -> cst.BaseExpression:
    entry = cm.tables.semantics.get(name) if name else None
    if entry is None or entry.fix not in (COMPAT, DROPOUT, LABELS_STOP_GRADIENT):
        return call
    if any(a.star == "*" for a in call.args):
        cm.report(original, "TFM008", f"`{name}` is called with *args and its meaning changed in TF 2: "
                                      f"{entry.doc}; check the call by hand")
        return call
    positional = sum(1 for a in original.args if a.keyword is None and not a.star)
    keywords = {a.keyword.value for a in original.args if a.keyword is not None}
    if not entry.applies(positional, keywords):
        return call
    if name == "tf.where" and _where_means_the_same(cm, list(original.args)):
        return call
    params = cm.tables.signatures.get(name)
    tf1_form = params is not None and bool(keywords - set(params))  # `keep_prob=`, `dim=`: a TypeError on TF 2
    if tf1_form:
        cm.evidence = True  # this is TF 1 code
    if not entry.everywhere and not tf1_form and not cm.assume_tf1:  # the rerun of a file with no TF 1-only name
        cm.report(original, "TFM008", f"`{name}` means something else in TF 2: {entry.doc}. Nothing else in "
                                      "this file is TF 1-only, so the call was left as it is: if it is TF 1 "
                                      f"code, write {FIXES[entry.fix].format(compat='tf.compat.v1.' + name[3:])}")
        return call
    if entry.fix == COMPAT:
        compat = "tf.compat.v1." + name[len("tf."):]
        cm.mark_replaced(original.func)
        new = call.with_changes(func=cst.parse_expression(cm.import_for(compat, original)))
    elif entry.fix == DROPOUT:
        new = dropout_keep_prob(call)
    else:
        new = _labels_stop_gradient(cm, original, call)
    if new is not call and not entry.everywhere and not tf1_form:
        cm.ambiguous_seen = True  # kept only if the file turns out to be TF 1 code (else: the finding)
    return new


def text_call(view, call):
    """`leave_call` on the text path (`textpath.py`): True where it leaves the call as it is and reports
    nothing; the tf.compat.v1 twin (COMPAT) and `rate=1 - keep_prob` (DROPOUT) as text edits where the
    pass rewrites them (not the rerun of a file with no TF 1-only name: that one reports); False (the
    libcst pass) for everything else (tf.where, labels, *args, parenthesized arguments)."""
    name = call.name
    entry = view.tables.semantics.get(name)
    if entry is None or entry.fix not in (COMPAT, DROPOUT, LABELS_STOP_GRADIENT):
        return True
    if call.star:
        return False
    if not entry.applies(call.positional, set(call.keywords)):
        return True
    if name == "tf.where" or entry.fix == LABELS_STOP_GRADIENT:
        return False
    params = view.tables.signatures.get(name)
    tf1_form = params is not None and bool(call.keywords - set(params))
    if not entry.everywhere and not tf1_form and not view.assume_tf1:
        return False  # the finding
    ambiguous = not entry.everywhere and not tf1_form
    if entry.fix == COMPAT:
        alias = view.tf_alias
        if alias is None:
            return False  # an import to add: libcst
        return TextCall(func=alias + ".compat.v1." + name[len("tf."):], evidence=tf1_form, ambiguous=ambiguous)
    return _text_dropout(call, tf1_form, ambiguous)


def _text_dropout(call, tf1_form: bool, ambiguous: bool):
    """`dropout_keep_prob` as text edits: TF 1's positional arguments after x become keywords, keep_prob
    becomes `rate=1 - keep_prob` (in parentheses unless the value is a name, attribute, call, subscript or
    number)."""
    if any(a.wrapped for a in call.args) or call.positional > len(DROPOUT_TF1_SIGNATURE):
        return False
    if call.args and call.args[0].keyword is not None and call.positional:
        return False  # a keyword before a positional argument is a syntax error anyway
    before, after = [], []
    named = False
    for i, arg in enumerate(call.args):
        keyword = arg.keyword
        if keyword is None and i > 0:
            keyword = DROPOUT_TF1_SIGNATURE[i]
        if keyword != "keep_prob":
            if arg.keyword is None and i > 0:
                before.append((i, keyword + "="))
            continue
        named = True
        atomic = _atomic(arg.value)
        before.append((i, "rate=1 - " + ("" if atomic else "(")))
        if not atomic:
            after.append((i, ")"))
    if not named:
        return True  # no keep_prob: unchanged
    return TextCall(before=tuple(before), after=tuple(after), evidence=tf1_form, ambiguous=ambiguous)


def _atomic(value: ast.expr) -> bool:
    """`shared.one_minus`'s test on the `ast`: names, attributes, calls, subscripts, numbers (`True` and
    `None` are names to libcst)."""
    if isinstance(value, ast.Name | ast.Attribute | ast.Call | ast.Subscript):
        return True
    return isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, bool | int | float))


def note_reference(cm, node, final: str) -> None:
    """A reference to a name of the table (its calls are seen by `note_call`; the others, at the end)."""
    entry = cm.tables.semantics.get(final)
    if entry is not None and entry.fix in FIXES and final in cm.tables.api:
        cm.state["TFM008"].setdefault("refs", []).append((node, final))


def note_call(cm, original: cst.Call, name: str) -> None:
    cm.state["TFM008"].setdefault("called", set()).add(id(original.func))


def leave_module(cm, original) -> None:
    """A name of the table used without a call (`fn = tf.where`, `map(tf.nn.dropout, ...)`): its arguments
    cannot be seen, so it is a finding naming the difference (not for the argument-order entries: a
    function passed uncalled, `tf.nest.map_structure(tf.shape, x)`, is called with one argument)."""
    state = cm.state["TFM008"]
    called = state.get("called", set())
    for node, name in state.get("refs", ()):
        if id(node) not in called:
            entry = cm.tables.semantics[name]
            cm.report(node, "TFM008", f"`{name}` is used without a call and means something else in TF 2: "
                                      f"{entry.doc}; if this is TF 1 code, call it where its arguments show "
                                      f"(or use {FIXES[entry.fix].format(compat='tf.compat.v1.' + name[3:])})")


def _labels_stop_gradient(cm, original: cst.Call, call: cst.Call) -> cst.Call:
    args = list(call.args)
    for i, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "labels":
            value = arg.value
            before = original.args[i].value if i < len(original.args) else None
            if isinstance(before, cst.Call) and _callee(cm, before.func) in NO_GRADIENT:
                return call
            wrapped = cst.Call(func=cst.parse_expression(cm.import_for("tf.stop_gradient", original)),
                               args=[cst.Arg(value.with_changes(lpar=[], rpar=[]))])
            args[i] = arg.with_changes(value=wrapped)
            return call.with_changes(args=args)
    return call


RULE = Rule(
    code="TFM008",
    name="meaning",
    summary="calls of names TF 2 kept with another meaning (tf.where(c, x, y), tf.nn.dropout(x, keep_prob), "
            "softmax_cross_entropy_with_logits' labels, initializer defaults, tf.image.resize, ...: "
            "`migrate/codemod/semantics.py`) keep their TF 1 meaning (the tf.compat.v1 twin or a proven "
            "equivalent): in every file where the call's form is TF 1's or TF 1's meaning is safe for TF 2 code "
            "(tf.where), else in TF 1 code, and elsewhere a finding names the difference",
    why="The same call spelled the same way computes something else on TF 2.21 (tf.where with a rank-1 "
        "mask selects columns instead of rows; dropout(h, 0.8) drops 80% instead of keeping it) or fails. "
        "Whether a call keeps its meaning must not hang on a guess that the file is TF 2 code: a call "
        "whose form is TF 1's (an argument TF 2 lacks) or whose TF 1 meaning is safe for TF 2 code too "
        "(tf.where: TF 1's computes what TF 2's does or raises, but for a rank-1 condition over a square x, "
        "rows against columns) is rewritten in every file; a "
        "call TF 2 code writes the same way with its TF 2 meaning (dropout(h, 0.2)) is rewritten in TF 1 "
        "code and, where nothing else says which it is, left as it is with a finding naming the "
        "difference. The arguments say when a call may carry the TF 1 meaning: tf.where(c) alone, or "
        "with condition, x and y of one provable shape, means the same in both. A call with *args is a "
        "finding. The table, one entry per name with its difference and source, "
        "is `semantics.SEMANTICS`; `tests/test_codemod_semantics.py` runs each entry's example with TF 1 "
        "semantics and the codemod's output on TF 2.21 and compares the results.",
    before="import tensorflow as tf\n\nx = tf.placeholder(tf.float32, [None, 4])\nrows = tf.where(mask, x, y)\n"
           "h = tf.nn.dropout(x, 0.8)\ninit = tf.random_normal_initializer()\n",
    after="import tensorflow as tf\n\nx = tf.compat.v1.placeholder(tf.float32, [None, 4])\n"
          "rows = tf.compat.v1.where(mask, x, y)\nh = tf.nn.dropout(x, rate=1 - 0.8)\n"
          "init = tf.compat.v1.random_normal_initializer()\n",
    leave_call=leave_call,
    text_call=text_call,
    note_reference=note_reference,
    note_call=note_call,
    leave_module=leave_module,
    new_state=dict,  # "refs": references to the table's names; "called": ids of the callees among them
)
