"""What one run learns about the project it rewrites, before any file is rewritten: the run's own modules and
packages that are graph-mode TF 1 code.

A TF 1 test often builds nothing itself: `m = tflearn.DNN(net); m.fit(X, Y)` calls into a library of the
same repository that opens `tf.Session`s and makes placeholders. Whether such a test needs graph mode is a
fact about that library, not about the test's own text. `graph_modules(files)` reads the run's files once
(text; a file that also probes the TF version is parsed) and returns the modules that call a graph-only TF 1
API, by dotted name (`nmt.inference`) and top-level name (`tflearn`, a root-level `modeling`); the run hands them to the rules with the `RuleSet` (`RuleSet.project`), so
TFM010 decorates a test class of a module that imports one of them. Written or not, a file of the run is
read before the workers start: the answer does not depend on the order the files are rewritten in (and
`tf.compat.v1.Session(` counts as much as `tf.Session(`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from migrate.codemod.modes import mode_choice

# Calls that only work in graph mode (an eager TF 2.21 raises on each): a module that makes them is TF 1
# graph-mode code. Spelled through `tf.`, `tf.compat.v1.`, `v1.` or `tensorflow.`.
GRAPH_ONLY_CALL = re.compile(
    r"^[^#\n]*?\b(?:tf|tensorflow|v1)\.(?:compat\.v1\.)?(Session|InteractiveSession|placeholder|"
    r"placeholder_with_default|train\.Saver)\s*\(", re.MULTILINE)
# Test modules are no library: their Sessions say nothing about what importing their package does.
TEST_FILE = re.compile(r"^(test_.*|.*_test|conftest)\.py$")
# Words one of which a file must hold before the expression above is tried.
WORDS = ("Session", "placeholder", "Saver")
# A module that chooses between TF 1 and TF 2 itself is not graph-only code, whatever else it calls: one that
# mentions these is read with `modes.mode_choice` (a version printed or checked against a minimum is no choice).
MODE_PROBE = re.compile(r"\b(executing_eagerly|__version__|VERSION|tf2\.enabled|enable_eager_execution|"
                        r"enable_v2_behavior)\b")
# Files larger than this are not read for the facts (a generated table is no library).
MAX_BYTES = 2_000_000


def dotted_name(path: str | os.PathLike) -> str:
    """The module's full dotted name from the folder above its outermost package: `nmt/inference.py` (with
    `nmt/__init__.py`) -> `nmt.inference`; a root-level `modeling.py` -> `modeling`."""
    path = Path(path)
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def graph_modules(files: Iterable[str | os.PathLike]) -> dict[str, str]:
    """{name: where it calls a graph-only API (`tflearn/helpers/trainer.py:120 Session`)} for the run's `.py`
    files (test modules aside) that call one and do not choose between TF 1 and TF 2 themselves (`modes.mode_choice`): each such
    module under its dotted name (`nmt.inference`, what a relative import in its package reaches) and its
    top-level name (`nmt`, `tflearn`)."""
    found: dict[str, str] = {}
    for f in files:
        path = Path(f)
        if path.suffix != ".py" or not path.is_file() or path.is_symlink() or TEST_FILE.match(path.name):
            continue
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not any(word in text for word in WORDS):
            continue  # most files of a large tree: no regular expression run over them
        match = GRAPH_ONLY_CALL.search(text)
        if match is None:
            continue
        if MODE_PROBE.search(text) and mode_choice(text, {}) is not None:
            continue  # it runs its own TF 1 or TF 2 branch
        dotted = dotted_name(path)
        if not dotted or not all(p.isidentifier() for p in dotted.split(".")):
            continue
        where = f"{path.as_posix()}:{text.count(chr(10), 0, match.start(1)) + 1} {match.group(1)}"
        for name in {dotted, dotted.split(".")[0]}:
            found.setdefault(name, where)
    return found
