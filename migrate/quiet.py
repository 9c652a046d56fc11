"""Keep TensorFlow's start-up log spam and deprecation warnings out of the CLI's output.

Call `quiet_tensorflow()` before the first `import tensorflow` (the CLI does it for every
subcommand); `--verbose` skips it so everything TensorFlow says is shown.
"""

from __future__ import annotations

import logging
import os
import warnings


def quiet_tensorflow(verbose: bool = False) -> None:
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO / WARNING / ERROR at start-up
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(keras|tensorflow|tf_keras|tf_slim)")
    warnings.filterwarnings("ignore", category=UserWarning, message=r".*(is deprecated|will be removed|deprecated and)")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null.

    TF 2.16+ prints its start-up lines (oneDNN, "Could not find cuda drivers", "All log messages
    before absl::InitializeLog()") through absl's C++ logging before any Python-side setting
    applies, so the only way to keep them out is to silence the descriptor during the import.
    An import error is still raised (and printed) after the descriptor is restored.
    """
    import sys  # noqa: PLC0415

    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401, PLC0415
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    silence_after_import()


def silence_after_import() -> None:
    """Once tensorflow is imported: turn off its Python-side deprecation printing (through `migrate._internals`,
    the one module that touches TensorFlow's private flag, checked against the installed version)."""
    from migrate._internals import silence_tf_deprecation_printing  # noqa: PLC0415

    silence_tf_deprecation_printing()
    import tensorflow as tf  # noqa: PLC0415

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
