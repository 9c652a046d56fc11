"""Recreate the development corpus of real TF1 recurrent checkpoints (issue 12) from git mirrors.

Every entry of `CORPUS` below is a checkpoint with its `.meta` graph that a public project's own code wrote and
committed to a public GitHub repository under a permissive licence (MIT / Apache-2.0 / BSD; the licence file was
read at the commit named). For those this script downloads nothing: it reads bare git mirrors that are already on
disk (one directory per repository, named `owner+name`, holding the repository either bare or as `repo/` or
`repo/.git`, as the `fetch` tool brings them) and runs `git show COMMIT:PATH` for every file of every entry.
A FORMS entry with a `pypi` source instead names a package archive on PyPI (package, version, archive file name and
its sha256): `pip download --no-deps PACKAGE==VERSION` brings it once into `OUT/.pypi/` (pip prepares an sdist's
metadata, which runs its setup.py: the recorded archives' setup.py only call setup()), the archive's sha256 is
checked, and the entry's files are read out of it by their paths inside the archive.

    .venv/bin/python benchmarks/corpus.py --mirrors /work/.mirror --out DIR [--fixtures-only] [--name NAME ...] [--verify]
    .venv/bin/python benchmarks/corpus.py --list                # the repositories to fetch, one per line

Writes `DIR/<name>/` (the checkpoint files under the local names of the entry's `files`, and
the fixture's README.md when the entry is a committed-style test fixture) and `DIR/corpus_manifest.json`: one
record per entry with the same fields as `tests/fixtures/real_tf1/manifest.json` (feeds, placeholders, outputs and
their shapes, forget biases from the graph constants, whether the graph imports under TF 2.21). The checkpoint
data are never committed to this repository: the fixture entries (`fixture=True`, each <= 5 MB) belong in the
steering repo's `shared/fixtures/real_tf1/` (tests read them from there, or from `$TF_MIGRATE_REAL_TF1`).

`--write-fixture-manifest PATH` writes the manifest of the fixture entries only (what
`tests/fixtures/real_tf1/manifest.json` holds). Exit codes: 0 done, 2 a mirror or a file is missing (named),
3 the output cannot be written.

Feeds: a number is a scalar value; a dict is generated: {"fill": "ids", "low", "high"} integers in [low, high),
{"fill": "full", "value"} a constant, {"fill": "normal"} standard normal, {"fill": "zeros"}, always with "shape".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_DOCS = os.path.join(ROOT, "tests", "fixtures", "real_tf1")
MAX_FIXTURE_BYTES = 5 * 1000 * 1000

UDACITY_MIT = "MIT (LICENSE at the repository root: 'Copyright (c) 2017 Udacity, Inc.', the course template's licence)"


def _ids(high: int, shape: list[int], low: int = 0) -> dict:
    return {"fill": "ids", "low": low, "high": high, "shape": shape}


def _full(value, shape: list[int]) -> dict:
    return {"fill": "full", "value": value, "shape": shape}


def _normal(shape: list[int]) -> dict:
    return {"fill": "normal", "shape": shape}


SHERJIL_MIT = ("MIT (LICENSE.md at the repository root: 'Copyright (c) 2015 Sherjil Ozair', the licence of "
               "sherjilozair/char-rnn-tensorflow, which the repository copies)")


def _sherjil_charrnn(save_dir: str, step: int, vocab: int, batch: int = 50, seq: int = 50, v1: bool = False) -> dict:
    """The fields every checkpoint of sherjilozair/char-rnn-tensorflow's train.py shares (any version): the
    training graph of `Model(args, training=True)`, input ids `Placeholder` [batch, seq] (targets `Placeholder_1`),
    zero_state initial state (not a placeholder), the logits `add` = matmul(outputs, softmax_w) + softmax_b over
    [batch * seq, vocab] and their softmax `Softmax` (what sample.py reads as `probs`)."""
    prefix = f"model.ckpt-{step}"
    suffixes = ("", ".meta") if v1 else (".data-00000-of-00001", ".index", ".meta")
    return {
        "prefix": prefix,
        "files": {prefix + x: f"{save_dir}/{prefix}{x}" for x in suffixes},
        "placeholders": {"Placeholder": {"dtype": "int32", "shape": [batch, seq]},
                         "Placeholder_1": {"dtype": "int32", "shape": [batch, seq]}},
        "feeds": {"Placeholder:0": _ids(vocab, [batch, seq])},
        "outputs": ["add:0", "Softmax:0"],
        "output_shapes": {"add:0": [batch * seq, vocab], "Softmax:0": [batch * seq, vocab]},
        **({"format": "V1"} if v1 else {}),
    }


# One entry per checkpoint. `files` maps the name written under DIR/<name>/ to the path at `commit`.
CORPUS: list[dict] = [
    {
        "name": "udacity_charrnn_tf13",
        "fixture": True,
        "repo": "czapol/Deep_Learning_Projects",
        "commit": "de19390b242c25adddf07465f6d34ee625519fc3",
        "licence": UDACITY_MIT,
        "prefix": "i800_l128.ckpt",
        "files": {
            "i800_l128.ckpt.data-00000-of-00001": "intro-to-rnns/checkpoints/i800_l128.ckpt.data-00000-of-00001",
            "i800_l128.ckpt.index": "intro-to-rnns/checkpoints/i800_l128.ckpt.index",
            "i800_l128.ckpt.meta": "intro-to-rnns/checkpoints/i800_l128.ckpt.meta",
        },
        "tf_version": "1.3.0",
        "model": "Character-level language model (Udacity 'Anna KaRNNa' char-RNN): one-hot characters -> "
                 "2 x BasicLSTMCell(128) in MultiRNNCell with DropoutWrapper -> dense softmax over 83 characters.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "BasicLSTMCell", "DropoutWrapper", "one_hot input",
                       "dense as raw tf.Variable (softmax/Variable, softmax/Variable_1)", "Adam slots"],
        "placeholders": {
            "inputs": {"dtype": "int32", "shape": [10, 50]},
            "targets": {"dtype": "int32", "shape": [10, 50]},
            "keep_prob": {"dtype": "float32", "shape": None},
        },
        "feeds": {"inputs:0": _ids(83, [10, 50]), "keep_prob:0": 1.0},
        "outputs": ["predictions:0"],
        "output_shapes": {"predictions:0": [500, 83]},
        "forget_bias": {"rnn/multi_rnn_cell/cell_0/basic_lstm_cell": 1.0,
                        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "Batch and length are fixed in the graph (10 x 50). The repository also holds i1000_l128.ckpt, "
                 "whose data file was committed without its '.data-00000-of-00001' suffix; i800 is complete. "
                 "The initial state is the cell's zero_state (not a placeholder).",
    },
    {
        "name": "udacity_seq2seq_contrib_tf12",
        "fixture": True,
        "repo": "czapol/Deep_Learning_Projects",
        "commit": "de19390b242c25adddf07465f6d34ee625519fc3",
        "licence": UDACITY_MIT,
        "prefix": "best_model.ckpt",
        "files": {
            "best_model.ckpt.data-00000-of-00001": "seq2seq/best_model.ckpt.data-00000-of-00001",
            "best_model.ckpt.index": "seq2seq/best_model.ckpt.index",
            "best_model.ckpt.meta": "seq2seq/best_model.ckpt.meta",
            "checkpoint": "seq2seq/checkpoint",
        },
        "tf_version": "1.2.1",
        "model": "Letter-sorting seq2seq (Udacity 'sequence_to_sequence_implementation'): "
                 "tf.contrib.layers.embed_sequence source embedding (EmbedSequence/embeddings [30,15]) -> "
                 "encoder dynamic_rnn over 2 x LSTMCell(50) -> contrib.seq2seq BasicDecoder with TrainingHelper "
                 "(scope 'decode') and, sharing the variables, GreedyEmbeddingHelper (scope 'decode_1'), "
                 "decoder embedding a raw tf.Variable named 'Variable' [30,15], Dense(30) output layer.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "embed_sequence", "embedding named Variable",
                       "contrib.seq2seq.BasicDecoder", "TrainingHelper", "GreedyEmbeddingHelper",
                       "dynamic_decode", "output_layer Dense", "encoder final state -> decoder initial state"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": [-1, -1]},
            "targets": {"dtype": "int32", "shape": [-1, -1]},
            "learning_rate": {"dtype": "float32", "shape": None},
            "target_sequence_length": {"dtype": "int32", "shape": [-1]},
            "source_sequence_length": {"dtype": "int32", "shape": [-1]},
        },
        "feeds": {"input:0": _ids(30, [128, 7], low=4), "targets:0": _ids(30, [128, 7], low=4),
                  "source_sequence_length:0": _full(7, [128]), "target_sequence_length:0": _full(7, [128])},
        "outputs": ["logits:0", "predictions:0"],
        "output_shapes": {"logits:0": [128, 7, 30], "predictions:0": [128, 7]},
        "forget_bias": {"rnn/multi_rnn_cell/cell_0/lstm_cell": 1.0, "rnn/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decode/decoder/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "decode/decoder/multi_rnn_cell/cell_1/lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "The batch size (128) is baked into the graph (the <GO> column is tf.fill([128, 1])): feed "
                 "exactly 128 rows. logits:0 is the TrainingHelper decoder's rnn_output (teacher forcing on "
                 "'targets'); predictions:0 the GreedyEmbeddingHelper sample ids, maximum_iterations = "
                 "max(target_sequence_length). Ids 0-3 are <PAD>, <UNK>, <GO>, <EOS>.",
    },
    {
        "name": "ctc_conv_lstm_tf11",
        "fixture": True,
        "repo": "manucarbonell/ctc_tensorflow_example",
        "commit": "3b4cac2dc24ef5c91137a6f7bf6a295ae4c8ae5c",
        "licence": "MIT (LICENSE: 'Copyright (c) 2016 Igor Macedo Quintanilha')",
        "prefix": "checkpoints",
        "files": {
            "checkpoints.data-00000-of-00001": "checkpoints.data-00000-of-00001",
            "checkpoints.index": "checkpoints.index",
            "checkpoints.meta": "checkpoints.meta",
        },
        "tf_version": "1.1.0",
        "model": "Handwriting line recogniser with CTC: image [1, 64, W, 1] -> Conv2D 5x5x1x32 (Variable, "
                 "Variable_1) + ReLU -> reshape to [1, T, 2048] -> time-major dynamic_rnn over a MultiRNNCell of "
                 "one LSTMCell(120) with pre-TF-1.2 names (weights/biases) and sequence_length -> dense "
                 "Variable_2 [120,28] + Variable_3 -> CTC loss / CTCGreedyDecoder.",
        "constructs": ["dynamic_rnn time_major", "sequence_length", "MultiRNNCell", "LSTMCell",
                       "pre-1.2 weights/biases names", "Conv2D", "dense as raw tf.Variable", "CTCLoss",
                       "CTCGreedyDecoder", "placeholders with empty (unknown) shapes"],
        "placeholders": {
            "Placeholder": {"dtype": "float32", "shape": "unknown (TF 1.1 wrote an empty shape)"},
            "Placeholder_1": {"dtype": "int64", "shape": "unknown (sparse label indices)"},
            "Placeholder_2": {"dtype": "int32", "shape": "unknown (sparse label values)"},
            "Placeholder_3": {"dtype": "int64", "shape": "unknown (sparse label dense_shape)"},
            "Placeholder_4": {"dtype": "int32", "shape": "unknown (sequence lengths [1])"},
        },
        "feeds": {"Placeholder:0": _normal([1, 64, 20, 1]), "Placeholder_4:0": _full(20, [1])},
        "outputs": ["transpose_1:0"],
        "output_shapes": {"transpose_1:0": [20, 1, 28]},
        "forget_bias": {"rnn/multi_rnn_cell/cell_0/lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "transpose_1:0 are the time-major logits [W, 1, 28] fed to CTCLoss and CTCGreedyDecoder "
                 "(CTCGreedyDecoder:0..3 is the sparse decoded result). The batch is 1 (Reshape/shape = "
                 "[1, -1, 2048]) and the image height 64. Placeholders carry an empty shape attr (TF 1.1); TF 2.21 "
                 "imports and feeds them as unknown shapes. Variable_4 is the global step (int32). "
                 "Total 4.34 MB: the largest fixture.",
    },
    {
        "name": "udacity_translation_contrib_tf11",
        "fixture": True,
        "repo": "anoff/nd101",
        "commit": "d06773d1eab54c88220340faf273bdb727a61bc6",
        "licence": UDACITY_MIT,
        "prefix": "dev",
        "files": {
            "dev.data-00000-of-00001": "language-translation/checkpoints/dev.data-00000-of-00001",
            "dev.index": "language-translation/checkpoints/dev.index",
            "dev.meta": "language-translation/checkpoints/dev.meta",
        },
        "tf_version": "1.1.0",
        "model": "English->French translation (Udacity 'language-translation' project): embed_sequence source "
                 "embedding (EmbedSequence/embeddings [231,23]) -> encoder dynamic_rnn over 3 x LSTMCell(64) "
                 "(pre-1.2 weights/biases) -> contrib.seq2seq (TF 1.1 API) BasicDecoder, TrainingHelper in scope "
                 "'decode' and GreedyEmbeddingHelper in 'decode_1' sharing the 3 decoder LSTMCells, decoder "
                 "embedding a raw tf.Variable named 'Variable' [358,23], output Dense created OUTSIDE the decoder "
                 "scope (dense/kernel [64,358]).",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "pre-1.2 weights/biases names", "DropoutWrapper",
                       "embed_sequence", "embedding named Variable", "contrib.seq2seq.BasicDecoder",
                       "TrainingHelper", "GreedyEmbeddingHelper", "dynamic_decode", "output_layer Dense (scope dense)",
                       "encoder final state -> decoder initial state", "placeholders with empty (unknown) shapes"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": "unknown (TF 1.1 wrote an empty shape; [batch, time])"},
            "targets": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "learnrate": {"dtype": "float32", "shape": "unknown (scalar)"},
            "keep_prob": {"dtype": "float32", "shape": "unknown (scalar)"},
            "target_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
            "source_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
        },
        "feeds": {"input:0": _ids(231, [1024, 9], low=4), "targets:0": _ids(358, [1024, 11], low=4),
                  "source_sequence_length:0": _full(9, [1024]), "target_sequence_length:0": _full(11, [1024]),
                  "keep_prob:0": 1.0},
        "outputs": ["logits:0", "predictions:0"],
        "output_shapes": {"logits:0": [1024, 11, 358], "predictions:0": [1024, 11]},
        "forget_bias": {f"{s}/multi_rnn_cell/cell_{i}/lstm_cell": 1.0 for s in ("rnn", "decode/decoder") for i in range(3)},
        "imports_under_tf221": True,
        "notes": "The batch size 1024 is baked into the graph (the <GO> column is a Fill of [1024, 1]). logits:0 is "
                 "the TrainingHelper decoder's output, predictions:0 the greedy ids (maximum_iterations = "
                 "max(target_sequence_length)). Source ids 0-3 and target ids 0-3 are <PAD>, <EOS>, <UNK>, <GO>. "
                 "The output projection lives at top level ('dense/...'), not under the decoder scope.",
    },
    {
        "name": "ptrnet_lstm_bahdanau_tf16",
        "fixture": True,
        "repo": "yujiakimoto/ptr-net",
        "commit": "025d29c0260998576c7b97d1cf36efdc32074c71",
        "licence": "MIT (LICENSE: 'Copyright (c) 2018 Yuji Akimoto')",
        "prefix": "model.ckpt",
        "files": {
            "model.ckpt.data-00000-of-00001": "model/model.ckpt.data-00000-of-00001",
            "model.ckpt.index": "model/model.ckpt.index",
            "model.ckpt.meta": "model/model.ckpt.meta",
        },
        "tf_version": "1.6.0",
        "model": "Pointer network (answer-span pointer over a 45-token passage): embedding variable named "
                 "'inputs/word_matrix' [29,50] (gathered by embeddings/embedded) -> encoder dynamic_rnn over "
                 "2 x LSTMCell(25) -> decoder: AttentionWrapper(3 x LSTMCell(50), BahdanauAttention(num_units=1) "
                 "with memory_sequence_length, attention_layer_size=30, alignment_history=True) driven by a "
                 "TrainingHelper over one step; the pointer is the stacked alignment history.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "embedding named word_matrix",
                       "contrib.seq2seq.AttentionWrapper", "BahdanauAttention", "attention_layer",
                       "alignment_history", "memory_sequence_length", "BasicDecoder", "TrainingHelper",
                       "dynamic_decode"],
        "placeholders": {
            "inputs/inputs": {"dtype": "int32", "shape": [100, 45]},
            "inputs/input_lengths": {"dtype": "int32", "shape": [100]},
            "outputs/outputs": {"dtype": "int32", "shape": [100, 1]},
        },
        "feeds": {"inputs/inputs:0": _ids(29, [100, 45]), "inputs/input_lengths:0": _full(45, [100]),
                  "outputs/outputs:0": _ids(45, [100, 1])},
        "outputs": ["pointers/Reshape:0", "pointers/ArgMax:0"],
        "output_shapes": {"pointers/Reshape:0": [1, 100, 45], "pointers/ArgMax:0": [1, 100]},
        "forget_bias": {"encoder/rnn/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "encoder/rnn/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_2/lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "Shapes fixed in the graph (batch 100, length 45, one pointer). pointers/Reshape:0 is the "
                 "alignment history [n_pointers, batch, 45] (the pointer logits fed to the loss), pointers/ArgMax:0 "
                 "the chosen positions. outputs/outputs are target positions in [0, 45). The encoder outputs are "
                 "multiplied by the sequence mask before the memory layer (decoder/BahdanauAttention/mul).",
    },
    {
        "name": "ptrnet_gru_bahdanau_tf15",
        "fixture": True,
        "repo": "yujiakimoto/ptr-net",
        "commit": "f983fd28728200f819ba602c73669ff8832fec4d",
        "licence": "MIT (LICENSE: 'Copyright (c) 2018 Yuji Akimoto')",
        "prefix": "ptr_net.ckpt",
        "files": {
            "ptr_net.ckpt.data-00000-of-00001": "models/ptr_net.ckpt.data-00000-of-00001",
            "ptr_net.ckpt.index": "models/ptr_net.ckpt.index",
            "ptr_net.ckpt.meta": "models/ptr_net.ckpt.meta",
        },
        "tf_version": "1.5.0",
        "model": "Pointer network ('Pre-trained model' commit): embedding 'embeddings/word_matrix' [30,50] -> "
                 "encoder dynamic_rnn over 3 x GRUCell(50) -> decoder: OutputProjectionWrapper(AttentionWrapper("
                 "3 x GRUCell(50), BahdanauAttention(50) under scope 'attention', alignment_history=True), 28) with "
                 "a TrainingHelper over one step; the pointer is the alignment history.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "GRUCell", "GRU stack", "embedding named word_matrix",
                       "contrib.seq2seq.AttentionWrapper", "BahdanauAttention", "alignment_history",
                       "memory_sequence_length", "OutputProjectionWrapper", "BasicDecoder", "TrainingHelper",
                       "dynamic_decode"],
        "placeholders": {
            "inputs/Placeholder": {"dtype": "int32", "shape": [100, 45]},
            "inputs/Placeholder_1": {"dtype": "int32", "shape": [100]},
            "outputs/Placeholder": {"dtype": "int32", "shape": [100, 1]},
        },
        "feeds": {"inputs/Placeholder:0": _ids(30, [100, 45]), "inputs/Placeholder_1:0": _full(45, [100]),
                  "outputs/Placeholder:0": _ids(45, [100, 1])},
        "outputs": ["pointers/Reshape:0", "pointers/ArgMax:0"],
        "output_shapes": {"pointers/Reshape:0": [1, 100, 45], "pointers/ArgMax:0": [1, 100]},
        "forget_bias": {},
        "imports_under_tf221": True,
        "notes": "GRU cells have no forget bias. Placeholders are unnamed (inputs/Placeholder = passage ids, "
                 "inputs/Placeholder_1 = lengths, outputs/Placeholder = target positions in [0, 45)); the decoder "
                 "input is the embedding of the passage word at the target position (outputs/Gather_*). The "
                 "output projection (28 units) is computed but the pointer uses the alignments.",
    },
    {
        "name": "neuroner_bilstm_crf_tf10",
        "fixture": True,
        "repo": "Franck-Dernoncourt/NeuroNER",
        "commit": "3817feaf290c1f6e03ae23ea964e68c88d0e7a88",
        "licence": "MIT (LICENSE: 'Copyright (c) 2019 Franck Dernoncourt, Jenny Lee, Tom Pollard'; the same "
                   "blobs were first committed in 0e3adfb7 (2017-05-09), before the licence file was added)",
        "prefix": "model.ckpt",
        "files": {
            "model.ckpt.data-00000-of-00001":
                "neuroner/trained_models/i2b2_2014_glove_spacy_bioes/model.ckpt.data-00000-of-00001",
            "model.ckpt.index": "neuroner/trained_models/i2b2_2014_glove_spacy_bioes/model.ckpt.index",
            "model.ckpt.meta": "neuroner/trained_models/i2b2_2014_glove_spacy_bioes/model.ckpt.meta",
            "checkpoint": "neuroner/trained_models/i2b2_2014_glove_spacy_bioes/checkpoint",
        },
        "tf_version": "1.0.0",
        "model": "NeuroNER de-identification tagger (i2b2 2014, BIOES): character embedding [95,25] -> "
                 "character bidirectional_dynamic_rnn of CoupledInputForgetGateLSTMCell(25) with trainable "
                 "initial states (final states concatenated) + token embedding [25008,100] -> token "
                 "bidirectional_dynamic_rnn of CoupledInputForgetGateLSTMCell(100) -> dense W/bias + tanh -> "
                 "dense to 93 tag scores -> CRF (crf/transitions [95,95], 2 extra start/end tags).",
        "constructs": ["bidirectional_dynamic_rnn", "CoupledInputForgetGateLSTMCell (contrib.rnn, W_0/B names)",
                       "trainable initial state variables", "sequence_length", "ReverseSequence",
                       "char-level BiLSTM final states", "CRF transitions", "dense as raw variables (W, bias)",
                       "embedding lookup", "dropout with keep_prob placeholder",
                       ".meta variable shape differs from the checkpoint"],
        "placeholders": {
            "input_token_indices": {"dtype": "int32", "shape": "unknown ([tokens])"},
            "input_label_indices_vector": {"dtype": "float32", "shape": "unknown (training only)"},
            "input_label_indices_flat": {"dtype": "int32", "shape": "unknown (training only)"},
            "input_token_indices_1": {"dtype": "int32", "shape": "unknown ([tokens, chars]: character ids)"},
            "input_token_lengths": {"dtype": "int32", "shape": "unknown ([tokens]: characters per token)"},
            "dropout_keep_prob": {"dtype": "float32", "shape": "unknown (scalar)"},
        },
        "feeds": {"input_token_indices:0": _ids(25008, [6]), "input_token_indices_1:0": _ids(95, [6, 5]),
                  "input_token_lengths:0": _full(5, [6]), "dropout_keep_prob:0": 1.0},
        "outputs": ["feedforward_before_crf/scores:0", "crf/unary_scores_expanded:0"],
        "output_shapes": {"feedforward_before_crf/scores:0": [6, 93], "crf/unary_scores_expanded:0": [1, 8, 95]},
        "restore_exclude": ["token_embedding/token_embedding_weights"],
        "forget_bias": {"character_lstm/bidirectional_LSTM/bidirectional_rnn/fw/coupled_input_forget_gate_lstm_cell": 1.0,
                        "character_lstm/bidirectional_LSTM/bidirectional_rnn/bw/coupled_input_forget_gate_lstm_cell": 1.0,
                        "token_lstm/bidirectional_LSTM/bidirectional_rnn/fw/coupled_input_forget_gate_lstm_cell": 1.0,
                        "token_lstm/bidirectional_LSTM/bidirectional_rnn/bw/coupled_input_forget_gate_lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "The .meta declares token_embedding/token_embedding_weights as [25008, 100] but the checkpoint "
                 "holds [1, 100] (NeuroNER strips the GloVe table from released models and reloads it): a plain "
                 "saver.restore fails with 'Assign requires shapes of both tensors to match'. Restore every other "
                 "variable (restore_exclude) and set that one to zeros. Batch = one sentence of 6 tokens; "
                 "crf/unary_scores_expanded:0 is [1, tokens + 2, 95] (start/end rows added, 1000-valued padding); "
                 "Viterbi decoding runs in NumPy outside the graph with crf/transitions. The character ids "
                 "placeholder is named input_token_indices_1 (a name clash in the project). Summary ops present.",
    },
    {
        "name": "hcn_shared_layer_lstm_tf18",
        "fixture": True,
        "repo": "ehwa009/dialogue_system",
        "commit": "c26ad129e1e4abef3e0d22859df119a4ab5ba0b7",
        "licence": "MIT (LICENSE: 'Copyright (c) 2018 Byeong-Kyu Ahn')",
        "prefix": "hcn.ckpt-0",
        "files": {
            "hcn.ckpt-0.data-00000-of-00001": "ckpt/hcn.ckpt-0.data-00000-of-00001",
            "hcn.ckpt-0.index": "ckpt/hcn.ckpt-0.index",
            "hcn.ckpt-0.meta": "ckpt/hcn.ckpt-0.meta",
        },
        "tf_version": "1.8.0",
        "model": "Hybrid Code Network dialogue policy (English bAbI-style restaurant dialogues), one dialogue turn "
                 "per Session.run: features [1,428] -> dense Wi/bi (raw variables) -> a 2-layer MultiRNNCell built "
                 "from ONE LSTMCell(128) object (both layers share multi_rnn_cell/cell_0/lstm_cell) called directly "
                 "for one step with the four state tensors fed as placeholders -> concat(c1, h1, c2, h2) -> dense "
                 "Wo/bo to 11 action logits -> softmax / argmax.",
        "constructs": ["cell called directly (one step, no dynamic_rnn)", "MultiRNNCell", "LSTMCell",
                       "one cell shared by two layers", "state fed through placeholders",
                       "dense as raw variables (Wi, bi, Wo, bo)", "Adadelta slots"],
        "placeholders": {
            "input_features": {"dtype": "float32", "shape": [1, 428]},
            "Placeholder": {"dtype": "float32", "shape": [1, 128], "role": "layer 1 c"},
            "Placeholder_1": {"dtype": "float32", "shape": [1, 128], "role": "layer 1 h"},
            "Placeholder_2": {"dtype": "float32", "shape": [1, 128], "role": "layer 2 c"},
            "Placeholder_3": {"dtype": "float32", "shape": [1, 128], "role": "layer 2 h"},
            "ground_truth_action": {"dtype": "int32", "shape": "unknown (training only)"},
        },
        "feeds": {"input_features:0": _normal([1, 428]), "Placeholder:0": _normal([1, 128]),
                  "Placeholder_1:0": _normal([1, 128]), "Placeholder_2:0": _normal([1, 128]),
                  "Placeholder_3:0": _normal([1, 128])},
        "outputs": ["add_1:0", "Softmax:0", "ArgMax:0"],
        "output_shapes": {"add_1:0": [1, 11], "Softmax:0": [1, 11], "ArgMax:0": []},
        "forget_bias": {"multi_rnn_cell/cell_0/lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "The two LSTM layers are the same LSTMCell object (MultiRNNCell([cell] * 2) style): one set of "
                 "variables, two uses in the graph (forget-bias constants add/y and add_2/y, both 1.0). The state "
                 "is carried between turns by the caller (zeros at the start of a dialogue); the test feeds random "
                 "states so both layers matter. Output order of the state concat: c1, h1, c2, h2.",
    },
    {
        "name": "hcn_static_bigru_tf18",
        "fixture": True,
        "repo": "ehwa009/dialogue_system",
        "commit": "c26ad129e1e4abef3e0d22859df119a4ab5ba0b7",
        "licence": "MIT (LICENSE: 'Copyright (c) 2018 Byeong-Kyu Ahn')",
        "prefix": "hcn.ckpt-0",
        "files": {
            "hcn.ckpt-0.data-00000-of-00001": "ckpt_kor/hcn.ckpt-0.data-00000-of-00001",
            "hcn.ckpt-0.index": "ckpt_kor/hcn.ckpt-0.index",
            "hcn.ckpt-0.meta": "ckpt_kor/hcn.ckpt-0.meta",
        },
        "tf_version": "1.8.0",
        "model": "Hybrid Code Network dialogue policy (Korean variant): features [1,104] -> dense Wi/bi -> "
                 "static_bidirectional_rnn over ONE time step with GRUCell(128) forward and backward (zero initial "
                 "states) -> concat(fw, bw) -> dense Wo/bo to 11 action logits -> softmax / argmax.",
        "constructs": ["static_bidirectional_rnn", "GRUCell", "single time step", "zero_state",
                       "dense as raw variables (Wi, bi, Wo, bo)", "Adadelta slots", "unused placeholders"],
        "placeholders": {
            "input_features": {"dtype": "float32", "shape": [1, 104]},
            "Placeholder": {"dtype": "float32", "shape": [1, 128], "role": "unused"},
            "Placeholder_1": {"dtype": "float32", "shape": [1, 128], "role": "unused"},
            "ground_truth_action": {"dtype": "int32", "shape": "unknown (training only)"},
            "action_mask": {"dtype": "float32", "shape": [11], "role": "not on the path to the outputs"},
        },
        "feeds": {"input_features:0": _normal([1, 104])},
        "outputs": ["add_1:0", "Softmax:0", "ArgMax:0"],
        "output_shapes": {"add_1:0": [1, 11], "Softmax:0": [1, 11], "ArgMax:0": []},
        "forget_bias": {},
        "imports_under_tf221": True,
        "notes": "Same repository and commit as hcn_shared_layer_lstm_tf18 (folder ckpt_kor/). The state "
                 "placeholders exist but the bidirectional RNN starts from zero_state, so only input_features is "
                 "needed. With one time step the backward direction sees the same single input.",
    },
    {
        "name": "tflearn_legacy_attention_seq2seq_v1",
        "fixture": True,
        "repo": "ichuang/tflearn_seq2seq",
        "commit": "68ebfb287c7a85c12c53b0b49a1d68e47e333ce8",
        "licence": "MIT (LICENSE: 'Copyright (c) 2016 ichuang')",
        "prefix": "ts2s__attention__sorted_1.tfl",
        "format": "V1",
        "files": {
            "ts2s__attention__sorted_1.tfl": "TRAINED_WEIGHTS/ts2s__attention__sorted_1.tfl",
            "ts2s__attention__sorted_1.tfl.meta": "TRAINED_WEIGHTS/ts2s__attention__sorted_1.tfl.meta",
        },
        "tf_version": "0.9/0.10 (2016; the .meta has no tensorflow_version, GraphDef producer 10)",
        "model": "TFLearn seq2seq that learns to sort 20 digits: legacy tf.nn.seq2seq.embedding_attention_seq2seq "
                 "with one BasicLSTMCell(32) (state_is_tuple), embedding size 20, 10 input / 11 output symbols, "
                 "static (unrolled) encoder over 20 steps via EmbeddingWrapper, attention_decoder with one head "
                 "(AttnW_0 [1,1,32,32] conv kernel, AttnV_0, Attention_0/Linear), AttnOutputProjection, "
                 "OutputProjectionWrapper, feed_previous=False (teacher forcing, GO id 10).",
        "constructs": ["legacy_seq2seq embedding_attention_seq2seq", "attention_decoder", "AttnW_0/AttnV_0",
                       "Attention_0", "AttnOutputProjection", "OutputProjectionWrapper", "EmbeddingWrapper",
                       "static_rnn (unrolled, 20 steps)", "BasicLSTMCell", "pre-1.0 Linear/Matrix and Linear/Bias names",
                       "V1 checkpoint (single file, no .index)", "TFLearn collections"],
        "placeholders": {
            "XY/X": {"dtype": "int32", "shape": "unknown ([batch, 40]: 20 input digits then 20 target digits)"},
            "TargetsData/Y": {"dtype": "int32", "shape": "unknown (training only)"},
        },
        "feeds": {"XY/X:0": _ids(10, [4, 40])},
        "outputs": ["pack:0", "ArgMax:0"],
        "output_shapes": {"pack:0": [4, 20, 11], "ArgMax:0": [4, 20]},
        "keep_collections": ["variables", "trainable_variables"],
        "slow": True,
        "forget_bias": {"embedding_attention_seq2seq/RNN/BasicLSTMCell": 1.0,
                        "embedding_attention_seq2seq/embedding_attention_decoder/attention_decoder/BasicLSTMCell": 1.0},
        "imports_under_tf221": True,
        "notes": "A V1 checkpoint: one data file named by the prefix, no .index. tf.train.load_checkpoint reads it "
                 "under TF 2.21 and the graph's own saver (RestoreSlice ops) restores it; this project's reader "
                 "(migrate.checkpoint.open_checkpoint) opens it through the same reader (Checkpoint.format 'V1'). "
                 "import_meta_graph fails on TFLearn's collections (\"The name 'Adam' refers to an Operation not in "
                 "the graph\", from the 'trainops' collection): keep only the collections in keep_collections before "
                 "importing. pack:0 stacks the 20 decoder logits on axis 1 ([batch, 20, 11]). The variables "
                 "Global_Step, Training_step, is_training, acc/moving_avg, val_acc, val_loss are TFLearn's.",
    },
    {
        "name": "udacity_tvscript_wordlm_tf10",
        "fixture": True,
        "repo": "AlphaGit/deep-learning",
        "commit": "1efa4a57b7c67c40d19ea31304cfeb3afdf0e08e",
        "licence": UDACITY_MIT + "; the checkpoint blobs are unchanged since ccb938ff (2017-04-02)",
        "prefix": "save",
        "files": {
            "save.data-00000-of-00001": "tv-script-generation/save.data-00000-of-00001",
            "save.index": "tv-script-generation/save.index",
            "save.meta": "tv-script-generation/save.meta",
        },
        "tf_version": "1.0.0",
        "model": "Word-level language model (Udacity 'tv-script-generation', Simpsons scripts): embedding a raw "
                 "tf.Variable named 'Variable' [6780,10] -> dynamic_rnn over 3 x BasicLSTMCell(10) (pre-1.2 "
                 "weights/biases) with initial_state = zero_state(batch) exposed as Identity 'initial_state' and "
                 "the final state as 'final_state' -> Dense(6780) (scope 'dense') -> softmax 'probs'.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "BasicLSTMCell", "pre-1.2 weights/biases names",
                       "embedding named Variable", "dense layer (scope dense)", "named initial_state / final_state",
                       "placeholders with empty (unknown) shapes"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": "unknown ([batch, time] word ids)"},
            "input_1": {"dtype": "int32", "shape": "unknown (targets, training only)"},
            "learning_rate": {"dtype": "float32", "shape": "unknown (training only)"},
        },
        "feeds": {"input:0": _ids(6780, [4, 10])},
        "outputs": ["probs:0", "final_state:0"],
        "output_shapes": {"probs:0": [40, 6780], "final_state:0": [3, 2, 4, 10]},
        "forget_bias": {f"rnn/multi_rnn_cell/cell_{i}/basic_lstm_cell": 1.0 for i in range(3)},
        "imports_under_tf221": True,
        "notes": "probs:0 is [batch * time, vocab] (the logits are reshaped before the softmax). final_state:0 "
                 "packs the LSTMStateTuples as [layers, (c, h), batch, 10]; initial_state:0 can be fed to carry a "
                 "state (generation feeds the previous final_state). The targets placeholder is named input_1.",
    },
    {
        "name": "udacity_seq2seq_contrib_tf11",
        "fixture": False,
        "repo": "abhi1509/deep-learning",
        "commit": "ad219538e5975ac557fb784b0ed11998691f5f98",
        "licence": UDACITY_MIT,
        "prefix": "best_model.ckpt",
        "files": {
            "best_model.ckpt.data-00000-of-00001": "seq2seq/best_model.ckpt.data-00000-of-00001",
            "best_model.ckpt.index": "seq2seq/best_model.ckpt.index",
            "best_model.ckpt.meta": "seq2seq/best_model.ckpt.meta",
            "checkpoint": "seq2seq/checkpoint",
        },
        "tf_version": "1.1.0",
        "model": "The same letter-sorting seq2seq as udacity_seq2seq_contrib_tf12, written by TF 1.1: pre-1.2 "
                 "weights/biases names and the output Dense at top level ('dense/...').",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "pre-1.2 weights/biases names", "embed_sequence",
                       "embedding named Variable", "contrib.seq2seq.BasicDecoder", "TrainingHelper",
                       "GreedyEmbeddingHelper", "dynamic_decode", "output_layer Dense (scope dense)",
                       "placeholders with empty (unknown) shapes"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "targets": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "learning_rate": {"dtype": "float32", "shape": "unknown"},
            "target_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
            "source_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
        },
        "feeds": {"input:0": _ids(30, [128, 7], low=4), "targets:0": _ids(30, [128, 7], low=4),
                  "source_sequence_length:0": _full(7, [128]), "target_sequence_length:0": _full(7, [128])},
        "outputs": ["logits:0", "predictions:0"],
        "output_shapes": {"logits:0": [128, 7, 30], "predictions:0": [128, 7]},
        "forget_bias": {f"{s}/multi_rnn_cell/cell_{i}/lstm_cell": 1.0 for s in ("rnn", "decode/decoder") for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 128 baked into the graph, as in the TF 1.2 twin.",
    },
    {
        "name": "neuroner_mimic_bilstm_crf_tf10",
        "fixture": False,   # 1.88 MB, but ../shared/fixtures/real_tf1 does not hold it: a corpus entry, not a test fixture
        "repo": "Franck-Dernoncourt/NeuroNER",
        "commit": "3817feaf290c1f6e03ae23ea964e68c88d0e7a88",
        "licence": "MIT (LICENSE: 'Copyright (c) 2019 Franck Dernoncourt, Jenny Lee, Tom Pollard')",
        "prefix": "model.ckpt",
        "files": {
            "model.ckpt.data-00000-of-00001": "neuroner/trained_models/mimic_glove_spacy_bioes/model.ckpt.data-00000-of-00001",
            "model.ckpt.index": "neuroner/trained_models/mimic_glove_spacy_bioes/model.ckpt.index",
            "model.ckpt.meta": "neuroner/trained_models/mimic_glove_spacy_bioes/model.ckpt.meta",
        },
        "tf_version": "1.0.0",
        "model": "NeuroNER de-identification tagger trained on MIMIC (49 tags): the architecture of "
                 "neuroner_bilstm_crf_tf10 with a 31126-word token vocabulary.",
        "constructs": ["bidirectional_dynamic_rnn", "CoupledInputForgetGateLSTMCell (contrib.rnn, W_0/B names)",
                       "trainable initial state variables", "CRF transitions", "dense as raw variables (W, bias)",
                       ".meta variable shape differs from the checkpoint"],
        "placeholders": {
            "input_token_indices": {"dtype": "int32", "shape": "unknown ([tokens])"},
            "input_token_indices_1": {"dtype": "int32", "shape": "unknown ([tokens, chars])"},
            "input_token_lengths": {"dtype": "int32", "shape": "unknown ([tokens])"},
            "dropout_keep_prob": {"dtype": "float32", "shape": "unknown (scalar)"},
        },
        "feeds": {"input_token_indices:0": _ids(31126, [6]), "input_token_indices_1:0": _ids(95, [6, 5]),
                  "input_token_lengths:0": _full(5, [6]), "dropout_keep_prob:0": 1.0},
        "outputs": ["feedforward_before_crf/scores:0", "crf/unary_scores_expanded:0"],
        "output_shapes": {"feedforward_before_crf/scores:0": [6, 49], "crf/unary_scores_expanded:0": [1, 8, 51]},
        "restore_exclude": ["token_embedding/token_embedding_weights"],
        "forget_bias": {f"{s}_lstm/bidirectional_LSTM/bidirectional_rnn/{d}/coupled_input_forget_gate_lstm_cell": 1.0
                        for s in ("character", "token") for d in ("fw", "bw")},
        "imports_under_tf221": True,
        "notes": "As neuroner_bilstm_crf_tf10: the .meta declares token_embedding_weights [31126, 100], the "
                 "checkpoint holds [1, 100]; restore the other variables and zero that one. The repository's "
                 "`checkpoint` state file is not copied: it names model_mimic_glove_spacy_iobes.ckpt, a prefix "
                 "the folder does not hold (the files were renamed to model.ckpt when committed).",
    },
    {
        "name": "charrnn_static_fb0_tf12",
        "fixture": True,
        "repo": "crazydonkey200/tensorflow-char-rnn",
        "commit": "6cc88ee8f5786a5482967c0da0d0eb744c028360",
        "licence": "MIT (LICENSE: 'Copyright (c) 2016 Chen Liang')",
        "prefix": "model-85340",
        "files": {
            "model-85340.data-00000-of-00001": "pretrained_shakespeare/best_model/model-85340.data-00000-of-00001",
            "model-85340.index": "pretrained_shakespeare/best_model/model-85340.index",
            "model-85340.meta": "pretrained_shakespeare/best_model/model-85340.meta",
        },
        "tf_version": "1.2.1",
        "model": "Pretrained Shakespeare char-RNN (the project's 'pretrained_shakespeare' model): characters one-hot "
                 "through a constant identity 'embedding' (embedding_size 0) -> static_rnn unrolled over 10 steps of a "
                 "MultiRNNCell of 2 x BasicLSTMCell(128, forget_bias=0.0) (kernel/bias) -> softmax/softmax_w [128,65] + "
                 "softmax_b. Three subgraphs share the variables: 'training' and 'validation' (batch 20 x 10 steps) "
                 "and 'evaluation' (1 x 1, for sampling), each with PlaceholderWithDefault initial states.",
        "constructs": ["static_rnn (unrolled, 10 steps)", "MultiRNNCell", "BasicLSTMCell", "forget_bias 0.0",
                       "kernel/bias names", "PlaceholderWithDefault initial state", "one-hot via constant embedding",
                       "dense as raw variables (softmax_w, softmax_b)", "three subgraphs sharing variables",
                       "int64 inputs"],
        "placeholders": {
            "training/inputs": {"dtype": "int64", "shape": [20, 10]},
            "training/targets": {"dtype": "int64", "shape": [20, 10], "role": "training only"},
            "evaluation/inputs": {"dtype": "int64", "shape": [1, 1]},
            "evaluation/initial_state/PlaceholderWithDefault": {"dtype": "float32", "shape": [-1, 128],
                                                                 "role": "layer 1 c (default: zeros)"},
            "evaluation/initial_state/PlaceholderWithDefault_1": {"dtype": "float32", "shape": [-1, 128],
                                                                   "role": "layer 1 h"},
            "evaluation/initial_state/PlaceholderWithDefault_2": {"dtype": "float32", "shape": [-1, 128],
                                                                   "role": "layer 2 c"},
            "evaluation/initial_state/PlaceholderWithDefault_3": {"dtype": "float32", "shape": [-1, 128],
                                                                   "role": "layer 2 h"},
        },
        "feeds": {"training/inputs:0": _ids(65, [20, 10]), "evaluation/inputs:0": _ids(65, [1, 1]),
                  **{f"evaluation/initial_state/PlaceholderWithDefault{s}:0": _normal([1, 128])
                     for s in ("", "_1", "_2", "_3")}},
        "outputs": ["training/softmax/add:0", "evaluation/softmax/Softmax:0"],
        "output_shapes": {"training/softmax/add:0": [200, 65], "evaluation/softmax/Softmax:0": [1, 65]},
        "forget_bias": {"rnn/multi_rnn_cell/cell_0/basic_lstm_cell": 0.0,
                        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell": 0.0},
        "imports_under_tf221": True,
        "notes": "forget_bias is 0.0 (the project sets params['forget_bias'] = 0.0): the graph constants "
                 "basic_lstm_cell/add*/y are 0.0 in every unrolled step of the three subgraphs; folding the default "
                 "1.0 gives wrong logits. The evaluation subgraph's default initial state has batch 20 (a bug of "
                 "the project: feeding evaluation/inputs alone fails with 'ConcatOp : Dimension 0 ... [1,65] vs. "
                 "[20,128]'), so the four state placeholders are fed ([1, 128] each). training/softmax/add:0 are "
                 "the logits [20 * 10, 65].",
    },
    {
        "name": "charrnn_static_fb0_tf11",
        "fixture": False,
        "repo": "crazydonkey200/tensorflow-char-rnn",
        "commit": "415004d1ba5533e3e2951e6f5e4cc765d38d0c7a",
        "licence": "MIT (LICENSE: 'Copyright (c) 2016 Chen Liang')",
        "prefix": "model-70280",
        "files": {
            "model-70280.data-00000-of-00001": "pretrained_shakespeare/best_model/model-70280.data-00000-of-00001",
            "model-70280.index": "pretrained_shakespeare/best_model/model-70280.index",
            "model-70280.meta": "pretrained_shakespeare/best_model/model-70280.meta",
        },
        "tf_version": "1.1.0",
        "model": "Pretrained Shakespeare char-RNN (the project's 'pretrained_shakespeare' model): characters one-hot "
                 "through a constant identity 'embedding' (embedding_size 0) -> static_rnn unrolled over 10 steps of a "
                 "MultiRNNCell of 2 x BasicLSTMCell(128, forget_bias=0.0) (pre-1.2 weights/biases) -> softmax/softmax_w [128,65] + "
                 "softmax_b. Three subgraphs share the variables: 'training' and 'validation' (batch 20 x 10 steps) "
                 "and 'evaluation' (1 x 1, for sampling), each with PlaceholderWithDefault initial states.",
        "constructs": ["static_rnn (unrolled, 10 steps)", "MultiRNNCell", "BasicLSTMCell", "forget_bias 0.0",
                       "pre-1.2 weights/biases names", "PlaceholderWithDefault initial state", "one-hot via constant embedding",
                       "dense as raw variables (softmax_w, softmax_b)", "three subgraphs sharing variables",
                       "int64 inputs"],
        "placeholders": {
            "training/inputs": {"dtype": "int64", "shape": [20, 10]},
            "training/targets": {"dtype": "int64", "shape": [20, 10], "role": "training only"},
            "evaluation/inputs": {"dtype": "int64", "shape": [1, 1]},
            "evaluation/initial_state/PlaceholderWithDefault": {"dtype": "float32", "shape": [-1, 128],
                                                                 "role": "layer 1 c (default: zeros)"},
            "evaluation/initial_state/PlaceholderWithDefault_1": {"dtype": "float32", "shape": [-1, 128],
                                                                   "role": "layer 1 h"},
            "evaluation/initial_state/PlaceholderWithDefault_2": {"dtype": "float32", "shape": [-1, 128],
                                                                   "role": "layer 2 c"},
            "evaluation/initial_state/PlaceholderWithDefault_3": {"dtype": "float32", "shape": [-1, 128],
                                                                   "role": "layer 2 h"},
        },
        "feeds": {"training/inputs:0": _ids(65, [20, 10]), "evaluation/inputs:0": _ids(65, [1, 1]),
                  **{f"evaluation/initial_state/PlaceholderWithDefault{s}:0": _normal([1, 128])
                     for s in ("", "_1", "_2", "_3")}},
        "outputs": ["training/softmax/add:0", "evaluation/softmax/Softmax:0"],
        "output_shapes": {"training/softmax/add:0": [200, 65], "evaluation/softmax/Softmax:0": [1, 65]},
        "forget_bias": {"rnn/multi_rnn_cell/cell_0/basic_lstm_cell": 0.0,
                        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell": 0.0},
        "imports_under_tf221": True,
        "notes": "forget_bias is 0.0 (the project sets params['forget_bias'] = 0.0): the graph constants "
                 "basic_lstm_cell/add*/y are 0.0 in every unrolled step of the three subgraphs; folding the default "
                 "1.0 gives wrong logits. The evaluation subgraph's default initial state has batch 20 (a bug of "
                 "the project: feeding evaluation/inputs alone fails with 'ConcatOp : Dimension 0 ... [1,65] vs. "
                 "[20,128]'), so the four state placeholders are fed ([1, 128] each). training/softmax/add:0 are "
                 "the logits [20 * 10, 65].",
    },
    # ---- wider corpus (session 3, helper H): more real checkpoints from licensed repositories. The TF 1.9-1.15
    # checkpoints found in the mirrors (RuYunW/TGE_seq2seq 1.14, wavewangyue/tensorflow_seq2seq 1.11,
    # viral98/seq2seq-anomaly-detection 1.9, ...) have no licence file and are left out.
    {
        "name": "udacity_seq2seq_contrib_tf11_td",
        "fixture": False,
        "repo": "thomasdunlap/deep-learning",
        "commit": "c959331efd0b10b2404fd9e9117f228f299ea415",
        "licence": UDACITY_MIT,
        "prefix": "best_model.ckpt",
        "files": {
            "best_model.ckpt.data-00000-of-00001": "seq2seq/best_model.ckpt.data-00000-of-00001",
            "best_model.ckpt.index": "seq2seq/best_model.ckpt.index",
            "best_model.ckpt.meta": "seq2seq/best_model.ckpt.meta",
            "checkpoint": "seq2seq/checkpoint",
        },
        "tf_version": "1.1.0",
        "model": "Letter-sorting seq2seq (Udacity 'sequence_to_sequence_implementation') trained by another "
                 "student (2018-05): the graph of udacity_seq2seq_contrib_tf11, its own weights.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "pre-1.2 weights/biases names", "embed_sequence",
                       "embedding named Variable", "contrib.seq2seq.BasicDecoder", "TrainingHelper",
                       "GreedyEmbeddingHelper", "dynamic_decode", "output_layer Dense (scope dense)",
                       "placeholders with empty (unknown) shapes"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "targets": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "learning_rate": {"dtype": "float32", "shape": "unknown"},
            "target_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
            "source_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
        },
        "feeds": {"input:0": _ids(30, [128, 7], low=4), "targets:0": _ids(30, [128, 7], low=4),
                  "source_sequence_length:0": _full(7, [128]), "target_sequence_length:0": _full(7, [128])},
        "outputs": ["logits:0", "predictions:0"],
        "output_shapes": {"logits:0": [128, 7, 30], "predictions:0": [128, 7]},
        "forget_bias": {f"{s}/multi_rnn_cell/cell_{i}/lstm_cell": 1.0 for s in ("rnn", "decode/decoder") for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 128 baked into the graph. Same architecture as udacity_seq2seq_contrib_tf11 (another "
                 "student's run of the course notebook): a second sample of the TF 1.1 contrib.seq2seq API.",
    },
    {
        "name": "udacity_seq2seq_contrib_tf11_vo",
        "fixture": False,
        "repo": "volterr/deep-learning",
        "commit": "4b07d6cf8fc3075ca3dbaa9efb260bfc4f081825",
        "licence": UDACITY_MIT,
        "prefix": "best_model.ckpt",
        "files": {
            "best_model.ckpt.data-00000-of-00001": "seq2seq/best_model.ckpt.data-00000-of-00001",
            "best_model.ckpt.index": "seq2seq/best_model.ckpt.index",
            "best_model.ckpt.meta": "seq2seq/best_model.ckpt.meta",
            "checkpoint": "seq2seq/checkpoint",
        },
        "tf_version": "1.1.0",
        "model": "Letter-sorting seq2seq (Udacity 'sequence_to_sequence_implementation') trained by another "
                 "student (2018-11): the graph of udacity_seq2seq_contrib_tf11, its own weights.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "pre-1.2 weights/biases names", "embed_sequence",
                       "embedding named Variable", "contrib.seq2seq.BasicDecoder", "TrainingHelper",
                       "GreedyEmbeddingHelper", "dynamic_decode", "output_layer Dense (scope dense)",
                       "placeholders with empty (unknown) shapes"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "targets": {"dtype": "int32", "shape": "unknown ([batch, time])"},
            "learning_rate": {"dtype": "float32", "shape": "unknown"},
            "target_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
            "source_sequence_length": {"dtype": "int32", "shape": "unknown ([batch])"},
        },
        "feeds": {"input:0": _ids(30, [128, 7], low=4), "targets:0": _ids(30, [128, 7], low=4),
                  "source_sequence_length:0": _full(7, [128]), "target_sequence_length:0": _full(7, [128])},
        "outputs": ["logits:0", "predictions:0"],
        "output_shapes": {"logits:0": [128, 7, 30], "predictions:0": [128, 7]},
        "forget_bias": {f"{s}/multi_rnn_cell/cell_{i}/lstm_cell": 1.0 for s in ("rnn", "decode/decoder") for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 128 baked into the graph; as udacity_seq2seq_contrib_tf11_td.",
    },
    {
        "name": "ptrnet_lstm_bahdanau_tf16_b",
        "fixture": False,
        "repo": "yujiakimoto/ptr-net",
        "commit": "64e243ee7b0eaed72abf86337ada75d3b893bdc1",
        "licence": "MIT (LICENSE: 'Copyright (c) 2018 Yuji Akimoto')",
        "prefix": "model.ckpt",
        "files": {
            "model.ckpt.data-00000-of-00001": "models/20180328251/model.ckpt.data-00000-of-00001",
            "model.ckpt.index": "models/20180328251/model.ckpt.index",
            "model.ckpt.meta": "models/20180328251/model.ckpt.meta",
        },
        "tf_version": "1.6.0",
        "model": "Pointer network, a later training run (models/20180328251) of the graph of "
                 "ptrnet_lstm_bahdanau_tf16: encoder 2 x LSTMCell(25), AttentionWrapper(3 x LSTMCell(50), "
                 "BahdanauAttention(1), attention_layer_size 30, alignment_history), TrainingHelper over one step.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "embedding named word_matrix",
                       "contrib.seq2seq.AttentionWrapper", "BahdanauAttention", "attention_layer",
                       "alignment_history", "memory_sequence_length", "BasicDecoder", "TrainingHelper",
                       "dynamic_decode"],
        "placeholders": {
            "inputs/inputs": {"dtype": "int32", "shape": [100, 45]},
            "inputs/input_lengths": {"dtype": "int32", "shape": [100]},
            "outputs/outputs": {"dtype": "int32", "shape": [100, 1]},
        },
        "feeds": {"inputs/inputs:0": _ids(29, [100, 45]), "inputs/input_lengths:0": _full(45, [100]),
                  "outputs/outputs:0": _ids(45, [100, 1])},
        "outputs": ["pointers/Reshape:0", "pointers/ArgMax:0"],
        "output_shapes": {"pointers/Reshape:0": [1, 100, 45], "pointers/ArgMax:0": [1, 100]},
        "forget_bias": {"encoder/rnn/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "encoder/rnn/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_2/lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "Same .meta size and feeds as ptrnet_lstm_bahdanau_tf16 (025d29c0), different weights.",
    },
    {
        "name": "ptrnet_lstm_bahdanau_tf15",
        "fixture": False,
        "repo": "yujiakimoto/ptr-net",
        "commit": "655b7b37febd126f96f40b3cc50332c6ea5b7bd8",
        "licence": "MIT (LICENSE: 'Copyright (c) 2018 Yuji Akimoto')",
        "prefix": "model.ckpt",
        "files": {
            "model.ckpt.data-00000-of-00001": "model/201803280233/model.ckpt.data-00000-of-00001",
            "model.ckpt.index": "model/201803280233/model.ckpt.index",
            "model.ckpt.meta": "model/201803280233/model.ckpt.meta",
        },
        "tf_version": "1.5.0",
        "model": "Pointer network (LSTM variant) written by TF 1.5 (model/201803280233): encoder 2 x LSTMCell(25), "
                 "AttentionWrapper(3 x LSTMCell(50), BahdanauAttention, alignment_history), TrainingHelper over "
                 "one step; the pointer is the alignment history.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "LSTMCell", "embedding named word_matrix",
                       "contrib.seq2seq.AttentionWrapper", "BahdanauAttention", "alignment_history",
                       "memory_sequence_length", "BasicDecoder", "TrainingHelper", "dynamic_decode"],
        "placeholders": {
            "inputs/inputs": {"dtype": "int32", "shape": [100, 45]},
            "inputs/input_lengths": {"dtype": "int32", "shape": [100]},
            "outputs/outputs": {"dtype": "int32", "shape": [100, 1]},
        },
        "feeds": {"inputs/inputs:0": _ids(29, [100, 45]), "inputs/input_lengths:0": _full(45, [100]),
                  "outputs/outputs:0": _ids(45, [100, 1])},
        "outputs": ["pointers/Reshape:0", "pointers/ArgMax:0"],
        "output_shapes": {"pointers/Reshape:0": [1, 100, 45], "pointers/ArgMax:0": [1, 100]},
        "forget_bias": {"encoder/rnn/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "encoder/rnn/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_0/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_1/lstm_cell": 1.0,
                        "decoder/decoder/attention_wrapper/multi_rnn_cell/cell_2/lstm_cell": 1.0},
        "imports_under_tf221": True,
        "notes": "TF 1.5 build of the LSTM pointer network (the GRU one, ptrnet_gru_bahdanau_tf15, is a day later).",
    },
    # -- session 4: more real checkpoints, TF 0.11 to 1.15 (each verified with --verify) ---------------------------
    {
        "name": "sherjil_charrnn_v1_tf011",
        "fixture": False,
        "repo": "hpssjellis/char-rnn-tensorflow",
        "commit": "db572859468b0f96c5c9eb805ba2194271b93726",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save-new4", 1200, 53, seq=12, v1=True),
        "tf_version": "0.11/0.12 (V1 checkpoint; the .meta has no tensorflow_version, GraphDef producer 10)",
        "model": "Character language model (sherjilozair/char-rnn-tensorflow as of late 2016): embedding "
                 "rnnlm/embedding [53,128] -> legacy_seq2seq.rnn_decoder (12 unrolled steps) over MultiRNNCell of "
                 "2 x BasicLSTMCell(128) with pre-1.0 names (MultiRNNCell/Cell0/BasicLSTMCell/Linear/Matrix) -> "
                 "softmax_w/softmax_b logits over 53 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "BasicLSTMCell",
                       "pre-1.0 Linear/Matrix names", "V1 checkpoint (no .index)", "zero_state initial state",
                       "Adam slots"],
        "forget_bias": {f"rnnlm/MultiRNNCell/Cell{i}/BasicLSTMCell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Trained on the author's own music-notation text (save-new4); the same repository holds V1 "
                 "checkpoints of 50-step models (save-3d, save-abc). Batch and length are fixed (50 x 12).",
    },
    {
        "name": "sherjil_charrnn_tf012",
        "fixture": False,
        "repo": "calebfoss/char-rnn-tensorflow",
        "commit": "e872d1036399b6304264b6ee64ee6c8bd7556940",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save", 46499, 67, batch=5),
        "tf_version": "0.12.1",
        "model": "Character language model (sherjilozair/char-rnn-tensorflow, tinyshakespeare-like data, 67 "
                 "characters): rnnlm/embedding [67,128] -> legacy_seq2seq.rnn_decoder (50 steps) over 2 x "
                 "BasicLSTMCell(128), pre-1.0 Linear/Matrix names -> logits over 67 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "BasicLSTMCell",
                       "pre-1.0 Linear/Matrix names", "V2 checkpoint written by TF 0.12", "Adam slots"],
        "forget_bias": {f"rnnlm/MultiRNNCell/Cell{i}/BasicLSTMCell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 5 x 50 steps, fixed in the graph.",
    },
    {
        "name": "sherjil_charrnn_tf10",
        "fixture": False,
        "repo": "821760408-sp/char-rnn-tensorflow",
        "commit": "e428456478714b476ba9232a6f564e36a480f418",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save", 67949, 148),
        "tf_version": "1.0.0",
        "model": "Character language model (sherjilozair/char-rnn-tensorflow of TF 1.0, 148 characters): "
                 "rnnlm/embedding [148,128] -> legacy_seq2seq.rnn_decoder (50 steps) over MultiRNNCell([cell] * 2) "
                 "of BasicLSTMCell(128) (weights/biases names) -> logits over 148 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "BasicLSTMCell",
                       "pre-1.2 weights/biases names", "Adam slots"],
        "forget_bias": {f"rnnlm/multi_rnn_cell/cell_{i}/basic_lstm_cell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 50 x 50 steps, fixed in the graph.",
    },
    {
        "name": "sherjil_charrnn_tf11",
        "fixture": False,
        "repo": "JDonnelly1/char-rnn-tensorflow-master",
        "commit": "c8c6a3a808dfc4e24a4701a93655cb38bb1c5261",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save", 14000, 97),
        "tf_version": "1.1.0",
        "model": "Character language model (sherjilozair/char-rnn-tensorflow, Sherlock Holmes text, 97 characters): "
                 "embedding [97,128] -> legacy_seq2seq.rnn_decoder (50 steps) over 2 x BasicLSTMCell(128) "
                 "(weights/biases names), input/output keep probabilities 1.0 -> logits over 97 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "BasicLSTMCell",
                       "pre-1.2 weights/biases names", "Adam slots"],
        "forget_bias": {f"rnnlm/multi_rnn_cell/cell_{i}/basic_lstm_cell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 50 x 50 steps, fixed in the graph.",
    },
    {
        "name": "charrnn_binarized_lstm_tf12",
        "fixture": False,
        "repo": "jianhuafan/char-rnn-tensorflow",
        "commit": "7c7aba386fa5a5f40ab0ca1982b3834fa4c4b618",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save_bit_32", 1000, 50),
        "tf_version": "1.2.0",
        "model": "Character language model on PTB characters with the author's own quantised cell (cirRnnCell."
                 "QuantizedBasicLSTMCell, a BasicLSTMCell subclass, quant='binary'): binarised embedding output "
                 "and softmax_w, 2 x QuantizedBasicLSTMCell(128) in legacy_seq2seq.rnn_decoder (50 steps), logits "
                 "over 50 characters.",
        "constructs": ["user-defined RNNCell subclass", "binarised weights (sign with a gradient override)",
                       "legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "Adam slots"],
        "imports_under_tf221": True,
        "notes": "The cell's kernel/bias live under quantized_basic_lstm_cell; no recogniser knows this cell. "
                 "Batch 50 x 50 steps, fixed in the graph.",
    },
    {
        "name": "sherjil_charrnn_tf14",
        "fixture": False,
        "repo": "supamonkey2000/char-rnn-personal",
        "commit": "6c9ad2152957715f47d139c26395913d2665f5b7",
        "licence": "MIT (LICENSE at the repository root: 'Copyright (c) 2017 Joshua Moore'; the code is "
                   "sherjilozair/char-rnn-tensorflow's, MIT)",
        **_sherjil_charrnn("save", 4199, 78),
        "tf_version": "1.4.0",
        "model": "Character language model (sherjilozair/char-rnn-tensorflow, company names, 78 characters): "
                 "embedding [78,128] -> legacy_seq2seq.rnn_decoder (50 steps) over 2 x BasicLSTMCell(128) "
                 "(kernel/bias names) -> logits over 78 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "BasicLSTMCell",
                       "kernel/bias names", "Adam slots"],
        "forget_bias": {f"rnnlm/multi_rnn_cell/cell_{i}/basic_lstm_cell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 50 x 50 steps, fixed in the graph.",
    },
    {
        "name": "sherjil_charrnn_lstmcell_tf18",
        "fixture": False,
        "repo": "techrajk/Char-RNN-based-Gita-Generator",
        "commit": "a8257bdd0727d445f0a318abdb7598a8d3a79c30",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save", 899, 82),
        "tf_version": "1.8.0",
        "model": "Character language model (sherjilozair/char-rnn-tensorflow with LSTMCell, Bhagavad Gita text, 82 "
                 "characters): embedding [82,128] -> legacy_seq2seq.rnn_decoder (50 steps) over 2 x "
                 "LSTMCell(128) -> logits over 82 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "LSTMCell", "Adam slots"],
        "forget_bias": {f"rnnlm/multi_rnn_cell/cell_{i}/lstm_cell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 50 x 50 steps, fixed in the graph.",
    },
    {
        "name": "sherjil_charrnn_lstmcell_tf115",
        "fixture": False,
        "repo": "laurajul/char-rnn-tensorflow",
        "commit": "770436794599f4ed788dd0bee88b6847a0b89e21",
        "licence": SHERJIL_MIT,
        **_sherjil_charrnn("save", 248399, 103),
        "tf_version": "1.15.0",
        "model": "Character language model written by TF 1.15 (sherjilozair/char-rnn-tensorflow with LSTMCell, "
                 "103 characters): embedding [103,128] -> tf.nn.dropout(keep 1.0) -> legacy_seq2seq.rnn_decoder "
                 "(50 steps) over 2 x LSTMCell(128) -> logits over 103 characters.",
        "constructs": ["legacy_seq2seq.rnn_decoder (static, unrolled)", "MultiRNNCell", "LSTMCell",
                       "tf.nn.dropout with a constant keep probability 1.0", "AddV2 (TF 1.15 ops)", "Adam slots"],
        "forget_bias": {f"rnnlm/multi_rnn_cell/cell_{i}/lstm_cell": 1.0 for i in range(2)},
        "imports_under_tf221": True,
        "notes": "Batch 50 x 50 steps, fixed in the graph. The saver's filename is a PlaceholderWithDefault "
                 "(save/Const), as TF 1.15 writes it.",
    },
    {
        "name": "udacity_tvscript_wordlm_tf11",
        "fixture": False,
        "repo": "sebasibarguen/udacity-deep-learning",
        "commit": "3934cc3a3b239cf610e094432b834e4e54cc66ec",
        "licence": UDACITY_MIT,
        "prefix": "save",
        "files": {
            "save.data-00000-of-00001": "tv-script-generation/save.data-00000-of-00001",
            "save.index": "tv-script-generation/save.index",
            "save.meta": "tv-script-generation/save.meta",
        },
        "tf_version": "1.1.0",
        "model": "Word-level language model (Udacity 'tv-script-generation', another student's code): embedding "
                 "a raw tf.Variable [6779,5] -> dynamic_rnn over 3 x BasicLSTMCell(5) with initial_state = "
                 "Identity(zero_state(batch)) and final_state Identity -> tf.layers.dense(6779) on the 3-D output "
                 "-> softmax 'probs'.",
        "constructs": ["dynamic_rnn", "MultiRNNCell", "BasicLSTMCell", "pre-1.2 weights/biases names",
                       "embedding named Variable", "tf.layers.dense on a 3-D tensor (Tensordot)",
                       "named initial_state / final_state", "Adam slots"],
        "placeholders": {
            "input": {"dtype": "int32", "shape": [-1, -1]},
            "targets": {"dtype": "int32", "shape": [-1, -1]},
            "lr": {"dtype": "float32", "shape": "unknown (training only)"},
        },
        "feeds": {"input:0": _ids(6779, [4, 10])},
        "outputs": ["probs:0", "final_state:0"],
        "output_shapes": {"probs:0": [40, 6779], "final_state:0": [3, 2, 4, 5]},
        "forget_bias": {f"rnn/multi_rnn_cell/cell_{i}/basic_lstm_cell": 1.0 for i in range(3)},
        "imports_under_tf221": True,
        "notes": "The checkpoint's sizes (LSTM 5, embedding 5) are not the notebook's final hyperparameters "
                 "(512, 10): it is the run the student committed. probs:0 is [batch * time, vocab]: TF 1.1's "
                 "tf.layers.dense reshapes a 3-D input to 2-D and the softmax is taken there.",
    },
    {
        "name": "udacity_gan_mnist_generator_tf11",
        "fixture": False,
        "repo": "czapol/Deep_Learning_Projects",
        "commit": "de19390b242c25adddf07465f6d34ee625519fc3",
        "licence": UDACITY_MIT,
        "prefix": "generator.ckpt",
        "files": {
            "generator.ckpt.data-00000-of-00001": "gan_mnist/checkpoints/generator.ckpt.data-00000-of-00001",
            "generator.ckpt.index": "gan_mnist/checkpoints/generator.ckpt.index",
            "generator.ckpt.meta": "gan_mnist/checkpoints/generator.ckpt.meta",
            "checkpoint": "gan_mnist/checkpoints/checkpoint",
        },
        "tf_version": "1.1.0",
        "model": "MNIST GAN (Udacity 'gan_mnist'): generator z [B,100] -> dense(128) -> leaky ReLU "
                 "(tf.maximum(alpha * h, h)) -> dense(784) -> tanh; the discriminator (dense + leaky ReLU + "
                 "sigmoid) is in the graph but its variables are not in this checkpoint (Saver(var_list=g_vars)).",
        "constructs": ["tf.layers.dense", "leaky ReLU as Maximum", "tanh output", "variable_scope reuse",
                       "graph holds ~100 generator copies built while sampling during training",
                       "checkpoint holds only the generator (discriminator variables absent)"],
        "placeholders": {
            "input_real": {"dtype": "float32", "shape": "[None, 784] (discriminator only)"},
            "input_z": {"dtype": "float32", "shape": "[None, 100]"},
        },
        "feeds": {"input_z:0": _normal([4, 100])},
        "outputs": ["generator/Tanh:0"],
        "output_shapes": {"generator/Tanh:0": [4, 784]},
        "imports_under_tf221": True,
        "notes": "The notebook samples by calling generator(input_z, reuse=True) again in the training graph: "
                 "generator_1 ... generator_N are copies sharing the variables; generator/Tanh:0 is the first.",
    },
    {
        "name": "udacity_cartpole_qnet_tf12",
        "fixture": False,
        "repo": "anoff/nd101",
        "commit": "d06773d1eab54c88220340faf273bdb727a61bc6",
        "licence": UDACITY_MIT,
        "prefix": "cartpole.ckpt",
        "files": {
            "cartpole.ckpt.data-00000-of-00001": "reinforcement/checkpoints/cartpole.ckpt.data-00000-of-00001",
            "cartpole.ckpt.index": "reinforcement/checkpoints/cartpole.ckpt.index",
            "cartpole.ckpt.meta": "reinforcement/checkpoints/cartpole.ckpt.meta",
        },
        "tf_version": "1.2.0",
        "model": "Deep Q-network for CartPole (Udacity 'reinforcement' Q-learning cart): state [B,4] -> "
                 "contrib.layers.fully_connected(64, relu) x 2 -> fully_connected(2) Q values, scope 'main'.",
        "constructs": ["tf.contrib.layers.fully_connected", "ReLU", "one_hot actions in the loss", "Adam slots"],
        "placeholders": {
            "main/inputs": {"dtype": "float32", "shape": [-1, 4]},
            "main/actions": {"dtype": "int32", "shape": [-1]},
            "main/target": {"dtype": "float32", "shape": [-1]},
        },
        "feeds": {"main/inputs:0": _normal([8, 4])},
        "outputs": ["main/fully_connected_2/BiasAdd:0"],
        "output_shapes": {"main/fully_connected_2/BiasAdd:0": [8, 2]},
        "imports_under_tf221": True,
        "notes": "The agent acts with argmax over main/fully_connected_2/BiasAdd:0 (the notebook's mainQN.output).",
    },
    {
        "name": "udacity_cartpole_qnet_tf10",
        "fixture": False,
        "repo": "kazzz24/deep-learning",
        "commit": "62a69e888a73c51a22b82cfbe7de4357e732f2f4",
        "licence": UDACITY_MIT,
        "prefix": "cartpole.ckpt",
        "files": {
            "cartpole.ckpt.data-00000-of-00001": "reinforcement/checkpoints/cartpole.ckpt.data-00000-of-00001",
            "cartpole.ckpt.index": "reinforcement/checkpoints/cartpole.ckpt.index",
            "cartpole.ckpt.meta": "reinforcement/checkpoints/cartpole.ckpt.meta",
        },
        "tf_version": "1.0.0",
        "model": "Deep Q-network (Udacity 'reinforcement' notebook), another student's run under TF 1.0 with a "
                 "2-wide state: state [B,2] -> fully_connected(64, relu) x 2 -> fully_connected(2) Q values, "
                 "scope 'main'.",
        "constructs": ["tf.contrib.layers.fully_connected", "ReLU", "Adam slots"],
        "placeholders": {
            "main/inputs": {"dtype": "float32", "shape": [-1, 2]},
            "main/actions": {"dtype": "int32", "shape": [-1]},
            "main/target": {"dtype": "float32", "shape": [-1]},
        },
        "feeds": {"main/inputs:0": _normal([8, 2])},
        "outputs": ["main/fully_connected_2/BiasAdd:0"],
        "output_shapes": {"main/fully_connected_2/BiasAdd:0": [8, 2]},
        "imports_under_tf221": True,
        "notes": "The committed checkpoint was trained with state_size 2 (main/fully_connected/weights [2, 64]), "
                 "not the notebook's CartPole default of 4.",
    },
]


TF2ONNX_APACHE = ("Apache-2.0 (LICENSE at the repository root of onnx/tensorflow-onnx; the models are the project's "
                  "own test models, written by its TF1 scripts)")

# Other forms a TF1 model ships in (issue 24): TF1 SavedModels (`saved_model.pb` + `variables/`, written by
# `SavedModelBuilder` / `simple_save` / `Estimator.export_savedmodel`) and frozen GraphDefs (variables folded into
# constants by `convert_variables_to_constants` / `freeze_graph`). Each is what a public project's own code wrote and
# committed under a permissive licence. `form` says which; `path` is the local file or folder to hand to
# `tf-migrate inspect / convert` (the SavedModel folder, or the `.pb`); `signature` (SavedModels) the serving
# signature's key, its inputs and outputs as `saved_model_cli show` prints them; `inputs` / `outputs` (frozen
# graphs) the placeholders and the result tensors. `feeds` and `output_shapes` are checked by `--verify`, which
# loads each under TF 2.21 (`tf.saved_model.load(...).signatures[KEY]`, or `tf.graph_util.import_graph_def` and a
# `tf.compat.v1.Session`). Written to DIR/forms_manifest.json (corpus_manifest.json keeps the checkpoints only).
# `needs_full_clone`: the file is larger than the snapshot mirrors carry (4 MiB); a plain `git clone` mirror has it;
# without it the entry is skipped, named.
PACKT_MIT = ("MIT (LICENSE at the repository root: 'Copyright (c) 2018 Packt'; the models are the book's own, "
             "written by its chapter 8 scripts)")
KWS_APACHE = ("Apache-2.0 (LICENSE at the repository root of ARM-software/ML-KWS-for-MCU; the models are its own "
              "Pretrained_models, trained and frozen by its train.py / freeze.py)")
TEMPERATURES_DIR = "tensorflow-rnn-tutorial/old-school-tensorflow/tutorial/temperatures_best_checkpoint"

FORMS: list[dict] = [
    {
        "name": "charrnn_receipts_frozen",
        "form": "frozen_graph",
        "repo": "zaneoliver6/char-rnn-lstm-receipts",
        "commit": "f2a54a6eacae50209c47d1ac5246cfc616b53b11",
        "licence": "MIT (LICENSE.md at the repository root: 'Copyright (c) 2015 Sherjil Ozair', the licence of "
                   "sherjilozair/char-rnn-tensorflow, which the repository copies)",
        "sha256": {"frozen_model.pb": "a4f763226039cd9a2cee7801d0420c887fb7f117c6f11eca8915e816cf1d90e4"},
        "files": {"frozen_model.pb": "frozen_model.pb"},
        "path": "frozen_model.pb",
        "tf_version": "1.2 (2017-07; GraphDef producer of TF 1.2)",
        "model": "Character-level language model of receipt text (sherjilozair/char-rnn-tensorflow's Model, sampling "
                 "graph): embedding -> legacy_seq2seq.rnn_decoder over 2 x BasicLSTMCell (10 unrolled steps, scope "
                 "rnnlm) -> softmax 'probs' over 57 characters; frozen with convert_variables_to_constants.",
        "constructs": ["static rnn_decoder (unrolled)", "MultiRNNCell", "BasicLSTMCell", "embedding (Gather)",
                       "frozen: variables as Const"],
        "inputs": {"input_data:0": {"dtype": "int32", "shape": [10, 10]}},
        "feeds": {"input_data:0": {"fill": "ids", "low": 0, "high": 57, "shape": [10, 10]}},
        "outputs": ["probs:0"],
        "output_shapes": {"probs:0": [100, 57]},
        "notes": "387 nodes: 21 MatMul, 60 Sigmoid, 40 Tanh (2 layers x 10 steps), no while loop. The repository also "
                 "holds rnn_optimized_model.pb (optimize_for_inference of the same graph) and *_mobile.pb variants.",
    },
    {
        "name": "tf2onnx_lstm_frozen",
        "form": "frozen_graph",
        "fixture": True,
        "repo": "onnx/tensorflow-onnx",
        "commit": "6537fcb2ee9868f7446a278dc1473915cdec5d45",
        "licence": TF2ONNX_APACHE,
        "sha256": {"frozen.pb": "7adf4bdf940928d409cf5a7ce492bc25cd2cf52a11d042fead030ab0c99be8f9"},
        "files": {"frozen.pb": "tests/models/lstm/frozen.pb"},
        "path": "frozen.pb",
        "tf_version": "1.x (2018-03, tf2onnx's first test models; GraphDef producer 0)",
        "model": "MNIST rows as a sequence: X [?, 784] -> reshape [?, 28, 28] -> static_rnn over 28 steps of "
                 "2 x BasicLSTMCell in MultiRNNCell with DropoutWrapper(keep_prob) -> dense 'output'; frozen.",
        "constructs": ["static_rnn (unrolled)", "MultiRNNCell", "BasicLSTMCell", "DropoutWrapper keep_prob placeholder",
                       "frozen: variables as Const"],
        "inputs": {"X:0": {"dtype": "float32", "shape": [-1, 784]}, "keep_prob:0": {"dtype": "float32", "shape": []}},
        "feeds": {"X:0": {"fill": "normal", "shape": [2, 784]}, "keep_prob:0": 1.0},
        "outputs": ["output:0"],
        "output_shapes": {"output:0": [2, 10]},
        "notes": "tf2onnx's README converts it with `--graphdef frozen.pb --inputs X:0,keep_prob:0 --outputs output:0`.",
    },
    {
        "name": "tf2onnx_gru_frozen",
        "form": "frozen_graph",
        "repo": "onnx/tensorflow-onnx",
        "commit": "6537fcb2ee9868f7446a278dc1473915cdec5d45",
        "licence": TF2ONNX_APACHE,
        "sha256": {"frozen.pb": "0983b6b1c0e641482e4b8d310dbd9a292bcf937b20c7e703b85620062266558c"},
        "files": {"frozen.pb": "tests/models/gru/frozen.pb"},
        "path": "frozen.pb",
        "tf_version": "1.x (2018-03; GraphDef producer 0)",
        "model": "The same MNIST-rows model with 2 x GRUCell: static_rnn over 28 steps, dropout keep_prob, dense "
                 "'output'; frozen.",
        "constructs": ["static_rnn (unrolled)", "MultiRNNCell", "GRUCell", "DropoutWrapper keep_prob placeholder",
                       "frozen: variables as Const"],
        "inputs": {"X:0": {"dtype": "float32", "shape": None}, "keep_prob:0": {"dtype": "float32", "shape": None}},
        "feeds": {"X:0": {"fill": "normal", "shape": [2, 784]}, "keep_prob:0": 1.0},
        "outputs": ["output:0"],
        "output_shapes": {"output:0": [2, 10]},
        "notes": "Its placeholders carry no shape (unknown rank): a converter needs an example input for X.",
    },
    {
        "name": "har_lstm_frozen",
        "form": "frozen_graph",
        "repo": "NJIT-ECE-Final-Project/LSTM-Human-Activity-Recognition",
        "commit": "ecc2b331ee3c2e79392790823b6724ccae473c4d",
        "licence": "MIT (LICENSE at the repository root: 'Copyright (c) 2016 Guillaume Chevalier', the licence of "
                   "guillaume-chevalier/LSTM-Human-Activity-Recognition, which the repository forks)",
        "sha256": {"frozen_har.pb": "1d54047e50a3464baec7480279b0383b5e1758770b93211dc84815ad6c6731ec"},
        "files": {"frozen_har.pb": "frozen_har.pb"},
        "path": "frozen_har.pb",
        "tf_version": "1.x (2017-08; GraphDef producer 0; frozen by the repository's FreezeGraph.py)",
        "model": "Human activity recognition from smartphone sensors (UCI HAR): X [?, 128, 9] -> ReLU dense -> "
                 "static_rnn over 128 steps of 2 x BasicLSTMCell(32) in MultiRNNCell -> dense logits 'y_' over 6 "
                 "activities; frozen.",
        "constructs": ["static_rnn (unrolled, 128 steps)", "MultiRNNCell", "BasicLSTMCell", "frozen: variables as Const"],
        "inputs": {"X:0": {"dtype": "float32", "shape": [-1, 128, 9]}},
        "feeds": {"X:0": {"fill": "normal", "shape": [2, 128, 9]}},
        "outputs": ["y_:0"],
        "output_shapes": {"y_:0": [2, 6]},
        "notes": "4414 nodes (256 cell steps: 258 MatMul, 768 Sigmoid); the largest unrolled graph of the forms.",
    },
    {
        "name": "stock_rnn_frozen",
        "form": "frozen_graph",
        "repo": "PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow",
        "commit": "27942728b3e14045c7483f0ac4fceedd56b88e90",
        "licence": PACKT_MIT,
        "sha256": {"amzn_tf_frozen.pb": "8b7c96698befd5b44bfc637047f7f6c980ce611a92297939ac7ebfb7fe9339e3"},
        "files": {"amzn_tf_frozen.pb": "ch8/python/tf/model/amzn_tf_frozen.pb"},
        "path": "amzn_tf_frozen.pb",
        "tf_version": "1.x (committed 2018-05; GraphDef producer 0)",
        "model": "Stock-price predictor of the book's chapter 8 (ch8/python/tf/train.py): 20 daily prices [?, 20, 1] -> "
                 "dynamic_rnn of OutputProjectionWrapper(BasicRNNCell(100, relu), 1) -> reshape 'preds' [1, 20] (the "
                 "next price at every step); frozen for the book's iOS app.",
        "constructs": ["dynamic_rnn (while loop)", "BasicRNNCell (relu activation)", "OutputProjectionWrapper",
                       "frozen: variables as Const"],
        "inputs": {"Placeholder:0": {"dtype": "float32", "shape": [-1, 20, 1]}},
        "feeds": {"Placeholder:0": {"fill": "normal", "shape": [1, 20, 1]}},
        "outputs": ["preds:0"],
        "output_shapes": {"preds:0": [1, 20]},
        "notes": "98 nodes. 'preds' reshapes to a fixed [1, 20]: the batch must be 1 although the placeholder says "
                 "None. The checkpoint and .meta it was frozen from are beside it (ch8/python/tf/model/). Converts "
                 "with `--inputs FEED.npz` (Placeholder:0 of batch 1; 'preds', the graph's one unconsumed result, is "
                 "chosen as the output), served back with `--export-saved-model` checked on that batch.",
    },
    {
        "name": "stock_bilstm_keras_frozen",
        "form": "frozen_graph",
        "repo": "PacktPublishing/Intelligent-Mobile-Projects-with-TensorFlow",
        "commit": "27942728b3e14045c7483f0ac4fceedd56b88e90",
        "licence": PACKT_MIT,
        "sha256": {"amzn_keras_frozen.pb": "6cc4d13464b5c60c9589f0279a7b3955eb66ba81f95859f65e45eb105c4cb166"},
        "files": {"amzn_keras_frozen.pb": "ch8/python/keras/ckpt/amzn_keras_frozen.pb"},
        "path": "amzn_keras_frozen.pb",
        "tf_version": "1.x with standalone Keras 2 on the TF backend (committed 2018-05; GraphDef producer 0)",
        "model": "Stock-price predictor of the book's chapter 8 (ch8/python/keras/train.py): [?, 20, 1] -> "
                 "Bidirectional(LSTM(100, return_sequences)) -> Dropout -> LSTM(100, return_sequences) -> Dropout -> "
                 "LSTM(100) -> Dropout -> Dense(1) -> linear Activation 'activation_1'; frozen for the book's Android "
                 "app.",
        "constructs": ["Keras LSTM (graph mode: while loops)", "Keras Bidirectional (ReverseV2)", "stacked LSTM",
                       "Keras Dropout with keras_learning_phase (PlaceholderWithDefault)", "frozen: variables as Const"],
        "inputs": {"bidirectional_1_input:0": {"dtype": "float32", "shape": [-1, 20, 1]}},
        "feeds": {"bidirectional_1_input:0": {"fill": "normal", "shape": [2, 20, 1]}},
        "outputs": ["activation_1/Identity:0"],
        "output_shapes": {"activation_1/Identity:0": [2, 1]},
        "notes": "785 nodes, 4 while loops (the two directions of the bidirectional layer and two stacked LSTMs); "
                 "TF1 Keras's own LSTM lowering (Keras backend rnn: TensorArrays, clip_by_value of the "
                 "hard_sigmoid), not tf.nn.rnn_cell. The learning phase defaults to False: dropout is off at serving. "
                 "Converts as it is: activation_1/Identity:0 is chosen (the one unconsumed result); the LSTM kernels, "
                 "sliced per gate before the loops, become trainable weights; the 4 loops are recognised "
                 "(constructs/keras2_rnn.py) as tfm.LSTM(100, recurrent_activation='keras2_hard_sigmoid') layers "
                 "named after the Keras 2 layers, the backward one go_backwards=True, the merge op by op.",
    },
    *[{
        "name": f"kws_{key}_frozen",
        "form": "frozen_graph",
        "repo": "ARM-software/ML-KWS-for-MCU",
        "commit": "8151349b110f4d1c194c085fcc5b3535bdf7ce4a",
        "licence": KWS_APACHE,
        "sha256": {f"{stem}.pb": digest},
        "files": {f"{stem}.pb": f"Pretrained_models/{folder}/{stem}.pb"},
        "path": f"{stem}.pb",
        "tf_version": "1.x (committed 2017-12; GraphDef producer 0; frozen by the repository's freeze.py)",
        "model": "Keyword spotting on the Speech Commands set (12 classes): wav_data (a WAV file's bytes) -> DecodeWav "
                 f"-> AudioSpectrogram -> Mfcc [1, {steps}, 10] -> {body} -> Softmax 'labels_softmax'.",
        "constructs": ["dynamic_rnn (while loop)", *constructs, "audio front-end (DecodeWav, AudioSpectrogram, Mfcc)",
                       "frozen: variables as Const"],
        "inputs": {"wav_data:0": {"dtype": "string", "shape": []},   # the placeholder; the feed below is past it
                   "Mfcc:0": {"dtype": "float32", "shape": [1, steps, 10]}},
        "feeds": {"Mfcc:0": {"fill": "normal", "shape": [1, steps, 10]}},
        "outputs": ["labels_softmax:0"],
        "output_shapes": {"labels_softmax:0": [1, 12]},
        "notes": "The placeholder takes encoded WAV bytes; the recurrent model starts at Mfcc:0, fed directly (a "
                 "converter that cannot translate the audio ops starts there: `tf-migrate convert FILE --inputs FEED.npz` "
                 "with a key Mfcc:0 does). " + notes,
    } for key, folder, stem, digest, steps, body, constructs, notes in [
        ("basic_lstm", "Basic_LSTM", "Basic_LSTM_S", "666c8b5389392fdff61df5436cf3fed14c3eac798ce98539447177d7cf676ae5",
         49, "dynamic_rnn of BasicLSTMCell(118) (scope lstm) -> the last state's h -> dense W_o",
         ["BasicLSTMCell", "final state used"], "98 nodes; the repository's S size of models.py create_basic_lstm_model."),
        ("lstm", "LSTM", "LSTM_S", "363859f70794f49f61c55eed123ccdc3b35fedd7a8947456c2d483129843771e",
         25, "dynamic_rnn of LSTMCell(144, use_peepholes=True, num_proj=98) -> the last projected h -> dense W_o",
         ["LSTMCell use_peepholes", "LSTMCell num_proj (projection)", "final state used"],
         "117 nodes; peepholes and a projection layer: the LSTMCell variants tf2onnx and Keras lack a layer for."),
        ("gru", "GRU", "GRU_S", "f189c44c5f5b87f3841d490a85f508eae7491852e97fedaf668fe4c65e27b753",
         25, "dynamic_rnn of MultiRNNCell([GRUCell(154)]) -> the last state -> dense W_o",
         ["MultiRNNCell (one layer)", "GRUCell", "final state used"], "94 nodes."),
        ("crnn", "CRNN", "CRNN_S", "a70ceac825480f4c99962ebc334185fc7bd9e9b53ac87240ac98c83eafa14ba2",
         49, "Conv2D(48, 10x4, stride 2x2, VALID) + ReLU -> reshape to a sequence -> dynamic_rnn of MultiRNNCell of "
             "2 x GRUCell(60) -> the last state -> ReLU dense 84 -> dense 12",
         ["Conv2D", "MultiRNNCell", "GRUCell", "final state used"],
         "151 nodes; recurrent + convolutional (models.py create_crnn_model)."),
    ]],
    {
        "name": "cutkum_thai_gru_frozen",
        "form": "frozen_graph",
        "pypi": {"package": "cutkum", "version": "2.4", "archive": "cutkum-2.4.tar.gz",
                 "sha256": "0a274c0d7ca31269756a563526d8211deb0f8614fb49bba1fdf943bf688b1ba3"},
        "licence": "MIT (the sdist's PKG-INFO 'License: MIT' and setup.py license='MIT'; the sdist carries no "
                   "LICENSE file, its README points at the LICENSE of github.com/pucktada/cutkum)",
        "sha256": {"frozen_model.pb": "ad5f065d17ff07713ab450da9109c0cba6d06f17121804abeb81886bbed5e061"},
        "files": {"frozen_model.pb": "cutkum-2.4/cutkum/frozen_model.pb"},
        "path": "frozen_model.pb",
        "tf_version": "1.4+ (the package's requirement; sdist of 2018-02-22; frozen by its own freeze_graph.py)",
        "model": "Thai word segmentation, the model the PyPI package cutkum 2.4 ships and runs (ck_model.py): one-hot "
                 "characters, time-major [T, B, 80] -> dynamic_rnn of MultiRNNCell of DropoutWrapper(GRUCell) x 3 "
                 "(512, 256, 128) with sequence_length, its initial state fed packed in one placeholder fw_state "
                 "[1, B, 896] and sliced per layer -> tf.map_fn over time of fully_connected(5) -> softmax 'probs' "
                 "[T, B, 5] (the 5 word-boundary classes).",
        "constructs": ["dynamic_rnn (while loop, time-major)", "MultiRNNCell", "GRUCell", "DropoutWrapper keep_prob "
                       "placeholder", "sequence_length", "initial state from one packed placeholder",
                       "map_fn over time (a second while loop)", "frozen: variables as Const"],
        "inputs": {"placeholder/inputs:0": {"dtype": "float32", "shape": [-1, -1, 80]},
                   "placeholder/seq_lengths:0": {"dtype": "int32", "shape": [-1]},
                   "placeholder/fw_state:0": {"dtype": "float32", "shape": [1, -1, 896]},
                   "placeholder/keep_prob:0": {"dtype": "float32", "shape": None}},
        "feeds": {"placeholder/inputs:0": {"fill": "normal", "shape": [6, 2, 80]},
                  "placeholder/seq_lengths:0": {"fill": "full", "value": 6, "shape": [2]},
                  "placeholder/fw_state:0": {"fill": "normal", "shape": [1, 2, 896]},
                  "placeholder/keep_prob:0": 1.0},
        "outputs": ["probs:0"],
        "output_shapes": {"probs:0": [6, 2, 5]},
        "notes": "309 nodes (6.6 MB: the GRU kernels as constants), 2 while loops. From PyPI, not GitHub: the "
                 "package ships the frozen graph inside its sdist. fw_state's leading axis of 1 is the packed-state "
                 "axis, not the batch (the package feeds zeros [1, B, 896]; the feed here is random, so the initial "
                 "state is checked too). The config the package reads back is in constants of the graph (cell_type "
                 "'gru', cell_sizes [512 256 128], input_classes 80, label_classes 5).",
    },
    {
        "name": "addressnet_bigru_model_dir",
        "form": "model_dir",
        "pypi": {"package": "address-net", "version": "1.0", "archive": "address-net-1.0.tar.gz",
                 "sha256": "b0c0973c51073bd38f900d62620be7ecb67108ec201c3f9f0338232ba6a1e171"},
        "licence": "MIT (the sdist's PKG-INFO 'License: MIT' and setup.py license='MIT'; the sdist carries no LICENSE "
                   "file, its README points at github.com/jasonrig/address-net)",
        "sha256": {"checkpoint": "3b671fce9716cac6826f468520a733b896e934bec494f790869fcba9c2cc8b35",
                   "graph.pbtxt": "0fd26d2142603ad202182ad349a7093e72ce544f12069e0ca48b0a8b3a0d2f46",
                   "model.ckpt.data-00000-of-00001":
                       "31a6b03b8b28d84782bfcd2d925cf4d8759fcb1be9793d1ad280dd1315422645",
                   "model.ckpt.index": "f17c632c203d7c77b3b455846be46876c67452027bd02671d7eeada68e11a5c2",
                   "model.ckpt.meta": "469b0a4c31c8ca14918feb000c0aaa0a060f41e45ba590cbe80de8e07626d6c7"},
        "files": {name: "address-net-1.0/addressnet/pretrained/" + name for name in (
            "checkpoint", "graph.pbtxt", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta")},
        "path": ".",
        "tf_version": "1.12.0 (the .meta's tensorflow_version; sdist of 2018-12)",
        "model": "Australian address parsing, the model the PyPI package address-net 1.0 ships as its pretrained "
                 "Estimator model_dir (checkpoint, graph.pbtxt, model.ckpt.*): characters -> embedding [74, 8] -> "
                 "bidirectional_dynamic_rnn of MultiRNNCell of 3 x CudnnCompatibleGRUCell(128) with sequence_length "
                 "-> concatenated [B, T, 256] -> dense(22, elu) -> argmax per character (22 address-part classes). "
                 "The training graph of a 2-GPU MirroredStrategy (towers 0 and 1, NcclAllReduce, Adam).",
        "constructs": ["Estimator model_dir", "MirroredStrategy towers", "input pipeline "
                       "(ExperimentalFunctionBufferingResource, a tf.data prefetch to device)",
                       "bidirectional_dynamic_rnn", "MultiRNNCell", "CudnnCompatibleGRUCell", "sequence_length",
                       "DropoutWrapper (constant keep_prob)", "resource variables"],
        "starts": {"ExperimentalFunctionBufferingResourceGetNext:0": {"dtype": "int64", "shape": [-1, -1]},
                   "ExperimentalFunctionBufferingResourceGetNext:1": {"dtype": "int64", "shape": [-1]}},
        "feeds": {"ExperimentalFunctionBufferingResourceGetNext:0": {"fill": "ids", "low": 1, "high": 74,
                                                                     "shape": [2, 12]},
                  "ExperimentalFunctionBufferingResourceGetNext:1": {"fill": "full", "value": 12, "shape": [2]}},
        "outputs": ["dense/Elu:0", "ArgMax:0"],
        "output_shapes": {"dense/Elu:0": [2, 12, 22], "ArgMax:0": [2, 12]},
        "notes": "13,551 nodes; no placeholder: the model reads its inputs from "
                 "ExperimentalFunctionBufferingResourceGetNext (outputs 0: character ids, 1: lengths, 2: labels), "
                 "an op TF 2.21 no longer registers, so the whole .meta does not import. --verify cuts the graph at "
                 "the two input tensors (`starts`), imports what tower 0's outputs need and sets its 47 variables "
                 "from the checkpoint by name (run_model_dir). From PyPI, not GitHub.",
    },
    {
        "name": "tf2onnx_regression_saved_model",
        "form": "saved_model",
        "fixture": True,
        "repo": "onnx/tensorflow-onnx",
        "commit": "6537fcb2ee9868f7446a278dc1473915cdec5d45",
        "licence": TF2ONNX_APACHE,
        "sha256": {
            "saved_model.pb": "c07d41e7e59ce598bf542760c9df699e95247bc8527c02cde2d53c297dd8f6ab",
            "variables/variables.data-00000-of-00001": "0d56f9069f910e59604c8c2afd6f486575963271fa7f2185a56c1e3247a5b992",
            "variables/variables.index": "4bdfcc27207d4a9fb6e9c39d1097adfa875f204d2b6a70058bdb82efcb1e9369",
        },
        "files": {"saved_model.pb": "tests/models/regression/saved_model/saved_model.pb",
                  "variables/variables.data-00000-of-00001":
                      "tests/models/regression/saved_model/variables/variables.data-00000-of-00001",
                  "variables/variables.index": "tests/models/regression/saved_model/variables/variables.index"},
        "path": ".",
        "tf_version": "1.11.0",
        "model": "Linear regression pred = X * W + b (two scalar variables), written by SavedModelBuilder with a "
                 "predict signature; the same model as the checkpoint and the frozen graph beside it.",
        "constructs": ["SavedModelBuilder", "predict signature", "no recurrence"],
        "tag_set": ["serve"],
        "signature": {"key": "serving_default", "method_name": "tensorflow/serving/predict",
                      "inputs": {"X": {"tensor": "X:0", "dtype": "float32", "shape": None}},
                      "outputs": {"pred": {"tensor": "pred:0", "dtype": "float32", "shape": None}}},
        "feeds": {"X": {"fill": "normal", "shape": [4]}},
        "output_shapes": {"pred": [4]},
        "notes": "Not recurrent: the smallest real TF1 SavedModel, for the form itself (the signature's X has an "
                 "unknown rank).",
    },
    {
        "name": "tf2onnx_redundant_inputs_saved_model",
        "form": "saved_model",
        "repo": "onnx/tensorflow-onnx",
        "commit": "6537fcb2ee9868f7446a278dc1473915cdec5d45",
        "licence": TF2ONNX_APACHE,
        "sha256": {"saved_model.pb": "defa0f576576aae29dacc6bb9811cb6497f93d751f08eef84a52acdcdf0b3be7"},
        "files": {"saved_model.pb": "tests/models/saved_model_with_redundant_inputs/saved_model.pb"},
        "path": ".",
        "tf_version": "1.12.0",
        "model": "z = x + y with a third, unused placeholder (tf2onnx's test of a signature naming fewer inputs than "
                 "the graph has); no variables folder (none were saved).",
        "constructs": ["SavedModelBuilder", "predict signature", "no variables", "no recurrence"],
        "tag_set": ["serve"],
        "signature": {"key": "serving_default", "method_name": "tensorflow/serving/predict",
                      "inputs": {"x": {"tensor": "Placeholder:0", "dtype": "float32", "shape": [1, 10]},
                                 "y": {"tensor": "Placeholder_1:0", "dtype": "float32", "shape": [1, 10]}},
                      "outputs": {"z": {"tensor": "Add:0", "dtype": "float32", "shape": [1, 10]}}},
        "feeds": {"x": {"fill": "normal", "shape": [1, 10]}, "y": {"fill": "normal", "shape": [1, 10]}},
        "output_shapes": {"z": [1, 10]},
        "notes": "Signature keys (x, y, z) differ from the tensor names (Placeholder, Placeholder_1, Add): what a "
                 "client calls is the key.",
    },
    {
        "name": "chopstick_mlp_saved_model",
        "form": "saved_model",
        "repo": "kdubovikov/chopstick-serving",
        "commit": "4908cc62eda42935e8e9a6e34f89f0f12640adbf",
        "licence": "MIT (LICENSE at the repository root: 'Copyright (c) 2018 Kirill Dubovikov')",
        "sha256": {
            "saved_model.pb": "ed49cb1f1e7d0c76105c892a4be5cf236d0a799bebaf23ed9c74be171c52d53b",
            "variables/variables.data-00000-of-00001": "6f2b97e6911f4f38a4d45f7d49aa8f22a5c70be7b52c5d9ab4cf426c9a61c15d",
            "variables/variables.index": "b9818fc688769a48cd6e74bf34f8ea94c69e0561b63162a54b216aa84be6a1e6",
        },
        "files": {"saved_model.pb": "serving/1/saved_model.pb",
                  "variables/variables.data-00000-of-00001": "serving/1/variables/variables.data-00000-of-00001",
                  "variables/variables.index": "serving/1/variables/variables.index"},
        "path": ".",
        "tf_version": "1.3.0",
        "model": "Chopstick-length classifier for a TF Serving demo (tf_api/chopstick_classifier.py): a small MLP "
                 "over one float feature -> softmax over 3 classes, exported with SavedModelBuilder as "
                 "serving/1 (TF Serving's model_base/version layout).",
        "constructs": ["SavedModelBuilder", "predict signature", "MLP", "no recurrence"],
        "tag_set": ["serve"],
        "signature": {"key": "serving_default", "method_name": "tensorflow/serving/predict",
                      "inputs": {"chopstick_length": {"tensor": "Placeholder:0", "dtype": "float32",
                                                      "shape": [-1, 1]}},
                      "outputs": {"classes_prob": {"tensor": "Softmax:0", "dtype": "float32", "shape": [-1, 3]}}},
        "feeds": {"chopstick_length": {"fill": "normal", "shape": [5, 1]}},
        "output_shapes": {"classes_prob": [5, 3]},
        "notes": "Not recurrent. A TF Serving deployment as found in the wild: the version folder under serving/.",
    },
    {
        "name": "temperatures_gru_saved_model",
        "form": "saved_model",
        "repo": "GoogleCloudPlatform/tensorflow-without-a-phd",
        "commit": "0394811fa439c3d28eb33dd53ed5764f01da3f1b",
        "licence": "Apache-2.0 (LICENSE at the repository root of GoogleCloudPlatform/tensorflow-without-a-phd)",
        "sha256": {
            "saved_model.pb": "f37c7e5d9049a10c7ec4552672bf148fab67797982db1b78e2ce2bc81827730b",
            "variables/variables.data-00000-of-00001": "f0213dbd35dba3af7a462da43ef46eb51ade9adfae2587f1c21440ae423a1e11",
            "variables/variables.index": "8e327d4ad595983b0da87be06829a31d28f1c318c4ef86b5b5a172ea8734eb9e",
        },
        "files": {"saved_model.pb": TEMPERATURES_DIR + "/saved_model.pb",
                  "variables/variables.data-00000-of-00001":
                      TEMPERATURES_DIR + "/variables/variables.data-00000-of-00001",
                  "variables/variables.index": TEMPERATURES_DIR + "/variables/variables.index"},
        "path": ".",
        "tf_version": "1.6.0 (meta_info_def; committed 2019-03)",
        "model": "Weather-station temperature predictor of Google's 'TensorFlow without a PhD' RNN tutorial "
                 "(02_RNN_generator_temperatures_solution.ipynb): (Tmin, Tmax) sequences [?, ?, 2] -> dynamic_rnn "
                 "(while loop) over MultiRNNCell(state_is_tuple=False) of 2 x GRUCell(128, tanh) with DropoutWrapper "
                 "(output_keep_prob placeholder) from an explicit initial state Hin [?, 256] -> dense 2 on every step "
                 "-> the last 8 steps 'Yout'; the final state 'H' is an output too (stateful serving).",
        "constructs": ["dynamic_rnn (while loop)", "MultiRNNCell state_is_tuple=False", "GRUCell",
                       "DropoutWrapper keep_prob placeholder", "initial state fed", "final state as output",
                       "simple_save", "predict signature"],
        "tag_set": ["serve"],
        "signature": {"key": "serving_default", "method_name": "tensorflow/serving/predict",
                      "inputs": {"features": {"tensor": "Placeholder_1:0", "dtype": "float32", "shape": [-1, -1, 2]},
                                 "Hin": {"tensor": "Placeholder:0", "dtype": "float32", "shape": [-1, 256]},
                                 "dropout_pkeep": {"tensor": "Placeholder_4:0", "dtype": "float32", "shape": None}},
                      "outputs": {"Yout": {"tensor": "strided_slice_3:0", "dtype": "float32", "shape": [-1, -1, 2]},
                                  "H": {"tensor": "rnn/while/Exit_3:0", "dtype": "float32", "shape": [-1, 256]}}},
        "feeds": {"features": {"fill": "normal", "shape": [3, 16, 2]}, "Hin": {"fill": "normal", "shape": [3, 256]},
                  "dropout_pkeep": 1.0},
        "output_shapes": {"Yout": [3, 8, 2], "H": [3, 256]},
        "notes": "1435 nodes, one while loop (rnn/while) holding both GRU layers; the variables file also holds the "
                 "Adam slots (the training graph's Saver). The signature's dropout_pkeep has an unknown rank (a "
                 "scalar placeholder without a shape); 1.0 at serving: `tf-migrate convert DIR --out OUT --feed "
                 "Placeholder_4:0=1.0` (without the --feed it exits 2 asking for its shape).",
    },
    {
        "name": "sertis_thai_bigru_saved_model",
        "form": "saved_model",
        "repo": "sertiscorp/thai-word-segmentation",
        "commit": "121d249d50d5d9a057191c592dc62439605d189b",
        "licence": "MIT (LICENSE at the repository root at this commit: 'Copyright (c) 2019 Sertis, Co., Ltd.'; the "
                   "repository was GPLv3 until this commit, 'Switched license to MIT', which left the model's bytes "
                   "as committed on 2018-06-01 in 1a45456)",
        "sha256": {
            "saved_model.pb": "b7ac948b730f5b71f4471e2b52b9fe51c08acb055135f19e96166d25e07a90e3",
            "variables/variables.data-00000-of-00001": "9099e426da2bb6aa26c02e096681b21de4e5e1aedf6dcdfc3f5bd4215b0f8997",
            "variables/variables.index": "01c3e52a25a0928c93abab4cf67697b9d42cc3085a0f093fc81580ef6640e0c5",
        },
        "files": {"saved_model.pb": "saved_model/saved_model.pb",
                  "variables/variables.data-00000-of-00001": "saved_model/variables/variables.data-00000-of-00001",
                  "variables/variables.index": "saved_model/variables/variables.index"},
        "path": ".",
        "tf_version": "1.4.0-rc0 (meta_info_def; committed 2018-06)",
        "model": "Sertis' Thai word segmenter (thainlplib/model.py, exported by its save_model with SavedModelBuilder "
                 "and a predict signature): character ids [?, ?] -> embedding 178 x 128 -> bidirectional_dynamic_rnn "
                 "of ONE DropoutWrapper(GRUCell(128)) object given as both the forward and the backward cell (the "
                 "two directions share one set of weights, all under bidirectional_rnn/fw) with sequence_length -> "
                 "dense 2 -> argmax -> boolean_mask by sequence_mask(lengths): 'outputs', the word-start flags of "
                 "every real character of the batch, flat [sum(lengths)].",
        "constructs": ["bidirectional_dynamic_rnn (2 while loops)", "GRUCell", "one cell shared by both directions "
                       "(tied weights)", "DropoutWrapper (rate from a bool 'training' placeholder)", "sequence_length",
                       "embedding (Gather)", "boolean_mask output", "SavedModelBuilder", "predict signature",
                       "inputs are IteratorGetNext outputs (the training graph's tf.data pipeline)"],
        "tag_set": ["serve"],
        "signature": {"key": "serving_default", "method_name": "tensorflow/serving/predict",
                      "inputs": {"inputs": {"tensor": "IteratorGetNext:1", "dtype": "int64", "shape": [-1, -1]},
                                 "lengths": {"tensor": "IteratorGetNext:0", "dtype": "int64", "shape": [-1]},
                                 "training": {"tensor": "Placeholder_1:0", "dtype": "bool", "shape": []}},
                      "outputs": {"outputs": {"tensor": "boolean_mask_1/Gather:0", "dtype": "int64",
                                              "shape": [-1]}}},
        "feeds": {"inputs": {"fill": "ids", "low": 0, "high": 178, "shape": [2, 7]},
                  "lengths": {"fill": "full", "value": 7, "shape": [2]}, "training": False},
        "output_shapes": {"outputs": [14]},
        "notes": "1834 nodes: the whole training graph (TFRecordDataset, an iterator from a string handle, Adam's "
                 "ApplyAdam, summaries) with its Adam slots in the variables; the signature's inputs are the "
                 "iterator's IteratorGetNext outputs, which TF1 lets a session feed. The repository's "
                 "predict_example.py feeds one sentence with training=False.",
    },
    {
        "name": "crnn_synth90k_saved_model",
        "form": "saved_model",
        "needs_full_clone": True,
        "repo": "MaybeShewill-CV/CRNN_Tensorflow",
        "commit": "44072509021f7f1ef48e35cc50d6bf50cb5793d8",
        "licence": "MIT (LICENSE at the repository root: 'Copyright (c) 2019 MaybeShewill-CV')",
        "files": {"saved_model.pb": "model/crnn_syn90k_saved_model/1/saved_model.pb",
                  "variables/variables.data-00000-of-00001":
                      "model/crnn_syn90k_saved_model/1/variables/variables.data-00000-of-00001",
                  "variables/variables.index": "model/crnn_syn90k_saved_model/1/variables/variables.index"},
        "path": ".",
        "tf_version": "1.12.0",
        "model": "CRNN scene-text recogniser (Synth90k): VGG-style Conv2D stack on a [1, 32, 100, 3] image -> "
                 "bidirectional LSTM (stack_bidirectional_dynamic_rnn, while loops) -> CTC beam search; "
                 "tools/export_saved_model.py's SavedModelBuilder export.",
        "constructs": ["Conv2D", "stack_bidirectional_dynamic_rnn", "LSTMCell", "CTCBeamSearchDecoder",
                       "SavedModelBuilder", "predict signature"],
        "tag_set": ["serve"],
        "signature": {"key": "serving_default", "method_name": "tensorflow/serving/predict",
                      "inputs": {"input_tensor": {"tensor": "input_tensor:0", "dtype": "float32",
                                                  "shape": [1, 32, 100, 3]}},
                      "outputs": {"decodes_indices": {"tensor": "CTCBeamSearchDecoder:0", "dtype": "int64",
                                                      "shape": [-1, 2]},
                                  "decodes_values": {"tensor": "CTCBeamSearchDecoder:1", "dtype": "int64",
                                                     "shape": [-1]},
                                  "decodes_dense_shape": {"tensor": "CTCBeamSearchDecoder:2", "dtype": "int64",
                                                          "shape": [2]}}},
        "feeds": {"input_tensor": {"fill": "normal", "shape": [1, 32, 100, 3]}},
        "output_shapes": {"decodes_dense_shape": [2]},
        "notes": "Recurrent + convolutional, real, permissive; its variables data file (~35 MB) is over the 4 MiB "
                 "the snapshot mirrors carry: extracted only from a full clone. Its outputs are a sparse CTC "
                 "decode (an op outside the op table: a converter's refusal names it).",
    },
]


def run_form(entry: dict, folder: str, seed: int = 0) -> dict:
    """Load a FORMS entry under TF 2.21 and run its recorded feeds: a SavedModel through
    `tf.saved_model.load(folder, tags).signatures[KEY]`, a frozen graph imported into its own tf.Graph and run
    by a `tf.compat.v1.Session`. Returns {output name: array}."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    path = os.path.normpath(os.path.join(folder, entry["path"]))
    if entry["form"] == "saved_model":
        sig = entry["signature"]
        fn = tf.saved_model.load(path, tags=entry.get("tag_set")).signatures[sig["key"]]
        args = fn.structured_input_signature[1]
        names = {**{spec.name: arg for arg, spec in args.items()}, **{arg: arg for arg in args}}   # TF1: the keys
        feed = {names[k]: tf.constant(make_feed(spec, sig["inputs"][k]["dtype"], rng))
                for k, spec in entry["feeds"].items()}
        return {k: np.asarray(v) for k, v in fn(**feed).items()}
    if entry["form"] == "model_dir":
        return run_model_dir(entry, path, rng)
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    with tf.Graph().as_default() as g:
        tf.graph_util.import_graph_def(graph_def, name="")
        feeds = {g.get_tensor_by_name(n): make_feed(spec, g.get_tensor_by_name(n).dtype.as_numpy_dtype, rng)
                 for n, spec in entry["feeds"].items()}
        with tf.compat.v1.Session(graph=g) as sess:
            values = sess.run([g.get_tensor_by_name(o) for o in entry["outputs"]], feeds)
    return dict(zip(entry["outputs"], values))


def run_model_dir(entry: dict, folder: str, rng) -> dict:
    """An Estimator model_dir: the `.meta` of the checkpoint its `checkpoint` file names, as TF 2.21's own tools
    take it, except what cannot run here. An Estimator's training graph reads its inputs from its input pipeline
    (an `IteratorGetNext`, or `ExperimentalFunctionBufferingResourceGetNext` under a distribution strategy, whose ops
    TF 2.21 may not have): the entry's `starts` (tensors of that op) become placeholders, the graph is cut to what
    the outputs need (`tf.compat.v1.graph_util.extract_sub_graph`) and imported, and each variable it reads is set
    from the checkpoint (`tf.train.load_checkpoint`), by the variable's own name. Returns {output: array}."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    state = tf.train.get_checkpoint_state(folder)
    prefix = os.path.join(folder, os.path.basename(state.model_checkpoint_path))
    with open(prefix + ".meta", "rb") as f:
        graph_def = meta_graph_pb2.MetaGraphDef.FromString(f.read()).graph_def
    starts = entry["starts"]
    renamed = {t: "start_" + t.replace(":", "_") for t in starts}
    for node in graph_def.node:
        for k, name in enumerate(node.input):
            full = name if ":" in name else name + ":0"
            if full in renamed:
                node.input[k] = renamed[full]
        node.device = ""
    for t, spec in starts.items():
        p = graph_def.node.add(name=renamed[t], op="Placeholder")
        p.attr["dtype"].type = tf.as_dtype(spec["dtype"]).as_datatype_enum
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(graph_def, [o.split(":")[0] for o in entry["outputs"]])
    reader = tf.train.load_checkpoint(prefix)
    with tf.Graph().as_default() as g:
        tf.graph_util.import_graph_def(graph_def, name="")
        sets = []
        for op in g.get_operations():
            if op.type in ("VarHandleOp", "VariableV2", "Variable"):
                value = reader.get_tensor(op.name)
                if op.type == "VarHandleOp":
                    sets.append(tf.raw_ops.AssignVariableOp(resource=op.outputs[0], value=value))
                else:
                    sets.append(tf.compat.v1.assign(op.outputs[0], value))
        feeds = {g.get_tensor_by_name(renamed[t] + ":0"): make_feed(entry["feeds"][t], tf.as_dtype(spec["dtype"])
                                                             .as_numpy_dtype, rng) for t, spec in starts.items()}
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(sets)
            values = sess.run([g.get_tensor_by_name(o) for o in entry["outputs"]], feeds)
    return dict(zip(entry["outputs"], values))


def make_feed(spec, dtype, rng):
    """The value for one feed of the table (a number, or a generated array; see the module doc)."""
    import numpy as np

    if not isinstance(spec, dict):
        return np.asarray(spec, dtype=dtype)
    shape, fill = spec["shape"], spec["fill"]
    if fill == "ids":
        value = rng.integers(spec["low"], spec["high"], size=shape)
    elif fill == "full":
        value = np.full(shape, spec["value"])
    elif fill == "normal":
        value = rng.standard_normal(shape)
    elif fill == "zeros":
        value = np.zeros(shape)
    else:
        raise ValueError(f"unknown fill {fill!r}")
    return value.astype(dtype)


def run_graph(entry: dict, prefix: str, seed: int = 0) -> dict:
    """Import the entry's `.meta` under TF 2.x (in its own tf.Graph), restore `prefix`, run the recorded feeds.

    Applies the entry's `keep_collections` (drop other collections before importing) and `restore_exclude`
    (restore every other variable, set these to zeros). Returns {output tensor name: array}.
    """
    import numpy as np
    import tensorflow as tf

    meta = prefix + ".meta"
    if "keep_collections" in entry:
        from tensorflow.core.protobuf import meta_graph_pb2

        with open(prefix + ".meta", "rb") as f:
            meta = meta_graph_pb2.MetaGraphDef.FromString(f.read())
        for key in [k for k in meta.collection_def if k not in entry["keep_collections"]]:
            del meta.collection_def[key]
    rng = np.random.default_rng(seed)
    with tf.Graph().as_default() as g:
        saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        feeds = {}
        for name, spec in entry["feeds"].items():
            t = g.get_tensor_by_name(name)
            feeds[t] = make_feed(spec, t.dtype.as_numpy_dtype, rng)
        skip = set(entry.get("restore_exclude", ()))
        if skip:
            saver = tf.compat.v1.train.Saver(
                var_list=[v for v in tf.compat.v1.global_variables() if v.op.name not in skip])
        with tf.compat.v1.Session(graph=g) as sess:
            for v in tf.compat.v1.global_variables():
                if v.op.name in skip:
                    v.load(np.zeros(v.shape, v.dtype.as_numpy_dtype), sess)
            saver.restore(sess, prefix)
            values = sess.run([g.get_tensor_by_name(o) for o in entry["outputs"]], feeds)
    return dict(zip(entry["outputs"], values))


def verify(entry: dict, out: str) -> str:
    """'' when the extracted entry runs with its recorded feeds and gives the recorded shapes, else why not."""
    import numpy as np

    try:
        if "form" in entry:
            got = run_form(entry, os.path.join(out, entry["name"]))
            got = {k: v for k, v in got.items() if k in entry["output_shapes"]}
        else:
            got = run_graph(entry, os.path.join(out, entry["name"], entry["prefix"]))
    except Exception as e:  # noqa: BLE001 - reported, one line per entry
        return f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    for name, value in got.items():
        if list(np.shape(value)) != entry["output_shapes"][name]:
            return f"{name}: shape {list(np.shape(value))}, recorded {entry['output_shapes'][name]}"
        if not np.all(np.isfinite(value)):
            return f"{name}: not finite"
    return ""


def source(entry: dict) -> str:
    """Where an entry's files come from, in one word: `owner/name@commit` or `pypi:package==version`."""
    if "pypi" in entry:
        return f"pypi:{entry['pypi']['package']}=={entry['pypi']['version']}"
    return f"{entry['repo']}@{entry['commit'][:10]}"


def pypi_archive(pypi: dict, cache: str) -> str:
    """The entry's archive from PyPI (`pip download --no-deps`, once, into `cache`), checked against its sha256."""
    path = os.path.join(cache, pypi["archive"])
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        spec = f"{pypi['package']}=={pypi['version']}"
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation",
                            "--disable-pip-version-check", "--dest", cache, spec], capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(path):
            last = (r.stderr.strip().splitlines() or ["no archive named " + pypi["archive"]])[-1]
            raise FileNotFoundError(f"pypi:{spec}: pip download did not bring {pypi['archive']}: {last}")
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != pypi["sha256"]:
        raise FileNotFoundError(f"{path}: sha256 {digest[:12]}..., not the {pypi['sha256'][:12]}... recorded in "
                                f"benchmarks/corpus.py (another upload of {pypi['package']} {pypi['version']}?)")
    return path


def archive_member(archive: str, member: str) -> bytes:
    """One file of an sdist (.tar.gz) or a wheel / zip, by its path inside the archive."""
    import tarfile
    import zipfile

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                return z.read(member)
        with tarfile.open(archive) as t:
            f = t.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    except KeyError:
        raise FileNotFoundError(f"{archive}: no {member} inside") from None


def find_git_dir(mirrors: str, repo: str) -> str:
    base = os.path.join(mirrors, repo.replace("/", "+"))
    for cand in (os.path.join(base, "repo", ".git"), os.path.join(base, "repo"), base):
        if os.path.isdir(os.path.join(cand, "objects")):
            return cand
    raise FileNotFoundError(f"{base}: no git mirror of {repo} (fetch it first: github:{repo})")


def git_show(git_dir: str, commit: str, path: str) -> bytes:
    r = subprocess.run(["git", "-C", git_dir, "show", f"{commit}:{path}"], capture_output=True)
    if r.returncode != 0:
        raise FileNotFoundError(f"{git_dir}: {commit[:10]}:{path}: {r.stderr.decode().strip()}")
    return r.stdout


def record(entry: dict, directory: str | None = None) -> dict:
    """The manifest record of one entry (what tests and benchmarks read)."""
    if "form" in entry:   # a FORMS entry: its own fields, and where its files are
        rec = {k: v for k, v in entry.items() if k not in ("files", "fixture")}
        rec["dir"] = entry["name"] if directory is None else directory
        rec["paths"] = sorted(entry["files"].values())
        return rec
    keys = ("name", "repo", "commit", "licence", "tf_version", "model", "constructs", "feeds", "placeholders",
            "outputs", "output_shapes", "forget_bias", "restore_exclude", "keep_collections", "format",
            "opens_with_project_reader", "slow", "imports_under_tf221", "notes")
    rec = {k: entry[k] for k in keys if k in entry}
    rec.setdefault("format", "V2")
    rec.setdefault("opens_with_project_reader", True)
    rec.setdefault("slow", False)
    rec["dir"] = entry["name"] if directory is None else directory
    rec["prefix"] = entry["prefix"]
    rec["paths"] = sorted(entry["files"].values())
    return rec


def extract(entry: dict, mirrors: str, out: str) -> dict:
    if "pypi" in entry:
        archive = pypi_archive(entry["pypi"], os.path.join(out, ".pypi"))
        read = lambda path: archive_member(archive, path)   # noqa: E731
    else:
        git_dir = find_git_dir(mirrors, entry["repo"])
        read = lambda path: git_show(git_dir, entry["commit"], path)   # noqa: E731
    dest = os.path.join(out, entry["name"])
    tmp = tempfile.mkdtemp(prefix=f".{entry['name']}.", dir=out)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        sizes = {}
        for local, path in entry["files"].items():
            data = read(path)
            os.makedirs(os.path.dirname(os.path.join(tmp, local)), exist_ok=True)   # a SavedModel's variables/
            with open(os.path.join(tmp, local), "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            sizes[local] = len(data)
        readme = os.path.join(FIXTURE_DOCS, entry["name"], "README.md")
        if entry.get("fixture") and os.path.exists(readme):
            shutil.copyfile(readme, os.path.join(tmp, "README.md"))
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rec = record(entry)
    rec["bytes"] = sum(sizes.values())
    rec["sha256"] = {k: hashlib.sha256(open(os.path.join(dest, k), "rb").read()).hexdigest() for k in sizes}
    wrong = [k for k, h in (entry.get("sha256") or {}).items() if rec["sha256"].get(k) != h]
    if wrong:   # the bytes recorded here are the bytes measured: another blob at that commit is not this entry
        shutil.rmtree(dest, ignore_errors=True)
        raise FileNotFoundError(f"{source(entry)}: {', '.join(wrong)}: sha256 differs from the one recorded in "
                                f"benchmarks/corpus.py")
    return rec


def _write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", help="directory of git mirrors named owner+name")
    ap.add_argument("--out", help="output directory (created)")
    ap.add_argument("--fixtures-only", action="store_true", help="only the <= 5 MB test-fixture entries")
    ap.add_argument("--name", action="append", help="only this entry (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the repositories to fetch and exit")
    ap.add_argument("--write-fixture-manifest", metavar="PATH", help="write the fixtures' manifest.json and exit")
    ap.add_argument("--verify", action="store_true",
                    help="after extracting, import each .meta under TF 2.x, restore, run the recorded feeds and "
                         "check the recorded output shapes (exit 1 when one does not)")
    ap.add_argument("--forms", choices=("all", "checkpoints", "others"), default="all",
                    help="checkpoints (CORPUS, corpus_manifest.json), the other forms (FORMS: SavedModels and frozen "
                         "graphs, forms_manifest.json) or both (default)")
    a = ap.parse_args(argv)
    pool = (CORPUS if a.forms != "others" else []) + (FORMS if a.forms != "checkpoints" else [])
    entries = [e for e in pool if (not a.fixtures_only or e.get("fixture")) and (not a.name or e["name"] in a.name)]
    if a.list:
        print("\n".join(sorted({e["repo"] for e in entries if "repo" in e})))
        return 0
    if a.write_fixture_manifest:
        try:
            _write_json(a.write_fixture_manifest, [record(e) for e in CORPUS if e.get("fixture")])
        except OSError as e:
            print(f"corpus: cannot write {a.write_fixture_manifest}: {e.strerror}", file=sys.stderr)
            return 3
        return 0
    if not a.mirrors or not a.out:
        ap.error("--mirrors and --out are required")
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        print(f"corpus: cannot create {a.out}: {e.strerror}", file=sys.stderr)
        return 3
    records, skipped = [], set()
    for e in entries:
        try:
            rec = extract(e, a.mirrors, a.out)
        except FileNotFoundError as err:
            if e.get("needs_full_clone"):   # a file over the snapshot size: skipped, named
                print(f"corpus: {e['name']}: skipped: {err} (a full `git clone` mirror of {e['repo']} has it)",
                      file=sys.stderr)
                skipped.add(e["name"])
                continue
            print(f"corpus: {e['name']}: {err}", file=sys.stderr)
            return 2
        except OSError as err:
            print(f"corpus: {e['name']}: cannot write under {a.out}: {err}", file=sys.stderr)
            return 3
        if e.get("fixture") and rec["bytes"] > MAX_FIXTURE_BYTES:
            print(f"corpus: {e['name']}: {rec['bytes']} bytes, over the fixture limit", file=sys.stderr)
        records.append(rec)
        print(f"{e['name']}: {rec['bytes'] / 1e6:.2f} MB from {source(e)}")
    checkpoints = [r for r in records if "form" not in r]
    forms = [r for r in records if "form" in r]
    for name, part, wanted in (("corpus_manifest.json", checkpoints, a.forms != "others"),
                               ("forms_manifest.json", forms, a.forms != "checkpoints")):
        if not wanted:
            continue
        try:
            _write_json(os.path.join(a.out, name), part)
        except OSError as e:
            print(f"corpus: cannot write {a.out}/{name}: {e.strerror}", file=sys.stderr)
            return 3
    print(f"{len(checkpoints)} checkpoints, {len(forms)} SavedModels / frozen graphs, "
          f"{sum(r['bytes'] for r in records) / 1e6:.1f} MB -> {a.out}")
    if a.verify:
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        failed = 0
        entries = [e for e in entries if e["name"] not in skipped]
        for e in entries:
            why = verify(e, a.out)
            failed += bool(why)
            print(f"verify {e['name']}: {why or 'ok'}")
        print(f"verify: {len(entries) - failed}/{len(entries)} import, restore and run as recorded")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
