"""`tf-migrate demo`: the three jobs end to end on the embedded task.

| step | what                                                          | writes (under OUT)                       |
|------|---------------------------------------------------------------|------------------------------------------|
| 1    | train the legacy TF1 model (attention) for a bounded time     | legacy/ (checkpoint, hparams, vocabs,    |
|      |                                                               | train_history.json)                      |
| 2    | inspect and convert its checkpoint to `.keras`                | port/model.keras, port/convert_report.json|
| 3    | parity: logits, loss, gradients, Adam steps, greedy ids       | parity.json                              |
| 4    | decode test inputs with both models side by side              | (in the report)                          |
| 5    | codemod (diff mode) over a TF 1.x-style sample file            | codemod/legacy_seq2seq.py, codemod.diff  |
| 6    | the report                                                    | report.html + PNG plots                  |

Re-running reuses what a step already wrote (a checkpoint, a converted file) unless `fresh=True`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import resources

import numpy as np

from migrate.demo.report import ReportData, write_report
from migrate.files import atomic_write_json, atomic_write_text

# The model the demo trains: LSTM encoder-decoder with scaled Luong attention, a non-default forget
# bias (so a converter that assumed 1.0 would be caught by the parity step).
DEMO_HPARAMS = ["cell_type=lstm", "num_units=64", "embedding_size=32", "attention=scaled_luong",
                "attention_layer_size=64", "forget_bias=0.8", "learning_rate=0.005", "batch_size=64"]
FAST_HPARAMS = ["cell_type=lstm", "num_units=16", "embedding_size=8", "attention=scaled_luong",
                "attention_layer_size=16", "forget_bias=0.8", "learning_rate=0.01", "batch_size=32"]
# Hand-written inputs with their references (the test split adds more below).
CHUNKS = 4  # training pieces; the validation accuracy after each is a point on the report's curve
FAST_CHUNKS = 2  # --fast: each piece builds the train and infer graphs again (most of a --fast run's CPU)
DEMO_INPUTS = [("sat 21 november 2026", "2026-11-21"), ("21/11/26", "2026-11-21"),
               ("November 21, 2026", "2026-11-21"), ("july 2015", "2015-07")]


@dataclass
class DemoOptions:
    out: str = "demo_out"
    minutes: float = 2.0      # legacy training budget
    fast: bool = False        # tiny model, seconds: for tests
    fresh: bool = False       # ignore what earlier runs wrote
    progress: bool | None = None  # None: only on a terminal
    seed: int = 1             # hparams seed (initial weights, data order) and the parity batches' seed


def _say(msg: str) -> None:
    print(msg, flush=True)


def _step(n: int, title: str) -> None:
    _say(f"\n== {n}/6 {title} ==")


def _write_json(obj, path: str) -> None:
    atomic_write_json(path, obj, default=str)


def train_legacy(opts: DemoOptions, legacy_dir: str, valid_pairs) -> dict:
    """Train in `CHUNKS` (`--fast`: `FAST_CHUNKS`) resumable pieces within the budget, a validation point after
    each."""
    from legacy_tf1 import inference  # noqa: PLC0415
    from legacy_tf1 import train as legacy_train  # noqa: PLC0415
    from seq2seq_task import HParams  # noqa: PLC0415

    history_path = os.path.join(legacy_dir, "train_history.json")
    if not opts.fresh and os.path.exists(os.path.join(legacy_dir, "checkpoint")) and os.path.exists(history_path):
        with open(history_path, encoding="utf-8") as f:
            history = json.load(f)
        if history.get("seed", 1) == opts.seed:
            _say(f"reusing {legacy_dir} (global step {history['global_step']}; --fresh to retrain)")
            return history
        _say(f"{legacy_dir} was trained with seed {history.get('seed', 1)}, not {opts.seed}: training again")
    if os.path.isdir(legacy_dir):
        shutil.rmtree(legacy_dir)  # a checkpoint without its history is an interrupted run: start over
    hparams = HParams().with_overrides([*(FAST_HPARAMS if opts.fast else DEMO_HPARAMS), f"seed={opts.seed}"])
    budget = 15.0 if opts.fast else opts.minutes * 60.0
    max_steps = 150 if opts.fast else 100_000
    progress = sys.stdout.isatty() if opts.progress is None else opts.progress
    _say(f"training {hparams.cell_type} + {hparams.attention} attention, {hparams.num_units} units, "
         f"forget_bias {hparams.forget_bias}, seed {hparams.seed}, for at most {budget:.0f} s / {max_steps} steps")
    losses: list[float] = []
    eval_points: list[tuple[int, float]] = []
    seconds = 0.0
    chunks = FAST_CHUNKS if opts.fast else CHUNKS
    for _ in range(chunks):
        metrics = legacy_train.train(hparams, legacy_dir, steps=max_steps // chunks, progress=progress,
                                     max_seconds=budget / chunks, save_every=0)
        losses += metrics["losses"]
        seconds += metrics["seconds"]
        accuracy = inference.evaluate(legacy_dir, valid_pairs)["sequence_accuracy"]
        eval_points.append((metrics["global_step"], accuracy))
        _say(f"  step {metrics['global_step']}: loss {metrics['last_loss']:.4f}, "
             f"validation sequence accuracy {accuracy:.1%}")
    history = {"global_step": metrics["global_step"], "seed": opts.seed, "losses": losses, "seconds": seconds,
               "eval_points": eval_points, "checkpoint": metrics["checkpoint"]}
    _write_json(history, history_path)
    _say(f"legacy train: {len(losses)} steps in {seconds:.1f} s, loss {losses[0]:.3f} -> "
         f"{metrics['last_loss']:.4f}; checkpoint {metrics['checkpoint']}")
    return history


def evaluate_legacy(legacy_dir: str, pairs) -> dict:
    from legacy_tf1 import inference  # noqa: PLC0415

    metrics = inference.evaluate(legacy_dir, pairs)
    _say(f"legacy eval on {metrics['examples']} validation examples: sequence accuracy "
         f"{metrics['sequence_accuracy']:.1%}, token accuracy {metrics['token_accuracy']:.1%}")
    return metrics


def convert(opts: DemoOptions, legacy_dir: str, port_dir: str) -> tuple[dict, list[str]]:
    from migrate.checkpoint.convert import convert_checkpoint  # noqa: PLC0415
    from migrate.checkpoint.inspection import inspect_json, inspect_text  # noqa: PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415
    from migrate.checkpoint.summary import summary_lines  # noqa: PLC0415

    inspected = inspect_json(Checkpoint.open(legacy_dir))
    text = inspect_text(inspected)
    _say(text)
    os.makedirs(port_dir, exist_ok=True)
    out = os.path.join(port_dir, "model.keras")
    report_path = os.path.join(port_dir, "convert_report.json")
    ckpt_index = Checkpoint.open(legacy_dir).prefix + ".index"
    if (not opts.fresh and os.path.exists(out) and os.path.exists(report_path)
            and os.path.getmtime(out) >= os.path.getmtime(ckpt_index)):
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        _say(f"reusing {out} (converted after the checkpoint was written)")
    else:
        report = convert_checkpoint(legacy_dir, out, report_path=report_path, progress=False, force=True)
    lines = summary_lines(report)
    for line in lines:
        _say(line)
    return report, [text, "", *lines]


def parity(legacy_dir: str, keras_file: str, fast: bool, seed: int = 0):
    """The parity table; under it, for each failing check, where and why (`ParityReport.rows()[i]["failure"]`:
    the tensor, the worst element's index, gate and values on both sides, the likely cause)."""
    from migrate.parity.harness import run_parity  # noqa: PLC0415

    report = run_parity(legacy_dir, keras_file, batches=2 if fast else 4, seed=seed, adam_steps=2 if fast else 3)
    _say(report.table())
    for row in report.rows():
        if not row["ok"]:
            _say(f"\n{row['check']} FAILED:\n  " + row["failure"].replace("\n", "\n  "))
    return report


def decode_both(legacy_dir: str, port_dir: str, pairs) -> list[tuple[str, str, str, str]]:
    from legacy_tf1 import inference  # noqa: PLC0415
    from seq2seq_task import make_batch  # noqa: PLC0415
    from tf2.decoding import greedy_decode  # noqa: PLC0415
    from tf2.training import load_model_dir  # noqa: PLC0415

    sources = [s for s, _ in pairs]
    legacy = inference.decode(legacy_dir, sources)
    model, src_vocab, tgt_vocab = load_model_dir(port_dir)
    hp = model.hparams
    batch = make_batch(pairs, src_vocab, tgt_vocab, hp.max_src_len, hp.max_tgt_len)
    ids = np.asarray(greedy_decode(model, batch.encoder_ids))
    port = [tgt_vocab.decode(row) for row in ids]
    rows = [(s, t, a, b) for (s, t), a, b in zip(pairs, legacy, port)]
    width = max(len(s) for s in sources)
    _say(f"{'source':<{width}}  {'reference':<10}  {'legacy TF1':<10}  {'Keras port':<10}  same")
    for s, t, a, b in rows:
        _say(f"{s:<{width}}  {t:<10}  {a:<10}  {b:<10}  {'yes' if a == b else 'NO'}")
    return rows


def attention_maps(legacy_dir: str, port_dir: str, source: str):
    """Alignments [steps, S] of one example from both models, cut to the decoded length."""
    from legacy_tf1 import model_helper  # noqa: PLC0415
    from seq2seq_task import make_batch  # noqa: PLC0415
    from tf2.decoding import attention_alignments  # noqa: PLC0415
    from tf2.training import load_model_dir  # noqa: PLC0415

    with model_helper.load_model(legacy_dir, "infer") as loaded:
        batch = make_batch([(source, "")], loaded.src_vocab, loaded.tgt_vocab)
        ids, legacy = loaded.session.run([loaded.model.greedy_ids, loaded.model.alignments],
                                         loaded.model.feed_dict(batch, decoder=False))
        output = loaded.tgt_vocab.decode(ids[0])
    model, src_vocab, _ = load_model_dir(port_dir)
    _, port = attention_alignments(model, src_vocab.encode(source))
    steps = int((ids[0] != 0).sum())
    return output, legacy[0, :steps], np.asarray(port)


def codemod_sample(out_dir: str) -> tuple[str, str]:
    from migrate import codemod  # noqa: PLC0415

    os.makedirs(out_dir, exist_ok=True)
    sample = os.path.join(out_dir, "legacy_seq2seq.py")
    text = resources.files("migrate.codemod").joinpath("samples/legacy_seq2seq.py.txt").read_text(encoding="utf-8")
    atomic_write_text(sample, text)
    report = codemod.run([sample], mode="diff", jobs=1)
    diff = "".join(r.diff or "" for r in report.results)
    atomic_write_text(os.path.join(out_dir, "codemod.diff"), diff)
    for path, finding in report.findings[:12]:
        _say(finding.format(path))
    summary = report.summary()
    _say(summary)
    return summary, diff


def run_demo(opts: DemoOptions) -> int:
    from seq2seq_task import load_task  # noqa: PLC0415

    t0 = time.time()
    out = os.path.abspath(opts.out)
    os.makedirs(out, exist_ok=True)
    legacy_dir = os.path.join(out, "legacy")
    port_dir = os.path.join(out, "port")
    task = load_task()

    _step(1, "train the legacy TF1 model")
    history = train_legacy(opts, legacy_dir, task.valid[:200])
    evaluate_legacy(legacy_dir, task.valid[: 200 if opts.fast else 1000])

    _step(2, "inspect and convert the checkpoint")
    _, converter_text = convert(opts, legacy_dir, port_dir)

    _step(3, "parity: legacy graph vs Keras port")
    keras_file = os.path.join(port_dir, "model.keras")
    report = parity(legacy_dir, keras_file, opts.fast, seed=opts.seed)
    report.write_json(os.path.join(out, "parity.json"))

    _step(4, "decode with both models")
    pairs = DEMO_INPUTS + task.test[:4]
    decodes = decode_both(legacy_dir, port_dir, pairs)

    _step(5, "codemod a TF 1.x sample file (diff mode)")
    codemod_summary, codemod_diff = codemod_sample(os.path.join(out, "codemod"))

    _step(6, "report")
    output, att_legacy, att_port = attention_maps(legacy_dir, port_dir, DEMO_INPUTS[0][0])
    losses = history["losses"]
    data = ReportData(
        title="tf-migrate demo: legacy TF1 Seq2Seq -> Keras 3",
        parity_rows=report.rows(), parity_ok=bool(report.ok),
        per_timestep_max_error=np.nan_to_num(np.asarray(report.per_timestep("logits"), dtype=np.float64)),
        logits_atol=next(r.atol for r in report.results if r.name == "logits"),
        attention_legacy=att_legacy, attention_port=att_port,
        attention_source=DEMO_INPUTS[0][0], attention_output=output,
        training_steps=list(range(1, len(losses) + 1)), training_loss=losses,
        eval_points=[tuple(p) for p in history["eval_points"]],
        decodes=decodes, converter_summary=converter_text,
        codemod_summary=codemod_summary, codemod_diff=codemod_diff,
        paths={"legacy checkpoint": history["checkpoint"], "converted model": keras_file,
               "converter report": os.path.join(port_dir, "convert_report.json"),
               "parity json": os.path.join(out, "parity.json"),
               "codemod diff": os.path.join(out, "codemod", "codemod.diff")},
    )
    written = write_report(data, out)
    failed = [row["check"] for row in report.rows() if not row["ok"]]
    verdict = "PASSED" if report.ok else f"FAILED ({'; '.join(failed)}: see above or report.html)"
    _say(f"\ndemo finished in {time.time() - t0:.0f} s; parity {verdict}")
    for name, path in {**data.paths, **written}.items():
        _say(f"  {name:<22} {path}")
    return 0 if report.ok else 1
