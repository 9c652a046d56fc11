"""--with-optimizer: legacy N Adam steps, convert, port M steps == legacy N + M steps; and back to TF1."""

import warnings

import numpy as np
import pytest

from migrate.checkpoint import Checkpoint, bind_seq2seq, recognise
from migrate.cli import main
from seq2seq_task import HParams, iterate_batches, load_task

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]
N, M = 3, 3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Legacy: random non-zero init, N steps, save, M more steps. Returns paths, batches, final weights."""
    import tensorflow as tf

    import legacy_tf1.model as legacy

    task = load_task(seed=5, train_size=64, valid_size=8, test_size=8)
    # max_gradient_norm large: TF1 clips by a global norm that counts repeated embedding rows of an
    # IndexedSlices gradient separately, Keras by the dense gradient's; optimizer state is what is tested here.
    hp = HParams(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size, embedding_size=6,
                 num_units=8, cell_type="lstm", num_layers=2, forget_bias=0.8, learning_rate=0.01,
                 max_gradient_norm=1000.0)
    batches = list(iterate_batches(task.train, task.src_vocab, task.tgt_vocab, 8))[: N + M]
    root = tmp_path_factory.mktemp("adam")
    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = legacy.Seq2SeqModel(hp, "train")
        init = tf.compat.v1.global_variables_initializer()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(init)
            rng = np.random.RandomState(1)
            for v in tf.compat.v1.trainable_variables():
                v.load(rng.uniform(-0.3, 0.3, v.shape.as_list()).astype(np.float32), sess)
            for b in batches[:N]:
                sess.run(model.train_op, model.feed_dict(b))
            prefix = model.saver.save(sess, str(root / "legacy" / "model.ckpt"), global_step=model.global_step)
            for b in batches[N:]:
                sess.run(model.train_op, model.feed_dict(b))
            final = {v.op.name: sess.run(v) for v in tf.compat.v1.trainable_variables()}
    hp.save(str(root / "legacy" / "hparams.json"))
    return {"root": root, "prefix": prefix, "hp": hp, "batches": batches, "final": final}


def _port_train(model, batches):
    from tf2.data import batch_to_inputs

    for b in batches:
        x, y = batch_to_inputs(b)
        model.train_on_batch(x, y)


def _max_distance(model, run):
    """max |port weight - legacy N+M weight| over every weight, compared in the Keras layout."""
    ckpt = Checkpoint.open(run["prefix"])
    plan = bind_seq2seq(model, recognise(ckpt.variables), 0.8)
    worst = 0.0
    for b in plan.bindings:
        want = b.to_keras([run["final"][n] for n in b.tf1_names])
        for w, a in zip(b.keras_weights, want):
            worst = max(worst, float(np.abs(np.asarray(w.numpy()) - a).max()))
    return worst


def test_port_resumes_adam_where_legacy_stopped(run, tmp_path):
    import keras

    import tf2.seq2seq  # noqa: F401
    from tf2.training import compile_model

    out = str(tmp_path / "resumed.keras")
    assert main(["convert", run["prefix"], "--out", out, "--with-optimizer", "--report", str(tmp_path / "r.json")]) == 0
    model = keras.saving.load_model(out)
    assert int(model.optimizer.iterations.numpy()) == N
    _port_train(model, run["batches"][N:])
    resumed = _max_distance(model, run)

    cold = str(tmp_path / "cold.keras")
    assert main(["convert", run["prefix"], "--out", cold]) == 0
    fresh = compile_model(keras.saving.load_model(cold), run["hp"])
    _port_train(fresh, run["batches"][N:])
    restarted = _max_distance(fresh, run)

    assert resumed < 1e-5, f"port after {M} resumed steps differs from legacy after {N + M} by {resumed:.3g}"
    assert restarted > 1e-2 and restarted > 1000 * resumed   # a fresh Adam lands elsewhere: the carried m, v, step matter

    # Back to TF1 with the optimizer: the legacy train graph restores it and continues at step N + M.
    import tensorflow as tf

    import legacy_tf1.model as legacy

    model.save(str(tmp_path / "after.keras"))
    (tmp_path / "tf1").mkdir()
    back = str(tmp_path / "tf1" / "model.ckpt-6")
    assert main(["convert", "--to", "tf1", str(tmp_path / "after.keras"), "--out", back, "--with-optimizer"]) == 0
    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = legacy.Seq2SeqModel(run["hp"], "train")
        with tf.compat.v1.Session(graph=g) as sess:
            lm.saver.restore(sess, back)
            assert sess.run(lm.global_step) == N + M
            kernel = "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_1/lstm_cell/kernel"
            var = next(v for v in tf.compat.v1.global_variables() if v.op.name == kernel)
            np.testing.assert_allclose(sess.run(var), run["final"][kernel], rtol=0, atol=2e-5)
