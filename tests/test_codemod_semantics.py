"""The semantic-change table (`migrate/codemod/semantics.py`): one test per entry, on TF 2.21.

Each entry's example is run three ways, each in its own graph:
- with TF 1's meaning: the same source with `tf` bound to `tf.compat.v1` (TF 1's functions, kept in TF 2.21);
- the codemod's output with `import tensorflow as tf`: it must compute what TF 1 computed;
- the example left as it is with `import tensorflow as tf`: it must compute something else or fail (else the
  entry would not be a difference).
"""

from __future__ import annotations

import numpy as np
import pytest

from migrate.codemod import transform_source
from migrate.codemod.semantics import ARGUMENTS, COMPAT, SEMANTICS
from migrate.codemod.tables import tables

tf = pytest.importorskip("tensorflow")

HEADER = "import tensorflow as tf\nimport numpy as np\n"
# A TF 1-only name: the file is TF 1 code, so the entries TF 2 code also writes are rewritten too.
TF1_LINE = "one = tf.to_float(1)\n"


def _run(source: str, namespace_tf) -> object:
    """`out` of `source`, built in a fresh graph and evaluated in a session."""
    with tf.Graph().as_default():
        scope = {"tf": namespace_tf, "np": np}
        exec(compile(source, "<example>", "exec"), scope)  # noqa: S102  (our own table's examples)
        out = scope["out"]
        if isinstance(out, str):
            return out
        with tf.compat.v1.Session() as sess:
            return sess.run(out)


def _same(a, b, rtol: float) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
        return False
    if a.dtype.kind in "OSUb":
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * 1e-3))


@pytest.mark.parametrize("name", sorted(SEMANTICS))
def test_the_codemod_keeps_the_tf1_meaning_on_tf_2_21(name):
    entry = SEMANTICS[name]
    example = TF1_LINE + entry.example
    tf1 = _run(example, tf.compat.v1)
    after, findings, _ = transform_source(HEADER + example)
    assert after != HEADER + example, f"{name}: the example was not rewritten"
    assert not findings, findings
    assert _same(_run(after, tf), tf1, entry.rtol), f"{name}: the rewritten call computes something else"
    # The codemod's output is stable.
    assert transform_source(after)[0] == after


@pytest.mark.parametrize("name", sorted(SEMANTICS))
def test_the_example_left_as_it_is_differs_on_tf_2_21(name):
    """Each entry is a real difference: the TF 1 call, unchanged, computes something else on TF 2.21 or fails."""
    entry = SEMANTICS[name]
    tf1 = _run(entry.example, tf.compat.v1)
    try:
        unchanged = _run(HEADER + entry.example, tf)
    except Exception:  # noqa: BLE001  (failing is one of the two ways to differ)
        return
    assert not _same(unchanged, tf1, entry.rtol), f"{name}: TF 2.21 computes the same; the entry is no difference"


@pytest.mark.parametrize("name", sorted(SEMANTICS))
def test_in_a_file_that_may_be_tf2_code_the_entries_tf2_code_also_writes_are_findings(name):
    """Without another TF 1-only name: `everywhere` entries are rewritten all the same; the others are left
    as they are, with a finding that names the difference (the codemod cannot tell which meaning it has)."""
    entry = SEMANTICS[name]
    source = HEADER + entry.example
    out, findings, _ = transform_source(source)
    if entry.everywhere:
        assert out != source
    else:
        assert out == source
        assert len(findings) == 1 and findings[0].rule in ("TFM002", "TFM008"), findings
        assert name in findings[0].message and "TF 1 code" in findings[0].message


def test_every_entry_is_a_tf_2_21_name_with_a_doc_an_example_and_a_fix_that_exists():
    t = tables()
    for name, entry in SEMANTICS.items():
        assert t.exists(name) and not name.startswith("tf.compat."), name
        assert entry.doc and entry.source and "out = " in entry.example, name
        if entry.fix == COMPAT:
            assert t.exists("tf.compat.v1." + name[3:]), name
        if entry.fix == ARGUMENTS:  # TFM002 fixes it: TF 2.21's signature is in the tables
            assert name in t.signatures and name in t.meaning_changed, name


@pytest.mark.parametrize(("source", "expected"), [
    # Issue 23: a file whose other names all exist in TF 2, a rank-1 mask: TF 1 picked rows.
    ("import tensorflow as tf\nr = tf.where(m, a, b)\n", "import tensorflow as tf\nr = tf.compat.v1.where(m, a, b)\n"),
    ("import tensorflow as tf\nr = tf.where(m, x=a, y=b)\n",
     "import tensorflow as tf\nr = tf.compat.v1.where(m, x=a, y=b)\n"),
    # The same meaning in TF 1 and TF 2: one argument; condition, x and y provably of one shape.
    ("import tensorflow as tf\nr = tf.where(m)\n", None),
    ("import tensorflow as tf\nr = tf.where(tf.math.is_nan(v), tf.zeros_like(v), v)\n", None),
    ("import tensorflow as tf\nr = tf.where(v > 0, v, -v)\n", None),
    ("import tensorflow as tf\nr = tf.where(v > 0, w, v)\n", "import tensorflow as tf\nr = tf.compat.v1.where(v > 0, w, v)\n"),
    ("import tensorflow as tf\nr = tf.where(v > 0, v, 0.)\n", None),  # TF 1 needs one shape: TF 2 code
    # TF 2 spellings stay: rate=, a one-hot label, keywords in TF 2 order.
    ("import tensorflow as tf\nh = tf.nn.dropout(h, rate=0.1)\n", None),
    ("import tensorflow as tf\nl = tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 3), logits=z)\n", None),
    ("import tensorflow as tf\ni = tf.argmax(m, 1, output_type=tf.int32)\n", None),
    ("import tensorflow as tf\nc = tf.nn.conv2d(x, w, [1, 1, 1, 1], 'SAME')\n", None),
    # A keyword only TF 1 has: the file is TF 1 code, and its ambiguous names follow.
    ("import tensorflow as tf\ns = tf.reduce_sum(x, keep_dims=True)\ntf.summary.scalar('s', s)\n",
     "import tensorflow as tf\ns = tf.reduce_sum(x, keepdims=True)\ntf.compat.v1.summary.scalar('s', s)\n"),
    # A keyword only TF 1's function has (keep_prob=, dim=) is TF 1 code whatever else the file holds.
    ("import tensorflow as tf\nh = tf.nn.dropout(x, keep_prob=0.8)\n",
     "import tensorflow as tf\nh = tf.nn.dropout(x, rate=1 - 0.8)\n"),
    ("import tensorflow as tf\nl = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z, dim=1)\n",
     "import tensorflow as tf\nl = tf.nn.softmax_cross_entropy_with_logits(labels=tf.stop_gradient(y), logits=z, axis=1)\n"),
    # A positional argument where the orders differ: TF 1's order in TF 1 code; left (a finding) elsewhere.
    ("import tensorflow as tf\nk = tf.nn.in_top_k(p, t, 1)\nx = tf.to_float(k)\n",
     "import tensorflow as tf\nk = tf.nn.in_top_k(predictions=p, targets=t, k=1)\nx = tf.cast(k, tf.float32)\n"),
    ("import tensorflow as tf\nk = tf.nn.in_top_k(p, t, 1)\n", None),
    # Through `import tensorflow.compat.v1 as tf` the TF 1 functions are called: nothing to keep.
    ("import tensorflow.compat.v1 as tf\nr = tf.where(m, a, b)\nh = tf.nn.dropout(h, 0.8)\n", None),
])
def test_calls_whose_meaning_changed_are_rewritten_whatever_the_file_looks_like(source, expected):
    assert transform_source(source)[0] == (source if expected is None else expected)
