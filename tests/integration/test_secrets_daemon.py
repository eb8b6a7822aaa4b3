"""The secret-grep test against the real broker: the daemon's logs, outbox and /metrics.

tests/monitor/test_secrets_never_printed.py covers the config loader, replay and
an unreachable broker. Here `driftwarden run` consumes a drifting stream from
the real broker with every secret setting planted (tests.support.planted_secrets)
and every remote receiver failing: an echoing receiver (500, 403, redirect) and
a refused port. Alerts wait in the persistent outbox with their `last_error`;
then the daemon's output, every file it wrote (outbox, alert state, checkpoints,
verdict log, dead letters) and its /metrics, /healthz and /readyz are grepped for
every planted secret. A daemon whose SASL handshake the broker's PLAINTEXT
listener refuses must not print its password either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.calibration import make_baseline
from driftwarden.baselines.signing import read_key_file
from driftwarden.baselines.store import BaselineStore
from tests.support.daemon import DaemonProcess, daemon_config, produce, synthetic_stream
from tests.support.kafka_broker import ROOT, KafkaBroker
from tests.support.planted_secrets import (
    EchoServer,
    alerting,
    closed_port,
    leaks,
    leaks_in_files,
    plant,
    secret_files,
)

pytestmark = pytest.mark.kafka
SECRETS = plant(seed=29)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer.start()
    yield server
    server.close()


def _get(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:  # /readyz may answer 503 while receivers fail
        return str(exc.read().decode())


def _outbox_errors(state: Path) -> list[str]:
    errors = []
    for path in state.rglob("*.json"):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("last_error"):
            errors.append(str(entry["last_error"]))
    return errors


@pytest.mark.timeout(240)
def test_failing_receivers_leave_no_secret_in_daemon_logs_outbox_or_metrics(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path, echo: EchoServer
) -> None:
    files = secret_files(SECRETS, tmp_path / "secrets", f"http://{echo.hostport}")
    baseline = BaselineStore(tmp_path / "baselines").write(
        make_baseline(), key=read_key_file(files["baseline_key"])
    )
    state = tmp_path / "alert-state"
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        overrides={
            "baseline_verify_key_file": str(files["baseline_key"]),
            "alerting": {
                **alerting(SECRETS, files, echo, closed_port(), max_age="1h"),
                "state_directory": str(state),
            },
            "logging": {"format": "json", "level": "debug"},
        },
    )
    stream = synthetic_stream(20_000, seed=3, rate_per_second=200.0, drift_from=0.4)
    produce(kafka_broker.bootstrap, topic, stream.payloads)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        port = daemon.metrics_port()
        daemon.wait_until(
            "outbox entries with a last_error from every kind of failing receiver",
            lambda: (
                {u.split("/")[3] for u in echo.requests} == {"s500", "s403", "s302"}
                and any(e.startswith("HTTP 500") for e in _outbox_errors(state))
                and any("ConnectError" in e for e in _outbox_errors(state))
            ),
            timeout=150,
        )
        scraped = {path: _get(port, path) for path in ("/metrics", "/healthz", "/readyz")}
        assert "driftwarden_alerts_sent_total" in scraped["/metrics"]
        outbox_before_stop = leaks_in_files(state, SECRETS)
        assert daemon.stop(timeout=60) == 0, daemon.output()
    finally:
        daemon.ensure_dead()
    assert outbox_before_stop == {}
    assert any("[redacted]" in e for e in _outbox_errors(state)), "the echoes were scrubbed"
    for path, text in scraped.items():
        assert leaks(text, SECRETS) == [], f"{path} leaks {leaks(text, SECRETS)}"
    log = (tmp_path / "daemon.log").read_text(errors="replace")
    assert '"alert_delivery_failed"' in log
    assert leaks(log, SECRETS) == [], f"daemon output leaks {leaks(log, SECRETS)}"
    written = {p: leaks_in_files(p, SECRETS) for p in tmp_path.iterdir() if p.is_dir()}
    written.pop(tmp_path / "secrets")  # the planted files themselves
    assert all(found == {} for found in written.values()), written
    for name in ("verdicts.jsonl", "dead-letter.jsonl"):
        path = tmp_path / name
        assert leaks(path.read_text() if path.exists() else "", SECRETS) == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("password", ["inline", "file"])
def test_a_refused_sasl_handshake_with_the_real_broker_prints_no_password(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    *,
    password: str,
    kafka_client: str,
) -> None:
    """The broker's listener speaks PLAINTEXT; the daemon is configured for SASL SCRAM."""
    files = secret_files(SECRETS, tmp_path / "secrets", "http://127.0.0.1:1")
    baseline = BaselineStore(tmp_path / "baselines").write(make_baseline())
    sasl: dict[str, str] = {"mechanism": "SCRAM-SHA-512", "username": "driftwarden"}
    if password == "inline":
        sasl["password"] = SECRETS["sasl_password"]
    else:
        sasl["password_file"] = str(files["sasl_password_file"])
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        overrides={
            "kafka": {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl": sasl,
                "bootstrap_timeout": "5s",
            },
            "logging": {"format": "json", "level": "debug"},
        },
        client=kafka_client,
    )
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "driftwarden.monitor.cli", "run", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert time.monotonic() - began < 90
    evidence = {  # the SASL path really ran, in the chosen library
        "kafka-python": "SaslHandshake failed",
        "librdkafka": "SASL SCRAM-SHA-512 mechanism handshake failed",
    }[kafka_client]
    assert evidence in output, output
    assert leaks(output, SECRETS) == [], output
