"""Converted `.keras` models on JAX and PyTorch (Keras 3 backends), each in a fresh process without TensorFlow.

Legacy TF1 checkpoints with random non-zero weights and biases and forget bias 0.8 -> `tf-migrate convert`
-> `tf2.backend_runner.run_jobs` on "jax" and "torch": logits equal the legacy graph's and the TF backend's
within the parity tolerance at EVERY position (padding included), greedy ids and beams identical, no
`tensorflow` module loaded in the child; `fit` lowers the loss on each backend. One child per backend.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

from seq2seq_task import HParams, load_task, make_batch

BACKENDS = ["jax", "torch"]
pytest.importorskip("jax")
pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# Every cell type and attention mechanism; 1-2 layers, uni/bi, attention layer, output_attention False,
# slim projection, shared embeddings.
VARIANTS = {
    "lstm-1-bi-luong": dict(cell_type="lstm", encoder_type="bi", attention="luong"),
    "gru-2-uni-normalized_bahdanau-layer8": dict(cell_type="gru", num_layers=2, attention="normalized_bahdanau",
                                                 attention_layer_size=8),
    "basic_lstm-2-bi-scaled_luong-noattnout": dict(cell_type="basic_lstm", num_layers=2, encoder_type="bi",
                                                   attention="scaled_luong", attention_layer_size=8,
                                                   output_attention=False),
    "gru-1-uni-bahdanau-slim-shared": dict(cell_type="gru", attention="bahdanau", projection="slim",
                                           share_embeddings=True),
    "lstm-1-uni-none": dict(cell_type="lstm"),
}


def parity_atol(expected):
    """The parity suite's logits tolerance: atol max(1e-5, 1e-5 x max |expected|), rtol 1e-6 (docs/parity.md)."""
    return max(1e-5, 1e-5 * float(np.abs(expected).max()))


def write_legacy(out_dir, hp, batch, seed):
    """A legacy "eval" checkpoint with random non-zero weights; returns its logits on `batch`."""
    import tensorflow as tf

    import legacy_tf1.model as legacy

    os.makedirs(out_dir, exist_ok=True)
    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = legacy.Seq2SeqModel(hp, "eval")
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            rng = np.random.RandomState(seed)
            for v in tf.compat.v1.trainable_variables():
                v.load(rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32), sess)
            logits = sess.run(model.logits, model.feed_dict(batch))
            model.saver.save(sess, os.path.join(out_dir, "model.ckpt"), global_step=model.global_step)
    hp.save(os.path.join(out_dir, "hparams.json"))
    return logits


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """name -> (path of the converted .keras, batch, legacy logits, TF-backend logits, greedy ids, beams)."""
    import keras

    import tf2  # noqa: F401
    from migrate.cli import main as tf_migrate

    task = load_task(seed=3, train_size=64, valid_size=8, test_size=8)
    pairs = task.valid[:3] + [(task.valid[3][0][:3], task.valid[3][1][:4])]  # a short source and target
    out = {}
    for i, (name, kw) in enumerate(VARIANTS.items()):
        size = max(task.src_vocab.size, task.tgt_vocab.size)
        sizes = dict(src_vocab_size=size, tgt_vocab_size=size) if kw.get("share_embeddings") else dict(
            src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size)
        hp = HParams(embedding_size=6, num_units=8, forget_bias=0.8, **sizes, **kw)
        batch = make_batch(pairs, task.src_vocab, task.tgt_vocab)
        assert (batch.encoder_ids == 0).any() and (batch.decoder_input_ids == 0).any()  # padding is compared
        ckpt = str(tmp_path_factory.mktemp(name))
        legacy_logits = write_legacy(ckpt, hp, batch, seed=i)
        path = os.path.join(ckpt, "model.keras")
        assert tf_migrate(["convert", ckpt, "--out", path, "--no-progress"]) == 0
        model = keras.saving.load_model(path)
        tf_logits = np.asarray(model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}))
        out[name] = dict(path=path, batch=batch, legacy=legacy_logits, tf=tf_logits,
                         greedy=model.greedy_decode(batch.encoder_ids),
                         beam=model.beam_search(batch.encoder_ids, beam_width=3, length_penalty=0.6)
                         if name in BEAM_VARIANTS else None)
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def backend_results(request, converted):
    """One child process per backend runs every variant (logits, greedy, beams) and trains one of them."""
    from tf2.backend_runner import run_jobs

    jobs = []
    for name, c in converted.items():
        b = c["batch"]
        job = {"model": c["path"], "encoder_ids": b.encoder_ids, "decoder_ids": b.decoder_input_ids}
        if name in BEAM_VARIANTS:
            job.update(beam_width=3, length_penalty=0.6)
        if name == FIT_VARIANT:
            job["fit"] = {"encoder_ids": b.encoder_ids, "decoder_ids": b.decoder_input_ids,
                          "target_ids": b.decoder_target_ids, "epochs": 4, "learning_rate": 0.02}
        jobs.append(job)
    start = time.perf_counter()
    results = run_jobs(jobs, request.param)
    return request.param, dict(zip(converted, results)), time.perf_counter() - start


FIT_VARIANT = "gru-1-uni-bahdanau-slim-shared"
BEAM_VARIANTS = ("lstm-1-bi-luong", "lstm-1-uni-none")  # beams cost one more compile per model


@pytest.mark.slow
def test_converted_models_run_without_tensorflow_with_parity(converted, backend_results):
    backend, results, _ = backend_results
    for name, c in converted.items():
        r = results[name]
        assert r["backend"] == backend and r["tensorflow_imported"] is False, name
        assert r["logits"].shape == c["tf"].shape, name
        np.testing.assert_allclose(r["logits"], c["tf"], rtol=1e-6, atol=parity_atol(c["tf"]),
                                   err_msg=f"{name} on {backend} vs the TensorFlow backend")
        np.testing.assert_allclose(r["logits"], c["legacy"], rtol=1e-6, atol=parity_atol(c["legacy"]),
                                   err_msg=f"{name} on {backend} vs the legacy graph")
        np.testing.assert_array_equal(r["greedy_ids"], c["greedy"], err_msg=f"{name} greedy on {backend}")
        if name in BEAM_VARIANTS:
            np.testing.assert_array_equal(r["beam_ids"], c["beam"], err_msg=f"{name} beam search on {backend}")


@pytest.mark.slow
def test_fit_lowers_the_loss_on_backend(backend_results):
    """Four Adam steps (lr 0.02) on one batch with the port's own loss: every step lowers it (2.63 -> 2.48 seen)."""
    backend, results, _ = backend_results
    losses = results[FIT_VARIANT]["fit_losses"]
    assert len(losses) == 5 and np.all(np.isfinite(losses)), losses
    assert np.all(np.diff(losses) < 0) and losses[-1] < losses[0] - 0.1, (backend, losses)
