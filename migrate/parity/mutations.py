"""Known migration mistakes, injected on purpose, to prove a parity check fails on each (and says so).

Each `Mutation` changes a correctly converted port (a `ParityPair`) the way a buggy converter or port
would have left it, and names the words a failure message must contain to point at it. The parity
suite (parity_tests/test_mutations.py) asserts that the harness fails on every one of them; users can
run the same table against their own harness setup.

| mutation               | what is wrong                                                     | applies to        |
|------------------------|-------------------------------------------------------------------|-------------------|
| no_forget_bias_fold    | the Keras LSTM bias lacks +forget_bias on the f slice              | lstm, basic_lstm  |
| no_gate_reorder        | LSTM columns kept in TF1 order i,j,f,o (Keras expects i,f,c,o)     | lstm, basic_lstm  |
| gru_gates_not_reordered| GRU columns r,u kept (Keras expects z,r,h with z = TF1's u)        | gru               |
| gru_reset_after        | the port's GRU has Keras's default reset_after=True                | gru               |
| rows_split_wrong       | cell kernel rows split [h; x] instead of [x; h]                    | every cell        |
| fw_bw_swapped          | forward and backward encoder weights exchanged                     | encoder bi        |
| attention_scale_dropped| attention_g left at 1.0 (the Luong scale / Bahdanau g not carried) | scaled_luong,     |
|                        |                                                                    | normalized_bahdanau |
| adam_epsilon_default   | the port's Adam keeps Keras's epsilon 1e-7 (TF1's is 1e-8)         | every model       |
| adam_beta2             | the port's Adam uses beta_2 0.99 (TF1's is 0.999)                  | every model       |
| adam_no_clipping       | the port's Adam has no global_clipnorm (TF1 clips by global norm)  | every model       |
| adam_learning_rate_default | the port's Adam keeps Keras's learning_rate 0.001              | every model       |
| padding_in_loss        | the port's loss averages over padded positions too                 | every model       |
| padded_positions_compared | logits compared at padded steps of a port that repeats its last | every model       |
|                        | output there (Keras RNN's default, zero_output_for_mask=False)     |                   |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Mutation:
    """One injected mistake.

    Attributes:
        name: identifier (pytest id).
        description: the mistake in words.
        applies: `applies(hparams) -> bool`.
        pointer: words the failure message must contain (case-insensitive) to point at the mistake.
    """

    name: str
    description: str
    applies: Callable[[Any], bool]
    pointer: str


def _cells(pair) -> list:
    return [b for b in pair.bindings if b.cell_layout is not None]     # every registered cell layout


def _assign(binding, arrays) -> None:
    for w, v in zip(binding.keras_weights, arrays):
        w.assign(np.asarray(v, np.float32))


def _correct(pair, binding) -> list[np.ndarray]:
    return binding.to_keras([pair.values[n] for n in binding.tf1_names])


def no_forget_bias_fold(pair) -> None:
    for b in _cells(pair):
        lay = b.cell_layout
        if lay.folds_forget_bias:
            k, rk, bias = _correct(pair, b)
            order = lay.keras_gate_order()
            units = bias.shape[-1] // len(order)
            f = order.index(lay.tf1_gates.index("f"))        # the Keras block holding TF1's f (LSTM: 1)
            bias = bias.copy()
            bias[f * units:(f + 1) * units] -= b.forget_bias
            _assign(b, [k, rk, bias])


def gates_left_in_tf1_order(pair, family: str) -> None:
    """Cells of `family` get Keras weights whose gate blocks keep TF1's order: the layout's gate permutation
    (`CellLayout.keras_gate_order`, read off its own `to_keras`) skipped, everything else (the folded forget
    bias included) as the converter does it."""
    for b in _cells(pair):
        lay = b.cell_layout
        if lay.family != family:
            continue
        order = lay.keras_gate_order()           # per Keras block: the TF1 gate block it holds (None: candidate)
        _assign(b, [_tf1_gate_order(w, order) for w in _correct(pair, b)])


def _tf1_gate_order(a: np.ndarray, order: tuple[int | None, ...]) -> np.ndarray:
    """Keras column blocks put back in TF1's gate order (non-gate blocks, such as GRU's candidate, stay)."""
    slots = [p for p, t in enumerate(order) if t is not None]
    blocks = np.split(a, len(order), axis=-1)
    out = list(blocks)
    for p in slots:                              # TF1 block order[p] goes to the slot TF1's order gives it
        out[slots[order[p]]] = blocks[p]
    return np.concatenate(out, axis=-1)


def no_gate_reorder(pair) -> None:
    gates_left_in_tf1_order(pair, "lstm")


def gru_gates_not_reordered(pair) -> None:
    gates_left_in_tf1_order(pair, "gru")


def rows_split_wrong(pair) -> None:
    for b in _cells(pair):
        k, rk, bias = _correct(pair, b)
        rows = np.concatenate([k, rk])
        h = rk.shape[0]
        _assign(b, [rows[h:], rows[:h], bias])


def fw_bw_swapped(pair) -> None:
    cells = {b.tf1_names[0]: b for b in _cells(pair)}
    for name, b in cells.items():
        if "/fw/" in name:
            other = cells[name.replace("/fw/", "/bw/")]
            _assign(b, _correct(pair, other))
            _assign(other, _correct(pair, b))


def attention_scale_dropped(pair) -> None:
    for b in pair.bindings:
        if b.tf1_names[0].endswith("attention_g"):
            _assign(b, [np.ones(tuple(b.keras_weights[0].shape), np.float32)])


def gru_reset_after_port(hparams) -> Any:
    """A `tf2.Seq2Seq` whose GRU cells use Keras's default `reset_after=True` (built from tf2's cell table)."""
    import keras  # noqa: PLC0415

    from tf2 import cells  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

    saved = cells.CELL_TYPES["gru"]
    cells.CELL_TYPES["gru"] = (keras.layers.GRUCell, {})  # the mistake: Keras's defaults
    try:
        return Seq2Seq(hparams.replace(dropout=0.0))
    finally:
        cells.CELL_TYPES["gru"] = saved


def load_reset_after_weights(pair) -> None:
    """Weights for a reset_after=True port: kernels as converted, bias [input_bias = TF1's, recurrent 0]."""
    for b in pair.bindings:
        if b.cell_layout is not None and b.cell_layout.family == "gru":   # Keras GRU(reset_after=True)'s bias
            k, rk, bias = b.to_keras([pair.values[n] for n in b.tf1_names])
            _assign(b, [k, rk, np.stack([bias, np.zeros_like(bias)])])
        else:
            _assign(b, b.to_keras([pair.values[n] for n in b.tf1_names]))


def adam_epsilon_default(hparams) -> Any:
    """The port's optimizer with Keras's default epsilon (1e-7) instead of TF1's 1e-8."""
    import keras  # noqa: PLC0415

    return keras.optimizers.Adam(learning_rate=hparams.learning_rate, beta_1=0.9, beta_2=0.999,
                                 global_clipnorm=hparams.max_gradient_norm)


def adam_beta2(hparams) -> Any:
    """The port's optimizer with beta_2 0.99 instead of TF1's 0.999."""
    import keras  # noqa: PLC0415

    return keras.optimizers.Adam(learning_rate=hparams.learning_rate, beta_1=0.9, beta_2=0.99, epsilon=1e-8,
                                 global_clipnorm=hparams.max_gradient_norm)


def adam_no_clipping(hparams) -> Any:
    """The port's optimizer without gradient clipping (TF1's train_op clips by global norm)."""
    import keras  # noqa: PLC0415

    return keras.optimizers.Adam(learning_rate=hparams.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def adam_learning_rate_default(hparams) -> Any:
    """The port's optimizer with Keras's default learning_rate 0.001 instead of hparams' (0.001 itself: 0.002)."""
    import keras  # noqa: PLC0415

    lr = 0.002 if hparams.learning_rate == 0.001 else 0.001
    return keras.optimizers.Adam(learning_rate=lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                                 global_clipnorm=hparams.max_gradient_norm)


# name -> optimizer_fn(hparams) of a port with that optimizer mistake (`ParityPair.run(optimizer_fn=...)`).
OPTIMIZER_MUTATIONS: dict[str, Callable[[Any], Any]] = {
    "adam_epsilon_default": adam_epsilon_default,
    "adam_beta2": adam_beta2,
    "adam_no_clipping": adam_no_clipping,
    "adam_learning_rate_default": adam_learning_rate_default,
}


def padding_in_loss(model, batch):
    """A port loss that averages cross-entropy over every position, padding included."""
    import keras  # noqa: PLC0415

    logits = model({"encoder_ids": batch.encoder_ids, "decoder_ids": batch.decoder_input_ids}, training=False)
    xent = keras.losses.sparse_categorical_crossentropy(batch.decoder_target_ids, logits, from_logits=True)
    return keras.ops.mean(xent)


def repeat_last_output_at_padding(model) -> Any:
    """Wrap a port so its logits at padded decoder steps repeat the last valid step's (Keras RNN default)."""
    import keras  # noqa: PLC0415
    from keras import ops  # noqa: PLC0415

    class RepeatLast(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.hparams = inner.hparams

        def call(self, inputs, training=False):
            logits = self.inner(inputs, training=training)
            valid = ops.not_equal(inputs["decoder_ids"], 0)
            last = ops.maximum(ops.sum(ops.cast(valid, "int32"), axis=1) - 1, 0)
            last_logits = ops.take_along_axis(logits, ops.reshape(last, (-1, 1, 1)), axis=1)
            return ops.where(ops.expand_dims(valid, -1), logits, last_logits)

        def greedy_decode(self, encoder_ids, max_steps=None):
            return self.inner.greedy_decode(encoder_ids, max_steps)

    return RepeatLast(model)


def _lstm(hp) -> bool:
    return hp.cell_type in ("lstm", "basic_lstm")


# The table the mutation suite runs: name -> (Mutation, how to inject). Pointers are what the failure
# message must say; see `migrate.parity.diagnose.DETECTORS` and the harness's loss / padding hints.
MUTATIONS: dict[str, Mutation] = {
    m.name: m for m in (
        Mutation("no_forget_bias_fold", "forget bias not folded into the Keras LSTM bias", _lstm,
                 "forget bias not folded"),
        Mutation("no_gate_reorder", "LSTM gate columns left in TF1 order i,j,f,o", _lstm, "LSTM gates not reordered"),
        Mutation("gru_gates_not_reordered", "GRU gate columns left in TF1 order r,u", lambda hp: hp.cell_type == "gru",
                 "GRU gates not reordered"),
        Mutation("gru_reset_after", "port GRU with reset_after=True (Keras's default)",
                 lambda hp: hp.cell_type == "gru", "reset_after=True"),
        Mutation("rows_split_wrong", "kernel rows split at the wrong place ([h; x])", lambda hp: True,
                 "kernel rows split at the wrong place"),
        Mutation("fw_bw_swapped", "forward and backward encoder weights swapped", lambda hp: hp.encoder_type == "bi",
                 "fw/bw swapped"),
        Mutation("attention_scale_dropped", "attention_g not carried (left at 1.0)",
                 lambda hp: hp.attention in ("scaled_luong", "normalized_bahdanau"), "attention scale dropped"),
        Mutation("adam_epsilon_default", "the port's Adam keeps Keras's default epsilon 1e-7", lambda hp: True,
                 "epsilon"),
        Mutation("adam_beta2", "the port's Adam uses beta_2 0.99", lambda hp: True, "beta2 0.999"),
        Mutation("adam_no_clipping", "the port's Adam does not clip gradients", lambda hp: True,
                 "gradient clipping"),
        Mutation("adam_learning_rate_default", "the port's Adam keeps Keras's default learning rate 0.001",
                 lambda hp: True, "learning rate"),
        Mutation("padding_in_loss", "the port's loss averages over padded positions too", lambda hp: True,
                 "padded positions counted in the loss"),
        Mutation("padded_positions_compared", "logits compared at padded steps (port repeats its last output)",
                 lambda hp: True, "padded positions compared"),
    )
}

# name -> function(pair) that mutates the port's weights in place (the structural ones are handled by
# the suite: gru_reset_after builds another port, the padding ones change the loss / the comparison).
WEIGHT_MUTATIONS: dict[str, Callable[[Any], None]] = {
    "no_forget_bias_fold": no_forget_bias_fold,
    "no_gate_reorder": no_gate_reorder,
    "gru_gates_not_reordered": gru_gates_not_reordered,
    "rows_split_wrong": rows_split_wrong,
    "fw_bw_swapped": fw_bw_swapped,
    "attention_scale_dropped": attention_scale_dropped,
}
