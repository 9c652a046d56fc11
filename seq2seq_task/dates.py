"""The embedded toy translation task: date normalisation.

A source is a date written the way people write them; the target is its ISO form:

    "sat 21 november 2026"  -> "2026-11-21"
    "21/11/26"              -> "2026-11-21"
    "November 21, 2026"     -> "2026-11-21"

Everything is generated from a seed with NumPy's `RandomState` (no downloads, no files), so the
same seed gives the same pairs, splits and batches on every machine. Dates are drawn from
1950-01-01 .. 2049-12-31 so that two-digit years are unambiguous (50..99 -> 19xx, 00..49 -> 20xx).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

from seq2seq_task.vocab import Vocab

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _yy(d: _dt.date) -> str:
    return f"{d.year % 100:02d}"


# One row per surface form: (name, precision, formatter). Separators tell formats apart
# ("/" is day/month/yy, "." is day.month.year, "-" is month-day-year), so every source maps to
# exactly one target. Month-precision forms give shorter targets ("2026-11"), so decoder
# batches carry real variable lengths too.
FORMATS = (
    ("weekday dd month yyyy", "day", lambda d: f"{DAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1]} {d.year}"),
    ("dd/mm/yy", "day", lambda d: f"{d.day:02d}/{d.month:02d}/{_yy(d)}"),
    ("Month dd, yyyy", "day", lambda d: f"{MONTHS[d.month - 1].capitalize()} {d.day}, {d.year}"),
    ("dd mon yyyy", "day", lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}"),
    ("d.m.yyyy", "day", lambda d: f"{d.day}.{d.month}.{d.year}"),
    ("mon dd yy", "day", lambda d: f"{MONTHS[d.month - 1][:3]} {d.day:02d} {_yy(d)}"),
    ("WEEKDAY, MONTH D YYYY", "day", lambda d: f"{DAYS[d.weekday()].upper()}, {MONTHS[d.month - 1].upper()} {d.day} {d.year}"),
    ("mm-dd-yyyy", "day", lambda d: f"{d.month:02d}-{d.day:02d}-{d.year}"),
    ("month yyyy", "month", lambda d: f"{MONTHS[d.month - 1]} {d.year}"),
    ("mm/yyyy", "month", lambda d: f"{d.month:02d}/{d.year}"),
)

FIRST_DAY = _dt.date(1950, 1, 1)
NUM_DAYS = (_dt.date(2049, 12, 31) - FIRST_DAY).days + 1


def format_date(d: _dt.date, fmt: int) -> str:
    return FORMATS[fmt][2](d)


def target_of(d: _dt.date, fmt: int = 0) -> str:
    """ISO 8601: `YYYY-MM-DD`, or `YYYY-MM` for the month-precision forms."""
    return d.isoformat() if FORMATS[fmt][1] == "day" else d.isoformat()[:7]


# Fixed vocabularies of the embedded task: every character any format can produce.
_NAMES = "".join(MONTHS + DAYS)
SOURCE_VOCAB = Vocab.from_texts([_NAMES, _NAMES.upper(), "0123456789 /.,-"])
TARGET_VOCAB = Vocab(tuple("-0123456789"))


@dataclass(frozen=True)
class Splits:
    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    test: list[tuple[str, str]]


def generate_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """`n` (source, target) pairs drawn with `seed`; sources are unique."""
    rng = np.random.RandomState(seed)
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        d = FIRST_DAY + _dt.timedelta(days=int(rng.randint(NUM_DAYS)))
        fmt = int(rng.randint(len(FORMATS)))
        src = format_date(d, fmt)
        if src in seen:
            continue
        seen.add(src)
        pairs.append((src, target_of(d, fmt)))
    return pairs


def make_splits(seed: int = 1234, train: int = 20000, valid: int = 1000, test: int = 1000) -> Splits:
    """Disjoint train / validation / test splits (no source string appears in two splits)."""
    pairs = generate_pairs(train + valid + test, seed)
    return Splits(train=pairs[:train], valid=pairs[train:train + valid], test=pairs[train + valid:])
