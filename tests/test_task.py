"""The embedded task: deterministic, disjoint splits, batches with real variable lengths."""

import datetime as dt

import numpy as np
import pytest

from seq2seq_task import EOS_ID, SOS_ID, DataError, HParams, HParamsError, iterate_batches, load_task, read_tsv
from seq2seq_task.dates import FORMATS, format_date, target_of


@pytest.fixture(scope="module")
def task():
    return load_task(seed=7, train_size=2000, valid_size=200, test_size=200)


def test_examples_from_the_issue_normalise_to_iso():
    d = dt.date(2026, 11, 21)
    by_name = {name: format_date(d, i) for i, (name, _, _) in enumerate(FORMATS)}
    assert by_name["weekday dd month yyyy"] == "sat 21 november 2026"
    assert by_name["dd/mm/yy"] == "21/11/26"
    assert by_name["Month dd, yyyy"] == "November 21, 2026"
    assert target_of(d, 0) == "2026-11-21"
    assert target_of(d, [n for n, _, _ in FORMATS].index("month yyyy")) == "2026-11"


def test_same_seed_gives_same_batches(task):
    again = load_task(seed=7, train_size=2000, valid_size=200, test_size=200)
    a = list(iterate_batches(task.train, task.src_vocab, task.tgt_vocab, 32, shuffle=True, seed=3))
    b = list(iterate_batches(again.train, again.src_vocab, again.tgt_vocab, 32, shuffle=True, seed=3))
    assert len(a) == len(b) == 63
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.encoder_ids, y.encoder_ids)
        np.testing.assert_array_equal(x.decoder_target_ids, y.decoder_target_ids)
    other = next(iterate_batches(task.train, task.src_vocab, task.tgt_vocab, 32, shuffle=True, seed=4))
    assert not np.array_equal(other.encoder_ids[:, :5], a[0].encoder_ids[:, :5])


def test_other_seed_gives_other_data(task):
    assert load_task(seed=8, train_size=50, valid_size=5, test_size=5).train != task.train[:50]


def test_splits_are_disjoint(task):
    train, valid, test = ({s for s, _ in split} for split in (task.train, task.valid, task.test))
    assert len(train) == 2000 and not train & valid and not train & test and not valid & test


def test_batches_carry_lengths_that_vary(task):
    batch = next(iterate_batches(task.train, task.src_vocab, task.tgt_vocab, 64))
    assert len(set(batch.encoder_lengths.tolist())) >= 5
    assert set(batch.target_lengths.tolist()) == {8, 11}  # "YYYY-MM" / "YYYY-MM-DD" + </s>
    # lengths agree with the padding: exactly `length` non-zero ids per row
    np.testing.assert_array_equal((batch.encoder_ids != 0).sum(1), batch.encoder_lengths)
    np.testing.assert_array_equal((batch.decoder_input_ids != 0).sum(1), batch.target_lengths)
    np.testing.assert_array_equal((batch.decoder_target_ids != 0).sum(1), batch.target_lengths)
    assert batch.encoder_ids.shape[1] == batch.encoder_lengths.max()
    assert (batch.decoder_input_ids[:, 0] == SOS_ID).all()
    rows = np.arange(batch.size)
    assert (batch.decoder_target_ids[rows, batch.target_lengths - 1] == EOS_ID).all()
    # decoder input is the target shifted right by one
    np.testing.assert_array_equal(batch.decoder_input_ids[:, 1:][batch.decoder_target_ids[:, :-1] != EOS_ID],
                                  batch.decoder_target_ids[:, :-1][batch.decoder_target_ids[:, :-1] != EOS_ID])


def test_round_trip_through_vocab(task):
    src, tgt = task.train[0]
    assert task.src_vocab.decode(task.src_vocab.encode(src)) == src
    assert task.tgt_vocab.decode(task.tgt_vocab.encode(tgt) + [EOS_ID, 5, 6]) == tgt


def test_tsv_file_is_a_task(tmp_path):
    p = tmp_path / "pairs.tsv"
    p.write_text("".join(f"a{i}\tb{i}\n" for i in range(40)), encoding="utf-8")
    t = load_task(str(p), seed=1)
    assert len(t.train) + len(t.valid) + len(t.test) == 40 and len(t.test) == 2
    assert t.src_vocab.encode("a1")[0] > 3


def test_bad_tsv_names_file_and_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.tsv:2: expected 'source<TAB>target'"):
        read_tsv(str(p))
    with pytest.raises(DataError, match="no such file"):
        read_tsv(str(tmp_path / "missing.tsv"))


def test_hparams_round_trip_and_overrides(tmp_path):
    hp = HParams(src_vocab_size=63, tgt_vocab_size=15).with_overrides(
        ["cell_type=gru", "num_layers=2", "forget_bias=0.8", "attention_layer_size=none", "output_attention=false"])
    assert (hp.cell_type, hp.num_layers, hp.forget_bias, hp.attention_layer_size, hp.output_attention) == \
        ("gru", 2, 0.8, None, False)
    hp.save(str(tmp_path / "hparams.json"))
    assert HParams.load(str(tmp_path)) == hp
    with pytest.raises(HParamsError, match="cell_type='rnn': expected one of lstm, basic_lstm, gru"):
        hp.replace(cell_type="rnn")
    with pytest.raises(HParamsError, match="--set 'num_layer=2': expected key=value"):
        hp.with_overrides(["num_layer=2"])
    assert HParams(encoder_type="bi", num_units=16).decoder_units == 32
