"""contrib.seq2seq `Decoder` and `dynamic_decode` (TF 1.15 `decoder.py`): a `tf.compat.v1.while_loop`.

Each iteration calls `decoder.step`; a row that is finished emits zeros from then on and keeps its state
(`impute_finished=True`); the loop stops when every row is finished or after `maximum_iterations`.
Outputs are batch major `[batch_size, steps, ...]` with `steps` = the number of iterations run.
"""

import abc

import tensorflow as tf
from tensorflow.python.util import nest

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)


class Decoder(abc.ABC):
    """An RNN decoder `dynamic_decode` can run: `initialize()` once, then `step()` until finished."""

    @property
    @abc.abstractmethod
    def batch_size(self):
        """The decoder's batch size."""

    @property
    @abc.abstractmethod
    def output_size(self):
        """Shapes (without batch) of one step's outputs."""

    @property
    @abc.abstractmethod
    def output_dtype(self):
        """DTypes of one step's outputs."""

    @abc.abstractmethod
    def initialize(self, name=None):
        """`(finished, initial_inputs, initial_state)`."""

    @abc.abstractmethod
    def step(self, time, inputs, state, name=None):
        """`(outputs, next_state, next_inputs, finished)`."""

    @property
    def tracks_own_finished(self):
        return False

    def finalize(self, outputs, final_state, sequence_lengths):
        raise NotImplementedError


def _create_zero_outputs(size, dtype, batch_size):
    def _create(s, d):
        s = tf.TensorShape(s).as_list() if not isinstance(s, int) else [s]
        return tf.zeros(tf.concat([tf.reshape(batch_size, [1]), tf.constant(s, dtype=tf.int32)], 0), dtype=d)

    return nest.map_structure(_create, size, dtype)


def _transpose_batch_time(x):
    if x.get_shape().ndims is not None and x.get_shape().ndims < 2:
        return x
    perm = [1, 0] + list(range(2, x.get_shape().ndims))
    return tf.transpose(x, perm)


def dynamic_decode(decoder, output_time_major=False, impute_finished=False, maximum_iterations=None,
                   parallel_iterations=32, swap_memory=False, scope=None):
    """Run `decoder` until every row is finished or `maximum_iterations` steps.

    Args:
        decoder: a `Decoder` (e.g. `BasicDecoder`).
        output_time_major: return `[time, batch, ...]` instead of `[batch, time, ...]`.
        impute_finished: finished rows emit zero outputs and copy their state through.
        maximum_iterations: int32 scalar, the most decoding steps (None: until all are finished).
        parallel_iterations: passed to `tf.compat.v1.while_loop`.
        swap_memory: passed to `tf.compat.v1.while_loop`.
        scope: variable scope, default `"decoder"`.

    Returns:
        `(final_outputs, final_state, final_sequence_lengths)`.

    Raises:
        TypeError: `decoder` is not a `Decoder`.
        ValueError: `maximum_iterations` is not a scalar.
    """
    if not isinstance(decoder, Decoder):
        raise TypeError(f"Expected decoder to be type Decoder, but saw: {type(decoder)}")
    with tf.compat.v1.variable_scope(scope, "decoder"):
        if maximum_iterations is not None:
            maximum_iterations = tf.convert_to_tensor(maximum_iterations, dtype=tf.int32, name="maximum_iterations")
            if maximum_iterations.get_shape().ndims != 0:
                raise ValueError("maximum_iterations must be a scalar")
        initial_finished, initial_inputs, initial_state = decoder.initialize()
        zero_outputs = _create_zero_outputs(decoder.output_size, decoder.output_dtype, decoder.batch_size)
        if maximum_iterations is not None:
            initial_finished = tf.logical_or(initial_finished, 0 >= maximum_iterations)
        initial_sequence_lengths = tf.zeros_like(initial_finished, dtype=tf.int32)
        initial_time = tf.constant(0, dtype=tf.int32)

        def _shape(batch_size, from_shape):
            if not isinstance(from_shape, tf.TensorShape) or from_shape.ndims == 0:
                return tf.TensorShape(None)
            batch_size = tf.get_static_value(tf.convert_to_tensor(batch_size, name="batch_size"))
            return tf.TensorShape([batch_size]).concatenate(from_shape)

        def _create_ta(s, d):  # contrib outside XLA: grows with the steps actually run
            return tf.TensorArray(dtype=d, size=0, dynamic_size=True, element_shape=_shape(decoder.batch_size, s))

        initial_outputs_ta = nest.map_structure(_create_ta, decoder.output_size, decoder.output_dtype)

        def condition(unused_time, unused_outputs_ta, unused_state, unused_inputs, finished, unused_lengths):
            return tf.logical_not(tf.reduce_all(finished))

        def body(time, outputs_ta, state, inputs, finished, sequence_lengths):
            next_outputs, decoder_state, next_inputs, decoder_finished = decoder.step(time, inputs, state)
            lengths_from_state = False
            if decoder.tracks_own_finished:  # e.g. BeamSearchDecoder: beams are re-shuffled every step
                next_finished = decoder_finished
                lengths = getattr(decoder_state, "lengths", None)
                if lengths is not None:
                    lengths_from_state = True
                    sequence_lengths = tf.cast(lengths, tf.int32)
            else:
                next_finished = tf.logical_or(decoder_finished, finished)
            if maximum_iterations is not None:
                next_finished = tf.logical_or(next_finished, time + 1 >= maximum_iterations)
            if lengths_from_state:
                next_sequence_lengths = sequence_lengths
            else:
                next_sequence_lengths = tf.compat.v1.where(
                    tf.logical_not(finished), tf.fill(tf.shape(sequence_lengths), time + 1), sequence_lengths)
            nest.assert_same_structure(state, decoder_state)
            nest.assert_same_structure(outputs_ta, next_outputs)
            nest.assert_same_structure(inputs, next_inputs)
            if impute_finished:
                emit = nest.map_structure(lambda out, zero: tf.compat.v1.where(finished, zero, out),
                                          next_outputs, zero_outputs)
            else:
                emit = next_outputs

            def _maybe_copy_state(new, cur):
                # TensorArrays and scalars (e.g. AttentionWrapperState.time) pass through.
                if isinstance(cur, tf.TensorArray):
                    return new
                new.set_shape(cur.shape)
                return new if new.shape.ndims == 0 else tf.compat.v1.where(finished, cur, new)

            next_state = (nest.map_structure(_maybe_copy_state, decoder_state, state)
                          if impute_finished else decoder_state)
            outputs_ta = nest.map_structure(lambda ta, out: ta.write(time, out), outputs_ta, emit)
            return time + 1, outputs_ta, next_state, next_inputs, next_finished, next_sequence_lengths

        res = tf.compat.v1.while_loop(
            condition, body,
            loop_vars=(initial_time, initial_outputs_ta, initial_state, initial_inputs, initial_finished,
                       initial_sequence_lengths),
            parallel_iterations=parallel_iterations, maximum_iterations=maximum_iterations,
            swap_memory=swap_memory)
        final_outputs_ta, final_state, final_sequence_lengths = res[1], res[2], res[5]
        final_outputs = nest.map_structure(lambda ta: ta.stack(), final_outputs_ta)
        try:
            final_outputs, final_state = decoder.finalize(final_outputs, final_state, final_sequence_lengths)
        except NotImplementedError:  # the decoder has nothing to finalize (BasicDecoder)
            pass
        if not output_time_major:
            final_outputs = nest.map_structure(_transpose_batch_time, final_outputs)
    return final_outputs, final_state, final_sequence_lengths
