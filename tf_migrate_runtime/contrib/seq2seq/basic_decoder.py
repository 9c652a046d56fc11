"""contrib.seq2seq `BasicDecoder` (TF 1.15 `basic_decoder.py`): cell, then output layer, then the helper."""

import collections

import tensorflow as tf
from tensorflow.python.ops import rnn_cell_impl
from tensorflow.python.util import nest

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from tf_migrate_runtime.contrib.seq2seq.decoder import Decoder


class BasicDecoderOutput(collections.namedtuple("BasicDecoderOutput", ("rnn_output", "sample_id"))):
    """One decoder step: `rnn_output` (after the output layer) and `sample_id`."""


class BasicDecoder(Decoder):
    """Basic sampling decoder.

    Args:
        cell: an `RNNCell`.
        helper: a `Helper` (e.g. `GreedyEmbeddingHelper`).
        initial_state: the cell's initial state (e.g. the encoder's final state).
        output_layer: optional layer applied to the cell output before sampling (e.g. the projection
            to the vocabulary); anything with `__call__` and `compute_output_shape`.
    """

    def __init__(self, cell, helper, initial_state, output_layer=None):
        rnn_cell_impl.assert_like_rnncell("cell", cell)
        if output_layer is not None and not callable(output_layer):
            raise TypeError(f"output_layer must be a Layer, received: {type(output_layer)}")
        self._cell = cell
        self._helper = helper
        self._initial_state = initial_state
        self._output_layer = output_layer

    @property
    def batch_size(self):
        return self._helper.batch_size

    def _rnn_output_size(self):
        size = self._cell.output_size
        if self._output_layer is None:
            return size
        with_unknown_batch = nest.map_structure(lambda s: tf.TensorShape([None]).concatenate(s), size)
        layer_output_shape = self._output_layer.compute_output_shape(with_unknown_batch)
        return nest.map_structure(lambda s: s[1:], layer_output_shape)

    @property
    def output_size(self):
        return BasicDecoderOutput(rnn_output=self._rnn_output_size(), sample_id=self._helper.sample_ids_shape)

    @property
    def output_dtype(self):
        dtype = nest.flatten(self._initial_state)[0].dtype
        return BasicDecoderOutput(nest.map_structure(lambda _: dtype, self._rnn_output_size()),
                                  self._helper.sample_ids_dtype)

    def initialize(self, name=None):
        """`(finished, first_inputs, initial_state)`."""
        return self._helper.initialize() + (self._initial_state,)

    def step(self, time, inputs, state, name=None):
        """`(BasicDecoderOutput, next_state, next_inputs, finished)` for one step."""
        with tf.compat.v1.name_scope(name, "BasicDecoderStep", (time, inputs, state)):
            cell_outputs, cell_state = self._cell(inputs, state)
            if self._output_layer is not None:
                cell_outputs = self._output_layer(cell_outputs)
            sample_ids = self._helper.sample(time=time, outputs=cell_outputs, state=cell_state)
            finished, next_inputs, next_state = self._helper.next_inputs(
                time=time, outputs=cell_outputs, state=cell_state, sample_ids=sample_ids)
        return BasicDecoderOutput(cell_outputs, sample_ids), next_state, next_inputs, finished
