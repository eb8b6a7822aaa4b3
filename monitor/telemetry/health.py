"""The daemon's HTTP endpoints: `/metrics`, `/healthz` (liveness) and `/readyz` (readiness).

Liveness answers one question: is the main loop still turning? It must not
depend on Kafka. A broker outage is not cured by restarting the pod, and a
liveness probe that fails during one turns an outage into a crash loop that
also throws away the in-memory windows. The loop calls `HealthState.beat()` on
every turn (and start-up code while it waits), so `/healthz` fails only when the
process is wedged: a deadlock, or a processor stuck for `liveness_timeout`.

Readiness reports the conditions under which the member does its whole job:
partitions assigned, broker reachable, baselines loaded, and no storage fault
(a checkpoint or alert-state write that keeps failing: full disk, out of file
descriptors, I/O error). The daemon sets them; `/readyz` answers 503 with the
list of what is missing. A storage fault makes the pod not ready on purpose:
the member keeps consuming and alerting, but it cannot make its progress
durable, and not-ready is what `kubectl get pods` shows and what halts a
rollout, while it neither restarts the pod (liveness is unaffected) nor stops
Prometheus from scraping it (endpoint discovery keeps not-ready addresses).
Nothing sends the pod traffic through its Service apart from scrapes.

A hot standby (a member the group's assignor gave nothing because another
member is active) is ready without partitions: it is healthy and does what it
should, wait to take over; marking it unready would block rolling updates and
count it as a disruption. The body names the role so a reader can tell the two
apart.

`StorageFaults` is the one reporting path for storage writes: each failure is
counted, the component's fault gauge set, `/readyz` told, and a log line
written when the component goes from healthy to faulty and back.

The server (`monitor.telemetry.http_server`) is bounded: a connection limit, a request
timeout and a listen backlog from `MetricsSettings`, so idle or slow clients
cannot exhaust the process's file descriptors or block the kubelet's probes.
It serves the exposition of a `Metrics` object (text format 0.0.4, or
OpenMetrics when asked). Port 0 binds a free port (tests read it back from `port`).
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

import structlog
from prometheus_client.exposition import choose_encoder

from driftwarden.monitor.config import MetricsSettings
from driftwarden.monitor.telemetry.http_server import BoundedHTTPServer
from driftwarden.monitor.telemetry.metrics import Metrics

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
        self._storage_faults: dict[str, str] = {}

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

    def storage_fault(self, component: str, error: str | None) -> str | None:
        """Record that writes of `component` fail with `error`, or recovered (None).

        Returns the component's previous error (None if it was healthy), so the
        caller can tell a new fault or a recovery from a repeat.
        """
        with self._lock:
            previous = self._storage_faults.get(component)
            if error is None:
                self._storage_faults.pop(component, None)
            else:
                self._storage_faults[component] = error
        return previous

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
                "storage_writable": not self._storage_faults,
            }
            faults = dict(sorted(self._storage_faults.items()))
            role = self._role
        standing_by = role == "standby"
        ready = all(v or (k == "partitions_assigned" and standing_by) for k, v in checks.items())
        body: dict[str, Any] = {
            "status": "ready" if ready else "not_ready",
            **checks,
            "storage_faults": faults,
        }
        if role is not None:
            body["role"] = role
        return ready, body


class StorageFaults:
    """Reports storage write outcomes per component (`checkpoint`, `alert_state`, ...).

    Call `on_store_fault(component, error)` after every failed write with the
    error, and after a successful write with None (cheap while healthy). A
    failure increments `driftwarden_storage_write_failures_total{component}`;
    the gauge `driftwarden_storage_fault{component}` is 1 from the first failure
    to the next success; `/readyz` lists the fault meanwhile. Thread-safe; any
    number of instances over the same `HealthState` and `Metrics` agree.
    """

    def __init__(self, health: HealthState | None, metrics: Metrics | None) -> None:
        self._health = health
        self._metrics = metrics

    def on_store_fault(self, component: str, error: str | None) -> None:
        if self._metrics is not None:
            if error is not None:
                self._metrics.record_storage_write_failure(component)
            self._metrics.set_storage_fault(component, error is not None)
        if self._health is None:
            return
        previous = self._health.storage_fault(component, error)
        if error is not None and previous is None:
            log.error("storage_faulted", component=component, error=error)
        elif error is None and previous is not None:
            log.info("storage_recovered", component=component, previous_error=previous)


class _Handler(BaseHTTPRequestHandler):
    """One request whose head the bounded server has read in full.

    `rfile` is that head and `wfile` a buffer sent in one `sendall` at the end,
    which the socket's timeout bounds as a whole.
    """

    protocol_version = "HTTP/1.1"

    def __init__(
        self, connection: socket.socket, address: Any, head: bytes, server: HealthServer
    ) -> None:
        self._head = head
        self.endpoints = server
        super().__init__(connection, address, None)  # type: ignore[arg-type]

    def setup(self) -> None:
        self.connection = self.request
        self.rfile = io.BytesIO(self._head)
        self.wfile = io.BytesIO()

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()

    def finish(self) -> None:
        assert isinstance(self.wfile, io.BytesIO)
        data = self.wfile.getvalue()
        if data:
            self.connection.sendall(data)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        endpoints = self.endpoints
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(HTTPStatus.OK, encoder(endpoints.metrics), content_type)
        elif path == "/healthz":
            self._send_json(*endpoints.health.liveness())
        elif path == "/readyz":
            self._send_json(*endpoints.health.readiness())
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


class HealthServer:
    """Serves `/metrics`, `/healthz` and `/readyz` on `metrics.host:metrics.port`.

    `start()` binds (raising `OSError` if the port is taken) and serves from
    daemon threads; `stop()` shuts it down and closes every socket. Also a
    context manager.
    """

    def __init__(self, settings: MetricsSettings, metrics: Metrics, health: HealthState) -> None:
        self._settings = settings
        self.metrics = metrics
        self.health = health
        self._server: BoundedHTTPServer | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when configured as 0)."""
        if self._server is None:
            raise RuntimeError("HealthServer is not started")
        return self._server.port

    @property
    def open_connections(self) -> int:
        """Connections held right now; never more than `metrics.max_connections`."""
        return 0 if self._server is None else self._server.open_connections

    def _respond(self, connection: socket.socket, address: Any, head: bytes) -> bool:
        handler = _Handler(connection, address, head, self)
        return not handler.close_connection

    def start(self) -> None:
        if self._server is not None:
            return
        s = self._settings
        server = BoundedHTTPServer(
            s.host,
            s.port,
            self._respond,
            max_connections=s.max_connections,
            request_timeout=s.request_timeout,
            backlog=s.backlog,
            on_drop=self.metrics.record_http_connection_dropped,
        )
        server.start()
        self._server = server
        log.info(
            "http_server_started",
            host=s.host,
            port=self.port,
            max_connections=s.max_connections,
            request_timeout=s.request_timeout,
        )

    def stop(self, timeout: float = 5.0) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(timeout)

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
