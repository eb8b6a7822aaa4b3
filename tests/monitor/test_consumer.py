"""The consumer loop's mechanics against a scripted in-memory consumer (no broker, no sleeps).

The fake reproduces what matters of kafka-python 3.0: rebalance callbacks run
inside `poll()`/`close()` (eager: revoke all, then assign), an empty revoke on
the first join, positions reset to the committed offset (or the start) on
assignment, `seek`, `pause`, `highwater`. The real broker runs the same loop in
tests/integration/test_kafka_consumer.py.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import structlog
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import GroupAuthorizationFailedError, KafkaConnectionError
from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment

from driftwarden.monitor.config import CheckpointSettings, KafkaSettings
from driftwarden.monitor.errors import CheckpointError, ConfigError, SinkUnavailable, SourceError
from driftwarden.monitor.kafka.checkpoint import Checkpoint, DirectoryCheckpointStore
from driftwarden.monitor.kafka.client import KafkaClientConfig
from driftwarden.monitor.kafka.consumer import ConsumerLoop, Record
from driftwarden.monitor.telemetry.health import HealthState
from driftwarden.monitor.telemetry.metrics import Metrics
from tests.support.counting import CountingProcessor

TOPIC = "events"
GROUP = "g"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _drive(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a listener coroutine the way kafka-python's IO loop would (it never suspends here)."""
    try:
        while True:
            coro.send(None)
    except StopIteration:
        return


class Cluster:
    """Topic data and committed offsets shared by the fake consumers of one test."""

    def __init__(self, sizes: dict[int, int]) -> None:
        self.data = {p: [str(i).encode() for i in range(n)] for p, n in sizes.items()}
        self.committed: dict[tuple[str, int], int] = {}

    def append(self, partition: int, count: int) -> None:
        start = len(self.data[partition])
        self.data[partition].extend(str(i).encode() for i in range(start, start + count))

    def expected_total(self, partition: int) -> int:
        return sum(int(v) for v in self.data[partition])


class FakeConsumer:
    def __init__(
        self,
        cluster: Cluster,
        clock: Clock,
        *,
        assignment: set[int] | None = None,
        max_records: int = 7,
        on_poll: Callable[[FakeConsumer, int], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.cluster = cluster
        self.clock = clock
        self.kwargs = kwargs
        self.max_records = max_records
        self.on_poll = on_poll
        self.polls = 0
        self.listener: Any = None
        self.assigned: set[int] = set()
        self.pending: set[int] | None = set(cluster.data) if assignment is None else assignment
        self.positions: dict[int, int] = {}
        self.paused_set: set[int] = set()
        self.closed = False
        self.first_join = True
        self.sync_commits: list[dict[Any, Any]] = []
        self.async_commits: list[dict[Any, Any]] = []

    def partitions_for_topic(self, topic: str) -> set[int]:
        self.metadata_loaded = True
        return set(self.cluster.data) if topic == TOPIC else set()

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.topics = topics
        self.listener = listener

    def rebalance(
        self, new_assignment: set[int], *, lost: bool = False, active_member: str | None = None
    ) -> None:
        """The next poll revokes everything, then assigns `new_assignment`. With
        `active_member`, the member's assignor first receives its role as the group
        leader's `ActiveStandbyAssignor` would send it (active when anything is assigned)."""
        self.pending = new_assignment
        self.lose = lost
        self.active_member = active_member

    def _deliver_role(self) -> None:
        [assignor] = self.kwargs["partition_assignment_strategy"]
        role = "active" if self.assigned else "standby"
        data = json.dumps({"format": 1, "role": role, "active": self.active_member, "members": 2})
        self.generation = getattr(self, "generation", 0) + 1
        assignor.on_assignment(
            ConsumerProtocolAssignment(0, [(TOPIC, sorted(self.assigned))], data.encode()),
            self.generation,
        )

    def _tps(self, parts: set[int]) -> set[Any]:
        return {TopicPartition(TOPIC, p) for p in parts}

    def poll(self, timeout_ms: int) -> dict[Any, list[Record]]:
        self.polls += 1
        if self.on_poll is not None:
            self.on_poll(self, self.polls)
        if self.pending is not None:
            if getattr(self, "lose", False):  # generation lost: no revoke, no commit
                _drive(self.listener.on_partitions_lost(self._tps(self.assigned)))
            else:
                _drive(self.listener.on_partitions_revoked(self._tps(self.assigned)))
            self.assigned = self.pending
            self.pending = None
            self.paused_set &= self.assigned
            self.positions = {
                p: self.cluster.committed.get((TOPIC, p), 0) for p in sorted(self.assigned)
            }
            if getattr(self, "active_member", None) is not None:
                self._deliver_role()
            _drive(self.listener.on_partitions_assigned(self._tps(self.assigned)))
        out: dict[Any, list[Record]] = {}
        budget = self.max_records
        for p in sorted(self.assigned - self.paused_set):
            values = self.cluster.data[p]
            start = self.positions[p]
            take = values[start : start + budget]
            if take:
                out[TopicPartition(TOPIC, p)] = [
                    Record(TOPIC, p, start + i, 1_700_000_000_000, None, v)
                    for i, v in enumerate(take)
                ]
                self.positions[p] = start + len(take)
                budget -= len(take)
        if not out:
            self.clock.now += timeout_ms / 1000
        return out

    def seek(self, tp: Any, offset: int) -> None:
        assert tp.partition in self.assigned, "seek on an unassigned partition"
        self.positions[tp.partition] = offset

    def position(self, tp: Any, timeout_ms: int | None = None) -> int:
        return self.positions[tp.partition]

    def highwater(self, tp: Any) -> int:
        return len(self.cluster.data[tp.partition])

    def end_offsets(self, tps: list[Any], timeout_ms: int | None = None) -> dict[Any, int]:
        return {tp: len(self.cluster.data[tp.partition]) for tp in tps}

    def pause(self, *tps: Any) -> None:
        self.paused_set |= {tp.partition for tp in tps}

    def resume(self, *tps: Any) -> None:
        self.paused_set -= {tp.partition for tp in tps}

    def paused(self) -> set[Any]:
        return self._tps(self.paused_set)

    def commit(self, offsets: dict[Any, Any], timeout_ms: int) -> None:
        self.sync_commits.append(offsets)
        self._store_commit(offsets)

    async def commit_async(self, offsets: dict[Any, Any]) -> None:
        self.async_commits.append(offsets)
        self._store_commit(offsets)

    def _store_commit(self, offsets: dict[Any, Any]) -> None:
        for tp, meta in offsets.items():
            assert isinstance(meta, OffsetAndMetadata)
            self.cluster.committed[(tp.topic, tp.partition)] = meta.offset

    def close(self, autocommit: bool, timeout_ms: int) -> None:
        assert autocommit is False
        if self.assigned:
            _drive(self.listener.on_partitions_revoked(self._tps(self.assigned)))
        self.assigned = set()
        self.closed = True


def _settings(**kafka: Any) -> tuple[KafkaClientConfig, CheckpointSettings]:
    k = KafkaSettings.model_validate(
        {"topics": [TOPIC], "group_id": GROUP, "idle_partition_timeout": 5.0, **kafka}
    )
    return KafkaClientConfig.from_settings(k), CheckpointSettings(backend="kafka", interval=2.0)


class Harness:
    def __init__(self, tmp_path: Path, cluster: Cluster, **kafka: Any) -> None:
        self.cluster = cluster
        self.clock = Clock()
        self.store = DirectoryCheckpointStore(tmp_path / "ckpt")
        self.client, self.checkpoint = _settings(**kafka)
        self.metrics = Metrics("test")
        self.health = HealthState(clock=self.clock)
        self.consumers: list[FakeConsumer] = []
        self.roles: list[tuple[bool, list[Any]]] = []  # (active, what was restored by then)
        self.alerting: list[tuple[bool, int]] = []  # (owns, checkpoints saved by then)

    def loop(
        self,
        processor: CountingProcessor,
        *,
        fingerprint: str = "f1",
        **consumer_kwargs: Any,
    ) -> ConsumerLoop:
        def factory(**kwargs: Any) -> FakeConsumer:
            consumer = FakeConsumer(self.cluster, self.clock, **consumer_kwargs, **kwargs)
            self.consumers.append(consumer)
            return consumer

        return ConsumerLoop(
            client=self.client,
            checkpoint=self.checkpoint,
            processor=processor,
            store=self.store,
            fingerprint=fingerprint,
            metrics=self.metrics,
            health=self.health,
            clock=self.clock,
            wall_clock=lambda: 1_700_000_000.0 + self.clock.now,
            consumer_factory=factory,
            on_role_change=lambda active: self.roles.append((active, processor.restored[:])),
            on_alerting=lambda owns: self.alerting.append(
                (owns, len(getattr(self.store, "attempts", ())))
            ),
        )


def _stop_after(polls: int, stop: threading.Event) -> Callable[[FakeConsumer, int], None]:
    def hook(consumer: FakeConsumer, n: int) -> None:
        if n >= polls:
            stop.set()

    return hook


def _assert_exact(cluster: Cluster, counts: dict[tuple[str, int], Any]) -> None:
    for p, values in cluster.data.items():
        c = counts[(TOPIC, p)]
        next_offset = 0 if c.next_offset is None else c.next_offset  # empty: never saw one
        assert (c.count, c.total, next_offset, c.discontinuities) == (
            len(values),
            cluster.expected_total(p),
            len(values),
            0,
        ), p


def _final_counts(store: DirectoryCheckpointStore) -> dict[tuple[str, int], Any]:
    from driftwarden.monitor.kafka.checkpoint import latest_per_partition

    chosen = latest_per_partition(store.load(GROUP))
    return {p: CountingProcessor.decode(cp.state)[p] for p, cp in chosen.items()}


def test_kafka_consumer_is_built_with_manual_commits(tmp_path: Path) -> None:
    h = Harness(tmp_path, Cluster({0: 3}))
    stop = threading.Event()
    h.loop(CountingProcessor(), on_poll=_stop_after(1, stop)).run(stop)
    kwargs = h.consumers[0].kwargs
    assert kwargs["enable_auto_commit"] is False
    assert kwargs["group_id"] == GROUP


def test_graceful_stop_checkpoints_commits_and_leaves(tmp_path: Path) -> None:
    cluster = Cluster({0: 20, 1: 5, 2: 0})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = CountingProcessor()
    h.loop(processor, on_poll=_stop_after(10, stop)).run(stop)
    consumer = h.consumers[0]
    assert consumer.closed
    assert cluster.committed == {(TOPIC, 0): 20, (TOPIC, 1): 5, (TOPIC, 2): 0}
    _assert_exact(cluster, _final_counts(h.store))
    # close() revokes, but nothing changed since the shutdown checkpoint: no second commit
    assert consumer.async_commits == []


def test_checkpoint_happens_on_the_interval_before_the_commit(tmp_path: Path) -> None:
    cluster = Cluster({0: 100})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    seen: list[tuple[int, int | None]] = []

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 0.5  # four polls per checkpoint interval
        saved = h.store.load(GROUP)
        committed = cluster.committed.get((TOPIC, 0))
        if saved:
            seen.append((saved[0].offsets[(TOPIC, 0)], committed))
        if n >= 12:
            stop.set()

    h.loop(CountingProcessor(), on_poll=hook).run(stop)
    assert seen, "no checkpoint on the interval"
    for checkpointed, committed in seen:
        assert committed is None or committed <= checkpointed  # never commit ahead of state


def test_crash_after_a_checkpoint_resumes_exactly(tmp_path: Path) -> None:
    cluster = Cluster({0: 50, 1: 50})
    h = Harness(tmp_path, cluster)
    crashing = CountingProcessor()
    crashing.fail_on_offset = ((TOPIC, 1), 33)
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0

    with pytest.raises(RuntimeError, match="injected failure"):
        h.loop(crashing, on_poll=hook).run(stop)
    saved = h.store.load(GROUP)
    assert saved, "an interval checkpoint was expected before the crash"
    assert h.consumers[0].async_commits == []  # the failed member commits nothing on close

    second = CountingProcessor()
    h.loop(second, on_poll=_stop_after(40, stop)).run(stop)
    assert all(restored for _, restored in second.restored)
    _assert_exact(cluster, second.partitions)
    _assert_exact(cluster, _final_counts(h.store))


def test_partition_state_moves_between_members_through_checkpoints(tmp_path: Path) -> None:
    """Eager rebalance: A checkpoints all on revoke, keeps p0; B restores p1, p2 from it."""
    cluster = Cluster({0: 40, 1: 40, 2: 40})
    h = Harness(tmp_path, cluster)
    stop_a = threading.Event()
    a = CountingProcessor()

    def hook_a(consumer: FakeConsumer, n: int) -> None:
        if n == 3:
            consumer.rebalance({0})
        if n == 12:
            stop_a.set()

    h.loop(a, on_poll=hook_a).run(stop_a)
    assert a.released == [frozenset({(TOPIC, 1), (TOPIC, 2)})]
    assert set(a.partitions) == {(TOPIC, 0)}  # closing does not release: state stays readable

    stop_b = threading.Event()
    b = CountingProcessor()
    h.loop(b, assignment={1, 2}, on_poll=_stop_after(20, stop_b)).run(stop_b)
    assert b.restored == [(frozenset({(TOPIC, 1), (TOPIC, 2)}), True)]
    assert b.partitions[(TOPIC, 1)].count == 40

    stop_c = threading.Event()
    c = CountingProcessor()
    cluster.append(0, 10)
    cluster.append(2, 10)
    h.loop(c, on_poll=_stop_after(20, stop_c)).run(stop_c)
    _assert_exact(cluster, c.partitions)


def test_kept_partitions_continue_from_memory_across_an_eager_rebalance(tmp_path: Path) -> None:
    cluster = Cluster({0: 30, 1: 30})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = CountingProcessor()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 2:
            consumer.rebalance({0, 1})  # same assignment again
        if n == 15:
            stop.set()

    h.loop(processor, on_poll=hook).run(stop)
    assert len(processor.restored) == 1  # only the first assignment loaded a checkpoint
    assert processor.released == []
    _assert_exact(cluster, processor.partitions)


def test_backpressure_pauses_fetching_and_resumes(tmp_path: Path) -> None:
    cluster = Cluster({0: 30})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = CountingProcessor(saturated=True)
    counts: list[int] = []

    def hook(consumer: FakeConsumer, n: int) -> None:
        counts.append(sum(c.count for c in processor.partitions.values()))
        if n == 5:
            assert consumer.paused_set == {0}
            processor.is_saturated = False
        if n == 12:
            stop.set()

    h.loop(processor, on_poll=hook).run(stop)
    assert counts[:5] == [0, 0, 0, 0, 0]
    _assert_exact(cluster, processor.partitions)


def test_idle_partitions_are_reported_once_caught_up_and_quiet(tmp_path: Path) -> None:
    cluster = Cluster({0: 5, 1: 500})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = CountingProcessor()

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0
        if n == 30:
            stop.set()

    h.loop(processor, on_poll=hook, max_records=20).run(stop)
    idle_sets = processor.idle_seen
    assert frozenset({(TOPIC, 1)}) not in idle_sets  # p1 is never caught up in 30 polls
    first_idle = next(i for i, s in enumerate(idle_sets) if (TOPIC, 0) in s)
    assert first_idle >= 5  # only after kafka.idle_partition_timeout (5 s) without records


def test_fingerprint_mismatch_resumes_from_offsets_with_empty_state(tmp_path: Path) -> None:
    cluster = Cluster({0: 10})
    h = Harness(tmp_path, cluster)
    h.store.save(
        Checkpoint(GROUP, {(TOPIC, 0): 6}, CountingProcessor.encode({}), "old", created_at=1.0)
    )
    stop = threading.Event()
    processor = CountingProcessor()
    with structlog.testing.capture_logs() as logs:
        h.loop(processor, fingerprint="new", on_poll=_stop_after(5, stop)).run(stop)
    assert processor.restored == [(frozenset({(TOPIC, 0)}), False)]
    assert processor.partitions[(TOPIC, 0)].count == 4  # offsets 6..9 only
    assert "checkpoint_fingerprint_mismatch" in [e["event"] for e in logs]


def test_partitions_without_checkpoint_start_at_the_committed_offset(tmp_path: Path) -> None:
    cluster = Cluster({0: 10})
    cluster.committed[(TOPIC, 0)] = 7
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = CountingProcessor()
    h.loop(processor, on_poll=_stop_after(5, stop)).run(stop)
    assert processor.partitions[(TOPIC, 0)].count == 3
    [saved] = h.store.load(GROUP)
    assert saved.offsets == {(TOPIC, 0): 10}


def test_store_failure_during_assignment_stops_the_loop(tmp_path: Path) -> None:
    class BrokenStore(DirectoryCheckpointStore):
        def load(self, group_id: str) -> list[Checkpoint]:
            raise CheckpointError("checkpoint store down")

    h = Harness(tmp_path, Cluster({0: 5}))
    h.store = BrokenStore(tmp_path / "x")
    stop = threading.Event()
    processor = CountingProcessor()
    with pytest.raises(CheckpointError, match="store down"):
        h.loop(processor, on_poll=_stop_after(50, stop)).run(stop)
    assert processor.partitions == {}  # nothing consumed without restored state
    assert h.consumers[0].closed


def test_interval_checkpoint_failure_keeps_consuming_and_commits_nothing(tmp_path: Path) -> None:
    class FlakyStore(DirectoryCheckpointStore):
        fail = True

        def save(self, checkpoint: Checkpoint) -> None:
            if self.fail:
                raise CheckpointError("disk full")
            super().save(checkpoint)

    cluster = Cluster({0: 40})
    h = Harness(tmp_path, cluster)
    store = FlakyStore(tmp_path / "flaky")
    h.store = store
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0
        if n == 8:
            assert cluster.committed == {}
            store.fail = False
        if n == 12:
            stop.set()

    with structlog.testing.capture_logs() as logs:
        processor = CountingProcessor()
        h.loop(processor, on_poll=hook).run(stop)
    assert "checkpoint_failed" in [e["event"] for e in logs]
    _assert_exact(cluster, _final_counts(store))


def test_revoke_checkpoints_and_commits_through_the_async_listener(tmp_path: Path) -> None:
    cluster = Cluster({0: 10, 1: 10})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 4:
            consumer.rebalance({1})
        if n == 6:
            stop.set()

    h.loop(CountingProcessor(), on_poll=hook).run(stop)
    consumer = h.consumers[0]
    [revoke_commit] = consumer.async_commits
    assert {tp.partition: meta.offset for tp, meta in revoke_commit.items()} == {0: 10, 1: 10}


def test_lag_partitions_and_readiness_are_published(tmp_path: Path) -> None:
    cluster = Cluster({0: 100, 1: 0})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    observed: dict[str, Any] = {}

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 2:
            observed["text"] = h.metrics.exposition().decode()
            observed["ready"] = h.health.readiness()[1]
        if n == 3:
            stop.set()

    h.loop(CountingProcessor(), on_poll=hook, max_records=10).run(stop)
    text = observed["text"]
    assert 'driftwarden_consumer_lag_messages{partition="0",topic="events"} 90.0' in text
    assert 'driftwarden_consumer_lag_messages{partition="1",topic="events"} 0.0' in text
    assert "driftwarden_partitions_assigned 2.0" in text
    assert 'driftwarden_events_consumed_total{topic="events"} 10.0' in text
    assert observed["ready"]["partitions_assigned"] is True
    assert observed["ready"]["broker_reachable"] is True
    assert h.health.readiness()[1]["partitions_assigned"] is False  # after leaving
    assert h.health.liveness()[0] is True


def test_superseded_old_checkpoints_are_pruned_on_assignment(tmp_path: Path) -> None:
    cluster = Cluster({0: 10, 1: 10})
    h = Harness(tmp_path, cluster)
    old = Checkpoint(GROUP, {(TOPIC, 0): 2}, CountingProcessor.encode({}), "f1", created_at=5.0)
    fresh = Checkpoint(
        GROUP, {(TOPIC, 0): 3, (TOPIC, 1): 0}, CountingProcessor.encode({}), "f1", created_at=6.0
    )
    h.store.save(old)
    h.store.save(fresh)
    stop = threading.Event()
    h.loop(CountingProcessor(), on_poll=_stop_after(2, stop)).run(stop)
    keys = {cp.key for cp in h.store.load(GROUP)}
    assert old.key not in keys


def test_no_broker_at_start_is_a_source_error_naming_the_setting(tmp_path: Path) -> None:
    h = Harness(tmp_path, Cluster({0: 1}))

    def factory(**kwargs: Any) -> Any:
        raise TimeoutError("Unable to bootstrap from 127.0.0.1:1")

    loop = ConsumerLoop(
        client=h.client,
        checkpoint=h.checkpoint,
        processor=CountingProcessor(),
        store=h.store,
        fingerprint="f",
        consumer_factory=factory,
    )
    with pytest.raises(SourceError, match=r"kafka\.bootstrap_servers"):
        loop.run(threading.Event())


def test_lost_membership_drops_state_and_restores_the_last_checkpoint(tmp_path: Path) -> None:
    """Evicted (e.g. max_poll_interval exceeded): others may own the partitions already,
    so nothing is checkpointed or committed; the state comes back from the store."""
    cluster = Cluster({0: 60})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = CountingProcessor()

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0  # a checkpoint every other poll
        if n == 4:
            consumer.rebalance({0}, lost=True)
        if n == 15:
            stop.set()

    h.loop(processor, on_poll=hook).run(stop)
    consumer = h.consumers[0]
    assert processor.released == [frozenset({(TOPIC, 0)})]
    assert [restored for _, restored in processor.restored] == [False, True]
    assert consumer.async_commits == []
    _assert_exact(cluster, processor.partitions)


def test_missing_topic_is_logged_at_start(tmp_path: Path) -> None:
    h = Harness(tmp_path, Cluster({0: 1}), topics=["absent"])
    stop = threading.Event()
    with structlog.testing.capture_logs() as logs:
        h.loop(CountingProcessor(), on_poll=_stop_after(1, stop)).run(stop)
    assert h.consumers[0].topics == ["absent"]
    assert "topic_not_found" in [e["event"] for e in logs]


def _sample(metrics: Metrics, name: str, component: str = "checkpoint") -> float:
    prefix = f'{name}{{component="{component}"}} '
    [line] = [x for x in metrics.exposition().decode().splitlines() if x.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


class _RecordingStore(DirectoryCheckpointStore):
    """The real directory store, noting when each save was tried and how it ended."""

    def __init__(self, directory: Path, clock: Clock) -> None:
        super().__init__(directory)
        self.clock = clock
        self.attempts: list[tuple[float, bool]] = []

    def save(self, checkpoint: Checkpoint) -> None:
        try:
            super().save(checkpoint)
        except CheckpointError:
            self.attempts.append((self.clock.now, False))
            raise
        self.attempts.append((self.clock.now, True))


def test_a_full_disk_is_retried_with_backoff_counted_shown_in_readyz_and_recovers_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC from the real store: consuming goes on, nothing is committed past the last
    durable checkpoint, and once space is back the next checkpoint and commit catch up."""
    cluster = Cluster({0: 400})
    h = Harness(tmp_path, cluster)
    store = _RecordingStore(tmp_path / "ckpt", h.clock)
    h.store = store
    stop = threading.Event()
    real_write = os.write
    during: dict[str, Any] = {}

    def enospc(fd: int, data: Any) -> int:
        raise OSError(28, "No space left on device")

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0
        if n == 5:
            during["committed_at_fault"] = dict(cluster.committed)
            monkeypatch.setattr(os, "write", enospc)
        if n == 40:
            during["committed_before_recovery"] = dict(cluster.committed)
            during["ready"] = h.health.readiness()
            during["failures"] = _sample(h.metrics, "driftwarden_storage_write_failures_total")
            during["fault"] = _sample(h.metrics, "driftwarden_storage_fault")
            during["consumed"] = processor.partitions[(TOPIC, 0)].count
            monkeypatch.setattr(os, "write", real_write)
        if n == 70:
            stop.set()

    processor = CountingProcessor()
    with structlog.testing.capture_logs() as logs:
        h.loop(processor, on_poll=hook).run(stop)

    failed = [t for t, ok in store.attempts if not ok]
    assert len(failed) >= 4
    gaps = [b - a for a, b in itertools.pairwise(failed)]
    assert gaps[:4] == [2.0, 4.0, 8.0, 8.0]  # interval x 1, 2, 4, then 4 again
    # During the fault: counted, not ready, consuming, committing nothing new.
    assert during["failures"] == len(failed)
    assert during["fault"] == 1.0
    ready, body = during["ready"]
    assert ready is False
    assert body["storage_writable"] is False
    assert "No space left on device" in body["storage_faults"]["checkpoint"]
    assert during["committed_before_recovery"] == during["committed_at_fault"]
    assert during["consumed"] > 7 * 5  # read on after the fault began
    # Recovered: gauge back to 0, readiness clean, commits caught up, counts exact.
    assert _sample(h.metrics, "driftwarden_storage_fault") == 0.0
    assert _sample(h.metrics, "driftwarden_storage_write_failures_total") == len(failed)
    assert h.health.readiness()[1]["storage_faults"] == {}
    assert cluster.committed == {(TOPIC, 0): 400}
    _assert_exact(cluster, _final_counts(store))
    events = [e["event"] for e in logs]
    assert events.count("storage_faulted") == 1
    assert events.count("storage_recovered") == 1
    attempts_logged = [e["attempt"] for e in logs if e["event"] == "checkpoint_failed"]
    assert attempts_logged == [a for a in range(1, len(failed) + 1) if a & (a - 1) == 0]
    [recovered] = [e for e in logs if e["event"] == "checkpoint_recovered"]
    assert recovered["failed_attempts"] == len(failed)
    assert [p.name for p in (tmp_path / "ckpt").rglob(".tmp-*")] == []


def test_dead_letters_that_cannot_be_flushed_hold_the_checkpoint_and_the_commit(
    tmp_path: Path,
) -> None:
    class SinkFull(CountingProcessor):
        failing = True

        def snapshot(self) -> bytes:
            if self.failing:
                raise SinkUnavailable("dead-letter file x: flush failed (No space left on device)")
            return super().snapshot()

    cluster = Cluster({0: 30})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    processor = SinkFull()
    seen: dict[str, Any] = {}

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0
        if n == 12:
            seen["committed"] = dict(cluster.committed)
            seen["faults"] = h.health.readiness()[1]["storage_faults"]
            processor.failing = False
        if n == 30:
            stop.set()

    with structlog.testing.capture_logs():
        h.loop(processor, on_poll=hook).run(stop)
    assert seen["committed"] == {}
    assert "dead-letter file x" in seen["faults"]["checkpoint"]
    assert h.health.readiness()[1]["storage_faults"] == {}
    _assert_exact(cluster, _final_counts(h.store))


def test_a_failed_checkpoint_on_revoke_commits_nothing_and_keeps_the_member_running(
    tmp_path: Path,
) -> None:
    class FailOnce(DirectoryCheckpointStore):
        fail = False

        def save(self, checkpoint: Checkpoint) -> None:
            if self.fail:
                self.fail = False
                raise CheckpointError("cannot write checkpoint: Input/output error")
            super().save(checkpoint)

    cluster = Cluster({0: 10, 1: 10})
    h = Harness(tmp_path, cluster)
    store = FailOnce(tmp_path / "ckpt")
    h.store = store
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 4:
            store.fail = True
            consumer.rebalance({1})
        if n == 8:
            stop.set()

    with structlog.testing.capture_logs() as logs:
        h.loop(CountingProcessor(), on_poll=hook).run(stop)
    consumer = h.consumers[0]
    assert consumer.async_commits == []  # the revoke's checkpoint failed: nothing committed
    assert [e["reason"] for e in logs if e["event"] == "checkpoint_failed"] == ["revoke"]
    assert _sample(h.metrics, "driftwarden_storage_write_failures_total") == 1.0
    assert _sample(h.metrics, "driftwarden_storage_fault") == 0.0  # the shutdown one worked
    assert cluster.committed == {(TOPIC, 1): 10}


class _UnacknowledgingProducer:
    """A checkpoint-topic producer whose sends time out while `down` is set."""

    def __init__(self, **kwargs: Any) -> None:
        self.down = False
        self.records: list[tuple[bytes, bytes | None]] = []

    def send(self, topic: str, *, key: bytes, value: bytes | None) -> Any:
        from kafka.errors import KafkaTimeoutError

        producer = self

        class _Future:
            def get(self, timeout: float) -> None:
                if producer.down:
                    raise KafkaTimeoutError("Batch for checkpoints-0 expired")
                producer.records.append((key, value))

        return _Future()

    def close(self, timeout: float) -> None:
        pass


class _EmptyTopicReader:
    def __init__(self, **kwargs: Any) -> None:
        pass

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set()

    def close(self, autocommit: bool) -> None:
        pass


def test_an_unacknowledged_checkpoint_topic_is_retried_like_a_full_disk(tmp_path: Path) -> None:
    from driftwarden.monitor.kafka.checkpoint import KafkaTopicCheckpointStore, decode

    cluster = Cluster({0: 200})
    h = Harness(tmp_path, cluster)
    producer = _UnacknowledgingProducer()
    h.store = KafkaTopicCheckpointStore(  # type: ignore[assignment]
        h.client,
        CheckpointSettings(backend="kafka", create_topic=False, interval=2.0),
        producer_factory=lambda **kwargs: producer,
        consumer_factory=_EmptyTopicReader,
    )
    stop = threading.Event()
    seen: dict[str, Any] = {}

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0
        if n == 3:
            producer.down = True
        if n == 20:
            seen["committed"] = dict(cluster.committed)
            seen["acknowledged"] = dict(decode(producer.records[-1][1] or b"").offsets)
            seen["faults"] = h.health.readiness()[1]["storage_faults"]
            seen["read"] = processor.partitions[(TOPIC, 0)].count
            producer.down = False
        if n == 40:
            stop.set()

    processor = CountingProcessor()
    with structlog.testing.capture_logs():
        h.loop(processor, on_poll=hook).run(stop)
    assert "write not acknowledged" in seen["faults"]["checkpoint"]
    assert seen["committed"] == seen["acknowledged"]  # nothing past the last acknowledged one
    assert seen["read"] > seen["committed"][(TOPIC, 0)] + 7 * 10  # while reading went on
    assert _sample(h.metrics, "driftwarden_storage_write_failures_total") >= 3
    assert _sample(h.metrics, "driftwarden_storage_fault") == 0.0
    assert cluster.committed == {(TOPIC, 0): 200}
    newest = decode(producer.records[-1][1] or b"")
    _assert_exact(cluster, CountingProcessor.decode(newest.state))


# --- roles: one active member, hot standbys ----------------------------------------------


def test_a_member_given_nothing_stands_by_ready_and_says_so(tmp_path: Path) -> None:
    cluster = Cluster({0: 10, 1: 10})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()
    observed: dict[str, Any] = {}

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 1:
            consumer.rebalance(set(), active_member="member-a")
        if n == 3:
            observed["ready"] = h.health.readiness()
            observed["text"] = h.metrics.exposition().decode()
            stop.set()

    processor = CountingProcessor()
    h.health.set_baselines_loaded(True)  # the daemon's part
    with structlog.testing.capture_logs() as logs:
        h.loop(processor, on_poll=hook, assignment=set()).run(stop)
    ready, body = observed["ready"]
    assert ready is True, body  # a healthy standby stays ready (docs/scaling.md)
    assert body["role"] == "standby"
    assert body["partitions_assigned"] is False
    assert 'driftwarden_group_role{role="standby"} 1.0' in observed["text"]
    assert 'driftwarden_group_role{role="active"} 0.0' in observed["text"]
    assert processor.partitions == {}
    assert h.roles == [(False, [])]
    [event] = [e for e in logs if e["event"] == "became_standby"]
    assert event["active_member"] == "member-a"
    assert h.health.readiness()[0] is False  # left the group: no longer standing by
    assert 'driftwarden_group_role{role="standby"} 0.0' in h.metrics.exposition().decode()


def test_a_standby_becomes_active_after_restoring_the_checkpoint_of_every_partition(
    tmp_path: Path,
) -> None:
    cluster = Cluster({0: 30, 1: 30, 2: 30})
    h = Harness(tmp_path, cluster)
    stop_a = threading.Event()
    h.loop(CountingProcessor(), on_poll=_stop_after(8, stop_a)).run(stop_a)  # the old active

    stop_b = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 1:
            consumer.rebalance(set(), active_member="member-a")
        if n == 3:
            cluster.append(1, 5)
            consumer.rebalance({0, 1, 2}, active_member="member-b")  # member-a left
        if n == 30:
            stop_b.set()

    h.roles.clear()
    b = CountingProcessor()
    with structlog.testing.capture_logs() as logs:
        h.loop(b, on_poll=hook, assignment=set()).run(stop_b)
    everything = frozenset((TOPIC, p) for p in range(3))
    assert [active for active, _ in h.roles] == [False, True]
    assert h.roles[1][1] == [(everything, True)]  # told "active" only once restored
    _assert_exact(cluster, b.partitions)
    events = [e["event"] for e in logs]
    assert events.index("became_standby") < events.index("became_active")


def test_keeping_the_active_role_across_a_rebalance_is_not_a_role_change(tmp_path: Path) -> None:
    cluster = Cluster({0: 20, 1: 20})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n in (1, 4, 7):  # standbys join and leave; the active member keeps everything
            consumer.rebalance({0, 1}, active_member="member-a")
        if n == 12:
            stop.set()

    h.loop(CountingProcessor(), on_poll=hook).run(stop)
    assert [active for active, _ in h.roles] == [True]


def test_losing_membership_stops_the_active_role_at_once(tmp_path: Path) -> None:
    cluster = Cluster({0: 20})
    h = Harness(tmp_path, cluster)
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 3:
            consumer.rebalance(set(), lost=True)  # session expired: someone else may be active
        if n == 5:
            stop.set()

    h.loop(CountingProcessor(), on_poll=hook).run(stop)
    assert [active for active, _ in h.roles] == [True, False]


def test_a_directory_checkpoint_member_refuses_to_stand_by_next_to_an_active_member(
    tmp_path: Path,
) -> None:
    """Its checkpoints cannot reach another pod, so it could never take over exactly."""
    h = Harness(tmp_path, Cluster({0: 10}))
    h.checkpoint = CheckpointSettings(backend="directory", directory=tmp_path / "ck")
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 1:
            consumer.rebalance(set(), active_member="driftwarden-0-abc")

    with pytest.raises(ConfigError) as caught:
        h.loop(CountingProcessor(), on_poll=hook, assignment=set()).run(stop)
    message = str(caught.value)
    assert "driftwarden-0-abc" in message
    assert "checkpoint.backend: kafka" in message
    assert "replicaCount 1" in message
    assert "\n" not in message
    assert h.consumers[0].closed  # left the group: the active member keeps everything


def test_a_lone_directory_checkpoint_member_is_active_as_before(tmp_path: Path) -> None:
    cluster = Cluster({0: 10, 1: 10})
    h = Harness(tmp_path, cluster)
    h.checkpoint = CheckpointSettings(backend="directory", directory=tmp_path / "ck")
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n == 1:
            consumer.rebalance({0, 1}, active_member="me")
        if n == 10:
            stop.set()

    processor = CountingProcessor()
    h.loop(processor, on_poll=hook).run(stop)
    _assert_exact(cluster, processor.partitions)


def test_a_group_whose_members_use_another_assignor_is_an_error_naming_the_fix(
    tmp_path: Path,
) -> None:
    """Seen against the real broker: a range-assignor member in the group makes poll raise."""
    from kafka.errors import InconsistentGroupProtocolError

    def hook(consumer: FakeConsumer, n: int) -> None:
        raise InconsistentGroupProtocolError()

    h = Harness(tmp_path, Cluster({0: 5}))
    with pytest.raises(SourceError, match="another partition assignor") as caught:
        h.loop(CountingProcessor(), on_poll=hook).run(threading.Event())
    assert "deploymentStrategy Recreate" in str(caught.value)


def test_alerting_is_given_up_at_every_revoke_after_the_checkpoint_and_taken_back_as_owner(
    tmp_path: Path,
) -> None:
    """Eager rebalancing revokes everyone before anyone is assigned: a member that gives
    alerting up in the revoke callback can never deliver at the same time as the next
    owner, even when it stays the owner (then it reads the state back)."""
    cluster = Cluster({0: 20, 1: 20})
    h = Harness(tmp_path, cluster)
    h.store = _RecordingStore(tmp_path / "ckpt", h.clock)
    stop = threading.Event()

    def hook(consumer: FakeConsumer, n: int) -> None:
        h.clock.now += 1.0
        if n == 3:
            consumer.rebalance({0, 1}, active_member="member-a")  # a standby joined
        if n == 6:
            consumer.rebalance(set(), active_member="member-b")  # and took over
        if n == 9:
            stop.set()

    h.loop(CountingProcessor(), on_poll=hook).run(stop)
    owns = [o for o, _ in h.alerting]
    assert owns == [True, False, True, False]
    saved_at_release = [saved for o, saved in h.alerting if not o]
    assert all(saved >= 1 for saved in saved_at_release)  # checkpoint first, then handover
    assert [active for active, _ in h.roles] == [True, False]


def test_a_broker_refusing_the_poll_leaves_the_loop_running_and_exact(tmp_path: Path) -> None:
    """kafka-python 3.0.12 lets a refused connection escape `poll()` while it looks for
    the coordinator (a hard broker restart): the member must wait and poll again,
    reporting the broker unreachable meanwhile, and lose nothing."""
    cluster = Cluster({0: 30, 1: 30})
    h = Harness(tmp_path, cluster, poll_timeout=0.01)
    stop = threading.Event()
    processor = CountingProcessor()
    readiness: list[bool] = []

    def hook(consumer: FakeConsumer, n: int) -> None:
        if n in (3, 4, 5):
            raise KafkaConnectionError("111 ECONNREFUSED")
        if n == 6:
            readiness.append(h.health.readiness()[1]["broker_reachable"])
        if n == 20:
            stop.set()

    h.loop(processor, on_poll=hook).run(stop)
    assert readiness == [False]
    assert h.consumers[0].polls == 20  # the same consumer polled on; nothing rebuilt
    _assert_exact(cluster, _final_counts(h.store))


def test_a_kafka_error_that_is_not_retriable_still_ends_the_loop(tmp_path: Path) -> None:
    h = Harness(tmp_path, Cluster({0: 5}))

    def hook(consumer: FakeConsumer, n: int) -> None:
        raise GroupAuthorizationFailedError(GROUP)

    with pytest.raises(GroupAuthorizationFailedError):
        h.loop(CountingProcessor(), on_poll=hook).run(threading.Event())
