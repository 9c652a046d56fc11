"""Generated inputs for parity: shapes from the placeholders (batch 3, unknown time steps 5), dtypes respected,
ids inside the embedding they index, lengths between 1 and the time dimension (the longest one full). Bounded
before allocation by the budgets of `migrate.parity.graph_def` (one input, one batch)."""

from __future__ import annotations

import re

import numpy as np

LENGTH_NAME = re.compile(r"len|length|seq_?len|sequence_length|lengths", re.I)
BATCH, STEPS = 3, 5


def generate(inputs: list[dict], id_range, seed: int = 0, batch: int = BATCH, steps: int = STEPS,
             like: dict | None = None) -> dict:
    """`inputs`: the report's `graph.inputs`; `id_range(graph_name) -> int | None`. Returns {graph name: array}.

    `like` (the user's `--inputs` arrays): generate arrays of the same shapes, integers within the example's
    range (so lengths and ids stay consistent with the other inputs)."""
    rng = np.random.RandomState(seed)
    if like:
        out = {}
        for i in inputs:
            ex = np.asarray(like[i["graph"]]) if i["graph"] in like else None
            if ex is None:
                continue
            if ex.dtype.kind == "f":   # the example's mean and spread (a graph may check its inputs' range)
                out[i["graph"]] = rng.normal(float(ex.mean()) if ex.size else 0.0,
                                             max(float(ex.std()) if ex.size else 1.0, 1e-3), ex.shape).astype(ex.dtype)
            elif ex.dtype.kind == "b":
                out[i["graph"]] = rng.rand(*ex.shape) > 0.5
            else:
                out[i["graph"]] = rng.randint(int(ex.min()), int(ex.max()) + 1, size=ex.shape).astype(ex.dtype)
        rest = [i for i in inputs if i["graph"] not in out]
        if not rest:
            return out
        if out:  # the inputs the example leaves out: generated as below, beside the example's (its batch kept)
            batches = {v.shape[0] for v in out.values() if np.ndim(v) > 0}
            gen = generate(rest, id_range, seed=seed + 1, batch=batches.pop() if len(batches) == 1 else batch,
                           steps=steps)
            return {**out, **gen}
    time_dim = steps
    for i in inputs:
        shp = i["shape"]
        if len(shp) >= 2 and shp[1] is not None and not LENGTH_NAME.search(i["graph"]):
            time_dim = max(time_dim, int(shp[1])) if time_dim == steps else time_dim
    feeds, total = {}, 0
    for i in inputs:
        shape = [batch if k == 0 and d is None else (time_dim if d is None else int(d)) for k, d in enumerate(i["shape"])]
        dt = np.dtype(i["dtype"])
        name = i["graph"]
        total = _within_budget(i, shape, dt, total)
        if dt.kind == "f":
            feeds[name] = rng.normal(0, 1, shape).astype(dt)
        elif dt.kind == "b":
            feeds[name] = rng.rand(*shape) > 0.5
        elif dt.kind in "iu":
            if LENGTH_NAME.search(name.rsplit("/", 1)[-1]) and len(shape) == 1:
                lengths = rng.randint(1, time_dim + 1, size=shape)
                lengths[0] = time_dim
                feeds[name] = lengths.astype(dt)
            else:
                hi = id_range(name) or 10
                feeds[name] = rng.randint(0, hi, size=shape).astype(dt)
        else:
            raise ValueError(f"{name}: no generator for dtype {dt}")
    return feeds


def _within_budget(i: dict, shape: list[int], dt: np.dtype, total: int) -> int:
    """Refuse (exit 2) an input over one input's budget, or a batch over the batch's, before allocating it."""
    from migrate.graph.convert import GraphConvertError  # noqa: PLC0415
    from migrate.parity.graph_def import MAX_FEED_BYTES, MAX_TENSOR_BYTES, human_bytes, shape_bytes  # noqa: PLC0415

    nbytes = shape_bytes(shape, dt.itemsize)
    if nbytes > MAX_TENSOR_BYTES or total + nbytes > MAX_FEED_BYTES:
        over = (f"over the {human_bytes(MAX_TENSOR_BYTES)} budget for one generated input" if nbytes > MAX_TENSOR_BYTES
                else f"the batch would take {human_bytes(total + nbytes)}, over the {human_bytes(MAX_FEED_BYTES)} "
                     f"budget for one generated batch")
        declared = "[" + ", ".join("None" if d is None else str(d) for d in i["shape"]) + "]"
        raise GraphConvertError(
            f"placeholder {i['graph']} is declared with shape {declared} ({dt}): a generated parity input {shape} "
            f"would take {human_bytes(nbytes)}; {over}. Nothing was allocated. Pass a batch of your own with "
            f"smaller arrays: --inputs FEED.npz with a key {i['graph']}, or fix its value with --feed")
    return total + nbytes
