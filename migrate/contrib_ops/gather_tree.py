"""`GatherTree` (contrib.seq2seq `gather_tree`, TF 1.3-1.15 `contrib/seq2seq/kernels/beam_search_ops.cc`): what
`BeamSearchDecoder.finalize` runs after the decode loop to back-track the beams into whole hypotheses.

Inputs `step_ids [T, B, beam]`, `parent_ids [T, B, beam]`, `max_sequence_lengths int32 [B]`, `end_token` scalar
(attr `T: {int32}`); equivalent: `tf_migrate_runtime.layers.gather_tree.gather_tree` (keras.ops, tested against a
NumPy port of the kernel). TF 1.1/1.2 wrote a three-input `GatherTree(step_ids, parent_ids, sequence_length
[B, beam])` with other semantics: refused.
"""

from __future__ import annotations

from migrate.contrib_ops import ContribOp


def build(inputs, node):
    from tf_migrate_runtime.layers.gather_tree import gather_tree  # noqa: PLC0415

    step_ids, parent_ids, lengths, end_token = inputs
    out = gather_tree(step_ids, parent_ids, lengths, end_token)
    out.set_shape(step_ids.shape)
    return out


def emit(em, syms, name: str) -> str:
    lname = em.layer_name(name)
    ids, parents, lengths, end = (em.value(s) for s in syms)
    return (f"tfm.GatherTree(name={lname!r})({ids}, {parents}, max_sequence_lengths={lengths}, "
            f"end_token={end})")


def refuse(node) -> str | None:
    n = sum(1 for i in node.input if not i.startswith("^"))
    if n != 4:
        return (f"a GatherTree with {n} inputs (TF 1.1/1.2's form: step_ids, parent_ids, sequence_length [B, beam]) "
                f"is not handled; TF 1.3+ writes 4 (step_ids, parent_ids, max_sequence_lengths, end_token). "
                f"Re-export the graph with TF 1.3 or later, or choose outputs that do not read it")
    return None


OP = ContribOp(
    "GatherTree", "contrib.seq2seq `gather_tree` / `BeamSearchDecoder.finalize` (beam_search_ops.cc)",
    build, emit, "tfm.GatherTree", refuse)
