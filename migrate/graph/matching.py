"""Graph-matching helpers shared by the construct recognisers (`migrate.graph.constructs`).

Pure lookups on an imported TF1 graph (`tf.Operation` / `tf.Tensor`) and a `GraphView`: walking consumers and
inputs, looking through Identity / DropoutWrapper / `tf.cond` plumbing, a control-flow-v1 while frame's loop
variables, `_linear` (`MatMul(concat(args), kernel) + bias`), zero states, a decoder's embedding feedback and end
token. Nothing here emits code; every name is public because every construct module may use it
(tests/test_graph_constructs_layout.py: no private name crosses a module).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from migrate.graph.meta import GraphView, is_gradient

PASS = ("Identity", "Snapshot")                       # ops that pass their input through unchanged
CONCAT = ("ConcatV2", "Concat")
BIAS = ("BiasAdd", "Add", "AddV2")
GATHER = ("GatherV2", "Gather", "ResourceGather")


# ------------------------------------------------------------------------------------------------ walking
def consumers(t):
    """The ops reading `t`, gradients excluded."""
    return [c for c in t.consumers() if not is_gradient(c.name)]


def strip(t, view: GraphView | None = None):
    """Look through Identity and DropoutWrapper (identity at inference) ops."""
    for _ in range(20):
        if t.op.type in PASS and t.op.inputs:
            t = t.op.inputs[0]
            continue
        if "dropout" in t.op.name.rsplit("/", 1)[0].split("/")[-1] or "/dropout/" in t.op.name:
            inner = dropout_input(t)
            if inner is not None:
                t = inner
                continue
        break
    return t


def dropout_input(t):
    """The tensor a `tf.nn.dropout` subgraph (scope `.../dropout/`) was applied to."""
    scope = t.op.name[: t.op.name.rfind("dropout") + len("dropout")]
    stack, seen = [t.op], set()
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen.add(o.name)
        for i in o.inputs:
            if i.op.name.startswith(scope + "/") or i.op.name == scope:
                stack.append(i.op)
            elif i.dtype.is_floating and i.shape.rank not in (0,) and i.op.type not in ("Const", "Placeholder",
                                                                                      "PlaceholderWithDefault",
                                                                                      "Enter") or \
                    i.op.type == "Enter" and i.shape.rank not in (0, None) and i.dtype.is_floating and \
                    not i.op.inputs[0].op.type.startswith("Placeholder"):
                return i
    return None


def other(op, t):
    """The input of a binary op that is not `t`."""
    a, b = op.inputs[0], op.inputs[1]
    return b if a.name == t.name else a


def only(ops, types):
    """The one op of `ops` whose type is in `types`, else None (none or several)."""
    got = [o for o in ops if o.type in types]
    return got[0] if len(got) == 1 else None


def const_scalar(view, t):
    """The value of a scalar tensor computable at conversion time, else None."""
    if view.foldable(t.op):
        v = np.asarray(view.fold(t))
        if v.size == 1:
            return float(v.reshape(()))
    return None


def ancestors(t, depth=8, through=("Merge", "Switch", "Identity", "Enter")):
    """Tensors `t` is computed from through cond plumbing (Merge / Switch / Identity), nearest first."""
    out, frontier = [], [t]
    for _ in range(depth):
        nxt = []
        for x in frontier:
            out.append(x)
            if x.op.type in through:
                nxt.extend(x.op.inputs)
        frontier = nxt
    return out


def through_cond(t):
    """Look through the `Switch` / `Identity` a `tf.cond` branch reads its outer values with."""
    while t.op.type in ("Switch", "Identity") and t.op.inputs:
        t = t.op.inputs[0]
    return t


def unwrap(t):
    """Look through Identity / StopGradient / Cast / Snapshot."""
    while t.op.type in ("Identity", "StopGradient", "Cast", "Snapshot") and t.op.inputs:
        t = t.op.inputs[0]
    return t


def batch_major_perm(view, t) -> bool:
    """True when `t` is a `Transpose` by a constant `[1, 0, 2, ...]` (time major <-> batch major)."""
    if t.op.type != "Transpose" or not view.foldable(t.op.inputs[1].op):
        return False
    perm = list(np.asarray(view.fold(t.op.inputs[1])))
    return perm[:2] == [1, 0] and perm[2:] == list(range(2, len(perm)))


def batch_major_gather(view, gather):
    """The `transpose(gather, [1, 0, ...])` that is `gather`'s only reader (dynamic_rnn's batch-major outputs),
    else None."""
    cons = consumers(gather)
    if len(cons) == 1 and cons[0].type == "Transpose" and view.foldable(cons[0].inputs[1].op):
        perm = list(np.asarray(view.fold(cons[0].inputs[1])))
        if perm[:2] == [1, 0]:
            return cons[0].outputs[0]
    return None


def is_zero_state(view, t) -> bool:
    """A `cell.zero_state(batch)` / `tf.zeros([batch, n])` tensor (dropped: Keras starts from zeros)."""
    o = t.op
    while o.type in PASS:
        o = o.inputs[0].op
    if o.type == "Fill":
        v = const_scalar(view, o.inputs[1])
        return v == 0.0
    if o.type in ("ZerosLike",):
        return True
    if view.foldable(o):
        return not np.any(view.fold(o.outputs[0]))
    return False


def resolve_state(t, view: GraphView | None = None):
    """Look through Identity and the columns a state takes of a `concat` (state_is_tuple=False: an LSTM's `[c, h]`
    split or sliced, a MultiRNNCell's layers sliced, nested; `columns_of`, `concat_leaves`) to the tensor a state
    came from."""
    t = strip(t)
    src, offset, size = columns_of(t, view)
    if src is not t:
        for o, w, leaf in concat_leaves(src, view) or []:
            if (o, w) == (offset, size):
                return strip(leaf)
    if t.op.type == "Split" and int(t.op.get_attr("num_split")) == 2:   # widths unknown: split(concat([c, h]))
        src = t.op.inputs[1].op
        values = list(src.inputs)[:-1] if src.type == "ConcatV2" else list(src.inputs)[1:] if src.type == "Concat" \
            else None
        if values is not None and len(values) == 2:
            return strip(values[t.value_index])
    return t


def const_ints(t, view: GraphView | None = None) -> list[int] | None:
    """The values of an integer tensor known at conversion time (a graph `Const`; anything foldable with a
    `view`), flattened, else None."""
    if view is not None:
        return [int(v) for v in np.asarray(view.fold(t)).reshape(-1)] if view.foldable(t.op) else None
    if t.op.type != "Const":
        return None
    import tensorflow as tf  # noqa: PLC0415

    return [int(v) for v in tf.make_ndarray(t.op.get_attr("value")).reshape(-1)]


def columns_of(t, view: GraphView | None = None):
    """`t` = columns [offset, offset + size) of a `[batch, n]` tensor, through `Slice(v, [0, a], [-1, n])`,
    `split(v, k, axis=1)` and `SplitV` (nested: a MultiRNNCell's slice of its packed state, then an LSTM's of its
    `[c, h]`; all its columns, a one-layer MultiRNNCell's slice) -> (that tensor, offset, size); (t, 0, its width)
    when it is no such slice (its width None when unknown).
    Identity is looked through, not a while loop's own (the Identity of a `Switch`)."""
    size = t.shape[-1] if t.shape.rank == 2 else None
    if size is None:
        return t, 0, None
    src, offset, sliced = t, 0, False
    for _ in range(16):
        while src.op.type in PASS and src.op.inputs and src.op.inputs[0].op.type != "Switch":
            src = src.op.inputs[0]
        op = src.op
        if op.type == "Slice":
            begin, sz = const_ints(op.inputs[1], view), const_ints(op.inputs[2], view)
            if begin is None or sz is None or len(begin) != 2 or begin[0] != 0 or sz[0] != -1:
                break
            offset, src = offset + begin[1], op.inputs[0]
        elif op.type == "Split":
            axis = const_ints(op.inputs[0], view)
            width = op.inputs[1].shape[-1] if op.inputs[1].shape.rank == 2 else None
            if axis not in ([1], [-1]) or width is None:
                break
            offset, src = offset + src.value_index * (int(width) // int(op.get_attr("num_split"))), op.inputs[1]
        elif op.type == "SplitV":
            sizes, axis = const_ints(op.inputs[1], view), const_ints(op.inputs[2], view)
            if sizes is None or axis not in ([1], [-1]) or any(s < 0 for s in sizes):
                break
            offset, src = offset + sum(sizes[: src.value_index]), op.inputs[0]
        else:
            break
        sliced = True
    return (src, offset, int(size)) if sliced else (t, 0, int(size))


def concat_leaves(t, view: GraphView | None = None, offset: int = 0):
    """The pieces `concat(..., axis 1)` ops (nested; Identity and DropoutWrappers looked through) put side by side
    in `t` -> [(offset, width, tensor)] (`[(offset, width, t)]` when `t` is no concat), else None when a piece's
    width is unknown."""
    t = strip(t)
    if t.op.type in CONCAT:
        values, axis = (t.op.inputs[:-1], t.op.inputs[-1]) if t.op.type == "ConcatV2" else \
            (t.op.inputs[1:], t.op.inputs[0])
        if const_ints(axis, view) in ([1], [-1]):
            out = []
            for v in values:
                got = concat_leaves(v, view, offset)
                if got is None:
                    return None
                out += got
                offset = got[-1][0] + got[-1][1]
            return out
    width = t.shape[-1] if t.shape.rank == 2 else None
    return None if width is None else [(offset, int(width), t)]


# ------------------------------------------------------------------------------------------------ linear maps
def matmul_concat(view: GraphView, matmul):
    """`concat([x, h]) @ kernel` on a variable -> (kernel, the concat op: `inputs` [x, h]) or None."""
    kernel = view.variable_of(matmul.inputs[1])
    concat = matmul.inputs[0].op
    if kernel is None or concat.type not in CONCAT or len(concat.inputs) != 3:
        return None
    if concat.type == "Concat":  # TF < 1.0: Concat(axis, x, h); seen as its values [x, h] (ConcatV2 order)
        concat = SimpleNamespace(type="Concat", inputs=list(concat.inputs)[1:], outputs=concat.outputs)
    return kernel, concat


def matmul_bias(view: GraphView, matmul):
    """`concat([x, h]) @ kernel + bias` on variables -> (kernel, concat op, the bias add op, bias) or None."""
    found = matmul_concat(view, matmul)
    if found is None:
        return None
    kernel, concat = found
    bias_op = only(consumers(matmul.outputs[0]), BIAS)
    if bias_op is None:
        return None
    bias = view.variable_of(bias_op.inputs[1])
    if bias is None:
        return None
    return kernel, concat, bias_op, bias


def gate_split(view: GraphView, matmul, parts: int):
    """`concat([x, h]) @ kernel + bias` split into `parts` gates -> (kernel, concat op, bias add op, bias, the
    Split op) or None: the start every gated cell's matcher shares."""
    found = matmul_bias(view, matmul)
    if found is None:
        return None
    split = only(consumers(found[2].outputs[0]), ("Split",))
    if split is None or int(split.get_attr("num_split")) != parts:
        return None
    return (*found, split)


def concat_values(view: GraphView, op):
    """The values a `concat(..., axis 1)` joins (ConcatV2: axis last; TF < 1.0 Concat: axis first), else None."""
    values, axis = (op.inputs[:-1], op.inputs[-1]) if op.type == "ConcatV2" else (op.inputs[1:], op.inputs[0])
    if not view.foldable(axis.op) or int(np.asarray(view.fold(axis))) not in (1, -1):
        return None
    return list(values)


@dataclass
class Linear:
    """`rnn_cell_impl._linear(args, n, bias=True)`: `MatMul(concat(args) | arg, kernel) + bias`."""

    args: list
    kernel: str
    bias: str | None
    out: object


def match_linear(view: GraphView, t) -> Linear | None:
    """`t` = `MatMul(concat(args) | arg, kernel) [+ bias]` on variables -> a `Linear`, else None."""
    out, bias = t, None
    if t.op.type in BIAS:
        bias = view.variable_of(t.op.inputs[1])
        if bias is None:
            return None
        t = t.op.inputs[0]
    if t.op.type != "MatMul" or t.op.get_attr("transpose_a") or t.op.get_attr("transpose_b"):
        return None
    kernel = view.variable_of(t.op.inputs[1])
    if kernel is None:
        return None
    a = t.op.inputs[0]
    args = concat_values(view, a.op) if a.op.type in CONCAT else None
    return Linear(args if args is not None else [a], kernel, bias, out)


def linear_out(matmul):
    """A linear's output: the bias add after the MatMul, else the MatMul."""
    b = only(consumers(matmul.outputs[0]), BIAS)
    return b.outputs[0] if b is not None else matmul.outputs[0]


def match_dense(view, t, h):
    """`BiasAdd(MatMul(h, kernel), bias)` (or MatMul alone) on variables, `h` read stripped -> (kernel, bias)."""
    bias = None
    if t.op.type in BIAS:
        bias = view.variable_of(t.op.inputs[1])
        if bias is None:
            return None
        t = t.op.inputs[0]
    if t.op.type != "MatMul" or t.op.get_attr("transpose_a") or t.op.get_attr("transpose_b"):
        return None
    kernel = view.variable_of(t.op.inputs[1])
    if kernel is None or strip(t.op.inputs[0]).name != h.name:
        return None
    return kernel, bias


# ------------------------------------------------------------------------------------------------ while frames
@dataclass
class LoopVar:
    """One loop variable of a control-flow-v1 while frame."""

    enter: object
    merge: object
    exit: object | None
    body: object          # the Identity inside the body (value at this step)
    next: object          # the NextIteration's input


def loop_var_of(t) -> LoopVar | None:
    """The loop variable whose body value `t` is (Identity(Switch:1) of Merge(Enter, NextIteration))."""
    while t.op.type == "Identity" and t.op.inputs[0].op.type != "Switch":
        t = t.op.inputs[0]
    if t.op.type != "Identity" or t.op.inputs[0].op.type != "Switch":
        return None
    switch = t.op.inputs[0].op
    merge = switch.inputs[0].op
    if merge.type != "Merge":
        return None
    enter = next((i.op for i in merge.inputs if i.op.type == "Enter"), None)
    nxt = next((i.op for i in merge.inputs if i.op.type == "NextIteration"), None)
    if enter is None or nxt is None:
        return None
    exit_op = next((c for c in switch.outputs[0].consumers() if c.type == "Exit"), None)
    return LoopVar(enter, merge, exit_op, t, nxt.inputs[0])


def loop_var(t) -> LoopVar | None:
    """`loop_var_of`, also when `t` was stripped down to its `Switch:1`."""
    if t.op.type == "Switch":
        ident = next((c for c in t.consumers() if c.type == "Identity"), None)
        return loop_var_of(ident.outputs[0]) if ident is not None else None
    return loop_var_of(t)


def strip_select(t):
    """`Select(time >= len, old, new)` -> (new, the length tensor's Enter input) ; else (t, None)."""
    if t.op.type in ("Select", "SelectV2"):
        cond = t.op.inputs[0].op
        if cond.type == "GreaterEqual":
            length = cond.inputs[1]
            if length.op.type == "Enter":
                return t.op.inputs[2], length.op.inputs[0]
    return t, None


def strip_impute(t):
    """`where(finished, cur, new)` (impute_finished) -> (new, True); else (t, False)."""
    if t.op.type in ("Select", "SelectV2") and t.op.inputs[0].dtype.is_bool:
        return t.op.inputs[2], True
    return t, False


def frame_ops(view, frame):
    """The ops of one while frame: forward from its `Enter`s (frame_name attribute), up to its `Exit`s. (Ops of a
    second decoder reusing the first one's variable scope carry the first one's names: names cannot tell.)"""
    enters = [op for op in view.graph.get_operations()
              if op.type == "Enter" and op.get_attr("frame_name").decode() == frame]
    seen, stack = {}, list(enters)
    while stack:
        op = stack.pop()
        if op.name in seen or is_gradient(op.name):
            continue
        seen[op.name] = op
        if op.type == "Exit":
            continue
        for out in op.outputs:
            stack.extend(out.consumers())
    return list(seen.values())


def unstacked(view: GraphView, read):
    """The sequence a `TensorArrayReadV3` reads steps of (`TensorArray.unstack(transpose(x, [1, 0, 2]))`) ->
    (x, batch major), or None."""
    flow = next((a for a in ancestors(read.inputs[2]) if a.op.type == "TensorArrayScatterV3"), None)
    if flow is None:
        return None
    seq = flow.op.inputs[2]
    if batch_major_perm(view, seq):
        return seq.op.inputs[0], True
    return seq, False


def step_lengths(ops):
    """The `sequence_length` a loop body compares the time with (`GreaterEqual(time, lengths)`), or None."""
    lengths = None
    for op in ops:
        if op.type == "GreaterEqual" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 1:
            lengths = op.inputs[1].op.inputs[0]
    while lengths is not None and lengths.op.type == "Identity" and lengths.op.inputs:
        lengths = lengths.op.inputs[0]
    return lengths


def max_iterations(ops):
    """dynamic_decode's `time + 1 >= maximum_iterations` (a scalar Enter), else None."""
    for op in ops:
        if op.type == "GreaterEqual" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 0 \
                and op.inputs[1].dtype.is_integer:
            return op.inputs[1].op.inputs[0]
    return None


# ------------------------------------------------------------------------------------------------ decoder helpers
def start_lookup(view: GraphView, x: LoopVar, embedding: str):
    """The ids of the start inputs a decoder loop's input `x` enters with when they are `embedding`'s lookup
    (`embedding_lookup(embedding, start_tokens)`, Identity looked through), else None."""
    start = x.enter.inputs[0]
    while start.op.type == "Identity":
        start = start.op.inputs[0]
    if start.op.type not in GATHER or view.variable_of(start.op.inputs[0]) != embedding:
        return None
    return start.op.inputs[1]


@dataclass
class EmbeddingFeedback:
    """A decoder loop whose next input is an embedding lookup of the step's ids (contrib's Greedy / Sample
    EmbeddingHelper): the embedding variable, the ids it looks up (the `tf.cond` plumbing looked through) and the
    ids of the start inputs (the same embedding's lookup of `start_tokens`)."""

    embedding: str
    ids: object
    start_tokens: object


def embedding_feedback(view: GraphView, x) -> EmbeddingFeedback | None:
    """The cell input `x` of a decoder loop = a loop variable whose next value is `cond(all finished, start inputs,
    embedding_lookup(embedding, ids))` and whose first value is `embedding_lookup(embedding, start_tokens)` -> an
    `EmbeddingFeedback`, else None. What the ids are (an ArgMax, a draw) is the helper's to check."""
    x_loop = loop_var(x)
    if x_loop is None:
        return None
    gather = next((a.op for a in ancestors(x_loop.next) if a.op.type in GATHER), None)
    if gather is None:
        return None
    embedding = view.variable_of(through_cond(gather.inputs[0]))
    if embedding is None:
        return None
    start_tokens = start_lookup(view, x_loop, embedding)
    if start_tokens is None:
        return None
    return EmbeddingFeedback(embedding, through_cond(gather.inputs[1]), start_tokens)


def end_token_check(ops):
    """A decoder helper's `Equal(ids, end_token)` with a scalar `end_token` entering the loop -> (ids, end_token)
    (the last such `Equal` of `ops`), else None."""
    found = None
    for op in ops:
        if op.type == "Equal" and op.inputs[1].op.type == "Enter" and op.inputs[1].shape.rank == 0:
            found = op.inputs[0], op.inputs[1].op.inputs[0]
    return found


# ------------------------------------------------------------------------------------------------ providers
class Provider:
    """What a recogniser hands the walk: the tensors it reads (`inputs`), the tensor names it computes
    (`provides`) and `emit(em, syms) -> {tensor name: Sym}`."""

    kind = "rnn"
    # an inference loop (greedy, sampling, beam search decoder) that reads the variables a training path reads too:
    # the walk writes the outputs it does not reach first, so that the training path's layers hold the variables
    # and the loop's layer names them (`translate.holders_first`, issue 22)
    reads_shared_weights = False

    def __init__(self, name, inputs, provides):
        self.name, self.inputs, self.provides = name, inputs, provides

    def folded_cells(self) -> list:
        """The cell steps this provider's runtime decoder layer holds with an LSTM's forget bias folded into its bias
        (`rnn.keras_weights`): a `tfm.LSTM` of the same cell elsewhere (a training path) folds it too, so the two
        hold one weight (`Emitter.holder`). None here: a provider whose cells are `tfm.LSTM` layers."""
        return []


__all__ = ["BIAS", "CONCAT", "GATHER", "PASS", "EmbeddingFeedback", "Linear", "LoopVar", "Provider", "ancestors",
           "batch_major_gather", "batch_major_perm", "columns_of", "concat_leaves", "concat_values", "const_ints",
           "const_scalar", "consumers", "dropout_input", "embedding_feedback", "end_token_check", "frame_ops",
           "is_zero_state", "linear_out", "loop_var", "loop_var_of", "match_dense", "match_linear", "matmul_bias",
           "matmul_concat", "max_iterations", "only", "other", "resolve_state", "start_lookup", "step_lengths",
           "strip", "strip_impute", "strip_select", "through_cond", "unstacked", "unwrap"]
