"""contrib.seq2seq beam search in `tf_migrate_runtime`: `BeamSearchDecoder` + `dynamic_decode` against a NumPy beam
search, `gather_tree` against contrib's kernel semantics, `tile_batch`, `SampleEmbeddingHelper`.

One graph, one session for the module. The decoder's cell is a small deterministic RNN whose logits depend on the
previous token *and* on its state (counts of the tokens fed so far), so a wrong parent gather of the cell state,
a wrong top-k over beams, wrong finished/length bookkeeping or a wrong back-tracking all change the result.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_migrate_runtime.contrib import seq2seq  # noqa: E402

V, BEAM, B, EOS, START, MAX_T = 6, 3, 2, 5, 0, 7
RNG = np.random.default_rng(7)
W = RNG.normal(scale=2.0, size=(V, V)).astype(np.float32)  # previous token -> logits
U = RNG.normal(scale=0.3, size=(V, V)).astype(np.float32)  # token counts so far -> logits
W[:, EOS] += 2.5  # some hypotheses end early (lengths 2, 1 and 7): finished beams keep being carried


class _CountingCell(tf.compat.v1.nn.rnn_cell.RNNCell):
    """logits = x @ W + counts @ U; counts += x (x is the one-hot previous token)."""

    @property
    def state_size(self):
        return V

    @property
    def output_size(self):
        return V

    def call(self, inputs, state):
        new_state = state + inputs
        return tf.matmul(inputs, W) + tf.matmul(new_state, U), new_state


def _log_softmax(x):
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def _numpy_beam_search(first_counts):
    """contrib's algorithm for one batch row (length penalty 0): ids [T, beam], scores [T, beam], lengths [beam]."""
    min_f32 = np.finfo(np.float32).min
    log_probs = np.array([0.0] + [-np.inf] * (BEAM - 1))
    prev = np.full(BEAM, START)
    counts = np.tile(first_counts, (BEAM, 1))
    finished = np.zeros(BEAM, bool)
    lengths = np.zeros(BEAM, np.int64)
    step_ids, parents, scores = [], [], []
    for _ in range(MAX_T):
        counts = counts + np.eye(V)[prev]
        total = np.empty((BEAM, V))
        for k in range(BEAM):
            step = _log_softmax(np.eye(V)[prev[k]] @ W + counts[k] @ U)
            if finished[k]:
                step = np.full(V, min_f32)
                step[EOS] = 0.0
            total[k] = log_probs[k] + step
        flat = total.reshape(-1)
        order = np.argsort(-flat, kind="stable")[:BEAM]
        parent, word = order // V, order % V
        lengths = lengths[parent] + (~finished[parent]).astype(np.int64)
        finished = finished[parent] | (word == EOS)
        log_probs, counts, prev = flat[order], counts[parent], word
        step_ids.append(word)
        parents.append(parent)
        scores.append(flat[order])
        if finished.all():
            break
    step_ids, parents = np.array(step_ids), np.array(parents)
    ids = np.full_like(step_ids, EOS)  # back-track, then EOS after the first EOS (gather_tree)
    for k in range(BEAM):
        beam = k
        for t in range(len(step_ids) - 1, -1, -1):
            ids[t, k] = step_ids[t, beam]
            beam = parents[t, beam]
        seen = np.cumsum(ids[:, k] == EOS) - (ids[:, k] == EOS) > 0
        ids[seen, k] = EOS
    return ids, np.array(scores), lengths


@pytest.fixture(scope="module")
def results():
    first_counts = RNG.uniform(0.0, 0.5, size=(B, V)).astype(np.float32)
    with tf.Graph().as_default() as graph:
        cell = _CountingCell()
        initial = seq2seq.tile_batch(tf.constant(first_counts), BEAM)
        decoder = seq2seq.BeamSearchDecoder(cell, tf.eye(V), tf.fill([B], START), EOS, initial, BEAM)
        outputs, state, lengths = seq2seq.dynamic_decode(decoder, maximum_iterations=MAX_T)
        tiled = seq2seq.tile_batch((tf.constant([[1, 2], [3, 4]]), tf.constant([7, 8])), 2)
        gathered = seq2seq.gather_tree(
            step_ids=[[[1, 2, 3]], [[4, 5, 6]], [[7, 8, 9]]], parent_ids=[[[0, 0, 0]], [[0, 1, 1]], [[2, 1, 2]]],
            max_sequence_lengths=[3], end_token=10)
        gathered_end = seq2seq.gather_tree(
            step_ids=[[[1, 2, 3]], [[10, 5, 6]], [[7, 8, 9]], [[1, 1, 1]]],
            parent_ids=[[[0, 0, 0]], [[0, 1, 1]], [[2, 1, 2]], [[0, 1, 2]]], max_sequence_lengths=[3],
            end_token=10)
        helper_logits = tf.constant([[0.0, 2.0]] * 2000)
        cold = seq2seq.SampleEmbeddingHelper(tf.eye(2), [0], 1, softmax_temperature=0.01, seed=3)
        hot = seq2seq.SampleEmbeddingHelper(tf.eye(2), [0], 1, softmax_temperature=100.0, seed=3)
        samples = (cold.sample(0, helper_logits, None), hot.sample(0, helper_logits, None))
        with tf.compat.v1.Session(graph=graph) as sess:
            values = sess.run({"outputs": outputs, "state": state, "lengths": lengths, "tiled": tiled,
                               "gathered": gathered, "gathered_end": gathered_end, "samples": samples})
    values["first_counts"] = first_counts
    values["static_tiled_shape"] = tiled[0].shape.as_list()
    return values


def test_beam_search_matches_numpy(results):
    out = results["outputs"]
    assert isinstance(out, seq2seq.FinalBeamSearchDecoderOutput)
    for row in range(B):
        ids, scores, lengths = _numpy_beam_search(results["first_counts"][row])
        steps = ids.shape[0]
        assert out.predicted_ids.shape[1] == steps, (out.predicted_ids.shape, steps)
        np.testing.assert_array_equal(out.predicted_ids[row], ids)
        np.testing.assert_allclose(out.beam_search_decoder_output.scores[row], scores, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(results["state"].lengths[row], lengths)
        np.testing.assert_array_equal(results["lengths"][row], lengths)  # dynamic_decode takes state.lengths
    # the search found hypotheses of different lengths, so EOS handling was exercised
    assert len(set(results["state"].lengths.ravel())) > 1
    assert (out.predicted_ids == EOS).any()


def test_scores_are_sorted_best_first(results):
    last = results["outputs"].beam_search_decoder_output.scores[:, -1, :]
    assert (np.diff(last, axis=-1) <= 0).all()


def test_gather_tree_kernel_semantics(results):
    np.testing.assert_array_equal(results["gathered"][:, 0, :], [[2, 2, 2], [6, 5, 6], [7, 8, 9]])
    # beam 0 passes through the end token at t=1 -> end token after it; t=3 is past max_sequence_lengths
    np.testing.assert_array_equal(results["gathered_end"][:, 0, :],
                                  [[2, 2, 2], [6, 5, 6], [7, 8, 9], [10, 10, 10]])


def test_tile_batch(results):
    matrix, vector = results["tiled"]
    np.testing.assert_array_equal(matrix, [[1, 2], [1, 2], [3, 4], [3, 4]])
    np.testing.assert_array_equal(vector, [7, 7, 8, 8])
    assert results["static_tiled_shape"] == [4, 2]


def test_tile_batch_needs_known_rank():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="statically known rank"):
            seq2seq.tile_batch(tf.constant(3), 2)


def test_sample_embedding_helper_uses_the_temperature(results):
    cold, hot = results["samples"]
    assert cold.dtype == np.int32 and cold.shape == (2000,)
    assert (cold == 1).all()  # logits / 0.01: id 1 has probability ~1 - e^-200
    assert 0.44 < (hot == 1).mean() < 0.56  # logits / 100: ~50/50 (expected 0.505)
