"""Plugins for the whole suite: one session Kafka broker for every test that asks for it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from driftwarden.monitor.kafka.library_leaks import close_library_leaks

pytest_plugins = ("tests.support.kafka_fixtures",)

_LAST = ("tests/helm/", "tests/container/")
_REAL_COMPONENTS = ("kafka", "container", "alertmanager")


def pytest_configure(config: pytest.Config) -> None:
    """The suite's own Kafka clients (produce helpers, the broker harness waiting for a
    start) get the daemon's fixes too: a socket one test leaked would otherwise be
    collected, as a ResourceWarning and so an error here, inside whatever later test is
    running then."""
    close_library_leaks()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The chart and pod tests run last: the test command builds helm and the image in the
    background meanwhile (tests.support.components.await_background_install)."""
    items.sort(key=lambda item: item.nodeid.startswith(_LAST))


@pytest.fixture(autouse=True, scope="session")
def _structlog_never_caches_loggers() -> Iterator[None]:
    """The daemon caches each logger on first use (`telemetry/logs.py`), and a cached logger
    ignores `structlog.testing.capture_logs`: a test that ran the CLI in-process would decide
    what every later test can see in its logs. Tests configure without the cache."""
    configure = structlog.configure

    def uncached(*args: Any, **kwargs: Any) -> None:
        configure(*args, **{**kwargs, "cache_logger_on_first_use": False})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(structlog, "configure", uncached)
        yield


@pytest.fixture(autouse=True)
def _structlog_defaults_after_each_test() -> Iterator[None]:
    """A test that ran a quiet command in-process leaves a level filter behind, and
    `capture_logs` replaces processors, not the filter: every test starts from the defaults."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _unclosed_sockets_fail_the_test_that_left_them(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """A socket left open is reported when the garbage collector finds it, as an error in
    whatever test runs then: a different victim from run to run. Collecting after every
    test that talks to a real component fails the test that leaked it. (Not after every
    test: a collection costs ~0.1 s in this session's heap.)"""
    yield
    if any(request.node.get_closest_marker(name) for name in _REAL_COMPONENTS):
        gc.collect()
