"""Weights a layer shares with another layer of its model, named as data (issue 22).

A TF1 seq2seq model reads one embedding variable in its training path (`embedding_lookup` of the decoder inputs)
and in its inference loop (`GreedyEmbeddingHelper` feeding each argmax back through it), and one `output_layer` and
one set of cells in both. The converted model keeps that: the training path's `keras.layers.Embedding`, `Dense`
and `tfm.LSTM` / `GRU` hold the variables, and the decoder layer names the weights it reads from them:

    embedding = keras.layers.Embedding(11, 6, name="embedding")
    ...
    tfm.GreedyDecoder(["gru"], [5], ..., shared_weights={"embedding": ["embedding", 0],
                                                         "output_kernel": ["decoder__output_projection", 0]})

`shared_weights`: the decoder's weight name -> [the holding layer's name, the index in its `weights`]. The decoder
creates no variable for those; `tfm.Model` (and `bind_shared_weights` for another `keras.Model`) binds them to the
holder's variables once the model's layers are built, at construction and at every load of `model.keras`. So the
model holds each TF1 variable once (`model.weights`, `model.weights.h5`, `model.keras`), `fit` trains the one copy
both paths read, and the names are data: no layer object is passed in `model.py`.
"""

from __future__ import annotations

_OWN = "_tfm_own_weights"       # the layer's own variables by name (created once)
_BOUND = "_tfm_bound_weights"   # the shared variables by the layer's weight name, once bound


def shared_map(shared_weights) -> dict:
    """A layer's `shared_weights` argument (from `model.py` or a `.keras` config) as {weight name: [layer name,
    index]}, names str and indexes int; None or empty: {}."""
    return {str(k): [str(v[0]), int(v[1])] for k, v in (shared_weights or {}).items()}


def slot_weight(layer, name: str, shape):
    """The layer's weight `name` of `shape`: the holder's variable when it is shared (None until bound), else the
    layer's own, created on first use. Kept past Keras' attribute tracking (the layer's callers store it with
    `object.__setattr__`): a shared variable is never the layer's own, so it is saved once, by its holder."""
    shares = getattr(layer, "shared_weights", None) or {}
    if name in shares:
        var = layer.__dict__.get(_BOUND, {}).get(name)
        if var is not None and tuple(var.shape) != tuple(shape):
            holder, index = shares[name]
            raise ValueError(f"{layer.name}: weight {name!r} is shared with weight {index} of layer {holder!r}, "
                             f"shaped {tuple(var.shape)}; the layer needs {tuple(shape)}. The model's "
                             f"shared_weights name the wrong weight.")
        return var
    own = layer.__dict__.get(_OWN)
    if own is None:
        own = {}
        object.__setattr__(layer, _OWN, own)
    if name not in own:
        own[name] = layer.add_weight(shape=shape, name=name)
    return own[name]


def check_bound(layer) -> None:
    """A clear error when a layer with shared weights runs before they were bound."""
    shares = getattr(layer, "shared_weights", None) or {}
    missing = sorted(n for n in shares if n not in layer.__dict__.get(_BOUND, {}))
    if missing:
        raise ValueError(f"{layer.name}: its weights {missing} are those of other layers of its model "
                         f"({sorted({shares[n][0] for n in missing})}), bound when the model is made: build it with "
                         f"tf_migrate_runtime.layers.Model, or call tf_migrate_runtime.layers.bind_shared_weights"
                         f"(model) on a keras.Model, before calling the layer.")


def bind_shared_weights(model) -> None:
    """Bind every layer's `shared_weights` of `model` to the variables of the layers they name (by layer name and
    weight index); a layer name or index the model does not have: ValueError naming them."""
    layers = list(model.layers)
    by_name = {layer.name: layer for layer in layers}
    for layer in layers:
        shares = getattr(layer, "shared_weights", None)
        if not shares:
            continue
        bound = {}
        for slot, (holder_name, index) in shares.items():
            holder = by_name.get(holder_name)
            if holder is None or not 0 <= int(index) < len(holder.weights):
                raise ValueError(f"{model.name}: layer {layer.name} shares its weight {slot!r} with weight {index} "
                                 f"of layer {holder_name!r}, which the model "
                                 + ("does not have" if holder is None else f"has {len(holder.weights)} weights of")
                                 + "; the model's source and its layers disagree.")
            bound[slot] = holder.weights[int(index)]
        object.__setattr__(layer, _BOUND, bound)
        layer.bind_shared()
