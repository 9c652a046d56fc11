"""`convert --from-graph` on contrib.seq2seq sampling decoders: `dynamic_decode(BasicDecoder(cell,
SampleEmbeddingHelper(...)))` and `ScheduledEmbeddingTrainingHelper(...)`, built in TF1 style with
`tf_migrate_runtime.contrib.seq2seq` (the same ops as TF 1.15's contrib: a stateful `Multinomial`, `RandomUniform <
p`), converted to `tfm.SampleEmbeddingDecoder` / `tfm.ScheduledEmbeddingTrainingDecoder` and parity checked.

The draws are random on both sides and TF1's cannot be reproduced by the layer (tf_migrate_runtime/layers/
sampling.py): parity feeds the graph's ids of each run to the layer (`tfm.given_draws`) and compares what they
determine: the logits (every step's, which read the fed-back embeddings), the final states. A test below shows
the ids are really random (two graph runs differ) and that the comparison catches a wrong weight. Random non-zero
weights and biases, LSTM forget bias 0.7, batch > 1.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

V, E, U = 11, 6, 5


def _build(path: str, kind: str = "lstm", helper: str = "sample", proj: bool = True, layers: int = 1,
           temperature: float | None = 0.8, p: float | str = 0.5, seeds: bool = True, attention: str | None = None,
           impute: bool = False, inference: str | None = None, penalty: float | None = None) -> str:
    """src ids -> embedding -> dynamic_rnn encoder -> its final state -> BasicDecoder(cells, helper, that state,
    Dense(11) or none) -> dynamic_decode -> `logits`, `ids`, `final_h`. helper "sample": SampleEmbeddingHelper(
    embedding, start 1, end 2, temperature, seed 5), maximum_iterations 6; "scheduled": ScheduledEmbeddingTraining
    Helper(embedding_lookup(tgt_in), tgt_len, embedding, p (a number or, "placeholder", a scalar placeholder a
    schedule feeds), seed 3, scheduling_seed 4). `attention`: the decoder cells under an AttentionWrapper ("luong": a
    LuongAttention over the encoder outputs with an attention layer of 6; "bahdanau": a BahdanauAttention without).
    `inference` ("greedy" / "sample"), with the scheduled helper: an inference loop beside it over the SAME cells,
    embedding and output layer (`GreedyEmbeddingHelper` / `SampleEmbeddingHelper(seed 5)`, start 1, end 2, at most
    6 steps) -> `infer_logits`, `infer_ids`, as a production model trained with scheduled sampling decodes.
    `penalty` c: a training loss `loss` = mean cross-entropy of the logits against `tgt_out` + c * (l2_loss of the
    decoder cell's kernel + l2_loss of the output layer's kernel)."""
    import tensorflow as tf

    from tf_migrate_runtime.contrib import seq2seq

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            if seeds:
                v1.set_random_seed(11)
            src = v1.placeholder(tf.int32, [None, None], name="src")
            src_len = v1.placeholder(tf.int32, [None], name="src_len")
            emb = v1.get_variable("embedding", [V, E])

            def cell():
                return v1.nn.rnn_cell.GRUCell(U) if kind == "gru" else v1.nn.rnn_cell.LSTMCell(U, forget_bias=0.7)

            def cells():
                return cell() if layers == 1 else v1.nn.rnn_cell.MultiRNNCell([cell() for _ in range(layers)])

            with v1.variable_scope("encoder"):
                enc_out, enc_state = v1.nn.dynamic_rnn(cells(), tf.nn.embedding_lookup(emb, src),
                                                       sequence_length=src_len, dtype=tf.float32)
            with v1.variable_scope("decoder"):
                out_layer = v1.layers.Dense(V, name="output_projection") if proj else None
                if helper == "sample":
                    h = seq2seq.SampleEmbeddingHelper(emb, tf.fill([tf.size(src_len)], 1), 2,
                                                      softmax_temperature=temperature, seed=5 if seeds else None)
                    maximum_iterations = 6
                else:
                    tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
                    tgt_len = v1.placeholder(tf.int32, [None], name="tgt_len")
                    prob = v1.placeholder(tf.float32, [], name="p") if p == "placeholder" else p
                    h = seq2seq.ScheduledEmbeddingTrainingHelper(tf.nn.embedding_lookup(emb, tgt_in), tgt_len, emb,
                                                                 prob, seed=3, scheduling_seed=4)
                    maximum_iterations = None
                dec_cell, init = cells(), enc_state
                if attention:
                    mech = seq2seq.LuongAttention(U, enc_out, src_len) if attention == "luong" else \
                        seq2seq.BahdanauAttention(4, enc_out, src_len)
                    dec_cell = seq2seq.AttentionWrapper(dec_cell, mech, attention_layer_size=6 if attention == "luong"
                                                        else None)
                    init = dec_cell.zero_state(tf.size(src_len), tf.float32).clone(cell_state=enc_state)
                out, final, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(dec_cell, h, init, output_layer=out_layer),
                                                       maximum_iterations=maximum_iterations, impute_finished=impute)
            if inference:
                with v1.variable_scope("decoder", reuse=True):
                    start = tf.fill([tf.size(src_len)], 1)
                    ih = seq2seq.GreedyEmbeddingHelper(emb, start, 2) if inference == "greedy" else \
                        seq2seq.SampleEmbeddingHelper(emb, start, 2, seed=5)
                    i_out, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(dec_cell, ih, init, output_layer=out_layer),
                                                         maximum_iterations=6, scope="infer")
                tf.identity(i_out.rnn_output, name="infer_logits")
                tf.identity(i_out.sample_id, name="infer_ids")
            logits = tf.identity(out.rnn_output, name="logits")
            tf.identity(out.sample_id, name="ids")
            if penalty is not None:
                tgt_out = v1.placeholder(tf.int32, [None, None], name="tgt_out")
                xent = v1.nn.sparse_softmax_cross_entropy_with_logits(labels=tgt_out, logits=logits)
                kernels = [v for v in v1.trainable_variables() if v.op.name.startswith("decoder/") and
                           v.op.name.endswith("kernel")]
                tf.identity(tf.reduce_mean(xent) + penalty * tf.add_n([tf.nn.l2_loss(k) for k in kernels]),
                            name="loss")
            final = final.cell_state if attention else final
            last = final if layers == 1 else final[-1]
            tf.identity(last.h if kind == "lstm" else last, name="final_h")
            save_random_weights(path)
    return path


VARIANTS = {   # name -> _build arguments
    "sample_lstm": {"kind": "lstm"},
    "sample_gru_none_unseeded": {"kind": "gru", "proj": False, "temperature": None, "seeds": False},
    "sample_multi_gru": {"kind": "gru", "layers": 2, "temperature": 1.5},
    "sample_luong_lstm_impute": {"kind": "lstm", "attention": "luong", "impute": True},
    "sample_bahdanau_gru_multi": {"kind": "gru", "attention": "bahdanau", "layers": 2, "temperature": 0.5},
    "scheduled_lstm": {"kind": "lstm", "helper": "scheduled"},
    "scheduled_gru_none": {"kind": "gru", "helper": "scheduled", "proj": False},
    "scheduled_p_placeholder": {"kind": "lstm", "helper": "scheduled", "p": "placeholder", "layers": 2},
    "scheduled_p0": {"kind": "gru", "helper": "scheduled", "p": 0.0},
    "scheduled_p1": {"kind": "lstm", "helper": "scheduled", "p": 1.0},
}
OUTPUTS = ["logits:0", "ids:0", "final_h:0"]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sampling")
    return {name: _build(str(root / name), **kw) for name, kw in VARIANTS.items()}


def _convert(src, out, logs=None, **kw):
    from migrate.graph import convert_graph

    return convert_graph(os.path.join(src, "model.ckpt"), str(out), log=(logs.append if logs is not None else
                                                                         lambda m: None), **kw)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_sampling_decoder_converts_with_parity_on_the_graphs_draws(graphs, tmp_path, name):
    kw = VARIANTS[name]
    logs = []
    report = _convert(graphs[name], tmp_path / "out", logs, outputs=OUTPUTS)
    assert report["parity"]["ok"], report["parity"]
    rows = {r["graph"]: r for r in report["parity"]["outputs"]}
    assert rows["ids:0"].get("exact") and rows["logits:0"]["max_abs"] <= rows["logits:0"]["tolerance"]
    assert rows["logits:0"]["shape"][0] > 1 and rows["logits:0"]["shape"][1] >= 2     # batch > 1, several steps
    scheduled = kw.get("helper") == "scheduled"
    layer = "ScheduledEmbeddingTrainingDecoder" if scheduled else "SampleEmbeddingAttentionDecoder" if \
        kw.get("attention") else "SampleEmbeddingDecoder"
    helper = "ScheduledEmbeddingTrainingHelper" if scheduled else "SampleEmbeddingHelper"
    cell = "(AttentionWrapper)" if kw.get("attention") else ""
    assert report["translated"][f"dynamic_decode BasicDecoder{cell}+{helper} -> tfm.{layer}"] == 1
    (given,) = report["parity"]["given_draws"].values()
    assert given["ids"] == "decoder/decoder/transpose_1:0" and given["draws"].endswith("Multinomial")   # ids:0 reads it
    assert any("tfm.given_draws" in m and "by construction" in m for m in logs)
    source = (tmp_path / "out" / "model.py").read_text()
    assert f"tfm.{layer}(" in source and "import tensorflow" not in source
    cells = [kw.get("kind", "lstm")] * kw.get("layers", 1)
    assert f"tfm.{layer}({cells!r}, [5" + ", 5" * (len(cells) - 1) + "]" in source
    assert f"output_size={V if kw.get('proj', True) else None}" in source
    if scheduled:
        p = kw.get("p", 0.5)
        assert f"sampling_probability={0.0 if p == 'placeholder' else float(p)!r}, seed=3, scheduling_seed=4" \
            in source
        assert ("sampling_probability=p)" in source) == (p == "placeholder")   # the model input a schedule feeds
        assert "seed=87654321, seed2=3" not in source and "seed=11, seed2=3" in source   # the TF1 pair, in a comment
    else:
        t = kw.get("temperature", 0.8)
        assert f"impute_finished={kw.get('impute', False)}, softmax_temperature={t!r}, " \
               f"seed={5 if kw.get('seeds', True) else None}" in source
        assert ("Multinomial unseeded" in source) != kw.get("seeds", True)
    ids = np.asarray(_ids_of(tmp_path / "out"))
    if kw.get("p") == 0.0:
        assert (ids == -1).all()    # never sampled: teacher forcing
    elif kw.get("p") == 1.0:
        assert (ids >= 0).all()     # always sampled


def _ids_of(out):
    """The converted model's own sample ids (it draws them) on the parity batch's shapes."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    report = json.loads((out / "convert_report.json").read_text())
    rng = np.random.RandomState(0)
    feed = {}
    for i in report["graph"]["inputs"]:
        name = i["keras"]
        if name.endswith("len"):
            feed[name] = np.array([4, 2, 3], "int32")
        elif name == "decoder__p":
            feed[name] = np.array(0.5, "float32")
        else:
            feed[name] = rng.randint(0, V, (3, 4)).astype("int32")
    got = model.predict_on_batch(feed)
    return got[report["graph"]["outputs"].index(next(o for o in report["graph"]["outputs"]
                                                     if o["graph"] == "ids:0"))]


def test_the_graphs_ids_are_random_and_parity_catches_a_wrong_weight(graphs, tmp_path):
    """The comparison is a real one: two runs of the graph on the same feed draw different ids (so equal ids
    could only come from feeding them), and a converted model with one embedding row changed fails parity on the
    logits though it is fed the same ids."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.parity.tf1_graph import TF1Graph
    from tf_migrate_runtime.layers import given_draws

    prefix = os.path.join(graphs["sample_lstm"], "model.ckpt")
    feed = {"src:0": np.random.RandomState(0).randint(0, V, (64, 4)).astype("int32"),
            "src_len:0": np.full(64, 4, "int32")}
    with TF1Graph(prefix) as g:
        g.focus(["ids:0"])
        a, b = g.run(["ids:0"], feed)[0], g.run(["ids:0"], feed)[0]
    assert a.shape == b.shape and not np.array_equal(a, b)

    report = _convert(graphs["sample_lstm"], tmp_path / "ok", outputs=OUTPUTS)
    assert report["parity"]["ok"]
    model = keras.saving.load_model(str(tmp_path / "ok" / "model.keras"))
    layer = model.get_layer("decoder__decoder__sample_decoder")
    with TF1Graph(prefix) as g:
        g.focus(OUTPUTS)
        small = {"src:0": feed["src:0"][:3], "src_len:0": np.array([4, 2, 3], "int32")}
        logits, ids, _ = g.run(OUTPUTS, small)
    inputs = {"src": small["src:0"], "src_len": small["src_len:0"]}
    assert given_draws(model, {layer.name: ids}) == [layer.name]
    got = model.predict_on_batch(inputs)
    np.testing.assert_array_equal(got[1], ids)
    np.testing.assert_allclose(got[0], logits, atol=1e-5)
    # one TF1 variable, one weight: the decoder reads the encoder's embedding (issue 22), holds none of its own
    assert layer.embedding is model.get_layer("embedding").weights[0]
    emb = layer.embedding.numpy().copy()
    emb[ids[0, 0]] += 0.5    # the first step's draw of row 0: the second step reads its embedding
    layer.embedding.assign(emb)
    given_draws(model, {layer.name: ids})
    got = model.predict_on_batch(inputs)
    np.testing.assert_array_equal(got[1], ids)
    assert np.abs(got[0][0, 1:] - logits[0, 1:]).max() > 1e-3
    untouched = [i for i in range(3) if ids[0, 0] not in small["src:0"][i]]   # the encoder reads the row too
    np.testing.assert_allclose(got[0][untouched, 0], logits[untouched, 0], atol=1e-5)   # no draw at step 0
    given_draws(model, {})


def test_parity_tf1_feeds_the_graphs_draws_from_the_convert_report(graphs, tmp_path):
    """`tf-migrate parity --tf1 CKPT --keras model.keras` (CI, later) binds by convert_report.json, whose
    `parity.given_draws` names the sampling layer and the ids tensor: the graph's ids of each run are fed to the
    layer there too, and the logits compared; without that entry the random graph is refused (exit 2), as before."""
    from migrate.errors import MigrateError
    from migrate.parity.harness import run_graph_parity

    out = tmp_path / "out"
    _convert(graphs["scheduled_gru_none"], out, outputs=["logits:0"])   # the ids: the time-major stack, imported
    prefix = os.path.join(graphs["scheduled_gru_none"], "model.ckpt")
    report = run_graph_parity(prefix, str(out / "model.keras"), batch_size=5)
    assert report.ok and [r.subject.split(" <- ")[1] for r in report.results] == ["logits:0"], report.results
    assert report.results[0].shape[:2] == (5, 6)     # batch 5, max(lengths) steps
    assert any("tfm.given_draws" in n for n in report.notes)
    conv = json.loads((out / "convert_report.json").read_text())
    del conv["parity"]["given_draws"]
    (out / "convert_report.json").write_text(json.dumps(conv))
    with pytest.raises(MigrateError) as e:
        run_graph_parity(prefix, str(out / "model.keras"), batch_size=5)
    assert e.value.exit_code == 2 and "differs between two runs" in str(e.value) and "Multinomial" in str(e.value)


@pytest.mark.parametrize("name", ["scheduled_lstm"])   # the sampling attention decoder: the greedy one's loop (test_graph_decoders)
def test_a_converted_sampling_decoder_trains(graphs, tmp_path, name):
    """Scheduled sampling is a training construct: `fit` on the converted model's logits (its layers drawing their
    own ids) lowers the loss, gradients flowing through the sampling loop to the cells, the embedding and the
    output layer. Converted with the logits as the only output: parity still gets the graph's ids."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    report = _convert(graphs[name], tmp_path / "out", outputs=["logits:0"])
    (given,) = report["parity"]["given_draws"].values()   # the ids imported for parity, though no output reads them
    assert report["parity"]["ok"] and given["ids"].endswith("TensorArrayGatherV3:0")
    model = keras.saving.load_model(str(tmp_path / "out" / "model.keras"))
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.RandomState(0)
    x = {}
    for t in model.inputs:
        name_ = t.name
        x[name_] = np.array([4, 3, 4, 2], "int32") if name_.endswith("len") else \
            rng.randint(0, V, (4, 4)).astype("int32")
    y = rng.randint(0, V, model.predict_on_batch(x).shape[:2])
    before = [w.numpy().copy() for w in model.trainable_weights]
    losses = model.fit(x, y, epochs=4, batch_size=4, verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
    moved = [not np.allclose(a, w.numpy()) for a, w in zip(before, model.trainable_weights)]
    assert sum(moved) >= len(moved) - 1, [w.path for w, m in zip(model.trainable_weights, moved) if not m]


def test_scheduled_sampling_under_an_attention_wrapper_is_refused_naming_the_op(tmp_path):
    """No runtime layer takes a ScheduledEmbeddingTrainingHelper over an AttentionWrapper: the recogniser declines
    with that reason and the generic tier, which has no Multinomial, refuses the op (exit 2 naming it); nothing is
    written."""
    from migrate.errors import MigrateError

    _build(str(tmp_path / "att"), kind="gru", helper="scheduled", attention="luong")
    logs = []
    with pytest.raises(MigrateError) as e:
        _convert(str(tmp_path / "att"), tmp_path / "out", logs, outputs=["ids:0"])
    assert e.value.exit_code == 2 and "Multinomial" in str(e.value)
    assert "no recogniser took it: decoder/decoder/while/while_context: an AttentionWrapper under a " \
           "ScheduledEmbeddingTrainingHelper (no runtime layer samples a teacher-forced attention decoder)" \
        in str(e.value)
    assert not (tmp_path / "out").exists()
