"""The librdkafka consumer behind the kafka-python surface of the consumer loop (fakes,
no broker; the daemon's integration tests run it against the real one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition
from kafka import OffsetAndMetadata
from kafka import TopicPartition as KpTopicPartition
from kafka.errors import InconsistentGroupProtocolError

from driftwarden.monitor.config import KafkaSettings
from driftwarden.monitor.errors import ConfigError
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.polled import WholeRun
from driftwarden.monitor.kafka.rdkafka_consumer import OFFSET_UNSET, RdKafkaConsumer, RdRecord

TOPIC = "predictions"


@dataclass
class FakeMessage:
    _topic: str
    _partition: int
    _offset: int
    _value: bytes = b"{}"
    _error: Any = None

    def error(self) -> Any:
        return self._error

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000 + self._offset)

    def key(self) -> bytes | None:
        return None

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list[tuple[str, bytes]] | None:
        return None

    def leader_epoch(self) -> int | None:
        return 4


@dataclass
class FakeConsumer:
    """What RdKafkaConsumer calls on confluent_kafka.Consumer."""

    partitions: int = 3
    batches: list[list[Any]] = field(default_factory=list)
    assigned: list[tuple[str, int, int]] = field(default_factory=list)
    committed_offsets: list[tuple[str, int, int, int | None]] = field(default_factory=list)
    callbacks: dict[str, Any] = field(default_factory=dict)
    error_cb: Any = None
    closed: bool = False
    watermark_calls: int = 0

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        found = SimpleNamespace(error=None, partitions=dict.fromkeys(range(self.partitions)))
        return SimpleNamespace(topics={TOPIC: found})

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.callbacks = callbacks

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        return self.batches.pop(0) if self.batches else []

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = [(tp.topic, tp.partition, tp.offset) for tp in tps]

    def pause(self, tps: list[TopicPartition]) -> None:
        pass

    def resume(self, tps: list[TopicPartition]) -> None:
        pass

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> list[TopicPartition]:
        assert asynchronous is False
        for tp in offsets:
            self.committed_offsets.append((tp.topic, tp.partition, tp.offset, tp.leader_epoch))
        return offsets

    def close(self) -> None:
        self.closed = True

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        self.watermark_calls += 1
        return (0, 100 + self.watermark_calls)


class FakeAdmin:
    def __init__(self, members: list[list[tuple[str, str | None]]]) -> None:
        self.answers = members  # one list of (member id, instance id) per look

    def describe_consumer_groups(self, groups: list[str], **_: Any) -> dict[str, Any]:
        members = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        description = SimpleNamespace(
            members=[SimpleNamespace(member_id=m, group_instance_id=i) for m, i in members]
        )
        future = SimpleNamespace(result=lambda timeout: description)
        return {groups[0]: future}


class Listener:
    """The loop's listener: async callbacks that finish without waiting."""

    def __init__(self, seeks: dict[tuple[str, int], int] | None = None) -> None:
        self.consumer: Any = None
        self.seeks = seeks or {}
        self.calls: list[tuple[str, list[tuple[str, int]]]] = []
        self.commit: dict[Any, Any] = {}

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.calls.append(("assigned", sorted((tp.topic, tp.partition) for tp in assigned)))
        for (topic, partition), offset in self.seeks.items():
            self.consumer.seek(KpTopicPartition(topic, partition), offset)

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.calls.append(("revoked", sorted((tp.topic, tp.partition) for tp in revoked)))
        if self.commit:
            await self.consumer.commit_async(self.commit)

    async def on_partitions_lost(self, lost: Any) -> None:
        self.calls.append(("lost", sorted((tp.topic, tp.partition) for tp in lost)))


def _consumer(
    fake: FakeConsumer,
    *,
    members: list[list[tuple[str, str | None]]] | None = None,
    listener: Listener | None = None,
    now: list[float] | None = None,
    **settings: Any,
) -> tuple[RdKafkaConsumer, Listener]:
    kafka = KafkaSettings.model_validate(
        {"client": "librdkafka", "topics": [TOPIC], "session_timeout": "6s", **settings}
    )
    now = now if now is not None else [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def make(config: dict[str, Any]) -> FakeConsumer:
        fake.error_cb = config["error_cb"]
        return fake

    consumer = RdKafkaConsumer(
        KafkaClientConfig.from_settings(kafka),
        consumer_factory=make,
        admin_factory=lambda config: FakeAdmin(members or [[]]),
        clock=lambda: now[0],
        sleep=sleep,
    )
    listener = listener or Listener()
    listener.consumer = consumer
    consumer.subscribe(topics=[TOPIC], listener=listener)
    return consumer, listener


def _tps(*partitions: int) -> list[TopicPartition]:
    return [TopicPartition(TOPIC, p) for p in partitions]


def test_poll_returns_records_per_partition_in_offset_order_with_kafka_timestamps() -> None:
    fake = FakeConsumer()
    eof = FakeMessage(TOPIC, 1, -1, _error=KafkaError(KafkaError._PARTITION_EOF))
    fake.batches = [
        [FakeMessage(TOPIC, 0, 5), FakeMessage(TOPIC, 1, 7), eof, FakeMessage(TOPIC, 0, 6)]
    ]
    consumer, _ = _consumer(fake)
    batches = consumer.poll(timeout_ms=100)
    assert {(tp.topic, tp.partition): [r.offset for r in b] for tp, b in batches.items()} == {
        (TOPIC, 0): [5, 6],
        (TOPIC, 1): [7],
    }
    first = batches[next(iter(batches))][0]
    assert isinstance(first, RdRecord)
    assert (first.topic, first.partition, first.offset) == (TOPIC, 0, 5)
    assert first.timestamp == 1_700_000_000_005  # Kafka's record timestamp, milliseconds
    assert (first.key, first.value, first.headers, first.leader_epoch) == (None, b"{}", (), 4)


def test_seeks_in_the_assignment_callback_become_the_start_offsets_of_the_assignment() -> None:
    fake = FakeConsumer()
    seeks = {(TOPIC, 0): 42, (TOPIC, 2): 7}
    _, listener = _consumer(fake, listener=Listener(seeks=seeks))
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    assert listener.calls == [("assigned", [(TOPIC, 0), (TOPIC, 1), (TOPIC, 2)])]
    assert fake.assigned == [(TOPIC, 0, 42), (TOPIC, 1, OFFSET_UNSET), (TOPIC, 2, 7)]


def test_a_share_of_the_partitions_is_refused_before_the_loop_is_told() -> None:
    """Two members started at once: neither may judge part of a model's traffic."""
    fake = FakeConsumer()
    consumer, listener = _consumer(fake)
    consumer.partitions_for_topic(TOPIC)  # the loop reads the metadata before its first poll
    with pytest.raises(ConfigError, match=r"assigned 2 of 3 partitions.*one member per group"):
        fake.callbacks["on_assign"](fake, _tps(0, 2))
    assert listener.calls == []
    fake.callbacks["on_revoke"](fake, _tps(0, 2))
    assert listener.calls == []  # never given, so never revoked either


def test_a_member_that_held_every_partition_fetches_none_of_a_share_and_goes_on_when_whole() -> (
    None
):
    """The first of two members started at once held everything for a moment and may
    have counted: it keeps its state and waits for the newcomer, which refuses, to go."""
    fake = FakeConsumer()
    consumer, listener = _consumer(fake, listener=Listener(seeks={(TOPIC, 1): 9}))
    consumer.partitions_for_topic(TOPIC)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    fake.callbacks["on_revoke"](fake, _tps(0, 1, 2))
    fake.callbacks["on_assign"](fake, _tps(0, 2))
    assert fake.assigned == []  # fetches nothing of the share
    assert [c[0] for c in listener.calls] == ["assigned", "revoked"]  # never told of it
    consumer.poll(timeout_ms=10)
    fake.callbacks["on_revoke"](fake, [])
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    assert listener.calls[-1] == ("assigned", [(TOPIC, 0), (TOPIC, 1), (TOPIC, 2)])
    assert fake.assigned == [(TOPIC, 0, OFFSET_UNSET), (TOPIC, 1, 9), (TOPIC, 2, OFFSET_UNSET)]


def test_a_member_offered_a_share_refuses_when_the_other_member_stays_two_sessions() -> None:
    fake = FakeConsumer()
    now = [0.0]
    consumer, _ = _consumer(fake, now=now)
    consumer.partitions_for_topic(TOPIC)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    fake.callbacks["on_revoke"](fake, _tps(0, 1, 2))
    fake.callbacks["on_assign"](fake, _tps(1))
    now[0] += 11.9
    consumer.poll(timeout_ms=10)
    now[0] += 0.1
    with pytest.raises(
        ConfigError,
        match=r"assigned 1 of 3 partitions and the other member stayed 12s.*one member per group",
    ):
        consumer.poll(timeout_ms=10)


def test_a_member_that_lost_its_membership_refuses_a_share_at_once() -> None:
    """Out of the group, another member may have joined and counted: no state to keep."""
    fake = FakeConsumer()
    consumer, _ = _consumer(fake)
    consumer.partitions_for_topic(TOPIC)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    fake.callbacks["on_lost"](fake, _tps(0, 1, 2))
    with pytest.raises(ConfigError, match=r"assigned 2 of 3 partitions;"):
        fake.callbacks["on_assign"](fake, _tps(0, 1))


def test_the_assign_callback_asks_the_broker_nothing() -> None:
    """confluent-kafka's `list_topics` ends its own call state: called from a rebalance
    callback, it leaves the `consume()` that runs the callback without one, and that
    call's next callback aborts the process (CallState_get assertion)."""
    fake = FakeConsumer()
    consumer, _ = _consumer(fake)
    consumer.partitions_for_topic(TOPIC)
    fake.list_topics = None  # type: ignore[assignment]  # any call now fails
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))


def test_revocation_runs_the_loops_checkpoint_and_commits_with_known_leader_epochs() -> None:
    fake = FakeConsumer()
    listener = Listener()
    listener.commit = {
        KpTopicPartition(TOPIC, 0): OffsetAndMetadata(10, "", 3),
        KpTopicPartition(TOPIC, 1): OffsetAndMetadata(20, "", -1),
    }
    _consumer(fake, listener=listener)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    fake.callbacks["on_revoke"](fake, _tps(0, 1, 2))
    assert listener.calls[-1] == ("revoked", [(TOPIC, 0), (TOPIC, 1), (TOPIC, 2)])
    assert sorted(fake.committed_offsets) == [(TOPIC, 0, 10, 3), (TOPIC, 1, 20, None)]


def test_lost_partitions_reach_the_loop_as_lost_not_revoked() -> None:
    fake = FakeConsumer()
    _, listener = _consumer(fake)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    fake.callbacks["on_lost"](fake, _tps(0, 1, 2))
    assert listener.calls[-1] == ("lost", [(TOPIC, 0), (TOPIC, 1), (TOPIC, 2)])


def test_a_member_that_leaves_in_time_is_waited_for() -> None:
    """A member killed a moment ago stays in the group until its session expires."""
    fake = FakeConsumer()
    _consumer(fake, members=[[("old", None)], [("old", None)], []])
    assert fake.callbacks  # subscribed


def test_a_member_that_stays_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"already has 1 member.*replicaCount 1.*kafka-python"):
        _consumer(FakeConsumer(), members=[[("other", None)]])


def test_this_members_own_static_instance_does_not_count_as_another_member() -> None:
    fake = FakeConsumer()
    _consumer(fake, members=[[("previous-me", "dw-0")]], group_instance_id="dw-0")
    assert fake.callbacks


def test_a_group_of_other_assignors_raises_the_error_the_loop_explains() -> None:
    fake = FakeConsumer()
    consumer, _ = _consumer(fake)
    fake.error_cb(KafkaError(KafkaError.INCONSISTENT_GROUP_PROTOCOL))
    with pytest.raises(InconsistentGroupProtocolError):
        consumer.poll(timeout_ms=10)


def test_paused_partitions_stay_paused_across_an_assignment() -> None:
    fake = FakeConsumer()
    consumer, _ = _consumer(fake)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    consumer.pause(KpTopicPartition(TOPIC, 1))
    assert {(tp.topic, tp.partition) for tp in consumer.paused()} == {(TOPIC, 1)}
    consumer.resume(*consumer.paused())
    assert consumer.paused() == set()


def test_a_resume_while_a_share_is_declined_leaves_nothing_paused_when_whole_again() -> None:
    """Back-pressure may end while the member waits for a newcomer to leave."""
    fake = FakeConsumer()
    paused: list[list[tuple[str, int]]] = []
    fake.pause = lambda tps: paused.append([(tp.topic, tp.partition) for tp in tps])  # type: ignore[method-assign]
    consumer, _ = _consumer(fake)
    consumer.partitions_for_topic(TOPIC)
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    consumer.pause(KpTopicPartition(TOPIC, 0), KpTopicPartition(TOPIC, 1))
    fake.callbacks["on_revoke"](fake, _tps(0, 1, 2))
    fake.callbacks["on_assign"](fake, _tps(2))
    consumer.resume(*consumer.paused())
    paused.clear()
    fake.callbacks["on_assign"](fake, _tps(0, 1, 2))
    assert paused == []
    assert consumer.paused() == set()


def test_the_cached_end_offset_is_asked_for_once_per_partition_and_poll() -> None:
    fake = FakeConsumer()
    consumer, _ = _consumer(fake)
    tp = KpTopicPartition(TOPIC, 0)
    assert consumer.highwater(tp) == consumer.highwater(tp) == 101
    assert fake.watermark_calls == 1
    consumer.poll(timeout_ms=10)
    assert consumer.highwater(tp) == 102  # what librdkafka learnt since


def test_a_run_gives_its_values_and_kafka_timestamps_whole_and_records_on_demand() -> None:
    fake = FakeConsumer()
    fake.batches = [
        [
            FakeMessage(TOPIC, 2, 10, b'{"a": 1}'),
            FakeMessage(TOPIC, 2, 11, b""),
            FakeMessage(TOPIC, 0, 3, b"{}"),
            FakeMessage(TOPIC, 2, 12, b"x\ny"),
        ]
    ]
    consumer, _ = _consumer(fake)
    runs = {(tp.topic, tp.partition): run for tp, run in consumer.poll(timeout_ms=100).items()}
    run = runs[(TOPIC, 2)]
    assert isinstance(run, WholeRun)
    assert run.values() == [b'{"a": 1}', b"", b"x\ny"]
    assert run.timestamps() == [1_700_000_000_010, 1_700_000_000_011, 1_700_000_000_012]
    assert (len(run), run[-1].offset, run[1].value) == (3, 12, b"")
    assert [r.offset for r in run[1:]] == [11, 12]
    assert [r.offset for r in runs[(TOPIC, 0)]] == [3]


def test_with_several_topics_the_runs_are_per_topic_and_partition() -> None:
    fake = FakeConsumer()
    fake.batches = [
        [FakeMessage(TOPIC, 0, 1), FakeMessage("outcomes", 0, 7), FakeMessage(TOPIC, 0, 2)]
    ]
    consumer, listener = _consumer(fake)
    consumer.subscribe(topics=[TOPIC, "outcomes"], listener=listener)
    batches = consumer.poll(timeout_ms=100)
    assert {(tp.topic, tp.partition): [r.offset for r in b] for tp, b in batches.items()} == {
        (TOPIC, 0): [1, 2],
        ("outcomes", 0): [7],
    }
