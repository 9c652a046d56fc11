"""The ONNX Runtime side of `benchmarks/bench_converted_speed.py`: runs INSIDE tf2onnx's own virtual environment
(`benchmarks/.venv-tf2onnx`, see `bench_graph_convert.py --install-tf2onnx`), never in the project's.

    benchmarks/.venv-tf2onnx/bin/python benchmarks/ort_timer.py MODEL.onnx

A small server on stdin / stdout, one JSON object a line, so that the benchmark can interleave this side with its
own run by run: `{"feed": "X.npz"}` loads a feed (keys = tensor names; cast to the .onnx inputs' types) and answers
`{"ok": true}` or `{"error": "..."}`; `{"run": true}` runs the session once on the loaded feed and answers
`{"seconds": s, "cpu_seconds": c}` (`time.perf_counter` / `time.process_time` around `InferenceSession.run`, the outputs as NumPy arrays, what a caller
gets; ORT's threads do not spin between runs, which would take the CPU from the side the benchmark times next); `{"save": "OUT.npz"}` writes the last outputs (`out_0`, ...); `{"quit": true}` ends. Imports nothing from
this project: only the standard library, numpy and onnxruntime.
"""

from __future__ import annotations

import json
import sys
import time

_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int32)": "int32",
          "tensor(int64)": "int64", "tensor(bool)": "bool"}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    # no busy-waiting of ORT's threads after a run: it would take the CPU from the side timed next
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    sess = ort.InferenceSession(argv[0], sess_options=options, providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    names = [o.name for o in sess.get_outputs()]
    feed, last = None, None
    out = sys.stdout
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if "feed" in cmd:
                data = dict(np.load(cmd["feed"]))
                missing = [i.name for i in inputs if i.name not in data]
                if missing:
                    raise KeyError(f"the feed lacks the .onnx inputs {missing}")
                feed = {i.name: np.asarray(data[i.name]).astype(_TYPES.get(i.type, data[i.name].dtype))
                        for i in inputs}
                reply = {"ok": True}
            elif "run" in cmd:
                c0, t0 = time.process_time(), time.perf_counter()
                last = sess.run(names, feed)
                reply = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
            elif "save" in cmd:
                np.savez(cmd["save"], **{f"out_{k}": np.asarray(v) for k, v in enumerate(last or ())})
                reply = {"ok": True}
            else:
                return 0
        except Exception as e:  # noqa: BLE001 - the benchmark prints why this side has no figure
            text = str(e).strip().splitlines()
            reply = {"error": f"{type(e).__name__}: {text[0][:300] if text else ''}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
