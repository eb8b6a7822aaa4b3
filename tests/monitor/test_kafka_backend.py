"""`kafka.client` picks the library of the group consumer and the dead-letter producer."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import KafkaConsumer

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.kafka import backend
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.rdkafka_producer import RdKafkaProducer


def _client(client: str) -> KafkaClientConfig:
    return KafkaClientConfig.from_settings(KafkaSettings(client=client))  # type: ignore[arg-type]


def test_kafka_python_builds_the_loops_consumer_from_its_kwargs() -> None:
    assert backend.consumer_factory(_client("kafka-python")) is KafkaConsumer


def test_librdkafka_builds_its_consumer_from_the_settings_not_kafka_pythons_kwargs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[KafkaClientConfig] = []

    class Recorder:
        def __init__(self, client: KafkaClientConfig) -> None:
            made.append(client)

    from driftwarden.monitor.kafka import rdkafka_consumer

    monkeypatch.setattr(rdkafka_consumer, "RdKafkaConsumer", Recorder)
    client = _client("librdkafka")
    factory = backend.consumer_factory(client)
    factory(**client.consumer_kwargs())  # what ConsumerLoop passes
    assert made == [client]


def test_the_dead_letter_producer_comes_from_the_chosen_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import confluent_kafka

    monkeypatch.setattr(confluent_kafka, "Producer", lambda config: config)
    producer: Any = backend.dead_letter_producer(_client("librdkafka"))
    assert isinstance(producer, RdKafkaProducer)
    assert producer.config["acks"] == "all"
