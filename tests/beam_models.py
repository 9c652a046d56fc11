"""TF1-style contrib.seq2seq beam-search graphs for the tests (built with `tf_migrate_runtime.contrib.seq2seq`, the
TF 2.21 successor of contrib), and `real_gather_tree`: the saved `.meta` rewritten so that its back-tracking is one
`GatherTree` NodeDef, as TF 1.3-1.15 wrote it (TF 2.21 registers no such op, so the successor composes it)."""

from __future__ import annotations

import os

from construct_builders import output_projection_wrapper_class
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

STANDIN = "standin_gather_tree"


def beam_graph(path: str, kind: str = "gru", attention: str | None = None, beam: int = 3,
               length_penalty: float = 0.0, coverage_penalty: float = 0.0, max_iterations: int = 6,
               train: bool = True, real_gather_tree: bool = False, output_layer: bool = True, layers: int = 1,
               attention_layer_size: int | None = 6, output_attention: bool = True,
               alignment_history: bool = False, projection_wrapper: bool = False, end_token: int = 2) -> str:
    """src ids -> embedding -> dynamic_rnn encoder -> [training decoder: BasicDecoder(TrainingHelper)] and an
    inference decoder sharing its variables: BeamSearchDecoder(cell, embedding, start 1, `end_token`,
    tile_batch(state), beam, output_layer Dense(11)) under `dynamic_decode(maximum_iterations)`; `layers` > 1:
    MultiRNNCell stacks. `attention` ("luong": LuongAttention(5, scale=True), "bahdanau": BahdanauAttention(4,
    normalize=True)): the decoder cell is an AttentionWrapper over the (tiled) encoder outputs and lengths, with
    `attention_layer_size`, `output_attention`, `alignment_history`; `coverage_penalty` its BeamSearchDecoder's.
    `projection_wrapper`: the vocabulary projection is contrib's `OutputProjectionWrapper(cell, 11)` around the
    (attention) cell instead of the decoder's `output_layer`. Outputs `decoder/predicted_ids` ([B, T, beam]),
    `decoder/beam_scores`, `decoder/step_ids` and `decoder/parent_ids` (before `GatherTree`), `decoder/lengths`
    (the final state's, [B, beam] int64), `decoder/train_logits` (when `train`). Random weights; the prefix."""
    import tensorflow as tf

    from tf_migrate_runtime.contrib import seq2seq
    from tf_migrate_runtime.contrib.seq2seq import beam_search_decoder as bsd

    v1 = tf.compat.v1
    real = bsd.gather_tree
    inputs = []

    def standin(step_ids, parent_ids, max_sequence_lengths, end_token, name=None):
        inputs[:] = [step_ids, parent_ids, max_sequence_lengths, tf.convert_to_tensor(end_token)]
        with tf.name_scope(STANDIN):
            out = real(step_ids, parent_ids, max_sequence_lengths, end_token)
        return tf.identity(out, name="GatherTree")

    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            src = v1.placeholder(tf.int32, [None, None], name="src")
            src_len = v1.placeholder(tf.int32, [None], name="src_len")
            emb = v1.get_variable("embedding", [11, 6])

            def one():
                return v1.nn.rnn_cell.GRUCell(5) if kind == "gru" else v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7)

            def cell():   # `layers` > 1: a MultiRNNCell (encoder and decoder alike: the final state is the initial)
                return one() if layers == 1 else v1.nn.rnn_cell.MultiRNNCell([one() for _ in range(layers)])

            with v1.variable_scope("encoder"):
                enc_out, enc_state = v1.nn.dynamic_rnn(cell(), tf.nn.embedding_lookup(emb, src),
                                                       sequence_length=src_len, dtype=tf.float32)
            batch = tf.size(src_len)
            with v1.variable_scope("decoder") as scope:
                dec_cell = cell()
                proj = v1.layers.Dense(11, name="output_projection") if output_layer and not projection_wrapper \
                    else None

                def wrap(memory, lengths, state, rows):
                    if not attention:
                        return dec_cell, state
                    mech = {"luong": lambda: seq2seq.LuongAttention(5, memory, lengths, scale=True),
                            "bahdanau": lambda: seq2seq.BahdanauAttention(4, memory, lengths, normalize=True)}[
                        attention]()
                    c = seq2seq.AttentionWrapper(dec_cell, mech, attention_layer_size=attention_layer_size,
                                                 output_attention=output_attention,
                                                 alignment_history=alignment_history)
                    init = c.zero_state(rows, tf.float32).clone(cell_state=state)
                    if projection_wrapper:
                        c = output_projection_wrapper_class(tf, v1)(c, 11)
                    return c, init

                if train:
                    tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
                    tgt_len = v1.placeholder(tf.int32, [None], name="tgt_len")
                    c, init = wrap(enc_out, src_len, enc_state, batch)
                    helper = seq2seq.TrainingHelper(tf.nn.embedding_lookup(emb, tgt_in), tgt_len)
                    out, _, _ = seq2seq.dynamic_decode(seq2seq.BasicDecoder(c, helper, init, output_layer=proj))
                    tf.identity(out.rnn_output, name="train_logits")
                if train:
                    scope.reuse_variables()
                c, init = wrap(seq2seq.tile_batch(enc_out, beam), seq2seq.tile_batch(src_len, beam),
                               seq2seq.tile_batch(enc_state, beam), batch * beam)
                dec = seq2seq.BeamSearchDecoder(c, emb, tf.fill([batch], 1), end_token, init, beam,
                                                output_layer=proj,
                                                length_penalty_weight=length_penalty,
                                                coverage_penalty_weight=coverage_penalty)
                bsd.gather_tree = standin if real_gather_tree else real
                try:
                    out, final, _ = seq2seq.dynamic_decode(dec, maximum_iterations=max_iterations, scope="beam")
                finally:
                    bsd.gather_tree = real
                tf.identity(out.predicted_ids, name="predicted_ids")
                tf.identity(out.beam_search_decoder_output.scores, name="beam_scores")
                tf.identity(out.beam_search_decoder_output.predicted_ids, name="step_ids")   # before GatherTree
                tf.identity(out.beam_search_decoder_output.parent_ids, name="parent_ids")
                tf.identity(final.lengths, name="lengths")
            prefix = save_random_weights(path)
    if real_gather_tree:
        _rewrite_gather_tree(prefix + ".meta", [t.name for t in inputs])
    return prefix


def _build(path: str, **kw) -> str:
    """`beam_graph` into the folder `path` (tests/test_graph_backends.py's builder interface) -> `path`."""
    os.makedirs(path, exist_ok=True)
    beam_graph(path, **kw)
    return path


def _rewrite_gather_tree(meta: str, inputs: list[str]) -> None:
    """The stand-in (`<scope>/standin_gather_tree/...` + `Identity <scope>/GatherTree`) -> one `GatherTree` NodeDef
    (attr T: int32) reading the same four tensors, and its OpDef in the stripped op list, as TF 1.x saved them."""
    from tensorflow.core.framework import op_def_pb2, types_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    md = meta_graph_pb2.MetaGraphDef()
    with open(meta, "rb") as f:
        md.ParseFromString(f.read())
    nodes = [n for n in md.graph_def.node if f"/{STANDIN}/" not in n.name]
    gt = next(n for n in nodes if n.name.endswith("/GatherTree") and n.op == "Identity")
    gt.op = "GatherTree"
    del gt.input[:]
    gt.input.extend(i[:-2] if i.endswith(":0") else i for i in inputs)
    gt.attr.clear()
    gt.attr["T"].type = types_pb2.DT_INT32
    del md.graph_def.node[:]
    md.graph_def.node.extend(nodes)
    od = op_def_pb2.OpDef(name="GatherTree")
    for name, t in (("step_ids", "T"), ("parent_ids", "T"), ("max_sequence_lengths", None), ("end_token", "T")):
        arg = od.input_arg.add(name=name)
        if t:
            arg.type_attr = t
        else:
            arg.type = types_pb2.DT_INT32
    od.output_arg.add(name="beams", type_attr="T")
    attr = od.attr.add(name="T", type="type")
    attr.allowed_values.list.type.append(types_pb2.DT_INT32)
    md.meta_info_def.stripped_op_list.op.append(od)
    with open(meta, "wb") as f:
        f.write(md.SerializeToString())
