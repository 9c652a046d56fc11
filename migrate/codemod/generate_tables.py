"""Generate `tf_tables.json`: the rename knowledge of the installed TensorFlow, frozen for the codemod.

Run `python -m migrate.codemod.generate_tables` after upgrading TensorFlow; `--check` exits 1 when the
shipped file no longer matches what the installed packages say (the test suite runs it).

Sources, all read from the installed packages (nothing is typed by hand here):

| key                 | source                                                                        |
|---------------------|-------------------------------------------------------------------------------|
| `symbol_renames`    | `tf_upgrade_v2.TFAPIChangeSpec().symbol_renames` (renames_v2 + all_renames_v2) |
| `keyword_renames`   | `TFAPIChangeSpec().function_keyword_renames` (`None`: argument removed)        |
| `reorders`          | `TFAPIChangeSpec().function_reorders` (TF1 positional order of changed funcs)  |
| `module_deprecations` | `TFAPIChangeSpec().module_deprecations` (level, message)                     |
| `function_warnings` | `TFAPIChangeSpec().function_warnings` (level, message)                        |
| `signatures_v2`     | TF 2.21's parameter names (`inspect.signature`) of the TF 2 names in `reorders`, `keyword_renames` and `semantics.SEMANTICS` |
| `api_v2`            | public names of `tf.*` (`tensorflow/_api/v2/**/__init__.py`, read with `ast`) |
| `api_legacy_keras`  | `tf.compat.v1.layers.*` / `tf.compat.v1.nn.rnn_cell.*` (tf_keras `_v1` legacy) |
| `tf_slim`           | `dir()` of `tf_slim` and, by attribute, of each of its submodules            |
| `tf_slim_modules`   | each submodule of tf_slim importable by its dotted path (`pkgutil`) -> its public names |

`tf.keras.*` is Keras 3 under TF 2.16+ and is not enumerated: the codemod treats it as resolvable.

`tf_private_modules.json` (loaded only for files that import TensorFlow's private packages):

| key        | source                                                                                 |
|------------|----------------------------------------------------------------------------------------|
| `modules`  | every module under `tensorflow.{python,core,compiler,lite,tools,dtensor,tsl}`: located with `importlib.util.find_spec`, then the package directories walked (`.py`, packages, extension modules) |
| `defined`  | per module, the names its top level defines (`def`, `class`, assignments), read with `ast`  |
| `imported` | per module, the names its top level imports (importable from it too)                    |
| `open`     | modules whose names cannot be listed (extension modules, `*` imports, `__getattr__`, `globals()`, tests): any name is taken to exist |
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

TABLES_PATH = Path(__file__).with_name("tf_tables.json")
PRIVATE_PATH = Path(__file__).with_name("tf_private_modules.json")
# TensorFlow's private top-level packages (tables.PRIVATE_MODULES).
PRIVATE_TOPS = ("python", "core", "compiler", "lite", "tools", "dtensor", "tsl")

# `tf.compat.v1` attributes set by `_KerasLazyLoader` (not by imports): name -> tf_keras module dir.
LEGACY_KERAS_MODULES = {
    "tf.compat.v1.layers": "tf_keras/api/_v1/keras/__internal__/legacy/layers",
    "tf.compat.v1.nn.rnn_cell": "tf_keras/api/_v1/keras/__internal__/legacy/rnn_cell",
}


def _api_names(package_dir: Path, prefix: str, out: set[str], api_root: str, init: Path | None = None) -> None:
    """Public names of one generated API `__init__.py` (and, recursively, its submodules)."""
    init = init or package_dir / "__init__.py"
    if not init.exists():
        return
    out.add(prefix)
    tree = ast.parse(init.read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        for alias in node.names:
            name = alias.asname or alias.name
            if name.startswith("_") or name == "*":
                continue
            sub = package_dir / name
            if node.module.startswith(api_root) and (sub / "__init__.py").exists():
                _api_names(sub, f"{prefix}.{name}", out, api_root)
            else:
                out.add(f"{prefix}.{name}")


def _package_names(package) -> set[str]:
    """Dotted names reachable by attribute from `package` after `import package` (what code written as
    `package.a.b` can use): the members of the package and, recursively, of its submodules."""
    import types  # noqa: PLC0415

    out: set[str] = set()
    seen: set[int] = set()

    def walk(module, name: str) -> None:
        seen.add(id(module))
        out.add(name)
        for attr in dir(module):
            if attr.startswith("_"):
                continue
            value = getattr(module, attr)
            if isinstance(value, types.ModuleType):
                if not value.__name__.startswith(package.__name__ + "."):
                    continue  # `tf`, `np`, `six` imported by the module: not its API
                if id(value) not in seen:
                    walk(value, f"{name}.{attr}")
                    continue
            out.add(f"{name}.{attr}")

    walk(package, package.__name__)
    return out


def _submodule_names(package) -> dict[str, list[str]]:
    """Every submodule of `package` importable by its dotted path (`from tf_slim.nets.inception_v3 import
    inception_v3_base`; not always an attribute after `import tf_slim`) -> its public top-level names."""
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    out: dict[str, list[str]] = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.endswith("_test") or any(p.startswith("_") for p in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        out[info.name] = sorted(a for a in dir(module) if not a.startswith("_"))
    return out


def _top_level_names(source: str) -> tuple[set[str], set[str]] | None:
    """(defined, imported) names of a module's top level (inside top-level `if` / `try` / `with` too);
    None when they cannot be listed statically."""
    if "__getattr__" in source or "globals()" in source or "sys.modules[__name__]" in source:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    defined: set[str] = set()
    imported: set[str] = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                defined.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import):
            imported.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if any(a.name == "*" for a in node.names):
                return None
            imported.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar":
            stack.extend(node.body)
            stack.extend(getattr(node, "orelse", ()))
            stack.extend(getattr(node, "finalbody", ()))
            for handler in getattr(node, "handlers", ()):
                stack.extend(handler.body)
    return defined, imported - defined


def private_modules() -> dict:
    """`tf_private_modules.json`: what TensorFlow's private packages hold (see the module docstring)."""
    import importlib.util  # noqa: PLC0415

    import tensorflow as tf  # noqa: PLC0415

    modules: set[str] = set()
    defined: dict[str, list[str]] = {}
    imported: dict[str, list[str]] = {}
    opened: set[str] = set()
    for top in PRIVATE_TOPS:
        spec = importlib.util.find_spec(f"tensorflow.{top}")
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            for root, dirs, files in os.walk(location):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__" and d.isidentifier())
                rel = os.path.relpath(root, location)
                package = f"tensorflow.{top}" + ("" if rel == "." else "." + rel.replace(os.sep, "."))
                modules.add(package)  # a directory imports as a (namespace) package
                for name in sorted(files):
                    stem, _, ext = name.partition(".")
                    if not stem.isidentifier() or not (ext == "py" or ext.endswith(("so", "pyd"))):
                        continue
                    module = package if stem == "__init__" else f"{package}.{stem}"
                    modules.add(module)
                    if ext != "py" or stem.endswith("_test") or "kernel_tests" in module:
                        opened.add(module)
                        continue
                    names = _top_level_names(Path(root, name).read_text(encoding="utf-8", errors="replace"))
                    if names is None:
                        opened.add(module)
                        continue
                    if names[0]:
                        defined[module] = sorted(names[0])
                    if names[1]:
                        imported[module] = sorted(names[1])
    return {
        "_generated_by": "python -m migrate.codemod.generate_tables",
        "tensorflow_version": tf.__version__,
        "modules": sorted(modules),
        "open": sorted(opened),
        "defined": dict(sorted(defined.items())),
        "imported": dict(sorted(imported.items())),
    }


def _signatures(tf, api_v2: set[str], names: set[str]) -> dict[str, list[str]]:
    """TF 2.21's parameter names of each TF 2 name among `names` and the semantic-change table: where a
    TF 1 positional order differs from TF 2's (`Tables.diverges`)."""
    import inspect  # noqa: PLC0415

    from migrate.codemod.semantics import SEMANTICS  # noqa: PLC0415

    out: dict[str, list[str]] = {}
    for name in sorted(names | set(SEMANTICS)):
        if name not in api_v2 or name.startswith("tf.compat."):
            continue
        obj = tf
        for part in name.split(".")[1:]:
            obj = getattr(obj, part)
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):  # a builtin without a signature
            continue
        out[name] = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                     or p.kind == p.KEYWORD_ONLY]
    return out


def generate() -> dict:
    import tensorflow as tf  # noqa: PLC0415  (the generator may import TF; the codemod never does)
    import tf_slim  # noqa: PLC0415
    from tensorflow.tools.compatibility import tf_upgrade_v2  # noqa: PLC0415

    spec = tf_upgrade_v2.TFAPIChangeSpec()
    site = Path(tf.__file__).resolve().parent.parent
    api_v2: set[str] = set()
    # The top level is `tensorflow/__init__.py`; its submodules live in `tensorflow/_api/v2/<name>/`.
    _api_names(site / "tensorflow/_api/v2", "tf", api_v2, "tensorflow._api.v2", init=site / "tensorflow/__init__.py")
    legacy: set[str] = set()
    for prefix, rel in LEGACY_KERAS_MODULES.items():
        _api_names(site / rel, prefix, legacy, "tf_keras.api._v1")
    slim = _package_names(tf_slim)

    signatures = _signatures(tf, api_v2, set(spec.function_reorders) | set(spec.function_keyword_renames))

    def level_msg(table):
        return {k: [v[0], v[1]] for k, v in sorted(table.items()) if isinstance(v, tuple) and len(v) == 2}

    return {
        "_generated_by": "python -m migrate.codemod.generate_tables",
        "tensorflow_version": tf.__version__,
        "symbol_renames": dict(sorted(spec.symbol_renames.items())),
        "keyword_renames": {k: dict(v) for k, v in sorted(spec.function_keyword_renames.items())},
        "reorders": {k: list(v) for k, v in sorted(spec.function_reorders.items())},
        "module_deprecations": level_msg(spec.module_deprecations),
        "function_warnings": level_msg(spec.function_warnings),
        "signatures_v2": signatures,
        "api_v2": sorted(api_v2),
        "api_legacy_keras": sorted(legacy),
        "tf_slim": sorted(slim),
        "tf_slim_modules": _submodule_names(tf_slim),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped tables are stale")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    outputs = [(TABLES_PATH, json.dumps(generate(), indent=0, sort_keys=False) + "\n"),
               (PRIVATE_PATH, json.dumps(private_modules(), indent=0, sort_keys=False) + "\n")]
    if args.check:
        stale = [path for path, text in outputs
                 if (path.read_text(encoding="utf-8") if path.exists() else "") != text]
        for path in stale:
            print(f"{path} is stale for the installed TensorFlow: run "
                  "`python -m migrate.codemod.generate_tables` and review the diff", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        print(f"wrote {path} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
