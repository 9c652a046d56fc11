"""`tfm.Model`: the functional model `convert --from-graph` writes, whose eager calls run as one traced graph.

A converted model is a functional `keras.Model` of many small operations (the generic tier writes a TF1 graph op
by op: `keras.ops.split`, `sigmoid`, `multiply`, ...). Called eagerly (`model(x)`, what a notebook user first
does), Keras walks that graph in Python and dispatches every operation as its own eager op: on the corpus that
Python, not the arithmetic, was most of an eager call (hcn_shared_layer_lstm_tf18, 38 operations: 31 ms eagerly,
1.7 ms under `tf.function`; neuroner_bilstm_crf_tf10: 75 ms against 5.8 ms; docs/performance.md).

`tfm.Model` is `keras.Model` built the functional way (`tfm.Model(inputs=..., outputs=..., name=...)`, the same
arguments, layers, weights and config; a `.keras` file names it `tf_migrate_runtime>Model`). Called eagerly on the
TensorFlow backend it runs its whole forward pass through one `tf.function` kept on the model, traced once per
input signature and `training` value (`reduce_retracing`: shapes generalised after a few), so an eager call costs
what a `tf.function` call costs. Everywhere else it is Keras' own functional call: under an outer `tf.function`,
`model.predict` / `fit` (Keras traces those itself), XLA, a Keras symbolic build, on JAX and PyTorch, and with
arguments other than `inputs`, `training` and `mask`. Gradients flow through the traced call (`tf.GradientTape`,
`fit(run_eagerly=True)`), with the same values as the untraced path.

To debug a converted model layer by layer (a breakpoint in a layer, eager tensors to print):
`model.trace_eager_calls = False` (this model), `tfm.Model.trace_eager_calls = False` (every one), or
`tf.config.run_functions_eagerly(True)` (every `tf.function`, the layers' own loops too).

A model converted before `tfm.Model` existed is a plain functional `keras.Model` and loads as one;
`tfm.Model(inputs=old.inputs, outputs=old.outputs, name=old.name)` gives it this call, on the same layers.
"""

from __future__ import annotations

import keras

from tf_migrate_runtime import _keras_internals as _internals

_TRACED = "_tfm_traced_call"   # the attribute the model keeps its traced forward pass in


_MAX_SIGNATURES = 256   # concrete functions kept per model for the direct call (then the cache starts again)


class _TracedCall:
    """The model's `tf.function`, held in an object TensorFlow's attribute tracking does not look into
    (`tf.saved_model.save` collects a trackable object's `tf.function` attributes; this one is not the model's),
    and the concrete functions it traced, by the exact signature of a call, for the direct call (`__call__`)."""

    __slots__ = ("fn", "concrete")

    def __init__(self, fn):
        self.fn = fn
        self.concrete = {}   # signature key -> ConcreteFunction, or None: this signature goes through `fn`

    def __call__(self, inputs, training, mask):
        """`fn(inputs, training, mask)`, the same outputs and gradients. A call whose inputs are eager tensors (one,
        or a flat dict / list / tuple of them), with `training` None / True / False and no mask, goes straight to
        the concrete function `fn` traced for its signature: TensorFlow's dispatch of a polymorphic `tf.function`
        (binding the arguments, its trace-cache lookup) costs more than the whole traced graph of a small model
        at batch 1 (hcn_shared_layer_lstm_tf18: 0.65 ms of 1.2 ms a call; docs/performance.md)."""
        key = _signature(inputs, training, mask)
        if key is None or _internals.functions_run_eagerly():
            return self.fn(inputs, training, mask)
        concrete = self.concrete.get(key, False)
        if concrete is False:
            concrete = self._concrete_for(key, inputs, training, mask)
        if concrete is None:
            return self.fn(inputs, training, mask)
        return _internals.call_concrete(concrete, _flat(inputs))

    def _concrete_for(self, key, inputs, training, mask):
        """The concrete function `fn` runs for this signature (traced now if new, as a call would), or None where the
        direct call cannot be shown to bind the inputs as `fn` does (then every such call goes through `fn`)."""
        concrete = self.fn.get_concrete_function(inputs, training, mask)
        if not _internals.binds_as_flattened(concrete, (inputs, training, mask), _flat(inputs)):
            concrete = None
        if len(self.concrete) >= _MAX_SIGNATURES:
            self.concrete.clear()
        self.concrete[key] = concrete
        return concrete


def _flat(inputs) -> list:
    if isinstance(inputs, dict):
        return [inputs[k] for k in sorted(inputs)]
    if isinstance(inputs, list | tuple):
        return list(inputs)
    return [inputs]


def _signature(inputs, training, mask):
    """A hashable key for a direct call (exact shapes and dtypes, the structure, `training`), None for a call the
    direct path does not take."""
    if mask is not None or training not in (None, True, False):
        return None
    if isinstance(inputs, dict):
        if not all(isinstance(k, str) for k in inputs):
            return None
        names = tuple(sorted(inputs))
        values = [inputs[k] for k in names]
    elif isinstance(inputs, list | tuple):
        names, values = (type(inputs), len(inputs)), inputs
    else:
        names, values = None, (inputs,)
    shapes = _internals.eager_tensor_signature(values)
    return None if shapes is None else (training, names, shapes)


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class Model(keras.Model):
    """A functional Keras model whose eager calls on TensorFlow run as one `tf.function` (see the module doc).

    Args: those of the functional `keras.Model`: `inputs`, `outputs`, `name`; and `weight_regularizers`:
        [[layer name, weight index, regulariser]] (a TF1 loss's weight penalty on a weight whose layer takes no
        regulariser argument; `model.losses` holds it, `model.keras` keeps it).

    Attributes:
        trace_eager_calls: True (the class default): an eager call on TensorFlow runs traced; False: Keras' own
            functional call, layer by layer (for debugging).

    Example:

        x = keras.Input((10, 4), name="x")
        model = tfm.Model(inputs={"x": x}, outputs=[tfm.LSTM(8, name="lstm")(x)], name="converted")
        y = model({"x": np.ones((2, 10, 4), "float32")})   # one traced call
    """

    trace_eager_calls = True

    def __init__(self, *args, weight_regularizers=None, **kwargs):
        super().__init__(*args, **kwargs)
        from tf_migrate_runtime.layers.shared import bind_shared_weights  # noqa: PLC0415

        bind_shared_weights(self)   # a decoder's weights named after the layers that hold them (shared.py)
        self._set_weight_regularizers(weight_regularizers)

    def _set_weight_regularizers(self, weight_regularizers):
        """`weight_regularizers`: [[layer name, weight index, regulariser]] for weights whose layer takes no
        regulariser argument (a `tfm.Variable`, a `tfm.BiasAdd`, a decoder's own weight): set on the weight itself,
        so `model.losses` (what `fit` adds to the loss) holds them, in this model and in any model built on its
        layers; kept in the config, so `model.keras` reloads them."""
        regs = []
        for lname, index, reg in weight_regularizers or []:
            layer = self.get_layer(str(lname))
            if not 0 <= int(index) < len(layer.weights):
                raise ValueError(f"{self.name}: weight_regularizers names weight {index} of layer {lname!r}, which "
                                 f"has {len(layer.weights)} weights; the model's source and its layers disagree.")
            reg = keras.regularizers.get(reg)
            layer.weights[int(index)].regularizer = reg
            regs.append((str(lname), int(index), reg))
        object.__setattr__(self, "_tfm_weight_regularizers", regs)   # past Keras' attribute tracking

    def get_config(self):
        config = super().get_config()
        regs = getattr(self, "_tfm_weight_regularizers", None)
        if regs:
            config["weight_regularizers"] = [[n, i, keras.regularizers.serialize(r)] for n, i, r in regs]
        return config

    def __call__(self, *args, **kwargs):
        """`model(inputs, training=..., mask=...)` called eagerly at the top (no outer layer's call): straight
        to the traced forward pass, without `Layer.__call__`'s own Python (2x - 4x the traced call at batch 1 on
        the corpus: input checks, masks, call contexts). Anything else: Keras' `__call__`, then `call` below."""
        inputs = self._top_eager_inputs(args, kwargs)
        if inputs is None:
            return super().__call__(*args, **kwargs)
        import numpy as np  # noqa: PLC0415

        # NumPy arrays to tensors here: cheaper than the tf.function's own conversion of its arguments
        to_tensor = _internals.numpy_to_tensor()

        def tensor(x):
            return to_tensor(x) if isinstance(x, np.ndarray) else x

        if isinstance(inputs, dict):
            inputs = {k: tensor(v) for k, v in inputs.items()}
        elif type(inputs) in (list, tuple):
            inputs = type(inputs)(tensor(v) for v in inputs)
        else:
            inputs = keras.tree.map_structure(tensor, inputs)
        return self._traced_holder()(inputs, kwargs.get("training"), kwargs.get("mask"))

    def predict_on_batch(self, x):
        """Keras' `predict_on_batch`; on TensorFlow, eagerly, with no XLA compilation and no distribution strategy,
        the traced call above on the batch (`self(x, training=False)`, outputs as NumPy): the same outputs without
        Keras' predict machinery per call (hcn_shared_layer_lstm_tf18 at batch 1: 2.2 ms -> 1.2 ms of CPU)."""
        if not self._eager_on_tensorflow() or self.jit_compile:
            return super().predict_on_batch(x)
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        if tf.distribute.has_strategy():
            return super().predict_on_batch(x)
        out = self(x, training=False)
        return keras.tree.map_structure(lambda t: t.numpy() if isinstance(t, tf.Tensor) else t, out)

    def call(self, inputs, training=None, mask=None, **kwargs):
        if kwargs or not self._eager_on_tensorflow():
            return super().call(inputs, training=training, mask=mask, **kwargs)
        return self._traced_holder()(inputs, training, mask)

    def _eager_on_tensorflow(self) -> bool:
        """Traced calls on: the TensorFlow backend, executing eagerly (not under an outer `tf.function`,
        `predict` / `fit`'s own trace, XLA)."""
        if not self.trace_eager_calls or keras.backend.backend() != "tensorflow":
            return False
        import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

        return tf.executing_eagerly()

    def _top_eager_inputs(self, args, kwargs):
        """The inputs of a call `__call__` may take to the traced pass itself, else None."""
        from tf_migrate_runtime._keras_internals import in_keras_call, keras_mask  # noqa: PLC0415

        if len(args) != 1 or set(kwargs) - {"training", "mask"} or not self._eager_on_tensorflow() \
                or in_keras_call():
            return None
        flat = keras.tree.flatten(args[0])
        if any(keras.utils.is_keras_tensor(x) or keras_mask(x) is not None for x in flat):
            return None   # a symbolic build, or masks Keras' __call__ passes on
        return args[0]

    def _traced_holder(self) -> _TracedCall:
        holder = self.__dict__.get(_TRACED)
        if holder is None:
            import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

            holder = _TracedCall(tf.function(self._forward, autograph=False, reduce_retracing=True))
            object.__setattr__(self, _TRACED, holder)   # past Keras' attribute tracking: nothing to save
        return holder

    def _forward(self, inputs, training, mask):
        return super().call(inputs, training=training, mask=mask)

    # whether consecutive runtime recurrent layers run as one loop (`layers/stacked.py`); False: one loop each
    fuse_recurrent_stacks = True

    def _run_through_graph(self, inputs, operation_fn=lambda op: op, call_fn=None):
        """Keras' functional graph walk, with each stack of `tfm.LSTM` / `GRU` / `SimpleRNN` layers over the same
        steps run as one loop on TensorFlow (`tf_migrate_runtime.layers.stacked`: as TF1's `MultiRNNCell` ran;
        the same layers, weights and results). Symbolic runs (`call_fn`), other backends and models without such
        a stack: Keras' own walk."""
        if call_fn is None and self.fuse_recurrent_stacks and keras.backend.backend() == "tensorflow":
            from tf_migrate_runtime.layers import stacked  # noqa: PLC0415

            chains = stacked.plan(self)
            if chains:
                return stacked.run_through_graph(self, inputs, operation_fn, chains)
        return super()._run_through_graph(inputs, operation_fn=operation_fn, call_fn=call_fn)
