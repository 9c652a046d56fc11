"""The codemod's rules, ruff-style: a code, a name, what it does and why. `docs/codemod.md` has the
before/after examples; `--select` / `--ignore` take codes or names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("TFM001", "rename", "TF 1.x names -> the native TF 2 name when the behaviour is the same "
                             "(tf.log -> tf.math.log), else tf.compat.v1 (tf.placeholder, tf.Session, "
                             "tf.layers.*, tf.summary.*); references with no successor are findings"),
    Rule("TFM002", "arguments", "argument changes: keep_dims -> keepdims, dim / reduction_indices -> axis, "
                                "keep_prob -> rate=1 - keep_prob, tf.to_float(x) -> tf.cast(x, tf.float32), "
                                "positional arguments whose order changed -> keywords"),
    Rule("TFM003", "contrib", "tf.contrib: slim -> tf_slim, layers -> tf_slim.layers, rnn -> "
                              "tf.compat.v1.nn.rnn_cell, seq2seq (sequence_loss, attention, greedy "
                              "decoding) -> legacy_tf1.contrib_seq2seq; the rest are findings"),
    Rule("TFM004", "imports", "import statements follow: `import tensorflow.contrib.slim as slim` -> "
                              "`import tf_slim as slim`; imports the new code needs are added and TF 1 "
                              "imports left unused are removed"),
    Rule("TFM005", "notices", "findings, no edits: the result needs legacy Keras (tf.compat.v1.layers, "
                              "rnn_cell) or graph mode (a script built around Session / placeholders)"),
)}


def select_rules(select: str | list[str] | None = None, ignore: str | list[str] | None = None) -> frozenset[str]:
    """Codes of the rules to run: `select` (default all) minus `ignore`; codes or names, comma-separated."""
    def parse(spec) -> set[str]:
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        out = set()
        by_name = {r.name: r.code for r in RULES.values()}
        for item in (i.strip() for i in items):
            if not item:
                continue
            code = by_name.get(item.lower(), item.upper())
            if code not in RULES:
                known = ", ".join(f"{r.code} ({r.name})" for r in RULES.values())
                raise ValueError(f"unknown rule {item!r}; known rules: {known}")
            out.add(code)
        return out

    chosen = parse(select) if select else set(RULES)
    return frozenset(chosen - (parse(ignore) if ignore else set()))
