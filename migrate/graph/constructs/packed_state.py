"""`MultiRNNCell(cells, state_is_tuple=False)` and `LSTMCell` / `BasicLSTMCell(state_is_tuple=False)` in a
`dynamic_rnn` (or each direction of a `bidirectional_dynamic_rnn`): the loop carries the states packed in one
tensor.

TF 1.x (rnn_cell_impl.py r1.15): `MultiRNNCell.call` reads layer k's state as `Slice(state, [0, pos_k], [-1,
state_size_k])` and returns `concat(new_states, 1)`; `LSTMCell` with `state_is_tuple=False` reads `c` / `h` as
`Slice(state, [0, 0], [-1, units])` / `Slice(state, [0, units], [-1, num_proj or units])`, `BasicLSTMCell` as
`split(state, 2, axis=1)`, and both return `concat([c, h], 1)`; with `sequence_length` the loop keeps the packed
state through one `Select`. Each cell step's previous state is such a slice of one loop variable (`state_slot`);
the loop variable's next value, looked through those concats (`matching.concat_leaves`), must hold each step's new
state at the same place, the places tiling the whole width. The layers are then the tuple case's (`dynamic_rnn`), each
started from its slice of a given initial state (`init[:, a:b]`; a `zero_state` dropped), and the packed final
state is `keras.ops.concatenate` of the layers' final states in TF1's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from migrate.graph.constructs.base import Construct
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import LoopVar, columns_of, concat_leaves, is_zero_state, loop_var_of, strip, strip_select


@dataclass
class Slot:
    """One cell state (`role` "h" / "c" of layer `layer`) at columns [offset, offset + size) of a packed state."""

    offset: int
    size: int
    layer: int
    role: str
    new: object = None          # the step's new state (what the next value holds at this place)


@dataclass
class Packed:
    """A loop variable holding several cell states side by side (`slots`, by offset)."""

    lv: LoopVar
    width: int
    slots: list = field(default_factory=list)
    has_init: bool = False      # a given (not zero) initial state: sliced into the layers' initial states


def state_slot(view, t):
    """`t` = columns of a loop variable's value (`matching.columns_of`: MultiRNNCell's slice, then LSTMCell's) ->
    (LoopVar, offset, size), else None."""
    src, offset, size = columns_of(t, view)
    lv = loop_var_of(src) if src is not t else None
    return (lv, offset, size) if lv is not None else None


def packed_states(view, slots: list[tuple]) -> tuple[list[Packed], object]:
    """[(LoopVar, offset, size, layer, role, the step's new state)] -> ([Packed], the sequence_length the loop's
    Select reads or None); `Unsupported` when the loop variable's next value is not those new states packed at the
    same places, or when the places leave columns of it unused."""
    by_lv: dict[str, Packed] = {}
    for lv, offset, size, layer, role, new in slots:
        width = lv.body.shape[-1] if lv.body.shape.rank == 2 else None
        if width is None:
            raise Unsupported(f"the packed state {lv.merge.name} (MultiRNNCell(..., state_is_tuple=False)) has no static width")
        p = by_lv.setdefault(lv.merge.name, Packed(lv, int(width)))
        p.slots.append(Slot(offset, size, layer, role, new))
    lengths = None
    for p in by_lv.values():
        p.slots.sort(key=lambda s: s.offset)
        end = 0
        for s in p.slots:
            if s.offset != end:
                raise Unsupported(f"the packed state {p.lv.merge.name} (MultiRNNCell(..., state_is_tuple=False)): columns {end}:"
                                  f"{s.offset} are read by no recognised cell")
            end = s.offset + s.size
        if end != p.width:
            raise Unsupported(f"the packed state {p.lv.merge.name} (MultiRNNCell(..., state_is_tuple=False)): columns {end}:{p.width} "
                              f"are read by no recognised cell")
        nxt, length = strip_select(p.lv.next)
        if length is not None:
            lengths = length
        leaves = concat_leaves(nxt, view)
        got = {(o, w): strip(t).name for o, w, t in leaves or []}
        if leaves is None or len(leaves) != len(p.slots) or any(
                got.get((s.offset, s.size)) != strip(s.new).name for s in p.slots):
            raise Unsupported(f"the next value of the packed state {p.lv.merge.name} (MultiRNNCell(..., state_is_tuple=False)) is not "
                              f"the cells' new states concatenated in the order they read them")
        init = p.lv.enter.inputs[0]
        init_leaves = concat_leaves(init, view) or [(0, p.width, init)]
        p.has_init = not all(is_zero_state(view, t) for _, _, t in init_leaves)
    return list(by_lv.values()), lengths


def packed_inputs(packed: list[Packed], inputs: list) -> None:
    """Append each given (not zero) packed initial state to the provider's `inputs`."""
    for p in packed:
        if p.has_init:
            inputs.append(p.lv.enter.inputs[0])


def emit_initial_slices(em: Emitter, packed: list[Packed], syms, inits: list[dict], scopes: list[str]) -> None:
    """Each given packed initial state (the next of `syms`, in `packed` order) sliced into the layers' initial
    states (`inits[layer][role]`)."""
    for p in packed:
        if not p.has_init:
            continue
        whole = em.value(next(syms))
        for s in p.slots:
            inits[s.layer][s.role] = em.emit(
                f"{whole}[:, {s.offset}:{s.offset + s.size}]", f"initial_{s.role}",
                comment=f"state_is_tuple=False: the initial {s.role} of {scopes[s.layer]} is columns "
                        f"{s.offset}:{s.offset + s.size}")[0]


def final_packed(em: Emitter, packed: list[Packed], finals: list[dict]) -> dict:
    """{each packed loop variable's Exit: the layers' final states (`finals[layer][role]`, variables) concatenated in
    TF1's order}, written on first use."""
    out = {}
    for p in packed:
        if p.lv.exit is None:
            continue
        parts = [finals[s.layer][s.role] for s in p.slots]
        if len(parts) == 1:   # one cell's state alone (a one-layer MultiRNNCell)
            out[p.lv.exit.outputs[0].name] = Sym(var=parts[0], dtype="float32", shape=(None, p.width))
            continue
        expr = f"keras.ops.concatenate([{', '.join(parts)}], axis=-1)"
        out[p.lv.exit.outputs[0].name] = Sym(
            lazy=lambda expr=expr: em.emit(expr, "final_state",
                                           comment="state_is_tuple=False: the final states packed as TF1 "
                                                   "returns them")[0].var,
            dtype="float32", shape=(None, p.width))
    return out


def final_names(packed: list[Packed]) -> list[str]:
    """The names of the packed final states (each packed loop variable's Exit)."""
    return [p.lv.exit.outputs[0].name for p in packed if p.lv.exit is not None]


CONSTRUCT = Construct(
    "packed_state", None,
    "`MultiRNNCell(..., state_is_tuple=False)` in a `dynamic_rnn` / `bidirectional_dynamic_rnn` (any cells above; "
    "`LSTMCell` / `BasicLSTMCell(state_is_tuple=False)` alone or as its layers: one loop variable holding every "
    "state side by side, `[c, h]` per LSTM; a `zero_state` or a given initial state; `sequence_length`; "
    "`DropoutWrapper`s)",
    "the stacked layers of the `dynamic_rnn` row, each started from its columns of the given initial state "
    "(`init[:, a:b]`); the packed final state `keras.ops.concatenate` of the layers' final states in TF1's order "
    "(`[c, h]` per LSTM)")
