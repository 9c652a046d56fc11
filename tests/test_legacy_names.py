"""Every variant of the legacy graph builds, with exactly the variable names and shapes TF1 produced.

The expected tables are generated from the naming rules below (TF1_FACTS.md "Names TF1 gives",
contrib's attention_wrapper.py, tensorflow/nmt's scopes), never from what the code under test produces.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from tf1_models import session_config

import legacy_tf1  # noqa: F401
from legacy_tf1.model import Seq2SeqModel
from seq2seq_task import HParams

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SRC_V, TGT_V, EMB, UNITS = 11, 9, 3, 4

# -- naming rules ---------------------------------------------------------------------------------------
# rnn_cell_impl: LSTMCell -> lstm_cell, BasicLSTMCell -> basic_lstm_cell, GRUCell -> gru_cell.
CELL_SCOPE = {"lstm": "lstm_cell", "basic_lstm": "basic_lstm_cell", "gru": "gru_cell"}


def cell_variables(cell_type, prefix, input_size, units):
    """One cell's variables: LSTM kernel [in+u, 4u] + bias; GRU gates [in+u, 2u] and candidate [in+u, u]."""
    p = f"{prefix}/{CELL_SCOPE[cell_type]}"
    rows = input_size + units
    if cell_type == "gru":
        return {p + "/gates/kernel": [rows, 2 * units], p + "/gates/bias": [2 * units],
                p + "/candidate/kernel": [rows, units], p + "/candidate/bias": [units]}
    return {p + "/kernel": [rows, 4 * units], p + "/bias": [4 * units]}


def stack_variables(cell_type, prefix, input_size, units, layers):
    """MultiRNNCell: multi_rnn_cell/cell_{i}; layer i > 0 reads the `units` outputs of layer i - 1."""
    if layers == 1:
        return cell_variables(cell_type, prefix, input_size, units)
    out = {}
    for i in range(layers):
        out.update(cell_variables(cell_type, f"{prefix}/multi_rnn_cell/cell_{i}", input_size if i == 0 else units,
                                  units))
    return out


def expected_variables(hp):
    """{name: shape} of the model variables (no optimizer state) of `hp`."""
    out = {"global_step": []}
    if hp.share_embeddings:
        out["embeddings/embedding_share"] = [hp.src_vocab_size, EMB]
    else:
        out["embeddings/encoder/embedding_encoder"] = [hp.src_vocab_size, EMB]
        out["embeddings/decoder/embedding_decoder"] = [hp.tgt_vocab_size, EMB]
    enc = "dynamic_seq2seq/encoder"
    if hp.encoder_type == "uni":
        out.update(stack_variables(hp.cell_type, enc + "/rnn", EMB, UNITS, hp.num_layers))
    else:
        for direction in ("fw", "bw"):
            out.update(stack_variables(hp.cell_type, f"{enc}/bidirectional_rnn/{direction}", EMB, UNITS, hp.num_layers))
    dec = "dynamic_seq2seq/decoder"
    d_units = UNITS * (2 if hp.encoder_type == "bi" else 1)  # = memory depth
    out_depth = d_units
    if hp.attention == "none":
        out.update(stack_variables(hp.cell_type, dec + "/rnn", EMB, d_units, hp.num_layers))
    else:
        wrapper = dec + "/rnn/attention_wrapper"
        attention_depth = hp.attention_layer_size or d_units  # no attention layer: attention = context
        out[dec + "/memory_layer/kernel"] = [d_units, d_units]  # built with the mechanism, in the decoder scope
        out.update(stack_variables(hp.cell_type, wrapper, EMB + attention_depth, d_units, hp.num_layers))
        if hp.attention == "scaled_luong":
            out[wrapper + "/luong_attention/attention_g"] = []
        if hp.attention in ("bahdanau", "normalized_bahdanau"):
            out[wrapper + "/bahdanau_attention/query_layer/kernel"] = [d_units, d_units]
            out[wrapper + "/bahdanau_attention/attention_v"] = [d_units]
        if hp.attention == "normalized_bahdanau":
            out[wrapper + "/bahdanau_attention/attention_g"] = []
            out[wrapper + "/bahdanau_attention/attention_b"] = [d_units]
        if hp.attention_layer_size:
            out[wrapper + "/attention_layer/kernel"] = [d_units + d_units, hp.attention_layer_size]
        if hp.output_attention:
            out_depth = attention_depth
    kernel, bias = ("weights", "biases") if hp.projection == "slim" else ("kernel", "bias")
    out[f"{dec}/output_projection/{kernel}"] = [out_depth, hp.tgt_vocab_size]
    out[f"{dec}/output_projection/{bias}"] = [hp.tgt_vocab_size]
    return out


def expected_with_adam(hp):
    """AdamOptimizer: <var>/Adam and <var>/Adam_1 per trainable variable, plus beta1_power, beta2_power."""
    model = expected_variables(hp)
    out = dict(model)
    out.update({"beta1_power": [], "beta2_power": []})
    for name, shape in model.items():
        if name != "global_step":
            out[name + "/Adam"] = shape
            out[name + "/Adam_1"] = shape
    return out


# -- variants -------------------------------------------------------------------------------------------

CELLS, LAYERS, ENCODERS = ("lstm", "basic_lstm", "gru"), (1, 2), ("uni", "bi")
ATTENTIONS = ("none", "luong", "scaled_luong", "bahdanau", "normalized_bahdanau")
VARIANTS = list(itertools.product(CELLS, LAYERS, ENCODERS, ATTENTIONS))


def make_hparams(cell, layers, encoder, attention, **kw):
    # Attention options vary with the variant so that both settings of each are pinned somewhere.
    base = dict(src_vocab_size=SRC_V, tgt_vocab_size=TGT_V, embedding_size=EMB, num_units=UNITS, cell_type=cell,
                num_layers=layers, encoder_type=encoder, attention=attention,
                attention_layer_size=5 if layers == 2 else None, output_attention=cell != "gru")
    base.update(kw)
    return HParams(**base)


def variant_id(v):
    return f"{v[0]}-L{v[1]}-{v[2]}-{v[3]}"


def build(hp, mode):
    g = tf.Graph()
    with g.as_default():
        model = Seq2SeqModel(hp, mode)
        names = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
        trainable = {v.op.name for v in tf.compat.v1.trainable_variables()}
        saved = {v.op.name for v in model.saver._var_list}  # noqa: SLF001  (what the checkpoint will hold)
    return model, names, trainable, saved


def assert_same_table(got, expected):
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    wrong = sorted(f"{k}: got {got[k]}, expected {expected[k]}" for k in set(got) & set(expected) if got[k] != expected[k])
    assert not (missing or extra or wrong), f"missing {missing}\nextra {extra}\nwrong shapes {wrong}"


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=[variant_id(v) for v in VARIANTS])
def test_every_variant_builds_with_tf1_names(variant):
    """Eval graphs (teacher forcing + greedy while_loop) hold exactly the model variables, all saved."""
    hp = make_hparams(*variant)
    model, names, trainable, saved = build(hp, "eval")
    expected = expected_variables(hp)
    assert_same_table(names, expected)
    assert trainable == set(expected) - {"global_step"}
    assert saved == set(expected)
    assert model.greedy_ids.shape.as_list() == [None, hp.decode_max_steps]
    assert (model.alignments is None) == (hp.attention == "none")


# Train graphs are 3-4x slower to build (gradients through the while loops): pin the optimizer state on
# a spread of variants (every cell and encoder type, both depths, Luong and Bahdanau, dropout, slim, shared).
TRAIN_VARIANTS = {
    "basic_lstm-L2-bi-scaled_luong-dropout": make_hparams("basic_lstm", 2, "bi", "scaled_luong", dropout=0.3),
    "gru-L2-uni-normalized_bahdanau-slim": make_hparams("gru", 2, "uni", "normalized_bahdanau", projection="slim"),
    "lstm-L1-bi-bahdanau-shared": make_hparams("lstm", 1, "bi", "bahdanau", share_embeddings=True,
                                               tgt_vocab_size=SRC_V),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRAIN_VARIANTS), ids=list(TRAIN_VARIANTS))
def test_train_graph_adds_exactly_adam_slots(name):
    hp = TRAIN_VARIANTS[name]
    model, names, trainable, saved = build(hp, "train")
    assert_same_table(names, expected_with_adam(hp))
    assert saved == set(names)
    assert {v.op.name for _, v in model.gradients} == trainable
    assert all(g.shape.as_list() == names[v.op.name] for g, v in model.gradients)


def test_slim_and_shared_embeddings_names():
    hp = make_hparams("lstm", 1, "uni", "none", projection="slim", share_embeddings=True, tgt_vocab_size=SRC_V)
    _, names, _, _ = build(hp, "infer")
    assert "dynamic_seq2seq/decoder/output_projection/weights" in names
    assert "dynamic_seq2seq/decoder/output_projection/biases" in names
    assert names["embeddings/embedding_share"] == [SRC_V, EMB]
    assert_same_table(names, expected_variables(hp))


def test_unknown_mode_and_missing_vocab_sizes_raise():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="mode='predict'"):
            Seq2SeqModel(make_hparams("lstm", 1, "uni", "none"), "predict")
        with pytest.raises(ValueError, match="src_vocab_size=0"):
            Seq2SeqModel(HParams(), "train")


def _padded_batch(hp, rng):
    """Three rows of random non-reserved ids with different lengths (one row full length)."""
    from seq2seq_task import Batch  # noqa: PLC0415

    src_len, tgt_len = np.array([6, 3, 1], np.int32), np.array([4, 2, 1], np.int32)
    enc = np.zeros((3, 6), np.int32)
    dec_in = np.zeros((3, 4), np.int32)
    dec_out = np.zeros((3, 4), np.int32)
    for r in range(3):
        enc[r, :src_len[r]] = rng.randint(4, hp.src_vocab_size, src_len[r])
        body = rng.randint(4, hp.tgt_vocab_size, tgt_len[r] - 1)
        dec_in[r, :tgt_len[r]] = np.concatenate([[1], body])
        dec_out[r, :tgt_len[r]] = np.concatenate([body, [2]])
    return Batch(enc, src_len, dec_in, dec_out, tgt_len)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=[variant_id(v) for v in VARIANTS])
def test_every_variant_trains_and_saves_tf1_names(variant, tmp_path):
    """Train graph: every trainable variable gets a non-zero gradient, one Adam step on a padded batch, then the checkpoint written by the Saver holds exactly the
    model variables plus Adam's slots, beta1_power, beta2_power and global_step (TF1's names and shapes)."""
    hp = make_hparams(*variant)
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.set_random_seed(0)
        model = Seq2SeqModel(hp, "train")
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=g, config=session_config()) as sess:
        sess.run(init)
        feed = model.feed_dict(_padded_batch(hp, np.random.RandomState(1)))
        grads = sess.run([g for g, _ in model.gradients], feed)
        loss, _ = sess.run([model.loss, model.train_op], feed)
        assert np.isfinite(loss) and loss > 0
        assert sess.run(model.global_step) == 1
        prefix = model.saver.save(sess, str(tmp_path / "model.ckpt"), global_step=model.global_step)
    assert prefix.endswith("model.ckpt-1")
    # Every trainable variable is connected to the loss. (Not "every value moved": with this init, scores are
    # ~1e-4 and attention_g's gradient can be ~1e-15, so Adam's first step is below float32 spacing at 1.0.)
    disconnected = [v.op.name for g, (_, v) in zip(grads, model.gradients) if not np.any(g)]
    assert not disconnected, f"variables with an all-zero gradient: {disconnected}"
    written = dict(tf.train.list_variables(prefix))
    assert_same_table({k: list(v) for k, v in written.items()}, expected_with_adam(hp))
