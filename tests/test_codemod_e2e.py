"""End to end: the TF 1.x sample model, codemodded, builds and trains under TF 2.21 with TF 1's names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrate import codemod

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt"

# The variable names TF 1.x gives this graph (TF1_FACTS.md: `rnn/<cell>/kernel|bias` under the enclosing
# variable scope, `<layer name>/kernel|bias` for tf.layers.dense, Adam slots `<var>/Adam`, `<var>/Adam_1`).
TF1_NAMES = [
    "embedding:0",
    "encoder/rnn/lstm_cell/kernel:0", "encoder/rnn/lstm_cell/bias:0",
    "decoder/rnn/lstm_cell/kernel:0", "decoder/rnn/lstm_cell/bias:0",
    "decoder/output_projection/kernel:0", "decoder/output_projection/bias:0",
    "global_step:0", "beta1_power:0", "beta2_power:0",
]

# Runs in a subprocess (TF_USE_LEGACY_KERAS=1, as the codemod's TFM005 finding asks). A TF 1-style
# reference graph is written here by hand on tf.compat.v1 (what a careful manual port looks like);
# weights are copied by name from it into the migrated graph and the losses must agree.
SCRIPT = r'''
import importlib.util, json, sys
import numpy as np
import tensorflow as tf
v1 = tf.compat.v1

spec = importlib.util.spec_from_file_location("migrated", sys.argv[1])
migrated = importlib.util.module_from_spec(spec)
spec.loader.exec_module(migrated)
names, losses = migrated.train(steps=3)

def reference(vocab=16, dim=8, units=16):
    p = {k: v1.placeholder(dt, shape, name=k) for k, dt, shape in [
        ("source", tf.int32, [None, None]), ("source_length", tf.int32, [None]),
        ("target_in", tf.int32, [None, None]), ("target_out", tf.int32, [None, None]),
        ("target_length", tf.int32, [None])]}
    emb = v1.get_variable("embedding", [vocab, dim])
    with v1.variable_scope("encoder"):
        _, state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(units, forget_bias=0.8),
                                     tf.nn.embedding_lookup(emb, p["source"]),
                                     sequence_length=p["source_length"], dtype=tf.float32)
    with v1.variable_scope("decoder"):
        out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(units, forget_bias=0.8),
                                   tf.nn.embedding_lookup(emb, p["target_in"]),
                                   sequence_length=p["target_length"], initial_state=state)
        logits = v1.layers.dense(out, vocab, name="output_projection")
    w = tf.cast(tf.sequence_mask(p["target_length"], tf.shape(p["target_out"])[1]), tf.float32)
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=p["target_out"], logits=logits)
    p["loss"] = tf.reduce_sum(xent * w) / tf.reduce_sum(w)  # contrib's sequence_loss defaults
    v1.train.AdamOptimizer(0.01).minimize(p["loss"], global_step=v1.train.get_or_create_global_step())
    return p

batch = migrated.toy_batch()
values, ref_names, ref_loss = {}, None, None
g = tf.Graph()
with g.as_default():
    v1.set_random_seed(1)
    ref = reference()
    rng = np.random.RandomState(0)
    with v1.Session(graph=g) as sess:
        sess.run(v1.global_variables_initializer())
        for var in v1.global_variables():  # random non-zero weights and biases everywhere
            if var.dtype.base_dtype == tf.float32 and var.shape.rank:
                var.load(rng.uniform(-0.3, 0.3, var.shape.as_list()).astype(np.float32), sess)
        values = {v.name: sess.run(v) for v in v1.global_variables()}
        ref_loss = float(sess.run(ref["loss"], {ref[k]: v for k, v in batch.items()}))
        ref_names = [v.name for v in v1.global_variables()]

g2 = tf.Graph()
with g2.as_default():
    model = migrated.build_model()
    with v1.Session(graph=g2) as sess:
        sess.run(v1.global_variables_initializer())
        for var in v1.global_variables():
            var.load(values[var.name], sess)
        feed = {model[k]: v for k, v in batch.items()}
        feed[model["keep_prob"]] = 1.0
        mig_loss = float(sess.run(model["loss"], feed))
print("RESULT " + json.dumps({"names": names, "losses": losses, "ref_names": ref_names,
                              "ref_loss": ref_loss, "mig_loss": mig_loss}))
'''


@pytest.mark.slow
def test_codemodded_sample_builds_and_runs_under_tf_2_21(tmp_path):
    target = tmp_path / "legacy_seq2seq.py"
    shutil.copy(SAMPLE, target)
    report = codemod.run([target], mode="write", jobs=1)
    assert report.changed == [str(target)] and report.skipped == []
    text = target.read_text().split('"""', 2)[2]  # the code, after the module docstring
    for old in ("tf.placeholder(", "tf.Session(", "tf.contrib", "tf.layers.dense", "tf.log(", ", keep_prob)"):
        assert old not in text, old
    assert "from tf_migrate_runtime.contrib import seq2seq" in text and "rate=1 - keep_prob" in text
    notices = [f.message for _, f in report.findings if f.rule == "TFM005"]
    assert len(notices) == 1 and "TF_USE_LEGACY_KERAS=1" in notices[0]
    assert codemod.run([target], mode="check", jobs=1).exit_code() == 0  # idempotent

    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(target)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    trainable_and_step = [n for n in result["names"] if "/Adam" not in n]
    assert trainable_and_step == TF1_NAMES
    assert result["names"] == result["ref_names"]
    assert len(result["losses"]) == 3 and result["losses"][2] < result["losses"][0]
    assert abs(result["mig_loss"] - result["ref_loss"]) < 1e-5, (result["mig_loss"], result["ref_loss"])
