"""`convert --from-graph --with-optimizer`: K further steps in TF1 and in Keras from the converted state agree.

A tiny TF1-style graph (an LSTM with forget bias 0.7, a dense layer on its last output, the mean sparse
cross-entropy; random non-zero weights and biases; in half of the cases an embedding feeds the LSTM) is trained 3
steps with each optimizer, saved with its `.meta`, and trained K more steps in its Session on one batch; the
converted model, loaded from `model.keras` with the optimizer it holds, makes K `train_on_batch` steps through
`compile_for_training` on the same batch. The weights must agree (the LSTM compared through the cell layout
transform, not through the code under test), and an optimizer of the same class without the carried state must
land elsewhere.

The embedding takes TF1's sparse updates (repeated ids summed; Adam: `_apply_sparse_shared`, no ApplyAdam op;
Momentum / RMSProp: SparseApply* ops, which leave the rows outside the batch alone): the first 3 steps see every
id, the K resumed steps repeat some ids and miss two, so Keras' own optimizers would differ there; the report
names the runtime class that reproduces TF1.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pytest
from real_corpus import corpus_entry
from tf1_models import tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

B, T, V, E, U, C, K = 4, 3, 6, 2, 3, 5, 3
FORGET_BIAS = 0.7
LSTM_SCOPE = "model/rnn/lstm_cell"


def _adam_nesterov(v1):
    """An AdamOptimizer whose dense updates pass use_nesterov=True, as tf.contrib.opt.NadamOptimizer did."""
    import tensorflow as tf

    class Nadam(v1.train.AdamOptimizer):
        def _apply_dense(self, grad, var):
            b1p, b2p = self._get_beta_accumulators()
            return tf.raw_ops.ApplyAdam(var=var, m=self.get_slot(var, "m"), v=self.get_slot(var, "v"),
                                        beta1_power=b1p, beta2_power=b2p, lr=self._lr_t, beta1=self._beta1_t,
                                        beta2=self._beta2_t, epsilon=self._epsilon_t, grad=grad,
                                        use_nesterov=True).op

    return Nadam(0.02, epsilon=1e-7)


def _adam_tf0(v1):
    """Adam as TF 0.x applied it to an embedding: the gradient rows of repeated ids not summed first (no
    `_apply_sparse_duplicate_indices`, which TF 1.1 added)."""
    class Adam0(v1.train.AdamOptimizer):
        def _apply_sparse_duplicate_indices(self, grad, var):
            return self._apply_sparse(grad, var)

    return Adam0(0.02)


RT = "tf_migrate_runtime.optimizers."


@dataclass(frozen=True)
class Case:
    make: object                  # v1 -> the TF1 optimizer
    keras: str                    # the Keras class the report must name
    ops: list                     # the update op types the report must name
    updates: int | None = None    # Adam updates TF1 made before saving (None: the 3 steps themselves)
    keep_step: bool = True        # global_step saved
    embedding: bool = False       # an embedding (TF1's sparse updates) feeds the LSTM
    resource: bool = False        # resource variables (ResourceApply* ops)
    clip: float | None = None     # tf.clip_by_global_norm(grads, clip) before the update (small enough to bind)
    clip_value: float | None = None   # tf.clip_by_value(g, -clip_value, clip_value) (binding too)
    dense_clip: bool = False          # clip_by_value as TF <= 1.2 did it: the embedding's IndexedSlices made dense


CASES = {
    "adam": Case(lambda v1: v1.train.AdamOptimizer(0.02, beta1=0.8, beta2=0.99, epsilon=1e-6),
                 "keras.optimizers.Adam", ["ApplyAdam"]),
    # past 828 updates: beta1_power is 0 in float32; no global_step, the step comes from beta2_power
    "adam-1200-steps-embedding-clip": Case(lambda v1: v1.train.AdamOptimizer(0.02), RT + "TF1Adam", ["ApplyAdam"],
                                           updates=1200, keep_step=False, embedding=True, clip=0.3),
    "adam-nesterov": Case(_adam_nesterov, RT + "TF1Adam", ["ApplyAdam"]),
    "adam-tf12-clip-value-embedding": Case(lambda v1: v1.train.AdamOptimizer(0.02), RT + "TF1Adam", ["ApplyAdam"],
                                           embedding=True, clip_value=0.05, dense_clip=True),
    "adam-tf0-rows-embedding-clip": Case(_adam_tf0, RT + "TF1Adam", ["ApplyAdam"], embedding=True, clip=0.3),
    # a learning rate computed from global_step (constant over these steps: staircase)
    "momentum-schedule": Case(lambda v1: v1.train.MomentumOptimizer(v1.train.exponential_decay(
        0.05, v1.train.get_global_step(), 100, 0.5, staircase=True), 0.9), "keras.optimizers.SGD", ["ApplyMomentum"],
        clip=0.2),
    "momentum-nesterov-embedding": Case(lambda v1: v1.train.MomentumOptimizer(0.05, 0.8, use_nesterov=True),
                                        RT + "TF1Momentum", ["ApplyMomentum", "SparseApplyMomentum"], embedding=True,
                                        clip_value=0.05),
    "rmsprop-resource": Case(lambda v1: v1.train.RMSPropOptimizer(0.01, decay=0.8, epsilon=1e-4),
                             "keras.optimizers.RMSprop", ["ResourceApplyRMSProp"], resource=True, clip_value=0.05),
    "rmsprop-centered-momentum-embedding": Case(lambda v1: v1.train.RMSPropOptimizer(
        0.01, decay=0.85, momentum=0.5, epsilon=1e-3, centered=True), RT + "TF1RMSProp",
        ["ApplyCenteredRMSProp", "SparseApplyCenteredRMSProp"], embedding=True),
    "adagrad-embedding": Case(lambda v1: v1.train.AdagradOptimizer(0.1, initial_accumulator_value=0.05),
                              RT + "TF1Adagrad", ["ApplyAdagrad", "SparseApplyAdagrad"], embedding=True),
    "gradient-descent": Case(lambda v1: v1.train.GradientDescentOptimizer(0.1), "keras.optimizers.SGD",
                             ["ApplyGradientDescent"]),
}


def tf1_power(beta: float, updates: int) -> np.float32:
    """TF1 Adam's float32 beta_power after `updates` updates (flushed to 0 below the smallest normal float32)."""
    p = np.cumprod(np.full(updates + 1, np.float32(beta), np.float32), dtype=np.float32)[-1]
    return np.float32(0.0) if p < np.finfo(np.float32).tiny else p


def _batch(seed, embedding, every_id):
    """Inputs (ids: every row twice, or rows 0..V-3 only, repeated; else floats) and labels."""
    rng = np.random.RandomState(seed)
    if not embedding:
        x = rng.normal(0, 1, (B, T, E)).astype("float32")
    elif every_id:
        x = rng.permutation(np.tile(np.arange(V), B * T // V)).reshape(B, T).astype("int32")
    else:
        x = rng.randint(0, V - 2, (B, T)).astype("int32")
    return x, rng.randint(0, C, (B,)).astype("int32")


def _train_tf1(path: str, case: str) -> dict:
    """Build, train 3 steps, (set the Adam step), save with the .meta, train K more; the final values."""
    import tensorflow as tf

    v1 = tf.compat.v1
    c = CASES[case]
    embedding, updates = c.embedding, c.updates
    x0, y0 = _batch(1, embedding, True)
    x, y = _batch(2, embedding, False)
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            xs = v1.placeholder(tf.int32 if embedding else tf.float32, [None, T] + ([] if embedding else [E]), name="x")
            ys = v1.placeholder(tf.int32, [None], name="y")
            step = v1.train.get_or_create_global_step()
            with v1.variable_scope("model", use_resource=c.resource):
                inputs = tf.nn.embedding_lookup(v1.get_variable("embedding", [V, E]), xs) if embedding else xs
                out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(U, forget_bias=FORGET_BIAS), inputs,
                                           dtype=tf.float32)
                logits = tf.identity(v1.layers.dense(out[:, -1], C, name="proj"), name="logits")
            loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=ys, logits=logits))
            opt = c.make(v1)
            if c.clip or c.clip_value:
                grads, tvars = zip(*opt.compute_gradients(loss))
                if c.clip:
                    grads, norm = tf.clip_by_global_norm(grads, c.clip)
                else:   # the largest gradient element, to check the clip binds
                    norm = tf.reduce_max([tf.reduce_max(tf.abs(g.values if hasattr(g, "indices") else g))
                                          for g in grads])
                    if c.dense_clip:   # TF <= 1.2: convert_to_tensor(IndexedSlices) inside clip_by_value
                        grads = [tf.convert_to_tensor(g) for g in grads]
                    grads = [tf.clip_by_value(g, -c.clip_value, c.clip_value) for g in grads]
                train_op = opt.apply_gradients(zip(grads, tvars), global_step=step)
            else:
                train_op = opt.minimize(loss, global_step=step)
            with v1.Session(graph=g) as sess:
                sess.run(v1.global_variables_initializer())
                rng = np.random.RandomState(0)
                for v in v1.trainable_variables():   # random non-zero weights and biases
                    v.load(rng.normal(0, 0.5, v.shape.as_list()).astype("float32"), sess)
                for _ in range(3):
                    sess.run(train_op, {xs: x0, ys: y0})
                if updates is not None:
                    by_name = {v.op.name: v for v in v1.global_variables()}
                    by_name["beta1_power"].load(tf1_power(0.9, updates), sess)
                    by_name["beta2_power"].load(tf1_power(0.999, updates), sess)
                    step.load(updates, sess)
                kept = [v for v in v1.global_variables() if c.keep_step or v is not step]
                prefix = v1.train.Saver(var_list=kept).save(sess, os.path.join(path, "model.ckpt"))
                for _ in range(K):
                    if c.clip or c.clip_value:   # the clip binds: the gradients' norm (or an element) is above it
                        assert sess.run(norm, {xs: x, ys: y}) > 1.5 * (c.clip or c.clip_value)
                    sess.run(train_op, {xs: x, ys: y})
                final = {v.op.name: sess.run(v) for v in v1.trainable_variables()}
    return {"prefix": prefix, "final": final, "x": x, "y": y, "updates": 3 if updates is None else updates}


def _expected_keras(final: dict) -> dict:
    """TF1's trained values in the Keras layout: the dense layer as is, the LSTM through the cell layout (its bias
    as TF1's: `tfm.LSTM(forget_bias=FORGET_BIAS)` adds the forget bias at run time)."""
    from migrate.checkpoint.cell_layouts.lstm import lstm_to_keras

    k, rk, b = lstm_to_keras(final[f"{LSTM_SCOPE}/kernel"], final[f"{LSTM_SCOPE}/bias"], E, 0.0)
    want = {"kernel": k, "recurrent_kernel": rk, "bias": b, "proj/kernel": final["model/proj/kernel"],
            "proj/bias": final["model/proj/bias"]}
    if "model/embedding" in final:
        want["embeddings"] = final["model/embedding"]
    return want


def _keras_weights(model) -> dict:
    got = {}
    for layer in model.layers:
        for w in layer.weights:
            name = w.path.rsplit("/", 1)[-1]
            got["proj/" + name if layer.name.endswith("proj") else name] = np.asarray(w.numpy())
    return got


def _distance(model, want) -> float:
    got = _keras_weights(model)
    assert set(got) == set(want), (sorted(got), sorted(want))
    return max(float(np.abs(got[k] - want[k]).max()) for k in want)


@pytest.mark.parametrize("case", list(CASES))
def test_keras_continues_the_tf1_training(case, tmp_path):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    import tf_migrate_runtime.optimizers  # noqa: F401
    from migrate.graph import convert_graph

    run = _train_tf1(str(tmp_path / "tf1"), case)
    out = str(tmp_path / "converted")
    logs: list[str] = []
    report = convert_graph(run["prefix"], out, with_optimizer=True, log=logs.append)
    opt = report["optimizer"]
    c = CASES[case]
    stateful = case != "gradient-descent"
    assert opt["class"] == c.keras and opt["tf1"]["update_op"] == c.ops
    runtime = c.keras.startswith(RT)    # the runtime's classes clip as TF1 did (IndexedSlices kept); Keras' own
    want = {k: pytest.approx(v) for k, v in (("clip_norm" if runtime else "global_clipnorm", c.clip),
                                              ("clip_value" if runtime else "clipvalue", c.clip_value)) if v}
    if c.dense_clip:
        want["dense_before_clip"] = True
    assert {k: v for k, v in opt["config"].items() if "clip" in k and v not in (None, False)} == want
    assert opt["config"].get("sum_repeated_rows", True) == (not case.startswith("adam-tf0"))
    assert opt["iterations"] == run["updates"]
    assert opt["iterations_from"] == ("beta2_power = 0.300717 (float32 0.999^(t+1) exactly, t = 1200)"
                                      if "1200" in case else "global_step")
    assert opt["keras_weights_untrained_in_tf1"] == [] and (opt["slots_carried"] > 0) == stateful
    if stateful:    # every trained variable, the embedding too, has its slots carried
        assert {r["tf1"][0] for r in opt["weights"]} == set(run["final"])
    sparse_note = [n for n in opt["notes"] if n.startswith("model/embedding: ")]
    assert bool(sparse_note) == (c.embedding and not c.dense_clip), opt["notes"]   # a dense clip: a dense update
    if c.embedding:
        assert opt["config"].get("sparse_variables", ["model__embedding/embeddings"]) == ["model__embedding/embeddings"]
    schedule_note = [n for n in opt["notes"] if n.startswith("lr: ") and "computed from the graph's variables" in n]
    assert bool(schedule_note) == (case == "momentum-schedule"), opt["notes"]
    with open(os.path.join(out, "convert_report.json")) as f:
        assert json.load(f)["optimizer"]["class"] == opt["class"]

    src = open(os.path.join(out, "model.py")).read()
    ns: dict = {"__name__": "generated"}
    exec(compile(src, "model.py", "exec"), ns)  # noqa: S102 - the generated file
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    assert int(model.optimizer.iterations.numpy()) == run["updates"]
    assert [la.forget_bias for la in model.layers if isinstance(la, keras.layers.LSTM)] == [FORGET_BIAS]
    train = ns["compile_for_training"](model, optimizer=model.optimizer)
    train.run_eagerly = True   # a tiny model: tracing would cost more than K steps
    for _ in range(K):
        train.train_on_batch({"x": run["x"]}, run["y"])
    want = _expected_keras(run["final"])
    resumed = _distance(model, want)
    assert resumed < 2e-6, f"{case}: Keras after {K} resumed steps differs from TF1 by {resumed:.3g}"

    if not stateful:
        return
    # the carried state matters: the same optimizer without it (fresh slots, step 0) lands elsewhere
    cold = keras.saving.load_model(os.path.join(out, "model.keras"))
    fresh = keras.optimizers.deserialize(keras.optimizers.serialize(cold.optimizer))
    train = ns["compile_for_training"](cold, optimizer=fresh)
    train.run_eagerly = True   # a tiny model: tracing would cost more than K steps
    for _ in range(K):
        train.train_on_batch({"x": run["x"]}, run["y"])
    assert _distance(cold, want) > 100 * max(resumed, 1e-7)


def _dense_graph(path: str, train: bool) -> str:
    """A dense-only graph whose Momentum learning rate is a placeholder fed at each step (or no train op)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            xs = v1.placeholder(tf.float32, [None, E], name="x")
            ys = v1.placeholder(tf.int32, [None], name="y")
            logits = tf.identity(v1.layers.dense(xs, C, name="proj"), name="logits")
            loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=ys, logits=logits))
            lr = v1.placeholder(tf.float32, [], name="lr")
            step = v1.train.get_or_create_global_step()
            train_op = v1.train.MomentumOptimizer(lr, 0.9).minimize(loss, global_step=step) if train else None
            with v1.Session(graph=g) as sess:
                sess.run(v1.global_variables_initializer())
                if train:
                    sess.run(train_op, {xs: np.ones((2, E), "float32"), ys: [1, 2], lr: 0.05})
                return v1.train.Saver().save(sess, os.path.join(path, "model.ckpt"))


def test_a_fed_learning_rate_needs_feed_and_step_overrides(tmp_path, capsys):
    from migrate.cli import main

    prefix = _dense_graph(str(tmp_path / "tf1"), train=True)
    out = str(tmp_path / "out")
    capsys.readouterr()
    assert main(["convert", prefix, "--from-graph", "--out", out, "--with-optimizer"]) == 2
    err = capsys.readouterr().err
    assert "lr of ApplyMomentum" in err and "reads the placeholder lr:0" in err and "--feed lr:0=VALUE" in err
    assert not os.path.exists(out)
    assert main(["convert", prefix, "--from-graph", "--out", out, "--with-optimizer", "--feed", "lr:0=0.05",
                 "--step", "40"]) == 0
    with open(os.path.join(out, "convert_report.json")) as f:
        opt = json.load(f)["optimizer"]
    assert opt["class"] == "keras.optimizers.SGD" and opt["config"]["momentum"] == pytest.approx(0.9)
    assert opt["tf1"]["hyperparameters"]["lr"] == {"value": pytest.approx(0.05), "tensor": "lr:0"}
    assert (opt["iterations"], opt["iterations_from"]) == (40, "--step")


def test_a_graph_without_a_train_op_is_refused(tmp_path, capsys):
    from migrate.cli import main

    prefix = _dense_graph(str(tmp_path / "tf1"), train=False)
    capsys.readouterr()
    assert main(["convert", prefix, "--from-graph", "--out", str(tmp_path / "out"), "--with-optimizer"]) == 2
    err = capsys.readouterr().err
    assert "no optimizer update op" in err and "Convert without --with-optimizer" in err
    assert main(["convert", prefix, "--from-graph", "--out", str(tmp_path / "out"), "--step", "3"]) == 2
    assert "--step 3: the optimizer's step count, an option of --with-optimizer" in capsys.readouterr().err


TFLEARN = "tflearn_legacy_attention_seq2seq_v1"


@pytest.mark.slow
def test_a_real_tf1_training_continues_in_keras(tmp_path):
    """TFLearn's legacy attention seq2seq (TF 0.x graph, tests/fixtures/real_tf1): Adam after 14,080 updates
    (beta1_power underflowed; the step from beta2_power), tf.clip_by_global_norm(5), two embeddings whose repeated
    ids TF 0.x did not sum. Its own train op, 3 steps in TF1, and 3 Keras steps from the converted state give the
    same logits (measured 2.6e-5, as close as before training: 1.7e-5); a fresh Adam is off by ~5."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    import tf_migrate_runtime.optimizers  # noqa: F401
    from migrate.graph import convert_graph
    from migrate.parity.tf1_graph import TF1Graph

    prefix, _ = corpus_entry(TFLEARN)
    rng = np.random.RandomState(0)
    x = rng.randint(0, 10, (4, 40)).astype("int32")
    np.savez(tmp_path / "x.npz", **{"XY/X:0": x})
    out = str(tmp_path / "out")
    report = convert_graph(prefix, out, inputs_npz=str(tmp_path / "x.npz"), with_optimizer=True, log=lambda m: None)
    opt, loss = report["optimizer"], report["training_loss"]
    assert opt["class"] == "tf_migrate_runtime.optimizers.TF1Adam" and opt["iterations"] == 14080
    assert opt["iterations_from"].startswith("Adam/beta2_power = 7.61586e-07")
    assert opt["config"]["sum_repeated_rows"] is False and opt["config"]["clip_norm"] == 5.0

    tf1 = TF1Graph(prefix)
    try:
        g = tf1.graph
        logits = g.get_tensor_by_name(loss["output"])
        steps = g.get_tensor_by_name(loss["y"]).shape.as_list()[1]      # [batch, 20]: the target digits
        y = rng.randint(0, logits.shape.as_list()[-1], (x.shape[0], steps)).astype("int32")
        feed = {"XY/X:0": x, loss["y"]: y}
        train_op = g.get_operation_by_name("Adam/apply_grad_op_0/update")   # TFLearn's TrainOp
        for _ in range(K):
            tf1.session.run(train_op, feed)
        want = tf1.session.run(logits, feed)
    finally:
        tf1.close()

    src = open(os.path.join(out, "model.py")).read()
    ns: dict = {"__name__": "generated"}
    exec(compile(src, "model.py", "exec"), ns)  # noqa: S102 - the generated file

    def keras_logits(carried: bool):
        m = keras.saving.load_model(os.path.join(out, "model.keras"))
        o = m.optimizer if carried else keras.optimizers.deserialize(keras.optimizers.serialize(m.optimizer))
        train = ns["compile_for_training"](m, optimizer=o)
        train.run_eagerly = True
        for _ in range(K):
            train.train_on_batch({"XY__X": x}, y)
        return np.asarray(train({"XY__X": x})).reshape(want.shape)

    assert np.abs(keras_logits(True) - want).max() < 1e-3
    assert np.abs(keras_logits(False) - want).max() > 1.0
