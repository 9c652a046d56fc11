"""Lookup tables: `LookupTableFindV2` on a `HashTableV2` -> `keras.layers.StringLookup` / `IntegerLookup`.

A table's contents are data: a SavedModel's tables (`tf.contrib.lookup.index_table_from_file` /
`tf.compat.v1.lookup.StaticHashTable` with `TextFileInitializer` over a vocabulary in `assets/`, or
`index_table_from_tensor`) are read as the SavedModel's own loader initialised them (its `legacy_init_op` /
`main_op` run with the assets fed: `migrate.parity.reference.LoaderReference.table_contents`), so the Keras layer
holds exactly the vocabulary the served model looks up. A table that maps each key to its line number (0 .. n-1,
the index tables) becomes a lookup layer with that vocabulary in that order, one OOV index in front, shifted back
by one, and the table's default where the key is unknown; any other mapping is refused (Unsupported).
"""

from __future__ import annotations

import numpy as np

from migrate.graph.ir import Sym, Unsupported
from migrate.graph.ops import Ctx, op

TABLE_OPS = ("HashTableV2", "HashTable")   # also in migrate.graph.meta: never folded
OOV = "[UNK]"


@op(*TABLE_OPS)
def table(c: Ctx):
    """The table handle: nothing to compute; `LookupTableFindV2` reads its contents."""
    return [Sym(var="__table__", shape=(), dtype="resource")]


def table_op(t):
    """The table op a handle tensor comes from (through Identity), or None."""
    seen = 0
    while t.op.type == "Identity" and seen < 8:
        t, seen = t.op.inputs[0], seen + 1
    return t.op if t.op.type in TABLE_OPS else None


@op("LookupTableFindV2", "LookupTableFind")
def lookup_find(c: Ctx):
    tab = table_op(c.op.inputs[0])
    if tab is None:
        raise Unsupported(f"the table {c.op.inputs[0].op.name} ({c.op.inputs[0].op.type}) is not a HashTable "
                          f"(a MutableHashTable filled while the model runs is not data known at conversion)")
    ref = getattr(getattr(c.graph, "tf1", None), "reference", None)
    contents = ref.table_contents(tab.name) if ref is not None else None
    if contents is None:
        raise Unsupported(f"lookup table {tab.name} is filled by an initialiser this form does not run when it "
                          f"loads (a frozen graph or a checkpoint's .meta); convert the SavedModel exported with "
                          f"SavedModelBuilder.add_meta_graph_and_variables(..., legacy_init_op=tables_init) (tables_init = "
                          f"tf.tables_initializer()) and its assets/, whose loader fills it")
    keys, values = (np.asarray(a) for a in contents)
    if values.dtype.kind not in "iu" or not len(keys) or \
            sorted(int(v) for v in values) != list(range(len(values))):
        raise Unsupported(f"lookup table {tab.name} maps its {len(keys)} key(s) to values other than their line "
                          f"numbers 0 .. n-1 (an index table's), which no keras lookup layer holds")
    vocab = keys[np.argsort(values, kind="stable")]
    default = int(np.asarray(c.const(2)).reshape(-1)[0])
    if keys.dtype.kind in "OSU":
        try:
            words = [k.decode("utf-8") if isinstance(k, bytes) else str(k) for k in vocab]
        except UnicodeDecodeError:
            raise Unsupported(f"lookup table {tab.name} has keys that are not UTF-8 text") from None
        oov = OOV
        while oov in set(words):   # a vocabulary that holds the default OOV token itself (BERT's): another one
            oov = f"[{oov}]"
        kind = "keras.layers.StringLookup"
        args = f"vocabulary={words!r}, num_oov_indices=1, mask_token=None, oov_token={oov!r}"
    elif keys.dtype.kind in "iu":
        numbers = [int(k) for k in vocab]
        oov = -1
        while oov in set(numbers):
            oov -= 1
        kind = "keras.layers.IntegerLookup"
        args = (f"vocabulary={numbers!r}, num_oov_indices=1, mask_token=None, oov_token={oov!r}, "
                f"vocabulary_dtype={str(keys.dtype)!r}")
    else:
        raise Unsupported(f"lookup table {tab.name} has {keys.dtype} keys")
    layer = c.em.shared_layer(("lookup", tab.name), tab.name, lambda n: f"{kind}({args}, name={n!r})", [], kind,
                              f"{tab.type} {tab.name}: {len(vocab)} keys, as the SavedModel's loader filled it")
    c.em.constructs[f"HashTable + LookupTableFindV2 -> {kind}"] += 1
    index = c.em.emit(f"{layer}({c.v(1)})", c.op.name + "/index", shape=c.out_shape(0), dtype="int64",
                      comment=f"{c.op.type} {c.op.name}: index 0 is the out-of-vocabulary one")[0].var
    dtype = c.out_dtype(0)
    if default == -1:
        expr = f"keras.ops.cast(keras.ops.subtract({index}, 1), {dtype!r})"
    else:
        expr = (f"keras.ops.cast(keras.ops.where(keras.ops.equal({index}, 0), {default}, "
                f"keras.ops.subtract({index}, 1)), {dtype!r})")
    return c.out(expr)


@op("ParseExample", "ParseExampleV2")
def parse_example(c: Ctx):
    """Reached only for what the walk does not stop at (`GraphView.cut_inputs`: the dense features of a signature
    that takes serialized tf.Example): a sparse / ragged feature, or a parse of examples the signature does not
    take. Refused with what was read and the way out."""
    cut = getattr(c.graph, "cut_inputs", {})
    dense = sorted(v for k, v in cut.items() if k.startswith(c.op.name + ":"))
    raise Unsupported(
        "the outputs read a sparse or ragged feature of this tf.Example parse (tf.io.VarLenFeature / "
        "SparseFeature / RaggedFeature): only dense features (FixedLenFeature) become Keras inputs"
        + (f" (here: {', '.join(dense)})" if dense else
           " and this parse is not fed by a signature input of serialized examples")
        + "; convert with --outputs computed from dense features only, or export a signature whose parse spec "
          "has FixedLenFeature features")
