"""contrib.seq2seq's sampling helpers as decoder layers (keras.ops only: every backend).

- `SampleEmbeddingDecoder`: `dynamic_decode(BasicDecoder(cells, SampleEmbeddingHelper(embedding, start_tokens,
  end_token, softmax_temperature, seed), initial_state, output_layer), maximum_iterations=N)`: each step feeds back
  the embedding of an id drawn from `softmax(logits / softmax_temperature)`.
- `ScheduledEmbeddingTrainingDecoder`: `dynamic_decode(BasicDecoder(cells, ScheduledEmbeddingTrainingHelper(inputs,
  sequence_length, embedding, sampling_probability, seed, scheduling_seed), ...))`: teacher forcing where, with
  probability `sampling_probability` per row and step, the next input is the embedding of an id drawn from
  `softmax(logits)` instead of the next ground-truth input; the sample id is -1 where the row was not sampled.

Seeds and parity. A layer takes its `seed` (an int: the TF1 op seed, or any) and keeps a `keras.random.SeedGenerator`:
each call draws fresh random numbers, reproducibly from that seed, as a TF1 session's seeded `Multinomial` gives a
fresh draw per `run`. The draws are not TF1's own: TF1's stateful `Multinomial` / `RandomUniform` streams (Philox
keyed by the graph and op seeds, advanced per kernel call) are reproduced only by the same TensorFlow op with the same
attributes, traced (a `tf.function`; not eagerly, not under XLA: benchmarks/check_tf1_draws.py), from bitwise-equal
logits and the same kernel history, so nowhere on JAX / PyTorch; the layers draw by inverse CDF on
`keras.random.uniform` numbers instead (one per row and step, drawn before the loop, so the loop compiles under XLA
and JAX). What is checkable against the TF1 graph: exactly, every id where the
distribution is degenerate (`softmax_temperature` -> 0, `sampling_probability` 0 or 1 with peaked logits) and every
logit given the same ids; statistically, the sampled distribution (tests/test_runtime_sampling_helpers.py).

Given draws. `given_draws(model, {layer name: ids})` makes the named layers take those ids `[B, steps]` (int32; the
scheduled decoder's -1 where a row was not sampled) instead of drawing, until `given_draws(model, {})`: how
`convert` checks parity against a sampling graph (its TF1 draws fed to the layer, then every logit, state and
length compared; the draws themselves are not a check). Each call drops the traced calls that read the old ids.
"""

from __future__ import annotations

import keras
from keras import ops

from tf_migrate_runtime.layers.attention import GreedyAttentionDecoder
from tf_migrate_runtime.layers.decoder import (
    GreedyDecoder,
    build_embedding_decoder,
    decode_loop,
    dense_product,
    keep_steps,
    run_traced,
    stacked,
    state_specs,
    step_buffer,
    write_step,
    zero_states,
)
from tf_migrate_runtime.layers.shared import check_bound, shared_map


def inverse_cdf(logits, u):
    """One categorical draw per row of `logits` `[B, V]` from uniforms `u` `[B]` in (0, 1) -> int32 `[B]`."""
    cdf = ops.cumsum(ops.softmax(logits, axis=-1), axis=-1)
    ids = ops.sum(ops.cast(cdf < u[:, None], "int32"), axis=-1)
    return ops.minimum(ids, ops.shape(logits)[-1] - 1)


def given_step(ids, t):
    """Step `t` of given draws `[B, steps]` (the last step again past the end)."""
    ids = ops.convert_to_tensor(ids, "int32")
    return ops.take(ids, ops.minimum(t, ops.shape(ids)[1] - 1), axis=1)


def given_draws(model, ids_by_layer: dict) -> list[str]:
    """Make the sampling layers of `model` named in `ids_by_layer` take those ids instead of drawing (see the
    module doc); the others draw. -> the names of the layers given ids. Traced calls are dropped either way."""
    from tf_migrate_runtime.layers.decoder import _TRACED as LAYER_TRACED  # noqa: PLC0415
    from tf_migrate_runtime.layers.model import _TRACED as MODEL_TRACED  # noqa: PLC0415

    given = []
    for layer in model.layers:
        if isinstance(layer, (_EmbeddingSampler, ScheduledEmbeddingTrainingDecoder)):
            ids = ids_by_layer.get(layer.name)
            object.__setattr__(layer, "given_ids", None if ids is None else ops.convert_to_numpy(ids).astype("int32"))
            layer.__dict__.pop(LAYER_TRACED, None)
            if ids is not None:
                given.append(layer.name)
    model.__dict__.pop(MODEL_TRACED, None)
    if getattr(model, "predict_function", None) is not None:   # Keras' own traced predict reads them as traced
        model.predict_function = None
    return given


def uniforms(generator, shape):
    """Uniform draws in (0, 1) (never 0: a zero-probability id is never drawn)."""
    return keras.random.uniform(shape, minval=1e-7, maxval=1.0, seed=generator)


class _EmbeddingSampler:
    """The step id of `SampleEmbeddingHelper`: drawn from `softmax(logits / softmax_temperature)` (or given)."""

    def _init_sampler(self, softmax_temperature, seed):
        self.softmax_temperature = None if softmax_temperature is None else float(softmax_temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _draws(self, steps, batch):
        return uniforms(self.seed_generator, (steps, batch))

    def _sample(self, out, t, draws):
        if getattr(self, "given_ids", None) is not None:   # parity: TF1's draws (given_draws)
            return given_step(self.given_ids, t)
        logits = out if self.softmax_temperature is None else out / self.softmax_temperature
        return inverse_cdf(logits, ops.take(draws, t, axis=0))

    def _sampler_config(self, config):
        config.update(softmax_temperature=self.softmax_temperature, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class SampleEmbeddingDecoder(_EmbeddingSampler, GreedyDecoder):
    """contrib.seq2seq `SampleEmbeddingHelper` under `dynamic_decode(maximum_iterations=N)`: as `GreedyDecoder`
    (same weights, same call), the next id drawn from `softmax(logits / softmax_temperature)` (see the module doc
    for the seed and what parity is possible).

    Args:
        families / units / vocab_size / embedding_dim / output_size / use_bias / impute_finished: as `GreedyDecoder`.
        softmax_temperature: float dividing the logits (None: 1).
        seed: int seeding the layer's `keras.random.SeedGenerator` (None: unseeded).

    Returns:
        `[outputs [B, steps, output size], sample_ids [B, steps] int32, final states...]`.

    Example:
        >>> import numpy as np
        >>> layer = SampleEmbeddingDecoder(["gru"], [4], vocab_size=7, embedding_dim=3, output_size=7, seed=1)
        >>> out = layer(np.array(5), start_tokens=np.array([1, 1]), end_token=2)
        >>> tuple(out[1].shape)[0], bool(np.all((np.asarray(out[1]) >= 0) & (np.asarray(out[1]) < 7)))
        (2, True)
    """

    def __init__(self, families, units, vocab_size, embedding_dim, output_size=None, use_bias=True,
                 impute_finished=False, softmax_temperature=None, seed=None, **kwargs):
        super().__init__(families, units, vocab_size, embedding_dim, output_size, use_bias, impute_finished, **kwargs)
        self._init_sampler(softmax_temperature, seed)

    def get_config(self):
        return self._sampler_config(super().get_config())


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class SampleEmbeddingAttentionDecoder(_EmbeddingSampler, GreedyAttentionDecoder):
    """`SampleEmbeddingHelper` over an `AttentionWrapper` cell: as `GreedyAttentionDecoder` (same weights, same call),
    the next id drawn from `softmax(logits / softmax_temperature)` (see the module doc).

    Args:
        as `GreedyAttentionDecoder`, plus softmax_temperature (None: 1) and seed (None: unseeded).

    Returns:
        `[outputs [B, steps, width], sample_ids [B, steps], alignments [B, steps, S], final states...]`.

    Example:
        >>> import numpy as np
        >>> layer = SampleEmbeddingAttentionDecoder(["gru"], [4], 3, 5, "bahdanau", 4, vocab_size=7, output_size=7,
        ...                                         softmax_temperature=0.5, seed=2)
        >>> out = layer(np.array(4), start_tokens=np.array([1, 1]), end_token=2, memory=np.ones((2, 6, 5), "float32"))
        >>> tuple(out[2].shape)[::2]
        (2, 6)
    """

    def __init__(self, *args, softmax_temperature=None, seed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_sampler(softmax_temperature, seed)

    def get_config(self):
        return self._sampler_config(super().get_config())


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class ScheduledEmbeddingTrainingDecoder(keras.layers.Layer):
    """contrib.seq2seq `ScheduledEmbeddingTrainingHelper` under `dynamic_decode` (see the module doc): runs
    `max(sequence_length)` steps over the batch-major decoder inputs; at each step and row, with probability
    `sampling_probability`, the next input is the embedding of an id drawn from `softmax(logits)` (the sample id),
    else the next decoder input (the sample id -1).

    Args:
        families / units: per cell layer, "lstm" or "gru" and its units (the Keras weight layout).
        vocab_size / embedding_dim: the embedding the sampled ids are read from (`embedding_dim`: the inputs' depth).
        output_size / use_bias: the output layer (None: the cell output is sampled).
        sampling_probability: float in [0, 1] (a call argument overrides it: a training schedule feeds it).
        seed / scheduling_seed: ints seeding the id draws and the sample-or-not draws.
        shared_weights: as `GreedyDecoder`'s: weight name (`cell_<k>_kernel` / `_recurrent_kernel` / `_bias`,
            `embedding`, `output_kernel`, `output_bias`) -> [layer name, weight index], read from that layer of the
            model (the `Embedding` of the decoder inputs, an inference decoder's cells), not held here.

    Call arguments:
        inputs: `[B, T, embedding_dim]` teacher-forced inputs. sequence_length: int `[B]`.
        initial_state: flat list (`[h, c]` per LSTM, `[h]` per GRU) or None (zeros).
        sampling_probability: optional float scalar.

    Returns:
        `[outputs [B, max(lengths), output size], sample_ids [B, max(lengths)] int32, final states...]`.

    Example:
        >>> import numpy as np
        >>> layer = ScheduledEmbeddingTrainingDecoder(["lstm"], [4], vocab_size=7, embedding_dim=3, output_size=7,
        ...                                           sampling_probability=0.0)
        >>> out = layer(np.ones((2, 5, 3), "float32"), np.array([3, 2]))
        >>> tuple(out[0].shape), np.asarray(out[1]).tolist()
        ((2, 3, 7), [[-1, -1, -1], [-1, -1, -1]])
    """

    loops_over_time = True

    def __init__(self, families, units, vocab_size, embedding_dim, output_size=None, use_bias=True,
                 sampling_probability=0.0, seed=None, scheduling_seed=None, shared_weights=None, **kwargs):
        super().__init__(**kwargs)
        self.families, self.units = list(families), [int(u) for u in units]
        self.vocab_size, self.embedding_dim = int(vocab_size), int(embedding_dim)
        self.output_size = int(output_size) if output_size else None
        self.use_bias, self.sampling_probability = bool(use_bias), float(sampling_probability)
        self.seed, self.scheduling_seed = seed, scheduling_seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.scheduling_generator = keras.random.SeedGenerator(scheduling_seed)
        self.shared_weights = shared_map(shared_weights)

    def build(self, *args, **kwargs):
        build_embedding_decoder(self)

    def bind_shared(self):
        """The `shared_weights` were bound (`shared.bind_shared_weights`): take them."""
        build_embedding_decoder(self)

    def call(self, inputs, sequence_length, initial_state=None, sampling_probability=None, training=False):
        check_bound(self)
        p = self.sampling_probability if sampling_probability is None else sampling_probability
        return run_traced(self, self._decode, inputs, sequence_length, initial_state=initial_state,
                          sampling_probability=ops.cast(p, "float32"), training=training)

    def _decode(self, inputs, sequence_length, initial_state=None, sampling_probability=0.0, training=False):
        from tf_migrate_runtime.layers.attention import loop_cells, stack_step  # noqa: PLC0415

        inputs = ops.convert_to_tensor(inputs)
        lengths = ops.cast(sequence_length, "int32")
        batch, width = ops.shape(inputs)[0], self.output_size or self.units[-1]
        steps_max = inputs.shape[1] if inputs.shape[1] is not None else ops.shape(inputs)[1]
        n = ops.minimum(ops.max(lengths), steps_max)
        states = zero_states(self.families, self.units, batch) if initial_state is None else list(initial_state)
        scheduled = uniforms(self.scheduling_generator, (steps_max, batch)) < sampling_probability    # Bernoulli
        picks = uniforms(self.seed_generator, (steps_max, batch))
        outs, ids = step_buffer(steps_max, (batch, width)), step_buffer(steps_max, (batch,), "int32")
        x = inputs[:, 0]
        cells = loop_cells(self.families, self.cell_weights)
        given = getattr(self, "given_ids", None)

        def cond(t, x, outs, ids, *states):
            return t < n

        def body(t, x, outs, ids, *states):
            out, new = stack_step(self.families, cells, x, states)
            if self.kernel is not None:
                out = dense_product(out, self.kernel, self.bias)
            if given is not None:   # parity: TF1's draws (given_draws), -1 where the row was not sampled
                sample = given_step(given, t)
                sampled = sample > -1
            else:
                sampled = ops.take(scheduled, t, axis=0)
                sample = ops.where(sampled, inverse_cdf(out, ops.take(picks, t, axis=0)), -1)
            outs = write_step(outs, t, out, training)
            ids = write_step(ids, t, sample, training)
            base = ops.take(inputs, ops.minimum(t + 1, steps_max - 1), axis=1)
            x = ops.where(sampled[:, None], ops.take(self.embedding, ops.maximum(sample, 0), axis=0), base)
            return (t + 1, x, outs, ids, *new)

        res = decode_loop(cond, body, (ops.convert_to_tensor(0, "int32"), x, outs, ids, *states), steps_max)
        outputs = ops.transpose(keep_steps(stacked(res[2]), res[0]), (1, 0, 2))
        sample_ids = ops.transpose(keep_steps(stacked(res[3]), res[0]), (1, 0))
        return [outputs, sample_ids] + list(res[4:])

    def compute_output_spec(self, inputs, sequence_length, initial_state=None, sampling_probability=None,
                            training=False):
        b, width = inputs.shape[0], self.output_size or self.units[-1]
        out = [keras.KerasTensor((b, None, width)), keras.KerasTensor((b, None), "int32")]
        return out + state_specs(self.families, self.units, b)

    def get_config(self):
        config = super().get_config()
        config.update(families=self.families, units=self.units, vocab_size=self.vocab_size,
                      embedding_dim=self.embedding_dim, output_size=self.output_size, use_bias=self.use_bias,
                      sampling_probability=self.sampling_probability, seed=self.seed,
                      scheduling_seed=self.scheduling_seed)
        if self.shared_weights:
            config["shared_weights"] = {k: list(v) for k, v in self.shared_weights.items()}
        return config


__all__ = ["SampleEmbeddingAttentionDecoder", "SampleEmbeddingDecoder", "ScheduledEmbeddingTrainingDecoder",
           "given_draws", "inverse_cdf"]
