"""TF1 update rules Keras 3 has no optimizer for (keras.ops only, any backend), for `convert --with-optimizer`.

`tf-migrate convert --from-graph --with-optimizer` carries a TF1 graph's optimizer state into a Keras optimizer.
Keras' own `Adam`, `SGD`, `RMSprop` and `Adagrad` reproduce `tf.compat.v1.train.AdamOptimizer`,
`MomentumOptimizer`, `RMSPropOptimizer` and `AdagradOptimizer` exactly (migrate/graph/optimizer.py says why);
the one rule they do not is here:

    TF1NesterovAdam   ApplyAdam(use_nesterov=True) (tf.contrib.opt.NadamOptimizer; an AdamOptimizer whose
                      _apply_dense passes use_nesterov=True):
                          m = m + (g - m) * (1 - beta_1);  v = v + (g^2 - v) * (1 - beta_2)
                          alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t),  t = iterations + 1
                          var -= alpha * (g * (1 - beta_1) + beta_1 * m) / (sqrt(v) + epsilon)
                      Keras' `Nadam` uses a momentum schedule (Dozat's), another rule.

Import this module before `keras.saving.load_model` of a model saved with such an optimizer (the class is
registered serializable under the package name `tf_migrate_runtime`).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class TF1NesterovAdam(keras.optimizers.Adam):
    """Adam with TF1's Nesterov update (`ApplyAdam(use_nesterov=True)`); slots and hyperparameters as Keras Adam.

    Args:
        learning_rate, beta_1, beta_2, epsilon: as `keras.optimizers.Adam` (TF1's `epsilon` is the same
            "epsilon hat", outside the square root).
        **kwargs: the other `keras.optimizers.Optimizer` arguments (`name`, `global_clipnorm`, ...).

    Example:
        >>> opt = TF1NesterovAdam(learning_rate=0.01, epsilon=1e-8)
        >>> w = keras.Variable([1.0, -2.0])
        >>> opt.apply([ops.convert_to_tensor([0.5, 0.5])], [w])
        >>> [round(float(x), 4) for x in ops.convert_to_numpy(w)]
        [0.981, -2.019]
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name="tf1_nesterov_adam",
                 **kwargs):
        kwargs.pop("amsgrad", None)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=False, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
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

    def get_config(self):
        config = super().get_config()
        config.pop("amsgrad", None)
        return config
