"""Recognition from the `.meta` graph: how each variable is USED, whatever it is called.

`read_graph(meta_path)` parses the MetaGraphDef from the file's bytes (nothing is imported into a session) and
returns `GraphFacts`, which `recognise(variables, graph=...)` combines with the name tables. The rules:

| fact                          | how the graph shows it                                                                 |
|-------------------------------|----------------------------------------------------------------------------------------|
| embedding                     | the variable is input 0 (params) of a Gather / GatherV2 / ResourceGather               |
| dense layer                   | the variable feeds a MatMul (directly or via Tensordot's Reshape / Transpose) whose     |
|                               | output feeds a BiasAdd / Add reading a second variable (the bias)                       |
| cell in a while loop          | the variable is read through an `Enter` op whose `frame_name` is the loop (gradient     |
|                               | loops excluded); static_rnn cells have none                                             |
| fw / bw sharing one cell      | one kernel read in two loops, one under an `fw` scope, one under `bw`                   |
| encoder -> decoder            | data flows from loop A's `Exit` ops into loop B's `Enter` ops (final state -> initial   |
|                               | state, or outputs -> attention memory) without passing Shape-like ops or the input      |
|                               | TensorArray scatter (stacked layers feed inputs, not states); static graphs: from one   |
|                               | run scope's MatMuls to another's                                                        |
| forget bias (LSTM)            | a scalar Const added to output 2 of the 4-way Split fed by the kernel's MatMul + bias   |
|                               | (LSTMCell / BasicLSTMCell), or the `forget_bias` attr of the LSTMBlockCell / BlockLSTM   |
|                               | op reading the kernel (contrib); one per time step in static_rnn graphs                 |
| fused layout                  | the kernel is an input of an LSTMBlockCell / BlockLSTM / GRUBlockCell op                |
| part of a loop's cell         | the variable, read inside a while loop, reaches that loop's `NextIteration` along a     |
|                               | path of values (not through an ArgMax / comparison / int Cast, a TensorArray write or   |
|                               | an `Exit`): the recurrence reads it, whatever its cell (BasicRNNCell, peepholes, custom)|

Variables may be `VariableV2` / `Variable` (read through `<name>/read` Identity ops) or resource variables
(`VarHandleOp` read by `ReadVariableOp`), in TF 1.0-1.15 graphs.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from migrate.checkpoint import cell_layouts
from migrate.checkpoint import tables as T
from migrate.checkpoint.reader import CheckpointError

VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
PASS_THROUGH = ("Identity", "RefIdentity", "Enter", "RefEnter", "ReadVariableOp", "Snapshot")
GATHER_OPS = ("Gather", "GatherV2", "ResourceGather")
MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2")
CONV_OPS = ("Conv2D", "Conv1D", "Conv3D", "DepthwiseConv2dNative")
RESHAPE_OPS = ("Reshape", "Transpose")
ADD_OPS = ("Add", "AddV2", "BiasAdd")
SPLIT_OPS = {"Split": 1, "SplitV": 0}      # op -> index of its `value` input
FORGET_OUTPUT = cell_layouts.get("lstm").tf1_gates.index("f")     # 2: i, j, f, o
# Data that says nothing about which RNN feeds which: shapes, and the input TensorArray of the next layer.
NOT_DATAFLOW = ("Shape", "ShapeN", "Size", "Rank", "TensorArrayScatterV3", "TensorArrayScatterV2",
                "TensorArrayScatter", "TensorArrayUnpack", "TensorArraySizeV3", "NoOp")
# Ops whose result carries no value of a float input into a loop's state: ids and flags (a greedy decoder's ArgMax
# feeds the next step an embedding row, not the projection), outputs collected for after the loop, the loop's end.
NOT_RECURRENCE = NOT_DATAFLOW + ("LogSoftmax",   # a beam search's scores: its output layer is no cell weight
                                  "ArgMax", "ArgMin", "Equal", "NotEqual", "Less", "LessEqual", "Greater",
                                 "GreaterEqual", "IsNan", "IsFinite", "IsInf", "InTopK", "InTopKV2", "Multinomial",
                                 "TensorArrayWriteV3", "TensorArrayWriteV2", "TensorArrayWrite",
                                 "TensorArrayScatterV3", "TensorArrayPack", "StackPushV2", "StackPush", "Exit",
                                 "RefExit", "Assert", "Print", "PrintV2")
NEXT_ITERATION = ("NextIteration", "RefNextIteration")
_INT_DTYPES = frozenset({3, 4, 5, 6, 9, 10, 17, 22, 23})   # int32, uint8, int16, int8, int64, bool, uint16, 32, 64
_RECURRENCE_WALK = 20000    # nodes followed per variable (a loop body is far smaller)


@dataclass
class GraphFacts:
    """What the `.meta` graph says about the variables (graph node name = checkpoint name)."""

    meta_path: str
    tf_version: str
    variables: set[str] = field(default_factory=set)
    gathered: set[str] = field(default_factory=set)               # embeddings
    dense: dict[str, str | None] = field(default_factory=dict)    # kernel -> bias (None: no bias add)
    conv: set[str] = field(default_factory=set)                   # read by Conv2D (legacy attention AttnW_N)
    conv_bias: dict[str, str] = field(default_factory=dict)       # bias -> the conv kernel it is added to
    frames: dict[str, list[str]] = field(default_factory=dict)    # variable -> forward while frames reading it
    downstream: dict[str, set[str]] = field(default_factory=dict)  # run (frame or static scope) -> runs it feeds
    fused_layout: dict[str, str] = field(default_factory=dict)    # kernel -> layout name (lstm_block, gru_block)
    forget_bias: dict[str, dict[float, list[str]]] = field(default_factory=dict)   # kernel -> {value: [nodes]}
    static_runs: dict[str, set[str]] = field(default_factory=dict)  # kernel -> names of MatMul/fused nodes
    gather_nodes: dict[str, list[str]] = field(default_factory=dict)  # embedding -> its Gather nodes
    embedding_runs: dict[str, set[str]] = field(default_factory=dict)  # embedding -> runs its lookups feed
    recurrent: dict[str, list[str]] = field(default_factory=dict)  # variable -> loops whose recurrence reads it
    loop_names: dict[str, str] = field(default_factory=dict)       # while frame -> the name scope of its ops
    beam_loops: dict[str, int | None] = field(default_factory=dict)  # BeamSearchDecoder loop scope -> beam width

    def direction(self, frame: str) -> str | None:
        comps = frame.split("/")
        for d in ("fw", "bw"):
            if d in comps:
                return d
        return None


def _src(inp: str) -> tuple[str, int] | None:
    if inp.startswith("^"):
        return None
    parts = inp.split(":")
    return parts[0], int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 0


def _is_training(name: str) -> bool:
    return T.is_gradient(name)


def _frame_prefix(frame: str) -> str:
    """`encoder/rnn/while/while_context` -> `encoder/rnn/while` (the name scope of the loop's nodes)."""
    return frame[: -len("while_context")].rstrip("/") if frame.endswith("while_context") else frame.rstrip("/")


def load_meta(meta_path: str):
    from tensorflow.core.protobuf import meta_graph_pb2  # noqa: PLC0415

    meta = meta_graph_pb2.MetaGraphDef()
    try:
        with open(meta_path, "rb") as f:
            meta.ParseFromString(f.read())
    except Exception as e:  # noqa: BLE001  (protobuf raises DecodeError, files OSError)
        raise CheckpointError(f"{meta_path}: not a readable MetaGraphDef ({type(e).__name__}: {e}); remove it or "
                              f"rename it so the checkpoint is read by names only.") from None
    return meta


def read_graph(meta_path: str, checkpoint_names: set[str] | None = None) -> GraphFacts:
    """Parse the MetaGraphDef at `meta_path` and collect `GraphFacts` (see the module doc)."""
    from migrate._internals import make_ndarray  # noqa: PLC0415

    meta = load_meta(meta_path)
    nodes = {n.name: n for n in meta.graph_def.node}
    facts = GraphFacts(meta_path, meta.meta_info_def.tensorflow_version or "unknown")
    consumers: dict[str, list[tuple[object, int, int]]] = defaultdict(list)   # src -> (node, input idx, src out)
    for n in nodes.values():
        for i, inp in enumerate(n.input):
            s = _src(inp)
            if s is not None:
                consumers[s[0]].append((n, i, s[1]))

    def uses(var: str) -> tuple[list[tuple[object, int]], set[str]]:
        """Non-pass-through (consumer, input index) of the variable's value, and the while frames it enters."""
        out, frames, seen, todo = [], set(), {var}, deque([var])
        while todo:
            cur = todo.popleft()
            for n, i, _ in consumers.get(cur, ()):
                if _is_training(n.name) or n.name in seen:
                    continue
                if n.op in PASS_THROUGH:
                    if n.op in ("Enter", "RefEnter"):
                        frames.add(n.attr["frame_name"].s.decode())
                    seen.add(n.name)
                    todo.append(n.name)
                else:
                    out.append((n, i))
        return out, frames

    def through_reshape(n, i) -> list[tuple[object, int]]:
        """Follow Reshape / Transpose (Tensordot) forward to the ops that consume the reshaped value."""
        if n.op not in RESHAPE_OPS or i != 0:
            return [(n, i)]
        return [x for c, ci, _ in consumers.get(n.name, ()) for x in through_reshape(c, ci)]

    def matmul_adds(mm) -> list:
        out, todo = [], [mm.name]
        while todo:
            cur = todo.pop()
            for c, _, _ in consumers.get(cur, ()):
                if c.op in ADD_OPS:
                    out.append(c)
                elif c.op in RESHAPE_OPS:
                    todo.append(c.name)
        return out

    var_names = {n.name for n in nodes.values() if n.op in VARIABLE_OPS}
    if checkpoint_names is not None:
        var_names &= checkpoint_names
    facts.variables = var_names
    var_uses = {}
    for v in sorted(var_names):
        u, frames = uses(v)
        var_uses[v] = u
        facts.frames[v] = sorted(f for f in frames if not _is_training(f))
    value_of: dict[str, str] = {}     # node name whose output IS a variable's value (read/Enter chain) -> var
    for v in var_names:
        todo = deque([v])
        while todo:
            cur = todo.popleft()
            value_of[cur] = v
            for c, _, _ in consumers.get(cur, ()):
                if c.op in PASS_THROUGH and c.name not in value_of and not _is_training(c.name):
                    todo.append(c.name)

    def const_scalar(name: str) -> float | None:
        n = nodes.get(name)
        while n is not None and n.op in ("Identity", "Enter"):
            s = _src(n.input[0])
            n = nodes.get(s[0]) if s else None
        if n is None or n.op != "Const":
            return None
        try:
            arr = make_ndarray(n.attr["value"].tensor)
            return float(arr.reshape(())) if arr.size == 1 else None
        except (ValueError, TypeError):   # a damaged constant (its values do not fit its shape / dtype): no bias
            return None

    for v, u in var_uses.items():
        for n, i in u:
            if n.op in GATHER_OPS and i == 0:
                facts.gathered.add(v)
                facts.gather_nodes.setdefault(v, []).append(n.name)
            if n.op in CONV_OPS and i == 1:
                facts.conv.add(v)
                for add in matmul_adds(n):
                    for inp in add.input[:2]:
                        src = _src(inp)
                        if src and src[0] in value_of and value_of[src[0]] != v:
                            facts.conv_bias[value_of[src[0]]] = v
            lay = cell_layouts.by_graph_op(n.op)
            if lay is not None:
                facts.fused_layout[v] = lay.name
                facts.static_runs.setdefault(v, set()).add(n.name)
                if "forget_bias" in n.attr:
                    fb = _as_written(float(n.attr["forget_bias"].f))
                    facts.forget_bias.setdefault(v, {}).setdefault(fb, []).append(f"{n.name} attr forget_bias")
            for mm, mi in through_reshape(n, i):
                if mm.op not in MATMUL_OPS or mi not in (0, 1):
                    continue
                facts.static_runs.setdefault(v, set()).add(mm.name)
                bias = None
                for add in matmul_adds(mm):
                    for inp in add.input[:2]:
                        s = _src(inp)
                        if s and s[0] in value_of and value_of[s[0]] != v:
                            bias = value_of[s[0]]
                    for sp, si, _ in consumers.get(add.name, ()):
                        if sp.op in SPLIT_OPS and si == SPLIT_OPS[sp.op] and _num_split(sp) == 4:
                            for f_add, fi, out_idx in consumers.get(sp.name, ()):
                                if out_idx != FORGET_OUTPUT or f_add.op not in ("Add", "AddV2"):
                                    continue
                                other = _src(f_add.input[1 - fi]) if fi in (0, 1) else None
                                val = const_scalar(other[0]) if other else None
                                if val is not None:
                                    facts.forget_bias.setdefault(v, {}).setdefault(
                                        _as_written(val), []).append(f"{f_add.name}")
                if v not in facts.dense or facts.dense[v] is None:
                    facts.dense[v] = bias

    _recurrence(facts, nodes, consumers, value_of)
    _dataflow(facts, nodes, consumers)
    for scope in set(facts.loop_names.values()):   # contrib's beam step: a TopKV2 over the beams' scores
        for n in nodes.values():
            if n.op == "TopKV2" and n.name.startswith(scope + "/") and not _is_training(n.name):
                k = _src(n.input[1]) if len(n.input) > 1 else None
                width = const_scalar(k[0]) if k else None
                facts.beam_loops[scope] = None if width is None else int(width)
    return facts


def _loop_names(nodes: dict) -> dict[str, str]:
    """while frame -> its loop's name scope (`rnn/while`): the shortest scope of its forward `Enter` ops (the frame
    name is `rnn/while/while_context` from TF 1.3-ish, `rnn/while/rnn/while/` before; `tf.gradients` adds Enters
    named `gradients/f_count_1` to the forward frame)."""
    out: dict[str, str] = {}
    for n in nodes.values():
        if n.op in ("Enter", "RefEnter") and not _is_training(n.name):   # not the backward pass's counters
            f = n.attr["frame_name"].s.decode("utf-8", "replace")
            parent = n.name.rpartition("/")[0]
            if f not in out or len(parent) < len(out[f]):
                out[f] = parent
    return out


def _recurrence(facts: GraphFacts, nodes: dict, consumers: dict, value_of: dict[str, str]) -> None:
    """Fill `facts.recurrent`: each variable read inside a (forward) while loop whose value reaches one of the loop's
    `NextIteration` ops along values (`NOT_RECURRENCE` and int / bool casts stop the walk): a weight of the loop's
    cell, whichever cell it is, never a dense layer applied to the loop's outputs."""
    facts.loop_names = _loop_names(nodes)
    reads: dict[str, list[str]] = defaultdict(list)     # variable -> its value's nodes (read, Enter chain)
    for node, var in value_of.items():
        reads[var].append(node)
    for v, frames in facts.frames.items():
        if not frames:
            continue
        start = reads.get(v, [])
        seen, todo, hit = set(start), deque(start), False
        while todo and not hit and len(seen) < _RECURRENCE_WALK:
            cur = todo.popleft()
            for c, _, _ in consumers.get(cur, ()):
                if c.name in seen or _is_training(c.name) or c.op in NOT_RECURRENCE:
                    continue
                if c.op == "Cast" and c.attr["DstT"].type in _INT_DTYPES:
                    continue
                if c.op in NEXT_ITERATION:
                    hit = True
                    break
                seen.add(c.name)
                todo.append(c.name)
        if hit:
            facts.recurrent[v] = [facts.loop_names.get(f, _frame_prefix(f)) for f in frames]


def _num_split(n) -> int:
    return int(n.attr["num_split"].i)


def _as_written(x: float) -> float:
    return float(f"{x:.7g}")


def _dataflow(facts: GraphFacts, nodes: dict, consumers: dict) -> None:
    """Fill `facts.downstream`: which run (while frame, or static run scope) feeds which."""
    frames = sorted({f for fs in facts.frames.values() for f in fs})
    enters: dict[str, str] = {}      # Enter node -> frame
    for n in nodes.values():
        if n.op in ("Enter", "RefEnter"):
            enters[n.name] = n.attr["frame_name"].s.decode()
    # A loop's nodes live in one name scope: the scope of its loop-variable Enter ops (`rnn/while/Enter_1`).
    scope_of = facts.loop_names
    starts: dict[str, list[str]] = {}
    for f in frames:
        prefix = scope_of.get(f, _frame_prefix(f)) + "/"
        starts[f] = [n.name for n in nodes.values() if n.op in ("Exit", "RefExit") and n.name.startswith(prefix)
                     and "/" not in n.name[len(prefix):]]
    static = {v: runs for v, runs in facts.static_runs.items() if not facts.frames.get(v)}
    static_run_of: dict[str, str] = {}   # MatMul node -> static run id
    cell_runs: set[str] = set()          # the static runs of cells (not of dense layers such as a decoder's input Linear)
    for v, runs in static.items():
        rid = "static:" + static_run_scope(v)
        if is_cell_variable(v):
            cell_runs.add(rid)
        starts.setdefault(rid, []).extend(sorted(runs))
        for r in runs:
            static_run_of[r] = rid
    for run, start in starts.items():
        seen, todo, hit = set(start), deque(start), set()
        while todo:
            cur = todo.popleft()
            for c, _, _ in consumers.get(cur, ()):
                if c.name in seen or c.op in NOT_DATAFLOW or _is_training(c.name):
                    continue
                seen.add(c.name)
                if c.name in enters and enters[c.name] != run and not _is_training(enters[c.name]) \
                        and enters[c.name] in starts:
                    hit.add(enters[c.name])
                if c.name in static_run_of and static_run_of[c.name] != run:
                    hit.add(static_run_of[c.name])
                todo.append(c.name)
        facts.downstream[run] = hit
    # Which run each embedding's lookups feed: forward from its Gather ops to the first loop Enter or static MatMul
    # (the input TensorArray is followed here: it is how a lookup reaches its own RNN).
    for v, gathers in facts.gather_nodes.items():
        runs = {f for f in facts.frames.get(v, []) if f in starts}     # looked up inside a loop (greedy decoding)
        seen, todo = set(gathers), deque(gathers)
        while todo:
            cur = todo.popleft()
            for c, _, _ in consumers.get(cur, ()):
                if c.name in seen or c.op in ("Shape", "ShapeN", "Size", "Rank") or _is_training(c.name):
                    continue
                seen.add(c.name)
                if c.name in enters and enters[c.name] in starts:
                    runs.add(enters[c.name])
                    continue
                if static_run_of.get(c.name) in cell_runs:     # the first cell it reaches; a dense layer on the
                    runs.add(static_run_of[c.name])             # way (legacy_seq2seq's input Linear) is passed
                    continue
                todo.append(c.name)
        facts.embedding_runs[v] = runs


def is_cell_variable(var: str) -> bool:
    """`var` is a member of a registered cell layout under one of its scopes (`.../basic_lstm_cell/kernel`,
    `.../BasicLSTMCell/Linear/Matrix`, `.../gru_cell/gates/kernel`)."""
    for lay in cell_layouts.REGISTRY.values():
        for member in lay.member_table():
            head, sep, _ = var.rpartition("/" + member) if var.endswith("/" + member) else ("", "", "")
            if sep and head.rpartition("/")[2] in lay.scopes:
                return True
    return False


def static_run_scope(var: str) -> str:
    """The scope one static RNN run's cells share: `a/rnn/multi_rnn_cell/cell_1/lstm_cell/kernel` -> `a/rnn`."""
    comps = var.split("/")
    scopes = cell_layouts.scope_layouts()
    cut = len(comps) - 1
    for i, c in enumerate(comps[:-1]):
        if c in scopes or c in T.MULTI_RNN_SCOPES or any(c in d for d in T.BIDIRECTIONAL_SCOPES.values()):
            cut = i
            break
    return "/".join(comps[:cut])


def _kernel_of(g) -> str | None:
    return g.variables.get("kernel") or g.variables.get("gates_kernel")


def _function_forget_biases(facts: GraphFacts, cells: list) -> None:
    """Forget-bias constants inside functional while loops (control flow v2: graphs built by TF 2.x code in
    `tf.compat.v1` style), where a loop body's nodes are named relative to the loop and read variables
    through anonymous arguments. A constant belongs to the one cell whose scope ends with the node's scope
    (`encoder/multi_rnn_cell/cell_0/lstm_cell/add` -> `my_model/encoder/multi_rnn_cell/cell_0/lstm_cell`)."""
    from migrate.checkpoint.forget_bias import forget_biases_from_meta  # noqa: PLC0415

    missing = [g for g in cells if g.cell_layout.folds_forget_bias and _kernel_of(g)
               and not facts.forget_bias.get(_kernel_of(g))]
    if not missing:
        return
    for node, value in forget_biases_from_meta(facts.meta_path).items():
        scope = node.rsplit("/", 1)[0]
        owners = [g for g in missing if g.scope == scope or g.scope.endswith("/" + scope)]
        if len(owners) == 1:
            facts.forget_bias.setdefault(_kernel_of(owners[0]), {}).setdefault(value, []).append(
                f"{node} (in a while-loop function)")


def apply_graph(rec, cells: list, facts: GraphFacts) -> None:
    """Refine recognised cell groups with the graph: layout, directions (shared fw/bw), role, forget bias."""
    _function_forget_biases(facts, cells)
    runs_of: dict[str, list[str]] = {}
    for g in cells:
        k = _kernel_of(g)
        if k is None:
            continue
        frames = facts.frames.get(k, [])
        g.frames = list(frames)
        runs_of[g.scope] = frames or ["static:" + static_run_scope(k)]
        fused = facts.fused_layout.get(k)
        if fused and fused != g.layout:
            lay = cell_layouts.get(fused)
            g.layout, g.family = lay.name, lay.family
            g.tf1_class = lay.tf1_classes[0] + " (graph: its op)"
        dirs = sorted({d for d in (facts.direction(f) for f in frames) if d})
        if len(frames) >= 2 and len(dirs) == 2:
            g.directions = dirs
            g.direction = g.direction or dirs[0]
            rec.shared_cells.append(g.scope)
        elif len(dirs) == 1 and g.direction is None:
            g.direction = dirs[0]
        if g.cell_layout.folds_forget_bias:
            found = facts.forget_bias.get(k, {})
            if len(found) == 1:
                (value, where), = found.items()
                extra = f" and {len(where) - 1} more" if len(where) > 1 else ""
                g.forget_bias = {"value": value, "source": f"meta graph ({facts.meta_path}: {where[0]}{extra})"}
            elif len(found) > 1:
                shown = ", ".join(f"{v} at {w[0]}" for v, w in sorted(found.items()))
                g.problems.append(f"{g.scope}: the graph adds different forget biases to this one cell ({shown})")
    cell_runs = {r for rs in runs_of.values() for r in rs}
    role_of_run: dict[str, set[str]] = {}
    for g in cells:
        runs = set(runs_of.get(g.scope, ()))
        if not runs:
            continue
        feeds = {r for run in runs for r in facts.downstream.get(run, ())} & cell_runs - runs
        fed_by = {r for r in cell_runs - runs if runs & facts.downstream.get(r, set())}
        if feeds and not fed_by:
            role, why = "encoder", f"graph: its loop feeds {', '.join(sorted(feeds))} (final state or attention memory)"
        elif fed_by and not feeds:
            role, why = "decoder", f"graph: fed by {', '.join(sorted(fed_by))} (state or attention memory)"
        else:
            continue
        if g.role and g.role != role:
            why += f"; its name says {g.role}"
        g.role, g.role_source = role, why
    for g in cells:
        for r in runs_of.get(g.scope, ()):
            if g.role:
                role_of_run.setdefault(r, set()).add(g.role)
    for e in rec.embeddings:
        roles = {x for r in facts.embedding_runs.get(e.name, ()) for x in role_of_run.get(r, ())}
        if roles == {"encoder"}:
            e.role = "source"
        elif roles == {"decoder"}:
            e.role = "target"
        elif roles == {"encoder", "decoder"}:
            e.role = "shared"
