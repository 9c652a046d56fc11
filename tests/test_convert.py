"""`tf-migrate convert`: legacy TF1 checkpoints -> tf2.Seq2Seq with identical logits, back to TF1 unchanged,
and every bad input refused with one message and nothing written."""

import json
import os
import shutil
import warnings

import numpy as np
import pytest

from migrate.cli import main
from seq2seq_task import HParams, load_task, make_batch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
FIXTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures",
                                        "real_tf1_checkpoints"))

# A covering subset of the legacy matrix: every cell type, 1 and 2 layers, uni and bi, every attention
# mechanism, forget bias 1.0 and 0.8, slim projection, shared embeddings, output_attention False.
VARIANTS = {
    "lstm-1-uni-none-fb1.0": dict(cell_type="lstm", forget_bias=1.0),
    "basic_lstm-2-bi-luong-fb0.8": dict(cell_type="basic_lstm", num_layers=2, encoder_type="bi", attention="luong"),
    "gru-2-uni-bahdanau-layer8": dict(cell_type="gru", num_layers=2, attention="bahdanau", attention_layer_size=8),
    "lstm-2-bi-scaled_luong-noattnout-fb0.8": dict(cell_type="lstm", num_layers=2, encoder_type="bi",
                                                   attention="scaled_luong", attention_layer_size=8,
                                                   output_attention=False),
    "basic_lstm-1-uni-normalized_bahdanau-slim-shared-fb0.8": dict(
        cell_type="basic_lstm", attention="normalized_bahdanau", attention_layer_size=6, projection="slim",
        share_embeddings=True),
    "gru-1-bi-none-slim": dict(cell_type="gru", encoder_type="bi", projection="slim"),
}


@pytest.fixture(scope="module")
def task():
    return load_task(seed=3, train_size=64, valid_size=8, test_size=8)


def _hparams(task, **kw):
    kw.setdefault("forget_bias", 0.8)
    if kw.get("share_embeddings"):
        size = max(task.src_vocab.size, task.tgt_vocab.size)
        kw.update(src_vocab_size=size, tgt_vocab_size=size)
    else:
        kw.update(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size)
    return HParams(embedding_size=6, num_units=8, **kw)


def write_legacy(out_dir, hp, batch, seed=0, mode="train"):
    """A legacy checkpoint with random NON-ZERO weights and biases; returns its logits on `batch`.

    "train" mode saves Adam's slots too; "eval" builds faster and saves the model variables and global_step.
    """
    import tensorflow as tf

    import legacy_tf1.model as legacy

    os.makedirs(out_dir, exist_ok=True)
    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = legacy.Seq2SeqModel(hp, mode)
        init = tf.compat.v1.global_variables_initializer()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(init)
            rng = np.random.RandomState(seed)
            for v in tf.compat.v1.trainable_variables():
                v.load(rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32), sess)
            logits = sess.run(model.logits, model.feed_dict(batch))
            model.saver.save(sess, os.path.join(out_dir, "model.ckpt"), global_step=model.global_step)
    hp.save(os.path.join(out_dir, "hparams.json"))
    return logits


def port_logits(model, batch):
    return np.asarray(model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}))


@pytest.fixture(scope="module")
def batch(task):
    b = make_batch(task.train[:6], task.src_vocab, task.tgt_vocab)
    assert (b.encoder_lengths != b.encoder_lengths.max()).any()   # real padding in the batch
    return b


@pytest.fixture(scope="module")
def legacy_ckpts(tmp_path_factory, task, batch):
    root = tmp_path_factory.mktemp("legacy")
    return {name: (str(root / name), write_legacy(str(root / name), _hparams(task, **kw), batch,
                                                  mode="train" if i == 0 else "eval"))
            for i, (name, kw) in enumerate(VARIANTS.items())}


def _load_all(prefix):
    import tensorflow as tf

    r = tf.train.load_checkpoint(prefix)
    return {n: r.get_tensor(n) for n in r.get_variable_to_shape_map()}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_converted_port_gives_legacy_logits_and_converts_back_unchanged(variant, legacy_ckpts, batch, tmp_path,
                                                                        capsys):
    import keras

    import tf2.seq2seq  # noqa: F401

    ckpt_dir, want = legacy_ckpts[variant]
    out = str(tmp_path / "model.keras")
    assert main(["convert", ckpt_dir, "--out", out, "--report", str(tmp_path / "r.json"), "--strict"]) == 0
    assert "forget bias" in capsys.readouterr().out
    report = json.loads((tmp_path / "r.json").read_text())
    model = keras.saving.load_model(out)
    got = port_logits(model, batch)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5, f"{variant}: max |port - legacy| = {np.abs(got - want).max():.3g}"
    # Every Keras weight exactly once; every checkpoint variable used or ignored with a reason.
    assert report["counts"]["keras_weights_assigned"] == report["counts"]["keras_weights"] == len(model.weights)
    assert report["counts"]["used"] + report["counts"]["ignored"] == report["counts"]["checkpoint_variables"]
    if VARIANTS[variant]["cell_type"] != "gru":
        assert report["forget_bias"]["value"] == VARIANTS[variant].get("forget_bias", 0.8)
        assert report["forget_bias"]["source"].startswith("hparams")

    (tmp_path / "rollback").mkdir()
    back = str(tmp_path / "rollback" / "model.ckpt-0")
    assert main(["convert", "--to", "tf1", out, "--out", back]) == 0
    original, again = _load_all(os.path.join(ckpt_dir, "model.ckpt-0")), _load_all(back)
    model_vars = {n for n in original if "Adam" not in n and "power" not in n}
    assert set(again) == model_vars
    for n in model_vars:
        if n.endswith("cell/bias"):   # LSTM bias: + F then - F in float32
            np.testing.assert_allclose(again[n], original[n], rtol=0, atol=2.4e-7, err_msg=n)
        else:
            np.testing.assert_array_equal(again[n], original[n], err_msg=n)


@pytest.fixture(scope="module")
def lstm_ckpt(legacy_ckpts):
    return legacy_ckpts["lstm-1-uni-none-fb1.0"]


def test_legacy_graph_restores_the_rollback_checkpoint(lstm_ckpt, batch, tmp_path):
    import tensorflow as tf

    import legacy_tf1.model as legacy

    ckpt_dir, want = lstm_ckpt
    out = str(tmp_path / "m.keras")
    assert main(["convert", ckpt_dir, "--out", out]) == 0
    (tmp_path / "tf1").mkdir()
    assert main(["convert", "--to", "tf1", out, "--out", str(tmp_path / "tf1" / "model.ckpt-7")]) == 0
    hp = HParams.load(str(tmp_path / "tf1" / "hparams.json"))
    g = tf.Graph()
    with g.as_default(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = legacy.Seq2SeqModel(hp, "infer")
        with tf.compat.v1.Session(graph=g) as sess:
            model.saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path / "tf1")))
            got = sess.run(model.logits, model.feed_dict(batch))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_rollback_state_file_holds_a_hostile_name_as_one_string(lstm_ckpt, tmp_path):
    """The `checkpoint` state file names the rollback prefix as a text-proto string: a quote or a newline in the
    name cannot end the string or add a line (another `all_model_checkpoint_paths` TF would follow)."""
    import tensorflow as tf

    ckpt_dir, _ = lstm_ckpt
    out = str(tmp_path / "m.keras")
    assert main(["convert", ckpt_dir, "--out", out]) == 0
    (tmp_path / "tf1").mkdir()
    name = 'model"\nall_model_checkpoint_paths: "evil.ckpt-7'
    assert main(["convert", "--to", "tf1", out, "--out", str(tmp_path / "tf1" / name)]) == 0
    state = tf.train.get_checkpoint_state(str(tmp_path / "tf1"))
    assert os.path.basename(state.model_checkpoint_path) == name
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == [name]
    from migrate.files import resolve_checkpoint  # our resolver reads the same name back from the folder
    assert resolve_checkpoint(str(tmp_path / "tf1")) == str(tmp_path / "tf1" / name)


@pytest.mark.parametrize("fmt", ["weights.h5", "tf-checkpoint"])
def test_other_output_formats_hold_the_same_weights(fmt, lstm_ckpt, batch, tmp_path):
    import tensorflow as tf

    from tf2.seq2seq import Seq2Seq

    ckpt_dir, want = lstm_ckpt
    out = str(tmp_path / ("model.weights.h5" if fmt == "weights.h5" else "model"))
    assert main(["convert", ckpt_dir, "--out", out, "--report", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["output"]["format"] == fmt
    model = Seq2Seq(HParams.load(os.path.join(ckpt_dir, "hparams.json")))
    if fmt == "weights.h5":
        model.load_weights(out)
    else:
        tf.train.Checkpoint(model=model).read(out).assert_existing_objects_matched()
    assert np.abs(port_logits(model, batch) - want).max() < 1e-5


# -- bad input: one message, a documented exit code, nothing written ----------------------------------
def _assert_nothing_written(tmp_path, keep=()):
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in keep) == []


def test_transformer_checkpoint_is_refused_naming_what_was_found(tmp_path, capsys):
    out = tmp_path / "model.keras"
    assert main(["convert", os.path.join(FIXTURES, "t2t_transformer_test"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not a TF1 Seq2Seq RNN checkpoint" in err
    assert "250 variables" in err and "multihead_attention x24" in err and "no LSTMCell / BasicLSTMCell" in err
    _assert_nothing_written(tmp_path)


def test_a_lone_cell_is_refused_with_the_api_to_use(tmp_path, capsys):
    assert main(["convert", os.path.join(FIXTURES, "aplain_basiclstm_2017"), "--out",
                 str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err
    assert "1 cell(s): BasicLSTMCell rnn/basic_lstm_cell" in err and "no cell is a decoder" in err
    assert "migrate.checkpoint.cell_weights" in err
    # it has a .meta: graph conversion is the first way out named, before the Python API
    assert err.index("--out DIR (a folder") < err.index("migrate.checkpoint.cell_weights")
    _assert_nothing_written(tmp_path)


def test_wrong_hparams_list_every_problem_at_once(lstm_ckpt, tmp_path, capsys):
    ckpt_dir, _ = lstm_ckpt
    hp = HParams.load(os.path.join(ckpt_dir, "hparams.json")).replace(num_units=16)
    hp.save(str(tmp_path / "hparams.json"))
    out = tmp_path / "out" / "m.keras"
    out.parent.mkdir()
    assert main(["convert", ckpt_dir, "--out", str(out), "--hparams", str(tmp_path / "hparams.json")]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err and "What to do: pass --hparams" in err
    assert "encoder/rnn/lstm_cell/kernel: checkpoint shape [14, 32], the Keras model (encoder layer 0) " \
           "needs [22, 64]" in err
    assert "decoder/rnn/lstm_cell/kernel: checkpoint shape [14, 32]" in err
    assert "output_projection/kernel: checkpoint shape [8, " in err
    assert os.listdir(out.parent) == []


def test_unused_trained_weights_are_refused_unless_allow_unused(lstm_ckpt, tmp_path, capsys):
    import tensorflow as tf

    ckpt_dir, _ = lstm_ckpt
    arrays = _load_all(os.path.join(ckpt_dir, "model.ckpt-0"))
    arrays["dynamic_seq2seq/decoder/extra_dense/kernel"] = np.ones((3, 4), np.float32)
    d = tmp_path / "ckpt"
    d.mkdir()
    names = sorted(arrays)
    tf.raw_ops.SaveV2(prefix=str(d / "model.ckpt-0"), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(arrays[n]) for n in names])
    shutil.copy(os.path.join(ckpt_dir, "hparams.json"), d / "hparams.json")
    out = tmp_path / "m.keras"
    assert main(["convert", str(d), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "1 trained checkpoint weight(s) would be dropped" in err and "--allow-unused" in err
    assert "dynamic_seq2seq/decoder/extra_dense/kernel [3, 4]" in err
    assert not out.exists()
    assert main(["convert", str(d), "--out", str(out), "--report", str(tmp_path / "r.json"), "--allow-unused"]) == 0
    captured = capsys.readouterr()
    assert "1 unexpected checkpoint weight(s)" in captured.err      # a warning: stderr, never stdout
    assert "warning" not in captured.out and captured.out.startswith("wrote ")
    ignored = json.loads((tmp_path / "r.json").read_text())["ignored"]
    assert ignored["dynamic_seq2seq/decoder/extra_dense/kernel"].startswith("unexpected")
    assert ignored["global_step"].startswith("training step counter")


def test_forget_bias_is_never_assumed(lstm_ckpt, batch, tmp_path, capsys):
    import keras

    ckpt_dir, want = lstm_ckpt
    d = tmp_path / "bare"
    d.mkdir()
    for f in os.listdir(ckpt_dir):
        if ".data-" in f or f.endswith(".index"):
            shutil.copy(os.path.join(ckpt_dir, f), d / f)   # no hparams.json, no .meta
    assert main(["convert", str(d), "--out", str(tmp_path / "m.keras")]) == 2
    assert "Pass --forget-bias F" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()
    assert main(["convert", str(d), "--out", str(tmp_path / "m.keras"), "--forget-bias", "1.0",
                 "--report", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["forget_bias"] == {"value": 1.0, "source": "--forget-bias"}
    assert report["hparams_sources"]["num_units"].endswith("bias shape")      # inferred from shapes
    got = port_logits(keras.saving.load_model(str(tmp_path / "m.keras")), batch)
    assert np.abs(got - want).max() < 1e-5


def test_meta_graph_gives_the_forget_bias_when_hparams_are_absent(legacy_ckpts, tmp_path):
    from migrate.checkpoint import convert_checkpoint

    ckpt_dir, _ = legacy_ckpts["basic_lstm-2-bi-luong-fb0.8"]
    d = tmp_path / "nohp"
    shutil.copytree(ckpt_dir, d)
    os.remove(d / "hparams.json")
    report = convert_checkpoint(str(d), str(tmp_path / "m.keras"))
    assert report["forget_bias"]["value"] == 0.8
    assert report["forget_bias"]["source"].startswith(f"meta graph ({d}/model.ckpt-0.meta")
    assert report["hparams"]["encoder_type"] == "bi" and report["hparams"]["num_layers"] == 2


def test_float16_weights_are_refused(lstm_ckpt, tmp_path, capsys):
    import tensorflow as tf

    ckpt_dir, _ = lstm_ckpt
    arrays = _load_all(os.path.join(ckpt_dir, "model.ckpt-0"))
    emb = "embeddings/encoder/embedding_encoder"
    arrays[emb] = arrays[emb].astype(np.float16)
    names = sorted(arrays)
    tf.raw_ops.SaveV2(prefix=str(tmp_path / "model.ckpt-0"), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(arrays[n]) for n in names])
    shutil.copy(os.path.join(ckpt_dir, "hparams.json"), tmp_path / "hparams.json")
    assert main(["convert", str(tmp_path / "model.ckpt-0"), "--out", str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err
    assert f"model.ckpt-0.index: 1 variable(s) are stored in reduced precision: {emb} (float16)" in err
    assert not (tmp_path / "m.keras").exists()


def test_a_v1_copy_of_the_checkpoint_converts_to_the_same_weights(lstm_ckpt, tmp_path, capsys):
    """The old single-file format (Saver(write_version=V1), no .index) goes through the same plan and writer."""
    import h5py
    import tensorflow as tf

    ckpt_dir, _ = lstm_ckpt
    arrays = _load_all(os.path.join(ckpt_dir, "model.ckpt-0"))
    d = tmp_path / "v1"
    d.mkdir()
    with tf.Graph().as_default():
        variables = {n: tf.compat.v1.Variable(v, name=n.replace("/", "_")) for n, v in arrays.items()}
        saver = tf.compat.v1.train.Saver(var_list=variables, write_version=tf.compat.v1.train.SaverDef.V1)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(d / "model.ckpt-0"), write_meta_graph=False)
    shutil.copy(os.path.join(ckpt_dir, "hparams.json"), d / "hparams.json")
    assert sorted(os.listdir(d)) == ["checkpoint", "hparams.json", "model.ckpt-0"]
    outs = {}
    for name, src in (("v2", ckpt_dir), ("v1", str(d))):
        outs[name] = str(tmp_path / f"{name}.weights.h5")
        assert main(["convert", src, "--out", outs[name], "--report", str(tmp_path / f"{name}.json")]) == 0
    capsys.readouterr()

    def datasets(path):
        out = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda k, v: out.__setitem__(k, v[()]) if isinstance(v, h5py.Dataset) else None)
        return out

    v1, v2 = datasets(outs["v1"]), datasets(outs["v2"])
    assert sorted(v1) == sorted(v2) and len(v1) >= 10
    for k in v2:
        np.testing.assert_array_equal(v1[k], v2[k], err_msg=k)
    r1 = json.load(open(tmp_path / "v1.json"))
    assert r1["checkpoint"] == str(d / "model.ckpt-0") and r1["counts"]["used"] == json.load(
        open(tmp_path / "v2.json"))["counts"]["used"]
