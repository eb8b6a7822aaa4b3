"""The daemon's HTTP endpoints: `/metrics`, `/healthz` (liveness) and `/readyz` (readiness).

Liveness answers one question: is the main loop still turning? It must not
depend on Kafka. A broker outage is not cured by restarting the pod, and a
liveness probe that fails during one turns an outage into a crash loop that
also throws away the in-memory windows. The loop calls `HealthState.beat()` on
every turn (and start-up code while it waits), so `/healthz` fails only when the
process is wedged: a deadlock, or a processor stuck for `liveness_timeout`.

Readiness reports the three conditions under which the member does useful work:
partitions assigned, broker reachable, baselines loaded. The daemon sets them;
`/readyz` answers 503 with the list of what is missing. A hot standby (a member
the group's assignor gave nothing because another member is active) is ready
without partitions: it is healthy and does what it should, wait to take over;
marking it unready would block rolling updates and count it as a disruption.
The body names the role so a reader can tell the two apart.

The server is stdlib `http.server` in one daemon thread; it serves the
exposition of a `Metrics` object (text format 0.0.4, or OpenMetrics when asked).
Port 0 binds a free port (tests read it back from `port`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client.exposition import choose_encoder

from monitor.config import MetricsSettings
from monitor.metrics import Metrics

log = structlog.get_logger(__name__)


class HealthState:
    """Liveness beat and readiness flags, shared between the daemon's threads.

    `clock` is monotonic seconds (injected so tests never sleep). The state starts
    alive: the first `liveness_timeout` after construction counts as start-up.
    """

    def __init__(
        self, *, liveness_timeout: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._timeout = liveness_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._last_beat = clock()
        self._partitions_assigned = False
        self._role: str | None = None
        self._broker_reachable = False
        self._baselines_loaded = False

    def beat(self) -> None:
        """The loop turned (or start-up made progress)."""
        now = self._clock()
        with self._lock:
            self._last_beat = now

    def set_partitions_assigned(self, value: bool) -> None:
        with self._lock:
            self._partitions_assigned = value

    def set_group_role(self, role: str | None) -> None:
        """`active`, `standby` or None (not in the group yet)."""
        with self._lock:
            self._role = role

    def set_broker_reachable(self, value: bool) -> None:
        with self._lock:
            self._broker_reachable = value

    def set_baselines_loaded(self, value: bool) -> None:
        with self._lock:
            self._baselines_loaded = value

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        now = self._clock()
        with self._lock:
            age = now - self._last_beat
        alive = age <= self._timeout
        return alive, {
            "status": "ok" if alive else "stalled",
            "seconds_since_last_loop": round(age, 3),
            "liveness_timeout": self._timeout,
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            checks = {
                "partitions_assigned": self._partitions_assigned,
                "broker_reachable": self._broker_reachable,
                "baselines_loaded": self._baselines_loaded,
            }
            role = self._role
        standing_by = role == "standby"
        ready = all(v or (k == "partitions_assigned" and standing_by) for k, v in checks.items())
        body: dict[str, Any] = {"status": "ready" if ready else "not_ready", **checks}
        if role is not None:
            body["role"] = role
        return ready, body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(HTTPStatus.OK, encoder(self.server.metrics), content_type)
        elif path == "/healthz":
            self._send_json(*self.server.health.liveness())
        elif path == "/readyz":
            self._send_json(*self.server.health.readiness())
        else:
            self._send(
                HTTPStatus.NOT_FOUND,
                b"not found; try /metrics, /healthz or /readyz\n",
                "text/plain; charset=utf-8",
            )

    def do_HEAD(self) -> None:
        self.do_GET()

    def _send_json(self, ok: bool, body: dict[str, Any]) -> None:
        status = HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE
        self._send(status, json.dumps(body).encode() + b"\n", "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("http_request", client=self.client_address[0], request=format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], metrics: Metrics, health: HealthState) -> None:
        self.metrics = metrics
        self.health = health
        super().__init__(address, _Handler)


class HealthServer:
    """Serves `/metrics`, `/healthz` and `/readyz` on `metrics.host:metrics.port`.

    `start()` binds (raising `OSError` if the port is taken) and serves from a
    daemon thread; `stop()` shuts it down and closes the socket. Also a context
    manager.
    """

    def __init__(self, settings: MetricsSettings, metrics: Metrics, health: HealthState) -> None:
        self._address = (settings.host, settings.port)
        self._metrics = metrics
        self._health = health
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when configured as 0)."""
        if self._server is None:
            raise RuntimeError("HealthServer is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(self._address, self._metrics, self._health)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="driftwarden-http",
            daemon=True,
        )
        self._thread.start()
        log.info("http_server_started", host=self._address[0], port=self.port)

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
