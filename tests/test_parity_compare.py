"""`migrate.parity.compare`: the verdict, the numbers and every line of the failure message."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.parity import (
    DEFAULT_TOLERANCES,
    ParityError,
    assert_parity,
    compare,
    default_tolerance,
)


def _logits(shape=(2, 10, 6), seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def test_equal_arrays_pass_with_zero_error():
    e = _logits()
    r = compare(e, e.copy(), name="logits")
    assert r.ok and bool(r)
    assert r.mismatched == 0 and r.compared == e.size and r.max_abs == 0.0
    assert r.message.startswith("Parity check 'logits' passed")


def test_float32_defaults_are_the_migration_guide_tolerances():
    r = compare(np.zeros(3, np.float32), np.zeros(3, np.float32))
    assert (r.rtol, r.atol) == (1e-6, 1e-5) == DEFAULT_TOLERANCES["float32"]
    assert default_tolerance(np.float64) == (1e-7, 1e-7)
    # integer ids are compared exactly
    assert (compare(np.array([1, 2]), np.array([1, 2])).rtol, compare(np.array([1]), np.array([1])).atol) == (0, 0)


def test_tolerance_rule_is_atol_plus_rtol_times_expected():
    e = np.array([100.0], np.float32)
    assert compare(e, e + 9e-5, rtol=1e-6, atol=1e-5).ok  # 9e-5 <= 1e-5 + 1e-4
    assert not compare(e, e + 2e-4, rtol=1e-6, atol=1e-5).ok


def test_message_counts_greatest_differences_and_tolerance():
    e = _logits((4, 10, 120))  # 4800 elements, as in the torch example
    a = e.copy()
    a[1, 7, 42] += 2.1e-3
    a[0, 3, 5] += 5e-4
    a[2, 9, 0] += 1e-4
    r = compare(e, a, name="logits")
    msg = r.message
    assert not r.ok and r.mismatched == 3
    assert msg.splitlines()[0] == "Parity check 'logits' failed: arrays are not close."
    assert "Mismatched elements: 3 / 4800 (0.1%)" in msg
    assert "Greatest absolute difference: 2.1e-03 at index (1, 7, 42) (up to 1e-05 allowed)" in msg
    rel_idx = r.max_rel_index
    expected_rel = abs(a[rel_idx] - e[rel_idx]) / abs(e[rel_idx])
    assert f"Greatest relative difference: {expected_rel:.1e} at index {rel_idx} (up to 1e-06 allowed)" in msg
    assert r.max_abs_index == (1, 7, 42)
    assert r.max_abs == pytest.approx(2.1e-3, rel=1e-3)


def test_mask_leaves_padded_positions_out_and_says_so():
    e = _logits((2, 5, 3))
    a = e.copy()
    a[1, 4, :] += 1.0  # a padded step: outside the mask
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    r = compare(e, a, mask, name="logits")
    assert r.ok and r.compared == 8 * 3 and r.total == 30
    assert "Compared: 24 of 30 elements (mask: 8 of 10 positions)" in r.message
    assert "t3 masked" not in r.message  # row 0 is valid at t3
    assert not compare(e, a, None).ok  # the same arrays fail when padding is compared


def test_mask_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"mask of shape \(2, 4\) .* shape \(2, 5, 3\)"):
        compare(_logits((2, 5, 3)), _logits((2, 5, 3)), np.ones((2, 4), bool))


def test_per_timestep_line_shows_errors_and_first_step_over_tolerance():
    e = _logits((2, 4, 3))
    a = e.copy()
    a[0, 2, 1] += 3e-3
    a[1, 3, 0] += 5e-2
    a[1, 1, 0] += 2e-6  # within tolerance
    r = compare(e, a, name="logits")
    line = next(x for x in r.message.splitlines() if x.startswith("Per-timestep"))
    assert line.startswith("Per-timestep max abs error (axis 1): t0 0.0e+00, t1 2.")
    assert "t2 3.0e-03" in line and "t3 5.0e-02" in line
    assert line.endswith("; first over tolerance: t2")
    assert r.first_bad_timestep == 2
    assert r.per_timestep[0] == 0.0 and r.per_timestep[3] == pytest.approx(5e-2, rel=1e-3)


def test_per_timestep_line_abbreviates_long_sequences_but_keeps_first_and_worst():
    e = _logits((1, 40, 2))
    a = e.copy()
    a[0, 17, 0] += 1e-3
    a[0, 25, 0] += 9e-3
    line = next(x for x in compare(e, a).message.splitlines() if x.startswith("Per-timestep"))
    assert "..." in line and "t17 1.0e-03" in line and "t25 9.0e-03" in line and "t39 " in line
    assert "t10 " not in line
    assert line.endswith("first over tolerance: t17")


def test_nan_and_inf_are_named_per_side_with_first_index():
    e = _logits((2, 3, 4))
    a = e.copy()
    a[0, 1, 2] = np.nan
    a[1, 2, 3] = np.nan
    e2 = e.copy()
    e2[1, 0, 1] = np.inf
    r = compare(e2, a, name="logits")
    msg = r.message
    assert "NaN in actual: 2 element(s), first at index (0, 1, 2)" in msg
    assert "Inf in expected: 1 element(s), first at index (1, 0, 1)" in msg
    assert "NaN in expected" not in msg and "Inf in actual" not in msg
    assert r.mismatched == 3
    assert "t1 NaN" in msg


def test_nan_and_inf_are_never_close_not_even_equal_infinities():
    assert not compare(np.array([np.nan]), np.array([np.nan])).ok
    same = compare(np.array([np.inf, -np.inf, 1.0]), np.array([np.inf, -np.inf, 1.0]))
    assert not same.ok and same.mismatched == 2   # an all-inf model is broken or its feed is wrong, never "ok"
    assert not compare(np.array([np.inf]), np.array([-np.inf])).ok


def test_argmax_agreement_counts_valid_positions_only():
    e = np.zeros((2, 3, 4), np.float32)
    e[..., 1] = 1.0  # argmax 1 everywhere
    a = e.copy()
    a[1, 0, 3] = 2.0  # disagreement at a valid position
    a[1, 2, 0] = 5.0  # disagreement at a padded position: not counted
    mask = np.array([[1, 1, 1], [1, 1, 0]], bool)
    r = compare(e, a, mask, name="logits", logits=True)
    assert r.argmax_positions == (4, 5)
    assert r.argmax_agreement == pytest.approx(0.8)
    assert "Argmax agrees on 80.0% of valid positions (4 / 5); first disagreement at (1, 0): expected 1, actual 3" \
        in r.message
    assert compare(e, e, logits=True).message.count("Argmax agrees on 100.0%") == 1


def test_shape_mismatch_is_reported_not_broadcast():
    r = compare(np.zeros((2, 3)), np.zeros((2, 1)), name="loss")
    assert not r.ok
    assert r.message == "Parity check 'loss' failed: arrays are not close.\nShape mismatch: expected (2, 3), actual (2, 1)"


def test_assert_parity_raises_assertion_error_with_result():
    e = _logits((1, 2, 2))
    with pytest.raises(ParityError) as info:
        assert_parity(e, e + 1.0, name="grad decoder/kernel", msg="after one step")
    assert isinstance(info.value, AssertionError)
    text = str(info.value)
    assert text.startswith("after one step\nParity check 'grad decoder/kernel' failed")
    assert info.value.result.mismatched == 4
    assert assert_parity(e, e).ok


def test_result_serialises_to_json_with_message():
    e = _logits((1, 3, 2))
    a = e.copy()
    a[0, 0, 0] = np.nan
    d = json.loads(json.dumps(compare(e, a, name="x", logits=True).to_dict()))
    assert d["ok"] is False and d["mismatched"] == 1 and d["per_timestep"][0] == "nan"
    assert d["message"].startswith("Parity check 'x' failed")
    assert re.search(r"FAIL  x  max abs \S+  max rel \S+  mismatched 1/6", compare(e, a, name="x").summary())


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**31 - 1),
       st.floats(1e-8, 1e-1))
def test_mismatch_count_matches_numpy_isclose(b, t, v, seed, scale):
    rng = np.random.RandomState(seed % (2**31))
    e = rng.randn(b, t, v).astype(np.float32)
    a = (e + rng.randn(b, t, v) * scale).astype(np.float32)
    mask = rng.rand(b, t) < 0.7
    r = compare(e, a, mask)
    want = ~np.isclose(a.astype(np.float64), e.astype(np.float64), rtol=1e-6, atol=1e-5) & mask[..., None]
    assert r.mismatched == int(want.sum())
    assert r.ok == (not want.any())
    if mask.any():
        d = np.abs(a.astype(np.float64) - e)[np.broadcast_to(mask[..., None], e.shape)]
        assert r.max_abs == pytest.approx(d.max())
