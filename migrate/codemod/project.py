"""What one run learns about the project it rewrites, before any file is rewritten: the run's own modules and
packages that are graph-mode TF 1 code.

A TF 1 test often builds nothing itself: `m = tflearn.DNN(net); m.fit(X, Y)` calls into a library of the
same repository that opens `tf.Session`s and makes placeholders. Whether such a test needs graph mode is a
fact about that library, not about the test's own text. `graph_modules(files)` reads the run's files once
(text only, no parsing) and returns the top-level importable names (`tflearn`, a root-level `modeling`) whose
files call a graph-only TF 1 API; the run hands them to the rules with the `RuleSet` (`RuleSet.project`), so
TFM010 decorates a test class of a module that imports one of them. Written or not, a file of the run is
read before the workers start: the answer does not depend on the order the files are rewritten in (and
`tf.compat.v1.Session(` counts as much as `tf.Session(`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

# Calls that only work in graph mode (an eager TF 2.21 raises on each): a module that makes them is TF 1
# graph-mode code. Spelled through `tf.`, `tf.compat.v1.`, `v1.` or `tensorflow.`.
GRAPH_ONLY_CALL = re.compile(
    r"^[^#\n]*?\b(?:tf|tensorflow|v1)\.(?:compat\.v1\.)?(Session|InteractiveSession|placeholder|"
    r"placeholder_with_default|train\.Saver)\s*\(", re.MULTILINE)
# A module that chooses between TF 1 and TF 2 itself is not graph-only code, whatever else it calls.
MODE_PROBE = re.compile(r"\b(executing_eagerly|__version__|VERSION|tf2\.enabled|enable_eager_execution|"
                        r"enable_v2_behavior)\b")
# Files larger than this are not read for the facts (a generated table is no library).
MAX_BYTES = 2_000_000


def importable_name(path: str | os.PathLike) -> str:
    """The top-level name under which `path` is imported from the folder above its outermost package:
    `tflearn/helpers/trainer.py` (with `tflearn/__init__.py`) -> `tflearn`; a root-level `modeling.py` ->
    `modeling`."""
    path = Path(path)
    top = path.stem
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        top = folder.name
        folder = folder.parent
    return top


def graph_modules(files: Iterable[str | os.PathLike]) -> dict[str, str]:
    """{top-level name: where it calls a graph-only API (`tflearn/helpers/trainer.py:120 tf.Session`)} for the
    run's `.py` files; a name any of whose files probes the TF version or eager mode is left out."""
    found: dict[str, str] = {}
    probing: set[str] = set()
    for f in files:
        path = Path(f)
        if path.suffix != ".py" or not path.is_file() or path.is_symlink():
            continue
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        name = importable_name(path)
        if not name.isidentifier() or name == "__init__":
            continue
        if MODE_PROBE.search(text):
            probing.add(name)
            continue
        match = GRAPH_ONLY_CALL.search(text)
        if match is not None and name not in found:
            line = text.count("\n", 0, match.start(1)) + 1
            found[name] = f"{path.as_posix()}:{line} {match.group(1)}"
    return {k: v for k, v in found.items() if k not in probing}
