"""Every successor the codemod may write resolves (import + getattr), and the runtime package stays light."""

import importlib
import subprocess
import sys

import pytest

from tf_migrate_runtime.successors import SUCCESSORS, successor


def _resolve(dotted):
    """Import the longest importable module prefix of `dotted`, then getattr the rest (as Python would)."""
    parts = dotted.split(".")
    if parts[0] == "tf":
        obj = importlib.import_module("tensorflow")
        rest = parts[1:]
    else:
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            rest = parts[cut:]
            break
        else:
            raise AssertionError(f"no importable prefix in {dotted}")
    for attr in rest:
        obj = getattr(obj, attr)
    return obj


@pytest.mark.parametrize("contrib_name", sorted(SUCCESSORS))
def test_every_target_resolves(contrib_name):
    entry = SUCCESSORS[contrib_name]
    assert contrib_name.startswith(("tf.contrib.", "tf.estimator")), contrib_name
    assert entry.target.startswith(("tf_migrate_runtime.", "tf.")) and entry.note.strip(), entry
    assert _resolve(entry.target) is not None


def test_members_keep_their_contrib_name():
    """`tf.contrib.seq2seq.X` -> `...seq2seq.X` except where TensorFlow itself renamed it (is_sequence)."""
    renamed = {k for k, v in SUCCESSORS.items() if k.rsplit(".", 1)[1] != v.target.rsplit(".", 1)[1]}
    assert renamed == {"tf.contrib.framework.nest.is_sequence"}


def test_lookup():
    assert successor("tf.contrib.training.HParams").target == "tf_migrate_runtime.contrib.training.HParams"
    assert successor("tf.contrib.seq2seq.NoSuchThing") is None


def test_importing_the_package_and_the_table_loads_no_tensorflow():
    code = ("import sys, tf_migrate_runtime, tf_migrate_runtime.successors, tf_migrate_runtime.contrib, "
            "tf_migrate_runtime.contrib.training, tf_migrate_runtime.contrib.learn; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'tf_keras', 'legacy_tf1', 'migrate', 'tf2') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_runtime_package_imports_no_project_package():
    """`tf_migrate_runtime` ships to users: it never imports legacy_tf1, tf2, migrate or seq2seq_task."""
    import ast
    from pathlib import Path

    import tf_migrate_runtime

    root = Path(tf_migrate_runtime.__file__).parent
    forbidden = {"legacy_tf1", "tf2", "migrate", "seq2seq_task"}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(root)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in forbidden]
            if path.name != "_keras_internals.py":  # the one place a Keras internal is touched
                offenders += [f"{path.relative_to(root)}:{node.lineno} {n} (private)" for n in names
                              if n.startswith("keras.src")]
    assert offenders == []


def test_legacy_tf1_uses_the_one_copy():
    from pathlib import Path

    import legacy_tf1.model
    from tf_migrate_runtime.contrib import seq2seq

    assert legacy_tf1.model.seq2seq is seq2seq
    assert not list((Path(legacy_tf1.model.__file__).parent / "contrib_seq2seq").glob("*.py"))  # no second copy
