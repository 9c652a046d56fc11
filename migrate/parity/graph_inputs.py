"""Inputs for a TF1 graph and the Keras model that should compute the same: generated, or the user's own batch.

API (used by `tf-migrate parity --tf1` and by the graph -> Keras converter's on-the-spot parity):

```python
from migrate.parity.graph_inputs import generate_feed, load_feed, infer_rules

rules = infer_rules(graph, needed, declared=spec.feeds)         # keep_prob = 1.0, lengths of ids, ... by name
feed = generate_feed(graph, needed, rules, shapes={"ids:0": (None, 12)}, batch_size=4, time_steps=6, seed=0)
feed.values          # {"ids:0": int32 [4, 6], "lengths:0": int32 [4], "keep_prob:0": 1.0}
feed.lengths         # {"ids:0": lengths array}: which positions of those ids are real (t < length)
feed.notes           # one sentence per derived or inferred value, for the report
```

Generated values fit the graph they are fed to: what each placeholder is and which of its axes are batch and time
is read from the ops that consume it (`input_roles`: ids of an embedding, lengths compared with a loop counter,
a `zero_state`'s batch size, a TensorArray's step count, a dropout keep probability, a `tf.cond` predicate;
time-major where the graph unstacks axis 0 over time without a transpose). One batch size B and one time length T
serve every input (B: a fed or defaulted batch-size placeholder, else a batch axis the graph fixes, else
`batch_size`; T: a time axis the graph fixes, else `time_steps`); unknown dimensions are B on the batch axis
and T elsewhere (a `shapes` hint, e.g. from the Keras input, fills dimensions or a rank the graph leaves unknown).
Integer ids are drawn in `[1, vocab)` where `vocab` is the first dimension of the table they index (0 stays for
padding); lengths (by the graph, else by name) in `[1, T]` with T the time axis of the sequences they go with
(row 0 full, row 1 a single token), and with a `length_of` rule (declared, or lengths the graph ties to one id
sequence) the ids past each length are set to 0; a batch size is B, a step count T, a keep probability 1.0, a
dropout rate 0.0, a cond predicate False; other floats are N(0, 1); bools random. `feed.notes` says each choice;
`feed.from_graph` the ones the graph dictated.

When the TF1 graph itself refuses a feed, `rejected(graph, error, feed)` is the one message to raise: TensorFlow's
own error (kind, node, op type, text), what was fed, and the way out (`--inputs FEED.npz` with an example line
naming this graph's placeholders and shapes; for the user's own `.npz`, to fix it).
`load_feed(path, needed, rules)` reads a `.npz` whose keys are placeholder names (`:0` optional), checks dtypes and
shapes, and adds only the derived feeds. Both raise `ParityInputError` (exit 2) naming the placeholder.

A generated input is bounded before it is allocated: a placeholder declared `[None, 2**31]` would take 48 GiB;
one input over `graph_def.MAX_TENSOR_BYTES` (256 MiB), or a batch over `graph_def.MAX_FEED_BYTES` (1 GiB), is refused
naming the placeholder, its declared shape and the bytes (pass a smaller batch of your own with --inputs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from migrate.parity.errors import InputsRejected, ParityInputError
from migrate.parity.graph_def import MAX_FEED_BYTES, MAX_TENSOR_BYTES, human_bytes, shape_bytes
from migrate.parity.graph_spec import LENGTH_NAME, NAMED_FEEDS, FeedRule, normalise, tensor_key
from migrate.parity.input_roles import Sizes, analyse, choose_sizes
from migrate.parity.tf1_graph import PlaceholderInfo, TF1Graph, op_name

# Ids that index no embedding the graph shows are drawn in [1, this).
DEFAULT_ID_RANGE = 10


@dataclass
class Feed:
    """Values for every placeholder fed (tensor name -> array), with the lengths of padded ids and notes.

    `sizes`: the batch size, time length and roles the generated values follow (`input_roles.Sizes`; None for
    the user's own batch); `generated`: drawn here, not read from `--inputs`."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sizes: Sizes | None = None
    generated: bool = False
    source: str | None = None     # the user's .npz, when the values come from one
    from_graph: list[str] = field(default_factory=list)   # the notes that say what the graph fixed, and why

    def note(self, text: str, from_graph: bool = False) -> None:
        self.notes.append(text)
        if from_graph:
            self.from_graph.append(text)

    def time_major(self, tensor: str) -> bool:
        """Whether the graph reads this placeholder's axis 0 as time (`[T, B, ...]`)."""
        return self.sizes is not None and self.sizes.axes(tensor)[1] == 0


def infer_rules(graph: TF1Graph, needed: list[PlaceholderInfo], declared: dict[str, FeedRule] | None = None,
                skip: set[str] = frozenset()) -> dict[str, FeedRule]:
    """Declared rules plus the ones inferred by name: `graph_spec.NAMED_FEEDS` constants for placeholders not in
    `skip` (those the Keras model feeds), and lengths of the one rank-2 id placeholder."""
    rules = dict(declared or {})
    names = {p.tensor for p in graph.all_placeholders}   # the whole .meta's: a rule may name one the outputs skip
    for key, rule in rules.items():
        refs = (key, rule.length_of) if rule.length_of else (key,)
        for ref in refs:
            # a constant may be fed to any tensor (TF1 feeds any feedable tensor, e.g. a keep-probability Const)
            known = ref in names if (ref == rule.length_of or rule.length_of) else _is_tensor(graph, ref)
            if not known:
                raise ParityInputError(f"{rule.source}: feed {key}: {ref} is not a placeholder of the graph; its "
                                       f"placeholders are {', '.join(sorted(names)) or 'none'}")
    ids = [p for p in needed if p.dtype.kind in "iu" and p.shape is not None and len(p.shape) == 2]
    tied = _lengths_from_graph(graph, needed)
    for p in needed:
        if p.tensor in rules or p.has_default:
            continue
        norm = normalise(p.name)
        scalar = p.shape == () or p.shape is None
        if scalar and p.tensor not in skip:
            for pattern, kind, value in NAMED_FEEDS:
                if re.search(pattern, norm) and (p.dtype.kind == kind or (kind == "f" and p.dtype.kind == "f")):
                    rules[p.tensor] = FeedRule(p.tensor, value=value, source="by name")
                    break
            else:
                if p.dtype.kind == "b":
                    rules[p.tensor] = FeedRule(p.tensor, value=False, source="a bool scalar: by default")
        elif p.tensor in tied:
            rules[p.tensor] = FeedRule(p.tensor, length_of=tied[p.tensor][0], source=tied[p.tensor][1])
        elif (p.dtype.kind in "iu" and p.shape is not None and len(p.shape) == 1
              and LENGTH_NAME.search(norm) and len(ids) == 1):
            rules[p.tensor] = FeedRule(p.tensor, length_of=ids[0].tensor, source="by name")
    return rules


def _lengths_from_graph(graph: TF1Graph, needed: list[PlaceholderInfo]) -> dict[str, tuple[str, str]]:
    """`{lengths tensor: (ids tensor, why)}`: lengths the graph ties (same while loop or ReverseSequence) to exactly
    one rank-2 integer sequence (its ids), whatever their names."""
    roles = analyse(graph.graph, [p.name for p in needed])
    by_name = {p.name: p for p in needed}
    out = {}
    for name, role in roles.items():
        if role.kind != "lengths" or not role.ties:
            continue
        seqs = [n for n, r in roles.items() if r.sequence and r.ties & role.ties and by_name[n].dtype.kind in "iu"
                and by_name[n].shape is not None and len(by_name[n].shape) == 2]
        if len(seqs) == 1:
            out[name + ":0"] = (seqs[0] + ":0", f"from the graph: {role.why[0]}")
    return out


def _is_tensor(graph: TF1Graph, name: str) -> bool:
    return graph.has_tensor(name)


def feed_other_tensors(graph: TF1Graph, rules: dict[str, FeedRule], feed: Feed) -> None:
    """Constant rules for tensors that are not placeholders (e.g. a dropout's keep-probability Const)."""
    placeholders = {p.tensor for p in graph.all_placeholders}
    overridden = getattr(graph, "overridden", {})
    for name, rule in rules.items():
        if name in overridden:
            feed.notes.append(f"set {rule.describe()} in the graph (a constant: its value replaced before the "
                              f"import)")
        elif name not in placeholders and rule.length_of is None and name not in feed.values:
            try:
                t = graph.tensor(name)
            except ParityInputError:
                if graph.has_tensor(name):
                    continue   # in the .meta, but nothing the outputs need reads it
                raise
            feed.values[name] = np.asarray(rule.value, dtype=t.dtype.base_dtype.as_numpy_dtype)
            feed.notes.append(f"fed {rule.describe()} (not a placeholder: the value replaces the tensor)")


def _shape(p: PlaceholderInfo, hint: tuple | None, sizes: Sizes) -> tuple[int, ...]:
    shape = sizes.shape(p, hint)
    if shape is None:
        raise ParityInputError(f"placeholder {p.tensor}: its shape is unknown (a TF 1.0 placeholder) and no Keras "
                               f"input is bound to it; declare it in [parity] inputs, feed it with --feed or pass "
                               f"--inputs FEED.npz")
    return shape


def _constant(p: PlaceholderInfo, value: Any, sizes: Sizes) -> np.ndarray:
    arr = np.asarray(value)
    if p.shape is None or arr.shape == tuple(p.shape):
        return arr.astype(p.dtype)
    if arr.ndim == 0:
        shape = _shape(p, None, sizes)
        _within_budget(p, shape, 0)
        return np.full(shape, arr, dtype=p.dtype)
    return arr.astype(p.dtype)


def _within_budget(p: PlaceholderInfo, shape: tuple[int, ...], total: int) -> int:
    """Bytes of the array `shape` would make for `p`, refused (exit 2) over one input's or the batch's budget
    before anything is allocated; returns the new running total."""
    nbytes = shape_bytes(shape, np.dtype(p.dtype).itemsize)
    over = (f"over the {human_bytes(MAX_TENSOR_BYTES)} budget for one generated input" if nbytes > MAX_TENSOR_BYTES
            else f"the batch would take {human_bytes(total + nbytes)}, over the {human_bytes(MAX_FEED_BYTES)} budget "
                 f"for one generated batch" if total + nbytes > MAX_FEED_BYTES else None)
    if over:
        declared = "unknown" if p.shape is None else "[" + ", ".join("None" if d is None else str(d)
                                                                       for d in p.shape) + "]"
        raise ParityInputError(
            f"placeholder {p.tensor} is declared with shape {declared} ({p.dtype}): a generated parity input "
            f"{list(shape)} would take {human_bytes(nbytes)}; {over}. Nothing was allocated. Pass a batch of your "
            f"own with smaller arrays: --inputs FEED.npz (numpy.savez(path, **{{'{p.tensor}': array}})), or give "
            f"it a value with --feed")
    return total + nbytes


def _lengths(rng: np.random.RandomState, batch: int, steps: int) -> np.ndarray:
    lengths = rng.randint(1, steps + 1, batch)
    lengths[0] = steps
    if batch > 1:
        lengths[1] = 1
    return lengths


# Values a scalar takes at inference, by the role the graph gives it (`input_roles`).
ROLE_VALUES = {"keep_prob": 1.0, "rate": 0.0, "mode": False}
# Roles whose values follow from the rest of the batch (or from inference): never asked of the user.
DERIVED_ROLES = ("batch_size", "steps", "lengths", *ROLE_VALUES)


def derivable(graph: TF1Graph, needed: list[PlaceholderInfo]) -> dict[str, str]:
    """`{tensor: role}` of the placeholders whose values the graph's own structure gives (`DERIVED_ROLES`)."""
    roles = analyse(graph.graph, [p.name for p in needed])
    return {n + ":0": r.kind for n, r in roles.items() if r.kind in DERIVED_ROLES}


def graph_sizes(graph: TF1Graph, needed: list[PlaceholderInfo], rules: dict[str, FeedRule], *,
                shapes: dict[str, tuple] | None = None, batch_size: int = 4, time_steps: int = 6,
                always: frozenset[str] | set[str] = frozenset()) -> Sizes:
    """The roles of `needed` read from the graph (`input_roles.analyse`) and one batch size and time length for all
    of them, consistent with the constants `rules` give (a fed batch size is the batch)."""
    roles = analyse(graph.graph, [p.name for p in needed])
    fixed = {k: r.value for k, r in rules.items() if r.length_of is None}
    return choose_sizes(needed, roles, fixed=fixed, batch=batch_size, steps=time_steps, hints=shapes,
                        fed_defaults={op_name(t) for t in always})


def generate_feed(graph: TF1Graph, needed: list[PlaceholderInfo], rules: dict[str, FeedRule], *,
                  shapes: dict[str, tuple] | None = None, batch_size: int = 4, time_steps: int = 6,
                  seed: int = 0, always: frozenset[str] | set[str] = frozenset()) -> Feed:
    """Random values for `needed` (see the module docstring); `rules` decide derived and constant feeds;
    `always`: placeholders fed even when they have a default (those a Keras input is bound to)."""
    rng = np.random.RandomState(seed)
    shapes = shapes or {}
    sizes = graph_sizes(graph, needed, rules, shapes=shapes, batch_size=batch_size, time_steps=time_steps,
                        always=always)
    feed = Feed(notes=list(sizes.notes), sizes=sizes, generated=True, from_graph=list(sizes.notes))
    length_for = {r.length_of: r.placeholder for r in rules.values() if r.length_of}
    by_tensor = {p.tensor: p for p in graph.all_placeholders}
    total = 0
    for p in needed:
        rule = rules.get(p.tensor)
        role = sizes.roles.get(p.name)
        kind = role.kind if role is not None else ""
        if p.has_default and rule is None and p.tensor not in always:
            continue
        if rule is not None and rule.length_of is None:
            feed.values[p.tensor] = _constant(p, rule.value, sizes)
            total += feed.values[p.tensor].nbytes
            feed.notes.append(f"fed {rule.describe()}")
            continue
        if rule is not None:
            continue  # lengths: drawn with their ids below
        shape = _shape(p, shapes.get(p.tensor), sizes)
        total = _within_budget(p, shape, total)
        if kind in ("batch_size", "steps") and p.dtype.kind in "iu":
            value = sizes.batch if kind == "batch_size" else sizes.steps
            feed.values[p.tensor] = np.full(shape, value, dtype=p.dtype)
            feed.note(f"{p.tensor} = {value}: {role.describe()} ({role.why[0]})", from_graph=True)
        elif kind in ROLE_VALUES and p.dtype.kind in ("b" if kind == "mode" else "f"):
            feed.values[p.tensor] = np.full(shape, ROLE_VALUES[kind], dtype=p.dtype)
            feed.note(f"{p.tensor} = {ROLE_VALUES[kind]}: {role.describe()} ({role.why[0]})", from_graph=True)
        elif p.dtype.kind in "iu" and len(shape) == 1 and (kind == "lengths" or (
                kind != "ids" and LENGTH_NAME.search(normalise(p.name)))):
            # lengths tied to no one id input (e.g. a seq2seq's encoder and decoder lengths): still in [1, T]
            bound = sizes.length_bound(p.name)
            feed.values[p.tensor] = _lengths(rng, shape[0], bound).astype(p.dtype)
            why = role.why[0] if kind == "lengths" else "named like lengths"
            feed.note(f"{p.tensor}: lengths in [1, {bound}] ({why})", from_graph=kind == "lengths")
        elif p.dtype.kind in "iu":
            vocab = role.vocab if role is not None and role.vocab else graph.id_range(p.name)
            high = vocab if vocab is not None else DEFAULT_ID_RANGE
            lo = 1 if high > 1 else 0
            ids = rng.randint(lo, max(high, lo + 1), shape).astype(p.dtype)
            if vocab is None:
                feed.notes.append(f"{p.tensor}: integers in [{lo}, {high}) (it indexes no embedding in the graph; "
                                  f"pass --inputs FEED.npz for real data)")
            else:
                feed.notes.append(f"{p.tensor}: ids in [{lo}, {vocab}) (the embedding it indexes has {vocab} rows)")
            b_ax, t_ax = sizes.axes(p.name)
            t_ax = 1 if t_ax is None else t_ax
            if p.tensor in length_for and len(shape) >= 2 and {b_ax, t_ax} == {0, 1}:
                lengths = _lengths(rng, shape[b_ax], shape[t_ax])
                pad = np.arange(shape[t_ax])[None, :] >= lengths[:, None]          # [B, T]: past each length
                pad = pad if b_ax == 0 else pad.T                                  # [T, B] when time-major
                ids[np.broadcast_to(pad.reshape(pad.shape + (1,) * (len(shape) - 2)), shape)] = 0
                target = by_tensor[length_for[p.tensor]]
                feed.values[target.tensor] = lengths.astype(target.dtype)
                feed.lengths[p.tensor] = lengths
                feed.note(f"fed {rules[target.tensor].describe()}: {_short(lengths)}; ids past each length are 0",
                          from_graph=rules[target.tensor].source.startswith("from the graph"))
            feed.values[p.tensor] = ids
        elif p.dtype.kind == "f":
            feed.values[p.tensor] = rng.standard_normal(shape).astype(p.dtype)
        elif p.dtype.kind == "b":
            feed.values[p.tensor] = rng.randint(0, 2, shape).astype(bool)
        elif p.dtype.kind == "O":   # strings: tokens of the vocabulary the lookup table they reach holds
            vocab = graph.string_vocabulary(p.name)
            words = list(vocab[:1000]) if vocab else [f"w{k}".encode() for k in range(DEFAULT_ID_RANGE)]
            words.append(b"tfm-out-of-vocabulary")   # one unknown token: the table's default must hold too
            feed.values[p.tensor] = np.array([words[k] for k in rng.randint(0, len(words), int(np.prod(shape)))],
                                             dtype=object).reshape(shape)
            feed.note(f"{p.tensor}: strings drawn from " + (
                f"the {len(vocab)}-key vocabulary of the lookup table it reaches, and one unknown token" if vocab
                else "w0 .. w9 (it reaches no lookup table; pass --inputs FEED.npz for real text)"),
                from_graph=bool(vocab))
        else:
            raise ParityInputError(f"placeholder {p.tensor}: cannot generate values of dtype {p.dtype}; feed it "
                                   f"with --feed or pass --inputs FEED.npz")
    missing = [r.placeholder for r in rules.values() if r.length_of and r.placeholder not in feed.values
               and any(p.tensor == r.placeholder for p in needed)]
    if missing:
        raise ParityInputError(f"{', '.join(missing)}: declared as lengths of ids that are not generated here "
                               f"(the ids are not a rank-2 integer input of this graph); pass --inputs FEED.npz")
    feed_other_tensors(graph, rules, feed)
    return feed


def load_feed(path: str, graph: TF1Graph, needed: list[PlaceholderInfo], rules: dict[str, FeedRule]) -> Feed:
    """The user's own batch: a `.npz` keyed by placeholder names; constant rules fill what it leaves out."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {tensor_key(k): np.asarray(data[k]) for k in data.files}
    except FileNotFoundError:
        raise ParityInputError(f"{path}: no such file; expected a .npz of arrays keyed by placeholder name "
                               f"(np.savez(path, **{{'ids': ids, 'lengths': lengths}}))") from None
    except (OSError, ValueError) as e:
        raise ParityInputError(f"{path}: not a readable .npz of plain arrays ({e})") from None
    known = {p.tensor: p for p in graph.all_placeholders}
    unknown = sorted(set(arrays) - set(known))
    if unknown:
        raise ParityInputError(f"{path}: key(s) {', '.join(unknown)} name no placeholder of the graph; its "
                               f"placeholders are {', '.join(sorted(known))}")
    feed = Feed(notes=[f"inputs from {path}: {', '.join(sorted(arrays))}"], source=path)
    for name, arr in arrays.items():
        p = known[name]
        if p.dtype.kind != arr.dtype.kind and not (p.dtype.kind in "iu" and arr.dtype.kind in "iu"):
            raise ParityInputError(f"{path}: {name} has dtype {arr.dtype}, the placeholder expects {p.dtype}")
        if p.shape is not None and (len(p.shape) != arr.ndim or any(d is not None and d != s
                                                                   for d, s in zip(p.shape, arr.shape))):
            want = "[" + ", ".join("?" if d is None else str(d) for d in p.shape) + "]"
            raise ParityInputError(f"{path}: {name} has shape {list(arr.shape)}, the placeholder expects {want}")
        feed.values[name] = arr.astype(p.dtype)
    feed.sizes = _sizes_of(graph, needed, feed.values)
    for p in needed:
        rule = rules.get(p.tensor)
        if p.tensor in feed.values or (p.has_default and rule is None):
            continue
        if rule is not None and rule.length_of is None:
            feed.values[p.tensor] = _constant(p, rule.value, feed.sizes)
            feed.notes.append(f"fed {rule.describe()}")
        elif rule is not None and rule.length_of in feed.values:
            ids = feed.values[rule.length_of]
            lengths = (ids != 0).sum(axis=0 if feed.time_major(rule.length_of) else 1).astype(p.dtype)
            feed.values[p.tensor] = lengths
            feed.notes.append(f"fed {rule.describe()}: {_short(lengths)} (non-zero ids per row)")
        elif rule is None and _derive(p, feed):
            continue
        else:
            raise ParityInputError(f"{path}: no array for placeholder {p.tensor} ({p.dtype}, shape "
                                   f"{list(p.shape) if p.shape is not None else 'unknown'}); add it to the .npz "
                                   f"or declare it in [parity] feeds / --feed")
    for r in rules.values():
        if r.length_of and r.placeholder in feed.values and r.length_of in feed.values:
            feed.lengths[r.length_of] = np.asarray(feed.values[r.placeholder])
    feed_other_tensors(graph, rules, feed)
    return feed


def _derive(p: PlaceholderInfo, feed: Feed) -> bool:
    """A placeholder the user's batch leaves out whose value follows from that batch (a batch size, a step count,
    full lengths, a keep probability, a cond predicate); False when the graph says no such thing of it."""
    sizes = feed.sizes
    role = sizes.roles.get(p.name) if sizes is not None else None
    if role is None or role.kind not in DERIVED_ROLES or p.shape is None:
        return False
    shape = sizes.shape(p)
    if role.kind == "lengths":
        value = np.full(shape, sizes.length_bound(p.name), dtype=p.dtype)
    else:
        value = np.full(shape, {"batch_size": sizes.batch, "steps": sizes.steps, **ROLE_VALUES}[role.kind],
                        dtype=p.dtype)
    feed.values[p.tensor] = value
    feed.note(f"{p.tensor} = {_short(value)}: {role.describe()}, derived from the batch ({role.why[0]})",
              from_graph=True)
    return True


def _short(values: np.ndarray, n: int = 8) -> str:
    """`[5, 1, 4, ...]` (128 values): an array for a one-line note."""
    flat = np.asarray(values).reshape(-1).tolist()
    if np.ndim(values) == 0:
        return repr(np.asarray(values).item())
    return str(flat) if len(flat) <= n else f"[{', '.join(map(str, flat[:n]))}, ...] ({len(flat)} values)"


def _sizes_of(graph: TF1Graph, needed: list[PlaceholderInfo], arrays: dict[str, np.ndarray]) -> Sizes:
    """The batch size and time length of the user's arrays, read at the axes the graph gives each placeholder."""
    roles = analyse(graph.graph, [p.name for p in needed])
    batch, steps = None, None
    for name, a in arrays.items():
        role = roles.get(op_name(name))
        if role is not None and role.sequence and a.ndim > max(role.time_axis, role.batch_axis or 0):
            batch, steps = a.shape[role.batch_axis or 0], a.shape[role.time_axis]
            break
    batch = batch if batch is not None else next((a.shape[0] for a in arrays.values() if a.ndim), 1)
    steps = steps if steps is not None else next((a.shape[1] for a in arrays.values() if a.ndim >= 2), 1)
    return Sizes(batch=int(batch), steps=int(steps), roles=roles, placeholders={p.name: p for p in needed})


def on_a_batch_it_takes(run: Callable[[Feed], Any], feed: Feed, batch_of_one: Callable[[], Feed],
                        refused: type[Exception]) -> tuple[Any, Feed, Exception | None]:
    """`run(feed)` on a batch the TF1 graph takes -> (its result, the feed it ran on, None), or (the result on a
    batch of 1, that feed, the first refusal) when the graph refuses a generated batch of several rows (a graph
    exported for one example at a time fixes batch 1 with a `Reshape` to `[20]` or `[1, -1]`, where no placeholder
    says so) and takes `batch_of_one()`, a generated batch of 1: the caller says why. `refused`: the exception
    `run` raises when the graph refuses a feed. A graph refusing both, or the user's own batch refused, or a batch
    of 1 refused: the first refusal is raised."""
    try:
        return run(feed), feed, None
    except refused as first:
        if not feed.generated or feed.sizes is None or feed.sizes.batch == 1:
            raise
        one = batch_of_one()
        try:
            return run(one), one, first
        except refused:
            raise first from None


def rejected(graph: TF1Graph, error: Any, feed: Feed, *, example: list[str] | None = None,
             source: str | None = None) -> InputsRejected:
    """The error to raise when the TF1 graph itself refuses `feed` (`error`: a `tf1_graph.GraphRunError`): one
    message with TensorFlow's own error (kind, node, op type, text), what was fed, and the way out that fits: for
    generated inputs, `--inputs FEED.npz` with an example line naming this graph's placeholders and shapes; for the
    user's own (`source`, the .npz path), to fix that file. `example`: the tensors the example names (default:
    every generated value that is not a constant rule)."""
    where = f" at node {error.node}" + (f" ({error.op_type})" if error.op_type else "") if error.node else ""
    said = f"{error.kind}{where}: {error.text}"
    fed = "; ".join(_fed(k, v, feed) for k, v in list(feed.values.items())[:8])
    if source is not None:
        return InputsRejected(f"{graph.meta}: the TF1 graph rejects the inputs of {source}: {said}. Fed: {fed}. "
                              f"Fix the arrays in {source} (keys are placeholder names; shapes and values the "
                              f"graph accepts)", generated=False)
    sizes = feed.sizes
    made = "" if sizes is None else f"batch {sizes.batch}; " if not any(r.sequence for r in sizes.roles.values()) \
        else f"batch {sizes.batch}, {sizes.steps} time steps; "
    names = example if example is not None else list(feed.values)
    items = ", ".join(f"{k!r}: {_example_value(k, feed)}" for k in names if k in feed.values)
    return InputsRejected(
        f"{graph.meta}: the TF1 graph rejects the parity inputs generated for it: {said}. Generated from the "
        f"graph ({made}{fed}). Pass a batch of your own that the graph accepts: --inputs FEED.npz, e.g. "
        f"python -c \"import numpy as np; np.savez('feed.npz', **{{{items}}})\" with your data in those arrays "
        f"(keys are placeholder names; a scalar --feed NAME=VALUE fixes one value)", generated=True)


def _fed(name: str, value: Any, feed: Feed) -> str:
    a = np.asarray(value)
    text = f"{name} {a.dtype} {list(a.shape)}"
    if feed.time_major(name):
        text += " time-major"
    role = feed.sizes.roles.get(op_name(name)) if feed.sizes is not None else None
    if a.ndim == 0:
        text += f" = {a.item()!r}"
    elif a.dtype.kind in "iu" and a.size:
        text += f" in [{int(a.min())}, {int(a.max())}]"
    if role is not None and role.kind in ("ids", "lengths", "batch_size", "steps"):
        text += f" ({role.describe()})"
    return text


def _example_value(name: str, feed: Feed) -> str:
    a = np.asarray(feed.values[name])
    role = feed.sizes.roles.get(op_name(name)) if feed.sizes is not None else None
    if a.ndim == 0:
        return f"np.array({a.item()!r}, {a.dtype.name!r})"
    shape = "(" + ", ".join(str(d) for d in a.shape) + ("," if a.ndim == 1 else "") + ")"
    if role is not None and role.kind == "lengths" and a.size:
        return f"np.full({shape}, {int(a.max())}, {a.dtype.name!r})"
    return f"np.zeros({shape}, {a.dtype.name!r})"
