"""Hypothesis-drawn parity: model sizes and options, and padding patterns (lengths per row, batch sizes).

Runs derandomized (the same examples on every CI run) and with few examples: each drawn model builds
two legacy graphs and a port (seconds), while a drawn padding pattern reuses one shared pair.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parity_support import hparams_of, pair_for

from migrate.parity.harness import ParityPair, random_batch
from seq2seq_task import ATTENTION_TYPES, CELL_TYPES, HParams

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")


@st.composite
def configs(draw):
    share = draw(st.booleans())
    src_vocab = draw(st.integers(5, 12))
    tgt_vocab = src_vocab if share else draw(st.integers(5, 12))
    attention = draw(st.sampled_from(ATTENTION_TYPES))
    return HParams(
        src_vocab_size=src_vocab, tgt_vocab_size=tgt_vocab, share_embeddings=share,
        embedding_size=draw(st.integers(2, 7)), num_units=draw(st.integers(2, 7)),
        cell_type=draw(st.sampled_from(CELL_TYPES)), num_layers=draw(st.integers(1, 2)),
        encoder_type=draw(st.sampled_from(("uni", "bi"))), attention=attention,
        attention_layer_size=draw(st.one_of(st.none(), st.integers(1, 7))),
        output_attention=draw(st.booleans()), forget_bias=draw(st.sampled_from((0.8, 1.0, 1.3))),
        projection=draw(st.sampled_from(("dense", "slim"))), max_src_len=draw(st.integers(1, 7)),
        max_tgt_len=draw(st.integers(1, 5)), batch_size=4, seed=draw(st.integers(0, 99)))


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(hp=configs(), seed=st.integers(0, 2**16))
def test_drawn_configs(hp, seed):
    pair = ParityPair(hp)
    try:
        pair.set_legacy_weights(pair.random_weights(seed))
        rng = np.random.RandomState(seed)
        batches = [random_batch(rng, hp, int(rng.randint(1, 5))) for _ in range(2)]
        report = pair.run(batches, checks=("weights", "logits", "loss", "gradients", "greedy"))
    finally:
        pair.close()
    assert report.ok, f"{hp}\n{report.failure_message()}"


@st.composite
def padding_patterns(draw):
    rows = draw(st.integers(1, 5))
    src = draw(st.lists(st.integers(1, 9), min_size=rows, max_size=rows))
    tgt = draw(st.lists(st.integers(0, 6), min_size=rows, max_size=rows))
    return src, tgt


PADDING_ROW = ("basic_lstm", 2, "bi", "bahdanau", 1.0)  # a matrix row: 2-layer bi encoder, attention


@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(pattern=padding_patterns(), seed=st.integers(0, 2**16))
def test_drawn_padding_patterns(pattern, seed):
    hp = hparams_of(PADDING_ROW)
    pair = pair_for(hp)
    if not getattr(pair, "_random_loaded", False):
        pair.set_legacy_weights(pair.random_weights(seed=3))
        pair._random_loaded = True
    src, tgt = pattern
    batch = random_batch(np.random.RandomState(seed), hp, len(src), src_lengths=src, tgt_lengths=tgt)
    report = pair.run([batch], checks=("logits", "loss"))
    assert report.ok, f"lengths src={src} tgt={tgt}\n{report.failure_message()}"
    assert report.results[0].compared == int((batch.decoder_input_ids != 0).sum()) * hp.tgt_vocab_size
