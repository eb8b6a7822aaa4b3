"""Three members sharing a 12-partition topic in `group.mode: partitioned` (issue 17).

Every member reads a share of the partitions and publishes partial windows to
the partials topic; one member (the merge group's) merges each window once all
twelve partitions are covered, evaluates it and pages. Against the real broker,
with the same events and receiver as `test_daemon_group.py`:

- every window record (whoever logged it, however often) has replay's counts
  and tiers, and every window is there: nothing judged on a share of the
  events, nothing lost, through a member joining mid-stream and a member killed
  by SIGKILL mid-window: the merging one (its partitions and the merging move
  on), or one that only reads (its shares are published again by the new owners);
- the receiver gets replay's notifications, each once, one member per incident;
- the partials topic's bytes per window, read back from the topic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.integration.test_daemon_group import (
    PARTITIONS,
    Pager,
    _assert_each_window_once_with_replays_counts,
    _assert_one_page_per_incident,
    _GroupOfThree,
    _producing,
    _wait_windows,
    pager,  # noqa: F401 - the fixture
)
from tests.support.daemon import DaemonProcess, verdict_lines
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


def _partitioned(topic_suffix: str) -> dict[str, Any]:
    return {"group": {"mode": "partitioned", "partials_topic": f"partials-{topic_suffix}"}}


def _topic_bytes(bootstrap: str, topic: str) -> dict[str, int]:
    """Every record the partials topic holds, by kind (read from its start; nothing is
    compacted yet in a test this short, so this is what was written)."""
    import msgspec

    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        sizes: dict[str, int] = {}
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    kind = str(msgspec.msgpack.decode(r.key)[0])
                    kind = "tombstone" if r.value is None else kind
                    size = len(r.key) + (len(r.value) if r.value is not None else 0)
                    sizes[kind] = sizes.get(kind, 0) + size
                    sizes[f"{kind}_records"] = sizes.get(f"{kind}_records", 0) + 1
        return sizes
    finally:
        consumer.close(autocommit=False)


def _assert_records_are_replays(logs: list[Path], group: _GroupOfThree) -> int:
    """Every window record, statistics, means and tiers included, is replay's record
    byte for byte (window sums are exact, so merging shares in any order changes
    nothing); returns how many there were."""
    n = 0
    for path in logs:
        for record in verdict_lines(path):
            key = (record["model_id"], record["window_index"])
            if record["window_index"] in group.stream.sentinel_windows:
                continue
            assert record == group.reference[key], key
            n += 1
    return n


def _merger(members: list[DaemonProcess]) -> DaemonProcess:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        owners = [m for m in members if m.proc.poll() is None and _owns_merging(m)]
        if owners:
            return owners[0]
        time.sleep(0.2)
    raise AssertionError("no member merges:\n" + "\n".join(m.output(20) for m in members))


def _owns_merging(member: DaemonProcess) -> bool:
    became = [e for e in member.events() if e.get("event") == "merger_became_owner"]
    gave = [e for e in member.events() if e.get("event") == "merger_gave_up_ownership"]
    return len(became) > len(gave)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("victim", ["reader", "merger"])
def test_three_partitioned_members_judge_each_window_like_replay_through_a_join_and_a_kill(
    *,
    victim: str,
    kafka_broker: KafkaBroker,
    group_id: str,
    tmp_path: Path,
    pager: Pager,  # noqa: F811
    note_timing: Callable[[str], None],
) -> None:
    began = time.monotonic()
    group = _GroupOfThree.prepare(
        kafka_broker, group_id, tmp_path, pager, backend="kafka", extra=_partitioned(group_id)
    )
    topic, configs, stream = group.topic, group.configs, group.stream
    payloads, boot = stream.payloads, kafka_broker.bootstrap

    members: list[DaemonProcess] = []
    try:
        a = DaemonProcess(configs["a"], tmp_path / "a" / "daemon.log", name="member-a")
        b = DaemonProcess(configs["b"], tmp_path / "b" / "daemon.log", name="member-b")
        members += [a, b]
        a.wait_for_event("became_active", 90)
        b.wait_for_event("became_active", 90)
        flow = _producing(boot, topic, payloads[:8_000], 0)
        c = DaemonProcess(configs["c"], tmp_path / "c" / "daemon.log", name="member-c")
        members.append(c)
        c.wait_for_event("became_active", 90)  # joined mid-stream: a rebalance of the readers
        flow.join(timeout=60)
        flow = _producing(boot, topic, payloads[8_000:14_000], 8_000)
        merging = _merger(members)
        killed = merging if victim == "merger" else next(m for m in members if m is not merging)
        time.sleep(1.0)  # mid-stream: records of open windows are in flight
        killed.kill()  # SIGKILL: no checkpoint, no goodbye to either group
        flow.join(timeout=60)
        flow = _producing(boot, topic, payloads[14_000:], 14_000)
        survivors = [m for m in members if m is not killed]
        again = DaemonProcess(
            configs[killed.name[-1]],
            tmp_path / killed.name[-1] / "daemon2.log",
            name=f"{killed.name}-again",
        )
        members.append(again)
        again.wait_for_event("became_active", 90)  # joins mid-stream again
        flow.join(timeout=120)
        assert not flow.is_alive()
        _wait_windows(members, set(group.reference), timeout=150)
        for member in [*survivors, again]:
            assert member.stop(timeout=30) == 0, member.output()
    finally:
        for member in members:
            member.ensure_dead()
    logs = [tmp_path / n / "verdicts.jsonl" for n in ("a", "b", "c")]
    logged = _assert_each_window_once_with_replays_counts(
        logs, group.reference, stream.sentinel_windows
    )
    _assert_records_are_replays(logs, group)
    _assert_one_page_per_incident(pager.pages, group.replay_alerts)
    # A window is judged again only when the merger died between its evaluation and
    # the marker; the same record then (checked above).
    records = sum(len(verdict_lines(p)) for p in logs)
    windows = len(group.reference)
    merged_by = {n for n, count in logged.items() if count}
    sizes = _topic_bytes(boot, f"partials-{group_id}")
    partial_bytes = sizes.get("partial", 0)
    assert sizes.get("partial_records", 0) >= windows  # at least one share per window
    note_timing(
        f"partitioned group of 3 on {PARTITIONS} partitions, {victim} killed: windows logged "
        f"per member {logged} ({records} records for {windows} windows, "
        f"merged by {sorted(merged_by)}), "
        f"{len(pager.pages)} pages; partials topic {sizes} -> "
        f"{partial_bytes / windows:.0f} bytes of shares per window; "
        f"{time.monotonic() - began:.1f}s"
    )


@pytest.mark.timeout(300)
def test_one_partitioned_member_judges_every_window_like_replay(
    kafka_broker: KafkaBroker,
    group_id: str,
    tmp_path: Path,
    pager: Pager,  # noqa: F811
) -> None:
    """The baseline of the three-member test: the same topic and events, one member."""
    group = _GroupOfThree.prepare(
        kafka_broker, group_id, tmp_path, pager, backend="kafka", extra=_partitioned(group_id)
    )
    member = DaemonProcess(group.configs["a"], tmp_path / "a" / "daemon.log", name="member-a")
    try:
        member.wait_for_event("became_active", 90)
        flow = _producing(kafka_broker.bootstrap, group.topic, group.stream.payloads, 0)
        flow.join(timeout=120)
        _wait_windows([member], set(group.reference), timeout=120)
        assert member.stop(timeout=30) == 0, member.output()
    finally:
        member.ensure_dead()
    logs = [tmp_path / "a" / "verdicts.jsonl"]
    assert _assert_records_are_replays(logs, group) == len(group.reference)
    _assert_one_page_per_incident(pager.pages, group.replay_alerts)
