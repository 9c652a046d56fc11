"""The legacy side of the legacy/port pair: this repo's own `legacy_tf1` graph, built from hparams.json, restored.

`resolve_legacy(path)` finds the checkpoint prefix, hparams.json and vocabularies; `LegacyRunner` runs logits,
loss, gradients, K Adam steps (with what Adam saw at each: `adam_trajectory`) and greedy ids in graph mode; `check_architecture` refuses a port built from other
hparams. A user's own TF1 model needs none of this: `migrate.parity.tf1_graph.TF1Graph` imports its `.meta`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from migrate.parity.adam_bound import AdamSettings
from migrate.parity.errors import ParityInputError
from seq2seq_task import Batch, HParams, Vocab

# hparams fields that must agree between the legacy hparams.json and the port (the architecture and
# the numbers the training step uses); the rest (data sizes, seed, batch_size) may differ.
ARCHITECTURE_FIELDS = ("src_vocab_size", "tgt_vocab_size", "embedding_size", "share_embeddings", "num_units",
                       "cell_type", "num_layers", "encoder_type", "attention", "attention_layer_size",
                       "output_attention", "forget_bias", "projection")
TRAINING_FIELDS = ("learning_rate", "max_gradient_norm")

def _session_config(tf):
    """Grappler off: the graph runs as written (no constant folding / arithmetic rewrites), and the
    first run of each fetch starts in 0.1 s instead of ~1 s."""
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def adam_settings(hparams: HParams) -> AdamSettings:
    """The legacy graph's optimizer (legacy_tf1/model.py `_build_train_op`): `tf.compat.v1.train.AdamOptimizer(lr)`
    with its defaults beta1 0.9, beta2 0.999, epsilon 1e-8, after `clip_by_global_norm(max_gradient_norm)`."""
    return AdamSettings(learning_rate=hparams.learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8,
                        max_gradient_norm=hparams.max_gradient_norm)


@dataclass
class AdamTrajectory:
    """K legacy Adam steps, step by step (`LegacyRunner.adam_trajectory`).

    Attributes:
        after: {TF1 name: weights after the K steps}.
        before: per step, the weights it started from.
        gradients: per step, the UNclipped gradients (`model.gradients`).
        global_norms: per step, TF1's global norm (what `clip_by_global_norm` divided by).
    """

    after: dict[str, np.ndarray]
    before: list[dict[str, np.ndarray]] = field(default_factory=list)
    gradients: list[dict[str, np.ndarray]] = field(default_factory=list)
    global_norms: list[float] = field(default_factory=list)


@dataclass
class _Graph:
    graph: Any
    session: Any
    model: Any
    trainable: dict[str, Any]      # TF1 name -> variable
    restorer: Any                  # Saver over the trainable variables only
    placeholders: dict[str, Any]
    assign: Any
    reset_optimizer: Any = None    # initializer of every non-trainable variable (built on first use)


class LegacyRunner:
    """The legacy graph in train mode (logits, loss, gradients, Adam) and infer mode (greedy), one session each;
    or, with `backward=False`, one eval-mode graph (logits, loss and greedy ids, no gradients or Adam:
    about 3x cheaper to build, what the forward-only checks of the full matrix use).

    Weights come from `checkpoint` (restored: trainable variables only; Adam starts fresh) or from
    `load(values)` ({TF1 name: array}), which swaps weights without rebuilding the graphs.

    Args:
        hparams: the legacy model's hparams (dropout is set to 0).
        checkpoint: a checkpoint prefix to restore, or None (graph-seeded initial weights).
        greedy: also build the infer graph (for the greedy check).
        backward: build the train graph (gradients, Adam); False builds only the eval graph.
    """

    def __init__(self, hparams: HParams, checkpoint: str | None = None, greedy: bool = True,
                 backward: bool = True):
        import legacy_tf1  # noqa: F401, PLC0415  (sets TF_USE_LEGACY_KERAS before tf.compat.v1.nn.rnn_cell)
        from migrate.quiet import silence_after_import  # noqa: PLC0415

        silence_after_import()
        import tensorflow as tf  # noqa: PLC0415

        from legacy_tf1.model import Seq2SeqModel  # noqa: PLC0415

        self.tf = tf
        self.hparams = hparams.replace(dropout=0.0)
        self.graphs: dict[str, _Graph] = {}
        modes = (("train", "infer") if greedy else ("train",)) if backward else ("eval",)
        for mode in modes:
            g = tf.Graph()
            with g.as_default():
                tf.compat.v1.set_random_seed(self.hparams.seed)
                model = Seq2SeqModel(self.hparams, mode)
                trainable = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
                init = tf.compat.v1.global_variables_initializer()
                restorer = tf.compat.v1.train.Saver(var_list=trainable)
                placeholders = {n: tf.compat.v1.placeholder(v.dtype.base_dtype, v.shape) for n, v in trainable.items()}
                assign = tf.group(*[v.assign(placeholders[n]) for n, v in trainable.items()])
            sess = tf.compat.v1.Session(graph=g, config=_session_config(tf))
            sess.run(init)
            self.graphs[mode] = _Graph(g, sess, model, trainable, restorer, placeholders, assign)
        self.forward_graph = self.graphs["train" if backward else "eval"]
        self.greedy_graph = self.graphs.get("infer") or self.graphs.get("eval")
        self.names = sorted(self.forward_graph.trainable)
        if checkpoint is not None:
            self.restore(checkpoint)

    def restore(self, prefix: str) -> None:
        for side in self.graphs.values():
            try:
                with side.graph.as_default():
                    side.restorer.restore(side.session, prefix)
            except self.tf.errors.NotFoundError as e:
                missing = str(e).split("\n")[0][:300]
                raise ParityInputError(f"{prefix}: the checkpoint does not hold the variables the legacy graph of "
                                       f"hparams.json builds ({missing}); pass the hparams.json the checkpoint was "
                                       f"trained with") from None
            except self.tf.errors.InvalidArgumentError as e:
                raise ParityInputError(f"{prefix}: a variable's shape differs from the graph of hparams.json "
                                       f"({str(e).splitlines()[0][:300]})") from None

    def load(self, values: dict[str, np.ndarray]) -> None:
        for side in self.graphs.values():
            side.session.run(side.assign, {side.placeholders[n]: values[n] for n in side.trainable})

    def values(self) -> dict[str, np.ndarray]:
        side = self.forward_graph
        return dict(zip(side.trainable, side.session.run(list(side.trainable.values()))))

    def forward(self, batch: Batch) -> tuple[np.ndarray, float]:
        side = self.forward_graph
        logits, loss = side.session.run([side.model.logits, side.model.loss], side.model.feed_dict(batch))
        return logits, float(loss)

    def _train_graph(self) -> _Graph:
        if "train" not in self.graphs:
            raise ParityInputError("the gradients and adam checks need the train graph: build LegacyRunner(..., backward=True)")
        return self.graphs["train"]

    def gradients(self, batch: Batch) -> dict[str, np.ndarray]:
        side = self._train_graph()
        pairs = side.model.gradients
        grads = side.session.run([g for g, _ in pairs], side.model.feed_dict(batch))
        return {v.op.name: g for g, (_, v) in zip(grads, pairs)}

    def adam_steps(self, batches: Sequence[Batch], steps: int) -> dict[str, np.ndarray]:
        """K train_op runs from the current weights with a fresh Adam state; the weights after (then restored)."""
        return self.adam_trajectory(batches, steps).after

    def adam_trajectory(self, batches: Sequence[Batch], steps: int) -> AdamTrajectory:
        """`adam_steps`, recording what Adam saw at each step (the weights before it, the gradients and TF1's
        global norm, fetched in the same `Session.run` as the train_op, so they are the values it applied);
        the weights are restored after."""
        tf = self.tf
        side = self._train_graph()
        start = self.values()
        if side.reset_optimizer is None:
            with side.graph.as_default():
                state = [v for v in tf.compat.v1.global_variables() if v.op.name not in side.trainable]
                side.reset_optimizer = tf.compat.v1.variables_initializer(state)
        side.session.run(side.reset_optimizer)  # Adam slots, beta powers, global_step
        pairs = side.model.gradients
        trajectory = AdamTrajectory(after={})
        for k in range(steps):
            trajectory.before.append(self.values() if k else start)
            grads, norm, _ = side.session.run([[g for g, _ in pairs], side.model.grad_norm, side.model.train_op],
                                              side.model.feed_dict(batches[k % len(batches)]))
            trajectory.gradients.append({v.op.name: g for g, (_, v) in zip(grads, pairs)})
            trajectory.global_norms.append(float(norm))
        trajectory.after = self.values()
        self.load(start)
        return trajectory

    def gradients_at(self, values: dict[str, np.ndarray], batch: Batch) -> dict[str, np.ndarray]:
        """The gradients at other weights (`values`, {TF1 name: array}); the current weights are restored after."""
        current = self.values()
        self.load({n: np.asarray(values[n], np.float32) for n in current})
        try:
            return self.gradients(batch)
        finally:
            self.load(current)

    def greedy(self, batch: Batch) -> np.ndarray:
        side = self.greedy_graph
        if side is None:
            raise ParityInputError("the greedy check needs the infer graph: build LegacyRunner(..., greedy=True)")
        return side.session.run(side.model.greedy_ids, side.model.feed_dict(batch, decoder=False))

    def close(self) -> None:
        for side in self.graphs.values():
            side.session.close()


@dataclass
class LegacyInput:
    prefix: str
    hparams: HParams
    src_vocab: Vocab | None
    tgt_vocab: Vocab | None


def resolve_legacy(path: str, hparams: HParams | str | None = None) -> LegacyInput:
    """A checkpoint directory or prefix -> its prefix, hparams (hparams.json beside it) and vocabularies."""
    import legacy_tf1  # noqa: F401, PLC0415
    from legacy_tf1 import model_helper  # noqa: PLC0415
    from migrate.files import CheckpointNotFound, resolve_checkpoint  # noqa: PLC0415

    try:
        prefix = resolve_checkpoint(path)   # the one resolver `convert` uses too: copied folders resolve alike
    except CheckpointNotFound as e:
        raise ParityInputError(str(e)) from None
    model_dir = model_helper.model_dir_of(path)
    if isinstance(hparams, HParams):
        hp = hparams
    else:
        hp_path = hparams or os.path.join(model_dir, model_helper.HPARAMS_FILE)
        try:
            hp = HParams.load(hp_path)
        except ValueError as e:
            raise ParityInputError(f"{e}; pass --hparams FILE") from None
    vocabs: list[Vocab | None] = []
    for key in ("src", "tgt"):
        p = os.path.join(model_dir, model_helper.VOCAB_FILES[key])
        vocabs.append(Vocab.load(p) if os.path.exists(p) else None)
    return LegacyInput(prefix, hp, vocabs[0], vocabs[1])


def check_architecture(legacy: HParams, port: Any) -> None:
    """Refuse a port built from other hparams (exit 2) naming each differing field."""
    port_hp = getattr(port, "hparams", None)
    if port_hp is None:
        return
    diffs = [f"{f}: legacy {getattr(legacy, f)!r}, port {getattr(port_hp, f)!r}"
             for f in ARCHITECTURE_FIELDS + TRAINING_FIELDS if getattr(legacy, f) != getattr(port_hp, f)]
    if diffs:
        raise ParityInputError("the Keras model was built from other hparams than the legacy checkpoint's "
                               "hparams.json: " + "; ".join(diffs))
