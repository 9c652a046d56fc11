"""`migrate.parity.diagnose`: each known conversion mistake, made on real layouts, is named; right weights are not."""

from __future__ import annotations

import numpy as np
import pytest

from migrate.checkpoint import layouts
from migrate.parity.diagnose import WeightContext, describe_index, diagnose_weight

IN, UNITS, FB = 5, 4, 0.8
RNG = np.random.RandomState(3)
KERNEL = RNG.uniform(-1, 1, (IN + UNITS, 4 * UNITS)).astype(np.float32)
BIAS = RNG.uniform(-1, 1, 4 * UNITS).astype(np.float32)  # random NON-zero biases


def _lstm_roundtrip(k, rk, b):
    """What the harness does: the port's Keras weights mapped back with the converter's inverse."""
    return layouts.keras_to_lstm(k, rk, b, forget_bias=FB)


def _ctx(role, name="encoder/rnn/lstm_cell/"):
    return WeightContext(name=name + role, family="lstm", role=role, input_size=IN, forget_bias=FB)


def test_correct_conversion_has_no_diagnosis():
    k, b = _lstm_roundtrip(*layouts.lstm_to_keras(KERNEL, BIAS, IN, FB))
    np.testing.assert_allclose(k, KERNEL, atol=1e-6)
    assert diagnose_weight(KERNEL, k, _ctx("kernel")) is None
    assert diagnose_weight(BIAS, b, _ctx("bias")) is None


def test_forget_bias_not_folded():
    k, rk, b = layouts.lstm_to_keras(KERNEL, BIAS, IN, forget_bias=0.0)
    _, back = _lstm_roundtrip(k, rk, b)
    msg = diagnose_weight(BIAS, back, _ctx("bias"))
    assert msg.startswith("Likely cause: forget bias not folded:") and "-0.8 = -forget_bias" in msg


def test_forget_bias_folded_twice():
    k, rk, b = layouts.lstm_to_keras(KERNEL, BIAS, IN, forget_bias=2 * FB)
    _, back = _lstm_roundtrip(k, rk, b)
    assert diagnose_weight(BIAS, back, _ctx("bias")).startswith("Likely cause: forget bias folded twice")


def test_lstm_gates_not_reordered_on_kernel_and_bias():
    k_all = KERNEL  # TF1 order kept
    b = BIAS.copy()
    b[UNITS:2 * UNITS] += FB  # folded into Keras slot f, which now holds TF1's j
    back_k, back_b = _lstm_roundtrip(k_all[:IN], k_all[IN:], b)
    assert "not reordered from TF1's i,j,f,o" in diagnose_weight(KERNEL, back_k, _ctx("kernel"))
    assert "LSTM gates not reordered" in diagnose_weight(BIAS, back_b, _ctx("bias"))


def test_kernel_rows_split_at_the_wrong_place():
    k, rk, b = layouts.lstm_to_keras(KERNEL, BIAS, IN, FB)
    rows = np.concatenate([k, rk])
    wrong_k, wrong_rk = rows[UNITS:], rows[:UNITS]  # [h; x] instead of [x; h]
    back_k, _ = _lstm_roundtrip(wrong_k, wrong_rk, b)
    msg = diagnose_weight(KERNEL, back_k, _ctx("kernel"))
    assert "kernel rows split at the wrong place" in msg and f"rotated by {UNITS}" in msg


def test_fw_bw_swapped_names_the_direction():
    other = RNG.uniform(-1, 1, KERNEL.shape)
    ctx = _ctx("kernel", "encoder/bidirectional_rnn/fw/lstm_cell/")
    ctx.partner = other
    assert "fw weight holds the checkpoint's bw value" in diagnose_weight(KERNEL, other, ctx)


def test_gru_gates_not_reordered():
    gk = RNG.uniform(-1, 1, (IN + UNITS, 2 * UNITS))
    swapped = np.concatenate([gk[:, UNITS:], gk[:, :UNITS]], axis=1)
    ctx = WeightContext("rnn/gru_cell/gates/kernel", family="gru", role="gates_kernel", input_size=IN)
    assert "GRU gates not reordered" in diagnose_weight(gk, swapped, ctx)


def test_attention_scale_dropped():
    ctx = WeightContext("decoder/memory_layer/luong_attention/attention_g")
    assert "attention scale dropped" in diagnose_weight(np.float32(1.7), np.float32(1.0), ctx)
    assert diagnose_weight(np.float32(1.0), np.float32(1.0), ctx) is None


@pytest.mark.parametrize("index, shape, text", [
    ((3, 5), (IN + UNITS, 4 * UNITS), "gate j (TF1 order i,j,f,o), unit 1; row 3 (input row 3)"),
    ((7, 8), (IN + UNITS, 4 * UNITS), "gate f (TF1 order i,j,f,o), unit 0; row 7 (state row 2)"),
    ((15,), (4 * UNITS,), "gate o (TF1 order i,j,f,o), unit 3"),
], ids=["input-row-j", "state-row-f", "bias-o"])
def test_describe_index_names_gate_unit_and_row(index, shape, text):
    assert describe_index(index, shape, _ctx("kernel" if len(shape) == 2 else "bias")) == text


@pytest.mark.parametrize("layout", ["lstm_block", "gru_block"])
def test_gate_order_mistakes_are_named_for_every_registered_layout_of_a_family(layout):
    """The detectors read gate orders from the cell-layout registry: a block layout (named by its registry key)
    gets the same diagnosis as its family, and the same arrays under a family without gates get none."""
    from migrate.checkpoint import cell_layouts  # noqa: PLC0415

    lay = cell_layouts.get(layout)
    role = lay.gate_roles()[0]                                  # kernel / gates_kernel
    n = len(lay.tf1_gates)
    k = RNG.uniform(-1, 1, (IN + UNITS, n * UNITS))
    keras_k, keras_rk, _ = lay.to_keras({r: (k if r == role else np.zeros(s)) for r, s in
                                         lay.tf1_shapes(IN, UNITS).items()}, IN)
    assert keras_k.shape[0] == IN and not np.allclose(np.concatenate([keras_k, keras_rk])[:, :n * UNITS], k)
    b = np.split(k, n, axis=1)                                  # TF1 order kept, then mapped back: a swap
    left = np.concatenate([b[0], b[2], b[1], b[3]] if n == 4 else [b[1], b[0]], axis=1)
    msg = diagnose_weight(k, left, WeightContext("s/" + role, family=layout, role=role, input_size=IN))
    assert msg == (f"Likely cause: {lay.family.upper()} gates not reordered: gate blocks "
                   f"{'j and f' if n == 4 else 'r and u'} trade places: the {lay.family.upper()} columns were not "
                   f"reordered from TF1's {','.join(lay.tf1_gates)} to Keras's {','.join(lay.keras_gates)}.")
    assert diagnose_weight(k, k, WeightContext("s/" + role, family=layout, role=role, input_size=IN)) is None
