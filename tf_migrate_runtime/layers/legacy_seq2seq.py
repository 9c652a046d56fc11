"""`LegacyAttentionDecoder`: TF1 `legacy_seq2seq.attention_decoder` (and `embedding_attention_decoder` /
`embedding_attention_seq2seq`'s decoder) as one Keras 3 layer, over stacked LSTM / GRU cells.

The math of `tensorflow/contrib/legacy_seq2seq/python/ops/seq2seq.py` (TF 0.9-1.15), written with `keras.ops`
only, with the weights in a fixed order (what a converted TF1 checkpoint provides):

    hidden = attention_states [B, L, A];  per head a: features_a = hidden @ AttnW_a   (the 1x1 Conv2D)
    attention(state): query = concat(flatten(state));  y = query @ Attention_a/kernel + bias
        s = sum(AttnV_a * tanh(features_a + y), -1);  p = softmax(s);  d_a = sum(p * hidden, 1)
    attns = zeros, or attention(initial_state) when initial_state_attention
    per step i: inp = decoder_inputs[i], or loop_function(output_{i-1}) when feed_previous (i > 0):
                      embedding[argmax(output_{i-1} [@ W + b])]
        x = concat([inp] + attns) @ kernel + bias;  cell_output, state = cells(x, state)
        [cell_output = cell_output @ W + b  (OutputProjectionWrapper)]
        attns = attention(state);  output_i = concat([cell_output] + attns) @ AttnOutputProjection + bias
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.attention import cell_step, loop_cells
from tf_migrate_runtime.layers.decoder import (
    add_cell_weights,
    argmax_ids,
    dense_product,
    embed_ids,
    run_traced,
    scan_steps,
    zero_states,
)
from tf_migrate_runtime.layers.shared import check_bound, shared_map, slot_weight


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class LegacyAttentionDecoder(keras.layers.Layer):
    """TF1 `legacy_seq2seq.attention_decoder` over all its (statically unrolled) steps.

    Args:
        families: per cell layer, "lstm" or "gru" (Keras layout: LSTM `[kernel, recurrent, bias]` gates i, f, c, o,
            the forget bias folded in; GRU `reset_after=False` gates z, r, h).
        units: per cell layer, its units.
        input_dim: depth of the decoder inputs (the cell input projection's output size too).
        attn_size: depth of the attention states.
        attn_vec_size: depth of the attention features (`AttnW_a` columns; TF uses attn_size).
        num_heads: attention heads.
        query_parts: the flattened state the attention query concatenates, as `[layer, "c" | "h"]` pairs
            (TF order: `(c, h)` per LSTM layer, `h` per GRU layer).
        output_size: the `AttnOutputProjection` units.
        cell_output_size: the `OutputProjectionWrapper` units around the cells, or None.
        initial_state_attention: the first attention read from the initial state (else zeros).
        feed_previous: greedy decoding: each step after the first reads the embedding of the previous output's
            argmax (`loop_function`), the inputs give the first step only.
        steps: the number of steps when `feed_previous` (the graph's decoder length).
        vocab_size: rows of the embedding the loop reads (feed_previous).
        loop_projection_size: the `output_projection` applied before the argmax (feed_previous), or None.
        shared_weights: weight name (those `build` makes: `input_kernel`, `cell_<k>_kernel`, `attn_w_<a>`,
            `embedding`, `loop_projection_kernel`, ...) -> [layer name, weight index]: read from that layer of the
            model (the teacher-forced decoder over the same TF1 variables, the `Embedding`, the `Dense` of the
            output projection), not held here (`tf_migrate_runtime.layers.shared`).

    Call arguments:
        inputs: `[B, T, input_dim]` (feed_previous: `[B, 1, input_dim]` or more, the first step read).
        attention_states: `[B, L, attn_size]`.
        initial_state: flat list of the cells' initial states (`[h, c]` per LSTM, `[h]` per GRU), or None (zeros).

    Returns:
        `[outputs [B, T, output_size], final states...]` (the flat Keras-order state list).

    Example:
        >>> import numpy as np
        >>> layer = LegacyAttentionDecoder(["lstm"], [4], 3, 5, 5, 1, [[0, "c"], [0, "h"]], output_size=7)
        >>> out = layer(np.ones((2, 3, 3), "float32"), np.ones((2, 6, 5), "float32"))
        >>> tuple(out[0].shape), len(out)
        ((2, 3, 7), 3)
    """

    loops_over_time = True  # a loop of steps: tools call it traced (tf.function / jit), not step by step

    def __init__(self, families, units, input_dim, attn_size, attn_vec_size, num_heads, query_parts, output_size,
                 cell_output_size=None, initial_state_attention=False, feed_previous=False, steps=None,
                 vocab_size=None, loop_projection_size=None, shared_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.families, self.units = list(families), [int(u) for u in units]
        self.input_dim, self.attn_size, self.attn_vec_size = int(input_dim), int(attn_size), int(attn_vec_size)
        self.num_heads = int(num_heads)
        self.query_parts = [[int(k), str(r)] for k, r in query_parts]
        self.output_size = int(output_size)
        self.cell_output_size = int(cell_output_size) if cell_output_size else None
        self.initial_state_attention, self.feed_previous = bool(initial_state_attention), bool(feed_previous)
        self.steps = int(steps) if steps else None
        self.vocab_size = int(vocab_size) if vocab_size else None
        self.loop_projection_size = int(loop_projection_size) if loop_projection_size else None
        self.shared_weights = shared_map(shared_weights)
        if self.feed_previous and not (self.steps and self.vocab_size):
            raise ValueError("LegacyAttentionDecoder(feed_previous=True) needs steps and vocab_size")

    def _state_index(self, layer: int, role: str) -> int:
        k = sum(2 if f == "lstm" else 1 for f in self.families[:layer])
        return k + (1 if role == "c" else 0)

    def build(self, *args, **kwargs):
        self._build_weights()

    def bind_shared(self):
        """The `shared_weights` were bound (`shared.bind_shared_weights`): take them."""
        self._build_weights()

    def _build_weights(self):
        """The weights in this order (a weight `shared_weights` names is another layer's, bound by the model; own
        weights are made once, this runs again when the shared ones are bound)."""
        def weight(name, shape):
            return slot_weight(self, name, shape)

        width = self.input_dim + self.num_heads * self.attn_size
        input_kernel = weight("input_kernel", (width, self.input_dim))
        input_bias = weight("input_bias", (self.input_dim,))
        cell_weights, top = add_cell_weights(self, self.families, self.units, self.input_dim, shared=True)
        q = sum(self.units[k] for k, _ in self.query_parts)
        heads = []
        for a in range(self.num_heads):
            heads.append([weight(f"attn_w_{a}", (self.attn_size, self.attn_vec_size)),
                          weight(f"attn_v_{a}", (self.attn_vec_size,)),
                          weight(f"attention_{a}_kernel", (q, self.attn_vec_size)),
                          weight(f"attention_{a}_bias", (self.attn_vec_size,))])
        cell_proj = None
        if self.cell_output_size:
            cell_proj = [weight("output_wrapper_kernel", (top, self.cell_output_size)),
                         weight("output_wrapper_bias", (self.cell_output_size,))]
            top = self.cell_output_size
        out_kernel = weight("attn_output_projection_kernel", (top + self.num_heads * self.attn_size, self.output_size))
        out_bias = weight("attn_output_projection_bias", (self.output_size,))
        embedding = loop_proj = None
        if self.feed_previous:
            embedding = weight("embedding", (self.vocab_size, self.input_dim))
            if self.loop_projection_size:
                loop_proj = [weight("loop_projection_kernel", (self.output_size, self.loop_projection_size)),
                             weight("loop_projection_bias", (self.loop_projection_size,))]
        # past Keras' attribute tracking: the own variables are tracked by add_weight, a shared one is its holder's
        for attr, value in (("input_kernel", input_kernel), ("input_bias", input_bias), ("cell_weights", cell_weights),
                            ("heads", heads), ("cell_proj", cell_proj), ("out_kernel", out_kernel),
                            ("out_bias", out_bias), ("embedding", embedding), ("loop_proj", loop_proj)):
            object.__setattr__(self, attr, value)
        self.built = True

    def _attention(self, flat, hidden, features):
        query = ops.concatenate([flat[self._state_index(k, r)] for k, r in self.query_parts], axis=-1)
        ds = []
        for (_, v, qk, qb), feat in zip(self.heads, features):
            y = dense_product(query, qk, qb)
            s = ops.sum(v * ops.tanh(feat + ops.expand_dims(y, 1)), axis=-1)
            p = ops.softmax(s, axis=-1)
            ds.append(ops.sum(ops.expand_dims(p, -1) * hidden, axis=1))
        return ds

    def _step(self, inp, attns, flat, hidden, features, cells):
        x = dense_product(ops.concatenate([inp] + list(attns), axis=-1), self.input_kernel, self.input_bias)
        new_flat, k = [], 0
        for fam, w in zip(self.families, cells):
            n = 2 if fam == "lstm" else 1
            x, st = cell_step(fam, w, x, list(flat[k:k + n]))
            new_flat += st
            k += n
        if self.cell_proj is not None:
            x = dense_product(x, *self.cell_proj)
        attns = self._attention(new_flat, hidden, features)
        out = dense_product(ops.concatenate([x] + attns, axis=-1), self.out_kernel, self.out_bias)
        return out, attns, new_flat

    def _loop_input(self, out):
        """`_extract_argmax_and_embed`: the embedding of argmax(out [@ W + b])."""
        if self.loop_proj is not None:
            out = dense_product(out, *self.loop_proj)
        return embed_ids(self.embedding, argmax_ids(out))

    def call(self, inputs, attention_states, initial_state=None):
        check_bound(self)
        return run_traced(self, self._decode, inputs, attention_states, initial_state=initial_state)

    def _decode(self, inputs, attention_states, initial_state=None):
        batch = ops.shape(inputs)[0]
        hidden = attention_states
        features = [ops.matmul(hidden, w) for w, _, _, _ in self.heads]
        flat = (zero_states(self.families, self.units, batch, inputs.dtype) if initial_state is None
                else list(initial_state))
        if self.initial_state_attention:
            attns = self._attention(flat, hidden, features)
        else:
            attns = [ops.zeros((batch, self.attn_size), inputs.dtype)] * self.num_heads
        n_att = self.num_heads
        out0 = ops.zeros((batch, self.output_size), inputs.dtype)
        cells = loop_cells(self.families, self.cell_weights)

        if self.feed_previous:
            def step(carry, _):
                nxt, attns, flat = carry[0], carry[1:1 + n_att], carry[1 + n_att:]
                out, attns, flat = self._step(nxt, attns, flat, hidden, features, cells)
                return [self._loop_input(out)] + attns + flat, [out]

            carry, ys = scan_steps(step, [inputs[:, 0]] + attns + flat, ops.arange(self.steps), [out0])
        else:
            def step(carry, x):
                attns, flat = carry[:n_att], carry[n_att:]
                out, attns, flat = self._step(x, attns, flat, hidden, features, cells)
                return attns + flat, [out]

            carry, ys = scan_steps(step, attns + flat, ops.transpose(inputs, (1, 0, 2)), [out0])
        return [ops.transpose(ys[0], (1, 0, 2))] + carry[len(carry) - len(flat):]

    def compute_output_spec(self, inputs, attention_states, initial_state=None):
        b = inputs.shape[0]
        t = self.steps if self.feed_previous else inputs.shape[1]
        states = [keras.KerasTensor((b, u), inputs.dtype)  # one spec per state (h and c distinct objects)
                  for fam, u in zip(self.families, self.units) for _ in range(2 if fam == "lstm" else 1)]
        return [keras.KerasTensor((b, t, self.output_size), inputs.dtype)] + states

    def get_config(self):
        config = super().get_config()
        config.update(families=self.families, units=self.units, input_dim=self.input_dim, attn_size=self.attn_size,
                      attn_vec_size=self.attn_vec_size, num_heads=self.num_heads, query_parts=self.query_parts,
                      output_size=self.output_size, cell_output_size=self.cell_output_size,
                      initial_state_attention=self.initial_state_attention, feed_previous=self.feed_previous,
                      steps=self.steps, vocab_size=self.vocab_size, loop_projection_size=self.loop_projection_size)
        if self.shared_weights:
            config["shared_weights"] = {k: list(v) for k, v in self.shared_weights.items()}
        return config
