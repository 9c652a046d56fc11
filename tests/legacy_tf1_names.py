"""The variables TF1 gives this repo's legacy graph (`legacy_tf1.model.Seq2SeqModel`), from naming rules.

The expected tables are generated from the naming rules below (TF1_FACTS.md "Names TF1 gives",
contrib's attention_wrapper.py, tensorflow/nmt's scopes), never from what the code under test produces.
Used by tests/test_legacy_names.py (train graphs, Adam state) and parity_tests/test_full_product.py (the eval
graph of each of its 30 rows covering every triple of factor values, built there for its parity check anyway).
"""

from __future__ import annotations

# -- naming rules ---------------------------------------------------------------------------------------
# rnn_cell_impl: LSTMCell -> lstm_cell, BasicLSTMCell -> basic_lstm_cell, GRUCell -> gru_cell.
CELL_SCOPE = {"lstm": "lstm_cell", "basic_lstm": "basic_lstm_cell", "gru": "gru_cell"}


def cell_variables(cell_type, prefix, input_size, units):
    """One cell's variables: LSTM kernel [in+u, 4u] + bias; GRU gates [in+u, 2u] and candidate [in+u, u]."""
    p = f"{prefix}/{CELL_SCOPE[cell_type]}"
    rows = input_size + units
    if cell_type == "gru":
        return {p + "/gates/kernel": [rows, 2 * units], p + "/gates/bias": [2 * units],
                p + "/candidate/kernel": [rows, units], p + "/candidate/bias": [units]}
    return {p + "/kernel": [rows, 4 * units], p + "/bias": [4 * units]}


def stack_variables(cell_type, prefix, input_size, units, layers):
    """MultiRNNCell: multi_rnn_cell/cell_{i}; layer i > 0 reads the `units` outputs of layer i - 1."""
    if layers == 1:
        return cell_variables(cell_type, prefix, input_size, units)
    out = {}
    for i in range(layers):
        out.update(cell_variables(cell_type, f"{prefix}/multi_rnn_cell/cell_{i}", input_size if i == 0 else units,
                                  units))
    return out


def expected_variables(hp):
    """{name: shape} of the model variables (no optimizer state) of `hp`."""
    emb, units = hp.embedding_size, hp.num_units
    out = {"global_step": []}
    if hp.share_embeddings:
        out["embeddings/embedding_share"] = [hp.src_vocab_size, emb]
    else:
        out["embeddings/encoder/embedding_encoder"] = [hp.src_vocab_size, emb]
        out["embeddings/decoder/embedding_decoder"] = [hp.tgt_vocab_size, emb]
    enc = "dynamic_seq2seq/encoder"
    if hp.encoder_type == "uni":
        out.update(stack_variables(hp.cell_type, enc + "/rnn", emb, units, hp.num_layers))
    else:
        for direction in ("fw", "bw"):
            out.update(stack_variables(hp.cell_type, f"{enc}/bidirectional_rnn/{direction}", emb, units, hp.num_layers))
    dec = "dynamic_seq2seq/decoder"
    d_units = units * (2 if hp.encoder_type == "bi" else 1)  # = memory depth
    out_depth = d_units
    if hp.attention == "none":
        out.update(stack_variables(hp.cell_type, dec + "/rnn", emb, d_units, hp.num_layers))
    else:
        wrapper = dec + "/rnn/attention_wrapper"
        attention_depth = hp.attention_layer_size or d_units  # no attention layer: attention = context
        out[dec + "/memory_layer/kernel"] = [d_units, d_units]  # built with the mechanism, in the decoder scope
        out.update(stack_variables(hp.cell_type, wrapper, emb + attention_depth, d_units, hp.num_layers))
        if hp.attention == "scaled_luong":
            out[wrapper + "/luong_attention/attention_g"] = []
        if hp.attention in ("bahdanau", "normalized_bahdanau"):
            out[wrapper + "/bahdanau_attention/query_layer/kernel"] = [d_units, d_units]
            out[wrapper + "/bahdanau_attention/attention_v"] = [d_units]
        if hp.attention == "normalized_bahdanau":
            out[wrapper + "/bahdanau_attention/attention_g"] = []
            out[wrapper + "/bahdanau_attention/attention_b"] = [d_units]
        if hp.attention_layer_size:
            out[wrapper + "/attention_layer/kernel"] = [d_units + d_units, hp.attention_layer_size]
        if hp.output_attention:
            out_depth = attention_depth
    kernel, bias = ("weights", "biases") if hp.projection == "slim" else ("kernel", "bias")
    out[f"{dec}/output_projection/{kernel}"] = [out_depth, hp.tgt_vocab_size]
    out[f"{dec}/output_projection/{bias}"] = [hp.tgt_vocab_size]
    return out


def expected_with_adam(hp):
    """AdamOptimizer: <var>/Adam and <var>/Adam_1 per trainable variable, plus beta1_power, beta2_power."""
    model = expected_variables(hp)
    out = dict(model)
    out.update({"beta1_power": [], "beta2_power": []})
    for name, shape in model.items():
        if name != "global_step":
            out[name + "/Adam"] = shape
            out[name + "/Adam_1"] = shape
    return out


# -- what a built graph holds ---------------------------------------------------------------------------------


def graph_variables(graph, model):
    """({name: shape} of every global variable, trainable names, names the model's Saver writes) of `graph`."""
    import tensorflow as tf  # noqa: PLC0415

    with graph.as_default():
        names = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
        trainable = {v.op.name for v in tf.compat.v1.trainable_variables()}
    saved = {v.op.name for v in model.saver._var_list}  # noqa: SLF001  (what the checkpoint will hold)
    return names, trainable, saved


def assert_same_table(got, expected):
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    wrong = sorted(f"{k}: got {got[k]}, expected {expected[k]}" for k in set(got) & set(expected) if got[k] != expected[k])
    assert not (missing or extra or wrong), f"missing {missing}\nextra {extra}\nwrong shapes {wrong}"


def check_eval_graph_names(graph, model, hp):
    """An eval graph (teacher forcing + greedy while_loop) holds exactly the model variables of `hp`, all trainable
    but the global step, all saved; greedy ids are [batch, decode_max_steps]; alignments exist with attention."""
    names, trainable, saved = graph_variables(graph, model)
    expected = expected_variables(hp)
    assert_same_table(names, expected)
    assert trainable == set(expected) - {"global_step"}
    assert saved == set(expected)
    assert model.greedy_ids.shape.as_list() == [None, hp.decode_max_steps]
    assert (model.alignments is None) == (hp.attention == "none")
