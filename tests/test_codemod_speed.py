"""The engine's speed-ups keep the codemod's output: parsing without libcst's per-node validation
(`batches.py`), inert subtrees kept as they are (`transform.py`), the continuation-line shifter that
rebuilds only what moves (`layout.py`)."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst._nodes.base import CSTNode

from migrate.codemod import batches, transform_source
from migrate.codemod.layout import _Shift


def test_parse_skips_validation_only_while_parsing():
    module = batches.parse("import tensorflow as tf\nx = tf.log(1.0)\n", [1, 2])
    assert module.code == "import tensorflow as tf\nx = tf.log(1.0)\n"
    assert CSTNode.__post_init__ is batches._POST_INIT  # restored
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")  # validation is back for the nodes the pass and the rules build
    with pytest.raises(cst.ParserSyntaxError):
        batches.parse("x = (\n", [1])
    assert CSTNode.__post_init__ is batches._POST_INIT  # restored after a failed parse too
    assert batches._POST_INIT_OK  # the libcst installed here is the one `_unvalidated` knows


def test_long_module_parsed_in_batches_renders_byte_identically():
    source = "import tensorflow as tf\n" + "".join(
        f"def f{i}(x):\n    return tf.log(x) + {i}\n\n\n" for i in range(800))
    starts = [1] + [2 + 4 * i for i in range(800)]
    assert batches.parse(source, starts).code == source


# TF references and rule words inside the containers, operators and arguments the inert check looks
# through, at every depth (beyond its depth bound too): each must still be rewritten or reported.
NESTED = """\
import tensorflow as tf

a = f([1, "s", {"k": (tf.log, 2.0)}], k=-x[1:2] + y.z)
b = [[[[[[[[[[[[tf.to_float(x)]]]]]]]]]]]]
c = g(x, "t", {1: [ds.output_shapes]}, tf.placeholder)
d = h(x, 1) or not y.z["q"] < 3
"""
NESTED_AFTER = """\
import tensorflow as tf

a = f([1, "s", {"k": (tf.math.log, 2.0)}], k=-x[1:2] + y.z)
b = [[[[[[[[[[[[tf.cast(x, tf.float32)]]]]]]]]]]]]
c = g(x, "t", {1: [ds.output_shapes]}, tf.compat.v1.placeholder)
d = h(x, 1) or not y.z["q"] < 3
"""


def test_references_inside_inert_looking_expressions_are_rewritten():
    new, findings, resolver = transform_source(NESTED)
    assert resolver == "fast"
    assert new == NESTED_AFTER
    assert [(f.line, f.rule) for f in findings if f.rule == "TFM006"] == [(5, "TFM006")]


def test_fast_and_scope_passes_agree_on_nested_expressions():
    from migrate.codemod.engine import transform_source as engine_transform  # noqa: PLC0415
    from migrate.codemod.rules import rule_set  # noqa: PLC0415

    fast = engine_transform(NESTED, rule_set(None))
    scope = engine_transform(NESTED, rule_set(None), full_scope=True)
    assert scope[2] == "scope"
    assert fast[:2] == scope[:2]


def test_shift_moves_only_visual_indents_and_keeps_untouched_nodes():
    call = cst.parse_expression("f(a,\n  b,\n      c)")
    shifter = _Shift(column=6, delta=3, block=0)
    args = [shifter.shift(arg) for arg in call.args]
    moved = call.with_changes(args=args)
    assert cst.Module([]).code_for_node(moved) == "f(a,\n  b,\n         c)"  # hanging `b` left alone
    assert args[0] is call.args[0]  # its comma holds the hanging line: kept
    assert args[1] is not call.args[1]  # its comma holds the moved continuation line
    assert args[2] is call.args[2]  # `c` itself: no whitespace of its own to move
    one_line = cst.parse_expression("f(a, b)")
    assert all(shifter.shift(arg) is arg for arg in one_line.args)


# Every kind of statement and expression the walk and the renderer meet, for the two checks below.
VARIED = '''\
"""Module docstring."""
from __future__ import annotations
import os, sys as system
from a.b import (c as d, e)
x: int = 1; y = x if x else -x
@decorator(arg, key=value)
async def f(p, /, q: "int" = 2, *args, r, s=3, **kw) -> list[int]:
    global g
    async with ctx() as (u, v), other():
        await thing[1:2, ::3]
    async for i in aiter():
        yield i
    def inner():
        nonlocal p
        p += 1
    return [z for z in range(3) if z] + list({k: v for k, v in kw.items()}) + [*args]
class C(Base, metaclass=Meta):
    attr = lambda self, *a: (yield)
    def m(self):
        try:
            raise ValueError("x") from None
        except (ValueError, TypeError) as e:
            del e
        else:
            assert self, f"{self!r:>10} {x}"
        finally:
            pass
        try:
            pass
        except* KeyError:
            pass
while (n := next(it)) is not None and not done or n in {1, 2}:
    for a, *b in pairs:
        break
    else:
        continue
match point:
    case Point(x=0, y=yy) | [1, 2, *rest] if yy > 0:
        print(yy, *rest, sep="")
    case {"k": v, **others}:
        pass
    case _:
        pass
values = {**base, "k": (1, 2.0, 3j, ...)}
s = ("a" "b")[0], b"c"[0] @ m ** 2 // 3 % 4 << 1 >> 2 & 3 | 4 ^ ~5
'''


class _Record(cst.CSTTransformer):
    """Records the nodes it visits and renames every `x` to `xx` (so parents are rebuilt)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_visit(self, node):
        self.seen.append(type(node).__name__)
        return True

    def on_leave(self, original_node, updated_node):
        self.seen.append("/" + type(original_node).__name__)
        if isinstance(updated_node, cst.Name) and updated_node.value == "x":
            return updated_node.with_changes(value="xx")
        return updated_node


def _sources():
    from pathlib import Path  # noqa: PLC0415

    fixtures = Path(__file__).with_name("codemod_fixtures")
    return [VARIED, *(p.read_text() for p in sorted(fixtures.glob("*.before.py.txt")))]


def test_walk_visits_in_libcst_order_and_builds_the_same_tree():
    from migrate.codemod.walk import walk  # noqa: PLC0415

    for source in _sources():
        module = cst.parse_module(source)
        theirs, ours = _Record(), _Record()
        expected = module.visit(theirs)
        got = walk(ours, module)
        assert ours.seen == theirs.seen
        assert got.code == expected.code
        assert got.deep_equals(expected)


def test_walk_keeps_untouched_nodes():
    from migrate.codemod.walk import walk  # noqa: PLC0415

    module = cst.parse_module(VARIED)
    assert walk(cst.CSTTransformer(), module) is module
    renamed = walk(_Record(), module)
    assert renamed.body[0] is module.body[0]  # the docstring mentions no `x`: the same object
    assert renamed.body[4] is not module.body[4]  # `x: int = 1; y = x if x else -x`


def test_render_is_libcst_code_byte_for_byte():
    from migrate.codemod.layout import render  # noqa: PLC0415

    for source in _sources():
        module = cst.parse_module(source)
        assert render(module) == module.code == source
