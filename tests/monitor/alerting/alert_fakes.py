"""Test doubles for alerting: a fake wall clock and a programmable local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeClock:
    """Wall time that moves only when told; `sleep` advances it."""

    def __init__(self, start: float = 1_795_392_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 that records requests and plays queued answers."""

    def __init__(self, default: Answer) -> None:
        self.requests: list[Recorded] = []
        self.answers: list[Answer] = []
        self.default = default
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                server.requests.append(
                    Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                answer = server.answers.pop(0) if server.answers else server.default
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeReceiver:
    """Records what it was asked to send; `outcome` decides each answer."""

    def __init__(self, name: str, *, send_resolved: bool = True) -> None:
        from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult
        from driftwarden.monitor.alerting.model import Notification

        self.name = name
        self.send_resolved = send_resolved
        self.sent: list[Notification] = []
        self.sent_at: list[float] = []
        self.attempts: list[tuple[float, Notification]] = []
        self.outcome: Any = lambda note, now: Delivered()
        self._types = (Delivered, DeliveryResult)

    def send(self, notification: Any, *, now: float) -> Any:
        from driftwarden.monitor.alerting.delivery import Delivered

        self.attempts.append((now, notification))
        result = self.outcome(notification, now)
        if isinstance(result, Delivered):
            self.sent.append(notification)
            self.sent_at.append(now)
        return result

    def close(self) -> None:
        return None

    def events(self) -> list[tuple[str, str, str]]:
        """(fingerprint, status, tier) of every alert delivered, in order."""
        return [(a.fingerprint, a.status, a.tier.label) for n in self.sent for a in n.alerts]


def alerting_settings(**overrides: Any) -> Any:
    """Shipped-default-like routing: critical pages (and continues), warning+ goes to chat."""
    from driftwarden.monitor.config import AlertingSettings

    data: dict[str, Any] = {
        "receivers": [
            {"name": "log", "type": "log"},
            {"name": "chat", "type": "slack"},
            {"name": "pager", "type": "pagerduty"},
        ],
        "route": {
            "receiver": "log",
            "group_by": ["model"],
            "group_wait": "0s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {"matchers": ['tier="critical"'], "receiver": "pager", "continue": True},
                {"matchers": ['tier=~"warning|critical"'], "receiver": "chat"},
            ],
        },
        "delivery": {
            "backoff_base": "1s",
            "backoff_cap": "30s",
            "breaker_failures": 3,
            "breaker_reset": "20s",
        },
    }
    data.update(overrides)
    return AlertingSettings.model_validate(data)


class PagerDutyModel:
    """PagerDuty's documented dedup semantics, to count pages rather than requests.

    A trigger on a key with no open incident opens one (a page); a trigger on an
    open key adds to it; a resolve closes it; resolves of unknown keys are dropped.
    """

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.pages = 0
        self.updates = 0
        self.resolves = 0

    def apply(self, key: str, action: str) -> None:
        if action == "trigger":
            if key in self.open:
                self.updates += 1
            else:
                self.open.add(key)
                self.pages += 1
        elif key in self.open:
            self.open.discard(key)
            self.resolves += 1


class MemoryAlertStore:
    """An `AlertStateStore` in a dict, shared by pipelines like one topic or directory.

    `fail_with` makes every write raise it (a full disk, a dead broker) until set
    back to None; `others_write` is another process (the CLI) writing a key,
    which `poll` then reports, as the real backends do.
    """

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.fail_with: BaseException | None = None
        self.writes: list[dict[str, bytes | None]] = []
        self.quarantined: list[tuple[str, str]] = []
        self._changed: dict[str, bytes | None] = {}

    @property
    def where(self) -> str:
        return "memory"

    def load(self) -> dict[str, bytes]:
        self._changed.clear()
        return dict(self.data)

    def write(self, changes: Any) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.writes.append(dict(changes))
        for key, value in changes.items():
            self._apply(key, value)

    def _apply(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value

    def others_write(self, key: str, value: bytes | None) -> None:
        self._apply(key, value)
        self._changed[key] = value

    def poll(self) -> dict[str, bytes | None]:
        changed, self._changed = self._changed, {}
        return changed

    def quarantine(self, key: str, reason: str) -> str:
        self.quarantined.append((key, reason))
        self.data.pop(key, None)
        return f"memory:{key}.corrupt"

    def close(self) -> None:
        return None
