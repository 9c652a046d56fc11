"""Helpers the codemod's rules share, so that no rule imports another rule (`tests/test_codemod_layout.py`):
argument lists (`fix_commas`, dropout's keep_prob), where a match lies in source text, and the import
bookkeeping of a reference rewritten to another module (TFM001 renames, TFM004 drops the import).
"""

from __future__ import annotations

import ast

import libcst as cst

from migrate.codemod.tables import module_move

# `tf.nn.dropout(x, keep_prob, noise_shape, seed, name)` (TF 1) -> `tf.nn.dropout(x, rate=1 - keep_prob,
# ...)` (TF 2): positional arguments after `x` become keywords (tf_upgrade_v2: _dropout_transformer).
DROPOUT_TF1_SIGNATURE: tuple[str, ...] = ("x", "keep_prob", "noise_shape", "seed", "name")


def dropout_keep_prob(call: cst.Call) -> cst.Call:
    """`tf.nn.dropout(x, keep_prob, ...)` (TF 1) -> `tf.nn.dropout(x, rate=1 - keep_prob, ...)` (TF 2);
    unchanged without keep_prob (used by TFM008, whose table holds tf.nn.dropout)."""
    stars = [a for a in call.args if a.star]  # only `**kwargs` here (a `*args` call is a finding)
    args = [a for a in call.args if not a.star]
    positional = [a for a in args if a.keyword is None]
    keywords = [a for a in args if a.keyword is not None]
    named = [a.with_changes(keyword=cst.Name(DROPOUT_TF1_SIGNATURE[i]), equal=eq())
             for i, a in enumerate(positional) if 0 < i < len(DROPOUT_TF1_SIGNATURE)]
    if not any(a.keyword.value == "keep_prob" for a in named + keywords):
        return call
    out = positional[:1]
    for arg in named + keywords:
        if arg.keyword.value == "keep_prob":
            arg = arg.with_changes(keyword=cst.Name("rate"), value=one_minus(arg.value))
        out.append(arg)
    return call.with_changes(args=fix_commas(out + stars, call.args))


def eq() -> cst.AssignEqual:  # a fresh node each time: metadata is keyed by node identity
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def one_minus(value: cst.BaseExpression) -> cst.BaseExpression:
    atomic = isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)) \
        or bool(getattr(value, "lpar", ()))
    if not atomic:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=cst.Integer("1"), operator=cst.Subtract(), right=value)


def fix_commas(args: list[cst.Arg], old: tuple[cst.Arg, ...]) -> list[cst.Arg]:
    """Commas after reordering: every argument but the last gets one (keeping its old whitespace)."""
    old_last_comma = old[-1].comma if old else cst.MaybeSentinel.DEFAULT
    out = []
    for i, arg in enumerate(args):
        if i < len(args) - 1:
            if not isinstance(arg.comma, cst.Comma):
                arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            arg = arg.with_changes(comma=old_last_comma)
        out.append(arg)
    return out


def in_comment_or_string(source: str, at: int) -> bool:
    """Whether the match at `at` lies in a comment or a one-line string of its line (by its tokens)."""
    import io  # noqa: PLC0415
    import tokenize  # noqa: PLC0415

    start = source.rfind("\n", 0, at) + 1
    end = source.find("\n", at)
    line = source[start:end if end >= 0 else len(source)]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    column = at - start
    return any(t.type in (tokenize.COMMENT, tokenize.STRING) and t.start[1] <= column < t.end[1]
               for t in tokens if t.start[0] == t.end[0] == 1)


def import_moves(cm, local: str) -> bool:
    """`local` is bound by a module-level import that TFM004 rewrites in place (not an alias)."""
    return local not in cm.bindings.aliases and module_move(cm.bindings.names.get(local, "")) is not None


def schedule_removal(cm, local: str, base: str) -> None:
    """A use of the TF binding `local` (canonical `base`) was rewritten to another module: its import
    goes once no use is left (fast pass: counted by the engine; scope pass: libcst's RemoveImportsVisitor)."""
    if "TFM004" not in cm.rules or base in ("tf",):
        return
    cm._rewritten.add(local)
    if not cm.METADATA_DEPENDENCIES:
        return
    from libcst.codemod.visitors import RemoveImportsVisitor  # noqa: PLC0415

    module, _, obj = ("tensorflow" + base[2:]).rpartition(".")
    if local == obj:
        RemoveImportsVisitor.remove_unused_import(cm.context, module, obj)
    else:  # `from tensorflow.contrib import rnn as r` or `import tensorflow.contrib.rnn as rnn`
        RemoveImportsVisitor.remove_unused_import(cm.context, module, obj, local)
        RemoveImportsVisitor.remove_unused_import(cm.context, f"{module}.{obj}", None, local)


def file_ast(cm):
    """The whole file's `ast` tree, parsed once per file for every rule that reads the file whole (TFM006's
    Dataset names, TFM011's shape names); None where Python's own parser refuses the text."""
    if "_file_ast" not in cm.state:
        try:
            cm.state["_file_ast"] = ast.parse(cm.full_source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            cm.state["_file_ast"] = None
    return cm.state["_file_ast"]
