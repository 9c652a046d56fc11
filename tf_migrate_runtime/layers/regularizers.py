"""Weight penalties of a TF1 loss on weights the converted model holds with a constant folded in.

`keras.regularizers.L2(c)` is `c * sum(w ** 2)`, a TF1 penalty on a variable whose elements the Keras weight holds
as they are (relaid out). An LSTM bias is not: `keras.layers.LSTM` holds TF1's bias with the cell's forget bias
added to the forget block (TF1 added it at run time), so TF1's `c * sum(b ** 2)` is `c * sum((w - shift) ** 2)`
on the Keras weight, `shift` the forget bias on that block and 0 elsewhere: `ShiftedL2`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="tf_migrate_runtime")
class ShiftedL2(keras.regularizers.Regularizer):
    """`l2 * sum((w - shift) ** 2)`: an L2 penalty on the weight's elements less a constant the layout added.

    Args:
        l2: float, the factor.
        size: the weight's number of elements (the shift is laid over them flat, in row-major order).
        shift: [[start, stop, value], ...]: elements `start:stop` (flat) hold `value` more than the penalised
            variable (an LSTM's forget bias over its forget block).

    Example:
        >>> import numpy as np
        >>> reg = ShiftedL2(0.5, size=4, shift=[[1, 2, 1.0]])
        >>> float(reg(np.array([1.0, 3.0, 0.0, 0.0], "float32")))
        2.5
    """

    def __init__(self, l2, size, shift=()):
        self.l2, self.size = float(l2), int(size)
        self.shift = [[int(a), int(b), float(v)] for a, b, v in shift]
        offset = np.zeros(self.size, "float32")
        for a, b, v in self.shift:
            offset[a:b] = v
        self._offset = offset

    def __call__(self, x):
        d = ops.reshape(x, (-1,)) - ops.convert_to_tensor(self._offset, dtype=x.dtype)
        return self.l2 * ops.sum(ops.square(d))

    def get_config(self):
        return {"l2": self.l2, "size": self.size, "shift": self.shift}


def shift_runs(offset) -> list[list]:
    """A constant array laid flat as `ShiftedL2`'s runs [[start, stop, value]] of equal non-zero values."""
    flat = np.asarray(offset, np.float64).reshape(-1)
    runs, k = [], 0
    while k < flat.size:
        j = k
        while j < flat.size and flat[j] == flat[k]:
            j += 1
        if flat[k] != 0:
            runs.append([k, j, float(str(np.float32(flat[k])))])
        k = j
    return runs


__all__ = ["ShiftedL2", "shift_runs"]
