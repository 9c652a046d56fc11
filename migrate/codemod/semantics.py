"""Names whose TF 2.21 meaning differs from TF 1's with the same spelling: one entry per name.

A TF 1 call such as `tf.where(mask, x, y)` is still valid TF 2.21 source, but computes something else
(TF 1 picks rows with a rank-1 mask; TF 2 broadcasts), or fails. Whether the call keeps its TF 1 meaning
must not hang on a guess that the file is TF 2 code, so every call of a name listed here is rewritten to
its TF 1 meaning wherever it might carry it (rule TFM008 `meaning`, `rules/tfm008_meaning.py`; TFM002
`arguments` for the `ARGUMENTS` entries): in every file when the call's form shows it (`everywhere`),
else in TF 1 code, and where the codemod cannot tell, a finding names the difference.

Sources: `tf_upgrade_v2`'s own tables (`tensorflow/tools/compatibility/tf_upgrade_v2.py`:
`function_transformers`, `function_arg_warnings`, `reorders_v2.py`, the keyword renames) and the TF 2.0
release notes; each entry was checked on TF 2.21 by `tests/test_codemod_semantics.py`, which runs the
entry's `example` with TF 1 semantics (the `tf.compat.v1` API in a graph), runs the codemod's output on
TF 2.21, and compares; it also checks that the example, left as it is, differs or fails on TF 2.21.

Beyond these entries, every TF 2 name whose positional order or keywords changed (`reorders` and
`keyword_renames` of `tf_tables.json`) gets TFM002's argument fix in every file when the call passes a
keyword only TF 1 has (it fails on TF 2: the file is TF 1 code); a positional argument where the TF 1 and
TF 2 orders differ (`Tables.diverges`, from TF 2.21's parameter names) is fixed in TF 1 code and is a
finding elsewhere (`tf.math.in_top_k(targets, predictions, k)` is TF 2 code in Keras itself).

Adding an entry: one `SemanticChange` below with its example, then `python -m migrate.codemod.generate_tables`
(`tf_tables.json`'s `signatures_v2` holds TF 2.21's parameters of every name here) and
`python -m migrate.codemod.docs` (the table in docs/codemod.md). Pure data: importing this module loads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

# How a call keeps its TF 1 meaning (`fix`):
COMPAT = "compat"            # the callee becomes its tf.compat.v1 twin (the TF 1 function, kept in TF 2.21)
ARGUMENTS = "arguments"      # TFM002: TF 1 positional order -> keywords, TF 1 keyword names -> TF 2 names
DROPOUT = "dropout"          # the second argument is keep_prob in TF 1, rate in TF 2: rate=1 - keep_prob
LABELS_STOP_GRADIENT = "labels_stop_gradient"  # labels=tf.stop_gradient(labels), what TF 1's function did


@dataclass(frozen=True)
class SemanticChange:
    """One name whose TF 2.21 meaning differs from TF 1's.

    Attributes:
        name: the TF 1 spelling (canonical, `tf.` prefix), still valid in TF 2.21.
        doc: the difference, in one or two sentences (it is the finding's text and the docs' line).
        fix: how the TF 1 meaning is kept (`COMPAT`, `ARGUMENTS`, `DROPOUT`, `LABELS_STOP_GRADIENT`).
        positional: the call may carry the TF 1 meaning when it passes at least this many positional
            arguments (0: always) ...
        keywords: ... or any of these keywords.
        unless: ... and none of these keywords (they are TF 2-only: the call is TF 2 code).
        source: where the difference is documented.
        everywhere: True: rewritten in every file, because the call's form is TF 1's (it fails on
            TF 2: `tf.zeros_initializer(tf.int32)`) or because the TF 1 form computes what TF 2's does on
            what TF 2 code gives it, or raises (`tf.where`: TF 1's needs operands of one shape, where both
            agree; the one silent case is a rank-1 condition over a square x: rows against columns). False (the default): the same call is just as common in
            TF 2 code, with its TF 2 meaning (`tf.nn.dropout(h, 0.2)`), so the codemod cannot tell:
            rewritten in TF 1 code (a file where some other name needed a rewrite), otherwise left as it
            is with a finding that names the difference.
        example: TF 1 code computing `out` (inputs as constants; `np` is numpy); the test runs it.
        rtol: the tolerance of the comparison (random draws compare statistics).
    """

    name: str
    doc: str
    fix: str
    positional: int = 0
    keywords: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    source: str = "tf_upgrade_v2"
    everywhere: bool = False
    example: str = ""
    rtol: float = 1e-6

    def applies(self, positional: int, keywords: set[str]) -> bool:
        """Whether a call with this many positional arguments and these keywords may carry TF 1's meaning."""
        if keywords & self.unless:
            return False
        if self.positional == 0 and not self.keywords:
            return True
        return (self.positional > 0 and positional >= self.positional) or bool(keywords & self.keywords)


def _kw(*names: str) -> frozenset[str]:
    return frozenset(names)


_ENTRIES: tuple[SemanticChange, ...] = (
    SemanticChange(
        "tf.where",
        "with x and y, TF 1's tf.where picks whole rows when the condition is rank 1 and needs x, y and the "
        "condition of one shape; TF 2's broadcasts them (tf.where_v2): a rank-1 mask then selects columns",
        COMPAT, positional=2, keywords=_kw("x", "y"),
        source="TF 2.0 release notes (tf.where is tf.where_v2); tf_upgrade_v2 renames it to tf.compat.v1.where",
        everywhere=True,
        example="c = tf.constant([True, False])\nx = tf.constant([[1., 2.], [3., 4.]])\n"
                "y = tf.constant([[5., 6.], [7., 8.]])\nout = tf.where(c, x, y)\n"),
    SemanticChange(
        "tf.nn.dropout",
        "TF 1's second argument is keep_prob, TF 2's is rate (the probability to drop): "
        "tf.nn.dropout(h, 0.8) keeps 80% in TF 1 and drops 80% in TF 2",
        DROPOUT, positional=2, keywords=_kw("keep_prob"), unless=_kw("rate"),
        source="tf_upgrade_v2 function_transformers (_dropout_transformer)",
        example="h = tf.ones([4, 256])\nout = tf.reduce_max(tf.nn.dropout(h, 0.8, seed=3))\n"),
    SemanticChange(
        "tf.nn.softmax_cross_entropy_with_logits",
        "TF 1's function stops the gradient into labels (labels_stop_gradient); TF 2's backpropagates into "
        "labels too: soft labels computed from trained variables get a gradient they never had",
        LABELS_STOP_GRADIENT, keywords=_kw("labels"),
        source="tf_upgrade_v2 function_transformers (_softmax_cross_entropy_with_logits_transformer)",
        example="labels = tf.nn.softmax(tf.constant([[1., 2., 0.5], [0.1, 0.2, 3.]]))\n"
                "logits = tf.constant([[0.3, -1., 2.], [1., 1., 0.]])\n"
                "loss = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)\n"
                "out = tf.gradients(tf.reduce_sum(loss) + tf.reduce_sum(labels), labels)[0]\n"),
    SemanticChange(
        "tf.argmax",
        "the third positional argument is name in TF 1, output_type in TF 2",
        ARGUMENTS, positional=3, keywords=_kw("dimension"),
        source="tf_upgrade_v2 reorders_v2 / keyword renames (dimension -> axis)",
        example="m = tf.constant([[1., 5., 2.], [7., 0., 3.]])\nout = tf.argmax(m, 1, 'am')\n"),
    SemanticChange(
        "tf.shape",
        "the second positional argument is name in TF 1, out_type in TF 2",
        ARGUMENTS, positional=2,
        source="tf_upgrade_v2 reorders_v2",
        example="m = tf.zeros([2, 3])\nout = tf.shape(m, 'shape_of_m')\n"),
    SemanticChange(
        "tf.size",
        "the second positional argument is name in TF 1, out_type in TF 2",
        ARGUMENTS, positional=2,
        source="tf_upgrade_v2 reorders_v2",
        example="m = tf.zeros([2, 3])\nout = tf.size(m, 'size_of_m')\n"),
    SemanticChange(
        "tf.reduce_sum",
        "TF 1's keep_dims / reduction_indices are keepdims / axis in TF 2 (TF 1's spelling is a TypeError); "
        "the fifth positional argument is reduction_indices in TF 1 (the same for every tf.reduce_*)",
        ARGUMENTS, positional=5, keywords=_kw("keep_dims", "reduction_indices"),
        source="tf_upgrade_v2 keyword renames and reorders_v2",
        everywhere=True,
        example="m = tf.constant([[1., 2.], [3., 4.]])\nout = tf.reduce_sum(m, 1, keep_dims=True)\n"),
    SemanticChange(
        "tf.math.confusion_matrix",
        "the fourth positional argument is dtype in TF 1, weights in TF 2",
        ARGUMENTS, positional=4,
        source="tf_upgrade_v2 reorders_v2",
        example="out = tf.math.confusion_matrix([0, 1, 2, 1], [0, 2, 2, 1], 3, tf.float32)\n"),
    SemanticChange(
        "tf.nn.in_top_k",
        "TF 1 takes (predictions, targets, k), TF 2 (targets, predictions, k)",
        ARGUMENTS, positional=2,
        source="tf_upgrade_v2 reorders_v2",
        example="p = tf.constant([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])\nout = tf.nn.in_top_k(p, [1, 2], 1)\n"),
    SemanticChange(
        "tf.batch_to_space",
        "TF 1 takes (input, crops, block_size), TF 2 (input, block_shape, crops)",
        ARGUMENTS, positional=2, keywords=_kw("block_size"),
        source="tf_upgrade_v2 reorders_v2 / keyword renames (block_size -> block_shape)",
        example="x = tf.reshape(tf.range(4.), [4, 1, 1, 1])\nout = tf.batch_to_space(x, [[0, 0], [0, 0]], 2)\n"),
    SemanticChange(
        "tf.random.poisson",
        "TF 1 takes (lam, shape), TF 2 (shape, lam)",
        ARGUMENTS, positional=2,
        source="tf_upgrade_v2 reorders_v2",
        example="out = tf.shape(tf.random.poisson([2.0, 3.0], [5], seed=1))\n"),
    SemanticChange(
        "tf.pad",
        "the fourth positional argument is name in TF 1, constant_values in TF 2",
        ARGUMENTS, positional=4,
        source="tf_upgrade_v2 reorders_v2",
        example="x = tf.ones([2, 2])\nout = tf.pad(x, [[1, 0], [0, 1]], 'CONSTANT', 'padded')\n"),
    SemanticChange(
        "tf.transpose",
        "the third positional argument is name in TF 1, conjugate in TF 2: a name string is truthy, so a "
        "complex input is silently conjugated",
        ARGUMENTS, positional=3,
        source="tf_upgrade_v2 reorders_v2",
        example="x = tf.complex(tf.constant([[1., 2.], [3., 4.]]), tf.constant([[1., -1.], [2., 0.5]]))\n"
                "out = tf.transpose(x, [1, 0], 't')\n"),
    SemanticChange(
        "tf.sparse.segment_sum",
        "the fourth positional argument is name in TF 1, num_segments in TF 2",
        ARGUMENTS, positional=4,
        source="tf_upgrade_v2 reorders_v2",
        example="d = tf.constant([[1., 2.], [3., 4.], [5., 6.]])\n"
                "out = tf.sparse.segment_sum(d, [0, 1, 2], [0, 0, 1], 'seg')\n"),
    SemanticChange(
        "tf.nn.conv2d",
        "the fifth positional argument is use_cudnn_on_gpu in TF 1, data_format in TF 2; TF 1's filter= "
        "keyword is filters= (use_cudnn_on_gpu is gone: the call keeps it on tf.compat.v1.nn.conv2d)",
        ARGUMENTS, positional=5, keywords=_kw("filter", "use_cudnn_on_gpu"),
        source="tf_upgrade_v2 reorders_v2 / function_arg_warnings",
        example="x = tf.reshape(tf.range(16.), [1, 4, 4, 1])\nw = tf.ones([2, 2, 1, 1])\n"
                "out = tf.nn.conv2d(x, w, [1, 1, 1, 1], 'SAME', True)\n"),
    SemanticChange(
        "tf.gradients",
        "TF 2 has no colocate_gradients_with_ops (a TypeError), and its fifth positional argument is "
        "gate_gradients; the call keeps TF 1's signature on tf.compat.v1.gradients",
        ARGUMENTS, positional=5, keywords=_kw("colocate_gradients_with_ops"),
        source="tf_upgrade_v2 function_arg_warnings / reorders_v2",
        everywhere=True,
        example="x = tf.constant([1., 2.])\ny = x * x\n"
                "out = tf.gradients(y, x, colocate_gradients_with_ops=True)[0]\n"),
    SemanticChange(
        "tf.nn.ctc_loss",
        "TF 1's ctc_loss(labels: SparseTensor, inputs, sequence_length, ...) is another function than TF 2's "
        "ctc_loss(labels, logits, label_length, logit_length, ...)",
        COMPAT, positional=0, unless=_kw("label_length", "logit_length", "logits"),
        source="TF 2.0 release notes; tf_upgrade_v2 renames it to tf.compat.v1.nn.ctc_loss",
        example="labels = tf.SparseTensor([[0, 0], [0, 1]], [1, 2], [1, 2])\n"
                "inputs = tf.constant(np.linspace(-1., 1., 20).reshape(5, 1, 4), tf.float32)\n"
                "out = tf.nn.ctc_loss(labels, inputs, [5])\n"),
    SemanticChange(
        "tf.random_normal_initializer",
        "TF 1's default stddev is 1.0, TF 2's 0.05; TF 1's takes dtype, TF 2's does not",
        COMPAT,
        source="TF 2.0 release notes (initializers); tf_upgrade_v2 renames it to tf.compat.v1",
        example="out = tf.math.reduce_std(tf.random_normal_initializer(seed=1)([20000]))\n", rtol=0.05),
    SemanticChange(
        "tf.random_uniform_initializer",
        "TF 1's default range is [0, 1), TF 2's [-0.05, 0.05); TF 1's takes dtype, TF 2's does not",
        COMPAT,
        source="TF 2.0 release notes (initializers); tf_upgrade_v2 renames it to tf.compat.v1",
        example="v = tf.random_uniform_initializer(seed=1)([20000])\n"
                "out = tf.stack([tf.reduce_min(v), tf.reduce_max(v)])\n", rtol=0.01),
    SemanticChange(
        "tf.zeros_initializer",
        "TF 1's takes dtype, TF 2's does not (a TypeError)",
        COMPAT, positional=1, keywords=_kw("dtype"),
        source="tf_upgrade_v2 function_warnings (initializers_no_dtype_comment)",
        everywhere=True,
        example="out = tf.zeros_initializer(tf.int32)([2, 2])\n"),
    SemanticChange(
        "tf.ones_initializer",
        "TF 1's takes dtype, TF 2's does not (a TypeError)",
        COMPAT, positional=1, keywords=_kw("dtype"),
        source="tf_upgrade_v2 function_warnings (initializers_no_dtype_comment)",
        everywhere=True,
        example="out = tf.ones_initializer(dtype=tf.int32)([3])\n"),
    SemanticChange(
        "tf.constant_initializer",
        "TF 1's takes (value, dtype, verify_shape), TF 2's (value, support_partition): dtype is a TypeError "
        "or, positionally, read as support_partition",
        COMPAT, positional=2, keywords=_kw("dtype", "verify_shape"),
        source="tf_upgrade_v2 function_warnings (initializers_no_dtype_comment)",
        everywhere=True,
        example="out = tf.constant_initializer(3, tf.float32)([2])\n"),
    SemanticChange(
        "tf.image.resize",
        "TF 1's tf.image.resize is resize_images (no half-pixel centres, align_corners, method as an int); "
        "TF 2's samples at half-pixel centres and antialiases on request: the pixels differ",
        COMPAT,
        source="TF 2.0 release notes (tf.image.resize); tf_upgrade_v2 function_arg_warnings",
        example="img = tf.reshape(tf.constant([1., 2., 3., 4.]), [1, 2, 2, 1])\nout = tf.image.resize(img, [3, 3])\n"),
    SemanticChange(
        "tf.strings.split",
        "TF 1 returns a SparseTensor, TF 2 a RaggedTensor",
        COMPAT,
        source="tf_upgrade_v2 function_transformers (_string_split_rtype_transformer)",
        example="out = tf.sparse.to_dense(tf.strings.split(['a b', 'c']), '')\n"),
    *(SemanticChange(
        f"tf.summary.{kind}",
        f"TF 1's tf.summary.{kind} returns a serialized Summary for merge_all / FileWriter; TF 2's writes to "
        "the default summary writer at a step, and without one does nothing and returns False",
        COMPAT, unless=_kw("step"),
        source="TF 2.0 release notes (tf.summary); tf_upgrade_v2 function_warnings (summary_api_comment)",
        example=f"out = tf.summary.{kind}({args})\n")
      for kind, args in (("scalar", "'loss', tf.constant(0.5)"), ("histogram", "'h', tf.constant([1., 2., 3.])"),
                         ("image", "'i', tf.zeros([1, 2, 2, 1])"), ("audio", "'a', tf.zeros([1, 8]), 8000"),
                         ("text", "'t', tf.constant('hi')"))),
    SemanticChange(
        "tf.name_scope",
        "TF 1's name_scope(name, default_name, values) is the graph-aware one; TF 2's takes one name "
        "(default_name / values are a TypeError)",
        COMPAT, positional=2, keywords=_kw("default_name", "values"),
        source="tf_upgrade_v2 function_transformers (_name_scope_transformer)",
        everywhere=True,
        example="x = tf.constant(1.)\nwith tf.name_scope(None, 'block', [x]):\n"
                "    out = tf.identity(x, name='y').name\n"),
)

SEMANTICS: dict[str, SemanticChange] = {e.name: e for e in _ENTRIES}
