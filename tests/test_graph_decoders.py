"""`convert --from-graph` on contrib.seq2seq decoders: `dynamic_decode` over a `BasicDecoder` + `TrainingHelper`
(teacher forcing) built in TF1 style with `tf_migrate_runtime.contrib.seq2seq`, converted and parity checked.

Random non-zero weights and biases, forget bias != 1; every graph is built once per module (tiny sizes)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from real_corpus import bench, corpus_entry, real_tf1_dir
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _build(path: str, kind: str = "lstm", proj: str = "dense", impute: bool = False, layers: int = 1,
           attention: str | None = None, attention_layer: int | None = None, output_attention: bool = True,
           history: bool = False, greedy: bool = False, train: bool = False, max_iterations: int | None = 6) -> str:
    """src ids -> embedding -> dynamic_rnn encoder -> final state -> BasicDecoder(TrainingHelper(dec inputs,
    dec lengths)) -> dynamic_decode -> logits -> sequence_loss (masked) [+ Adam]."""
    import tensorflow as tf

    from tf_migrate_runtime.contrib import seq2seq

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            src = v1.placeholder(tf.int32, [None, None], name="src")
            src_len = v1.placeholder(tf.int32, [None], name="src_len")
            tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
            tgt_len = v1.placeholder(tf.int32, [None], name="tgt_len")
            tgt_out = v1.placeholder(tf.int32, [None, None], name="tgt_out")
            emb = v1.get_variable("embedding", [11, 6])

            def cell(units=5):
                return v1.nn.rnn_cell.GRUCell(units) if kind == "gru" else \
                    v1.nn.rnn_cell.LSTMCell(units, forget_bias=0.7)

            def cells():
                return cell() if layers == 1 else v1.nn.rnn_cell.MultiRNNCell([cell() for _ in range(layers)])

            with v1.variable_scope("encoder"):
                enc_out, enc_state = v1.nn.dynamic_rnn(cells(), tf.nn.embedding_lookup(emb, src), sequence_length=src_len,
                                                 dtype=tf.float32)
            with v1.variable_scope("decoder"):
                dec_cell, out_layer = cells(), None
                if proj == "dense":
                    out_layer = v1.layers.Dense(11, name="output_projection")
                elif proj == "wrapper":
                    dec_cell = v1.nn.rnn_cell.OutputProjectionWrapper(dec_cell, 11) if hasattr(
                        v1.nn.rnn_cell, "OutputProjectionWrapper") else seq2seq.OutputProjectionWrapper(dec_cell, 11)
                helper = seq2seq.TrainingHelper(tf.nn.embedding_lookup(emb, tgt_in), tgt_len)
                init = enc_state
                if attention:
                    mech = {"luong": lambda: seq2seq.LuongAttention(5, enc_out, src_len),
                            "scaled_luong": lambda: seq2seq.LuongAttention(5, enc_out, src_len, scale=True),
                            "bahdanau": lambda: seq2seq.BahdanauAttention(4, enc_out, src_len),
                            "normalized_bahdanau": lambda: seq2seq.BahdanauAttention(4, enc_out, src_len,
                                                                                    normalize=True)}[attention]()
                    dec_cell = seq2seq.AttentionWrapper(dec_cell, mech, attention_layer_size=attention_layer,
                                                        alignment_history=history, output_attention=output_attention)
                    init = dec_cell.zero_state(tf.size(src_len), tf.float32).clone(cell_state=enc_state)
                decoder = seq2seq.BasicDecoder(dec_cell, helper, init, output_layer=out_layer)
                outputs, final, _ = seq2seq.dynamic_decode(decoder, impute_finished=impute)
                if history:
                    tf.identity(final.alignment_history.stack(), name="alignment_history")
            if greedy:  # inference decoder sharing the trained one's variables (start 1, end 2, at most 6 steps)
                with v1.variable_scope("decoder", reuse=True):
                    g_helper = seq2seq.GreedyEmbeddingHelper(emb, src_len * 0 + 1, 2)
                    g_dec = seq2seq.BasicDecoder(dec_cell, g_helper, init, output_layer=out_layer)
                    g_out, _, _ = seq2seq.dynamic_decode(g_dec, impute_finished=impute,
                                                         maximum_iterations=max_iterations, scope="greedy")
                tf.identity(g_out.rnn_output, name="greedy_logits")
                tf.identity(g_out.sample_id, name="greedy_ids")
            logits = outputs.rnn_output
            if proj == "none":
                logits = v1.layers.dense(logits, 11, name="proj")
            mask = tf.sequence_mask(tgt_len, tf.shape(logits)[1], dtype=tf.float32)
            loss = seq2seq.sequence_loss(logits, tgt_out, mask)
            if train:  # optimizer slots in the .meta / checkpoint (gradients through the loop: slow, so once)
                v1.train.AdamOptimizer(0.1).minimize(loss)
            save_random_weights(path)
    return path


VARIANTS = {  # name -> _build arguments
    "lstm_dense": {"kind": "lstm", "proj": "dense", "train": True},
    "gru_none": {"kind": "gru", "proj": "none"},
    "multi_lstm_impute": {"kind": "lstm", "proj": "dense", "impute": True, "layers": 2, "greedy": True},
    "gru_greedy": {"kind": "gru", "proj": "dense", "greedy": True},
    "greedy_unbounded": {"kind": "gru", "proj": "dense", "greedy": True, "max_iterations": None},
    # AttentionWrapper variants
    "luong_multi": {"attention": "luong", "attention_layer": 6, "layers": 2},
    "scaled_luong_gru": {"kind": "gru", "attention": "scaled_luong", "output_attention": False, "greedy": True},
    "norm_bahdanau_history_impute": {"attention": "normalized_bahdanau", "attention_layer": 6, "history": True,
                                     "impute": True},
    "bahdanau_none": {"attention": "bahdanau", "proj": "none"},
}
OUT = {"rnn_output": "decoder/decoder/transpose:0", "sample_id": "decoder/decoder/transpose_1:0"}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    root = tmp_path_factory.mktemp("decoders")
    return {name: _build(str(root / name), **kw) for name, kw in VARIANTS.items()}


def _convert(src, out, **kw):
    from migrate.graph import convert_graph

    return convert_graph(os.path.join(src, "model.ckpt"), str(out), log=lambda m: None, **kw)


@pytest.mark.parametrize("name", sorted(n for n in VARIANTS if n != "greedy_unbounded"))
def test_training_helper_decoder_converts_with_parity(graphs, tmp_path, name):
    outputs = [OUT["rnn_output"], OUT["sample_id"]]
    report = _convert(graphs[name], tmp_path / "out", outputs=outputs)
    assert report["parity"]["ok"], report["parity"]
    assert [r["max_abs"] for r in report["parity"]["outputs"]][1] == 0  # sample ids exact
    kinds = " ".join(report["translated"])
    source = (tmp_path / "out" / "model.py").read_text()
    if "attention" in VARIANTS[name]:
        mech = {"luong": "LuongAttention)", "scaled_luong": "LuongAttention(scale=True))", "bahdanau":
                "BahdanauAttention)", "normalized_bahdanau": "BahdanauAttention(normalize=True))"}
        assert f"AttentionWrapper {mech[VARIANTS[name]['attention']]}+TrainingHelper -> tfm.AttentionDecoder" in kinds
        assert f"output_attention={VARIANTS[name].get('output_attention', True)})" in source
        cells = [VARIANTS[name].get("kind", "lstm")] * VARIANTS[name].get("layers", 1)
        assert f"tfm.AttentionDecoder({cells!r}, [5" in source  # one layer holding every cell
    else:
        assert "dynamic_decode BasicDecoder+TrainingHelper" in kinds
        assert ("tfm.GRU" if VARIANTS[name].get("kind") == "gru" else "tfm.LSTM") in kinds
    assert "tfm.TrimToMaxLength" in source and "import tensorflow" not in source
    assert ("decoder__decoder__zero_past_length" in source) == VARIANTS[name].get("impute", False)


@pytest.mark.parametrize("name", ["multi_lstm_impute", "scaled_luong_gru"])
def test_decoders_convert_through_the_generic_tier_with_the_recognisers_off(graphs, tmp_path, name):
    """The same decoders op by op (`--no-recognisers`): the TrainingHelper loop, and the GreedyEmbeddingHelper loop
    whose maximum_iterations is the while loop's own counter, with AttentionWrapper or a two-layer LSTM."""
    report = _convert(graphs[name], tmp_path / "out", outputs=[OUT["rnn_output"], OUT["sample_id"],
                                                              "greedy_logits:0", "greedy_ids:0"],
                      recognise_rnns=False)
    assert report["parity"]["ok"], report["parity"]
    assert all(r.get("exact") for r in report["parity"]["outputs"][1::2])   # ids exact
    assert {lp["how"] for lp in report["loops"]} == {"translated generically"} and len(report["loops"]) >= 2
    assert "tfm.AttentionDecoder" not in (tmp_path / "out" / "model.py").read_text()


@pytest.mark.parametrize("name", ["multi_lstm_impute", "gru_greedy", "scaled_luong_gru"])
def test_greedy_embedding_helper_decoder(graphs, tmp_path, name):
    """GreedyEmbeddingHelper (argmax fed back through the embedding, end token 2, maximum_iterations 6) sharing the
    trained decoder's variables: logits and ids match the graph for the steps it runs."""
    report = _convert(graphs[name], tmp_path / "out", outputs=["greedy_logits:0", "greedy_ids:0"])
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][1].get("exact")
    layer = "GreedyAttentionDecoder" if "attention" in VARIANTS[name] else "GreedyDecoder"
    assert sum(n.endswith(f"tfm.{layer}") for n in report["translated"]) == 1
    source = (tmp_path / "out" / "model.py").read_text()
    assert f"tfm.{layer}(" in source and f"impute_finished={VARIANTS[name].get('impute', False)}" in source
    if name == "scaled_luong_gru":  # a pointer network trains through its greedy loop: gradients must flow there
        _fit_through_the_greedy_loop(tmp_path / "out")


def _fit_through_the_greedy_loop(out):
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    logits_model = keras.Model(model.inputs, model.outputs[0])
    logits_model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.RandomState(0)
    x = {t.name: rng.randint(1, 7, (4, 5)).astype("int32") if len(t.shape) == 2 else np.full((4,), 5, "int32")
         for t in model.inputs}
    y = rng.randint(0, 7, logits_model.predict_on_batch(x).shape[:2])
    losses = logits_model.fit(x, y, epochs=3, batch_size=4, verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses   # on TF: no XlaDynamicUpdateSlice gradient


def test_greedy_decoder_without_maximum_iterations_converts_or_stops_in_time(graphs, tmp_path, monkeypatch):
    """An unbounded greedy decode (no maximum_iterations) is a loop that stops on the model's own outputs: the
    generic tier translates it; the parity run either finishes with parity or, when the generated inputs never
    reach the end token, stops at the run limit with one message naming the way out. Never a hang, nothing
    written on failure."""
    from migrate.errors import MigrateError
    from migrate.graph.convert import convert_graph

    monkeypatch.setenv("TF_MIGRATE_RUN_SECONDS", "5")
    try:
        report = convert_graph(graphs["greedy_unbounded"], str(tmp_path / "out"), outputs=["greedy_ids:0"],
                               log=lambda m: None)
    except MigrateError as e:
        assert e.exit_code in (1, 2) and "did not finish in 5 s" in str(e) and "maximum_iterations" in str(e), e
        assert not (tmp_path / "out").exists()
    else:
        assert report["parity"]["ok"]
        assert any(lp["loop"].startswith("decoder_1/greedy/while") and lp["how"] == "translated generically"
                   for lp in report["loops"]), report["loops"]


def test_alignment_history_is_the_stacked_alignments(graphs, tmp_path):
    """AttentionWrapper(alignment_history=True): final_state.alignment_history.stack() (time major [T, B, S]) comes
    from the layer's alignments; each row sums to 1 inside the memory length and is 0 past it."""
    report = _convert(graphs["norm_bahdanau_history_impute"], tmp_path / "out",
                      outputs=["decoder/alignment_history:0", OUT["rnn_output"]])
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][0]["max_abs"] < 1e-6


def test_decoder_runs_max_length_steps_and_reloads(graphs, tmp_path):
    """Lengths all shorter than the inputs: TF1 decodes max(lengths) = 2 steps of 5; the model must too
    (and impute_finished zeroes row 0 past its length 1). model.keras reloads to the same outputs."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    rng = np.random.RandomState(1)
    feed = {"src:0": rng.randint(0, 11, (2, 4)).astype("int32"), "src_len:0": np.array([4, 3], "int32"),
            "tgt_in:0": rng.randint(0, 11, (2, 5)).astype("int32"), "tgt_len:0": np.array([1, 2], "int32")}
    np.savez(tmp_path / "feed.npz", **feed)
    out = tmp_path / "out"
    report = _convert(graphs["multi_lstm_impute"], out, outputs=[OUT["rnn_output"]],
                      inputs_npz=str(tmp_path / "feed.npz"))
    rows = [r for r in report["parity"]["outputs"] if r["inputs"] == "--inputs"]
    assert rows and rows[0]["ok"], rows
    model = keras.saving.load_model(str(out / "model.keras"))
    got = np.asarray(model({i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"]}))
    assert got.shape == (2, 2, 11)
    assert np.all(got[0, 1] == 0) and np.any(got[1, 1] != 0)
    with open(out / "convert_report.json") as f:
        assert json.load(f)["load_requires"] == ["tf_migrate_runtime.layers"]


def test_dynamic_rnn_over_an_attention_wrapper_time_major_without_lengths(tmp_path):
    """`dynamic_rnn(AttentionWrapper(LSTMCell), time_major=True)` with no sequence_length (teacher forcing without a
    helper): one `tfm.AttentionDecoder` over every step, nothing trimmed; the graph's time-major outputs and the
    alignments in its final state match. (With sequence_length and batch major: tests/test_graph_legacy_variants.)"""
    import tensorflow as tf

    from tf_migrate_runtime.contrib import seq2seq

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            src = v1.placeholder(tf.int32, [None, None], name="src")
            src_len = v1.placeholder(tf.int32, [None], name="src_len")
            tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
            emb = v1.get_variable("embedding", [11, 6])
            with v1.variable_scope("encoder"):
                enc_out, enc_state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7),
                                                       tf.nn.embedding_lookup(emb, src), sequence_length=src_len,
                                                       dtype=tf.float32)
            with v1.variable_scope("decoder"):
                cell = seq2seq.AttentionWrapper(v1.nn.rnn_cell.LSTMCell(5, forget_bias=1.4),
                                                seq2seq.LuongAttention(5, enc_out, src_len, scale=True),
                                                attention_layer_size=6, alignment_history=True)
                init = cell.zero_state(tf.size(src_len), tf.float32).clone(cell_state=enc_state)
                x = tf.transpose(tf.nn.embedding_lookup(emb, tgt_in), [1, 0, 2])
                out, final = v1.nn.dynamic_rnn(cell, x, initial_state=init, time_major=True, dtype=tf.float32)
                tf.identity(v1.layers.dense(out, 11, name="proj"), name="logits_time_major")
                tf.identity(final.alignment_history.stack(), name="alignments")
            rng = np.random.RandomState(2)
            with v1.Session() as s:
                s.run(v1.global_variables_initializer())
                for v in v1.trainable_variables():
                    s.run(v.assign(rng.normal(0, 0.5, v.shape.as_list()).astype("float32")))
                v1.train.Saver().save(s, str(tmp_path / "model.ckpt"))
    report = _convert(str(tmp_path), tmp_path / "out", outputs=["decoder/logits_time_major:0", "decoder/alignments:0"])
    assert report["parity"]["ok"], report["parity"]
    assert report["translated"]["dynamic_rnn(AttentionWrapper LuongAttention(scale=True)) -> tfm.AttentionDecoder"] == 1
    source = (tmp_path / "out" / "model.py").read_text()
    assert "TrimToMaxLength" not in source and "sequence_lengths=" not in source
    assert [r["shape"] for r in report["parity"]["outputs"]] == [[5, 3, 11], [5, 3, 5]]  # time major [T, B, ...]


REAL_DECODERS = {  # real TF1 checkpoints with contrib.seq2seq decoders (tests/fixtures/real_tf1/manifest.json)
    "udacity_seq2seq_contrib_tf12", "udacity_translation_contrib_tf11",  # TrainingHelper + GreedyEmbeddingHelper
    "ptrnet_lstm_bahdanau_tf16", "ptrnet_gru_bahdanau_tf15",            # AttentionWrapper(Bahdanau), alignments
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL_DECODERS))
def test_real_tf1_decoder_converts_with_parity(name, tmp_path):
    _, entry = corpus_entry(name)
    row = bench().convert_one(entry, real_tf1_dir(), "fed", str(tmp_path))
    assert row["converted"] and row["parity_ok"], row
    assert row["outputs"] == entry["outputs"]


def _unrecognised_loop_graph(path: str, loop: str) -> str:
    """An encoder plus, in a scope named `decoder`, an inference loop no recogniser takes: a hand-written greedy
    `tf.nn.raw_rnn` keeping its ids in `loop_state` (`loop="raw_rnn"`) or a contrib BeamSearchDecoder
    (`loop="beam"`); saved with random weights."""
    import tensorflow as tf

    from tf_migrate_runtime.contrib import seq2seq

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            src = v1.placeholder(tf.int32, [None, None], name="src")
            emb = v1.get_variable("embedding", [11, 6])
            with v1.variable_scope("encoder"):
                _, state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.GRUCell(5), tf.nn.embedding_lookup(emb, src),
                                             dtype=tf.float32)
            with v1.variable_scope("decoder"):
                cell, proj = v1.nn.rnn_cell.GRUCell(5), v1.layers.Dense(11, name="output_projection")
                batch = tf.shape(src)[0]
                if loop == "raw_rnn":   # the ids kept in loop_state (constructs/raw_rnn.py takes the loop without)
                    def loop_fn(time, output, cell_state, loop_state):
                        if output is None:   # time 0: start token 1
                            return (tf.zeros([batch], tf.bool), tf.nn.embedding_lookup(emb, tf.ones([batch], tf.int32)),
                                    state, None, tf.TensorArray(tf.int32, size=0, dynamic_size=True))
                        ids = tf.argmax(proj(output), -1, output_type=tf.int32)
                        return (time >= 6, tf.nn.embedding_lookup(emb, ids), cell_state, output,
                                loop_state.write(time - 1, ids))

                    _, _, ids_ta = v1.nn.raw_rnn(cell, loop_fn)
                    tf.identity(tf.transpose(ids_ta.stack()), name="greedy_ids")
                else:
                    dec = seq2seq.BeamSearchDecoder(cell, emb, tf.fill([batch], 1), 2,
                                                    seq2seq.tile_batch(state, 3), 3, output_layer=proj)
                    out, _, _ = seq2seq.dynamic_decode(dec, maximum_iterations=6)
                    tf.identity(out.predicted_ids, name="greedy_ids")
            return save_random_weights(path)


@pytest.mark.parametrize("loop", ["raw_rnn", "beam"])
def test_an_unrecognised_decoder_loop_converts_through_the_generic_tier(tmp_path, loop):
    """A greedy `tf.nn.raw_rnn` decoder, which no recogniser takes, and the GatherTree scan after a BeamSearchDecoder
    (as TF 2.21 composes it; a TF1 graph's own GatherTree node is `tfm.GatherTree`) convert with parity op by op;
    the encoder and the beam step loop beside them are recognised layers."""
    from migrate.graph.convert import convert_graph

    ckpt = _unrecognised_loop_graph(str(tmp_path / "ckpt"), loop)
    report = convert_graph(ckpt, str(tmp_path / "out"), outputs=["decoder/greedy_ids:0"], log=lambda m: None)
    assert report["parity"]["ok"] and report["parity"]["outputs"][0]["exact"], report["parity"]
    how = {lp["loop"]: lp["how"] for lp in report["loops"]}
    assert how.pop("encoder/rnn") == "recognised as dynamic_rnn"
    if loop == "beam":   # the beam step loop is recognised now (tests/test_graph_beam_search.py); the GatherTree
        assert how.pop("decoder/decoder") == "recognised as beam_search_decoder"   # scan TF 2.21 composes stays
    assert how and set(how.values()) == {"translated generically"}, report["loops"]
    assert all(k.startswith("decoder/") for k in how)
    if loop == "raw_rnn":   # the reason names what keeps constructs/raw_rnn.py from it
        assert [lp["why"] for lp in report["loops"] if lp["loop"].startswith("decoder/")] == [
            "no recogniser took it: a tf.nn.raw_rnn whose loop_fn constructs/raw_rnn.py does not take: a TensorArray "
            "written other than raw_rnn's emit (a loop state holding a TensorArray)"], report["loops"]
