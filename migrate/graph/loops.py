"""The generic tier: TF1 control flow that no recogniser took, translated op by op.

A TF1 (control flow v1) while loop is a frame of ops: `Enter` (a loop variable's initial value, or with
`is_constant` a value the loop reads), `Merge(Enter, NextIteration)`, `Switch(Merge, LoopCond)` whose output 1
runs the body and output 0 leaves through `Exit`. `generic_loops` finds every frame the outputs need that no
recogniser provides and makes it a `WhileLoopProvider`: its condition and body are translated by the same op table
as the rest of the graph into two functions of `model.py` (one line per TF1 op, commented with it), and the loop
becomes one `tfm.WhileLoop` layer that runs them with `keras.ops.while_loop`. The variables the loop reads are the
layer's weights; values from outside the frame are the layer's inputs.

TensorArrays are dense tensors (`tf_migrate_runtime.layers.loop`): `TensorArrayV3` is an array not yet written
(`Sym.array`, its spec), a scatter / unstack of a tensor is that tensor, a write in the body is `tfm.array_write`
(`tfm.array_append` for an array that grows), a read / gather / size after or inside the loop are `tfm.array_*`.

`tf.cond` (`Switch` / `Merge` outside a loop frame): with a predicate known at conversion time (a constant, a
`placeholder_with_default` nobody feeds, a `--feed` value) only the live branch is translated; otherwise both
branches are computed and `Merge` becomes `keras.ops.where(pred, then, else)`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from migrate.graph.ir import Emitter, Sym, Unsupported, py_literal, source_text
from migrate.graph.matching import frame_ops
from migrate.graph.meta import PLACEHOLDER_OPS, VARIABLE_OPS, GraphView

HANDLE = "__tensor_array_handle__"   # the Sym var of a TensorArray handle (the dense buffer is its flow)
DEAD = "__dead__"                    # the untaken branch of a folded tf.cond (same as translate.DEAD)


# ------------------------------------------------------------------------------------------- frames
def frames_of(view: GraphView) -> dict[str, list]:
    """frame name -> its Enter ops (cached on the view)."""
    cached = getattr(view, "_loop_frames", None)
    if cached is None:
        cached = {}
        for op in view.graph.get_operations():
            if op.type in ("Enter", "RefEnter"):
                cached.setdefault(op.get_attr("frame_name").decode(), []).append(op)
        view._loop_frames = cached
    return cached


def frame_of_exit(exit_op) -> str | None:
    """The frame an `Exit` leaves: Exit(Switch(Merge(Enter, NextIteration), LoopCond):0)."""
    switch = exit_op.inputs[0].op
    if switch.type not in ("Switch", "RefSwitch"):
        return None
    merge = switch.inputs[0].op
    enter = next((i.op for i in merge.inputs if i.op.type in ("Enter", "RefEnter")), None)
    return None if enter is None else enter.get_attr("frame_name").decode()


def _through_identity(t):
    while t.op.type in ("Identity", "Snapshot") and t.op.inputs:
        t = t.op.inputs[0]
    return t


def tensor_array_op(t):
    """The `TensorArrayV3` op a handle or flow tensor comes from (through Enter / Identity / Switch / Merge /
    Exit and the TensorArray ops' flow outputs), or None."""
    seen = 0
    while seen < 64:
        seen += 1
        o = t.op
        if o.type == "TensorArrayV3":
            return o
        if o.type in ("Enter", "RefEnter", "Identity", "Switch", "RefSwitch", "Exit", "Merge", "NextIteration"):
            t = o.inputs[0]
        elif o.type.startswith("TensorArray") and o.inputs:
            t = o.inputs[0]    # every TensorArray op takes the handle first
        else:
            return None
    return None


class LoopVar:
    """One loop variable of a frame: its Enter, Merge, Switch, Exit (None when unused) and NextIteration input."""

    def __init__(self, enter):
        self.enter = enter
        self.merge = next(c for c in enter.outputs[0].consumers() if c.type in ("Merge", "RefMerge"))
        self.switch = next(c for c in self.merge.outputs[0].consumers() if c.type in ("Switch", "RefSwitch"))
        self.exit = next((c for c in self.switch.outputs[0].consumers() if c.type in ("Exit", "RefExit")), None)
        nxt = next(i.op for i in self.merge.inputs if i.op.type in ("NextIteration", "RefNextIteration"))
        self.next_value = nxt.inputs[0]
        init = _through_identity(enter.inputs[0])
        self.array = init.op if init.op.type == "TensorArrayV3" and init.value_index == 1 else None
        self.dtype = np.dtype(enter.outputs[0].dtype.base_dtype.as_numpy_dtype).name if self.array is None \
            else np.dtype(self.array.get_attr("dtype").as_numpy_dtype).name


class LoopFrame:
    """A while frame read from the graph: loop variables in Enter order, the values it reads, its condition."""

    def __init__(self, view: GraphView, name: str, enters: list):
        self.name = name
        self.vars = [LoopVar(e) for e in enters if not e.get_attr("is_constant")]
        self.constants = [e for e in enters if e.get_attr("is_constant")]
        if not self.vars:
            raise Unsupported(f"while frame {name} has no loop variable")
        self.loop_cond = self.vars[0].switch.inputs[1].op
        if self.loop_cond.type != "LoopCond":
            raise Unsupported(f"while frame {name}: its Switch is not driven by a LoopCond")
        self.pred = self.loop_cond.inputs[0]
        self.scope = name.rsplit("/", 1)[0] if "/" in name else name
        self.title = _title(name)


def _title(frame: str) -> str:
    """A frame's name as its scope: `rnn/while/while_context` (TF >= 1.5) and `rnn/while/rnn/while/` (older TF 1.x)
    -> `rnn/while`."""
    if frame.endswith("/while_context"):
        return frame[:-len("/while_context")]
    name = frame.rstrip("/")
    half = name[:len(name) // 2]
    return half if frame.endswith("/") and name == f"{half}/{half}" else name


# ----------------------------------------------------------------------------- finding the loops to translate
NO_RECOGNISER = ("no recogniser took it: it is neither a dynamic_rnn / static_rnn over the registered cells "
                 "(migrate/graph/constructs: LSTM, GRU, plain RNN, peephole / projected LSTM, layer-norm LSTM, "
                 "CIFG and block cells, with their wrappers) nor a contrib.seq2seq decoder the registry knows")
RECOGNISERS_OFF = "recognisers switched off (--no-recognisers)"


_PASS_TO_GATES = ("BiasAdd", "Add", "AddV2", "Identity")
_PEEPHOLES = ("w_f_diag", "w_i_diag", "w_o_diag")


def why_not_recognised(view: GraphView, frame: str) -> str:
    """What keeps this loop's body from the registered cells (`migrate.graph.constructs`), read from its ops: the
    kind of step it is and what the registry would need, what a user needs to know why the loop is generic."""
    declined = view.__dict__.get("declined_frames", {}).get(frame)
    if declined:   # a registered construct saw the loop's cells and said why it does not take it
        return declined
    # the frame's own ops (a decoder reusing another's variable scope names its ops after that one's)
    ops = frame_ops(view, frame) + [o for o in view.graph.get_operations() if o.name.startswith(_title(frame) + "/")]
    kernels = [o for o in ops if o.type == "MatMul" and view.variable_of(o.inputs[1]) is not None]
    per_element = map_like(view, frame)
    if per_element:
        step = f" (its step applies {view.variable_of(kernels[0].inputs[1])} to each element)" if kernels else ""
        return (f"a map_fn-style loop, not a recurrence: its loop variables are {per_element}; each step computes "
                f"element i from element i alone and carries no state to the next{step}")
    if any(o.type in ("LSTMBlockCell", "GRUBlockCell") for o in ops):
        return "a fused block cell whose wiring the block-cell recognisers did not match"
    if not kernels:
        return "no cell recogniser applies: its body multiplies no variable (no MatMul on a cell kernel)"
    k = kernels[0]
    var = view.variable_of(k.inputs[1])
    odd = next((o for o in ops if o.type not in _CELL_STEP_OPS and not o.name.startswith("gradients")), None)
    nxt, t = None, k.outputs[0]
    for _ in range(4):
        cons = [c for c in t.consumers() if not c.name.startswith("gradients")]
        if len(cons) != 1:
            break
        nxt = cons[0]
        if nxt.type not in _PASS_TO_GATES:
            break
        t = nxt.outputs[0]
    variables = {view.variable_of(o.inputs[1]) or "" for o in ops if o.type == "Mul" and len(o.inputs) > 1}
    variables |= {view.variable_of(i) or "" for o in ops for i in o.inputs if i.op.type == "Enter"}
    peep = sorted(v for v in variables if v.rsplit("/", 1)[-1] in _PEEPHOLES)
    projection = sorted(v for v in variables if v.rsplit("/", 2)[-2:-1] == ["projection"])   # LSTMCell(num_proj)
    wrapper = sorted(v for v in variables if "/output_projection_wrapper/" in f"/{v}")
    if nxt is not None and nxt.type in ("Split", "SplitV"):
        parts = int(nxt.get_attr("num_split"))
        if parts == 4:
            if peep:
                return (f"an LSTM step with peephole weights ({', '.join(peep)}) in a loop the registry does not "
                        f"take (tfm.PeepholeLSTM takes it inside dynamic_rnn)")
            if wrapper:
                return (f"an LSTM step inside an OutputProjectionWrapper ({wrapper[0]}) in a loop the registry "
                        f"does not take (it takes the wrapper around a dynamic_rnn's cell or stack)")
            if projection:
                return (f"an LSTM step with a projection ({projection[0]}) in a loop the registry does not take "
                        f"(tfm.PeepholeLSTM takes it inside dynamic_rnn)")
            acts = sorted({o.type for o in ops if o.type in ("Tanh", "Relu", "Elu", "Selu", "Softsign", "Relu6")})
            if acts != ["Tanh"]:
                return (f"an LSTM step whose activation is {', '.join(acts) or 'not tanh'}, in a loop the "
                        f"registry does not take")
            if odd is not None:
                return (f"an LSTM-like step on {var} that also applies {odd.type} ({odd.name}), an op no registered "
                        f"cell's step has")
            return f"an LSTM-like step on {var} whose gate wiring the LSTM recogniser did not match"
        if odd is not None:
            return (f"a step that applies {odd.type} ({odd.name}), an op no registered cell's step has (its kernel "
                    f"{var} feeds a {parts}-way split)")
        return f"the kernel {var} feeds a {parts}-way split: no recognised cell's gate layout"
    if odd is not None:   # what is unlike every registered cell, not the first MatMul met
        return (f"a step that applies {odd.type} ({odd.name}), an op no registered cell's step has: a custom cell, "
                f"in a loop the registry does not take")
    following = nxt.type if nxt is not None else "several ops"
    return (f"the kernel {var} feeds {following} with no gate split: a plain RNN step or a custom cell, in a loop "
            f"the registry does not take (it takes BasicRNNCell inside dynamic_rnn / static_rnn)")


# The op types of the steps the registered cells build (LSTM / GRU / plain RNN cells, their wrappers, dropout,
# layer norm, peepholes, projections and clips, sequence_length's copy-through, TF 1.0-1.15 and TF 2.21's
# dynamic_rnn): an op of another type in a loop's body is what sets a custom cell apart (`why_not_recognised`).
_CELL_STEP_OPS = frozenset((
    "Add", "AddV2", "BiasAdd", "ConcatV2", "Concat", "Const", "Enter", "RefEnter", "Exit", "GreaterEqual", "Greater",
    "Identity", "Less", "LessEqual", "LogicalAnd", "LoopCond", "MatMul", "Merge", "Mul", "NextIteration",
    "RandomUniform", "Select", "SelectV2", "Shape", "Sigmoid", "Split", "SplitV", "Sub", "Switch", "Tanh",
    "TensorArrayReadV3", "TensorArrayWriteV3", "Floor", "RealDiv", "Div", "Cast", "Reshape", "StridedSlice", "Pack",
    "Fill", "ZerosLike", "Minimum", "Maximum", "ClipByValue", "Mean", "Sum", "SquaredDifference", "Square", "Rsqrt",
    "StopGradient", "Relu", "Relu6", "Elu", "Selu", "Softsign", "ExpandDims", "Squeeze", "Slice", "Neg",
    "LSTMBlockCell", "GRUBlockCell", "Equal", "Assert", "NoOp", "All", "Range", "Rank", "Size"))


def stopped_at(view, where: str, title: str, unsupported: list) -> str:
    """Why the generic tier cannot translate a loop: the first op of its condition / body that stops the
    translation (the walk meets it with every input translated: `unsupported[0]`; what depends on it fails with it,
    so it is the op to act on, whatever MatMul the step has before it), what was expected of it and the way out
    that fits: `--feed` where a mode placeholder selects the branch holding it, else `--outputs` before the loop or
    an issue naming the op type."""
    t, n, why = unsupported[0]
    if t == "while loop (generic)":   # a loop in this loop: its own first blocker
        return f"its {where} holds the while loop {n}, which the generic tier cannot translate either: {why}"
    if why == "part of a loop no recogniser took":
        what = f"{t} {n} is part of a cycle of ops outside any while frame the generic tier can follow"
    elif why:
        what = f"{t} {n}: {why} (expected: the form the op table translates, migrate/graph/ops)"
    else:
        what = f"{t} {n}: no translation for the op type {t} (expected: an op of the op table, migrate/graph/ops)"
    more = Counter(x[0] for x in unsupported[1:])
    after = f"; {sum(more.values())} more op(s) of the {where} fail after it ({', '.join(sorted(more))})" \
        if more else ""
    mode = _mode_placeholder(view, n)
    if mode:
        way = (f"if {mode}:0 is a mode setting fixed at inference (a training flag, a keep probability), pass "
               f"--feed {mode}:0=VALUE so the branch holding {n} folds away; else ")
    else:
        way = ""
    way += (f"name --outputs computed before the loop {title} (the model then ends there), or open an issue "
            f"naming the op type {t} and the TF1 call that built it")
    return f"its {where} stops at {what}{after}. Way out: {way}"


def _mode_placeholder(view, op_name: str) -> str | None:
    """The scalar placeholder whose value selects the tf.cond branch holding `op_name` (a Switch on the way back
    whose predicate is not a loop's LoopCond and reads it), or None."""
    try:
        op = view.graph.get_operation_by_name(op_name)
    except (KeyError, ValueError):
        return None
    from migrate.graph.select import data_ancestors  # noqa: PLC0415

    for o in data_ancestors([op]).values():
        if o.type not in ("Switch", "RefSwitch") or _through_identity(o.inputs[1]).op.type == "LoopCond":
            continue
        for p in data_ancestors([o.inputs[1].op]).values():
            if p.type in PLACEHOLDER_OPS and p.outputs[0].shape.rank == 0:
                return p.name
    return None


def _is_counter(lv: LoopVar) -> bool:
    """A loop variable that only counts: an integer whose next value is itself (read in the body) plus a
    constant."""
    if lv.array is not None or not lv.dtype.startswith(("int", "uint")):
        return False
    nxt = _through_identity(lv.next_value).op
    if nxt.type not in ("Add", "AddV2") or len(nxt.inputs) != 2:
        return False
    body = lv.switch.outputs[1]
    mine = [_through_identity(x) for x in nxt.inputs]
    return any(x.name == body.name for x in mine) and any(x.op.type == "Const" or (x.op.type == "Enter" and
               x.op.inputs and x.op.inputs[0].op.type == "Const") for x in mine)


def map_like(view: GraphView, frame: str) -> str:
    """`tf.map_fn` (and any while loop like it): the loop variables are step counters and TensorArrays only (no
    state carried from one step to the next). Returns them in words ("the counter Const and the TensorArray
    TensorArray_1"), or "" for a loop that carries state (a recurrence)."""
    try:
        lf = LoopFrame(view, frame, frames_of(view).get(frame, []))
    except (Unsupported, StopIteration, ValueError, IndexError):
        return ""
    counters = [lv for lv in lf.vars if _is_counter(lv)]
    arrays = [lv for lv in lf.vars if lv.array is not None]
    if not counters or not arrays or len(counters) + len(arrays) != len(lf.vars):
        return ""
    names = [f"the step counter {lv.enter.inputs[0].op.name}" for lv in counters] + \
        [f"the TensorArray {lv.array.name}" for lv in arrays]
    return ", ".join(names[:-1]) + " and " + names[-1]


def generic_loops(view: GraphView, outputs, providers: dict, why: str = NO_RECOGNISER, stop=()) -> dict:
    """{tensor name: WhileLoopProvider} for every while frame the outputs need whose exits no recogniser
    provides (walking back from the outputs, through the recognised constructs' inputs)."""
    found: dict[str, WhileLoopProvider] = {}
    out: dict = {}
    seen: set[str] = set()
    stack = [view.graph.get_tensor_by_name(o) for o in outputs]
    while stack:
        t = stack.pop()
        if t.name in seen or t.name in stop:   # stop: what a loop function already has (its parameters)
            continue
        seen.add(t.name)
        if t.name in providers:
            stack.extend(providers[t.name].inputs)
            continue
        if t.name in out:
            stack.extend(out[t.name].inputs)
            continue
        o = t.op
        if o.type in VARIABLE_OPS or o.type in PLACEHOLDER_OPS and o.type != "PlaceholderWithDefault" or \
                view.foldable(o):
            continue
        if o.type in ("Exit", "RefExit"):
            frame = frame_of_exit(o)
            if frame is not None and frame not in found:
                reason = why
                if why == NO_RECOGNISER and isinstance(view, GraphView):
                    reason = f"no recogniser took it: {why_not_recognised(view, frame)}"
                p = WhileLoopProvider(view, frame, frames_of(view).get(frame, []), reason)
                found[frame] = p
                for name in p.provides:
                    out.setdefault(name, p)
                stack.extend(p.inputs)
                continue
        if o.type in ("While", "StatelessWhile") and o.name not in found:   # control flow v2
            from migrate.graph.functional import FunctionalWhileProvider  # noqa: PLC0415

            p = FunctionalWhileProvider(view, o, why)
            found[o.name] = p
            for name in p.provides:
                out.setdefault(name, p)
            stack.extend(p.inputs)
            continue
        if o.type == "Merge":
            stack.extend(live_inputs(view, o))
            continue
        stack.extend(o.inputs)
    return out


# ----------------------------------------------------------------------------------------------- tf.cond
def _cond_scope(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def branch_of(merge, t):
    """(predicate tensor, branch index) of the tf.cond branch that `t` (an input of `merge`) comes from: the
    nearest `Switch` of the cond's own scope on the way back (data or control input; 1 = then, 0 = else)."""
    scope = _cond_scope(merge.name)
    pred = _cond_pred(merge.graph, scope)
    stack, seen = [t], set()
    while stack:
        x = stack.pop()
        if x.name in seen:
            continue
        seen.add(x.name)
        o = x.op
        if o.type in ("Switch", "RefSwitch") and o.name.startswith(scope + "/") and \
                (pred is None or _through_identity(o.inputs[1]).name == pred.name):   # via cond/pred_id
            return o.inputs[1], x.value_index
        stack.extend(o.inputs)
        for c in o.control_inputs:
            stack.extend(c.outputs[:1] if c.type != "Identity" else c.inputs[:1])
    return None, None


def _cond_pred(graph, scope: str):
    """The predicate of the tf.cond built in `scope`: the input of its pivot `scope/Switch` = Switch(pred, pred)
    (its other Switches, one per captured tensor, are named after the op using it: `cond/MatMul/Switch`)."""
    try:
        o = graph.get_operation_by_name(scope + "/Switch")
    except KeyError:
        return None
    if o.type in ("Switch", "RefSwitch") and o.inputs[0].name == o.inputs[1].name:
        return o.inputs[1]
    return None


def _is_loop_merge(merge) -> bool:
    return any(i.op.type in ("Enter", "RefEnter", "NextIteration", "RefNextIteration") for i in merge.inputs)


def _known_pred(view: GraphView, pred):
    """The predicate's value when known at conversion time, else None. Inside a while loop a tf.cond's predicate
    read from outside comes through a loop-invariant `Enter` (is_constant): its value is the one outside (a fed
    mode placeholder's)."""
    for _ in range(8):
        if pred is None or pred.op.type not in ("Identity", "Enter", "RefEnter") or not pred.op.inputs or \
                pred.op.type != "Identity" and not pred.op.get_attr("is_constant"):
            break
        pred = pred.op.inputs[0]
    if pred is None or not view.foldable(pred.op):
        return None
    return bool(np.asarray(view.fold(pred)))


def live_inputs(view: GraphView, merge) -> list:
    """The inputs of a tf.cond `Merge` that must be translated: the live branch's when the predicate is known at
    conversion time, else both and the predicate."""
    if _is_loop_merge(merge):
        return list(merge.inputs)
    branches = [branch_of(merge, i) for i in merge.inputs]
    # one predicate, whether a branch reaches it through `cond/pred_id` (a captured tensor's Switch) or directly
    # (the pivot `cond/Switch` a branch's constants hang on)
    preds = {_through_identity(p).name for p, _ in branches if p is not None}
    if len(preds) == 1:
        pred = _through_identity(next(p for p, _ in branches if p is not None))
        value = _known_pred(view, pred)
        if value is not None:
            live = [i for i, (_, k) in zip(merge.inputs, branches) if k == int(value)]
            if live:
                return live
        return list(merge.inputs) + [pred]
    return list(merge.inputs)


def _switch(c) -> list[Sym]:
    """`Switch(data, pred)`: output 0 carries data when pred is false, output 1 when true. A known predicate marks
    the other output dead; otherwise both carry the data (the `Merge` selects)."""
    data, pred = c.ins[0], c.ins[1]
    if pred.const is not None:
        on = bool(np.asarray(pred.const))
        dead = Sym(var=DEAD)
        return [dead, data] if on else [data, dead]
    return [data, data]


def _merge(c) -> list[Sym]:
    live = [(k, s) for k, s in enumerate(c.ins) if s.var != DEAD]
    if len(live) == 1:
        k, s = live[0]
        return [s, Sym(const=np.asarray(k, np.int32), shape=(), dtype="int32")]
    if not live:
        return [Sym(var=DEAD), Sym(var=DEAD)]
    if len(c.ins) != 2:
        raise Unsupported("a Merge of more than two branches (tf.case), not in this version")
    branches = [branch_of(c.op, i) for i in c.op.inputs]
    pred = branches[0][0]
    if pred is None or branches[0][1] is None or branches[1][1] is None or branches[0][1] == branches[1][1]:
        raise Unsupported("a Merge whose branches could not be told apart")
    then_k = 0 if branches[0][1] == 1 else 1
    p = c.syms.get(pred.name)
    if p is None:
        raise Unsupported("a tf.cond whose predicate was not translated")
    em = c.em
    index = em.emit(f"keras.ops.where({em.value(p)}, {then_k}, {1 - then_k})", c.op.name + "_index",
                    shape=(), dtype="int32", comment=f"Merge {c.op.name}: which branch")[0]
    value = c.out(f"keras.ops.where({em.value(p)}, {em.value(c.ins[then_k])}, {em.value(c.ins[1 - then_k])})",
                  n_out=1)[0]
    return [value, index]


# ------------------------------------------------------------------------------------------- TensorArrays
def _array_dynamic(c) -> bool:
    ta = tensor_array_op(c.op.inputs[0])
    return bool(ta is not None and ta.get_attr("dynamic_size"))


def _tensor_array(c) -> list[Sym]:
    """`TensorArrayV3(size)`: a handle and an array not yet written (its spec)."""
    o = c.op
    shape = o.get_attr("element_shape")
    dims = None if shape.unknown_rank else [None if d < 0 else int(d) for d in (x.size for x in shape.dim)]
    spec = {"name": o.name, "dtype": np.dtype(o.get_attr("dtype").as_numpy_dtype).name,
            "dynamic_size": bool(o.get_attr("dynamic_size")), "element_shape": dims, "size": c.ins[0]}
    return [Sym(var=HANDLE), Sym(array=spec)]


def _is_unstack_indices(c, i_indices: int, i_value: int) -> bool:
    """The indices of a scatter are 0 .. n-1 over the value's first axis (what `TensorArray.unstack` writes)."""
    s = c.ins[i_indices]
    n = c.ins[i_value].shape[0] if c.ins[i_value].shape else None
    if c.is_const(i_indices):
        idx = np.asarray(c.const(i_indices)).reshape(-1)
        return n is not None and np.array_equal(idx, np.arange(n))
    o = c.op.inputs[i_indices].op
    if o.type == "Range":
        v = c.graph
        start, delta = o.inputs[0], o.inputs[2]
        return v.foldable(start.op) and v.foldable(delta.op) and int(v.fold(start)) == 0 and int(v.fold(delta)) == 1
    del s
    return False


def _scatter(c) -> list[Sym]:
    flow = c.ins[3]
    if flow.array is None:
        raise Unsupported("a TensorArray scattered into after it was written")
    if not _is_unstack_indices(c, 1, 2):
        raise Unsupported("a TensorArray scatter at indices other than 0 .. n-1 (TensorArray.unstack)")
    v = c.ins[2]
    return [Sym(var=c.em.value(v), shape=v.shape, dtype=v.dtype)]


def _read(c) -> list[Sym]:
    flow = c.ins[2]
    if flow.array is not None:
        raise Unsupported("a TensorArray read before anything was written to it")
    return c.out(f"tfm.array_read({c.em.value(flow)}, {c.v(1)})")


def _write(c) -> list[Sym]:
    flow = c.ins[3]
    if flow.array is not None:
        raise Unsupported("a TensorArray written outside a while loop before anything else")
    fn = "array_append" if _array_dynamic(c) else "array_write"
    return c.out(f"tfm.{fn}({c.em.value(flow)}, {c.v(1)}, {c.v(2)})")


def _gather(c) -> list[Sym]:
    flow = c.ins[2]
    if flow.array is not None:
        raise Unsupported("a TensorArray gathered before anything was written to it")
    return c.out(f"tfm.array_gather({c.em.value(flow)}, {c.v(1)})")


def _size(c) -> list[Sym]:
    flow = c.ins[1]
    if flow.array is not None:
        size = flow.array["size"]
        return [size]
    return c.out(f"tfm.array_size({c.em.value(flow)})")


CONTROL_ENTRIES = {
    "Switch": _switch, "RefSwitch": _switch, "Merge": _merge, "RefMerge": _merge,
    "TensorArrayV3": _tensor_array, "TensorArrayScatterV3": _scatter, "TensorArrayReadV3": _read,
    "TensorArrayWriteV3": _write, "TensorArrayGatherV3": _gather, "TensorArraySizeV3": _size,
}


# ----------------------------------------------------------------------------------- the loop as a layer
class LoopEmitter(Emitter):
    """The emitter of one loop function: a variable the loop reads (or a large constant) is a parameter the
    `WhileLoop` layer fills from its weights; the registry is shared by the condition and the body."""

    def __init__(self, registry: dict, idents: set, top: Emitter | None = None):
        super().__init__()
        self._idents = idents
        self.registry = registry
        self.top = top            # the emitter of build_model(): module-level names, the loop functions

    def variable(self, tf_var: str, sym: Sym | None = None) -> Sym:
        reg = self.registry
        if tf_var not in reg["weights"]:
            value = reg["values"](tf_var)
            ident = self.new_ident(tf_var.rsplit("/", 1)[-1] if tf_var.count("/") == 0 else
                                   "_".join(tf_var.split("/")[-2:]))
            reg["weights"][tf_var] = {"ident": ident, "value": np.asarray(value), "trainable": True,
                                      "name": tf_var}
        w = reg["weights"][tf_var]
        return Sym(var=w["ident"], shape=tuple(w["value"].shape), dtype=str(w["value"].dtype))

    def constant_layer(self, sym: Sym) -> str:
        reg = self.registry
        key = ("constant", id(sym))
        if key not in reg["weights"]:
            c = np.asarray(sym.const)
            ident = self.new_ident("constant")
            reg["weights"][key] = {"ident": ident, "value": c, "trainable": False, "name": ident}
        return reg["weights"][key]["ident"]

    def shared_layer(self, key, tf_scope, ctor, weights, kind, comment):   # pragma: no cover - eager variables
        raise Unsupported("a layer made inside a loop function")


class WhileLoopProvider:
    """A while frame no recogniser took -> a `tfm.WhileLoop` layer running its translated condition and body."""

    kind = "while loop (generic)"

    def __init__(self, view: GraphView, frame: str, enters: list, why: str = NO_RECOGNISER):
        self.view, self.name = view, frame
        self.frame = LoopFrame(view, frame, enters)
        self.title = self.frame.title
        self.why = why
        inputs, self.var_init, self.array_size, self.invariants = [], {}, {}, []

        def add(t) -> int:
            for k, x in enumerate(inputs):
                if x.name == t.name:
                    return k
            inputs.append(t)
            return len(inputs) - 1

        for k, lv in enumerate(self.frame.vars):
            if lv.array is not None:
                self.array_size[k] = add(lv.array.inputs[0])
            else:
                self.var_init[k] = add(lv.enter.inputs[0])
        for e in self.frame.constants:
            src = e.inputs[0]
            if view.variable_of(e.outputs[0]) is not None or tensor_array_op(src) is not None and \
                    _through_identity(src).op.type == "TensorArrayV3" and _through_identity(src).value_index == 0:
                continue   # a weight of the layer / a TensorArray handle
            if view.foldable(src.op):
                continue   # a constant: written into the functions
            self.invariants.append((e, add(src)))
        self.inputs = inputs
        self.provides = [lv.exit.outputs[0].name for lv in self.frame.vars if lv.exit is not None]

    # -- what differs between a v1 frame and a functional While (migrate.graph.functional) ----------------
    def targets(self, e, kind: str) -> list:
        """The tensors of the condition's / body's graph that a value the loop reads (`e`) is seen as."""
        return [e.outputs[0]]

    def variable_read(self, e) -> str | None:
        """The TF variable a value the loop reads is, or None."""
        return self.view.variable_of(e.outputs[0])

    def walk_view(self, kind: str):
        """The graph the condition / body ops are read from (a v1 frame: the graph itself)."""
        return self.view

    def emit(self, em: Emitter, syms_in: list[Sym]) -> dict:
        from migrate.graph.translate import walk  # noqa: PLC0415 - translate imports this module lazily

        view, frame = self.view, self.frame
        inner = isinstance(em, LoopEmitter)      # a loop in the body of a loop: tfm.nested_loop of the outer layer
        top = em.top if inner else em
        idents: set = set(top._idents)
        registry = {"weights": {}, "values": em.variable_values, "nested": []}
        base = top.new_ident(frame.title.replace("/", "_"))
        top.new_ident(base + "_cond")
        top.new_ident(base + "_body")
        idents.add(base)
        params = [LoopEmitter(registry, idents).new_ident(_var_name(lv)) for lv in frame.vars]
        # values from outside known at conversion time (a static length) are written into the functions
        known = {e.outputs[0].name: _known(syms_in[k]) for e, k in self.invariants}
        invariants = [(e, k) for e, k in self.invariants if known[e.outputs[0].name] is None]
        inv_params = [LoopEmitter(registry, idents).new_ident(e.inputs[0].op.name) for e, _ in invariants]

        def seeds(kind: str) -> dict:
            s = {}
            for lv, p in zip(frame.vars, params):
                t = lv.merge.outputs[0] if kind == "cond" else lv.switch.outputs[1]
                s[t.name] = Sym(var=p, shape=static_shape(t), dtype=lv.dtype)
            for (e, _), p in zip(invariants, inv_params):
                for t in self.targets(e, kind):
                    s[t.name] = Sym(var=p, shape=static_shape(t), dtype=np_dtype(t))
            for e, _k in self.invariants:
                value = known[e.outputs[0].name]
                if value is not None:
                    for t in self.targets(e, kind):
                        s[t.name] = Sym(const=value, shape=value.shape, dtype=str(value.dtype))
            for e in frame.constants:
                t = e.outputs[0]
                if t.name in s or not hasattr(e, "get_attr"):
                    continue
                src = _through_identity(e.inputs[0])
                if src.op.type == "TensorArrayV3" and src.value_index == 0 or tensor_array_op(e.inputs[0]) is \
                        not None and e.outputs[0].dtype.name == "resource":
                    s[t.name] = Sym(var=HANDLE)
            return s

        functions = {}
        for kind, roots in (("cond", [frame.pred.name]),
                            ("body", [lv.next_value.name for lv in frame.vars])):
            fem = LoopEmitter(registry, idents, top)
            fem.variable_values = em.variable_values
            syms = seeds(kind)
            unsupported: list = []
            # a constant Enter of a variable read -> the weight; of a constant -> folded (the walk does both)
            for e in frame.constants:
                targets = [t for t in self.targets(e, kind) if t.name not in syms]
                var = self.variable_read(e)
                if var is not None:
                    for t in targets:
                        syms[t.name] = fem.variable(var)
                elif targets and view.foldable(e.inputs[0].op):
                    value = view.fold(e.inputs[0])
                    for t in targets:
                        syms[t.name] = Sym(const=value, shape=value.shape, dtype=str(value.dtype))
            wview = self.walk_view(kind)
            nested = generic_loops(wview, roots, {}, why=self.why, stop=set(syms))   # loops in this loop
            walk(wview, fem, roots, syms, nested, unsupported, eager_variables=True)
            if unsupported:
                raise Unsupported(stopped_at(view, "condition" if kind == "cond" else "body", frame.title,
                                             unsupported))
            results = [syms[r] for r in roots]
            for r in results:
                if r.var == DEAD or r.array is not None:
                    raise Unsupported(f"{kind} of {frame.name}: a result that is not a tensor")
            functions[kind] = (fem, results)

        weights = list(registry["weights"].values())
        signature = params + inv_params + [w["ident"] for w in weights]
        sources = {}
        for kind, (fem, results) in functions.items():
            ret = ", ".join(fem.value(r) for r in results)
            if kind == "body":
                ret = f"({ret},)" if len(results) == 1 else f"({ret})"
            what = "condition" if kind == "cond" else "body"
            doc = (f"The {what} of the TF1 while loop {frame.title}, op by op (translated generically: "
                   f"{self.why}). Parameters: the loop variables, the values the loop reads, its weights.")
            lines = [f"def {base}_{kind}({', '.join(signature)}):", f'    """{source_text(doc)}"""']
            lines += [f"    {line}" for line in fem.lines]
            lines.append(f"    return {ret}")
            sources[kind] = "\n".join(lines) + "\n"
        top.functions.extend([sources["cond"], sources["body"]])

        # the layer's config: loop vars, arrays, invariants, weights, outputs (all data)
        loop_vars, arrays, args = [], [], []
        arg_of: dict[int, int] = {}

        def arg(k: int) -> int:
            if k not in arg_of:
                arg_of[k] = len(args)
                args.append(em.value(syms_in[k]))
            return arg_of[k]

        for k, lv in enumerate(frame.vars):
            if lv.array is not None:
                size = syms_in[self.array_size[k]]
                spec = {"name": lv.array.name, "dtype": lv.dtype,
                        "dynamic_size": bool(lv.array.get_attr("dynamic_size")),
                        "element_shape": _element_shape(lv.array)}
                if _known(size) is not None:
                    spec["size_value"] = int(_known(size))
                else:
                    spec["size"] = arg(self.array_size[k])
                arrays.append(spec)
                loop_vars.append({"name": _var_name(lv), "kind": "array", "array": len(arrays) - 1})
            else:
                init = syms_in[self.var_init[k]]
                if init.array is not None:
                    raise Unsupported(f"loop variable {lv.enter.name} of {frame.name}: a TensorArray this version "
                                      f"cannot follow")
                if _known(init) is not None and _known(init).size <= 64:
                    loop_vars.append({"name": _var_name(lv), "kind": "tensor", "dtype": lv.dtype,
                                      "value": _known(init).tolist()})
                else:
                    loop_vars.append({"name": _var_name(lv), "kind": "tensor", "init": arg(self.var_init[k])})
        inv_spec = [{"kind": "input", "arg": arg(k)} for _, k in invariants]
        if inner:   # the outer loop's weights (its function's parameters) come in as inputs
            for w in weights:
                outer = em.variable(w["name"]).var if w["trainable"] else \
                    em.constant_layer(Sym(const=w["value"], shape=w["value"].shape, dtype=str(w["value"].dtype)))
                args.append(outer)
                inv_spec.append({"kind": "input", "arg": len(args) - 1})
        else:
            inv_spec += [{"kind": "weight", "weight": i} for i in range(len(weights))]
        weights_spec = [{"name": _weight_name(w["name"]), "shape": list(w["value"].shape),
                         "dtype": str(w["value"].dtype), "trainable": w["trainable"]} for w in weights]
        provided = [lv for lv in frame.vars if lv.exit is not None]
        outputs = [{"kind": "var", "var": frame.vars.index(lv), **_static(lv, loop_vars[frame.vars.index(lv)],
                                                                         arrays)} for lv in provided]
        if inner:
            spec = {"cond": _FunctionName(f"{base}_cond"), "body": _FunctionName(f"{base}_body"),
                    "loop_vars": loop_vars, "arrays": arrays, "invariants": inv_spec, "outputs": outputs,
                    **({"nested": registry["nested"]} if registry["nested"] else {})}
            em.registry["nested"].append(spec)
            k = len(em.registry["nested"]) - 1
            em.constructs["nested while loop -> tfm.nested_loop (generic)"] += 1
            names = [em.new_ident(_var_name(lv) + "_final") for lv in provided]
            call = f"tfm.nested_loop({k}, [{', '.join(args)}])"
            em.line(f"{', '.join(names)}, = {call}" if len(names) == 1 else f"{', '.join(names)} = {call}",
                    f"TF1 while loop {frame.title}, nested: translated generically ({self.why})")
            return {lv.exit.outputs[0].name: Sym(var=n, shape=static_shape(lv.exit.outputs[0]), dtype=lv.dtype)
                    for lv, n in zip(provided, names)}
        if not args:
            args.append(em.anchor)   # a functional layer needs an input: any model tensor (unused)
        lname = em.layer_name(frame.title)
        layer = em.new_ident(base + "_layer")
        em.line(f"{layer} = tfm.WhileLoop(cond={base}_cond, body={base}_body, loop_vars={py_literal(loop_vars)}, "
                f"arrays={py_literal(arrays)}, invariants={py_literal(inv_spec)}, "
                f"weights_spec={py_literal(weights_spec)}, outputs={py_literal(outputs)}"
                + (f", nested={_spec_source(registry['nested'])}" if registry["nested"] else "") + f", name={lname!r})",
                f"TF1 while loop {frame.title}: translated generically ({self.why})")
        em.weights[lname] = [w["value"] for w in weights]
        em.constructs["while loop -> tfm.WhileLoop (generic)"] += 1
        names = [em.new_ident(_var_name(lv) + "_final") for lv in provided]
        em.line(f"{', '.join(names)}, = {layer}([{', '.join(args)}])" if len(names) == 1 else
                f"{', '.join(names)} = {layer}([{', '.join(args)}])", f"the Exit values of {frame.title}")
        got = {}
        for lv, n in zip(provided, names):
            t = lv.exit.outputs[0]
            got[t.name] = Sym(var=n, shape=static_shape(t), dtype=lv.dtype)
        return got


class _FunctionName(str):
    """A loop function named in a nested loop's spec: written as the bare name in model.py."""


def _spec_source(value) -> str:
    """A nested loops' spec as source: `py_literal`, with the loop functions as their names."""

    if isinstance(value, _FunctionName):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(str(k))}: {_spec_source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_spec_source(v) for v in value) + "]"
    return py_literal(value)


def _static(lv, spec: dict, arrays: list) -> dict:
    """`{"shape": [...]}`: what TF1 knew of a loop variable's final shape (None = unknown), for the layer to keep
    (the loop itself only keeps ranks): a tensor's Exit shape; an array's size and written element's shape."""
    if spec["kind"] == "array":
        write = lv.next_value.op
        if write.type not in ("TensorArrayWriteV3", "TensorListSetItem") or write.inputs[2].shape.rank is None:
            return {}
        array = arrays[spec["array"]]
        size = None if array.get("dynamic_size") else array.get("size_value")   # a growing array: unknown
        return {"shape": [size, *static_shape(write.inputs[2])]}
    shape = static_shape(lv.exit.outputs[0])
    return {} if shape is None or all(d is None for d in shape) else {"shape": list(shape)}


def np_dtype(t) -> str:
    """A tensor's numpy dtype name; a TensorList / TensorArray value (variant) is its buffer, float32 here."""
    try:
        return np.dtype(t.dtype.base_dtype.as_numpy_dtype).name
    except (KeyError, TypeError):
        return "float32"


def _var_name(lv: LoopVar) -> str:
    """A loop variable's name: its initial value's op (`rnn/time` -> time; `rnn/TensorArray` -> TensorArray)."""
    return _through_identity(lv.enter.inputs[0]).op.name.rsplit("/", 1)[-1]


def _known(sym: Sym):
    """A Sym's value when known at conversion time (a folded constant, or shape entries all known), else None."""
    if sym.const is not None:
        return np.asarray(sym.const)
    if sym.parts is not None and all(isinstance(p, (int, np.integer)) for p in sym.parts):
        return np.asarray(sym.parts, dtype=sym.dtype if sym.dtype.startswith("int") else "int32").reshape(
            sym.shape if sym.shape is not None else (len(sym.parts),))
    return None


def _weight_name(name: str) -> str:
    return name.replace("/", "__").replace(":", "_")


def static_shape(t):
    return None if t.shape.rank is None else tuple(t.shape.as_list())


def _element_shape(ta_op):
    if hasattr(ta_op, "element_dims"):   # a TensorList (migrate.graph.functional)
        return ta_op.element_dims
    shape = ta_op.get_attr("element_shape")
    if shape.unknown_rank:
        return None
    return [None if x.size < 0 else int(x.size) for x in shape.dim]


__all__ = ["CONTROL_ENTRIES", "WhileLoopProvider", "generic_loops", "live_inputs", "why_not_recognised"]

from migrate.graph import functional  # noqa: E402,F401 - registers the control-flow-v2 entries (If, TensorList)
