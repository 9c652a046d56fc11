"""The Keras 3 port against NumPy implementations of the TF1 equations (TF1 layouts, forget_bias 0.8).

Every weight is drawn at random in the layout TF1 stores it (`kernel [in + h, 4u]` with gates
i,j,f,o; GRU `gates/kernel` r,u and `candidate/kernel`; non-zero biases) and mapped into the port
with the small table below (the real converter lives in `migrate`); the port must then compute the
legacy numbers: logits at every position, with padded sources and targets of different lengths.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from seq2seq_task import HParams  # noqa: E402
from tf2.seq2seq import Seq2Seq  # noqa: E402

FORGET_BIAS = 0.8
ATOL = 1e-5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# NumPy TF1: rnn_cell_impl.LSTMCell / BasicLSTMCell / GRUCell, dynamic_rnn, contrib attention.
# ---------------------------------------------------------------------------------------------
def tf1_cell_weights(rng, cell_type, in_dim, units):
    if cell_type == "gru":
        return {"gates/kernel": rng.randn(in_dim + units, 2 * units) * 0.5,
                "gates/bias": rng.randn(2 * units) * 0.5,
                "candidate/kernel": rng.randn(in_dim + units, units) * 0.5,
                "candidate/bias": rng.randn(units) * 0.5}
    return {"kernel": rng.randn(in_dim + units, 4 * units) * 0.5, "bias": rng.randn(4 * units) * 0.5}


def tf1_cell_step(cell_type, w, x, state):
    """One TF1 step; state is (c, h) for LSTM (LSTMStateTuple order), (h,) for GRU."""
    if cell_type == "gru":
        (h,) = state
        u_dim = h.shape[-1]
        gates = sigmoid(np.concatenate([x, h]) @ w["gates/kernel"] + w["gates/bias"])
        r, u = gates[:u_dim], gates[u_dim:]
        c = np.tanh(np.concatenate([x, r * h]) @ w["candidate/kernel"] + w["candidate/bias"])
        h = u * h + (1 - u) * c
        return h, (h,)
    c, h = state
    i, j, f, o = np.split(np.concatenate([x, h]) @ w["kernel"] + w["bias"], 4)
    c = sigmoid(f + FORGET_BIAS) * c + sigmoid(i) * np.tanh(j)
    h = sigmoid(o) * np.tanh(c)
    return h, (c, h)


def zero_state(cell_type, units):
    return (np.zeros(units),) if cell_type == "gru" else (np.zeros(units), np.zeros(units))


def tf1_stack_over(cell_type, ws, xs):
    """dynamic_rnn of a MultiRNNCell over the valid steps `xs` [n, in] -> outputs [n, u], states."""
    states = [zero_state(cell_type, w_units(cell_type, w)) for w in ws]
    outs = []
    for x in xs:
        for layer, w in enumerate(ws):
            x, states[layer] = tf1_cell_step(cell_type, w, x, states[layer])
        outs.append(x)
    return np.array(outs), states


def w_units(cell_type, w):
    return w["candidate/bias"].shape[0] if cell_type == "gru" else w["bias"].shape[0] // 4


def tf1_attention(hp, aw, query, keys, memory):
    if hp.attention in ("luong", "scaled_luong"):
        score = keys @ query
        if hp.attention == "scaled_luong":
            score = aw["attention_g"] * score
    else:
        pq = query @ aw["query_layer"]
        v = aw["attention_v"]
        if hp.attention == "normalized_bahdanau":
            v = aw["attention_g"] * v / np.sqrt(np.sum(v * v))
            score = np.tanh(keys + pq + aw["attention_b"]) @ v
        else:
            score = np.tanh(keys + pq) @ v
    e = np.exp(score - score.max())
    alignments = e / e.sum()
    context = alignments @ memory
    return alignments, context


def tf1_forward(hp, w, enc_ids, dec_ids):
    """The legacy model's logits [B, T, V] from TF1-layout weights `w`, one row at a time."""
    batch, t_len = dec_ids.shape
    logits = np.zeros((batch, t_len, hp.tgt_vocab_size))
    tgt_emb = w["source_embedding"] if hp.share_embeddings else w["target_embedding"]
    for b in range(batch):
        n_src = int((enc_ids[b] != 0).sum())
        x = w["source_embedding"][enc_ids[b, :n_src]]
        fw_out, fw_states = tf1_stack_over(hp.cell_type, w["encoder_fw"], x)
        if hp.encoder_type == "bi":
            bw_out, bw_states = tf1_stack_over(hp.cell_type, w["encoder_bw"], x[::-1])
            memory = np.concatenate([fw_out, bw_out[::-1]], -1)
            states = [tuple(np.concatenate([f, g]) for f, g in zip(fs, bs)) for fs, bs in zip(fw_states, bw_states)]
        else:
            memory, states = fw_out, fw_states
        n_tgt = int((dec_ids[b] != 0).sum())
        attention = None
        if hp.attention != "none":
            aw = w["attention"]
            keys = memory @ aw["memory_layer"]
            attention = np.zeros(hp.attention_layer_size or memory.shape[-1])
        for t in range(t_len):
            if t >= n_tgt:  # dynamic_rnn emits zeros past the length: logits = projection bias
                logits[b, t] = w["projection/bias"]
                continue
            x = tgt_emb[dec_ids[b, t]]
            if attention is not None:
                x = np.concatenate([x, attention])
            for layer, cw in enumerate(w["decoder"]):
                x, states[layer] = tf1_cell_step(hp.cell_type, cw, x, states[layer])
            out = x
            if attention is not None:
                _, context = tf1_attention(hp, aw, x, keys, memory)
                attention = (np.concatenate([x, context]) @ aw["attention_layer"]
                             if hp.attention_layer_size else context)
                out = attention if hp.output_attention else x
            logits[b, t] = out @ w["projection/kernel"] + w["projection/bias"]
    return logits


def random_tf1_weights(hp, seed=0):
    rng = np.random.RandomState(seed)
    u, du, e = hp.num_units, hp.decoder_units, hp.embedding_size
    w = {"source_embedding": rng.randn(hp.src_vocab_size, e) * 0.5}
    if not hp.share_embeddings:
        w["target_embedding"] = rng.randn(hp.tgt_vocab_size, e) * 0.5
    for d in ("fw", "bw") if hp.encoder_type == "bi" else ("fw",):
        w[f"encoder_{d}"] = [tf1_cell_weights(rng, hp.cell_type, e if i == 0 else u, u) for i in range(hp.num_layers)]
    att_width = (hp.attention_layer_size or du) if hp.attention != "none" else 0
    w["decoder"] = [tf1_cell_weights(rng, hp.cell_type, (e + att_width) if i == 0 else du, du)
                    for i in range(hp.num_layers)]
    if hp.attention != "none":
        w["attention"] = {"memory_layer": rng.randn(du, du) * 0.5, "query_layer": rng.randn(du, du) * 0.5,
                          "attention_v": rng.randn(du) * 0.5, "attention_g": np.float64(rng.uniform(0.5, 1.5)),
                          "attention_b": rng.randn(du) * 0.5}
        if hp.attention_layer_size:
            w["attention"]["attention_layer"] = rng.randn(2 * du, hp.attention_layer_size) * 0.5
    out_width = (hp.attention_layer_size or du) if (hp.attention != "none" and hp.output_attention) else du
    w["projection/kernel"] = rng.randn(out_width, hp.tgt_vocab_size) * 0.5
    w["projection/bias"] = rng.randn(hp.tgt_vocab_size) * 0.5
    return w


# ---------------------------------------------------------------------------------------------
# The minimal TF1 -> Keras layout mapping (docs/tf2.md has the table the converter implements).
# ---------------------------------------------------------------------------------------------
LSTM_TF1_TO_KERAS = (0, 2, 1, 3)  # Keras gate g takes TF1 gate [i, j, f, o][LSTM_TF1_TO_KERAS[g]]: i,f,c=j,o


def set_cell(cell, cell_type, w):
    units = w_units(cell_type, w)
    if cell_type == "gru":
        in_dim = w["gates/kernel"].shape[0] - units
        r, u = np.split(w["gates/kernel"], 2, axis=1)
        full = np.concatenate([u, r, w["candidate/kernel"]], axis=1)  # Keras columns [z | r | h]
        rb, ub = np.split(w["gates/bias"], 2)
        bias = np.concatenate([ub, rb, w["candidate/bias"]])
    else:
        in_dim = w["kernel"].shape[0] - units
        gates = np.split(w["kernel"], 4, axis=1)
        full = np.concatenate([gates[g] for g in LSTM_TF1_TO_KERAS], axis=1)
        bgates = np.split(w["bias"], 4)
        bgates[2] = bgates[2] + FORGET_BIAS  # fold the run-time forget bias into the f slice
        bias = np.concatenate([bgates[g] for g in LSTM_TF1_TO_KERAS])
    cell.kernel.assign(full[:in_dim])
    cell.recurrent_kernel.assign(full[in_dim:])
    cell.bias.assign(bias)


def load_tf1_weights(model, w):
    hp = model.hparams
    model.source_embedding.embeddings.assign(w["source_embedding"])
    if not hp.share_embeddings:
        model.target_embedding.embeddings.assign(w["target_embedding"])
    for layer, cells in enumerate(model.encoder_cells):
        for cell, d in zip(cells, ("fw", "bw")):
            set_cell(cell, hp.cell_type, w[f"encoder_{d}"][layer])
    for cell, cw in zip(model.decoder_cells, w["decoder"]):
        set_cell(cell, hp.cell_type, cw)
    if hp.attention != "none":
        aw, mech = w["attention"], model.attention.mechanism
        mech.memory_layer.kernel.assign(aw["memory_layer"])
        for name in ("attention_v", "attention_g", "attention_b"):
            if getattr(mech, name, None) is not None:
                getattr(mech, name).assign(aw[name])
        if mech.query_layer is not None:
            mech.query_layer.kernel.assign(aw["query_layer"])
        if model.attention.attention_layer is not None:
            model.attention.attention_layer.kernel.assign(aw["attention_layer"])
    model.projection.kernel.assign(w["projection/kernel"])
    model.projection.bias.assign(w["projection/bias"])


# Sources of lengths 5, 3, 1 (padded to 5) and targets of lengths 4, 2, 3 (padded to 4).
ENC_IDS = np.array([[5, 6, 7, 8, 9], [4, 9, 6, 0, 0], [7, 0, 0, 0, 0]], np.int32)
DEC_IDS = np.array([[1, 5, 6, 7], [1, 8, 0, 0], [1, 4, 4, 0]], np.int32)


def tiny(**kw):
    base = dict(src_vocab_size=11, tgt_vocab_size=10, embedding_size=5, num_units=4, forget_bias=FORGET_BIAS)
    base.update(kw)
    return HParams(**base)


def all_variants():
    """The legacy matrix: cell x layers x encoder x attention, with attention options varied."""
    out = []
    for k, (cell, layers, enc, att) in enumerate(itertools.product(
            ("lstm", "basic_lstm", "gru"), (1, 2), ("uni", "bi"),
            ("none", "luong", "scaled_luong", "bahdanau", "normalized_bahdanau"))):
        extra = {} if att == "none" else {"attention_layer_size": (None, 3)[k % 2], "output_attention": k % 3 != 0}
        out.append(tiny(cell_type=cell, num_layers=layers, encoder_type=enc, attention=att, **extra))
    return out


def variant_id(hp):
    s = f"{hp.cell_type}-{hp.num_layers}L-{hp.encoder_type}-{hp.attention}"
    if hp.attention != "none":
        s += f"-als{hp.attention_layer_size}-oa{int(hp.output_attention)}"
    return s


def assert_close(actual, expected, atol=ATOL, what="logits"):
    diff = np.abs(np.asarray(actual, np.float64) - expected)
    bad = diff > atol
    assert not bad.any(), (f"{what}: mismatched elements {bad.sum()} / {bad.size}, greatest absolute difference "
                           f"{diff.max():.3g} at index {np.unravel_index(diff.argmax(), diff.shape)} "
                           f"(up to {atol} allowed)")


@pytest.mark.slow
def test_every_variant_matches_tf1_equations_and_reloads_from_keras_file(tmp_path):
    """60 variants: NumPy-TF1 parity at every position, then `.keras` reload gives identical logits."""
    inputs = {"encoder_ids": ENC_IDS, "decoder_ids": DEC_IDS}
    failures = []
    for i, hp in enumerate(all_variants()):
        model = Seq2Seq(hp)
        load_tf1_weights(model, random_tf1_weights(hp, seed=i))
        logits = model(inputs).numpy()
        expected = tf1_forward(hp, random_tf1_weights(hp, seed=i), ENC_IDS, DEC_IDS)
        try:
            assert_close(logits, expected, what=variant_id(hp))
        except AssertionError as e:
            failures.append(str(e))
            continue
        path = os.path.join(tmp_path, f"{i}.keras")
        model.save(path)
        reloaded = keras.saving.load_model(path)
        assert isinstance(reloaded, Seq2Seq) and reloaded.hparams == hp
        np.testing.assert_array_equal(reloaded(inputs).numpy(), logits, err_msg=variant_id(hp))
    assert not failures, "\n".join(failures)


def test_weights_appear_once_and_handles_cover_them():
    hp = tiny(cell_type="lstm", num_layers=2, encoder_type="bi", attention="normalized_bahdanau",
              attention_layer_size=3)
    model = Seq2Seq(hp)
    ids = [id(w) for w in model.weights]
    assert len(ids) == len(set(ids)) == 2 + 2 * 2 * 3 + 2 * 3 + 5 + 1 + 2
    handled = [model.source_embedding.embeddings, model.target_embedding.embeddings, model.projection.kernel,
               model.projection.bias, model.attention.attention_layer.kernel, model.attention.mechanism.attention_v,
               model.attention.mechanism.attention_g, model.attention.mechanism.attention_b,
               model.attention.mechanism.memory_layer.kernel, model.attention.mechanism.query_layer.kernel]
    for cells in list(model.encoder_cells) + [(c,) for c in model.decoder_cells]:
        for c in cells:
            handled += [c.kernel, c.recurrent_kernel, c.bias]
    assert {id(w) for w in handled} == set(ids)


def test_shared_embeddings_are_one_matrix():
    model = Seq2Seq(tiny(tgt_vocab_size=11, share_embeddings=True))
    assert model.target_embedding is model.source_embedding
    assert len([w for w in model.weights if "embedding" in w.path]) == 1


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_padding_never_changes_valid_logits(cell_type):
    """Extra padding columns on both sides leave every valid logit unchanged (masks from ids != 0)."""
    hp = tiny(cell_type=cell_type, encoder_type="bi", attention="bahdanau")
    model = Seq2Seq(hp)
    load_tf1_weights(model, random_tf1_weights(hp, seed=3))
    a = model({"encoder_ids": ENC_IDS, "decoder_ids": DEC_IDS}).numpy()
    b = model({"encoder_ids": np.pad(ENC_IDS, ((0, 0), (0, 3))), "decoder_ids": np.pad(DEC_IDS, ((0, 0), (0, 2)))})
    np.testing.assert_allclose(b.numpy()[:, :4], a, atol=1e-6)
    np.testing.assert_allclose(b.numpy()[:, 4:], np.broadcast_to(model.projection.bias.numpy(), (3, 2, 10)), atol=0)
