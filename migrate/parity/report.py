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
from migrate.parity.compare import ParityResult

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

    def table(self) -> str:
        """A short table: one row per check kind with its worst difference and tolerance."""
        rows = [("check", "compared", "max abs", "max rel", "tolerance", "result")]
        for check, results in self.by_check().items():
            worst = max(results, key=lambda r: (not r.ok, bool(r.nan_count),
                                                float("inf") if r.shape_mismatch or r.problem else r.max_abs))
            bad = sum(not r.ok for r in results)
            what = f"{len(results)} tensors" if len(results) > 1 else f"{worst.compared} values"
            if check == "greedy":
                agree = worst.compared - worst.mismatched
                what = f"{agree}/{worst.compared} ids equal"
            tol = "exact" if worst.atol == 0 and worst.rtol == 0 else f"atol {worst.atol:.2g} rtol {worst.rtol:.2g}"
            status = "ok" if bad == 0 else (f"FAIL ({bad})" if len(results) > 1 else "FAIL")
            rows.append((CHECK_TITLES.get(check, check), what,
                         "-" if worst.shape_mismatch or worst.problem else worst.shown_max_abs(),
                         "-" if worst.shape_mismatch or worst.problem else worst.shown_max_rel(), tol, status))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per check kind (for the demo report and dashboards): check, max_abs, max_rel,
        tolerance, mismatched ("3 / 4800" elements, summed over the check's tensors), ok."""
        out = []
        for check, results in self.by_check().items():
            tol = results[0]
            nan = any(r.nan_count and not r.ok for r in results)
            out.append({"check": CHECK_TITLES.get(check, check),
                        "max_abs": math.nan if nan else max(r.max_abs for r in results),
                        "max_rel": math.nan if nan else max(r.max_rel for r in results),
                        "tolerance": "exact" if tol.atol == 0 and tol.rtol == 0 else f"atol {tol.atol:.2g} rtol {tol.rtol:.2g}",
                        "mismatched": f"{sum(r.mismatched for r in results)} / {sum(r.compared for r in results)}",
                        "ok": all(r.ok for r in results)})
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
        """The summary line and the full message of the first `limit` failing checks."""
        failures = self.failures()
        parts = [self.summary_line()]
        for r in failures[:limit]:
            parts.append(r.message)
        if len(failures) > limit:
            parts.append(f"... and {len(failures) - limit} more: "
                         + ", ".join(r.name for r in failures[limit:limit + 20]))
        if self.notes:
            parts.append("\n".join(self.notes))
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": REPORT_SCHEMA, "version": REPORT_VERSION, "ok": self.ok, "summary": self.summary_line(),
                "info": _plain(self.info), "notes": self.notes, "results": [r.to_dict() for r in self.results]}

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


def _plain(x: Any) -> Any:
    """JSON-safe: NaN / Inf as strings, NumPy scalars as Python numbers."""
    from migrate.parity.compare import _jsonable  # noqa: PLC0415

    return _jsonable(x)
