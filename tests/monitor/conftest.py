"""Fixtures shared by the monitor tests; the builders live in factories.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from kafka.net.inet import KafkaNetSocket

from driftwarden.baselines.artifact import Baseline
from tests.monitor.factories import make_baseline


@pytest.fixture
def baseline() -> Baseline:
    return make_baseline()


@pytest.fixture
def opened_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[socket.socket]]:
    """Every socket kafka-python opens for a connection attempt, while the test runs
    (closed afterwards, whatever the library did with them)."""
    opened: list[socket.socket] = []
    make = KafkaNetSocket.socket

    def recording(self: Any, *args: Any, **kwargs: Any) -> socket.socket:
        sock: socket.socket = make(self, *args, **kwargs)
        opened.append(sock)
        return sock

    monkeypatch.setattr(KafkaNetSocket, "socket", recording)
    yield opened
    for sock in opened:
        sock.close()
