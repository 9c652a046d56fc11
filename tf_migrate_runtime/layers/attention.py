"""`AttentionDecoder`: contrib.seq2seq `AttentionWrapper` (Luong / Bahdanau, scaled / normalized, with or without
attention layer, output_attention) over stacked LSTM / GRU cells, run over teacher-forced decoder inputs.

The math of `tf2.attention_wrapper.AttentionWrapperCell` (and of contrib), written with `keras.ops` only, as one
layer whose weights are plain arrays in a fixed order (what a converted TF1 checkpoint provides):

    values = memory * mask(memory_lengths);  keys = values @ memory_layer
    per step: cell_input = concat([x_t, attention_{t-1}]);  cell_output, states = cells(cell_input, states)
      Luong:    score = (cell_output . keys) [* g]
      Bahdanau: score = sum(v' * tanh(keys + cell_output @ query_layer [+ b]));  v' = g * v / |v| when normalized
      alignments = softmax(score, -inf past memory_lengths);  context = alignments . values
      attention = concat([cell_output, context]) @ attention_layer  (or context);  output = attention | cell_output
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.decoder import (
    RESET_AFTER,
    add_cell_weights,
    argmax_ids,
    decode_loop,
    dense_product,
    embed_ids,
    fused_step_form,
    keep_steps,
    lstm_gates,
    run_traced,
    scan_steps,
    stacked,
    state_specs,
    static_steps,
    step_buffer,
    step_product,
    where_rows,
    write_step,
    zero_states,
)
from tf_migrate_runtime.layers.shared import check_bound, shared_map, slot_weight

NEG_INF = -1e30


class FusedCell(tuple):
    """A cell's weights prepared by `loop_cells`: `(weights, bias)` per product of its step (LSTM: one, on
    `concat([x, h])`; GRU: the gates' on `concat([x, h])` and the candidate's on `concat([x, r * h])`)."""


def loop_cells(families, cell_weights) -> list:
    """The cells' weights as the steps of a loop read them, prepared once before the loop: on TensorFlow (under XLA
    where the product is at most `decoder.XLA_FUSED_MAX_WIDTH` wide: `decoder.fused_step_form`) each product's
    `concat([kernel, recurrent])` (TF1's fused form, `decoder.step_product`), joined and read once instead of at
    every step (each step otherwise read every variable and copied both matrices into a new one: 2 `ConcatV2` and 3
    `ReadVariableOp` per cell per step; docs/performance.md); elsewhere as they are."""
    if keras.backend.backend() != "tensorflow":
        return list(cell_weights)
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    out = []
    for fam, (kernel, recurrent, bias) in zip(families, cell_weights):
        # two products, the reset gate between them: nothing to join; under XLA a wide product: the plain sum
        if fam == RESET_AFTER or not fused_step_form(kernel.shape[0] + recurrent.shape[0]):
            out.append([kernel, recurrent, bias])
            continue
        kernel, recurrent, bias = (tf.convert_to_tensor(w) for w in (kernel, recurrent, bias))
        if fam == "lstm":
            out.append(FusedCell([(tf.concat([kernel, recurrent], 0), bias)]))
            continue
        u = recurrent.shape[0]
        out.append(FusedCell([(tf.concat([kernel[:, :2 * u], recurrent[:, :2 * u]], 0), bias[:2 * u]),
                              (tf.concat([kernel[:, 2 * u:], recurrent[:, 2 * u:]], 0), bias[2 * u:])]))
    return out


def _fused_step(family, weights, x, state):
    """`cell_step` on `FusedCell` weights (TensorFlow)."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    def product(k, inp, h):
        w, b = weights[k]
        return tf.nn.bias_add(tf.matmul(tf.concat([inp, h], 1), w), b)

    if family == "lstm":
        h, c = state
        i, f, g, o = lstm_gates(product(0, x, h), tf.sigmoid, tf.tanh)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return h, [h, c]
    (h,) = state
    z, r = tf.split(tf.sigmoid(product(0, x, h)), 2, axis=-1)
    hh = tf.tanh(product(1, x, r * h))
    h = z * h + (1.0 - z) * hh
    return h, [h]


def stack_step(families, cells, x, states) -> tuple:
    """One step of stacked cells (a MultiRNNCell): `x` through each cell in turn, `states` flat in layer order (an
    LSTM's c, h; a GRU's or plain cell's h); `cells` as `loop_cells` prepared them. Returns (the top output, the new
    states, flat)."""
    h, new, k = x, [], 0
    for fam, w in zip(families, cells):
        n = 2 if fam == "lstm" else 1
        h, st = cell_step(fam, w, h, list(states[k:k + n]))
        new += st
        k += n
    return h, new


def cell_step(family, weights, x, state):
    """One step of a Keras-layout cell: LSTM (gates i, f, c, o; state `[h, c]`), GRU `reset_after=False`
    (gates z, r, h; state `[h]`) or, family `"gru_reset_after"`, GRU `reset_after=True` (bias `[2, 3 * units]`). `weights`: `[kernel, recurrent, bias]`, or what `loop_cells` made of them.
    Returns `(output, new state list)`."""
    if isinstance(weights, FusedCell):
        return _fused_step(family, weights, x, state)
    kernel, recurrent, bias = weights
    u = recurrent.shape[0]
    if family == RESET_AFTER:   # keras.layers.GRU(reset_after=True): r * (h @ recurrent_h + recurrent bias)
        (h,) = state
        xs = dense_product(x, kernel, bias[0])
        hs = dense_product(h, recurrent, bias[1])
        z, r = ops.split(ops.sigmoid(xs[:, :2 * u] + hs[:, :2 * u]), 2, axis=-1)
        h = z * h + (1.0 - z) * ops.tanh(xs[:, 2 * u:] + r * hs[:, 2 * u:])
        return h, [h]
    if family == "lstm":
        h, c = state
        z = step_product(x, h, kernel, recurrent, bias)
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]
    (h,) = state
    z, r = ops.split(ops.sigmoid(step_product(x, h, kernel[:, :2 * u], recurrent[:, :2 * u], bias[:2 * u])), 2,
                     axis=-1)
    hh = ops.tanh(step_product(x, r * h, kernel[:, 2 * u:], recurrent[:, 2 * u:], bias[2 * u:]))
    h = z * h + (1.0 - z) * hh
    return h, [h]


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class AttentionDecoder(keras.layers.Layer):
    """Teacher-forced attention decoder (contrib `BasicDecoder(AttentionWrapper(cells, mechanism))` + `TrainingHelper`).

    Args:
        families: per cell layer, "lstm" or "gru" (Keras layout: LSTM `[kernel, recurrent, bias]` gates i, f, c, o;
            GRU `reset_after=False` gates z, r, h).
        units: per cell layer, its units.
        input_dim: depth of the decoder inputs.
        memory_dim: depth of the memory (encoder outputs).
        mechanism: "luong" or "bahdanau".
        num_units: the mechanism's depth (memory_layer columns).
        scale: Luong `scale=True` (a learned scalar g).
        normalize: Bahdanau `normalize=True` (g, b).
        attention_layer_size: the attention layer's depth (Dense without bias), or None (attention = context).
        output_attention: emit the attention (else the top cell output).
        shared_weights: weight name (`cell_<k>_kernel` / `_recurrent_kernel` / `_bias`, `memory_layer`,
            `query_layer`, `attention_v`, `attention_g`, `attention_b`, `attention_layer`) -> [layer name, weight
            index]: read from that layer of the model (another decoder over the same TF1 variables), not held here
            (`tf_migrate_runtime.layers.shared`).

    Call arguments:
        inputs: `[B, T, input_dim]`.  memory: `[B, S, memory_dim]`.  memory_lengths: int `[B]` or None.
        initial_state: flat list of the cells' initial states (`[h, c]` per LSTM, `[h]` per GRU), or None (zeros).
        sequence_lengths: int `[B]` or None; given (`impute_finished=True`), a row's states and attention stop
            changing past its length, as `dynamic_decode` copies them through.

    Returns:
        `[outputs [B, T, output size], alignments [B, T, S], final states...]` (the flat state list).

    Example:
        >>> import numpy as np
        >>> layer = AttentionDecoder(["lstm"], [4], 3, 5, "luong", 4, attention_layer_size=6)
        >>> out = layer(np.ones((2, 3, 3), "float32"), np.ones((2, 7, 5), "float32"), np.array([7, 2]))
        >>> tuple(out[0].shape), tuple(out[1].shape)
        ((2, 3, 6), (2, 3, 7))
    """

    loops_over_time = True  # a loop of steps: tools call it traced (tf.function / jit), not step by step

    def __init__(self, families, units, input_dim, memory_dim, mechanism, num_units, scale=False, normalize=False,
                 attention_layer_size=None, output_attention=True, shared_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.families, self.units = list(families), [int(u) for u in units]
        self.input_dim, self.memory_dim = int(input_dim), int(memory_dim)
        self.mechanism, self.num_units = mechanism, int(num_units)
        self.scale, self.normalize = bool(scale), bool(normalize)
        self.attention_layer_size = int(attention_layer_size) if attention_layer_size else None
        self.output_attention = bool(output_attention)
        self.shared_weights = shared_map(shared_weights)

    @property
    def attention_width(self):
        return self.attention_layer_size or self.memory_dim

    def build(self, *args, **kwargs):
        self._build_weights()

    def bind_shared(self):
        """The `shared_weights` were bound (`shared.bind_shared_weights`): take them."""
        self._build_weights()

    def _build_weights(self):
        """The weights, in this order: the cells' (`add_cell_weights`), `memory_layer`, then Bahdanau's
        `query_layer`, `attention_v` (normalized: `attention_g`, `attention_b`) or scaled Luong's `attention_g`,
        then `attention_layer` when there is one. A weight `shared_weights` names is another layer's (`shared.py`):
        not created here, bound by the model; own weights are made once (this runs again when they are bound)."""
        cell_weights, _ = add_cell_weights(self, self.families, self.units, self.input_dim + self.attention_width,
                                           shared=True)
        q = self.units[-1]
        memory_kernel = slot_weight(self, "memory_layer", (self.memory_dim, self.num_units))
        query_kernel = v = g = b = None
        if self.mechanism == "bahdanau":
            query_kernel = slot_weight(self, "query_layer", (q, self.num_units))
            v = slot_weight(self, "attention_v", (self.num_units,))
            if self.normalize:
                g = slot_weight(self, "attention_g", ())
                b = slot_weight(self, "attention_b", (self.num_units,))
        elif self.scale:
            g = slot_weight(self, "attention_g", ())
        attention_kernel = (slot_weight(self, "attention_layer", (q + self.memory_dim, self.attention_layer_size))
                            if self.attention_layer_size else None)
        # past Keras' attribute tracking: the own variables are tracked by add_weight, a shared one is its holder's
        for attr, value in (("cell_weights", cell_weights), ("memory_kernel", memory_kernel),
                            ("query_kernel", query_kernel), ("v", v), ("g", g), ("b", b),
                            ("attention_kernel", attention_kernel)):
            object.__setattr__(self, attr, value)
        self.built = True

    def _cell(self, fam, w, x, state):
        return cell_step(fam, w, x, state)

    def _score(self, query, keys):
        if self.mechanism == "luong":
            score = ops.squeeze(ops.matmul(ops.expand_dims(query, 1), ops.transpose(keys, (0, 2, 1))), 1)
            return score * self.g if self.scale else score
        pq = ops.expand_dims(ops.matmul(query, self.query_kernel), 1)
        v = self.v
        if self.normalize:
            v = self.g * v / ops.sqrt(ops.sum(ops.square(v)))
            return ops.sum(v * ops.tanh(keys + pq + self.b), axis=2)
        return ops.sum(v * ops.tanh(keys + pq), axis=2)

    def _attend(self, x, attn, flat, keys, values, smask, cells=None):
        """One step: the stacked cells (`cells`: `loop_cells` of the cell weights, prepared before the loop) on
        concat([x, attention]), then the mechanism over the memory -> (top cell output, new flat state,
        alignments, new attention)."""
        h, new_flat, k = ops.concatenate([x, attn], axis=-1), [], 0
        for fam, w in zip(self.families, cells or self.cell_weights):
            n = 2 if fam == "lstm" else 1
            h, st = self._cell(fam, w, h, list(flat[k:k + n]))
            new_flat += st
            k += n
        score = self._score(h, keys)
        if smask is not None:
            score = ops.where(smask, score, NEG_INF)
        alignments = ops.softmax(score, axis=-1)
        context = ops.squeeze(ops.matmul(ops.expand_dims(alignments, 1), values), 1)
        attn = (ops.matmul(ops.concatenate([h, context], axis=-1), self.attention_kernel)
                if self.attention_kernel is not None else context)
        return h, new_flat, alignments, attn

    def _memory(self, memory, memory_lengths):
        """-> (memory mask or None, memory zeroed past each length, keys)."""
        if memory_lengths is not None:
            smask = ops.expand_dims(ops.arange(ops.shape(memory)[1]), 0) < ops.expand_dims(
                ops.cast(memory_lengths, "int32"), 1)
            values = memory * ops.expand_dims(ops.cast(smask, memory.dtype), -1)
        else:
            smask, values = None, memory
        return smask, values, ops.matmul(values, self.memory_kernel)

    def call(self, inputs, memory, memory_lengths=None, initial_state=None, sequence_lengths=None):
        check_bound(self)
        return run_traced(self, self._decode, inputs, memory, memory_lengths=memory_lengths,
                          initial_state=initial_state, sequence_lengths=sequence_lengths)

    def _decode(self, inputs, memory, memory_lengths=None, initial_state=None, sequence_lengths=None):
        batch = ops.shape(inputs)[0]
        smask, values, keys = self._memory(memory, memory_lengths)
        states = (zero_states(self.families, self.units, batch, inputs.dtype) if initial_state is None
                  else list(initial_state))
        attention = ops.zeros((batch, self.attention_width), inputs.dtype)

        width = self.attention_width if self.output_attention else self.units[-1]
        out0 = ops.zeros((batch, width), inputs.dtype)
        align0 = ops.zeros((batch, ops.shape(memory)[1]), inputs.dtype)

        cells = loop_cells(self.families, self.cell_weights)

        def step(carry, xk):
            x, keep = xk[:, :-1], xk[:, -1:] > 0.5
            attn, flat = carry[0], carry[1:]
            h, new_flat, alignments, attn = self._attend(x, attn, flat, keys, values, smask, cells)
            out = attn if self.output_attention else h
            if sequence_lengths is not None:  # impute_finished: a finished row keeps its state and attention
                attn = where_rows(keep[:, 0], attn, carry[0])
                new_flat = [where_rows(keep[:, 0], n, o) for n, o in zip(new_flat, flat)]
            return [attn] + new_flat, [out, alignments]

        steps = ops.arange(ops.shape(inputs)[1])
        lengths = sequence_lengths if sequence_lengths is not None else ops.full((batch,), ops.shape(inputs)[1])
        keep = ops.expand_dims(ops.expand_dims(steps, 0) < ops.expand_dims(ops.cast(lengths, "int32"), 1), -1)
        # one sequence scanned (inputs and the in-length flag side by side): the TensorFlow backend's scan cannot
        # check several sequences of unknown length against each other in a graph
        xs = ops.transpose(ops.concatenate([inputs, ops.cast(keep, inputs.dtype)], axis=-1), (1, 0, 2))
        carry, ys = scan_steps(step, [attention] + states, xs, [out0, align0])
        return [ops.transpose(ys[0], (1, 0, 2)), ops.transpose(ys[1], (1, 0, 2))] + carry[1:]

    def compute_output_spec(self, inputs, memory, memory_lengths=None, initial_state=None, sequence_lengths=None):
        b, t = inputs.shape[0], inputs.shape[1]
        width = self.attention_width if self.output_attention else self.units[-1]
        out = [keras.KerasTensor((b, t, width), inputs.dtype), keras.KerasTensor((b, t, memory.shape[1]), inputs.dtype)]
        return out + state_specs(self.families, self.units, b, inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(families=self.families, units=self.units, input_dim=self.input_dim, memory_dim=self.memory_dim,
                      mechanism=self.mechanism, num_units=self.num_units, scale=self.scale, normalize=self.normalize,
                      attention_layer_size=self.attention_layer_size, output_attention=self.output_attention)
        if self.shared_weights:
            config["shared_weights"] = {k: list(v) for k, v in self.shared_weights.items()}
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class GreedyAttentionDecoder(AttentionDecoder):
    """`dynamic_decode(BasicDecoder(AttentionWrapper(...) [+ output projection], GreedyEmbeddingHelper),
    maximum_iterations=N)`: the `AttentionDecoder` step, fed with the embedding of the previous argmax, until every
    row emitted `end_token` or N steps (a `keras.ops.while_loop`).

    Args (besides `AttentionDecoder`'s; `input_dim` is the embedding's depth):
        vocab_size: rows of the embedding.  output_size: the output projection's units (None: none).
        use_bias: whether the projection has a bias.  impute_finished: finished rows emit zeros, keep their state.
        shared_weights: as `AttentionDecoder`'s, and `embedding`, `output_kernel`, `output_bias` (the training
            path's `Embedding` and `Dense`).

    Call arguments:
        maximum_iterations: int scalar.  start_tokens: int `[B]`.  end_token: int scalar.
        memory / memory_lengths / initial_state: as `AttentionDecoder`.

    Returns:
        `[outputs [B, steps, width], sample_ids [B, steps], alignments [B, steps, S], final states...]`.

    Example:
        >>> import numpy as np
        >>> layer = GreedyAttentionDecoder(["gru"], [4], 3, 5, "bahdanau", 4, vocab_size=7, output_size=7)
        >>> out = layer(np.array(4), start_tokens=np.array([1, 1]), end_token=2, memory=np.ones((2, 6, 5), "float32"))
        >>> tuple(out[2].shape)[::2]
        (2, 6)
    """

    def __init__(self, *args, vocab_size=1, output_size=None, use_bias=True, impute_finished=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.vocab_size = int(vocab_size)
        self.output_size = int(output_size) if output_size else None
        self.use_bias, self.impute_finished = bool(use_bias), bool(impute_finished)

    def _build_weights(self):
        """`AttentionDecoder`'s weights, then `embedding`, then the output projection's `output_kernel` /
        `output_bias` when it has one (each shareable as there)."""
        super()._build_weights()
        embedding = slot_weight(self, "embedding", (self.vocab_size, self.input_dim))
        width = self.attention_width if self.output_attention else self.units[-1]
        out_kernel = out_bias = None
        if self.output_size:
            out_kernel = slot_weight(self, "output_kernel", (width, self.output_size))
            if self.use_bias:
                out_bias = slot_weight(self, "output_bias", (self.output_size,))
        for attr, value in (("embedding", embedding), ("out_kernel", out_kernel), ("out_bias", out_bias)):
            object.__setattr__(self, attr, value)
        self.built = True

    def call(self, maximum_iterations, start_tokens=None, end_token=None, memory=None, memory_lengths=None,
             initial_state=None, training=False):
        check_bound(self)
        return run_traced(self, self._greedy, maximum_iterations, start_tokens=start_tokens, end_token=end_token,
                          memory=memory, memory_lengths=memory_lengths, initial_state=initial_state,
                          training=training)

    def _greedy(self, maximum_iterations, start_tokens=None, end_token=None, memory=None, memory_lengths=None,
                initial_state=None, training=False):
        start_tokens = ops.cast(start_tokens, "int32")
        batch = ops.shape(start_tokens)[0]
        steps_max = static_steps(maximum_iterations, "GreedyAttentionDecoder")
        smask, values, keys = self._memory(memory, memory_lengths)
        states = zero_states(self.families, self.units, batch) if initial_state is None else list(initial_state)
        width = self.attention_width if self.output_attention else self.units[-1]
        out_width = self.output_size or width
        outs = step_buffer(steps_max, (batch, out_width))
        ids = step_buffer(steps_max, (batch,), "int32")
        aligns = step_buffer(steps_max, (batch, ops.shape(memory)[1]))
        attention = ops.zeros((batch, self.attention_width))
        finished = ops.zeros((batch,), "bool") | (steps_max <= 0)
        x = ops.take(self.embedding, start_tokens, axis=0)
        draws = self._draws(steps_max, batch)

        def cond(t, x, attn, finished, outs, ids, aligns, *flat):
            return ops.logical_and(t < steps_max, ops.logical_not(ops.all(finished)))

        cells = loop_cells(self.families, self.cell_weights)

        def body(t, x, attn, finished, outs, ids, aligns, *flat):
            h, new, alignments, new_attn = self._attend(x, attn, flat, keys, values, smask, cells)
            out = new_attn if self.output_attention else h
            if self.out_kernel is not None:
                out = dense_product(out, self.out_kernel, self.out_bias)
            sample = self._sample(out, t, draws)
            x = embed_ids(self.embedding, sample)
            next_finished = ops.logical_or(ops.equal(sample, ops.cast(end_token, "int32")), finished)
            if self.impute_finished:
                out = where_rows(finished, ops.zeros_like(out), out)
                sample = where_rows(finished, ops.zeros_like(sample), sample)
                new_attn = where_rows(finished, attn, new_attn)
                new = [where_rows(finished, o, n) for o, n in zip(flat, new)]
            outs = write_step(outs, t, out, training)
            ids = write_step(ids, t, sample, training)
            aligns = write_step(aligns, t, alignments, training)
            return (t + 1, x, new_attn, next_finished, outs, ids, aligns, *new)

        res = decode_loop(cond, body, (ops.convert_to_tensor(0, "int32"), x, attention, finished, outs, ids, aligns,
                                       *states), steps_max)
        n = res[0]
        return [ops.transpose(keep_steps(stacked(res[4]), n), (1, 0, 2)),
                ops.transpose(keep_steps(stacked(res[5]), n), (1, 0)),
                ops.transpose(keep_steps(stacked(res[6]), n), (1, 0, 2))] + list(res[7:])

    def _draws(self, steps, batch):
        """What `_sample` reads besides the step's output (a sampling subclass: its random numbers); None."""
        return None

    def _sample(self, out, t, draws):
        """The step's id: GreedyEmbeddingHelper's argmax."""
        return argmax_ids(out)

    def compute_output_spec(self, maximum_iterations, start_tokens=None, end_token=None, memory=None,
                            memory_lengths=None, initial_state=None, training=False):
        b = start_tokens.shape[0] if hasattr(start_tokens, "shape") else None
        width = self.output_size or (self.attention_width if self.output_attention else self.units[-1])
        out = [keras.KerasTensor((b, None, width)), keras.KerasTensor((b, None), "int32"),
               keras.KerasTensor((b, None, memory.shape[1]))]
        return out + state_specs(self.families, self.units, b)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, output_size=self.output_size, use_bias=self.use_bias,
                      impute_finished=self.impute_finished)
        return config
