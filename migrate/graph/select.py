"""Which tensors a converted model returns and which placeholders it takes.

Outputs (unless `--outputs` names them): the tensors the graph's LOSS is computed from. The loss is found as
(1) what `tf.gradients` differentiated (the input of a `.../gradients/Shape` op, TF 1.0-1.15 all write it),
else (2) the `losses` collection, else (3) a scalar float op named `*loss*`. Walking back from the loss, a
placeholder from which no op that uses a variable (MatMul, Gather, BiasAdd, ...) can be reached is a LABEL
(targets, target weights);
the outputs are the last tensors computed from variables without any label, i.e. those a label-dependent
op consumes (`logits` for `sparse_softmax_cross_entropy_with_logits(labels, logits)`, the prediction for a
squared error). A graph without a loss: the sink tensors named like logits / probabilities / predictions /
output.

Inference values: a scalar placeholder named like `keep_prob` takes 1.0, like a dropout rate 0.0, like
`is_training` False (`--feed` overrides); a `PlaceholderWithDefault` keeps its default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migrate.graph.meta import PLACEHOLDER_OPS, VARIABLE_OPS

INFERENCE_VALUES = [  # (name pattern, value): first match wins; only scalar (or rank-unknown) placeholders
    (re.compile(r"keep[_]?prob|keep$|keep_probability", re.I), 1.0),
    (re.compile(r"dropout|drop_rate|rate$", re.I), 0.0),
    (re.compile(r"is_train|training|is_training|phase|train_mode", re.I), False),
]
OUTPUT_NAMES = re.compile(r"logits|probabilit|predict|output|softmax|argmax|sample_id|scores", re.I)
_SKIP_SCOPES = re.compile(r"(^|/)(gradients|save|Adam|GradientDescent|Momentum|RMSProp|Adagrad|train|training|"
                          r"optimizer|summaries|init)(_\d+)?(/|$)")


@dataclass
class Selection:
    outputs: list[str]
    why: str
    loss: str | None = None
    labels: list[str] = field(default_factory=list)


def data_ancestors(ops, stop=lambda o: False):
    """Every op the given ops depend on through data inputs (not control inputs)."""
    seen, stack = {}, list(ops)
    while stack:
        o = stack.pop()
        if o.name in seen:
            continue
        seen[o.name] = o
        if stop(o):
            continue
        stack.extend(t.op for t in o.inputs)
    return seen


def find_loss(graph):
    ops = graph.get_operations()
    for o in ops:
        if o.type == "Shape" and re.search(r"(^|/)gradients(_\d+)?/Shape$", o.name) and o.inputs:
            t = o.inputs[0]
            return t, f"the tensor tf.gradients differentiates ({o.name} reads it)"
    for o in ops:  # a scalar loss: gradients/Shape is a Const; the first gradient op is named <loss>_grad/...
        m = re.search(r"(^|/)gradients(_\d+)?/(Fill|grad_ys_\d+)$", o.name) if o.type == "Fill" else None
        if m:
            for c in o.outputs[0].consumers():
                g = re.search(r"gradients(?:_\d+)?/(.+?)_grad/", c.name)
                if g:
                    try:
                        fwd = graph.get_operation_by_name(g.group(1))
                    except KeyError:
                        continue
                    return fwd.outputs[0], f"the tensor tf.gradients differentiates ({c.name} is its gradient)"
    losses = graph.get_collection("losses")
    if losses:
        return losses[0], "the 'losses' collection"
    for o in ops:
        if "loss" in o.name.lower().rsplit("/", 1)[-1] and o.outputs and o.outputs[0].shape.rank == 0 \
                and o.outputs[0].dtype.is_floating and not _SKIP_SCOPES.search(o.name):
            return o.outputs[0], "the scalar named like a loss"
    return None, ""


def choose_outputs(graph) -> Selection:
    loss, how = find_loss(graph)
    if loss is not None:
        anc = data_ancestors([loss.op])
        placeholders = [o for o in anc.values() if o.type in PLACEHOLDER_OPS]
        depends_var = _depends(anc, lambda o: o.type in VARIABLE_OPS)
        consumers_of_vars = [o for o in anc.values() if _reads_variable(o)]
        feeds_model = set(data_ancestors(consumers_of_vars))
        labels = [p.name for p in placeholders if p.name not in feeds_model]
        label_set = set(labels)
        tainted = _depends(anc, lambda o: o.name in label_set)
        outs = []
        for name, o in anc.items():
            if tainted[name] or not depends_var[name] or o.type in VARIABLE_OPS or o.type in ("Identity",) and \
                    o.inputs and o.inputs[0].op.type in VARIABLE_OPS:
                continue
            for t in o.outputs:
                users = [c for c in t.consumers() if c.name in anc and tainted[c.name]]
                if users:
                    outs.append(_climb(t, users[0]).name)
        outs = _dedupe_identities(graph, list(dict.fromkeys(outs)))
        if outs:
            return Selection(outs, f"the loss is {loss.name} ({how}); the outputs are the tensors it is computed "
                                   f"from that depend on the model's variables and on no label "
                                   f"(labels: {', '.join(labels) or 'none'})", loss.name, labels)
    sinks = []
    for o in graph.get_operations():
        if _SKIP_SCOPES.search(o.name) or o.type in PLACEHOLDER_OPS + VARIABLE_OPS + ("Const", "NoOp", "Assign"):
            continue
        for t in o.outputs:
            if not t.consumers() or all(c.type in ("HistogramSummary", "ScalarSummary") for c in t.consumers()):
                if OUTPUT_NAMES.search(o.name):
                    sinks.append(t.name)
    if sinks:
        return Selection(sinks, "the graph has no loss; the outputs are its unconsumed tensors named like "
                                "logits / probabilities / predictions / output")
    return Selection([], "no loss and no tensor named like logits / predictions / output; pass --outputs")


def _depends(anc, pred):
    """name -> does the op (transitively, within anc) depend on an op satisfying pred: a forward walk over
    consumers from every op satisfying pred (loops need no special case)."""
    memo = {name: False for name in anc}
    stack = [o for o in anc.values() if pred(o)]
    for o in stack:
        memo[o.name] = True
    while stack:
        o = stack.pop()
        for t in o.outputs:
            for c in t.consumers():
                if c.name in anc and not memo[c.name]:
                    memo[c.name] = True
                    stack.append(c)
    return memo


def _reads_variable(o) -> bool:
    """The op takes a variable's value as a direct input (a layer's weight use: MatMul, Gather, BiasAdd, ...)."""
    for t in o.inputs:
        src, hops = t, 0
        while src.op.type in ("Identity", "Enter", "ReadVariableOp") and src.op.inputs and hops < 4:
            src, hops = src.op.inputs[0], hops + 1
        if src.op.type in VARIABLE_OPS and o.type not in ("Identity", "Enter", "ReadVariableOp", "Assign"):
            return True
    return False


def _climb(t, user):
    """A tensor reshaped inside the loss function's own scope (`SparseSoftmaxCrossEntropyWithLogits/Reshape`)
    -> the tensor the model produced (the logits)."""
    scope = user.name.rsplit("/", 1)[0] + "/" if "/" in user.name else None
    while scope and t.op.name.startswith(scope) and t.op.type in _SHAPE_ONLY and t.op.inputs:
        t = t.op.inputs[0]
    return t


_SHAPE_ONLY = ("Reshape", "Identity", "Cast", "ExpandDims", "Squeeze", "Transpose")


def _dedupe_identities(graph, outs):
    """Drop an output that is only an Identity of another chosen output."""
    names = set(outs)
    keep = []
    for n in outs:
        t = graph.get_tensor_by_name(n)
        if t.op.type == "Identity" and t.op.inputs[0].name in names:
            continue
        keep.append(n)
    return keep


def inference_value(op) -> object | None:
    """The value a scalar mode placeholder takes at inference (None: a real input)."""
    if op.type not in PLACEHOLDER_OPS or op.type == "PlaceholderWithDefault":
        return None
    shape = op.outputs[0].shape
    if shape.rank not in (None, 0):
        return None
    leaf = op.name.rsplit("/", 1)[-1]
    for pattern, value in INFERENCE_VALUES:
        if pattern.search(leaf):
            if isinstance(value, bool) and not op.outputs[0].dtype.is_bool:
                return None
            if not isinstance(value, bool) and not op.outputs[0].dtype.is_floating:
                return None
            return value
    return None


LOSS_OPS = {  # TF1 loss op -> the Keras loss that reproduces it on the converted model's output
    "SparseSoftmaxCrossEntropyWithLogits": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
    "SoftmaxCrossEntropyWithLogits": "keras.losses.CategoricalCrossentropy(from_logits=True)",
    "SigmoidCrossEntropyWithLogits": "keras.losses.BinaryCrossentropy(from_logits=True)",
    "SquaredDifference": "keras.losses.MeanSquaredError()",
}


def training_loss(graph, loss_name: str | None, labels: list[str]) -> dict | None:
    """The Keras loss for `fit` that reproduces the graph's loss, and whether a sequence mask weights it."""
    if not loss_name:
        return None
    loss = graph.get_tensor_by_name(loss_name)
    anc = data_ancestors([loss.op])
    kinds = [o for o in anc.values() if o.type in LOSS_OPS]
    if not kinds and any(o.type == "Square" for o in anc.values()) and any(o.type == "Sub" for o in anc.values()):
        return {"graph": loss_name, "keras": "keras.losses.MeanSquaredError()", "labels": labels,
                "sequence_mask": False}
    if not kinds:
        return None
    masked = any(o.type in ("SequenceMask",) or "sequence_mask" in o.name.lower() or "SequenceMask" in o.name
                 for o in anc.values())
    return {"graph": loss_name, "keras": LOSS_OPS[kinds[0].type], "labels": labels,
            "sequence_mask": masked, "note": "pass the target mask as sample_weight" if masked else ""}
