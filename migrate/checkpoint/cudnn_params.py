"""contrib.cudnn_rnn's parameters (`CudnnLSTM`, `CudnnGRU`, `CudnnRNNTanh`, `CudnnRNNRelu`, TF 1.3 - 1.15): the
opaque buffer, cuDNN's canonical weights, TF1's canonical (`CudnnCompatible*Cell`) variables and Keras' weights.
Pure NumPy functions of arrays, each with its inverse.

**The opaque buffer** (`<scope>/opaque_kernel`, 1-D, what a `CudnnRNN` / `CudnnRNNV2` / `CudnnRNNV3` op reads) holds,
per pseudo-layer (layer 0 forward, layer 0 backward when bidirectional, layer 1 forward, ...), its matrices and then
its biases, each matrix row-major `[units, width]` (width: the input size for layer 0, `units * directions` above,
`units` for the recurrent ones). This is the order cuDNN reports the regions in (`cudnnGetRNNLinLayerMatrixParams` /
`cudnnGetRNNLinLayerBiasParams`, which TensorFlow's `CudnnRNNCanonicalToParams` / `ParamsToCanonical` kernels
copy to and from; PyTorch's `_cudnn_rnn_flatten_weight` asserts the same contiguous layout). Only the
`linear_input` mode (contrib's default) is taken: `skip_input` has no input matrices.

**cuDNN's canonical weights** per pseudo-layer (`MODES[mode]`): LSTM 8 matrices `W_i, W_f, W_c, W_o` (input)
then `R_i, R_f, R_c, R_o` (recurrent), and 8 biases in the same order; GRU 6: `W_r, W_z, W_h, R_r, R_z, R_h`
(reset, update, new memory); tanh / relu RNN 2. Equations (cuDNN's user guide):
LSTM `c = f * c' + i * tanh(W_c x + R_c h + b_Wc + b_Rc)`, `h = o * tanh(c)` (no forget bias);
GRU `h~ = tanh(W_h x + b_Wh + r * (R_h h + b_Rh))`, `h = (1 - z) * h~ + z * h'`.

**TF1's canonical variables** (what `CudnnLSTMSaveable` / `CudnnGRUSaveable` write into a checkpoint; tensorflow/
contrib/cudnn_rnn/python/ops/cudnn_rnn_ops.py r1.15): per layer
`<scope>/rnn/multi_rnn_cell/cell_<l>/cudnn_compatible_lstm_cell/{kernel,bias}` (bidirectional:
`<scope>/stack_bidirectional_rnn/cell_<l>/bidirectional_rnn/{fw,bw}/...`); LSTM `kernel = [W; R]^T` with the gates
in TF's i, j(=c), f, o order, `bias = b_W + b_R`; GRU `cudnn_compatible_gru_cell/gates/{kernel,bias}` (r, u) and
`candidate/{input,hidden}_projection/{kernel,bias}`. TF1 restores the summed biases as two halves; so does
`from_tf_canonical`.

**Keras**: `keras.layers.LSTM` `[kernel (width, 4u), recurrent_kernel (u, 4u), bias (4u)]`, gates i, f, c, o, the
bias `b_W + b_R`; `keras.layers.GRU(reset_after=True)` `[kernel (width, 3u), recurrent_kernel, bias (2, 3u)]`,
gates z, r, h, bias rows input / recurrent (exactly cuDNN's two biases); `SimpleRNN` `[kernel, recurrent, bias]`.
Keras -> buffer -> Keras is exact; buffer -> Keras -> buffer gives the same function with each LSTM / RNN bias
pair split in halves (Keras holds only their sum), as TF1's own saveable does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# rnn_mode -> (matrices per pseudo-layer, Keras layer, the cell TF1's saveable names, the cuDNN gate order)
MODES = {
    "lstm": (8, "LSTM", "cudnn_compatible_lstm_cell", ("i", "f", "c", "o")),
    "gru": (6, "GRU", "cudnn_compatible_gru_cell", ("r", "z", "h")),
    "rnn_tanh": (2, "SimpleRNN", None, ("h",)),
    "rnn_relu": (2, "SimpleRNN", None, ("h",)),
}
KERAS_GRU_GATES = ("z", "r", "h")     # keras.layers.GRU's column blocks
TF_LSTM_GATES = ("i", "c", "f", "o")  # TF1's i, j, f, o (j: the new memory)


class CudnnParamsError(ValueError):
    """A buffer or a set of canonical tensors that does not fit the declared RNN."""


@dataclass(frozen=True)
class CudnnSpec:
    mode: str            # "lstm" | "gru" | "rnn_tanh" | "rnn_relu"
    num_layers: int
    units: int
    input_size: int
    directions: int = 1  # 2: bidirectional

    @property
    def per_layer(self) -> int:
        return MODES[self.mode][0]

    def width(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.units * self.directions

    def pseudo_layers(self):
        """(layer, direction) in buffer order."""
        return [(layer, d) for layer in range(self.num_layers) for d in range(self.directions)]

    def pseudo_size(self, layer: int) -> int:
        n, u = self.per_layer, self.units
        return n // 2 * u * self.width(layer) + n // 2 * u * u + n * u

    def size(self) -> int:
        return sum(self.pseudo_size(layer) for layer, _ in self.pseudo_layers())


def num_layers_of(size: int, mode: str, units: int, input_size: int, directions: int) -> int:
    """The number of layers a buffer of `size` floats holds (the op's attributes do not say it)."""
    first = CudnnSpec(mode, 1, units, input_size, directions)
    one = first.pseudo_size(0) * directions
    if size < one:
        raise CudnnParamsError(f"a {mode} buffer of {size} floats is smaller than one layer of {units} units over "
                               f"input size {input_size} ({one})")
    upper = CudnnSpec(mode, 2, units, input_size, directions).pseudo_size(1) * directions
    rest, extra = divmod(size - one, upper)
    if extra:
        raise CudnnParamsError(f"a {mode} buffer of {size} floats is no whole number of layers of {units} units over "
                               f"input size {input_size} ({'bidirectional' if directions == 2 else 'unidirectional'}:"
                               f" {one} for the first layer, {upper} for each further one)")
    return 1 + rest


def opaque_to_canonical(buffer: np.ndarray, spec: CudnnSpec) -> list[tuple[list, list]]:
    """The buffer -> per pseudo-layer (buffer order) ([matrices [units, width]], [biases [units]])."""
    flat = np.asarray(buffer).reshape(-1)
    if flat.size != spec.size():
        raise CudnnParamsError(f"the buffer holds {flat.size} floats; {spec} needs {spec.size()}")
    out, at, n, u = [], 0, spec.per_layer, spec.units
    for layer, _ in spec.pseudo_layers():
        ws = []
        for k in range(n):
            w = spec.width(layer) if k < n // 2 else u
            ws.append(flat[at:at + u * w].reshape(u, w))
            at += u * w
        bs = []
        for _ in range(n):
            bs.append(flat[at:at + u])
            at += u
        out.append((ws, bs))
    return out


def canonical_to_opaque(params: list[tuple[list, list]], spec: CudnnSpec) -> np.ndarray:
    """Inverse of `opaque_to_canonical`."""
    parts = []
    for (layer, _), (ws, bs) in zip(spec.pseudo_layers(), params, strict=True):
        for k, w in enumerate(ws):
            want = (spec.units, spec.width(layer) if k < spec.per_layer // 2 else spec.units)
            if tuple(np.shape(w)) != want:
                raise CudnnParamsError(f"layer {layer} matrix {k}: shape {list(np.shape(w))}, expected {list(want)}")
            parts.append(np.asarray(w).reshape(-1))
        parts.extend(np.asarray(b).reshape(-1) for b in bs)
    return np.concatenate(parts)


# ------------------------------------------------------------------------------------------------ Keras
def to_keras(ws: list, bs: list, mode: str) -> list[np.ndarray]:
    """One pseudo-layer's cuDNN canonical weights -> the Keras layer's weights."""
    n = MODES[mode][0] // 2
    if mode == "gru":   # cuDNN r, z, h -> Keras z, r, h
        order = [1, 0, 2]
        kernel = np.concatenate([ws[k].T for k in order], axis=1)
        rec = np.concatenate([ws[n + k].T for k in order], axis=1)
        bias = np.stack([np.concatenate([bs[k] for k in order]), np.concatenate([bs[n + k] for k in order])])
        return [kernel, rec, bias]
    kernel = np.concatenate([w.T for w in ws[:n]], axis=1)   # LSTM: i, f, c, o in both
    rec = np.concatenate([w.T for w in ws[n:]], axis=1)
    bias = np.concatenate([bs[k] + bs[n + k] for k in range(n)])
    return [kernel, rec, bias]


def from_keras(weights: list, mode: str) -> tuple[list, list]:
    """Inverse of `to_keras` (an LSTM / RNN bias split in two halves: Keras holds only their sum)."""
    kernel, rec, bias = (np.asarray(w) for w in weights)
    n = MODES[mode][0] // 2
    ks, rs = np.split(kernel, n, axis=1), np.split(rec, n, axis=1)
    if mode == "gru":
        order = [1, 0, 2]   # Keras z, r, h -> cuDNN r, z, h (the same swap both ways)
        bi, br = np.split(bias[0], 3), np.split(bias[1], 3)
        return ([ks[k].T for k in order] + [rs[k].T for k in order], [bi[k] for k in order] + [br[k] for k in order])
    half = [b * 0.5 for b in np.split(bias, n)]
    return [k.T for k in ks] + [r.T for r in rs], half + half


# ------------------------------------------------------------------------------------------------ TF1's names
def canonical_prefix(mode: str, layer: int, direction: int, directions: int) -> str:
    """The scope-relative prefix TF1's saveable writes one pseudo-layer's variables under."""
    cell = MODES[mode][2]
    if directions == 1:
        return f"rnn/multi_rnn_cell/cell_{layer}/{cell}"
    return f"stack_bidirectional_rnn/cell_{layer}/bidirectional_rnn/{'fw' if direction == 0 else 'bw'}/{cell}"


CANONICAL_NAME = re.compile(
    r"^(?P<scope>(?:.*/)?)(?:rnn/multi_rnn_cell/cell_(?P<ul>\d+)|stack_bidirectional_rnn/cell_(?P<bl>\d+)/"
    r"bidirectional_rnn/(?P<dir>fw|bw))/cudnn_compatible_(?P<mode>lstm|gru)_cell/(?P<role>.+)$")
TF_ROLES = {"lstm": ("kernel", "bias"),
            "gru": ("gates/kernel", "gates/bias", "candidate/input_projection/kernel",
                    "candidate/hidden_projection/kernel", "candidate/input_projection/bias",
                    "candidate/hidden_projection/bias")}


def to_tf_canonical(ws: list, bs: list, mode: str) -> dict[str, np.ndarray]:
    """One pseudo-layer's cuDNN canonical weights -> TF1's canonical variables {role: array} (as the saveable
    writes them)."""
    if mode == "lstm":
        w = [np.concatenate([ws[k], ws[4 + k]], axis=1) for k in range(4)]   # i, f, c, o: [units, width + units]
        order = [0, 2, 1, 3]                                                 # -> i, c(j), f, o
        return {"kernel": np.concatenate([w[k] for k in order], axis=0).T,
                "bias": np.concatenate([bs[k] + bs[4 + k] for k in order])}
    if mode == "gru":
        gates = np.concatenate([np.concatenate([ws[0], ws[3]], axis=1), np.concatenate([ws[1], ws[4]], axis=1)])
        return {"gates/kernel": gates.T, "gates/bias": np.concatenate([bs[0] + bs[3], bs[1] + bs[4]]),
                "candidate/input_projection/kernel": ws[2].T, "candidate/hidden_projection/kernel": ws[5].T,
                "candidate/input_projection/bias": bs[2], "candidate/hidden_projection/bias": bs[5]}
    raise CudnnParamsError(f"TF1 writes no canonical variables for rnn_mode {mode!r}")


def from_tf_canonical(v: dict, mode: str, width: int) -> tuple[list, list]:
    """Inverse of `to_tf_canonical` (summed gate biases restored as two halves, as TF1's saveable does)."""
    if mode == "lstm":
        k, b = np.asarray(v["kernel"]).T, np.asarray(v["bias"])
        i, c, f, o = np.split(k, 4)
        bi, bc, bf, bo = (x * 0.5 for x in np.split(b, 4))
        gates = [i, f, c, o]
        return [g[:, :width] for g in gates] + [g[:, width:] for g in gates], [bi, bf, bc, bo] * 2
    if mode == "gru":
        r, z = np.split(np.asarray(v["gates/kernel"]).T, 2)
        br, bz = (x * 0.5 for x in np.split(np.asarray(v["gates/bias"]), 2))
        wh, rh = np.asarray(v["candidate/input_projection/kernel"]).T, np.asarray(v["candidate/hidden_projection/kernel"]).T
        return ([r[:, :width], z[:, :width], wh, r[:, width:], z[:, width:], rh],
                [br, bz, np.asarray(v["candidate/input_projection/bias"]), br, bz,
                 np.asarray(v["candidate/hidden_projection/bias"])])
    raise CudnnParamsError(f"TF1 writes no canonical variables for rnn_mode {mode!r}")


def canonical_groups(names) -> dict[tuple[str, str], dict]:
    """Checkpoint names -> {(scope, mode): {"directions", "layers", "names": {(layer, direction): {role: name}}}}
    for every set of TF1 canonical cuDNN variables found."""
    groups: dict = {}
    for name in names:
        m = CANONICAL_NAME.match(name)
        if m is None or m["role"] not in TF_ROLES[m["mode"]]:
            continue
        g = groups.setdefault((m["scope"], m["mode"]), {"directions": 1, "names": {}})
        if m["dir"] is not None:
            g["directions"] = 2
            key = (int(m["bl"]), 0 if m["dir"] == "fw" else 1)
        else:
            key = (int(m["ul"]), 0)
        g["names"].setdefault(key, {})[m["role"]] = name
    for g in groups.values():
        g["layers"] = 1 + max(layer for layer, _ in g["names"])
    return groups


def buffer_from_tf_canonical(read, group: dict, mode: str, scope: str) -> tuple[np.ndarray, CudnnSpec]:
    """The opaque buffer assembled from one `canonical_groups` entry (`read(name) -> array`)."""
    d, layers = group["directions"], group["layers"]
    want = [(layer, k) for layer in range(layers) for k in range(d)]
    missing = [f"{scope}{canonical_prefix(mode, layer, k, d)}/{role}" for layer, k in want
               for role in TF_ROLES[mode] if role not in group["names"].get((layer, k), {})]
    if missing:
        raise CudnnParamsError(f"the checkpoint lacks {', '.join(missing[:4])} of the cuDNN {mode} layers under "
                               f"{scope or '(the root scope)'}")
    first = {r: read(n) for r, n in group["names"][(0, 0)].items()}
    units = first["kernel"].shape[1] // 4 if mode == "lstm" else first["gates/kernel"].shape[1] // 2
    input_size = (first["kernel"] if mode == "lstm" else first["gates/kernel"]).shape[0] - units
    spec = CudnnSpec(mode, layers, units, input_size, d)
    params = []
    for layer, k in want:
        v = {r: read(n) for r, n in group["names"][(layer, k)].items()}
        params.append(from_tf_canonical(v, mode, spec.width(layer)))
    return canonical_to_opaque(params, spec), spec


def tf_canonical_gru_to_keras(v: dict, input_size: int) -> list[np.ndarray]:
    """One `CudnnCompatibleGRUCell`'s variables ({TF_ROLES["gru"] role: array}) -> `keras.layers.GRU(reset_after=True)`
    `[kernel, recurrent_kernel, bias]`, exactly: columns z (TF1's u), r, h; `gates/bias` (cuDNN's b_W + b_R, summed)
    in the input bias row, the recurrent row's z, r blocks 0; the candidate biases in their own rows."""
    gk, gb = np.asarray(v["gates/kernel"]), np.asarray(v["gates/bias"])
    r_k, u_k = np.split(gk, 2, axis=1)
    r_b, u_b = np.split(gb, 2)
    kernel = np.concatenate([u_k[:input_size], r_k[:input_size], np.asarray(v["candidate/input_projection/kernel"])],
                            axis=1)
    rec = np.concatenate([u_k[input_size:], r_k[input_size:], np.asarray(v["candidate/hidden_projection/kernel"])],
                         axis=1)
    zero = np.zeros_like(u_b)
    bias = np.stack([np.concatenate([u_b, r_b, np.asarray(v["candidate/input_projection/bias"])]),
                     np.concatenate([zero, zero, np.asarray(v["candidate/hidden_projection/bias"])])])
    return [kernel, rec, bias]


def keras_to_tf_canonical_gru(weights: list) -> dict[str, np.ndarray]:
    """Inverse of `tf_canonical_gru_to_keras` (the two bias rows' z, r blocks summed into `gates/bias`)."""
    return to_tf_canonical(*from_keras(weights, "gru"), "gru")


def keras_to_tf1(layers: list[list], spec: CudnnSpec, scope: str = "") -> dict[str, np.ndarray]:
    """The Keras layers' weights (one list per pseudo-layer, buffer order) -> what a TF1 checkpoint of the CudnnRNN
    layer holds: `{scope + "opaque_kernel": buffer}` plus, for LSTM / GRU, the canonical variables TF1's saveable
    writes beside it (so both a CudnnLSTM graph and a CudnnCompatibleLSTMCell graph restore it)."""
    params = [from_keras(w, spec.mode) for w in layers]
    out = {f"{scope}opaque_kernel": canonical_to_opaque(params, spec).astype(np.float32)}
    if MODES[spec.mode][2] is not None:
        for (layer, k), (ws, bs) in zip(spec.pseudo_layers(), params):
            prefix = scope + canonical_prefix(spec.mode, layer, k, spec.directions)
            for role, v in to_tf_canonical(ws, bs, spec.mode).items():
                out[f"{prefix}/{role}"] = v.astype(np.float32)
    return out


__all__ = ["CANONICAL_NAME", "MODES", "CudnnParamsError", "CudnnSpec", "buffer_from_tf_canonical",
           "canonical_groups", "canonical_prefix", "canonical_to_opaque", "from_keras", "from_tf_canonical", "keras_to_tf1",
           "keras_to_tf_canonical_gru", "num_layers_of", "opaque_to_canonical", "tf_canonical_gru_to_keras", "to_keras",
           "to_tf_canonical"]
