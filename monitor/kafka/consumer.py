"""The Kafka consumer loop: at-least-once reading with exact engine state.

The engine plugs in as a `BatchProcessor`. The loop owns everything Kafka-side:
group membership, rebalances, checkpoints, offset commits, back-pressure,
idle-partition detection, lag and liveness. The guarantee it gives the engine:

    after any crash, restart or rebalance, the state restored for a partition
    reflects exactly the records before the offset reading resumes from.

How: a checkpoint stores the processor's `snapshot()` together with the next
offset of every partition it covers (`monitor.kafka.checkpoint`), written atomically
*before* those offsets are committed. On assignment the loop restores each new
partition from the checkpoint that read it furthest and seeks there; committed
group offsets are only a fallback for partitions that never had a checkpoint,
and a convenience for lag tooling. Records after the last checkpoint are read
again after a crash; state never counts them twice because it is restored from
the same checkpoint as the offsets.

Threading (kafka-python 3.0): rebalance callbacks run on the consumer's IO
thread, but only while this loop's thread is blocked inside `poll()` or
`close()` (those calls hand the group protocol to the IO thread and wait). So
the processor is never touched by two threads at once and needs no locks. A
synchronous listener must not call blocking consumer APIs (`commit()` raises
there), so the listener is an `AsyncConsumerRebalanceListener` that awaits
`commit_async` after writing the checkpoint on revocation. Seeking in the
assignment callback is local and safe.

Partitions move between members, so the processor's state must be
attributable by partition: `restore(P, snapshot)` must bring back exactly what
was processed from the partitions in P (see `BatchProcessor`).

Roles: the group's assignor (`monitor.kafka.active_standby`) gives every partition to
one active member; the others are hot standbys that own nothing, stay ready and
take over, from the active member's last checkpoint, when it leaves. The loop
tells its owner about each change of role (`on_role_change`, after the new
assignment is restored, or at once when membership is lost) so a standby does
not page. A checkpoint directory is local to one member and cannot hand state
to another, so a member with `checkpoint.backend: directory` refuses to stand
by next to an active member instead of waiting to take over without the
active member's counts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import structlog
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener
from kafka.errors import InconsistentGroupProtocolError, KafkaError

from driftwarden.errors import DriftwardenError
from driftwarden.monitor.config import CheckpointSettings
from driftwarden.monitor.errors import CheckpointError, ConfigError, SinkUnavailable, SourceError
from driftwarden.monitor.kafka.active_standby import ActiveStandbyAssignor, Role
from driftwarden.monitor.kafka.checkpoint import (
    Checkpoint,
    CheckpointStore,
    Partition,
    latest_per_partition,
    superseded,
)
from driftwarden.monitor.kafka.client import KafkaClientConfig, millis
from driftwarden.monitor.kafka.polled import PolledRecords
from driftwarden.monitor.telemetry.health import HealthState, StorageFaults
from driftwarden.monitor.telemetry.metrics import Metrics

log = structlog.get_logger(__name__)

PRUNE_MIN_AGE: Final = 600.0
"""Superseded checkpoints younger than this (seconds) are kept: cheap insurance
against deleting a member key that another member is writing right now."""

CHECKPOINT_BACKOFF_LIMIT: Final = 4
"""After n failed checkpoints in a row the next try comes `checkpoint.interval` x
min(2**(n-1), this) later: a lasting fault (full disk, a broker refusing the
checkpoint topic) costs a snapshot per 4 intervals, and a cleared one is noticed
within 4 intervals."""


class SourceRecord(Protocol):
    """One record as the processor sees it. kafka-python's `ConsumerRecord` fits as is
    (no copy per record); replay and tests use `Record`."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int:
        """Milliseconds since the epoch (Kafka's record timestamp)."""
        ...

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Record:
    """A `SourceRecord` made by hand (replay from files, tests)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None = None
    value: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()


class BatchProcessor(Protocol):
    """What the engine implements to be driven by the loop. All calls come from one
    thread at a time (see the module docstring), in this order of life:

    `restore` when partitions are assigned, then `process` / `close_due` /
    `saturated` every turn, `snapshot` before each checkpoint, `release` when
    partitions leave this member.
    """

    def process(self, records: Sequence[SourceRecord]) -> None:
        """Count a batch. Records of one partition come in offset order; a batch may
        mix partitions. The loop passes a `PolledRecords` (one run per partition,
        `monitor.kafka.polled`), which a processor may take run by run. Must not
        block for long: the group evicts a member that does not poll within
        `kafka.max_poll_interval`."""

    def close_due(self, now: float, idle: frozenset[Partition]) -> None:
        """Called every turn, also when nothing arrived. `now` is wall-clock unix
        seconds. `idle` holds the assigned partitions that are caught up and got no
        record for `kafka.idle_partition_timeout`: leave them out of the event-time
        watermark, or an idle partition holds every window open forever."""

    def saturated(self) -> bool:
        """True while downstream (alert outbox, sinks) cannot keep up: the loop then
        pauses fetching, still polling so the member stays in the group, and
        resumes once this turns False."""

    def snapshot(self) -> bytes:
        """State of every partition held, covering everything processed so far.

        Called right before a checkpoint is written; flush whatever must be
        durable before the offsets move on (dead letters, alert outbox)."""

    def saved(self) -> None:
        """The checkpoint holding the last `snapshot()` is durable: state that only
        a restart to an older checkpoint could need may go (the outcome store's undo)."""

    def restore(self, partitions: frozenset[Partition], state: bytes | None) -> None:
        """Take over `partitions`. `state` is a `snapshot()` (possibly of another
        member, covering more partitions): restore exactly the part of these
        partitions and merge it in. None: they start empty. State that belongs to
        no partition (trend history, sustain counters) is the processor's to
        reconcile, e.g. keep the newest."""

    def release(self, partitions: frozenset[Partition]) -> None:
        """Drop the state of `partitions`: another member owns them now (their state
        was checkpointed first unless the group membership was lost)."""


@dataclass(slots=True)
class _Owned:
    next_offset: int | None  # first offset not reflected in the processor's state
    leader_epoch: int
    last_activity: float  # monotonic: last record, assignment or resume


def _tp(partition: Partition) -> Any:
    return TopicPartition(partition[0], partition[1])


def _partitions(tps: Iterable[Any]) -> set[Partition]:
    return {(str(tp.topic), int(tp.partition)) for tp in tps}


class ConsumerLoop:
    """Runs one group member until `stop` is set, then shuts down in order.

    `consumer_factory` builds the `KafkaConsumer` from kwargs (tests pass a fake).
    `clock` is monotonic seconds, `wall_clock` unix seconds; both injectable.
    `on_role_change(active)` is called on the loop's thread (inside `poll()`)
    whenever this member becomes active or standby, the first time included.
    """

    def __init__(
        self,
        *,
        client: KafkaClientConfig,
        checkpoint: CheckpointSettings,
        processor: BatchProcessor,
        store: CheckpointStore,
        fingerprint: str,
        metrics: Metrics | None = None,
        health: HealthState | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        consumer_factory: Callable[..., Any] = KafkaConsumer,
        on_role_change: Callable[[bool], None] | None = None,
        on_alerting: Callable[[bool], None] | None = None,
        assignor: Any = None,
    ) -> None:
        self._client = client
        self._kafka = client.settings
        # Outcome topics are read by the same member, in the same group, with the same
        # checkpoints: a join is only exact if both sides restore from one checkpoint.
        self._topics = [*self._kafka.topics, *self._kafka.outcome_topics]
        self._checkpoint_settings = checkpoint
        self._processor = processor
        self._store = store
        self._fingerprint = fingerprint
        self._metrics = metrics
        self._health = health
        self._clock = clock
        self._wall = wall_clock
        self._consumer_factory = consumer_factory
        self._on_role_change = on_role_change
        self._on_alerting = on_alerting
        self._owns_alerting = False
        # issue 17: group.mode partitioned passes a spreading assignor (no roles).
        self._assignor = assignor if assignor is not None else ActiveStandbyAssignor()
        self._role: Role | None = None  # None until the first assignment

        self._owned: dict[Partition, _Owned] = {}
        self._assigned: frozenset[Partition] = frozenset()
        self._committed: dict[Partition, int] = {}
        self._dirty = False
        self._failed = False
        self._paused = False
        self._listener_error: BaseException | None = None
        self._last_checkpoint = clock()
        self._last_probe: float | None = None
        self._probe_ends: dict[Partition, int] = {}
        self._broker_reachable: bool | None = None
        self._faults = StorageFaults(health, metrics)
        self._checkpoint_failures = 0  # in a row; 0 while checkpoints succeed

    # --- public view -----------------------------------------------------------------

    @property
    def assignment(self) -> frozenset[Partition]:
        return self._assigned

    @property
    def role(self) -> Role | None:
        """`active` or `standby` in the current generation; None before the first."""
        return self._role

    def positions(self) -> dict[Partition, int]:
        """Next offset per owned partition whose position is known."""
        return {p: o.next_offset for p, o in self._owned.items() if o.next_offset is not None}

    # --- the loop ----------------------------------------------------------------------

    def run(self, stop: threading.Event, *, grace_period: float = 25.0) -> None:
        """Consume until `stop` is set; then checkpoint, commit and leave the group
        within `grace_period` seconds. Raises on unrecoverable errors, after closing
        the consumer without checkpointing (state may be half-updated)."""
        consumer = self._connect()
        try:
            consumer.subscribe(topics=self._topics, listener=_Listener(self, consumer))
            self._load_topic_metadata(consumer)
            while not stop.is_set():
                if not self._turn(consumer):
                    stop.wait(self._kafka.poll_timeout)  # the broker refused at once
        except BaseException:
            self._failed = True
            self._close(consumer, timeout=min(5.0, grace_period))
            raise
        self._shutdown(consumer, deadline=self._clock() + grace_period)

    def _connect(self) -> Any:
        kwargs = self._client.consumer_kwargs(assignor=self._assignor)
        log.info("kafka_consumer_starting", topics=self._topics, **self._client.describe())
        try:
            return self._consumer_factory(**kwargs)
        except Exception as exc:
            raise SourceError(
                f"Kafka consumer for {self._topics}: no broker answered at "
                f"{self._kafka.bootstrap_servers} within {self._kafka.bootstrap_timeout}s "
                f"({type(exc).__name__}: {exc}); check kafka.bootstrap_servers, the network "
                "and the security settings"
            ) from None

    def _load_topic_metadata(self, consumer: Any) -> None:
        """Know the topics' partitions before the first join.

        Works around a kafka-python 3.0.12 bug: when the group leader joins before
        the topic metadata arrived, it assigns nothing, then rejoins on the metadata
        change; if that rejoin outlasts the `poll()` timeout, the assignment it got is
        never applied and the member sits without partitions until the next
        rebalance (seen in this repository's tests). With the metadata loaded first,
        the first assignment is complete and no metadata-triggered rejoin follows.
        """
        for topic in self._topics:
            if not consumer.partitions_for_topic(topic):
                log.warning(
                    "topic_not_found",
                    topic=topic,
                    hint="create it, or check kafka.topics and the ACLs",
                )

    def _turn(self, consumer: Any) -> bool:
        """One poll and what follows it; False when the poll could not reach a broker."""
        if self._health is not None:
            self._health.beat()
        if self._metrics is not None:
            self._metrics.record_loop_iteration()
        self._apply_backpressure(consumer)
        batches = self._poll(consumer)
        self._raise_listener_error()
        if batches:
            self._process(batches)
        self._learn_positions(consumer)
        now = self._clock()
        if self._last_probe is None or now - self._last_probe >= self._kafka.lag_probe_interval:
            self._probe(consumer)
        self._update_lag(consumer)
        self._processor.close_due(self._wall(), self._idle(consumer, now))
        if now - self._last_checkpoint >= self._checkpoint_settings.interval:
            # On failure keep consuming: offsets stay uncommitted and state stays in
            # memory; _checkpoint_failed counted, logged and scheduled the retry.
            # Crashing would only re-read more.
            with contextlib.suppress(CheckpointError):
                self._checkpoint_and_commit(consumer, reason="interval")
        return batches is not None

    def _poll(self, consumer: Any) -> Mapping[Any, Sequence[Any]] | None:
        """The next records, or None when no broker could be reached.

        A broker that is down or restarting must not end the daemon: kafka-python
        3.0.12 lets a refused connection escape `poll()` while it looks for the
        group coordinator (seen during a hard broker restart). Such retriable errors
        leave the consumer usable, so the loop reports the broker unreachable
        (readiness) and polls again; nothing read is lost, since positions and state
        are untouched.
        """
        try:
            batches: Mapping[Any, Sequence[Any]] = consumer.poll(
                timeout_ms=millis(self._kafka.poll_timeout)
            )
        except InconsistentGroupProtocolError:
            raise SourceError(
                f"consumer group {self._kafka.group_id!r} has members that use another "
                "partition assignor (a driftwarden release from before the active/standby "
                "assignor, or another application); members cannot share a group with "
                "them: stop the old members first (chart: deploymentStrategy Recreate) or "
                "give this one its own kafka.group_id"
            ) from None
        except KafkaError as exc:
            if not exc.retriable:
                raise
            # The next successful lag probe reports it reachable again.
            self._set_reachable(False, error=f"{type(exc).__name__}: {exc}")
            return None
        return batches

    def _process(self, batches: Mapping[Any, Sequence[Any]]) -> None:
        runs: list[Sequence[Any]] = []
        per_topic: Counter[str] = Counter()
        now = self._clock()
        for tp, batch in batches.items():
            if not batch:
                continue
            partition = (str(tp.topic), int(tp.partition))
            owned = self._owned.get(partition)
            if owned is None:  # cannot happen: poll returns assigned partitions only
                log.error(
                    "records_for_unowned_partition",
                    topic=partition[0],
                    partition=partition[1],
                    count=len(batch),
                )
                continue
            first = batch[0].offset
            if owned.next_offset is not None and first < owned.next_offset:
                # Only an offset reset (out-of-range checkpoint offset) moves back.
                log.warning(
                    "partition_offset_went_back",
                    topic=partition[0],
                    partition=partition[1],
                    expected=owned.next_offset,
                    got=first,
                )
            runs.append(batch)
            last = batch[-1]
            owned.next_offset = last.offset + 1
            epoch = getattr(last, "leader_epoch", None)
            owned.leader_epoch = epoch if isinstance(epoch, int) else -1
            owned.last_activity = now
            per_topic[partition[0]] += len(batch)
        if not runs:
            return
        self._processor.process(PolledRecords(runs))
        self._dirty = True
        if self._metrics is not None:
            for topic, count in per_topic.items():
                self._metrics.record_consumed(topic, count)

    def _learn_positions(self, consumer: Any) -> None:
        """Fix the start of partitions assigned without a checkpoint (committed offset
        or `auto_offset_reset`), so their first checkpoint can cover them."""
        for partition, owned in self._owned.items():
            if owned.next_offset is None and partition in self._assigned:
                try:
                    position = consumer.position(_tp(partition), timeout_ms=1000)
                except Exception as exc:
                    log.debug(
                        "position_unknown",
                        topic=partition[0],
                        partition=partition[1],
                        error=str(exc),
                    )
                    continue
                if position is not None:
                    owned.next_offset = int(position)
                    self._dirty = True

    def _apply_backpressure(self, consumer: Any) -> None:
        saturated = self._processor.saturated()
        if saturated:
            tps = [_tp(p) for p in sorted(self._assigned)]
            if tps:
                consumer.pause(*tps)  # idempotent; also covers partitions assigned meanwhile
            if not self._paused:
                self._paused = True
                log.warning("fetching_paused", reason="processor_saturated")
        elif self._paused:
            paused = list(consumer.paused())
            if paused:
                consumer.resume(*paused)
            self._paused = False
            now = self._clock()
            for owned in self._owned.values():
                owned.last_activity = now  # a paused partition was not idle, just held
            log.info("fetching_resumed")

    def _idle(self, consumer: Any, now: float) -> frozenset[Partition]:
        if self._paused:
            return frozenset()
        idle = set()
        for partition in self._assigned:
            owned = self._owned.get(partition)
            if owned is None or owned.next_offset is None:
                continue
            end = self._end_offset(consumer, partition)
            if end is None or owned.next_offset < end:
                continue
            if now - owned.last_activity >= self._kafka.idle_partition_timeout:
                idle.add(partition)
        return frozenset(idle)

    def _end_offset(self, consumer: Any, partition: Partition) -> int | None:
        try:
            high = consumer.highwater(_tp(partition))
        except Exception:
            high = None
        if high is None:
            return self._probe_ends.get(partition)
        return int(high)

    def _probe(self, consumer: Any) -> None:
        """Ask the brokers for end offsets: lag of partitions not being fetched, and
        whether the broker is reachable (readiness, never liveness)."""
        if self._assigned:
            probed = sorted(self._assigned)
        elif self._role == "standby":
            # A standby fetches nothing, but must know the brokers answer to stay
            # ready to take over: ask for the end offsets of the topics it would own.
            probed = self._topic_partitions(consumer)
        else:
            return  # probe as soon as something is assigned
        self._last_probe = self._clock()
        if not probed:
            return
        timeout = min(self._kafka.request_timeout, 5.0)
        try:
            ends = consumer.end_offsets([_tp(p) for p in probed], timeout_ms=millis(timeout))
        except Exception as exc:
            self._set_reachable(False, error=f"{type(exc).__name__}: {exc}")
            return
        if self._assigned:
            self._probe_ends = {
                (str(tp.topic), int(tp.partition)): int(o) for tp, o in ends.items()
            }
        self._set_reachable(True)

    def _topic_partitions(self, consumer: Any) -> list[Partition]:
        out: list[Partition] = []
        for topic in self._topics:
            try:
                found = consumer.partitions_for_topic(topic)
            except Exception:
                found = None
            out.extend((topic, int(p)) for p in sorted(found or ()))
        return out

    def _set_reachable(self, reachable: bool, error: str | None = None) -> None:
        if reachable != self._broker_reachable:
            if reachable:
                log.info("broker_reachable")
            else:
                log.warning("broker_unreachable", error=error)
        self._broker_reachable = reachable
        if self._health is not None:
            self._health.set_broker_reachable(reachable)

    def _update_lag(self, consumer: Any) -> None:
        if self._metrics is None:
            return
        for partition in self._assigned:
            owned = self._owned.get(partition)
            end = self._end_offset(consumer, partition)
            if owned is None or owned.next_offset is None or end is None:
                continue
            self._metrics.set_consumer_lag(partition[0], partition[1], end - owned.next_offset)

    def _raise_listener_error(self) -> None:
        error, self._listener_error = self._listener_error, None
        if error is not None:
            if isinstance(error, DriftwardenError):
                raise error
            raise CheckpointError(
                f"restoring assigned partitions failed: {type(error).__name__}: {error}"
            ) from error

    # --- checkpoints -------------------------------------------------------------------

    def _save_checkpoint(self) -> dict[Partition, int]:
        """Write a checkpoint if anything changed; returns the offsets it covers."""
        offsets = self.positions()
        if not self._dirty or not offsets:
            return offsets
        try:
            state = self._processor.snapshot()
        except SinkUnavailable as exc:
            # Dead letters that are not durable pin the offsets that produced them.
            raise CheckpointError(f"checkpoint not written: {exc}") from None
        checkpoint = Checkpoint(
            group_id=self._kafka.group_id,
            offsets=offsets,
            state=state,
            fingerprint=self._fingerprint,
            created_at=self._wall(),
        )
        self._store.save(checkpoint)
        self._processor.saved()
        self._dirty = False
        log.debug("checkpoint_saved", key=checkpoint.key, bytes=len(checkpoint.state))
        return offsets

    def _to_commit(
        self, offsets: Mapping[Partition, int], partitions: Iterable[Partition]
    ) -> dict[Any, Any]:
        out = {}
        for partition in partitions:
            offset = offsets.get(partition)
            if offset is None or self._committed.get(partition) == offset:
                continue
            epoch = self._owned[partition].leader_epoch if partition in self._owned else -1
            out[_tp(partition)] = OffsetAndMetadata(offset, "", epoch)
        return out

    def _checkpoint_and_commit(
        self, consumer: Any, *, reason: str, timeout: float | None = None
    ) -> None:
        started = self._last_checkpoint = self._clock()
        try:
            offsets = self._save_checkpoint()
        except CheckpointError as exc:
            self._checkpoint_failed(reason, exc)
            raise
        self._checkpoint_succeeded()
        commit = self._to_commit(offsets, self._assigned)
        if commit:
            limit = self._kafka.request_timeout if timeout is None else timeout
            try:
                consumer.commit(offsets=commit, timeout_ms=max(1, millis(limit)))
            except Exception as exc:
                # The checkpoint is the source of truth; a failed commit only makes
                # lag tooling report more lag until the next one.
                log.warning(
                    "offset_commit_failed", reason=reason, error=f"{type(exc).__name__}: {exc}"
                )
            else:
                self._committed.update(
                    {(tp.topic, tp.partition): o.offset for tp, o in commit.items()}
                )
        if self._metrics is not None:
            self._metrics.observe_checkpoint(self._clock() - started, self._wall())

    def _checkpoint_failed(self, reason: str, exc: CheckpointError) -> None:
        """Count the failure, report the fault and schedule the retry with backoff.

        Nothing is committed past the last durable checkpoint, so after a crash
        the restored state and the offsets still agree: at-least-once holds and
        consuming goes on. Nothing waits in memory for the checkpoint either
        (dead letters and verdicts go to their sinks as they come; the engine's
        state is the same size whether or not it was saved), so the loop needs no
        back-pressure for it; a restart would re-read what was consumed since.
        """
        self._checkpoint_failures += 1
        attempt = self._checkpoint_failures
        self._faults.on_store_fault("checkpoint", str(exc))
        interval = self._checkpoint_settings.interval
        retry_in = interval * min(2 ** (attempt - 1), CHECKPOINT_BACKOFF_LIMIT)
        self._last_checkpoint = self._clock() - interval + retry_in  # _turn's trigger
        # Attempts 1, 2, 4, 8...: a lasting fault stays quiet. `_shutdown` logs its own.
        if reason != "shutdown" and attempt & (attempt - 1) == 0:
            log.error(
                "checkpoint_failed",
                reason=reason,
                error=str(exc),
                attempt=attempt,
                retry_in=retry_in,
                offsets_committed=False,
            )

    def _checkpoint_succeeded(self) -> None:
        if self._checkpoint_failures:
            log.info("checkpoint_recovered", failed_attempts=self._checkpoint_failures)
            self._checkpoint_failures = 0
        self._faults.on_store_fault("checkpoint", None)

    # --- rebalance callbacks (IO thread, while run() is blocked in poll/close) ----------

    def _on_revoked(self, revoked: set[Partition]) -> dict[Any, Any]:
        """Checkpoint before the partitions go, then hand alerting over; returns the
        offsets to commit."""
        if self._failed or not revoked:
            self._hand_alerting(owns=False)
            return {}
        try:
            offsets = self._save_checkpoint()
        except CheckpointError as exc:
            # Whoever gets these partitions restores the previous checkpoint and reads
            # a little more again; still exact. Nothing is committed.
            self._checkpoint_failed("revoke", exc)
            self._hand_alerting(owns=False)
            return {}
        self._checkpoint_succeeded()
        self._last_checkpoint = self._clock()
        self._hand_alerting(owns=False)
        return self._to_commit(offsets, sorted(revoked))

    def _hand_alerting(self, *, owns: bool) -> None:
        """Alerting follows the partitions. The eager protocol revokes every partition
        of every member before any member is assigned, so giving alerting up here
        (state written whole) and taking it back after an assignment as the active
        member (state read whole) means no two members ever deliver at once."""
        if self._on_alerting is None or owns == self._owns_alerting:
            return
        self._owns_alerting = owns
        self._on_alerting(owns)

    def _on_committed(self, offsets: Mapping[Any, Any]) -> None:
        self._committed.update({(tp.topic, tp.partition): o.offset for tp, o in offsets.items()})

    def _on_lost(self, lost: set[Partition]) -> None:
        """Membership lost: others may own these already. Drop without checkpointing."""
        held = frozenset(p for p in lost if p in self._owned)
        if held:
            log.warning("partitions_lost", partitions=sorted(held))
            self._release(held)
        self._assigned = frozenset(self._assigned - lost)
        # Another member may be active already: stop acting as the active one now,
        # not at the next assignment.
        if isinstance(self._assignor, ActiveStandbyAssignor):
            self._assignor.forget_active()
        if self._role == "active":
            self._set_role("standby", active_member=None, generation=None, members=None)
        self._hand_alerting(owns=False)
        self._publish_assignment()

    def _on_assigned(self, consumer: Any, assigned: set[Partition]) -> None:
        """`assigned` is the whole new assignment (eager protocol, which
        `KafkaClientConfig` pins): what is not in it leaves this member."""
        gone = frozenset(p for p in self._owned if p not in assigned)
        if gone:
            self._release(gone)
        kept = assigned & set(self._owned)
        for partition in sorted(kept):
            # Eager rebalancing revokes everything first; our in-memory state is the
            # newest for what we keep, so continue exactly where we stopped.
            owned = self._owned[partition]
            if owned.next_offset is not None:
                consumer.seek(_tp(partition), owned.next_offset)
        new = assigned - kept
        if new:
            self._restore(consumer, new)
        if self._paused and assigned:
            # Still saturated: nothing may arrive from the new set before the next turn.
            consumer.pause(*[_tp(p) for p in sorted(assigned)])
        self._assigned = frozenset(assigned)
        self._last_probe = None  # lag and reachability of the new set at the next turn
        log.info(
            "partitions_assigned",
            partitions=sorted(assigned),
            kept=len(kept),
            new=len(new),
            released=len(gone),
        )
        self._take_role(assigned)
        self._publish_assignment()

    def _take_role(self, assigned: set[Partition]) -> None:
        """The role this assignment gives, from the assignor (the fake consumers of
        the unit tests bypass it: then owning partitions means active)."""
        last = getattr(self._assignor, "last", None)  # None: partitioned mode, no roles
        role: Role = last.role if last is not None else ("active" if assigned else "standby")
        active_member = last.active_member if last is not None else None
        if role == "standby" and active_member and self._checkpoint_settings.backend == "directory":
            raise ConfigError(
                "checkpoint.backend directory cannot hand window state to another member, "
                f"and member {active_member} of group {self._kafka.group_id!r} is active: "
                "this member could only stand by and would take over without the active "
                "member's counts; use checkpoint.backend: kafka on every member for hot "
                "standbys, or run one member (chart: replicaCount 1)"
            )
        members = last.members if last is not None else None
        if (
            role == "active"
            and (members or 0) > 1
            and self._checkpoint_settings.backend == "directory"
        ):
            # The others refuse to stand by (above) and leave: say why they come and go.
            log.warning(
                "standbys_cannot_take_over",
                members=members,
                hint="checkpoint.backend directory keeps state on this member only; "
                "use checkpoint.backend: kafka on every member, or run one member",
            )
        self._set_role(
            role,
            active_member=active_member,
            generation=last.generation if last is not None else None,
            members=members,
        )
        self._hand_alerting(owns=role == "active")

    def _set_role(
        self,
        role: Role,
        *,
        active_member: str | None,
        generation: int | None,
        members: int | None,
    ) -> None:
        previous, self._role = self._role, role
        if self._metrics is not None:
            self._metrics.set_group_role(role)
        if self._health is not None:
            self._health.set_group_role(role)
        if role == previous:
            return
        if role == "active":
            log.info(
                "became_active",
                partitions=len(self._assigned),
                generation=generation,
                members=members,
                previous_role=previous,
            )
        else:
            log.info(
                "became_standby",
                active_member=active_member,
                generation=generation,
                members=members,
                previous_role=previous,
            )
        if self._on_role_change is not None:
            self._on_role_change(role == "active")

    def _release(self, partitions: frozenset[Partition]) -> None:
        self._processor.release(partitions)
        for partition in partitions:
            self._owned.pop(partition, None)
            self._committed.pop(partition, None)
            self._probe_ends.pop(partition, None)
        if self._metrics is not None:
            self._metrics.forget_partitions(partitions)
        self._dirty = True

    def _restore(self, consumer: Any, new: set[Partition]) -> None:
        checkpoints = self._store.load(self._kafka.group_id)
        chosen = latest_per_partition(checkpoints)
        by_checkpoint: dict[int, tuple[Checkpoint, set[Partition]]] = {}
        fresh: set[Partition] = set()
        for partition in new:
            cp = chosen.get(partition)
            if cp is None:
                fresh.add(partition)
            else:
                by_checkpoint.setdefault(id(cp), (cp, set()))[1].add(partition)
        now = self._clock()
        for cp, parts in by_checkpoint.values():
            if cp.fingerprint == self._fingerprint:
                self._processor.restore(frozenset(parts), cp.state)
            else:
                # Another configuration (baselines, windows) built that state: it
                # cannot be reused. Resume from its offsets with empty state rather
                # than re-reading history under the new configuration.
                log.warning(
                    "checkpoint_fingerprint_mismatch",
                    key=cp.key,
                    partitions=sorted(parts),
                    found=cp.fingerprint,
                    expected=self._fingerprint,
                )
                self._processor.restore(frozenset(parts), None)
            for partition in parts:
                offset = cp.offsets[partition]
                consumer.seek(_tp(partition), offset)
                self._owned[partition] = _Owned(offset, -1, now)
                self._committed.pop(partition, None)
        if fresh:
            self._processor.restore(frozenset(fresh), None)
            for partition in fresh:
                self._owned[partition] = _Owned(None, -1, now)
            log.info(
                "partitions_without_checkpoint",
                partitions=sorted(fresh),
                start="committed offset or kafka.auto_offset_reset",
            )
        self._dirty = True
        self._prune(checkpoints)

    def _prune(self, checkpoints: Sequence[Checkpoint]) -> None:
        cutoff = self._wall() - max(PRUNE_MIN_AGE, 10 * self._checkpoint_settings.interval)
        for cp in superseded(checkpoints):
            if cp.created_at < cutoff:
                try:
                    self._store.discard(cp)
                    log.info("checkpoint_pruned", key=cp.key)
                except CheckpointError as exc:
                    log.warning("checkpoint_prune_failed", key=cp.key, error=str(exc))

    def _publish_assignment(self) -> None:
        if self._metrics is not None:
            self._metrics.set_partitions_assigned(len(self._assigned))
        if self._health is not None:
            self._health.set_partitions_assigned(bool(self._assigned))

    def _record_listener_error(self, error: BaseException) -> None:
        if self._listener_error is None:
            self._listener_error = error

    # --- shutdown ----------------------------------------------------------------------

    def _shutdown(self, consumer: Any, deadline: float) -> None:
        """Stop fetching, checkpoint, commit, leave the group: the documented order."""
        error: CheckpointError | None = None
        try:
            remaining = max(0.5, deadline - self._clock())
            self._checkpoint_and_commit(consumer, reason="shutdown", timeout=min(remaining, 10.0))
        except CheckpointError as exc:
            log.error("checkpoint_failed", reason="shutdown", error=str(exc))
            self._failed = True  # do not retry in the revoke callback of close()
            error = exc
        self._close(consumer, timeout=max(0.5, deadline - self._clock()))
        log.info("kafka_consumer_stopped", partitions=sorted(self._assigned))
        if error is not None:
            raise error

    def _close(self, consumer: Any, timeout: float) -> None:
        try:
            consumer.close(autocommit=False, timeout_ms=millis(timeout))
        except Exception as exc:
            log.warning("kafka_consumer_close_failed", error=f"{type(exc).__name__}: {exc}")
        self._raise_listener_error_quietly()
        self._assigned = frozenset()
        self._publish_assignment()
        # Out of the group: neither role any more (a standby's /readyz turns unready).
        if self._metrics is not None:
            self._metrics.set_group_role(None)
        if self._health is not None:
            self._health.set_group_role(None)

    def _raise_listener_error_quietly(self) -> None:
        error, self._listener_error = self._listener_error, None
        if error is not None:
            log.error(
                "rebalance_callback_failed_on_close", error=f"{type(error).__name__}: {error}"
            )


class _Listener(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Bridges kafka-python's rebalance callbacks to the loop (see the module docstring).

    Exceptions never escape into kafka-python (which would make every later poll
    raise and keep the member out of the group); they are handed to the loop,
    which raises them from its own thread.
    """

    def __init__(self, loop: ConsumerLoop, consumer: Any) -> None:
        self._loop = loop
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        partitions = _partitions(revoked)
        if not partitions:
            return  # also called with nothing on the first join
        try:
            offsets = self._loop._on_revoked(partitions)
        except BaseException as exc:
            self._loop._record_listener_error(exc)
            return
        if not offsets:
            return
        try:
            await self._consumer.commit_async(offsets)
        except Exception as exc:
            log.warning(
                "offset_commit_failed", reason="revoke", error=f"{type(exc).__name__}: {exc}"
            )
        else:
            self._loop._on_committed(offsets)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        try:
            self._loop._on_assigned(self._consumer, _partitions(assigned))
        except BaseException as exc:
            self._loop._record_listener_error(exc)

    async def on_partitions_lost(self, lost: Any) -> None:
        try:
            self._loop._on_lost(_partitions(lost))
        except BaseException as exc:
            self._loop._record_listener_error(exc)
