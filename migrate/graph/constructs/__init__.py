"""The construct registry: one module per recognised TF1 recurrent construct, like the cell-layout registry
(`migrate.checkpoint.cell_layouts`).

- cells (`CELL`): a step matcher each (`lstm_cell`, `gru_cell`, `cudnn_compatible_gru_cell`, `cifg_lstm_cell`,
  `basic_rnn_cell`, `peephole_lstm_cell`, `layer_norm_lstm_cell`, `lstm_block_cell`, `gru_block_cell`), tried in this order on the op they are found from;
- constructs (`CONSTRUCT`): `static_rnn`, `dynamic_rnn` (with `output_projection_wrapper`,
  `residual_wrapper`, `dropout_wrapper`, `packed_state`), `dynamic_decode` (which emits `attention_wrapper` /
  `greedy_decoder` / `sampling_decoder` forms), `legacy_attention_decoder`, `cudnn_rnn`, `static_bidirectional_rnn`,
  `beam_search_decoder`, `keras2_rnn` (Keras 2's own `K.rnn` loops); their providers are gathered in this order, a later one's
  replacing an earlier one's for the same tensor;
- decoder helpers (`HELPER`): how a `dynamic_decode` loop gets its step input (`scheduled_embedding_training_helper`,
  `training_helper`, `greedy_embedding_helper`, `sample_embedding_helper`, `dynamic_rnn_input`), tried in this
  order.

The shared graph-matching helpers are `migrate.graph.matching`; a cell step becomes a Keras layer in
`migrate.graph.rnn`; the decoders share `migrate.graph.decoders`. A construct module gets the registry from its
caller (`recognise(view, outputs, registry)`), never imports this package. Adding a cell, helper or decoder: one
module here, listed below, plus its TF1-style builder test (convert + parity); `docs_table()` is the table
of docs/graph_convert.md (tests/test_graph_constructs_layout.py checks both).
"""

from __future__ import annotations

from migrate.graph.constructs import (
    attention_wrapper,
    basic_rnn_cell,
    beam_search_decoder,
    cifg_lstm_cell,
    cudnn_compatible_gru_cell,
    cudnn_rnn,
    dropout_wrapper,
    dynamic_decode,
    dynamic_rnn,
    dynamic_rnn_input,
    greedy_decoder,
    greedy_embedding_helper,
    gru_block_cell,
    gru_cell,
    keras2_rnn,
    layer_norm_lstm_cell,
    legacy_attention_decoder,
    lstm_block_cell,
    lstm_cell,
    output_projection_wrapper,
    packed_state,
    peephole_lstm_cell,
    raw_rnn,
    residual_wrapper,
    sample_embedding_helper,
    sampling_decoder,
    scheduled_embedding_training_helper,
    static_bidirectional_rnn,
    static_rnn,
    training_helper,
)
from migrate.graph.constructs.base import Cell, Construct, Helper, Registry

CELL_MODULES = (lstm_cell, gru_cell, cudnn_compatible_gru_cell, cifg_lstm_cell, basic_rnn_cell, peephole_lstm_cell,
                layer_norm_lstm_cell, lstm_block_cell, gru_block_cell)
CONSTRUCT_MODULES = (static_rnn, dynamic_rnn, output_projection_wrapper, residual_wrapper, dropout_wrapper,
                     packed_state,
                     dynamic_decode, attention_wrapper, greedy_decoder, sampling_decoder,
                     legacy_attention_decoder,
                     raw_rnn,
                     cudnn_rnn,
                     static_bidirectional_rnn,
                     beam_search_decoder,
                     keras2_rnn)
HELPER_MODULES = (scheduled_embedding_training_helper, training_helper, greedy_embedding_helper,
                  sample_embedding_helper, dynamic_rnn_input)

REGISTRY = Registry([m.CELL for m in CELL_MODULES], [m.HELPER for m in HELPER_MODULES],
                    [m.CONSTRUCT for m in CONSTRUCT_MODULES])


def docs_table() -> str:
    """The markdown table of docs/graph_convert.md's recogniser section: one row per registered module."""
    rows = ["| kind | TF1 | Keras | module |", "|---|---|---|---|"]
    for kind, modules, attr in (("cell", CELL_MODULES, "CELL"), ("construct", CONSTRUCT_MODULES, "CONSTRUCT"),
                                ("decoder helper", HELPER_MODULES, "HELPER")):
        for m in modules:
            e = getattr(m, attr)
            rows.append(f"| {kind} | {e.tf1} | {e.keras} | `constructs/{m.__name__.rsplit('.', 1)[-1]}.py` |")
    return "\n".join(rows)


def recognise(view, outputs) -> dict:
    """{tensor name: Provider} of every registered construct found in the graph."""
    return REGISTRY.recognise(view, outputs)


__all__ = ["CELL_MODULES", "CONSTRUCT_MODULES", "HELPER_MODULES", "REGISTRY", "Cell", "Construct", "Helper",
           "Registry", "docs_table", "recognise"]
