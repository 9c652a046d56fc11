"""Mutation tests: inject each known migration mistake and prove parity fails with a message pointing at it.

Every mutation of `migrate.parity.mutations.MUTATIONS` is applied to a correctly converted port on
random non-zero weights (forget bias 0.8 for LSTMs); the harness must (1) fail the logits or loss
check (or, for an optimizer mistake, the weights after K Adam steps) - the numbers, not only the weight
layout - and (2) name the mistake in its failure message.
After each test the port's weights are restored (the pairs are shared with the matrix).
"""

from __future__ import annotations

import pytest
from parity_support import batches_for, hparams_of, pair_for, row_id

from migrate.parity import mutations as M
from migrate.parity.harness import PortRunner

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")

# Matrix rows every mutation applies to (shared with the matrix): LSTM with fw/bw and the Luong scale,
# forget bias 0.8; GRU, bidirectional, normalized Bahdanau.
LSTM_HP = ("lstm", 2, "bi", "scaled_luong", 0.8)
GRU_HP = ("gru", 1, "bi", "normalized_bahdanau", 1.0)

CASES = [
    ("no_forget_bias_fold", LSTM_HP),
    ("no_gate_reorder", LSTM_HP),
    ("rows_split_wrong", LSTM_HP),
    ("fw_bw_swapped", LSTM_HP),
    ("attention_scale_dropped", LSTM_HP),
    ("gru_gates_not_reordered", GRU_HP),
    ("rows_split_wrong", GRU_HP),
    ("fw_bw_swapped", GRU_HP),
    ("attention_scale_dropped", GRU_HP),
    ("adam_epsilon_default", GRU_HP),
    ("adam_beta2", LSTM_HP),
    ("adam_no_clipping", GRU_HP),
    ("adam_learning_rate_default", LSTM_HP),
    ("padding_in_loss", LSTM_HP),
    ("padded_positions_compared", GRU_HP),
]


def _numbers_fail(report) -> bool:
    """The logits, the loss or the trained weights differ (not only the weight layout)."""
    return any(not r.ok for r in report.results if r.name in ("logits", "loss") or r.name.startswith("adam "))


@pytest.fixture
def fresh_pair(request):
    """A shared pair with random weights; restored to them after the test."""
    hp = hparams_of(request.param)
    pair = pair_for(hp)
    weights = pair.random_weights(seed=11)
    pair.set_legacy_weights(weights)
    yield pair, hp
    pair.set_legacy_weights(weights)


def test_every_mutation_is_exercised():
    assert {name for name, _ in CASES} | {"gru_reset_after"} == set(M.MUTATIONS)


@pytest.mark.slow
@pytest.mark.parametrize("name, fresh_pair", CASES, indirect=["fresh_pair"],
                         ids=[f"{n}-{row_id(row)}" for n, row in CASES])
def test_mutation_fails_and_points_at_it(name, fresh_pair):
    pair, hp = fresh_pair
    mutation = M.MUTATIONS[name]
    assert mutation.applies(hp)
    batches = batches_for(hp)
    assert pair.run(batches, checks=("weights", "logits", "loss")).ok  # the unmutated pair passes first
    if name in M.WEIGHT_MUTATIONS:
        M.WEIGHT_MUTATIONS[name](pair)
        report = pair.run(batches, checks=("weights", "logits", "loss"))
    elif name in M.OPTIMIZER_MUTATIONS:
        report = pair.run(batches, checks=("gradients", "adam"), adam_steps=2, optimizer_fn=M.OPTIMIZER_MUTATIONS[name])
        assert all(r.ok for r in report.results if r.name.startswith("grad "))  # only the optimizer is wrong
    elif name == "padding_in_loss":
        report = pair.run(batches, checks=("logits", "loss"), loss_fn=M.padding_in_loss)
        assert [r.ok for r in report.results] == [True, False]  # logits agree; only the loss is wrong
    else:  # padded_positions_compared: a port with garbage at padding passes when padding is masked ...
        runner = PortRunner(M.repeat_last_output_at_padding(pair.port), pair.bindings)
        assert pair.run(batches, checks=("logits",), port_runner=runner).ok
        report = pair.run(batches, checks=("logits",), port_runner=runner, mask_padding=False)  # ... not unmasked
    assert not report.ok
    assert _numbers_fail(report), "the mistake must show in the numbers, not only in the weight layout"
    message = report.failure_message()
    assert mutation.pointer.lower() in message.lower(), message


@pytest.mark.slow
def test_gru_reset_after_fails_and_points_at_it():
    from migrate.parity.harness import ParityPair  # noqa: PLC0415

    hp = hparams_of(GRU_HP)
    good = pair_for(hp)
    weights = good.random_weights(seed=11)
    bad = ParityPair(hp, greedy=False, port=M.gru_reset_after_port(hp))
    try:
        bad.legacy.load(weights)
        bad.values = weights
        M.load_reset_after_weights(bad)
        report = bad.run(batches_for(hp), checks=("weights", "logits", "loss"))
    finally:
        bad.close()
    assert not report.ok and _numbers_fail(report)
    logits = next(r for r in report.results if r.name == "logits")
    assert logits.max_abs > 1e-3  # far outside tolerance, not a rounding effect
    assert "reset_after=True" in report.failure_message()
