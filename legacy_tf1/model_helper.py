"""Cells, checkpoints and sessions for the legacy Seq2Seq (tensorflow/nmt's `model_helper.py`).

Cell types (hparams.cell_type), as TF1 code built them with `tf.compat.v1.nn.rnn_cell`:

| cell_type  | class          | variables (under the cell scope)                     | gate order     |
|------------|----------------|------------------------------------------------------|----------------|
| lstm       | LSTMCell       | lstm_cell/kernel [in+u, 4u], lstm_cell/bias [4u]      | i, j, f, o     |
| basic_lstm | BasicLSTMCell  | basic_lstm_cell/kernel [in+u, 4u], .../bias [4u]      | i, j, f, o     |
| gru        | GRUCell        | gru_cell/gates/kernel [in+u, 2u], gates/bias [2u],    | r, u; then the |
|            |                | gru_cell/candidate/kernel [in+u, u], candidate/bias   | candidate      |

`forget_bias` is added to the f gate at run time (it is in no variable). 2+ layers: `MultiRNNCell`
(`multi_rnn_cell/cell_{i}/...`). Dropout: `DropoutWrapper(input_keep_prob=1 - dropout)` in training only;
it adds no scope of its own.

Graphs are built with TF 1.x's control flow (`tf1_control_flow`): `dynamic_rnn` and `dynamic_decode` loops are
`Enter` / `Merge` / `Switch` / `NextIteration` / `Exit` frames, as every TF 1.x `.meta` holds them, not TF 2's
functional `While` ops.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import tensorflow as tf

import legacy_tf1._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from seq2seq_task import HParams, Vocab

TRAIN, EVAL, INFER = "train", "eval", "infer"
MODES = (TRAIN, EVAL, INFER)

# cell_type -> (constructor name in tf.compat.v1.nn.rnn_cell, takes forget_bias). Looked up by name at
# build time because the attribute only exists once TF_USE_LEGACY_KERAS=1 is set (legacy_tf1/__init__).
CELL_CLASSES = {
    "lstm": ("LSTMCell", True),
    "basic_lstm": ("BasicLSTMCell", True),
    "gru": ("GRUCell", False),
}

VOCAB_FILES = {"src": "vocab.src.json", "tgt": "vocab.tgt.json"}
HPARAMS_FILE = "hparams.json"
CHECKPOINT_BASENAME = "model.ckpt"


class CheckpointError(ValueError):
    """A checkpoint path that cannot be used; the message names the path and what to do."""


@contextlib.contextmanager
def tf1_control_flow():
    """Build while loops and conds as TF 1.x did (control flow v1), then restore the previous setting.

    TF 1.x wrote `tf.while_loop` as a frame of `Enter` / `Merge` / `Switch` / `NextIteration` / `Exit` ops and
    `TensorArray*V3` ops; TF 2 (and `tf.compat.v1` graphs under it) writes a functional `While` op with function
    bodies. The legacy graph must be what TF 1.x wrote (its `.meta` is read by tools that expect TF 1.x graphs),
    so it is built inside this context. Variable names and numerics are the same either way.
    """
    v1 = tf.compat.v1
    was_v2 = v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()
    try:
        yield
    finally:
        if was_v2:
            v1.enable_control_flow_v2()


def single_cell(cell_type, num_units, forget_bias, dropout, mode):
    """One RNN cell of `cell_type`, wrapped in `DropoutWrapper` when training with dropout > 0."""
    class_name, takes_forget_bias = CELL_CLASSES[cell_type]
    cell_class = getattr(tf.compat.v1.nn.rnn_cell, class_name)
    cell = cell_class(num_units, forget_bias=forget_bias) if takes_forget_bias else cell_class(num_units)
    if dropout > 0.0 and mode == TRAIN:
        cell = tf.compat.v1.nn.rnn_cell.DropoutWrapper(cell=cell, input_keep_prob=1.0 - dropout)
    return cell


def create_rnn_cell(cell_type, num_units, num_layers, forget_bias, dropout, mode):
    """`num_layers` cells of `num_units`; a `MultiRNNCell` when there are 2 or more."""
    cells = [single_cell(cell_type, num_units, forget_bias, dropout, mode) for _ in range(num_layers)]
    if len(cells) == 1:
        return cells[0]
    return tf.compat.v1.nn.rnn_cell.MultiRNNCell(cells)


def latest_checkpoint(path: str) -> str:
    """The checkpoint prefix for `path`: a directory (its `checkpoint` file names the latest) or a prefix.

    Raises:
        CheckpointError: nothing restorable at `path`.
    """
    if os.path.isdir(path):
        prefix = tf.train.latest_checkpoint(path)
        if prefix is None or not os.path.exists(prefix + ".index"):
            raise CheckpointError(
                f"{path}: no checkpoint found (expected a 'checkpoint' file naming model.ckpt-N with its "
                f".index/.data files); train one with `tf-migrate legacy train --out {path}`")
        return prefix
    if os.path.exists(path + ".index"):
        return path
    if path.endswith(".index") and os.path.exists(path):
        return path[: -len(".index")]
    raise CheckpointError(
        f"{path}: not a checkpoint directory nor a checkpoint prefix (no {os.path.basename(path)}.index); "
        "pass the model directory or a prefix such as DIR/model.ckpt-1000")


def model_dir_of(path: str) -> str:
    """The directory that holds hparams.json and the vocabularies for a checkpoint dir or prefix."""
    return path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))


def load_hparams_and_vocabs(model_dir: str) -> tuple[HParams, Vocab, Vocab]:
    """hparams.json, vocab.src.json and vocab.tgt.json of a model directory."""
    hparams = HParams.load(os.path.join(model_dir, HPARAMS_FILE))
    vocabs = []
    for key in ("src", "tgt"):
        p = os.path.join(model_dir, VOCAB_FILES[key])
        if not os.path.exists(p):
            raise CheckpointError(f"{p}: no such file; every trained model directory holds "
                                  f"{VOCAB_FILES['src']} and {VOCAB_FILES['tgt']} beside hparams.json")
        vocabs.append(Vocab.load(p))
    return hparams, vocabs[0], vocabs[1]


def save_model_files(model_dir: str, hparams: HParams, src_vocab: Vocab, tgt_vocab: Vocab) -> None:
    """Write hparams.json and both vocabularies (each atomically)."""
    os.makedirs(model_dir, exist_ok=True)
    hparams.save(os.path.join(model_dir, HPARAMS_FILE))
    src_vocab.save(os.path.join(model_dir, VOCAB_FILES["src"]))
    tgt_vocab.save(os.path.join(model_dir, VOCAB_FILES["tgt"]))


def session_config() -> tf.compat.v1.ConfigProto:
    """A CPU-friendly session config (soft placement, as nmt's `get_config_proto`)."""
    return tf.compat.v1.ConfigProto(allow_soft_placement=True)


@dataclass
class LoadedModel:
    """A built graph, its session and model, plus the files beside the checkpoint.

    `checkpoint` is the prefix that was restored, or None for freshly initialised variables.
    Close with `close()` (or use as a context manager).
    """

    graph: tf.Graph
    session: tf.compat.v1.Session
    model: object
    hparams: HParams
    src_vocab: Vocab | None = None
    tgt_vocab: Vocab | None = None
    checkpoint: str | None = None

    def save(self, prefix: str, global_step: int | None = None) -> str:
        """`model.saver.save` inside this graph (a Saver called outside its graph takes the eager path)."""
        with self.graph.as_default():
            return self.model.saver.save(self.session, prefix, global_step=global_step)

    def restore(self, prefix: str) -> None:
        """`model.saver.restore` inside this graph."""
        with self.graph.as_default():
            self.model.saver.restore(self.session, prefix)
        self.checkpoint = prefix

    def run(self, fetches, feed_dict=None):
        """`session.run` (the graph is bound to the session; no context needed)."""
        return self.session.run(fetches, feed_dict)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> LoadedModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def create_model(hparams: HParams, mode: str, checkpoint: str | None = None) -> LoadedModel:
    """Build `Seq2SeqModel(hparams, mode)` in a new graph and session; restore `checkpoint` or initialise.

    The graph seed is `hparams.seed`, so two fresh models with the same hparams get the same weights.
    """
    from legacy_tf1.model import Seq2SeqModel  # noqa: PLC0415  (model imports this module)

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(hparams.seed)
        model = Seq2SeqModel(hparams, mode)
        init = tf.compat.v1.global_variables_initializer()
    session = tf.compat.v1.Session(graph=graph, config=session_config())
    loaded = LoadedModel(graph, session, model, hparams)
    if checkpoint is None:
        session.run(init)
    else:
        loaded.restore(checkpoint)
    return loaded


def load_model(path: str, mode: str = INFER) -> LoadedModel:
    """Build a `mode` graph from the hparams.json beside `path` and restore its latest checkpoint.

    Args:
        path: a model directory (the latest checkpoint via its `checkpoint` file) or a checkpoint prefix.
        mode: "infer" (default), "eval" or "train".
    """
    prefix = latest_checkpoint(path)
    hparams, src_vocab, tgt_vocab = load_hparams_and_vocabs(model_dir_of(path))
    loaded = create_model(hparams, mode, checkpoint=prefix)
    loaded.src_vocab, loaded.tgt_vocab = src_vocab, tgt_vocab
    return loaded
