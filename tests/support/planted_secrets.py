"""Known secrets planted in every secret-bearing setting, an echoing receiver, and a grep.

The secret-grep tests (tests/monitor/test_secrets_never_printed.py and
tests/integration/test_secrets_daemon.py) put one unique random string into each
setting that holds a credential, inline or in a file: the SASL and TLS key
passwords, Slack webhook URLs, PagerDuty routing keys, webhook signing secrets,
webhook auth headers, and passwords and tokens inside receiver URLs. They drive
the failure paths that could echo one, and `leaks` greps an output for every
secret in the spellings it could come back in.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

SECRET_NAMES = (
    "sasl_password",
    "sasl_password_file",
    "tls_password",
    "tls_password_file",
    "slack_webhook_path",
    "slack_webhook_file_path",
    "slack_refused_path",
    "pagerduty_routing_key",
    "pagerduty_routing_key_file",
    "webhook_secret",
    "webhook_secret_file",
    "webhook_auth_header",
    "webhook_url_password",
    "webhook_query_token",
    "alertmanager_url_password",
    "baseline_key",
)
WEBHOOK_USER = "hookuser"
ALERTMANAGER_USER = "amuser"


def plant(seed: int = 13) -> dict[str, str]:
    """One unique, YAML-plain, URL-safe random string per secret setting."""
    rng = random.Random(seed)
    return {name: f"Zq{rng.getrandbits(96):024x}Xk" for name in SECRET_NAMES}


def spellings(secrets: Mapping[str, str]) -> dict[str, str]:
    """Every form a secret could leak in -> the name of the secret it reveals."""
    forms: dict[str, str] = {}
    for name, value in secrets.items():
        forms[value] = name
        forms[quote(value, safe="")] = name
    for user, name in (
        (WEBHOOK_USER, "webhook_url_password"),
        (ALERTMANAGER_USER, "alertmanager_url_password"),
    ):
        basic = base64.b64encode(f"{user}:{secrets[name]}".encode()).decode()
        forms[basic.rstrip("=")] = name
    return forms


def leaks(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Names of the planted secrets that appear in `text` in any spelling."""
    lowered = text.lower()
    return sorted({name for form, name in spellings(secrets).items() if form.lower() in lowered})


def leaks_in_files(root: Path, secrets: Mapping[str, str]) -> dict[str, list[str]]:
    """Per file under `root` (recursively), the secrets it contains; empty when none.

    A running daemon writes by temporary file and rename: a file listed here may be gone
    when it is read. Its content is then under the final name, which a scan after the
    daemon stopped reads; that scan, not this one, is the complete one."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        names = leaks(data.decode("utf-8", errors="replace"), secrets)
        if names:
            found[str(path)] = names
    return found


# --- a receiver that echoes what it was sent ---------------------------------------------


@dataclass
class EchoServer:
    """HTTP on 127.0.0.1 that answers every POST with an error whose body echoes the request.

    The first path segment picks the answer: `/s403/...` 403 (permanent), `/s302/...`
    a redirect whose Location repeats the request URL, anything else 500 (retried).
    The body repeats the absolute URL, the Authorization header, a PagerDuty routing
    key, then every header and the request body: the worst a real receiver's error
    page could do.
    """

    httpd: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[str]

    @classmethod
    def start(cls) -> EchoServer:
        requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode("utf-8", errors="replace")
                url = f"http://{self.headers.get('host', '?')}{self.path}"
                requests.append(url)
                try:
                    key = json.loads(body).get("routing_key")
                except (ValueError, AttributeError):
                    key = None
                # The credentials first: the start of an error body is what gets logged.
                echo = json.dumps(
                    {
                        "url": url,
                        "authorization": self.headers.get("authorization"),
                        "routing_key": key,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                ).encode()
                status = 403 if self.path.startswith("/s403") else 500
                if self.path.startswith("/s302"):
                    status = 302
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", url + "?moved=1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(echo)))
                self.end_headers()
                self.wfile.write(echo)

            def log_message(self, *_args: Any) -> None:
                return None

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        return cls(httpd=httpd, thread=thread, requests=requests)

    @property
    def hostport(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host!s}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


_REFUSING: list[socket.socket] = []
"""The sockets that keep `closed_port`'s ports taken for the rest of the session."""


def closed_port() -> int:
    """A loopback port that refuses connections: bound and kept bound, never listening.

    A port merely bound and released could be handed to the next socket bound to port
    0, and the daemon's own metrics listener got one in CI: the "refused" receiver then
    posted to it and never saw a ConnectError."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _REFUSING.append(sock)
    return int(sock.getsockname()[1])


# --- configuration -----------------------------------------------------------------------


def secret_files(secrets: Mapping[str, str], directory: Path, echo: str) -> dict[str, Path]:
    """The `*_file` settings' files, as a mounted Kubernetes Secret would hold them."""
    directory.mkdir(parents=True, exist_ok=True)
    contents = {
        "sasl_password_file": secrets["sasl_password_file"],
        "tls_password_file": secrets["tls_password_file"],
        "slack_webhook_file": f"{echo}/s403/services/T1/B1/{secrets['slack_webhook_file_path']}",
        "pagerduty_routing_key_file": secrets["pagerduty_routing_key_file"],
        "webhook_secret_file": secrets["webhook_secret_file"],
        "baseline_key": secrets["baseline_key"],
    }
    paths = {}
    for name, text in contents.items():
        paths[name] = directory / name
        paths[name].write_text(text + "\n", encoding="utf-8")
    return paths


def receivers(
    secrets: Mapping[str, str], files: Mapping[str, Path], echo: EchoServer, refused: int
) -> list[dict[str, Any]]:
    """One receiver per secret setting, each failing in its own way."""
    base = f"http://{echo.hostport}"
    return [
        {"name": "log", "type": "log"},
        {
            "name": "slack-inline",
            "type": "slack",
            "webhook_url": f"{base}/s500/services/T0/B0/{secrets['slack_webhook_path']}",
        },
        {
            "name": "slack-file",
            "type": "slack",
            "webhook_url_file": str(files["slack_webhook_file"]),
        },
        {
            "name": "slack-refused",
            "type": "slack",
            "webhook_url": f"http://127.0.0.1:{refused}/services/{secrets['slack_refused_path']}",
        },
        {
            "name": "pagerduty-inline",
            "type": "pagerduty",
            "url": f"{base}/s500/v2/enqueue",
            "routing_key": secrets["pagerduty_routing_key"],
        },
        {
            "name": "pagerduty-file",
            "type": "pagerduty",
            "url": f"{base}/s302/v2/enqueue",
            "routing_key_file": str(files["pagerduty_routing_key_file"]),
        },
        {
            "name": "webhook-inline",
            "type": "webhook",
            "url": f"http://{WEBHOOK_USER}:{secrets['webhook_url_password']}@{echo.hostport}"
            f"/s500/hook?token={secrets['webhook_query_token']}",
            "secret": secrets["webhook_secret"],
        },
        {
            "name": "webhook-file",
            "type": "webhook",
            "url": f"{base}/s403/hook",
            "secret_file": str(files["webhook_secret_file"]),
            "headers": {"Authorization": f"Bearer {secrets['webhook_auth_header']}"},
        },
        {
            "name": "alertmanager",
            "type": "alertmanager",
            "url": f"http://{ALERTMANAGER_USER}:{secrets['alertmanager_url_password']}"
            f"@{echo.hostport}/s500",
        },
    ]


def alerting(
    secrets: Mapping[str, str],
    files: Mapping[str, Path],
    echo: EchoServer,
    refused: int,
    *,
    max_age: str = "2s",
) -> dict[str, Any]:
    """`alerting:` sending every alert to every receiver at once, retrying fast."""
    configured = receivers(secrets, files, echo, refused)
    return {
        "receivers": configured,
        "route": {
            "receiver": "log",
            "group_by": ["model"],
            "group_wait": 0,
            "group_interval": "1s",
            "routes": [
                {"receiver": r["name"], "continue": True} for r in configured if r["name"] != "log"
            ],
        },
        "delivery": {
            "timeout": "2s",
            "backoff_base": "50ms",
            "backoff_cap": "200ms",
            "max_age": max_age,
            "breaker_failures": 1000,
        },
    }


def iter_inline_secret_lines(text: str, secrets: Mapping[str, str]) -> Iterator[int]:
    """Indexes of the lines of a YAML text that hold a planted secret."""
    values = set(secrets.values())
    for i, line in enumerate(text.splitlines()):
        if any(v in line for v in values):
            yield i


def all_fields_yaml(
    secrets: Mapping[str, str], files: Mapping[str, Path], echo: EchoServer, refused: int
) -> str:
    """A YAML file with every inline secret on its own line (for the syntax-error cases)."""
    lines = [
        "kafka:",
        "  security_protocol: SASL_SSL",
        "  sasl:",
        "    mechanism: PLAIN",
        "    username: driftwarden",
        f"    password: {secrets['sasl_password']}",
        "  tls:",
        f"    password: {secrets['tls_password']}",
        f"    password_file: {files['tls_password_file']}",
        "alerting:",
        "  receivers:",
    ]
    for receiver in receivers(secrets, files, echo, refused):
        first = True
        for key, value in receiver.items():
            prefix = "    - " if first else "      "
            first = False
            if isinstance(value, dict):
                lines.append(f"{prefix}{key}:")
                lines.extend(f"        {k}: {v}" for k, v in value.items())
            else:
                lines.append(f"{prefix}{key}: {value}")
    return "\n".join(lines) + "\n"
