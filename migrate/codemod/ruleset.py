"""What the engine knows of the rules: `Rule` (one rule: its doc and its hooks) and `RuleSet` (the rules
one run applies). The engine (`engine.py`, `transform.py`) imports no rule and not the registry: the
caller (the run loop, `migrate.codemod.transform_source`) builds a `RuleSet` from the registry
(`migrate/codemod/rules/__init__.py`, `rule_set`) and hands it over. Rules depend on the engine and the
tables, never the reverse (`tests/test_codemod_layout.py` checks the imports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """One codemod rule.

    Attributes:
        code: `TFMnnn`, stable (used in `--select`, findings and `# noqa`-style filters).
        name: a short lowercase name (`--select rename` works too).
        summary: one line: what it does.
        why: a paragraph: why the change is right (ruff's "Why is this bad?").
        before / after: an example, as source text.
        default: applied unless deselected (opt-in rules, like TFM007 `graph-mode`, are False).
        leave_call ... leave_class: optional hooks (see the module docstring).
        new_state: optional factory of the rule's per-file state (`codemod.state[code]`).
        words: attribute names the hooks need to see even in statements that mention no TF name.
        cases: (situation, what the rule does there) pairs, for a rule whose effect depends on the file
            (listed in docs/codemod.md, each with its fixture).
        text_reference: the text path's form of `leave_reference` (`textpath.py`): for a reference
            `(view, root, parts)` the rule can decide without libcst, `textpath.TextRef` (the name written,
            or None: unchanged); `textpath.NOT_TEXT` where only the libcst pass can tell.
        text_call: for a rule with `leave_call`, what its hook does to a call of a TF name on the text
            path (`(view, textpath.CallShape) -> True | False | textpath.TextCall`): True leaves it
            unchanged and notes nothing, a `TextCall` is the same rewrite as text edits, False leaves the
            statement to the libcst pass; without it, every call of a TF name is left to libcst.
    """

    code: str
    name: str
    summary: str
    why: str = ""
    before: str = ""
    after: str = ""
    default: bool = True
    leave_call: Callable | None = field(default=None, compare=False)
    leave_attribute: Callable | None = field(default=None, compare=False)
    leave_reference: Callable | None = field(default=None, compare=False)
    note_reference: Callable | None = field(default=None, compare=False)
    note_call: Callable | None = field(default=None, compare=False)
    leave_import: Callable | None = field(default=None, compare=False)
    leave_import_from: Callable | None = field(default=None, compare=False)
    leave_module: Callable | None = field(default=None, compare=False)
    leave_class: Callable | None = field(default=None, compare=False)
    new_state: Callable | None = field(default=None, compare=False)
    words: frozenset[str] = frozenset()
    cases: tuple[tuple[str, str], ...] = ()
    text_reference: Callable | None = field(default=None, compare=False)
    text_call: Callable | None = field(default=None, compare=False)


class RuleSet:
    """The rules one run applies.

    The observation hooks (`leave_reference`, `note_reference`, `note_call`) and the per-file states of
    every known rule run whatever the selection (the tables decide which rule owns a name); the
    rewriting hooks (`leave_call` ... `leave_module`) of the selected rules only. `code in rule_set`
    tests the selection.

    Args:
        known: every rule, by code (the registry's `RULES`).
        selected: the codes to apply.
        project: what the run learnt about the project before rewriting any file (`project.py`): its
            top-level modules and packages that are graph-mode TF 1 code, each with where it shows
            (`{"tflearn": "tflearn/helpers/trainer.py:120 Session"}`); empty for a lone source text.
    """

    def __init__(self, known: Mapping[str, Rule], selected: Iterable[str], project: Mapping[str, str] | None = None):
        self.known = dict(sorted(known.items()))
        self.codes = frozenset(selected)
        self.project = dict(project or {})
        unknown = sorted(self.codes - self.known.keys())
        if unknown:
            raise ValueError(f"unknown rule {unknown[0]!r}")
        self.words = frozenset().union(*(self.known[c].words for c in self.codes))
        self._hooks: dict[tuple[str, bool], list[tuple[str, Callable]]] = {}

    def hooks(self, kind: str, selected: bool = True) -> list[tuple[str, Callable]]:
        """(code, hook) of every selected rule (or, with selected=False, every rule) that sets hook `kind`,
        in code order."""
        key = (kind, selected)
        found = self._hooks.get(key)
        if found is None:
            found = self._hooks[key] = [(c, getattr(r, kind)) for c, r in self.known.items()
                                        if getattr(r, kind) is not None and (not selected or c in self.codes)]
        return found

    def new_states(self) -> dict[str, object]:
        """A fresh per-file state for every rule that keeps one (`codemod.state[code]`)."""
        return {code: r.new_state() for code, r in self.known.items() if r.new_state is not None}

    def with_project(self, project: Mapping[str, str]) -> RuleSet:
        """The same selection, with the run's facts about the project (`project` above)."""
        return RuleSet(self.known, self.codes, project)

    def rule(self, code: str) -> Rule:
        return self.known[code]

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.codes))

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        return f"RuleSet({sorted(self.codes)})"
