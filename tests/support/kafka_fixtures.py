"""Fixtures for tests against a real Kafka broker (markers `kafka` and `container`).

A pytest plugin, loaded by tests/conftest.py, so the daemon tests in
tests/integration/ and the chart's pod in tests/container/ share one broker.

One broker serves the whole session; each test gets its own topic and group
(uuid names), so tests do not see each other's data. Tests that restart or
kill a broker start their own with `start_broker` instead.

If the broker cannot start (no JDK, jars not fetchable) the kafka tests fail
under CI=true and skip elsewhere (tests/support/components.py). A failing kafka
test gets the broker's last 50 log lines appended to its report.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.support.components import require_component
from tests.support.kafka_broker import KafkaBroker, ensure_libs

_TIMINGS = pytest.StashKey[list[str]]()


def start_broker(run_dir: Path) -> KafkaBroker:
    """A started broker in `run_dir`, fetching the jars first if needed."""
    broker: KafkaBroker | None = None
    try:
        ensure_libs()
        broker = KafkaBroker(run_dir)
        broker.start()
    except Exception as exc:
        if broker is not None:
            broker.stop(signal.SIGKILL)
        require_component("Kafka broker", exc)
    return broker


@pytest.fixture(scope="session")
def kafka_broker(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[KafkaBroker]:
    began = time.monotonic()
    broker = start_broker(tmp_path_factory.mktemp("kafka"))
    pytestconfig.stash.setdefault(_TIMINGS, []).append(
        f"session broker ready in {time.monotonic() - began:.1f}s "
        f"(jar fetch included if it ran; format+start {broker.start_seconds[0]:.1f}s)"
    )
    yield broker
    broker.stop()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for line in config.stash.get(_TIMINGS, []):
        terminalreporter.write_line(f"kafka: {line}")


@pytest.fixture
def note_timing(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Record a measured duration; all are printed in the terminal summary."""

    def note(text: str) -> None:
        pytestconfig.stash.setdefault(_TIMINGS, []).append(text)

    return note


@pytest.fixture
def topic(kafka_broker: KafkaBroker) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    kafka_broker.create_topic(name, partitions=3)
    return name


KAFKA_CLIENTS = ("kafka-python", "librdkafka")
"""The values of `kafka.client`; the daemon's core scenarios run with each."""


@pytest.fixture(params=KAFKA_CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    """`kafka.client` for a daemon test: the test runs once with each library."""
    return str(request.param)


@pytest.fixture
def group_id() -> str:
    return f"g-{uuid.uuid4().hex[:12]}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and any(item.get_closest_marker(m) for m in ("kafka", "container")):
        funcargs = getattr(item, "funcargs", {})
        for name, value in funcargs.items():
            if isinstance(value, KafkaBroker):
                report.sections.append(
                    (f"kafka broker '{name}' output (last 50 lines)", value.tail(50))
                )
    return report
