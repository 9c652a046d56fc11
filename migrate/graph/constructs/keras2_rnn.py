"""Keras 2 (standalone `keras` 2.0 - 2.2 and `tf.keras` in TF 1.x) `LSTM` / `GRU` / `SimpleRNN` layers in a TF1
graph -> one `tfm.LSTM` / `GRU` / `SimpleRNN` each.

Keras 2's TensorFlow backend wrote a recurrent layer as `K.rnn`: a control-flow-v1 while frame (`lstm_1/while`)
over TensorArrays, its input `TensorArray.unstack(transpose(x, [1, 0, 2]))` (`reverse(..., 0)` before it for
`go_backwards`; a bool mask unstacked beside it, each step's output and states `tf.where(mask_t, new, previous)`),
its outputs `transpose(output_ta.stack(), [1, 0, 2])` and `output_ta.read(time - 1)` (the last output), its final
states the `Exit`s of the state loop variables. The step is the cell's own `call`: no `concat([x, h])` but
separate products on per-gate column slices of the layer's three weights `kernel`, `recurrent_kernel`, `bias`
(sliced once in `build`, implementation 1; or the step's one product `x @ kernel + h @ recurrent_kernel + bias`
sliced per gate, implementation 2; tf.keras `split`s instead of slicing; Keras 2.0's implementation 0 projects
the whole input before the loop, `_time_distributed_dense`, and the step slices the projected input). Gate order i, f, c, o (LSTM),
z, r, h (GRU, `reset_after` False in Keras 2.2, `bias` `[2, 3 * units]` with `reset_after=True`), the recurrent
activation `hard_sigmoid` (Keras 2's `clip_by_value(0.2 * x + 0.5, 0, 1)`, which Keras 3 defines differently:
`recurrent_activation='keras2_hard_sigmoid'`, `tfm.keras2_hard_sigmoid`, keeps it exact) or `sigmoid`.

Matched by values, not by op names: each gate's pre-activation is read as a sum of products of the step input or
the previous state with a weight tensor (a variable's slice, split or reshape, computed at conversion time) plus
bias vectors, so the Keras 3 weights are the gate blocks put together in Keras 3's order (which is Keras 2's).
`Bidirectional` is the two layers it wrote (`forward_lstm_1`, `backward_lstm_1` with `go_backwards=True`) and its
merge (`reverse(y_rev, 1)` then concat / sum / mul / ave) translated op by op after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from migrate.graph.constructs.base import Construct
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import PASS, Provider, const_ints, const_scalar, consumers, frame_ops, loop_var_of
from migrate.graph.meta import GraphView, is_gradient
from migrate.graph.rnn import ACTIVATIONS

# Keras 2's `hard_sigmoid`: `clip_by_value(0.2 * x + 0.5, 0, 1)` -> the registered runtime function
HARD_SIGMOID = "'keras2_hard_sigmoid'"   # a name the runtime layers take (tfm.LSTM(recurrent_activation=...))
KERAS_LAYERS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}
GATES = {"lstm": ("i", "f", "c", "o"), "gru": ("z", "r", "h"), "simple_rnn": ("h",)}
_ADD = ("Add", "AddV2", "BiasAdd")
CELL_SCOPES = ("lstm_cell", "gru_cell", "simple_rnn_cell")   # tf.keras 2.x's cell scope inside the layer's
_WEIGHT_OPS = ("Identity", "Enter", "StridedSlice", "Split", "SplitV", "Unpack", "Reshape", "Squeeze", "Const",
               "VariableV2", "VarHandleOp", "ReadVariableOp", "Snapshot")


# ------------------------------------------------------------------------------------------------ weights
def weight_value(view: GraphView, t, depth: int = 0):
    """The value of a tensor computed from variables and constants only (a layer weight, its slice, split or
    reshape, inside the loop through its `Enter`) -> ndarray, else None."""
    op = t.op
    if depth > 12 or op.type not in _WEIGHT_OPS:
        return None
    if op.type in ("VariableV2", "VarHandleOp"):
        return view.variable_values(op.name)
    if op.type == "Const":
        return None   # a bare constant is no weight (a scale, a slice bound)
    if op.type == "Enter":
        return weight_value(view, op.inputs[0], depth + 1)
    if op.type in PASS + ("ReadVariableOp",):
        return weight_value(view, op.inputs[0], depth + 1)
    if op.type == "StridedSlice":
        v = weight_value(view, op.inputs[0], depth + 1)
        b, e, s = (const_ints(op.inputs[k]) for k in (1, 2, 3))
        if v is None or b is None or e is None or s is None or any(x != 1 for x in s) or \
                op.get_attr("ellipsis_mask") or op.get_attr("new_axis_mask"):
            return None
        index = []
        bm, em_, sm = op.get_attr("begin_mask"), op.get_attr("end_mask"), op.get_attr("shrink_axis_mask")
        for k in range(len(b)):
            if sm >> k & 1:
                index.append(b[k])
            else:
                index.append(slice(None if bm >> k & 1 else b[k], None if em_ >> k & 1 else e[k]))
        return v[tuple(index)]
    if op.type in ("Split", "SplitV"):
        value_in, axis_in = (op.inputs[1], op.inputs[0]) if op.type == "Split" else (op.inputs[0], op.inputs[2])
        v, axis = weight_value(view, value_in, depth + 1), const_ints(axis_in)
        if v is None or axis is None:
            return None
        if op.type == "Split":
            return np.split(v, int(op.get_attr("num_split")), axis=axis[0])[t.value_index]
        sizes = _sizes(const_ints(op.inputs[1]), v.shape[axis[0]])
        if sizes is None:
            return None
        return np.split(v, np.cumsum(sizes)[:-1], axis=axis[0])[t.value_index]
    if op.type == "Unpack":   # tf.keras's `input_bias, recurrent_bias = tf.unstack(self.bias)` (GRU reset_after)
        v = weight_value(view, op.inputs[0], depth + 1)
        return None if v is None else np.moveaxis(v, op.get_attr("axis"), 0)[t.value_index]
    if op.type == "Reshape":
        v, shape = weight_value(view, op.inputs[0], depth + 1), const_ints(op.inputs[1])
        return None if v is None or shape is None else v.reshape(shape)
    if op.type == "Squeeze":
        v = weight_value(view, op.inputs[0], depth + 1)
        return None if v is None else np.squeeze(v, axis=tuple(op.get_attr("squeeze_dims")) or None)
    return None


def _sizes(sizes, total):
    """SplitV's `size_splits` with its one -1 (the rest) resolved, else None."""
    if sizes is None or total is None or sizes.count(-1) > 1:
        return None
    if -1 in sizes:
        sizes = [total - (sum(sizes) + 1) if x == -1 else x for x in sizes]
    return sizes if sum(sizes) == total and min(sizes) >= 0 else None


def weight_variables(view: GraphView, t, found: set, depth: int = 0) -> None:
    """The variables a weight tensor is computed from, added to `found`."""
    if depth > 12:
        return
    if t.op.type in ("VariableV2", "VarHandleOp"):
        found.add(t.op.name)
        return
    for i in t.op.inputs:
        weight_variables(view, i, found, depth + 1)


@dataclass
class Affine:
    """A gate's pre-activation: sum of `source @ W` products (source tensor name -> W) plus bias vectors, each
    bias under the source of the product it was added to (None: added to the sum)."""

    products: dict = field(default_factory=dict)    # source name -> (source tensor, W [in, n])
    biases: dict = field(default_factory=dict)      # source name or None -> b [n]
    variables: set = field(default_factory=set)

    def add(self, other: Affine) -> Affine:
        out = Affine(dict(self.products), dict(self.biases), self.variables | other.variables)
        for k, (t, w) in other.products.items():
            out.products[k] = (t, out.products[k][1] + w) if k in out.products else (t, w)
        for k, b in other.biases.items():
            out.biases[k] = out.biases[k] + b if k in out.biases else b
        return out

    def columns(self, lo, hi) -> Affine:
        return Affine({k: (t, w[:, lo:hi]) for k, (t, w) in self.products.items()},
                      {k: b[lo:hi] for k, b in self.biases.items()}, set(self.variables))

    def width(self) -> int | None:
        for _, w in self.products.values():
            return w.shape[1]
        return None


def _strip(t):
    while t.op.type in PASS and t.op.inputs:
        t = t.op.inputs[0]
    return t


def affine(view: GraphView, t, depth: int = 0) -> Affine | None:
    """`t` as a sum of products of in-loop tensors with weights plus bias vectors, else None. A step input
    projected before the loop (Keras 2.0's implementation 0, `view.keras2_projected`) is itself a product with
    the identity: its column slices are the gates' inputs."""
    t = _strip(t)
    op = t.op
    if depth > 16:
        return None
    projected = view.__dict__.get("keras2_projected")
    if projected is not None and t.name == projected[0]:
        return Affine({t.name: (t, np.eye(projected[1], dtype=np.float32))}, {}, set())
    if op.type in _ADD and len(op.inputs) == 2:
        parts = []
        for k, i in enumerate(op.inputs):
            b = weight_value(view, i)
            if b is not None and b.ndim == 1:
                owner = None
                a = affine(view, op.inputs[1 - k], depth + 1)
                if a is not None and len(a.products) == 1:
                    owner = next(iter(a.products))
                found = set()
                weight_variables(view, i, found)
                parts.append(Affine({}, {owner: b}, found))
            else:
                a = affine(view, i, depth + 1)
                if a is None:
                    return None
                parts.append(a)
        return parts[0].add(parts[1])
    if op.type == "MatMul" and not op.get_attr("transpose_a") and not op.get_attr("transpose_b"):
        w = weight_value(view, op.inputs[1])
        if w is None or w.ndim != 2:
            return None
        found = set()
        weight_variables(view, op.inputs[1], found)
        src = _source(view, op.inputs[0])
        return Affine({src.name: (src, w)}, {}, found)
    if op.type == "StridedSlice" and op.inputs[0].shape.rank == 2:   # implementation 2: z[:, lo:hi]
        inner = affine(view, op.inputs[0], depth + 1)
        b, e, s = (const_ints(op.inputs[k]) for k in (1, 2, 3))
        if inner is None or b is None or e is None or s != [1, 1] or op.get_attr("shrink_axis_mask") or \
                not op.get_attr("begin_mask") & 1 or not op.get_attr("end_mask") & 1:
            return None
        bm, em_ = op.get_attr("begin_mask"), op.get_attr("end_mask")
        return inner.columns(None if bm & 2 else b[1], None if em_ & 2 else e[1])
    if op.type in ("Split", "SplitV"):   # tf.keras 1.x implementation 2: split(z, 4, axis=1)
        value_in, axis_in = (op.inputs[1], op.inputs[0]) if op.type == "Split" else (op.inputs[0], op.inputs[2])
        inner, axis = affine(view, value_in, depth + 1), const_ints(axis_in)
        if inner is None or axis not in ([1], [-1]):
            return None
        n = inner.width()
        if op.type == "Split":
            size = n // int(op.get_attr("num_split"))
            return inner.columns(t.value_index * size, (t.value_index + 1) * size)
        sizes = _sizes(const_ints(op.inputs[1]), n)
        if sizes is None:
            return None
        lo = sum(sizes[:t.value_index])
        return inner.columns(lo, lo + sizes[t.value_index])
    return None


# ------------------------------------------------------------------------------------------------ activations
def activation_of(view: GraphView, t):
    """`t` = act(pre) -> (the activation as model.py writes it: `'tanh'`, `'keras2_hard_sigmoid'`, pre), else None."""
    t = _strip(t)
    op = t.op
    if op.type in ACTIVATIONS:
        return repr(ACTIVATIONS[op.type]), op.inputs[0]
    # hard_sigmoid: clip_by_value(0.2 * x + 0.5, 0, 1) = Maximum(Minimum(y, 1), 0) (either nesting)
    if op.type in ("Maximum", "Minimum"):
        inner_type = "Minimum" if op.type == "Maximum" else "Maximum"
        bound = {"Maximum": 0.0, "Minimum": 1.0}
        for k in (0, 1):
            if const_scalar(view, op.inputs[1 - k]) != bound[op.type]:
                continue
            inner = _strip(op.inputs[k]).op
            if inner.type != inner_type:
                continue
            for j in (0, 1):
                if const_scalar(view, inner.inputs[1 - j]) != bound[inner_type]:
                    continue
                y = _strip(inner.inputs[j]).op
                if y.type not in ("Add", "AddV2"):
                    continue
                for a in (0, 1):
                    if const_scalar(view, y.inputs[1 - a]) is None or \
                            abs(const_scalar(view, y.inputs[1 - a]) - 0.5) > 1e-7:
                        continue
                    m = _strip(y.inputs[a]).op
                    if m.type != "Mul":
                        continue
                    for c in (0, 1):
                        s = const_scalar(view, m.inputs[1 - c])
                        if s is not None and abs(s - 0.2) < 1e-7:
                            return HARD_SIGMOID, m.inputs[c]
    return None


def _source(view: GraphView, t):
    """A product's left operand, through Identity and Keras 2.0's `h * 1.0` (its recurrent dropout mask when there
    is no dropout: `rec_dp_mask = [1.0] * gates`)."""
    t = _strip(t)
    while t.op.type == "Mul":
        ones = [k for k in (0, 1) if const_scalar(view, t.op.inputs[k]) == 1.0]
        if not ones:
            break
        t = _strip(t.op.inputs[1 - ones[0]])
    return t


def _mul_operands(t):
    t = _strip(t)
    return list(t.op.inputs) if t.op.type == "Mul" else None


def _is(a, b) -> bool:
    return _strip(a).name == _strip(b).name


# ------------------------------------------------------------------------------------------------ the step
@dataclass
class Keras2Step:
    family: str
    scope: str                  # the layer's variable scope (`bidirectional_1/forward_lstm_1`)
    units: int
    activation: str             # model.py text: "'tanh'"
    recurrent_activation: str | None
    weights: list               # Keras 3 [kernel, recurrent_kernel, bias]
    reset_after: bool = False
    variables: tuple = ()
    use_bias: bool = True       # False: the layer has no bias (Keras `use_bias=False`): its weights end at [1]


def _gate(aff: Affine, x_name: str, h_name: str, units: int, hr_name: str | None = None):
    """A gate's (W_x, W_h, b_x, b_h) from its affine form; None when it reads anything else."""
    wx = wh = None
    for k, (_, w) in aff.products.items():
        if w.shape[1] != units:
            return None
        if k == x_name:
            wx = w
        elif k in (h_name, hr_name):
            wh = w
        else:
            return None
    if wx is None or wh is None:
        return None
    bx = np.zeros(units, wx.dtype)
    bh = np.zeros(units, wx.dtype)
    for k, b in aff.biases.items():
        if k in (h_name, hr_name):
            bh = bh + b
        else:
            bx = bx + b
    return wx, wh, bx, bh


def _scope_of(variables: set) -> str:
    names = sorted({n.rpartition("/")[0] or n for n in variables})   # the scopes holding the variables
    if not names:
        return ""
    parts = [n.split("/") for n in names]
    common = []
    for comps in zip(*parts):
        if len(set(comps)) != 1:
            break
        common.append(comps[0])
    scope = "/".join(common) or names[0]
    head, _, last = scope.rpartition("/")   # tf.keras 2.x: `lstm/lstm_cell/kernel`, the layer is `lstm`
    return head if head and last in CELL_SCOPES else scope


def match_step(view: GraphView, x, states: list, nexts: list) -> Keras2Step | None:
    """The cell of one Keras 2 loop body: `x` the step input, `states` the state loop variables' body values,
    `nexts` their next values (masks stripped) -> a `Keras2Step`, else None."""
    if len(states) == 2:
        for h, c, new_h, new_c in ((states[0], states[1], nexts[0], nexts[1]),
                                   (states[1], states[0], nexts[1], nexts[0])):
            step = _match_lstm(view, x, h, c, new_h, new_c)
            if step is not None:
                return step
        return None
    if len(states) != 1:
        return None
    return _match_gru(view, x, states[0], nexts[0]) or _match_simple(view, x, states[0], nexts[0])


def _carried(new, prev):
    """`new = gate * prev + a * b` (a state carried through a gate, plus a product: an LSTM's c, a GRU's h) ->
    (gate, [a, b]), else None."""
    op = _strip(new).op
    if op.type not in ("Add", "AddV2"):
        return None
    kept = added = None
    for t in op.inputs:
        m = _mul_operands(t)
        if m is None:
            return None
        if any(_is(v, prev) for v in m):
            kept = m
        else:
            added = m
    if kept is None or added is None:
        return None
    return next(v for v in kept if not _is(v, prev)), added


def _match_lstm(view, x, h, c, new_h, new_c):
    # c = f * c_prev + i * act(pre_c); h = o * act(c)
    carried = _carried(new_c, c)
    if carried is None:
        return None
    f_t, ic = carried
    mh = _mul_operands(new_h)
    if mh is None:
        return None
    acts = {}
    for k, v in enumerate(mh):
        a = activation_of(view, v)
        if a is not None and _is(a[1], new_c):
            acts["c"] = (a[0], mh[1 - k])
    if "c" not in acts:
        return None
    act, o_t = acts["c"]
    found_i = found_g = None
    for k, v in enumerate(ic):
        a = activation_of(view, v)
        if a is not None and a[0] == act:
            found_g, found_i = a[1], ic[1 - k]
            if activation_of(view, found_i) is not None and activation_of(view, found_i)[0] != act:
                break
    if found_g is None:
        return None
    rec = {}
    for name, t in (("i", found_i), ("f", f_t), ("o", o_t)):
        a = activation_of(view, t)
        if a is None:
            return None
        rec[name] = a
    if len({a[0] for a in rec.values()}) != 1:
        return None
    pre = {"i": rec["i"][1], "f": rec["f"][1], "c": found_g, "o": rec["o"][1]}
    units = h.shape[-1] if h.shape.rank == 2 and h.shape[-1] is not None else None
    gates, variables, biased = [], set(), False
    for g in GATES["lstm"]:
        aff = affine(view, pre[g])
        if aff is None:
            return None
        units = units or aff.width()
        gate = _gate(aff, _strip(x).name, _strip(h).name, units)
        if gate is None:
            return None
        gates.append(gate)
        variables |= aff.variables
        biased = biased or bool(aff.biases)
    kernel = np.concatenate([g[0] for g in gates], 1)
    recurrent = np.concatenate([g[1] for g in gates], 1)
    bias = np.concatenate([g[2] + g[3] for g in gates])
    return Keras2Step("lstm", _scope_of(variables), units, act, rec["i"][0], [kernel, recurrent, bias],
                      variables=tuple(sorted(variables)), use_bias=biased)


def _match_gru(view, x, h, new_h):
    # h = z * h_prev + (1 - z) * hh; hh = act(x_h + (r * h_prev) @ W_h) or act(x_h + r * (h_prev @ W_h + b_h))
    carried = _carried(new_h, h)
    if carried is None:
        return None
    z_t, hh_side = carried
    zr = activation_of(view, z_t)
    if zr is None:
        return None
    one_minus = hh = None
    for k, v in enumerate(hh_side):
        s = _strip(v).op
        if s.type == "Sub" and const_scalar(view, s.inputs[0]) == 1.0 and _is(s.inputs[1], z_t):
            one_minus, hh = v, hh_side[1 - k]
    if one_minus is None:
        return None
    a = activation_of(view, hh)
    if a is None:
        return None
    act, pre_h = a
    units = h.shape[-1] if h.shape.rank == 2 and h.shape[-1] is not None else None
    x_name, h_name = _strip(x).name, _strip(h).name
    # the candidate: x_h (+ b) + recurrent part
    pre_op = _strip(pre_h).op
    if pre_op.type not in ("Add", "AddV2"):
        return None
    reset_after, r_t, x_part, rh_w, rh_b = None, None, None, None, None
    for k in (0, 1):
        side, rest = pre_op.inputs[k], pre_op.inputs[1 - k]
        m = _mul_operands(side)
        if m is not None:   # reset_after: r * (h @ W_h + b_h)
            for j in (0, 1):
                inner = affine(view, m[1 - j])
                if inner is not None and set(inner.products) == {h_name}:
                    reset_after, r_t, x_part = True, m[j], rest
                    rh_w, rh_b = inner.products[h_name][1], sum(inner.biases.values()) if inner.biases else None
            if reset_after:
                break
        s = _strip(side).op
        if s.type == "MatMul":   # reset before: (r * h) @ W_h
            m = _mul_operands(_source(view, s.inputs[0]))
            w = weight_value(view, s.inputs[1])
            if m is not None and w is not None and any(_is(v, h) for v in m):
                reset_after, r_t, x_part = False, next(v for v in m if not _is(v, h)), rest
                rh_w, rh_b = w, None
                break
    if reset_after is None:
        return None
    ra = activation_of(view, r_t)
    if ra is None or ra[0] != zr[0]:
        return None
    aff_z, aff_r, aff_x = affine(view, zr[1]), affine(view, ra[1]), affine(view, x_part)
    if aff_z is None or aff_r is None or aff_x is None or set(aff_x.products) != {x_name}:
        return None
    units = units or aff_x.width()
    gz, gr = _gate(aff_z, x_name, h_name, units), _gate(aff_r, x_name, h_name, units)
    if gz is None or gr is None or rh_w.shape != (units, units):
        return None
    wx_h = aff_x.products[x_name][1]
    bx_h = sum(aff_x.biases.values()) if aff_x.biases else np.zeros(units, wx_h.dtype)
    kernel = np.concatenate([gz[0], gr[0], wx_h], 1)
    recurrent = np.concatenate([gz[1], gr[1], rh_w], 1)
    variables = aff_z.variables | aff_r.variables | aff_x.variables
    if reset_after:
        bh_h = rh_b if rh_b is not None else np.zeros(units, wx_h.dtype)
        bias = np.stack([np.concatenate([gz[2], gr[2], bx_h]), np.concatenate([gz[3], gr[3], bh_h])])
    else:
        bias = np.concatenate([gz[2] + gz[3], gr[2] + gr[3], bx_h])
    biased = bool(aff_z.biases or aff_r.biases or aff_x.biases or rh_b is not None)
    return Keras2Step("gru", _scope_of(variables) or "gru", units, act, zr[0], [kernel, recurrent, bias],
                      reset_after=reset_after, variables=tuple(sorted(variables)), use_bias=biased)


def _match_simple(view, x, h, new_h):
    a = activation_of(view, new_h)
    if a is None:
        return None
    act, pre = a
    aff = affine(view, pre)
    if aff is None:
        return None
    units = aff.width()
    g = _gate(aff, _strip(x).name, _strip(h).name, units)
    if g is None:
        return None
    return Keras2Step("simple_rnn", _scope_of(aff.variables), units, act, None, [g[0], g[1], g[2] + g[3]],
                      variables=tuple(sorted(aff.variables)), use_bias=bool(aff.biases))


# ------------------------------------------------------------------------------------------------ the loop
def _strip_where(t, prev):
    """Keras 2's masked step `where(tile(mask_t), new, prev)` -> (new, the mask_t tensor), else (t, None)."""
    s = _strip(t)
    if s.op.type in ("Select", "SelectV2") and _is(s.op.inputs[2], prev):
        cond = _strip(s.op.inputs[0])
        if cond.op.type == "Tile":
            cond = _strip(cond.op.inputs[0])
        return s.op.inputs[1], cond
    return t, None


def _outer(t):
    """The value outside the frame an in-frame tensor enters as (through Identity / Enter)."""
    t = _strip(t)
    return t.op.inputs[0] if t.op.type == "Enter" else t


def _scattered(read):
    """The value a `TensorArrayReadV3` reads the steps of (the `TensorArrayScatterV3` of its flow), else None."""
    flow = _outer(read.inputs[2])
    return flow.op.inputs[2] if flow.op.type == "TensorArrayScatterV3" else None


def _time_major(view, seq):
    """`transpose(x, [1, 0, 2])` or `reverse(transpose(x, [1, 0, 2]), [0])` -> (x, go_backwards), else None."""
    backwards = False
    seq = _strip(seq)
    if seq.op.type in ("ReverseV2", "Reverse"):
        axis = const_ints(seq.op.inputs[1], view)
        if axis != [0]:
            return None
        seq, backwards = _strip(seq.op.inputs[0]), True
    if seq.op.type != "Transpose" or (const_ints(seq.op.inputs[1], view) or [])[:2] != [1, 0]:
        return None
    return seq.op.inputs[0], backwards


def _projection(view: GraphView, seq):
    """Keras 2.0's `preprocess_input` (implementation 0): `concat([_time_distributed_dense(x, kernel_g, bias_g)
    for each gate], 2)`, each `reshape(bias_add(reshape(x, [-1, input]) @ kernel_g, bias_g), [-1, T, units])` ->
    (x, the kernel [input, gates * units], the bias or None), else None."""
    seq = _strip(seq)
    parts = list(seq.op.inputs)[:-1] if seq.op.type == "ConcatV2" else [seq]
    if seq.op.type == "ConcatV2" and const_ints(seq.op.inputs[-1], view) not in ([2], [-1]):
        return None
    x0, ws, bs = None, [], []
    for part in parts:
        part = _strip(part)
        if part.op.type != "Reshape":
            return None
        inner = _strip(part.op.inputs[0])
        b = None
        if inner.op.type == "BiasAdd":
            b = weight_value(view, inner.op.inputs[1])
            inner = _strip(inner.op.inputs[0])
        if inner.op.type != "MatMul" or inner.op.get_attr("transpose_a") or inner.op.get_attr("transpose_b"):
            return None
        w = weight_value(view, inner.op.inputs[1])
        flat = _strip(inner.op.inputs[0])
        if w is None or flat.op.type != "Reshape":
            return None
        src = _strip(flat.op.inputs[0])
        if x0 is not None and src.name != x0.name or src.shape.rank != 3:
            return None
        x0 = src
        ws.append(w)
        bs.append(b if b is not None else np.zeros(w.shape[1], w.dtype))
    return x0, np.concatenate(ws, 1), np.concatenate(bs)


def _projected_step(step: Keras2Step, w, b) -> Keras2Step:
    """A step matched over the projected input (its kernel selects columns of it) -> the step over the layer's own
    input: kernel `w @ kernel`, the projection's bias added to the input bias."""
    kernel = w @ step.weights[0]
    weights = [kernel, step.weights[1]]
    if step.use_bias or np.any(b):
        bias = step.weights[2] if step.use_bias else np.zeros(step.weights[0].shape[1:] if not step.reset_after
                                                               else (2, kernel.shape[1]), kernel.dtype)
        bias = np.array(bias, copy=True)
        if bias.ndim == 2:
            bias[0] += b @ step.weights[0]
        else:
            bias += b @ step.weights[0]
        weights.append(bias)
    return Keras2Step(step.family, step.scope, step.units, step.activation, step.recurrent_activation, weights,
                      step.reset_after, step.variables, use_bias=len(weights) == 3)


class Keras2RNN(Provider):
    kind = "keras2_rnn"

    def __init__(self, view, frame, step, x, backwards, mask, gathered, last, exits):
        self.view, self.frame, self.step, self.backwards = view, frame, step, backwards
        self.gathered, self.last, self.exits = gathered, last, exits   # exits: [(h Exit, c Exit|None)]
        inputs = [x] + ([mask] if mask is not None else [])
        self.mask = mask
        provides = [t.name for t in gathered + last] + [e.name for e in exits if e is not None]
        self.title = frame[:-len("/while_context")] if frame.endswith("/while_context") else frame   # lstm_1/while
        super().__init__(step.scope or self.title, inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        s = self.step
        x = em.value(syms[0])
        mask = None
        if self.mask is not None:   # Keras 2's mask [B, T] (before K.rnn's expand_dims and transpose)
            mask = em.value(syms[1])
            if not self.mask.dtype.is_bool:
                mask = em.emit(f"keras.ops.cast({mask}, 'bool')", "mask", comment="the layer's mask")[0].var
        lname = em.layer_name(self.name)
        layer = em.new_ident(lname.replace("__", "_"))
        cls = f"tfm.{KERAS_LAYERS[s.family]}"
        args = [str(s.units)]
        if s.activation != "'tanh'":
            args.append(f"activation={s.activation}")
        if s.recurrent_activation is not None and s.recurrent_activation != "'sigmoid'":
            args.append(f"recurrent_activation={s.recurrent_activation}")
        if not s.use_bias:
            args.append("use_bias=False")
        if s.family == "gru":
            args.append(f"reset_after={s.reset_after}")
        if self.backwards:
            args.append("go_backwards=True")
        args += ["return_sequences=True", "return_state=True", f"name={lname!r}"]
        what = (f"Keras 2 {KERAS_LAYERS[s.family]} {s.scope} (K.rnn while loop {self.title}"
                + (", go_backwards" if self.backwards else "") + (", masked" if mask is not None else "")
                + (", hard_sigmoid of Keras 2" if s.recurrent_activation == HARD_SIGMOID else "") + ")")
        em.line(f"{layer} = {cls}({', '.join(args)})", what)
        em.weights[lname] = list(s.weights) if s.use_bias else list(s.weights[:2])
        em.constructs[f"keras2_rnn Keras 2 {KERAS_LAYERS[s.family]} -> {cls}"] += 1
        names = [em.new_ident(f"{lname}_seq"), em.new_ident(f"{lname}_h")]
        if s.family == "lstm":
            names.append(em.new_ident(f"{lname}_c"))
        em.lines.append(f"{', '.join(names)} = {layer}({x}{', mask=' + mask if mask else ''})")
        out = {}
        for t in self.gathered:
            if t.op.type == "Transpose":
                out[t.name] = Sym(var=names[0], dtype="float32")
            else:   # the time-major stack
                seq = names[0]
                out[t.name] = Sym(lazy=lambda seq=seq: em.emit(f"keras.ops.transpose({seq}, (1, 0, 2))",
                                                               "outputs_time_major")[0].var, dtype="float32")
        for t in self.last:
            out[t.name] = Sym(var=names[1], dtype="float32")
        for k, e in enumerate(self.exits):
            if e is not None:
                out[e.name] = Sym(var=names[1 + k], dtype="float32")
        em.lines.append("")
        return out


def frame_provider(view: GraphView, frame: str):
    """One while frame -> a `Keras2RNN` when it is Keras 2's `K.rnn` over a recognised cell, else None."""
    ops = frame_ops(view, frame)
    reads = [op for op in ops if op.type == "TensorArrayReadV3"]
    writes = [op for op in ops if op.type == "TensorArrayWriteV3"]
    if len(writes) != 1 or not reads:
        return None
    x_read = mask_read = None
    for r in reads:
        if r.outputs[0].dtype.is_bool:
            mask_read = r
        elif x_read is None:
            x_read = r
        else:
            return None
    seq = _scattered(x_read)
    if seq is None:
        return None
    tm = _time_major(view, seq)
    if tm is None:
        return None
    x, backwards = tm
    mask = None
    if mask_read is not None:
        mseq = _scattered(mask_read)
        mtm = _time_major(view, mseq) if mseq is not None else None
        if mtm is None or mtm[1] != backwards:
            return None
        mask = _strip(mtm[0])
        if mask.op.type == "ExpandDims":
            mask = _strip(mask.op.inputs[0])
        if mask.op.type == "Cast":
            mask = _strip(mask.op.inputs[0])
    # the state loop variables: rank-2 float values carried from step to step
    merges = [op for op in ops if op.type == "Merge"]
    states = []
    for m in merges:
        sw = next((c for c in m.outputs[0].consumers() if c.type == "Switch"), None)
        ident = next((c for c in sw.outputs[1].consumers() if c.type == "Identity"), None) if sw else None
        if ident is None:
            continue
        lv = loop_var_of(ident.outputs[0])
        if lv is None or not lv.body.dtype.is_floating or lv.body.shape.rank != 2:
            continue
        states.append(lv)
    if not states:
        return None
    nexts = []
    for lv in states:
        nxt, mt = _strip_where(lv.next, lv.body)
        if (mt is None) != (mask_read is None):
            return None
        nexts.append(nxt)
    projection = _projection(view, x)   # Keras 2.0's implementation 0: x @ kernel + bias before the loop
    if projection is not None:
        view.__dict__["keras2_projected"] = (_strip(x_read.outputs[0]).name, projection[1].shape[1])
    try:
        step = match_step(view, x_read.outputs[0], [lv.body for lv in states], nexts)
    finally:
        view.__dict__.pop("keras2_projected", None)
    if step is None:
        return None
    if projection is not None:
        x, w, b = projection
        step = _projected_step(step, w, b)
    order = [0, 1]
    if step.family == "lstm":   # which loop variable is h: the one the output is written from
        h_first = _is(_strip_where(writes[0].inputs[2], states[0].body)[0], nexts[0])
        order = [0, 1] if h_first else [1, 0]
    out_value, _ = _strip_where(writes[0].inputs[2], states[order[0]].body)
    if not _is(out_value, nexts[order[0]]):
        return None
    # the outputs: transpose(output_ta.stack(), [1, 0, 2]) and output_ta.read(time - 1)
    handle = _outer(writes[0].inputs[0])
    gathered, last = [], []
    for c in consumers(handle):
        if c.type == "TensorArrayGatherV3":
            tr = [u for u in consumers(c.outputs[0]) if u.type == "Transpose"
                  and (const_ints(u.inputs[1], view) or [])[:2] == [1, 0]]
            gathered += [u.outputs[0] for u in tr] or [c.outputs[0]]
        elif c.type == "TensorArrayReadV3" and not is_gradient(c.name):
            idx = _strip(c.inputs[1]).op
            if idx.type != "Sub" or const_scalar(view, idx.inputs[1]) != 1.0:
                return None
            last.append(c.outputs[0])
    exits = [states[k].exit.outputs[0] if states[k].exit is not None else None for k in order[:len(states)]]
    return Keras2RNN(view, frame, step, x, backwards, mask, gathered, last, exits)


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every while frame that is Keras 2's `K.rnn` over an LSTM / GRU / SimpleRNN cell -> a `Keras2RNN`."""
    frames = sorted({op.get_attr("frame_name").decode() for op in view.graph.get_operations()
                     if op.type == "Enter" and not is_gradient(op.name)})
    providers = {}
    declined = view.__dict__.setdefault("declined_frames", {})
    for frame in frames:
        try:
            p = frame_provider(view, frame)
        except Unsupported as e:
            declined.setdefault(frame, str(e))
            continue
        if p is None:
            continue
        declined.pop(frame, None)
        for name in p.provides:
            providers[name] = p
    return providers


CONSTRUCT = Construct(
    "keras2_rnn", recognise,
    "Keras 2 / tf.keras 1.x `LSTM`, `GRU` (`reset_after` either way), `SimpleRNN` (`K.rnn` while loop over the "
    "gate-sliced `kernel` / `recurrent_kernel` / `bias`, implementation 0, 1 or 2; `hard_sigmoid` or `sigmoid`; "
    "`go_backwards`; a mask; `Bidirectional`: its two layers, the merge op by op)",
    "`tfm.LSTM` / `GRU` / `SimpleRNN` named after the Keras 2 layer (`recurrent_activation="
    "'keras2_hard_sigmoid'`: Keras 2's exactly, `tfm.keras2_hard_sigmoid`), `return_sequences=True, return_state=True`")
