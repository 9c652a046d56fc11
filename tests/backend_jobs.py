"""The jobs that tests/backend_children.py's JAX / PyTorch children run (NumPy, Keras and tf_migrate_runtime only:
TensorFlow is blocked there). Each returns `{key: array-like}`; a job that raises fails only itself, and its test
names it. Arrays come in as .npz paths (JSON kwargs)."""

from __future__ import annotations

import traceback

import numpy as np

# BackendChildren.run(..., file=JOBS): the path the children load these functions from
JOBS = __file__


def _outputs(got) -> list:
    return list(got) if isinstance(got, (list, tuple)) else [got]


def call_model(model: str, feed: str, first_only: bool = False) -> dict:
    """`load_model(model)(feed)`: {"0": first output, "1": ...} (first_only: the first output alone)."""
    import keras  # noqa: PLC0415

    with np.load(feed) as z:
        inputs = {k: z[k] for k in z.files}
    got = _outputs(keras.saving.load_model(model)(inputs))
    return {str(k): g for k, g in enumerate(got[:1] if first_only else got)}


def run_converted(model: str, inputs: str, prefix: str, names: list, feeds: int, outputs: int,
                  fit_output: int | None = None) -> dict:
    """tests/test_graph_backends.py's model run: for each feed (`{prefix}feed{j}/{name}` in `inputs`), every output
    eager (`model(feed)`) and traced (`predict_on_batch`: jax.jit on JAX) -> "{j}/{mode}/{k}"; with fit_output,
    "fit": the losses of 5 Adam (lr 0.05) epochs on one batch (`{prefix}fit_feed/...`, `{prefix}fit_labels`),
    sparse softmax cross-entropy on that output. A run that raises is reported in "errors" (its outputs empty)."""
    import keras  # noqa: PLC0415

    out, errors = {}, []
    with np.load(inputs) as z:
        model_ = keras.saving.load_model(model)
        for j in range(feeds):
            feed = {k: z[f"{prefix}feed{j}/{k}"] for k in names}
            for mode, run in (("eager", lambda f=feed: model_(f)), ("jit", lambda f=feed: model_.predict_on_batch(f))):
                try:
                    for k, g in enumerate(_outputs(run())):
                        out[f"{j}/{mode}/{k}"] = np.asarray(keras.ops.convert_to_numpy(g))
                except Exception:  # noqa: BLE001 - the test reads it (some are known limits)
                    errors.append(f"feed {j} {mode}: {traceback.format_exc()[-2000:]}")
                    for k in range(outputs):
                        out[f"{j}/{mode}/{k}"] = np.zeros(0)
        if fit_output is not None:
            try:
                x = {k: z[f"{prefix}fit_feed/{k}"] for k in names}
                y = z[f"{prefix}fit_labels"]
                sub = keras.Model(model_.input, model_.outputs[fit_output])
                sub.compile(optimizer=keras.optimizers.Adam(0.05),
                            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
                # one batch, one step per epoch: each epoch's loss is the loss before its step
                losses = sub.fit(x, y, batch_size=len(y), epochs=5, shuffle=False, verbose=0).history["loss"]
                out["fit"] = np.asarray(losses, np.float64)
            except Exception:  # noqa: BLE001
                errors.append(f"fit: {traceback.format_exc()[-2000:]}")
    out["errors"] = np.asarray(errors, dtype=str)
    return out


def raw_rnn_decoder_layer() -> dict:
    """tests/test_graph_constructs_raw_rnn.py: a RawRNNGreedyDecoder (an LSTM under a GRU, logits emitted, a row
    finished at time 0, per-row lengths and EOS) with seeded weights -> {"0": emits, "1"...: final states}. On JAX
    also under jax.jit: the static bound (a known length), zeros after the loop stopped (asserted here)."""
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers as L  # noqa: PLC0415

    layer = L.RawRNNGreedyDecoder(["lstm", "gru"], [4, 3], vocab_size=7, embedding_dim=3, output_size=7,
                                  emit="logits")
    args = dict(lengths=np.array([4, 0, 2]), end_token=2, initial_finished=np.array([False, True, False]))
    layer(np.array([1, 2, 3]), **args)
    rng = np.random.RandomState(0)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    out = [keras.ops.convert_to_numpy(x) for x in layer(np.array([1, 2, 3]), **args)]
    if keras.backend.backend() == "jax":
        import jax  # noqa: PLC0415

        eager = keras.ops.convert_to_numpy(layer(np.array([1, 2, 3]), lengths=5, end_token=2)[0])
        jitted = np.asarray(jax.jit(lambda s: layer(s, lengths=5, end_token=2)[0])(np.array([1, 2, 3])))
        assert jitted.shape[1] == 5 and np.allclose(jitted[:, :eager.shape[1]], eager, atol=1e-6), (jitted, eager)
        assert not jitted[:, eager.shape[1]:].any(), jitted
    return {str(k): o for k, o in enumerate(out)}
