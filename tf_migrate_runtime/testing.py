"""TF 1 test classes on TF 2.21, one test at a time: `tf1_graph_mode`.

A TF 1 `tf.test.TestCase` builds graphs: `self.test_session()`, placeholders, `tf.gradients`,
`sess.run(...)`. Under TF 2.21's eager default `self.test_session()` yields None and placeholders fail.
`tf.compat.v1.disable_v2_behavior()` fixes that for the whole process, so every other module that the same
pytest process imports afterwards runs in graph mode too (a TF 2 test next to it breaks). This decorator
gives each test of the class, and only it, what TF 1 gave it, and puts everything back afterwards:

| what (TF 1's behaviour)                  | switched with (public API)                      |
|------------------------------------------|-------------------------------------------------|
| graph mode: ops build a graph            | `tf.Graph().as_default()`, as TF's own          |
|                                          | `test_util.deprecated_graph_mode_only` does     |
| reference variables (`get_variable`)     | `tf.compat.v1.disable_resource_variables()`     |
| control flow v1 (`tf.while_loop`, `cond`)| `tf.compat.v1.disable_control_flow_v2()`        |
| `TensorShape[i]` is a `Dimension`        | `tf.compat.v1.disable_v2_tensorshape()`         |
| (`shape[1].value`)                       |                                                 |
| tensors hash and compare by identity     | `tf.compat.v1.disable_tensor_equality()`        |
| `tf.reset_default_graph()` in setUp /    | the block's graph is replaced by a fresh one    |
| tearDown gives a fresh default graph     | (`tf.compat.v1.reset_default_graph`, restored)  |

It wraps the class's `run` (what unittest and pytest call for each test), so `setUp`, the test method,
`tearDown` and the cleanups all build into one graph (TF's `TestCase.setUp` resets the default graph first,
as in TF 1). The four switches are read before each test and restored after it, whatever the test did.

`tf-migrate codemod` adds the decorator to the `tf.test.TestCase` classes of a TF 1 test module that uses
graph-only APIs (rule TFM010).

Example:
    >>> import tensorflow as tf
    >>> from tf_migrate_runtime.testing import tf1_graph_mode
    >>> @tf1_graph_mode
    ... class SquareTest(tf.test.TestCase):
    ...     def test_square(self):
    ...         x = tf.compat.v1.placeholder(tf.float32, [2])
    ...         with self.test_session() as sess:
    ...             self.assertAllEqual(sess.run(x * x, {x: [2, 3]}), [4, 9])
"""

from __future__ import annotations

import contextlib
import functools

__all__ = ["tf1_behaviour", "tf1_graph_mode"]

_MARK = "__tf_migrate_tf1_graph_mode__"


def _switches(tf):
    """(name, read, enable, disable) of each TF 2 behaviour a TF 1 test needs off."""
    v1 = tf.compat.v1

    def tensorshape_v2() -> bool:
        return isinstance(tf.TensorShape([1])[0], int)  # TF 1: a Dimension

    def tensor_equality() -> bool:
        # Element-wise `==` applies in eager code and in functions only (a legacy graph compares by
        # identity either way): traced, `c == c` is a Tensor with equality on, True (identity) with it off.
        seen = []

        @tf.function(autograph=False)
        def probe():
            c = tf.constant(0)
            seen.append(not isinstance(c == c, bool))
            return c

        probe.get_concrete_function()
        return seen[0]

    return (
        ("control flow v2", v1.control_flow_v2_enabled, v1.enable_control_flow_v2, v1.disable_control_flow_v2),
        ("resource variables", v1.resource_variables_enabled, v1.enable_resource_variables,
         v1.disable_resource_variables),
        ("TensorShape v2", tensorshape_v2, v1.enable_v2_tensorshape, v1.disable_v2_tensorshape),
        ("tensor equality", tensor_equality, v1.enable_tensor_equality, v1.disable_tensor_equality),
    )


@contextlib.contextmanager
def tf1_behaviour():
    """Run the block with TF 1's behaviour (graph mode, the switches in the module's table); restore after."""
    import tensorflow as tf  # noqa: PLC0415  (importing this module loads no TensorFlow)

    switches = _switches(tf)
    saved = [read() for _, read, _, _ in switches]
    v1 = tf.compat.v1
    reset = v1.reset_default_graph
    scope = [tf.Graph()]
    scope.append(scope[0].as_default())

    def reset_default_graph():
        """TF 1's `tf.reset_default_graph()` in a test (setUp / tearDown): a fresh default graph. The test's
        graph is this block's, not the process's, so it is replaced here; nested graphs still raise."""
        if v1.get_default_graph() is not scope[0]:
            return reset()
        scope[1].__exit__(None, None, None)
        scope[0] = tf.Graph()
        scope[1] = scope[0].as_default()
        scope[1].__enter__()
        return None

    try:
        for _, _, _, disable in switches:
            disable()
        scope[1].__enter__()
        v1.reset_default_graph = reset_default_graph
        try:
            yield
        finally:
            v1.reset_default_graph = reset
            scope[1].__exit__(None, None, None)
    finally:
        for (_, _, enable, disable), was_on in zip(switches, saved):
            (enable if was_on else disable)()


def tf1_graph_mode(cls):
    """Class decorator: each test of this `unittest.TestCase` runs with TF 1's behaviour (`tf1_behaviour`).

    Subclasses inherit it; decorating a class twice (or a subclass of a decorated class) wraps once.

    Args:
        cls: a `tf.test.TestCase` (any `unittest.TestCase`) subclass.

    Returns:
        `cls`, whose `run` now enters `tf1_behaviour()` around `setUp`, the test and `tearDown`.
    """
    run = cls.run
    if getattr(run, _MARK, False):
        return cls

    @functools.wraps(run)
    def run_with_tf1_behaviour(self, result=None):
        with tf1_behaviour():
            return run(self, result)

    setattr(run_with_tf1_behaviour, _MARK, True)
    cls.run = run_with_tf1_behaviour
    return cls
