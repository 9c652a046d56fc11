"""How many weights a converted seq2seq model holds, against the TF1 variables it reads (issue 22).

    .venv/bin/python benchmarks/bench_decoder_weights.py --corpus DIR [--name NAME ...]

Per corpus entry (default: the ones whose graph has a training path and an inference loop over the same
variables), converted in this process as `bench_graph_convert.py`'s `fed` mode: the model's weights (count and
elements, trainable elements), the TF1 variables of the checkpoint without optimizer slots (count and elements),
the bytes of `model.weights.h5`, each decoder layer's own elements and how many weights it names in
`shared_weights`, and parity. A model that holds each TF1 variable once has trainable elements = TF1 elements
(variables the outputs do not read aside). It measures the converter of the checkout it is run from (its
working directory): `cd /work/main && .venv/bin/python /path/to/this --corpus DIR` gives the before figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

BOTH_PATHS = ["udacity_seq2seq_contrib_tf11", "udacity_seq2seq_contrib_tf12", "udacity_translation_contrib_tf11",
              "tflearn_legacy_attention_seq2seq_v1",
              "ptrnet_gru_bahdanau_tf15"]   # its greedy attention loop reads the encoder's embedding
SLOTS = re.compile(r"Adam|Momentum|RMSProp|Adagrad|Ftrl|global_step|beta\d_power")   # optimizer state, counters


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--name", action="append")
    args = ap.parse_args(argv)
    import keras  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    from bench_graph_convert import convert_one, load_manifest  # noqa: PLC0415, I001

    sys.path.insert(0, os.getcwd())   # the checkout it runs from: `cd OTHER && python THIS` measures OTHER's
    import migrate  # noqa: PLC0415 - before bench_graph_convert, which puts its own checkout first on sys.path
    import tf_migrate_runtime.layers  # noqa: F401, PLC0415
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    print(f"converter: {os.path.dirname(os.path.dirname(migrate.__file__))}")

    entries = {e["name"]: e for e in load_manifest(args.corpus)}
    print(f"{'model':40} {'weights':>7} {'elements':>9} {'trainable':>9} {'tf1 vars':>8} {'tf1 elem':>9} "
          f"{'h5 bytes':>9} parity  decoders (own elements, shared weights)")
    with tempfile.TemporaryDirectory() as work:
        for name in args.name or BOTH_PATHS:
            entry = entries[name]
            row = convert_one(entry, args.corpus, "fed", work)
            out = os.path.join(work, f"{name}_fed")
            if not os.path.exists(os.path.join(out, "model.keras")):
                print(f"{name:40} not converted: {row.get('status')} {row.get('why', '')}")
                continue
            model = keras.saving.load_model(os.path.join(out, "model.keras"), compile=False)
            with open(os.path.join(out, "convert_report.json")) as f:
                parity = json.load(f)["parity"]["ok"]
            ck = Checkpoint.open(os.path.join(args.corpus, entry["dir"], entry["prefix"]))
            tf1 = [np.asarray(ck.read(n)).size for n in ck.variables if not SLOTS.search(n)]
            size = lambda ws: sum(int(np.prod(w.shape)) for w in ws)  # noqa: E731
            decoders = [f"{type(layer).__name__} ({size(layer.weights)}, {len(getattr(layer, 'shared_weights', {}) or {})})"
                        for layer in model.layers if "Decoder" in type(layer).__name__]
            print(f"{name:40} {len(model.weights):7} {size(model.weights):9} {size(model.trainable_weights):9} "
                  f"{len(tf1):8} {sum(tf1):9} {os.path.getsize(os.path.join(out, 'model.weights.h5')):9} "
                  f"{'ok' if parity else 'FAILED':6}  {', '.join(decoders)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
