"""The merger loop's reading of the partials topic: each window judged once, across takeovers.

Records go through the loop's own reading and merging steps (no broker: the real
broker runs in tests/integration/test_daemon_partitioned.py); what it publishes is
fed back as a new merger would read it from the start of the topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driftwarden.monitor.config import GroupSettings
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.merger import MergerLoop, merge_group
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
