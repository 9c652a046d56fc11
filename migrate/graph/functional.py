"""Control flow v2 in the generic tier: functional `While` / `StatelessWhile` and `If` / `StatelessIf`.

Graphs written by TF 2's `tf.compat.v1` (and TF 1.15 with v2 control flow on) hold their loops and conds as ops
whose bodies are functions of the graph's library, and their sequences as TensorLists. A functional while loop
becomes the same `tfm.WhileLoop` as a v1 frame (`loops.WhileLoopProvider`, given the function graphs of its
condition and body instead of a frame); an `If` is inlined: the branch its predicate picks when that is known at
conversion time, else both branches and `keras.ops.where` per output. TensorList ops are the dense arrays of
`tf_migrate_runtime.layers.loop` (`TensorListReserve` an array not yet written, `TensorListFromTensor` the
tensor itself, `TensorListSetItem` / `GetItem` / `Stack` / `Gather` / `Length` the `tfm.array_*` helpers).
"""

from __future__ import annotations

import numpy as np

from migrate.graph.ir import Sym, Unsupported
from migrate.graph.loops import CONTROL_ENTRIES, DEAD, NO_RECOGNISER, WhileLoopProvider, np_dtype, static_shape

WHILE_OPS = ("While", "StatelessWhile")
IF_OPS = ("If", "StatelessIf")


def function_graph(view, name: str):
    """The FuncGraph of library function `name` of the view's graph (cached on the view)."""
    cache = getattr(view, "_function_graphs", None)
    if cache is None:
        cache = view._function_graphs = {}
    if name not in cache:
        from migrate._internals import function_graph as function_def_to_graph  # noqa: PLC0415

        root = getattr(view, "root", view)
        lib = getattr(root, "_library", None)
        if lib is None:
            lib = root._library = {f.signature.name: f for f in root.graph.as_graph_def().library.function}
        if name not in lib:
            raise Unsupported(f"the function {name} is not in the graph's library")
        with root.graph.as_default():
            cache[name] = FunctionView(root, function_def_to_graph(lib[name]))
    return cache[name]


class FunctionView:
    """The lookups `translate.walk` and the op entries make, over one library function's graph: its arguments
    are seeded by the caller, only its `Const` ops fold, variables are the outer view's."""

    def __init__(self, root, graph):
        self.root, self.graph = root, graph
        self.inference_values, self.fed = {}, set()
        self._aliases: dict = {}
        self._function_graphs = root.__dict__.setdefault("_function_graphs", {})

    @property
    def dropout_draws(self) -> frozenset:   # the body's dropout draws are found with the graph's (parity.dropouts)
        return getattr(self.root, "dropout_draws", frozenset())

    def variable_of(self, tensor):
        return None

    def variable_values(self, name):
        return self.root.variable_values(name)

    def alias(self, tensor, sym) -> None:
        self._aliases[tensor.name] = sym

    def aliased(self, tensor):
        return self._aliases.get(tensor.name)

    def foldable(self, op) -> bool:
        return op.type == "Const"

    def fold(self, tensor):
        import tensorflow as tf  # noqa: PLC0415

        return tf.make_ndarray(tensor.op.get_attr("value"))


# ------------------------------------------------------------------------------------------- the While
class _Var:
    """A loop variable of a functional While seen as a v1 frame's (the attributes `WhileLoopProvider` reads)."""

    def __init__(self, k, op, cond_g, body_g, array):
        self.k = k
        init = op.inputs[k]
        self.enter = _Node(f"{op.name}/input_{k}", [init], [body_g.graph.inputs[k]])
        self.merge = _Node("", [], [cond_g.graph.inputs[k]])
        self.switch = _Node("", [], [None, body_g.graph.inputs[k]])
        self.exit = _Node(op.outputs[k].name, [], [op.outputs[k]])
        self.next_value = body_g.graph.outputs[k]
        self.array = array
        self.dtype = array.dtype if array is not None else np_dtype(op.outputs[k])


class _Node:
    def __init__(self, name, inputs, outputs):
        self.name, self.inputs, self.outputs = name, inputs, outputs


class _List:
    """A TensorList not yet written (`TensorListReserve` / `EmptyTensorList`), as `_element_shape` and the layer
    spec read a TensorArrayV3."""

    def __init__(self, view, op):
        self.name = op.name
        self.dtype = np.dtype(op.get_attr("element_dtype").as_numpy_dtype).name
        self.grows = op.type == "EmptyTensorList"
        shape = op.inputs[0]
        self.element_dims = None
        if view.foldable(shape.op):
            dims = np.asarray(view.fold(shape)).reshape(-1).tolist()
            self.element_dims = None if dims == [-1] and shape.shape.rank == 0 else \
                [None if d < 0 else int(d) for d in dims]
        self.inputs = [op.inputs[1]]   # the size (TensorListReserve's num_elements; EmptyTensorList's maximum)

    def get_attr(self, name):
        if name == "dynamic_size":
            return self.grows
        raise ValueError(name)


def _list_op(t):
    o = t.op
    while o.type in ("Identity",):
        o = o.inputs[0].op
    return o if o.type in ("TensorListReserve", "EmptyTensorList") else None


class _Frame:
    def __init__(self, title, vars_, constants, pred):
        self.name = self.title = title
        self.vars, self.constants, self.pred = vars_, constants, pred


def _needed_values(op, cond_graph, body_graph) -> set[int]:
    """The loop values the forward computation needs: those whose final value something other than the backward
    pass (`gradients/...`) reads, those the condition reads, and every value the body computes them from."""
    from migrate.checkpoint.tables import is_gradient  # noqa: PLC0415

    index = {t.name: k for k, t in enumerate(body_graph.inputs)}
    cond_index = {t.name: k for k, t in enumerate(cond_graph.inputs)}
    needed = {k for k, out in enumerate(op.outputs) if any(not is_gradient(c.name) for c in out.consumers())}
    needed |= {cond_index[n] for n in _args_read(cond_graph.outputs[0], cond_index)}
    todo = list(needed)
    while todo:
        k = todo.pop()
        for n in _args_read(body_graph.outputs[k], index):
            if index[n] not in needed:
                needed.add(index[n])
                todo.append(index[n])
    return needed


def _args_read(t, args: dict) -> set[str]:
    """The function arguments (by tensor name) a tensor of a function graph is computed from."""
    found, seen, stack = set(), set(), [t]
    while stack:
        x = stack.pop()
        if x.name in seen:
            continue
        seen.add(x.name)
        if x.name in args:
            found.add(x.name)
            continue
        stack.extend(x.op.inputs)
    return found


class FunctionalWhileProvider(WhileLoopProvider):
    """A functional `While` / `StatelessWhile` -> the same `tfm.WhileLoop` as a v1 frame. A loop variable the body
    returns unchanged is a value the loop reads (an invariant, or a weight when it is a variable's read)."""

    def __init__(self, view, op, why: str = NO_RECOGNISER):
        self.view, self.name, self.op, self.why = view, op.name, op, why
        self.cond_g = function_graph(view, op.get_attr("cond").name)
        self.body_g = function_graph(view, op.get_attr("body").name)
        n = len(op.inputs)
        if len(self.body_g.graph.inputs) != n or len(self.body_g.graph.outputs) != n or \
                len(self.cond_g.graph.inputs) != n:
            raise Unsupported(f"functional while loop {op.name}: its functions do not take its {n} loop values")
        vars_, constants = [], []
        needed = _needed_values(op, self.cond_g.graph, self.body_g.graph)
        for k in range(n):
            if k not in needed:   # carried for the backward pass only (tf.gradients' accumulators)
                continue
            if self.body_g.graph.outputs[k].name == self.body_g.graph.inputs[k].name:   # passed through
                constants.append(_Node(f"{op.name}/invariant_{k}", [op.inputs[k]],
                                       [self.body_g.graph.inputs[k], self.cond_g.graph.inputs[k]]))
            else:
                lst = _list_op(op.inputs[k])
                vars_.append(_Var(k, op, self.cond_g, self.body_g, _List(view, lst) if lst is not None else None))
        self.frame = _Frame(op.name, vars_, constants, self.cond_g.graph.outputs[0])
        self.title = op.name
        inputs, self.var_init, self.array_size, self.invariants = [], {}, {}, []

        def add(t) -> int:
            for i, x in enumerate(inputs):
                if x.name == t.name:
                    return i
            inputs.append(t)
            return len(inputs) - 1

        for k, lv in enumerate(vars_):
            if lv.array is not None:
                self.array_size[k] = add(lv.array.inputs[0])
            else:
                self.var_init[k] = add(lv.enter.inputs[0])
        for e in constants:
            src = e.inputs[0]
            if view.variable_of(src) is not None or view.foldable(src.op):
                continue
            self.invariants.append((e, add(src)))
        self.inputs = inputs
        self.provides = [lv.exit.outputs[0].name for lv in vars_]

    def targets(self, e, kind: str) -> list:
        return [e.outputs[1] if kind == "cond" else e.outputs[0]]

    def variable_read(self, e):
        return self.view.variable_of(e.inputs[0])

    def walk_view(self, kind: str):
        return self.cond_g if kind == "cond" else self.body_g


# --------------------------------------------------------------------------------------------- the If
def _if(c) -> list[Sym]:
    """`If(pred, *args)`: the picked branch inlined when the predicate is known, else both and a where."""
    from migrate.graph.translate import walk  # noqa: PLC0415

    pred, args = c.ins[0], c.ins[1:]
    branches = {True: c.op.get_attr("then_branch").name, False: c.op.get_attr("else_branch").name}
    known = None if pred.const is None else bool(np.asarray(pred.const))

    def inline(name):
        fv = function_graph(c.graph, name)
        syms = {t.name: s for t, s in zip(fv.graph.inputs, args)}
        unsupported: list = []
        roots = [t.name for t in fv.graph.outputs]
        walk(fv, c.em, roots, syms, {}, unsupported, eager_variables=hasattr(c.em, "registry"))
        if unsupported:
            t, n, why = unsupported[0]
            raise Unsupported(f"branch {name} of {c.op.name}: {t} {n}{': ' + why if why else ''}")
        return [syms[r] for r in roots]

    if known is not None:
        return inline(branches[known])
    then, other = inline(branches[True]), inline(branches[False])
    em = c.em
    return [c.em.emit(f"keras.ops.where({em.value(pred)}, {em.value(a)}, {em.value(b)})", c.op.name,
                      shape=static_shape(o), dtype=a.dtype, comment=f"{c.op.type} {c.op.name}: output {k}")[0]
            if a.var != DEAD else b for k, (a, b, o) in enumerate(zip(then, other, c.op.outputs))]


# --------------------------------------------------------------------------------------------- TensorLists
def _reserve(c) -> list[Sym]:
    lst = _List(c.graph, c.op)
    return [Sym(array={"name": lst.name, "dtype": lst.dtype, "dynamic_size": lst.grows,
                       "element_shape": lst.element_dims, "size": c.ins[1]})]


def _from_tensor(c) -> list[Sym]:
    v = c.ins[0]
    return [Sym(var=c.em.value(v), shape=v.shape, dtype=v.dtype)]   # the tensor is the list's buffer


def _buffer(c, i=0) -> str:
    if c.ins[i].array is not None:
        raise Unsupported(f"{c.op.type} on a TensorList before anything was written to it")
    return c.em.value(c.ins[i])


def _get_item(c):
    return c.out(f"tfm.array_read({_buffer(c)}, {c.v(1)})")


def _written(c, expr: str) -> list[Sym]:
    """A TensorList write: the new buffer (a variant in TF, a tensor of the element dtype here)."""
    return c.em.emit(expr, c.op.name, dtype=c.ins[0].dtype, comment=f"{c.op.type} {c.op.name}")


def _set_item(c):
    grows = bool(c.op.get_attr("resize_if_index_out_of_bounds")) if "resize_if_index_out_of_bounds" in \
        c.op.node_def.attr else False
    return _written(c, f"tfm.{'array_append' if grows else 'array_write'}({_buffer(c)}, {c.v(1)}, {c.v(2)})")


def _push_back(c):
    return _written(c, f"tfm.array_append({_buffer(c)}, 0, {c.v(1)})")


def _stack(c):
    return [Sym(var=_buffer(c), shape=static_shape(c.op.outputs[0]), dtype=c.ins[0].dtype)]


def _gather(c):
    return c.out(f"tfm.array_gather({_buffer(c)}, {c.v(1)})")


def _length(c):
    return c.out(f"tfm.array_size({_buffer(c)})")


def _read_variable(c) -> list[Sym]:
    """`ReadVariableOp(handle)` inside a function: the handle argument was seeded with the variable's value."""
    if c.ins[0].var is None and c.ins[0].const is None:
        raise Unsupported("a resource variable read whose variable is not known here")
    return [c.ins[0]]


CONTROL_ENTRIES.update({
    "ReadVariableOp": _read_variable,
    "If": _if, "StatelessIf": _if,
    "TensorListReserve": _reserve, "EmptyTensorList": _reserve, "TensorListFromTensor": _from_tensor,
    "TensorListGetItem": _get_item, "TensorListSetItem": _set_item, "TensorListPushBack": _push_back,
    "TensorListStack": _stack, "TensorListGather": _gather, "TensorListLength": _length,
})
