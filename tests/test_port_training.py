"""The port's loss, decoding loops, training, saving, export, baseline and multi-device training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")
import tensorflow as tf  # noqa: E402

from seq2seq_task import EOS_ID, HParams, iterate_batches, load_task  # noqa: E402
from tf2.baseline import baseline_decode, build_baseline, pad_targets  # noqa: E402
from tf2.data import batch_to_inputs  # noqa: E402
from tf2.decoding import attention_alignments, beam_fn, greedy_decode, length_penalty  # noqa: E402
from tf2.export import export_serving  # noqa: E402
from tf2.seq2seq import Seq2Seq  # noqa: E402
from tf2.sequence_loss import SequenceLoss  # noqa: E402
from tf2.training import load_model_dir, train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENC_IDS = np.array([[5, 6, 7, 8, 9, 10], [4, 9, 6, 0, 0, 0], [7, 12, 0, 0, 0, 0], [8, 8, 8, 8, 0, 0]], np.int32)


@pytest.fixture(scope="module")
def task():
    return load_task(seed=3, train_size=600, valid_size=64, test_size=64)


def tiny(task=None, **kw):
    base = dict(src_vocab_size=13, tgt_vocab_size=9, embedding_size=8, num_units=8, forget_bias=0.8,
                attention="luong", encoder_type="bi", max_tgt_len=7, batch_size=16, seed=5)
    if task is not None:
        base.update(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size,
                    max_src_len=task.max_src_len, max_tgt_len=task.max_tgt_len)
    base.update(kw)
    return HParams(**base)


def random_model(hp, seed=0, eos_bias=0.0, scale=0.3):
    """A model with random non-zero weights; PAD never wins the argmax, `eos_bias` tunes stopping."""
    model = Seq2Seq(hp)
    rng = np.random.RandomState(seed)
    for w in model.weights:
        w.assign(rng.uniform(-scale, scale, w.shape).astype("float32"))
    bias = model.projection.bias.numpy()
    bias[0] = -50.0
    bias[EOS_ID] += eos_bias
    model.projection.bias.assign(bias)
    return model


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_sequence_loss_is_mean_xent_over_valid_tokens():
    rng = np.random.RandomState(0)
    logits = rng.randn(3, 5, 7).astype("float32")
    targets = np.array([[4, 5, 6, 2, 0], [4, 2, 0, 0, 0], [6, 6, 6, 6, 2]], np.int32)
    xent = -np.take_along_axis(log_softmax(logits.astype(np.float64)), targets[..., None], -1)[..., 0]
    w = (targets != 0).astype(np.float64)
    expected = (xent * w).sum() / w.sum()  # contrib sequence_loss, default averaging
    assert float(SequenceLoss()(targets, logits)) == pytest.approx(expected, abs=1e-6)
    assert abs(expected - xent.mean()) > 0.05  # the padded positions would change it


def greedy_reference(model, enc_ids, steps):
    """Greedy by repeated full teacher-forced model calls (the slow, obvious way)."""
    out = np.zeros((len(enc_ids), steps), np.int32)
    for b, row in enumerate(enc_ids):
        prefix = [1]
        for t in range(steps):
            logits = model({"encoder_ids": row[None], "decoder_ids": np.array([prefix], np.int32)}).numpy()
            out[b, t] = int(logits[0, -1].argmax())
            if out[b, t] == EOS_ID:
                break
            prefix.append(out[b, t])
    return out


# (attention, cell, seed, eos_bias, scale): random models whose rows stop at different steps.
GREEDY_CASES = [("none", "gru", 3, -0.75, 1.0), ("normalized_bahdanau", "lstm", 1, 1.0, 2.0)]


@pytest.mark.parametrize("attention,cell_type,seed,eos_bias,scale", GREEDY_CASES, ids=[c[0] for c in GREEDY_CASES])
def test_greedy_loop_equals_step_by_step_reference(attention, cell_type, seed, eos_bias, scale):
    hp = tiny(attention=attention, cell_type=cell_type, num_layers=2)
    model = random_model(hp, seed=seed, eos_bias=eos_bias, scale=scale)
    got = greedy_decode(model, ENC_IDS)
    assert got.shape == (4, hp.decode_max_steps) and got.dtype == np.int32
    np.testing.assert_array_equal(got, greedy_reference(model, ENC_IDS, hp.decode_max_steps))
    ends = [(list(r).index(EOS_ID) if EOS_ID in r else None) for r in got]
    assert len(set(ends)) >= 2, f"rows should stop at different steps to exercise the format, got ends {ends}"


def test_beam_search_scores_are_sorted_true_log_probs():
    hp = tiny(attention="bahdanau", cell_type="lstm")
    model = random_model(hp, seed=1, eos_bias=0.0, scale=2.0)
    np.testing.assert_array_equal(model.beam_search(ENC_IDS, beam_width=1), greedy_decode(model, ENC_IDS))
    alpha = 0.6
    seqs, scores = (t.numpy() for t in beam_fn(model, beam_width=3, alpha=alpha)(ENC_IDS))
    assert seqs.shape == (4, 3, hp.decode_max_steps)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    for b in range(4):
        for k in range(3):
            ids = list(seqs[b, k])
            n = ids.index(EOS_ID) + 1 if EOS_ID in ids else len(ids)
            assert all(i == 0 for i in ids[n:])
            dec = np.array([[1] + ids[: n - 1]], np.int32)
            lp = log_softmax(model({"encoder_ids": ENC_IDS[b:b + 1], "decoder_ids": dec}).numpy()[0].astype(np.float64))
            logp = lp[np.arange(n), ids[:n]].sum()
            assert scores[b, k] == pytest.approx(logp / float(length_penalty(n, alpha)), abs=1e-4)
    assert len({tuple(s) for s in seqs[0]}) == 3  # three distinct hypotheses


def test_attention_alignments_of_one_example():
    model = random_model(tiny(attention="scaled_luong"), seed=1, eos_bias=1.0, scale=1.0)
    ids, align = attention_alignments(model, [5, 6, 7, 8])
    assert align.shape == (len(ids), 4) and (ids[-1] == EOS_ID or len(ids) == model.hparams.decode_max_steps)
    assert align.std(axis=-1).max() > 0.01  # real weights, not the uniform 1/4
    np.testing.assert_allclose(align.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(ids, greedy_decode(model, [[5, 6, 7, 8]])[0][: len(ids)])


def test_weights_h5_and_keras_round_trip_give_identical_logits(tmp_path, task):
    hp = tiny(task, cell_type="gru", num_layers=2, attention="normalized_bahdanau", attention_layer_size=6)
    model = random_model(hp, seed=4)
    x, _ = batch_to_inputs(next(iterate_batches(task.valid, task.src_vocab, task.tgt_vocab, 8)))
    want = model(x).numpy()
    model.save_weights(str(tmp_path / "m.weights.h5"))
    fresh = Seq2Seq(hp)
    assert not np.array_equal(fresh(x).numpy(), want)
    fresh.load_weights(str(tmp_path / "m.weights.h5"))
    np.testing.assert_array_equal(fresh(x).numpy(), want)


@pytest.mark.slow
def test_fit_trains_checkpoints_and_reloads(tmp_path, task):
    hp = tiny(task, attention="luong", encoder_type="uni", num_units=16, embedding_size=16, batch_size=32)
    result = train(hp, task, out_dir=str(tmp_path), epochs=3, patience=1, jit_compile=False)  # XLA: see test_port_cli
    losses = result.history["loss"]
    assert len(losses) == result.epochs_run >= 2 and losses[-1] < losses[0] - 0.2
    assert sorted(os.listdir(tmp_path)) == ["hparams.json", "model.keras", "vocab.src.json", "vocab.tgt.json"]
    reloaded, src_vocab, _ = load_model_dir(str(tmp_path))
    assert src_vocab == task.src_vocab and reloaded.hparams == hp
    x, _ = batch_to_inputs(next(iterate_batches(task.valid, task.src_vocab, task.tgt_vocab, 8)))
    np.testing.assert_array_equal(reloaded(x).numpy(), result.model(x).numpy())


@pytest.mark.slow
def test_export_decode_signature_takes_token_ids(tmp_path):
    model = random_model(tiny(attention="bahdanau"), seed=1, eos_bias=0.0, scale=2.0)
    path = export_serving(model, str(tmp_path / "served"))
    served = tf.saved_model.load(path)
    np.testing.assert_array_equal(served.decode(tf.constant(ENC_IDS)).numpy(), greedy_decode(model, ENC_IDS))
    dec = np.array([[1, 4, 5], [1, 6, 0], [1, 7, 7], [1, 0, 0]], np.int32)
    np.testing.assert_allclose(served.serve(tf.constant(ENC_IDS), tf.constant(dec)).numpy(),
                               model({"encoder_ids": ENC_IDS, "decoder_ids": dec}).numpy(), atol=1e-6)


@pytest.mark.slow
def test_sequential_baseline_trains_and_reloads(tmp_path, task):
    hp = tiny(task, num_units=16)
    model = build_baseline(hp)
    assert isinstance(model, keras.Sequential)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=SequenceLoss())
    batches = list(iterate_batches(task.train, task.src_vocab, task.tgt_vocab, 32))
    x = np.concatenate([np.pad(b.encoder_ids, ((0, 0), (0, task.max_src_len - b.encoder_ids.shape[1])))
                        for b in batches])
    y = np.concatenate([pad_targets(b.decoder_target_ids, hp.decode_max_steps) for b in batches])
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0).history["loss"]
    assert history[-1] < history[0] - 0.3
    model.save(str(tmp_path / "baseline.keras"))
    again = keras.saving.load_model(str(tmp_path / "baseline.keras"))
    np.testing.assert_array_equal(again.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0))
    ids = baseline_decode(model, x[:8])
    assert ids.shape == (8, hp.decode_max_steps)


MIRRORED_CHILD = textwrap.dedent("""
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from seq2seq_task import HParams, load_task
    from tf2.data import make_dataset
    from tf2.seq2seq import Seq2Seq
    from tf2.training import compile_model

    task = load_task(seed=3, train_size=64, valid_size=8, test_size=8)
    hp = HParams(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size, embedding_size=8,
                 num_units=8, attention="luong", encoder_type="bi", max_gradient_norm=0.5, forget_bias=0.8)
    keras.utils.set_random_seed(0)
    init = [w.numpy() for w in Seq2Seq(hp).weights]

    def run(strategy):
        with strategy.scope():
            model = Seq2Seq(hp)
            for w, v in zip(model.weights, init):
                w.assign(v)
            compile_model(model, hp)
        ds = make_dataset(task.train, task.src_vocab, task.tgt_vocab, 16)  # 4 global batches of 16
        losses = []
        cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(float(logs["loss"])))
        model.fit(ds, epochs=1, verbose=0, callbacks=[cb])
        return losses, [w.numpy() for w in model.weights], strategy.num_replicas_in_sync

    one, w1, n1 = run(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two, w2, n2 = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    print("RESULT" + json.dumps({"one": one, "two": two, "replicas": [n1, n2],
                                 "max_weight_diff": max(float(np.abs(a - b).max()) for a, b in zip(w1, w2))}))
""")


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices_gives_the_one_device_loss():
    """Per-replica batch 8 of a global 16 with unequal token counts: same running loss and weights."""
    proc = subprocess.run([sys.executable, "-c", MIRRORED_CHILD], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, proc.stderr[-3000:]
    res = json.loads(line[0][len("RESULT"):])
    assert res["replicas"] == [1, 2]
    assert len(res["one"]) == len(res["two"]) == 4
    np.testing.assert_allclose(res["two"], res["one"], atol=1e-5)
    assert res["max_weight_diff"] < 1e-5


def test_time_loop_is_keras_ops_and_xla_trains_through_it():
    """`tf2.backend.scan` on TensorFlow: a `keras.ops.while_loop` with a fixed trip count over a preallocated output
    (no TensorArray / TensorList in the forward program); values and gradients equal a step-by-step Python loop,
    with and without XLA, for a time length known only at run time."""
    from tf2.backend import scan

    rng = np.random.RandomState(4)
    w = tf.Variable(rng.uniform(-0.5, 0.5, (6, 6)).astype("float32"))
    b = tf.Variable(rng.uniform(-0.5, 0.5, (6,)).astype("float32"))
    xs = tf.constant(rng.randn(9, 3, 6).astype("float32"))

    def step(carry, x):
        h = keras.ops.tanh(x + keras.ops.matmul(carry, w) + b)
        return h, h * h + x

    def loss_and_grads(run):
        with tf.GradientTape() as tape:
            carry, ys = run()
            loss = keras.ops.sum(ys * ys) + keras.ops.sum(carry)
        return ys, carry, tape.gradient(loss, [w, b])

    def unrolled():
        carry, ys = tf.zeros((3, 6)), []
        for t in range(9):
            carry, y = step(carry, xs[t])
            ys.append(y)
        return carry, tf.stack(ys)

    want = loss_and_grads(unrolled)
    spec = [tf.TensorSpec((None, 3, 6), tf.float32)]
    for jit in (False, True):
        fn = tf.function(lambda x: loss_and_grads(lambda: scan(step, tf.zeros((3, 6)), x, (None, 6))),
                         input_signature=spec, jit_compile=jit)
        got = fn(xs)
        for g, e in zip(tf.nest.flatten(got), tf.nest.flatten(want)):
            # XLA fuses and reorders the float32 sums of the backward pass: an element of a gradient summed over 9
            # steps may differ by a few ulps of the array's largest element (4e-6 seen on -0.18 beside 5.1).
            scale = max(1.0, float(np.max(np.abs(e.numpy()))))
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, atol=2e-6 * scale, err_msg=f"jit_compile={jit}")
    forward = tf.function(lambda x: scan(step, tf.zeros((3, 6)), x, (None, 6)), input_signature=spec)
    graph_def = forward.get_concrete_function().graph.as_graph_def()
    op_types = {n.op for n in graph_def.node} | {n.op for f in graph_def.library.function for n in f.node_def}
    assert "While" in op_types or "StatelessWhile" in op_types
    assert not {o for o in op_types if o.startswith(("TensorArray", "TensorList"))}, op_types
