"""Never a traceback: `convert --from-graph`, `inspect` and `parity --tf1` on damaged `.meta` graphs and checkpoints.

A seeded, deterministic fuzzer takes real TF1 graphs of the corpus (`$TF_MIGRATE_REAL_TF1`, else
`../shared/fixtures/real_tf1`) and one TF1-style graph built here, and damages them as data: the `MetaGraphDef`
protobuf loses a node, a node is renamed (its consumers' inputs dangle), an attribute is dropped, a dtype or shape
attribute (`_output_shapes` included) changed, an int / float / bool attribute given another value, a node name
duplicated, a cycle made; or the checkpoint is cut (its data file, index or `.meta` truncated, the index deleted). Each mutant goes through the three commands in-process
(`migrate.cli.main`), and every run must end with exit 0, 1, 2 or 3; no "Traceback"; on failure one line
"tf-migrate CMD: error: ..." naming the file (or the node, the variable); and nothing under --out / --json unless
the command succeeded (convert's one documented exception: parity outside tolerance writes the folder, exit 1, its
report saying `parity.ok: false`).

Half of the damage lands on the nodes the outputs need (it must be reported), half anywhere in the graph (most of it
must not matter: what the outputs do not need is never imported, restored or translated).

Run as a script to explore more seeds: `python tests/test_graph_fuzz.py [N_PER_MUTATION] [FIRST_SEED]`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated:UserWarning")

HERE = os.path.dirname(os.path.abspath(__file__))

# Small real graphs of the corpus (a few hundred nodes each, converting in about a second): (folder, extra arguments
# of `parity --tf1`: the constant keep probabilities inside a while loop that only a feed turns off).
REAL = {
    "hcn_static_bigru_tf18": [],
    "hcn_shared_layer_lstm_tf18": [],
    "udacity_charrnn_tf13": ["--feed", "rnn/while/rnn/multi_rnn_cell/cell_0/dropout/keep_prob:0=1.0",
                             "--feed", "rnn/while/rnn/multi_rnn_cell/cell_1/dropout/keep_prob:0=1.0"],
}
BUILT = "built_lstm_tagger"

MUTATIONS = ("drop_node", "rename_node", "drop_attr", "change_dtype", "change_shape", "change_attr", "duplicate_name",
             "cycle", "truncate_data", "truncate_index", "delete_index", "truncate_meta")
# (mutation, seed) pairs each graph gets in the test; the seeds are fixed so CI sees the same mutants every run.
SEEDS_PER_MUTATION = 1


def real_root() -> str | None:
    """The real TF1 corpus: `$TF_MIGRATE_REAL_TF1`, else `../shared/fixtures/real_tf1` beside the repository."""
    for root in (os.environ.get("TF_MIGRATE_REAL_TF1"), os.path.join(HERE, "..", "..", "shared", "fixtures",
                                                                     "real_tf1")):
        if root and os.path.isdir(root):
            return os.path.abspath(root)
    return None


# -- the graphs ------------------------------------------------------------------------------------------------


def build_tagger(path: str) -> str:
    """ids -> embedding -> dynamic_rnn(LSTMCell, forget bias 0.7, sequence_length) -> dense -> the last step's
    logits through a masked StridedSlice, + loss and Adam; TF1 style, random non-zero weights; the prefix."""
    import tensorflow as tf
    from tf1_models import save_random_weights, tf1_style

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            ids = v1.placeholder(tf.int32, [None, None], name="ids")
            lens = v1.placeholder(tf.int32, [None], name="lengths")
            labels = v1.placeholder(tf.int32, [None, None], name="labels")
            x = tf.nn.embedding_lookup(v1.get_variable("embedding", [11, 6]), ids)
            out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7), x, sequence_length=lens,
                                       dtype=tf.float32)
            logits = v1.layers.dense(out, 11, name="proj")
            tf.identity(logits[:, -1, ...], name="last_logits")
            loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                                  name="loss")
            v1.train.AdamOptimizer(0.1).minimize(loss)
            return save_random_weights(path)


def build_with_unsaved_twin(path: str) -> str:
    """Two copies of one model in one graph (`train/` with its loss and Adam, `infer/` built after it), saved by a
    Saver over the `train/` variables only, as programs that build a training and an inference graph side by side
    did: the `.meta` holds a while loop whose variables the checkpoint lacks."""
    import numpy as np
    import tensorflow as tf
    from tf1_models import tf1_style

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default():
            def model(scope):
                with v1.variable_scope(scope):
                    ids = v1.placeholder(tf.int32, [None, None], name="ids")
                    x = tf.nn.embedding_lookup(v1.get_variable("embedding", [11, 6]), ids)
                    out, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(5, forget_bias=0.7), x, dtype=tf.float32)
                    return v1.layers.dense(out, 11, name="proj")

            logits = model("train")
            labels = v1.placeholder(tf.int32, [None, None], name="labels")
            loss = tf.reduce_mean(v1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            v1.train.AdamOptimizer(0.1).minimize(loss)
            model("infer")
            saved = [v for v in v1.global_variables() if not v.op.name.startswith("infer/")]
            rng = np.random.RandomState(0)
            with v1.Session() as sess:
                sess.run(v1.variables_initializer(saved))
                for v in saved:
                    if v in v1.trainable_variables():
                        sess.run(v.assign(rng.normal(0, 0.5, v.shape.as_list()).astype("float32")))
                os.makedirs(path, exist_ok=True)
                return v1.train.Saver(var_list=saved).save(sess, os.path.join(path, "model.ckpt"))


def checkpoint_files(prefix: str) -> list[str]:
    folder, base = os.path.split(prefix)
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.startswith(base + ".") and (f.endswith((".meta", ".index")) or ".data-" in f))


def find_prefix(folder: str) -> str:
    metas = sorted(f for f in os.listdir(folder) if f.endswith(".meta"))
    return os.path.join(folder, metas[0][:-len(".meta")])


# -- the mutations (data only: the MetaGraphDef protobuf, or the checkpoint's files) ---------------------------

NEAR = float(os.environ.get("FUZZ_NEAR", 0.5))   # how often the damage lands on a node the outputs need
_DTYPES = (1, 2, 3, 7, 9, 10, 19, 20, 21)   # float, double, int32, string, int64, bool, half, resource, variant


def _pick_node(nodes, rng, needed, want=lambda n: True):
    """A node for the damage: one the outputs need half of the time (when there is one), else any."""
    pool = [n for n in nodes if want(n)]
    near = [n for n in pool if n.name in needed]
    if near and rng.random() < 0.5:
        pool = near
    return rng.choice(pool) if pool else None


def _drop_node(meta, rng, needed):
    nodes = meta.graph_def.node
    node = _pick_node(nodes, rng, needed)
    name = node.name
    for k, n in enumerate(nodes):
        if n.name == name:
            del nodes[k]
            break
    return f"dropped node {name}"


def _rename_node(meta, rng, needed):
    node = _pick_node(meta.graph_def.node, rng, needed)
    old = node.name
    node.name = old + "_renamed"
    return f"renamed {old} (its consumers' inputs dangle)"


def _drop_attr(meta, rng, needed):
    node = _pick_node(meta.graph_def.node, rng, needed, lambda n: len(n.attr) > 0)
    key = rng.choice(sorted(node.attr))
    del node.attr[key]
    return f"dropped attr {key} of {node.name}"


def _change_dtype(meta, rng, needed):
    def typed(n):
        return any(a.WhichOneof("value") == "type" for a in n.attr.values())

    node = _pick_node(meta.graph_def.node, rng, needed, typed)
    key = rng.choice(sorted(k for k, a in node.attr.items() if a.WhichOneof("value") == "type"))
    old = node.attr[key].type
    node.attr[key].type = rng.choice([d for d in _DTYPES if d != old])
    return f"changed {node.name}.{key} from {old} to {node.attr[key].type}"


def _new_shape(shape, rng) -> str:
    """Damage a `TensorShapeProto` in place: one dimension changed, one added or removed, or the rank unknown."""
    how = rng.choice(("dim", "add", "remove", "unknown_rank"))
    if how == "dim" and shape.dim:
        rng.choice(shape.dim).size = rng.choice((-1, -5, 0, 1, 3, 7, 1 << 40))
    elif how == "remove" and shape.dim:
        del shape.dim[rng.randrange(len(shape.dim))]
    elif how == "unknown_rank":
        del shape.dim[:]
        shape.unknown_rank = True
    else:
        how = "add"
        shape.unknown_rank = False
        shape.dim.add().size = rng.choice((1, 2, 5))
    return how


def _change_shape(meta, rng, needed):
    """A declared shape (a placeholder's or variable's `shape`, a constant's value) or an `_output_shapes` entry."""
    def shaped(n):
        return "shape" in n.attr or n.op == "Const" or "_output_shapes" in n.attr

    node = _pick_node(meta.graph_def.node, rng, needed, shaped)
    keys = [k for k in ("shape", "value", "_output_shapes") if k in node.attr]
    key = rng.choice(keys)
    if key == "shape":
        shape = node.attr[key].shape
    elif key == "value":
        shape = node.attr[key].tensor.tensor_shape
    else:
        shapes = node.attr[key].list.shape
        shape = rng.choice(shapes) if len(shapes) else shapes.add()
    return f"{_new_shape(shape, rng)} on {node.name}.{key}"


def _change_attr(meta, rng, needed):
    """An int, float, bool or int-list attribute given another value (an axis, a mask, keep_dims, num_split, ...)."""
    kinds = ("i", "f", "b", "list")

    def valued(n):
        return any(a.WhichOneof("value") in kinds and (a.WhichOneof("value") != "list" or len(a.list.i))
                   for k, a in n.attr.items() if not k.startswith("_"))

    node = _pick_node(meta.graph_def.node, rng, needed, valued)
    key = rng.choice(sorted(k for k, a in node.attr.items() if not k.startswith("_") and a.WhichOneof("value") in kinds
                            and (a.WhichOneof("value") != "list" or len(a.list.i))))
    a = node.attr[key]
    kind = a.WhichOneof("value")
    if kind == "i":
        a.i = rng.choice([v for v in (-3, -1, 0, 1, 2, 3, 7, 255, 1 << 40) if v != a.i])
    elif kind == "f":
        a.f = rng.choice((-1.0, 0.0, 0.5, 1e30, float("nan")))
    elif kind == "b":
        a.b = not a.b
    elif rng.random() < 0.5 and len(a.list.i) > 1:
        del a.list.i[rng.randrange(len(a.list.i))]
    else:
        a.list.i[rng.randrange(len(a.list.i))] = rng.choice((-2, 0, 1, 2, 9))
    return f"changed {node.name}.{key} ({kind})"


def _duplicate_name(meta, rng, needed):
    nodes = meta.graph_def.node
    node = _pick_node(nodes, rng, needed)
    if rng.random() < 0.5:
        nodes.add().CopyFrom(node)
        return f"a second node named {node.name} (a copy)"
    other = rng.choice([n for n in nodes if n.name != node.name])
    old = other.name
    other.name = node.name
    return f"renamed {old} to {node.name}, which exists"


def _cycle(meta, rng, needed):
    """Make a node read one of its own descendants (its first data input, or a new control input)."""
    from migrate.parity.graph_def import ProtoGraph

    g = ProtoGraph(meta)
    nodes = meta.graph_def.node
    for _ in range(50):
        node = _pick_node(nodes, rng, needed, lambda n: len(n.input) > 0)
        i = g.index[node.name]
        below, stack = [], [j for j, _ in g.consumers_of(i)]
        seen = set()
        while stack and len(seen) < 200:
            j = stack.pop()
            if j in seen:
                continue
            seen.add(j)
            below.append(j)
            stack.extend(k for k, _ in g.consumers_of(j))
        below = [j for j in below if g.types[j] not in ("NextIteration", "Merge")]   # not a loop's own back edge
        if below:
            child = g.names[rng.choice(below)]
            if rng.random() < 0.5:
                node.input[0] = child
            else:
                node.input.append("^" + child)
            return f"{node.name} now reads its descendant {child}"
    return "no cycle made"


MUTATE_META = {"drop_node": _drop_node, "rename_node": _rename_node, "drop_attr": _drop_attr,
               "change_dtype": _change_dtype, "change_shape": _change_shape, "change_attr": _change_attr,
               "duplicate_name": _duplicate_name,
               "cycle": _cycle}


def make_mutant(prefix: str, needed: set[str], mutation: str, seed: int, dst: str) -> tuple[str, str]:
    """Copy the checkpoint `prefix` into `dst` with one mutation applied; (new prefix, what was done)."""
    from migrate.parity.graph_def import read_meta

    rng = random.Random(f"{os.path.basename(prefix)}/{mutation}/{seed}")
    os.makedirs(dst, exist_ok=True)
    new = os.path.join(dst, os.path.basename(prefix))
    for f in checkpoint_files(prefix):
        target = os.path.join(dst, os.path.basename(f))
        if f.endswith(".meta") and mutation in MUTATE_META:
            meta = read_meta(f)
            what = MUTATE_META[mutation](meta, rng, needed)
            with open(target, "wb") as out:
                out.write(meta.SerializeToString())
        elif mutation == "truncate_meta" and f.endswith(".meta") or mutation in ("truncate_data", "truncate_index") \
                and (".data-" in f) == (mutation == "truncate_data") and not f.endswith(".meta"):
            with open(f, "rb") as src:
                data = src.read()
            cut = rng.randrange(1, max(2, len(data)))
            with open(target, "wb") as out:
                out.write(data[:cut])
            what = f"{os.path.basename(f)} cut to {cut} of {len(data)} bytes"
        elif mutation == "delete_index" and f.endswith(".index"):
            what = f"{os.path.basename(f)} deleted"
        else:
            os.symlink(os.path.abspath(f), target)
    return new, what


def needed_nodes(prefix: str, outputs: list[str]) -> set[str]:
    """The nodes `outputs` need (inputs, control inputs, whole loops) in the unmutated graph."""
    from migrate.parity.graph_def import ProtoGraph, read_meta

    g = ProtoGraph(read_meta(prefix + ".meta"))
    return {g.names[i] for i in g.closure([g.index[o.split(":")[0]] for o in outputs])}


# -- running the command line in-process -----------------------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from migrate.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except BaseException as e:   # noqa: BLE001 - what escapes main is exactly what this test is about
            import traceback

            err.write("Traceback (escaped main)\n" + "".join(traceback.format_exception(e)))
            code = -1
    return code, out.getvalue(), err.getvalue()


def written(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    if os.path.isfile(path):
        return [path]
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs)


def problems(cmd: str, code: int, stdout: str, stderr: str, out_paths: list[str], names: list[str]) -> list[str]:
    """What is wrong with one run (empty: nothing). `names`: words of which the error line must name one."""
    found = []
    if code not in (0, 1, 2, 3):
        found.append(f"exit {code}")
    if "Traceback" in stderr or "Traceback" in stdout:
        found.append("a traceback:\n" + stderr[-3000:])
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if code not in (0, -1):
        errors = [ln for ln in lines if ln.startswith(f"tf-migrate {cmd}: error: ")]
        parity_failed = cmd in ("parity", "convert") and code == 1 and not errors
        if not parity_failed:
            if len(errors) != 1:
                found.append(f"expected one 'tf-migrate {cmd}: error:' line, got stderr {stderr[-2000:]!r}")
            elif not any(n in errors[0] for n in names):
                found.append(f"the error names none of {names[:3]}...: {errors[0][:500]}")
    files = [f for p in out_paths for f in written(p)]
    if code != 0 and files and not (code == 1 and _parity_failed_report(cmd, files)):
        found.append(f"exit {code} but wrote {files}")
    return found


def _parity_failed_report(cmd: str, files: list[str]) -> bool:
    """The one write a failed command makes by design: parity outside tolerance (exit 1) still writes its report
    (convert: the model folder with `parity.ok: false`, for inspection; parity: the --json report, for CI)."""
    name = {"convert": "convert_report.json", "parity": "parity.json"}.get(cmd)
    report = next((f for f in files if os.path.basename(f) == name), None)
    if report is None:
        return False
    with open(report) as f:
        data = json.load(f)
    return (data["parity"] if cmd == "convert" else data)["ok"] is False


def run_commands(prefix: str, base_model: str | None, parity_args: list[str], work: str,
                 names: list[str]) -> dict[str, tuple[int, list[str], str]]:
    """`convert --from-graph`, `inspect` and `parity --tf1` on one checkpoint: {command: (exit, problems, stderr)}."""
    results = {}
    out = os.path.join(work, "converted")
    code, so, se = run_cli(["convert", "--from-graph", prefix, "--out", out, "--no-progress"])
    results["convert"] = (code, problems("convert", code, so, se, [out], names), se)
    code, so, se = run_cli(["inspect", prefix])
    results["inspect"] = (code, problems("inspect", code, so, se, [], names), se)
    if base_model:
        report = os.path.join(work, "parity.json")
        code, so, se = run_cli(["parity", "--tf1", prefix, "--keras", base_model, "--json", report] + parity_args)
        results["parity"] = (code, problems("parity", code, so, se, [report], names), se)
    return results


# -- the test --------------------------------------------------------------------------------------------------


class Corpus:
    """The graphs the fuzzer damages: {name: (prefix, needed node names, base model.keras, parity arguments)}."""

    def __init__(self, work: str):
        self.work = work
        self.graphs: dict[str, tuple[str, set[str], str | None, list[str]]] = {}
        root = real_root()
        with open(os.path.join(root, "corpus_manifest.json")) if root else contextlib.nullcontext() as f:
            manifest = {e["name"]: e for e in json.load(f)} if root else {}
        for name, args in REAL.items():
            if root and os.path.isdir(os.path.join(root, name)):
                self._add(name, find_prefix(os.path.join(root, name)), manifest[name]["outputs"], args)
        built = build_tagger(os.path.join(work, BUILT))
        self._add(BUILT, built, ["last_logits:0"], [])

    def _add(self, name, prefix, outputs, args):
        base = os.path.join(self.work, "base_" + name)
        code, _, err = run_cli(["convert", "--from-graph", prefix, "--out", base, "--no-progress"])
        assert code == 0, f"{name} does not convert unmutated: {err[-2000:]}"
        self.graphs[name] = (prefix, needed_nodes(prefix, outputs), os.path.join(base, "model.keras"), args)

    def check(self, name: str, mutation: str, seed: int) -> list[str]:
        prefix, needed, model, args = self.graphs[name]
        dst = os.path.join(self.work, f"{name}-{mutation}-{seed}")
        mutant, what = make_mutant(prefix, needed, mutation, seed, dst)
        names = [dst, os.path.basename(prefix)] + sorted(needed)
        failures = []
        for cmd, (code, found, err) in run_commands(mutant, model, args, dst, names).items():
            failures += [f"{name} [{what}] {cmd} (exit {code}): {p}" for p in found]
            if os.environ.get("FUZZ_VERBOSE"):
                print(f"{name} [{what}] {cmd}: exit {code} {err.strip().splitlines()[-1][:300] if err.strip() else ''}")
        return failures


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if real_root() is None:
        pytest.fail("the real TF1 corpus is missing: set TF_MIGRATE_REAL_TF1 or put shared/ beside the repository")
    return Corpus(str(tmp_path_factory.mktemp("fuzz")))


@pytest.mark.slow
def test_a_twin_subgraph_whose_variables_the_checkpoint_lacks_is_never_imported_nor_run(tmp_path):
    """The `infer/` copy (a while loop, variables not saved) is not on the path to the outputs: convert, inspect and
    parity --tf1 never initialise, run or translate it; asking for its outputs is refused naming its variables."""
    prefix = build_with_unsaved_twin(str(tmp_path / "ckpt"))
    out = str(tmp_path / "out")
    code, stdout, err = run_cli(["convert", "--from-graph", prefix, "--out", out, "--no-progress"])
    assert code == 0 and "Traceback" not in err, err
    with open(os.path.join(out, "convert_report.json")) as f:
        report = json.load(f)
    assert [o["graph"] for o in report["graph"]["outputs"]] == ["train/proj/BiasAdd:0"]
    assert report["parity"]["ok"]
    from migrate.parity.tf1_graph import TF1Graph

    with TF1Graph(prefix, outputs=["train/proj/BiasAdd:0"]) as g:
        imported = {op.name for op in g.graph.get_operations()}
        assert not any(n.startswith("infer/") for n in imported)
        assert "infer/embedding" in g.proto.index and "infer/embedding" not in g.restored
    code, stdout, err = run_cli(["inspect", prefix])
    assert code == 0 and "infer/" not in stdout and "Traceback" not in err, err
    code, stdout, err = run_cli(["parity", "--tf1", prefix, "--keras", os.path.join(out, "model.keras")])
    assert code == 0 and "Traceback" not in err, err
    code, _, err = run_cli(["convert", "--from-graph", prefix, "--out", str(tmp_path / "twin"), "--outputs",
                            "infer/proj/BiasAdd:0", "--no-progress"])
    assert code == 1 and not os.path.exists(tmp_path / "twin"), err
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert "the checkpoint lacks 5 variable(s) that infer/proj/BiasAdd:0 read: infer/embedding, infer/proj/bias," in line


# Mutants that ended in a traceback before their fix (found with more seeds): kept as regression cases.
FOUND = [("hcn_static_bigru_tf18", "change_attr", 100),   # Split.num_split = 2**40: MemoryError reading its outputs
         (BUILT, "change_attr", 80)]                      # GatherV2.batch_dims = 7: TensorFlow's import aborted
CASES = [(g, m, s) for g in list(REAL) + [BUILT] for m in MUTATIONS for s in range(SEEDS_PER_MUTATION)] + FOUND


def test_the_graph_read_as_data_survives_missing_and_damaged_attributes():
    """`ProtoGraph` (selection and name checks run on it before anything is imported) reads a node without its dtype
    attribute, with a dtype that is no dtype, or with an output count of 2**40 without failing: float32 for an
    unknown dtype, and the outputs its consumers use for an absurd count (the import then refuses the node)."""
    import tensorflow as tf

    from migrate.parity.graph_def import ProtoGraph

    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [4, 6], name="x")
        a, b = tf.split(x, 2, axis=1, name="halves")
        tf.add(a, b, name="sum")
        tf.cast(x, tf.int32, name="ids")
        rows = tf.compat.v1.placeholder(tf.int32, [4, 2], name="rows")
        tf.gather(tf.reshape(x, [4, 2, 3]), rows, axis=1, batch_dims=1, name="batched")
        meta = tf.compat.v1.train.export_meta_graph()
    nodes = {n.name: n for n in meta.graph_def.node}
    del nodes["sum"].attr["T"]
    nodes["halves"].attr["num_split"].i = 1 << 40
    nodes["ids"].attr["DstT"].type = 99
    view = ProtoGraph(meta)
    assert [t.dtype for t in view.get_operation_by_name("sum").outputs] == [tf.float32]
    assert len(view.get_operation_by_name("halves").outputs) == 2        # the two its consumer reads
    assert view.get_tensor_by_name("ids:0").dtype == tf.float32
    with pytest.raises(ValueError, match="which is no dtype"):
        view.get_operation_by_name("ids").get_attr("DstT")
    # a batch_dims that TensorFlow's shape function would take without a check (the import aborts the process)
    assert view.import_hazard(view.index["batched"]) is None
    nodes["batched"].attr["batch_dims"].i = 7
    assert ProtoGraph(meta).import_hazard(view.index["batched"]) == \
        "batch_dims 7 on indices of rank 2 and params of rank 3"


@pytest.mark.slow
@pytest.mark.parametrize("graph,mutation,seed", CASES, ids=[f"{g}-{m}-{s}" for g, m, s in CASES])
def test_a_damaged_graph_or_checkpoint_never_ends_in_a_traceback(corpus, graph, mutation, seed):
    assert corpus.check(graph, mutation, seed) == []


if __name__ == "__main__":   # explore: python tests/test_graph_fuzz.py [N_PER_MUTATION] [FIRST_SEED] [GRAPH ...]
    import tempfile
    import time

    sys.path[:0] = [os.path.dirname(HERE), HERE]   # this checkout's packages, and tf1_models
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with tempfile.TemporaryDirectory() as work:
        c = Corpus(work)
        names = sys.argv[3:] or list(c.graphs)
        t0, bad = time.time(), 0
        for g in names:
            for m in os.environ.get("FUZZ_MUTATIONS", ",".join(MUTATIONS)).split(","):
                for s in range(first, first + n):
                    for line in c.check(g, m, s):
                        bad += 1
                        print(line[:4000], "\n", flush=True)
        print(f"{bad} problems in {time.time() - t0:.0f} s", flush=True)
