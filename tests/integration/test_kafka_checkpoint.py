"""KafkaTopicCheckpointStore against the real broker: compacted topic, latest per key."""

from __future__ import annotations

import uuid

import pytest
import structlog
from kafka import KafkaProducer

from driftwarden.monitor.config import CheckpointSettings, KafkaSettings
from driftwarden.monitor.kafka.checkpoint import Checkpoint, KafkaTopicCheckpointStore
from driftwarden.monitor.kafka.client import KafkaClientConfig
from tests.support.kafka_broker import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]


def _store(broker: KafkaBroker, topic: str, **settings: object) -> KafkaTopicCheckpointStore:
    client = KafkaClientConfig.from_settings(
        KafkaSettings(
            bootstrap_servers=[broker.bootstrap], request_timeout=10.0, bootstrap_timeout=10.0
        )
    )
    return KafkaTopicCheckpointStore(
        client,
        CheckpointSettings.model_validate(
            {"backend": "kafka", "topic": topic, "timeout": 15.0, **settings}
        ),
    )


def _cp(group: str, offsets: dict[tuple[str, int], int], state: bytes, at: float) -> Checkpoint:
    return Checkpoint(group, offsets, state, "fp", created_at=at)


@pytest.fixture
def checkpoint_topic() -> str:
    return f"ckpt-{uuid.uuid4().hex[:12]}"


def test_topic_is_created_compacted(kafka_broker: KafkaBroker, checkpoint_topic: str) -> None:
    store = _store(kafka_broker, checkpoint_topic)
    store.close()
    from kafka.admin import ConfigResource, ConfigResourceType

    with kafka_broker.admin() as admin:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, checkpoint_topic)]
        )
    [by_name] = described.values()
    configs = by_name[checkpoint_topic]
    assert configs["cleanup.policy"]["value"] == "compact", configs["cleanup.policy"]
    assert int(configs["max.message.bytes"]["value"]) > 16 * 1024 * 1024
    assert kafka_broker.end_offsets(checkpoint_topic) == {0: 0}


def test_load_returns_the_latest_checkpoint_per_member_key(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    store = _store(kafka_broker, checkpoint_topic)
    try:
        assert store.load("g") == []
        store.save(_cp("g", {("t", 0): 1, ("t", 1): 1}, b"a1", 1.0))
        store.save(_cp("g", {("t", 0): 5, ("t", 1): 6}, b"a2", 2.0))
        store.save(_cp("g", {("t", 2): 9}, b"b1", 3.0))
        store.save(_cp("other", {("t", 0): 99}, b"x", 4.0))
        loaded = {cp.key: cp.state for cp in store.load("g")}
        assert loaded == {"g|t:0,1": b"a2", "g|t:2": b"b1"}
    finally:
        store.close()


def test_discard_writes_a_tombstone(kafka_broker: KafkaBroker, checkpoint_topic: str) -> None:
    store = _store(kafka_broker, checkpoint_topic)
    try:
        old = _cp("g", {("t", 0): 1}, b"old", 1.0)
        store.save(old)
        store.save(_cp("g", {("t", 1): 1}, b"keep", 2.0))
        store.discard(old)
        assert [cp.state for cp in store.load("g")] == [b"keep"]
    finally:
        store.close()


def test_corrupt_newest_record_falls_back_to_the_previous_valid_one(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    store = _store(kafka_broker, checkpoint_topic)
    try:
        good = _cp("g", {("t", 0): 3}, b"good", 1.0)
        store.save(good)
        producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
        producer.send(checkpoint_topic, key=good.key.encode(), value=b"DWCP torn").get(10)
        producer.close(timeout=10)
        with structlog.testing.capture_logs() as logs:
            [loaded] = store.load("g")
        assert loaded.state == b"good"
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["checkpoint_skipped"]
    finally:
        store.close()


def test_checkpoints_larger_than_a_default_message_round_trip(
    kafka_broker: KafkaBroker, checkpoint_topic: str
) -> None:
    """Engine state can outgrow Kafka's 1 MiB default; the topic is created to take it."""
    store = _store(kafka_broker, checkpoint_topic, max_bytes=4 * 1024 * 1024)
    try:
        state = bytes(range(256)) * (3 * 4096)  # 3 MiB
        store.save(_cp("g", {("t", 0): 1}, state, 1.0))
        [loaded] = store.load("g")
        assert loaded.state == state
    finally:
        store.close()
