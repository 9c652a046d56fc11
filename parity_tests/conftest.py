"""The parity suite's session: every `ParityPair` built by `parity_support.pair_for` is closed at the end;
`parity_backend_set`: the Keras backends the backend set (test_backend_parity.py) runs the port side on
(`--parity-backend LIST`, an option of the `migrate.parity.pytest_plugin`; default jax,torch)."""

from __future__ import annotations

import parity_support
import pytest

from migrate.parity.pytest_plugin import parity_backends


@pytest.fixture(scope="session", autouse=True)
def _close_pairs():
    yield
    for pair in parity_support._PAIRS.values():
        pair.close()
    parity_support._PAIRS.clear()


@pytest.fixture(scope="session")
def parity_backend_set(request) -> list[str]:
    """`--parity-backend` (default "jax,torch"): the backends of the port side in test_backend_parity.py."""
    return parity_backends(request.config, default="jax,torch")
