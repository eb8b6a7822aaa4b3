"""The bounded HTTP server: idle, slow and oversized clients cannot exhaust descriptors or
block the probes, and a dropped connection is one debug line, never a traceback.

Real sockets on 127.0.0.1. Waits are bounded waits for an event (a response, the server
closing a connection), never sleeps.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from driftwarden.monitor.config import MetricsSettings
from driftwarden.monitor.telemetry.health import HealthServer, HealthState
from driftwarden.monitor.telemetry.http_server import MAX_HEAD_BYTES, head_end
from driftwarden.monitor.telemetry.metrics import Metrics
from tests.support.components import require_component

IDLE_CONNECTIONS = 2000


def _server(**limits: Any) -> HealthServer:
    state = HealthState()
    settings = MetricsSettings(host="127.0.0.1", port=0, **limits)
    return HealthServer(settings, Metrics("1"), state)


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _dropped(server: HealthServer, reason: str) -> float:
    status, body = _get(server.port, "/metrics")
    assert status == 200
    prefix = f'driftwarden_http_connections_dropped_total{{reason="{reason}"}} '
    [line] = [x for x in body.decode().splitlines() if x.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def _closed_by_server(sock: socket.socket, timeout: float = 10.0) -> bool:
    """True once the peer closed (EOF or reset) within `timeout`; False if still open."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _no_tracebacks(logs: list[dict[str, Any]], stderr: str) -> None:
    loud = [e for e in logs if "exc_info" in e or e["log_level"] in ("error", "critical")]
    assert loud == []
    assert "Traceback" not in stderr


@pytest.fixture
def enough_descriptors() -> Iterator[None]:
    """Room for the test's own client sockets (the server's share is what is bounded)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = IDLE_CONNECTIONS + 512
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            require_component(
                f"{wanted} file descriptors", f"RLIMIT_NOFILE hard limit is {hard}; raise it"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_2000_idle_connections_hold_at_most_max_connections_and_probes_still_answer(
    enough_descriptors: None, logs: list[dict[str, Any]], capfd: pytest.CaptureFixture[str]
) -> None:
    """The request timeout is long here: the connection limit alone keeps the server usable."""
    server = _server(max_connections=64, request_timeout=60.0)
    idle: list[socket.socket] = []
    with server:
        before = _open_fds()
        try:
            for i in range(IDLE_CONNECTIONS):
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
                if i % 100 == 99:  # a probe amid the flood (it also paces us to the server)
                    assert _get(server.port, "/healthz")[0] == 200
            # Every idle socket is open on our side; the server holds at most 64 of them.
            status, body = _get(server.port, "/metrics")
            assert status == 200
            assert b"driftwarden_build_info" in body
            assert server.open_connections <= 64
            held_by_server = _open_fds() - before - len(idle)
            assert held_by_server <= 64 + 2, held_by_server
            assert _dropped(server, "limit") >= IDLE_CONNECTIONS - 64
            # The oldest were closed by the server; the newest still wait.
            assert _closed_by_server(idle[0])
            assert not _closed_by_server(idle[-1], timeout=0.05)
        finally:
            for sock in idle:
                sock.close()
    _no_tracebacks(logs, capfd.readouterr().err)


def test_a_slowloris_connection_is_closed_after_the_request_timeout(
    logs: list[dict[str, Any]], capfd: pytest.CaptureFixture[str]
) -> None:
    server = _server(request_timeout=0.5)
    with server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")
        closed = False
        for i in range(200):  # a header line every 50 ms: never a complete request
            try:
                slow.sendall(f"X-Slow-{i}: 1\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_by_server(slow, timeout=0.05):
                closed = True
                break
        assert closed, "the trickling connection was still open after 10 s"
        assert _dropped(server, "timeout") == 1
        assert _get(server.port, "/healthz")[0] == 200
    # At most one debug line (none when an earlier test configured the level to info).
    dropped = [e for e in logs if e["event"] == "http_connection_dropped"]
    assert [(e["reason"], e["log_level"]) for e in dropped] in ([], [("timeout", "debug")])
    _no_tracebacks(logs, capfd.readouterr().err)


def test_when_full_the_oldest_waiting_connection_makes_room_for_a_probe() -> None:
    server = _server(max_connections=2, request_timeout=60.0)
    with server:
        first = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        second = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        try:
            assert _get(server.port, "/healthz")[0] == 200
            assert _closed_by_server(first)
            assert not _closed_by_server(second, timeout=0.05)
        finally:
            first.close()
            second.close()


def test_an_oversized_request_head_is_refused() -> None:
    server = _server()
    with server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as big:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            big.sendall(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1024))
        assert _closed_by_server(big)
        assert _dropped(server, "too_large") == 1


def test_a_kept_alive_connection_serves_several_requests_then_idles_out() -> None:
    server = _server(request_timeout=0.5)
    with server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            for path in ("/healthz", "/readyz", "/metrics", "/healthz"):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                assert response.status in (200, 503), path
            assert conn.sock is not None
            assert _closed_by_server(conn.sock)
        finally:
            conn.close()
        assert _dropped(server, "timeout") == 0  # a scraper between scrapes is no attack


def test_pipelined_requests_are_answered_in_order() -> None:
    server = _server()
    with server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    first, _, second = received.partition(b"HTTP/1.1 404")
    assert first.startswith(b"HTTP/1.1 503")
    assert json.loads(first.split(b"\r\n\r\n", 1)[1])["status"] == "not_ready"
    assert b"not found" in second


def test_a_client_that_resets_mid_request_is_only_counted(
    logs: list[dict[str, Any]], capfd: pytest.CaptureFixture[str]
) -> None:
    server = _server()
    with server:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /metr")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST instead of FIN
        assert _get(server.port, "/healthz")[0] == 200
    _no_tracebacks(logs, capfd.readouterr().err)


@pytest.mark.parametrize(
    ("buffer", "end"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 27),
        (b"GET / HTTP/1.0\n\n", 16),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", -1),
        (b"", -1),
    ],
)
def test_head_end_finds_the_blank_line(buffer: bytes, end: int) -> None:
    assert head_end(buffer) == end


def test_the_bind_address_is_configurable() -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        MetricsSettings(request_timeout=0)
    server = _server()
    with server:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", server.port), timeout=2).close()
        assert _get(server.port, "/healthz")[0] == 200


_TIGHT_SERVER = """
import resource, sys, os
from driftwarden.monitor.config import MetricsSettings
from driftwarden.monitor.telemetry.health import HealthServer, HealthState
from driftwarden.monitor.telemetry.metrics import Metrics
server = HealthServer(
    MetricsSettings(host="127.0.0.1", port=0, max_connections=64, request_timeout=60),
    Metrics("1"),
    HealthState(),
)
server.start()
in_use = len(os.listdir("/proc/self/fd"))
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 12, hard))
print("PORT", server.port, flush=True)
sys.stdin.read()  # until the test closes our stdin
server.stop()
"""


def test_out_of_file_descriptors_the_server_frees_one_for_a_probe_instead_of_spinning() -> None:
    """EMFILE at accept: the oldest idle connection is closed so the next one gets in."""
    child = subprocess.Popen(
        [sys.executable, "-c", _TIGHT_SERVER],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    idle: list[socket.socket] = []
    try:
        assert child.stdout is not None
        lines = iter(child.stdout.readline, "")
        port = int(next(x for x in lines if x.startswith("PORT ")).split()[1])
        idle.extend(  # far more than the 12 descriptors the server has left
            socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(100)
        )
        for _ in range(5):
            assert _get(port, "/healthz")[0] == 200
        # More closed than the connection limit (64) explains: EMFILE made the room.
        status, body = _get(port, "/metrics")
        assert status == 200
        prefix = 'driftwarden_http_connections_dropped_total{reason="limit"} '
        [line] = [x for x in body.decode().splitlines() if x.startswith(prefix)]
        assert float(line.rsplit(" ", 1)[1]) >= 100 - 12
        assert child.poll() is None
    finally:
        for sock in idle:
            sock.close()
        stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "http_server_failed" not in stdout
