"""The dead-letter producer over librdkafka keeps the sink's guarantees (fakes, no broker)."""

from __future__ import annotations

from typing import Any

import pytest

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.errors import SinkUnavailable
from driftwarden.monitor.ingest.dead_letter import KafkaDeadLetterSink
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.rdkafka_producer import RdKafkaProducer


class FakeProducer:
    """confluent_kafka.Producer: reports deliveries only when polled or flushed."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.reports: list[Any] = []
        self.sent: list[tuple[str, bytes | None, list[tuple[str, bytes]] | None]] = []

    def produce(self, topic: str, *, value: Any, key: Any, headers: Any, on_delivery: Any) -> None:
        self.sent.append((topic, value, headers))
        self.reports.append(on_delivery)

    def poll(self, timeout: float) -> int:
        reports, self.reports = self.reports, []
        for report in reports:
            report("broker said no" if self.fail else None, None)
        return len(reports)

    def flush(self, timeout: float) -> int:
        self.poll(0)
        return 0


def _producer(fake: FakeProducer) -> RdKafkaProducer:
    client = KafkaClientConfig.from_settings(KafkaSettings(client="librdkafka"))
    return RdKafkaProducer(client, client_suffix="dead-letter", producer_factory=lambda c: fake)


def test_the_sink_accepts_it_as_an_acks_all_producer_with_kafka_pythons_size_limit() -> None:
    producer = _producer(FakeProducer(fail=False))
    assert producer.config == {"acks": "all", "max_request_size": 1_048_576}
    sink = KafkaDeadLetterSink(producer, "dead")
    sink.write(b"garbage", "invalid_json", {"topic": "t", "partition": 0, "offset": 5})
    sink.flush()


def test_a_failed_delivery_reported_before_the_errback_is_added_still_keeps_the_record() -> None:
    """librdkafka may report inside send(); the sink adds its errback after."""
    fake = FakeProducer(fail=True)
    sink = KafkaDeadLetterSink(_producer(fake), "dead")
    sink.write(b"garbage", "invalid_json", {"topic": "t", "partition": 0, "offset": 5})
    with pytest.raises(SinkUnavailable, match="1 write"):
        sink.flush()  # sent again, refused again: still kept
    fake.fail = False
    sink.flush()
    assert [value for _, value, _ in fake.sent] == [b"garbage"] * 3


def test_records_not_acknowledged_within_the_timeout_fail_the_flush() -> None:
    fake = FakeProducer(fail=False)
    fake.flush = lambda timeout: 2  # type: ignore[method-assign]
    with pytest.raises(TimeoutError, match="2 record"):
        _producer(fake).flush(timeout=0.1)
