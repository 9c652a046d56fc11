"""The tolerance measurement (`migrate.parity.measure_tolerances`) measures what docs/parity.md says it does."""

from __future__ import annotations

import numpy as np
import pytest

from migrate.parity.measure_tolerances import run_config

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")


@pytest.mark.parametrize("cell", ["lstm", "basic_lstm", "gru"])
def test_honest_gap_is_inside_and_each_bug_far_outside_the_float32_tolerance(cell):
    gaps = run_config(np.random.RandomState(7), cell, units=16, input_size=8, t_max=12, batch=4, forget_bias=0.8)
    assert gaps["legacy_vs_port_abs"] < 1e-5 and gaps["port_vs_f64_abs"] < 1e-5 and gaps["legacy_vs_f64_abs"] < 1e-5
    bugs = {k: v for k, v in gaps.items() if k.startswith("bug_")}
    assert set(bugs) == ({"bug_reset_after_abs"} if cell == "gru" else {"bug_no_reorder_abs", "bug_no_fold_abs"})
    assert min(bugs.values()) > 1e-3
