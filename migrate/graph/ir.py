"""The translation state: symbolic values of graph tensors and the Keras 3 source lines written for them.

A `Sym` is what one TF graph tensor became: a constant folded at conversion time (`const`), a Python variable
of the generated `build_model()` (`var`), a variable read not yet materialised (`tf_var`), or a partly known
int vector from shape arithmetic (`parts`, `None` = a dimension known only at run time).
An `Emitter` owns the generated lines, the Keras layer names and the weights each layer receives.

Inputs are data: a value from the graph reaches a line through `repr` or `py_literal` (a non-finite float as
`float("inf")`), an identifier through `identifier` ([0-9a-z_] only), a comment through `Emitter.line` /
`Emitter.comment`, which pass it through `source_text` (nothing in it can end the comment or the line).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Unsupported(Exception):
    """An op the table cannot translate in this form (collected; the conversion exits 2 listing them)."""


class DefaultDoesNotFit(Unsupported):
    """An op whose inputs cannot fit together because a `PlaceholderWithDefault` keeps its default (e.g. an initial
    state built for batch 20 beside a batch-1 input): the TF1 graph fails there too unless the placeholder is fed.
    `placeholders`: those op names; the converter makes them inputs of the model and translates again."""

    def __init__(self, message: str, placeholders):
        super().__init__(message)
        self.placeholders = tuple(placeholders)


def defaults_upstream(op) -> list[str]:
    """The `PlaceholderWithDefault`s (`name:0`) `op` depends on through data inputs, sorted."""
    seen, stack, found = set(), [op], []
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen.add(o.name)
        if o.type == "PlaceholderWithDefault":
            found.append(o.name + ":0")
        stack.extend(t.op for t in o.inputs)
    return sorted(found)


@dataclass(frozen=True)
class Dim:
    """A dimension known only at run time: axis `axis` of the tensor `sym`."""

    sym: Sym
    axis: int


@dataclass(frozen=True)
class Val:
    """An int scalar known only at run time that is not a dimension (e.g. `reduce_max(lengths)`): the tensor `sym`."""

    sym: Sym


@dataclass(frozen=True)
class DimExpr:
    """Arithmetic on shape entries known only at run time (`tf.shape(x)[0] * tf.shape(x)[1]`): `op` is one of
    `DIM_OPS`, `args` are ints, `Dim`, `Val` or `DimExpr`."""

    op: str
    args: tuple


# Shape-entry arithmetic: name -> how two known ints combine (TF semantics on the non-negative sizes of shapes).
DIM_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
           "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b, "max": max, "min": min,
           "truncdiv": lambda a, b: abs(a) // abs(b) * (1 if (a >= 0) == (b > 0) else -1)}  # TF's integer Div


def dim_op(op: str, a, b):
    """`a op b` on shape entries: an int when both are known, else a `DimExpr` (x*1, x+0 simplified)."""
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        return int(DIM_OPS[op](int(a), int(b)))
    def known(x, v):
        return isinstance(x, (int, np.integer)) and int(x) == v

    if op == "mul" and known(a, 1) or op == "add" and known(a, 0):
        return b
    if op in ("mul", "floordiv", "truncdiv") and known(b, 1) or op in ("add", "sub") and known(b, 0):
        return a
    return DimExpr(op, (a, b))


def is_dim_entry(p) -> bool:
    return isinstance(p, (int, np.integer, Dim, Val, DimExpr))


def shape_spec(parts) -> tuple[list, list]:
    """Shape entries -> (`spec`, `refs`) for the runtime layers of `tf_migrate_runtime.layers.shape`: an entry is
    an int, `[k, axis]` (dimension `axis` of `refs[k]`), `["value", k]` (the int scalar `refs[k]`) or
    `[op, entry, entry]` (`op` in `DIM_OPS`). `refs` are the Syms the layer is called with."""
    refs: list = []

    def ref(sym) -> int:
        for k, r in enumerate(refs):
            if r is sym:
                return k
        refs.append(sym)
        return len(refs) - 1

    def enc(p):
        if isinstance(p, (int, np.integer)):
            return int(p)
        if isinstance(p, Dim):
            return [ref(p.sym), int(p.axis)]
        if isinstance(p, Val):
            return ["value", ref(p.sym)]
        if isinstance(p, DimExpr):
            return [p.op] + [enc(a) for a in p.args]
        raise Unsupported("a shape entry known only at run time that the converter could not follow")

    spec = [enc(p) for p in parts]
    return spec, refs


@dataclass(eq=False)
class Sym:
    var: str | None = None
    const: np.ndarray | None = None
    shape: tuple | None = None          # static shape, None dims unknown; None = rank unknown
    dtype: str = "float32"
    tf_var: str | None = None           # op name of the TF variable this tensor reads
    parts: list | None = None           # 1-D int vector with run-time entries (None)
    lazy: Any = None                    # () -> source expression, written on first use (a slice of an RNN's output)
    array: dict | None = None           # a TensorArray not yet written (`migrate.graph.loops`): its spec
    step_of: tuple | None = None        # (sequence variable, k): step k of a batch-major sequence (static_rnn)
    piece_of: tuple | None = None       # (sequence variable, k): `seq[:, k:k + 1]`, step k with its time axis kept
    steps: int | None = None            # how many steps the sequence of `step_of` / `piece_of` has (None: unknown)

    @property
    def is_const(self) -> bool:
        return self.const is not None


_RESERVED = {"keras", "tfm", "np", "inputs", "outputs", "model"} | set(dir(builtins))


def _keras_op_names() -> frozenset:
    try:
        import keras  # noqa: PLC0415

        return frozenset(n for n in dir(keras.ops) if not n.startswith("_"))
    except ImportError:  # pragma: no cover
        return frozenset()


_KERAS_OP_NAMES = _keras_op_names()


def identifier(name: str) -> str:
    """A readable Python identifier from a TF op name (`rnn/basic_lstm_cell/MatMul_3` -> `matmul_3`)."""
    base = re.sub(r"[^0-9a-zA-Z_]", "_", name.rsplit("/", 1)[-1]).lower() or "t"
    if base[0].isdigit():
        base = "t_" + base
    if keyword.iskeyword(base) or base in _RESERVED:
        base += "_"
    return base


def keras_name(tf_name: str) -> str:
    """Keras layer / input name for a TF scope: `/` (not allowed by Keras) becomes `__` (not `.`: the PyTorch
    backend refuses dots in parameter names)."""
    return tf_name.replace("/", "__").replace(":", "_").replace(".", "_")


# roles whose Keras weight is its one TF1 variable as it is (a Dense kernel maybe transposed)
PLAIN_ROLES = ("dense_kernel", "dense_bias", "embedding")


@dataclass(frozen=True)
class Source:
    """The TF1 variables a Keras weight is made of; `exact`: its elements are theirs relaid out (each once, no
    constant added), so a penalty on the sum of their squares is the same penalty on the weight; else `why`
    (and `offset`, when the elements are theirs plus that constant: `tfm.ShiftedL2` takes it off)."""
    variables: tuple
    exact: bool = True
    why: str = ""
    offset: Any = None   # not exact only for a constant the layout adds (an LSTM's forget bias): that constant


@dataclass
class Emitter:
    lines: list[str] = field(default_factory=list)
    weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    constructs: Counter = field(default_factory=Counter)
    anchor: str | None = None
    variable_values: Any = None         # callable: TF variable op name -> np.ndarray
    _idents: set = field(default_factory=set)
    _layer_names: set = field(default_factory=set)
    _var_syms: dict = field(default_factory=dict)
    _const_syms: dict = field(default_factory=dict)
    _layers: dict = field(default_factory=dict)
    functions: list = field(default_factory=list)   # module-level loop functions (source text) for model.py
    defaults_to_feed: set = field(default_factory=set)   # PlaceholderWithDefault ops whose default does not fit
    folded_cells: set = field(default_factory=set)   # cells (`rnn.cell_variables`) a runtime decoder layer holds folded
    # layers that draw random ids (a sampling decoder): layer name -> (the graph's Multinomial, the graph tensors of
    # the ids it draws: [batch-major [B, T] or None, time-major [T, B] or None]); parity feeds them (convert.py)
    draws: dict = field(default_factory=dict)
    # which Keras weight holds which TF1 variables (issue 22): (role, TF1 variable names) -> (layer name, weight
    # index), first holder kept; a decoder layer reading the same variables in the same layout names that weight
    # (`shared_weights`) instead of holding a copy (`holder`, migrate/graph/decoders.py `share_weights`)
    held: dict = field(default_factory=dict)
    # a whole sequence written only when first used (a lookup of all steps' ids at once): variable -> its writer
    pending: dict = field(default_factory=dict)
    # what each Keras weight is made of, for the loss's weight penalties (migrate/graph/regularization.py):
    # (layer name, weight index) -> Source, recorded by `hold` from `relayouts` ((role, TF1 variables) -> Source:
    # a cell's, probed when its Keras weights are made; a Dense / Embedding weight is its variable); and the class
    # each layer's constructor line names
    sources: dict = field(default_factory=dict)
    relayouts: dict = field(default_factory=dict)
    layer_classes: dict = field(default_factory=dict)

    def stack_steps(self, xs: list, hint: str) -> str:
        """`keras.ops.stack(xs, axis=1)` written without a per-step round trip: the sequence itself when `xs` are
        all its steps in order; runs of consecutive steps of one sequence as slices of it (a decoder's inputs: GO,
        then steps 0..T-2 of the targets), joined by one `keras.ops.concatenate`; else the stack."""
        runs: list = []   # [seq or None, first k, last k, [syms]]
        for x in xs:
            tag = x.step_of
            if tag is not None and runs and runs[-1][0] == tag[0] and runs[-1][2] == tag[1] - 1:
                runs[-1][2] = tag[1]
                runs[-1][3].append(x)
            else:
                runs.append([tag[0] if tag else None, tag[1] if tag else None, tag[1] if tag else None, [x]])
        if len(runs) == 1 and runs[0][0] is not None and runs[0][1] == 0 and xs[0].steps == len(xs):
            return self.sequence(runs[0][0])
        n, tags = len(xs), [x.step_of for x in xs]
        if tags[0] is not None and tags == [(tags[0][0], n - 1 - k) for k in range(n)] and xs[0].steps == n:
            # the steps last to first (a backward static_rnn): the sequence flipped
            return self.emit(f"keras.ops.flip({self.sequence(tags[0][0])}, axis=1)", "steps_reversed")[0].var
        if not any(r[0] is not None and len(r[3]) > 1 for r in runs):
            return self.emit(f"keras.ops.stack([{', '.join(self.value(x) for x in xs)}], axis=1)", hint)[0].var
        parts = [f"{self.sequence(r[0])}[:, {r[1]}:{r[2] + 1}]" if r[0] is not None and len(r[3]) > 1 else
                 f"keras.ops.expand_dims({self.value(r[3][0])}, 1)" for r in runs]
        return self.emit(f"keras.ops.concatenate([{', '.join(parts)}], axis=1)", hint)[0].var

    def sequence(self, var: str) -> str:
        """The variable of a whole sequence named in a `step_of` / `piece_of` tag, its line written if still pending."""
        writer = self.pending.pop(var, None)
        if writer is not None:
            writer()
        return var

    # -- names ----------------------------------------------------------------------------------
    def new_ident(self, hint: str) -> str:
        base = identifier(hint)
        name, i = base, 1
        while name in self._idents:
            i += 1
            name = f"{base}_{i}"
        self._idents.add(name)
        return name

    def layer_name(self, tf_scope: str) -> str:
        base = keras_name(tf_scope)
        if base in _KERAS_OP_NAMES:  # Keras names functional ops after their function (`conv`, `softmax`)
            base += "__layer"
        name, i = base, 1
        while name in self._layer_names:
            i += 1
            name = f"{base}_{i}"
        self._layer_names.add(name)
        return name

    def shared_layer(self, key, tf_scope: str, ctor, weights: list, kind: str, comment: str,
                     holds: list | None = None) -> str:
        """A layer object created once (its line written before first use) and called at every use, so a TF
        variable read by many ops (an unrolled RNN's kernel) stays one weight. `holds`: per weight, (role, TF1
        variable names) for `hold`."""
        if key in self._layers:
            return self._layers[key]
        lname = self.layer_name(tf_scope)
        ident = self.new_ident(lname.replace("__", "_"))
        self.line(f"{ident} = {ctor(lname)}", comment)
        self.weights[lname] = [np.asarray(w) for w in weights]
        self.layer_classes[lname] = kind
        for index, (role, tf_vars) in enumerate(holds or []):
            self.hold(lname, index, role, tf_vars)
        self._layers[key] = ident
        return ident

    def hold(self, lname: str, index: int, role: str, tf_vars) -> None:
        """Weight `index` of layer `lname` holds the TF1 variables `tf_vars` in the layout `role` (`"embedding"`,
        `"dense_kernel"`, `"cell:gru::0"`, ...); the first holder stays the one. What the weight is made of goes to
        `sources` where the layout is known."""
        self.held.setdefault((role, tuple(tf_vars)), (lname, int(index)))
        source = self.relayouts.get((role, tuple(tf_vars)))
        if source is None and role in PLAIN_ROLES:
            source = Source(tuple(tf_vars))
        if source is not None:
            self.sources[(lname, int(index))] = source

    def holder(self, role: str, tf_vars, value) -> tuple[str, int] | None:
        """(layer name, weight index) of the weight already holding `tf_vars` as `role` with exactly `value`, else
        None (the values compared too: a transposed or folded copy of the same variables is not the same weight)."""
        at = self.held.get((role, tuple(tf_vars)))
        if at is None:
            return None
        have = self.weights.get(at[0])
        if have is None or at[1] >= len(have) or np.shape(have[at[1]]) != np.shape(value) \
                or not np.array_equal(have[at[1]], value):
            return None
        return at

    # -- lines ----------------------------------------------------------------------------------
    def line(self, code: str, comment: str | None = None) -> None:
        """One line of `build_model()`: `code` (built with repr / `py_literal` for every value from the input),
        then `comment`, which may hold any text (TF op and scope names): it goes through `source_text`."""
        self.lines.append(f"{code}  # {source_text(comment)}" if comment else code)

    def comment(self, text: str) -> None:
        self.lines.append(f"# {source_text(text)}")

    def emit(self, expr: str, hint: str, shape=None, dtype="float32", n_out: int = 1,
             comment: str | None = None) -> list[Sym]:
        """Write `name = expr` and return the Sym(s) of its result (a tuple unpacked when n_out > 1)."""
        if n_out == 1:
            v = self.new_ident(hint)
            self.line(f"{v} = {expr}", comment)
            return [Sym(var=v, shape=shape, dtype=dtype)]
        names = [self.new_ident(f"{identifier(hint)}_{i}") for i in range(n_out)]
        self.line(f"{', '.join(names)} = {expr}", comment)
        return [Sym(var=n, shape=None, dtype=dtype) for n in names]

    # -- values ---------------------------------------------------------------------------------
    def value(self, sym: Sym) -> str:
        """A source expression for a Sym (materialising a variable read or a large constant as a layer)."""
        if sym.var is not None:
            return sym.var
        if sym.lazy is not None:
            sym.var = sym.lazy()
            return sym.var
        if sym.tf_var is not None:
            return self.variable(sym.tf_var, sym).var
        if sym.const is not None:
            c = np.asarray(sym.const)
            if c.size <= 32 and c.dtype.kind in "biuf":
                return literal(c)
            return self.constant_layer(sym)
        if sym.parts is not None:
            if all(isinstance(p, (int, np.integer)) for p in sym.parts):
                return literal(np.asarray(sym.parts, dtype=sym.dtype if sym.dtype.startswith("int") else "int32")
                               .reshape(sym.shape if sym.shape is not None else (len(sym.parts),)))
            if sym.shape == () and len(sym.parts) == 1 and isinstance(sym.parts[0], Dim):
                d = sym.parts[0]
                sym.var = self.emit(f"tfm.DimOf({d.axis}, name={self.layer_name('dim')!r})({self.value(d.sym)})",
                                    "dim", dtype="int32", shape=())[0].var
                return sym.var
            if sym.shape == () and len(sym.parts) == 1 and isinstance(sym.parts[0], Val):
                sym.var = self.value(sym.parts[0].sym)
                return sym.var
            spec, refs = shape_spec(sym.parts)
            scalar = sym.shape == () and len(spec) == 1
            dt = sym.dtype if sym.dtype.startswith("int") else "int32"
            sym.var = self.emit(f"tfm.ShapeVector({spec[0] if scalar else spec!r}, dtype_name={dt!r}, "
                                f"name={self.layer_name('shape')!r})({', '.join(self.value(r) for r in refs)})",
                                "shape", dtype=dt, shape=sym.shape, comment="shape arithmetic on sizes known at run time")[0].var
            return sym.var
        raise Unsupported("value without a source")

    def variable(self, tf_var: str, sym: Sym | None = None) -> Sym:
        if tf_var in self._var_syms:
            return self._var_syms[tf_var]
        value = self.variable_values(tf_var)
        lname = self.layer_name(tf_var)
        v = self.new_ident(tf_var.rsplit("/", 1)[-1] if tf_var.rsplit("/", 1)[-1] not in ("kernel", "bias", "weights", "biases") else tf_var.replace("/", "_"))
        self.line(f"{v} = tfm.Variable({tuple(value.shape)!r}, dtype_name={str(value.dtype)!r}, "
                  f"name={lname!r})({self.anchor})", f"tf.Variable {tf_var}")
        self.weights[lname] = [value]
        self.layer_classes[lname] = "tfm.Variable"
        self.sources[(lname, 0)] = Source((tf_var,))
        out = Sym(var=v, shape=tuple(value.shape), dtype=str(value.dtype))
        self._var_syms[tf_var] = out
        self.constructs["tf.Variable (generic use)"] += 1
        return out

    def constant_layer(self, sym: Sym) -> str:
        key = id(sym)
        if key in self._const_syms:
            return self._const_syms[key]
        c = np.asarray(sym.const)
        lname = self.layer_name("constant")
        v = self.new_ident("constant")
        self.line(f"{v} = tfm.Variable({tuple(c.shape)!r}, dtype_name={str(c.dtype)!r}, trainable=False, "
                  f"name={lname!r})({self.anchor})", "a constant of the graph")
        self.weights[lname] = [c]
        self._const_syms[key] = v
        return v


def literal(c: np.ndarray) -> str:
    """Python source for a small constant: a scalar, or a `keras.ops.convert_to_tensor([...], dtype)`; every entry
    through `py_literal` (a non-finite float as `float("-inf")`, never the bare name `inf`)."""
    c = np.asarray(c)
    if c.ndim == 0:
        if c.dtype.kind == "b":
            return py_literal(bool(c))
        if c.dtype.kind in "iu":
            return py_literal(int(c))
        return py_literal(float(c))
    return f"keras.ops.convert_to_tensor({py_literal(c.tolist())}, dtype={str(c.dtype)!r})"


def py_literal(value) -> str:
    """Python source for a constant value (bool, int, float, str, bytes, None, or lists / tuples of them) that
    evaluates to it: `repr`, except a non-finite float, written `float("inf")` / `float("-inf")` / `float("nan")`
    (the literal form `migrate.graph.program` reads; `repr` would give the bare, undefined names inf / nan)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(str(k))}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(py_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{"nan" if math.isnan(value) else "inf" if value > 0 else "-inf"}")'
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    raise Unsupported(f"a constant of type {type(value).__name__}, which has no source literal here")


def source_text(text) -> str:
    """Text from an input (an op or scope name, a file name, a loss description) made safe for a comment or a
    docstring of generated source: a backslash and a double quote are escaped, and so is every character that is
    not printable (`str.isprintable`: line breaks, including the ones `str.splitlines` and editors see, such as
    \\r, \\x0b, \\x0c, \\x1c-\\x1e, \\x85, U+2028 / U+2029; other control, format and bidirectional
    characters; lone surrogates), as `\\xNN` / `\\uNNNN` / `\\UNNNNNNNN`. The result is one line that ends no
    comment and no triple-quoted string, and in a docstring it reads back as the original text."""
    out = []
    for ch in str(text):
        if ch in "\\\"":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            o = ord(ch)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)
