"""Every variant of the matrix: cell x layers x encoder x attention, forward checks.

`test_matrix.py` runs the all-pairs rows with every check (weights, logits, loss, gradients, Adam,
greedy; random and trained weights). This file covers the whole product of the four structural factors (60
variants) with the checks of the legacy eval graph, which is about 3x cheaper to build than the train graph: the
weights mapped back, the logits at valid positions, the loss and the greedy ids, on random non-zero weights (biases
included) seeded per cell. The forget bias (1.0 / 0.8: a constant of the LSTM cells, no variable, no structure) is
not a factor of the product here: it alternates over the LSTM variants so that each value meets every value of
every other factor (checked below), as in test_matrix.py's all-pairs rows; `full_matrix.py` runs the whole
120-cell product, forget bias included, with gradients outside CI.

Each cell's eval graph, built here anyway, is also checked to hold exactly the variables TF1's naming rules give
(tests/legacy_tf1_names.py; tests/test_legacy_names.py checks the train graphs).
"""

import itertools

import pytest
from parity_support import ATTENTION_LAYER, batches_for, make_hparams

from seq2seq_task import ATTENTION_TYPES, CELL_TYPES
from tests.legacy_tf1_names import check_eval_graph_names

FACTORS = (CELL_TYPES, (1, 2), ("uni", "bi"), ATTENTION_TYPES)


def _forget_bias(cell, layers, encoder, attention) -> float:
    """1.0 or 0.8, alternating over the LSTM variants (a parity of their indices: every value of every other factor
    meets both); GRUCell has no forget bias (the hparam is unused): 1.0."""
    if cell == "gru":
        return 1.0
    odd = (CELL_TYPES.index(cell) + layers + ("uni", "bi").index(encoder) + ATTENTION_TYPES.index(attention)) % 2
    return 0.8 if odd else 1.0


CELLS = [(*v, _forget_bias(*v)) for v in itertools.product(*FACTORS)]


def test_the_product_has_every_variant_and_both_forget_biases_meet_every_factor_value():
    assert len(CELLS) == len({c[:4] for c in CELLS}) == 60   # every legacy graph variant's eval graph names: here
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
