"""Keep TensorFlow's start-up log spam and deprecation warnings out of the CLI's output.

Call `quiet_tensorflow()` before the first `import tensorflow` (the CLI does it for every
subcommand); `--verbose` skips it so everything TensorFlow says is shown.

TF 2.16+ prints its start-up lines ("All log messages before absl::InitializeLog() is called...",
"Could not find cuda drivers", oneDNN, cpu_feature_guard) from C++ while its native libraries load, before
any setting applies: `TF_CPP_MIN_LOG_LEVEL` does not stop them. Only pointing file descriptor 2 at
/dev/null for the duration of the import does. `quiet_tensorflow()` therefore also installs an import hook
(`_QuietImportFinder`), so that whoever imports TensorFlow first (our code, Keras, an argparse `type=`
function, a plugin) imports it silenced: no import site has to remember to.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import os
import sys
import warnings

# Top-level modules whose first import prints native start-up lines.
NOISY_MODULES = ("tensorflow",)
# level_read_before: TensorFlow was imported before `quiet_tensorflow` ran (a program or a test that then calls
# `migrate.cli.main`): its C++ log level was read then, the one set here does not apply (see `RUNTIME_NOTICES`).
# notices_triggered: `runtime_notices_triggered_quietly` has run in this process.
_STATE = {"level_read_before": False, "notices_triggered": False}


def quiet_tensorflow(verbose: bool = False) -> None:
    """Hide TensorFlow's logs and warnings (`verbose`: leave everything as TensorFlow and the environment have it).

    The C++ log level is set, not defaulted: a shell that exports TF_CPP_MIN_LOG_LEVEL=1 (a common setting) would
    otherwise let run-time lines such as "E0000 ... failed call to cuInit" through; `-v` is the way to see them.
    """
    if verbose:
        return
    _STATE["level_read_before"] = _STATE["level_read_before"] or "tensorflow" in sys.modules
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # C++ INFO / WARNING / ERROR once TensorFlow is loaded
    os.environ["ABSL_MIN_LOG_LEVEL"] = "3"
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(keras|tensorflow|tf_keras|tf_slim)")
    warnings.filterwarnings("ignore", category=UserWarning, message=r".*(is deprecated|will be removed|deprecated and)")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    install_quiet_import_hook()


@contextlib.contextmanager
def stderr_silenced():
    """File descriptor 2 points at /dev/null inside the block (Python's `sys.stderr` is flushed first)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of a noisy module with descriptor 2 silenced; everything else is the real loader's."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader          # the module keeps its real loader (resources, reloads)
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with stderr_silenced():
            self._loader.exec_module(module)


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """First in `sys.meta_path`: finds a module of `NOISY_MODULES` through the other finders and wraps its loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in NOISY_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


def install_quiet_import_hook() -> None:
    """Make the first import of TensorFlow, from anywhere in this process, silent on descriptor 2 (idempotent)."""
    if not any(isinstance(f, _QuietImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImportFinder())


def import_tensorflow_quietly(*, skip_optional: bool = False) -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null (see the module docstring).

    `skip_optional` (the CLI): Keras is imported too, and both imports skip the packages they only try
    (`optional_imports_skipped`). An import error is still raised (and printed) after the descriptor is restored.
    """
    if "tensorflow" not in sys.modules or (skip_optional and "keras" not in sys.modules):
        with stderr_silenced(), optional_imports_skipped(skip_optional):
            import tensorflow  # noqa: F401, PLC0415

            if skip_optional:
                import keras  # noqa: F401, PLC0415
    silence_after_import()


# Packages that TensorFlow's and Keras's own imports load only when they are installed (`try: import X except
# ImportError`), for features a command of this CLI never uses; measured on TF 2.21 / Keras 3 (python -X
# importtime), ~40% of the CPU of `import tensorflow, keras` when they are installed:
OPTIONAL_IMPORTS = {
    "jax": "tensorflow/lite/python/util.py: `from jax import jit` for TFLite's JAX converter (~1.5 s of CPU)",
    "matplotlib": "keras/src/visualization/*: `import matplotlib.pyplot` for keras.visualization's plots (~0.5 s)",
}


class _SkipOptional(importlib.abc.MetaPathFinder):
    """First in `sys.meta_path` while TensorFlow and Keras are imported: a package of `OPTIONAL_IMPORTS` (and its
    submodules) is not found, as if it were not installed; TF and Keras then take their own `except ImportError`
    branch."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (skipped while TensorFlow is imported)",
                                      name=fullname)
        return None


@contextlib.contextmanager
def optional_imports_skipped(active: bool = True):
    """Inside the block, `OPTIONAL_IMPORTS` not imported yet are not found; after it they import as usual (the demo
    imports matplotlib itself, the parity command's JAX side runs in its own process). Nothing is skipped when
    `KERAS_BACKEND` names another backend than TensorFlow (Keras then needs JAX or PyTorch itself)."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow").strip().lower()
    names = [n for n in OPTIONAL_IMPORTS if n not in sys.modules]
    if not active or not names or backend not in ("tensorflow", "tf", ""):
        yield
        return
    finder = _SkipOptional(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def silence_after_import() -> None:
    """Once tensorflow is imported: turn off its Python-side deprecation printing (through `migrate._internals`,
    the one module that touches TensorFlow's private flag, checked against the installed version)."""
    from migrate._internals import silence_tf_deprecation_printing  # noqa: PLC0415

    silence_tf_deprecation_printing()
    import tensorflow as tf  # noqa: PLC0415

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
    if _STATE["level_read_before"]:
        runtime_notices_triggered_quietly()


def _bool_transpose(tf) -> None:
    tf.function(tf.transpose)(tf.zeros((2, 3), tf.bool))   # not 1 x 1: grappler drops a transpose that moves nothing


# TensorFlow's C++ notices printed once per process at run time, the first time something triggers them, at the log
# level TensorFlow read from TF_CPP_MIN_LOG_LEVEL when it was imported -> what triggers each. A CLI process sets that
# level before the import and never sees them; a process that imported TensorFlow first keeps its own level, and the
# notice came out of whichever command's op triggered it first. Measured on TF 2.21, CPU only.
RUNTIME_NOTICES = {
    # the device search: "E0000 ... cuda_platform.cc ... failed call to cuInit" on a machine without a CUDA driver
    "cuda_platform.cc: failed call to cuInit": lambda tf: tf.config.list_physical_devices(),
    # oneDNN's layout pass (core/util/util.cc, once for the first data type it cannot take): "E0000 ... oneDNN
    # supports DT_BOOL only on platforms with AVX-512", from a bool Transpose (`tf-migrate export` of a Seq2Seq)
    "util.cc: oneDNN supports DT_BOOL only on platforms with AVX-512": _bool_transpose,
}


def runtime_notices_triggered_quietly() -> None:
    """Trigger each of `RUNTIME_NOTICES` now, with descriptor 2 silenced (once per process: each notice is)."""
    if _STATE["notices_triggered"]:
        return
    _STATE["notices_triggered"] = True
    import tensorflow as tf  # noqa: PLC0415

    with stderr_silenced():
        for trigger in RUNTIME_NOTICES.values():
            trigger(tf)
