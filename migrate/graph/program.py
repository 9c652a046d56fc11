"""Build the model that `model.py` describes without executing it: a whitelist interpreter of the generated source.

`migrate.graph.codegen` writes `model.py`, the readable Keras 3 source of a converted graph, and that source is
the one description of the model. Names in it come from the input (checkpoint and `.meta` file names, scopes,
placeholders, constants), so `convert` never hands it to `exec`: `build_model(source)` parses it (`ast.parse`,
nothing runs), checks the whole module against the forms below, and only then evaluates the body of
`build_model()`, statement by statement. Anything outside the forms is a bug of the converter: `ProgramError`
(exit 2) naming the line, raised before a single call is made.

The forms, the ones the emitters write (`migrate/graph/ir.py`, `ops/`, `rnn.py`, `decoders.py`,
`constructs/`, `translate.py`, `codegen.py`):
- the module: its docstring, `import keras`, `import tf_migrate_runtime.layers as tfm`, `def build_model():`
  (interpreted), `def compile_for_training(model, optimizer="adam"):` (checked, never run here: `convert` compiles
  its loss itself) and the `if __name__ == "__main__":` block;
- in `build_model()`: its docstring, `name = EXPR`, `a, b, c = EXPR`, and `return tfm.Model(...)` last (the
  functional model whose eager calls run traced, `tf_migrate_runtime.layers.model`; `return keras.Model(...)` in a
  model.py written before it);
- EXPR: a constant (number, string, bytes, True / False / None, `...`), a name bound above, a list / tuple, a dict
  with string keys, `-EXPR`, `EXPR + EXPR` / `-` / `*` on numbers and tensors only, `EXPR[i]` with int / slice /
  `...` / None indices, `float("inf")` / `float("-inf")` / `float("nan")` (the literal form of a non-finite
  constant: no function is called), and calls with positional and keyword arguments that are data (no function,
  class or layer passed; a `keras.regularizers.L1` / `L2`, a `tfm.ShiftedL2` is data) of: `keras.Input`, `keras.Model`,
  `keras.ops.<function>`, `keras.layers.<KERAS_LAYERS>`, `keras.regularizers.<KERAS_REGULARIZERS>`, `tfm.ShiftedL2`,
  `tfm.<a layer of tf_migrate_runtime.layers>`, or a layer made above (a name bound to one, or the call that makes
  it: `tfm.Variable(...)(x)`).
No builtin, import, attribute outside those, lambda, comprehension, f-string or other statement.
"""

from __future__ import annotations

import ast

from migrate.errors import InputError
from tf_migrate_runtime.program import (
    NON_FINITE,  # noqa: F401 - the literal forms of non-finite floats
    Interpreter,
    LoopFunction,
    chain,
    is_docstring,
    runtime_callables,
)

# keras.layers the emitters write (rnn.py, nn.py, decoders.py): one entry per layer class a model may construct.
KERAS_LAYERS = frozenset({"Dense", "Embedding", "LSTM", "GRU", "SimpleRNN",
                          "StringLookup", "IntegerLookup",   # a lookup table's vocabulary (ops/lookup.py)
                          "Identity"})   # Identity: an output named after a SavedModel signature key (codegen.py)
# keras itself: the functional API.
KERAS_TOP = frozenset({"Input", "Model"})
# keras.regularizers a layer argument or tfm.Model's weight_regularizers may construct (a TF1 loss's weight
# penalties, migrate/graph/regularization.py); the regulariser passed is data (its config: one number)
KERAS_REGULARIZERS = frozenset({"L1", "L2"})
# what build_model() returns: the runtime's functional model (codegen.py), or Keras' in an older model.py
MODEL_CLASSES = frozenset({"tfm.Model", "keras.Model"})
# The tail of every model.py (codegen.MAIN), compared node for node.
MAIN = 'if __name__ == "__main__":\n    model = build_model()\n    model.load_weights("model.weights.h5")\n' \
       '    model.summary()\n'
IMPORTS = "import keras\n\nimport tf_migrate_runtime.layers as tfm\n"
# compile_for_training (codegen.TRAINING): the names it may use and the one import it makes.
TRAINING_NAMES = frozenset({"keras", "tf_migrate_runtime", "model", "optimizer", "train"})
TRAINING_IMPORT = "tf_migrate_runtime.losses"


class ProgramError(InputError):
    """model.py holds a form outside the whitelist: a converter bug (exit 2), nothing of it was run."""


def build_model(source: str):
    """The `keras.Model` that `build_model()` of the generated source returns, made without exec / eval: the module
    is checked in full first, then the body interpreted (see the module docstring for the forms)."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as tfm  # noqa: PLC0415

    program = Program(source, keras, tfm)
    return program.run()


class Program(Interpreter):
    """A parsed `model.py`, checked in full by the constructor (nothing called); `run()` evaluates `build_model()`."""

    where = "model.py"

    def __init__(self, source: str, keras_module, tfm_module):
        super().__init__(keras_module, _callables(keras_module, tfm_module))
        self.error = ProgramError
        self.tfm = tfm_module
        self.source = source
        self.loop_functions: dict[str, str] = {}   # name -> source text of a module-level loop function
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
        if stmts and is_docstring(stmts[0]):
            stmts = stmts[1:]
        imports = ast.parse(IMPORTS).body
        if len(stmts) < len(imports) or any(ast.dump(a) != ast.dump(b) for a, b in zip(stmts, imports)):
            self.fail(stmts[0] if stmts else self.tree, "the module must start with `import keras` and "
                                                        "`import tf_migrate_runtime.layers as tfm`")
        build = None
        for node in stmts[len(imports):]:
            if isinstance(node, ast.FunctionDef) and node.name == "build_model" and build is None:
                _check_signature(self, node, [], [])
                build = node
            elif isinstance(node, ast.FunctionDef) and node.name == "compile_for_training" and build is not None:
                _check_signature(self, node, ["model", "optimizer"], ["adam"])
                self._check_training(node)
            elif isinstance(node, ast.FunctionDef) and build is None and node.name not in self.loop_functions \
                    and node.name not in ("build_model", "compile_for_training"):
                text = ast.get_source_segment(self.source, node)
                try:
                    LoopFunction(text, self.keras, runtime_callables(self.keras, self.tfm), error=ProgramError)
                except ProgramError as e:
                    raise ProgramError(f"model.py line {node.lineno}: {e}") from None
                self.loop_functions[node.name] = text
            elif isinstance(node, ast.If) and ast.dump(node) == ast.dump(ast.parse(MAIN).body[0]):
                pass
            else:
                self.fail(node, "a module statement other than the loop functions, build_model(), "
                                "compile_for_training() and the __main__ block")
        if build is None:
            self.fail(self.tree, "no def build_model()")
        body = list(build.body)
        if body and is_docstring(body[0]):
            body = body[1:]
        if not body or not isinstance(body[-1], ast.Return):
            self.fail(build, "build_model() must end with return tfm.Model(...)")
        self.check_assignments(body[:-1], set())
        bound = set()
        for stmt in body[:-1]:
            bound.update(self.target_names(stmt.targets[0]))
        ret = body[-1]
        if not (isinstance(ret.value, ast.Call) and chain(ret.value.func) in MODEL_CLASSES):
            self.fail(ret, "build_model() must return tfm.Model(...)")
        self.check_expr(ret.value, bound)
        return body

    def check_expr(self, node, bound: set[str]) -> None:
        """A loop function is named (`cond=rnn_while_cond`, in `nested=[{"cond": ...}]`) for its source text."""
        if isinstance(node, ast.Name) and node.id in self.loop_functions and node.id not in bound:
            return
        super().check_expr(node, bound)

    def eval(self, node, env):
        if isinstance(node, ast.Name) and node.id in self.loop_functions and node.id not in env:
            return self.loop_functions[node.id]   # data: the function's source text, interpreted by the layer
        return super().eval(node, env)

    def callable_kinds(self) -> str:
        return (f"keras.Input / Model, tfm.Model, keras.ops.*, keras.layers.{{{', '.join(sorted(KERAS_LAYERS))}}}, "
                f"tfm.*")

    def _check_training(self, fn) -> None:
        """compile_for_training is never run here; it may use only its arguments, keras, the loss module it
        imports and `train`, with no builtin, no private attribute and no other import."""
        body = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    if not (isinstance(node, ast.Import) and [a.name for a in node.names] == [TRAINING_IMPORT]
                            and node.names[0].asname is None):
                        self.fail(node, "an import in compile_for_training() other than " + TRAINING_IMPORT)
                elif isinstance(node, ast.Name) and node.id not in TRAINING_NAMES:
                    self.fail(node, f"the name {node.id!r} in compile_for_training()")
                elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                    self.fail(node, f"the attribute {node.attr!r} in compile_for_training()")
                elif not isinstance(node, _TRAINING_NODES):
                    self.fail(node, f"a {type(node).__name__} in compile_for_training()")

    def fail(self, node, what: str):
        line = getattr(node, "lineno", None)
        where = f"model.py line {line}" if line else "model.py"
        raise ProgramError(f"{where}: {what}: outside the forms the graph converter writes (see "
                           f"migrate/graph/program.py); nothing of it was run. A bug of the converter, please "
                           f"report it with the .meta")

    # -- evaluation ------------------------------------------------------------------------------------
    def run(self):
        env: dict = {}
        self.run_assignments(self.body[:-1], env)
        return self.eval(self.body[-1].value, env)

    # the names tests and older callers use
    _check_expr = check_expr
    _eval = eval


_TRAINING_NODES = (ast.Expr, ast.Constant, ast.Import, ast.alias, ast.Assign, ast.Name, ast.Call, ast.Attribute,
                   ast.Subscript, ast.keyword, ast.BinOp, ast.Add, ast.Return, ast.Load, ast.Store)


def _callables(keras_module, tfm_module) -> dict:
    """Dotted name -> the object a call of it may reach: keras.Input / Model, tfm.Model, every public function of
    keras.ops, KERAS_LAYERS, the layers of tf_migrate_runtime.layers and its loop helpers (`tfm.LOOP_HELPERS`)."""
    out = {f"keras.{n}": getattr(keras_module, n) for n in KERAS_TOP}
    out.update({f"keras.layers.{n}": getattr(keras_module.layers, n) for n in KERAS_LAYERS})
    out.update({f"keras.regularizers.{n}": getattr(keras_module.regularizers, n) for n in KERAS_REGULARIZERS})
    out["tfm.ShiftedL2"] = tfm_module.ShiftedL2   # L2 on a weight with a constant folded in (an LSTM bias)
    out.update(runtime_callables(keras_module, tfm_module))
    out["tfm.Model"] = tfm_module.Model
    return out


def _check_signature(program: Program, fn, names: list[str], defaults: list) -> None:
    a = fn.args
    if fn.decorator_list or fn.returns is not None or a.posonlyargs or a.vararg or a.kwonlyargs or a.kwarg or \
            [x.arg for x in a.args] != names or any(x.annotation is not None for x in a.args) or \
            [d.value if isinstance(d, ast.Constant) else d for d in a.defaults] != defaults:
        program.fail(fn, f"def {fn.name}({', '.join(names)}) in another form")
