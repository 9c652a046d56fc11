"""The tf2onnx side of `benchmarks/bench_graph_convert.py`: runs INSIDE the benchmark's own virtual environment
(`benchmarks/.venv-tf2onnx`, made by `bench_graph_convert.py --install-tf2onnx`), never in the project's.

    benchmarks/.venv-tf2onnx/bin/python benchmarks/tf2onnx_side.py --work DIR -- ARGS...

ARGS are exactly what a user types after `python -m tf2onnx.convert` (`--checkpoint X.meta --inputs ... --outputs
... --output DIR/model.onnx`); they go to `tf2onnx.convert.main()`, the function `python -m tf2onnx.convert` runs,
in this process so that the TensorFlow import is timed apart (the project's side is timed with TF already imported).
Then the `.onnx` runs in onnxruntime on `DIR/feed.npz` (keys = tensor names, the same arrays the Keras side is fed).
Writes `DIR/result.json` (`converted`, `why`, `logged_errors`, `seconds_import`, `seconds_convert`, `seconds_ort`,
`onnx_inputs`, `onnx_outputs`, versions) and `DIR/outputs.npz` (`out_0`, `out_1`, ... in `--outputs` order).
Imports nothing from this project: only the standard library, numpy, tensorflow, tf2onnx, onnxruntime.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


class _Errors(logging.Handler):
    """Keeps what tf2onnx logs at ERROR level: it logs unsupported ops and goes on (exit 0)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage().strip().splitlines()[0][:300])
        except Exception:  # noqa: BLE001 - a message that does not format is not worth a crash
            self.lines.append(str(record.msg)[:300])


def arg_after(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def main(argv: list[str]) -> int:
    if "--work" not in argv or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    work = arg_after(argv, "--work")
    user_args = argv[argv.index("--") + 1:]
    result: dict = {"converted": False, "why": None, "logged_errors": [], "argv": user_args}

    def save():
        with open(os.path.join(work, "result.json"), "w") as f:
            json.dump(result, f, indent=2)

    t0 = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx
    import tf2onnx.convert

    result["versions"] = {"tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__,
                          "onnxruntime": ort.__version__, "numpy": np.__version__,
                          "python": sys.version.split()[0]}
    result["seconds_import"] = round(time.perf_counter() - t0, 3)
    errors = _Errors()
    logging.getLogger().addHandler(errors)

    # 1. the user's command, `python -m tf2onnx.convert ARGS`
    onnx_path = arg_after(user_args, "--output")
    t1 = time.perf_counter()
    old_argv = sys.argv
    sys.argv = ["tf2onnx.convert", *user_args]
    try:
        tf2onnx.convert.main()
        code = 0
    except SystemExit as e:  # argparse errors, sys.exit(1)
        code = e.code if isinstance(e.code, int) else 1
        if code:
            result["why"] = f"tf2onnx.convert exited {code}" + (f": {errors.lines[0]}" if errors.lines else "")
    except BaseException as e:  # noqa: BLE001 - every failure is a row of the table
        code = "exception"
        result["why"] = "tf2onnx.convert: " + first_line(e)
        result["traceback_tail"] = traceback.format_exc().strip().splitlines()[-3:]
    finally:
        sys.argv = old_argv
    result["seconds_convert"] = round(time.perf_counter() - t1, 3)
    result["exit"] = code
    result["logged_errors"] = errors.lines[:10]
    if code != 0 or not onnx_path or not os.path.isfile(onnx_path):
        if result["why"] is None:
            result["why"] = "tf2onnx.convert wrote no .onnx file"
        save()
        return 0

    # 2. the .onnx on the benchmark's feed
    t2 = time.perf_counter()
    try:
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        ins, outs = sess.get_inputs(), sess.get_outputs()
        result["onnx_inputs"] = [{"name": i.name, "type": i.type, "shape": [str(d) for d in i.shape]} for i in ins]
        result["onnx_outputs"] = [o.name for o in outs]
        feed_npz = dict(np.load(os.path.join(work, "feed.npz")))
        feed = {}
        for i in ins:
            if i.name not in feed_npz:
                raise KeyError(f"the .onnx file has an input {i.name} that the benchmark's feed does not hold")
            want = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int32)": np.int32,
                    "tensor(int64)": np.int64, "tensor(bool)": np.bool_}.get(i.type)
            v = np.asarray(feed_npz[i.name])
            feed[i.name] = v.astype(want) if want is not None else v
        wanted = (arg_after(user_args, "--outputs") or "").split(",")
        names = [n for n in wanted if n in result["onnx_outputs"]]
        if len(names) != len(wanted):
            names = result["onnx_outputs"]  # renamed outputs: keep the file's order
        got = sess.run(names, feed)
        np.savez(os.path.join(work, "outputs.npz"), **{f"out_{k}": np.asarray(v) for k, v in enumerate(got)})
        result["converted"] = True
    except BaseException as e:  # noqa: BLE001
        why = first_line(e).replace(f"Load model from {onnx_path} failed:", "")
        unsupported = next((ln for ln in errors.lines if ln.startswith("Unsupported ops:")), None)
        said = (f"tf2onnx.convert exited 0 with {unsupported} left in the .onnx; " if unsupported else
                f"tf2onnx.convert exited 0 after logging '{errors.lines[0]}'; " if errors.lines else "")
        result["why"] = said + "onnxruntime: " + why
    result["seconds_ort"] = round(time.perf_counter() - t2, 3)
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
