"""`tf-migrate convert --from-graph`: a TF1 checkpoint + its `.meta` -> a Keras 3 model folder, parity checked.

    from migrate.graph import convert_graph
    report = convert_graph("runs/model.ckpt-1000", "converted/", outputs=None, feeds={"keep_prob": 1.0})

DIR receives `model.keras`, `model.py`, `model.weights.h5` and `convert_report.json`, all written together
through `migrate.files.Outputs` (nothing is written when the conversion fails). Parity outside tolerance is
the exception: the files are written, the report says `"parity": {"ok": false}` and the exit code is 1; an output
with a NaN or an Inf on either side is outside tolerance.

The `.meta` is read as data first (`TF1Graph.proto`): output selection and the name checks run there, then only the
subgraph the outputs (and the training loss) need is imported, restored and translated (`graph.nodes` in the report
says how many of the `.meta`'s nodes that was). An output that reads a variable the checkpoint lacks, and no
`--variable` gives, is refused before anything is imported: exit 1, naming the variables, nothing written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import zipfile
from collections import Counter

import numpy as np

from migrate.errors import InputError, MigrateError
from migrate.exit_codes import MISMATCH
from migrate.parity.dropouts import inference_constants as _inference_constants

GRAPH_CONVERT_VERSION = 1


class GraphConvertError(InputError):
    """The graph cannot be converted (exit 2): no `.meta`, an op outside the table, an input of unknown shape."""


def _translate(view, outputs, input_shapes, recognise_rnns: bool, log):
    """Recognisers first (when on), then the translation; a recogniser that matched but could not emit leaves
    its loop to the generic tier (logged)."""
    from migrate.graph.translate import translate  # noqa: PLC0415 - TensorFlow-free import time for the CLI

    providers = {}
    if recognise_rnns:
        from migrate.graph.constructs import recognise  # noqa: PLC0415

        view.set_fed(input_shapes or ())   # a PlaceholderWithDefault fed is no zero state (`is_zero_state`)
        providers = recognise(view, outputs)
    tr = translate(view, outputs, input_shapes=input_shapes, providers=providers, recognised=recognise_rnns)
    declined = []
    while not tr.emitter.defaults_to_feed - set(input_shapes):   # else fed first (`_convert_graph`), then again
        names = {p.name: p for p in providers.values()}
        failed = [(n, why) for t, n, why in tr.unsupported if n in names and getattr(names[n], "kind", t) == t]
        if not failed:
            break
        for n, why in failed:
            declined.append(f"{names[n].kind} {n}: {why}")
        providers = {k: p for k, p in providers.items() if p.name not in dict(failed)}
        tr = translate(view, outputs, input_shapes=input_shapes, providers=providers, recognised=recognise_rnns)
    for d in declined:
        log(f"a recogniser matched but did not translate {d}; left to the generic tier")
    return tr


def _log_default(msg: str) -> None:
    print(msg, flush=True)


def convert_graph(checkpoint: str, out_dir: str, *, outputs: list[str] | None = None,
                  feeds: dict[str, object] | None = None, inputs_npz: str | None = None, force: bool = False,
                  log=_log_default, seed: int = 0, recognise_rnns: bool = True,
                  variables: dict[str, object] | None = None, with_optimizer: bool = False,
                  step: int | None = None, tag_set: str | None = None, signature: str | None = None,
                  export_saved_model: str | None = None, started: float | None = None) -> dict:
    """Convert and check. Returns the report; raises `MigrateError` (exit 2 / 3) or `ParityFailed` (exit 1,
    files written). `variables` (`--variable NAME=FILE.npy|zeros`): `{name: array | .npy path | "zeros"}`,
    variables assigned that value instead of restored from the checkpoint (`TF1Graph(variables=...)`), in the
    TF1 graph and so in the Keras model; the report lists them under `variables_not_from_checkpoint`.
    `with_optimizer` (`step`: `--step N`): the graph's optimizer state carried into the Keras optimizer that
    `model.keras` holds (`migrate.graph.optimizer`; the report's `optimizer`). `export_saved_model`
    (`--export-saved-model DIR`): the converted model also written as a TF2 SavedModel at DIR with the TF1 serving
    signature (`migrate.export`; the report's `export`), in the same commit; not written when parity failed.
    `checkpoint` may be any form a TF1 model ships in (`migrate.parity.forms`: a checkpoint, a SavedModel folder
    with `tag_set` / `signature`, a frozen GraphDef, an Estimator model_dir); the report's `source` says which.
    `started` (the CLI): the `time.perf_counter()` value at which the process started; the report's `timings`
    (seconds per phase) then begin with the start-up before this call (Python, the imports, the argument checks)."""
    from migrate.files import Outputs, resolve_checkpoint  # noqa: PLC0415
    from migrate.parity.forms import open_source  # noqa: PLC0415

    t0 = time.perf_counter()
    source = open_source(checkpoint, tag_set=tag_set, signature=signature)
    prefix = resolve_checkpoint(checkpoint) if source.form == "checkpoint" else source.prefix
    from migrate.graph.meta import has_meta  # noqa: PLC0415

    for note in source.notes:
        log(f"{source.form.replace('_', ' ')}: {note}")
    if source.form == "checkpoint" and not has_meta(prefix):
        raise GraphConvertError(
            f"{prefix}.meta: no such file; converting the graph needs the .meta file tf.train.Saver writes beside "
            f"the checkpoint (it holds the model's ops). Without it, convert the weights alone: the Python API "
            f"migrate.checkpoint.cell_weights(...) for each RNN cell, or a TOML mapping file "
            f"(migrate.checkpoint.apply_mapping) onto a Keras model you write.")
    with Outputs(force=force) as out:
        out.check(out_dir, kind="dir")  # exit 3 before any work when DIR cannot be written
        if export_saved_model:
            out.check(export_saved_model, kind="dir")
        report, files, failed = _convert(prefix, outputs, feeds or {}, inputs_npz, log, seed, recognise_rnns,
                                         variables or {}, (with_optimizer, step), source=source)
        t_write = time.perf_counter()
        tmp = out.stage(out_dir, kind="dir")
        for name, writer in files.items():
            writer(os.path.join(tmp, name))
        report.setdefault("timings", {})["write the files"] = round(time.perf_counter() - t_write, 3)
        if export_saved_model:
            _export(out, export_saved_model, os.path.join(tmp, "model.keras"), report, failed, log,
                    npz=_read_npz(inputs_npz) if inputs_npz else None)
        if started is not None:
            report["timings"] = {"start-up and imports": round(t0 - started, 3), **report["timings"]}
        report["seconds"] = round(time.perf_counter() - t0, 3)
        with open(os.path.join(tmp, "convert_report.json"), "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    log(f"wrote {out_dir}/ (model.keras, model.py, model.weights.h5, convert_report.json) in {report['seconds']:.1f} s")
    if failed:
        raise ParityFailed(f"{out_dir}: parity FAILED for {', '.join(failed)} (files kept for inspection; "
                           f"convert_report.json has parity.ok = false)")
    return report


def _export(out, path: str, keras_file: str, report: dict, failed: list, log, npz: dict | None = None) -> None:
    """`--export-saved-model DIR`: the model just written (loaded back from its staged `model.keras`, as a user
    would) exported as a TF2 SavedModel with the TF1 signature (`migrate.export`), staged in the same commit; the
    serving check runs on the `--inputs` batch when one was given (a graph may fix its batch size)."""
    from migrate.export import export_model, load_model  # noqa: PLC0415

    if failed:
        report["export"] = {"written": False, "why": "parity failed: a model that does not compute what the TF1 "
                            "graph computed is not exported for serving"}
        log(f"not exported to {path}: parity failed")
        return
    t = time.perf_counter()
    model = load_model(keras_file, report)
    if npz:   # keyed by placeholder, with or without `:0`: both, as the signature's tensors are named
        npz = {**npz, **{k + ":0": v for k, v in npz.items() if ":" not in k}}
    report["export"] = {"written": True, "path": path, **export_model(model, report, out.stage(path, kind="dir"),
                                                                       npz=npz, log=log)}
    report["timings"]["export the SavedModel"] = round(time.perf_counter() - t, 3)


class ParityFailed(MigrateError):
    exit_code = MISMATCH


def _convert(prefix, outputs, feeds, inputs_npz, log, seed, recognise_rnns, variables, optimizer=(False, None),
             source=None):
    from migrate.graph.meta import TF1Graph  # noqa: PLC0415

    t_read = time.perf_counter()
    tf1 = TF1Graph(prefix, variables=variables, source=source)   # the graph read as data; nothing imported yet
    try:
        read = {"read the .meta": round(time.perf_counter() - t_read, 3)}
        report, files, failed = _convert_graph(prefix, tf1, outputs, feeds, inputs_npz, log, seed, recognise_rnns,
                                               optimizer)
        report["timings"] = {**read, **report["timings"]}
    finally:
        tf1.close()
    recognised = [lp for lp in report.get("loops", []) if lp["how"].startswith("recognised")]
    if failed and recognise_rnns and recognised:   # an upgrade that does not hold: the generic tier instead
        worst = max((r.get("max_abs") or 0.0 for r in report["parity"]["outputs"] if not r["ok"]), default=0.0)
        log(f"parity failed with the recognised layers ({', '.join(lp['loop'] for lp in recognised)}; max abs "
            f"{worst:.2g}): converting again with every loop translated op by op (the generic tier)")
        t_again = time.perf_counter()
        tf1 = TF1Graph(prefix, variables=variables, source=source)
        try:
            read_again = {"read the .meta": round(time.perf_counter() - t_again, 3)}
            again = _convert_graph(prefix, tf1, outputs, feeds, inputs_npz, log, seed, False, optimizer)
        finally:
            tf1.close()
        again[0]["timings"] = {"the conversion with recognised layers (parity failed)": round(t_again - t_read, 3),
                               **read_again, **again[0]["timings"]}
        if not again[2]:
            log("the generic translation holds parity: it is what is written")
            again[0]["recognisers_declined"] = {"why": "parity", "max_abs": worst,
                                                "loops": [lp["loop"] for lp in recognised]}
            return again
        log("the generic translation fails parity too: the recognised one is written")
    return report, files, failed


CHOOSE_OUTPUTS = "choose --outputs that do not read them"


def _convert_graph(prefix, tf1, outputs, feeds, inputs_npz, log, seed, recognise_rnns, optimizer=(False, None)):
    """Selection, name checks and the inference values run on the `.meta` read as data (`tf1.proto`); then only the
    subgraph the outputs (and the training loss) need is imported and restored (`tf1.focus`), and translated.
    With `optimizer` (`--with-optimizer`) the optimizer's update ops (and with them the backward pass) are imported
    too: their inputs are the hyperparameters and slots `migrate.graph.optimizer` reads."""
    from migrate.graph import feeds as feedgen  # noqa: PLC0415
    from migrate.graph import parity  # noqa: PLC0415
    from migrate.graph.codegen import model_source  # noqa: PLC0415
    from migrate.graph.loss import training_loss  # noqa: PLC0415
    from migrate.graph.meta import PLACEHOLDER_OPS, GraphView  # noqa: PLC0415
    from migrate.graph.program import build_model  # noqa: PLC0415
    from migrate.graph.regularization import weights_argument  # noqa: PLC0415
    from migrate.graph.select import choose_outputs, inference_value  # noqa: PLC0415
    from migrate.graph.translate import UnknownRank  # noqa: PLC0415

    timings, clock = {}, [time.perf_counter()]

    def phase(name: str) -> None:   # seconds per phase, in the report's `timings` (where conversion time goes)
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 3)
        clock[0] = now

    npz = _read_npz(inputs_npz) if inputs_npz else {}
    npz = {k if ":" in k else k + ":0": v for k, v in npz.items()}
    unknown = [k for k in npz if k.split(":")[0] not in tf1.proto.index]
    if unknown:
        raise GraphConvertError(f"--inputs {inputs_npz}: the graph has no tensor {', '.join(unknown[:3])}; keys are "
                                f"the names of the placeholders to feed (or of the tensors to start the model at)")
    # a key naming a tensor that is not a placeholder, or a SavedModel signature's input that is not one (an output
    # of the training graph's IteratorGetNext): the model starts there, as a serving client feeds it
    sig_inputs = ((getattr(tf1, "source", None) and tf1.source.signature) or {}).get("inputs", {})
    from_signature = {v["tensor"]: None for v in sig_inputs.values() if v["tensor"] not in npz}
    # a graph trained from an input pipeline (tf.data, a queue): the model takes the batches those ops hand out
    from migrate.graph.meta import input_pipeline_starts  # noqa: PLC0415

    pipeline = {k: t for k, t in input_pipeline_starts(tf1.proto).items() if k not in npz and k not in from_signature}
    started = tf1.start_at({**dict.fromkeys(pipeline), **from_signature, **npz},
                           {v["tensor"]: v["shape"] for v in sig_inputs.values()})
    ops = sorted({t for k, t in pipeline.items() if k in started})
    for how, keys in (("given in --inputs", [k for k in started if k in npz]),
                      ("the signature's inputs", [k for k in started if k in from_signature]),
                      (f"the batches its input pipeline hands out ({', '.join(ops)}): a Keras model takes its batches "
                       f"as arrays; --inputs FEED.npz keyed by these names gives your own",
                       [k for k in started if k in pipeline])):
        if keys:
            renamed = [] if how.startswith("the batches") else [k for k in keys if started[k] != k]
            log(f"inputs: the model starts at {', '.join(keys)} ({how}, not placeholders"
                + "".join(f"; {k} is fed as placeholder {started[k]}" for k in renamed) +
                "): the ops that computed them are left out of the model and fed on the TF1 side")
    npz_given = set(npz)
    npz = {started.get(k, k): v for k, v in npz.items()}
    dropout_fixed = _inference_constants(tf1)
    if dropout_fixed:
        log(f"dropout with a constant keep probability switched off (as at inference): {len(dropout_fixed)} "
            f"constant(s) set, e.g. {next(iter(dropout_fixed))} = {next(iter(dropout_fixed.values()))}")
    g = tf1.proto
    # inference values of mode placeholders (keep_prob, is_training, ...), --feed overrides
    chosen_values = {}
    for i in g.nodes_of_type(PLACEHOLDER_OPS):
        v = inference_value(g.op(i))
        if v is not None:
            chosen_values[g.names[i]] = v
    by_use = {k: v for k, v in getattr(tf1, "dropout_placeholders", {}).items() if chosen_values.get(k) != v}
    if by_use:
        log(f"dropout probabilities fed as at inference (found by their use in a dropout, not by name): "
            f"{', '.join(f'{k}:0 = {v:g}' for k, v in by_use.items())}")
        chosen_values.update(by_use)
    for k, v in feeds.items():
        name = k.split(":", 1)[0]
        try:
            op = g.get_operation_by_name(name)
        except KeyError:
            raise GraphConvertError(f"--feed {k}: the graph has no op {name!r}") from None
        chosen_values[name] = np.asarray(v, dtype=op.outputs[0].dtype.as_numpy_dtype)

    signature = getattr(tf1, "source", None) and tf1.source.signature
    output_keys = None
    if signature and not outputs:   # a SavedModel's signature names the outputs (and the Keras outputs' names)
        output_keys = list(tf1.source.signature_outputs)
        outputs = list(tf1.source.signature_outputs.values())
        why = f"the outputs of signature {signature['key']!r} ({signature['method_name'] or 'no method name'})"
    given = bool(outputs)
    if outputs and output_keys is None:
        missing = [o for o in outputs if not _has_tensor(g, o)]
        if missing:
            raise GraphConvertError(f"--outputs: no tensor {', '.join(missing)} in {tf1.meta}")
        outputs = [o if ":" in o else o + ":0" for o in outputs]
        why = "named by --outputs"
        sel = choose_outputs(g, loss_only=True)   # the loss, for its check; the outputs are the user's
    elif outputs:
        sel = choose_outputs(g, loss_only=True)
    else:
        sel = choose_outputs(g)
        if not sel.outputs:
            raise GraphConvertError(f"{tf1.meta}: {sel.why}")
        outputs, why = sel.outputs, sel.why
    fed = [k + ":0" for k in chosen_values] + list(npz)
    if not given:   # a head or named result that reads a variable the checkpoint lacks: not chosen
        dropped = {o: m for o in outputs if o not in sel.primary and (m := tf1.missing_variables([o], fed))}
        for o, m in dropped.items():
            log(f"not chosen: {o} ({sel.reasons.get(o, 'a named result')}): it reads {', '.join(m[:3])}"
                f"{' ...' if len(m) > 3 else ''}, which the checkpoint lacks")
        outputs = [o for o in outputs if o not in dropped]
    log(f"outputs: {', '.join(outputs)} ({why})")
    if not given:
        for line in sel.explain():
            if line.split(": ", 1)[0] in outputs:
                log(f"  {line}")
    loss_extra = [sel.loss] if sel.loss else []
    draw_extra = _sampled_ids(g)   # imported for parity: the graph's draws are fed to the model (_draw_tensors)
    phase("select outputs (the .meta read as data)")
    if optimizer[0]:   # the training machinery (update ops, sparse Adam's scatters, the step counter) is read
        tf1.check_runnable(outputs, fed, choose=CHOOSE_OUTPUTS)   # from the whole graph; the outputs still
        tf1.focus(None)                                            # read only restored variables
    else:   # import and restore what the outputs (and the loss, for its check) need; nothing else of the graph
        tf1.focus(outputs, extra=loss_extra + draw_extra, fed=fed, choose=CHOOSE_OUTPUTS)
    phase("import and restore")
    log(f"graph: {tf1.kept} of {len(g)} nodes imported (what the outputs{' and the loss' if loss_extra else ''}"
        f"{' and the optimizer' if optimizer[0] else ''} need)")
    for name in getattr(tf1, "loaded_values", ()):
        log(f"variable {name}: the SavedModel's main_op / legacy_init_op assigns it at load, so the model holds the "
            f"loaded value (what the served model computes with), not the one in variables/")
    for v in tf1.assigned:
        if v["name"] in tf1.assembled:   # a cuDNN buffer the checkpoint holds as canonical variables
            log(f"variable {v['name']} {v['shape']}: not in the checkpoint; {v['source']}")
            continue
        log(f"variable {v['name']} {v['shape']}: the model holds the value of --variable {v['name']}={v['source']}, "
            f"not the checkpoint's" + (f" (which holds {v['checkpoint_shape']})" if v["checkpoint_shape"] else ""))
    for name in tf1.unused_given:
        log(f"--variable {name}: not read by the outputs; not used")
    view = GraphView(tf1)
    if signature:   # the Keras inputs are named after the signature's keys
        view.input_names = {started.get(t, t).split(":")[0]: k for k, t in tf1.source.signature_inputs.items()
                            if started.get(t, t).endswith(":0")}
    parse = (signature or {}).get("parse_example")
    if parse:   # serialized tf.Example in: the parsed dense features are the Keras inputs, named after their keys
        view.cut_inputs = {f["tensor"]: k for k, f in parse["features"].items() if f["kind"] == "dense"}
    view.dropout_draws = getattr(tf1, "dropout_draws", frozenset())
    imported = {op.name for op in view.graph.get_operations() if op.type in PLACEHOLDER_OPS}
    chosen_values = {k: v for k, v in chosen_values.items() if k in imported}
    view.inference_values = {k: np.asarray(v) for k, v in chosen_values.items()}
    view.set_fed(k.split(":")[0] for k in npz)  # a PlaceholderWithDefault given in --inputs is an input
    if chosen_values:
        log("fixed at inference: " + ", ".join(f"{k}:0 = {v}" for k, v in sorted(chosen_values.items())))
    g = view.graph

    constructs = Counter()
    input_shapes = {k.split(":")[0]: tuple(v.shape) for k, v in npz.items()}
    try:
        tr = _translate(view, outputs, input_shapes, recognise_rnns, log)
        while tr.unsupported and (refit := sorted(tr.emitter.defaults_to_feed - set(input_shapes))):
            # a placeholder_with_default whose default cannot fit the graph's inputs (an initial state built for
            # another batch): the graph runs only with it fed, so it is fed: an input of the model
            for name in refit:
                log(f"{name}:0: its default value does not fit the other inputs where it is used (the TF1 graph "
                    f"fails on it as well); it becomes an input of the model, fed like the others")
            for name in refit:   # fed like the user's --inputs (translate makes every name here an input)
                shape = view.graph.get_operation_by_name(name).outputs[0].shape
                input_shapes[name] = tuple(shape.as_list()) if shape.rank is not None else ()
            tr = _translate(view, outputs, input_shapes, recognise_rnns, log)
    except UnknownRank as e:
        raise GraphConvertError(f"{tf1.meta}: the placeholder {e.name}:0 has no shape in the graph (written by TF "
                                f"{_tf_version(tf1)}, whose empty shape means 'unknown'); pass an example with "
                                f"--inputs FEED.npz (a key {e.name}:0) so its rank and sizes are known, or, where it "
                                f"is a mode setting fixed at inference (a keep probability, a training flag), "
                                f"--feed {e.name}:0=VALUE.") from None
    if tr.unsupported:
        front = (" Where those ops are a front-end the Keras model need not hold (decoding audio or images, "
                 "parsing), start the model after it: give the tensor it produces in --inputs FEED.npz, keyed by its "
                 "name (e.g. Mfcc:0).") if tr.outside_loops() else ""
        raise GraphConvertError(f"{tf1.meta}: {len(tr.unsupported)} op(s) outside the op table on the path to "
                                f"{', '.join(outputs)}: {tr.unsupported_summary()}. Nothing was written.{front}")
    for loop in tr.loops:
        log(f"loop {loop['loop']}: {loop['how']}" + (f" ({loop['why']})" if loop.get("why") else ""))
    loss_spec, loss_entry = training_loss(g, sel.loss, outputs)
    placement = _place_penalties(loss_spec, loss_entry, tr.emitter, log)
    source = model_source(tr, os.path.basename(tf1.meta), outputs, loss=loss_spec, output_keys=output_keys,
                          weight_regularizers=weights_argument(placement.weights) if placement else "")
    phase("translate")
    try:
        model = build_model(source)  # interpreted, never executed (migrate.graph.program)
    except MigrateError:
        raise
    except Exception as e:   # noqa: BLE001 - Keras refused a layer call of the translation: a converter bug
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip() and "Exception encountered" not in ln
                      and "Could not automatically infer" not in ln), str(e))
        raise GraphConvertError(f"{tf1.meta}: the Keras model translated from the graph could not be built "
                                f"({type(e).__name__}: {first[:400]}). This is a bug of the converter for this "
                                f"graph: please report it with the .meta; meanwhile --outputs computed before the "
                                f"part it names may convert. Nothing was written.") from None
    for lname, values in tr.emitter.weights.items():
        layer = model.get_layer(lname)
        layer.set_weights([np.asarray(v) for v in values])
    constructs.update(tr.emitter.constructs)
    opt_report = None
    if optimizer[0]:   # the graph's optimizer state into a Keras optimizer; the model is compiled with it
        from migrate.graph.optimizer import carry_optimizer  # noqa: PLC0415

        opt_report = carry_optimizer(view, model, tr.emitter.weights, outputs=outputs, input_shapes=input_shapes,
                                     recognise_rnns=recognise_rnns, checkpoint=prefix, step=optimizer[1],
                                     fed=feeds, log=log)

    phase("build the Keras model")
    # parity on generated inputs (+ the user's)
    generated, first_ref = None, None
    draws = _draw_tensors(tr.emitter.draws, view.graph, log)   # sampling decoders: the graph's ids fed to them
    parsed = [i for i in tr.inputs if i["graph"] in view.cut_inputs]
    if parsed and npz:
        raise GraphConvertError(f"--inputs {inputs_npz}: signature {signature['key']!r} takes serialized tf.Example "
                                f"({parse['input']!r}); the parity inputs are generated from its parse spec, so "
                                f"leave --inputs out")
    loss_ref = None   # the TF1 side of the loss check, computed beside the trace (_tf1_while_tracing)
    split: dict[str, float] = {}   # the parity phase's seconds, part by part (the report's `parity_timings`)
    if parsed:   # features drawn from the parse spec; the TF1 graph is fed them serialized as tf.Example
        generated, gen, omitted = _example_feed(tf1, tr.inputs, parse, view.cut_inputs, seed)
        for note in generated.from_graph:
            log(f"  {note}")
    elif npz:  # the user's example fixes shapes and ranges: generate alike (lengths stay consistent with it)
        gen = feedgen.generate(tr.inputs, lambda n: _id_range(tf1, n), seed=seed, like=npz)
    else:    # the parity harness's generator (migrate.parity.graph_inputs), shared with `parity --tf1`: every
        # placeholder the TF1 side needs, one batch and time length, fitted to the graph (input_roles)
        # the TF1 graph runs (and, with a training loss, its loss) in a thread while this one traces the Keras
        # model for the same batch (_tf1_while_tracing): the graph's run waits in TensorFlow's C++ runtime, the
        # trace is Python; both results are what the sequential run gave
        generated, first_ref, loss_ref = _tf1_while_tracing(
            tf1, tr.inputs, outputs, chosen_values, seed, view.inference_values, log, model,
            also=[t for t, _ in draws.values()], loss_spec=None if draws else loss_spec, split=split)
        gen = dict(generated.values)
        for note in generated.from_graph:   # what the graph fixed: batch, time axes, lengths, batch size
            log(f"  {note}")
    runs = [("generated", gen)]
    if npz:
        lacking = [i["graph"] for i in tr.inputs if i["graph"] not in npz]
        if lacking:  # an input the file does not hold (an output chosen by default needs it): generated values
            log(f"--inputs has no {', '.join(lacking)}: the generated values are used for them")
        runs.append(("--inputs", {i["graph"]: npz[i["graph"]] if i["graph"] in npz else gen[i["graph"]]
                                  for i in tr.inputs}))
    rows, failed, first_outputs, first_feed = [], [], None, gen
    for label, feed in runs:
        tf_feed = dict(feed)
        if parsed:   # the reference takes what a serving client sends: one serialized tf.Example per row
            from migrate.parity.examples import reference_feed  # noqa: PLC0415

            tf_feed = reference_feed(parse, view.cut_inputs, tf_feed, omitted)
        tf_feed.update({k + ":0": v for k, v in view.inference_values.items()})
        fetch = outputs + [t for t, _ in draws.values()]   # with the ids its sampling loops drew, in the same run
        ref = first_ref if label == "generated" and first_ref is not None else \
            _run_tf1(tf1, fetch, tf_feed, label, generated, tr.inputs, inputs_npz)   # the graph first
        if ref is not None and draws:
            _give_draws(model, draws, ref[len(outputs):])
            ref = ref[:len(outputs)]
        if ref is None:   # values drawn like the user's example, which the graph refuses: the example alone
            log(f"parity on generated inputs: skipped (the TF1 graph refuses values drawn like --inputs "
                f"{inputs_npz}; only its own batch is compared)")
            continue
        log(f"parity on {label} inputs ({', '.join(f'{k} {list(np.shape(v))}' for k, v in feed.items())}):")
        t_call = time.perf_counter()
        got, problem = _run_keras(model, {i["keras"]: feed[i["graph"]] for i in tr.inputs})
        _add(split, f"the Keras model's call ({label} inputs)", t_call)
        if problem:   # the graph ran on these inputs and the model did not: a parity failure, TensorFlow's reason
            for name in outputs:
                row = {"graph": name, "ok": False, "inputs": label, "problem": problem}
                rows.append(row)
                log(parity.line(row))
                failed.append(name)
            continue
        if first_outputs is None:   # the first run's (the generated one's), for the loss
            first_outputs, first_feed = got, feed
        for name, r, o in zip(outputs, ref, got):
            row = parity.compare(name, r, o)
            row["inputs"] = label
            rows.append(row)
            log(parity.line(row))
            if not row["ok"]:
                failed.append(name)
    if draws:
        _give_draws(model, {}, [])   # the model draws its own ids again
    if loss_spec is not None and first_outputs is not None and draws:
        sampled = ", ".join(tr.emitter.draws[n][0] for n in draws)
        loss_entry["parity"] = {"ok": None, "why": f"the graph samples ({sampled}): its loss on another run reads "
                                                   f"other draws"}
        log(f"training loss: {loss_spec.graph} not compared ({loss_entry['parity']['why']})")
    elif loss_spec is not None and first_outputs is not None:
        t_loss = time.perf_counter()
        loss_entry["parity"] = _loss_parity(loss_spec, tf1, first_outputs, outputs, first_feed,
                                             view.inference_values, seed, reference=loss_ref,
                                             penalties=_penalty_values(model, placement, view))
        _add(split, "the training loss check" + (" (its Keras half)" if loss_ref is not None else ""), t_loss)
        lp = loss_entry["parity"]
        total = " + model.losses (the weight regularizers)" if loss_spec.penalties else ""
        log(f"training loss: {loss_spec.graph} ({loss_spec.tf1}) -> {loss_spec.keras}{total} on {loss_spec.output}: "
            + (f"TF1 {lp['tf1']:.6g}, Keras {lp['keras']:.6g}, |diff| {lp['abs_diff']:.1e}" if "tf1" in lp
               else f"not checked ({lp.get('why')})") + ("" if lp.get("ok", True) else " FAILED")
            + (f"; the totals, regularisation included (model.losses {lp['regularization']:.6g})"
               if "regularization" in lp else "")
            + (f"; {lp['not_carried']:.6g} of TF1's is in no Keras weight (the regularization entries say why)"
               if lp.get("not_carried") else ""))
        if lp.get("ok") is False:  # compile_for_training would train another loss than the graph's
            failed.append(f"training loss {loss_spec.graph}")
    elif loss_entry:
        why = loss_entry.get("why", "the Keras model did not run on the parity inputs")
        log(f"training loss: {loss_entry['graph']} not reproduced ({why}); compile your own for fit")
    for op_name, how in tf1.references_used.items():   # ops the TF1 side could not run on this machine
        log(f"parity reference for {op_name}: {how}")
    phase("parity (the TF1 graph and the Keras model on the same inputs)")
    report = {
        "tool": "tf-migrate convert --from-graph", "version": GRAPH_CONVERT_VERSION,
        "checkpoint": prefix, "meta": tf1.meta, "tf_version": _tf_version(tf1),
        "source": _source_report(tf1, tr.inputs),
        "graph": {
            "nodes": {"meta": len(tf1.proto), "imported": tf1.kept},
            "inputs": [{**{k: i[k] for k in ("keras", "graph", "shape", "dtype")},
                        **({"starts_at": tf1.renamed[i["graph"]]} if i["graph"] in tf1.renamed else {})}
                       for i in tr.inputs],
            "outputs": [{"keras": k, "graph": n} for k, n in zip(model.output_names, outputs)],
            "outputs_chosen_because": why,
            "output_reasons": {} if given else {o: sel.reasons[o] for o in outputs if o in sel.reasons},
            "fixed_at_inference": {**{k + ":0": _jsonable(v) for k, v in sorted(chosen_values.items())},
                                   **{k + ":0": v for k, v in dropout_fixed.items()}},
        },
        "load_requires": ["tf_migrate_runtime.layers"] + (opt_report or {}).get("load_requires", []),
        "variables_not_from_checkpoint": [{k: v[k] for k in ("name", "source", "shape", "checkpoint_shape")}
                                          for v in tf1.assigned],
        "training_loss": loss_entry,
        "timings": timings,
        "parity_timings": split,
        **({"optimizer": opt_report} if opt_report is not None else {}),
        "translated": dict(sorted(constructs.items())),
        "loops": tr.loops,
        "ops_translated": _op_counts(tr.emitter.lines),
        "parity": {"ok": not failed, "atol": parity.ATOL, "rule": "max abs <= atol * max(1, max |reference|); "
                   "integers exact", "outputs": rows,
                   **({"reference": dict(tf1.references_used)} if tf1.references_used else {}),
                   **({"given_draws": {n: {"draws": tr.emitter.draws[n][0], "ids": t, "time_major": tm} for n, (t, tm)
                                       in draws.items()}} if draws else {})},
        "files": ["model.keras", "model.py", "model.weights.h5", "convert_report.json"],
        "to_tf1": {   # what `convert --to tf1` needs to translate the graph again (migrate/graph/to_tf1.py)
            "source": os.path.abspath(tf1.source.path) if getattr(tf1, "source", None) else os.path.abspath(prefix),
            "tag_set": ",".join(tf1.source.tag_set) if getattr(tf1, "source", None) and tf1.source.tag_set else None,
            "signature": signature["key"] if signature else None,
            "outputs": list(outputs), "fed": sorted(fed),
            "starts": {k: [None, *input_shapes.get(v.split(":")[0], ())[1:]] if k in npz_given else None
                       for k, v in sorted(getattr(tf1, "started_at", {}).items())},   # TF1Graph.start_at
            "inference_values": {k: _jsonable(v) for k, v in sorted(chosen_values.items())},
            "input_shapes": {k: list(v) for k, v in sorted(input_shapes.items())},
            "recognisers": bool(recognise_rnns),
        },
    }

    def write_keras(path):
        tmp = path + ".keras"
        model.save(tmp)
        os.replace(tmp, path)

    def write_weights(path):   # after write_keras: the weights file model.keras holds, copied out of it
        tmp = path + ".weights.h5"
        if not _weights_from_archive(os.path.join(os.path.dirname(path), "model.keras"), tmp):
            model.save_weights(tmp)
        os.replace(tmp, path)

    def write_source(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)

    return report, {"model.keras": write_keras, "model.weights.h5": write_weights, "model.py": write_source}, failed


def _weights_from_archive(keras_file: str, path: str) -> bool:
    """Write `model.keras`'s own weights file (the `model.weights.h5` member Keras writes into the archive, by the
    same walk over the model's weights as `model.save_weights`) to `path`: a second walk and HDF5 write costs
    0.02 - 0.22 s of CPU on the corpus, the copy 0.001 - 0.01 s (docs/performance.md, "Conversion time").
    False where the archive holds no such member (a Keras that writes its weights otherwise): the caller saves
    them itself."""
    try:
        with zipfile.ZipFile(keras_file) as zf, zf.open("model.weights.h5") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return True


def _place_penalties(spec, entry, em, log):
    """The loss's weight penalties given to the Keras weights holding their variables (`regularization.place`):
    model.py's layer arguments written into `em.lines`, the report's `training_loss.regularization` one entry per
    penalty; each one not carried logged with its reason. -> the Placement, or None without penalties."""
    from migrate.graph.regularization import place, write_arguments  # noqa: PLC0415

    if spec is None or not spec.penalties:
        return None
    placement = place(spec.penalties, em)
    em.lines = write_arguments(em.lines, placement.arguments)
    entry["regularization"] = placement.report
    carried = len(spec.penalties) - len(placement.unplaced)
    log(f"training loss: {carried} of {len(spec.penalties)} weight penalties carried into fit as Keras regularizers")
    for e in placement.report:
        if "not_carried" in e:
            log(f"  NOT carried: {e['not_carried']}")
    return placement


def _penalty_values(model, placement, view) -> dict | None:
    """{"keras": the model's regularisation (`model.losses`, what fit adds), "not_carried": the penalties no weight
    took, valued on the checkpoint's variables}, or None without penalties."""
    if placement is None:
        return None
    keras_value = float(sum(float(np.asarray(v)) for v in model.losses))
    missing = float(sum(p.value(view.variable_values(p.variable)) for p in placement.unplaced))
    return {"keras": keras_value, "not_carried": missing}


def _loss_parity(spec, tf1, got, outputs, feed, inference_values, seed, reference=None, penalties=None) -> dict:
    """The TF1 loss tensor and the Keras loss on the same batch: the generated inputs, plus labels (and lengths
    or weights) generated for the placeholders the loss alone reads. `reference`: `_loss_reference` already run
    (beside the Keras trace) on logits of the shape the Keras model gave, else it runs now: the labels depend on
    that shape alone, so both ways give the same labels, the same TF1 loss and the same verdict. `penalties`
    (`_penalty_values`): the TF1 loss is the total, regularisation included; so is the Keras side (its loss +
    `model.losses`), plus, for the check alone, the value of the penalties no weight took (reported apart)."""
    logits = np.asarray(got[outputs.index(spec.output)])
    if reference is None or reference.get("shape") != logits.shape:
        reference = _loss_reference(spec, tf1, logits.shape, feed, inference_values, seed)
    if "why" in reference:
        return {"ok": None, "why": reference["why"]}
    import keras  # noqa: PLC0415

    try:
        loss = keras.losses.deserialize(keras.losses.serialize(_loss_object(spec)))   # as saved with the model
        val = float(np.asarray(loss(reference["y"], logits, reference["sample_weight"])))
    except Exception as e:  # noqa: BLE001 - a check that could not run is reported, not fatal
        return {"ok": None, "why": _why(e)}
    ref = reference["tf1"]
    extra = {}
    if penalties is not None:
        val += penalties["keras"] + penalties["not_carried"]
        extra = {"compared": "the totals, regularisation included", "regularization": penalties["keras"],
                 **({"not_carried": penalties["not_carried"]} if penalties["not_carried"] else {})}
    diff = abs(val - ref)
    return {"ok": bool(diff <= 1e-5 * max(1.0, abs(ref))), "tf1": ref, "keras": val, "abs_diff": diff,
            "classes": int(logits.shape[-1]), **extra}


def _loss_reference(spec, tf1, shape, feed, inference_values, seed) -> dict:
    """The TF1 half of `_loss_parity` for logits of `shape`: the labels (and lengths or weights) generated for
    the placeholders the loss alone reads, and the graph's loss on them: {"shape", "y", "sample_weight", "tf1"},
    or {"why"} when it could not run."""
    import tf_migrate_runtime.losses as rl  # noqa: PLC0415

    rng = np.random.RandomState(seed + 7)
    logits = np.empty(shape, np.float32)   # _labels_for reads its shape alone
    full = dict(feed)
    try:
        if spec.labels not in full:
            full[spec.labels] = _labels_for(tf1, spec, logits, rng)
        y = np.asarray(full[spec.labels])
        sample_weight = None
        if spec.weights and "sequence_mask" in spec.weights:
            lengths_name = spec.weights["sequence_mask"]
            steps = y.shape[1] if y.ndim >= 2 else logits.shape[1]
            if lengths_name not in full:
                full[lengths_name] = rng.randint(1, steps + 1, size=(y.shape[0],)).astype(
                    tf1.graph.get_tensor_by_name(lengths_name).dtype.as_numpy_dtype)
            sample_weight = np.asarray(rl.sequence_mask(full[lengths_name], steps))
        elif spec.weights:
            name = spec.weights["placeholder"]
            if name not in full:
                full[name] = rng.uniform(0.0, 1.0, size=y.shape).astype("float32")
            sample_weight = full[name]
        tf_feed = dict(full)
        tf_feed.update({k + ":0": v for k, v in inference_values.items()})
        ref = float(np.asarray(tf1.run([spec.graph], tf_feed)[0]).sum())   # a non-scalar loss: what tf.gradients sums
    except Exception as e:  # noqa: BLE001 - a check that could not run is reported, not fatal
        return {"shape": tuple(shape), "why": _why(e)}
    return {"shape": tuple(shape), "y": y, "sample_weight": sample_weight, "tf1": ref}


def _why(e: Exception) -> str:
    import tensorflow as tf  # noqa: PLC0415

    from migrate.parity.tf1_graph import describe_op_error  # noqa: PLC0415

    return describe_op_error(e) if isinstance(e, tf.errors.OpError) else \
        f"{type(e).__name__}: {' '.join(str(e).split())[:600]}"


def _loss_object(spec):
    return spec.loss_object()


def _labels_for(tf1, spec, logits, rng):
    """Labels for the loss-only placeholder: ids below the class count, or a distribution, shaped as the graph
    declares (unknown sizes from the logits)."""
    t = tf1.graph.get_tensor_by_name(spec.labels)
    classes = logits.shape[-1]
    dims = t.shape.as_list() if t.shape.rank is not None else None
    want = list(logits.shape[:-1]) if spec.sparse else list(logits.shape)
    if dims is None or len(dims) != len(want):
        if dims is None or any(d is None for d in dims):
            shape = want
        else:
            shape = dims
    else:
        shape = [d if d is not None else w for d, w in zip(dims, want)]
    if spec.sparse:
        return rng.randint(0, classes, size=shape).astype(t.dtype.as_numpy_dtype)
    p = rng.uniform(0.1, 1.0, size=shape)
    return (p / p.sum(-1, keepdims=True)).astype(t.dtype.as_numpy_dtype)


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise GraphConvertError(f"--inputs {path}: cannot read it as a .npz of arrays ({type(e).__name__}: {e}); "
                                f"write it with numpy.savez(path, **{{'placeholder:0': array}})") from None


def _run(model, inputs):
    """The model's outputs on one batch: traced once when it holds a loop over time (an eager Keras RNN or decoder
    steps through Python per time step: ptrnet 1.6 s eagerly, 0.8 s traced), else eagerly (no tracing to pay:
    hcn 0.03 s eagerly, 0.1 s traced)."""
    import keras  # noqa: PLC0415

    with _grappler_off():
        if not _loops(model):
            out = model(inputs)
            return [keras.ops.convert_to_numpy(o) for o in out] if isinstance(out, list | tuple) else \
                keras.ops.convert_to_numpy(out)
        model.jit_compile = False  # compiling for XLA costs more than it saves on one batch
        return model.predict_on_batch(inputs)


@contextlib.contextmanager
def _grappler_off():
    """TensorFlow's graph optimiser (Grappler's meta-optimizer) off for the parity call, then as it was: the first
    call of the traced model instantiates its graph, and Grappler's passes over a decoder's loops cost more than
    they save on one batch (ptrnet_gru_bahdanau_tf15: the call 0.51 - 0.67 s -> 0.22 - 0.28 s; the outputs equal to
    the last bit both ways, docs/performance.md). A setting of this check in this process only: the model written
    is the same, and runs optimised wherever it is loaded."""
    import tensorflow as tf  # noqa: PLC0415

    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options(
            {"disable_meta_optimizer": before.get("disable_meta_optimizer", False)})


def _generated_that_runs(tf1, inputs: list[dict], outputs: list[str], fixed: dict, seed: int, inference: dict, log,
                         also: list[str] = (), generated=None):
    """(`_harness_feed`'s batch of 3, the TF1 graph's `outputs` + `also` on it). A graph that refuses it and takes a
    batch of 1 (`graph_inputs.on_a_batch_it_takes`: a graph exported for one example at a time) runs parity on that
    batch, and the log says why. When it refuses that too, the first refusal is the reason given (`_run_tf1`)."""
    from migrate.parity.graph_inputs import on_a_batch_it_takes  # noqa: PLC0415
    from migrate.parity.tf1_graph import GraphRunError  # noqa: PLC0415

    if generated is None:
        generated = _harness_feed(tf1, inputs, outputs, fixed, seed)
    try:
        ref, feed, first = on_a_batch_it_takes(
            lambda f: tf1.run([*outputs, *also], {**f.values, **{k + ":0": v for k, v in inference.items()}}),
            generated, lambda: _harness_feed(tf1, inputs, outputs, fixed, seed, batch_size=1), GraphRunError)
    except GraphRunError as e:
        raise _rejected(tf1, e, generated, inputs) from None
    if first is not None:
        where = f" at node {first.node}" + (f" ({first.op_type})" if first.op_type else "") if first.node else ""
        log(f"  the TF1 graph refuses a generated batch of {generated.sizes.batch} ({first.kind}{where}: "
            f"{' '.join(first.text.split())[:200]}) and runs a batch of 1: parity runs on a batch of 1 (the graph "
            f"takes one example at a time; pass --inputs FEED.npz to compare your own batch)")
    return feed, ref


def _tf1_while_tracing(tf1, inputs: list[dict], outputs: list[str], fixed: dict, seed: int, inference: dict, log,
                       model, also: list[str] = (), loss_spec=None, split: dict | None = None):
    """`_generated_that_runs` (and, with `loss_spec`, `_loss_reference` on the logits the graph gave) in a thread,
    while this thread traces the Keras model for the generated batch (`_trace_ahead`): a TF1 session run waits in
    TensorFlow's C++ runtime, which lets the trace's Python go on. Nothing else changes: the graph's outputs, the
    feed, the loss, the errors (raised here, in this thread) and the log lines (said after both are done) are those
    of the sequential run. -> (feed, the graph's outputs, the loss reference or None). `split`: the seconds of each
    part, added to it (the report's `parity_timings`)."""
    import threading  # noqa: PLC0415

    said: list[str] = []
    result: dict = {}

    seconds = {} if split is None else split

    def tf1_side():
        try:
            t = time.perf_counter()
            feed, ref = _generated_that_runs(tf1, inputs, outputs, fixed, seed, inference, said.append, also=also,
                                             generated=generated)
            _add(seconds, "the TF1 graph's run (beside the trace)", t)
            result["run"] = (feed, ref)
            if loss_spec is not None and loss_spec.output in outputs:
                t = time.perf_counter()
                shape = np.shape(ref[outputs.index(loss_spec.output)])
                result["loss"] = _loss_reference(loss_spec, tf1, shape, feed.values, inference, seed)
                _add(seconds, "the TF1 graph's loss (beside the trace)", t)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            result["error"] = e

    t = time.perf_counter()
    generated = _harness_feed(tf1, inputs, outputs, fixed, seed)
    _add(seconds, "the generated inputs", t)
    worker = threading.Thread(target=tf1_side, name="tf-migrate parity: the TF1 graph", daemon=True)
    worker.start()
    t = time.perf_counter()
    _trace_ahead(model, {i["keras"]: generated.values[i["graph"]] for i in inputs})
    _add(seconds, "the Keras model's trace (the TF1 graph runs meanwhile)", t)
    t = time.perf_counter()
    worker.join()
    _add(seconds, "waiting for the TF1 side after the trace", t)
    for line in said:
        log(line)
    if "error" in result:
        raise result["error"]
    feed, ref = result["run"]
    return feed, ref, result.get("loss")


def _add(seconds: dict, part: str, since: float) -> None:
    seconds[part] = round(seconds.get(part, 0.0) + time.perf_counter() - since, 3)


def _trace_ahead(model, inputs: dict) -> None:
    """Trace the model's call `_run` makes on `inputs` (`tfm.Model`'s traced forward pass for this signature and
    `training` value) without running it, so that the call finds it traced; a trace that fails is left for the
    call itself to fail and say why."""
    from tf_migrate_runtime import _keras_internals as internals  # noqa: PLC0415
    from tf_migrate_runtime.layers import model as runtime_model  # noqa: PLC0415

    if not isinstance(model, runtime_model.Model):
        return
    training = None   # _run: `model(inputs)`, or `predict_on_batch` (training=False) where the model loops
    if _loops(model):
        model.jit_compile = False   # as _run sets it
        training = False
    if not model._eager_on_tensorflow():   # noqa: SLF001 - the runtime's own test for its traced call
        return
    to_tensor = internals.numpy_to_tensor()
    x = {k: to_tensor(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}   # as Model.__call__ does
    key = runtime_model._signature(x, training, None)   # noqa: SLF001
    if key is None:
        return
    holder = model._traced_holder()   # noqa: SLF001
    if key in holder.concrete:
        return
    try:
        holder._concrete_for(key, x, training, None)   # noqa: SLF001
    except Exception:  # noqa: BLE001 - the call traces again and reports it (_run_keras)
        return


def _loops(model) -> bool:
    """Whether the model holds a loop over time (a Keras RNN, a runtime layer that loops): `_run` calls it traced."""
    import keras  # noqa: PLC0415

    return any(isinstance(layer, keras.layers.RNN) or getattr(layer, "loops_over_time", False)
               for layer in model.layers)


def _rejected(tf1, error, generated, inputs):
    from migrate.parity.graph_inputs import rejected  # noqa: PLC0415

    return rejected(tf1, error, generated, example=[i["graph"] for i in inputs])


def _harness_feed(tf1, inputs: list[dict], outputs: list[str], fixed: dict, seed: int, batch_size: int = 3):
    """Generated inputs from `migrate.parity.graph_inputs` for every placeholder the TF1 side of `outputs` needs
    (the model's inputs, and those it does not take, e.g. the batch size of a zero state a recognised RNN makes
    itself): one batch size and time length for all (batch 3, 5 steps where the graph leaves them open, else what
    it fixes or `fixed`, the values fixed at inference, give), each input's time axis where the graph reads it,
    ids inside the embedding they index, lengths within the time axis they index. A `graph_inputs.Feed`."""
    from migrate.parity.graph_inputs import generate_feed, infer_rules  # noqa: PLC0415
    from migrate.parity.graph_spec import FeedRule  # noqa: PLC0415

    names = {i["graph"] for i in inputs}
    needed = tf1.needed(outputs)
    needed += [tf1.placeholder(n) for n in sorted(names - {p.tensor for p in needed})]
    declared = {p.tensor: FeedRule(p.tensor, value=np.asarray(fixed[p.name]), source="fixed at inference")
                for p in needed if p.name in fixed and p.tensor not in names}
    rules = infer_rules(tf1, needed, declared, skip=names)
    return generate_feed(tf1, needed, rules, shapes={i["graph"]: tuple(i["shape"]) for i in inputs},
                         batch_size=batch_size, time_steps=5, seed=seed, always=names)


def _example_feed(tf1, inputs: list[dict], parse: dict, cut: dict, seed: int):
    """`migrate.parity.examples.example_feed` for the parsed features among `inputs`; the model's other inputs
    drawn by `_harness_feed`."""
    from migrate.parity.examples import example_feed  # noqa: PLC0415

    others = [i for i in inputs if i["graph"] not in cut]
    feed, omitted = example_feed(tf1, [i["graph"] for i in inputs if i["graph"] in cut], parse, cut, seed)
    if others:
        drawn = _harness_feed(tf1, others, [i["graph"] for i in others], {}, seed).values
        feed.values.update({i["graph"]: drawn[i["graph"]] for i in others})
    return feed, dict(feed.values), omitted


def _run_tf1(tf1, outputs, feed, label, generated, inputs, inputs_npz):
    """The TF1 graph's outputs on `feed`, run before the Keras model: when the graph itself refuses the inputs,
    one message with TensorFlow's own error and the way out (`graph_inputs.rejected`); None when it refuses the
    values drawn like the user's `--inputs` (then that batch alone is compared)."""
    from migrate.parity.graph_inputs import Feed, rejected  # noqa: PLC0415
    from migrate.parity.tf1_graph import GraphRunError  # noqa: PLC0415

    try:
        return tf1.run(outputs, feed)
    except GraphRunError as e:
        if label == "--inputs":
            raise rejected(tf1, e, Feed(values=dict(feed)), source=inputs_npz) from None
        if inputs_npz:   # drawn like the user's batch: that batch is compared on its own
            return None
        raise rejected(tf1, e, generated, example=[i["graph"] for i in inputs]) from None


def _run_keras(model, inputs) -> tuple[list | None, str | None]:
    """(outputs, None), or (None, why) when the model fails on inputs the TF1 graph ran: TensorFlow's own error
    (`describe_op_error`), never its bare "Graph execution error:" first line."""
    import tensorflow as tf  # noqa: PLC0415

    from migrate.parity.tf1_graph import describe_op_error  # noqa: PLC0415

    try:
        got = _run(model, inputs)
    except tf.errors.OpError as e:
        return None, f"the Keras model fails on inputs the TF1 graph runs: {describe_op_error(e)}"
    except (ValueError, TypeError) as e:
        return None, (f"the Keras model fails on inputs the TF1 graph runs: {type(e).__name__}: "
                      f"{' '.join(str(e).split())[:600]}")
    return [np.asarray(x) for x in (got if isinstance(got, (list, tuple)) else [got])], None


def _op_counts(lines) -> dict:
    """TF op type -> how many lines of model.py came from it (the `# OpType node` comments)."""
    from migrate.graph.ops import SUPPORTED  # noqa: PLC0415

    counts = Counter()
    for line in lines:
        if "  # " in line:
            for word in line.rsplit("  # ", 1)[1].replace("+", " ").split():
                if word in SUPPORTED:
                    counts[word] += 1
    return dict(sorted(counts.items()))


def _sampled_ids(g) -> list[str]:
    """On the `.meta` read as data: the int32 TensorArray stacks (a `dynamic_decode`'s `sample_id`) in the scope of
    every while loop that draws from a `Multinomial` (a sampling helper's), so that they are imported even when the
    outputs do not read them: parity feeds a sampling decoder the ids the graph drew (`_draw_tensors`)."""
    scopes = {g.names[i].rsplit("/while/", 1)[0] + "/" for i in g.nodes_of_type(("Multinomial",))
              if "/while/" in g.names[i]}
    if not scopes:
        return []
    out = []
    for i in g.nodes_of_type(("TensorArrayGatherV3",)):
        name = g.names[i]
        if "/while/" not in name and any(name.startswith(s) for s in scopes) and \
                g.op(i).node_def.attr["dtype"].type == 3:   # DT_INT32
            out.append(name + ":0")
    return out


def _draw_tensors(emitted: dict, g, log) -> dict:
    """The sampling layers (`Emitter.draws`: layer -> (the graph's Multinomial, [batch-major ids, time-major ids]))
    -> {layer: (the graph tensor of the ids it draws, time major?)}. Their draws are random on both sides and
    the layer's are not TF1's (constructs/sampling_decoder.py): parity runs the graph, then the layer with the
    graph's ids of that same run (`tfm.given_draws`), and compares what they determine. A layer whose ids the
    graph does not compute is left drawing (logged: its outputs differ by chance)."""
    out = {}
    for layer, (draw, names) in emitted.items():
        name = next(((n, k == 1) for k, n in enumerate(names) if n is not None and _has_tensor(g, n)), None)
        if name is None:
            log(f"parity: {layer} draws random ids ({draw}) and the graph's ids are not among the tensors imported "
                f"(choose its sample ids among --outputs): its outputs are compared as drawn, so they differ by "
                f"chance")
            continue
        out[layer] = name
        log(f"parity: {layer} samples like {draw} (a stateful random op; the layer draws its own ids, "
            f"not TF1's stream): the graph's ids of each run ({name[0]}) are fed to it (tfm.given_draws), so its sample "
            f"ids equal them by construction; what is checked is what the draws determine (the logits, the states, "
            f"the lengths)")
    return out


def _give_draws(model, draws: dict, values: list) -> None:
    """The graph's ids (`values`, in `draws` order) to the sampling layers of `model`; `{}`: they draw again."""
    from tf_migrate_runtime.layers.sampling import given_draws  # noqa: PLC0415

    given_draws(model, {layer: (np.asarray(v).T if time_major else np.asarray(v))
                        for (layer, (_, time_major)), v in zip(draws.items(), values)})


def _has_tensor(g, name):
    try:
        g.get_tensor_by_name(name if ":" in name else name + ":0")
        return True
    except (KeyError, ValueError):
        return False


def _id_range(tf1, graph_name):
    try:
        return tf1.id_range(graph_name.split(":")[0])
    except Exception:  # noqa: BLE001 - a hint only
        return None


def _meta(prefix: str) -> str:
    """The checkpoint's `.meta` (`migrate.files.find_meta`: PREFIX.meta or the one beside it); checked present."""
    from migrate.files import find_meta  # noqa: PLC0415

    return find_meta(prefix)


def _source_report(tf1, inputs) -> dict:
    """The report's `source` (`migrate.parity.forms.ModelSource.report`), with the signature inputs the outputs do
    not read (not inputs of the Keras model) named."""
    src = tf1.source.report()
    from migrate.parity.reference import reference_report  # noqa: PLC0415

    src.update(reference_report(tf1))
    if tf1.source.signature:
        used = {i["graph"] for i in inputs}
        parse = src["signature"].get("parse_example")
        if parse:   # the serialized examples are read through the parsed features the model takes
            import copy  # noqa: PLC0415

            src["signature"] = copy.deepcopy(src["signature"])
            parse = src["signature"]["parse_example"]
            by_graph = {i["graph"]: i["keras"] for i in inputs}
            for f in parse["features"].values():
                if f.get("tensor") in by_graph:
                    f["keras_input"] = by_graph[f["tensor"]]
            if any("keras_input" in f for f in parse["features"].values()):
                used.add(parse["tensor"])
        started = getattr(tf1, "started_at", {})
        unused = sorted(k for k, t in tf1.source.signature_inputs.items() if started.get(t, t) not in used)
        if unused:
            src["signature_inputs_not_read"] = unused
    return src


def _tf_version(tf1):
    return tf1.meta_def.meta_info_def.tensorflow_version or "unknown"


def _jsonable(v):
    a = np.asarray(v)
    return a.item() if a.ndim == 0 else a.tolist()


# public names of the steps `convert --to tf1` repeats (migrate/graph/to_tf1.py)
inference_constants = _inference_constants   # migrate.parity.dropouts
translate_view = _translate
