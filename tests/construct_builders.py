"""TF1-style builders of the recurrent constructs the construct registry recognises (migrate/graph/constructs/).

Each builder `(tf, v1)` adds one construct to the default graph the way TF 1.x code wrote it (the real TF1 cell
classes of `tf.compat.v1.nn.rnn_cell`, control flow v1 under `tf1_models.tf1_style()`), non-default forget biases,
and names its results with `tf.identity`. `build(name, root)` saves it with random non-zero weights and biases
(`tf1_models.save_random_weights`) and returns the checkpoint prefix. Some are the generic tier's builders
(tests/test_graph_generic.py), copied here so the two test files do not depend on each other.
`converted_once(root, prefix_of, outputs)` is the construct test modules' fixture: each graph converted once.
"""

from __future__ import annotations

import os
import pathlib

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


def static_projection(tf, v1):   # static_rnn(OutputProjectionWrapper(LSTMCell(forget_bias=0.7), 2, tanh))
    x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
    cell = output_projection_wrapper_class(tf, v1)(v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7), 2,
                                                   activation=tf.nn.tanh)
    outs, _ = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)
    tf.identity(tf.stack(outs, axis=1), name="outputs")


def static_residual_dropout(tf, v1):   # static_rnn(MultiRNNCell([DropoutWrapper(GRU), ResidualWrapper(GRU)]))
    x = v1.placeholder(tf.float32, [None, 4, 5], name="x")
    rc = v1.nn.rnn_cell
    cell = rc.MultiRNNCell([rc.DropoutWrapper(rc.GRUCell(5), output_keep_prob=0.8), rc.ResidualWrapper(rc.GRUCell(5))])
    outs, state = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)
    tf.identity(tf.stack(outs, axis=1), name="outputs")
    tf.identity(state[1], name="final_state")


def static_bidi(tf, v1):   # static_bidirectional_rnn(LSTMCell(forget_bias=0.4), GRUCell)
    x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
    rc = v1.nn.rnn_cell
    outs, _, _ = v1.nn.static_bidirectional_rnn(rc.LSTMCell(5, forget_bias=0.4), rc.GRUCell(4), tf.unstack(x, axis=1),
                                                dtype=tf.float32)
    tf.identity(tf.stack(outs, axis=1), name="outputs")


def static_bidi_wrapped(tf, v1):   # forward MultiRNNCell([LSTM, ResidualWrapper(LSTM)]), backward DropoutWrapper(GRU)
    x = v1.placeholder(tf.float32, [None, 4, 5], name="x")
    rc = v1.nn.rnn_cell
    fw = rc.MultiRNNCell([rc.LSTMCell(5, forget_bias=0.4), rc.ResidualWrapper(rc.LSTMCell(5, forget_bias=0.9))])
    bw = rc.DropoutWrapper(rc.GRUCell(4), output_keep_prob=0.7)
    outs, _, _ = v1.nn.static_bidirectional_rnn(fw, bw, tf.unstack(x, axis=1), dtype=tf.float32)
    tf.identity(tf.stack(outs, axis=1), name="outputs")


def _char_lm(tf, v1, cell, steps=12, batch=4, vocab=11):
    """sherjilozair/char-rnn-tensorflow's model.py as TF 1.15 ran it: ids [batch, steps] -> embedding -> split and
    squeezed per step -> legacy_seq2seq.rnn_decoder (the cell called once a step under `rnn_decoder`, variables
    reused, from its zero_state) -> concat of the steps' outputs -> logits and probabilities."""
    ids = v1.placeholder(tf.int32, [batch, steps], name="ids")
    embedding = v1.get_variable("embedding", [vocab, 8])
    inputs = [tf.squeeze(x, [1]) for x in tf.split(tf.nn.embedding_lookup(embedding, ids), steps, 1)]
    state, outputs = cell.zero_state(batch, tf.float32), []
    with v1.variable_scope("rnn_decoder"):
        for i, x in enumerate(inputs):
            if i > 0:
                v1.get_variable_scope().reuse_variables()
            output, state = cell(x, state)
            outputs.append(output)
    output = tf.reshape(tf.concat(outputs, 1), [-1, cell.output_size])
    w, b = v1.get_variable("softmax_w", [cell.output_size, vocab]), v1.get_variable("softmax_b", [vocab])
    logits = tf.identity(tf.matmul(output, w) + b, name="logits")
    tf.nn.softmax(logits, name="probs")


def char_lm_lstm_stack(tf, v1):   # the char-RNN of TF 1.15: MultiRNNCell of 2 LSTMCell(forget_bias=2.5), 12 steps
    rc = v1.nn.rnn_cell
    _char_lm(tf, v1, rc.MultiRNNCell([rc.LSTMCell(16, forget_bias=2.5) for _ in range(2)]))


def char_lm_basic_lstm_fb0(tf, v1):   # the same over BasicLSTMCell(forget_bias=0.0): no forget-bias add at all
    rc = v1.nn.rnn_cell
    _char_lm(tf, v1, rc.MultiRNNCell([rc.BasicLSTMCell(16, forget_bias=0.0) for _ in range(2)]))


def char_lm_lstm_projection(tf, v1):   # the same over LSTMCell(num_proj=6, forget_bias=1.7): tfm.PeepholeLSTM
    rc = v1.nn.rnn_cell
    _char_lm(tf, v1, rc.MultiRNNCell([rc.LSTMCell(16, num_proj=6, forget_bias=1.7) for _ in range(2)]))


def static_shared_train_sample(tf, v1):
    """crazydonkey200/tensorflow-char-rnn's two graphs over one cell: MultiRNNCell(2 x BasicLSTMCell(forget_bias=0.3))
    in a training static_rnn (5 steps, zero state) and a one-step sampling static_rnn from fed states, the variables
    reused."""
    rc = v1.nn.rnn_cell
    cell = rc.MultiRNNCell([rc.BasicLSTMCell(6, forget_bias=0.3) for _ in range(2)])
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    with v1.variable_scope("rnn") as scope:
        outs, _ = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32, scope=scope)
    tf.identity(tf.stack(outs, axis=1), name="outputs")
    x_step = v1.placeholder(tf.float32, [None, 4], name="x_step")
    state = tuple(rc.LSTMStateTuple(v1.placeholder(tf.float32, [None, 6], name=f"c{i}"),
                                    v1.placeholder(tf.float32, [None, 6], name=f"h{i}")) for i in range(2))
    with v1.variable_scope("rnn", reuse=True) as scope:
        (out,), (_, (_, h)) = v1.nn.static_rnn(cell, [x_step], initial_state=state, scope=scope)
    tf.identity(out, name="sample_output")
    tf.identity(h, name="sample_h")


def static_fed_back_decoder(tf, v1):
    """legacy_seq2seq's encoder and decoder over one GRUCell with a `loop_function`: 4 encoder steps, then 3 decoder
    steps each fed the projection of the step before's output (the first the encoder's last output's)."""
    x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
    cell = v1.nn.rnn_cell.GRUCell(5)
    w, b = v1.get_variable("proj_w", [5, 3]), v1.get_variable("proj_b", [3])
    with v1.variable_scope("seq") as scope:
        outs, state = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32, scope=scope)
        scope.reuse_variables()
        out, decoded = outs[-1], []
        for _ in range(3):
            out, state = cell(tf.matmul(out, w) + b, state)
            decoded.append(out)
    tf.identity(tf.stack(decoded, axis=1), name="decoded")


BUILDERS = {f.__name__: f for f in (basic_rnn, basic_rnn_relu_static, time_major_stack, sigmoid_lstm_lengths,
                                    relu_basic_lstm, projection_wrapper_lengths, projection_wrapper_gru_stack,
                                    peephole, peephole_projection, projection_clip_stack, wrapped_stack,
                                    residual_first_layer, layer_norm_lstm, static_projection, static_residual_dropout,
                                    static_bidi, static_bidi_wrapped, char_lm_lstm_stack, char_lm_basic_lstm_fb0,
                                    char_lm_lstm_projection, static_shared_train_sample,
                                    static_fed_back_decoder)}


def build(name: str, root) -> str:
    """The checkpoint prefix of BUILDERS[name]'s graph saved under `root/name`."""
    import tensorflow as tf  # noqa: PLC0415

    with tf1_style(), tf.Graph().as_default():
        BUILDERS[name](tf, tf.compat.v1)
        os.makedirs(os.path.join(str(root), name), exist_ok=True)
        return save_random_weights(os.path.join(str(root), name), seed=5)



def converted_once(root, prefix_of, outputs=lambda name: None):
    """A module fixture's conversions: `get(name)` -> (checkpoint prefix, report, log lines, output folder), the
    checkpoint `prefix_of(name)` converted by `convert_graph` into `root/<name>_out` with `outputs(name)` (None: the
    outputs it chooses) on the first call for that name, kept for the module's other tests."""
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    done = {}

    def get(name):
        if name not in done:
            prefix, out, lines = prefix_of(name), os.path.join(str(root), f"{name}_out"), []
            done[name] = (prefix, convert_graph(prefix, out, outputs=outputs(name), log=lines.append), lines,
                          pathlib.Path(out))
        return done[name]

    return get

# ------------------------------------------------------------------------------------------ contrib.cudnn_rnn
# contrib's `CudnnLSTM` / `CudnnGRU` layers (tensorflow/contrib/cudnn_rnn/python/layers/cudnn_rnn.py r1.15) are gone
# from TF 2; these builders write the ops their `build` / `call` write: `<scope>/opaque_kernel` (get_variable with
# a tensor initializer and validate_shape=False: its shape unknown in the .meta), a zero state
# `zeros([layers * dirs, batch, units])` unless one is given, one `CudnnRNN` op (V3 when `sequence_lengths` are
# given) over the time-major input. The op has no CPU kernel: the graphs are built and saved, never run here.
def _cudnn_layer(tf, v1, x, mode, layers, units, bidirectional=False, h0=None, c0=None, lengths=None,
                 time_major=True, scope=None):
    from migrate.checkpoint.cudnn_params import CudnnSpec  # noqa: PLC0415

    d = 2 if bidirectional else 1
    size = CudnnSpec(mode, layers, units, x.shape[-1], d).size()
    with v1.variable_scope(scope or {"lstm": "cudnn_lstm", "gru": "cudnn_gru"}.get(mode, "cudnn_rnn")):
        kernel = v1.get_variable("opaque_kernel", initializer=tf.zeros([size]), validate_shape=False)
    batch = tf.shape(x)[1 if time_major else 0]
    if h0 is None:
        h0 = tf.zeros(tf.stack([layers * d, batch, units]))
    if c0 is None:
        c0 = tf.zeros(tf.stack([layers * d, batch, units])) if mode == "lstm" else tf.constant([], tf.float32)
    args = dict(input=x, input_h=h0, input_c=c0, params=kernel, rnn_mode=mode, input_mode="linear_input",
                direction="bidirectional" if bidirectional else "unidirectional", dropout=0.0, seed=0, seed2=0,
                is_training=False)
    if lengths is not None:
        out = tf.raw_ops.CudnnRNNV3(sequence_lengths=lengths, time_major=time_major, **args)
    else:
        out = tf.raw_ops.CudnnRNN(**args)
    for t in (out[0], out[1], out[2]) if mode == "lstm" else (out[0], out[1]):
        if t.shape.rank == 3 and t.shape[-1] is None:   # contrib sets the unit axis the op's shape function leaves
            t.set_shape(t.shape.as_list()[:-1] + [units * (d if t is out[0] else 1)])
    return out[0], out[1], out[2]


def cudnn_lstm(tf, v1):   # CudnnLSTM(1, 6) over a batch-major input transposed to time major
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, h, c = _cudnn_layer(tf, v1, tf.transpose(x, [1, 0, 2]), "lstm", 1, 6)
    tf.identity(tf.transpose(out, [1, 0, 2]), name="outputs")
    tf.identity(h, name="final_h")
    tf.identity(c, name="final_c")


def cudnn_gru_bidi(tf, v1):   # CudnnGRU(2, 5, direction="bidirectional") from a given initial state, time major
    x = v1.placeholder(tf.float32, [5, None, 3], name="x")
    h0 = v1.placeholder(tf.float32, [4, None, 5], name="h0")
    out, h, _ = _cudnn_layer(tf, v1, x, "gru", 2, 5, bidirectional=True, h0=h0)
    tf.identity(out, name="outputs")
    tf.identity(h, name="final_h")


def cudnn_lstm_lengths(tf, v1):   # CudnnLSTM(2, 4, bidirectional)(x, sequence_lengths=n, time_major=False): V3
    x = v1.placeholder(tf.float32, [None, 6, 3], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    out, h, c = _cudnn_layer(tf, v1, x, "lstm", 2, 4, bidirectional=True, lengths=n, time_major=False)
    tf.identity(out, name="outputs")
    tf.identity(h, name="final_h")
    tf.identity(c, name="final_c")


def cudnn_relu_rnn(tf, v1):   # CudnnRNNRelu(2, 5)
    x = v1.placeholder(tf.float32, [5, None, 3], name="x")
    out, h, _ = _cudnn_layer(tf, v1, x, "rnn_relu", 2, 5)
    tf.identity(out, name="outputs")
    tf.identity(h, name="final_h")


def cudnn_compatible_lstm(tf, v1):
    """What contrib's docs tell a CPU user to build to load a CudnnLSTM(2, 6) checkpoint: `CudnnCompatibleLSTMCell`s
    (an LSTMBlockCell with forget bias 0: LSTMCell's equations, names and layout) in a MultiRNNCell under the
    layer's scope -> the names the saveable writes."""
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    cells = [v1.nn.rnn_cell.LSTMCell(6, forget_bias=0.0, name="cudnn_compatible_lstm_cell") for _ in range(2)]
    with v1.variable_scope("cudnn_lstm"):
        out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.MultiRNNCell(cells), x, dtype=tf.float32)
    tf.identity(out, name="outputs")


def cudnn_lstm_2(tf, v1):   # CudnnLSTM(2, 6), the graph whose checkpoint cudnn_compatible_lstm's weights make
    x = v1.placeholder(tf.float32, [None, 5, 4], name="x")
    out, _, _ = _cudnn_layer(tf, v1, tf.transpose(x, [1, 0, 2]), "lstm", 2, 6)
    tf.identity(tf.transpose(out, [1, 0, 2]), name="outputs")


CUDNN_BUILDERS = {f.__name__: f for f in (cudnn_lstm, cudnn_gru_bidi, cudnn_lstm_lengths, cudnn_relu_rnn)}


def build_cudnn(name: str, root, seed: int = 5) -> str:
    """CUDNN_BUILDERS[name]'s graph saved under `root/name` with a random N(0, 0.5) opaque buffer (biases
    included); the checkpoint prefix."""
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415
    from tf1_models import session_config  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default():
        CUDNN_BUILDERS[name](tf, v1)
        rng = np.random.RandomState(seed)
        config = session_config()
        config.graph_options.place_pruned_graph = True   # the CudnnRNN op (no CPU kernel) is never placed
        with v1.Session(config=config) as s:
            s.run(v1.global_variables_initializer())
            for v in v1.global_variables():
                v.load(rng.normal(0, 0.5, s.run(v).shape).astype("float32"), s)
            os.makedirs(os.path.join(str(root), name), exist_ok=True)
            return v1.train.Saver().save(s, os.path.join(str(root), name, "model.ckpt"))


def build_cudnn_canonical(root) -> tuple[str, str]:
    """A CudnnLSTM(2, 6) checkpoint that holds only the canonical variables (`cudnn_lstm/rnn/multi_rnn_cell/cell_N/
    cudnn_compatible_lstm_cell/{kernel,bias}`, random N(0, 0.5)) beside the CudnnRNN graph's `.meta`; and the
    prefix of the same weights saved with `cudnn_compatible_lstm`'s own `.meta` (the CPU graph to compare with)."""
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default():
        cudnn_compatible_lstm(tf, v1)
        os.makedirs(os.path.join(str(root), "compat"), exist_ok=True)
        compat = save_random_weights(os.path.join(str(root), "compat"), seed=9)
    prefix = os.path.join(str(root), "canonical", "model.ckpt")
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    for suffix in (".index", ".data-00000-of-00001"):
        with open(compat + suffix, "rb") as f, open(prefix + suffix, "wb") as g:
            g.write(f.read())
    with tf1_style(), tf.Graph().as_default():
        cudnn_lstm_2(tf, v1)
        v1.train.export_meta_graph(filename=prefix + ".meta")
    return prefix, compat


# ------------------------------------------------------------------------------------------ wrappers in decoders
def decoder_wrapped(tf, v1, layers: int = 2, attention: bool = False):
    """An encoder `dynamic_rnn` and a contrib.seq2seq `BasicDecoder` + `TrainingHelper` whose cells are wrapped: a
    `MultiRNNCell([DropoutWrapper(LSTMCell(fb 0.6), input 0.9, output 0.8), ResidualWrapper(LSTMCell(fb 0.3))])`
    (`layers=1`: `ResidualWrapper(LSTMCell)` alone); `attention`: `AttentionWrapper(DropoutWrapper(LSTMCell))`
    under Luong attention instead. Logits named `logits`."""
    from tf_migrate_runtime.contrib import seq2seq  # noqa: PLC0415

    rc = v1.nn.rnn_cell
    src = v1.placeholder(tf.int32, [None, None], name="src")
    src_len = v1.placeholder(tf.int32, [None], name="src_len")
    tgt_in = v1.placeholder(tf.int32, [None, None], name="tgt_in")
    tgt_len = v1.placeholder(tf.int32, [None], name="tgt_len")
    emb = v1.get_variable("embedding", [11, 5])
    with v1.variable_scope("encoder"):
        enc_out, enc_state = v1.nn.dynamic_rnn(rc.LSTMCell(5, forget_bias=0.7), tf.nn.embedding_lookup(emb, src),
                                               sequence_length=src_len, dtype=tf.float32)
    with v1.variable_scope("decoder"):
        dropped = rc.DropoutWrapper(rc.LSTMCell(5, forget_bias=0.6), input_keep_prob=0.9, output_keep_prob=0.8)
        if attention:
            cell = seq2seq.AttentionWrapper(dropped, seq2seq.LuongAttention(5, enc_out, src_len),
                                            attention_layer_size=5)
            init = cell.zero_state(tf.size(src_len), tf.float32).clone(cell_state=enc_state)
        elif layers == 1:
            cell, init = rc.ResidualWrapper(rc.LSTMCell(5, forget_bias=0.6)), enc_state
        else:
            cell = rc.MultiRNNCell([dropped, rc.ResidualWrapper(rc.LSTMCell(5, forget_bias=0.3))])
            init = (enc_state, cell.zero_state(tf.size(src_len), tf.float32)[1])
        helper = seq2seq.TrainingHelper(tf.nn.embedding_lookup(emb, tgt_in), tgt_len)
        decoder = seq2seq.BasicDecoder(cell, helper, init, output_layer=v1.layers.Dense(11, name="output_projection"))
        outputs, _, _ = seq2seq.dynamic_decode(decoder)
    tf.identity(outputs.rnn_output, name="logits")


def decoder_residual(tf, v1):
    decoder_wrapped(tf, v1, layers=1)


def decoder_wrapped_stack(tf, v1):
    decoder_wrapped(tf, v1, layers=2)


def decoder_attention_dropout(tf, v1):
    decoder_wrapped(tf, v1, attention=True)


BUILDERS.update({f.__name__: f for f in (decoder_residual, decoder_wrapped_stack, decoder_attention_dropout)})


# ------------------------------------------------------------------------------------------ state_is_tuple=False
# The states packed in one tensor (constructs/packed_state.py): MultiRNNCell(state_is_tuple=False) slices each
# layer's state out of the loop's one state tensor and concatenates the new ones; LSTMCell / BasicLSTMCell
# (state_is_tuple=False) pack [c, h].
def packed_gru_dropout(tf, v1):
    """tensorflow-without-a-phd's temperatures predictor, small: dynamic_rnn over MultiRNNCell([DropoutWrapper(
    GRUCell(6), output_keep_prob=pkeep)] * 2, state_is_tuple=False) from a fed initial state Hin [?, 12], a dense
    layer on every step, the last 3 steps `Yout`, the final packed state `H`."""
    rc = v1.nn.rnn_cell
    hin = v1.placeholder(tf.float32, [None, 12], name="Hin")
    x = v1.placeholder(tf.float32, [None, None, 2], name="features")
    pkeep = v1.placeholder(tf.float32, name="pkeep")
    cells = [rc.DropoutWrapper(rc.GRUCell(6), output_keep_prob=pkeep) for _ in range(2)]
    yr, h = v1.nn.dynamic_rnn(rc.MultiRNNCell(cells, state_is_tuple=False), x, initial_state=hin, dtype=tf.float32)
    tf.identity(h, name="H")
    y = v1.layers.dense(tf.reshape(yr, [-1, 6]), 2)
    tf.identity(tf.reshape(y, [tf.shape(x)[0], -1, 2])[:, -3:], name="Yout")


def packed_lstm_stack(tf, v1):   # MultiRNNCell([LSTMCell, BasicLSTMCell], all state_is_tuple=False), lengths
    rc = v1.nn.rnn_cell
    x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    cell = rc.MultiRNNCell([rc.LSTMCell(4, forget_bias=0.3, state_is_tuple=False),
                            rc.BasicLSTMCell(5, forget_bias=0.6, state_is_tuple=False)], state_is_tuple=False)
    out, state = v1.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float32)
    tf.identity(out, name="outputs")
    tf.identity(state, name="final_state")


def packed_mixed_fed(tf, v1):   # MultiRNNCell([LSTMCell(tuple=False), GRU, BasicRNN]) from a fed state, time major
    rc = v1.nn.rnn_cell
    x = v1.placeholder(tf.float32, [5, None, 3], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    s0 = v1.placeholder(tf.float32, [None, 2 * 4 + 5 + 3], name="state0")
    cell = rc.MultiRNNCell([rc.LSTMCell(4, forget_bias=0.7, state_is_tuple=False), rc.GRUCell(5),
                            rc.BasicRNNCell(3)], state_is_tuple=False)
    out, state = v1.nn.dynamic_rnn(cell, x, sequence_length=n, initial_state=s0, time_major=True)
    tf.identity(out, name="outputs")
    tf.identity(state, name="final_state")


def packed_single_lstm(tf, v1):   # one LSTMCell(state_is_tuple=False) from a fed [c, h]
    x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
    s0 = v1.placeholder(tf.float32, [None, 10], name="state0")
    out, state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.4, state_is_tuple=False), x,
                                   initial_state=s0)
    tf.identity(out, name="outputs")
    tf.identity(state, name="final_state")


def packed_bidi(tf, v1):   # bidirectional_dynamic_rnn: fw LSTMCell(peepholes, num_proj, tuple=False), bw Multi([GRU])
    rc = v1.nn.rnn_cell
    x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    fw = rc.LSTMCell(4, use_peepholes=True, num_proj=3, forget_bias=0.2, state_is_tuple=False)
    bw = rc.MultiRNNCell([rc.GRUCell(4)], state_is_tuple=False)
    (o_fw, o_bw), (s_fw, s_bw) = v1.nn.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=n, dtype=tf.float32)
    tf.identity(tf.concat([o_fw, o_bw], -1), name="outputs")
    tf.identity(s_fw, name="final_fw")
    tf.identity(s_bw, name="final_bw")


def packed_swapped(tf, v1):
    """Not a MultiRNNCell: a cell that runs two GRUCells on a packed state but packs the new states the other way
    round (layer 1's first). Each cell reads its columns as MultiRNNCell does, so only the next value tells: the
    generic tier takes it."""
    rc = v1.nn.rnn_cell

    class Swapped(rc.RNNCell):
        def __init__(self):
            super().__init__()
            self._cells = [rc.GRUCell(4, name="gru_a"), rc.GRUCell(4, name="gru_b")]

        @property
        def state_size(self):
            return 8

        @property
        def output_size(self):
            return 4

        def call(self, inputs, state):
            h0, s0 = self._cells[0](inputs, tf.slice(state, [0, 0], [-1, 4]))
            h1, s1 = self._cells[1](h0, tf.slice(state, [0, 4], [-1, 4]))
            return h1, tf.concat([s1, s0], 1)

    x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
    out, state = v1.nn.dynamic_rnn(Swapped(), x, dtype=tf.float32)
    tf.identity(out, name="outputs")
    tf.identity(state, name="final_state")


def packed_static(tf, v1):   # static_rnn over MultiRNNCell([LSTMCell(tuple=False), GRUCell], tuple=False), a fed state
    rc = v1.nn.rnn_cell
    x = v1.placeholder(tf.float32, [None, 4, 3], name="x")
    s0 = v1.placeholder(tf.float32, [None, 2 * 4 + 5], name="state0")
    cell = rc.MultiRNNCell([rc.LSTMCell(4, forget_bias=0.7, state_is_tuple=False), rc.GRUCell(5)],
                           state_is_tuple=False)
    outs, state = v1.nn.static_rnn(cell, tf.unstack(x, axis=1), initial_state=s0)
    tf.identity(tf.stack(outs, axis=1), name="outputs")
    tf.identity(state, name="final_state")


BUILDERS.update({f.__name__: f for f in (packed_gru_dropout, packed_lstm_stack, packed_mixed_fed, packed_single_lstm,
                                         packed_bidi, packed_swapped, packed_static)})


# ------------------------------------------------------------------------------ contrib.cudnn_rnn's CPU cells
# `CudnnCompatibleGRUCell` / `CudnnCompatibleLSTMCell` (tensorflow/contrib/cudnn_rnn/python/ops/cudnn_rnn_ops.py
# r1.15) are gone with contrib; these write their variables and step ops as contrib did, op for op.
def cudnn_compatible_gru_cell(tf, v1, units, read_in_loop=False):
    """contrib's CudnnCompatibleGRUCell(units): `gates/{kernel,bias}`, `candidate/{input,hidden}_projection/
    {kernel,bias}` under `cudnn_compatible_gru_cell`; its `call` (the reset gate after the hidden projection).
    `read_in_loop`: resource variables read where TF 1.15 read them, by a ReadVariableOp inside the while loop on the
    Enter'ed handle (TF 2.21's graph building reads them outside)."""

    def get(name, shape):
        v = v1.get_variable(name, shape)
        return tf.raw_ops.ReadVariableOp(resource=v.handle, dtype=tf.float32) if read_in_loop else v

    class CudnnCompatibleGRUCell(v1.nn.rnn_cell.RNNCell):
        state_size = units
        output_size = units

        def __call__(self, inputs, state, scope=None):
            with v1.variable_scope(scope or "cudnn_compatible_gru_cell", reuse=v1.AUTO_REUSE):
                d = int(inputs.shape[-1])
                gk = get("gates/kernel", [d + units, 2 * units])
                gb = get("gates/bias", [2 * units])
                ik = get("candidate/input_projection/kernel", [d, units])
                hk = get("candidate/hidden_projection/kernel", [units, units])
                ib = get("candidate/input_projection/bias", [units])
                hb = get("candidate/hidden_projection/bias", [units])
                gate_inputs = tf.nn.bias_add(tf.matmul(tf.concat([inputs, state], 1), gk), gb)
                r, u = tf.split(tf.sigmoid(gate_inputs), 2, axis=1)
                candidate = tf.nn.bias_add(tf.matmul(inputs, ik), ib)
                candidate += r * tf.nn.bias_add(tf.matmul(state, hk), hb)
                candidate = tf.tanh(candidate)
                new_h = (1 - u) * candidate + u * state
                return new_h, new_h

    return CudnnCompatibleGRUCell()


def lstm_block_cell(tf, v1, units, forget_bias=0.0, name="lstm_cell"):
    """contrib.rnn.LSTMBlockCell(units, forget_bias) as TF 1.x wrote it (contrib is gone from TF 2.21; the fused op
    is not): variables `<name>/kernel [in + units, 4 units]`, `<name>/bias`, one `LSTMBlockCell` op per step (no
    peepholes, cell_clip None: -1)."""

    class LSTMBlockCell(v1.nn.rnn_cell.RNNCell):
        state_size = v1.nn.rnn_cell.LSTMStateTuple(units, units)
        output_size = units

        def __call__(self, x, state, scope=None):
            with v1.variable_scope(scope or name, reuse=v1.AUTO_REUSE):
                w = v1.get_variable("kernel", [int(x.shape[-1]) + units, 4 * units])
                b = v1.get_variable("bias", [4 * units])
                z = tf.zeros([units])
                out = tf.raw_ops.LSTMBlockCell(x=x, cs_prev=state.c, h_prev=state.h, w=w, wci=z, wcf=z, wco=z, b=b,
                                               forget_bias=forget_bias, cell_clip=-1.0, use_peephole=False)
                return out[6], v1.nn.rnn_cell.LSTMStateTuple(out[1], out[6])

    return LSTMBlockCell()


def cudnn_compatible_lstm_cell(tf, v1, units):
    """contrib's CudnnCompatibleLSTMCell(units): an LSTMBlockCell(forget_bias=0) named `cudnn_compatible_lstm_cell`:
    variables `kernel`, `bias`, one LSTMBlockCell op per step."""
    return lstm_block_cell(tf, v1, units, 0.0, "cudnn_compatible_lstm_cell")


def cudnn_compatible_gru_bidi(tf, v1):
    """address-net's encoder: bidirectional_dynamic_rnn of MultiRNNCell(3 x CudnnCompatibleGRUCell) each way (here
    2 layers of 5), with sequence lengths."""
    x = v1.placeholder(tf.float32, [None, 6, 4], name="x")
    n = v1.placeholder(tf.int32, [None], name="lengths")
    rc = v1.nn.rnn_cell
    fw = rc.MultiRNNCell([cudnn_compatible_gru_cell(tf, v1, 5) for _ in range(2)])
    bw = rc.MultiRNNCell([cudnn_compatible_gru_cell(tf, v1, 5) for _ in range(2)])
    (of, ob), (sf, sb) = v1.nn.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=n, dtype=tf.float32)
    tf.identity(tf.concat([of, ob], -1), name="outputs")
    tf.identity(tf.concat([sf[-1], sb[-1]], -1), name="final_h")


def cudnn_compatible_dropout_time_major(tf, v1):
    """Time-major dynamic_rnn of MultiRNNCell([DropoutWrapper(CudnnCompatibleGRUCell(5), constant keep_prob 0.8 on
    output and state), CudnnCompatibleLSTMCell(4)]) from a non-zero initial GRU state."""
    x = v1.placeholder(tf.float32, [6, None, 3], name="x")
    h0 = v1.placeholder(tf.float32, [None, 5], name="h0")
    rc = v1.nn.rnn_cell
    cell = rc.MultiRNNCell([rc.DropoutWrapper(cudnn_compatible_gru_cell(tf, v1, 5), output_keep_prob=0.8,
                                              state_keep_prob=0.8),
                            cudnn_compatible_lstm_cell(tf, v1, 4)])
    zero = cell.zero_state(tf.shape(x)[1], tf.float32)
    out, state = v1.nn.dynamic_rnn(cell, x, initial_state=(h0, zero[1]), time_major=True)
    tf.identity(out, name="outputs")
    tf.identity(state[1].c, name="final_c")


def cudnn_compatible_gru_resource(tf, v1):
    """One CudnnCompatibleGRUCell(6) in dynamic_rnn over resource variables (TF >= 1.14 graphs, address-net's): the
    loop reads each kernel through `ReadVariableOp(Enter(handle))`, not a ref variable's Enter."""
    x = v1.placeholder(tf.float32, [None, 5, 3], name="x")
    with v1.variable_scope("enc", use_resource=True):
        out, h = v1.nn.dynamic_rnn(cudnn_compatible_gru_cell(tf, v1, 6, read_in_loop=True), x, dtype=tf.float32)
    tf.identity(out, name="outputs")
    tf.identity(h, name="final_h")


BUILDERS.update({f.__name__: f for f in (cudnn_compatible_gru_bidi, cudnn_compatible_dropout_time_major,
                                         cudnn_compatible_gru_resource)})
