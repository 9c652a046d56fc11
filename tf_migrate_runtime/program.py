"""A whitelist interpreter of the Keras source that `tf-migrate convert --from-graph` writes, never `exec` / `eval`.

Converted models are described by source code (`model.py`), and some of their layers carry code in their config:
the body and condition of a TF1 while loop that no recogniser took (`tf_migrate_runtime.layers.WhileLoop`). That
code is written from names and values read from a checkpoint and a `.meta`, so it is never executed: it is parsed
(`ast.parse`, nothing runs), every node is checked against the forms below, and only then evaluated node by node.
`migrate.graph.program` uses the same checks and evaluation for `model.py`'s `build_model()`.

Expressions (EXPR): a constant (number, string, bytes, True / False / None, `...`), a name bound before, a list /
tuple, a dict with string keys, `-EXPR`, `EXPR + EXPR` / `-` / `*` on numbers and tensors only, `EXPR[i]` with int
/ slice / `...` / None indices, `float("inf")` / `float("-inf")` / `float("nan")`, and calls with data arguments
of the callables the interpreter is given (`keras.ops.<function>`, `tfm.<layer>`, `tfm.<loop helper>`, ...).
A loop function (`loop_function`): `def NAME(a, b, ...):`, an optional docstring, `name = EXPR` /
`a, b = EXPR` statements, and `return EXPR` last. No import, builtin, attribute outside the callables, lambda,
comprehension, f-string or other statement.
"""

from __future__ import annotations

import ast
import numbers
import types

# The literal forms of non-finite floats: the string -> the value.
NON_FINITE = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}
ROOTS = ("keras", "tfm")


class ProgramError(ValueError):
    """Source outside the whitelisted forms: nothing of it was run."""


class Interpreter:
    """Checks (`check_expr`, nothing called) and evaluates (`eval`) expressions of generated source.

    `callables`: dotted name (`keras.ops.add`, `tfm.Fill`) -> the object a call of it reaches.
    `where`: the file name used in messages. `error`: the exception class raised for a refused form."""

    error = ProgramError
    where = "generated source"

    def __init__(self, keras_module, callables: dict):
        self.keras = keras_module
        self.callables = callables

    def fail(self, node, what: str):
        line = getattr(node, "lineno", None)
        where = f"{self.where} line {line}" if line else self.where
        raise self.error(f"{where}: {what}: outside the forms the graph converter writes (see "
                         f"tf_migrate_runtime/program.py); nothing of it was run. A bug of the converter, please "
                         f"report it with the .meta")

    # -- checks (nothing is called) ------------------------------------------------------------------
    def target_names(self, target) -> list[str]:
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        out = []
        for n in names:
            if not isinstance(n, ast.Name) or n.id in ROOTS or n.id == "float" or n.id.startswith("__"):
                self.fail(target, "an assignment to something other than plain names")
            out.append(n.id)
        return out

    def check_expr(self, node, bound: set[str]) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bytes, bool, type(None), type(Ellipsis))) or \
                    isinstance(node.value, complex):
                self.fail(node, f"a constant of type {type(node.value).__name__}")
        elif isinstance(node, ast.Name):
            if node.id not in bound:
                self.fail(node, f"the name {node.id!r}, not bound above")
        elif isinstance(node, (ast.List, ast.Tuple)):
            for e in node.elts:
                self.check_expr(e, bound)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                    self.fail(node, "a dict key that is not a string constant")
                self.check_expr(v, bound)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self.check_expr(node.operand, bound)
        elif isinstance(node, ast.BinOp):
            first, rest = chain_of_ops(node)   # `a + b + ... + z` (AddN of many tensors) without deep recursion
            self.check_expr(first, bound)
            for op, right in rest:
                if not isinstance(op, (ast.Add, ast.Sub, ast.Mult)):
                    self.fail(node, f"the operator {type(op).__name__} (only +, - and *)")
                self.check_expr(right, bound)
        elif isinstance(node, ast.Subscript):
            self.check_expr(node.value, bound)
            self.check_index(node.slice)
        elif isinstance(node, ast.Call):
            if non_finite(node) is not None:
                return
            self.check_callee(node, bound)
            for a in node.args:
                if isinstance(a, ast.Starred):
                    self.fail(node, "a *argument")
                self.check_expr(a, bound)
            for k in node.keywords:
                if k.arg is None:
                    self.fail(node, "a **argument")
                self.check_argument(k, bound)
        else:
            self.fail(node, f"a {type(node).__name__} expression")

    def check_argument(self, keyword, bound: set[str]) -> None:
        self.check_expr(keyword.value, bound)

    def check_callee(self, node, bound: set[str]) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            name = chain(func)
            if name not in self.callables:
                self.fail(node, f"a call of {name or 'an attribute of a value'} (only {self.callable_kinds()})")
        elif isinstance(func, ast.Name):
            if func.id not in bound:
                self.fail(node, f"a call of {func.id!r}, which is no layer made above")
        elif isinstance(func, ast.Call):
            self.check_expr(func, bound)
        else:
            self.fail(node, f"a call of a {type(func).__name__}")

    def callable_kinds(self) -> str:
        return "keras.ops.* and tfm.*"

    def check_index(self, node) -> None:
        if isinstance(node, ast.Tuple):
            for e in node.elts:
                self.check_index(e)
        elif isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.check_int(part)
        elif isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
            pass
        else:
            self.check_int(node)

    def check_int(self, node) -> None:
        inner = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        if not (isinstance(inner, ast.Constant) and type(inner.value) is int):
            self.fail(node, "an index that is not an int, a slice of ints, ... or None")

    def check_assignments(self, stmts, bound: set[str]) -> None:
        """`name = EXPR` / `a, b = EXPR` statements; the names they bind are added to `bound`."""
        for stmt in stmts:
            if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
                self.fail(stmt, f"a {type(stmt).__name__} statement (only `name = ...` is written)")
            self.check_expr(stmt.value, bound)
            bound.update(self.target_names(stmt.targets[0]))

    # -- evaluation ------------------------------------------------------------------------------------
    def run_assignments(self, stmts, env: dict) -> None:
        for stmt in stmts:
            value = self.eval(stmt.value, env)
            target = stmt.targets[0]
            if isinstance(target, ast.Tuple):
                if not isinstance(value, (list, tuple)) or len(value) != len(target.elts):
                    self.fail(stmt, f"{len(target.elts)} names bound to a {type(value).__name__}"
                              + (f" of {len(value)}" if isinstance(value, (list, tuple)) else ""))
                for n, v in zip(target.elts, value):
                    env[n.id] = v
            else:
                env[target.id] = value

    def eval(self, node, env):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.List):
            return [self.eval(e, env) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e, env) for e in node.elts)
        if isinstance(node, ast.Dict):
            return {k.value: self.eval(v, env) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.UnaryOp):
            return -self.arith(node, self.eval(node.operand, env))
        if isinstance(node, ast.BinOp):
            first, rest = chain_of_ops(node)
            a = self.arith(node, self.eval(first, env))
            for op, right in rest:
                b = self.arith(node, self.eval(right, env))
                a = self.arith(node, a + b if isinstance(op, ast.Add) else a - b if isinstance(op, ast.Sub) else a * b)
            return a
        if isinstance(node, ast.Subscript):
            value = self.eval(node.value, env)
            if not (isinstance(value, (list, tuple)) or self.is_tensor(value)):
                self.fail(node, f"an index into a {type(value).__name__}")
            return value[index_of(node.slice)]
        if isinstance(node, ast.Call):
            return self.call(node, env)
        self.fail(node, f"a {type(node).__name__} expression")  # pragma: no cover - refused by the check

    def call(self, node, env):
        literal = non_finite(node)
        if literal is not None:
            return literal
        func = node.func
        if isinstance(func, ast.Attribute):
            fn = self.callables[chain(func)]
        else:
            fn = self.eval(func, env)
            if not isinstance(fn, self.keras.layers.Layer):
                self.fail(node, f"a call of a {type(fn).__name__}, not of a layer")
        args = [self.eval(a, env) for a in node.args]
        kwargs = {k.arg: self.eval_argument(k, env) for k in node.keywords}
        for v in [*args, *kwargs.values()]:
            if holds_callable(v, data=self.keras.regularizers.Regularizer):
                self.fail(node, "a function, class or layer passed as an argument")
        return fn(*args, **kwargs)

    def eval_argument(self, keyword, env):
        return self.eval(keyword.value, env)

    def is_tensor(self, v) -> bool:
        return isinstance(v, self.keras.KerasTensor) or self.keras.ops.is_tensor(v)

    def arith(self, node, v):
        if isinstance(v, bool) or not (isinstance(v, numbers.Number) or self.is_tensor(v)):
            self.fail(node, f"arithmetic on a {type(v).__name__} (numbers and tensors only)")
        return v


class LoopFunction(Interpreter):
    """One generated function of a loop (its condition or body), checked in full when made, interpreted when
    called: `def NAME(params): [docstring] assignments... return EXPR`. The source is data (a layer's config
    holds it); `source` is the text, `name` and `params` are read from it."""

    where = "loop function"

    def __init__(self, source: str, keras_module, callables: dict, error=None):
        super().__init__(keras_module, callables)
        if error is not None:
            self.error = error
        if not isinstance(source, str):
            raise self.error(f"{self.where}: expected the source text of a function, got a "
                             f"{type(source).__name__}")
        self.source = source
        try:
            tree = ast.parse(source, filename="<loop function>")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            raise self.error(f"{self.where} line {getattr(e, 'lineno', '?')}: the source does not parse "
                             f"({type(e).__name__}: {e})") from None
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
            self.fail(tree.body[0] if tree.body else tree, "anything but one function definition")
        fn = tree.body[0]
        self.name = fn.name
        self.where = f"loop function {fn.name}()"
        a = fn.args
        if fn.decorator_list or fn.returns is not None or a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or \
                a.defaults or any(x.annotation is not None for x in a.args):
            self.fail(fn, "a signature other than plain parameter names")
        self.params = [x.arg for x in a.args]
        for p in self.params:
            if p in ROOTS or p == "float" or p.startswith("__"):
                self.fail(fn, f"the parameter name {p!r}")
        body = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else list(fn.body)
        if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
            self.fail(fn, "a function that does not end with `return EXPR`")
        bound = set(self.params)
        self.check_assignments(body[:-1], bound)
        self.check_expr(body[-1].value, bound)
        self.body = body

    def __call__(self, *args):
        if len(args) != len(self.params):
            raise self.error(f"{self.where}: called with {len(args)} values for {len(self.params)} parameters")
        env = dict(zip(self.params, args))
        self.run_assignments(self.body[:-1], env)
        return self.eval(self.body[-1].value, env)


def runtime_callables(keras_module, tfm_module) -> dict:
    """What generated code may call: every public function of keras.ops, the layers of
    `tf_migrate_runtime.layers` (its `__all__`, models aside: `tfm.Model` is `build_model()`'s return only, see
    `migrate.graph.program`) and its loop helpers (`LOOP_HELPERS`), by dotted name."""
    out = {}
    for n in getattr(tfm_module, "__all__", ()):
        cls = getattr(tfm_module, n)
        if isinstance(cls, type) and issubclass(cls, keras_module.layers.Layer) \
                and not issubclass(cls, keras_module.Model):
            out[f"tfm.{n}"] = cls
    for n in getattr(tfm_module, "LOOP_HELPERS", ()):
        out[f"tfm.{n}"] = getattr(tfm_module, n)
    for n in dir(keras_module.ops):
        fn = getattr(keras_module.ops, n)
        if not n.startswith("_") and callable(fn) and not isinstance(fn, (types.ModuleType, type)):
            out[f"keras.ops.{n}"] = fn
    return out


def chain(node) -> str | None:
    """`keras.ops.add` -> "keras.ops.add" when the chain is names rooted at keras / tfm (no private part)."""
    parts = []
    while isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return None
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in ROOTS:
        return None
    return ".".join([node.id, *reversed(parts)])


def chain_of_ops(node):
    """A left-nested `a op b op c ...` -> (a, [(op, b), (op, c), ...]), read without recursion."""
    rest = []
    while isinstance(node, ast.BinOp):
        rest.append((node.op, node.right))
        node = node.left
    return node, rest[::-1]


def non_finite(node):
    """`float("inf")` / `float("-inf")` / `float("nan")` -> the float (a literal form: nothing is called)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float" and \
            not node.keywords and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and \
            isinstance(node.args[0].value, str) and node.args[0].value in NON_FINITE:
        return NON_FINITE[node.args[0].value]
    return None


def index_of(node):
    if isinstance(node, ast.Tuple):
        return tuple(index_of(e) for e in node.elts)
    if isinstance(node, ast.Slice):
        return slice(*(None if p is None else _int(p) for p in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
        return node.value
    return _int(node)


def _int(node) -> int:
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value
    return node.value


def holds_callable(v, data=()) -> bool:
    """Whether `v` is or holds a function, class or layer; instances of `data` (a Keras regulariser: its config
    is numbers) are data."""
    if isinstance(v, (list, tuple)):
        return any(holds_callable(x, data) for x in v)
    if isinstance(v, dict):
        return any(holds_callable(x, data) for x in v.values())
    return callable(v) and not (data and isinstance(v, data) and not isinstance(v, type))


def is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
