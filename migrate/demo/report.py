"""The demo's human-readable report: `report.html` plus the PNG plots it shows.

Pure input/output: it is handed numbers (parity rows, per-timestep errors, attention matrices, a
training curve, paths) and writes files. The HTML embeds the PNGs (base64) so it can be mailed or
attached to a CI run as one file; the PNGs are also written beside it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from dataclasses import dataclass, field

import numpy as np

from migrate.files import atomic_write_bytes


@dataclass
class ReportData:
    title: str
    parity_rows: list[dict]            # ParityReport.rows(): check, max_abs, max_rel, tolerance, mismatched, ok,
                                       # and for a failing check "failure" (tensor, index, gate, values, cause)
    parity_ok: bool
    per_timestep_max_error: np.ndarray  # [T] max |legacy - port| logit difference at each decoder step
    logits_atol: float  # the absolute tolerance the logits check used (drawn as a line)
    attention_legacy: np.ndarray | None  # [T_out, S] alignments for one example
    attention_port: np.ndarray | None
    attention_source: str = ""
    attention_output: str = ""
    training_steps: list[int] = field(default_factory=list)
    training_loss: list[float] = field(default_factory=list)
    eval_points: list[tuple[int, float]] = field(default_factory=list)  # (step, sequence accuracy)
    decodes: list[tuple[str, str, str, str]] = field(default_factory=list)  # source, reference, legacy, port
    converter_summary: list[str] = field(default_factory=list)
    codemod_summary: str = ""
    codemod_diff: str = ""
    paths: dict[str, str] = field(default_factory=dict)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _plots(data: ReportData) -> dict[str, bytes]:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    out: dict[str, bytes] = {}

    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    err = np.asarray(data.per_timestep_max_error, dtype=np.float64)
    steps = np.arange(len(err))
    ax.semilogy(steps, np.maximum(err, 1e-12), marker="o", label="max |legacy - port| logit")
    ax.axhline(data.logits_atol, color="tab:red", linestyle="--", label=f"tolerance (atol {data.logits_atol:.2g})")
    ax.set_xlabel("decoder time step")
    ax.set_ylabel("max abs difference")
    ax.set_title("Per-timestep maximum logit difference (valid positions)")
    ax.legend(loc="upper left", fontsize=8)
    out["parity_per_timestep.png"] = _png(fig)
    plt.close(fig)

    if data.attention_legacy is not None and data.attention_port is not None:
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6), sharey=True)
        src = list(data.attention_source)
        tgt = list(data.attention_output) + ["</s>"]
        for ax, mat, name in zip(axes, (data.attention_legacy, data.attention_port), ("legacy TF1", "Keras 3 port")):
            mat = np.asarray(mat)
            im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0.0, vmax=max(float(mat.max()), 1e-6))
            ax.set_title(f"attention: {name}")
            ax.set_xticks(range(mat.shape[1]))
            ax.set_xticklabels(src[: mat.shape[1]] + [""] * (mat.shape[1] - len(src)), fontsize=7)
            ax.set_yticks(range(mat.shape[0]))
            ax.set_yticklabels(tgt[: mat.shape[0]] + [""] * (mat.shape[0] - len(tgt)), fontsize=7)
            ax.set_xlabel("source character")
        axes[0].set_ylabel("output step")
        fig.colorbar(im, ax=axes, shrink=0.8)
        out["attention.png"] = _png(fig)
        plt.close(fig)

    if data.training_steps:
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.plot(data.training_steps, data.training_loss, label="training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("sequence_loss")
        ax.set_yscale("log")
        ax.set_title("Legacy TF1 training curve")
        if data.eval_points:
            ax2 = ax.twinx()
            ax2.plot(*zip(*data.eval_points), color="tab:green", marker="s", label="validation sequence accuracy")
            ax2.set_ylabel("sequence accuracy")
            ax2.set_ylim(0, 1.05)
            ax2.legend(loc="center right", fontsize=8)
        ax.legend(loc="upper right", fontsize=8)
        out["training_curve.png"] = _png(fig)
        plt.close(fig)
    return out


# Parity columns written as the console table writes them (one formatter: migrate.parity.compare).
_DIFFERENCES = ("max_abs", "max_rel")


def _table(rows: list[dict], columns: list[str]) -> str:
    from migrate.parity.compare import format_difference  # noqa: PLC0415

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if c in _DIFFERENCES and isinstance(v, float):
                text = "NaN" if math.isnan(v) else format_difference(v)
            else:
                text = f"{v:.3g}" if isinstance(v, float) else str(v)
            cls = ""
            if c == "ok":
                cls = ' class="ok"' if v else ' class="bad"'
                text = "pass" if v else "FAIL"
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f3f3f3; } td.ok { color: #08660b; font-weight: bold; } td.bad { color: #b00; font-weight: bold; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
pre.failure { background: #fbeaea; border-left: 4px solid #b00; }
.verdict { font-size: 1.3em; padding: 6px 12px; display: inline-block; border-radius: 4px; }
.pass { background: #dff3df; } .fail { background: #f8d7d7; } img { max-width: 100%; }
"""


def _failures(rows: list[dict]) -> list[str]:
    """Under the parity table: each failing check's tensor, worst index, gate, values and likely cause."""
    out = []
    for r in rows:
        if not r.get("ok", True) and r.get("failure"):
            out.append(f"<h3>{html.escape(str(r['check']))}: why it failed</h3>")
            out.append(f'<pre class="failure">{html.escape(r["failure"])}</pre>')
    return out


def write_report(data: ReportData, out_dir: str) -> dict[str, str]:
    """Write `report.html` and the PNGs into `out_dir` atomically; returns {name: path}."""
    os.makedirs(out_dir, exist_ok=True)
    plots = _plots(data)
    written: dict[str, str] = {}
    for name, png in plots.items():
        path = os.path.join(out_dir, name)
        _atomic_write(path, png)
        written[name] = path

    def img(name: str, alt: str) -> str:
        if name not in plots:
            return f"<p><em>{html.escape(alt)}: not available</em></p>"
        b64 = base64.b64encode(plots[name]).decode("ascii")
        return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}"></p>'

    verdict = ('<span class="verdict pass">parity: PASS</span>' if data.parity_ok
               else '<span class="verdict fail">parity: FAIL</span>')
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(data.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(data.title)}</h1>", verdict,
        "<h2>1. Parity: legacy TF1 graph vs Keras 3 port</h2>",
        _table(data.parity_rows, ["check", "max_abs", "max_rel", "tolerance", "mismatched", "ok"]),
        *_failures(data.parity_rows),
        img("parity_per_timestep.png", "per-timestep maximum logit difference"),
        "<h2>2. Attention weights for one example</h2>",
        f"<p>source <code>{html.escape(data.attention_source)}</code> &rarr; "
        f"output <code>{html.escape(data.attention_output)}</code></p>",
        img("attention.png", "attention heatmaps"),
        "<h2>3. Training curve of the legacy model</h2>",
        img("training_curve.png", "training curve"),
        "<h2>4. Side-by-side decoding</h2>",
        _table([{"source": s, "reference": r, "legacy TF1": a, "Keras port": b, "same": "yes" if a == b else "NO"}
                for s, r, a, b in data.decodes], ["source", "reference", "legacy TF1", "Keras port", "same"]),
        "<h2>5. Checkpoint conversion</h2>",
        "<pre>" + html.escape("\n".join(data.converter_summary)) + "</pre>",
        "<h2>6. Codemod of a TF 1.x sample file</h2>",
        f"<p>{html.escape(data.codemod_summary)}</p>",
        "<pre>" + html.escape(data.codemod_diff) + "</pre>",
        "<h2>Files written</h2>",
        _table([{"what": k, "path": v} for k, v in {**data.paths, **written,
                                                     "report": os.path.join(out_dir, "report.html")}.items()],
               ["what", "path"]),
        "</body></html>",
    ]
    report = os.path.join(out_dir, "report.html")
    _atomic_write(report, "\n".join(parts).encode("utf-8"))
    written["report.html"] = report
    return written


def _atomic_write(path: str, data: bytes) -> None:
    atomic_write_bytes(path, data)   # migrate.files: staged temp, fsync, rename, umask
