"""TFM010 + tf_migrate_runtime.testing: TF 1 test classes pass on TF 2.21 after the codemod's default rules,
each test in TF 1's graph mode, and nothing leaks into the tests that run after them in the same process."""

from __future__ import annotations

import types
import unittest
from pathlib import Path

import pytest
import tensorflow as tf

from migrate.codemod import transform_source
from tf_migrate_runtime.testing import tf1_behaviour

FIXTURES = Path(__file__).with_name("codemod_fixtures")
DECORATOR = "@testing.tf1_graph_mode\n"


def _run(source: str, name: str) -> unittest.TestResult:
    """Run the unittest classes `source` defines (a module of its own, as pytest would import it)."""
    module = types.ModuleType(name)
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)  # noqa: S102  (our fixtures)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TestResult()
    suite.run(result)
    return result


def _tf2_behaviour() -> tuple:
    equality = []
    tf.function(lambda: equality.append(not isinstance(tf.constant(0) == tf.constant(0), bool))
                ).get_concrete_function()
    equality = equality[0]
    return (tf.executing_eagerly(), tf.compat.v1.resource_variables_enabled(),
            tf.compat.v1.control_flow_v2_enabled(), isinstance(tf.TensorShape([1])[0], int), equality)


def test_a_tf1_test_class_passes_after_and_fails_without_the_decorator():
    before = (FIXTURES / "TFM010_test_session.before.py.txt").read_text()
    after, _, _ = transform_source(before)
    assert after.count(DECORATOR) == 1
    result = _run(after, "tfm010_after")
    # test_square, test_cube, test_square inherited; TF's own `test_session` method skips itself (twice)
    assert (result.testsRun, len(result.skipped), result.errors, result.failures) == (5, 2, [], [])
    # The same code without the decorator (every other rewrite kept): placeholders fail eagerly on TF 2.21.
    result = _run(after.replace(DECORATOR, ""), "tfm010_plain")
    assert result.testsRun == 5 and len(result.errors) == 2  # SquareTest.test_square and CubeTest's copy
    assert all("test_square" in str(t) and "not compatible with eager execution" in tb for t, tb in result.errors)
    assert _tf2_behaviour() == (True, True, True, True, True)  # nothing leaked


# tflearn's layers: `if b:` on a variable, shapes read through Dimension.value, a Tensor used as a dict key.
TF1_LIBRARY_TEST = '''
import unittest

import tensorflow as tf


class LayerTest(unittest.TestCase):

    def test_layer(self):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None, 3])
            b = tf.get_variable("b", [3], initializer=tf.zeros_initializer())
            if b:  # a reference variable is truthy in TF 1; a resource variable's bool() is a graph error
                x = x + b
            n = x.get_shape()[1].value  # TF 1: a Dimension
            seen = {x: n}
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                out = sess.run(x, {x: [[1.0, 2.0, 3.0]]})
            self.assertEqual(out.tolist(), [[1.0, 2.0, 3.0]])
            self.assertEqual(seen[x], 3)
'''


def test_tf1_semantics_a_library_relies_on_are_back_inside_the_test_only():
    after, _, _ = transform_source(TF1_LIBRARY_TEST)
    assert DECORATOR in after and "tf.compat.v1.get_variable" in after
    result = _run(after, "tfm010_library")
    assert (result.testsRun, result.errors, result.failures) == (1, [], [])
    result = _run(after.replace(DECORATOR, ""), "tfm010_library_plain")
    assert len(result.errors) == 1 and "OperatorNotAllowedInGraphError" in result.errors[0][1]
    assert _tf2_behaviour() == (True, True, True, True, True)


def test_the_switches_are_restored_even_when_the_test_fails():
    tf.compat.v1.disable_control_flow_v2()  # a state of the process's own, kept as it was
    try:
        with pytest.raises(ZeroDivisionError), tf1_behaviour():
            assert not tf.executing_eagerly() and not tf.compat.v1.resource_variables_enabled()
            assert type(tf.TensorShape([2])[0]).__name__ == "Dimension"
            1 / 0  # noqa: B018
        assert not tf.compat.v1.control_flow_v2_enabled()
        assert _tf2_behaviour()[:2] == (True, True) and _tf2_behaviour()[3:] == (True, True)
    finally:
        tf.compat.v1.enable_control_flow_v2()


RESETTING_TEST = '''import unittest

import tensorflow as tf


class ResettingTest(unittest.TestCase):

    def setUp(self):
        self.sess = tf.Session()

    def tearDown(self):
        tf.reset_default_graph()  # bilm-tf's tests: TF 1 gives the next test a fresh default graph
        self.sess.close()

    def test_fresh_graph(self):
        x = tf.placeholder(tf.float32, [2])
        graph = tf.get_default_graph()
        tf.reset_default_graph()
        self.assertIsNot(tf.get_default_graph(), graph)
        self.assertEqual(self.sess.run(x * 2.0, {x: [1.0, 2.0]}).tolist(), [2.0, 4.0])

    def test_nested_graphs_still_raise(self):
        with tf.Graph().as_default():
            with self.assertRaisesRegex(AssertionError, "nested graphs"):
                tf.reset_default_graph()
'''


def test_reset_default_graph_in_a_test_gives_a_fresh_graph_as_in_tf1():
    after, _, _ = transform_source(RESETTING_TEST)
    assert after.count(DECORATOR) == 1 and "tf.compat.v1.reset_default_graph()" in after
    reset = tf.compat.v1.reset_default_graph
    result = _run(after, "tfm010_resetting")
    assert (result.testsRun, result.errors, result.failures) == (2, [], [])
    assert tf.compat.v1.reset_default_graph is reset and _tf2_behaviour() == (True, True, True, True, True)


@pytest.mark.parametrize("case", ["disabled", "eager_probe", "tf2_test"])
def test_left_alone(case):
    before = (FIXTURES / f"TFM010_{case}.before.py.txt").read_text()
    after, _, _ = transform_source(before)
    assert "tf1_graph_mode" not in after and "tf_migrate_runtime" not in after


LIBRARY = ("import tensorflow as tf\n\n\ndef predict(values):\n"
           "    x = tf.placeholder(tf.float32, [None])\n    with tf.Session() as sess:\n"
           "        return sess.run(x * 2.0, {x: values}).tolist()\n")
LIBRARY_TEST = ("import unittest\n\nimport tensorflow as tf\nimport lib\n\n\nclass LibTest(unittest.TestCase):\n\n"
                "    def test_predict(self):\n        self.assertEqual(lib.predict([1.0, 2.0]), [2.0, 4.0])\n"
                "        self.assertFalse(tf.executing_eagerly())\n")


def _project(tmp_path, library: str) -> tuple[str, str]:
    """A project of a library module and a test that only calls it, run through `codemod --write`."""
    from migrate.codemod import run  # noqa: PLC0415

    (tmp_path / "lib.py").write_text(library)
    (tmp_path / "lib_test.py").write_text(LIBRARY_TEST)
    report = run([tmp_path], mode="write", jobs=1)
    assert [r.status for r in report.results if r.status in ("error", "skipped")] == []
    return (tmp_path / "lib.py").read_text(), (tmp_path / "lib_test.py").read_text()


def test_a_test_that_only_calls_the_projects_graph_mode_library_is_decorated(tmp_path, monkeypatch):
    """`tflearn`'s tests: the test module names no graph-only API; the library it imports opens Sessions."""
    library, test = _project(tmp_path, LIBRARY)
    assert "tf.compat.v1.Session()" in library and test.count(DECORATOR) == 1
    monkeypatch.syspath_prepend(str(tmp_path))
    result = _run(test, "lib_test_after")
    assert (result.testsRun, result.errors, result.failures) == (1, [], [])
    result = _run(test.replace(DECORATOR, ""), "lib_test_plain")  # TF 2.21's eager default: placeholders fail
    assert len(result.errors) == 1 and "not compatible with eager execution" in result.errors[0][1]
    assert _tf2_behaviour() == (True, True, True, True, True)  # nothing leaked
    assert transform_source(LIBRARY_TEST)[0] == LIBRARY_TEST  # alone (no run, no project): nothing to go by


@pytest.mark.parametrize("library", [
    "import tensorflow as tf\n\n\ndef predict(values):\n    return (tf.constant(values) * 2.0).numpy().tolist()\n",
    "import tensorflow as tf\n\nTF2 = tf.__version__.startswith('2')\n\n\ndef predict(values):\n"
    "    if TF2:\n        return (tf.constant(values) * 2.0).numpy().tolist()\n"
    "    with tf.Session() as sess:\n        return sess.run(tf.constant(values) * 2.0).tolist()\n",
], ids=["tf2_library", "library_choosing_its_mode"])
def test_a_test_of_a_tf2_library_is_left_alone(tmp_path, library):
    assert DECORATOR not in _project(tmp_path, library)[1]


def test_a_relative_import_of_a_graph_mode_sibling_counts():
    """nmt's `nmt_test.py`: `from . import inference`, and `nmt/inference.py` opens a Session."""
    from migrate.codemod.rules.tfm010_graph_tests import graph_modules_imported  # noqa: PLC0415

    project = {"nmt": "nmt/inference.py:100 Session", "nmt.inference": "nmt/inference.py:100 Session"}
    source = "from . import inference\nfrom . import nmt as main\nfrom .utils import misc_utils\n"
    assert graph_modules_imported(source, project) == ["nmt.inference (nmt/inference.py:100 Session)"]
    assert graph_modules_imported("from . import train\nimport numpy\n", project) == []


def test_project_facts_name_the_package_and_where_it_opens_a_session(tmp_path):
    from migrate.codemod.project import dotted_name, graph_modules  # noqa: PLC0415

    package = tmp_path / "tflearn" / "helpers"
    package.mkdir(parents=True)
    for folder in (tmp_path / "tflearn", package):
        (folder / "__init__.py").write_text("")
    (package / "trainer.py").write_text("import tensorflow as tf\n# tf.Session() in a comment\n\n"
                                        "sess = tf.compat.v1.Session()\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_models.py").write_text("import tflearn\n")
    (tmp_path / "probe.py").write_text("import tensorflow as tf\nif tf.executing_eagerly():\n    pass\n"
                                       "x = tf.placeholder(tf.float32)\n")
    files = [package / "trainer.py", tmp_path / "tests" / "test_models.py", tmp_path / "probe.py"]
    (tmp_path / "printing.py").write_text("import tensorflow as tf\nprint(tf.__version__)\n"
                                          "x = tf.placeholder(tf.float32)\n")  # printing the version is no choice
    (tmp_path / "tests" / "test_session.py").write_text("import tensorflow as tf\nsess = tf.Session()\n")
    files = [*files, tmp_path / "printing.py", tmp_path / "tests" / "test_session.py"]
    assert dotted_name(package / "trainer.py") == "tflearn.helpers.trainer" and dotted_name(files[1]) == "test_models"
    where = f"{(package / 'trainer.py').as_posix()}:4 Session"
    assert graph_modules(files) == {"tflearn": where, "tflearn.helpers.trainer": where,
                                    "printing": f"{files[-2].as_posix()}:3 placeholder"}
