"""contrib.rnn's fused cells (migrate/graph/ops/fused_rnn.py): `LSTMBlockCell` (with and without peepholes and a
cell clip), `GRUBlockCell` inside `dynamic_rnn`, and `LSTMBlockFusedCell`'s one-op `BlockLSTM` over a time-major
sequence with lengths. TF 2.21 has no tf.contrib, but it still ships the kernels as raw ops: each cell here is
written as contrib wrote it (the same op, attributes and variable names), in a TF1-style graph with random
non-zero weights and biases and a non-default forget bias, then converted as given with parity, through the
recogniser where one takes it and through the generic tier with the recognisers off.
"""

from __future__ import annotations

import numpy as np
import pytest
from tf1_models import save_random_weights, tf1_style

pytestmark = pytest.mark.slow

D, U = 4, 5


def _lstm_block_cell(tf, v1, peephole=False, clip=-1.0, forget_bias=0.7):
    class LSTMBlockCell(v1.nn.rnn_cell.RNNCell):   # contrib.rnn.LSTMBlockCell (lstm_ops.py), same op and names
        @property
        def state_size(self):
            return v1.nn.rnn_cell.LSTMStateTuple(U, U)

        @property
        def output_size(self):
            return U

        def call(self, x, state):
            cs_prev, h_prev = state
            with v1.variable_scope("lstm_cell"):
                w = v1.get_variable("kernel", [D + U, 4 * U])
                b = v1.get_variable("bias", [4 * U])
                wci, wcf, wco = (v1.get_variable(n, [U]) if peephole else tf.zeros([U])
                                 for n in ("w_i_diag", "w_f_diag", "w_o_diag"))
            _, cs, _, _, _, _, h = tf.raw_ops.LSTMBlockCell(x=x, cs_prev=cs_prev, h_prev=h_prev, w=w, wci=wci,
                                                             wcf=wcf, wco=wco, b=b, forget_bias=forget_bias,
                                                             cell_clip=clip, use_peephole=peephole)
            return h, v1.nn.rnn_cell.LSTMStateTuple(cs, h)

    return LSTMBlockCell()


def _block(tf, v1):
    x = v1.placeholder(tf.float32, [None, 6, D], name="x")
    out, _ = v1.nn.dynamic_rnn(_lstm_block_cell(tf, v1), x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _block_peephole_clip(tf, v1):   # the variant: peepholes and a cell clip, which Keras' LSTM has not
    x = v1.placeholder(tf.float32, [None, 6, D], name="x")
    lengths = v1.placeholder(tf.int32, [None], name="lengths")
    out, _ = v1.nn.dynamic_rnn(_lstm_block_cell(tf, v1, peephole=True, clip=0.4), x, sequence_length=lengths,
                               dtype=tf.float32)
    tf.identity(out, name="outputs")


def _gru_block(tf, v1):
    class GRUBlockCell(v1.nn.rnn_cell.RNNCell):   # contrib.rnn.GRUBlockCell (gru_ops.py)
        @property
        def state_size(self):
            return U

        @property
        def output_size(self):
            return U

        def call(self, x, h_prev):
            with v1.variable_scope("gru_cell"):
                w_ru, b_ru = v1.get_variable("w_ru", [D + U, 2 * U]), v1.get_variable("b_ru", [2 * U])
                w_c, b_c = v1.get_variable("w_c", [D + U, U]), v1.get_variable("b_c", [U])
            _, _, _, h = tf.raw_ops.GRUBlockCell(x=x, h_prev=h_prev, w_ru=w_ru, w_c=w_c, b_ru=b_ru, b_c=b_c)
            return h, h

    x = v1.placeholder(tf.float32, [None, 6, D], name="x")
    out, _ = v1.nn.dynamic_rnn(GRUBlockCell(), x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def _fused(tf, v1):
    """contrib.rnn.LSTMBlockFusedCell on a time-major [T, B, D] input with lengths: one BlockLSTM op up to the
    longest length (seq_len_max), then LSTMBlockWrapper's mask past each length, then a dense layer."""
    x = v1.placeholder(tf.float32, [None, None, D], name="x")
    lengths = v1.placeholder(tf.int32, [None], name="lengths")
    with v1.variable_scope("lstm_fused_cell"):
        w = v1.get_variable("kernel", [D + U, 4 * U])
        b = v1.get_variable("bias", [4 * U])
    batch = tf.shape(x)[1]
    zeros = tf.zeros(tf.stack([batch, U]))
    _, _, _, _, _, _, h = tf.raw_ops.BlockLSTM(
        seq_len_max=tf.cast(tf.reduce_max(lengths), tf.int64), x=x, cs_prev=zeros, h_prev=zeros, w=w,
        wci=tf.zeros([U]), wcf=tf.zeros([U]), wco=tf.zeros([U]), b=b, forget_bias=0.6, cell_clip=-1.0,
        use_peephole=False)
    mask = tf.transpose(tf.sequence_mask(lengths, tf.shape(x)[0], dtype=tf.float32), [1, 0])
    h = h * tf.expand_dims(mask, -1)
    v1.layers.dense(h, 3, name="logits")


BUILDERS = {"block": _block, "block_peephole_clip": _block_peephole_clip, "gru_block": _gru_block,
            "fused": _fused}
OUTPUTS = {"fused": ["logits/BiasAdd:0"]}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    import tensorflow as tf  # noqa: PLC0415

    root, out = tmp_path_factory.mktemp("fused"), {}
    for name, build in BUILDERS.items():
        with tf1_style(), tf.Graph().as_default():
            build(tf, tf.compat.v1)
            out[name] = save_random_weights(str(root / name), seed=5)
    return out


def _convert(prefix, out, recognise, outputs):
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    lines = []
    report = convert_graph(prefix, str(out), outputs=outputs or ["outputs:0"], log=lines.append,
                           recognise_rnns=recognise)
    return report, lines


@pytest.mark.parametrize("name, recognise", [(n, r) for n in sorted(BUILDERS) for r in (True, False)
                                             if n != "fused" or r],   # no recogniser takes BlockLSTM: one path
                         ids=lambda v: v if isinstance(v, str) else "recognisers" if v else "generic")
def test_fused_cells_convert_with_parity(graphs, tmp_path, name, recognise):
    report, lines = _convert(graphs[name], tmp_path / "out", recognise, OUTPUTS.get(name))
    rows = report["parity"]["outputs"]
    assert report["parity"]["ok"] and rows and all(r["ok"] and r["max_abs"] <= 1e-5 for r in rows), lines
    source = (tmp_path / "out" / "model.py").read_text()
    if name == "fused":   # no while loop: the op is a layer
        assert "tfm.BlockLSTM(forget_bias=0.6, cell_clip=-1.0, use_peephole=False, gate_order='icfo')" in source
        assert report["loops"] == []
        return
    (loop,) = report["loops"]
    if recognise and name in ("block", "gru_block"):   # the recogniser: Keras' LSTM / GRU
        assert loop["how"] == "recognised as dynamic_rnn", loop
        assert ("tfm.GRU(" if name == "gru_block" else "tfm.LSTM(") in source
    else:   # peepholes and a clip (no Keras LSTM has them) or the recognisers off: op by op in the loop body
        assert loop["how"] == "translated generically", loop
        op = "GRUBlockCell" if name == "gru_block" else "LSTMBlockCell"
        assert f"# {op} rnn/while/rnn/" in source, source
    if name == "block_peephole_clip":
        assert "keras.ops.clip(" in source and "-0.4" in source


def test_block_lstm_layer_matches_the_tensorflow_kernel_past_seq_len_max():
    """tfm.BlockLSTM against tf.raw_ops.BlockLSTM itself, peepholes, a clip and a seq_len_max short of T (zeros
    there), for both gate orders (BlockLSTM: icfo; BlockLSTMV2: ifco, no forget bias)."""
    import tensorflow as tf  # noqa: PLC0415

    from tf_migrate_runtime.layers import BlockLSTM  # noqa: PLC0415

    rng = np.random.default_rng(2)
    T, B = 5, 3
    x = rng.normal(size=(T, B, D)).astype("float32")
    cs, h = (rng.normal(size=(B, U)).astype("float32") for _ in range(2))
    w = rng.normal(size=(D + U, 4 * U)).astype("float32") * 0.5
    wci, wcf, wco = (rng.normal(size=U).astype("float32") for _ in range(3))
    b = rng.normal(size=4 * U).astype("float32")
    for v2 in (False, True):
        op = tf.raw_ops.BlockLSTMV2 if v2 else tf.raw_ops.BlockLSTM
        kwargs = {} if v2 else {"forget_bias": 0.6}
        want = op(seq_len_max=np.int64(3), x=x, cs_prev=cs, h_prev=h, w=w, wci=wci, wcf=wcf, wco=wco, b=b,
                  cell_clip=0.9, use_peephole=True, **kwargs)
        got = BlockLSTM(forget_bias=0.0 if v2 else 0.6, cell_clip=0.9, use_peephole=True,
                        gate_order="ifco" if v2 else "icfo")([np.int64(3), x, cs, h, w, wci, wcf, wco, b])
        for k in (1, 6):   # cs and h: what TensorFlow defines at every step
            np.testing.assert_allclose(np.asarray(got[k]), want[k].numpy(), atol=1e-5)
        assert np.abs(np.asarray(got[6])[:3]).min() > 0 and not np.asarray(got[6])[3:].any()
