"""A local stand-in for Slack, PagerDuty and a generic webhook: records every POST.

One server on a free loopback port; the pod reaches it through the host network. It
answers 200 (Slack's "ok", PagerDuty's 202 body) and keeps each request's path, headers
and JSON body, so a test can count pages exactly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: Any


class Receiver:
    def __init__(self) -> None:
        self.posts: list[Post] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", errors="replace")
                with receiver._lock:
                    receiver.posts.append(
                        Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                reply = b"ok" if self.path.startswith("/slack") else b'{"status": "success"}'
                self.send_response(202 if self.path.startswith("/pagerduty") else 200)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def at(self, prefix: str) -> list[Post]:
        with self._lock:
            return [p for p in self.posts if p.path.startswith(prefix)]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver._server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver._server.shutdown()
        receiver._server.server_close()
