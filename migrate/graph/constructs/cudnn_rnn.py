"""contrib.cudnn_rnn `CudnnLSTM` / `CudnnGRU` / `CudnnRNNTanh` / `CudnnRNNRelu` (TF 1.3 - 1.15): one `CudnnRNN` /
`CudnnRNNV2` / `CudnnRNNV3` op reading an opaque parameter buffer (`<scope>/opaque_kernel`) -> one Keras layer per
layer and direction.

The buffer is split into cuDNN's canonical weights (`migrate.checkpoint.cudnn_params`: per layer and direction the
input matrices, the recurrent ones, the biases; gates i, f, c, o / r, z, h) and each pseudo-layer becomes a
`keras.layers.LSTM` (bias = input + recurrent bias), `keras.layers.GRU(reset_after=True)` (the two bias rows) or
`keras.layers.SimpleRNN`; a bidirectional layer is a forward layer and a `go_backwards=True` one whose outputs are
flipped back and concatenated after the forward ones, as cuDNN orders its units. The op's time-major input is
transposed into the batch-major layers (or the transpose that made it is looked through), `initial_state` is the
op's `input_h` / `input_c` row of that pseudo-layer (a zero state dropped), V3's `sequence_lengths` a mask with the
outputs past each length zeroed; the final states are stacked back to `[layers * directions, batch, units]`.
A checkpoint holding only the canonical variables (`cudnn_compatible_lstm_cell/kernel`, ...) gets its buffer
assembled when the graph is restored (`TF1Graph`). The op has no CPU kernel: on the TF1 side parity runs the graph
with its outputs computed by `migrate.parity.cudnn_reference` (cuDNN's equations in NumPy); the convert log says so.
"""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.cudnn_params import (
    MODES,
    CudnnParamsError,
    CudnnSpec,
    num_layers_of,
    opaque_to_canonical,
    to_keras,
)
from migrate.graph.constructs.base import Construct, add_provider
from migrate.graph.ir import Emitter, Sym, Unsupported
from migrate.graph.matching import Provider, batch_major_perm, is_zero_state
from migrate.graph.meta import GraphView, is_gradient
from migrate.parity.cudnn_reference import CUDNN_OPS

TF1_CLASSES = {"lstm": "CudnnLSTM", "gru": "CudnnGRU", "rnn_tanh": "CudnnRNNTanh", "rnn_relu": "CudnnRNNRelu"}


def _attr(op, name):
    v = op.get_attr(name)
    return v.decode() if isinstance(v, bytes) else v


class CudnnRNN(Provider):
    kind = "cudnn_rnn"

    def __init__(self, view: GraphView, op):
        self.view, self.op = view, op
        self.mode = _attr(op, "rnn_mode")
        if self.mode not in MODES:
            raise Unsupported(f"{op.name}: rnn_mode {self.mode!r}")
        input_mode = _attr(op, "input_mode")
        self.variable = view.variable_of(op.inputs[3])
        if self.variable is None:
            raise Unsupported(f"{op.name}: its parameters are not one variable")
        x, h0, c0 = op.inputs[0], op.inputs[1], op.inputs[2]
        self.time_major = op.type != "CudnnRNNV3" or bool(op.get_attr("time_major"))
        input_size, units = x.shape[-1], h0.shape[-1]
        if input_size is None or units is None:
            raise Unsupported(f"{op.name}: the input size or the number of units is not known from the graph")
        if input_mode == "skip_input" or input_mode == "auto_select" and input_size == units:
            raise Unsupported(f"{op.name}: input_mode {input_mode} (no input matrices; Keras' layers always have one)")
        d = 2 if _attr(op, "direction") == "bidirectional" else 1
        buffer = view.variable_values(self.variable)
        try:
            self.spec = CudnnSpec(self.mode, num_layers_of(buffer.size, self.mode, units, input_size, d), units,
                                  input_size, d)
            self.params = opaque_to_canonical(buffer, self.spec)
        except CudnnParamsError as e:
            raise Unsupported(f"{op.name}: {self.variable}: {e}") from None
        self.dropout = float(op.get_attr("dropout"))
        self.x_batch_major = self.time_major and batch_major_perm(view, x)
        self.x = x.op.inputs[0] if self.x_batch_major else x
        inputs = [self.x]
        self.h0 = None if is_zero_state(view, h0) else h0
        self.c0 = None if self.mode != "lstm" or is_zero_state(view, c0) else c0
        self.lengths = op.inputs[4] if op.type == "CudnnRNNV3" else None
        inputs += [t for t in (self.h0, self.c0, self.lengths) if t is not None]
        provides = [op.outputs[0].name, op.outputs[1].name] + ([op.outputs[2].name] if self.mode == "lstm" else [])
        self.scope = self.variable.rsplit("/", 1)[0] if "/" in self.variable else op.name
        super().__init__(self.scope, inputs, provides)

    def emit(self, em: Emitter, syms: list[Sym]) -> dict:
        it = iter(syms)
        x = next(it)
        h0 = next(it) if self.h0 is not None else None
        c0 = next(it) if self.c0 is not None else None
        lengths = next(it) if self.lengths is not None else None
        spec, mode = self.spec, self.mode
        keras_class = MODES[mode][1]
        tf1 = TF1_CLASSES[mode]
        em.comment(f"contrib.cudnn_rnn {tf1} {self.scope} ({self.op.type} op): {spec.num_layers} layer(s) of "
                   f"{spec.units} units, {'bidirectional' if spec.directions == 2 else 'unidirectional'}; the opaque "
                   f"buffer {self.variable} split into cuDNN's canonical weights"
                   + (f"; dropout {self.dropout:g} between layers is training only" if self.dropout else ""))
        seq = em.value(x)
        if self.time_major and not self.x_batch_major:
            seq = em.emit(f"keras.ops.transpose({seq}, (1, 0, 2))", "time_major_to_batch")[0].var
        mask = None
        if lengths is not None:
            mname = em.layer_name(self.scope + "/sequence_mask")
            mask = em.emit(f"tfm.SequenceMask(name={mname!r})({em.value(lengths)}, {seq})", "mask",
                           comment="sequence_lengths -> mask")[0].var
        hs, cs = [], []
        act = ", activation='relu'" if mode == "rnn_relu" else ""
        gru = ", reset_after=True" if mode == "gru" else ""
        for (layer, k), (ws, bs) in zip(spec.pseudo_layers(), self.params):
            p = layer * spec.directions + k
            where = f"{self.scope}/cell_{layer}" + (("/fw", "/bw")[k] if spec.directions == 2 else "")
            lname = em.layer_name(where)
            ident = em.new_ident(lname.replace("__", "_"))
            back = ", go_backwards=True" if k == 1 else ""
            em.line(f"{ident} = keras.layers.{keras_class}({spec.units}{act}{gru}{back}, return_sequences=True, "
                    f"return_state=True, name={lname!r})",
                    f"{tf1} layer {layer}" + (" backward" if k else (" forward" if spec.directions == 2 else "")))
            em.weights[lname] = [w.astype(np.float32) for w in to_keras(ws, bs, mode)]
            em.constructs[f"cudnn_rnn {tf1} -> keras.layers.{keras_class}"] += 1
            args = [seq]
            if mask is not None:
                args.append(f"mask={mask}")
            if h0 is not None or c0 is not None:
                hv = f"{em.value(h0)}[{p}]" if h0 is not None else None
                cv = f"{em.value(c0)}[{p}]" if c0 is not None else None
                if mode == "lstm":
                    hv = hv or f"keras.ops.zeros_like({cv})"
                    cv = cv or f"keras.ops.zeros_like({hv})"
                    args.append(f"initial_state=[{hv}, {cv}]")
                else:
                    args.append(f"initial_state=[{hv}]")
            names = [em.new_ident(f"{lname}_seq"), em.new_ident(f"{lname}_h")]
            if mode == "lstm":
                names.append(em.new_ident(f"{lname}_c"))
            em.lines.append(f"{', '.join(names)} = {ident}({', '.join(args)})")
            if k == 1:
                names[0] = em.emit(f"keras.ops.flip({names[0]}, axis=1)", f"{lname}_seq_forward_order",
                                   comment="go_backwards gives the steps last to first")[0].var
            hs.append(names[1])
            if mode == "lstm":
                cs.append(names[2])
            if k == 0:
                forward = names[0]
            if k == spec.directions - 1:   # the layer's sequence, what the layer above reads
                seq = names[0] if spec.directions == 1 else em.emit(
                    f"keras.ops.concatenate([{forward}, {names[0]}], axis=-1)", f"{self.scope}_layer_{layer}",
                    comment="forward units, then backward")[0].var
        if mask is not None:
            zname = em.layer_name(self.scope + "/zero_past_length")
            seq = em.emit(f"tfm.ZeroPastLength(name={zname!r})({seq}, {mask})", "outputs",
                          comment="cuDNN writes zeros past each length")[0].var
        op = self.op
        out = {}
        final_seq = seq
        if self.time_major:
            out[op.outputs[0].name] = Sym(lazy=lambda: em.emit(f"keras.ops.transpose({final_seq}, (1, 0, 2))",
                                                               "outputs_time_major")[0].var, dtype="float32")
        else:
            out[op.outputs[0].name] = Sym(var=seq, dtype="float32")
        out[op.outputs[1].name] = Sym(lazy=lambda: em.emit(f"keras.ops.stack([{', '.join(hs)}], axis=0)",
                                                           "output_h")[0].var, dtype="float32")
        if mode == "lstm":
            out[op.outputs[2].name] = Sym(lazy=lambda: em.emit(f"keras.ops.stack([{', '.join(cs)}], axis=0)",
                                                               "output_c")[0].var, dtype="float32")
        em.lines.append("")
        return out


def recognise(view: GraphView, outputs, registry) -> dict:
    """Every `CudnnRNN*` op reading one parameter variable -> a `CudnnRNN` provider."""
    providers = {}
    for op in view.graph.get_operations():
        if op.type in CUDNN_OPS and not is_gradient(op.name):
            add_provider(providers, lambda op=op: CudnnRNN(view, op))
    return providers


CONSTRUCT = Construct(
    "cudnn_rnn", recognise,
    "contrib.cudnn_rnn `CudnnLSTM` / `CudnnGRU` / `CudnnRNNTanh` / `CudnnRNNRelu` (a `CudnnRNN` / `V2` / `V3` op "
    "over the opaque `opaque_kernel` buffer, or a checkpoint of the canonical `cudnn_compatible_*_cell` variables; "
    "any number of layers, bidirectional, `initial_state`, V3's `sequence_lengths` and `time_major`; "
    "`linear_input` mode)",
    "per layer and direction `keras.layers.LSTM` (bias = input + recurrent bias) / `GRU(reset_after=True)` (the two "
    "bias rows) / `SimpleRNN`, the backward one `go_backwards=True` flipped back; parity on CPU against a NumPy "
    "reference of cuDNN's equations (`migrate/parity/cudnn_reference.py`)")
