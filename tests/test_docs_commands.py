"""Every command in README.md and docs/*.md is one the CLI accepts, and the runnable ones run as written.

Extracted (`doc_commands`): the lines of ```sh blocks, `$ ...` lines in any fenced block (a trailing `\\` joins the
next line; `$ echo $?` and the number after it is the exit code the docs show), `run:` steps of YAML blocks, and,
as usage lines, `tf-migrate ...` lines of other blocks and inline `` `tf-migrate ...` `` spans; inline
`` `pip install ...` `` spans too.

- Every `tf-migrate` command is parsed by the real parser (`migrate.cli.build_parser`): parse_args must succeed.
- Every usage line names an existing subcommand, and each of its flags exists on that subcommand.
- `make TARGET` names a Makefile target; `pip install` of tf-migrate names where it comes from (a path, a wheel
  or a URL: tf-migrate is not on an index).
- The commands listed in `RUN` run, literally, in a scratch folder laid out as the docs assume (`LAYOUT`: a small
  legacy checkpoint at `path/to/ckpt_dir`, ../shared/fixtures beside it, a TF 1.x file in `src/`), in this
  process through `migrate.cli.main` (what the `tf-migrate` script calls), with the exit code the docs show.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import shutil
from dataclasses import dataclass

import pytest

from migrate.cli import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                              if f.endswith(".md"))
SHARED_FIXTURES = os.path.abspath(os.path.join(ROOT, "..", "shared", "fixtures"))
SHELL_FENCES = ("sh", "bash", "shell", "console")
# TensorFlow's start-up lines: none may reach the user without -v (tests/test_cli_hygiene.py has the same list).
TF_MARKERS = ("oneDNN custom operations", "cpu_feature_guard", "TF-TRT", "Unable to register cuDNN",
              "absl::InitializeLog", "E0000", "I0000", "W0000", "This TensorFlow binary is optimized")


@dataclass(frozen=True)
class DocCommand:
    where: str              # "README.md:119"
    text: str               # as written (continuations joined, comment removed)
    usage: bool             # a usage line (`[--json]`, `...`, placeholders): subcommand and flags checked
    expect: int | None = None   # the exit code the docs show after it (`$ echo $?`)


# -- extraction ---------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```(\S*)")
_INLINE = re.compile(r"`((?:tf-migrate|pip install) [^`]+)`")


def _strip_comment(text: str) -> str:
    """The command without its shell comment (an unquoted `#` at the start of a word)."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].strip()
    return text.strip()


def _joined(lines: list[str], i: int) -> tuple[str, int]:
    """Line i with its `\\` continuations; returns (text, index of the last line used)."""
    text = lines[i]
    while text.rstrip().endswith("\\") and i + 1 < len(lines):
        i += 1
        text = text.rstrip()[:-1].rstrip() + " " + lines[i].strip()
    return text, i


def extract(path: str, text: str) -> list[DocCommand]:
    out: list[DocCommand] = []
    lines = text.splitlines()
    fence = None
    i = 0
    prose: list[tuple[int, str]] = []
    while i < len(lines):
        line = lines[i]
        m = _FENCE.match(line)
        if m:
            fence = None if fence is not None else m.group(1).lower()
            i += 1
            continue
        if fence is None:
            prose.append((i + 1, line))
            i += 1
            continue
        stripped = line.strip()
        where = f"{path}:{i + 1}"
        if stripped.startswith("$ "):
            cmd, i = _joined(lines, i)
            cmd = _strip_comment(cmd.strip()[2:])
            if cmd == "echo $?":
                code = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if out and code.isdigit():
                    prev = out[-1]
                    out[-1] = DocCommand(prev.where, prev.text, prev.usage, int(code))
            elif cmd:
                out.append(DocCommand(where, cmd, False))
        elif fence in SHELL_FENCES and stripped and not stripped.startswith("#"):
            cmd, i = _joined(lines, i)
            out.append(DocCommand(where, _strip_comment(cmd), False))
        elif fence == "yaml" and re.match(r"^-?\s*run:\s", stripped.lstrip("- ")):
            out.append(DocCommand(where, stripped.lstrip("- ").split(":", 1)[1].strip(), False))
        elif stripped.startswith("tf-migrate ") and not re.match(r"^tf-migrate \S+: ", stripped):
            cmd = _strip_comment(stripped)          # a usage line (its output lines, `tf-migrate X: error:`, skipped)
            while i + 1 < len(lines) and re.match(r"^\s+\[", lines[i + 1]):
                i += 1
                cmd += " " + _strip_comment(lines[i].strip())
            out.append(DocCommand(where, cmd, True))
        i += 1
    joined = "\n".join(line for _, line in prose)
    starts = {}
    offset = 0
    for n, line in prose:
        starts[offset] = n
        offset += len(line) + 1
    offsets = sorted(starts)
    for m in _INLINE.finditer(joined):
        n = starts[max(o for o in offsets if o <= m.start())]
        text = " ".join(m.group(1).split())
        out.append(DocCommand(f"{path}:{n}", text, not text.startswith("pip ")))   # a pip span is a command
    return out


def doc_commands() -> list[DocCommand]:
    found = []
    for rel in DOCS:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            found.extend(extract(rel, f.read()))
    return found


# -- checks against the real parser ------------------------------------------------------------------------

def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:   # argparse has no public accessor for a parser's subcommands
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def parse_errors(argv: list[str]) -> str | None:
    """None when `tf-migrate ARGV` parses; else what argparse says."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as e:
        return None if e.code == 0 else err.getvalue().strip().splitlines()[-1]
    return None


def usage_errors(argv: list[str]) -> list[str]:
    """What is wrong with a usage line `tf-migrate ARGV`: an unknown subcommand, a flag the subcommand lacks."""
    parser = build_parser()
    words = [w for w in argv if w not in ("|", "...")]
    problems: list[str] = []
    chain = ["tf-migrate"]
    flags: list[str] = []
    k = 0
    while k < len(words) and words[k].startswith("-"):     # options of tf-migrate itself (-v)
        flags.append(words[k])
        k += 1
    sub = _subparsers(parser)
    for w in words[k:]:
        if w.startswith("-"):
            flags.append(w)
        elif sub and w in sub:
            for f in flags:
                if f.split("=")[0] not in _options(parser):
                    problems.append(f"{' '.join(chain)}: no option {f}")
            flags, chain, parser = [], chain + [w], sub[w]
            sub = _subparsers(parser)
        elif sub:
            problems.append(f"{' '.join(chain)}: no subcommand {w!r} (has {', '.join(sorted(sub))})")
            break
    for f in flags:
        if f.split("=")[0] not in _options(parser):
            problems.append(f"{' '.join(chain)}: no option {f}")
    return problems


def _words(text: str) -> list[str]:
    """A usage line as words: brackets and `...` dropped, `[--a | --b]` -> --a --b."""
    text = re.sub(r"[\[\]]", " ", text)
    return [w.rstrip(".") if w.endswith("...") and w != "..." else w for w in shlex.split(text, posix=True)]


def _segments(text: str) -> list[list[str]]:
    """`a && b | c` -> [[a], [b], [c]] (words of each simple command)."""
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    out, cur = [], []
    for tok in lex:
        if tok in ("&&", "||", ";", "|"):
            out.append(cur)
            cur = []
        else:
            cur.append(tok)
    return [s for s in out + [cur] if s]


def _make_targets() -> set[str]:
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        return {m.group(1) for line in f for m in [re.match(r"^([A-Za-z_][\w.-]*)\s*:", line)] if m}


def command_errors(cmd: DocCommand) -> list[str]:
    """What is wrong with one documented command (empty: fine)."""
    if cmd.usage:
        words = _words(cmd.text)
        return usage_errors(words[1:]) if words and words[0] == "tf-migrate" else []
    problems = []
    for words in _segments(cmd.text):
        if words[0] == "tf-migrate":
            if any(re.search(r"[<>]|\.\.\.", w) for w in words) or "[" in cmd.text:
                problems += usage_errors(_words(cmd.text)[1:])
            else:
                err = parse_errors(words[1:])
                if err:
                    problems.append(f"does not parse: {err}")
        elif words[0] == "make":
            missing = [t for t in words[1:] if "=" not in t and t not in _make_targets()]
            problems += [f"no Makefile target {t!r}" for t in missing]
        elif words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
            for req in words[words.index("install") + 1:]:
                name = re.split(r"[\[<>=@ ]", req, maxsplit=1)[0].lower().replace("_", "-")
                if name == "tf-migrate" and "@" not in req:
                    problems.append(f"{req!r}: tf-migrate is not on a package index; install from a checkout "
                                    f"('.[backends]'), a wheel or 'tf-migrate @ git+https://...'")
    return problems


def epilog_commands() -> list[DocCommand]:
    """The examples of every `--help` (each parser's epilog, nested ones included)."""
    def parsers(parser, chain):
        yield chain, parser
        for name, sub in _subparsers(parser).items():
            yield from parsers(sub, f"{chain} {name}")
    out: dict[str, DocCommand] = {}
    for chain, parser in parsers(build_parser(), "tf-migrate"):
        lines = (parser.epilog or "").splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip().startswith("tf-migrate "):
                text, i = _joined(lines, i)
                text = _strip_comment(text.strip())
                out.setdefault(text, DocCommand(f"{chain} --help", text, False))
            i += 1
    return list(out.values())


COMMANDS = doc_commands()
EXAMPLES = epilog_commands()


def test_the_docs_hold_the_commands_this_test_checks():
    """The extraction sees the README's jobs (a guard against a regex that silently finds nothing)."""
    texts = [c.text for c in COMMANDS]
    assert "tf-migrate convert path/to/ckpt_dir --out port/model.keras --report port/convert.json" in texts
    assert "tf-migrate codemod --list-rules" in texts
    assert any(c.usage and c.text.startswith("tf-migrate parity --tf1 CKPT --keras MODEL [--build") for c in COMMANDS)
    assert any(c.expect == 2 for c in COMMANDS)      # `$ echo $?` / 2 after the t2t refusal
    assert len(COMMANDS) > 40
    assert len(EXAMPLES) > 25 and any(c.text == "tf-migrate convert --to tf1 model.keras --out rollback/model.ckpt-2000"
                                      for c in EXAMPLES)


@pytest.mark.parametrize("cmd", COMMANDS, ids=[f"{c.where} {c.text[:60]}" for c in COMMANDS])
def test_every_documented_command_is_accepted_by_the_cli(cmd):
    assert command_errors(cmd) == [], f"{cmd.where}: {cmd.text}"


@pytest.mark.parametrize("cmd", EXAMPLES, ids=[f"{c.where}: {c.text[:60]}" for c in EXAMPLES])
def test_every_help_example_is_accepted_by_the_cli(cmd):
    assert command_errors(cmd) == [], f"{cmd.where}: {cmd.text}"


@pytest.mark.parametrize("text, usage, wrong", [
    ("tf-migrate convert CKPT --out model.keras --no-such-flag", False, "does not parse"),
    ("tf-migrate convrt CKPT --out model.keras", False, "does not parse"),
    ("tf-migrate inspect CKPT [--json] [--slotz]", True, "tf-migrate inspect: no option --slotz"),
    ("tf-migrate legacy trian --out DIR [--steps N]", True, "no subcommand 'trian'"),
    ("tf-migrate legacy train --out DIR [--step N]", True, "tf-migrate legacy train: no option --step"),
    ("make demoo", False, "no Makefile target 'demoo'"),
    ("pip install tf-migrate pytest", False, "tf-migrate is not on a package index"),
], ids=["unknown-flag", "unknown-subcommand", "usage-flag", "usage-subcommand", "nested-flag", "make", "pip"])
def test_a_command_the_cli_does_not_accept_is_caught(text, usage, wrong):
    problems = command_errors(DocCommand("x.md:1", text, usage))
    assert any(wrong in p for p in problems), problems


def test_extraction_reads_dollar_lines_continuations_exit_codes_and_yaml():
    md = ("```\n$ tf-migrate parity --tf1 a.ckpt --keras m.keras \\\n    --feed x=1.0   # note\nout\n"
          "$ echo $?\n1\n```\n\n```yaml\n- run: tf-migrate codemod --check src/\n```\n"
          "Prose with `tf-migrate inspect CKPT --json` inline.\n")
    got = extract("x.md", md)
    assert got == [DocCommand("x.md:2", "tf-migrate parity --tf1 a.ckpt --keras m.keras --feed x=1.0", False, 1),
                   DocCommand("x.md:10", "tf-migrate codemod --check src/", False),
                   DocCommand("x.md:12", "tf-migrate inspect CKPT --json", True)]


# -- the commands that run ----------------------------------------------------------------------------------

# Command as written in the docs -> exit code (None: the one the docs show after it, else 0). Each runs, in this
# order, in one scratch folder laid out by `LAYOUT`; the Job 1 conversions write what the next one reads.
RUN = {
    "tf-migrate inspect path/to/ckpt_dir": 0,
    "tf-migrate inspect path/to/ckpt_dir --json": 0,
    "tf-migrate convert path/to/ckpt_dir --out port/model.keras --report port/convert.json": 0,
    "tf-migrate convert path/to/ckpt_dir --out port/model.weights.h5 --hparams hparams.json --strict": 0,
    "tf-migrate convert path/to/ckpt_dir --out port/ckpt --with-optimizer": 0,
    "tf-migrate convert --to tf1 port/model.keras --out rollback/model.ckpt-1500": 0,
    "tf-migrate export port/model.keras --out serving/seq2seq/1": 0,
    "tf-migrate inspect ../shared/fixtures/real_tf1_checkpoints/aplain_basiclstm_2017": 0,
    "tf-migrate convert ../shared/fixtures/real_tf1_checkpoints/t2t_transformer_test --out model.keras": None,
    "tf-migrate convert ../shared/fixtures/real_tf1_checkpoints/aplain_basiclstm_2017 --out aplain_keras": 0,
    "tf-migrate codemod src/": 0,
    "tf-migrate codemod src/ --check": 1,
    "tf-migrate codemod src/ --write -j 2": 0,
    "tf-migrate codemod src/ --write --graph-mode": 0,
    "tf-migrate codemod --list-rules": 0,
}
# What each run must leave behind (paths in the scratch folder), checked after all have run.
WRITTEN = ["port/model.keras", "port/convert.json", "port/hparams.json", "port/model.weights.h5", "port/ckpt.index",
           "rollback/model.ckpt-1500.index", "aplain_keras/model.keras", "aplain_keras/model.py"]


def _layout(root, legacy_dir):
    """The scratch folder the docs' commands assume: a legacy checkpoint at path/to/ckpt_dir (with the
    hparams.json its user has beside the command), ../shared/fixtures, a TF 1.x source file in src/."""
    from importlib import resources  # noqa: PLC0415

    os.makedirs(os.path.join(root, "work", "path", "to"))
    os.symlink(legacy_dir, os.path.join(root, "work", "path", "to", "ckpt_dir"))
    shutil.copy(os.path.join(legacy_dir, "hparams.json"), os.path.join(root, "work", "hparams.json"))
    os.makedirs(os.path.join(root, "shared"))
    os.symlink(SHARED_FIXTURES, os.path.join(root, "shared", "fixtures"))
    os.makedirs(os.path.join(root, "work", "src"))
    sample = resources.files("migrate.codemod").joinpath("samples/legacy_seq2seq.py.txt").read_text(encoding="utf-8")
    with open(os.path.join(root, "work", "src", "legacy_seq2seq.py"), "w", encoding="utf-8") as f:
        f.write(sample)
    return os.path.join(root, "work")


@pytest.fixture(scope="module")
def legacy_dir(tmp_path_factory):
    """A small legacy Seq2Seq checkpoint trained one step (Adam slots, hparams.json, vocabularies beside it)."""
    from legacy_tf1.train import train  # noqa: PLC0415
    from seq2seq_task import HParams  # noqa: PLC0415

    d = str(tmp_path_factory.mktemp("legacy") / "run")
    hp = HParams(src_vocab_size=63, tgt_vocab_size=15, embedding_size=6, num_units=8, attention="luong",
                 attention_layer_size=8, forget_bias=0.8, batch_size=8)
    train(hp, d, steps=1)
    return d


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED_FIXTURES), reason="../shared/fixtures not beside the checkout")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_documented_commands_run_as_written(legacy_dir, tmp_path, monkeypatch, capfd):
    from migrate.cli import main  # noqa: PLC0415

    by_text = {c.text: c for c in COMMANDS if not c.usage}
    assert sorted(set(RUN) - set(by_text)) == [], "RUN names commands the docs no longer hold"
    monkeypatch.chdir(_layout(str(tmp_path), legacy_dir))
    for text, expected in RUN.items():
        doc = by_text[text]
        code = main(shlex.split(text)[1:])
        out, err = capfd.readouterr()
        want = expected if expected is not None else (doc.expect if doc.expect is not None else 0)
        assert code == want, f"{doc.where}: `{text}` exited {code}, the docs say {want}\n{err[-2000:]}"
        noise = [m for m in TF_MARKERS if m in out + err]
        assert noise == [], f"{doc.where}: `{text}` printed TensorFlow start-up lines {noise}"
    missing = [p for p in WRITTEN if not os.path.exists(p)]
    assert missing == []
    leftovers = [os.path.join(d, f) for d, _, fs in os.walk(".") for f in fs if ".tfm-tmp-" in f]
    assert leftovers == []
