"""Issue 22: a contrib.seq2seq model reads ONE embedding, one set of decoder cells and one `output_layer` in its
training path (TrainingHelper) and in its inference loop (GreedyEmbeddingHelper). The converted model holds each
TF1 variable once: `tfm.GreedyDecoder` names the training path's `Embedding` / `LSTM` / `GRU` / `Dense` weights
(`shared_weights`, bound by `tfm.Model`), `fit` trains the one copy both paths read, `model.keras` reloads with the
sharing, and `convert --to tf1` writes each variable once into a checkpoint the original graph restores.

Random non-zero weights and biases, LSTM forget bias 0.7 (tests/test_graph_decoders.py's builder, tiny sizes)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from beam_models import beam_graph
from test_graph_decoders import OUT, _build, _convert
from test_graph_to_tf1 import _read, _tf1_outputs

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

OUTPUTS = [OUT["rnn_output"], OUT["sample_id"], "greedy_logits:0", "greedy_ids:0"]
VARIANTS = {"lstm": {"kind": "lstm"},                                   # one LSTMCell(forget_bias=0.7)
            "gru_stack_impute": {"kind": "gru", "layers": 2, "impute": True}}   # MultiRNNCell of two GRUs


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def converted(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("shared_" + request.param)
    src = _build(str(root / "src"), proj="dense", greedy=True, **VARIANTS[request.param])
    report = _convert(src, root / "conv", outputs=OUTPUTS)
    return root, src, report


def _load(path):
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    return keras.saving.load_model(str(path), compile=False)


def _decoder(model):
    (layer,) = [layer for layer in model.layers if type(layer).__name__ == "GreedyDecoder"]
    return layer


def _feed(seed=0, batch=4, steps=5):
    rng = np.random.RandomState(seed)
    return {"src": rng.randint(3, 11, (batch, 4)).astype("int32"), "src_len": np.full((batch,), 4, "int32"),
            "tgt_in": rng.randint(3, 11, (batch, steps)).astype("int32"), "tgt_len": np.full((batch,), steps, "int32")}


def test_each_tf1_variable_is_held_once_with_parity(converted):
    root, src, report = converted
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][3].get("exact")   # greedy ids
    source = (root / "conv" / "model.py").read_text()
    assert "shared_weights={'cell_0_kernel': ['decoder__decoder__" in source
    assert "'embedding': ['embedding', 0]" in source
    assert "'output_kernel': ['decoder__decoder__output_projection', 0], " \
           "'output_bias': ['decoder__decoder__output_projection', 1]" in source
    model = _load(root / "conv" / "model.keras")
    decoder = _decoder(model)
    assert decoder.weights == []   # everything it reads is the training path's
    emb = model.get_layer("embedding").weights[0]
    assert decoder.embedding is emb and decoder.kernel is model.get_layer("decoder__decoder__output_projection").kernel
    # the model holds exactly the TF1 variables' elements, each once
    tf1_sizes = [a.size for a in _read(src).values()]
    assert len({id(w) for w in model.weights}) == len(model.weights)
    assert sum(int(np.prod(w.shape)) for w in model.weights) == sum(tf1_sizes)
    import h5py  # noqa: PLC0415

    with h5py.File(root / "conv" / "model.weights.h5") as f:
        stored = []
        f.visititems(lambda n, o: stored.append(o.size) if isinstance(o, h5py.Dataset) else None)
    assert sum(stored) == sum(tf1_sizes)


def test_fit_trains_the_one_copy_and_it_goes_back_to_tf1(converted, tmp_path):
    """`fit` on the training path's logits changes the shared embedding / cells / projection; the greedy decoder
    reads the changed weights (its outputs change, and the ORIGINAL TF1 graph restored from `convert --to tf1`'s
    checkpoint computes the same greedy logits and ids and training logits); model.keras reloads them shared."""
    import keras  # noqa: PLC0415

    from migrate.cli import main  # noqa: PLC0415

    root, src, _ = converted
    model = _load(root / "conv" / "model.keras")
    feed = _feed()
    before = [np.asarray(o) for o in model(feed)]
    emb0 = np.asarray(model.get_layer("embedding").weights[0].numpy()).copy()
    train = keras.Model(model.input, model.outputs[0])
    train.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    y = np.random.RandomState(1).randint(0, 11, feed["tgt_in"].shape)
    train.fit(feed, y, epochs=3, batch_size=4, verbose=0)
    assert not np.allclose(emb0, model.get_layer("embedding").weights[0].numpy())
    after = [np.asarray(o) for o in model(feed)]
    assert not np.allclose(before[2][:, :1], after[2][:, :1])   # the greedy logits follow the trained weights
    saved = tmp_path / "trained.keras"
    model.save(str(saved))
    reloaded = _load(saved)
    assert _decoder(reloaded).weights == [] and len(reloaded.weights) == len(model.weights)
    for a, b in zip(after, reloaded(feed)):
        np.testing.assert_array_equal(a, np.asarray(b))
    out = str(tmp_path / "tf1" / "model.ckpt")
    conv = tmp_path / "conv"
    conv.mkdir()
    for name in ("convert_report.json", "model.py"):
        (conv / name).write_bytes((root / "conv" / name).read_bytes())
    model.save(str(conv / "model.keras"))
    assert main(["convert", "--to", "tf1", str(conv / "model.keras"), "--out", out]) == 0
    assert sorted(_read(out)) == sorted(_read(src))   # each variable once, as in the source checkpoint
    tf1 = _tf1_outputs(out, OUTPUTS, {f"{k}:0": v for k, v in feed.items()})
    np.testing.assert_allclose(tf1[0], after[0], atol=1e-4)
    np.testing.assert_allclose(tf1[2], after[2], atol=1e-4)
    np.testing.assert_array_equal(tf1[3], after[3])


def test_beam_search_decoder_reads_the_training_paths_weights(tmp_path):
    """The variant: a BeamSearchDecoder (beam 3, LSTM forget bias 0.7 stand-in cells, output_layer) beside the
    TrainingHelper decoder over the same embedding / cells / projection: the beam layer holds nothing of its own, the
    model holds the TF1 variables' elements once, ids and training logits match the graph."""
    src = beam_graph(str(tmp_path / "src"), kind="lstm", train=True)   # the checkpoint prefix
    from migrate.graph import convert_graph  # noqa: PLC0415

    report = convert_graph(src, str(tmp_path / "conv"), outputs=["decoder/train_logits:0", "decoder/predicted_ids:0"],
                           log=lambda m: None)
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][1].get("exact")
    assert "shared_weights={'cell_0_kernel'" in (tmp_path / "conv" / "model.py").read_text()
    model = _load(tmp_path / "conv" / "model.keras")
    (beam,) = [layer for layer in model.layers if type(layer).__name__ == "BeamSearchDecoder"]
    assert beam.weights == [] and beam.embedding is model.get_layer("embedding").weights[0]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == sum(a.size for a in _read(src).values())
