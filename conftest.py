"""Settings of the whole test session (tests/ and parity_tests/), before any test module imports a framework.

One OpenMP thread per process: `make test` runs one pytest-xdist worker per core, and each worker's Keras children
(`KERAS_BACKEND=torch` in the backend parity set, `parity --backend torch`, tests/test_graph_backends.py) inherit this
environment. With every core already busy, PyTorch's OpenMP threads spin-wait for each other on the tests' tiny
tensors: a torch child spent 14 s of CPU on one parity variant with 2 threads and 2.3 s with one (the same numbers,
each op on one thread). TensorFlow and JAX use their own thread pools and do not read it. A value set outside
(`OMP_NUM_THREADS=4 make test`) is kept.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
