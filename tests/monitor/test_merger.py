"""The merger loop's reading of the partials topic: each window judged once, across takeovers.

Records go through the loop's own reading and merging steps (no broker: the real
broker runs in tests/integration/test_daemon_partitioned.py); what it publishes is
fed back as a new merger would read it from the start of the topic.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import TopicPartition
from kafka.errors import IllegalStateError, KafkaError
from kafka.structs import ConsumerGroupMetadata, MemberState

from driftwarden.monitor.config import GroupSettings
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.merger import MergerLoop, _Listener, merge_group
from driftwarden.monitor.windows.merge_book import MergedWindow
from driftwarden.monitor.windows.partial import MergedMarker, Partial
from tests.monitor.factories import settings_with
from tests.monitor.test_merge_book import PARTITIONS, partial


@dataclass(frozen=True)
class _Record:
    key: bytes
    value: bytes | None
    offset: int = 0


class _Topic:
    """A PartialPublisher that appends to a list: the partials topic, in order."""

    def __init__(self) -> None:
        self.records: list[_Record] = []

    def publish(self, record: Partial | MergedMarker) -> None:
        self.records.append(_Record(record.record_key(), record.to_bytes(), len(self.records)))

    def tombstone(self, model_id: str, record_keys: Any) -> None:
        for key in record_keys:
            self.records.append(_Record(key, None, len(self.records)))

    def flush(self) -> None:
        pass


class _Judge:
    def __init__(self) -> None:
        self.judged: list[tuple[int, int]] = []
        self.restored: list[int] = []

    def judge(self, window: MergedWindow) -> Mapping[str, Any]:
        self.judged.append((window.key, window.state.events))
        return {"model_tier": 0, "tiers": {}, "series": {"n": [len(self.judged)]}}

    def restore(self, marker: MergedMarker) -> None:
        self.restored.append(marker.merged_below)


def _merger(topic: _Topic, judge: _Judge) -> MergerLoop:
    client = KafkaClientConfig.from_settings(settings_with().kafka)
    loop = MergerLoop(
        client=client,
        settings=GroupSettings(mode="partitioned"),
        input_topics=["events"],
        publisher=topic,  # type: ignore[arg-type]
        on_merged=judge.judge,
        on_marker=judge.restore,
        on_ownership=lambda owns: None,
    )
    loop.book.set_partitions(PARTITIONS)
    return loop


def _read_all(loop: MergerLoop, records: list[_Record]) -> None:
    for record in records:
        loop._read(record, now=0.0)


def test_each_window_is_judged_once_and_a_new_merger_reading_from_the_start_judges_none_again(
) -> None:  # fmt: skip
    topic, judge = _Topic(), _Judge()
    for key in (7, 8):
        topic.publish(partial(set(range(6)), key=key, member="a"))
        topic.publish(partial(set(range(6, 12)), key=key, member="b"))
    first = _merger(topic, judge)
    _read_all(first, list(topic.records))
    first._merge_ready(now=0.0)
    assert [k for k, _ in judge.judged] == [7, 8]
    # A member re-publishes window 8's share after a crash, then a new merger takes over.
    topic.publish(partial(set(range(6)), key=8, member="a"))
    successor_judge = _Judge()
    successor = _merger(topic, successor_judge)
    _read_all(successor, list(topic.records))
    successor._merge_ready(now=0.0)
    assert successor_judge.judged == []
    assert successor_judge.restored[-1] == 9  # tier history continues after window 8


def test_a_merged_window_leaves_a_marker_and_tombstones_for_its_partials() -> None:
    topic, judge = _Topic(), _Judge()
    topic.publish(partial(set(range(12)), key=7))
    loop = _merger(topic, judge)
    _read_all(loop, list(topic.records))
    loop._merge_ready(now=0.0)
    marker, tombstone = topic.records[-2:]
    assert tombstone.value is None
    assert tombstone.key == topic.records[0].key
    assert marker.value is not None
    _read_all(loop, [tombstone])
    assert loop.book.pending("m") == []


def test_the_merge_group_is_its_own_next_to_the_readers() -> None:
    assert merge_group("driftwarden") == "driftwarden.merge"


# --- rebalances while the merger works (kafka-python runs the callbacks on its IO thread) ---

_TP = TopicPartition("partials", 0)


class _Consumer:
    """A merge-group consumer over a `_Topic`, with the calls the loop makes.

    kafka-python runs rebalance callbacks on its IO thread during whichever
    blocking call the loop's thread is in (poll, end offsets, positions,
    metadata). `rebalances` says, call by call, whether a rebalance runs in
    that call: None for none, True when this member gets the partials
    partition, False when it loses it (or stays without it).
    """

    def __init__(self, topic: _Topic, rebalances: list[bool | None]) -> None:
        self.topic = topic
        self.rebalances = list(rebalances)
        self.listener: Any = None
        self.assigned: list[TopicPartition] = []
        self.next = 0
        self.reset = False

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.listener = listener

    def group_metadata(self) -> ConsumerGroupMetadata:
        joined = self.listener is not None
        return ConsumerGroupMetadata(state=MemberState.STABLE if joined else MemberState.UNJOINED)

    def _call(self) -> None:
        if self.listener is None:
            return  # not subscribed yet (the loop awaits the topic's metadata first)
        mine = self.rebalances.pop(0) if self.rebalances else None
        if mine is None:
            return
        if self.assigned:
            self.listener.on_partitions_revoked(set(self.assigned))
        self.assigned = [_TP] if mine else []
        self.listener.on_partitions_assigned(set(self.assigned))

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[_Record]]:
        self._call()
        if not self.assigned:
            return {}
        if self.reset:
            self.next, self.reset = 0, False
        batch = self.topic.records[self.next : self.next + 3]
        self.next += len(batch)
        return {_TP: batch} if batch else {}

    def end_offsets(
        self, tps: list[TopicPartition], timeout_ms: int | None = None
    ) -> dict[TopicPartition, int]:
        self._call()
        return dict.fromkeys(tps, len(self.topic.records))

    def position(self, tp: TopicPartition, timeout_ms: int | None = None) -> int:
        self._call()
        if tp not in self.assigned:
            raise IllegalStateError("Partition is not assigned")  # as kafka-python does
        return 0 if self.reset else self.next

    def partitions_for_topic(self, topic: str) -> set[int]:
        self._call()
        return {p for _, p in PARTITIONS}

    def seek_to_beginning(self, *tps: TopicPartition) -> None:
        if any(tp not in self.assigned for tp in tps):
            raise ValueError(f"Unassigned partition: {tps}")
        self.reset = True


def _turns(loop: MergerLoop, consumer: _Consumer, turns: int) -> list[tuple[bool, bool]]:
    """Turns of the loop's thread; after each, (owns alerting, is assigned)."""
    consumer.subscribe([], listener=_Listener(loop))
    seen = []
    for _ in range(turns):
        loop._turn(consumer)
        seen.append((loop.owns, bool(consumer.assigned)))
    return seen


def _windows(keys: range) -> _Topic:
    topic = _Topic()
    for key in keys:
        topic.publish(partial(set(range(6)), key=key, member="a"))
        topic.publish(partial(set(range(6, 12)), key=key, member="b"))
    return topic


def test_a_member_that_loses_the_partition_during_its_takeover_does_not_own_alerting() -> None:
    """The callbacks of a rebalance that gave the partials partition to another member
    ran while this one fetched the input topics' metadata for its takeover: it must
    not then take ownership (alerting) of the assignment it just lost."""
    topic, judge = _windows(range(7, 9)), _Judge()
    # poll: assigned; poll: reads; end offsets; metadata: taken away
    seen = _turns(_merger(topic, judge), _Consumer(topic, [True, None, None, False]), 8)
    assert (True, False) not in seen
    assert judge.judged == []


def test_a_partition_revoked_while_the_merger_checks_its_catch_up_does_not_end_merging() -> None:
    """kafka-python raises for the position of a partition that is no longer assigned:
    a rebalance in that call must not end the merger's thread; assigned again, it reads
    the topic from its start and judges every window once."""
    topic, judge = _windows(range(7, 10)), _Judge()
    # poll: assigned; poll: reads; end offsets; metadata; first position: taken away
    rebalances: list[bool | None] = [True, None, None, None, False, None, True]
    seen = _turns(_merger(topic, judge), _Consumer(topic, rebalances), 16)
    assert seen[-1] == (True, True)
    assert [k for k, _ in judge.judged] == [7, 8, 9]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([None, None, None, None, True, False]), max_size=40))
def test_whatever_the_rebalances_each_window_is_judged_once_and_alerting_follows_the_assignment(
    rebalances: list[bool | None],
) -> None:
    """Rebalances in any call of the merger's thread: it never owns alerting while the
    partition is not assigned to it, and once the assignment settles on it every window
    is judged, each exactly once over all its ownerships (markers read back)."""
    topic, judge = _windows(range(7, 12)), _Judge()
    consumer = _Consumer(topic, [*rebalances, True])
    seen = _turns(_merger(topic, judge), consumer, len(rebalances) + 30)
    assert (True, False) not in seen
    assert seen[-1] == (True, True)
    assert [k for k, _ in judge.judged] == [7, 8, 9, 10, 11]


class _Failing(_Consumer):
    """A consumer whose client fails (as a metadata refresh cancelled under load does)."""

    def partitions_for_topic(self, topic: str) -> set[int]:
        raise KafkaError("Metadata refresh: failed Cancelled")


def test_an_error_in_the_merger_ends_its_consumer_but_a_new_one_merges_every_window() -> None:
    """A client error used to end the merger's thread for good: that member never merged
    again, and when every member's merger had failed nothing was merged at all."""
    topic, judge, stop = _windows(range(7, 10)), _Judge(), threading.Event()
    consumers = iter([_Failing(topic, [True]), _Consumer(topic, [True])])
    loop = MergerLoop(
        client=KafkaClientConfig.from_settings(settings_with().kafka),
        settings=GroupSettings(mode="partitioned"),
        input_topics=["events"],
        publisher=topic,  # type: ignore[arg-type]
        on_merged=lambda w: (stop.set() if w.key == 9 else None, judge.judge(w))[1],
        on_marker=judge.restore,
        on_ownership=lambda owns: None,
        consumer_factory=lambda **kwargs: next(consumers),
        restart_after=0.0,
    )
    loop.run(stop)
    assert isinstance(loop.error, KafkaError)
    assert [k for k, _ in judge.judged] == [7, 8, 9]
    assert not loop.owns
