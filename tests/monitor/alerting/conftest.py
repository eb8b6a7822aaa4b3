"""Fixtures for the alerting tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.monitor.alerting.alert_fakes import Answer, FakeClock, LocalServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def local_server() -> Iterator[Callable[[Answer], LocalServer]]:
    servers: list[LocalServer] = []

    def start(default: Answer) -> LocalServer:
        server = LocalServer(default)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
