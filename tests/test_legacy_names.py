"""Every variant of the legacy graph builds, with exactly the variable names and shapes TF1 produced.

The expected tables come from the naming rules of tests/legacy_tf1_names.py (TF1_FACTS.md "Names TF1 gives",
contrib's attention_wrapper.py, tensorflow/nmt's scopes), never from what the code under test produces. Here: the
train graph of 15 variants covering every pair of factor values (model variables, Adam's slots, every trainable
variable connected to the loss)
and the infer graph with slim projection and shared embeddings. The eval graphs of 30 variants covering every
triple of factor values are checked by parity_tests/test_full_product.py, which builds them for its parity check
anyway (`check_eval_graph_names`).
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from tf1_models import session_config

import legacy_tf1  # noqa: F401
from legacy_tf1.model import Seq2SeqModel
from seq2seq_task import HParams
from tests.legacy_tf1_names import assert_same_table, expected_variables, expected_with_adam, graph_variables

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SRC_V, TGT_V, EMB, UNITS = 11, 9, 3, 4

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
    return (model, *graph_variables(g, model))


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


# A train graph costs seconds to build (gradients through the while loops), and its model variables are the eval
# graph's, which parity_tests/test_full_product.py pins for 30 variants covering every triple of factor values. The train graphs here: an all-pairs
# covering array of 15 variants (every pair of factor values meets in one), the rows of parity_tests' MATRIX with
# layers and encoder flipped, so none is a variant that parity_tests/test_matrix.py already trains.
TRAIN_ROWS = [
    ("lstm", 1, "uni", "none"), ("basic_lstm", 1, "bi", "none"), ("gru", 2, "bi", "none"),
    ("lstm", 2, "bi", "luong"), ("basic_lstm", 2, "uni", "luong"), ("gru", 1, "bi", "luong"),
    ("lstm", 1, "uni", "scaled_luong"), ("basic_lstm", 2, "bi", "scaled_luong"), ("gru", 1, "bi", "scaled_luong"),
    ("lstm", 2, "uni", "bahdanau"), ("basic_lstm", 1, "uni", "bahdanau"), ("gru", 1, "bi", "bahdanau"),
    ("lstm", 1, "bi", "normalized_bahdanau"), ("basic_lstm", 1, "uni", "normalized_bahdanau"),
    ("gru", 2, "uni", "normalized_bahdanau"),
]


def test_train_rows_cover_every_pair_of_factor_values():
    factors = (CELLS, LAYERS, ENCODERS, ATTENTIONS)
    for i, j in itertools.combinations(range(4), 2):
        missing = set(itertools.product(factors[i], factors[j])) - {(r[i], r[j]) for r in TRAIN_ROWS}
        assert not missing, f"factor pairs {i} x {j} never trained: {sorted(missing)}"
    assert len(set(TRAIN_ROWS)) == len(TRAIN_ROWS) and set(TRAIN_ROWS) <= set(VARIANTS)


@pytest.mark.slow
@pytest.mark.parametrize("variant", TRAIN_ROWS, ids=[variant_id(v) for v in TRAIN_ROWS])
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
        # One run (one executor for the gradient graph): the gradients fetched are the ones the step applies (every
        # update waits for the clipped gradients' global norm, so for every gradient).
        grads, loss, _ = sess.run([[g for g, _ in model.gradients], model.loss, model.train_op], feed)
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
