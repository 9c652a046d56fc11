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
