"""The legacy Seq2Seq graph, built once from an hparams object (tensorflow/nmt's `model.py` is the picture).

Variable names (what TF1 produced; `<cell>` is lstm_cell, basic_lstm_cell or gru_cell, `<stack>` is
`<cell>` for one layer or `multi_rnn_cell/cell_{i}/<cell>` for several):

| variable                                                        | when                      |
|-----------------------------------------------------------------|---------------------------|
| embeddings/encoder/embedding_encoder [src_vocab, emb]           | share_embeddings=false    |
| embeddings/decoder/embedding_decoder [tgt_vocab, emb]           | share_embeddings=false    |
| embeddings/embedding_share [vocab, emb]                         | share_embeddings=true     |
| dynamic_seq2seq/encoder/rnn/<stack>/...                         | encoder_type=uni          |
| dynamic_seq2seq/encoder/bidirectional_rnn/fw|bw/<stack>/...     | encoder_type=bi           |
| dynamic_seq2seq/decoder/rnn/<stack>/...                         | attention=none            |
| dynamic_seq2seq/decoder/memory_layer/kernel                     | attention (mechanism)     |
| dynamic_seq2seq/decoder/rnn/attention_wrapper/<stack>/...       | attention (wrapped cell)  |
| .../attention_wrapper/luong_attention/attention_g []             | scaled_luong              |
| .../attention_wrapper/bahdanau_attention/query_layer/kernel, attention_v | (normalized_)bahdanau |
| .../attention_wrapper/bahdanau_attention/attention_g, attention_b | normalized_bahdanau      |
| .../attention_wrapper/attention_layer/kernel                     | attention_layer_size set  |
| dynamic_seq2seq/decoder/output_projection/kernel|bias           | projection=dense          |
| dynamic_seq2seq/decoder/output_projection/weights|biases        | projection=slim           |
| global_step; training: beta1_power, beta2_power, <var>/Adam, <var>/Adam_1 | always / train  |

Teacher forcing runs `dynamic_rnn` over the `<s>`-prefixed decoder inputs with `sequence_length`, so the
decoder outputs are zeros at padded steps and the logits there equal the projection bias. Eval and infer
graphs also decode greedily (`GreedyEmbeddingHelper` + `BasicDecoder` + `dynamic_decode`) with the very
same cell and projection objects, so they create no variable of their own and restore a train checkpoint.
"""

import tensorflow as tf
import tf_slim as slim

import legacy_tf1._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from legacy_tf1 import model_helper
from legacy_tf1.model_helper import EVAL, INFER, MODES, TRAIN
from seq2seq_task import EOS_ID, SOS_ID, HParams
from tf_migrate_runtime.contrib import seq2seq

# hparams.attention -> (contrib mechanism class, extra constructor arguments).
ATTENTION_MECHANISMS = {
    "luong": (seq2seq.LuongAttention, {}),
    "scaled_luong": (seq2seq.LuongAttention, {"scale": True}),
    "bahdanau": (seq2seq.BahdanauAttention, {}),
    "normalized_bahdanau": (seq2seq.BahdanauAttention, {"normalize": True}),
}

INIT_WEIGHT = 0.1  # nmt's default init_op "uniform": U(-0.1, 0.1) for every variable without its own initializer


class _SlimProjection:
    """tf-slim's `fully_connected(activation_fn=None)` as an output layer object `BasicDecoder` can call.

    The first call creates `<scope>/output_projection/weights|biases` in the current variable scope;
    later calls (inside the greedy while_loop) reuse them.
    """

    def __init__(self, units, name="output_projection"):
        self.units = units
        self._name = name
        self._scope = None

    def __call__(self, inputs):
        if self._scope is None:
            with tf.compat.v1.variable_scope(self._name) as scope:
                self._scope = scope
                return slim.fully_connected(inputs, self.units, activation_fn=None, scope=scope)
        return slim.fully_connected(inputs, self.units, activation_fn=None, scope=self._scope, reuse=True)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)[:-1].concatenate([self.units])


def _concat_bidirectional_state(fw, bw):
    """Per layer concat([fw, bw], -1); LSTM states concatenate c with c and h with h."""
    if isinstance(fw, tf.compat.v1.nn.rnn_cell.LSTMStateTuple):
        return tf.compat.v1.nn.rnn_cell.LSTMStateTuple(c=tf.concat([fw.c, bw.c], -1), h=tf.concat([fw.h, bw.h], -1))
    if isinstance(fw, tuple):
        return tuple(_concat_bidirectional_state(f, b) for f, b in zip(fw, bw))
    return tf.concat([fw, bw], -1)


class Seq2SeqModel:
    """Encoder-decoder with optional attention, built in the current graph (`tf.compat.v1`, graph mode).

    Args:
        hparams: a `seq2seq_task.HParams` (vocabulary sizes set).
        mode: "train" (loss, gradients, Adam train_op, dropout), "eval" or "infer" (loss and greedy
            decoding, no dropout).
        scope: the model's variable scope, default "dynamic_seq2seq".

    Attributes:
        encoder_ids, encoder_lengths, decoder_input_ids, decoder_target_ids, target_lengths: placeholders.
        logits: float32 `[B, T, tgt_vocab_size]` (teacher forcing).
        predictions: int32 `[B, T]`, argmax of the logits.
        loss: scalar, mean cross-entropy over valid target tokens (contrib `sequence_loss`).
        global_step: int64 variable `global_step`.
        saver: `tf.compat.v1.train.Saver` over all global variables (max_to_keep=5).
        gradients, grad_norm, train_op: train mode only; `gradients` are the UNclipped (dense) gradients
            as (grad, var) pairs, `grad_norm` TF1's global norm before clipping.
        greedy_ids: int32 `[B, decode_max_steps]` (eval / infer): ids up to and including the first
            `</s>`, then 0.
        greedy_lengths: int32 `[B]`, decoded steps per row (including `</s>`).
        alignments: float32 `[B, decode_max_steps, S]` (eval / infer with attention), zeros past each
            row's decoded length.

    Example:

    ```python
    g = tf.Graph()
    with g.as_default():
        model = Seq2SeqModel(hparams, "train")
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=g) as sess:
        sess.run(init)
        loss, _ = sess.run([model.loss, model.train_op], model.feed_dict(batch))
    ```
    """

    def __init__(self, hparams: HParams, mode: str, scope: str | None = None):
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
        if hparams.src_vocab_size <= 4 or hparams.tgt_vocab_size <= 4:
            raise ValueError(f"hparams src_vocab_size={hparams.src_vocab_size}, tgt_vocab_size="
                             f"{hparams.tgt_vocab_size}: set both to the vocabulary sizes (> 4)")
        self.hparams = hparams
        self.mode = mode
        self.dropout = hparams.dropout if mode == TRAIN else 0.0

        # TF 1.x control flow: the while loops are Enter/Exit frames, as the .meta of a TF 1.x model holds them.
        with model_helper.tf1_control_flow():
            self.encoder_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="encoder_ids")
            self.encoder_lengths = tf.compat.v1.placeholder(tf.int32, [None], name="encoder_lengths")
            self.decoder_input_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="decoder_input_ids")
            self.decoder_target_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="decoder_target_ids")
            self.target_lengths = tf.compat.v1.placeholder(tf.int32, [None], name="target_lengths")
            self.batch_size = tf.size(self.encoder_lengths)

            self.global_step = tf.compat.v1.train.get_or_create_global_step()
            # nmt sets the initializer on the root scope; re-entering it keeps that local to this model.
            initializer = tf.compat.v1.random_uniform_initializer(-INIT_WEIGHT, INIT_WEIGHT)
            with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), initializer=initializer):
                self._init_embeddings()
                with tf.compat.v1.variable_scope(scope or "dynamic_seq2seq", dtype=tf.float32):
                    encoder_outputs, encoder_state = self._build_encoder()
                    self._build_decoder(encoder_outputs, encoder_state)
            self.predictions = tf.argmax(self.logits, axis=-1, output_type=tf.int32)
            weights = tf.sequence_mask(self.target_lengths, tf.shape(self.decoder_target_ids)[1], dtype=tf.float32)
            self.loss = seq2seq.sequence_loss(self.logits, self.decoder_target_ids, weights)
            if mode == TRAIN:
                self._build_train_op()
            self.saver = tf.compat.v1.train.Saver(tf.compat.v1.global_variables(), max_to_keep=5)

    # -- graph -----------------------------------------------------------------------------------------

    def _init_embeddings(self):
        hp = self.hparams
        with tf.compat.v1.variable_scope("embeddings", dtype=tf.float32):
            if hp.share_embeddings:
                self.embedding_encoder = tf.compat.v1.get_variable(
                    "embedding_share", [hp.src_vocab_size, hp.embedding_size], tf.float32)
                self.embedding_decoder = self.embedding_encoder
            else:
                with tf.compat.v1.variable_scope("encoder"):
                    self.embedding_encoder = tf.compat.v1.get_variable(
                        "embedding_encoder", [hp.src_vocab_size, hp.embedding_size], tf.float32)
                with tf.compat.v1.variable_scope("decoder"):
                    self.embedding_decoder = tf.compat.v1.get_variable(
                        "embedding_decoder", [hp.tgt_vocab_size, hp.embedding_size], tf.float32)

    def _cell(self, num_units):
        hp = self.hparams
        return model_helper.create_rnn_cell(hp.cell_type, num_units, hp.num_layers, hp.forget_bias,
                                            self.dropout, self.mode)

    def _build_encoder(self):
        hp = self.hparams
        with tf.compat.v1.variable_scope("encoder") as scope:
            inputs = tf.nn.embedding_lookup(self.embedding_encoder, self.encoder_ids)
            if hp.encoder_type == "uni":
                outputs, state = tf.compat.v1.nn.dynamic_rnn(
                    self._cell(hp.num_units), inputs, dtype=scope.dtype,
                    sequence_length=self.encoder_lengths, swap_memory=True)
                return outputs, state
            (fw_out, bw_out), (fw_state, bw_state) = tf.compat.v1.nn.bidirectional_dynamic_rnn(
                self._cell(hp.num_units), self._cell(hp.num_units), inputs, dtype=scope.dtype,
                sequence_length=self.encoder_lengths, swap_memory=True)
            return tf.concat([fw_out, bw_out], -1), _concat_bidirectional_state(fw_state, bw_state)

    def _build_decoder(self, encoder_outputs, encoder_state):
        hp = self.hparams
        with tf.compat.v1.variable_scope("decoder") as decoder_scope:
            cell = self._cell(hp.decoder_units)
            initial_state = encoder_state
            if hp.attention != "none":
                mechanism_class, kwargs = ATTENTION_MECHANISMS[hp.attention]
                mechanism = mechanism_class(hp.decoder_units, encoder_outputs,
                                            memory_sequence_length=self.encoder_lengths, **kwargs)
                cell = seq2seq.AttentionWrapper(
                    cell, mechanism, attention_layer_size=hp.attention_layer_size,
                    alignment_history=self.mode != TRAIN, output_attention=hp.output_attention)
                initial_state = cell.zero_state(self.batch_size, tf.float32).clone(cell_state=encoder_state)
            if hp.projection == "slim":
                output_layer = _SlimProjection(hp.tgt_vocab_size)
            else:
                output_layer = tf.compat.v1.layers.Dense(hp.tgt_vocab_size, name="output_projection")

            # Teacher forcing: zeros past target_lengths, so logits there equal the projection bias.
            inputs = tf.nn.embedding_lookup(self.embedding_decoder, self.decoder_input_ids)
            outputs, _ = tf.compat.v1.nn.dynamic_rnn(
                cell, inputs, sequence_length=self.target_lengths, initial_state=initial_state,
                dtype=tf.float32, swap_memory=True)
            self.logits = output_layer(outputs)

            if self.mode in (EVAL, INFER):
                self._build_greedy(cell, initial_state, output_layer, decoder_scope)

    def _build_greedy(self, cell, initial_state, output_layer, decoder_scope):
        hp = self.hparams
        steps = hp.decode_max_steps
        helper = seq2seq.GreedyEmbeddingHelper(
            self.embedding_decoder, tf.fill([self.batch_size], SOS_ID), EOS_ID)
        decoder = seq2seq.BasicDecoder(cell, helper, initial_state, output_layer=output_layer)
        outputs, final_state, lengths = seq2seq.dynamic_decode(
            decoder, impute_finished=True, maximum_iterations=steps, swap_memory=True, scope=decoder_scope)
        pad = steps - tf.shape(outputs.sample_id)[1]
        self.greedy_ids = tf.pad(outputs.sample_id, [[0, 0], [0, pad]])
        self.greedy_ids.set_shape([None, steps])
        self.greedy_lengths = lengths
        self.alignments = None
        if hp.attention != "none":
            history = tf.transpose(final_state.alignment_history.stack(), [1, 0, 2])  # [B, T', S]
            history *= tf.sequence_mask(lengths, tf.shape(history)[1], dtype=history.dtype)[:, :, None]
            self.alignments = tf.pad(history, [[0, 0], [0, pad], [0, 0]])
            self.alignments.set_shape([None, steps, None])

    def _build_train_op(self):
        hp = self.hparams
        params = tf.compat.v1.trainable_variables()
        gradients = tf.gradients(self.loss, params)
        self.gradients = [(tf.convert_to_tensor(g), v) for g, v in zip(gradients, params)]
        # TF1's global_norm counts an IndexedSlices gradient (embeddings) by its values, duplicates unsummed.
        clipped, self.grad_norm = tf.clip_by_global_norm(gradients, hp.max_gradient_norm)
        optimizer = tf.compat.v1.train.AdamOptimizer(hp.learning_rate)  # beta1 .9, beta2 .999, epsilon 1e-8
        self.train_op = optimizer.apply_gradients(zip(clipped, params), global_step=self.global_step)

    # -- feeding ---------------------------------------------------------------------------------------

    def feed_dict(self, batch, decoder: bool = True) -> dict:
        """Placeholders -> the fields of a `seq2seq_task.Batch` (encoder fields only with decoder=False)."""
        feed = {self.encoder_ids: batch.encoder_ids, self.encoder_lengths: batch.encoder_lengths}
        if decoder:
            feed.update({self.decoder_input_ids: batch.decoder_input_ids,
                         self.decoder_target_ids: batch.decoder_target_ids,
                         self.target_lengths: batch.target_lengths})
        return feed
