"""The Keras side of a graph parity run: the user's model, loaded, and its inputs and outputs by name.

```python
from migrate.parity.keras_side import KerasSide

side = KerasSide.load("model.keras")                                   # or:
side = KerasSide.load("model.weights.h5", build="my_models:make_tagger")   # module:function (or file.py:function)
side.input_names, side.input_shapes, side.input_dtypes, side.output_names
outputs = side.run({"ids": ids, "lengths": lengths})                  # {output name: np.ndarray}
```

`build` names a function that returns the (uncompiled) Keras model; the module is imported from the current
directory or a `.py` path; for a `.keras` file it is imported too (so custom layers register) but not called.
Raises `ParityInputError` (exit 2) for a missing or unreadable model or a builder that cannot be found.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from migrate.parity.errors import ParityInputError


def import_builder(spec: str) -> Callable[[], Any]:
    """`"package.module:function"` or `"path/to/file.py:function"` -> the function."""
    module_name, sep, func = spec.rpartition(":")
    if not sep or not module_name or not func:
        raise ParityInputError(f"--build {spec!r}: expected MODULE:FUNCTION (e.g. my_models:build_tagger) or "
                               f"FILE.py:FUNCTION")
    try:
        if module_name.endswith(".py"):
            if not os.path.isfile(module_name):
                raise ParityInputError(f"--build {spec!r}: {module_name}: no such file")
            name = "_tf_migrate_build_" + os.path.splitext(os.path.basename(module_name))[0]
            loader = importlib.util.spec_from_file_location(name, module_name)
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ParityInputError:
        raise
    except Exception as e:  # the user's module: any error in it means the same to the user
        raise ParityInputError(f"--build {spec!r}: cannot import {module_name} ({type(e).__name__}: "
                               f"{str(e)[:200]})") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise ParityInputError(f"--build {spec!r}: {module_name} has no function {func!r}")
    return fn


class KerasSide:
    """A Keras model and the names of its inputs and outputs.

    Args:
        model: a built Keras model (functional models name their inputs and outputs; a subclassed model
            has one input `input` and its outputs are `output`, `output_1`, ...).
    """

    def __init__(self, model: Any, source: str = ""):
        self.model = model
        self.source = source or type(model).__name__
        inputs = getattr(model, "inputs", None) or []
        self.input_names: list[str] = [t.name for t in inputs] or ["input"]
        self.input_shapes: dict[str, tuple] = {t.name: tuple(t.shape) for t in inputs}
        self.input_dtypes: dict[str, str] = {t.name: str(t.dtype) for t in inputs}
        names = list(getattr(model, "output_names", None) or [])
        self.output_names: list[str] = names or ["output"]
        self._dict_inputs = bool(inputs)

    @classmethod
    def load(cls, path: str, build: str | None = None) -> KerasSide:
        """A `.keras` file, or a `.weights.h5` file with `build` (see the module docstring)."""
        import keras  # noqa: PLC0415

        builder = import_builder(build) if build else None
        if not os.path.isfile(path):
            raise ParityInputError(f"{path}: no such file; expected a .keras file, or a .weights.h5 file with "
                                   f"--build MODULE:FUNCTION")
        if path.endswith(".keras"):
            import tf_migrate_runtime.layers  # noqa: F401, PLC0415 - what `convert --from-graph` models are made of
            import tf_migrate_runtime.losses  # noqa: F401, PLC0415

            try:
                model = keras.saving.load_model(path, compile=False)
            except Exception as e:  # zip / h5 / config errors all mean the same to the user
                raise ParityInputError(f"{path}: cannot load as a Keras model ({type(e).__name__}: "
                                       f"{str(e)[:200]}); a model with custom layers needs them registered "
                                       f"(@keras.saving.register_keras_serializable) and importable: pass "
                                       f"--build MODULE:FUNCTION to import their module") from None
        elif path.endswith(".h5"):
            if builder is None:
                raise ParityInputError(f"{path}: a weights file holds no architecture; pass --build MODULE:FUNCTION "
                                       f"naming a function that returns the Keras model")
            try:
                model = builder()
            except Exception as e:  # the user's code
                raise ParityInputError(f"--build {build}: calling it failed ({type(e).__name__}: "
                                       f"{str(e)[:200]})") from None
            try:
                model.load_weights(path)
            except Exception as e:  # h5 / shape errors
                raise ParityInputError(f"{path}: cannot load into the model --build {build} returns "
                                       f"({type(e).__name__}: {str(e)[:300]})") from None
        else:
            raise ParityInputError(f"{path}: expected a .keras file or a .weights.h5 file (with --build)")
        return cls(model, path)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Call the model (inference mode) on `{input name: array}`; `{output name: array}`."""
        arrays = {k: np.asarray(v, dtype=self.input_dtypes.get(k, None)) for k, v in inputs.items()}
        if self._dict_inputs and len(self.input_names) > 1:
            out = self.model(arrays, training=False)
        else:
            out = self.model(arrays[self.input_names[0]], training=False)
        if isinstance(out, dict):
            return {k: _numpy(v) for k, v in out.items()}
        if isinstance(out, list | tuple):
            names = self.output_names if len(self.output_names) == len(out) else \
                [f"output_{i}" if i else "output" for i in range(len(out))]
            return {n: _numpy(v) for n, v in zip(names, out)}
        return {self.output_names[0]: _numpy(out)}


def _numpy(x: Any) -> np.ndarray:
    """A backend tensor as NumPy (`keras.ops.convert_to_numpy`: detaches a torch tensor that requires grad)."""
    import keras  # noqa: PLC0415

    return np.asarray(keras.ops.convert_to_numpy(x))
