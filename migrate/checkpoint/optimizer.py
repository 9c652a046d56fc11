"""Optimizer carry-over: the TF1 checkpoint's Adam m / v / step -> a built Keras Adam (`--with-optimizer`).

The slots are permuted exactly like the weights they belong to (`Binding.to_keras(..., linear=True)`: no
forget-bias add, which is a shift of the weight, not of its gradient moments).

The step (Keras `optimizer.iterations`, the number of updates done) comes from, in this order: `--step N`;
`global_step`; `beta2_power`; `beta1_power`; else the conversion stops (exit 2) saying which variables it found.
TF1 Adam (`training/adam.py`) starts `beta{1,2}_power` at float32(beta) and multiplies them by float32(beta)
after each update, so after t updates they hold beta^(t+1), and update t+1 uses
`lr * sqrt(1 - beta2_power) / (1 - beta1_power)`; Keras 3 Adam uses `beta^(iterations + 1)` for the same update,
so `iterations = t`. In float32 with TensorFlow's CPU kernels (denormals flushed to zero) `beta1_power` = 0.9^(t+1)
reaches 0 at t = 828 and `beta2_power` = 0.999^(t+1) at t ~ 87,000; a power is decoded by matching it against
the float32 sequence TF1 computes (`step_from_power`), never through the log of 0. Where `global_step` is there
too, a power that decodes exactly must agree with it (else exit 2: the step is ambiguous; `--step` decides).
Past ~17,000 updates `1 - beta^t` is 1 in float32 for both betas, so the exact step then only sets the counter.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from migrate import _internals
from migrate.checkpoint.bindings import BindingPlan
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError
from migrate.checkpoint.recognise import Recognition

# TF1 Adam's defaults (tf.compat.v1.train.AdamOptimizer), which the legacy graph uses (contract item 10).
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8

_F32_TINY = float(np.finfo(np.float32).tiny)     # the smallest normal float32; TF's CPU kernels flush below it
_MAX_SEQUENCE = 20_000_000                       # longest power sequence matched exactly (beta up to ~0.99999)


@dataclass(frozen=True)
class PowerStep:
    """What one `beta_power` value says about the step: `step` (None when it cannot tell) and how it was read."""

    name: str
    value: float
    beta: float
    step: int | None
    exact: bool
    how: str

    def describe(self) -> str:
        return f"{self.name} = {self.value:.6g} ({self.how})"


@functools.lru_cache(maxsize=8)
def _power_sequence(beta: float) -> np.ndarray:
    """TF1's float32 `beta_power` after 0, 1, 2, ... updates, IEEE denormals included (where the sequence stops
    changing, a denormal stuck at beta * p == p after rounding, it is cut)."""
    b = np.float32(beta)
    n = int(min(_MAX_SEQUENCE, math.ceil(math.log(1e-46) / math.log(float(b))) + 2000))
    seq = np.cumprod(np.full(n, b, dtype=np.float32), dtype=np.float32)
    stuck = np.flatnonzero(seq[1:] == seq[:-1])
    return seq[: int(stuck[0]) + 2] if stuck.size else seq


def step_from_power(name: str, value, beta: float) -> PowerStep:
    """The number of updates t after which TF1 Adam's float32 `beta_power` holds `value` (= beta^(t+1)).

    Matched exactly against the sequence TF1 computes; a value off that sequence (another platform's rounding)
    is read through its logarithm when it is a normal float32 (`exact=False`). 0 (flushed to zero), a denormal
    where the sequence is stuck, or a value outside (0, beta] cannot tell the step (`step=None`).
    """
    p = np.float32(value)
    v = float(p)
    if not np.isfinite(p) or v <= 0.0:
        return PowerStep(name, v, beta, None, False, "0: it underflowed in float32" if v == 0.0 else "not a power")
    if v > float(np.float32(beta)) * (1 + 1e-6):
        return PowerStep(name, v, beta, None, False, f"above beta = {beta:g}: not a power of it")
    seq = _power_sequence(beta)
    hits = np.flatnonzero(seq == p)
    if hits.size == 1:
        return PowerStep(name, v, beta, int(hits[0]), True, f"float32 {beta:g}^(t+1) exactly, t = {int(hits[0])}")
    if hits.size > 1:
        return PowerStep(name, v, beta, None, False, f"a denormal that stays the same after {int(hits[0])} updates")
    if v >= _F32_TINY:
        t = int(round(math.log(v) / math.log(float(np.float32(beta))))) - 1
        return PowerStep(name, v, beta, max(t, 0), False, f"~ {beta:g}^(t+1), t ~ {max(t, 0)}: off TF1's float32 sequence")
    return PowerStep(name, v, beta, None, False, "a denormal off TF1's float32 sequence")


def resolve_step(where: str, *, given: int | None, global_step: tuple[str, int] | None,
                 powers: list[PowerStep], error=CheckpointError) -> tuple[int, str]:
    """(the step, where it came from): `given` (--step), else `global_step`, else the first power that tells
    (beta2_power before beta1_power: it underflows ~100x later). Raises `error` (exit 2) when nothing tells, or
    when `global_step` and an exactly decoded power disagree."""
    if given is not None:
        if given < 0:
            raise error(f"--step {given}: the optimizer step is a count of updates (0 or more).")
        return int(given), "--step"
    exact = [p for p in powers if p.exact]
    if global_step is not None:
        gname, gvalue = global_step
        wrong = [p for p in exact if p.step != gvalue]
        if wrong:
            raise error(f"{where}: {gname} = {gvalue} but {wrong[0].describe()} says {wrong[0].step} updates were "
                        f"done: the optimizer did not count the same steps as {gname} (restarted optimizer, several "
                        f"train ops?). Pass --step N with the number of updates to continue from "
                        f"(--step {wrong[0].step} continues TF1's Adam exactly).")
        return int(gvalue), gname
    told = [p for p in powers if p.step is not None]
    order = sorted(told, key=lambda p: (not p.exact, -p.beta))
    if order:
        if len(exact) > 1 and len({p.step for p in exact}) > 1:
            raise error(f"{where}: " + " and ".join(f"{p.describe()} -> {p.step}" for p in exact)
                        + " disagree: the training's betas are not the ones assumed here. Pass --step N.")
        p = order[0]
        return int(p.step), p.describe()
    found = ", ".join(p.describe() for p in powers) or "neither beta1_power, beta2_power nor global_step"
    raise error(f"{where}: --with-optimizer cannot tell how many updates the optimizer made: {found}; no "
                f"global_step. Pass --step N with the training's step count (the N of model.ckpt-N, usually).")


def adam_step(ckpt: Checkpoint, rec: Recognition, given: int | None = None) -> tuple[int, str]:
    """(the optimizer step, where it came from) for the checkpoint's Adam (the module docstring's order)."""
    the_adam(ckpt, rec)
    non_slots = {n.rsplit("/", 1)[-1]: n for o in rec.optimizers for n in o.non_slots}
    powers = []
    for last, beta in (("beta2_power", ADAM_BETA2), ("beta1_power", ADAM_BETA1)):
        if last in non_slots:
            powers.append(step_from_power(non_slots[last], ckpt.read(non_slots[last]), beta))
    gname = next((n for n in rec.other_state if n.rsplit("/", 1)[-1] == "global_step"), None)
    gstep = (gname, int(ckpt.read(gname))) if gname is not None else None
    return resolve_step(ckpt.prefix, given=given, global_step=gstep, powers=powers)


def the_adam(ckpt: Checkpoint, rec: Recognition):
    """The checkpoint's one Adam optimizer state (`OptimizerState`); exit 2 naming what is there otherwise."""
    adams = [o for o in rec.optimizers if o.optimizer == "Adam" and o.slots]
    if len(adams) != 1:
        found = ", ".join(f"{o.optimizer or '?'} (/{o.optimizer_name})" for o in rec.optimizers) or "no optimizer state"
        raise CheckpointError(f"{ckpt.prefix}: --with-optimizer carries Adam state; found {found}.")
    return adams[0]


def carry_adam(model, ckpt: Checkpoint, rec: Recognition, plan: BindingPlan, hp,
               step: tuple[int, str] | None = None) -> tuple[object, dict]:
    """A built Keras Adam holding the checkpoint's m and v (permuted like their weights, no forget-bias add) and
    the step (`step`: `adam_step`'s answer, computed here when not given)."""
    adam = the_adam(ckpt, rec)
    from tf2.training import make_optimizer  # noqa: PLC0415  (the port's own Adam: epsilon 1e-8, global_clipnorm)

    opt = make_optimizer(hp)
    trainables = list(model.trainable_variables)
    opt.build(trainables)
    missing = []
    carried = 0
    for b in plan.bindings:
        slots = [adam.slots_of(n) for n in b.tf1_names]
        if any(not {"m", "v"} <= set(s) for s in slots):
            missing.extend(n for n, s in zip(b.tf1_names, slots) if not {"m", "v"} <= set(s))
            continue
        for role_index, role in enumerate(("m", "v")):
            arrays = [ckpt.read(s[role]).astype(np.float32) for s in slots]
            for w, value in zip(b.keras_weights, b.to_keras(arrays, linear=True)):
                _internals.adam_slots(opt, trainables, w)[role_index].assign(value)
                carried += 1
    if missing:
        raise MappingError(f"{ckpt.prefix}: --with-optimizer: no Adam m/v slots for {', '.join(missing[:6])}"
                           f"{' ...' if len(missing) > 6 else ''}; convert without --with-optimizer.")
    step, step_source = step if step is not None else adam_step(ckpt, rec)
    opt.iterations.assign(step)
    for s in adam.slots:
        plan.ignored.pop(s.name, None)
    for n in adam.non_slots:
        plan.ignored[n] = "Adam bias-correction power: Keras recomputes it from optimizer.iterations"
    return opt, {"optimizer": "Adam", "slots_name": adam.optimizer_name, "keras_slot_arrays": carried,
                 "iterations": step, "iterations_from": step_source, "epsilon": ADAM_EPSILON,
                 "global_clipnorm": hp.max_gradient_norm}
