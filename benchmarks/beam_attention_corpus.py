"""A corpus of contrib.seq2seq beam-search graphs over an `AttentionWrapper`, for `bench_converted_speed.py`.

    .venv/bin/python benchmarks/beam_attention_corpus.py --out DIR
    .venv/bin/python benchmarks/bench_converted_speed.py --corpus DIR [--quick] [--sides tf1,eager,compiled,xla]

Our corpus of real checkpoints holds no `BeamSearchDecoder` (tensorflow/nmt and OpenNMT-tf 1.x publish code, not
TF1 checkpoints with their `.meta`), so this writes TF1-style graphs with random weights, built as the tests build
them (`tests/beam_models.py`: TF 1.15's contrib.seq2seq through `tf_migrate_runtime.contrib.seq2seq`, the
back-tracking a real `GatherTree` NodeDef as TF 1.x saved it), and a `corpus_manifest.json` in the format of
`benchmarks/corpus.py` (feeds: source ids `[8, 12]` of a vocabulary of 11 and per-row source lengths 1-12). The
entries (encoder GRU / LSTM of 5 units, embedding 11 x 6, beam 3 or 4, `maximum_iterations` 6):

- `beam_luong_gru_coverage`: Luong (scale) over a GRU, attention layer 6, length penalty 0.6, coverage 0.4;
- `beam_bahdanau_lstm2_coverage`: Bahdanau (normalize) over two stacked LSTMs, no attention layer, the top cell's
  output, beam 4, length penalty 1.0, coverage 0.3;
- `beam_luong_gru_projection_wrapper`: an `OutputProjectionWrapper` around the AttentionWrapper, no penalty.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

ENTRIES = {
    "beam_luong_gru_coverage": {"attention": "luong", "length_penalty": 0.6, "coverage_penalty": 0.4,
                                "end_token": 9},
    "beam_bahdanau_lstm2_coverage": {"attention": "bahdanau", "kind": "lstm", "layers": 2,
                                     "attention_layer_size": None, "output_attention": False, "beam": 4,
                                     "length_penalty": 1.0, "coverage_penalty": 0.3},
    "beam_luong_gru_projection_wrapper": {"attention": "luong", "projection_wrapper": True},
}
OUTPUTS = ["decoder/predicted_ids:0", "decoder/beam_scores:0"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the corpus folder to write")
    args = ap.parse_args(argv)
    from beam_models import beam_graph  # noqa: PLC0415 - tests/ is on the path now

    manifest = []
    for name, kw in ENTRIES.items():
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        prefix = beam_graph(folder, real_gather_tree=True, train=False, **kw)
        manifest.append({
            "name": name, "dir": name, "prefix": os.path.basename(prefix), "tf_version": "1.15 (contrib successor)",
            "model": "synthetic: " + ", ".join(f"{k}={v}" for k, v in kw.items()),
            "feeds": {"src:0": {"fill": "ids", "low": 0, "high": 11, "shape": [8, 12]},
                      "src_len:0": {"fill": "ids", "low": 1, "high": 13, "shape": [8]}},
            "placeholders": {"src": {"dtype": "int32", "shape": [None, None]},
                             "src_len": {"dtype": "int32", "shape": [None]}},
            "outputs": OUTPUTS, "slow": False})
        print(f"wrote {prefix}")
    with open(os.path.join(args.out, "corpus_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
