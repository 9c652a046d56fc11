"""The codemod: one libcst `VisitorBasedCodemodCommand` that moves TF 1.x code to TF 2.21.

Names are resolved, never matched on text. Each reference (`tf.log`, `rnn.LSTMCell`, `gfile.Open`,
`placeholder`) is traced to its binding: `import tensorflow as tf`, `import tensorflow.compat.v1 as tf`,
`from tensorflow import gfile`, `from tensorflow.contrib import rnn`, `import tensorflow.contrib.slim as
slim`, or a module alias such as `gfile = tf.gfile`. Two resolvers give the same answers:

* the fast one, used when the file proves it is enough: every TensorFlow binding sits at module level
  and its name is bound nowhere else (no parameter, assignment, loop variable, `global`, nested import,
  `del`, star import ... uses that name; checked on the CST during the same pass). Then every use of
  the name is the module-level binding, which is what libcst's `ScopeProvider` would say.
* libcst's `ScopeProvider` (`TF2ScopeCodemod`), used for everything else: the pass is restarted when
  the fast pass meets a shadowing binding.

`tests/test_codemod_rules.py` checks that both give the same output on every fixture. The fast pass
normally runs on a synthetic module made of the file's TF statements only (`chunks.py`; `plan` is set and
`finish` maps the output back); on a whole file it skips statements that mention no TensorFlow name
(`prune.py`, using Python's own `ast`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.codemod import Codemod, CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.matchers import _visitors as matcher_visitors
from libcst.metadata import MetadataWrapper, ScopeProvider

from migrate.codemod.chunks import ChunkMismatch, Plan, _map
from migrate.codemod.prune import skippable
from migrate.codemod.rules import RULES
from migrate.codemod.tables import (
    CAST_FUNCTIONS,
    DROPOUT_TF1_SIGNATURE,
    GRAPH_MODE_NAMES,
    GRAPH_MODE_SETUP,
    LEGACY_KERAS_PREFIXES,
    PRIVATE_MODULES,
    SEQ2SEQ_MODULE,
    tables,
)

# Whole modules that moved: imports of them are rewritten in place (`import tf_slim as slim`).
MODULE_MOVES = {"tf.contrib.slim": "tf_slim"}


class NeedsScope(Exception):
    """Raised by the fast pass when a TensorFlow name is bound more than once: rerun with ScopeProvider."""


@dataclass(frozen=True)
class Finding:
    """Something left for a human: where, which rule, what to do."""

    line: int
    column: int
    rule: str
    message: str

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.column}: {self.rule} {self.message}"


def canonical(qualified: str) -> str:
    """`tensorflow.compat.v1.layers` -> `tf.compat.v1.layers` (the spelling of the rename tables)."""
    return "tf" + qualified[len("tensorflow"):]


def dotted(node: cst.BaseExpression) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None unless the node is a pure chain of names."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    parts.reverse()
    return parts


def dotted_expr(name: str) -> cst.BaseExpression:
    parts = name.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def import_bindings(node: cst.Import | cst.ImportFrom) -> dict[str, str] | None:
    """Local names a TensorFlow import binds -> canonical names; None for a star import of TF."""
    out: dict[str, str] = {}
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = cst.Module([]).code_for_node(alias.name)
            if full != "tensorflow" and not full.startswith("tensorflow."):
                continue
            if alias.asname is not None:
                out[alias.asname.name.value] = canonical(full)
            else:
                out["tensorflow"] = "tf"
        return out
    if node.relative or node.module is None:
        return out
    module = cst.Module([]).code_for_node(node.module)
    if module != "tensorflow" and not module.startswith("tensorflow."):
        return out
    if isinstance(node.names, cst.ImportStar):
        return None
    for alias in node.names:
        local = alias.asname.name.value if alias.asname is not None else alias.name.value
        out[local] = canonical(f"{module}.{alias.name.value}")
    return out


@dataclass
class ModuleBindings:
    """TensorFlow names bound at module level (pass 1, top-level statements only)."""

    names: dict[str, str]
    nodes: set[int]       # ids of the import statements / alias targets that made them
    needs_scope: bool     # a name bound twice, or a star import of tensorflow


def module_bindings(module: cst.Module) -> ModuleBindings:
    names: dict[str, str] = {}
    nodes: set[int] = set()
    needs_scope = False

    def walk(body) -> None:
        nonlocal needs_scope
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    found: dict[str, str] | None = {}
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        found = import_bindings(small)
                        if found is None:
                            needs_scope = True
                            continue
                    elif (isinstance(small, cst.Assign) and len(small.targets) == 1
                          and isinstance(small.targets[0].target, cst.Name)):
                        parts = dotted(small.value)
                        if parts and parts[0] in names and not names[parts[0]].startswith(SEQ2SEQ_MODULE):
                            found = {small.targets[0].target.value: ".".join([names[parts[0]], *parts[1:]])}
                    if found:
                        for name, canon in found.items():
                            if name in names and names[name] != canon:
                                needs_scope = True
                            names[name] = canon
                        nodes.add(id(small) if not isinstance(small, cst.Assign) else id(small.targets[0]))
            elif isinstance(stmt, (cst.If, cst.Try, cst.With)):  # still module scope
                walk(stmt.body.body)
                for extra in ([stmt.orelse] if getattr(stmt, "orelse", None) else []) + list(getattr(stmt, "handlers", ())):
                    inner = getattr(extra, "body", None)
                    walk(getattr(inner, "body", ()) if inner is not None else ())

    walk(module.body)
    return ModuleBindings(names, nodes, needs_scope)


_ALIGN_RE = re.compile(r"[^ ]")
_VISIT: dict[tuple[type, type], object] = {}
_LEAVE: dict[tuple[type, type], object] = {}
_UNKNOWN = object()


def _method(cls: type, name: str):
    """`cls.name`, or None when absent or one of libcst's no-op stubs (`@mark_no_op`)."""
    fn = getattr(cls, name, None)
    return None if fn is None or getattr(fn, "_is_no_op", False) else fn


# Nodes that hold only whitespace, comments and punctuation: 2/3 of the nodes of typical code. The pass
# has no visit_ / leave_ method for them nor for anything they contain, so it does not descend into
# them (CSTTransformer would rebuild each one).
_TRIVIA = frozenset({cst.TrailingWhitespace, cst.EmptyLine, cst.ParenthesizedWhitespace, cst.SimpleWhitespace,
                     cst.Newline, cst.Comment, cst.Comma, cst.AssignEqual, cst.Dot, cst.Colon, cst.Semicolon,
                     cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
                     cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.ImportStar, cst.Asynchronous}) | frozenset(
    c for c in vars(cst).values() if isinstance(c, type) and issubclass(
        c, (cst.BaseBinaryOp, cst.BaseUnaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseAugOp)))


class TF2Codemod(VisitorBasedCodemodCommand):
    """Move TF 1.x code to TF 2.21 (rules TFM001-TFM005, see `migrate/codemod/rules.py`)."""

    DESCRIPTION = "Move TF 1.x code to TF 2.21: renames, argument changes, contrib, imports, notices."

    def __init__(self, context: CodemodContext, rules: frozenset[str] | None = None,
                 source: str = "", prune: bool = True, full_source: str | None = None,
                 plan: Plan | None = None) -> None:
        # ContextAwareTransformer.__init__ minus MatcherDecoratableTransformer's scan of the class for
        # @m.visit / @m.leave decorators (15 ms per file; this class has none and its on_visit / on_leave
        # below do not consult them).
        Codemod.__init__(self, context)
        self._extra_visit_funcs, self._extra_leave_funcs = {}, {}
        self.rules = frozenset(RULES) if rules is None else rules
        self.source = source
        self.full_source = source if full_source is None else full_source  # the file (`source` may be a plan's)
        self.plan = plan  # set: `source` is chunks.Plan.source, mapped back by `finish`
        self.prune = prune and bool(source)
        self.tables = tables()
        self.findings: list[tuple[cst.CSTNode, str, str]] = []
        self._canon: dict[int, str] = {}     # id(original func node) -> TF 1 canonical name
        self._pending: set[int] = set()      # ids of Attribute chains rooted at a TF binding
        self._skip_names: set[int] = set()   # ids of Name nodes that are not references (attr, keyword)
        self._depth = 0                      # function / class / lambda nesting
        self._indents: list[str] = []        # indentation of the enclosing blocks
        self._root: cst.Module | None = None
        self._positions: dict[int, tuple[int, int]] = {}
        self._calls_located = False
        self._call_end: dict[int, int] = {}
        self._call_index: dict[int, int] = {}  # id(original Call) -> its rank in source order
        self._calls_seen = 0
        self._skip: dict = {}
        self._ast_calls: list | None = None
        self._lines: list[str] | None = None
        self._replaced: set[int] = set()
        self._final: dict[int, cst.CSTNode] = {}
        self._intermediate: cst.Module | None = None  # the pass's output, before the import passes  # id(original node) -> the node put in its place      # ids of original references / calls this pass rewrote
        self._imports_changed = False
        self._import_stmts: list[cst.Import | cst.ImportFrom] = []  # module-level TF imports seen
        self._rewritten: set[str] = set()     # TF binding names whose uses were rewritten (fast pass)
        self._uses_left: dict[str, int] = {}  # ... and how many uses of each are left as they were
        self._tf_alias: str | None = None
        self._legacy_keras: cst.CSTNode | None = None
        self._graph_mode: cst.CSTNode | None = None
        self._graph_setup = False
        self.bindings = ModuleBindings({}, set(), False)

    # -- plumbing --------------------------------------------------------------------------------
    def transform_module(self, tree: cst.Module) -> cst.Module:
        """CodemodCommand.transform_module, with the import visitors run without deep copies.

        The fast pass needs no metadata, so it also skips MetadataWrapper's deep copy of the input
        (0.5 s per 7,000 lines). The import visitors work on the result in place so that the nodes
        findings point at survive into the final tree (their line numbers are those of the output).
        """
        if self.METADATA_DEPENDENCIES:
            with self._handle_metadata_reference(tree) as tree_with_metadata:
                new = self._intermediate = self.transform_module_impl(tree_with_metadata)
            if RemoveImportsVisitor.CONTEXT_KEY in self.context.scratch:
                with _static_matcher_scans():
                    new = self._instantiate_and_run(_RemoveImports, new)
        else:
            new = self._intermediate = self.transform_module_impl(tree)
            unused = {name for name in self._rewritten if not self._uses_left.get(name)}
            if unused:
                new = new.visit(_DropImports(unused, self.bindings.nodes))
        if AddImportsVisitor.CONTEXT_KEY in self.context.scratch:
            # AddImportsVisitor only reads and edits module-level imports, and its gathering pass walks the
            # whole tree (0.3 s for a 1,000-line file): give it the module up to the last top-level import.
            last = max((i for i, st in enumerate(new.body) if isinstance(st, cst.SimpleStatementLine)
                        and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in st.body)), default=-1)
            if last < 0 and self.plan is not None:
                raise ChunkMismatch("no import left: AddImportsVisitor must see the whole file")
            if last < 0:  # no import yet: let it see the whole module (docstring, __future__)
                with _static_matcher_scans():
                    return self._instantiate_and_run(_AddImports, new)
            head = new.with_changes(body=new.body[:last + 1])
            with _static_matcher_scans():
                head = self._instantiate_and_run(_AddImports, head)
            new = new.with_changes(body=[*head.body, *new.body[last + 1:]])
        return new

    # Dispatch without the matcher-decorator machinery of MatcherDecoratableTransformer (this class uses
    # no @m.visit / @m.leave decorators) and without per-field `visit_<Node>_<field>` lookups: together
    # 40% of the pass. Semantics are CSTTransformer's.
    # The methods are looked up once per (codemod class, node type): a failed getattr costs a raised
    # AttributeError, for most of the ~1,300 nodes per 100 lines.
    def on_visit(self, node: cst.CSTNode) -> bool:
        key = (type(self), type(node))
        visit = _VISIT.get(key, _UNKNOWN)
        if visit is _UNKNOWN:
            visit = _VISIT[key] = _method(type(self), "visit_" + type(node).__name__)
            if visit is None and type(node) in _TRIVIA:
                visit = _VISIT[key] = _TRIVIA
        if visit is _TRIVIA:
            return False  # nothing to do inside: do not rebuild its whitespace, comments, newlines
        return True if visit is None else visit(self, node) is not False

    def on_leave(self, original_node, updated_node):
        key = (type(self), type(original_node))
        leave = _LEAVE.get(key, _UNKNOWN)
        if leave is _UNKNOWN:
            leave = _LEAVE[key] = _method(type(self), "leave_" + type(original_node).__name__)
        return updated_node if leave is None else leave(self, original_node, updated_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        pass

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        pass

    def visit_Module(self, node: cst.Module) -> bool:
        self._root = node
        self.bindings = module_bindings(node)
        if self.bindings.needs_scope and not self.METADATA_DEPENDENCIES:
            raise NeedsScope
        if self.plan is not None and not set(self.bindings.names) <= self.plan.names:
            raise ChunkMismatch("pass 1 found a TF binding the planner did not")
        self._tf_alias = next((n for n, c in self.bindings.names.items() if c == "tf"), None)
        if not self.METADATA_DEPENDENCIES and self.prune:
            self._skip = skippable(node, self.source, frozenset(self.bindings.names))
        return True

    # Statements that mention no TF name are not visited (see prune.py); calls inside them still count
    # for `_call_span`'s source-order index.
    def _skipped(self, node: cst.CSTNode) -> bool:
        skip = self._skip.get(id(node))
        if skip is None:
            return False
        self._calls_seen += skip.calls
        return True

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return not self._skipped(node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
        return not self._skipped(node)

    def visit_If(self, node: cst.If) -> bool:
        return not self._skipped(node)

    def visit_For(self, node: cst.For) -> bool:
        if self._skipped(node):
            return False
        self._targets(node.target)
        return True

    def visit_While(self, node: cst.While) -> bool:
        return not self._skipped(node)

    def visit_With(self, node: cst.With) -> bool:
        return not self._skipped(node)

    def visit_Try(self, node: cst.Try) -> bool:
        return not self._skipped(node)

    def visit_TryStar(self, node: cst.TryStar) -> bool:
        return not self._skipped(node)

    def visit_Match(self, node: cst.Match) -> bool:
        return not self._skipped(node)

    def positions(self, nodes: list[cst.CSTNode], calls: bool = False) -> dict[int, tuple[int, int]]:
        """(line, 0-based column) where each node of the original module starts.

        One code-generation pass that notes where the wanted nodes begin: ~50x cheaper than resolving
        libcst's PositionProvider for the whole module, which matters because most files have findings.
        """
        want = {id(n) for n in nodes} - set(self._positions)
        calls = calls and not self._calls_located
        if want or calls:
            self._calls_located = self._calls_located or calls
            state = _Locator(default_indent=self._root.default_indent,
                             default_newline=self._root.default_newline, wanted=want, calls=calls)
            self._root._codegen(state)
            self._positions.update(state.found)
            self._call_end.update(state.call_end)
        return self._positions

    def report(self, node: cst.CSTNode, rule: str, message: str) -> None:
        if rule in self.rules:
            self.findings.append((node, rule, message))

    def finish(self, result: cst.Module, changed: bool) -> tuple[str | None, list[Finding]]:
        """The output's code (None when unchanged) and the findings, with line and column in the output.

        One code-generation pass makes the code and locates the findings' nodes in it. A node the
        import passes rebuilt (libcst's RemoveImportsVisitor, scope pass only) is located in the
        transform's own output instead and moved by the change in line count when it sits below the
        imports (they only add or remove module-level import lines). Failing that (rare), in the input.
        """
        finals = [self._final.get(id(node)) for node, _, _ in self.findings]
        if not changed:
            where = self.positions([node for node, _, _ in self.findings]) if self.findings else {}
            if self.plan is not None:
                where = {k: self.plan.map_in(v) for k, v in where.items()}
            return None, self._format(where)
        state = _Locator(default_indent=result.default_indent, default_newline=result.default_newline,
                         wanted={id(f) for f in finals if f is not None})
        result._codegen(state)
        code = "".join(state.tokens)
        where = {id(node): state.found[id(f)] for (node, _, _), f in zip(self.findings, finals, strict=True)
                 if f is not None and id(f) in state.found}
        lost = [(node, f) for (node, _, _), f in zip(self.findings, finals, strict=True)
                if id(node) not in where and f is not None]
        mid = self._intermediate
        if lost and mid is not None and mid is not result:
            last = max((i for i, st in enumerate(mid.body) if isinstance(st, cst.SimpleStatementLine)
                        and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in st.body)), default=-1)
            marker = mid.body[last + 1] if last + 1 < len(mid.body) else None
            inner = _Locator(default_indent=mid.default_indent, default_newline=mid.default_newline,
                             wanted={id(f) for _, f in lost} | {id(marker)})
            mid._codegen(inner)
            shift = code.count("\n") - "".join(inner.tokens).count("\n")
            below = inner.found.get(id(marker), (1, 0))[0]
            for node, f in lost:
                if id(f) in inner.found:
                    line, column = inner.found[id(f)]
                    where[id(node)] = (line + shift if line >= below else line, column)
        missing = [node for node, _, _ in self.findings if id(node) not in where]
        if self.plan is not None:  # back from the synthetic module to the file
            code, segments = self.plan.splice(code)
            where = {k: _map(segments, v) for k, v in where.items()}
        if missing:
            original = self.positions(missing)
            if self.plan is not None:
                original = {k: self.plan.map_in(v) for k, v in original.items()}
            where.update({id(n): original[id(n)] for n in missing})
        return code, self._format(where)

    def _format(self, where: dict[int, tuple[int, int]]) -> list[Finding]:
        out = {Finding(where[id(node)][0], where[id(node)][1] + 1, rule, message)
               for node, rule, message in self.findings}
        return sorted(out, key=lambda f: (f.line, f.column, f.rule, f.message))

    # -- binding resolution ----------------------------------------------------------------------
    def binding_of(self, name_node: cst.Name) -> str | None:
        """Canonical TF name the local name refers to here, or None (not TensorFlow)."""
        return self.bindings.names.get(name_node.value)

    def _shadow_check(self, name: cst.Name | None) -> None:
        """A binding position: in the fast pass a TF name bound here means the file needs ScopeProvider."""
        if name is not None and isinstance(name, cst.Name) and name.value in self.bindings.names:
            raise NeedsScope

    def _targets(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self._shadow_check(node)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for el in node.elements:
                self._targets(el.value)
        elif isinstance(node, cst.StarredElement):
            self._targets(node.value)

    # Every Python binding position. The scope pass overrides these with no-ops.
    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        if id(node) in self.bindings.nodes:
            return False  # a module-level alias (`gfile = tf.gfile`) seen by pass 1
        self._targets(node.target)
        return True

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_Param(self, node: cst.Param) -> None:
        self._shadow_check(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._targets(node.target)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self._shadow_check(item.name)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        for item in node.names:
            self._shadow_check(item.name)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        self._shadow_check(node.name)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        self._shadow_check(node.name)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        self._shadow_check(node.rest)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1  # before any early return: leave_FunctionDef runs either way
        if self._skipped(node):
            return False
        self._shadow_check(node.name)
        return True

    def leave_FunctionDef(self, original_node, updated_node):
        self._depth -= 1
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._depth += 1
        if self._skipped(node):
            return False
        self._shadow_check(node.name)
        return True

    def leave_ClassDef(self, original_node, updated_node):
        self._depth -= 1
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._depth += 1

    def leave_Lambda(self, original_node, updated_node):
        self._depth -= 1
        return updated_node

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._indents.append(self._root.default_indent if node.indent is None else node.indent)

    def leave_IndentedBlock(self, original_node, updated_node):
        self._indents.pop()
        return updated_node

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._skip_names.add(id(node.keyword))

    # -- imports ---------------------------------------------------------------------------------
    def _import_ok(self, node: cst.Import | cst.ImportFrom) -> bool:
        """Fast pass: an import is fine if pass 1 recorded it, or if it neither imports TF nor rebinds a TF name."""
        if id(node) in self.bindings.nodes:
            return True
        found = import_bindings(node)
        if found is None or found:
            return False  # a star import of TF, or a TF import that pass 1 did not see (nested)
        if isinstance(node, cst.Import):
            bound = {a.asname.name.value if a.asname else cst.Module([]).code_for_node(a.name).split(".")[0]
                     for a in node.names}
        elif isinstance(node.names, cst.ImportStar):
            return not self.bindings.names  # `from x import *` could rebind anything
        else:
            bound = {a.asname.name.value if a.asname else a.name.value for a in node.names}
        return not (bound & set(self.bindings.names))

    def visit_Import(self, node: cst.Import) -> bool:
        if not self.METADATA_DEPENDENCIES and not self._import_ok(node):
            raise NeedsScope  # a nested / second import of a TF name: let ScopeProvider sort it out
        if id(node) in self.bindings.nodes:
            self._import_stmts.append(node)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not self.METADATA_DEPENDENCIES and not self._import_ok(node):
            raise NeedsScope
        if id(node) in self.bindings.nodes:
            self._import_stmts.append(node)
        return False

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        if "TFM004" not in self.rules:
            return updated_node
        names = []
        for alias in updated_node.names:
            full = cst.Module([]).code_for_node(alias.name)
            canon = canonical(full) if full.startswith("tensorflow") else None
            new = None
            if canon:
                for old, moved in MODULE_MOVES.items():
                    if canon == old or canon.startswith(old + "."):
                        if alias.asname is not None:
                            new = moved + canon[len(old):]
                if new is None and canon.startswith("tf.contrib") and alias.asname is None:
                    new = "tensorflow"  # `import tensorflow.contrib.rnn` binds `tensorflow`; contrib is gone
            names.append(alias.with_changes(name=_module_expr(new)) if new else alias)
            self._imports_changed = self._imports_changed or bool(new)
        result = updated_node.with_changes(names=names)
        self._final[id(original_node)] = result
        return result

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        self._final[id(original_node)] = updated_node
        if "TFM004" not in self.rules or updated_node.relative or updated_node.module is None:
            return updated_node
        module = cst.Module([]).code_for_node(updated_node.module)
        if not module.startswith("tensorflow") or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        canon = canonical(module)
        for old, moved in MODULE_MOVES.items():
            if canon == old or canon.startswith(old + "."):
                self._imports_changed = True
                return updated_node.with_changes(module=_module_expr(moved + canon[len(old):]))
            if len(updated_node.names) == 1 and f"{canon}.{updated_node.names[0].name.value}" == old:
                # `from tensorflow.contrib import slim` -> `import tf_slim as slim`
                alias = updated_node.names[0]
                local = alias.asname.name.value if alias.asname else alias.name.value
                self._imports_changed = True
                return cst.Import(names=[cst.ImportAlias(name=_module_expr(moved),
                                                         asname=cst.AsName(name=cst.Name(local)))])
        return updated_node

    # -- references ------------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> bool:
        parts = dotted(node)
        if parts is None:
            self._skip_names.add(id(node.attr))
            return True
        if parts[0] in self.bindings.names or self.METADATA_DEPENDENCIES:
            self._pending.add(id(node))
        return False  # a pure chain: its inner names are handled here, not one by one

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute):
        if id(original_node) not in self._pending:
            return updated_node
        parts = dotted(original_node)
        root = original_node
        while isinstance(root, cst.Attribute):
            root = root.value
        return self._reference(original_node, updated_node, root, parts)

    def visit_Name(self, node: cst.Name) -> None:
        pass

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name):
        if id(original_node) in self._skip_names:
            return updated_node
        if original_node.value not in self.bindings.names and not self.METADATA_DEPENDENCIES:
            return updated_node
        return self._reference(original_node, updated_node, original_node, [original_node.value])

    def _reference(self, original, updated, root: cst.Name, parts: list[str]):
        base = self.binding_of(root)
        if base is None:
            if root.value in self.bindings.names:  # the name, bound to something else here: keep its import
                self._uses_left[root.value] = self._uses_left.get(root.value, 0) + 1
            return updated
        name = ".".join([base, *parts[1:]])
        self._canon[id(original)] = name
        res = self.tables.resolve(name)
        target = res.target if res.rule in self.rules else None
        if res.problem:
            self.report(original, res.rule, res.problem)
        final = target or name
        self._notice(original, final)
        if target is None or (base in MODULE_MOVES and target.startswith(MODULE_MOVES[base])
                              and "TFM004" in self.rules):  # unchanged, or `import tf_slim as slim` covers it
            self._uses_left[root.value] = self._uses_left.get(root.value, 0) + 1
            self._final[id(original)] = updated
            return updated
        self._replaced.add(id(original))
        result = self._expr_for(original, root, base, target)
        self._final[id(original)] = result
        return result

    def _notice(self, node: cst.CSTNode, final: str) -> None:
        if self._legacy_keras is None and final.startswith(LEGACY_KERAS_PREFIXES):
            self._legacy_keras = node
        if self._graph_mode is None and final in GRAPH_MODE_NAMES:
            self._graph_mode = node
        if final in GRAPH_MODE_SETUP or final.startswith("tf.Graph."):
            self._graph_setup = True

    def _expr_for(self, original, root: cst.Name, base: str, target: str) -> cst.BaseExpression:
        """An expression for `target`, reusing the local binding when it is a prefix of the target."""
        moved = next((m for old, m in MODULE_MOVES.items() if base == old), None)
        if moved and (target == moved or target.startswith(moved + ".")) and "TFM004" in self.rules:
            expr = dotted_expr(root.value + target[len(moved):])
        elif target.startswith("tf.") and (base == "tf" or target.startswith(base + ".")):
            expr = dotted_expr(root.value + target[len(base):])
        else:
            expr = dotted_expr(self._import_for(target, original))
            self._schedule_removal(root.value, base)
        if isinstance(original, cst.Attribute | cst.Name) and (original.lpar or original.rpar):
            expr = expr.with_changes(lpar=original.lpar, rpar=original.rpar)
        return expr

    def _alias_ok(self, alias: str, at: cst.CSTNode | None) -> bool:
        return True  # fast pass: module-level TF names are bound exactly once (proved while visiting)

    def _import_for(self, target: str, at: cst.CSTNode | None = None) -> str:
        """Make `target` reachable (adding an import) and return the dotted expression to write."""
        if target.startswith("tf."):
            alias = self._tf_alias
            if alias is not None and not self._alias_ok(alias, at):
                alias = None
            if alias is None:
                alias = "tf" if not re.search(r"\btf\b", self.full_source) else "tensorflow"
                AddImportsVisitor.add_needed_import(self.context, "tensorflow",
                                                    asname="tf" if alias == "tf" else None)
                self._tf_alias = alias
            return alias + target[2:]
        if target.startswith(SEQ2SEQ_MODULE):
            package, _, module = SEQ2SEQ_MODULE.rpartition(".")
            AddImportsVisitor.add_needed_import(self.context, package, module)
            return module + target[len(SEQ2SEQ_MODULE):]
        top = target.split(".")[0]  # tf_slim
        AddImportsVisitor.add_needed_import(self.context, top)
        return target

    def _schedule_removal(self, local: str, base: str) -> None:
        if "TFM004" not in self.rules or base in ("tf",):
            return
        self._rewritten.add(local)
        if not self.METADATA_DEPENDENCIES:
            return
        module, _, obj = ("tensorflow" + base[2:]).rpartition(".")
        if local == obj:
            RemoveImportsVisitor.remove_unused_import(self.context, module, obj)
        else:  # `from tensorflow.contrib import rnn as r` or `import tensorflow.contrib.rnn as rnn`
            RemoveImportsVisitor.remove_unused_import(self.context, module, obj, local)
            RemoveImportsVisitor.remove_unused_import(self.context, f"{module}.{obj}", None, local)

    # -- calls: argument changes (TFM002) ----------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        name = self._canon.get(id(original_node.func))
        if name is None:
            return updated_node
        new = updated_node
        if "TFM002" in self.rules:
            new = self._arguments(original_node, new, name)
            if new is not updated_node:
                self._replaced.add(id(original_node))
        if id(original_node.func) in self._replaced or name in CAST_FUNCTIONS:
            new = self._realign(original_node, new)
        self._final[id(original_node)] = new
        return new

    @property
    def changed(self) -> bool:
        """Whether this pass rewrote anything (libcst rebuilds every node, so identity cannot tell)."""
        return bool(self._replaced or self._imports_changed or AddImportsVisitor.CONTEXT_KEY in self.context.scratch
                    or RemoveImportsVisitor.CONTEXT_KEY in self.context.scratch)

    def _arguments(self, original: cst.Call, call: cst.Call, name: str) -> cst.Call:
        t = self.tables
        if any(a.star for a in call.args) and (name in t.reorders or name in CAST_FUNCTIONS):
            self.report(original, "TFM002", f"`{name}` is called with *args/**kwargs: check its arguments "
                                            "against the TF 2 signature by hand")
            return call
        if name in CAST_FUNCTIONS:
            return self._cast(original, call, name)
        if name == "tf.nn.dropout":
            return self._dropout(call)
        final = t.resolve(name).target or name
        if final.startswith("tf.compat.v1.") or not final.startswith("tf."):
            return call  # compat.v1 keeps the TF 1 signature
        args = list(call.args)
        order = t.reorders.get(name)
        if order:
            positional = [a for a in args if a.keyword is None]
            if any(order[i] for i in range(min(len(positional), len(order)))):
                new_args, keywords = [], []
                for i, arg in enumerate(positional):
                    key = order[i] if i < len(order) else None
                    if key:
                        keywords.append(arg.with_changes(keyword=cst.Name(key), equal=_eq()))
                    else:
                        new_args.append(arg)
                args = new_args + keywords + [a for a in args if a.keyword is not None]
        renames = t.keyword_renames.get(name, {})
        used = {a.keyword.value for a in args if a.keyword is not None}
        removed = sorted(k for k in used if k in renames and renames[k] is None)
        if removed:
            compat = "tf.compat.v1." + name[3:]
            if t.exists(compat):  # the TF 1 signature lives on in compat.v1: keep the call working
                self._replaced.add(id(original.func))
                return call.with_changes(func=dotted_expr(self._import_for(compat, original)))
            self.report(original, "TFM002", f"argument(s) {', '.join(removed)} of `{name}` were removed in TF 2 "
                                            "and it has no compat.v1 twin: delete them or rewrite the call")
        if renames:
            args = [arg.with_changes(keyword=cst.Name(renames[arg.keyword.value]))
                    if arg.keyword is not None and renames.get(arg.keyword.value) else arg for arg in args]
        if args != list(call.args):
            args = _fix_commas(args, call.args)
            return call.with_changes(args=args)
        return call

    def _cast(self, original: cst.Call, call: cst.Call, name: str) -> cst.Call:
        args = list(call.args)
        positional = [a for a in args if a.keyword is None]
        keywords = [a for a in args if a.keyword is not None]
        x = positional[0] if positional else next((a for a in keywords if a.keyword.value == "x"), None)
        if x is None:
            return call
        keywords = [a for a in keywords if a is not x]
        rest = [a.with_changes(keyword=cst.Name("name"), equal=_eq()) for a in positional[1:2]] + keywords
        x = x.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
        func = self._cast_func(call.func)
        dtype = dotted_expr(self._dtype_root(call.func) + "." + CAST_FUNCTIONS[name])
        new_args = [x, cst.Arg(dtype), *rest]
        return call.with_changes(func=func, args=_fix_commas(new_args, call.args))

    def _cast_func(self, func: cst.BaseExpression) -> cst.BaseExpression:
        parts = dotted(func) or []
        return dotted_expr(self._dtype_root(func) + ".cast") if parts else func

    def _dtype_root(self, func: cst.BaseExpression) -> str:
        parts = dotted(func) or []
        # `tf.to_float` / `tf.compat.v1.to_float` -> `tf`; a bare `to_float` import -> the tf alias
        if len(parts) >= 2 and self.bindings.names.get(parts[0]) in ("tf", "tf.compat.v1"):
            return parts[0]
        return self._import_for("tf.cast", func).rpartition(".")[0]

    def _dropout(self, call: cst.Call) -> cst.Call:
        args = list(call.args)
        positional = [a for a in args if a.keyword is None]
        keywords = [a for a in args if a.keyword is not None]
        named = [a.with_changes(keyword=cst.Name(DROPOUT_TF1_SIGNATURE[i]), equal=_eq())
                 for i, a in enumerate(positional) if 0 < i < len(DROPOUT_TF1_SIGNATURE)]
        if not any(a.keyword.value == "keep_prob" for a in named + keywords):
            return call
        out = positional[:1]
        for arg in named + keywords:
            if arg.keyword.value == "keep_prob":
                arg = arg.with_changes(keyword=cst.Name("rate"), value=_one_minus(arg.value))
            out.append(arg)
        return call.with_changes(args=_fix_commas(out, call.args))

    def visit_Call(self, node: cst.Call) -> None:
        self._call_index[id(node)] = self._calls_seen
        self._calls_seen += 1

    def _call_span(self, call: cst.Call) -> tuple[int, int, int] | None:
        """(line, column of the callee, last line) of an original call, from Python's own parser.

        `ast` (C) lists the calls in the same order libcst visits them, so the k-th call visited is
        the k-th in source order; this saves a code-generation pass with position tracking per file.
        None when the two disagree (then the slow path locates it).
        """
        if self._ast_calls is None and self.plan is not None:
            self._ast_calls = self.plan.calls()  # the file's own parse, moved to the synthetic lines
        if self._ast_calls is None:
            import ast  # noqa: PLC0415

            try:
                tree = ast.parse(self.source)
            except (SyntaxError, ValueError):
                self._ast_calls = []
                return None
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
            calls.sort(key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
            self._ast_calls = calls
        index = self._call_index.get(id(call))
        if index is None or index >= len(self._ast_calls) or not self.source:
            return None
        node = self._ast_calls[index]
        func = node.func
        if self._lines is None:
            self._lines = self.source.splitlines(keepends=True)
        text = self._lines[func.lineno - 1]
        column = len(text.encode("utf-8")[:func.col_offset].decode("utf-8", errors="replace"))
        return func.lineno, column, node.end_lineno

    def _realign(self, original: cst.Call, call: cst.Call) -> cst.Call:
        """Keep continuation lines aligned to the call's `(` when the callee's length changed."""
        old = self._root.code_for_node(original.func)
        delta = len(cst.Module([]).code_for_node(call.func)) - len(old)
        if delta == 0 or "\n" in old:
            return call
        span = self._call_span(original)
        if span is not None and self._lines[span[0] - 1][span[1]:span[1] + len(old)] != old:
            span = None  # the two parsers disagree on this call: locate it the slow way
            line, start = self.positions([original.func], calls=True)[id(original.func)]
            end = self._call_end.get(id(original), line)
        else:
            line, start, end = span
        if end == line:
            return call  # a one-line call: nothing to align
        column = start + len(old) + 1  # first column after `(`

        block = sum(len(i) for i in self._indents)  # what `indent=True` continuation lines start with
        shifter = _Shift(column, delta, block)
        args = [arg.visit(shifter) for arg in call.args]
        return call.with_changes(args=args, whitespace_before_args=call.whitespace_before_args.visit(shifter))

    # -- the end ---------------------------------------------------------------------------------
    def _stale_imports(self) -> None:
        """Module-level TF imports that stay (still used, or unused but not ours to drop) and fail in TF 2."""
        if "TFM004" not in self.rules:
            return
        for stmt in self._import_stmts:
            for local, canon in (import_bindings(stmt) or {}).items():
                moved = any(canon == m or canon.startswith(m + ".") for m in MODULE_MOVES)
                dropped = local in self._rewritten and not self._uses_left.get(local)
                if moved or dropped or canon in ("tf", "tf.compat.v1") or self.tables.exists(canon) \
                        or canon.split(".")[1] in PRIVATE_MODULES:
                    continue
                self.report(stmt, "TFM004", f"`{'tensorflow' + canon[2:]}` cannot be imported in TensorFlow "
                                            f"{self.tables.version}: this import fails until its remaining "
                                            "uses (reported above) are ported")

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        self._stale_imports()
        if self._legacy_keras is not None:
            self.report(self._legacy_keras, "TFM005", (
                "tf.compat.v1.layers / tf.compat.v1.nn.rnn_cell need legacy Keras under TF 2.16+: install "
                "tf_keras and set TF_USE_LEGACY_KERAS=1 before the first use (e.g. os.environ.setdefault("
                "'TF_USE_LEGACY_KERAS', '1') at the top of the entry point)"))
        if self._graph_mode is not None and not self._graph_setup:
            self.report(self._graph_mode, "TFM005", (
                "this file is built around Session / placeholders, which need graph mode: build the graph "
                "inside `with tf.Graph().as_default():` (or call tf.compat.v1.disable_eager_execution() once "
                "at start-up of a TF 1-only program)"))
        return updated_node


class TF2ScopeCodemod(TF2Codemod):
    """The same transform with names resolved by libcst's `ScopeProvider` (any binding structure)."""

    METADATA_DEPENDENCIES = (ScopeProvider,)

    def visit_Module(self, node: cst.Module) -> bool:
        super().visit_Module(node)
        return True

    def binding_of(self, name_node: cst.Name) -> str | None:
        scope = self.get_metadata(ScopeProvider, name_node, None)
        if scope is None:
            return None
        assignments = scope[name_node.value]
        canon = set()
        for a in assignments:
            node = getattr(a, "node", None)
            if isinstance(node, (cst.Import, cst.ImportFrom)):
                found = import_bindings(node) or {}
                if name_node.value not in found:
                    return None
                canon.add(found[name_node.value])
            elif isinstance(node, cst.Name) and a.scope is self._global_scope() and \
                    name_node.value in self.bindings.names and not self.bindings.names[name_node.value] == "tf" \
                    and self._is_alias_target(node):
                canon.add(self.bindings.names[name_node.value])
            else:
                return None
        if len(canon) != 1:
            if len(canon) > 1:
                self.report(name_node, "TFM001", f"`{name_node.value}` is bound to {sorted(canon)} here: "
                                                 "left as is; migrate it by hand")
            return None
        return canon.pop()

    def _global_scope(self):
        return self.get_metadata(ScopeProvider, self._root)

    def _is_alias_target(self, node: cst.Name) -> bool:
        aliases = getattr(self, "_alias_target_ids", None)
        if aliases is None:
            aliases = set()
            for stmt in self._root.body:
                for small in getattr(stmt, "body", ()) if isinstance(stmt, cst.SimpleStatementLine) else ():
                    if isinstance(small, cst.Assign) and id(small.targets[0]) in self.bindings.nodes:
                        aliases.add(id(small.targets[0].target))
            self._alias_target_ids = aliases
        return id(node) in aliases

    def _shadow_check(self, name) -> None:  # ScopeProvider handles shadowing
        pass

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        return id(node) not in self.bindings.nodes

    def _alias_ok(self, alias: str, at: cst.CSTNode | None) -> bool:
        """The module-level `tf` alias means `tensorflow` at `at` (nothing closer rebinds it)."""
        scope = self.get_metadata(ScopeProvider, at, None) if at is not None else None
        if scope is None:
            return False
        assignments = scope[alias]
        return bool(assignments) and all(
            isinstance(getattr(a, "node", None), (cst.Import, cst.ImportFrom))
            and (import_bindings(a.node) or {}).get(alias) == "tf" for a in assignments)


@dataclass
class _Locator(CodegenState):
    """A CodegenState that records the (line, column) where the wanted nodes start.

    With `calls`, it also records where the callee of every call starts and the line each call ends on.
    """

    wanted: set[int] = field(default_factory=set)
    found: dict[int, tuple[int, int]] = field(default_factory=dict)
    calls: bool = False
    call_end: dict[int, int] = field(default_factory=dict)
    _line: int = 1
    _column: int = 0
    _seen: int = 0

    def _advance(self) -> None:
        for token in self.tokens[self._seen:]:
            newlines = token.count("\n")
            if newlines:
                self._line += newlines
                self._column = len(token) - token.rfind("\n") - 1
            else:
                self._column += len(token)
        self._seen = len(self.tokens)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if self.calls and type(node) is cst.Call:
            self.wanted.add(id(node.func))
        if id(node) in self.wanted:
            self._advance()
            self.found[id(node)] = (self._line, self._column)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if self.calls and type(node) is cst.Call:
            self._advance()
            self.call_end[id(node)] = self._line


def _eq() -> cst.AssignEqual:  # a fresh node each time: metadata is keyed by node identity
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


class _Shift(cst.CSTTransformer):
    """Move continuation lines aligned at or right of `column` (visual indents of an edited call) by `delta`.

    Hanging indents (left of the call's `(`) are left alone, as pycodestyle tells them apart.
    """

    def __init__(self, column: int, delta: int, block: int):
        super().__init__()
        self.column, self.delta, self.block = column, delta, block

    def leave_ParenthesizedWhitespace(self, original_node, updated_node):
        base = self.block if updated_node.indent else 0
        width = base + len(updated_node.last_line.value)
        if width < self.column or width + self.delta < base:
            return updated_node
        return updated_node.with_changes(last_line=cst.SimpleWhitespace(" " * (width + self.delta - base)))


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
def _static_matcher_scans():
    saved = {name: getattr(matcher_visitors, name) for name in _SCANS}
    for name, scan in saved.items():
        setattr(matcher_visitors, name, _once_per_class(scan, name))
    try:
        yield
    finally:
        for name, scan in saved.items():
            setattr(matcher_visitors, name, scan)


class _AddImports(_NoCopy, AddImportsVisitor):
    pass


class _RemoveImports(_NoCopy, RemoveImportsVisitor):
    pass


class _DropImports(cst.CSTTransformer):
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


def _module_expr(dotted_name: str) -> cst.Attribute | cst.Name:
    return dotted_expr(dotted_name)


def _one_minus(value: cst.BaseExpression) -> cst.BaseExpression:
    atomic = isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)) \
        or bool(getattr(value, "lpar", ()))
    if not atomic:
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=cst.Integer("1"), operator=cst.Subtract(), right=value)


def _fix_commas(args: list[cst.Arg], old: tuple[cst.Arg, ...]) -> list[cst.Arg]:
    """Commas after reordering: every argument but the last gets one (keeping its old whitespace)."""
    old_last_comma = old[-1].comma if old else cst.MaybeSentinel.DEFAULT
    out = []
    for i, arg in enumerate(args):
        if i < len(args) - 1:
            if not isinstance(arg.comma, cst.Comma):
                arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            arg = arg.with_changes(comma=old_last_comma)
        out.append(arg)
    return out
