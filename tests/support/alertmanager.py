"""A real Prometheus Alertmanager on loopback for integration tests, plus its webhook sink.

`start_alertmanager(tmp_path)` writes a config that routes everything to a local
webhook sink, starts Debian's `prometheus-alertmanager` on a free port with
clustering off, its own storage dir and an explicit external URL, waits for
`/-/ready`, and returns a handle. When the binary is missing or does not come up:
with CI=true the test FAILS (the component is part of the test command), else it
is skipped with the reason. Install: `apt-get install prometheus-alertmanager`
(scripts/install-system-deps.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

BINARY = "prometheus-alertmanager"


def unavailable(reason: str) -> None:
    """The 5-line rule: fail in CI, skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"Alertmanager is required in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebhookSink:
    """Records what Alertmanager's webhook notifier POSTs."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                sink.messages.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if predicate(message):
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no matching webhook message in {timeout}s; got {self.messages}")


@dataclass
class Alertmanager:
    url: str
    sink: WebhookSink
    process: subprocess.Popen[bytes]
    log_path: Path

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = httpx.get(
            f"{self.url}/api/v2/alerts", params=params, timeout=5
        ).json()
        return result


CONFIG = """\
route:
  receiver: local-webhook
  group_by: [alertname, environment]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: local-webhook
    webhook_configs:
      - url: {hook}
        send_resolved: true
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [model, environment]
"""


@contextmanager
def running_alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    binary = shutil.which(BINARY)
    if binary is None:
        unavailable(f"{BINARY} not on PATH; apt-get install prometheus-alertmanager")
    assert binary is not None
    sink = WebhookSink()
    hook = sink.start()
    config = tmp_path / "am.yml"
    config.write_text(CONFIG.format(hook=hook))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                f"--web.external-url={url}",
                "--log.level=debug",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                unavailable(
                    f"{BINARY} exited with {process.returncode}: {log_path.read_text()[-800:]}"
                )
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                unavailable(f"{BINARY} not ready after 15 s: {log_path.read_text()[-800:]}")
            time.sleep(0.1)
        yield Alertmanager(url=url, sink=sink, process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sink.stop()
