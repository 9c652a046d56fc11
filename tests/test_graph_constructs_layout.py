"""The layout of migrate/graph: the construct registry and the modules around it.

Every import of every module under migrate/graph (module level or inside a function) is read with `ast`:
- no module imports a `_private` name from another module (what modules share is public: the graph-matching
  helpers are `migrate.graph.matching`);
- the imports between migrate/graph modules form no cycle;
- a construct module never imports the registry (it gets it from its caller), and the registry lists every
  construct module, each declaring its entry and its docs line; the table in docs/graph_convert.md is
  `migrate.graph.constructs.docs_table()`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRAPH = ROOT / "migrate" / "graph"
CONSTRUCTS = GRAPH / "constructs"
DOCS = ROOT / "docs" / "graph_convert.md"

# Cycles among other modules that predate the construct registry, each one strongly connected set of modules (all
# through imports inside functions, or the op table's registration imports). The test fails when one disappears, so
# this list only shrinks.
KNOWN_CYCLES = {
    frozenset({"migrate.graph.convert", "migrate.graph.feeds"}),          # feeds raises convert's error type
    frozenset({"migrate.graph.functional", "migrate.graph.loops", "migrate.graph.translate"}),  # the generic tier
    frozenset({"migrate.graph.loss", "migrate.graph.select"}),            # loss kernels / output selection
    frozenset({"migrate.graph.ops", "migrate.graph.ops.array", "migrate.graph.ops.elementwise",
               "migrate.graph.ops.fused_rnn", "migrate.graph.ops.lookup", "migrate.graph.ops.nn",
               "migrate.graph.ops.reduce"}),  # op modules
}                                                                         # register into the table
# Private names imported across modules by other modules, the same way: (importing module, imported name).
KNOWN_PRIVATE: set = set()


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(GRAPH.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, str]]:
    """(imported module, imported name or "") for every import in `path`; `from pkg import mod` gives (pkg.mod, "")
    when pkg.mod is a module."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((sub, "") if sub in modules else (base, a.name))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: {imp for imp, _ in _imports(p, modules) if imp in modules and imp != m} for m, p in modules.items()}


def _cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected sets of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), set()

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = set()
            while True:
                w = stack.pop()
                on.discard(w)
                scc.add(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.add(frozenset(scc))

    for v in edges:
        if v not in index:
            visit(v)
    return out


@pytest.mark.parametrize("path", sorted(GRAPH.rglob("*.py")), ids=lambda p: str(p.relative_to(GRAPH)))
def test_no_private_name_crosses_a_module(path):
    here = _module_name(path)
    private = [f"{m}.{n}" for m, n in _imports(path, _modules())
               if n.startswith("_") and not n.startswith("__") and m.startswith("migrate")
               and (here, f"{m}.{n}") not in KNOWN_PRIVATE]
    assert not private, f"{path.relative_to(ROOT)} imports private names of other modules: {private}"


def test_no_import_cycle_among_the_graph_modules():
    cycles = _cycles(_graph())
    new = {c for c in cycles if c not in KNOWN_CYCLES}
    assert not new, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in new)
    gone = KNOWN_CYCLES - cycles
    assert not gone, f"no longer cycles (remove them from KNOWN_CYCLES): {gone}"


def test_the_checks_see_what_they_forbid(tmp_path, monkeypatch):
    """The reader sees a private name imported inside a function, and the cycle finder a two-module cycle."""
    sample = GRAPH / "sample.py"
    modules = dict(_modules(), **{"migrate.graph.sample": sample})
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: (
        "def f():\n    from migrate.graph.matching import _hidden\nfrom migrate.graph import rnn\n"))
    assert ("migrate.graph.matching", "_hidden") in _imports(sample, modules)
    assert ("migrate.graph.rnn", "") in _imports(sample, modules)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}


def test_no_construct_module_imports_the_registry():
    modules = _modules()
    for path in CONSTRUCTS.glob("*.py"):
        if path.name != "__init__.py":
            imported = {m for m, _ in _imports(path, modules)}
            assert "migrate.graph.constructs" not in imported, f"{path.name} imports the registry"


def test_the_registry_lists_every_construct_module():
    import migrate.graph.constructs as reg  # noqa: PLC0415

    listed = {m.__name__.rsplit(".", 1)[-1] for m in (*reg.CELL_MODULES, *reg.CONSTRUCT_MODULES, *reg.HELPER_MODULES)}
    on_disk = {p.stem for p in CONSTRUCTS.glob("*.py")} - {"__init__", "base"}
    assert listed == on_disk
    for m in reg.CELL_MODULES:
        assert m.CELL in reg.REGISTRY.cells and m.CELL.tf1 and m.CELL.keras
    for m in reg.HELPER_MODULES:
        assert m.HELPER in reg.REGISTRY.helpers and m.HELPER.tf1 and m.HELPER.keras
    for m in reg.CONSTRUCT_MODULES:
        assert m.CONSTRUCT in reg.REGISTRY.constructs and m.CONSTRUCT.tf1 and m.CONSTRUCT.keras
    names = [e.name for e in (*reg.REGISTRY.cells, *reg.REGISTRY.helpers, *reg.REGISTRY.constructs)]
    assert len(names) == len(set(names))


def test_the_docs_table_is_the_registry():
    from migrate.graph.constructs import docs_table  # noqa: PLC0415

    text = "\n".join(line.strip() for line in DOCS.read_text(encoding="utf-8").splitlines())  # any indentation
    assert docs_table() in text, \
        "docs/graph_convert.md's recogniser table differs from migrate.graph.constructs.docs_table(): paste it there"
