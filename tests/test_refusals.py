"""`tf-migrate convert` refusals: what was found, the first real reason, the way out that fits (issue 11 part 4).

Each model kind the issue tried is built TF1-style in tests/tf1_models.py and saved with its `.meta`.
"""

import pytest

from migrate.checkpoint.convert import plan_conversion
from migrate.checkpoint.reader import Checkpoint, CheckpointError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models():
    from tf1_models import build_all  # noqa: PLC0415

    return build_all()


def _refusal(models, name) -> str:
    with pytest.raises(CheckpointError) as e:
        plan_conversion(Checkpoint.open(models[name]))
    return str(e.value).replace(models[name], "CKPT")


# model -> (first real reason, other pieces the message must hold)
CASES = {
    "char_rnn": ("not convertible to a tf2.Seq2Seq: it is one RNN (a language model, tagger or classifier): no cell "
                 "is a decoder", ["2 cell(s): BasicLSTMCell rnn/multi_rnn_cell/cell_0/basic_lstm_cell",
                                  "embeddings embedding [11, 6]", "dense rnnlm/softmax_w [5, 11]"]),
    "knowledge_tracing": ("it is one RNN (a language model, tagger or classifier): no cell is a decoder",
                          ["also: it has no embedding", "dense kt/Weight [5, 11]"]),
    "bilstm_crf": ("it is a bidirectional RNN with a CRF layer (a sequence tagger): no cell is a decoder",
                   ["embeddings words/word_matrix [11, 6]", "other parts transitions transitions"]),
    "pointer_net": ("not convertible to a tf2.Seq2Seq: it has no embedding (its inputs are not token ids",
                    ["GRUCell ptr/dec_rnn/attn/gru_cell [decoder]", "GRUCell ptr/enc_rnn/gru_cell [encoder]"]),
    "shared_fw_bw": ("it is a bidirectional RNN (a language model, tagger or classifier): no cell is a decoder",
                     ["one cell (encoder/bidirectional_rnn/fw/lstm_cell) runs both directions", "[shared fw+bw]",
                      "embeddings Variable [11, 6]"]),
    "legacy_attention": ("its attention is legacy_seq2seq's (Attention_0, AttnOutputProjection, AttnV_0, AttnW_0), "
                         "which tf2.Seq2Seq does not compute", ["[decoder]", "[encoder]"]),
    "two_one": ("the encoder has 2 layer(s) and the decoder 1; tf2.Seq2Seq uses one num_layers for both",
                ["BasicLSTMCell decoder/rnn/basic_lstm_cell [decoder]"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refusal_names_the_first_real_reason_and_the_ways_out(models, name):
    msg = _refusal(models, name)
    first, pieces = CASES[name]
    assert first in msg
    for p in pieces:
        assert p in msg
    # a .meta: graph conversion is the first way out, by `--out DIR` alone (convert picks the graph path itself)
    ways = msg.split("What fits: ", 1)[1]
    assert ways.startswith("graph conversion (the Keras model rebuilt from its .meta graph, parity checked on the "
                           "spot): tf-migrate convert CKPT --out DIR (a folder, not a .keras file: convert then takes "
                           "the graph path by itself; --from-graph asks for it explicitly); or your own Keras model")
    assert "migrate.checkpoint.cell_weights(ckpt, " in msg and "apply_mapping" in msg
    assert "--hparams" not in msg                 # none of these can ever be a tf2.Seq2Seq
    assert msg.endswith("Nothing was written.")


def test_seq2seq_shaped_model_converts_with_the_graph_and_is_offered_hparams_without(models):
    from migrate.checkpoint.recognise import recognise, recognise_checkpoint  # noqa: PLC0415
    from migrate.checkpoint.refusal import infer_hparams  # noqa: PLC0415

    ckpt = Checkpoint.open(models["training_helper"])
    # With the .meta graph the embeddings' roles follow the dataflow (which loop each lookup feeds).
    assert {e.name: e.role for e in recognise_checkpoint(ckpt).embeddings} == {
        "EmbedSequence/embeddings": "source", "decoder/embedding": "target"}
    _, _, plan, _ = plan_conversion(ckpt)
    assert (plan.missing, plan.mismatched) == ([], [])
    # By names alone neither name says source or target: the message says so, and offers --hparams (plausible).
    with pytest.raises(CheckpointError) as e:
        infer_hparams(recognise(ckpt.variables))
    msg = str(e.value)
    assert ("cannot tell source and target embeddings apart: 2 embeddings (EmbedSequence/embeddings, "
            "decoder/embedding) whose names say neither source/encoder nor target/decoder") in msg
    assert "no encoder cell group" in msg and "pass --hparams hparams.json" not in msg   # no roles: not plausible
    assert "among no embeddings" not in msg and "the file the TF1 training wrote" not in msg


def test_projection_problem_names_units_and_vocabulary(models):
    from migrate.checkpoint.recognise import recognise_checkpoint  # noqa: PLC0415
    from migrate.checkpoint.refusal import infer_hparams  # noqa: PLC0415

    rec = recognise_checkpoint(Checkpoint.open(models["encdec_fb"]))
    rec.dense[0].units = 77                          # as in the issue: 77 units against a vocabulary of 11
    with pytest.raises(CheckpointError, match=r"no dense layer outputs the target vocabulary: my_model/writer/out_w "
                                              r"has 77 units, the vocabulary is 11 \(from my_model/word_matrix\)"):
        infer_hparams(rec)


def test_without_meta_the_ways_out_are_the_api_and_a_mapping(models, tmp_path):
    import shutil  # noqa: PLC0415

    src = models["bilstm_crf"]
    for suffix in (".index", ".data-00000-of-00001"):              # the checkpoint without its .meta graph
        shutil.copy(src + suffix, tmp_path / ("model.ckpt" + suffix))
    prefix = str(tmp_path / "model.ckpt")
    with pytest.raises(CheckpointError) as e:
        plan_conversion(Checkpoint.open(prefix))
    msg = str(e.value).replace(prefix, "CKPT")
    assert "no cell is a decoder (no cell's final state or outputs feed another cell, and no scope is named " \
           "decoder)" in msg                                       # names only: it says what it went by
    assert msg.split("What fits: ", 1)[1].startswith(
        "your own Keras model, filled with the Python API: migrate.checkpoint.cell_weights(ckpt, \"")
    assert "a TOML mapping file onto your Keras model: migrate.checkpoint.apply_mapping(model, ckpt, " in msg
    assert "graph conversion" not in msg and "--from-graph" not in msg and "--hparams" not in msg


def test_hparams_problem_on_a_graph_offers_the_explicit_graph_path(models):
    from migrate.checkpoint.recognise import recognise_checkpoint  # noqa: PLC0415
    from migrate.checkpoint.refusal import infer_hparams  # noqa: PLC0415

    rec = recognise_checkpoint(Checkpoint.open(models["encdec_fb"]))
    rec.dense[0].units = 77
    with pytest.raises(CheckpointError) as e:
        infer_hparams(rec)
    # Cells passed the Seq2Seq check, so `--out DIR` alone would stay on the Seq2Seq path: the way out says
    # --from-graph; with no dense layer of the vocabulary's width a tf2.Seq2Seq is not plausible: no --hparams.
    assert "What fits: graph conversion (the Keras model rebuilt from its .meta graph, parity checked on the " \
           "spot): tf-migrate convert CKPT --from-graph --out DIR; or fill your own Keras model" in str(e.value)
    assert "--hparams" not in str(e.value)


@pytest.mark.filterwarnings("ignore::UserWarning")   # tf.compat.v1.nn.rnn_cell deprecation notes
def test_decoder_embedding_is_the_target_through_a_dense_input_linear(tmp_path):
    """legacy_seq2seq's attention_decoder feeds each embedded input through its own dense `Linear` (Matrix, Bias)
    before the cell: the dataflow passes that dense layer to the decoder cell, so the embedding's role is target
    (stopping at the first MatMul called it nothing)."""
    import os  # noqa: PLC0415

    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")        # tf.compat.v1.nn.rnn_cell
    import tensorflow as tf  # noqa: PLC0415

    from migrate.checkpoint.recognise import recognise_checkpoint  # noqa: PLC0415

    rc = tf.compat.v1.nn.rnn_cell
    g = tf.Graph()
    with g.as_default(), tf.compat.v1.Session(graph=g) as sess:
        enc = [tf.compat.v1.placeholder(tf.int32, [2], f"encoder{i}") for i in range(3)]
        dec = [tf.compat.v1.placeholder(tf.int32, [2], f"decoder{i}") for i in range(3)]
        with tf.compat.v1.variable_scope("s2s"):
            e_emb = tf.compat.v1.get_variable("enc_embedding", [9, 4])
            _, state = tf.compat.v1.nn.static_rnn(rc.GRUCell(5), [tf.nn.embedding_lookup(e_emb, i) for i in enc],
                                                  dtype=tf.float32)
            with tf.compat.v1.variable_scope("attention_decoder"):
                d_emb = tf.compat.v1.get_variable("dec_embedding", [9, 4])
                cell = rc.GRUCell(5)
                for i, d in enumerate(dec):
                    with tf.compat.v1.variable_scope("step", reuse=i > 0):
                        with tf.compat.v1.variable_scope("Linear"):
                            w = tf.compat.v1.get_variable("Matrix", [4, 4])
                            b = tf.compat.v1.get_variable("Bias", [4])
                        _, state = cell(tf.matmul(tf.nn.embedding_lookup(d_emb, d), w) + b, state)
        sess.run(tf.compat.v1.global_variables_initializer())
        prefix = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "model.ckpt"))
    rec = recognise_checkpoint(Checkpoint.open(prefix))
    assert {c.scope: c.role for c in rec.cells} == {"s2s/rnn/gru_cell": "encoder",
                                                    "s2s/attention_decoder/step/gru_cell": "decoder"}
    assert {e.name: e.role for e in rec.embeddings} == {"s2s/enc_embedding": "source",
                                                        "s2s/attention_decoder/dec_embedding": "target"}
