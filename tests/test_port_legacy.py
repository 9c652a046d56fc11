"""Cross-check: the port equals the legacy TF1 graph (legacy_tf1) from the same weights.

A minimal name -> handle mapping copies the legacy variables into the port (the real converter is
`migrate`'s); logits must agree at every position and greedy ids exactly.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("legacy_tf1.model_helper")
from test_port_model import FORGET_BIAS, assert_close, load_tf1_weights, tiny  # noqa: E402

from legacy_tf1.model_helper import create_model  # noqa: E402
from seq2seq_task import iterate_batches, load_task  # noqa: E402
from tf2.decoding import greedy_decode  # noqa: E402
from tf2.seq2seq import Seq2Seq  # noqa: E402

# dynamic_seq2seq/{encoder,decoder}/[bidirectional_rnn/{fw,bw}/][...multi_rnn_cell/cell_N/]<cell>/<var>
CELL_VAR = re.compile(r"(?:lstm_cell|basic_lstm_cell|gru_cell)/(.+)$")
DIRECTION = re.compile(r"/bidirectional_rnn/(fw|bw)/")
LAYER = re.compile(r"/multi_rnn_cell/cell_(\d+)/")


def legacy_weights_as_tf1_dict(values, hp):
    """Legacy variable values by name -> the TF1-layout dict `test_port_model.load_tf1_weights` takes."""
    w = {"decoder": [dict() for _ in range(hp.num_layers)], "attention": {}}
    for d in ("fw", "bw"):
        w[f"encoder_{d}"] = [dict() for _ in range(hp.num_layers)]
    for name, value in values.items():
        name = name.split(":")[0]
        leaf = name.rsplit("/", 1)[-1]
        cell = CELL_VAR.search(name)
        direction = DIRECTION.search(name)
        layer = int(LAYER.search(name)[1]) if LAYER.search(name) else 0
        if "embedding" in leaf:
            key = "target_embedding" if leaf == "embedding_decoder" else "source_embedding"
            w[key] = value
        elif cell and "/encoder/" in name:
            w[f"encoder_{direction[1] if direction else 'fw'}"][layer][cell[1]] = value
        elif cell and "/decoder/" in name:
            w["decoder"][layer][cell[1]] = value
        elif "output_projection" in name:
            w["projection/kernel" if leaf in ("kernel", "weights") else "projection/bias"] = value
        elif leaf in ("attention_v", "attention_g", "attention_b"):
            w["attention"][leaf] = value
        elif name.endswith(("memory_layer/kernel", "query_layer/kernel", "attention_layer/kernel")):
            w["attention"][name.split("/")[-2]] = value
    return w


VARIANTS = [
    tiny(cell_type="lstm", encoder_type="bi", num_layers=2, attention="normalized_bahdanau", attention_layer_size=3),
    tiny(cell_type="gru", encoder_type="uni", num_layers=2, attention="none", projection="slim"),
    tiny(cell_type="basic_lstm", encoder_type="uni", num_layers=1, attention="scaled_luong", output_attention=False),
]


@pytest.mark.slow
@pytest.mark.parametrize("hp", VARIANTS, ids=lambda hp: f"{hp.cell_type}-{hp.encoder_type}-{hp.attention}")
def test_port_equals_legacy_graph_from_copied_weights(hp):
    task = load_task(seed=5, train_size=50, valid_size=16, test_size=16)
    hp = hp.replace(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size,
                    max_tgt_len=task.max_tgt_len, forget_bias=FORGET_BIAS)
    batch = next(iterate_batches(task.valid, task.src_vocab, task.tgt_vocab, 16))
    rng = np.random.RandomState(0)
    with create_model(hp, "eval") as legacy:
        with legacy.graph.as_default():
            import tensorflow as tf  # noqa: PLC0415

            variables = [v for v in tf.compat.v1.trainable_variables()]
            for v in variables:  # random non-zero values everywhere, biases included
                v.load(rng.uniform(-0.6, 0.6, v.shape.as_list()).astype(np.float32), legacy.session)
            values = dict(zip([v.name for v in variables], legacy.run(variables)))
        want_logits, want_ids = legacy.run([legacy.model.logits, legacy.model.greedy_ids],
                                           legacy.model.feed_dict(batch))
    port = Seq2Seq(hp)
    load_tf1_weights(port, legacy_weights_as_tf1_dict(values, hp))
    got = port({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}).numpy()
    assert_close(got, want_logits, what=f"{hp.cell_type}-{hp.attention} logits vs legacy_tf1")
    np.testing.assert_array_equal(greedy_decode(port, batch.encoder_ids), want_ids)
