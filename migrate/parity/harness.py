"""The parity harness: two sides, the same inputs, one `Check` object per comparison, one `ParityReport`.

Two kinds of pair go through it (`run_checks` turns their checks into the report, for both):

| entry point         | TF1 side                                   | Keras side                          | checks |
|---------------------|--------------------------------------------|-------------------------------------|--------|
| `run_graph_parity`  | the checkpoint's own `.meta` graph          | the user's `.keras` / `.weights.h5` | one `OutputTensorCheck` per bound output |
|                     | (`tf1_graph.TF1Graph`)                      | (`keras_side.KerasSide`)            |        |
| `run_parity`        | this repo's `legacy_tf1` graph from         | a `tf2.Seq2Seq` port                | weights, logits, loss, gradients, adam, greedy |
|                     | hparams.json (`legacy_side.LegacyRunner`)   | (`port_side.PortRunner`)            |        |

`backend="jax" | "torch"` (`tf-migrate parity --backend`) runs the Keras side in a child process on that Keras
backend, TensorFlow never imported there (`migrate.parity.backend_side`); the TF1 side stays here, and the same
checks and report compare them (`info["backend"]` names it). `compare_on_backend` + `SharedLegacy` compare one
legacy side with ports on several backends (the parity suite's backend set).

The legacy pair's checks (`compare_sides`, in this order, `CHECKS`):

| check     | legacy TF1 (graph mode, `legacy_tf1`)        | port (Keras 3, `tf2`)                       | tolerance   |
|-----------|----------------------------------------------|---------------------------------------------|-------------|
| weights   | the checkpoint's variables                   | every port weight mapped back to TF1 layout | float32     |
| logits    | `model.logits`, valid positions              | `model(inputs)`, valid positions            | float32     |
| loss      | contrib `sequence_loss`                      | the port's `SequenceLoss`                   | float32     |
| gradients | `tf.gradients(loss, var)` (dense)            | `GradientTape`, mapped back (linear map)    | gradients   |
| adam      | variables after K `train_op` runs            | K steps of the port's optimizer, mapped back | adam       |
| greedy    | `greedy_ids` of the infer graph              | `model.greedy_decode`                       | exact       |

Both sides start from the checkpoint's weights with a FRESH optimizer state: the legacy `train_op`
(Adam lr, beta1 0.9, beta2 0.999, epsilon 1e-8, `clip_by_global_norm(max_gradient_norm)`) against the
port's own optimizer (`tf2.training.make_optimizer`: Adam with epsilon 1e-8 - Keras's default is 1e-7 -
and `global_clipnorm`). Dropout is set to 0 on both sides (a parity check compares
deterministic functions); the report notes it when hparams had dropout.

The mapping port <-> TF1 is the converter's (`migrate.checkpoint.bindings.bind_seq2seq`), so the
harness checks exactly the layout transforms the converter applies; gradients are mapped back with
the linear map (no forget-bias add).

Modules by job: inputs (`batches`, `graph_inputs`, `graph_spec`), TF1 side (`tf1_graph`, `legacy_side`),
Keras side (`keras_side`, `port_side`), pairs (`graph_pair`), checks (`checks`), run and report (this module,
`report`). The names below are re-exported from those modules for existing callers.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from migrate.parity.adam_bound import signal_to_noise, weight_bound
from migrate.parity.backend_side import (  # noqa: F401  (re-exported)
    BackendError,
    BackendWorker,
    RemoteKerasSide,
    RemotePortRunner,
    normalize_backend,
)
from migrate.parity.batches import parity_batches, random_batch  # noqa: F401  (re-exported)
from migrate.parity.checks import (  # noqa: F401  (re-exported)
    LOGIT_SCALE_FRACTION,
    AdamCheck,
    AdamError,
    Check,
    GradientsCheck,
    GreedyCheck,
    LogitsCheck,
    LossCheck,
    UnmappableCheck,
    WeightsCheck,
    stack_padded,
)
from migrate.parity.compare import ParityResult
from migrate.parity.diagnose import WeightContext, describe_index, diagnose_weight
from migrate.parity.errors import ParityInputError  # noqa: F401  (re-exported)
from migrate.parity.legacy_side import (  # noqa: F401  (re-exported)
    ARCHITECTURE_FIELDS,
    TRAINING_FIELDS,
    AdamTrajectory,
    LegacyInput,
    LegacyRunner,
    check_architecture,
    resolve_legacy,
)
from migrate.parity.legacy_side import adam_settings as legacy_adam_settings
from migrate.parity.port_side import (  # noqa: F401  (re-exported)
    PortRunner,
    _UnmappableError,
    bind,
    convert_on_the_fly,
    load_port,
    port_loss,
    port_optimizer,
)
from migrate.parity.report import ParityReport
from migrate.parity.tolerances import (
    ADAM_NOISE_FACTOR,
    ADAM_NOISE_FLOOR,
    ADAM_PROPAGATION_FACTOR,
    EPS_FLOAT32,
    STEP_TOLERANCES,
)
from seq2seq_task import Batch, HParams

CHECKS = ("weights", "logits", "loss", "gradients", "adam", "greedy")


# -- the one run: checks -> results -> report ------------------------------------------------------------


def run_checks(checks: Iterable[Check]) -> list[ParityResult]:
    """`compare()` every check, in order; their results, each tagged with its check and subject."""
    results: list[ParityResult] = []
    for check in checks:
        results.extend(check.compare())
    return results


def make_report(results: list[ParityResult], info: dict[str, Any], notes: Sequence[str] = (),
                start: float | None = None) -> ParityReport:
    """The `ParityReport` of a run (`info["seconds"]` from `start`)."""
    if start is not None:
        info = {**info, "seconds": round(time.time() - start, 2)}
    return ParityReport(results=list(results), info=info, notes=list(notes))


# -- the graph pair: any TF1 model's .meta graph vs the user's Keras model ---------------------------------


def run_graph_parity(tf1: str, keras: Any, *, mapping: str | None = None, build: str | None = None,
                     inputs: str | None = None, feeds: Sequence[str] = (), batch_size: int = 8,
                     time_steps: int = 6, seed: int = 0, rtol: float | None = None,
                     atol: float | None = None, backend: str = "tf",
                     variables: Sequence[str] = (), tag_set: str | None = None,
                     signature: str | None = None) -> ParityReport:
    """Compare a user's Keras model with the TF1 graph in the checkpoint's `.meta`, restored from the checkpoint.

    Args:
        tf1: a checkpoint prefix or directory with `PREFIX.meta` beside it; or any other form a TF1 model ships in
            (`migrate.parity.forms`: a SavedModel folder, chosen by `tag_set` / `signature`; a frozen GraphDef
            `.pb` / `.pbtxt`; an Estimator model_dir).
        keras: a `.keras` file, a `.weights.h5` file (with `build`), or a Keras model object.
        mapping: a TOML mapping file whose `[parity]` section binds inputs, outputs and feeds
            (`migrate.parity.graph_spec`).
        build: `MODULE:FUNCTION` returning the Keras model (for `.weights.h5`).
        inputs: a `.npz` batch keyed by placeholder names (default: generated, `graph_inputs`).
        feeds: `NAME=VALUE` feeds (`--feed`), over the mapping's.
        batch_size, time_steps, seed: the generated batch.
        rtol, atol: one tolerance (default rtol 1e-6, atol max(1e-5, 1e-5 x max |expected|); integers exact).
        backend: the Keras backend the model runs on: "tf" (this process) or "jax" / "torch" (a child process
            without TensorFlow, `migrate.parity.backend_side`; `keras` must then be a file).

    Returns:
        A `ParityReport`; truthy when every bound output is within tolerance.

    Raises:
        ParityInputError: unusable input (exit code 2 in the CLI).
    """
    from migrate.parity.graph_pair import GraphPair  # noqa: PLC0415
    from migrate.parity.graph_spec import ParitySpec  # noqa: PLC0415
    from migrate.parity.keras_side import KerasSide  # noqa: PLC0415
    from migrate.parity.reference import reference_report  # noqa: PLC0415
    from migrate.parity.tf1_graph import TF1Graph  # noqa: PLC0415

    start = time.time()
    spec = ParitySpec.from_file(mapping) if mapping else None
    if spec is None and isinstance(keras, str | os.PathLike):  # a model `convert --from-graph` wrote: its bindings
        spec = ParitySpec.from_convert_report(os.fspath(keras))
    spec = spec or ParitySpec()
    spec.add_cli_feeds(list(feeds))
    backend = normalize_backend(backend)
    if backend != "tensorflow" and not isinstance(keras, str | os.PathLike):
        raise ParityInputError(f"backend {backend}: pass the Keras model as a file (.keras, or .weights.h5 with "
                               f"build): it is loaded again in a child process running KERAS_BACKEND={backend}")
    side = KerasSide.load(os.fspath(keras), build) if isinstance(keras, str | os.PathLike) else KerasSide(keras)
    worker = BackendWorker(backend) if backend != "tensorflow" else None
    try:
        if worker is not None:
            side = RemoteKerasSide(side, worker, os.fspath(keras), build)
        constants = {k: r.value for k, r in spec.feeds.items() if r.length_of is None}
        from migrate.parity.dropouts import inference_constants  # noqa: PLC0415
        from migrate.parity.tf1_graph import parse_variable_options  # noqa: PLC0415 - `--variable NAME=FILE.npy`

        with TF1Graph(tf1, constants=constants, variables=parse_variable_options(list(variables)), tag_set=tag_set,
                      signature=signature) as graph:
            _start_at_bound_tensors(graph, spec)
            switched = inference_constants(graph, keep=constants)
            pair = GraphPair(graph, side, spec)
            feed = pair.feed(npz=inputs, batch_size=batch_size, time_steps=time_steps, seed=seed)
            checks, one_row = _checks_on_a_batch_it_takes(pair, feed, rtol, atol, time_steps, seed)
            feed = one_row or feed
            results = run_checks(checks)
    finally:
        if worker is not None:
            worker.close()
    rows = feed.sizes.batch if feed.sizes is not None else \
        next((int(v.shape[0]) for v in feed.values.values() if np.ndim(v)), 1)   # the batch, whichever its axis
    info = {"tf1": graph.prefix or graph.meta, "meta": graph.meta, "source": {**graph.source.report(), **reference_report(graph)}, "keras": side.source, "mapping": mapping,
            "inputs": pair.inputs, "outputs": pair.outputs, "feeds": {k: _show(v) for k, v in feed.values.items()
                                                                    if k not in pair.inputs.values()},
            "batch": inputs or {"rows": rows, "seed": seed, "time_steps": time_steps}, "rtol": rtol, "atol": atol,
            "restored": len(graph.restored), "not_restored": graph.not_restored, "constants": graph.overridden,
            "variables_not_from_checkpoint": graph.assigned, "tf1_references": graph.references_used,
            "backend": backend, **_child_info(side)}
    references = [f"TF1 side, {op}: {how}." for op, how in graph.references_used.items()]
    dropouts = [_dropout_note(switched)] if switched else []
    return make_report(results, info, notes=dropouts + pair.notes + feed.notes + references + _backend_notes(backend),
                       start=start)


def _start_at_bound_tensors(graph, spec) -> None:
    """Keras inputs bound to tensors that are not placeholders (a SavedModel signature's `IteratorGetNext:1`, a
    `[parity] inputs` binding, a `convert_report.json` input's `starts_at`), and a signature's inputs that are not
    placeholders: the graph starts there as `convert` does (`TF1Graph.start_at`), before the import; the bindings
    name the placeholders standing for them. The parsed features of a serialized-`tf.Example` signature stay as they
    are (they are fed serialized examples)."""
    signature = getattr(getattr(graph, "source", None), "signature", None) or {}
    parse = signature.get("parse_example") or {}
    cut = {f.get("tensor") for f in parse.get("features", {}).values()}
    wanted = [t for t in spec.inputs.values() if t not in cut and graph.has_tensor(t)]
    wanted += [v["tensor"] for v in signature.get("inputs", {}).values() if v["tensor"] not in wanted]
    made = graph.start_at(dict.fromkeys(wanted), {v["tensor"]: v["shape"] for v in signature.get("inputs", {}).values()})
    spec.inputs.update({k: made.get(t, t) for k, t in spec.inputs.items()})


def _checks_on_a_batch_it_takes(pair, feed, rtol, atol, time_steps: int, seed: int):
    """(`pair.checks(feed)`, None), or, when the graph refuses a generated batch of several rows and takes a
    generated batch of 1 (`graph_inputs.on_a_batch_it_takes`: a graph exported for one example at a time), (the
    checks on that batch, its feed, with a note saying why). A graph refusing both: the first refusal is the reason
    given."""
    from migrate.parity.errors import InputsRejected  # noqa: PLC0415
    from migrate.parity.graph_inputs import on_a_batch_it_takes  # noqa: PLC0415

    checks, ran, first = on_a_batch_it_takes(lambda f: pair.checks(f, rtol=rtol, atol=atol), feed,
                                             lambda: pair.feed(batch_size=1, time_steps=time_steps, seed=seed),
                                             InputsRejected)
    if first is None:
        return checks, None
    ran.notes.insert(0, f"The TF1 graph refuses a generated batch of {feed.sizes.batch} and runs a batch of "
                        f"1: compared on a batch of 1 (the graph takes one example at a time; --inputs "
                        f"FEED.npz compares your own batch).")
    return checks, ran


def _dropout_note(switched: dict[str, float]) -> str:
    """What `inference_constants` set: the TF1 graph's dropouts with a constant keep probability (or rate)."""
    shown = ", ".join(f"{k}:0 = {v:g}" for k, v in list(switched.items())[:3])
    more = f" and {len(switched) - 3} more" if len(switched) > 3 else ""
    return (f"dropout with a constant keep probability switched off in the TF1 graph, as at inference (the Keras "
            f"model runs without dropout): {shown}{more}; --feed NAME=VALUE keeps another value.")


def _child_info(side: Any) -> dict[str, Any]:
    """What a child process reports about the Keras side's run (none for the in-process TF backend)."""
    info = getattr(side, "info", None)
    return {"keras_process": info} if info else {}


def _backend_notes(backend: str) -> list[str]:
    if backend == "tensorflow":
        return []
    return [f"The Keras model ran on KERAS_BACKEND={backend} in a child process that never imported TensorFlow; "
            f"the TF1 side ran on TensorFlow in this process."]


def _show(v: Any) -> Any:
    a = np.asarray(v)
    return a.item() if a.ndim == 0 else f"{a.dtype}{list(a.shape)}"


# -- the legacy pair: this repo's legacy_tf1 model vs its tf2 port ----------------------------------------


def _weight_context(name: str, binding: Any, role_index: int, legacy: dict[str, np.ndarray]) -> WeightContext:
    from migrate.checkpoint.bindings import TRANSFORMS  # noqa: PLC0415

    family = binding.transform if binding.transform in ("lstm", "gru") else None
    role = TRANSFORMS[binding.transform][0][role_index] if family else name.rsplit("/", 1)[-1]
    mirror = name.replace("/fw/", "/bw/") if "/fw/" in name else name.replace("/bw/", "/fw/")
    return WeightContext(name=name, family=family, role=role, input_size=binding.input_size,
                         forget_bias=binding.forget_bias if family == "lstm" else None,
                         partner=legacy.get(mirror) if mirror != name else None)


def _annotator(by_name: dict[str, tuple[Any, int]], legacy: dict[str, np.ndarray], diagnose: bool) -> Callable:
    """Notes for a failed per-variable result: where in the variable, and (weights) the likely mistake."""

    def annotate(result: ParityResult, name: str, expected: np.ndarray, actual: np.ndarray) -> None:
        b, i = by_name[name]
        ctx = _weight_context(name, b, i, legacy)
        index = result.margin_index if result.margin_index is not None else result.max_abs_index
        if index is not None:   # the element most outside its tolerance (the one the message shows)
            where = describe_index(index, result.shape, ctx)
            if where:
                result.notes.append(f"Index {index} is {where}.")
        if diagnose:
            cause = diagnose_weight(expected, actual, ctx)
            if cause:
                result.notes.append(cause)

    return annotate


def compare_sides(legacy: LegacyRunner, port: PortRunner, batches: Sequence[Batch], *,
                  checks: Sequence[str] = CHECKS, adam_steps: int = 3, rtol: float | None = None,
                  atol: float | None = None, mask_padding: bool = True) -> list[ParityResult]:
    """Every requested check of the legacy pair, as `ParityResult`s in `CHECKS` order (see the module table).

    `mask_padding=False` compares the logits at padded decoder steps too (what a naive check does;
    the mutation suite uses it): a failure then says whether every mismatch lies in the padding.
    """
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ParityInputError(f"unknown check(s) {', '.join(sorted(unknown))}; expected some of {', '.join(CHECKS)}")
    results: list[ParityResult] = []
    legacy_values = legacy.values()
    by_name = {n: (b, i) for b in port.bindings for i, n in enumerate(b.tf1_names)}
    names = [n for n in legacy.names if n in by_name]
    shapes = {n: tuple(v.shape) for n, v in legacy_values.items()}

    def unmappable(kind: str, e: _UnmappableError) -> UnmappableCheck:
        return UnmappableCheck(kind, e.binding.tf1_names, shapes,
                               f"Cannot map the port's {e.binding.what} back to TF1 layout: {e}")

    mapped = True
    if "weights" in checks:
        try:
            check: Check = WeightsCheck(legacy_values, port.weights(), names,
                                        _annotator(by_name, legacy_values, diagnose=True), rtol, atol)
        except _UnmappableError as e:
            check, mapped = unmappable("weights", e), False
        results.extend(run_checks([check]))

    if "logits" in checks or "loss" in checks:
        l_logits, p_logits, l_loss, p_loss, masks = [], [], [], [], []
        for batch in batches:
            a, la = legacy.forward(batch)
            b, lb = port.forward(batch)
            l_logits.append(a)
            p_logits.append(b)
            l_loss.append(la)
            p_loss.append(lb)
            masks.append(batch.decoder_input_ids != 0)
        forward: list[Check] = []
        if "logits" in checks:
            forward.append(LogitsCheck(expected=l_logits, actual=p_logits, masks=masks, rtol=rtol, atol=atol,
                                       mask_padding=mask_padding))
        if "loss" in checks:
            forward.append(LossCheck(l_loss, p_loss, rtol, atol,
                                     hints=lambda have: _loss_hints(l_logits, batches, have)))
        results.extend(run_checks(forward))

    grads: tuple[dict, dict] | None = None
    if ("gradients" in checks or "adam" in checks) and mapped:
        try:
            grads = legacy.gradients(batches[0]), port.gradients(batches[0])
        except _UnmappableError as e:
            results.extend(run_checks([unmappable("gradients", e)]))
            mapped = False
    if "gradients" in checks and grads is not None:
        results.extend(run_checks([GradientsCheck(grads[0], grads[1], names,
                                                  _annotator(by_name, legacy_values, diagnose=False), rtol, atol)]))
    if "adam" in checks and grads is not None and adam_steps > 0:
        trajectory = legacy.adam_trajectory(batches, adam_steps)
        have = port.adam_steps(batches, adam_steps, legacy.hparams)
        grads_ok = all(r.ok for r in results if r.check == "gradients")
        error = adam_error_bound(legacy, port, trajectory, batches, grads, names)
        results.extend(run_checks([AdamCheck(trajectory.after, have, names,
                                             _annotator(by_name, legacy_values, diagnose=False), rtol, atol,
                                             steps=adam_steps, error=error, gradients_ok=grads_ok)]))
    if "greedy" in checks:
        results.extend(run_checks([GreedyCheck([legacy.greedy(b) for b in batches],
                                               [port.greedy(b) for b in batches])]))
    return results


def adam_error_bound(legacy: LegacyRunner | SharedLegacy, port: Any, trajectory: AdamTrajectory,
                     batches: Sequence[Batch], grads: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
                     names: Sequence[str]) -> AdamError:
    """How far a correct port's weights may be from the legacy's after the K steps of `trajectory`, per element.

    `adam_bound.weight_bound` of the legacy's clipped gradients, with the gap `delta_k` of each step's gradients
    made of two measurements, neither of which runs the port's optimizer (an optimizer mistake cannot widen its own
    tolerance):

    - float32 noise: the port's gradients at the legacy's weights before step k, on step k's batch, against the
      legacy's (step 1: the gradients check's own measurement); at most the gradients check's tolerance (a bigger
      gap is a gradient bug, not noise), at least `ADAM_NOISE_FLOOR` x its largest in the variable; times
      `ADAM_NOISE_FACTOR`. A port that cannot compute gradients at given weights (a backend child) gets the
      gradients check's relative noise times each gradient instead;
    - propagation: after a step the two sides' weights differ (by up to the bound so far), so their next gradients
      differ by that much more. The legacy graph measures it: its gradients at its weights plus the bound so far
      with random signs, minus those at its weights; times `ADAM_PROPAGATION_FACTOR`;
    - clipping: when `clip_by_global_norm` clips (or may, on one side), its factor moves by the gap's norm
      relative to the global norm, and by the difference between TF1's norm (an embedding's IndexedSlices rows
      counted one by one) and the dense gradient's (what a JAX or PyTorch port clips by).
    """
    settings = legacy_adam_settings(legacy.hparams)
    want, have = grads
    g_rtol, g_atol = STEP_TOLERANCES["gradients"]
    relative = EPS_FLOAT32    # fallback noise model: the gradients check's largest relative gap
    for n in names:
        top = float(np.max(np.abs(want[n]), initial=0.0))
        if top > 0:
            relative = max(relative, float(np.max(np.abs(np.asarray(have[n], np.float64) - want[n]))) / top)
    port_gradients_at = getattr(port, "gradients_at", None)
    rng = np.random.RandomState(0)
    seen: dict[str, list[np.ndarray]] = {n: [] for n in names}
    gaps: dict[str, list[np.ndarray]] = {n: [] for n in names}
    bound: dict[str, np.ndarray] = {n: np.zeros(np.shape(want[n])) for n in names}
    for k, (before, g) in enumerate(zip(trajectory.before, trajectory.gradients)):
        batch = batches[k % len(batches)]
        if k == 0:
            other = have
        elif port_gradients_at is not None:
            other = port_gradients_at(before, batch)
        else:
            other = None
        noise = {}
        for n in names:
            gn = np.asarray(g[n], np.float64)
            if other is None:
                d = relative * np.maximum(np.abs(gn), ADAM_NOISE_FLOOR * np.max(np.abs(gn), initial=0.0))
            else:
                d = np.minimum(np.abs(np.asarray(other[n], np.float64) - gn), g_atol + g_rtol * np.abs(gn))
            noise[n] = np.maximum(d, ADAM_NOISE_FLOOR * np.max(d, initial=0.0))
        propagation: dict[str, Any] = {n: 0.0 for n in names}
        if k:   # the legacy's gradients at its weights moved by the bound so far (random signs)
            moved = dict(before)
            for n in names:
                moved[n] = before[n] + rng.choice([-1.0, 1.0], np.shape(bound[n])) * bound[n]
            probe = legacy.gradients_at(moved, batch)
            propagation = {n: np.abs(np.asarray(probe[n], np.float64) - g[n]) for n in names}
        gap = {n: ADAM_NOISE_FACTOR * noise[n] + ADAM_PROPAGATION_FACTOR * propagation[n] for n in names}
        norm = trajectory.global_norms[k]
        scale = settings.clip_scale(norm)
        gap_norm = math.sqrt(sum(float(np.sum(np.square(gap[n]))) for n in names))
        # TF1's global norm counts an embedding's IndexedSlices rows one by one (duplicates unsummed); a port
        # whose backend has dense gradients (JAX, PyTorch) clips by the dense gradient's norm instead
        dense = math.sqrt(sum(float(np.sum(np.square(np.asarray(x, np.float64)))) for x in g.values()))
        clips = settings.max_gradient_norm is not None and max(norm, dense) + gap_norm >= settings.max_gradient_norm
        rho = (gap_norm + abs(dense - norm)) / norm if clips and norm > 0 else 0.0
        for n in names:
            clipped = scale * np.asarray(g[n], np.float64)
            seen[n].append(clipped)
            gaps[n].append(scale * gap[n] + rho * np.abs(clipped))
            bound[n] = weight_bound(seen[n], gaps[n], settings)
    return AdamError(bound=bound, signal_to_noise={n: signal_to_noise(seen[n], gaps[n]) for n in names},
                     noise=relative, learning_rate=settings.learning_rate, steps=len(trajectory.gradients))


def _loss_hints(legacy_logits: list[np.ndarray], batches: Sequence[Batch], have: list[float]) -> list[str]:
    """Name a known loss mistake: averaging over padded positions too, or summing instead of averaging."""
    alt_all, alt_sum = [], []
    for logits, b in zip(legacy_logits, batches):
        z = logits.astype(np.float64)
        lse = np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1)) + z.max(-1)
        xent = lse - np.take_along_axis(z, b.decoder_target_ids[..., None].astype(np.int64), -1)[..., 0]
        valid = b.decoder_input_ids != 0
        alt_all.append(xent.mean())
        alt_sum.append((xent * valid).sum())
    hints = []
    if np.allclose(alt_all, have, rtol=1e-5, atol=1e-5):
        hints.append("Likely cause: padded positions counted in the loss: the port's loss equals the mean "
                     "cross-entropy over ALL B*T positions, padding included; the legacy sequence_loss averages "
                     "over valid target tokens only (weights = sequence_mask(target_lengths)).")
    elif np.allclose(alt_sum, have, rtol=1e-5, atol=1e-4):
        hints.append("Likely cause: the port's loss is the SUM of cross-entropies over valid tokens; "
                     "sequence_loss averages (average_across_timesteps and _batch = True).")
    return hints


def random_tf1_weights(like: dict[str, np.ndarray], seed: int, scale: float = 0.5) -> dict[str, np.ndarray]:
    """U(-scale, scale) in the shape of every variable of `like` (name order), biases included (never zero);
    attention_g in [0.5, 1.5]."""
    rng = np.random.RandomState(seed)
    out = {}
    for n in sorted(like):
        shape = np.shape(like[n])
        v = rng.uniform(-scale, scale, shape)
        if n.endswith("attention_g"):
            v = rng.uniform(0.5, 1.5, shape)
        out[n] = v.astype(np.float32)
    return out


class SharedLegacy:
    """A `LegacyRunner` whose answers are computed once and reused: one legacy side, several ports (backends)."""

    def __init__(self, legacy: LegacyRunner):
        self.legacy = legacy
        self.names = legacy.names
        self.hparams = legacy.hparams
        self._memo: dict[tuple, Any] = {}

    def _once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def values(self) -> dict[str, np.ndarray]:
        return self._once(("values",), self.legacy.values)

    def forward(self, batch: Batch) -> tuple[np.ndarray, float]:
        return self._once(("forward", id(batch)), lambda: self.legacy.forward(batch))

    def gradients(self, batch: Batch) -> dict[str, np.ndarray]:
        return self._once(("gradients", id(batch)), lambda: self.legacy.gradients(batch))

    def adam_steps(self, batches: Sequence[Batch], steps: int) -> dict[str, np.ndarray]:
        return self.adam_trajectory(batches, steps).after

    def adam_trajectory(self, batches: Sequence[Batch], steps: int) -> AdamTrajectory:
        return self._once(("adam", tuple(map(id, batches)), steps),
                          lambda: self.legacy.adam_trajectory(batches, steps))

    def gradients_at(self, values: dict[str, np.ndarray], batch: Batch) -> dict[str, np.ndarray]:
        return self.legacy.gradients_at(values, batch)   # weights that depend on the port's noise: not shared

    def greedy(self, batch: Batch) -> np.ndarray:
        return self._once(("greedy", id(batch)), lambda: self.legacy.greedy(batch))


def compare_on_backend(legacy: LegacyRunner | SharedLegacy, port: RemotePortRunner, batches: Sequence[Batch], *,
                       checks: Sequence[str] = CHECKS, adam_steps: int = 3, rtol: float | None = None,
                       atol: float | None = None) -> ParityReport:
    """`compare_sides` of a legacy side and a port served by a backend child, as a report naming the backend."""
    start = time.time()
    results = compare_sides(legacy, port, batches, checks=checks, adam_steps=adam_steps, rtol=rtol, atol=atol)
    info = {"hparams": legacy.hparams.to_dict(), "batches": len(batches), "checks": list(checks),
            "backend": port.backend, "keras_process": port.info}
    return make_report(results, info, _backend_notes(port.backend), start=start)


class ParityPair:
    """A legacy graph and a port built from the same hparams, weights moved by the converter; no files.

    What the parity suite and `--hparams`-only checks use: `set_legacy_weights(values)` loads TF1 values
    into the legacy graphs AND converts them into the port through the converter's bindings (as
    `tf-migrate convert` would), then `run(batches)` compares.

    Args:
        hparams: the architecture (dropout is set to 0 on both sides).
        greedy: also build the legacy infer graph (the greedy check).
        backward: False builds only the legacy eval graph (logits, loss, greedy; no gradients / Adam).
        port: a port model to use instead of `tf2.Seq2Seq(hparams)` (e.g. a mutated one).
    """

    def __init__(self, hparams: HParams, greedy: bool = True, port: Any = None, backward: bool = True):
        from migrate.checkpoint.bindings import bind_seq2seq  # noqa: PLC0415
        from migrate.checkpoint.reader import VariableInfo  # noqa: PLC0415
        from migrate.checkpoint.recognise import recognise  # noqa: PLC0415

        self.hparams = hparams
        self.legacy = LegacyRunner(hparams, greedy=greedy, backward=backward)
        if port is None:
            from tf2.seq2seq import Seq2Seq  # noqa: PLC0415

            port = Seq2Seq(hparams.replace(dropout=0.0))
        self.port = port
        variables = {n: VariableInfo(n, tuple(int(d) for d in v.shape), "float32")
                     for n, v in self.legacy.forward_graph.trainable.items()}
        plan = bind_seq2seq(port, recognise(variables), hparams.forget_bias)
        problems = plan.missing + plan.mismatched + plan.unexpected
        if problems:
            raise ParityInputError("the converter cannot bind the port to the legacy graph: " + "; ".join(problems))
        self.bindings = plan.bindings
        self.values = self.legacy.values()

    def set_legacy_weights(self, values: dict[str, np.ndarray]) -> None:
        """TF1 values -> legacy graphs, and converted (Binding.to_keras) -> the port."""
        self.values = {n: np.asarray(v, np.float32) for n, v in values.items()}
        self.legacy.load(self.values)
        for b in self.bindings:
            for w, v in zip(b.keras_weights, b.to_keras([self.values[n] for n in b.tf1_names])):
                w.assign(np.asarray(v, np.float32))

    def random_weights(self, seed: int, scale: float = 0.5) -> dict[str, np.ndarray]:
        """U(-scale, scale) for every variable, biases included (never zero); attention_g in [0.5, 1.5]."""
        return random_tf1_weights({n: self.values[n] for n in self.legacy.names}, seed, scale)

    def train_legacy(self, batches: Sequence[Batch], steps: int) -> dict[str, np.ndarray]:
        """`steps` legacy train_op runs from the current weights (fresh Adam); returns the trained values."""
        trained = self.legacy.adam_steps(batches, steps)
        return trained

    def runner(self, loss_fn: Callable | None = None, optimizer_fn: Callable | None = None) -> PortRunner:
        """A `PortRunner` of this pair's port; the default one is kept, so its traced forward pass is reused."""
        if loss_fn is None and optimizer_fn is None:
            if getattr(self, "_default_runner", None) is None:
                self._default_runner = PortRunner(self.port, self.bindings)
            return self._default_runner
        return PortRunner(self.port, self.bindings, loss_fn, optimizer_fn)

    def run(self, batches: Sequence[Batch], *, checks: Sequence[str] = CHECKS, adam_steps: int = 2,
            rtol: float | None = None, atol: float | None = None, loss_fn: Callable | None = None,
            optimizer_fn: Callable | None = None, port_runner: PortRunner | None = None,
            mask_padding: bool = True) -> ParityReport:
        """Compare on `batches` (see `compare_sides`); `loss_fn` / `optimizer_fn` / `port_runner` replace
        the port's own loss, optimizer or whole runner (the mutation suite injects mistakes this way)."""
        start = time.time()
        runner = port_runner or self.runner(loss_fn, optimizer_fn)
        results = compare_sides(self.legacy, runner, batches, checks=checks,
                                adam_steps=adam_steps, rtol=rtol, atol=atol, mask_padding=mask_padding)
        return make_report(results, {"hparams": self.hparams.to_dict(), "batches": len(batches)}, start=start)

    def close(self) -> None:
        self.legacy.close()


def run_parity(legacy: str, keras: Any = None, *, batches: int = 2, seed: int = 0, batch_size: int | None = None,
               adam_steps: int = 3, rtol: float | None = None, atol: float | None = None,
               checks: Sequence[str] | None = None, hparams: HParams | str | None = None,
               loss_fn: Callable | None = None, backend: str = "tf", eager: bool = False) -> ParityReport:
    """Compare a legacy TF1 checkpoint with a Keras port on the same batches; see the module table.

    Args:
        legacy: a legacy model directory (its latest checkpoint; hparams.json and vocabularies beside
            it) or a checkpoint prefix (`DIR/model.ckpt-1000`).
        keras: a `.keras` file, a Keras model object, or None to convert the checkpoint on the fly.
        batches: number of padded batches compared (task batches and random-id batches alternate).
        seed: which batches.
        batch_size: rows per batch (default min(hparams.batch_size, 8)).
        adam_steps: K for "weights after K Adam steps" (0 skips the check).
        rtol, atol: one tolerance for every float check (default: `STEP_TOLERANCES` per check).
        checks: a subset of `CHECKS` (default all).
        hparams: the legacy model's hparams (a path or object) when hparams.json is not beside it.
        loss_fn: the port's loss, `loss_fn(model, batch) -> scalar` (default `port_loss`: tf2.SequenceLoss).
        backend: the Keras backend of the port side: "tf" (this process) or "jax" / "torch" (a child process
            without TensorFlow, `migrate.parity.backend_side`; `keras` must then be a file or None).
        eager: with backend "jax", run op by op instead of `jax.jit` (no XLA compile).

    Returns:
        A `ParityReport`; truthy when every check is within tolerance.

    Raises:
        ParityInputError: unusable input (exit code 2 in the CLI).
    """
    start = time.time()
    checks = tuple(checks or CHECKS)
    if batches < 1:
        raise ParityInputError(f"--batches {batches}: expected at least 1")
    backend = normalize_backend(backend)
    li = resolve_legacy(legacy, hparams)
    data = parity_batches(li.hparams, batches, seed, batch_size, li.src_vocab, li.tgt_vocab)
    worker, child = None, {}
    if backend == "tensorflow":
        port = convert_on_the_fly(li.hparams, li.prefix) if keras is None else load_port(keras)
        check_architecture(li.hparams, port)
        port_runner: Any = PortRunner(port, bind(port, li.prefix, li.hparams.forget_bias), loss_fn)
    else:
        if loss_fn is not None:
            raise ParityInputError(f"backend {backend}: loss_fn runs only on the TensorFlow backend (in process)")
        if keras is not None and not isinstance(keras, str | os.PathLike):
            raise ParityInputError(f"backend {backend}: pass the Keras model as a .keras file (it is loaded in a "
                                   f"child process running KERAS_BACKEND={backend}), or None to convert on the fly")
        worker = BackendWorker(backend)   # the child imports Keras while the legacy graphs are built here
    try:
        runner = LegacyRunner(li.hparams, li.prefix, greedy="greedy" in checks)
        try:
            if worker is not None:   # the restored variables: the child reads no checkpoint (no TensorFlow)
                port_runner = RemotePortRunner(worker, data, hparams=li.hparams, values=runner.values(),
                                               keras=None if keras is None else os.fspath(keras), prefix=li.prefix,
                                               checks=checks, adam_steps=adam_steps, eager=eager)
            results = compare_sides(runner, port_runner, data, checks=checks,
                                    adam_steps=adam_steps, rtol=rtol, atol=atol)
        finally:
            runner.close()
        if worker is not None:
            child = {"keras_process": port_runner.info}
    finally:
        if worker is not None:
            worker.close()
    info = {"legacy": li.prefix, "keras": keras if isinstance(keras, str) else
            ("converted on the fly" if keras is None else type(keras).__name__),
            "batches": batches, "rows": int(sum(b.size for b in data)), "seed": seed,
            "adam_steps": adam_steps, "checks": list(checks), "rtol": rtol, "atol": atol,
            "hparams": li.hparams.to_dict(), "backend": backend, **child}
    notes = [f"hparams dropout={li.hparams.dropout} was set to 0 on both sides: parity compares deterministic "
             f"functions."] if li.hparams.dropout else []
    return make_report(results, info, notes + _backend_notes(backend), start=start)
