"""`benchmarks/bench_converted_speed.py` end to end on one small real checkpoint (aplain_basiclstm_2017: a
BasicLSTMCell under static_rnn, TF ~1.1): the table's columns and rows, and what the JSON says per side, never a
timing (a shared machine's load decides those)."""

import importlib.util
import json
import os

import pytest
from real_corpus import REPO

CHECKPOINTS = os.path.join(REPO, "..", "shared", "fixtures", "real_tf1_checkpoints", "aplain_basiclstm_2017")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_converted_speed",
                                                  os.path.join(REPO, "benchmarks", "bench_converted_speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_run_prints_every_side_per_batch_and_the_conversion_phases(tmp_path, capsys):
    if not os.path.isfile(os.path.join(CHECKPOINTS, "model.ckpt.index")):
        pytest.skip(f"no {CHECKPOINTS} (../shared/fixtures/real_tf1_checkpoints)")
    out = tmp_path / "speed.json"
    code = _bench().main(["--quick", "--name", "aplain_basiclstm_2017", "--convert-in-process", "--runs", "1",
                          "--warmup", "0", "--batches", "1,4", "--sides", "tf1,eager,eager_untraced,compiled,predict",
                          "--recurrent", "keras", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    head = next(ln for ln in text.splitlines() if ln.startswith("model ") and "batch" in ln)
    assert head.split()[:7] == ["model", "batch", "tf1", "eager", "eager_untraced", "compiled", "predict"] \
        and "goals missed" in head
    assert "CPU time per call, the same runs" in text
    rows = [ln.split() for ln in text.splitlines() if ln.startswith("aplain_basiclstm_2017 ") and "..." not in ln]
    assert [r[1] for r in rows[:2]] == ["1", "4"]            # one row per batch (the graph leaves it free)
    assert rows[0][2].endswith("ms") and rows[1][2].endswith("/s")   # latency at batch 1, throughput above
    assert "conversion: seconds per phase" in text
    result = json.loads(out.read_text())["results"][0]
    assert result["recurrent_layers_swapped"] == 1            # the static_rnn's tfm.LSTM, as keras.layers.LSTM
    assert result["convert"]["ok"] and set(result["convert"]["phases"]) == {
        "imports", "start", "graph", "translate", "build+tf1", "keras run", "loss", "save", "exit"}
    for row in result["rows"]:
        assert set(row["sides"]) == {"tf1", "eager", "eager_untraced", "compiled", "predict"} and not row["errors"]
        assert all(s["runs"] == 1 and s["vs_tf1"] > 0 and s["cpu_s"] >= 0 for s in row["sides"].values())
        for side in ("eager", "compiled", "predict"):         # CPU per call against the graph's in its rotation
            s = row["sides"][side]
            assert s["tf1_cpu_s"] == row["tf1_cpu_by_rotation"][side if side == "eager" else "compiled,predict"]
        # the eager sides in a rotation of their own, each against the graph timed in its rotation
        assert list(row["tf1_by_rotation"]) == ["compiled,predict", "eager", "eager_untraced"]
        assert row["sides"]["compiled"]["tf1_median_s"] == row["tf1_by_rotation"]["compiled,predict"] \
            == row["sides"]["tf1"]["median_s"]
        assert row["sides"]["eager"]["tf1_median_s"] == row["tf1_by_rotation"]["eager"]
        assert max(row["max_diff"].values()) < 1e-4           # every side computed the graph's outputs
        assert set(row["goals"]) == {"compiled >= 1.0x", "eager >= 0.25x", "xla >= 1.5x"}
        assert row["goals"]["xla >= 1.5x"] is None            # not run: no figure, no verdict


@pytest.mark.slow
def test_the_model_takes_what_the_tf1_side_is_fed(tmp_path, capsys):
    """charrnn_static_fb0_tf12's manifest feeds the sampling graph's initial states (PlaceholderWithDefaults whose
    default has batch 20) at batch 1: converted with those feeds as --inputs, the model takes them, and both sides
    compute the same [1, 65] probabilities (before: converted without them, the model kept the batch-20 defaults
    and returned [20, 65]: max|d| inf)."""
    from real_corpus import corpus_entry, real_tf1_dir

    corpus_entry("charrnn_static_fb0_tf12")   # skips without the data
    out = tmp_path / "speed.json"
    code = _bench().main(["--corpus", real_tf1_dir(), "--name", "charrnn_static_fb0_tf12", "--convert-in-process",
                          "--runs", "1", "--warmup", "0", "--batches", "1", "--sides", "tf1,eager", "--json", str(out)])
    assert code == 0
    (row,) = json.loads(out.read_text())["results"][0]["rows"]
    assert row["errors"] == {} and row["max_diff"] == {"eager": 0.0}, row
