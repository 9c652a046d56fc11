"""`convert --from-graph --with-optimizer`: the TF1 graph's optimizer state carried into a Keras optimizer.

`fit` on the converted model then continues where the TF1 training stopped: the same update rule, the same
hyperparameters, the same slots, the same step. Six steps:

1. **The train op.** Every `Apply*` op of the graph (`APPLY_OPS`, one entry per TF op type: dense, resource and
   sparse variants) is one variable's update; its inputs name the variable, its slots and its hyperparameters
   (by the op's own input names, `op.op_def`). TF1 Adam updates a variable read by `tf.gather` (an embedding)
   without an `ApplyAdam` op (`_apply_sparse_shared`: scatter_add on the slots): such a variable's slots are the
   variables `<scope><var>/<name>` and `<scope><var>/<name>_1` that `slot_creator` made under the same optimizer
   name. A sparse update sums the gradient rows of repeated ids first where the graph has TF >= 1.1's `Unique` op
   for it (`_apply_sparse_duplicate_indices`); a TF 0.x graph does not.
2. **Hyperparameters** (learning rate, betas, epsilon, momentum, rho, `use_nesterov`): the op's inputs, folded when
   constant, else evaluated in the restored graph (a schedule of `global_step`: its value at this step, reported
   as such); one that reads a placeholder needs `--feed NAME:0=VALUE` (the value the converter fixes for
   inference is never taken: a placeholder named `learning_rate` is 0.0 there).
3. **Gradient clipping**: `tf.clip_by_global_norm(grads, N)` between `tf.gradients` and the update ops becomes
   the Keras optimizer's `global_clipnorm=N`; any other op there is reported as not reproduced.
4. **The step** (Keras `iterations`): `--step`, else `global_step`, else (Adam) the beta powers decoded exactly
   (`migrate.checkpoint.optimizer.resolve_step`, shared with the checkpoint converter); Momentum, RMSProp and
   Adagrad do not use it (it starts at 0 without a `global_step`).
5. **Which TF element each Keras weight element is.** The translation is run again with the trained variables
   replaced by probe values (0, then element ids written in base 2048 digits) - the same code that converted the
   weights, so any rearrangement it makes (a transposed kernel, an LSTM's gate reorder and split, the forget bias
   folded in) is found without a second description of it. Each Keras weight is then checked to be exactly
   `sign * tf_variable[index] + offset` elementwise on the real values; a weight that is not (a value computed
   from several variables) stops the conversion (exit 2) rather than carrying wrong slots. A slot follows its
   variable: first-moment slots (Adam m, Momentum accumulator, RMSProp mom and mg) with the sign, second-moment
   slots (Adam v, RMSProp ms, Adagrad accumulator) without it; the forget bias, a shift of the weight, never
   reaches a slot.
6. **The Keras optimizer** (`Family`: one per TF1 optimizer, with why its update equals TF1's), built on the
   model's trainable weights, slots assigned, `iterations` set; the model is compiled with it, so `model.keras`
   holds it (and `model.weights.h5` its variables). Keras' own classes reproduce TF1 exactly for dense variables;
   `tf_migrate_runtime.optimizers` has TF1's rule where they do not: Adam with `use_nesterov=True`, and models
   with an embedding (TF1's sparse updates: repeated ids summed, Momentum / RMSProp touching only the batch's
   rows; a TF 0.x graph's Adam without the sum, its clip keeping the `IndexedSlices`).

| TF1 (`tf.compat.v1.train.*`) | TF1 kernel (training_ops.cc)                               | Keras                                       |
|------------------------------|------------------------------------------------------------|---------------------------------------------|
| AdamOptimizer                | m += (g-m)(1-b1); v += (g^2-v)(1-b2);                      | Adam(lr, b1, b2, epsilon): the same, with   |
|                              | var -= lr sqrt(1-b2p)/(1-b1p) m/(sqrt(v)+eps)              | b^(iterations+1) for the powers             |
| MomentumOptimizer            | a = mu a + g; var -= lr a (nesterov: lr (g + mu a))        | SGD(lr, mu, nesterov): velocity = -lr a     |
| RMSPropOptimizer             | ms += (g^2-ms)(1-rho); mom = mu mom + lr g/sqrt(ms+eps);   | RMSprop(lr, rho, mu, epsilon): the same     |
|                              | var -= mom (centered: mg += (g-mg)(1-rho), ms-mg^2+eps)    | (epsilon inside the sqrt too), centered     |
| AdagradOptimizer             | a += g^2; var -= lr g/sqrt(a) (no epsilon)                 | Adagrad(lr, epsilon=0)                      |
| GradientDescentOptimizer     | var -= lr g                                                | SGD(lr)                                     |

Not carried (exit 2, the message says which): several optimizers or train ops in one graph, other optimizers
(Adadelta, Ftrl, ProximalAdagrad, AdamWithAmsgrad), Adagrad with `update_slots=False`, slots the checkpoint lacks, a
hyperparameter reading a placeholder not given with `--feed`, a Keras weight that is not a rearrangement of TF
variables. Noted in the report: Keras weights no TF1 optimizer trained (Keras' `fit` trains them), TF variables
copied into several Keras weights (`fit` updates the copies separately), the sparse rule used for embeddings, and
as NOT REPRODUCED: other gradient transforms, a TF 0.x graph's Momentum / RMSProp / Adagrad on repeated ids.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from migrate.errors import InputError

PROBE_BASE = 2048   # element ids written in base-2048 digits: each digit + 1 and any offset stay exact in float32


class OptimizerError(InputError):
    """The graph's optimizer state cannot be carried (exit 2): the message names the op / variable and the way out."""


@dataclass(frozen=True)
class Slot:
    """One TF1 slot input of an apply op and the Keras optimizer variable it becomes."""

    tf1: str            # the apply op's input name (op_def): m, v, accum, ms, mom, mg
    keras: str          # the Keras slot's name suffix (`add_variable_from_reference`): momentum, velocity, ...
    signed: bool        # a first moment (follows the weight's sign) or a second moment (a square: no sign)
    minus_lr: bool = False   # Keras stores -lr * the TF1 value (SGD's velocity vs TF1's accumulator)


@dataclass(frozen=True)
class Family:
    keras: str                       # the Keras class (keras.optimizers.<name>, or the runtime's)
    slots: tuple[Slot, ...]
    hyper: tuple[str, ...]           # the apply op's hyperparameter inputs (op_def names)
    why: str                         # why the Keras rule equals TF1's


_ADAM = Family("Adam", (Slot("m", "momentum", True), Slot("v", "velocity", False)),
               ("lr", "beta1", "beta2", "epsilon"),
               "Keras Adam is TF1's ApplyAdam: m, v updated alike, lr*sqrt(1-b2^t)/(1-b1^t), epsilon outside the sqrt "
               "(TF1's 'epsilon hat'), t = iterations + 1 = TF1's beta_power exponent")
_MOMENTUM = Family("SGD", (Slot("accum", "momentum", True, minus_lr=True),), ("lr", "momentum"),
                   "Keras SGD keeps velocity = momentum*velocity - lr*g = -lr * TF1's accumulator (momentum*a + g) "
                   "for a constant lr, and var += velocity (nesterov: var += momentum*velocity - lr*g)")
_RMSPROP = Family("RMSprop", (Slot("ms", "velocity", False), Slot("mom", "momentum", True)),
                  ("lr", "rho", "momentum", "epsilon"),
                  "Keras RMSprop is TF1's ApplyRMSProp: ms = rho*ms + (1-rho)*g^2, mom = momentum*mom + "
                  "lr*g/sqrt(ms + epsilon) (epsilon inside the sqrt in both), var -= mom")
_CENTERED = Family("RMSprop", (Slot("ms", "velocity", False), Slot("mom", "momentum", True),
                               Slot("mg", "average_gradient", True)),
                   ("lr", "rho", "momentum", "epsilon"),
                   "Keras RMSprop(centered=True) is TF1's ApplyCenteredRMSProp: mg = rho*mg + (1-rho)*g, "
                   "denominator sqrt(ms - mg^2 + epsilon)")
_ADAGRAD = Family("Adagrad", (Slot("accum", "accumulator", False),), ("lr",),
                  "Keras Adagrad with epsilon=0 is TF1's ApplyAdagrad: accum += g^2, var -= lr*g/sqrt(accum)")
_GRADIENT_DESCENT = Family("SGD", (), ("alpha",),
                           "Keras SGD without momentum is TF1's ApplyGradientDescent: var -= lr*g (no state)")

# TF op type -> the family whose update it is (dense, resource and sparse variants: training_ops.cc).
APPLY_OPS: dict[str, Family] = {
    "ApplyAdam": _ADAM, "ResourceApplyAdam": _ADAM,
    "ApplyMomentum": _MOMENTUM, "ResourceApplyMomentum": _MOMENTUM,
    "SparseApplyMomentum": _MOMENTUM, "ResourceSparseApplyMomentum": _MOMENTUM,
    "ApplyRMSProp": _RMSPROP, "ResourceApplyRMSProp": _RMSPROP,
    "SparseApplyRMSProp": _RMSPROP, "ResourceSparseApplyRMSProp": _RMSPROP,
    "ApplyCenteredRMSProp": _CENTERED, "ResourceApplyCenteredRMSProp": _CENTERED,
    "SparseApplyCenteredRMSProp": _CENTERED, "ResourceSparseApplyCenteredRMSProp": _CENTERED,
    "ApplyAdagrad": _ADAGRAD, "ResourceApplyAdagrad": _ADAGRAD,
    "SparseApplyAdagrad": _ADAGRAD, "ResourceSparseApplyAdagrad": _ADAGRAD,
    "ApplyGradientDescent": _GRADIENT_DESCENT, "ResourceApplyGradientDescent": _GRADIENT_DESCENT,
}

# Update ops of optimizers not carried: named in the refusal.
NOT_CARRIED = ("ApplyAdadelta", "ResourceApplyAdadelta", "SparseApplyAdadelta", "ApplyFtrl", "ApplyFtrlV2",
               "ResourceApplyFtrl", "ResourceApplyFtrlV2", "SparseApplyFtrl", "ApplyProximalAdagrad",
               "ResourceApplyProximalAdagrad", "ApplyAdagradDA", "ResourceApplyAdagradDA",
               "ResourceApplyAdamWithAmsgrad", "ApplyAdagradV2", "ResourceApplyAdagradV2", "ApplyAddSign",
               "ApplyPowerSign", "ResourceApplyKerasMomentum", "ApplyAdaMax", "ResourceApplyAdaMax",
               "ApplyProximalGradientDescent")


@dataclass
class Update:
    """One variable's update in the graph: its op, variable, slot variables (role -> variable name)."""

    op: object | None        # the apply op (None: TF1 Adam's sparse update, found by the slots' names)
    variable: str
    slots: dict[str, str]
    sparse: bool = False
    summed: bool = True      # sparse: repeated ids' gradient rows summed first (a `Unique` op: TF >= 1.1)


@dataclass
class Found:
    family: Family
    updates: list[Update]
    hyper: dict[str, float] = field(default_factory=dict)
    hyper_notes: dict[str, str] = field(default_factory=dict)
    hyper_sources: dict[str, str] = field(default_factory=dict)
    clip: tuple[str, float, str] | None = None     # ("global_clipnorm" | "clipvalue", N, tensor) before the update
    unknown_transform: str | None = None           # ops between tf.gradients and the update not reproduced
    dense_before_clip: bool = False                # TF <= 1.2's clip_by_value made an IndexedSlices dense first
    nesterov: bool = False
    optimizer_name: str = ""


def _inputs(op) -> dict[str, object]:
    return {a.name: t for a, t in zip(op.op_def.input_arg, op.inputs)}


def find_updates(view) -> Found:
    """The graph's one optimizer and every variable it updates; `OptimizerError` otherwise."""
    g = view.graph
    ops = [o for o in g.get_operations() if o.type in APPLY_OPS]
    other = sorted({o.type for o in g.get_operations() if o.type in NOT_CARRIED})
    if other:
        raise OptimizerError(f"--with-optimizer: the graph updates variables with {', '.join(other)}; carried are "
                             f"Adam, Momentum, RMSProp, Adagrad and GradientDescent (tf.compat.v1.train). Convert without "
                             f"--with-optimizer and compile a Keras optimizer of your own.")
    if not ops:
        raise OptimizerError("--with-optimizer: the graph has no optimizer update op (ApplyAdam, ApplyMomentum, "
                             "ApplyRMSProp, ApplyAdagrad, ApplyGradientDescent, ...): it was saved without its train op. Convert without "
                             "--with-optimizer.")
    families = {APPLY_OPS[o.type].keras + (" centered" if APPLY_OPS[o.type] is _CENTERED else "") for o in ops}
    if len(families) > 1:
        raise OptimizerError(f"--with-optimizer: the graph trains with {len(families)} optimizers ("
                             f"{', '.join(sorted(families))}); one Keras optimizer can hold one. Convert without "
                             f"--with-optimizer.")
    family = APPLY_OPS[ops[0].type]
    updates, seen = [], {}
    for o in ops:
        ins = _inputs(o)
        var = view.variable_of(ins["var"])
        slots = {s.tf1: view.variable_of(ins[s.tf1]) for s in family.slots}
        if var is None or None in slots.values():
            raise OptimizerError(f"--with-optimizer: {o.type} {o.name} does not read its variable and slots from "
                                 f"variables; convert without --with-optimizer.")
        if var in seen:
            raise OptimizerError(f"--with-optimizer: {var} is updated by two ops ({seen[var]}, {o.name}): the graph "
                                 f"has several train ops; one Keras optimizer holds one. Convert without "
                                 f"--with-optimizer.")
        seen[var] = o.name
        updates.append(Update(o, var, slots, sparse="SparseApply" in o.type))
    found = Found(family, updates)
    if family is _ADAM:
        found.nesterov = _same_attr(ops, "use_nesterov")
        scope_name = _adam_name(updates[0])
        found.optimizer_name = scope_name[1]
        found.updates += _sparse_adam(view, scope_name, seen)
    elif family is _MOMENTUM:
        found.nesterov = _same_attr(ops, "use_nesterov")
    elif family is _ADAGRAD and not all(_attr(o, "update_slots", True) for o in ops):
        raise OptimizerError(f"--with-optimizer: {ops[0].name} has its update_slots attribute off (the accumulator is frozen); "
                             f"Keras Adagrad always updates it. Convert without --with-optimizer.")
    # TF >= 1.1 sums the gradient rows of repeated ids before a sparse update (`Optimizer.
    # _apply_sparse_duplicate_indices`: `Unique` + `UnsortedSegmentSum` in the variable's `update_<var>` scope);
    # TF 0.x graphs apply them as they come.
    unique = [o.name for o in g.get_operations() if o.type == "Unique"]
    for u in found.updates:
        if u.sparse:
            u.summed = any(f"update_{u.variable}/" in n for n in unique)
    return found


def _attr(op, name, default):
    try:
        return op.get_attr(name)
    except ValueError:
        return default


def _same_attr(ops, name) -> bool:
    values = {bool(_attr(o, name, False)) for o in ops}
    if len(values) > 1:
        raise OptimizerError(f"--with-optimizer: the update ops disagree on {name} (e.g. {ops[0].name}); one Keras "
                             f"optimizer has one value. Convert without --with-optimizer.")
    return values.pop()


def _adam_name(update: Update) -> tuple[str, str]:
    """(name scope, name) TF1's slot_creator gave the m slot: `<scope><var>/<name>`, e.g. ("", "Adam"),
    ("training/", "Adam") or ("Adam/", "Adam") (slots created under a name scope), or a custom optimizer name."""
    head, _, name = update.slots["m"].rpartition("/")
    if head.endswith(update.variable) and (len(head) == len(update.variable) or
                                           head[-len(update.variable) - 1] == "/"):
        return head[:len(head) - len(update.variable)], name
    return "", ""


def _sparse_adam(view, scope_name: tuple[str, str], dense: dict) -> list[Update]:
    """Variables TF1 Adam updated through `_apply_sparse_shared` (no ApplyAdam op): an embedding read by gather.
    Their slots are the variables `<scope><var>/<name>` and `<scope><var>/<name>_1` of the same optimizer."""
    scope, name = scope_name
    if not name:
        return []
    from migrate.graph.meta import VARIABLE_OPS  # noqa: PLC0415

    variables = {o.name for o in view.graph.get_operations() if o.type in VARIABLE_OPS}
    out = []
    for var in sorted(variables):
        if var in dense:
            continue
        m, v = f"{scope}{var}/{name}", f"{scope}{var}/{name}_1"
        if m in variables and v in variables:
            out.append(Update(None, var, {"m": m, "v": v}, sparse=True))
    return out


# -- what happens to the gradients before the update ---------------------------------------------------------
_PASS_GRAD = ("Identity", "Reshape", "Cast")


def read_gradient_clipping(view, found: Found) -> None:
    """`tf.clip_by_global_norm(grads, N)` or `tf.clip_by_value(g, -N, N)` between `tf.gradients` and the update
    ops -> `found.clip` (Keras' `global_clipnorm` / `clipvalue`, or the runtime's TF1 clip). Any other op there
    (another clip, a scale, noise) is named in `found.unknown_transform`: fit would not reproduce it."""
    from migrate.checkpoint.tables import is_gradient  # noqa: PLC0415

    def strip(t):
        while not is_gradient(t.op.name):
            if t.op.type in _PASS_GRAD:
                t = t.op.inputs[0]
            elif t.op.type == "UnsortedSegmentSum" and is_gradient(strip(t.op.inputs[0]).op.name):
                found.dense_before_clip = True     # convert_to_tensor(IndexedSlices): repeated rows summed
                t = t.op.inputs[0]
            else:
                break
        return t

    clips, unknown = set(), set()
    for u in found.updates:
        if u.op is None:
            continue
        ins = _inputs(u.op)
        t = strip(ins["grad" if "grad" in ins else "delta"])
        if t.op.type == "Mul" and "clip_by_global_norm" in t.op.name:
            got = _global_norm_clip(view, t.op)
            if got is None:
                unknown.add(t.op.name)
                continue
            clips.add(("global_clipnorm",) + got)
            t = strip(next(i for i in t.op.inputs if "clip_by_global_norm" not in i.op.name or is_gradient(i.op.name)))
        elif t.op.type == "Maximum" and "clip_by_value" in t.op.name:
            got = _value_clip(view, t.op)
            if got is None:
                unknown.add(t.op.name)
                continue
            clips.add(("clipvalue",) + got[:2])
            t = strip(got[2])
        if not is_gradient(t.op.name):
            unknown.add(f"{t.op.type} {t.op.name}")
    kinds = {(k, v) for k, v, _ in clips}     # clip_by_value makes its bounds per gradient: one value, many tensors
    if len(kinds) > 1:
        unknown.add(" and ".join(f"{k} {v:g}" for k, v in sorted(kinds)))
    elif clips:
        found.clip = min(clips)
    if unknown:
        found.unknown_transform = ", ".join(sorted(unknown)[:4]) + (" ..." if len(unknown) > 4 else "")


def _value_clip(view, maximum):
    """(N, its tensor, the clipped tensor) of `tf.clip_by_value(t, -N, N)` = maximum(minimum(t, N), -N)."""
    mn, lo = maximum.inputs[0], maximum.inputs[1]
    if mn.op.type != "Minimum" or not (view.foldable(lo.op) and view.foldable(mn.op.inputs[1].op)):
        return None
    hi = mn.op.inputs[1]
    low, high = np.asarray(view.fold(lo)), np.asarray(view.fold(hi))
    if low.size != 1 or high.size != 1 or float(low) != -float(high) or float(high) <= 0:
        return None
    return float(high), hi.name, mn.op.inputs[0]


def _global_norm_clip(view, mul) -> tuple[float, str] | None:
    """(clip_norm, its tensor) of `clip_by_global_norm`'s `v * scale`, scale = clip_norm * minimum(1 / norm,
    1 / clip_norm) (+ (norm - norm) from TF 1.x on, which keeps a NaN norm NaN)."""
    for scale in mul.inputs:
        op = scale.op
        if op.type in ("Add", "AddV2"):
            op = next((i.op for i in op.inputs if i.op.type == "Mul"), op)
        if op.type != "Mul" or not any(i.op.type == "Minimum" for i in op.inputs):
            continue
        norm = next(i for i in op.inputs if i.op.type != "Minimum")
        if not view.foldable(norm.op):
            return None
        value = np.asarray(view.fold(norm))
        return (float(value), norm.name) if value.size == 1 else None
    return None


# -- hyperparameters and step ---------------------------------------------------------------------------------
def read_hyperparameters(view, found: Found, fed: set[str] = frozenset()) -> None:
    """Each hyperparameter input of the update ops, evaluated once per tensor; all ops must agree. `fed`: the
    placeholders the user gave with `--feed` (a value the converter chose for inference, e.g. 0.0 for a
    placeholder named `learning_rate`, is never taken for a hyperparameter)."""
    values: dict[str, tuple[float, str]] = {}
    cache: dict[str, tuple[float, str | None]] = {}
    for u in found.updates:
        if u.op is None:
            continue
        ins = _inputs(u.op)
        for h in found.family.hyper:
            t = ins[h]
            if t.name not in cache:
                cache[t.name] = _evaluate(view, t, u.op, h, fed)
            value, note = cache[t.name]
            if h in values and not np.isclose(values[h][0], value, rtol=1e-6, atol=0):
                raise OptimizerError(f"--with-optimizer: the update ops disagree on {h}: {values[h][1]} = "
                                     f"{values[h][0]:g}, {t.name} = {value:g} (several optimizers, or a per-variable "
                                     f"learning rate); one Keras optimizer has one value. Convert without "
                                     f"--with-optimizer.")
            values[h] = (value, t.name)
            if note:
                found.hyper_notes[h] = note
    found.hyper = {h: v for h, (v, _t) in values.items()}
    found.hyper_sources = {h: t for h, (_v, t) in values.items()}


def _evaluate(view, t, op, role, fed) -> tuple[float, str | None]:
    """(value, note): a constant folded; else the tensor run in the restored graph (at the checkpoint's step)."""
    phs = [p for p in _placeholders(view, t) if p not in fed]
    if phs:
        raise OptimizerError(f"--with-optimizer: {role} of {op.type} {op.name} is {t.name}, which reads the "
                             f"placeholder {', '.join(p + ':0' for p in phs)} (fed at each training step); pass "
                             f"its value: --feed {phs[0]}:0=VALUE.")
    if view.foldable(t.op):
        value = np.asarray(view.fold(t))
        note = None
    else:
        feed = {view.graph.get_tensor_by_name(k + ":0"): v for k, v in view.inference_values.items()}
        try:
            value = np.asarray(view.session.run(t, feed))
        except Exception as e:  # noqa: BLE001 - reported with the tensor it concerns
            raise OptimizerError(f"--with-optimizer: {role} of {op.type} {op.name} is {t.name}, which cannot be "
                                 f"computed in the restored graph ({type(e).__name__}: {str(e).splitlines()[0][:200]}"
                                 f"); convert without --with-optimizer.") from None
        note = (f"{t.name} is computed from the graph's variables (a schedule of global_step?): its value at "
                f"this checkpoint, kept constant by the Keras optimizer")
    if value.size != 1 or not np.isfinite(value).all():
        raise OptimizerError(f"--with-optimizer: {role} of {op.type} {op.name} ({t.name}) is {value!r}, not one "
                             f"finite number; convert without --with-optimizer.")
    return float(value.reshape(())), note


def _placeholders(view, t) -> list[str]:
    """The placeholders (not PlaceholderWithDefault: it has its value) a tensor is computed from."""
    from migrate.graph.meta import VARIABLE_OPS  # noqa: PLC0415

    seen, stack, out = set(), [t.op], []
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen.add(o.name)
        if o.type in ("Placeholder", "PlaceholderV2"):
            out.append(o.name)
        if o.type not in VARIABLE_OPS:
            stack.extend(i.op for i in o.inputs)
    return sorted(out)


def global_step_variable(view) -> str | None:
    """`tf.train.get_or_create_global_step`'s variable: the GLOBAL_STEP collection, else an integer variable
    named `global_step`."""
    from migrate.graph.meta import VARIABLE_OPS  # noqa: PLC0415

    for v in view.graph.get_collection("global_step"):
        return v.op.name
    for o in view.graph.get_operations():
        if o.type in VARIABLE_OPS and o.name.rsplit("/", 1)[-1] == "global_step":
            return o.name
    return None


def optimizer_step(view, ckpt, found: Found, given: int | None) -> tuple[int, str]:
    """(iterations, where from): `--step`, `global_step`, Adam's beta powers (exactly decoded), else 0 / exit 2."""
    from migrate.checkpoint.optimizer import resolve_step, step_from_power  # noqa: PLC0415

    gname = global_step_variable(view)
    gstep = (gname, int(np.asarray(ckpt.read(gname)).reshape(()))) if gname in ckpt.variables else None
    if found.family is not _ADAM:
        if given is not None or gstep is not None:
            return resolve_step(ckpt.prefix, given=given, global_step=gstep, powers=[], error=OptimizerError)
        return 0, f"0: no global_step ({found.family.keras}'s update does not depend on the step)"
    ins = _inputs(next(u.op for u in found.updates if u.op is not None))
    powers = []
    for power, beta in (("beta2_power", "beta2"), ("beta1_power", "beta1")):
        name = view.variable_of(ins[power])
        if name is not None and name in ckpt.variables:
            powers.append(step_from_power(name, ckpt.read(name), found.hyper[beta]))
    return resolve_step(ckpt.prefix, given=given, global_step=gstep, powers=powers, error=OptimizerError)


# -- which TF element each Keras weight element is --------------------------------------------------------------
@dataclass
class Source:
    """A Keras weight's elements as TF elements: `ids` (1-based into the probed variables' concatenation, 0 = no
    trained TF element) and `sign` (+1 / -1)."""

    ids: np.ndarray
    sign: np.ndarray
    variables: list[str]


def probe_sources(view, outputs, input_shapes, recognise_rnns, weights: dict, probed: list[str]) -> dict:
    """{(layer name, weight index): Source} for every Keras weight the translation gave values, by translating
    again with the probed variables set to 0 and to their element ids (see the module docstring, step 4)."""
    real = {n: np.asarray(view.variable_values(n)) for n in probed}
    sizes = [real[n].size for n in probed]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    total = int(starts[-1])
    digits = 1
    while PROBE_BASE ** digits < total + 1:
        digits += 1
    ids = np.arange(1, total + 1, dtype=np.int64)

    def values(fn):
        return {n: fn(i).reshape(real[n].shape).astype(real[n].dtype)
                for i, n in enumerate(probed)}

    zero = _translate_with(view, outputs, input_shapes, recognise_rnns, values(lambda i: np.zeros(sizes[i])))
    runs = []
    for d in range(digits):
        runs.append(_translate_with(view, outputs, input_shapes, recognise_rnns, values(
            lambda i, d=d: (ids[starts[i]:starts[i + 1]] // PROBE_BASE ** d) % PROBE_BASE + 1)))
    flat_real = np.concatenate([real[n].reshape(-1).astype(np.float64) for n in probed]) if probed else np.zeros(0)
    out = {}
    for lname, arrays in weights.items():
        for index, w in enumerate(arrays):
            key = (lname, index)
            c = np.asarray(zero[lname][index], np.float64)
            rs = [np.asarray(r[lname][index], np.float64) - c for r in runs]
            out[key] = _decode(key, rs, c, np.asarray(w, np.float64), flat_real, starts, probed)
    return out


def _decode(key, rs, c, w, flat_real, starts, probed) -> Source | str:
    """A Source, or why the weight is not `sign * one TF element + offset` elementwise."""
    with np.errstate(invalid="ignore"):
        first = rs[0]
        has = np.abs(first) > 0.5
        sign = np.where(first < 0, -1, 1).astype(np.int8)
        ids = np.zeros(w.shape, np.int64)
        for d, r in enumerate(rs):
            mag = np.abs(r)
            digit = np.rint(mag)
            ok = np.where(has, (np.abs(mag - digit) < 0.05) & (digit >= 1) & (digit <= PROBE_BASE)
                          & (np.sign(r) == sign), mag < 0.05)
            if not ok.all():
                return f"{key[0]} weight {key[1]}: a value computed from several variables or by a non-linear function"
            ids += np.where(has, (digit.astype(np.int64) - 1) * PROBE_BASE ** d, 0)
        ids = np.where(has, ids, 0)     # the ids written were 1-based already
        if (ids > flat_real.size).any():
            return f"{key[0]} weight {key[1]}: a probe id outside the variables"
        rebuilt = np.where(has, sign * flat_real[np.maximum(ids, 1) - 1], 0.0) + c
        if not np.all(np.abs(rebuilt - w) <= 1e-6 * (1 + np.abs(w))):
            return f"{key[0]} weight {key[1]}: not a rearrangement of TF variables (rebuilt from them it differs)"
    var_of = np.searchsorted(starts, ids[ids > 0] - 1, side="right") - 1
    return Source(ids, sign, sorted({probed[i] for i in np.unique(var_of)}))


def _translate_with(view, outputs, input_shapes, recognise_rnns, values: dict) -> dict:
    """The translation's weights with some variables' values replaced (nothing else differs)."""
    from migrate.graph.translate import translate  # noqa: PLC0415

    pv = _ProbeView(view, values)
    providers = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if recognise_rnns:
            from migrate.graph.constructs import recognise  # noqa: PLC0415

            providers = recognise(pv, outputs)
        tr = translate(pv, outputs, input_shapes=input_shapes, providers=providers)
    return tr.emitter.weights


def _probe_view_class():
    from migrate.graph.meta import GraphView  # noqa: PLC0415

    class ProbeView(GraphView):
        def __init__(self, base, values):
            super().__init__(base.tf1)
            self.inference_values = dict(base.inference_values)
            self.fed = set(base.fed)
            self._base, self._probe = base, values

        def variable_values(self, name):
            if name in self._probe:
                return self._probe[name]
            return self._base.variable_values(name)

    return ProbeView


def _ProbeView(base, values):  # noqa: N802 - a class made on first use (meta imports TensorFlow)
    return _probe_view_class()(base, values)


# -- the Keras optimizer ------------------------------------------------------------------------------------------
def keras_optimizer(found: Found, sparse_paths: list[str], summed: bool = True, gathered: bool = False):
    """The Keras optimizer whose update is TF1's (the table in the module docstring), unbuilt. `sparse_paths`: the
    Keras weights TF1 updated sparsely; `gathered`: the model has weights TF1 read by a gather (an embedding),
    whose Keras gradients are `IndexedSlices`: TF1's rule for them needs the runtime's classes."""
    import keras  # noqa: PLC0415

    h, fam = found.hyper, found.family
    # plain gradient descent on IndexedSlices is TF1's rule already, unless a clip treats their rows
    runtime = gathered and (fam is not _GRADIENT_DESCENT or found.clip is not None) or bool(sparse_paths) or \
        found.nesterov and fam is _ADAM
    if runtime:
        import tf_migrate_runtime.optimizers as rt  # noqa: PLC0415
    clip = {}
    if found.clip:      # Keras' own clip for its own classes; TF1's, keeping IndexedSlices, for the runtime's
        kind, value, _ = found.clip
        clip = {("clip_norm" if kind == "global_clipnorm" else "clip_value") if runtime else kind: value}
        if runtime and found.dense_before_clip:
            clip["dense_before_clip"] = True
    if fam is _ADAM:
        kw = {"learning_rate": h["lr"], "beta_1": h["beta1"], "beta_2": h["beta2"], "epsilon": h["epsilon"], **clip}
        return rt.TF1Adam(use_nesterov=found.nesterov, sum_repeated_rows=summed, **kw) if runtime else \
            keras.optimizers.Adam(**kw)
    if fam is _MOMENTUM:
        if not 0.0 <= h["momentum"] <= 1.0:
            raise OptimizerError(f"--with-optimizer: momentum {h['momentum']:g} ({found.hyper_sources['momentum']}) is "
                                 f"outside [0, 1], which Keras SGD refuses. Convert without --with-optimizer.")
        kw = {"learning_rate": h["lr"], "momentum": h["momentum"], "nesterov": found.nesterov, **clip}
        return rt.TF1Momentum(sparse_variables=sparse_paths, **kw) if runtime else keras.optimizers.SGD(**kw)
    if fam in (_RMSPROP, _CENTERED):
        kw = {"learning_rate": h["lr"], "rho": h["rho"], "momentum": h["momentum"], "epsilon": h["epsilon"],
              "centered": fam is _CENTERED, **clip}
        return rt.TF1RMSProp(sparse_variables=sparse_paths, **kw) if runtime else keras.optimizers.RMSprop(**kw)
    if fam is _GRADIENT_DESCENT:     # TF1Momentum without momentum is plain SGD with TF1's clip
        return rt.TF1Momentum(learning_rate=h["alpha"], **clip) if runtime else \
            keras.optimizers.SGD(learning_rate=h["alpha"], **clip)
    kw = {"learning_rate": h["lr"], "epsilon": 0.0, **clip}          # TF1's ApplyAdagrad has no epsilon
    return rt.TF1Adagrad(**kw) if runtime else keras.optimizers.Adagrad(**kw)


def carry_optimizer(view, model, weights: dict, *, outputs, input_shapes, recognise_rnns: bool, checkpoint: str,
                    step: int | None = None, fed=(), log=print) -> dict:
    """Build the Keras optimizer holding the graph's optimizer state, compile `model` with it (so `model.keras`
    holds it) and return the report's `optimizer` entry. `weights`: the translation's `{layer name: [arrays]}`
    (`tr.emitter.weights`), the values each Keras layer was given; `fed`: the placeholders given by `--feed`.
    Raises `OptimizerError` (exit 2)."""
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    ckpt = Checkpoint.open(checkpoint)
    found = find_updates(view)
    read_hyperparameters(view, found, {str(f).split(":")[0] for f in fed})
    read_gradient_clipping(view, found)
    iterations, iterations_from = optimizer_step(view, ckpt, found, step)
    fam = found.family
    slot_names = {s.tf1: s for s in fam.slots}
    lacking = [u.slots[r] for u in found.updates for r in slot_names if u.slots[r] not in ckpt.variables]
    if lacking:
        raise OptimizerError(f"{ckpt.prefix}: --with-optimizer: the checkpoint lacks {len(lacking)} optimizer slot(s) "
                             f"the .meta declares ({', '.join(lacking[:4])}{' ...' if len(lacking) > 4 else ''}): it "
                             f"was saved without them. Convert without --with-optimizer.")
    by_var = {u.variable: u for u in found.updates}
    probed = sorted(by_var) if fam.slots else []     # plain gradient descent has no state to map
    sources = probe_sources(view, outputs, input_shapes, recognise_rnns, weights, probed) if probed else {}
    used = {v for src in sources.values() if not isinstance(src, str) for v in src.variables}
    trainables = list(model.trainable_variables)
    where = {id(w): (layer.name, i) for layer in model.layers for i, w in enumerate(layer.weights)}
    sparse_vars = {u.variable for u in found.updates if u.sparse and u.variable in used}
    sparse_paths = []     # the Keras weights of variables TF1 updated sparsely (embeddings)
    for w in trainables:
        src = sources.get(where.get(id(w)))
        if isinstance(src, Source) and sparse_vars & set(src.variables):
            sparse_paths.append(w.path)

    gathered = _gathered_variables(view) & used if probed else _gathered_variables(view)
    summed = all(u.summed for u in found.updates if u.variable in sparse_vars)
    opt = keras_optimizer(found, sparse_paths, summed, bool(gathered))
    opt.build(trainables)
    slots_by_name = {v.name: v for v in opt.variables}
    flat = {r: np.concatenate([np.asarray(ckpt.read(by_var[v].slots[r]), np.float64).reshape(-1) for v in probed])
            if probed else np.zeros(0) for r in slot_names}
    lr = found.hyper.get("lr", 0.0)
    carried, untrained, rows = 0, [], []
    mapped: list[tuple[str, Source]] = []
    for w in trainables:
        key = where.get(id(w))
        src = sources.get(key) if key is not None else None
        label = f"{key[0]}/{w.name}" if key else w.path
        if isinstance(src, str):
            raise OptimizerError(f"--with-optimizer: the Keras weight {label}: {src.split(': ', 1)[-1]}; its slots "
                                 f"cannot be carried. Convert without --with-optimizer.")
        if src is None or not (src.ids > 0).any():
            if fam.slots:
                untrained.append(label)
            continue
        mapped.append((label, src))
        for s in fam.slots:
            target = slots_by_name.get(f"{w.path.replace('/', '_')}_{s.keras}")
            if target is None:       # SGD / RMSprop without momentum keep no momentum slot: nothing to carry
                continue
            value = np.where(src.ids > 0, flat[s.tf1][np.maximum(src.ids, 1) - 1], 0.0)
            if s.signed:
                value = value * src.sign
            if s.minus_lr:
                value = -lr * value
            target.assign(value.reshape(tuple(w.shape)).astype(np.dtype(str(target.dtype))))
            carried += 1
        rows.append({"keras": label, "tf1": src.variables,
                     "slots": {s.keras: [by_var[v].slots[s.tf1] for v in src.variables] for s in fam.slots}})
    opt.iterations.assign(iterations)
    model.compile(optimizer=opt)     # model.keras holds the optimizer (and model.weights.h5 its variables)

    cls = type(opt)
    name = f"{cls.__module__.split('.src.')[0]}.optimizers.{cls.__name__}" if cls.__module__.startswith("keras") \
        else f"{cls.__module__}.{cls.__name__}"
    config = {k: v for k, v in opt.get_config().items() if k in ("learning_rate", "beta_1", "beta_2", "epsilon",
                                                                  "momentum", "nesterov", "rho", "centered",
                                                                  "use_nesterov", "sparse_variables", "global_clipnorm",
                                                                  "clipvalue", "sum_repeated_rows", "clip_norm",
                                                                  "clip_value", "dense_before_clip")
              and v is not None}
    notes = [f"{h}: {n}" for h, n in found.hyper_notes.items()]
    if found.unknown_transform:
        notes.append(f"NOT REPRODUCED: the gradients go through {found.unknown_transform} between tf.gradients and "
                     f"the update; Keras' fit applies the optimizer to the plain gradients (add the same transform "
                     f"to your training step to continue exactly)")
    tied = _copies(mapped)
    if tied:
        notes.append("TF variables copied into several Keras weights (fit updates each copy on its own; TF1 trained "
                     "one): " + "; ".join(f"{', '.join(vs)} -> {', '.join(ws)}" for vs, ws in tied))
    if sparse_vars and not summed and fam is not _ADAM:
        notes.append(f"NOT REPRODUCED: {', '.join(sorted(sparse_vars))}: this graph (TF < 1.1) applies the gradient "
                     f"rows of repeated ids one after another ({fam.keras}'s sparse kernel); Keras sums them first")
    elif sparse_vars and not summed:
        notes.append(f"{', '.join(sorted(sparse_vars))}: this graph (TF < 1.1) does not sum the gradient rows of "
                     f"repeated ids: v gets the sum of their squares; TF1Adam(sum_repeated_rows=False) does the same "
                     f"on the TensorFlow backend (JAX and PyTorch give Keras the summed gradient)")
    elif sparse_vars:
        ops_ = sorted({u.op.type for u in found.updates if u.sparse and u.op is not None}) or ["scatter_add"]
        rule = ("TF1 updated only the rows of each batch" if fam in (_MOMENTUM, _RMSPROP, _CENTERED) else
                "TF1 summed the gradient rows of repeated ids, then updated every row")
        notes.append(f"{', '.join(sorted(sparse_vars))}: {rule} ({', '.join(ops_)}); {type(opt).__name__} does the "
                     f"same (Keras' own {fam.keras} squares repeated rows one by one" +
                     (" and moves every row" if fam in (_MOMENTUM, _RMSPROP, _CENTERED) else "") + ")")
    if untrained:
        notes.append(f"Keras weights no TF1 optimizer update trained (fit trains them, from fresh slots): "
                     f"{', '.join(untrained)}")
    for n in notes:
        log(f"optimizer: {n}")
    log(f"optimizer: {name} ({', '.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in config.items())})"
        f", iterations {iterations} ({iterations_from}), {carried} slot variables carried from "
        f"{len(used)} TF variables")
    return {
        "class": name,
        "config": config,
        "tf1": {"update_op": sorted({u.op.type for u in found.updates if u.op is not None}),
                **({("clip_by_global_norm" if found.clip[0] == "global_clipnorm" else "clip_by_value"):
                    {"value": found.clip[1], "tensor": found.clip[2]}} if found.clip else {}),
                "hyperparameters": {h: {"value": v, "tensor": found.hyper_sources[h]} for h, v in found.hyper.items()},
                **({"use_nesterov": True} if found.nesterov else {}),
                **({"optimizer_name": found.optimizer_name} if found.optimizer_name else {})},
        "update_rule": fam.why,
        "iterations": iterations,
        "iterations_from": iterations_from,
        "slots_carried": carried,
        "weights": rows,
        "keras_weights_untrained_in_tf1": untrained,
        "notes": notes,
        "load_requires": ["tf_migrate_runtime.optimizers"] if cls.__module__.startswith("tf_migrate_runtime") else [],
        "continue_training": "m = keras.saving.load_model('model.keras'); "
                             "train = compile_for_training(m, optimizer=m.optimizer); train.fit(...)",
    }



def _gathered_variables(view) -> set[str]:
    """Variables the forward graph reads with a gather (embedding lookups): their gradients are IndexedSlices."""
    from migrate.checkpoint.tables import is_gradient  # noqa: PLC0415

    out = set()
    for o in view.graph.get_operations():
        if o.type in ("Gather", "GatherV2", "ResourceGather") and not is_gradient(o.name):
            v = view.variable_of(o.inputs[0])
            if v is not None:
                out.add(v)
    return out


def _copies(mapped: list) -> list[tuple[list[str], list[str]]]:
    """Keras weights holding the same TF element more than once (a variable copied into two layers, or twice into
    one): ([TF variables], [Keras weights]) per group."""
    if not mapped:
        return []
    ids = np.concatenate([src.ids[src.ids > 0] for _label, src in mapped])
    uniq, counts = np.unique(ids, return_counts=True)
    shared = uniq[counts > 1]
    if not shared.size:
        return []
    labels = [label for label, src in mapped if np.isin(src.ids, shared).any()]
    variables = sorted({v for label, src in mapped if label in labels for v in src.variables})
    return [(variables, labels)]
