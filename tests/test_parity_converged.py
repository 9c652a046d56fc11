"""The Adam check on a model trained to convergence (tests/fixtures/converged_seq2seq: the demo's model, 3000 steps).

There gradients are ~0 on many elements and Adam turns a float32 difference in them into a move of up to lr: the
check must not false-alarm (every check of the demo passes for several parity seeds), yet every optimizer mistake
must still fail it, including a learning rate 1% off.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from migrate.parity import mutations as M

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")]

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "converged_seq2seq")
DEMO_BATCHES, DEMO_ADAM_STEPS = 4, 3     # what `tf-migrate demo` runs (migrate.demo.pipeline.parity)


@pytest.fixture(scope="module")
def sides():
    """The fixture's legacy graphs and its port, converted on the fly as `tf-migrate demo` converts it."""
    from migrate.parity.harness import LegacyRunner, PortRunner, bind, convert_on_the_fly, resolve_legacy  # noqa: PLC0415

    li = resolve_legacy(FIXTURE)
    port = convert_on_the_fly(li.hparams, li.prefix)
    legacy = LegacyRunner(li.hparams, li.prefix, greedy=True)
    yield li, legacy, port, PortRunner(port, bind(port, li.prefix, li.hparams.forget_bias))
    legacy.close()


def _batches(li, seed):
    from migrate.parity.harness import parity_batches  # noqa: PLC0415

    return parity_batches(li.hparams, DEMO_BATCHES, seed, None, li.src_vocab, li.tgt_vocab)


def test_the_fixture_is_converged(sides):
    li, legacy, _, _ = sides
    batch = _batches(li, 0)[0]                          # a batch of the task's test split
    _, loss = legacy.forward(batch)
    grads = legacy.gradients(batch)
    assert loss < 1e-3 and li.hparams.cell_type == "lstm" and li.hparams.forget_bias == 0.8
    assert int(li.prefix.rsplit("-", 1)[1]) >= 3000
    flat = np.concatenate([np.ravel(g) for g in grads.values()])
    assert np.linalg.norm(flat) < 1e-2 and np.mean(np.abs(flat) < 1e-7) > 0.1   # many gradients ~0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_demo_check_passes_on_the_converged_model(sides, seed):
    from migrate.parity.harness import compare_sides  # noqa: PLC0415

    li, legacy, _, runner = sides
    results = compare_sides(legacy, runner, _batches(li, seed), adam_steps=DEMO_ADAM_STEPS)
    assert [r.check for r in results if not r.ok] == [], "\n\n".join(r.message for r in results if not r.ok)
    adam = [r for r in results if r.check == "adam"]
    assert len(adam) == 11 and max(r.margin for r in adam) < 1
    # the model really has elements whose gradient is within float32 noise: their moves may flip sign
    assert sum(r.details["within_noise"] for r in adam) > 0


def _learning_rate_1pct_off(hparams):
    import keras  # noqa: PLC0415

    return keras.optimizers.Adam(learning_rate=hparams.learning_rate * 1.01, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                                 global_clipnorm=hparams.max_gradient_norm)


OPTIMIZER_CASES = {**M.OPTIMIZER_MUTATIONS, "learning_rate_1pct_off": _learning_rate_1pct_off}
POINTERS = {**{name: M.MUTATIONS[name].pointer for name in M.OPTIMIZER_MUTATIONS},
            "learning_rate_1pct_off": "learning rate"}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CASES))
def test_every_optimizer_mistake_fails_the_adam_check_on_the_converged_model(sides, name):
    from migrate.parity.harness import PortRunner, compare_sides  # noqa: PLC0415
    from migrate.parity.report import ParityReport  # noqa: PLC0415

    li, legacy, port, runner = sides
    mutated = PortRunner(port, runner.bindings, optimizer_fn=OPTIMIZER_CASES[name])
    results = compare_sides(legacy, mutated, _batches(li, 1), checks=("gradients", "adam"),
                            adam_steps=DEMO_ADAM_STEPS)
    assert all(r.ok for r in results if r.check == "gradients")    # only the optimizer is wrong
    adam = [r for r in results if r.check == "adam"]
    assert sum(not r.ok for r in adam) >= 5 and max(r.margin for r in adam) > 10   # far outside, not at the edge
    assert POINTERS[name] in ParityReport(results=results).failure_message()


def test_the_first_adam_step_reuses_the_gradients_check_only_at_the_same_weights(sides):
    """`PortRunner.adam_steps` takes step 1's gradients from the gradients check just before it (same batch, same
    weights): the same weights after as computing them again; after a `gradients_at` (other weights) nothing is reused."""
    li, _, _, runner = sides
    batches = _batches(li, 2)[:1]
    runner.gradients(batches[0])
    assert runner._reusable(batches[0]) is not None and runner._reusable(_batches(li, 2)[0]) is None  # this batch only
    reused = runner.adam_steps(batches, 1, li.hparams)
    moved = {n: v + 1e-3 for n, v in runner.weights().items()}
    runner.gradients_at(moved, batches[0])                # gradients at other weights, then the weights restored
    assert runner._reusable(batches[0]) is None
    again = runner.adam_steps(batches, 1, li.hparams)     # computed afresh
    assert reused.keys() == again.keys() and all(np.array_equal(reused[n], again[n]) for n in reused)
