"""TF1 `legacy_seq2seq` attention decoders of a graph -> one `tfm.LegacyAttentionDecoder` layer.

`attention_decoder` (and `embedding_attention_decoder`, `embedding_attention_seq2seq`'s decoder; TF 0.9-1.15,
`tensorflow/contrib/legacy_seq2seq/python/ops/seq2seq.py`) is a Python loop: the graph holds one op set per step,
no while frame. It is recognised from its ops and variables, not its scope names:

- a head: a `Conv2D` of `Reshape(attention_states, [-1, L, 1, A])` with a variable `[1, 1, A, A']` kernel
  (`AttnW_a`, the 1x1 convolution);
- an attention read (one per head per step): `Add(features, Reshape(linear(query)))` -> `Tanh` -> `Mul` by a
  variable (`AttnV_a`) -> `Sum` -> `Softmax` -> `Reshape` -> `Mul` by the hidden states -> `Sum` -> `Reshape` (d);
  `linear(query)` = `MatMul(concat(flatten(state)), Attention_a kernel) + bias`;
- a step: `x = linear([inp] + attns)` (one kernel shared by every step), the cell steps on x (the registry's
  cells: LSTM / GRU, MultiRNNCell layers), optionally `OutputProjectionWrapper` (`linear(top h)`), the reads of
  the new state, and `output = linear([cell_output] + attns)` (`AttnOutputProjection`). Step k+1's cells read
  step k's states and its attns are step k's reads; step 0's attns are zeros or reads of the initial state
  (`initial_state_attention=True`);
- `feed_previous=True` (`loop_function`): step k's input is `embedding_lookup(embedding, argmax(output_{k-1}
  [@ W + b]))` (`_extract_argmax_and_embed`, with the `output_projection` when given).

The whole decoder becomes one layer; its outputs provide every step's output tensor and the final states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from migrate.graph.constructs.base import Construct, add_provider
from migrate.graph.decoders import cell_slots, layer_weights, output_slots, shared_weights_arg
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import (
    BIAS,
    CONCAT,
    GATHER,
    Provider,
    concat_values,
    consumers,
    is_zero_state,
    linear_out,
    match_linear,
    only,
    other,
    resolve_state,
    strip,
    unwrap,
)
from migrate.graph.meta import PLACEHOLDER_OPS, GraphView, is_gradient
from migrate.graph.rnn import keras_weights, runtime_cell, runtime_family, tf1_class


# ------------------------------------------------------------------------------------------------ pieces
@dataclass
class Read:
    """One `attention(query)` of one head: the query's flat parts, its linear, the head's `AttnV`, the read d."""

    conv: object
    query: list
    q_kernel: str
    q_bias: str
    v: str
    d: object


def match_read(view: GraphView, conv, add) -> Read | None:
    y = other(add, conv.outputs[0])
    if y.op.type != "Reshape":
        return None
    lin = match_linear(view, y.op.inputs[0])
    if lin is None or lin.bias is None:
        return None
    tanh = only(consumers(add.outputs[0]), ("Tanh",))
    mul = only(consumers(tanh.outputs[0]), ("Mul",)) if tanh is not None else None
    if mul is None:
        return None
    v = view.variable_of(other(mul, tanh.outputs[0]))
    op = mul
    for types in (("Sum",), ("Softmax",), ("Reshape",), ("Mul",), ("Sum",), ("Reshape",)):
        op = only(consumers(op.outputs[0]), types)
        if op is None:
            return None
    if v is None:
        return None
    return Read(conv, lin.args, lin.kernel, lin.bias, v, op.outputs[0])


def _heads(view: GraphView) -> dict:
    """hidden tensor name -> the Conv2D ops of `AttnW_a` kernels ([1, 1, A, A'] variables) applied to it."""
    groups: dict = {}
    for op in view.graph.get_operations():
        if op.type != "Conv2D" or is_gradient(op.name):
            continue
        w = view.variable_of(op.inputs[1])
        hidden = op.inputs[0]
        if w is None or hidden.op.type != "Reshape" or hidden.shape.rank != 4:
            continue
        shape = view.variable_values(w).shape
        if len(shape) == 4 and shape[:2] == (1, 1):
            groups.setdefault(hidden.name, []).append(op)
    return groups


def _value(view: GraphView, t) -> np.ndarray:
    """The value of a weight tensor (a variable, or e.g. `transpose(w_t)` of one): no placeholder may feed it."""
    name = view.variable_of(t)
    if name is not None:
        return view.variable_values(name)
    stack, seen = [t.op], set()
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen.add(o.name)
        if o.type in PLACEHOLDER_OPS:
            raise Unsupported(f"the output projection {t.name} depends on the placeholder {o.name}")
        stack.extend(i.op for i in o.inputs)
    return np.asarray(view.session.run(t))


def match_loop_input(view: GraphView, inp, prev_out):
    """`_extract_argmax_and_embed`: inp = embedding_lookup(emb, argmax(prev [@ W + b])) ->
    (embedding variable, (W, b) values or None), else None."""
    g = unwrap(inp)
    if g.op.type not in GATHER:
        return None
    emb = view.variable_of(g.op.inputs[0])
    ids = unwrap(g.op.inputs[1])
    if emb is None or ids.op.type != "ArgMax":
        return None
    prev = strip(ids.op.inputs[0])
    if prev.name == strip(prev_out).name:
        return emb, None
    if prev.op.type in BIAS and prev.op.inputs[0].op.type == "MatMul":
        mm = prev.op.inputs[0].op
        if strip(mm.inputs[0]).name == strip(prev_out).name:
            return emb, (mm.inputs[1], prev.op.inputs[1])
    return None


# ------------------------------------------------------------------------------------------------ the decoder
@dataclass
class Step:
    inp: object
    attn_args: list
    layers: list                      # CellStep per cell layer
    cell_output: object = None
    reads: dict = field(default_factory=dict)   # conv name -> Read
    output: object = None             # AttnOutputProjection's output


class LegacyAttention(Provider):
    kind = "legacy_seq2seq attention_decoder"

    def folded_cells(self) -> list:   # its runtime layer's cells (`Provider.folded_cells`)
        return list(self.steps[0].layers)

    def __init__(self, view, name, steps, heads, attention_states, query_parts, in_lin, out_lin, opw, init_attn,
                 loop, init):
        self.view, self.steps, self.heads = view, steps, heads
        self.in_lin, self.out_lin, self.opw = in_lin, out_lin, opw
        self.query_parts, self.init_attn, self.loop, self.init = query_parts, init_attn, loop, init
        self.reads_shared_weights = loop is not None   # feed_previous: the teacher-forced decoder's variables
        inputs = [attention_states] + ([steps[0].inp] if loop else [s.inp for s in steps]) + list(init)
        provides = [s.output.name for s in steps]
        for st in steps[-1].layers:
            provides.append(st.new_h.name)
            if st.new_c is not None:
                provides.append(st.new_c.name)
        super().__init__(name, inputs, provides)

    def _is_embedding_decoder(self) -> bool:
        embs = {self.view.variable_of(unwrap(s.inp).op.inputs[0]) if unwrap(s.inp).op.type in GATHER else None
                for s in self.steps[:1 if self.loop else None]}
        return None not in embs and len(embs) == 1

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        view, first = self.view, self.steps[0]
        n = 1 if self.loop else len(self.steps)
        att, xs, init = syms[0], syms[1:1 + n], syms[1 + n:]
        layers = first.layers
        for st in layers:
            runtime_cell(st, "a legacy_seq2seq attention decoder")
        v = view.variable_values
        weights = [v(self.in_lin.kernel), v(self.in_lin.bias)]
        slots = [("input_kernel", "legacy:input_kernel", (self.in_lin.kernel,)),
                 ("input_bias", "legacy:input_bias", (self.in_lin.bias,))]
        for st in layers:
            weights += keras_weights(view, st)
        slots += cell_slots(layers)
        for a, conv in enumerate(self.heads):
            r = first.reads[conv.name]
            conv_var = view.variable_of(conv.inputs[1])
            w = v(conv_var)
            weights += [w.reshape(w.shape[2], w.shape[3]), v(r.v), v(r.q_kernel), v(r.q_bias)]
            slots += [(f"attn_w_{a}", "legacy:attn_w", (conv_var,)), (f"attn_v_{a}", "legacy:attn_v", (r.v,)),
                      (f"attention_{a}_kernel", "legacy:query_kernel", (r.q_kernel,)),
                      (f"attention_{a}_bias", "legacy:query_bias", (r.q_bias,))]
        if self.opw is not None:
            weights += [v(self.opw.kernel), v(self.opw.bias)]
            slots += output_slots((self.opw.kernel, self.opw.bias), "output_wrapper")
        weights += [v(self.out_lin.kernel), v(self.out_lin.bias)]
        slots += [("attn_output_projection_kernel", "legacy:attn_output_projection_kernel", (self.out_lin.kernel,)),
                  ("attn_output_projection_bias", "legacy:attn_output_projection_bias", (self.out_lin.bias,))]
        loop_proj = None
        if self.loop is not None:
            emb, proj = self.loop
            weights.append(v(emb))
            slots.append(("embedding", "embedding", (emb,)))
            if proj is not None:
                loop_proj = [_value(view, proj[0]), _value(view, proj[1])]
                weights += loop_proj
                # the output_projection the graph applies to the training outputs too (a Dense there) when both
                # are variables; a computed one (`transpose(w_t)`) is the layer's own
                names = [view.variable_of(t) for t in proj]
                slots += [(f"loop_projection_{part}", f"dense_{part}" if name else f"legacy:loop_projection_{part}",
                           (name,) if name else (t.name,)) for part, name, t in zip(("kernel", "bias"), names, proj)]
        conv_w = v(view.variable_of(self.heads[0].inputs[1]))
        in_dim = v(self.in_lin.kernel).shape[1]
        out_size = v(self.out_lin.kernel).shape[1]
        families = [runtime_family(st) for st in layers]
        units = [st.units for st in layers]
        what = "embedding_attention_decoder" if self._is_embedding_decoder() else "attention_decoder"
        mode = "feed_previous=True (greedy argmax fed back)" if self.loop else "feed_previous=False (teacher forcing)"
        cells = ", ".join(f"{tf1_class(st)}({st.units})" for st in layers)
        em.comment(f"legacy_seq2seq {what} (unrolled, {len(self.steps)} steps) {self.name}: {cells}"
                   + (" in a MultiRNNCell" if len(layers) > 1 else "") + f", {len(self.heads)} head(s), {mode}"
                   + (", OutputProjectionWrapper" if self.opw is not None else "")
                   + (", initial_state_attention" if self.init_attn else ""))
        if self.loop:
            seq = em.emit(f"keras.ops.expand_dims({em.value(xs[0])}, 1)", "decoder_go",
                          comment="feed_previous: only the first (GO) input is read")[0].var
        else:   # the steps of one sequence (one lookup of all the ids) as slices of it, not stacked step by step
            seq = em.stack_steps(xs, "decoder_inputs")
        lname = em.layer_name(self.name)
        # a feed_previous decoder beside the teacher-forced one over the same variables (two calls of
        # embedding_attention_seq2seq with reuse) names the weights the first holds, and the Embedding's (issue 22)
        shared = layer_weights(em, lname, weights, slots)
        args = [f"{families!r}", f"{units!r}", f"input_dim={in_dim}", f"attn_size={conv_w.shape[2]}",
                f"attn_vec_size={conv_w.shape[3]}", f"num_heads={len(self.heads)}",
                f"query_parts={[list(p) for p in self.query_parts]!r}", f"output_size={out_size}"]
        if self.opw is not None:
            args.append(f"cell_output_size={v(self.opw.kernel).shape[1]}")
        if self.init_attn:
            args.append("initial_state_attention=True")
        if self.loop:
            args += ["feed_previous=True", f"steps={len(self.steps)}", f"vocab_size={v(self.loop[0]).shape[0]}"]
            if loop_proj is not None:
                args.append(f"loop_projection_size={loop_proj[0].shape[1]}")
        call = [seq, em.value(att)]
        if init:
            call.append(f"initial_state=[{', '.join(em.value(s) for s in init)}]")
        names = [em.new_ident("decoder_outputs")]
        for st in layers:
            scope = st.scope[: -len("/Linear")] if st.scope.endswith("/Linear") else st.scope  # TF < 1.0 names
            short = scope.rsplit("/", 1)[-1]
            names.append(em.new_ident(f"{short}_h"))
            if st.family == "lstm":
                names.append(em.new_ident(f"{short}_c"))
        em.lines.append(f"{', '.join(names)} = tfm.LegacyAttentionDecoder({', '.join(args)}, name={lname!r}"
                        f"{shared_weights_arg(shared)})({', '.join(call)})")
        em.constructs[f"legacy_seq2seq {what} {mode.split(' (')[0]} -> tfm.LegacyAttentionDecoder"] += 1
        out = {}
        for k, s in enumerate(self.steps):
            out[s.output.name] = Sym(lazy=(lambda k=k: em.emit(f"{names[0]}[:, {k}]", f"decoder_output_{k}")[0].var),
                                     dtype="float32")
        k = 1
        for st in self.steps[-1].layers:
            out[st.new_h.name] = Sym(var=names[k], dtype="float32")
            k += 1
            if st.new_c is not None:
                out[st.new_c.name] = Sym(var=names[k], dtype="float32")
                k += 1
        em.lines.append("")
        return out


def _all_steps(view: GraphView, registry) -> dict:
    """Every cell step outside while frames, keyed by the (stripped) name of its input."""
    return {strip(step.x).name: step for _, step in registry.steps(view, in_loops=False)}


def _resolve(view: GraphView, t):
    """The tensor a state part came from: through Identity, `split(concat([c, h]))` (BasicLSTMCell; TF < 1.0
    `Concat` too) and `slice(concat([c, h]), [0, k], [-1, n])` (LSTMCell), both `state_is_tuple=False`
    (`matching.resolve_state`)."""
    return resolve_state(t, view)


def _state_map(view, layers, which: str) -> dict:
    """stripped state tensor name -> (layer, role): the new states (`which="new"`) or the previous ones."""
    m = {}
    for k, st in enumerate(layers):
        pairs = (("h", st.new_h), ("c", st.new_c)) if which == "new" else (("h", st.h_prev), ("c", st.c_prev))
        for role, t in pairs:
            if t is not None:
                m[strip(t).name] = (k, role)
                m[_resolve(view, t).name] = (k, role)
    return m


def _query_parts(view, query, states: dict):
    """The flat query -> [(layer, role)] using `states`; concats of states (state_is_tuple=False) are opened."""
    parts = []
    for q in query:
        q = strip(q)
        if q.name in states:
            parts.append(states[q.name])
            continue
        inner = concat_values(view, q.op) if q.op.type in CONCAT else None
        if inner is None:
            return None
        sub = _query_parts(view, inner, states)
        if sub is None:
            return None
        parts += sub
    return parts


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every legacy_seq2seq attention decoder (one per group of `AttnW` heads on one hidden tensor) -> its provider."""
    providers = {}
    by_x = None
    for convs in _heads(view).values():
        if by_x is None:
            by_x = _all_steps(view, registry)
        add_provider(providers, lambda convs=convs, by_x=by_x: _decoder(view, convs, by_x))
    return providers


def _decoder(view, convs, by_x):
    reads = []
    for conv in convs:
        for c in consumers(conv.outputs[0]):
            if c.type in ("Add", "AddV2"):
                r = match_read(view, conv, c)
                if r is not None:
                    reads.append(r)
    if not reads:
        return None
    # the linears the reads feed: the next step's input linear (its output is a cell step's input) and this
    # step's AttnOutputProjection
    in_kernel = None
    for r in reads:
        for c in consumers(r.d):
            if c.type not in CONCAT:
                continue
            for m in consumers(c.outputs[0]):
                if m.type == "MatMul" and linear_out(m).name in by_x:
                    in_kernel = view.variable_of(m.inputs[1])
    if in_kernel is None:  # one step without initial attention: step 0's input linear reads zeros
        in_kernel = _input_kernel_from_zeros(view, by_x, len(convs))
    if in_kernel is None:
        return None
    steps = []
    for op in view.graph.get_operations():
        if op.type != "MatMul" or is_gradient(op.name) or view.variable_of(op.inputs[1]) != in_kernel:
            continue
        lin = match_linear(view, linear_out(op))
        x = linear_out(op)
        if lin is None or len(lin.args) != 1 + len(convs) or x.name not in by_x:
            return None
        layers = [by_x[x.name]]
        while layers[-1].new_h.name in by_x and len(layers) < 64:
            layers.append(by_x[layers[-1].new_h.name])
        steps.append(Step(lin.args[0], lin.args[1:], layers))
    in_lin = match_linear(view, linear_out(next(op for op in view.graph.get_operations()
                                                 if op.type == "MatMul" and not is_gradient(op.name)
                                                 and view.variable_of(op.inputs[1]) == in_kernel)))
    # decoders sharing the variables (model_with_buckets: one per bucket) share the input kernel: keep the steps
    # whose new state this decoder's attention reads
    steps = [s for s in steps if any(_query_parts(view, r.query, _state_map(view, s.layers, "new")) is not None
                                     for r in reads)]
    # order the steps: step k+1's first cell reads step k's state
    by_new = {s.layers[0].new_h.name: s for s in steps}
    nxt = {}
    for s in steps:
        p = by_new.get(_resolve(view, s.layers[0].h_prev).name)
        if p is not None:
            nxt[id(p)] = s
    heads_of_chain = [s for s in steps if _resolve(view, s.layers[0].h_prev).name not in by_new]
    if len(heads_of_chain) != 1:
        raise Unsupported("the decoder steps do not form one chain")
    chain = [heads_of_chain[0]]
    while id(chain[-1]) in nxt:
        chain.append(nxt[id(chain[-1])])
    if len(chain) != len(steps) or len({len(s.layers) for s in chain}) != 1:
        raise Unsupported("the decoder steps do not form one chain of equal cell stacks")
    for p, s in zip(chain, chain[1:]):  # every cell of step k+1 starts from the same cell's state of step k
        for a, b in zip(p.layers, s.layers):
            if a.variables != b.variables or _resolve(view, b.h_prev).name != strip(a.new_h).name or (
                    a.new_c is not None and _resolve(view, b.c_prev).name != strip(a.new_c).name):
                raise Unsupported(f"the cell {b.scope} of one step does not continue the previous step's state")
    # the reads of each step's new state (and of the initial state)
    maps = [_state_map(view, s.layers, "new") for s in chain]
    init_map = _state_map(view, chain[0].layers, "prev")
    init_reads, query_parts = {}, None
    for r in reads:
        hit = None
        for k, m in enumerate(maps):
            parts = _query_parts(view, r.query, m)
            if parts is not None:
                hit = (k, parts)
                break
        if hit is None:
            parts = _query_parts(view, r.query, init_map)
            if parts is None:
                raise Unsupported(f"an attention query ({r.d.name}) that is not the decoder state")
            init_reads[r.conv.name] = r
            hit = (-1, parts)
        k, parts = hit
        if query_parts is None:
            query_parts = parts
        elif parts != query_parts:
            raise Unsupported("attention queries made of different state parts")
        if k >= 0:
            chain[k].reads[r.conv.name] = r
    if any(len(s.reads) != len(convs) for s in chain):
        raise Unsupported("a decoder step without one attention read per head")
    # AttnOutputProjection (and OutputProjectionWrapper): the linear of [cell_output] + this step's reads
    out_lin = opw = None
    heads = None
    for s in chain:
        d0 = next(iter(s.reads.values())).d
        lin = None
        for c in consumers(d0):
            if c.type in CONCAT:
                for m in consumers(c.outputs[0]):
                    if m.type == "MatMul" and view.variable_of(m.inputs[1]) != in_kernel:
                        lin = match_linear(view, linear_out(m))
        if lin is None or lin.bias is None or len(lin.args) != 1 + len(convs):
            raise Unsupported("no AttnOutputProjection after the attention")
        if out_lin is not None and (lin.kernel, lin.bias) != (out_lin.kernel, out_lin.bias):
            raise Unsupported("steps with different AttnOutputProjection variables")
        out_lin = out_lin or lin
        order = {strip(r.d).name: conv for conv, r in s.reads.items()}
        got = [order.get(strip(a).name) for a in lin.args[1:]]
        if None in got:
            raise Unsupported("AttnOutputProjection reads other tensors than the attention")
        heads = heads or got
        if got != heads:
            raise Unsupported("heads in different orders")
        top = s.layers[-1].new_h
        cell_out = strip(lin.args[0])
        if cell_out.name != strip(top).name:
            w = match_linear(view, cell_out)
            if w is None or w.bias is None or len(w.args) != 1 or strip(w.args[0]).name != strip(top).name:
                raise Unsupported("the cell output is neither the cell's h nor an OutputProjectionWrapper of it")
            if opw is not None and (w.kernel, w.bias) != (opw.kernel, opw.bias):
                raise Unsupported("steps with different OutputProjectionWrapper variables")
            opw = opw or w
        elif opw is not None:
            raise Unsupported("an OutputProjectionWrapper on some steps only")
        s.cell_output, s.output = cell_out, lin.out
    conv_by_name = {c.name: c for c in convs}
    heads = [conv_by_name[c] for c in heads]
    # the attentions each step's input linear reads
    init_attn = None
    for k, s in enumerate(chain):
        if k == 0:
            if all(is_zero_state(view, a) for a in s.attn_args):
                init_attn = False
                continue
            want = [init_reads.get(c.name) for c in heads]
            if None in want:
                raise Unsupported("the first step's attention is neither zeros nor a read of the initial state")
            init_attn = True
        else:
            want = [chain[k - 1].reads[c.name] for c in heads]
        if [strip(a).name for a in s.attn_args] != [strip(r.d).name for r in want]:
            raise Unsupported(f"step {k} reads other attentions than the previous step's")
    # feed_previous: loop_function inputs on every step after the first
    loops = [match_loop_input(view, s.inp, chain[k - 1].output) for k, s in enumerate(chain) if k > 0]
    loop = None
    if loops and all(lp is not None for lp in loops):
        def key(t):  # a resource variable is read by a new op per use
            return view.variable_of(t) or t.name

        if len({(lp[0], None if lp[1] is None else (key(lp[1][0]), key(lp[1][1]))) for lp in loops}) != 1:
            raise Unsupported("steps feeding back through different embeddings / projections")
        loop = loops[0]
    elif any(lp is not None for lp in loops):
        raise Unsupported("a loop_function on some steps only")
    # the initial state: the first step's cells' previous states (dropped when zero: the layer starts at zeros)
    init = []
    for st in chain[0].layers:
        init += [st.h_prev] + ([st.c_prev] if st.family == "lstm" else [])
    zero = [is_zero_state(view, t) for t in init]
    if all(zero):
        init = []
    elif any(zero):
        raise Unsupported("a decoder initial state that is partly zero")
    att = heads[0].inputs[0].op.inputs[0]  # Reshape(attention_states, [-1, L, 1, A])
    if att.shape.rank != 3:
        raise Unsupported("attention_states of unknown rank")
    name = in_lin.kernel.rsplit("/", 1)[0]
    if name.endswith("/Linear"):  # TF < 1.0: attention_decoder/Linear/Matrix
        name = name[: -len("/Linear")]
    return LegacyAttention(view, name, chain, heads, att, query_parts, in_lin, out_lin, opw, init_attn, loop, init)


def _input_kernel_from_zeros(view, by_x, n_heads):
    """A one-step decoder with zero initial attention: the input linear is a cell step's `x` whose concat reads
    `n_heads` zero tensors after the input."""
    for step in by_x.values():
        lin = match_linear(view, step.x)
        if lin is not None and len(lin.args) == 1 + n_heads and all(is_zero_state(view, a) for a in lin.args[1:]):
            return lin.kernel
    return None


CONSTRUCT = Construct(
    "legacy_attention_decoder", recognise,
    "`legacy_seq2seq.attention_decoder` / `embedding_attention_decoder` / `embedding_attention_seq2seq` (unrolled, "
    "one op set per step; `feed_previous` False or True, any number of heads, `initial_state_attention`, "
    "`OutputProjectionWrapper`, `output_projection`, LSTM / GRU / MultiRNNCell, TF 0.9 - 1.15 names)",
    "one `tfm.LegacyAttentionDecoder` (recognised from its ops and variables: each head's `[1, 1, A, A']` Conv2D on "
    "the attention states, the per-step linear maps, the argmax fed back through the embedding)")

__all__ = ["CONSTRUCT", "LegacyAttention", "recognise"]
