"""TF1 checkpoint -> `tf2.Seq2Seq` weights (`.keras`, `.weights.h5` or a TF2 object checkpoint): the plan.

`convert_checkpoint` is what `tf-migrate convert` runs: open and recognise the checkpoint, decide the
hparams (file, or inferred from shapes, each field saying where it came from) and the forget bias, bind
every Keras weight (`bindings.bind_seq2seq`), refuse with one message listing every missing / unexpected /
mismatched variable, then read each tensor once, transform, assign, and stage every output in one
`migrate.files.Outputs`, committed together only when everything succeeded.

The jobs live in their own modules:

| module                      | job                                                                  |
|-----------------------------|----------------------------------------------------------------------|
| `refusal.py`                | refusals with the way out, hparams inference and decision            |
| `materialise.py`            | build the model without values, give each weight its converted value |
| `optimizer.py`              | Adam m / v / step carry-over (`--with-optimizer`)                    |
| `writers.py`                | streamed `.keras` / `.weights.h5`, Keras's writer, TF2 checkpoint,   |
|                             | the model folder's hparams.json and vocabularies                     |
| `convert_report.py`         | the JSON report and the progress bar                                 |
"""

from __future__ import annotations

import time

from migrate.checkpoint.bindings import bind_seq2seq
from migrate.checkpoint.convert_report import CONVERT_SCHEMA, CONVERT_VERSION, finish_report, progress_bar
from migrate.checkpoint.forget_bias import resolve_forget_bias
from migrate.checkpoint.materialise import (  # noqa: F401  (re-exported)
    build_model,
    finish_initialisation,
    is_direct,
    materialise,
    restore_direct,
)
from migrate.checkpoint.optimizer import ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, adam_step, carry_adam  # noqa: F401
from migrate.checkpoint.reader import Checkpoint, CheckpointError, MappingError
from migrate.checkpoint.recognise import recognise_checkpoint
from migrate.checkpoint.refusal import (  # noqa: F401  (re-exported: callers import them from here)
    decide_hparams,
    infer_hparams,
    mismatch_message,
    refuse_without_cells,
)
from migrate.checkpoint.writers import (  # noqa: F401  (re-exported)
    KERAS_SUFFIX_FORMATS,
    KERAS_SUFFIXES,
    VOCAB_FILES,
    keras_save,
    model_folder_files,
    output_format,
    report_bytes,
    staged_suffix,
    stream_keras_file,
    tf_checkpoint,
)
from migrate.files import Outputs


def plan_conversion(ckpt: Checkpoint, *, hparams_path: str | None = None, forget_bias: float | None = None,
                    force_forget_bias: bool = False):
    """Everything but the reading and writing: (model, recognition, plan, report). Raises when unusable."""
    rec = recognise_checkpoint(ckpt)   # names, and the .meta graph's usage where there is one
    refuse_without_cells(ckpt, rec)
    hp_dict, hp_sources, hp_file = decide_hparams(ckpt, rec, hparams_path)
    needs_fb = any(c.needs_forget_bias for c in rec.cells)     # the cell layout says (LSTM / LSTMBlock fold one)
    fb, warnings = resolve_forget_bias(flag=forget_bias, hparams=hp_dict if hp_file else None,
                                       hparams_path=hp_file, meta_path=ckpt.meta_path, needed=needs_fb,
                                       cells=rec.cells, force=force_forget_bias)
    model = build_model(hp_dict, fb)
    plan = bind_seq2seq(model, rec, fb.value)
    report = {
        "schema": CONVERT_SCHEMA, "version": CONVERT_VERSION,
        "checkpoint": ckpt.prefix,
        "hparams": model.hparams.to_dict(),
        "hparams_sources": hp_sources,
        "forget_bias": fb.to_json(),
        "warnings": warnings,
    }
    return model, rec, plan, report


def refuse_unused(ckpt: Checkpoint, plan, hint: str) -> None:
    """Trained checkpoint weights the model would not use (a dropped layer): exit 1 unless `--allow-unused`."""
    shown = "\n    ".join(plan.unexpected[:12]) + ("\n    ..." if len(plan.unexpected) > 12 else "")
    raise MappingError(
        f"{ckpt.prefix}: {len(plan.unexpected)} trained checkpoint weight(s) would be dropped: the tf2 model built "
        f"from {hint} does not use them; nothing was written.\n    {shown}\n  What to do: pass --hparams with "
        f"the training's values (e.g. num_layers) so the model uses them, or --allow-unused to drop them on "
        f"purpose (the report lists them).")


def convert_checkpoint(checkpoint: str, out: str, *, hparams_path: str | None = None, strict: bool = False,
                       report_path: str | None = None, forget_bias: float | None = None,
                       with_optimizer: bool = False, progress: bool | None = None,
                       allow_unused: bool = False, force: bool = False, outputs: Outputs | None = None,
                       force_forget_bias: bool = False, step: int | None = None) -> dict:
    """Convert a TF1 checkpoint into a `tf2.Seq2Seq` file; returns the report (also written to `report_path`).

    Raises `CheckpointError` (exit 2) for unusable input, `MappingError` (exit 1) when the checkpoint does
    not fit the model (missing or mismatched weights; trained weights the model would drop unless
    `allow_unused`), `migrate.files.OutputError` (exit 3) when an output cannot be written or exists
    (unless `force`). Nothing is written then. With `outputs`, everything is staged there and the caller
    commits; otherwise this function commits its own outputs before returning. `step` (`--step N`): the
    optimizer's update count with `with_optimizer`, where the checkpoint's own (`optimizer.adam_step`) is not wanted.
    """
    if outputs is None:
        with Outputs(force=force) as own:
            return convert_checkpoint(checkpoint, out, hparams_path=hparams_path, strict=strict,
                                      report_path=report_path, forget_bias=forget_bias,
                                      with_optimizer=with_optimizer, progress=progress,
                                      allow_unused=allow_unused, outputs=own, force_forget_bias=force_forget_bias,
                                      step=step)
    fmt = output_format(out)
    if with_optimizer and fmt == "weights.h5":
        raise CheckpointError(f"{out}: a .weights.h5 file holds no optimizer; use .keras or a TF2 checkpoint "
                              f"prefix with --with-optimizer.")
    outputs.check(out, kind="prefix" if fmt == "tf-checkpoint" else "file")
    if report_path:
        outputs.check(report_path)
    t0 = time.perf_counter()
    ckpt = Checkpoint.open(checkpoint)
    model, rec, plan, report = plan_conversion(ckpt, hparams_path=hparams_path, forget_bias=forget_bias,
                                               force_forget_bias=force_forget_bias)
    t1 = time.perf_counter()
    hint = next(iter(set(report["hparams_sources"].values())), "") if report["hparams_sources"] else ""
    hint = hint if hint.startswith("hparams file") else "hparams inferred from the checkpoint's shapes"
    msg = mismatch_message(ckpt, plan, strict, hint)
    if msg:
        raise MappingError(msg)
    if plan.unexpected and not allow_unused:
        refuse_unused(ckpt, plan, hint)
    ckpt.refuse_reduced_precision(sorted(plan.used()))
    # The optimizer's step before any tensor is read: a checkpoint that cannot tell it stops now (exit 2).
    adam_at = adam_step(ckpt, rec, step) if with_optimizer else None
    # Every file this conversion writes, before any work: an existing hparams.json with other contents
    # beside the output is refused now, not after minutes of converting.
    side_files = model_folder_files(ckpt.directory, out, model.hparams, outputs)

    bar = progress_bar(sum(ckpt.variables[n].nbytes for n in plan.used()), progress)
    if fmt in KERAS_SUFFIX_FORMATS and not with_optimizer:
        tmp = outputs.stage(out, suffix=staged_suffix(fmt))
        if stream_keras_file(model, ckpt, plan, tmp, fmt, bar):
            if bar is not None:
                bar.close()
            t2 = time.perf_counter()
            return _report(report, out, fmt, [out] + side_files, plan, model, ckpt, None, report_path, outputs,
                           {"open_plan_build_model": round(t1 - t0, 3),
                            "stream_read_transform_write": round(t2 - t1, 3)}, streamed=True)
    else:
        tmp = None
    direct = [b for b in plan.bindings if is_direct(b, ckpt)]
    restore_direct(direct, ckpt)
    if bar is not None:
        bar.update(sum(ckpt.variables[b.tf1_names[0]].nbytes for b in direct))
    # Largest first: the peak is then the model plus one small transient, not a big one on top of everything.
    rest = [b for b in plan.bindings if all(b is not d for d in direct)]
    for b in sorted(rest, key=lambda b: -sum(ckpt.variables[n].nbytes for n in b.tf1_names)):
        materialise(b, ckpt)
        if bar is not None:
            bar.update(sum(ckpt.variables[n].nbytes for n in b.tf1_names))
    finish_initialisation(model)
    if bar is not None:
        bar.close()
    t2 = time.perf_counter()

    opt_report = None
    objects = {"model": model}
    if with_optimizer:
        opt, opt_report = carry_adam(model, ckpt, rec, plan, model.hparams, adam_at)
        objects["optimizer"] = opt
        if fmt == "keras":
            from tf2.sequence_loss import SequenceLoss  # noqa: PLC0415

            model.compile(optimizer=opt, loss=SequenceLoss())  # as tf2.training.compile_model: fit() resumes
    if fmt == "tf-checkpoint":
        tf_checkpoint(objects, out, outputs)
        written = [out + ".index", out + ".data-00000-of-00001"]
    else:
        keras_save(model, tmp or outputs.stage(out, suffix=staged_suffix(fmt)), fmt)
        written = [out]
    t3 = time.perf_counter()
    return _report(report, out, fmt, written + side_files, plan, model, ckpt, opt_report, report_path, outputs,
                   {"open_plan_build_model": round(t1 - t0, 3), "read_transform_assign": round(t2 - t1, 3),
                    "optimizer_and_write": round(t3 - t2, 3)}, streamed=False)


def _report(report, out, fmt, written, plan, model, ckpt, opt_report, report_path, outputs, timings, *, streamed):
    finish_report(report, out, fmt, written, plan, model, ckpt, opt_report, timings, streamed=streamed)
    if report_path:
        outputs.write_bytes(report_path, report_bytes(report))
    return report
