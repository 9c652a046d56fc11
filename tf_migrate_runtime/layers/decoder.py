"""Layers for converted contrib.seq2seq decoders (`BasicDecoder` + `TrainingHelper` under `dynamic_decode`).

On every Keras backend (`keras.ops` only). A TF1 decode loop runs a data-dependent number of steps (`max(lengths)`,
or until every row emitted the end token); eager calls (any backend) and TensorFlow graphs return exactly those steps.
Under `jax.jit` (`model.predict` / `fit` on JAX) an output shape cannot depend on data: the layers then return their
static bound (the decoder inputs' length, `maximum_iterations`) and the steps after the TF1 loop would have stopped
are zeros (greedy outputs and ids) or the teacher-forced steps past `max(lengths)`.

Speed (issue 22; `benchmarks/bench_converted_speed.py`, docs/performance.md): on the TensorFlow backend a layer
that loops over time runs its loop traced even when the model is called eagerly (`run_traced`: one `tf.function`
per layer, kept beside it, instead of one Python iteration of eager ops per step), and a decode loop writes its
per-step outputs into `tf.TensorArray`s (`step_buffer` / `write_step` / `stacked`): a `slice_update` there is
`XlaDynamicUpdateSlice`, which outside XLA runs as a separately compiled op and copies the whole buffer at every
step. Other backends keep dense buffers.
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.shared import check_bound, shared_map, slot_weight


def concrete_int(x):
    """An int scalar as a Python int when its value is known here, else None: a JAX tracer under `jit`, a symbolic
    TensorFlow tensor in a graph, a PyTorch tensor on the "meta" device (Keras' shape inference)."""
    if x is None or isinstance(x, int):
        return x
    try:
        return int(ops.convert_to_numpy(x))
    except Exception:  # noqa: BLE001 - any backend's "no value here" error
        return None


def _in_symbolic_scope() -> bool:
    from tf_migrate_runtime._keras_internals import in_symbolic_scope  # noqa: PLC0415

    return in_symbolic_scope()


_TRACED = "_tfm_traced_loop"   # the attribute run_traced keeps a layer's tf.function in


def run_traced(layer, fn, *args, **kwargs):
    """`fn(*args, **kwargs)` (the layer's loop): on the TensorFlow backend, when called eagerly, through one
    `tf.function` kept for `layer` (traced once per input signature, shapes generalised after a few), so that an
    eager call runs the loop as a graph rather than as one Python iteration of eager ops per step (a greedy decoder
    30x faster eagerly). Inside a traced call (tf.function, `model.predict`, a Keras functional build) and on other
    backends: `fn` directly."""
    if keras.backend.backend() != "tensorflow":
        return fn(*args, **kwargs)
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    if not tf.executing_eagerly():
        return fn(*args, **kwargs)
    traced = layer.__dict__.get(_TRACED)
    if traced is None:   # kept on the layer past Keras' and TensorFlow's attribute tracking (nothing to save)
        traced = tf.function(fn, autograph=False, reduce_retracing=True)
        object.__setattr__(layer, _TRACED, traced)
    return traced(*args, **kwargs)


def step_product(x, h, kernel, recurrent, bias):
    """A cell step's gate pre-activations `x @ kernel + h @ recurrent + bias`, on TensorFlow outside XLA in TF1's
    own form: one product `concat([x, h]) @ concat([kernel, recurrent])` with the bias added by `bias_add`, which
    TensorFlow's graph optimiser fuses into the product (`_FusedMatMul`); an unfused product of a few rows costs
    several times more (docs/performance.md). Elsewhere (JAX, PyTorch, XLA) the plain sum, which they fuse."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        from tf_migrate_runtime._keras_internals import in_xla_compilation  # noqa: PLC0415

        if not in_xla_compilation():
            return tf.nn.bias_add(tf.matmul(tf.concat([x, h], 1), tf.concat([kernel, recurrent], 0)), bias)
    return ops.matmul(x, kernel) + ops.matmul(h, recurrent) + bias


def scan_steps(step, carry, xs, ys_like):
    """`step(carry, x_t) -> (new carry, ys)` over the steps of `xs` `[T, ...]` -> (final carry, each of `ys`
    stacked `[T, ...]`). `carry` and `ys_like` (tensors shaped like one step's `ys`) are lists.

    On TensorFlow: a `tf.while_loop` with the carry as plain loop variables and only the `ys` written to
    `tf.TensorArray`s. `keras.ops.scan` there runs `parallel_iterations=1` (no overlap of a step's independent work
    with the next), stores the carry in TensorArrays read and written at every step, and stacks only what has the
    carry's shape, so a layer had to carry its outputs too (every state stacked per step); docs/performance.md.
    Elsewhere `keras.ops.scan`, the outputs carried beside the state as before."""
    n_ys = len(ys_like)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        xs = tf.convert_to_tensor(xs)
        steps = xs.shape[0] if xs.shape[0] is not None else tf.shape(xs)[0]
        xs_ta = tf.TensorArray(xs.dtype, size=steps, element_shape=xs.shape[1:]).unstack(xs)
        ys_ta = [tf.TensorArray(y.dtype, size=steps, element_shape=y.shape) for y in ys_like]

        def body(t, tas, *c):
            new, ys = step(list(c), xs_ta.read(t))
            return (t + 1, [ta.write(t, y) for ta, y in zip(tas, ys)], *new)

        # the condition is the trip count: no `maximum_iterations` outside XLA (one loop variable, an `AddV2`, a `Less`
        # and a `LogicalAnd` fewer per step); under XLA as before (not measured there)
        res = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), ys_ta, *carry),
                            maximum_iterations=None if tf_outside_xla() else steps)
        return list(res[2:]), [ta.stack() for ta in res[1]]

    def f(c, x):   # the outputs carried beside the state: the TF backend's scan stacks only carry-shaped values
        new, ys = step(list(c[n_ys:]), x)
        out = tuple(list(ys) + list(new))
        return out, out

    final, ys = ops.scan(f, tuple(list(ys_like) + list(carry)), xs)
    return list(final[n_ys:]), list(ys[:n_ys])


# Under XLA on a CPU a recurrent step's one fused product `[B, I + U] @ [I + U, n U]` (TF1's form) beats the two of
# `x @ kernel + h @ recurrent` while I + U is at most this; from I + U = 256 (2 x LSTM(128) on 128-wide inputs:
# 6.0 ms against 3.5) XLA runs the one wide product at half the speed of the two (docs/performance.md, "XLA").
XLA_FUSED_MAX_WIDTH = 192


def fused_step_form(width: int) -> bool:
    """Whether a cell step whose fused product is `width` (inputs + units) wide takes TF1's fused form here: on
    TensorFlow outside XLA always; under XLA when at most `XLA_FUSED_MAX_WIDTH` wide."""
    if keras.backend.backend() != "tensorflow":
        return False
    return tf_outside_xla() or width <= XLA_FUSED_MAX_WIDTH


def lstm_gates(z, recurrent_activation, activation, forget_bias: float = 0.0):
    """An LSTM step's gates `i, f, g, o` (Keras' order) from its pre-activations `z` `[B, 4 U]`, activated. Under XLA
    the four activations form one array (one fusion; split first, XLA ran a fusion per gate and each recomputed the
    bias add: ptrnet_lstm_bahdanau_tf16's encoder 1.40x -> 1.63x of the TF1 graph); the same values either way.
    `forget_bias` (`tfm.LSTM(forget_bias=F)`) is added to f's pre-activation, after the bias, as TF1 adds it."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    if tf_outside_xla():
        i, f, g, o = tf.split(z, 4, axis=-1)
        if forget_bias:
            f = f + forget_bias
        return recurrent_activation(i), recurrent_activation(f), activation(g), recurrent_activation(o)
    u = z.shape[-1] // 4
    if forget_bias:
        z = tf.concat([z[:, :u], z[:, u:2 * u] + forget_bias, z[:, 2 * u:]], 1)
    z = tf.concat([recurrent_activation(z[:, :2 * u]), activation(z[:, 2 * u:3 * u]),
                   recurrent_activation(z[:, 3 * u:])], 1)
    return tf.split(z, 4, axis=-1)


def tf_outside_xla() -> bool:
    """The TensorFlow backend, in a graph XLA will not compile (where the fused forms below pay)."""
    if keras.backend.backend() != "tensorflow":
        return False
    from tf_migrate_runtime._keras_internals import in_xla_compilation  # noqa: PLC0415

    return not in_xla_compilation()


def dense_product(x, kernel, bias=None):
    """`x @ kernel + bias` (a decoder's output or input projection, one step `[B, I]`): on TensorFlow outside XLA
    as TF1's dense ran it, `bias_add(matmul)`, which the graph optimiser fuses into one `_FusedMatMul`
    (`keras.ops`' `matmul` + `add` stay two ops: an unfused `MatMul` of a few rows costs several times the fused
    one; docs/performance.md). Elsewhere the plain sum."""
    if tf_outside_xla():
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        y = tf.matmul(x, kernel)
        return tf.nn.bias_add(y, bias) if bias is not None else y
    y = ops.matmul(x, kernel)
    return y + bias if bias is not None else y


def argmax_ids(x):
    """`int32(argmax(x, -1))`, a greedy step's id: on TensorFlow TF1's own `ArgMax` (`keras.ops.argmax` adds six
    ops per call there to order -0.0 below 0.0, which TF1 never did); elsewhere `keras.ops.argmax`."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        return tf.argmax(x, axis=-1, output_type=tf.int32)
    return ops.cast(ops.argmax(x, axis=-1), "int32")


def where_rows(cond, a, b):
    """`a` where `cond`, else `b`, row by row: `cond` bool `[B]`, `a` and `b` `[B, ...]` (or `[B]`). On TensorFlow
    outside XLA TF1's own `Select` of whole rows (what `dynamic_decode(impute_finished=True)` and `dynamic_rnn` ran),
    about half the time per call of the broadcasting `SelectV2` that `keras.ops.where(cond[:, None], a, b)` is
    there (docs/performance.md); elsewhere that `keras.ops.where`."""
    if tf_outside_xla():
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        return tf.raw_ops.Select(condition=cond, x=a, y=b)
    return ops.where(ops.reshape(cond, (-1,) + (1,) * (len(a.shape) - 1)), a, b)


def embed_ids(embedding, ids):
    """The rows `ids` (int32, never negative: a step's sampled ids) of `embedding`: on TensorFlow TF1's own
    `Gather` (`keras.ops.take` adds a negative-index fix per call there: `Less`, `AddV2`, `SelectV2`, and reads the
    whole variable); elsewhere `keras.ops.take`."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        return tf.gather(embedding, ids)
    return ops.take(embedding, ids, axis=0)


def _is_tensor_array(buf) -> bool:
    return type(buf).__name__.endswith("TensorArray") and hasattr(buf, "write")


def step_buffer(steps, shape, dtype="float32"):
    """A buffer for one per-step output of a decode loop, `steps` (int or int32 scalar) elements of `shape` (ints,
    or scalar tensors from `keras.ops.shape`): a `tf.TensorArray` on TensorFlow (written in place, an unwritten
    element stacks as zeros), zeros `[steps, *shape]` elsewhere."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        static = [d if isinstance(d, int) else None for d in shape]
        return tf.TensorArray(dtype, size=steps, element_shape=static)
    return keras.ops.zeros((steps, *shape), dtype)


def stacked(buf):
    """A `step_buffer` as the tensor `[steps, *shape]`."""
    return buf.stack() if _is_tensor_array(buf) else buf


def write_step(buf, t, value, training=False):
    """`buf[t] = value` for a `step_buffer` `[steps, ...]`: a TensorArray write on TensorFlow; elsewhere
    `slice_update`, except when training on TensorFlow with a dense buffer: there it is `XlaDynamicUpdateSlice`,
    which has no gradient, so `fit` writes the step with `scatter_update` (`TensorScatterUpdate`: differentiable,
    XLA-compilable, in place under XLA)."""
    if _is_tensor_array(buf):
        return buf.write(keras.ops.cast(t, "int32"), keras.ops.cast(value, buf.dtype))
    t = keras.ops.cast(t, "int32")
    if not (training and keras.backend.backend() == "tensorflow"):
        return keras.ops.slice_update(buf, (t,) + (0,) * (len(buf.shape) - 1), keras.ops.expand_dims(value, 0))
    return keras.ops.scatter_update(buf, keras.ops.reshape(t, (1, 1)), keras.ops.expand_dims(value, 0))


def keep_steps(x, n, axis: int = 0):
    """The first `n` entries of `x` along `axis` (0 or 1): `n` known (eager, any backend) or a TensorFlow graph
    tensor: exactly those; under `jax.jit` and in Keras' shape inference on JAX / PyTorch (which runs the layers on
    tensors of ones): all of `x`, its static bound (see the module doc)."""
    backend = keras.backend.backend()
    if backend != "tensorflow" and _in_symbolic_scope():
        return x
    k = concrete_int(n)
    if k is None and backend == "jax":
        return x
    if k is None and backend != "tensorflow":   # PyTorch "meta" tensors: Keras retries with real ones
        raise ValueError("the number of decode steps is unknown here (symbolic tensors)")
    k = n if k is None else k
    return x[:k] if axis == 0 else x[:, :k]


def decode_loop(cond, body, carry, max_steps):
    """`keras.ops.while_loop(cond, body, carry)` for a decode loop bounded by `max_steps`.

    On JAX with a static `max_steps`: a `fori_loop` of `max_steps` steps in which a step whose `cond` is False leaves
    the carry unchanged. Same result; it compiles under `jit` with static shapes and is reverse-mode differentiable
    (`lax.while_loop` is not), so `fit` trains through it."""
    steps = concrete_int(max_steps)
    if keras.backend.backend() != "jax" or steps is None:
        return ops.while_loop(cond, body, tuple(carry))

    def step(_, c):
        go = cond(*c)
        return tuple(ops.where(go, n, o) for n, o in zip(body(*c), c))

    return ops.fori_loop(0, steps, step, tuple(carry))


def static_steps(maximum_iterations, layer: str):
    """`maximum_iterations` as a Python int where known (the buffers' static size), else its int32 tensor; under
    `jax.jit` a bound that depends on the inputs cannot size the buffers: a clear error."""
    steps = concrete_int(maximum_iterations)
    if steps is not None:
        return steps
    if keras.backend.backend() == "jax":
        raise ValueError(f"{layer}: maximum_iterations depends on the model's inputs, so under jax.jit (model.predict / "
                         f"fit on JAX) the decode buffers have no static size; call the model eagerly (model(x)) or "
                         f"use a constant maximum_iterations.")
    return ops.cast(maximum_iterations, "int32")


# the family of a `keras.layers.GRU(reset_after=True)` cell (contrib's CudnnCompatibleGRUCell, cuDNN's GRU): the
# reset gate multiplies the projected state, the bias one row per input / recurrent product
RESET_AFTER = "gru_reset_after"


def add_cell_weights(layer, families, units, width: int, shared: bool = False):
    """Add each stacked cell's Keras-layout weights (`cell_<k>_kernel`, `_recurrent_kernel`, `_bias`) to `layer`,
    the first cell fed `width` features -> (per cell [kernel, recurrent_kernel, bias], the top cell's width).
    `shared`: through `shared.slot_weight` (a weight the layer's `shared_weights` names is the holder's)."""
    cell_weights = []

    def weight(shape, name):
        return slot_weight(layer, name, shape) if shared else layer.add_weight(shape=shape, name=name)

    for k, (fam, u) in enumerate(zip(families, units)):
        gates = 4 if fam == "lstm" else 3
        bias = (2, gates * u) if fam == RESET_AFTER else (gates * u,)   # GRU(reset_after=True): input, recurrent rows
        cell_weights.append([weight(s, f"cell_{k}_{n}") for n, s in (
            ("kernel", (width, gates * u)), ("recurrent_kernel", (u, gates * u)), ("bias", bias))])
        width = u
    return cell_weights, width


def zero_states(families, units, batch, dtype=None) -> list:
    """The flat zero initial state of stacked cells: `[h, c]` per LSTM, `[h]` per GRU."""
    states = []
    for fam, u in zip(families, units):
        states += [keras.ops.zeros((batch, u), dtype)] * (2 if fam == "lstm" else 1)
    return states


def state_specs(families, units, batch, dtype="float32") -> list:
    """The output specs of the flat final state of stacked cells (the layout of `zero_states`)."""
    out = []
    for fam, u in zip(families, units):
        out += [keras.KerasTensor((batch, u), dtype) for _ in range(2 if fam == "lstm" else 1)]  # distinct h, c
    return out


def build_embedding_decoder(layer) -> None:
    """The weights of a decoder that feeds its cells an embedding (`GreedyDecoder`, the sampling decoders), in
    this order: the cells' (`add_cell_weights`), `embedding`, then the output layer's `output_kernel` /
    `output_bias` when it has one. A weight its `shared_weights` names is another layer's (`shared.py`): not
    created here, bound by the model. Run again when they are bound (`bind_shared`): own weights are made once."""
    cell_weights, width = add_cell_weights(layer, layer.families, layer.units, layer.embedding_dim, shared=True)
    embedding = slot_weight(layer, "embedding", (layer.vocab_size, layer.embedding_dim))
    kernel = bias = None
    if layer.output_size:
        kernel = slot_weight(layer, "output_kernel", (width, layer.output_size))
        if layer.use_bias:
            bias = slot_weight(layer, "output_bias", (layer.output_size,))
    # past Keras' attribute tracking: the own variables are tracked by add_weight, a shared one is its holder's
    for attr, value in (("cell_weights", cell_weights), ("kernel", kernel), ("bias", bias), ("embedding", embedding)):
        object.__setattr__(layer, attr, value)
    layer.built = True


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TrimToMaxLength(keras.layers.Layer):
    """`dynamic_decode` with a `TrainingHelper` runs `max(sequence_length)` steps: keeps the first `max(lengths)`
    steps of a batch-major `[B, T, ...]` sequence.

    Call arguments:
        sequence: `[B, T, ...]`.
        lengths: int `[B]`.
        maximum_iterations: optional int scalar, the most steps `dynamic_decode` runs.

    Returns:
        `[B, max(lengths), ...]`.

    Example:
        >>> import numpy as np
        >>> tuple(TrimToMaxLength()(np.ones((2, 4, 3), "float32"), np.array([1, 2])).shape)
        (2, 2, 3)
    """

    def call(self, sequence, lengths, maximum_iterations=None):
        steps = keras.ops.max(keras.ops.cast(lengths, "int32"))
        if maximum_iterations is not None:  # dynamic_decode(maximum_iterations=...) stops there
            steps = keras.ops.minimum(steps, keras.ops.cast(maximum_iterations, "int32"))
            bound = concrete_int(maximum_iterations)
            if bound is not None and concrete_int(steps) is None and keras.backend.backend() == "jax":
                sequence = sequence[:, :bound]   # under jit: the static part of the bound
        return keep_steps(sequence, steps, axis=1)

    def compute_output_spec(self, sequence, lengths, maximum_iterations=None):
        return keras.KerasTensor((sequence.shape[0], None) + tuple(sequence.shape[2:]), dtype=sequence.dtype)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class SampleIds(keras.layers.Layer):
    """`TrainingHelper.sample`: `int32(argmax(outputs, -1))` per step.

    Example:
        >>> import numpy as np
        >>> keras.ops.convert_to_numpy(SampleIds()(np.array([[[0.1, 0.9]]], "float32"))).tolist()
        [[1]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the decoder's length mask passes through

    def call(self, outputs):
        return argmax_ids(outputs)

    def compute_output_spec(self, outputs):
        return keras.KerasTensor(tuple(outputs.shape[:-1]), dtype="int32")


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class GreedyDecoder(keras.layers.Layer):
    """contrib.seq2seq `dynamic_decode(BasicDecoder(cells, GreedyEmbeddingHelper(embedding, start_tokens,
    end_token), initial_state, output_layer), maximum_iterations=N)`: each step feeds the embedding of the previous
    step's argmax; a row is finished when it emits `end_token`; the loop stops when every row is finished or after
    `maximum_iterations` steps (a `keras.ops.while_loop`).

    Args:
        families / units: per cell layer, "lstm" or "gru" and its units (Keras weight layout, GRU `reset_after=False`).
        vocab_size / embedding_dim: the embedding matrix the helper reads.
        output_size: the output layer's units (None: no output layer, the cell output is sampled).
        use_bias: whether the output layer has a bias.
        impute_finished: finished rows emit zeros and keep their state.
        shared_weights: weight name (`cell_<k>_kernel` / `_recurrent_kernel` / `_bias`, `embedding`,
            `output_kernel`, `output_bias`) -> [layer name, weight index]: read from that layer of the model (the
            training path's `Embedding`, `Dense`, `LSTM` / `GRU`), not held here (`tf_migrate_runtime.layers.shared`).

    Call arguments:
        maximum_iterations: int scalar.  start_tokens: int `[B]`.  end_token: int scalar.
        initial_state: flat list of the cells' states (`[h, c]` per LSTM, `[h]` per GRU), or None (zeros).

    Returns:
        `[outputs [B, steps, output size], sample_ids [B, steps] int32, final states...]`.

    Example:
        >>> import numpy as np
        >>> layer = GreedyDecoder(["gru"], [4], vocab_size=7, embedding_dim=3, output_size=7)
        >>> out = layer(np.array(5), start_tokens=np.array([1, 1]), end_token=2)
        >>> tuple(out[0].shape)[0], tuple(out[1].shape)[0], out[0].shape[1] <= 5
        (2, 2, True)
    """

    loops_over_time = True  # a loop of steps: tools call it traced (tf.function / jit), not step by step

    def __init__(self, families, units, vocab_size, embedding_dim, output_size=None, use_bias=True,
                 impute_finished=False, shared_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.families, self.units = list(families), [int(u) for u in units]
        self.vocab_size, self.embedding_dim = int(vocab_size), int(embedding_dim)
        self.output_size = int(output_size) if output_size else None
        self.use_bias, self.impute_finished = bool(use_bias), bool(impute_finished)
        self.shared_weights = shared_map(shared_weights)

    def build(self, *args, **kwargs):
        build_embedding_decoder(self)

    def bind_shared(self):
        """The `shared_weights` were bound (`shared.bind_shared_weights`): take them."""
        build_embedding_decoder(self)

    def call(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None, training=False):
        check_bound(self)
        return run_traced(self, self._decode, maximum_iterations, start_tokens=start_tokens, end_token=end_token,
                          initial_state=initial_state, training=training)

    def _decode(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None, training=False):
        from tf_migrate_runtime.layers.attention import loop_cells, stack_step  # noqa: PLC0415

        start_tokens = keras.ops.cast(start_tokens, "int32")
        batch = keras.ops.shape(start_tokens)[0]
        steps_max = static_steps(maximum_iterations, "GreedyDecoder")
        width = self.output_size or self.units[-1]
        states = zero_states(self.families, self.units, batch) if initial_state is None else list(initial_state)
        outs = step_buffer(steps_max, (batch, width))
        ids = step_buffer(steps_max, (batch,), "int32")
        finished = keras.ops.zeros((batch,), "bool") | (steps_max <= 0)
        x = keras.ops.take(self.embedding, start_tokens, axis=0)
        draws = self._draws(steps_max, batch)
        cells = loop_cells(self.families, self.cell_weights)

        def cond(t, x, finished, outs, ids, *states):
            return keras.ops.logical_and(t < steps_max, keras.ops.logical_not(keras.ops.all(finished)))

        def body(t, x, finished, outs, ids, *states):
            out, new = stack_step(self.families, cells, x, states)
            if self.kernel is not None:
                out = dense_product(out, self.kernel, self.bias)
            sample = self._sample(out, t, draws)
            next_finished = keras.ops.logical_or(keras.ops.equal(sample, keras.ops.cast(end_token, "int32")),
                                                 finished)
            emit_out, emit_ids = out, sample
            if self.impute_finished:
                emit_out = where_rows(finished, keras.ops.zeros_like(out), out)
                emit_ids = where_rows(finished, keras.ops.zeros_like(sample), sample)
                new = [where_rows(finished, o, n) for o, n in zip(states, new)]
            outs = write_step(outs, t, emit_out, training)
            ids = write_step(ids, t, emit_ids, training)
            x = embed_ids(self.embedding, sample)
            return (t + 1, x, next_finished, outs, ids, *new)

        res = decode_loop(cond, body, (keras.ops.convert_to_tensor(0, "int32"), x, finished, outs, ids, *states),
                          steps_max)
        n = res[0]
        outputs = keras.ops.transpose(keep_steps(stacked(res[3]), n), (1, 0, 2))
        sample_ids = keras.ops.transpose(keep_steps(stacked(res[4]), n), (1, 0))
        return [outputs, sample_ids] + list(res[5:])

    def _draws(self, steps, batch):
        """What `_sample` reads besides the step's output (a sampling subclass: its random numbers); None."""
        return None

    def _sample(self, out, t, draws):
        """The step's id: GreedyEmbeddingHelper's argmax."""
        return argmax_ids(out)

    def compute_output_spec(self, maximum_iterations, start_tokens=None, end_token=None, initial_state=None,
                            training=False):
        b = start_tokens.shape[0] if start_tokens is not None and hasattr(start_tokens, "shape") else None
        width = self.output_size or self.units[-1]
        out = [keras.KerasTensor((b, None, width)), keras.KerasTensor((b, None), "int32")]
        return out + state_specs(self.families, self.units, b)

    def get_config(self):
        config = super().get_config()
        config.update(families=self.families, units=self.units, vocab_size=self.vocab_size,
                      embedding_dim=self.embedding_dim, output_size=self.output_size, use_bias=self.use_bias,
                      impute_finished=self.impute_finished)
        if self.shared_weights:
            config["shared_weights"] = {k: list(v) for k, v in self.shared_weights.items()}
        return config
