"""TF1 update rules Keras 3 has no optimizer for (keras.ops only, any backend), for `convert --with-optimizer`.

`tf-migrate convert --from-graph --with-optimizer` carries a TF1 graph's optimizer state into a Keras optimizer.
For dense variables Keras' own `Adam`, `SGD`, `RMSprop` and `Adagrad` reproduce `tf.compat.v1.train.AdamOptimizer`,
`MomentumOptimizer`, `RMSPropOptimizer` and `AdagradOptimizer` exactly (migrate/graph/optimizer.py says why). Two
things they do not reproduce are here:

- **Adam with `use_nesterov=True`** (`ApplyAdam(use_nesterov=True)`, tf.contrib.opt.NadamOptimizer): `TF1Adam`.
      m = m + (g - m) * (1 - beta_1);  v = v + (g^2 - v) * (1 - beta_2)
      alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t),  t = iterations + 1
      var -= alpha * (g * (1 - beta_1) + beta_1 * m) / (sqrt(v) + epsilon)
  (Keras' `Nadam` follows Dozat's momentum schedule: another rule.)
- **Variables TF1 updated sparsely** (read by `tf.gather` / `embedding_lookup`: an embedding). TF1 first sums the
  gradient rows of repeated ids (`Optimizer._apply_sparse_duplicate_indices`), then Adam updates every row as if
  dense (`_apply_sparse_shared`), Adagrad every row in the batch (the others do not change), and Momentum and
  RMSProp ONLY the rows in the batch (`SparseApplyMomentum`, `SparseApplyRMSProp`: the other rows keep their
  slots and do not move). Keras on the TensorFlow backend gets such a gradient as `tf.IndexedSlices` and squares
  each repeated row on its own (Adam's v, Adagrad's and RMSprop's accumulators: sum of squares, not the square of
  the sum), and SGD / RMSprop move every row. `TF1Adam`, `TF1Adagrad`, `TF1Momentum` and `TF1RMSProp` sum repeated
  rows first and, for the variables named in `sparse_variables` (their Keras paths), update only the rows in the
  batch: the indices of the `IndexedSlices`, or on backends whose embedding gradients are dense (JAX, PyTorch)
  the rows with a non-zero gradient.

The classes extend Keras' own and keep their slots (`momentum`, `velocity`, ...), so a model saved with either
loads the same way. Import this module before `keras.saving.load_model` of a model saved with one of them
(registered serializable under the package `tf_migrate_runtime`).
"""

from __future__ import annotations

import keras
from keras import ops


def dense_gradient(gradient, variable):
    """(the gradient as a dense tensor with repeated rows summed, a [rows] bool mask of the rows it holds or None).

    A `tf.IndexedSlices` (recognised by its `indices` / `values`, without importing TensorFlow) is scattered into
    the variable's shape (`ops.scatter` sums repeated indices, as TF1's `_deduplicate_indexed_slices` does)."""
    if hasattr(gradient, "indices") and hasattr(gradient, "values"):
        idx = ops.expand_dims(ops.cast(gradient.indices, "int32"), -1)
        dense = ops.scatter(idx, ops.cast(gradient.values, variable.dtype), tuple(variable.shape))
        present = ops.scatter(idx, ops.ones((ops.shape(idx)[0],), dtype="float32"), (variable.shape[0],))
        return dense, ops.greater(present, 0)
    return gradient, None


def _is_slices(g) -> bool:
    return hasattr(g, "indices") and hasattr(g, "values")


def tf1_clip_by_global_norm(grads, clip_norm):
    """`tf.clip_by_global_norm` as TF1 applied it, keeping a `tf.IndexedSlices` one (Keras' `global_clipnorm`
    returns it dense, its repeated rows summed): the norm over every row given, each gradient times
    clip_norm * min(1 / norm, 1 / clip_norm) (NaN when the norm is not finite, as TF1)."""
    parts = [ops.sum(ops.square(g.values if _is_slices(g) else g)) for g in grads if g is not None]
    norm = ops.sqrt(ops.sum(ops.stack(parts)))
    scale = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
    return [None if g is None else type(g)(g.values * ops.cast(scale, g.values.dtype), g.indices, g.dense_shape)
            if _is_slices(g) else g * ops.cast(scale, g.dtype) for g in grads]


def tf1_clip_by_value(grads, clip_value):
    """`tf.clip_by_value(g, -clip_value, clip_value)` per gradient, on the rows of a `tf.IndexedSlices` as given
    (TF1 clips before summing repeated ids; Keras' `clipvalue` would sum them first)."""
    return [None if g is None else type(g)(ops.clip(g.values, -clip_value, clip_value), g.indices, g.dense_shape)
            if _is_slices(g) else ops.clip(g, -clip_value, clip_value) for g in grads]


class _TF1Clip:
    """`clip_norm` / `clip_value`: TF1's `tf.clip_by_global_norm` / `tf.clip_by_value` on the gradients before
    the update, `tf.IndexedSlices` kept as TF1 had them (Keras' `global_clipnorm` / `clipvalue` make them dense).
    `dense_before_clip`: TF <= 1.2's `clip_by_value` first made an `IndexedSlices` dense (repeated rows summed)."""

    def _init_clip(self, clip_norm, clip_value, dense_before_clip=False):
        self.clip_norm = None if clip_norm is None else float(clip_norm)
        self.clip_value = None if clip_value is None else float(clip_value)
        self.dense_before_clip = bool(dense_before_clip)

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if self.dense_before_clip and trainable_variables is not None:
            grads = [None if g is None else dense_gradient(g, v)[0] for g, v in zip(grads, trainable_variables)]
        if self.clip_value is not None:
            grads = tf1_clip_by_value(grads, self.clip_value)
        if self.clip_norm is not None:
            grads = tf1_clip_by_global_norm(grads, self.clip_norm)
        return super().apply(grads, trainable_variables)

    def _clip_config(self, config):
        config.update(clip_norm=self.clip_norm, clip_value=self.clip_value, dense_before_clip=self.dense_before_clip)
        return config


class _SparseRows:
    """`sparse_variables`: Keras variable paths whose updates touch only the rows in the batch (TF1's sparse rule).
    Matched when the optimizer is built (`update_step` may get the backend's variable, which has no path)."""

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._sparse_indices = {i for i, v in enumerate(variables) if v.path in self.sparse_variables}

    def _rows(self, variable, gradient, present):
        """A mask broadcastable to `variable` (True: the row is updated), or None (update every element)."""
        if self._get_variable_index(variable) not in self._sparse_indices or len(variable.shape) == 0:
            return None
        if present is None:   # a dense gradient (JAX, PyTorch): the rows it does not touch are all zero
            axes = tuple(range(1, len(variable.shape)))
            present = ops.any(ops.not_equal(gradient, 0), axis=axes) if axes else ops.not_equal(gradient, 0)
        return ops.reshape(present, (variable.shape[0],) + (1,) * (len(variable.shape) - 1))

    def _sparse_config(self, config):
        config["sparse_variables"] = list(self.sparse_variables)
        return config


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TF1Adam(_TF1Clip, keras.optimizers.Adam):
    """Adam as TF1 applies it: `use_nesterov` (`ApplyAdam(use_nesterov=True)`), repeated gradient rows summed.

    Args:
        learning_rate, beta_1, beta_2, epsilon: as `keras.optimizers.Adam` (TF1's `epsilon` is the same
            "epsilon hat", outside the square root).
        use_nesterov: TF1's Nesterov variant (the module docstring).
        sum_repeated_rows: sum the gradient rows of repeated ids before the update (TF >= 1.1). False: as TF 0.x
            (no `_apply_sparse_duplicate_indices`), v gets the sum of their squares, which is what Keras' own Adam
            does with a `tf.IndexedSlices` (the TensorFlow backend; JAX and PyTorch give it the summed gradient).
        clip_norm, clip_value: TF1's `tf.clip_by_global_norm` / `tf.clip_by_value` before the update, keeping
            `IndexedSlices` (Keras' `global_clipnorm` / `clipvalue` would sum their repeated rows first).
        **kwargs: the other `keras.optimizers.Optimizer` arguments (`name`, `global_clipnorm`, ...).

    Example:
        >>> opt = TF1Adam(learning_rate=0.01, epsilon=1e-8, use_nesterov=True)
        >>> w = keras.Variable([1.0, -2.0])
        >>> opt.apply([ops.convert_to_tensor([0.5, 0.5])], [w])
        >>> [round(float(x), 4) for x in ops.convert_to_numpy(w)]
        [0.981, -2.019]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, use_nesterov=False,
                 sum_repeated_rows=True, clip_norm=None, clip_value=None, dense_before_clip=False, name="tf1_adam",
                 **kwargs):
        kwargs.pop("amsgrad", None)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=False, name=name, **kwargs)
        self.use_nesterov = bool(use_nesterov)
        self.sum_repeated_rows = bool(sum_repeated_rows)
        self._init_clip(clip_norm, clip_value, dense_before_clip)

    def update_step(self, gradient, variable, learning_rate):
        if self.sum_repeated_rows or self.use_nesterov:
            gradient, _ = dense_gradient(gradient, variable)
        if not self.use_nesterov:
            return super().update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        beta_1 = ops.cast(self.beta_1, variable.dtype)
        beta_2 = ops.cast(self.beta_2, variable.dtype)
        alpha = lr * ops.sqrt(1 - ops.power(beta_2, t)) / (1 - ops.power(beta_1, t))
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(g, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(g), v), 1 - beta_2))
        step = ops.add(ops.multiply(g, 1 - beta_1), ops.multiply(beta_1, m))
        self.assign_sub(variable, ops.divide(ops.multiply(step, alpha), ops.add(ops.sqrt(v), self.epsilon)))
        return None

    def get_config(self):
        config = super().get_config()
        config.pop("amsgrad", None)
        config["use_nesterov"] = self.use_nesterov
        config["sum_repeated_rows"] = self.sum_repeated_rows
        return self._clip_config(config)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TF1Adagrad(_TF1Clip, keras.optimizers.Adagrad):
    """TF1's `ApplyAdagrad` (no epsilon: `epsilon=0` by default) with repeated gradient rows summed first.

    Rows outside the batch have a zero gradient, so TF1's sparse update (`SparseApplyAdagrad`) is the dense one.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=0.0, clip_norm=None,
                 clip_value=None, dense_before_clip=False, name="tf1_adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, initial_accumulator_value=initial_accumulator_value,
                         epsilon=epsilon, name=name, **kwargs)
        self._init_clip(clip_norm, clip_value, dense_before_clip)

    def update_step(self, gradient, variable, learning_rate):
        gradient, _ = dense_gradient(gradient, variable)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return self._clip_config(super().get_config())


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TF1Momentum(_TF1Clip, _SparseRows, keras.optimizers.SGD):
    """`keras.optimizers.SGD(momentum, nesterov)` (velocity = -lr * TF1's accumulator) with TF1's sparse rule for
    `sparse_variables`: `SparseApplyMomentum` updates only the rows in the batch."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, sparse_variables=(), clip_norm=None,
                 clip_value=None, dense_before_clip=False, name="tf1_momentum", **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, name=name, **kwargs)
        self.sparse_variables = tuple(sparse_variables)
        self._init_clip(clip_norm, clip_value, dense_before_clip)

    def update_step(self, gradient, variable, learning_rate):
        gradient, present = dense_gradient(gradient, variable)
        rows = self._rows(variable, gradient, present)
        if rows is None:
            return super().update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.where(rows, ops.multiply(g, lr), 0))
            return None
        m = self.momentums[self._get_variable_index(variable)]
        mu = ops.cast(self.momentum, variable.dtype)
        new_m = ops.subtract(ops.multiply(m, mu), ops.multiply(g, lr))
        self.assign(m, ops.where(rows, new_m, m))
        step = ops.subtract(ops.multiply(new_m, mu), ops.multiply(g, lr)) if self.nesterov else new_m
        self.assign_add(variable, ops.where(rows, step, 0))
        return None

    def get_config(self):
        return self._clip_config(self._sparse_config(super().get_config()))


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TF1RMSProp(_TF1Clip, _SparseRows, keras.optimizers.RMSprop):
    """`keras.optimizers.RMSprop(rho, momentum, epsilon, centered)` with TF1's sparse rule for `sparse_variables`:
    `SparseApplyRMSProp` / `SparseApplyCenteredRMSProp` update only the rows in the batch."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-10, centered=False,
                 sparse_variables=(), clip_norm=None, clip_value=None, dense_before_clip=False, name="tf1_rmsprop",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum, epsilon=epsilon,
                         centered=centered, name=name, **kwargs)
        self.sparse_variables = tuple(sparse_variables)
        self._init_clip(clip_norm, clip_value, dense_before_clip)

    def update_step(self, gradient, variable, learning_rate):
        gradient, present = dense_gradient(gradient, variable)
        rows = self._rows(variable, gradient, present)
        if rows is None:
            return super().update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        rho = self.rho
        ms = self._velocities[index]
        new_ms = ops.add(ops.multiply(rho, ms), ops.multiply(1 - rho, ops.square(g)))
        self.assign(ms, ops.where(rows, new_ms, ms))
        if self.centered:
            mg = self._average_gradients[index]
            new_mg = ops.add(ops.multiply(rho, mg), ops.multiply(1 - rho, g))
            self.assign(mg, ops.where(rows, new_mg, mg))
            denominator = new_ms - ops.square(new_mg) + self.epsilon
        else:
            denominator = ops.add(new_ms, self.epsilon)
        increment = ops.divide(ops.multiply(lr, g), ops.sqrt(denominator))
        if self.momentum > 0:
            mom = self._momentums[index]
            new_mom = ops.add(ops.multiply(self.momentum, mom), increment)
            self.assign(mom, ops.where(rows, new_mom, mom))
            increment = new_mom
        self.assign_sub(variable, ops.where(rows, increment, 0))
        return None

    def get_config(self):
        return self._clip_config(self._sparse_config(super().get_config()))
