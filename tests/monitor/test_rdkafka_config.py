"""`kafka.client: librdkafka`: the same settings under librdkafka's names (no broker needed).

Each configuration is also handed to a real confluent-kafka constructor, which
validates every property name and value without connecting."""

from __future__ import annotations

import sys
from typing import Any

import confluent_kafka
import pytest

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.kafka.backend import check_client
from driftwarden.monitor.kafka.client import REDACTED, KafkaClientConfig
from driftwarden.monitor.kafka.rdkafka_config import (
    admin_config,
    consumer_config,
    producer_config,
    redact,
    require_confluent_kafka,
)

PASSWORD = "s3cr3t-Pa55-never-in-logs"


def _client(**overrides: Any) -> KafkaClientConfig:
    settings = KafkaSettings.model_validate(
        {"client": "librdkafka", "bootstrap_servers": ["b1:9092", "b2:9092"], **overrides}
    )
    return KafkaClientConfig.from_settings(settings)


def test_the_group_member_commits_by_hand_with_an_eager_assignor_and_the_same_timeouts() -> None:
    config = consumer_config(
        _client(
            group_id="fraud",
            client_id="dw-1",
            session_timeout="10s",
            heartbeat_interval="3s",
            max_poll_interval="5m",
            request_timeout="20s",
            reconnect_backoff_max="1500ms",
            isolation_level="read_committed",
            auto_offset_reset="latest",
            group_instance_id="dw-0",
        )
    )
    assert config["bootstrap.servers"] == "b1:9092,b2:9092"
    assert config["group.id"] == "fraud"
    assert config["client.id"] == "dw-1"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["partition.assignment.strategy"] == "range"  # eager: revoke all, then assign
    assert config["session.timeout.ms"] == 10_000
    assert config["heartbeat.interval.ms"] == 3_000
    assert config["max.poll.interval.ms"] == 300_000
    assert config["socket.timeout.ms"] == 20_000
    assert config["reconnect.backoff.max.ms"] == 1_500
    assert config["isolation.level"] == "read_committed"
    assert config["auto.offset.reset"] == "latest"
    assert config["group.instance.id"] == "dw-0"
    # librdkafka's 1 s default pause after a full prefetch queue starves a consumer that
    # is behind (bench.client_throughput): refill within a poll's worth of time.
    assert config["fetch.queue.backoff.ms"] <= 50
    assert config["security.protocol"] == "PLAINTEXT"
    assert not {k for k in config if k.startswith(("ssl.", "sasl."))}
    confluent_kafka.Consumer(config).close()


def test_sasl_scram_maps_mechanism_user_and_password() -> None:
    client = _client(
        security_protocol="SASL_PLAINTEXT",
        sasl={"mechanism": "SCRAM-SHA-512", "username": "monitor", "password": PASSWORD},
    )
    config = consumer_config(client)
    assert config["security.protocol"] == "SASL_PLAINTEXT"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "monitor"
    assert config["sasl.password"] == PASSWORD
    confluent_kafka.Consumer(config).close()


def test_tls_maps_files_hostname_check_and_key_password(tmp_path: Any) -> None:
    client = _client(
        security_protocol="SASL_SSL",
        sasl={"mechanism": "PLAIN", "username": "monitor", "password": PASSWORD},
        tls={
            "cafile": "/etc/ca.pem",
            "certfile": "/etc/client.pem",
            "keyfile": "/etc/client.key",
            "password": "key-pass",
            "check_hostname": False,
        },
    )
    config = producer_config(client, client_suffix="dead-letter")
    assert config["ssl.ca.location"] == "/etc/ca.pem"
    assert config["ssl.certificate.location"] == "/etc/client.pem"
    assert config["ssl.key.location"] == "/etc/client.key"
    assert config["ssl.key.password"] == "key-pass"
    assert config["ssl.endpoint.identification.algorithm"] == "none"
    assert config["sasl.mechanism"] == "PLAIN"


def test_tls_without_files_verifies_hostnames_against_the_system_ca_store() -> None:
    config = admin_config(_client(security_protocol="SSL"))
    assert config["ssl.ca.location"] == "probe"
    assert config["ssl.endpoint.identification.algorithm"] == "https"
    assert "ssl.certificate.location" not in config


def test_producers_are_acks_all_idempotent_and_sized_as_kafka_python() -> None:
    config = producer_config(_client(client_id="dw"), client_suffix="dead-letter")
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert config["client.id"] == "dw-dead-letter"
    assert config["message.max.bytes"] == 1_048_576  # kafka-python's max_request_size
    assert "socket.timeout.ms" not in config
    confluent_kafka.Producer(config).flush(0)


def test_redact_hides_every_password_and_keeps_the_rest() -> None:
    client = _client(
        security_protocol="SASL_SSL",
        sasl={"mechanism": "PLAIN", "username": "monitor", "password": PASSWORD},
        tls={"password": "key-pass"},
    )
    shown = redact(consumer_config(client))
    assert shown["sasl.password"] == REDACTED
    assert shown["ssl.key.password"] == REDACTED
    assert shown["sasl.username"] == "monitor"
    assert PASSWORD not in repr(shown)


def test_choosing_librdkafka_without_confluent_kafka_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # import raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'driftwarden\[librdkafka\]'"):
        require_confluent_kafka()
    with pytest.raises(ConfigError, match=r"kafka\.client librdkafka"):
        check_client(_client())


def test_kafka_python_is_the_default_client_and_needs_no_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    settings = KafkaSettings()
    assert settings.client == "kafka-python"
    check_client(KafkaClientConfig.from_settings(settings))


def test_an_unknown_client_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="kafka-python"):
        KafkaSettings.model_validate({"client": "franz-go"})
