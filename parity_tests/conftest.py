"""The parity suite's session: every `ParityPair` built by `parity_support.pair_for` is closed at the end."""

from __future__ import annotations

import parity_support
import pytest


@pytest.fixture(scope="session", autouse=True)
def _close_pairs():
    yield
    for pair in parity_support._PAIRS.values():
        pair.close()
    parity_support._PAIRS.clear()
