"""No configured secret is ever printed: the secret-grep test (issue 13, item 5).

A unique random string sits in every secret-bearing setting (tests.support.
planted_secrets): SASL and TLS key passwords inline and in files, Slack webhook
URLs, PagerDuty routing keys, webhook signing secrets and auth headers, passwords
and tokens inside receiver URLs, the baseline key. Each test drives a failure
path that could echo one and greps every output it has for every secret, also
percent-encoded and (for URL user info) Basic-auth encoded: YAML syntax errors,
validation errors, malformed environment JSON, a valid `validate-config`,
`replay --send-alerts` against a receiver whose error bodies echo the request
URL, headers and body (500, 403, redirect) and against a refused connection,
and `run` failing to reach Kafka with SASL configured. The daemon's outbox and
/metrics are covered against the real broker in
tests/integration/test_secrets_daemon.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftwarden.baselines.artifact import encode_artifact
from driftwarden.baselines.signing import read_key_file
from driftwarden.monitor.cli import main
from tests.monitor.factories import make_baseline, uniform_events, write_lines
from tests.support.kafka_broker import ROOT
from tests.support.planted_secrets import (
    EchoServer,
    alerting,
    all_fields_yaml,
    closed_port,
    iter_inline_secret_lines,
    leaks,
    leaks_in_files,
    plant,
    secret_files,
)

SECRETS = plant()
Capture = pytest.CaptureFixture[str]


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer.start()
    yield server
    server.close()


@pytest.fixture
def files(tmp_path: Path, echo: EchoServer) -> dict[str, Path]:
    return secret_files(SECRETS, tmp_path / "secrets", f"http://{echo.hostport}")


def _validate(path: Path, capsys: Capture) -> tuple[int, str]:
    code = main(["validate-config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- the config loader: YAML syntax, validation, environment ---------------------------


def _value(wrap: Callable[[str], str]) -> Callable[[str], str]:
    """Apply `wrap` to the value of a `key: value` line."""

    def mutate(line: str) -> str:
        key, _, value = line.partition(": ")
        return f"{key}: {wrap(value)}"

    return mutate


MUTATIONS: dict[str, Callable[[str], str]] = {
    "mapping-value": lambda line: line + ": x",
    "alias": _value(lambda v: "*" + v),
    "tag": _value(lambda v: "!" + v + " x"),
    "unclosed-quote": _value(lambda v: '"' + v),
    "unclosed-flow": _value(lambda v: "[" + v),
    "flow-mapping": _value(lambda v: "{a: " + v + ": b}"),
    "tab": _value(lambda v: "\t" + v + "\t: x"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_yaml_syntax_error_on_any_secret_line_never_prints_the_secret(
    tmp_path: Path,
    files: dict[str, Path],
    echo: EchoServer,
    capsys: Capture,
    mutation: str,
) -> None:
    text = all_fields_yaml(SECRETS, files, echo, closed_port())
    lines = text.splitlines()
    targets = list(iter_inline_secret_lines(text, SECRETS))
    assert len(targets) >= 8, "every inline secret setting must be in the file"
    for index in targets:
        broken = [*lines]
        broken[index] = MUTATIONS[mutation](lines[index])
        path = tmp_path / f"broken-{index}.yaml"
        path.write_text("\n".join(broken) + "\n")
        code, output = _validate(path, capsys)
        assert code == 2, output
        assert "not valid YAML at line" in output, output
        assert leaks(output, SECRETS) == [], output


def _receiver(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in config["alerting"]["receivers"] if r["name"] == name)


def _listed(receiver: dict[str, Any], key: str) -> None:
    receiver[key] = [receiver[key]]


INVALID: dict[str, Callable[[dict[str, Any]], None]] = {
    "unknown-key-beside-secrets": lambda c: c["kafka"]["sasl"].update(passwrd="x"),
    "secret-as-a-list": lambda c: _listed(c["kafka"]["sasl"], "password"),
    "secret-as-a-mapping-key": lambda c: _receiver(c, "slack-inline").update(
        webhook_url={_receiver(c, "slack-inline")["webhook_url"]: 1}
    ),
    "both-password-and-file": lambda c: c["kafka"]["sasl"].update(password_file="/x"),
    "header-value-not-a-string": lambda c: _listed(
        _receiver(c, "webhook-file")["headers"], "Authorization"
    ),
    "routing-key-not-a-string": lambda c: _listed(_receiver(c, "pagerduty-inline"), "routing_key"),
    "bad-duration-beside-secrets": lambda c: c["alerting"]["delivery"].update(timeout="soon"),
    "unknown-receiver-type": lambda c: _receiver(c, "webhook-inline").update(type="webhok"),
    "url-not-a-string": lambda c: _listed(_receiver(c, "alertmanager"), "url"),
}


def _valid_config(files: dict[str, Path], echo: EchoServer) -> dict[str, Any]:
    return {
        "kafka": {
            "security_protocol": "SASL_SSL",
            "sasl": {"mechanism": "PLAIN", "username": "dw", "password": SECRETS["sasl_password"]},
            "tls": {"password": SECRETS["tls_password"]},
        },
        "alerting": alerting(SECRETS, files, echo, closed_port()),
    }


@pytest.mark.parametrize("case", sorted(INVALID))
def test_validation_errors_never_print_a_secret(
    tmp_path: Path, files: dict[str, Path], echo: EchoServer, capsys: Capture, case: str
) -> None:
    config = _valid_config(files, echo)
    INVALID[case](config)
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config))
    code, output = _validate(path, capsys)
    assert code == 2, output
    assert "configuration error" in output, output
    assert leaks(output, SECRETS) == [], output


def test_malformed_environment_json_never_prints_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Capture
) -> None:
    monkeypatch.setenv(
        "DRIFTWARDEN_KAFKA", '{"sasl": {"password": "' + SECRETS["sasl_password"] + '"'
    )
    path = tmp_path / "empty.yaml"
    path.write_text("{}\n")
    code, output = _validate(path, capsys)
    assert code == 2
    assert "DRIFTWARDEN_KAFKA is not valid JSON" in output
    assert leaks(output, SECRETS) == [], output


def test_a_valid_config_is_reported_without_its_secrets(
    tmp_path: Path, files: dict[str, Path], echo: EchoServer, capsys: Capture
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(_valid_config(files, echo)))
    code, output = _validate(path, capsys)
    assert code == 0, output
    assert "receivers: log, slack-inline" in output
    assert leaks(output, SECRETS) == [], output


# --- replay --send-alerts: every receiver fails, echoing what it was sent -------------


def test_replay_receiver_failures_never_log_report_or_print_a_secret(
    tmp_path: Path, files: dict[str, Path], echo: EchoServer, capsys: Capture
) -> None:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline(), key=read_key_file(files["baseline_key"])))
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "policy": {
                    "window": {"size": "60s", "allowed_lateness": "10s"},
                    "significance": {"min_samples": 50},
                },
                "baseline_verify_key_file": str(files["baseline_key"]),
                "alerting": alerting(SECRETS, files, echo, closed_port(), max_age="1s"),
                "logging": {"format": "json", "level": "debug"},
            }
        )
    )
    rng = np.random.default_rng(4)
    events = uniform_events(rng, 1500, t0=0.0) + uniform_events(rng, 1500, t0=150.0, shift=4.0)
    log = write_lines(tmp_path / "log.jsonl", events)
    report = tmp_path / "report.json"
    dead = tmp_path / "dead.jsonl"
    code = main(
        [
            "replay",
            str(log),
            "--baseline",
            str(baseline),
            "--config",
            str(config),
            "--report",
            str(report),
            "--dead-letter",
            str(dead),
            "--send-alerts",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for channel, text in {"stdout": captured.out, "stderr": captured.err}.items():
        assert leaks(text, SECRETS) == [], f"{channel} leaks: {leaks(text, SECRETS)}"
    assert leaks(report.read_text(), SECRETS) == []
    assert leaks(dead.read_text() if dead.exists() else "", SECRETS) == []
    # The failure paths really ran: every echoing receiver was called and its echo scrubbed.
    called = {url.split("/")[3] for url in echo.requests}
    assert called == {"s500", "s403", "s302"}, echo.requests
    events_logged = [json.loads(x) for x in captured.err.splitlines() if x.startswith("{")]
    failures = [
        e for e in events_logged if e["event"] in {"alert_delivery_failed", "alert_rejected"}
    ]
    receivers_failed = {e["receiver"] for e in failures}
    assert receivers_failed >= {
        "slack-inline",
        "slack-file",
        "slack-refused",
        "pagerduty-inline",
        "pagerduty-file",
        "webhook-inline",
        "webhook-file",
        "alertmanager",
    }, receivers_failed
    assert any("[redacted]" in e["reason"] for e in failures)
    assert any("ConnectError" in e["reason"] for e in failures)
    assert all(len(e["reason"]) <= 200 for e in failures)


# --- run: Kafka unreachable with SASL configured -----------------------------------------


@pytest.mark.parametrize("secrets", ["inline", "files"])
def test_run_failing_to_reach_kafka_with_sasl_and_tls_prints_no_secret(
    tmp_path: Path, files: dict[str, Path], echo: EchoServer, secrets: str
) -> None:
    baseline = tmp_path / "m.baseline.json"
    baseline.write_bytes(encode_artifact(make_baseline(), key=read_key_file(files["baseline_key"])))
    sasl: dict[str, Any] = {"mechanism": "SCRAM-SHA-512", "username": "dw"}
    tls: dict[str, Any] = {"check_hostname": False}
    if secrets == "inline":
        sasl["password"] = SECRETS["sasl_password"]
        tls["password"] = SECRETS["tls_password"]
    else:
        sasl["password_file"] = str(files["sasl_password_file"])
        tls["password_file"] = str(files["tls_password_file"])
    config = tmp_path / "config.yaml"
    config.write_text(
        json.dumps(
            {
                "baselines": [str(baseline)],
                "baseline_verify_key_file": str(files["baseline_key"]),
                "kafka": {
                    "bootstrap_servers": [f"127.0.0.1:{closed_port()}"],
                    "security_protocol": "SASL_SSL",
                    "sasl": sasl,
                    "tls": tls,
                    "bootstrap_timeout": "2s",
                    "request_timeout": "2s",
                    "session_timeout": "2s",
                    "heartbeat_interval": "0.5s",
                },
                "checkpoint": {"backend": "directory", "directory": str(tmp_path / "cp")},
                "metrics": {"enabled": False},
                "alerting": {
                    **alerting(SECRETS, files, echo, closed_port()),
                    "state_directory": str(tmp_path / "alert-state"),
                },
                "dead_letter": {"path": str(tmp_path / "dead.jsonl")},
                "logging": {"format": "json", "level": "debug"},
            }
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "driftwarden.monitor.cli", "run", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "kafka" in output.lower(), output
    assert leaks(output, SECRETS) == [], output
    state = tmp_path / "alert-state"
    assert not state.exists() or leaks_in_files(state, SECRETS) == {}
