"""Where the LSTM forget bias comes from. It is in no checkpoint variable, so it is never assumed.

Sources, in order of precedence (the report names the one used):

| source        | where                                                                                     |
|---------------|-------------------------------------------------------------------------------------------|
| `--forget-bias` | the user said so                                                                        |
| hparams       | `forget_bias` in `--hparams FILE` or in the `hparams.json` beside the checkpoint           |
| .meta graph   | the scalar `Const` added to output 2 (`f`) of the 4-way `Split` of an LSTM cell's gates     |
|               | (rnn_cell_impl.LSTMCell/BasicLSTMCell: `sigmoid(f + forget_bias)`), or the `forget_bias`   |
|               | attr of contrib's `LSTMBlockCell` / `BlockLSTM` ops                                        |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from migrate.checkpoint.reader import CheckpointError

_ADD_OPS = ("Add", "AddV2")
_SPLIT_OPS = {"Split": 1, "SplitV": 0}          # op -> index of its `value` input (Split is (axis, value))
_BLOCK_OPS = ("LSTMBlockCell", "BlockLSTM", "BlockLSTMV2")  # contrib/rnn/ops/lstm_ops.cc: attr forget_bias
_F_OUTPUT = 2                                  # i, j, f, o: f is the third output of the split


@dataclass(frozen=True)
class ForgetBias:
    value: float | None
    source: str          # "--forget-bias", "hparams (path)", "meta graph (path: node)", "not needed (no LSTM)"

    def to_json(self) -> dict:
        return {"value": self.value, "source": self.source}


def as_written(x: float) -> float:
    """A float32 constant as its author wrote it: 0.800000011920929 -> 0.8 (7 significant digits)."""
    return float(f"{x:.7g}")


def _node_name(inp: str) -> tuple[str, int]:
    inp = inp.lstrip("^")
    parts = inp.split(":")   # "node", "node:2", or inside a function "node:output:2"
    return parts[0], int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 0


def forget_biases_from_meta(meta_path: str) -> dict[str, float]:
    """{graph node that adds it: value} for every LSTM forget-bias constant found in a `.meta` graph."""
    from tensorflow.core.protobuf import meta_graph_pb2  # noqa: PLC0415

    from migrate._internals import make_ndarray  # noqa: PLC0415

    meta = meta_graph_pb2.MetaGraphDef()
    try:
        with open(meta_path, "rb") as f:
            meta.ParseFromString(f.read())
    except Exception as e:
        raise CheckpointError(f"{meta_path}: not a readable MetaGraphDef ({type(e).__name__}: {e}); remove it or pass "
                              f"--forget-bias.") from None
    nodes = list(meta.graph_def.node)
    for fn in meta.graph_def.library.function:
        nodes.extend(fn.node_def)
    by_name = {n.name: n for n in nodes}
    found: dict[str, float] = {}
    for n in nodes:
        if n.op in _BLOCK_OPS and "forget_bias" in n.attr:
            found[n.name] = as_written(float(n.attr["forget_bias"].f))
    splits = {n.name for n in nodes if n.op in _SPLIT_OPS and n.attr["num_split"].i == 4}
    for n in nodes:
        if n.op not in _ADD_OPS or len(n.input) < 2:
            continue
        ins = [_node_name(i) for i in n.input[:2]]
        for k, (src, idx) in enumerate(ins):
            if src in splits and idx == _F_OUTPUT:
                const = by_name.get(ins[1 - k][0])
                if const is not None and const.op == "Const":
                    value = make_ndarray(const.attr["value"].tensor)
                    if value.size == 1:
                        found[n.name] = as_written(float(value.reshape(())))
    return found


def resolve_forget_bias(*, flag: float | None, hparams: dict | None, hparams_path: str | None,
                        meta_path: str | None, needed: bool, cells: list | None = None,
                        force: bool = False) -> tuple[ForgetBias, list[str]]:
    """Decide the forget bias and say where it came from; returns (ForgetBias, warnings).

    `cells`: recognised cell groups; those read from a `.meta` graph carry their own constant
    (`CellGroup.forget_bias`), which `bind_seq2seq` folds cell by cell. A value from `--forget-bias` or hparams
    that disagrees with the graph raises, naming both, unless `force` (then it replaces every cell's).
    Raises `CheckpointError` when an LSTM is present and no source gives a value.
    """
    warnings: list[str] = []
    meta_values: dict[str, float] = {}
    per_cell = {c.scope: c.forget_bias for c in (cells or []) if c.forget_bias is not None}
    if per_cell:
        meta_values = {f"{scope}: {fb['source']}": fb["value"] for scope, fb in per_cell.items()}
    elif needed and meta_path and os.path.isfile(meta_path):
        meta_values = forget_biases_from_meta(meta_path)
    meta_unique = sorted(set(meta_values.values()))

    def _check(value: float, source: str) -> None:
        if meta_unique and meta_unique != [as_written(value)]:
            shown = ", ".join(f"{v:g} ({k})" for k, v in sorted(meta_values.items())[:4])
            if not force:
                raise CheckpointError(f"forget bias {value:g} from {source} disagrees with the .meta graph, which adds "
                                      f"{shown}. Leave {source} out to use the graph's value(s), or pass "
                                      f"--force-forget-bias to use {value:g} for every cell.")
            warnings.append(f"forget bias {value:g} from {source} forced over the .meta graph's {shown}")
            for c in cells or []:
                if c.forget_bias is not None:
                    c.forget_bias = {"value": float(value), "source": f"{source} (forced over the graph's "
                                                                      f"{c.forget_bias['value']:g})"}

    if not needed:
        return ForgetBias(None, "not needed (no LSTM cell)"), warnings
    if flag is not None:
        _check(float(flag), "--forget-bias")
        return ForgetBias(float(flag), "--forget-bias"), warnings
    if hparams is not None and "forget_bias" in hparams:
        value = float(hparams["forget_bias"])
        _check(value, f"hparams ({hparams_path})")
        return ForgetBias(value, f"hparams ({hparams_path})"), warnings
    if len(meta_unique) == 1:
        if per_cell:
            return ForgetBias(meta_unique[0], next(iter(per_cell.values()))["source"]), warnings
        first = sorted(meta_values)[0]
        return ForgetBias(meta_unique[0], f"meta graph ({meta_path}: {first})"), warnings
    if len(meta_unique) > 1 and per_cell and len(per_cell) == len([c for c in cells if c.needs_forget_bias]):
        shown = "; ".join(f"{scope} {fb['value']:g}" for scope, fb in sorted(per_cell.items()))
        common = max(meta_unique, key=lambda v: sum(fb["value"] == v for fb in per_cell.values()))
        return ForgetBias(common, f"meta graph, per cell ({shown})"), warnings
    if len(meta_unique) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(meta_values.items())[:4])
        raise CheckpointError(f"{meta_path}: the graph adds different forget biases ({shown}); pass --forget-bias "
                              f"(or convert the cells one by one with migrate.checkpoint.cell_weights).")
    where = meta_path or "no .meta file"
    raise CheckpointError("the LSTM forget bias is not stored in TF1 checkpoints and no source gave it: no "
                          f"--forget-bias, no forget_bias in hparams, no forget-gate constant in the graph ({where}). "
                          "Pass --forget-bias F with the value the TF1 code used (TF1's default is 1.0).")


def load_hparams_dict(path: str) -> dict:
    """The raw hparams.json as a dict (raises `CheckpointError` naming the file)."""
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file; expected an hparams.json.") from None
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e}).") from None
    if not isinstance(d, dict):
        raise CheckpointError(f"{path}: expected a JSON object of hparams, got {type(d).__name__}.")
    return d


def cell_forget_bias(cell, given: float | None, *, force: bool = False, given_source: str = "forget_bias=") -> ForgetBias:
    """The forget bias to fold into ONE recognised cell: its own graph constant, or the value the user gave.

    `cell.forget_bias` is what the `.meta` graph says for that cell (`recognise(..., graph=)`). A given value
    that disagrees with the graph is an error naming both, unless `force`. Raises `CheckpointError` when an
    LSTM cell has neither.
    """
    if not cell.needs_forget_bias:
        return ForgetBias(None, f"not needed ({cell.tf1_class})")
    graph = cell.forget_bias
    if given is not None:
        if graph is not None and not force and as_written(float(given)) != graph["value"]:
            raise CheckpointError(
                f"{cell.scope}: {given_source} {float(given):g} disagrees with the .meta graph, which adds "
                f"{graph['value']:g} ({graph['source']}). Leave the value out to use the graph's, or force yours with "
                f"cell_weights(..., force_forget_bias=True) / apply_mapping(..., force_forget_bias=True) if the graph "
                f"is not the model the weights were trained with.")
        return ForgetBias(float(given), given_source + (" (forced over the graph's "
                                                        f"{graph['value']:g})" if graph is not None and
                                                        as_written(float(given)) != graph["value"] else ""))
    if graph is not None:
        return ForgetBias(graph["value"], graph["source"])
    raise CheckpointError(f"{cell.scope} is a {cell.tf1_class}: pass cell_weights(..., forget_bias=F) / "
                          f"apply_mapping(..., forget_bias=F) (the value the TF1 cell added at run "
                          f"time; it is in no checkpoint variable and there is no .meta graph beside the checkpoint "
                          f"to read it from; TF1's default is 1.0).")
