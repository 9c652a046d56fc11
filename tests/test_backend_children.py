"""tests/backend_children.py, the JAX / PyTorch children the backend tests share: each job's result or traceback
comes back on its own, TensorFlow cannot be imported there, a dead child fails the request naming its jobs and the
next request gets a new one. Its own JAX child (the run's shared one is not killed here)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax (the `backends` extra)")

JOBS = '''
import os
import numpy as np

def arange(n):
    print("a library printing to stdout")   # must not break the replies
    return {"values": np.arange(n), "names": np.asarray(["a", "b"])}

def fails():
    raise ValueError("the job's own error")

def imports_tensorflow():
    import tensorflow  # noqa: F401
    return {}

def dies():
    os._exit(3)
'''


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    from backend_children import BackendChildren

    own = BackendChildren(str(tmp_path_factory.mktemp("own_children")))
    yield own
    own.close()


def test_a_failing_job_is_reported_alone_and_tensorflow_is_blocked(children, tmp_path):
    from backend_children import Job

    path = tmp_path / "jobs.py"
    path.write_text(JOBS)
    jobs = [Job("first", str(path), "arange", {"n": 3}), Job("bad", str(path), "fails"),
            Job("tf", str(path), "imports_tensorflow"), Job("last", str(path), "arange", {"n": 2})]
    reply = children.run({"jax": jobs})["jax"]
    assert reply.keras_backend == "jax" and reply.tensorflow_imported is False
    np.testing.assert_array_equal(reply.values("first")["values"], [0, 1, 2])
    assert list(reply.values("first")["names"]) == ["a", "b"]
    np.testing.assert_array_equal(reply.values("last")["values"], [0, 1])
    assert "ValueError: the job's own error" in reply.error("bad")
    with pytest.raises(AssertionError, match="(?s)^bad on jax: .*the job's own error"):
        reply.values("bad")
    assert "ModuleNotFoundError: import of tensorflow halted" in reply.error("tf")


def test_a_child_that_dies_names_its_jobs_and_is_replaced(children, tmp_path):
    from backend_children import Job

    path = tmp_path / "jobs.py"
    path.write_text(JOBS)
    with pytest.raises(AssertionError, match=r"KERAS_BACKEND=jax: the child exited 3 while running dies, after"):
        children.run({"jax": [Job("dies", str(path), "dies"), Job("after", str(path), "arange", {"n": 1})]})
    again = children.run({"jax": [Job("next", str(path), "arange", {"n": 1})]})["jax"]
    np.testing.assert_array_equal(again.values("next")["values"], [0])
