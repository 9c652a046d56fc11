"""The conversion report (`tf-migrate convert --report`, schema `tf-migrate/convert`) and the progress bar."""

from __future__ import annotations

import sys

CONVERT_SCHEMA = "tf-migrate/convert"
CONVERT_VERSION = 1


def progress_bar(total: int, enabled: bool | None):
    """A tqdm bar on stderr in bytes, only on a terminal (or when `enabled`); None otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, unit="B", unit_scale=True, desc="converting", file=sys.stderr, leave=False)


def _raw_verify() -> str:
    from migrate.checkpoint.stream import raw_verify  # noqa: PLC0415

    return raw_verify()


def _folds(binding) -> bool:
    """The binding's cell layout folds a forget bias into the Keras bias (`CellLayout.folds_forget_bias`)."""
    layout = binding.cell_layout
    return layout is not None and layout.folds_forget_bias


def finish_report(report, out, fmt, written, plan, model, ckpt, opt_report, timings, *, streamed) -> dict:
    """Complete `report` (from `plan_conversion`) with the output, every binding, counts and what was ignored."""
    from migrate import _internals  # noqa: PLC0415

    for u in plan.unexpected:
        plan.ignored[u.split(" ")[0]] = "unexpected: not part of the tf2 model for these hparams (--allow-unused)"
    report.update({
        "output": {"path": out, "format": fmt, "files": written,
                   "writer": f"streamed, raw copies verified by {_raw_verify()}" if streamed else "keras",
                   "keras_internals": _internals.why()},
        "bindings": [{"what": b.what, "transform": b.transform, "tf1": list(b.tf1_names),
                      "keras": list(b.keras_paths), "input_size": b.input_size,
                      "forget_bias_folded": b.forget_bias if _folds(b) else None}
                     for b in plan.bindings],
        "counts": {"keras_weights": len(model.weights), "keras_weights_assigned": sum(len(b.keras_weights)
                                                                                      for b in plan.bindings),
                   "checkpoint_variables": len(ckpt.variables), "used": len(plan.used()),
                   "ignored": len(plan.ignored)},
        "ignored": dict(sorted(plan.ignored.items())),
        "unexpected": list(plan.unexpected),
        "optimizer": opt_report,
        "timings": timings,
    })
    return report
