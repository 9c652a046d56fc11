"""Settings of the whole test session (tests/ and parity_tests/), before any test module imports a framework. Every
child process a test starts inherits them (the Keras children of the backend tests, `parity --backend`, the CLI
run as a user runs it); a value set outside (`OMP_NUM_THREADS=4 make test`) is kept.

- One OpenMP thread per process: `make test` runs one pytest-xdist worker per core, so every core is already busy,
  and PyTorch's OpenMP threads spin-wait for each other on the tests' tiny tensors: a torch child spent 14 s of CPU
  on one parity variant with 2 threads and 2.3 s with one (the same numbers, each op on one thread). TensorFlow
  and JAX use their own thread pools and do not read it.
- XLA without LLVM's expensive passes: the JAX children compile every model they run (the backend tests run
  dozens), which is most of their time on these tiny models; without those passes a child that ran the five
  models of tests/test_backends.py spent 29 s of CPU instead of 48 s. The float semantics are the same (no
  fast-math either way); parity_tests/test_backend_parity.py has always run its JAX child so.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")


def pytest_collection_modifyitems(config, items):
    """The `slow` tests (end-to-end: a training, a conversion, JAX / PyTorch children, 1-4 minutes each) run first.
    pytest-xdist hands tests to its workers in collection order, so a four-minute test collected last starts when
    the other worker is already idle and the run's wall time is its tail; started first, the quick tests fill the
    other worker meanwhile. The order is stable otherwise (every worker must collect the same order)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
