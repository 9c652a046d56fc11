"""The outcome of a harness run: a table for people, JSON for machines, JUnit XML for CI dashboards."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from migrate.parity.compare import ParityResult, _fmt

# Check kinds in report order, with the line the table shows for each.
CHECK_TITLES: dict[str, str] = {
    "weights": "weights (port -> TF1 layout)",
    "logits": "logits at valid positions",
    "loss": "loss (sequence_loss)",
    "gradients": "gradients, one step",
    "adam": "weights after K Adam steps",
    "greedy": "greedy ids",
}


def check_of(result: ParityResult) -> str:
    """The check kind of a result from its name (`"grad encoder/..."` -> `"gradients"`)."""
    head = result.name.split(" ", 1)[0]
    return {"weight": "weights", "grad": "gradients", "adam": "adam", "greedy": "greedy"}.get(head, head)


def _atomic_write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


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
            worst = max(results, key=lambda r: (not r.ok, float("inf") if r.shape_mismatch or r.problem else r.max_abs))
            bad = sum(not r.ok for r in results)
            what = f"{len(results)} tensors" if len(results) > 1 else f"{worst.compared} values"
            if check == "greedy":
                agree = worst.compared - worst.mismatched
                what = f"{agree}/{worst.compared} ids equal"
            tol = "exact" if worst.atol == 0 and worst.rtol == 0 else f"atol {worst.atol:.2g} rtol {worst.rtol:.2g}"
            status = "ok" if bad == 0 else (f"FAIL ({bad})" if len(results) > 1 else "FAIL")
            rows.append((CHECK_TITLES.get(check, check), what,
                         "-" if worst.shape_mismatch or worst.problem else _fmt(worst.max_abs),
                         "-" if worst.shape_mismatch or worst.problem else _fmt(worst.max_rel), tol, status))
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
            out.append({"check": CHECK_TITLES.get(check, check),
                        "max_abs": max(r.max_abs for r in results), "max_rel": max(r.max_rel for r in results),
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
        if bad == 0:
            return f"parity: all {n} checks within tolerance{took}"
        kinds = sorted({check_of(r) for r in self.failures()})
        return f"parity: {bad} of {n} checks outside tolerance ({', '.join(kinds)}){took}"

    def failure_message(self, limit: int = 6) -> str:
        """The summary line and the full message of the first `limit` failing checks."""
        failures = self.failures()
        parts = [self.summary_line()]
        for r in failures[:limit]:
            parts.append(r.message)
        if len(failures) > limit:
            parts.append(f"... and {len(failures) - limit} more: "
                         + ", ".join(r.name for r in failures[limit:limit + 20]))
        parts.extend(self.notes)
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary_line(), "info": self.info, "notes": self.notes,
                "results": [r.to_dict() for r in self.results]}

    def write_json(self, path: str) -> None:
        _atomic_write(path, json.dumps(self.to_dict(), indent=1) + "\n")

    def write_junit(self, path: str) -> None:
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
        _atomic_write(path, ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
