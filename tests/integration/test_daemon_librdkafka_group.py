"""`kafka.client: librdkafka` runs one member per group, and makes that safe.

librdkafka cannot run the active/standby assignor (monitor/kafka/rdkafka_consumer.py):
a second member would get a share of the partitions and judge partial windows. It
must refuse to join, with an error naming the fix, while the running member goes
on undisturbed: no rebalance, every window counted exactly as replay counts it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import (
    DaemonProcess,
    assert_counts_equal,
    daemon_config,
    produce,
    read_verdicts,
    replay_windows,
    synthetic_stream,
    verdict_lines,
    wait_for_windows,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(180)
def test_a_second_librdkafka_member_refuses_to_join_and_the_first_counts_every_window_exactly(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    began = time.monotonic()
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(20_000, seed=17, rate_per_second=200.0, drift_from=0.5)
    configs = {}
    for name in ("first", "second"):
        work = tmp_path / name
        work.mkdir()
        configs[name] = daemon_config(
            work / "config.yaml",
            bootstrap=kafka_broker.bootstrap,
            topic=topic,
            group=group_id,
            baseline=baseline,
            work=work,
            client="librdkafka",
        )
    reference = replay_windows(
        baseline,
        configs["first"],
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    half = len(stream.payloads) // 2
    produce(kafka_broker.bootstrap, topic, stream.payloads[:half])

    first = DaemonProcess(configs["first"], tmp_path / "first.log", name="first")
    second: DaemonProcess | None = None
    try:
        first.wait_for_event("partitions_assigned", timeout=60)
        second = DaemonProcess(configs["second"], tmp_path / "second.log", name="second")
        code = second.wait(timeout=60)
        refused = second.output()
        produce(kafka_broker.bootstrap, topic, stream.payloads[half:])
        wait_for_windows([first], [tmp_path / "first" / "verdicts.jsonl"], reference, timeout=120)
        assert first.stop(timeout=30) == 0, first.output()
    finally:
        first.ensure_dead()
        if second is not None:
            second.ensure_dead()

    assert code != 0, refused
    assert "runs one member per group" in refused, refused
    assert f"consumer group {group_id!r} already has 1 member" in refused, refused
    assert read_verdicts(tmp_path / "second" / "verdicts.jsonl") == {}  # judged nothing
    assigned = [e for e in first.events() if e.get("event") == "partitions_assigned"]
    assert len(assigned) == 1, assigned  # never rebalanced: the second member never joined
    assert assigned[0]["partitions"] == [[topic, p] for p in range(3)]

    live = read_verdicts(tmp_path / "first" / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    for key in sorted(reference):
        assert live[key] == reference[key], f"window {key} differs"
    note_timing(
        f"librdkafka one member per group: second member refused, {len(reference)} windows "
        f"exact; {time.monotonic() - began:.1f}s"
    )


def _member_config(tmp_path: Path, name: str, kafka_broker: KafkaBroker, **names: Any) -> Path:
    work = tmp_path / name
    work.mkdir()
    return daemon_config(
        work / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        work=work,
        client="librdkafka",
        **names,
    )


def _committed(kafka_broker: KafkaBroker, group_id: str, topic: str) -> dict[int, int]:
    """The group's committed offsets, asked without joining the group."""
    from confluent_kafka import Consumer, TopicPartition

    reader = Consumer({"bootstrap.servers": kafka_broker.bootstrap, "group.id": group_id})
    try:
        found = reader.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
    finally:
        reader.close()
    return {tp.partition: tp.offset for tp in found if tp.offset >= 0}


def _assert_refused_having_published_nothing(member: DaemonProcess, work: Path) -> None:
    output = member.output()
    assert member.proc.returncode != 0, output
    assert "runs one member per group" in output, output
    assert member.find("partitions_assigned") is None, output  # the loop was told of nothing
    assert verdict_lines(work / "verdicts.jsonl") == [], output
    checkpoints = [p for p in (work / "checkpoints").rglob("*") if p.is_file()]
    assert checkpoints == [], output


@pytest.mark.timeout(300)
def test_two_librdkafka_members_started_at_once_leave_one_counting_every_window_exactly(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path
) -> None:
    """Both may find the group empty and join; the first to join may hold every
    partition, and count, until the second arrives.

    Whichever way the race goes: at most one member keeps running and it owns every
    partition; a member that refuses exits non-zero with the fix and published
    nothing (no verdict, no checkpoint, and if none runs on, no committed offset);
    and the member that counts (the one left running, else a successor started in
    a fresh work directory) counts every window exactly as replay does."""
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(3_000, seed=19, rate_per_second=200.0)
    names = {"topic": topic, "group": group_id, "baseline": baseline}
    configs = {n: _member_config(tmp_path, n, kafka_broker, **names) for n in ("a", "b", "c")}
    reference = replay_windows(
        baseline,
        configs["a"],
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    produce(kafka_broker.bootstrap, topic, stream.payloads)
    members = {n: DaemonProcess(configs[n], tmp_path / f"{n}.log", name=n) for n in ("a", "b")}
    try:
        running = _race(list(members.values()))
        for name, member in members.items():
            if member not in running:
                _assert_refused_having_published_nothing(member, tmp_path / name)
        if not running:
            assert _committed(kafka_broker, group_id, topic) == {}
            members["c"] = DaemonProcess(configs["c"], tmp_path / "c.log", name="c")
            running = [members["c"]]
        (counting,) = running
        work = tmp_path / counting.name
        wait_for_windows([counting], [work / "verdicts.jsonl"], reference, timeout=120)
        # Offered a share when the other joined, it must get every partition back.
        counting.wait_until("every partition back", lambda: _whole(counting), timeout=60)
        assigned = [e for e in counting.events() if e.get("event") == "partitions_assigned"]
        assert assigned[-1]["partitions"] == [[topic, p] for p in range(3)], assigned
        assert counting.stop(timeout=30) == 0, counting.output()
    finally:
        for member in members.values():
            member.ensure_dead()
    live = read_verdicts(work / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)


def _whole(member: DaemonProcess) -> bool:
    """Assigned partitions, and not offered a share since the last assignment."""
    events = [e.get("event") for e in member.events()]
    if "partitions_assigned" not in events:
        return False
    last = len(events) - events[::-1].index("partitions_assigned")
    return "partition_share_declined" not in events[last:]


def _race(members: list[DaemonProcess]) -> list[DaemonProcess]:
    """Until both have exited or one has and the other holds partitions: those running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        exited = [m for m in members if m.proc.poll() is not None]
        running = [m for m in members if m.proc.poll() is None]
        settled = [m for m in running if m.find("partitions_assigned") is not None]
        if len(exited) == 2 or (len(exited) == 1 and settled):
            break
        time.sleep(0.2)
    running = [m for m in members if m.proc.poll() is None]
    assert len(running) < 2, "both members kept running in one group"
    return running


@pytest.mark.timeout(300)
def test_a_member_that_counted_alone_goes_on_exactly_when_a_newcomer_joins_and_leaves(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path
) -> None:
    """The start-at-once race, forced: the daemon holds every partition and has counted
    (and published) when a second member joins, so it is revoked and offered a share;
    then the newcomer leaves, as a refusing member does. The daemon fetches none of
    the share, neither refuses nor commits what another member would start after,
    gets every partition back and counts every window exactly as replay does."""

    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(6_000, seed=29, rate_per_second=200.0)
    config = _member_config(
        tmp_path, "d", kafka_broker, topic=topic, group=group_id, baseline=baseline
    )
    reference = replay_windows(
        baseline,
        config,
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    verdicts = tmp_path / "d" / "verdicts.jsonl"
    half = len(stream.payloads) // 2
    produce(kafka_broker.bootstrap, topic, stream.payloads[:half])
    daemon = DaemonProcess(config, tmp_path / "d.log", name="d")
    newcomer = _plain_member(kafka_broker, group_id)
    try:
        daemon.wait_for_event("partitions_assigned", timeout=60)
        daemon.wait_until("a verdict", lambda: verdict_lines(verdicts) != [], timeout=60)
        newcomer.subscribe([topic])
        deadline = time.monotonic() + 60
        while not newcomer.assignment() and time.monotonic() < deadline:
            newcomer.poll(0.2)
        share = len(newcomer.assignment())
        declined = daemon.wait_for_event("partition_share_declined", timeout=30)
        newcomer.close()
        produce(kafka_broker.bootstrap, topic, stream.payloads[half:])
        wait_for_windows([daemon], [verdicts], reference, timeout=120)
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        with contextlib.suppress(RuntimeError):
            newcomer.close()  # RuntimeError: closed already
        daemon.ensure_dead()
    assert 0 < share < 3, "the newcomer was never given a share"
    assert declined["assigned"] == 3 - share, declined
    assigned = [e["partitions"] for e in daemon.events() if e.get("event") == "partitions_assigned"]
    assert len(assigned) >= 2, assigned  # revoked, then given every partition back
    assert all(a == [[topic, p] for p in range(3)] for a in assigned), assigned
    live = read_verdicts(verdicts)
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)


@pytest.mark.timeout(180)
def test_a_member_that_joins_anyway_makes_the_daemon_refuse_its_share_before_counting_it(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path
) -> None:
    """The assignment check, through librdkafka's real rebalance callback: a plain
    range-assignor consumer joins the running daemon's group and stays; the daemon is
    offered a share of the partitions, fetches none of it, waits for the newcomer to
    leave and, as it stays, leaves with the fix instead of judging part of a model."""

    baseline = write_baseline(tmp_path / "baselines")
    produce(
        kafka_broker.bootstrap,
        topic,
        synthetic_stream(3_000, seed=23, rate_per_second=200.0).payloads,
    )
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        client="librdkafka",
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    intruder = _plain_member(kafka_broker, group_id)
    try:
        daemon.wait_for_event("partitions_assigned", timeout=60)
        intruder.subscribe([topic])
        deadline = time.monotonic() + 60
        while daemon.proc.poll() is None and time.monotonic() < deadline:
            intruder.poll(0.2)
        code = daemon.wait(timeout=5)
    finally:
        intruder.close()
        daemon.ensure_dead()
    output = daemon.output()
    assert code != 0, output
    assert "was assigned" in output, output
    assert "and the other member stayed" in output, output
    assert daemon.find("partition_share_declined") is not None, output
    assert "runs one member per group" in output, output
    assigned = [e for e in daemon.events() if e.get("event") == "partitions_assigned"]
    assert [e["partitions"] for e in assigned] == [[[topic, p] for p in range(3)]]


def _plain_member(broker: KafkaBroker, group_id: str) -> Any:
    """A plain confluent-kafka consumer in the daemon's group, as any other application
    would join it: librdkafka's range assignor, no commits of its own."""
    from confluent_kafka import Consumer

    return Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group_id,
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
        }
    )
