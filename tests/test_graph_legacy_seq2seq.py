"""`convert --from-graph` on TF1 `legacy_seq2seq` attention decoders (unrolled: one op set per step, no while
loop): each becomes one `tfm.LegacyAttentionDecoder`, checked for parity against the TF1 graph.

TF 2.21 has no `tf.contrib`, so `_TF1` below is TF 1.15's own code (`contrib/legacy_seq2seq/python/ops/seq2seq.py`:
`attention_decoder`, `embedding_attention_decoder`, `embedding_attention_seq2seq`, `_extract_argmax_and_embed`;
`contrib/rnn/python/ops/core_rnn_cell.py`: `_linear`, `EmbeddingWrapper`, `OutputProjectionWrapper`) ported line by
line onto `tf.compat.v1`, so variable and op names are TF1's. The cells are TF's own (`tf.compat.v1.nn.rnn_cell`),
the encoder TF's own `static_rnn`. One graph holds every variant (one build, one checkpoint per module); weights and
biases random and non-zero, forget biases not 1.
"""

from __future__ import annotations

import copy
import json
import math
import os

import numpy as np
import pytest
from real_corpus import bench, corpus_entry, real_tf1_dir

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

T_ENC, T_DEC, V_ENC, V_DEC, EMB = 4, 3, 9, 11, 6


def _tf1(tf):
    """TF 1.15's legacy_seq2seq and the core_rnn_cell pieces it uses, on tf.compat.v1 (names and math as TF1)."""
    v1 = tf.compat.v1
    rnn_cell = v1.nn.rnn_cell

    def linear(args, output_size, bias):  # core_rnn_cell._linear
        if not isinstance(args, (list, tuple)):
            args = [args]
        total_arg_size = sum(int(a.shape[1]) for a in args)
        dtype = args[0].dtype
        scope = v1.get_variable_scope()
        with v1.variable_scope(scope) as outer_scope:
            weights = v1.get_variable("kernel", [total_arg_size, output_size], dtype=dtype)
            res = tf.matmul(args[0], weights) if len(args) == 1 else tf.matmul(tf.concat(args, 1), weights)
            if not bias:
                return res
            with v1.variable_scope(outer_scope) as inner_scope:
                inner_scope.set_partitioner(None)
                biases = v1.get_variable("bias", [output_size], dtype=dtype,
                                         initializer=v1.constant_initializer(0.0, dtype=dtype))
            return tf.nn.bias_add(res, biases)

    class EmbeddingWrapper(rnn_cell.RNNCell):
        def __init__(self, cell, embedding_classes, embedding_size, initializer=None, reuse=None):
            super().__init__(_reuse=reuse)
            self._cell, self._embedding_classes, self._embedding_size = cell, embedding_classes, embedding_size
            self._initializer = initializer

        @property
        def state_size(self):
            return self._cell.state_size

        @property
        def output_size(self):
            return self._cell.output_size

        def zero_state(self, batch_size, dtype):
            with tf.name_scope(type(self).__name__ + "ZeroState"):
                return self._cell.zero_state(batch_size, dtype)

        def call(self, inputs, state):
            with tf.device("/cpu:0"):
                sqrt3 = math.sqrt(3)
                initializer = self._initializer or v1.random_uniform_initializer(-sqrt3, sqrt3)
                data_type = state[0].dtype if isinstance(state, tuple) else state.dtype
                embedding = v1.get_variable("embedding", [self._embedding_classes, self._embedding_size],
                                            initializer=initializer, dtype=data_type)
                embedded = tf.nn.embedding_lookup(embedding, tf.reshape(inputs, [-1]))
                return self._cell(embedded, state)

    class OutputProjectionWrapper(rnn_cell.RNNCell):
        def __init__(self, cell, output_size, activation=None, reuse=None):
            super().__init__(_reuse=reuse)
            self._cell, self._output_size, self._activation = cell, output_size, activation
            self._weights = None

        @property
        def state_size(self):
            return self._cell.state_size

        @property
        def output_size(self):
            return self._output_size

        def zero_state(self, batch_size, dtype):
            with tf.name_scope(type(self).__name__ + "ZeroState"):
                return self._cell.zero_state(batch_size, dtype)

        def call(self, inputs, state):
            output, res_state = self._cell(inputs, state)
            if self._weights is None:  # _Linear(output, output_size, True): kernel / bias in this scope
                self._weights = (v1.get_variable("kernel", [int(output.shape[1]), self._output_size]),
                                 v1.get_variable("bias", [self._output_size],
                                                 initializer=v1.constant_initializer(0.0)))
            projected = tf.nn.bias_add(tf.matmul(output, self._weights[0]), self._weights[1])
            return (self._activation(projected) if self._activation else projected), res_state

    def _extract_argmax_and_embed(embedding, output_projection=None, update_embedding=True):
        def loop_function(prev, _):
            if output_projection is not None:
                prev = v1.nn.xw_plus_b(prev, output_projection[0], output_projection[1])
            prev_symbol = tf.argmax(prev, 1)
            emb_prev = tf.nn.embedding_lookup(embedding, prev_symbol)
            if not update_embedding:
                emb_prev = tf.stop_gradient(emb_prev)
            return emb_prev
        return loop_function

    def attention_decoder(decoder_inputs, initial_state, attention_states, cell, output_size=None, num_heads=1,
                          loop_function=None, dtype=None, scope=None, initial_state_attention=False):
        if output_size is None:
            output_size = cell.output_size
        with v1.variable_scope(scope or "attention_decoder", dtype=dtype) as scope:
            dtype = scope.dtype
            batch_size = tf.shape(decoder_inputs[0])[0]
            attn_length = attention_states.shape[1]
            if attn_length is None:
                attn_length = tf.shape(attention_states)[1]
            attn_size = attention_states.shape[2]
            hidden = tf.reshape(attention_states, [-1, attn_length, 1, attn_size])
            hidden_features, v = [], []
            attention_vec_size = attn_size
            for a in range(num_heads):
                k = v1.get_variable(f"AttnW_{a}", [1, 1, attn_size, attention_vec_size])
                hidden_features.append(tf.nn.conv2d(hidden, k, [1, 1, 1, 1], "SAME"))
                v.append(v1.get_variable(f"AttnV_{a}", [attention_vec_size]))
            state = initial_state

            def attention(query):
                ds = []
                if tf.nest.is_nested(query):
                    query = tf.concat(tf.nest.flatten(query), 1)
                for a in range(num_heads):
                    with v1.variable_scope(f"Attention_{a}"):
                        y = linear(query, attention_vec_size, True)
                        y = tf.reshape(y, [-1, 1, 1, attention_vec_size])
                        s = tf.reduce_sum(v[a] * tf.tanh(hidden_features[a] + y), [2, 3])
                        a = tf.nn.softmax(s)
                        d = tf.reduce_sum(tf.reshape(a, [-1, attn_length, 1, 1]) * hidden, [1, 2])
                        ds.append(tf.reshape(d, [-1, attn_size]))
                return ds

            outputs, prev = [], None
            batch_attn_size = tf.stack([batch_size, attn_size])
            attns = [tf.zeros(batch_attn_size, dtype=dtype) for _ in range(num_heads)]
            for a in attns:
                a.set_shape([None, attn_size])
            if initial_state_attention:
                attns = attention(initial_state)
            for i, inp in enumerate(decoder_inputs):
                if i > 0:
                    v1.get_variable_scope().reuse_variables()
                if loop_function is not None and prev is not None:
                    with v1.variable_scope("loop_function", reuse=True):
                        inp = loop_function(prev, i)
                input_size = inp.shape[1]
                x = linear([inp] + attns, input_size, True)
                cell_output, state = cell(x, state)
                if i == 0 and initial_state_attention:
                    with v1.variable_scope(v1.get_variable_scope(), reuse=True):
                        attns = attention(state)
                else:
                    attns = attention(state)
                with v1.variable_scope("AttnOutputProjection"):
                    output = linear([cell_output] + attns, output_size, True)
                if loop_function is not None:
                    prev = output
                outputs.append(output)
        return outputs, state

    def embedding_attention_decoder(decoder_inputs, initial_state, attention_states, cell, num_symbols,
                                    embedding_size, num_heads=1, output_size=None, output_projection=None,
                                    feed_previous=False, update_embedding_for_previous=True, dtype=None, scope=None,
                                    initial_state_attention=False):
        if output_size is None:
            output_size = cell.output_size
        with v1.variable_scope(scope or "embedding_attention_decoder", dtype=dtype):
            embedding = v1.get_variable("embedding", [num_symbols, embedding_size])
            loop_function = _extract_argmax_and_embed(embedding, output_projection,
                                                      update_embedding_for_previous) if feed_previous else None
            emb_inp = [tf.nn.embedding_lookup(embedding, i) for i in decoder_inputs]
            return attention_decoder(emb_inp, initial_state, attention_states, cell, output_size=output_size,
                                     num_heads=num_heads, loop_function=loop_function,
                                     initial_state_attention=initial_state_attention)

    def embedding_attention_seq2seq(encoder_inputs, decoder_inputs, cell, num_encoder_symbols, num_decoder_symbols,
                                    embedding_size, num_heads=1, output_projection=None, feed_previous=False,
                                    dtype=None, scope=None, initial_state_attention=False):
        with v1.variable_scope(scope or "embedding_attention_seq2seq", dtype=dtype) as scope:
            dtype = scope.dtype
            encoder_cell = EmbeddingWrapper(copy.deepcopy(cell), embedding_classes=num_encoder_symbols,
                                            embedding_size=embedding_size)
            encoder_outputs, encoder_state = v1.nn.static_rnn(encoder_cell, encoder_inputs, dtype=dtype)
            top_states = [tf.reshape(e, [-1, 1, cell.output_size]) for e in encoder_outputs]
            attention_states = tf.concat(top_states, 1)
            output_size = None
            if output_projection is None:
                cell = OutputProjectionWrapper(cell, num_decoder_symbols)
                output_size = num_decoder_symbols
            return embedding_attention_decoder(
                decoder_inputs, encoder_state, attention_states, cell, num_decoder_symbols, embedding_size,
                num_heads=num_heads, output_size=output_size, output_projection=output_projection,
                feed_previous=feed_previous, initial_state_attention=initial_state_attention)

    return attention_decoder, embedding_attention_seq2seq


VARIANTS = {  # name -> (cell, embedding_attention_seq2seq / attention_decoder arguments)
    "seq2seq_lstm": ("lstm", {"feed_previous": False}),
    "seq2seq_gru_greedy_projection": ("gru", {"feed_previous": True, "output_projection": True}),
    "seq2seq_multi_2heads_greedy_isa": ("multi", {"feed_previous": True, "num_heads": 2,
                                                  "initial_state_attention": True}),
    "decoder_basic_lstm_2heads_isa": ("basic_lstm", {"num_heads": 2, "initial_state_attention": True}),
    "seq2seq_lstm_concat_state_greedy": ("lstm_concat", {"feed_previous": True}),  # state_is_tuple=False
    "seq2seq_basic_lstm_concat_state": ("basic_lstm_concat", {"num_heads": 2}),     # state_is_tuple=False
    # model_with_buckets: a second decoder (2 steps) over the same variables and the first placeholders
    "seq2seq_buckets": ("gru", {"feed_previous": False}),
}


def _cell(tf, kind):
    rc = tf.compat.v1.nn.rnn_cell
    if kind == "lstm":
        return rc.LSTMCell(5, forget_bias=0.7)
    if kind == "basic_lstm":
        return rc.BasicLSTMCell(5, forget_bias=0.6)
    if kind == "lstm_concat":
        return rc.LSTMCell(5, forget_bias=0.9, state_is_tuple=False)
    if kind == "basic_lstm_concat":
        return rc.BasicLSTMCell(5, forget_bias=0.4, state_is_tuple=False)
    if kind == "gru":
        return rc.GRUCell(5)
    return rc.MultiRNNCell([rc.LSTMCell(5, forget_bias=0.8), rc.GRUCell(4)])


def _build(path: str) -> str:
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_resource_variables()  # TF1's ref variables (VariableV2 read by one `/read` Identity)
    try:
        return _build_graph(tf, path)
    finally:
        v1.enable_resource_variables()


def _build_graph(tf, path: str) -> str:
    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        attention_decoder, embedding_attention_seq2seq = _tf1(tf)
        for name, (kind, kw) in VARIANTS.items():
            with v1.variable_scope(name):
                kw = dict(kw)
                if name.startswith("seq2seq"):  # the translate tutorial's placeholders
                    enc = [v1.placeholder(tf.int32, [None], name=f"encoder{i}") for i in range(T_ENC)]
                    dec = [v1.placeholder(tf.int32, [None], name=f"decoder{i}") for i in range(T_DEC)]
                    proj = None
                    if kw.pop("output_projection", False):  # translate's seq2seq_model.py: (transpose(w_t), b)
                        w_t = v1.get_variable("proj_w", [V_DEC, 5])
                        proj = (tf.transpose(w_t), v1.get_variable("proj_b", [V_DEC]))
                    outputs, state = embedding_attention_seq2seq(enc, dec, _cell(tf, kind), V_ENC, V_DEC, EMB,
                                                                 output_projection=proj, **kw)
                    if proj is not None:
                        outputs = [tf.matmul(o, proj[0]) + proj[1] for o in outputs]
                    if name == "seq2seq_buckets":  # seq2seq.model_with_buckets' reuse for bucket (T_ENC, 2)
                        with v1.variable_scope(v1.get_variable_scope(), reuse=True):
                            small, _ = embedding_attention_seq2seq(enc, dec[:2], _cell(tf, kind), V_ENC, V_DEC, EMB,
                                                                   **kw)
                        tf.stack(small, 1, name="logits_bucket_1")
                else:  # attention_decoder on float inputs, given attention states and initial state
                    dec = [v1.placeholder(tf.float32, [None, 3], name=f"dec_x{i}") for i in range(T_DEC)]
                    att = v1.placeholder(tf.float32, [None, 7, 4], name="attention_states")
                    init = v1.nn.rnn_cell.LSTMStateTuple(v1.placeholder(tf.float32, [None, 5], name="init_c"),
                                                         v1.placeholder(tf.float32, [None, 5], name="init_h"))
                    outputs, state = attention_decoder(dec, init, att, _cell(tf, kind), output_size=8, **kw)
                tf.stack(outputs, 1, name="logits")
                tf.identity(tf.nest.flatten(state)[-1], name="final_h")
        with v1.Session() as s:
            s.run(v1.global_variables_initializer())
            rng = np.random.RandomState(3)
            for var in v1.global_variables():
                var.load(rng.uniform(-0.6, 0.6, var.shape.as_list()).astype("float32"), s)
            v1.train.Saver().save(s, os.path.join(path, "model.ckpt"))
    return path


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return _build(str(tmp_path_factory.mktemp("legacy_seq2seq")))


def _convert(src, out, outputs):
    from migrate.graph import convert_graph

    return convert_graph(os.path.join(src, "model.ckpt"), str(out), outputs=outputs, log=lambda m: None)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_legacy_attention_decoder_converts_with_parity(graph, tmp_path, name):
    """Every step's logits and the final state match the TF1 graph; the decoder is ONE runtime layer (not 3 x the
    step ops) with the variant's cells, heads, feed_previous and initial_state_attention."""
    kind, kw = VARIANTS[name]
    report = _convert(graph, tmp_path / "out", [f"{name}/logits:0", f"{name}/final_h:0"])
    assert report["parity"]["ok"], report["parity"]
    rows = report["parity"]["outputs"]
    assert rows[0]["shape"][1:] == [T_DEC, 8 if kind == "basic_lstm" else V_DEC]
    assert max(r["max_abs"] for r in rows) < 1e-5
    what = "attention_decoder" if name.startswith("decoder") else "embedding_attention_decoder"
    fp = kw.get("feed_previous", False)
    assert report["translated"][f"legacy_seq2seq {what} feed_previous={fp} -> tfm.LegacyAttentionDecoder"] == 1
    source = (tmp_path / "out" / "model.py").read_text()
    assert source.count("tfm.LegacyAttentionDecoder(") == 1 and "import tensorflow" not in source
    assert f"num_heads={kw.get('num_heads', 1)}" in source
    assert ("initial_state_attention=True" in source) == kw.get("initial_state_attention", False)
    assert (f"feed_previous=True, steps={T_DEC}, vocab_size={V_DEC}" in source) == fp
    assert ("loop_projection_size=11" in source) == ("output_projection" in kw)
    assert ("cell_output_size=11" in source) == (name.startswith("seq2seq") and "output_projection" not in kw)
    assert "Conv2D" not in source and "attention_decoder__Attention_0" not in source  # no step op left over
    if name.startswith("seq2seq") and name != "seq2seq_buckets":
        # the encoder: static_rnn -> one Keras RNN layer (LSTMCell(state_is_tuple=False) slicing its state too:
        # matching.resolve_state). Buckets run 2 chains on one kernel: op by op, still with parity
        assert any(k.startswith("static_rnn") for k in report["translated"]), report["translated"]


def test_second_bucket_decoder_sharing_variables(graph, tmp_path):
    """model_with_buckets: two decoders share every variable (and the input linear's kernel); the second one (2
    steps) is recognised on its own and matches the graph."""
    report = _convert(graph, tmp_path / "out", ["seq2seq_buckets/logits_bucket_1:0"])
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["outputs"][0]["shape"][1:] == [2, V_DEC]
    assert report["translated"]["legacy_seq2seq embedding_attention_decoder feed_previous=False -> "
                                "tfm.LegacyAttentionDecoder"] == 1


def test_greedy_decoder_ignores_later_decoder_inputs(graph, tmp_path):
    """feed_previous=True: only the GO input is an input of the model (decoder1.. are not read), and the model
    reloads from model.keras to the same logits."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401

    name = "seq2seq_gru_greedy_projection"
    out = tmp_path / "out"
    report = _convert(graph, out, [f"{name}/logits:0"])
    graph_inputs = sorted(i["graph"] for i in report["graph"]["inputs"])
    assert graph_inputs == sorted([f"{name}/decoder0:0"] + [f"{name}/encoder{i}:0" for i in range(T_ENC)])
    rng = np.random.RandomState(5)
    feed = {i["keras"]: rng.randint(1, V_ENC, (2,)).astype("int32") for i in report["graph"]["inputs"]}
    model = keras.saving.load_model(str(out / "model.keras"))
    with open(out / "convert_report.json") as f:
        assert "tf_migrate_runtime.layers" in json.load(f)["load_requires"]
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default(), tf.compat.v1.Session() as s:
        saver = tf.compat.v1.train.import_meta_graph(os.path.join(graph, "model.ckpt.meta"))
        saver.restore(s, os.path.join(graph, "model.ckpt"))
        ref = s.run(f"{name}/logits:0", {i["graph"]: feed[i["keras"]] for i in report["graph"]["inputs"]})
    got = np.asarray(model(feed))
    np.testing.assert_allclose(got, ref, atol=1e-5)


REAL = "tflearn_legacy_attention_seq2seq_v1"


@pytest.mark.slow
def test_real_tflearn_embedding_attention_seq2seq_converts_with_parity(tmp_path):
    """ichuang/tflearn_seq2seq (TF 0.9/0.10, V1 checkpoint, pre-1.0 `Linear/Matrix` names and `Concat` ops):
    embedding_attention_seq2seq with BasicLSTMCell(32), 20 encoder / 20 decoder steps -> static_rnn + one
    LegacyAttentionDecoder; the manifest's outputs (stacked logits, their argmax) match the graph."""
    _, entry = corpus_entry(REAL)
    row = bench().convert_one(entry, real_tf1_dir(), "fed", str(tmp_path))
    assert row["converted"] and row["parity_ok"], row
    assert row["translated"]["legacy_seq2seq embedding_attention_decoder feed_previous=False -> "
                             "tfm.LegacyAttentionDecoder"] == 1
    assert row["translated"]["static_rnn LSTMCell/BasicLSTMCell -> tfm.LSTM"] == 1
