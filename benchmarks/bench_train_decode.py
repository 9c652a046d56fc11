"""Training steps/s and greedy-decode tokens/s: the Keras 3 port vs the legacy TF1 graph.

One run, same hparams, same batches (`seq2seq_task.iterate_batches`, shuffled with hparams.seed):

1. train, interleaved in `--rounds` chunks so that load from other processes hits both alike:
   legacy_tf1 `create_model(hp, "train")` + `Session.run([loss, train_op])` per batch, then the port
   `Seq2Seq(hp)` with `model.fit` (tf.data, `steps_per_execution=10`, XLA with the same batches
   zero-padded to one shape (max_src_len, decode_max_steps), which changes no loss: masks come
   from ids != 0) on the same chunk; both after `--warmup` untimed steps (the port's include its
   one XLA compile). Then a checkpoint of the legacy weights.
2. decode: the legacy `while_loop` (`greedy_ids`, dynamic_decode) restored from that checkpoint, and
   the port's compiled greedy loop (`tf2.decoding.greedy_fn`, XLA, sources padded to max_src_len)
   on the weights converted from
   the same checkpoint by `tf-migrate convert`; greedy tokens must be identical. Tokens/s = emitted
   ids (up to and including `</s>`) over the test split / best of `--repeats` alternating passes.

Run:  .venv/bin/python benchmarks/bench_train_decode.py [--steps 200] [--set attention=luong ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from migrate.quiet import quiet_tensorflow, silence_after_import  # noqa: E402

quiet_tensorflow()

import numpy as np  # noqa: E402

import legacy_tf1  # noqa: E402, F401  (sets TF_USE_LEGACY_KERAS before tf.compat.v1.nn.rnn_cell is touched)
from legacy_tf1.model_helper import create_model, save_model_files  # noqa: E402
from seq2seq_task import HParams, iterate_batches, load_task  # noqa: E402

DEFAULTS = ["attention=luong", "num_units=64", "embedding_size=32", "batch_size=64"]


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300, help="timed training steps (default 300)")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (tracing, graph set-up)")
    p.add_argument("--decode-batch", type=int, default=250, help="rows per greedy-decode batch")
    p.add_argument("--rounds", type=int, default=3, help="interleaved legacy/port training chunks (default 3)")
    p.add_argument("--repeats", type=int, default=3, help="timed decode passes per side, best kept (default 3)")
    p.add_argument("--no-jit-train", action="store_true", help="train the port without XLA (and without the "
                                                               "fixed-shape padding XLA needs)")
    p.add_argument("--no-jit-decode", action="store_true", help="run the port's greedy loop without XLA")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="hparams overrides")
    return p.parse_args(argv)


def chunks(seq, n):
    size = -(-len(seq) // n)
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def port_dataset(batches, fixed_shape):
    import tensorflow as tf  # noqa: PLC0415

    from tf2.data import batch_to_inputs  # noqa: PLC0415

    spec = ({"encoder_ids": tf.TensorSpec([None, None], tf.int32),
             "decoder_ids": tf.TensorSpec([None, None], tf.int32)}, tf.TensorSpec([None, None], tf.int32))
    return tf.data.Dataset.from_generator(lambda: (batch_to_inputs(b, fixed_shape) for b in batches),
                                          output_signature=spec).prefetch(2)


def train_both(hp, batches, warmup, rounds, ckpt_dir, task, jit):
    fixed = (hp.max_src_len, hp.decode_max_steps) if jit else None
    """Interleaved: each round times a chunk of legacy steps, then the same chunk for the port."""
    import keras  # noqa: PLC0415

    from tf2.seq2seq import Seq2Seq  # noqa: PLC0415
    from tf2.training import compile_model  # noqa: PLC0415

    keras.utils.set_random_seed(hp.seed)
    port = compile_model(Seq2Seq(hp), hp, jit_compile=jit, steps_per_execution=10)
    times = {"legacy": 0.0, "port": 0.0}
    with create_model(hp, "train") as legacy:
        m = legacy.model
        for b in batches[:warmup]:
            legacy.run([m.loss, m.train_op], m.feed_dict(b))
        port.fit(port_dataset(batches[:warmup], fixed), epochs=1, verbose=0)
        for chunk in chunks(batches[warmup:], rounds):
            start = time.perf_counter()
            legacy_losses = [legacy.run([m.loss, m.train_op], m.feed_dict(b))[0] for b in chunk]
            times["legacy"] += time.perf_counter() - start
            start = time.perf_counter()
            port_loss = port.fit(port_dataset(chunk, fixed), epochs=1, verbose=0).history["loss"][-1]
            times["port"] += time.perf_counter() - start
        save_model_files(ckpt_dir, hp, task.src_vocab, task.tgt_vocab)
        prefix = legacy.save(os.path.join(ckpt_dir, "model.ckpt"), global_step=len(batches))
    n = len(batches) - warmup
    return n / times["legacy"], n / times["port"], float(np.mean(legacy_losses)), float(port_loss), prefix


def emitted(ids):
    """Ids up to and including the first </s> per row (the greedy format pads with 0 after it)."""
    return int((ids != 0).sum())


def decode_both(hp, prefix, keras_file, enc_batches, repeats, jit):
    """Best of `repeats` alternating passes over the test batches (after one warm-up pass each)."""
    import keras  # noqa: PLC0415

    from tf2.decoding import greedy_fn  # noqa: PLC0415

    decode = greedy_fn(keras.saving.load_model(keras_file), jit_compile=jit)
    from tf2.data import pad_to  # noqa: PLC0415

    s_len = hp.max_src_len if jit else None  # one XLA shape for every batch
    port_run = lambda b: decode(pad_to(b.encoder_ids, s_len)).numpy()  # noqa: E731
    best = {"legacy": float("inf"), "port": float("inf")}
    with create_model(hp, "infer", checkpoint=prefix) as legacy:
        m = legacy.model
        legacy_run = lambda b: legacy.run(m.greedy_ids, m.feed_dict(b, decoder=False))  # noqa: E731
        outs = {"legacy": [legacy_run(b) for b in enc_batches], "port": [port_run(b) for b in enc_batches]}
        for _ in range(repeats):
            for name, run in (("legacy", legacy_run), ("port", port_run)):
                start = time.perf_counter()
                for b in enc_batches:
                    run(b)
                best[name] = min(best[name], time.perf_counter() - start)
    tokens = {k: sum(map(emitted, v)) for k, v in outs.items()}
    return outs, tokens["legacy"] / best["legacy"], tokens["port"] / best["port"]


def main(argv=None) -> int:
    args = parse(argv)
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
    batches = batches[:total]
    enc_batches = list(iterate_batches(task.test, task.src_vocab, task.tgt_vocab, args.decode_batch))
    silence_after_import()
    print(f"hparams: cell={hp.cell_type} layers={hp.num_layers} encoder={hp.encoder_type} attention={hp.attention} "
          f"units={hp.num_units} emb={hp.embedding_size} batch={hp.batch_size}; {args.steps} timed steps after "
          f"{args.warmup} warm-up; decode {len(task.test)} test rows in batches of {args.decode_batch}; "
          f"port: fit steps_per_execution=10, jit train={not args.no_jit_train}, jit decode={not args.no_jit_decode}; "
          f"{os.cpu_count()} CPU cores", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        legacy_sps, port_sps, legacy_loss, port_loss, prefix = train_both(
            hp, batches, args.warmup, args.rounds, tmp, task, not args.no_jit_train)
        from migrate.cli import main as tf_migrate  # noqa: PLC0415

        keras_file = os.path.join(tmp, "converted.keras")
        code = tf_migrate(["convert", prefix, "--out", keras_file, "--no-progress"])
        if code != 0:
            print(f"tf-migrate convert exited {code}; cannot compare decoding on converted weights")
            return 1
        outs, legacy_tps, port_tps = decode_both(hp, prefix, keras_file, enc_batches, args.repeats,
                                                 not args.no_jit_decode)
        legacy_ids, port_ids = outs["legacy"], outs["port"]

    same = sum(int(np.array_equal(a, b)) for a, b in zip(legacy_ids, port_ids))
    rows_diff = sum(int((a != b).any(axis=1).sum()) for a, b in zip(legacy_ids, port_ids))
    print(f"{'':24s} {'legacy_tf1':>12s} {'port (tf2)':>12s} {'port/legacy':>12s}")
    print(f"{'train steps/s':24s} {legacy_sps:12.1f} {port_sps:12.1f} {port_sps / legacy_sps:11.2f}x")
    print(f"{'greedy tokens/s':24s} {legacy_tps:12.0f} {port_tps:12.0f} {port_tps / legacy_tps:11.2f}x")
    print(f"final train loss (mean of last steps): legacy {legacy_loss:.4f}, port {port_loss:.4f} "
          f"(separate random inits)")
    print(f"greedy tokens from converted weights: {'identical' if rows_diff == 0 else 'DIFFERENT'} "
          f"({same}/{len(enc_batches)} batches equal, {rows_diff} rows differ)")
    return 0 if rows_diff == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
