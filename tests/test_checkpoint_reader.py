"""Reading and recognising TF1 checkpoints: real fixtures, a TF1 graph with every cell feature, bad inputs."""

import json
import os
import shutil

import pytest

from migrate.checkpoint import Checkpoint, CheckpointError, recognise, resolve_prefix
from migrate.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # tf_keras deprecation notes on rnn_cell.*

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "real_tf1_checkpoints")
APLAIN = os.path.abspath(os.path.join(FIXTURES, "aplain_basiclstm_2017"))
T2T = os.path.abspath(os.path.join(FIXTURES, "t2t_transformer_test"))


@pytest.fixture(scope="module")
def aplain_copy(tmp_path_factory):
    d = tmp_path_factory.mktemp("aplain")
    for f in os.listdir(APLAIN):
        shutil.copy(os.path.join(APLAIN, f), d / f)
        os.chmod(d / f, 0o644)
    return d


@pytest.fixture(scope="module")
def tf1_features_ckpt(tmp_path_factory):
    """A real TF1 graph: LSTMCell with peepholes + projection and a GRUCell stacked, a bidirectional
    BasicLSTMCell pair, Adam named `train_op` under a `training` scope, global_step."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    rnn_cell = tf.compat.v1.nn.rnn_cell
    prefix = str(tmp_path_factory.mktemp("features") / "model.ckpt")
    g = tf.Graph()
    with g.as_default():
        x = tf.random.normal([2, 3, 4], seed=1)
        with tf.compat.v1.variable_scope("encoder"):
            stack = rnn_cell.MultiRNNCell([rnn_cell.LSTMCell(5, use_peepholes=True, num_proj=3), rnn_cell.GRUCell(6)])
            out, _ = tf.compat.v1.nn.dynamic_rnn(stack, x, dtype=tf.float32)
        with tf.compat.v1.variable_scope("decoder"):
            (fw, bw), _ = tf.compat.v1.nn.bidirectional_dynamic_rnn(
                rnn_cell.BasicLSTMCell(4), rnn_cell.BasicLSTMCell(4), x, dtype=tf.float32)
        loss = tf.reduce_sum(out) + tf.reduce_sum(fw) + tf.reduce_sum(bw)
        step = tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.variable_scope("training"):
            train = tf.compat.v1.train.AdamOptimizer(0.1, name="train_op").minimize(loss, global_step=step)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train)
            saver.save(sess, prefix)
    return prefix


# -- resolving CKPT ------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["directory", "prefix", "index", "data", "meta"])
def test_every_form_of_ckpt_resolves_to_the_prefix(form):
    prefix = os.path.join(APLAIN, "model.ckpt")
    path = {"directory": APLAIN, "prefix": prefix, "index": prefix + ".index",
            "data": prefix + ".data-00000-of-00001", "meta": prefix + ".meta"}[form]
    assert resolve_prefix(path) == prefix


def test_missing_path_is_exit_2_naming_it(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.ckpt-5")]) == 2
    err = capsys.readouterr().err
    assert "nope.ckpt-5: no such checkpoint" in err and "Traceback" not in err


def test_truncated_data_file_is_named(aplain_copy, tmp_path):
    d = tmp_path / "t"
    shutil.copytree(aplain_copy, d)
    with open(d / "model.ckpt.data-00000-of-00001", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(CheckpointError, match=r"model\.ckpt\.data-00000-of-00001: truncated: .* 1000 bytes .* 207044"):
        Checkpoint.open(str(d))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_index_is_named(aplain_copy, tmp_path, damage):
    d = tmp_path / damage
    shutil.copytree(aplain_copy, d)
    index = d / "model.ckpt.index"
    data = index.read_bytes()
    index.write_bytes({"truncated": data[:100], "garbage": bytes(reversed(data)), "empty": b""}[damage])
    with pytest.raises(CheckpointError, match=r"model\.ckpt\.index: .*(truncated|corrupt)") as e:
        Checkpoint.open(str(d))
    assert e.value.code == 2


def test_missing_data_shard_is_named(tmp_path):
    d = tmp_path / "t2t"
    shutil.copytree(T2T, d)
    os.chmod(d, 0o755)
    os.remove(d / "model.ckpt-1.data-00001-of-00002")
    with pytest.raises(CheckpointError, match=r"model\.ckpt-1\.data-00001-of-00002: missing \(1 of 2"):
        Checkpoint.open(str(d))


def test_reduced_precision_variables_are_refused_by_name(tmp_path):
    import tensorflow as tf

    prefix = str(tmp_path / "half")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["rnn/lstm_cell/kernel", "rnn/lstm_cell/bias"],
                      shape_and_slices=["", ""],
                      tensors=[tf.zeros([6, 8], tf.bfloat16), tf.zeros([8], tf.float16)])
    ckpt = Checkpoint.open(prefix)
    with pytest.raises(CheckpointError, match=r"half\.index: 2 variable\(s\) .* rnn/lstm_cell/bias \(float16\), "
                                              r"rnn/lstm_cell/kernel \(bfloat16\)"):
        ckpt.refuse_reduced_precision()


# -- recognising ---------------------------------------------------------------------------------
def test_real_2017_checkpoint_is_an_old_era_basic_lstm():
    rec = recognise(Checkpoint.open(APLAIN).variables)
    (cell,) = rec.cells
    assert (cell.scope, cell.kind, cell.era, cell.units, cell.input_size) == (
        "rnn/basic_lstm_cell", "basic_lstm", "tf<=1.1", 80, 80)
    assert cell.variables == {"kernel": "rnn/basic_lstm_cell/weights", "bias": "rnn/basic_lstm_cell/biases"}
    assert rec.unrecognised == ["inference/bias1", "inference/bias2", "inference/weight1", "inference/weight2"]


def test_t2t_transformer_has_no_cell_and_prefixed_adam_state():
    rec = recognise(Checkpoint.open(T2T).variables)
    assert rec.cells == []
    (adam,) = rec.optimizers
    assert adam.optimizer == "Adam" and set(adam.non_slots) == {"training/beta1_power", "training/beta2_power"}
    assert {s.prefix for s in adam.slots} == {"training/"}
    m = adam.slots_of("transformer/body/target_space_embedding/kernel")
    assert m == {"m": "training/transformer/body/target_space_embedding/kernel/Adam",
                 "v": "training/transformer/body/target_space_embedding/kernel/Adam_1"}
    assert set(rec.other_state) == {"global_step"}
    assert rec.foreign_signatures()["multihead_attention"] == 24


def test_every_cell_feature_of_a_real_tf1_graph(tf1_features_ckpt):
    rec = recognise(Checkpoint.open(tf1_features_ckpt).variables)
    cells = {c.scope: c for c in rec.cells}
    lstm = cells["encoder/rnn/multi_rnn_cell/cell_0/lstm_cell"]
    assert (lstm.kind, lstm.layer, lstm.units, lstm.num_proj, lstm.input_size, lstm.peepholes) == (
        "lstm", 0, 5, 3, 4, True)
    assert set(lstm.variables) == {"kernel", "bias", "peephole_i", "peephole_f", "peephole_o", "projection"}
    gru = cells["encoder/rnn/multi_rnn_cell/cell_1/gru_cell"]
    assert (gru.kind, gru.layer, gru.units, gru.input_size, gru.role) == ("gru", 1, 6, 3, "encoder")
    for direction in ("fw", "bw"):
        c = cells[f"decoder/bidirectional_rnn/{direction}/basic_lstm_cell"]
        assert (c.kind, c.direction, c.units, c.role, c.era) == ("basic_lstm", direction, 4, "decoder", "tf>=1.2")
    (opt,) = rec.optimizers
    assert (opt.optimizer_name, opt.optimizer, opt.inferred_from) == ("train_op", "Adam", "beta1_power/beta2_power")
    assert opt.slots_of("encoder/rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel") == {
        "m": "training/encoder/rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel/train_op",
        "v": "training/encoder/rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel/train_op_1"}
    assert rec.unrecognised == []
    assert len(rec.model_variable_names()) == 6 + 4 + 2 + 2   # LSTM (+3 peepholes, projection), GRU, fw, bw


# -- tf-migrate inspect ----------------------------------------------------------------------------
def test_inspect_text_shows_tree_and_recognition(capsys):
    assert main(["inspect", APLAIN]) == 0
    out = capsys.readouterr().out
    assert "6 variables, 202.2 KiB" in out
    assert "weights" in out and "[160, 320]" in out and "200.0 KiB" in out
    assert "cell rnn/basic_lstm_cell: BasicLSTMCell, units 80, input 80" in out
    assert "naming era: tf<=1.1" in out
    assert "forget bias 0.8 (from meta graph" in out and "inference/rnn/basic_lstm_cell/add" in out
    # the .meta graph says how weight1/bias1, weight2/bias2 are used: two dense layers, nothing unrecognised
    assert "dense inference/weight1: 1 -> 80 [graph]" in out and "dense inference/weight2: 80 -> 1 [graph]" in out
    assert "unrecognised" not in out


def test_inspect_json_schema(capsys, tf1_features_ckpt):
    assert main(["inspect", tf1_features_ckpt, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["schema"], report["version"]) == ("tf-migrate/inspect", 2)
    assert report["checkpoint"]["num_variables"] == len(report["variables"])
    kinds = {v["name"]: v["kind"] for v in report["variables"]}
    assert kinds["global_step"] == "counter"
    assert kinds["training/beta1_power"] == "optimizer_state"
    assert kinds["training/decoder/bidirectional_rnn/bw/basic_lstm_cell/bias/train_op_1"] == "optimizer_slot"
    assert kinds["encoder/rnn/multi_rnn_cell/cell_0/lstm_cell/w_f_diag"] == "cell"
    assert set(kinds.values()) <= {"cell", "embedding", "dense", "attention", "part", "optimizer_slot",
                                   "optimizer_state", "counter", "unrecognised"}
    v = next(v for v in report["variables"] if v["name"] == "encoder/rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel")
    assert (v["shape"], v["dtype"], v["bytes"]) == ([9, 12], "float32", 9 * 12 * 4)
    assert [c["kind"] for c in report["cells"]] == ["basic_lstm", "basic_lstm", "lstm", "gru"]
    assert report["forget_bias"] == {"value": 1.0, "source": report["forget_bias"]["source"]}
    assert report["forget_bias"]["source"].startswith("meta graph")


def test_api_gives_gru_arrays_and_refuses_peepholes_by_name(tf1_features_ckpt):
    from migrate.checkpoint import cell_weights

    k, rk, b = cell_weights(tf1_features_ckpt, "encoder/rnn/multi_rnn_cell/cell_1/gru_cell")
    assert (k.shape, rk.shape, b.shape) == ((3, 18), (6, 18), (18,))   # GRU(6, reset_after=False) on 3 inputs
    with pytest.raises(CheckpointError, match=r"lstm_cell/w_i_diag.*peepholes / projection"):
        cell_weights(tf1_features_ckpt, "encoder/rnn/multi_rnn_cell/cell_0/lstm_cell", forget_bias=1.0)
    with pytest.raises(CheckpointError, match="GRUCell: it has no forget bias"):
        cell_weights(tf1_features_ckpt, "encoder/rnn/multi_rnn_cell/cell_1/gru_cell", forget_bias=1.0)


# -- V1 checkpoints (tf.train.Saver(write_version=V1): one table file per shard, no .index) ------------
@pytest.fixture(scope="module")
def v1_ckpt(tmp_path_factory):
    """A V1 checkpoint written here by TF's own V1 saver: a BasicLSTMCell (forget bias 0.7) over an embedding,
    as TF <= 0.11 saved by default; returns (directory, prefix, {name: value})."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util  # noqa: PLC0415  (test only: TF 1.x while loops)

    d = tmp_path_factory.mktemp("v1")
    g = tf.Graph()
    saved = control_flow_util.ENABLE_CONTROL_FLOW_V2
    control_flow_util.ENABLE_CONTROL_FLOW_V2 = False     # Enter / Exit loops, as the TF 1.x that wrote V1 files
    try:
        with g.as_default():
            ids = tf.compat.v1.placeholder(tf.int32, [2, 3], name="ids")
            emb = tf.compat.v1.get_variable("embedding", [7, 4])
            cell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(5, forget_bias=0.7)
            tf.compat.v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(emb, ids), dtype=tf.float32)
            saver = tf.compat.v1.train.Saver(write_version=tf.compat.v1.train.SaverDef.V1)
            with tf.compat.v1.Session(graph=g) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                bias = next(v for v in tf.compat.v1.global_variables() if v.op.name == "rnn/basic_lstm_cell/bias")
                sess.run(bias.assign_add(tf.random.normal([20], seed=2)))    # non-zero biases
                prefix = saver.save(sess, str(d / "model.ckpt"), global_step=3)
                values = {v.op.name: sess.run(v) for v in tf.compat.v1.global_variables()}
    finally:
        control_flow_util.ENABLE_CONTROL_FLOW_V2 = saved
    assert abs(values["rnn/basic_lstm_cell/bias"]).min() > 0
    return str(d), prefix, values


def test_v1_checkpoint_opens_in_every_form_and_reads_its_values(v1_ckpt):
    import numpy as np

    d, prefix, values = v1_ckpt
    assert sorted(os.listdir(d)) == ["checkpoint", "model.ckpt-3", "model.ckpt-3.meta"]     # no .index, no .data-*
    for form in (d, prefix, prefix + ".meta"):
        assert resolve_prefix(form) == prefix
    ckpt = Checkpoint.open(d)
    assert (ckpt.format, ckpt.index_path, ckpt.data_files, ckpt.meta_path) == ("V1", None, [prefix], prefix + ".meta")
    assert {n: v.shape for n, v in ckpt.variables.items()} == {
        "embedding": (7, 4), "rnn/basic_lstm_cell/kernel": (9, 20), "rnn/basic_lstm_cell/bias": (20,)}
    for name, value in values.items():
        np.testing.assert_array_equal(ckpt.read(name), value)
    rec = recognise(ckpt.variables)
    assert [(c.scope, c.layout, c.units, c.input_size) for c in rec.cells] == [("rnn/basic_lstm_cell", "lstm", 5, 4)]


def test_v1_checkpoint_inspects_with_its_graph(v1_ckpt, capsys):
    d, prefix, _ = v1_ckpt
    assert main(["inspect", d, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["checkpoint"]["format"] == "V1" and report["checkpoint"]["index"] is None
    assert report["checkpoint"]["data_files"] == [prefix]
    assert [(c["scope"], c["forget_bias"]["value"]) for c in report["cells"]] == [("rnn/basic_lstm_cell", 0.7)]
    assert main(["inspect", prefix]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{prefix}: 3 variables, ") and "(a V1 checkpoint, 1 data file(s), .meta graph)" in text


def test_damaged_v1_checkpoint_is_refused_naming_the_file(v1_ckpt, tmp_path, capsys):
    d, prefix, _ = v1_ckpt
    data = open(prefix, "rb").read()
    bad = tmp_path / "model.ckpt-3"
    bad.write_bytes(data[: len(data) // 2])                  # truncated: the table magic at the end is gone
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: not a TensorFlow checkpoint: no model.ckpt-3.index beside it" in err
    assert "not a V1 checkpoint file either" in err and "Traceback" not in err
    bad.write_bytes(b"\0" * (len(data) - 8) + data[-8:])      # the magic kept, the table zeroed
    with pytest.raises(CheckpointError, match=r"model\.ckpt-3: a V1 checkpoint TensorFlow cannot read .*corrupt"):
        Checkpoint.open(str(bad))


def test_private_tf_and_keras_modules_are_imported_only_by_internals():
    """`migrate/_internals.py` is the one module that touches `tensorflow.python` / `keras.src` (checked against
    the installed versions, with a public fallback); everything else goes through it or the public API."""
    import re  # noqa: PLC0415

    root = os.path.join(os.path.dirname(__file__), "..", "migrate")
    pattern = re.compile(r"^\s*(from|import)\s+(tensorflow\.python|keras\.src)\b", re.M)
    offenders = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and os.path.relpath(path, root) != "_internals.py":
                offenders += [f"{os.path.relpath(path, root)}: {m.group(0).strip()}"
                              for m in pattern.finditer(open(path, encoding="utf-8").read())]
    assert offenders == []


def test_quiet_silences_tensorflow_through_internals(monkeypatch):
    import tensorflow as tf  # noqa: PLC0415
    from tensorflow.python.util import deprecation  # noqa: PLC0415  (the private flag the helper sets)

    from migrate import _internals  # noqa: PLC0415
    from migrate.quiet import silence_after_import  # noqa: PLC0415

    monkeypatch.setattr(deprecation, "_PRINT_DEPRECATION_WARNINGS", True)
    monkeypatch.setenv(_internals.ENV_PUBLIC_ONLY, "1")      # public API only: the flag is left alone
    silence_after_import()
    assert deprecation._PRINT_DEPRECATION_WARNINGS is True and tf.get_logger().level == 40   # logging.ERROR
    monkeypatch.delenv(_internals.ENV_PUBLIC_ONLY)
    low, high = _internals.TESTED["tensorflow"]
    assert low <= _internals._version_tuple(tf.__version__) < high         # the installed TF is a tested one
    silence_after_import()
    assert deprecation._PRINT_DEPRECATION_WARNINGS is False


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_slot_roles_follow_centered(centered):
    """rmsprop.py makes `rms`, then `mg` only when centered=True, then `momentum`: the `_1` / `_2` suffixes mean
    different slots in the two forms."""
    from migrate.checkpoint.reader import VariableInfo

    names = ["dense/kernel", "dense/kernel/RMSProp", "dense/kernel/RMSProp_1"] + (
        ["dense/kernel/RMSProp_2"] if centered else [])
    rec = recognise({n: VariableInfo(n, (3, 4), "float32") for n in names})
    (opt,) = rec.optimizers
    want = {"rms": "dense/kernel/RMSProp", "momentum": "dense/kernel/RMSProp_1"}
    if centered:
        want = {"rms": "dense/kernel/RMSProp", "mg": "dense/kernel/RMSProp_1", "momentum": "dense/kernel/RMSProp_2"}
    assert opt.slots_of("dense/kernel") == want
