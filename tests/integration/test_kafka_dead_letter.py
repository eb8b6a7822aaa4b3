"""KafkaDeadLetterSink against the real broker: original bytes, metadata in headers."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.ingest.dead_letter import KafkaDeadLetterSink
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.service.daemon import check_topic_exists
from tests.support.kafka_broker import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]


def test_dead_letters_arrive_with_reason_and_source_headers(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    client = KafkaClientConfig.from_settings(
        KafkaSettings(bootstrap_servers=[kafka_broker.bootstrap], bootstrap_timeout=10.0)
    )
    producer = KafkaProducer(**client.producer_kwargs(client_suffix="dead-letter"))
    sink = KafkaDeadLetterSink(producer, topic)
    sink.write(b"\xff not json", "not_json", {"topic": "predictions", "partition": 1, "offset": 41})
    sink.write(
        b'{"x": 1}', "missing_field:model_id", {"topic": "predictions", "partition": 2, "offset": 7}
    )
    sink.close()
    producer.close(timeout=10)

    consumer = KafkaConsumer(
        bootstrap_servers=kafka_broker.bootstrap,
        auto_offset_reset="earliest",
        bootstrap_timeout_ms=10_000,
    )
    tps = [TopicPartition(topic, p) for p in range(3)]
    consumer.assign(tps)
    records = []
    for _ in range(50):
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
        if len(records) == 2:
            break
    consumer.close(autocommit=False)
    by_reason = {dict(r.headers)["driftwarden.reason"]: r for r in records}
    assert set(by_reason) == {b"not_json", b"missing_field:model_id"}
    first = by_reason[b"not_json"]
    assert first.value == b"\xff not json"
    assert dict(first.headers) == {
        "driftwarden.reason": b"not_json",
        "driftwarden.source.topic": b"predictions",
        "driftwarden.source.partition": b"1",
        "driftwarden.source.offset": b"41",
    }


def test_producer_without_acks_all_is_refused(kafka_broker: KafkaBroker) -> None:
    producer = KafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap, acks=1, enable_idempotence=False
    )
    try:
        with pytest.raises(ValueError, match="acks"):
            KafkaDeadLetterSink(producer, "dlq")
    finally:
        producer.close(timeout=5)


def test_the_daemon_refuses_a_dead_letter_topic_the_broker_does_not_have(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    client = KafkaClientConfig.from_settings(
        KafkaSettings(bootstrap_servers=[kafka_broker.bootstrap], bootstrap_timeout=10.0)
    )
    kafka_broker.create_topic(f"{topic}-dead", partitions=1)
    check_topic_exists(client, f"{topic}-dead")
    with pytest.raises(ConfigError, match=rf"dead_letter.topic '{topic}-missing' does not exist"):
        check_topic_exists(client, f"{topic}-missing")
