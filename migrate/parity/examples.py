"""Estimator-style PREDICT exports whose signature takes serialized `tf.Example` protos
(`build_parsing_serving_input_receiver_fn`: a string placeholder `input_example_tensor` -> `ParseExample` /
`ParseExampleV2`): the parse spec read from the graph as data, and examples serialized from feature values.

The converted Keras model takes the parsed features (one input per dense feature, named after its key, with the
parse spec's dtype and shape); the spec goes to the report's `source.signature.parse_example` (docs/outputs.md), so
an export can put the parse back in front of the Keras model; parity feeds the TF1 graph serialized examples
(`serialize`) and the Keras model the parsed tensors.

`parse_spec(graph_def, signature) -> dict | None`, `serialize(spec, features) -> np.ndarray of bytes`,
`example_feed(graph, tensors, spec, cut, seed)` (generated features), `reference_feed(spec, cut, values, omitted)`
(the same, serialized, for the TF1 side). `convert` and `parity --tf1` (`graph_pair`) both use them.
"""

from __future__ import annotations

import numpy as np

PARSE_OPS = ("ParseExample", "ParseExampleV2")
_PASS = ("Identity", "Reshape", "Snapshot")
_LIST = {"float32": "float_list", "int64": "int64_list", "string": "bytes_list"}


def parse_spec(graph_def, signature: dict) -> dict | None:
    """`{"input": KEY, "tensor", "op", "node", "features": {FEATURE: {"kind": "dense", "dtype", "shape",
    "default", "tensor"} | {"kind": "sparse" | "ragged", "dtype"}}}` when a signature input feeds a ParseExample op,
    else None. `dtype`: float32 / int64 / string; `shape`: the feature's shape without the batch axis; `default`:
    the value a missing feature takes (nested lists), None when the feature is required."""
    from tensorflow import dtypes  # noqa: PLC0415  (the public tf.dtypes)

    nodes = {n.name: n for n in graph_def.node}
    inputs = {v["tensor"]: k for k, v in signature.get("inputs", {}).items()}
    for n in graph_def.node:
        if n.op not in PARSE_OPS or not n.input:
            continue
        key = _signature_key(n.input[0], nodes, inputs)
        if key is None:
            continue

        def name(t):
            return dtypes.as_dtype(t).name

        tdense = list(n.attr["Tdense"].list.type)
        shapes = [[d.size for d in s.dim] for s in n.attr["dense_shapes"].list.shape]
        if n.op == "ParseExampleV2":
            num_sparse = n.attr["num_sparse"].i
            sparse_keys = _strings(nodes, n.input[2])
            dense_keys = _strings(nodes, n.input[3])
            ragged_keys = _strings(nodes, n.input[4])
            defaults = list(n.input[5:5 + len(tdense)])
            ragged_types = list(n.attr["ragged_value_types"].list.type)
        else:
            num_sparse = n.attr["Nsparse"].i
            sparse_keys = [(_strings(nodes, x) or [""])[0] for x in n.input[2:2 + num_sparse]]
            dense_keys = [(_strings(nodes, x) or [""])[0]
                          for x in n.input[2 + num_sparse:2 + num_sparse + len(tdense)]]
            defaults = list(n.input[2 + num_sparse + len(tdense):2 + num_sparse + 2 * len(tdense)])
            ragged_keys, ragged_types = [], []
        features = {}
        for k, (feat, t, shape, default) in enumerate(zip(dense_keys, tdense, shapes, defaults)):
            value = _const(nodes, default)
            features[feat] = {"kind": "dense", "dtype": name(t), "shape": shape,
                              "default": None if value is None or value.size == 0 else
                              _plain(value.reshape(shape) if value.size == int(np.prod(shape)) else value),
                              "tensor": f"{n.name}:{3 * num_sparse + k}"}
        for feat, t in zip(sparse_keys, n.attr["sparse_types"].list.type):
            features[feat] = {"kind": "sparse", "dtype": name(t)}
        for feat, t in zip(ragged_keys, ragged_types):
            features[feat] = {"kind": "ragged", "dtype": name(t)}
        return {"input": key, "tensor": signature["inputs"][key]["tensor"], "op": n.op, "node": n.name,
                "features": dict(sorted(features.items()))}
    return None


def _signature_key(inp: str, nodes: dict, inputs: dict) -> str | None:
    name = inp.split(":")[0] if inp.endswith(":0") or ":" not in inp else None
    for _ in range(4):
        if name is None:
            return None
        if name + ":0" in inputs:
            return inputs[name + ":0"]
        n = nodes.get(name)
        if n is None or n.op not in _PASS or not n.input:
            return None
        name = n.input[0].split(":")[0]
    return None


def _const(nodes: dict, inp: str):
    import tensorflow as tf  # noqa: PLC0415

    name = inp.split(":")[0]
    for _ in range(4):
        n = nodes.get(name)
        if n is None:
            return None
        if n.op == "Const":
            return tf.make_ndarray(n.attr["value"].tensor)
        if n.op not in _PASS or not n.input:
            return None
        name = n.input[0].split(":")[0]
    return None


def _strings(nodes: dict, inp: str) -> list[str]:
    value = _const(nodes, inp)
    if value is None:
        return []
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in np.asarray(value).reshape(-1)]


def _plain(a: np.ndarray):
    a = np.asarray(a)
    if a.dtype.kind in "OSU":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in a.reshape(-1)] \
            if a.ndim else (a.item().decode("utf-8", "replace") if isinstance(a.item(), bytes) else str(a.item()))
    return a.tolist()


def serialize(spec: dict, features: dict[str, np.ndarray], omit: dict[str, set[int]] | None = None) -> np.ndarray:
    """One serialized `tf.Example` per row of the dense `features` ({feature key: array [batch, *shape]});
    `omit`: {feature key: rows} left out of their example (the parse fills in the feature's default)."""
    from tensorflow.core.example import example_pb2  # noqa: PLC0415

    batch = len(next(iter(features.values()))) if features else 0
    out = []
    for row in range(batch):
        ex = example_pb2.Example()
        for key, values in features.items():
            if row in (omit or {}).get(key, ()):
                continue
            kind = _LIST[spec["features"][key]["dtype"]]
            flat = np.asarray(values[row]).reshape(-1)
            if kind == "bytes_list":
                flat = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat]
            getattr(ex.features.feature[key], kind).value.extend(flat)
        out.append(ex.SerializeToString())
    return np.array(out, dtype=object)


def example_feed(graph, tensors: list[str], spec: dict, cut: dict[str, str], seed: int, batch: int = 3):
    """(Feed, {feature key: rows left out}): each parsed dense feature in `tensors` (`cut`: tensor -> feature key)
    drawn by its parse spec's dtype and shape, `batch` rows: floats N(0, 1), int64 ids within the embedding they
    index (else [0, 10)), strings w0 .. w9; a feature with a default is left out of the first example, and its
    parsed value there is the default (what the parse fills in)."""
    from migrate.parity.graph_inputs import Feed  # noqa: PLC0415

    rng = np.random.RandomState(seed)
    feed = Feed(generated=True)
    omitted: dict[str, set[int]] = {}
    for t in tensors:
        key = cut[t]
        f = spec["features"][key]
        shape = (batch, *f["shape"])
        if f["dtype"] == "float32":
            v = rng.standard_normal(shape).astype("float32")
        elif f["dtype"] == "int64":
            try:
                high = graph.id_range(t) or 10
            except Exception:  # noqa: BLE001 - a hint only
                high = 10
            v = rng.randint(0, high, shape).astype("int64")
        else:
            v = np.array([f"w{k}".encode() for k in rng.randint(0, 10, int(np.prod(shape)))],
                         dtype=object).reshape(shape)
        if f["default"] is not None and batch > 1:
            default = np.asarray(f["default"], dtype=object if v.dtype == object else v.dtype)
            if v.dtype == object:
                default = np.vectorize(lambda x: x.encode() if isinstance(x, str) else x, otypes=[object])(default)
            v[0] = np.broadcast_to(default, f["shape"])
            omitted[key] = {0}
        feed.values[t] = v
        feed.note(f"{key}: parsed feature {f['dtype']} {list(f['shape'])}, drawn for {batch} serialized tf.Example "
                  f"protos" + (" (left out of the first one: its default)" if key in omitted else ""),
                  from_graph=True)
    return feed, omitted


def reference_feed(spec: dict, cut: dict[str, str], values: dict, omitted: dict[str, set[int]] | None) -> dict:
    """The TF1 side's feed: `values` with the parsed features replaced by the serialized examples holding them."""
    out = {k: v for k, v in values.items() if k not in cut}
    features = {cut[k]: v for k, v in values.items() if k in cut}
    if features:
        out[spec["tensor"]] = serialize(spec, features, omitted)
    return out
