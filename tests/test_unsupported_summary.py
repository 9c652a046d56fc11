"""The refusal line of `convert --from-graph` (`Translation.unsupported_summary`): every untranslated while loop
named once, by its own frame (`while`, `while_1`, at the top level too), the TensorArrays around it counted with
it, a decoder's own loops (beam search's GatherTree scan) folded into it, each told for what its ops say it is.
Rows are (op type, op name, reason) as the translator records them; no graph needed."""

from __future__ import annotations

from migrate.graph.translate import OTHER_LOOP, Translation


def summary(rows) -> str:
    return Translation(emitter=None, inputs=[], outputs=[], unsupported=rows).unsupported_summary()


def test_two_loops_in_one_scope_are_two_loops():
    line = summary([("Enter", "dec/while/Enter", ""), ("Add", "dec/while/add", ""),
                    ("Enter", "dec/while_1/Enter", ""), ("Add", "dec/while_1/add", ""), ("Exit", "dec/while_1/Exit", "")])
    assert "took: dec/while (2 ops; " in line and "took: dec/while_1 (3 ops; " in line
    assert line.count(OTHER_LOOP) == 2 and "Enter x" not in line and "around it" not in line


def test_a_top_level_loop_is_a_loop():
    line = summary([("Enter", "while/Enter", ""), ("Merge", "while/Merge", ""), ("Add", "while/add", ""),
                    ("Exit", "while/Exit", ""), ("Lgamma", "Lgamma", "no translation")])
    assert line.startswith("a while loop no recogniser took: while (4 ops; ")
    assert line.endswith("Lgamma x1 (first: Lgamma; no translation)")


def test_sibling_loops_are_told_apart_and_each_hinted_by_its_own_ops():
    line = summary([("Enter", "model/while/Enter", ""), ("Add", "model/while/add", ""),
                    ("Enter", "model/decoder/while/Enter", ""),
                    ("Add", "model/decoder/while/BeamSearchDecoderStep/add", "")])
    assert "took: model/while (2 ops; " + OTHER_LOOP in line
    assert "took: model/decoder/while (2 ops; a contrib.seq2seq dynamic_decode with BeamSearchDecoder" in line


def test_a_decoder_owns_its_gathertree_scan_and_the_tensorarrays_around_it():
    rows = [("Enter", "decoder/decoder/while/Enter", ""),
            ("Add", "decoder/decoder/while/BeamSearchDecoderStep/add", ""),
            ("Enter", "decoder/decoder/GatherTree/scan/while/Enter", ""),
            ("TensorArrayV3", "decoder/decoder/TensorArray_1", ""),
            ("TensorArrayGatherV3", "decoder/decoder/TensorArrayStack_1/TensorArrayGatherV3", ""),
            ("TensorArrayV3", "unrelated/TensorArray", "")]
    line = summary(rows)
    assert line.count("a while loop no recogniser took") == 1
    assert ("took: decoder/decoder/while (2 ops, with 1 in decoder/decoder/GatherTree/scan/while, "
            "2 TensorArray ops around it; a contrib.seq2seq dynamic_decode with BeamSearchDecoder") in line
    assert line.endswith("TensorArrayV3 x1 (first: unrelated/TensorArray)")


def test_tensorarrays_of_a_raw_rnn_stacked_in_the_callers_scope_belong_to_its_loop():
    line = summary([("Enter", "decoder/rnn/while/Enter", ""), ("Add", "decoder/rnn/while/add", ""),
                    ("TensorArraySizeV3", "decoder/TensorArrayStack/TensorArraySizeV3", "")])
    assert line == f"a while loop no recogniser took: decoder/rnn/while (2 ops, with 1 TensorArray op around it; " \
                   f"{OTHER_LOOP})"
