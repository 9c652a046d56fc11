"""The engine's import services: making a written name reachable (`import_for`: the imports to add) and
removing TF imports left unused (fast pass: `DropImports`; scope pass: libcst's RemoveImportsVisitor).
`TF2Codemod` mixes `Imports` in and calls `insert` at the end of the module."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace

import libcst as cst
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.matchers import _visitors as matcher_visitors
from libcst.metadata import MetadataWrapper


class Imports:
    """Mixed into `TF2Codemod`: uses its `_tf_alias`, `_needed`, `_name_used` and `full_source`."""

    def _alias_ok(self, alias: str, at: cst.CSTNode | None) -> bool:
        return True  # fast pass: module-level TF names are bound exactly once (proved while visiting)

    def import_for(self, target: str, at: cst.CSTNode | None = None, module: str | None = None) -> str:
        """Make `target` reachable (noting an import to add) and return the dotted expression to write.

        `tf.*`: through the file's `tensorflow` alias. A runtime package target (`module` given, e.g.
        `tf_migrate_runtime.contrib.seq2seq`): `from tf_migrate_runtime.contrib import seq2seq` and
        `seq2seq.X`, unless the file already uses that name (then the full dotted name). Otherwise
        (`tf_slim.*`): `import tf_slim` and the full name.
        """
        if target.startswith("tf."):
            alias = self._tf_alias
            if alias is not None and not self._alias_ok(alias, at):
                alias = None
            if alias is None:
                alias = "tf" if not re.search(r"\btf\b", self.full_source) else "tensorflow"
                self._need("tensorflow", None, "tf" if alias == "tf" else None)
                self._tf_alias = alias
            return alias + target[2:]
        if module and "." in module and (target == module or target.startswith(module + ".")):
            package, _, local = module.rpartition(".")
            if (package, local, None) in self._needed or not self._uses_name(local):
                self._need(package, local, None)
                return local + target[len(module):]
            self._need(module, None, None)
            return target
        self._need(target.split(".")[0], None, None)  # tf_slim
        return target

    def _uses_name(self, local: str) -> bool:
        """Whether the file uses `local` as a name of its own (an added `from x import local` would
        clash). A regular expression finds the candidates; a candidate counts unless its line's tokens
        show it inside a comment or a string (unsure: it counts)."""
        import io  # noqa: PLC0415
        import tokenize  # noqa: PLC0415

        if local in self._name_used:
            return self._name_used[local]
        self._name_used[local] = True
        for m in re.finditer(rf"(?<![.\w]){re.escape(local)}\b", self.full_source):
            start = self.full_source.rfind("\n", 0, m.start()) + 1
            end = self.full_source.find("\n", m.end())
            line = self.full_source[start:end if end >= 0 else len(self.full_source)]
            column = m.start() - start
            try:
                tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
            except (tokenize.TokenError, SyntaxError):
                return True
            if any(t.type == tokenize.NAME and t.start[1] == column for t in tokens):
                return True
            if not any(t.type in (tokenize.COMMENT, tokenize.STRING) and t.start[1] <= column < t.end[1]
                       for t in tokens if t.start[0] == t.end[0] == 1):
                return True  # neither a name nor inside a one-line comment / string: unsure
        self._name_used[local] = False
        return False

    def _need(self, module: str, obj: str | None, asname: str | None) -> None:
        if (module, obj, asname) not in self._needed:
            self._needed.append((module, obj, asname))


class _NoCopy:
    """Resolve metadata on the tree itself, without MetadataWrapper's deep copy (our trees share no nodes)."""

    @contextmanager
    def _handle_metadata_reference(self, module: cst.Module):
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        with self.resolve(wrapper):
            self.context = replace(self.context, wrapper=wrapper)
            yield wrapper.module


# libcst's import visitors (and the gatherers they start) scan every attribute of the instance for
# @m.visit / @m.leave / @m.call_if_* decorators each time one is created: 2/3 of the 23 ms an added import
# costs. They have none, and what the scan finds depends on the class only, so an empty result is kept
# per class while the import passes run (the scans are libcst's own functions, restored afterwards).
_SCANS = ("_gather_constructed_visit_funcs", "_gather_constructed_leave_funcs", "_gather_matchers")
_NOTHING_DECORATED: set[tuple[type, str]] = set()


def _once_per_class(scan, name: str):
    def cached(obj):
        key = (type(obj), name)
        if key in _NOTHING_DECORATED:
            return {}
        found = scan(obj)
        if not found:
            _NOTHING_DECORATED.add(key)
        return found
    return cached


@contextmanager
def static_matcher_scans():
    saved = {name: getattr(matcher_visitors, name) for name in _SCANS}
    for name, scan in saved.items():
        setattr(matcher_visitors, name, _once_per_class(scan, name))
    try:
        yield
    finally:
        for name, scan in saved.items():
            setattr(matcher_visitors, name, scan)


class RemoveImports(_NoCopy, RemoveImportsVisitor):
    pass


class DropImports(cst.CSTTransformer):
    """Fast pass only: drop the module-level TF import aliases nothing refers to any more.

    Exact there: the fast pass proved each TF name is bound once at module level and saw every use of
    it (`uses` counts the ones left). The scope pass uses libcst's RemoveImportsVisitor instead.
    """

    def __init__(self, unused: set[str], nodes: set[int]):
        super().__init__()
        self.unused, self.nodes = unused, nodes

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_SimpleStatementLine(self, node) -> bool:
        return any(id(s) in self.nodes for s in node.body)

    def _keep(self, alias) -> bool:
        if alias.asname is not None:
            return alias.asname.name.value not in self.unused
        name = alias.name.value if isinstance(alias.name, cst.Name) else None
        return name not in self.unused

    def leave_Import(self, original_node, updated_node):
        if id(original_node) not in self.nodes:
            return updated_node
        return self._filter(updated_node)

    def leave_ImportFrom(self, original_node, updated_node):
        if id(original_node) not in self.nodes or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        return self._filter(updated_node)

    def _filter(self, node):
        names = [a for a in node.names if self._keep(a)]
        if len(names) == len(node.names):
            return node
        if not names:
            return cst.RemoveFromParent()
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=names)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if not updated_node.body:
            return cst.RemoveFromParent()
        return updated_node


def insert(cm, original: cst.Module, module: cst.Module, setup: cst.CSTNode | None) -> cst.Module:
    """Add the imports the new code needs (`cm._needed`) right after the file's first TensorFlow import
    (never above a statement that precedes it), and `setup` (a rule's statement, e.g. TFM007's
    `disable_v2_behavior()`) after the last top-level import."""
    body = list(module.body)
    present = _top_level_imports(body)
    anchor = next((i for i, st in enumerate(original.body) if _binds_tf(st, cm.bindings.nodes)), None)
    last = max((i for i, st in enumerate(body) if _is_import_line(st)), default=None)
    if anchor is None:
        anchor = last if last is not None else _preamble_end(body) - 1
    new = []
    for module_name, obj, asname in cm._needed:
        if (module_name, obj, asname) in present:
            continue
        if obj is None:
            code = f"import {module_name}" + (f" as {asname}" if asname else "")
        else:
            code = f"from {module_name} import {obj}" + (f" as {asname}" if asname else "")
        new.append(cst.parse_statement(code + "\n"))
    after = last if last is not None and last > anchor else anchor
    if setup is not None:
        setup = setup.with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(after + 1, setup)
    body[anchor + 1:anchor + 1] = new
    if new or setup is not None:
        cm._inserted = True
    return module.with_changes(body=body)


def _is_import_line(st: cst.CSTNode) -> bool:
    return isinstance(st, cst.SimpleStatementLine) and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in st.body)


def _binds_tf(st: cst.CSTNode, nodes: set[int]) -> bool:
    """A top-level statement holding one of the module's TF imports (also inside `try:` / `if`)."""
    if isinstance(st, cst.SimpleStatementLine):
        return any(id(x) in nodes and isinstance(x, (cst.Import, cst.ImportFrom)) for x in st.body)
    if isinstance(st, (cst.If, cst.Try)):
        inner = getattr(st.body, "body", ())
        return any(_binds_tf(x, nodes) for x in inner)
    return False


def _top_level_imports(body) -> set[tuple[str, str | None, str | None]]:
    out = set()
    for st in body:
        if not isinstance(st, cst.SimpleStatementLine):
            continue
        for x in st.body:
            if isinstance(x, cst.Import):
                for a in x.names:
                    out.add((cst.Module([]).code_for_node(a.name), None, a.asname.name.value if a.asname else None))
            elif isinstance(x, cst.ImportFrom) and x.module is not None and not x.relative \
                    and not isinstance(x.names, cst.ImportStar):
                mod = cst.Module([]).code_for_node(x.module)
                for a in x.names:
                    out.add((mod, a.name.value, a.asname.name.value if a.asname else None))
    return out


def _preamble_end(body) -> int:
    """Index of the first statement after the docstring and `from __future__` imports."""
    i = 0
    for i, st in enumerate(body):
        if isinstance(st, cst.SimpleStatementLine) and len(st.body) == 1:
            x = st.body[0]
            if isinstance(x, cst.Expr) and isinstance(x.value, cst.SimpleString) and i == 0:
                continue
            if isinstance(x, cst.ImportFrom) and x.module is not None and \
                    cst.Module([]).code_for_node(x.module) == "__future__":
                continue
        return i
    return len(body)
