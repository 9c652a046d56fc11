"""`tf.contrib.learn.ModeKeys` (TF 1.15 `contrib/learn/python/learn/estimators/model_fn.py`).

The values are contrib's own strings, so code that compared against them, stored them in hparams or wrote
them into file names keeps working:

| name    | value     |
|---------|-----------|
| TRAIN   | `"train"` |
| EVAL    | `"eval"`  |
| INFER   | `"infer"` |

Note: `tf.estimator.ModeKeys.PREDICT` is `"infer"` too, but `tf.estimator` is gone in TF 2.16+, so this
class is the successor of both. Pure Python: importing it loads no TensorFlow.
"""

__all__ = ["ModeKeys"]


class ModeKeys:
    """Standard names for model modes, as `tf.contrib.learn.ModeKeys`.

    Example:
        >>> from tf_migrate_runtime.contrib.learn import ModeKeys
        >>> ModeKeys.INFER
        'infer'
    """

    TRAIN = "train"
    EVAL = "eval"
    INFER = "infer"

    @classmethod
    def validate(cls, key):
        """Raise `ValueError` unless `key` is one of TRAIN, EVAL, INFER (contrib's check)."""
        if key not in (cls.TRAIN, cls.EVAL, cls.INFER):
            raise ValueError(f"Invalid mode {key!r}: expected one of 'train', 'eval', 'infer'.")
