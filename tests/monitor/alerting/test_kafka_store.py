"""KafkaAlertStore's key namespace, without a broker (the real broker: tests/integration)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from driftwarden.monitor.alerting.kafka_store import KafkaAlertStore, key_prefix
from driftwarden.monitor.config import CheckpointSettings, KafkaSettings
from driftwarden.monitor.kafka.checkpoint import Checkpoint, encode
from driftwarden.monitor.kafka.client import KafkaClientConfig

Record = namedtuple("Record", "topic partition offset key value")


class Producer:
    def __init__(self, **_: Any) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []

    def send(self, topic: str, *, key: bytes, value: bytes | None) -> Any:
        self.sent.append((topic, key, value))

        class Done:
            def get(self, timeout: float) -> None:
                return None

        return Done()

    def close(self, timeout: float) -> None:
        return None


def store(group: str = "g1") -> tuple[KafkaAlertStore, Producer]:
    producer = Producer()
    built = KafkaAlertStore(
        KafkaClientConfig.from_settings(KafkaSettings()),
        CheckpointSettings(backend="kafka", topic="cp", create_topic=False),
        group_id=group,
        producer_factory=lambda **kw: producer,
    )
    return built, producer


def fold(s: KafkaAlertStore, *records: tuple[bytes | None, bytes | None]) -> dict[str, Any]:
    out: dict[str, bytes | None] = {}
    s._fold([Record("cp", 0, i, k, v) for i, (k, v) in enumerate(records)], out, {})
    return out


def test_only_this_groups_alert_keys_are_read() -> None:
    s, _ = store("g1")
    checkpoint = encode(Checkpoint("g1", {("t", 0): 1}, b"", "fp", created_at=0.0))
    assert fold(
        s,
        (b"alerting/g1/state", b"mine"),
        (b"alerting/g1/outbox/000000000004", b"entry"),
        (b"alerting/g1/outbox/000000000005", None),
        (b"alerting/g2/state", b"theirs"),
        (b"g1|t:0", checkpoint),
        (b"alerting/g1/state|t:0", checkpoint),  # a checkpoint of group "alerting/g1/state"
        (b"alerting/g1/unknown", b"?"),
        (b"alerting/g1/\xff", b"?"),
        (None, b"keyless"),
    ) == {"state": b"mine", "outbox/000000000004": b"entry", "outbox/000000000005": None}


def test_writes_and_quarantine_go_to_namespaced_keys_of_the_checkpoint_topic() -> None:
    s, producer = store("team/a")
    s.write({"state": b"v", "outbox/000000000001": None})
    s.quarantine("silences", "bad json")
    assert producer.sent == [
        ("cp", b"alerting/team/a/state", b"v"),
        ("cp", b"alerting/team/a/outbox/000000000001", None),
        ("cp", b"alerting/team/a/silences", None),
    ]
    assert key_prefix("team/a") == "alerting/team/a/"
