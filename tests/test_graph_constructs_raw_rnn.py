"""`tf.nn.raw_rnn` loops (migrate/graph/constructs/raw_rnn.py): a greedy `loop_fn` becomes one
`tfm.RawRNNGreedyDecoder`, a `loop_fn` reading a TensorArray becomes plain recurrent layers; built TF1-style
(tests/raw_rnn_builders.py: random non-zero weights and biases, forget bias 0.7 / 0.4), converted with parity,
then checked against the TF1 graph on batches where rows stop at different steps (EOS, per-row lengths, a row
finished at time 0). A `loop_fn` this module does not take stays the generic tier's."""

from __future__ import annotations

import os

import numpy as np
import pytest
from raw_rnn_builders import build, encoder, greedy
from tf1_models import session_config, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

pytestmark = pytest.mark.slow   # conversions

GREEDY = {   # name -> builder options (seed and eos_bias: some rows emit EOS, at different steps; see below)
    "lstm_eos_or_length": {"seed": 4, "eos_bias": 1.5},                     # EOS at step 2, or 7 steps
    "gru_logits_cond": {"cell": "gru", "emit": "logits", "cond": True, "seed": 4, "eos_bias": 0.5},   # EOS at 1-3
    "gru_row_lengths": {"cell": "gru", "stop": "lengths", "dense": True},   # ematvey's tutorial: time >= dec_len
    "multi_zero_state": {"cell": "multi", "encoder": False},                # MultiRNNCell([LSTM, GRU]) from zeros
    "basic_lstm_fixed_length": {"cell": "basic_lstm", "stop": "length"},
}
ENCODER = {"lstm": {}, "gru_given_state": {"cell": "gru", "given_state": True}, "multi": {"cell": "multi"}}
STATES = {"lstm": ["final_h:0", "final_c:0"], "basic_lstm": ["final_h:0", "final_c:0"]}


def _outputs(options) -> list[str]:
    return ["outputs:0"] + STATES.get(options.get("cell", "lstm"), ["final_h:0"])


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from migrate.graph.convert import convert_graph  # noqa: PLC0415

    root, done = tmp_path_factory.mktemp("raw_rnn"), {}

    def get(kind, name):
        if (kind, name) not in done:
            options = dict((GREEDY if kind == "greedy" else ENCODER)[name])
            prefix = build(greedy if kind == "greedy" else encoder, root, f"{kind}_{name}", **options)
            out, lines = root / f"{kind}_{name}_out", []
            report = convert_graph(prefix, str(out), outputs=_outputs(options), log=lines.append)
            done[kind, name] = (prefix, report, lines, out)
        return done[kind, name]

    return get


def _tf1_run(prefix, fetches, feed):
    import tensorflow as tf  # noqa: PLC0415

    v1 = tf.compat.v1
    with tf1_style(), tf.Graph().as_default(), v1.Session(config=session_config()) as s:
        v1.train.import_meta_graph(prefix + ".meta").restore(s, prefix)
        return s.run(fetches, {f"{k}:0": v for k, v in feed.items()})


def _keras_run(out, feed):
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401,PLC0415

    model = keras.saving.load_model(str(out / "model.keras"))
    got = model({k.replace("/", "__"): v for k, v in feed.items()})
    return model, [keras.ops.convert_to_numpy(g) for g in (got if isinstance(got, list | tuple) else [got])]


@pytest.mark.parametrize("name", sorted(GREEDY))
def test_greedy_raw_rnn_becomes_one_decoder_layer_with_parity(converted, name):
    _, report, lines, out = converted("greedy", name)
    assert report["parity"]["ok"], lines
    assert all(r["ok"] and r["max_abs"] < 1e-5 for r in report["parity"]["outputs"]), report["parity"]
    assert report["loops"][-1] == {"loop": "decoder/rnn", "how": "recognised as raw_rnn_greedy"}, report["loops"]
    assert report["translated"]["raw_rnn greedy loop_fn -> tfm.RawRNNGreedyDecoder"] == 1
    source = (out / "model.py").read_text()
    assert "tfm.WhileLoop" not in source and "tfm.RawRNNGreedyDecoder(" in source, source
    emit = "logits" if GREEDY[name].get("emit") == "logits" else "output"
    assert f"emit={emit!r}" in source


@pytest.mark.parametrize("name", ["gru_logits_cond", "lstm_eos_or_length"])
def test_greedy_raw_rnn_rows_stopped_by_eos_emit_zeros_and_keep_their_state(converted, name):
    """On 16 rows that emit EOS at different steps (LSTM: at step 2 or never, the loop running to `max_len` 7;
    GRU: at steps 1 to 3, the loop ending there): the emits (zeros after a row's EOS) and the final states (copied
    through from there) equal TF1's."""
    prefix, _, _, out = converted("greedy", name)
    src = np.random.RandomState(0).randint(0, 11, (16, 5)).astype("int32")
    fetch = _outputs(GREEDY[name])
    want = _tf1_run(prefix, fetch, {"src": src})
    live = (np.abs(want[0]).sum(-1) > 0).sum(1)
    assert len(set(live.tolist())) >= 2 and want[0].shape[1] == {"gru_logits_cond": 3}.get(name, 7), live
    _, got = _keras_run(out, {"src": src})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_per_row_lengths_and_a_row_finished_at_time_zero(converted):
    """ematvey's `time >= decoder_lengths`: each row stops at its own length; a length 0 row is finished before the
    first step (loop_fn(0)'s elements_finished): it emits only zeros and keeps the encoder's state."""
    prefix, _, _, out = converted("greedy", "gru_row_lengths")
    feed = {"src": np.random.RandomState(1).randint(0, 11, (4, 5)).astype("int32"),
            "decoder/dec_len": np.array([3, 0, 5, 1], "int32")}
    want = _tf1_run(prefix, ["outputs:0", "final_h:0"], feed)
    _, got = _keras_run(out, feed)
    assert want[0].shape[1] == 5 and not want[0][1].any() and not want[0][0, 3:].any()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_the_decoder_layer_trains(converted):
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    model, _ = _keras_run(converted("greedy", "lstm_eos_or_length")[3], {"src": np.zeros((2, 3), "int32")})
    layer = next(la for la in model.layers if type(la).__name__ == "RawRNNGreedyDecoder")
    assert [w.path.rsplit("/", 1)[-1] for w in layer.trainable_weights] == [
        "cell_0_kernel", "cell_0_recurrent_kernel", "cell_0_bias", "output_kernel", "output_bias"]
    assert layer.shared_weights == {"embedding": ["embedding", 0]}   # the encoder's Embedding (issue 22)
    weights = layer.trainable_weights + [layer.embedding]
    src = np.random.RandomState(2).randint(0, 11, (3, 5)).astype("int32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model({"src": src})[0]))
    grads = tape.gradient(loss, weights)
    # the argmax feedback has no gradient: the output layer is reached only through the loss on the cell outputs
    moved = [w.path.rsplit("/", 1)[-1] for w, g in zip(weights, grads)
             if g is not None and float(tf.reduce_max(tf.abs(g))) > 0]
    assert {"cell_0_kernel", "cell_0_recurrent_kernel", "cell_0_bias", "embeddings"} <= set(moved), moved
    assert keras.ops.convert_to_numpy(loss) > 0


@pytest.mark.parametrize("name", sorted(ENCODER))
def test_raw_rnn_over_a_tensor_array_becomes_plain_recurrent_layers(converted, name):
    """TF 1.15's raw_rnn docstring example (`inputs_ta.read(time)` until `time >= lengths`) is a dynamic_rnn with
    sequence_length run for max(lengths) steps: tfm.LSTM / GRU with the length mask, zeros past each length."""
    prefix, report, lines, out = converted("encoder", name)
    assert report["parity"]["ok"], lines
    assert report["loops"] == [{"loop": "rnn", "how": "recognised as raw_rnn"}], report["loops"]
    source = (out / "model.py").read_text()
    assert "tfm.WhileLoop" not in source and "tfm.TrimToMaxLength(" in source and "tfm.ZeroPastLength(" in source
    layers = {"lstm": ["tfm.LSTM("], "gru_given_state": ["tfm.GRU("], "multi": ["tfm.LSTM(", "tfm.GRU("]}[name]
    assert all(source.count(c) == 1 for c in layers), source
    rng = np.random.RandomState(3)
    feed = {"x": rng.normal(size=(3, 6, 4)).astype("float32"), "lengths": np.array([4, 0, 2], "int32")}
    if name == "gru_given_state":
        feed["h0"] = rng.normal(size=(3, 5)).astype("float32")
    fetch = _outputs({"cell": "gru" if name != "lstm" else "lstm"})
    want = _tf1_run(prefix, fetch, feed)
    _, got = _keras_run(out, feed)
    assert want[0].shape[1] == 4 and not want[0][1].any()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_a_greedy_raw_rnn_stopped_only_by_eos_stays_generic_and_says_why(tmp_path):
    """Without `time >= length` the loop has no bound (it runs until every row emitted EOS): not taken, and the
    reason is the loop's `why` (the graph is only read here: its loop may never end on random weights)."""
    from migrate.graph.constructs import REGISTRY  # noqa: PLC0415
    from migrate.graph.constructs.raw_rnn import raw_rnn_provider  # noqa: PLC0415
    from migrate.graph.loops import why_not_recognised  # noqa: PLC0415
    from migrate.graph.meta import GraphView  # noqa: PLC0415
    from migrate.parity.tf1_graph import TF1Graph  # noqa: PLC0415

    prefix = build(greedy, tmp_path, "eos_only", stop="eos")
    with TF1Graph(prefix) as g:
        g.focus(["outputs:0"])
        view = GraphView(g)
        assert REGISTRY.frames(view, raw_rnn_provider) == {}
        assert "no bound on its length" in why_not_recognised(view, "decoder/rnn/while/while_context")


# ------------------------------------------------------------------------------------------------ the layer itself
def test_the_decoder_layer_runs_the_same_on_tensorflow_jax_and_pytorch(backend_children):
    """The layer (an LSTM under a GRU, logits emitted, a row finished at time 0, per-row lengths and EOS) gives the
    same emits and final states on the three backends (tests/backend_jobs.py `raw_rnn_decoder_layer`: here on
    TensorFlow, in the run's JAX and PyTorch children); under jax.jit too (its buffers sized from a known
    length). Its config round-trips; a loop nothing bounds is a clear error."""
    import keras  # noqa: PLC0415
    from backend_children import Job  # noqa: PLC0415
    from backend_jobs import JOBS, raw_rnn_decoder_layer  # noqa: PLC0415

    from tf_migrate_runtime.layers import RawRNNGreedyDecoder  # noqa: PLC0415

    assert keras.backend.backend() == "tensorflow", "the reference runs in this process, on TensorFlow"
    job = Job("RawRNNGreedyDecoder", JOBS, "raw_rnn_decoder_layer")
    replies = backend_children.run({"jax": [job], "torch": [job]})
    got = {"tensorflow": raw_rnn_decoder_layer()}
    got.update({b: r.values(job.name) for b, r in replies.items()})
    got = {b: [v[k] for k in sorted(v, key=int)] for b, v in got.items()}
    ref = got["tensorflow"]
    assert ref[0].shape == (3, 4, 7) and not ref[0][1].any() and not ref[0][2, 2:].any()
    for backend in ("jax", "torch"):
        assert len(got[backend]) == len(ref), (backend, len(got[backend]), len(ref))
        for k, (a, b) in enumerate(zip(got[backend], ref)):
            np.testing.assert_allclose(a, b, atol=1e-5, err_msg=f"output {k} on {backend}")
    layer = RawRNNGreedyDecoder(["gru"], [4], vocab_size=7, embedding_dim=3, output_size=7, use_bias=False,
                                emit="logits")
    again = RawRNNGreedyDecoder.from_config(layer.get_config())
    assert (again.emit, again.use_bias, again.output_size, again.width) == ("logits", False, 7, 7)
    with pytest.raises(ValueError, match="neither lengths nor maximum_iterations"):
        layer(np.array([1, 1]), end_token=2)
