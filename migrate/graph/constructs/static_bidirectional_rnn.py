"""`tf.nn.static_bidirectional_rnn`: a forward `static_rnn` over the steps and a backward one over the steps last
to first (`constructs/static_rnn.py` makes each one Keras layer, the backward one over `keras.ops.flip(x, axis=1)`),
whose outputs TF1 joins step by step: `concat([fw[t], bw[T - 1 - t]], 1)`. That join becomes one
`keras.ops.concatenate([fw_seq, keras.ops.flip(bw_seq, axis=1)], axis=-1)` over the two sequences (and the
`tf.stack` of the joined steps, when the graph makes one, that sequence itself)."""

from __future__ import annotations

from migrate.graph.constructs.base import Construct
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import CONCAT, Provider, const_scalar, consumers, strip
from migrate.graph.meta import GraphView, is_gradient


class StaticBidirectional(Provider):
    kind = "static_bidirectional_rnn"

    def __init__(self, name, fw_steps, bw_steps, concats, stacked):
        self.concats, self.stacked = concats, stacked
        super().__init__(name, list(fw_steps) + list(bw_steps),
                         [c.name for c in concats] + ([stacked.name] if stacked is not None else []))

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        n = len(self.concats)
        fw, bw = syms[:n], syms[n:]
        seq_fw, seq_bw = fw[0].step_of and fw[0].step_of[0], bw[0].step_of and bw[0].step_of[0]
        if not (seq_fw and seq_bw and [s.step_of for s in fw] == [(seq_fw, k) for k in range(n)]
                and [s.step_of for s in bw] == [(seq_bw, k) for k in range(n)]):
            raise Unsupported("the two directions are not whole sequences")   # left to the op-by-op join
        em.comment("tf.nn.static_bidirectional_rnn: forward outputs, then the backward ones in time order")
        back = em.emit(f"keras.ops.flip({seq_bw}, axis=1)", "backward_in_time_order")[0].var
        seq = em.emit(f"keras.ops.concatenate([{seq_fw}, {back}], axis=-1)", "bidirectional_outputs")[0].var
        em.constructs["static_bidirectional_rnn -> keras.ops.concatenate"] += 1
        out = {c.name: Sym(lazy=(lambda k=k: em.emit(f"{seq}[:, {k}]", f"step_{k}_output")[0].var), dtype="float32",
                           step_of=(seq, k), steps=n) for k, c in enumerate(self.concats)}
        if self.stacked is not None:
            out[self.stacked.name] = Sym(var=seq, dtype="float32")
        em.lines.append("")
        return out


def recognise(view: GraphView, outputs, registry) -> dict:
    """Per-step `ConcatV2(fw_t, bw_{T-1-t}, axis 1)` joins of the outputs of two recognised static_rnn chains (the top
    layers of two `MultiRNNCell`s, or two cells) -> a provider."""
    static = {}
    for c in registry.constructs:
        if c.name == "static_rnn":
            static = c.recognise(view, outputs, registry)
    chains = list({id(p): p for p in static.values()}.values())
    out_of = {id(p): p.wrapped or [s.new_h for s in p.steps] for p in chains}
    position = {t.name: (id(p), k) for p in chains for k, t in enumerate(out_of[id(p)])}
    joins: dict = {}   # (forward chain, backward chain) -> {t: the concat of step t}
    for op in view.graph.get_operations():
        if op.type not in CONCAT or len(op.inputs) != 3 or is_gradient(op.name):
            continue
        a, b = position.get(strip(op.inputs[0]).name), position.get(strip(op.inputs[1]).name)
        if a is None or b is None or a[0] == b[0] or const_scalar(view, op.inputs[2]) not in (1, -1):
            continue   # (a DropoutWrapper around either cell is looked through: identity at inference)
        if len(out_of[a[0]]) == len(out_of[b[0]]) and b[1] == len(out_of[a[0]]) - 1 - a[1]:
            joins.setdefault((a[0], b[0]), {})[a[1]] = op.outputs[0]
    providers = {}
    for (f_id, b_id), by_t in joins.items():
        f = next(p for p in chains if id(p) == f_id)
        f_out = out_of[f_id]
        n = len(f_out)
        if sorted(by_t) != list(range(n)):
            continue
        concats = [by_t[t] for t in range(n)]
        b_out = out_of[b_id]
        packs = [c for c in consumers(concats[0]) if c.type == "Pack" and c.get_attr("axis") == 1
                 and [i.name for i in c.inputs] == [t.name for t in concats]]
        b = next(p for p in chains if id(p) == b_id)
        common = []
        for x, y in zip(f.name.split("/"), b.name.split("/")):
            if x != y:
                break
            common.append(x)
        p = StaticBidirectional("/".join(common) or concats[0].op.name, f_out, b_out, concats,
                                packs[0].outputs[0] if packs else None)
        for name in p.provides:
            providers[name] = p
    return providers


CONSTRUCT = Construct(
    "static_bidirectional_rnn", recognise,
    "`static_bidirectional_rnn` (a forward and a backward `static_rnn`, any cell and wrapper of the `static_rnn` "
    "row, their outputs joined step by step)",
    "the two layers (the backward one over `keras.ops.flip(x, axis=1)`), then one "
    "`keras.ops.concatenate([fw, keras.ops.flip(bw, axis=1)], axis=-1)`")
