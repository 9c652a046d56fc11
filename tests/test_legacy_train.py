"""Training, checkpoints, greedy decoding and the `tf-migrate legacy` command, on tiny models."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import legacy_tf1  # noqa: F401
from legacy_tf1 import model_helper
from legacy_tf1.inference import evaluate
from legacy_tf1.train import BatchSchedule, train
from migrate.cli import main as cli_main
from seq2seq_task import EOS_ID, HParams, HParamsError, load_task, make_batch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STEPS = 150


@pytest.fixture(scope="module")
def task():
    return load_task(seed=5, train_size=3000, valid_size=64, test_size=16)


@pytest.fixture(scope="module")
def tiny():
    return HParams(embedding_size=12, num_units=16, attention="luong", forget_bias=0.8, batch_size=32,
                   learning_rate=0.02, max_tgt_len=10)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, task, tiny):
    out = str(tmp_path_factory.mktemp("legacy"))
    return out, train(tiny, out, STEPS, data=task)


@pytest.mark.slow
def test_training_writes_checkpoint_hparams_and_vocabs(trained, task):
    out, metrics = trained
    assert metrics["global_step"] == STEPS and metrics["resumed_from"] is None
    assert metrics["checkpoint"] == os.path.join(out, f"model.ckpt-{STEPS}")
    for name in ("checkpoint", "hparams.json", "vocab.src.json", "vocab.tgt.json", f"model.ckpt-{STEPS}.index"):
        assert os.path.exists(os.path.join(out, name)), name
    with open(os.path.join(out, "hparams.json")) as f:
        saved = json.load(f)
    assert saved["src_vocab_size"] == task.src_vocab.size and saved["tgt_vocab_size"] == task.tgt_vocab.size
    assert model_helper.latest_checkpoint(out) == metrics["checkpoint"]


@pytest.mark.slow
def test_loss_falls_on_the_embedded_task(trained, task):
    """ln(15) = 2.708 at the start; 150 steps of a 16-unit model bring it under 1.6 (measured ~1.2)."""
    out, metrics = trained
    assert metrics["first_loss"] == pytest.approx(np.log(task.tgt_vocab.size), abs=0.01)
    assert metrics["last_loss"] < 1.6
    e = evaluate(out, task.valid)
    assert e["loss"] < 1.6 and e["token_accuracy"] > 0.45
    assert e["examples"] == len(task.valid)


@pytest.mark.slow
def test_restored_graphs_give_identical_logits_and_deterministic_greedy_ids(trained, task):
    out, _ = trained
    batch = make_batch(task.valid[:16], task.src_vocab, task.tgt_vocab)
    results = []
    for mode in ("eval", "infer"):
        with model_helper.load_model(out, mode) as loaded:
            m = loaded.model
            results.append(loaded.run([m.logits, m.greedy_ids, m.alignments, m.greedy_lengths], m.feed_dict(batch)))
            again = loaded.run(m.greedy_ids, m.feed_dict(batch, decoder=False))
            np.testing.assert_array_equal(again, results[-1][1])
    (logits_a, ids_a, _, _), (logits_b, ids_b, align, lengths) = results
    np.testing.assert_array_equal(logits_a, logits_b)
    np.testing.assert_array_equal(ids_a, ids_b)
    steps = loaded.hparams.decode_max_steps
    assert ids_b.shape == (16, steps) and ids_b.dtype == np.int32
    for row, n in zip(ids_b, lengths):  # ids up to and including the first </s>, then 0
        eos = np.flatnonzero(row == EOS_ID)
        if eos.size:
            assert n == eos[0] + 1 and np.all(row[n:] == 0)
        else:
            assert n == steps
        assert np.all(row[:n] != 0)
    # (rows that stop at different steps are checked against NumPy in test_legacy_numerics)
    # alignments [B, steps, S]: a distribution over the valid source positions while decoding, 0 after
    assert align.shape == (16, steps, batch.encoder_ids.shape[1])
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(align[b, :n].sum(-1), 1.0, rtol=1e-5)
        assert np.all(align[b, :, batch.encoder_lengths[b]:] == 0) and np.all(align[b, n:] == 0)


@pytest.mark.slow
def test_save_then_restore_reproduces_the_train_graph_logits(tmp_path, task, tiny):
    hp = tiny.replace(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size, attention="bahdanau")
    batch = make_batch(task.train[:8], task.src_vocab, task.tgt_vocab)
    with model_helper.create_model(hp, "train") as loaded:
        m = loaded.model
        for _ in range(3):
            loaded.run(m.train_op, m.feed_dict(batch))
        before = loaded.run(m.logits, m.feed_dict(batch))
        prefix = loaded.save(str(tmp_path / "model.ckpt"), global_step=3)
    with model_helper.create_model(hp, "eval", checkpoint=prefix) as r:
        after = r.run(r.model.logits, r.model.feed_dict(batch))
        assert r.run(r.model.global_step) == 3
    np.testing.assert_array_equal(before, after)


@pytest.mark.slow
def test_resume_continues_the_global_step_and_the_batch_schedule(trained, task, tiny, tmp_path):
    out, metrics = trained
    again = train(tiny, out, 2, data=task)
    assert again["resumed_from"] == metrics["checkpoint"] and again["global_step"] == STEPS + 2
    schedule = BatchSchedule(task, again["hparams"])
    a, b = schedule.batch(STEPS), BatchSchedule(task, again["hparams"]).batch(STEPS)
    np.testing.assert_array_equal(a.encoder_ids, b.encoder_ids)
    with pytest.raises(HParamsError, match="num_units: saved 16, given 8"):
        train(tiny.replace(num_units=8), out, 1, data=task)


REPRESENTATIVE = {
    "gru-L2-bi-normalized_bahdanau-slim-dropout": dict(cell_type="gru", num_layers=2, encoder_type="bi",
                                                        attention="normalized_bahdanau", projection="slim",
                                                        dropout=0.2, attention_layer_size=6),
    "basic_lstm-L1-uni-scaled_luong-cell_output": dict(cell_type="basic_lstm", attention="scaled_luong",
                                                        output_attention=False),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(REPRESENTATIVE), ids=list(REPRESENTATIVE))
def test_representative_variants_train_and_save(variant, tmp_path, task):
    hp = HParams(embedding_size=6, num_units=8, batch_size=16, **REPRESENTATIVE[variant])
    metrics = train(hp, str(tmp_path), 3, data=task)
    assert metrics["global_step"] == 3 and os.path.exists(metrics["checkpoint"] + ".index")
    reader = tf.train.load_checkpoint(metrics["checkpoint"])
    names = set(reader.get_variable_to_shape_map())
    assert {"global_step", "beta1_power", "beta2_power"} <= names
    assert any(n.endswith("/Adam_1") for n in names)


# -- the command line ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_train_prints_one_summary_line_and_decode_prints_one_line_per_input(tmp_path, capsys, trained):
    out = str(tmp_path / "cli")
    rc = cli_main(["legacy", "train", "--out", out, "--steps", "2", "--set", "num_units=8",
                   "--set", "embedding_size=4", "--set", "batch_size=8"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 1
    assert lines[0].startswith("legacy train: 2 steps in ") and lines[0].endswith(f"checkpoint {out}/model.ckpt-2")
    rc = cli_main(["legacy", "decode", trained[0], "--input", "21/11/26", "--input", "may 1999"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0 and len(lines) == 2
    assert all(set(line) <= set("-0123456789") for line in lines)


@pytest.mark.parametrize("argv, message", [
    (["legacy", "decode", "{tmp}/missing", "--input", "21/11/26"], "not a checkpoint directory nor a checkpoint prefix"),
    (["legacy", "train", "--out", "{tmp}/x", "--steps", "1", "--set", "cell_type=lstmm"], "cell_type='lstmm'"),
    (["legacy", "train", "--out", "{tmp}/x", "--steps", "1", "--data", "{tmp}/none.tsv"], "none.tsv: no such file"),
], ids=["missing-checkpoint", "bad-set", "missing-tsv"])
def test_cli_bad_input_is_one_message_and_exit_code_2(argv, message, tmp_path, capsys):
    rc = cli_main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err
