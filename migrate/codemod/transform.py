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

import ast
import re
from dataclasses import dataclass, replace

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, ScopeProvider

from migrate.codemod.chunks import ChunkMismatch, Plan
from migrate.codemod.imports import DropImports, Imports, RemoveImports, insert, static_matcher_scans
from migrate.codemod.layout import Layout, _groups, render, render_plan
from migrate.codemod.prune import skippable
from migrate.codemod.ruleset import RuleSet
from migrate.codemod.tables import tables
from migrate.codemod.textpath import TextNode
from migrate.codemod.walk import walk


class NeedsScope(Exception):
    """Raised by the fast pass when a TensorFlow name is bound more than once: rerun with ScopeProvider."""


@dataclass(frozen=True)
class Finding:
    """Something left for a human: where, which rule, what to do."""

    line: int
    column: int
    rule: str
    message: str
    cell: int | None = None  # notebooks: the cell (1-based, among all cells); `line` is then the cell's

    def format(self, path: str) -> str:
        if self.cell is not None:
            return f"{path}:cell {self.cell}:line {self.line}:col {self.column}: {self.rule} {self.message}"
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
    aliases: frozenset[str] = frozenset()  # names bound by `alias = tf.x.y` (not by an import)


def module_bindings(module: cst.Module) -> ModuleBindings:
    names: dict[str, str] = {}
    nodes: set[int] = set()
    aliases: set[str] = set()
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
                        if parts and parts[0] in names:
                            found = {small.targets[0].target.value: ".".join([names[parts[0]], *parts[1:]])}
                            aliases.add(small.targets[0].target.value)
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
    return ModuleBindings(names, nodes, needs_scope, frozenset(aliases))


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


# Inert subtrees (fast pass): an expression made only of names that are neither TF bindings nor rule
# words, literals, and the operators, containers and arguments below holds nothing for the pass or the
# rules (no reference, no call, no binding position), so it is kept as is instead of being rebuilt
# node by node (libcst's transformer rebuilds every node it descends into: a third of the pass).
_LITERALS = frozenset({cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis})
_PARTS = {
    cst.Arg: lambda n: (n.value,),
    cst.Element: lambda n: (n.value,),
    cst.StarredElement: lambda n: (n.value,),
    cst.DictElement: lambda n: (n.key, n.value),
    cst.StarredDictElement: lambda n: (n.value,),
    cst.Attribute: lambda n: (n.value, n.attr),
    cst.Subscript: lambda n: (n.value, *[e.slice for e in n.slice]),
    cst.Index: lambda n: (n.value,),
    cst.Slice: lambda n: tuple(p for p in (n.lower, n.upper, n.step) if p is not None),
    cst.BinaryOperation: lambda n: (n.left, n.right),
    cst.BooleanOperation: lambda n: (n.left, n.right),
    cst.UnaryOperation: lambda n: (n.expression,),
    cst.Comparison: lambda n: (n.left, *[c.comparator for c in n.comparisons]),
    cst.ConcatenatedString: lambda n: (n.left, n.right),
    cst.Tuple: lambda n: tuple(n.elements),
    cst.List: lambda n: tuple(n.elements),
    cst.Set: lambda n: tuple(n.elements),
    cst.Dict: lambda n: tuple(n.elements),
}
_INERT_KINDS = frozenset({cst.Name, *_LITERALS, *_PARTS})
_INERT_DEPTH = 8  # deeper expressions are descended into (bounds the cost of the check)


class TF2Codemod(Imports, Layout, VisitorBasedCodemodCommand):
    """Move TF 1.x code to TF 2.21: walks the module and calls the rules' hooks (`migrate/codemod/rules/`)."""

    DESCRIPTION = "Move TF 1.x code to TF 2.21: renames, argument changes, contrib, imports, notices."

    def __init__(self, context: CodemodContext, rules: RuleSet,
                 source: str = "", prune: bool = True, full_source: str | None = None,
                 plan: Plan | None = None, assume_tf1: bool = True,
                 source_tree: ast.Module | None = None) -> None:
        # ContextAwareTransformer.__init__ minus MatcherDecoratableTransformer's scan of the class for
        # @m.visit / @m.leave decorators (15 ms per file; this class has none and its on_visit / on_leave
        # below do not consult them).
        Codemod.__init__(self, context)
        self._extra_visit_funcs, self._extra_leave_funcs = {}, {}
        self.rules = rules  # the caller's RuleSet (`code in self.rules`: selected)
        # Names TF 2.21 also has with another meaning (`tf.summary.scalar`) are rewritten only in TF 1
        # code: the engine reruns the pass with assume_tf1=False when nothing else in the file was TF 1.
        self.assume_tf1 = assume_tf1
        self.evidence = False          # a TF 1-only reference, argument or method was met
        self.compat_seen = False       # ... or a tf.compat.v1 name (keeps TF 1-only findings stable)
        self.ambiguous_seen = False    # a name with a TF 2 meaning was rewritten on assume_tf1
        self.current_rule = "engine"   # the rule running now (reported with an internal error)
        self._tentative: list[tuple[cst.CSTNode, str, str]] = []  # findings kept only in TF 1 files
        self._located: list[Finding] = []  # findings at file positions (`report_at`)
        self._needed: list[tuple[str, str | None, str | None]] = []  # imports to add: (module, obj, asname)
        # The rules' hooks (see `ruleset.py`): rewriting ones for the selected rules only.
        self._call_hooks = rules.hooks("leave_call")
        self._attr_hooks = rules.hooks("leave_attribute")
        self._import_hooks = rules.hooks("leave_import")
        self._import_from_hooks = rules.hooks("leave_import_from")
        self._module_hooks = rules.hooks("leave_module")
        self._class_hooks = rules.hooks("leave_class")
        self._reference_hook = next(hook for _, hook in rules.hooks("leave_reference", selected=False))
        self._note_reference_hooks = [hook for _, hook in rules.hooks("note_reference", selected=False)]
        self._note_call_hooks = [hook for _, hook in rules.hooks("note_call", selected=False)]
        self.state = rules.new_states()
        self.setup: cst.CSTNode | None = None  # a statement a rule has inserted after the imports (TFM007)
        self.words = rules.words
        self._name_used: dict[str, bool] = {}
        self.source = source
        self.full_source = source if full_source is None else full_source  # the file (`source` may be a plan's)
        self.plan = plan  # set: `source` is chunks.Plan.source, mapped back by `finish`
        self.source_tree = source_tree  # Python's parse of `source`, when the engine has one (`_call_span`)
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
        self._inserted = False  # imports or statements were added
        self._imports_changed = False
        self._import_stmts: list[cst.Import | cst.ImportFrom] = []  # module-level TF imports seen
        self._rewritten: set[str] = set()     # TF binding names whose uses were rewritten (fast pass)
        self._uses_left: dict[str, int] = {}  # ... and how many uses of each are left as they were
        self._tf_alias: str | None = None
        self.bindings = ModuleBindings({}, set(), False)
        self._interesting: frozenset[str] | None = None  # fast pass: names that make a subtree worth visiting
        self._replay_at: dict[int, list] = {}  # id(first statement of a chunk) -> text pieces to replay first
        self._replay_rest: list = []           # text pieces after the last chunk

    # -- plumbing --------------------------------------------------------------------------------
    def transform_module(self, tree: cst.Module) -> cst.Module:
        """CodemodCommand.transform_module, with the import visitors run without deep copies.

        The fast pass needs no metadata, so it also skips MetadataWrapper's deep copy of the input
        (0.5 s per 7,000 lines). Imports the new code needs are inserted by `leave_Module`
        (`_insert_imports`); TF 1 imports left unused are dropped afterwards. An exception carries the
        rule that was running (`tf_migrate_rule`) for the engine's report.
        """
        try:
            if self.METADATA_DEPENDENCIES:
                new = self._transform_with_metadata(tree)
                if RemoveImportsVisitor.CONTEXT_KEY in self.context.scratch:
                    with static_matcher_scans():
                        new = self._instantiate_and_run(RemoveImports, new)
            else:
                new = walk(self, tree)
                unused = {name for name in self._rewritten if not self._uses_left.get(name)}
                if unused:
                    new = new.visit(DropImports(unused, self.bindings.nodes))
            return new
        except Exception as e:
            if not hasattr(e, "tf_migrate_rule"):
                e.tf_migrate_rule = self.current_rule
            raise

    def _transform_with_metadata(self, tree: cst.Module) -> cst.Module:
        """Codemod._handle_metadata_reference without MetadataWrapper's deep copy of the module (6% of a
        run on a real corpus): the engine's tree comes straight from the parser, so no node appears in it
        twice, and the pass never changes a node in place."""
        wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
        old = self.context.wrapper
        with self.resolve(wrapper):
            self.context = replace(self.context, wrapper=wrapper)
            try:
                return walk(self, wrapper.module)
            finally:
                self.context = replace(self.context, wrapper=old)

    # Dispatch without the matcher-decorator machinery of MatcherDecoratableTransformer (this class uses
    # no @m.visit / @m.leave decorators) and without per-field `visit_<Node>_<field>` lookups: together
    # 40% of the pass. Semantics are CSTTransformer's.
    # The methods are looked up once per (codemod class, node type): a failed getattr costs a raised
    # AttributeError, for most of the ~1,300 nodes per 100 lines.
    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._replay_at:
            pieces = self._replay_at.pop(id(node), None)
            if pieces is not None:
                self.replay(pieces)
        key = (type(self), type(node))
        visit = _VISIT.get(key, _UNKNOWN)
        if visit is _UNKNOWN:
            visit = _VISIT[key] = _method(type(self), "visit_" + type(node).__name__)
            if visit is None and type(node) in _TRIVIA:
                visit = _VISIT[key] = _TRIVIA
        if visit is _TRIVIA:
            return False  # nothing to do inside: do not rebuild its whitespace, comments, newlines
        if self._interesting is not None and type(node) in _INERT_KINDS and self._inert(node, 0):
            return False  # on_leave still sees it (unchanged)
        return True if visit is None else visit(self, node) is not False

    def _inert(self, node: cst.CSTNode, depth: int) -> bool:
        kind = type(node)
        if kind is cst.Name:
            return node.value not in self._interesting
        if kind in _LITERALS:
            return True
        parts = _PARTS.get(kind)
        if parts is None or depth >= _INERT_DEPTH:
            return False
        return all(self._inert(part, depth + 1) for part in parts(node))

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
        if self.plan is not None and self.plan.text:
            self._schedule(node)
        self._tf_alias = next((n for n, c in self.bindings.names.items() if c == "tf"), None)
        if not self.METADATA_DEPENDENCIES:  # the scope pass resolves every name: nothing is inert there
            self._interesting = frozenset(self.bindings.names) | self.words
        if not self.METADATA_DEPENDENCIES and self.prune:
            self._skip = skippable(node, self.source, frozenset(self.bindings.names) | self.words)
        return True

    # -- the text path's statements (textpath.py) ----------------------------------------------------
    def _schedule(self, node: cst.Module) -> None:
        """Each text piece is replayed just before the first chunk below it is walked (source order)."""
        if self.bindings.names != self.plan.text_bindings or self.bindings.aliases or self.bindings.needs_scope:
            raise ChunkMismatch("the text path assumed other TF bindings than pass 1 found")
        groups = _groups(node.body)
        if groups is None or len(groups) != len(self.plan.chunks) + 1:
            raise ChunkMismatch("the chunks' markers are not where the text path expects them")
        pieces = sorted(self.plan.text, key=lambda p: p.start)
        i = 0
        for chunk, group in zip(self.plan.chunks, groups[1:], strict=True):
            before = []
            while i < len(pieces) and pieces[i].start < chunk.start:
                before.append(pieces[i])
                i += 1
            if before:
                self._replay_at[id(group[0])] = before
        self._replay_rest = pieces[i:]

    def replay(self, pieces) -> None:
        """What the rules would have observed in these statements (`textpath.Piece.events`), as
        `leave_reference` and `leave_Call` note it."""
        for piece in pieces:
            for event in piece.events:
                if event[0] == "ref":
                    _, node, root, final, changed, evidence = event
                    if evidence:
                        self.evidence = True
                    self.note_reference(node, final)
                    if final.startswith("tf.compat.v1."):
                        self.compat_seen = True
                    if not changed:
                        self._uses_left[root] = self._uses_left.get(root, 0) + 1
                elif event[0] == "call":
                    _, node, name = event
                    for hook in self._note_call_hooks:
                        hook(self, node, name)
                else:  # "flags": what a call's or an ambiguous name's rewrite notes
                    _, evidence, ambiguous = event
                    self.evidence = self.evidence or evidence
                    self.ambiguous_seen = self.ambiguous_seen or ambiguous

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

    def report(self, node: cst.CSTNode, rule: str, message: str) -> None:
        if rule in self.rules:
            self.findings.append((node, rule, message))

    def report_at(self, line: int, column: int, rule: str, message: str) -> None:
        """A finding at a place of the file itself (1-based line, 0-based column in `full_source`), for
        rules that read the whole file rather than the nodes of this pass."""
        if rule in self.rules:
            self._located.append(Finding(line, column + 1, rule, message))

    def report_if_tf1(self, node: cst.CSTNode, rule: str, message: str) -> None:
        """A finding that is kept only when the file turns out to be TF 1 code (`self.evidence`)."""
        if rule in self.rules:
            self._tentative.append((node, rule, message))

    def mark_replaced(self, node: cst.CSTNode) -> None:
        self._replaced.add(id(node))

    def dotted(self, node: cst.BaseExpression) -> list[str] | None:
        return dotted(node)

    def finish(self, result: cst.Module, changed: bool) -> tuple[str | None, list[Finding]]:
        """The output's code (None when unchanged) and the findings, located in the source file.

        Findings point at nodes of the input; one code-generation pass of the input locates them
        (`positions`), then the chunked pass maps them from its synthetic module to the file.
        """
        if self.evidence or self.compat_seen:
            self.findings.extend(self._tentative)
        nodes = [node for node, _, _ in self.findings if type(node) is not TextNode]
        where = self.positions(nodes) if nodes else {}
        if self.plan is not None:
            where = {k: self.plan.map_in(v) for k, v in where.items()}
        for node, _, _ in self.findings:
            if type(node) is TextNode:  # the text path's nodes are located in the file already
                where[id(node)] = (node.line, node.column)
        if not changed:
            return None, self._format(where)
        code = render(result) if self.plan is None else render_plan(result, self._root, self.plan)
        if self.plan is not None:  # back from the synthetic module to the file
            code, _ = self.plan.splice(code)
        return code, self._format(where)

    def _format(self, where: dict[int, tuple[int, int]]) -> list[Finding]:
        out = {Finding(where.get(id(node), (1, 0))[0], where.get(id(node), (1, 0))[1] + 1, rule, message)
               for node, rule, message in self.findings} | set(self._located)
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
        if self._class_hooks:  # TFM010: a TF 1 test class gets its decorator
            updated_node = self._run_hooks(self._class_hooks, original_node, updated_node)
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
        return self._run_hooks(self._import_hooks, original_node, updated_node)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom):
        return self._run_hooks(self._import_from_hooks, original_node, updated_node)

    def _run_hooks(self, chain, original, updated):
        for code, hook in chain:
            self.current_rule = code
            updated = hook(self, original, updated)
        self.current_rule = "engine"
        return updated

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
        if self._attr_hooks and original_node.attr.value in self.words:
            for code, hook in self._attr_hooks:
                self.current_rule = code
                out = hook(self, original_node, updated_node)
                if out is not None:  # a rewrite (TFM006: `ds.output_shapes` of a known Dataset)
                    self.current_rule = "engine"
                    self._replaced.add(id(original_node))
                    return out
            self.current_rule = "engine"
        if id(original_node) not in self._pending:
            return updated_node
        parts = dotted(original_node)
        root = original_node
        while isinstance(root, cst.Attribute):
            root = root.value
        return self._reference_hook(self, original_node, updated_node, root, parts)

    def visit_Name(self, node: cst.Name) -> None:
        pass

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name):
        if id(original_node) in self._skip_names:
            return updated_node
        if original_node.value not in self.bindings.names and not self.METADATA_DEPENDENCIES:
            return updated_node
        return self._reference_hook(self, original_node, updated_node, original_node, [original_node.value])

    def note_reference(self, node: cst.CSTNode, final: str) -> None:
        """The rules' observations of a reference and the name now written for it (TFM005, TFM007)."""
        for hook in self._note_reference_hooks:
            hook(self, node, final)

    # -- calls: the rules' hooks (TFM002 arguments, TFM006 dataset) ------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        name = self._canon.get(id(original_node.func))
        if name is not None:
            for hook in self._note_call_hooks:
                hook(self, original_node, name)
        func = original_node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) \
            else None
        if name is None and method not in self.words:
            return updated_node
        new = updated_node
        # A call of a name TF 2.21 also has (`tf.nn.dropout(x, 0.8)`: rate in TF 2, keep_prob in TF 1) is
        # TF 1 code only if the file is: its argument changes are made on the same terms as ambiguous names.
        tf2_name = name is not None and not name.startswith("tf.compat.") and self.tables.exists(name)
        # ... except the names whose TF 1 meaning a call may carry in any file (`Tables.meaning_changed`):
        # their hooks run on every pass and set `evidence` / `ambiguous_seen` themselves.
        meaning = tf2_name and name in self.tables.meaning_changed
        for code, hook in self._call_hooks:
            if not isinstance(new, cst.Call):
                break
            if name is None and not self.rules.rule(code).words:
                continue
            if tf2_name and not self.assume_tf1 and not meaning:
                continue
            self.current_rule = code
            out = hook(self, original_node, new, name)
            if out is not new:
                self._replaced.add(id(original_node))
                if tf2_name and not meaning:
                    self.ambiguous_seen = True
                elif not tf2_name:
                    self.evidence = True
            new = out
        self.current_rule = "engine"
        if name is not None and isinstance(new, cst.Call) and id(original_node.func) in self._replaced:
            new = self._realign(original_node, new)
        return new

    @property
    def changed(self) -> bool:
        """Whether this pass rewrote anything (libcst rebuilds every node, so identity cannot tell)."""
        return bool(self._replaced or self._imports_changed or self._inserted
                    or RemoveImportsVisitor.CONTEXT_KEY in self.context.scratch
                    or (self.plan is not None and self.plan.edited is not None))

    def visit_Call(self, node: cst.Call) -> None:
        self._call_index[id(node)] = self._calls_seen
        self._calls_seen += 1

    # -- the end ---------------------------------------------------------------------------------
    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if self._replay_at:
            raise ChunkMismatch("a chunk the text path waited for was not walked")
        if self._replay_rest:
            self.replay(self._replay_rest)
            self._replay_rest = []
        for code, hook in self._module_hooks:
            self.current_rule = code
            hook(self, original_node)
        self.current_rule = "engine"
        if not self._needed and self.setup is None:
            return updated_node
        return insert(self, original_node, updated_node, self.setup)  # imports.py

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
