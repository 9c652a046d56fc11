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
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def silence_after_import() -> None:
    """Once tensorflow is imported: turn off its Python-side deprecation printing."""
    try:
        from tensorflow.python.util import deprecation  # noqa: PLC0415

        deprecation._PRINT_DEPRECATION_WARNINGS = False
    except Exception:  # pragma: no cover - private API moved; the logger level still applies
        pass
    import tensorflow as tf  # noqa: PLC0415

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
