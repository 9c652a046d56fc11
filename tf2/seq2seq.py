"""The Keras 3 port of the legacy Seq2Seq: a `keras.Model` built from `seq2seq_task.HParams`."""

from __future__ import annotations

import keras
from keras import ops

from seq2seq_task import HParams
from tf2.decoder import Decoder
from tf2.encoder import Encoder


@keras.saving.register_keras_serializable(package="tf2")
class Seq2Seq(keras.Model):
    """Encoder-decoder with optional attention, numerically equal to the legacy TF1 graph.

    Built from the same `HParams` (`hparams.json`) as `legacy_tf1`; all weights are created in
    the constructor (shapes follow from the hparams), so a model is usable and convertible at once.

    Handles the checkpoint converter binds TF1 variables to (docs/tf2.md has the full table):

    | attribute              | Keras object                                                       |
    |------------------------|--------------------------------------------------------------------|
    | `source_embedding`     | `keras.layers.Embedding` `[src_vocab_size, embedding_size]`        |
    | `target_embedding`     | the target `Embedding` (the same object when `share_embeddings`)  |
    | `encoder_cells`        | per layer a tuple `(fw_cell,)` ("uni") or `(fw_cell, bw_cell)`    |
    | `decoder_cells`        | per layer the decoder cell                                         |
    | `attention`            | the `AttentionWrapperCell` (None without attention): its          |
    |                        | `mechanism.memory_layer`, `mechanism.query_layer` (Bahdanau),     |
    |                        | `mechanism.attention_v/_g/_b`, `attention_layer` (or None)         |
    | `projection`           | `keras.layers.Dense(tgt_vocab_size)` with bias                     |

    Args:
        hparams: a `seq2seq_task.HParams`, or its dict (as in `hparams.json`).
        **kwargs: base `Model` arguments (`name`).

    Call arguments:
        inputs: dict with `"encoder_ids"` int `[B, S]` and `"decoder_ids"` int `[B, T]`
            (`<s>`-prefixed targets, the legacy `decoder_input_ids`); id 0 is padding and every
            mask and length is derived from `ids != 0`.
        training: bool, enables dropout.

    Returns:
        float32 logits `[B, T, tgt_vocab_size]`. At padded decoder positions the decoder outputs
        are zeros, so the logits there equal the projection bias, as in the legacy graph.

    Example:

    >>> hp = HParams(src_vocab_size=20, tgt_vocab_size=15, embedding_size=8, num_units=8)
    >>> model = Seq2Seq(hp)
    >>> logits = model({"encoder_ids": ops.ones((2, 5), "int32"), "decoder_ids": ops.ones((2, 4), "int32")})
    >>> tuple(logits.shape)
    (2, 4, 15)
    """

    # What a serving signature of the model exposes (`tf-migrate export`, docs/serving.md): each input's name ->
    # (dtype, shape), and the output's name; the same as `tf2.export.export_serving`'s `serve` endpoint.
    serving_inputs = {"encoder_ids": ("int32", (None, None)), "decoder_ids": ("int32", (None, None))}
    serving_outputs = ("logits",)

    def __init__(self, hparams, **kwargs):
        kwargs.setdefault("name", "seq2seq")
        super().__init__(**kwargs)
        hp = hparams if isinstance(hparams, HParams) else HParams.from_dict(dict(hparams))
        self.hparams = hp
        self.source_embedding = keras.layers.Embedding(hp.src_vocab_size, hp.embedding_size, name="source_embedding")
        if not hp.share_embeddings:
            self._target_embedding = keras.layers.Embedding(hp.tgt_vocab_size, hp.embedding_size,
                                                            name="target_embedding")
        self.encoder = Encoder(hp.cell_type, hp.num_units, hp.num_layers, hp.encoder_type, hp.dropout, hp.seed,
                               name="encoder")
        self.decoder = Decoder(hp.cell_type, hp.decoder_units, hp.num_layers, hp.attention,
                               hp.attention_layer_size, hp.output_attention, hp.dropout, hp.seed, name="decoder")
        self.projection = keras.layers.Dense(hp.tgt_vocab_size, use_bias=True, name="projection")
        self.build_all()

    # -- converter handles ---------------------------------------------------------------------
    @property
    def target_embedding(self):
        return self.source_embedding if self.hparams.share_embeddings else self._target_embedding

    @property
    def encoder_cells(self):
        return self.encoder.cells

    @property
    def decoder_cells(self):
        return self.decoder.cells

    @property
    def attention(self):
        return self.decoder.attention_cell

    # -- building ------------------------------------------------------------------------------
    def build_all(self):
        """Create every weight now; shapes follow from the hparams."""
        hp = self.hparams
        self.source_embedding.build((None, None))
        self.target_embedding.build((None, None))
        self.encoder.build((None, None, hp.embedding_size))
        self.decoder.build((None, None, hp.embedding_size))
        self.projection.build((None, None, self.decoder.output_size))
        self.built = True

    def build(self, input_shape=None):
        if not self.built:
            self.build_all()

    # -- the forward pass ----------------------------------------------------------------------
    def encode(self, encoder_ids, training=False):
        """`encoder_ids` `[B, S]` -> `(memory [B, S, decoder_units], memory_mask [B, S], states per layer)`."""
        memory_mask = ops.not_equal(encoder_ids, 0)
        memory, states = self.encoder(self.source_embedding(encoder_ids), mask=memory_mask, training=training)
        return memory, memory_mask, states

    def call(self, inputs, training=False):
        encoder_ids = ops.cast(inputs["encoder_ids"], "int32")
        decoder_ids = ops.cast(inputs["decoder_ids"], "int32")
        memory, memory_mask, states = self.encode(encoder_ids, training=training)
        outputs = self.decoder(self.target_embedding(decoder_ids), states, memory, memory_mask,
                               mask=ops.not_equal(decoder_ids, 0), training=training)
        return ops.cast(self.projection(outputs), "float32")

    def compute_output_spec(self, inputs, training=False):
        d = inputs["decoder_ids"]
        return keras.KerasTensor((d.shape[0], d.shape[1], self.hparams.tgt_vocab_size), dtype="float32")

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; a `tf2.data.TaskBatches` keeps its own (legacy) order: no reshuffle."""
        if getattr(x, "keeps_order", False) and len(args) < 7:  # `shuffle` is fit's 9th parameter
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, *args, **kwargs)

    # -- decoding (compiled loops live in tf2.decoding) -----------------------------------------
    def greedy_decode(self, encoder_ids, max_steps=None):
        """Greedy ids int32 `[B, max_steps]` (contract item 11); see `tf2.decoding.greedy_decode`."""
        from tf2.decoding import greedy_decode  # noqa: PLC0415

        return greedy_decode(self, encoder_ids, max_steps)

    def beam_search(self, encoder_ids, beam_width=4, length_penalty=0.0, max_steps=None):
        """Best beam int32 `[B, max_steps]`; see `tf2.decoding.beam_search`."""
        from tf2.decoding import beam_search  # noqa: PLC0415

        return beam_search(self, encoder_ids, beam_width, length_penalty, max_steps)

    def get_config(self):
        return {"hparams": self.hparams.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(HParams.from_dict(config.pop("hparams")), **config)
