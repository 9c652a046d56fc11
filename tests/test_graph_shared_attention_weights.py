"""Issue 22: the attention, beam search, raw_rnn and legacy_seq2seq decoders read the weights the model's training
path holds. A TF1 seq2seq model reads one embedding, one set of cells, one attention mechanism (memory layer, query
layer, v / g / b, attention layer) and one output layer in its training path and in its inference loop; the
converted model holds each TF1 variable once: the inference layer names them (`shared_weights`, bound by
`tfm.Model`) and is written after the layers holding them, whatever the order of the outputs asked for. `fit`
trains the one copy, `model.keras` reloads with the sharing, and `convert --to tf1` writes each variable once.

Random non-zero weights and biases, LSTM forget bias 0.7 (0.6 for the legacy cells), tiny sizes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from beam_models import beam_graph
from test_graph_decoders import OUT, _build, _convert
from test_graph_to_tf1 import _read, _tf1_outputs
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# the inference outputs first: the walk must still write the training path's layers (the holders) first
OUTPUTS = ["greedy_logits:0", "greedy_ids:0", OUT["rnn_output"], OUT["sample_id"]]


def _load(path):
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415

    return keras.saving.load_model(str(path), compile=False)


def _layer(model, cls: str):
    (layer,) = [layer for layer in model.layers if type(layer).__name__ == cls]
    return layer


def _elements(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


def _h5_elements(path) -> int:
    import h5py  # noqa: PLC0415

    with h5py.File(path) as f:
        stored = []
        f.visititems(lambda n, o: stored.append(o.size) if isinstance(o, h5py.Dataset) else None)
    return sum(stored)


def _saved_beside(model, converted, folder):
    """`model` (trained) saved as model.keras in a new `folder` beside copies of the `converted` folder's
    convert_report.json and model.py: what `convert --to tf1` reads. -> folder."""
    folder.mkdir()
    for name in ("convert_report.json", "model.py"):
        (folder / name).write_bytes((converted / name).read_bytes())
    model.save(str(folder / "model.keras"))
    return folder


def _assert_held_once(model, folder, tf1_elements: int):
    """Each weight object once in the model, and the model's (and model.weights.h5's) elements those of the TF1
    variables."""
    assert len({id(w) for w in model.weights}) == len(model.weights)
    assert _elements(model.trainable_weights) == tf1_elements
    assert _h5_elements(os.path.join(folder, "model.weights.h5")) == _elements(model.weights)


@pytest.fixture(scope="module")
def attention(tmp_path_factory):
    """AttentionWrapper(LSTMCell(5, forget_bias=0.7), BahdanauAttention(4, normalize=True), attention_layer_size=6)
    with a TrainingHelper path and a GreedyEmbeddingHelper loop over the same variables, output_layer Dense."""
    root = tmp_path_factory.mktemp("shared_attention")
    src = _build(str(root / "src"), kind="lstm", attention="normalized_bahdanau", attention_layer=6, greedy=True)
    return root, src, _convert(src, root / "conv", outputs=OUTPUTS)


def _feed(seed=0, batch=4, steps=5):
    rng = np.random.RandomState(seed)
    return {"src": rng.randint(3, 11, (batch, 4)).astype("int32"), "src_len": np.array([4, 3, 4, 2][:batch], "int32"),
            "tgt_in": rng.randint(3, 11, (batch, steps)).astype("int32"), "tgt_len": np.full((batch,), steps, "int32")}


def test_greedy_attention_decoder_names_the_training_paths_weights(attention):
    root, src, report = attention
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][1].get("exact") and report["parity"]["outputs"][3].get("exact")
    source = (root / "conv" / "model.py").read_text()
    assert source.index("tfm.AttentionDecoder(") < source.index("keras.layers.Dense(") \
        < source.index("tfm.GreedyAttentionDecoder(")   # the holders first though the greedy outputs come first
    assert ("shared_weights={'cell_0_kernel': ['decoder__decoder__attention_wrapper', 0], "
            "'cell_0_recurrent_kernel': ['decoder__decoder__attention_wrapper', 1], "
            "'cell_0_bias': ['decoder__decoder__attention_wrapper', 2], "
            "'memory_layer': ['decoder__decoder__attention_wrapper', 3], "
            "'query_layer': ['decoder__decoder__attention_wrapper', 4], "
            "'attention_v': ['decoder__decoder__attention_wrapper', 5], "
            "'attention_g': ['decoder__decoder__attention_wrapper', 6], "
            "'attention_b': ['decoder__decoder__attention_wrapper', 7], "
            "'attention_layer': ['decoder__decoder__attention_wrapper', 8], 'embedding': ['embedding', 0], "
            "'output_kernel': ['decoder__decoder__output_projection', 0], "
            "'output_bias': ['decoder__decoder__output_projection', 1]}") in source
    model = _load(root / "conv" / "model.keras")
    greedy, train = _layer(model, "GreedyAttentionDecoder"), _layer(model, "AttentionDecoder")
    assert greedy.weights == [] and "shared_weights" not in train.get_config()
    assert greedy.memory_kernel is train.memory_kernel and greedy.attention_kernel is train.attention_kernel
    assert greedy.g is train.g and greedy.cell_weights[0][2] is train.cell_weights[0][2]
    assert greedy.embedding is model.get_layer("embedding").weights[0]
    assert greedy.out_kernel is model.get_layer("decoder__decoder__output_projection").kernel
    _assert_held_once(model, root / "conv", sum(a.size for a in _read(src).values()))


def test_fit_trains_the_shared_attention_weights_and_they_go_back_to_tf1(attention, tmp_path):
    """`fit` on the training logits moves the shared memory layer / attention layer / cells; the greedy decoder
    decodes with them (the ORIGINAL TF1 graph restored from `convert --to tf1`'s checkpoint, written with each
    variable once, gives the same greedy logits and ids); model.keras reloads them shared."""
    import keras  # noqa: PLC0415

    from migrate.cli import main  # noqa: PLC0415

    root, src, _ = attention
    model = _load(root / "conv" / "model.keras")
    train = _layer(model, "AttentionDecoder")
    feed = _feed()
    before = [np.asarray(o) for o in model(feed)]
    memory0 = train.memory_kernel.numpy().copy()
    fit = keras.Model(model.input, model.outputs[2])
    fit.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit.fit(feed, np.random.RandomState(1).randint(0, 11, feed["tgt_in"].shape), epochs=3, batch_size=4, verbose=0)
    assert not np.allclose(memory0, train.memory_kernel.numpy())
    after = [np.asarray(o) for o in model(feed)]
    assert not np.allclose(before[0][:, :1], after[0][:, :1])   # the greedy logits follow the trained weights
    conv = _saved_beside(model, root / "conv", tmp_path / "conv")
    reloaded = _load(conv / "model.keras")
    assert _layer(reloaded, "GreedyAttentionDecoder").weights == [] and len(reloaded.weights) == len(model.weights)
    for a, b in zip(after, reloaded(feed)):
        np.testing.assert_array_equal(a, np.asarray(b))
    out = str(tmp_path / "tf1" / "model.ckpt")
    assert main(["convert", "--to", "tf1", str(conv / "model.keras"), "--out", out]) == 0
    assert sorted(_read(out)) == sorted(_read(src))   # each variable once, as in the source checkpoint
    tf1 = _tf1_outputs(out, OUTPUTS, {f"{k}:0": v for k, v in feed.items()})
    np.testing.assert_allclose(tf1[0], after[0], atol=1e-4)
    np.testing.assert_array_equal(tf1[1], after[1])
    np.testing.assert_allclose(tf1[2], after[2], atol=1e-4)


def test_beam_search_attention_decoder_reads_the_encoders_embedding(tmp_path):
    """BeamSearchDecoder(AttentionWrapper(LSTM stand-in, LuongAttention(scale=True), attention layer 6), beam 3)
    reading the embedding the encoder reads (TF1 cannot build a second mechanism over the tiled memory on the
    training path's variables in one graph: its `memory_layer` Dense is made anew, `memory_layer_1`): the beam layer
    names the encoder's `Embedding`, holds its own cells and mechanism once, ids match the graph."""
    from migrate.graph import convert_graph  # noqa: PLC0415

    src = beam_graph(str(tmp_path / "src"), kind="lstm", attention="luong", train=False)
    report = convert_graph(src, str(tmp_path / "conv"), outputs=["decoder/predicted_ids:0"], log=lambda m: None)
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][0].get("exact")
    assert "shared_weights={'embedding': ['embedding', 0]}" in (tmp_path / "conv" / "model.py").read_text()
    model = _load(tmp_path / "conv" / "model.keras")
    beam = _layer(model, "BeamSearchAttentionDecoder")
    assert beam.embedding is model.get_layer("embedding").weights[0]
    assert [w.name for w in beam.weights][:4] == ["cell_0_kernel", "cell_0_recurrent_kernel", "cell_0_bias",
                                                  "memory_layer"]
    _assert_held_once(model, tmp_path / "conv", sum(a.size for a in _read(src).values()))


# ------------------------------------------------------------------------------------------------ raw_rnn
def _raw_rnn_graph(path: str) -> str:
    """src ids -> embedding -> encoder dynamic_rnn -> a training path (dynamic_rnn of the decoder's
    LSTMCell(5, forget_bias=0.7) over embedding_lookup(tgt_in), tf.layers.Dense projection -> `train_logits`) and a
    greedy `raw_rnn` over the SAME cell, embedding and Dense (next input `embedding_lookup(argmax(Dense(output)))`,
    finished at EOS 2 or time >= 6) -> `greedy_outputs`."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            src = v1.placeholder(tf.int32, [None, None], name="src")
            tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
            emb = v1.get_variable("embedding", [11, 6])
            batch = tf.shape(src)[0]
            with v1.variable_scope("encoder"):
                _, enc_state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7),
                                                 tf.nn.embedding_lookup(emb, src), dtype=tf.float32)
            with v1.variable_scope("decoder"):
                cell = v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7)
                proj = v1.layers.Dense(11, name="output_projection")
                train_out, _ = v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, tgt_in), initial_state=enc_state)
                tf.identity(proj(train_out), name="train_logits")
                start = tf.nn.embedding_lookup(emb, tf.ones([batch], tf.int32))

                def loop_fn(time, output, state, loop_state):
                    if output is None:
                        return tf.zeros([batch], tf.bool), start, enc_state, None, None
                    ids = tf.argmax(proj(output), axis=-1, output_type=tf.int32)
                    return tf.logical_or(time >= 6, tf.equal(ids, 2)), tf.nn.embedding_lookup(emb, ids), state, \
                        output, None

                outs_ta, _, _ = v1.nn.raw_rnn(cell, loop_fn)
            tf.identity(tf.transpose(outs_ta.stack(), [1, 0, 2]), name="greedy_outputs")
            save_random_weights(path)
    return os.path.join(path, "model.ckpt")


def test_raw_rnn_greedy_loop_reads_the_training_paths_embedding_cell_and_projection(tmp_path):
    from migrate.graph import convert_graph  # noqa: PLC0415

    os.makedirs(tmp_path / "src")
    src = _raw_rnn_graph(str(tmp_path / "src"))
    report = convert_graph(src, str(tmp_path / "conv"), outputs=["greedy_outputs:0", "decoder/train_logits:0"],
                           log=lambda m: None)
    assert report["parity"]["ok"], report["parity"]
    assert report["translated"]["raw_rnn greedy loop_fn -> tfm.RawRNNGreedyDecoder"] == 1
    source = (tmp_path / "conv" / "model.py").read_text()
    assert source.index("keras.layers.Dense(") < source.index("tfm.RawRNNGreedyDecoder(")
    # the training path's projection is a Dense(use_bias=False) over [B, T, 5] (Tensordot) + a tfm.BiasAdd
    assert "'embedding': ['embedding', 0], 'output_kernel': ['decoder__output_projection', 0], " \
           "'output_bias': ['decoder__output_projection_2', 0]}" in source
    model = _load(tmp_path / "conv" / "model.keras")
    decoder = _layer(model, "RawRNNGreedyDecoder")
    assert decoder.weights == [] and decoder.embedding is model.get_layer("embedding").weights[0]
    assert decoder.cell_weights[0][0] is model.get_layer("decoder__rnn__lstm_cell").weights[0]
    _assert_held_once(model, tmp_path / "conv", sum(a.size for a in _read(src).values()))
    feed = {"src": np.array([[3, 4, 5], [6, 7, 8]], "int32"), "tgt_in": np.array([[3, 9], [4, 10]], "int32")}
    before = np.asarray(model(feed)[0])
    model.get_layer("embedding").weights[0].assign(model.get_layer("embedding").weights[0].numpy() * 1.5)
    assert not np.allclose(before, np.asarray(model(feed)[0]))   # the loop reads the one embedding


# ------------------------------------------------------------------------------------------------ legacy_seq2seq
def _legacy_graph(path: str) -> str:
    """The translate tutorial's pattern (seq2seq_model.py): `embedding_attention_seq2seq(LSTMCell(5,
    forget_bias=0.6))` for training (feed_previous=False -> `train_logits`) and again under reuse for decoding
    (feed_previous=True -> `greedy_logits`): two attention decoders, one set of variables."""
    import tensorflow as tf  # noqa: PLC0415
    from test_graph_legacy_seq2seq import EMB, T_DEC, T_ENC, V_DEC, V_ENC, _tf1  # noqa: PLC0415

    v1 = tf.compat.v1
    v1.disable_resource_variables()  # TF1's ref variables
    try:
        g = tf.Graph()
        with g.as_default():
            _, embedding_attention_seq2seq = _tf1(tf)
            enc = [v1.placeholder(tf.int32, [None], name=f"encoder{i}") for i in range(T_ENC)]
            dec = [v1.placeholder(tf.int32, [None], name=f"decoder{i}") for i in range(T_DEC)]

            def cell():
                return v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.6)

            with v1.variable_scope("model"):
                train, _ = embedding_attention_seq2seq(enc, dec, cell(), V_ENC, V_DEC, EMB)
            with v1.variable_scope("model", reuse=True):
                greedy, _ = embedding_attention_seq2seq(enc, dec, cell(), V_ENC, V_DEC, EMB, feed_previous=True)
            tf.stack(train, 1, name="train_logits")
            tf.stack(greedy, 1, name="greedy_logits")
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                rng = np.random.RandomState(5)
                for var in v1.global_variables():
                    var.load(rng.uniform(-0.6, 0.6, var.shape.as_list()).astype("float32"), s)
                v1.train.Saver().save(s, os.path.join(path, "model.ckpt"))
    finally:
        v1.enable_resource_variables()
    return os.path.join(path, "model.ckpt")


def test_legacy_feed_previous_decoder_reads_the_teacher_forced_decoders_weights(tmp_path):
    """The variant: legacy_seq2seq's feed_previous decoder (built again under reuse) names every weight of the
    teacher-forced decoder (input linear, cells, AttnW / AttnV / Attention_0, OutputProjectionWrapper,
    AttnOutputProjection) and the decoder Embedding's; the model holds each TF1 variable once."""
    from migrate.graph import convert_graph  # noqa: PLC0415

    os.makedirs(tmp_path / "src")
    src = _legacy_graph(str(tmp_path / "src"))
    report = convert_graph(src, str(tmp_path / "conv"), outputs=["greedy_logits:0", "train_logits:0"],
                           log=lambda m: None)
    assert report["parity"]["ok"], report["parity"]
    model = _load(tmp_path / "conv" / "model.keras")
    teacher, greedy = sorted((layer for layer in model.layers if type(layer).__name__ == "LegacyAttentionDecoder"),
                             key=lambda layer: layer.feed_previous)
    assert greedy.feed_previous and greedy.weights == [] and len(greedy.shared_weights) == len(teacher.weights) + 1
    assert greedy.heads[0][0] is teacher.heads[0][0] and greedy.out_kernel is teacher.out_kernel
    assert greedy.embedding.shape == (11, 6) and any(greedy.embedding is w for w in model.weights)
    source = (tmp_path / "conv" / "model.py").read_text()
    assert source.index("feed_previous=True") > source.index("tfm.LegacyAttentionDecoder(")
    _assert_held_once(model, tmp_path / "conv", sum(a.size for a in _read(src).values()))
