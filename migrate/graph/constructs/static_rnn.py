"""`tf.nn.static_rnn` (unrolled): the same cell step repeated outside any loop -> one Keras layer.

One step per time step, all reading one kernel; step k's state is step k-1's new state (directly, or via
columns of the step before's packed state when `state_is_tuple=False`: an LSTM's `concat([c, h])` split or
sliced, a `MultiRNNCell`'s layers sliced; `matching.resolve_state`). It becomes one Keras layer over
the steps' sequence: the input itself when the steps are its `split` / `unstack` along time (the per-step
pieces are tagged `step_of` / `piece_of` by the op table, `ops/array.py`, and never written unless used alone), one
lookup of the ids when the steps are per-step lookups of one embedding, the previous layer's sequence when they are
its steps (a `MultiRNNCell`), else `keras.ops.stack(steps, axis=1)` (`Emitter.stack_steps`). Wrappers around the cell, found on every step alike: a `DropoutWrapper` is looked through, a
`ResidualWrapper` (each step's output + its input) becomes one `keras.ops.add` over the sequences, an
`OutputProjectionWrapper` (each step's output through `_Linear` and an activation) one `keras.layers.Dense` on the
sequence, as in `dynamic_rnn`. One cell in several `static_rnn`s (a training graph and a one-step sampling graph over
the same variables): a chain of steps each, each a call of the cell's one layer; a chain whose inputs are computed from
its own outputs (a decoder fed back) is left op by op, and so is one whose initial `c` TF1 broadcasts against its
batch (`_check_batch`).
"""

from __future__ import annotations

import numpy as np

from migrate.graph.constructs.base import Construct
from migrate.graph.constructs.output_projection_wrapper import Projection, emit_projection, match_output_projection
from migrate.graph.constructs.residual_wrapper import emit_residual, is_residual
from migrate.graph.ir import DefaultDoesNotFit, Emitter, Sym, Unsupported, defaults_upstream
from migrate.graph.matching import BIAS, PASS, Provider, consumers, is_zero_state, resolve_state
from migrate.graph.meta import GraphView
from migrate.graph.rnn import ACTIVATIONS, emit_rnn_layer, tf1_class


def _readers(t):
    """The ops reading `t`, through Identity ops."""
    out = []
    for c in consumers(t):
        if c.type in PASS:
            out.extend(_readers(c.outputs[0]))
        else:
            out.append(c)
    return out


def step_wrappers(view, step) -> tuple[object, bool, Projection | None]:
    """What a wrapper around one step's cell makes of its output: (the wrapper's output tensor, whether a
    ResidualWrapper added the step's input, the OutputProjectionWrapper's projection or None)."""
    out, residual = step.new_h, False
    for c in _readers(out):
        if c.type in ("Add", "AddV2") and is_residual(c.outputs[0], step):
            out, residual = c.outputs[0], True
            break
    for c in _readers(out):
        if c.type != "MatMul":
            continue
        t = c.outputs[0]
        nxt = [r for r in _readers(t) if r.type in BIAS]
        if len(nxt) == 1:
            t = nxt[0].outputs[0]
        acts = [r for r in _readers(t) if r.type in ACTIVATIONS]
        if len(acts) == 1 and len(_readers(t)) == 1:
            t = acts[0].outputs[0]
        proj = match_output_projection(view, t, out)
        if proj is not None:
            return t, residual, proj
    return out, residual, None


class StaticRNN(Provider):
    kind = "static_rnn"

    def __init__(self, view, steps, name: str | None = None):
        self.view, self.steps = view, steps
        first = steps[0]
        self.init = {}
        inputs = [s.x for s in steps]
        unstack, n = steps[0].x.op, len(steps)
        self.unstacked = None   # "forward" / "reversed": the steps read tf.unstack(x, axis=1) in order / reversed
        if unstack.type == "Unpack" and unstack.get_attr("axis") == 1 and len(unstack.outputs) == n and \
                all(s.x.op is unstack for s in steps):
            order = [s.x.value_index for s in steps]
            self.unstacked = "forward" if order == list(range(n)) else "reversed" if order == list(range(n))[::-1] \
                else None
        if self.unstacked:   # the layer runs over x itself (flipped for static_bidirectional_rnn's backward cell)
            inputs = [unstack.inputs[0]]
        for role, t in (("h", first.h_prev), ("c", first.c_prev)):
            if t is not None and not is_zero_state(view, t):
                self.init[role] = t
                inputs.append(t)
        provides = [s.new_h.name for s in steps] + [steps[-1].new_c.name] if first.new_c is not None else \
            [s.new_h.name for s in steps]
        wrapped = [step_wrappers(view, s) for s in steps]
        same = all(w[1] == wrapped[0][1] and (w[2] is None) == (wrapped[0][2] is None) and
                   (w[2] is None or (w[2].kernel, w[2].bias, w[2].activation) ==
                    (wrapped[0][2].kernel, wrapped[0][2].bias, wrapped[0][2].activation)) for w in wrapped)
        self.residual, self.projection = (wrapped[0][1], wrapped[0][2]) if same else (False, None)
        self.wrapped = [w[0] for w in wrapped] if self.residual or self.projection is not None else []
        provides += [t.name for t in self.wrapped]
        self.stacked = self._stack_of(self.wrapped or [s.new_h for s in steps])
        if self.stacked is not None:
            provides.append(self.stacked.name)
        super().__init__(name or first.scope, inputs, provides)

    @staticmethod
    def _stack_of(tensors):
        """The `tf.stack(outputs, axis=1)` of exactly these step outputs, in order, else None."""
        packs = {c for c in _readers(tensors[0]) if c.type == "Pack"}
        for p in packs:
            if p.get_attr("axis") == 1 and [t.name for t in p.inputs] == [t.name for t in tensors]:
                return p.outputs[0]
        return None

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        n = len(self.steps)
        xs, rest = syms[:1 if self.unstacked else n], syms[1 if self.unstacked else n:]
        init = dict(zip(self.init, rest))
        self._check_batch(xs, init)
        step = self.steps[0]
        em.comment(f"tf.nn.static_rnn (unrolled, {n} step{'s' if n > 1 else ''}) of {tf1_class(step)} {step.scope}"
                   + (" over the steps last to first" if self.unstacked == "reversed" else "")
                   + (" in a ResidualWrapper" if self.residual else "")
                   + (" in an OutputProjectionWrapper" if self.projection is not None else ""))
        seqs = {x.step_of[0] for x in xs if x.step_of is not None}
        if self.unstacked == "forward":
            seq = em.value(xs[0])
        elif self.unstacked == "reversed":
            seq = em.emit(f"keras.ops.flip({em.value(xs[0])}, axis=1)", "steps_reversed")[0].var
        elif len(seqs) == 1 and [x.step_of for x in xs] == [(next(iter(seqs)), k) for k in range(n)] \
                and all(x.steps in (None, n) for x in xs):
            seq = em.sequence(next(iter(seqs)))   # the steps of the layer below (MultiRNNCell), or of a split / unstack of the
            # inputs along time (squeezed): that sequence as it is, no per-step round trip
        else:
            seq = em.stack_steps(xs, "steps")
        _, names = emit_rnn_layer(em, self.view, step, seq, init, None, "static_rnn")
        out = self._steps(em, self.steps, [s.new_h for s in self.steps], names[0], names[1])
        if step.family == "lstm":
            out[self.steps[-1].new_c.name] = Sym(var=names[2], dtype="float32")
        wseq = names[0]
        if self.wrapped:
            if self.residual:
                wseq = emit_residual(em, wseq, seq, step.scope)
                em.constructs["static_rnn ResidualWrapper -> keras.ops.add"] += 1
            if self.projection is not None:
                wseq = emit_projection(em, self.view, self.projection, wseq, "static_rnn")
            out.update(self._steps(em, self.steps, self.wrapped, wseq, None))
        if self.stacked is not None:
            out[self.stacked.name] = Sym(var=wseq, dtype="float32")
        em.lines.append("")
        return out

    def _check_batch(self, xs: list[Sym], init: dict) -> None:
        """An initial state (given, or a zero state) whose batch is not the steps' inputs' (a `PlaceholderWithDefault`
        kept at a default built for another batch). An `h` fails the step's `concat([x, h])` in TF1 too:
        `DefaultDoesNotFit` names the defaults on the way, which the converter feeds (inputs of the model) before it
        translates again, as for the same concat op by op (`ops/array.py`). A `c` TF1 broadcasts (`c * sigmoid(f)`
        of another batch): no Keras layer computes that, so the steps are left op by op (`Unsupported`)."""
        batches = {x.shape[0] for x in xs if x.shape and x.shape[0] is not None}
        first = self.steps[0]
        for role, t in (("h", first.h_prev), ("c", first.c_prev)):
            if t is None:
                continue
            if role in init:
                shape = init[role].shape
            else:   # a zero state, e.g. a PlaceholderWithDefault's default (its placeholder's batch: None)
                shape = np.shape(self.view.fold(t)) if self.view.foldable(t.op) else None
            b = shape[0] if shape else None
            if b is None or not batches or b in batches:
                continue
            message = (f"the initial {role} {t.name} of {first.scope} has batch {b}, its steps' inputs "
                       f"{', '.join(map(str, sorted(batches)))}")
            defaults = defaults_upstream(t.op)
            if role == "c" or not defaults:
                raise Unsupported(f"{message}: TensorFlow broadcasts one against the other (or fails), which no "
                                  f"Keras layer does")
            raise DefaultDoesNotFit(f"{message}: TensorFlow fails on the step as well. The default value of "
                                    f"{', '.join(defaults[:4])} is used here; pass a value of the right size in "
                                    f"--inputs FEED.npz and it becomes an input of the model.",
                                    [d.split(":")[0] for d in defaults])

    @staticmethod
    def _steps(em, steps, tensors, seq: str, last: str | None) -> dict:
        """{tensor of step k: step k of `seq`} (the last one `last` when given: the layer's final output)."""
        out = {}
        for k, t in enumerate(tensors):
            if k == len(tensors) - 1 and last is not None:
                out[t.name] = Sym(var=last, dtype="float32", step_of=(seq, k), steps=len(tensors))
            else:
                out[t.name] = Sym(lazy=(lambda k=k: em.emit(f"{seq}[:, {k}]", f"step_{k}_output")[0].var),
                                  dtype="float32", step_of=(seq, k), steps=len(tensors))
        return out


def _chains(view, steps) -> list[list] | None:
    """The steps of one kernel as chains, each step's state the one before's new state, in order; None when they
    are not whole chains (a state two steps continue from)."""
    by_new_h = {s.new_h.name: s for s in steps}
    prev_of, next_of = {}, {}
    for s in steps:
        p = by_new_h.get(resolve_state(s.h_prev, view).name)
        if p is not None:
            if id(p) in next_of:
                return None
            prev_of[id(s)], next_of[id(p)] = p, s
    chains = []
    for head in (s for s in steps if id(s) not in prev_of):
        chain = [head]
        while id(chain[-1]) in next_of:
            chain.append(next_of[id(chain[-1])])
        if chain[0].family == "lstm" and any(
                resolve_state(s.c_prev, view).name != p.new_c.name for p, s in zip(chain, chain[1:])):
            return None
        chains.append(chain)
    return chains if sum(len(c) for c in chains) == len(steps) else None


def _reads_own_outputs(chain, chain_of: dict) -> bool:
    """Whether a step's input is computed from a step of the same chain (a decoder feeding its previous output back,
    `loop_function`): one layer over the steps' inputs cannot be. `chain_of`: {a step's output tensor: its chain}
    for every chain of the graph; the output of another chain's step is computed from that chain's inputs and
    initial states alone once it is a layer (not from the packed state of a `MultiRNNCell`'s layers it was
    sliced from), so the walk goes on from those."""
    seen, stack = set(), [s.x for s in chain]
    while stack:
        t = stack.pop()
        if t.name in seen:
            continue
        seen.add(t.name)
        other = chain_of.get(t.name)
        if other is chain:
            return True
        if other is None:
            stack.extend(t.op.inputs)
        else:
            stack.extend([s.x for s in other] + [u for u in (other[0].h_prev, other[0].c_prev) if u is not None])
    return False


def recognise(view: GraphView, outputs, registry) -> dict:
    """Chains of cell steps outside while frames sharing one kernel -> a `StaticRNN` provider each. Several chains of
    one cell (the training and the sampling graph of one model, each its own `static_rnn` over the same variables)
    are each one call of one layer (`emit_rnn_layer`: a cell's variables, one layer); a chain of them may be one step
    long. A chain whose steps read its own outputs (a decoder feeding back its previous output) is left op by op."""
    by_kernel: dict[str, list] = {}
    for _, step in registry.steps(view, in_loops=False):
        by_kernel.setdefault(step.variables.get("kernel") or step.variables["gates_kernel"], []).append(step)
    kernels = []
    for steps in by_kernel.values():
        chains = _chains(view, steps)
        if chains and max(len(c) for c in chains) >= 2:
            kernels.append(chains)
    chain_of = {t.name: c for chains in kernels for c in chains for s in c for t in (s.new_h, s.new_c)
                if t is not None}
    providers = {}
    for chains in kernels:
        if any(_reads_own_outputs(c, chain_of) for c in chains):
            continue   # e.g. an encoder and a decoder of legacy_seq2seq sharing a cell, the decoder fed back
        for k, chain in enumerate(chains):   # one cell's chains named apart (the report's loops, a declined one)
            p = StaticRNN(view, chain, None if len(chains) == 1 else f"{chain[0].scope} ({k + 1} of {len(chains)})")
            for name in p.provides:
                providers[name] = p
    return providers


CONSTRUCT = Construct(
    "static_rnn", recognise,
    "`static_rnn` (unrolled steps sharing one kernel, `state_is_tuple` either way, for the LSTM and the "
    "`MultiRNNCell`; `MultiRNNCell` layers; several `static_rnn`s over one cell, e.g. a training and a sampling graph; "
    "`DropoutWrapper` looked through, `ResidualWrapper` and `OutputProjectionWrapper` around the cell on every step)",
    "one layer over the steps' sequence: the input itself when the steps are its `split` / `unstack` along time "
    "(squeezed; last to first: `keras.ops.flip`), one lookup of the stacked ids when they are per-step lookups of "
    "one embedding, else `keras.ops.stack(steps, axis=1)` (a layer above over the sequence below); its outputs "
    "rejoined (`stack` / `concat` / `expand_dims`) as that sequence, one `reshape` or `transpose` of it; a "
    "ResidualWrapper `keras.ops.add(outputs, inputs)`, an OutputProjectionWrapper `keras.layers.Dense` on the sequence; "
    "one cell's several `static_rnn`s: its layer called again")
