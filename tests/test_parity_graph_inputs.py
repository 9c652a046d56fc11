"""`TF1Graph` (import, partial restore, placeholders, id ranges), the input generator and the `[parity]` spec, on one
small TF1-style graph built here: an embedding lookup, lengths, an `is_training` bool, a `PlaceholderWithDefault`,
a placeholder whose `.meta` carries TF 1.0's empty shape attr (= unknown), and an Adam train op whose slots the
checkpoint does not hold (saved with a Saver over the trainable variables only).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from migrate.parity.checks import OutputTensorCheck
from migrate.parity.errors import ParityInputError
from migrate.parity.graph_inputs import generate_feed, infer_rules, load_feed
from migrate.parity.graph_spec import FeedRule, ParitySpec, normalise

VOCAB, DIM = 13, 4


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    from migrate.parity.tf1_graph import TF1Graph

    v1 = tf.compat.v1
    prefix = str(tmp_path_factory.mktemp("small") / "model.ckpt")
    g = tf.Graph()
    with g.as_default():
        ids = v1.placeholder(tf.int32, [None, None], name="ids")
        v1.placeholder(tf.int32, [None], name="seq_lengths")
        is_training = v1.placeholder(tf.bool, [], name="is_training")
        keep = v1.placeholder_with_default(1.0, [], name="keep_prob")
        feature = v1.placeholder(tf.float32, None, name="feature")
        labels = v1.placeholder(tf.float32, [None], name="labels")
        table = v1.get_variable("vocab/table", [VOCAB, DIM])
        x = tf.reduce_sum(tf.nn.embedding_lookup(table, ids), axis=[1, 2]) * keep
        scale = tf.constant(1.0, name="scale")
        out = tf.identity(x * scale * tf.cast(tf.logical_not(is_training), tf.float32) + tf.reduce_sum(feature),
                          name="out")
        train = v1.train.AdamOptimizer(0.1).minimize(tf.reduce_mean(tf.square(out - labels)))
        del train
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(table.assign(np.arange(VOCAB * DIM, dtype=np.float32).reshape(VOCAB, DIM) / 10))
            v1.train.Saver(var_list=v1.trainable_variables()).save(sess, prefix, write_meta_graph=False)
        meta = v1.train.export_meta_graph(graph=g)
    # what TF 1.0 wrote for placeholder(shape=None): an empty shape attr, read as "unknown" at producer <= 21
    node = next(n for n in meta.graph_def.node if n.name == "feature")
    node.attr["shape"].shape.Clear()
    meta.graph_def.versions.producer = 21
    with open(prefix + ".meta", "wb") as f:
        f.write(meta.SerializeToString())
    g = TF1Graph(prefix)
    g.test_prefix = prefix
    yield g
    g.close()


def test_placeholders_with_dtypes_shapes_and_defaults(graph):
    got = {p.name: (p.dtype.name, p.shape, p.has_default) for p in graph.placeholders}
    assert got == {"ids": ("int32", (None, None), False), "seq_lengths": ("int32", (None,), False),
                   "is_training": ("bool", (), False), "keep_prob": ("float32", (), True),
                   "feature": ("float32", None, False), "labels": ("float32", (None,), False)}


def test_only_the_variables_in_the_checkpoint_are_restored(graph):
    assert graph.restored == ["vocab/table"]
    assert {"vocab/table/Adam", "vocab/table/Adam_1", "beta1_power", "beta2_power"} <= set(graph.not_restored)
    table = graph.values()["vocab/table"]
    np.testing.assert_array_equal(table, np.arange(VOCAB * DIM, dtype=np.float32).reshape(VOCAB, DIM) / 10)


def test_id_range_follows_the_ids_to_the_embedding(graph):
    assert graph.id_range("ids") == VOCAB
    assert graph.id_range("seq_lengths:0") is None


def test_needed_leaves_out_the_labels(graph):
    assert [p.name for p in graph.needed(["out:0"])] == ["ids", "is_training", "keep_prob", "feature"]


def test_generated_feed_respects_ranges_lengths_and_derived_values(graph):
    needed = graph.needed(["out:0"]) + [graph.placeholder("seq_lengths")]
    rules = infer_rules(graph, needed)
    assert rules["is_training:0"].value is False
    assert rules["seq_lengths:0"].length_of == "ids:0"
    assert "keep_prob:0" not in rules                       # a PlaceholderWithDefault runs with its default
    feed = generate_feed(graph, needed, rules, shapes={"feature:0": (None, 3)}, batch_size=5, time_steps=7, seed=3)
    ids, lengths = feed.values["ids:0"], feed.values["seq_lengths:0"]
    assert ids.shape == (5, 7) and ids.dtype == np.int32 and lengths.tolist()[:2] == [7, 1]
    for row, n in zip(ids, lengths):
        assert (row[:n] >= 1).all() and (row[:n] < VOCAB).all() and (row[n:] == 0).all()
    assert feed.values["feature:0"].shape == (5, 3)         # rank from the Keras input's shape
    assert "keep_prob:0" not in feed.values
    assert feed.lengths["ids:0"].tolist() == lengths.tolist()
    assert any("ids in [1, 13) (the embedding it indexes has 13 rows)" in n for n in feed.notes)
    (out,) = graph.run(["out"], feed.values)
    table = np.arange(VOCAB * DIM, dtype=np.float32).reshape(VOCAB, DIM) / 10
    want = table[ids].sum(axis=(1, 2)) + feed.values["feature:0"].sum()
    np.testing.assert_allclose(out, want, rtol=1e-5)


def test_unknown_rank_without_a_keras_input_is_refused(graph):
    needed = graph.needed(["out:0"])
    with pytest.raises(ParityInputError, match=r"feature:0: its shape is unknown \(a TF 1.0 placeholder\)"):
        generate_feed(graph, needed, infer_rules(graph, needed))


def test_users_npz_is_checked_against_the_placeholders(graph, tmp_path):
    needed = graph.needed(["out:0"])
    rules = infer_rules(graph, needed)
    np.savez(tmp_path / "bad.npz", ids=np.ones((2, 3, 1), np.int32), feature=np.ones(3, np.float32))
    with pytest.raises(ParityInputError, match=r"ids:0 has shape \[2, 3, 1\], the placeholder expects \[\?, \?\]"):
        load_feed(str(tmp_path / "bad.npz"), graph, needed, rules)
    np.savez(tmp_path / "unknown.npz", idz=np.ones((2, 3), np.int32))
    with pytest.raises(ParityInputError, match="key.s. idz:0 name no placeholder"):
        load_feed(str(tmp_path / "unknown.npz"), graph, needed, rules)
    np.savez(tmp_path / "ok.npz", ids=np.array([[2, 3, 0]], np.int32), feature=np.ones(3, np.float32))
    feed = load_feed(str(tmp_path / "ok.npz"), graph, needed, rules)
    assert feed.values["is_training:0"] is not None and not feed.values["is_training:0"]


def test_declared_feed_naming_no_placeholder_is_refused(graph):
    with pytest.raises(ParityInputError, match="feed dropout:0: dropout:0 is not a placeholder of the graph"):
        infer_rules(graph, graph.needed(["out:0"]), {"dropout:0": FeedRule("dropout:0", 0.0, source="--feed")})


def test_missing_meta_is_exit_2(tmp_path):
    from migrate.parity.tf1_graph import TF1GraphError, meta_path_of

    with pytest.raises(TF1GraphError, match=r"model.ckpt.meta: no such file"):
        meta_path_of(str(tmp_path / "model.ckpt"))
    assert TF1GraphError("x").code == 2


# -- the [parity] section and --feed ----------------------------------------------------------------


def test_spec_from_dict_and_cli_feeds():
    spec = ParitySpec.from_dict({"inputs": {"tokens": "inputs/ids"}, "outputs": {"tags": "logits:0"},
                                 "feeds": {"keep_prob": 1.0, "lengths:0": {"length_of": "inputs/ids"}}})
    assert spec.inputs == {"tokens": "inputs/ids:0"} and spec.outputs == {"tags": "logits:0"}
    assert spec.feeds["keep_prob:0"].value == 1.0 and spec.feeds["lengths:0"].length_of == "inputs/ids:0"
    spec.add_cli_feeds(["keep_prob=0.5", "is_training=false", "n=3", "lengths=length_of:ids"])
    assert spec.feeds["keep_prob:0"].value == 0.5 and spec.feeds["keep_prob:0"].source == "--feed"
    assert spec.feeds["is_training:0"].value is False and spec.feeds["n:0"].value == 3
    assert spec.feeds["lengths:0"].length_of == "ids:0"


@pytest.mark.parametrize("section, words", [
    ({"input": {}}, "unknown key(s) input in [parity]"),
    ({"inputs": {"a": 1}}, "[parity] inputs must be a table of strings"),
    ({"feeds": {"x": "text"}}, "feed x:0: expected a number, a bool, a list or {length_of"),
    ({"feeds": {"x": {"lengths_of": "ids"}}}, "feed x:0: expected a number"),
], ids=["unknown-key", "non-string-input", "string-feed", "misspelt-length-of"])
def test_spec_errors_name_the_entry(section, words):
    with pytest.raises(ParityInputError) as e:
        ParitySpec.from_dict(section, "m.toml [parity]")
    assert words in str(e.value) and str(e.value).startswith("m.toml [parity]")


def test_bad_cli_feed():
    with pytest.raises(ParityInputError, match="--feed 'keep_prob': expected NAME=VALUE"):
        ParitySpec().add_cli_feeds(["keep_prob"])
    with pytest.raises(ParityInputError, match="'abc' is not a number, true/false or length_of:PLACEHOLDER"):
        ParitySpec().add_cli_feeds(["x=abc"])


def test_normalise():
    assert normalise("Encoder/IDs:0") == "encoder_ids" and normalise("input_1") == "input_1"


# -- the output check ---------------------------------------------------------------------------------


def test_output_check_scales_atol_with_the_magnitude_and_keeps_integers_exact():
    want = np.array([[100.0, -250.0], [3.0, 1.0]], np.float32)
    (r,) = OutputTensorCheck("y <- y:0", want, want + np.float32(1e-3)).compare()
    assert r.ok and r.atol == pytest.approx(2.5e-3) and r.check == "output" and r.subject == "y <- y:0"
    (r,) = OutputTensorCheck("y <- y:0", want, want + np.float32(5e-3)).compare()
    assert not r.ok
    (r,) = OutputTensorCheck("ids <- ids:0", np.array([1, 2]), np.array([1, 3])).compare()
    assert not r.ok and r.atol == 0 and r.rtol == 0 and r.mismatched == 1


def test_constants_are_replaced_before_the_import(graph):
    from migrate.parity.tf1_graph import TF1Graph, TF1GraphError

    feed = {"ids:0": np.array([[1, 2]], np.int32), "is_training:0": False, "feature:0": np.zeros(2, np.float32)}
    (base,) = graph.run(["out"], feed)
    with TF1Graph(graph.test_prefix, constants={"scale:0": 3.0, "ids:0": 5}) as g:
        assert g.overridden == {"scale:0": 3.0}               # a placeholder is fed, not rewritten
        (tripled,) = g.run(["out"], feed)
    np.testing.assert_allclose(tripled, 3 * base, rtol=1e-6)
    with pytest.raises(TF1GraphError, match=r"constant scale:0 has shape \[\] and dtype float32; \[1.0, 2.0\]"):
        TF1Graph(graph.test_prefix, constants={"scale": [1.0, 2.0]})
