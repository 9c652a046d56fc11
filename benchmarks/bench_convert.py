"""Benchmark `tf-migrate convert` on a synthetic ~2 GB TF1 checkpoint.

The checkpoint has the legacy model's names: a large-vocabulary source embedding, a 2-layer LSTM encoder
and decoder of 1024 units, a target embedding and the output projection (hparams.json beside it). In one
run, each phase in its own fresh process (so peak memory is per phase):

1. write the checkpoint (tf.raw_ops.SaveV2);
2. bare read: `tf.train.load_checkpoint` and `get_tensor` of every variable once (the baseline);
3. convert to a TF2 object checkpoint (`--out DIR/model`), everything included (open, recognise, build the
   Keras model, read, transform, assign, write);
4. convert to `.weights.h5` and 5. to `.keras` the same way (streamed tensor by tensor into Keras's h5
   layout, `migrate.checkpoint.stream`).

Before every timed phase the parent flushes dirty pages (`os.sync()`, so one phase's 2 GB of output does
not throttle the next one's writes) and reads the checkpoint's data file once (so the bare read and every
conversion start from the same warm page cache); each output is deleted after its phase. `--repeat N`
runs phases 2-5 N times on the same checkpoint. Each conversion is paired with a bare read run just
before it, and its ratio uses that read (the machine's load drifts between phases).

It prints the conversion time as a ratio to the bare read, and peak RSS against "TensorFlow's baseline"
(RSS after `import tensorflow, keras, tf2` in that process) + 1.3 x the checkpoint's bytes. Targets:
ratio <= 1.5; peak RSS <= baseline + 1.3 x bytes. A progress bar shows on a terminal.

    .venv/bin/python benchmarks/bench_convert.py [--dir DIR] [--src-vocab 800000] [--repeat 1] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS, EMB, TGT_VOCAB, LAYERS = 1024, 512, 32000, 2


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _hparams(src_vocab: int) -> dict:
    return {"src_vocab_size": src_vocab, "tgt_vocab_size": TGT_VOCAB, "embedding_size": EMB, "num_units": UNITS,
            "num_layers": LAYERS, "cell_type": "lstm", "encoder_type": "uni", "attention": "none",
            "forget_bias": 1.0, "projection": "dense"}


def _shapes(src_vocab: int) -> dict[str, tuple[int, ...]]:
    shapes = {"embeddings/encoder/embedding_encoder": (src_vocab, EMB),
              "embeddings/decoder/embedding_decoder": (TGT_VOCAB, EMB),
              "dynamic_seq2seq/decoder/output_projection/kernel": (UNITS, TGT_VOCAB),
              "dynamic_seq2seq/decoder/output_projection/bias": (TGT_VOCAB,)}
    for part in ("encoder", "decoder"):
        for layer in range(LAYERS):
            scope = f"dynamic_seq2seq/{part}/rnn/multi_rnn_cell/cell_{layer}/lstm_cell"
            rows = (EMB if layer == 0 else UNITS) + UNITS
            shapes[scope + "/kernel"] = (rows, 4 * UNITS)
            shapes[scope + "/bias"] = (4 * UNITS,)
    return shapes


def phase_write(directory: str, src_vocab: int) -> dict:
    import numpy as np
    import tensorflow as tf

    os.makedirs(directory, exist_ok=True)
    shapes = _shapes(src_vocab)
    rng = np.random.default_rng(0)
    names = sorted(shapes)
    tensors = [tf.constant(rng.standard_normal(shapes[n], dtype=np.float32) * 0.1) for n in names]
    names.append("global_step")
    tensors.append(tf.constant(1000, tf.int64))
    prefix = os.path.join(directory, "model.ckpt-1000")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
    with open(os.path.join(directory, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt-1000"\n')
    with open(os.path.join(directory, "hparams.json"), "w") as f:
        json.dump(_hparams(src_vocab), f)
    size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory) if ".data-" in f)
    return {"prefix": prefix, "bytes": size, "variables": len(names)}


def phase_read(prefix: str) -> dict:
    import tensorflow as tf

    baseline = _rss_mb("VmRSS")
    t0 = time.perf_counter()
    reader = tf.train.load_checkpoint(prefix)
    total = 0
    for name in reader.get_variable_to_shape_map():
        total += reader.get_tensor(name).nbytes
    return {"seconds": time.perf_counter() - t0, "baseline_mb": baseline, "peak_mb": _rss_mb("VmHWM"),
            "bytes_read": total}


def phase_convert(prefix: str, out: str) -> dict:
    import keras  # noqa: F401
    import tensorflow as tf  # noqa: F401

    import tf2.seq2seq  # noqa: F401
    from migrate.checkpoint import convert_checkpoint

    baseline = _rss_mb("VmRSS")
    t0 = time.perf_counter()
    report = convert_checkpoint(prefix, out)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "baseline_mb": baseline, "peak_mb": _rss_mb("VmHWM"),
            "assigned": report["counts"]["keras_weights_assigned"], "out_bytes": sum(os.path.getsize(f) for f in report["output"]["files"]),
            "timings": report.get("timings"), "writer": report["output"].get("writer", "keras")}


def _child(args: list[str]) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"phase {args[1]} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _existing(directory: str, src_vocab: int) -> dict:
    with open(os.path.join(directory, "hparams.json")) as f:
        if json.load(f)["src_vocab_size"] != src_vocab:
            raise SystemExit(f"{directory} holds a checkpoint of another --src-vocab; drop --reuse")
    size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory) if ".data-" in f)
    return {"prefix": os.path.join(directory, "model.ckpt-1000"), "bytes": size, "variables": len(_shapes(src_vocab)) + 1}


def _same_start(prefix: str) -> None:
    """Flush dirty pages, then read the checkpoint's data files once: every timed phase starts alike."""
    os.sync()
    directory = os.path.dirname(prefix)
    for f in sorted(os.listdir(directory)):
        if f.startswith(os.path.basename(prefix) + ".data-") or f == os.path.basename(prefix) + ".index":
            with open(os.path.join(directory, f), "rb", buffering=0) as fh:
                while fh.readinto(_BUF):
                    pass


_BUF = bytearray(16 << 20)


def _remove(path: str) -> None:
    if os.path.isdir(os.path.dirname(path)) and os.path.basename(os.path.dirname(path)) == "tf2":
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    elif os.path.exists(path):
        os.unlink(path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", help="work directory (default: a temporary one, deleted afterwards)")
    p.add_argument("--src-vocab", type=int, default=800_000, help="source vocabulary (800000 -> ~2.0 GB)")
    p.add_argument("--reuse", action="store_true", help="with --dir --keep: reuse DIR/legacy if a run left it")
    p.add_argument("--repeat", type=int, default=1, help="rounds of bare read + conversions (default 1)")
    p.add_argument("--keep", action="store_true", help="keep the checkpoint (the converted files are deleted)")
    p.add_argument("--phase", choices=("write", "read", "convert"), help=argparse.SUPPRESS)
    p.add_argument("--prefix", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase:
        from migrate.quiet import quiet_tensorflow, silence_after_import

        quiet_tensorflow()
        import tensorflow  # noqa: F401

        silence_after_import()
        result = {"write": lambda: phase_write(args.dir, args.src_vocab), "read": lambda: phase_read(args.prefix),
                  "convert": lambda: phase_convert(args.prefix, args.out)}[args.phase]()
        print(json.dumps(result))
        return 0

    work = args.dir or tempfile.mkdtemp(prefix="bench_convert.")
    ckpt_dir = os.path.join(work, "legacy")
    outs = {"tf-checkpoint": os.path.join(work, "tf2", "model"), "weights.h5": os.path.join(work, "model.weights.h5"),
            "keras": os.path.join(work, "model.keras")}
    # Each conversion right after its own bare read: the pair sees the same load on the shared machine.
    steps = ["write the checkpoint"] + [s for _ in range(args.repeat) for f in outs
                                        for s in (f"bare read before {f}", f"convert -> {f}")]
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(steps), desc="bench_convert", file=sys.stderr)
    rounds: list[dict] = []
    try:
        for step in steps:
            if bar is not None:
                bar.set_postfix_str(step)
            if step.startswith("write") and args.reuse and os.path.exists(os.path.join(ckpt_dir, "hparams.json")):
                written = _existing(ckpt_dir, args.src_vocab)
            elif step.startswith("write"):
                written = _child(["--phase", "write", "--dir", ckpt_dir, "--src-vocab", str(args.src_vocab)])
            elif step.startswith("bare"):
                if step.endswith(list(outs)[0]):
                    rounds.append({})
                _same_start(written["prefix"])
                rounds[-1]["read " + step.rsplit(" ", 1)[1]] = _child(["--phase", "read", "--prefix", written["prefix"]])
            else:
                fmt = step.split(" -> ")[1]
                _same_start(written["prefix"])
                rounds[-1][fmt] = _child(["--phase", "convert", "--prefix", written["prefix"], "--out", outs[fmt]])
                _remove(outs[fmt])
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    w = written
    print(f"checkpoint: {w['bytes'] / 2**30:.2f} GiB, {w['variables']} variables (source vocab {args.src_vocab} x {EMB}, "
          f"2-layer LSTM {UNITS} encoder + decoder, target vocab {TGT_VOCAB}); before each phase: os.sync() + "
          f"one read of the data file (warm page cache)")
    for i, results in enumerate(rounds):
        print(f"round {i + 1}:")
        for fmt in outs:
            r, c = results["read " + fmt], results[fmt]
            ratio = c["seconds"] / r["seconds"]
            allowed = c["baseline_mb"] + 1.3 * w["bytes"] / 2**20
            print(f"  bare read (tf.train.load_checkpoint, every tensor once): {r['seconds']:.2f} s, peak RSS "
                  f"{r['peak_mb']:.0f} MiB = baseline {r['baseline_mb']:.0f} + "
                  f"{(r['peak_mb'] - r['baseline_mb']) / (w['bytes'] / 2**20):.2f} x checkpoint bytes")
            print(f"  convert -> {fmt} ({c['assigned']} Keras weights; writer: {c['writer']}): {c['seconds']:.2f} s = "
                  f"{ratio:.2f}x that bare read (target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'}); peak RSS "
                  f"{c['peak_mb']:.0f} MiB = baseline {c['baseline_mb']:.0f} + "
                  f"{(c['peak_mb'] - c['baseline_mb']) / (w['bytes'] / 2**20):.2f} x checkpoint bytes "
                  f"(target <= +1.3x: {'met' if c['peak_mb'] <= allowed else 'MISSED'})")
            if c.get("timings"):
                print("    phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in c["timings"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
