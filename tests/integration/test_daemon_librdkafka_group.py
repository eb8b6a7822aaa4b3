"""`kafka.client: librdkafka` runs one member per group, and makes that safe.

librdkafka cannot run the active/standby assignor (monitor/kafka/rdkafka_consumer.py):
a second member would get a share of the partitions and judge partial windows. It
must refuse to join, with an error naming the fix, while the running member goes
on undisturbed: no rebalance, every window counted exactly as replay counts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import (
    DaemonProcess,
    assert_counts_equal,
    daemon_config,
    produce,
    read_verdicts,
    replay_windows,
    synthetic_stream,
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


@pytest.mark.timeout(180)
def test_two_librdkafka_members_started_at_once_never_both_count(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path
) -> None:
    """Both may find the group empty and join: each then gets a share of the partitions.

    Whichever way the race goes, at most one member keeps running, it owns every
    partition, and a member that refuses was never handed a partition to count."""
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(3_000, seed=19, rate_per_second=200.0)
    produce(kafka_broker.bootstrap, topic, stream.payloads)
    members = []
    for name in ("a", "b"):
        work = tmp_path / name
        work.mkdir()
        config = daemon_config(
            work / "config.yaml",
            bootstrap=kafka_broker.bootstrap,
            topic=topic,
            group=group_id,
            baseline=baseline,
            work=work,
            client="librdkafka",
        )
        members.append(DaemonProcess(config, tmp_path / f"{name}.log", name=name))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            exited = [m for m in members if m.proc.poll() is not None]
            running = [m for m in members if m.proc.poll() is None]
            settled = [m for m in running if m.find("partitions_assigned") is not None]
            if len(exited) == 2 or (len(exited) == 1 and settled):
                break
            time.sleep(0.2)
        exited = [m for m in members if m.proc.poll() is not None]
        running = [m for m in members if m.proc.poll() is None]
        assert exited, "both members kept running in one group"
        for member in exited:
            output = member.output()
            assert member.proc.returncode != 0, output
            assert "runs one member per group" in output, output
            assert member.find("partitions_assigned") is None, output  # never counted
        for member in running:
            assigned = [e for e in member.events() if e.get("event") == "partitions_assigned"]
            assert assigned[-1]["partitions"] == [[topic, p] for p in range(3)], assigned
            assert member.stop(timeout=30) == 0, member.output()
    finally:
        for member in members:
            member.ensure_dead()


@pytest.mark.timeout(180)
def test_a_member_that_joins_anyway_makes_the_daemon_refuse_its_share_before_counting_it(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path
) -> None:
    """The assignment check, through librdkafka's real rebalance callback: a plain
    range-assignor consumer joins the running daemon's group, the daemon is offered a
    share of the partitions and leaves with the fix instead of judging part of a model."""
    from confluent_kafka import Consumer

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
    intruder = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": group_id,
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
        }
    )
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
    assert "runs one member per group" in output, output
    assigned = [e for e in daemon.events() if e.get("event") == "partitions_assigned"]
    assert [e["partitions"] for e in assigned] == [[[topic, p] for p in range(3)]]
