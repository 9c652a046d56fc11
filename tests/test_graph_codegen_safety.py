"""Inputs are data, never code: `convert --from-graph` on crafted names and constants.

A checkpoint whose directory, file and `.meta` names hold quotes, triple quotes, newlines, U+2028 and other line
breaks, braces, `#`, a backslash (in the `.meta` name only: TensorFlow's checkpoint reader takes a backslash or `[`
in a prefix for a file pattern) and a payload that would create a canary file; TF-legal but unusual scope and
placeholder names; constants -inf, inf and NaN on the path to the outputs (a scalar, arrays, a fill value). The
conversion must succeed with parity, never create the canary, and write a `model.py` that compiles, carries the
non-finite constants as valid expressions, and rebuilds the same model: through `migrate.graph.program` (no exec)
and as the user runs it (`python model.py` in a subprocess, slow). A `.meta` edited by hand to hold such a node name
is refused by TensorFlow's importer: a clean exit 2. The interpreter itself refuses hostile programs before calling
anything, and the two writers (`ir.source_text` for comments / docstrings, `ir.py_literal` for values) keep any
text on one line and any value exact.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tf1_models import save_random_weights, tf1_style

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CANARY = "CANARY"                                    # relative: the payload runs in whatever directory is current
PAYLOAD = f'__import__("pathlib").Path("{CANARY}").touch()'
# Every way out of a docstring, a comment or a line: triple quotes, a newline, line breaks only str.splitlines
# sees (U+2028, \x1c, \x85, \x0b), a backslash (escaping a quote or a line end); braces for str.format.
HOSTILE_DIR = f"d'\"{{x}}\n{PAYLOAD}  #\u2028{PAYLOAD}\x1c"
HOSTILE_FILE = f'm"""\n{PAYLOAD}\n"""\u2028{PAYLOAD}\x85{{}}'
HOSTILE_META = f"g'''\n{PAYLOAD}\n#\\\"\"\"\\\n{PAYLOAD}\x0b.meta"   # the one .meta beside the prefix: its graph
SCOPE = "sc.1-a>b"                                   # TF op names allow only [A-Za-z0-9_.\-/>]
PLACEHOLDER = "in.put-1>x"
OUTPUT = f"{SCOPE}/logits:0"


def _build(path: str) -> str:
    """A dense layer and non-finite constants kept on the path to the output: max(h, [-inf]*4) (an array
    literal), min(h, inf) (a scalar), where(is_nan(h + [nan, 0, 0, 0]), 0, h) (NaN kept out of the output),
    max(h, fill(shape(h), -inf)) (a fill value); saved with random weights as path/model.ckpt."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf1_style():
        g = tf.Graph()
        with g.as_default(), v1.variable_scope(SCOPE):
            x = v1.placeholder(tf.float32, [None, 3], name=PLACEHOLDER)
            w = v1.get_variable("dense/kernel", [3, 4])
            b = v1.get_variable("dense/bias", [4])
            h = tf.nn.bias_add(tf.matmul(x, w), b)
            h = tf.maximum(h, tf.constant([-np.inf] * 4, tf.float32))
            h = tf.minimum(h, tf.constant(np.inf, tf.float32))
            h = tf.where(tf.math.is_nan(h + tf.constant([np.nan, 0.0, 0.0, 0.0], tf.float32)), tf.zeros_like(h), h)
            h = tf.maximum(h, tf.fill(tf.shape(h), tf.constant(-np.inf, tf.float32)))
            tf.identity(h, name="logits")
            return save_random_weights(path)


def _rename(prefix: str, new_dir: str, new_base: str, new_meta: str) -> str:
    """Move the checkpoint's files to new_dir: `.index` and `.data-*` as new_base*, the `.meta` as new_meta (the one
    `.meta` beside a prefix is its graph, `migrate.files.find_meta`); the new prefix."""
    os.makedirs(new_dir)
    old_dir, old_base = os.path.split(prefix)
    for f in os.listdir(old_dir):
        if f.startswith(old_base + "."):
            to = new_meta if f.endswith(".meta") else new_base + f[len(old_base):]
            os.rename(os.path.join(old_dir, f), os.path.join(new_dir, to))
    return os.path.join(new_dir, new_base)


def _input_key(out: str) -> str:
    """The Keras input's name (the model's dict key), as the report gives it."""
    return json.loads(open(os.path.join(out, "convert_report.json")).read())["graph"]["inputs"][0]["keras"]


def _canaries(*dirs) -> list[str]:
    return [os.path.join(r, f) for d in dirs for r, _, files in os.walk(d) for f in files if f == CANARY]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(tmp dir, checkpoint prefix, out dir, exit code, printed text) of one conversion run from tmp with
    every hostile name, through the CLI in this process."""
    import contextlib
    import io

    from migrate.cli import main

    tmp = str(tmp_path_factory.mktemp("hostile"))
    prefix = _rename(_build(os.path.join(tmp, "plain")), os.path.join(tmp, HOSTILE_DIR), HOSTILE_FILE, HOSTILE_META)
    out = os.path.join(tmp, "out")
    cwd, printed = os.getcwd(), io.StringIO()
    os.chdir(tmp)  # the payload's relative canary lands here if anything runs it during convert
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            code = main(["convert", prefix, "--from-graph", "--out", out, "--outputs", OUTPUT])
    finally:
        os.chdir(cwd)
    return tmp, prefix, out, code, printed.getvalue()


def test_hostile_names_convert_with_parity_and_no_code_runs(hostile):
    tmp, prefix, out, code, printed = hostile
    assert code == 0, printed
    assert _canaries(tmp) == []
    report = json.loads(open(os.path.join(out, "convert_report.json")).read())
    assert report["parity"]["ok"] is True
    assert report["checkpoint"] == prefix                      # JSON holds the names as they are
    assert report["meta"] == os.path.join(os.path.dirname(prefix), HOSTILE_META)
    assert report["graph"]["inputs"][0]["graph"] == f"{SCOPE}/{PLACEHOLDER}:0"


def test_model_py_compiles_and_quotes_every_name(hostile):
    _, _, out, code, _ = hostile
    assert code == 0
    src = open(os.path.join(out, "model.py"), encoding="utf-8").read()
    tree = ast.parse(src)
    compile(tree, "model.py", "exec")
    # the module is the docstring, two imports, build_model, and the __main__ block: the payload made no statement
    kinds = [type(n).__name__ for n in tree.body]
    assert kinds == ["Expr", "Import", "Import", "FunctionDef", "If"]
    assert PAYLOAD not in [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.expr)]
    # the docstring reads back as the file name itself; every line break in it was escaped
    assert f"the TF1 graph {HOSTILE_META}." in ast.get_docstring(tree, clean=False)
    assert not any(ch in src for ch in "\u2028\u2029\x85\x1c\x1d\x1e\x0b\x0c\r")
    # non-finite constants as valid expressions, never the bare names inf / nan
    assert 'float("-inf")' in src and 'float("inf")' in src and 'float("nan")' in src
    assert "[float(\"-inf\"), float(\"-inf\"), float(\"-inf\"), float(\"-inf\")]" in src
    assert not any(isinstance(n, ast.Name) and n.id in ("inf", "nan") for n in ast.walk(tree))
    assert f"name='{SCOPE.replace('.', '_')}__dense'" in src   # layer names through repr


def test_model_py_rebuilds_the_written_model_without_exec(hostile):
    """migrate.graph.program builds the same model from model.py: weights named and shaped alike, outputs equal
    (column 0 is the NaN-masked zero, inf / -inf clipping leaves the rest finite)."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401 - load_requires
    from migrate.graph.program import build_model

    tmp, _, out, code, _ = hostile
    assert code == 0
    written = keras.saving.load_model(os.path.join(out, "model.keras"))
    rebuilt = build_model(open(os.path.join(out, "model.py"), encoding="utf-8").read())
    rebuilt.load_weights(os.path.join(out, "model.weights.h5"))
    assert [(w.path, tuple(w.shape)) for w in rebuilt.weights] == [(w.path, tuple(w.shape)) for w in written.weights]
    x = np.random.RandomState(5).normal(0, 2, (6, 3)).astype("float32")
    key = _input_key(out)
    assert key == "sc_1-a>b__in_put-1>x"
    a, b = np.asarray(written({key: x})), np.asarray(rebuilt({key: x}))
    assert a.shape == (6, 4) and np.isfinite(a).all() and np.all(a[:, 0] == 0) and np.any(a[:, 1:] != 0)
    np.testing.assert_array_equal(a, b)
    assert _canaries(tmp) == []


@pytest.mark.slow
def test_python_model_py_runs_as_written_and_no_code_runs(hostile, tmp_path):
    """The user's `python model.py` (run as __main__ beside its weights, in a subprocess) builds, loads and
    summarises the model without running the payload, and computes what model.keras computes."""
    import keras

    import tf_migrate_runtime.layers  # noqa: F401 - load_requires

    tmp, _, out, code, _ = hostile
    assert code == 0
    x = np.random.RandomState(6).normal(0, 2, (4, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    driver = ("import runpy, sys, numpy as np\n"
              "ns = runpy.run_path('model.py', run_name='__main__')\n"
              "m = ns['build_model'](); m.load_weights('model.weights.h5')\n"
              f"np.save(sys.argv[2], np.asarray(m({{{_input_key(out)!r}: np.load(sys.argv[1])}})))\n")
    env = dict(os.environ, PYTHONPATH=ROOT, KERAS_BACKEND="tensorflow")
    run = subprocess.run([sys.executable, "-c", driver, str(tmp_path / "x.npy"), str(tmp_path / "got.npy")],
                         cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Total params" in run.stdout                 # the __main__ block ran: build, load_weights, summary
    assert _canaries(tmp, str(tmp_path)) == []
    want = keras.saving.load_model(os.path.join(out, "model.keras"))({_input_key(out): x})
    np.testing.assert_array_equal(np.load(tmp_path / "got.npy"), np.asarray(want))


@pytest.mark.parametrize("name", ['q"""\n' + PAYLOAD, "line\u2028" + PAYLOAD, "quote'{}\\"],
                         ids=["triple-quote-newline", "u2028", "quote-braces-backslash"])
def test_a_meta_edited_to_hold_a_hostile_node_name_is_a_clean_exit_2(hostile, tmp_path, name, capsys):
    """The placeholder renamed in the .meta (and every reference to it): TensorFlow's importer refuses the name:
    the conversion says so in one message (exit 2), writes nothing and runs nothing."""
    from tensorflow.core.protobuf import meta_graph_pb2

    from migrate.cli import main

    _, prefix, _, _, _ = hostile
    m = meta_graph_pb2.MetaGraphDef()
    m.ParseFromString(open(os.path.join(os.path.dirname(prefix), HOSTILE_META), "rb").read())
    old = f"{SCOPE}/{PLACEHOLDER}"
    for node in m.graph_def.node:
        if node.name == old:
            node.name = name
        node.input[:] = [name + i[len(old):] if i.split(":")[0] == old else i for i in node.input]
    edited = str(tmp_path / "edited")
    for f in os.listdir(os.path.dirname(prefix)):
        if f.startswith(os.path.basename(prefix) + ".") and not f.endswith(".meta"):
            os.symlink(os.path.join(os.path.dirname(prefix), f), edited + f[len(os.path.basename(prefix)):])
    open(edited + ".meta", "wb").write(m.SerializeToString())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(["convert", edited, "--from-graph", "--out", str(tmp_path / "o")])
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "edited.meta" in err      # one message naming the file
    assert not (tmp_path / "o").exists() and _canaries(str(tmp_path)) == []


# -- the interpreter ---------------------------------------------------------------------------------------------

GOOD_BODY = ("    x = keras.Input(batch_shape=(None, 4), dtype='float32', name='x')\n"
             "    dense = keras.layers.Dense(2, name='dense')\n"
             "    y = dense(keras.ops.maximum(x, keras.ops.convert_to_tensor([float(\"-inf\"), 0.0, 1.5, "
             "2.0], dtype='float32')))\n"
             "    z, w = keras.ops.split(y[:, -2:] * 2.0 + -1.0, 2, axis=1)\n")
GOOD_RETURN = "    return keras.Model(inputs={'x': x}, outputs=[z, w], name='converted')\n"
HEAD = '"""doc"""\n\nimport keras\n\nimport tf_migrate_runtime.layers as tfm\n\n\ndef build_model():\n    """doc"""\n'


def _program(body: str = GOOD_BODY, ret: str = GOOD_RETURN, tail: str = "") -> str:
    return HEAD + body + ret + tail


def test_the_interpreter_builds_what_the_emitters_write():
    from migrate.graph.program import build_model

    m = build_model(_program())
    x = np.asarray([[1.0, -2.0, 3.0, 4.0]], "float32")
    z, w = (np.asarray(t) for t in m({"x": x}))
    k, b = m.get_layer("dense").get_weights()
    h = np.maximum(x, [-np.inf, 0.0, 1.5, 2.0]) @ k + b
    assert z.shape == w.shape == (1, 1)
    np.testing.assert_allclose(np.concatenate([z, w], 1), h * 2.0 - 1.0, rtol=1e-6)


HOSTILE_PROGRAMS = {
    "import": _program(GOOD_BODY + "    import os\n"),
    "dunder-import": _program(GOOD_BODY + f"    c = {PAYLOAD}\n"),
    "builtin-call": _program(GOOD_BODY + f"    c = open({CANARY!r}, 'w')\n"),
    "builtin-in-argument": _program(GOOD_BODY + "    c = keras.ops.add(x, len([1]))\n"),
    "attribute-off-root": _program(GOOD_BODY + "    c = x.__class__\n"),
    "method-of-a-value": _program(GOOD_BODY + "    c = x.numpy()\n"),
    "keras-private": _program(GOOD_BODY + "    c = keras.src.utils.io_utils.os.system('touch CANARY')\n"),
    "keras-outside-table": _program(GOOD_BODY + "    c = keras.layers.TFSMLayer('CANARY')\n"),
    "keras-module": _program(GOOD_BODY + "    c = keras.ops.numpy.add(x, x)\n"),
    "function-as-argument": _program(GOOD_BODY + "    c = keras.ops.map(keras.ops.exp, x)\n"),
    "lambda": _program(GOOD_BODY + "    c = keras.layers.Dense(2, name=(lambda: 'n')())\n"),
    "comprehension": _program(GOOD_BODY + "    c = [v for v in (1, 2)]\n"),
    "f-string": _program(GOOD_BODY + "    c = f'{x}'\n"),
    "non-finite-other": _program(GOOD_BODY + "    c = float('1e999')\n"),
    "unbound-name": _program(GOOD_BODY + "    c = keras.ops.add(x, q)\n"),
    "rebind-root": _program(GOOD_BODY + "    keras = x\n"),
    "expression-statement": _program(GOOD_BODY + "    keras.ops.add(x, x)\n"),
    "power": _program(GOOD_BODY + "    c = 10 ** 10 ** 10\n"),
    "module-statement": _program(tail=f"\n{PAYLOAD}\n"),
    "module-import": HEAD.replace("import keras\n", "import keras\nimport os\n") + GOOD_BODY + GOOD_RETURN,
    "decorated": HEAD.replace("def build_model", "@print\ndef build_model") + GOOD_BODY + GOOD_RETURN,
    "training-builtin": _program(tail='\n\ndef compile_for_training(model, optimizer="adam"):\n'
                                      f"    {PAYLOAD}\n    return model\n"),
    "no-return-model": _program(ret="    return x\n"),
    "syntax": _program(GOOD_BODY + '    c = """\n'),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PROGRAMS))
def test_the_interpreter_refuses_a_hostile_program_before_calling_anything(name, monkeypatch, tmp_path):
    import keras

    from migrate.graph.program import ProgramError, build_model

    calls = []
    real_input = keras.Input
    monkeypatch.setattr(keras, "Input", lambda *a, **k: calls.append(a) or real_input(*a, **k))  # the first call
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramError, match=r"model\.py line \d+: ") as e:
        build_model(HOSTILE_PROGRAMS[name])
    assert e.value.exit_code == 2 and "\n" not in str(e.value)
    assert calls == [] and not (tmp_path / CANARY).exists()


def test_the_refusal_names_the_line():
    from migrate.graph.program import ProgramError, build_model

    src = _program(GOOD_BODY + "    c = open('f')\n")
    line = src.splitlines().index("    c = open('f')") + 1
    with pytest.raises(ProgramError, match=rf"model\.py line {line}: a call of 'open'"):
        build_model(src)


# -- the writers -------------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=40))
def test_source_text_keeps_any_text_on_one_line_and_reads_back(text):
    from migrate.graph.ir import source_text

    s = source_text(text)
    assert len(("# " + s).splitlines()) == 1 and s.isprintable()
    assert ast.literal_eval('"""' + s + '"""') == text          # a docstring holding it reads back as the text
    assert ast.literal_eval('"' + s + '"') == text               # and it cannot end a one-line string either


@pytest.mark.parametrize("value", [np.float32(-np.inf), np.float64(np.nan), np.array([1.0, np.inf, -np.inf, np.nan]),
                                   np.array([[3.4028235e38, -1e-45]], "float32"), np.array(2**63 - 1, "int64"),
                                   np.array([True, False])], ids=["-inf", "nan", "array", "float32-extremes",
                                                                  "int64-max", "bool"])
def test_literal_writes_a_valid_exact_expression(value):
    import keras

    from migrate.graph.ir import literal
    from migrate.graph.program import Program

    src = literal(np.asarray(value))
    expr = ast.parse(src, mode="eval").body
    program = Program(_program(), keras, __import__("tf_migrate_runtime.layers").layers)
    program._check_expr(expr, set())                             # a form the interpreter accepts
    got = program._eval(expr, {})
    got = keras.ops.convert_to_numpy(got) if not isinstance(got, (bool, int, float)) else np.asarray(got)
    np.testing.assert_array_equal(got, np.asarray(value))        # NaN equals NaN here
    assert np.asarray(got).dtype == np.asarray(value).dtype or np.asarray(value).ndim == 0
