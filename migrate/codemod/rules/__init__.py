"""The codemod's rules, ruff-style: one file per rule, each with its code, name, summary, why and a
before/after example; registering a rule is one line in `_MODULES` below.

`docs/codemod.md` and `tf-migrate codemod --list-rules` are generated from these objects
(`python -m migrate.codemod.docs` rewrites the page, `--check` says when it is stale; a test checks it).
`--select` / `--ignore` take codes or names.

A rule module defines `RULE = Rule(...)` (`ruleset.py`) and its hooks; the shared engine (`transform.py`:
name resolution, pruning, imports, alignment) only walks the file and calls them. The engine imports no
rule and not this registry: its caller (the run loop, `migrate.codemod.transform_source`) builds the
`RuleSet` to apply (`rule_set`, `select_rules`) and hands it over. Rules may import the engine and the
tables. Adding a rule is one file (plus its line in `_MODULES` and its fixtures). The hooks, each optional:

* `leave_reference(codemod, original, updated, root, parts)`: every reference to a TF binding
  (`tf.log`, `rnn.LSTMCell`); returns the expression to write. Called whatever the selection, since the
  tables decide which rule owns each name (TFM001 rename, TFM003 contrib); only one rule may set it.
* `note_reference(codemod, node, final)` / `note_call(codemod, original, name)`: observations (the name
  written for a reference; every call of a TF name), called whatever the selection, for the state
  (`codemod.state[code]`, made by `new_state()`) that a rule's module-end hook reads.
* `leave_call(codemod, original, updated, name)`: every call whose callee is a TF name (`name`,
  canonical TF 1 spelling) or, when the rule lists `words`, any call of a method or function of that
  name (`ds.make_one_shot_iterator()`, `hasattr(...)`; `name` None).
* `leave_attribute(codemod, original, updated)`: attributes named in `words`; returns None, or the
  expression to write instead (`tf.compat.v1.data.get_output_shapes(ds)`).
* `leave_import(codemod, original, updated)` / `leave_import_from(...)`: import statements.
* `leave_class(codemod, original, updated)`: every class definition (after its body); returns the class
  to write (TFM010 adds a decorator).
* `leave_module(codemod, original)`: at the end of the module (findings, `codemod.setup`).
Only the selected rules' rewriting hooks run (`leave_call` ... `leave_module`, `leave_class`).
"""

from __future__ import annotations

import importlib

from migrate.codemod.ruleset import Rule, RuleSet

__all__ = ["RULES", "Rule", "RuleSet", "default_rules", "docs_markdown", "list_rules", "rule_set", "select_rules"]


# One line per rule, in code order.
_MODULES = (
    "tfm001_rename",
    "tfm002_arguments",
    "tfm003_contrib",
    "tfm004_imports",
    "tfm005_notices",
    "tfm006_dataset",
    "tfm007_graph_mode",
    "tfm008_meaning",
    "tfm009_feature_tests",
    "tfm010_graph_tests",
    "tfm011_dimension",
)

RULES: dict[str, Rule] = {}
for _name in _MODULES:
    _rule = importlib.import_module(f"{__name__}.{_name}").RULE
    RULES[_rule.code] = _rule


def default_rules() -> frozenset[str]:
    return frozenset(code for code, r in RULES.items() if r.default)


def select_rules(select: str | list[str] | None = None, ignore: str | list[str] | None = None,
                 extend: str | list[str] | None = None) -> frozenset[str]:
    """Codes of the rules to run: `select` (default: the default rules) plus `extend`, minus `ignore`.

    Codes or names, comma-separated or a list.
    """
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

    chosen = parse(select) if select else set(default_rules())
    if extend:
        chosen |= parse(extend)
    return frozenset(chosen - (parse(ignore) if ignore else set()))


def rule_set(codes: RuleSet | frozenset[str] | set[str] | None = None) -> RuleSet:
    """The `RuleSet` the engine applies: the rules with these codes (default: the default rules)."""
    if isinstance(codes, RuleSet):
        return codes
    return RuleSet(RULES, default_rules() if codes is None else codes)


def list_rules() -> str:
    """`tf-migrate codemod --list-rules`: one line per rule."""
    lines = []
    for r in RULES.values():
        opt = "" if r.default else "  (opt-in)"
        lines.append(f"{r.code}  {r.name:<11} {r.summary}{opt}")
    return "\n".join(lines) + "\n"


def docs_markdown() -> str:
    """The rules section of `docs/codemod.md` (generated; see `migrate/codemod/docs.py`)."""
    out = []
    for r in RULES.values():
        out.append(f"### {r.code} `{r.name}`{'' if r.default else ' (opt-in)'}\n")
        out.append(f"**What it does.** {r.summary}\n")
        if r.why:
            out.append(f"**Why.** {r.why}\n")
        if r.cases:
            out.append("| where | what it does |\n|-------|--------------|\n"
                       + "".join(f"| {where} | {what} |\n" for where, what in r.cases))
        if r.before:
            out.append("**Example**\n\n```python\n" + r.before.rstrip("\n") + "\n```\n")
        if r.after:
            out.append("**Becomes**\n\n```python\n" + r.after.rstrip("\n") + "\n```\n")
        out.append(f"Fixtures: `tests/codemod_fixtures/{r.code}_*.before.py.txt`.\n")
    return "\n".join(out)
