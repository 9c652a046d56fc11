"""A stack of recurrent layers run in one loop: how `tfm.Model` runs consecutive `tfm.LSTM` / `GRU` / `SimpleRNN`.

TF1's `MultiRNNCell` inside one `dynamic_rnn` / `static_rnn` ran every layer's cell for step t before step t + 1, in
one while loop; a converted model keeps one Keras layer per cell (each with its own name and weights: `inspect`,
`--to tf1` and `model.py` name them), which Keras runs as one loop per layer. On TensorFlow's CPU the loops, not
the steps, were what a converted char-RNN lost to its graph (docs/performance.md, "What is left"): `tfm.Model`
finds, once per model, the chains of runtime recurrent layers where each layer's output sequence feeds only the
next one, and when it runs its graph on TensorFlow tensors runs each chain through `recurrent.stack_loop`: the
same layers, weights and results, one `tf.while_loop`.

A chain is two or more layers, each an exact `tfm.LSTM` / `GRU` / `SimpleRNN` (TF1's fused step) called on one
sequence (with `mask=` and `initial_state=` as keywords, nothing else), not `go_backwards` / `unroll` /
`stateful`, without dropout, every layer but the top returning sequences, whose output sequence nothing else reads
(not a model output, no other layer). At run time it runs as one loop only where each layer takes its fast path
(`recurrent._fast_path`: TensorFlow without a GPU; under XLA only layers of a narrow product), in a traced call (an eager call layer by layer,
`trace_eager_calls = False`, stays layer by layer: that mode is for debugging), with one mask for the whole stack
(each layer's `mask=`, or the one its input carries) and every initial state already computed; otherwise the
layers run one by one, as Keras runs them. JAX and PyTorch: Keras' own layers, one by one.
"""

from __future__ import annotations

import keras

_PLAN = "_tfm_stack_plan"   # kept on the model past Keras' attribute tracking (recomputed per model object)


def _runtime_classes():
    from tf_migrate_runtime.layers.recurrent import GRU, LSTM, SimpleRNN  # noqa: PLC0415 - no import cycle

    return (LSTM, GRU, SimpleRNN)


def _eligible(node) -> bool:
    """`node` calls one runtime recurrent layer on one sequence, with at most `mask=` / `initial_state=`."""
    layer = node.operation
    if type(layer) not in _runtime_classes() or not getattr(layer, "built", False):
        return False
    if layer.go_backwards or layer.unroll or layer.stateful:
        return False
    if layer.cell.dropout or layer.cell.recurrent_dropout:
        return False
    args, kwargs = node.arguments.args, node.arguments.kwargs
    if len(args) != 1 or not isinstance(args[0], keras.KerasTensor):
        return False
    return set(kwargs) <= {"mask", "initial_state", "training"}


def plan(model) -> dict:
    """{id(first node): [nodes of the chain, bottom to top]} for `model`'s chains of two or more layers (cached)."""
    cached = model.__dict__.get(_PLAN)
    if cached is not None:
        return cached
    nodes = [n for depth in model._nodes_by_depth.values() for n in depth if n.operation and not n.is_input]
    readers = {}   # id(KerasTensor) -> how many times a node or the model's outputs read it
    for n in nodes:
        for x in n.input_tensors:
            readers[id(x)] = readers.get(id(x), 0) + 1
    for x in model.outputs:
        readers[id(x)] = readers.get(id(x), 0) + 1
    eligible = [n for n in nodes if _eligible(n)]
    by_seq_output = {id(n.outputs[0]): n for n in eligible if n.operation.return_sequences}
    above = {}   # id(node) -> the node it feeds
    for n in eligible:
        below = by_seq_output.get(id(n.arguments.args[0]))
        if below is not None and readers.get(id(n.arguments.args[0])) == 1:
            above[id(below)] = n
    fed = {id(n) for n in above.values()}
    chains = {}
    for n in eligible:
        if id(n) in fed or id(n) not in above:
            continue
        chain = [n]
        while id(chain[-1]) in above:
            chain.append(above[id(chain[-1])])
        chains[id(n)] = chain
    object.__setattr__(model, _PLAN, chains)
    return chains


def _value(x, tensor_dict):
    """A node argument's computed value; KeyError when it is not computed yet."""
    return tensor_dict[id(x)] if isinstance(x, keras.KerasTensor) else x


def _run_chain(chain, tensor_dict) -> bool:
    """Run `chain` in one loop and put every output its layers return (but the sequences between them) into
    `tensor_dict`; False (nothing written) where the chain cannot run as one loop."""
    import tensorflow as tf  # noqa: PLC0415 - the TensorFlow backend only

    from tf_migrate_runtime._keras_internals import keras_mask, set_keras_mask  # noqa: PLC0415
    from tf_migrate_runtime.layers.recurrent import _fast_path, stack_loop  # noqa: PLC0415

    layers = [n.operation for n in chain]
    if tf.executing_eagerly() or not all(_fast_path(layer, False) for layer in layers):
        return False
    seq = tensor_dict.get(id(chain[0].arguments.args[0]))
    if seq is None or isinstance(seq, keras.KerasTensor) or not tf.is_tensor(seq):
        return False
    if any(seq.dtype != tf.as_dtype(layer.compute_dtype) for layer in layers):
        return False
    mask = keras_mask(seq)
    inits = []
    try:
        for k, node in enumerate(chain):
            kw = node.arguments.kwargs
            if "mask" in kw:
                given = _value(kw["mask"], tensor_dict)
                if k == 0:
                    mask = given
                elif given is not mask:   # a layer of its own mask: not one stack
                    return False
            init = kw.get("initial_state")
            if init is None:
                init = node.operation.get_initial_state(batch_size=tf.shape(seq)[0])
            else:
                init = [_value(s, tensor_dict) for s in (init if isinstance(init, list | tuple) else [init])]
                if any(s is None for s in init):
                    return False
            dtype = node.operation.cell.compute_dtype
            inits.append([tf.convert_to_tensor(s, dtype=dtype) for s in init])
    except KeyError:   # an initial state or mask computed after the stack's input: layer by layer
        return False
    results = stack_loop(layers, seq, inits, mask)
    for node, layer, (last, outputs, states) in zip(chain, layers, results):
        output = outputs if layer.return_sequences else last
        flat = [output, *states] if layer.return_state else [output]
        if mask is not None and output is not None and layer.return_sequences:   # RNN.compute_mask's
            set_keras_mask(output, mask)
        for x, y in zip(node.outputs, flat):
            if y is not None:
                tensor_dict[id(x)] = y
    return True


def run_through_graph(model, inputs, operation_fn, chains):
    """Keras' `Function._run_through_graph` (keras/src/ops/function.py) with each chain of `chains` run as one loop
    where it can (`_run_chain`), layer by layer otherwise."""
    tree = keras.tree
    inputs = tree.flatten(inputs)
    tensor_dict = {id(x): y for x, y in zip(model.inputs, inputs)}
    done = set()
    get_op = getattr(model, "_get_operation_for_node", lambda node: node.operation)
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if not node.operation or node.is_input or id(node) in done:
                continue
            if any(id(x) not in tensor_dict for x in node.input_tensors):
                continue
            chain = chains.get(id(node))
            if chain is not None and _run_chain(chain, tensor_dict):
                done.update(id(n) for n in chain)
                continue
            args, kwargs = node.arguments.fill_in(tensor_dict)
            outputs = operation_fn(get_op(node))(*args, **kwargs)
            for x, y in zip(node.outputs, tree.flatten(outputs)):
                tensor_dict[id(x)] = y
    output_tensors = []
    for x in model.outputs:
        if id(x) not in tensor_dict:
            raise ValueError(f"the output {x.name} of model {model.name!r} is not connected to its inputs")
        output_tensors.append(tensor_dict[id(x)])
    return tree.pack_sequence_as(model._outputs_struct, output_tensors)
