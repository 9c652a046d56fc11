"""A TF1 `.meta` graph and a user's Keras model as a parity pair: which input feeds which placeholder, which output
is which tensor, one feed for both, and one `OutputTensorCheck` per bound output.

```python
from migrate.parity.graph_pair import GraphPair

pair = GraphPair(TF1Graph(ckpt), KerasSide.load("model.keras"), ParitySpec.from_file("mapping.toml"))
pair.inputs     # {"ids": "encoder/ids:0"}          (declared, by name, or by elimination)
pair.outputs    # {"logits": "decoder/logits:0"}
feed = pair.feed(batch_size=4, time_steps=6, seed=0)           # or pair.feed(npz="batch.npz")
checks = pair.checks(feed)                                     # [OutputTensorCheck, ...]
```

Outputs are bound on the `.meta` read as data (`TF1Graph.proto`); then only what the bound outputs need is imported
and restored (`TF1Graph.focus`), and a bound output that reads a variable the checkpoint lacks is refused (exit 1)
before anything runs: no side ever computes with an unrestored random value.

Outputs of rank >= 2 whose first two axes are the id placeholder's `[B, T]` are compared at valid positions
only (`t < length`) when that placeholder has lengths: TF1's `dynamic_rnn` emits zeros past a sequence's
length, a Keras RNN does not. An output with a NaN or an Inf on either side fails (`nonfinite_problem`): equal
infinities compare as "no difference", which proves nothing. The notes say how every binding and feed was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from migrate.parity.checks import OutputTensorCheck
from migrate.parity.compare import ParityResult
from migrate.parity.errors import ParityInputError
from migrate.parity.graph_inputs import Feed, derivable, generate_feed, infer_rules, load_feed
from migrate.parity.graph_spec import ParitySpec, normalise
from migrate.parity.keras_side import KerasSide
from migrate.parity.tf1_graph import TF1Graph, op_name, tensor_name


def _match(name: str, candidates: list[str]) -> list[str]:
    """Candidates (op names) equal to `name` normalised, else those whose last part is."""
    want = normalise(name)
    exact = [c for c in candidates if normalise(c) == want]
    return exact or [c for c in candidates if normalise(c.rsplit("/", 1)[-1]) == want]


def likely_outputs(graph: TF1Graph) -> str:
    """The tensors `convert --from-graph` would make the model's outputs, each with the reason it prints
    (`migrate.graph.select.choose_outputs`, the converter's own selection: what the loss is computed from, the
    heads computed from them, the graph's other named results), for a message that asks which tensor a Keras
    output is."""
    from migrate.graph.select import choose_outputs  # noqa: PLC0415

    sel = choose_outputs(graph.proto)   # the .meta read as data: nothing is imported for a hint
    if not sel.outputs:
        return f"none found ({sel.why.split('; pass --outputs')[0]})"   # (--outputs: convert's option, not parity's)
    return (f"as `tf-migrate convert --from-graph` picks them ({sel.why}): "
            + "; ".join(f"{o} ({sel.reasons[o]})" if o in sel.reasons else o for o in sel.outputs))


def nonfinite_problem(expected: np.ndarray, actual: np.ndarray, mask: np.ndarray | None = None,
                      way_out: str = "feed inputs on which the model is finite (--inputs FEED.npz), or compare the "
                                     "tensors before the step that makes them non-finite") -> str | None:
    """A sentence when either side holds a NaN or an Inf among the compared positions, else None. Parity on
    non-finite values proves nothing (inf - inf is no difference; an all-inf model is broken or its feed is
    wrong), so such an output fails, equal positions or not."""
    sides = []
    for side, arr in (("the TF1 graph", np.asarray(expected)), ("the Keras model", np.asarray(actual))):
        if arr.dtype.kind not in "fc" or not arr.size:
            sides.append((side, 0, ""))
            continue
        m = np.ones(arr.shape, bool) if mask is None else _broadcast_mask(mask, arr.shape)
        nan, pos, neg = (np.isnan(arr) & m), (np.isposinf(arr) & m), (np.isneginf(arr) & m)
        kinds = [f"{int(x.sum())} {what}" for x, what in ((nan, "NaN"), (pos, "+inf"), (neg, "-inf")) if x.any()]
        sides.append((side, int(nan.sum() + pos.sum() + neg.sum()), ", ".join(kinds)))
    if not any(n for _, n, _ in sides):
        return None
    compared = int(np.asarray(expected).size if mask is None else
                   _broadcast_mask(mask, np.asarray(expected).shape).sum())
    said = "; ".join(f"{side}: {n} of {compared}" + (f" ({kinds})" if kinds else "") for side, n, kinds in sides)
    return (f"non-finite values ({said}): parity on non-finite values proves nothing (inf - inf is no difference "
            f"and NaN equals nothing), so this output fails; {way_out}")


def _broadcast_mask(mask, shape) -> np.ndarray:
    m = np.asarray(mask).astype(bool)
    if m.shape == tuple(shape):
        return m
    if m.ndim == 1 and shape and m.size == shape[0]:
        return np.broadcast_to(m.reshape((-1,) + (1,) * (len(shape) - 1)), shape)
    return np.broadcast_to(m.reshape(m.shape + (1,) * (len(shape) - m.ndim)), shape)


@dataclass
class GraphOutputCheck(OutputTensorCheck):
    """`OutputTensorCheck` that also fails on a NaN or an Inf on either side (`nonfinite_problem`)."""

    def compare(self) -> list[ParityResult]:
        results = super().compare()
        problem = nonfinite_problem(self.expected, self.actual, self.mask,
                                    way_out="feed inputs on which the model is finite (--inputs FEED.npz), or bind "
                                            "the tensors before the step that makes them non-finite ([parity] "
                                            "outputs in --mapping)")
        if problem:
            for r in results:
                r.ok = False
                r.problem = f"{self.subject}: {problem}"
        return results


class GraphPair:
    """Bind a `KerasSide` to a `TF1Graph` (see the module docstring).

    Args:
        graph: the TF1 side.
        keras: the Keras side.
        spec: the `[parity]` declarations (and `--feed`s).
    """

    def __init__(self, graph: TF1Graph, keras: KerasSide, spec: ParitySpec | None = None):
        self.graph, self.keras, self.spec = graph, keras, spec or ParitySpec()
        self.notes: list[str] = []
        # an export whose signature takes serialized tf.Example: Keras inputs bind to the parsed features, and the
        # graph is fed the examples serialized (migrate.parity.examples)
        self.parse = ((getattr(getattr(graph, "source", None), "signature", None) or {}).get("parse_example"))
        self.cut = {f["tensor"]: k for k, f in self.parse["features"].items() if f["kind"] == "dense"} \
            if self.parse else {}
        self._omitted: dict = {}
        self.outputs = self._bind_outputs()
        # import and restore what the bound outputs need, nothing else; refuse an output that reads a variable with
        # no value (exit 1, naming it) before either side runs
        graph.focus(list(self.outputs.values()), extra=[t for t, _ in self.spec.draws.values()],
                    fed=[k for k, r in self.spec.feeds.items() if r.length_of is None and graph.has_tensor(k)],
                    choose="bind the Keras outputs to tensors that do not read them ([parity] outputs in --mapping)")
        self.needed = graph.needed(list(self.outputs.values()))
        # what the graph makes of each placeholder: a batch size, a step count, lengths, a keep probability or a
        # cond predicate is derived from the rest of the batch, never bound to a Keras input nor asked for
        self.derived = derivable(graph, self.needed)
        self.inputs = self._bind_inputs()
        if any(t in self.cut for t in self.inputs.values()):   # the examples are made from the bound features
            self.needed = [p for p in self.needed if p.tensor != self.parse["tensor"]]
        self.rules = infer_rules(graph, self.needed, self.spec.feeds, skip=set(self.inputs.values()))
        unfed = [p for p in self.needed if p.tensor not in self.inputs.values() and p.tensor not in self.rules
                 and not p.has_default and p.tensor not in self.derived]
        if unfed:
            desc = ", ".join(f"{p.tensor} ({p.dtype}, shape {_shape(p.shape)})" for p in unfed)
            raise ParityInputError(
                f"{graph.meta}: placeholder(s) {desc} feed {', '.join(self.outputs.values())} but no Keras input "
                f"is bound to them and no feed is declared; bind them in the mapping's [parity] inputs = "
                f"{{keras_input = \"{unfed[0].tensor}\"}} or give a value: [parity] feeds = "
                f"{{\"{unfed[0].tensor}\" = 0.0}} (or --feed {op_name(unfed[0].tensor)}=VALUE)")

    # -- binding -----------------------------------------------------------------------------------

    def _bind_outputs(self) -> dict[str, str]:
        declared = dict(self.spec.outputs)
        unknown = sorted(set(declared) - set(self.keras.output_names))
        if unknown:
            raise ParityInputError(f"{self.spec.source}: outputs {', '.join(unknown)}: no such Keras output; the "
                                   f"model's outputs are {', '.join(self.keras.output_names)}")
        for name, t in declared.items():
            if not self.graph.has_tensor(t):
                raise ParityInputError(f"{self.graph.meta}: no tensor {t!r} in the graph ({self.spec.source} "
                                       f"binds the Keras output {name} to it)")
            self.notes.append(f"output {name} = {t} ({self.spec.source})")
        ops = self.graph.proto.names
        for name in self.keras.output_names:
            if name in declared:
                continue
            hits = _match(name, ops)
            if len(hits) == 1:
                declared[name] = tensor_name(hits[0])
                self.notes.append(f"output {name} = {declared[name]} (by name)")
        if not declared:
            raise ParityInputError(
                f"{self.graph.meta}: no graph tensor is named like the Keras output(s) "
                f"{', '.join(self.keras.output_names)}; declare which tensor each one is: [parity] outputs = "
                f"{{{self.keras.output_names[0]} = \"TENSOR:0\"}} in the mapping file (--mapping). Likely outputs, "
                f"{likely_outputs(self.graph)}")
        return declared

    def _bind_inputs(self) -> dict[str, str]:
        bound: dict[str, str] = {}
        keras_names = self.keras.input_names
        for k, t in self.spec.inputs.items():
            if k not in keras_names:
                raise ParityInputError(f"{self.spec.source}: inputs {k}: no such Keras input; the model's inputs "
                                       f"are {', '.join(keras_names)}")
            if t not in self.cut:
                self.graph.placeholder(t)
            bound[k] = t
            self.notes.append(f"input {k} -> {t} ({self.spec.source})")
        free = [p for p in self.needed if p.tensor not in bound.values() and p.tensor not in self.spec.feeds]
        names = [p.name for p in free]
        features = {key: t for t, key in self.cut.items()}
        for k in keras_names:
            if k in bound:
                continue
            if k in features:   # a parsed tf.Example feature, named after its key
                bound[k] = features[k]
                self.notes.append(f"input {k} -> {features[k]} (the parsed tf.Example feature {k!r})")
                continue
            hits = _match(k, names)
            if len(hits) == 1:
                bound[k] = tensor_name(hits[0])
                names.remove(hits[0])
                self.notes.append(f"input {k} -> {bound[k]} (by name)")
        left_k = [k for k in keras_names if k not in bound]
        left_p = [p for p in free if p.name in names and not p.has_default and not _derived(p.name)
                  and p.tensor not in self.derived]
        if len(left_k) == 1 and len(left_p) == 1:
            bound[left_k[0]] = left_p[0].tensor
            self.notes.append(f"input {left_k[0]} -> {left_p[0].tensor} (the only Keras input and placeholder left)")
        elif left_k:
            cands = left_p or [p for p in free if p.name in names]
            desc = ", ".join(f"{p.tensor} ({p.dtype}, shape {_shape(p.shape)})" for p in cands) or "none"
            first = cands[0].tensor if cands else "PLACEHOLDER:0"
            raise ParityInputError(
                f"Keras input(s) {', '.join(left_k)} match no placeholder by name, and the placeholders the outputs "
                f"need are {desc}; bind each Keras input in the mapping: [parity] inputs = {{{left_k[0]} = "
                f"\"{first}\"}}, and give the others a value: feeds = {{\"{cands[-1].tensor if cands else 'NAME:0'}\" "
                f"= 0.0}} (or --feed NAME=VALUE)")
        return bound

    # -- feeding -----------------------------------------------------------------------------------

    def feed(self, *, npz: str | None = None, batch_size: int = 4, time_steps: int = 6, seed: int = 0) -> Feed:
        """One feed for both sides: the user's `.npz`, or generated (`graph_inputs.generate_feed`)."""
        parsed = [t for t in self.inputs.values() if t in self.cut]
        if npz is not None:
            if parsed:
                raise ParityInputError(f"--inputs {npz}: the Keras inputs {', '.join(self.cut[t] for t in parsed)} "
                                       f"are parsed tf.Example features; the parity batch is generated from the "
                                       f"parse spec and serialized for the graph, so leave --inputs out")
            return load_feed(npz, self.graph, self.needed, self.rules)
        hints = {}
        for k, t in self.inputs.items():
            shape = self.keras.input_shapes.get(k)
            if shape is not None:
                hints[t] = tuple(shape)
        if parsed:
            from migrate.parity.examples import example_feed  # noqa: PLC0415

            feed, self._omitted = example_feed(self.graph, parsed, self.parse, self.cut, seed, batch=batch_size)
            if self.needed:
                more = generate_feed(self.graph, self.needed, self.rules, shapes=hints, batch_size=batch_size,
                                     time_steps=time_steps, seed=seed, always=set(self.inputs.values()) - set(parsed))
                feed.values.update(more.values)
                feed.notes.extend(more.notes)
            return feed
        return generate_feed(self.graph, self.needed, self.rules, shapes=hints, batch_size=batch_size,
                             time_steps=time_steps, seed=seed, always=set(self.inputs.values()))

    def _graph_feed(self, feed: Feed) -> dict:
        """What the graph is fed: the parsed features serialized into tf.Example protos, the rest as is."""
        if not self.cut or not any(t in self.cut for t in feed.values):
            return feed.values
        from migrate.parity.examples import reference_feed  # noqa: PLC0415

        return reference_feed(self.parse, self.cut, feed.values, self._omitted)

    def checks(self, feed: Feed, rtol: float | None = None, atol: float | None = None) -> list[OutputTensorCheck]:
        """Run both sides on `feed`; one `OutputTensorCheck` per bound output."""
        missing = [t for t in self.inputs.values() if t not in feed.values]
        if missing:
            raise ParityInputError(f"no value for {', '.join(missing)} (bound to a Keras input); add it to "
                                   f"the --inputs .npz")
        names = list(self.outputs)
        draws = self.spec.draws
        if draws:   # sampling layers: the graph's ids of this same run are fed to them (convert_report.json)
            got = self.graph.run([self.outputs[n] for n in names] + [t for t, _ in draws.values()],
                                 self._graph_feed(feed))
            graph_out = got[:len(names)]
            self._give_draws({layer: (v.T if tm else v) for (layer, (_, tm)), v in zip(draws.items(),
                                                                                        got[len(names):])})
        else:
            graph_out = self._run_graph(names, feed)       # the graph first: it says whether the inputs fit it
            self._refuse_randomness(names, graph_out, feed)
        try:
            keras_out = self._run_keras(feed)
        finally:
            if draws:
                self._give_draws({})
        checks = []
        for name, want in zip(names, graph_out):
            have = keras_out[name]
            mask, notes = self._mask(want, feed)
            if have.shape != want.shape and have.size == want.size and have.shape[-1:] == want.shape[-1:]:
                have, order = _flatten_like(have, want)
                if mask is not None and mask.ndim == 2 and want.shape[0] == mask.size:
                    mask = (mask.T if order == "time-major" else mask).reshape(-1)
                notes.append(f"The Keras output {name} {list(have.shape[:0]) or list(keras_out[name].shape)} is "
                             f"compared in the graph's shape {list(want.shape)}: the graph flattens batch and "
                             f"time {order} (rows {'t * B + b' if order == 'time-major' else 'b * T + t'}).")
            checks.append(GraphOutputCheck(subject=f"{name} <- {self.outputs[name]}", expected=want,
                                            actual=have, mask=mask, rtol=rtol, atol=atol, notes=notes,
                                            logits=want.dtype.kind == "f" and want.ndim >= 2 and want.shape[-1] > 1))
        return checks

    def _give_draws(self, ids: dict) -> None:
        """The Keras model's sampling layers take `ids` (`tfm.given_draws`; `{}`: they draw again)."""
        model = getattr(self.keras, "model", None)
        if model is None or not hasattr(model, "layers"):
            raise ParityInputError(f"{self.keras.source}: its sampling layers ({', '.join(self.spec.draws)}) draw "
                                   f"random ids, which parity feeds from the graph in this process only: run parity "
                                   f"on the TensorFlow backend (--backend tf)")
        from tf_migrate_runtime.layers.sampling import given_draws  # noqa: PLC0415

        given_draws(model, ids)
        if ids and not any("tfm.given_draws" in n for n in self.notes):
            self.notes.append(f"The graph samples ids at random; the Keras layers {', '.join(ids)} are given the "
                              f"ids of the same graph run (tfm.given_draws), so their sample ids equal the graph's "
                              f"by construction; what is compared is what those draws determine (logits, states).")

    def _run_graph(self, names: list[str], feed: Feed) -> list[np.ndarray]:
        """The bound tensors on `feed`; when TensorFlow refuses the inputs, one message with its own error (op,
        node, text) and the way out (`graph_inputs.rejected`: --inputs FEED.npz with an example, or fix it)."""
        from migrate.parity.graph_inputs import rejected  # noqa: PLC0415
        from migrate.parity.tf1_graph import GraphRunError  # noqa: PLC0415

        try:
            return self.graph.run([self.outputs[n] for n in names], self._graph_feed(feed))
        except GraphRunError as e:
            if feed.generated:
                raise rejected(self.graph, e, feed, example=[t for t in feed.values if t not in self.rules
                                                             or self.rules[t].length_of]) from None
            raise rejected(self.graph, e, feed, source=feed.source or "--inputs") from None

    def _run_keras(self, feed: Feed) -> dict[str, np.ndarray]:
        """The Keras model's outputs on the bound inputs; a model that fails on inputs the TF1 graph ran is a
        parity failure (exit 1) with TensorFlow's own error, never its bare "Graph execution error:"."""
        import tensorflow as tf  # noqa: PLC0415

        from migrate.errors import MismatchError  # noqa: PLC0415
        from migrate.parity.tf1_graph import describe_op_error  # noqa: PLC0415

        try:
            return self.keras.run({k: feed.values[t] for k, t in self.inputs.items()})
        except tf.errors.OpError as e:
            why = describe_op_error(e)
        except (ValueError, TypeError) as e:
            why = f"{type(e).__name__}: {' '.join(str(e).split())[:600]}"
        shapes = ", ".join(f"{k} {list(np.shape(feed.values[t]))}" for k, t in self.inputs.items())
        raise MismatchError(f"{self.keras.source}: the Keras model fails on inputs the TF1 graph runs ({shapes}): "
                            f"{why}")

    def _refuse_randomness(self, names: list[str], first: list[np.ndarray], feed: Feed) -> None:
        """Run the graph a second time on the same feed: a graph whose outputs change (dropout baked in with a
        constant keep probability, sampling) cannot be compared; say which random ops and what to feed."""
        again = self.graph.run([self.outputs[n] for n in names], self._graph_feed(feed))
        differ = [(n, a, b) for n, a, b in zip(names, first, again) if not _same(a, b)]
        if not differ:
            return
        name, a, b = differ[0]
        random_ops, keep = random_sources(self.graph, [self.outputs[n] for n, _, _ in differ])
        off = getattr(self.graph, "dropouts_off", frozenset())
        random_ops = [r for r in random_ops if r not in off] or random_ops   # the ones still random first
        user_set = getattr(self.graph, "dropouts_user_set", {})
        keep = [k for k in keep if k not in self.graph.overridden]
        mine = [user_set[r] for r in random_ops if r in user_set]
        if mine:
            hint = (" " + "; ".join(f"{k}:0 is a dropout's, set with --feed: at inference it is {v:g}" for k, v in
                                    mine[:3]) + " (without that --feed parity sets it so).")
        else:
            hint = (f" Feed that keep probability 1.0: {', '.join(f'--feed {k}=1.0' for k in keep[:3])} (or in "
                    f"the mapping: [parity] feeds = {{\"{keep[0]}\" = 1.0}})." if keep else "")
        diff = float(np.nanmax(np.abs(a.astype(np.float64) - b))) if a.dtype.kind == "f" else "ids differ"
        raise ParityInputError(
            f"{self.graph.meta}: {self.outputs[name]} differs between two runs on the same inputs (max "
            f"{diff if isinstance(diff, str) else f'{diff:.2g}'}): the graph samples random numbers "
            f"({', '.join(random_ops[:3]) or 'a random op'}), e.g. dropout built with a constant keep "
            f"probability.{hint}")

    def _mask(self, want: np.ndarray, feed: Feed) -> tuple[np.ndarray | None, list[str]]:
        if len(feed.lengths) != 1 or want.ndim < 1:
            return None, []
        (ids, lengths), = feed.lengths.items()
        time_major = feed.time_major(ids)
        steps = feed.values[ids].shape[0 if time_major else 1]
        valid = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]    # [B, T]
        if want.shape[:2] == (valid.T.shape if time_major else valid.shape):   # a time-major graph's [T, B, ...]
            return (valid.T if time_major else valid), []
        if want.shape[0] == valid.size:  # [B * T, ...]: flattened; `checks` picks the order
            return valid, []
        return None, []


RANDOM_OPS = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt", "Multinomial",
              "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "StatelessRandomUniformV2")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def random_sources(graph: TF1Graph, fetches: list[str]) -> tuple[list[str], list[str]]:
    """The random ops the fetches depend on, and the float scalar constants / placeholders that feed their
    `dropout` scopes (the keep probabilities a user can feed 1.0)."""
    seen: set[str] = set()
    stack = [graph.tensor(f).op for f in fetches]
    random_ops = []
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.type in RANDOM_OPS:
            random_ops.append(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    keep: list[str] = []
    for name in random_ops:
        scope = name.split("/random_uniform", 1)[0] + "/"
        for op in graph.graph.get_operations():
            if not op.name.startswith(scope):
                continue
            for t in op.inputs:
                src = t
                while src.op.type in ("Enter", "Identity") and src.op.inputs:
                    src = src.op.inputs[0]
                if (src.op.type in ("Const", "Placeholder", "PlaceholderWithDefault") and src.dtype.is_floating
                        and src.shape.rank == 0 and src.name not in keep
                        and not src.op.name.startswith(scope + "random_uniform")):
                    keep.append(src.name)
    return sorted(random_ops), keep


def _flatten_like(have: np.ndarray, want: np.ndarray) -> tuple[np.ndarray, str]:
    """A Keras `[B, T, ...]` output in the graph's flattened shape `[B * T, ...]`: batch-major (`reshape`) or
    time-major (`tf.concat(outputs, axis=1)` then reshape, common in TF1 code), whichever is closer."""
    options = [(have.reshape(want.shape), "batch-major")]
    if have.ndim >= 3:
        options.append((np.swapaxes(have, 0, 1).reshape(want.shape), "time-major"))
    with np.errstate(invalid="ignore"):
        return min(options, key=lambda o: float(np.nan_to_num(np.abs(o[0].astype(np.float64) - want), nan=np.inf)
                                                .max()) if want.size else 0.0)


def _derived(name: str) -> bool:
    """Placeholders that are fed by rule, never bound by elimination (keep_prob, is_training, lengths)."""
    import re  # noqa: PLC0415

    from migrate.parity.graph_spec import LENGTH_NAME, NAMED_FEEDS  # noqa: PLC0415

    norm = normalise(name)
    return bool(LENGTH_NAME.search(norm)) or any(re.search(p, norm) for p, _, _ in NAMED_FEEDS)


def _shape(shape) -> str:
    return "unknown" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
