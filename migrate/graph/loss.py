"""The TF1 graph's training loss, recognised and reproduced as a Keras loss for `fit` (issue 12, point 3).

`LOSS_KERNELS` (one entry per TF1 loss op) says which input of a loss kernel is the model's output: output
selection (`migrate.graph.select`) starts there. `recognise_loss` reads the ops between the kernel and the loss
tensor the optimizer differentiates and names the reduction:

    tf.reduce_mean(sparse_softmax_cross_entropy_with_logits(...))       -> mean
    tf.reduce_sum(...)                                                  -> sum
    tf.reduce_mean(ce * w) / tf.reduce_sum(ce * w)                      -> mean / sum, weighted
    tf.losses.*(labels, logits[, weights]) (SUM_BY_NONZERO_WEIGHTS,     -> mean (weights 1.0), or
      their default: sum(ce * w) / the number of non-zero weights;          weighted_mean_no_nan (a 0 / 1
      TF >= 1.13 div_no_nan, before a safe division by Select)              sequence mask)
    contrib.seq2seq.sequence_loss(logits, targets, weights)             -> sum(ce * w) / (sum(w) + 1e-12)
      (average_across_timesteps and average_across_batch, TF 1.x; the weights a sequence_mask of the lengths)
    softmax_cross_entropy_with_logits(_v2) with one_hot labels          -> the sparse form on the ids
    legacy_seq2seq.sequence_loss: one kernel per unstacked step, ones   -> mean (TFLearn's seq2seq)
    a non-scalar loss tensor (tf.gradients differentiates its sum)      -> sum
    any of these times / divided by a constant (address-net's           -> the same, `scale` c
      `tf.losses.softmax_cross_entropy(...) * 0.5`, `2.0 * tf.reduce_mean(...)`, `tf.reduce_sum(ce * 0.1)`,
      a negation): the gradients `fit` follows are scaled as TF1's were

The result is a `LossSpec`: the runtime loss (`tf_migrate_runtime.losses.TF1CrossEntropy`) with its
arguments, the labels placeholder (y), the weights (a sequence mask from a lengths placeholder, a weights
placeholder, or none) and the graph tensor it reproduces. A loss outside these forms is reported as not
reproduced (the report says why) rather than guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kernel:
    logits: int          # input index of the model's output (what output selection starts from)
    labels: int          # input index of the labels
    role: str            # what the model's output is, for messages
    form: str | None     # the per-element loss the runtime reproduces (None: not reproduced for fit)


LOSS_KERNELS = {
    "SparseSoftmaxCrossEntropyWithLogits": Kernel(0, 1, "logits", "sparse"),
    "SoftmaxCrossEntropyWithLogits": Kernel(0, 1, "logits", "dense"),   # also softmax_cross_entropy_with_logits_v2
    "CTCLoss": Kernel(0, 1, "time-major logits", None),
}


_PASS = ("Identity", "Reshape", "ExpandDims", "Squeeze", "Cast", "StopGradient")
_SUM = ("Sum",)
_MEAN = ("Mean",)
_DIV = ("RealDiv", "Div", "TrueDiv")
_ADD = ("Add", "AddV2")
_SEQ_MASK_OPS = ("SequenceMask", "Less", "Range")


class NotReproduced(Exception):
    """The loss is outside the forms `recognise_loss` reproduces (the message says what was found)."""


@dataclass
class LossSpec:
    graph: str                      # the TF1 loss tensor reproduced
    kernel: str                     # the loss kernel op
    output: str                     # the converted model's output the loss reads (the logits)
    sparse: bool
    reduction: str                  # tf_migrate_runtime.losses.REDUCTIONS
    labels: str                     # placeholder tensor: y
    weights: dict | None = None     # {"sequence_mask": lengths tensor} | {"placeholder": tensor} | None
    tf1: str = ""                   # what the graph computes, in TF1 words
    label_reshape: bool = False     # labels are not logits.shape[:-1] (flattened by the loss)
    scale: float = 1.0              # the constant the graph multiplies the reduced cross-entropy by
    notes: list[str] = field(default_factory=list)
    # weight penalties added to the cross-entropy (migrate/graph/regularization.py), coefficients as in the TF1 loss
    penalties: list = field(default_factory=list)

    @property
    def keras(self) -> str:
        """The Keras loss as code: built from a bool, a table's name and a finite float (`repr` of a Python float
        is a number literal), never from a string of the graph."""
        if self.sparse and self.reduction == "mean" and not self.weights and not self.label_reshape \
                and self.scale == 1.0:
            return "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
        scale = "" if self.scale == 1.0 else f", scale={float(self.scale)!r}"
        return (f"tf_migrate_runtime.losses.TF1CrossEntropy(sparse={bool(self.sparse)}, "
                f"reduction={self.reduction!r}{scale})")

    def loss_object(self):
        """The Keras loss `keras` names (what the loss check evaluates and `compile_for_training` compiles)."""
        import keras  # noqa: PLC0415

        import tf_migrate_runtime.losses as rl  # noqa: PLC0415

        if self.keras.startswith("keras.losses.SparseCategoricalCrossentropy"):
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return rl.TF1CrossEntropy(sparse=self.sparse, reduction=self.reduction, scale=self.scale)

    def report(self) -> dict:
        sw = None
        if self.weights and "sequence_mask" in self.weights:
            sw = f"sequence_mask({self.weights['sequence_mask']}, time steps of {self.output})"
        elif self.weights:
            sw = self.weights["placeholder"]
        return {"reproduced": True, "graph": self.graph, "tf1": self.tf1, "keras": self.keras,
                **({"regularization": [{"variable": p.variable, "keras": p.keras} for p in self.penalties]}
                   if self.penalties else {}),
                "output": self.output, "scale": self.scale, "y": self.labels, "sample_weight": sw,
                "labels": sorted({self.labels.split(":")[0]} |
                                 ({v.split(":")[0] for v in self.weights.values()} if self.weights else set()))}


def recognise_loss(graph, loss_name: str, outputs: list[str]) -> LossSpec:
    """The Keras loss that reproduces the graph tensor `loss_name` on one of `outputs`; `NotReproduced` else."""
    from migrate.graph.meta import PLACEHOLDER_OPS  # noqa: PLC0415
    from migrate.graph.select import TRAIN_SCOPES, climb, data_ancestors  # noqa: PLC0415

    loss = graph.get_tensor_by_name(loss_name)
    anc = data_ancestors([loss.op])
    kernels = [o for o in anc.values() if o.type in LOSS_KERNELS and not TRAIN_SCOPES.search(o.name)]
    if not kernels:
        raise NotReproduced(f"no loss kernel ({', '.join(sorted(LOSS_KERNELS))}) computes {loss_name}")
    k = kernels[0]
    if len({o.type for o in kernels}) > 1:
        raise NotReproduced(f"loss kernels of {len({o.type for o in kernels})} kinds feed {loss_name}")
    kind = LOSS_KERNELS[k.type]
    if kind.form is None:
        raise NotReproduced(f"{k.type} ({k.name}) has no Keras reproduction here yet")
    logits = climb(kernels, k.inputs[kind.logits], anc)
    if logits.name not in outputs:
        raise NotReproduced(f"the loss reads {logits.name}, which is not one of the model's outputs")
    if len(kernels) > 1:   # one kernel per step (legacy sequence_loss_by_example over unstacked logits)
        sparse, labels, label_reshape = _per_step(kernels, kind, logits, anc, PLACEHOLDER_OPS)
    else:
        sparse, labels, label_reshape = _labels(k, kind, PLACEHOLDER_OPS)
    core, scale, penalties = _peel_penalties(loss, {o.name for o in kernels})
    expr = _expr(core, {o.name for o in kernels})
    reduction, weights, tf1, inner = _match(expr, core, k, PLACEHOLDER_OPS)
    scale *= inner
    if not math.isfinite(scale) or scale == 0.0:
        raise NotReproduced(f"the loss {loss_name} scales the cross-entropy by {scale} (a loss whose gradients "
                            f"are {'zero' if scale == 0.0 else 'not finite'} trains nothing)")
    if scale != 1.0:
        tf1 = f"{scale:g} * {tf1}"
    if penalties:
        tf1 += f" + {len(penalties)} weight penalt{'y' if len(penalties) == 1 else 'ies'} (" + ", ".join(
            f"{p.coefficient:g} * sum({'w ** 2' if p.kind == 'L2' else '|w|'}) of {p.variable}" for p in penalties[:3]) \
            + (f" and {len(penalties) - 3} more" if len(penalties) > 3 else "") + ")"
    label_reshape = label_reshape or _other_layout(labels, logits, sparse)
    return LossSpec(graph=loss_name, kernel=k.name, output=logits.name, sparse=sparse, reduction=reduction,
                    labels=labels.name, weights=weights, tf1=tf1, label_reshape=label_reshape, scale=scale,
                    penalties=penalties)


def _peel_penalties(t, ks):
    """(the tensor under the constant factors and the weight penalties added to it, the factors' product, the
    penalties): `c * (xent + reg)`, `xent + c * tf.nn.l2_loss(w)`, `tf.losses.get_total_loss()`'s AddN of the
    loss and the REGULARIZATION_LOSSES, in any nesting; each penalty scaled by the factors around it. A term from
    the weights alone that is no penalty stays (`_expr` then says what it is)."""
    from migrate.graph.regularization import NotPenalty, merge, penalties_of  # noqa: PLC0415

    scale, penalties = 1.0, []
    for _ in range(40):
        t, s = _peel_scale(t, ks)
        scale *= s
        op = _strip(t).op
        on = [i for i in op.inputs if _reaches(i, ks)] if op.type in _ADD + ("AddN",) else []
        if len(on) != 1 or len(op.inputs) < 2:
            break
        try:
            found = [p for i in op.inputs if i is not on[0] and not _is_zero(i) for p in penalties_of(i, scale)]
        except NotPenalty:
            break
        penalties += found
        t = on[0]
    return t, scale, merge(penalties)


def _scalar_const(t):
    """The value of a scalar (or one-element) floating constant behind `t` (through identities and casts), else
    None."""
    src = _strip(t)
    if src.op.type != "Const" or not src.dtype.is_floating and not src.dtype.is_integer:
        return None
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    value = np.asarray(tf.make_ndarray(src.op.get_attr("value")))
    return float(value.reshape(-1)[0]) if value.size == 1 else None


def _peel_scale(t, ks):
    """(the tensor under the constant factors, their product): `c * loss`, `loss * c`, `loss / c`, `-loss` around
    the reduced loss, in any nesting (the ops the author wrote after the tf.losses / reduce_* call)."""
    scale = 1.0
    for _ in range(40):
        op = _strip(t).op
        if op.type == "Neg":
            scale, t = -scale, op.inputs[0]
            continue
        if op.type == "Mul" and len(op.inputs) == 2:
            a, b = op.inputs
            ca, cb = _scalar_const(a), _scalar_const(b)
            if cb is not None and _reaches(a, ks):
                scale, t = scale * cb, a
                continue
            if ca is not None and _reaches(b, ks):
                scale, t = scale * ca, b
                continue
        if op.type in _DIV and _scalar_const(op.inputs[1]) not in (None, 0.0) and _reaches(op.inputs[0], ks):
            scale, t = scale / _scalar_const(op.inputs[1]), op.inputs[0]
            continue
        break
    return t, scale


def _other_layout(labels, logits, sparse) -> bool:
    """Labels not shaped as the logits (less the class axis when sparse): the loss flattens both (keras' own
    SparseCategoricalCrossentropy would refuse them)."""
    if labels.shape.rank is None or logits.shape.rank is None:
        return True
    want = logits.shape.as_list()[:-1] if sparse else logits.shape.as_list()
    have = labels.shape.as_list()
    return len(want) != len(have) or any(a is not None and b is not None and a != b for a, b in zip(want, have))


def _strip(t):
    """Back through ops that keep the elements in order (an Unpack of one piece too: ptrnet's one pointer)."""
    while t.op.inputs and (t.op.type in _PASS or t.op.type == "Unpack" and len(t.op.outputs) == 1):
        t = t.op.inputs[0]
    return t


def _labels(k, kind, placeholder_ops):
    """(sparse, labels placeholder tensor, reshaped?) for the kernel's labels input."""
    src = _strip(k.inputs[kind.labels])
    if src.op.type == "OneHot":              # softmax_cross_entropy_with_logits(labels=one_hot(ids)): ids
        ids = _strip(src.op.inputs[0])
        if ids.op.type in placeholder_ops:
            return True, ids, False
        raise NotReproduced(f"the one-hot labels of {k.name} come from {ids.op.type} {ids.op.name}, not a placeholder")
    if src.op.type in placeholder_ops:
        return kind.form == "sparse", src, False
    raise NotReproduced(f"the labels of {k.name} come from {src.op.type} {src.op.name}, not a placeholder")


def _expr(t, ks, depth=0):
    """The loss as a small tree from the kernels' per-element output: ("ce",) / ("mean"|"sum", x) /
    ("mul", x, weight tensor) / ("div", x, divisor tensor) / ("stepsum", [weight tensor or None per step])."""
    if depth > 40:
        raise NotReproduced("the loss expression is too deep")
    op = t.op
    if op.name in ks:
        if t is not op.outputs[0]:
            raise NotReproduced(f"{t.name}: the loss reads the kernel's gradient output")
        return ("ce",)
    on = [i for i in op.inputs if _reaches(i, ks)]
    if op.type in _PASS:
        return _expr(op.inputs[0], ks, depth + 1)
    if op.type in _MEAN + _SUM and op.inputs and _reaches(op.inputs[0], ks):
        inner = _expr(op.inputs[0], ks, depth + 1)
        if op.type in _SUM and inner[0] == "sum":   # a sum of sums (tf.losses sums the weighted losses again)
            return inner
        return ("mean" if op.type in _MEAN else "sum", inner)
    if op.type == "Mul" and len(on) == 1:
        other = op.inputs[1] if on[0] is op.inputs[0] else op.inputs[0]
        return ("mul", _expr(on[0], ks, depth + 1), other)
    by_value = [i for i in on if _reaches(i, ks, values_only=True)]   # a divisor may read the losses' shape
    if op.type in _DIV + ("DivNoNan",) and by_value == [op.inputs[0]]:
        return ("div" if op.type in _DIV else "div_no_nan", _expr(op.inputs[0], ks, depth + 1), op.inputs[1])
    if op.type in ("Select", "SelectV2") and _reaches(op.inputs[1], ks) and \
            (_strip(op.inputs[2]).op.type == "ZerosLike" or _is_zero(op.inputs[2])):   # TF < 1.13's _safe_div:
        # where(d > 0, x / where(d == 0, 1, d), 0)
        inner = _expr(op.inputs[1], ks, depth + 1)
        if inner[0] == "div":
            return ("div_no_nan", inner[1], _unguarded(inner[2]))
        raise NotReproduced(f"{op.name} guards {_show(inner)}, not a division")
    if op.type in _ADD and len(on) == 1:
        other = op.inputs[1] if on[0] is op.inputs[0] else op.inputs[0]
        if _is_zero(other):
            return _expr(on[0], ks, depth + 1)
        raise NotReproduced(_added_term(op, other))
    if op.type == "AddN" and len(on) == 1 and len(op.inputs) > 1:   # tf.losses.get_total_loss(): + regularisation
        others = [i for i in op.inputs if i is not on[0]]
        if all(_is_zero(o) for o in others):
            return _expr(on[0], ks, depth + 1)
        more = f" (and {len(others) - 1} more term(s))" if len(others) > 1 else ""
        raise NotReproduced(_added_term(op, next(o for o in others if not _is_zero(o))) + more)
    if op.type == "AddN" and len(on) == len(op.inputs) == len(ks):   # the per-step losses summed over steps
        steps = [_expr(i, ks, depth + 1) for i in op.inputs]
        if all(e == ("ce",) or e[0] == "mul" and e[1] == ("ce",) for e in steps):
            return ("stepsum", [None if e == ("ce",) else e[2] for e in steps])
    raise NotReproduced(f"{op.type} {op.name} on the way from the loss kernel to the loss")


def _added_term(op, other) -> str:
    """Why a term added to the cross-entropy is not reproduced, told for what it is."""
    from migrate.graph.meta import PLACEHOLDER_OPS, VARIABLE_OPS  # noqa: PLC0415
    from migrate.graph.select import data_ancestors  # noqa: PLC0415

    up = data_ancestors([other.op]).values()
    variables = sorted({o.name for o in up if o.type in VARIABLE_OPS})
    if variables and not any(o.type in PLACEHOLDER_OPS for o in up):
        shown = ", ".join(variables[:3]) + (f" and {len(variables) - 3} more" if len(variables) > 3 else "")
        from migrate.graph.regularization import NotPenalty, penalties_of  # noqa: PLC0415

        try:
            penalties_of(other)
            what = ""
        except NotPenalty as e:
            what = f" ({e})"
        return (f"{op.name} adds {other.name}, computed from the weights alone ({shown}), which is no weight "
                f"penalty carried into fit{what}: constants times tf.nn.l2_loss(w), reduce_sum(square(w)) or "
                f"reduce_sum(abs(w)) of whole variables are; for another term compile the Keras model with it "
                f"yourself (model.add_loss, or a custom train step)")
    if _scalar_const(other) is not None:
        return (f"{op.name} adds the constant {_scalar_const(other):g} to the cross-entropy (the gradients are the "
                f"same without it; the loss values are not)")
    return f"{op.name} adds {other.name}, a second term beside the cross-entropy, to the loss"


def _unguarded(d):
    """`where(equal(d, 0), ones_like(d), d)` (TF < 1.13's safe divisor) -> d; anything else as it is."""
    src = _strip(d)
    if src.op.type in ("Select", "SelectV2") and _is_one(src.op.inputs[1]):
        return src.op.inputs[2]
    return d


def _counts_nonzero(divisor) -> bool:
    """tf.losses' `num_present`: a Sum of `where(equal(weights, 0), zeros_like, ones_like)` broadcast to the losses
    (the number of non-zero weights, TF 1.x's SUM_BY_NONZERO_WEIGHTS), found by its ops, not its name."""
    from migrate.graph.select import READ_ONLY, data_ancestors  # noqa: PLC0415

    src = _strip(divisor)
    if src.op.type != "Sum":
        return False
    up = data_ancestors([src.op], stop=lambda o: o.type in READ_ONLY + ("OnesLike", "ZerosLike")).values()
    return any(o.type in ("Select", "SelectV2") and _strip(o.inputs[0]).op.type == "Equal"
               and _is_zero(o.inputs[1]) and _is_one(o.inputs[2]) for o in up) \
        and not any(o.type in LOSS_KERNELS for o in up)


def _reaches(t, ks, values_only: bool = False) -> bool:
    """Whether `t` depends on a loss kernel (`values_only`: on its values, not only on a shape read from it, as
    tf.losses' `num_present` broadcasts its weights with `ones_like(losses)`)."""
    from migrate.graph.select import READ_ONLY, data_ancestors  # noqa: PLC0415

    stop = (lambda o: o.type in READ_ONLY + ("OnesLike", "ZerosLike")) if values_only else (lambda o: False)
    return bool(ks & set(data_ancestors([t.op], stop=stop)))


def _per_step(kernels, kind, logits, anc, placeholder_ops):
    """Kernels over the pieces of one Unpack of the logits and one Unpack (same axis, same piece) of the labels
    are one cross-entropy over the stacked tensors: (sparse, labels placeholder tensor, reshaped?)."""
    from migrate.graph.select import climb  # noqa: PLC0415

    pairs = []
    for k in kernels:
        lg, lb = k.inputs[kind.logits], _strip_to_unpack(k.inputs[kind.labels])
        if climb(kernels, lg, anc) is not logits or lg.op.type != "Unpack" or lb.op.type != "Unpack":
            raise NotReproduced(f"{len(kernels)} loss kernels feed the loss (e.g. {k.name}) and not all over one "
                                f"unstacked logits tensor and its unstacked labels")
        pairs.append((lg.op, lg.value_index, lb.op, lb.value_index))
    ul, uy = pairs[0][0], pairs[0][2]
    if any(p[0] is not ul or p[2] is not uy or p[1] != p[3] for p in pairs) or \
            ul.get_attr("axis") != uy.get_attr("axis") or len(pairs) != len(ul.outputs):
        raise NotReproduced(f"the {len(kernels)} per-step loss kernels do not pair logits and labels step by step")
    src = _strip(uy.inputs[0])
    if src.op.type not in placeholder_ops or kind.form != "sparse":
        raise NotReproduced(f"the per-step labels come from {src.op.type} {src.op.name}, not an ids placeholder")
    return True, src, _other_layout(src, logits, True)


def _strip_to_unpack(t):
    while t.op.type in _PASS and t.op.inputs:
        t = t.op.inputs[0]
    return t


def _is_zero(t) -> bool:
    import numpy as np  # noqa: PLC0415

    src = _strip(t)
    if src.op.type == "Const":
        import tensorflow as tf  # noqa: PLC0415

        return bool(np.all(tf.make_ndarray(src.op.get_attr("value")) == 0))
    return src.op.type in ("ZerosLike",) or (src.op.type == "Fill" and _is_zero(src.op.inputs[1]))


def _is_one(t) -> bool:
    import numpy as np  # noqa: PLC0415

    src = _strip(t)
    if src.op.type == "Const":
        import tensorflow as tf  # noqa: PLC0415

        return bool(np.all(tf.make_ndarray(src.op.get_attr("value")) == 1))
    return src.op.type == "OnesLike" or (src.op.type == "Fill" and _is_one(src.op.inputs[1]))


def _weights(w, placeholder_ops):
    """A weight tensor -> None (ones), {"sequence_mask": lengths} or {"placeholder": tensor}."""
    from migrate.graph.select import READ_ONLY, data_ancestors  # noqa: PLC0415

    if _is_one(w):
        return None
    src = _strip(w)
    if src.op.type in placeholder_ops:
        return {"placeholder": src.name}
    up = data_ancestors([src.op], stop=lambda o: o.type in READ_ONLY)  # maxlen = tf.shape(targets)[1] reads no value
    phs = [o for o in up.values() if o.type in placeholder_ops]
    mask_like = any(o.type == "SequenceMask" or o.type == "Less" for o in up.values())
    if mask_like and len(phs) == 1 and phs[0].outputs[0].dtype.is_integer:
        return {"sequence_mask": phs[0].outputs[0].name}
    raise NotReproduced(f"the weights {w.name} are neither ones, a placeholder nor a sequence_mask of lengths")


def _match(expr, loss, k, placeholder_ops):
    """(reduction, weights, TF1 words, constant factor) for the expression tree."""
    non_scalar = loss.shape.rank != 0
    scalar_note = " (tf.gradients of a non-scalar loss: its sum)" if non_scalar else ""
    if expr == ("ce",):
        if non_scalar:
            return "sum", None, f"{k.type}, summed by tf.gradients{scalar_note}", 1.0
        return "mean", None, k.type, 1.0
    if expr[0] in ("mean", "sum") and expr[1] == ("ce",):
        return expr[0], None, f"tf.reduce_{expr[0]}({k.type})", 1.0
    if expr[0] in ("mean", "sum") and expr[1][0] == "mul" and expr[1][1] == ("ce",):
        c = _scalar_const(expr[1][2])
        if c is not None:   # tf.reduce_mean(ce * 0.5): a constant weight is a constant factor
            return expr[0], None, f"tf.reduce_{expr[0]}({k.type})", c
        w = _weights(expr[1][2], placeholder_ops)
        return expr[0], w, f"tf.reduce_{expr[0]}({k.type} * weights)", 1.0
    if expr[0] in ("div", "div_no_nan") and expr[1][0] == "sum" and expr[1][1][0] == "mul" and \
            expr[1][1][1] == ("ce",):
        w_t, divisor = expr[1][1][2], expr[2]
        c = _scalar_const(w_t)
        if _counts_nonzero(divisor):   # tf.losses.*'s default reduction
            if c is not None and c != 0.0:   # tf.losses.*(..., weights=c): sum(c * ce) / count = c * mean
                return "mean", None, f"tf.losses' SUM_BY_NONZERO_WEIGHTS over {k.type}, weights 1.0: the mean", c
            w = _weights(w_t, placeholder_ops)
            if w is None:
                return "mean", None, f"tf.losses' SUM_BY_NONZERO_WEIGHTS over {k.type}, weights 1.0: the mean", 1.0
            if "sequence_mask" in w:   # 0 / 1 weights: their count is their sum
                return "weighted_mean_no_nan", w, (f"tf.losses' SUM_BY_NONZERO_WEIGHTS over {k.type}, weights a "
                                                   f"sequence mask (0 / 1: the count of non-zero weights is their "
                                                   f"sum)"), 1.0
            raise NotReproduced(f"the loss {loss.name} is tf.losses' SUM_BY_NONZERO_WEIGHTS with weights "
                                f"{w_t.name}, which may be other than 0 / 1 (the mean over the non-zero weights is "
                                f"not their weighted mean)")
        w = _weights(w_t, placeholder_ops)
        d = divisor.op
        parts = list(d.inputs) if d.type in _ADD else [divisor]
        sums = [p for p in parts if _strip(p).op.type == "Sum"]
        if sums and _same_source(_strip(sums[0]).op.inputs[0], w_t):
            no_nan = expr[0] == "div_no_nan"
            what = ("contrib.seq2seq.sequence_loss (average_across_timesteps and average_across_batch"
                    + (", TF >= 1.13 div_no_nan)" if no_nan else ")")) if w and "sequence_mask" in w else \
                f"{'div_no_nan' if no_nan else ''}(sum({k.type} * weights), sum(weights))"
            return ("weighted_mean_no_nan" if no_nan else "weighted_mean"), w, what, 1.0
        raise NotReproduced(f"the cross-entropy sum is divided by {divisor.name}, not by the sum of its weights")
    if expr[0] in ("mean", "sum") and expr[1][0] == "div" and expr[1][1][0] == "mul" and expr[1][1][1] == ("ce",) \
            and _is_one(expr[1][1][2]):
        eps = _weights_sum_plus_epsilon(expr[1][2], expr[1][1][2])
        if eps is not None:
            # legacy_seq2seq.sequence_loss_by_example over ONE [batch * steps] logits (the char-RNNs: reduce_sum(loss)
            # / batch / steps): ce * w / (add_n([w]) + 1e-12) with w all ones is ce / (1 + 1e-12), in float32 ce
            import numpy as np  # noqa: PLC0415

            factor = float(np.float32(1.0) / (np.float32(1.0) + np.float32(eps)))
            return expr[0], None, (f"tf.reduce_{expr[0]} of legacy_seq2seq.sequence_loss_by_example over one step "
                                   f"({k.type}, weights all ones, average_across_timesteps)"), factor
    try:
        legacy = expr[0] == "div" and expr[1][0] == "sum" and expr[1][1][0] == "div" and \
            expr[1][1][1][0] == "stepsum"
    except (IndexError, TypeError):
        legacy = False
    if legacy and all(w is None or _is_one(w) for w in expr[1][1][1][1]) and _batch_size(expr[2]):
        # legacy_seq2seq.sequence_loss: sum_b(sum_t ce * w / (sum_t w + 1e-12)) / batch, w = ones: the mean
        return "mean", None, ("legacy_seq2seq.sequence_loss (sequence_loss_by_example, average_across_timesteps "
                              "and average_across_batch, weights all ones)"), 1.0
    raise NotReproduced(f"the loss {loss.name} reduces {k.type} in a form not reproduced yet ({_show(expr)})")


def _weights_sum_plus_epsilon(divisor, w):
    """The epsilon of `add_n([w]) + epsilon` (legacy sequence_loss_by_example's `total_size`, one step: the weights
    themselves, or a one-input AddN of them) when `divisor` is that and epsilon a constant in [0, 1e-6], else None."""
    d = _strip(divisor).op
    if d.type not in _ADD:
        return None
    for a, b in (d.inputs, reversed(list(d.inputs))):
        c = _scalar_const(b)
        if c is None or not 0.0 <= c <= 1e-6:
            continue
        a = _strip(a)
        if a.op.type == "AddN" and len(a.op.inputs) == 1:
            a = _strip(a.op.inputs[0])
        if _is_one(a) or _same_source(a, w):
            return c
    return None


def _batch_size(t) -> bool:
    """The divisor is the batch size read from a shape (legacy sequence_loss: cast(shape(targets[0])[0]))."""
    from migrate.graph.select import data_ancestors  # noqa: PLC0415

    up = data_ancestors([t.op])
    return any(o.type == "Shape" for o in up.values()) and not any(o.type in LOSS_KERNELS for o in up.values())


def _same_source(a, b) -> bool:
    return _strip(a).name == _strip(b).name or _strip(a).op.name.split("/")[:-1] == _strip(b).op.name.split("/")[:-1]


def _show(expr) -> str:
    if expr == ("ce",):
        return "ce"
    if expr[0] in ("mean", "sum"):
        return f"{expr[0]}({_show(expr[1])})"
    if expr[0] == "stepsum":
        return f"add_n({len(expr[1])} steps)"
    return f"{expr[0]}({_show(expr[1])}, {expr[2].name})"


def training_loss(graph, loss_name: str | None, outputs: list[str]) -> tuple[LossSpec | None, dict | None]:
    """(spec, report entry): the spec when the loss is reproduced; the report says which or why not."""
    if not loss_name:
        return None, None
    try:
        spec = recognise_loss(graph, loss_name, outputs)
    except NotReproduced as e:
        return None, {"reproduced": False, "graph": loss_name, "why": str(e)}
    return spec, spec.report()
