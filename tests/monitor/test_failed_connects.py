"""kafka-python's refused connection attempts close their sockets (monitor.kafka.failed_connects).

Against the real library and real sockets: a port nobody listens on refuses every
attempt, as a broker that is down does.
"""

from __future__ import annotations

import socket

import pytest
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.net.inet import KafkaNetSocket

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.failed_connects import close_failed_connects


@pytest.fixture
def refused_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()  # never listened: every connect is refused
    return port


def _bootstrap_against(port: int) -> None:
    with pytest.raises(KafkaError):
        KafkaConsumer(
            bootstrap_servers=f"127.0.0.1:{port}",
            bootstrap_timeout_ms=1500,
            reconnect_backoff_ms=50,
            reconnect_backoff_max_ms=100,
        )


def test_every_refused_attempt_closes_its_socket(
    refused_port: int, opened_sockets: list[socket.socket]
) -> None:
    close_failed_connects()
    _bootstrap_against(refused_port)
    assert len(opened_sockets) >= 3  # it retried
    assert [s for s in opened_sockets if s.fileno() != -1] == []


def test_the_client_config_installs_it_and_installing_twice_wraps_once() -> None:
    KafkaClientConfig.from_settings(KafkaSettings.model_validate({"topics": ["t"]}))
    installed = KafkaNetSocket.sock_connect
    close_failed_connects()
    assert KafkaNetSocket.sock_connect is installed
    assert getattr(installed, "_driftwarden_closes_failed_connects", False)


def test_kafka_python_alone_leaves_them_open(
    refused_port: int, opened_sockets: list[socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's own behaviour, kept as the reason for the wrapper: should a release
    close them itself, this test fails and the wrapper can go."""
    unwrapped = KafkaNetSocket.sock_connect
    while getattr(unwrapped, "_driftwarden_closes_failed_connects", False):
        unwrapped = unwrapped.__wrapped__
    monkeypatch.setattr(KafkaNetSocket, "sock_connect", unwrapped)
    _bootstrap_against(refused_port)
    assert opened_sockets
    assert all(s.fileno() != -1 for s in opened_sockets)
