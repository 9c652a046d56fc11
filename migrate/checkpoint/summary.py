"""The few lines `tf-migrate convert` (and the demo) print about a conversion report."""

from __future__ import annotations


def summary_lines(report: dict) -> list[str]:
    """One line on what was written and from what, then one line per warning."""
    c = report["counts"]
    fb = report["forget_bias"]
    fb_text = "no forget bias (GRU)" if fb["value"] is None else f"forget bias {fb['value']} from {fb['source']}"
    opt = report["optimizer"]
    lines = [f"wrote {report['output']['path']} ({report['output']['format']}): {c['keras_weights_assigned']}/"
             f"{c['keras_weights']} Keras weights from {c['used']} of {c['checkpoint_variables']} checkpoint variables; "
             f"{c['ignored']} ignored with a reason; {fb_text}"
             + (f"; Adam state at step {opt['iterations']}" if opt else "")]
    lines += [f"warning: {w}" for w in report["warnings"]]
    if report["unexpected"]:
        lines.append(f"warning: {len(report['unexpected'])} unexpected checkpoint weight(s) not converted "
                     f"(dropped with --allow-unused; the report lists them): {', '.join(report['unexpected'][:4])}")
    return lines
