"""`tf-migrate demo --fast`: every step runs, the report has its plots, a re-run reuses what exists."""

import os
import re

import pytest

from migrate.cli import main


@pytest.mark.slow
def test_fast_demo_writes_a_report_with_plots_and_reuses_on_rerun(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--fast", "--out", str(out), "--no-progress"]) == 0
    first = capsys.readouterr().out
    for step in range(1, 7):
        assert f"== {step}/6 " in first
    assert "legacy train: " in first and "steps in" in first
    assert re.search(r"wrote .*model\.keras \(keras\): (\d+)/\1 Keras weights", first)
    assert "forget bias 0.8 from hparams" in first
    assert re.search(r"greedy ids\s+\d+/\d+ ids equal", first)
    assert "parity PASSED" in first
    # side-by-side decoding: every row says the two models agree
    rows = [line for line in first.splitlines() if line.startswith(("sat 21 november 2026", "21/11/26"))]
    assert len(rows) == 2 and all(line.endswith("yes") for line in rows)

    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3  # per-timestep error, attention heatmaps, training curve
    for name in ("parity_per_timestep.png", "attention.png", "training_curve.png"):
        assert (out / name).stat().st_size > 5000
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "parity: PASS" in html and "logits at valid positions" in html
    assert "tf.compat.v1" in (out / "codemod" / "codemod.diff").read_text(encoding="utf-8")
    assert os.path.exists(out / "legacy" / "model.ckpt-" f"{_step(first)}.index")

    assert main(["demo", "--fast", "--out", str(out), "--no-progress"]) == 0
    second = capsys.readouterr().out
    assert "reusing" in second and "legacy train: " not in second
    assert "reusing" in second.split("== 2/6")[1].split("== 3/6")[0]


def _step(text: str) -> int:
    return int(re.search(r"model\.ckpt-(\d+)", text).group(1))


def test_demo_rejects_a_non_positive_budget(capsys):
    assert main(["demo", "--minutes", "0"]) == 2
    assert "--minutes 0.0: expected a positive number of minutes" in capsys.readouterr().err


FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "converged_seq2seq")


def _report_data(report):
    import numpy as np  # noqa: PLC0415

    from migrate.demo.report import ReportData  # noqa: PLC0415

    return ReportData(title="t", parity_rows=report.rows(), parity_ok=bool(report.ok),
                      per_timestep_max_error=np.zeros(3), logits_atol=1e-5, attention_legacy=None,
                      attention_port=None)


def _html_row(html: str, title: str) -> list[str]:
    row = re.search(r"<tr><td>" + re.escape(title) + r"</td>(.*?)</tr>", html).group(1)
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


def test_console_table_and_report_html_show_the_same_max_abs_and_max_rel(tmp_path):
    """Two tensors of one check where the old definitions differed (the console showed the failing tensor's relative
    difference, the HTML the greatest of all): both now show the greatest over every element."""
    import numpy as np  # noqa: PLC0415

    from migrate.demo.report import write_report  # noqa: PLC0415
    from migrate.parity.checks import WeightsCheck  # noqa: PLC0415
    from migrate.parity.report import ParityReport  # noqa: PLC0415

    big, small = np.full((3, 4), 10.0, np.float32), np.full(5, 1e-3, np.float32)
    port_big, port_small = big.copy(), small.copy()
    port_big[1, 2] += 2e-3       # the failing tensor: greatest absolute difference, relative 2e-4
    port_small[4] += 5e-6        # within tolerance, relative 5e-3: the greatest relative difference
    report = ParityReport(results=WeightsCheck({"a/kernel": big, "b/bias": small},
                                               {"a/kernel": port_big, "b/bias": port_small},
                                               ["a/kernel", "b/bias"]).compare())
    write_report(_report_data(report), str(tmp_path))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    title = "weights (port -&gt; TF1 layout)"
    console = re.split(r"\s{2,}", report.table().splitlines()[2])
    cells = _html_row(html, title)
    assert cells[:2] == console[2:4] == ["2.0e-03", "5.0e-03"]
    assert "weight a/kernel: 1 of 12 elements outside tolerance" in html and "worst at index (1, 2)" in html


@pytest.mark.slow
def test_a_failing_demo_parity_says_which_tensor_index_gate_values_and_cause(tmp_path, capsys, monkeypatch):
    """The demo's parity step and report.html on the converged fixture with the port's Adam epsilon changed (Keras's
    default 1e-7): the Adam check fails, and both the console and the HTML name the worst tensor, its index, the gate
    of every failing LSTM tensor, both values and the likely cause - not only `FAIL (n)`."""
    from migrate.checkpoint.convert import convert_checkpoint  # noqa: PLC0415
    from migrate.demo import pipeline  # noqa: PLC0415
    from migrate.demo.report import write_report  # noqa: PLC0415
    from migrate.parity import mutations, port_side  # noqa: PLC0415

    keras_file = str(tmp_path / "model.keras")
    convert_checkpoint(FIXTURE, keras_file, report_path=str(tmp_path / "r.json"), progress=False)
    monkeypatch.setattr(port_side, "port_optimizer", mutations.adam_epsilon_default)   # the mutation
    capsys.readouterr()
    report = pipeline.parity(FIXTURE, keras_file, fast=True, seed=1)
    console = capsys.readouterr().out
    write_report(_report_data(report), str(tmp_path))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    failing = [r for r in report.results if not r.ok]
    assert failing and {r.check for r in failing} == {"adam"}
    worst = max(failing, key=lambda r: r.margin)
    lstm = [r for r in failing if "lstm_cell/" in r.subject]
    assert lstm
    for text in (console, html):
        assert "weights after K Adam steps FAILED" in text or "weights after K Adam steps: why it failed" in text
        assert f"{worst.name}: {worst.mismatched} of {worst.compared} elements outside tolerance" in text
        assert f"worst at index {worst.margin_index}: legacy {worst.worst_expected:.8g}, port " \
               f"{worst.worst_actual:.8g}" in text
        assert "Likely cause: the optimizer differs" in text and "epsilon" in text
        for r in lstm:
            assert r.name in text
            assert re.search(re.escape(f"{r.margin_index}") + r" is gate [ijfo] \(TF1 order i,j,f,o\), unit \d+", text)
