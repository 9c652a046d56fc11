"""The cell-layout registry: one `CellLayout` per TF1 recurrent cell layout, one module each.

| layout       | TF1 classes                                  | TF1 columns           | Keras columns | forget bias     |
|--------------|----------------------------------------------|-----------------------|---------------|-----------------|
| `lstm`       | LSTMCell, BasicLSTMCell                      | i, j, f, o            | i, f, c, o    | folded (graph)  |
| `lstm_block` | contrib LSTMBlockCell, LSTMBlockFusedCell    | i, j, f, o            | i, f, c, o    | folded (op attr)|
| `gru`        | GRUCell, contrib GRUBlockCellV2              | r, u + candidate      | z, r, h       | none            |
| `gru_block`  | contrib GRUBlockCell (`w_ru`, `b_ru`, ...)   | r, u + candidate      | z, r, h       | none            |

Adding a layout: one module here defining `LAYOUT`, listed in `_MODULES`, plus its tests (tests/test_cell_layouts.py
runs the round-trip property test over every registered layout).
"""

from __future__ import annotations

from migrate.checkpoint.cell_layouts import gru, gru_block, lstm, lstm_block
from migrate.checkpoint.cell_layouts.base import KERAS_WEIGHTS, CellLayout, blocks, permute_gates

_MODULES = (lstm, lstm_block, gru, gru_block)
REGISTRY: dict[str, CellLayout] = {m.LAYOUT.name: m.LAYOUT for m in _MODULES}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(m.LAYOUT.family for m in _MODULES))   # ("lstm", "gru")


def get(name: str) -> CellLayout:
    """The layout registered as `name` (a registry key) or, for transforms written by family, its first layout."""
    if name in REGISTRY:
        return REGISTRY[name]
    for layout in REGISTRY.values():
        if layout.family == name:
            return layout
    raise KeyError(f"no cell layout {name!r}; registered: {', '.join(REGISTRY)}")


def by_graph_op(op: str) -> CellLayout | None:
    """The layout whose fused op type `op` is (LSTMBlockCell -> lstm_block), or None."""
    return next((lay for lay in REGISTRY.values() if op in lay.graph_ops), None)


def scope_layouts() -> dict[str, list[CellLayout]]:
    """cell scope name -> the layouts that open it (gru_cell: gru and gru_block; members tell them apart)."""
    out: dict[str, list[CellLayout]] = {}
    for lay in REGISTRY.values():
        for s in lay.scopes:
            out.setdefault(s, []).append(lay)
    return out


def is_cell_transform(transform: str) -> bool:
    """True for the mapping/binding transforms that take a whole cell group (a family or layout name)."""
    return transform in REGISTRY or transform in FAMILIES


__all__ = ["FAMILIES", "KERAS_WEIGHTS", "REGISTRY", "CellLayout", "blocks", "by_graph_op", "get",
           "is_cell_transform", "permute_gates", "scope_layouts"]
