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
| `api_v2`            | public names of `tf.*` (`tensorflow/_api/v2/**/__init__.py`, read with `ast`) |
| `api_legacy_keras`  | `tf.compat.v1.layers.*` / `tf.compat.v1.nn.rnn_cell.*` (tf_keras `_v1` legacy) |
| `tf_slim`           | `dir()` of `tf_slim` and, by attribute, of each of its submodules            |

`tf.keras.*` is Keras 3 under TF 2.16+ and is not enumerated: the codemod treats it as resolvable.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

TABLES_PATH = Path(__file__).with_name("tf_tables.json")

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
        "api_v2": sorted(api_v2),
        "api_legacy_keras": sorted(legacy),
        "tf_slim": sorted(slim),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped tables are stale")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    text = json.dumps(generate(), indent=0, sort_keys=False) + "\n"
    if args.check:
        old = TABLES_PATH.read_text(encoding="utf-8") if TABLES_PATH.exists() else ""
        if old != text:
            print(f"{TABLES_PATH} is stale for the installed TensorFlow: run "
                  "`python -m migrate.codemod.generate_tables` and review the diff", file=sys.stderr)
            return 1
        return 0
    tmp = TABLES_PATH.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, TABLES_PATH)
    print(f"wrote {TABLES_PATH} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
