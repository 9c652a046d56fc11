"""`StridedSlice` (what `tensor[...]` writes in a TF1 graph) -> a Keras 3 index (`migrate/graph/ops/array.py`).

Every form `tf.Tensor.__getitem__` and `tf.strided_slice` write: begin / end masks (`x[:]`, `x[1:]`, `x[:, :3]`,
the masked entries holding any value), the ellipsis (`x[..., 0]`), new axes (`x[:, None]`), shrunk axes (`x[-1]`),
steps, and negative steps (written as a flip then a positive step, the one form every Keras backend slices). Keras 3
refuses a bare slice as a key (`x[:]`, `x[1:]`): the index is always a tuple or an int. One TF1-style graph with
random non-zero weights, converted once; the converted model must equal the TF1 graph at batch sizes and lengths
other than the ones the converter's parity used (so the negative-step rewrite is right whatever the length)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


def _slices(tf, h):
    """name -> the sliced tensor; h is [batch, time, 6] (batch and time unknown)."""
    v1 = tf.compat.v1
    return {
        "all": h[:],                                   # begin and end masked: the value itself
        "tail": h[1:],                                 # one slice key (Keras refuses `x[1:]`)
        "time_tail": h[:, 1:],
        "ell0": h[..., 0],                             # ellipsis + shrink
        "ell_mid": h[0, ..., 1:3],
        "ell_new": h[..., None, 1],
        "new_axis": h[:, None, 2:],
        "new_first": h[None],
        "last": h[-1],
        "last_step": h[:, -1],
        "neg_tail": h[:, -2:, ...],
        "step": h[:, 1:5:2],
        "reverse": h[::-1],
        "rev_time": h[:, ::-1],
        "rev_step": h[:, ::-2, 3:0:-1],
        "rev_from_neg": h[:, -2::-1, :-7:-2],
        "rev_bounded": h[:, 3:0:-1],
        "rev_last_axis": h[..., ::-1],
        # masked entries holding garbage (tf.strided_slice ignores begin / end under a mask)
        "masked_garbage": v1.strided_slice(h, [7, 1, 0], [9, 4, 0], [1, 1, 1], begin_mask=0b101, end_mask=0b101),
        # every mask at once: x[..., None, 1:3, -1] (ellipsis, new axis, slice, shrink)
        "all_masks": v1.strided_slice(h, [0, 0, 1, -1], [0, 0, 3, 0], [1, 1, 1, 1], ellipsis_mask=0b1,
                                      new_axis_mask=0b10, shrink_axis_mask=0b1000),
    }


NAMES = ["all", "tail", "time_tail", "ell0", "ell_mid", "ell_new", "new_axis", "new_first", "last", "last_step",
         "neg_tail", "step", "reverse", "rev_time", "rev_step", "rev_from_neg", "rev_bounded", "rev_last_axis",
         "masked_garbage", "all_masks"]
OUTPUTS = [f"o_{n}:0" for n in NAMES]


def _build(path: str) -> str:
    import tensorflow as tf
    from tf1_models import save_random_weights, tf1_style

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            x = v1.placeholder(tf.float32, [None, None, 6], name="x")
            w = v1.get_variable("w", [6, 6])
            b = v1.get_variable("b", [6])
            h = tf.tanh(tf.tensordot(x, w, 1) + b)
            slices = _slices(tf, h)
            assert list(slices) == NAMES
            for name, t in slices.items():
                tf.identity(t, name="o_" + name)
            return save_random_weights(path)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from migrate.graph import convert_graph

    root = tmp_path_factory.mktemp("strided_slice")
    ckpt = _build(str(root / "tf1"))
    report = convert_graph(ckpt, str(root / "out"), outputs=OUTPUTS, log=lambda m: None)
    return ckpt, str(root / "out"), report


def test_every_mask_converts_with_parity(converted):
    _, out, report = converted
    rows = {r["graph"]: r for r in report["parity"]["outputs"]}
    assert set(rows) == set(OUTPUTS) and all(r["ok"] for r in rows.values()), rows


def test_the_index_is_one_keras_takes_on_every_backend(converted):
    """No bare slice as a key (Keras 3 refuses `x[:]`), no negative step (torch refuses it): a flip instead."""
    _, out, _ = converted
    source = open(os.path.join(out, "model.py")).read()
    lines = {m.group(2): m.group(1) for m in re.finditer(r"= (.*)  # StridedSlice (\S+)", source)}
    keys = [re.search(r"\[([^\[\]]*)\]$", expr) for expr in lines.values()]
    for expr, key in zip(lines.values(), keys):
        if key is None:                    # a flip alone: `keras.ops.flip(x, axis=0)`
            assert expr.startswith("keras.ops.flip("), expr
            continue
        items = [s.strip() for s in key.group(1).split(",")]
        assert len(items) > 1 or re.fullmatch(r"-?\d+", items[0]), expr          # a tuple, or one int
        assert not any(re.search(r":-\d+$", s) and s.count(":") == 2 for s in items), expr   # no negative step
    assert "keras.ops.flip(" in source
    assert len(lines) == len(NAMES) - 1          # h[:] is the value itself (no line, like Identity)


@pytest.mark.parametrize("batch,steps", [(7, 2), (1, 9), (2, 4)])
def test_converted_model_follows_other_sizes_like_the_tf1_graph(converted, batch, steps):
    """Parity ran at one size; at others (shorter and longer than the slices' bounds) the model.keras equals TF."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401
    from migrate.parity.tf1_graph import TF1Graph

    ckpt, out, report = converted
    feed = {"x:0": np.random.RandomState(batch).normal(0, 1, (batch, steps, 6)).astype("float32")}
    with TF1Graph(ckpt) as g:
        ref = g.run(OUTPUTS, feed)
    model = keras.saving.load_model(os.path.join(out, "model.keras"))
    got = model({i["keras"]: feed[i["graph"]] for i in report["graph"]["inputs"]})
    for name, r, o in zip(OUTPUTS, ref, got):
        o = keras.ops.convert_to_numpy(o)
        assert o.shape == r.shape, (name, o.shape, r.shape)
        np.testing.assert_allclose(o, r, atol=1e-6, rtol=1e-6, err_msg=name)
