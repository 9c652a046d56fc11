"""What the CLI says is true and quiet: advice names flags and keywords that exist, install advice fits the install,
the parity hint is the converter's own output choice, outputs are checked before TensorFlow is imported, and no
TensorFlow start-up line reaches the user without -v."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest
from real_corpus import corpus_entry

from migrate.cli import build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("migrate", "tf2", "tf_migrate_runtime", "seq2seq_task", "legacy_tf1")
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "fixtures"))
APLAIN = os.path.join(SHARED, "real_tf1_checkpoints", "aplain_basiclstm_2017")
TF_MARKERS = ("oneDNN custom operations", "cpu_feature_guard", "TF-TRT", "Unable to register cuDNN",
              "absl::InitializeLog", "E0000", "I0000", "W0000", "This TensorFlow binary is optimized")

# Keywords a message may name without naming a function of ours: arguments of other people's APIs.
EXTERNAL_KEYWORDS = {
    "reset_after": "keras.layers.GRU(reset_after=...): the Keras layout TF1's GRUCell weights fit",
    "is_training": "the user's own TF1 graph: its batch-normalisation mode placeholder / argument",
}


# -- the scanners ---------------------------------------------------------------------------------------------

def _sources(packages=("migrate",)):
    """(path, source) of the modules whose messages are checked: the toolkit's (`migrate/`)."""
    for package in packages:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(folder, f)
                    with open(path, encoding="utf-8") as fh:
                        yield os.path.relpath(path, ROOT), fh.read()


def cli_options() -> set[str]:
    def walk(parser):
        for action in parser._actions:      # argparse has no public accessor for a parser's options
            yield from action.option_strings
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)
    return set(walk(build_parser()))


def _declared_options(tree: ast.AST) -> set[str]:
    """Options a module declares itself (`add_argument("--x")`, pytest's `addoption("--x")`): a script's own."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("add_argument", "addoption"):
            out.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return out


def _strings(tree: ast.AST):
    """(line, text) of every string constant (docstrings and f-string parts included)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?![\w-])")
_PYTHON_M = re.compile(r"python -m ((?:migrate|tf2|tf_migrate_runtime|seq2seq_task|legacy_tf1)(?:\.\w+)*)")


def flag_problems(path: str, source: str, known: set[str]) -> list[str]:
    """`--flags` named in the strings of one module that neither the CLI nor the module itself declares, and
    `python -m MODULE` commands whose module is not runnable."""
    tree = ast.parse(source)
    allowed = known | _declared_options(tree)
    problems = []
    for line, text in _strings(tree):
        problems += [f"{path}:{line}: {flag} is no option of tf-migrate nor of this module"
                     for flag in _FLAG.findall(text) if flag not in allowed]
        for module in _PYTHON_M.findall(text):
            if not _runnable(module):
                problems.append(f"{path}:{line}: `python -m {module}`: no such runnable module")
    return problems


def _runnable(module: str) -> bool:
    base = os.path.join(ROOT, *module.split("."))
    if os.path.isfile(os.path.join(base, "__main__.py")):
        return True
    if os.path.isfile(base + ".py"):
        with open(base + ".py", encoding="utf-8") as f:
            return "if __name__ == \"__main__\":" in f.read()
    return False


def function_parameters() -> dict[str, list[set[str] | None]]:
    """name -> the parameter sets of every function / class of that name in our packages (None: takes **kwargs)."""
    index: dict[str, list[set[str] | None]] = {}
    for _, source in _sources(PACKAGES):
        for node in ast.walk(ast.parse(source)):
            fn = node
            if isinstance(node, ast.ClassDef):
                fn = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
                if fn is None:   # a dataclass: its annotated fields
                    fields = {b.target.id for b in node.body if isinstance(b, ast.AnnAssign)
                              and isinstance(b.target, ast.Name)}
                    index.setdefault(node.name, []).append(fields)
                    continue
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = fn.args
                params = None if a.kwarg else {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}
                index.setdefault(node.name, []).append(params)
    return index


_CALL = re.compile(r"\b((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(([^()]*)\)")
_KEYWORD = re.compile(r"(?<![\w./-])([a-z_][a-z0-9_]*)=(?!=)")


def _messages(tree: ast.AST):
    """(line, text) of the string constants inside `raise` statements and `warnings.warn(...)` calls. A piece
    of an f-string that ends with `name=` before an interpolated value reports that value (`mode={mode!r}:
    expected ...`), it advises nothing: its `name=` is cut off."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None \
                or isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "warn":
            reported = set()
            for sub in ast.walk(node):
                if isinstance(sub, ast.JoinedStr):
                    for part, after in zip(sub.values, sub.values[1:]):
                        if isinstance(part, ast.Constant) and isinstance(after, ast.FormattedValue):
                            reported.add(id(part))
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    text = re.sub(r"\w+=$", "", sub.value) if id(sub) in reported else sub.value
                    yield sub.lineno, text


def keyword_problems(path: str, source: str, params: dict) -> list[str]:
    """Keyword advice in messages: `fn(..., kw=...)` where fn is ours must have kw; a bare `kw=` must name its
    function (or be another API's argument, `EXTERNAL_KEYWORDS`)."""
    problems = []
    for line, text in _messages(ast.parse(source)):
        called = set()
        for m in _CALL.finditer(text):
            name = m.group(1)
            head, leaf = name.split(".")[0], name.rsplit(".", 1)[-1]
            keywords = _KEYWORD.findall(m.group(2))
            called.update((m.start(2) + k.start(1)) for k in _KEYWORD.finditer(m.group(2)))
            if "." in name and head not in PACKAGES or leaf not in params:
                continue     # another library's function (keras.layers.Dense(use_bias=False)): not ours to check
            for kw in keywords:
                if not any(p is None or kw in p for p in params[leaf]):
                    problems.append(f"{path}:{line}: {name}(..., {kw}=...): {leaf} has no parameter {kw}")
        for k in _KEYWORD.finditer(text):
            if k.start(1) in called or k.group(1) in EXTERNAL_KEYWORDS:
                continue
            before = text[max(0, k.start() - 12):k.start()]
            if re.search(r"--(feed|variable|set)[ =]$", before):
                continue     # NAME=VALUE of an option, not a keyword
            problems.append(f"{path}:{line}: {k.group(1)}= advised without the function it belongs to: write "
                            f"fn(..., {k.group(1)}=...)")
    return problems


# -- advice names flags and keywords that exist ------------------------------------------------------------------

def test_every_flag_a_message_names_exists():
    known = cli_options()
    problems = [p for path, source in _sources() for p in flag_problems(path, source, known)]
    assert problems == []


def test_every_keyword_a_message_advises_is_a_parameter_of_the_function_it_names():
    params = function_parameters()
    problems = [p for path, source in _sources() for p in keyword_problems(path, source, params)]
    assert problems == []


def test_the_scanners_catch_a_wrong_flag_keyword_and_module():
    """The checks above find the mistakes they exist for (the forget-bias error once advised force=True)."""
    bad = '''
def f(cell):
    raise ValueError("force yours (force=True / --force-forget-bias)")
def g():
    raise ValueError("or pass cell_weights(ckpt, force=True)")
def h():
    raise ValueError("pass --forse-forget-bias; see `python -m migrate.codemod.rules --docs`")
'''
    params = function_parameters()
    kw = keyword_problems("bad.py", bad, params)
    assert any("force= advised without the function" in p for p in kw), kw
    assert any("cell_weights(..., force=...): cell_weights has no parameter force" in p for p in kw), kw
    flags = flag_problems("bad.py", bad, cli_options())
    assert any("--forse-forget-bias is no option" in p for p in flags), flags
    assert any("--docs is no option" in p for p in flags) and any("python -m migrate.codemod.rules" in p
                                                                   for p in flags), flags
    good = 'raise ValueError("use cell_weights(..., force_forget_bias=True) or --force-forget-bias")\n'
    assert keyword_problems("good.py", good, params) == [] and flag_problems("good.py", good, cli_options()) == []


def test_forget_bias_disagreement_advises_the_real_keyword():
    from migrate.checkpoint.forget_bias import cell_forget_bias  # noqa: PLC0415
    from migrate.checkpoint.reader import CheckpointError  # noqa: PLC0415

    class Cell:   # the fields cell_forget_bias reads of a recognised cell
        needs_forget_bias, tf1_class, scope = True, "BasicLSTMCell", "rnn/basic_lstm_cell"
        forget_bias = {"value": 0.8, "source": "meta graph (model.ckpt.meta: rnn/add)"}

    with pytest.raises(CheckpointError) as e:
        cell_forget_bias(Cell(), 1.0)
    assert "force_forget_bias=True" in str(e.value) and "force=True" not in str(e.value).replace("_bias=True", "")


# -- install advice fits the install -----------------------------------------------------------------------------

class _Dist:
    def __init__(self, direct_url: dict | None):
        self._text = None if direct_url is None else json.dumps(direct_url)

    def read_text(self, name):
        return self._text if name == "direct_url.json" else None


def _installed(monkeypatch, direct_url):
    """Fake the one third-party boundary: importlib.metadata's record of how tf-migrate was installed."""
    real = metadata.distribution

    def distribution(name):
        if name != "tf-migrate":
            return real(name)
        if direct_url == "missing":
            raise metadata.PackageNotFoundError(name)
        return _Dist(direct_url)
    monkeypatch.setattr(metadata, "distribution", distribution)


def test_install_advice_follows_the_install(monkeypatch, tmp_path):
    from migrate.install import ROOT as CHECKOUT  # noqa: PLC0415
    from migrate.install import install_extra_command, is_editable  # noqa: PLC0415

    monkeypatch.chdir(tmp_path)
    url = tmp_path.as_uri()
    _installed(monkeypatch, {"dir_info": {"editable": True}, "url": url})
    assert is_editable() and install_extra_command("backends") == "pip install -e '.[backends]'"
    _installed(monkeypatch, {"dir_info": {"editable": True}, "url": "file:///src/tf-migrate"})
    assert install_extra_command("backends") == "pip install -e '/src/tf-migrate[backends]'"
    _installed(monkeypatch, {"dir_info": {}, "url": url})              # pip install .
    assert not is_editable() and install_extra_command("backends") == "pip install '.[backends]'"
    wheel = tmp_path / "tf_migrate-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    _installed(monkeypatch, {"archive_info": {}, "url": wheel.as_uri()})
    assert install_extra_command("backends") == f"pip install '{wheel}[backends]'"
    _installed(monkeypatch, {"vcs_info": {"vcs": "git", "commit_id": "abc123"}, "url": "https://example.org/t.git"})
    assert install_extra_command("backends") == \
        "pip install 'tf-migrate[backends] @ git+https://example.org/t.git@abc123'"
    _installed(monkeypatch, None)                                       # from an index: no direct_url.json
    assert not is_editable() and install_extra_command("backends") == "pip install 'tf-migrate[backends]'"
    _installed(monkeypatch, "missing")                                  # a checkout on PYTHONPATH
    assert install_extra_command("backends") == f"pip install -e '{CHECKOUT}[backends]'"


def test_missing_backend_advice_is_not_editable_for_a_wheel_install(monkeypatch, tmp_path):
    import importlib.util  # noqa: PLC0415

    from migrate.parity.backend_side import backend_available  # noqa: PLC0415

    wheel = tmp_path / "tf_migrate-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    _installed(monkeypatch, {"archive_info": {}, "url": wheel.as_uri()})
    why = backend_available("jax")
    assert why.endswith(f"install the backends extra: pip install '{wheel}[backends]'") and "-e" not in why
    _installed(monkeypatch, {"dir_info": {"editable": True}, "url": tmp_path.as_uri()})
    monkeypatch.chdir(tmp_path)
    assert backend_available("jax").endswith("pip install -e '.[backends]'")


# -- the parity hint is the converter's output selection --------------------------------------------------------

def test_parity_hint_names_the_logits_the_graph_converter_picks():
    """udacity_seq2seq_contrib_tf12: the hint once listed Adam slots and beta powers (they meet the learning-rate
    placeholder in ApplyAdam); it now gives convert --from-graph's outputs with their reasons."""
    import keras  # noqa: PLC0415

    from migrate.graph.select import choose_outputs  # noqa: PLC0415
    from migrate.parity.errors import ParityInputError  # noqa: PLC0415
    from migrate.parity.graph_pair import GraphPair  # noqa: PLC0415
    from migrate.parity.keras_side import KerasSide  # noqa: PLC0415
    from migrate.parity.tf1_graph import TF1Graph  # noqa: PLC0415

    prefix, _ = corpus_entry("udacity_seq2seq_contrib_tf12")
    x = keras.Input((3,), name="x")
    unnamed = keras.Model(x, keras.layers.Dense(2, name="my_head")(x))    # an output no graph tensor is named like
    graph = TF1Graph(prefix)
    try:
        assert choose_outputs(graph.graph).outputs == ["logits:0", "predictions:0"]   # the converter's choice
        with pytest.raises(ParityInputError) as e:
            GraphPair(graph, KerasSide(unnamed))
    finally:
        graph.close()
    hint = str(e.value).split("Likely outputs, ", 1)[1]
    assert hint.startswith("as `tf-migrate convert --from-graph` picks them (the loss is "
                           "optimization/sequence_loss/truediv:0")
    assert "logits:0 (the logits the loss optimization/sequence_loss/truediv:0 is computed from " \
           "(SparseSoftmaxCrossEntropyWithLogits" in hint
    assert "; predictions:0 (" in hint
    assert not any(w in hint for w in ("Adam", "beta1_power", "learning_rate", "zeros"))


# -- outputs are checked before TensorFlow is imported; no TensorFlow start-up line ------------------------------

def _cli(args: list[str], cwd: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT, **(env or {})}, timeout=600)


def test_unwritable_outputs_exit_3_before_tensorflow_is_imported(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "taken.json").write_text("{}")
    code = """
import sys
from migrate.cli import main
codes = [main(['convert', 'ckpt', '--out', 'afile/port/model.keras']),
         main(['convert', 'ckpt', '--from-graph', '--out', 'afile/dir']),
         main(['parity', '--tf1', 'ckpt', '--keras', 'm.keras', '--json', 'taken.json']),
         main(['codemod', 'src', '--json', 'afile/r.json'])]
print(codes, 'tensorflow' in sys.modules, 'keras' in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, timeout=300)
    assert proc.stdout.strip() == "[3, 3, 3, 3] False False", proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "afile/port/model.keras: cannot write:" in lines[0] and "is a file, not a directory" in lines[0]
    assert "taken.json: already exists; pass --force" in lines[2]
    assert sorted(os.listdir(tmp_path)) == ["afile", "taken.json"]


def test_parsing_a_command_line_imports_no_tensorflow():
    """Parsing (argparse `type=` functions, defaults) stays TensorFlow-free, so the outputs are checked first:
    `parity`'s --backend default once imported Keras (and TensorFlow, unsilenced) at parse time."""
    code = """
import sys
from migrate.cli import build_parser
p = build_parser()
for argv in (['parity', '--tf1', 'c', '--keras', 'm.keras', '--json', 'r.json'], ['parity', '--legacy', 'd'],
             ['convert', 'c', '--out', 'o/m.keras', '--report', 'o/r.json'], ['convert', 'c', '--from-graph', '--out', 'o'],
             ['inspect', 'c', '--json'], ['codemod', 'src', '--check'], ['demo', '--out', 'd'],
             ['legacy', 'train', '--out', 'r'], ['port', 'train', '--out', 'r']):
    p.parse_args(argv)
print(sorted(m for m in ('tensorflow', 'keras', 'tf2', 'jax', 'torch', 'libcst', 'matplotlib', 'tf_keras')
             if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         timeout=300).stdout
    assert out.strip() == "[]"


def test_optional_imports_are_skipped_inside_the_block_only(tmp_path, monkeypatch):
    """`quiet.optional_imports_skipped`: a package of OPTIONAL_IMPORTS is not found inside the block (TensorFlow's
    and Keras's `except ImportError` branch), imports as usual after it, and is never skipped under another Keras
    backend (which needs JAX itself)."""
    from migrate import quiet

    (tmp_path / "tfm_optional_probe").mkdir()
    (tmp_path / "tfm_optional_probe" / "__init__.py").write_text("VALUE = 7\n")
    (tmp_path / "tfm_optional_probe" / "sub.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(quiet, "OPTIONAL_IMPORTS", {"tfm_optional_probe": "a test package"})
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    with quiet.optional_imports_skipped():
        with pytest.raises(ModuleNotFoundError, match="tfm_optional_probe"):
            import tfm_optional_probe  # noqa: F401
        with pytest.raises(ModuleNotFoundError):
            import tfm_optional_probe.sub  # noqa: F401
    assert "tfm_optional_probe" not in sys.modules
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with quiet.optional_imports_skipped():
        import tfm_optional_probe
    assert tfm_optional_probe.VALUE == 7
    sys.modules.pop("tfm_optional_probe", None)


def test_the_program_ends_with_its_code_after_its_output_and_exit_handlers(tmp_path):
    """`cli.exit_now` (the end of `tf-migrate`, skipping the interpreter's teardown): stdout flushed, the atexit
    handlers run, the exit code kept."""
    code = ("import atexit, sys\nfrom migrate.cli import exit_now\n"
            "atexit.register(lambda: print('handler ran'))\nprint('partial line', end='')\n"
            "sys.stderr.write('err')\nexit_now(7)\nprint('not reached')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "partial linehandler ran\n", "err")
    proc = subprocess.run([sys.executable, "-m", "migrate", "codemod", "no_such_dir", "--check"], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert proc.returncode == 2 and "no_such_dir" in proc.stderr


@pytest.mark.slow
def test_the_cli_imports_tensorflow_and_keras_without_jax_or_matplotlib():
    """TensorFlow imports JAX (TFLite's JAX converter) and Keras imports matplotlib (keras.visualization) when they
    are installed: ~1.5 s of CPU in every command; the CLI's import skips them, and they import as usual after."""
    code = ("import sys\nfrom migrate.quiet import import_tensorflow_quietly\n"
            "import_tensorflow_quietly(skip_optional=True)\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'jaxlib', 'matplotlib') if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("KERAS_BACKEND", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.stdout.strip() == "['keras', 'tensorflow']", proc.stderr[-2000:]


IMPORTED = "TENSORFLOW IMPORTED\n"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(APLAIN), reason="../shared/fixtures not beside the checkout")
def test_no_tensorflow_start_up_line_on_any_command(tmp_path):
    """Each subcommand in its own process (TensorFlow's start-up lines come once per process), on small inputs;
    the processes of one phase run at once."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "old.py").write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32, [None])\ny = tf.log(x)\n")
    phase1 = {
        "inspect": (["inspect", APLAIN], 0),
        "convert": (["convert", APLAIN, "--out", "m.keras"], 2),            # the Seq2Seq path: not one, refused
        "convert --from-graph": (["convert", APLAIN, "--from-graph", "--out", "aplain"], 0),
        "parity": (["parity", "--legacy", "no_such_dir"], 2),
        "codemod": (["codemod", "src", "--check"], 1),
    }
    phase2 = {
        "parity --tf1": (["parity", "--tf1", APLAIN, "--keras", "aplain/model.keras", "--json", "r/p.json"], 0),
        # `export` from a program that imported TensorFlow and Keras itself (their lines are its own, before
        # IMPORTED; TensorFlow's C++ log level already read) and calls the CLI's `main`: TensorFlow's one device
        # search is made with descriptor 2 silenced, so no "E0000 ... failed call to cuInit" (a machine without a
        # CUDA driver) from the command's first op (it came from there before; tests/test_docs_commands.py saw it).
        "export, main after import tensorflow": (["-c", "import sys, tensorflow, keras; from migrate.cli import main; "
                                                  f"print({IMPORTED!r}, file=sys.stderr, flush=True); sys.exit(main("
                                                  "['export', 'aplain/model.keras', '--out', 'served']))"], 0),
    }
    # A shell that exports TF_CPP_MIN_LOG_LEVEL=1 (a common setting) would let "E0000 ... failed call to cuInit"
    # through at run time: without -v the CLI hides it all the same.
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "1"}
    env.pop("ABSL_MIN_LOG_LEVEL", None)
    for phase in (phase1, phase2):
        procs = {name: subprocess.Popen([sys.executable, *(argv if argv[0] == "-c" else ["-m", "migrate", *argv])],
                                        cwd=tmp_path, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
                 for name, (argv, _) in phase.items()}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == phase[name][1], f"{name}: exit {proc.returncode}\n{err[-3000:]}"
            noise = [m for m in TF_MARKERS if m in out + err.rpartition(IMPORTED)[2]]
            assert noise == [], f"`tf-migrate {name}` printed TensorFlow start-up lines: {noise}\n{err[:3000]}"
    assert (tmp_path / "r" / "p.json").is_file() and not (tmp_path / "m.keras").exists()
    assert (tmp_path / "served" / "saved_model.pb").is_file()
