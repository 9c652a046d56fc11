"""The hyper-parameters of the Seq2Seq, written as `hparams.json` beside every checkpoint.

`legacy_tf1` builds its graph from this object and `tf2` builds its Keras model from the same
JSON, so the file is the contract between the two. Fields, with their meaning:

| field                | values                                      | meaning                                      |
|----------------------|---------------------------------------------|----------------------------------------------|
| src_vocab_size       | int > 4                                     | source vocabulary incl. the 4 reserved ids   |
| tgt_vocab_size       | int > 4                                     | target vocabulary incl. the 4 reserved ids   |
| embedding_size       | int                                         | both embeddings                              |
| share_embeddings     | bool                                        | one matrix for source and target             |
| num_units            | int                                         | units of every encoder cell (per direction)  |
| cell_type            | lstm, basic_lstm, gru                       | LSTMCell, BasicLSTMCell, GRUCell             |
| num_layers           | int >= 1                                    | stacked cells (MultiRNNCell when >= 2)       |
| encoder_type         | uni, bi                                     | dynamic_rnn or bidirectional_dynamic_rnn     |
| attention            | none, luong, scaled_luong, bahdanau,        | contrib.seq2seq attention mechanism          |
|                      | normalized_bahdanau                         |                                              |
| attention_layer_size | int or null                                 | AttentionWrapper's attention_layer_size      |
| output_attention     | bool                                        | AttentionWrapper's output_attention          |
| forget_bias          | float                                       | LSTM forget bias, added at run time          |
| dropout              | 0 <= float < 1                              | DropoutWrapper input dropout, training only  |
| max_src_len          | int                                         | sources are truncated to this                |
| max_tgt_len          | int                                         | targets truncated; decoding runs <= +1 steps |
| projection           | dense, slim                                 | `tf.layers.dense` or slim `fully_connected`  |
| learning_rate        | float                                       | Adam                                         |
| max_gradient_norm    | float                                       | clip_by_global_norm                          |
| batch_size           | int                                         | training batch                               |
| seed                 | int                                         | graph seed, data order                       |

Derived: the decoder has `decoder_units = num_units * (2 if bi else 1)` per layer and starts from
the encoder's final state, with the forward and backward states concatenated per layer when the
encoder is bidirectional. The attention mechanism has `decoder_units` units.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any

CELL_TYPES = ("lstm", "basic_lstm", "gru")
ENCODER_TYPES = ("uni", "bi")
ATTENTION_TYPES = ("none", "luong", "scaled_luong", "bahdanau", "normalized_bahdanau")
PROJECTIONS = ("dense", "slim")


class HParamsError(ValueError):
    """An hparams value or file that cannot be used; the message names the field."""


@dataclass(frozen=True)
class HParams:
    src_vocab_size: int = 0
    tgt_vocab_size: int = 0
    embedding_size: int = 32
    share_embeddings: bool = False
    num_units: int = 64
    cell_type: str = "lstm"
    num_layers: int = 1
    encoder_type: str = "uni"
    attention: str = "none"
    attention_layer_size: int | None = None
    output_attention: bool = True
    forget_bias: float = 1.0
    dropout: float = 0.0
    max_src_len: int = 40
    max_tgt_len: int = 12
    projection: str = "dense"
    learning_rate: float = 0.005
    max_gradient_norm: float = 5.0
    batch_size: int = 64
    seed: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, allowed in (("cell_type", CELL_TYPES), ("encoder_type", ENCODER_TYPES),
                              ("attention", ATTENTION_TYPES), ("projection", PROJECTIONS)):
            if getattr(self, name) not in allowed:
                raise HParamsError(f"hparams {name}={getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        for name in ("embedding_size", "num_units", "num_layers", "max_src_len", "max_tgt_len", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise HParamsError(f"hparams {name}={getattr(self, name)!r}: expected an integer >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise HParamsError(f"hparams dropout={self.dropout!r}: expected 0 <= dropout < 1")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise HParamsError(
                f"hparams share_embeddings=true needs src_vocab_size == tgt_vocab_size, "
                f"got {self.src_vocab_size} and {self.tgt_vocab_size}")

    @property
    def decoder_units(self) -> int:
        return self.num_units * (2 if self.encoder_type == "bi" else 1)

    @property
    def decode_max_steps(self) -> int:
        """Greedy decoding stops after this many steps (the longest target plus `</s>`)."""
        return self.max_tgt_len + 1

    def replace(self, **changes: Any) -> HParams:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "hparams") -> HParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise HParamsError(f"{source}: unknown field(s) {', '.join(unknown)}; known fields: {', '.join(sorted(known))}")
        return cls(**d)

    def save(self, path: str) -> None:
        """Write atomically: a temporary file beside `path`, then a rename."""
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> HParams:
        if os.path.isdir(path):
            path = os.path.join(path, "hparams.json")
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except FileNotFoundError:
            raise HParamsError(f"{path}: no such file; expected the hparams.json written beside the checkpoint") from None
        except json.JSONDecodeError as e:
            raise HParamsError(f"{path}: not valid JSON ({e})") from None
        return cls.from_dict(d, source=path)

    def with_overrides(self, assignments: list[str] | None) -> HParams:
        """Apply `key=value` strings (the CLI's `--set`), parsing each value as the field's type."""
        if not assignments:
            return self
        types = {f.name: f.type for f in fields(self)}
        changes: dict[str, Any] = {}
        for a in assignments:
            key, sep, raw = a.partition("=")
            key = key.strip()
            if not sep or key not in types or key == "extra":
                raise HParamsError(f"--set {a!r}: expected key=value with key one of "
                                   f"{', '.join(sorted(k for k in types if k != 'extra'))}")
            changes[key] = _parse(key, raw.strip(), str(types[key]))
        return self.replace(**changes)


def _parse(key: str, raw: str, type_name: str) -> Any:
    if raw.lower() in ("none", "null") and "None" in type_name:
        return None
    try:
        if type_name.startswith("bool"):
            if raw.lower() in ("1", "true", "yes"):
                return True
            if raw.lower() in ("0", "false", "no"):
                return False
            raise ValueError(raw)
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError:
        raise HParamsError(f"--set {key}={raw}: expected a value of type {type_name}") from None
    return raw
