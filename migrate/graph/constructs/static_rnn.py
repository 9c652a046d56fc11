"""`tf.nn.static_rnn` (unrolled): the same cell step repeated outside any loop -> one Keras layer.

One step per time step, all reading one kernel; step k's state is step k-1's new state (directly, or via
`concat([c, h])` / `split` when `state_is_tuple=False`). It becomes one Keras layer over
`keras.ops.stack(steps, axis=1)`.
"""

from __future__ import annotations

from migrate.graph.constructs.base import Construct
from migrate.graph.ir import Emitter, Sym
from migrate.graph.matching import Provider, is_zero_state, resolve_state
from migrate.graph.meta import GraphView
from migrate.graph.rnn import emit_rnn_layer, tf1_class


class StaticRNN(Provider):
    kind = "static_rnn"

    def __init__(self, view, steps):
        self.view, self.steps = view, steps
        first = steps[0]
        self.init = {}
        inputs = [s.x for s in steps]
        for role, t in (("h", first.h_prev), ("c", first.c_prev)):
            if t is not None and not is_zero_state(view, t):
                self.init[role] = t
                inputs.append(t)
        provides = [s.new_h.name for s in steps] + [steps[-1].new_c.name] if first.new_c is not None else \
            [s.new_h.name for s in steps]
        super().__init__(first.scope, inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        n = len(self.steps)
        xs, rest = syms[:n], syms[n:]
        init = dict(zip(self.init, rest))
        step = self.steps[0]
        em.comment(f"tf.nn.static_rnn (unrolled, {n} steps) of {tf1_class(step)} {step.scope}")
        seq = em.emit(f"keras.ops.stack([{', '.join(em.value(x) for x in xs)}], axis=1)", "steps")[0].var
        _, names = emit_rnn_layer(em, self.view, step, seq, init, None, "static_rnn")
        em.lines.append("")
        out = {}
        for k, s in enumerate(self.steps[:-1]):
            out[s.new_h.name] = Sym(lazy=(lambda k=k: em.emit(f"{names[0]}[:, {k}]", f"step_{k}_output")[0].var),
                                    dtype="float32")
        out[self.steps[-1].new_h.name] = Sym(var=names[1], dtype="float32")
        if step.family == "lstm":
            out[self.steps[-1].new_c.name] = Sym(var=names[2], dtype="float32")
        return out


def recognise(view: GraphView, outputs, registry) -> dict:
    """Chains of cell steps outside while frames sharing one kernel -> a `StaticRNN` provider each."""
    by_kernel: dict[str, list] = {}
    for _, step in registry.steps(view, in_loops=False):
        by_kernel.setdefault(step.variables.get("kernel") or step.variables["gates_kernel"], []).append(step)
    providers = {}
    for steps in by_kernel.values():
        if len(steps) < 2:
            continue
        by_new_h = {s.new_h.name: s for s in steps}
        prev_of = {}
        for s in steps:
            p = by_new_h.get(resolve_state(s.h_prev).name)
            if p is not None:
                prev_of[id(s)] = p
        heads = [s for s in steps if id(s) not in prev_of]
        if len(heads) != 1:
            continue  # several chains (e.g. an encoder and a decoder sharing a cell): left op by op
        chain = [heads[0]]
        nxt_of = {id(p): s for s_id, p in prev_of.items() for s in steps if id(s) == s_id}
        while id(chain[-1]) in nxt_of:
            chain.append(nxt_of[id(chain[-1])])
        if len(chain) != len(steps):
            continue
        if chain[0].family == "lstm" and any(
                resolve_state(s.c_prev).name != p.new_c.name for p, s in zip(chain, chain[1:])):
            continue
        p = StaticRNN(view, chain)
        for name in p.provides:
            providers[name] = p
    return providers


CONSTRUCT = Construct(
    "static_rnn", recognise,
    "`static_rnn` (unrolled steps sharing one kernel, `state_is_tuple` either way)",
    "one layer over `keras.ops.stack(steps, axis=1)`")
