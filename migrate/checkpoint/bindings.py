"""The TF1 <-> Keras mapping as data: a list of `Binding`s, reusable by the converter and the parity harness.

A `Binding` ties the checkpoint variables of one TF1 group (an LSTM cell's kernel and bias, a GRU cell's
four variables, a dense kernel, an embedding) to the Keras variable objects they become, with the layout
transform both ways. `linear=True` applies the same permutation and split without the forget-bias add:
that is the map for optimizer slots (Adam m, v) and for gradients.

```python
bindings = bind_seq2seq(model, recognise(ckpt.variables), forget_bias=0.8).bindings
for b in bindings:
    keras_arrays = b.to_keras([ckpt.read(n) for n in b.tf1_names])
    tf1_grads = b.to_tf1([g[id(w)] for w in b.keras_weights], linear=True)   # parity harness
```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from migrate.checkpoint import cell_layouts, layouts
from migrate.checkpoint.recognise import CellGroup, Recognition

# transform -> (TF1 roles, in order; Keras weights, in order). Cell transforms are named by the layout's family
# ("lstm", "gru") and come from the cell-layout registry; `Binding.layout` names the exact layout.
TRANSFORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "identity": (("value",), ("value",)),
    **{fam: (cell_layouts.get(fam).roles, cell_layouts.KERAS_WEIGHTS) for fam in cell_layouts.FAMILIES},
}

# Embedding name -> which model embedding it is (tensorflow/nmt `embedding_encoder` / `embedding_decoder` /
# `embedding_share`; scopes `encoder` / `decoder`; source/target spellings of other codebases).
EMBEDDING_ROLES: tuple[tuple[str, str], ...] = (
    (r"share", "shared"),
    (r"encoder|source|src", "source"),
    (r"decoder|target|tgt", "target"),
)


@dataclass(frozen=True, eq=False)   # identity semantics: it holds live Keras variables
class Binding:
    """TF1 checkpoint variables `tf1_names` <-> Keras variables `keras_weights`, through `transform`."""

    tf1_names: tuple[str, ...]
    keras_weights: tuple            # keras.Variable objects, in the transform's Keras order
    transform: str                  # a key of TRANSFORMS
    what: str                       # human description: "encoder layer 0 fw LSTM"
    input_size: int | None = None   # rows of the TF1 kernel that multiply the input
    forget_bias: float = 0.0        # folded into the Keras LSTM bias (layouts that fold one)
    layout: str | None = None       # cell_layouts.REGISTRY key (None: the transform's family default)

    @property
    def cell_layout(self) -> cell_layouts.CellLayout | None:
        if self.transform == "identity":
            return None
        return cell_layouts.get(self.layout or self.transform)

    @property
    def keras_paths(self) -> tuple[str, ...]:
        return tuple(w.path for w in self.keras_weights)

    def tf1_shapes(self) -> list[tuple[int, ...]]:
        """The TF1 shapes these Keras weights correspond to (for mismatch reports before reading data)."""
        shapes = [tuple(int(d) for d in w.shape) for w in self.keras_weights]
        lay = self.cell_layout
        if lay is None:
            return shapes
        (k_in, _cols), (units, _), _b = shapes
        want = lay.tf1_shapes(k_in, units)
        return [want[r] for r in lay.roles]

    def to_keras(self, arrays: Sequence[np.ndarray], *, linear: bool = False) -> list[np.ndarray]:
        """TF1 arrays (in `tf1_names` order) -> Keras arrays (in `keras_weights` order)."""
        lay = self.cell_layout
        if lay is not None:
            return lay.to_keras(dict(zip(lay.roles, arrays)), self.input_size, 0.0 if linear else self.forget_bias)
        return [layouts.reshape_to(arrays[0], tuple(self.keras_weights[0].shape))]

    def to_tf1(self, arrays: Sequence[np.ndarray], *, linear: bool = False,
               shapes: Sequence[tuple[int, ...]] | None = None) -> list[np.ndarray]:
        """Keras arrays -> TF1 arrays: the exact inverse of `to_keras` (gradients and slots: `linear=True`)."""
        lay = self.cell_layout
        if lay is not None:
            tf1 = lay.to_tf1(list(arrays), 0.0 if linear else self.forget_bias)
            return [tf1[r] for r in lay.roles]
        shape = shapes[0] if shapes else np.shape(arrays[0])
        return [layouts.reshape_to(arrays[0], tuple(shape))]


@dataclass
class BindingPlan:
    """The result of binding a checkpoint to a model: everything a report needs."""

    bindings: list[Binding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)        # Keras weights nothing in the checkpoint feeds
    mismatched: list[str] = field(default_factory=list)     # shape problems, one line each
    unexpected: list[str] = field(default_factory=list)     # model-like checkpoint variables not used
    ignored: dict[str, str] = field(default_factory=dict)   # checkpoint name -> reason

    def used(self) -> set[str]:
        return {n for b in self.bindings for n in b.tf1_names}


def embedding_role(name: str) -> str | None:
    scope = name.lower()
    for pattern, role in EMBEDDING_ROLES:
        if re.search(pattern, scope):
            return role
    return None


def _cell_weights(cell) -> tuple:
    return (cell.kernel, cell.recurrent_kernel, cell.bias)


def _cell_binding(g: CellGroup, keras_cell, what: str, forget_bias: float, plan: BindingPlan) -> None:
    weights = _cell_weights(keras_cell)
    lay = g.cell_layout
    extra = [g.variables[r] for r in g.variables if r in lay.optional_roles]
    if extra:
        plan.mismatched.append(f"{what}: {', '.join(extra)} (peepholes / projection) have no place in Keras "
                               f"LSTMCell; the tf2 model cannot carry them")
    names = tuple(g.variables.get(r) for r in lay.roles)
    transform = lay.family
    if g.forget_bias is not None and lay.folds_forget_bias:
        forget_bias = g.forget_bias["value"]      # this cell's own constant from the .meta graph
    keras_family = next((f for f in cell_layouts.FAMILIES if type(keras_cell).__name__.upper().startswith(f.upper())),
                        None)
    if keras_family != g.family:
        plan.mismatched.append(f"{what}: the checkpoint has a {g.tf1_class} at {g.scope}, the Keras model a "
                               f"{type(keras_cell).__name__}; pass --hparams with cell_type matching the checkpoint")
        return
    if None in names:
        plan.mismatched.append(f"{what}: {g.scope} is incomplete ({', '.join(g.problems) or sorted(g.variables)})")
        return
    b = Binding(names, weights, transform, what, input_size=int(keras_cell.kernel.shape[0]),
                forget_bias=forget_bias if lay.folds_forget_bias else 0.0, layout=lay.name)
    plan.bindings.append(b)


def bind_seq2seq(model, rec: Recognition, forget_bias: float | None) -> BindingPlan:
    """Bind every weight of a `tf2.Seq2Seq` to the recognised TF1 groups of a checkpoint.

    Uses the model's documented handles (`source_embedding`, `target_embedding`, `encoder_cells`,
    `decoder_cells`, `attention`, `projection`; docs/tf2.md). Missing groups, shape mismatches and
    model-like variables left over are collected in the returned plan, never raised one by one.
    """
    plan = BindingPlan()
    hp = model.hparams
    fb = 0.0 if forget_bias is None else float(forget_bias)

    # Embeddings.
    embs = {}
    for e in rec.embeddings:
        embs.setdefault(getattr(e, "role", None) or embedding_role(e.name) or "unknown", []).append(e)
    if hp.share_embeddings:
        wanted = [("shared", model.source_embedding, ("shared", "source", "unknown"))]
    else:
        wanted = [("source", model.source_embedding, ("source",)), ("target", model.target_embedding, ("target",))]
    if not hp.share_embeddings and len(rec.embeddings) == 1 and "unknown" in embs:
        embs = {"shared": embs["unknown"]}
    for role, layer, accept in wanted:
        found = [e for r in accept for e in embs.get(r, [])]
        if len(found) != 1:
            plan.missing.append(f"{layer.embeddings.path} {list(layer.embeddings.shape)} ({role} embedding): "
                                f"{len(found)} candidates in the checkpoint "
                                f"({', '.join(e.name for e in rec.embeddings) or 'no embedding found'})")
            continue
        plan.bindings.append(Binding((found[0].name,), (layer.embeddings,), "identity", f"{role} embedding"))

    # Cells.
    enc = [c for c in rec.cells if c.role == "encoder"]
    dec = [c for c in rec.cells if c.role == "decoder"]
    unplaced = [c for c in rec.cells if c.role is None]
    if unplaced and not enc and not dec and len(unplaced) >= 2:
        plan.mismatched.append("cell groups without an encoder/decoder scope: "
                               + ", ".join(c.scope for c in unplaced) + "; use a mapping file (migrate.checkpoint.mapping)")
    for layer, cells in enumerate(model.encoder_cells):
        for cell, direction in zip(cells, ("fw", "bw") if len(cells) == 2 else (None,)):
            what = f"encoder layer {layer}{' ' + direction if direction else ''}"
            # One layer may or may not sit in a MultiRNNCell (cell_0); two or more always do.
            cand = [c for c in enc if (c.layer or 0) == layer and c.direction == direction
                    and (hp.num_layers == 1 or c.layer is not None)]
            if len(cand) != 1:
                plan.missing.append(f"{cell.kernel.path} ... ({what} {hp.cell_type} cell): found {len(cand)} matching "
                                    f"cell groups among {', '.join(c.scope for c in enc) or 'no encoder cells'}")
                continue
            _cell_binding(cand[0], cell, what, fb, plan)
    for layer, cell in enumerate(model.decoder_cells):
        what = f"decoder layer {layer}"
        cand = [c for c in dec if (c.layer or 0) == layer and (hp.num_layers == 1 or c.layer is not None)]
        if len(cand) != 1:
            plan.missing.append(f"{cell.kernel.path} ... ({what} {hp.cell_type} cell): found {len(cand)} matching "
                                f"cell groups among {', '.join(c.scope for c in dec) or 'no decoder cells'}")
            continue
        _cell_binding(cand[0], cell, what, fb, plan)

    # Attention.
    att = model.attention
    if att is not None:
        mech = att.mechanism
        parts = {}
        for a in rec.attention:
            parts.setdefault(a.part, []).append(a)
        wanted = [("memory_layer", mech.memory_layer.kernel),
                  ("query_layer", getattr(getattr(mech, "query_layer", None), "kernel", None)),
                  ("attention_v", getattr(mech, "attention_v", None)),
                  ("attention_g", getattr(mech, "attention_g", None)),
                  ("attention_b", getattr(mech, "attention_b", None)),
                  ("attention_layer", att.attention_layer.kernel if att.attention_layer is not None else None)]
        for part, weight in wanted:
            if weight is None:
                continue
            found = parts.get(part, [])
            if len(found) != 1:
                plan.missing.append(f"{weight.path} {list(weight.shape)} (attention {part}): found {len(found)} in "
                                    f"the checkpoint ({', '.join(a.name for a in rec.attention) or 'no attention'})")
                continue
            plan.bindings.append(Binding((found[0].name,), (weight,), "identity", f"attention {part}"))

    # Projection: the dense layer with bias whose output is the target vocabulary.
    proj = [d for d in rec.dense if d.units == hp.tgt_vocab_size and d.bias]
    if len(proj) > 1:
        proj = [d for d in proj if "decoder" in d.scope.lower() or "projection" in d.scope.lower()] or proj
    if len(proj) != 1:
        plan.missing.append(f"{model.projection.kernel.path} {list(model.projection.kernel.shape)} (output projection): "
                            f"found {len(proj)} dense layers with a bias and {hp.tgt_vocab_size} outputs "
                            f"({', '.join(d.scope for d in rec.dense) or 'no dense layers'})")
    else:
        d = proj[0]
        plan.bindings.append(Binding((d.kernel,), (model.projection.kernel,), "identity", "projection kernel"))
        plan.bindings.append(Binding((d.bias,), (model.projection.bias,), "identity", "projection bias"))

    # Shapes: compare what each binding expects with what the checkpoint has.
    for b in list(plan.bindings):
        have = [tuple(rec.variables[n].shape) for n in b.tf1_names]
        want = b.tf1_shapes()
        bad = [(n, h, w) for n, h, w in zip(b.tf1_names, have, want) if h != w and
               int(np.prod(h, dtype=np.int64)) != int(np.prod(w, dtype=np.int64))]
        if bad:
            plan.mismatched.extend(f"{n}: checkpoint shape {list(h)}, the Keras model ({b.what}) needs {list(w)}"
                                   for n, h, w in bad)
            plan.bindings.remove(b)

    # Every Keras weight exactly once.
    counts: dict[int, int] = {}
    for b in plan.bindings:
        for w in b.keras_weights:
            counts[id(w)] = counts.get(id(w), 0) + 1
    for w in model.weights:
        if counts.get(id(w), 0) > 1:
            plan.mismatched.append(f"{w.path} would be assigned {counts[id(w)]} times")

    # The rest of the checkpoint: optimizer state and counters are ignored with a reason; the rest is unexpected.
    used = plan.used()
    for o in rec.optimizers:
        for s in o.slots:
            plan.ignored[s.name] = (f"{o.optimizer or 'unknown optimizer'} slot {s.slot or s.index} of {s.variable} "
                                    f"(--with-optimizer carries Adam slots)")
        for n in o.non_slots:
            plan.ignored[n] = f"{o.optimizer} optimizer state (--with-optimizer carries it)"
    for n, meaning in rec.other_state.items():
        plan.ignored[n] = f"{meaning}; kept as the optimizer step with --with-optimizer"
    for n in rec.model_variable_names():
        if n not in used and n not in plan.ignored:
            plan.unexpected.append(f"{n} {list(rec.variables[n].shape)}")
    return plan
