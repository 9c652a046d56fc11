"""Which tensors a converted model returns and which placeholders it takes.

Outputs (unless `--outputs` names them), in this order, each with the reason it was chosen:

1. **What the loss is computed from.** The loss is found as (a) what `tf.gradients` differentiated (the input of
   `.../gradients/Shape`, or the forward op named by the first `..._grad/` op for a scalar loss; TF 1.0-1.15 all
   write one of them), else (b) the `losses` collection, else (c) a scalar float op named `*loss*`. Among the loss's
   ancestors, a loss kernel of `migrate.graph.loss.LOSS_KERNELS` (SparseSoftmaxCrossEntropyWithLogits, CTCLoss, ...)
   names its logits input; that tensor is followed back through the reshapes / unstacks the loss function itself
   added (an op in the loss's scope, or one that does not change the shape, or an Unpack whose every piece feeds
   the loss) and which feed nothing but the loss, stopping at a tensor the author named. Without a known kernel
   (a CRF, a hand-written loss): the earliest tensors computed from the model's variables and from no label that a
   label-dependent op consumes.
2. **The inference heads computed from them**: Softmax / LogSoftmax / Sigmoid / ArgMax / TopK reached from an
   output through shape-only ops (reshape, squeeze, ...), and heads of heads (softmax -> argmax).
3. **The graph's other named results**: unconsumed tensors outside the training scopes (gradients, optimizer,
   summaries, save) that share the outputs' variables, depend on no label, are not a scalar (a metric, a loss) and
   that the author named (`predictions`, `final_state`) or that are a head (an `evaluation/.../Softmax`). A greedy
   decoder's ids, a final RNN state exposed by name, an evaluation subgraph's probabilities come from here;
   auto-named internals (`rnn/while/Exit_3`) never do.

A graph without a loss: its unconsumed tensors named like logits / probabilities / predictions / output, else (at
most `MAX_UNNAMED_OUTPUTS`) its unconsumed tensors computed from an input, less what a loop's setup leaves
unconsumed (`_bookkeeping`: TF 2.21 dynamic_rnn's `rnn/Min`, a zero state's batch size). Never control flow, whatever its name (a
Merge's value_index, the Switch branch nobody takes, Enter / Exit / NextIteration / LoopCond), nor an op inside a
loop frame (`loop_frame_ops`).

Labels are the placeholders the loss reads that the chosen outputs do not (targets, target weights); a
placeholder that is both (TrainingHelper's decoder inputs, target lengths) is a model input.

Inference values: a scalar placeholder named like `keep_prob` takes 1.0, like a dropout rate 0.0, like
`is_training` False (`--feed` overrides); a `PlaceholderWithDefault` keeps its default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migrate.graph.meta import PLACEHOLDER_OPS, VARIABLE_OPS, is_gradient

INFERENCE_VALUES = [  # (name pattern, value): first match wins; only scalar (or rank-unknown) placeholders
    (re.compile(r"keep[_]?prob|keep$|keep_probability", re.I), 1.0),
    (re.compile(r"dropout|drop_rate|^rate$", re.I), 0.0),   # not `learning_rate`: a training input
    (re.compile(r"is_train|training|is_training|phase|train_mode", re.I), False),
]
OUTPUT_NAMES = re.compile(r"logits|probabilit|predict|output|softmax|argmax|sample_id|scores", re.I)
_SKIP_SCOPES = re.compile(r"(^|/)(gradients|save|Adam|GradientDescent|Momentum|RMSProp|Adagrad|Adadelta|train|"
                          r"training|optimizer|summaries|init)(_\d+)?(/|$)")
TRAIN_SCOPES = re.compile(r"(^|/)(gradients|save|Adam|GradientDescent|Momentum|RMSProp|Adagrad|Adadelta|"
                           r"optimizer|summaries|init)(_\d+)?(/|$)")  # ops of the training machinery, never outputs
HEAD_OPS = ("Softmax", "LogSoftmax", "Sigmoid", "ArgMax", "TopKV2")   # inference heads computed from logits
SHAPE_ONLY = ("Reshape", "Identity", "Cast", "ExpandDims", "Squeeze", "Transpose", "Unpack", "StopGradient")
READ_ONLY = ("Shape", "Size", "Rank", "ShapeN")                       # consumers that read no value
NOT_OUTPUTS = READ_ONLY + ("VarIsInitializedOp", "IsVariableInitialized")  # never a model's result
# Names TF gives an op when the author gave none (besides the op type itself: `ArgMax`, `Exit`, `strided_slice`);
# `input` is a nested state TF packed for an op (`initial_state/input`). Never `output`: the name TF1 users give the
# node they serve or freeze.
AUTO_NAMES = {"add", "sub", "mul", "truediv", "div", "floordiv", "transpose", "concat", "stack", "unstack", "pack",
              "unpack", "tofloat", "toint32", "toint64", "zeros", "ones", "embeddinglookup", "tensordot", "split",
              "rnnoutput", "neg", "read", "y", "x", "input", "sampleid", "einsum"}


@dataclass
class Selection:
    outputs: list[str]
    why: str
    loss: str | None = None
    labels: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)   # output -> why this one
    primary: list[str] = field(default_factory=list)        # what the loss reads (or the sinks of a graph with
    # no loss): the outputs the model is; the others (heads, named results) come with them

    def explain(self) -> list[str]:
        return [f"{o}: {self.reasons[o]}" for o in self.outputs if o in self.reasons]


def data_ancestors(ops, stop=lambda o: False):
    """Every op the given ops depend on through data inputs (not control inputs)."""
    seen, stack = {}, list(ops)
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen[o.name] = o
        if stop(o):
            continue
        stack.extend(t.op for t in o.inputs)
    return seen


def find_loss(graph):
    for o in ops_of_type(graph, ("Shape",)):
        if re.search(r"(^|/)gradients(_\d+)?/Shape$", o.name) and o.inputs:
            t = o.inputs[0]
            return t, f"the tensor tf.gradients differentiates ({o.name} reads it)"
    for o in ops_of_type(graph, ("Fill",)):  # a scalar loss: gradients/Shape is a Const; the first gradient op is
        m = re.search(r"(^|/)gradients(_\d+)?/(Fill|grad_ys_\d+)$", o.name)   # named <loss>_grad/...
        if m:
            for c in o.outputs[0].consumers():
                g = re.search(r"(?:^|/)gradients(?:_\d+)?/(.+?)_grad/", c.name)
                if g:
                    try:
                        fwd = graph.get_operation_by_name(g.group(1))
                    except KeyError:
                        continue
                    return fwd.outputs[0], f"the tensor tf.gradients differentiates ({c.name} is its gradient)"
    losses = graph.get_collection("losses")
    if losses:
        return losses[0], "the 'losses' collection"
    from migrate.graph.loss import LOSS_KERNELS  # noqa: PLC0415

    named = [o for o in ops_named(graph, lambda n: "loss" in n.rsplit("/", 1)[-1].lower())
             if o.outputs and o.outputs[0].shape.rank == 0 and o.outputs[0].dtype.is_floating
             and not _SKIP_SCOPES.search(o.name)]
    for o in named:   # the first computed from a loss kernel: not a weight penalty (`L2Loss`,
        # `total_regularization_loss`) of an evaluation graph whose loss term comes later
        if any(a.type in LOSS_KERNELS for a in data_ancestors([o]).values()):
            return o.outputs[0], "the scalar named like a loss"
    if named:
        return named[0].outputs[0], "the scalar named like a loss"

    kernels = ops_of_type(graph, tuple(LOSS_KERNELS))
    if kernels:  # an evaluation graph: the loss is built, nothing differentiates it
        below = in_graph_order(graph, reaches(kernels).values())   # only what the kernels compute is looked at
        sinks = [o for o in below if o.outputs and o.outputs[0].shape.rank == 0 and o.outputs[0].dtype.is_floating
                 and not _SKIP_SCOPES.search(o.name) and not _consumed(o.outputs[0])]
        if sinks:
            o = sinks[-1]
            return o.outputs[0], f"the unconsumed scalar computed from a loss kernel ({o.type} {o.name})"
    return None, ""


# -- cheap, linear walks (a .meta may hold a million nodes no output needs: never walk it once per op) -------------

def reaches(sources, stop=()) -> dict:
    """{name: op} of the ops that depend on any of `sources` (themselves included) through data inputs: one forward
    walk over consumers, linear in what it reaches. An op whose type is in `stop` is reached only as a source (as
    `data_ancestors(..., stop=...)` does not look past it)."""
    seen = {o.name: o for o in sources}
    stack = list(sources)
    while stack:
        o = stack.pop()
        for t in o.outputs:
            for c in t.consumers():
                if c.name not in seen and c.type not in stop:
                    seen[c.name] = c
                    stack.append(c)
    return seen


def ops_of_type(graph, types: tuple[str, ...]) -> list:
    """The graph's ops of these types, in graph order (a `ProtoGraph` answers from its type list)."""
    fast = getattr(graph, "nodes_of_type", None)
    if fast is not None:
        return [graph.op(i) for i in fast(types)]
    return [o for o in graph.get_operations() if o.type in types]


def ops_named(graph, pred) -> list:
    """The graph's ops whose name satisfies `pred`, in graph order."""
    names = getattr(graph, "names", None)
    if names is not None:   # a ProtoGraph: names first, op objects only for the hits
        return [graph.op(i) for i, n in enumerate(names) if pred(n)]
    return [o for o in graph.get_operations() if pred(o.name)]


def in_graph_order(graph, ops) -> list:
    ops = list(ops)
    pos = getattr(graph, "index", None)
    if pos is None:
        pos = {o.name: k for k, o in enumerate(graph.get_operations())}
    return sorted(ops, key=lambda o: pos[o.name])


def _consumed(t) -> bool:
    return any(not _SKIP_SCOPES.search(c.name) and c.type not in READ_ONLY for c in t.consumers())


def auto_named(op) -> bool:
    """True when the op carries the name TF gave it (`Reshape_2`, `rnn/while/Exit_3`), not one its author chose."""
    leaf = re.sub(r"_\d+$", "", op.name.rsplit("/", 1)[-1]).lower().replace("_", "")
    kind = re.sub(r"v\d+$", "", op.type.lower())
    return leaf == kind or leaf in AUTO_NAMES


def choose_outputs(graph, *, loss_only: bool = False) -> Selection:
    """The outputs a model of this graph returns and why (module docstring). `loss_only` (the caller names the
    outputs and wants the loss): the loss and what it is computed from, without looking for the heads and named
    results beside them (walks over what the variables reach: seconds on a large graph)."""
    from migrate.graph.loss import LOSS_KERNELS  # noqa: PLC0415

    loss, how = find_loss(graph)
    if loss is not None:
        anc = data_ancestors([loss.op])
        kernels = [o for o in anc.values() if o.type in LOSS_KERNELS and not TRAIN_SCOPES.search(o.name)]
        reasons: dict[str, str] = {}
        if kernels:
            for k in sorted(kernels, key=lambda o: o.name):
                t = climb(kernels, k.inputs[LOSS_KERNELS[k.type].logits], anc)
                reasons.setdefault(t.name, f"the {LOSS_KERNELS[k.type].role} the loss {loss.name} is computed from "
                                           f"({k.type} {k.name})")
        else:
            for t in _label_frontier(graph, anc):
                reasons.setdefault(t.name, f"computed from the model's variables and no label, consumed where the "
                                           f"loss {loss.name} meets the labels (no known loss kernel)")
        if reasons:
            primary = set(reasons)
            model_anc = data_ancestors([graph.get_tensor_by_name(n).op for n in reasons])
            labels = sorted(o.name for o in anc.values() if o.type in PLACEHOLDER_OPS and o.name not in model_anc)
            if not loss_only:
                _add_heads(graph, reasons, anc)
                _add_named_sinks(graph, reasons, anc, labels)
            outs = _dedupe_identities(graph, list(reasons))
            return Selection(outs, f"the loss is {loss.name} ({how}); labels: {', '.join(labels) or 'none'}",
                             loss.name, labels, {o: reasons[o] for o in outs}, [o for o in outs if o in primary])
    sinks, frames = [], None
    for o in ops_named(graph, OUTPUT_NAMES.search):
        if _SKIP_SCOPES.search(o.name) or o.type in PLACEHOLDER_OPS + VARIABLE_OPS + ("Const", "NoOp", "Assign"):
            continue
        if o.type in NOT_OUTPUTS + _NOT_RESULTS or _LOOP_FRAME.search(o.name):
            continue
        if frames is None:
            frames = loop_frame_ops(graph)
        if o.name in frames:
            continue
        for t in o.outputs:
            if not t.consumers() or all(c.type in ("HistogramSummary", "ScalarSummary") for c in t.consumers()):
                if t.dtype != "bool":
                    sinks.append(t.name)
    why = "the graph has no loss; the outputs are its unconsumed tensors named like logits / probabilities / " \
          "predictions / output"
    if sinks:
        return Selection(sinks, why, reasons={s: "unconsumed, named like an output (the graph has no loss)"
                                              for s in sinks}, primary=list(sinks))
    ends, skipped = _result_ends(graph)
    left_out = _left_out(skipped)
    if 0 < len(ends) <= MAX_UNNAMED_OUTPUTS:
        return Selection(ends, "the graph has no loss and names no output; the outputs are its unconsumed tensors "
                               "computed from its inputs (a frozen or exported inference graph keeps only what its "
                               "outputs need)" + left_out,
                         reasons={e: "unconsumed, computed from the inputs (the graph has no loss and names no "
                                     "output)" for e in ends}, primary=list(ends))
    listed = f" (its unconsumed tensors computed from the inputs: {', '.join(ends[:6])}" + \
        (f" and {len(ends) - 6} more)" if len(ends) > 6 else ")") if ends else ""
    return Selection([], f"no loss and no tensor named like logits / predictions / output{listed}{left_out}; pass "
                         f"--outputs")


MAX_UNNAMED_OUTPUTS = 4   # more unconsumed results than this: the graph holds more than one model's outputs
# Control flow: a Merge's value_index (`Merge:1`), the branch of a Switch nobody takes (a tf.cond's or a loop's
# `Switch:0`), Enter / Exit / NextIteration / LoopCond are plumbing, never what a model returns.
CONTROL_FLOW = ("Enter", "RefEnter", "Exit", "RefExit", "Merge", "RefMerge", "Switch", "RefSwitch", "NextIteration",
                "RefNextIteration", "LoopCond")
_NOT_RESULTS = ("Const", "NoOp", "Assign", *CONTROL_FLOW, "HistogramSummary", "ScalarSummary", "MergeSummary",
                "Print", "PrintV2", "Assert", "SaveV2", "RestoreV2")


_LOOP_FRAME = re.compile(r"(^|/)while(_\d+)?/")


def loop_frame_ops(graph) -> set[str]:
    """The names of the ops inside a while loop's frame, found by structure, whatever their names: everything an
    `Enter` reaches before an `Exit` (a loop's body and condition; `map_fn`'s, `scan`'s, `dynamic_rnn`'s). What
    leaves a loop does so through an Exit, so nothing inside a frame is a model's result."""
    enters = ops_of_type(graph, ("Enter", "RefEnter"))
    return set(reaches(enters, stop=("Exit", "RefExit"))) if enters else set()


def _result_ends(graph) -> tuple[list[str], dict[str, str]]:
    """The tensors nothing consumes that are computed from a placeholder (a data path from an input), outside the
    training machinery, summaries and loop frames: a frozen graph's outputs (`convert_variables_to_constants` keeps
    only what its output nodes need), an export's results. In graph order; with the unconsumed tensors left out as
    bookkeeping (`_bookkeeping`) and why."""
    ops = graph.get_operations()
    reach: set[str] = set()
    stack = [o for o in ops if o.type in PLACEHOLDER_OPS]
    while stack:
        o = stack.pop()
        if o.name in reach:
            continue
        reach.add(o.name)
        stack.extend(c for t in o.outputs for c in t.consumers())
    ends, frames = [], loop_frame_ops(graph)
    for o in ops:
        if o.name not in reach or o.type in PLACEHOLDER_OPS + VARIABLE_OPS + _NOT_RESULTS + NOT_OUTPUTS or \
                _SKIP_SCOPES.search(o.name) or _LOOP_FRAME.search(o.name) or o.name in frames:
            continue
        ends.extend(t.name for t in o.outputs if not t.consumers() and t.dtype != "bool")
    return _bookkeeping(graph, ends)


def _left_out(skipped: dict[str, str]) -> str:
    """The bookkeeping left out, in words, one group per reason (at most 3 names each)."""
    groups: dict[str, list[str]] = {}
    for name, why in skipped.items():
        groups.setdefault(why, []).append(name)
    parts = [", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "") + f" ({why})"
             for why, names in groups.items()]
    return "; left out, unconsumed but no result: " + "; ".join(parts) if parts else ""


def _bookkeeping(graph, ends: list[str]) -> tuple[list[str], dict[str, str]]:
    """(the results among `ends`, the others -> why): what a loop's setup leaves that nobody reads is no result.
    TF 2.21's `dynamic_rnn` computes `rnn/Min` (min(sequence_length)) that its loop no longer reads, and a cell's
    `zero_state` builds `rnn/GRUCellZeroState/ExpandDims_1` (the batch size as a shape) beside the zeros it uses;
    `while_loop` / `TensorArray` setups leave sizes the same way. Found by what they read, not by their names:
    - a tensor that reads the inputs' shapes only (a Shape / Size / Rank of them), never their values, is a size;
    - in a graph with weights, a tensor that reads none (min(sequence_length)) is input bookkeeping, when another
      unconsumed tensor does read them (a model's results are computed with its weights).
    Nothing is left out when nothing else would remain."""
    sizes, weightless, results = {}, {}, []
    has_weights = bool(ops_of_type(graph, VARIABLE_OPS))
    for name in ends:
        t = graph.get_tensor_by_name(name)
        by_value = data_ancestors([t.op], stop=lambda o: o.type in READ_ONLY)
        if not any(o.type in PLACEHOLDER_OPS for o in by_value.values()):
            sizes[name] = "reads only the shape of an input: a size a loop's or a zero state's setup computes"
        elif has_weights and not any(o.type in VARIABLE_OPS for o in data_ancestors([t.op]).values()):
            weightless[name] = "reads no weight: input bookkeeping a loop's setup computes, e.g. dynamic_rnn's " \
                               "min(sequence_length)"
        else:
            results.append(name)
    if not results:
        kept = [n for n in ends if n in weightless] or list(ends)
        return kept, {n: w for n, w in sizes.items() if n not in kept}
    return results, {**sizes, **weightless}


def _feeds_only(t, anc) -> bool:
    """Every op reading the tensor's value belongs to the loss (gradient and shape reads aside)."""
    users = [c for c in t.consumers() if c.type not in READ_ONLY and not TRAIN_SCOPES.search(c.name)]
    return bool(users) and all(c.name in anc for c in users)


def climb(kernels, t, anc):
    """The loss kernel's logits input -> the tensor the model produced: back through the shape-only ops that
    exist for the loss alone (`sequence_loss/Reshape`, `loss/unstack`), never past a name its author chose."""
    for _ in range(16):
        op = t.op
        if op.type not in SHAPE_ONLY or not op.inputs or not auto_named(op):
            return t
        pieces = op.outputs if op.type == "Unpack" else [t]
        if not all(_feeds_only(p, anc) for p in pieces):
            return t
        src = op.inputs[0]
        scope = op.name.rsplit("/", 1)[0] + "/" if "/" in op.name else ""
        in_loss_scope = bool(scope) and any((k.name + "/").startswith(scope) for k in kernels)
        same_shape = t.shape.rank is not None and t.shape.is_fully_defined() and src.shape == t.shape
        if not (in_loss_scope or same_shape or op.type in ("Unpack", "Identity", "StopGradient")):
            return t
        t = src
    return t


def _label_frontier(graph, anc):
    """A loss without a known kernel: the earliest untainted, variable-dependent tensors a label-dependent op
    consumes (the CRF's unary scores, not its transition matrix nor its forward algorithm)."""
    placeholders = [o for o in anc.values() if o.type in PLACEHOLDER_OPS]
    depends_var = _depends(anc, lambda o: o.type in VARIABLE_OPS)
    feeds_model = set(data_ancestors([o for o in anc.values() if _reads_variable(o)]))
    label_set = {p.name for p in placeholders if p.name not in feeds_model}
    tainted = _depends(anc, lambda o: o.name in label_set)
    cands = []
    for name, o in anc.items():
        if tainted[name] or not depends_var[name] or o.type in VARIABLE_OPS or _is_variable_read(o):
            continue
        for t in o.outputs:
            if not (t.dtype.is_floating and t.shape.rank != 0):
                continue
            if any(c.name in anc and tainted[c.name] for c in t.consumers()):
                cands.append(_climb_scoped(t))
    cands = [t for t in dict.fromkeys(cands) if t.op.type not in VARIABLE_OPS and not _is_variable_read(t.op)]
    # earliest: no other candidate among its ancestors (its own op included). One forward walk that carries up to
    # two candidate labels per op (two distinct ones already tell "another one"): linear, not one walk per candidate.
    labels: dict[str, set[int]] = {}
    stack = [(t.op, k) for k, t in enumerate(cands)]
    while stack:
        o, k = stack.pop()
        have = labels.setdefault(o.name, set())
        if k in have or len(have) >= 2:
            continue
        have.add(k)
        stack.extend((c, k) for out in o.outputs for c in out.consumers())
    return [t for k, t in enumerate(cands) if not labels.get(t.op.name, set()) - {k}]


def _climb_scoped(t):
    """A tensor reshaped inside the loss function's own scope -> the tensor the model produced."""
    for _ in range(16):
        op = t.op
        if op.type not in SHAPE_ONLY or not op.inputs or not auto_named(op) or op.type == "Unpack":
            return t
        t = op.inputs[0]
    return t


def _add_heads(graph, reasons, anc):
    """Softmax / ArgMax / ... computed from a chosen output through shape-only ops (and heads of heads)."""
    stack = [(graph.get_tensor_by_name(n), n) for n in list(reasons)]
    seen = set()
    while stack:
        t, root = stack.pop()
        for c in t.consumers():
            if c.name in seen or c.name in anc or TRAIN_SCOPES.search(c.name):
                continue
            seen.add(c.name)
            if c.type in HEAD_OPS:
                out = c.outputs[0]
                reasons.setdefault(out.name, f"{c.type} of {root}")
                stack.append((out, out.name))
            elif c.type in SHAPE_ONLY:
                stack.extend((o, root) for o in c.outputs)


def _add_named_sinks(graph, reasons, anc, labels):
    chosen = [graph.get_tensor_by_name(n).op for n in reasons]
    variables = [o for o in data_ancestors(chosen).values() if o.type in VARIABLE_OPS]
    if not variables:
        return
    # only the ops those variables reach can qualify: the graph's unrelated parts, however large, are not walked
    stop = READ_ONLY + ("ZerosLike", "OnesLike")
    by_variable = reaches(variables, stop)
    cands = []
    for o in in_graph_order(graph, by_variable.values()):
        if o.name in anc or _SKIP_SCOPES.search(o.name) or o.type in PLACEHOLDER_OPS + VARIABLE_OPS or \
                _is_variable_read(o) or (auto_named(o) and o.type not in HEAD_OPS):
            continue
        for t in o.outputs:
            if t.name in reasons or t.shape.rank == 0 or not (t.dtype.is_floating or t.dtype.is_integer):
                continue
            if any(c.type not in READ_ONLY and not _SKIP_SCOPES.search(c.name) for c in t.consumers()):
                continue
            cands.append((o, t))
    if not cands:
        return
    # what each candidate depends on (not past a shape read or a zeros_like): forward walks, not one backward walk
    # per candidate. A candidate computed from a gradient is reached from a gradient op among those the variables
    # reach (the backward pass reads the forward activations).
    by_label = reaches([graph.get_operation_by_name(n) for n in labels], stop)
    by_gradient = reaches([o for o in by_variable.values() if is_gradient(o.name)], stop)
    for o, t in cands:
        if o.name in by_label or o.name in by_gradient:
            continue
        reasons[t.name] = ("unconsumed and named by the graph's author, computed from the same variables"
                           if not auto_named(o) else f"an unconsumed {o.type} computed from the same variables")


def _depends(anc, pred):
    """name -> does the op (transitively, within anc) depend on an op satisfying pred: a forward walk over
    consumers from every op satisfying pred (loops need no special case)."""
    memo = {name: False for name in anc}
    stack = [o for o in anc.values() if pred(o)]
    for o in stack:
        memo[o.name] = True
    while stack:
        o = stack.pop()
        for t in o.outputs:
            for c in t.consumers():
                if c.name in anc and not memo[c.name]:
                    memo[c.name] = True
                    stack.append(c)
    return memo


def _is_variable_read(o) -> bool:
    return o.type in ("Identity", "ReadVariableOp", "Enter") and bool(o.inputs) and \
        (o.inputs[0].op.type in VARIABLE_OPS or _is_variable_read(o.inputs[0].op))


def _reads_variable(o) -> bool:
    """The op takes a variable's value as a direct input (a layer's weight use: MatMul, Gather, BiasAdd, ...)."""
    for t in o.inputs:
        src, hops = t, 0
        while src.op.type in ("Identity", "Enter", "ReadVariableOp") and src.op.inputs and hops < 4:
            src, hops = src.op.inputs[0], hops + 1
        if src.op.type in VARIABLE_OPS and o.type not in ("Identity", "Enter", "ReadVariableOp", "Assign"):
            return True
    return False


def _dedupe_identities(graph, outs):
    """Drop an output that is only an Identity of another chosen output."""
    names = set(outs)
    keep = []
    for n in outs:
        t = graph.get_tensor_by_name(n)
        if t.op.type == "Identity" and t.op.inputs[0].name in names:
            continue
        keep.append(n)
    return keep


def inference_value(op) -> object | None:
    """The value a scalar mode placeholder takes at inference (None: a real input)."""
    if op.type not in PLACEHOLDER_OPS or op.type == "PlaceholderWithDefault":
        return None
    shape = op.outputs[0].shape
    if shape.rank not in (None, 0):
        return None
    leaf = op.name.rsplit("/", 1)[-1]
    for pattern, value in INFERENCE_VALUES:
        if pattern.search(leaf):
            if isinstance(value, bool) and not op.outputs[0].dtype.is_bool:
                return None
            if not isinstance(value, bool) and not op.outputs[0].dtype.is_floating:
                return None
            return value
    return None
