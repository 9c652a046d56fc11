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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LSTM_TF1_GATES = ("i", "j", "f", "o")   # rnn_cell_impl.LSTMCell: i, j, f, o = split(..., 4)
GRU_TF1_GATES = ("r", "u")              # rnn_cell_impl.GRUCell: r, u = split(gates/kernel ..., 2)


@dataclass
class WeightContext:
    """What a detector may know about one TF1 variable.

    Attributes:
        name: the TF1 variable name.
        family: "lstm", "gru" or None (dense, embedding, attention).
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


def _is_lstm(ctx: WeightContext, *roles: str) -> bool:
    return ctx.family == "lstm" and ctx.role in roles


def _forget_offset(expected, actual, ctx) -> float | None:
    if not _is_lstm(ctx, "bias") or expected.shape[-1] % 4:
        return None
    d = np.split(actual.astype(np.float64) - expected, 4)
    f = LSTM_TF1_GATES.index("f")
    others = [d[k] for k in range(4) if k != f]
    if all(np.allclose(x, 0, atol=1e-5) for x in others) and np.ptp(d[f]) < 1e-5 and abs(d[f].mean()) > 1e-5:
        return float(d[f].mean())
    return None


def _no_forget_fold(expected, actual, ctx):
    off = _forget_offset(expected, actual, ctx)
    if off is not None and ctx.forget_bias and abs(off + ctx.forget_bias) < 1e-5:
        return (f"the f block (TF1 gate order i,j,f,o) is off by exactly -{ctx.forget_bias:g} = -forget_bias: "
                f"the forget bias was not folded into the Keras LSTM bias (add forget_bias to the Keras f slice)")
    return None


def _forget_fold_twice(expected, actual, ctx):
    off = _forget_offset(expected, actual, ctx)
    if off is not None and ctx.forget_bias and abs(off - ctx.forget_bias) < 1e-5:
        return (f"the f block is off by +{ctx.forget_bias:g} = forget_bias: the forget bias was added twice "
                f"(or also to a tensor that must not get it, such as an Adam slot or a gradient)")
    if off is not None:
        return (f"the f block (TF1 gate order i,j,f,o) is off by a constant {off:+.6g} and everything else is "
                f"equal: a wrong forget bias was folded (converter used forget_bias="
                f"{(ctx.forget_bias or 0) - off:g}, the legacy cell adds {ctx.forget_bias}?)")
    return None


def _lstm_no_reorder(expected, actual, ctx):
    if not _is_lstm(ctx, "kernel", "bias") or expected.shape[-1] % 4:
        return None
    j, f = LSTM_TF1_GATES.index("j"), LSTM_TF1_GATES.index("f")
    if _close(_swap_blocks(expected, 4, j, f), actual):
        return ("gate blocks j and f trade places: the LSTM columns were not reordered from TF1's i,j,f,o to "
                "Keras's i,f,c,o")
    if ctx.role == "bias":  # with a folded forget bias, the swap is visible up to that constant
        d = np.split(actual.astype(np.float64) - _swap_blocks(expected, 4, j, f), 4)
        if all(np.ptp(x) < 1e-5 for x in d) and sum(abs(x.mean()) > 1e-5 for x in d) == 2:
            return ("gate blocks j and f trade places (up to the folded forget bias): the LSTM columns were not "
                    "reordered from TF1's i,j,f,o to Keras's i,f,c,o")
    return None


def _gru_no_reorder(expected, actual, ctx):
    if ctx.family != "gru" or ctx.role not in ("gates_kernel", "gates_bias") or expected.shape[-1] % 2:
        return None
    if _close(_swap_blocks(expected, 2, 0, 1), actual):
        return ("gate blocks r and u trade places: the GRU gates were not reordered from TF1's r,u to "
                "Keras's z,r (z = u)")
    return None


def _rows_rotated(expected, actual, ctx):
    if ctx.role not in ("kernel", "gates_kernel", "candidate_kernel") or ctx.family is None or expected.ndim != 2:
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
    ("LSTM gates not reordered", _lstm_no_reorder),
    ("GRU gates not reordered", _gru_no_reorder),
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
    if ctx.family is None or not index:
        return None
    gates = {"lstm": LSTM_TF1_GATES, "gru": GRU_TF1_GATES if ctx.role and ctx.role.startswith("gates") else None}
    names = gates.get(ctx.family)
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
