"""Recognition from the `.meta` graph, on TF1-style models built here (tests/tf1_models.py) and real checkpoints."""

import json
import os

import pytest
from real_corpus import corpus_entry, real_tf1_dir

from migrate.checkpoint.inspection import inspect_json
from migrate.checkpoint.reader import Checkpoint
from migrate.checkpoint.recognise import recognise, recognise_checkpoint

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models():
    from tf1_models import build_all  # noqa: PLC0415

    return build_all()


def _rec(models, name):
    return recognise_checkpoint(Checkpoint.open(models[name]))


def _cells(rec):
    return {c.scope: (c.layout, c.role, c.direction, tuple(c.directions),
                      c.forget_bias["value"] if c.forget_bias else None) for c in rec.cells}


def test_embeddings_and_dense_by_usage_whatever_their_names(models):
    kt = _rec(models, "knowledge_tracing")           # resource variables: VarHandleOp + ReadVariableOp
    assert [(d.kernel, d.bias, d.source) for d in kt.dense] == [("kt/Weight", "kt/Bias", "graph (MatMul + bias add)")]
    assert _cells(kt) == {"kt/rnn/lstm_cell": ("lstm", None, None, (), 0.8)}
    crf = _rec(models, "bilstm_crf")
    assert [(e.name, e.source) for e in crf.embeddings] == [("words/word_matrix", "graph (read by Gather)")]
    assert [(d.kernel, d.bias) for d in crf.dense] == [("proj/W", "proj/b")]
    assert [(p.name, p.kind) for p in crf.parts] == [("transitions", "crf_transitions")]
    assert crf.unrecognised == []
    shared = _rec(models, "shared_fw_bw")
    assert [e.name for e in shared.embeddings] == ["Variable"]


def test_names_alone_miss_what_the_graph_finds(models):
    ckpt = Checkpoint.open(models["bilstm_crf"])
    by_name = recognise(ckpt.variables)
    assert by_name.embeddings == [] and "words/word_matrix" in by_name.unrecognised


def test_roles_by_dataflow_not_scope_names(models):
    assert _cells(_rec(models, "pointer_net")) == {
        "ptr/enc_rnn/gru_cell": ("gru", "encoder", None, (), None),
        "ptr/dec_rnn/attn/gru_cell": ("gru", "decoder", None, (), None)}
    th = _rec(models, "training_helper")
    assert _cells(th) == {"encode/rnn/basic_lstm_cell": ("lstm", "encoder", None, (), 1.0),
                          "decoder/out/basic_lstm_cell": ("lstm", "decoder", None, (), 1.0)}
    assert th.cell("encode/rnn/basic_lstm_cell").role_source.startswith("graph: its loop feeds decoder/while")


def test_static_legacy_seq2seq_attention(models):
    rec = _rec(models, "legacy_attention")
    roles = {c.scope.rsplit("/", 1)[0]: c.role for c in rec.cells}
    assert roles == {"embedding_attention_seq2seq/rnn": "encoder",
                     "embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder": "decoder"}
    parts = sorted((p.part, p.name.rsplit("attention_decoder/", 1)[1]) for p in rec.parts)
    assert parts == [("attention_query", "Attention_0/bias"), ("attention_query", "Attention_0/kernel"),
                     ("attn_output_projection", "AttnOutputProjection/bias"),
                     ("attn_output_projection", "AttnOutputProjection/kernel"),
                     ("attn_v", "AttnV_0"), ("attn_w", "AttnW_0")]
    assert len(rec.embeddings) == 2 and rec.unrecognised == []


def test_shared_fw_bw_cell_is_reported_with_both_directions(models):
    rep = inspect_json(Checkpoint.open(models["shared_fw_bw"]))
    assert rep["version"] == 2
    (cell,) = rep["cells"]
    assert (cell["directions"], rep["shared_cells"]) == (["bw", "fw"], ["encoder/bidirectional_rnn/fw/lstm_cell"])
    assert len(cell["frames"]) == 2


def test_stacked_encoder_and_decoder(models):
    assert _cells(_rec(models, "two_one")) == {
        "encoder/rnn/multi_rnn_cell/cell_0/basic_lstm_cell": ("lstm", "encoder", None, (), 1.0),
        "encoder/rnn/multi_rnn_cell/cell_1/basic_lstm_cell": ("lstm", "encoder", None, (), 1.0),
        "decoder/rnn/basic_lstm_cell": ("lstm", "decoder", None, (), 1.0)}
    lm = _rec(models, "char_rnn")
    assert {c.role for c in lm.cells} == {None} and len(lm.cells) == 2


def test_fused_block_cells_by_their_ops_and_the_lstm_forget_bias_attr(models):
    rec = _rec(models, "block_cells")
    assert _cells(rec) == {"lm/lstm_cell": ("lstm_block", None, None, (), 0.7),
                           "tagger/gru_cell": ("gru_block", None, None, (), None)}
    lstm = rec.cell("lm/lstm_cell")
    assert lstm.forget_bias["source"].endswith("attr forget_bias and 1 more)")
    assert recognise(Checkpoint.open(models["block_cells"]).variables).cell("lm/lstm_cell").layout == "lstm"


# -- real third-party checkpoints (tests/fixtures/real_tf1: README + manifest.json; the data found by
# tests/real_corpus.py) ---------------------------------------------------------------------------------------------
with open(os.path.join(os.path.dirname(__file__), "fixtures", "real_tf1", "manifest.json"), encoding="utf-8") as _f:
    REAL_FIXTURES = sorted(m["name"] for m in json.load(_f))


def _real_summary(fixture: str) -> dict:
    """cells {scope: [layout, role, direction(s), forget bias]}, embeddings, dense kernels, parts, convert's verdict."""
    from migrate.checkpoint.convert import plan_conversion  # noqa: PLC0415
    from migrate.checkpoint.reader import CheckpointError  # noqa: PLC0415

    prefix, _ = corpus_entry(fixture)
    try:
        ckpt = Checkpoint.open(os.path.dirname(prefix))
    except CheckpointError as e:
        return {"unreadable": str(e).replace(real_tf1_dir(), "ROOT")}
    rec = recognise_checkpoint(ckpt)
    out = {"cells": {c.scope: [c.layout, c.role, "+".join(c.directions) or c.direction,
                               c.forget_bias["value"] if c.forget_bias else None] for c in rec.cells},
           "embeddings": {e.name: e.role for e in rec.embeddings},
           "dense": sorted(d.kernel for d in rec.dense),
           "parts": sorted(f"{p.kind}:{p.name}" for p in rec.parts),
           "unrecognised": list(rec.unrecognised)}
    if rec.other_cells:   # cells no layout matches: never "dense" (the loops whose recurrence reads them)
        out["other_cells"] = {o.scope: o.loops for o in rec.other_cells}
    try:
        _, _, plan, _ = plan_conversion(ckpt)
        out["convert"] = "plan: " + ("complete" if not (plan.missing or plan.mismatched) else "incomplete")
    except CheckpointError as e:
        msg = str(e).replace(ckpt.prefix, "CKPT")
        out["convert"] = "refused: " + msg.split(": ", 2)[-1].split(". Found:")[0].split(". What fits")[0][:160]
    return out


# Pinned from a run on the real data (what each real checkpoint was recognised as, and convert's verdict).
EXPECTED_REAL: dict = json.loads(r'''
{
 "charrnn_static_fb0_tf12": {
  "cells": {
   "rnn/multi_rnn_cell/cell_0/basic_lstm_cell": [
    "lstm",
    null,
    null,
    0.0
   ],
   "rnn/multi_rnn_cell/cell_1/basic_lstm_cell": [
    "lstm",
    null,
    null,
    0.0
   ]
  },
  "convert": "refused: it is one RNN (a language model, tagger or classifier): no cell is a decoder (no cell's final state or outputs feed another cell) (also: it has no embedding (it",
  "dense": [
   "softmax/softmax_w"
  ],
  "embeddings": {},
  "parts": [],
  "unrecognised": [
   "evaluation/loss_monitor/count",
   "evaluation/loss_monitor/sum_mean_loss",
   "training/loss_monitor/count",
   "training/loss_monitor/sum_mean_loss",
   "validation/loss_monitor/count",
   "validation/loss_monitor/sum_mean_loss"
  ]
 },
 "ctc_conv_lstm_tf11": {
  "cells": {
   "rnn/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ]
  },
  "convert": "refused: it is one RNN (a language model, tagger or classifier): no cell is a decoder (no cell's final state or outputs feed another cell) (also: it has no embedding (it",
  "dense": [
   "Variable_2"
  ],
  "embeddings": {},
  "parts": [
   "convolution:Variable",
   "convolution:Variable_1"
  ],
  "unrecognised": [
   "Variable_4"
  ]
 },
 "hcn_shared_layer_lstm_tf18": {
  "cells": {
   "multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ]
  },
  "convert": "refused: it is one RNN (a language model, tagger or classifier): no cell is a decoder (no cell's final state or outputs feed another cell) (also: it has no embedding (it",
  "dense": [
   "Wi",
   "Wo"
  ],
  "embeddings": {},
  "parts": [],
  "unrecognised": []
 },
 "hcn_static_bigru_tf18": {
  "cells": {
   "bidirectional_rnn/bw/gru_cell": [
    "gru",
    null,
    "bw",
    null
   ],
   "bidirectional_rnn/fw/gru_cell": [
    "gru",
    null,
    "fw",
    null
   ]
  },
  "convert": "refused: it is a bidirectional RNN (a language model, tagger or classifier): no cell is a decoder (no cell's final state or outputs feed another cell) (also: it has no e",
  "dense": [
   "Wi",
   "Wo"
  ],
  "embeddings": {},
  "parts": [],
  "unrecognised": []
 },
 "neuroner_bilstm_crf_tf10": {
  "cells": {},
  "convert": "refused: its recurrent cells are contrib CoupledInputForgetGateLSTMCell (no Keras layout; W_0/B names), none of LSTMCell / BasicLSTMCell / LSTMBlockCell / GRUCell / GRUB",
  "dense": [
   "feedforward_after_lstm/W",
   "feedforward_before_crf/W"
  ],
  "other_cells": {
   "character_lstm/bidirectional_LSTM/bidirectional_rnn/bw/coupled_input_forget_gate_lstm_cell": [
    "character_lstm/bidirectional_LSTM/bidirectional_rnn/bw/bw/while"
   ],
   "character_lstm/bidirectional_LSTM/bidirectional_rnn/fw/coupled_input_forget_gate_lstm_cell": [
    "character_lstm/bidirectional_LSTM/bidirectional_rnn/fw/fw/while"
   ],
   "token_lstm/bidirectional_LSTM/bidirectional_rnn/bw/coupled_input_forget_gate_lstm_cell": [
    "token_lstm/bidirectional_LSTM/bidirectional_rnn/bw/bw/while"
   ],
   "token_lstm/bidirectional_LSTM/bidirectional_rnn/fw/coupled_input_forget_gate_lstm_cell": [
    "token_lstm/bidirectional_LSTM/bidirectional_rnn/fw/fw/while"
   ]
  },
  "embeddings": {
   "character_embedding/character_embedding_weights": null,
   "token_embedding/token_embedding_weights": null
  },
  "parts": [
   "crf_transitions:crf/transitions"
  ],
  "unrecognised": [
   "character_lstm/bidirectional_LSTM/backward/initial_cell_state",
   "character_lstm/bidirectional_LSTM/backward/initial_output_state",
   "character_lstm/bidirectional_LSTM/forward/initial_cell_state",
   "character_lstm/bidirectional_LSTM/forward/initial_output_state",
   "token_lstm/bidirectional_LSTM/backward/initial_cell_state",
   "token_lstm/bidirectional_LSTM/backward/initial_output_state",
   "token_lstm/bidirectional_LSTM/forward/initial_cell_state",
   "token_lstm/bidirectional_LSTM/forward/initial_output_state"
  ]
 },
 "ptrnet_gru_bahdanau_tf15": {
  "cells": {
   "decoder/decoder/output_projection_wrapper/attention_wrapper/multi_rnn_cell/cell_0/gru_cell": [
    "gru",
    "decoder",
    null,
    null
   ],
   "decoder/decoder/output_projection_wrapper/attention_wrapper/multi_rnn_cell/cell_1/gru_cell": [
    "gru",
    "decoder",
    null,
    null
   ],
   "decoder/decoder/output_projection_wrapper/attention_wrapper/multi_rnn_cell/cell_2/gru_cell": [
    "gru",
    "decoder",
    null,
    null
   ],
   "encoder/rnn/multi_rnn_cell/cell_0/gru_cell": [
    "gru",
    "encoder",
    null,
    null
   ],
   "encoder/rnn/multi_rnn_cell/cell_1/gru_cell": [
    "gru",
    "encoder",
    null,
    null
   ],
   "encoder/rnn/multi_rnn_cell/cell_2/gru_cell": [
    "gru",
    "encoder",
    null,
    null
   ]
  },
  "convert": "refused: decoder/decoder/output_projection_wrapper/kernel has 28 units, the vocabulary is 30 (from embeddings/word_matrix)",
  "dense": [
   "decoder/decoder/output_projection_wrapper/kernel"
  ],
  "embeddings": {
   "embeddings/word_matrix": "shared"
  },
  "parts": [],
  "unrecognised": []
 },
 "ptrnet_lstm_bahdanau_tf16": {
  "cells": {
   "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_1/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_2/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "encoder/rnn/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ],
   "encoder/rnn/multi_rnn_cell/cell_1/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ]
  },
  "convert": "refused: the encoder has 2 layer(s) and the decoder 3; tf2.Seq2Seq uses one num_layers for both",
  "dense": [],
  "embeddings": {
   "inputs/word_matrix": "source"
  },
  "parts": [],
  "unrecognised": []
 },
 "tflearn_legacy_attention_seq2seq_v1": {
  "cells": {
   "embedding_attention_seq2seq/RNN/BasicLSTMCell": [
    "lstm",
    "encoder",
    null,
    1.0
   ],
   "embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/BasicLSTMCell": [
    "lstm",
    "decoder",
    null,
    1.0
   ]
  },
  "convert": "refused: its attention is legacy_seq2seq's (Attention_0, AttnOutputProjection, AttnV_0, AttnW_0), which tf2.Seq2Seq does not compute (contrib.seq2seq attention only)",
  "dense": [
   "embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/Linear/Matrix",
   "embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/OutputProjectionWrapper/Linear/Matrix"
  ],
  "embeddings": {
   "embedding_attention_seq2seq/RNN/EmbeddingWrapper/embedding": "source",
   "embedding_attention_seq2seq/embedding_attention_decoder/embedding": "target"
  },
  "parts": [
   "legacy_attention:embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/Attention_0/Linear/Bias",
   "legacy_attention:embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/Attention_0/Linear/Matrix",
   "legacy_attention:embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/AttnOutputProjection/Linear/Bias",
   "legacy_attention:embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/AttnOutputProjection/Linear/Matrix",
   "legacy_attention:embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/AttnV_0",
   "legacy_attention:embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/AttnW_0"
  ],
  "unrecognised": [
   "Adam/sequence_loss/truediv/moving_avg",
   "Global_Step",
   "Training_step",
   "acc/moving_avg",
   "is_training",
   "val_acc",
   "val_loss"
  ]
 },
 "udacity_charrnn_tf13": {
  "cells": {
   "rnn/multi_rnn_cell/cell_0/basic_lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_1/basic_lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ]
  },
  "convert": "refused: it is one RNN (a language model, tagger or classifier): no cell is a decoder (no cell's final state or outputs feed another cell) (also: it has no embedding (it",
  "dense": [
   "softmax/Variable"
  ],
  "embeddings": {},
  "parts": [],
  "unrecognised": []
 },
 "udacity_seq2seq_contrib_tf12": {
  "cells": {
   "decode/decoder/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "decode/decoder/multi_rnn_cell/cell_1/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_1/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ]
  },
  "convert": "plan: complete",
  "dense": [
   "decode/decoder/dense/kernel"
  ],
  "embeddings": {
   "EmbedSequence/embeddings": "source",
   "Variable": "target"
  },
  "parts": [],
  "unrecognised": []
 },
 "udacity_translation_contrib_tf11": {
  "cells": {
   "decode/decoder/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "decode/decoder/multi_rnn_cell/cell_1/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "decode/decoder/multi_rnn_cell/cell_2/lstm_cell": [
    "lstm",
    "decoder",
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_0/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_1/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_2/lstm_cell": [
    "lstm",
    "encoder",
    null,
    1.0
   ]
  },
  "convert": "plan: complete",
  "dense": [
   "dense/kernel"
  ],
  "embeddings": {
   "EmbedSequence/embeddings": "source",
   "Variable": "target"
  },
  "parts": [],
  "unrecognised": []
 },
 "udacity_tvscript_wordlm_tf10": {
  "cells": {
   "rnn/multi_rnn_cell/cell_0/basic_lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_1/basic_lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ],
   "rnn/multi_rnn_cell/cell_2/basic_lstm_cell": [
    "lstm",
    null,
    null,
    1.0
   ]
  },
  "convert": "refused: it is one RNN (a language model, tagger or classifier): no cell is a decoder (no cell's final state or outputs feed another cell)",
  "dense": [
   "dense/kernel"
  ],
  "embeddings": {
   "Variable": null
  },
  "parts": [],
  "unrecognised": []
 }
}
''')


@pytest.mark.parametrize("fixture", REAL_FIXTURES)
def test_real_fixture_recognition_is_pinned(fixture):
    got = _real_summary(fixture)
    if fixture not in EXPECTED_REAL:
        pytest.fail(f"{fixture}: no pinned recognition yet; got {json.dumps(got)}")
    assert got == EXPECTED_REAL[fixture]
