"""A recognised cell step (`CellStep`) and the Keras recurrent layer it becomes.

The construct modules (`migrate.graph.constructs`) match cell steps in a graph and hand them here: `keras_weights`
converts the step's variables through the cell-layout registry (`migrate.checkpoint.cell_layouts`: gate order, the
forget bias read from THIS cell's graph constant folded into the Keras bias for the runtime decoder layers),
`emit_rnn_layer` writes one `tfm.LSTM(forget_bias=F)` / `GRU(reset_after=False)` / `SimpleRNN` line of model.py with
`return_sequences=True, return_state=True`: the subclasses of `keras.layers.LSTM` / `GRU` / `SimpleRNN` in
`tf_migrate_runtime.layers.recurrent` (the same arguments, weights and results; a faster loop on TensorFlow's CPU,
docs/performance.md). The layer adds an LSTM's forget bias at run time after the bias, as TF1 did (`forget_bias=F`,
the bias unfolded): folded, the float32 sums round differently at every step (`run_time_forget_bias`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from migrate.checkpoint.cell_layouts.cifg import cifg_to_lstm
from migrate.checkpoint.cell_layouts.gru import gru_to_keras
from migrate.checkpoint.cell_layouts.lstm import lstm_to_keras
from migrate.checkpoint.cudnn_params import tf_canonical_gru_to_keras
from migrate.graph.ir import Emitter, Source, Unsupported
from migrate.graph.matching import is_zero_state
from migrate.graph.meta import GraphView


@dataclass
class CellStep:
    family: str                 # "lstm" | "gru"
    scope: str                  # the cell's variable scope (`rnn/lstm_cell`)
    variables: dict             # role -> variable op name
    forget_bias: float
    x: object                   # the step input (stripped)
    h_prev: object
    c_prev: object | None
    new_h: object
    new_c: object | None
    input_size: int
    units: int
    tf1: str = ""               # the TF1 class name when the matcher knows it exactly
    layout: str = ""            # "cifg": W_0/B are j, f, o (cell_layouts.cifg); "cudnn_gru": CudnnCompatibleGRUCell
    #                             (`CUDNN_GRU_ROLES`, GRU(reset_after=True)); "" the family's own layout
    activation: str = "tanh"    # the cell's `activation` (a Keras activation name, `ACTIVATIONS`)
    options: dict = field(default_factory=dict)   # "tf1_lstm": use_peepholes, num_proj, cell_clip, proj_clip;
    #                                               "layer_norm_lstm": epsilon


# The TF op a cell's `activation` runs as -> the Keras activation computing the same function (tf.nn.elu's alpha is
# 1, Keras's elu default; tf.nn.relu6 is keras.activations.relu6).
ACTIVATIONS = {"Tanh": "tanh", "Relu": "relu", "Sigmoid": "sigmoid", "Elu": "elu", "Selu": "selu",
               "Softsign": "softsign", "Softplus": "softplus", "Relu6": "relu6"}
# family -> the layer class: `tfm.<name>` (tf_migrate_runtime.layers.recurrent), a subclass of `keras.layers.<name>`
KERAS_LAYERS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}
RUNTIME_FAMILIES = ("lstm", "gru")   # what the runtime decoder layers (tfm.AttentionDecoder, ...) run, tanh only
# layouts whose cells keep TF1's own weights in a runtime layer (layout -> the layer, its weights' roles in order)
RUNTIME_LAYERS = {
    "tf1_lstm": ("tfm.PeepholeLSTM", ("kernel", "bias", "w_f_diag", "w_i_diag", "w_o_diag", "projection")),
    "layer_norm_lstm": ("tfm.LayerNormLSTM", ("kernel",) + tuple(f"{n}_{w}" for n in ("input", "transform", "forget",
                                                                                      "output", "state")
                                                          for w in ("gamma", "beta"))),
}

# layout "cudnn_gru" (CudnnCompatibleGRUCell, `tfm.GRU(reset_after=True)`): CellStep role -> its variable's role in
# `cudnn_params.TF_ROLES["gru"]` (the names under the cell scope)
CUDNN_GRU_ROLES = {"gates_kernel": "gates/kernel", "gates_bias": "gates/bias",
                   "input_kernel": "candidate/input_projection/kernel", "input_bias": "candidate/input_projection/bias",
                   "hidden_kernel": "candidate/hidden_projection/kernel",
                   "hidden_bias": "candidate/hidden_projection/bias"}


def runtime_cell(step: CellStep, what: str) -> None:
    """Refuse (`Unsupported`) a cell the runtime decoder layers do not run: they take tanh LSTM / GRU cells and
    CudnnCompatibleGRUCell (`runtime_family`)."""
    if step.layout == "cudnn_gru":   # keras.layers.GRU(reset_after=True): the decoder layers' "gru_reset_after"
        return
    if step.family not in RUNTIME_FAMILIES or step.activation != "tanh" or step.layout in RUNTIME_LAYERS:
        raise Unsupported(f"{what}: the cell {step.scope} ({tf1_class(step)}, activation {step.activation}) is not "
                          f"one the runtime decoder layers run (LSTM / GRU with tanh)")


def runtime_family(step: CellStep) -> str:
    """The cell's family in the runtime decoder layers' `families`: "lstm", "gru" (GRUCell, `reset_after=False`) or
    "gru_reset_after" (CudnnCompatibleGRUCell: `keras.layers.GRU(reset_after=True)`'s weights and step)."""
    return "gru_reset_after" if step.layout == "cudnn_gru" else step.family


def basic_rnn_to_keras(kernel: np.ndarray, bias: np.ndarray, input_size: int) -> tuple:
    """BasicRNNCell's `kernel` ([input + units, units], rows x then h) and `bias` -> keras.layers.SimpleRNN's
    `[kernel, recurrent_kernel, bias]`."""
    return kernel[:input_size], kernel[input_size:], bias


def run_time_forget_bias(step: CellStep, folded=()) -> bool:
    """Whether `step`'s layer adds the forget bias at run time (`tfm.LSTM(forget_bias=F)`, TF1's order of the two
    additions, parity to 0.0 where the folded bias is 1.9e-5 off a char-RNN's softmax after 50 steps) rather than
    having it folded into its bias: an LSTM in its own layout that `emit_rnn_layer` writes as a layer (a CIFG cell's
    input gate is made from the forget gate, so its bias stays folded), unless a runtime decoder layer reads the
    same cell (`folded`: `Emitter.folded_cells`; those layers hold the folded bias, and one weight is shared)."""
    return step.family == "lstm" and not step.layout and bool(step.forget_bias) and \
        cell_variables(step) not in folded


def keras_weights(view: GraphView, step: CellStep, values: dict | None = None,
                  fold_forget_bias: bool = True) -> list[np.ndarray]:
    """The Keras layer's weights of `step` from its TF1 variables (`values`: role -> array instead of the
    checkpoint's, as `weight_sources` probes the layout); an LSTM's forget bias folded into its bias unless
    `fold_forget_bias` is False (`run_time_forget_bias`: the layer adds it)."""
    v = dict(values) if values is not None else {role: view.variable_values(name) for role, name in step.variables.items()}
    if step.layout == "cifg":
        v["kernel"], v["bias"] = cifg_to_lstm(v["kernel"], v["bias"], step.forget_bias)
    if step.layout in RUNTIME_LAYERS:   # tfm.PeepholeLSTM / LayerNormLSTM hold TF1's own weights
        return [v[role] for role in RUNTIME_LAYERS[step.layout][1] if role in v]
    if step.family == "lstm":
        return list(lstm_to_keras(v["kernel"], v["bias"], step.input_size,
                                  step.forget_bias if fold_forget_bias else 0.0))
    if step.layout == "cudnn_gru":   # CudnnCompatibleGRUCell: GRU(reset_after=True)
        return tf_canonical_gru_to_keras({role: v[key] for key, role in CUDNN_GRU_ROLES.items()}, step.input_size)
    if step.family == "simple_rnn":
        return list(basic_rnn_to_keras(v["kernel"], v["bias"], step.input_size))
    return list(gru_to_keras(v["gates_kernel"], v["gates_bias"], v["candidate_kernel"], v["candidate_bias"],
                             step.input_size))


def weight_sources(view: GraphView, step: CellStep, fold_forget_bias: bool = True) -> list[Source]:
    """Per Keras weight of `step`: the TF1 variables its elements come from, and whether they are those elements
    relaid out, each once and with nothing added: the layout run on every TF1 element numbered 1, 2, ... (then on
    zeros, for what it adds itself) and read back. A TF1 LSTM kernel is Keras' kernel + recurrent_kernel (exact);
    its bias takes the forget bias folded in (not exact); a CIFG kernel uses the f block twice (not exact)."""
    roles = sorted(step.variables)
    shapes = {r: np.shape(view.variable_values(step.variables[r])) for r in roles}
    ids, first = {}, 1
    for r in roles:
        n = int(np.prod(shapes[r]))
        ids[r] = np.arange(first, first + n, dtype=np.float64).reshape(shapes[r])
        first += n
    bounds = np.cumsum([0] + [int(np.prod(shapes[r])) for r in roles]) + 1
    try:
        zeros = keras_weights(view, step, {r: np.zeros(shapes[r], np.float64) for r in roles}, fold_forget_bias)
        probed = keras_weights(view, step, ids, fold_forget_bias)
    except (ValueError, TypeError, KeyError) as e:   # a layout that refuses float64 probes: nothing placed on it
        n = len(keras_weights(view, step, fold_forget_bias=fold_forget_bias))
        return [Source(tuple(sorted(step.variables.values())), False, f"its layout not probed ({e})")] * n
    used = np.zeros(first, np.int64)
    out = []
    for z, w in zip(zeros, probed):
        d = np.abs(np.asarray(w, np.float64) - np.asarray(z, np.float64)).reshape(-1)
        whole = d == np.round(d)
        found = np.round(d[whole & (d > 0)]).astype(np.int64)
        np.add.at(used, found, 1)
        variables = tuple(sorted({step.variables[r] for k, r in enumerate(roles)
                                  if np.any((found >= bounds[k]) & (found < bounds[k + 1]))}))
        why, offset = "", None
        if not np.all(whole) or np.any(d == 0):
            why = "elements no TF1 variable element gives"
        elif np.any(np.asarray(z) != 0):
            why = "a constant folded in (the forget bias)" if step.family == "lstm" else "a constant folded in"
            offset = np.asarray(z, np.float64)
        out.append([variables, why, found, offset])
    for item in out:   # an element used twice (CIFG's i = -(f + forget_bias)) is no relayout
        if np.any(used[item[2]] != 1):
            item[1], item[3] = "a TF1 element used in two places", None
    return [Source(v, not why, why, offset) for v, why, _, offset in out]


def cell_weights(em: Emitter, view: GraphView, step: CellStep, fold_forget_bias: bool = True) -> list[np.ndarray]:
    """`keras_weights(view, step)`, what each is made of recorded for `em.hold` (`em.relayouts`)."""
    for index, source in enumerate(weight_sources(view, step, fold_forget_bias)):
        em.relayouts[(cell_role(step, index), cell_variables(step))] = source
    return keras_weights(view, step, fold_forget_bias=fold_forget_bias)


def cell_role(step: CellStep, index: int) -> str:
    """What weight `index` of `keras_weights(step)` is, for `Emitter.hold` / `holder`: family, layout, index."""
    return f"cell:{step.family}:{step.layout}:{index}"


def cell_variables(step: CellStep) -> tuple:
    """The TF1 variables a cell's Keras weights are made from (sorted names)."""
    return tuple(sorted(step.variables.values()))


def _f32(v: float) -> str:
    """A float32 graph constant written as the shortest decimal that is the same float32 (0.8, not
    0.800000011920929): the layer computes in float32."""
    return repr(float(str(np.float32(v))))


def layer_class(step: CellStep) -> str:
    """The layer `step` becomes: `tfm.LSTM` / `GRU` / `SimpleRNN`, or `tfm.PeepholeLSTM` / `LayerNormLSTM`."""
    if step.layout in RUNTIME_LAYERS:
        return RUNTIME_LAYERS[step.layout][0]
    return f"tfm.{KERAS_LAYERS[step.family]}"


def layer_ctor(step: CellStep, name: str, run_time_fb: bool = False) -> str:
    """The Keras layer constructor of `step` (its activation written only when it is not the default tanh;
    `forget_bias` when `run_time_fb`: `run_time_forget_bias`)."""
    act = f", activation={step.activation!r}" if step.activation != "tanh" else ""
    if step.layout == "tf1_lstm":
        opts = "".join(f", {k}={_f32(v) if isinstance(v, float) else repr(v)}" for k, v in step.options.items()
                       if v is not None and k != "use_peepholes")
        return (f"tfm.PeepholeLSTM({step.units}, use_peepholes={step.options['use_peepholes']}{opts}, "
                f"forget_bias={_f32(step.forget_bias)}{act}, return_sequences=True, return_state=True, "
                f"name={name!r})")
    if step.layout == "layer_norm_lstm":
        eps = step.options.get("epsilon")
        eps = f", epsilon={_f32(eps)}" if eps is not None and np.float32(eps) != np.float32(1e-12) else ""
        return (f"tfm.LayerNormLSTM({step.units}, forget_bias={_f32(step.forget_bias)}{act}{eps}, "
                f"return_sequences=True, return_state=True, name={name!r})")
    gru = f", reset_after={step.layout == 'cudnn_gru'}" if step.family == "gru" else ""
    fb = f", forget_bias={_f32(step.forget_bias)}" if run_time_fb else ""
    return (f"tfm.{KERAS_LAYERS[step.family]}({step.units}{fb}{act}{gru}, return_sequences=True, "
            f"return_state=True, name={name!r})")


def tf1_class(step: CellStep) -> str:
    name = step.tf1 or {"lstm": "LSTMCell/BasicLSTMCell", "gru": "GRUCell", "simple_rnn": "BasicRNNCell"}[step.family]
    return name + (f"(activation={step.activation})" if step.activation != "tanh" else "")


def initial_states(view, states, inputs: list) -> list[dict]:
    """Per layer {role: tensor} of the loop's non-zero initial states; each tensor is appended to `inputs`."""
    inits = []
    for st in states:
        init = {}
        for role in ("h", "c"):
            lv = st.get(role)
            if lv is not None and not is_zero_state(view, lv.enter.inputs[0]):
                init[role] = lv.enter.inputs[0]
                inputs.append(lv.enter.inputs[0])
        inits.append(init)
    return inits


def final_state_names(states) -> list[str]:
    """The names of the loop's final states (the Exit of each state loop variable)."""
    return [lv.exit.outputs[0].name for st in states for lv in st.values() if lv is not None and lv.exit is not None]


def emit_rnn_layer(em: Emitter, view, step: CellStep, seq: str, init: dict, mask: str | None, construct: str):
    """One Keras LSTM / GRU / SimpleRNN layer for `step` run over `seq` -> (layer name, [seq, h(, c)] variables).
    A cell whose variables another loop already ran (one cell object given to both directions of a
    `bidirectional_dynamic_rnn`, or to two `dynamic_rnn`s) is that loop's layer called again: one set of weights,
    shared as in TF1."""
    registry = getattr(em, "_layers", None)
    key = ("rnn_layer", step.family, step.layout, step.activation, float(step.forget_bias), step.input_size,
           step.units, tuple(sorted(step.variables.items())), repr(sorted(step.options.items())))
    if registry is not None and key in registry:
        layer, lname = registry[key]
        em.comment(f"{tf1_class(step)} {step.scope}: the cell's variables are {lname}'s, so that layer is called "
                   f"again (one cell shared, as in TF1)")
        em.constructs[f"{construct} {tf1_class(step)} -> {layer_class(step)}"] += 1   # one loop translated
    else:
        lname = em.layer_name(step.scope)
        layer = em.new_ident(lname.replace("__", "_"))
        run_time = run_time_forget_bias(step, getattr(em, "folded_cells", ()))
        fb = f", forget bias {step.forget_bias:g} folded" if step.family == "lstm" else ""
        if step.layout in RUNTIME_LAYERS or run_time:
            fb = f", forget bias {step.forget_bias:g} added at run time"
        em.line(f"{layer} = {layer_ctor(step, lname, run_time)}", f"{tf1_class(step)} {step.scope}{fb}")
        em.weights[lname] = cell_weights(em, view, step, fold_forget_bias=not run_time)
        em.layer_classes[lname] = layer_class(step)
        for index in range(len(em.weights[lname])):
            em.hold(lname, index, cell_role(step, index), cell_variables(step))
        em.constructs[f"{construct} {tf1_class(step)} -> {layer_class(step)}"] += 1
        if registry is not None:
            registry[key] = (layer, lname)
    args = [seq]
    if mask is not None:
        args.append(f"mask={mask}")
    if init:
        if step.family == "lstm":
            h0 = em.value(init["h"]) if "h" in init else f"keras.ops.zeros_like({em.value(init['c'])})"
            c0 = em.value(init["c"]) if "c" in init else f"keras.ops.zeros_like({h0})"
            args.append(f"initial_state=[{h0}, {c0}]")
        else:
            args.append(f"initial_state=[{em.value(init['h'])}]")
    names = [em.new_ident(f"{lname}_seq"), em.new_ident(f"{lname}_h")]
    if step.family == "lstm":
        names.append(em.new_ident(f"{lname}_c"))
    em.lines.append(f"{', '.join(names)} = {layer}({', '.join(args)})")
    return lname, names
