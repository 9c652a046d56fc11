"""contrib.seq2seq helpers (TF 1.15 `helper.py`): what the decoder reads at each step and when a row is done."""

import abc

import tensorflow as tf

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)


class Helper(abc.ABC):
    """Interface used by `BasicDecoder` to sample ids and produce the next inputs."""

    @property
    @abc.abstractmethod
    def batch_size(self):
        """Batch size of the tensors `initialize` and `next_inputs` return."""

    @property
    @abc.abstractmethod
    def sample_ids_shape(self):
        """Shape of one sample id (without the batch dimension)."""

    @property
    @abc.abstractmethod
    def sample_ids_dtype(self):
        """DType of the sample ids."""

    @abc.abstractmethod
    def initialize(self, name=None):
        """`(initial_finished [B] bool, initial_inputs)`."""

    @abc.abstractmethod
    def sample(self, time, outputs, state, name=None):
        """Sample ids `[B]` from `outputs`."""

    @abc.abstractmethod
    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        """`(finished, next_inputs, next_state)`."""


class TrainingHelper(Helper):
    """Reads the (teacher-forced) inputs step by step; a row is finished past its `sequence_length`.

    Args:
        inputs: `[batch_size, max_time, depth]` (or time major with `time_major=True`).
        sequence_length: `[batch_size]` int32.
        time_major: whether `inputs` is `[max_time, batch_size, depth]`.
        name: name scope.
    """

    def __init__(self, inputs, sequence_length, time_major=False, name=None):
        with tf.compat.v1.name_scope(name, "TrainingHelper", [inputs, sequence_length]):
            inputs = tf.convert_to_tensor(inputs, name="inputs")
            if not time_major:
                inputs = tf.transpose(inputs, [1, 0, 2])
            self._input_tas = tf.TensorArray(inputs.dtype, size=tf.shape(inputs)[0],
                                             element_shape=inputs.get_shape()[1:]).unstack(inputs)
            self._sequence_length = tf.convert_to_tensor(sequence_length, name="sequence_length")
            if self._sequence_length.get_shape().ndims != 1:
                raise ValueError(f"Expected sequence_length to be a vector, but received shape: "
                                 f"{self._sequence_length.get_shape()}")
            self._zero_inputs = tf.zeros_like(inputs[0])
            self._batch_size = tf.size(sequence_length)

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def sample_ids_shape(self):
        return tf.TensorShape([])

    @property
    def sample_ids_dtype(self):
        return tf.int32

    def initialize(self, name=None):
        with tf.compat.v1.name_scope(name, "TrainingHelperInitialize"):
            finished = tf.equal(0, self._sequence_length)
            all_finished = tf.reduce_all(finished)
            next_inputs = tf.cond(all_finished, lambda: self._zero_inputs, lambda: self._input_tas.read(0))
            return finished, next_inputs

    def sample(self, time, outputs, state, name=None):
        with tf.compat.v1.name_scope(name, "TrainingHelperSample", [time, outputs]):
            return tf.cast(tf.argmax(outputs, axis=-1), tf.int32)

    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        with tf.compat.v1.name_scope(name, "TrainingHelperNextInputs", [time, outputs, state]):
            next_time = time + 1
            finished = next_time >= self._sequence_length
            all_finished = tf.reduce_all(finished)
            next_inputs = tf.cond(all_finished, lambda: self._zero_inputs,
                                  lambda: self._input_tas.read(next_time))
            return finished, next_inputs, state


class GreedyEmbeddingHelper(Helper):
    """Greedy decoding: feed back the embedding of the argmax; a row is finished once it emits `end_token`.

    Args:
        embedding: the embedding matrix, or a callable `ids -> vectors`.
        start_tokens: int32 vector `[batch_size]`, the first input ids.
        end_token: int32 scalar.
    """

    def __init__(self, embedding, start_tokens, end_token):
        if callable(embedding):
            self._embedding_fn = embedding
        else:
            self._embedding_fn = lambda ids: tf.nn.embedding_lookup(embedding, ids)
        self._start_tokens = tf.convert_to_tensor(start_tokens, dtype=tf.int32, name="start_tokens")
        self._end_token = tf.convert_to_tensor(end_token, dtype=tf.int32, name="end_token")
        if self._start_tokens.get_shape().ndims != 1:
            raise ValueError("start_tokens must be a vector")
        self._batch_size = tf.size(start_tokens)
        if self._end_token.get_shape().ndims != 0:
            raise ValueError("end_token must be a scalar")
        self._start_inputs = self._embedding_fn(self._start_tokens)

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def sample_ids_shape(self):
        return tf.TensorShape([])

    @property
    def sample_ids_dtype(self):
        return tf.int32

    def initialize(self, name=None):
        finished = tf.tile([False], [self._batch_size])
        return finished, self._start_inputs

    def sample(self, time, outputs, state, name=None):
        del time, state  # unused by sample_fn
        if not isinstance(outputs, tf.Tensor):
            raise TypeError(f"Expected outputs to be a single Tensor, got: {type(outputs)}")
        return tf.argmax(outputs, axis=-1, output_type=tf.int32)

    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        del time, outputs  # unused by next_inputs_fn
        finished = tf.equal(sample_ids, self._end_token)
        all_finished = tf.reduce_all(finished)
        next_inputs = tf.cond(all_finished, lambda: self._start_inputs, lambda: self._embedding_fn(sample_ids))
        return finished, next_inputs, state


class SampleEmbeddingHelper(GreedyEmbeddingHelper):
    """Like `GreedyEmbeddingHelper`, but samples the next id from the softmax of the (tempered) logits.

    Args:
        embedding: the embedding matrix, or a callable `ids -> vectors`.
        start_tokens: int32 vector `[batch_size]`.
        end_token: int32 scalar.
        softmax_temperature: float scalar dividing the logits (None: 1.0); lower is greedier.
        seed: op seed of the sampler (contrib's `Categorical(logits).sample(seed=seed)`).
    """

    def __init__(self, embedding, start_tokens, end_token, softmax_temperature=None, seed=None):
        super().__init__(embedding, start_tokens, end_token)
        self._softmax_temperature = softmax_temperature
        self._seed = seed

    def sample(self, time, outputs, state, name=None):
        del time, state  # unused by sample_fn
        if not isinstance(outputs, tf.Tensor):
            raise TypeError(f"Expected outputs to be a single Tensor, got: {type(outputs)}")
        logits = outputs if self._softmax_temperature is None else outputs / self._softmax_temperature
        # contrib: Categorical(logits=logits, dtype=int32).sample(seed=seed) -> one multinomial draw per row
        draws = tf.random.categorical(logits, 1, dtype=tf.int32, seed=self._seed)
        return tf.reshape(draws, [-1])


class ScheduledEmbeddingTrainingHelper(TrainingHelper):
    """Scheduled sampling (TF 1.15 contrib): teacher forcing where, with probability `sampling_probability` per row
    and step, the next input is the embedding of an id drawn from `Categorical(logits=outputs)` instead of the next
    ground-truth input. The sample id is -1 where the row was not sampled.

    Args:
        inputs / sequence_length / time_major / name: as `TrainingHelper`.
        embedding: the embedding matrix, or a callable `ids -> vectors`.
        sampling_probability: float scalar in [0, 1] (a tensor: a training schedule may feed it).
        seed: op seed of the id draws. scheduling_seed: op seed of the sample-or-not draws.
    """

    def __init__(self, inputs, sequence_length, embedding, sampling_probability, time_major=False, seed=None,
                 scheduling_seed=None, name=None):
        with tf.compat.v1.name_scope(name, "ScheduledEmbeddingSamplingWrapper", [embedding, sampling_probability]):
            if callable(embedding):
                self._embedding_fn = embedding
            else:
                self._embedding_fn = lambda ids: tf.nn.embedding_lookup(embedding, ids)
            self._sampling_probability = tf.convert_to_tensor(sampling_probability, name="sampling_probability")
            if self._sampling_probability.get_shape().ndims not in (0, 1):
                raise ValueError(f"sampling_probability must be either a scalar or a vector. "
                                 f"saw shape: {self._sampling_probability.get_shape()}")
            self._seed = seed
            self._scheduling_seed = scheduling_seed
            super().__init__(inputs=inputs, sequence_length=sequence_length, time_major=time_major, name=name)

    def initialize(self, name=None):
        return super().initialize(name=name)

    def sample(self, time, outputs, state, name=None):
        with tf.compat.v1.name_scope(name, "ScheduledEmbeddingTrainingHelperSample", [time, outputs, state]):
            # contrib: Bernoulli(probs=p).sample(batch, seed=scheduling_seed) is `uniform < p`
            select_sample = tf.random.uniform([self.batch_size], seed=self._scheduling_seed) < \
                self._sampling_probability
            draws = tf.reshape(tf.random.categorical(outputs, 1, dtype=tf.int32, seed=self._seed), [-1])
            return tf.where(select_sample, draws, tf.fill([self.batch_size], -1))

    def next_inputs(self, time, outputs, state, sample_ids, name=None):
        with tf.compat.v1.name_scope(name, "ScheduledEmbeddingTrainingHelperNextInputs",
                                     [time, outputs, state, sample_ids]):
            finished, base_next_inputs, state = super().next_inputs(time=time, outputs=outputs, state=state,
                                                                    sample_ids=sample_ids, name=name)

            def maybe_sample():
                where_sampling = tf.cast(tf.where(sample_ids > -1), tf.int32)
                where_not_sampling = tf.cast(tf.where(sample_ids <= -1), tf.int32)
                sample_ids_sampling = tf.gather_nd(sample_ids, where_sampling)
                inputs_not_sampling = tf.gather_nd(base_next_inputs, where_not_sampling)
                sampled_next_inputs = self._embedding_fn(sample_ids_sampling)
                base_shape = tf.shape(base_next_inputs)
                return (tf.scatter_nd(indices=where_sampling, updates=sampled_next_inputs, shape=base_shape)
                        + tf.scatter_nd(indices=where_not_sampling, updates=inputs_not_sampling, shape=base_shape))

            all_finished = tf.reduce_all(finished)
            next_inputs = tf.cond(all_finished, lambda: base_next_inputs, maybe_sample)
            return finished, next_inputs, state
