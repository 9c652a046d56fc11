"""Each LSTM cell's own forget bias, read from the `.meta` graph (issue 11 part 3): encoder 1.0, decoder 0.5."""

import numpy as np
import pytest

from migrate.checkpoint import Mapping, MappingError, apply_mapping, cell_weights
from migrate.checkpoint.inspection import inspect_json, inspect_text
from migrate.checkpoint.reader import Checkpoint, CheckpointError

pytestmark = pytest.mark.slow
ENC, DEC = "my_model/reader/rnn/basic_lstm_cell", "my_model/writer/rnn/basic_lstm_cell"


@pytest.fixture(scope="module")
def models():
    from tf1_models import build_all  # noqa: PLC0415

    return build_all()


def _keras():
    import keras  # noqa: PLC0415
    from tf1_models import B, E, T, U, V  # noqa: PLC0415

    src = keras.Input((T,), batch_size=B, dtype="int32")
    tgt = keras.Input((T,), batch_size=B, dtype="int32")
    emb = keras.layers.Embedding(V, E, name="emb")
    _, h, c = keras.layers.LSTM(U, return_state=True, name="enc")(emb(src))
    o = keras.layers.LSTM(U, return_sequences=True, name="dec")(emb(tgt), initial_state=[h, c])
    return keras.Model([src, tgt], keras.layers.Dense(V, name="out")(o))


MAPPING = {"version": 1, "map": [
    {"checkpoint": ENC, "keras": "enc", "transform": "lstm"},
    {"checkpoint": DEC, "keras": "dec", "transform": "lstm"},
    {"checkpoint": "my_model/word_matrix", "keras": "emb/embeddings"},
    {"checkpoint": "my_model/writer/out_w", "keras": "out/kernel"},
    {"checkpoint": "my_model/writer/out_b", "keras": "out/bias"}]}


def test_inspect_reports_each_cells_own_forget_bias(models):
    rep = inspect_json(Checkpoint.open(models["encdec_fb"]))
    got = {c["scope"]: (c["role"], c["forget_bias"]["value"]) for c in rep["cells"]}
    assert got == {ENC: ("encoder", 1.0), DEC: ("decoder", 0.5)}
    assert all(c["forget_bias"]["source"].startswith("meta graph (") for c in rep["cells"])
    assert rep["forget_bias"] is None              # no single value: the cells differ
    text = inspect_text(rep)
    assert "forget bias 0.5 (from meta graph" in text and "forget bias: not found" not in text


def test_apply_mapping_reproduces_the_graphs_logits(models):
    src, tgt, want = models["encdec_fb_io"]
    model = _keras()
    report = apply_mapping(model, models["encdec_fb"], Mapping.from_dict(MAPPING))
    assert {k: v["value"] for k, v in report["forget_biases"].items()} == {ENC: 1.0, DEC: 0.5}
    got = np.asarray(model([src, tgt]))
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_one_value_for_every_cell_is_refused_unless_forced(models):
    src, tgt, want = models["encdec_fb_io"]
    model = _keras()
    with pytest.raises(MappingError, match=r"my_model/writer/rnn/basic_lstm_cell: forget_bias= 1 disagrees with the "
                                           r"\.meta graph, which adds 0\.5"):
        apply_mapping(model, models["encdec_fb"], Mapping.from_dict(MAPPING), forget_bias=1.0)
    apply_mapping(model, models["encdec_fb"], Mapping.from_dict(MAPPING), forget_bias=1.0, force_forget_bias=True)
    off = np.abs(np.asarray(model([src, tgt])) - want).max()
    assert off > 1e-2                               # the bug the issue measured: folding one value everywhere


def test_cell_weights_uses_the_cells_own_constant(models):
    ckpt = Checkpoint.open(models["encdec_fb"])
    for a, b in zip(cell_weights(ckpt, DEC), cell_weights(ckpt, DEC, forget_bias=0.5)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CheckpointError, match=r"forget_bias= 0\.7 disagrees with the \.meta graph, which adds 0\.5"):
        cell_weights(ckpt, DEC, forget_bias=0.7)


def test_toml_targets_the_halves_of_a_bidirectional_and_a_shared_cell_fills_both(models):
    import keras  # noqa: PLC0415
    from tf1_models import B, E, T, U, V  # noqa: PLC0415

    ids = keras.Input((T,), batch_size=B, dtype="int32")
    x = keras.layers.Embedding(V, E, name="emb")(ids)
    y = keras.layers.Bidirectional(keras.layers.LSTM(U, return_sequences=True, name="lstm"), name="bidirectional")(x)
    model = keras.Model(ids, keras.layers.Dense(V, name="logits")(y))
    cell = "encoder/bidirectional_rnn/fw/lstm_cell"
    mapping = Mapping.from_dict({"version": 1, "map": [
        {"checkpoint": cell, "keras": "bidirectional/forward_lstm", "transform": "lstm"},
        {"checkpoint": cell, "keras": "bidirectional/backward_lstm", "transform": "lstm"},
        {"checkpoint": "Variable", "keras": "emb/embeddings"},
        {"checkpoint": "logits/kernel", "keras": "logits/kernel"},
        {"checkpoint": "logits/bias", "keras": "logits/bias"}]})
    apply_mapping(model, models["shared_fw_bw"], mapping)
    bi = model.get_layer("bidirectional")
    want = cell_weights(Checkpoint.open(models["shared_fw_bw"]), cell)
    for layer in (bi.forward_layer, bi.backward_layer):
        for w, v in zip(layer.get_weights(), want):
            np.testing.assert_array_equal(w, v)
    with pytest.raises(MappingError, match=r"'bidirectional' is a Bidirectional: target one half "
                                           r"\(bidirectional/forward_lstm, bidirectional/backward_lstm\)"):
        apply_mapping(model, models["shared_fw_bw"], Mapping.from_dict(
            {"version": 1, "map": [{"checkpoint": cell, "keras": "bidirectional", "transform": "lstm"}],
             "ignore": ["re:.*"]}))


def test_convert_plan_folds_each_cells_own_value_and_reproduces_the_graph(models):
    from migrate.checkpoint.convert import plan_conversion  # noqa: PLC0415
    from migrate.checkpoint.materialise import finish_initialisation, materialise  # noqa: PLC0415

    src, tgt, want = models["encdec_fb_io"]
    ckpt = Checkpoint.open(models["encdec_fb"])
    model, _, plan, report = plan_conversion(ckpt)
    assert (plan.missing, plan.mismatched, plan.unexpected) == ([], [], [])
    assert {b.what: b.forget_bias for b in plan.bindings if b.cell_layout} == {"encoder layer 0": 1.0,
                                                                               "decoder layer 0": 0.5}
    assert report["forget_bias"]["source"].startswith("meta graph, per cell (")
    for b in plan.bindings:
        materialise(b, ckpt)                        # what convert does with each binding
    finish_initialisation(model)
    got = np.asarray(model({"encoder_ids": src, "decoder_ids": tgt}))
    np.testing.assert_allclose(got, want, atol=2e-5)
    with pytest.raises(CheckpointError, match=r"forget bias 1 from --forget-bias disagrees with the \.meta graph"):
        plan_conversion(ckpt, forget_bias=1.0)


def test_cli_refuses_a_disagreeing_forget_bias_unless_forced(models, tmp_path, capsys):
    from migrate.cli import main  # noqa: PLC0415

    out = tmp_path / "m.weights.h5"
    assert main(["convert", models["encdec_fb"], "--out", str(out), "--forget-bias", "1.0"]) == 2
    err = capsys.readouterr().err
    assert "forget bias 1 from --forget-bias disagrees with the .meta graph, which adds 1 (my_model/reader" in err
    assert ", 0.5 (my_model/writer/rnn/basic_lstm_cell: meta graph (" in err
    assert "--force-forget-bias" in err and not out.exists()
    assert main(["convert", models["encdec_fb"], "--out", str(out), "--forget-bias", "1.0",
                 "--force-forget-bias"]) == 0
    assert out.exists()
