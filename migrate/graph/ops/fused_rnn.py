"""TensorFlow's fused recurrent ops (contrib.rnn's block cells, the kernels TF 2.21 still ships as raw ops), as
keras.ops one line per equation, so that a loop no recogniser takes (recognisers off, or a form none knows: a
block cell with peepholes or a cell clip) still converts through the generic tier:

- `LSTMBlockCell` (contrib `LSTMBlockCell`, `LSTMBlockFusedCell`'s step): inputs x, cs_prev, h_prev, w, wci, wcf,
  wco, b; outputs i, cs, f, o, ci, co, h. The kernel's columns are [i, ci, f, o] (TensorFlow's lstm_ops.h
  `LSTMBlockCellFprop`: `icfo`), not the [i, f, ci, o] its raw-op docstring prints.
- `GRUBlockCell` (contrib `GRUBlockCell`): inputs x, h_prev, w_ru, w_c, b_ru, b_c; outputs r, u, c, h.
- `BlockLSTM` (contrib `LSTMBlockFusedCell`: every step of a sequence in one op): the runtime layer
  `tfm.BlockLSTM`, which runs the same step with `keras.ops.scan`.
"""

from __future__ import annotations

import numpy as np

from migrate.graph.ops import Ctx, op


def _line(c: Ctx, expr: str, hint: str, what: str, shape=None):
    return c.em.emit(expr, f"{c.op.name}/{hint}", shape=shape, dtype=c.out_dtype(0),
                     comment=f"{c.op.type} {c.op.name}: {what}")[0]


def _f32(value) -> float:
    """A float32 attribute as the shortest decimal that is the same float32 (0.6, not 0.6000000238418579)."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def _gates(c: Ctx) -> tuple[float, float, bool]:
    return (_f32(c.attr("forget_bias", 1.0)), _f32(c.attr("cell_clip", -1.0)),
            bool(c.attr("use_peephole", False)))


@op("LSTMBlockCell")
def lstm_block_cell(c: Ctx):
    forget_bias, clip, peephole = _gates(c)
    x, cs_prev, h_prev, w, b = (c.v(k) for k in (0, 1, 2, 3, 7))
    wci, wcf, wco = (c.v(k) for k in (4, 5, 6)) if peephole else ("", "", "")   # zeros when not used
    shape = c.out_shape(6)
    val = c.em.value
    z = _line(c, f"keras.ops.matmul(keras.ops.concatenate([{x}, {h_prev}], axis=1), {w}) + {b}", "z",
              "[x, h_prev] . w + b, columns [i, ci, f, o]")
    parts = c.em.emit(f"keras.ops.split({val(z)}, 4, axis=1)", f"{c.op.name}/gate", dtype=c.out_dtype(0), n_out=4,
                      comment=f"{c.op.type} {c.op.name}: i, ci, f, o")
    i_bar, ci_bar, f_bar, o_bar = (val(p) for p in parts)
    peep = (lambda wv: f" + {cs_prev} * {wv}") if peephole else (lambda wv: "")
    i = _line(c, f"keras.ops.sigmoid({i_bar}{peep(wci)})", "i", "input gate", shape)
    f = _line(c, f"keras.ops.sigmoid({f_bar} + {float(forget_bias)!r}{peep(wcf)})", "f",
              f"forget gate (forget_bias {forget_bias})", shape)
    ci = _line(c, f"keras.ops.tanh({ci_bar})", "ci", "cell input", shape)
    cs = _line(c, f"{val(ci)} * {val(i)} + {cs_prev} * {val(f)}", "cs", "cell state", shape)
    if clip > 0:
        cs = _line(c, f"keras.ops.clip({val(cs)}, {-clip!r}, {clip!r})", "cs_clipped", f"cell_clip {clip}", shape)
    o = _line(c, f"keras.ops.sigmoid({o_bar}{f' + {val(cs)} * {wco}' if peephole else ''})", "o", "output gate",
              shape)
    co = _line(c, f"keras.ops.tanh({val(cs)})", "co", "tanh of the cell state", shape)
    h = _line(c, f"{val(co)} * {val(o)}", "h", "output", shape)
    return [i, cs, f, o, ci, co, h]


@op("GRUBlockCell")
def gru_block_cell(c: Ctx):
    x, h_prev, w_ru, w_c, b_ru, b_c = (c.v(k) for k in range(6))
    shape = c.out_shape(3)
    val = c.em.value
    ru = _line(c, f"keras.ops.sigmoid(keras.ops.matmul(keras.ops.concatenate([{x}, {h_prev}], axis=1), {w_ru}) + "
                  f"{b_ru})", "ru", "reset and update gates")
    parts = c.em.emit(f"keras.ops.split({val(ru)}, 2, axis=1)", f"{c.op.name}/gate", dtype=c.out_dtype(0), n_out=2,
                      comment=f"{c.op.type} {c.op.name}: r, u")
    r, u = parts
    r.shape = u.shape = shape
    cand = _line(c, f"keras.ops.tanh(keras.ops.matmul(keras.ops.concatenate([{x}, {h_prev} * {val(r)}], axis=1), "
                    f"{w_c}) + {b_c})", "c", "candidate", shape)
    h = _line(c, f"(1.0 - {val(u)}) * {val(cand)} + {val(u)} * {h_prev}", "h", "output", shape)
    return [r, u, cand, h]


@op("BlockLSTM", "BlockLSTMV2")
def block_lstm(c: Ctx):
    """x [T, B, D] (time-major, as LSTMBlockFusedCell feeds it), every step up to seq_len_max; the cell state and
    output past it are zeros. BlockLSTMV2 (TF 2's kernel) orders the kernel's columns [i, f, ci, o] and has no
    forget_bias."""
    forget_bias, clip, peephole = _gates(c)
    v2 = c.type == "BlockLSTMV2"
    args = ", ".join(c.v(k) for k in range(9))   # seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b
    ctor = (f"tfm.BlockLSTM(forget_bias={0.0 if v2 else forget_bias!r}, cell_clip={clip!r}, "
            f"use_peephole={peephole!r}, gate_order={'ifco' if v2 else 'icfo'!r})")
    c.em.constructs[f"{c.type} -> tfm.BlockLSTM"] += 1
    return c.out(f"{ctor}([{args}])", n_out=7)
