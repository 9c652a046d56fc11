"""Wrappers around a contrib.seq2seq decoder's cells (migrate/graph/constructs/dynamic_decode.py): `DropoutWrapper`
looked through, `ResidualWrapper` between the stacked cells and on top (`keras.ops.add` on the sequences), an
`AttentionWrapper` over a `DropoutWrapper` cell. Built with tf_migrate_runtime.contrib.seq2seq in TF1 style (random
non-zero weights, forget biases 0.7 / 0.6 / 0.3), converted with parity, the decoder recognised, trainable."""

from __future__ import annotations

import numpy as np
import pytest
from construct_builders import build, converted_once

pytestmark = pytest.mark.slow

CASES = {   # builder -> (the decoder loop's "how", the report's `translated` entries it must hold)
    "decoder_residual": ("recognised as dynamic_decode", {"dynamic_decode ResidualWrapper -> keras.ops.add": 1}),
    "decoder_wrapped_stack": ("recognised as dynamic_decode", {
        "dynamic_decode ResidualWrapper -> keras.ops.add": 1,
        "dynamic_decode BasicDecoder+TrainingHelper LSTMCell/BasicLSTMCell -> tfm.LSTM": 2}),
    "decoder_attention_dropout": ("recognised as dynamic_decode_attention", {
        "dynamic_decode BasicDecoder(AttentionWrapper LuongAttention)+TrainingHelper -> tfm.AttentionDecoder": 1}),
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (prefix, report, log lines, output folder), each graph built and converted once."""
    root = tmp_path_factory.mktemp("decoders")
    return converted_once(root, lambda name: build(name, root), lambda name: ["logits:0"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrapped_decoder_cells_are_recognised_with_parity(converted, name):
    how, translated = CASES[name]
    _, report, lines, out = converted(name)
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert [lp["how"] for lp in report["loops"]] == ["recognised as dynamic_rnn", how], report["loops"]
    assert all(report["translated"].get(k) == v for k, v in translated.items()), report["translated"]
    source = (out / "model.py").read_text()
    assert "tfm.WhileLoop" not in source and "RandomUniform" not in source, source


def test_residual_decoder_trains(converted):
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415

    model = keras.saving.load_model(str(converted("decoder_wrapped_stack")[3] / "model.keras"))
    rnns = [la for la in model.layers if isinstance(la, keras.layers.LSTM)]
    assert len(rnns) == 3   # the encoder's and the decoder's two
    rng = np.random.default_rng(5)
    feed = {"src": rng.integers(0, 11, (2, 4)).astype("int32"), "src_len": np.array([4, 2], "int32"),
            "tgt_in": rng.integers(0, 11, (2, 3)).astype("int32"), "tgt_len": np.array([3, 2], "int32")}
    weights = [w for la in rnns for w in la.trainable_weights]
    with tf.GradientTape() as tape:
        out = model(feed)
        loss = tf.reduce_sum(tf.square(out[0] if isinstance(out, list | tuple) else out))
    grads = tape.gradient(loss, weights)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
