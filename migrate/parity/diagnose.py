"""Name the known conversion mistake behind a weight mismatch, so a failed parity check says what to fix.

The harness maps every port weight back to its TF1 variable (the converter's inverse transform) and
compares it with the checkpoint. When one differs, `diagnose_weight` tries the mistakes people really
make, each a small detector in `DETECTORS` (the knowledge is the table; order = most specific first):

| mistake                      | what the port's weight, mapped back, looks like                           |
|------------------------------|---------------------------------------------------------------------------|
| forget bias not folded       | LSTM bias: block f (TF1 i,j,f,o) off by exactly -forget_bias, rest equal  |
| forget bias folded twice     | LSTM bias: block f off by +forget_bias                                    |
| LSTM gates not reordered     | LSTM kernel / bias: TF1 blocks j and f trade places                       |
| GRU gates not reordered      | GRU gates kernel / bias: blocks r and u trade places                      |
| kernel rows split wrongly    | a cell kernel's rows rotated: [h; x] instead of [x; h], or off by k rows  |
| fw / bw swapped              | a bidirectional_rnn/fw variable holds the checkpoint's bw value (or back) |
| attention scale dropped      | attention_g is 1.0 (its initial value) in the port, not the checkpoint's  |
| left at initial value        | a bias all 0 / all 1, or attention_v all 0: never assigned                |

Each detector returns a one-line explanation with the fix, or None. Sources: TF 1.15
`rnn_cell_impl.py` (gate order, forget bias), `attention_wrapper.py` (attention_g), Keras 3
`keras/src/layers/rnn/lstm.py`, `gru.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from migrate.checkpoint import cell_layouts

# Gate orders, gate roles and forget-bias rules come from the cell-layout registry (`migrate.checkpoint.
# cell_layouts`): no detector branches on a cell's name; a new layout family gets its own "gates not reordered".


@dataclass
class WeightContext:
    """What a detector may know about one TF1 variable.

    Attributes:
        name: the TF1 variable name.
        family: a cell-layout family or layout name (`cell_layouts.REGISTRY`: "lstm", "gru", "lstm_block", ...)
            or None (dense, embedding, attention).
        role: "kernel", "bias", "gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias",
            "attention_g", ... (None when unknown).
        input_size: rows of a cell kernel that multiply the input (the rest multiply the state).
        forget_bias: the LSTM forget bias the converter was told.
        partner: the checkpoint value of the mirror variable (fw <-> bw), if any.
    """

    name: str
    family: str | None = None
    role: str | None = None
    input_size: int | None = None
    forget_bias: float | None = None
    partner: np.ndarray | None = None


def _close(a: np.ndarray, b: np.ndarray, tol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=tol))


def _swap_blocks(a: np.ndarray, n: int, i: int, j: int) -> np.ndarray:
    blocks = np.split(a, n, axis=-1)
    blocks[i], blocks[j] = blocks[j], blocks[i]
    return np.concatenate(blocks, axis=-1)


def _layout(ctx: WeightContext) -> cell_layouts.CellLayout | None:
    """The registered layout of the variable's cell (`ctx.family` names a layout or a family), or None."""
    if ctx.family is None:
        return None
    try:
        return cell_layouts.get(ctx.family)
    except KeyError:
        return None


def _gate_bias(ctx: WeightContext) -> cell_layouts.CellLayout | None:
    """The layout when `ctx` is the gate bias of a layout that folds a forget bias (LSTM's `bias`), else None."""
    lay = _layout(ctx)
    if lay is None or not lay.folds_forget_bias or ctx.role not in lay.gate_roles():
        return None
    return lay if len(lay.tf1_shapes(1, 1)[ctx.role]) == 1 else None


def _order(ctx: WeightContext) -> str:
    return ",".join(_layout(ctx).tf1_gates)


def _forget_offset(expected, actual, ctx) -> float | None:
    lay = _gate_bias(ctx)
    n = len(lay.tf1_gates) if lay is not None else 0
    if lay is None or expected.shape[-1] % n:
        return None
    d = np.split(actual.astype(np.float64) - expected, n)
    f = lay.tf1_gates.index("f")
    others = [d[k] for k in range(n) if k != f]
    if all(np.allclose(x, 0, atol=1e-5) for x in others) and np.ptp(d[f]) < 1e-5 and abs(d[f].mean()) > 1e-5:
        return float(d[f].mean())
    return None


def _no_forget_fold(expected, actual, ctx):
    off = _forget_offset(expected, actual, ctx)
    if off is not None and ctx.forget_bias and abs(off + ctx.forget_bias) < 1e-5:
        return (f"the f block (TF1 gate order {_order(ctx)}) is off by exactly -{ctx.forget_bias:g} = -forget_bias: "
                f"the forget bias was not folded into the Keras LSTM bias (add forget_bias to the Keras f slice)")
    return None


def _forget_fold_twice(expected, actual, ctx):
    off = _forget_offset(expected, actual, ctx)
    if off is not None and ctx.forget_bias and abs(off - ctx.forget_bias) < 1e-5:
        return (f"the f block is off by +{ctx.forget_bias:g} = forget_bias: the forget bias was added twice "
                f"(or also to a tensor that must not get it, such as an Adam slot or a gradient)")
    if off is not None:
        return (f"the f block (TF1 gate order {_order(ctx)}) is off by a constant {off:+.6g} and everything else is "
                f"equal: a wrong forget bias was folded (converter used forget_bias="
                f"{(ctx.forget_bias or 0) - off:g}, the legacy cell adds {ctx.forget_bias}?)")
    return None


def _tf1_order_kept(expected: np.ndarray, lay: cell_layouts.CellLayout) -> np.ndarray:
    """What a port that kept TF1's gate order shows once mapped back: TF1 block order[p] lands where block p was."""
    order = [k for k in lay.keras_gate_order() if k is not None]
    blocks = np.split(expected, len(order), axis=-1)
    out = list(blocks)
    for p, k in enumerate(order):
        out[k] = blocks[p]
    return np.concatenate(out, axis=-1)


def _gates_not_reordered(family: str, expected, actual, ctx):
    """A cell of `family` whose gate blocks were left in TF1's order (the layout's own permutation undone)."""
    lay = _layout(ctx)
    if lay is None or lay.family != family or ctx.role not in lay.gate_roles() or expected.shape[-1] % len(
            lay.tf1_gates):
        return None
    order = [k for k in lay.keras_gate_order() if k is not None]
    moved = [lay.tf1_gates[k] for k in sorted(k for p, k in enumerate(order) if p != k)]   # in TF1 order
    what = (f"gate blocks {' and '.join(moved)} trade places" if len(moved) == 2
            else f"gate blocks {', '.join(moved)} are out of place")
    fix = (f"the {family.upper()} columns were not reordered from TF1's {','.join(lay.tf1_gates)} to Keras's "
           f"{','.join(lay.keras_gates)}")
    kept = _tf1_order_kept(expected, lay)
    if _close(kept, actual):
        return f"{what}: {fix}"
    if _gate_bias(ctx) is not None:   # with a folded forget bias, the move is visible up to that constant
        d = np.split(actual.astype(np.float64) - kept, len(order))
        if all(np.ptp(x) < 1e-5 for x in d) and sum(abs(x.mean()) > 1e-5 for x in d) == 2:
            return f"{what} (up to the folded forget bias): {fix}"
    return None


def _rows_rotated(expected, actual, ctx):
    lay = _layout(ctx)
    if lay is None or ctx.role not in lay.roles or len(lay.tf1_shapes(1, 1)[ctx.role]) != 2 or expected.ndim != 2:
        return None
    n = expected.shape[0]
    for k in range(1, n):
        if _close(np.roll(expected, -k, axis=0), actual):
            where = f"; TF1 rows [0, {ctx.input_size}) multiply the input x" if ctx.input_size is not None else ""
            return (f"the kernel's rows are rotated by {k} (row 0 of the port holds TF1 row {k}): kernel rows split "
                    f"at the wrong place between Keras kernel (x rows) and recurrent_kernel (h rows){where}")
    return None


def _fw_bw_swapped(expected, actual, ctx):
    if ctx.partner is None or "/fw/" not in ctx.name and "/bw/" not in ctx.name:
        return None
    if _close(ctx.partner, actual) and not _close(expected, actual):
        here, there = ("fw", "bw") if "/fw/" in ctx.name else ("bw", "fw")
        return (f"the port's {here} weight holds the checkpoint's {there} value: forward and backward directions "
                f"are swapped (bidirectional_rnn/fw -> Keras forward layer, bw -> backward layer)")
    return None


def _attention_scale_dropped(expected, actual, ctx):
    if not ctx.name.endswith("attention_g"):
        return None
    if np.allclose(actual, 1.0) and not np.allclose(expected, 1.0):
        return (f"attention_g is 1.0 in the port (its initial value) but {np.ravel(expected)[0]:.6g} in the "
                f"checkpoint: the attention scale was dropped (carry luong_attention/attention_g or "
                f"bahdanau_attention/attention_g)")
    return None


def _left_at_init(expected, actual, ctx):
    for value in (0.0, 1.0):
        if actual.size and np.all(actual == value) and not np.allclose(expected, value):
            return (f"the port's value is all {value:g} (an initializer's) while the checkpoint's is not: this "
                    f"weight was never assigned from the checkpoint")
    return None


# Detector table: (mistake, detector). First hit wins; most specific first.
DETECTORS: list[tuple[str, Callable[[np.ndarray, np.ndarray, WeightContext], str | None]]] = [
    ("forget bias not folded", _no_forget_fold),
    ("forget bias folded twice / wrong", _forget_fold_twice),
    *((f"{family.upper()} gates not reordered", functools.partial(_gates_not_reordered, family))
      for family in cell_layouts.FAMILIES),            # "LSTM gates not reordered", "GRU gates not reordered"
    ("kernel rows split at the wrong place", _rows_rotated),
    ("fw/bw swapped", _fw_bw_swapped),
    ("attention scale dropped", _attention_scale_dropped),
    ("left at initial value", _left_at_init),
]


def diagnose_weight(expected: np.ndarray, actual: np.ndarray, ctx: WeightContext) -> str | None:
    """`"Likely cause: <mistake>: <explanation>"` for the first detector that matches, else None."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        return None
    for mistake, detect in DETECTORS:
        why = detect(e, a, ctx)
        if why:
            return f"Likely cause: {mistake}: {why}."
    return None


def describe_index(index: tuple[int, ...], shape: tuple[int, ...], ctx: WeightContext) -> str | None:
    """`"gate f (TF1 order i,j,f,o), unit 3; row 17 (h row 9)"` for an index into a cell variable."""
    lay = _layout(ctx)
    if lay is None or not index:
        return None
    # Cell variables whose columns are gate blocks: an LSTM kernel/bias, a GRU's gates_* (not its candidate).
    names = lay.tf1_gates if ctx.role in lay.gate_roles() else None
    parts = []
    if names and shape[-1] % len(names) == 0:
        width = shape[-1] // len(names)
        col = index[-1]
        order = ",".join(names)
        parts.append(f"gate {names[col // width]} (TF1 order {order}), unit {col % width}")
    if len(index) == 2 and ctx.input_size is not None:
        row = index[0]
        parts.append(f"row {row} (input row {row})" if row < ctx.input_size
                     else f"row {row} (state row {row - ctx.input_size})")
    return "; ".join(parts) or None
