"""The outcome of a harness run: a table for people, JSON for machines, JUnit XML for CI dashboards.

JSON (`ParityReport.to_dict`, `tf-migrate parity --json`): `{"schema": "tf-migrate/parity", "version": 1, "ok",
"summary", "info", "notes", "results": [ParityResult.to_dict(), ...]}`; every result carries `check` (its kind)
and `subject` (the variable or tensor). A NaN shows as "NaN" in the table (never `max abs 0.0e+00`).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from migrate.parity.checks import CHECK_TITLES
from migrate.parity.compare import Greatest, ParityResult, greatest

REPORT_SCHEMA = "tf-migrate/parity"
REPORT_VERSION = 1


def check_of(result: ParityResult) -> str:
    """The check kind of a result: its structured `check`; for a bare `compare` result, its name."""
    if result.check:
        return result.check
    head = result.name.split(" ", 1)[0]  # a bare result: "grad enc/kernel" (the harness always tags its own)
    return {"weight": "weights", "grad": "gradients"}.get(head, head)


@dataclass
class ParityReport:
    """All results of one `run_parity`. Truthy when every check is within tolerance.

    Attributes:
        results: one `ParityResult` per compared tensor (per variable for weights, gradients, adam).
        info: what was compared: paths, hparams, batches, seed, steps, tolerances, seconds.
        notes: sentences about the run (e.g. "dropout 0.2 set to 0 for the comparison").
    """

    results: list[ParityResult] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and bool(self.results)

    def __bool__(self) -> bool:
        return self.ok

    def by_check(self) -> dict[str, list[ParityResult]]:
        groups: dict[str, list[ParityResult]] = {}
        for r in self.results:
            groups.setdefault(check_of(r), []).append(r)
        return groups

    def failures(self) -> list[ParityResult]:
        return [r for r in self.results if not r.ok]

    def check_rows(self) -> list[tuple[str, list[ParityResult], Greatest]]:
        """(kind, results, `greatest(results)`) per check kind, in report order: what `table`, `rows` (the demo's
        report.html) and the JSON's `checks` all show, so no two of them can disagree on a number."""
        return [(check, results, greatest(results)) for check, results in self.by_check().items()]

    def table(self) -> str:
        """A short table: one row per check kind with its greatest differences (`compare.greatest`) and tolerance."""
        rows = [("check", "compared", "max abs", "max rel", "tolerance", "result")]
        for check, results, g in self.check_rows():
            bad = sum(not r.ok for r in results)
            what = f"{len(results)} tensors" if len(results) > 1 else f"{g.compared} values"
            if check == "greedy":
                what = f"{g.compared - g.mismatched}/{g.compared} ids equal"
            status = "ok" if bad == 0 else (f"FAIL ({bad})" if len(results) > 1 else "FAIL")
            compared = g.max_abs_of is not None
            rows.append((CHECK_TITLES.get(check, check), what, g.shown_max_abs() if compared else "-",
                         g.shown_max_rel() if compared else "-", _tolerance(results, g), status))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per check kind (for the demo report, the JSON's `checks` and dashboards): check, kind,
        max_abs, max_rel (the table's numbers: `compare.greatest`), margin (the largest share of its tolerance
        any element uses; > 1 fails), tolerance, mismatched ("3 / 4800" elements, summed over the check's
        tensors), ok, and for a failing check `failure`: where and why (`failure_text`)."""
        out = []
        for check, results, g in self.check_rows():
            row = {"check": CHECK_TITLES.get(check, check), "kind": check,
                   "max_abs": math.nan if g.nan else g.max_abs, "max_rel": math.nan if g.nan else g.max_rel,
                   "margin": g.margin, "tolerance": _tolerance(results, g),
                   "mismatched": f"{g.mismatched} / {g.compared}", "ok": all(r.ok for r in results)}
            if not row["ok"]:
                row["failure"] = failure_text(results)
            out.append(row)
        return out

    def per_timestep(self, name: str = "logits") -> list[float | None]:
        """The per-timestep max abs error of the result called `name` ([] when absent)."""
        r = next((r for r in self.results if r.name == name), None)
        return list(r.per_timestep or []) if r is not None else []

    def summary_line(self) -> str:
        n, bad = len(self.results), len(self.failures())
        secs = self.info.get("seconds")
        took = f" in {secs:.1f}s" if secs is not None else ""
        backend = self.info.get("backend")
        on = f" (Keras on {backend})" if backend and backend != "tensorflow" else ""
        if bad == 0:
            return f"parity: all {n} checks within tolerance{on}{took}"
        kinds = sorted({check_of(r) for r in self.failures()})
        return f"parity: {bad} of {n} checks outside tolerance ({', '.join(kinds)}){on}{took}"

    def failure_message(self, limit: int = 6) -> str:
        """The summary line, the full message of the first `limit` failing checks, and the likely causes found on
        the others."""
        failures = self.failures()
        parts = [self.summary_line()]
        for r in failures[:limit]:
            parts.append(r.message)
        if len(failures) > limit:
            parts.append(f"... and {len(failures) - limit} more: "
                         + ", ".join(r.name for r in failures[limit:limit + 20]))
            shown = "\n".join(parts)
            causes = dict.fromkeys(n for r in failures[limit:] for n in r.notes if n.startswith("Likely cause"))
            parts.extend(c for c in causes if c not in shown)   # a check's diagnosis on a tensor not shown
        if self.notes:
            parts.append("\n".join(self.notes))
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": REPORT_SCHEMA, "version": REPORT_VERSION, "ok": self.ok, "summary": self.summary_line(),
                "info": _plain(self.info), "notes": self.notes, "checks": _plain(self.rows()),
                "results": [r.to_dict() for r in self.results]}

    def json_text(self) -> str:
        """Strict JSON (`migrate.files.to_json_text`): a NaN / inf difference is null, listed in `non_finite`."""
        from migrate.files import to_json_text  # noqa: PLC0415

        return to_json_text(self.to_dict(), indent=1)

    def write_json(self, path: str) -> None:
        """Write `json_text()` atomically (the CLI stages it through `migrate.files.Outputs` instead)."""
        from migrate.files import atomic_write_text  # noqa: PLC0415

        atomic_write_text(path, self.json_text())

    def write_junit(self, path: str) -> None:
        from migrate.files import atomic_write_text  # noqa: PLC0415

        atomic_write_text(path, self.junit_text())

    def junit_text(self) -> str:
        """JUnit XML: one testsuite "tf-migrate parity", one testcase per compared tensor."""
        failures = self.failures()
        suite = ET.Element("testsuite", name="tf-migrate parity", tests=str(len(self.results)),
                           failures=str(len(failures)), errors="0",
                           time=f"{self.info.get('seconds', 0.0):.3f}")
        for r in self.results:
            case = ET.SubElement(suite, "testcase", classname=f"parity.{check_of(r)}", name=r.name, time="0")
            if not r.ok:
                first = r.message.splitlines()[1] if "\n" in r.message else r.message
                fail = ET.SubElement(case, "failure", message=first, type="ParityError")
                fail.text = r.message
            else:
                ET.SubElement(case, "system-out").text = r.summary()
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _tolerance(results: list[ParityResult], g: Greatest) -> str:
    """The tolerance a check's row shows: that of its element closest to (or most over) its tolerance."""
    r = g.margin_of or results[0]
    return r.tolerance_text()


def failure_text(results: list[ParityResult]) -> str:
    """Why a check failed, in a few lines (what the demo prints under its table and report.html shows): its
    failing tensor most outside its tolerance in detail - the element, both values, what was allowed there, where
    the element is (gate, unit, row: the harness's "Index ..." note) and the notes (likely cause) - then one line
    per other failing tensor with its worst element and where it is."""
    bad = sorted((r for r in results if not r.ok), key=lambda r: -_badness(r))
    if not bad:
        return ""
    worst, others = bad[0], bad[1:]
    lines = [_detail(worst)]
    for r in others:   # a likely cause a check attached to another of its tensors
        lines.extend(n for n in r.notes if n.startswith("Likely cause") and n not in lines[0])
    if others:
        lines.append(f"{len(others)} more tensor(s) outside tolerance:")
        for r in others:
            if r.problem or r.shape_mismatch:
                lines.append(f"- {r.name}: {r.problem or r.shape_mismatch}")
                continue
            where = next((n[len("Index "):].rstrip(".") for n in r.notes if n.startswith("Index ")), None)
            at = where or (f"{r.margin_index}" if r.margin_index is not None else "")
            lines.append(f"- {r.name}: {r.mismatched} of {r.compared} elements, worst at index {at}, "
                         f"{r.margin:.3g} x the tolerance")
    return "\n".join(lines)


def _badness(r: ParityResult) -> float:
    if r.problem or r.shape_mismatch or r.nan_count:
        return math.inf
    return r.margin


def _detail(r: ParityResult) -> str:
    if r.problem or r.shape_mismatch:
        return "\n".join([f"{r.name}: {r.problem or r.shape_mismatch}", *r.notes])
    lines = [f"{r.name}: {r.mismatched} of {r.compared} elements outside tolerance"]
    if r.margin_index is not None:
        lines.append(f"worst at index {r.margin_index}: legacy {r.worst_expected:.8g}, port {r.worst_actual:.8g}, "
                     f"difference {abs(r.worst_actual - r.worst_expected):.2e}, allowed {r.worst_allowed:.2e} "
                     f"({r.margin:.3g} x the tolerance)")
    for nf in r.nonfinite:
        if nf.nan:
            lines.append(f"NaN in {nf.side}: {nf.nan} element(s), first at index {nf.first_nan}")
        if nf.inf:
            lines.append(f"Inf in {nf.side}: {nf.inf} element(s), first at index {nf.first_inf}")
    lines.extend(r.notes)
    return "\n".join(lines)


def _plain(x: Any) -> Any:
    """JSON-safe: NaN / Inf as strings, NumPy scalars as Python numbers."""
    from migrate.parity.compare import _jsonable  # noqa: PLC0415

    return _jsonable(x)
