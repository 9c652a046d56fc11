"""TFM002 arguments: argument changes (tf_upgrade_v2's keyword renames, reorders and code transformers)."""

from __future__ import annotations

import libcst as cst

from migrate.codemod.rules import Rule
from migrate.codemod.semantics import COMPAT, DROPOUT
from migrate.codemod.shared import dropout_keep_prob, eq, fix_commas  # noqa: F401  (TFM008 uses dropout_keep_prob)
from migrate.codemod.tables import CONTRIB_REORDERS
from migrate.codemod.textpath import TextCall

# `tf.to_<t>(x, name=None)` -> `tf.cast(x, tf.<t>, name=None)` (tf_upgrade_v2: _cast_transformer).
CAST_FUNCTIONS: dict[str, str] = {
    "tf.to_float": "float32", "tf.to_double": "float64", "tf.to_int32": "int32", "tf.to_int64": "int64",
    "tf.to_bfloat16": "bfloat16", "tf.to_complex64": "complex64", "tf.to_complex128": "complex128",
}
# Arguments TF 2 removed because it always does what one value of them did: passed with that literal
# value, the argument is dropped; passed otherwise (another value, a variable), the call moves to its
# tf.compat.v1 twin, which keeps the argument. (TF 2's sampled_softmax_loss / nce_loss / embedding_lookup
# partition "div"-style: tensorflow/python/ops/nn_impl.py and embedding_ops.py, `*_v2`.)
DROPPED_IF_LITERAL: dict[str, tuple[str, str]] = {
    "tf.nn.sampled_softmax_loss": ("partition_strategy", "div"),
    "tf.nn.nce_loss": ("partition_strategy", "div"),
    "tf.nn.embedding_lookup": ("partition_strategy", "div"),
    "tf.nn.embedding_lookup_sparse": ("partition_strategy", "div"),
}


def leave_call(cm, original: cst.Call, call: cst.Call, name: str | None) -> cst.BaseExpression:
    """The TF 2 call for a call of the TF 1 function `name` (unchanged when nothing moved)."""
    return _arguments(cm, original, call, name)


def _meaning_changed(cm, original: cst.Call, call: cst.Call, name: str) -> cst.BaseExpression:
    """A call of a TF 2 name whose positional order or keywords changed (`Tables.meaning_changed`): its
    arguments are fixed in every file when it passes a keyword only TF 1 has (it fails on TF 2);
    otherwise only in TF 1 code, like an ambiguous name, and a positional argument where the orders
    differ is a finding elsewhere. Calls that
    TFM008 moves to their tf.compat.v1 twin (which keeps TF 1's arguments) or whose keep_prob it turns
    into rate are left to it."""
    t = cm.tables
    entry = t.semantics.get(name)
    if entry is not None and entry.fix in (COMPAT, DROPOUT):
        return call
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    positional = sum(1 for a in call.args if a.keyword is None and not a.star)
    tf1_only = t.tf1_only_keywords(name, keywords)
    if not tf1_only and not cm.assume_tf1:  # the rerun of a file with no TF 1-only name
        where = t.diverges(name, positional)
        if where is not None:
            i, tf1, tf2 = where
            cm.report(original, "TFM002", f"`{name}`'s positional argument {i + 1} is {tf1} in TF 1 and {tf2} "
                                          "in TF 2.21; nothing else in this file is TF 1-only, so the call was "
                                          "left as it is: if it is TF 1 code, pass the arguments by keyword")
        return call
    new = _arguments(cm, original, call, name, tf2=True)
    if new is not call:
        if tf1_only:
            cm.evidence = True  # TF 2 has no such keyword: this is TF 1 code
        else:
            cm.ambiguous_seen = True  # kept only if the file turns out to be TF 1 code (else: the finding)
    return new


def _arguments(cm, original: cst.Call, call: cst.Call, name: str | None, tf2: bool = False) -> cst.BaseExpression:
    t = cm.tables
    stars = [a for a in call.args if a.star]
    if any(a.star == "*" for a in stars) and (name in t.reorders or name in CAST_FUNCTIONS):
        cm.report(original, "TFM002", f"`{name}` is called with *args: check its arguments against the TF 2 "
                                      "signature by hand")
        return call
    if stars and name in CAST_FUNCTIONS:
        return call  # TFM001 moves it to tf.compat.v1.to_<t>, which keeps the TF 1 signature
    if name in CAST_FUNCTIONS:
        new = _cast(cm, call, name)
        if new is not call:
            cm.mark_replaced(original.func)  # the callee changed: the engine realigns the arguments
        return new
    if not tf2 and name in t.meaning_changed and not name.startswith("tf.compat.") and name in t.signatures:
        return _meaning_changed(cm, original, call, name)
    final = t.resolve(name).target or name
    if (final.startswith("tf.compat.v1.") or not final.startswith("tf.")) and name not in CONTRIB_REORDERS:
        return call  # compat.v1 keeps the TF 1 signature (a renamed contrib function may not: CONTRIB_REORDERS)
    dropped = DROPPED_IF_LITERAL.get(name)
    if dropped is not None:
        keyword, value = dropped
        arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)
        if arg is not None:
            literal = isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value == value
            if not literal:
                cm.mark_replaced(original.func)
                return call.with_changes(func=cst.parse_expression(cm.import_for("tf.compat.v1." + name[3:],
                                                                                 original)))
            call = call.with_changes(args=fix_commas([a for a in call.args if a is not arg], call.args))
            cm.evidence = True  # TF 2 has no such argument: this is TF 1 code
    args = [a for a in call.args if not a.star]
    order = t.reorders.get(name)
    if order:
        positional = [a for a in args if a.keyword is None]
        if any(order[i] for i in range(min(len(positional), len(order)))):
            new_args, keywords = [], []
            for i, arg in enumerate(positional):
                key = order[i] if i < len(order) else None
                if key:
                    keywords.append(arg.with_changes(keyword=cst.Name(key), equal=eq()))
                else:
                    new_args.append(arg)
            args = new_args + keywords + [a for a in args if a.keyword is not None]
    renames = t.keyword_renames.get(name, {})
    used = {a.keyword.value for a in args if a.keyword is not None}
    removed = sorted(k for k in used if k in renames and renames[k] is None)
    if removed:
        compat = "tf.compat.v1." + name[3:]
        if t.exists(compat):  # the TF 1 signature lives on in compat.v1: keep the call working
            cm.mark_replaced(original.func)
            return call.with_changes(func=cst.parse_expression(cm.import_for(compat, original)))
        cm.report(original, "TFM002", f"argument(s) {', '.join(removed)} of `{name}` were removed in TF 2 "
                                      "and it has no compat.v1 twin: delete them or rewrite the call")
    if renames:
        args = [arg.with_changes(keyword=cst.Name(renames[arg.keyword.value]))
                if arg.keyword is not None and renames.get(arg.keyword.value) else arg for arg in args]
    args += stars
    if args != list(call.args):
        return call.with_changes(args=fix_commas(args, call.args))
    return call


def text_call(view, call):
    """`leave_call` on the text path (`textpath.py`): True where it leaves the call as it is on any pass
    (no argument TF 2 dropped, reordered or renamed, no finding); `tf.to_float(x)` -> `tf.cast(x,
    tf.float32)` as text edits (one positional argument, the callee through the `tf` module); False
    (the libcst pass) for everything else."""
    t = view.tables
    name, positional, keywords, star = call.name, call.positional, call.keywords, call.star
    if name in CAST_FUNCTIONS:
        return _text_cast(view, call)
    if star or name in DROPPED_IF_LITERAL or name in CONTRIB_REORDERS:
        return False
    if name in t.meaning_changed and not name.startswith("tf.compat.") and name in t.signatures:
        entry = t.semantics.get(name)
        if entry is not None and entry.fix in (COMPAT, DROPOUT):
            return True  # left to TFM008
        if t.tf1_only_keywords(name, set(keywords)) or t.diverges(name, positional) is not None:
            return False
    else:
        final = t.resolve(name).target or name
        if final.startswith("tf.compat.v1.") or not final.startswith("tf."):
            return True  # compat.v1 keeps the TF 1 signature
    order = t.reorders.get(name)
    if order and any(order[i] for i in range(min(positional, len(order)))):
        return False
    renames = t.keyword_renames.get(name, {})
    return not any(k in renames for k in keywords)


def _text_cast(view, call):
    """`_cast` as text edits, for `tf.to_<t>(x)` written through the module (`tf.to_float`): one
    positional argument, closed by the call's `)`."""
    if call.star or len(call.args) != 1 or call.args[0].keyword is not None or not call.closed \
            or len(call.callee) < 2 or view.bindings.names.get(call.root) not in ("tf", "tf.compat.v1"):
        return False
    root = call.root
    return TextCall(func=root + ".cast", after=((0, f", {root}.{CAST_FUNCTIONS[call.name]}"),))


def _cast(cm, call: cst.Call, name: str) -> cst.Call:
    args = list(call.args)
    positional = [a for a in args if a.keyword is None]
    keywords = [a for a in args if a.keyword is not None]
    x = positional[0] if positional else next((a for a in keywords if a.keyword.value == "x"), None)
    if x is None:
        return call
    keywords = [a for a in keywords if a is not x]
    rest = [a.with_changes(keyword=cst.Name("name"), equal=eq()) for a in positional[1:2]] + keywords
    x = x.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
    root = _dtype_root(cm, call.func)
    func = cst.parse_expression(root + ".cast") if cm.dotted(call.func) else call.func
    dtype = cst.parse_expression(root + "." + CAST_FUNCTIONS[name])
    return call.with_changes(func=func, args=fix_commas([x, cst.Arg(dtype), *rest], call.args))


def _dtype_root(cm, func: cst.BaseExpression) -> str:
    parts = cm.dotted(func) or []
    # `tf.to_float` / `tf.compat.v1.to_float` -> `tf`; a bare `to_float` import -> the tf alias
    if len(parts) >= 2 and cm.bindings.names.get(parts[0]) in ("tf", "tf.compat.v1"):
        return parts[0]
    return cm.import_for("tf.cast", func).rpartition(".")[0]


RULE = Rule(
    code="TFM002",
    name="arguments",
    summary="argument changes: keep_dims -> keepdims, dim / reduction_indices -> axis, keep_prob -> "
            "rate=1 - keep_prob, tf.to_float(x) -> tf.cast(x, tf.float32), positional arguments whose order "
            "changed -> keywords; a removed argument keeps the call on its tf.compat.v1 twin",
    why="TF 2 renamed and reordered arguments of many functions; a positional argument in the TF 1 order "
        "would silently bind to another parameter. Calls with `*args` are reported instead of guessed.",
    before="import tensorflow as tf\n\ny = tf.reduce_sum(x, 1, keep_dims=True)\nz = tf.nn.dropout(y, 0.9)\n"
           "n = tf.to_float(k)\n",
    after="import tensorflow as tf\n\ny = tf.reduce_sum(x, 1, keepdims=True)\n"
          "z = tf.nn.dropout(y, rate=1 - 0.9)\nn = tf.cast(k, tf.float32)\n",
    leave_call=leave_call,
    text_call=text_call,
)
