"""The merger: reads the partials topic in its own consumer group and merges each window once.

Kafka decides who merges, as it decides who reads: the members join a second
consumer group, `<kafka.group_id>.merge`, on the partials topic, whose
assignor (`ActiveStandbyAssignor`) gives every partition of it to one member.
That member merges every model, evaluates each window once and owns alerting;
when it leaves or dies, another member is assigned, reads the partials topic
from its start (compacted: open partials, progress records and one merge
marker per model), and continues exactly where the markers say.

Everything the merger knows is in the partials topic, so it commits no
offsets and keeps no checkpoint: on every assignment it reads from the
beginning, and evaluates nothing until it has caught up with the end offsets
it saw on assignment (a window merged before the marker that says so was read
would be evaluated twice).

After evaluating a window it publishes the model's marker (windows below
`merged_below` are done, with the evaluator's tier history) and tombstones for
the window's partials, and flushes. A crash between the evaluation and the
marker evaluates that window again on the next merger: at least once, and
the alert pipeline's incident state (handed over with alerting) keeps it one
incident.

One thread of its own. kafka-python runs the rebalance callbacks on the
consumer's IO thread, not on this one (3.0 runs a group join's callbacks while
this thread waits in `poll()`; nothing in its API promises that they cannot
run during the catch-up's other calls: end offsets, positions, metadata). So
the callbacks only give up ownership (alerting must be handed over before
another member can be assigned) and count a generation, under a lock;
everything else belongs to this thread, which starts over at its next turn
when the generation moved (fresh book, fresh judge, from the start of the
topic) and checks the generation again, under the same lock, before it takes
ownership after a blocking call. A member thus never owns alerting for an
assignment it lost, and a partition revoked during the catch-up (kafka-python
raises for its position) does not end the merger's thread. Nor does any other
error: it ends that consumer, and a new one joins the merge group after a
short delay (a member whose merging had stopped for good was no longer a
candidate; with every member's merger gone, nothing would be merged while
every member still read).

A hang is not an error. A bench run's merger, whose first (empty) assignment
came before the just-created partials topic was in its metadata, never got
back into the merge group: its 200 ms polls kept returning from kafka-python
3.0's coordinator lookup (`ensure_coordinator_ready`) with the coordinator
still unknown, for minutes, while the member read and published everything.
And `position()` and `partitions_for_topic()` wait without any deadline by
default. So the loop waits for the partials topic's partitions before it
subscribes (the first join then sees them), every call that takes a timeout
gets one, and `progressed_at` moves only on a turn made as a settled (STABLE)
member of the merge group, and while the loop waits on purpose:
`MergerWatchdog` (`merger_watchdog`) abandons a loop without progress and
starts a new one; `abandon()` makes the old thread harmless if it ever wakes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import IllegalStateError
from kafka.structs import MemberState

from driftwarden.monitor.config import GroupSettings
from driftwarden.monitor.errors import CheckpointError
from driftwarden.monitor.kafka.active_standby import ActiveStandbyAssignor
from driftwarden.monitor.kafka.client import KafkaClientConfig, millis
from driftwarden.monitor.kafka.partials_topic import PartialPublisher
from driftwarden.monitor.windows.merge_book import MergeBook, MergedWindow
from driftwarden.monitor.windows.partial import MergedMarker, Partial, Source, decode_record

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.2
RESTART_MAX_SECONDS = 30.0
CALL_TIMEOUT_SECONDS = 10.0
"""Deadline of each blocking call that takes one (end offsets, positions)."""


def merge_group(group_id: str) -> str:
    """The merger's consumer group: its own, next to the readers' group."""
    return f"{group_id}.merge"


class MergerLoop:
    """Runs the merger side of one member until `stop` is set (module docstring).

    `on_merged(window)` evaluates and emits one merged window and returns the
    model's evaluator state after it; `on_marker(marker)` restores a model's
    evaluator from a marker read back; `on_ownership(owns)` hands alerting over
    (called on the consumer's IO thread at revoke, on this thread at assignment).
    """

    def __init__(
        self,
        *,
        client: KafkaClientConfig,
        settings: GroupSettings,
        input_topics: Sequence[str],
        publisher: PartialPublisher,
        on_merged: Callable[[MergedWindow], Mapping[str, Any]],
        on_marker: Callable[[MergedMarker], None],
        on_ownership: Callable[[bool], None],
        on_reset: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        consumer_factory: Callable[..., Any] = KafkaConsumer,
        restart_after: float = 1.0,
        progress_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._settings = settings
        self._input_topics = list(input_topics)
        self._publisher = publisher
        self._on_merged = on_merged
        self._on_marker = on_marker
        self._on_ownership = on_ownership
        self._on_reset = on_reset
        self._clock = clock
        self._consumer_factory = consumer_factory
        self._restart_after = restart_after
        self._assignor = ActiveStandbyAssignor()
        self.book = MergeBook(timeout=settings.merge_timeout)
        self._lock = threading.Lock()  # generation, assignment and ownership
        self._generation = 0  # +1 at every revoke and assignment (callbacks, IO thread)
        self._assignment: list[Any] = []  # as the callbacks last set it
        self._applied = 0  # the generation this thread's state below belongs to
        self._assigned: list[Any] = []
        self._ends: dict[Any, int] | None = None  # end offsets to reach; None: not taken yet
        self._merging = False  # caught up with `_ends`
        self._owns = False
        self.windows_merged = 0
        self.error: BaseException | None = None
        self._progress_clock = progress_clock
        self.progressed_at = progress_clock()  # the watchdog's liveness signal
        self._abandoned = False  # set by the watchdog: this loop must act no more

    @property
    def owns(self) -> bool:
        return self._owns

    def run(self, stop: threading.Event) -> None:
        """Merge until `stop`; an error ends one consumer, not the merging: after
        `restart_after` seconds (doubling to `RESTART_MAX_SECONDS`) a new consumer joins
        the merge group again, which reads the topic from its start like any owner."""
        delay = self._restart_after
        while not stop.is_set() and not self._abandoned:
            try:
                self._session(stop)
            except Exception as exc:
                self.error = exc
                log.exception("merger_failed", restart_in=delay)
                self._wait(stop, delay)
                delay = min(max(delay, 0.1) * 2, RESTART_MAX_SECONDS)

    def _session(self, stop: threading.Event) -> None:
        """One consumer in the merge group, until `stop` or an error."""
        kwargs = self._client.consumer_kwargs(client_suffix="merger", assignor=self._assignor)
        kwargs.update(group_id=merge_group(self._client.settings.group_id))
        kwargs["auto_offset_reset"] = "earliest"
        self._beat()  # the bootstrap below may take up to kafka.bootstrap_timeout
        consumer = self._consumer_factory(**kwargs)
        self._assigned, self._ends, self._merging = [], None, False
        try:
            self._await_partials_topic(consumer, stop)
            consumer.subscribe(topics=[self._settings.partials_topic], listener=_Listener(self))
            while not stop.is_set() and not self._abandoned:
                self._turn(consumer)
        finally:
            with self._lock:
                self._generation += 1  # whatever this consumer held: the next starts over
                self._assignment = []
                self._hand_over(False)
            try:
                consumer.close(autocommit=False, timeout_ms=5000)
            except Exception as exc:
                log.warning("merger_consumer_close_failed", error=f"{type(exc).__name__}: {exc}")

    def _await_partials_topic(self, consumer: Any, stop: threading.Event) -> None:
        """Until the partials topic's partitions are visible to this consumer: a group
        joined before that is assigned nothing (the assignor sees no partitions) and
        must rejoin, the path that once hung in kafka-python's coordinator lookup."""
        topic = self._settings.partials_topic
        while not stop.is_set() and not self._abandoned:
            self._beat()
            if consumer.partitions_for_topic(topic):
                return
            log.info("merger_waiting_for_topic_metadata", topic=topic)
            stop.wait(POLL_SECONDS)

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        """`stop.wait(seconds)`, beating each second: waiting to restart is no stall."""
        deadline = self._progress_clock() + seconds
        while not stop.is_set() and not self._abandoned:
            self._beat()
            left = deadline - self.progressed_at
            if left <= 0 or stop.wait(min(left, 1.0)):
                return

    def _beat(self) -> None:
        self.progressed_at = self._progress_clock()

    def abandon(self) -> None:
        """The watchdog gave up on this loop (its thread is stuck in a call): it gives
        up alerting now and, should its thread wake, merges and owns nothing again."""
        with self._lock:
            self._hand_over(False)
            self._abandoned = True
            self._generation += 1

    def _turn(self, consumer: Any) -> None:
        batches = consumer.poll(timeout_ms=millis(POLL_SECONDS))
        if consumer.group_metadata().state == MemberState.STABLE:
            self._beat()  # in the group: turning outside it (never rejoined) is no progress
        now = self._clock()
        if self._start_over(consumer):
            return  # this poll's records may predate the seek: they are read again
        for records in batches.values():
            for record in records:
                self._read(record, now)
        if not self._assigned:
            return
        if self._ends is None:
            self._take_over(consumer)
            return
        if not self.book.partitions:
            self._learn_input_partitions(consumer)
        if self._caught_up(consumer):
            self._merge_ready(now)

    def _start_over(self, consumer: Any) -> bool:
        """After a rebalance (the generation moved): a fresh book and judge, and the
        assigned partition read again from its start. True when one ran."""
        with self._lock:
            generation, assignment = self._generation, list(self._assignment)
        if generation == self._applied:
            return False
        if self._abandoned:
            return True  # the judge belongs to the loop that replaced this one
        self._applied = generation
        self.book = MergeBook(timeout=self._settings.merge_timeout)
        self._on_reset()
        self._assigned, self._ends, self._merging = assignment, None, False
        if assignment:
            # revoked again meanwhile: the next turn starts over once more
            with contextlib.suppress(ValueError, IllegalStateError):
                consumer.seek_to_beginning(*assignment)
        return True

    def _take_over(self, consumer: Any) -> None:
        """End offsets to catch up with, then ownership, unless a rebalance ran in
        the meantime (its callbacks run inside these blocking calls)."""
        generation = self._applied
        ends = consumer.end_offsets(self._assigned, timeout_ms=millis(CALL_TIMEOUT_SECONDS))
        self._learn_input_partitions(consumer)
        with self._lock:
            if generation != self._generation:
                return  # the next turn starts over
            self._ends = {tp: int(o) for tp, o in ends.items()}
            self._hand_over(True)
        log.info(
            "merger_assigned",
            partials_partitions=len(self._assigned),
            input_partitions=len(self.book.partitions),
            catch_up=sum(self._ends.values()),
        )

    def _caught_up(self, consumer: Any) -> bool:
        """Read up to the end offsets seen at assignment (markers included): only then
        is it known which windows were already evaluated."""
        if self._merging:
            return True
        assert self._ends is not None
        try:
            for tp, end in self._ends.items():
                position = consumer.position(tp, timeout_ms=millis(CALL_TIMEOUT_SECONDS))
                if position is None or position < end:
                    return False
        except IllegalStateError:
            return False  # revoked while looking: the next turn starts over
        self._merging = True
        log.info("merger_caught_up", models=self.book.models())
        return True

    def _learn_input_partitions(self, consumer: Any) -> None:
        """Every partition of the input topics: what a window must be covered by. Until
        the metadata of every topic is known nothing is merged (tried again each turn)."""
        partitions: set[Source] = set()
        for topic in self._input_topics:
            found = consumer.partitions_for_topic(topic)
            if not found:
                log.info("merger_waiting_for_topic_metadata", topic=topic)
                return
            partitions.update((topic, int(p)) for p in found)
        self.book.set_partitions(partitions)

    def _read(self, record: Any, now: float) -> None:
        if record.value is None:
            try:
                kind, model_id, *rest = msgspec.msgpack.decode(record.key)
            except (msgspec.DecodeError, ValueError, TypeError):
                return
            if kind == "partial" and rest:
                self.book.discard(record.key, str(model_id), int(rest[0]))
            return
        try:
            decoded = decode_record(record.value)
        except CheckpointError as exc:
            log.error("partial_unreadable", offset=record.offset, error=str(exc))
            return
        if isinstance(decoded, Partial):
            self.book.add(decoded, now)
        else:
            current = self.book.merged_below(decoded.model_id)
            if current is None or decoded.merged_below >= current:
                self.book.mark_merged(decoded.model_id, decoded.merged_below)
                self._on_marker(decoded)

    def _merge_ready(self, now: float) -> None:
        ready = self.book.ready(now)
        for window in ready:
            if self._generation != self._applied:
                break  # revoked: the next owner merges the rest (this book is dropped)
            self._beat()
            if not window.complete:
                log.warning(
                    "window_merged_incomplete",
                    model=window.model_id,
                    window_index=window.key,
                    partials=len(window.used),
                    waited=self._settings.merge_timeout,
                    hint="a partition reported no progress within group.merge_timeout",
                )
            log.info(
                "window_merged",
                model=window.model_id,
                window_index=window.key,
                events=window.state.events,
                shares=[f"{p.member}:{len(p.sources)}" for p in window.used],
                records=len(window.record_keys),
            )
            evaluator = self._on_merged(window)
            self._publisher.publish(MergedMarker(window.model_id, window.key + 1, dict(evaluator)))
            self._publisher.tombstone(window.model_id, window.record_keys)
            self.windows_merged += 1
        if ready:
            self._publisher.flush()

    # --- rebalance callbacks (IO thread) ----------------------------------------------

    def _on_revoked(self) -> None:
        with self._lock:
            self._generation += 1
            self._assignment = []
            self._hand_over(False)

    def _on_assigned(self, assigned: list[Any]) -> None:
        with self._lock:
            self._generation += 1
            self._assignment = sorted(assigned)

    def _hand_over(self, owns: bool) -> None:
        """With `_lock` held: ownership follows the generation it was decided in."""
        if owns == self._owns or self._abandoned:
            return
        self._owns = owns
        log.info("merger_became_owner" if owns else "merger_gave_up_ownership")
        self._on_ownership(owns)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: MergerLoop) -> None:
        self._loop = loop

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            try:
                self._loop._on_revoked()
            except Exception:  # never into kafka-python: it would keep us out of the group
                log.exception("merger_revoke_failed")

    def on_partitions_assigned(self, assigned: Any) -> None:
        tps = [TopicPartition(tp.topic, tp.partition) for tp in assigned]
        try:
            self._loop._on_assigned(tps)
        except Exception:
            log.exception("merger_assign_failed")
