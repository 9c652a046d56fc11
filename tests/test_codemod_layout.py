"""The codemod's layout: rules depend on the engine and the tables, never the reverse.

Every import in `migrate/codemod/*.py` (module level or inside a function) is read with `ast`. No module
outside `migrate/codemod/rules/` imports a rule module, and only the composition modules (the run loop
and the docs generator) import the rules registry: the engine gets the `RuleSet` it applies from its
caller.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CODEMOD = Path(__file__).resolve().parent.parent / "migrate" / "codemod"
REGISTRY = "migrate.codemod.rules"
# The run loop builds the RuleSet from the registry; the docs page is generated from it.
COMPOSITION = {"__init__.py", "docs.py"}


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (`from a.b import c` gives `a.b` and `a.b.c`: c may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against migrate.codemod
            base = "migrate.codemod" + (f".{node.module}" if node.module else "")
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _rule_modules() -> set[str]:
    return {f"{REGISTRY}.{p.stem}" for p in (CODEMOD / "rules").glob("*.py") if p.name != "__init__.py"}


@pytest.mark.parametrize("path", sorted(CODEMOD.glob("*.py")), ids=lambda p: p.name)
def test_no_module_outside_the_rules_imports_a_rule(path):
    imported = _imports(path)
    assert not imported & _rule_modules(), f"{path.name} imports a rule module"
    if path.name not in COMPOSITION:
        assert REGISTRY not in imported, f"{path.name} imports the rules registry: take a RuleSet from the caller"


def test_the_check_sees_the_imports_it_forbids(tmp_path):
    """The reader catches both spellings, at module level and inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from migrate.codemod.rules.tfm004_imports import insert\n"
                      "from migrate.codemod import rules\n")
    assert {"migrate.codemod.rules.tfm004_imports", "migrate.codemod.rules"} <= _imports(sample)
    assert "migrate.codemod.rules.tfm004_imports" in _rule_modules()


def test_the_engine_runs_a_rule_set_it_is_given():
    """The engine applies exactly the RuleSet it gets: a set without TFM001 renames nothing."""
    from migrate.codemod.engine import transform_source  # noqa: PLC0415
    from migrate.codemod.rules import RULES  # noqa: PLC0415
    from migrate.codemod.ruleset import RuleSet  # noqa: PLC0415

    src = "import tensorflow as tf\n\ny = tf.log(x)\n"
    assert transform_source(src, RuleSet(RULES, {"TFM001", "TFM004"}))[0] == "import tensorflow as tf\n\ny = tf.math.log(x)\n"
    assert transform_source(src, RuleSet(RULES, {"TFM004"}))[0] == src
    with pytest.raises(ValueError, match="unknown rule 'TFM999'"):
        RuleSet(RULES, {"TFM999"})


@pytest.mark.parametrize("path", sorted((CODEMOD / "rules").glob("tfm*.py")), ids=lambda p: p.name)
def test_no_rule_imports_another_rule(path):
    """What rules share lives outside them (`shared.py`, `modes.py`, `project.py`)."""
    assert not _imports(path) & (_rule_modules() - {f"{REGISTRY}.{path.stem}"}), f"{path.name} imports a rule"
