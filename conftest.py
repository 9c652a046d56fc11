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
import shlex

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")


_SIGINT_AT_START = pytest.StashKey()


def pytest_configure(config):
    """`pytest -n N` alone distributes whole files (`--dist loadfile`) in this file's order (`--no-loadscope-reorder`),
    as the Makefile asks; a `--dist` given on the command line, in PYTEST_ADDOPTS or in addopts wins."""
    given = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
             *config.getini("addopts")]
    if getattr(config.option, "dist", "no") == "load" and not any(
            a in ("--dist", "-d", "--distload") or a.startswith("--dist=") for a in given):
        config.option.dist = "loadfile"
        config.option.loadscopereorder = False
    import signal  # noqa: PLC0415

    config.stash[_SIGINT_AT_START] = signal.getsignal(signal.SIGINT)   # see _sigint_handler_kept


# Fixtures built once per module (a conversion, a TF1 graph, a SavedModel, a child process's results): every test of
# the module that asks for one shares its value.
_SHARED_SCOPES = ("module", "class", "package")


def _uses_a_module_fixture(item) -> bool:
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(d.scope in _SHARED_SCOPES for name in getattr(item, "fixturenames", ()) for d in defs.get(name, ()))


def pytest_collection_modifyitems(config, items):
    """The order of the files, each file's tests together and in its own order. pytest-xdist (`--dist loadfile`)
    hands whole files to its workers in this order: a module's fixtures are then built once in the run, where plain
    `load` spread a module's tests over both workers and each built them (a conversion, a SavedModel, a JAX child:
    seconds to a minute each), and even one worker built them twice when its tests were not adjacent.
    First the files with a `slow` test (end-to-end: a training, a conversion, JAX / PyTorch children, 1-4 minutes
    each): started last, a four-minute test is the run's tail while the other worker is idle; started first, the
    quick files fill the other worker meanwhile. Then the files whose tests share a module's fixtures, then the
    rest, the larger files first. The order is stable otherwise (every worker must collect the same order)."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def rank(entry):
        index, tests = entry
        if any(t.get_closest_marker("slow") is not None for t in tests):
            return (0, index)
        if any(_uses_a_module_fixture(t) for t in tests):
            return (1, index)
        return (2, -len(tests), index)

    ordered = sorted(enumerate(files.values()), key=rank)
    items[:] = [item for _, tests in ordered for item in tests]


@pytest.fixture(autouse=True)
def _sigint_handler_kept(request):
    """A test leaves the process's Ctrl-C handler as it found it: a child process inherits an ignored SIGINT, and
    the Ctrl-C tests of a later file on the same worker would hang or fail. One that changes it is named in a
    warning, and the handler is put back."""
    import signal
    import warnings

    before = signal.getsignal(signal.SIGINT)
    started = request.config.stash.get(_SIGINT_AT_START, before)
    if before is not started:   # changed by a fixture of a wider scope, or by something between tests
        signal.signal(signal.SIGINT, started)
        warnings.warn(f"SIGINT's handler was {before!r} when {request.node.nodeid} began (a module or session fixture, "
                      f"or an earlier teardown, changed it; was {started!r}); put back", stacklevel=1)
        before = started
    yield
    after = signal.getsignal(signal.SIGINT)
    if after is not before:
        signal.signal(signal.SIGINT, before)
        warnings.warn(f"{request.node.nodeid} left SIGINT's handler {after!r} (was {before!r}); put back",
                      stacklevel=1)

