"""`tf.nn.raw_rnn` greedy decoding loops as a layer (keras.ops only: every backend).

How TF 1.x code wrote a greedy decoder before contrib.seq2seq: `raw_rnn(cell, loop_fn)`, whose `loop_fn(time,
cell_output, cell_state, loop_state)` returns `(elements_finished, next_input, next_state, emit_output, loop_state)`,
the next input `embedding_lookup(embedding, argmax(cell_output @ W + b))`. raw_rnn itself (TF 1.15
`tensorflow/python/ops/rnn.py`) then, at every step, emits zeros for the rows already finished and copies their
state through, and ORs the new `elements_finished` into the old; the loop runs while any row is unfinished. Its
emit is what `loop_fn` returns: the cell output, or the logits.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tf_migrate_runtime.layers.decoder import (
    argmax_ids,
    build_embedding_decoder,
    concrete_int,
    decode_loop,
    dense_product,
    embed_ids,
    keep_steps,
    run_traced,
    stacked,
    state_specs,
    static_steps,
    step_buffer,
    write_step,
    zero_states,
)
from tf_migrate_runtime.layers.shared import check_bound, shared_map

EMITS = ("output", "logits")


def known_max(x) -> int | None:
    """`max(x)` as a Python int where `x` is known here (a number, an array, an eager tensor), else None (a JAX
    tracer under `jit`, a symbolic tensor): the decode buffers then get a static size under `jax.jit` too."""
    try:
        return int(np.max(ops.convert_to_numpy(x)))
    except Exception:  # noqa: BLE001 - any backend's "no value here" error
        return None


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class RawRNNGreedyDecoder(keras.layers.Layer):
    """`tf.nn.raw_rnn(cells, loop_fn)` with a greedy `loop_fn`: each step feeds the embedding of the argmax of the
    step's logits (`output @ W + b`); a row is finished once `time + 1 >= lengths` (TF1 `loop_fn`'s
    `elements_finished = time >= length`, `time` counted from 1 there) or once it emitted `end_token`; finished rows
    emit zeros and keep their state (raw_rnn's `copy_cond`); the loop stops when every row is finished.

    Args:
        families / units: per cell layer, "lstm" or "gru" and its units (Keras weight layout, GRU `reset_after=False`).
        vocab_size / embedding_dim: the embedding matrix the next input is read from.
        output_size: the projection's units (None: the argmax of the cell output itself).
        use_bias: whether the projection has a bias.
        emit: what `loop_fn` emits: "output" (the top cell's output) or "logits" (the projection's).
        shared_weights: weight name (`cell_<k>_kernel` / `_recurrent_kernel` / `_bias`, `embedding`,
            `output_kernel`, `output_bias`) -> [layer name, weight index]: read from that layer of the model (the
            training path's `Embedding`, `Dense`, `LSTM` / `GRU`), not held here (`tf_migrate_runtime.layers.shared`).

    Call arguments:
        start_tokens: int `[B]`, the ids whose embedding is the first input.
        lengths: int scalar or `[B]` (None: no length stop; then `maximum_iterations` must bound the loop).
        end_token: int scalar (None: no EOS stop).
        initial_finished: bool `[B]`, `loop_fn`'s `elements_finished` at time 0 (None: no row).
        initial_state: flat list of the cells' states (`[h, c]` per LSTM, `[h]` per GRU), or None (zeros).
        maximum_iterations: optional int scalar bound on the steps (the loop's own bound is `max(lengths)`).

    Returns:
        `[emitted [B, steps, width], final states...]`, `steps` the number of steps the loop ran.

    Example:
        >>> import numpy as np
        >>> layer = RawRNNGreedyDecoder(["gru"], [4], vocab_size=7, embedding_dim=3, output_size=7)
        >>> out = layer(np.array([1, 1]), lengths=np.array([3, 1]))
        >>> tuple(out[0].shape), float(np.abs(np.asarray(out[0])[1, 1:]).max())
        ((2, 3, 4), 0.0)
    """

    loops_over_time = True  # a loop of steps: tools call it traced (tf.function / jit), not step by step

    def __init__(self, families, units, vocab_size, embedding_dim, output_size=None, use_bias=True, emit="output",
                 shared_weights=None, **kwargs):
        super().__init__(**kwargs)
        if emit not in EMITS:
            raise ValueError(f"RawRNNGreedyDecoder: emit={emit!r}; expected one of {EMITS}")
        self.families, self.units = list(families), [int(u) for u in units]
        self.vocab_size, self.embedding_dim = int(vocab_size), int(embedding_dim)
        self.output_size = int(output_size) if output_size else None
        self.use_bias, self.emit = bool(use_bias), emit
        self.shared_weights = shared_map(shared_weights)

    def build(self, *args, **kwargs):
        build_embedding_decoder(self)

    def bind_shared(self):
        """The `shared_weights` were bound (`shared.bind_shared_weights`): take them."""
        build_embedding_decoder(self)

    @property
    def width(self) -> int:
        return self.output_size if self.emit == "logits" and self.output_size else self.units[-1]

    def call(self, start_tokens, lengths=None, end_token=None, initial_finished=None, initial_state=None,
             maximum_iterations=None, training=False):
        if lengths is None and maximum_iterations is None:
            raise ValueError("RawRNNGreedyDecoder: neither lengths nor maximum_iterations bounds the loop (a raw_rnn "
                             "stopped only by end_token runs until every row emitted it); give one of them.")
        check_bound(self)
        return run_traced(self, self._decode, start_tokens, lengths=lengths, end_token=end_token,
                          initial_finished=initial_finished, initial_state=initial_state,
                          maximum_iterations=maximum_iterations, training=training)

    def _decode(self, start_tokens, lengths=None, end_token=None, initial_finished=None, initial_state=None,
                maximum_iterations=None, training=False):
        from tf_migrate_runtime.layers.attention import loop_cells, stack_step  # noqa: PLC0415

        start_tokens = ops.cast(start_tokens, "int32")
        batch = ops.shape(start_tokens)[0]
        bound = None
        if lengths is not None:
            known = known_max(lengths)
            lengths = ops.broadcast_to(ops.cast(lengths, "int32"), (batch,))
            bound = max(known, 0) if known is not None else ops.maximum(ops.max(lengths), 0)
        if maximum_iterations is not None:
            cap = concrete_int(maximum_iterations)
            cap = ops.cast(maximum_iterations, "int32") if cap is None else cap
            both = isinstance(bound, int) and isinstance(cap, int)
            bound = cap if bound is None else min(bound, cap) if both else ops.minimum(bound, cap)
        steps_max = static_steps(bound, "RawRNNGreedyDecoder")
        states = zero_states(self.families, self.units, batch) if initial_state is None else list(initial_state)
        outs = step_buffer(steps_max, (batch, self.width))
        finished = ops.zeros((batch,), "bool") if initial_finished is None else ops.cast(initial_finished, "bool")
        x = ops.take(self.embedding, start_tokens, axis=0)

        cells = loop_cells(self.families, self.cell_weights)   # joined once, before the loop

        def cond(t, x, finished, outs, *states):
            return ops.logical_and(t < steps_max, ops.logical_not(ops.all(finished)))

        def body(t, x, finished, outs, *states):
            h, new = stack_step(self.families, cells, x, states)
            logits = dense_product(h, self.kernel, self.bias) if self.kernel is not None else h
            ids = argmax_ids(logits)
            done = ops.zeros_like(finished)
            if lengths is not None:
                done = ops.logical_or(done, t + 1 >= lengths)
            if end_token is not None:
                done = ops.logical_or(done, ops.equal(ids, ops.cast(end_token, "int32")))
            f = ops.expand_dims(finished, -1)
            emit = logits if self.emit == "logits" else h
            emit = ops.where(f, ops.zeros_like(emit), emit)             # raw_rnn: zeros for finished rows
            new = [ops.where(f, o, n) for o, n in zip(states, new)]     # and their state copied through
            outs = write_step(outs, t, emit, training)
            return (t + 1, embed_ids(self.embedding, ids), ops.logical_or(finished, done), outs, *new)

        res = decode_loop(cond, body, (ops.convert_to_tensor(0, "int32"), x, finished, outs, *states), steps_max)
        emitted = ops.transpose(keep_steps(stacked(res[3]), res[0]), (1, 0, 2))
        return [emitted] + list(res[4:])

    def compute_output_spec(self, start_tokens, lengths=None, end_token=None, initial_finished=None,
                            initial_state=None, maximum_iterations=None, training=False):
        b = start_tokens.shape[0] if hasattr(start_tokens, "shape") else None
        return [keras.KerasTensor((b, None, self.width))] + state_specs(self.families, self.units, b)

    def get_config(self):
        config = super().get_config()
        config.update(families=self.families, units=self.units, vocab_size=self.vocab_size,
                      embedding_dim=self.embedding_dim, output_size=self.output_size, use_bias=self.use_bias,
                      emit=self.emit)
        if self.shared_weights:
            config["shared_weights"] = {k: list(v) for k, v in self.shared_weights.items()}
        return config
