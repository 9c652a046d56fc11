"""A strength-3 covering array of the matrix's structural variants (cell x layers x encoder x attention), forward checks.

`test_matrix.py` runs the all-pairs rows with every check (weights, logits, loss, gradients, Adam,
greedy; random and trained weights). This file covers every TRIPLE of values of the four structural factors: of
the 60 variants, 30 rows (the fewest possible: cell x attention x layers alone has 30 triples) in which each
(cell, attention) pair appears with layers x encoder either (1, uni) + (2, bi) or (1, bi) + (2, uni), the two
patterns alternating so that every (layers, encoder, attention) and (cell, layers, encoder) triple meets too
(checked below). Each row runs the checks of the legacy eval graph, which is about 3x cheaper to build than the
train graph: the weights mapped back, the logits at valid positions, the loss and the greedy ids, on random
non-zero weights (biases included) seeded per row. The forget bias (1.0 / 0.8: a constant of the LSTM cells, no
variable, no structure) alternates over the LSTM rows so that each value meets every value of every other factor
(checked below), as in test_matrix.py's all-pairs rows; `full_matrix.py` runs the whole 120-cell product, forget
bias included, with gradients, outside CI (about 12 minutes).

Each row's eval graph, built here anyway, is also checked to hold exactly the variables TF1's naming rules give
(tests/legacy_tf1_names.py; tests/test_legacy_names.py checks the train graphs).
"""

import itertools

import pytest
from parity_support import ATTENTION_LAYER, batches_for, make_hparams

from seq2seq_task import ATTENTION_TYPES, CELL_TYPES
from tests.legacy_tf1_names import check_eval_graph_names

FACTORS = (CELL_TYPES, (1, 2), ("uni", "bi"), ATTENTION_TYPES)


def _forget_bias(cell, layers, encoder, attention) -> float:
    """1.0 or 0.8, alternating over the LSTM rows by the parity of layers + the attention's index (each (cell,
    attention) pair has both layer counts, each layer count every attention: every value of every other factor
    meets both); GRUCell has no forget bias (the hparam is unused): 1.0."""
    if cell == "gru":
        return 1.0
    return 0.8 if (layers + ATTENTION_TYPES.index(attention)) % 2 else 1.0


def _covering_rows():
    """30 rows covering every triple of factor values: per (cell, attention) two rows, layers x encoder
    (1, uni) + (2, bi) or (1, bi) + (2, uni), by the parity of the two factors' indices."""
    patterns = (((1, "uni"), (2, "bi")), ((1, "bi"), (2, "uni")))
    return [(cell, layers, encoder, attention)
            for i, cell in enumerate(CELL_TYPES) for j, attention in enumerate(ATTENTION_TYPES)
            for layers, encoder in patterns[(i + j) % 2]]


CELLS = [(*v, _forget_bias(*v)) for v in _covering_rows()]


def test_the_rows_cover_every_triple_and_both_forget_biases_meet_every_factor_value():
    assert len(CELLS) == len({c[:4] for c in CELLS}) == 30
    for picked in itertools.combinations(range(len(FACTORS)), 3):
        seen = {tuple(c[k] for k in picked) for c in CELLS}
        missing = set(itertools.product(*(FACTORS[k] for k in picked))) - seen
        assert not missing, (picked, sorted(missing))
    lstm = [c for c in CELLS if c[0] != "gru"]
    for k, values in enumerate(FACTORS):
        for value in values:
            if value == "gru":
                continue
            assert {c[4] for c in lstm if c[k] == value} == {1.0, 0.8}, (k, value)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CELLS)),
                         ids=[f"{c}-L{n}-{e}-{a}-fb{f}" for c, n, e, a, f in CELLS])
def test_every_cell_forward(index):
    from migrate.parity.harness import ParityPair  # noqa: PLC0415

    hp = make_hparams(*CELLS[index], attention_layer_size=None if index % 3 == 0 else ATTENTION_LAYER,
                      output_attention=index % 4 != 1)
    pair = ParityPair(hp, backward=False)
    try:
        eval_graph = pair.legacy.graphs["eval"]
        check_eval_graph_names(eval_graph.graph, eval_graph.model, pair.legacy.hparams)
        weights = pair.random_weights(seed=1000 + index)
        biases = [v for name, v in weights.items() if name.endswith(("bias", "biases"))]
        assert biases and all(abs(v).min() > 0 for v in biases)  # random NON-zero biases
        pair.set_legacy_weights(weights)
        report = pair.run(batches_for(hp, seed=index), checks=("weights", "logits", "loss", "greedy"))
    finally:
        pair.close()
    assert report.ok, report.failure_message()
    assert {r.name for r in report.results} >= {"logits", "loss", "greedy ids"}
