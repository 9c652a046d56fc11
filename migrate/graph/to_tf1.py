"""`convert --to tf1 DIR`: a model made by `convert --from-graph` -> a name-based TF1 checkpoint its original graph
restores.

No inverse is written per construct. The graph is translated again exactly as at conversion (the recipe in
convert_report.json's `to_tf1`: source, outputs, inference values, input shapes, recognisers on or off), first
with the real variables, then with the TF1 variables it reads replaced by probe values, as
`migrate.graph.optimizer` does: 0, then each element's id written in base-2048 digits, then 1 (how many TF
elements feed a Keras element). Each Keras weight element is thereby found to be `sum_j sign_j * tf[id_j] + c`:
one TF element for a permutation (a transposed kernel, an LSTM's gates reordered and split, a GRU's candidate
concatenated, an embedding, a cuDNN buffer's matrices), `c` the constant the translation folded in (the LSTM forget
bias), several for a sum (a cuDNN LSTM's input + recurrent bias, which Keras holds as one): those are found by
probing only the elements whose id has bit k clear, then set, k = 0, 1, ... until each element's terms are apart.

The inverse: every TF element starts at its value in the source checkpoint; an element a Keras element reads alone
gets `sign * (w - c)`; of a sum, the first term (the lowest id: a cuDNN input bias) takes what the other terms,
kept at their checkpoint values, leave. An unchanged model round-trips exactly. A TF element two Keras elements read
(a tied variable) must come back the same from both, else exit 1 naming them; a Keras element no TF element feeds
(a constant of the translation: a CudnnCompatibleGRUCell's recurrent z, r bias in GRU(reset_after=True)) must be
unchanged, else exit 1 naming its weight. Variables the Keras model does not
hold (optimizer slots, `global_step`, unused variables) are copied from the source checkpoint unchanged and
listed in the report.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from migrate.errors import InputError, MigrateError
from migrate.exit_codes import MISMATCH

PROBE_BASE = 2048     # as migrate.graph.optimizer: each digit + 1 and any offset stay exact in float32
PROBED_DTYPES = ("float32", "float64", "float16", "bfloat16")
GRAPH_TOOL = "tf-migrate convert --from-graph"


class ToTF1Error(InputError):
    """The model cannot go back (exit 2): not made by `convert --from-graph`, no recipe, the source gone."""


class DoesNotFit(MigrateError):
    """The changed Keras weights have no TF1 checkpoint (exit 1): a tied variable changed differently."""

    exit_code = MISMATCH


def model_folder(path: str) -> str | None:
    """The model folder of `path` (a folder or its model.keras / model.weights.h5) when it holds a
    convert_report.json written by `convert --from-graph`, else None (the Seq2Seq port's reverse path)."""
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    report = os.path.join(folder, "convert_report.json")
    if not os.path.isfile(report):
        return None
    try:
        with open(report, encoding="utf-8") as f:
            tool = json.load(f).get("tool")
    except (OSError, ValueError, AttributeError):
        return None
    return folder if tool == GRAPH_TOOL else None


def _load(folder: str, path: str):
    import keras  # noqa: PLC0415

    import tf_migrate_runtime.layers  # noqa: F401, PLC0415 - registers the runtime's serializable layers

    with open(os.path.join(folder, "convert_report.json"), encoding="utf-8") as f:
        report = json.load(f)
    recipe = report.get("to_tf1")
    if not recipe:
        raise ToTF1Error(f"{folder}/convert_report.json: no `to_tf1` entry (written by tf-migrate before it could "
                         f"go back); convert the TF1 model again with this version, then --to tf1.")
    keras_file = path if path.endswith(".keras") else os.path.join(folder, "model.keras")
    if not os.path.isfile(keras_file):
        raise ToTF1Error(f"{keras_file}: no such file; --to tf1 reads the model.keras `convert --from-graph` wrote "
                         f"into {folder}.")
    for mod in report.get("load_requires", []):
        __import__(mod)
    try:
        model = keras.saving.load_model(keras_file, compile=False)
    except (ValueError, OSError, TypeError) as e:
        raise ToTF1Error(f"{keras_file}: cannot load the Keras model ({str(e).splitlines()[0][:200]}).") from None
    return report, recipe, model


class _Translation:
    """The graph opened and its view set up as `convert --from-graph` did (`convert_report.json`'s `to_tf1`)."""

    def __init__(self, recipe: dict, source: str, log):
        from migrate.files import resolve_checkpoint  # noqa: PLC0415
        from migrate.graph.convert import inference_constants  # noqa: PLC0415
        from migrate.graph.meta import PLACEHOLDER_OPS, GraphView, TF1Graph  # noqa: PLC0415
        from migrate.parity.forms import open_source  # noqa: PLC0415

        src = open_source(source, tag_set=recipe.get("tag_set"), signature=recipe.get("signature"))
        prefix = resolve_checkpoint(source) if src.form == "checkpoint" else src.prefix
        if prefix is None:
            raise ToTF1Error(f"{source}: a frozen graph holds its weights as constants; there is no checkpoint "
                             f"to write back into. Use the Keras model, or convert from the checkpoint.")
        self.prefix = prefix
        self.tf1 = TF1Graph(prefix, source=src)
        self.outputs, self.recognisers = recipe["outputs"], recipe["recognisers"]
        starts = recipe.get("starts") or {}   # where convert started the model (TF1Graph.start_at): the same
        sig_shapes = {v["tensor"]: v["shape"] for v in (src.signature or {}).get("inputs", {}).values()}
        self.tf1.start_at(dict.fromkeys(starts), {**sig_shapes, **{k: v for k, v in starts.items() if v}})
        inference_constants(self.tf1)
        self.tf1.focus(self.outputs, fed=recipe.get("fed", []))
        view = GraphView(self.tf1)
        if src.signature:
            at = getattr(self.tf1, "started_at", {})
            view.input_names = {at.get(t, t).split(":")[0]: k for k, t in src.signature_inputs.items()
                                if at.get(t, t).endswith(":0")}
            parse = src.signature.get("parse_example")
            if parse:
                view.cut_inputs = {f["tensor"]: k for k, f in parse["features"].items() if f["kind"] == "dense"}
        view.dropout_draws = getattr(self.tf1, "dropout_draws", frozenset())
        imported = {op.name: op for op in view.graph.get_operations() if op.type in PLACEHOLDER_OPS}
        view.inference_values = {k: np.asarray(v, imported[k].outputs[0].dtype.as_numpy_dtype)
                                 for k, v in recipe.get("inference_values", {}).items() if k in imported}
        self.input_shapes = {k: tuple(v) for k, v in recipe.get("input_shapes", {}).items()}
        view.set_fed(self.input_shapes)   # --inputs' placeholders (their shapes were recorded)
        self.view, self.log = view, log

    def weights(self, values: dict | None = None, read: set | None = None) -> dict:
        """{Keras layer name: [arrays]} translated with `values` replacing some variables; `read` collects the
        names of the variables the translation read."""
        from migrate.graph.convert import translate_view  # noqa: PLC0415

        view = _ProbeView(self.view, values or {}, read)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            tr = translate_view(view, self.outputs, dict(self.input_shapes), self.recognisers, lambda _m: None)
        if tr.unsupported:
            raise ToTF1Error(f"{self.tf1.meta}: the graph no longer translates ({tr.unsupported_summary()}).")
        return tr.emitter.weights

    def close(self):
        self.tf1.close()


def _ProbeView(base, values, read):  # noqa: N802 - a class made on first use (meta imports TensorFlow)
    from migrate.graph.meta import GraphView  # noqa: PLC0415

    class ProbeView(GraphView):
        def __init__(self):
            super().__init__(base.tf1)
            self.inference_values = dict(base.inference_values)
            self.fed = set(base.fed)
            self.dropout_draws = base.dropout_draws
            self.input_names = dict(base.input_names)
            self.cut_inputs = dict(base.cut_inputs)

        def variable_values(self, name):
            if read is not None:
                read.add(name)
            if name in values:
                return values[name]
            return base.variable_values(name)

    return ProbeView()


# -- which TF elements each Keras weight element sums -------------------------------------------------------------
class Terms:
    """Per Keras weight: `c` (the constant part), and its terms as parallel flat arrays `at` (element index in the
    weight), `ids` (0-based into the probed variables' concatenation), `sign`."""

    def __init__(self, c: np.ndarray):
        self.c = c
        self.at: list[np.ndarray] = []
        self.ids: list[np.ndarray] = []
        self.sign: list[np.ndarray] = []

    def add(self, at, ids, sign):
        self.at.append(np.asarray(at, np.int64))
        self.ids.append(np.asarray(ids, np.int64))
        self.sign.append(np.asarray(sign, np.int64))

    def arrays(self):
        if not self.at:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self.at), np.concatenate(self.ids), np.concatenate(self.sign)


def probe_terms(tr: _Translation, keras_weights: dict, probed: list[str], real: dict) -> tuple[dict, int]:
    """{(layer, index): Terms} for every translated weight; and the number of translations run."""
    sizes = [real[n].size for n in probed]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    total = int(starts[-1])
    digits = 1
    while PROBE_BASE ** digits < total + 1:
        digits += 1
    ids = np.arange(total, dtype=np.int64)   # 0-based here; probe values are id-digit + 1 (never 0)
    runs = [0]

    def run(fn, mask=None):
        flat = fn(ids).astype(np.float64)
        if mask is not None:
            flat = np.where(mask, flat, 0.0)
        values = {n: flat[starts[i]:starts[i + 1]].reshape(real[n].shape).astype(real[n].dtype)
                  for i, n in enumerate(probed)}
        runs[0] += 1
        return {k: [np.asarray(a, np.float64) for a in v] for k, v in tr.weights(values).items()}

    zero = run(lambda i: np.zeros(i.shape))

    def family(mask=None):
        ones = run(lambda i: np.ones(i.shape), mask)
        ds = [run(lambda i, d=d: (i // PROBE_BASE ** d) % PROBE_BASE + 1, mask) for d in range(digits)]
        return ones, ds

    def singles(key, ones, ds):
        """Elements of weight `key` with exactly one probed term: (flat positions, ids, signs)."""
        c = zero[key[0]][key[1]].reshape(-1)
        n = ones[key[0]][key[1]].reshape(-1) - c
        one = np.abs(np.abs(n) - 1) < 0.05
        sign = np.sign(n).astype(np.int64)
        got = np.zeros(c.shape, np.int64)
        ok = one.copy()
        for d, r in enumerate(ds):
            mag = (r[key[0]][key[1]].reshape(-1) - c) * sign
            digit = np.rint(mag)
            ok &= (np.abs(mag - digit) < 0.05) & (digit >= 1) & (digit <= PROBE_BASE)
            got += np.where(ok, (digit.astype(np.int64) - 1) * PROBE_BASE ** d, 0)
        ok &= got < total
        where = np.nonzero(ok)[0]
        return where, got[where], sign[where], np.rint(np.abs(n)).astype(np.int64)

    keys = [(lname, i) for lname, arrays in keras_weights.items() for i in range(len(arrays))]
    ones, ds = family()
    out, pending = {}, {}
    for key in keys:
        out[key] = t = Terms(zero[key[0]][key[1]])
        where, got, sign, count = singles(key, ones, ds)
        t.add(where, got, sign)
        many = np.nonzero(count > 1)[0]
        if many.size:
            pending[key] = (many, count[many], {})
    bit = 0
    while pending and 2 ** bit < total:
        for half in (0, 1):
            mask = ((ids >> bit) & 1) == half
            ones_m, ds_m = family(mask)
            for key, (many, _count, found) in list(pending.items()):
                where, got, sign, _ = singles(key, ones_m, ds_m)
                sel = np.isin(where, many)
                for w, g, s in zip(where[sel], got[sel], sign[sel]):
                    found.setdefault(int(w), {})[int(g)] = int(s)
        for key, (many, count, found) in list(pending.items()):
            if all(len(found.get(int(w), {})) >= n for w, n in zip(many, count)):
                t = out[key]
                for w in many:
                    terms = sorted(found[int(w)].items())
                    t.add([w] * len(terms), [g for g, _ in terms], [s for _, s in terms])
                del pending[key]
        bit += 1
    if pending:
        key = next(iter(pending))
        raise ToTF1Error(f"Keras weight {key[0]}[{key[1]}]: some elements are not sums of TF1 variable elements; "
                         f"it cannot be written back into the TF1 variables.")
    return out, runs[0]


def graph_model_to_tf1(path: str, out_prefix: str, *, outputs, source: str | None = None, log=print) -> dict:
    """Write the model folder `path`'s Keras weights as the TF1 checkpoint `out_prefix` (staged in `outputs`, a
    `migrate.files.Outputs`); the report (the command prints its summary)."""
    from migrate.checkpoint.reverse import stage_save_v2  # noqa: PLC0415

    folder = model_folder(path)
    if folder is None:
        raise ToTF1Error(f"{path}: no convert_report.json of `convert --from-graph` beside it")
    outputs.check(out_prefix, kind="prefix")
    report, recipe, model = _load(folder, path)
    source = source or recipe["source"]
    if not os.path.exists(source) and not os.path.exists(source + ".index"):
        raise ToTF1Error(f"{source}: the TF1 model this folder was converted from is not there any more; --to tf1 "
                         f"translates its graph again to invert the layout. Pass it with --graph-source PATH.")
    tr = _Translation(recipe, source, log)
    try:
        read: set = set()
        translated = tr.weights(read=read)
        have = {layer.name: layer for layer in model.layers if layer.weights}
        for lname, arrays in translated.items():
            layer = have.get(lname)
            shapes = [tuple(np.shape(a)) for a in arrays]
            if layer is None or [tuple(w.shape) for w in layer.weights] != shapes:
                raise ToTF1Error(f"{folder}/model.keras: layer {lname} " + (
                    "is not in the model" if layer is None else
                    f"has weights {[tuple(w.shape) for w in layer.weights]}, the graph translates to {shapes}") +
                    f"; the model was not converted from {source}.")
        real = {n: np.asarray(tr.view.variable_values(n)) for n in sorted(read)}
        probed = [n for n in sorted(read) if real[n].dtype.name in PROBED_DTYPES and real[n].size]
        terms, runs = probe_terms(tr, translated, probed, real)
        new_values, tied = _invert(terms, probed, real, translated,
                                   {k: [np.asarray(w.numpy(), np.float64) for w in have[k].weights] for k in translated})
        arrays, copied = _checkpoint_arrays(tr, probed, new_values, real)
        meta = tr.tf1.meta
    finally:
        tr.close()
    files = stage_save_v2(arrays, out_prefix, outputs)
    if meta and os.path.isfile(meta):   # the graph beside its checkpoint: import_meta_graph(PREFIX.meta) restores it
        with open(meta, "rb") as f:
            outputs.write_bytes(out_prefix + ".meta", f.read())
        files.append(os.path.abspath(out_prefix + ".meta"))
    changed = sorted(n for n in probed if not np.array_equal(new_values[n], real[n]))
    out = {
        "direction": "keras->tf1", "source": os.path.join(folder, "model.keras"), "tf1_source": source,
        "output": {"path": out_prefix, "format": "tf1-checkpoint", "files": files},
        "counts": {"keras_weights": sum(len(a) for a in translated.values()), "tf1_variables": len(arrays),
                   "from_keras": len(probed), "copied": len(copied), "translations": runs + 1},
        "from_keras": probed, "changed": changed, "copied_from_source": copied,
        "tied": tied,
    }
    return out


def _invert(terms: dict, probed: list[str], real: dict, translated: dict, keras: dict) -> tuple[dict, list[str]]:
    """The probed variables' new values: each Keras element's change from the value the translation gave it goes
    to its first term (`sign * change`); an element the Keras model did not change leaves its TF element as it was
    (exact, with no forget bias subtracted and added back)."""
    flat = np.concatenate([real[n].reshape(-1).astype(np.float64) for n in probed]) if probed else np.zeros(0)
    new = flat.copy()
    owner = np.full(flat.shape, -1, np.int64)     # which weight set each TF element
    tied, conflicts, unheld = set(), [], []
    for k, (key, t) in enumerate(sorted(terms.items())):
        w = keras[key[0]][key[1]].reshape(-1)
        change = w - np.asarray(translated[key[0]][key[1]], np.float64).reshape(-1)
        at, ids, sign = t.arrays()
        free = np.ones(w.shape, bool)
        free[at] = False   # elements no TF1 variable element feeds (a constant of the translation)
        if np.any(np.abs(change[free]) > 1e-6 * (1 + np.abs(w[free]))):
            unheld.append(f"{key[0]}[{key[1]}]")
        if not at.size:
            continue
        order = np.lexsort((ids, at))
        at, ids, sign = at[order], ids[order], sign[order]
        first = np.ones(at.shape, bool)
        first[1:] = at[1:] != at[:-1]
        a, i, s = at[first], ids[first], sign[first]
        value = flat[i] + s * change[a]
        rebuilt = t.c.reshape(-1).copy()
        np.add.at(rebuilt, at, sign * flat[ids])
        base = np.asarray(translated[key[0]][key[1]], np.float64).reshape(-1)
        if not np.all(np.abs(rebuilt - base) <= 1e-5 * (1 + np.abs(base))):
            raise ToTF1Error(f"Keras weight {key[0]}[{key[1]}]: not a sum of TF1 variable elements (rebuilt from "
                             f"them it differs); it cannot be written back into the TF1 variables.")
        seen = owner[i] >= 0
        if seen.any():
            differ = np.abs(new[i[seen]] - value[seen]) > 1e-6 * (1 + np.abs(value[seen]))
            tied.add(key[0])
            if differ.any():
                conflicts.append(key[0])
        new[i] = value
        owner[i] = k
    if unheld:
        raise DoesNotFit(f"Keras weights {', '.join(unheld)} changed elements that no TF1 variable holds (a "
                         f"constant of the translation, e.g. the recurrent z, r bias of a keras.layers.GRU(reset_after=True) made "
                         f"from a CudnnCompatibleGRUCell, whose one `gates/bias` is the input row); the TF1 graph "
                         f"cannot compute the changed model. Fold such a change into the weight TF1 holds (the input "
                         f"bias row) or keep it at its converted value; nothing written.")
    if conflicts:
        raise DoesNotFit(f"Keras layers {', '.join(sorted(set(conflicts)))} hold copies of the same TF1 variable "
                         f"elements with different values (a variable TF1 shared, trained apart in Keras); one TF1 "
                         f"checkpoint cannot hold both. Tie the weights again or pick one copy; nothing written.")
    starts = np.concatenate([[0], np.cumsum([real[n].size for n in probed])]).astype(np.int64)
    return ({n: new[starts[j]:starts[j + 1]].reshape(real[n].shape).astype(real[n].dtype)
             for j, n in enumerate(probed)}, sorted(tied))


def _checkpoint_arrays(tr: _Translation, probed, new_values: dict, real: dict) -> tuple[dict, list[str]]:
    """Every variable of the source checkpoint (the Keras-held ones from the model), plus variables the model reads
    that the checkpoint holds in another form (a cuDNN buffer assembled from canonical variables: both written)."""
    from migrate.checkpoint.reader import Checkpoint  # noqa: PLC0415

    ckpt = Checkpoint.open(tr.prefix)
    arrays, copied = {}, []
    for name in ckpt.variables:
        if name in new_values:
            continue
        arrays[name] = np.asarray(ckpt.read(name))
        copied.append(name)
    arrays.update(new_values)
    for name in set(real) - set(probed):
        arrays.setdefault(name, real[name])
    for name in getattr(tr.tf1, "assembled", None) or {}:
        if name in new_values:
            canonical = _canonical_of(name, new_values[name], ckpt)
            arrays.update(canonical)
            copied = [c for c in copied if c not in canonical]
    return arrays, sorted(copied)


def _canonical_of(name: str, buffer: np.ndarray, ckpt) -> dict:
    """The canonical variables (what TF1's saveable writes) of the cuDNN buffer `name`, under the names the source
    checkpoint used for them."""
    from migrate.checkpoint import cudnn_params as cp  # noqa: PLC0415

    scope = name[: -len("opaque_kernel")] if name.endswith("opaque_kernel") else ""
    out = {}
    for (sc, mode), group in cp.canonical_groups(ckpt.variables).items():
        if sc != scope:
            continue
        first = {r: np.asarray(ckpt.read(n)) for r, n in group["names"][(0, 0)].items()}
        _, spec = cp.buffer_from_tf_canonical(lambda n: np.asarray(ckpt.read(n)), group, mode, scope)
        for (layer, k), (ws, bs) in zip(spec.pseudo_layers(), cp.opaque_to_canonical(buffer, spec)):
            for role, v in cp.to_tf_canonical(ws, bs, mode).items():
                out[group["names"][(layer, k)][role]] = v.astype(first[next(iter(first))].dtype)
    return out

