"""`migrate._internals`: the private Keras fast path and the public-API fallback write the same files.

The converter's streamed writer (private: Keras's saving traversal, uninitialised variables) and Keras's
own `save_weights` / `save` after plain `assign` (public) must give byte-identical weight datasets under
the same h5 names, and models that load to the same values.
"""

import os

import h5py
import numpy as np
import pytest

from migrate import _internals
from migrate.checkpoint.convert import convert_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A 1-layer LSTM legacy checkpoint with Luong attention, forget bias 0.8, random non-zero weights."""
    from seq2seq_task import HParams, load_task, make_batch
    from tests.test_convert import write_legacy

    task = load_task(seed=3, train_size=16, valid_size=4, test_size=4)
    hp = HParams(embedding_size=6, num_units=8, cell_type="lstm", attention="luong", forget_bias=0.8,
                 src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size)
    d = tmp_path_factory.mktemp("ckpt")
    write_legacy(str(d), hp, make_batch(task.train[:4], task.src_vocab, task.tgt_vocab), mode="eval")
    return str(d)


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype.str, obj.shape, obj[()].tobytes())
        f.visititems(visit)
    return out


def test_installed_versions_take_the_private_path_and_say_so():
    assert _internals.private_ok(), _internals.why()
    assert _internals.why().startswith("private fast path")
    with _internals.public_api_only():
        assert not _internals.private_ok() and _internals.why() == "public Keras API (forced)"
    assert _internals.private_ok()


def test_version_outside_the_tested_range_falls_back(monkeypatch):
    import keras

    monkeypatch.setattr(keras, "__version__", "9.0.0")
    monkeypatch.setattr(_internals, "_checked", {})
    assert not _internals.private_ok()
    assert "keras 9.0.0 is outside the tested range" in _internals.why()
    monkeypatch.undo()
    _internals._checked.clear()
    assert _internals.private_ok()


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_private_and_public_paths_write_the_same_weights(ckpt, tmp_path, suffix):
    import zipfile

    import keras

    import tf2.seq2seq  # noqa: F401

    (tmp_path / "a").mkdir()     # apart: each conversion writes its own hparams.json beside its output
    fast, slow = str(tmp_path / "a" / f"fast{suffix}"), str(tmp_path / f"slow{suffix}")
    r_fast = convert_checkpoint(ckpt, fast, progress=False)
    with _internals.public_api_only():
        r_slow = convert_checkpoint(ckpt, slow, progress=False)
    assert r_fast["output"]["writer"].startswith("streamed") and r_slow["output"]["writer"] == "keras"
    assert r_slow["output"]["keras_internals"] == "public Keras API (forced)"
    if suffix == ".keras":
        for name, path in (("fast", fast), ("slow", slow)):
            with zipfile.ZipFile(path) as z:
                z.extract("model.weights.h5", str(tmp_path / name))
        a, b = _datasets(str(tmp_path / "fast" / "model.weights.h5")), _datasets(str(tmp_path / "slow" /
                                                                                    "model.weights.h5"))
    else:
        a, b = _datasets(fast), _datasets(slow)
    assert sorted(a) == sorted(b) and len(a) > 6
    assert a == b                                        # names, dtypes, shapes and bytes of every dataset
    if suffix == ".keras":
        m_fast, m_slow = keras.saving.load_model(fast), keras.saving.load_model(slow)
        assert len(m_fast.weights) == len(m_slow.weights)
        for wa, wb in zip(m_fast.weights, m_slow.weights):
            np.testing.assert_array_equal(np.asarray(wa), np.asarray(wb))
    assert os.path.getsize(fast) > 0 and os.path.getsize(slow) > 0


def test_adam_slots_are_the_same_variables_on_both_paths():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    opt = keras.optimizers.Adam()
    trainables = list(model.trainable_variables)
    opt.build(trainables)
    for w in trainables:
        private = _internals.adam_slots(opt, trainables, w)
        with _internals.public_api_only():
            public = _internals.adam_slots(opt, trainables, w)
            assert _internals.has_adam_slots(opt)
        assert private[0] is public[0] and private[1] is public[1]
        assert tuple(private[0].shape) == tuple(w.shape)
