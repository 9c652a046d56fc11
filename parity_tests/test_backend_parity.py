"""The parity suite's backend set: the legacy TF1 graph (TensorFlow, this process) vs the port on JAX and PyTorch.

15 variants: every (cell type, attention type) pair once (3 x 5); 1 and 2 layers, uni and bi encoders, forget bias
0.8 / 0.5 / 1.5 (never 1), attention layer 7 / none, output_attention on / off, dense / slim projection, shared
embeddings. (Until session 12 five more variants repeated pairs with other options: the options are each met
here, and `test_hypothesis.py` draws their combinations on TensorFlow.) Weights are random and non-zero, biases included.

The port side runs in ONE child process per backend (`migrate.parity.backend_side.BackendWorker`,
`KERAS_BACKEND=jax|torch`, TensorFlow blocked) serving every variant of a chunk, while this process builds
the legacy graphs; the same checks and report as the TF backend compare them (`harness.compare_on_backend`):
weights (mapped back to TF1 layout), logits at valid positions, loss, gradients of every variable on the 7
`GRADIENTS` variants (each cell x layers pair, each attention type; PyTorch autograd, JAX
`jax.jit(jax.value_and_grad)`; the other 8 use the legacy eval-only graph, about 3x cheaper), weights after
2 Adam steps (`ADAM`: one variant per attention mechanism, every cell type) and greedy ids (exact). JAX runs
logits and greedy op by op (`eager=True`: no XLA compile per model, the same `keras.ops`). Each variant's two
batches are padded to one shape (one trace per model). `--parity-backend tf,jax,torch` adds a TensorFlow child.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from parity_support import ATTENTION_LAYER, batches_for, make_hparams, task

from migrate.parity.backend_side import backend_available, normalize_backend
from seq2seq_task import ATTENTION_TYPES, CELL_TYPES

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")

# (cell, layers, encoder, attention, forget_bias, extra hparams)
VARIANTS = [
    ("lstm", 1, "uni", "none", 0.8, {"share_embeddings": True}),
    ("basic_lstm", 2, "bi", "none", 1.5, {"projection": "slim"}),
    ("gru", 1, "bi", "none", 0.5, {}),
    ("lstm", 2, "bi", "luong", 0.5, {"output_attention": False}),
    ("basic_lstm", 1, "uni", "luong", 0.8, {}),
    ("gru", 2, "uni", "luong", 0.8, {"attention_layer_size": None}),
    ("lstm", 1, "bi", "scaled_luong", 1.5, {}),
    ("basic_lstm", 2, "uni", "scaled_luong", 0.5, {"attention_layer_size": None, "projection": "slim"}),
    ("gru", 1, "uni", "scaled_luong", 0.8, {"output_attention": False}),
    ("lstm", 2, "uni", "bahdanau", 0.8, {}),
    ("basic_lstm", 1, "bi", "bahdanau", 0.5, {"output_attention": False}),
    ("gru", 2, "bi", "bahdanau", 1.5, {}),
    ("lstm", 1, "uni", "normalized_bahdanau", 0.5, {"attention_layer_size": None}),
    ("basic_lstm", 2, "bi", "normalized_bahdanau", 0.8, {}),
    ("gru", 1, "uni", "normalized_bahdanau", 0.8, {"projection": "slim"}),
]
ADAM = {3, 8, 9, 13}    # weights after 2 Adam steps: one variant per attention mechanism, every cell type
# XLA compiles JAX's backward passes (and the first ops) about 1.6x faster without LLVM's expensive passes; the
# float semantics are the same (no fast-math either way).
CHILD_ENV = {"jax": {"XLA_FLAGS": "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
                     "JAX_PLATFORMS": "cpu"}}
# Test items (xdist spreads them); each runs one child per backend for its variants. One: the parent (legacy
# graphs) and the two children already run side by side, and every further child pays JAX's and torch's start-up
# and first-op compiles again (~15 s CPU).
CHUNKS = 1
FORWARD = ("weights", "logits", "loss", "greedy")
# Gradients of every variable on 7 variants (every cell type at 1 and 2 layers, every attention type, uni and
# bi); the others check the forward pass on the legacy eval graph (about 3x cheaper to build than train + infer).
# JAX compiles each model's backward pass (~2.5 s CPU with CHILD_ENV's flags): that is what limits the set.
GRADIENTS = {0, 10, 11} | ADAM


def checks_of(i: int) -> tuple[str, ...]:
    if i not in GRADIENTS:
        return FORWARD
    return FORWARD + ("gradients",) + (("adam",) if i in ADAM else ())


def common_shape(batches):
    """The batches padded with 0 to one [B, S] / [B, T]: a compiled (JAX) model then traces once per variant."""
    from seq2seq_task import Batch

    s = max(b.encoder_ids.shape[1] for b in batches)
    t = max(b.decoder_input_ids.shape[1] for b in batches)

    def pad(a, width):
        return np.pad(a, ((0, 0), (0, width - a.shape[1])))

    return [Batch(pad(b.encoder_ids, s), b.encoder_lengths, pad(b.decoder_input_ids, t),
                  pad(b.decoder_target_ids, t), b.target_lengths) for b in batches]


def variant_id(v) -> str:
    cell, layers, encoder, attention, fb, extra = v
    return f"{cell}-L{layers}-{encoder}-{attention}-fb{fb}" + "".join(f"-{k}={w}" for k, w in sorted(extra.items()))


def hparams_of(v):
    cell, layers, encoder, attention, fb, extra = v
    extra = {"attention_layer_size": ATTENTION_LAYER, **extra}
    if extra.get("share_embeddings"):
        size = max(task().src_vocab.size, task().tgt_vocab.size)
        extra.update(src_vocab_size=size, tgt_vocab_size=size)
    return make_hparams(cell, layers, encoder, attention, fb, **extra)


def test_backend_set_covers_every_cell_attention_layer_encoder_and_forget_bias():
    assert len(VARIANTS) == 15
    assert {(v[0], v[3]) for v in VARIANTS} == set(itertools.product(CELL_TYPES, ATTENTION_TYPES))
    assert {v[4] for v in VARIANTS} == {0.5, 0.8, 1.5}
    options = {(k, repr(w)) for v in VARIANTS for k, w in v[5].items()}
    assert options == {("share_embeddings", "True"), ("projection", "'slim'"), ("output_attention", "False"),
                       ("attention_layer_size", "None")}
    assert {v[1] for v in VARIANTS} == {1, 2} and {v[2] for v in VARIANTS} == {"uni", "bi"}
    assert all(v[4] != 1.0 for v in VARIANTS)
    assert {VARIANTS[i][3] for i in ADAM} == set(ATTENTION_TYPES) - {"none"}
    assert {VARIANTS[i][0] for i in ADAM} == set(CELL_TYPES)
    grads = [VARIANTS[i] for i in GRADIENTS]
    assert {(v[0], v[1]) for v in grads} == set(itertools.product(CELL_TYPES, (1, 2)))
    assert {v[3] for v in grads} == set(ATTENTION_TYPES) and {v[2] for v in grads} == {"uni", "bi"}


@pytest.fixture(scope="module")
def backends(parity_backend_set):
    names = [normalize_backend(b) for b in parity_backend_set]
    missing = [why for b in names if (why := backend_available(b))]
    if missing:
        pytest.skip("; ".join(missing))
    return names


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(CHUNKS), ids=[f"chunk{k}" for k in range(CHUNKS)])
def test_port_on_each_backend_matches_the_legacy_graph(chunk, backends):
    from migrate.parity.harness import (
        BackendWorker,
        LegacyRunner,
        RemotePortRunner,
        SharedLegacy,
        compare_on_backend,
        random_tf1_weights,
    )

    variants = VARIANTS[chunk::CHUNKS]
    workers = {b: BackendWorker(b, env=CHILD_ENV.get(b)) for b in backends}   # they import Keras meanwhile
    legacies, jobs = [], []
    try:
        for v in variants:
            i = VARIANTS.index(v)
            hp = hparams_of(v)
            legacy = LegacyRunner(hp, greedy=True, backward=i in GRADIENTS)
            legacies.append(legacy)
            values = random_tf1_weights(legacy.values(), seed=i)
            legacy.load(values)
            data = common_shape(batches_for(hp, 2, seed=i))
            ports = {b: RemotePortRunner(w, data, hparams=hp, values=values, checks=checks_of(i), adam_steps=2,
                                         eager=True) for b, w in workers.items()}
            jobs.append((v, SharedLegacy(legacy), data, ports))
        failures, worst = [], {}
        for v, legacy, data, ports in jobs:
            for b, port in ports.items():
                checks = checks_of(VARIANTS.index(v))
                report = compare_on_backend(legacy, port, data, checks=checks, adam_steps=2)
                assert report.info["keras_process"]["backend"] == b
                assert report.info["keras_process"]["tensorflow_imported"] is (b == "tensorflow")
                kinds = {r.check for r in report.results}
                assert kinds == set(checks), (variant_id(v), b, kinds)
                names = set(legacy.names)
                assert {r.subject for r in report.results if r.check == "weights"} == names
                if "gradients" in checks:  # every variable
                    assert {r.subject for r in report.results if r.check == "gradients"} == names
                if not report.ok:
                    failures.append(f"{variant_id(v)} on {b}:\n{report.failure_message(limit=3)}")
                for row in report.rows():
                    key = (b, row["check"])
                    worst[key] = max(worst.get(key, 0.0), float(row["max_abs"]))
        print(f"\nmax abs error per backend and check (chunk {chunk}):")
        for (b, check), err in sorted(worst.items()):
            print(f"  {b:10s} {check:28s} {err:.3g}")
        assert not failures, "\n\n".join(failures)
        assert all(np.isfinite(e) for e in worst.values())
    finally:
        for legacy in legacies:
            legacy.close()
        for w in workers.values():
            w.close()
