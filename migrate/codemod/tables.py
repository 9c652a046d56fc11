"""What the codemod knows: TensorFlow's own rename tables plus our small, commented corrections.

The bulk comes from `tf_tables.json`, generated from the installed TensorFlow's
`tensorflow/tools/compatibility` (the tables `tf_upgrade_v2` uses) and from the public API
of TF 2.21 itself (see `generate_tables.py`). Everything typed by hand lives in the tables below, each
entry with the reason it exists.

`resolve(name)` is the single decision function: given the TF 1.x dotted name a piece of code refers to
(`"tf.log"`, `"tf.contrib.rnn.LSTMCell"`, ...), it returns what that name becomes in TF 2.21.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from migrate.codemod.semantics import COMPAT, SEMANTICS, SemanticChange

TABLES_PATH = Path(__file__).with_name("tf_tables.json")
PRIVATE_PATH = Path(__file__).with_name("tf_private_modules.json")  # read only when a file imports one

# --------------------------------------------------------------------------------------------------
# Corrections of TF 2.21's `tf_upgrade_v2` tables (`symbol_renames`), exact names.
# Each was checked against the TF 2.21 API (`tf_tables.json["api_v2"]`).
OVERRIDES: dict[str, str] = {
    # tf_upgrade_v2 maps it to tf.nn.rnn_cell.LSTMStateTuple, which does not exist in TF 2.x.
    "tf.contrib.rnn.LSTMStateTuple": "tf.compat.v1.nn.rnn_cell.LSTMStateTuple",
    "tf.nn.rnn_cell.LSTMStateTuple": "tf.compat.v1.nn.rnn_cell.LSTMStateTuple",
    # TF 1.x summary ops. The 2.21 table leaves `tf.summary.*` as is; `merge` / `merge_all` / `FileWriter` /
    # `tensor_summary` do not exist in TF 2 at all. (`scalar`, `histogram`, `image`, `audio`, `text` are TF 2's
    # v2 summary API with another meaning: decided at each call, `semantics.SEMANTICS`.)
    "tf.summary.tensor_summary": "tf.compat.v1.summary.tensor_summary",
    "tf.summary.merge": "tf.compat.v1.summary.merge",
    "tf.summary.merge_all": "tf.compat.v1.summary.merge_all",
    "tf.summary.FileWriter": "tf.compat.v1.summary.FileWriter",
    # TF 1.x layers. The 2.21 table has no `tf.layers.*` entry any more (the module is gone from TF 2);
    # the only home of the same functions with the same variable names is `tf.compat.v1.layers`
    # (needs legacy Keras: reported by rule TFM005).
    "tf.layers": "tf.compat.v1.layers",
    # (`tf.where`, `tf.strings.split`, `tf.name_scope`, `tf.nn.softmax_cross_entropy_with_logits`, ...:
    # names TF 2 kept with another meaning are not renamed here but at each call, by rule TFM008, from the
    # semantic-change table `semantics.SEMANTICS`.)
}

# TensorFlow's private packages (`from tensorflow.python.ops import lookup_ops`): not public API, not in
# the rename tables. References through them are left as they are; an import of a module or name that
# TF 2.21 no longer has is a finding (TFM004), checked against `tf_private_modules.json`.
PRIVATE_MODULES: frozenset[str] = frozenset({"python", "core", "compiler", "lite", "tools", "dtensor", "tsl"})

# Where private TF 1 modules that TF 2.21 lacks went (longest prefix wins), checked by hand against TF 2.21.
# Otherwise the finding names the private modules that define the same name now (`PrivateModules.definers`).
PRIVATE_HINTS: dict[str, str] = {
    # tensorflow/python/estimator was a shim of the tensorflow_estimator package; both are gone since TF 2.16.
    "tensorflow.python.estimator": "tf.estimator (and the `tensorflow_estimator` package) is gone since TF "
                                   "2.16: port the model to Keras 3 (`keras.Model.fit` / `evaluate` / `predict`)",
    # ... its mode keys have a successor with the same values (tf_migrate_runtime/estimator.py).
    "tensorflow.python.estimator.model_fn.ModeKeys": "use `from tf_migrate_runtime.estimator import ModeKeys` "
                                                     "(TF 1's values: 'train', 'eval', 'infer')",
    "tensorflow.python.estimator.mode_keys.ModeKeys": "use `from tf_migrate_runtime.estimator import ModeKeys` "
                                                      "(TF 1's values: 'train', 'eval', 'infer')",
    # TF 2.16+ bundles Keras 3 (`import keras`); TF 2 Keras 2 internals live on in the `tf_keras` package.
    "tensorflow.python.keras": "TF 2.21's Keras is Keras 3 (`import keras`); the Keras 2 internals are in the "
                               "`tf_keras` package (`tf_keras.src...`)",
    "tensorflow.contrib": "tf.contrib is gone in TF 2",
    # TF 1's training_ops re-exported the generated training kernels; TF 2.21 has them in ops/gen_training_ops.
    "tensorflow.python.training.training_ops": "its ops (resource_apply_adam, ...) are in "
                                               "`tensorflow.python.ops.gen_training_ops`: `from "
                                               "tensorflow.python.ops import gen_training_ops as training_ops`",
}

# Private names TF 2.21 still has under another name, exact names: TFM004 rewrites the import to the new
# name bound to the old one (`from tensorflow.python.util.nest import is_nested as is_sequence`).
# Checked against TF 2.21's tensorflow/python/util/nest.py (is_sequence was renamed is_nested in TF 2.x;
# the same function).
PRIVATE_RENAMES: dict[str, str] = {
    "tensorflow.python.util.nest.is_sequence": "is_nested",
}

# Whole modules that moved: imports of them are rewritten in place by rule TFM004 (`import tf_slim as slim`), longest
# prefix first. contrib's internal layout (`tensorflow/contrib/slim/python/slim/data/...`) maps onto
# tf-slim 1.1's (`tf_slim/data/...`); every result is checked to exist before it is written.
MODULE_MOVES: dict[str, str] = {
    "tf.contrib.slim.python.slim.nets": "tf_slim.nets",
    "tf.contrib.slim.python.slim": "tf_slim",
    "tf.contrib.slim.nets": "tf_slim.nets",
    "tf.contrib.slim": "tf_slim",
    "tf.contrib.layers.python.layers": "tf_slim.layers",
    "tf.contrib.framework.python.ops": "tf_slim.ops",
    # contrib.rnn's private layout: the core RNN functions and cells live on in tf.compat.v1.nn
    "tf.contrib.rnn.python.ops.core_rnn_cell": "tf.compat.v1.nn.rnn_cell",
    "tf.contrib.rnn.python.ops.core_rnn": "tf.compat.v1.nn",
}

# A moved package whose `__init__` re-exported its submodules' names (`from
# tensorflow.contrib.framework.python.ops import add_arg_scope`) where the successor's `__init__` does not
# (`tf_slim/ops/__init__.py` is empty): a name the moved module lacks is looked up here (tf_slim's top level
# re-exports arg_scope / variables / layers names).
MODULE_MOVE_FALLBACKS: dict[str, str] = {
    "tf_slim.ops": "tf_slim",
    "tf_slim.layers": "tf_slim",
}



def module_move(canon: str) -> str | None:
    """`tf.contrib.slim.python.slim.data` -> `tf_slim.data` (MODULE_MOVES, longest prefix)."""
    for old in sorted(MODULE_MOVES, key=len, reverse=True):
        if canon == old or canon.startswith(old + "."):
            return MODULE_MOVES[old] + canon[len(old):]
    return None


def import_move(canon: str, name: str, exists) -> str | None:
    """The module to import `name` from, for `from <canon> import name` (MODULE_MOVES, then the moved
    module's fallback), or None when the successor lacks it (`exists`: `Tables.exists`)."""
    moved = module_move(canon)
    if moved is None:
        return None
    for module in (moved, MODULE_MOVE_FALLBACKS.get(moved)):
        if module is not None and exists(f"{module}.{name}"):
            return module
    return None


def moved_name(canon: str, exists) -> str | None:
    """`tf.contrib.framework.python.ops.add_arg_scope` -> `tf_slim.add_arg_scope`: MODULE_MOVES, then, for a
    name the moved module lacks, its fallback (`exists`: `Tables.exists`)."""
    parts = canon.split(".")
    dunder = next((i for i, p in enumerate(parts) if p.startswith("__")), len(parts))
    if dunder < len(parts):  # `add_arg_scope.__name__`: where `add_arg_scope` went, then the dunder
        moved = moved_name(".".join(parts[:dunder]), exists)
        return None if moved is None else ".".join([moved, *parts[dunder:]])
    moved = module_move(canon)
    if moved is not None and not exists(moved):
        head = next((m for m in MODULE_MOVE_FALLBACKS if moved.startswith(m + ".")), None)
        if head is not None and exists(MODULE_MOVE_FALLBACKS[head] + moved[len(head):]):
            return MODULE_MOVE_FALLBACKS[head] + moved[len(head):]
    return moved


# Names that exist in the TF 2.21 API although `api_v2` cannot list them (set with `setattr` at import).
EXTRA_API: frozenset[str] = frozenset({
    "tf.compat.v1.flags", "tf.compat.v1.app.flags",  # tensorflow/_api/v2/compat/v1/__init__.py: setattr
})

# Prefixes treated as resolvable without enumeration: Keras 3 (tf.keras) and the legacy-Keras
# compat.v1 Keras, whose contents depend on TF_USE_LEGACY_KERAS.
OPAQUE_PREFIXES: tuple[str, ...] = ("tf.keras", "tf.compat.v1.keras")
# ... except these, which neither Keras 3 nor tf_keras has (tf_upgrade_v2's table names them as targets;
# `tests/test_codemod_tables.py` imports every target and found them missing).
MISSING: frozenset[str] = frozenset({
    "tf.compat.v1.keras.experimental.load_from_saved_model",
    "tf.compat.v1.keras.experimental.export_saved_model",
})

# --------------------------------------------------------------------------------------------------
# tf.contrib: module-level successors, longest prefix wins. `tf.*` targets are checked against the
# TF 2.21 API, `tf_slim.*` targets against tf_slim 1.1 (`tf_tables.json["tf_slim"]`).
CONTRIB_MODULES: dict[str, tuple[str, ...]] = {
    "tf.contrib.slim": ("tf_slim",),                      # the same library, split out (pip: tf-slim)
    "tf.contrib.layers": ("tf_slim.layers", "tf_slim"),   # tf_slim.layers is contrib.layers; initializers
                                                          # (xavier_initializer, ...) are re-exported by tf_slim
    "tf.contrib.framework": ("tf_slim",),                 # arg_scope, add_arg_scope, get_variables, ...
    "tf.contrib.rnn": ("tf.compat.v1.nn.rnn_cell",),      # the core cells; contrib-only cells -> finding
}

# tf.contrib names whose successor TF 2.21 has under another name, exact names (checked against the TF 2.21
# API by tests/test_codemod_tables.py). The contrib metrics are TF 1.15's `tf.metrics` under another name
# (contrib/metrics/python/ops/metric_ops.py delegates to them); where TF 1's positional order differs
# (predictions before labels), CONTRIB_REORDERS gives it and rule TFM002 passes the arguments by keyword.
CONTRIB_RENAMES: dict[str, str] = {
    # contrib.lookup's HashTable is TF 1.15's tf.lookup.StaticHashTable (HashTable was its old name);
    # (initializer, default_value, ..., name) in both.
    "tf.contrib.lookup.HashTable": "tf.lookup.StaticHashTable",
    "tf.contrib.lookup.KeyValueTensorInitializer": "tf.lookup.KeyValueTensorInitializer",
    "tf.contrib.lookup.TextFileInitializer": "tf.lookup.TextFileInitializer",
    "tf.contrib.lookup.TextFileIndex": "tf.lookup.TextFileIndex",
    "tf.contrib.metrics.streaming_mean": "tf.compat.v1.metrics.mean",
    "tf.contrib.metrics.streaming_mean_tensor": "tf.compat.v1.metrics.mean_tensor",
    "tf.contrib.metrics.streaming_percentage_less": "tf.compat.v1.metrics.percentage_below",
    "tf.contrib.metrics.streaming_accuracy": "tf.compat.v1.metrics.accuracy",
    "tf.contrib.metrics.streaming_precision": "tf.compat.v1.metrics.precision",
    "tf.contrib.metrics.streaming_recall": "tf.compat.v1.metrics.recall",
    "tf.contrib.metrics.streaming_true_positives": "tf.compat.v1.metrics.true_positives",
    "tf.contrib.metrics.streaming_true_negatives": "tf.compat.v1.metrics.true_negatives",
    "tf.contrib.metrics.streaming_false_positives": "tf.compat.v1.metrics.false_positives",
    "tf.contrib.metrics.streaming_false_negatives": "tf.compat.v1.metrics.false_negatives",
    "tf.contrib.metrics.streaming_auc": "tf.compat.v1.metrics.auc",
    "tf.contrib.metrics.streaming_mean_absolute_error": "tf.compat.v1.metrics.mean_absolute_error",
    "tf.contrib.metrics.streaming_mean_squared_error": "tf.compat.v1.metrics.mean_squared_error",
    "tf.contrib.metrics.streaming_root_mean_squared_error": "tf.compat.v1.metrics.root_mean_squared_error",
    "tf.contrib.metrics.streaming_mean_relative_error": "tf.compat.v1.metrics.mean_relative_error",
    "tf.contrib.metrics.streaming_mean_cosine_distance": "tf.compat.v1.metrics.mean_cosine_distance",
    "tf.contrib.metrics.streaming_mean_iou": "tf.compat.v1.metrics.mean_iou",
}
_PL = ["predictions", "labels"]
_TAIL = ["weights", "metrics_collections", "updates_collections", "name"]
CONTRIB_REORDERS: dict[str, list[str]] = {
    **{f"tf.contrib.metrics.streaming_{m}": _PL + _TAIL for m in (
        "accuracy", "precision", "recall", "true_positives", "true_negatives", "false_positives",
        "false_negatives", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error")},
    "tf.contrib.metrics.streaming_auc": _PL + ["weights", "num_thresholds", "metrics_collections",
                                               "updates_collections", "curve", "name", "summation_method"],
    "tf.contrib.metrics.streaming_mean_relative_error": _PL + ["normalizer"] + _TAIL,
    "tf.contrib.metrics.streaming_mean_cosine_distance": _PL + ["dim"] + _TAIL,
    "tf.contrib.metrics.streaming_mean_iou": _PL + ["num_classes"] + _TAIL,
}

# tf.contrib successors kept in this distribution's runtime package (`tf_migrate_runtime`), one entry per
# contrib name, in that package's own table (`tf_migrate_runtime/successors.py`, pure data: importing it
# loads no TensorFlow). Keys that name a module map the module; its members not listed are not provided.
RUNTIME_PACKAGE = "tf_migrate_runtime"


def _successors() -> dict[str, str]:
    try:
        from tf_migrate_runtime.successors import SUCCESSORS  # noqa: PLC0415
    except ImportError:  # an older runtime package: no contrib successors
        return {}
    return {k: v.target for k, v in SUCCESSORS.items()}

# Suggestions for contrib members without a successor (longest prefix first; "tf.contrib" is the default).
CONTRIB_HINTS: dict[str, str] = {
    "tf.contrib.learn": "tf.estimator is gone in TF 2.16+ too: port it to Keras 3 by hand",
    "tf.contrib.seq2seq": "port it by hand (tfa.seq2seq is end-of-life and does not support Keras 3), "
                          "or add it to tf_migrate_runtime",
    # contrib.rnn's stacked bidirectional RNN has no TF 2 function (tf.compat.v1.nn has the single-layer
    # bidirectional_dynamic_rnn only)
    "tf.contrib.rnn.stack_bidirectional_dynamic_rnn": "TF 2 has no stacked bidirectional RNN function: stack "
        "keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True)) layers (one per layer of "
        "cells_fw / cells_bw), or loop over tf.compat.v1.nn.bidirectional_dynamic_rnn, concatenating each "
        "layer's two outputs as the next layer's input",
    "tf.contrib.rnn.python.ops.rnn.stack_bidirectional_dynamic_rnn": "TF 2 has no stacked bidirectional RNN "
        "function: stack keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True)) layers (one "
        "per layer of cells_fw / cells_bw), or loop over tf.compat.v1.nn.bidirectional_dynamic_rnn, "
        "concatenating each layer's two outputs as the next layer's input",
    "tf.contrib.rnn": "use a tf.compat.v1.nn.rnn_cell cell or a Keras 3 layer (keras.layers.LSTM/GRU)",
    "tf.contrib.cudnn_rnn": "keras.layers.LSTM/GRU use cuDNN when they can (TF 2 migration guide)",
    "tf.contrib": "port it to TF 2 / Keras 3 by hand or keep a copy of the TF 1.15 code",
}


# tf.estimator is gone since TF 2.16. Its mode keys have a successor in the runtime package
# (`tf_migrate_runtime/successors.py`); every other Estimator API is a finding with the Keras 3 way to do
# the same (longest prefix wins; "tf.estimator" is the default). Checked against the TF 2 migration guide
# ("Migrate from Estimator to Keras APIs").
ESTIMATOR_HINTS: dict[str, str] = {
    "tf.estimator.Estimator": "build a keras.Model from the model_fn's layers, then model.compile(optimizer, "
                              "loss, metrics) and model.fit / evaluate / predict",
    "tf.estimator.EstimatorSpec": "what a model_fn returns maps onto Keras: the loss and train_op onto "
                                  "model.compile(loss=..., optimizer=...), eval_metric_ops onto "
                                  "compile(metrics=...), predictions onto model.predict",
    "tf.estimator.RunConfig": "model_dir / save_checkpoints_steps -> keras.callbacks.ModelCheckpoint or "
                              "BackupAndRestore; tf_random_seed -> keras.utils.set_random_seed; "
                              "train_distribute -> build the model under a tf.distribute strategy's scope()",
    "tf.estimator.train_and_evaluate": "model.fit(train_dataset, validation_data=eval_dataset, epochs=..., "
                                       "steps_per_epoch=...)",
    "tf.estimator.TrainSpec": "its input_fn / max_steps become model.fit's dataset and epochs / steps_per_epoch",
    "tf.estimator.EvalSpec": "its input_fn / steps become model.fit's validation_data / validation_steps",
    "tf.estimator.export": "export for serving with model.export(path) (a SavedModel) or save with "
                           "model.save('model.keras'); serving_input_receiver_fn -> the model's Input shapes",
    "tf.estimator.FinalExporter": "model.export(path) after model.fit",
    "tf.estimator.LatestExporter": "keras.callbacks.ModelCheckpoint(...) during model.fit",
    "tf.estimator.BestExporter": "keras.callbacks.ModelCheckpoint(..., save_best_only=True)",
    "tf.estimator.inputs": "feed model.fit a tf.data.Dataset (tf.data.Dataset.from_tensor_slices for numpy "
                           "arrays or a pandas DataFrame's dict)",
    "tf.estimator.SessionRunHook": "a keras.callbacks.Callback (on_train_batch_end, ...)",
    "tf.estimator.WarmStartSettings": "model.load_weights(...) or tf.train.Checkpoint(model=...).restore(...) "
                                      "before model.fit",
    "tf.estimator.add_metrics": "model.compile(metrics=[...])",
    "tf.estimator.LinearClassifier": "keras.Sequential([keras.layers.Dense(n_classes)]) on the feature columns' "
                                     "Keras preprocessing layers",
    "tf.estimator.LinearRegressor": "keras.Sequential([keras.layers.Dense(1)]) with loss='mse'",
    "tf.estimator.DNNClassifier": "keras.Sequential of keras.layers.Dense(units, activation='relu') layers "
                                  "and a Dense(n_classes) head",
    "tf.estimator.DNNRegressor": "keras.Sequential of keras.layers.Dense layers and a Dense(1) head, loss='mse'",
    "tf.estimator.DNNLinearCombinedClassifier": "a keras.Model with a linear (Dense) branch and a deep "
                                                "(Dense stack) branch added before the head",
    "tf.estimator.BoostedTreesClassifier": "TensorFlow Decision Forests (tfdf.keras.GradientBoostedTreesModel)",
    "tf.estimator.BoostedTreesRegressor": "TensorFlow Decision Forests (tfdf.keras.GradientBoostedTreesModel)",
    "tf.estimator": "tf.estimator is gone since TF 2.16: port the model to Keras 3 (model.compile / fit / "
                    "evaluate / predict; the TF 2 migration guide's 'Migrate from Estimator to Keras APIs')",
}


@dataclass(frozen=True)
class Resolution:
    """What a TF 1.x reference becomes.

    Attributes:
        target: the new dotted name (`tf.math.log`, `tf_slim.layers.fully_connected`,
            `tf_migrate_runtime.contrib.seq2seq.sequence_loss`), or None when the reference stays as it is.
        rule: the rule that decided (`TFM001` rename, `TFM003` contrib).
        problem: set when no successor is known: a message for the finding (the reference is unchanged).
        ambiguous: the old name is valid TF 2.21 too, with another meaning (`tf.summary.scalar`): rewrite
            it only in TF 1 code.
        module: for a target outside `tf.`, the module to import (`tf_slim`,
            `tf_migrate_runtime.contrib.seq2seq`); the target is that module's member (or itself).
    """

    target: str | None = None
    rule: str = "TFM001"
    problem: str | None = None
    ambiguous: bool = False
    module: str | None = None


class Tables:
    """The loaded tables (one instance per process; see `tables()`)."""

    def __init__(self, data: dict):
        self.version = data["tensorflow_version"]
        self.renames: dict[str, str] = data["symbol_renames"]
        self.keyword_renames: dict[str, dict[str, str | None]] = data["keyword_renames"]
        self.reorders: dict[str, list[str | None]] = {**data["reorders"], **CONTRIB_REORDERS}
        self.module_deprecations: dict[str, list[str]] = data["module_deprecations"]
        self.signatures: dict[str, list[str]] = data.get("signatures_v2", {})
        # Calls whose TF 1 meaning a file may carry whatever it looks like: the semantic-change table, and
        # the TF 2 names whose positional order or keywords changed (their argument fix is made in every
        # file when the call needs it: `tf1_only_keywords`, `diverges`).
        self.semantics: dict[str, SemanticChange] = SEMANTICS
        self.meaning_changed = frozenset(SEMANTICS) | frozenset(
            n for n in (*self.reorders, *self.keyword_renames) if n in self.signatures)
        self.api = frozenset(data["api_v2"]) | frozenset(data["api_legacy_keras"]) | EXTRA_API
        self.slim = frozenset(data["tf_slim"]) | {"tf_slim", "tf_slim.layers"}
        # tf_slim's submodules by dotted path (`from tf_slim.nets.inception_v3 import ...`), with their names
        self.slim_modules: dict[str, frozenset[str]] = {m: frozenset(n) for m, n in
                                                         data.get("tf_slim_modules", {}).items()}
        self.successors = _successors()
        runtime = {t for t in self.successors.values() if t.startswith(RUNTIME_PACKAGE + ".")}
        for t in list(runtime):
            parts = t.split(".")
            runtime.update(".".join(parts[:k]) for k in range(1, len(parts)))
        self.runtime = frozenset(runtime)
        # successor keys that name a module: they have listed members
        self.successor_modules = frozenset(k.rpartition(".")[0] for k in self.successors) & set(self.successors)

    # -- existence -------------------------------------------------------------------------------
    def exists(self, name: str) -> bool:
        """True when `name` (or a prefix of it that is a class/function) is in the TF 2.21 API."""
        if "__" in name:  # module dunders: tf.__version__, tf.__file__
            return True
        if name.startswith("tf_slim"):
            return self._prefix_in(name, self.slim)
        if name.split(".")[0] == RUNTIME_PACKAGE:
            return self._prefix_in(name, self.runtime)
        if any(name == p or name.startswith(p + ".") for p in OPAQUE_PREFIXES):
            return not any(name == m or name.startswith(m + ".") for m in MISSING)
        return self._prefix_in(name, self.api)

    def importable(self, name: str) -> bool:
        """`exists(name)`, or `name` is a tf_slim submodule or one of its names, imported by its dotted path
        (`import_module` says which module to import for it)."""
        return self.exists(name) or self.import_module(name) is not None

    def import_module(self, name: str) -> str | None:
        """The tf_slim submodule to import for `name` (`tf_slim.nets.inception_v3.inception_v3_base` ->
        `tf_slim.nets.inception_v3`) when only its dotted path reaches it, else None."""
        module, _, member = name.rpartition(".")
        if name in self.slim_modules:
            return name
        if member in self.slim_modules.get(module, ()):
            return module
        return None

    @staticmethod
    def _prefix_in(name: str, known: frozenset[str]) -> bool:
        parts = name.split(".")
        for k in range(len(parts), 0, -1):
            prefix = ".".join(parts[:k])
            if prefix in known:
                # A known prefix that is a module (has members listed) must list the next part.
                return k == len(parts) or not any(n.startswith(prefix + ".") for n in _members(known, prefix))
        return False

    # -- calls whose meaning changed --------------------------------------------------------------
    def tf1_only_keywords(self, name: str, keywords: set[str]) -> set[str]:
        """The keywords of a call of the TF 2 name `name` that only TF 1's signature has (a TypeError on
        TF 2.21: the call is TF 1 code)."""
        renamed = self.keyword_renames.get(name, {})
        params = self.signatures.get(name)
        if params is None:
            return set()
        return {k for k in keywords if k in renamed and k not in params}

    def diverges(self, name: str, positional: int) -> tuple[int, str, str] | None:
        """The first of `positional` positional arguments that binds to another parameter under TF 1's
        order (`reorders`, TF 1 keyword names taken at their TF 2 spelling) than under TF 2.21's:
        (index, TF 1 parameter, TF 2 parameter), or None."""
        order, params = self.reorders.get(name), self.signatures.get(name)
        if not order or params is None:
            return None
        renamed = self.keyword_renames.get(name, {})
        for i in range(min(positional, len(order))):
            if order[i] is None:
                continue
            tf2 = params[i] if i < len(params) else "nothing"
            if renamed.get(order[i], order[i]) != tf2:
                return i, order[i], tf2
        return None

    # -- the decision ----------------------------------------------------------------------------
    @functools.lru_cache(maxsize=8192)  # noqa: B019  (one Tables per process, lives forever)
    def resolve(self, name: str) -> Resolution:
        """What the TF 1.x reference `name` (a `tf.` dotted name) becomes in TF 2.21."""
        parts = name.split(".")
        if parts[1:2] and parts[1] in PRIVATE_MODULES:
            return Resolution(None)
        if name.startswith("tf.compat.v1.contrib"):  # `import tensorflow.compat.v1 as tf` + tf.contrib
            return self.resolve("tf." + ".".join(parts[3:]))
        if parts[:2] == ["tf", "contrib"]:
            return self._resolve_contrib(name, parts)
        if parts[:4] == ["tf", "compat", "v1", "estimator"]:  # the same module under compat.v1
            return self.resolve("tf." + ".".join(parts[3:]))
        if parts[:2] == ["tf", "estimator"] and name not in self.api:
            return self._resolve_estimator(name, parts)
        entry = self.semantics.get(name)
        if entry is not None and entry.fix == COMPAT and name in self.api:
            return Resolution(None)  # decided at each call (TFM008), from its arguments
        for k in range(len(parts), 1, -1):
            prefix, tail = ".".join(parts[:k]), parts[k:]
            new = OVERRIDES.get(prefix) or self.renames.get(prefix)
            if new is not None and self.exists(new):
                return Resolution(_join(new, tail), ambiguous=prefix in self.api)
            if prefix in self.api:  # native TF 2 name (tf.compat.v1.* included) or a module of one
                break
            compat = "tf.compat.v1." + ".".join(parts[1:k])
            if not prefix.startswith("tf.compat.") and compat in self.api:
                return Resolution(_join(compat, tail))
        if self.exists(name) or len(parts) == 1:
            return Resolution(None)
        return Resolution(None, problem=f"`{name}` does not exist in TensorFlow {self.version} and has no known "
                                         "successor; find a TF 2 equivalent or keep a copy of the TF 1 code")

    def _resolve_estimator(self, name: str, parts: list[str]) -> Resolution:
        """`tf.estimator.ModeKeys` -> the runtime package's; any other Estimator API: a finding with the
        Keras way (ESTIMATOR_HINTS)."""
        for k in range(len(parts), 1, -1):
            prefix, tail = ".".join(parts[:k]), parts[k:]
            new = self.successors.get(prefix)
            if new is None or (tail and prefix in self.successor_modules):
                continue
            target = _join(new, tail)
            if self.exists(target):
                module = new if prefix in self.successor_modules else new.rpartition(".")[0]
                return Resolution(target, module=module)
        hint = next((ESTIMATOR_HINTS[p] for p in sorted(ESTIMATOR_HINTS, key=len, reverse=True)
                     if name == p or name.startswith(p + ".")), ESTIMATOR_HINTS["tf.estimator"])
        if name == "tf.estimator" or not hint.startswith("tf.estimator is gone"):
            hint = "tf.estimator is gone since TF 2.16; the Keras way: " + hint
        return Resolution(None, problem=f"`{name}` has no successor in TensorFlow {self.version}: {hint}")

    def _resolve_contrib(self, name: str, parts: list[str]) -> Resolution:
        moved = moved_name(name, self.importable)  # contrib's own layout (`tf.contrib.slim.python.slim.data`)
        if moved is not None and self.exists(moved):
            return Resolution(moved, rule="TFM003", module=None if moved.startswith("tf.") else moved.split(".")[0])
        if moved is not None and self.import_module(moved) is not None:  # `tf_slim.nets.inception_v3.X`
            return Resolution(moved, rule="TFM003", module=self.import_module(moved))
        for k in range(len(parts), 2, -1):  # the runtime package's table first, longest prefix
            prefix, tail = ".".join(parts[:k]), parts[k:]
            new = self.successors.get(prefix)
            if new is None:
                continue
            if tail and prefix in self.successor_modules:
                listed = sorted(n[len(prefix) + 1:] for n in self.successors if n.startswith(prefix + "."))
                return Resolution(None, rule="TFM003", problem=(
                    f"`{name}` has no successor: {new} provides only {', '.join(listed)} of `{prefix}`; "
                    + _hint(name)))
            target = _join(new, tail)
            if not self.exists(target):
                break
            if not target.startswith("tf."):
                module = new if prefix in self.successor_modules else new.rpartition(".")[0]
                return Resolution(target, rule="TFM003", module=module)
            return Resolution(target, rule="TFM003")
        for k in range(len(parts), 2, -1):
            prefix, tail = ".".join(parts[:k]), parts[k:]
            new = CONTRIB_RENAMES.get(prefix) or OVERRIDES.get(prefix) or self.renames.get(prefix)
            if new is not None and self.exists(new):
                return Resolution(_join(new, tail), rule="TFM003",
                                  module=None if new.startswith("tf.") else new.split(".")[0])
            modules = CONTRIB_MODULES.get(prefix)
            if modules is not None:
                for new in (_join(m, tail) for m in modules):
                    if self.exists(new):
                        return Resolution(new, rule="TFM003",
                                          module=None if new.startswith("tf.") else new.split(".")[0])
                break
        if len(parts) == 2:
            return Resolution(None, rule="TFM003", problem="`tf.contrib` does not exist in TF 2: use its members")
        return Resolution(None, rule="TFM003", problem=(
            f"`{name}` has no successor in TensorFlow {self.version}, tf_slim or {RUNTIME_PACKAGE}: {_hint(name)}"))


def _hint(name: str) -> str:
    best = max((p for p in CONTRIB_HINTS if name == p or name.startswith(p + ".")), key=len, default="tf.contrib")
    return CONTRIB_HINTS[best]


class PrivateModules:
    """What TF 2.21's private packages hold (`tf_private_modules.json`, see generate_tables.py)."""

    def __init__(self, data: dict):
        self.version = data["tensorflow_version"]
        self.modules = frozenset(data["modules"])
        self.open = frozenset(data["open"])
        self.defined: dict[str, list[str]] = data["defined"]
        self.names = {m: frozenset(data["defined"].get(m, ())) | frozenset(data["imported"].get(m, ()))
                      for m in self.modules}
        self._definers: dict[str, list[str]] | None = None

    def exists(self, dotted: str) -> bool:
        """`tensorflow.python.ops.lookup_ops` (a module) or `...rnn_cell_impl.LSTMCell` (a name of one) is
        importable in TF 2.21: a module, or a top-level name of the longest module prefix (any name of a
        module whose names cannot be listed)."""
        parts = dotted.split(".")
        for k in range(len(parts), 1, -1):
            prefix = ".".join(parts[:k])
            if prefix in self.modules:
                return k == len(parts) or prefix in self.open or parts[k] in self.names[prefix]
        return False

    def definers(self, name: str) -> list[str]:
        """The private modules whose top level defines `name` (shallowest first)."""
        if self._definers is None:
            index: dict[str, list[str]] = {}
            for module, names in self.defined.items():
                for n in names:
                    index.setdefault(n, []).append(module)
            self._definers = index
        return sorted(self._definers.get(name, []), key=lambda m: (m.count("."), m))

    def hint(self, dotted: str) -> str | None:
        """PRIVATE_HINTS' advice for `dotted` (longest prefix), or None."""
        best = max((p for p in PRIVATE_HINTS if dotted == p or dotted.startswith(p + ".")), key=len, default=None)
        return PRIVATE_HINTS[best] if best else None


@functools.lru_cache(maxsize=1)
def private_modules() -> PrivateModules:
    """The private-module table of this process (loaded on first use: 0.8 MB of JSON)."""
    return PrivateModules(json.loads(PRIVATE_PATH.read_text(encoding="utf-8")))


_MEMBER_INDEX: dict[int, dict[str, list[str]]] = {}


def _members(known: frozenset[str], prefix: str) -> list[str]:
    """Names directly under `prefix` in `known` (index built once per set)."""
    index = _MEMBER_INDEX.get(id(known))
    if index is None:
        index = {}
        for n in known:
            head, _, _ = n.rpartition(".")
            if head:
                index.setdefault(head, []).append(n)
        _MEMBER_INDEX[id(known)] = index
    return index.get(prefix, [])


def _join(base: str, tail: list[str]) -> str:
    return ".".join([base, *tail]) if tail else base


@functools.lru_cache(maxsize=1)
def tables() -> Tables:
    """The tables of this process (loaded once: 0.6 MB of JSON, ~20 ms)."""
    return Tables(json.loads(TABLES_PATH.read_text(encoding="utf-8")))
