"""Every variant of this repo's legacy TF1 Seq2Seq through `tf-migrate convert --from-graph`, with parity.

60 variants: cell lstm / basic_lstm / gru x layers 1 / 2 x encoder uni / bi x attention none / luong /
scaled_luong / bahdanau / normalized_bahdanau (the options as tests/test_legacy_names.py varies them:
attention_layer_size 5 with 2 layers, output_attention except for GRU). Each one is built by `legacy_tf1`
(`model_helper.create_model`, TF 1.x control flow), given random non-zero weights (N(0, 0.5): biases too) with
forget bias 0.6, saved by the legacy Saver with its `.meta`, and converted. The conversion's own parity compares
the converted model with the restored graph: in a train graph the default outputs (the teacher-forced decoder's
logits and their argmax, which the loss is computed from); with `--mode infer` the logits and the greedy
decoder's ids, named with `--outputs`.

    python benchmarks/graph_convert_legacy_variants.py [--mode train|infer] [--only lstm-L1-uni-none,...]
                                                      [--json OUT.json]

Prints one line per variant (converted, max abs error per output, wall seconds to build / convert, CPU seconds of
both), then the worst logits error and the totals. Exit 0 when every variant converts with parity, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CELLS, LAYERS, ENCODERS = ("lstm", "basic_lstm", "gru"), (1, 2), ("uni", "bi")
ATTENTIONS = ("none", "luong", "scaled_luong", "bahdanau", "normalized_bahdanau")
VARIANTS = list(itertools.product(CELLS, LAYERS, ENCODERS, ATTENTIONS))
FORGET_BIAS = 0.6


def variant_id(v) -> str:
    return f"{v[0]}-L{v[1]}-{v[2]}-{v[3]}"


def make_hparams(cell, layers, encoder, attention):
    """Tiny sizes; the attention options vary with the variant as in tests/test_legacy_names.py."""
    from seq2seq_task import HParams

    return HParams(src_vocab_size=11, tgt_vocab_size=9, embedding_size=3, num_units=4, cell_type=cell,
                   num_layers=layers, encoder_type=encoder, attention=attention,
                   attention_layer_size=5 if layers == 2 else None, output_attention=cell != "gru",
                   forget_bias=FORGET_BIAS, seed=7)


def build(variant, out_dir: str, mode: str = "train") -> dict:
    """The legacy graph of `variant` in `mode`, random N(0, 0.5) weights, saved by its Saver -> {prefix, logits,
    greedy_ids (eval / infer), seconds}."""
    import numpy as np
    import tensorflow as tf

    from legacy_tf1 import model_helper

    t0, cpu0 = time.perf_counter(), time.process_time()
    os.makedirs(out_dir, exist_ok=True)
    hp = make_hparams(*variant)
    with model_helper.create_model(hp, mode) as loaded:
        with loaded.graph.as_default():
            variables = tf.compat.v1.trainable_variables()
            rng = np.random.RandomState(sum(map(ord, variant_id(variant))))
            values = {v: rng.normal(0, 0.5, v.shape.as_list()).astype("float32") for v in variables}
            loaded.session.run([v.initializer for v in variables], {v.initial_value: x for v, x in values.items()})
        prefix = loaded.save(os.path.join(out_dir, model_helper.CHECKPOINT_BASENAME))
        m = loaded.model
        # greedy ids as dynamic_decode returns them (the model pads them to decode_max_steps with a Pad of a
        # run-time width, an op outside the converter's table)
        greedy = m.greedy_ids.op.inputs[0] if mode != "train" else None
        names = {"logits": m.logits.name, "greedy_ids": greedy.name if greedy is not None else None}
    return {"prefix": prefix, **names, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu0}


def convert(built: dict, out_dir: str, outputs: list[str] | None = None) -> dict:
    """`convert --from-graph` with the default outputs (or `outputs`) -> the row: converted, per-output errors."""
    from migrate.errors import MigrateError
    from migrate.graph import convert_graph

    t0 = time.perf_counter()
    row = {"converted": False, "parity_ok": False, "outputs": [], "max_abs": {}, "integer": [], "error": None}
    try:
        report = convert_graph(built["prefix"], out_dir, outputs=outputs, log=lambda m: None)
    except MigrateError as e:  # ParityFailed keeps the files and the report
        row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        path = os.path.join(out_dir, "convert_report.json")
        report = None
        if os.path.exists(path):
            with open(path) as f:
                report = json.load(f)
    if report is not None:
        row["converted"] = True
        row["parity_ok"] = bool(report["parity"]["ok"])
        row["outputs"] = [o["graph"] for o in report["graph"]["outputs"]]
        row["max_abs"] = {r["graph"]: r["max_abs"] for r in report["parity"]["outputs"]}
        row["integer"] = [r["graph"] for r in report["parity"]["outputs"] if "exact" in r]  # compared exactly
        row["translated"] = report.get("translated")
    row["seconds"] = time.perf_counter() - t0
    return row


def run_one(variant, root: str, mode: str = "train") -> dict:
    vid = variant_id(variant)
    cpu0 = time.process_time()
    built = build(variant, os.path.join(root, vid), mode)
    wanted = [built["logits"]] + ([built["greedy_ids"]] if built["greedy_ids"] else [])
    # train graphs: the default outputs (the tensors the loss is computed from); infer graphs: named
    row = convert(built, os.path.join(root, vid, "converted"), outputs=wanted if mode != "train" else None)
    row.update(variant=vid, build_seconds=built["seconds"], build_cpu_seconds=built["cpu_seconds"],
               logits=built["logits"], greedy_ids=built["greedy_ids"])
    missing = [w for w in wanted if w not in row["outputs"]]
    if row["converted"] and missing:
        row["parity_ok"] = False
        row["error"] = f"default outputs {row['outputs']} leave out {missing}"
    row["cpu_seconds"] = time.process_time() - cpu0
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("train", "infer"), default="train",
                    help="the graph saved: train (logits, Adam slots in the checkpoint) or infer (+ greedy decoding)")
    ap.add_argument("--only", help="comma-separated variant ids, e.g. lstm-L1-uni-none")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    from migrate.quiet import silence_after_import

    silence_after_import()
    variants = VARIANTS
    if args.only:
        wanted = set(args.only.split(","))
        variants = [v for v in VARIANTS if variant_id(v) in wanted]
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="legacy_variants_") as root:
        for v in variants:
            row = run_one(v, root, args.mode)
            rows.append(row)
            errs = ", ".join(f"{name.rsplit('/', 1)[-1]} {err:.1e}" for name, err in row["max_abs"].items())
            status = "ok" if row["parity_ok"] else ("PARITY FAILED" if row["converted"] else "NOT CONVERTED")
            print(f"{row['variant']:36s} {status:13s} max abs {errs or '-':40s} build {row['build_seconds']:5.1f} s  "
                  f"convert {row['seconds']:5.1f} s  cpu {row['build_cpu_seconds']:4.1f} + "
              f"{row['cpu_seconds'] - row['build_cpu_seconds']:4.1f} s" + (f"  {row['error']}" if row["error"] else ""), flush=True)
    total = time.perf_counter() - t0
    good = sum(r["parity_ok"] for r in rows)
    floats = [e for r in rows for name, e in r["max_abs"].items() if name not in r.get("integer", ())]
    print(f"{good}/{len(rows)} variants ({args.mode} graphs) convert with parity; worst logits max abs error "
          f"{max(floats) if floats else float('nan'):.2e}; {total:.0f} s in all (build "
          f"{sum(r['build_seconds'] for r in rows):.0f} s, convert {sum(r['seconds'] for r in rows):.0f} s; CPU "
          f"{sum(r['cpu_seconds'] for r in rows):.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0 if good == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
