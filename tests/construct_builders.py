"""TF1-style builders of the recurrent constructs the construct registry recognises (migrate/graph/constructs/).

Each builder `(tf, v1)` adds one construct to the default graph the way TF 1.x code wrote it (the real TF1 cell
classes of `tf.compat.v1.nn.rnn_cell`, control flow v1 under `tf1_models.tf1_style()`), non-default forget biases,
and names its results with `tf.identity`. `build(name, root)` saves it with random non-zero weights and biases
(`tf1_models.save_random_weights`) and returns the checkpoint prefix. Some are the generic tier's builders
(tests/test_graph_generic.py), copied here so the two test files do not depend on each other.
"""

from __future__ import annotations

import os

from tf1_models import save_random_weights, tf1_style


def basic_rnn(tf, v1):   # the generic tier's `_basic_rnn`, plus lengths and the final state
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    out, state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.BasicRNNCell(6), x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")
    tf.identity(state, name="final_state")


def basic_rnn_relu_static(tf, v1):   # static_rnn of a relu BasicRNNCell from a given initial state
    x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
    h0 = v1.placeholder(tf.float32, [None, 5], name="h0")
    cell = v1.nn.rnn_cell.BasicRNNCell(5, activation=tf.nn.relu)
    outs, state = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), initial_state=h0)
    tf.identity(tf.stack(outs, axis=1), name="outputs")
    tf.identity(state, name="final_state")


def time_major_stack(tf, v1):   # the generic tier's: time-major, a relu BasicRNNCell under a GRUCell
    x = v1.placeholder(tf.float32, [5, None, 4], name="x")
    cell = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.BasicRNNCell(6, activation=tf.nn.relu),
                                        v1.nn.rnn_cell.GRUCell(3)])
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32, time_major=True)
    tf.identity(out, name="outputs")


def sigmoid_lstm_lengths(tf, v1):   # the generic tier's
    x = v1.placeholder(tf.float32, [None, None, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    cell = v1.nn.rnn_cell.LSTMCell(6, activation=tf.nn.sigmoid, forget_bias=0.3)
    out, _ = v1.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")


def relu_basic_lstm(tf, v1):   # BasicLSTMCell(activation=relu) with its final (c, h)
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, (c, h) = v1.nn.dynamic_rnn(v1.nn.rnn_cell.BasicLSTMCell(6, activation=tf.nn.relu, forget_bias=0.6), x,
                                    dtype=tf.float32)
    tf.identity(out, name="outputs")
    tf.identity(c, name="final_c")
    tf.identity(h, name="final_h")


def output_projection_wrapper_class(tf, v1):
    """TF 1.15's `contrib.rnn.OutputProjectionWrapper` (core_rnn_cell.py) on tf.compat.v1: the projection is
    `_Linear(output, output_size, True)` (`kernel` and `bias` in the wrapper's scope, MatMul + BiasAdd), then the
    optional activation; the state is the wrapped cell's."""

    class OutputProjectionWrapper(v1.nn.rnn_cell.RNNCell):
        def __init__(self, cell, output_size, activation=None, reuse=None):
            super().__init__(_reuse=reuse)
            self._cell, self._output_size, self._activation = cell, output_size, activation

        @property
        def state_size(self):
            return self._cell.state_size

        @property
        def output_size(self):
            return self._output_size

        def zero_state(self, batch_size, dtype):
            with tf.name_scope(type(self).__name__ + "ZeroState"):
                return self._cell.zero_state(batch_size, dtype)

        def call(self, inputs, state):
            output, res_state = self._cell(inputs, state)
            kernel = v1.get_variable("kernel", [output.shape[-1], self._output_size])
            bias = v1.get_variable("bias", [self._output_size])
            projected = tf.nn.bias_add(tf.matmul(output, kernel), bias)
            if self._activation:
                projected = self._activation(projected)
            return projected, res_state

    return OutputProjectionWrapper


def projection_wrapper_lengths(tf, v1):   # OutputProjectionWrapper(LSTMCell) with sequence_length
    wrapper = output_projection_wrapper_class(tf, v1)
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    out, (c, h) = v1.nn.dynamic_rnn(wrapper(v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.4), 3), x, sequence_length=n,
                                    dtype=tf.float32)
    tf.identity(out, name="logits")
    tf.identity(h, name="final_h")


def projection_wrapper_gru_stack(tf, v1):   # OutputProjectionWrapper(MultiRNNCell([GRU, GRU]), activation=tanh)
    wrapper = output_projection_wrapper_class(tf, v1)
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cells = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.GRUCell(5), v1.nn.rnn_cell.GRUCell(4)])
    out, _ = v1.nn.dynamic_rnn(wrapper(cells, 3, activation=tf.nn.tanh), x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def peephole(tf, v1):   # the generic tier's, plus lengths and the final state
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    cell = v1.nn.rnn_cell.LSTMCell(6, use_peepholes=True, forget_bias=0.7)
    out, (c, h) = v1.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")
    tf.identity(c, name="final_c")


def peephole_projection(tf, v1):   # the generic tier's: peepholes, a projection and a cell clip
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cell = v1.nn.rnn_cell.LSTMCell(6, use_peepholes=True, num_proj=3, cell_clip=0.8, forget_bias=0.3)
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def projection_clip_stack(tf, v1):   # MultiRNNCell: LSTMCell(num_proj, proj_clip) under a peephole LSTMCell(relu)
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cell = v1.nn.rnn_cell.MultiRNNCell([
        v1.nn.rnn_cell.LSTMCell(6, num_proj=4, proj_clip=0.3, forget_bias=0.2),
        v1.nn.rnn_cell.LSTMCell(5, use_peepholes=True, activation=tf.nn.relu, forget_bias=0.9)])
    out, _ = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def wrapped_stack(tf, v1):   # DropoutWrapper and ResidualWrapper at every depth of a MultiRNNCell, with lengths
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    keep = v1.placeholder_with_default(1.0, [], name="keep_prob")
    rc = v1.nn.rnn_cell
    cell = rc.MultiRNNCell([
        rc.DropoutWrapper(rc.LSTMCell(6, forget_bias=0.3), input_keep_prob=keep, output_keep_prob=keep,
                          state_keep_prob=keep),
        rc.ResidualWrapper(rc.DropoutWrapper(rc.GRUCell(6), output_keep_prob=keep)),
        rc.DropoutWrapper(rc.ResidualWrapper(rc.LSTMCell(6, forget_bias=0.6)), input_keep_prob=keep),
    ])
    out, _ = v1.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")


def residual_first_layer(tf, v1):   # ResidualWrapper on the bottom layer (input size = units), time major
    x = v1.placeholder(tf.float32, [5, None, 6], name="x")
    rc = v1.nn.rnn_cell
    cell = rc.MultiRNNCell([rc.ResidualWrapper(rc.BasicLSTMCell(6, forget_bias=0.5)), rc.GRUCell(3)])
    out, state = v1.nn.dynamic_rnn(cell, x, dtype=tf.float32, time_major=True)
    tf.identity(out, name="outputs")
    tf.identity(state[0].h, name="final_h0")


def layer_norm_lstm(tf, v1):   # the generic tier's (contrib's cell, ported in tf_migrate_runtime.contrib.rnn)
    from tf_migrate_runtime.contrib.rnn import LayerNormBasicLSTMCell  # noqa: PLC0415

    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    out, _ = v1.nn.dynamic_rnn(LayerNormBasicLSTMCell(6, forget_bias=0.8), x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")


BUILDERS = {f.__name__: f for f in (basic_rnn, basic_rnn_relu_static, time_major_stack, sigmoid_lstm_lengths,
                                    relu_basic_lstm, projection_wrapper_lengths, projection_wrapper_gru_stack,
                                    peephole, peephole_projection, projection_clip_stack, wrapped_stack,
                                    residual_first_layer, layer_norm_lstm)}


def build(name: str, root) -> str:
    """The checkpoint prefix of BUILDERS[name]'s graph saved under `root/name`."""
    import tensorflow as tf  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        BUILDERS[name](tf, tf.compat.v1)
        return save_random_weights(os.path.join(str(root), name), seed=5)
