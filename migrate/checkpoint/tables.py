"""What TF1 called things, as data. Recognition (`migrate.checkpoint.recognise`) is driven by these tables.

Sources, all TensorFlow 1.x (r1.15 unless said otherwise):
- `tensorflow/python/ops/rnn_cell_impl.py` (LSTMCell, BasicLSTMCell, GRUCell, MultiRNNCell) and the r1.1 version
  of the same file (the `weights` / `biases` era, renamed to `kernel` / `bias` in r1.2, see RELEASE.md 1.2.0);
- `tensorflow/python/ops/rnn.py` (`dynamic_rnn` scope `rnn`, `bidirectional_dynamic_rnn` `bidirectional_rnn/fw|bw`);
- `tensorflow/contrib/rnn/python/ops/lstm_ops.py` (LSTMBlockCell `name="lstm_cell"`, LSTMBlockFusedCell
  `name="lstm_fused_cell"`, both "consistent with rnn_cell.LSTMCell");
- `tensorflow/contrib/seq2seq/python/ops/attention_wrapper.py` (memory_layer, query_layer, attention_v/g/b,
  attention_layer, the `attention_wrapper` scope);
- `tensorflow/python/training/{adam,momentum,rmsprop,adagrad,adadelta,ftrl}.py` and `slot_creator.py`
  (slot variables are named `<var>/<optimizer name>`, uniquified `_1`, `_2`, ... in creation order);
- tf-slim `layers.fully_connected` (`weights` / `biases` in every era).
"""

from __future__ import annotations

from typing import NamedTuple


class CellKind(NamedTuple):
    kind: str          # hparams.cell_type vocabulary: lstm, basic_lstm, gru
    tf1_class: str     # what a user would recognise
    family: str        # "lstm" (one kernel, gates i,j,f,o) or "gru" (gates r,u + candidate)


# Variable scope a TF1 cell opens for its variables -> what it is (rnn_cell_impl.py `name=` defaults).
CELL_SCOPES: dict[str, CellKind] = {
    "lstm_cell": CellKind("lstm", "LSTMCell (or contrib LSTMBlockCell, same names and layout)", "lstm"),
    "basic_lstm_cell": CellKind("basic_lstm", "BasicLSTMCell", "lstm"),
    "lstm_fused_cell": CellKind("lstm", "contrib LSTMBlockFusedCell", "lstm"),
    "gru_cell": CellKind("gru", "GRUCell", "gru"),
}

# Naming eras: the last component of a cell's or a dense layer's weight and bias.
# TF <= 1.1 wrote `weights` / `biases` (rnn_cell_impl r1.1 `_linear`); TF 1.2 renamed them to `kernel` / `bias`.
# tf-slim kept `weights` / `biases` in every era, so for dense layers the pair says slim-or-old, not an era.
NAMING_ERAS: dict[str, dict[str, str]] = {
    "tf>=1.2": {"kernel": "kernel", "bias": "bias"},
    "tf<=1.1": {"kernel": "weights", "bias": "biases"},
}
KERNEL_NAMES = {era["kernel"]: name for name, era in NAMING_ERAS.items()}   # "kernel" -> "tf>=1.2"
BIAS_NAMES = {era["bias"]: name for name, era in NAMING_ERAS.items()}

# Members of a cell group, relative to its scope, as roles ({kernel}/{bias} are filled per era).
CELL_MEMBERS: dict[str, dict[str, str]] = {
    "lstm": {
        "{kernel}": "kernel",                 # [input + h, 4 * units], columns i, j, f, o
        "{bias}": "bias",                     # [4 * units]
        "w_i_diag": "peephole_i",             # LSTMCell(use_peepholes=True), [units]
        "w_f_diag": "peephole_f",
        "w_o_diag": "peephole_o",
        "projection/{kernel}": "projection",  # LSTMCell(num_proj=P), [units, P]
    },
    "gru": {
        "gates/{kernel}": "gates_kernel",          # [input + units, 2 * units], columns r, u
        "gates/{bias}": "gates_bias",              # [2 * units], initialised to 1.0
        "candidate/{kernel}": "candidate_kernel",  # [input + units, units]
        "candidate/{bias}": "candidate_bias",      # [units]
    },
}

# Scope components that place a cell inside a stack or a direction (rnn_cell_impl.MultiRNNCell: `cell_%d`;
# rnn.bidirectional_dynamic_rnn: `fw` / `bw` under `bidirectional_rnn`).
MULTI_RNN_SCOPE = "multi_rnn_cell"
LAYER_PREFIX = "cell_"
BIDIRECTIONAL_SCOPE = "bidirectional_rnn"
DIRECTIONS = ("fw", "bw")
ATTENTION_WRAPPER_SCOPE = "attention_wrapper"

# contrib.seq2seq attention variables: last component(s) -> (part, note).
ATTENTION_PARTS: dict[str, tuple[str, str]] = {
    "memory_layer/kernel": ("memory_layer", "Dense(no bias) on the memory, built with the mechanism"),
    "query_layer/kernel": ("query_layer", "Bahdanau: Dense(no bias) on the query"),
    "attention_layer/kernel": ("attention_layer", "AttentionWrapper attention_layer_size: Dense(no bias)"),
    "luong_attention/attention_g": ("attention_g", "LuongAttention(scale=True): scalar score scale, init 1.0"),
    "bahdanau_attention/attention_v": ("attention_v", "Bahdanau score vector [units]"),
    "bahdanau_attention/attention_g": ("attention_g", "BahdanauAttention(normalize=True): scalar, init sqrt(1/units)"),
    "bahdanau_attention/attention_b": ("attention_b", "BahdanauAttention(normalize=True): bias [units]"),
}

# Last components that name an embedding matrix ([vocab, dim]): tf.nn.embedding_lookup callers' conventions
# (tensorflow/nmt `embedding_encoder` / `embedding_decoder` / `embedding_share`, models/tutorials `embedding`).
EMBEDDING_NAME_RE = r"(^|_)(embedding|embeddings)(_|$)"

# Optimizer slots, in creation order (= the `_1`, `_2` suffix order), per TF1 optimizer's `_create_slots`.
OPTIMIZER_SLOTS: dict[str, tuple[str, ...]] = {
    "Adam": ("m", "v"),                    # adam.py: _zeros_slot(v, "m"), _zeros_slot(v, "v")
    "Momentum": ("momentum",),             # momentum.py
    "RMSProp": ("rms", "momentum"),        # rmsprop.py (rms initialised to ones)
    "Adagrad": ("accumulator",),           # adagrad.py
    "ProximalAdagrad": ("accumulator",),
    "Adadelta": ("accum", "accum_update"),  # adadelta.py
    "Ftrl": ("accum", "linear"),           # ftrl.py
    "AdagradDA": ("gradient_accumulator", "gradient_squared_accumulator"),
}

# Optimizer state that is not a slot (a `training/` style prefix may precede it): name -> (optimizer, meaning).
OPTIMIZER_NON_SLOTS: dict[str, tuple[str, str]] = {
    "beta1_power": ("Adam", "beta1 ** step, Adam's bias correction"),
    "beta2_power": ("Adam", "beta2 ** step, Adam's bias correction"),
    "global_step": ("any", "training step counter (tf.train.get_or_create_global_step)"),
}

# Last components of weights that are never slots (so `foo/bias` is not mistaken for a slot of `foo`).
NOT_SLOT_NAMES = {"kernel", "bias", "weights", "biases", "w_i_diag", "w_f_diag", "w_o_diag",
                  "attention_v", "attention_g", "attention_b"}

# Signatures of other architectures, named in the refusal message when no recurrent cell is found.
FOREIGN_SIGNATURES: dict[str, str] = {
    "multihead_attention": "Transformer attention (tensor2tensor / official models)",
    "layer_norm": "layer normalisation",
    "self_attention": "Transformer self-attention",
    "encdec_attention": "Transformer encoder-decoder attention",
    "ffn": "Transformer feed-forward block",
    "conv1d": "convolution",
    "conv2d": "convolution",
    "batch_normalization": "batch normalisation",
    "BatchNorm": "batch normalisation (slim)",
    "cudnn_lstm": "CudnnLSTM (opaque cuDNN parameter buffer)",
    "cudnn_gru": "CudnnGRU (opaque cuDNN parameter buffer)",
}

# Parameter dtypes the converter accepts. float16 / bfloat16 checkpoints are refused rather than silently
# up-cast: a mixed-precision model needs its loss scale and master weights decided by a person.
ACCEPTED_FLOAT_DTYPES = ("float32", "float64")
REFUSED_DTYPES = ("float16", "bfloat16")
