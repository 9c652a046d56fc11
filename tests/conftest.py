"""Fixtures shared by the files of tests/ (the session's settings are in the root conftest.py)."""

import pytest


@pytest.fixture(scope="session")
def backend_children(tmp_path_factory):
    """The JAX and PyTorch child processes of this pytest process (tests/backend_children.py): each starts on first
    use and serves every later test of the run, so a run pays their imports and XLA's first compiles once."""
    from backend_children import BackendChildren  # noqa: PLC0415

    children = BackendChildren(str(tmp_path_factory.mktemp("backend_children")))
    yield children
    children.close()
