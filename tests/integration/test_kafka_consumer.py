"""At-least-once reading with exact state, proven against the real broker.

The loop runs in child processes (`tests.support.count_driver`) with a
processor that counts records per partition and notices any record seen twice
or skipped. The children are SIGKILLed at random points, joined by a second
member, stopped with SIGTERM; at the end the state in the checkpoints must
equal what was produced, exactly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from driftwarden.monitor.config import CheckpointSettings, KafkaSettings
from driftwarden.monitor.kafka.checkpoint import (
    DirectoryCheckpointStore,
    KafkaTopicCheckpointStore,
    latest_per_partition,
)
from driftwarden.monitor.kafka.client import KafkaClientConfig
from tests.support.counting import CountingProcessor, PartitionCount
from tests.support.driver import DriverProcess, merge_expected, produce_numbers
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


def _args(broker: KafkaBroker, topic: str, group: str, *extra: str) -> list[str]:
    return ["--bootstrap", broker.bootstrap, "--topic", topic, "--group", group, *extra]


def _final_counts(checkpoints: list[object]) -> dict[tuple[str, int], PartitionCount]:
    chosen = latest_per_partition(checkpoints)  # type: ignore[arg-type]
    return {p: CountingProcessor.decode(cp.state)[p] for p, cp in chosen.items()}


def _assert_exact(
    topic: str, expected: dict[int, tuple[int, int]], counts: dict[tuple[str, int], PartitionCount]
) -> None:
    assert set(counts) == {(topic, p) for p in expected}
    for p, (n, total) in expected.items():
        c = counts[(topic, p)]
        assert c.discontinuities == 0, f"partition {p}: records skipped or repeated ({c})"
        assert (c.count, c.total, c.next_offset) == (n, total, n), f"partition {p}: {c}"


def _directory_checkpoints(path: Path, group: str) -> list[object]:
    return list(DirectoryCheckpointStore(path).load(group))


@pytest.mark.timeout(150)
def test_three_sigkills_at_random_points_lose_nothing_and_count_nothing_twice(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    expected = produce_numbers(kafka_broker.bootstrap, topic, 50_000)
    checkpoints = tmp_path / "checkpoints"
    rng = random.Random(20261123)
    # Static membership: the restarted member takes its partitions back at once instead of
    # waiting for the killed one's session to expire.
    common = _args(
        kafka_broker,
        topic,
        group_id,
        "--checkpoint-dir",
        str(checkpoints),
        "--instance-id",
        "member-0",
        "--interval",
        "0.3",
        "--max-poll-records",
        "500",
        "--batch-delay",
        "0.05",
    )  # <= 10k records/s
    kills = []
    for run in range(3):
        child = DriverProcess(tmp_path, f"run{run}", common)
        try:
            child.wait_for("first records", lambda s: s.get("counted", 0) > 0, timeout=60)
            time.sleep(rng.uniform(0.2, 1.2))
            kills.append(child.counted())
            child.kill()
        finally:
            child.ensure_dead()
    note_timing(f"SIGKILLs came after {kills} of 50000 records were counted")
    assert all(k < 50_000 for k in kills), f"a kill came after the end: {kills}"

    final = DriverProcess(tmp_path, "final", [*common, "--exit-when-idle"])
    try:
        assert final.wait(timeout=90) == 0, final.output()
    finally:
        final.ensure_dead()
    _assert_exact(topic, expected, _final_counts(_directory_checkpoints(checkpoints, group_id)))
    assert final.status()["counted"] == 50_000, kills


@pytest.mark.timeout(150)
def test_a_standby_takes_over_every_partition_when_the_active_member_leaves(
    kafka_broker: KafkaBroker, topic: str, group_id: str, tmp_path: Path
) -> None:
    """Records arrive in three phases: before the join, while the second member stands by
    (the first keeps every partition), and after the first left (the second restored
    everything from the checkpoint topic)."""
    bootstrap = kafka_broker.bootstrap
    checkpoint_topic = f"{topic}-checkpoints"
    common = _args(
        kafka_broker,
        topic,
        group_id,
        "--store",
        "kafka",
        "--checkpoint-topic",
        checkpoint_topic,
        "--interval",
        "0.5",
        "--max-poll-records",
        "200",
        "--batch-delay",
        "0.01",
    )
    phases = [produce_numbers(bootstrap, topic, 10_000)]
    first = DriverProcess(tmp_path, "first", common)
    second: DriverProcess | None = None
    try:
        first.wait_for("3000 records", lambda s: s.get("counted", 0) >= 3000, timeout=60)
        second = DriverProcess(tmp_path, "second", common)
        standby = second
        deadline = time.monotonic() + 60
        while "became_standby" not in standby.output(500):
            assert time.monotonic() < deadline, standby.output()
            time.sleep(0.05)
        phases.append(produce_numbers(bootstrap, topic, 10_000, start=10_000))
        first.wait_for("all of it", lambda s: s.get("counted") == 20_000, timeout=60)
        assert second.counted() == 0  # a standby owns nothing
        first.terminate()
        assert first.wait(timeout=20) == 0, first.output()
        second.wait_for("the handover", lambda s: s.get("counted") == 20_000, timeout=60)
        phases.append(produce_numbers(bootstrap, topic, 10_000, start=20_000))
        second.wait_for("everything", lambda s: s.get("counted") == 30_000, timeout=60)
        second.terminate()
        assert second.wait(timeout=20) == 0, second.output()
    finally:
        first.ensure_dead()
        if second is not None:
            second.ensure_dead()
    assert [len(a) for a in first.status()["assignments"]] == [3]  # kept everything
    assert [len(a) for a in second.status()["assignments"]] == [3]  # took everything at once

    client = KafkaClientConfig.from_settings(
        KafkaSettings(bootstrap_servers=[bootstrap], bootstrap_timeout=10.0)
    )
    store = KafkaTopicCheckpointStore(
        client, CheckpointSettings(backend="kafka", topic=checkpoint_topic, create_topic=False)
    )
    try:
        _assert_exact(topic, merge_expected(*phases), _final_counts(list(store.load(group_id))))
    finally:
        store.close()


@pytest.mark.timeout(120)
def test_sigterm_exits_zero_within_the_grace_period_and_resumes_exactly(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    expected = produce_numbers(kafka_broker.bootstrap, topic, 20_000)
    checkpoints = tmp_path / "checkpoints"
    grace = 10.0
    common = _args(
        kafka_broker,
        topic,
        group_id,
        "--checkpoint-dir",
        str(checkpoints),
        "--interval",
        "5",
        "--grace",
        str(grace),
        "--max-poll-records",
        "200",
        "--batch-delay",
        "0.05",
    )
    child = DriverProcess(tmp_path, "stopped", common)
    try:
        child.wait_for("2000 records", lambda s: s.get("counted", 0) >= 2000, timeout=60)
        began = time.monotonic()
        child.terminate()
        code = child.wait(timeout=grace + 5)
        took = time.monotonic() - began
    finally:
        child.ensure_dead()
    note_timing(f"SIGTERM to exit 0: {took:.2f}s (grace {grace:.0f}s)")
    assert code == 0, child.output()
    assert took < grace, f"SIGTERM to exit took {took:.1f}s"
    counted_at_stop = child.status()["counted"]
    assert 2000 <= counted_at_stop < 20_000

    # The shutdown checkpoint covers exactly what was counted, and its offsets were committed.
    [saved] = DirectoryCheckpointStore(checkpoints).load(group_id)
    assert sum(saved.offsets.values()) == counted_at_stop
    with kafka_broker.admin() as admin:
        committed = admin.list_group_offsets({group_id: None})[group_id]
    assert {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()} == dict(
        saved.offsets
    )

    resumed = DriverProcess(tmp_path, "resumed", [*common, "--exit-when-idle"])
    try:
        assert resumed.wait(timeout=90) == 0, resumed.output()
    finally:
        resumed.ensure_dead()
    _assert_exact(topic, expected, _final_counts(_directory_checkpoints(checkpoints, group_id)))
