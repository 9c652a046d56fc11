"""Training steps/s and greedy-decode tokens/s: the Keras 3 port on a chosen backend vs the legacy TF1 graph.

One run, same hparams, same batches (`seq2seq_task.iterate_batches`, shuffled with hparams.seed). The
legacy graph runs in this process; the port runs in a worker process started with
`KERAS_BACKEND=<backend>` (Keras reads it once, at import; on jax/torch the worker cannot import
TensorFlow at all), driven chunk by chunk so that both sides alternate in time:

1. train, interleaved in `--rounds` chunks so that load from other processes hits both alike:
   legacy_tf1 `create_model(hp, "train")` + `Session.run([loss, train_op])` per batch, then the port
   `Seq2Seq(hp)` with `model.fit` (`steps_per_execution=10`) on the same chunk; both after `--warmup`
   untimed steps (the port's include its compile). The port's batches are zero-padded to one shape
   (max_src_len, decode_max_steps) where XLA compiles (tf with jit, jax always), which changes no
   loss: masks come from ids != 0. Then a checkpoint of the legacy weights.
2. decode: the legacy `while_loop` (`greedy_ids`, dynamic_decode) restored from that checkpoint, and
   the port's compiled greedy loop (`tf2.decoding.greedy_fn`: tf.function (+XLA) / jax.jit / torch
   eager) on the weights converted from the same checkpoint by `tf-migrate convert`; greedy tokens
   must be identical. Tokens/s = emitted ids (up to and including `</s>`) over the test split / best
   of `--repeats` alternating passes.

Run:  .venv/bin/python benchmarks/bench_train_decode.py [--backend tf|jax|torch] [--steps 200] [--set attention=luong ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from seq2seq_task import HParams, iterate_batches, load_task  # noqa: E402

DEFAULTS = ["attention=luong", "num_units=64", "embedding_size=32", "batch_size=64"]
BACKENDS = {"tf": "tensorflow", "jax": "jax", "torch": "torch"}
MARK = "@@BENCH@@"


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=sorted(BACKENDS), default="tf", help="Keras backend of the port (default tf)")
    p.add_argument("--steps", type=int, default=300, help="timed training steps (default 300)")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (tracing, graph set-up)")
    p.add_argument("--decode-batch", type=int, default=250, help="rows per greedy-decode batch")
    p.add_argument("--rounds", type=int, default=3, help="interleaved legacy/port training chunks (default 3)")
    p.add_argument("--repeats", type=int, default=3, help="timed decode passes per side, best kept (default 3)")
    p.add_argument("--no-jit-train", action="store_true", help="tf backend: train the port without XLA (and "
                                                               "without the fixed-shape padding XLA needs)")
    p.add_argument("--no-jit-decode", action="store_true", help="tf backend: run the greedy loop without XLA")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="hparams overrides")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # the port side (internal)
    return p.parse_args(argv)


def chunks(seq, n):
    size = -(-len(seq) // n)
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def setup(args):
    """The task, hparams, training batches (the legacy trainer's order) and test batches; same in both processes."""
    task = load_task()
    hp = HParams().with_overrides(DEFAULTS + args.set)
    hp = hp.replace(src_vocab_size=task.src_vocab.size, tgt_vocab_size=task.tgt_vocab.size,
                    max_src_len=task.max_src_len, max_tgt_len=task.max_tgt_len)
    total = args.warmup + args.steps
    batches = []
    epoch = 0
    while len(batches) < total:  # the legacy trainer's order: epoch e shuffled with seed + e
        batches += list(iterate_batches(task.train, task.src_vocab, task.tgt_vocab, hp.batch_size, shuffle=True,
                                        seed=hp.seed + epoch, drop_remainder=True))
        epoch += 1
    enc_batches = list(iterate_batches(task.test, task.src_vocab, task.tgt_vocab, args.decode_batch))
    return task, hp, batches[:total], enc_batches


def emitted(ids):
    """Ids up to and including the first </s> per row (the greedy format pads with 0 after it)."""
    return int((ids != 0).sum())


# -- the port side: a worker process on KERAS_BACKEND -------------------------------------------
def worker(args) -> int:
    """Answer JSON commands from stdin, one per line, with one `MARK`-prefixed JSON line on stdout."""
    backend = BACKENDS[args.backend]
    if backend != "tensorflow":
        sys.modules["tensorflow"] = None  # the port never needs it (tf2.backend_runner.block_tensorflow)
    import keras  # noqa: PLC0415

    from tf2.backend import fit_data  # noqa: PLC0415
    from tf2.data import batch_to_inputs, pad_to  # noqa: PLC0415
    from tf2.decoding import greedy_fn  # noqa: PLC0415
    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415
    from tf2.training import compile_model  # noqa: PLC0415

    assert keras.backend.backend() == backend, keras.backend.backend()
    task, hp, batches, enc_batches = setup(args)
    xla_train = backend == "jax" or (backend == "tensorflow" and not args.no_jit_train)
    xla_decode = backend == "jax" or (backend == "tensorflow" and not args.no_jit_decode)
    fixed = (hp.max_src_len, hp.decode_max_steps) if xla_train else None

    class Chunk(keras.utils.PyDataset):
        def __init__(self, items):
            super().__init__()
            self.items = [batch_to_inputs(b, fixed) for b in items]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    keras.utils.set_random_seed(hp.seed)
    port = compile_model(Seq2Seq(hp), hp, jit_compile=xla_train, steps_per_execution=10)
    decode = None
    s_len = hp.max_src_len if xla_decode else None  # one XLA shape for every batch
    reply = {"ready": True}
    while True:
        print(MARK + json.dumps(reply), flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        cmd = json.loads(line)
        if cmd["cmd"] == "train":
            data = fit_data(Chunk(batches[cmd["start"]:cmd["stop"]]))
            start = time.perf_counter()
            loss = port.fit(data, epochs=1, verbose=0, shuffle=False).history["loss"][-1]
            reply = {"seconds": time.perf_counter() - start, "loss": float(loss)}
        elif cmd["cmd"] == "load":
            decode = greedy_fn(keras.saving.load_model(cmd["keras"]), jit_compile=xla_decode)
            ids = [np.asarray(keras.ops.convert_to_numpy(decode(pad_to(b.encoder_ids, s_len)))) for b in enc_batches]
            np.savez(cmd["out"], *ids)
            reply = {"saved": cmd["out"]}
        elif cmd["cmd"] == "decode":
            start = time.perf_counter()
            for b in enc_batches:
                keras.ops.convert_to_numpy(decode(pad_to(b.encoder_ids, s_len)))
            reply = {"seconds": time.perf_counter() - start}
        elif cmd["cmd"] == "quit":
            return 0


class Port:
    """The parent's handle on the worker process."""

    def __init__(self, argv, backend):
        env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
        env.update(KERAS_BACKEND=BACKENDS[backend], PYTHONPATH=ROOT)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", *argv], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.read()

    def read(self):
        for line in self.proc.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise RuntimeError(f"the port worker exited ({self.proc.wait()}); see its messages above")

    def __call__(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


# -- the legacy side, in this process -----------------------------------------------------------
def train_both(hp, batches, warmup, rounds, ckpt_dir, task, port):
    """Interleaved: each round times a chunk of legacy steps, then the same chunk for the port."""
    from legacy_tf1.model_helper import create_model, save_model_files  # noqa: PLC0415

    times = {"legacy": 0.0, "port": 0.0}
    with create_model(hp, "train") as legacy:
        m = legacy.model
        for b in batches[:warmup]:
            legacy.run([m.loss, m.train_op], m.feed_dict(b))
        port(cmd="train", start=0, stop=warmup)
        bounds = list(range(warmup, len(batches)))
        for chunk in chunks(bounds, rounds):
            start = time.perf_counter()
            legacy_losses = [legacy.run([m.loss, m.train_op], m.feed_dict(batches[i]))[0] for i in chunk]
            times["legacy"] += time.perf_counter() - start
            r = port(cmd="train", start=chunk[0], stop=chunk[-1] + 1)
            times["port"] += r["seconds"]
            print(f"  round: {len(chunk)} steps, legacy {time.perf_counter() - start - r['seconds']:.2f} s "
                  f"(incl. worker round trip), port {r['seconds']:.2f} s", flush=True)
            port_loss = r["loss"]
        save_model_files(ckpt_dir, hp, task.src_vocab, task.tgt_vocab)
        prefix = legacy.save(os.path.join(ckpt_dir, "model.ckpt"), global_step=len(batches))
    n = len(batches) - warmup
    return n / times["legacy"], n / times["port"], float(np.mean(legacy_losses)), float(port_loss), prefix


def decode_both(hp, prefix, keras_file, enc_batches, repeats, port, tmp):
    """Best of `repeats` alternating passes over the test batches (after one warm-up pass each)."""
    from legacy_tf1.model_helper import create_model  # noqa: PLC0415

    out = os.path.join(tmp, "port_ids.npz")
    port(cmd="load", keras=keras_file, out=out)  # also the port's warm-up pass
    with np.load(out) as data:
        port_ids = [data[f"arr_{i}"] for i in range(len(enc_batches))]
    best = {"legacy": float("inf"), "port": float("inf")}
    with create_model(hp, "infer", checkpoint=prefix) as legacy:
        m = legacy.model
        legacy_ids = [legacy.run(m.greedy_ids, m.feed_dict(b, decoder=False)) for b in enc_batches]
        for _ in range(repeats):
            start = time.perf_counter()
            for b in enc_batches:
                legacy.run(m.greedy_ids, m.feed_dict(b, decoder=False))
            best["legacy"] = min(best["legacy"], time.perf_counter() - start)
            best["port"] = min(best["port"], port(cmd="decode")["seconds"])
    outs = {"legacy": legacy_ids, "port": port_ids}
    tokens = {k: sum(map(emitted, v)) for k, v in outs.items()}
    return outs, tokens["legacy"] / best["legacy"], tokens["port"] / best["port"]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    if args.worker:
        return worker(args)
    from migrate.quiet import quiet_tensorflow, silence_after_import  # noqa: PLC0415

    quiet_tensorflow()
    import legacy_tf1  # noqa: F401, PLC0415  (sets TF_USE_LEGACY_KERAS before tf.compat.v1.nn.rnn_cell)

    task, hp, batches, enc_batches = setup(args)
    silence_after_import()
    backend = BACKENDS[args.backend]
    jit_train = backend == "jax" or (backend == "tensorflow" and not args.no_jit_train)
    jit_decode = backend == "jax" or (backend == "tensorflow" and not args.no_jit_decode)
    print(f"hparams: cell={hp.cell_type} layers={hp.num_layers} encoder={hp.encoder_type} attention={hp.attention} "
          f"units={hp.num_units} emb={hp.embedding_size} batch={hp.batch_size}; {args.steps} timed steps after "
          f"{args.warmup} warm-up; decode {len(task.test)} test rows in batches of {args.decode_batch}; "
          f"port on KERAS_BACKEND={backend}: fit steps_per_execution=10, XLA train={jit_train}, "
          f"XLA decode={jit_decode}; {os.cpu_count()} CPU cores", flush=True)

    port = Port(argv, args.backend)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            legacy_sps, port_sps, legacy_loss, port_loss, prefix = train_both(
                hp, batches, args.warmup, args.rounds, tmp, task, port)
            from migrate.cli import main as tf_migrate  # noqa: PLC0415

            keras_file = os.path.join(tmp, "converted.keras")
            code = tf_migrate(["convert", prefix, "--out", keras_file, "--no-progress"])
            if code != 0:
                print(f"tf-migrate convert exited {code}; cannot compare decoding on converted weights")
                return 1
            outs, legacy_tps, port_tps = decode_both(hp, prefix, keras_file, enc_batches, args.repeats, port, tmp)
    finally:
        port.close()
    legacy_ids, port_ids = outs["legacy"], outs["port"]
    same = sum(int(np.array_equal(a, b)) for a, b in zip(legacy_ids, port_ids))
    rows_diff = sum(int((a != b).any(axis=1).sum()) for a, b in zip(legacy_ids, port_ids))
    name = f"port ({args.backend})"
    print(f"{'':24s} {'legacy_tf1':>12s} {name:>12s} {'port/legacy':>12s}")
    print(f"{'train steps/s':24s} {legacy_sps:12.1f} {port_sps:12.1f} {port_sps / legacy_sps:11.2f}x")
    print(f"{'greedy tokens/s':24s} {legacy_tps:12.0f} {port_tps:12.0f} {port_tps / legacy_tps:11.2f}x")
    print(f"final train loss (mean of last steps): legacy {legacy_loss:.4f}, port {port_loss:.4f} "
          f"(separate random inits)")
    print(f"greedy tokens from converted weights: {'identical' if rows_diff == 0 else 'DIFFERENT'} "
          f"({same}/{len(enc_batches)} batches equal, {rows_diff} rows differ)")
    return 0 if rows_diff == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
