"""One small class per parity check, in the style of torch.testing's `Pair`: it holds what the TF1 side computed
(`expected`) and what the Keras side computed (`actual`), and `compare()` returns `ParityResult`s whose
`check` (the kind) and `subject` (the variable or tensor) say structurally what failed.

| class              | kind        | expected (TF1)                       | actual (Keras)                        |
|--------------------|-------------|--------------------------------------|---------------------------------------|
| `OutputTensorCheck`| output      | a graph tensor (`TF1Graph.run`)      | the Keras output bound to it          |
| `LogitsCheck`      | logits      | legacy `model.logits` per batch      | the port's logits, valid positions    |
| `LossCheck`        | loss        | legacy `sequence_loss` per batch     | the port's loss                       |
| `WeightsCheck`     | weights     | checkpoint variables                 | Keras weights mapped back to TF1      |
| `GradientsCheck`   | gradients   | `tf.gradients` per variable          | `GradientTape`, mapped back           |
| `AdamCheck`        | adam        | variables after K `train_op` runs    | after K optimizer steps, mapped back  |
|                    |             | (+ the Adam error bound, `AdamError`)|                                       |
| `GreedyCheck`      | greedy      | greedy-decoded ids                   | the port's greedy ids (exact)         |

Adding a check = one class here (a `kind`, a `title`, a `compare()`) and its test. No TensorFlow import:
every value is a NumPy array by the time a check sees it (the sides compute them: `migrate.parity.legacy_side`,
`port_side`, `tf1_graph`, `keras_side`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from migrate.parity.compare import ParityResult, compare
from migrate.parity.tolerances import OUTPUT_SCALE_FRACTION, STEP_TOLERANCES

# Logits: atol is at least this share of the largest |legacy logit| at valid positions. float32 error
# grows with the magnitude of what is accumulated, and trained models have large logits: the demo's
# model (LSTM 64 + scaled Luong, 3565 steps, max |logit| 57.5) differs by 6.5e-5 = 1.1e-6 x scale at a
# logit of 19.5 (~10 ulps), over the fixed 1e-5. 1e-5 x scale is 9x above that; the smallest known
# bug (GRU reset_after=True) is 1.7e-2 at random weights (scale ~1-3), i.e. ~1e-2 x scale.
# At scale <= 1 this is the migration guide's atol 1e-5 unchanged.
LOGIT_SCALE_FRACTION = OUTPUT_SCALE_FRACTION

def tolerance(kind: str, rtol: float | None, atol: float | None) -> dict[str, float]:
    """The check's `STEP_TOLERANCES` entry, with a user's rtol / atol taking precedence."""
    d_rtol, d_atol = STEP_TOLERANCES.get(kind, STEP_TOLERANCES["logits"])
    return {"rtol": d_rtol if rtol is None else rtol, "atol": d_atol if atol is None else atol}


def tag(result: ParityResult, check: str, subject: str | None) -> ParityResult:
    """Stamp a result with its structured identity (what a report groups by; never parsed from `name`)."""
    result.check = check
    result.subject = subject
    return result


class Check:
    """Base of every parity check: `compare()` -> a list of tagged `ParityResult`s (one per compared tensor)."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""

    def compare(self) -> list[ParityResult]:
        raise NotImplementedError


# -- forward tensors -----------------------------------------------------------------------------------


@dataclass
class OutputTensorCheck(Check):
    """A graph tensor against the Keras output bound to it.

    Tolerance: floats rtol 1e-6 and atol max(1e-5, 1e-5 x max |expected|) over the compared positions
    (float32 error grows with the magnitude accumulated; `tolerances.OUTPUT_SCALE_FRACTION`), unless `atol`
    is given; integers and bools exact.

    Args:
        subject: what is compared (`"logits <- decoder/logits:0"`).
        expected, actual: the TF1 and the Keras values.
        mask: optional boolean array over the leading axes (e.g. `[B, T]` valid positions).
        logits: also report argmax agreement over the last axis.
    """

    kind: ClassVar[str] = "output"
    title: ClassVar[str] = "graph tensor vs Keras output"

    subject: str
    expected: Any
    actual: Any
    mask: Any = None
    rtol: float | None = None
    atol: float | None = None
    logits: bool = False
    time_axis: int | None = 1
    notes: list[str] = field(default_factory=list)

    def _tolerance(self, want: np.ndarray) -> dict[str, float | None]:
        if want.dtype.kind in "iub":
            return {"rtol": self.rtol, "atol": self.atol}
        tol = tolerance("logits", self.rtol, self.atol)
        if self.atol is None:
            m = np.ones(want.shape, bool) if self.mask is None else _broadcast(self.mask, want.shape)
            finite = np.abs(want[m & np.isfinite(want)]) if want.size else np.zeros(0)
            if finite.size:
                tol["atol"] = max(tol["atol"], OUTPUT_SCALE_FRACTION * float(finite.max()))
        return tol

    def compare(self) -> list[ParityResult]:
        want, have = np.asarray(self.expected), np.asarray(self.actual)
        # per-timestep lines for [B, T, ...] outputs (and [B, T] ones compared at valid positions)
        time_axis = self.time_axis if want.ndim >= 3 or (want.ndim == 2 and self.mask is not None) else None
        r = compare(want, have, self.mask, name=self._name(), logits=self.logits, time_axis=time_axis,
                    **self._tolerance(want))
        r.notes.extend(self.notes)
        return [tag(r, self.kind, self.subject)]

    def _name(self) -> str:
        return f"output {self.subject}"


def _broadcast(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(mask).astype(bool)
    return np.broadcast_to(m.reshape(m.shape + (1,) * (len(shape) - m.ndim)), shape)


def stack_padded(arrays: Sequence[np.ndarray], fill: float = 0) -> np.ndarray:
    """Concatenate `[B_i, T_i, ...]` arrays along the batch axis, padding time to the longest T."""
    t = max(a.shape[1] for a in arrays)
    padded = [np.pad(a, [(0, 0), (0, t - a.shape[1])] + [(0, 0)] * (a.ndim - 2), constant_values=fill)
              for a in arrays]
    return np.concatenate(padded, axis=0)


@dataclass
class LogitsCheck(OutputTensorCheck):
    """The legacy model's logits against the port's, per batch, at valid decoder positions.

    Args:
        expected, actual: lists of `[B_i, T_i, V]` logits, one per batch (stacked, time padded).
        masks: `[B_i, T_i]` valid positions per batch (`decoder_input_ids != 0`).
        mask_padding: False compares padded steps too (what a naive check does); a failure then says whether
            every mismatch lies in the padding.
    """

    kind: ClassVar[str] = "logits"
    title: ClassVar[str] = "logits at valid positions"

    subject: str = "logits"
    expected: Any = None
    actual: Any = None
    masks: Sequence[np.ndarray] = ()
    mask_padding: bool = True

    def compare(self) -> list[ParityResult]:
        valid = stack_padded(self.masks, fill=False).astype(bool)
        want, have = stack_padded(self.expected), stack_padded(self.actual)
        self.mask = valid
        tol = self._tolerance(want)
        r = compare(want, have, valid if self.mask_padding else None, name="logits", logits=True, **tol)
        if not r.ok and not self.mask_padding:
            bad = ~np.isclose(have, want, rtol=tol["rtol"], atol=tol["atol"])
            in_pad = int((bad & ~valid[..., None]).sum())
            if in_pad == int(bad.sum()):
                r.notes.append(f"Likely cause: padded positions compared: all {in_pad} mismatched elements are "
                               f"at padded decoder steps (decoder_ids == 0), where TF1's dynamic_rnn emits zeros "
                               f"and a Keras RNN repeats its last output; compare valid positions only (mask = "
                               f"decoder_ids != 0).")
            else:
                r.notes.append(f"{in_pad} of {int(bad.sum())} mismatched elements are at padded decoder steps.")
        if not r.ok and len(self.masks) > 1:
            sizes = np.cumsum([m.shape[0] for m in self.masks])
            row = r.max_abs_index[0] if r.max_abs_index else 0
            k = int(np.searchsorted(sizes, row, side="right"))
            r.notes.append(f"Rows are the {len(self.masks)} batches stacked: row {row} is row "
                           f"{row - (sizes[k - 1] if k else 0)} of batch {k}.")
        return [tag(r, self.kind, "logits")]


@dataclass
class LossCheck(Check):
    """One scalar loss per batch. `hints(actual) -> [sentences]` names a known loss mistake on failure."""

    kind: ClassVar[str] = "loss"
    title: ClassVar[str] = "loss (sequence_loss)"

    expected: Sequence[float]
    actual: Sequence[float]
    rtol: float | None = None
    atol: float | None = None
    hints: Callable[[Sequence[float]], list[str]] | None = None

    def compare(self) -> list[ParityResult]:
        r = compare(np.array(self.expected), np.array(self.actual), name="loss", time_axis=None,
                    **tolerance("loss", self.rtol, self.atol))
        if not r.ok and self.hints is not None:
            r.notes.extend(self.hints(self.actual))
        return [tag(r, self.kind, "loss")]


@dataclass
class GreedyCheck(Check):
    """Greedy-decoded ids of every batch, exact; a failure names the first differing token."""

    kind: ClassVar[str] = "greedy"
    title: ClassVar[str] = "greedy ids"

    expected: Sequence[np.ndarray]
    actual: Sequence[np.ndarray]

    def compare(self) -> list[ParityResult]:
        want, have = np.concatenate(self.expected), np.concatenate(self.actual)
        r = compare(want, have, name="greedy ids")
        if not r.ok and want.shape == have.shape:
            bad = np.argwhere(want != have)
            row, t = (int(x) for x in bad[0])
            r.notes.append(f"First differing token: row {row}, step {t}: legacy {want[row, t]}, port {have[row, t]} "
                           f"({len(set(bad[:, 0].tolist()))} row(s) differ).")
        return [tag(r, self.kind, "greedy ids")]


# -- per variable --------------------------------------------------------------------------------------


@dataclass
class VariableCheck(Check):
    """One comparison per TF1 variable (`names` in order), Keras values mapped back to TF1 layout.

    Args:
        expected, actual: {TF1 name: array}.
        names: which variables, in report order.
        annotate: `annotate(result, name, expected, actual)` adds notes to a failure (where in the variable,
            the likely conversion mistake: `migrate.parity.diagnose`).
        rtol, atol: a user's tolerance (default: `STEP_TOLERANCES[kind]`).
    """

    label: ClassVar[str] = ""

    expected: dict[str, np.ndarray]
    actual: dict[str, np.ndarray]
    names: Sequence[str]
    annotate: Callable[[ParityResult, str, np.ndarray, np.ndarray], None] | None = None
    rtol: float | None = None
    atol: float | None = None

    def _tol(self) -> dict[str, float]:
        return tolerance(self.kind, self.rtol, self.atol)

    def compare(self) -> list[ParityResult]:
        out, tol = [], self._tol()
        for n in self.names:
            r = compare(self.expected[n], self.actual[n], name=f"{self.label} {n}", time_axis=None, **tol)
            if not r.ok and self.annotate is not None:
                self.annotate(r, n, self.expected[n], self.actual[n])
            out.append(tag(r, self.kind, n))
        return out


@dataclass
class WeightsCheck(VariableCheck):
    kind: ClassVar[str] = "weights"
    title: ClassVar[str] = "weights (port -> TF1 layout)"
    label: ClassVar[str] = "weight"

    def _tol(self) -> dict[str, float]:
        return tolerance("logits", self.rtol, self.atol)  # float32 forward tolerance: a plain copy


@dataclass
class GradientsCheck(VariableCheck):
    kind: ClassVar[str] = "gradients"
    title: ClassVar[str] = "gradients, one step"
    label: ClassVar[str] = "grad"


@dataclass
class AdamError:
    """The Adam error model's answer for one run (`harness.adam_error_bound`, `migrate.parity.adam_bound`).

    Attributes:
        bound: {TF1 name: per-element bound on |legacy - port| after the K steps}.
        signal_to_noise: {TF1 name: per element, the smallest |gradient| / its estimated gap over the K steps};
            <= 1 means the gradient was within its noise at some step, where the update's sign may flip.
        noise: the relative float32 noise of the gradients measured by the gradients check.
        learning_rate, steps: the run's lr and K.
    """

    bound: dict[str, np.ndarray]
    signal_to_noise: dict[str, np.ndarray]
    noise: float
    learning_rate: float
    steps: int

    def within_noise(self, name: str) -> np.ndarray:
        return self.signal_to_noise[name] <= 1.0


@dataclass
class AdamCheck(VariableCheck):
    """Weights after K optimizer steps from the same weights, fresh state, same batches.

    Each element is allowed atol + rtol x |legacy| plus the Adam error bound (`error.bound`: how far two correct
    runs drift apart when their gradients differ by float32 noise; up to ~2 lr per step where a gradient is within
    that noise; without `error`, atol + rtol x |legacy| alone). Each result's `details` carries the count of
    elements within noise and the bound. A failure names the element, its bound and its gradient's distance from the noise, and, when the
    gradients agree, the optimizer as the likely cause.
    """

    kind: ClassVar[str] = "adam"
    title: ClassVar[str] = "weights after K Adam steps"
    label: ClassVar[str] = "adam"

    steps: int = 1
    error: AdamError | None = None
    gradients_ok: bool = True

    def compare(self) -> list[ParityResult]:
        out, tol = [], self._tol()
        for n in self.names:
            bound = None if self.error is None else self.error.bound[n]
            r = compare(self.expected[n], self.actual[n], name=f"{self.label} {n}", time_axis=None, allowed=bound,
                        per_element=None if bound is None else "the Adam error bound of docs/parity.md", **tol)
            if bound is not None:
                self._explain(r, n, bound)
            if not r.ok and self.annotate is not None:
                self.annotate(r, n, self.expected[n], self.actual[n])
            out.append(tag(r, self.kind, n))
        bad = sorted((r for r in out if not r.ok), key=lambda r: -r.margin)   # the worst first: the one shown
        if bad and self.gradients_ok:
            bad[0].notes.append(
                "Likely cause: the optimizer differs (the gradients agree; the weights after the steps differ beyond "
                "what float32 noise in the gradients can cause): check learning rate, beta1 0.9 / beta2 0.999, "
                "epsilon (TF1's AdamOptimizer uses 1e-8, Keras's Adam defaults to 1e-7) and gradient clipping "
                "(clip_by_global_norm = global_clipnorm).")
        return out

    def _explain(self, r: ParityResult, name: str, bound: np.ndarray) -> None:
        snr = self.error.signal_to_noise[name]
        near = int(np.sum(self.error.within_noise(name)))
        at = r.margin_index
        r.details = {"within_noise": near, "bound_max": float(np.max(bound, initial=0.0)),
                     "bound_at_worst": float(bound[at]) if at is not None else 0.0,
                     "signal_to_noise_at_worst": float(snr[at]) if at is not None else None}
        if at is not None and not r.ok:
            lr = self.error.learning_rate
            where = (f"at index {at} the gradient was within its noise at some step: allowed up to "
                     f"{bound[at] / lr:.2f} x lr" if snr[at] <= 1.0 else
                     f"at index {at} the gradient stayed {snr[at]:.3g} x above its noise at every step: allowed "
                     f"{bound[at]:.2e} ({bound[at] / lr:.2g} x lr) for float32 noise")
            r.notes.append(f"{near} of {r.compared} elements had a gradient within float32 noise at some step "
                           f"(their update's sign may flip: allowed up to ~2 x lr per step); {where}.")


@dataclass
class UnmappableCheck(Check):
    """Keras values that cannot be mapped back to TF1 layout at all: one failed result per variable."""

    of: str                                 # the kind of check that could not map them ("weights", ...)
    names: Sequence[str]
    shapes: dict[str, tuple[int, ...]]
    problem: str

    def compare(self) -> list[ParityResult]:
        label = {"weights": "weight", "gradients": "grad"}.get(self.of, self.of)
        return [tag(ParityResult(name=f"{label} {n}", ok=False, shape=tuple(self.shapes[n]), rtol=0, atol=0,
                                 problem=self.problem), self.of, n) for n in self.names]


# kind -> title, in report order (the table's first column).
CHECK_CLASSES: tuple[type[Check], ...] = (WeightsCheck, OutputTensorCheck, LogitsCheck, LossCheck, GradientsCheck,
                                          AdamCheck, GreedyCheck)
CHECK_TITLES: dict[str, str] = {c.kind: c.title for c in CHECK_CLASSES}
