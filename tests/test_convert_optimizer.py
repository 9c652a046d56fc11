"""--with-optimizer: legacy N Adam steps, convert, port M steps == legacy N + M steps; and back to TF1.

Past 828 updates TF1's float32 `beta1_power` is 0 (and `beta2_power` past ~87,000): the late cases set the beta
powers and `global_step` to the values TF1 holds after 1,200 / 20,000 / 90,000 updates (the float32 sequence TF1
computes, flushed to zero as its CPU kernels do), and legacy and port continue M steps from there."""

import warnings

import numpy as np
import pytest

from migrate.checkpoint import Checkpoint, bind_seq2seq, recognise
from migrate.cli import main
from seq2seq_task import HParams, iterate_batches, load_task

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]
N, M = 3, 3
# case -> (updates TF1 Adam made, global_step saved?, extra convert arguments): the step from global_step, from
# beta2_power (beta1_power is 0), and from --step where both powers are 0 and there is no global_step.
LATE = {"1200-global_step": (1200, True, []), "20000-beta2_power": (20000, False, []),
        "90000-step-flag": (90000, False, ["--step", "90000"])}


def tf1_power(beta: float, updates: int) -> np.float32:
    """TF1 Adam's float32 beta_power after `updates` updates: float32(beta) multiplied in float32, flushed to 0
    below the smallest normal float32 (TensorFlow's CPU kernels run with denormals flushed to zero)."""
    p = np.cumprod(np.full(updates + 1, np.float32(beta), np.float32), dtype=np.float32)[-1]
    return np.float32(0.0) if p < np.finfo(np.float32).tiny else p


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
            snapshot = {v: sess.run(v) for v in tf.compat.v1.global_variables()}
            for b in batches[N:]:
                sess.run(model.train_op, model.feed_dict(b))
            final = {v.op.name: sess.run(v) for v in tf.compat.v1.trainable_variables()}
            late = {}
            for case, (updates, with_global_step, _) in LATE.items():
                for v, value in snapshot.items():
                    v.load(value, sess)
                by_name = {v.op.name.rsplit("/", 1)[-1]: v for v in tf.compat.v1.global_variables()}
                by_name["beta1_power"].load(tf1_power(0.9, updates), sess)
                by_name["beta2_power"].load(tf1_power(0.999, updates), sess)
                model.global_step.load(updates, sess)
                kept = [v for v in tf.compat.v1.global_variables() if with_global_step or v is not model.global_step]
                (root / case).mkdir()
                hp.save(str(root / case / "hparams.json"))
                saved = tf.compat.v1.train.Saver(var_list=kept).save(sess, str(root / case / "model.ckpt"),
                                                                      global_step=updates)
                for b in batches[N:]:
                    sess.run(model.train_op, model.feed_dict(b))
                late[case] = {"prefix": saved, "final": {v.op.name: sess.run(v)
                                                         for v in tf.compat.v1.trainable_variables()}}
    hp.save(str(root / "legacy" / "hparams.json"))
    return {"root": root, "prefix": prefix, "hp": hp, "batches": batches, "final": final, "late": late}


def _port_train(model, batches):
    from tf2.data import batch_to_inputs

    model.run_eagerly = True   # M = 3 steps of a tiny model: tracing the train step would cost more than the steps
    for b in batches:
        x, y = batch_to_inputs(b)
        model.train_on_batch(x, y)


def _max_distance(model, run, final=None):
    """max |port weight - legacy N+M weight| over every weight, compared in the Keras layout."""
    ckpt = Checkpoint.open(run["prefix"])
    plan = bind_seq2seq(model, recognise(ckpt.variables), 0.8)
    worst = 0.0
    for b in plan.bindings:
        want = b.to_keras([(final or run["final"])[n] for n in b.tf1_names])
        for w, a in zip(b.keras_weights, want):
            worst = max(worst, float(np.abs(np.asarray(w.numpy()) - a).max()))
    return worst


@pytest.mark.slow
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


def test_tf1_power_is_what_tf1_adam_holds():
    """The fixture's beta powers are TF1's own: 828 updates put beta1_power at 0, as a TF1 Session does."""
    assert tf1_power(0.9, 827) > 0 and tf1_power(0.9, 828) == 0
    assert tf1_power(0.999, 87_000) > 0 and tf1_power(0.999, 87_400) == 0


@pytest.mark.slow
@pytest.mark.parametrize("case", list(LATE))
def test_port_resumes_adam_after_the_beta_powers_underflow(run, case, tmp_path, capsys):
    """Before this fix every such checkpoint crashed with "math domain error" (the log of beta1_power = 0)."""
    import keras

    import tf2.seq2seq  # noqa: F401

    updates, with_global_step, extra = LATE[case]
    late = run["late"][case]
    out = str(tmp_path / "resumed.keras")
    report = str(tmp_path / "r.json")
    if extra:   # neither power nor a global_step tells the step: exit 2 naming what was found and --step
        capsys.readouterr()
        assert main(["convert", late["prefix"], "--out", out, "--with-optimizer"]) == 2
        err = capsys.readouterr().err
        assert "beta2_power = 0 (0: it underflowed in float32)" in err and "beta1_power = 0" in err
        assert "no global_step" in err and "--step N" in err
        assert not (tmp_path / "resumed.keras").exists()
    assert main(["convert", late["prefix"], "--out", out, "--with-optimizer", "--report", report, *extra]) == 0
    import json

    with open(report) as f:
        opt = json.load(f)["optimizer"]
    assert opt["iterations"] == updates
    assert opt["iterations_from"] == {"1200-global_step": "global_step",
                                      "20000-beta2_power": "beta2_power = 2.03912e-09 (float32 0.999^(t+1) exactly, "
                                                           "t = 20000)",
                                      "90000-step-flag": "--step"}[case]
    model = keras.saving.load_model(out)
    assert int(model.optimizer.iterations.numpy()) == updates
    _port_train(model, run["batches"][N:])
    resumed = _max_distance(model, run, late["final"])
    assert resumed < 1e-5, f"{case}: port after {M} resumed steps differs from legacy by {resumed:.3g}"
    if updates == 1200:   # the step matters: Adam's bias correction at step 3 moves the weights elsewhere
        wrong = keras.saving.load_model(out)
        wrong.optimizer.iterations.assign(N)
        _port_train(wrong, run["batches"][N:])
        assert _max_distance(wrong, run, late["final"]) > 100 * max(resumed, 1e-7)


# -- the step from the beta powers: pure functions, no TensorFlow ------------------------------------------------

@pytest.mark.parametrize("updates", [0, 3, 827, 828, 1200, 20_000, 87_000])
def test_beta2_power_gives_the_exact_step_until_it_underflows(updates):
    from migrate.checkpoint.optimizer import step_from_power

    got = step_from_power("beta2_power", tf1_power(0.999, updates), 0.999)
    assert (got.step, got.exact) == (updates, True)
    b1 = step_from_power("beta1_power", tf1_power(0.9, updates), 0.9)
    assert (b1.step, b1.exact) == ((updates, True) if updates < 828 else (None, False))


def test_powers_that_cannot_tell_the_step():
    from migrate.checkpoint.optimizer import step_from_power

    assert step_from_power("beta2_power", tf1_power(0.999, 90_000), 0.999).how == "0: it underflowed in float32"
    # without flush-to-zero the float32 sequence sticks at a denormal: every later step holds the same value
    stuck = np.cumprod(np.full(120_000, np.float32(0.999), np.float32), dtype=np.float32)[-1]
    got = step_from_power("beta2_power", stuck, 0.999)
    assert got.step is None and "stays the same" in got.how
    # off TF1's float32 sequence (float64 powers): read through the log, marked approximate
    approx = step_from_power("beta2_power", 0.999 ** 1201, 0.999)
    assert (approx.step, approx.exact) == (1200, False)
    assert step_from_power("beta1_power", 0.95, 0.9).step is None     # above beta: not a power of it


def test_step_order_and_refusals():
    from migrate.checkpoint.optimizer import resolve_step, step_from_power
    from migrate.checkpoint.reader import CheckpointError

    b2 = step_from_power("beta2_power", tf1_power(0.999, 1200), 0.999)
    b1 = step_from_power("beta1_power", tf1_power(0.9, 1200), 0.9)
    assert resolve_step("ck", given=None, global_step=None, powers=[b2, b1]) == (1200, b2.describe())
    assert resolve_step("ck", given=None, global_step=("global_step", 1200), powers=[b2, b1]) == (1200, "global_step")
    assert resolve_step("ck", given=7, global_step=("global_step", 1200), powers=[b2, b1]) == (7, "--step")
    with pytest.raises(CheckpointError, match=r"global_step = 1500 but beta2_power .* says 1200 .*--step 1200"):
        resolve_step("ck", given=None, global_step=("global_step", 1500), powers=[b2, b1])
    zero = [step_from_power("beta2_power", 0.0, 0.999), step_from_power("beta1_power", 0.0, 0.9)]
    with pytest.raises(CheckpointError, match=r"beta2_power = 0 \(0: it underflowed.*no global_step. Pass --step N"):
        resolve_step("ck", given=None, global_step=None, powers=zero)
    with pytest.raises(CheckpointError, match="disagree"):   # betas other than the ones assumed
        resolve_step("ck", given=None, global_step=None,
                     powers=[step_from_power("beta2_power", tf1_power(0.999, 50), 0.999),
                             step_from_power("beta1_power", tf1_power(0.9, 70), 0.9)])
