"""The parity matrix: cell x layers x encoder x attention x forget bias, on random and on trained weights.

The full product has 3 * 2 * 2 * 5 * 2 = 120 cells; CI runs an all-pairs covering array of 15 rows
(`MATRIX`): every pair of factor values meets in at least one row (checked by
`test_matrix_covers_every_pair`), one row per (cell, attention). Each row also varies the attention
wrapper's options (attention_layer_size None / 7, output_attention) and the projection (dense / slim).
Weights are random and non-zero (biases included, attention_g != 1), then trained a few steps on the
embedded task.
"""

from __future__ import annotations

import itertools

import pytest
from parity_support import MATRIX, batches_for, hparams_of, pair_for, row_id

from seq2seq_task import ATTENTION_TYPES, CELL_TYPES

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")

FACTORS = {"cell": CELL_TYPES, "layers": (1, 2), "encoder": ("uni", "bi"), "attention": ATTENTION_TYPES,
           "forget_bias": (1.0, 0.8)}

# The Adam check runs on one row per attention type (it costs two backward passes per step per side).
ADAM_ROWS = {MATRIX[i] for i in (0, 4, 6, 11, 13)}


def test_matrix_covers_every_pair():
    names = list(FACTORS)
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        seen = {(row[i], row[j]) for row in MATRIX}
        missing = set(itertools.product(FACTORS[a], FACTORS[b])) - seen
        assert not missing, f"pairs of {a} x {b} never tested: {sorted(missing)}"
    assert {r[4] for r in ADAM_ROWS if r[0] != "gru"} == {1.0, 0.8}
    assert {r[3] for r in ADAM_ROWS} == set(ATTENTION_TYPES)


CASES = [(row, weights) for row in MATRIX for weights in ("random", "trained")]


@pytest.mark.slow
@pytest.mark.parametrize("row, weights", CASES, ids=[f"{row_id(r)}-{w}" for r, w in CASES])
def test_matrix_row(row, weights):
    hp = hparams_of(row)
    pair = pair_for(hp)
    i = MATRIX.index(row)
    if weights == "random":
        pair.set_legacy_weights(pair.random_weights(seed=i))
        checks = ("weights", "logits", "loss", "gradients", "greedy") + (("adam",) if row in ADAM_ROWS else ())
        report = pair.run(batches_for(hp), checks=checks, adam_steps=2)
        assert report.ok, report.failure_message()
        kinds = {r.name.split(" ")[0] for r in report.results}
        assert {"weight", "logits", "loss", "grad", "greedy"} <= kinds
        assert sum(r.name.startswith("grad ") for r in report.results) == len(pair.legacy.names)  # every variable
        return
    # Trained: a few legacy Adam steps on the embedded task from small random weights.
    pair.set_legacy_weights(pair.random_weights(seed=100 + i, scale=0.1))
    probe = batches_for(hp, 1, seed=5)[0]
    before = pair.legacy.forward(probe)[1]
    pair.set_legacy_weights(pair.train_legacy(batches_for(hp, 4, seed=5), steps=8))
    assert pair.legacy.forward(probe)[1] < before  # the legacy model really trained
    report = pair.run(batches_for(hp, 2, seed=9), checks=("logits", "loss", "greedy"))
    assert report.ok, report.failure_message()
