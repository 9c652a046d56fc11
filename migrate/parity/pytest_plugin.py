"""pytest plugin: a `parity` fixture so a user's own CI proves their port matches their legacy model.

Installed with tf-migrate (entry point `pytest11: tf_migrate_parity`), so it is active in every pytest run
of an environment that has tf-migrate; it imports no TensorFlow until a check runs. Without the entry
point, enable it with `-p migrate.parity.pytest_plugin`.

Example (a complete test file):

```python
def test_keras_model_matches_the_tf1_graph(parity):      # any TF1 model: checkpoint + .meta
    parity.check_graph(tf1="models/tf1/model.ckpt-2000", keras="models/tagger.keras", mapping="mapping.toml")

def test_port_matches_legacy(parity):                     # this repo's legacy model and its tf2 port
    parity.check_models(legacy="models/legacy", keras="models/port.keras", batches=4)

def test_my_own_tensors(parity):
    parity.assert_close(legacy_logits, port_logits, mask=ids != 0, name="logits", logits=True)
```

Options (command line, or the same names without dashes in `[tool.pytest.ini_options]`):

    --parity-rtol R, --parity-atol A   tolerance for every check (default: per dtype / per check,
                                       see migrate.parity.tolerances)
    --parity-json PATH                 write every check's numbers to PATH (atomic) for CI artifacts
    --parity-backend LIST              Keras backends of the Keras side, e.g. jax,torch: each test using the
                                       `parity` fixture runs once per backend (default tf: in process; jax /
                                       torch run in a child process without TensorFlow)

A "parity" section in the terminal summary lists each check with its greatest differences.
"""

from __future__ import annotations

from typing import Any

import pytest

_RESULTS_KEY = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tf-migrate parity")
    group.addoption("--parity-rtol", type=float, default=None, help="rtol for every parity check")
    group.addoption("--parity-atol", type=float, default=None, help="atol for every parity check")
    group.addoption("--parity-json", default=None, metavar="PATH", help="write all parity results to PATH")
    group.addoption("--parity-backend", default=None, metavar="LIST",
                    help="Keras backends for the Keras side of parity checks, comma-separated from tf, jax, torch "
                         "(the parity fixture: default tf; the parity suite's backend set: default jax,torch)")
    parser.addini("parity_rtol", "rtol for every parity check (default: per dtype / check)", default=None)
    parser.addini("parity_atol", "atol for every parity check (default: per dtype / check)", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS_KEY] = []
    if config.getoption("--parity-backend", default=None):
        parity_backends(config)   # a bad name stops the run as a usage error, before collection


def parity_backends(config: pytest.Config, default: str = "tf") -> list[str]:
    """The `--parity-backend` list ("tf", "jax", "torch"; `default` when not given); a bad name is a usage error."""
    raw = config.getoption("--parity-backend", default=None) or default
    from tf2.backend_runner import backend_choices, short_backend  # noqa: PLC0415

    try:
        names = [short_backend(b) for b in raw.split(",") if b.strip()]
    except ValueError:
        names = []
    if not names:
        raise pytest.UsageError(f"--parity-backend {raw!r}: expected a comma-separated list of {backend_choices()}")
    return list(dict.fromkeys(names))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test using the `parity` fixture runs once per `--parity-backend` (its id names the backend)."""
    if "parity_backend" in metafunc.fixturenames and metafunc.config.getoption("--parity-backend", default=None):
        backends = parity_backends(metafunc.config)
        metafunc.parametrize("parity_backend", backends, ids=[f"backend-{b}" for b in backends])


@pytest.fixture
def parity_backend() -> str:
    """The Keras backend of the `parity` fixture's checks: "tf" unless `--parity-backend` parametrizes it."""
    return "tf"


def _tolerance(config: pytest.Config, name: str) -> float | None:
    value = config.getoption(f"--parity-{name}")
    if value is None:
        raw = config.getini(f"parity_{name}")
        value = float(raw) if raw not in (None, "") else None
    return value


class ParityChecker:
    """What the `parity` fixture returns. Every check is recorded for the terminal summary and JSON.

    Args:
        rtol, atol: tolerance from the command line / ini (None: defaults per dtype and check).
        nodeid: the test it belongs to (shown in the summary).
    """

    def __init__(self, rtol: float | None = None, atol: float | None = None, nodeid: str = "",
                 records: list | None = None, backend: str = "tf"):
        self.rtol = rtol
        self.atol = atol
        self.backend = backend
        self.nodeid = nodeid
        self.records = records if records is not None else []

    def assert_close(self, expected: Any, actual: Any, mask: Any = None, *, name: str = "arrays",
                     logits: bool = False, rtol: float | None = None, atol: float | None = None,
                     time_axis: int | None = 1):
        """`migrate.parity.assert_parity` with the session's tolerance; raises `ParityError` on failure."""
        from migrate.parity.compare import ParityError, compare  # noqa: PLC0415

        result = compare(expected, actual, mask, name=name, logits=logits, time_axis=time_axis,
                         rtol=self.rtol if rtol is None else rtol, atol=self.atol if atol is None else atol)
        self.records.append((self.nodeid, result.summary(), result.to_dict()))
        if not result.ok:
            raise ParityError(result.message, result)
        return result

    def check_graph(self, tf1: str, keras: Any, *, mapping: str | None = None, build: str | None = None,
                    inputs: str | None = None, feeds: Any = (), batch_size: int = 8, time_steps: int = 6,
                    seed: int = 0):
        """Compare a Keras model with the TF1 graph of a checkpoint's `.meta` (`harness.run_graph_parity`, the
        same run as `tf-migrate parity --tf1`); fail on any output outside tolerance.

        Args:
            tf1: a checkpoint prefix or directory with its `.meta`.
            keras: a `.keras` file, a `.weights.h5` file (with `build`), or a Keras model object.
            mapping: a TOML mapping file with a `[parity]` section (inputs, outputs, feeds).
            build: `MODULE:FUNCTION` that returns the Keras model (for `.weights.h5`).
            inputs: a `.npz` batch keyed by placeholder names (default: generated).
            feeds: `["keep_prob=1.0", ...]`, as `--feed`.
            batch_size, time_steps, seed: the generated batch.

        Returns:
            The `ParityReport` (every output within tolerance).
        """
        from migrate.parity.harness import run_graph_parity  # noqa: PLC0415

        report = run_graph_parity(tf1, keras, mapping=mapping, build=build, inputs=inputs, feeds=list(feeds),
                                  batch_size=batch_size, time_steps=time_steps, seed=seed, rtol=self.rtol,
                                  atol=self.atol, backend=self.backend)
        return self._record(report)

    def _record(self, report):
        from migrate.parity.compare import ParityError  # noqa: PLC0415

        for r in report.results:
            self.records.append((self.nodeid, r.summary(), r.to_dict()))
        if not report.ok:
            raise ParityError(report.failure_message(), report)
        return report

    def check_models(self, legacy: str, keras: Any, *, batches: int = 2, seed: int = 0,
                     batch_size: int | None = None, adam_steps: int = 3, checks: Any = None):
        """Run the full harness (`migrate.parity.harness.run_parity`) and fail on any check outside tolerance.

        Args:
            legacy: a legacy model directory (hparams.json + TF1 checkpoint) or checkpoint prefix.
            keras: a `.keras` file, or a Keras model object (already converted).
            batches, seed, batch_size: which batches of the task (or the model's data) are compared.
            adam_steps: K for "weights after K Adam steps".
            checks: a subset of `migrate.parity.harness.CHECKS` (default: all).

        Returns:
            The `ParityReport` (all checks passed).
        """
        from migrate.parity.harness import run_parity  # noqa: PLC0415

        report = run_parity(legacy, keras, batches=batches, seed=seed, batch_size=batch_size,
                            adam_steps=adam_steps, rtol=self.rtol, atol=self.atol, checks=checks,
                            backend=self.backend)
        return self._record(report)


@pytest.fixture
def parity(request: pytest.FixtureRequest, parity_backend: str) -> ParityChecker:
    """Parity assertions for the port vs the legacy model; see `ParityChecker` (Keras side on `parity_backend`)."""
    config = request.config
    return ParityChecker(_tolerance(config, "rtol"), _tolerance(config, "atol"), request.node.nodeid,
                         config.stash.get(_RESULTS_KEY, []), backend=parity_backend)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    records = config.stash.get(_RESULTS_KEY, [])
    if not records:
        return
    terminalreporter.section("parity")
    for nodeid, line, _ in records:
        terminalreporter.write_line(f"{line}  [{nodeid}]")
    path = config.getoption("--parity-json")
    if path:
        from migrate.files import atomic_write_text, to_json_text  # noqa: PLC0415

        atomic_write_text(path, to_json_text([{"test": n, **d} for n, _, d in records], indent=1))
        terminalreporter.write_line(f"parity results written to {path}")
