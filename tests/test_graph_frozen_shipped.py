"""Frozen graphs as real projects ship them (benchmarks/corpus.py FORMS: ARM's ML-KWS-for-MCU keyword spotters,
Packt's stock-price models), built TF1-style and frozen with `convert_variables_to_constants`:

- an audio front-end (`DecodeWav` -> `AudioSpectrogram` -> `Mfcc`) before the recurrent model: ops a Keras model
  need not hold. The refusal names the way out, and a `--inputs` key naming `Mfcc:0` (not a placeholder) starts
  the model there (`TF1Graph.start_at`), the TF1 side fed that tensor;
- standalone Keras 2's LSTM, which slices its kernel into the gates' columns before the loop
  (`kernel/read -> strided_slice -> while/MatMul/Enter -> MatMul`): the sliced constants were variables and become
  trainable weights (`forms.PART_OF`), and so does a `tf.split` of a kernel;
- results named nothing like an output (`preds`, `activation_1/Identity`): a frozen graph keeps only what its
  outputs need, so its unconsumed tensors computed from the inputs are chosen (`select._result_ends`);
- a graph that fixes its batch at 1 (`tf.reshape(..., [1, 20])`): `--export-saved-model`'s serving check runs on
  the `--inputs` batch, not a generated batch of 2; without `--inputs`, `convert` and `parity --tf1` find that
  the graph refuses a generated batch of several rows, and compare on a batch of 1.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from tf1_models import random_session, tf1_style

from migrate.cli import main

pytestmark = pytest.mark.slow


def _freeze(path: str, builder, outputs: list[str], seed: int = 0) -> str:
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default() as g:
        builder(tf, v1)
        with random_session(seed) as s:
            frozen = v1.graph_util.convert_variables_to_constants(s, g.as_graph_def(), outputs)
    tf.io.write_graph(frozen, os.path.dirname(path), os.path.basename(path), as_text=False)
    return path


def _keyword_spotter(tf, v1):
    """ML-KWS-for-MCU's shape: a WAV string -> 10 MFCCs per frame -> GRUCell(8) -> softmax over 4 labels."""
    wav = v1.placeholder(tf.string, [], name="wav_data")
    audio, rate = tf.audio.decode_wav(wav, desired_channels=1, desired_samples=8000)
    spectrogram = tf.raw_ops.AudioSpectrogram(input=audio, window_size=480, stride=320, magnitude_squared=True)
    mfcc = tf.raw_ops.Mfcc(spectrogram=spectrogram, sample_rate=rate, dct_coefficient_count=10, name="Mfcc")
    frames = tf.reshape(mfcc, [-1, 24, 10])
    cell = v1.nn.rnn_cell.GRUCell(8)
    out, _ = v1.nn.dynamic_rnn(cell, frames, dtype=tf.float32)
    w = v1.get_variable("W_o", [8, 4])
    b = v1.get_variable("b_o", [4])
    tf.nn.softmax(tf.matmul(out[:, -1], w) + b, name="labels_softmax")


def _keras2_lstm(tf, v1, split: bool = False):
    """Standalone Keras 2 on TF 1 (its `LSTM` layer's step written out): the kernel sliced per gate before the
    loop (or `tf.split`), a hand `tf.while_loop`, its result named `preds` through an Identity, batch fixed at 1."""
    x = v1.placeholder(tf.float32, [None, 20, 1], name="Placeholder")
    kernel = v1.get_variable("lstm_1/kernel", [1, 16])
    recurrent = v1.get_variable("lstm_1/recurrent_kernel", [4, 16])
    bias = v1.get_variable("lstm_1/bias", [16])
    if split:
        ks, rs = tf.split(kernel, 4, axis=1), tf.split(recurrent, 4, axis=1)
    else:
        ks = [kernel[:, 4 * k:4 * k + 4] for k in range(4)]
        rs = [recurrent[:, 4 * k:4 * k + 4] for k in range(4)]
    bs = [bias[4 * k:4 * k + 4] for k in range(4)]
    steps = tf.TensorArray(tf.float32, size=20).unstack(tf.transpose(x, [1, 0, 2]))   # as Keras 2's rnn() reads

    def body(t, h, c):
        xt = steps.read(t)
        i, f, g, o = (tf.nn.bias_add(tf.matmul(xt, ks[k]), bs[k]) + tf.matmul(h, rs[k]) for k in range(4))
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return t + 1, tf.sigmoid(o) * tf.tanh(c), c

    zeros = tf.zeros([tf.shape(x)[0], 4])
    _, h, _ = tf.while_loop(lambda t, h, c: t < 20, body, [tf.constant(0), zeros, zeros])
    w = v1.get_variable("dense_1/kernel", [4, 20])
    tf.identity(tf.reshape(tf.matmul(h, w), [1, 20]), name="preds")


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    root = tmp_path_factory.mktemp("shipped")
    return {"kws": _freeze(str(root / "kws.pb"), _keyword_spotter, ["labels_softmax"]),
            "stock": _freeze(str(root / "stock.pb"), _keras2_lstm, ["preds"], seed=1),
            "stock_split": _freeze(str(root / "split.pb"), lambda tf, v1: _keras2_lstm(tf, v1, split=True), ["preds"],
                                   seed=2),
            "root": root}


def test_a_front_end_outside_the_op_table_is_refused_with_the_way_out(frozen, tmp_path, capsys):
    code = main(["convert", frozen["kws"], "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "DecodeWav" in err and "AudioSpectrogram" in err and "Mfcc" in err
    assert "start the model after it: give the tensor it produces in --inputs FEED.npz, keyed by its name" in err
    assert not (tmp_path / "out").exists()


def test_the_model_starts_at_the_tensor_the_inputs_feed(frozen, tmp_path, capsys):
    import json

    np.savez(tmp_path / "mfcc.npz", **{"Mfcc:0": np.random.RandomState(0).normal(0, 1, (1, 24, 10)).astype("f4")})
    code = main(["convert", frozen["kws"], "--inputs", str(tmp_path / "mfcc.npz"), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "inputs: the model starts at Mfcc:0 (given in --inputs, not placeholders)" in out
    report = json.loads((tmp_path / "out" / "convert_report.json").read_text())
    assert report["parity"]["ok"] and all(o["max_abs"] <= 1e-5 for o in report["parity"]["outputs"])
    assert [i["graph"] for i in report["graph"]["inputs"]] == ["Mfcc:0"]
    source = (tmp_path / "out" / "model.py").read_text()
    assert "DecodeWav" not in source and "tfm.GRU" in source


@pytest.mark.parametrize(("key", "said"), [
    ("nothing_here:0", "the graph has no tensor nothing_here:0"),
    ("DecodeWav:2", "DecodeWav:2 names output 2 of DecodeWav DecodeWav, which has 2 output(s) (DecodeWav:0, "
                    "DecodeWav:1)"),   # DecodeWav:1 (its sample rate) is a start: tests/test_graph_signature_start.py
])
def test_inputs_keys_that_cannot_start_the_model_exit_2(frozen, tmp_path, capsys, key, said):
    np.savez(tmp_path / "f.npz", **{key: np.zeros((1,), "f4")})
    code = main(["convert", frozen["kws"], "--inputs", str(tmp_path / "f.npz"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and said in err, err


@pytest.mark.parametrize("name", ["stock", "stock_split"])
def test_sliced_kernels_become_weights_and_the_unnamed_result_is_chosen(frozen, tmp_path, capsys, name):
    import json

    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    np.savez(tmp_path / "one.npz", Placeholder=np.random.RandomState(1).normal(0, 1, (1, 20, 1)).astype("f4"))
    code = main(["convert", frozen[name], "--inputs", str(tmp_path / "one.npz"), "--out", str(tmp_path / "out"),
                 "--export-saved-model", str(tmp_path / "served")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "outputs: preds:0 (the graph has no loss and names no output; the outputs are its unconsumed tensors" in out
    report = json.loads((tmp_path / "out" / "convert_report.json").read_text())
    assert report["parity"]["ok"]
    assert report["export"]["check"]["ok"] and report["export"]["check"]["inputs"]["Placeholder"] == [1, 20, 1]
    model = keras.saving.load_model(str(tmp_path / "out" / "model.keras"))
    trained = sorted(w.path.rsplit("/", 1)[-1] for w in model.trainable_weights)
    # the three LSTM variables (read sliced or split inside the loop) and the dense kernel: every weight trainable
    assert len(model.trainable_weights) == 4 and sum(w.numpy().size for w in model.trainable_weights) == \
        1 * 16 + 4 * 16 + 16 + 4 * 20, trained


def test_several_unnamed_results_are_listed_for_outputs(tmp_path, capsys):
    def five(tf, v1):
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        w = v1.get_variable("w", [3, 3])
        for k in range(5):
            tf.identity(tf.matmul(x, w) * float(k + 1), name=f"head{k}")

    path = _freeze(str(tmp_path / "five.pb"), five, [f"head{k}" for k in range(5)])
    code = main(["convert", path, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "its unconsumed tensors computed from the inputs: head0:0, head1:0, head2:0, head3:0, head4:0" in err
    assert "pass --outputs" in err


def _peephole_projection(tf, v1):
    """ML-KWS-for-MCU's LSTM model: LSTMCell(use_peepholes=True, num_proj) in dynamic_rnn; the peephole vectors
    are read by a Mul (no op table names it a weight's use)."""
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cell = v1.nn.rnn_cell.LSTMCell(6, use_peepholes=True, num_proj=3, forget_bias=0.3)
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    w = v1.get_variable("W_o", [3, 2])
    tf.nn.softmax(tf.matmul(out[:, -1], w), name="labels_softmax")


def _layer_norm_lstm(tf, v1):
    """contrib's LayerNormBasicLSTMCell (its gains and shifts read by Mul / Add) in dynamic_rnn."""
    from tf_migrate_runtime.contrib.rnn import LayerNormBasicLSTMCell

    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, _ = v1.nn.dynamic_rnn(LayerNormBasicLSTMCell(6, forget_bias=0.8), x, dtype=tf.float32)
    tf.identity(out[:, -1], name="output")


@pytest.mark.parametrize(("builder", "variables"), [(_peephole_projection, 7), (_layer_norm_lstm, 11)],
                         ids=["peephole_projection", "layer_norm"])
def test_every_frozen_variable_of_a_cell_becomes_a_weight(tmp_path, builder, variables):
    """A frozen variable is a `Const` of its name read by an Identity `NAME/read`: found so whatever reads it, the
    cell's variables are all weights again and its loop is recognised (before: the peephole vectors stayed
    constants and the KWS LSTM went through the generic tier)."""
    import json

    import tensorflow as tf

    with tf1_style(), tf.Graph().as_default():
        builder(tf, tf.compat.v1)
        expected = len(tf.compat.v1.trainable_variables())
    assert expected == variables
    output = "labels_softmax" if builder is _peephole_projection else "output"
    path = _freeze(str(tmp_path / "m.pb"), builder, [output], seed=3)
    code = main(["convert", path, "--out", str(tmp_path / "out")])
    assert code == 0
    report = json.loads((tmp_path / "out" / "convert_report.json").read_text())
    assert report["parity"]["ok"]
    assert [lp["how"] for lp in report["loops"]] == ["recognised as dynamic_rnn"], report["loops"]
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    model = keras.saving.load_model(str(tmp_path / "out" / "model.keras"))
    assert len(model.trainable_weights) == variables, [w.path for w in model.trainable_weights]


def test_a_graph_taking_one_example_at_a_time_is_compared_on_a_batch_of_1(frozen, tmp_path, capsys):
    """No --inputs: the generated batch of 3 is refused by the graph's Reshape to [1, 20]; a batch of 1 runs, and
    both `convert` and `parity --tf1` compare on it and say why (before: exit 2 asking for --inputs)."""
    import json

    code = main(["convert", frozen["stock"], "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert ("the TF1 graph refuses a generated batch of 3 (InvalidArgumentError at node Reshape (Reshape): Input to "
            "reshape is a tensor with 60 values, but the requested shape has 20) and runs a batch of 1") in out
    assert "parity on generated inputs (Placeholder:0 [1, 20, 1]):" in out
    report = json.loads((tmp_path / "out" / "convert_report.json").read_text())
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["max_abs"] <= 1e-5

    code = main(["parity", "--tf1", frozen["stock"], "--keras", str(tmp_path / "out" / "model.keras")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "The TF1 graph refuses a generated batch of 8 and runs a batch of 1: compared on a batch of 1" in out
    assert "20 values" in out   # the one row of preds, [1, 20]


def test_a_graph_refusing_every_generated_batch_gives_the_first_refusal(tmp_path, capsys):
    """A Reshape fixing batch 2: neither the batch of 3 nor the batch of 1 runs; the reason given is the first
    refusal, with the way out (--inputs and an example of this graph's shapes)."""
    def two_rows(tf, v1):
        x = v1.placeholder(tf.float32, [None, 5], name="x")
        w = v1.get_variable("w", [5, 5])
        tf.identity(tf.reshape(tf.matmul(x, w), [2, 5]), name="preds")

    pb = _freeze(str(tmp_path / "two.pb"), two_rows, ["preds"])
    code = main(["convert", pb, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "the TF1 graph rejects the parity inputs generated for it: InvalidArgumentError at node Reshape (Reshape): " \
           "Input to reshape is a tensor with 15 values, but the requested shape has 10" in err
    assert "np.zeros((3, 5), 'float32')" in err and not (tmp_path / "out").exists()
