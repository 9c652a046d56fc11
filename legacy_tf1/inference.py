"""Evaluation and greedy decoding with a trained legacy model (nmt's `inference.py`).

Metrics of `evaluate` (over the given pairs, in batches):

| metric            | definition                                                                   |
|-------------------|------------------------------------------------------------------------------|
| loss              | mean cross-entropy per valid target token (teacher forcing, `</s>` included)  |
| token_accuracy    | argmax of the teacher-forced logits == target, over valid target tokens       |
| sequence_accuracy | greedy decoding (in-graph while_loop) reproduces the whole target string     |
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import legacy_tf1._legacy_keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from legacy_tf1 import model_helper
from legacy_tf1.model_helper import EVAL, INFER, LoadedModel
from seq2seq_task import make_batch


def _as_loaded(model: str | LoadedModel, mode: str) -> tuple[LoadedModel, bool]:
    if isinstance(model, LoadedModel):
        return model, False
    return model_helper.load_model(model, mode), True


def greedy_decode_ids(loaded: LoadedModel, sources: Sequence[str]) -> np.ndarray:
    """int32 `[len(sources), decode_max_steps]`: greedy ids, `</s>` included, then 0."""
    hp = loaded.hparams
    batch = make_batch([(s, "") for s in sources], loaded.src_vocab, loaded.tgt_vocab, hp.max_src_len, hp.max_tgt_len)
    return loaded.session.run(loaded.model.greedy_ids, loaded.model.feed_dict(batch, decoder=False))


def decode(model: str | LoadedModel, texts: Sequence[str], batch_size: int = 256) -> list[str]:
    """Greedy translations of `texts` with a model directory / checkpoint prefix or a loaded eval/infer model."""
    loaded, owned = _as_loaded(model, INFER)
    try:
        out: list[str] = []
        for start in range(0, len(texts), batch_size):
            ids = greedy_decode_ids(loaded, texts[start:start + batch_size])
            out.extend(loaded.tgt_vocab.decode(row) for row in ids)
        return out
    finally:
        if owned:
            loaded.close()


def evaluate(model: str | LoadedModel, pairs: Sequence[tuple[str, str]], batch_size: int = 256) -> dict:
    """Loss, token accuracy and sequence accuracy of a model on `(source, target)` pairs (module table).

    Args:
        model: a model directory or checkpoint prefix (restored in an eval graph), or a `LoadedModel`
            built in "eval" or "infer" mode.
        pairs: the examples, e.g. `load_task().valid`.
        batch_size: examples per `Session.run`.

    Returns:
        dict with `loss`, `token_accuracy`, `sequence_accuracy`, `examples`, `tokens`.
    """
    if not pairs:
        raise ValueError("evaluate: no pairs given")
    loaded, owned = _as_loaded(model, EVAL)
    hp, m = loaded.hparams, loaded.model
    loss_sum = correct_tokens = tokens = correct_sequences = 0.0
    try:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            batch = make_batch(chunk, loaded.src_vocab, loaded.tgt_vocab, hp.max_src_len, hp.max_tgt_len)
            loss, predictions, greedy = loaded.session.run([m.loss, m.predictions, m.greedy_ids], m.feed_dict(batch))
            mask = batch.decoder_target_ids != 0
            n = float(mask.sum())
            loss_sum += float(loss) * n
            tokens += n
            correct_tokens += float(((predictions == batch.decoder_target_ids) & mask).sum())
            for row, (_, target) in zip(greedy, chunk):
                expected = loaded.tgt_vocab.decode(loaded.tgt_vocab.encode(target[: hp.max_tgt_len]))
                correct_sequences += loaded.tgt_vocab.decode(row) == expected
    finally:
        if owned:
            loaded.close()
    return {
        "loss": loss_sum / tokens,
        "token_accuracy": correct_tokens / tokens,
        "sequence_accuracy": correct_sequences / len(pairs),
        "examples": len(pairs),
        "tokens": int(tokens),
    }
