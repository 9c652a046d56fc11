"""contrib.seq2seq attention (TF 1.15 `attention_wrapper.py`): Luong and Bahdanau mechanisms and the wrapper.

Variable names, as contrib creates them (mechanism built in scope `S`, wrapper called by
`dynamic_rnn` in scope `S/rnn`, the wrapper's default layer name is `attention_wrapper`):

| variable                                              | shape                           | created by                      |
|-------------------------------------------------------|---------------------------------|---------------------------------|
| S/memory_layer/kernel                                 | [memory_depth, num_units]       | mechanism __init__ (Dense, no bias) |
| S/rnn/attention_wrapper/<cell>/...                    | cell's own                      | wrapped cell, input = [x, attention] |
| S/rnn/attention_wrapper/luong_attention/attention_g   | []  (init 1.0)                  | LuongAttention(scale=True)      |
| S/rnn/attention_wrapper/bahdanau_attention/query_layer/kernel | [query_depth, num_units] | BahdanauAttention (Dense, no bias) |
| S/rnn/attention_wrapper/bahdanau_attention/attention_v | [num_units]                    | BahdanauAttention               |
| S/rnn/attention_wrapper/bahdanau_attention/attention_g | []  (init sqrt(1/num_units))   | BahdanauAttention(normalize=True) |
| S/rnn/attention_wrapper/bahdanau_attention/attention_b | [num_units] (init 0)           | BahdanauAttention(normalize=True) |
| S/rnn/attention_wrapper/attention_layer/kernel        | [cell_output + memory_depth, attention_layer_size] | wrapper (Dense, no bias) |

Math (contrib): keys = memory_layer(memory * mask); Luong score = g * (query . keys); Bahdanau score =
sum(v * tanh(keys + query_layer(query))), normalized: v -> g * v / ||v||, plus `attention_b` inside the tanh;
scores past the memory length are set to -inf, then softmax; context = alignments . memory (un-projected);
attention = attention_layer([cell_output, context]) or context.
"""

import collections
import math

import numpy as np
import tensorflow as tf
from tensorflow.python.util import nest

import tf_migrate_runtime.contrib._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)

_Dense = tf.compat.v1.layers.Dense
_LayerV1 = tf.compat.v1.layers.Layer


def _zero_state_tensors(state_size, batch_size, dtype):
    """Zeros shaped like `state_size` (an int or a nested structure of ints) for `batch_size` rows."""
    return nest.map_structure(lambda s: tf.zeros(tf.stack([batch_size, s]), dtype=dtype), state_size)


class AttentionMechanism:
    """Base class of the attention mechanisms (contrib's marker class)."""

    @property
    def alignments_size(self):
        raise NotImplementedError

    @property
    def state_size(self):
        raise NotImplementedError


def _prepare_memory(memory, memory_sequence_length, check_inner_dims_defined):
    """Convert `memory` to a tensor and zero its rows past `memory_sequence_length`."""
    memory = nest.map_structure(lambda m: tf.convert_to_tensor(m, name="memory"), memory)
    if memory_sequence_length is not None:
        memory_sequence_length = tf.convert_to_tensor(memory_sequence_length, name="memory_sequence_length")
    if check_inner_dims_defined:
        def _check_dims(m):
            if not m.get_shape()[2:].is_fully_defined():
                raise ValueError(f"Expected memory {m.name} to have fully defined inner dims, "
                                 f"but saw shape: {m.get_shape()}")
        nest.map_structure(_check_dims, memory)
    if memory_sequence_length is None:
        return memory
    first = nest.flatten(memory)[0]
    seq_len_mask = tf.sequence_mask(memory_sequence_length, maxlen=tf.shape(first)[1], dtype=first.dtype)

    def _maybe_mask(m):
        extra_ones = tf.ones(m.get_shape().ndims - 2, dtype=tf.int32)
        return m * tf.reshape(seq_len_mask, tf.concat((tf.shape(seq_len_mask), extra_ones), 0))

    return nest.map_structure(_maybe_mask, memory)


def _maybe_mask_score(score, memory_sequence_length, score_mask_value):
    """Scores past `memory_sequence_length` become `score_mask_value` (-inf by default)."""
    if memory_sequence_length is None:
        return score
    message = "All values in memory_sequence_length must be greater than zero."
    with tf.control_dependencies([tf.compat.v1.assert_positive(memory_sequence_length, message=message)]):
        score_mask = tf.sequence_mask(memory_sequence_length, maxlen=tf.shape(score)[1])
    score_mask_values = score_mask_value * tf.ones_like(score)
    return tf.compat.v1.where(score_mask, score, score_mask_values)


class _BaseAttentionMechanism(AttentionMechanism):
    """Stores the query and memory layers and the (masked, projected) memory.

    The memory layer is applied here, at construction, inside a name scope only: its variables land in
    the variable scope that is current when the mechanism is built (e.g. `decoder/memory_layer/kernel`).
    """

    def __init__(self, query_layer, memory, probability_fn, memory_sequence_length=None, memory_layer=None,
                 check_inner_dims_defined=True, score_mask_value=None, custom_key_value_fn=None, name=None):
        if query_layer is not None and not isinstance(query_layer, _LayerV1):
            raise TypeError(f"query_layer is not a Layer: {type(query_layer).__name__}")
        if memory_layer is not None and not isinstance(memory_layer, _LayerV1):
            raise TypeError(f"memory_layer is not a Layer: {type(memory_layer).__name__}")
        self._query_layer = query_layer
        self._memory_layer = memory_layer
        self.dtype = memory_layer.dtype
        if not callable(probability_fn):
            raise TypeError(f"probability_fn must be callable, saw type: {type(probability_fn).__name__}")
        if score_mask_value is None:
            score_mask_value = tf.as_dtype(self._memory_layer.dtype).as_numpy_dtype(-np.inf)
        self._probability_fn = lambda score, prev: probability_fn(
            _maybe_mask_score(score, memory_sequence_length, score_mask_value), prev)
        with tf.compat.v1.name_scope(name, "BaseAttentionMechanismInit", nest.flatten(memory)):
            self._values = _prepare_memory(memory, memory_sequence_length, check_inner_dims_defined)
            self._keys = self.memory_layer(self._values) if self.memory_layer else self._values
            if custom_key_value_fn is not None:
                self._keys, self._values = custom_key_value_fn(self._keys, self._values)
            self._batch_size = tf.compat.dimension_value(self._keys.shape[0]) or tf.shape(self._keys)[0]
            self._alignments_size = tf.compat.dimension_value(self._keys.shape[1]) or tf.shape(self._keys)[1]

    @property
    def memory_layer(self):
        return self._memory_layer

    @property
    def query_layer(self):
        return self._query_layer

    @property
    def values(self):
        return self._values

    @property
    def keys(self):
        return self._keys

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def alignments_size(self):
        return self._alignments_size

    @property
    def state_size(self):
        return self._alignments_size

    def initial_alignments(self, batch_size, dtype):
        """All-zero alignments `[batch_size, max_time]`."""
        return _zero_state_tensors(self._alignments_size, batch_size, dtype)

    def initial_state(self, batch_size, dtype):
        return self.initial_alignments(batch_size, dtype)


def _luong_score(query, keys, scale):
    """`scale * (query . keys^T)`: `[B, depth] x [B, max_time, depth] -> [B, max_time]`."""
    depth = query.get_shape()[-1]
    key_units = keys.get_shape()[-1]
    if depth != key_units:
        raise ValueError(
            f"Incompatible or unknown inner dimensions between query and keys. Query ({query}) has units: "
            f"{depth}. Keys ({keys}) have units: {key_units}. Perhaps you need to set num_units to the "
            f"keys' dimension ({key_units})?")
    query = tf.expand_dims(query, 1)
    score = tf.matmul(query, keys, transpose_b=True)
    score = tf.squeeze(score, [1])
    if scale is not None:
        score = scale * score
    return score


class LuongAttention(_BaseAttentionMechanism):
    """Luong-style (multiplicative) attention, optionally scaled by a learned scalar `attention_g`.

    Args:
        num_units: depth of the keys; must equal the query (cell output) depth.
        memory: `[batch_size, max_time, ...]`, usually the encoder outputs.
        memory_sequence_length: `[batch_size]`; memory rows past it are zeroed, their scores -inf.
        scale: learn a scalar `luong_attention/attention_g` (init 1.0) multiplying the score.
        probability_fn: scores -> probabilities, default `tf.nn.softmax`.
        score_mask_value: value of masked scores, default -inf.
        dtype: dtype of the memory layer, default float32.
        custom_key_value_fn: `fn(keys, values) -> (keys, values)`.
        name: name scope of the construction ops.
    """

    def __init__(self, num_units, memory, memory_sequence_length=None, scale=False, probability_fn=None,
                 score_mask_value=None, dtype=None, custom_key_value_fn=None, name="LuongAttention"):
        if probability_fn is None:
            probability_fn = tf.nn.softmax
        if dtype is None:
            dtype = tf.float32
        super().__init__(
            query_layer=None,
            memory_layer=_Dense(num_units, name="memory_layer", use_bias=False, dtype=dtype),
            memory=memory,
            probability_fn=lambda score, _: probability_fn(score),
            memory_sequence_length=memory_sequence_length,
            score_mask_value=score_mask_value,
            custom_key_value_fn=custom_key_value_fn,
            name=name)
        self._num_units = num_units
        self._scale = scale
        self._name = name

    def __call__(self, query, state):
        """Alignments `[batch_size, max_time]` for `query` `[batch_size, num_units]`; next state = alignments."""
        with tf.compat.v1.variable_scope(None, "luong_attention", [query]):
            attention_g = None
            if self._scale:
                attention_g = tf.compat.v1.get_variable(
                    "attention_g", dtype=query.dtype, initializer=tf.compat.v1.ones_initializer, shape=())
            score = _luong_score(query, self._keys, attention_g)
        alignments = self._probability_fn(score, state)
        return alignments, alignments


def _bahdanau_score(processed_query, keys, attention_v, attention_g=None, attention_b=None):
    """`sum(v * tanh(keys + query), -1)`; normalized: `v -> g * v / ||v||` and `+ b` inside the tanh."""
    processed_query = tf.expand_dims(processed_query, 1)
    if attention_g is not None and attention_b is not None:
        normed_v = attention_g * attention_v * tf.math.rsqrt(tf.reduce_sum(tf.square(attention_v)))
        return tf.reduce_sum(normed_v * tf.tanh(keys + processed_query + attention_b), [2])
    return tf.reduce_sum(attention_v * tf.tanh(keys + processed_query), [2])


class BahdanauAttention(_BaseAttentionMechanism):
    """Bahdanau-style (additive) attention, optionally weight-normalized.

    Args:
        num_units: depth of the query and memory projections and of `attention_v`.
        memory: `[batch_size, max_time, ...]`, usually the encoder outputs.
        memory_sequence_length: `[batch_size]`; memory rows past it are zeroed, their scores -inf.
        normalize: weight normalization: adds `attention_g` (init sqrt(1/num_units)) and `attention_b`.
        probability_fn: scores -> probabilities, default `tf.nn.softmax`.
        score_mask_value: value of masked scores, default -inf.
        dtype: dtype of the query and memory layers, default float32.
        custom_key_value_fn: `fn(keys, values) -> (keys, values)`.
        name: name scope of the construction ops.
    """

    def __init__(self, num_units, memory, memory_sequence_length=None, normalize=False, probability_fn=None,
                 score_mask_value=None, dtype=None, custom_key_value_fn=None, name="BahdanauAttention"):
        if probability_fn is None:
            probability_fn = tf.nn.softmax
        if dtype is None:
            dtype = tf.float32
        super().__init__(
            query_layer=_Dense(num_units, name="query_layer", use_bias=False, dtype=dtype),
            memory_layer=_Dense(num_units, name="memory_layer", use_bias=False, dtype=dtype),
            memory=memory,
            probability_fn=lambda score, _: probability_fn(score),
            custom_key_value_fn=custom_key_value_fn,
            memory_sequence_length=memory_sequence_length,
            score_mask_value=score_mask_value,
            name=name)
        self._num_units = num_units
        self._normalize = normalize
        self._name = name

    def __call__(self, query, state):
        """Alignments `[batch_size, max_time]` for `query`; next state = alignments."""
        with tf.compat.v1.variable_scope(None, "bahdanau_attention", [query]):
            processed_query = self.query_layer(query) if self.query_layer else query
            attention_v = tf.compat.v1.get_variable("attention_v", [self._num_units], dtype=query.dtype)
            attention_g = attention_b = None
            if self._normalize:
                attention_g = tf.compat.v1.get_variable(
                    "attention_g", dtype=query.dtype,
                    initializer=tf.compat.v1.constant_initializer(math.sqrt(1.0 / self._num_units)), shape=())
                attention_b = tf.compat.v1.get_variable(
                    "attention_b", [self._num_units], dtype=query.dtype,
                    initializer=tf.compat.v1.zeros_initializer())
            score = _bahdanau_score(processed_query, self._keys, attention_v, attention_g, attention_b)
        alignments = self._probability_fn(score, state)
        return alignments, alignments


class AttentionWrapperState(collections.namedtuple(
        "AttentionWrapperState",
        ("cell_state", "attention", "time", "alignments", "alignment_history", "attention_state"))):
    """State of an `AttentionWrapper`.

    Fields: `cell_state` (the wrapped cell's state), `attention` (emitted at the previous step),
    `time` (int32 scalar), `alignments` (previous step's), `alignment_history` (a time-major
    `TensorArray` when enabled, else `()`), `attention_state` (the mechanism's state).
    """

    def clone(self, **kwargs):
        """A copy with the given fields replaced; new tensors take the old static shapes.

        Example: `wrapper.zero_state(batch_size, tf.float32).clone(cell_state=encoder_state)`.
        """

        def with_same_shape(old, new):
            if isinstance(old, tf.Tensor) and isinstance(new, tf.Tensor):
                new.set_shape(old.shape)
            return new

        return nest.map_structure(with_same_shape, self, super()._replace(**kwargs))


def _compute_attention(attention_mechanism, cell_output, attention_state, attention_layer):
    """(attention, alignments, next_attention_state) for one mechanism and one step."""
    alignments, next_attention_state = attention_mechanism(cell_output, state=attention_state)
    expanded_alignments = tf.expand_dims(alignments, 1)
    context = tf.matmul(expanded_alignments, attention_mechanism.values)
    context = tf.squeeze(context, [1])
    if attention_layer is not None:
        attention = attention_layer(tf.concat([cell_output, context], 1))
    else:
        attention = context
    return attention, alignments, next_attention_state


class AttentionWrapper(tf.compat.v1.nn.rnn_cell.RNNCell):
    """Wraps an `RNNCell` with attention (input feeding: the previous attention joins the input).

    Args:
        cell: the `RNNCell` to wrap (its variables land under `attention_wrapper/`).
        attention_mechanism: one `AttentionMechanism` or a list of them.
        attention_layer_size: depth of the attention layer (Dense, no bias) applied to
            `[cell_output, context]`; None: the context is the attention.
        alignment_history: keep every step's alignments in a `TensorArray` in the state.
        cell_input_fn: `fn(inputs, attention)`, default `concat([inputs, attention], -1)`.
        output_attention: emit the attention (Luong style) instead of the cell output.
        initial_cell_state: cell state that `zero_state` returns.
        name: layer name, default `attention_wrapper`.
        attention_layer: a layer (or list) used instead of `attention_layer_size`.
        attention_fn: replaces `_compute_attention`.

    Call arguments:
        inputs: `[batch_size, input_depth]`.
        state: an `AttentionWrapperState`.

    Returns:
        `(attention or cell_output, next AttentionWrapperState)`.
    """

    def __init__(self, cell, attention_mechanism, attention_layer_size=None, alignment_history=False,
                 cell_input_fn=None, output_attention=True, initial_cell_state=None, name=None,
                 attention_layer=None, attention_fn=None):
        super().__init__(name=name)
        if isinstance(attention_mechanism, (list, tuple)):
            self._is_multi = True
            attention_mechanisms = tuple(attention_mechanism)
            for m in attention_mechanisms:
                if not isinstance(m, AttentionMechanism):
                    raise TypeError("attention_mechanism must contain only instances of AttentionMechanism, "
                                    f"saw type: {type(m).__name__}")
        else:
            self._is_multi = False
            if not isinstance(attention_mechanism, AttentionMechanism):
                raise TypeError("attention_mechanism must be an AttentionMechanism or list of multiple "
                                f"AttentionMechanism instances, saw type: {type(attention_mechanism).__name__}")
            attention_mechanisms = (attention_mechanism,)
        if cell_input_fn is None:
            cell_input_fn = lambda inputs, attention: tf.concat([inputs, attention], -1)  # noqa: E731
        elif not callable(cell_input_fn):
            raise TypeError(f"cell_input_fn must be callable, saw type: {type(cell_input_fn).__name__}")
        if attention_layer_size is not None and attention_layer is not None:
            raise ValueError("Only one of attention_layer_size and attention_layer should be set")
        if attention_layer_size is not None:
            sizes = tuple(attention_layer_size if isinstance(attention_layer_size, (list, tuple))
                          else (attention_layer_size,))
            if len(sizes) != len(attention_mechanisms):
                raise ValueError("If provided, attention_layer_size must contain exactly one integer per "
                                 f"attention_mechanism, saw: {len(sizes)} vs {len(attention_mechanisms)}")
            self._attention_layers = tuple(
                _Dense(size, name="attention_layer", use_bias=False, dtype=attention_mechanisms[i].dtype)
                for i, size in enumerate(sizes))
            self._attention_layer_size = sum(sizes)
        elif attention_layer is not None:
            self._attention_layers = tuple(attention_layer if isinstance(attention_layer, (list, tuple))
                                           else (attention_layer,))
            if len(self._attention_layers) != len(attention_mechanisms):
                raise ValueError("If provided, attention_layer must contain exactly one layer per "
                                 f"attention_mechanism, saw: {len(self._attention_layers)} vs "
                                 f"{len(attention_mechanisms)}")
            self._attention_layer_size = sum(
                tf.compat.dimension_value(layer.compute_output_shape(
                    [None, cell.output_size + tf.compat.dimension_value(m.values.shape[-1])])[-1])
                for layer, m in zip(self._attention_layers, attention_mechanisms))
        else:
            self._attention_layers = None
            self._attention_layer_size = sum(
                tf.compat.dimension_value(m.values.shape[-1]) for m in attention_mechanisms)
        self._attention_fn = attention_fn or _compute_attention
        self._cell = cell
        self._attention_mechanisms = attention_mechanisms
        self._cell_input_fn = cell_input_fn
        self._output_attention = output_attention
        self._alignment_history = alignment_history
        self._initial_cell_state = None
        if initial_cell_state is not None:
            with tf.compat.v1.name_scope(name, "AttentionWrapperInit"):
                self._initial_cell_state = nest.map_structure(
                    lambda s: tf.identity(s, name="check_initial_cell_state"), initial_cell_state)

    def _item_or_tuple(self, seq):
        t = tuple(seq)
        return t if self._is_multi else t[0]

    @property
    def output_size(self):
        return self._attention_layer_size if self._output_attention else self._cell.output_size

    @property
    def state_size(self):
        return AttentionWrapperState(
            cell_state=self._cell.state_size,
            time=tf.TensorShape([]),
            attention=self._attention_layer_size,
            alignments=self._item_or_tuple(a.alignments_size for a in self._attention_mechanisms),
            attention_state=self._item_or_tuple(a.state_size for a in self._attention_mechanisms),
            alignment_history=self._item_or_tuple(
                a.alignments_size if self._alignment_history else () for a in self._attention_mechanisms))

    def zero_state(self, batch_size, dtype):
        """The initial `AttentionWrapperState`: zero attention and alignments, the cell's zero state.

        Replace the cell state with `.clone(cell_state=encoder_state)`.
        """
        with tf.compat.v1.name_scope(type(self).__name__ + "ZeroState", values=[batch_size]):
            if self._initial_cell_state is not None:
                cell_state = self._initial_cell_state
            else:
                cell_state = self._cell.zero_state(batch_size, dtype)
            cell_state = nest.map_structure(lambda s: tf.identity(s, name="checked_cell_state"), cell_state)
            initial_alignments = [m.initial_alignments(batch_size, dtype) for m in self._attention_mechanisms]
            return AttentionWrapperState(
                cell_state=cell_state,
                time=tf.zeros([], dtype=tf.int32),
                attention=_zero_state_tensors(self._attention_layer_size, batch_size, dtype),
                alignments=self._item_or_tuple(initial_alignments),
                attention_state=self._item_or_tuple(
                    m.initial_state(batch_size, dtype) for m in self._attention_mechanisms),
                alignment_history=self._item_or_tuple(
                    tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=alignment.shape)
                    if self._alignment_history else () for alignment in initial_alignments))

    def call(self, inputs, state):
        """One step: cell on [inputs, previous attention], then attention with the cell output as query."""
        if not isinstance(state, AttentionWrapperState):
            raise TypeError(f"Expected state to be instance of AttentionWrapperState. Received type {type(state)} "
                            "instead.")
        cell_inputs = self._cell_input_fn(inputs, state.attention)
        cell_output, next_cell_state = self._cell(cell_inputs, state.cell_state)
        if self._is_multi:
            previous_attention_state = state.attention_state
            previous_alignment_history = state.alignment_history
        else:
            previous_attention_state = [state.attention_state]
            previous_alignment_history = [state.alignment_history]
        all_alignments, all_attentions, all_attention_states, maybe_all_histories = [], [], [], []
        for i, mechanism in enumerate(self._attention_mechanisms):
            attention, alignments, next_attention_state = self._attention_fn(
                mechanism, cell_output, previous_attention_state[i],
                self._attention_layers[i] if self._attention_layers else None)
            history = (previous_alignment_history[i].write(state.time, alignments)
                       if self._alignment_history else ())
            all_attention_states.append(next_attention_state)
            all_alignments.append(alignments)
            all_attentions.append(attention)
            maybe_all_histories.append(history)
        attention = tf.concat(all_attentions, 1)
        next_state = AttentionWrapperState(
            time=state.time + 1,
            cell_state=next_cell_state,
            attention=attention,
            attention_state=self._item_or_tuple(all_attention_states),
            alignments=self._item_or_tuple(all_alignments),
            alignment_history=self._item_or_tuple(maybe_all_histories))
        return (attention if self._output_attention else cell_output), next_state
