"""A contrib `CudnnCompatibleGRUCell` (keras.layers.GRU(reset_after=True): the reset gate after the hidden
projection) inside contrib.seq2seq decoders: the decoder layers run it as the family "gru_reset_after" instead of
leaving the loop to the generic tier. A TrainingHelper path and a GreedyEmbeddingHelper loop over the same cell
(plain, and in an AttentionWrapper with LuongAttention(scale=True)): parity, exact ids, the greedy layer holds none
of the training path's weights. The cell writes contrib's variables and ops as tests/construct_builders.py does."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_graph_to_tf1 import _read
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

OUTPUTS = ["train_logits:0", "train_ids:0", "greedy_logits:0", "greedy_ids:0"]


def _cudnn_gru(tf, v1, units: int, input_size: int):
    """contrib's CudnnCompatibleGRUCell(units) with its six variables made once under
    `decoder/cudnn_compatible_gru_cell` (so that the training and the greedy loop read the same ones), its `call`
    op for op: `r, u = split(sigmoid([x, h] @ gates/kernel + gates/bias))`, `c = tanh(x @ W_in + b_in + r * (h @
    W_hid + b_hid))`, `h' = (1 - u) * c + u * h`."""
    with v1.variable_scope("decoder/cudnn_compatible_gru_cell"):
        gk = v1.get_variable("gates/kernel", [input_size + units, 2 * units])
        gb = v1.get_variable("gates/bias", [2 * units])
        ik = v1.get_variable("candidate/input_projection/kernel", [input_size, units])
        hk = v1.get_variable("candidate/hidden_projection/kernel", [units, units])
        ib = v1.get_variable("candidate/input_projection/bias", [units])
        hb = v1.get_variable("candidate/hidden_projection/bias", [units])

    class CudnnCompatibleGRUCell(v1.nn.rnn_cell.RNNCell):
        state_size = units
        output_size = units

        def __call__(self, inputs, state, scope=None):
            gate_inputs = tf.nn.bias_add(tf.matmul(tf.concat([inputs, state], 1), gk), gb)
            r, u = tf.split(tf.sigmoid(gate_inputs), 2, axis=1)
            candidate = tf.nn.bias_add(tf.matmul(inputs, ik), ib)
            candidate += r * tf.nn.bias_add(tf.matmul(state, hk), hb)
            new_h = (1 - u) * tf.tanh(candidate) + u * state
            return new_h, new_h

    return CudnnCompatibleGRUCell()


def _graph(path: str, attention: bool) -> str:
    import tensorflow as tf  # noqa: PLC0415

    from tf_migrate_runtime.contrib import seq2seq  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            src = v1.placeholder(tf.int32, [None, None], name="src")
            src_len = v1.placeholder(tf.int32, [None], name="src_len")
            tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
            tgt_len = v1.placeholder(tf.int32, [None], name="tgt_len")
            emb = v1.get_variable("embedding", [11, 6])
            with v1.variable_scope("encoder"):
                enc_out, enc_state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.GRUCell(5), tf.nn.embedding_lookup(emb, src),
                                                       sequence_length=src_len, dtype=tf.float32)
            cell = _cudnn_gru(tf, v1, 5, 6 + (6 if attention else 0))
            init = enc_state
            if attention:
                mech = seq2seq.LuongAttention(5, enc_out, src_len, scale=True)
                cell = seq2seq.AttentionWrapper(cell, mech, attention_layer_size=6)
                init = cell.zero_state(tf.size(src_len), tf.float32).clone(cell_state=enc_state)
            proj = v1.layers.Dense(11, name="output_projection")
            helper = seq2seq.TrainingHelper(tf.nn.embedding_lookup(emb, tgt_in), tgt_len)
            out, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(cell, helper, init, output_layer=proj))
            tf.identity(out.rnn_output, name="train_logits")
            tf.identity(out.sample_id, name="train_ids")
            greedy = seq2seq.GreedyEmbeddingHelper(emb, src_len * 0 + 1, 2)
            g_out, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(cell, greedy, init, output_layer=proj),
                                                 maximum_iterations=6, scope="greedy")
            tf.identity(g_out.rnn_output, name="greedy_logits")
            tf.identity(g_out.sample_id, name="greedy_ids")
            return save_random_weights(path)


@pytest.mark.parametrize("attention", [False, True], ids=["plain", "luong"])
def test_cudnn_compatible_gru_cell_in_contrib_decoders(tmp_path, attention):
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415
    from migrate.graph import convert_graph  # noqa: PLC0415

    os.makedirs(tmp_path / "src")
    src = _graph(str(tmp_path / "src"), attention)
    report = convert_graph(src, str(tmp_path / "conv"), outputs=OUTPUTS, log=lambda m: None)
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][1].get("exact") and report["parity"]["outputs"][3].get("exact")
    assert all(lp["how"].startswith("recognised") for lp in report["loops"]), report["loops"]
    source = (tmp_path / "conv" / "model.py").read_text()
    greedy_cls = "GreedyAttentionDecoder" if attention else "GreedyDecoder"
    assert f"tfm.{greedy_cls}(['gru_reset_after'], [5]" in source
    if attention:
        assert "tfm.AttentionDecoder(['gru_reset_after'], [5]" in source
    else:
        assert "tfm.GRU(5, reset_after=True" in source
    model = keras.saving.load_model(str(tmp_path / "conv" / "model.keras"), compile=False)
    (layer,) = [layer for layer in model.layers if type(layer).__name__ == greedy_cls]
    assert layer.weights == [] and tuple(layer.cell_weights[0][2].shape) == (2, 15)
    # held once: the TF1 variables' elements, plus the 2 x 5 recurrent z, r bias GRU(reset_after=True) has and the
    # cell has not (zeros: `cudnn_params.tf_canonical_gru_to_keras`)
    assert len({id(w) for w in model.weights}) == len(model.weights)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == \
        sum(a.size for a in _read(src).values()) + 2 * 5
