"""Weight regularisation in a TF1 training loss, carried into the converted model's `fit` (issue 22, point 2).

A TF1 model adds weight penalties to its cross-entropy by hand or through a collection:

    loss = xent + c * tf.nn.l2_loss(w)                                  c / 2 * sum(w ** 2)
    loss = xent + tf.add_n([tf.nn.l2_loss(v) for v in tf.trainable_variables()]) * c
    tf.contrib.layers.l2_regularizer(s) (s * l2_loss(w)) on a layer's kernel, collected in
      tf.GraphKeys.REGULARIZATION_LOSSES, summed by tf.losses.get_total_loss() (an AddN beside the loss)
    tf.keras.regularizers.l2(c) / l1(c) in a TF1 graph: c * reduce_sum(square(w)) / c * reduce_sum(abs(w))

`penalties_of` reads such a term as `Penalty`s (one per variable: `coefficient * sum(f(w))`, f the square or the
absolute value), by the ops in `PENALTY_OPS` / `SUMMED` and constant factors, never by names. Keras computes the
same objective with a regulariser on the weight holding the variable (`keras.regularizers.L2(c)` is
`c * sum(w ** 2)`): `place` finds that weight through what the translation recorded (`Emitter.sources`: the TF1
variables behind each Keras weight and whether it is their elements relaid out) and gives the layer's own argument
where Keras has one (`kernel_regularizer=`, `recurrent_regularizer=`, `bias_regularizer=`,
`embeddings_regularizer=`), written into model.py, else the model's (`tfm.Model(weight_regularizers=...)`, set on
the weight itself, saved with the model). A TF1 LSTM `kernel` is Keras' `kernel` + `recurrent_kernel` (rows split,
gates reordered: the same elements), so both take the penalty; its bias, which Keras holds with the forget bias
added, takes `tfm.ShiftedL2` (the L2 of the weight less that constant). A penalty that cannot be placed exactly is
stated (what, why, the way out), never dropped silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

# op computing a weight penalty from one variable -> (Keras regulariser, factor): factor * sum(f(w))
PENALTY_OPS = {
    "L2Loss": ("L2", 0.5),   # tf.nn.l2_loss(w) = sum(w ** 2) / 2; contrib.layers.l2_regularizer(s)(w) = s * l2_loss(w)
}
# tf.reduce_sum(OP(w)) over every axis -> the Keras regulariser (factor 1): tf.keras.regularizers.l2 / l1 in TF1
SUMMED = {"Square": "L2", "Abs": "L1"}

_PASS = ("Identity", "Cast", "StopGradient", "Reshape", "Squeeze", "ExpandDims")
_ADD = ("Add", "AddV2", "AddN")

# Keras layer (as model.py constructs it) -> the regulariser argument of each of its weights, in weight order
REGULARIZER_ARGS = {
    "keras.layers.Dense": ("kernel_regularizer", "bias_regularizer"),
    "keras.layers.Embedding": ("embeddings_regularizer",),
    "tfm.LSTM": ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer"),
    "tfm.GRU": ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer"),
    "tfm.SimpleRNN": ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer"),
}


class NotPenalty(Exception):
    """A term added to the loss that is not a weight penalty of the forms above (the message says what it is)."""


@dataclass(frozen=True)
class Penalty:
    variable: str        # the TF1 variable (op name)
    kind: str            # "L2": sum(w ** 2), "L1": sum(|w|)
    coefficient: float   # the factor of that sum in the TF1 loss (every constant around the term folded in)
    op: str              # the op computing it (L2Loss, Sum)

    @property
    def keras(self) -> str:
        """The Keras regulariser as code (a table's name and a finite float: never a string of the graph)."""
        return f"keras.regularizers.{self.kind}({float(self.coefficient)!r})"

    def value(self, w) -> float:
        w = np.asarray(w, np.float64)
        return float(self.coefficient * (np.sum(w * w) if self.kind == "L2" else np.sum(np.abs(w))))


def _const(t):
    """A scalar floating / integer constant behind `t` (through identities), else None."""
    while t.op.type in _PASS and t.op.inputs:
        t = t.op.inputs[0]
    if t.op.type != "Const":
        return None
    import tensorflow as tf  # noqa: PLC0415

    v = np.asarray(tf.make_ndarray(t.op.get_attr("value")))
    if v.size != 1 or v.dtype.kind not in "fiu":
        return None
    # a float32 constant as the shortest decimal that is the same float32 (0.003, not 0.003000000026077032)
    return float(str(v.reshape(-1)[0])) if v.dtype == np.float32 else float(v.reshape(-1)[0])


def _variable(t) -> str | None:
    from migrate.graph.meta import READ_OPS, VARIABLE_OPS  # noqa: PLC0415

    while t.op.type in READ_OPS and t.op.inputs:
        t = t.op.inputs[0]
    return t.op.name if t.op.type in VARIABLE_OPS else None


def _all_axes(op) -> bool:
    """A Sum over every axis of its input (tf.reduce_sum(x) with no axis: a Const range of the rank)."""
    import tensorflow as tf  # noqa: PLC0415

    axes = op.inputs[1]
    if axes.op.type != "Const" or op.inputs[0].shape.rank is None:
        return False
    got = sorted({int(a) % max(op.inputs[0].shape.rank, 1) for a in np.asarray(
        tf.make_ndarray(axes.op.get_attr("value"))).reshape(-1)})
    return got == list(range(op.inputs[0].shape.rank))


def penalties_of(t, factor: float = 1.0, depth: int = 0) -> list[Penalty]:
    """The weight penalties the tensor `t` sums, each `factor`-scaled; NotPenalty naming the first op that is not
    one of the forms (a constant factor, a sum of terms, `PENALTY_OPS`, `reduce_sum(SUMMED(w))`)."""
    if depth > 60:
        raise NotPenalty(f"{t.name}: too deep for a sum of weight penalties")
    op = t.op
    if op.type in _PASS and op.inputs:
        return penalties_of(op.inputs[0], factor, depth + 1)
    if op.type in _ADD:
        return [p for i in op.inputs for p in penalties_of(i, factor, depth + 1)]
    if op.type == "Neg":
        return penalties_of(op.inputs[0], -factor, depth + 1)
    if op.type == "Mul" and len(op.inputs) == 2:
        for a, b in (op.inputs, op.inputs[::-1]):
            c = _const(a)
            if c is not None:
                return penalties_of(b, factor * c, depth + 1)
    if op.type in ("RealDiv", "Div", "TrueDiv") and _const(op.inputs[1]) not in (None, 0.0):
        return penalties_of(op.inputs[0], factor / _const(op.inputs[1]), depth + 1)
    if not math.isfinite(factor):
        raise NotPenalty(f"{op.name}: a weight penalty times {factor} (a finite factor trains; this one does not)")
    if op.type in PENALTY_OPS:
        kind, f = PENALTY_OPS[op.type]
        var = _variable(op.inputs[0])
        if var is None:
            raise NotPenalty(f"{op.type} {op.name} reads {op.inputs[0].op.type} {op.inputs[0].op.name}, not a "
                             f"variable")
        return [Penalty(var, kind, factor * f, op.name)]
    if op.type == "Sum" and op.inputs[0].op.type in SUMMED:
        inner = op.inputs[0].op
        var = _variable(inner.inputs[0])
        if var is None or not _all_axes(op):
            raise NotPenalty(f"Sum {op.name} of {inner.type} {inner.name} is not the sum of a whole variable's "
                             f"elements")
        return [Penalty(var, SUMMED[inner.type], factor, op.name)]
    raise NotPenalty(f"{op.type} {op.name} (a weight penalty here is {', '.join(PENALTY_OPS)} or "
                     f"reduce_sum({' / '.join(k.lower() for k in SUMMED)}(w)) of a variable, times constants)")


def merge(penalties: list[Penalty]) -> list[Penalty]:
    """One penalty per (variable, kind): the coefficients of a variable penalised twice added (a variable in
    REGULARIZATION_LOSSES and in a hand-written sum), in the order first met."""
    out: dict[tuple, Penalty] = {}
    for p in penalties:
        key = (p.variable, p.kind)
        q = out.get(key)
        out[key] = p if q is None else Penalty(p.variable, p.kind, q.coefficient + p.coefficient, q.op)
    return [p for p in out.values() if p.coefficient != 0.0]


@dataclass
class Placement:
    """Where each penalty went: `arguments` {layer name: {argument: code}} (model.py's constructor of the layer),
    `weights` [[layer name, weight index, code]] (tfm.Model's `weight_regularizers`), `report` one entry per
    penalty, `unplaced` the penalties left out (with `report[i]["not_carried"]` saying why)."""
    arguments: dict
    weights: list
    report: list
    unplaced: list


def place(penalties: list[Penalty], em) -> Placement:
    """Give each penalty to the Keras weights holding its variable (`em.sources`: (layer, index) -> (TF1 variables,
    relaid out exactly?)). A Keras weight made from several TF1 variables (a GRU kernel: gates + candidate) takes a
    penalty only when each of them has the same one; a weight holding its variables' elements plus a constant the
    layout adds (an LSTM bias with its forget bias) takes an L2 penalty as `tfm.ShiftedL2`; a weight that is not
    its variables' elements relaid out otherwise (an element used twice, elements no variable gives), or an L1
    penalty over such a constant, takes none: the penalty is stated, not carried."""
    by_var = {(p.variable): p for p in penalties}
    kinds = {p.variable: {q.kind for q in penalties if q.variable == p.variable} for p in penalties}
    holders: dict[str, list] = {}
    for key, src in sorted(em.sources.items()):
        for v in src.variables:
            holders.setdefault(v, []).append((key, src))
    arguments: dict = {}
    weights: list = []
    report, unplaced = [], []
    done: set = set()
    for p in penalties:
        entry = {"variable": p.variable, "tf1": f"{p.coefficient:g} * sum({'w ** 2' if p.kind == 'L2' else '|w|'})",
                 "keras": p.keras, "op": p.op}
        why = None
        found = holders.get(p.variable, [])
        if len(kinds[p.variable]) > 1:
            why = "penalised both by an L1 and an L2 term (keras.regularizers.L1L2 on its weight would hold both)"
        elif not found:
            why = ("no Keras weight of the model holds it as a layer's weight (the outputs do not read it, or only a "
                   "decoder layer's own copy or a computed weight does)")
        if not why and found:   # copies (two layers holding the same variable) would count the penalty twice
            held = sum(int(np.size(em.weights[k[0]][k[1]])) for k, _ in found)
            tf1 = sum(int(np.size(em.variable_values(v))) for v in {v for _, src in found for v in src.variables})
            if held != tf1:
                why = (f"{len(found)} Keras weights hold its elements {held} times for {tf1} (copies: a penalty on "
                       f"each would count it more than once)")
        for key, src in found:
            if why:
                break
            others = [by_var.get(v) for v in src.variables]
            if not src.exact and (src.offset is None or p.kind != "L2" or not np.all(np.isfinite(src.offset))):
                why = f"its Keras weight {key[0]}[{key[1]}] is not its elements relaid out ({src.why})"
            elif any(o is None or o.kind != p.kind or o.coefficient != p.coefficient for o in others):
                why = (f"its Keras weight {key[0]}[{key[1]}] also holds {', '.join(v for v in src.variables if v != p.variable)}, "
                       f"penalised differently")
        if why:
            entry["not_carried"] = (f"{p.variable}: {why}; fit trains without this term. The way out: add it to the "
                                    f"training loss yourself ({p.keras} of the weight holding it)")
            unplaced.append(p)
            report.append(entry)
            continue
        at = []
        for key, src in found:   # a weight made of several penalised variables (a GRU kernel) takes it once
            code = p.keras if src.exact else _shifted(p, src.offset)
            arg = _argument(em, key)
            if arg is not None:
                if key not in done:
                    arguments.setdefault(key[0], {})[arg] = code
                at.append(f"{key[0]}({arg}=...)")
            else:
                if key not in done:
                    weights.append([key[0], key[1], code])
                at.append(f"{key[0]}[{key[1]}] (tfm.Model weight_regularizers)")
            done.add(key)
        entry["keras_weights"] = at
        report.append(entry)
    return Placement(arguments, weights, report, unplaced)


def _shifted(p: Penalty, offset) -> str:
    """`tfm.ShiftedL2` for an L2 penalty on a weight holding its variable plus the constant `offset` (numbers
    only: its size and runs of equal values)."""
    from tf_migrate_runtime.layers.regularizers import shift_runs  # noqa: PLC0415

    return (f"tfm.ShiftedL2({float(p.coefficient)!r}, size={int(np.size(offset))}, "
            f"shift={shift_runs(offset)!r})")


def _argument(em, key) -> str | None:
    """The regulariser argument of weight `key` = (layer name, index) in its layer's constructor, else None."""
    cls = em.layer_classes.get(key[0])
    args = REGULARIZER_ARGS.get(cls, ())
    return args[key[1]] if key[1] < len(args) else None


def write_arguments(lines: list[str], arguments: dict) -> list[str]:
    """model.py's lines with each placed layer's regulariser arguments before its `name=` (the constructor line
    of a layer is the one line holding `name='<layer name>'`, layer names being unique in a model)."""
    out = list(lines)
    for lname, args in arguments.items():
        token = f"name={lname!r}"
        pattern = re.compile(re.escape(token) + r"[,)]")
        for i, line in enumerate(out):
            if pattern.search(line.split("  # ", 1)[0]):
                extra = ", ".join(f"{a}={code}" for a, code in sorted(args.items()))
                out[i] = line.replace(token, f"{extra}, {token}", 1)
                break
    return out


def weights_argument(weights: list) -> str:
    """`, weight_regularizers=[...]` for tfm.Model (layer names quoted: data), or ""."""
    if not weights:
        return ""
    return ", weight_regularizers=[" + ", ".join(f"[{lname!r}, {int(i)}, {code}]" for lname, i, code in weights) + "]"
