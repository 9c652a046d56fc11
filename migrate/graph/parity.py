"""Parity of a converted model against the restored TF1 graph, output by output. An output with a NaN or an Inf on
either side fails (`migrate.parity.graph_pair.nonfinite_problem`, shared with `parity --tf1`)."""

from __future__ import annotations

import numpy as np

from migrate.parity.compare import relative_difference

ATOL = 1e-5
NONFINITE_WAY_OUT = ("convert with other example inputs (--inputs FEED.npz), or choose --outputs before the step "
                     "that makes them non-finite")


def compare(name: str, ref: np.ndarray, got: np.ndarray) -> dict:
    ref, got = np.asarray(ref), np.asarray(got)
    row = {"graph": name, "shape": list(ref.shape)}
    if ref.shape != got.shape:
        row.update(ok=False, problem=f"shape {list(got.shape)} instead of {list(ref.shape)}")
        return row
    if ref.dtype.kind in "fc" or got.dtype.kind in "fc":
        from migrate.parity.graph_pair import nonfinite_problem  # noqa: PLC0415 - one rule for both parity paths

        problem = nonfinite_problem(ref, got, way_out=NONFINITE_WAY_OUT)
        if problem:
            row.update(ok=False, problem=problem, nonfinite=True)
            return row
    if ref.dtype.kind in "iub":
        bad = int(np.sum(ref != got))
        row.update(ok=bad == 0, exact=True, mismatched=bad, max_abs=float(np.max(np.abs(
            ref.astype(np.float64) - got.astype(np.float64)))) if ref.size else 0.0)
        return row
    diff = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    tol = ATOL * scale
    max_abs = float(np.max(diff)) if ref.size else 0.0
    rel = float(np.max(relative_difference(ref, got))) if ref.size else 0.0   # the one "max rel" (compare.py)
    finite = bool(np.all(np.isfinite(got)) == np.all(np.isfinite(ref)))
    row.update(ok=bool(max_abs <= tol and finite), max_abs=max_abs, max_rel=rel, tolerance=tol)
    if ref.size and max_abs > tol:
        row["worst_index"] = [int(i) for i in np.unravel_index(int(np.argmax(diff)), ref.shape)]
    return row


def line(row: dict) -> str:
    if "problem" in row:
        return f"  {row['graph']}: FAILED, {row['problem']}"
    if row.get("exact"):
        return f"  {row['graph']}: {'exact' if row['ok'] else str(row['mismatched']) + ' elements differ'}"
    verdict = "ok" if row["ok"] else "FAILED"
    return (f"  {row['graph']}: max abs {row['max_abs']:.2e}, max rel {row['max_rel']:.2e} "
            f"(tolerance {row['tolerance']:.1e}) {verdict}")
