"""The TF1 graph as the converter reads it: the part of a `.meta` the outputs need, imported under TF 2.21 and
restored (via `migrate.parity.tf1_graph.TF1Graph.focus`, the same object parity runs), plus the lookups translation
needs."""

from __future__ import annotations

import numpy as np

from migrate.checkpoint.tables import is_gradient  # noqa: F401 - re-exported
from migrate.graph.ir import Sym
from migrate.parity.tf1_graph import TF1Graph, TF1GraphError, describe_op_error  # noqa: F401 - re-exported

PLACEHOLDER_OPS = ("Placeholder", "PlaceholderV2", "PlaceholderWithDefault")
VARIABLE_OPS = ("VariableV2", "Variable", "VarHandleOp")
READ_OPS = ("Identity", "ReadVariableOp", "Snapshot")
TABLE_OPS = ("HashTableV2", "HashTable")   # a lookup table: read through the loader (migrate.graph.ops.lookup)
# Where a graph trained from an input pipeline takes its batches: the ops that hand out the next element of a tf.data
# iterator (TF 1.x's own, a distribution strategy's prefetch-to-device buffer, a multi-device iterator) or of a queue.
# A Keras model takes its batches as arrays, so `convert` starts the model at the outputs of these ops
# (`input_pipeline_starts`); TF 2.21 no longer registers some of them (ExperimentalFunctionBufferingResource*).
INPUT_PIPELINE_OPS = ("IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional",
                      "FunctionBufferingResourceGetNext", "ExperimentalFunctionBufferingResourceGetNext",
                      "MultiDeviceIteratorGetNextFromShard", "QueueDequeueV2", "QueueDequeueManyV2",
                      "QueueDequeueUpToV2", "QueueDequeue", "QueueDequeueMany", "QueueDequeueUpTo")


def input_pipeline_starts(proto) -> dict[str, str]:
    """{tensor: op type} for every output of an `INPUT_PIPELINE_OPS` op that the graph reads (a `ProtoGraph`, before
    the import): where the model starts when its batches come from an input pipeline."""
    starts = {}
    for i in proto.nodes_of_type(INPUT_PIPELINE_OPS):
        for port in sorted({k for _, k in proto.consumers_of(i)}):
            starts[f"{proto.names[i]}:{port}"] = proto.types[i]
    return starts
STATEFUL_RANDOM = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt", "Multinomial",
                   "RandomShuffle")
CONTROL_FLOW = ("Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond", "TensorArrayV3",
                "TensorArrayReadV3", "TensorArrayWriteV3", "TensorArrayGatherV3", "TensorArrayScatterV3",
                "TensorArraySizeV3")


class GraphView:
    """Graph lookups for translation over one restored `TF1Graph`."""

    def __init__(self, tf1: TF1Graph):
        self.tf1 = tf1
        self.graph = tf1.graph
        self.session = tf1.session
        self._aliases: dict[str, Sym] = {}
        self._values: dict[str, np.ndarray] = {}
        self._fold: dict[str, bool] = {}
        self.inference_values: dict[str, object] = {}   # placeholder op name -> value fed at inference
        self.fed: set[str] = set()   # PlaceholderWithDefault op names the user feeds: inputs, not their default
        self.dropout_draws: frozenset = frozenset()   # RandomUniform ops that are a dropout's draw (convert.py)
        self.input_names: dict[str, str] = {}   # placeholder op name -> Keras input name (a SavedModel signature key)
        self.cut_inputs: dict[str, str] = {}    # tensor -> Keras input name: where the walk stops (parsed features)

    def set_fed(self, names) -> None:
        """Placeholders the user feeds (`--inputs`): a `PlaceholderWithDefault` among them is a model input, and
        nothing computed from it is folded to its default."""
        names = set(names)
        if names != self.fed:
            self.fed = names
            self._fold.clear()

    # -- variables ----------------------------------------------------------------------------------
    def variable_of(self, tensor) -> str | None:
        """The variable op a tensor reads (`v/read` -> `v`), else None. Reads inside while frames go via Enter."""
        t, seen = tensor, 0
        while t.op.type in READ_OPS + ("Enter",) and t.op.inputs and seen < 8:
            t, seen = t.op.inputs[0], seen + 1
        if t.op.type in VARIABLE_OPS:
            return t.op.name
        return None

    def variable_values(self, name: str) -> np.ndarray:
        if name not in self._values:
            op = self.graph.get_operation_by_name(name)
            if op.type == "VarHandleOp":
                import tensorflow as tf  # noqa: PLC0415

                with self.graph.as_default():
                    t = tf.raw_ops.ReadVariableOp(resource=op.outputs[0], dtype=op.get_attr("dtype"))
            else:
                t = op.outputs[0]
            self._values[name] = np.asarray(self._session_run(t, None))
        return self._values[name]

    def _session_run(self, tensor, feed):
        import tensorflow as tf  # noqa: PLC0415

        try:
            return self.session.run(tensor, feed)
        except tf.errors.OpError as e:
            raise TF1GraphError(f"{self.tf1.meta}: computing {tensor.name} at conversion time failed: "
                                f"{describe_op_error(e)}") from None

    # -- aliases (an op entry that also produced another op's output, e.g. Dense = MatMul + BiasAdd) ----
    def alias(self, tensor, sym: Sym) -> None:
        self._aliases[tensor.name] = sym

    def aliased(self, tensor) -> Sym | None:
        return self._aliases.get(tensor.name)

    # -- constant folding ---------------------------------------------------------------------------
    def foldable(self, op) -> bool:
        """True when the op's outputs are known at conversion time (no model input, variable or randomness)."""
        if op.name in self._fold:
            return self._fold[op.name]
        stack = [op]
        while stack:
            o = stack[-1]
            if o.name in self._fold:
                stack.pop()
                continue
            verdict = None
            if o.type in PLACEHOLDER_OPS:
                verdict = o.name in self.inference_values or o.type == "PlaceholderWithDefault" and \
                    o.name not in self.fed and self._all_fold(o.inputs, stack)
            elif o.type in VARIABLE_OPS or o.type in STATEFUL_RANDOM or o.type in CONTROL_FLOW or o.type in TABLE_OPS:
                verdict = False
            elif o.type in ("Shape", "Size", "Rank") and o.inputs[0].shape.is_fully_defined():
                verdict = True
            elif o.type == "Const":
                verdict = True
            if verdict is None:
                pending = [i.op for i in o.inputs if i.op.name not in self._fold]
                if pending:
                    if any(p in stack for p in pending):  # a cycle (while loop)
                        self._fold[o.name] = False
                        stack.pop()
                        continue
                    stack.extend(pending)
                    continue
                verdict = all(self._fold[i.op.name] for i in o.inputs)
            self._fold[o.name] = bool(verdict)
            stack.pop()
        return self._fold[op.name]

    def _all_fold(self, tensors, stack) -> bool:
        return all(self.foldable(t.op) for t in tensors)

    def fold(self, tensor) -> np.ndarray:
        if tensor.op.type == "Const":  # also the Consts inside while frames (they carry a control input)
            import tensorflow as tf  # noqa: PLC0415

            return tf.make_ndarray(tensor.op.get_attr("value"))
        feed = {self.graph.get_tensor_by_name(k + ":0"): v for k, v in self.inference_values.items()}
        if tensor.op.type in ("Shape", "Size", "Rank") and tensor.op.inputs[0].shape.is_fully_defined():
            shp = tensor.op.inputs[0].shape.as_list()
            dt = tensor.dtype.as_numpy_dtype
            return np.asarray({"Shape": shp, "Size": int(np.prod(shp)), "Rank": len(shp)}[tensor.op.type], dt)
        # Shapes known statically are fed as values, so nothing upstream of them has to run.
        stack, seen = [tensor.op], set()
        while stack:
            o = stack.pop()
            if o.name in seen:
                continue
            seen.add(o.name)
            for t in o.inputs:
                if t.op.type in ("Shape", "Size", "Rank") and t.op.inputs[0].shape.is_fully_defined() or \
                        t.op.type == "Const":  # fed, so their control inputs (asserts, loop frames) do not run
                    feed[t] = self.fold(t)
                else:
                    stack.append(t.op)
        return np.asarray(self._session_run(tensor, feed))


def has_meta(prefix: str) -> bool:
    from migrate.files import find_meta  # noqa: PLC0415

    return find_meta(prefix) is not None
