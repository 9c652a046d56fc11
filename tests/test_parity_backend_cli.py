"""`tf-migrate parity --backend jax|torch`: the Keras model runs on that Keras backend in a child process without
TensorFlow, the TF1 side in this process; same checks, report and exit codes, the backend named in the report.

Fixtures: the docs/parity.md worked example (a user's TF1 tagger, checkpoint + .meta, and its hand-written Keras
model, tests/test_parity_graph_user_model.py) for `--tf1`; a legacy checkpoint with random non-zero weights and
biases, forget bias 0.8, and its conversion to .keras for `--legacy`.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
from test_parity_graph_user_model import KERAS_MODULE, MAPPING, TAGS, build_tf1_model

from migrate.cli import main
from seq2seq_task import HParams

pytest.importorskip("jax")
pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import importlib.util

    import tensorflow as tf

    import legacy_tf1.model as legacy

    root = tmp_path_factory.mktemp("backend_cli")
    # --tf1: the worked example, and the same Keras model with TF1's default forget bias 1.0 folded into layer 1
    prefix = str(root / "tf1" / "model.ckpt")
    os.makedirs(os.path.dirname(prefix))
    build_tf1_model(prefix)
    (root / "my_tagger.py").write_text(KERAS_MODULE)
    spec = importlib.util.spec_from_file_location("my_tagger_backend_cli", root / "my_tagger.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_tf1_weights(module.build(), prefix)
    model.save(str(root / "tagger.keras"))
    layer = model.get_layer("encoder_1")
    k, r, b = layer.get_weights()
    units = r.shape[0]
    b[units:2 * units] += 1.0 - 0.3        # Keras gate order i, f, c, o; the TF1 cell's forget bias is 0.3
    layer.set_weights([k, r, b])
    model.save(str(root / "wrong_forget_bias.keras"))
    (root / "mapping.toml").write_text(MAPPING)
    # --legacy: a 2-layer bi-LSTM + Bahdanau legacy checkpoint with random weights, converted to .keras
    hp = HParams(src_vocab_size=20, tgt_vocab_size=18, embedding_size=5, num_units=6, cell_type="lstm",
                 num_layers=2, encoder_type="bi", attention="bahdanau", attention_layer_size=7, forget_bias=0.8,
                 max_src_len=9, max_tgt_len=7, batch_size=6, learning_rate=0.02, max_gradient_norm=1.0)
    ckpt = root / "legacy"
    os.makedirs(ckpt)
    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seq2seq = legacy.Seq2SeqModel(hp, "eval")
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            rng = np.random.RandomState(3)
            for v in tf.compat.v1.trainable_variables():
                v.load(rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32), sess)
            seq2seq.saver.save(sess, str(ckpt / "model.ckpt"), global_step=seq2seq.global_step)
    hp.save(str(ckpt / "hparams.json"))
    assert main(["convert", str(ckpt), "--out", str(root / "port.keras"), "--no-progress"]) == 0
    return root, prefix, str(ckpt)


def _parity(capsys, *args):
    code = main(["parity", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_tf1_graph_vs_keras_model_on_jax(files, capsys):
    root, prefix, _ = files
    rj = root / "jax.json"
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "tagger.keras"), "--mapping",
                             str(root / "mapping.toml"), "--backend", "jax", "--json", str(rj))
    assert code == 0, out + err
    assert "Keras model on KERAS_BACKEND=jax (child process, TensorFlow not imported: True)" in out
    assert "(Keras on jax)" in out
    report = json.loads(rj.read_text())
    assert report["ok"] is True and report["info"]["backend"] == "jax"
    assert report["info"]["keras_process"]["backend"] == "jax"
    assert report["info"]["keras_process"]["tensorflow_imported"] is False
    (r,) = report["results"]
    assert r["subject"] == "tag_logits <- logits:0" and r["shape"] == [8, 6, TAGS]
    assert r["max_abs"] <= r["atol"] and r["atol"] >= 1e-5


@pytest.mark.slow
def test_a_wrong_forget_bias_fails_on_torch_with_exit_1(files, capsys):
    root, prefix, _ = files
    code, out, err = _parity(capsys, "--tf1", prefix, "--keras", str(root / "wrong_forget_bias.keras"),
                             "--mapping", str(root / "mapping.toml"), "--backend", "torch")
    assert code == 1
    assert "FAIL" in out
    assert "Parity check 'output tag_logits <- logits:0' failed" in err and "(Keras on torch)" in err


@pytest.mark.slow
def test_legacy_checkpoint_vs_converted_keras_on_torch_every_check(files, capsys):
    root, _, ckpt = files
    rj = root / "legacy_torch.json"
    code, out, err = _parity(capsys, "--legacy", ckpt, "--keras", str(root / "port.keras"), "--backend", "torch",
                             "--batches", "2", "--adam-steps", "2", "--json", str(rj))
    assert code == 0, out + err
    for row in ("weights (port -> TF1 layout)", "logits at valid positions", "loss (sequence_loss)",
                "gradients, one step", "weights after K Adam steps", "greedy ids"):
        assert row in out
    report = json.loads(rj.read_text())
    assert report["ok"] is True and report["info"]["backend"] == "torch"
    assert report["info"]["keras_process"]["tensorflow_imported"] is False
    checks = {r["check"] for r in report["results"]}
    assert checks == {"weights", "logits", "loss", "gradients", "adam", "greedy"}
    grads = [r for r in report["results"] if r["check"] == "gradients"]
    assert len(grads) == len([r for r in report["results"] if r["check"] == "weights"]) >= 20  # every variable


@pytest.mark.slow
def test_unusable_keras_file_in_the_child_exits_2(files, capsys, tmp_path):
    root, _, ckpt = files
    bad = tmp_path / "not_a_model.keras"
    bad.write_text("not a zip")
    code, _, err = _parity(capsys, "--legacy", ckpt, "--keras", str(bad), "--backend", "torch",
                           "--checks", "logits")
    assert code == 2
    assert f"{bad}: cannot load as a Keras model" in err


def test_unknown_backend_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["parity", "--legacy", "x", "--backend", "cuda"])
    assert e.value.code == 2
    assert "--backend: expected one of tf, jax, torch, got 'cuda'" in capsys.readouterr().err


pytest_plugins = ["pytester"]


def test_parity_backend_option_runs_each_parity_test_once_per_backend(pytester: pytest.Pytester):
    """The plugin's option, in this process (three pytest runs in child processes cost ~8 s of CPU each: the plugin
    imports tf2, so Keras and TensorFlow). pytester removes the modules a run imported when it ends, and TensorFlow
    aborts the process when imported twice: the plugin's imports are made here first, so that every run keeps them."""
    import tf2.backend_runner  # noqa: F401

    pytester.makepyfile(test_user='''
        def test_port(parity, parity_backend):
            assert parity.backend == parity_backend
            print("BACKEND", parity.backend)
    ''')
    args = ("-p", "no:tf_migrate_parity", "-p", "migrate.parity.pytest_plugin", "-v", "-s")
    result = pytester.runpytest_inprocess(*args, "--parity-backend", "tf,jax,torch")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_port?backend-tf?*", "*test_port?backend-jax?*", "*test_port?backend-torch?*"])
    default = pytester.runpytest_inprocess(*args)   # without the option: once, on TensorFlow
    default.assert_outcomes(passed=1)
    default.stdout.fnmatch_lines(["*BACKEND tf*"])
    bad = pytester.runpytest_inprocess(*args, "--parity-backend", "cuda")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--parity-backend 'cuda': expected a comma-separated list of tf, jax, torch*"])
