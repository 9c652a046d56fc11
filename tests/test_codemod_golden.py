"""The codemod's output on the dense TF 1 file of issue 23 and on the sample model, byte for byte.

The engine's speed-ups (`chunks.py`, `batches.py`, the pass's own traversal in `transform.py`) must
never change what is written: the expected outputs under tests/codemod_golden/ are checked in. The
dense file is `benchmarks/bench_codemod_bigfile.py`'s (`dense(40)`: three blocks); a long one (past
`batches.BATCH_LINES`, so parsed in batches) must give each block the same rewrite.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrate.codemod import batches
from migrate.codemod.engine import process_file, transform_source
from migrate.codemod.rules import rule_set

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("codemod_golden")
SAMPLE = ROOT / "migrate" / "codemod" / "samples" / "legacy_seq2seq.py.txt"
CASES = {"dense": GOLDEN / "dense.before.py.txt", "legacy_seq2seq": SAMPLE}


def _findings(findings, name: str) -> str:
    return "".join(f.format(name) + "\n" for f in findings)


@pytest.mark.parametrize("full_scope", [False, True], ids=["fast", "scope"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_rewrite_matches_the_checked_in_output(case, full_scope):
    new, findings, resolver = transform_source(CASES[case].read_text(), rule_set(None), full_scope=full_scope)
    assert resolver == ("scope" if full_scope else "fast")
    assert new == (GOLDEN / f"{case}.after.py.txt").read_text()
    assert _findings(findings, f"{case}.py") == (GOLDEN / f"{case}.findings.txt").read_text()


def _blocks(text: str) -> tuple[str, list[str]]:
    head, *blocks = re.split(r"(?m)^(?=def block_)", text)
    return head, blocks


def _numbered(block: str, i: int) -> str:
    return re.sub(r"(block_|Block |loss_)\d+", lambda m: f"{m.group(1)}{i}", block)


def test_long_dense_file_written_block_by_block_as_the_short_one(tmp_path):
    """~1,350 lines through `process_file` (--write): batches, the chunked pass and the splice."""
    head, blocks = _blocks((GOLDEN / "dense.before.py.txt").read_text())
    after_head, after = _blocks((GOLDEN / "dense.after.py.txt").read_text())
    count = 9 * batches.BATCH_LINES // (4 * blocks[0].count("\n"))  # 2.25 batches
    path = tmp_path / "dense.py"
    path.write_text(head + "".join(_numbered(blocks[1], i) for i in range(count)))
    result = process_file(str(path), "write", rule_set(None))
    assert (result.status, result.resolver) == ("changed", "fast")
    assert path.read_text() == after_head + "".join(_numbered(after[1], i) for i in range(count))
    assert _findings(result.findings, "dense.py") == (GOLDEN / "dense.findings.txt").read_text()
