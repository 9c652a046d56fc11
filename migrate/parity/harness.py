"""The parity harness: one legacy TF1 checkpoint and one Keras port, run on the same batches.

`run_parity(legacy, keras)` compares, in this order (`CHECKS`):

| check     | legacy TF1 (graph mode, `legacy_tf1`)        | port (Keras 3, `tf2`)                       | tolerance   |
|-----------|----------------------------------------------|---------------------------------------------|-------------|
| weights   | the checkpoint's variables                   | every port weight mapped back to TF1 layout | float32     |
| logits    | `model.logits`, valid positions              | `model(inputs)`, valid positions            | float32     |
| loss      | contrib `sequence_loss`                      | the port's `SequenceLoss`                   | float32     |
| gradients | `tf.gradients(loss, var)` (dense)            | `GradientTape`, mapped back (linear map)    | gradients   |
| adam      | variables after K `train_op` runs            | K steps of the port's optimizer, mapped back | adam       |
| greedy    | `greedy_ids` of the infer graph              | `model.greedy_decode`                       | exact       |

Both sides start from the checkpoint's weights with a FRESH optimizer state: the legacy `train_op`
(Adam lr, beta1 0.9, beta2 0.999, epsilon 1e-8, `clip_by_global_norm(max_gradient_norm)`) against the
port's own optimizer (`tf2.training.make_optimizer`: Adam with epsilon 1e-8 - Keras's default is 1e-7 -
and `global_clipnorm`). Dropout is set to 0 on both sides (a parity check compares
deterministic functions); the report notes it when hparams had dropout.

The mapping port <-> TF1 is the converter's (`migrate.checkpoint.bindings.bind_seq2seq`), so the
harness checks exactly the layout transforms the converter applies; gradients are mapped back with
the linear map (no forget-bias add).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from migrate.exit_codes import BAD_INPUT, CliError
from migrate.parity.compare import ParityResult, compare
from migrate.parity.diagnose import WeightContext, describe_index, diagnose_weight
from migrate.parity.report import ParityReport
from migrate.parity.tolerances import STEP_TOLERANCES
from seq2seq_task import EOS_ID, SOS_ID, Batch, HParams, Vocab, load_task, make_batch

CHECKS = ("weights", "logits", "loss", "gradients", "adam", "greedy")

# hparams fields that must agree between the legacy hparams.json and the port (the architecture and
# the numbers the training step uses); the rest (data sizes, seed, batch_size) may differ.
ARCHITECTURE_FIELDS = ("src_vocab_size", "tgt_vocab_size", "embedding_size", "share_embeddings", "num_units",
                       "cell_type", "num_layers", "encoder_type", "attention", "attention_layer_size",
                       "output_attention", "forget_bias", "projection")
TRAINING_FIELDS = ("learning_rate", "max_gradient_norm")


class ParityInputError(CliError):
    """Unusable input to the harness (exit code 2): a missing file, another architecture, a bad option."""

    def __init__(self, message: str):
        super().__init__(message, BAD_INPUT)


# -- batches -----------------------------------------------------------------------------------------


def _pad(rows: Sequence[Sequence[int]]) -> np.ndarray:
    out = np.zeros((len(rows), max(1, max(len(r) for r in rows))), np.int32)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def random_batch(rng: np.random.RandomState, hparams: HParams, batch_size: int, src_len: int | None = None,
                 tgt_len: int | None = None, src_lengths: Sequence[int] | None = None,
                 tgt_lengths: Sequence[int] | None = None) -> Batch:
    """A padded batch of random ids (4 .. vocab-1) with variable lengths; row 0 is full-length, row 1 short.

    Explicit `src_lengths` (>= 1) / `tgt_lengths` (target tokens without `</s>`, >= 0) override the draw.
    """
    s_max = src_len or hparams.max_src_len
    t_max = tgt_len or hparams.max_tgt_len
    if src_lengths is None:
        src_lengths = rng.randint(1, s_max + 1, batch_size)
        src_lengths[0] = s_max
        if batch_size > 1:
            src_lengths[1] = 1
    if tgt_lengths is None:
        tgt_lengths = rng.randint(0, t_max + 1, batch_size)
        tgt_lengths[0] = t_max
        if batch_size > 1:
            tgt_lengths[1] = 0
    if min(src_lengths) < 1:
        raise ValueError(f"source lengths {list(src_lengths)}: every source needs at least 1 token")
    src = [list(rng.randint(4, hparams.src_vocab_size, int(n))) for n in src_lengths]
    tgt = [list(rng.randint(4, hparams.tgt_vocab_size, int(n))) for n in tgt_lengths]
    return Batch(encoder_ids=_pad(src), encoder_lengths=np.array([len(x) for x in src], np.int32),
                 decoder_input_ids=_pad([[SOS_ID] + t for t in tgt]),
                 decoder_target_ids=_pad([t + [EOS_ID] for t in tgt]),
                 target_lengths=np.array([len(t) + 1 for t in tgt], np.int32))


def parity_batches(hparams: HParams, n: int, seed: int = 0, batch_size: int | None = None,
                   src_vocab: Vocab | None = None, tgt_vocab: Vocab | None = None) -> list[Batch]:
    """`n` padded batches: from the embedded task's test split when the model's vocabularies are given
    (every second batch then random ids), else random ids; variable lengths in every batch."""
    rng = np.random.RandomState(seed)
    size = int(batch_size or min(hparams.batch_size, 8))
    out: list[Batch] = []
    pairs = None
    if src_vocab is not None and tgt_vocab is not None:
        pairs = load_task(seed=1234, train_size=1, valid_size=1, test_size=max(64, n * size)).test
    for i in range(n):
        if pairs is not None and i % 2 == 0:
            idx = rng.choice(len(pairs), size, replace=False)
            out.append(make_batch([pairs[j] for j in idx], src_vocab, tgt_vocab, hparams.max_src_len,
                                  hparams.max_tgt_len))
        else:
            out.append(random_batch(rng, hparams, size))
    return out


def stack_padded(arrays: Sequence[np.ndarray], fill: float = 0) -> np.ndarray:
    """Concatenate `[B_i, T_i, ...]` arrays along the batch axis, padding time to the longest T."""
    t = max(a.shape[1] for a in arrays)
    padded = [np.pad(a, [(0, 0), (0, t - a.shape[1])] + [(0, 0)] * (a.ndim - 2), constant_values=fill)
              for a in arrays]
    return np.concatenate(padded, axis=0)


# -- the legacy side -----------------------------------------------------------------------------------


def _session_config(tf):
    """Grappler off: the graph runs as written (no constant folding / arithmetic rewrites), and the
    first run of each fetch starts in 0.1 s instead of ~1 s."""
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


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
            raise ParityInputError("the gradients and adam checks need the train graph: build with backward=True")
        return self.graphs["train"]

    def gradients(self, batch: Batch) -> dict[str, np.ndarray]:
        side = self._train_graph()
        pairs = side.model.gradients
        grads = side.session.run([g for g, _ in pairs], side.model.feed_dict(batch))
        return {v.op.name: g for g, (_, v) in zip(grads, pairs)}

    def adam_steps(self, batches: Sequence[Batch], steps: int) -> dict[str, np.ndarray]:
        """K train_op runs from the current weights with a fresh Adam state; the weights after (then restored)."""
        tf = self.tf
        side = self._train_graph()
        before = self.values()
        if side.reset_optimizer is None:
            with side.graph.as_default():
                state = [v for v in tf.compat.v1.global_variables() if v.op.name not in side.trainable]
                side.reset_optimizer = tf.compat.v1.variables_initializer(state)
        side.session.run(side.reset_optimizer)  # Adam slots, beta powers, global_step
        for k in range(steps):
            side.session.run(side.model.train_op, side.model.feed_dict(batches[k % len(batches)]))
        after = self.values()
        self.load(before)
        return after

    def greedy(self, batch: Batch) -> np.ndarray:
        side = self.greedy_graph
        if side is None:
            raise ParityInputError("the greedy check needs the infer graph: build with greedy=True")
        return side.session.run(side.model.greedy_ids, side.model.feed_dict(batch, decoder=False))

    def close(self) -> None:
        for side in self.graphs.values():
            side.session.close()


# -- the port side -------------------------------------------------------------------------------------


def port_loss(model: Any, batch: Batch, training: bool = False):
    """The port's own training loss on `batch`: `tf2.SequenceLoss()(decoder_target_ids, logits)`."""
    from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

    logits = model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}, training=training)
    return SequenceLoss()(batch.decoder_target_ids, logits)


def port_optimizer(hparams: HParams) -> Any:
    """The port's own optimizer (`tf2.training.make_optimizer`: Adam, epsilon 1e-8, global_clipnorm)."""
    from tf2.training import make_optimizer  # noqa: PLC0415

    return make_optimizer(hparams)


class PortRunner:
    """The Keras port: logits, loss, gradients, K Adam steps and greedy ids, all mapped through `bindings`.

    The forward pass runs as a `tf.function` with a `[None, None]` input signature, traced once per
    runner (the port's decoder loops are `tf.while_loop`s; eagerly they run step by step).

    Args:
        model: a `tf2.Seq2Seq` (or any model with the same call, handles and `greedy_decode`).
        bindings: the converter's `Binding`s for this model.
        loss_fn: `loss_fn(model, batch) -> scalar` (default `port_loss`); it gets a `Batch` of tensors.
        optimizer_fn: `optimizer_fn(hparams) -> keras optimizer` (default `port_optimizer`), fresh per run.
    """

    def __init__(self, model: Any, bindings: Sequence[Any], loss_fn: Callable | None = None,
                 optimizer_fn: Callable | None = None):
        import tensorflow as tf  # noqa: PLC0415

        self.tf = tf
        self.model = model
        self.bindings = list(bindings)
        self.loss_fn = loss_fn or port_loss
        self.optimizer_fn = optimizer_fn or port_optimizer
        self.variables = [w for b in self.bindings for w in b.keras_weights]
        ids = tf.TensorSpec([None, None], tf.int32)
        lengths = tf.TensorSpec([None], tf.int32)
        signature = [ids, lengths, ids, ids, lengths]

        @tf.function(input_signature=signature)
        def forward(*fields):
            batch = Batch(*fields)
            logits = model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}, training=False)
            if self.loss_fn is port_loss:  # the same loss on the logits at hand: one forward pass, not two
                from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

                return logits, SequenceLoss()(batch.decoder_target_ids, logits)
            return logits, self.loss_fn(model, batch)

        self._forward = forward

    @staticmethod
    def _fields(batch: Batch) -> list[np.ndarray]:
        return [np.asarray(batch.encoder_ids, np.int32), np.asarray(batch.encoder_lengths, np.int32),
                np.asarray(batch.decoder_input_ids, np.int32), np.asarray(batch.decoder_target_ids, np.int32),
                np.asarray(batch.target_lengths, np.int32)]

    def forward(self, batch: Batch) -> tuple[np.ndarray, float]:
        logits, loss = self._forward(*self._fields(batch))
        return np.asarray(logits), float(loss)

    def to_tf1(self, arrays: dict[int, np.ndarray], linear: bool) -> dict[str, np.ndarray]:
        """{id(keras variable): array} -> {TF1 name: array} through every binding's inverse."""
        out = {}
        for b in self.bindings:
            try:
                back = b.to_tf1([arrays[id(w)] for w in b.keras_weights], linear=linear)
            except ValueError as e:
                raise _UnmappableError(b, str(e)) from None
            out.update(zip(b.tf1_names, back))
        return out

    def weights(self) -> dict[str, np.ndarray]:
        return self.to_tf1({id(w): np.asarray(w.numpy()) for w in self.variables}, linear=False)

    def _grads(self, batch: Batch) -> list:
        # Eager: tracing the gradient of the decoder's while_loop costs more (7.7 s measured, 2-layer bi
        # attention) than the few backward passes a parity run makes (1.2 s each).
        tf = self.tf
        with tf.GradientTape() as tape:
            loss = self.loss_fn(self.model, Batch(*(tf.constant(f) for f in self._fields(batch))))
        return tape.gradient(loss, self.variables)

    def gradients(self, batch: Batch) -> dict[str, np.ndarray]:
        grads = self._grads(batch)
        dense = {id(w): np.asarray(self.tf.convert_to_tensor(g)) if g is not None else np.zeros(w.shape, np.float32)
                 for w, g in zip(self.variables, grads)}
        return self.to_tf1(dense, linear=True)

    def adam_steps(self, batches: Sequence[Batch], steps: int, hparams: HParams) -> dict[str, np.ndarray]:
        """K steps of the port's optimizer (fresh) from the current weights; the weights after (then restored)."""
        before = [np.asarray(w.numpy()) for w in self.variables]
        opt = self.optimizer_fn(hparams)
        for k in range(steps):
            grads = self._grads(batches[k % len(batches)])
            opt.apply_gradients(list(zip(grads, self.variables)))
        after = self.to_tf1({id(w): np.asarray(w.numpy()) for w in self.variables}, linear=False)
        for w, v in zip(self.variables, before):
            w.assign(v)
        return after

    def greedy(self, batch: Batch) -> np.ndarray:
        return np.asarray(self.model.greedy_decode(np.asarray(batch.encoder_ids, np.int32)))


class _UnmappableError(Exception):
    def __init__(self, binding: Any, why: str):
        super().__init__(why)
        self.binding = binding


# -- loading -------------------------------------------------------------------------------------------


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

    try:
        prefix = model_helper.latest_checkpoint(path)
    except model_helper.CheckpointError as e:
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


def load_port(keras_model: Any) -> Any:
    """A `.keras` file path -> the loaded `tf2.Seq2Seq` (or the model object itself)."""
    if not isinstance(keras_model, str | os.PathLike):
        return keras_model
    path = os.fspath(keras_model)
    if not os.path.isfile(path):
        raise ParityInputError(f"{path}: no such file; expected a .keras file written by `tf-migrate convert` "
                               f"(or leave --keras out to convert the checkpoint on the fly)")
    import keras  # noqa: PLC0415

    import tf2.seq2seq  # noqa: F401, PLC0415  (registers tf2>Seq2Seq for deserialisation)

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # zip / h5 / config errors all mean the same to the user
        raise ParityInputError(f"{path}: cannot load as a Keras model ({type(e).__name__}: {str(e)[:200]}); "
                               f"expected a .keras file of a tf2.Seq2Seq") from None


def bind(model: Any, prefix: str, forget_bias: float) -> list[Any]:
    """The converter's bindings of `model` to the checkpoint at `prefix`; a clear error when incomplete."""
    from migrate.checkpoint.bindings import bind_seq2seq  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
    from migrate.checkpoint.recognise import recognise  # noqa: PLC0415

    plan = bind_seq2seq(model, recognise(Checkpoint.open(prefix).variables), forget_bias)
    problems = plan.missing + plan.mismatched + [f"unused checkpoint variable {u}" for u in plan.unexpected]
    if problems:
        raise ParityInputError(f"{prefix}: the Keras model and the checkpoint do not map onto each other "
                               f"({len(problems)} problem(s)):\n  - " + "\n  - ".join(problems))
    return plan.bindings


def convert_on_the_fly(hparams: HParams, prefix: str) -> Any:
    """A fresh `tf2.Seq2Seq(hparams)` with the checkpoint's weights, through the converter's bindings."""
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    model = Seq2Seq(hparams)
    ckpt = Checkpoint.open(prefix)
    for b in bind(model, prefix, hparams.forget_bias):
        for w, v in zip(b.keras_weights, b.to_keras([ckpt.read(n) for n in b.tf1_names])):
            w.assign(np.asarray(v, dtype=np.float32))
    return model


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


# -- the comparison ------------------------------------------------------------------------------------


def _weight_context(name: str, binding: Any, role_index: int, legacy: dict[str, np.ndarray]) -> WeightContext:
    from migrate.checkpoint.bindings import TRANSFORMS  # noqa: PLC0415

    family = binding.transform if binding.transform in ("lstm", "gru") else None
    role = TRANSFORMS[binding.transform][0][role_index] if family else name.rsplit("/", 1)[-1]
    mirror = name.replace("/fw/", "/bw/") if "/fw/" in name else name.replace("/bw/", "/fw/")
    return WeightContext(name=name, family=family, role=role, input_size=binding.input_size,
                         forget_bias=binding.forget_bias if family == "lstm" else None,
                         partner=legacy.get(mirror) if mirror != name else None)


def _annotate(result: ParityResult, ctx: WeightContext, expected: np.ndarray, actual: np.ndarray,
              diagnose: bool = True) -> ParityResult:
    if result.ok:
        return result
    if result.max_abs_index is not None:
        where = describe_index(result.max_abs_index, result.shape, ctx)
        if where:
            result.notes.append(f"Index {result.max_abs_index} is {where}.")
    if diagnose:
        cause = diagnose_weight(expected, actual, ctx)
        if cause:
            result.notes.append(cause)
    return result


def _tol(kind: str, rtol: float | None, atol: float | None) -> dict[str, float]:
    d_rtol, d_atol = STEP_TOLERANCES[kind]
    return {"rtol": d_rtol if rtol is None else rtol, "atol": d_atol if atol is None else atol}


def compare_sides(legacy: LegacyRunner, port: PortRunner, batches: Sequence[Batch], *,
                  checks: Sequence[str] = CHECKS, adam_steps: int = 3, rtol: float | None = None,
                  atol: float | None = None, mask_padding: bool = True) -> list[ParityResult]:
    """Every requested check, as `ParityResult`s in `CHECKS` order (see the module table).

    `mask_padding=False` compares the logits at padded decoder steps too (what a naive check does;
    the mutation suite uses it): a failure then says whether every mismatch lies in the padding.
    """
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ParityInputError(f"unknown check(s) {', '.join(sorted(unknown))}; expected some of {', '.join(CHECKS)}")
    results: list[ParityResult] = []
    legacy_values = legacy.values()
    by_name = {n: (b, i) for b in port.bindings for i, n in enumerate(b.tf1_names)}
    names = [n for n in legacy.names if n in by_name]

    def per_variable(kind: str, label: str, want: dict[str, np.ndarray], have: dict[str, np.ndarray],
                     diagnose: bool, tol: dict[str, float] | None = None) -> None:
        for n in names:
            b, i = by_name[n]
            r = compare(want[n], have[n], name=f"{label} {n}", time_axis=None, **(tol or _tol(kind, rtol, atol)))
            results.append(_annotate(r, _weight_context(n, b, i, legacy_values), want[n], have[n], diagnose))

    def unmappable(kind: str, e: _UnmappableError) -> None:
        for n in e.binding.tf1_names:
            r = ParityResult(name=f"{kind} {n}", ok=False, shape=tuple(legacy_values[n].shape), rtol=0, atol=0,
                             problem=f"Cannot map the port's {e.binding.what} back to TF1 layout: {e}")
            results.append(r)

    mapped = True
    if "weights" in checks:
        try:
            per_variable("logits", "weight", legacy_values, port.weights(), diagnose=True)
        except _UnmappableError as e:
            unmappable("weight", e)
            mapped = False

    if "logits" in checks or "loss" in checks:
        l_logits, p_logits, l_loss, p_loss, masks = [], [], [], [], []
        for batch in batches:
            a, la = legacy.forward(batch)
            b, lb = port.forward(batch)
            l_logits.append(a)
            p_logits.append(b)
            l_loss.append(la)
            p_loss.append(lb)
            masks.append(batch.decoder_input_ids != 0)
        if "logits" in checks:
            mask = stack_padded(masks, fill=False).astype(bool)
            want, have = stack_padded(l_logits), stack_padded(p_logits)
            tol = _tol("logits", rtol, atol)
            if atol is None and mask.any():
                tol["atol"] = max(tol["atol"], LOGIT_SCALE_FRACTION * float(np.abs(want[mask]).max()))
            r = compare(want, have, mask if mask_padding else None, name="logits", logits=True, **tol)
            if not r.ok and not mask_padding:
                bad = ~np.isclose(have, want, rtol=tol["rtol"], atol=tol["atol"])
                in_pad = int((bad & ~mask[..., None]).sum())
                if in_pad == int(bad.sum()):
                    r.notes.append(f"Likely cause: padded positions compared: all {in_pad} mismatched elements are "
                                   f"at padded decoder steps (decoder_ids == 0), where TF1's dynamic_rnn emits zeros "
                                   f"and a Keras RNN repeats its last output; compare valid positions only (mask = "
                                   f"decoder_ids != 0).")
                else:
                    r.notes.append(f"{in_pad} of {int(bad.sum())} mismatched elements are at padded decoder steps.")
            if not r.ok and len(batches) > 1:
                sizes = np.cumsum([m.shape[0] for m in masks])
                row = r.max_abs_index[0] if r.max_abs_index else 0
                k = int(np.searchsorted(sizes, row, side="right"))
                r.notes.append(f"Rows are the {len(batches)} batches stacked: row {row} is row "
                               f"{row - (sizes[k - 1] if k else 0)} of batch {k}.")
            results.append(r)
        if "loss" in checks:
            r = compare(np.array(l_loss), np.array(p_loss), name="loss", time_axis=None, **_tol("loss", rtol, atol))
            if not r.ok:
                r.notes.extend(_loss_hints(l_logits, batches, p_loss))
            results.append(r)

    grads: tuple[dict, dict] | None = None
    if ("gradients" in checks or "adam" in checks) and mapped:
        try:
            grads = legacy.gradients(batches[0]), port.gradients(batches[0])
        except _UnmappableError as e:
            unmappable("grad", e)
            mapped = False
    if "gradients" in checks and grads is not None:
        per_variable("gradients", "grad", grads[0], grads[1], diagnose=False)
    if "adam" in checks and grads is not None and adam_steps > 0:
        want = legacy.adam_steps(batches, adam_steps)
        have = port.adam_steps(batches, adam_steps, legacy.hparams)
        tol = _tol("adam", rtol, atol)
        if atol is None:
            tol["atol"] = max(tol["atol"], ADAM_LR_FRACTION * adam_steps * legacy.hparams.learning_rate)
        failed_before = len(results)
        per_variable("adam", "adam", want, have, diagnose=False, tol=tol)
        adam_bad = [r for r in results[failed_before:] if not r.ok]
        grads_ok = all(r.ok for r in results if r.name.startswith("grad "))
        if adam_bad and grads_ok:
            adam_bad[0].notes.append(
                "Likely cause: the optimizer differs (the gradients agree, the weights after the steps do not): "
                "check learning rate, beta1 0.9 / beta2 0.999, epsilon (TF1's AdamOptimizer uses 1e-8, Keras's "
                "Adam defaults to 1e-7) and gradient clipping (clip_by_global_norm = global_clipnorm).")
    if "greedy" in checks:
        l_ids = [legacy.greedy(b) for b in batches]
        p_ids = [port.greedy(b) for b in batches]
        r = compare(np.concatenate(l_ids), np.concatenate(p_ids), name="greedy ids")
        if not r.ok:
            bad = np.argwhere(np.concatenate(l_ids) != np.concatenate(p_ids))
            row, t = (int(x) for x in bad[0])
            r.notes.append(f"First differing token: row {row}, step {t}: legacy {np.concatenate(l_ids)[row, t]}, "
                           f"port {np.concatenate(p_ids)[row, t]} ({len(set(bad[:, 0].tolist()))} row(s) differ).")
        results.append(r)
    return results


# Logits: atol is at least this share of the largest |legacy logit| at valid positions. float32 error
# grows with the magnitude of what is accumulated, and trained models have large logits: the demo's
# model (LSTM 64 + scaled Luong, 3565 steps, max |logit| 57.5) differs by 6.5e-5 = 1.1e-6 x scale at a
# logit of 19.5 (~10 ulps), over the fixed 1e-5. 1e-5 x scale is 9x above that; the smallest known
# bug (GRU reset_after=True) is 1.7e-2 at random weights (scale ~1-3), i.e. ~1e-2 x scale.
# At scale <= 1 this is the migration guide's atol 1e-5 unchanged.
LOGIT_SCALE_FRACTION = 1e-5

# Weights after K Adam steps: atol is at least this share of K * learning_rate, the most K Adam steps
# can move a weight. Adam normalises g / (sqrt(v) + 1e-8), so where a gradient is near 0 it turns the
# float32 gradient gap (~1e-8) into moves of up to lr; measured (docs/parity.md, 200-step model, K=3):
# correct port 0.0065 * K*lr, Keras's default epsilon 1e-7 0.93, beta2 0.99 0.64, lr 1% off 0.18.
ADAM_LR_FRACTION = 0.03


def _loss_hints(legacy_logits: list[np.ndarray], batches: Sequence[Batch], port_loss: list[float]) -> list[str]:
    """Name a known loss mistake: averaging over padded positions too, or summing instead of averaging."""
    alt_all, alt_sum = [], []
    for logits, b in zip(legacy_logits, batches):
        z = logits.astype(np.float64)
        lse = np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1)) + z.max(-1)
        xent = lse - np.take_along_axis(z, b.decoder_target_ids[..., None].astype(np.int64), -1)[..., 0]
        valid = b.decoder_input_ids != 0
        alt_all.append(xent.mean())
        alt_sum.append((xent * valid).sum())
    hints = []
    if np.allclose(alt_all, port_loss, rtol=1e-5, atol=1e-5):
        hints.append("Likely cause: padded positions counted in the loss: the port's loss equals the mean "
                     "cross-entropy over ALL B*T positions, padding included; the legacy sequence_loss averages "
                     "over valid target tokens only (weights = sequence_mask(target_lengths)).")
    elif np.allclose(alt_sum, port_loss, rtol=1e-5, atol=1e-4):
        hints.append("Likely cause: the port's loss is the SUM of cross-entropies over valid tokens; "
                     "sequence_loss averages (average_across_timesteps and _batch = True).")
    return hints


class ParityPair:
    """A legacy graph and a port built from the same hparams, weights moved by the converter; no files.

    What the parity suite and `--hparams`-only checks use: `set_legacy_weights(values)` loads TF1 values
    into the legacy graphs AND converts them into the port through the converter's bindings (as
    `tf-migrate convert` would), then `run(batches)` compares.

    Args:
        hparams: the architecture (dropout is set to 0 on both sides).
        greedy: also build the legacy infer graph (the greedy check).
        backward: False builds only the legacy eval graph (logits, loss, greedy; no gradients / Adam).
        port: a port model to use instead of `tf2.Seq2Seq(hparams)` (e.g. a mutated one).
    """

    def __init__(self, hparams: HParams, greedy: bool = True, port: Any = None, backward: bool = True):
        from migrate.checkpoint.bindings import bind_seq2seq  # noqa: PLC0415
        from migrate.checkpoint.reader import VariableInfo  # noqa: PLC0415
        from migrate.checkpoint.recognise import recognise  # noqa: PLC0415

        self.hparams = hparams
        self.legacy = LegacyRunner(hparams, greedy=greedy, backward=backward)
        if port is None:
            from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

            port = Seq2Seq(hparams.replace(dropout=0.0))
        self.port = port
        variables = {n: VariableInfo(n, tuple(int(d) for d in v.shape), "float32")
                     for n, v in self.legacy.forward_graph.trainable.items()}
        plan = bind_seq2seq(port, recognise(variables), hparams.forget_bias)
        problems = plan.missing + plan.mismatched + plan.unexpected
        if problems:
            raise ParityInputError("the converter cannot bind the port to the legacy graph: " + "; ".join(problems))
        self.bindings = plan.bindings
        self.values = self.legacy.values()

    def set_legacy_weights(self, values: dict[str, np.ndarray]) -> None:
        """TF1 values -> legacy graphs, and converted (Binding.to_keras) -> the port."""
        self.values = {n: np.asarray(v, np.float32) for n, v in values.items()}
        self.legacy.load(self.values)
        for b in self.bindings:
            for w, v in zip(b.keras_weights, b.to_keras([self.values[n] for n in b.tf1_names])):
                w.assign(np.asarray(v, np.float32))

    def random_weights(self, seed: int, scale: float = 0.5) -> dict[str, np.ndarray]:
        """U(-scale, scale) for every variable, biases included (never zero); attention_g in [0.5, 1.5]."""
        rng = np.random.RandomState(seed)
        out = {}
        for n in self.legacy.names:
            shape = self.values[n].shape
            v = rng.uniform(-scale, scale, shape)
            if n.endswith("attention_g"):
                v = rng.uniform(0.5, 1.5, shape)
            out[n] = v.astype(np.float32)
        return out

    def train_legacy(self, batches: Sequence[Batch], steps: int) -> dict[str, np.ndarray]:
        """`steps` legacy train_op runs from the current weights (fresh Adam); returns the trained values."""
        trained = self.legacy.adam_steps(batches, steps)
        return trained

    def runner(self, loss_fn: Callable | None = None, optimizer_fn: Callable | None = None) -> PortRunner:
        """A `PortRunner` of this pair's port; the default one is kept, so its traced forward pass is reused."""
        if loss_fn is None and optimizer_fn is None:
            if getattr(self, "_default_runner", None) is None:
                self._default_runner = PortRunner(self.port, self.bindings)
            return self._default_runner
        return PortRunner(self.port, self.bindings, loss_fn, optimizer_fn)

    def run(self, batches: Sequence[Batch], *, checks: Sequence[str] = CHECKS, adam_steps: int = 2,
            rtol: float | None = None, atol: float | None = None, loss_fn: Callable | None = None,
            optimizer_fn: Callable | None = None, port_runner: PortRunner | None = None,
            mask_padding: bool = True) -> ParityReport:
        """Compare on `batches` (see `compare_sides`); `loss_fn` / `optimizer_fn` / `port_runner` replace
        the port's own loss, optimizer or whole runner (the mutation suite injects mistakes this way)."""
        start = time.time()
        runner = port_runner or self.runner(loss_fn, optimizer_fn)
        results = compare_sides(self.legacy, runner, batches, checks=checks,
                                adam_steps=adam_steps, rtol=rtol, atol=atol, mask_padding=mask_padding)
        return ParityReport(results=results, info={"hparams": self.hparams.to_dict(), "batches": len(batches),
                                                   "seconds": round(time.time() - start, 2)})

    def close(self) -> None:
        self.legacy.close()


def run_parity(legacy: str, keras: Any = None, *, batches: int = 2, seed: int = 0, batch_size: int | None = None,
               adam_steps: int = 3, rtol: float | None = None, atol: float | None = None,
               checks: Sequence[str] | None = None, hparams: HParams | str | None = None,
               loss_fn: Callable | None = None) -> ParityReport:
    """Compare a legacy TF1 checkpoint with a Keras port on the same batches; see the module table.

    Args:
        legacy: a legacy model directory (its latest checkpoint; hparams.json and vocabularies beside
            it) or a checkpoint prefix (`DIR/model.ckpt-1000`).
        keras: a `.keras` file, a Keras model object, or None to convert the checkpoint on the fly.
        batches: number of padded batches compared (task batches and random-id batches alternate).
        seed: which batches.
        batch_size: rows per batch (default min(hparams.batch_size, 8)).
        adam_steps: K for "weights after K Adam steps" (0 skips the check).
        rtol, atol: one tolerance for every float check (default: `STEP_TOLERANCES` per check).
        checks: a subset of `CHECKS` (default all).
        hparams: the legacy model's hparams (a path or object) when hparams.json is not beside it.
        loss_fn: the port's loss, `loss_fn(model, batch) -> scalar` (default `port_loss`: tf2.SequenceLoss).

    Returns:
        A `ParityReport`; truthy when every check is within tolerance.

    Raises:
        ParityInputError: unusable input (exit code 2 in the CLI).
    """
    start = time.time()
    checks = tuple(checks or CHECKS)
    if batches < 1:
        raise ParityInputError(f"--batches {batches}: expected at least 1")
    li = resolve_legacy(legacy, hparams)
    port = convert_on_the_fly(li.hparams, li.prefix) if keras is None else load_port(keras)
    check_architecture(li.hparams, port)
    bindings = bind(port, li.prefix, li.hparams.forget_bias)
    data = parity_batches(li.hparams, batches, seed, batch_size, li.src_vocab, li.tgt_vocab)
    runner = LegacyRunner(li.hparams, li.prefix, greedy="greedy" in checks)
    try:
        results = compare_sides(runner, PortRunner(port, bindings, loss_fn), data, checks=checks,
                                adam_steps=adam_steps, rtol=rtol, atol=atol)
    finally:
        runner.close()
    report = ParityReport(results=results)
    report.info = {"legacy": li.prefix, "keras": keras if isinstance(keras, str) else
                   ("converted on the fly" if keras is None else type(keras).__name__),
                   "batches": batches, "rows": int(sum(b.size for b in data)), "seed": seed,
                   "adam_steps": adam_steps, "checks": list(checks), "rtol": rtol, "atol": atol,
                   "hparams": li.hparams.to_dict(), "seconds": round(time.time() - start, 2)}
    if li.hparams.dropout:
        report.notes.append(f"hparams dropout={li.hparams.dropout} was set to 0 on both sides: parity compares "
                            f"deterministic functions.")
    return report
