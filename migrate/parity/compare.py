"""Compare two arrays the way `torch.testing.assert_close` does, and say where and how much they differ.

`compare(expected, actual)` returns a `ParityResult` (truthy when within tolerance); `assert_parity`
raises `ParityError` with the result's message. An element is close when

    |actual - expected| <= atol + rtol * |expected|

(the same rule as `numpy.isclose` and `torch.testing.assert_close`). NaN is never close to anything
(not even NaN: a NaN in a parity check is a bug, not a match), and neither is an infinity, not even to the
same infinity: an all-inf model is broken or its feed is wrong, and parity on it proves nothing. A failure
message looks like:

    Parity check 'logits' failed: arrays are not close.
    Mismatched elements: 3 / 4800 (0.1%)
    Greatest absolute difference: 2.1e-03 at index (1, 7, 42) (up to 1e-05 allowed)
    Greatest relative difference: 4.0e-02 at index (1, 7, 42) (up to 1e-06 allowed)
    Compared: 4800 of 6000 elements (mask: 80 of 100 positions)
    Per-timestep max abs error (axis 1): t0 1.2e-07, t1 2.4e-07, ..., t7 2.1e-03; first over tolerance: t7
    Argmax agrees on 98.8% of valid positions (79 / 80); first disagreement at (1, 7): expected 5, actual 9

"Max rel" has ONE definition everywhere (this message, the console table, the demo's report.html, the JSON):
torch.testing's greatest relative difference, the largest `|actual - expected| / |expected|` over the compared
finite elements (0 where both are 0, inf where only `expected` is 0), `relative_difference`; a check of several
tensors reports the largest over all their elements (`greatest`).

Everything here is NumPy: it runs on any array-like (TensorFlow and Keras tensors included, through
`np.asarray`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from migrate.parity.tolerances import default_tolerance

# Per-timestep lines list at most this many steps; longer sequences show the head, the tail and the
# first step over tolerance.
_MAX_TIMESTEPS_SHOWN = 12


class ParityError(AssertionError):
    """A parity check outside tolerance; `.result` holds the `ParityResult` (or results) behind it."""

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


@dataclass
class NonFinite:
    """NaN / +-Inf found on one side: counts and the first index (in the compared positions)."""

    side: str
    nan: int = 0
    inf: int = 0
    first_nan: tuple[int, ...] | None = None
    first_inf: tuple[int, ...] | None = None


@dataclass
class ParityResult:
    """The outcome of one `compare`. Truthy when `ok`.

    Attributes:
        name: what was compared (`"logits"`, `"grad encoder/rnn/lstm_cell/kernel"`).
        ok: every compared element within tolerance, shapes equal.
        shape: the shape of `expected` (and of `actual`, when `ok`).
        rtol, atol: the tolerance used.
        compared: number of elements compared (inside the mask).
        total: number of elements in the arrays.
        mismatched: elements outside tolerance (NaN and Inf mismatches included).
        max_abs, max_abs_index: greatest |actual - expected| among finite pairs and its index.
        max_rel, max_rel_index: greatest `relative_difference` (|actual - expected| / |expected|) and its index.
        margin, margin_index: greatest |actual - expected| / allowed over the finite compared elements (allowed =
            atol + rtol * |expected| + the per-element `allowed` of `compare`): the share of the tolerance used,
            > 1 outside it; the element most outside its tolerance (or closest to it).
        worst_expected, worst_actual, worst_allowed: the values and the tolerance at `margin_index`.
        per_element: a sentence when a per-element allowance was added to atol + rtol * |expected|
            (e.g. the Adam check's error bound), else None.
        per_timestep: greatest |actual - expected| per step along `time_axis` (None for < 2-D arrays;
            an entry is NaN when a NaN is compared at that step, None when the step is all masked).
        first_bad_timestep: the first step with an element outside tolerance.
        nonfinite: NaN / Inf counts of each side.
        argmax_agreement: share of compared positions whose argmax over the last axis agrees
            (`logits=True` only); argmax_disagreement: the first position where it does not, with
            both argmaxes.
        shape_mismatch: a sentence when the shapes differ (then nothing else is compared).
        problem: a sentence when the values could not be compared at all (e.g. a port weight that
            cannot be mapped back to the TF1 layout).
        notes: extra lines a caller (the harness) appends to the message, e.g. a likely cause.
        check: the kind of check that produced it (`"weights"`, `"logits"`, `"output"`, ...; set by
            `migrate.parity.checks`), None for a bare `compare`.
        subject: what it compared, structurally: the TF1 variable name, or `"keras_output <- tensor:0"`.
        details: structured numbers a check adds (JSON), e.g. the Adam check's elements with a near-zero gradient.
    """

    name: str
    ok: bool
    shape: tuple[int, ...]
    rtol: float
    atol: float
    compared: int = 0
    total: int = 0
    mask_positions: tuple[int, int] | None = None
    mismatched: int = 0
    max_abs: float = 0.0
    max_abs_index: tuple[int, ...] | None = None
    max_rel: float = 0.0
    max_rel_index: tuple[int, ...] | None = None
    margin: float = 0.0
    margin_index: tuple[int, ...] | None = None
    worst_expected: float | None = None
    worst_actual: float | None = None
    worst_allowed: float | None = None
    per_element: str | None = None
    time_axis: int | None = None
    per_timestep: list[float | None] | None = None
    first_bad_timestep: int | None = None
    nonfinite: list[NonFinite] = field(default_factory=list)
    argmax_agreement: float | None = None
    argmax_positions: tuple[int, int] | None = None
    argmax_disagreement: tuple[tuple[int, ...], int, int] | None = None
    shape_mismatch: str | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)
    check: str | None = None
    subject: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        return format_result(self)

    @property
    def nan_count(self) -> int:
        """NaNs on either side among the compared elements."""
        return sum(nf.nan for nf in self.nonfinite)

    def shown_max_abs(self) -> str:
        """`max_abs` as tables show it: "NaN" when NaN is why the result fails (not a misleading 0.0e+00)."""
        return "NaN" if self.nan_count and not self.ok else format_difference(self.max_abs)

    def shown_max_rel(self) -> str:
        return "NaN" if self.nan_count and not self.ok else format_difference(self.max_rel)

    def tolerance_text(self) -> str:
        """`exact`, `atol 1e-05 rtol 1e-06`, or with `+ error bound` (a per-element bound: what tables show)."""
        if self.atol == 0 and self.rtol == 0 and self.per_element is None:
            return "exact"
        text = f"atol {self.atol:.2g} rtol {self.rtol:.2g}"
        return text + " + error bound" if self.per_element else text

    def summary(self) -> str:
        """One line: `ok  logits  max abs 6.0e-08  max rel 1.1e-06` (for tables and logs)."""
        status = "ok" if self.ok else "FAIL"
        if self.problem or self.shape_mismatch:
            return f"{status}  {self.name}  {self.problem or self.shape_mismatch}"
        nan = f"  NaN {self.nan_count}" if self.nan_count else ""
        return (f"{status}  {self.name}  max abs {self.shown_max_abs()}  max rel {self.shown_max_rel()}  "
                f"mismatched {self.mismatched}/{self.compared}{nan}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["message"] = None if self.ok else self.message
        return _jsonable(d)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def format_difference(x: float) -> str:
    """How every table (console, report.html) writes a difference: `2.1e-03`, `inf`, `nan`."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.1e}"


_fmt = format_difference   # its former private name, for callers written before it was public


def relative_difference(expected: Any, actual: Any) -> np.ndarray:
    """`|actual - expected| / |expected|`, element-wise, in float64: THE relative difference ("max rel" is its
    maximum, everywhere). 0 where both are 0, inf where only `expected` is 0 (torch.testing's definition)."""
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = np.abs(np.asarray(actual, dtype=np.float64) - e)
        return np.where(d == 0, 0.0, d / np.abs(e))


@dataclass
class Greatest:
    """The greatest differences over several results (one check's tensors), with the definitions of one result's:
    `max_abs` and `max_rel` are the largest over every compared element of every result (so they may come from two
    different tensors, each named), `margin` the largest share of its tolerance any element uses."""

    max_abs: float = 0.0
    max_abs_of: str | None = None
    max_rel: float = 0.0
    max_rel_of: str | None = None
    margin: float = 0.0
    margin_of: ParityResult | None = None
    nan: bool = False
    compared: int = 0
    mismatched: int = 0

    def shown_max_abs(self) -> str:
        return "NaN" if self.nan else format_difference(self.max_abs)

    def shown_max_rel(self) -> str:
        return "NaN" if self.nan else format_difference(self.max_rel)


def greatest(results: list[ParityResult]) -> Greatest:
    """The one aggregation of a check's results: the console table, the demo's report.html and the JSON's
    `checks` all show these numbers. Results that could not be compared (shape, problem) add nothing."""
    g = Greatest()
    for r in results:
        g.compared += r.compared
        g.mismatched += r.mismatched
        g.nan = g.nan or bool(r.nan_count and not r.ok)
        if r.shape_mismatch or r.problem:
            continue
        if g.max_abs_of is None or r.max_abs > g.max_abs:
            g.max_abs, g.max_abs_of = r.max_abs, r.name
        if g.max_rel_of is None or r.max_rel > g.max_rel:
            g.max_rel, g.max_rel_of = r.max_rel, r.name
        if g.margin_of is None or r.margin > g.margin:
            g.margin, g.margin_of = r.margin, r
    return g


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(flat), shape)) if shape else ()


def _broadcast_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask over the leading axes of `shape` (e.g. [B, T] for [B, T, V]) -> full shape."""
    m = np.asarray(mask).astype(bool)
    if m.shape != shape[: m.ndim]:
        raise ValueError(f"mask of shape {m.shape} does not match the leading axes of the compared "
                         f"arrays' shape {shape}; expected a boolean array of shape {shape[:m.ndim] or shape}")
    return np.broadcast_to(m.reshape(m.shape + (1,) * (len(shape) - m.ndim)), shape)


def compare(expected: Any, actual: Any, mask: Any = None, *, rtol: float | None = None,
            atol: float | None = None, name: str = "arrays", logits: bool = False,
            time_axis: int | None = 1, allowed: Any = None, per_element: str | None = None) -> ParityResult:
    """Compare `actual` (the port) with `expected` (the legacy model) element by element.

    Args:
        expected: the reference values (legacy TF1), any array-like.
        actual: the values under test (the Keras port), same shape.
        mask: optional boolean array over the leading axes (e.g. `[B, T]` for logits `[B, T, V]`);
            only positions where it is True are compared (padding is left out).
        rtol, atol: tolerance; `None` takes `default_tolerance(dtype)` (float32: rtol 1e-6, atol 1e-5,
            see `migrate.parity.tolerances`).
        name: what is compared, shown in the message.
        logits: also report argmax agreement over the last axis (for `[..., V]` logits).
        time_axis: the axis reported per timestep (batch-major `[B, T, ...]`: 1); None to skip.
        allowed: optional per-element absolute allowance (broadcast to the shape) added to
            `atol + rtol * |expected|`: an error bound a check derives element by element (the Adam check's).
        per_element: what `allowed` is, in words (shown in the message).

    Returns:
        A `ParityResult`; `bool(result)` is True when every compared element is close.
    """
    e = np.asarray(expected)
    a = np.asarray(actual)
    if e.dtype.kind in "iub" and a.dtype.kind in "iub":
        d_rtol, d_atol = 0.0, 0.0  # token ids, masks: exact
    else:
        floats = [x.dtype for x in (e, a) if x.dtype.kind == "f"]
        d_rtol, d_atol = default_tolerance(np.result_type(*floats) if floats else np.float32)
    rtol = d_rtol if rtol is None else float(rtol)
    atol = d_atol if atol is None else float(atol)
    shape = tuple(e.shape)
    if e.shape != a.shape:
        return ParityResult(name=name, ok=False, shape=shape, rtol=rtol, atol=atol,
                            shape_mismatch=f"Shape mismatch: expected {shape}, actual {tuple(a.shape)}")
    e64 = e.astype(np.float64)
    a64 = a.astype(np.float64)
    if mask is None:
        m = np.ones(shape, dtype=bool)
        mask_positions = None
    else:
        m = _broadcast_mask(mask, shape)
        mm = np.asarray(mask).astype(bool)
        mask_positions = (int(mm.sum()), int(mm.size))

    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a64 - e64)
        bound = atol + rtol * np.abs(e64)
        if allowed is not None:
            bound = bound + np.broadcast_to(np.asarray(allowed, dtype=np.float64), shape)
        close = diff <= bound
    both_finite = np.isfinite(e64) & np.isfinite(a64)
    close = close & both_finite  # a NaN or an Inf on either side is never close: parity on it proves nothing
    bad = ~close & m
    finite = both_finite & m
    result = ParityResult(name=name, ok=not bad.any(), shape=shape, rtol=rtol, atol=atol,
                          compared=int(m.sum()), total=int(e.size), mask_positions=mask_positions,
                          mismatched=int(bad.sum()), per_element=per_element if allowed is not None else None)

    fdiff = np.where(finite, diff, -1.0)
    if finite.any():
        i = int(np.argmax(fdiff))
        result.max_abs, result.max_abs_index = float(fdiff.flat[i]), _index(i, shape)
        rel = np.where(finite, relative_difference(e64, a64), -1.0)
        j = int(np.argmax(rel))
        result.max_rel, result.max_rel_index = float(rel.flat[j]), _index(j, shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(finite, np.where(diff == 0, 0.0, diff / bound), -1.0)
        share = np.where(np.isnan(share), np.inf, share)
        k = int(np.argmax(share))
        result.margin, result.margin_index = float(share.flat[k]), _index(k, shape)
        result.worst_expected, result.worst_actual = float(e64.flat[k]), float(a64.flat[k])
        result.worst_allowed = float(np.broadcast_to(bound, shape).flat[k])

    for side, arr in (("expected", e64), ("actual", a64)):
        nf = NonFinite(side=side)
        nan = np.isnan(arr) & m
        inf = np.isinf(arr) & m
        nf.nan, nf.inf = int(nan.sum()), int(inf.sum())
        if nf.nan:
            nf.first_nan = _index(int(np.argmax(nan)), shape)
        if nf.inf:
            nf.first_inf = _index(int(np.argmax(inf)), shape)
        if nf.nan or nf.inf:
            result.nonfinite.append(nf)

    if time_axis is not None and len(shape) >= 2 and shape[time_axis] > 0:
        result.time_axis = time_axis
        steps = shape[time_axis]
        moved = np.moveaxis(np.where(m, np.where(np.isnan(diff), -2.0, diff), -1.0), time_axis, 0).reshape(steps, -1)
        per_t: list[float | None] = []
        for row in moved:
            if (row == -2.0).any():
                per_t.append(float("nan"))  # a NaN on either side at this step
            elif (row < 0).all():
                per_t.append(None)  # every position of this step is masked out
            else:
                per_t.append(float(row.max()))
        result.per_timestep = per_t
        bad_t = np.moveaxis(bad, time_axis, 0).reshape(shape[time_axis], -1).any(axis=1)
        if bad_t.any():
            result.first_bad_timestep = int(np.argmax(bad_t))

    if logits and len(shape) >= 1 and shape[-1] > 0:
        pos_mask = m[..., 0] if len(shape) >= 2 else np.asarray(bool(m.any()))
        ea = np.argmax(np.where(np.isnan(e64), -np.inf, e64), axis=-1)
        aa = np.argmax(np.where(np.isnan(a64), -np.inf, a64), axis=-1)
        n_pos = int(pos_mask.sum())
        agree = (ea == aa) & pos_mask
        result.argmax_positions = (int(agree.sum()), n_pos)
        result.argmax_agreement = float(agree.sum()) / n_pos if n_pos else 1.0
        disagree = pos_mask & (ea != aa)
        if disagree.any():
            k = int(np.argmax(disagree))
            idx = _index(k, disagree.shape)
            result.argmax_disagreement = (idx, int(ea[idx]), int(aa[idx]))
    return result


def _step(v: float | None) -> str:
    if v is None:
        return "masked"
    return "NaN" if math.isnan(v) else format_difference(v)


def _timestep_line(r: ParityResult) -> str:
    vals = r.per_timestep or []
    items = [(t, v) for t, v in enumerate(vals)]
    if len(items) > _MAX_TIMESTEPS_SHOWN:
        keep = set(range(6)) | set(range(len(items) - 4, len(items)))
        if r.first_bad_timestep is not None:
            keep.add(r.first_bad_timestep)
        finite = [(v, t) for t, v in items if v is not None and not math.isnan(v)]
        if finite:
            keep.add(max(finite)[1])  # the worst step
        shown, last = [], -1
        for t, v in items:
            if t in keep:
                if last >= 0 and t != last + 1:
                    shown.append("...")
                shown.append(f"t{t} {_step(v)}")
                last = t
        body = ", ".join(shown)
    else:
        body = ", ".join(f"t{t} {_step(v)}" for t, v in items)
    line = f"Per-timestep max abs error (axis {r.time_axis}): {body}"
    if r.first_bad_timestep is not None:
        line += f"; first over tolerance: t{r.first_bad_timestep}"
    return line


def format_result(r: ParityResult) -> str:
    """The multi-line message of a result (a failure message when not `ok`)."""
    head = (f"Parity check '{r.name}' passed: within tolerance." if r.ok
            else f"Parity check '{r.name}' failed: arrays are not close.")
    if r.problem:
        return "\n".join([f"Parity check '{r.name}' failed: cannot compare.", r.problem, *r.notes])
    if r.shape_mismatch:
        return "\n".join([head, r.shape_mismatch, *r.notes])
    lines = [head]
    share = 100.0 * r.mismatched / r.compared if r.compared else 0.0
    lines.append(f"Mismatched elements: {r.mismatched} / {r.compared} ({share:.1f}%)")
    where = f" at index {r.max_abs_index}" if r.max_abs_index is not None else ""
    lines.append(f"Greatest absolute difference: {format_difference(r.max_abs)}{where} (up to {r.atol:g} allowed)")
    where = f" at index {r.max_rel_index}" if r.max_rel_index is not None else ""
    lines.append(f"Greatest relative difference: {format_difference(r.max_rel)}{where} (up to {r.rtol:g} allowed)")
    if r.per_element:
        lines.append(f"Tolerance per element: atol {r.atol:g} + rtol {r.rtol:g} x |expected| + {r.per_element}")
    if r.margin_index is not None and (not r.ok or r.per_element):
        lines.append(f"Worst element against its tolerance: index {r.margin_index}: expected {r.worst_expected:.8g}, "
                     f"actual {r.worst_actual:.8g}, difference {format_difference(abs(r.worst_actual - r.worst_expected))}, "
                     f"allowed {format_difference(r.worst_allowed)} ({r.margin:.2f} x the tolerance)")
    if r.mask_positions is not None:
        lines.append(f"Compared: {r.compared} of {r.total} elements "
                     f"(mask: {r.mask_positions[0]} of {r.mask_positions[1]} positions)")
    if r.per_timestep is not None:
        lines.append(_timestep_line(r))
    for nf in r.nonfinite:
        if nf.nan:
            lines.append(f"NaN in {nf.side}: {nf.nan} element(s), first at index {nf.first_nan}")
        if nf.inf:
            lines.append(f"Inf in {nf.side}: {nf.inf} element(s), first at index {nf.first_inf}")
    if r.argmax_agreement is not None:
        agree, n = r.argmax_positions
        line = f"Argmax agrees on {100.0 * r.argmax_agreement:.1f}% of valid positions ({agree} / {n})"
        if r.argmax_disagreement is not None:
            idx, ea, aa = r.argmax_disagreement
            line += f"; first disagreement at {idx}: expected {ea}, actual {aa}"
        lines.append(line)
    lines.extend(r.notes)
    return "\n".join(lines)


def assert_parity(expected: Any, actual: Any, mask: Any = None, *, rtol: float | None = None,
                  atol: float | None = None, name: str = "arrays", logits: bool = False,
                  time_axis: int | None = 1, msg: str | None = None) -> ParityResult:
    """`compare(...)`, raising `ParityError` (an `AssertionError`) with the full message on failure.

    Example:

    >>> assert_parity(legacy_logits, port_logits, mask=batch.decoder_input_ids != 0, name="logits",
    ...               logits=True)
    """
    result = compare(expected, actual, mask, rtol=rtol, atol=atol, name=name, logits=logits, time_axis=time_axis)
    if not result.ok:
        text = result.message if msg is None else f"{msg}\n{result.message}"
        raise ParityError(text, result)
    return result
