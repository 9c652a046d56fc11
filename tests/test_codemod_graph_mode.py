"""--graph-mode (TFM007) only where it is safe: a module that chooses between TF 1 and TF 2 itself keeps its
choice and gets a finding; every other entry point gets the setup call (fixtures: TFM007_*)."""

from __future__ import annotations

import pytest

from migrate.codemod import transform_source
from migrate.codemod.rules import select_rules

SETUP = "tf.compat.v1.disable_v2_behavior()\n"
MAIN = "\nif __name__ == '__main__':\n    tf.test.main()\n"


@pytest.mark.parametrize("body, line, what", [
    ("if tf.__version__.startswith('1.'):\n    pass\n", 2, "`tf.__version__`, compared or tested"),
    ("TF2 = int(tf.VERSION.split('.')[0]) >= 2\n", 2, "`tf.VERSION`, compared or tested"),
    ("V = tf.version.VERSION\nX = 1 if V < '2' else 2\n", 2, "`tf.version.VERSION`, through `V`, tested"),
    ("def f():\n    assert tf.compat.v1.executing_eagerly()\n", 3, "`tf.compat.v1.executing_eagerly()`, compared or tested"),
    ("class T(tf.test.TestCase):\n    def setUp(self):\n        self.eager = tf.executing_eagerly()\n"
     "    def test(self):\n        if self.eager:\n            return\n", 4,
     "`tf.executing_eagerly()`, through `self.eager`, tested"),
    ("from tensorflow.python import tf2\nuse_v2 = tf2.enabled()\nwhile not use_v2:\n    break\n", 3,
     "`tf2.enabled()` (tf.python.tf2.enabled), through `use_v2`, tested"),
    ("import utils\nif utils.tf2_enabled():\n    pass\n", 3, "`utils.tf2_enabled()` in a test"),
    ("x = 1 if in_eager_mode() else 2\n", 2, "`in_eager_mode()` in a test"),
    ("tf.compat.v1.enable_v2_behavior()\n", 2, "it calls `tf.compat.v1.enable_v2_behavior()`"),
], ids=["startswith", "VERSION-compared", "through-a-name", "assert-eager", "through-an-attribute", "tf2.enabled",
        "helper-attribute", "helper-in-ifexp", "enables-v2"])
def test_a_module_that_chooses_its_mode_keeps_it(body, line, what):
    src = "import tensorflow as tf\n" + body + MAIN
    out, findings, _ = transform_source(src, select_rules(extend="TFM007"))
    assert SETUP not in out
    (finding,) = [f for f in findings if f.rule == "TFM007"]
    assert finding.line == line
    assert finding.message.startswith(f"--graph-mode left this module alone: it chooses between TF 1 and TF 2 "
                                      f"itself ({what}), and ")


@pytest.mark.parametrize("body", [
    "print('TF', tf.__version__)\n",
    "logging.info('version %s', tf.version.VERSION)\n",
    "if is_training():\n    pass\n",           # a helper whose name says nothing about TF 2 / eager
    "# tf.__version__ >= '2': a comment is no choice\n",
], ids=["print-version", "log-version", "other-helper", "comment"])
def test_reading_the_version_without_branching_on_it_still_gets_the_setup(body):
    src = "import tensorflow as tf\n" + body + MAIN
    out, findings, _ = transform_source(src, select_rules(extend="TFM007"))
    assert out.startswith("import tensorflow as tf\n\n" + SETUP)
    assert not [f for f in findings if f.rule == "TFM007"]


def test_without_graph_mode_nothing_is_inserted_nor_reported():
    src = "import tensorflow as tf\nif tf.executing_eagerly():\n    pass\n" + MAIN
    out, findings, _ = transform_source(src)
    assert out == src and not [f for f in findings if f.rule == "TFM007"]
