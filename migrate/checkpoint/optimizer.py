"""Optimizer carry-over: the TF1 checkpoint's Adam m / v / step -> a built Keras Adam (`--with-optimizer`).

The slots are permuted exactly like the weights they belong to (`Binding.to_keras(..., linear=True)`: no
forget-bias add, which is a shift of the weight, not of its gradient moments). The step comes from
`beta1_power` (TF1 Adam starts it at beta1 and multiplies after each update) or `global_step`.
"""

from __future__ import annotations

import math

import numpy as np

from migrate import _internals
from migrate.checkpoint.bindings import BindingPlan
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError
from migrate.checkpoint.recognise import Recognition

# TF1 Adam's defaults (tf.compat.v1.train.AdamOptimizer), which the legacy graph uses (contract item 10).
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def adam_step(ckpt: Checkpoint, rec: Recognition) -> tuple[int, str]:
    """(the optimizer step, where it came from)."""
    beta1 = next((n for o in rec.optimizers for n in o.non_slots if n.rsplit("/", 1)[-1] == "beta1_power"), None)
    if beta1 is not None:
        p = float(ckpt.read(beta1))
        # TF1 Adam starts beta1_power at beta1 and multiplies after each update: beta1 ** (steps + 1).
        return int(round(math.log(p) / math.log(ADAM_BETA1))) - 1, f"{beta1} = {p:.6g} = 0.9^(steps+1)"
    step = next((n for n in rec.other_state if n.rsplit("/", 1)[-1] == "global_step"), None)
    if step is not None:
        return int(ckpt.read(step)), step
    raise CheckpointError(f"{ckpt.prefix}: --with-optimizer needs beta1_power or global_step to know the step; "
                          f"neither is in the checkpoint.")


def carry_adam(model, ckpt: Checkpoint, rec: Recognition, plan: BindingPlan, hp) -> tuple[object, dict]:
    """A built Keras Adam holding the checkpoint's m and v (permuted like their weights, no forget-bias add)."""
    adams = [o for o in rec.optimizers if o.optimizer == "Adam" and o.slots]
    if len(adams) != 1:
        found = ", ".join(f"{o.optimizer or '?'} (/{o.optimizer_name})" for o in rec.optimizers) or "no optimizer state"
        raise CheckpointError(f"{ckpt.prefix}: --with-optimizer carries Adam state; found {found}.")
    adam = adams[0]
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
    step, step_source = adam_step(ckpt, rec)
    opt.iterations.assign(step)
    for s in adam.slots:
        plan.ignored.pop(s.name, None)
    for n in adam.non_slots:
        plan.ignored[n] = "Adam bias-correction power: Keras recomputes it from optimizer.iterations"
    return opt, {"optimizer": "Adam", "slots_name": adam.optimizer_name, "keras_slot_arrays": carried,
                 "iterations": step, "iterations_from": step_source, "epsilon": ADAM_EPSILON,
                 "global_clipnorm": hp.max_gradient_norm}
