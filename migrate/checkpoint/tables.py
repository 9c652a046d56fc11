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

import re

# Recurrent cells (their scopes, members per naming era, shapes, transforms, gate tables and forget-bias rules)
# live in the cell-layout registry, `migrate.checkpoint.cell_layouts`: one module per layout.

# Naming eras: the last component of a cell's or a dense layer's weight and bias.
# TF <= 1.1 wrote `weights` / `biases` (rnn_cell_impl r1.1 `_linear`); TF 1.2 renamed them to `kernel` / `bias`.
# tf-slim kept `weights` / `biases` in every era, so for dense layers the pair says slim-or-old, not an era.
NAMING_ERAS: dict[str, dict[str, str]] = {
    "tf>=1.2": {"kernel": "kernel", "bias": "bias"},
    "tf<=1.1": {"kernel": "weights", "bias": "biases"},
}
KERNEL_NAMES = {era["kernel"]: name for name, era in NAMING_ERAS.items()}   # "kernel" -> "tf>=1.2"
BIAS_NAMES = {era["bias"]: name for name, era in NAMING_ERAS.items()}

# Scope components that place a cell inside a stack or a direction (rnn_cell_impl.MultiRNNCell: `cell_%d`;
# rnn.bidirectional_dynamic_rnn: `fw` / `bw` under `bidirectional_rnn`).
MULTI_RNN_SCOPE = "multi_rnn_cell"
LAYER_PREFIX = "cell_"
BIDIRECTIONAL_SCOPE = "bidirectional_rnn"
DIRECTIONS = ("fw", "bw")
# TF <= 0.12 spelled them `MultiRNNCell/Cell0` and `BiRNN/FW`, `BiRNN/BW`: stack scope -> layer prefix, and
# bidirectional scope -> {component: direction}.
MULTI_RNN_SCOPES = {MULTI_RNN_SCOPE: LAYER_PREFIX, "MultiRNNCell": "Cell"}
BIDIRECTIONAL_SCOPES = {BIDIRECTIONAL_SCOPE: {"fw": "fw", "bw": "bw"}, "BiRNN": {"FW": "fw", "BW": "bw"}}
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

# legacy_seq2seq.attention_decoder (tensorflow/contrib/legacy_seq2seq/python/ops/seq2seq.py, TF 1.0-1.15): regular
# expressions on the part of a name after `attention_decoder/` -> (kind, note). `AttnW_N` is a Conv2D kernel
# [1, 1, n, n] (the graph confirms it: read by a Conv2D), `AttnV_N` a score vector [n], `Attention_N` the query
# Linear, `AttnOutputProjection` the output Linear (kernel/bias from TF 1.2, weights/biases or Matrix/Bias before).
LEGACY_ATTENTION_PARTS: dict[str, tuple[str, str]] = {
    r"AttnW_\d+": ("attn_w", "legacy_seq2seq attention: 1x1 Conv2D kernel on the attention states [1, 1, n, n]"),
    r"AttnV_\d+": ("attn_v", "legacy_seq2seq attention: score vector [n]"),
    r"Attention_\d+/(kernel|bias|weights|biases|Matrix|Bias|Linear/Matrix|Linear/Bias)": (
        "attention_query", "legacy_seq2seq attention: query Linear"),
    r"AttnOutputProjection/(kernel|bias|weights|biases|Matrix|Bias|Linear/Matrix|Linear/Bias)": (
        "attn_output_projection", "legacy_seq2seq attention: output Linear [cell output + attention] -> output"),
}

# CRF (tf.contrib.crf.crf_log_likelihood creates `transitions` [num_tags, num_tags] when none is passed).
CRF_TRANSITION_NAMES = ("transitions", "transition_params", "crf_transitions")

# Last components that name an embedding matrix ([vocab, dim]): tf.nn.embedding_lookup callers' conventions
# (tensorflow/nmt `embedding_encoder` / `embedding_decoder` / `embedding_share`, models/tutorials `embedding`).
EMBEDDING_NAME_RE = r"(^|_)(embedding|embeddings)(_|$)"

# Optimizer slots, in creation order (= the `_1`, `_2` suffix order), per TF1 optimizer's `_create_slots`.
OPTIMIZER_SLOTS: dict[str, tuple[str, ...]] = {
    "Adam": ("m", "v"),                    # adam.py: _zeros_slot(v, "m"), _zeros_slot(v, "v")
    "Momentum": ("momentum",),             # momentum.py
    "RMSProp": ("rms", "momentum"),        # rmsprop.py (rms initialised to ones); centered: OPTIMIZER_SLOTS_BY_COUNT
    "Adagrad": ("accumulator",),           # adagrad.py
    "ProximalAdagrad": ("accumulator",),
    "Adadelta": ("accum", "accum_update"),  # adadelta.py
    "Ftrl": ("accum", "linear"),           # ftrl.py
    "AdagradDA": ("gradient_accumulator", "gradient_squared_accumulator"),
}

# Optimizers whose slot list depends on an option, told apart by how many slots a variable has:
# (optimizer, slots per variable) -> roles. rmsprop.py: rms, then `mg` only when centered=True, then momentum.
OPTIMIZER_SLOTS_BY_COUNT: dict[tuple[str, int], tuple[str, ...]] = {
    ("RMSProp", 3): ("rms", "mg", "momentum"),
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
    "coupled_input_forget_gate_lstm_cell": "contrib CoupledInputForgetGateLSTMCell (no Keras layout; W_0/B names)",
    "layer_norm_basic_lstm_cell": "contrib LayerNormBasicLSTMCell (no Keras layout)",
    "nas_cell": "contrib NASCell (no Keras layout)",
    "cudnn_gru": "CudnnGRU (opaque cuDNN parameter buffer)",
}

# Cells TF1 names by their scope that have no layout in `cell_layouts` (no Keras layer they map onto one to one):
# inspect files their variables under the cell (`other_cells[]`, with the class the scope names), never as a dense
# layer or an embedding. Scope names from tf.nn.rnn_cell / tf.contrib.rnn (TF 1.x `_BASIC_RNN_*`, `name=` defaults).
UNMAPPED_CELL_SCOPES: dict[str, str] = {
    "basic_rnn_cell": "BasicRNNCell",
    "BasicRNNCell": "BasicRNNCell (TF <= 1.1)",
    "layer_norm_basic_lstm_cell": "contrib LayerNormBasicLSTMCell",
    "coupled_input_forget_gate_lstm_cell": "contrib CoupledInputForgetGateLSTMCell",
    "nas_cell": "contrib NASCell",
    "ugrnn_cell": "contrib UGRNNCell",
    "intersection_rnn_cell": "contrib IntersectionRNNCell",
    "phased_lstm_cell": "contrib PhasedLSTMCell",
    "glstm_cell": "contrib GLSTMCell",
    "cudnn_compatible_lstm_cell": "contrib CudnnCompatibleLSTMCell (CudnnLSTM's canonical weights; convert "
                                  "--from-graph makes keras.layers.LSTM of them)",
    "cudnn_compatible_gru_cell": "contrib CudnnCompatibleGRUCell (CudnnGRU's canonical weights; convert --from-graph "
                                 "makes keras.layers.GRU(reset_after=True) of them)",
}
# Variables (last name component) that are a whole recurrent layer's parameters: inspect files them as that layer
# (`other_cells[]`, under their scope), never as unrecognised.
UNMAPPED_CELL_VARIABLES: dict[str, str] = {
    "opaque_kernel": "contrib.cudnn_rnn CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu (the opaque cuDNN "
                     "parameter buffer; convert --from-graph splits it into keras.layers.LSTM / GRU / SimpleRNN)",
}

# Parameter dtypes the converter accepts. float16 / bfloat16 checkpoints are refused rather than silently
# up-cast: a mixed-precision model needs its loss scale and master weights decided by a person.
ACCEPTED_FLOAT_DTYPES = ("float32", "float64")
REFUSED_DTYPES = ("float16", "bfloat16")


# The backward pass: `tf.gradients` (and `Optimizer.minimize`) name their ops in a scope `gradients`, uniquified
# `gradients_1`, ..., nested in the caller's scope (`train/gradients/...`); a user's `policy_gradients/` is not one.
_GRADIENT_SCOPE = re.compile(r"(^|/)gradients(_\d+)?/")


def is_gradient(name: str) -> bool:
    """Whether an op, tensor or while-frame name lies in a scope `tf.gradients` made: the backward pass."""
    return bool(_GRADIENT_SCOPE.search(name))
