"""Every private Keras / TensorFlow internal the toolkit touches, in one place, with a public-API fallback.

Why private at all: the converter gives a 2 GB embedding its value without a random initialisation it
would overwrite, without a second copy while saving, and streams `.keras` files tensor by tensor
(`migrate/checkpoint/stream.py`). Those need Keras internals. Each one below says what it is for and
what the public API does instead; `private_ok()` decides which path runs:

- the installed Keras and TensorFlow lie in the range this module was written and tested against
  (`TESTED`), and every attribute it uses exists (checked once, by name), and
- the environment variable `TF_MIGRATE_PUBLIC_API` is not set to 1 (tests use `public_api_only()`).

Otherwise the public path runs: variables are created and initialised normally and `assign`ed, Keras's
own `model.save` / `save_weights` write the files, the optimizer's slots are found through
`optimizer.variables`. Same files, same values (tests/test_internals.py proves it), only slower and with
a higher memory peak. Nothing else in `migrate/` may import `keras.src`, `tensorflow.python` or use a
private attribute of a Keras / TF object.

| internal                                             | used for                                  | public fallback                 |
|------------------------------------------------------|-------------------------------------------|---------------------------------|
| `keras.StatelessScope(initialize_variables=False)` + | variables created without a value; given  | normal creation + `assign`      |
|   `Variable._value/_initialize/_initializer/         |   one once (no throwaway random init)     |                                 |
|   _deferred_initialize`                              |                                           |                                 |
| `keras.src.backend.common.global_state`              | drop our variables from Keras's list of   | (not needed)                    |
|   ("uninitialized_variables")                        |   variables a scope's exit initialises    |                                 |
| `tensorflow.python...UninitializedVariable`          | RestoreV2 straight into a new variable    | read + `assign` (materialise)   |
| `keras.src.backend.convert_to_numpy` (patched)       | h5 writer reads views, not copies         | Keras copies (more memory)      |
| `keras.src.saving.saving_lib._save_state`,           | the streamed writer's h5 skeleton: Keras's| `model.save` / `save_weights`   |
|   `H5IOStore`, `_serialize_model_as_json`            |   own traversal, names and config         |                                 |
| `Optimizer._momentums/_velocities/                   | Adam m / v of one weight                  | `optimizer.variables` by name   |
|   _get_variable_index`                               |                                           |   (`<path>_momentum`), or order |
| `tensorflow.python.util.deprecation.                 | no deprecation notes on stderr            | (notes stay; logger level still |
|   _PRINT_DEPRECATION_WARNINGS`                       |                                           |   hides most)                   |
| (`tensor_util.MakeNdarray`: not needed)              | a graph Const's value                     | public `tf.make_ndarray`        |
"""

from __future__ import annotations

import contextlib
import os
import re
import threading

# Versions these internals were read from and tested with (inclusive lower, exclusive upper bound).
TESTED = {
    "keras": ((3, 8), (3, 16)),
    "tensorflow": ((2, 16), (2, 22)),
}
ENV_PUBLIC_ONLY = "TF_MIGRATE_PUBLIC_API"

_state = threading.local()
_checked: dict[str, tuple[bool, str]] = {}


def _version_tuple(text: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _probe() -> tuple[bool, str]:
    """(usable, why) for the private path with the installed versions; computed once."""
    if "probe" in _checked:
        return _checked["probe"]
    try:
        import keras  # noqa: PLC0415
        import tensorflow as tf  # noqa: PLC0415

        for name, version in (("keras", keras.__version__), ("tensorflow", tf.__version__)):
            low, high = TESTED[name]
            if not low <= _version_tuple(version) < high:
                result = (False, f"{name} {version} is outside the tested range "
                                 f"{'.'.join(map(str, low))} <= v < {'.'.join(map(str, high))}")
                _checked["probe"] = result
                return result
        from keras.src import backend  # noqa: PLC0415
        from keras.src.backend.common import global_state  # noqa: PLC0415
        from keras.src.saving import saving_lib  # noqa: PLC0415
        from tensorflow.python.ops import resource_variable_ops  # noqa: PLC0415

        needed = [(backend, "convert_to_numpy"), (global_state, "get_global_attribute"),
                  (global_state, "set_global_attribute"), (saving_lib, "_save_state"),
                  (saving_lib, "H5IOStore"), (saving_lib, "_serialize_model_as_json"),
                  (resource_variable_ops, "UninitializedVariable"), (keras.Variable, "_deferred_initialize"),
                  (keras.Variable, "_initialize"), (keras.optimizers.Optimizer, "_get_variable_index")]
        missing = [f"{getattr(m, '__name__', m)}.{a}" for m, a in needed if not hasattr(m, a)]
        result = (not missing, f"missing: {', '.join(missing)}" if missing else "ok")
    except Exception as e:  # noqa: BLE001 - any import problem means: use the public API
        result = (False, f"{type(e).__name__}: {e}")
    _checked["probe"] = result
    return result


def private_ok() -> bool:
    """Whether the private fast path is used now (versions in range, attributes present, not disabled)."""
    if getattr(_state, "public_only", False) or os.environ.get(ENV_PUBLIC_ONLY) == "1":
        return False
    return _probe()[0]


def why() -> str:
    """A line for reports: which path runs and why."""
    if getattr(_state, "public_only", False) or os.environ.get(ENV_PUBLIC_ONLY) == "1":
        return "public Keras API (forced)"
    ok, reason = _probe()
    return "private fast path (versions in the tested range)" if ok else f"public Keras API ({reason})"


@contextlib.contextmanager
def public_api_only():
    """Within this block (this thread), every function here takes its public-API path."""
    before = getattr(_state, "public_only", False)
    _state.public_only = True
    try:
        yield
    finally:
        _state.public_only = before


# -- variables created without a value ----------------------------------------------------------------
def deferred_variables():
    """A context in which new Keras variables get no value yet (private) or their normal one (public)."""
    import keras  # noqa: PLC0415

    if private_ok():
        return keras.StatelessScope(initialize_variables=False)
    return contextlib.nullcontext()


def is_uninitialised(w) -> bool:
    """Whether Keras variable `w` has no value yet (only ever true on the private path)."""
    return private_ok() and getattr(w, "_value", True) is None


def adopt(w, value) -> None:
    """Give Keras variable `w` its value: a NumPy array, or (private path) a `tf.Variable` adopted as is."""
    if is_uninitialised(w):
        if hasattr(value, "assign") and not hasattr(value, "__array_interface__"):
            w._initialize(value)                   # keras/src/backend/tensorflow/core.py: adopts a tf.Variable
        else:
            w._initializer = lambda shape, dtype=None: value
            w._deferred_initialize()
    else:
        w.assign(value)


def initialise(w) -> None:
    """Run `w`'s own initialiser if it has no value yet."""
    if is_uninitialised(w):
        w._deferred_initialize()


def forget_pending(variables) -> None:
    """Take `variables` off Keras's list of variables the next StatelessScope exit would initialise."""
    if not private_ok():
        return
    from keras.src.backend.common import global_state  # noqa: PLC0415

    mine = {id(w) for w in variables}
    pending = global_state.get_global_attribute("uninitialized_variables") or []
    global_state.set_global_attribute("uninitialized_variables",
                                      [v for v in pending if id(v) not in mine and getattr(v, "_value", 1) is None])


def uninitialized_tf_variable(shape, dtype, name: str, trainable: bool):
    """A `tf.Variable` with no value (RestoreV2 assigns it in place). Private path only."""
    from tensorflow.python.ops.resource_variable_ops import UninitializedVariable  # noqa: PLC0415

    return UninitializedVariable(shape=shape, dtype=dtype, name=name, trainable=trainable)


# -- saving ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def weights_as_views():
    """While Keras writes an h5 file, hand it read-only views of the variables' buffers, not copies.

    Keras's `H5IOStore.__setitem__` calls `backend.convert_to_numpy(variable)`, which for TensorFlow is
    `np.array(variable)`: a full copy of each weight. The tensor read from a variable shares its buffer and
    `.numpy()` of a CPU tensor is a view. Public path: nothing changes (Keras copies).
    """
    if not private_ok():
        yield
        return
    from keras.src import backend  # noqa: PLC0415

    original = backend.convert_to_numpy

    def as_view(x):
        value = getattr(x, "value", None)           # a Keras variable -> its tf.Variable
        if value is not None and hasattr(value, "read_value"):
            return value.read_value().numpy()
        return original(x)

    backend.convert_to_numpy = as_view
    try:
        yield
    finally:
        backend.convert_to_numpy = original


def model_json(model) -> tuple[str, str] | None:
    """(config.json, metadata.json) exactly as `model.save` writes them; None on the public path."""
    if not private_ok():
        return None
    from keras.src.saving import saving_lib  # noqa: PLC0415

    return saving_lib._serialize_model_as_json(model)


def h5_store_base():
    """Keras's `H5IOStore` (the streamed writer subclasses it); None on the public path."""
    if not private_ok():
        return None
    from keras.src.saving.saving_lib import H5IOStore  # noqa: PLC0415

    return H5IOStore


def standardize_dtype(dtype) -> str:
    import keras  # noqa: PLC0415

    return keras.backend.standardize_dtype(dtype)


def save_state(model, weights_store) -> None:
    """Keras's own traversal of `model`'s saveables into `weights_store` (what `save_weights` runs)."""
    from keras.src.saving import saving_lib  # noqa: PLC0415

    saving_lib._save_state(model, weights_store=weights_store, assets_store=None, inner_path="",
                           visited_saveables=set())


# -- optimizer slots ----------------------------------------------------------------------------------
def adam_slots(opt, model_trainables, w):
    """(m, v) Keras variables of Adam `opt` for trainable weight `w` (opt built on `model_trainables`)."""
    if private_ok():
        i = opt._get_variable_index(w)
        return opt._momentums[i], opt._velocities[i]
    # Public: Keras names each slot "<variable path with '/' -> '_'>_momentum" / "_velocity"
    # (BaseOptimizer.add_optimizer_variables); fall back to the order of the trainables.
    by_name = {v.name: v for v in opt.variables}
    key = str(getattr(w, "path", w.name)).replace("/", "_")
    if f"{key}_momentum" in by_name and f"{key}_velocity" in by_name:
        return by_name[f"{key}_momentum"], by_name[f"{key}_velocity"]
    index = next(i for i, t in enumerate(model_trainables) if t is w)
    momenta = [v for v in opt.variables if v.name.endswith("_momentum")]
    velocities = [v for v in opt.variables if v.name.endswith("_velocity")]
    if len(momenta) != len(model_trainables) or len(velocities) != len(model_trainables):
        raise RuntimeError(f"Adam has {len(momenta)} momentum / {len(velocities)} velocity variables for "
                           f"{len(model_trainables)} trainable weights; cannot pair them through the public API")
    return momenta[index], velocities[index]


def has_adam_slots(opt) -> bool:
    """Whether `opt` is a built optimizer with Adam's m / v slots."""
    if opt is None:
        return False
    if private_ok():
        return bool(getattr(opt, "_momentums", None))
    return any(v.name.endswith("_momentum") for v in getattr(opt, "variables", []))


# -- TensorFlow ---------------------------------------------------------------------------------------
def make_ndarray(tensor_proto):
    """A `TensorProto` (a graph Const's value) as NumPy: public `tf.make_ndarray`, no `tensor_util` needed."""
    import tensorflow as tf  # noqa: PLC0415

    return tf.make_ndarray(tensor_proto)


def silence_tf_deprecation_printing() -> bool:
    """Turn off TensorFlow's Python-side deprecation printing (a private module flag); False if unavailable.

    Only TensorFlow's version is checked (importing Keras here would slow every command's start).
    """
    if os.environ.get(ENV_PUBLIC_ONLY) == "1":
        return False
    try:
        import tensorflow as tf  # noqa: PLC0415

        low, high = TESTED["tensorflow"]
        if not low <= _version_tuple(tf.__version__) < high:
            return False
        from tensorflow.python.util import deprecation  # noqa: PLC0415

        if not hasattr(deprecation, "_PRINT_DEPRECATION_WARNINGS"):
            return False
        deprecation._PRINT_DEPRECATION_WARNINGS = False
        return True
    except Exception:  # noqa: BLE001 - the logger level still applies
        return False


def function_graph(function_def):
    """A FuncGraph of one library function of a graph (control flow v2's While / If bodies), from TensorFlow's
    `function_def_to_graph` (`tensorflow.python`: no public API builds one from a FunctionDef). Called inside
    the owning graph's `as_default()`, so the functions it calls resolve."""
    from tensorflow.python.framework.function_def_to_graph import function_def_to_graph  # noqa: PLC0415

    return function_def_to_graph(function_def)


def op_registered(op_type: str) -> bool:
    """Whether this TensorFlow registers an op type (contrib's `GatherTree` is not in TF 2.21): `op_def_registry`
    (`tensorflow.python`), the registry `import_graph_def` itself checks; the public fallback is `tf.raw_ops`, the
    generated wrappers of the same registry."""
    if private_ok():
        try:
            from tensorflow.python.framework import op_def_registry  # noqa: PLC0415

            return op_def_registry.get(op_type) is not None
        except ImportError:
            pass
    import tensorflow as tf  # noqa: PLC0415

    return hasattr(tf.raw_ops, op_type)


def saved_model_loader(export_dir: str):
    """TF 2.21's SavedModel loader object (`tensorflow.python.saved_model.loader_impl.SavedModelLoader`): what
    `tf.compat.v1.saved_model.loader.load` runs, split so that the MetaGraphDef can be edited between reading and
    loading (parity sets the same inference constants on the reference). No public API exposes that split."""
    from tensorflow.python.saved_model.loader_impl import SavedModelLoader  # noqa: PLC0415

    return SavedModelLoader(export_dir)
