"""Build the model that `model.py` describes without executing it: a whitelist interpreter of the generated source.

`migrate.graph.codegen` writes `model.py`, the readable Keras 3 source of a converted graph, and that source is
the one description of the model. Names in it come from the input (checkpoint and `.meta` file names, scopes,
placeholders, constants), so `convert` never hands it to `exec`: `build_model(source)` parses it (`ast.parse`,
nothing runs), checks the whole module against the forms below, and only then evaluates the body of
`build_model()`, statement by statement. Anything outside the forms is a bug of the converter: `ProgramError`
(exit 2) naming the line, raised before a single call is made.

The forms, the ones the emitters write (`migrate/graph/ir.py`, `ops/`, `rnn.py`, `decoders.py`,
`legacy_seq2seq.py`, `translate.py`, `codegen.py`):
- the module: its docstring, `import keras`, `import tf_migrate_runtime.layers as tfm`, `def build_model():`
  (interpreted), `def compile_for_training(model, optimizer="adam"):` (checked, never run here: `convert` compiles
  its loss itself) and the `if __name__ == "__main__":` block;
- in `build_model()`: its docstring, `name = EXPR`, `a, b, c = EXPR`, and `return keras.Model(...)` last;
- EXPR: a constant (number, string, bytes, True / False / None, `...`), a name bound above, a list / tuple, a dict
  with string keys, `-EXPR`, `EXPR + EXPR` / `-` / `*` on numbers and tensors only, `EXPR[i]` with int / slice /
  `...` / None indices, `float("inf")` / `float("-inf")` / `float("nan")` (the literal form of a non-finite
  constant: no function is called), and calls with positional and keyword arguments that are data (no function,
  class or layer passed) of: `keras.Input`, `keras.Model`, `keras.ops.<function>`, `keras.layers.<KERAS_LAYERS>`,
  `tfm.<a layer of tf_migrate_runtime.layers>`, or a layer made above (a name bound to one, or the call that makes
  it: `tfm.Variable(...)(x)`).
No builtin, import, attribute outside those, lambda, comprehension, f-string or other statement.
"""

from __future__ import annotations

import ast
import numbers
import types

from migrate.errors import InputError

# keras.layers the emitters write (rnn.py, nn.py, decoders.py): one entry per layer class a model may construct.
KERAS_LAYERS = frozenset({"Dense", "Embedding", "LSTM", "GRU"})
# keras itself: the functional API.
KERAS_TOP = frozenset({"Input", "Model"})
# The literal forms of non-finite floats (`ir.py_literal` writes them): the string -> the value.
NON_FINITE = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}
# The tail of every model.py (codegen.MAIN), compared node for node.
MAIN = 'if __name__ == "__main__":\n    model = build_model()\n    model.load_weights("model.weights.h5")\n' \
       '    model.summary()\n'
IMPORTS = "import keras\n\nimport tf_migrate_runtime.layers as tfm\n"
# compile_for_training (codegen.TRAINING): the names it may use and the one import it makes.
TRAINING_NAMES = frozenset({"keras", "tf_migrate_runtime", "model", "optimizer", "train"})
TRAINING_IMPORT = "tf_migrate_runtime.losses"
_ROOTS = ("keras", "tfm")


class ProgramError(InputError):
    """model.py holds a form outside the whitelist: a converter bug (exit 2), nothing of it was run."""


def build_model(source: str):
    """The `keras.Model` that `build_model()` of the generated source returns, made without exec / eval: the module
    is checked in full first, then the body interpreted (see the module docstring for the forms)."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415

    program = Program(source, keras, tfm)
    return program.run()


class Program:
    """A parsed `model.py`, checked in full by the constructor (nothing called); `run()` evaluates `build_model()`."""

    def __init__(self, source: str, keras_module, tfm_module):
        self.keras, self.tfm = keras_module, tfm_module
        self.callables = _callables(keras_module, tfm_module)
        try:
            self.tree = ast.parse(source, filename="model.py")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            raise ProgramError(f"model.py line {getattr(e, 'lineno', '?')}: the generated source does not parse "
                               f"({type(e).__name__}: {e}); a bug of the graph converter, please report it "
                               f"with the .meta") from None
        self.body = self._check_module()

    # -- checks (nothing is called) ------------------------------------------------------------------
    def _check_module(self) -> list:
        stmts = list(self.tree.body)
        if stmts and _is_docstring(stmts[0]):
            stmts = stmts[1:]
        imports = ast.parse(IMPORTS).body
        if len(stmts) < len(imports) or any(ast.dump(a) != ast.dump(b) for a, b in zip(stmts, imports)):
            self._fail(stmts[0] if stmts else self.tree, "the module must start with `import keras` and "
                                                         "`import tf_migrate_runtime.layers as tfm`")
        build = None
        for node in stmts[len(imports):]:
            if isinstance(node, ast.FunctionDef) and node.name == "build_model" and build is None:
                _check_signature(self, node, [], [])
                build = node
            elif isinstance(node, ast.FunctionDef) and node.name == "compile_for_training" and build is not None:
                _check_signature(self, node, ["model", "optimizer"], ["adam"])
                self._check_training(node)
            elif isinstance(node, ast.If) and ast.dump(node) == ast.dump(ast.parse(MAIN).body[0]):
                pass
            else:
                self._fail(node, "a module statement other than build_model(), compile_for_training() and the "
                                 "__main__ block")
        if build is None:
            self._fail(self.tree, "no def build_model()")
        body = list(build.body)
        if body and _is_docstring(body[0]):
            body = body[1:]
        if not body or not isinstance(body[-1], ast.Return):
            self._fail(build, "build_model() must end with return keras.Model(...)")
        bound: set[str] = set()
        for stmt in body[:-1]:
            if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
                self._fail(stmt, f"a {type(stmt).__name__} statement (only `name = ...` is written)")
            self._check_expr(stmt.value, bound)
            bound.update(self._target_names(stmt.targets[0]))
        ret = body[-1]
        if not (isinstance(ret.value, ast.Call) and _chain(ret.value.func) == "keras.Model"):
            self._fail(ret, "build_model() must return keras.Model(...)")
        self._check_expr(ret.value, bound)
        return body

    def _target_names(self, target) -> list[str]:
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        out = []
        for n in names:
            if not isinstance(n, ast.Name) or n.id in _ROOTS or n.id == "float" or n.id.startswith("__"):
                self._fail(target, "an assignment to something other than plain names")
            out.append(n.id)
        return out

    def _check_expr(self, node, bound: set[str]) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bytes, bool, type(None), type(Ellipsis))) or \
                    isinstance(node.value, complex):
                self._fail(node, f"a constant of type {type(node.value).__name__}")
        elif isinstance(node, ast.Name):
            if node.id not in bound:
                self._fail(node, f"the name {node.id!r}, not bound above in build_model()")
        elif isinstance(node, (ast.List, ast.Tuple)):
            for e in node.elts:
                self._check_expr(e, bound)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                    self._fail(node, "a dict key that is not a string constant")
                self._check_expr(v, bound)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self._check_expr(node.operand, bound)
        elif isinstance(node, ast.BinOp):
            first, rest = _chain_of_ops(node)   # `a + b + ... + z` (AddN of many tensors) without deep recursion
            self._check_expr(first, bound)
            for op, right in rest:
                if not isinstance(op, (ast.Add, ast.Sub, ast.Mult)):
                    self._fail(node, f"the operator {type(op).__name__} (only +, - and *)")
                self._check_expr(right, bound)
        elif isinstance(node, ast.Subscript):
            self._check_expr(node.value, bound)
            self._check_index(node.slice)
        elif isinstance(node, ast.Call):
            if _non_finite(node) is not None:
                return
            func = node.func
            if isinstance(func, ast.Attribute):
                chain = _chain(func)
                if chain not in self.callables:
                    self._fail(node, f"a call of {chain or 'an attribute of a value'} (only keras.Input / Model, "
                                     f"keras.ops.*, keras.layers.{{{', '.join(sorted(KERAS_LAYERS))}}}, tfm.*)")
            elif isinstance(func, ast.Name):
                if func.id not in bound:
                    self._fail(node, f"a call of {func.id!r}, which is no layer made above")
            elif isinstance(func, ast.Call):
                self._check_expr(func, bound)
            else:
                self._fail(node, f"a call of a {type(func).__name__}")
            for a in node.args:
                if isinstance(a, ast.Starred):
                    self._fail(node, "a *argument")
                self._check_expr(a, bound)
            for k in node.keywords:
                if k.arg is None:
                    self._fail(node, "a **argument")
                self._check_expr(k.value, bound)
        else:
            self._fail(node, f"a {type(node).__name__} expression")

    def _check_index(self, node) -> None:
        if isinstance(node, ast.Tuple):
            for e in node.elts:
                self._check_index(e)
        elif isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self._check_int(part)
        elif isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
            pass
        else:
            self._check_int(node)

    def _check_int(self, node) -> None:
        inner = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
        if not (isinstance(inner, ast.Constant) and type(inner.value) is int):
            self._fail(node, "an index that is not an int, a slice of ints, ... or None")

    def _check_training(self, fn) -> None:
        """compile_for_training is never run here; it may use only its arguments, keras, the loss module it
        imports and `train`, with no builtin, no private attribute and no other import."""
        body = fn.body[1:] if fn.body and _is_docstring(fn.body[0]) else fn.body
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    if not (isinstance(node, ast.Import) and [a.name for a in node.names] == [TRAINING_IMPORT]
                            and node.names[0].asname is None):
                        self._fail(node, "an import in compile_for_training() other than " + TRAINING_IMPORT)
                elif isinstance(node, ast.Name) and node.id not in TRAINING_NAMES:
                    self._fail(node, f"the name {node.id!r} in compile_for_training()")
                elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                    self._fail(node, f"the attribute {node.attr!r} in compile_for_training()")
                elif not isinstance(node, _TRAINING_NODES):
                    self._fail(node, f"a {type(node).__name__} in compile_for_training()")

    def _fail(self, node, what: str):
        line = getattr(node, "lineno", None)
        where = f"model.py line {line}" if line else "model.py"
        raise ProgramError(f"{where}: {what}: outside the forms the graph converter writes (see "
                           f"migrate/graph/program.py); nothing of it was run. A bug of the converter, please "
                           f"report it with the .meta")

    # -- evaluation ------------------------------------------------------------------------------------
    def run(self):
        env: dict = {}
        for stmt in self.body[:-1]:
            value = self._eval(stmt.value, env)
            target = stmt.targets[0]
            if isinstance(target, ast.Tuple):
                if not isinstance(value, (list, tuple)) or len(value) != len(target.elts):
                    self._fail(stmt, f"{len(target.elts)} names bound to a {type(value).__name__}"
                               + (f" of {len(value)}" if isinstance(value, (list, tuple)) else ""))
                for n, v in zip(target.elts, value):
                    env[n.id] = v
            else:
                env[target.id] = value
        return self._eval(self.body[-1].value, env)

    def _eval(self, node, env):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.List):
            return [self._eval(e, env) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self._eval(e, env) for e in node.elts)
        if isinstance(node, ast.Dict):
            return {k.value: self._eval(v, env) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.UnaryOp):
            return -self._arith(node, self._eval(node.operand, env))
        if isinstance(node, ast.BinOp):
            first, rest = _chain_of_ops(node)
            a = self._arith(node, self._eval(first, env))
            for op, right in rest:
                b = self._arith(node, self._eval(right, env))
                a = self._arith(node, a + b if isinstance(op, ast.Add) else a - b if isinstance(op, ast.Sub) else a * b)
            return a
        if isinstance(node, ast.Subscript):
            value = self._eval(node.value, env)
            if not (isinstance(value, (list, tuple)) or self._is_tensor(value)):
                self._fail(node, f"an index into a {type(value).__name__}")
            return value[_index(node.slice)]
        if isinstance(node, ast.Call):
            return self._call(node, env)
        self._fail(node, f"a {type(node).__name__} expression")  # pragma: no cover - refused by the check

    def _call(self, node, env):
        literal = _non_finite(node)
        if literal is not None:
            return literal
        func = node.func
        if isinstance(func, ast.Attribute):
            fn = self.callables[_chain(func)]
        else:
            fn = self._eval(func, env)
            if not isinstance(fn, self.keras.layers.Layer):
                self._fail(node, f"a call of a {type(fn).__name__}, not of a layer")
        args = [self._eval(a, env) for a in node.args]
        kwargs = {k.arg: self._eval(k.value, env) for k in node.keywords}
        for v in [*args, *kwargs.values()]:
            if _holds_callable(v):
                self._fail(node, "a function, class or layer passed as an argument")
        return fn(*args, **kwargs)

    def _is_tensor(self, v) -> bool:
        return isinstance(v, self.keras.KerasTensor) or self.keras.ops.is_tensor(v)

    def _arith(self, node, v):
        if isinstance(v, bool) or not (isinstance(v, numbers.Number) or self._is_tensor(v)):
            self._fail(node, f"arithmetic on a {type(v).__name__} (numbers and tensors only)")
        return v


_TRAINING_NODES = (ast.Expr, ast.Constant, ast.Import, ast.alias, ast.Assign, ast.Name, ast.Call, ast.Attribute,
                   ast.Subscript, ast.keyword, ast.BinOp, ast.Add, ast.Return, ast.Load, ast.Store)


def _callables(keras_module, tfm_module) -> dict:
    """Dotted name -> the object a call of it may reach: keras.Input / Model, every public function of keras.ops,
    KERAS_LAYERS, and the layers of tf_migrate_runtime.layers."""
    out = {f"keras.{n}": getattr(keras_module, n) for n in KERAS_TOP}
    out.update({f"keras.layers.{n}": getattr(keras_module.layers, n) for n in KERAS_LAYERS})
    for n in dir(keras_module.ops):
        fn = getattr(keras_module.ops, n)
        if not n.startswith("_") and callable(fn) and not isinstance(fn, (types.ModuleType, type)):
            out[f"keras.ops.{n}"] = fn
    for n in getattr(tfm_module, "__all__", ()):
        cls = getattr(tfm_module, n)
        if isinstance(cls, type) and issubclass(cls, keras_module.layers.Layer):
            out[f"tfm.{n}"] = cls
    return out


def _chain(node) -> str | None:
    """`keras.ops.add` -> "keras.ops.add" when the chain is names rooted at keras / tfm (no private part)."""
    parts = []
    while isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return None
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in _ROOTS:
        return None
    return ".".join([node.id, *reversed(parts)])


def _chain_of_ops(node):
    """A left-nested `a op b op c ...` -> (a, [(op, b), (op, c), ...]), read without recursion."""
    rest = []
    while isinstance(node, ast.BinOp):
        rest.append((node.op, node.right))
        node = node.left
    return node, rest[::-1]


def _non_finite(node):
    """`float("inf")` / `float("-inf")` / `float("nan")` -> the float (a literal form: nothing is called)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float" and \
            not node.keywords and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and \
            isinstance(node.args[0].value, str) and node.args[0].value in NON_FINITE:
        return NON_FINITE[node.args[0].value]
    return None


def _index(node):
    if isinstance(node, ast.Tuple):
        return tuple(_index(e) for e in node.elts)
    if isinstance(node, ast.Slice):
        return slice(*(None if p is None else _int(p) for p in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
        return node.value
    return _int(node)


def _int(node) -> int:
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value
    return node.value


def _holds_callable(v) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_holds_callable(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_callable(x) for x in v.values())
    return callable(v)


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _check_signature(program: Program, fn, names: list[str], defaults: list) -> None:
    a = fn.args
    if fn.decorator_list or fn.returns is not None or a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or \
            [x.arg for x in a.args] != names or any(x.annotation is not None for x in a.args) or \
            [d.value if isinstance(d, ast.Constant) else d for d in a.defaults] != defaults:
        program._fail(fn, f"def {fn.name}({', '.join(names)}) in another form")
