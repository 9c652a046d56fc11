"""`tf.estimator.ModeKeys` (TF 1.15 / TF 2.15 `tensorflow_estimator/python/estimator/mode_keys.py`).

`tf.estimator` (and the `tensorflow_estimator` package) is gone since TF 2.16, but model code branches on
its mode keys far beyond Estimators (`if mode == tf.estimator.ModeKeys.TRAIN:` in a model_fn, dropout
switched on in training, keys stored in hparams or written into file names). The values are TF 1's own
strings, so all of that keeps working:

| name    | value     |
|---------|-----------|
| TRAIN   | `"train"` |
| EVAL    | `"eval"`  |
| PREDICT | `"infer"` |

The rest of the Estimator API has no successor here: `tf-migrate codemod` reports each use with the Keras
way to do it. Pure Python: importing it loads no TensorFlow.
"""

__all__ = ["ModeKeys"]


class ModeKeys:
    """Standard names for Estimator model modes, as `tf.estimator.ModeKeys`.

    Example:
        >>> from tf_migrate_runtime.estimator import ModeKeys
        >>> ModeKeys.PREDICT
        'infer'
    """

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"
