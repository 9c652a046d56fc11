"""The full 120-cell product of the parity matrix, outside CI (CI runs the all-pairs rows of test_matrix.py).

    .venv/bin/python parity_tests/full_matrix.py

Every cell of cell x layers x encoder x attention x forget bias, on random non-zero weights: weights,
logits, loss, gradients and greedy ids. Prints one line per cell, then the greatest difference per
check and the failures (exit 1 when any). About 12 minutes on a shared 2-core machine.
"""

from __future__ import annotations

import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parity_support import ATTENTION_LAYER, batches_for, make_hparams  # noqa: E402

from migrate.parity.harness import ParityPair  # noqa: E402
from migrate.parity.report import check_of  # noqa: E402
from seq2seq_task import ATTENTION_TYPES, CELL_TYPES  # noqa: E402


def main() -> int:
    start, worst, failures = time.time(), {}, []
    cells = list(itertools.product(CELL_TYPES, (1, 2), ("uni", "bi"), ATTENTION_TYPES, (1.0, 0.8)))
    for i, row in enumerate(cells):
        hp = make_hparams(*row, attention_layer_size=None if i % 3 == 0 else ATTENTION_LAYER,
                          output_attention=i % 4 != 1)
        pair = ParityPair(hp)
        try:
            pair.set_legacy_weights(pair.random_weights(seed=i))
            report = pair.run(batches_for(hp), checks=("weights", "logits", "loss", "gradients", "greedy"))
        finally:
            pair.close()
        for r in report.results:
            worst[check_of(r)] = max(worst.get(check_of(r), 0.0), r.max_abs)
        if not report.ok:
            failures.append((row, report.failure_message()))
        print(f"{i:3d} {row} {'ok' if report.ok else 'FAIL'} {time.time() - start:.0f}s", flush=True)
    print(f"{len(cells)} cells, {len(failures)} failures in {time.time() - start:.0f}s; greatest differences: "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    for row, message in failures:
        print(row, message, sep="\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
