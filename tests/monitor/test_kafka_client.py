"""Client kwargs per security protocol, and secrets that never leak (no broker needed)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.kafka.active_standby import ActiveStandbyAssignor
from driftwarden.monitor.kafka.client import REDACTED, KafkaClientConfig, millis, redact

PASSWORD = "s3cr3t-Pa55-never-in-logs"
TLS_PASSWORD = "tls-key-pa55-never-in-logs"


def _settings(**overrides: Any) -> KafkaSettings:
    return KafkaSettings.model_validate({"bootstrap_servers": ["b1:9092", "b2:9092"], **overrides})


def _sasl(mechanism: str = "PLAIN", **extra: Any) -> dict[str, Any]:
    return {"mechanism": mechanism, "username": "monitor", "password": PASSWORD, **extra}


def test_plaintext_consumer_kwargs_commit_by_hand_and_convert_seconds_to_ms() -> None:
    settings = _settings(
        group_id="fraud",
        client_id="dw-1",
        max_poll_records=1234,
        session_timeout="10s",
        heartbeat_interval="3s",
        max_poll_interval="5m",
        request_timeout="20s",
        reconnect_backoff_max="1500ms",
        bootstrap_timeout="2s",
        isolation_level="read_committed",
    )
    kw = KafkaClientConfig.from_settings(settings).consumer_kwargs()
    assert kw["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert kw["group_id"] == "fraud"
    assert kw["client_id"] == "dw-1"
    assert kw["enable_auto_commit"] is False
    assert kw["isolation_level"] == "read_committed"
    assert kw["max_poll_records"] == 1234
    assert kw["auto_offset_reset"] == "earliest"
    assert kw["session_timeout_ms"] == 10_000
    assert kw["heartbeat_interval_ms"] == 3_000
    assert kw["max_poll_interval_ms"] == 300_000
    assert kw["request_timeout_ms"] == 20_000
    assert kw["reconnect_backoff_max_ms"] == 1_500
    assert kw["bootstrap_timeout_ms"] == 2_000
    assert kw["security_protocol"] == "PLAINTEXT"
    assert not {k for k in kw if k.startswith(("ssl_", "sasl_"))}
    assert "group_instance_id" not in kw
    [assignor] = kw["partition_assignment_strategy"]  # one active member, eager (the loop
    assert isinstance(assignor, ActiveStandbyAssignor)  # relies on revoke-all-then-assign)


def test_the_consumer_uses_the_assignor_it_is_given() -> None:
    assignor = ActiveStandbyAssignor()
    kw = KafkaClientConfig.from_settings(_settings()).consumer_kwargs(assignor=assignor)
    assert kw["partition_assignment_strategy"] == [assignor]


def test_static_membership_is_passed_when_configured() -> None:
    kw = KafkaClientConfig.from_settings(_settings(group_instance_id="dw-0")).consumer_kwargs()
    assert kw["group_instance_id"] == "dw-0"


def test_groupless_reader_has_no_group_settings() -> None:
    kw = KafkaClientConfig.from_settings(_settings()).consumer_kwargs(
        group=False, client_suffix="r"
    )
    assert kw["group_id"] is None
    assert kw["client_id"] == "driftwarden-r"
    assert "session_timeout_ms" not in kw
    assert kw["enable_auto_commit"] is False


def test_producer_kwargs_name_acks_all_and_idempotence_explicitly() -> None:
    """kafka-python drops idempotence silently when acks is lowered without naming it."""
    kw = KafkaClientConfig.from_settings(_settings()).producer_kwargs(
        client_suffix="checkpoint", max_request_size=5_000_000
    )
    assert kw["acks"] == "all"
    assert kw["enable_idempotence"] is True
    assert kw["max_request_size"] == 5_000_000
    assert kw["client_id"] == "driftwarden-checkpoint"
    assert "group_id" not in kw


def test_ssl_kwargs_carry_files_hostname_check_and_key_password(tmp_path: Path) -> None:
    settings = _settings(
        security_protocol="SSL",
        tls={
            "cafile": str(tmp_path / "ca.pem"),
            "certfile": str(tmp_path / "cert.pem"),
            "keyfile": str(tmp_path / "key.pem"),
            "password": TLS_PASSWORD,
            "check_hostname": False,
        },
    )
    kw = KafkaClientConfig.from_settings(settings).admin_kwargs()
    assert kw["security_protocol"] == "SSL"
    assert kw["ssl_cafile"] == str(tmp_path / "ca.pem")
    assert kw["ssl_certfile"] == str(tmp_path / "cert.pem")
    assert kw["ssl_keyfile"] == str(tmp_path / "key.pem")
    assert kw["ssl_password"] == TLS_PASSWORD
    assert kw["ssl_check_hostname"] is False
    assert not {k for k in kw if k.startswith("sasl_")}


def test_ssl_without_tls_settings_verifies_hostnames_against_system_cas() -> None:
    kw = KafkaClientConfig.from_settings(_settings(security_protocol="SSL")).consumer_kwargs()
    assert kw["ssl_check_hostname"] is True
    assert "ssl_cafile" not in kw


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_kwargs_for_each_mechanism(mechanism: str) -> None:
    settings = _settings(security_protocol="SASL_PLAINTEXT", sasl=_sasl(mechanism))
    kw = KafkaClientConfig.from_settings(settings).consumer_kwargs()
    assert kw["security_protocol"] == "SASL_PLAINTEXT"
    assert kw["sasl_mechanism"] == mechanism
    assert kw["sasl_plain_username"] == "monitor"
    assert kw["sasl_plain_password"] == PASSWORD
    assert not {k for k in kw if k.startswith("ssl_")}


def test_sasl_ssl_combines_both() -> None:
    settings = _settings(
        security_protocol="SASL_SSL",
        sasl=_sasl("SCRAM-SHA-512"),
        tls={"cafile": "/etc/kafka/ca.pem"},
    )
    kw = KafkaClientConfig.from_settings(settings).producer_kwargs(client_suffix="dlq")
    assert kw["security_protocol"] == "SASL_SSL"
    assert kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kw["sasl_plain_password"] == PASSWORD
    assert kw["ssl_cafile"] == "/etc/kafka/ca.pem"
    assert kw["ssl_check_hostname"] is True


def test_password_file_is_read_at_start_without_its_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    settings = _settings(
        security_protocol="SASL_PLAINTEXT",
        sasl={"mechanism": "SCRAM-SHA-256", "username": "u", "password_file": str(secret)},
    )
    config = KafkaClientConfig.from_settings(settings)
    secret.write_text("rotated\n", encoding="utf-8")  # read once, at start
    assert config.consumer_kwargs()["sasl_plain_password"] == PASSWORD


def test_missing_password_file_fails_at_start_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    settings = _settings(
        security_protocol="SASL_SSL", sasl={"username": "u", "password_file": str(missing)}
    )
    with pytest.raises(ConfigError, match=r"kafka\.sasl\.password_file: cannot read .*nope"):
        KafkaClientConfig.from_settings(settings)


def test_tls_key_password_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "keypass"
    secret.write_text(TLS_PASSWORD, encoding="utf-8")
    settings = _settings(security_protocol="SSL", tls={"password_file": str(secret)})
    assert KafkaClientConfig.from_settings(settings).admin_kwargs()["ssl_password"] == TLS_PASSWORD


def test_empty_password_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "empty"
    secret.write_text("\n", encoding="utf-8")
    settings = _settings(
        security_protocol="SASL_SSL", sasl={"username": "u", "password_file": str(secret)}
    )
    with pytest.raises(ConfigError, match="is empty"):
        KafkaClientConfig.from_settings(settings)


def test_secrets_never_appear_in_repr_describe_or_errors(tmp_path: Path) -> None:
    settings = _settings(
        security_protocol="SASL_SSL",
        sasl=_sasl("SCRAM-SHA-256"),
        tls={"password": TLS_PASSWORD},
    )
    config = KafkaClientConfig.from_settings(settings)
    texts = [repr(config), str(config), repr(config.describe()), repr(settings), str(settings)]
    texts.append(repr(redact(config.consumer_kwargs())))
    for text in texts:
        assert PASSWORD not in text
        assert TLS_PASSWORD not in text
    assert config.describe()["sasl_plain_password"] == REDACTED
    assert config.describe()["ssl_password"] == REDACTED

    bad = tmp_path / "binary"
    bad.write_bytes(b"\xff\xfe" + PASSWORD.encode())
    broken = _settings(
        security_protocol="SASL_SSL", sasl={"username": "u", "password_file": str(bad)}
    )
    with pytest.raises(ConfigError) as info:
        KafkaClientConfig.from_settings(broken)
    assert PASSWORD not in str(info.value)


def test_logging_the_described_config_shows_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(security_protocol="SASL_PLAINTEXT", sasl=_sasl())
    config = KafkaClientConfig.from_settings(settings)
    with structlog.testing.capture_logs() as events:
        structlog.get_logger("t").info("kafka_configured", config=config, **config.describe())
    logging.getLogger("t").warning("config %s %r", config, config.describe())
    assert PASSWORD not in repr(events)
    assert PASSWORD not in caplog.text


def test_heartbeat_must_stay_below_session_timeout() -> None:
    with pytest.raises(ConfigError, match="heartbeat_interval"):
        KafkaClientConfig.from_settings(_settings(session_timeout="3s", heartbeat_interval="3s"))


def test_request_timeout_must_exceed_the_fetch_wait() -> None:
    with pytest.raises(ConfigError, match="request_timeout"):
        KafkaClientConfig.from_settings(_settings(request_timeout="200ms"))


@pytest.mark.parametrize(
    ("client", "method"),
    [
        (KafkaConsumer, "consumer_kwargs"),
        (KafkaProducer, "producer_kwargs"),
        (KafkaAdminClient, "admin_kwargs"),
    ],
)
def test_every_key_is_known_to_kafka_python(client: Any, method: str) -> None:
    """kafka-python rejects unknown keys only when a client is built against a live broker."""
    settings = _settings(
        security_protocol="SASL_SSL",
        sasl=_sasl(),
        tls={"cafile": "/ca.pem", "password": "x"},
        group_instance_id="i",
    )
    config = KafkaClientConfig.from_settings(settings)
    kwargs = (
        getattr(config, method)(client_suffix="x")
        if method != "consumer_kwargs"
        else (config.consumer_kwargs())
    )
    assert set(kwargs) <= set(client.DEFAULT_CONFIG)


def test_millis_rounds_and_keeps_small_positive_values_positive() -> None:
    assert millis(0.0004) == 1
    assert millis(1.5) == 1500
    assert millis(0) == 0
