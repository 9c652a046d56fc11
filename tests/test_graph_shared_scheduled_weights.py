"""Issue 22: a model trained with scheduled sampling (contrib.seq2seq `ScheduledEmbeddingTrainingHelper`) reads one
embedding, one set of decoder cells and one output layer in its training loop and in its inference loop
(`GreedyEmbeddingHelper` / `SampleEmbeddingHelper` over the same cell and `output_layer`, built again under reuse).
The converted `tfm.ScheduledEmbeddingTrainingDecoder` names the embedding the decoder inputs' `Embedding` holds and
holds the cells and the projection once; the inference decoder names those (`shared_weights`). `fit` on the
scheduled logits trains the one copy both loops read, `model.keras` reloads with the sharing, and `convert --to tf1`
writes each variable once into a checkpoint the original graph restores.

Random non-zero weights and biases, LSTM forget bias 0.7 (tests/test_graph_sampling_helpers.py's builder)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_graph_sampling_helpers import _build, _convert
from test_graph_shared_attention_weights import _assert_held_once, _layer, _load, _saved_beside
from test_graph_to_tf1 import _read, _tf1_outputs

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# the inference outputs first: the walk must still write the training loop's layer (the holder) first
OUTPUTS = ["infer_logits:0", "infer_ids:0", "logits:0", "final_h:0"]


@pytest.fixture(scope="module")
def greedy(tmp_path_factory):
    """Scheduled sampling (p 0.5) over LSTMCell(5, forget_bias=0.7) + Dense(11), and a greedy loop over both."""
    root = tmp_path_factory.mktemp("shared_scheduled")
    src = _build(str(root / "src"), kind="lstm", helper="scheduled", inference="greedy")
    return root, os.path.join(src, "model.ckpt"), _convert(src, root / "conv", outputs=OUTPUTS)


def _feed(batch=4):
    rng = np.random.RandomState(0)
    return {"src": rng.randint(3, 11, (batch, 4)).astype("int32"), "src_len": np.array([4, 3, 4, 2][:batch], "int32"),
            "decoder__tgt_in": rng.randint(3, 11, (batch, 5)).astype("int32"),
            "decoder__tgt_len": np.array([5, 4, 5, 3][:batch], "int32")}


def test_scheduled_decoder_holds_the_cells_and_names_the_embedding(greedy):
    root, src, report = greedy
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][1].get("exact")   # greedy ids
    source = (root / "conv" / "model.py").read_text()
    assert source.index("tfm.ScheduledEmbeddingTrainingDecoder(") < source.index("tfm.GreedyDecoder(")
    assert "name='decoder__decoder__scheduled_decoder', shared_weights={'embedding': ['embedding', 0]})" in source
    assert ("shared_weights={'cell_0_kernel': ['decoder__decoder__scheduled_decoder', 0], "
            "'cell_0_recurrent_kernel': ['decoder__decoder__scheduled_decoder', 1], "
            "'cell_0_bias': ['decoder__decoder__scheduled_decoder', 2], 'embedding': ['embedding', 0], "
            "'output_kernel': ['decoder__decoder__scheduled_decoder', 3], "
            "'output_bias': ['decoder__decoder__scheduled_decoder', 4]}") in source
    model = _load(root / "conv" / "model.keras")
    scheduled, decoder = _layer(model, "ScheduledEmbeddingTrainingDecoder"), _layer(model, "GreedyDecoder")
    assert [w.name for w in scheduled.weights] == ["cell_0_kernel", "cell_0_recurrent_kernel", "cell_0_bias",
                                                   "output_kernel", "output_bias"]
    assert decoder.weights == [] and scheduled.get_config()["shared_weights"] == {"embedding": ["embedding", 0]}
    assert scheduled.embedding is decoder.embedding is model.get_layer("embedding").weights[0]
    assert decoder.cell_weights[0][0] is scheduled.cell_weights[0][0] and decoder.kernel is scheduled.kernel
    _assert_held_once(model, root / "conv", sum(a.size for a in _read(src).values()))   # 612, was 984


def test_fit_on_the_scheduled_logits_moves_what_the_greedy_loop_reads_and_it_goes_back_to_tf1(greedy, tmp_path):
    """`fit` on the scheduled loop's logits (the layer drawing its own ids) moves the cells, the embedding and the
    projection; the greedy loop decodes with them: the ORIGINAL TF1 graph restored from `convert --to tf1`'s
    checkpoint (each variable once) gives the trained model's greedy logits and ids; model.keras reloads shared."""
    import keras  # noqa: PLC0415

    from migrate.cli import main  # noqa: PLC0415

    root, src, _ = greedy
    model = _load(root / "conv" / "model.keras")
    scheduled = _layer(model, "ScheduledEmbeddingTrainingDecoder")
    feed = _feed()
    before = np.asarray(model(feed)[0])
    kernel0, emb0 = scheduled.cell_weights[0][0].numpy().copy(), scheduled.embedding.numpy().copy()
    fit = keras.Model(model.input, model.outputs[2])
    fit.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit.fit(feed, np.random.RandomState(1).randint(0, 11, (4, 5)), epochs=3, batch_size=4, verbose=0)
    assert not np.allclose(kernel0, scheduled.cell_weights[0][0].numpy())
    assert not np.allclose(emb0, scheduled.embedding.numpy())
    after = [np.asarray(o) for o in model(feed)]
    assert not np.allclose(before[:, :1], after[0][:, :1])   # the greedy logits follow the trained weights
    conv = _saved_beside(model, root / "conv", tmp_path / "conv")
    reloaded = _load(conv / "model.keras")
    assert _layer(reloaded, "GreedyDecoder").weights == [] and len(reloaded.weights) == len(model.weights)
    np.testing.assert_array_equal(after[0], np.asarray(reloaded(feed)[0]))
    out = str(tmp_path / "tf1" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(conv / "model.keras"), "--out", out]) == 0
    written = _read(out)
    assert sorted(written) == sorted(_read(src))   # each variable once, as in the source checkpoint
    np.testing.assert_allclose(written["embedding"], scheduled.embedding.numpy(), atol=1e-6)
    tf1 = _tf1_outputs(out, OUTPUTS[:2], {f"{k.replace('__', '/')}:0": v for k, v in feed.items()})
    np.testing.assert_allclose(tf1[0], after[0], atol=1e-4)
    np.testing.assert_array_equal(tf1[1], after[1])


def test_sampling_inference_loop_over_a_gru_stack_without_projection_holds_nothing(tmp_path):
    """The variant: two GRUCells, no output layer, `sampling_probability` a placeholder a schedule feeds, and a
    `SampleEmbeddingHelper` inference loop (seed 5): the sample decoder names the scheduled decoder's six cell
    weights and the embedding, holds none; parity on the graph's draws for both loops."""
    src = _build(str(tmp_path / "src"), kind="gru", helper="scheduled", proj=False, layers=2, p="placeholder",
                 inference="sample")
    report = _convert(src, tmp_path / "conv", outputs=["logits:0", "infer_logits:0", "infer_ids:0"])
    assert report["parity"]["ok"], report["parity"]
    assert len(report["parity"]["given_draws"]) == 2   # both loops draw: the graph's ids fed to each
    model = _load(tmp_path / "conv" / "model.keras")
    scheduled, sample = _layer(model, "ScheduledEmbeddingTrainingDecoder"), _layer(model, "SampleEmbeddingDecoder")
    assert sample.weights == [] and len(sample.shared_weights) == 7 and len(scheduled.weights) == 6
    assert sample.cell_weights[1][2] is scheduled.cell_weights[1][2] and sample.kernel is None
    _assert_held_once(model, tmp_path / "conv", sum(a.size for a in _read(os.path.join(src, "model.ckpt")).values()))
